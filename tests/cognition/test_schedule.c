/* test_schedule.c: time zones (TZif + POSIX rules against glibc, DST gaps and overlaps),
 * Horizon rules (quiet hours across midnight, minimum gap, posts per local day), the Oracle
 * (prior vs history) and Zenith's slot choice, data-driven from
 * tests/cognition/data/zenith (one JSON file per case per file: inputs and the expected choice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <time.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "cognition/scheduling.h"
#include "cognition/tz.h"
#include "harness/harness.h"

static int64_t iso(const char *s)
{
    int64_t us;
    assert_int_equal(om_time_parse(s, &us), OM_OK);
    return us / 1000000;
}

/* glibc's view of utc_s in zone `name` (this test process is single-threaded). */
static void glibc_local(const char *name, int64_t utc_s, struct tm *out)
{
    setenv("TZ", name, 1);
    tzset();
    time_t t = (time_t)utc_s;
    localtime_r(&t, out);
}

static void compare_with_glibc(const char *name, const om_tz *tz, int64_t t)
{
    struct tm g;
    glibc_local(name, t, &g);
    om_local_time l;
    om_tz_local(tz, t, &l);
    if (l.year != g.tm_year + 1900 || l.mon != g.tm_mon + 1 || l.mday != g.tm_mday ||
        l.hour != g.tm_hour || l.min != g.tm_min || l.sec != g.tm_sec ||
        l.wday != g.tm_wday || l.yday != g.tm_yday || l.utc_offset_s != g.tm_gmtoff ||
        strcmp(l.abbr, g.tm_zone))
        fail_msg("%s at %lld: ours %04d-%02d-%02d %02d:%02d:%02d %+d %s, glibc "
                 "%04d-%02d-%02d %02d:%02d:%02d %+ld %s",
                 name, (long long)t, l.year, l.mon, l.mday, l.hour, l.min, l.sec,
                 l.utc_offset_s, l.abbr, g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour,
                 g.tm_min, g.tm_sec, g.tm_gmtoff, g.tm_zone);
}

static const char *zones[] = {"UTC",           "Europe/Berlin",    "America/New_York",
                              "Australia/Sydney", "Asia/Kolkata",   "America/St_Johns",
                              "Pacific/Chatham", "Europe/Dublin",   "America/Sao_Paulo",
                              "Asia/Tehran",   "Africa/Casablanca", "Pacific/Auckland"};

static void test_tz_matches_glibc(void **state)
{
    (void)state;
    /* every zone, every 7h13m from 1995 to 2055 (past the fat files' 2037 end: the POSIX
     * footer rule takes over), and the minutes around each local midnight */
    for (size_t z = 0; z < OM_ARRAY_LEN(zones); z++) {
        om_tz *tz;
        assert_int_equal(om_tz_load(zones[z], &tz), OM_OK);
        for (int64_t t = iso("1995-01-01T00:00:00Z"); t < iso("2055-01-01T00:00:00Z");
             t += 7 * 3600 + 13 * 60 + 7)
            compare_with_glibc(zones[z], tz, t);
        om_tz_free(tz);
    }
    unsetenv("TZ");
    tzset();
}

static void test_tz_footer_rules_slim(void **state)
{
    (void)state;
    /* A "slim" TZif v2 file: no transitions, only the footer rule. Berlin's and Sydney's
     * rules must then reproduce glibc's answers for the real zones. */
    char *dir = harness_tmpdir("tz");
    struct {
        const char *file, *rule, *real;
    } cases[] = {{"SlimBerlin", "CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin"},
                 {"SlimSydney", "AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney"},
                 {"SlimKolkata", "IST-5:30", "Asia/Kolkata"},
                 {"SlimNewYork", "EST5EDT,M3.2.0,M11.1.0", "America/New_York"}};
    for (size_t c = 0; c < OM_ARRAY_LEN(cases); c++) {
        unsigned char buf[256];
        size_t n = 0;
        /* header v2, all counts 0 except typecnt 1, charcnt 4; v1 block; v2 header+block */
        for (int round = 0; round < 2; round++) {
            memcpy(buf + n, "TZif2", 5);
            memset(buf + n + 5, 0, 39);
            buf[n + 39] = 1; /* typecnt */
            buf[n + 43] = 4; /* charcnt */
            n += 44;
            memset(buf + n, 0, 6); /* utoff 0, isdst 0, abbrind 0 */
            n += 6;
            memcpy(buf + n, "LMT", 4);
            n += 4;
        }
        int len = snprintf((char *)buf + n, sizeof(buf) - n, "\n%s\n", cases[c].rule);
        n += (size_t)len;
        char *path = xasprintf("%s/%s", dir, cases[c].file);
        assert_int_equal(om_write_file_atomic(path, buf, n), OM_OK);
        free(path);
        setenv("TZDIR", dir, 1);
        om_tz *tz;
        assert_int_equal(om_tz_load(cases[c].file, &tz), OM_OK);
        unsetenv("TZDIR");
        for (int64_t t = iso("2024-01-01T00:00:00Z"); t < iso("2031-01-01T00:00:00Z");
             t += 5 * 3600 + 17 * 60) {
            struct tm g;
            glibc_local(cases[c].real, t, &g);
            om_local_time l;
            om_tz_local(tz, t, &l);
            if (l.hour != g.tm_hour || l.min != g.tm_min || l.mday != g.tm_mday ||
                l.utc_offset_s != g.tm_gmtoff || l.is_dst != (g.tm_isdst > 0))
                fail_msg("%s at %lld: ours %02d:%02d %+d, glibc %02d:%02d %+ld", cases[c].rule,
                         (long long)t, l.hour, l.min, l.utc_offset_s, g.tm_hour, g.tm_min,
                         g.tm_gmtoff);
        }
        om_tz_free(tz);
    }
    unsetenv("TZ");
    tzset();
    om_rmtree(dir);
    free(dir);
}

static void test_tz_to_utc_dst(void **state)
{
    (void)state;
    om_tz *be, *ny;
    assert_int_equal(om_tz_load("Europe/Berlin", &be), OM_OK);
    assert_int_equal(om_tz_load("America/New_York", &ny), OM_OK);
    /* plain */
    assert_true(om_tz_to_utc(be, 2026, 11, 22, 19, 0, 0) == iso("2026-11-22T18:00:00Z"));
    assert_true(om_tz_to_utc(be, 2026, 7, 1, 19, 0, 0) == iso("2026-07-01T17:00:00Z"));
    /* spring-forward gap: 02:30 does not exist; it lands at 03:30 CEST */
    assert_true(om_tz_to_utc(be, 2026, 3, 29, 2, 30, 0) == iso("2026-03-29T01:30:00Z"));
    assert_true(om_tz_to_utc(ny, 2026, 3, 8, 2, 30, 0) == iso("2026-03-08T07:30:00Z"));
    /* fall-back overlap: 02:30 happens twice; the earlier (summer time) instant */
    assert_true(om_tz_to_utc(be, 2026, 10, 25, 2, 30, 0) == iso("2026-10-25T00:30:00Z"));
    assert_true(om_tz_to_utc(ny, 2026, 11, 1, 1, 30, 0) == iso("2026-11-01T05:30:00Z"));
    /* normalisation: hour 25 of Nov 30 is Dec 1 01:00 */
    assert_true(om_tz_to_utc(be, 2026, 11, 30, 25, 0, 0) == iso("2026-12-01T00:00:00Z"));
    assert_true(om_tz_to_utc(be, 2026, 13, 1, 0, 0, 0) == iso("2026-12-31T23:00:00Z"));
    /* round trip every 45 minutes through two years, both zones */
    for (int64_t t = iso("2026-01-01T00:00:00Z"); t < iso("2028-01-01T00:00:00Z"); t += 2700) {
        om_tz *zs[] = {be, ny};
        for (int k = 0; k < 2; k++) {
            om_local_time l;
            om_tz_local(zs[k], t, &l);
            int64_t back = om_tz_to_utc(zs[k], l.year, l.mon, l.mday, l.hour, l.min, l.sec);
            /* equal except in the repeated hour, where the earlier instant is chosen */
            assert_true(back == t || (back == t - 3600 && !l.is_dst));
        }
    }
    om_local_time lt;
    om_tz_local(be, iso("2026-11-23T00:30:00Z"), &lt); /* Monday 01:30 CET */
    assert_int_equal(om_tz_hour_of_week(&lt), 1);
    om_tz_local(be, iso("2026-11-22T22:30:00Z"), &lt); /* Sunday 23:30 CET */
    assert_int_equal(om_tz_hour_of_week(&lt), 167);
    char buf[64];
    om_tz_format(be, iso("2026-07-01T17:00:00Z"), buf, sizeof(buf));
    assert_string_equal(buf, "2026-07-01 19:00 CEST");
    om_tz_free(be);
    om_tz_free(ny);
}

static void test_tz_bad_names(void **state)
{
    (void)state;
    om_tz *tz = NULL;
    assert_int_equal(om_tz_load("../../etc/passwd", &tz), OM_EINVAL);
    assert_null(tz);
    assert_int_equal(om_tz_load("Europe/Ber lin", &tz), OM_EINVAL);
    assert_int_equal(om_tz_load("Nowhere/Atlantis", &tz), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "Nowhere/Atlantis"));
    assert_int_equal(om_tz_load("", &tz), OM_OK); /* UTC */
    assert_string_equal(om_tz_name(tz), "UTC");
    assert_int_equal(om_tz_offset(tz, 1800000000), 0);
    om_tz_free(tz);
}

/* ---- Horizon ---- */

static void test_horizon_quiet_hours_midnight(void **state)
{
    (void)state;
    om_horizon_rules r = {0, 0, 23, 7};
    int quiet[] = {23, 0, 1, 6};
    int open[] = {7, 12, 22};
    for (size_t i = 0; i < OM_ARRAY_LEN(quiet); i++)
        assert_true(om_horizon_is_quiet(&r, quiet[i]));
    for (size_t i = 0; i < OM_ARRAY_LEN(open); i++)
        assert_false(om_horizon_is_quiet(&r, open[i]));
    om_horizon_rules day = {0, 0, 1, 5};
    assert_true(om_horizon_is_quiet(&day, 1) && om_horizon_is_quiet(&day, 4));
    assert_false(om_horizon_is_quiet(&day, 5) || om_horizon_is_quiet(&day, 0));
    om_horizon_rules none = {0, 0, 8, 8};
    for (int h = 0; h < 24; h++)
        assert_false(om_horizon_is_quiet(&none, h));

    /* quiet hours are local: 23:30 UTC is 18:30 in New York (allowed), 00:30 in Berlin
     * (quiet) */
    om_tz *ny, *be;
    om_tz_load("America/New_York", &ny);
    om_tz_load("Europe/Berlin", &be);
    int64_t t = iso("2026-11-23T23:30:00Z");
    json_t *why = json_array();
    assert_true(om_horizon_allows(&r, ny, NULL, 0, t, why));
    assert_false(om_horizon_allows(&r, be, NULL, 0, t, why));
    assert_non_null(strstr(json_string_value(json_array_get(why, 0)), "quiet hours 23:00-07:00"));
    json_decref(why);

    /* brand JSON */
    json_t *brand = json_pack("{s:i,s:i,s:{s:i,s:i}}", "posts_per_day", 2, "min_gap_minutes",
                              90, "quiet_hours", "start", 22, "end", 6);
    om_horizon_rules b;
    om_horizon_rules_from_brand(&b, brand);
    assert_int_equal(b.posts_per_day, 2);
    assert_int_equal(b.min_gap_minutes, 90);
    assert_int_equal(b.quiet_start, 22);
    assert_int_equal(b.quiet_end, 6);
    json_decref(brand);
    om_tz_free(ny);
    om_tz_free(be);
}

static void test_horizon_gap_and_posts_per_day(void **state)
{
    (void)state;
    om_tz *la;
    om_tz_load("America/Los_Angeles", &la);
    om_horizon_rules r = {2, 120, 0, 0};
    /* two posts on local Sunday Nov 22 (one is already Nov 23 in UTC) */
    int64_t ex[] = {iso("2026-11-22T17:00:00Z"), iso("2026-11-23T03:00:00Z")};
    json_t *why = json_array();
    /* 19:30 local Sunday = 03:30Z Monday: gap 30 min AND the local day is full */
    assert_false(om_horizon_allows(&r, la, ex, 2, iso("2026-11-23T03:30:00Z"), why));
    assert_int_equal(json_array_size(why), 2);
    assert_non_null(strstr(json_string_value(json_array_get(why, 0)), "within 120 min"));
    assert_non_null(strstr(json_string_value(json_array_get(why, 1)), "2026-11-22"));
    json_array_clear(why);
    /* 23:00 local Sunday: gap fine (4 h) but the day is full */
    assert_false(om_horizon_allows(&r, la, ex, 2, iso("2026-11-23T07:00:00Z"), why));
    assert_int_equal(json_array_size(why), 1);
    json_array_clear(why);
    /* 09:00 local Monday (17:00Z): allowed although UTC Monday already has a post */
    assert_true(om_horizon_allows(&r, la, ex, 2, iso("2026-11-23T17:00:00Z"), why));
    assert_int_equal(json_array_size(why), 0);
    /* exactly the gap is allowed; one minute less is not */
    om_horizon_rules g = {0, 120, 0, 0};
    assert_true(om_horizon_allows(&g, la, ex, 1, iso("2026-11-22T19:00:00Z"), NULL));
    assert_false(om_horizon_allows(&g, la, ex, 1, iso("2026-11-22T18:59:00Z"), NULL));
    assert_false(om_horizon_allows(&g, la, ex, 1, iso("2026-11-22T15:01:00Z"), NULL));
    json_decref(why);
    om_tz_free(la);
}

/* ---- Oracle ---- */

static void test_oracle_prior_and_blend(void **state)
{
    (void)state;
    om_tz *utc;
    om_tz_load("UTC", &utc);
    om_oracle o;
    om_oracle_build(&o, utc, NULL, 0, iso("2026-11-23T10:00:00Z"));
    /* no history: score == prior, evening above night and morning */
    for (int h = 0; h < OM_HOURS_PER_WEEK; h++) {
        assert_true(o.score[h] == o.prior[h]);
        assert_true(o.score[h] > 0 && o.score[h] < 1);
    }
    assert_true(o.score[19] > o.score[9] && o.score[9] > o.score[3]);
    assert_int_equal(o.samples, 0);

    /* one great Tuesday 09:00 post moves Tuesday 09:00 a little; forty move it a lot */
    om_oracle_post p[81];
    memset(p, 0, sizeof(p));
    int64_t now = iso("2026-11-23T10:00:00Z");
    for (int k = 0; k < 81; k++) {
        p[k].creator_id = "c";
        p[k].own = 1;
        p[k].likes = p[k].comments = -1;
        if (k < 40) { /* Tuesdays 09:00, weeks back */
            p[k].posted_at_s = iso("2026-11-17T09:00:00Z") - (int64_t)k * 7 * 86400;
            p[k].views = 90000;
        } else { /* Mondays-Thursdays 19:00 */
            p[k].posted_at_s = iso("2026-11-16T19:00:00Z") - (int64_t)(k - 40) * 86400 * 2;
            p[k].views = 3000;
        }
    }
    om_oracle one;
    om_oracle_post single[3] = {p[0], p[40], p[41]};
    om_oracle_build(&one, utc, single, 3, now);
    om_oracle_build(&o, utc, p, 81, now);
    int tue9 = 24 + 9;
    assert_true(one.score[tue9] > one.prior[tue9]);
    assert_true(o.score[tue9] > one.score[tue9]);
    assert_true(o.score[tue9] > o.score[tue9 - 24 + 19 - 9]); /* beats Monday 19:00 */
    assert_true(o.weight[tue9] > one.weight[tue9]);
    assert_int_equal(o.samples, 81);
    /* a post younger than 6 hours is not used */
    om_oracle_post young = {now - 3600, 1e6, -1, -1, "c", 1, 0, 0};
    om_oracle_build(&one, utc, &young, 1, now);
    assert_int_equal(one.samples, 0);
    om_tz_free(utc);
}

/* ---- Zenith, data-driven ---- */

static void load_posts(json_t *cas, om_tz *tz, om_oracle_post **out, size_t *n)
{
    json_t *posts = json_object_get(cas, "posts");
    json_t *gen = json_object_get(cas, "generate");
    size_t cap = json_array_size(posts);
    size_t i;
    json_t *g;
    json_array_foreach(gen, i, g) cap += (size_t)json_integer_value(json_object_get(g, "count"));
    om_oracle_post *p = calloc(cap ? cap : 1, sizeof(*p));
    size_t k = 0;
    json_t *e;
    json_array_foreach(posts, i, e) {
        p[k].posted_at_s = iso(json_string_value(json_object_get(e, "posted_at")));
        json_t *v = json_object_get(e, "views"), *l = json_object_get(e, "likes"),
               *c = json_object_get(e, "comments");
        p[k].views = v ? json_number_value(v) : -1;
        p[k].likes = l ? json_number_value(l) : -1;
        p[k].comments = c ? json_number_value(c) : -1;
        p[k].creator_id = json_string_value(json_object_get(e, "creator"));
        p[k].own = json_is_true(json_object_get(e, "own"));
        k++;
    }
    json_array_foreach(gen, i, g) {
        int Y, M, D, h, mi;
        assert_int_equal(sscanf(json_string_value(json_object_get(g, "first_local")),
                                "%d-%d-%d %d:%d", &Y, &M, &D, &h, &mi),
                         5);
        int every = (int)json_integer_value(json_object_get(g, "every_days"));
        int count = (int)json_integer_value(json_object_get(g, "count"));
        for (int c = 0; c < count; c++) {
            p[k].posted_at_s = om_tz_to_utc(tz, Y, M, D + c * every, h, mi, 0);
            p[k].views = json_number_value(json_object_get(g, "views"));
            p[k].likes = p[k].comments = -1;
            p[k].creator_id = json_string_value(json_object_get(g, "creator"));
            p[k].own = json_is_true(json_object_get(g, "own"));
            k++;
        }
    }
    *out = p;
    *n = k;
}

static int run_case(const char *path)
{
    json_error_t jerr;
    json_t *cas = json_load_file(path, 0, &jerr);
    if (!cas)
        fail_msg("%s: %s", path, jerr.text);
    om_tz *tz;
    assert_int_equal(om_tz_load(json_string_value(json_object_get(cas, "timezone")), &tz), OM_OK);
    int64_t now = iso(json_string_value(json_object_get(cas, "now")));
    om_oracle_post *posts;
    size_t np;
    load_posts(cas, tz, &posts, &np);
    om_oracle o;
    om_oracle_build(&o, tz, posts, np, now);
    om_horizon_rules r;
    om_horizon_rules_from_brand(&r, json_object_get(cas, "rules"));
    json_t *ex = json_object_get(cas, "existing");
    int64_t existing[16];
    size_t nex = 0;
    size_t i;
    json_t *e;
    json_array_foreach(ex, i, e) existing[nex++] = iso(json_string_value(e));
    om_zenith_opts opts = {now, 3, 15, json_is_true(json_object_get(cas, "force_now")), -1};
    om_zenith_result res;
    assert_int_equal(om_zenith_choose(&o, tz, &r, existing, nex, &opts, &res), OM_OK);

    json_t *want = json_object_get(cas, "expect");
    json_t *adj = res.adjustments;
    char got[OM_TIME_LEN];
    om_time_iso(got, res.final_s * 1000000);
    int bad = 0;
    const char *w;
    if ((w = json_string_value(json_object_get(want, "final_time"))) && strcmp(w, got)) {
        print_error("%s: final %s, expected %s\n", path, got, w);
        bad = 1;
    }
    if ((w = json_string_value(json_object_get(want, "recommended_time"))) &&
        strcmp(w, json_string_value(json_object_get(adj, "recommended_time")))) {
        print_error("%s: recommended %s, expected %s\n", path,
                    json_string_value(json_object_get(adj, "recommended_time")), w);
        bad = 1;
    }
    if ((w = json_string_value(json_object_get(want, "final_local"))) &&
        strcmp(w, json_string_value(json_object_get(adj, "final_local")))) {
        print_error("%s: local %s, expected %s\n", path,
                    json_string_value(json_object_get(adj, "final_local")), w);
        bad = 1;
    }
    json_t *mv = json_object_get(want, "moved");
    if (mv && json_is_true(mv) != json_is_true(json_object_get(adj, "moved"))) {
        print_error("%s: moved differs\n", path);
        bad = 1;
    }
    if ((w = json_string_value(json_object_get(want, "blocked_reason")))) {
        char *dump = json_dumps(json_object_get(adj, "blocked"), 0);
        if (!strstr(dump, w)) {
            print_error("%s: blocked %s lacks \"%s\"\n", path, dump, w);
            bad = 1;
        }
        free(dump);
    }
    if ((w = json_string_value(json_object_get(want, "bypassed")))) {
        char *dump = json_dumps(json_object_get(adj, "bypassed"), 0);
        if (!strstr(dump, w)) {
            print_error("%s: bypassed %s lacks \"%s\"\n", path, dump, w);
            bad = 1;
        }
        free(dump);
    }
    /* invariants of every case */
    if (res.final_s < now) {
        print_error("%s: final time in the past\n", path);
        bad = 1;
    }
    if (!opts.force_now && !om_horizon_allows(&r, tz, existing, nex, res.final_s, NULL)) {
        print_error("%s: final time breaks a Horizon rule\n", path);
        bad = 1;
    }
    json_decref(res.adjustments);
    free(posts);
    om_tz_free(tz);
    json_decref(cas);
    return bad;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_zenith_cases(void **state)
{
    (void)state;
    const char *src = getenv("OMNIVA_SRC");
    assert_non_null(src);
    char *dir = xasprintf("%s/tests/cognition/data/zenith", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[128];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 128) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".json"))
            names[n++] = xasprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_names);
    assert_true(n >= 10);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        failures += run_case(names[i]);
        free(names[i]);
    }
    free(dir);
    assert_int_equal(failures, 0);
}

static void test_zenith_never_past_and_full_calendar(void **state)
{
    (void)state;
    om_tz *tz;
    om_tz_load("UTC", &tz);
    om_oracle o;
    om_oracle_build(&o, tz, NULL, 0, 0);
    om_horizon_rules r = {1, 0, 23, 7};
    /* now is 19:07: the slot grid starts at 19:15, never 19:00 */
    int64_t now = iso("2026-11-23T19:07:00Z");
    om_zenith_opts opts = {now, 3, 15, 0, -1};
    om_zenith_result res;
    assert_int_equal(om_zenith_choose(&o, tz, &r, NULL, 0, &opts, &res), OM_OK);
    assert_true(res.final_s >= now);
    assert_true(res.final_s == iso("2026-11-23T19:15:00Z"));
    json_decref(res.adjustments);
    /* one post per day and the next 40 days full: no slot */
    int64_t ex[40];
    for (int i = 0; i < 40; i++)
        ex[i] = iso("2026-11-23T12:00:00Z") + (int64_t)i * 86400;
    assert_int_equal(om_zenith_choose(&o, tz, &r, ex, 40, &opts, &res), OM_EBUSY);
    assert_non_null(strstr(om_error_msg(), "per day"));
    /* 5 days full: the window grows past the 3-day horizon */
    assert_int_equal(om_zenith_choose(&o, tz, &r, ex, 5, &opts, &res), OM_OK);
    assert_true(res.final_s >= iso("2026-11-28T07:00:00Z"));
    json_decref(res.adjustments);
    om_tz_free(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_matches_glibc),
        cmocka_unit_test(test_tz_footer_rules_slim),
        cmocka_unit_test(test_tz_to_utc_dst),
        cmocka_unit_test(test_tz_bad_names),
        cmocka_unit_test(test_horizon_quiet_hours_midnight),
        cmocka_unit_test(test_horizon_gap_and_posts_per_day),
        cmocka_unit_test(test_oracle_prior_and_blend),
        cmocka_unit_test(test_zenith_cases),
        cmocka_unit_test(test_zenith_never_past_and_full_calendar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
