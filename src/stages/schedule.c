/*
 * schedule.c: the `schedule` stage (source "scheduler_worker"): INIT -> CALC -> ENQUEUE ->
 * DONE. Oracle predicts engagement by hour of week from the project's scraped posts,
 * Horizon applies the brand's rules against the project's existing schedule, Zenith commits
 * the time. One transaction (holding the project's scheduling lock, so two clips never take
 * the same slot) writes the schedules row, one upload_jobs row per publishing target
 * (PENDING, with title/description/keywords), clips.status SCHEDULED, the ledger packet
 * (decision chain: Oracle, Horizon's adjustments, Zenith's commit) and the `upload` jobs
 * delayed until the committed time. Re-delivery finds the schedule and does nothing.
 *
 * Config: [schedule] now = 1 (or OMNIVA_SCHEDULE_NOW=1) commits the current time (tests,
 * `omniva run --now`); [schedule] horizon_days (3), step_minutes (15), recency_per_day.
 * Payload: {clip_id}.
 */
#include "base/common.h"

#include <math.h>

#include "stages/clipinfo.h"
#include "cognition/scheduling.h"
#include "cognition/virality.h"
#include "runtime/runtime.h"
#include "targets/target.h"

#define SRC "scheduler_worker"
#define ORACLE_POSTS 5000

extern const om_stage om_stage_schedule; /* registered by stages/registry.c */

static int force_now(const om_config *cfg)
{
    const char *e = getenv("OMNIVA_SCHEDULE_NOW");
    if (e && *e)
        return strcmp(e, "0") != 0;
    return om_config_bool(cfg, "schedule.now");
}

/* Scraped posts of the project's creators (or the clip's creator without a project). */
static int load_posts(om_store *s, const om_clip_info *ci, om_oracle_post **out, size_t *n,
                      char ***ids_out)
{
    om_rows *r = NULL;
    int rc = *ci->project_id
                 ? om_store_query(s,
                                  "SELECT p.creator_id, p.posted_at, p.raw_metadata FROM posts p "
                                  "JOIN project_creators pc ON pc.creator_id = p.creator_id "
                                  "WHERE pc.project_id = ? AND p.posted_at IS NOT NULL "
                                  "ORDER BY p.posted_at DESC LIMIT 5000",
                                  OM_PARAMS(OM_TEXT(ci->project_id)), &r)
                 : om_store_query(s,
                                  "SELECT creator_id, posted_at, raw_metadata FROM posts "
                                  "WHERE creator_id = ? AND posted_at IS NOT NULL "
                                  "ORDER BY posted_at DESC LIMIT 5000",
                                  OM_PARAMS(OM_TEXT(ci->creator_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading scraped posts for the Oracle");
    size_t m = om_rows_count(r);
    om_oracle_post *p = xcalloc(m ? m : 1, sizeof(*p));
    char **ids = xcalloc(m ? m : 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < m && k < ORACLE_POSTS; i++) {
        int64_t us;
        if (om_time_parse(om_rows_get(r, i, 1), &us) != OM_OK)
            continue;
        json_t *raw = om_json_from_db(om_rows_get(r, i, 2));
        om_post_counts(raw, &p[k].views, &p[k].likes, &p[k].comments);
        json_decref(raw);
        ids[k] = xstrdup(om_rows_get(r, i, 0));
        p[k].creator_id = ids[k];
        p[k].own = !strcmp(ids[k], ci->creator_id);
        p[k].posted_at_s = us / 1000000;
        k++;
    }
    om_rows_free(r);
    *out = p;
    *n = k;
    *ids_out = ids;
    return OM_OK;
}

/* Our own published clips' latest figures (clip_stats), appended to the Oracle's posts as
 * `result` posts grouped per target account, so the curve learns from how this project's
 * clips did (the feedback loop). Nothing for a clip without a project. */
static int load_results(om_store *s, const om_clip_info *ci, om_oracle_post **posts, size_t *n,
                        char ***ids)
{
    if (!*ci->project_id)
        return OM_OK;
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "SELECT s.final_scheduled_time, cs.target, cs.at, cs.views, cs.likes, cs.comments "
        "FROM clip_stats cs JOIN schedules s ON s.clip_id = cs.clip_id "
        "JOIN clips c ON c.clip_id = cs.clip_id JOIN videos v ON v.video_id = c.video_id "
        "JOIN posts p ON p.post_id = v.post_id "
        "WHERE p.creator_id IN (SELECT creator_id FROM project_creators WHERE project_id = ?) "
        "AND cs.at = (SELECT max(c2.at) FROM clip_stats c2 WHERE c2.clip_id = cs.clip_id AND "
        "c2.target = cs.target) ORDER BY s.final_scheduled_time DESC LIMIT 2000",
        OM_PARAMS(OM_TEXT(ci->project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading our clips' figures (clip_stats) for the Oracle");
    size_t m = om_rows_count(r), k = *n;
    *posts = xrealloc(*posts, (k + m + 1) * sizeof(**posts));
    *ids = xrealloc(*ids, (k + m + 1) * sizeof(char *));
    for (size_t i = 0; i < m; i++) {
        int64_t posted, at;
        if (om_time_parse(om_rows_get(r, i, 0), &posted) != OM_OK ||
            om_time_parse(om_rows_get(r, i, 2), &at) != OM_OK)
            continue;
        om_oracle_post *p = &(*posts)[k];
        memset(p, 0, sizeof(*p));
        p->posted_at_s = posted / 1000000;
        p->measured_at_s = at / 1000000;
        const char *v[3] = {om_rows_get(r, i, 3), om_rows_get(r, i, 4), om_rows_get(r, i, 5)};
        p->views = v[0] ? strtod(v[0], NULL) : -1;
        p->likes = v[1] ? strtod(v[1], NULL) : -1;
        p->comments = v[2] ? strtod(v[2], NULL) : -1;
        (*ids)[k] = xasprintf("account:%s", om_rows_get(r, i, 1));
        p->creator_id = (*ids)[k];
        p->result = 1;
        k++;
    }
    om_rows_free(r);
    *n = k;
    return OM_OK;
}

/* Committed posting times of the project (or creator) from two days back on. */
static int load_existing(om_store *s, const om_clip_info *ci, int64_t now_s, int64_t **out,
                         size_t *n)
{
    char since[OM_TIME_LEN];
    om_time_iso(since, (now_s - 2 * 86400) * 1000000);
    om_rows *r = NULL;
    int rc = *ci->project_id
                 ? om_store_query(
                       s,
                       "SELECT DISTINCT s.schedule_id, s.final_scheduled_time FROM schedules s "
                       "JOIN clips c ON c.clip_id = s.clip_id "
                       "JOIN videos v ON v.video_id = c.video_id "
                       "JOIN posts p ON p.post_id = v.post_id "
                       "JOIN project_creators pc ON pc.creator_id = p.creator_id "
                       "WHERE pc.project_id = ? AND s.final_scheduled_time >= ?",
                       OM_PARAMS(OM_TEXT(ci->project_id), OM_TEXT(since)), &r)
                 : om_store_query(
                       s,
                       "SELECT s.schedule_id, s.final_scheduled_time FROM schedules s "
                       "JOIN clips c ON c.clip_id = s.clip_id "
                       "JOIN videos v ON v.video_id = c.video_id "
                       "JOIN posts p ON p.post_id = v.post_id "
                       "WHERE p.creator_id = ? AND s.final_scheduled_time >= ?",
                       OM_PARAMS(OM_TEXT(ci->creator_id), OM_TEXT(since)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the existing schedule");
    size_t m = om_rows_count(r);
    int64_t *t = xcalloc(m ? m : 1, sizeof(int64_t));
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        int64_t us;
        if (om_time_parse(om_rows_get(r, i, 1), &us) == OM_OK)
            t[k++] = us / 1000000;
    }
    om_rows_free(r);
    *out = t;
    *n = k;
    return OM_OK;
}

static int already_scheduled(om_store *s, const char *clip_id, char **time_out)
{
    *time_out = NULL;
    int rc = om_store_query_value(
        s, "SELECT final_scheduled_time FROM schedules WHERE clip_id = ?",
        OM_PARAMS(OM_TEXT(clip_id)), time_out);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        return 0;
    }
    return rc ? rc : 1;
}

/* Per-job state carried between the steps. */
typedef struct sched {
    const char *clip_id; /* borrowed from the payload */
    om_clip_info ci;
    int have_ci;
    char *when; /* the committed time when already scheduled */
    om_tz *tz;
    om_oracle_post *posts;
    char **post_ids;
    size_t nposts;
    om_oracle oracle;
    om_horizon_rules rules;
    om_zenith_opts zo;
    int64_t now_s;
} sched;

static void schedule_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    sched *x = js;
    free(x->when);
    for (size_t i = 0; i < x->nposts; i++)
        free(x->post_ids[i]);
    free(x->post_ids);
    free(x->posts);
    om_tz_free(x->tz);
    if (x->have_ci)
        om_clip_info_release(&x->ci);
}

/* INIT: the clip; a clip already scheduled is a re-delivery (done). */
static int schedule_init(om_job_ctx *ctx, void *js)
{
    sched *x = js;
    const char *clip_id = x->clip_id = json_string_value(json_object_get(ctx->payload, "clip_id"));
    if (!clip_id || !om_uuid_valid(clip_id))
        return om_error_set(OM_EINVAL, "schedule: payload.clip_id missing or not a UUID");
    int rc = om_clip_info_load(ctx->store, clip_id, ctx->project_id, &x->ci);
    if (rc)
        return om_error_wrap(rc == OM_ENOTFOUND ? OM_EPERMANENT : rc, "schedule");
    x->have_ci = 1;
    int done = already_scheduled(ctx->store, clip_id, &x->when);
    if (done < 0)
        return om_error_wrap(done, "schedule clip %s", clip_id);
    if (done)
        return om_step_done(ctx, "already scheduled for %s", x->when ? x->when : "(unset)");
    if (strcmp(x->ci.status, "RENDERED") && strcmp(x->ci.status, "SCHEDULED"))
        return om_error_set(OM_EPERMANENT, "schedule: clip %s is %s, not RENDERED", clip_id,
                            x->ci.status);
    return OM_OK;
}

/* CALC: Oracle from the scraped history (outside the transaction: read-only), Horizon's
 * rules from the brand, Zenith's options from config. */
static int schedule_calc(om_job_ctx *ctx, void *js)
{
    sched *x = js;
    int rc = om_tz_load(x->ci.timezone, &x->tz);
    if (rc)
        return om_error_wrap(OM_EPERMANENT, "schedule: project time zone");
    x->now_s = om_now_us() / 1000000;
    rc = load_posts(ctx->store, &x->ci, &x->posts, &x->nposts, &x->post_ids);
    if (!rc)
        rc = load_results(ctx->store, &x->ci, &x->posts, &x->nposts, &x->post_ids);
    if (rc)
        return om_error_wrap(rc, "schedule clip %s", x->clip_id);
    om_oracle_build(&x->oracle, x->tz, x->posts, x->nposts, x->now_s);
    om_step_note(ctx, "Oracle over %zu posts (%zu own, %zu of our published clips) in %s; "
                 "Horizon: %s rules",
                 x->oracle.samples, x->oracle.own_samples, x->oracle.result_samples,
                 om_tz_name(x->tz),
                 force_now(ctx->cfg) ? "bypassed ([schedule] now)" : "brand");
    om_horizon_rules_from_brand(&x->rules, x->ci.brand);
    om_zenith_opts zo = {x->now_s,
                         (int)om_config_long(ctx->cfg, "schedule.horizon_days"),
                         (int)om_config_long(ctx->cfg, "schedule.step_minutes"),
                         force_now(ctx->cfg),
                         om_config_double(ctx->cfg, "schedule.recency_per_day")};
    x->zo = zo;
    return OM_OK;
}

/* ENQUEUE: Zenith commits the time; schedules, upload_jobs, clip status, ledger packet and
 * the delayed upload jobs in one transaction under the project's scheduling lock. */
static int schedule_enqueue(om_job_ctx *ctx, void *js)
{
    sched *x = js;
    om_store *s = ctx->store;
    const char *clip_id = x->clip_id;
    om_clip_info *ci = &x->ci;
    om_tz *tz = x->tz;
    om_oracle *oracle = &x->oracle;
    om_zenith_result zr = {0};
    int64_t *existing = NULL;
    size_t nexisting = 0;
    json_t *upload_ids = json_array();
    json_t *skipped = json_array();
    char sid[OM_UUID_LEN] = "";
    char schedule_id[OM_UUID_LEN];
    om_uuid4(schedule_id);
    int raced = 0;

    /* ENQUEUE: the commit happens under the project's scheduling lock */
    int rc = om_store_begin(s);
    if (!rc) {
        char *lock = xasprintf("schedule:%s", *ci->project_id ? ci->project_id : ci->creator_id);
        rc = om_store_lock(s, lock);
        free(lock);
        if (!rc) {
            int d = already_scheduled(s, clip_id, &x->when);
            rc = d < 0 ? d : 0;
            raced = d > 0;
        }
        if (!rc && !raced)
            rc = load_existing(s, ci, x->now_s, &existing, &nexisting);
        if (!rc && !raced)
            rc = om_zenith_choose(oracle, tz, &x->rules, existing, nexisting, &x->zo, &zr);
        if (!rc && !raced) { /* what our own results say about the chosen hour */
            json_t *o = json_object_get(zr.adjustments, "oracle");
            json_t *ev = om_oracle_result_evidence(tz, x->posts, x->nposts, zr.final_s);
            if (json_is_object(o)) {
                json_object_set_new(o, "result_posts", json_integer((json_int_t)oracle->result_samples));
                if (ev)
                    json_object_set(o, "own_results", ev);
            }
            json_decref(ev);
        }
        if (!rc && !raced)
            om_step_note(ctx, "Zenith: %s (%s)%s",
                         json_string_value(json_object_get(zr.adjustments, "final_local")),
                         om_tz_name(tz),
                         json_is_true(json_object_get(zr.adjustments, "moved"))
                             ? ", moved from the Oracle's best by Horizon"
                             : "");
        char fin[OM_TIME_LEN] = "", rec[OM_TIME_LEN] = "";
        if (!rc && !raced) {
            om_time_iso(fin, zr.final_s * 1000000);
            om_time_iso(rec, zr.recommended_s * 1000000);
            char *adj = json_dumps(zr.adjustments, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
            rc = om_store_exec(s,
                               "INSERT INTO schedules (schedule_id, clip_id, recommended_time, "
                               "final_scheduled_time, horizon_adjustments, status) VALUES "
                               "(?, ?, ?, ?, ?, 'SCHEDULED') ON CONFLICT (clip_id) DO NOTHING",
                               OM_PARAMS(OM_TEXT(schedule_id), OM_TEXT(clip_id), OM_TEXT(rec),
                                         OM_TEXT(fin), OM_JSON(adj)),
                               NULL);
            free(adj);
        }
        /* the publishing metadata, one upload job per known target */
        json_t *meta = NULL;
        if (!rc && !raced) {
            char *creator = ci->username ? xasprintf("@%s", ci->username) : NULL;
            json_t *kw = json_array_size(ci->semantic_tags) ? ci->semantic_tags
                                                           : json_object_get(ci->metadata,
                                                                             "keywords");
            meta = om_publish_meta_build(json_string_value(json_object_get(ci->metadata,
                                                                           "transcript")),
                                         kw, json_object_get(ci->brand, "keywords"), creator,
                                         ci->post_url);
            free(creator);
        }
        size_t ti;
        json_t *tv;
        if (!rc && !raced) {
            json_array_foreach(ci->targets, ti, tv) {
                const char *tname = json_string_value(tv);
                if (!tname || !om_target_find(tname)) {
                    json_array_append_new(skipped, json_pack("{s:s,s:s}", "target",
                                                             tname ? tname : "?", "reason",
                                                             "no such publishing target"));
                    om_warn(SRC, "clip %s: skipping unknown publishing target '%s'", clip_id,
                            tname ? tname : "?");
                    continue;
                }
                char ujid[OM_UUID_LEN];
                om_uuid4(ujid);
                char *tags = json_dumps(json_object_get(meta, "tags"), JSON_COMPACT | OM_JSON_REAL);
                rc = om_store_exec(
                    s,
                    "INSERT INTO upload_jobs (upload_job_id, clip_id, title, description, "
                    "keywords, scheduled_time, privacy_status, status, target, target_state) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'public', 'PENDING', ?, '{}') "
                    "ON CONFLICT (clip_id, target) DO NOTHING",
                    OM_PARAMS(OM_TEXT(ujid), OM_TEXT(clip_id),
                              OM_TEXT(json_string_value(json_object_get(meta, "title"))),
                              OM_TEXT(json_string_value(json_object_get(meta, "description"))),
                              OM_ARRAY(tags), OM_TEXT(fin), OM_TEXT(tname)),
                    NULL);
                free(tags);
                if (rc)
                    break;
                /* the row that holds (clip, target), ours or an earlier one */
                char *id = NULL;
                rc = om_store_query_value(
                    s, "SELECT upload_job_id FROM upload_jobs WHERE clip_id = ? AND target = ?",
                    OM_PARAMS(OM_TEXT(clip_id), OM_TEXT(tname)), &id);
                if (rc)
                    break;
                json_array_append_new(upload_ids,
                                      json_pack("{s:s,s:s}", "upload_job_id", id, "target", tname));
                free(id);
            }
        }
        json_decref(meta);
        if (!rc && !raced && json_array_size(upload_ids) == 0)
            rc = om_error_set(OM_EPERMANENT,
                              "schedule: the project has no known publishing target (%s)",
                              json_string_value(json_object_get(json_array_get(skipped, 0),
                                                                "target")));
        if (!rc && !raced)
            rc = om_store_exec(s,
                               "UPDATE clips SET status = 'SCHEDULED' WHERE clip_id = ? AND "
                               "status = 'RENDERED'",
                               OM_PARAMS(OM_TEXT(clip_id)), NULL);
        if (!rc && !raced) {
            json_t *chain = json_pack(
                "{s:s,s:{s:I,s:I,s:f,s:s},s:O,s:{s:s,s:s,s:f,s:b},s:O,s:O}", "stage", "schedule",
                "oracle", "samples", (json_int_t)oracle->samples, "own_posts",
                (json_int_t)oracle->own_samples, "prior_weight", OM_ORACLE_PRIOR_K, "timezone",
                om_tz_name(tz), "horizon_adjustments", zr.adjustments, "zenith",
                "final_scheduled_time", fin, "recommended_time", rec, "final_score",
                round(zr.final_score * 10000) / 10000, "forced_now", x->zo.force_now,
                "upload_jobs", upload_ids, "skipped_targets", skipped);
            json_t *lineage = json_pack("{s:s,s:s}", "clip_id", clip_id, "video_id", ci->video_id);
            rc = om_job_record(ctx, "schedules", schedule_id, lineage, chain, sid);
            json_decref(lineage);
            json_decref(chain);
        }
        if (!rc && !raced) {
            int64_t delay_ms = (zr.final_s - om_now_us() / 1000000) * 1000;
            json_array_foreach(upload_ids, ti, tv) {
                const char *uj = json_string_value(json_object_get(tv, "upload_job_id"));
                char *key = xasprintf("upload:%s", uj);
                rc = om_job_emit(ctx, "upload",
                                 json_pack("{s:s,s:s}", "clip_id", clip_id, "upload_job_id", uj),
                                 json_pack("[s]", sid), key, OM_PRIORITY_DEFAULT,
                                 delay_ms > 0 ? delay_ms : 0);
                free(key);
                if (rc)
                    break;
            }
        }
        if (!rc && !raced)
            rc = om_store_commit(s);
        else
            om_store_rollback(s);
    }
    if (!rc && raced) {
        rc = om_step_done(ctx, "already scheduled for %s", x->when ? x->when : "(unset)");
    } else if (!rc) {
        json_object_set_new(ctx->result, "schedule_id", json_string(schedule_id));
        json_object_set(ctx->result, "final_scheduled_time",
                        json_object_get(zr.adjustments, "final_time"));
        json_object_set_new(ctx->result, "upload_jobs",
                            json_integer((json_int_t)json_array_size(upload_ids)));
        om_step_note(ctx, "scheduled for %s; %zu upload job(s)",
                     json_string_value(json_object_get(zr.adjustments, "final_local")),
                     json_array_size(upload_ids));
    }
    json_decref(zr.adjustments);
    json_decref(upload_ids);
    json_decref(skipped);
    free(existing);
    if (rc < 0)
        return om_error_wrap(rc, "schedule clip %s", clip_id);
    return rc;
}

static const om_step schedule_steps[] = {
    {"INIT", schedule_init},
    {"CALC", schedule_calc},
    {"ENQUEUE", schedule_enqueue},
    {NULL, NULL},
};

const om_stage om_stage_schedule = {
    .type = "schedule",
    .source = SRC,
    .steps = schedule_steps,
    .job_size = sizeof(sched),
    .release = schedule_release,
    .timeout_ms = 5 * 60 * 1000,
    .lease_ms = 0,
    .entity_type = "clips",
};
