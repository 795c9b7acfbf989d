/*
 * store.h: the relational store every stage talks to. One interface, two backends
 * (SQLite: store_sqlite.c, PostgreSQL: store_pg.c), chosen by URL:
 *   sqlite:///abs/path/omniva.db     postgres://user@host:port/dbname?...
 *
 * Portable SQL. Callers write one SQL text that both backends run:
 *   - placeholders are `?` (the PostgreSQL backend rewrites them to $1..$n);
 *   - now() is the current UTC time on both (SQLite gets it as a registered function
 *     returning canonical text); use it in SQL for created_at-style defaults;
 *   - no dialect-specific functions or JSON/array operators: decode JSON in C;
 *   - upserts use `INSERT ... ON CONFLICT (...) DO NOTHING/UPDATE`, RETURNING is allowed.
 * Values are typed on the way in (om_val) and normalised on the way out, so both backends
 * return the same text for the same data:
 *   timestamps  -> "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC)
 *   TEXT[]      -> a JSON array text ("[\"a\",\"b\"]")      (pass arrays as OM_ARRAY(json))
 *   JSON/JSONB  -> compact JSON text
 *   booleans    -> "1" / "0"
 *   numbers     -> their decimal text; NULL -> NULL pointer
 * Dialect-specific statements (migrations, locks) live in the backends.
 *
 * Threading: an om_store is one connection; use it from one thread at a time. Processes
 * (workers, forked job children) open their own.
 *
 * Ownership: om_store_open's *out is the caller's (om_store_free). om_rows from
 * om_store_query is the caller's (om_rows_free); strings from om_rows_get are borrowed from
 * the rows and live until om_rows_free.
 */
#ifndef OMNIVA_STORE_STORE_H
#define OMNIVA_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct om_store om_store;
typedef struct om_rows om_rows;

typedef enum om_val_type {
    OM_V_NULL = 0,
    OM_V_TEXT,  /* also UUIDs and timestamps (canonical text) */
    OM_V_INT,
    OM_V_REAL,
    OM_V_BOOL,
    OM_V_JSON,  /* JSON text for a JSON/JSONB column */
    OM_V_ARRAY  /* JSON array text of strings for a TEXT[] column */
} om_val_type;

typedef struct om_val {
    om_val_type type;
    const char *s; /* TEXT, JSON, ARRAY; NULL here means SQL NULL */
    int64_t i;     /* INT, BOOL */
    double d;      /* REAL */
} om_val;

#define OM_NULL ((om_val){OM_V_NULL, NULL, 0, 0})
#define OM_TEXT(x) ((om_val){OM_V_TEXT, (x), 0, 0})
#define OM_INT(x) ((om_val){OM_V_INT, NULL, (int64_t)(x), 0})
#define OM_REAL(x) ((om_val){OM_V_REAL, NULL, 0, (double)(x)})
#define OM_BOOL(x) ((om_val){OM_V_BOOL, NULL, (x) ? 1 : 0, 0})
#define OM_JSON(x) ((om_val){OM_V_JSON, (x), 0, 0})
#define OM_ARRAY(x) ((om_val){OM_V_ARRAY, (x), 0, 0})
#define OM_PARAMS(...) ((const om_val[]){__VA_ARGS__}), (sizeof((om_val[]){__VA_ARGS__}) / sizeof(om_val))

/* Opens (does not migrate). OM_EINVAL for a malformed/unknown URL, OM_EUNAVAIL when the
 * database cannot be reached or opened, with the reason. */
int om_store_open(om_store **out, const char *url);
/* om_store_open with flags. OM_STORE_NO_CREATE: never create the database; a missing
 * SQLite file is OM_ENOTFOUND ("no database at PATH") and nothing is written to disk (for
 * commands that only read). */
enum { OM_STORE_NO_CREATE = 1 };
int om_store_open_ex(om_store **out, const char *url, int flags);
/* A second connection to the database of `s` acting as ROLE (PostgreSQL: the role is a
 * connection option, so a reconnect keeps it; checked through current_user). ROLE must be a
 * plain name ([a-z_][a-z0-9_]*). OM_EINVAL for a bad name, OM_ENOTFOUND on SQLite (no
 * roles), OM_EPERMANENT when the role is missing or the login role may not take it,
 * OM_EUNAVAIL when the connection fails. The caller frees *out. */
int om_store_open_role(om_store **out, const om_store *s, const char *role);
void om_store_free(om_store *s);
const char *om_store_dialect(const om_store *s); /* "sqlite" or "postgres" */
const char *om_store_url(const om_store *s);     /* as given to open; borrowed */

/* Applies the embedded migrations not yet recorded in schema_migrations; *applied_out (may
 * be NULL) counts them. A second run applies 0. */
int om_store_migrate(om_store *s, int *applied_out);
/* Current schema version (highest applied migration), 0 for an empty database. */
int om_store_schema_version(om_store *s, int *version_out);

/* Write transactions (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN). Not nestable.
 * om_store_commit returns OM_EBUSY/OM_ECONFLICT-like codes the caller may retry. */
int om_store_begin(om_store *s);
int om_store_commit(om_store *s);
int om_store_rollback(om_store *s); /* safe to call when no transaction is open */
int om_store_in_txn(const om_store *s);

/* Serialises writers on `name` until the current transaction ends (PostgreSQL advisory
 * transaction lock; SQLite: a no-op, BEGIN IMMEDIATE already is exclusive). Must be inside
 * om_store_begin. */
int om_store_lock(om_store *s, const char *name);

/* Runs a statement; *changes_out (may be NULL) gets the affected row count. A unique
 * violation is OM_EEXISTS, other constraint failures OM_EINVAL, with the database's words. */
int om_store_exec(om_store *s, const char *sql, const om_val *params, size_t nparams,
                  int64_t *changes_out);
/* Runs a query and returns all rows (normalised text). */
int om_store_query(om_store *s, const char *sql, const om_val *params, size_t nparams,
                   om_rows **out);
/* Convenience: first column of the first row into *out (caller frees; NULL for SQL NULL).
 * OM_ENOTFOUND when there is no row. */
int om_store_query_value(om_store *s, const char *sql, const om_val *params, size_t nparams,
                         char **out);
/* Lists table names and column names of the current schema (for the parity test and
 * `omniva doctor`): rows of (table_name, column_name) ordered by both. */
int om_store_schema_columns(om_store *s, om_rows **out);

/* Backups (src/lifecycle/backup.c drives them). om_store_backup writes a consistent copy of
 * the whole database to dest_path (must not exist; SQLite: the online backup API, a single
 * self-contained file; PostgreSQL: `pg_dump -Fc`, which must be on PATH) while workers keep
 * writing; in_snapshot (may be NULL) runs on s inside the snapshot the copy is taken from
 * (read-only: counts, the ledger head). om_store_restore loads such a file into this
 * database, which must be empty (the caller checks: it knows what "empty" means), all or
 * nothing; on PostgreSQL through `pg_restore`, then the materialized views are refreshed.
 * Not inside a transaction. OM_EINVAL when the backend cannot (or the file is not one of
 * its backups), OM_EIO/OM_EUNAVAIL with the tool's words otherwise. */
typedef int (*om_store_snapshot_fn)(om_store *s, void *ud);
int om_store_backup(om_store *s, const char *dest_path, om_store_snapshot_fn in_snapshot,
                    void *ud);
int om_store_restore(om_store *s, const char *src_path);

size_t om_rows_count(const om_rows *r);
size_t om_rows_ncols(const om_rows *r);
const char *om_rows_colname(const om_rows *r, size_t col);
const char *om_rows_get(const om_rows *r, size_t row, size_t col);   /* NULL for SQL NULL */
const char *om_rows_getn(const om_rows *r, size_t row, const char *colname); /* by name */
int64_t om_rows_int(const om_rows *r, size_t row, const char *colname, int64_t def);
double om_rows_real(const om_rows *r, size_t row, const char *colname, double def);
void om_rows_free(om_rows *r);

#endif
