/* test_projects.c: brand validation (defaults, unknown keys with suggestions, types, colours,
 * PNG logos, ranges, time zones, targets) and the projects/creators API on a real SQLite
 * store: create/get/list/update, creator URL dedup across forms and projects, remove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "harness/harness.h"
#include "stages/projects.h"

#include <ctype.h>
#include <unistd.h>

static char *tmp;
static om_store *st;
static harness_pg pg;
static int use_pg;

static int open_store(const char *url)
{
    int rc = om_store_open(&st, url);
    if (rc == OM_OK)
        rc = om_store_migrate(st, NULL);
    if (rc != OM_OK)
        fprintf(stderr, "store %s: %s\n", url, om_error_msg());
    return rc == OM_OK ? 0 : -1;
}

static int setup_sqlite(void **state)
{
    (void)state;
    use_pg = 0;
    tmp = harness_tmpdir("projects");
    char *url = xasprintf("sqlite://%s/omniva.db", tmp);
    int rc = open_store(url);
    free(url);
    return rc;
}

static int setup_pg(void **state)
{
    (void)state;
    use_pg = 1;
    tmp = harness_tmpdir("projects-pg");
    if (harness_pg_start(&pg) != 0)
        return -1;
    return open_store(pg.url);
}

static int teardown(void **state)
{
    (void)state;
    om_store_free(st);
    st = NULL;
    if (use_pg)
        harness_pg_stop(&pg);
    om_rmtree(tmp);
    free(tmp);
    return 0;
}

static void expect_bad(const char *json, const char *needle)
{
    json_t *b = NULL;
    int rc = om_brand_normalize(json, tmp, &b);
    if (rc != OM_EINVAL || !strstr(om_error_msg(), needle))
        fprintf(stderr, "brand %s: expected EINVAL with '%s', got %d '%s'\n", json, needle, rc,
                om_error_msg());
    assert_int_equal(rc, OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), needle));
    assert_null(b);
}

static json_t *expect_ok(const char *json)
{
    json_t *b = NULL;
    int rc = om_brand_normalize(json, tmp, &b);
    if (rc != OM_OK)
        fprintf(stderr, "brand %s: %s\n", json ? json : "(null)", om_error_msg());
    assert_int_equal(rc, OM_OK);
    return b;
}

static void test_brand_defaults(void **state)
{
    (void)state;
    json_t *def = om_brand_defaults();
    json_t *a = expect_ok(NULL), *b = expect_ok("  "), *c = expect_ok("{}");
    assert_true(json_equal(a, def) && json_equal(b, def) && json_equal(c, def));
    assert_int_equal(json_integer_value(json_object_get(def, "clip_min_s")), 15);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(def, "caption"), "highlight_color")),
        "#FFD700");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    /* partial objects merge with the defaults */
    json_t *p =
        expect_ok("{\"posts_per_day\": 5, \"caption\": {\"color\": \"#ff00aa80\"},"
                  " \"keywords\": [\" coffee \", \"latte\"], \"timezone\": \"Europe/Berlin\","
                  " \"quiet_hours\": {\"start\": 22}, \"clip_max_s\": 45.5}");
    assert_int_equal(json_integer_value(json_object_get(p, "posts_per_day")), 5);
    json_t *cap = json_object_get(p, "caption");
    assert_string_equal(json_string_value(json_object_get(cap, "color")), "#FF00AA80");
    assert_int_equal(json_integer_value(json_object_get(cap, "size")), 64);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "keywords"), 0)),
                        "coffee");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "quiet_hours"), "end")),
                     7);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(p, "quiet_hours"), "start")), 22);
    assert_true(json_real_value(json_object_get(p, "clip_max_s")) == 45.5);
    assert_string_equal(json_string_value(json_object_get(p, "reframe")), "content");
    assert_true(json_is_null(json_object_get(p, "logo")));
    json_decref(p);
    p = expect_ok("{\"quiet_hours\": null, \"targets\": [\"youtube\", \"export\"]}");
    assert_true(json_is_null(json_object_get(p, "quiet_hours")));
    assert_int_equal(json_array_size(json_object_get(p, "targets")), 2);
    json_decref(p);
    json_decref(def);
}

static void test_brand_errors(void **state)
{
    (void)state;
    expect_bad("{\"clip_max\": 30}", "brand: unknown key 'clip_max' (did you mean 'clip_max_s'?)");
    expect_bad("{\"caption\": {\"colour\": \"#FFFFFF\"}}",
               "brand.caption: unknown key 'colour' (did you mean 'color'?)");
    expect_bad("{\"zzzzzz\": 1}", "brand: unknown key 'zzzzzz'");
    expect_bad("{\"posts_per_day\": \"3\"}",
               "brand.posts_per_day: expected an integer, got a string");
    expect_bad("{\"posts_per_day\": 2.5}", "brand.posts_per_day: expected an integer, got 2.5");
    expect_bad("{\"posts_per_day\": 0}", "brand.posts_per_day: 0 is out of range 1..48");
    expect_bad("{\"posts_per_day\": 49}", "out of range 1..48");
    expect_bad("{\"caption\": {\"color\": \"#FFF\"}}",
               "brand.caption.color: '#FFF' is not a colour (use #RRGGBB or #RRGGBBAA)");
    expect_bad("{\"caption\": {\"outline_color\": \"black\"}}", "'black' is not a colour");
    expect_bad("{\"caption\": {\"highlight_color\": \"#GG0000\"}}", "is not a colour");
    expect_bad("{\"caption\": {\"color\": 16777215}}", "expected a colour string");
    expect_bad("{\"caption\": {\"position\": \"left\"}}",
               "brand.caption.position: 'left' is not one of \"bottom\", \"middle\", \"top\"");
    expect_bad("{\"caption\": 5}", "brand.caption: expected an object, got an integer");
    expect_bad("{\"clip_min_s\": 60, \"clip_max_s\": 30}",
               "clip_min_s (60) must be less than clip_max_s (30)");
    expect_bad("{\"clip_max_s\": 200}", "brand.clip_max_s: 200 is out of range 5..180");
    expect_bad("{\"clip_min_s\": 4}", "out of range 5..180");
    expect_bad("{\"quiet_hours\": {\"start\": 24}}",
               "brand.quiet_hours.start: 24 is out of range 0..23");
    expect_bad("{\"quiet_hours\": [23, 7]}", "brand.quiet_hours: expected an object");
    expect_bad("{\"timezone\": \"Mars/Olympus_Mons\"}",
               "brand.timezone: unknown time zone 'Mars/Olympus_Mons'");
    expect_bad("{\"timezone\": \"../../etc/passwd\"}", "unknown time zone");
    expect_bad("{\"timezone\": \"zone.tab\"}", "unknown time zone"); /* a file, not TZif */
    expect_bad("{\"targets\": [\"export\", \"myspace\"]}",
               "brand.targets[1]: unknown target 'myspace'");
    expect_bad("{\"targets\": []}", "non-empty");
    expect_bad("{\"targets\": [\"export\", \"export\"]}", "'export' listed twice");
    expect_bad("{\"reframe\": \"zoom\"}", "brand.reframe: 'zoom' is not one of");
    expect_bad("{\"keywords\": [\"ok\", 3]}", "brand.keywords[1]: expected a string");
    expect_bad("{\"keywords\": \"coffee\"}", "expected an array of strings");
    expect_bad("{\"banned_words\": [\"  \"]}", "brand.banned_words[0]: empty");
    expect_bad("{\"loudness_target\": 0}", "brand.loudness_target: 0 is out of range -40..-5");
    expect_bad("{\"logo\": \"/nonexistent/logo.png\"}",
               "brand.logo: /nonexistent/logo.png does not exist");
    expect_bad("{\"intro\": \"/nonexistent/intro.mp4\"}", "does not exist");
    expect_bad("{\"brief\": 12}", "brand.brief: expected a string");
    /* every problem at once */
    expect_bad("{\"posts_per_day\": 0, \"reframe\": \"zoom\"}", "; brand.reframe");
    /* not JSON / not an object */
    expect_bad("{\"posts_per_day\": 3,}", "brand: not valid JSON: line 1");
    expect_bad("[1, 2]", "brand: expected a JSON object, got an array");
    expect_bad("{\"posts_per_day\": 3, \"posts_per_day\": 4}", "not valid JSON");
}

static void test_brand_files(void **state)
{
    (void)state;
    /* a real PNG made by ffmpeg, a fake one, a relative path */
    char *png = xasprintf("%s/logo.png", tmp);
    const char *argv[] = {"ffmpeg",    "-v",    "error", "-y",
                          "-f",        "lavfi", "-i",    "color=c=red:s=32x32",
                          "-frames:v", "1",     png,     NULL};
    om_proc_opts o = {0};
    o.argv = argv;
    o.timeout_ms = 30000;
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    assert_int_equal(r.exit_code, 0);
    om_proc_result_release(&r);
    char *fake = xasprintf("%s/fake.png", tmp);
    assert_int_equal(om_write_file_atomic(fake, "GIF89a....", 10), OM_OK);

    char *j = xasprintf("{\"logo\": \"%s\"}", png);
    json_t *b = expect_ok(j); /* an absolute path inside the home is stored relative to it */
    assert_string_equal(json_string_value(json_object_get(b, "logo")), "logo.png");
    json_decref(b);
    free(j);
    b = expect_ok("{\"logo\": \"logo.png\", \"export_dir\": \"out/clips\"}"); /* relative to home */
    assert_string_equal(json_string_value(json_object_get(b, "logo")), "logo.png");
    assert_string_equal(json_string_value(json_object_get(b, "export_dir")), "out/clips");
    json_decref(b);
    j = xasprintf("{\"logo\": \"%s\"}", fake);
    char *want = xasprintf("brand.logo: %s is not a PNG file", fake);
    expect_bad(j, want);
    free(want);
    free(j);
    expect_bad("{\"logo\": \"/tmp\"}", "is not a regular file");
    expect_bad("{\"logo\": 7}", "brand.logo: expected a path or null");

    /* brand files */
    char *bf = xasprintf("%s/brand.json", tmp);
    const char *text = "{\"posts_per_day\": 6, \"timezone\": \"America/New_York\"}";
    assert_int_equal(om_write_file_atomic(bf, text, strlen(text)), OM_OK);
    char *got = NULL;
    assert_int_equal(om_brand_read_file(bf, &got), OM_OK);
    assert_string_equal(got, text);
    free(got);
    assert_int_equal(om_brand_read_file("/nonexistent/brand.json", &got), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "brand file"));
    free(bf);
    free(png);
    free(fake);
}

static void test_projects(void **state)
{
    (void)state;
    char id[OM_UUID_LEN], id2[OM_UUID_LEN];
    /* a target that posts to an account needs one linked first: an error, never a skip */
    assert_int_equal(om_project_create(st, "Coffee Lab",
                                       "{\"targets\": [\"export\", \"youtube\"]}", tmp, id),
                     OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "target 'youtube' has no linked youtube account"));
    assert_int_equal(om_project_create(st, "Coffee Lab",
                                       "{\"posts_per_day\": 4, \"timezone\": "
                                       "\"Europe/Paris\", \"targets\": [\"export\"]}",
                                       tmp, id),
                     OM_OK);
    assert_true(om_uuid_valid(id));
    assert_int_equal(om_project_create(st, "Coffee Lab", NULL, tmp, id2), OM_EEXISTS);
    assert_non_null(strstr(om_error_msg(), "project 'Coffee Lab' already exists"));
    assert_int_equal(om_project_create(st, "Bad", "{\"reframe\": 1}", tmp, id2), OM_EINVAL);
    assert_int_equal(om_project_create(st, "a/b", NULL, tmp, id2), OM_EINVAL);
    assert_int_equal(om_project_create(st, "", NULL, tmp, id2), OM_EINVAL);
    assert_int_equal(om_project_create(st, " padded", NULL, tmp, id2), OM_EINVAL);
    assert_int_equal(om_project_create(st, "-flag", NULL, tmp, id2), OM_EINVAL);
    assert_int_equal(om_project_create(st, "d3b07384-d113-4ec6-a7b5-3b6f5c8e8a1f", NULL, tmp, id2),
                     OM_EINVAL);
    assert_int_equal(om_project_create(st, "Alpha", NULL, tmp, id2), OM_OK);

    json_t *p = NULL;
    assert_int_equal(om_project_get(st, "Coffee Lab", &p), OM_OK);
    assert_string_equal(json_string_value(json_object_get(p, "project_id")), id);
    assert_string_equal(json_string_value(json_object_get(p, "timezone")), "Europe/Paris");
    assert_int_equal(json_array_size(json_object_get(p, "targets")), 1);
    json_t *brand = json_object_get(p, "brand");
    assert_int_equal(json_integer_value(json_object_get(brand, "posts_per_day")), 4);
    assert_int_equal(json_integer_value(json_object_get(brand, "clip_max_s")), 60); /* default */
    assert_int_equal(json_integer_value(json_object_get(p, "creators")), 0);
    json_decref(p);
    /* by id, upper-case too */
    char up[OM_UUID_LEN];
    for (int i = 0; i < OM_UUID_LEN; i++)
        up[i] = (char)toupper((unsigned char)id[i]);
    assert_int_equal(om_project_get(st, up, &p), OM_OK);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "Coffee Lab");
    json_decref(p);
    assert_int_equal(om_project_get(st, "nope", &p), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "no project 'nope'"));

    json_t *list = NULL;
    assert_int_equal(om_project_list(st, &list), OM_OK);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "Alpha");
    json_decref(list);

    /* brand patch: caption merges, others stay */
    assert_int_equal(
        om_project_update_brand(st, "Coffee Lab",
                                "{\"caption\": {\"size\": 80}, \"timezone\": \"Asia/Tokyo\"}", tmp),
        OM_OK);
    assert_int_equal(om_project_get(st, id, &p), OM_OK);
    brand = json_object_get(p, "brand");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(brand, "caption"), "size")),
                     80);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(brand, "caption"), "color")), "#FFFFFF");
    assert_int_equal(json_integer_value(json_object_get(brand, "posts_per_day")), 4);
    assert_string_equal(json_string_value(json_object_get(p, "timezone")), "Asia/Tokyo");
    json_decref(p);
    assert_int_equal(om_project_update_brand(st, "Coffee Lab", "{\"clip_min_s\": 90}", tmp),
                     OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "clip_min_s (90) must be less than clip_max_s (60)"));
}

static void test_creators(void **state)
{
    (void)state;
    char pa[OM_UUID_LEN], pb[OM_UUID_LEN];
    assert_int_equal(om_project_create(st, "Creators A", NULL, tmp, pa), OM_OK);
    assert_int_equal(om_project_create(st, "Creators B", NULL, tmp, pb), OM_OK);
    char c1[OM_UUID_LEN], c2[OM_UUID_LEN], c3[OM_UUID_LEN], c4[OM_UUID_LEN];
    int created = -1, linked = -1;
    assert_int_equal(om_creator_add_ex(st, "Creators A", "https://www.tiktok.com/@Coffee.Guy", c1,
                                       &created, &linked),
                     OM_OK);
    assert_true(created == 1 && linked == 1);
    /* the same handle written differently is the same creator, linked once */
    assert_int_equal(om_creator_add_ex(st, pa, "tiktok.com/@coffee.guy/", c2, &created, &linked),
                     OM_OK);
    assert_string_equal(c1, c2);
    assert_true(created == 0 && linked == 0);
    /* another project shares the creator row */
    assert_int_equal(om_creator_add_ex(st, "Creators B", "https://m.tiktok.com/@COFFEE.GUY", c3,
                                       &created, &linked),
                     OM_OK);
    assert_string_equal(c1, c3);
    assert_true(created == 0 && linked == 1);
    assert_int_equal(
        om_creator_add(st, "Creators A", "https://www.youtube.com/@Barista/shorts", c4), OM_OK);
    char *local = xasprintf("file://%s", tmp);
    char c5[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, "Creators A", local, c5), OM_OK);
    free(local);
    char c6[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, "Creators A", "file:///nonexistent/omniva/dir", c6),
                     OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "does not exist"));
    assert_int_equal(om_creator_add(st, "Creators A", "ftp://example.com/x", c6), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "supported are"));
    assert_int_equal(om_creator_add(st, "No such project", "https://www.tiktok.com/@x", c6),
                     OM_ENOTFOUND);

    json_t *l = NULL;
    assert_int_equal(om_creator_list(st, "Creators A", &l), OM_OK);
    assert_int_equal(json_array_size(l), 3);
    json_t *first = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(first, "platform")), "tiktok");
    assert_string_equal(json_string_value(json_object_get(first, "username")), "coffee.guy");
    assert_string_equal(json_string_value(json_object_get(first, "profile_url")),
                        "https://www.tiktok.com/@coffee.guy");
    assert_int_equal(json_integer_value(json_object_get(first, "posts")), 0);
    assert_true(json_is_null(json_object_get(first, "last_posted_at")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "username")),
                        "@barista");
    json_decref(l);

    json_t *c = NULL;
    assert_int_equal(om_creator_get(st, c1, &c), OM_OK);
    assert_int_equal(json_array_size(json_object_get(c, "projects")), 2);
    json_decref(c);

    json_t *p = NULL;
    assert_int_equal(om_project_get(st, "Creators A", &p), OM_OK);
    assert_int_equal(json_integer_value(json_object_get(p, "creators")), 3);
    json_decref(p);

    /* remove by URL (any form) and by id */
    assert_int_equal(om_creator_remove(st, "Creators A", "https://tiktok.com/@coffee.guy"), OM_OK);
    assert_int_equal(om_creator_remove(st, "Creators A", "https://tiktok.com/@coffee.guy"),
                     OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "is not in project 'Creators A'"));
    assert_int_equal(om_creator_remove(st, "Creators A", c4), OM_OK);
    assert_int_equal(om_creator_remove(st, "Creators A", "https://www.tiktok.com/@unknown"),
                     OM_ENOTFOUND);
    assert_int_equal(om_creator_list(st, "Creators A", &l), OM_OK);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    /* still linked to B, row kept */
    assert_int_equal(om_creator_list(st, "Creators B", &l), OM_OK);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    /* re-adding after removal links again */
    assert_int_equal(om_creator_add_ex(st, "Creators A", "https://www.tiktok.com/@coffee.guy", c2,
                                       &created, &linked),
                     OM_OK);
    assert_string_equal(c1, c2);
    assert_true(created == 0 && linked == 1);
}

int main(void)
{
    // clang-format off
    const struct CMUnitTest brand[] = {
        cmocka_unit_test(test_brand_defaults),
        cmocka_unit_test(test_brand_errors),
        cmocka_unit_test(test_brand_files),
    };
    const struct CMUnitTest db[] = {
        cmocka_unit_test(test_projects),
        cmocka_unit_test(test_creators),
    };
    int failed = cmocka_run_group_tests_name("brand", brand, setup_sqlite, teardown);
    failed += cmocka_run_group_tests_name("projects_sqlite", db, setup_sqlite, teardown);
    failed += cmocka_run_group_tests_name("projects_postgres", db, setup_pg, teardown);
    return failed;
    // clang-format on
}
