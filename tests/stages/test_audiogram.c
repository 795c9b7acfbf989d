/*
 * test_audiogram.c: an audio-only source (a podcast file: the demo generator's talk with its
 * picture dropped) through the stages: scrape + fetch store it (no resolution), analyze
 * transcribes it and finds candidates, select chooses, and edit renders an audiogram clip
 * (waveform, title card, the brand's caption preset, jump cuts) in one ffmpeg pass; the plan,
 * the decision chain and the render say so.
 */
#include "fixture.h"

#include "base/fsutil.h"
#include "media/render.h"
#include "stages/demo.h"
#include "stages/projects.h"

#include <math.h>

extern const om_stage om_stage_scrape, om_stage_fetch, om_stage_analyze, om_stage_select,
    om_stage_edit;

static char *podcast;

static int setup(void **state)
{
    (void)state;
    if (fx_open("audiogram", 0,
                "{\"keywords\": [\"coffee\", \"espresso\", \"grind\"], \"brief\": \"home "
                "coffee brewing tips\", \"clip_min_s\": 15, \"clip_max_s\": 40, "
                "\"caption\": {\"style\": \"pop\"}, \"jump_cuts\": true, \"jump_cut_pause\": 0.3, "
                "\"audiogram\": \"waves\"}") != 0)
        return -1;
    char *gen = xasprintf("%s/generated", FX.home);
    if (om_demo_make_talk(gen, "talk", 1.0) != OM_OK) {
        fprintf(stderr, "generating media: %s\n", om_error_msg());
        return -1;
    }
    char *talk = xasprintf("%s/talk.mp4", gen);
    podcast = xasprintf("%s/episode.m4a", gen);
    const char *argv[] = {"ffmpeg", "-v", "error", "-y", "-i", talk, "-vn", "-c:a", "aac",
                          "-b:a", "96k", podcast, NULL};
    int rc = fx_run_tool(argv);
    free(talk);
    free(gen);
    return rc ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    free(podcast);
    fx_close();
    return 0;
}

static void test_podcast_to_audiogram(void **state)
{
    (void)state;
    /* scrape + fetch: a folder holding the episode */
    char *dir = xasprintf("%s/feed", FX.home);
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    char *dst = xasprintf("%s/episode.m4a", dir);
    assert_int_equal(om_copy_file_atomic(podcast, dst), OM_OK);
    char *uri = xasprintf("file://%s", dir);
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(FX.st, FX.project, uri, cid), OM_OK);
    json_t *p = json_pack("{s:s}", "creator_id", cid);
    assert_int_equal(run_stage(&om_stage_scrape, p, NULL), OM_OK);
    json_decref(p);
    static const char *const fetch[] = {"fetch"};
    om_job job;
    size_t got = 0;
    assert_int_equal(om_queue_claim(FX.q, fetch, 1, "test", 600000, &job, 1, &got), OM_OK);
    assert_int_equal(got, 1);
    assert_int_equal(run_job(&om_stage_fetch, &job, NULL, NULL), OM_OK);
    assert_int_equal(om_queue_ack(FX.q, &job), OM_OK);
    om_job_release(&job);
    char *vid = fx_value("SELECT v.video_id FROM videos v JOIN posts p ON p.post_id = v.post_id "
                         "WHERE p.creator_id = ?",
                         FX_TEXT1(cid));
    assert_non_null(vid);
    assert_null(fx_value("SELECT resolution FROM videos WHERE video_id = ?", FX_TEXT1(vid)));

    /* analyze: a transcript and candidates from the audio alone */
    p = json_pack("{s:s}", "video_id", vid);
    assert_int_equal(run_stage(&om_stage_analyze, p, NULL), OM_OK);
    assert_true(fx_count("SELECT count(*) FROM clips WHERE video_id = ?", FX_TEXT1(vid)) >= 1);
    char *aid = fx_value("SELECT analysis_id FROM analysis WHERE video_id = ?", FX_TEXT1(vid));
    json_decref(p);

    /* select (no thresholds: this test is about the audiogram) */
    om_config_set(FX.cfg, "pantheon", "min_confidence", "0");
    om_config_set(FX.cfg, "pantheon", "min_relevance", "0");
    p = json_pack("{s:s, s:s}", "video_id", vid, "analysis_id", aid);
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    json_decref(p);
    char *clip = fx_value("SELECT clip_id FROM clips WHERE video_id = ? AND status = 'SELECTED' "
                          "ORDER BY lattice_priority DESC LIMIT 1",
                          FX_TEXT1(vid));
    assert_non_null(clip);

    /* edit: an audiogram, one pass */
    p = json_pack("{s:s}", "clip_id", clip);
    json_t *res = NULL;
    int rc = run_stage(&om_stage_edit, p, &res);
    if (rc)
        fail_msg("edit: %s", FX.last_error);
    json_decref(p);
    json_decref(res);
    char *ops = fx_value("SELECT operations FROM edit_jobs WHERE clip_id = ?", FX_TEXT1(clip));
    char *cmd = fx_value("SELECT ffmpeg_commands FROM edit_jobs WHERE clip_id = ?",
                         FX_TEXT1(clip));
    assert_non_null(ops);
    json_t *plan = json_loads(ops, 0, NULL);
    json_t *ag = json_object_get(plan, "audiogram");
    assert_true(json_is_object(ag));
    assert_string_equal(json_string_value(json_object_get(ag, "visual")), "waves");
    const char *title = json_string_value(json_object_get(ag, "title"));
    assert_non_null(title);
    assert_true(strlen(title) > 5);
    assert_true(json_is_object(json_object_get(plan, "captions")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(plan, "captions"), "stats"), "preset")),
                        "pop");
    json_t *cuts = json_object_get(plan, "cuts");
    printf("[ audiogram ] clip %s: title \"%s\", %zu kept segments\n", clip, title,
           json_array_size(cuts));
    assert_true(json_array_size(cuts) >= 2); /* espeak's sentence pauses exceed 0.3 s */
    assert_non_null(strstr(cmd, "showwaves="));
    assert_non_null(strstr(cmd, "drawtext="));
    assert_null(strstr(cmd, "[0:v]"));
    /* the render: 1080x1920 H.264 + AAC, the kept length */
    char *media = realpath(FX.media, NULL);
    char *out = xasprintf("%s/renders/%s.mp4", media, clip);
    om_render_info info;
    assert_int_equal(om_render_probe(out, &info), OM_OK);
    assert_true(info.has_video && info.has_audio);
    assert_int_equal(info.width, 1080);
    assert_int_equal(info.height, 1920);
    double kept = 0;
    size_t i;
    json_t *s;
    json_array_foreach(cuts, i, s)
        kept += json_number_value(json_array_get(s, 1)) - json_number_value(json_array_get(s, 0));
    assert_true(fabs(info.duration - kept) <= 0.1);
    assert_true(kept < json_number_value(json_object_get(plan, "end")) -
                           json_number_value(json_object_get(plan, "start")) - 0.3);
    /* the decision chain: an audiogram, not a crop; the jump cuts */
    char *chain = fx_value("SELECT s.decision_chain FROM stardust_metadata s WHERE "
                           "s.entity_type = 'edit_jobs' ORDER BY s.created_at DESC LIMIT 1",
                           NULL, 0);
    if (chain) {
        assert_non_null(strstr(chain, "audiogram"));
        assert_non_null(strstr(chain, "jump_cuts"));
        assert_null(strstr(chain, "motion track failed"));
    }
    free(chain);
    free(out);
    free(media);
    json_decref(plan);
    free(ops);
    free(cmd);
    free(clip);
    free(aid);
    free(vid);
    free(uri);
    free(dst);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_podcast_to_audiogram),
    };
    return cmocka_run_group_tests_name("audio-only source", tests, setup, teardown);
}
