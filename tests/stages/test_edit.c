/* test_edit.c: the edit stage end to end on a real SQLite store and queue, with media
 * generated here: a selected clip of a 1920x1080 source (a white square that jumps from the
 * left to the right, a tone) with ASR words (one mumbled line) and a project brand (logo,
 * colours, loudness). Checks the render file, edit_jobs, artifacts, clip status, the ledger
 * packet and the schedule follow-up; re-delivery writes nothing twice; a lost output is
 * rendered again; bad clips fail clearly; a cancelled render writes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/editplan.h"
#include "media/render.h"
#include "queue/queue.h"
#include "runtime/runtime.h"
#include "stages/projects.h"
#include "store/store.h"
#include "fixture.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

extern const om_stage om_stage_edit;

static char *home, *media, *src;
static om_config *cfg;
static om_store *st;
static om_queue *q;
static char project[OM_UUID_LEN], creator[OM_UUID_LEN], post[OM_UUID_LEN], video[OM_UUID_LEN],
    analysis[OM_UUID_LEN], clip[OM_UUID_LEN];
static char src_sha[OM_SHA256_HEX_LEN];

static void ffmpeg_ok(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 120000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code != 0)
        fail_msg("ffmpeg failed: %s", r.err);
    om_proc_result_release(&r);
}

static void exec_ok(const char *sql, const om_val *p, size_t n)
{
    int rc = om_store_exec(st, sql, p, n, NULL);
    if (rc)
        fail_msg("%s: %s", sql, om_error_msg());
}

static int64_t count(const char *sql, const char *arg)
{
    char *v = NULL;
    int rc = om_store_query_value(st, sql, OM_PARAMS(OM_TEXT(arg)), &v);
    if (rc)
        fail_msg("%s: %s", sql, om_error_msg());
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static char *value(const char *sql, const char *arg)
{
    char *v = NULL;
    int rc = om_store_query_value(st, sql, OM_PARAMS(OM_TEXT(arg)), &v);
    if (rc)
        fail_msg("%s: %s", sql, om_error_msg());
    return v;
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

static int setup(void **state)
{
    (void)state;
    if (fx_open("edit", 0, NULL) != 0)
        return -1;
    home = FX.home;
    media = FX.media;
    cfg = FX.cfg;
    st = FX.st;
    q = FX.q;
    memcpy(project, FX.project, sizeof(project));
    om_config_set(cfg, "editor", "preset", "ultrafast");
    om_config_set(cfg, "editor", "crf", "30");

    src = xasprintf("%s/source.mp4", home);
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
                        "[2:a]volume=-20dB[a]",
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
    char *logo = xasprintf("%s/logo.png", home);
    const char *a2[] = {"ffmpeg",
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
    ffmpeg_ok(a2);
    if (om_sha256_file(src, src_sha))
        return -1;

    char *brand = xasprintf("{\"logo\":\"%s\",\"reframe\":\"content\",\"loudness_target\":-16,"
                            "\"caption\":{\"highlight_color\":\"#00FF00\",\"size\":60}}",
                            logo);
    int rc = om_project_update_brand(st, project, brand, home);
    free(brand);
    free(logo);
    if (rc != OM_OK) {
        fprintf(stderr, "setup: %s\n", om_error_msg());
        return -1;
    }
    om_uuid4(creator);
    om_uuid4(post);
    om_uuid4(video);
    om_uuid4(analysis);
    om_uuid4(clip);
    exec_ok("INSERT INTO creators (creator_id, platform, username) VALUES (?, 'local', 'me')",
            OM_PARAMS(OM_TEXT(creator)));
    exec_ok("INSERT INTO project_creators (project_id, creator_id) VALUES (?, ?)",
            OM_PARAMS(OM_TEXT(project), OM_TEXT(creator)));
    exec_ok("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) VALUES "
            "(?, ?, 'local', 'p1', 'file:///x')",
            OM_PARAMS(OM_TEXT(post), OM_TEXT(creator)));
    exec_ok("INSERT INTO videos (video_id, post_id, file_path, duration_seconds, resolution, "
            "checksum) VALUES (?, ?, ?, 12, '1920x1080', ?)",
            OM_PARAMS(OM_TEXT(video), OM_TEXT(post), OM_TEXT(src), OM_TEXT(src_sha)));
    /* words: a clear sentence, a pause, a mumbled line, a clear ending; "square" straddles
     * the clip start (1.0) so the cut must move to 0.9 */
    json_t *words = json_array();
    struct {
        const char *w;
        double s, e, c;
    } W[] = {{"square", 0.9, 1.3, 0.95}, {"on", 1.35, 1.5, 0.95},    {"the", 1.55, 1.7, 0.9},
             {"left.", 1.75, 2.1, 0.9},  {"uh", 3.5, 3.7, 0.2},      {"hmm", 3.75, 3.9, 0.1},
             {"mm", 3.95, 4.1, 0.3},     {"Now", 6.0, 6.3, 0.92},    {"it", 6.35, 6.5, 0.9},
             {"jumps", 6.55, 6.9, 0.9},  {"right.", 6.95, 7.4, 0.9}, {"Bye.", 10.8, 11.3, 0.9}};
    for (size_t i = 0; i < OM_ARRAY_LEN(W); i++)
        json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", W[i].w, "start", W[i].s,
                                               "end", W[i].e, "conf", W[i].c));
    /* signals as the analyzer writes them: per-second short-term loudness (the source is a
     * steady tone, so every second measures what the whole file measures) */
    double src_lufs = measure_lufs(src, 0, 12);
    json_t *short_term = json_array();
    for (int i = 0; i < 12; i++)
        json_array_append_new(short_term, json_real(src_lufs));
    json_t *raw = json_pack("{s:{s:s}, s:o, s:[], s:{s:f, s:{s:f, s:o}}}", "engine", "name",
                            "external", "words", words, "sentences", "signals", "duration", 12.0,
                            "loudness", "integrated", src_lufs, "short_term", short_term);
    char *rawtext = json_dumps(raw, JSON_COMPACT);
    json_decref(raw);
    exec_ok("INSERT INTO analysis (analysis_id, video_id, transcript, raw_ai_output) VALUES "
            "(?, ?, 'square on the left', ?)",
            OM_PARAMS(OM_TEXT(analysis), OM_TEXT(video), OM_JSON(rawtext)));
    free(rawtext);
    /* the clip ends at 10.9, inside "Bye." (10.8-11.3): the cut moves the end to 11.3+0.15 */
    exec_ok("INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, status, "
            "analysis_id, metadata) VALUES (?, ?, 1.0, 10.9, 0.8, 'SELECTED', ?, ?)",
            OM_PARAMS(OM_TEXT(clip), OM_TEXT(video), OM_TEXT(analysis),
                      OM_JSON("{\"transcript\":\"square on the left\"}")));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(src);
    fx_close();
    return 0;
}

static int run_edit(const char *clip_id, json_t **result_out)
{
    json_t *payload = json_pack("{s:s, s:s}", "clip_id", clip_id, "project_id", project);
    int rc = run_stage(&om_stage_edit, payload, result_out);
    json_decref(payload);
    return rc;
}

static char *render_path(void)
{
    char *real = realpath(media, NULL);
    char *p = xasprintf("%s/renders/%s.mp4", real, clip);
    free(real);
    return p;
}

/* fraction of bright pixels of a gray frame at time t, rows [y0, y1) */
static double bright_at(const char *path, double t, int y0, int y1)
{
    char *raw = xasprintf("%s/frame.gray", home);
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
    size_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < 1080; x++)
            n += (unsigned char)px[(size_t)y * 1080 + x] > 200;
    free(px);
    unlink(raw);
    free(raw);
    return (double)n / ((double)(y1 - y0) * 1080);
}

static void test_edit_end_to_end(void **state)
{
    (void)state;
    json_t *res = NULL;
    int64_t t0 = om_mono_ms();
    int rc = run_edit(clip, &res);
    if (rc)
        fail_msg("edit: %s", om_error_msg());
    char *rtext = json_dumps(res, JSON_COMPACT);
    printf("[ edit ] %.1f s: %s\n", (om_mono_ms() - t0) / 1000.0, rtext);
    free(rtext);
    char *out = render_path();
    assert_true(om_file_exists(out));
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(out, sha), OM_OK);
    assert_string_equal(json_string_value(json_object_get(res, "checksum")), sha);
    /* cut: 0.9 - 0.05 = 0.85 (no word before) to 11.3 + 0.15 = 11.45 */
    om_render_info mi;
    assert_int_equal(om_render_probe(out, &mi), OM_OK);
    assert_true(fabs(mi.duration - (11.45 - 0.85)) <= 0.1);
    assert_int_equal(mi.width, 1080);
    assert_int_equal(mi.height, 1920);

    /* edit_jobs: DONE, the plan (valid, with meta.stardust_id) and exactly one command */
    om_rows *r = NULL;
    assert_int_equal(om_store_query(st,
                                    "SELECT operations, ffmpeg_commands, gpu_required, "
                                    "estimated_duration_seconds, status FROM edit_jobs "
                                    "WHERE clip_id = ?",
                                    OM_PARAMS(OM_TEXT(clip)), &r),
                     OM_OK);
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_getn(r, 0, "status"), "DONE");
    assert_string_equal(om_rows_getn(r, 0, "gpu_required"), "0");
    assert_int_equal(om_rows_int(r, 0, "estimated_duration_seconds", -1), 11);
    json_t *cmds = json_loads(om_rows_getn(r, 0, "ffmpeg_commands"), 0, NULL);
    assert_int_equal(json_array_size(cmds), 1);
    const char *cmd = json_string_value(json_array_get(cmds, 0));
    assert_true(strncmp(cmd, "ffmpeg ", 7) == 0);
    assert_non_null(strstr(cmd, "-filter_complex"));
    assert_non_null(strstr(cmd, "ass=filename="));
    /* the analysis measured the clip: linear gain to the brand's -16 LUFS, no loudnorm */
    assert_non_null(strstr(cmd, "volume="));
    assert_non_null(strstr(cmd, "alimiter="));
    assert_null(strstr(cmd, "loudnorm"));
    double out_lufs = measure_lufs(out, 0, 10.6);
    printf("[ edit ] output loudness %.1f LUFS (brand target -16)\n", out_lufs);
    assert_true(fabs(out_lufs - (-16.0)) < 1.0);
    assert_non_null(strstr(cmd, "colorchannelmixer"));
    json_t *ops = json_loads(om_rows_getn(r, 0, "operations"), 0, NULL);
    om_editplan *plan = NULL;
    if (om_editplan_parse(&plan, ops))
        fail_msg("stored plan does not parse: %s", om_error_msg());
    assert_true(fabs(plan->start - 0.85) < 1e-6);
    assert_true(fabs(plan->end - 11.45) < 1e-6);
    assert_non_null(plan->captions_ass);
    assert_non_null(plan->logo.path);
    om_editplan_free(plan);
    const char *packet =
        json_string_value(json_object_get(json_object_get(ops, "meta"), "stardust_id"));
    assert_non_null(packet);
    /* the mumbled line is not burned in, and the plan says why */
    json_t *dropped = json_object_get(json_object_get(ops, "captions"), "dropped_lines");
    assert_int_equal(json_array_size(dropped), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(dropped, 0), "text")),
                        "uh hmm mm");
    assert_string_equal(json_string_value(json_object_get(json_array_get(dropped, 0), "reason")),
                        "low ASR confidence");
    char *ass = NULL;
    assert_int_equal(
        om_read_file(json_string_value(json_object_get(json_object_get(ops, "captions"), "ass")), 0,
                     &ass, NULL),
        OM_OK);
    assert_null(strstr(ass, "hmm"));
    assert_non_null(strstr(ass, "jumps"));
    assert_non_null(strstr(ass, "{\\1c&H00FF00&}"));
    free(ass);
    json_t *reframe = json_object_get(ops, "reframe");
    printf("[ edit ] reframe %s, %zu track points\n",
           json_string_value(json_object_get(reframe, "mode")),
           json_array_size(json_object_get(reframe, "track")));

    /* artifacts, clip status, ledger, follow-up */
    assert_int_equal(
        count("SELECT COUNT(*) FROM artifacts WHERE kind = 'render' AND entity_id = ?", clip), 1);
    char *achk =
        value("SELECT checksum FROM artifacts WHERE kind = 'render' AND entity_id = ?", clip);
    assert_string_equal(achk, sha);
    free(achk);
    assert_int_equal(
        count("SELECT COUNT(*) FROM artifacts WHERE kind = 'subtitle' AND entity_id = ?", clip), 1);
    char *status = value("SELECT status FROM clips WHERE clip_id = ?", clip);
    assert_string_equal(status, "RENDERED");
    free(status);
    char *lineage = value("SELECT lineage FROM stardust_metadata WHERE stardust_id = ?", packet);
    json_t *lj = json_loads(lineage, 0, NULL);
    json_t *ev = json_object_get(lj, "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "output_checksum")), sha);
    assert_string_equal(json_string_value(json_object_get(ev, "source_checksum")), src_sha);
    assert_string_equal(json_string_value(json_object_get(ev, "ffmpeg_command")), cmd);
    assert_int_equal(strlen(json_string_value(json_object_get(ev, "plan_sha256"))), 64);
    json_decref(lj);
    free(lineage);
    char *key = xasprintf("schedule:%s", clip);
    assert_int_equal(
        count("SELECT COUNT(*) FROM jobs WHERE type = 'schedule' AND unique_key = ?", key), 1);
    char *payload = value("SELECT payload FROM jobs WHERE unique_key = ?", key);
    json_t *pj = json_loads(payload, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(pj, "clip_id")), clip);
    assert_string_equal(json_string_value(json_array_get(json_object_get(pj, "parents"), 0)),
                        packet);
    json_decref(pj);
    free(payload);

    /* the crop follows the square: visible on the left part (t=1) and after the jump (t=9) */
    if (strcmp(json_string_value(json_object_get(reframe, "mode")), "content") == 0) {
        double b1 = bright_at(out, 1.0, 700, 1200), b2 = bright_at(out, 9.0, 700, 1200);
        printf("[ edit ] square visible: %.2f at t=1, %.2f at t=9\n", b1, b2);
        assert_true(b1 > 0.1);
        assert_true(b2 > 0.1);
    }

    /* re-delivery: nothing written twice, the file untouched */
    struct stat st1, st2;
    assert_int_equal(stat(out, &st1), 0);
    int64_t packets = count("SELECT COUNT(*) FROM stardust_metadata WHERE entity_id = ?", clip);
    json_t *res2 = NULL;
    assert_int_equal(run_edit(clip, &res2), OM_OK);
    assert_true(json_is_true(json_object_get(res2, "already_rendered")));
    assert_int_equal(stat(out, &st2), 0);
    assert_true(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
                st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
    assert_int_equal(count("SELECT COUNT(*) FROM stardust_metadata WHERE entity_id = ?", clip),
                     packets);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE unique_key = ?", key), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM edit_jobs WHERE clip_id = ?", clip), 1);
    json_decref(res2);

    /* the output went missing: rendered again, recorded again, still one follow-up; a partial
     * render left by an earlier (killed) attempt is cleared away */
    unlink(out);
    char *stale = xasprintf("%s.partial.999999", out);
    assert_int_equal(om_write_file_atomic(stale, "junk", 4), OM_OK);
    json_t *res3 = NULL;
    assert_int_equal(run_edit(clip, &res3), OM_OK);
    assert_null(json_object_get(res3, "already_rendered"));
    assert_false(om_file_exists(stale));
    free(stale);
    assert_true(om_file_exists(out));
    assert_int_equal(count("SELECT COUNT(*) FROM stardust_metadata WHERE entity_id = ?", clip),
                     packets + 1);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE unique_key = ?", key), 1);
    assert_int_equal(
        count("SELECT COUNT(*) FROM artifacts WHERE kind = 'render' AND entity_id = ?", clip), 1);
    json_decref(res3);

    free(key);
    json_decref(ops);
    json_decref(cmds);
    om_rows_free(r);
    json_decref(res);
    free(out);
}

static void test_bad_clips(void **state)
{
    (void)state;
    char nope[OM_UUID_LEN];
    om_uuid4(nope);
    assert_int_equal(run_edit(nope, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "does not exist"));
    assert_int_equal(run_edit("not-a-uuid", NULL), OM_EINVAL);

    char rej[OM_UUID_LEN];
    om_uuid4(rej);
    exec_ok("INSERT INTO clips (clip_id, video_id, start_time, end_time, status) VALUES "
            "(?, ?, 2.0, 4.0, 'REJECTED')",
            OM_PARAMS(OM_TEXT(rej), OM_TEXT(video)));
    assert_int_equal(run_edit(rej, NULL), OM_EPERMANENT);
    assert_non_null(strstr(om_error_msg(), "rejected"));
}

static void cancel_soon(void)
{
    FX.cancel = 1;
}

static void test_cancelled_render_writes_nothing_after(void **state)
{
    (void)state;
    char c2[OM_UUID_LEN];
    om_uuid4(c2);
    exec_ok("INSERT INTO clips (clip_id, video_id, start_time, end_time, status, analysis_id) "
            "VALUES (?, ?, 1.0, 11.0, 'SELECTED', ?)",
            OM_PARAMS(OM_TEXT(c2), OM_TEXT(video), OM_TEXT(analysis)));
    om_config_set(cfg, "editor", "preset", "veryslow");
    /* cancelled from the start: CUT and REFINE run (they do not poll), the render stops at
     * once and nothing is recorded as done */
    cancel_soon();
    int rc = run_edit(c2, NULL);
    FX.cancel = 0;
    om_config_set(cfg, "editor", "preset", "ultrafast");
    assert_int_equal(rc, OM_ETIMEOUT);
    char *status = value("SELECT status FROM clips WHERE clip_id = ?", c2);
    assert_string_equal(status, "SELECTED");
    free(status);
    char *ej = value("SELECT status FROM edit_jobs WHERE clip_id = ?", c2);
    assert_string_equal(ej, "RUNNING"); /* cancelled: not even FAILED is written */
    free(ej);
    char *key = xasprintf("schedule:%s", c2);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE unique_key = ?", key), 0);
    free(key);
    char *real = realpath(media, NULL);
    /* no partial render of this clip is left behind */
    char *rd = xasprintf("%s/renders", real);
    char *prefix = xasprintf("%s.mp4.partial", c2);
    DIR *d = opendir(rd);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_false(strncmp(de->d_name, prefix, strlen(prefix)) == 0);
    closedir(d);
    free(prefix);
    free(rd);
    free(real);
}

/* Through the real worker: the job is claimed, run in a forked job process with its own
 * store connection, acked; the follow-up is in the queue. */
static void test_through_worker(void **state)
{
    (void)state;
    char c3[OM_UUID_LEN];
    om_uuid4(c3);
    exec_ok("INSERT INTO clips (clip_id, video_id, start_time, end_time, status, analysis_id) "
            "VALUES (?, ?, 5.5, 8.0, 'SELECTED', ?)",
            OM_PARAMS(OM_TEXT(c3), OM_TEXT(video), OM_TEXT(analysis)));
    char *url = xasprintf("sqlite://%s/omniva.db", home);
    om_config_set(cfg, "store", "url", url);
    om_config_set(cfg, "queue", "url", "sqlite");
    free(url);
    char *payload = xasprintf("{\"clip_id\":\"%s\",\"project_id\":\"%s\"}", c3, project);
    char *ukey = xasprintf("edit:%s", c3);
    om_job_spec spec = OM_JOB_SPEC_INIT;
    spec.type = "edit";
    spec.payload = payload;
    spec.unique_key = ukey;
    char id[OM_UUID_LEN];
    int created = 0;
    assert_int_equal(om_queue_enqueue(q, &spec, id, &created), OM_OK);
    assert_int_equal(created, 1);
    om_runtime_register(&om_stage_edit);
    const char *types[] = {"edit", NULL};
    om_worker_opts wo = {.types = types, .concurrency = 1, .once = 1, .home = home};
    int rc = om_worker_run(cfg, &wo);
    if (rc)
        fail_msg("worker: %s", om_error_msg());
    om_job job;
    assert_int_equal(om_queue_get(q, id, &job), OM_OK);
    if (strcmp(job.state, "done") != 0)
        fail_msg("edit job is %s", job.state);
    om_job_release(&job);
    char *status = value("SELECT status FROM clips WHERE clip_id = ?", c3);
    assert_string_equal(status, "RENDERED");
    free(status);
    char *ej = value("SELECT status FROM edit_jobs WHERE clip_id = ?", c3);
    assert_string_equal(ej, "DONE");
    free(ej);
    char *key = xasprintf("schedule:%s", c3);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE unique_key = ?", key), 1);
    free(key);
    free(ukey);
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_end_to_end),
        cmocka_unit_test(test_bad_clips),
        cmocka_unit_test(test_cancelled_render_writes_nothing_after),
        cmocka_unit_test(test_through_worker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
