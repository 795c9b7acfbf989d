/* test_editplan.c: the edit-plan compiler, driven by tests/editor/cases/NNN-name.json
 * (adding a case adds no code), plus the content-crop track, its ffmpeg expression
 * (evaluated with libavutil's own evaluator), and the shell-quoted command text.
 *
 * Case file: {"plan": {...}, "env": {"vcodec": ..}?, "expect_argv_contains": [exact argv
 * elements], "expect_argv_not_contains": [..]?, "expect_argv_sequence": [consecutive
 * elements]?, "expect_filter_contains": [substrings of the -filter_complex value],
 * "expect_filter_not_contains": [..]?, "expect_error": "substring" | null}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/proc.h"
#include "media/editplan.h"

#include <dirent.h>
#include <math.h>

#include <libavutil/eval.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *cases_dir(void)
{
    const char *src = getenv("OMNIVA_SRC");
    return xasprintf("%s/tests/editor/cases", src ? src : ".");
}

static int argv_has(const om_editcmd *c, const char *s)
{
    for (size_t i = 0; i < c->argc; i++)
        if (strcmp(c->argv[i], s) == 0)
            return 1;
    return 0;
}

static int argv_count(const om_editcmd *c, const char *s)
{
    int n = 0;
    for (size_t i = 0; i < c->argc; i++)
        n += strcmp(c->argv[i], s) == 0;
    return n;
}

/* The shell form, run through /bin/sh, must give back exactly our argv. */
static void check_shell_roundtrip(const om_editcmd *c, const char *name)
{
    char *script =
        xasprintf("set -- %s; for a in \"$@\"; do printf '%%s\\001' \"$a\"; done", c->text);
    const char *argv[] = {"sh", "-c", script, NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 10000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    assert_int_equal(r.exit_code, 0);
    om_sbuf want = OM_SBUF_INIT;
    sb_puts(&want, "");
    for (size_t i = 0; i < c->argc; i++) {
        sb_puts(&want, c->argv[i]);
        sb_puts(&want, "\001");
    }
    if (strcmp(r.out, sb_str(&want)) != 0)
        fail_msg("%s: shell text does not round-trip:\n%s", name, c->text);
    sb_release(&want);
    om_proc_result_release(&r);
    free(script);
}

static void check_structure(const om_editcmd *c, const char *name)
{
    assert_string_equal(c->argv[0], "ffmpeg");
    assert_null(c->argv[c->argc]);
    if (argv_count(c, "-filter_complex") != 1)
        fail_msg("%s: want exactly one -filter_complex", name);
    /* input seeking: -ss and -t come before the first -i */
    size_t ss = 0, t = 0, i0 = 0;
    for (size_t i = 0; i < c->argc; i++) {
        if (!ss && strcmp(c->argv[i], "-ss") == 0)
            ss = i;
        if (!t && strcmp(c->argv[i], "-t") == 0)
            t = i;
        if (!i0 && strcmp(c->argv[i], "-i") == 0)
            i0 = i;
    }
    if (!(ss && t && i0 && ss < i0 && t < i0))
        fail_msg("%s: -ss/-t must precede the first -i", name);
    assert_string_equal(c->argv[c->argc - 1], "/abs/out.mp4");
    assert_true(argv_has(c, "+faststart"));
    assert_true(argv_has(c, "-nostats"));
    assert_true(argv_has(c, "pipe:1"));
    /* one encode: one -c:v */
    assert_int_equal(argv_count(c, "-c:v"), 1);
    check_shell_roundtrip(c, name);
}

static int run_case(const char *path, const char *name)
{
    json_error_t je;
    json_t *cs = json_load_file(path, 0, &je);
    if (!cs)
        fail_msg("%s: not JSON: %s", name, je.text);
    json_t *plan = json_object_get(cs, "plan");
    json_t *experr = json_object_get(cs, "expect_error");
    json_t *env = json_object_get(cs, "env");
    om_editenv e = {0};
    if (env)
        e.vcodec = json_string_value(json_object_get(env, "vcodec"));

    om_editplan *p = NULL;
    om_editcmd *c = NULL;
    int rc = om_editplan_parse(&p, plan);
    if (rc == OM_OK)
        rc = om_editplan_compile(&c, p, "/abs/out.mp4", env ? &e : NULL);
    if (json_is_string(experr)) {
        if (rc == OM_OK)
            fail_msg("%s: expected error containing '%s', got success", name,
                     json_string_value(experr));
        if (rc != OM_EINVAL)
            fail_msg("%s: expected OM_EINVAL, got %s", name, om_error_name(rc));
        if (!strstr(om_error_msg(), json_string_value(experr)))
            fail_msg("%s: error '%s' lacks '%s'", name, om_error_msg(), json_string_value(experr));
    } else {
        if (rc != OM_OK)
            fail_msg("%s: unexpected error: %s", name, om_error_msg());
        check_structure(c, name);
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(cs, "expect_argv_contains"), i,
                           v) if (!argv_has(c, json_string_value(v)))
            fail_msg("%s: argv lacks '%s':\n%s", name, json_string_value(v), c->text);
        json_array_foreach(json_object_get(cs, "expect_argv_not_contains"), i,
                           v) if (argv_has(c, json_string_value(v)))
            fail_msg("%s: argv has '%s':\n%s", name, json_string_value(v), c->text);
        json_t *seq = json_object_get(cs, "expect_argv_sequence");
        if (seq) {
            size_t n = json_array_size(seq), found = 0;
            for (size_t k = 0; k + n <= c->argc && !found; k++) {
                size_t m = 0;
                while (m < n &&
                       strcmp(c->argv[k + m], json_string_value(json_array_get(seq, m))) == 0)
                    m++;
                found = m == n;
            }
            if (!found)
                fail_msg("%s: argv lacks the sequence:\n%s", name, c->text);
        }
        json_array_foreach(json_object_get(cs, "expect_filter_contains"), i,
                           v) if (!strstr(c->filtergraph, json_string_value(v)))
            fail_msg("%s: filter lacks '%s':\n%s", name, json_string_value(v), c->filtergraph);
        json_array_foreach(json_object_get(cs, "expect_filter_not_contains"), i,
                           v) if (strstr(c->filtergraph, json_string_value(v)))
            fail_msg("%s: filter has '%s':\n%s", name, json_string_value(v), c->filtergraph);
    }
    om_editcmd_free(c);
    om_editplan_free(p);
    json_decref(cs);
    return 0;
}

static void test_cases(void **state)
{
    (void)state;
    char *dir = cases_dir();
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) {
            names = xrealloc(names, (n + 1) * sizeof(char *));
            names[n++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        run_case(path, names[i]);
        free(path);
        free(names[i]);
    }
    printf("[ editplan ] %zu data-driven cases passed\n", n);
    free(names);
    free(dir);
}

/* ---- content crop: smoothing, limits, and the ffmpeg expression ---- */

static om_editplan *content_plan(double start, double end, json_t *track, double smoothing)
{
    json_t *j =
        json_pack("{s:s, s:f, s:f, s:{s:s, s:o, s:f}}", "source", "/abs/s.mp4", "start", start,
                  "end", end, "reframe", "mode", "content", "track", track, "smoothing", smoothing);
    om_editplan *p = NULL;
    int rc = om_editplan_parse(&p, j);
    if (rc)
        fail_msg("parse: %s", om_error_msg());
    json_decref(j);
    return p;
}

/* The track expression out of the crop filter, evaluated by libavutil at time t. */
static double eval_track(const char *graph, double t)
{
    const char *a = strstr(graph, "x='clip((");
    assert_non_null(a);
    a += 9;
    const char *b = strstr(a, ")*iw-ow/2");
    assert_non_null(b);
    char *expr = xstrndup(a, (size_t)(b - a));
    const char *names[] = {"t", NULL};
    double vals[] = {t};
    double out = NAN;
    int rc = av_expr_parse_and_eval(&out, expr, names, vals, NULL, NULL, NULL, NULL, NULL, 0, NULL);
    if (rc < 0)
        fail_msg("ffmpeg cannot evaluate the track expression: %s", expr);
    free(expr);
    return out;
}

static double kf_at(double (*kf)[2], size_t n, double t)
{
    if (t <= kf[0][0])
        return kf[0][1];
    for (size_t i = 0; i + 1 < n; i++)
        if (t <= kf[i + 1][0])
            return kf[i][1] +
                   (kf[i + 1][1] - kf[i][1]) * (t - kf[i][0]) / (kf[i + 1][0] - kf[i][0]);
    return kf[n - 1][1];
}

static void test_content_track_step(void **state)
{
    (void)state;
    /* subject jumps from the left third to the right third at t=20 (source time) */
    json_t *tr =
        json_pack("[[f,f],[f,f],[f,f],[f,f]]", 10.0, 0.25, 19.9, 0.25, 20.0, 0.75, 40.0, 0.75);
    om_editplan *p = content_plan(12.0, 32.0, tr, 1.0);
    double(*kf)[2] = NULL;
    size_t n = 0;
    assert_int_equal(om_editplan_crop_keyframes(p, &kf, &n), OM_OK);
    assert_true(n >= 2 && n <= OM_EDITPLAN_MAX_KEYFRAMES);
    assert_true(fabs(kf[0][0]) < 1e-9);            /* clip time starts at 0 */
    assert_true(fabs(kf[n - 1][0] - 20.0) < 1e-6); /* and ends at end-start */
    for (size_t i = 0; i < n; i++) {
        assert_true(kf[i][1] >= 0 && kf[i][1] <= 1);
        if (i)
            assert_true(kf[i][0] > kf[i - 1][0]);
    }
    /* before the jump (clip t=8 = source 20) the crop sits left, afterwards right */
    assert_true(fabs(kf_at(kf, n, 2.0) - 0.25) < 0.01);
    assert_true(fabs(kf_at(kf, n, 16.0) - 0.75) < 0.01);
    /* smoothed and speed-limited: never faster than OM_EDITPLAN_MAX_PAN per second */
    for (double t = 0; t < 19.9; t += 0.05) {
        double v = fabs(kf_at(kf, n, t + 0.05) - kf_at(kf, n, t)) / 0.05;
        assert_true(v <= OM_EDITPLAN_MAX_PAN + 1e-6);
    }
    /* the jump takes time: halfway through the move the crop is in between */
    assert_true(kf_at(kf, n, 8.3) > 0.26 && kf_at(kf, n, 8.3) < 0.74);

    /* the compiled expression (evaluated by libavutil) equals the keyframe interpolation */
    om_editcmd *c = NULL;
    assert_int_equal(om_editplan_compile(&c, p, "/abs/out.mp4", NULL), OM_OK);
    for (double t = 0; t <= 20.0; t += 0.37)
        if (fabs(eval_track(c->filtergraph, t) - kf_at(kf, n, t)) > 2e-3)
            fail_msg("expression at t=%.2f: %.4f, keyframes say %.4f", t,
                     eval_track(c->filtergraph, t), kf_at(kf, n, t));
    om_editcmd_free(c);
    free(kf);
    om_editplan_free(p);
}

static void test_content_track_noisy_is_bounded(void **state)
{
    (void)state;
    /* 4000 noisy keyframes (10 per second) must still compile into a short expression */
    json_t *tr = json_array();
    unsigned seed = 7;
    for (int i = 0; i < 4000; i++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((seed >> 16) & 0x7fff) / 32767.0 - 0.5;
        double x = 0.5 + 0.3 * sin(i / 60.0) + 0.2 * noise;
        x = x < 0 ? 0 : x > 1 ? 1 : x;
        json_array_append_new(tr, json_pack("[f,f]", i * 0.1, x));
    }
    om_editplan *p = content_plan(30.0, 330.0, tr, 2.0);
    double(*kf)[2] = NULL;
    size_t n = 0;
    assert_int_equal(om_editplan_crop_keyframes(p, &kf, &n), OM_OK);
    assert_true(n >= 3 && n <= OM_EDITPLAN_MAX_KEYFRAMES);
    om_editcmd *c = NULL;
    assert_int_equal(om_editplan_compile(&c, p, "/abs/out.mp4", NULL), OM_OK);
    assert_true(strlen(c->filtergraph) < 8000);
    for (double t = 0; t <= 300.0; t += 7.3) {
        double v = eval_track(c->filtergraph, t);
        assert_true(v >= -1e-6 && v <= 1 + 1e-6);
        assert_true(fabs(v - kf_at(kf, n, t)) < 2e-3);
    }
    om_editcmd_free(c);
    free(kf);
    om_editplan_free(p);
}

static void test_escape_and_quote(void **state)
{
    (void)state;
    char *e = om_ff_escape_value("/a:b,c'd[e];f\\g");
    assert_string_equal(e, "/a\\\\:b\\,c\\\\\\'d\\[e\\]\\;f\\\\\\\\g");
    free(e);
    const char *argv[] = {"ffmpeg", "-i", "/x y/it's.mp4", "a=b:c", "", "$HOME", NULL};
    char *t = om_shell_join(argv);
    assert_string_equal(t, "ffmpeg -i '/x y/it'\\''s.mp4' a=b:c '' '$HOME'");
    free(t);
}

static void test_parse_text_errors(void **state)
{
    (void)state;
    om_editplan *p = NULL;
    assert_int_equal(om_editplan_parse_text(&p, "{not json"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "not JSON"));
    assert_null(p);
    assert_int_equal(om_editplan_parse_text(&p, "{\"source\":\"/a.mp4\",\"start\":1,\"end\":3,"
                                                "\"intro\":{\"path\":\"/i.mp4\",\"duration\":2}}"),
                     OM_OK);
    assert_true(fabs(om_editplan_duration(p) - 4.0) < 1e-9);
    om_editplan_free(p);
}

static void test_pick_encoder(void **state)
{
    (void)state;
    om_editplan *p = NULL;
    assert_int_equal(om_editplan_parse_text(&p, "{\"source\":\"/a.mp4\",\"start\":0,\"end\":3}"),
                     OM_OK);
    char *enc = NULL, *why = NULL;
    assert_int_equal(om_editplan_pick_encoder(p, &enc, &why), OM_OK);
    assert_string_equal(enc, "libx264");
    assert_non_null(strstr(why, "does not ask"));
    free(enc);
    free(why);
    om_editplan_free(p);
    /* asked for a GPU: h264_nvenc only when a test encode really works on this machine */
    assert_int_equal(om_editplan_parse_text(
                         &p, "{\"source\":\"/a.mp4\",\"start\":0,\"end\":3,\"gpu_required\":true}"),
                     OM_OK);
    assert_int_equal(om_editplan_pick_encoder(p, &enc, &why), OM_OK);
    const char *argv[] = {"ffmpeg",    "-hide_banner",
                          "-loglevel", "error",
                          "-f",        "lavfi",
                          "-i",        "color=c=black:s=256x256:r=30:d=0.2",
                          "-c:v",      "h264_nvenc",
                          "-f",        "null",
                          "-",         NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 30000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code == 0) {
        assert_string_equal(enc, "h264_nvenc");
    } else {
        assert_string_equal(enc, "libx264");
        assert_non_null(strstr(why, "GPU asked for"));
    }
    printf("[ encoder ] gpu_required -> %s (%s)\n", enc, why);
    om_proc_result_release(&r);
    free(enc);
    free(why);
    om_editplan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_content_track_step),
        cmocka_unit_test(test_content_track_noisy_is_bounded),
        cmocka_unit_test(test_escape_and_quote),
        cmocka_unit_test(test_parse_text_errors),
        cmocka_unit_test(test_pick_encoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
