/* test_settings.c: the settings table (src/base/settings.c) and the configuration behind
 * config.h: table invariants, NULL = defaults, load-time refusal naming file:line and
 * section.key with a suggestion, origin precedence (flag > env > file > default), relative
 * paths resolved against the home, the rendered omniva.conf validating, the path helpers and
 * the nearest-name helper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "asr/asr.h" /* OM_ASR_SPHINX_MODEL_DIR, OM_ASR_ADAPT_WEIGHT: must match the table */
#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/settings.h"
#include "base/suggest.h"

#include <sys/wait.h>
#include <unistd.h>

static char home[64];

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/omniva-settings-XXXXXX");
    return mkdtemp(home) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return om_rmtree(home);
}

static void write_conf(const char *text)
{
    char *p = xasprintf("%s/omniva.conf", home);
    assert_int_equal(om_write_file_atomic(p, text, strlen(text)), OM_OK);
    free(p);
}

/* Loads text as HOME/omniva.conf; expects OM_EINVAL and every needle in the message. */
static void expect_refused(const char *text, const char *const *needles)
{
    write_conf(text);
    om_config *c = (om_config *)1;
    assert_int_equal(om_config_load(&c, home), OM_EINVAL);
    assert_null(c);
    for (const char *const *n = needles; *n; n++) {
        if (!strstr(om_error_msg(), *n))
            fail_msg("message '%s' lacks '%s'", om_error_msg(), *n);
    }
}

static void test_table_rows_are_valid(void **state)
{
    (void)state;
    assert_true(om_settings_count > 60);
    for (size_t i = 0; i < om_settings_count; i++) {
        const om_setting *s = &om_settings[i];
        const char *dot = strchr(s->name, '.');
        assert_non_null(dot);
        assert_null(strchr(dot + 1, '.'));
        assert_non_null(s->doc);
        assert_true(strlen(s->doc) > 5);
        if (om_setting_check(s, s->def))
            fail_msg("default of %s does not fit its own row: %s", s->name, om_error_msg());
        assert_ptr_equal(om_setting_find(s->name), s);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(om_settings[j].name, s->name);
            /* a section's rows are together (the rendered file has one [section] each) */
            size_t sl = (size_t)(dot - s->name);
            if (j + 1 < i && strncmp(om_settings[j].name, s->name, sl + 1) == 0)
                assert_int_equal(strncmp(om_settings[j + 1].name, s->name, sl + 1), 0);
        }
    }
    /* keys the brief names: they exist with these types */
    assert_int_equal(om_setting_find("scraper.backfill")->type, OM_SETTING_LONG);
    assert_int_equal(om_setting_find("pantheon.weight_brand_safety")->type, OM_SETTING_DOUBLE);
    assert_int_equal(om_setting_find("ratelimit.burst")->type, OM_SETTING_DOUBLE);
    assert_int_equal(om_setting_find("worker.sqlite_keeper")->type, OM_SETTING_BOOL);
    assert_int_equal(om_setting_find("asr.engine")->type, OM_SETTING_ENUM);
    assert_null(om_setting_find("editor"));
    assert_null(om_setting_find("editor.crf.x"));
}

static void test_null_config_is_the_defaults(void **state)
{
    (void)state;
    assert_int_equal(om_config_long(NULL, "editor.crf"), 20);
    assert_int_equal(om_config_long(NULL, "scraper.backfill"), 50);
    assert_int_equal(om_config_long(NULL, "scraper.max_bytes"), 2147483648L);
    assert_true(om_config_double(NULL, "editor.true_peak") == -1.5);
    assert_true(om_config_double(NULL, "ratelimit.instagram") == 10);
    assert_true(om_config_double(NULL, "asr.adapt_weight") == OM_ASR_ADAPT_WEIGHT);
    assert_true(om_config_bool(NULL, "asr.prefer_subtitles"));
    assert_false(om_config_bool(NULL, "editor.gpu"));
    assert_string_equal(om_config_str(NULL, "editor.preset"), "veryfast");
    assert_string_equal(om_config_str(NULL, "asr.model_dir"), OM_ASR_SPHINX_MODEL_DIR);
    assert_int_equal(om_config_origin_of(NULL, "editor.crf"), OM_ORIGIN_DEFAULT);
    assert_null(om_config_store_url(NULL));
    assert_null(om_config_home(NULL));
    /* a new config is the defaults too, with PATH settings resolved against its home */
    om_config *c = om_config_new("/ws");
    assert_int_equal(om_config_long(c, "editor.crf"), 20);
    assert_string_equal(om_config_media_dir(c), "/ws/media");
    assert_string_equal(om_config_str(c, "ratelimit.dir"), "/ws/run/ratelimit");
    assert_string_equal(om_config_queue_url(c), "sqlite");
    assert_null(om_config_store_url(c));
    om_config_free(c);
}

/* Runs fn in a child; it must abort (SIGABRT) and say the key on stderr. */
static void expect_abort(void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        fn();
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void read_unknown(void)
{
    (void)om_config_long(NULL, "editor.cfr");
}

static void read_wrong_type(void)
{
    (void)om_config_long(NULL, "editor.fps"); /* a double */
}

static void set_unknown(void)
{
    om_config *c = om_config_new("/ws");
    om_config_set(c, "store", "busy", "1");
}

static void test_unknown_key_in_code_aborts(void **state)
{
    (void)state;
    expect_abort(read_unknown);
    expect_abort(read_wrong_type);
    expect_abort(set_unknown);
}

static void test_load_refuses_with_key_and_line(void **state)
{
    (void)state;
    expect_refused("[editor]\n# a comment\ncfr = 23\n",
                   (const char *[]){"omniva.conf:3:", "editor.cfr", "unknown key in [editor]",
                                    "did you mean editor.crf?", NULL});
    expect_refused("[editr]\ncrf = 23\n",
                   (const char *[]){"omniva.conf:2:", "unknown section [editr]",
                                    "did you mean editor.crf?", NULL});
    expect_refused("[nothing]\nlike_this = 1\n",
                   (const char *[]){"nothing.like_this: unknown section [nothing]", NULL});
    expect_refused("[editor]\ncrf = abc\n",
                   (const char *[]){"omniva.conf:2: editor.crf: 'abc' is not an integer", NULL});
    expect_refused("[editor]\ncrf = 99\n",
                   (const char *[]){"editor.crf: 99 is out of range 0..51", NULL});
    expect_refused("[editor]\nfps = fast\n", (const char *[]){"editor.fps: 'fast' is not a number",
                                                              NULL});
    expect_refused("[editor]\ngpu = maybe\n",
                   (const char *[]){"editor.gpu: 'maybe' is not true or false", NULL});
    expect_refused("[asr]\nengine = kaldi\n",
                   (const char *[]){"asr.engine: 'kaldi' is not one of pocketsphinx, external",
                                    NULL});
    expect_refused("[store\nurl = x\n", (const char *[]){"omniva.conf:1: syntax error", NULL});
    /* every problem of a file, one per line */
    expect_refused("[editor]\ncrf = 99\n[schedule]\nhorizon_days = 0\n[pantheon]\nweight_hok = 1\n",
                   (const char *[]){"omniva.conf:2: editor.crf", "\n",
                                    "omniva.conf:4: schedule.horizon_days: 0 is out of range",
                                    "omniva.conf:6: pantheon.weight_hok",
                                    "did you mean pantheon.weight_hook?", NULL});
}

static void test_origin_precedence(void **state)
{
    (void)state;
    write_conf("[editor]\ncrf = 21\npreset = slow\n[store]\nurl = sqlite:a.db\n");
    unsetenv("OMNIVA_EDITOR_CRF");
    unsetenv("OMNIVA_DB");
    unsetenv("OMNIVA_STORE_URL");
    om_config *c = NULL;
    assert_int_equal(om_config_load(&c, home), OM_OK);
    assert_int_equal(om_config_long(c, "editor.crf"), 21);
    assert_int_equal(om_config_origin_of(c, "editor.crf"), OM_ORIGIN_FILE);
    assert_string_equal(om_config_origin_detail(c, "editor.crf"), "omniva.conf:2");
    assert_int_equal(om_config_origin_of(c, "editor.width"), OM_ORIGIN_DEFAULT);
    om_config_free(c);
    /* a key set again (an appended section) takes the later line */
    write_conf("[editor]\ncrf = 21\npreset = slow\n[store]\nurl = sqlite:a.db\n[editor]\ncrf = 19\n");
    assert_int_equal(om_config_load(&c, home), OM_OK);
    assert_int_equal(om_config_long(c, "editor.crf"), 19);
    assert_string_equal(om_config_origin_detail(c, "editor.crf"), "omniva.conf:7");
    om_config_free(c);

    setenv("OMNIVA_EDITOR_CRF", "22", 1);
    setenv("OMNIVA_STORE_URL", "sqlite:general.db", 1);
    setenv("OMNIVA_DB", "sqlite:specific.db", 1);
    assert_int_equal(om_config_load(&c, home), OM_OK);
    assert_int_equal(om_config_long(c, "editor.crf"), 22); /* env > file */
    assert_int_equal(om_config_origin_of(c, "editor.crf"), OM_ORIGIN_ENV);
    assert_string_equal(om_config_origin_detail(c, "editor.crf"), "OMNIVA_EDITOR_CRF");
    assert_string_equal(om_config_str(c, "editor.preset"), "slow"); /* file > default */
    assert_string_equal(om_config_text(c, "store.url"), "sqlite:specific.db");
    assert_string_equal(om_config_origin_detail(c, "store.url"), "OMNIVA_DB");

    assert_int_equal(om_config_set(c, "editor", "crf", "23"), OM_OK); /* flag > env */
    assert_int_equal(om_config_long(c, "editor.crf"), 23);
    assert_int_equal(om_config_apply_env(c), OM_OK); /* env again: the flag stays */
    assert_int_equal(om_config_long(c, "editor.crf"), 23);
    assert_int_equal(om_config_origin_of(c, "editor.crf"), OM_ORIGIN_FLAG);
    assert_int_equal(om_config_put(c, "editor.crf", "24", OM_ORIGIN_FILE, "x"), OM_OK);
    assert_int_equal(om_config_long(c, "editor.crf"), 23); /* lower precedence ignored */
    assert_int_equal(om_config_set_arg(c, "editor.crf = 25", "--set"), OM_OK);
    assert_int_equal(om_config_long(c, "editor.crf"), 25);
    assert_string_equal(om_config_origin_detail(c, "editor.crf"), "--set");
    /* a bad flag value keeps the old one and names the key */
    assert_int_equal(om_config_set(c, "editor", "crf", "52"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "editor.crf: 52 is out of range 0..51"));
    assert_int_equal(om_config_long(c, "editor.crf"), 25);
    assert_int_equal(om_config_set_arg(c, "editor.cfr=1", "--set"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "did you mean editor.crf?"));
    assert_int_equal(om_config_set_arg(c, "editor.crf", "--set"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "section.key=value"));
    om_config_free(c);

    /* a bad environment value is refused naming the variable */
    setenv("OMNIVA_EDITOR_CRF", "lots", 1);
    assert_int_equal(om_config_load(&c, home), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "OMNIVA_EDITOR_CRF: editor.crf: 'lots' is not an"));
    unsetenv("OMNIVA_EDITOR_CRF");
    unsetenv("OMNIVA_STORE_URL");
    unsetenv("OMNIVA_DB");
    /* om_config_new does not read the environment: tests get the table */
    setenv("OMNIVA_EDITOR_CRF", "30", 1);
    c = om_config_new(home);
    assert_int_equal(om_config_long(c, "editor.crf"), 20);
    om_config_free(c);
    unsetenv("OMNIVA_EDITOR_CRF");
}

static void test_paths_resolve_against_home(void **state)
{
    (void)state;
    om_config *c = om_config_new("/w s/ws");
    assert_int_equal(om_config_set(c, "store", "url", "sqlite:omniva.db"), OM_OK);
    assert_string_equal(om_config_store_url(c), "sqlite:///w%20s/ws/omniva.db");
    assert_int_equal(om_config_set(c, "store", "url", "sqlite:data/o.db?busy_timeout=5"), OM_OK);
    assert_string_equal(om_config_store_url(c), "sqlite:///w%20s/ws/data/o.db?busy_timeout=5");
    assert_int_equal(om_config_set(c, "store", "url", "sqlite:///abs/o.db"), OM_OK);
    assert_string_equal(om_config_store_url(c), "sqlite:///abs/o.db");
    assert_int_equal(om_config_set(c, "store", "url", "postgres://u@h:5432/db"), OM_OK);
    assert_string_equal(om_config_store_url(c), "postgres://u@h:5432/db");
    assert_int_equal(om_config_set(c, "media", "dir", "clips/media"), OM_OK);
    assert_string_equal(om_config_media_dir(c), "/w s/ws/clips/media");
    assert_string_equal(om_config_text(c, "media.dir"), "clips/media");
    assert_int_equal(om_config_set(c, "media", "dir", "/srv/media"), OM_OK);
    assert_string_equal(om_config_media_dir(c), "/srv/media");
    om_config_free(c);
}

static void test_rendered_file_validates(void **state)
{
    (void)state;
    om_config *c = om_config_new(home);
    assert_int_equal(om_config_set(c, "store", "url", "sqlite:omniva.db"), OM_OK);
    assert_int_equal(om_config_set(c, "editor", "crf", "23"), OM_OK);
    assert_int_equal(om_config_save(c), OM_OK);
    char *text = om_config_render(c);
    om_config_free(c);
    /* every key appears (commented out when default) with its doc line */
    for (size_t i = 0; i < om_settings_count; i++) {
        const char *key = strchr(om_settings[i].name, '.') + 1;
        char *line = xasprintf("\n# %s = %s\n", key, om_settings[i].def);
        char *set = xasprintf("\n%s = ", key);
        assert_true(strstr(text, line) || strstr(text, set));
        assert_non_null(strstr(text, om_settings[i].doc));
        free(line);
        free(set);
    }
    assert_non_null(strstr(text, "\n[editor]\n"));
    assert_non_null(strstr(text, "\ncrf = 23\n"));
    free(text);
    assert_int_equal(om_config_load(&c, home), OM_OK);
    assert_int_equal(om_config_long(c, "editor.crf"), 23);
    assert_int_equal(om_config_origin_of(c, "editor.crf"), OM_ORIGIN_FILE);
    assert_int_equal(om_config_origin_of(c, "editor.preset"), OM_ORIGIN_DEFAULT);
    assert_string_equal(om_config_text(c, "store.url"), "sqlite:omniva.db");
    char *want = xasprintf("sqlite://%s/omniva.db", home);
    assert_string_equal(om_config_store_url(c), want);
    free(want);
    om_config_free(c);
}

static void test_path_helpers(void **state)
{
    (void)state;
    static const struct {
        const char *home, *path, *rel;
    } to[] = {{"/ws", "/ws/media/a.mp4", "media/a.mp4"},
              {"/ws/", "/ws/media/a.mp4", "media/a.mp4"},
              {"/ws", "/ws", "."},
              {"/ws", "/ws2/a.mp4", "/ws2/a.mp4"},
              {"/ws", "/other/a.mp4", "/other/a.mp4"},
              {"/ws", "media/a.mp4", "media/a.mp4"},
              {NULL, "/ws/a", "/ws/a"},
              {"", "/ws/a", "/ws/a"},
              {"/", "/a/b", "a/b"}};
    for (size_t i = 0; i < OM_ARRAY_LEN(to); i++) {
        char *r = om_path_to_home_rel(to[i].home, to[i].path);
        assert_string_equal(r, to[i].rel);
        free(r);
    }
    static const struct {
        const char *home, *path, *abs;
    } from[] = {{"/ws", "media/a.mp4", "/ws/media/a.mp4"},
                {"/ws/", "./media/a.mp4", "/ws/media/a.mp4"},
                {"/ws", ".", "/ws"},
                {"/ws", "/other/a.mp4", "/other/a.mp4"},
                {NULL, "media/a", "media/a"},
                {"/", "a", "/a"}};
    for (size_t i = 0; i < OM_ARRAY_LEN(from); i++) {
        char *r = om_path_from_home(from[i].home, from[i].path);
        assert_string_equal(r, from[i].abs);
        free(r);
    }
    assert_null(om_path_to_home_rel("/ws", NULL));
    assert_null(om_path_from_home("/ws", NULL));
    /* round trip */
    char *rel = om_path_to_home_rel("/a/ws", "/a/ws/media/renders/c.mp4");
    char *abs = om_path_from_home("/b/moved", rel);
    assert_string_equal(abs, "/b/moved/media/renders/c.mp4");
    free(rel);
    free(abs);
}

static void test_suggestions(void **state)
{
    (void)state;
    assert_int_equal(om_edit_distance("crf", "crf"), 0);
    assert_int_equal(om_edit_distance("cfr", "crf"), 2);
    assert_int_equal(om_edit_distance("Kitten", "sitting"), 3);
    assert_string_equal(om_setting_suggest("editor.cfr"), "editor.crf");
    assert_string_equal(om_setting_suggest("scraper.backfil"), "scraper.backfill");
    assert_string_equal(om_setting_suggest("ratelimit.youtub"), "ratelimit.youtube");
    assert_null(om_setting_suggest("completely.unrelated_name"));
    om_suggest s;
    om_suggest_init(&s, "colr");
    om_suggest_offer(&s, "font");
    om_suggest_offer(&s, "color");
    assert_string_equal(om_suggest_best(&s), "color");
    om_suggest_init(&s, "zzzzzz");
    om_suggest_offer(&s, "color");
    assert_null(om_suggest_best(&s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_rows_are_valid),
        cmocka_unit_test(test_null_config_is_the_defaults),
        cmocka_unit_test(test_unknown_key_in_code_aborts),
        cmocka_unit_test(test_load_refuses_with_key_and_line),
        cmocka_unit_test(test_origin_precedence),
        cmocka_unit_test(test_paths_resolve_against_home),
        cmocka_unit_test(test_rendered_file_validates),
        cmocka_unit_test(test_path_helpers),
        cmocka_unit_test(test_suggestions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
