/*
 * store_sqlite.c: the SQLite backend of the store (sqlite:///abs/path.db[?options]).
 *
 * One connection per om_store: WAL journal, synchronous=NORMAL (durable against process
 * crashes; the last transactions may be lost on power failure), busy_timeout 10 s,
 * foreign keys on, BEGIN IMMEDIATE for write transactions (writers queue up on the lock
 * instead of failing with SQLITE_BUSY half-way through). Prepared statements are cached by
 * SQL text, so a hot statement costs a hash lookup, binds and steps.
 *
 * now() is a registered SQL function returning canonical UTC text. Like PostgreSQL's, it is
 * the transaction's start time inside om_store_begin..commit, and the statement's start
 * time otherwise, so both backends stamp the rows of one transaction alike.
 *
 * URL options (after '?', '&'-separated): mode=ro|rw|rwc (default rwc: create when
 * missing), busy_timeout=<ms>, synchronous=off|normal|full. sqlite://:memory: is a private
 * in-memory database (tests).
 */
#include "base/common.h"
#include "base/hex.h"
#include "store/store_backend.h"

#include <errno.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_SLOTS 512 /* power of two; at most half of them used */
#define CACHE_MAX (CACHE_SLOTS / 2)

typedef struct cache_entry {
    char *sql; /* NULL: empty slot */
    uint64_t hash;
    sqlite3_stmt *st;
} cache_entry;

typedef struct sq {
    sqlite3 *db;
    char *path;      /* file name for messages */
    int readonly;    /* opened with mode=ro */
    int busy_ms;
    int64_t txn_now; /* now() inside a transaction (0: none) */
    int64_t stmt_now;/* now() of the statement being run outside one (0: none) */
    cache_entry cache[CACHE_SLOTS];
    size_t cached;
    om_sbuf scratch; /* compacted JSON parameters */
    pid_t pid;       /* the process that opened it (see forked()) */
} sq;

static sq *impl(om_store *s)
{
    OM_ASSERT(s && s->be == &om_store_backend_sqlite);
    return s->impl;
}

/* A connection must not cross fork(): SQLite's locks and WAL index belong to the process
 * that opened it. In a forked child the inherited handle refuses work and is not closed
 * (closing could disturb the parent's locks); the child opens its own store. */
static int forked(sq *q)
{
    if (q->pid == getpid())
        return 0;
    om_error_set(OM_ERROR, "store handle of %s was opened by process %d and used in forked "
                           "child %d: open a new store in the child",
                 q->path, (int)q->pid, (int)getpid());
    return 1;
}

/* ---- errors ------------------------------------------------------------------------- */

static int map_error(sq *q, int rc, const char *sql, const char *msg)
{
    int ext = q->db ? sqlite3_extended_errcode(q->db) : rc;
    if ((ext & 0xff) != (rc & 0xff))
        ext = rc;
    if (!msg)
        msg = q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
    switch (ext & 0xff) {
    case SQLITE_CONSTRAINT:
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return om_error_set(OM_EEXISTS, "%s", msg);
        return om_error_set(OM_EINVAL, "%s", msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return om_error_set(OM_EBUSY, "database %s is locked by another writer (waited %d ms): %s",
                            q->path, q->busy_ms, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return om_error_set(OM_EIO, "database file %s is corrupt or not a database: %s", q->path,
                            msg);
    case SQLITE_READONLY:
        return om_error_set(OM_EIO, "database %s is read-only%s: %s", q->path,
                            q->readonly ? " (opened with mode=ro)" : "", msg);
    case SQLITE_CANTOPEN:
        return om_error_set(OM_EUNAVAIL, "cannot open database %s: %s", q->path, msg);
    case SQLITE_IOERR:
    case SQLITE_FULL:
        return om_error_set(OM_EIO, "I/O error on database %s: %s", q->path, msg);
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return om_error_set(OM_EINVAL, "%s", msg);
    default:
        if (sql)
            return om_error_set(OM_ERROR, "sqlite: %s (in \"%.160s\")", msg, sql);
        return om_error_set(OM_ERROR, "sqlite: %s", msg);
    }
}

int om_store_sqlite_error(om_store *s, int rc, const char *sql)
{
    return map_error(impl(s), rc, sql, NULL);
}

struct sqlite3 *om_store_sqlite_db(om_store *s)
{
    if (!s || s->be != &om_store_backend_sqlite)
        return NULL;
    return impl(s)->db;
}

/* ---- now() -------------------------------------------------------------------------- */

static void fn_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sq *q = sqlite3_user_data(ctx);
    int64_t us;
    if (q->txn_now && !sqlite3_get_autocommit(q->db))
        us = q->txn_now;
    else if (q->stmt_now)
        us = q->stmt_now;
    else
        us = om_now_us();
    char buf[OM_TIME_LEN];
    om_time_iso(buf, us);
    sqlite3_result_text(ctx, buf, OM_TIME_LEN - 1, SQLITE_TRANSIENT);
}

/* ---- statement cache ---------------------------------------------------------------- */

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int only_space(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r' && *s != ';')
            return 0;
    return 1;
}

/* Finds or prepares the statement for sql. *owned = 1 when it is not cached (finalize it). */
static int stmt_get(sq *q, const char *sql, sqlite3_stmt **out, int *owned)
{
    uint64_t h = hash_sql(sql);
    size_t i = (size_t)h & (CACHE_SLOTS - 1);
    for (; q->cache[i].sql; i = (i + 1) & (CACHE_SLOTS - 1)) {
        if (q->cache[i].hash == h && strcmp(q->cache[i].sql, sql) == 0) {
            *out = q->cache[i].st;
            *owned = 0;
            return OM_OK;
        }
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int cacheable = q->cached < CACHE_MAX;
    int rc = sqlite3_prepare_v3(q->db, sql, -1, cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &st,
                                &tail);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return map_error(q, rc, sql, NULL);
    }
    if (!st)
        return om_error_set(OM_EINVAL, "empty SQL statement");
    if (!only_space(tail)) {
        sqlite3_finalize(st);
        return om_error_set(OM_EINVAL, "one statement per call (extra text after it: \"%.60s\")",
                            tail);
    }
    if (cacheable) {
        q->cache[i].sql = xstrdup(sql);
        q->cache[i].hash = h;
        q->cache[i].st = st;
        q->cached++;
        *owned = 0;
    } else {
        *owned = 1;
    }
    *out = st;
    return OM_OK;
}

static void cache_clear(sq *q)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (q->cache[i].sql) {
            sqlite3_finalize(q->cache[i].st);
            free(q->cache[i].sql);
            q->cache[i].sql = NULL;
        }
    }
    q->cached = 0;
}

/* ---- binding and stepping ----------------------------------------------------------- */

static int bind_params(sq *q, sqlite3_stmt *st, const om_val *p, size_t n)
{
    int want = sqlite3_bind_parameter_count(st);
    if ((size_t)want != n)
        return om_error_set(OM_EINVAL, "statement has %d placeholders but %zu parameters: %.120s",
                            want, n, sqlite3_sql(st));
    int rc = SQLITE_OK;
    for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
        int idx = (int)i + 1;
        switch (p[i].type) {
        case OM_V_NULL:
            rc = sqlite3_bind_null(st, idx);
            break;
        case OM_V_INT:
            rc = sqlite3_bind_int64(st, idx, p[i].i);
            break;
        case OM_V_BOOL:
            rc = sqlite3_bind_int(st, idx, p[i].i ? 1 : 0);
            break;
        case OM_V_REAL:
            rc = sqlite3_bind_double(st, idx, p[i].d);
            break;
        case OM_V_TEXT:
            rc = p[i].s ? sqlite3_bind_text(st, idx, p[i].s, -1, SQLITE_STATIC)
                        : sqlite3_bind_null(st, idx);
            break;
        case OM_V_JSON:
        case OM_V_ARRAY: {
            if (!p[i].s) {
                rc = sqlite3_bind_null(st, idx);
                break;
            }
            /* Stored compact, as PostgreSQL would return it. */
            size_t len = strlen(p[i].s);
            if (om_store_json_is_compact(p[i].s, len)) {
                rc = sqlite3_bind_text(st, idx, p[i].s, (int)len, SQLITE_STATIC);
                break;
            }
            sb_reset(&q->scratch);
            sb_append(&q->scratch, p[i].s, len); /* grows the buffer to len + 1 */
            size_t clen = om_store_json_compact(p[i].s, len, q->scratch.buf);
            rc = sqlite3_bind_text(st, idx, q->scratch.buf, (int)clen, SQLITE_TRANSIENT);
            break;
        }
        default:
            OM_ASSERT(!"unknown om_val type");
        }
    }
    if (rc != SQLITE_OK)
        return map_error(q, rc, sqlite3_sql(st), NULL);
    return OM_OK;
}

static void set_cell(om_rows *r, sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        return;
    case SQLITE_FLOAT: {
        char buf[32];
        size_t n = om_store_format_real(sqlite3_column_double(st, c), buf);
        om_rows_set(r, (size_t)c, buf, n);
        return;
    }
    case SQLITE_BLOB: {
        const void *b = sqlite3_column_blob(st, c);
        om_rows_set(r, (size_t)c, b ? b : "", (size_t)sqlite3_column_bytes(st, c));
        return;
    }
    default: { /* INTEGER (as decimal text) and TEXT */
        const unsigned char *t = sqlite3_column_text(st, c);
        om_rows_set(r, (size_t)c, t ? (const char *)t : "", (size_t)sqlite3_column_bytes(st, c));
        return;
    }
    }
}

/* Runs one statement; rows into *out when out != NULL. */
static int run(om_store *s, const char *sql, const om_val *p, size_t n, om_rows **out,
               int64_t *changes)
{
    sq *q = impl(s);
    if (forked(q))
        return OM_ERROR;
    sqlite3_stmt *st = NULL;
    int owned = 0;
    int rc = stmt_get(q, sql, &st, &owned);
    if (rc < 0)
        return rc;
    int outside_txn = sqlite3_get_autocommit(q->db);
    if (outside_txn)
        q->stmt_now = om_now_us();
    rc = bind_params(q, st, p, n);
    om_rows *r = NULL;
    if (rc == OM_OK) {
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            if (!out)
                continue;
            int nc = sqlite3_column_count(st);
            if (!r) {
                r = om_rows_new((size_t)nc);
                for (int c = 0; c < nc; c++)
                    om_rows_set_colname(r, (size_t)c, sqlite3_column_name(st, c));
            }
            om_rows_add_row(r);
            for (int c = 0; c < nc; c++)
                set_cell(r, st, c);
        }
        if (src != SQLITE_DONE) {
            rc = map_error(q, src, sql, NULL);
        } else {
            if (changes)
                *changes = sqlite3_changes64(q->db);
            if (out && !r) { /* no rows: still report the columns */
                int nc = sqlite3_column_count(st);
                r = om_rows_new((size_t)nc);
                for (int c = 0; c < nc; c++)
                    om_rows_set_colname(r, (size_t)c, sqlite3_column_name(st, c));
            }
        }
    }
    if (owned) {
        sqlite3_finalize(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (outside_txn)
        q->stmt_now = 0;
    if (rc < 0) {
        om_rows_free(r);
        return rc;
    }
    if (out)
        *out = r;
    return OM_OK;
}

static int sq_exec(om_store *s, const char *sql, const om_val *p, size_t n, int64_t *changes)
{
    return run(s, sql, p, n, NULL, changes);
}

static int sq_query(om_store *s, const char *sql, const om_val *p, size_t n, om_rows **out)
{
    return run(s, sql, p, n, out, NULL);
}

/* ---- transactions ------------------------------------------------------------------- */

static int sq_begin(om_store *s)
{
    sq *q = impl(s);
    int rc = run(s, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL);
    if (rc < 0)
        return rc;
    q->txn_now = om_now_us();
    return OM_OK;
}

static int sq_commit(om_store *s)
{
    sq *q = impl(s);
    int rc = run(s, "COMMIT", NULL, 0, NULL, NULL);
    if (rc == OM_OK || sqlite3_get_autocommit(q->db))
        q->txn_now = 0;
    return rc;
}

static int sq_rollback(om_store *s)
{
    sq *q = impl(s);
    q->txn_now = 0;
    if (sqlite3_get_autocommit(q->db)) /* SQLite already rolled back (e.g. on SQLITE_FULL) */
        return OM_OK;
    return run(s, "ROLLBACK", NULL, 0, NULL, NULL);
}

static int sq_lock(om_store *s, const char *name)
{
    (void)s;
    (void)name; /* BEGIN IMMEDIATE already holds the database's single write lock */
    return OM_OK;
}

static int sq_exec_script(om_store *s, const char *sql)
{
    sq *q = impl(s);
    if (forked(q))
        return OM_ERROR;
    char *err = NULL;
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, &err);
    if (rc == SQLITE_OK)
        return OM_OK;
    rc = map_error(q, rc, NULL, err);
    sqlite3_free(err);
    return rc;
}

static int sq_schema_columns(om_store *s, om_rows **out)
{
    return run(s,
               "SELECT m.name AS table_name, p.name AS column_name "
               "FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p "
               "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
               "ORDER BY 1, 2",
               NULL, 0, out, NULL);
}

/* ---- backups ------------------------------------------------------------------------ */

static int pragma(sq *q, const char *sql);

/* A read transaction on our connection pins one snapshot (WAL: writers go on meanwhile);
 * sqlite3_backup_step uses the source's open read transaction, so the copy and whatever
 * in_snapshot read describe the same data. step(-1) copies every page in one go: a write
 * between steps would restart an incremental copy. The copy is switched to
 * journal_mode=DELETE so it is one self-contained file. */
static int sq_backup(om_store *s, const char *dest_path, om_store_snapshot_fn in_snapshot,
                     void *ud)
{
    sq *q = impl(s);
    if (forked(q))
        return OM_ERROR;
    struct stat stb;
    if (lstat(dest_path, &stb) == 0)
        return om_error_set(OM_EEXISTS, "backup file %s already exists", dest_path);
    int rc = pragma(q, "BEGIN");
    if (rc == OM_OK)
        rc = pragma(q, "SELECT count(*) FROM sqlite_schema"); /* starts the read */
    if (rc == OM_OK && in_snapshot)
        rc = in_snapshot(s, ud);
    sqlite3 *dst = NULL;
    if (rc == OM_OK) {
        int src = sqlite3_open_v2(dest_path, &dst,
                                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE,
                                  NULL);
        if (src != SQLITE_OK)
            rc = om_error_set(OM_EIO, "cannot create backup file %s: %s", dest_path,
                              dst ? sqlite3_errmsg(dst) : sqlite3_errstr(src));
    }
    if (rc == OM_OK) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", q->db, "main");
        if (!b) {
            rc = om_error_set(OM_EIO, "cannot start the backup of %s: %s", q->path,
                              sqlite3_errmsg(dst));
        } else {
            int src = sqlite3_backup_step(b, -1);
            sqlite3_backup_finish(b);
            if (src != SQLITE_DONE)
                rc = om_error_set(OM_EIO, "backup of %s into %s failed: %s", q->path,
                                  dest_path, sqlite3_errstr(src));
        }
    }
    if (rc == OM_OK) {
        char *err = NULL;
        if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE; PRAGMA user_version", NULL, NULL,
                         &err) != SQLITE_OK)
            rc = om_error_set(OM_EIO, "backup file %s: %s", dest_path, err ? err : "?");
        sqlite3_free(err);
    }
    if (dst && sqlite3_close(dst) != SQLITE_OK && rc == OM_OK)
        rc = om_error_set(OM_EIO, "closing backup file %s: %s", dest_path, sqlite3_errmsg(dst));
    if (!sqlite3_get_autocommit(q->db)) {
        char *err = NULL;
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, &err); /* it only read */
        sqlite3_free(err);
    }
    if (rc != OM_OK)
        unlink(dest_path);
    return rc;
}

/* Copies a backup file over this connection's database (the backup API, in the other
 * direction): all pages in one step, so a failure leaves the target as it was. */
static int sq_restore(om_store *s, const char *src_path)
{
    sq *q = impl(s);
    if (forked(q))
        return OM_ERROR;
    if (q->readonly)
        return om_error_set(OM_EINVAL, "cannot restore into %s: opened read-only", q->path);
    sqlite3 *src = NULL;
    int rc = OM_OK;
    int r = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_EXRESCODE, NULL);
    if (r != SQLITE_OK) {
        rc = om_error_set(OM_EIO, "cannot open backup file %s: %s", src_path,
                          src ? sqlite3_errmsg(src) : sqlite3_errstr(r));
        sqlite3_close(src);
        return rc;
    }
    char *err = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(src, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        rc = om_error_set(OM_EINVAL, "%s is not an intact SQLite database: %s", src_path,
                          st && sqlite3_column_text(st, 0)
                              ? (const char *)sqlite3_column_text(st, 0)
                              : sqlite3_errmsg(src));
    sqlite3_finalize(st);
    if (rc == OM_OK) {
        cache_clear(q); /* the schema is replaced under them */
        sqlite3_backup *b = sqlite3_backup_init(q->db, "main", src, "main");
        if (!b) {
            rc = map_error(q, sqlite3_errcode(q->db), NULL, NULL);
        } else {
            r = sqlite3_backup_step(b, -1);
            sqlite3_backup_finish(b);
            if (r != SQLITE_DONE)
                rc = om_error_set(OM_EIO, "restoring %s into %s failed: %s", src_path, q->path,
                                  sqlite3_errstr(r));
        }
    }
    sqlite3_free(err);
    sqlite3_close(src);
    if (rc == OM_OK)
        rc = pragma(q, "PRAGMA journal_mode = WAL");
    return rc;
}

/* ---- open / close ------------------------------------------------------------------- */

/* Percent-decodes [s, s+n) into a new string; NULL on a bad escape. */
static char *pct_decode(const char *s, size_t n)
{
    char *o = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int a = i + 1 < n ? om_hexval((unsigned char)s[i + 1]) : -1;
            int b = i + 2 < n ? om_hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0 || a * 16 + b == 0) { /* bad escape, or a NUL byte */
                free(o);
                return NULL;
            }
            o[j++] = (char)(a * 16 + b);
            i += 2;
        } else {
            o[j++] = s[i];
        }
    }
    o[j] = '\0';
    return o;
}

typedef struct sq_opts {
    int flags;
    int busy_ms;
    const char *synchronous;
    int readonly;
} sq_opts;

static int parse_query(const char *url, const char *qs, sq_opts *o)
{
    char *dup = xstrdup(qs), *save = NULL;
    int rc = OM_OK;
    for (char *kv = strtok_r(dup, "&", &save); kv && rc == OM_OK;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (strcmp(kv, "mode") == 0) {
            o->flags &= ~(SQLITE_OPEN_READONLY | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
            o->readonly = 0;
            if (strcmp(v, "ro") == 0) {
                o->flags |= SQLITE_OPEN_READONLY;
                o->readonly = 1;
            } else if (strcmp(v, "rw") == 0) {
                o->flags |= SQLITE_OPEN_READWRITE;
            } else if (strcmp(v, "rwc") == 0) {
                o->flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
            } else {
                rc = om_error_set(OM_EINVAL, "store URL '%s': mode must be ro, rw or rwc, not '%s'",
                                  url, v);
            }
        } else if (strcmp(kv, "busy_timeout") == 0) {
            char *end;
            long ms = strtol(v, &end, 10);
            if (!*v || *end || ms < 0 || ms > 3600000)
                rc = om_error_set(OM_EINVAL,
                                  "store URL '%s': busy_timeout must be milliseconds (0..3600000), "
                                  "not '%s'",
                                  url, v);
            else
                o->busy_ms = (int)ms;
        } else if (strcmp(kv, "synchronous") == 0) {
            if (strcmp(v, "off") == 0)
                o->synchronous = "OFF";
            else if (strcmp(v, "normal") == 0)
                o->synchronous = "NORMAL";
            else if (strcmp(v, "full") == 0)
                o->synchronous = "FULL";
            else
                rc = om_error_set(OM_EINVAL,
                                  "store URL '%s': synchronous must be off, normal or full, not "
                                  "'%s'",
                                  url, v);
        } else {
            rc = om_error_set(OM_EINVAL,
                              "store URL '%s': unknown option '%s' (known: mode, busy_timeout, "
                              "synchronous)",
                              url, kv);
        }
    }
    free(dup);
    return rc;
}

static int pragma(sq *q, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, &err);
    if (rc == SQLITE_OK)
        return OM_OK;
    rc = map_error(q, rc, NULL, err);
    sqlite3_free(err);
    return rc;
}

static void sq_close(om_store *s)
{
    sq *q = s->impl;
    if (!q)
        return;
    if (q->pid == getpid()) {
        cache_clear(q);
        if (q->db)
            sqlite3_close_v2(q->db);
    } /* else: a forked child's copy; the handle is left alone on purpose */
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        free(q->cache[i].sql);
    free(q->path);
    sb_release(&q->scratch);
    free(q);
    s->impl = NULL;
}

static int sq_open(om_store *s, const char *url)
{
    const char *rest = url + strlen("sqlite://");
    sq_opts o = {SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 10000, "NORMAL", 0};
    char *path = NULL;
    int memory = 0;
    const char *qmark = strchr(rest, '?');
    size_t plen = qmark ? (size_t)(qmark - rest) : strlen(rest);
    if (plen == 8 && strncmp(rest, ":memory:", 8) == 0) {
        memory = 1;
        path = xstrdup(":memory:");
    } else {
        if (plen == 0 || rest[0] != '/')
            return om_error_set(OM_EINVAL,
                                "store URL '%s': SQLite needs an absolute path, as in "
                                "sqlite:///var/lib/omniva/omniva.db",
                                url);
        path = pct_decode(rest, plen);
        if (!path)
            return om_error_set(OM_EINVAL, "store URL '%s': bad %%-escape in the path", url);
        size_t len = strlen(path);
        if (len == 0 || path[len - 1] == '/') {
            free(path);
            return om_error_set(OM_EINVAL, "store URL '%s': the path names a directory, not a "
                                           "database file",
                                url);
        }
    }
    if (qmark) {
        int rc = parse_query(url, qmark + 1, &o);
        if (rc < 0) {
            free(path);
            return rc;
        }
    }
    if (!memory) {
        /* Give the reason SQLite's "unable to open database file" leaves out. */
        char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        struct stat stb;
        int bad = stat(dir, &stb) != 0 ? errno : (!S_ISDIR(stb.st_mode) ? ENOTDIR : 0);
        if (bad) {
            int rc = om_error_set(OM_EUNAVAIL, "cannot open database %s: directory %s: %s", path,
                                  dir, strerror(bad));
            free(dir);
            free(path);
            return rc;
        }
        free(dir);
        if ((s->open_flags & OM_STORE_NO_CREATE) && stat(path, &stb) != 0 && errno == ENOENT) {
            int rc = om_error_set(OM_ENOTFOUND, "no database at %s", path);
            free(path);
            return rc;
        }
        if (stat(path, &stb) == 0 && S_ISDIR(stb.st_mode)) {
            int rc = om_error_set(OM_EUNAVAIL, "cannot open database %s: it is a directory", path);
            free(path);
            return rc;
        }
    }

    sq *q = xcalloc(1, sizeof(*q));
    q->path = path;
    q->readonly = o.readonly;
    q->busy_ms = o.busy_ms;
    q->pid = getpid();
    s->impl = q;
    if (s->open_flags & OM_STORE_NO_CREATE)
        o.flags &= ~SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &q->db, o.flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK) {
        const char *msg = q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
        int err = q->db ? sqlite3_system_errno(q->db) : 0;
        rc = om_error_set((rc & 0xff) == SQLITE_CANTOPEN ? OM_EUNAVAIL : OM_EIO,
                          "cannot open database %s: %s%s%s", path, msg, err ? ": " : "",
                          err ? strerror(err) : "");
        sq_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, q->busy_ms);
    rc = sqlite3_create_function_v2(q->db, "now", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, q, fn_now,
                                    NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = map_error(q, rc, NULL, NULL);
        sq_close(s);
        return rc;
    }
    /* Touching the schema is what tells a corrupt file or a non-database apart. */
    rc = pragma(q, "SELECT count(*) FROM sqlite_schema");
    if (rc == OM_OK)
        rc = pragma(q, "PRAGMA foreign_keys = ON");
    if (rc == OM_OK && !q->readonly && !memory)
        rc = pragma(q, "PRAGMA journal_mode = WAL");
    /* 16 MiB page cache (default 2 MiB): index pages of random UUID keys stay in memory. */
    if (rc == OM_OK)
        rc = pragma(q, "PRAGMA cache_size = -16384");
    if (rc == OM_OK) {
        char *sync = xasprintf("PRAGMA synchronous = %s", o.synchronous);
        rc = pragma(q, sync);
        free(sync);
    }
    if (rc < 0) {
        om_error_wrap(rc, "opening %s", url);
        sq_close(s);
        return rc;
    }
    return OM_OK;
}

const om_store_backend om_store_backend_sqlite = {
    .version = OM_STORE_BACKEND_VERSION,
    .name = "sqlite",
    .scheme = "sqlite://",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .query = sq_query,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .lock = sq_lock,
    .exec_script = sq_exec_script,
    .schema_columns = sq_schema_columns,
    .backup = sq_backup,
    .restore = sq_restore,
};
