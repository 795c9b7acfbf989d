/*
 * ours.c: our Redis queue's side of bench/queue/peers (run.sh), against the Redis server at
 * URL: enqueue one at a time, enqueue in bulk (batches of 50), drain with one worker (this
 * process: claim + ack one at a time, then claim 50 + one batch ack), no-op jobs. Prints
 * RESULT lines: name phase jobs/s client-cpu-us/job server-cpu-us/job redis-commands/job.
 *
 *   bench_queue_ours REDIS_URL N
 */
#include "base/common.h"
#include "queue/queue.h"
#include "store/store.h"
#include "harness/harness.h"
#include "base/fsutil.h"

#include <hiredis/hiredis.h>
#include <time.h>

static const char *payload =
    "{\"video_id\":\"5f0c8e43-6a1b-4d7e-9a53-0e1f2b3c4d5e\",\"project_id\":"
    "\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\",\"trace_id\":\"6c2a9b1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c\"}";
static redisContext *g_info;

static void stats(double *calls, double *srv)
{
    *calls = *srv = 0;
    redisReply *r = redisCommand(g_info, "INFO commandstats");
    for (char *l = r && r->type == REDIS_REPLY_STRING ? r->str : NULL; l && *l;) {
        char name[64];
        double c = 0;
        if (sscanf(l, "cmdstat_%63[^:]:calls=%lf", name, &c) == 2 && strcmp(name, "info"))
            *calls += c;
        char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    freeReplyObject(r);
    r = redisCommand(g_info, "INFO cpu");
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *u = strstr(r->str, "used_cpu_user:"), *s = strstr(r->str, "used_cpu_sys:");
        if (u && s)
            *srv = strtod(u + 14, NULL) + strtod(s + 13, NULL);
    }
    freeReplyObject(r);
}

static double cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct mark {
    double c0, s0, cpu0;
    int64_t t0;
} mark;

static void begin(mark *m)
{
    stats(&m->c0, &m->s0);
    m->cpu0 = cpu_self();
    m->t0 = om_now_us();
}

static void end(const mark *m, const char *phase, size_t n)
{
    double dt = (double)(om_now_us() - m->t0) / 1e6, cpu = cpu_self() - m->cpu0, c1, s1;
    stats(&c1, &s1);
    printf("RESULT ours %s %.0f %.1f %.1f %.2f\n", phase, (double)n / dt, cpu * 1e6 / (double)n,
           (s1 - m->s0) * 1e6 / (double)n, (c1 - m->c0 - 2) / (double)n);
    fflush(stdout);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_queue_ours: %s: %s\n", what, om_error_msg());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_queue_ours REDIS_URL N\n");
        return 2;
    }
    const char *url = argv[1];
    size_t n = (size_t)strtoul(argv[2], NULL, 10) / 50 * 50;
    om_log_level_min = OM_LOG_WARN;
    int port = 6379;
    const char *colon = strrchr(url, ':');
    if (colon)
        port = atoi(colon + 1);
    g_info = redisConnect("127.0.0.1", port);
    if (!g_info || g_info->err)
        return 1;
    freeReplyObject(redisCommand(g_info, "FLUSHALL"));
    char *dir = harness_tmpdir("bench-queue-ours");
    char *store_url = xasprintf("sqlite://%s/bench.db", dir);
    om_store *store = NULL;
    om_queue *q = NULL;
    if (om_store_open(&store, store_url) < 0 || om_store_migrate(store, NULL) < 0)
        die("store");
    if (om_queue_open(&q, url, store) < 0)
        die("queue");
    om_job_spec specs[50];
    for (int i = 0; i < 50; i++) {
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = "bench";
        s.payload = payload;
        specs[i] = s;
    }
    const char *types[] = {"bench"};
    om_job jobs[50];
    mark m;
    /* warm-up: scripts loaded, connection up */
    if (om_queue_enqueue(q, specs, NULL, NULL) < 0)
        die("enqueue");
    size_t got = 0;
    if (om_queue_claim(q, types, 1, "w", 60000, jobs, 1, &got) < 0 || got != 1 ||
        om_queue_ack(q, &jobs[0]) < 0)
        die("warm-up");
    om_job_release(&jobs[0]);

    begin(&m);
    for (size_t i = 0; i < n; i++)
        if (om_queue_enqueue(q, specs, NULL, NULL) < 0)
            die("enqueue");
    end(&m, "enq1", n);
    begin(&m);
    for (size_t i = 0; i < n; i++) {
        if (om_queue_claim(q, types, 1, "w", 60000, jobs, 1, &got) < 0 || got != 1)
            die("claim");
        if (om_queue_ack(q, &jobs[0]) < 0)
            die("ack");
        om_job_release(&jobs[0]);
    }
    end(&m, "drain1", n);
    begin(&m);
    for (size_t i = 0; i < n; i += 50)
        if (om_queue_enqueue_batch(q, specs, 50, NULL) < 0)
            die("enqueue batch");
    end(&m, "enqbulk", n);
    begin(&m);
    for (size_t i = 0; i < n; i += 50) {
        size_t acked = 0;
        if (om_queue_claim(q, types, 1, "w", 60000, jobs, 50, &got) < 0 || got != 50)
            die("claim 50");
        if (om_queue_ack_batch(q, jobs, got, &acked) < 0 || acked != got)
            die("ack batch");
        for (size_t k = 0; k < got; k++)
            om_job_release(&jobs[k]);
    }
    end(&m, "drainbulk", n);
    om_queue_free(q);
    om_store_free(store);
    redisFree(g_info);
    om_rmtree(dir);
    free(dir);
    free(store_url);
    return 0;
}
