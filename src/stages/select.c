/*
 * select.c: the `select` stage (source "pantheon"): INIT -> VOTE -> MERGE -> PRIORITIZE ->
 * DONE. The Pantheon's agents vote on every CANDIDATE clip of one analysis, Chorus merges
 * the votes, Lattice ranks them; the top clips_per_video become SELECTED (an `edit` job
 * each), the others REJECTED with the reason. One transaction writes every clip's votes,
 * confidence, priority and status, one ledger packet per clip (decision chain = the votes,
 * the merge, the rank and the decision) and the edit jobs. Re-delivery after the commit
 * finds no CANDIDATE left and finishes early at INIT. When no clip is selected, the
 * analysis row's raw_ai_output gets "no_clip_code" (vetoed, below_threshold, none_selected)
 * and "no_clip_reason" (a short sentence naming the vetoing agents), logged as a warning;
 * when some but fewer than clips_per_video qualify, "shortfall_code" (fewer_than_requested)
 * and "shortfall_reason" say how many and why.
 *
 * Payload: {video_id, analysis_id} (+ project_id, trace_id, parents from the runtime).
 */
#include "base/common.h"

#include <math.h>

#include "stages/clipinfo.h"
#include "cognition/pantheon.h"
#include "runtime/runtime.h"
#include "stages/weights.h"

#define SRC "pantheon"
#define PRIOR_LIMIT 2000     /* clips the novelty agent compares against */
#define RECENT_SELECTIONS 100 /* window for creator diversity */

extern const om_stage om_stage_select; /* registered by stages/registry.c */

typedef struct cand {
    om_clip_info ci;
    om_vote votes[OM_PANTHEON_MAX_AGENTS];
    size_t nvotes;
    om_chorus chorus;
    om_lattice_out lattice;
    double creator_share;
} cand;

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Clips the project already chose (any creator, any video: a re-analysis of the same video
 * must not pick the same moment twice), for the novelty agent. */
static int load_priors(om_store *s, const char *project_id, om_pantheon *p)
{
    if (!*project_id)
        return OM_OK;
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "SELECT c.clip_id, c.metadata, po.creator_id FROM clips c "
        "JOIN videos v ON v.video_id = c.video_id JOIN posts po ON po.post_id = v.post_id "
        "JOIN project_creators pc ON pc.creator_id = po.creator_id "
        "WHERE pc.project_id = ? "
        "AND c.status IN ('SELECTED', 'RENDERED', 'SCHEDULED', 'PUBLISHED') "
        "ORDER BY c.created_at DESC LIMIT 2000",
        OM_PARAMS(OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the project's chosen clips");
    for (size_t i = 0; i < om_rows_count(r) && i < PRIOR_LIMIT; i++) {
        json_t *m = om_json_from_db(om_rows_getn(r, i, "metadata"));
        om_pantheon_add_prior(p, om_rows_getn(r, i, "clip_id"), om_rows_getn(r, i, "creator_id"),
                              jstr(m, "transcript"));
        json_decref(m);
    }
    om_rows_free(r);
    return OM_OK;
}

/* This creator's share of the project's recent selections and the creator count. */
static int load_diversity(om_store *s, const char *project_id, const char *creator_id,
                          double *share, size_t *ncreators)
{
    *share = -1;
    *ncreators = 1;
    if (!*project_id)
        return OM_OK;
    char *n = NULL;
    int rc = om_store_query_value(s, "SELECT count(*) FROM project_creators WHERE project_id = ?",
                                  OM_PARAMS(OM_TEXT(project_id)), &n);
    if (rc)
        return om_error_wrap(rc, "counting the project's creators");
    *ncreators = n ? (size_t)strtoul(n, NULL, 10) : 1;
    free(n);
    om_rows *r = NULL;
    rc = om_store_query(
        s,
        "SELECT po.creator_id FROM clips c JOIN videos v ON v.video_id = c.video_id "
        "JOIN posts po ON po.post_id = v.post_id "
        "JOIN project_creators pc ON pc.creator_id = po.creator_id "
        "WHERE pc.project_id = ? "
        "AND c.status IN ('SELECTED', 'RENDERED', 'SCHEDULED', 'PUBLISHED') "
        "ORDER BY c.created_at DESC LIMIT 100",
        OM_PARAMS(OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading recent selections");
    size_t total = om_rows_count(r), mine = 0;
    for (size_t i = 0; i < total; i++)
        if (!strcmp(om_rows_get(r, i, 0), creator_id))
            mine++;
    om_rows_free(r);
    if (total > 0)
        *share = (double)mine / (double)total;
    return OM_OK;
}

static void release_cands(cand *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        om_clip_info_release(&c[i].ci);
    free(c);
}

/* Per-job state carried between the steps. */
typedef struct sel {
    const char *video_id, *analysis_id; /* borrowed from the payload */
    cand *c;
    size_t n, total; /* CANDIDATE clips loaded / clips of the analysis */
    om_pantheon *p;
    size_t vetoed;
    om_rank_item *items;
    size_t per_video;
    double min_conf;
    int64_t now_us;
    json_t *weights; /* the project's learned agent weights in use (weights.h), or NULL */
} sel;

static void select_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    sel *x = js;
    free(x->items);
    json_decref(x->weights);
    om_pantheon_free(x->p);
    release_cands(x->c, x->n);
}

/* Why no clip was selected, as (code, sentence) for analysis.raw_ai_output's no_clip_code /
 * no_clip_reason. `why` gets a short human sentence. */
static const char *no_clip_reason(const sel *x, om_sbuf *why)
{
    size_t vetoed = 0, below = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (x->items[i].vetoed)
            vetoed++;
        else if (x->items[i].confidence < x->min_conf)
            below++;
    }
    om_sbuf agents = OM_SBUF_INIT; /* distinct vetoing agents with their first reason */
    for (size_t i = 0; i < x->n; i++) {
        const om_chorus *ch = &x->c[i].chorus;
        if (!ch->vetoed)
            continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = x->c[k].chorus.vetoed && !strcmp(x->c[k].chorus.veto_agent, ch->veto_agent);
        if (!seen)
            sb_printf(&agents, "%s%s: %s", agents.len ? "; " : "",
                      ch->veto_agent[0] ? ch->veto_agent : "an agent",
                      ch->veto_reason[0] ? ch->veto_reason : "no reason given");
    }
    const char *code;
    if (x->per_video == 0) {
        code = "none_selected";
        sb_printf(why, "the brand takes no clips per video (clips_per_video = 0)");
    } else if (vetoed == x->n) {
        code = "vetoed";
        sb_printf(why, "every candidate (%zu) was vetoed (%s)", x->n, sb_str(&agents));
    } else if (below == x->n) {
        double best = 0;
        for (size_t i = 0; i < x->n; i++)
            best = fmax(best, x->items[i].confidence);
        code = "below_threshold";
        sb_printf(why,
                  "all %zu candidates scored below the committee's minimum confidence %.2f "
                  "(best %.2f)",
                  x->n, x->min_conf, best);
    } else {
        code = "none_selected";
        sb_printf(why, "no candidate qualified: %zu vetoed%s%s%s, %zu below the minimum "
                       "confidence %.2f",
                  vetoed, vetoed ? " (" : "", vetoed ? sb_str(&agents) : "", vetoed ? ")" : "",
                  below, x->min_conf);
    }
    sb_release(&agents);
    return code;
}

/* Writes <kind>_code/<kind>_reason (kind "no_clip" or "shortfall") into the analysis row (the payload's analysis, else the
 * video's latest), inside the caller's transaction. */
static int record_reason(om_job_ctx *ctx, const sel *x, const char *kind, const char *code,
                         const char *why)
{
    om_store *s = ctx->store;
    om_rows *r = NULL;
    int rc = x->analysis_id
                 ? om_store_query(s,
                                  "SELECT analysis_id, raw_ai_output FROM analysis WHERE "
                                  "analysis_id = ?",
                                  OM_PARAMS(OM_TEXT(x->analysis_id)), &r)
                 : om_store_query(s,
                                  "SELECT analysis_id, raw_ai_output FROM analysis WHERE "
                                  "video_id = ? ORDER BY created_at DESC LIMIT 1",
                                  OM_PARAMS(OM_TEXT(x->video_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the analysis to record why no clip was selected");
    if (om_rows_count(r) > 0) {
        json_t *raw = om_json_from_db(om_rows_get(r, 0, 1));
        if (!json_is_object(raw)) {
            json_decref(raw);
            raw = json_object();
        }
        char *ck = xasprintf("%s_code", kind), *rk = xasprintf("%s_reason", kind);
        json_object_set_new(raw, ck, json_string(code));
        json_object_set_new(raw, rk, json_string(why));
        free(ck);
        free(rk);
        char *text = json_dumps(raw, JSON_COMPACT);
        rc = om_store_exec(s, "UPDATE analysis SET raw_ai_output = ? WHERE analysis_id = ?",
                           OM_PARAMS(OM_JSON(text), OM_TEXT(om_rows_get(r, 0, 0))), NULL);
        free(text);
        json_decref(raw);
    }
    om_rows_free(r);
    return rc;
}

/* INIT: the payload and the CANDIDATE clips of the analysis (of the video when no analysis
 * is named). None left: a previous delivery decided already (or there was nothing). */
static int select_init(om_job_ctx *ctx, void *js)
{
    sel *x = js;
    x->video_id = jstr(ctx->payload, "video_id");
    x->analysis_id = jstr(ctx->payload, "analysis_id");
    if (!x->video_id || !om_uuid_valid(x->video_id))
        return om_error_set(OM_EINVAL, "select: payload.video_id missing or not a UUID");
    if (x->analysis_id && !om_uuid_valid(x->analysis_id))
        return om_error_set(OM_EINVAL, "select: payload.analysis_id is not a UUID");
    om_store *s = ctx->store;
    om_rows *r = NULL;
    int rc = x->analysis_id
                 ? om_store_query(s,
                                  "SELECT clip_id, status FROM clips WHERE analysis_id = ? "
                                  "ORDER BY start_time, clip_id",
                                  OM_PARAMS(OM_TEXT(x->analysis_id)), &r)
                 : om_store_query(s,
                                  "SELECT clip_id, status FROM clips WHERE video_id = ? "
                                  "ORDER BY start_time, clip_id",
                                  OM_PARAMS(OM_TEXT(x->video_id)), &r);
    if (rc)
        return om_error_wrap(rc, "select: loading candidates");
    x->total = om_rows_count(r);
    x->c = xcalloc(x->total ? x->total : 1, sizeof(*x->c));
    for (size_t i = 0; i < x->total && rc == OM_OK; i++) {
        if (strcmp(om_rows_get(r, i, 1), "CANDIDATE"))
            continue;
        rc = om_clip_info_load(s, om_rows_get(r, i, 0), ctx->project_id, &x->c[x->n].ci);
        if (rc == OM_OK)
            x->n++;
    }
    om_rows_free(r);
    if (rc)
        return om_error_wrap(rc, "select video %s", x->video_id);
    json_object_set_new(ctx->result, "candidates", json_integer((json_int_t)x->n));
    if (x->n == 0)
        return om_step_done(ctx, "%s (%zu clips)",
                            x->total ? "already decided (no CANDIDATE clip left)"
                                     : "no candidates",
                            x->total);
    x->now_us = om_now_us();
    return OM_OK;
}

/* VOTE: every Pantheon agent on every candidate. */
static int select_vote(om_job_ctx *ctx, void *js)
{
    sel *x = js;
    const om_clip_info *first = &x->c[0].ci;
    x->p = om_pantheon_new(first->brand, ctx->cfg);
    om_step_note(ctx, "%zu candidates, %zu agents", x->n, om_pantheon_nagents(x->p));
    int rc = OM_OK;
    if (*first->project_id) {
        /* the feedback loop: new figures of our published clips may move the weights first;
         * a failed step is not a reason to stop choosing clips */
        json_t *rep = NULL;
        if (om_weights_learn(ctx->store, ctx->cfg, first->project_id, 0, &rep) != OM_OK)
            om_warn(SRC, "agent weights not learned this time: %s", om_error_msg());
        else if (json_is_true(json_object_get(rep, "stepped")))
            om_step_note(ctx, "agent weights learned from %lld published clips: %s",
                         (long long)json_integer_value(json_object_get(rep, "clips")),
                         json_string_value(json_object_get(rep, "why")));
        json_decref(rep);
        rc = om_weights_apply(ctx->store, ctx->cfg, first->project_id, x->p, &x->weights);
    }
    if (rc == OM_OK)
        rc = load_priors(ctx->store, first->project_id, x->p);
    for (size_t i = 0; i < x->n && rc == OM_OK; i++) {
        om_clip_info *ci = &x->c[i].ci;
        om_pantheon_clip pc = {ci->clip_id, ci->creator_id, ci->start, ci->end, NULL,
                               ci->metadata,
                               ci->posted_at_us ? (double)(x->now_us - ci->posted_at_us) / 3.6e9
                                                : -1};
        rc = om_pantheon_vote(x->p, &pc, x->c[i].votes, &x->c[i].nvotes);
    }
    return rc ? om_error_wrap(rc, "select video %s", x->video_id) : OM_OK;
}

/* MERGE: Chorus per candidate. */
static int select_merge(om_job_ctx *ctx, void *js)
{
    sel *x = js;
    for (size_t i = 0; i < x->n; i++) {
        om_chorus_merge(x->c[i].votes, x->c[i].nvotes, &x->c[i].chorus);
        x->vetoed += x->c[i].chorus.vetoed ? 1 : 0;
    }
    om_step_note(ctx, "%zu merged, %zu vetoed", x->n, x->vetoed);
    return OM_OK;
}

/* PRIORITIZE: Lattice ranks; then ONE transaction writes votes, decisions, ledger packets,
 * edit jobs (and, when nothing was selected, why). */
static int select_prioritize(om_job_ctx *ctx, void *js)
{
    sel *x = js;
    om_store *s = ctx->store;
    cand *c = x->c;
    size_t n = x->n;
    const om_clip_info *first = &c[0].ci;
    const char *project_id = first->project_id;
    const char *video_id = x->video_id, *analysis_id = x->analysis_id;
    x->per_video = 3;
    const json_t *cpv = json_object_get(first->brand, "clips_per_video");
    if (json_is_integer(cpv) && json_integer_value(cpv) >= 0)
        x->per_video = (size_t)json_integer_value(cpv);
    size_t per_video = x->per_video;
    double min_conf = x->min_conf =
        om_config_double(ctx->cfg, "pantheon.min_confidence");
    om_rank_item *items = x->items = xcalloc(n, sizeof(*items));
    double share = -1;
    size_t ncreators = 1;
    int rc = load_diversity(s, project_id, first->creator_id, &share, &ncreators);
    if (rc)
        return om_error_wrap(rc, "select video %s", video_id);
    for (size_t i = 0; i < n; i++) {
        om_clip_info *ci = &c[i].ci;
        om_lattice_in li = {c[i].chorus.confidence,
                            ci->posted_at_us ? (double)(x->now_us - ci->posted_at_us) / 3.6e9
                                             : -1,
                            share, ncreators};
        om_lattice_priority(&li, &c[i].lattice);
        c[i].creator_share = share;
        items[i].priority = c[i].lattice.priority;
        items[i].confidence = c[i].chorus.confidence;
        items[i].vetoed = c[i].chorus.vetoed;
        items[i].veto_reason = c[i].chorus.veto_reason;
    }
    om_lattice_rank(items, n, per_video, min_conf);
    om_step_note(ctx, "ranked %zu by Lattice priority; top %zu per video", n, per_video);

    size_t selected = 0, eligible = 0;
    for (size_t i = 0; i < n; i++)
        eligible += items[i].selected ? 1 : 0;
    om_sbuf why = OM_SBUF_INIT, short_why = OM_SBUF_INIT;
    const char *no_clip = eligible ? NULL : no_clip_reason(x, &why);
    /* some clips, but fewer than the brand asks for: say why, next to them */
    int shortfall = eligible > 0 && eligible < per_video;
    if (shortfall) {
        size_t vetoed = 0, below = 0;
        for (size_t i = 0; i < n; i++) {
            if (items[i].vetoed)
                vetoed++;
            else if (!items[i].selected && items[i].confidence < min_conf)
                below++;
        }
        sb_printf(&short_why,
                  "%zu of the %zu clips the brand asks per video: %zu candidate%s in all, %zu "
                  "vetoed, %zu below the minimum confidence %.2f",
                  eligible, per_video, n, n == 1 ? "" : "s", vetoed, below, min_conf);
    }
    int raced = 0;
    rc = om_store_begin(s);
    if (!rc) {
        char *left = NULL;
        rc = analysis_id
                 ? om_store_query_value(s,
                                        "SELECT count(*) FROM clips WHERE analysis_id = ? AND "
                                        "status = 'CANDIDATE'",
                                        OM_PARAMS(OM_TEXT(analysis_id)), &left)
                 : om_store_query_value(s,
                                        "SELECT count(*) FROM clips WHERE video_id = ? AND "
                                        "status = 'CANDIDATE'",
                                        OM_PARAMS(OM_TEXT(video_id)), &left);
        raced = rc == OM_OK && left && !strcmp(left, "0");
        free(left);
        for (size_t i = 0; i < n && rc == OM_OK && !raced; i++) {
            om_clip_info *ci = &c[i].ci;
            const char *decision = items[i].selected ? "SELECTED" : "REJECTED";
            json_t *votes = om_votes_json(c[i].votes, c[i].nvotes);
            json_t *chorus = om_chorus_json(&c[i].chorus);
            json_t *lattice = json_pack(
                "{s:f,s:f,s:f,s:i,s:I,s:f,s:f}", "priority",
                round(c[i].lattice.priority * 10000) / 10000, "freshness",
                round(c[i].lattice.freshness * 10000) / 10000, "diversity",
                round(c[i].lattice.diversity * 10000) / 10000, "rank", items[i].rank,
                "clips_per_video", (json_int_t)per_video, "min_confidence", min_conf,
                "creator_share", c[i].creator_share < 0 ? 0.0 : c[i].creator_share);
            json_t *chain = json_pack("{s:s,s:O,s:O,s:O,s:s,s:s}", "stage", "select", "votes",
                                      votes, "chorus", chorus, "lattice", lattice, "decision",
                                      decision, "reason", items[i].reason);
            if (x->weights)
                json_object_set(chain, "agent_weights", x->weights);
            json_t *lineage = json_pack("{s:s,s:s,s:s?,s:s?}", "video_id", video_id, "post_id",
                                        ci->post_id, "analysis_id",
                                        ci->analysis_id[0] ? ci->analysis_id : NULL,
                                        "analysis_stardust_id",
                                        jstr(ci->metadata, "stardust_id"));
            char sid[OM_UUID_LEN];
            rc = om_job_record(ctx, "clips", ci->clip_id, lineage, chain, sid);
            json_decref(lineage);
            json_decref(chain);
            json_t *meta = json_deep_copy(ci->metadata);
            json_object_set(meta, "chorus", chorus);
            json_object_set(meta, "lattice", lattice);
            if (x->weights)
                json_object_set(meta, "agent_weights", x->weights);
            else
                json_object_del(meta, "agent_weights");
            json_object_set_new(meta, "selection",
                                json_pack("{s:s,s:s,s:i,s:s}", "decision", decision, "reason",
                                          items[i].reason, "rank", items[i].rank,
                                          "stardust_id", sid));
            char *votes_text = json_dumps(votes, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
            char *meta_text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
            int64_t changed = 0;
            if (!rc)
                rc = om_store_exec(
                    s,
                    "UPDATE clips SET pantheon_votes = ?, confidence = ?, lattice_priority = ?, "
                    "status = ?, metadata = ? WHERE clip_id = ? AND status = 'CANDIDATE'",
                    OM_PARAMS(OM_JSON(votes_text), OM_REAL(c[i].chorus.confidence),
                              OM_REAL(c[i].lattice.priority), OM_TEXT(decision),
                              OM_JSON(meta_text), OM_TEXT(ci->clip_id)),
                    &changed);
            free(votes_text);
            free(meta_text);
            json_decref(meta);
            json_decref(votes);
            json_decref(chorus);
            json_decref(lattice);
            if (!rc && items[i].selected && changed) {
                char *key = xasprintf("edit:%s", ci->clip_id);
                int prio = 3 + (int)lround(c[i].lattice.priority * 5.0);
                rc = om_job_emit(ctx, "edit", json_pack("{s:s}", "clip_id", ci->clip_id),
                                 json_pack("[s]", sid), key, prio, 0);
                free(key);
                selected++;
            }
            if (!rc)
                om_info(SRC, "clip %s %s: %s (confidence %.2f, disagreement %.2f)",
                        ci->clip_id, decision, items[i].reason, c[i].chorus.confidence,
                        c[i].chorus.disagreement);
        }
        if (!rc && !raced && no_clip)
            rc = record_reason(ctx, x, "no_clip", no_clip, sb_str(&why));
        if (!rc && !raced && shortfall)
            rc = record_reason(ctx, x, "shortfall", "fewer_than_requested", sb_str(&short_why));
        if (rc == OM_OK && raced) {
            om_store_rollback(s);
        } else if (rc == OM_OK) {
            rc = om_store_commit(s);
        } else {
            om_store_rollback(s);
        }
    }
    if (!rc && raced) {
        sb_release(&why);
        sb_release(&short_why);
        return om_step_done(ctx, "already decided by another delivery");
    }
    if (!rc && shortfall) {
        om_warn(SRC, "video %s: %s", video_id, sb_str(&short_why));
        json_object_set_new(ctx->result, "shortfall_reason", json_string(sb_str(&short_why)));
    }
    sb_release(&short_why);
    if (!rc && no_clip) {
        json_t *f = json_pack("{s:s, s:s, s:s}", "video_id", video_id, "no_clip_code", no_clip,
                              "no_clip_reason", sb_str(&why));
        om_log_emit(OM_LOG_WARN, SRC, f, "video %s: no clip selected (%s): %s", video_id,
                    no_clip, sb_str(&why));
        json_decref(f);
        json_object_set_new(ctx->result, "no_clip_code", json_string(no_clip));
        json_object_set_new(ctx->result, "no_clip_reason", json_string(sb_str(&why)));
    }
    sb_release(&why);
    if (rc)
        return om_error_wrap(rc, "select video %s", video_id);
    json_object_set_new(ctx->result, "selected", json_integer((json_int_t)selected));
    json_object_set_new(ctx->result, "vetoed", json_integer((json_int_t)x->vetoed));
    om_step_note(ctx, "%zu selected, %zu rejected (%zu vetoed)", selected, n - selected,
                 x->vetoed);
    return OM_OK;
}

static const om_step select_steps[] = {
    {"INIT", select_init},
    {"VOTE", select_vote},
    {"MERGE", select_merge},
    {"PRIORITIZE", select_prioritize},
    {NULL, NULL},
};

const om_stage om_stage_select = {
    .type = "select",
    .source = SRC,
    .steps = select_steps,
    .job_size = sizeof(sel),
    .release = select_release,
    .timeout_ms = 10 * 60 * 1000,
    .lease_ms = 0,
    .entity_type = "videos",
};
