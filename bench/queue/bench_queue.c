/*
 * bench_queue.c: throughput of the job queue (enqueue, claim+ack) on both backends, one job
 * per call and batched (SQLite batches of 10, Redis batches of 50), next to a raw Redis
 * LMOVE + LREM work-queue loop on the same server (hiredis; one command per call, and
 * pipelined in batches of 50), and to the reference figures measured on this machine.
 *
 *   bench_queue [-n JOBS] [--rounds R] [--fsync always|everysec|no|off] [--only all|redis|sqlite]
 *
 * Starts its own redis-server (tests/harness, AOF on; appendfsync everysec by default, the
 * usual production setting; "always" is what the tests use; "off" turns the AOF off) and a
 * temp SQLite store. Build
 * it without sanitizers for meaningful figures (e.g. -DCMAKE_BUILD_TYPE=Release).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "queue/queue.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <time.h>

#define REF_SQLITE_SINGLE 8700.0
#define REF_SQLITE_BATCH10 50000.0
#define REF_REDIS_SINGLE 15000.0
#define REF_REDIS_BATCH50 100000.0

static const char *payload =
    "{\"video_id\":\"5f0c8e43-6a1b-4d7e-9a53-0e1f2b3c4d5e\",\"project_id\":"
    "\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\",\"trace_id\":\"6c2a9b1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c\"}";

static void die(const char *what)
{
    fprintf(stderr, "bench_queue: %s: %s\n", what, om_error_msg());
    exit(1);
}

static double rate(size_t n, int64_t t0_us)
{
    double s = (double)(om_now_us() - t0_us) / 1e6;
    return s > 0 ? (double)n / s : 0;
}

/* CPU seconds used so far by this process, and by the Redis server (INFO cpu). */
static double self_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static redisContext *g_info; /* connection used to read the server's CPU counters */

static double server_cpu(void)
{
    if (!g_info)
        return 0;
    redisReply *r = redisCommand(g_info, "INFO cpu");
    double v = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *u = strstr(r->str, "used_cpu_user:"), *sy = strstr(r->str, "used_cpu_sys:");
        if (u && sy)
            v = strtod(u + 14, NULL) + strtod(sy + 13, NULL);
    }
    if (r)
        freeReplyObject(r);
    return v;
}

/* Bytes this process handed to write()/pwrite() so far (/proc/self/io wchar): for SQLite,
 * the WAL traffic. */
static double self_wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    double v = 0;
    char line[128];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "wchar:", 6) == 0)
            v = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return v;
}

typedef struct meas {
    double jps;            /* best jobs/s over the rounds */
    double cli_us, srv_us; /* CPU microseconds per job (client, redis-server), lowest */
    double wbytes;         /* bytes written by this process per job */
} meas;

typedef double (*run_fn)(void *ctx, size_t n, size_t batch);

static void measure(meas *m, run_fn fn, void *ctx, size_t n, size_t batch)
{
    double c0 = self_cpu(), s0 = server_cpu(), w0 = self_wchar();
    double jps = fn(ctx, n, batch);
    double cli = (self_cpu() - c0) * 1e6 / (double)n, srv = (server_cpu() - s0) * 1e6 / (double)n;
    m->wbytes = (self_wchar() - w0) / (double)n;
    if (jps > m->jps)
        m->jps = jps;
    if (m->cli_us == 0 || cli < m->cli_us)
        m->cli_us = cli;
    if (m->srv_us == 0 || srv < m->srv_us)
        m->srv_us = srv;
}

static double q_enqueue(om_queue *q, const char *type, size_t n, size_t batch)
{
    om_job_spec *specs = xcalloc(batch, sizeof(*specs));
    for (size_t i = 0; i < batch; i++) {
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = type;
        s.payload = payload;
        specs[i] = s;
    }
    int64_t t0 = om_now_us();
    for (size_t done = 0; done < n; done += batch) {
        int rc = batch == 1 ? om_queue_enqueue(q, specs, NULL, NULL)
                            : om_queue_enqueue_batch(q, specs, batch, NULL);
        if (rc < 0)
            die("enqueue");
    }
    double r = rate(n, t0);
    free(specs);
    return r;
}

static double q_claim_ack(om_queue *q, const char *type, size_t n, size_t batch)
{
    om_job *jobs = xcalloc(batch, sizeof(*jobs));
    const char *types[] = {type};
    size_t total = 0;
    int64_t t0 = om_now_us();
    while (total < n) {
        size_t got = 0;
        if (om_queue_claim(q, types, 1, "bench", 60000, jobs, batch, &got) < 0)
            die("claim");
        if (got == 0)
            break;
        size_t acked = 0;
        int rc = got == 1 ? om_queue_ack(q, &jobs[0]) : om_queue_ack_batch(q, jobs, got, &acked);
        if (rc < 0)
            die("ack");
        for (size_t i = 0; i < got; i++)
            om_job_release(&jobs[i]);
        total += got;
    }
    double r = rate(total, t0);
    free(jobs);
    if (total != n) {
        fprintf(stderr, "bench_queue: claimed %zu of %zu jobs\n", total, n);
        exit(1);
    }
    return r;
}

static void check_reply(redisContext *c, redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_queue: redis: %s\n", r ? r->str : c->errstr);
        exit(1);
    }
    freeReplyObject(r);
}

/* Raw work queue: LPUSH to enqueue; LMOVE ready -> processing, then LREM from processing. */
static double raw_enqueue(redisContext *c, size_t n, size_t pipe)
{
    int64_t t0 = om_now_us();
    for (size_t done = 0; done < n; done += pipe) {
        for (size_t i = 0; i < pipe; i++)
            redisAppendCommand(c, "LPUSH bench:raw:ready %s", payload);
        for (size_t i = 0; i < pipe; i++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK)
                check_reply(c, NULL);
            check_reply(c, r);
        }
    }
    return rate(n, t0);
}

static double raw_claim_ack(redisContext *c, size_t n, size_t pipe)
{
    char **items = xcalloc(pipe, sizeof(*items));
    size_t total = 0;
    int64_t t0 = om_now_us();
    while (total < n) {
        for (size_t i = 0; i < pipe; i++)
            redisAppendCommand(c, "LMOVE bench:raw:ready bench:raw:processing RIGHT LEFT");
        size_t got = 0;
        for (size_t i = 0; i < pipe; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
                check_reply(c, r);
            if (r->type == REDIS_REPLY_STRING)
                items[got++] = xstrndup(r->str, r->len);
            freeReplyObject(r);
        }
        if (got == 0)
            break;
        for (size_t i = 0; i < got; i++)
            redisAppendCommand(c, "LREM bench:raw:processing 1 %s", items[i]);
        for (size_t i = 0; i < got; i++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK)
                check_reply(c, NULL);
            check_reply(c, r);
            free(items[i]);
        }
        total += got;
    }
    double r = rate(total, t0);
    free(items);
    return r;
}

static double run_q_enqueue(void *ctx, size_t n, size_t batch)
{
    return q_enqueue(ctx, "bench", n, batch);
}

static double run_q_claim_ack(void *ctx, size_t n, size_t batch)
{
    return q_claim_ack(ctx, "bench", n, batch);
}

static double run_raw_enqueue(void *ctx, size_t n, size_t batch)
{
    return raw_enqueue(ctx, n, batch);
}

static double run_raw_claim_ack(void *ctx, size_t n, size_t batch)
{
    return raw_claim_ack(ctx, n, batch);
}

static void row(const char *name, const meas *m, const meas *raw, double ref, int server)
{
    printf("  %-34s %9.0f jobs/s", name, m->jps);
    if (raw && raw->jps > 0)
        printf("  x%5.2f raw", m->jps / raw->jps);
    else
        printf("  %10s", "");
    if (ref > 0)
        printf("  x%5.2f ref(%.0f)", m->jps / ref, ref);
    else
        printf("  %16s", "");
    printf("  cpu/job: client %5.1f us", m->cli_us);
    if (server)
        printf(", redis %5.1f us", m->srv_us);
    else
        printf("; written/job %5.1f KB", m->wbytes / 1024);
    printf("\n");
    fflush(stdout);
}

enum { RAW_ENQ1, RAW_CA1, RAW_ENQ50, RAW_CA50, RD_ENQ1, RD_CA1, RD_ENQ50, RD_CA50, SQ_ENQ1,
       SQ_CA1, SQ_ENQ10, SQ_CA10, NMEAS };

int main(int argc, char **argv)
{
    size_t n = 20000;
    int rounds = 3;
    const char *fsync_mode = "everysec", *only = "all";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--fsync") == 0 && i + 1 < argc)
            fsync_mode = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_queue [-n JOBS] [--rounds R] [--fsync always|everysec|no|off] "
                            "[--only all|redis|sqlite]\n");
            return 2;
        }
    }
    n = (n + 99) / 100 * 100; /* a multiple of every batch size */
    if (rounds < 1)
        rounds = 1;
    int do_redis = strcmp(only, "sqlite") != 0, do_sqlite = strcmp(only, "redis") != 0;
    om_log_level_min = OM_LOG_WARN;

    harness_redis rs;
    if (harness_redis_start(&rs) != 0)
        return 1;
    redisContext *rc = redisConnect("127.0.0.1", rs.port);
    g_info = redisConnect("127.0.0.1", rs.port);
    if (!rc || rc->err || !g_info || g_info->err) {
        fprintf(stderr, "bench_queue: cannot connect to redis\n");
        return 1;
    }
    if (strcmp(fsync_mode, "off") == 0)
        check_reply(rc, redisCommand(rc, "CONFIG SET appendonly no"));
    else
        check_reply(rc, redisCommand(rc, "CONFIG SET appendfsync %s", fsync_mode));

    char *dir = harness_tmpdir("bench-queue");
    char *store_url = xasprintf("sqlite://%s/bench.db", dir);
    om_store *store = NULL;
    if (om_store_open(&store, store_url) < 0 || om_store_migrate(store, NULL) < 0)
        die("store");
    om_queue *sq = NULL, *rq = NULL;
    if (om_queue_open(&sq, "sqlite", store) < 0)
        die("sqlite queue");
    if (om_queue_open(&rq, rs.url, store) < 0)
        die("redis queue");

    printf("bench_queue: %zu jobs per run, best of %d interleaved rounds; redis-server AOF "
           "appendfsync %s; SQLite WAL synchronous=NORMAL in %s\n",
           n, rounds, fsync_mode, dir);
    /* The machine is shared: jobs/s is the best of the rounds, and the raw loop runs in the
     * same rounds as the queue it is compared with; CPU per job (lowest of the rounds) does
     * not depend on what else runs. */
    meas m[NMEAS];
    memset(m, 0, sizeof(m));
    for (int r = 0; r < rounds; r++) {
        if (do_redis) {
            measure(&m[RAW_ENQ1], run_raw_enqueue, rc, n, 1);
            measure(&m[RAW_CA1], run_raw_claim_ack, rc, n, 1);
            measure(&m[RD_ENQ1], run_q_enqueue, rq, n, 1);
            measure(&m[RD_CA1], run_q_claim_ack, rq, n, 1);
            measure(&m[RAW_ENQ50], run_raw_enqueue, rc, n, 50);
            measure(&m[RAW_CA50], run_raw_claim_ack, rc, n, 50);
            measure(&m[RD_ENQ50], run_q_enqueue, rq, n, 50);
            measure(&m[RD_CA50], run_q_claim_ack, rq, n, 50);
        }
        if (do_sqlite) {
            measure(&m[SQ_ENQ1], run_q_enqueue, sq, n, 1);
            measure(&m[SQ_CA1], run_q_claim_ack, sq, n, 1);
            measure(&m[SQ_ENQ10], run_q_enqueue, sq, n, 10);
            measure(&m[SQ_CA10], run_q_claim_ack, sq, n, 10);
        }
        /* Between rounds (not timed): drop the finished jobs, as reap/purge do in a running
         * system, so every round starts from the same data size. */
        size_t purged = 0;
        if ((do_redis && om_queue_purge(rq, "done", &purged) < 0) ||
            (do_sqlite && om_queue_purge(sq, "done", &purged) < 0))
            die("purge");
        check_reply(rc, redisCommand(rc, "DEL bench:raw:ready bench:raw:processing"));
    }
    if (do_redis) {
        printf("raw Redis list work queue (LPUSH; LMOVE + LREM), same server:\n");
        row("enqueue (LPUSH), 1 per call", &m[RAW_ENQ1], NULL, 0, 1);
        row("claim+ack (LMOVE+LREM), 1 per call", &m[RAW_CA1], NULL, 0, 1);
        row("enqueue, pipelined by 50", &m[RAW_ENQ50], NULL, 0, 1);
        row("claim+ack, pipelined by 50", &m[RAW_CA50], NULL, 0, 1);
        printf("Redis queue (Lua: priorities, FIFO, leases, fencing tokens, dedup):\n");
        row("enqueue, 1 per call", &m[RD_ENQ1], &m[RAW_ENQ1], 0, 1);
        row("claim+ack, 1 per call", &m[RD_CA1], &m[RAW_CA1], REF_REDIS_SINGLE, 1);
        row("enqueue, batch of 50", &m[RD_ENQ50], &m[RAW_ENQ50], 0, 1);
        row("claim+ack, batch of 50", &m[RD_CA50], &m[RAW_CA50], REF_REDIS_BATCH50, 1);
    }
    if (do_redis) {
        redisReply *info = redisCommand(rc, "INFO persistence");
        const char *k = info && info->type == REDIS_REPLY_STRING ? strstr(info->str, "aof_rewrites:") : NULL;
        if (k)
            printf("  (AOF rewrites during the run: %ld; a rewrite forks redis-server and slows the "
                   "writes around it)\n", strtol(k + 13, NULL, 10));
        if (info)
            freeReplyObject(info);
    }
    if (do_sqlite) {
        printf("SQLite queue (own connection, WAL):\n");
        row("enqueue, 1 per call", &m[SQ_ENQ1], NULL, 0, 0);
        row("claim+ack, 1 per call", &m[SQ_CA1], NULL, REF_SQLITE_SINGLE, 0);
        row("enqueue, batch of 10", &m[SQ_ENQ10], NULL, 0, 0);
        row("claim+ack, batch of 10", &m[SQ_CA10], NULL, REF_SQLITE_BATCH10, 0);
    }
    printf("(\"raw\": against the raw Redis loop of the same shape; \"ref\": against the "
           "reference figure measured on this machine)\n");

    om_queue_free(sq);
    om_queue_free(rq);
    om_store_free(store);
    redisFree(rc);
    redisFree(g_info);
    harness_redis_stop(&rs);
    om_rmtree(dir);
    free(dir);
    free(store_url);
    return 0;
}
