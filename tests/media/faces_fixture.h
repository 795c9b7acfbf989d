/*
 * faces_fixture.h: videos with faces and a known truth, composed by ffmpeg from real
 * photographs Debian ships (opencv-doc's frontal portraits html/227943776_1.jpg, "A", and
 * html/230501201_1.jpg, "B"), and the measures of a crop against that truth. Shared by
 * tests/media/test_faces.c and bench/quality/bench_quality.c. Header-only; needs
 * media_fixture.h first.
 *
 * A "person" is one photo cut and scaled to 480x540 with the face where the cascade finds it
 * on the photo (A: box 112,96 182x182, centre 203,187; B: box 116,215 369x369, centre
 * 300.5,399.5):
 *   A: crop 320x360 at (43, 27), x1.5: face centre (240, 240) of the person, ~273 px;
 *   B: crop 584x657 at (0, 71), x0.822: face centre (247, 270), ~303 px.
 * A talking person's mouth opens and closes: a dark mouth cavity drawn over the lips (A:
 * x 215..275 from y 308, B: x 222..282 from y 340) whose height follows a syllable rhythm
 * while that person's speech is on the audio track; the other person's face stays still.
 */
#ifndef OMNIVA_TESTS_MEDIA_FACES_FIXTURE_H
#define OMNIVA_TESTS_MEDIA_FACES_FIXTURE_H

#include <jansson.h>
#include <math.h>

#include "media/editplan.h"
#include "media/facetrack.h"

#define FF_PHOTO_A "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg"
#define FF_PHOTO_B "/usr/share/doc/opencv-doc/opencv4/html/230501201_1.jpg"
#define FF_PHOTO FF_PHOTO_A
#define FF_FACE_CX 203.0 /* A's face on the photo, 434x434 */
#define FF_FACE_CY 187.0
#define FF_PERSON_A "crop=320:360:43:27,scale=480:540,setsar=1"
#define FF_PERSON_B "crop=584:657:0:71,scale=480:540,setsar=1"
#define FF_PERSON_FX 240.0 /* A's face centre inside the person */
#define FF_PERSON_B_FX 247.0
#define FF_W 1920.0

/* the mouth cavity, drawn while `talk` (an ffmpeg expression of t) is non-zero: three
 * stacked heights (8, 16, 24 px) following a syllable rhythm |sin(11 t)| (drawbox evaluates
 * its size once, so the opening is stepped with timeline enables) */
#define FF_CAVITY(x, y, h, lvl, talk)                                                              \
    "drawbox=x=" x ":y=" y ":w=60:h=" h ":color=0x3a0a0a:t=fill:enable='(" talk                     \
    ")*gt(abs(sin(11*t))\\," lvl ")'"
#define FF_MOUTH(x, y, talk)                                                                       \
    FF_CAVITY(x, y, "8", "0.2", talk) "," FF_CAVITY(x, y, "16", "0.5", talk) ","                 \
        FF_CAVITY(x, y, "24", "0.8", talk)
#define FF_MOUTH_A(talk) FF_MOUTH("215", "308", talk)
#define FF_MOUTH_B(talk) FF_MOUTH("222", "340", talk)

/* one face (A) on a path: x(t) = 100 + 620 (1 - cos(pi t / 10)), out of shot for [4.0, 4.6) */
#define FF_MOVING_S 10.0
static inline double ff_moving_truth(double t)
{
    return (100 + 620 * (1 - cos(M_PI * t / 10)) + FF_PERSON_FX) / FF_W;
}

static inline int ff_make_moving(const char *out)
{
    return FX_FFMPEG("-f", "lavfi", "-i", "color=c=0x405060:s=1920x1080:r=25:d=10", "-loop", "1",
                     "-framerate", "25", "-t", "10", "-i", FF_PHOTO_A, "-filter_complex",
                     "[1:v]" FF_PERSON_A "[p];[0:v][p]overlay=x='100+620*(1-cos(PI*t/10))':y=270:"
                     "enable='not(between(t,4.0,4.6))',format=yuv420p[v]",
                     "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20",
                     out);
}

/* two people talking in turn, 4 s each (A on the left first, then B on the right); the
 * speech (a syllable-modulated voice-band tone) runs from 0.3 to 3.7 s of each turn, and
 * only the speaker's mouth moves meanwhile */
#define FF_TURNS_S 16.0
#define FF_LEFT_CX ((200 + FF_PERSON_FX) / FF_W)
#define FF_RIGHT_CX ((1240 + FF_PERSON_B_FX) / FF_W)
static inline int ff_turn_speaker(double t) /* 0 left, 1 right */
{
    return fmod(t, 8.0) < 4.0 ? 0 : 1;
}

#define FF_SPEAKS "between(mod(t\\,4)\\,0.3\\,3.7)"
static inline int ff_make_turns(const char *out)
{
    return FX_FFMPEG(
        "-f", "lavfi", "-i", "color=c=0x405060:s=1920x1080:r=25:d=16", "-loop", "1",
        "-framerate", "25", "-t", "16", "-i", FF_PHOTO_A, "-loop", "1", "-framerate", "25",
        "-t", "16", "-i", FF_PHOTO_B, "-f", "lavfi", "-i",
        "aevalsrc='0.3*sin(2*PI*180*t)*(0.55+0.45*abs(sin(11*t)))*between(mod(t,4),0.3,3.7)'"
        ":s=48000:d=16",
        "-filter_complex",
        "[1:v]" FF_PERSON_A "," FF_MOUTH_A("lt(mod(t\\,8)\\,4)*" FF_SPEAKS) "[left];"
        "[2:v]" FF_PERSON_B "," FF_MOUTH_B("gte(mod(t\\,8)\\,4)*" FF_SPEAKS) "[right];"
        "[0:v][left]overlay=200:270[v1];[v1][right]overlay=1240:270:shortest=1,"
        "format=yuv420p[v]",
        "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20",
        "-c:a", "aac", "-shortest", out);
}

/* three people across the frame, 4 s */
static inline int ff_make_group(const char *out)
{
    return FX_FFMPEG("-f", "lavfi", "-i", "color=c=0x405060:s=1920x1080:r=25:d=4", "-loop", "1",
                     "-framerate", "25", "-t", "4", "-i", FF_PHOTO_A, "-loop", "1", "-framerate",
                     "25", "-t", "4", "-i", FF_PHOTO_B, "-filter_complex",
                     "[1:v]" FF_PERSON_A ",split=2[a][c];[2:v]" FF_PERSON_B "[b];[c]hflip[cf];"
                     "[0:v][a]overlay=60:270[v1];[v1][b]overlay=720:270[v2];"
                     "[v2][cf]overlay=1380:270:shortest=1,format=yuv420p[v]",
                     "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20",
                     out);
}

/* The edit plan a framing gives (the edit stage writes the same reframe object). */
static inline char *ff_plan_json(const char *src, double start, double end, const om_framing *f,
                                 const om_face_scan *s)
{
    json_t *rf = om_framing_reframe_json(s, f, 1.0);
    json_t *plan = json_pack("{s:s, s:f, s:f, s:o}", "source", src, "start", start, "end", end,
                             "reframe", rf ? rf : json_null());
    char *text = json_dumps(plan, JSON_COMPACT);
    json_decref(plan);
    return text;
}

/* The crop centres the compiled plan follows, at clip times every 0.25 s from 0.125 s:
 * keyframes of the plan, clamped as ffmpeg's crop expression clamps them. */
static inline size_t ff_plan_centres(const om_framing *f, double start, double end,
                                     double window, double *ts, double *xs, size_t max)
{
    json_t *rf = json_pack("{s:s, s:o, s:f, s:f}", "mode", "speaker", "track", json_array(),
                           "smoothing", 0.0, "max_pan", 1.0);
    json_t *tr = json_object_get(rf, "track");
    for (size_t i = 0; i < f->n; i++)
        json_array_append_new(tr, json_pack("[f,f]", round(f->t[i] * 1000) / 1000,
                                            round(f->x[i] * 10000) / 10000));
    json_t *plan = json_pack("{s:s, s:f, s:f, s:o}", "source", "/x.mp4", "start", start, "end",
                             end, "reframe", rf);
    om_editplan *p = NULL;
    size_t n = 0;
    if (om_editplan_parse(&p, plan) == OM_OK) {
        double(*kf)[2] = NULL;
        size_t nk = 0;
        if (om_editplan_crop_keyframes(p, &kf, &nk) == OM_OK) {
            for (double t = 0.125; t < end - start && n < max; t += 0.25) {
                double x = kf[0][1];
                for (size_t i = 0; i + 1 < nk; i++)
                    if (t >= kf[i][0] && t <= kf[i + 1][0])
                        x = kf[i][1] + (kf[i + 1][1] - kf[i][1]) * (t - kf[i][0]) /
                                           (kf[i + 1][0] - kf[i][0]);
                if (nk > 1 && t > kf[nk - 1][0])
                    x = kf[nk - 1][1];
                x = fmin(1 - window / 2, fmax(window / 2, x));
                ts[n] = start + t;
                xs[n] = x;
                n++;
            }
            free(kf);
        }
        om_editplan_free(p);
    }
    json_decref(plan);
    return n;
}

typedef struct ff_measure {
    double share;    /* samples within 10% of the width of the truth */
    double mean_err; /* mean |crop centre - truth| */
    size_t n;
} ff_measure;

static inline ff_measure ff_measure_moving(const om_framing *f, double start, double end,
                                           double window)
{
    double ts[512], xs[512];
    size_t n = ff_plan_centres(f, start, end, window, ts, xs, 512);
    ff_measure m = {0, 0, n};
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(xs[i] - ff_moving_truth(ts[i]));
        ok += e <= 0.10;
        m.mean_err += e;
    }
    if (n) {
        m.share = (double)ok / (double)n;
        m.mean_err /= (double)n;
    }
    return m;
}

/* Share of the time the speaking face is inside the crop window (its centre within the
 * window's middle half... i.e. |crop centre - face centre| < window / 2). */
static inline double ff_measure_turns(const om_framing *f, double start, double end,
                                      double window)
{
    double ts[512], xs[512];
    size_t n = ff_plan_centres(f, start, end, window, ts, xs, 512);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        double truth = ff_turn_speaker(ts[i]) ? FF_RIGHT_CX : FF_LEFT_CX;
        ok += fabs(xs[i] - truth) < window / 2;
    }
    return n ? (double)ok / (double)n : 0;
}

/* With OMNIVA_FACES_DEBUG set: the scan, sample by sample, on stderr. */
static inline void ff_dump(const om_face_scan *s, const om_framing *f)
{
    if (!getenv("OMNIVA_FACES_DEBUG"))
        return;
    fprintf(stderr, "scan: %zu samples, %zu tracks, %zu detections, %dx%d\n", s->n, s->ntracks,
            s->detections, s->detect_w, s->detect_h);
    for (size_t k = 0; k < s->n; k++) {
        fprintf(stderr, "%6.2f sp %.2f", s->t[k], s->speech[k]);
        for (size_t j = 0; j < s->ntracks; j++) {
            const om_face_obs *o = &s->obs[j * s->n + k];
            fprintf(stderr, " | %d %.3f %.3f w%.3f m%5.2f", o->present, o->cx, o->cy, o->w,
                    o->mouth);
        }
        if (f && f->speaker)
            fprintf(stderr, " -> %d x %.3f", f->speaker[k],
                    f->x[(size_t)fmin((double)f->n - 1, round((s->t[k] - s->t[0]) / 0.1))]);
        fprintf(stderr, "\n");
    }
}

/* Fastest crop movement of a framing's path (widths per second), both halves. */
static inline double ff_max_speed(const om_framing *f)
{
    double v = 0;
    for (size_t i = 1; i < f->n; i++) {
        double dt = f->t[i] - f->t[i - 1];
        v = fmax(v, fabs(f->x[i] - f->x[i - 1]) / dt);
        if (f->x2)
            v = fmax(v, fabs(f->x2[i] - f->x2[i - 1]) / dt);
    }
    return v;
}

#endif
