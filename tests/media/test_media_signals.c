/* test_media_signals.c: loudness against ffmpeg's ebur128 on the same files, silences,
 * speech activity / syllable rate on espeak-ng speech, hook figures, scene cuts (hard cuts
 * at known frames, three encoder set-ups, with and without the refinement budget), motion,
 * the content-aware crop track (moving box, rotated, flat), and the raw_ai_output JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"

#include "media/audio.h"
#include "media/croptrack.h"
#include "media/loudness.h"
#include "media/probe.h"
#include "media/signals.h"
#include "media_fixture.h"

/* The cut frames of the concat below at 25 fps: 83, 153 and 201 frames in. */
static const double CUTS[] = {3.32, 6.12, 8.04};

typedef struct fx {
    char *dir;
    char *tone;       /* 10 s 1280x720 H.264 + AAC: tone 0-3, 5-7, 8.5-10 */
    char *sine;       /* 20 s mono 48 kHz wav, 1 kHz sine at -20 dBFS peak */
    char *steps;      /* 24 s stereo AAC: three levels (LRA) */
    char *cuts_gop;   /* hard cuts, x264 scenecut=0 keyint=50 (cuts inside GOPs) */
    char *cuts_x264;  /* the same, x264 defaults (scenecut I frames) */
    char *cuts_mjpg;  /* the same, intra-only MJPEG in AVI */
    char *cuts_long;  /* 60 s, cuts every 7.5 s, keyint=50: budget-limited refinement */
    char *cuts_shots; /* 36 s 320x180, a shot every 3 s, x264 defaults */
    char *box, *box_rot, *flat;
    char *sp_slow, *sp_mid, *sp_fast;
} fx;

#define SPEECH_TEXT                                                                                \
    "Today we are going to talk about how short videos are made, and why the first three "         \
    "seconds matter so much. Every creator knows that attention is the currency of the "           \
    "internet."

static int make_cuts(const char *out, const char *x264params, const char *codec)
{
    const char *fc = "[0][1][2][3]concat=n=4:v=1:a=0,format=yuv420p";
    if (strcmp(codec, "mjpeg") == 0)
        return FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=3.3", "-f", "lavfi", "-i",
                         "smptebars=s=640x360:r=25:d=2.8", "-f", "lavfi", "-i",
                         "color=c=red:s=640x360:r=25:d=1.9", "-f", "lavfi", "-i",
                         "testsrc=s=640x360:r=25:d=2.0", "-filter_complex",
                         "[0][1][2][3]concat=n=4:v=1:a=0,format=yuvj420p", "-c:v", "mjpeg", "-q:v",
                         "5", out);
    return FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=3.3", "-f", "lavfi", "-i",
                     "smptebars=s=640x360:r=25:d=2.8", "-f", "lavfi", "-i",
                     "color=c=red:s=640x360:r=25:d=1.9", "-f", "lavfi", "-i",
                     "testsrc=s=640x360:r=25:d=2.0", "-filter_complex", fc, "-c:v", "libx264",
                     "-preset", "veryfast", "-x264-params", x264params, out);
}

static int teardown(void **state);

static int setup(void **state)
{
    fx *f = xcalloc(1, sizeof(*f));
    f->dir = fx_tmpdir("media-signals");
    f->tone = fx_path(f->dir, "tone.mp4");
    f->sine = fx_path(f->dir, "sine.wav");
    f->steps = fx_path(f->dir, "steps.m4a");
    f->cuts_gop = fx_path(f->dir, "cuts_gop.mp4");
    f->cuts_x264 = fx_path(f->dir, "cuts_x264.mp4");
    f->cuts_mjpg = fx_path(f->dir, "cuts_mjpg.avi");
    f->cuts_long = fx_path(f->dir, "cuts_long.mp4");
    f->cuts_shots = fx_path(f->dir, "cuts_shots.mp4");
    f->box = fx_path(f->dir, "box.mp4");
    f->box_rot = fx_path(f->dir, "box_rot.mp4");
    f->flat = fx_path(f->dir, "flat.mp4");
    f->sp_slow = fx_path(f->dir, "slow.wav");
    f->sp_mid = fx_path(f->dir, "mid.wav");
    f->sp_fast = fx_path(f->dir, "fast.wav");

    int bad = 0;
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=10", "-f", "lavfi", "-i",
                     "aevalsrc='0.3*sin(2*PI*440*t)*(lt(t,3)+between(t,5,7)+gte(t,8.5))':"
                     "s=48000:d=10",
                     "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", f->tone);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*1000*t):s=48000:d=20", "-c:a",
                     "pcm_s16le", f->sine);
    bad |= FX_FFMPEG("-f", "lavfi", "-i",
                     "aevalsrc='(0.1*lt(t,8)+0.03*between(t,8,16)+0.2*gt(t,16))*"
                     "(sin(2*PI*1000*t)+0.5*sin(2*PI*300*t))|"
                     "(0.1*lt(t,8)+0.03*between(t,8,16)+0.2*gt(t,16))*"
                     "(sin(2*PI*1000*t)+0.5*sin(2*PI*300*t))':s=44100:d=24",
                     "-c:a", "aac", "-b:a", "160k", f->steps);
    bad |= make_cuts(f->cuts_gop, "scenecut=0:keyint=50", "x264");
    bad |= make_cuts(f->cuts_x264, "log-level=error", "x264");
    bad |= make_cuts(f->cuts_mjpg, "", "mjpeg");
    bad |=
        FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=7.5", "-f", "lavfi", "-i",
                  "mandelbrot=s=320x180:r=25", "-f", "lavfi", "-i", "testsrc=s=320x180:r=25:d=7.5",
                  "-f", "lavfi", "-i", "rgbtestsrc=s=320x180:r=25:d=7.5", "-filter_complex",
                  "[0]split[a0][a1];[1]trim=duration=7.5,setpts=PTS-STARTPTS,split[m0][m1];"
                  "[2]split[c0][c1];[3]split[d0][d1];"
                  "[a0][m0][c0][d0][a1][m1][c1][d1]concat=n=8:v=1:a=0,format=yuv420p",
                  "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "scenecut=0:keyint=50",
                  f->cuts_long);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=3", "-f", "lavfi", "-i",
                     "smptehdbars=s=320x180:r=30:d=3", "-f", "lavfi", "-i",
                     "mandelbrot=s=320x180:r=30,trim=duration=3", "-f", "lavfi", "-i",
                     "testsrc=s=320x180:r=30:d=3", "-filter_complex",
                     "[0]split=3[a0][a1][a2];[1]split=3[b0][b1][b2];[2]split=3[c0][c1][c2];"
                     "[3]split=3[d0][d1][d2];[a0][b0][c0][d0][a1][b1][c1][d1][a2][b2][c2][d2]"
                     "concat=n=12:v=1:a=0,format=yuv420p",
                     "-c:v", "libx264", "-preset", "veryfast", f->cuts_shots);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "color=c=gray:s=640x360:r=25:d=5", "-f", "lavfi", "-i",
                     "color=c=white:s=80x80:r=25:d=5", "-filter_complex",
                     "[0][1]overlay=x='40+100*t':y=140:shortest=1,format=yuv420p", "-c:v",
                     "libx264", "-preset", "veryfast", f->box);
    bad |= FX_FFMPEG("-i", f->box, "-c", "copy", "-metadata:s:v:0", "rotate=90", f->box_rot);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "color=c=gray:s=640x360:r=25:d=3", "-c:v", "libx264",
                     "-preset", "veryfast", f->flat);
    const char *rates[] = {"100", "160", "260"};
    char *outs[] = {f->sp_slow, f->sp_mid, f->sp_fast};
    for (int i = 0; i < 3; i++)
        bad |= fx_run(
            (const char *const[]){"espeak-ng", "-s", rates[i], "-w", outs[i], SPEECH_TEXT, NULL},
            NULL);
    *state = f;
    if (bad) {
        teardown(state);
        *state = NULL;
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    om_rmtree(f->dir);
    char **all[] = {&f->dir,       &f->tone,      &f->sine,      &f->steps,      &f->cuts_gop,
                    &f->cuts_x264, &f->cuts_mjpg, &f->cuts_long, &f->cuts_shots, &f->box,
                    &f->box_rot,   &f->flat,      &f->sp_slow,   &f->sp_mid,     &f->sp_fast};
    for (size_t i = 0; i < OM_ARRAY_LEN(all); i++)
        free(*all[i]);
    free(f);
    return 0;
}

static void audio_signals_of(const char *path, int rate, om_audio_signals *out)
{
    om_pcm pcm;
    if (om_audio_decode(path, 0, 0, rate, &pcm) != OM_OK)
        fail_msg("decode %s: %s", path, om_error_msg());
    assert_int_equal(om_audio_signals_compute(&pcm, NULL, out), OM_OK);
    om_pcm_release(&pcm);
}

static void test_loudness_sine_vs_ffmpeg(void **state)
{
    fx *f = *state;
    double ff_i, ff_lra;
    assert_int_equal(fx_ffmpeg_ebur128(f->sine, &ff_i, &ff_lra), 0);
    om_audio_signals s;
    audio_signals_of(f->sine, 16000, &s);
    fprintf(stderr, "sine: ours I=%.2f LRA=%.2f, ffmpeg I=%.1f LRA=%.1f\n", s.integrated, s.range,
            ff_i, ff_lra);
    assert_true(fabs(s.integrated - ff_i) <= 0.5);
    assert_true(fabs(s.integrated - (-23.01)) <= 0.2); /* 1 kHz, amplitude 0.1, mono */
    assert_true(s.range < 0.5);
    assert_true(fabs(s.peak_dbfs - (-20.0)) < 0.1);
    assert_int_equal(s.n_short_term, 20);
    for (size_t i = 0; i < s.n_short_term; i++)
        assert_true(fabs(s.short_term[i] - s.integrated) < 0.3);
    assert_int_equal(s.n_silences, 0);
    assert_true(fabs(om_audio_loudness_between(&s, 5.0, 9.0) - s.integrated) < 0.2);
    om_audio_signals_release(&s);
}

/* loudness.c on its own: blocks, the dual-mono factor, the gate, bad input */
static void test_loudness_measure(void **state)
{
    fx *f = *state;
    om_pcm pcm;
    assert_int_equal(om_audio_decode(f->sine, 0, 0, 48000, &pcm), OM_OK);
    om_loudness l;
    assert_int_equal(om_loudness_measure(&pcm, &l), OM_OK);
    assert_int_equal(l.n_blocks, 200); /* 20 s of 100 ms sub-blocks */
    assert_int_equal(l.n_full, 200);
    assert_true(fabs(l.integrated - (-23.01)) < 0.02); /* at 48 kHz: the published filter */
    assert_true(l.range < 0.1);
    /* the same samples from a stereo source count twice: +3.01 dB */
    pcm.src_channels = 2;
    om_loudness l2;
    assert_int_equal(om_loudness_measure(&pcm, &l2), OM_OK);
    assert_true(fabs(l2.integrated - l.integrated - 3.01) < 0.01);
    om_loudness_release(&l2);
    /* 10 s of silence then 10 s of tone: the gate drops the silent 400 ms blocks (the plain
     * mean would be 3 dB lower); of the 100 blocks left, 97 hold only tone and 3 straddle
     * the onset with 1/4, 2/4, 3/4 of its power: 10*log10(98.5 / 100) = -0.066 dB */
    memset(pcm.samples, 0, pcm.n / 2 * sizeof(int16_t));
    assert_int_equal(om_loudness_measure(&pcm, &l2), OM_OK);
    assert_true(fabs(l2.integrated - (l.integrated + 3.01 + 10.0 * log10(0.985))) < 0.01);
    assert_true(om_loudness_gated(l2.block_power, 50) == OM_LUFS_FLOOR); /* all silent */
    om_loudness_release(&l2);
    om_loudness_release(&l);
    pcm.rate = 4000;
    assert_int_equal(om_loudness_measure(&pcm, &l), OM_EINVAL);
    assert_null(l.block_power);
    om_loudness_release(&l);
    om_pcm_release(&pcm);
}

static void test_loudness_steps_vs_ffmpeg(void **state)
{
    fx *f = *state;
    double ff_i, ff_lra;
    assert_int_equal(fx_ffmpeg_ebur128(f->steps, &ff_i, &ff_lra), 0);
    om_audio_signals s16, s48;
    audio_signals_of(f->steps, 16000, &s16);
    audio_signals_of(f->steps, 48000, &s48);
    fprintf(stderr, "steps: ours I=%.2f LRA=%.2f (48k: %.2f %.2f), ffmpeg I=%.1f LRA=%.1f\n",
            s16.integrated, s16.range, s48.integrated, s48.range, ff_i, ff_lra);
    /* stereo source measured as dual mono: identical channels, so BS.1770 exactly */
    assert_true(fabs(s16.integrated - ff_i) <= 0.5);
    assert_true(fabs(s48.integrated - ff_i) <= 0.5);
    assert_true(fabs(s16.range - ff_lra) <= 1.0);
    assert_true(fabs(s16.integrated - s48.integrated) <= 0.3);
    /* the first two segments differ by 20*log10(0.1/0.03) = 10.46 dB */
    double a = om_audio_loudness_between(&s16, 1.0, 7.0);
    double b = om_audio_loudness_between(&s16, 9.0, 15.0);
    assert_true(fabs((a - b) - 10.46) < 0.5);
    /* short-term follows the steps */
    assert_true(fabs(s16.short_term[4] - a) < 0.5);
    assert_true(fabs(s16.short_term[12] - b) < 0.5);
    assert_true(s16.short_term[20] > a + 5.0);
    /* hook of the whole file: the opening (level 0.1) is below the rest (loud end dominates) */
    assert_true(s16.hook.delta_lu < 0);
    om_audio_signals_release(&s16);
    om_audio_signals_release(&s48);
}

static void test_silences_and_hook(void **state)
{
    fx *f = *state;
    om_audio_signals s;
    audio_signals_of(f->tone, 16000, &s);
    assert_int_equal(s.n_silences, 2);
    assert_true(fabs(s.silences[0].start - 3.0) < 0.1 && fabs(s.silences[0].end - 5.0) < 0.1);
    assert_true(fabs(s.silences[1].start - 7.0) < 0.1 && fabs(s.silences[1].end - 8.5) < 0.1);
    fprintf(stderr, "silences: [%.3f, %.3f] [%.3f, %.3f]\n", s.silences[0].start, s.silences[0].end,
            s.silences[1].start, s.silences[1].end);
    assert_int_equal(s.n_short_term, 10);
    assert_true(s.short_term[3] < s.short_term[1] - 1.0); /* second 3 sits in the pause */

    om_audio_hook h;
    assert_int_equal(om_audio_hook_at(&s, 3.2, 10.0, 3.0, &h), OM_OK);
    assert_true(fabs(h.lead_silence - 1.8) < 0.1); /* 1.8 s of dead air in the opening */
    assert_true(fabs(h.delta_lu) < 1.0);           /* gated: the same tone sounds in both parts */
    assert_true(fabs(h.active_fraction - 1.2 / 3.0) < 0.05);
    assert_int_equal(om_audio_hook_at(&s, 0.0, 10.0, 3.0, &h), OM_OK);
    assert_true(h.lead_silence == 0.0);
    assert_true(h.active_fraction > 0.95);
    assert_true(fabs(h.delta_lu) < 1.0);
    assert_int_equal(om_audio_hook_at(&s, 11.0, 12.0, 3.0, &h), OM_EINVAL);
    assert_int_equal(om_audio_hook_at(&s, 5.0, 5.0, 3.0, &h), OM_EINVAL);
    om_audio_signals_release(&s);

    /* options: a longer minimum keeps only the 2 s pause */
    om_pcm pcm;
    assert_int_equal(om_audio_decode_16k(f->tone, 0, 0, &pcm), OM_OK);
    om_audio_opts o = OM_AUDIO_OPTS_DEFAULT;
    o.silence_min = 1.6;
    assert_int_equal(om_audio_signals_compute(&pcm, &o, &s), OM_OK);
    assert_int_equal(s.n_silences, 1);
    assert_true(fabs(s.silences[0].start - 3.0) < 0.1);
    om_audio_signals_release(&s);
    o.silence_db = 3.0;
    assert_int_equal(om_audio_signals_compute(&pcm, &o, &s), OM_EINVAL);
    /* a span decoded from the middle keeps media time */
    om_pcm_release(&pcm);
    assert_int_equal(om_audio_decode_16k(f->tone, 2.0, 4.0, &pcm), OM_OK);
    assert_int_equal(om_audio_signals_compute(&pcm, NULL, &s), OM_OK);
    assert_int_equal(s.n_silences, 1);
    assert_true(fabs(s.silences[0].start - 3.0) < 0.1 && fabs(s.silences[0].end - 5.0) < 0.1);
    om_audio_signals_release(&s);
    om_pcm_release(&pcm);

    /* an empty PCM is fine */
    om_pcm empty = {.rate = 16000};
    assert_int_equal(om_audio_signals_compute(&empty, NULL, &s), OM_OK);
    assert_true(s.integrated == OM_LUFS_FLOOR);
    assert_int_equal(s.n_short_term, 0);
    om_audio_signals_release(&s);
}

static void test_speech_rate(void **state)
{
    fx *f = *state;
    om_audio_signals slow, mid, fast, tone;
    audio_signals_of(f->sp_slow, 16000, &slow);
    audio_signals_of(f->sp_mid, 16000, &mid);
    audio_signals_of(f->sp_fast, 16000, &fast);
    audio_signals_of(f->tone, 16000, &tone);
    fprintf(stderr,
            "syllables/s: slow %.2f mid %.2f fast %.2f tone %.2f; wpm est %.0f; "
            "activity %.2f\n",
            slow.syllable_rate, mid.syllable_rate, fast.syllable_rate, tone.syllable_rate,
            mid.wpm_estimate, mid.speech_activity);
    assert_true(slow.syllable_rate < mid.syllable_rate);
    assert_true(mid.syllable_rate < fast.syllable_rate);
    /* the text has 32 words (about 49 syllables) */
    double words_per_min = 32.0 / mid.duration * 60.0;
    assert_true(fabs(mid.wpm_estimate - words_per_min) < 0.3 * words_per_min);
    assert_true(mid.speech_activity > 0.5 && mid.speech_activity < 0.97);
    assert_true(tone.syllable_rate < 1.0); /* three tone bursts are not speech */
    om_audio_signals_release(&slow);
    om_audio_signals_release(&mid);
    om_audio_signals_release(&fast);
    om_audio_signals_release(&tone);
}

/* Every expected cut found within tol, and nothing else. */
static void expect_cuts(const char *name, const om_video_signals *v, const double *want,
                        size_t nwant, double tol)
{
    char got[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < v->n_scenes && len < sizeof(got) - 16; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, " %.2f", v->scenes[i]);
    fprintf(stderr, "%s: cuts%s (keyframes %zu decoded %zu refined %zu of %zu frames)\n", name, got,
            v->n_keyframes, v->n_decoded, v->n_refined, v->n_packets);
    if (v->n_scenes != nwant)
        fail_msg("%s: %zu cuts (%s), want %zu", name, v->n_scenes, got, nwant);
    for (size_t i = 0; i < nwant; i++)
        if (fabs(v->scenes[i] - want[i]) > tol)
            fail_msg("%s: cut %zu at %.3f, want %.2f +- %.2f", name, i, v->scenes[i], want[i], tol);
}

static void test_scene_cuts(void **state)
{
    fx *f = *state;
    om_video_signals v;
    /* the default budget (150 frames here) refines what it can, the rest from sizes */
    assert_int_equal(om_video_signals_compute(f->cuts_gop, NULL, &v), OM_OK);
    expect_cuts("x264 keyint=50", &v, CUTS, 3, 0.1);
    assert_true(v.n_refined > 0 && v.n_refined <= 150);
    assert_true(fabs(v.key_interval - 2.0) < 0.01);
    /* motion: moving testsrc2 vs the static bars and colour */
    assert_int_equal(v.n_motion, 10);
    for (int s = 0; s < 3; s++)
        assert_true(v.motion[s] > 0.2);
    for (int s = 4; s < 8; s++)
        assert_true(v.motion[s] < 0.05);
    om_video_signals_release(&v);

    assert_int_equal(om_video_signals_compute(f->cuts_x264, NULL, &v), OM_OK);
    expect_cuts("x264 defaults", &v, CUTS, 3, 0.1);
    om_video_signals_release(&v);

    /* a budget that covers every interval: frame-exact */
    om_video_opts o = OM_VIDEO_OPTS_DEFAULT;
    o.refine_frames = 1000;
    const char *exact[] = {f->cuts_gop, f->cuts_x264, f->cuts_mjpg};
    for (size_t i = 0; i < OM_ARRAY_LEN(exact); i++) {
        assert_int_equal(om_video_signals_compute(exact[i], &o, &v), OM_OK);
        expect_cuts(exact[i], &v, CUTS, 3, 0.02);
        assert_true(v.n_refined > 0 && v.n_refined < v.n_packets);
        if (i == 2)
            assert_true(v.n_decoded <= 45); /* mjpeg: 4 keyframes a second, not all 251 */
        om_video_signals_release(&v);
    }

    /* without the refinement budget: packet sizes and keyframes only, coarser */
    o.refine_frames = 0;
    assert_int_equal(om_video_signals_compute(f->cuts_gop, &o, &v), OM_OK);
    expect_cuts("x264 keyint=50, no refinement", &v, CUTS, 3, 0.1);
    assert_int_equal(v.n_refined, 0);
    assert_true(v.n_decoded >= v.n_keyframes && v.n_decoded <= v.n_keyframes + 8);
    om_video_signals_release(&v);
    assert_int_equal(om_video_signals_compute(f->cuts_x264, &o, &v), OM_OK);
    expect_cuts("x264 defaults, no refinement", &v, CUTS, 3, 0.1);
    om_video_signals_release(&v);

    /* shots every 3 s, the encoder put a keyframe at each (regularly spaced, like a fixed
     * GOP would be): found from packet sizes alone */
    const double every3[] = {3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33};
    assert_int_equal(om_video_signals_compute(f->cuts_shots, &o, &v), OM_OK);
    expect_cuts("x264 scenecut keyframes, no refinement", &v, every3, 11, 0.05);
    om_video_signals_release(&v);

    /* a continuous shot has no cut */
    assert_int_equal(om_video_signals_compute(f->tone, NULL, &v), OM_OK);
    expect_cuts("testsrc2", &v, NULL, 0, 0);
    om_video_signals_release(&v);
}

static void test_scene_cuts_budget(void **state)
{
    fx *f = *state;
    /* 60 s, 7 cuts, a keyframe every 2 s, a zooming segment (keyframes far apart differ
     * without a cut). The budget covers two GOPs: those cuts are frame-exact, the others
     * land on the next keyframe at worst, and the zoom gives no cut. */
    const double want[] = {7.5, 15.0, 22.5, 30.0, 37.5, 45.0, 52.5};
    om_video_opts o = OM_VIDEO_OPTS_DEFAULT;
    o.refine_frames = 110;
    om_video_signals v;
    assert_int_equal(om_video_signals_compute(f->cuts_long, &o, &v), OM_OK);
    expect_cuts("60 s, budget 110", &v, want, 7, 2.0);
    int exact = 0;
    for (size_t i = 0; i < v.n_scenes; i++)
        exact += fabs(v.scenes[i] - want[i]) <= 0.05;
    assert_true(exact >= 2);
    assert_true(v.n_refined <= 110);
    assert_true(v.n_decoded + v.n_refined < v.n_packets / 5); /* far from a full decode */
    om_video_signals_release(&v);
}

static void test_motion_track(void **state)
{
    fx *f = *state;
    om_motion_track t;
    assert_int_equal(om_media_motion_track(f->box, 0, 5, 2, 0, &t), OM_OK);
    assert_int_equal(t.n, 10);
    assert_int_equal(t.width, 640);
    assert_int_equal(t.height, 360);
    assert_true(fabs(t.window - 9.0 / 16.0 * 360.0 / 640.0) < 1e-9);
    for (size_t i = 0; i < t.n; i++) {
        const om_motion_sample *s = &t.samples[i];
        double truth = (80.0 + 100.0 * s->t) / 640.0; /* box centre */
        if (fabs(s->x - truth) > 0.04 || fabs(s->y - 0.5) > 0.05 || s->confidence < 0.5)
            fail_msg("box t=%.2f x=%.3f (want %.3f) y=%.3f conf=%.2f", s->t, s->x, truth, s->y,
                     s->confidence);
        assert_true(fabs(s->t - 0.5 * (double)i) < 1e-9);
    }
    om_motion_track_release(&t);

    /* a sub-span: samples start at `start`, past-the-end is clamped */
    assert_int_equal(om_media_motion_track(f->box, 1.3, 2.9, 4, 0.5, &t), OM_OK);
    assert_int_equal(t.n, 7);
    assert_true(fabs(t.samples[0].t - 1.3) < 1e-9);
    assert_true(fabs(t.window - 0.5) < 1e-9);
    for (size_t i = 0; i < t.n; i++)
        assert_true(fabs(t.samples[i].x - (80.0 + 100.0 * t.samples[i].t) / 640.0) < 0.04);
    om_motion_track_release(&t);
    assert_int_equal(om_media_motion_track(f->box, 4.0, 9.0, 2, 0, &t), OM_OK);
    assert_int_equal(t.n, 2);
    om_motion_track_release(&t);

    /* rotated source: the displayed frame is 360x640 and the box moves from bottom to top
     * (ffmpeg shows this file turned 90 degrees counter-clockwise) */
    om_media_info in;
    assert_int_equal(om_media_probe(f->box_rot, &in), OM_OK);
    assert_int_equal(om_media_motion_track(f->box_rot, 0, 5, 2, 0, &t), OM_OK);
    assert_int_equal(t.width, 360);
    assert_int_equal(t.height, 640);
    assert_true(fabs(t.window - 1.0) < 1e-9); /* already narrower than 9:16 */
    for (size_t i = 0; i < t.n; i++) {
        const om_motion_sample *s = &t.samples[i];
        double along = (80.0 + 100.0 * s->t) / 640.0;
        double want_y = in.rotation == 270 ? 1.0 - along : along;
        if (fabs(s->x - 0.5) > 0.05 || fabs(s->y - want_y) > 0.05)
            fail_msg("rotated t=%.2f x=%.3f y=%.3f (want 0.5, %.3f)", s->t, s->x, s->y, want_y);
    }
    om_motion_track_release(&t);

    /* nothing stands out: centre, no confidence */
    assert_int_equal(om_media_motion_track(f->flat, 0, 3, 2, 0, &t), OM_OK);
    assert_int_equal(t.n, 6);
    for (size_t i = 0; i < t.n; i++) {
        assert_true(t.samples[i].confidence < 0.1);
        assert_true(fabs(t.samples[i].x - 0.5) < 1e-9);
    }
    om_motion_track_release(&t);

    /* bad requests */
    assert_int_equal(om_media_motion_track(f->box, 0, 5, 0, 0, &t), OM_EINVAL);
    assert_int_equal(om_media_motion_track(f->box, 3, 2, 2, 0, &t), OM_EINVAL);
    assert_int_equal(om_media_motion_track(f->box, 6, 8, 2, 0, &t), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "past the end"));
    assert_int_equal(om_media_motion_track(f->sp_mid, 0, 1, 2, 0, &t), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "no video track in"));
    assert_null(t.samples);
}

static void test_signals_json(void **state)
{
    fx *f = *state;
    om_signals s;
    om_pcm pcm;
    assert_int_equal(om_signals_analyze(f->tone, NULL, NULL, &pcm, &s), OM_OK);
    assert_true(s.has_audio && s.has_video);
    assert_true(fabs((double)pcm.n - 160000.0) <= 1600.0);
    json_t *j = om_signals_to_json(&s);
    assert_non_null(j);
    assert_true(fabs(json_real_value(json_object_get(j, "duration")) - 10.0) < 0.1);
    json_t *loud = json_object_get(j, "loudness");
    assert_true(json_is_object(loud));
    assert_true(fabs(json_real_value(json_object_get(loud, "integrated")) - s.audio.integrated) <
                0.006);
    assert_int_equal(json_array_size(json_object_get(loud, "short_term")), 10);
    json_t *sil = json_object_get(j, "silences");
    assert_int_equal(json_array_size(sil), 2);
    assert_int_equal(json_array_size(json_array_get(sil, 0)), 2);
    assert_true(fabs(json_real_value(json_array_get(json_array_get(sil, 1), 1)) - 8.5) < 0.1);
    assert_true(json_is_array(json_object_get(j, "scenes")));
    assert_int_equal(json_array_size(json_object_get(j, "scenes")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "motion")), 10);
    assert_true(json_is_real(json_object_get(j, "speech_rate_wpm")));
    assert_true(json_is_object(json_object_get(j, "hook")));
    json_decref(j);
    om_signals_release(&s);
    om_pcm_release(&pcm);

    /* audio only, video only */
    assert_int_equal(om_signals_analyze(f->sp_mid, NULL, NULL, NULL, &s), OM_OK);
    assert_true(s.has_audio && !s.has_video);
    j = om_signals_to_json(&s);
    assert_int_equal(json_array_size(json_object_get(j, "scenes")), 0);
    assert_true(json_array_size(json_object_get(j, "silences")) >= 1);
    json_decref(j);
    om_signals_release(&s);
    assert_int_equal(om_signals_analyze(f->cuts_gop, NULL, NULL, &pcm, &s), OM_OK);
    assert_true(!s.has_audio && s.has_video);
    assert_null(pcm.samples);
    j = om_signals_to_json(&s);
    assert_true(json_is_null(json_object_get(j, "loudness")));
    assert_true(json_is_null(json_object_get(j, "speech_rate_wpm")));
    assert_int_equal(json_array_size(json_object_get(j, "scenes")), 3);
    json_decref(j);
    om_signals_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loudness_sine_vs_ffmpeg),
        cmocka_unit_test(test_loudness_measure),
        cmocka_unit_test(test_loudness_steps_vs_ffmpeg),
        cmocka_unit_test(test_silences_and_hook),
        cmocka_unit_test(test_speech_rate),
        cmocka_unit_test(test_scene_cuts),
        cmocka_unit_test(test_scene_cuts_budget),
        cmocka_unit_test(test_motion_track),
        cmocka_unit_test(test_signals_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
