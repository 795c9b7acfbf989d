/* test_editframe.c: the edit stage's face framing end to end (stages/editframe.h): a
 * 1920x1080 source of two people talking in turn, composed from opencv-doc's portraits
 * (tests/media/faces_fixture.h: the speaker's mouth opens while the speech under them
 * plays), a project whose brand reframe is "speaker", then "split"; and a source without a
 * face. Checks the plan (mode, crop track, evidence), the decision chain and HaloLux's
 * explanation, and the rendered 9:16 clip itself: the face detector finds the speaking face
 * in the middle of the rendered frames (speaker) or one face in each half (split). */
#include "fixture.h"

#include "base/fsutil.h"
#include "base/proc.h"
#include "media/faces.h"
#include "media/render.h"
#include "stages/halolux.h"
#include "stages/projects.h"
#include "media_fixture.h"
#include "faces_fixture.h"

#include <math.h>

extern const om_stage om_stage_edit;

static char *g_turns, *g_noface;
static char g_video[OM_UUID_LEN], g_video2[OM_UUID_LEN];

static void insert_video(const char *path, double dur, char vid[OM_UUID_LEN])
{
    char creator[OM_UUID_LEN], post[OM_UUID_LEN], sha[OM_SHA256_HEX_LEN];
    om_uuid4(creator);
    om_uuid4(post);
    om_uuid4(vid);
    assert_int_equal(om_sha256_file(path, sha), OM_OK);
    fx_exec("INSERT INTO creators (creator_id, platform, username) VALUES (?, 'local', ?)",
            OM_PARAMS(OM_TEXT(creator), OM_TEXT(creator)));
    fx_exec("INSERT INTO project_creators (project_id, creator_id) VALUES (?, ?)",
            OM_PARAMS(OM_TEXT(FX.project), OM_TEXT(creator)));
    fx_exec("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) VALUES "
            "(?, ?, 'local', ?, 'file:///x')",
            OM_PARAMS(OM_TEXT(post), OM_TEXT(creator), OM_TEXT(post)));
    fx_exec("INSERT INTO videos (video_id, post_id, file_path, duration_seconds, resolution, "
            "checksum) VALUES (?, ?, ?, ?, '1920x1080', ?)",
            OM_PARAMS(OM_TEXT(vid), OM_TEXT(post), OM_TEXT(path), OM_REAL(dur), OM_TEXT(sha)));
}

static void insert_clip(const char *vid, double start, double end, char clip[OM_UUID_LEN])
{
    om_uuid4(clip);
    fx_exec("INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, status, "
            "metadata) VALUES (?, ?, ?, ?, 0.8, 'SELECTED', '{}')",
            OM_PARAMS(OM_TEXT(clip), OM_TEXT(vid), OM_REAL(start), OM_REAL(end)));
}

static void set_reframe(const char *mode)
{
    char *brand = xasprintf("{\"reframe\":\"%s\"}", mode);
    assert_int_equal(om_project_update_brand(FX.st, FX.project, brand, FX.home), OM_OK);
    free(brand);
}

static int setup(void **state)
{
    (void)state;
    if (!om_file_exists(FF_PHOTO_A) || !om_file_exists(FF_PHOTO_B) ||
        !om_file_exists(OM_FACES_DEFAULT_CASCADE)) {
        fprintf(stderr, "test_editframe: opencv-doc's portraits or opencv-data's cascade "
                        "missing (apt-get install opencv-doc opencv-data)\n");
        return -1;
    }
    if (fx_open("editframe", 0, NULL) != 0)
        return -1;
    om_config_set(FX.cfg, "editor", "preset", "ultrafast");
    om_config_set(FX.cfg, "editor", "crf", "32");
    g_turns = xasprintf("%s/turns.mp4", FX.home);
    g_noface = xasprintf("%s/noface.mp4", FX.home);
    if (ff_make_turns(g_turns) != 0 ||
        FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=4", "-f", "lavfi", "-i",
                  "sine=f=300:sample_rate=48000:d=4", "-c:v", "libx264", "-preset",
                  "ultrafast", "-c:a", "aac", "-shortest", g_noface) != 0)
        return -1;
    insert_video(g_turns, FF_TURNS_S, g_video);
    insert_video(g_noface, 4, g_video2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_turns);
    free(g_noface);
    fx_close();
    return 0;
}

static json_t *edit_clip(const char *clip)
{
    json_t *p = json_pack("{s:s}", "clip_id", clip);
    int rc = run_stage(&om_stage_edit, p, NULL);
    json_decref(p);
    if (rc)
        fail_msg("edit: %s", FX.last_error);
    char *ops = fx_value("SELECT operations FROM edit_jobs WHERE clip_id = ?", FX_TEXT1(clip));
    assert_non_null(ops);
    json_t *plan = json_loads(ops, 0, NULL);
    free(ops);
    assert_non_null(plan);
    return plan;
}

/* The crop centre of a plan track at source time t (linear between points). */
static double track_at(const json_t *track, double t)
{
    size_t n = json_array_size(track);
    double x = json_number_value(json_array_get(json_array_get(track, 0), 1));
    for (size_t i = 0; i < n; i++) {
        const json_t *pt = json_array_get(track, i);
        if (json_number_value(json_array_get(pt, 0)) <= t + 1e-9)
            x = json_number_value(json_array_get(pt, 1));
    }
    return x;
}

/* Faces the detector finds on the rendered clip at clip time t (grey, 540x960). */
static size_t faces_in_render(const char *clip, double t, om_face_box *b, size_t max)
{
    char *media = realpath(FX.media, NULL);
    char *out = xasprintf("%s/renders/%s.mp4", media, clip);
    char *raw = xasprintf("%s/frame.gray", FX.home);
    char ts[32];
    snprintf(ts, sizeof(ts), "%.2f", t);
    assert_int_equal(FX_FFMPEG("-ss", ts, "-i", out, "-frames:v", "1", "-vf",
                               "scale=540:960:flags=area", "-f", "rawvideo", "-pix_fmt", "gray",
                               raw),
                     0);
    char *data = NULL;
    size_t len = 0, n = 0;
    assert_int_equal(om_read_file(raw, 0, &data, &len), OM_OK);
    assert_int_equal(len, 540 * 960);
    om_face_detector *d = NULL;
    assert_int_equal(om_face_detector_open(&d, NULL), OM_OK);
    assert_int_equal(om_face_detect(d, (const uint8_t *)data, 540, 960, 540, 60, b, max, &n),
                     OM_OK);
    om_face_detector_free(d);
    free(data);
    free(raw);
    free(out);
    free(media);
    return n;
}

static char *explain(const char *clip)
{
    char *text = NULL;
    assert_int_equal(om_halolux_explain(FX.st, clip, 0, &text), OM_OK);
    return text;
}

static void test_speaker_crop(void **state)
{
    (void)state;
    set_reframe("speaker");
    char clip[OM_UUID_LEN];
    insert_clip(g_video, 0.5, 7.5, clip); /* A speaks to 4 s, then B */
    json_t *plan = edit_clip(clip);
    json_t *rf = json_object_get(plan, "reframe");
    assert_string_equal(json_string_value(json_object_get(rf, "mode")), "speaker");
    json_t *ev = json_object_get(rf, "evidence");
    assert_int_equal(json_integer_value(json_object_get(ev, "faces_seen")), 2);
    assert_string_equal(json_string_value(json_object_get(ev, "mode")), "speaker");
    json_t *track = json_object_get(rf, "track");
    double x1 = track_at(track, 2.0), x2 = track_at(track, 6.5);
    printf("[ editframe ] speaker: crop at %.3f (A at %.3f) then %.3f (B at %.3f), %zu points\n",
           x1, FF_LEFT_CX, x2, FF_RIGHT_CX, json_array_size(track));
    assert_true(fabs(x1 - FF_LEFT_CX) < 0.05);
    assert_true(fabs(x2 - FF_RIGHT_CX) < 0.05);
    /* the rendered clip: the speaking face in the middle of the 9:16 frame, alone */
    om_face_box b[4];
    for (int i = 0; i < 2; i++) {
        double t = i ? 6.0 : 1.5; /* clip time: source 2.0 and 6.5 */
        size_t n = faces_in_render(clip, t, b, 4);
        assert_int_equal(n, 1);
        double cx = (b[0].x + b[0].w / 2) / 540;
        printf("[ editframe ] render at %.1f s: face at %.3f of the width\n", t, cx);
        assert_true(fabs(cx - 0.5) < 0.1);
    }
    /* the decision and its evidence in the chain and the explanation */
    char *text = explain(clip);
    assert_non_null(strstr(text, "Crop: speaker"));
    assert_non_null(strstr(text, "speaker scores"));
    assert_non_null(strstr(text, "speaker changes"));
    free(text);
    json_decref(plan);
}

static void test_split_screen(void **state)
{
    (void)state;
    set_reframe("split");
    char clip[OM_UUID_LEN];
    insert_clip(g_video, 0.0, 10.0, clip);
    json_t *plan = edit_clip(clip);
    json_t *rf = json_object_get(plan, "reframe");
    assert_string_equal(json_string_value(json_object_get(rf, "mode")), "split");
    assert_true(json_array_size(json_object_get(rf, "track2")) > 10);
    char *cmd = fx_value("SELECT ffmpeg_commands FROM edit_jobs WHERE clip_id = ?",
                         FX_TEXT1(clip));
    assert_non_null(strstr(cmd, "vstack=inputs=2"));
    free(cmd);
    /* one face in each half */
    om_face_box b[4];
    size_t n = faces_in_render(clip, 5.0, b, 4);
    assert_int_equal(n, 2);
    double y0 = (b[0].y + b[0].h / 2) / 960, y1 = (b[1].y + b[1].h / 2) / 960;
    printf("[ editframe ] split: faces at y %.3f and %.3f of the height\n", y0, y1);
    assert_true((y0 < 0.5) != (y1 < 0.5));
    char *text = explain(clip);
    assert_non_null(strstr(text, "Crop: split"));
    free(text);
    json_decref(plan);
}

static void test_no_face_falls_back(void **state)
{
    (void)state;
    set_reframe("auto");
    char clip[OM_UUID_LEN];
    insert_clip(g_video2, 0.0, 3.5, clip);
    json_t *plan = edit_clip(clip);
    const char *mode = json_string_value(json_object_get(json_object_get(plan, "reframe"), "mode"));
    assert_true(!strcmp(mode, "content") || !strcmp(mode, "center"));
    /* the ledger packet of the edit says why: no face, the content crop instead */
    assert_int_equal(fx_count("SELECT count(*) FROM stardust_metadata WHERE entity_id = ? AND "
                              "decision_chain LIKE '%no face in the clip%'",
                              FX_TEXT1(clip)),
                     1);
    json_decref(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_speaker_crop),
        cmocka_unit_test(test_split_screen),
        cmocka_unit_test(test_no_face_falls_back),
    };
    return cmocka_run_group_tests_name("edit stage face framing", tests, setup, teardown);
}
