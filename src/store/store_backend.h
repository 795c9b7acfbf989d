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
} om_store_backend;

#define OM_STORE_BACKEND_VERSION 1

/* The shared part of every store handle; backends keep their own state in `impl`. */
struct om_store {
    const om_store_backend *be;
    char *url;
    int in_txn;
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

#endif
