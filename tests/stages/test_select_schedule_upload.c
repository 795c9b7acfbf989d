/*
 * test_select_schedule_upload.c: the select, schedule and upload stages end to end against a real store
 * and queue (SQLite + SQLite queue, and PostgreSQL + Redis when the harness can start
 * them), then HaloLux's explanation of what they did:
 *   select: seven agents vote on five candidates; a brand-safety veto and a cross-creator
 *           near-duplicate veto reject two, Lattice keeps the top clips_per_video = 2, one
 *           edit job per selected clip (parents = the clip's packet); re-delivery is a no-op;
 *   schedule: a slot Horizon allows (never in the past), schedules + upload_jobs + delayed
 *           upload job in one transaction; min gap between clips of the project; [schedule]
 *           now = 1; re-delivery is a no-op;
 *   upload: export file + sidecar with provenance, upload job DONE, artifact, PUBLISHED;
 *           re-delivery does not export again;
 *   explain: votes, veto, Chorus, Lattice, edit decisions, Oracle/Horizon/Zenith, export
 *           path and ledger ids, as text and JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <sys/stat.h>

#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "stages/halolux.h"
#include "ledger/stardust.h"
#include "harness/harness.h"
#include "runtime/runtime.h"
#include "stages/projects.h"
#include "stages/weights.h"
#include "cognition/tz.h"
#include "fixture.h"

extern const om_stage om_stage_select, om_stage_schedule, om_stage_upload;

/* What this suite adds to the shared fixture (FX); home..project alias FX's. */
typedef struct fixture {
    int pg; /* 0: SQLite + SQLite queue; 1: PostgreSQL + Redis */
    char *home, *media;
    om_config *cfg;
    om_store *st;
    om_queue *q;
    char project[OM_UUID_LEN], ca[OM_UUID_LEN], cb[OM_UUID_LEN];
    char video[OM_UUID_LEN], analysis[OM_UUID_LEN];
    char clip[6][OM_UUID_LEN]; /* c1..c5 candidates, c6 rendered later */
    char prior[OM_UUID_LEN];
} fixture;

static fixture F;

/* ---- helpers ---- */

static void exec_ok(const char *sql, const om_val *p, size_t n)
{
    int rc = om_store_exec(F.st, sql, p, n, NULL);
    if (rc)
        fail_msg("%s: %s", sql, om_error_msg());
}

static char *value(const char *sql, const char *arg)
{
    char *v = NULL;
    int rc = om_store_query_value(F.st, sql, OM_PARAMS(OM_TEXT(arg)), &v);
    if (rc && rc != OM_ENOTFOUND)
        fail_msg("%s: %s", sql, om_error_msg());
    return v;
}

static int64_t count(const char *sql, const char *arg)
{
    char *v = value(sql, arg);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static json_t *json_value(const char *sql, const char *arg)
{
    char *v = value(sql, arg);
    json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
    free(v);
    return j;
}

static char *status_of(const char *clip)
{
    return value("SELECT status FROM clips WHERE clip_id = ?", clip);
}

static void assert_status(const char *clip, const char *want)
{
    char *s = status_of(clip);
    if (!s || strcmp(s, want))
        fail_msg("clip %s: status %s, expected %s", clip, s ? s : "(none)", want);
    free(s);
}

/* The payload of the one job of `type` with `unique_key` (outbox rows included). */
static json_t *job_payload(const char *type, const char *key)
{
    om_rows *r = NULL;
    assert_int_equal(om_store_query(F.st,
                                    "SELECT payload FROM jobs WHERE type = ? AND unique_key = ?",
                                    OM_PARAMS(OM_TEXT(type), OM_TEXT(key)), &r),
                     OM_OK);
    assert_int_equal(om_rows_count(r), 1);
    json_t *p = json_loads(om_rows_get(r, 0, 0), 0, NULL);
    om_rows_free(r);
    assert_non_null(p);
    return p;
}

static int64_t jobs_of_type(const char *type)
{
    return count("SELECT count(*) FROM jobs WHERE type = ?", type);
}

static int64_t packets_total(void)
{
    return count("SELECT count(*) FROM stardust_metadata WHERE entity_type <> ?", "-");
}

/* ---- fixture ---- */

static json_t *meta(const char *transcript, double hook, double vir, double energy,
                    const char *fired)
{
    return json_pack("{s:s,s:s,s:{s:f,s:[s],s:[s]},s:{s:f,s:f,s:f,s:f,s:f,s:f},s:s}",
                     "analysis_id", F.analysis, "transcript", transcript, "hook", "score", hook,
                     "fired", fired, "reasons", fired, "scores", "virality", vir, "energy",
                     energy, "loudness_rel_lu", 1.5, "scenes_per_min", 3.0, "speech_rate_wpm",
                     165.0, "engagement", 0.6, "stardust_id",
                     "00000000-0000-4000-8000-000000000000");
}

static void insert_clip(const char *id, const char *video, double s, double e,
                        const char *status, json_t *m)
{
    char *mt = json_dumps(m, JSON_COMPACT);
    exec_ok("INSERT INTO clips (clip_id, video_id, start_time, end_time, status, analysis_id, "
            "metadata, semantic_tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            OM_PARAMS(OM_TEXT(id), OM_TEXT(video), OM_REAL(s), OM_REAL(e), OM_TEXT(status),
                      !strcmp(video, F.video) ? OM_TEXT(F.analysis) : OM_NULL, OM_JSON(mt),
                      OM_ARRAY("[\"investing\",\"savings\"]")));
    free(mt);
    json_decref(m);
}

static const char *DUP_TEXT =
    "the three rules of saving money that nobody teaches you in school are simple pay "
    "yourself first automate every transfer and never touch the emergency fund";

static int setup_common(void)
{
    const char *brand =
        "{\"keywords\":[\"investing\",\"savings\"],\"brief\":\"personal finance habits for "
        "young people\",\"banned_words\":[\"gamble\"],\"clip_min_s\":15,\"clip_max_s\":45,"
        "\"clips_per_video\":2,\"posts_per_day\":3,\"min_gap_minutes\":120,"
        "\"quiet_hours\":{\"start\":23,\"end\":7},\"timezone\":\"Europe/Berlin\"}";
    if (fx_open(F.pg ? "stages-pg" : "stages", F.pg, brand) != 0)
        return -1;
    F.home = FX.home;
    F.media = FX.media;
    F.cfg = FX.cfg;
    F.st = FX.st;
    F.q = FX.q;
    memcpy(F.project, FX.project, sizeof(F.project));
    om_uuid4(F.ca);
    om_uuid4(F.cb);
    char pa[OM_UUID_LEN], pb[OM_UUID_LEN], vb[OM_UUID_LEN];
    om_uuid4(pa);
    om_uuid4(pb);
    om_uuid4(vb);
    om_uuid4(F.video);
    om_uuid4(F.analysis);
    for (int i = 0; i < 6; i++)
        om_uuid4(F.clip[i]);
    om_uuid4(F.prior);
    exec_ok("INSERT INTO creators (creator_id, platform, username) VALUES (?, 'tiktok', 'alice')",
            OM_PARAMS(OM_TEXT(F.ca)));
    exec_ok("INSERT INTO creators (creator_id, platform, username) VALUES (?, 'youtube', 'bob')",
            OM_PARAMS(OM_TEXT(F.cb)));
    exec_ok("INSERT INTO project_creators (project_id, creator_id) VALUES (?, ?)",
            OM_PARAMS(OM_TEXT(F.project), OM_TEXT(F.ca)));
    exec_ok("INSERT INTO project_creators (project_id, creator_id) VALUES (?, ?)",
            OM_PARAMS(OM_TEXT(F.project), OM_TEXT(F.cb)));
    char when[OM_TIME_LEN];
    om_time_iso(when, om_now_us() - (int64_t)3 * 86400 * 1000000);
    exec_ok("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url, posted_at, "
            "raw_metadata) VALUES (?, ?, 'tiktok', 'a1', 'https://tiktok.example/@alice/1', ?, "
            "'{\"view_count\": 5000, \"like_count\": 200}')",
            OM_PARAMS(OM_TEXT(pa), OM_TEXT(F.ca), OM_TEXT(when)));
    exec_ok("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url, posted_at, "
            "raw_metadata) VALUES (?, ?, 'youtube', 'b1', 'https://youtube.example/b1', ?, "
            "'{\"view_count\": 800}')",
            OM_PARAMS(OM_TEXT(pb), OM_TEXT(F.cb), OM_TEXT(when)));
    /* a little history for the Oracle */
    for (int k = 0; k < 12; k++) {
        char id[OM_UUID_LEN], ppid[32], t[OM_TIME_LEN];
        om_uuid4(id);
        snprintf(ppid, sizeof(ppid), "h%d", k);
        om_time_iso(t, om_now_us() - (int64_t)(k + 4) * 86400 * 1000000 - (int64_t)k * 3600000000);
        char *raw = xasprintf("{\"view_count\": %d}", 1000 + 500 * k);
        exec_ok("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url, "
                "posted_at, raw_metadata) VALUES (?, ?, 'tiktok', ?, 'https://x.example', ?, ?)",
                OM_PARAMS(OM_TEXT(id), OM_TEXT(F.ca), OM_TEXT(ppid), OM_TEXT(t), OM_JSON(raw)));
        free(raw);
    }
    exec_ok("INSERT INTO videos (video_id, post_id, file_path, duration_seconds, checksum) "
            "VALUES (?, ?, '/nonexistent/a.mp4', 180, 'sha-a')",
            OM_PARAMS(OM_TEXT(F.video), OM_TEXT(pa)));
    exec_ok("INSERT INTO videos (video_id, post_id, file_path, duration_seconds, checksum) "
            "VALUES (?, ?, '/nonexistent/b.mp4', 60, 'sha-b')",
            OM_PARAMS(OM_TEXT(vb), OM_TEXT(pb)));
    exec_ok("INSERT INTO analysis (analysis_id, video_id, transcript, virality_score, "
            "relevance_score) VALUES (?, ?, 'x', 0.6, 0.7)",
            OM_PARAMS(OM_TEXT(F.analysis), OM_TEXT(F.video)));
    /* bob's clip, already published: alice's c2 re-tells it almost word for word */
    insert_clip(F.prior, vb, 5, 30, "PUBLISHED", meta(DUP_TEXT, 0.5, 0.6, 0.5, "you"));
    insert_clip(F.clip[0], F.video, 10, 35, "CANDIDATE",
                meta("why do your savings vanish every month here is the simple investing habit "
                     "that fixes it and you can start today with ten dollars",
                     0.72, 0.7, 0.65, "question"));
    insert_clip(F.clip[1], F.video, 40, 62, "CANDIDATE",
                meta("the three rules of saving money that nobody teaches you in school are "
                     "simple pay yourself first automate every transfer and never touch the "
                     "emergency funds",
                     0.7, 0.75, 0.7, "you"));
    insert_clip(F.clip[2], F.video, 70, 95, "CANDIDATE",
                meta("i used to gamble my whole paycheck until investing in index funds changed "
                     "my savings forever",
                     0.8, 0.8, 0.8, "number"));
    insert_clip(F.clip[3], F.video, 100, 124, "CANDIDATE",
                meta("compound interest rewards patience because every dollar you invest keeps "
                     "earning while you sleep",
                     0.3, 0.5, 0.5, "you"));
    insert_clip(F.clip[4], F.video, 130, 150, "CANDIDATE",
                meta("the weather was nice and we walked around the park for a while", 0.0, 0.2,
                     0.3, "none"));
    return 0;
}

static int setup_sqlite(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    return setup_common();
}

static int setup_pg(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    F.pg = 1;
    return setup_common();
}

static int teardown(void **state)
{
    (void)state;
    fx_close();
    memset(&F, 0, sizeof(F));
    return 0;
}

/* ---- select ---- */

static json_t *select_payload(void)
{
    return json_pack("{s:s,s:s,s:s,s:[s]}", "video_id", F.video, "analysis_id", F.analysis,
                     "project_id", F.project, "parents", "11111111-2222-4333-8444-555555555555");
}

static void test_select(void **state)
{
    (void)state;
    json_t *p = select_payload();
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    assert_status(F.clip[0], "SELECTED");
    assert_status(F.clip[1], "REJECTED"); /* near-duplicate of bob's clip */
    assert_status(F.clip[2], "REJECTED"); /* banned word */
    assert_status(F.clip[3], "SELECTED");
    assert_status(F.clip[4], "REJECTED"); /* off-brand */

    /* votes: at least seven agents with score, weight, reason */
    json_t *v = json_value("SELECT pantheon_votes FROM clips WHERE clip_id = ?", F.clip[0]);
    assert_true(json_object_size(v) >= 7);
    const char *agent;
    json_t *e;
    int active = 0;
    json_object_foreach(v, agent, e) {
        assert_true(json_is_number(json_object_get(e, "score")));
        assert_true(json_is_number(json_object_get(e, "weight")));
        assert_true(json_string_length(json_object_get(e, "reason")) > 0);
        if (json_number_value(json_object_get(e, "weight")) > 0)
            active++;
    }
    assert_true(active >= 7);
    json_decref(v);
    char *cv = value("SELECT confidence FROM clips WHERE clip_id = ?", F.clip[0]);
    double c0 = strtod(cv, NULL);
    free(cv);
    assert_true(c0 > 0.5 && c0 <= 1);
    json_t *m = json_value("SELECT metadata FROM clips WHERE clip_id = ?", F.clip[0]);
    assert_true(json_is_number(json_object_get(json_object_get(m, "chorus"), "disagreement")));
    assert_true(json_is_number(json_object_get(json_object_get(m, "lattice"), "priority")));
    assert_string_equal(json_string_value(json_object_get(m, "transcript")),
                        "why do your savings vanish every month here is the simple investing "
                        "habit that fixes it and you can start today with ten dollars");
    const char *sel_packet =
        json_string_value(json_object_get(json_object_get(m, "selection"), "stardust_id"));
    assert_non_null(sel_packet);

    /* the vetoes say why */
    json_t *m2 = json_value("SELECT metadata FROM clips WHERE clip_id = ?", F.clip[2]);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(m2, "selection"),
                                                             "reason")),
                           "banned word \"gamble\""));
    json_decref(m2);
    m2 = json_value("SELECT metadata FROM clips WHERE clip_id = ?", F.clip[1]);
    const char *r1 =
        json_string_value(json_object_get(json_object_get(m2, "selection"), "reason"));
    assert_non_null(strstr(r1, "near-duplicate"));
    assert_non_null(strstr(r1, F.prior));
    json_decref(m2);
    /* the walk in the park says nothing about personal finance: off-brand, never posted */
    m2 = json_value("SELECT metadata FROM clips WHERE clip_id = ?", F.clip[4]);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(m2, "selection"),
                                                             "reason")),
                           "off-brand: relevance 0.00 is below [pantheon] min_relevance"));
    json_decref(m2);

    /* one edit job per selected clip, parented by the clip's packet */
    assert_int_equal(jobs_of_type("edit"), 2);
    char *key = xasprintf("edit:%s", F.clip[0]);
    json_t *ep = job_payload("edit", key);
    free(key);
    assert_string_equal(json_string_value(json_object_get(ep, "clip_id")), F.clip[0]);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ep, "parents"), 0)),
                        sel_packet);
    assert_string_equal(json_string_value(json_object_get(ep, "project_id")), F.project);
    json_decref(ep);
    /* the packet carries the decision chain */
    json_t *pk = NULL;
    assert_int_equal(om_stardust_get(F.st, sel_packet, &pk), OM_OK);
    json_t *dc = json_object_get(pk, "decision_chain");
    assert_string_equal(json_string_value(json_object_get(dc, "decision")), "SELECTED");
    assert_true(json_object_size(json_object_get(dc, "votes")) >= 7);
    /* parents = the payload's parents (the analyze packet) */
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(pk, "lineage"), "parents"), 0)),
                        "11111111-2222-4333-8444-555555555555");
    json_decref(pk);
    json_decref(m);

    /* re-delivery: nothing changes */
    int64_t packets = packets_total();
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    assert_int_equal(jobs_of_type("edit"), 2);
    assert_int_equal(packets_total(), packets);
    assert_status(F.clip[3], "SELECTED");
    json_decref(p);

    /* bad payload is the sender's error */
    json_t *bad = json_pack("{s:s}", "video_id", "nope");
    assert_int_equal(run_stage(&om_stage_select, bad, NULL), OM_EINVAL);
    json_decref(bad);
}

/* ---- the editor's part, as the edit stage leaves it ---- */

static void mark_rendered(const char *clip)
{
    char *dir = xasprintf("%s/renders", F.media);
    om_mkdirs(dir, 0755);
    char *path = xasprintf("%s/%s.mp4", dir, clip);
    char *content = xasprintf("rendered bytes of %s", clip);
    assert_int_equal(om_write_file_atomic(path, content, strlen(content)), OM_OK);
    char sum[OM_SHA256_HEX_LEN];
    om_sha256_file(path, sum);
    char aid[OM_UUID_LEN], eid[OM_UUID_LEN];
    assert_int_equal(om_store_begin(F.st), OM_OK);
    exec_ok("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, checksum) "
            "VALUES (?, 'render', 'clips', ?, ?, ?)",
            OM_PARAMS(OM_TEXT(om_uuid4(aid)), OM_TEXT(clip), OM_TEXT(path), OM_TEXT(sum)));
    exec_ok("INSERT INTO edit_jobs (edit_job_id, clip_id, operations, status) VALUES (?, ?, ?, "
            "'DONE')",
            OM_PARAMS(OM_TEXT(om_uuid4(eid)), OM_TEXT(clip),
                      OM_JSON("{\"reframe\":{\"mode\":\"content\"},\"captions\":{\"ass\":\"/x."
                              "ass\",\"dropped_lines\":[{\"text\":\"uh hmm\",\"reason\":\"low "
                              "confidence 0.2\"}],\"stats\":{\"lines\":7}},\"logo\":null,"
                              "\"loudness\":{\"target_lufs\":-14,\"true_peak\":-1.5}}")));
    exec_ok("UPDATE clips SET status = 'RENDERED' WHERE clip_id = ?", OM_PARAMS(OM_TEXT(clip)));
    json_t *lin = json_pack("{s:s,s:[]}", "job_type", "edit", "parents");
    json_t *chain = json_pack(
        "[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "step", "reframe", "decision", "content", "reason",
        "followed the speaker (mean confidence 0.71), smoothed and pan-limited", "step",
        "captions", "decision", "burned", "reason", "31 words in 7 lines; 1 line dropped");
    char sid[OM_UUID_LEN];
    assert_int_equal(om_stardust_append(F.st, "clips", clip, lin, chain, sid), OM_OK);
    assert_int_equal(om_store_commit(F.st), OM_OK);
    json_decref(lin);
    json_decref(chain);
    free(content);
    free(path);
    free(dir);
}

static int64_t scheduled_s(const char *clip)
{
    char *t = value("SELECT final_scheduled_time FROM schedules WHERE clip_id = ?", clip);
    assert_non_null(t);
    int64_t us;
    assert_int_equal(om_time_parse(t, &us), OM_OK);
    free(t);
    return us / 1000000;
}

static void test_schedule(void **state)
{
    (void)state;
    mark_rendered(F.clip[0]);
    int64_t before = om_now_us() / 1000000;
    json_t *p = json_pack("{s:s,s:s,s:[]}", "clip_id", F.clip[0], "project_id", F.project,
                          "parents");
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_OK);
    assert_status(F.clip[0], "SCHEDULED");
    int64_t t1 = scheduled_s(F.clip[0]);
    assert_true(t1 >= before);
    assert_true(t1 <= before + 4 * 86400);
    /* Horizon holds: outside the quiet hours in Berlin */
    json_t *adj = json_value("SELECT horizon_adjustments FROM schedules WHERE clip_id = ?",
                             F.clip[0]);
    assert_string_equal(json_string_value(json_object_get(adj, "timezone")), "Europe/Berlin");
    const char *local = json_string_value(json_object_get(adj, "final_local"));
    int hh = atoi(local + 11);
    assert_true(hh >= 7 && hh < 23);
    assert_true(json_is_number(json_object_get(json_object_get(adj, "oracle"), "samples")));
    json_decref(adj);
    /* the upload job row and the delayed upload job */
    char *uj = value("SELECT upload_job_id FROM upload_jobs WHERE clip_id = ?", F.clip[0]);
    assert_non_null(uj);
    char *title = value("SELECT title FROM upload_jobs WHERE clip_id = ?", F.clip[0]);
    assert_true(strncmp(title, "Why do your savings vanish every month", 38) == 0);
    size_t chars = 0;
    for (const char *c = title; *c; c++)
        chars += ((unsigned char)*c & 0xC0) != 0x80;
    assert_true(chars <= 100);
    free(title);
    /* the description carries the hashtags (cognition/titles.h) and the credit line */
    char *desc = value("SELECT description FROM upload_jobs WHERE clip_id = ?", F.clip[0]);
    assert_non_null(desc);
    assert_non_null(strstr(desc, "\n\n#"));
    assert_non_null(strstr(desc, "Source: "));
    free(desc);
    assert_int_equal(count("SELECT count(*) FROM upload_jobs WHERE clip_id = ? AND status = "
                           "'PENDING' AND target = 'export'",
                           F.clip[0]),
                     1);
    char *key = xasprintf("upload:%s", uj);
    json_t *up = job_payload("upload", key);
    assert_string_equal(json_string_value(json_object_get(up, "upload_job_id")), uj);
    char *nb = value("SELECT not_before FROM jobs WHERE unique_key = ?", key);
    int64_t nbus;
    assert_int_equal(om_time_parse(nb, &nbus), OM_OK);
    assert_true(llabs(nbus / 1000000 - t1) <= 5); /* delayed until the committed time */
    free(nb);
    /* the packet is the upload job's parent and carries Horizon's adjustments */
    const char *sp = json_string_value(json_array_get(json_object_get(up, "parents"), 0));
    json_t *pk = NULL;
    assert_int_equal(om_stardust_get(F.st, sp, &pk), OM_OK);
    assert_string_equal(json_string_value(json_object_get(pk, "entity_type")), "schedules");
    assert_true(json_is_object(
        json_object_get(json_object_get(pk, "decision_chain"), "horizon_adjustments")));
    json_decref(pk);
    json_decref(up);
    free(key);

    /* re-delivery */
    int64_t packets = packets_total();
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_OK);
    assert_int_equal(jobs_of_type("upload"), 1);
    assert_int_equal(count("SELECT count(*) FROM schedules WHERE clip_id = ?", F.clip[0]), 1);
    assert_int_equal(packets_total(), packets);
    json_decref(p);

    /* a second clip of the project keeps the minimum gap */
    mark_rendered(F.clip[3]);
    p = json_pack("{s:s,s:s,s:[]}", "clip_id", F.clip[3], "project_id", F.project, "parents");
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_OK);
    json_decref(p);
    int64_t t4 = scheduled_s(F.clip[3]);
    assert_true(llabs(t4 - t1) >= 120 * 60);

    /* [schedule] now = 1: the current time, rules bypassed and recorded */
    insert_clip(F.clip[5], F.video, 160, 180, "SELECTED",
                meta("one more clip about savings", 0.4, 0.5, 0.5, "you"));
    mark_rendered(F.clip[5]);
    om_config_set(F.cfg, "schedule", "now", "1");
    before = om_now_us() / 1000000;
    p = json_pack("{s:s,s:s,s:[]}", "clip_id", F.clip[5], "project_id", F.project, "parents");
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_OK);
    json_decref(p);
    om_config_set(F.cfg, "schedule", "now", "0");
    int64_t t6 = scheduled_s(F.clip[5]);
    assert_true(t6 >= before && t6 <= before + 5);
    adj = json_value("SELECT horizon_adjustments FROM schedules WHERE clip_id = ?", F.clip[5]);
    assert_true(json_is_true(json_object_get(adj, "forced_now")));
    json_decref(adj);

    /* a clip that is not rendered cannot be scheduled */
    p = json_pack("{s:s,s:s}", "clip_id", F.clip[4], "project_id", F.project);
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_EPERMANENT);
    json_decref(p);
    free(uj);
}

/* ---- upload ---- */

static void test_upload(void **state)
{
    (void)state;
    char *uj = value("SELECT upload_job_id FROM upload_jobs WHERE clip_id = ?", F.clip[0]);
    char *key = xasprintf("upload:%s", uj);
    json_t *p = job_payload("upload", key); /* as the queue would deliver it */
    assert_int_equal(run_stage(&om_stage_upload, p, NULL), OM_OK);
    assert_status(F.clip[0], "PUBLISHED");
    assert_int_equal(count("SELECT count(*) FROM upload_jobs WHERE upload_job_id = ? AND "
                           "status = 'DONE'",
                           uj),
                     1);
    char *dir = xasprintf("%s/exports/Stage Test", F.home);
    char *file = xasprintf("%s/%s.mp4", dir, F.clip[0]);
    char *side = xasprintf("%s/%s.json", dir, F.clip[0]);
    assert_true(om_file_exists(file));
    json_t *doc = json_load_file(side, 0, NULL);
    assert_non_null(doc);
    const char *prov =
        json_string_value(json_object_get(json_object_get(doc, "provenance"), "stardust_id"));
    assert_string_equal(prov,
                        json_string_value(json_array_get(json_object_get(p, "parents"), 0)));
    assert_true(json_array_size(json_object_get(json_object_get(doc, "provenance"), "ledger")) >=
                2);
    assert_true(json_object_size(json_object_get(doc, "votes")) >= 7);
    assert_true(json_is_number(json_object_get(json_object_get(doc, "scores"), "confidence")));
    assert_string_equal(json_string_value(json_object_get(doc, "upload_job_id")), uj);
    json_decref(doc);
    char *art = value("SELECT path FROM artifacts WHERE kind = 'export' AND entity_id = ?",
                      F.clip[0]);
    char *art_want = om_path_to_home_rel(F.home, file); /* rows: relative to the home */
    assert_string_equal(art, art_want);
    free(art_want);
    free(art);
    assert_int_equal(count("SELECT count(*) FROM schedules WHERE clip_id = ? AND status = "
                           "'PUBLISHED'",
                           F.clip[0]),
                     1);

    /* re-delivery: no second export, one artifact */
    struct stat a, b;
    stat(file, &a);
    int64_t packets = packets_total();
    assert_int_equal(run_stage(&om_stage_upload, p, NULL), OM_OK);
    stat(file, &b);
    assert_true(a.st_ino == b.st_ino && a.st_mtime == b.st_mtime);
    assert_int_equal(count("SELECT count(*) FROM artifacts WHERE kind = 'export' AND entity_id = ?",
                           F.clip[0]),
                     1);
    assert_int_equal(packets_total(), packets);
    /* even if the job row had not been marked DONE: the target sees the same export */
    exec_ok("UPDATE upload_jobs SET status = 'PENDING' WHERE upload_job_id = ?",
            OM_PARAMS(OM_TEXT(uj)));
    assert_int_equal(run_stage(&om_stage_upload, p, NULL), OM_OK);
    stat(file, &b);
    assert_true(a.st_ino == b.st_ino);
    json_t *ts = json_value("SELECT target_state FROM upload_jobs WHERE upload_job_id = ?", uj);
    assert_true(json_is_true(json_object_get(ts, "reused")));
    json_decref(ts);
    assert_int_equal(count("SELECT count(*) FROM artifacts WHERE kind = 'export' AND entity_id = ?",
                           F.clip[0]),
                     1);
    json_decref(p);
    free(key);
    free(uj);
    free(dir);
    free(file);
    free(side);
}

/* ---- HaloLux ---- */

static void test_explain(void **state)
{
    (void)state;
    char *text = NULL;
    assert_int_equal(om_halolux_explain(F.st, F.clip[0], 0, &text), OM_OK);
    const char *must[] = {"Why this clip", "Pantheon votes", "relevance", "novelty",
                          "brand_safety", "Chorus: confidence", "Lattice: priority",
                          "Crop: content - followed the speaker", "dropped: \"uh hmm\"",
                          "Loudness: normalised to -14.0 LUFS", "Zenith committed",
                          "Europe/Berlin", "export: DONE -> ", "Stage Test", "Ledger"};
    for (size_t i = 0; i < OM_ARRAY_LEN(must); i++)
        if (!strstr(text, must[i]))
            fail_msg("explanation lacks \"%s\":\n%s", must[i], text);
    if (getenv("OMNIVA_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", text);
    json_t *m = json_value("SELECT metadata FROM clips WHERE clip_id = ?", F.clip[0]);
    const char *sel =
        json_string_value(json_object_get(json_object_get(m, "selection"), "stardust_id"));
    assert_non_null(strstr(text, sel)); /* the ledger ids behind it */
    json_decref(m);
    free(text);

    assert_int_equal(om_halolux_explain(F.st, F.clip[2], 0, &text), OM_OK);
    assert_non_null(strstr(text, "VETO by brand_safety"));
    assert_non_null(strstr(text, "Not edited yet"));
    free(text);
    assert_int_equal(om_halolux_explain(F.st, F.clip[1], 0, &text), OM_OK);
    assert_non_null(strstr(text, "VETO by novelty"));
    free(text);

    assert_int_equal(om_halolux_explain(F.st, F.clip[0], 1, &text), OM_OK);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    json_t *ledger = json_object_get(doc, "ledger");
    int seen[3] = {0, 0, 0};
    const char *names[3] = {"select", "schedule", "upload"};
    size_t i;
    json_t *e;
    json_array_foreach(ledger, i, e) {
        const char *st = json_string_value(json_object_get(e, "stage"));
        for (int k = 0; k < 3; k++)
            if (st && !strcmp(st, names[k]))
                seen[k] = 1;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "why"), "decision")), "SELECTED");
    assert_true(json_array_size(json_object_get(json_object_get(doc, "why"), "votes")) >= 7);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(doc, "edit"), "reframe"), "mode")),
                        "content");
    assert_non_null(json_string_value(json_object_get(json_array_get(json_object_get(doc, "export"), 0), "path")));
    json_decref(doc);
    free(text);

    char nope[OM_UUID_LEN];
    assert_int_equal(om_halolux_explain(F.st, om_uuid4(nope), 0, &text), OM_ENOTFOUND);
    assert_int_equal(om_halolux_explain(F.st, "x", 0, &text), OM_EINVAL);
}

/* ---- the feedback loop: our own results move the posting time ---- */

/* UTC seconds of HOUR:00 Berlin time, `days` days ago. */
static int64_t berlin_at(const om_tz *tz, int days, int hour)
{
    int64_t t = om_now_us() / 1000000 - (int64_t)days * 86400;
    om_local_time lt;
    om_tz_local(tz, t, &lt);
    return t - (int64_t)(lt.hour - hour) * 3600 - lt.min * 60 - lt.sec;
}

/* One published clip of ours posted at `posted_s` whose platform reported `views`. */
static void seed_result(const char *video, int64_t posted_s, long views)
{
    static int n;
    double start = 1000 + 30 * n++;
    char id[OM_UUID_LEN], sid[OM_UUID_LEN], at[OM_TIME_LEN], when[OM_TIME_LEN];
    om_uuid4(id);
    om_uuid4(sid);
    insert_clip(id, video, start, start + 20, "PUBLISHED", meta("an older clip of ours", 0.5, 0.5, 0.5, "you"));
    om_time_iso(when, posted_s * 1000000);
    om_time_iso(at, (posted_s + 48 * 3600) * 1000000); /* read two days after posting */
    exec_ok("INSERT INTO schedules (schedule_id, clip_id, recommended_time, final_scheduled_time, "
            "horizon_adjustments, status) VALUES (?, ?, ?, ?, '{}', 'DONE')",
            OM_PARAMS(OM_TEXT(sid), OM_TEXT(id), OM_TEXT(when), OM_TEXT(when)));
    exec_ok("INSERT INTO clip_stats (clip_id, target, at, views, likes, comments) VALUES "
            "(?, 'export', ?, ?, ?, ?)",
            OM_PARAMS(OM_TEXT(id), OM_TEXT(at), OM_INT(views), OM_INT(views / 20),
                      OM_INT(views / 100)));
}

static int local_hour(const char *clip)
{
    json_t *adj = json_value("SELECT horizon_adjustments FROM schedules WHERE clip_id = ?", clip);
    int h = atoi(json_string_value(json_object_get(adj, "final_local")) + 11);
    json_decref(adj);
    return h;
}

static void test_feedback(void **state)
{
    (void)state;
    exec_ok("DELETE FROM schedules WHERE status <> 'DONE'", NULL, 0);
    om_tz *tz = NULL;
    assert_int_equal(om_tz_load("Europe/Berlin", &tz), OM_OK);
    /* before: no results of ours; the scraped history and the prior choose */
    char before[OM_UUID_LEN], after[OM_UUID_LEN];
    om_uuid4(before);
    om_uuid4(after);
    insert_clip(before, F.video, 200, 220, "SELECTED", meta("before the results", 0.4, 0.5, 0.5, "you"));
    mark_rendered(before);
    json_t *p = json_pack("{s:s,s:s,s:[]}", "clip_id", before, "project_id", F.project, "parents");
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_OK);
    json_decref(p);
    int h0 = local_hour(before);
    assert_int_not_equal(h0, 18); /* the prior peaks at 19-21 h */

    /* The spacing rule is not under test here: the calendar starts empty again, so
     * "before" and the earlier tests' posts cannot block the 18:00 slots whatever the
     * time of day this runs at. */
    exec_ok("DELETE FROM schedules WHERE status <> 'DONE'", NULL, 0);

    /* 14 of our clips posted at 18:00 did 3x the views of those at 12:00 and 20:00 */
    for (int d = 3; d < 17; d++) {
        seed_result(F.video, berlin_at(tz, d, 18), 3000);
        seed_result(F.video, berlin_at(tz, d, 12), 1000);
        seed_result(F.video, berlin_at(tz, d, 20), 1000);
    }
    insert_clip(after, F.video, 230, 250, "SELECTED", meta("after the results", 0.4, 0.5, 0.5, "you"));
    mark_rendered(after);
    p = json_pack("{s:s,s:s,s:[]}", "clip_id", after, "project_id", F.project, "parents");
    assert_int_equal(run_stage(&om_stage_schedule, p, NULL), OM_OK);
    json_decref(p);
    assert_int_equal(local_hour(after), 18);

    /* the evidence is in the schedule, its ledger packet, and the explanation */
    json_t *adj = json_value("SELECT horizon_adjustments FROM schedules WHERE clip_id = ?", after);
    json_t *own = json_object_get(json_object_get(adj, "oracle"), "own_results");
    assert_int_equal(json_integer_value(json_object_get(own, "posts")), 42);
    assert_int_equal(json_integer_value(json_object_get(own, "hour_posts")), 14);
    assert_true(fabs(json_number_value(json_object_get(own, "hour_views_ratio")) - 3.0) < 0.01);
    json_decref(adj);
    char *pk = value("SELECT decision_chain FROM stardust_metadata WHERE entity_type = 'schedules' "
                     "AND entity_id = (SELECT schedule_id FROM schedules WHERE clip_id = ?)",
                     after);
    assert_non_null(strstr(pk, "own_results"));
    free(pk);
    char *text = NULL;
    assert_int_equal(om_halolux_explain(F.st, after, 0, &text), OM_OK);
    if (!strstr(text, "Posted at 18:00 because this account's clips at 18:00 averaged 3.0x the "
                      "median views over 14 posts (42 of our clips measured)"))
        fail_msg("explanation lacks the results:\n%s", text);
    free(text);
    om_tz_free(tz);
}

/* One published clip of ours whose committee gave it `hook` and `length` scores (energy
 * constant) and whose platform then reported `views`. */
static void seed_scored(double hook, double length, long views, int reading)
{
    static int n;
    char id[OM_UUID_LEN], at[OM_TIME_LEN];
    om_uuid4(id);
    double start = 3000 + 30 * n++;
    insert_clip(id, F.video, start, start + 20, "PUBLISHED", meta("an earlier clip", hook, 0.5, 0.5, "you"));
    char *votes = xasprintf("{\"hook\":{\"score\":%.4f,\"weight\":1.0,\"reason\":\"h\"},"
                            "\"length\":{\"score\":%.4f,\"weight\":0.5,\"reason\":\"l\"},"
                            "\"energy\":{\"score\":0.5,\"weight\":0.6,\"reason\":\"e\"},"
                            "\"llm\":{\"score\":0,\"weight\":0,\"reason\":\"off\"}}",
                            hook, length);
    exec_ok("UPDATE clips SET pantheon_votes = ? WHERE clip_id = ?",
            OM_PARAMS(OM_JSON(votes), OM_TEXT(id)));
    free(votes);
    om_time_iso(at, om_now_us() - (int64_t)(3 - reading) * 86400 * 1000000);
    exec_ok("INSERT INTO clip_stats (clip_id, target, at, views) VALUES (?, 'youtube', ?, ?)",
            OM_PARAMS(OM_TEXT(id), OM_TEXT(at), OM_INT(views)));
}

static double factor(const char *agent)
{
    json_t *w = json_value("SELECT weights FROM pantheon_weights WHERE project_id = ?", F.project);
    double f = json_number_value(json_object_get(w, agent));
    json_decref(w);
    return f;
}

/* A fresh CANDIDATE on the fixture's video, through the select stage. */
static void select_one(char id[OM_UUID_LEN], double start)
{
    om_uuid4(id);
    insert_clip(id, F.video, start, start + 22, "CANDIDATE",
                meta("why do your savings vanish every month here is the investing habit that "
                     "fixes it today",
                     0.7, 0.7, 0.6, "question"));
    json_t *p = json_pack("{s:s,s:s,s:[]}", "video_id", F.video, "project_id", F.project,
                          "parents");
    assert_int_equal(run_stage(&om_stage_select, p, NULL), OM_OK);
    json_decref(p);
}

/* The feedback loop's selection side: our clips whose hook agent scored higher did more
 * views, so the hook agent's weight grows, in bounded steps, recorded in the ledger and
 * named by the explanation; an agent whose scores said nothing about views keeps its
 * weight; the same evidence is not learned from twice. */
static void test_learn_weights(void **state)
{
    (void)state;
    static const double pat[4] = {1, -1, -1, 1};
    for (int i = 0; i < 20; i++) {
        double h = 0.2 + 0.03 * i;
        seed_scored(h, 0.5 + 0.2 * pat[i % 4], (long)(1000 * exp(3 * h)), 0);
    }
    assert_int_equal(count("SELECT count(*) FROM pantheon_weights WHERE project_id = ?", F.project), 0);
    char c1[OM_UUID_LEN], c2[OM_UUID_LEN];
    select_one(c1, 4000);
    assert_int_equal(count("SELECT steps FROM pantheon_weights WHERE project_id = ?", F.project), 1);
    assert_int_equal(count("SELECT clips FROM pantheon_weights WHERE project_id = ?", F.project), 20);
    assert_true(fabs(factor("hook") - 1.2) < 1e-6); /* one bounded step: +20% */
    assert_true(fabs(factor("length") - 1.0) < 0.05);
    json_t *w = json_value("SELECT weights FROM pantheon_weights WHERE project_id = ?", F.project);
    assert_null(json_object_get(w, "energy")); /* constant scores: not judged */
    json_decref(w);
    /* the committee used it */
    json_t *votes = json_value("SELECT pantheon_votes FROM clips WHERE clip_id = ?", c1);
    assert_true(fabs(json_number_value(json_object_get(json_object_get(votes, "hook"), "weight")) -
                     1.2) < 1e-6);
    json_decref(votes);
    /* the step's ledger packet, with its evidence */
    char *chain = value("SELECT decision_chain FROM stardust_metadata WHERE entity_type = "
                        "'projects' AND entity_id = ? AND CAST(decision_chain AS TEXT) LIKE '%\"learn\"%'",
                        F.project);
    assert_non_null(chain);
    assert_non_null(strstr(chain, "\"corr\""));
    assert_non_null(strstr(chain, "\"readings\""));
    free(chain);
    char *text = NULL;
    assert_int_equal(om_halolux_explain(F.st, c1, 0, &text), OM_OK);
    if (!strstr(text, "Weights learned from this project's results (20 published clips measured, "
                      "step 1): ") || !strstr(text, "hook x1.20"))
        fail_msg("explanation lacks the learned weights:\n%s", text);
    free(text);

    /* within the interval, and with no new figures, no second step */
    select_one(c2, 4100);
    assert_int_equal(count("SELECT steps FROM pantheon_weights WHERE project_id = ?", F.project), 1);
    json_t *rep = NULL;
    assert_int_equal(om_weights_learn(F.st, F.cfg, F.project, 1, &rep), OM_OK);
    assert_false(json_is_true(json_object_get(rep, "stepped")));
    assert_non_null(strstr(json_string_value(json_object_get(rep, "why")), "no new figures"));
    json_decref(rep);
    /* new readings: the next step goes on toward the target */
    for (int i = 0; i < 4; i++)
        seed_scored(0.2 + 0.15 * i, 0.5, (long)(1000 * exp(3 * (0.2 + 0.15 * i))), 1);
    assert_int_equal(om_weights_learn(F.st, F.cfg, F.project, 1, &rep), OM_OK);
    assert_true(json_is_true(json_object_get(rep, "stepped")));
    json_decref(rep);
    assert_int_equal(count("SELECT steps FROM pantheon_weights WHERE project_id = ?", F.project), 2);
    assert_true(fabs(factor("hook") - 1.44) < 1e-3);
    assert_int_equal(count("SELECT count(*) FROM stardust_metadata WHERE entity_type = 'projects' "
                           "AND entity_id = ? AND CAST(decision_chain AS TEXT) LIKE '%\"learn\"%'",
                           F.project),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_feedback),
        cmocka_unit_test(test_learn_weights),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, setup_sqlite, teardown);
    if (!getenv("OMNIVA_SKIP_PG"))
        failed += cmocka_run_group_tests_name("postgres+redis", tests, setup_pg, teardown);
    return failed;
}
