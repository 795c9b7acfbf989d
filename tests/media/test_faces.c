/* test_faces.c: face detection (OpenCV cascades from opencv-data) and the speaker-following
 * crop on videos composed by ffmpeg from real photographs Debian ships (opencv-doc's frontal
 * portraits 227943776_1.jpg and 230501201_1.jpg) moved across a 1920x1080 frame with a known
 * truth: one face on a moving path (with a brief miss), two people talking in turn (the
 * speaker's mouth opens and closes while the speech placed under them plays; the other face
 * is still), a wide group of three, and no face at all. The crop is measured through the
 * edit plan's own keyframes (what ffmpeg's crop expression follows). Prints the measured
 * figures (bench/quality/bench_quality prints the same, section 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"

#include "media/editplan.h"
#include "media/facetrack.h"
#include "media/faces.h"
#include "media_fixture.h"
#include "faces_fixture.h"

static char *g_dir;

/* rc must be OM_OK; the error's words are printed otherwise */
#define assert_ok(call)                                                                            \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != OM_OK)                                                                          \
            fprintf(stderr, "%s: %s\n", #call, om_error_msg());                                    \
        assert_int_equal(rc_, OM_OK);                                                              \
    } while (0)

static int setup(void **state)
{
    if (!om_file_exists(FF_PHOTO_A) || !om_file_exists(FF_PHOTO_B) ||
        !om_file_exists(OM_FACES_DEFAULT_CASCADE)) {
        fprintf(stderr,
                "test_faces: %s, %s or %s missing (apt-get install opencv-doc opencv-data)\n",
                FF_PHOTO_A, FF_PHOTO_B, OM_FACES_DEFAULT_CASCADE);
        return -1;
    }
    g_dir = fx_tmpdir("faces");
    return 0;
}

static int teardown(void **state)
{
    om_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static void test_detector_on_the_photo(void **state)
{
    om_face_detector *d = NULL;
    assert_int_equal(om_face_detector_open(&d, NULL), OM_OK);
    /* photo A decoded to grey by ffmpeg (raw), 434x434 */
    char *raw = fx_path(g_dir, "a.gray");
    assert_int_equal(FX_FFMPEG("-i", FF_PHOTO, "-f", "rawvideo", "-pix_fmt", "gray", raw), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(raw, 0, &data, &len), OM_OK);
    assert_int_equal(len, 434 * 434);
    om_face_box b[8];
    size_t n = 0;
    assert_int_equal(om_face_detect(d, (const uint8_t *)data, 434, 434, 434, 40, b, 8, &n), OM_OK);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "photo: face %zu at %.0f,%.0f %.0fx%.0f score %.0f\n", i, b[i].x, b[i].y,
                b[i].w, b[i].h, b[i].score);
    assert_true(n >= 1); /* largest first: the face (a smaller box may follow) */
    assert_true(fabs(b[0].x + b[0].w / 2 - FF_FACE_CX) < 8);
    assert_true(fabs(b[0].y + b[0].h / 2 - FF_FACE_CY) < 8);
    assert_true(b[0].w > 160 && b[0].w < 200);
    /* bad pictures are errors, not crashes */
    assert_int_equal(om_face_detect(d, (const uint8_t *)data, 8, 434, 434, 0, b, 8, &n),
                     OM_EINVAL);
    assert_int_equal(om_face_detect(d, (const uint8_t *)data, 434, 434, 100, 0, b, 8, &n),
                     OM_EINVAL);
    free(data);
    free(raw);
    om_face_detector_free(d);
    /* a missing cascade names the package */
    assert_int_equal(om_face_detector_open(&d, "/nonexistent/cascade.xml"), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "opencv-data"));
    assert_null(d);
    /* a file that is not a cascade */
    assert_int_equal(om_face_detector_open(&d, FF_PHOTO), OM_EINVAL);
    om_face_detector_free(NULL);
}

static om_framing_opts opts(int split)
{
    om_framing_opts o = {.dead_zone = 0.05, .max_pan = 1.0, .window = 0.31640625,
                         .allow_split = split};
    return o;
}

static const om_face_scan_opts SCAN = {.sample_fps = 4, .detect_width = 320, .hold_s = 1.0,
                                       .cascade = NULL};

static void test_follows_a_moving_face(void **state)
{
    char *v = fx_path(g_dir, "moving.mp4");
    assert_int_equal(ff_make_moving(v), 0);
    om_face_scan s = {0};
    assert_ok(om_media_face_scan(v, 0, FF_MOVING_S, &SCAN, &s));
    ff_dump(&s, NULL);
    assert_int_equal(s.ntracks, 1);
    assert_true(s.n >= 39 && s.n <= 40);
    /* held through the miss: present (held) inside it, detected again after */
    size_t held = 0;
    for (size_t k = 0; k < s.n; k++)
        held += s.obs[k].present == 2;
    assert_true(held >= 1);
    om_framing f = {0};
    om_framing_opts o = opts(0);
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_OK);
    assert_int_equal(f.mode, OM_FRAMING_SPEAKER);
    ff_measure m = ff_measure_moving(&f, 0, FF_MOVING_S, o.window);
    printf("faces: moving face: crop centre within 10%% of the face on %.1f%% of %zu samples "
           "(mean error %.3f of the width)\n",
           100 * m.share, m.n, m.mean_err);
    assert_true(m.share >= 0.90);
    /* no jitter: the crop never moves faster than the max pan speed */
    assert_true(ff_max_speed(&f) <= o.max_pan + 1e-6);
    json_t *ev = om_framing_evidence(&s, &f);
    assert_string_equal(json_string_value(json_object_get(ev, "mode")), "speaker");
    assert_int_equal(json_integer_value(json_object_get(ev, "faces_seen")), 1);
    json_decref(ev);
    om_framing_release(&f);
    om_face_scan_release(&s);
    free(v);
}

static void test_two_people_in_turn(void **state)
{
    char *v = fx_path(g_dir, "turns.mp4");
    assert_int_equal(ff_make_turns(v), 0);
    om_face_scan s = {0};
    assert_ok(om_media_face_scan(v, 0, FF_TURNS_S, &SCAN, &s));
    assert_int_equal(s.ntracks, 2);
    assert_true(s.has_audio);
    om_framing f = {0};
    om_framing_opts o = opts(0);
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_OK);
    ff_dump(&s, &f);
    assert_int_equal(f.mode, OM_FRAMING_SPEAKER);
    double on = ff_measure_turns(&f, 0, FF_TURNS_S, o.window);
    printf("faces: two people in turn: crop on the speaking face %.1f%% of the time; speaker "
           "scores %.2f / %.2f, %zu speaker changes\n",
           100 * on, f.score[0], f.score[1], f.switches);
    assert_true(on >= 0.80);
    assert_true(f.switches >= 3 && f.switches <= 6);
    assert_true(f.score[0] > 0.25 && f.score[1] > 0.25);
    assert_true(ff_max_speed(&f) <= o.max_pan + 1e-6);
    om_framing_release(&f);

    /* the brand allows split: both halves stacked, each on its own face */
    o = opts(1);
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_OK);
    assert_int_equal(f.mode, OM_FRAMING_SPLIT);
    assert_non_null(f.x2);
    assert_true(fabs(f.x[f.n / 2] - FF_LEFT_CX) < 0.1);
    assert_true(fabs(f.x2[f.n / 2] - FF_RIGHT_CX) < 0.1);
    /* the plan compiles into one graph with two crops stacked */
    char *plan = ff_plan_json(v, 0, FF_TURNS_S, &f, &s);
    om_editplan *p = NULL;
    assert_int_equal(om_editplan_parse_text(&p, plan), OM_OK);
    om_editcmd *cmd = NULL;
    assert_int_equal(om_editplan_compile(&cmd, p, "/tmp/x.mp4", NULL), OM_OK);
    assert_non_null(strstr(cmd->filtergraph, "vstack=inputs=2"));
    om_editcmd_free(cmd);
    om_editplan_free(p);
    free(plan);
    om_framing_release(&f);
    om_face_scan_release(&s);
    free(v);
}

static void test_group_and_no_face(void **state)
{
    char *v = fx_path(g_dir, "group.mp4");
    assert_int_equal(ff_make_group(v), 0);
    om_face_scan s = {0};
    assert_ok(om_media_face_scan(v, 0, 4, &SCAN, &s));
    assert_int_equal(s.ntracks, 3);
    om_framing f = {0};
    om_framing_opts o = opts(1);
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_OK);
    assert_int_equal(f.mode, OM_FRAMING_GROUP);
    om_framing_release(&f);
    om_face_scan_release(&s);
    free(v);

    v = fx_path(g_dir, "noface.mp4");
    assert_int_equal(FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=4", "-c:v",
                               "libx264", "-preset", "ultrafast", v),
                     0);
    assert_ok(om_media_face_scan(v, 0, 4, &SCAN, &s));
    assert_int_equal(s.ntracks, 0);
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_OK);
    assert_int_equal(f.mode, OM_FRAMING_NONE);
    om_framing_release(&f);
    om_face_scan_release(&s);
    /* bad requests */
    assert_int_equal(om_media_face_scan(v, 3, 2, &SCAN, &s), OM_EINVAL);
    assert_int_equal(om_media_face_scan(v, 9, 10, &SCAN, &s), OM_EINVAL);
    om_face_scan_opts bad = SCAN;
    bad.sample_fps = 0;
    assert_int_equal(om_media_face_scan(v, 0, 2, &bad, &s), OM_EINVAL);
    bad = SCAN;
    bad.cascade = "/nonexistent.xml";
    assert_int_equal(om_media_face_scan(v, 0, 2, &bad, &s), OM_ENOTFOUND);
    assert_int_equal(om_media_face_scan("/nonexistent.mp4", 0, 2, &SCAN, &s), OM_ENOTFOUND);
    free(v);
}

/* The follower on a synthetic scan: a dead zone, the pan limit, holding through misses. */
static void test_follower(void **state)
{
    enum { N = 80 };
    om_face_scan s = {0};
    s.n = N;
    s.fps = 4;
    s.ntracks = 1;
    s.t = xcalloc(N, sizeof(double));
    s.speech = xcalloc(N, sizeof(double));
    s.obs = xcalloc(N, sizeof(om_face_obs));
    s.detected = xcalloc(1, sizeof(size_t));
    for (size_t k = 0; k < N; k++) {
        s.t[k] = 10 + k / 4.0;
        /* jitter +-0.02 around 0.5, then a jump to 0.8 at 10 s, a miss of 2 s at 15 s */
        double x = k < 40 ? 0.5 + ((k % 2) ? 0.02 : -0.02) : 0.8;
        s.obs[k] = (om_face_obs){k >= 60 && k < 68 ? 0 : 1, x, 0.4, 0.1, 0.15, NAN};
    }
    s.detected[0] = N - 8;
    om_framing f = {0};
    om_framing_opts o = opts(0);
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_OK);
    assert_int_equal(f.mode, OM_FRAMING_SPEAKER);
    /* inside the dead zone the crop does not move at all */
    for (size_t i = 0; i < 95; i++)
        assert_true(fabs(f.x[i] - f.x[0]) < 1e-9);
    /* the jump: eased and within the pan limit, reached in well under 2 s */
    assert_true(ff_max_speed(&f) <= o.max_pan + 1e-6);
    size_t at = 0;
    while (at < f.n && fabs(f.x[at] - 0.8) > 0.02)
        at++;
    assert_true(f.t[at] - 20.0 < 1.2);
    /* the miss: the crop holds */
    for (size_t i = 150; i < 170 && i < f.n; i++)
        assert_true(fabs(f.x[i] - 0.8) < 0.02);
    om_framing_release(&f);
    /* bad options */
    o.window = 0;
    assert_int_equal(om_framing_decide(&s, &o, &f), OM_EINVAL);
    om_face_scan_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detector_on_the_photo),
        cmocka_unit_test(test_follower),
        cmocka_unit_test(test_follows_a_moving_face),
        cmocka_unit_test(test_two_people_in_turn),
        cmocka_unit_test(test_group_and_no_face),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
