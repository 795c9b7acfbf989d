/* test_render.c: real renders of compiled edit plans on media generated here (ffmpeg lavfi):
 * the full plan (content crop following a subject, captions, logo, loudness, intro without
 * audio and outro) verified by probe + checksum, the crop really following the subject
 * (center crop does not see it), measured loudness near the target, progress reporting,
 * cancellation, and clear errors carrying ffmpeg's own words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/captions.h"
#include "media/editplan.h"
#include "media/render.h"

#include <math.h>
#include <unistd.h>

static char *g_dir;

static void ffmpeg_ok(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 120000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code != 0)
        fail_msg("ffmpeg failed: %s", r.err);
    om_proc_result_release(&r);
}

static char *path_in(const char *name)
{
    return xasprintf("%s/%s", g_dir, name);
}

static int setup(void **state)
{
    (void)state;
    g_dir = xstrdup("/tmp/omniva-render-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    /* source: 12 s 1920x1080, a white square at the left until t=5, then at the right;
     * a quiet 440 Hz tone (about -48 LUFS) */
    char *src = path_in("src.mp4"), *intro = path_in("intro.mp4"), *outro = path_in("outro.mp4"),
         *logo = path_in("logo.png");
    const char *a1[] = {"ffmpeg",
                        "-hide_banner",
                        "-loglevel",
                        "error",
                        "-y",
                        "-f",
                        "lavfi",
                        "-i",
                        "color=c=0x202020:s=1920x1080:r=30:d=12",
                        "-f",
                        "lavfi",
                        "-i",
                        "color=c=white:s=200x200:r=30:d=12",
                        "-f",
                        "lavfi",
                        "-i",
                        "sine=f=440:sample_rate=48000:d=12",
                        "-filter_complex",
                        "[0:v][1:v]overlay=x='if(lt(t,5),200,1500)':y=440,format=yuv420p[v];"
                        "[2:a]volume=-26dB[a]",
                        "-map",
                        "[v]",
                        "-map",
                        "[a]",
                        "-c:v",
                        "libx264",
                        "-preset",
                        "ultrafast",
                        "-g",
                        "30",
                        "-c:a",
                        "aac",
                        "-shortest",
                        src,
                        NULL};
    ffmpeg_ok(a1);
    /* intro: 1 s 1280x720 with audio; outro: 1 s 720x1280 without audio */
    const char *a2[] = {"ffmpeg",
                        "-hide_banner",
                        "-loglevel",
                        "error",
                        "-y",
                        "-f",
                        "lavfi",
                        "-i",
                        "testsrc2=s=1280x720:r=25:d=1",
                        "-f",
                        "lavfi",
                        "-i",
                        "sine=f=660:sample_rate=44100:d=1",
                        "-c:v",
                        "libx264",
                        "-preset",
                        "ultrafast",
                        "-c:a",
                        "aac",
                        "-shortest",
                        intro,
                        NULL};
    ffmpeg_ok(a2);
    const char *a3[] = {"ffmpeg",    "-hide_banner", "-loglevel",
                        "error",     "-y",           "-f",
                        "lavfi",     "-i",           "color=c=blue:s=720x1280:r=30:d=1",
                        "-c:v",      "libx264",      "-preset",
                        "ultrafast", outro,          NULL};
    ffmpeg_ok(a3);
    const char *a4[] = {"ffmpeg",
                        "-hide_banner",
                        "-loglevel",
                        "error",
                        "-y",
                        "-f",
                        "lavfi",
                        "-i",
                        "color=c=red:s=300x150,format=rgba",
                        "-frames:v",
                        "1",
                        logo,
                        NULL};
    ffmpeg_ok(a4);
    free(src);
    free(intro);
    free(outro);
    free(logo);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    om_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* One gray frame of `path` at time t (1080x1920), malloc'd. */
static unsigned char *frame_at(const char *path, double t)
{
    char *raw = path_in("frame.gray");
    char ts[32];
    snprintf(ts, sizeof(ts), "%.3f", t);
    const char *argv[] = {"ffmpeg", "-hide_banner", "-loglevel", "error",     "-y", "-ss",
                          ts,       "-i",           path,        "-frames:v", "1",  "-pix_fmt",
                          "gray",   "-f",           "rawvideo",  raw,         NULL};
    ffmpeg_ok(argv);
    char *px = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(raw, 0, &px, &len), OM_OK);
    assert_int_equal(len, 1080 * 1920);
    unlink(raw);
    free(raw);
    return (unsigned char *)px;
}

/* fraction of bright pixels in rows [y0, y1) */
static double bright(const unsigned char *px, int y0, int y1)
{
    size_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < 1080; x++)
            n += px[(size_t)y * 1080 + x] > 200;
    return (double)n / ((double)(y1 - y0) * 1080);
}

/* Integrated loudness (LUFS) of `path` [ss, ss+t] measured by ffmpeg's ebur128 filter. */
static double measure_lufs(const char *path, double ss, double t)
{
    char a[32], b[32];
    snprintf(a, sizeof(a), "%.3f", ss);
    snprintf(b, sizeof(b), "%.3f", t);
    const char *argv[] = {"ffmpeg",  "-hide_banner", "-nostats", "-ss",  a,     "-t",
                          b,         "-i",           path,       "-map", "0:a", "-af",
                          "ebur128", "-f",           "null",     "-",    NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 60000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    const char *sum = strstr(r.err, "Summary:");
    assert_non_null(sum);
    const char *il = strstr(sum, "I:");
    assert_non_null(il);
    double lufs = strtod(il + 2, NULL);
    om_proc_result_release(&r);
    return lufs;
}

typedef struct progress_log {
    int calls, finished;
    double last, total;
    int monotonic;
} progress_log;

static void on_progress(void *ud, double done, double total, int finished)
{
    progress_log *pl = ud;
    if (done + 1e-9 < pl->last)
        pl->monotonic = 0;
    pl->last = done;
    pl->total = total;
    pl->calls++;
    pl->finished += finished;
}

static json_t *base_plan(const char *mode)
{
    char *src = path_in("src.mp4");
    json_t *p =
        json_pack("{s:s, s:f, s:f, s:{s:s, s:i}, s:{s:s}}", "source", src, "start", 0.5, "end",
                  11.5, "output", "preset", "ultrafast", "crf", 30, "reframe", "mode", mode);
    free(src);
    return p;
}

static void test_full_plan(void **state)
{
    (void)state;
    json_t *plan = base_plan("content");
    /* the subject: centre x = 300/1920 until 5 s, then 1600/1920 */
    json_object_set_new(json_object_get(plan, "reframe"), "track",
                        json_pack("[[f,f],[f,f],[f,f],[f,f]]", 0.0, 300.0 / 1920, 4.99,
                                  300.0 / 1920, 5.0, 1600.0 / 1920, 12.0, 1600.0 / 1920));
    /* captions from word timings */
    json_t *words = json_array();
    const char *ws[] = {"Look", "at", "the", "square", "it", "moves", "right", "now"};
    for (int i = 0; i < 8; i++)
        json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", ws[i], "start",
                                               1.0 + i * 0.5, "end", 1.4 + i * 0.5, "conf", 0.9));
    om_caption_style st;
    om_caption_style_default(&st);
    om_captions *cap = NULL;
    assert_int_equal(om_captions_build(&cap, words, 0.5, 11.5, &st), OM_OK);
    char *ass = path_in("clip.ass");
    assert_int_equal(om_write_file_atomic(ass, cap->ass, strlen(cap->ass)), OM_OK);
    json_object_set_new(plan, "captions", json_pack("{s:s}", "ass", ass));
    char *logo = path_in("logo.png"), *intro = path_in("intro.mp4"), *outro = path_in("outro.mp4");
    json_object_set_new(plan, "logo",
                        json_pack("{s:s,s:s,s:f,s:f}", "path", logo, "position", "top_left",
                                  "scale", 0.2, "opacity", 1.0));
    json_object_set_new(plan, "loudness",
                        json_pack("{s:i,s:f}", "target_lufs", -14, "true_peak", -1.5));
    json_object_set_new(plan, "intro", json_pack("{s:s}", "path", intro));
    json_object_set_new(plan, "outro", json_pack("{s:s}", "path", outro));

    char *out = path_in("full.mp4");
    progress_log pl = {0, 0, 0, 0, 1};
    om_render_opts ro = {.timeout_ms = 300000, .on_progress = on_progress, .ud = &pl};
    om_render_result res;
    int rc = om_render_file(plan, out, &ro, &res);
    if (rc)
        fail_msg("render: %s", om_error_msg());
    printf("[ render ] full plan: %.2f s wall, %s, %lld bytes\n", res.seconds, res.vcodec,
           (long long)res.check.size);
    /* verified: 11 s clip + 1 s intro + 1 s outro, 1080x1920, h264+aac, checksum */
    assert_true(fabs(res.check.info.duration - 13.0) <= 0.1);
    assert_int_equal(res.check.info.width, 1080);
    assert_int_equal(res.check.info.height, 1920);
    assert_string_equal(res.check.info.vcodec, "h264");
    assert_string_equal(res.check.info.acodec, "aac");
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(out, sha), OM_OK);
    assert_string_equal(sha, res.check.sha256);
    char *partial = xasprintf("%s.partial", out);
    assert_false(om_file_exists(partial));
    free(partial);
    /* one ffmpeg invocation with one filtergraph */
    assert_non_null(strstr(res.command, "-filter_complex"));
    assert_non_null(strstr(res.command, "concat=n=3"));
    /* progress: monotonic, ends with progress=end once, near the full duration */
    assert_true(pl.calls >= 2);
    assert_true(pl.monotonic);
    assert_int_equal(pl.finished, 1);
    assert_true(fabs(pl.total - 13.0) < 0.01);
    assert_true(pl.last > 12.5);

    /* the crop follows the subject: in the main part (after the 1 s intro) the white square
     * is in frame on the left (clip t=1) and, after the pan, on the right (clip t=9) */
    unsigned char *f1 = frame_at(out, 1.0 + 1.0), *f2 = frame_at(out, 1.0 + 9.0);
    /* square spans 200 px of a 606 px crop window: ~1/3 of the width, in the middle rows */
    assert_true(bright(f1, 700, 1200) > 0.2);
    assert_true(bright(f2, 700, 1200) > 0.2);
    /* the logo (red, top-left) is there: the top-left corner is not dark gray */
    unsigned char *f0 = f1;
    assert_true(f0[(size_t)120 * 1080 + 120] > 50);
    free(f1);
    free(f2);

    /* the clip's audio normalised to about -14 LUFS (the source tone is near -48); measured
     * on the main part only (after the 1 s intro, before the outro) */
    double lufs = measure_lufs(out, 1.0, 11.0);
    printf("[ render ] loudnorm: integrated loudness %.1f LUFS (target -14)\n", lufs);
    assert_true(fabs(lufs - (-14.0)) < 2.0);

    om_render_result_release(&res);
    om_captions_free(cap);
    json_decref(words);
    json_decref(plan);
    free(out);
    free(ass);
    free(logo);
    free(intro);
    free(outro);
}

static void test_center_crop_misses_subject(void **state)
{
    (void)state;
    /* the same source with a centre crop: the square (x 200-400 or 1500-1700) is never in the
     * middle 606 px, so the frame stays dark: the content crop test above is meaningful */
    json_t *plan = base_plan("center");
    json_object_set_new(plan, "end", json_real(3.5));
    char *out = path_in("center.mp4");
    om_render_result res;
    if (om_render_file(plan, out, NULL, &res))
        fail_msg("render: %s", om_error_msg());
    assert_true(fabs(res.check.info.duration - 3.0) <= 0.1);
    unsigned char *f = frame_at(out, 1.0);
    assert_true(bright(f, 0, 1920) < 0.001);
    free(f);
    om_render_result_release(&res);
    json_decref(plan);
    free(out);
}

static void test_blur_pad(void **state)
{
    (void)state;
    json_t *plan = base_plan("blur_pad");
    json_object_set_new(plan, "end", json_real(2.5));
    char *out = path_in("blur.mp4");
    om_render_result res;
    if (om_render_file(plan, out, NULL, &res))
        fail_msg("render: %s", om_error_msg());
    assert_int_equal(res.check.info.width, 1080);
    assert_int_equal(res.check.info.height, 1920);
    /* the whole 16:9 frame is visible in the middle band: the square (left) is in it */
    unsigned char *f = frame_at(out, 0.5);
    assert_true(bright(f, 656, 1264) > 0.005);
    free(f);
    om_render_result_release(&res);
    json_decref(plan);
    free(out);
}

/* With the clip's measured loudness the plan uses a linear gain + limiter instead of
 * loudnorm, and still lands on the target. */
static void test_loudness_measured_gain(void **state)
{
    (void)state;
    char *src = path_in("src.mp4");
    double measured = measure_lufs(src, 0.5, 4.0);
    json_t *plan = base_plan("center");
    json_object_set_new(plan, "end", json_real(4.5));
    json_object_set_new(plan, "loudness",
                        json_pack("{s:f, s:f, s:f}", "target_lufs", -16.0, "true_peak", -1.5,
                                  "measured_lufs", measured));
    char *out = path_in("gain.mp4");
    om_render_result res;
    if (om_render_file(plan, out, NULL, &res))
        fail_msg("render: %s", om_error_msg());
    assert_non_null(strstr(res.command, "volume="));
    assert_null(strstr(res.command, "loudnorm"));
    double lufs = measure_lufs(out, 0, 4.0);
    printf("[ render ] gain: source %.1f LUFS -> %.1f LUFS (target -16)\n", measured, lufs);
    assert_true(fabs(lufs - (-16.0)) < 1.0);
    assert_true(fabs(res.check.info.duration - 4.0) <= 0.1);
    om_render_result_release(&res);
    json_decref(plan);
    free(out);
    free(src);
}

static volatile int g_cancel;

static void cancel_on_first(void *ud, double done, double total, int finished)
{
    (void)ud;
    (void)done;
    (void)total;
    (void)finished;
    g_cancel = 1;
}

static void test_cancel(void **state)
{
    (void)state;
    json_t *plan = base_plan("center");
    json_object_set_new(json_object_get(plan, "output"), "preset", json_string("veryslow"));
    char *out = path_in("cancelled.mp4");
    g_cancel = 0;
    om_render_opts ro = {.cancel = &g_cancel, .on_progress = cancel_on_first};
    om_render_result res;
    int64_t t0 = om_mono_ms();
    int rc = om_render_file(plan, out, &ro, &res);
    assert_int_equal(rc, OM_ETIMEOUT);
    assert_non_null(strstr(om_error_msg(), "cancelled"));
    assert_true(om_mono_ms() - t0 < 30000);
    assert_false(om_file_exists(out));
    char *partial = xasprintf("%s.partial", out);
    assert_false(om_file_exists(partial));
    free(partial);
    om_render_result_release(&res);
    json_decref(plan);
    free(out);
}

static void test_errors_are_clear(void **state)
{
    (void)state;
    /* ffmpeg failure: the captions file does not exist; its own words reach the message */
    json_t *plan = base_plan("center");
    json_object_set_new(plan, "end", json_real(2.0));
    char *missing = path_in("no-such.ass");
    json_object_set_new(plan, "captions", json_pack("{s:s}", "ass", missing));
    char *out = path_in("err.mp4");
    om_render_result res;
    int rc = om_render_file(plan, out, NULL, &res);
    assert_int_equal(rc, OM_ERROR);
    printf("[ render ] error message: %s\n", om_error_msg());
    assert_non_null(strstr(om_error_msg(), "ffmpeg failed (exit"));
    assert_non_null(strstr(om_error_msg(), "no-such.ass"));
    om_render_result_release(&res);

    /* the clip lies beyond the source */
    json_object_del(plan, "captions");
    json_object_set_new(plan, "end", json_real(30.0));
    assert_int_equal(om_render_file(plan, out, NULL, &res), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "beyond the source"));
    om_render_result_release(&res);

    /* the source is not media */
    char *txt = path_in("not-media.mp4");
    assert_int_equal(om_write_file_atomic(txt, "hello", 5), OM_OK);
    json_object_set_new(plan, "source", json_string(txt));
    json_object_set_new(plan, "end", json_real(2.0));
    assert_int_equal(om_render_file(plan, out, NULL, &res), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "ffprobe"));
    om_render_result_release(&res);

    /* missing source */
    char *gone = path_in("gone.mp4");
    json_object_set_new(plan, "source", json_string(gone));
    assert_int_equal(om_render_file(plan, out, NULL, &res), OM_ENOTFOUND);
    om_render_result_release(&res);
    assert_false(om_file_exists(out));

    /* verification rejects an output that does not match the plan */
    om_editplan *p = NULL;
    char *src = path_in("src.mp4");
    char *txtplan = xasprintf("{\"source\":\"%s\",\"start\":0,\"end\":5}", src);
    assert_int_equal(om_editplan_parse_text(&p, txtplan), OM_OK);
    om_render_check chk;
    assert_int_equal(om_render_verify(src, p, &chk), OM_ERROR); /* 1920x1080, 12 s */
    assert_non_null(strstr(om_error_msg(), "1920x1080, want 1080x1920"));
    om_editplan_free(p);
    free(txtplan);
    free(src);
    free(gone);
    free(txt);
    free(missing);
    free(out);
    json_decref(plan);
}

static void test_resolve_fills_inputs(void **state)
{
    (void)state;
    char *src = path_in("src.mp4"), *outro = path_in("outro.mp4");
    json_t *plan = json_pack("{s:s,s:f,s:f,s:{s:s}}", "source", src, "start", 1.0, "end", 2.0,
                             "outro", "path", outro);
    assert_int_equal(om_render_resolve_plan(plan), OM_OK);
    assert_true(json_is_true(json_object_get(plan, "source_has_audio")));
    json_t *o = json_object_get(plan, "outro");
    assert_true(json_is_false(json_object_get(o, "has_audio")));
    assert_true(fabs(json_number_value(json_object_get(o, "duration")) - 1.0) < 0.05);
    om_render_info mi;
    assert_int_equal(om_render_probe(src, &mi), OM_OK);
    assert_int_equal(mi.width, 1920);
    assert_int_equal(mi.height, 1080);
    assert_true(fabs(mi.fps - 30) < 0.01);
    assert_true(mi.has_audio);
    json_decref(plan);
    free(src);
    free(outro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_fills_inputs),       cmocka_unit_test(test_full_plan),
        cmocka_unit_test(test_center_crop_misses_subject), cmocka_unit_test(test_blur_pad),
        cmocka_unit_test(test_loudness_measured_gain),     cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_errors_are_clear),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
