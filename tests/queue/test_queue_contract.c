/*
 * test_queue_contract.c: the queue contract (queue.h), ONE suite run against every backend.
 * Built three times (tests/queue/CMakeLists.txt) with QUEUE_VARIANT:
 *   1  SQLite queue on a temp SQLite store
 *   2  Redis queue (harness Redis) with a temp SQLite store for the outbox
 *   3  Redis queue with a PostgreSQL store (harness PostgreSQL) for the outbox
 * Each test gets a fresh store and an empty Redis. Backend-specific cases (Redis restart,
 * Redis unreachable) run only where they mean something.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "queue/queue.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef QUEUE_VARIANT
#define QUEUE_VARIANT 1
#endif
#define IS_REDIS (QUEUE_VARIANT != 1)
#define IS_PG (QUEUE_VARIANT == 3)

static harness_redis g_redis;
static harness_pg g_pg;
static int g_have_servers;

typedef struct fx {
    char *dir;
    char store_url[600];
    char queue_url[160];
    om_store *store;
    om_queue *q;
} fx;

#define OK(expr)                                                                            \
    do {                                                                                    \
        int rc_ = (expr);                                                                   \
        if (rc_ != OM_OK)                                                                   \
            fail_msg("%s -> %s: %s", #expr, om_error_name(rc_), om_error_msg());             \
    } while (0)

/* ---- fixtures ---- */

static void redis_flush(void)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    redisReply *r = redisCommand(c, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
}

static int group_setup(void **state)
{
    (void)state;
    if (IS_REDIS && harness_redis_start(&g_redis) != 0)
        return -1;
    if (IS_PG && harness_pg_start(&g_pg) != 0)
        return -1;
    g_have_servers = 1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (IS_REDIS)
        harness_redis_stop(&g_redis);
    if (IS_PG)
        harness_pg_stop(&g_pg);
    return 0;
}

static int open_store(fx *f, om_store **out)
{
    int rc = om_store_open(out, f->store_url);
    if (rc == OM_OK)
        rc = om_store_migrate(*out, NULL);
    return rc;
}

static int teardown(void **state);

static int setup(void **state)
{
    fx *f = xcalloc(1, sizeof(*f));
    *state = f;
    f->dir = harness_tmpdir("queue");
    if (IS_PG)
        snprintf(f->store_url, sizeof(f->store_url), "%s", g_pg.url);
    else
        snprintf(f->store_url, sizeof(f->store_url), "sqlite://%s/omniva.db", f->dir);
    if (IS_REDIS) {
        snprintf(f->queue_url, sizeof(f->queue_url), "%s", g_redis.url);
        redis_flush();
    } else {
        snprintf(f->queue_url, sizeof(f->queue_url), "sqlite");
    }
    int rc = open_store(f, &f->store);
    if (rc == OM_OK && IS_PG) {
        rc = om_store_exec(f->store, "DELETE FROM jobs", NULL, 0, NULL);
        if (rc == OM_OK)
            rc = om_store_exec(f->store, "DELETE FROM incidents", NULL, 0, NULL);
        if (rc == OM_OK)
            rc = om_store_exec(f->store, "DELETE FROM job_type_pauses", NULL, 0, NULL);
    }
    if (rc == OM_OK)
        rc = om_queue_open(&f->q, f->queue_url, f->store);
    if (rc != OM_OK) {
        fprintf(stderr, "setup: %s: %s\n", om_error_name(rc), om_error_msg());
        teardown(state);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    om_queue_free(f->q);
    om_store_free(f->store);
    om_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static void enq(fx *f, const char *type, int prio, int64_t delay_ms, const char *ukey,
                const char *payload, char id[OM_UUID_LEN])
{
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = type;
    s.priority = prio;
    s.delay_ms = delay_ms;
    s.unique_key = ukey;
    s.payload = payload;
    int created = -1;
    OK(om_queue_enqueue(f->q, &s, id, &created));
    assert_int_equal(created, 1);
}

/* Claims exactly one job of `type` (asserts one came). */
static void claim1(fx *f, const char *type, int64_t lease_ms, om_job *j)
{
    const char *types[] = {type};
    size_t n = 99;
    OK(om_queue_claim(f->q, types, 1, "w1", lease_ms, j, 1, &n));
    assert_int_equal(n, 1);
}

static size_t claim_n(fx *f, const char *type, int64_t lease_ms, om_job *jobs, size_t max)
{
    const char *types[] = {type};
    size_t n = 99;
    OK(om_queue_claim(f->q, types, 1, "w1", lease_ms, jobs, max, &n));
    return n;
}

/* Polls claim until one job comes or timeout_ms passes (retries after backoff). */
static int claim_wait(fx *f, const char *type, int64_t lease_ms, om_job *j, int64_t timeout_ms)
{
    int64_t deadline = om_mono_ms() + timeout_ms;
    do {
        if (claim_n(f, type, lease_ms, j, 1) == 1)
            return 1;
        om_sleep_ms(5);
    } while (om_mono_ms() < deadline);
    return 0;
}

static om_queue_stat stat_of(fx *f, const char *type)
{
    om_queue_stat *v = NULL, r;
    size_t n = 0;
    OK(om_queue_stats(f->q, &v, &n));
    memset(&r, 0, sizeof(r));
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].type, type) == 0)
            r = v[i];
    free(v);
    return r;
}

static void get_state(fx *f, const char *id, const char *state)
{
    om_job j;
    OK(om_queue_get(f->q, id, &j));
    assert_string_equal(j.state, state);
    om_job_release(&j);
}

/* errors JSON -> checks n entries with attempts and messages. */
static void check_errors(const char *errors, size_t n, const int *attempts,
                         const char *const *msgs)
{
    json_error_t e;
    json_t *a = json_loads(errors, 0, &e);
    assert_non_null(a);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), n);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(a, i);
        assert_int_equal(json_integer_value(json_object_get(x, "attempt")), attempts[i]);
        const char *at = json_string_value(json_object_get(x, "at"));
        assert_non_null(at);
        assert_int_equal(strlen(at), OM_TIME_LEN - 1);
        int64_t us;
        assert_int_equal(om_time_parse(at, &us), OM_OK);
        assert_true(llabs(us - om_now_us()) < 60 * 1000000LL);
        const char *msg = json_string_value(json_object_get(x, "error"));
        assert_non_null(msg);
        if (msgs[i][0] == '~')
            assert_non_null(strstr(msg, msgs[i] + 1));
        else
            assert_string_equal(msg, msgs[i]);
    }
    json_decref(a);
}

/* ---- backend-independent ---- */

static void test_backoff_policy(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        int64_t d1 = om_queue_backoff_ms(1000, 300000, 1);
        assert_true(d1 >= 800 && d1 <= 1200);
        int64_t d3 = om_queue_backoff_ms(1000, 300000, 3);
        assert_true(d3 >= 3200 && d3 <= 4800);
        int64_t dc = om_queue_backoff_ms(1000, 300000, 40);
        assert_true(dc >= 240000 && dc <= 360000);
        int64_t dz = om_queue_backoff_ms(20, 1000, 1000000);
        assert_true(dz >= 800 && dz <= 1200);
    }
    /* the jitter really varies */
    int64_t first = om_queue_backoff_ms(1000, 300000, 2), differs = 0;
    for (int i = 0; i < 50; i++)
        differs |= om_queue_backoff_ms(1000, 300000, 2) != first;
    assert_true(differs);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_int_equal(om_queue_type_valid("scrape"), OM_OK);
    assert_int_equal(om_queue_type_valid("selftest.write-2_x"), OM_OK);
    assert_int_equal(om_queue_type_valid(""), OM_EINVAL);
    assert_int_equal(om_queue_type_valid(NULL), OM_EINVAL);
    assert_int_equal(om_queue_type_valid("Scrape"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "'S'"));
    assert_int_equal(om_queue_type_valid("a b"), OM_EINVAL);
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = '\0';
    assert_int_equal(om_queue_type_valid(longname), OM_EINVAL);
    longname[63] = '\0';
    assert_int_equal(om_queue_type_valid(longname), OM_OK);
}

static void test_open_and_spec_errors(void **state)
{
    fx *f = *state;
    om_queue *q = NULL;
    assert_int_equal(om_queue_open(&q, "bogus://x", f->store), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "unknown backend"));
    if (IS_PG) {
        assert_int_equal(om_queue_open(&q, "sqlite", f->store), OM_EINVAL);
        assert_non_null(strstr(om_error_msg(), "SQLite store"));
    }
    assert_string_equal(om_queue_backend_name(f->q), IS_REDIS ? "redis" : "sqlite");

    om_job_spec s = OM_JOB_SPEC_INIT;
    char id[OM_UUID_LEN];
    s.type = "Bad Type";
    assert_int_equal(om_queue_enqueue(f->q, &s, id, NULL), OM_EINVAL);
    s.type = "t";
    s.priority = 10;
    assert_int_equal(om_queue_enqueue(f->q, &s, id, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "priority"));
    s.priority = 5;
    s.payload = "[1,2]";
    assert_int_equal(om_queue_enqueue(f->q, &s, id, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "JSON object"));
    s.payload = "{broken";
    assert_int_equal(om_queue_enqueue(f->q, &s, id, NULL), OM_EINVAL);
    s.payload = NULL;
    s.job_id = "not-a-uuid";
    assert_int_equal(om_queue_enqueue(f->q, &s, id, NULL), OM_EINVAL);
    s.job_id = NULL;
    s.delay_ms = -1;
    assert_int_equal(om_queue_enqueue(f->q, &s, id, NULL), OM_EINVAL);
    om_job j;
    assert_int_equal(om_queue_get(f->q, "nope", &j), OM_EINVAL);
    char fresh[OM_UUID_LEN];
    assert_int_equal(om_queue_get(f->q, om_uuid4(fresh), &j), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), fresh));
    size_t n;
    assert_int_equal(om_queue_purge(f->q, "finished", &n), OM_EINVAL);
    const char *types[] = {"t"};
    om_job jobs[1];
    assert_int_equal(om_queue_claim(f->q, types, 1, "w", 0, jobs, 1, &n), OM_EINVAL);
}

/* ---- ordering ---- */

static void test_priority_and_fifo(void **state)
{
    fx *f = *state;
    char a[OM_UUID_LEN], b[OM_UUID_LEN], c[OM_UUID_LEN], d[OM_UUID_LEN], e[OM_UUID_LEN],
        g[OM_UUID_LEN];
    enq(f, "t", 5, 0, NULL, "{\"n\":\"a\"}", a);
    enq(f, "t", 5, 0, NULL, "{\"n\":\"b\"}", b);
    enq(f, "t", 9, 0, NULL, NULL, d);
    enq(f, "t", 5, 0, NULL, NULL, c);
    enq(f, "t", 1, 0, NULL, NULL, e);
    enq(f, "t", 5, 0, NULL, NULL, g);
    const char *want[] = {d, a, b, c, g, e};
    om_job j;
    for (int i = 0; i < 2; i++) {
        claim1(f, "t", 30000, &j);
        assert_string_equal(j.id, want[i]);
        assert_string_equal(j.state, "leased");
        assert_int_equal(j.attempt, 1);
        assert_string_equal(j.worker, "w1");
        om_job_release(&j);
    }
    om_job batch[10];
    size_t n = claim_n(f, "t", 30000, batch, 10);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(batch[i].id, want[i + 2]);
        om_job_release(&batch[i]);
    }
    assert_int_equal(claim_n(f, "t", 30000, batch, 10), 0);
    /* a batch enqueue keeps its order too */
    om_job_spec specs[20];
    char ids[20][OM_UUID_LEN];
    for (int i = 0; i < 20; i++) {
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = "u";
        specs[i] = s;
    }
    OK(om_queue_enqueue_batch(f->q, specs, 20, ids));
    for (int i = 0; i < 20; i++) {
        claim1(f, "u", 30000, &j);
        assert_string_equal(j.id, ids[i]);
        om_job_release(&j);
    }
}

static void test_type_preference(void **state)
{
    fx *f = *state;
    char b1[OM_UUID_LEN], a1[OM_UUID_LEN], b9[OM_UUID_LEN], a2[OM_UUID_LEN];
    enq(f, "beta", 5, 0, NULL, NULL, b1);
    enq(f, "alpha", 5, 0, NULL, NULL, a1);
    enq(f, "alpha", 5, 0, NULL, NULL, a2);
    enq(f, "beta", 9, 0, NULL, NULL, b9);
    const char *types[] = {"alpha", "beta", "gamma"};
    om_job j[4];
    size_t n = 0;
    /* priority first, then the caller's type order, then FIFO */
    const char *want[] = {b9, a1, a2, b1};
    for (int i = 0; i < 4; i++) {
        OK(om_queue_claim(f->q, types, 3, "w", 30000, &j[i], 1, &n));
        assert_int_equal(n, 1);
        assert_string_equal(j[i].id, want[i]);
    }
    for (int i = 0; i < 4; i++)
        om_job_release(&j[i]);
    /* the same order in one batch claim */
    enq(f, "beta", 5, 0, NULL, NULL, b1);
    enq(f, "alpha", 5, 0, NULL, NULL, a1);
    enq(f, "alpha", 5, 0, NULL, NULL, a2);
    enq(f, "beta", 9, 0, NULL, NULL, b9);
    OK(om_queue_claim(f->q, types, 3, "w", 30000, j, 4, &n));
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(j[i].id, want[i]);
        om_job_release(&j[i]);
    }
    const char *other[] = {"gamma"};
    OK(om_queue_claim(f->q, other, 1, "w", 30000, j, 4, &n));
    assert_int_equal(n, 0);
}

static void test_delayed(void **state)
{
    fx *f = *state;
    char x[OM_UUID_LEN], y[OM_UUID_LEN], z[OM_UUID_LEN];
    int64_t t0 = om_now_us();
    enq(f, "t", 5, 300, NULL, NULL, x);
    enq(f, "t", 5, 0, NULL, NULL, y);
    get_state(f, x, "delayed");
    om_job j;
    OK(om_queue_get(f->q, x, &j));
    assert_true(j.not_before_us >= t0 + 290000 && j.not_before_us <= om_now_us() + 310000);
    om_job_release(&j);
    om_queue_stat st = stat_of(f, "t");
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.ready, 1);
    claim1(f, "t", 30000, &j);
    assert_string_equal(j.id, y);
    om_job_release(&j);
    assert_int_equal(claim_n(f, "t", 30000, &j, 1), 0); /* x is not due */
    om_job_list l;
    om_queue_filter flt = {"delayed", "t", 0};
    OK(om_queue_list(f->q, &flt, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.jobs[0].id, x);
    om_job_list_free(&l);
    /* once due, x was ready before z was enqueued: it goes first */
    while (om_now_us() < t0 + 330000)
        om_sleep_ms(10);
    get_state(f, x, "ready");
    enq(f, "t", 5, 0, NULL, NULL, z);
    st = stat_of(f, "t");
    assert_int_equal(st.delayed, 0);
    assert_int_equal(st.ready, 2);
    claim1(f, "t", 30000, &j);
    assert_string_equal(j.id, x);
    om_job_release(&j);
    claim1(f, "t", 30000, &j);
    assert_string_equal(j.id, z);
    om_job_release(&j);
}

/* ---- idempotence ---- */

static void test_unique_keys(void **state)
{
    fx *f = *state;
    char a[OM_UUID_LEN], b[OM_UUID_LEN], c[OM_UUID_LEN];
    enq(f, "edit", 5, 0, "edit:clip1", "{\"clip_id\":\"1\"}", a);
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = "edit";
    s.unique_key = "edit:clip1";
    s.payload = "{\"clip_id\":\"other\"}";
    int created = -1;
    OK(om_queue_enqueue(f->q, &s, b, &created));
    assert_int_equal(created, 0);
    assert_string_equal(a, b);
    om_job j;
    OK(om_queue_get(f->q, a, &j));
    assert_string_equal(j.unique_key, "edit:clip1");
    json_t *p = json_loads(j.payload, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "clip_id")), "1"); /* first wins */
    json_decref(p);
    om_job_release(&j);
    /* the key is per type */
    enq(f, "upload", 5, 0, "edit:clip1", NULL, c);
    assert_string_not_equal(a, c);
    /* still deduplicated after the job ran */
    claim1(f, "edit", 30000, &j);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);
    OK(om_queue_enqueue(f->q, &s, b, &created));
    assert_int_equal(created, 0);
    assert_string_equal(a, b);
    /* an explicit job id is idempotent too */
    char given[OM_UUID_LEN];
    om_uuid4(given);
    om_job_spec g = OM_JOB_SPEC_INIT;
    g.type = "edit";
    g.job_id = given;
    OK(om_queue_enqueue(f->q, &g, b, &created));
    assert_int_equal(created, 1);
    assert_string_equal(b, given);
    OK(om_queue_enqueue(f->q, &g, b, &created));
    assert_int_equal(created, 0);
    assert_int_equal(stat_of(f, "edit").ready, 1);
    assert_int_equal(stat_of(f, "edit").done, 1);
    /* duplicates inside one batch */
    om_job_spec specs[3] = {OM_JOB_SPEC_INIT, OM_JOB_SPEC_INIT, OM_JOB_SPEC_INIT};
    char ids[3][OM_UUID_LEN];
    for (int i = 0; i < 3; i++) {
        specs[i].type = "batchy";
        specs[i].unique_key = i == 1 ? "other" : "same";
    }
    OK(om_queue_enqueue_batch(f->q, specs, 3, ids));
    assert_string_equal(ids[0], ids[2]);
    assert_string_not_equal(ids[0], ids[1]);
    assert_int_equal(stat_of(f, "batchy").ready, 2);
}

/* ---- leases ---- */

static void test_lease_fencing(void **state)
{
    fx *f = *state;
    char id[OM_UUID_LEN];
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = "t";
    s.max_attempts = 5;
    OK(om_queue_enqueue(f->q, &s, id, NULL));
    om_job old;
    claim1(f, "t", 100, &old);
    assert_string_equal(old.id, id);
    assert_true(old.token > 0);
    assert_int_equal(old.attempt, 1);
    assert_true(old.lease_until_us > om_now_us());
    OK(om_queue_heartbeat(f->q, &old, 100));
    /* a second worker gets nothing while the lease holds */
    om_job none;
    assert_int_equal(claim_n(f, "t", 100, &none, 1), 0);
    om_sleep_ms(150);
    size_t back = 0, buried = 0;
    OK(om_queue_reap(f->q, &back, &buried));
    assert_int_equal(back, 1);
    assert_int_equal(buried, 0);
    /* the old holder is fenced off even before anyone re-claims */
    assert_int_equal(om_queue_ack(f->q, &old), OM_ESTALE);
    assert_non_null(strstr(om_error_msg(), "lease lost"));
    om_job fresh;
    claim1(f, "t", 30000, &fresh);
    assert_string_equal(fresh.id, id);
    assert_true(fresh.token > old.token);
    assert_int_equal(fresh.attempt, 2);
    assert_int_equal(fresh.lease_expiries, 1);
    assert_int_equal(om_queue_ack(f->q, &old), OM_ESTALE);
    assert_int_equal(om_queue_heartbeat(f->q, &old, 1000), OM_ESTALE);
    int dead = -1;
    assert_int_equal(om_queue_fail(f->q, &old, "late", 0, &dead), OM_ESTALE);
    assert_int_equal(dead, -1);
    assert_int_equal(om_queue_bury(f->q, &old, "late"), OM_ESTALE);
    get_state(f, id, "leased");
    OK(om_queue_ack(f->q, &fresh));
    get_state(f, id, "done");
    assert_int_equal(om_queue_ack(f->q, &fresh), OM_ESTALE); /* twice */
    om_job j;
    OK(om_queue_get(f->q, id, &j));
    check_errors(j.errors, 1, (const int[]){1}, (const char *const[]){"~lease expired"});
    om_job_release(&j);
    om_job_release(&old);
    om_job_release(&fresh);
}

static void test_heartbeat_extends(void **state)
{
    fx *f = *state;
    char id[OM_UUID_LEN];
    enq(f, "t", 5, 0, NULL, NULL, id);
    om_job j;
    claim1(f, "t", 300, &j);
    int64_t first_until = j.lease_until_us;
    om_sleep_ms(150);
    OK(om_queue_heartbeat(f->q, &j, 600));
    om_job g;
    OK(om_queue_get(f->q, id, &g));
    assert_true(g.lease_until_us > first_until + 300000);
    om_job_release(&g);
    om_sleep_ms(250); /* past the first lease, inside the extended one */
    size_t back = 9, buried = 9;
    OK(om_queue_reap(f->q, &back, &buried));
    assert_int_equal(back, 0);
    assert_int_equal(buried, 0);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);
}

/* ---- failures ---- */

static void test_fail_retry_then_dead(void **state)
{
    fx *f = *state;
    const int64_t base = 20;
    om_queue_set_backoff(f->q, base, 10000);
    char id[OM_UUID_LEN];
    enq(f, "t", 5, 0, NULL, "{\"video_id\":\"v1\"}", id);
    const char *msgs[] = {"boom 1", "boom \"2\"\n", "boom 3"};
    for (int attempt = 1; attempt <= 3; attempt++) {
        om_job j;
        assert_true(claim_wait(f, "t", 30000, &j, 3000));
        assert_string_equal(j.id, id);
        assert_int_equal(j.attempt, attempt);
        int64_t before = om_now_us();
        int dead = -1;
        OK(om_queue_fail(f->q, &j, msgs[attempt - 1], 0, &dead));
        int64_t after = om_now_us();
        om_job g;
        OK(om_queue_get(f->q, id, &g));
        if (attempt < 3) {
            assert_int_equal(dead, 0);
            /* retry at now + base*2^(attempt-1) +/- 20% */
            int64_t d = base * (1 << (attempt - 1)) * 1000;
            assert_true(g.not_before_us >= before + d * 8 / 10 - 2000);
            assert_true(g.not_before_us <= after + d * 12 / 10 + 2000);
            assert_true(strcmp(g.state, "delayed") == 0 || strcmp(g.state, "ready") == 0);
        } else {
            assert_int_equal(dead, 1);
            assert_string_equal(g.state, "dead");
            json_t *p = json_loads(g.payload, 0, NULL);
            assert_string_equal(json_string_value(json_object_get(p, "video_id")), "v1");
            json_decref(p);
            check_errors(g.errors, 3, (const int[]){1, 2, 3}, msgs);
        }
        om_job_release(&g);
        om_job_release(&j);
    }
    om_job none;
    assert_int_equal(claim_n(f, "t", 1000, &none, 1), 0);
    om_queue_stat st = stat_of(f, "t");
    assert_int_equal(st.dead, 1);
    assert_int_equal(st.ready + st.delayed + st.leased + st.done, 0);
}

static void test_permanent_and_bury(void **state)
{
    fx *f = *state;
    char a[OM_UUID_LEN], b[OM_UUID_LEN], c[OM_UUID_LEN];
    enq(f, "t", 5, 0, NULL, NULL, a);
    om_job j;
    claim1(f, "t", 30000, &j);
    int dead = -1;
    OK(om_queue_fail(f->q, &j, "bad input", 1, &dead));
    assert_int_equal(dead, 1);
    om_job g;
    OK(om_queue_get(f->q, a, &g));
    assert_string_equal(g.state, "dead");
    check_errors(g.errors, 1, (const int[]){1}, (const char *const[]){"bad input"});
    om_job_release(&g);
    om_job_release(&j);

    /* bury a job never claimed (unknown type / malformed payload) */
    enq(f, "t", 5, 0, NULL, NULL, b);
    OK(om_queue_get(f->q, b, &g));
    g.token = 0;
    OK(om_queue_bury(f->q, &g, "malformed payload"));
    om_job_release(&g);
    OK(om_queue_get(f->q, b, &g));
    assert_string_equal(g.state, "dead");
    check_errors(g.errors, 1, (const int[]){0}, (const char *const[]){"malformed payload"});
    om_job_release(&g);
    om_job none;
    assert_int_equal(claim_n(f, "t", 1000, &none, 1), 0);

    /* bury a job whose lease we hold; a wrong token is refused */
    enq(f, "t", 5, 0, NULL, NULL, c);
    claim1(f, "t", 30000, &j);
    om_job wrong = j;
    wrong.token = j.token + 100;
    assert_int_equal(om_queue_bury(f->q, &wrong, "x"), OM_ESTALE);
    OK(om_queue_bury(f->q, &j, "unknown type"));
    get_state(f, c, "dead");
    om_job_release(&j);
    assert_int_equal(stat_of(f, "t").dead, 3);
}

static void test_reap_buries_after_three_expiries(void **state)
{
    fx *f = *state;
    char id[OM_UUID_LEN];
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = "t";
    s.max_attempts = 10;
    OK(om_queue_enqueue(f->q, &s, id, NULL));
    for (int i = 1; i <= 3; i++) {
        om_job j;
        claim1(f, "t", 50, &j);
        assert_int_equal(j.lease_expiries, i - 1);
        om_job_release(&j);
        om_sleep_ms(80); /* the worker "died": no heartbeat, no ack */
        size_t back = 0, buried = 0;
        OK(om_queue_reap(f->q, &back, &buried));
        assert_int_equal(back, i < 3 ? 1 : 0);
        assert_int_equal(buried, i < 3 ? 0 : 1);
    }
    om_job g;
    OK(om_queue_get(f->q, id, &g));
    assert_string_equal(g.state, "dead");
    assert_int_equal(g.lease_expiries, 3);
    check_errors(g.errors, 3, (const int[]){1, 2, 3},
                 (const char *const[]){"~lease expired (worker w1)", "~lease expired",
                                       "~lease expired"});
    om_job_release(&g);
}

/* The test's "processes": pid 4000001 is dead, every other pid is alive. */
static int test_alive(long pid, void *ud)
{
    (*(int *)ud)++;
    return pid != 4000001;
}

static void test_reclaim_dead_workers(void **state)
{
    fx *f = *state;
    const char *workers[] = {"hostA:4000001", "hostA:4000002", "hostB:4000001",
                             "hostAB:4000001", "hostA:4000001"};
    char ids[5][OM_UUID_LEN];
    om_job jobs[5];
    for (int i = 0; i < 5; i++)
        enq(f, "t", 5, 0, NULL, NULL, ids[i]);
    const char *types[] = {"t"};
    for (int i = 0; i < 5; i++) {
        size_t n = 0;
        OK(om_queue_claim(f->q, types, 1, workers[i], 60000, &jobs[i], 1, &n));
        assert_int_equal(n, 1);
    }
    /* job 4 was acked by its (live) worker before the check: nothing to reclaim there */
    OK(om_queue_ack(f->q, &jobs[4]));
    int calls = 0;
    size_t reclaimed = 0;
    OK(om_queue_reclaim_dead(f->q, "hostA", test_alive, &calls, &reclaimed));
    assert_int_equal(reclaimed, 1); /* hostA:4000001 only, long before its 60 s lease ends */
    assert_int_equal(calls, 2);     /* asked about hostA's workers, never another host's */
    for (int i = 0; i < 5; i++) {
        om_job g;
        OK(om_queue_get(f->q, jobs[i].id, &g));
        const char *want = i == 0 ? "ready" : i == 4 ? "done" : "leased";
        if (strcmp(g.state, want))
            fail_msg("job %d (worker %s): state %s, want %s", i, workers[i], g.state, want);
        if (i == 0) {
            assert_int_equal(g.lease_expiries, 1);
            check_errors(g.errors, 1, (const int[]){1},
                         (const char *const[]){"~lease expired (worker hostA:4000001)"});
        }
        om_job_release(&g);
    }
    /* the reclaimed job is claimable at once; its old token is fenced out */
    om_job again;
    claim1(f, "t", 60000, &again);
    assert_string_equal(again.id, jobs[0].id);
    assert_int_equal(om_queue_ack(f->q, &jobs[0]), OM_ESTALE);
    /* a second pass finds nothing: the new lease belongs to a live worker ("w1") */
    OK(om_queue_reclaim_dead(f->q, "hostA", test_alive, &calls, &reclaimed));
    assert_int_equal(reclaimed, 0);
    om_job_release(&again);
    for (int i = 0; i < 5; i++)
        om_job_release(&jobs[i]);
}

static void test_retry_and_purge(void **state)
{
    fx *f = *state;
    char d[OM_UUID_LEN];
    enq(f, "t", 7, 0, "key-d", NULL, d);
    om_job j;
    claim1(f, "t", 30000, &j);
    OK(om_queue_fail(f->q, &j, "nope", 1, NULL));
    om_job_release(&j);
    assert_int_equal(om_queue_retry(f->q, d), OM_OK);
    om_job g;
    OK(om_queue_get(f->q, d, &g));
    assert_string_equal(g.state, "ready");
    assert_int_equal(g.attempt, 0);
    assert_int_equal(g.lease_expiries, 0);
    assert_int_equal(g.priority, 7);
    check_errors(g.errors, 1, (const int[]){1}, (const char *const[]){"nope"}); /* kept */
    om_job_release(&g);
    assert_int_equal(om_queue_retry(f->q, d), OM_EINVAL); /* not dead */
    char other[OM_UUID_LEN];
    assert_int_equal(om_queue_retry(f->q, om_uuid4(other)), OM_ENOTFOUND);
    claim1(f, "t", 30000, &j);
    assert_string_equal(j.id, d);
    assert_int_equal(j.attempt, 1);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);

    /* purge: 2 done (d + one more), 1 dead, 3 ready, 1 delayed */
    char x[OM_UUID_LEN];
    enq(f, "t", 5, 0, NULL, NULL, x);
    claim1(f, "t", 30000, &j);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);
    enq(f, "t", 5, 0, NULL, NULL, x);
    claim1(f, "t", 30000, &j);
    OK(om_queue_bury(f->q, &j, "x"));
    om_job_release(&j);
    for (int i = 0; i < 3; i++)
        enq(f, "t", 5, 0, NULL, NULL, x);
    enq(f, "s", 5, 0, NULL, NULL, x);
    enq(f, "t", 5, 60000, NULL, NULL, x);
    size_t n = 0;
    OK(om_queue_purge(f->q, "done", &n));
    assert_int_equal(n, 2);
    assert_int_equal(om_queue_get(f->q, d, &g), OM_ENOTFOUND);
    OK(om_queue_purge(f->q, "ready", &n));
    assert_int_equal(n, 4); /* both types */
    om_queue_stat st = stat_of(f, "t");
    assert_int_equal(st.ready, 0);
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.dead, 1);
    assert_int_equal(st.done, 0);
    OK(om_queue_purge(f->q, "delayed", &n));
    assert_int_equal(n, 1);
    OK(om_queue_purge(f->q, "dead", &n));
    assert_int_equal(n, 1);
    OK(om_queue_purge(f->q, "dead", &n));
    assert_int_equal(n, 0);
    /* purging frees the unique key */
    char again[OM_UUID_LEN];
    enq(f, "t", 5, 0, "key-d", NULL, again);
    assert_string_not_equal(again, d);
}

static void test_list_get_stats(void **state)
{
    fx *f = *state;
    char a1[OM_UUID_LEN], a2[OM_UUID_LEN], a3[OM_UUID_LEN], b1[OM_UUID_LEN], b2[OM_UUID_LEN];
    int64_t t0 = om_now_us();
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = "alpha";
    s.priority = 3;
    s.payload = "{\"k\": [1, 2, {\"x\": \"y\"}]}";
    s.unique_key = "alpha:1";
    s.max_attempts = 7;
    OK(om_queue_enqueue(f->q, &s, a1, NULL));
    enq(f, "alpha", 5, 0, NULL, NULL, a2);
    enq(f, "alpha", 5, 60000, NULL, NULL, a3);
    enq(f, "beta", 5, 0, NULL, NULL, b1);
    enq(f, "beta", 5, 0, NULL, NULL, b2);
    om_job j;
    claim1(f, "beta", 30000, &j);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);

    OK(om_queue_get(f->q, a1, &j));
    assert_string_equal(j.id, a1);
    assert_string_equal(j.type, "alpha");
    assert_string_equal(j.state, "ready");
    assert_int_equal(j.priority, 3);
    assert_int_equal(j.max_attempts, 7);
    assert_int_equal(j.attempt, 0);
    assert_int_equal(j.token, 0);
    assert_string_equal(j.unique_key, "alpha:1");
    assert_null(j.worker);
    assert_string_equal(j.errors, "[]");
    json_t *want = json_loads(s.payload, 0, NULL), *got = json_loads(j.payload, 0, NULL);
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);
    assert_true(j.created_us >= t0 - 5000 && j.created_us <= om_now_us() + 5000);
    assert_true(j.updated_us >= j.created_us);
    om_job_release(&j);
    OK(om_queue_get(f->q, a2, &j));
    assert_int_equal(j.max_attempts, OM_MAX_ATTEMPTS_DEFAULT);
    assert_null(j.unique_key);
    om_job_release(&j);

    om_job_list l;
    om_queue_filter flt = {"ready", "alpha", 0};
    OK(om_queue_list(f->q, &flt, &l));
    assert_int_equal(l.n, 2);
    int seen1 = 0, seen2 = 0;
    for (size_t i = 0; i < l.n; i++) {
        seen1 |= strcmp(l.jobs[i].id, a1) == 0;
        seen2 |= strcmp(l.jobs[i].id, a2) == 0;
        assert_string_equal(l.jobs[i].state, "ready");
    }
    assert_true(seen1 && seen2);
    om_job_list_free(&l);
    om_queue_filter all = {NULL, NULL, 0};
    OK(om_queue_list(f->q, &all, &l));
    assert_int_equal(l.n, 5);
    om_job_list_free(&l);
    om_queue_filter lim = {NULL, NULL, 3};
    OK(om_queue_list(f->q, &lim, &l));
    assert_int_equal(l.n, 3);
    om_job_list_free(&l);
    om_queue_filter done = {"done", NULL, 0};
    OK(om_queue_list(f->q, &done, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.jobs[0].id, b1);
    assert_string_equal(l.jobs[0].state, "done");
    om_job_list_free(&l);

    om_queue_stat *v = NULL;
    size_t n = 0;
    OK(om_queue_stats(f->q, &v, &n));
    assert_int_equal(n, 2);
    assert_string_equal(v[0].type, "alpha");
    assert_int_equal(v[0].ready, 2);
    assert_int_equal(v[0].delayed, 1);
    assert_int_equal(v[0].leased + v[0].done + v[0].dead, 0);
    assert_string_equal(v[1].type, "beta");
    assert_int_equal(v[1].ready, 1);
    assert_int_equal(v[1].done, 1);
    free(v);
}

static void test_batch_enqueue_ack(void **state)
{
    fx *f = *state;
    enum { N = 25 };
    om_job_spec specs[N];
    char ids[N][OM_UUID_LEN];
    for (int i = 0; i < N; i++) {
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = "b";
        specs[i] = s;
    }
    OK(om_queue_enqueue_batch(f->q, specs, N, ids));
    for (int i = 0; i < N; i++)
        assert_true(om_uuid_valid(ids[i]));
    om_job jobs[10];
    size_t n = claim_n(f, "b", 30000, jobs, 10);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(jobs[i].id, ids[i]);
    size_t acked = 0;
    OK(om_queue_ack_batch(f->q, jobs, n, &acked));
    assert_int_equal(acked, 10);
    assert_int_equal(om_queue_ack_batch(f->q, jobs, n, &acked), OM_ESTALE);
    assert_int_equal(acked, 0);
    for (size_t i = 0; i < n; i++)
        om_job_release(&jobs[i]);
    /* one stale among valid ones: the valid ones are acked, the call says ESTALE */
    n = claim_n(f, "b", 30000, jobs, 3);
    assert_int_equal(n, 3);
    jobs[1].token += 1000;
    assert_int_equal(om_queue_ack_batch(f->q, jobs, 3, &acked), OM_ESTALE);
    assert_int_equal(acked, 2);
    get_state(f, jobs[0].id, "done");
    get_state(f, jobs[1].id, "leased");
    get_state(f, jobs[2].id, "done");
    for (size_t i = 0; i < n; i++)
        om_job_release(&jobs[i]);
    om_queue_stat st = stat_of(f, "b");
    assert_int_equal(st.done, 12);
    assert_int_equal(st.leased, 1);
    assert_int_equal(st.ready, 12);
}

/* ---- store transactions and the outbox ---- */

static int64_t count_rows(fx *f, const char *sql)
{
    char *v = NULL;
    OK(om_store_query_value(f->store, sql, NULL, 0, &v));
    int64_t n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static void tx_enqueue(fx *f, const char *type, const char *ukey, int commit,
                       char id[OM_UUID_LEN])
{
    char iid[OM_UUID_LEN];
    OK(om_store_begin(f->store));
    /* the stage's own result row, in the same transaction */
    OK(om_store_exec(f->store,
                     "INSERT INTO incidents (incident_id, kind, severity, message) "
                     "VALUES (?, 'test', 'info', ?)",
                     OM_PARAMS(OM_TEXT(om_uuid4(iid)), OM_TEXT(type)), NULL));
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = type;
    s.unique_key = ukey;
    s.payload = "{\"from\":\"tx\"}";
    OK(om_queue_enqueue_tx(f->q, f->store, &s, id));
    if (commit)
        OK(om_store_commit(f->store));
    else
        OK(om_store_rollback(f->store));
}

static void test_enqueue_tx_commit_rollback(void **state)
{
    fx *f = *state;
    char rolled[OM_UUID_LEN], kept[OM_UUID_LEN];
    tx_enqueue(f, "next", NULL, 0, rolled);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM incidents"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM jobs"), 0);
    size_t relayed = 99;
    OK(om_queue_relay(f->q, &relayed));
    assert_int_equal(relayed, 0);
    om_job j;
    assert_int_equal(om_queue_get(f->q, rolled, &j), OM_ENOTFOUND);
    assert_int_equal(claim_n(f, "next", 1000, &j, 1), 0);

    tx_enqueue(f, "next", NULL, 1, kept);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM incidents"), 1);
    if (IS_REDIS) {
        /* in the outbox until relayed */
        assert_int_equal(om_queue_get(f->q, kept, &j), OM_ENOTFOUND);
        om_job_list l;
        om_queue_filter flt = {"outbox", NULL, 0};
        OK(om_queue_list(f->q, &flt, &l));
        assert_int_equal(l.n, 1);
        assert_string_equal(l.jobs[0].id, kept);
        assert_string_equal(l.jobs[0].state, "outbox");
        om_job_list_free(&l);
        OK(om_queue_relay(f->q, &relayed));
        assert_int_equal(relayed, 1);
    } else {
        OK(om_queue_relay(f->q, &relayed));
        assert_int_equal(relayed, 0);
    }
    claim1(f, "next", 30000, &j);
    assert_string_equal(j.id, kept);
    json_t *p = json_loads(j.payload, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "from")), "tx");
    json_decref(p);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);
}

static void test_relay_idempotent(void **state)
{
    fx *f = *state;
    char a[OM_UUID_LEN], b[OM_UUID_LEN], c[OM_UUID_LEN], a2[OM_UUID_LEN];
    tx_enqueue(f, "r", "r:a", 1, a);
    tx_enqueue(f, "r", NULL, 1, b);
    tx_enqueue(f, "r", NULL, 1, c);
    tx_enqueue(f, "r", "r:a", 1, a2); /* same unique key: the same job, one row */
    assert_string_equal(a, a2);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM jobs"), 3);
    size_t relayed = 0;
    OK(om_queue_relay(f->q, &relayed));
    assert_int_equal(relayed, IS_REDIS ? 3 : 0);
    OK(om_queue_relay(f->q, &relayed));
    assert_int_equal(relayed, 0);
    if (IS_REDIS) {
        assert_int_equal(count_rows(f, "SELECT count(*) FROM jobs WHERE state = 'relayed'"), 3);
        /* a relayer that died after pushing to Redis but before marking the rows */
        OK(om_store_exec(f->store, "UPDATE jobs SET state = 'outbox'", NULL, 0, NULL));
        OK(om_queue_relay(f->q, &relayed));
        assert_int_equal(relayed, 3);
        assert_int_equal(count_rows(f, "SELECT count(*) FROM jobs WHERE state = 'outbox'"), 0);
    }
    assert_int_equal(stat_of(f, "r").ready, 3);
    om_job jobs[10];
    size_t n = claim_n(f, "r", 30000, jobs, 10);
    assert_int_equal(n, 3);
    const char *want[] = {a, b, c};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(jobs[i].id, want[i]); /* same ids, outbox order */
        om_job_release(&jobs[i]);
    }
}

/* Several processes claim concurrently: every job is delivered exactly once (leases are
 * long, nobody dies), and all end done. */
static void test_concurrent_claimers(void **state)
{
    fx *f = *state;
    enum { JOBS = 90, WORKERS = 3 };
    om_job_spec specs[JOBS];
    for (int i = 0; i < JOBS; i++) {
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = "c";
        specs[i] = s;
    }
    char ids[JOBS][OM_UUID_LEN];
    OK(om_queue_enqueue_batch(f->q, specs, JOBS, ids));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            close(fds[0]);
            om_store *st = NULL;
            om_queue *q = NULL;
            if (om_store_open(&st, f->store_url) != OM_OK ||
                om_queue_open(&q, f->queue_url, st) != OM_OK)
                _exit(2);
            const char *types[] = {"c"};
            for (;;) {
                om_job j[2];
                size_t n = 0;
                if (om_queue_claim(q, types, 1, "cw", 60000, j, 1 + (size_t)(w % 2), &n) != OM_OK)
                    _exit(3);
                if (n == 0)
                    break;
                for (size_t i = 0; i < n; i++) {
                    char line[OM_UUID_LEN + 1];
                    memcpy(line, j[i].id, OM_UUID_LEN - 1);
                    line[OM_UUID_LEN - 1] = '\n';
                    if (write(fds[1], line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
                        _exit(4);
                }
                size_t acked = 0;
                if (om_queue_ack_batch(q, j, n, &acked) != OM_OK || acked != n)
                    _exit(5);
                for (size_t i = 0; i < n; i++)
                    om_job_release(&j[i]);
            }
            om_queue_free(q);
            om_store_free(st);
            _exit(0);
        }
    }
    close(fds[1]);
    om_sbuf sb = OM_SBUF_INIT;
    char buf[4096];
    ssize_t r;
    while ((r = read(fds[0], buf, sizeof(buf))) > 0)
        sb_append(&sb, buf, (size_t)r);
    close(fds[0]);
    for (int w = 0; w < WORKERS; w++) {
        int status = 0;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(sb.len, (size_t)JOBS * OM_UUID_LEN);
    for (int i = 0; i < JOBS; i++) {
        int count = 0;
        for (const char *p = sb_str(&sb); (p = strstr(p, ids[i])) != NULL; p++)
            count++;
        assert_int_equal(count, 1);
    }
    sb_release(&sb);
    om_queue_stat st = stat_of(f, "c");
    assert_int_equal(st.done, JOBS);
    assert_int_equal(st.ready + st.leased, 0);
}

/* om_queue_wait: an idle claimer is woken by an enqueue from another process (a job
 * process of another worker), well before its timeout; with nothing coming it waits out the
 * timeout; work enqueued between a claim that found nothing and the wait is not missed. */
static void test_wait_wakes_on_enqueue(void **state)
{
    fx *f = *state;
    const char *types[] = {"w1", "w2"};
    om_job j;
    size_t n = 0;
    OK(om_queue_claim(f->q, types, 2, "waiter", 60000, &j, 1, &n));
    assert_int_equal(n, 0);
    /* nothing comes: the whole timeout passes */
    int64_t t0 = om_mono_ms();
    OK(om_queue_wait(f->q, types, 2, 400));
    int64_t waited = om_mono_ms() - t0;
    assert_true(waited >= 350);
    assert_true(waited < 3000);

    /* another process enqueues after 300 ms (Redis: straight into the queue; SQLite: a
     * commit of another connection, as a job process's follow-up is) */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        om_sleep_ms(300);
        om_store *st = NULL;
        om_queue *q = NULL;
        if (om_store_open(&st, f->store_url) != OM_OK ||
            om_queue_open(&q, f->queue_url, st) != OM_OK)
            _exit(2);
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = "w2";
        char id[OM_UUID_LEN];
        int rc = om_queue_enqueue(q, &s, id, NULL);
        om_queue_free(q);
        om_store_free(st);
        _exit(rc == OM_OK ? 0 : 3);
    }
    t0 = om_mono_ms();
    int64_t woke = 0;
    while (om_mono_ms() - t0 < 8000) { /* spurious wake-ups are allowed: claim and go on */
        OK(om_queue_wait(f->q, types, 2, 5000));
        OK(om_queue_claim(f->q, types, 2, "waiter", 60000, &j, 1, &n));
        if (n) {
            woke = om_mono_ms() - t0;
            break;
        }
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(n, 1);
    assert_string_equal(j.type, "w2");
    assert_true(woke >= 250);
    assert_true(woke < 2500); /* not the 5 s timeout */
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);

    /* an enqueue after an empty claim and before the wait: the wait returns at once */
    OK(om_queue_claim(f->q, types, 2, "waiter", 60000, &j, 1, &n));
    assert_int_equal(n, 0);
    om_store *st2 = NULL;
    om_queue *q2 = NULL;
    OK(om_store_open(&st2, f->store_url));
    OK(om_queue_open(&q2, f->queue_url, st2));
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = "w1";
    char id[OM_UUID_LEN];
    OK(om_queue_enqueue(q2, &s, id, NULL));
    t0 = om_mono_ms();
    OK(om_queue_wait(f->q, types, 2, 5000));
    assert_true(om_mono_ms() - t0 < 2500);
    OK(om_queue_claim(f->q, types, 2, "waiter", 60000, &j, 1, &n));
    assert_int_equal(n, 1);
    assert_string_equal(j.id, id);
    om_job_release(&j);
    om_queue_free(q2);
    om_store_free(st2);
}

/* A forked child must open its own queue: the inherited handle refuses work, and freeing
 * it in the child leaves the parent's connection working. */
static void test_fork_guard(void **state)
{
    fx *f = *state;
    char id[OM_UUID_LEN];
    enq(f, "t", 5, 0, NULL, NULL, id);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        om_job j;
        size_t n = 0;
        const char *types[] = {"t"};
        int rc = om_queue_claim(f->q, types, 1, "child", 1000, &j, 1, &n);
        int ok = rc == OM_ERROR && strstr(om_error_msg(), "forked") != NULL && n == 0;
        om_queue_free(f->q);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    om_job j;
    claim1(f, "t", 30000, &j);
    assert_string_equal(j.id, id);
    OK(om_queue_ack(f->q, &j));
    om_job_release(&j);
}

/* ---- Redis only ---- */

/* A paused type is not claimed; once its probe is due ONE job goes out as the probe (its id
 * recorded), nothing more until the probe is rescheduled or the type resumed. */
static void test_pause_type_and_probe(void **state)
{
    fx *f = *state;
    char a1[OM_UUID_LEN], a2[OM_UUID_LEN], a3[OM_UUID_LEN], b1[OM_UUID_LEN];
    enq(f, "pa", 5, 0, NULL, NULL, a1);
    enq(f, "pa", 5, 0, NULL, NULL, a2);
    enq(f, "pa", 5, 0, NULL, NULL, a3);
    enq(f, "pb", 5, 0, NULL, NULL, b1);
    OK(om_queue_pause(f->q, "pa", "failure rate 90%", 3600 * 1000));
    om_queue_pause_info *p = NULL;
    size_t np = 0;
    OK(om_queue_pauses(f->q, &p, &np));
    assert_int_equal(np, 1);
    assert_string_equal(p[0].type, "pa");
    assert_string_equal(p[0].reason, "failure rate 90%");
    assert_string_equal(p[0].probe_job_id, "");
    assert_true(p[0].probe_at_us > om_now_us() + 3500 * 1000000LL);
    om_queue_pauses_free(p, np);

    /* paused, probe not due: only the other type comes */
    const char *types[] = {"pa", "pb"};
    om_job jobs[4];
    size_t n = 99;
    OK(om_queue_claim(f->q, types, 2, "w1", 30000, jobs, 4, &n));
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].id, b1);
    om_job_release(&jobs[0]);
    assert_int_equal(claim_n(f, "pa", 30000, jobs, 4), 0);

    /* the probe is due: one job, recorded; no second one while it is out */
    OK(om_queue_pause_reprobe(f->q, "pa", 0));
    assert_int_equal(claim_n(f, "pa", 30000, jobs, 4), 1);
    assert_string_equal(jobs[0].id, a1);
    OK(om_queue_pauses(f->q, &p, &np));
    assert_int_equal(np, 1);
    assert_string_equal(p[0].probe_job_id, a1);
    assert_int_equal(p[0].probes, 1);
    om_queue_pauses_free(p, np);
    assert_int_equal(claim_n(f, "pa", 30000, &jobs[1], 3), 0);
    OK(om_queue_ack(f->q, &jobs[0]));
    om_job_release(&jobs[0]);
    get_state(f, a2, "ready");

    /* pausing again keeps the probe on record; resume frees the type */
    OK(om_queue_pause(f->q, "pa", "still failing", 3600 * 1000));
    OK(om_queue_pauses(f->q, &p, &np));
    assert_string_equal(p[0].probe_job_id, a1);
    assert_string_equal(p[0].reason, "still failing");
    om_queue_pauses_free(p, np);
    OK(om_queue_resume(f->q, "pa"));
    assert_int_equal(om_queue_resume(f->q, "pa"), OM_ENOTFOUND);
    assert_int_equal(om_queue_pause_reprobe(f->q, "pa", 0), OM_ENOTFOUND);
    om_error_clear();
    assert_int_equal(claim_n(f, "pa", 30000, jobs, 4), 2);
    om_job_release(&jobs[0]);
    om_job_release(&jobs[1]);

    /* a due probe with nothing to claim gives its reservation back */
    OK(om_queue_pause(f->q, "pc", "empty", 0));
    assert_int_equal(claim_n(f, "pc", 30000, jobs, 4), 0);
    OK(om_queue_pauses(f->q, &p, &np));
    assert_int_equal(np, 1);
    assert_string_equal(p[0].probe_job_id, "");
    om_queue_pauses_free(p, np);
    assert_int_equal(om_queue_pause(f->q, "Bad Type", "x", 0), OM_EINVAL);
    om_error_clear();
}

static void test_redis_restart_loses_nothing(void **state)
{
    fx *f = *state;
    if (!IS_REDIS)
        skip();
    enum { N = 50 };
    om_job_spec specs[N];
    char ids[N][OM_UUID_LEN];
    for (int i = 0; i < N; i++) {
        om_job_spec s = OM_JOB_SPEC_INIT;
        s.type = "rs";
        specs[i] = s;
    }
    OK(om_queue_enqueue_batch(f->q, specs, N, ids));
    om_job held[10];
    assert_int_equal(claim_n(f, "rs", 60000, held, 10), 10);
    assert_int_equal(harness_redis_restart(&g_redis), 0);
    /* the first call may find the old connection dead: EUNAVAIL, then it reconnects */
    om_queue_stat *v = NULL;
    size_t n = 0;
    int rc = om_queue_stats(f->q, &v, &n);
    if (rc == OM_EUNAVAIL) {
        assert_non_null(strstr(om_error_msg(), "reconnect"));
        OK(om_queue_stats(f->q, &v, &n));
    } else {
        OK(rc);
    }
    assert_int_equal(n, 1);
    assert_int_equal(v[0].ready, N - 10);
    assert_int_equal(v[0].leased, 10);
    free(v);
    size_t acked = 0;
    OK(om_queue_ack_batch(f->q, held, 10, &acked)); /* tokens survived */
    assert_int_equal(acked, 10);
    om_job rest[N];
    size_t got = claim_n(f, "rs", 60000, rest, N);
    assert_int_equal(got, N - 10);
    for (size_t i = 0; i < got; i++)
        assert_string_equal(rest[i].id, ids[10 + i]);
    /* a restart while jobs are leased and a new claim comes */
    assert_int_equal(harness_redis_restart(&g_redis), 0);
    rc = om_queue_ack_batch(f->q, rest, got, &acked);
    if (rc == OM_EUNAVAIL)
        rc = om_queue_ack_batch(f->q, rest, got, &acked);
    OK(rc);
    assert_int_equal(acked, got);
    assert_int_equal(stat_of(f, "rs").done, N);
    for (int i = 0; i < 10; i++)
        om_job_release(&held[i]);
    for (size_t i = 0; i < got; i++)
        om_job_release(&rest[i]);
}

static void test_redis_unreachable(void **state)
{
    fx *f = *state;
    if (!IS_REDIS)
        skip();
    /* nothing listening */
    int port = harness_free_port();
    char url[128];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    om_queue *q = NULL;
    assert_int_equal(om_queue_open(&q, url, f->store), OM_EUNAVAIL);
    char where[64];
    snprintf(where, sizeof(where), "127.0.0.1:%d", port);
    assert_non_null(strstr(om_error_msg(), where));
    assert_non_null(strstr(om_error_msg(), "cannot connect"));
    assert_null(q);

    /* a server that goes away mid-run, then comes back */
    harness_redis r2;
    assert_int_equal(harness_redis_start(&r2), 0);
    OK(om_queue_open(&q, r2.url, f->store));
    char id[OM_UUID_LEN];
    om_job_spec s = OM_JOB_SPEC_INIT;
    s.type = "t";
    OK(om_queue_enqueue(q, &s, id, NULL));
    pid_t pid = r2.pid;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    r2.pid = 0;
    const char *types[] = {"t"};
    om_job j;
    size_t n;
    assert_int_equal(om_queue_claim(q, types, 1, "w", 1000, &j, 1, &n), OM_EUNAVAIL);
    snprintf(where, sizeof(where), "127.0.0.1:%d", r2.port);
    assert_non_null(strstr(om_error_msg(), where));
    assert_int_equal(om_queue_claim(q, types, 1, "w", 1000, &j, 1, &n), OM_EUNAVAIL);
    assert_non_null(strstr(om_error_msg(), "cannot connect"));
    assert_int_equal(harness_redis_restart(&r2), 0);
    OK(om_queue_claim(q, types, 1, "w", 1000, &j, 1, &n));
    assert_int_equal(n, 1);
    assert_string_equal(j.id, id);
    om_job_release(&j);
    om_queue_free(q);
    harness_redis_stop(&r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_policy),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test_setup_teardown(test_open_and_spec_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_and_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_preference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_fencing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_extends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_retry_then_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_and_bury, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reap_buries_after_three_expiries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reclaim_dead_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_get_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_enqueue_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_tx_commit_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claimers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_type_and_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_wakes_on_enqueue, setup, teardown),
    };
    const char *name = QUEUE_VARIANT == 1   ? "queue/sqlite"
                       : QUEUE_VARIANT == 2 ? "queue/redis+sqlite-outbox"
                                            : "queue/redis+postgres-outbox";
    return cmocka_run_group_tests_name(name, tests, group_setup, group_teardown);
}
