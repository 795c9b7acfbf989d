/* test_config.c: `omniva config show --json`, `omniva config check` on a good and a bad file,
 * a bad key in omniva.conf making a command fail with the key named, and a workspace that
 * still works after `mv` (omniva.conf holds relative paths only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "omtest.h"

#include <jansson.h>

static json_t *setting(json_t *doc, const char *key)
{
    json_t *arr = json_object_get(doc, "settings"), *v;
    size_t i;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(json_object_get(v, "key")), key))
        return v;
    fail_msg("no setting %s", key);
    return NULL;
}

static void test_show_json_origins(void **state)
{
    (void)state;
    char *home = omt_workspace("cfg-show", NULL);
    omt_conf_append(home, "editor", "crf", "23");
    char *out = NULL, *err = NULL;
    setenv("OMNIVA_EDITOR_PRESET", "slow", 1);
    int rc = omt_run(&out, &err, home, "--set", "scraper.backfill=7", "config", "show", "--json",
                     NULL);
    unsetenv("OMNIVA_EDITOR_PRESET");
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    assert_non_null(doc);
    json_t *crf = setting(doc, "editor.crf");
    assert_int_equal(json_integer_value(json_object_get(crf, "value")), 23);
    assert_string_equal(json_string_value(json_object_get(crf, "origin")), "file");
    json_t *preset = setting(doc, "editor.preset");
    assert_string_equal(json_string_value(json_object_get(preset, "origin")), "env");
    assert_string_equal(json_string_value(json_object_get(preset, "value")), "slow");
    json_t *bf = setting(doc, "scraper.backfill");
    assert_string_equal(json_string_value(json_object_get(bf, "origin")), "flag");
    assert_int_equal(json_integer_value(json_object_get(bf, "value")), 7);
    json_t *w = setting(doc, "editor.width");
    assert_string_equal(json_string_value(json_object_get(w, "origin")), "default");
    assert_int_equal(json_integer_value(json_object_get(w, "value")), 1080);
    json_t *url = setting(doc, "store.url");
    assert_string_equal(json_string_value(json_object_get(url, "value")), "sqlite:omniva.db");
    json_decref(doc);
    free(out);
    free(err);
    /* text form: doc lines */
    assert_int_equal(omt_run(&out, &err, home, "config", "show", NULL), 0);
    assert_true(omt_has(out, "editor.crf = 23"));
    assert_true(omt_has(out, "x264 quality"));
    free(out);
    free(err);
    /* a bad --set is refused with the key named */
    assert_int_equal(omt_run(&out, &err, home, "--set", "editor.cfr=1", "config", "show", NULL),
                     1);
    assert_true(omt_has(err, "did you mean editor.crf?"));
    free(out);
    free(err);
    om_rmtree(home);
    free(home);
}

static void test_check_and_bad_key_fails_commands(void **state)
{
    (void)state;
    char *home = omt_workspace("cfg-check", NULL);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, home, "config", "check", NULL), 0); /* init's file */
    assert_true(omt_has(out, "ok"));
    free(out);
    free(err);
    char *bad = xasprintf("%s/bad.conf", home);
    const char *text = "[editor]\ncrf = 99\n[scraper]\nbackfil = 3\n";
    assert_int_equal(om_write_file_atomic(bad, text, strlen(text)), OM_OK);
    assert_int_equal(omt_run(&out, &err, home, "config", "check", bad, NULL), 1);
    assert_true(omt_has(err, "bad.conf:2: editor.crf: 99 is out of range 0..51"));
    assert_true(omt_has(err, "bad.conf:4: scraper.backfil"));
    assert_true(omt_has(err, "did you mean scraper.backfill?"));
    free(out);
    free(err);
    omt_conf_append(home, "editor", "cfr", "23");
    assert_int_equal(omt_run(&out, &err, home, "jobs", "list", NULL), 1);
    assert_true(omt_has(err, "editor.cfr"));
    assert_true(omt_has(err, "did you mean editor.crf?"));
    free(out);
    free(err);
    free(bad);
    om_rmtree(home);
    free(home);
}

static void test_moved_workspace_keeps_working(void **state)
{
    (void)state;
    char *home = omt_workspace("cfg-move", NULL);
    char *conf = xasprintf("%s/omniva.conf", home), *text = NULL;
    assert_int_equal(om_read_file(conf, 0, &text, NULL), OM_OK);
    assert_false(omt_has(text, home)); /* no absolute path of the workspace in its config */
    free(text);
    free(conf);
    char *moved = xasprintf("%s-moved", home);
    assert_int_equal(rename(home, moved), 0);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, moved, "jobs", "list", NULL), 0);
    free(out);
    free(err);
    assert_int_equal(omt_run(&out, &err, moved, "config", "show", "--json", NULL), 0);
    char *want = xasprintf("sqlite://%s/omniva.db", moved);
    assert_true(omt_has(out, want));
    assert_false(omt_has(out, home) && !omt_has(out, moved));
    free(want);
    free(out);
    free(err);
    om_rmtree(moved);
    free(moved);
    free(home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_show_json_origins),
        cmocka_unit_test(test_check_and_bad_key_fails_commands),
        cmocka_unit_test(test_moved_workspace_keeps_working),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
