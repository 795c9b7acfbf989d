/*
 * test_chaos.c: at-least-once delivery with exactly one effect per job under kill -9.
 *
 * 1000 selftest.write jobs; `omniva worker --concurrency 3` (a supervisor and 3 worker
 * processes) runs them while the test keeps killing things with SIGKILL: worker processes
 * (the supervisor restarts them), job processes, and now and then the supervisor itself
 * (then a new one is started; the orphaned workers drain and exit). Built with
 * CHAOS_REDIS the queue is a Redis server that is also killed and restarted mid-run.
 * At the end every job is done (acked), nothing is dead, and `artifacts` holds exactly one
 * selftest row per job id: none missing, none duplicated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "queue/queue.h"
#include "store/store.h"

#include <signal.h>
#include <unistd.h>

#define NJOBS 1000
#define DEADLINE_MS 300000 /* generous: a busy machine; ~1 min when idle */

#ifdef CHAOS_REDIS
#define BACKEND "redis"
#else
#define BACKEND "sqlite"
#endif

typedef struct counts {
    int64_t ready, delayed, leased, done, dead;
} counts;

static int queue_counts(const char *db, const char *qurl, counts *c)
{
    memset(c, 0, sizeof(*c));
    om_store *s = NULL;
    om_queue *q = NULL;
    if (om_store_open(&s, db))
        return -1;
    int rc = om_queue_open(&q, qurl, s);
    om_queue_stat *st = NULL;
    size_t n = 0;
    if (rc == OM_OK)
        rc = om_queue_stats(q, &st, &n);
    for (size_t i = 0; rc == OM_OK && i < n; i++) {
        if (strcmp(st[i].type, "selftest.write") != 0)
            continue;
        c->ready += st[i].ready;
        c->delayed += st[i].delayed;
        c->leased += st[i].leased;
        c->done += st[i].done;
        c->dead += st[i].dead;
    }
    free(st);
    if (q)
        om_queue_free(q);
    om_store_free(s);
    return rc;
}

static unsigned rnd(unsigned n)
{
    unsigned x;
    om_random_bytes(&x, sizeof(x));
    return x % n;
}

static void test_chaos(void **state)
{
    (void)state;
    int64_t t_start = om_mono_ms();
#ifdef CHAOS_REDIS
    harness_redis redis;
    if (harness_redis_start(&redis) != 0)
        fail_msg("cannot start redis-server");
    char *home = omt_workspace("chaos-redis", "--queue", redis.url, NULL);
    const char *qurl = redis.url;
#else
    char *home = omt_workspace("chaos-sqlite", NULL);
    const char *qurl = "sqlite";
#endif
    omt_conf_append(home, "worker", "lease_ms", "1500");
    omt_conf_append(home, "worker", "reap_ms", "400");
    omt_conf_append(home, "worker", "idle_ms", "50");
    omt_conf_append(home, "worker", "backoff_base_ms", "100");
    omt_conf_append(home, "worker", "backoff_cap_ms", "500");
    char *db = xasprintf("sqlite://%s/omniva.db", home);

    /* 1000 jobs in one batch; generous max_attempts because killing a job process is a
     * failed attempt (killing a worker only costs a lease expiry) */
    static char ids[NJOBS][OM_UUID_LEN];
    {
        om_store *s = NULL;
        om_queue *q = NULL;
        assert_int_equal(om_store_open(&s, db), 0);
        assert_int_equal(om_queue_open(&q, qurl, s), 0);
        om_job_spec *specs = xcalloc(NJOBS, sizeof(*specs));
        char **payloads = xcalloc(NJOBS, sizeof(char *));
        for (int i = 0; i < NJOBS; i++) {
            om_job_spec sp = OM_JOB_SPEC_INIT;
            payloads[i] = xasprintf("{\"n\": %d}", i);
            sp.type = "selftest.write";
            sp.payload = payloads[i];
            sp.max_attempts = 25;
            specs[i] = sp;
        }
        assert_int_equal(om_queue_enqueue_batch(q, specs, NJOBS, ids), 0);
        for (int i = 0; i < NJOBS; i++)
            free(payloads[i]);
        free(payloads);
        free(specs);
        om_queue_free(q);
        om_store_free(s);
    }

    char *log = xasprintf("%s/workers.log", home);
    const char *args[] = {"worker", "--types", "selftest.write", "--concurrency", "3", NULL};
    pid_t sup = omt_spawn(home, log, NULL, args);
    assert_true(sup > 0);

    int kills_worker = 0, kills_job = 0, kills_super = 0, redis_restarts = 0;
    counts c = {0};
    int64_t deadline = om_mono_ms() + DEADLINE_MS;
    /* chaos is paced by progress (one blow per ~12 jobs done, at least 200 ms apart), so a
     * slow machine gets the same amount of it rather than more */
    int64_t next_chaos_ms = om_mono_ms() + 300, next_chaos_done = 0;
    while (om_mono_ms() < deadline) {
        om_sleep_ms(100);
        if (queue_counts(db, qurl, &c) == 0 && c.done + c.dead >= NJOBS)
            break;
        if (om_mono_ms() < next_chaos_ms || c.done < next_chaos_done)
            continue;
        next_chaos_ms = om_mono_ms() + 200 + rnd(300);
        next_chaos_done = c.done + 6 + rnd(12);
        /* the chaos stops once 95% is done so the tail can finish on a fresh lease */
        if (c.done >= NJOBS * 95 / 100)
            continue;
#ifdef CHAOS_REDIS
        if (!redis_restarts && c.done >= NJOBS * 35 / 100) {
            assert_int_equal(harness_redis_restart(&redis), 0);
            redis_restarts++;
            continue;
        }
#endif
        pid_t workers[16];
        int nw = omt_children(sup, "omniva-worker", workers, 16);
        unsigned dice = rnd(100);
        if (dice < 8 && kills_super < 4) {
            kill(sup, SIGKILL);
            omt_wait(sup, 5000);
            kills_super++;
            sup = omt_spawn(home, log, NULL, args);
        } else if (dice < 30 && nw > 0) {
            pid_t jobs[4];
            pid_t w = workers[rnd((unsigned)nw)];
            int nj = omt_children(w, "omniva-job", jobs, 4);
            if (nj > 0) {
                kill(jobs[0], SIGKILL);
                kills_job++;
            }
        } else if (nw > 0) {
            kill(workers[rnd((unsigned)nw)], SIGKILL);
            kills_worker++;
        }
    }
    int64_t t_run = om_mono_ms() - t_start;
    kill(sup, SIGTERM);
    int sup_rc = omt_wait(sup, 40000);
    queue_counts(db, qurl, &c);
    fprintf(stderr,
            "chaos[%s]: %lld ms, done %lld dead %lld ready %lld delayed %lld leased %lld; "
            "killed %d workers, %d job processes, %d supervisors, %d redis restarts\n",
            BACKEND, (long long)t_run, (long long)c.done, (long long)c.dead, (long long)c.ready,
            (long long)c.delayed, (long long)c.leased, kills_worker, kills_job, kills_super,
            redis_restarts);
    assert_int_equal(sup_rc, 0);
    assert_true(kills_worker + kills_job >= 10); /* the run really was chaotic */
#ifdef CHAOS_REDIS
    assert_int_equal(redis_restarts, 1);
#endif
    assert_int_equal(c.dead, 0);
    assert_int_equal(c.done, NJOBS);

    /* exactly one artifact per job id */
    assert_int_equal(omt_query_int(db, "SELECT COUNT(*) FROM artifacts WHERE kind = 'selftest'"),
                     NJOBS);
    om_store *s = NULL;
    assert_int_equal(om_store_open(&s, db), 0);
    om_rows *rows = NULL;
    assert_int_equal(om_store_query(s,
                                    "SELECT entity_id, COUNT(*) AS n FROM artifacts WHERE kind = "
                                    "'selftest' GROUP BY entity_id ORDER BY entity_id",
                                    NULL, 0, &rows),
                     0);
    assert_int_equal(om_rows_count(rows), NJOBS);
    int missing = 0;
    for (int i = 0; i < NJOBS; i++) {
        /* rows are sorted by id: binary search */
        size_t lo = 0, hi = om_rows_count(rows);
        int found = 0;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int cmp = strcmp(om_rows_get(rows, mid, 0), ids[i]);
            if (cmp == 0) {
                found = 1;
                assert_int_equal(om_rows_int(rows, mid, "n", 0), 1);
                break;
            }
            if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        missing += !found;
    }
    om_rows_free(rows);
    om_store_free(s);
    assert_int_equal(missing, 0);

    /* the ledger written by all those processes is one intact chain */
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);

    free(log);
    free(db);
    om_rmtree(home);
    free(home);
#ifdef CHAOS_REDIS
    harness_redis_stop(&redis);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_chaos)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
