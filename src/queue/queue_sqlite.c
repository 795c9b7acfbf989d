/*
 * queue_sqlite.c: the SQLite queue (URL "sqlite"). Jobs live in the `jobs` table of the
 * store's SQLite file, so a stage's results and its follow-up job commit in one transaction
 * (enqueue_tx goes through the caller's store handle).
 *
 * Everything else runs on the queue's OWN connection to the same file (WAL, busy_timeout
 * 10 s, synchronous=NORMAL unless the store URL says otherwise, cached prepared statements): claim/ack are short write transactions
 * that do not queue up behind the store handle's statement cache or its transactions.
 *
 *   claim     one UPDATE ... WHERE job_id IN (best ready rows) RETURNING ... statement. A
 *             single write statement in autocommit mode takes the write lock before it reads
 *             (same as BEGIN IMMEDIATE), so two workers never lease the same row.
 *   ordering  priority DESC, then the caller's type preference, then not_before (the time
 *             the job became claimable), then rowid (insertion order).
 *   "delayed" is not stored: a 'ready' row whose not_before is in the future reads back as
 *             delayed (get/list/stats/purge), so no promotion step is needed.
 *   tokens    token+1 on every claim and on every reap: monotonic per job. ack/heartbeat/
 *             fail/bury match `token = ? AND state = 'leased'`, else OM_ESTALE.
 *   time      this process's wall clock, written as canonical text (compares as text).
 *
 * Do not call claim/ack/fail while the same thread holds an open store transaction on this
 * file: the queue connection would wait for that thread's own write lock (OM_EBUSY after the
 * busy timeout). enqueue_tx is the call meant for inside a transaction.
 */
#include "base/common.h"
#include "base/hex.h"

#include <errno.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "queue/queue_backend.h"

#define SQ_MAX_CACHED_TYPES 8
#define SQ_BUSY_TIMEOUT_MS 10000
/* Queue rows and index pages are rewritten over and over: checkpointing less often copies
 * each hot page to the database once per checkpoint instead of once per 1000 frames. */
#define SQ_WAL_AUTOCHECKPOINT 8000

#define JOB_COLS                                                                            \
    "job_id, type, state, priority, payload, unique_key, errors, worker, attempt, "        \
    "max_attempts, lease_expiries, token, not_before, lease_until, created_at, updated_at"

typedef struct sq {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *ins, *find_unique;
    sqlite3_stmt *claim[SQ_MAX_CACHED_TYPES + 1];
    sqlite3_stmt *ack, *hb, *fail, *bury, *reap, *retry, *get, *state_of, *expire;
    int wake_fd;      /* inotify on the database's directory (sq_wait), -1 none, -2 failed */
    char *wake_names; /* "NAME\0NAME-wal\0": the files whose writes wake a waiter */
    int64_t last_wake_ms; /* when sq_wait last returned for a write (monotonic) */
} sq;

static sq *SQ(om_queue *q)
{
    return (sq *)q->impl;
}

static int sq_error(sq *s, int rc, const char *what)
{
    int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? OM_EBUSY : OM_ERROR;
    return om_error_set(code, "sqlite queue %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int prep(sq *s, sqlite3_stmt **st, const char *sql)
{
    if (*st) {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
        return OM_OK;
    }
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(s, rc, "preparing statement");
    return OM_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int step_done(sq *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_error(s, rc, what);
    return OM_OK;
}

static int tx_begin(sq *s)
{
    int rc = prep(s, &s->begin, "BEGIN IMMEDIATE");
    return rc < 0 ? rc : step_done(s, s->begin, "begin");
}

static int tx_commit(sq *s)
{
    int rc = prep(s, &s->commit, "COMMIT");
    return rc < 0 ? rc : step_done(s, s->commit, "commit");
}

static void tx_rollback(sq *s)
{
    if (sqlite3_get_autocommit(s->db))
        return;
    if (prep(s, &s->rollback, "ROLLBACK") == OM_OK)
        (void)step_done(s, s->rollback, "rollback");
}

/* now() for any DEFAULT or trigger evaluated on this connection (same text as the store). */
static void sql_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    char buf[OM_TIME_LEN];
    sqlite3_result_text(ctx, om_time_iso(buf, om_now_us()), -1, SQLITE_TRANSIENT);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static void col_copy(char *dst, size_t cap, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Fills *j from a row of JOB_COLS starting at column 0. */
static void read_job(sqlite3_stmt *st, om_job *j, const char *now)
{
    memset(j, 0, sizeof(*j));
    col_copy(j->id, sizeof(j->id), st, 0);
    col_copy(j->type, sizeof(j->type), st, 1);
    col_copy(j->state, sizeof(j->state), st, 2);
    j->priority = sqlite3_column_int(st, 3);
    j->payload = col_dup(st, 4);
    j->unique_key = col_dup(st, 5);
    j->errors = col_dup(st, 6);
    j->worker = col_dup(st, 7);
    j->attempt = sqlite3_column_int(st, 8);
    j->max_attempts = sqlite3_column_int(st, 9);
    j->lease_expiries = sqlite3_column_int(st, 10);
    j->token = sqlite3_column_int64(st, 11);
    const char *nb = (const char *)sqlite3_column_text(st, 12);
    j->not_before_us = om_queue_ts_us(nb);
    j->lease_until_us = om_queue_ts_us((const char *)sqlite3_column_text(st, 13));
    j->created_us = om_queue_ts_us((const char *)sqlite3_column_text(st, 14));
    j->updated_us = om_queue_ts_us((const char *)sqlite3_column_text(st, 15));
    if (!j->payload)
        j->payload = xstrdup("{}");
    if (!j->errors)
        j->errors = xstrdup("[]");
    if (now && strcmp(j->state, "ready") == 0 && nb && strcmp(nb, now) > 0)
        snprintf(j->state, sizeof(j->state), "delayed");
}

/* "sqlite:///abs/p%20ath?opts" -> "/abs/p ath" (percent-decoded, as the store does). */
static char *path_from_store_url(const char *url)
{
    const char *p = url;
    if (strncmp(p, "sqlite://", 9) == 0)
        p += 9;
    else if (strncmp(p, "sqlite:", 7) == 0)
        p += 7;
    else
        return NULL;
    size_t n = strcspn(p, "?#");
    if (n == 0)
        return NULL;
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = om_hexval(p[i + 1])) >= 0 &&
            (lo = om_hexval(p[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = p[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* The store URL's synchronous= and busy_timeout= options apply to our connection too. */
static void url_options(const char *url, const char **sync, int *busy_ms)
{
    const char *qs = strchr(url, '?');
    if (!qs)
        return;
    if (strstr(qs, "synchronous=off"))
        *sync = "OFF";
    else if (strstr(qs, "synchronous=full"))
        *sync = "FULL";
    const char *b = strstr(qs, "busy_timeout=");
    if (b) {
        long ms = strtol(b + 13, NULL, 10);
        if (ms > 0 && ms <= 3600000)
            *busy_ms = (int)ms;
    }
}

static int sq_open(om_queue *q, const char *url)
{
    (void)url;
    if (strcmp(om_store_dialect(q->store), "sqlite") != 0)
        return om_error_set(OM_EINVAL,
                            "the sqlite queue needs a SQLite store (the store is %s); use a "
                            "redis:// queue with PostgreSQL",
                            om_store_dialect(q->store));
    char *path = path_from_store_url(om_store_url(q->store));
    if (!path || strcmp(path, ":memory:") == 0) {
        free(path);
        return om_error_set(OM_EINVAL, "sqlite queue: store url '%s' names no database file",
                            om_store_url(q->store));
    }
    sq *s = xcalloc(1, sizeof(*s));
    s->path = path;
    s->wake_fd = -1;
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        om_error_set(OM_EUNAVAIL, "sqlite queue: cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return OM_EUNAVAIL;
    }
    const char *sync = "NORMAL";
    int busy_ms = SQ_BUSY_TIMEOUT_MS;
    url_options(om_store_url(q->store), &sync, &busy_ms);
    sqlite3_busy_timeout(s->db, busy_ms);
    sqlite3_create_function(s->db, "now", 0, SQLITE_UTF8, NULL, sql_now, NULL, NULL);
    char *err = NULL;
    char pragmas[200];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; "
             "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=%d;",
             sync, SQ_WAL_AUTOCHECKPOINT);
    rc = sqlite3_exec(s->db, pragmas, NULL, NULL, &err);
    if (rc == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                       "name = 'jobs'", -1, &st, NULL);
        int found = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (!found) {
            om_error_set(OM_EINVAL, "sqlite queue: %s has no jobs table (run the migrations: "
                                    "omniva migrate)", path);
            rc = SQLITE_ERROR;
        }
    } else {
        om_error_set(OM_EUNAVAIL, "sqlite queue: %s: %s", path, err ? err : "pragma failed");
    }
    sqlite3_free(err);
    if (rc != SQLITE_OK) {
        int code = om_error_code();
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return code;
    }
    q->impl = s;
    return OM_OK;
}

static void sq_close(om_queue *q)
{
    sq *s = SQ(q);
    if (!s)
        return;
    sqlite3_stmt **all[] = {&s->begin, &s->commit, &s->rollback, &s->ins, &s->find_unique,
                            &s->ack, &s->hb, &s->fail, &s->bury, &s->reap, &s->retry, &s->get,
                            &s->state_of, &s->expire};
    for (size_t i = 0; i < OM_ARRAY_LEN(all); i++)
        sqlite3_finalize(*all[i]);
    for (size_t i = 0; i <= SQ_MAX_CACHED_TYPES; i++)
        sqlite3_finalize(s->claim[i]);
    sqlite3_close(s->db);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s->wake_names);
    free(s->path);
    free(s);
    q->impl = NULL;
}

/* ---- wake-ups ------------------------------------------------------------------------
 * Every commit of any process writes the WAL (or, in rollback mode, the file) with write(),
 * which inotify reports as IN_MODIFY on the database's directory: a waiter wakes when any
 * process commits, so a job enqueued by a job process in another worker wakes this one
 * without a doorbell of its own. The watch is made at the first claim on this connection,
 * before the claim runs, so a commit between a claim that found nothing and the next wait
 * is already queued on the descriptor (no lost wake-up). An empty claim usually writes
 * nothing, but one that takes and gives back a token of a rate-limited type (queue.c) does,
 * and would wake the idle workers (itself included) again and again: wake-ups that follow
 * one another closer than WAKE_SPACING_MS are held back to that spacing, which bounds such a
 * loop at 40 claims a second per idle worker while a first wake-up after a quiet spell is
 * immediate. */
#define WAKE_SPACING_MS 25
static void wake_watch(sq *s)
{
    if (s->wake_fd != -1)
        return;
    s->wake_fd = -2;
    const char *slash = strrchr(s->path, '/');
    char *dir = slash ? xstrndup(s->path, (size_t)(slash - s->path)) : xstrdup(".");
    if (!*dir) {
        free(dir);
        dir = xstrdup("/");
    }
    const char *base = slash ? slash + 1 : s->path;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0 && inotify_add_watch(fd, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO) >= 0) {
        size_t bl = strlen(base);
        s->wake_names = xmalloc(2 * bl + 6);
        memcpy(s->wake_names, base, bl + 1);
        memcpy(s->wake_names + bl + 1, base, bl);
        memcpy(s->wake_names + 2 * bl + 1, "-wal", 5);
        s->wake_fd = fd;
    } else if (fd >= 0) {
        close(fd);
    }
    free(dir);
}

/* Reads the queued events; 1 when one of them names the database or its WAL. */
static int wake_drain(sq *s)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int hit = 0;
    size_t bl = strlen(s->wake_names);
    const char *wal = s->wake_names + bl + 1;
    for (;;) {
        ssize_t k = read(s->wake_fd, buf, sizeof(buf));
        if (k <= 0)
            break;
        for (char *p = buf; p < buf + k;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len && (!strcmp(ev->name, s->wake_names) || !strcmp(ev->name, wal)))
                hit = 1;
            p += sizeof(*ev) + ev->len;
        }
    }
    return hit;
}

static int sq_wait(om_queue *q, const char *const *types, size_t ntypes, int64_t timeout_ms)
{
    (void)types;
    (void)ntypes;
    sq *s = SQ(q);
    wake_watch(s);
    if (s->wake_fd < 0) {
        om_sleep_ms(timeout_ms);
        return OM_OK;
    }
    int64_t end = om_mono_ms() + timeout_ms;
    for (;;) {
        if (wake_drain(s)) {
            int64_t since = om_mono_ms() - s->last_wake_ms;
            if (since >= 0 && since < WAKE_SPACING_MS) {
                int64_t pause = WAKE_SPACING_MS - since;
                om_sleep_ms(pause < end - om_mono_ms() ? pause : end - om_mono_ms());
            }
            s->last_wake_ms = om_mono_ms();
            return OM_OK;
        }
        int64_t left = end - om_mono_ms();
        if (left <= 0)
            return OM_OK;
        struct pollfd pf = {.fd = s->wake_fd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            return OM_OK; /* a signal: let the caller look at its flags */
        if (pr == 0)
            return OM_OK;
    }
}

/* One insert on the queue connection (inside a transaction the caller opened). */
static int insert_one(sq *s, const om_job_spec *spec, const char *now, int64_t now_us,
                      char id_out[OM_UUID_LEN], int *created_out)
{
    char id[OM_UUID_LEN], nb[OM_TIME_LEN];
    if (spec->job_id)
        memcpy(id, spec->job_id, OM_UUID_LEN);
    else
        om_uuid4(id);
    const char *nbp = now;
    if (spec->delay_ms > 0)
        nbp = om_time_iso(nb, now_us + spec->delay_ms * 1000);
    int rc = prep(s, &s->ins,
                  "INSERT INTO jobs (job_id, type, state, priority, payload, unique_key, attempt, "
                  "max_attempts, lease_expiries, token, errors, not_before, created_at, "
                  "updated_at) VALUES (?1, ?2, 'ready', ?3, ?4, ?5, 0, ?6, 0, 0, '[]', ?7, ?8, ?8) "
                  "ON CONFLICT DO NOTHING");
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->ins;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, spec->type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, spec->priority);
    sqlite3_bind_text(st, 4, spec->payload ? spec->payload : "{}", -1, SQLITE_STATIC);
    bind_text(st, 5, spec->unique_key);
    sqlite3_bind_int(st, 6, spec->max_attempts ? spec->max_attempts : OM_MAX_ATTEMPTS_DEFAULT);
    sqlite3_bind_text(st, 7, nbp, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
    rc = step_done(s, st, "inserting job");
    if (rc < 0)
        return rc;
    int created = sqlite3_changes(s->db) > 0;
    memcpy(id_out, id, OM_UUID_LEN);
    if (!created && spec->unique_key) {
        rc = prep(s, &s->find_unique, "SELECT job_id FROM jobs WHERE type = ?1 AND unique_key = ?2");
        if (rc < 0)
            return rc;
        sqlite3_bind_text(s->find_unique, 1, spec->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->find_unique, 2, spec->unique_key, -1, SQLITE_STATIC);
        if (sqlite3_step(s->find_unique) == SQLITE_ROW)
            col_copy(id_out, OM_UUID_LEN, s->find_unique, 0);
        sqlite3_reset(s->find_unique);
    }
    if (created_out)
        *created_out = created;
    return OM_OK;
}

static int sq_enqueue_batch(om_queue *q, const om_job_spec *specs, size_t n,
                            char (*ids_out)[OM_UUID_LEN], int *created_out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    int64_t now_us = om_now_us();
    om_time_iso(now, now_us);
    int rc = OM_OK;
    if (n > 1 && (rc = tx_begin(s)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == OM_OK; i++) {
        char id[OM_UUID_LEN];
        rc = insert_one(s, &specs[i], now, now_us, id, created_out ? &created_out[i] : NULL);
        if (rc == OM_OK && ids_out)
            memcpy(ids_out[i], id, OM_UUID_LEN);
    }
    if (n > 1) {
        if (rc == OM_OK)
            rc = tx_commit(s);
        if (rc < 0)
            tx_rollback(s);
    }
    return rc;
}

static int sq_enqueue_tx(om_queue *q, om_store *st, const om_job_spec *spec,
                         char id_out[OM_UUID_LEN])
{
    (void)q;
    OM_ASSERT(strcmp(om_store_dialect(st), "sqlite") == 0);
    return om_queue_store_insert(st, spec, "ready", id_out, NULL);
}

static int sq_relay(om_queue *q, size_t *relayed_out)
{
    (void)q;
    *relayed_out = 0; /* jobs are already in the queue: nothing to move */
    return OM_OK;
}

typedef struct claimed {
    om_job job;
    int pref;
    int64_t rowid;
} claimed;

static int claimed_cmp(const void *a, const void *b)
{
    const claimed *x = a, *y = b;
    if (x->job.priority != y->job.priority)
        return x->job.priority > y->job.priority ? -1 : 1;
    if (x->pref != y->pref)
        return x->pref < y->pref ? -1 : 1;
    if (x->job.not_before_us != y->job.not_before_us)
        return x->job.not_before_us < y->job.not_before_us ? -1 : 1;
    return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

static char *claim_sql(size_t ntypes)
{
    /* ?1 lease_until, ?2 worker, ?3 now, ?4 limit, ?5.. the types in preference order. Each
     * per-type branch walks the claim index in order and stops at ?4 rows. */
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "UPDATE jobs SET state = 'leased', attempt = attempt + 1, token = token + 1, "
                 "lease_until = ?1, worker = ?2, updated_at = ?3 WHERE rowid IN (");
    if (ntypes == 1) {
        sb_puts(&sb, "SELECT rowid FROM jobs WHERE state = 'ready' AND type = ?5 AND "
                     "not_before <= ?3 ORDER BY priority DESC, not_before, rowid LIMIT ?4");
    } else {
        sb_puts(&sb, "SELECT rid FROM (");
        for (size_t i = 0; i < ntypes; i++) {
            sb_printf(&sb,
                      "%sSELECT * FROM (SELECT job_id, priority, %zu AS pref, not_before, rowid "
                      "AS rid FROM jobs WHERE state = 'ready' AND type = ?%zu AND not_before <= "
                      "?3 ORDER BY priority DESC, not_before, rowid LIMIT ?4)",
                      i ? " UNION ALL " : "", i, i + 5);
        }
        sb_puts(&sb, ") ORDER BY priority DESC, pref, not_before, rid LIMIT ?4");
    }
    sb_puts(&sb, ") RETURNING " JOB_COLS ", rowid");
    return sb_detach(&sb);
}

static int sq_claim(om_queue *q, const char *const *types, size_t ntypes, const char *worker,
                    int64_t lease_ms, om_job *jobs_out, size_t max, size_t *n_out)
{
    sq *s = SQ(q);
    wake_watch(s); /* before the claim: see sq_wait */
    sqlite3_stmt *st = NULL;
    int cached = ntypes <= SQ_MAX_CACHED_TYPES;
    int rc;
    if (cached && s->claim[ntypes]) {
        st = s->claim[ntypes];
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        char *sql = claim_sql(ntypes);
        rc = sqlite3_prepare_v3(s->db, sql, -1, cached ? SQLITE_PREPARE_PERSISTENT : 0, &st,
                                NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return sq_error(s, rc, "preparing claim");
        if (cached)
            s->claim[ntypes] = st;
    }
    char now[OM_TIME_LEN], until[OM_TIME_LEN];
    int64_t t = om_now_us();
    om_time_iso(now, t);
    om_time_iso(until, t + lease_ms * 1000);
    sqlite3_bind_text(st, 1, until, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
    for (size_t i = 0; i < ntypes; i++)
        sqlite3_bind_text(st, (int)i + 5, types[i], -1, SQLITE_STATIC);

    claimed *c = max > 1 ? xcalloc(max, sizeof(*c)) : NULL;
    size_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n >= max)
            continue; /* cannot happen (LIMIT), but never overrun the caller's array */
        om_job *j = c ? &c[n].job : &jobs_out[n];
        read_job(st, j, NULL);
        if (c) {
            c[n].rowid = sqlite3_column_int64(st, 16);
            for (size_t k = 0; k < ntypes; k++)
                if (strcmp(types[k], j->type) == 0) {
                    c[n].pref = (int)k;
                    break;
                }
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        rc = sq_error(s, rc, "claiming");
        sqlite3_reset(st);
        for (size_t i = 0; i < n; i++)
            om_job_release(c ? &c[i].job : &jobs_out[i]);
        free(c);
        if (!cached)
            sqlite3_finalize(st);
        return rc;
    }
    sqlite3_reset(st);
    if (!cached)
        sqlite3_finalize(st);
    if (c) {
        /* RETURNING order is the table's, not the claim order: put the best first. */
        qsort(c, n, sizeof(*c), claimed_cmp);
        for (size_t i = 0; i < n; i++)
            jobs_out[i] = c[i].job;
        free(c);
    }
    *n_out = n;
    return OM_OK;
}

/* Explains a 0-row update on a job: gone (ENOTFOUND) or not ours any more (ESTALE). */
static int why_not(sq *s, const om_job *job, const char *what)
{
    int rc = prep(s, &s->state_of, "SELECT state, token FROM jobs WHERE job_id = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->state_of, 1, job->id, -1, SQLITE_STATIC);
    if (sqlite3_step(s->state_of) != SQLITE_ROW) {
        sqlite3_reset(s->state_of);
        return om_error_set(OM_ENOTFOUND, "%s: job %s not found", what, job->id);
    }
    char state[16];
    col_copy(state, sizeof(state), s->state_of, 0);
    long long tok = sqlite3_column_int64(s->state_of, 1);
    sqlite3_reset(s->state_of);
    return om_error_set(OM_ESTALE, "%s: lease lost (job %s is %s with token %lld, ours is %lld)",
                        what, job->id, state, tok, (long long)job->token);
}

static int sq_heartbeat(om_queue *q, const om_job *job, int64_t lease_ms)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN], until[OM_TIME_LEN];
    int64_t t = om_now_us();
    om_time_iso(now, t);
    om_time_iso(until, t + lease_ms * 1000);
    int rc = prep(s, &s->hb,
                  "UPDATE jobs SET lease_until = ?3, updated_at = ?4 WHERE job_id = ?1 AND "
                  "token = ?2 AND state = 'leased'");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->hb, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->hb, 2, job->token);
    sqlite3_bind_text(s->hb, 3, until, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->hb, 4, now, -1, SQLITE_STATIC);
    if ((rc = step_done(s, s->hb, "heartbeat")) < 0)
        return rc;
    return sqlite3_changes(s->db) > 0 ? OM_OK : why_not(s, job, "heartbeat");
}

static int ack_one(sq *s, const om_job *job, const char *now)
{
    int rc = prep(s, &s->ack,
                  "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = ?3, "
                  "updated_at = ?3 WHERE job_id = ?1 AND token = ?2 AND state = 'leased'");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->ack, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->ack, 2, job->token);
    sqlite3_bind_text(s->ack, 3, now, -1, SQLITE_STATIC);
    if ((rc = step_done(s, s->ack, "ack")) < 0)
        return rc;
    return sqlite3_changes(s->db) > 0 ? OM_OK : why_not(s, job, "ack");
}

static int sq_ack_batch(om_queue *q, const om_job *jobs, size_t n, size_t *acked_out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    if (n == 1) {
        int rc = ack_one(s, jobs, now);
        *acked_out = rc == OM_OK;
        return rc;
    }
    int rc = tx_begin(s);
    if (rc < 0)
        return rc;
    size_t acked = 0;
    int stale = OM_OK;
    char first_stale[1024] = "";
    for (size_t i = 0; i < n; i++) {
        rc = ack_one(s, &jobs[i], now);
        if (rc == OM_OK) {
            acked++;
        } else if (rc == OM_ESTALE || rc == OM_ENOTFOUND) {
            if (stale == OM_OK) {
                stale = rc;
                snprintf(first_stale, sizeof(first_stale), "%s", om_error_msg());
            }
        } else {
            tx_rollback(s);
            *acked_out = 0;
            return rc;
        }
    }
    if ((rc = tx_commit(s)) < 0) {
        tx_rollback(s);
        *acked_out = 0;
        return rc;
    }
    *acked_out = acked;
    if (stale != OM_OK)
        return om_error_set(stale, "%zu of %zu not acked; first: %s", n - acked, n, first_stale);
    return OM_OK;
}

static int sq_fail(om_queue *q, const om_job *job, const char *error, int permanent,
                   int *dead_out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN], retry_at[OM_TIME_LEN];
    int64_t t = om_now_us();
    om_time_iso(now, t);
    int64_t delay = om_queue_backoff_ms(q->backoff_base_ms, q->backoff_cap_ms, job->attempt);
    om_time_iso(retry_at, t + delay * 1000);
    int rc = prep(
        s, &s->fail,
        "UPDATE jobs SET errors = json_insert(errors, '$[#]', json_object('attempt', attempt, "
        "'at', ?3, 'error', ?4)), "
        "state = CASE WHEN ?5 OR attempt >= max_attempts THEN 'dead' ELSE 'ready' END, "
        "not_before = CASE WHEN ?5 OR attempt >= max_attempts THEN not_before ELSE ?6 END, "
        "finished_at = CASE WHEN ?5 OR attempt >= max_attempts THEN ?3 ELSE NULL END, "
        "lease_until = NULL, updated_at = ?3 "
        "WHERE job_id = ?1 AND token = ?2 AND state = 'leased' RETURNING state");
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->fail;
    sqlite3_bind_text(st, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, job->token);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, permanent);
    sqlite3_bind_text(st, 6, retry_at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *dead_out = strcmp((const char *)sqlite3_column_text(st, 0), "dead") == 0;
        rc = sqlite3_step(st);
    } else if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return why_not(s, job, "fail");
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_error(s, rc, "fail");
    return OM_OK;
}

static int sq_bury(om_queue *q, const om_job *job, const char *error)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    int rc = prep(
        s, &s->bury,
        "UPDATE jobs SET errors = json_insert(errors, '$[#]', json_object('attempt', attempt, "
        "'at', ?3, 'error', ?4)), state = 'dead', finished_at = ?3, lease_until = NULL, "
        "updated_at = ?3 WHERE job_id = ?1 AND ((?2 = 0 AND state = 'ready') OR "
        "(?2 <> 0 AND token = ?2 AND state = 'leased'))");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->bury, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->bury, 2, job->token);
    sqlite3_bind_text(s->bury, 3, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->bury, 4, error, -1, SQLITE_STATIC);
    if ((rc = step_done(s, s->bury, "bury")) < 0)
        return rc;
    return sqlite3_changes(s->db) > 0 ? OM_OK : why_not(s, job, "bury");
}

static int sq_reap(om_queue *q, size_t *reclaimed_out, size_t *buried_out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    int rc = prep(
        s, &s->reap,
        "UPDATE jobs SET lease_expiries = lease_expiries + 1, token = token + 1, "
        "errors = json_insert(errors, '$[#]', json_object('attempt', attempt, 'at', ?1, "
        "'error', 'lease expired (worker ' || coalesce(worker, '?') || ')')), "
        "state = CASE WHEN lease_expiries + 1 >= ?2 THEN 'dead' ELSE 'ready' END, "
        "not_before = CASE WHEN lease_expiries + 1 >= ?2 THEN not_before ELSE ?1 END, "
        "finished_at = CASE WHEN lease_expiries + 1 >= ?2 THEN ?1 ELSE NULL END, "
        "lease_until = NULL, updated_at = ?1 "
        "WHERE state = 'leased' AND lease_until < ?1 RETURNING state");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->reap, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->reap, 2, OM_LEASE_EXPIRIES_MAX);
    size_t r = 0, b = 0;
    while ((rc = sqlite3_step(s->reap)) == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(s->reap, 0), "dead") == 0)
            b++;
        else
            r++;
    }
    sqlite3_reset(s->reap);
    if (rc != SQLITE_DONE)
        return sq_error(s, rc, "reap");
    *reclaimed_out = r;
    *buried_out = b;
    if (r || b)
        om_info("queue", "reaped expired leases: %zu back to ready, %zu to the dead letters", r,
                b);
    return OM_OK;
}

static int sq_expire_lease(om_queue *q, const om_job *job)
{
    sq *s = SQ(q);
    char epoch[OM_TIME_LEN], now[OM_TIME_LEN];
    om_time_iso(epoch, 0);
    om_time_iso(now, om_now_us());
    int rc = prep(s, &s->expire,
                  "UPDATE jobs SET lease_until = ?3, updated_at = ?4 "
                  "WHERE job_id = ?1 AND state = 'leased' AND token = ?2");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->expire, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->expire, 2, job->token);
    sqlite3_bind_text(s->expire, 3, epoch, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->expire, 4, now, -1, SQLITE_STATIC);
    if ((rc = step_done(s, s->expire, "expire lease")) < 0)
        return rc;
    return sqlite3_changes(s->db) > 0 ? OM_OK : OM_ESTALE;
}

static int sq_retry(om_queue *q, const char *job_id)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    int rc = prep(s, &s->retry,
                  "UPDATE jobs SET state = 'ready', attempt = 0, lease_expiries = 0, "
                  "not_before = ?2, lease_until = NULL, finished_at = NULL, updated_at = ?2 "
                  "WHERE job_id = ?1 AND state = 'dead'");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->retry, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->retry, 2, now, -1, SQLITE_STATIC);
    if ((rc = step_done(s, s->retry, "retry")) < 0)
        return rc;
    if (sqlite3_changes(s->db) > 0)
        return OM_OK;
    om_job j;
    memset(&j, 0, sizeof(j));
    snprintf(j.id, sizeof(j.id), "%s", job_id);
    rc = why_not(s, &j, "retry");
    if (rc == OM_ESTALE) /* it exists but is not dead */
        return om_error_set(OM_EINVAL, "job %s is not dead: only dead jobs can be retried",
                            job_id);
    if (rc == OM_ENOTFOUND)
        return om_error_set(OM_ENOTFOUND, "job %s not found", job_id);
    return rc;
}

/* WHERE fragment for a state as the API sees it ("delayed" is a future ready row). */
static const char *state_cond(const char *state)
{
    if (strcmp(state, "ready") == 0)
        return "state = 'ready' AND not_before <= ?1";
    if (strcmp(state, "delayed") == 0)
        return "state = 'ready' AND not_before > ?1";
    if (strcmp(state, "leased") == 0)
        return "state = 'leased' AND ?1 IS NOT NULL";
    if (strcmp(state, "done") == 0)
        return "state = 'done' AND ?1 IS NOT NULL";
    if (strcmp(state, "dead") == 0)
        return "state = 'dead' AND ?1 IS NOT NULL";
    return "state = 'outbox' AND ?1 IS NOT NULL";
}

static int sq_purge(om_queue *q, const char *state, size_t *purged_out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    char *sql = xasprintf("DELETE FROM jobs WHERE %s", state_cond(state));
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return sq_error(s, rc, "preparing purge");
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_error(s, rc, "purge");
    *purged_out = (size_t)sqlite3_changes(s->db);
    return OM_OK;
}

static int sq_get(om_queue *q, const char *job_id, om_job *out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    int rc = prep(s, &s->get, "SELECT " JOB_COLS " FROM jobs WHERE job_id = ?1");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s->get, 1, job_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s->get);
    if (rc == SQLITE_ROW) {
        read_job(s->get, out, now);
        sqlite3_reset(s->get);
        return OM_OK;
    }
    sqlite3_reset(s->get);
    if (rc == SQLITE_DONE)
        return om_error_set(OM_ENOTFOUND, "job %s not found", job_id);
    return sq_error(s, rc, "get");
}

static int sq_list(om_queue *q, const om_queue_filter *f, om_job_list *out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    char *sql = xasprintf("SELECT " JOB_COLS " FROM jobs WHERE %s AND (?2 IS NULL OR type = ?2) "
                          "ORDER BY created_at, rowid LIMIT ?3",
                          f->state ? state_cond(f->state) : "?1 IS NOT NULL");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return sq_error(s, rc, "preparing list");
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    bind_text(st, 2, f->type);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)f->limit);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->jobs = xrealloc(out->jobs, st_mult(cap, sizeof(om_job)));
        }
        read_job(st, &out->jobs[out->n++], now);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        om_job_list_free(out);
        return sq_error(s, rc, "list");
    }
    return OM_OK;
}

static int sq_stats(om_queue *q, om_queue_stat **stats_out, size_t *n_out)
{
    sq *s = SQ(q);
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db,
        "SELECT type, sum(state = 'ready' AND not_before <= ?1), "
        "sum(state = 'ready' AND not_before > ?1), sum(state = 'leased'), sum(state = 'done'), "
        "sum(state = 'dead') FROM jobs WHERE state IN ('ready', 'leased', 'done', 'dead') "
        "GROUP BY type ORDER BY type",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(s, rc, "preparing stats");
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    om_queue_stat *v = NULL;
    size_t n = 0, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = xrealloc(v, st_mult(cap, sizeof(*v)));
        }
        om_queue_stat *x = &v[n++];
        memset(x, 0, sizeof(*x));
        col_copy(x->type, sizeof(x->type), st, 0);
        x->ready = sqlite3_column_int64(st, 1);
        x->delayed = sqlite3_column_int64(st, 2);
        x->leased = sqlite3_column_int64(st, 3);
        x->done = sqlite3_column_int64(st, 4);
        x->dead = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return sq_error(s, rc, "stats");
    }
    *stats_out = v;
    *n_out = n;
    return OM_OK;
}

const om_queue_backend om_queue_backend_sqlite = {
    .version = OM_QUEUE_BACKEND_VERSION,
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .enqueue_batch = sq_enqueue_batch,
    .enqueue_tx = sq_enqueue_tx,
    .relay = sq_relay,
    .claim = sq_claim,
    .heartbeat = sq_heartbeat,
    .ack_batch = sq_ack_batch,
    .fail = sq_fail,
    .bury = sq_bury,
    .reap = sq_reap,
    .retry = sq_retry,
    .purge = sq_purge,
    .get = sq_get,
    .list = sq_list,
    .stats = sq_stats,
    .expire_lease = sq_expire_lease,
    .wait = sq_wait,
};
