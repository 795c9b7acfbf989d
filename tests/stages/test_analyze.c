/*
 * test_analyze.c: the analyze stage through omniva_stages on real media (a talk generated
 * with espeak-ng + ffmpeg by the demo's generator, ingested by the scrape and fetch stages):
 * the analysis row, candidate clips with sane times inside the video, the select job; a
 * re-delivered job finishes early without a second row; and every no-clip reason, recorded
 * in analysis.raw_ai_output (no_clip_code / no_clip_reason): too_short and no_speech from
 * analyze, below_threshold and vetoed from select.
 */
#include "fixture.h"

#include "base/fsutil.h"
#include "stages/demo.h"
#include "stages/projects.h"

#include <math.h>

extern const om_stage om_stage_scrape, om_stage_fetch, om_stage_analyze, om_stage_select;

static char *talk_video, *short_video, *silent_video;

/* Scrapes a folder creator holding `file` and runs its fetch job: the stored video's id
 * (caller frees). */
static char *ingest(const char *file)
{
    static int n;
    char *dir = xasprintf("%s/in%d", FX.home, n++);
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    const char *base = strrchr(file, '/') + 1;
    char *dst = xasprintf("%s/%s", dir, base);
    assert_int_equal(om_copy_file_atomic(file, dst), OM_OK);
    char *uri = xasprintf("file://%s", dir);
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(FX.st, FX.project, uri, cid), OM_OK);
    json_t *p = json_pack("{s:s}", "creator_id", cid);
    assert_int_equal(run_stage(&om_stage_scrape, p, NULL), OM_OK);
    json_decref(p);
    static const char *const types[] = {"fetch"};
    om_job job;
    size_t got = 0;
    assert_int_equal(om_queue_claim(FX.q, types, 1, "test", 600000, &job, 1, &got), OM_OK);
    assert_int_equal(got, 1);
    assert_int_equal(run_job(&om_stage_fetch, &job, NULL, NULL), OM_OK);
    assert_int_equal(om_queue_ack(FX.q, &job), OM_OK);
    om_job_release(&job);
    char *vid = fx_value("SELECT v.video_id FROM videos v JOIN posts p ON p.post_id = v.post_id "
                         "WHERE p.creator_id = ?",
                         FX_TEXT1(cid));
    assert_non_null(vid);
    free(uri);
    free(dst);
    free(dir);
    return vid;
}

static int setup(void **state)
{
    (void)state;
    if (fx_open("analyze", 0,
                "{\"keywords\": [\"coffee\", \"espresso\", \"grind\"], \"brief\": \"home "
                "coffee brewing tips\", \"clip_min_s\": 15, \"clip_max_s\": 40}") != 0)
        return -1;
    char *gen = xasprintf("%s/generated", FX.home);
    int rc = om_demo_make_talk(gen, "talk", 1.0);
    if (rc == OM_OK)
        rc = om_demo_make_talk(gen, "short", 0.08);
    if (rc) {
        fprintf(stderr, "generating media: %s\n", om_error_msg());
        return -1;
    }
    char *silent = xasprintf("%s/silent.mp4", gen);
    const char *argv[] = {"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                          "color=c=gray:size=320x240:rate=25:duration=20", "-f", "lavfi", "-i",
                          "anullsrc=r=16000:cl=mono", "-t", "20", "-c:v", "libx264",
                          "-pix_fmt", "yuv420p", "-c:a", "aac", silent, NULL};
    if (fx_run_tool(argv) != 0)
        return -1;
    char *t = xasprintf("%s/talk.mp4", gen), *s = xasprintf("%s/short.mp4", gen);
    talk_video = t;
    short_video = s;
    silent_video = silent;
    free(gen);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(talk_video);
    free(short_video);
    free(silent_video);
    fx_close();
    return 0;
}

static json_t *raw_of(const char *video_id)
{
    char *raw = fx_value("SELECT raw_ai_output FROM analysis WHERE video_id = ?",
                         FX_TEXT1(video_id));
    assert_non_null(raw);
    json_t *j = json_loads(raw, 0, NULL);
    free(raw);
    assert_true(json_is_object(j));
    return j;
}

static void assert_no_clip(const char *video_id, const char *code, const char *says)
{
    json_t *raw = raw_of(video_id);
    const char *got = json_string_value(json_object_get(raw, "no_clip_code"));
    const char *why = json_string_value(json_object_get(raw, "no_clip_reason"));
    if (!got || strcmp(got, code) || !why || !strstr(why, says))
        fail_msg("video %s: no_clip_code %s (%s), want %s saying \"%s\"", video_id,
                 got ? got : "(none)", why ? why : "", code, says);
    json_decref(raw);
}

static char *talk_id; /* the talk's video, analysed by the first test */

static void test_talk_gives_candidates(void **state)
{
    (void)state;
    talk_id = ingest(talk_video);
    json_t *p = json_pack("{s:s}", "video_id", talk_id);
    assert_int_equal(run_stage(&om_stage_analyze, p, NULL), OM_OK);
    assert_int_equal(fx_count("SELECT count(*) FROM analysis WHERE video_id = ?",
                              FX_TEXT1(talk_id)),
                     1);
    /* candidates: inside the video, within the brand's length range */
    char *dur = fx_value("SELECT duration_seconds FROM videos WHERE video_id = ?",
                         FX_TEXT1(talk_id));
    double duration = strtod(dur, NULL);
    free(dur);
    assert_true(duration > 50 && duration < 75);
    om_rows *r = NULL;
    assert_int_equal(om_store_query(FX.st,
                                    "SELECT start_time, end_time, status FROM clips WHERE "
                                    "video_id = ?",
                                    FX_TEXT1(talk_id), &r),
                     OM_OK);
    assert_true(om_rows_count(r) >= 1);
    for (size_t i = 0; i < om_rows_count(r); i++) {
        double s = strtod(om_rows_get(r, i, 0), NULL), e = strtod(om_rows_get(r, i, 1), NULL);
        if (!(s >= 0 && e > s && e <= duration + 0.5 && e - s >= 15 - 0.5 && e - s <= 40 + 0.5))
            fail_msg("candidate %.2f-%.2f s of a %.1f s video", s, e, duration);
        assert_string_equal(om_rows_get(r, i, 2), "CANDIDATE");
    }
    om_rows_free(r);
    json_t *raw = raw_of(talk_id);
    assert_null(json_object_get(raw, "no_clip_code"));
    json_decref(raw);
    /* the select job for the committee, exactly one */
    assert_int_equal(fx_count("SELECT count(*) FROM jobs WHERE type = 'select' AND payload LIKE "
                              "'%' || ? || '%'",
                              FX_TEXT1(talk_id)),
                     1);
    /* a re-delivery after the commit: done early, nothing written twice */
    int64_t clips = fx_count("SELECT count(*) FROM clips", NULL, 0);
    assert_int_equal(rerun_last(&om_stage_analyze, p, NULL), OM_OK);
    fx_assert_done_early();
    assert_int_equal(fx_count("SELECT count(*) FROM analysis WHERE video_id = ?",
                              FX_TEXT1(talk_id)),
                     1);
    assert_int_equal(fx_count("SELECT count(*) FROM clips", NULL, 0), clips);
    json_decref(p);
}

static void test_too_short(void **state)
{
    (void)state;
    char *vid = ingest(short_video);
    json_t *p = json_pack("{s:s}", "video_id", vid);
    assert_int_equal(run_stage(&om_stage_analyze, p, NULL), OM_OK);
    assert_int_equal(fx_count("SELECT count(*) FROM clips WHERE video_id = ?", FX_TEXT1(vid)), 0);
    assert_no_clip(vid, "too_short", "shorter than the minimum clip length of 15 s");
    json_decref(p);
    free(vid);
}

static void test_no_speech(void **state)
{
    (void)state;
    char *vid = ingest(silent_video);
    json_t *p = json_pack("{s:s}", "video_id", vid);
    assert_int_equal(run_stage(&om_stage_analyze, p, NULL), OM_OK);
    assert_int_equal(fx_count("SELECT count(*) FROM clips WHERE video_id = ?", FX_TEXT1(vid)), 0);
    assert_no_clip(vid, "no_speech", "no speech was found");
    json_decref(p);
    free(vid);
}

/* select on the talk's candidates with a threshold nobody reaches, then with every
 * candidate vetoed by a banned word it contains (statuses reset in between). */
static void test_select_reasons(void **state)
{
    (void)state;
    assert_non_null(talk_id);
    char *aid = fx_value("SELECT analysis_id FROM analysis WHERE video_id = ?",
                         FX_TEXT1(talk_id));
    json_t *p = json_pack("{s:s, s:s}", "video_id", talk_id, "analysis_id", aid);
    om_config_set(FX.cfg, "pantheon", "min_confidence", "1");
    om_config_set(FX.cfg, "pantheon", "min_relevance", "0"); /* no off-brand veto here */
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    om_config_set(FX.cfg, "pantheon", "min_confidence", "0.3");
    om_config_set(FX.cfg, "pantheon", "min_relevance", "0.05");
    assert_int_equal(fx_count("SELECT count(*) FROM clips WHERE video_id = ? AND status = "
                              "'SELECTED'",
                              FX_TEXT1(talk_id)),
                     0);
    assert_no_clip(talk_id, "below_threshold", "below the committee's minimum confidence 1.00");

    /* every candidate spoken with "the" in it: banning it vetoes them all */
    fx_exec("UPDATE clips SET status = 'CANDIDATE' WHERE video_id = ?", FX_TEXT1(talk_id));
    json_t *patch = json_pack("{s:[s]}", "banned_words", "the");
    char *pt = json_dumps(patch, 0);
    assert_int_equal(om_project_update_brand(FX.st, FX.project, pt, FX.home), OM_OK);
    free(pt);
    json_decref(patch);
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    assert_no_clip(talk_id, "vetoed", "was vetoed");

    /* some clips but fewer than asked: the shortfall is said next to them */
    fx_exec("UPDATE clips SET status = 'CANDIDATE' WHERE video_id = ?", FX_TEXT1(talk_id));
    assert_int_equal(om_project_update_brand(FX.st, FX.project,
                                             "{\"banned_words\": [], \"clips_per_video\": 10}",
                                             FX.home),
                     OM_OK);
    om_config_set(FX.cfg, "pantheon", "min_confidence", "0");
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    om_config_set(FX.cfg, "pantheon", "min_confidence", "0.3");
    int64_t sel = fx_count("SELECT count(*) FROM clips WHERE video_id = ? AND status = "
                           "'SELECTED'",
                           FX_TEXT1(talk_id));
    assert_true(sel >= 1 && sel < 10);
    json_t *raw = raw_of(talk_id);
    assert_string_equal(json_string_value(json_object_get(raw, "shortfall_code")),
                        "fewer_than_requested");
    char *want = xasprintf("%lld of the 10 clips the brand asks per video", (long long)sel);
    const char *got = json_string_value(json_object_get(raw, "shortfall_reason"));
    if (!got || !strstr(got, want))
        fail_msg("shortfall_reason \"%s\" does not say \"%s\"", got ? got : "", want);
    free(want);
    json_decref(raw);
    json_decref(p);
    free(aid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_talk_gives_candidates),
        cmocka_unit_test(test_too_short),
        cmocka_unit_test(test_no_speech),
        cmocka_unit_test(test_select_reasons),
    };
    int rc = cmocka_run_group_tests_name("analyze stage", tests, setup, teardown);
    free(talk_id);
    return rc;
}
