/*
 * select.c: the `select` stage (source "pantheon"): INIT -> VOTE -> MERGE -> PRIORITIZE ->
 * DONE. The Pantheon's agents vote on every CANDIDATE clip of one analysis, Chorus merges
 * the votes, Lattice ranks them; the top clips_per_video become SELECTED (an `edit` job
 * each), the others REJECTED with the reason. One transaction writes every clip's votes,
 * confidence, priority and status, one ledger packet per clip (decision chain = the votes,
 * the merge, the rank and the decision) and the edit jobs. Re-delivery after the commit
 * finds no CANDIDATE left and does nothing.
 *
 * Payload: {video_id, analysis_id} (+ project_id, trace_id, parents from the runtime).
 */
#include "base/common.h"

#include <math.h>

#include "stages/clipinfo.h"
#include "cognition/pantheon.h"
#include "runtime/runtime.h"

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

static int select_run(om_job_ctx *ctx)
{
    const char *video_id = jstr(ctx->payload, "video_id");
    const char *analysis_id = jstr(ctx->payload, "analysis_id");
    if (!video_id || !om_uuid_valid(video_id))
        return om_error_set(OM_EINVAL, "select: payload.video_id missing or not a UUID");
    if (analysis_id && !om_uuid_valid(analysis_id))
        return om_error_set(OM_EINVAL, "select: payload.analysis_id is not a UUID");
    om_store *s = ctx->store;

    /* the candidates of this analysis (of the video when no analysis is named) */
    om_rows *r = NULL;
    int rc = analysis_id
                 ? om_store_query(s,
                                  "SELECT clip_id, status FROM clips WHERE analysis_id = ? "
                                  "ORDER BY start_time, clip_id",
                                  OM_PARAMS(OM_TEXT(analysis_id)), &r)
                 : om_store_query(s,
                                  "SELECT clip_id, status FROM clips WHERE video_id = ? "
                                  "ORDER BY start_time, clip_id",
                                  OM_PARAMS(OM_TEXT(video_id)), &r);
    if (rc)
        return om_error_wrap(rc, "select: loading candidates");
    size_t total = om_rows_count(r), n = 0;
    cand *c = xcalloc(total ? total : 1, sizeof(*c));
    for (size_t i = 0; i < total && rc == OM_OK; i++) {
        if (strcmp(om_rows_get(r, i, 1), "CANDIDATE"))
            continue;
        rc = om_clip_info_load(s, om_rows_get(r, i, 0), ctx->project_id, &c[n].ci);
        if (rc == OM_OK)
            n++;
    }
    om_rows_free(r);
    if (rc) {
        release_cands(c, n);
        return om_error_wrap(rc, "select");
    }
    if (n == 0) {
        /* nothing to decide: no candidates, or a previous delivery already decided */
        const char *why = total ? "already decided (no CANDIDATE clip left)" : "no candidates";
        rc = om_job_transition(ctx, "VOTE", "%s", why);
        if (!rc)
            rc = om_job_transition(ctx, "MERGE", "%s", why);
        if (!rc)
            rc = om_job_transition(ctx, "PRIORITIZE", "%s", why);
        if (!rc)
            rc = om_job_transition(ctx, "DONE", "%zu clips, %s", total, why);
        json_object_set_new(ctx->result, "candidates", json_integer(0));
        release_cands(c, n);
        return rc;
    }
    const om_clip_info *first = &c[0].ci;
    const char *project_id = first->project_id;

    /* VOTE */
    om_pantheon *p = om_pantheon_new(first->brand, ctx->cfg);
    rc = om_job_transition(ctx, "VOTE", "%zu candidates, %zu agents", n, om_pantheon_nagents(p));
    if (!rc)
        rc = load_priors(s, project_id, p);
    int64_t now_us = om_now_us();
    for (size_t i = 0; i < n && rc == OM_OK; i++) {
        om_clip_info *ci = &c[i].ci;
        om_pantheon_clip pc = {ci->clip_id, ci->creator_id, ci->start, ci->end, NULL,
                               ci->metadata,
                               ci->posted_at_us ? (double)(now_us - ci->posted_at_us) / 3.6e9
                                                : -1};
        rc = om_pantheon_vote(p, &pc, c[i].votes, &c[i].nvotes);
    }

    /* MERGE */
    size_t vetoed = 0;
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            om_chorus_merge(c[i].votes, c[i].nvotes, &c[i].chorus);
            vetoed += c[i].chorus.vetoed ? 1 : 0;
        }
        rc = om_job_transition(ctx, "MERGE", "%zu merged, %zu vetoed", n, vetoed);
    }

    /* PRIORITIZE */
    size_t per_video = 3;
    const json_t *cpv = json_object_get(first->brand, "clips_per_video");
    if (json_is_integer(cpv) && json_integer_value(cpv) >= 0)
        per_video = (size_t)json_integer_value(cpv);
    double min_conf = om_config_double(ctx->cfg, "pantheon.min_confidence");
    om_rank_item *items = xcalloc(n, sizeof(*items));
    if (!rc) {
        double share = -1;
        size_t ncreators = 1;
        rc = load_diversity(s, project_id, first->creator_id, &share, &ncreators);
        for (size_t i = 0; i < n && rc == OM_OK; i++) {
            om_clip_info *ci = &c[i].ci;
            om_lattice_in li = {c[i].chorus.confidence,
                                ci->posted_at_us ? (double)(now_us - ci->posted_at_us) / 3.6e9
                                                 : -1,
                                share, ncreators};
            om_lattice_priority(&li, &c[i].lattice);
            c[i].creator_share = share;
            items[i].priority = c[i].lattice.priority;
            items[i].confidence = c[i].chorus.confidence;
            items[i].vetoed = c[i].chorus.vetoed;
            items[i].veto_reason = c[i].chorus.veto_reason;
        }
        if (!rc) {
            om_lattice_rank(items, n, per_video, min_conf);
            rc = om_job_transition(ctx, "PRIORITIZE",
                                   "ranked %zu by Lattice priority; top %zu per video", n,
                                   per_video);
        }
    }

    /* one transaction: votes, decisions, ledger packets, edit jobs */
    size_t selected = 0;
    if (!rc)
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
        int raced = rc == OM_OK && left && !strcmp(left, "0");
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
        if (rc == OM_OK && raced) {
            om_store_rollback(s);
        } else if (rc == OM_OK) {
            rc = om_store_commit(s);
        } else {
            om_store_rollback(s);
        }
    }
    if (!rc) {
        json_object_set_new(ctx->result, "candidates", json_integer((json_int_t)n));
        json_object_set_new(ctx->result, "selected", json_integer((json_int_t)selected));
        json_object_set_new(ctx->result, "vetoed", json_integer((json_int_t)vetoed));
        rc = om_job_transition(ctx, "DONE", "%zu selected, %zu rejected (%zu vetoed)", selected,
                               n - selected, vetoed);
    }
    free(items);
    om_pantheon_free(p);
    release_cands(c, n);
    if (rc)
        return om_error_wrap(rc, "select video %s", video_id);
    return OM_OK;
}

static const char *const SELECT_STATES[] = {"INIT", "VOTE", "MERGE", "PRIORITIZE", "DONE", NULL};

const om_stage om_stage_select = {
    .type = "select",
    .source = SRC,
    .states = SELECT_STATES,
    .run = select_run,
    .timeout_ms = 10 * 60 * 1000,
    .lease_ms = 0,
    .entity_type = "videos",
};
