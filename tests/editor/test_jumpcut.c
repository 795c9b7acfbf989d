/* test_jumpcut.c: jump cuts and audiograms in the one-pass render. A generated talk (tone
 * bursts at known word times over a test pattern, pauses of known length): the pauses over
 * the threshold are found, the render lasts the input minus the cut time (within a frame),
 * the words' tones sit where the re-timed captions say (measured in the output audio), the
 * caption events moved by exactly the time cut before them; an audio-only file becomes an
 * audiogram (waveform or spectrum, title card, captions) in one ffmpeg pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/audio.h"
#include "media/captions.h"
#include "media/editplan.h"
#include "media/jumpcut.h"
#include "media/render.h"

#include <math.h>

static char *g_dir;

/* word k: [WS[k], WE[k]]; gaps 0.3, 1.4 (cut), 0.2, 1.0 (cut), 0.5, 2.0 (cut), 0.3 */
static const double WS[] = {0.50, 1.10, 2.90, 3.50, 4.90, 5.80, 8.20, 8.90};
static const double WE[] = {0.80, 1.50, 3.30, 3.90, 5.30, 6.30, 8.60, 9.40};
static const char *const WT[] = {"one", "two", "three", "four", "five", "six", "seven", "eight"};
#define NW 8
#define KEEP 0.08
#define FPS 30.0

static void run_ok(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 180000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code != 0)
        fail_msg("%s failed: %s", argv[0], r.err);
    om_proc_result_release(&r);
}

static char *path_in(const char *name)
{
    return xasprintf("%s/%s", g_dir, name);
}

static char *tone_expr(void)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "0.5*sin(2*PI*440*t)*(0");
    for (int k = 0; k < NW; k++)
        sb_printf(&sb, "+between(t\\,%.2f\\,%.2f)", WS[k], WE[k]);
    sb_puts(&sb, ")");
    return sb_detach(&sb);
}

static int setup(void **state)
{
    (void)state;
    g_dir = xstrdup("/tmp/omniva-jumpcut-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char *src = path_in("talk.mp4"), *pod = path_in("podcast.m4a"), *ex = tone_expr();
    char *aev = xasprintf("aevalsrc=%s:s=48000:d=10", ex);
    const char *a[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                       "testsrc2=s=1280x720:r=30:d=10", "-f", "lavfi", "-i", aev, "-c:v",
                       "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", src, NULL};
    run_ok(a);
    const char *b[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                       "-i", aev, "-c:a", "aac", "-b:a", "96k", pod, NULL};
    run_ok(b);
    free(aev);
    free(ex);
    free(src);
    free(pod);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    om_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static json_t *talk_words(void)
{
    json_t *w = json_array();
    for (int k = 0; k < NW; k++)
        json_array_append_new(w, json_pack("{s:s,s:f,s:f,s:f}", "w", WT[k], "start", WS[k], "end",
                                           WE[k], "conf", 0.95));
    return w;
}

static void test_find_and_map(void **state)
{
    (void)state;
    json_t *w = talk_words(), *seg = NULL;
    double removed = 0;
    int n = 0;
    assert_int_equal(om_jumpcut_find(&seg, &removed, &n, w, 0.2, 9.8, 0.6, KEEP, FPS), OM_OK);
    assert_non_null(seg);
    assert_int_equal(n, 3);
    assert_int_equal(json_array_size(seg), 4);
    double want = (1.4 - 2 * KEEP) + (1.0 - 2 * KEEP) + (2.0 - 2 * KEEP);
    assert_true(fabs(removed - want) <= 3.0 / FPS);
    assert_true(fabs(om_jumpcut_kept(seg) - (9.6 - removed)) < 1e-9);
    /* boundaries on the frame grid of the clip, speech never inside a removed span */
    size_t i;
    json_t *s;
    json_array_foreach(seg, i, s) {
        for (int e = 0; e < 2; e++) {
            double t = json_number_value(json_array_get(s, (size_t)e)) - 0.2;
            if (!(i + 1 == json_array_size(seg) && e == 1))
                assert_true(fabs(t * FPS - round(t * FPS)) < 1e-6);
        }
    }
    for (int k = 0; k < NW; k++) {
        int inside = 0;
        json_array_foreach(seg, i, s)
            inside |= WS[k] >= json_number_value(json_array_get(s, 0)) &&
                      WE[k] <= json_number_value(json_array_get(s, 1));
        assert_true(inside);
    }
    /* mapping: word 2 follows the first cut */
    double m2 = om_jumpcut_map(seg, 0.2, 9.8, WS[2]);
    assert_true(fabs(m2 - (WS[2] - 0.2 - (1.4 - 2 * KEEP))) <= 1.0 / FPS);
    assert_true(fabs(om_jumpcut_map(seg, 0.2, 9.8, WS[0]) - (WS[0] - 0.2)) < 1e-9);
    /* a pause under the threshold is not cut; nothing to cut gives NULL */
    json_t *none = NULL;
    assert_int_equal(om_jumpcut_find(&none, &removed, &n, w, 0.2, 9.8, 2.5, KEEP, FPS), OM_OK);
    assert_null(none);
    assert_int_equal(n, 0);
    assert_int_equal(om_jumpcut_find(&none, NULL, NULL, w, 5, 1, 0.6, KEEP, FPS), OM_EINVAL);
    json_decref(seg);
    json_decref(w);
}

/* onsets (rising edges of the 440 Hz tone's energy, 5 ms hop) in the output audio */
static size_t onsets(const char *path, double *out, size_t cap)
{
    om_pcm pcm = {0};
    assert_int_equal(om_audio_decode_16k(path, 0, 0, &pcm), OM_OK);
    size_t hop = 80, n = 0;
    int on = 0;
    for (size_t i = 0; i + hop <= pcm.n && n < cap; i += hop) {
        double e = 0;
        for (size_t k = 0; k < hop; k++)
            e += fabs((double)pcm.samples[i + k]);
        e /= (double)hop;
        if (!on && e > 2000) {
            out[n++] = (double)i / pcm.rate;
            on = 1;
        } else if (on && e < 300) {
            on = 0;
        }
    }
    om_pcm_release(&pcm);
    return n;
}

static void test_render_with_jump_cuts(void **state)
{
    (void)state;
    const double start = 0.2, end = 9.8;
    json_t *w = talk_words(), *seg = NULL;
    double removed = 0;
    int n = 0;
    assert_int_equal(om_jumpcut_find(&seg, &removed, &n, w, start, end, 0.6, KEEP, FPS), OM_OK);
    double kept = om_jumpcut_kept(seg);
    /* captions on the cut timeline */
    json_t *rw = om_jumpcut_retime_words(w, seg, start, end);
    om_caption_style st;
    om_caption_style_default(&st);
    om_captions *c = NULL;
    assert_int_equal(om_captions_build(&c, rw, start, start + kept, &st), OM_OK);
    assert_int_equal(c->nwords, NW);
    char *ass = path_in("cut.ass"), *src = path_in("talk.mp4"), *out = path_in("cut.mp4");
    assert_int_equal(om_write_file_atomic(ass, c->ass, strlen(c->ass)), OM_OK);
    json_t *plan = json_pack("{s:s, s:f, s:f, s:{s:s}, s:O, s:{s:s}, s:n, s:n, s:{s:i}}", "source",
                             src, "start", start, "end", end, "reframe", "mode", "center",
                             "cuts", seg, "captions", "ass", ass, "logo", "loudness", "output",
                             "fps", 30);
    om_render_result res;
    memset(&res, 0, sizeof(res));
    if (om_render_file(plan, out, NULL, &res) != OM_OK)
        fail_msg("render: %s", om_error_msg());
    assert_non_null(strstr(res.command, "concat=n=4:v=1:a=0"));
    assert_non_null(strstr(res.command, "concat=n=4:v=0:a=1"));
    assert_non_null(strstr(res.command, "atrim=start="));
    /* one ffmpeg pass: a single -filter_complex */
    assert_null(strstr(strstr(res.command, "-filter_complex") + 1, "-filter_complex"));
    om_render_info info;
    assert_int_equal(om_render_probe(out, &info), OM_OK);
    printf("[ jumpcut ] input %.3f s, %d pauses, cut %.3f s, output %.3f s (want %.3f)\n",
           end - start, n, removed, info.duration, end - start - removed);
    assert_true(fabs(info.duration - (end - start - removed)) <= 1.0 / FPS + 0.025);
    /* the tone of every word starts where its (re-timed) caption event starts */
    double on[32];
    size_t no = onsets(out, on, 32);
    assert_int_equal(no, NW);
    double worst = 0;
    for (int k = 0; k < NW; k++) {
        double cut_before = (WS[k] - start) - om_jumpcut_map(seg, start, end, WS[k]);
        double ev = -1;
        for (size_t i = 0; i < c->nevents; i++)
            if (c->events[i].word == (size_t)k) {
                ev = c->events[i].start;
                break;
            }
        assert_true(ev >= 0);
        /* the caption moved by exactly the time cut before its word */
        assert_true(fabs(ev - (WS[k] - start - cut_before)) <= 0.011);
        worst = fmax(worst, fabs(on[k] - ev));
    }
    printf("[ jumpcut ] worst caption-vs-audio onset error %.3f s\n", worst);
    assert_true(worst <= 0.04);
    om_render_result_release(&res);
    om_captions_free(c);
    json_decref(plan);
    json_decref(rw);
    json_decref(seg);
    json_decref(w);
    free(ass);
    free(src);
    free(out);
}

static void test_audiogram(void **state)
{
    (void)state;
    json_t *w = talk_words();
    om_caption_style st;
    om_caption_style_default(&st);
    om_captions *c = NULL;
    assert_int_equal(om_captions_build(&c, w, 0.2, 9.8, &st), OM_OK);
    char *ass = path_in("pod.ass"), *src = path_in("podcast.m4a");
    assert_int_equal(om_write_file_atomic(ass, c->ass, strlen(c->ass)), OM_OK);
    static const char *const visuals[] = {"waves", "spectrum"};
    for (int v = 0; v < 2; v++) {
        char *out = xasprintf("%s/pod-%s.mp4", g_dir, visuals[v]);
        json_t *plan = json_pack(
            "{s:s, s:f, s:f, s:{s:s}, s:{s:s}, s:n, s:{s:s, s:s, s:s}, s:{s:i,s:i}}", "source",
            src, "start", 0.2, "end", 9.8, "reframe", "mode", "center", "captions", "ass", ass,
            "logo", "audiogram", "visual", visuals[v], "title",
            "Why: cold brew 'changes' [everything] in 100% of mornings, really", "color",
            "#33CCFF", "output", "width", 540, "height", 960);
        om_render_result res;
        memset(&res, 0, sizeof(res));
        if (om_render_file(plan, out, NULL, &res) != OM_OK)
            fail_msg("audiogram %s: %s", visuals[v], om_error_msg());
        assert_non_null(strstr(res.command, v ? "showspectrum=" : "showwaves="));
        assert_non_null(strstr(res.command, "drawtext="));
        assert_non_null(strstr(res.command, "ass=filename="));
        assert_null(strstr(res.command, "[0:v]"));
        assert_true(res.check.info.has_video && res.check.info.has_audio);
        assert_int_equal(res.check.info.width, 540);
        assert_true(fabs(res.check.info.duration - 9.6) <= 0.1);
        /* the frame is not a flat colour: the visual moves with the audio */
        char *png = xasprintf("%s/pod-%s.gray", g_dir, visuals[v]);
        /* (the spectrum scrolls in from the right: a later frame, a pure tone is one line) */
        const char *grab[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss",
                              v ? "5.0" : "1.2",
                              "-i", out, "-frames:v", "1", "-vf", "crop=540:320:0:320",
                              "-pix_fmt", "gray", "-f", "rawvideo", png, NULL};
        run_ok(grab);
        char *px = NULL;
        size_t len = 0;
        assert_int_equal(om_read_file(png, 0, &px, &len), OM_OK);
        assert_int_equal(len, 540 * 320);
        size_t lit = 0;
        for (size_t i = 0; i < len; i++)
            lit += (unsigned char)px[i] > 60;
        printf("[ audiogram ] %s: %zu lit pixels in the middle third\n", visuals[v], lit);
        assert_true(lit > (v ? 150u : 500u));
        free(px);
        free(png);
        om_render_result_release(&res);
        json_decref(plan);
        free(out);
    }
    /* an audiogram needs audio; a video-less source without one is refused */
    json_t *bad = json_pack("{s:s, s:f, s:f}", "source", src, "start", 0.0, "end", 2.0);
    om_render_result res;
    memset(&res, 0, sizeof(res));
    char *out = path_in("bad.mp4");
    assert_int_equal(om_render_file(bad, out, NULL, &res), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "no video stream"));
    om_error_clear();
    free(out);
    json_decref(bad);
    om_captions_free(c);
    json_decref(w);
    free(ass);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_and_map),
        cmocka_unit_test(test_render_with_jump_cuts),
        cmocka_unit_test(test_audiogram),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
