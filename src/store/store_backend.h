/*
 * store_backend.h: what a store backend implements (the consumer side is store.h).
 * A backend is a const vtable filled with designated initializers and found by URL scheme
 * in store.c; store.c's wrappers are the only callers (one place for asserts and tracing).
 */
#ifndef OMNIVA_STORE_STORE_BACKEND_H
#define OMNIVA_STORE_STORE_BACKEND_H

#include "store/store.h"

typedef struct om_store_backend {
    int version;        /* OM_STORE_BACKEND_VERSION */
    const char *name;   /* "sqlite", "postgres" */
    const char *scheme; /* URL prefix: "sqlite://", "postgres://" (also "postgresql://") */
    int (*open)(om_store *s, const char *url);
    void (*close)(om_store *s);
    int (*exec)(om_store *s, const char *sql, const om_val *params, size_t n, int64_t *changes);
    int (*query)(om_store *s, const char *sql, const om_val *params, size_t n, om_rows **out);
    int (*begin)(om_store *s);
    int (*commit)(om_store *s);
    int (*rollback)(om_store *s);
    int (*lock)(om_store *s, const char *name);
    /* Runs one migration script (dialect text, may hold many statements) */
    int (*exec_script)(om_store *s, const char *sql);
    int (*schema_columns)(om_store *s, om_rows **out);
    /* Optional (NULL: this backend cannot back up; store.c says so). Writes a consistent
     * copy of the whole database to dest_path (a new file; SQLite: the online backup API,
     * PostgreSQL: pg_dump -Fc) while other connections keep writing. in_snapshot (may be
     * NULL) is called on s inside the same read snapshot the copy is taken from, so what it
     * reads (row counts, the ledger head) describes the copy exactly. */
    int (*backup)(om_store *s, const char *dest_path, om_store_snapshot_fn in_snapshot,
                  void *ud);
    /* Optional. Loads a file written by backup into this database, which the caller has
     * checked is empty; all or nothing. PostgreSQL refreshes the materialized views after. */
    int (*restore)(om_store *s, const char *src_path);
} om_store_backend;

#define OM_STORE_BACKEND_VERSION 1

/* The shared part of every store handle; backends keep their own state in `impl`. */
struct om_store {
    const om_store_backend *be;
    char *url;
    int open_flags; /* OM_STORE_NO_CREATE ... as given to om_store_open_ex */
    int in_txn;
    int txn_failed; /* a statement failed inside the open transaction: only rollback works
                     * (PostgreSQL semantics, enforced by store.c on both backends) */
    void *impl;
};

extern const om_store_backend om_store_backend_sqlite;
extern const om_store_backend om_store_backend_pg;

/* Migrations embedded in the binary (migrations.c): ordered by version. */
typedef struct om_migration {
    int version;
    const char *name;
    const char *sqlite_sql;
    const char *pg_sql;
} om_migration;
extern const om_migration om_migrations[];
extern const size_t om_migrations_count;

/* Result-set builder for backends (rows.c). Values are copied. */
om_rows *om_rows_new(size_t ncols);
void om_rows_set_colname(om_rows *r, size_t col, const char *name);
void om_rows_add_row(om_rows *r); /* appends a row of NULLs */
void om_rows_set(om_rows *r, size_t col, const char *value, size_t len); /* last row; NULL ok */

/* Helpers shared by the backends (store.c). */
/* Copies JSON text `src` (len bytes) into dst (room for len + 1) without the whitespace
 * outside strings; returns the new length. Does not validate. */
size_t om_store_json_compact(const char *src, size_t len, char *dst);
/* 1 when `src` holds no whitespace byte at all (then it is already compact). */
int om_store_json_is_compact(const char *src, size_t len);
/* Shortest "%.15g".."%.17g" text that reads back as d ("Infinity"/"-Infinity"/"NaN" like
 * PostgreSQL); out needs 32 bytes. Returns the length. */
size_t om_store_format_real(double d, char out[32]);

/* Raw handles for code that needs a backend's native API (e.g. the SQLite queue keeping its
 * own prepared statements). NULL when the store is of the other dialect. Borrowed: valid
 * until om_store_free. Statements run on them see the same now() and connection settings;
 * do not BEGIN/COMMIT through them (use om_store_begin/commit so the store tracks it). */
struct sqlite3 *om_store_sqlite_db(om_store *s);
struct pg_conn *om_store_pg_conn(om_store *s);
/* Maps a failed sqlite3 result code on s's connection to an OM_E* code with a message
 * (same words and codes as om_store_exec would give). `sql` may be NULL. */
int om_store_sqlite_error(om_store *s, int rc, const char *sql);

#endif
