/*
 * queue_redis.c: the Redis queue (URL redis://[:password@]host[:port][/db]), hiredis 0.14
 * synchronous API. Every operation is ONE Lua script call (EVALSHA with the SHA1 computed
 * here; a NOSCRIPT reply, on a fresh or restarted server, loads that script with SCRIPT LOAD
 * and retries), so each operation is atomic on the server. The scripts are the files in
 * src/queue/lua/, compiled in at build time.
 *
 * Keys of a type share the hash tag {TYPE}:
 *   omniva:{T}:ready     ZSET, all scores 0, member "<9-priority><ready time, 16 digits us>:<id>":
 *                        lexicographic order = priority DESC, then ready time (FIFO);
 *                        ZPOPMIN takes the best. The member is kept in the job's `rk` field.
 *   omniva:{T}:delayed   ZSET id -> not_before (us); claim/list/stats/purge promote due ones
 *                        to ready with their due time as ready time (same order as SQLite's
 *                        not_before ordering).
 *   omniva:{T}:leased    ZSET "<id>:<token>" -> lease deadline (us). The member carries the
 *                        fencing token: ack/fail remove exactly that member, so the fence
 *                        check and the state change are one ZREM. The reaper scans it.
 *   omniva:{T}:done      ZSET id -> finish time; reap trims it (older than 7 days, or over
 *                        REDIS_DONE_MAX per type: job hash and unique entry are deleted).
 *   omniva:{T}:dead      ZSET id -> finish time (kept until retry/purge).
 *   omniva:{T}:job:<id>  HASH: the fields of om_job (+ finished, rk); fields at their default
 *                        are not stored (errors [], attempt/token/... 0, updated = created),
 *                        lease_until "0" = none; id and type come from the key.
 *   omniva:{T}:unique    HASH unique_key -> id.
 *   omniva:{T}:seq       counter of fencing tokens (INCR at every claim and every reap):
 *                        monotonic per type, hence per job.
 *   omniva:{T}:clock     last ready time handed out (us), so jobs enqueued in the same
 *                        microsecond keep their FIFO order.
 *   omniva:types         SET of every type ever enqueued (list/stats/reap/get walk it).
 *   omniva:{T}:wake      LIST of at most 8 tokens: a script that makes a job of T ready
 *                        (enqueue, relay, reap, retry, a claim promoting delayed jobs) pushes
 *                        one; an idle worker BLPOPs the lists of its types (rd_wait), so it
 *                        wakes when work arrives instead of on a poll interval.
 * Scripts that take a job id without its type (get, retry) find the type through
 * omniva:types. Claims over several types and batch acks touch keys of several hash tags,
 * and job keys are computed inside the scripts: fine on a standalone server (which the
 * redis://host:port/db URL names: Redis Cluster has no databases), not on Redis Cluster.
 *
 * Numbers go to redis.call as strings formatted with %d: Redis turns a Lua number argument
 * into text with printf("%.17g"), which costs more than the rest of a call.
 *
 * Time: the scripts read the server clock (TIME; Redis 7 replicates script effects, so
 * TIME before writes is allowed). Leases, delays, reaping, ready order and the "at" of error
 * entries all use ONE clock for every worker, whatever the skew of the worker machines.
 * The client clock only converts an outbox row's not_before into a remaining delay.
 *
 * Failures: a lost connection gives OM_EUNAVAIL with the reason; the next call reconnects
 * (and reloads the scripts). A call whose reply was lost may or may not have happened:
 * enqueues are idempotent by id/unique key, acks and fails are fenced by the token.
 *
 * Outbox (cluster mode): enqueue_tx writes a 'outbox' row into the store's jobs table
 * inside the caller's transaction; relay moves outbox rows to Redis with the SAME job id
 * (and the row's unique key). A job id already present in Redis is a no-op, so relaying a
 * row twice never makes a second job; the row is then marked 'relayed'.
 */
#include "base/common.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/time.h>

#include "queue/queue_backend.h"

#define REDIS_CONNECT_TIMEOUT_MS 2000
#define REDIS_COMMAND_TIMEOUT_MS 10000
#define REDIS_DONE_KEEP_MS (7LL * 24 * 3600 * 1000)
#define REDIS_DONE_MAX 50000
#define REDIS_RELAY_BATCH 100
#define REDIS_PURGE_CHUNK 1000

/* ---- Lua ---- */

/* The scripts are files, src/queue/lua/NAME.lua, embedded at build time as lua_NAME[]
 * (cmake/Embed.cmake); each runs with lua/prelude.lua in front of it. What each one takes
 * (ARGV) and returns is written at the top of its file. */
extern const char lua_prelude[], lua_enqueue[], lua_claim[], lua_ack[], lua_heartbeat[],
    lua_fail[], lua_bury[], lua_reap[], lua_retry[], lua_get[], lua_list[], lua_stats[],
    lua_purge[];

enum {
    S_ENQUEUE,
    S_CLAIM,
    S_ACK,
    S_HEARTBEAT,
    S_FAIL,
    S_BURY,
    S_REAP,
    S_RETRY,
    S_GET,
    S_LIST,
    S_STATS,
    S_PURGE,
    S_COUNT
};

static struct {
    const char *name;
    const char *body; /* the file */
    char *src;        /* prelude + body: what the server runs (script_sources) */
} scripts[S_COUNT] = {
    [S_ENQUEUE] = {"enqueue", lua_enqueue, NULL}, [S_CLAIM] = {"claim", lua_claim, NULL},
    [S_ACK] = {"ack", lua_ack, NULL},             [S_HEARTBEAT] = {"heartbeat", lua_heartbeat, NULL},
    [S_FAIL] = {"fail", lua_fail, NULL},          [S_BURY] = {"bury", lua_bury, NULL},
    [S_REAP] = {"reap", lua_reap, NULL},          [S_RETRY] = {"retry", lua_retry, NULL},
    [S_GET] = {"get", lua_get, NULL},             [S_LIST] = {"list", lua_list, NULL},
    [S_STATS] = {"stats", lua_stats, NULL},       [S_PURGE] = {"purge", lua_purge, NULL},
};

static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

/* Joins the prelude and each script once per process (kept until exit). */
static void script_sources(void)
{
    for (int i = 0; i < S_COUNT; i++)
        scripts[i].src = xasprintf("%s\n%s", lua_prelude, scripts[i].body);
}

/* ---- connection ---- */

typedef struct rq {
    char *host;
    char *password; /* NULL: none */
    int port;
    int db;
    redisContext *c;
    char sha[S_COUNT][41];
} rq;

static rq *RQ(om_queue *q)
{
    return (rq *)q->impl;
}

static void drop_conn(rq *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

static int conn_lost(rq *r, const char *what)
{
    const char *why = r->c && r->c->errstr[0] ? r->c->errstr : "connection lost";
    om_error_set(OM_EUNAVAIL, "redis %s:%d: %s: %s (will reconnect on the next call)", r->host,
                 r->port, what, why);
    drop_conn(r);
    return OM_EUNAVAIL;
}

/* Runs a command expecting a status/string reply; OM_EUNAVAIL on connection loss. */
static int simple_cmd(rq *r, const char *what, int argc, const char **argv, redisReply **out)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    if (!rep)
        return conn_lost(r, what);
    if (rep->type == REDIS_REPLY_ERROR) {
        int code = strncmp(rep->str, "LOADING", 7) == 0 ? OM_EUNAVAIL : OM_ERROR;
        om_error_set(code, "redis %s:%d: %s: %s", r->host, r->port, what, rep->str);
        freeReplyObject(rep);
        return code;
    }
    if (out)
        *out = rep;
    else
        freeReplyObject(rep);
    return OM_OK;
}

/* SCRIPT LOAD of one script (after NOSCRIPT: a restarted or flushed server). */
static int load_script(rq *r, int i)
{
    const char *argv[] = {"SCRIPT", "LOAD", scripts[i].src};
    redisReply *rep = NULL;
    char what[64];
    snprintf(what, sizeof(what), "loading script %s", scripts[i].name);
    int rc = simple_cmd(r, what, 3, argv, &rep);
    if (rc < 0)
        return rc;
    int ok = rep->type == REDIS_REPLY_STRING && rep->len == 40 && memcmp(rep->str, r->sha[i], 40) == 0;
    freeReplyObject(rep);
    if (!ok)
        return om_error_set(OM_ERROR, "redis %s:%d: %s: the server's SHA1 differs from ours",
                            r->host, r->port, what);
    return OM_OK;
}

/* The scripts' SHA1s, computed here: connecting costs no SCRIPT LOAD round trips, and a
 * script the server lacks is loaded on its first NOSCRIPT. */
static void compute_shas(rq *r)
{
    pthread_once(&scripts_once, script_sources);
    for (int i = 0; i < S_COUNT; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        OM_ASSERT(EVP_Digest(scripts[i].src, strlen(scripts[i].src), md, &len, EVP_sha1(),
                             NULL) == 1 && len == 20);
        for (unsigned int k = 0; k < 20; k++)
            snprintf(r->sha[i] + 2 * k, 3, "%02x", md[k]);
    }
}

static int conn_ensure(rq *r)
{
    if (r->c)
        return OM_OK;
    struct timeval tv = {REDIS_CONNECT_TIMEOUT_MS / 1000, (REDIS_CONNECT_TIMEOUT_MS % 1000) * 1000};
    r->c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c)
        return om_error_set(OM_EUNAVAIL, "redis %s:%d: cannot allocate a connection", r->host,
                            r->port);
    if (r->c->err) {
        om_error_set(OM_EUNAVAIL, "redis %s:%d: cannot connect: %s (is redis-server running?)",
                     r->host, r->port, r->c->errstr);
        drop_conn(r);
        return OM_EUNAVAIL;
    }
    struct timeval ctv = {REDIS_COMMAND_TIMEOUT_MS / 1000, 0};
    redisSetTimeout(r->c, ctv);
    redisEnableKeepAlive(r->c);
    int rc = OM_OK;
    if (r->password) {
        const char *argv[] = {"AUTH", r->password};
        rc = simple_cmd(r, "AUTH", 2, argv, NULL);
    }
    if (rc == OM_OK && r->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->db);
        const char *argv[] = {"SELECT", db};
        rc = simple_cmd(r, "SELECT", 2, argv, NULL);
    }
    if (rc < 0)
        drop_conn(r);
    return rc;
}

/* ---- script calls ---- */

typedef struct args {
    const char **v;
    size_t *len;
    size_t n, cap;
    char **owned;
    size_t nowned, capowned;
} args;

static void args_add(args *a, const char *s, size_t len)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, st_mult(a->cap, sizeof(*a->v)));
        a->len = xrealloc(a->len, st_mult(a->cap, sizeof(*a->len)));
    }
    a->v[a->n] = s;
    a->len[a->n] = len;
    a->n++;
}

static void args_str(args *a, const char *s)
{
    args_add(a, s ? s : "", s ? strlen(s) : 0);
}

/* Keeps `s` (malloc'd) until args_free. */
static void args_own(args *a, char *s)
{
    if (a->nowned == a->capowned) {
        a->capowned = a->capowned ? a->capowned * 2 : 16;
        a->owned = xrealloc(a->owned, st_mult(a->capowned, sizeof(*a->owned)));
    }
    a->owned[a->nowned++] = s;
    args_str(a, s);
}

static void args_int(args *a, int64_t v)
{
    args_own(a, xasprintf("%lld", (long long)v));
}

static void args_free(args *a)
{
    for (size_t i = 0; i < a->nowned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->v);
    free(a->len);
}

/* EVALSHA script with the ARGV in `a` (a->v[0..2] are reserved by args_script_init). */
static void args_script_init(args *a)
{
    memset(a, 0, sizeof(*a));
    args_str(a, "EVALSHA");
    args_str(a, ""); /* sha, filled in by call() */
    args_str(a, "0");
}

static int call(rq *r, int script, args *a, redisReply **out)
{
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = conn_ensure(r);
        if (rc < 0)
            return rc;
        a->v[1] = r->sha[script];
        a->len[1] = 40;
        redisReply *rep = redisCommandArgv(r->c, (int)a->n, a->v, a->len);
        if (!rep) {
            char what[64];
            snprintf(what, sizeof(what), "script %s", scripts[script].name);
            return conn_lost(r, what);
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && attempt == 0) {
                freeReplyObject(rep);
                rc = load_script(r, script); /* first use on this server, or flushed */
                if (rc < 0)
                    return rc;
                continue;
            }
            int code = OM_ERROR;
            if (strncmp(rep->str, "LOADING", 7) == 0)
                code = OM_EUNAVAIL;
            else if (strncmp(rep->str, "BUSY", 4) == 0)
                code = OM_EBUSY;
            om_error_set(code, "redis %s:%d: script %s: %s", r->host, r->port,
                         scripts[script].name, rep->str);
            freeReplyObject(rep);
            return code;
        }
        *out = rep;
        return OM_OK;
    }
    return om_error_set(OM_ERROR, "redis %s:%d: script %s not loadable", r->host, r->port,
                        scripts[script].name);
}

static int bad_reply(rq *r, int script, redisReply *rep)
{
    freeReplyObject(rep);
    return om_error_set(OM_ERROR, "redis %s:%d: script %s: unexpected reply shape", r->host,
                        r->port, scripts[script].name);
}

static const char *rstr(const redisReply *e)
{
    return e && e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

static int64_t rep_int(const redisReply *e)
{
    if (!e)
        return 0;
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING)
        return strtoll(e->str, NULL, 10);
    return 0;
}

/* A job reply: the 16 FIELDS of the prelude, in order. */
static int read_job(const redisReply *e, om_job *j)
{
    memset(j, 0, sizeof(*j));
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 16 || !rstr(e->element[0]))
        return -1;
    redisReply **f = e->element;
    snprintf(j->id, sizeof(j->id), "%s", rstr(f[0]));
    snprintf(j->type, sizeof(j->type), "%s", rstr(f[1]) ? rstr(f[1]) : "");
    snprintf(j->state, sizeof(j->state), "%s", rstr(f[2]) ? rstr(f[2]) : "");
    j->priority = (int)rep_int(f[3]);
    j->payload = xstrdup(rstr(f[4]) ? rstr(f[4]) : "{}");
    j->unique_key = xstrdup(rstr(f[5]));
    j->errors = xstrdup(rstr(f[6]) ? rstr(f[6]) : "[]");
    j->worker = xstrdup(rstr(f[7]));
    j->attempt = (int)rep_int(f[8]);
    j->max_attempts = (int)rep_int(f[9]);
    j->lease_expiries = (int)rep_int(f[10]);
    j->token = rep_int(f[11]);
    j->not_before_us = rep_int(f[12]);
    j->lease_until_us = rep_int(f[13]);
    j->created_us = rep_int(f[14]);
    j->updated_us = rep_int(f[15]);
    if (j->updated_us == 0)
        j->updated_us = j->created_us; /* never changed since enqueue */
    return 0;
}

/* Turns a {code, state, token} reply of a fenced call into OM_OK/ESTALE/ENOTFOUND. */
static int fenced_result(const redisReply *rep, const om_job *job, const char *what)
{
    int64_t code = rep->elements > 0 ? rep_int(rep->element[0]) : -1;
    if (code == 1)
        return OM_OK;
    if (code == -1)
        return om_error_set(OM_ENOTFOUND, "%s: job %s not found", what, job->id);
    const char *state = rep->elements > 1 && rstr(rep->element[1]) ? rstr(rep->element[1]) : "?";
    const char *tok = rep->elements > 2 && rstr(rep->element[2]) ? rstr(rep->element[2]) : "?";
    return om_error_set(OM_ESTALE, "%s: lease lost (job %s is %s with token %s, ours is %lld)",
                        what, job->id, state, tok, (long long)job->token);
}

/* ---- open/close ---- */

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(rq *r, const char *url)
{
    const char *p = url + 8;
    const char *at = strchr(p, '@');
    const char *slash = strchr(p, '/');
    if (at && (!slash || at < slash)) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon && at > colon + 1)
            r->password = xstrndup(colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
        slash = strchr(p, '/');
    }
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *colon = memchr(p, ':', hostlen);
    r->port = 6379;
    if (colon) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end != p + hostlen || port <= 0 || port > 65535)
            return om_error_set(OM_EINVAL, "redis url '%s': bad port", url);
        r->port = (int)port;
        hostlen = (size_t)(colon - p);
    }
    if (hostlen == 0)
        return om_error_set(OM_EINVAL, "redis url '%s': no host", url);
    r->host = xstrndup(p, hostlen);
    r->db = 0;
    if (slash && slash[1]) {
        char *end = NULL;
        long db = strtol(slash + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 1000)
            return om_error_set(OM_EINVAL, "redis url '%s': bad database number", url);
        r->db = (int)db;
    }
    return OM_OK;
}

static void free_rq(rq *r)
{
    drop_conn(r);
    free(r->host);
    free(r->password);
    free(r);
}

static int rd_open(om_queue *q, const char *url)
{
    rq *r = xcalloc(1, sizeof(*r));
    compute_shas(r);
    int rc = parse_url(r, url);
    if (rc == OM_OK)
        rc = conn_ensure(r);
    if (rc < 0) {
        free_rq(r);
        return rc;
    }
    q->impl = r;
    return OM_OK;
}

static void rd_close(om_queue *q)
{
    if (q->impl)
        free_rq(RQ(q));
    q->impl = NULL;
}

/* ---- operations ---- */

static void add_spec_args(args *a, const om_job_spec *s, const char *id, int64_t created_us)
{
    /* keep in step with LUA_ENQUEUE: 9 values per job */
    args_str(a, s->type);
    args_str(a, id);
    args_int(a, s->priority);
    args_int(a, s->delay_ms);
    args_str(a, s->unique_key ? s->unique_key : "");
    args_int(a, s->max_attempts ? s->max_attempts : OM_MAX_ATTEMPTS_DEFAULT);
    args_str(a, s->payload ? s->payload : "{}");
    args_int(a, created_us);
    args_str(a, s->job_id ? "0" : "1"); /* 1: a UUIDv4 we just drew, cannot exist yet */
}

static int enqueue_specs(rq *r, const om_job_spec *specs, size_t n, const int64_t *created_us,
                         char (*ids_out)[OM_UUID_LEN], int *created_out)
{
    args a;
    args_script_init(&a);
    args_int(&a, (int64_t)n);
    char(*ids)[OM_UUID_LEN] = xmalloc(st_mult(n, OM_UUID_LEN));
    for (size_t i = 0; i < n; i++) {
        if (specs[i].job_id)
            memcpy(ids[i], specs[i].job_id, OM_UUID_LEN);
        else
            om_uuid4(ids[i]);
        add_spec_args(&a, &specs[i], ids[i], created_us ? created_us[i] : 0);
    }
    redisReply *rep = NULL;
    int rc = call(r, S_ENQUEUE, &a, &rep);
    args_free(&a);
    free(ids);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 * n)
        return bad_reply(r, S_ENQUEUE, rep);
    for (size_t i = 0; i < n; i++) {
        const char *id = rstr(rep->element[2 * i]);
        if (ids_out)
            snprintf(ids_out[i], OM_UUID_LEN, "%s", id ? id : "");
        if (created_out)
            created_out[i] = rep_int(rep->element[2 * i + 1]) == 1;
    }
    freeReplyObject(rep);
    return OM_OK;
}

static int rd_enqueue_batch(om_queue *q, const om_job_spec *specs, size_t n,
                            char (*ids_out)[OM_UUID_LEN], int *created_out)
{
    return enqueue_specs(RQ(q), specs, n, NULL, ids_out, created_out);
}

static int rd_enqueue_tx(om_queue *q, om_store *s, const om_job_spec *spec,
                         char id_out[OM_UUID_LEN])
{
    (void)q;
    return om_queue_store_insert(s, spec, "outbox", id_out, NULL);
}

/* Marks the relayed outbox rows (ok[i]) 'relayed' and malformed ones 'dead'. */
static int mark_relayed(om_store *s, om_rows *rows, const unsigned char *ok, size_t n)
{
    int own = !om_store_in_txn(s);
    int rc = own ? om_store_begin(s) : OM_OK;
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    for (size_t i = 0; i < n && rc == OM_OK; i++)
        rc = om_store_exec(s, "UPDATE jobs SET state = ?, updated_at = ? "
                              "WHERE job_id = ? AND state = 'outbox'",
                           OM_PARAMS(OM_TEXT(ok[i] ? "relayed" : "dead"), OM_TEXT(now),
                                     OM_TEXT(om_rows_get(rows, i, 0))),
                           NULL);
    if (own) {
        if (rc == OM_OK)
            rc = om_store_commit(s);
        if (rc < 0)
            om_store_rollback(s);
    }
    return rc;
}

static int rd_relay(om_queue *q, size_t *relayed_out)
{
    rq *r = RQ(q);
    size_t total = 0;
    *relayed_out = 0;
    for (;;) {
        om_rows *rows = NULL;
        int rc = om_store_query(
            q->store,
            "SELECT job_id, type, priority, payload, unique_key, max_attempts, not_before, "
            "created_at FROM jobs WHERE state = 'outbox' ORDER BY created_at LIMIT ?",
            OM_PARAMS(OM_INT(REDIS_RELAY_BATCH)), &rows);
        if (rc < 0)
            return om_error_wrap(rc, "reading the outbox");
        size_t n = om_rows_count(rows);
        if (n == 0) {
            om_rows_free(rows);
            break;
        }
        om_job_spec *specs = xcalloc(n, sizeof(*specs));
        int64_t *created = xcalloc(n, sizeof(*created));
        unsigned char *ok = xcalloc(n, 1);
        int64_t now = om_now_us();
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            om_job_spec *sp = &specs[k];
            sp->job_id = om_rows_get(rows, i, 0);
            sp->type = om_rows_get(rows, i, 1);
            sp->priority = (int)om_rows_int(rows, i, "priority", OM_PRIORITY_DEFAULT);
            sp->payload = om_rows_get(rows, i, 3);
            sp->unique_key = om_rows_get(rows, i, 4);
            sp->max_attempts = (int)om_rows_int(rows, i, "max_attempts", 0);
            int64_t nb = om_queue_ts_us(om_rows_get(rows, i, 6));
            sp->delay_ms = nb > now ? (nb - now + 999) / 1000 : 0;
            created[k] = om_queue_ts_us(om_rows_get(rows, i, 7));
            if (!sp->job_id || !om_uuid_valid(sp->job_id) || om_queue_type_valid(sp->type) < 0 ||
                !sp->payload) {
                om_warn("queue", "outbox row %s is malformed; marked dead",
                        sp->job_id ? sp->job_id : "?");
                om_error_clear();
                memset(sp, 0, sizeof(*sp));
                continue;
            }
            ok[i] = 1;
            k++;
        }
        rc = k ? enqueue_specs(r, specs, k, created, NULL, NULL) : OM_OK;
        free(specs);
        free(created);
        if (rc == OM_OK)
            rc = mark_relayed(q->store, rows, ok, n);
        free(ok);
        om_rows_free(rows);
        if (rc < 0)
            return rc;
        total += k;
        if (n < REDIS_RELAY_BATCH)
            break;
    }
    *relayed_out = total;
    return OM_OK;
}

/* BLPOP on the types' wake lists. A token left by work that came while this worker was
 * busy makes the next wait return at once (the claim then finds that work or nothing). */
static int rd_wait(om_queue *q, const char *const *types, size_t ntypes, int64_t timeout_ms)
{
    rq *r = RQ(q);
    int rc = conn_ensure(r);
    if (rc)
        return rc;
    int64_t cap = REDIS_COMMAND_TIMEOUT_MS - 2000; /* stay under the socket timeout */
    if (timeout_ms > cap)
        timeout_ms = cap;
    args a = {0};
    args_str(&a, "BLPOP");
    for (size_t i = 0; i < ntypes; i++)
        args_own(&a, xasprintf("omniva:{%s}:wake", types[i]));
    args_own(&a, xasprintf("%.3f", (double)(timeout_ms < 1 ? 1 : timeout_ms) / 1000.0));
    redisReply *rep = redisCommandArgv(r->c, (int)a.n, a.v, a.len);
    args_free(&a);
    if (!rep)
        return conn_lost(r, "BLPOP wake");
    if (rep->type == REDIS_REPLY_ERROR)
        rc = om_error_set(OM_ERROR, "redis %s:%d: BLPOP wake: %s", r->host, r->port, rep->str);
    freeReplyObject(rep);
    return rc;
}

static int rd_claim(om_queue *q, const char *const *types, size_t ntypes, const char *worker,
                    int64_t lease_ms, om_job *jobs_out, size_t max, size_t *n_out)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_int(&a, (int64_t)max);
    args_int(&a, lease_ms);
    args_str(&a, worker);
    args_int(&a, (int64_t)ntypes);
    for (size_t i = 0; i < ntypes; i++)
        args_str(&a, types[i]);
    redisReply *rep = NULL;
    int rc = call(r, S_CLAIM, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements > max)
        return bad_reply(r, S_CLAIM, rep);
    size_t n = 0;
    for (size_t i = 0; i < rep->elements; i++)
        if (read_job(rep->element[i], &jobs_out[n]) == 0)
            n++;
    freeReplyObject(rep);
    *n_out = n;
    return OM_OK;
}

static int rd_heartbeat(om_queue *q, const om_job *job, int64_t lease_ms)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_str(&a, job->type);
    args_str(&a, job->id);
    args_int(&a, job->token);
    args_int(&a, lease_ms);
    redisReply *rep = NULL;
    int rc = call(r, S_HEARTBEAT, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY)
        return bad_reply(r, S_HEARTBEAT, rep);
    rc = fenced_result(rep, job, "heartbeat");
    freeReplyObject(rep);
    return rc;
}

static int rd_ack_batch(om_queue *q, const om_job *jobs, size_t n, size_t *acked_out)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_int(&a, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        args_str(&a, jobs[i].type);
        args_str(&a, jobs[i].id);
        args_int(&a, jobs[i].token);
    }
    redisReply *rep = NULL;
    int rc = call(r, S_ACK, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
        return bad_reply(r, S_ACK, rep);
    size_t acked = 0, bad = 0, first = 0;
    int code = OM_OK;
    for (size_t i = 0; i < n; i++) {
        int64_t v = rep_int(rep->element[i]);
        if (v == 1) {
            acked++;
        } else if (bad++ == 0) {
            first = i;
            code = v == -1 ? OM_ENOTFOUND : OM_ESTALE;
        }
    }
    freeReplyObject(rep);
    *acked_out = acked;
    if (bad == 0)
        return OM_OK;
    const char *why = code == OM_ENOTFOUND ? "not found" : "lease lost (token no longer current)";
    if (n == 1)
        return om_error_set(code, "ack: job %s: %s", jobs[first].id, why);
    return om_error_set(code, "%zu of %zu not acked; first: job %s: %s", bad, n, jobs[first].id,
                        why);
}

/* The error text as a JSON string literal (same escaping as jansson elsewhere). */
static char *json_quote(const char *s)
{
    json_t *j = json_string(s);
    if (!j) /* not UTF-8: keep what we can say */
        j = json_string("(error message is not valid UTF-8)");
    char *out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(j);
    return out;
}

static int rd_fail(om_queue *q, const om_job *job, const char *error, int permanent,
                   int *dead_out)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_str(&a, job->type);
    args_str(&a, job->id);
    args_int(&a, job->token);
    args_own(&a, json_quote(error));
    args_int(&a, permanent);
    args_int(&a, om_queue_backoff_ms(q->backoff_base_ms, q->backoff_cap_ms, job->attempt));
    redisReply *rep = NULL;
    int rc = call(r, S_FAIL, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY)
        return bad_reply(r, S_FAIL, rep);
    rc = fenced_result(rep, job, "fail");
    if (rc == OM_OK)
        *dead_out = rep->elements > 1 && rep_int(rep->element[1]) == 1;
    freeReplyObject(rep);
    return rc;
}

static int rd_bury(om_queue *q, const om_job *job, const char *error)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_str(&a, job->type);
    args_str(&a, job->id);
    args_int(&a, job->token);
    args_own(&a, json_quote(error));
    redisReply *rep = NULL;
    int rc = call(r, S_BURY, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY)
        return bad_reply(r, S_BURY, rep);
    rc = fenced_result(rep, job, "bury");
    freeReplyObject(rep);
    return rc;
}

static int rd_reap(om_queue *q, size_t *reclaimed_out, size_t *buried_out)
{
    rq *r = RQ(q);
    size_t back = 0, buried = 0, trimmed = 0;
    for (int round = 0; round < 100; round++) { /* 1000 per type and call: loop while more */
        args a;
        args_script_init(&a);
        args_int(&a, OM_LEASE_EXPIRIES_MAX);
        args_int(&a, REDIS_DONE_KEEP_MS);
        args_int(&a, REDIS_DONE_MAX);
        redisReply *rep = NULL;
        int rc = call(r, S_REAP, &a, &rep);
        args_free(&a);
        if (rc < 0)
            return rc;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4)
            return bad_reply(r, S_REAP, rep);
        back += (size_t)rep_int(rep->element[0]);
        buried += (size_t)rep_int(rep->element[1]);
        trimmed += (size_t)rep_int(rep->element[2]);
        int more = rep_int(rep->element[3]) != 0;
        freeReplyObject(rep);
        if (!more)
            break;
    }
    *reclaimed_out = back;
    *buried_out = buried;
    if (back || buried)
        om_info("queue", "reaped expired leases: %zu back to ready, %zu to the dead letters",
                back, buried);
    if (trimmed)
        om_debug("queue", "trimmed %zu old done jobs", trimmed);
    return OM_OK;
}

/* One command, atomic on the server: the leased member "<id>:<token>" carries the fencing
 * token, so ZADD XX moves exactly that lease's deadline to 0 (long expired) and leaves a job
 * claimed again meanwhile (another member) alone; the next reap reclaims it. */
static int rd_expire_lease(om_queue *q, const om_job *job)
{
    rq *r = RQ(q);
    int rc = conn_ensure(r);
    if (rc < 0)
        return rc;
    redisReply *rep = redisCommand(r->c, "ZADD omniva:{%s}:leased XX CH 0 %s:%lld", job->type,
                                   job->id, (long long)job->token);
    if (!rep)
        return conn_lost(r, "expire lease");
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = om_error_set(OM_ERROR, "redis %s:%d: expire lease: %s", r->host, r->port, rep->str);
        freeReplyObject(rep);
        return rc;
    }
    rc = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ? OM_OK : OM_ESTALE;
    freeReplyObject(rep);
    return rc;
}

static int rd_retry(om_queue *q, const char *job_id)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_str(&a, job_id);
    redisReply *rep = NULL;
    int rc = call(r, S_RETRY, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1)
        return bad_reply(r, S_RETRY, rep);
    int64_t code = rep_int(rep->element[0]);
    const char *state = rep->elements > 1 && rstr(rep->element[1]) ? rstr(rep->element[1]) : "?";
    if (code == 1)
        rc = OM_OK;
    else if (code == -1)
        rc = om_error_set(OM_ENOTFOUND, "job %s not found", job_id);
    else
        rc = om_error_set(OM_EINVAL, "job %s is %s, not dead: only dead jobs can be retried",
                          job_id, state);
    freeReplyObject(rep);
    return rc;
}

static int rd_purge(om_queue *q, const char *state, size_t *purged_out)
{
    rq *r = RQ(q);
    size_t total = 0;
    for (;;) {
        args a;
        args_script_init(&a);
        args_str(&a, state);
        args_int(&a, REDIS_PURGE_CHUNK);
        redisReply *rep = NULL;
        int rc = call(r, S_PURGE, &a, &rep);
        args_free(&a);
        if (rc < 0) {
            *purged_out = total;
            return rc;
        }
        if (rep->type != REDIS_REPLY_INTEGER)
            return bad_reply(r, S_PURGE, rep);
        size_t n = (size_t)rep->integer;
        freeReplyObject(rep);
        total += n;
        if (n == 0)
            break;
    }
    *purged_out = total;
    return OM_OK;
}

static int rd_get(om_queue *q, const char *job_id, om_job *out)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_str(&a, job_id);
    redisReply *rep = NULL;
    int rc = call(r, S_GET, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return om_error_set(OM_ENOTFOUND, "job %s not found", job_id);
    }
    if (read_job(rep, out) < 0)
        return bad_reply(r, S_GET, rep);
    freeReplyObject(rep);
    return OM_OK;
}

/* The outbox lives in the store: list it from there. */
static int list_outbox(om_queue *q, const om_queue_filter *f, om_job_list *out)
{
    om_rows *rows = NULL;
    const char *cols = "SELECT job_id, type, state, priority, payload, unique_key, errors, "
                       "max_attempts, not_before, created_at, updated_at FROM jobs "
                       "WHERE state = 'outbox'";
    char *sql = xasprintf("%s%s ORDER BY created_at LIMIT ?", cols,
                          f->type ? " AND type = ?" : "");
    int rc = f->type ? om_store_query(q->store, sql,
                                      OM_PARAMS(OM_TEXT(f->type), OM_INT((int64_t)f->limit)), &rows)
                     : om_store_query(q->store, sql, OM_PARAMS(OM_INT((int64_t)f->limit)), &rows);
    free(sql);
    if (rc < 0)
        return rc;
    size_t n = om_rows_count(rows);
    out->jobs = n ? xcalloc(n, sizeof(om_job)) : NULL;
    for (size_t i = 0; i < n; i++) {
        om_job *j = &out->jobs[i];
        snprintf(j->id, sizeof(j->id), "%s", om_rows_get(rows, i, 0));
        snprintf(j->type, sizeof(j->type), "%s", om_rows_get(rows, i, 1));
        snprintf(j->state, sizeof(j->state), "%s", om_rows_get(rows, i, 2));
        j->priority = (int)om_rows_int(rows, i, "priority", 0);
        j->payload = xstrdup(om_rows_get(rows, i, 4));
        j->unique_key = xstrdup(om_rows_get(rows, i, 5));
        j->errors = xstrdup(om_rows_get(rows, i, 6) ? om_rows_get(rows, i, 6) : "[]");
        j->max_attempts = (int)om_rows_int(rows, i, "max_attempts", 0);
        j->not_before_us = om_queue_ts_us(om_rows_get(rows, i, 8));
        j->created_us = om_queue_ts_us(om_rows_get(rows, i, 9));
        j->updated_us = om_queue_ts_us(om_rows_get(rows, i, 10));
    }
    out->n = n;
    om_rows_free(rows);
    return OM_OK;
}

static int rd_list(om_queue *q, const om_queue_filter *f, om_job_list *out)
{
    if (f->state && strcmp(f->state, "outbox") == 0)
        return list_outbox(q, f, out);
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    args_str(&a, f->state ? f->state : "");
    args_str(&a, f->type ? f->type : "");
    args_int(&a, (int64_t)f->limit);
    redisReply *rep = NULL;
    int rc = call(r, S_LIST, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY)
        return bad_reply(r, S_LIST, rep);
    out->jobs = rep->elements ? xcalloc(rep->elements, sizeof(om_job)) : NULL;
    out->n = 0;
    for (size_t i = 0; i < rep->elements; i++)
        if (read_job(rep->element[i], &out->jobs[out->n]) == 0)
            out->n++;
    freeReplyObject(rep);
    return OM_OK;
}

static int rd_stats(om_queue *q, om_queue_stat **stats_out, size_t *n_out)
{
    rq *r = RQ(q);
    args a;
    args_script_init(&a);
    redisReply *rep = NULL;
    int rc = call(r, S_STATS, &a, &rep);
    args_free(&a);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 6 != 0)
        return bad_reply(r, S_STATS, rep);
    size_t n = rep->elements / 6;
    om_queue_stat *v = n ? xcalloc(n, sizeof(*v)) : NULL;
    for (size_t i = 0; i < n; i++) {
        redisReply **e = rep->element + 6 * i;
        snprintf(v[i].type, sizeof(v[i].type), "%s", rstr(e[0]) ? rstr(e[0]) : "");
        v[i].ready = rep_int(e[1]);
        v[i].delayed = rep_int(e[2]);
        v[i].leased = rep_int(e[3]);
        v[i].done = rep_int(e[4]);
        v[i].dead = rep_int(e[5]);
    }
    freeReplyObject(rep);
    *stats_out = v;
    *n_out = n;
    return OM_OK;
}

const om_queue_backend om_queue_backend_redis = {
    .version = OM_QUEUE_BACKEND_VERSION,
    .name = "redis",
    .open = rd_open,
    .close = rd_close,
    .enqueue_batch = rd_enqueue_batch,
    .enqueue_tx = rd_enqueue_tx,
    .relay = rd_relay,
    .claim = rd_claim,
    .heartbeat = rd_heartbeat,
    .ack_batch = rd_ack_batch,
    .fail = rd_fail,
    .bury = rd_bury,
    .reap = rd_reap,
    .retry = rd_retry,
    .purge = rd_purge,
    .get = rd_get,
    .list = rd_list,
    .stats = rd_stats,
    .expire_lease = rd_expire_lease,
    .wait = rd_wait,
};
