/*
 * test_rescrape.c: the periodic re-scrape stage through omniva_stages: one scrape job per
 * (project, creator) link per time bucket and one delayed successor, idempotent when run
 * again or re-delivered in the same bucket, a fresh bucket scrapes again, `once` enqueues no
 * successor, and a bad interval is a clear error.
 */
#include "fixture.h"

#include "base/fsutil.h"
#include "base/timeutil.h"
#include "stages/projects.h"
#include "stages/stages.h"

extern const om_stage om_stage_rescrape;

static char c1[OM_UUID_LEN], c2[OM_UUID_LEN];

static int setup(void **state)
{
    (void)state;
    if (fx_open("rescrape", 0, NULL) != 0)
        return -1;
    char *a = xasprintf("file://%s/a", FX.home), *b = xasprintf("file://%s/b", FX.home);
    char *da = xasprintf("%s/a", FX.home), *db = xasprintf("%s/b", FX.home);
    om_mkdirs(da, 0755);
    om_mkdirs(db, 0755);
    int rc = om_creator_add(FX.st, FX.project, a, c1);
    if (rc == OM_OK)
        rc = om_creator_add(FX.st, FX.project, b, c2);
    if (rc)
        fprintf(stderr, "creator add: %s\n", om_error_msg());
    free(a);
    free(b);
    free(da);
    free(db);
    return rc == OM_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fx_close();
    return 0;
}

static int64_t jobs(const char *type)
{
    return fx_count("SELECT count(*) FROM jobs WHERE type = ?", FX_TEXT1(type));
}

/* The bucket a run now would use, stable for the next `margin_s` seconds (waits otherwise),
 * so a test never straddles a bucket boundary. */
static int64_t settle_bucket(int64_t interval, int64_t margin_s)
{
    for (;;) {
        int64_t now = om_now_us();
        int64_t b = om_rescrape_bucket(now, interval);
        if (om_rescrape_bucket(now + margin_s * 1000000, interval) == b)
            return b;
        om_sleep_ms(250);
    }
}

static void test_one_scrape_per_creator_per_bucket(void **state)
{
    (void)state;
    int64_t bucket = settle_bucket(3600, 30);
    json_t *p = json_pack("{s:i}", "interval_s", 3600);
    json_t *res = NULL;
    assert_int_equal(run_stage(&om_stage_rescrape, p, &res), OM_OK);
    assert_int_equal(json_integer_value(json_object_get(res, "scrapes")), 2);
    json_decref(res);
    assert_int_equal(jobs("scrape"), 2);
    /* each creator once, keyed by the bucket, with its project */
    char *key = xasprintf("scrape:%s:%s:%lld", FX.project, c1, (long long)bucket);
    assert_int_equal(fx_count("SELECT count(*) FROM jobs WHERE type = 'scrape' AND unique_key = ?",
                              FX_TEXT1(key)),
                     1);
    free(key);
    /* the successor: one rescrape job, delayed to the next bucket */
    char *next = xasprintf("rescrape:%lld", (long long)bucket + 1);
    assert_int_equal(fx_count("SELECT count(*) FROM jobs WHERE type = 'rescrape' AND "
                              "unique_key = ?",
                              FX_TEXT1(next)),
                     1);
    free(next);

    /* a re-delivery of the same job, and another rescrape in the same bucket: nothing new */
    assert_int_equal(rerun_last(&om_stage_rescrape, p, NULL), OM_OK);
    assert_int_equal(run_stage(&om_stage_rescrape, p, NULL), OM_OK);
    assert_int_equal(jobs("scrape"), 2);
    assert_int_equal(jobs("rescrape"), 1);
    json_decref(p);
}

static void test_new_bucket_scrapes_again(void **state)
{
    (void)state;
    int64_t before = jobs("scrape");
    /* a 10 s interval: wait for a bucket no other run used */
    settle_bucket(10, 0);
    int64_t b0 = om_rescrape_bucket(om_now_us(), 10);
    while (om_rescrape_bucket(om_now_us(), 10) == b0)
        om_sleep_ms(200);
    settle_bucket(10, 3);
    json_t *p = json_pack("{s:i, s:b}", "interval_s", 10, "once", 1);
    assert_int_equal(run_stage(&om_stage_rescrape, p, NULL), OM_OK);
    assert_int_equal(jobs("scrape"), before + 2);
    /* once: no successor of this interval */
    assert_int_equal(fx_count("SELECT count(*) FROM jobs WHERE type = 'rescrape' AND payload "
                              "LIKE '%\"interval_s\":10%'",
                              NULL, 0),
                     0);
    json_decref(p);
}

static void test_bad_interval(void **state)
{
    (void)state;
    int64_t before = jobs("scrape");
    json_t *p = json_pack("{s:i}", "interval_s", 3);
    assert_int_equal(run_stage(&om_stage_rescrape, p, NULL), OM_EINVAL);
    fx_assert_error("interval_s must be at least 10 (got 3)");
    assert_int_equal(jobs("scrape"), before);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_scrape_per_creator_per_bucket),
        cmocka_unit_test(test_new_bucket_scrapes_again),
        cmocka_unit_test(test_bad_interval),
    };
    return cmocka_run_group_tests_name("rescrape stage", tests, setup, teardown);
}
