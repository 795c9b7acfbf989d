/*
 * store.c: the consumer side of store.h. Finds the backend by URL scheme, wraps every
 * vtable call (one place for argument checks, transaction bookkeeping and tracing),
 * applies the embedded migrations, and holds the small helpers both backends share.
 *
 * Transactions follow PostgreSQL semantics on both backends: once a statement fails
 * inside om_store_begin..commit, the transaction is doomed; later statements fail at once
 * and om_store_commit rolls back and reports the failure. Code written against SQLite
 * therefore cannot come to rely on "carry on after an error" that PostgreSQL refuses.
 */
#include "base/common.h"
#include "store/store_backend.h"

#include <ctype.h>
#include <math.h>

static const om_store_backend *const backends[] = {
    &om_store_backend_sqlite,
    &om_store_backend_pg,
};

static const om_store_backend *find_backend(const char *url)
{
    for (size_t i = 0; i < OM_ARRAY_LEN(backends); i++) {
        const char *sch = backends[i]->scheme;
        if (strncmp(url, sch, strlen(sch)) == 0)
            return backends[i];
    }
    if (strncmp(url, "postgresql://", 13) == 0)
        return &om_store_backend_pg;
    return NULL;
}

int om_store_open(om_store **out, const char *url)
{
    return om_store_open_ex(out, url, 0);
}

int om_store_open_ex(om_store **out, const char *url, int flags)
{
    OM_ASSERT(out);
    *out = NULL;
    if (!url || !*url)
        return om_error_set(OM_EINVAL, "store URL is empty (expected sqlite:///abs/path.db or "
                                       "postgres://user@host:port/dbname)");
    const om_store_backend *be = find_backend(url);
    if (!be)
        return om_error_set(OM_EINVAL,
                            "store URL '%s' has an unknown scheme (expected sqlite:///abs/path.db "
                            "or postgres://user@host:port/dbname)",
                            url);
    OM_ASSERT(be->version == OM_STORE_BACKEND_VERSION);
    om_store *s = xcalloc(1, sizeof(*s));
    s->be = be;
    s->url = xstrdup(url);
    s->open_flags = flags;
    int rc = be->open(s, url);
    if (rc < 0) {
        free(s->url);
        free(s);
        return rc;
    }
    *out = s;
    return OM_OK;
}

static int plain_role(const char *r)
{
    if (!r || !(islower((unsigned char)*r) || *r == '_'))
        return 0;
    for (; *r; r++)
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '_')
            return 0;
    return 1;
}

int om_store_open_role(om_store **out, const om_store *s, const char *role)
{
    *out = NULL;
    if (!plain_role(role))
        return om_error_set(OM_EINVAL, "'%s' is not a plain role name ([a-z_][a-z0-9_]*)",
                            role ? role : "");
    if (strcmp(om_store_dialect(s), "postgres") != 0)
        return om_error_set(OM_ENOTFOUND, "%s has no roles", om_store_dialect(s));
    char *may = NULL;
    int rc = om_store_query_value((om_store *)s,
                                  "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
                                  "rolname = ?) THEN 'the role does not exist' WHEN "
                                  "pg_has_role(current_user, ?, 'MEMBER') THEN 'member' ELSE "
                                  "'the login role is not a member' END",
                                  OM_PARAMS(OM_TEXT(role), OM_TEXT(role)), &may);
    if (rc)
        return om_error_wrap(rc, "checking role %s", role);
    if (strcmp(may, "member") != 0) {
        rc = om_error_set(OM_EPERMANENT, "role %s: %s", role, may);
        free(may);
        return rc;
    }
    free(may);
    const char *url = om_store_url(s);
    char *ro_url = xasprintf("%s%soptions=-c%%20role%%3D%s", url, strchr(url, '?') ? "&" : "?",
                             role);
    om_store *ro = NULL;
    rc = om_store_open(&ro, ro_url);
    free(ro_url);
    char *now = NULL;
    if (rc == OM_OK)
        rc = om_store_query_value(ro, "SELECT CAST(current_user AS TEXT)", NULL, 0, &now);
    if (rc == OM_OK && strcmp(now, role) != 0)
        rc = om_error_set(OM_EPERMANENT, "connected as %s, not %s", now, role);
    free(now);
    if (rc) {
        om_store_free(ro);
        return om_error_wrap(rc, "connecting as %s", role);
    }
    *out = ro;
    return OM_OK;
}

void om_store_free(om_store *s)
{
    if (!s)
        return;
    if (s->in_txn)
        s->be->rollback(s);
    s->be->close(s);
    free(s->url);
    free(s);
}

const char *om_store_dialect(const om_store *s)
{
    OM_ASSERT(s);
    return s->be->name;
}

const char *om_store_url(const om_store *s)
{
    OM_ASSERT(s);
    return s->url;
}

/* ---- statements -------------------------------------------------------------------- */

static int doomed(om_store *s)
{
    return om_error_set(OM_ERROR, "the transaction already failed (an earlier statement "
                                  "returned an error); roll it back");
}

static int note(om_store *s, int rc)
{
    if (rc < 0 && s->in_txn)
        s->txn_failed = 1;
    return rc;
}

int om_store_exec(om_store *s, const char *sql, const om_val *params, size_t nparams,
                  int64_t *changes_out)
{
    OM_ASSERT(s && sql && (params || nparams == 0));
    if (changes_out)
        *changes_out = 0;
    if (s->in_txn && s->txn_failed)
        return doomed(s);
    return note(s, s->be->exec(s, sql, params, nparams, changes_out));
}

int om_store_query(om_store *s, const char *sql, const om_val *params, size_t nparams,
                   om_rows **out)
{
    OM_ASSERT(s && sql && out && (params || nparams == 0));
    *out = NULL;
    if (s->in_txn && s->txn_failed)
        return doomed(s);
    return note(s, s->be->query(s, sql, params, nparams, out));
}

int om_store_query_value(om_store *s, const char *sql, const om_val *params, size_t nparams,
                         char **out)
{
    OM_ASSERT(out);
    *out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(s, sql, params, nparams, &r);
    if (rc < 0)
        return rc;
    if (om_rows_count(r) == 0 || om_rows_ncols(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "no row for query: %.120s", sql);
    }
    *out = xstrdup(om_rows_get(r, 0, 0));
    om_rows_free(r);
    return OM_OK;
}

int om_store_schema_columns(om_store *s, om_rows **out)
{
    OM_ASSERT(s && out);
    *out = NULL;
    if (s->in_txn && s->txn_failed)
        return doomed(s);
    return note(s, s->be->schema_columns(s, out));
}

/* ---- backups ----------------------------------------------------------------------- */

int om_store_backup(om_store *s, const char *dest_path, om_store_snapshot_fn in_snapshot,
                    void *ud)
{
    OM_ASSERT(s && dest_path);
    if (s->in_txn)
        return om_error_set(OM_EINVAL, "cannot back up inside an open transaction");
    if (!s->be->backup)
        return om_error_set(OM_EINVAL, "the %s store backend cannot make backups", s->be->name);
    return s->be->backup(s, dest_path, in_snapshot, ud);
}

int om_store_restore(om_store *s, const char *src_path)
{
    OM_ASSERT(s && src_path);
    if (s->in_txn)
        return om_error_set(OM_EINVAL, "cannot restore inside an open transaction");
    if (!s->be->restore)
        return om_error_set(OM_EINVAL, "the %s store backend cannot restore backups",
                            s->be->name);
    return s->be->restore(s, src_path);
}

/* ---- transactions ------------------------------------------------------------------ */

int om_store_begin(om_store *s)
{
    OM_ASSERT(s);
    OM_ASSERT(!s->in_txn); /* not nestable: a BUG in the caller */
    int rc = s->be->begin(s);
    if (rc < 0)
        return rc;
    s->in_txn = 1;
    s->txn_failed = 0;
    return OM_OK;
}

int om_store_commit(om_store *s)
{
    OM_ASSERT(s && s->in_txn);
    if (s->txn_failed) {
        s->be->rollback(s);
        s->in_txn = 0;
        s->txn_failed = 0;
        return om_error_set(OM_ERROR, "commit refused: a statement of the transaction failed, "
                                      "so it was rolled back");
    }
    int rc = s->be->commit(s);
    if (rc < 0) {
        /* Leave no half-open transaction behind: the caller retries from om_store_begin. */
        s->be->rollback(s);
    }
    s->in_txn = 0;
    s->txn_failed = 0;
    return rc;
}

int om_store_rollback(om_store *s)
{
    OM_ASSERT(s);
    if (!s->in_txn)
        return OM_OK;
    int rc = s->be->rollback(s);
    s->in_txn = 0;
    s->txn_failed = 0;
    return rc;
}

int om_store_in_txn(const om_store *s)
{
    OM_ASSERT(s);
    return s->in_txn != 0;
}

int om_store_lock(om_store *s, const char *name)
{
    OM_ASSERT(s && name);
    OM_ASSERT(s->in_txn); /* the lock lives until the transaction ends */
    if (s->txn_failed)
        return doomed(s);
    return note(s, s->be->lock(s, name));
}

/* ---- migrations -------------------------------------------------------------------- */

static int is_sqlite(const om_store *s)
{
    return strcmp(s->be->name, "sqlite") == 0;
}

/* schema_migrations itself exists before any migration so the applied set can be read
 * under the migration lock; migration 1 is the rest of the schema. */
static const char *bootstrap_sql(const om_store *s)
{
    return is_sqlite(s)
               ? "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version INTEGER NOT NULL PRIMARY KEY,"
                 " name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL"
                 " DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')) STRICT"
               : "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version INT PRIMARY KEY,"
                 " name TEXT NOT NULL,"
                 " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
}

static int migrations_table_exists(om_store *s, int *exists)
{
    char *v = NULL;
    int rc = om_store_query_value(
        s,
        is_sqlite(s) ? "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                       "name = 'schema_migrations'"
                     : "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
                       "current_schema() AND tablename = 'schema_migrations'",
        NULL, 0, &v);
    if (rc < 0)
        return rc;
    *exists = v && atoi(v) > 0;
    free(v);
    return OM_OK;
}

static int read_version(om_store *s, int *version_out)
{
    char *v = NULL;
    int rc = om_store_query_value(s, "SELECT max(version) FROM schema_migrations", NULL, 0, &v);
    if (rc < 0)
        return rc;
    *version_out = v ? atoi(v) : 0;
    free(v);
    return OM_OK;
}

int om_store_schema_version(om_store *s, int *version_out)
{
    OM_ASSERT(s && version_out);
    *version_out = 0;
    int exists = 0;
    int rc = migrations_table_exists(s, &exists);
    if (rc < 0 || !exists)
        return rc;
    return read_version(s, version_out);
}

static int apply_one(om_store *s, const om_migration *m, int *applied)
{
    int rc = om_store_begin(s);
    if (rc < 0)
        return rc;
    if ((rc = om_store_lock(s, "omniva.migrate")) < 0)
        goto fail;
    if ((rc = note(s, s->be->exec_script(s, bootstrap_sql(s)))) < 0)
        goto fail;
    char *have = NULL;
    rc = om_store_query_value(s, "SELECT name FROM schema_migrations WHERE version = ?",
                              OM_PARAMS(OM_INT(m->version)), &have);
    if (rc == OM_OK) { /* another process applied it meanwhile */
        free(have);
        return om_store_rollback(s);
    }
    if (rc != OM_ENOTFOUND)
        goto fail;
    om_error_clear();
    const char *sql = is_sqlite(s) ? m->sqlite_sql : m->pg_sql;
    if ((rc = note(s, s->be->exec_script(s, sql))) < 0)
        goto fail;
    rc = om_store_exec(s, "INSERT INTO schema_migrations (version, name, applied_at) "
                          "VALUES (?, ?, now())",
                       OM_PARAMS(OM_INT(m->version), OM_TEXT(m->name)), NULL);
    if (rc < 0)
        goto fail;
    if ((rc = om_store_commit(s)) < 0)
        return om_error_wrap(rc, "migration %d (%s)", m->version, m->name);
    (*applied)++;
    om_info("store", "applied migration %d (%s) to %s", m->version, m->name, s->be->name);
    return OM_OK;
fail:
    om_store_rollback(s);
    return om_error_wrap(rc, "migration %d (%s)", m->version, m->name);
}

int om_store_migrate(om_store *s, int *applied_out)
{
    OM_ASSERT(s);
    if (applied_out)
        *applied_out = 0;
    if (s->in_txn)
        return om_error_set(OM_EINVAL, "cannot migrate inside an open transaction");
    int version = 0, rc = om_store_schema_version(s, &version);
    if (rc < 0)
        return om_error_wrap(rc, "reading the schema version");
    int latest = om_migrations_count ? om_migrations[om_migrations_count - 1].version : 0;
    if (version > latest)
        om_warn("store", "database schema version %d is newer than this binary's %d", version,
                latest);
    int applied = 0;
    for (size_t i = 0; i < om_migrations_count; i++) {
        OM_ASSERT(i == 0 || om_migrations[i].version > om_migrations[i - 1].version);
        if (om_migrations[i].version <= version)
            continue;
        if ((rc = apply_one(s, &om_migrations[i], &applied)) < 0)
            break;
    }
    if (applied_out)
        *applied_out = applied;
    return rc < 0 ? rc : OM_OK;
}

/* ---- helpers shared by the backends ------------------------------------------------ */

int om_store_json_is_compact(const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (src[i] == ' ' || src[i] == '\n' || src[i] == '\t' || src[i] == '\r')
            return 0;
    return 1;
}

size_t om_store_json_compact(const char *src, size_t len, char *dst)
{
    size_t o = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (in_str) {
            dst[o++] = c;
            if (c == '\\' && i + 1 < len)
                dst[o++] = src[++i];
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
            dst[o++] = c;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            dst[o++] = c;
        }
    }
    dst[o] = '\0';
    return o;
}

size_t om_store_format_real(double d, char out[32])
{
    if (isnan(d))
        return (size_t)snprintf(out, 32, "NaN");
    if (isinf(d))
        return (size_t)snprintf(out, 32, d > 0 ? "Infinity" : "-Infinity");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    return (size_t)n;
}
