/*
 * upload.c: the `upload` stage (source "uploader_worker"): INIT -> AUTH -> UPLOAD -> VERIFY
 * -> DONE. Publishes one rendered clip to one target (upload_jobs.target; "export" writes
 * the file + JSON sidecar into the project's export folder) through the target vtable
 * (targets/target.h). upload_jobs.target_state is saved right after the publish so a
 * re-delivered job resumes (and the target recognises a publish that already happened).
 * The final transaction marks the upload job DONE, records the export artifact, sets the
 * clip PUBLISHED and the schedule PUBLISHED, and writes the ledger packet whose decision
 * chain carries the export path and checksum. A job already DONE is a no-op.
 *
 * Payload: {clip_id, upload_job_id}.
 */
#include "base/common.h"

#include <math.h>

#include "base/config.h"
#include "stages/clipinfo.h"
#include "ledger/stardust.h"
#include "media/mstore.h"
#include "runtime/runtime.h"
#include "targets/target.h"

#define SRC "uploader_worker"

extern const om_stage om_stage_upload; /* registered by stages/registry.c */

typedef struct upjob {
    char *status, *target, *title, *description, *scheduled_time;
    json_t *keywords, *state;
} upjob;

static void upjob_release(upjob *u)
{
    free(u->status);
    free(u->target);
    free(u->title);
    free(u->description);
    free(u->scheduled_time);
    json_decref(u->keywords);
    json_decref(u->state);
}

static int load_upjob(om_store *s, const char *id, const char *clip_id, upjob *u)
{
    memset(u, 0, sizeof(*u));
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT status, target, title, description, keywords, "
                            "scheduled_time, target_state FROM upload_jobs WHERE "
                            "upload_job_id = ? AND clip_id = ?",
                            OM_PARAMS(OM_TEXT(id), OM_TEXT(clip_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading upload job %s", id);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_EPERMANENT, "no upload job %s for clip %s", id, clip_id);
    }
    u->status = xstrdup(om_rows_getn(r, 0, "status"));
    u->target = xstrdup(om_rows_getn(r, 0, "target"));
    u->title = xstrdup(om_rows_getn(r, 0, "title"));
    u->description = xstrdup(om_rows_getn(r, 0, "description"));
    u->scheduled_time = xstrdup(om_rows_getn(r, 0, "scheduled_time"));
    u->keywords = om_json_from_db(om_rows_getn(r, 0, "keywords"));
    u->state = om_json_from_db(om_rows_getn(r, 0, "target_state"));
    if (!json_is_object(u->state)) {
        json_decref(u->state);
        u->state = json_object();
    }
    om_rows_free(r);
    return OM_OK;
}

/* The rendered file: the newest render artifact (a bucket's read through the node's cache,
 * held while ms lives), else <media_dir>/renders/<clip_id>.mp4. */
static char *render_path(om_store *s, const om_config *cfg, om_mstore *ms, const char *clip_id)
{
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT path, checksum FROM artifacts WHERE kind = 'render' AND "
                            "entity_id = ? ORDER BY created_at DESC LIMIT 1",
                            OM_PARAMS(OM_TEXT(clip_id)), &r);
    const char *path = rc == OM_OK && om_rows_count(r) ? om_rows_getn(r, 0, "path") : NULL;
    if (path && ms && om_mstore_row_is_remote(path)) {
        char *local = NULL;
        if (om_mstore_local(ms, path, om_rows_getn(r, 0, "checksum"), &local) == OM_OK) {
            om_rows_free(r);
            return local;
        }
        om_warn(SRC, "render of clip %s: %s", clip_id, om_error_msg());
    }
    if (path) {
        char *abs = om_config_path_from_row(cfg, path); /* stored relative to the home */
        om_rows_free(r);
        return abs;
    }
    om_error_clear();
    om_rows_free(r);
    const char *media = om_config_media_dir(cfg);
    return xasprintf("%s/renders/%s.mp4", media && *media ? media : ".", clip_id);
}

/* Ledger ids about the clip, oldest first (for the sidecar's provenance). */
static json_t *ledger_ids(om_store *s, const char *clip_id)
{
    json_t *ids = json_array();
    json_t *packets = NULL;
    if (om_stardust_for_entity(s, clip_id, &packets) != OM_OK) {
        om_error_clear();
        return ids;
    }
    size_t i;
    json_t *p;
    json_array_foreach(packets, i, p) {
        json_t *id = json_object_get(p, "stardust_id");
        if (json_is_string(id))
            json_array_append(ids, id);
    }
    json_decref(packets);
    return ids;
}

/* A borrowed member, or JSON null (for building objects with json_object_set). */
static json_t *member_or_null(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v ? v : json_null();
}

static json_t *sidecar_build(om_job_ctx *ctx, const om_clip_info *ci, const upjob *u)
{
    const json_t *m = ci->metadata;
    json_t *parents = ctx->parents;
    const char *prov = json_string_value(json_array_get(parents, json_array_size(parents) - 1));
    if (!prov)
        prov = json_string_value(json_object_get(json_object_get(m, "selection"), "stardust_id"));

    json_t *doc = json_object();
    json_object_set_new(doc, "title", json_string(u->title ? u->title : ""));
    json_object_set_new(doc, "description", json_string(u->description ? u->description : ""));
    json_object_set_new(doc, "tags", json_is_array(u->keywords) ? json_incref(u->keywords)
                                                                : json_array());

    json_t *provenance = json_object();
    json_object_set_new(provenance, "stardust_id", prov ? json_string(prov) : json_null());
    json_object_set_new(provenance, "trace_id", json_string(ctx->trace_id ? ctx->trace_id : ""));
    json_object_set_new(provenance, "ledger", ledger_ids(ctx->store, ci->clip_id));
    json_object_set_new(doc, "provenance", provenance);

    json_t *scores = json_object();
    json_object_set_new(scores, "confidence",
                        isnan(ci->confidence) ? json_null() : json_real(ci->confidence));
    json_object_set_new(scores, "lattice_priority", isnan(ci->lattice_priority)
                                                        ? json_null()
                                                        : json_real(ci->lattice_priority));
    json_object_set(scores, "analyzer", member_or_null(m, "scores"));
    json_object_set(scores, "hook", member_or_null(m, "hook"));
    json_object_set(scores, "chorus", member_or_null(m, "chorus"));
    json_object_set(scores, "lattice", member_or_null(m, "lattice"));
    json_object_set_new(doc, "scores", scores);
    json_object_set_new(doc, "votes", ci->votes ? json_incref(ci->votes) : json_null());

    json_t *src = json_pack("{s:s?,s:s?,s:s?,s:s,s:s,s:f,s:f}", "creator", ci->username,
                            "platform", ci->platform, "post_url", ci->post_url, "video_id",
                            ci->video_id, "post_id", ci->post_id, "start", ci->start, "end",
                            ci->end);
    json_object_set_new(doc, "source", src ? src : json_object());
    json_object_set_new(doc, "scheduled_time",
                        u->scheduled_time ? json_string(u->scheduled_time) : json_null());
    json_object_set(doc, "transcript", member_or_null(m, "transcript"));
    return doc;
}

/* The target state as upload_jobs.target_state stores it: its *path members relative to
 * the workspace home. Caller frees. */
static char *state_row_text(const om_config *cfg, const json_t *state)
{
    json_t *copy = json_deep_copy(state);
    om_config_json_paths(cfg, copy, 1);
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
    json_decref(copy);
    return text;
}

static int save_state(om_job_ctx *ctx, const char *id, const json_t *state, const char *status)
{
    om_store *s = ctx->store;
    char *text = state_row_text(ctx->cfg, state);
    int rc = om_store_exec(s,
                           "UPDATE upload_jobs SET target_state = ?, status = ? WHERE "
                           "upload_job_id = ? AND status <> 'DONE'",
                           OM_PARAMS(OM_JSON(text), OM_TEXT(status), OM_TEXT(id)), NULL);
    free(text);
    return rc;
}

/* Per-job state carried between the steps. */
typedef struct upload {
    const char *clip_id, *uj_id; /* borrowed from the payload */
    upjob u;
    om_clip_info ci;
    int have_u, have_ci;
    const om_target *t;
    char *dest, *clip_path, *result_id;
    json_t *sidecar;
    om_publish_req req;
    om_job_ctx *ctx;
    om_mstore *ms; /* the media store: holds the cached render until release */
} upload;

/* The target's persist callback: target_state saved now, in its own statement (a
 * resumable session before its first byte). */
static int persist_state(void *arg, const json_t *state)
{
    upload *x = arg;
    return save_state(x->ctx, x->uj_id, state, "UPLOADING");
}

static void upload_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    upload *x = js;
    free(x->result_id);
    json_decref(x->sidecar);
    free(x->clip_path);
    om_mstore_free(x->ms);
    free(x->dest);
    if (x->have_ci)
        om_clip_info_release(&x->ci);
    if (x->have_u)
        upjob_release(&x->u);
}

/* The platform's quota window is used up (target.h): the post moves to the window's
 * reopening as a new delayed job (unique per upload job and window), this delivery ends
 * DONE early, so no attempt is spent on a limit that no retry before then can pass. The
 * job's resumable state is kept for the new delivery. */
static int quota_reschedule(om_job_ctx *ctx, upload *x)
{
    json_t *q = json_object_get(x->u.state, OM_TARGET_QUOTA_KEY);
    const char *at = json_string_value(json_object_get(q, "retry_at"));
    const char *reason = json_string_value(json_object_get(q, "reason"));
    char *msg = xstrdup(om_error_msg());
    int64_t at_us = 0;
    if (!at || om_time_parse(at, &at_us)) {
        om_error_set(OM_EBUSY, "%s", msg);
        free(msg);
        return om_error_wrap(OM_EBUSY, "upload clip %s", x->clip_id);
    }
    int64_t delay_ms = (at_us - om_now_us()) / 1000 + 60000; /* a minute past the reset */
    if (delay_ms < 1000)
        delay_ms = 1000;
    char *key = xasprintf("%s:quota:%s", x->uj_id, at);
    char now[OM_TIME_LEN], moved_to[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    om_time_iso(moved_to, om_now_us() + delay_ms * 1000);
    /* Horizon's record of the move: appended to the schedule's horizon_adjustments (an
     * array; an object written by the scheduler is kept as the first element) */
    json_t *adj = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s?,s:s?}", "kind", "quota_reschedule",
                            "target", x->t->name, "reason", reason ? reason : "quota", "from",
                            x->u.scheduled_time, "to", moved_to, "at", now, "retry_at", at,
                            "message", msg);
    om_store *s = ctx->store;
    int rc = om_store_begin(s);
    if (!rc)
        rc = save_state(ctx, x->uj_id, x->u.state, "SCHEDULED");
    char *old = NULL;
    if (!rc && om_store_query_value(s,
                                    "SELECT horizon_adjustments FROM schedules WHERE clip_id = ?",
                                    OM_PARAMS(OM_TEXT(x->clip_id)), &old) == OM_OK) {
        json_t *arr = om_json_from_db(old);
        if (!json_is_array(arr)) {
            json_t *a = json_array();
            if (arr && !json_is_null(arr))
                json_array_append(a, arr);
            json_decref(arr);
            arr = a;
        }
        json_array_append(arr, adj);
        char *text = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
        json_decref(arr);
        rc = om_store_exec(s,
                           "UPDATE schedules SET horizon_adjustments = ?, final_scheduled_time = "
                           "? WHERE clip_id = ?",
                           OM_PARAMS(OM_JSON(text), OM_TEXT(moved_to), OM_TEXT(x->clip_id)),
                           NULL);
        free(text);
    } else if (!rc) {
        om_error_clear(); /* no schedule row (a job queued by hand): the ledger still says */
    }
    free(old);
    if (!rc)
        rc = om_store_exec(s, "UPDATE upload_jobs SET scheduled_time = ? WHERE upload_job_id = ?",
                           OM_PARAMS(OM_TEXT(moved_to), OM_TEXT(x->uj_id)), NULL);
    if (!rc) {
        json_t *chain = json_pack("{s:s,s:s,s:O,s:b}", "stage", "upload", "decision",
                                  "rescheduled to the platform's next quota window",
                                  "horizon_adjustment", adj, "attempt_counted", 0);
        json_t *lineage = json_pack("{s:s,s:s}", "clip_id", x->clip_id, "target", x->t->name);
        char sid[OM_UUID_LEN];
        rc = om_job_record(ctx, "upload_jobs", x->uj_id, lineage, chain, sid);
        json_decref(lineage);
        json_decref(chain);
    }
    if (!rc)
        rc = om_job_emit(ctx, "upload", json_deep_copy(ctx->payload), NULL, key,
                         ctx->job ? ctx->job->priority : 5, delay_ms);
    if (!rc)
        rc = om_store_commit(s);
    else
        om_store_rollback(s);
    json_decref(adj);
    free(key);
    if (rc) {
        free(msg);
        return om_error_wrap(rc, "upload clip %s: rescheduling after %s", x->clip_id,
                             reason ? reason : "a quota error");
    }
    json_object_set_new(ctx->result, "rescheduled_to", json_string(at));
    int done = om_step_done(ctx, "%s: rescheduled to %s (the quota window reopens)", msg, at);
    free(msg);
    return done;
}

/* A step failed after the target was involved: keep whatever it learned (resumable
 * sessions) for the retry, without losing the error that stopped us. */
static int upload_fail(om_job_ctx *ctx, upload *x, int rc)
{
    if (rc == OM_EBUSY && json_is_object(json_object_get(x->u.state, OM_TARGET_QUOTA_KEY)))
        return quota_reschedule(ctx, x);
    if (x->t && json_object_size(x->u.state)) {
        char *msg = xstrdup(om_error_msg());
        if (save_state(ctx, x->uj_id, x->u.state, "FAILED"))
            om_warn(SRC, "could not save target state of %s: %s", x->uj_id, om_error_msg());
        om_error_set(rc, "%s", msg);
        free(msg);
    }
    return om_error_wrap(rc, "upload clip %s", x->clip_id);
}

/* INIT: the upload job (DONE already: re-delivery), the clip, the target, the paths. */
static int upload_init(om_job_ctx *ctx, void *js)
{
    upload *x = js;
    x->clip_id = json_string_value(json_object_get(ctx->payload, "clip_id"));
    x->uj_id = json_string_value(json_object_get(ctx->payload, "upload_job_id"));
    if (!x->clip_id || !om_uuid_valid(x->clip_id) || !x->uj_id || !om_uuid_valid(x->uj_id))
        return om_error_set(OM_EINVAL,
                            "upload: payload.clip_id and payload.upload_job_id must be UUIDs");
    om_store *s = ctx->store;
    int rc = load_upjob(s, x->uj_id, x->clip_id, &x->u);
    if (rc)
        return om_error_wrap(rc, "upload");
    om_config_json_paths(ctx->cfg, x->u.state, 0);
    x->have_u = 1;
    if (!strcmp(x->u.status, "DONE")) {
        const char *path = json_string_value(json_object_get(x->u.state, "export_path"));
        if (!path)
            path = json_string_value(json_object_get(x->u.state, "video_id"));
        return om_step_done(ctx, "already published%s%s", path ? " to " : "", path ? path : "");
    }
    rc = om_clip_info_load(s, x->clip_id, ctx->project_id, &x->ci);
    if (rc)
        return om_error_wrap(rc == OM_ENOTFOUND ? OM_EPERMANENT : rc, "upload");
    x->have_ci = 1;
    x->t = om_target_find(x->u.target);
    if (!x->t)
        return om_error_wrap(
            om_error_set(OM_EPERMANENT, "upload: no publishing target named '%s'", x->u.target),
            "upload clip %s", x->clip_id);
    x->dest = om_export_dir(&x->ci, om_config_home(ctx->cfg));
    rc = om_mstore_open(&x->ms, ctx->cfg);
    if (rc)
        return om_error_wrap(rc, "upload clip %s", x->clip_id);
    x->clip_path = render_path(s, ctx->cfg, x->ms, x->clip_id);
    x->ctx = ctx;
    om_publish_req req = {x->clip_id,    x->uj_id,           x->clip_path,
                          NULL,          x->dest,            ctx->cfg,
                          s,             x->ci.project_id,   x->ci.brand,
                          x->u.scheduled_time, persist_state, x,
                          ctx->cancel};
    x->req = req;
    return OM_OK;
}

/* AUTH: the target is ready. */
static int upload_auth(om_job_ctx *ctx, void *js)
{
    upload *x = js;
    int rc = x->t->auth ? x->t->auth(&x->req, x->u.state) : OM_OK;
    if (rc)
        return upload_fail(ctx, x, rc);
    om_step_note(ctx, "target %s ready (%s)", x->t->name, x->dest);
    return OM_OK;
}

/* UPLOAD: publish with the sidecar; the target state is saved right away. */
static int upload_publish(om_job_ctx *ctx, void *js)
{
    upload *x = js;
    x->sidecar = sidecar_build(ctx, &x->ci, &x->u);
    x->req.sidecar = x->sidecar;
    int rc = x->t->publish(&x->req, x->u.state, &x->result_id);
    if (!rc)
        rc = save_state(ctx, x->uj_id, x->u.state, "UPLOADED");
    if (rc)
        return upload_fail(ctx, x, rc);
    om_step_note(ctx, "%s %s%s", x->t->name, x->result_id,
                 json_is_true(json_object_get(x->u.state, "reused"))
                     ? " (already there: not exported twice)"
                     : "");
    return OM_OK;
}

/* VERIFY: the target confirms; then the final transaction (upload job DONE, export artifact,
 * clip and schedule PUBLISHED, ledger packet). */
static int upload_verify(om_job_ctx *ctx, void *js)
{
    upload *x = js;
    om_store *s = ctx->store;
    const om_target *t = x->t;
    const char *clip_id = x->clip_id, *uj_id = x->uj_id, *result_id = x->result_id;
    upjob *u = &x->u;
    int rc = t->verify ? t->verify(&x->req, u->state, result_id) : OM_OK;
    if (rc)
        return upload_fail(ctx, x, rc);
    om_step_note(ctx, "verified %s", result_id);

    char sid[OM_UUID_LEN] = "";
    rc = om_store_begin(s);
    if (!rc) {
        char *state_text = state_row_text(ctx->cfg, u->state);
        int is_yt = !strcmp(t->name, "youtube");
        rc = om_store_exec(s,
                           "UPDATE upload_jobs SET status = 'DONE', target_state = ?, "
                           "yt_video_id = ? WHERE upload_job_id = ?",
                           OM_PARAMS(OM_JSON(state_text), is_yt ? OM_TEXT(result_id) : OM_NULL,
                                     OM_TEXT(uj_id)),
                           NULL);
        free(state_text);
        const char *sum = json_string_value(json_object_get(u->state, "sha256"));
        if (!rc && !strcmp(t->name, "export")) {
            char aid[OM_UUID_LEN];
            json_t *am = json_pack("{s:s,s:s,s:s?}", "upload_job_id", uj_id, "target", t->name,
                                   "sidecar_path",
                                   json_string_value(json_object_get(u->state, "sidecar_path")));
            om_config_json_paths(ctx->cfg, am, 1);
            char *amt = json_dumps(am, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(am);
            json_t *sz = json_object_get(u->state, "size_bytes");
            char *export_row = om_config_path_to_row(ctx->cfg, result_id);
            rc = om_store_exec(s,
                               "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                               "path, checksum, size_bytes, metadata) VALUES (?, 'export', "
                               "'clips', ?, ?, ?, ?, ?) ON CONFLICT (kind, entity_id, path) DO "
                               "NOTHING",
                               OM_PARAMS(OM_TEXT(om_uuid4(aid)), OM_TEXT(clip_id),
                                         OM_TEXT(export_row), OM_TEXT(sum),
                                         json_is_integer(sz) ? OM_INT(json_integer_value(sz))
                                                             : OM_NULL,
                                         OM_JSON(amt)),
                               NULL);
            free(amt);
            free(export_row);
        }
        if (!rc)
            rc = om_store_exec(s,
                               "UPDATE clips SET status = 'PUBLISHED' WHERE clip_id = ? AND "
                               "status IN ('RENDERED', 'SCHEDULED')",
                               OM_PARAMS(OM_TEXT(clip_id)), NULL);
        if (!rc)
            rc = om_store_exec(s,
                               "UPDATE schedules SET status = 'PUBLISHED' WHERE clip_id = ?",
                               OM_PARAMS(OM_TEXT(clip_id)), NULL);
        if (!rc) {
            json_t *st_row = json_deep_copy(u->state); /* paths as the rows hold them */
            om_config_json_paths(ctx->cfg, st_row, 1);
            char *result_row = !strcmp(t->name, "export")
                                   ? om_config_path_to_row(ctx->cfg, result_id)
                                   : xstrdup(result_id);
            json_t *chain = json_pack(
                "{s:s,s:s,s:s,s:o,s:s?,s:s?}", "stage", "upload", "target", t->name, "result_id",
                result_row, "target_state", st_row, "scheduled_time", u->scheduled_time,
                "title", u->title);
            free(result_row);
            if (!strcmp(t->name, "export"))
                json_object_set(chain, "export_path",
                                json_object_get(json_object_get(chain, "target_state"),
                                                "export_path"));
            json_t *lineage = json_pack("{s:s,s:s,s:s?}", "clip_id", clip_id, "target", t->name,
                                        "checksum", sum);
            rc = om_job_record(ctx, "upload_jobs", uj_id, lineage, chain, sid);
            json_decref(lineage);
            json_decref(chain);
        }
        if (!rc)
            rc = om_store_commit(s);
        else
            om_store_rollback(s);
    }
    if (rc)
        return upload_fail(ctx, x, rc);
    json_object_set_new(ctx->result, "target", json_string(t->name));
    json_object_set_new(ctx->result, "result_id", json_string(result_id));
    om_step_note(ctx, "published clip %s via %s: %s", clip_id, t->name, result_id);
    return OM_OK;
}

static const om_step upload_steps[] = {
    {"INIT", upload_init},
    {"AUTH", upload_auth},
    {"UPLOAD", upload_publish},
    {"VERIFY", upload_verify},
    {NULL, NULL},
};

const om_stage om_stage_upload = {
    .type = "upload",
    .source = SRC,
    .steps = upload_steps,
    .job_size = sizeof(upload),
    .release = upload_release,
    .timeout_ms = 30 * 60 * 1000,
    .lease_ms = 0,
    .entity_type = "clips",
};
