/*
 * stats.c: the `stats` stage (source "stats_worker"): INIT -> FETCH -> DONE. Reads how our
 * published clips are doing from the platforms they went to (each target's `stats` call:
 * YouTube videos.list part=statistics, TikTok video/query, Instagram insights) and appends
 * one clip_stats row per clip and target: the time series the Oracle's posting times and
 * Pantheon's agent weights learn from (stages/schedule.c, stages/weights.c).
 *
 * Which uploads: DONE upload jobs of a target with a `stats` call, published in the last
 * stats.max_age_days, whose latest reading is older than stats.min_age_s (or missing), at
 * most stats.batch a run, the least recently read first. A failure for one clip (a deleted
 * video, a revoked account, a 5xx) is recorded in the job's result with its error and
 * logged, never fatal for the others; the job fails only when every read failed.
 * A governance duty ("stats", governance.stats_interval_s) enqueues this job periodically;
 * `omniva jobs enqueue stats` runs it at once.
 *
 * Payload: {} or {"project_id": P} (only that project's clips).
 */
#include "base/common.h"

#include "runtime/runtime.h"
#include "stages/clipinfo.h"
#include "targets/target.h"

#define SRC "stats_worker"

extern const om_stage om_stage_stats; /* registered by stages/registry.c */

typedef struct st_job {
    om_rows *due;
} st_job;

static void stats_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    st_job *x = js;
    om_rows_free(x->due);
}

/* INIT: the uploads due for a reading. */
static int stats_init(om_job_ctx *ctx, void *js)
{
    st_job *x = js;
    int64_t now = om_now_us();
    char fresh[OM_TIME_LEN], oldest[OM_TIME_LEN];
    om_time_iso(fresh, now - om_config_long(ctx->cfg, "stats.min_age_s") * 1000000LL);
    om_time_iso(oldest, now - om_config_long(ctx->cfg, "stats.max_age_days") * 86400000000LL);
    const char *project = json_string_value(json_object_get(ctx->payload, "project_id"));
    if (project && !om_uuid_valid(project))
        return om_error_set(OM_EINVAL, "stats: payload.project_id is not a UUID");
    int rc = om_store_query(
        ctx->store,
        "SELECT upload_job_id, clip_id, target, target_state FROM ("
        "SELECT u.upload_job_id, u.clip_id, u.target, u.target_state, u.updated_at, "
        "(SELECT max(cs.at) FROM clip_stats cs WHERE cs.clip_id = u.clip_id AND cs.target = "
        "u.target) AS last_at FROM upload_jobs u "
        "WHERE u.status = 'DONE' AND u.target IN ('youtube', 'tiktok', 'instagram') "
        "AND u.updated_at >= ? "
        "AND NOT EXISTS (SELECT 1 FROM clip_stats cs WHERE cs.clip_id = u.clip_id AND "
        "cs.target = u.target AND cs.at >= ?) "
        "AND (CAST(? AS TEXT) IS NULL OR u.clip_id IN (SELECT c.clip_id FROM clips c JOIN videos v ON "
        "v.video_id = c.video_id JOIN posts p ON p.post_id = v.post_id JOIN project_creators pc "
        "ON pc.creator_id = p.creator_id WHERE pc.project_id = ?)) "
        ") due ORDER BY last_at IS NOT NULL, last_at, updated_at DESC LIMIT ?",
        OM_PARAMS(OM_TEXT(oldest), OM_TEXT(fresh), project ? OM_TEXT(project) : OM_NULL,
                  project ? OM_TEXT(project) : OM_NULL,
                  OM_INT(om_config_long(ctx->cfg, "stats.batch"))),
        &x->due);
    if (rc)
        return om_error_wrap(rc, "stats: listing the published uploads");
    json_object_set_new(ctx->result, "due", json_integer((json_int_t)om_rows_count(x->due)));
    if (om_rows_count(x->due) == 0)
        return om_step_done(ctx, "no published clip is due for a reading");
    return OM_OK;
}

static om_val figure(long long v)
{
    return v < 0 ? OM_NULL : OM_INT(v);
}

/* FETCH: one reading per upload, each written at once (a crash keeps what was read). */
static int stats_fetch(om_job_ctx *ctx, void *js)
{
    st_job *x = js;
    size_t n = om_rows_count(x->due), ok = 0;
    json_t *errors = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *uj = om_rows_get(x->due, i, 0), *clip = om_rows_get(x->due, i, 1);
        const char *target = om_rows_get(x->due, i, 2);
        const om_target *t = om_target_find(target);
        if (!t || !t->stats)
            continue;
        om_clip_info ci;
        int rc = om_clip_info_load(ctx->store, clip, ctx->project_id, &ci);
        if (rc) {
            json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "clip_id", clip, "target",
                                                    target, "error", om_error_msg()));
            continue;
        }
        json_t *state = om_json_from_db(om_rows_get(x->due, i, 3));
        if (!json_is_object(state)) {
            json_decref(state);
            state = json_object();
        }
        om_publish_req req = {0};
        req.clip_id = clip;
        req.upload_job_id = uj;
        req.cfg = ctx->cfg;
        req.store = ctx->store;
        req.project_id = ci.project_id;
        req.brand = ci.brand;
        req.cancel = ctx->cancel;
        om_clip_figures f;
        rc = t->stats(&req, state, &f);
        if (rc == OM_OK) {
            char at[OM_TIME_LEN];
            om_time_iso(at, om_now_us());
            rc = om_store_exec(ctx->store,
                               "INSERT INTO clip_stats (clip_id, target, at, views, likes, "
                               "comments, shares, watch_time_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               OM_PARAMS(OM_TEXT(clip), OM_TEXT(target), OM_TEXT(at),
                                         figure(f.views), figure(f.likes), figure(f.comments),
                                         figure(f.shares),
                                         f.watch_time_s < 0 ? OM_NULL : OM_REAL(f.watch_time_s)),
                               NULL);
        }
        if (rc == OM_OK) {
            ok++;
        } else {
            om_warn(SRC, "stats of clip %s on %s: %s", clip, target, om_error_msg());
            json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "clip_id", clip, "target",
                                                    target, "error", om_error_msg()));
        }
        json_decref(state);
        om_clip_info_release(&ci);
    }
    size_t failed = json_array_size(errors);
    json_object_set_new(ctx->result, "read", json_integer((json_int_t)ok));
    json_object_set_new(ctx->result, "failed", json_integer((json_int_t)failed));
    json_object_set_new(ctx->result, "errors", errors);
    om_step_note(ctx, "%zu readings of %zu published clips, %zu failed", ok, n, failed);
    if (ok == 0 && failed > 0)
        return om_error_set(OM_EUNAVAIL, "stats: every reading failed (first: %s)",
                            json_string_value(json_object_get(json_array_get(errors, 0), "error")));
    return OM_OK;
}

static const om_step stats_steps[] = {
    {"INIT", stats_init},
    {"FETCH", stats_fetch},
    {NULL, NULL},
};

const om_stage om_stage_stats = {
    .type = "stats",
    .source = SRC,
    .steps = stats_steps,
    .job_size = sizeof(st_job),
    .release = stats_release,
    .timeout_ms = 30 * 60 * 1000,
};
