/*
 * weights.c: learning Pantheon's agent weights per project from our own results, and
 * applying them before the committee votes (see weights.h; the formulas: cognition/learn.h).
 */
#include "base/common.h"

#include <math.h>

#include "cognition/learn.h"
#include "ledger/stardust.h"
#include "stages/clipinfo.h"
#include "stages/weights.h"

#define SRC "pantheon"
#define MAX_SAMPLES 5000

/* Published clips of the project: the creator is in the project (clips have no project). */
#define PROJECT_STATS                                                                       \
    "FROM clip_stats cs JOIN clips c ON c.clip_id = cs.clip_id "                           \
    "JOIN videos v ON v.video_id = c.video_id JOIN posts p ON p.post_id = v.post_id "      \
    "WHERE p.creator_id IN (SELECT creator_id FROM project_creators WHERE project_id = ?) "

typedef struct state {
    int found;
    json_t *factors; /* {agent: factor}, never NULL */
    long long readings, steps;
    int64_t updated_us;
} state;

static double jnum(const json_t *o, const char *k, double dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static int load_state(om_store *s, const char *project_id, state *st)
{
    memset(st, 0, sizeof(*st));
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT weights, readings, steps, updated_at FROM pantheon_weights "
                            "WHERE project_id = ?",
                            OM_PARAMS(OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the project's learned agent weights");
    if (om_rows_count(r) > 0) {
        st->found = 1;
        st->factors = om_json_from_db(om_rows_get(r, 0, 0));
        st->readings = strtoll(om_rows_get(r, 0, 1), NULL, 10);
        st->steps = strtoll(om_rows_get(r, 0, 2), NULL, 10);
        if (om_time_parse(om_rows_get(r, 0, 3), &st->updated_us) != OM_OK)
            st->updated_us = 0;
    }
    om_rows_free(r);
    if (!json_is_object(st->factors)) {
        json_decref(st->factors);
        st->factors = json_object();
    }
    return OM_OK;
}

static double base_weight(const om_config *cfg, const char *agent)
{
    char key[64];
    snprintf(key, sizeof(key), "pantheon.weight_%s", agent);
    double w = om_config_double(cfg, key);
    return w > 0 ? w : 0;
}

/* The samples: each published clip's latest reading per target, log views centred per
 * target, with the agents' scores from its votes. */
static int load_samples(om_store *s, const char *project_id, size_t nagents,
                        om_learn_sample **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "SELECT c.pantheon_votes, cs.target, cs.views " PROJECT_STATS
        "AND cs.views IS NOT NULL AND c.pantheon_votes IS NOT NULL "
        "AND cs.at = (SELECT max(c2.at) FROM clip_stats c2 WHERE c2.clip_id = cs.clip_id AND "
        "c2.target = cs.target) ORDER BY cs.at DESC LIMIT 5000",
        OM_PARAMS(OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading our clips' figures (clip_stats) for the agents");
    size_t m = om_rows_count(r), k = 0;
    om_learn_sample *smp = xcalloc(m ? m : 1, sizeof(*smp));
    const char **target = xcalloc(m ? m : 1, sizeof(*target));
    for (size_t i = 0; i < m && k < MAX_SAMPLES; i++) {
        json_t *votes = om_json_from_db(om_rows_get(r, i, 0));
        if (!json_is_object(votes)) {
            json_decref(votes);
            continue;
        }
        om_learn_sample *x = &smp[k];
        for (size_t a = 0; a < nagents; a++) {
            const json_t *v = json_object_get(votes, om_pantheon_agent_name(a));
            if (json_is_object(v) && jnum(v, "weight", 0) > 0 &&
                json_is_number(json_object_get(v, "score"))) {
                x->score[a] = jnum(v, "score", 0);
                x->has[a] = 1;
            }
        }
        json_decref(votes);
        double views = strtod(om_rows_get(r, i, 2), NULL);
        x->outcome = log1p(views > 0 ? views : 0);
        target[k] = om_rows_get(r, i, 1);
        k++;
    }
    /* centre per target: a bigger account is not a better agent */
    for (size_t i = 0; i < k; i++) {
        if (!target[i])
            continue;
        const char *t = target[i];
        double sum = 0;
        size_t c = 0;
        for (size_t j = i; j < k; j++)
            if (target[j] && !strcmp(target[j], t)) {
                sum += smp[j].outcome;
                c++;
            }
        for (size_t j = i; j < k; j++)
            if (target[j] && !strcmp(target[j], t)) {
                smp[j].outcome -= sum / (double)c;
                target[j] = NULL;
            }
    }
    free(target);
    om_rows_free(r);
    *out = smp;
    *n_out = k;
    return OM_OK;
}

static json_t *report_new(int stepped, const char *why)
{
    return json_pack("{s:b,s:s}", "stepped", stepped, "why", why);
}

static double round4(double v)
{
    return round(v * 10000) / 10000;
}

/* Writes the step (row + ledger packet) in one transaction; *lost 1 when another process
 * stepped first (nothing written). */
static int write_step(om_store *s, const char *project_id, const state *st, json_t *factors,
                      json_t *chain, long long clips, long long readings, char sid[OM_UUID_LEN],
                      int *lost)
{
    *lost = 0;
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    char *ftext = json_dumps(factors, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
    char *etext = json_dumps(json_object_get(chain, "agents"),
                             JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
    int rc = om_store_begin(s);
    int64_t changed = 0;
    if (!rc)
        rc = om_store_exec(
            s,
            "INSERT INTO pantheon_weights (project_id, weights, evidence, clips, readings, "
            "steps, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (project_id) DO UPDATE "
            "SET weights = excluded.weights, evidence = excluded.evidence, clips = "
            "excluded.clips, readings = excluded.readings, steps = pantheon_weights.steps + 1, "
            "updated_at = excluded.updated_at WHERE pantheon_weights.steps = ?",
            OM_PARAMS(OM_TEXT(project_id), OM_JSON(ftext), OM_JSON(etext), OM_INT(clips),
                      OM_INT(readings), OM_TEXT(now), OM_INT(st->steps)),
            &changed);
    if (!rc && changed == 0)
        *lost = 1;
    if (!rc && !*lost) {
        json_t *lineage = json_pack("{s:s,s:I,s:I}", "source", "clip_stats", "clips",
                                    (json_int_t)clips, "readings", (json_int_t)readings);
        rc = om_stardust_append(s, "projects", project_id, lineage, chain, sid);
        json_decref(lineage);
    }
    if (!rc && !*lost)
        rc = om_store_exec(s, "UPDATE pantheon_weights SET stardust_id = ? WHERE project_id = ?",
                           OM_PARAMS(OM_TEXT(sid), OM_TEXT(project_id)), NULL);
    if (!rc && !*lost)
        rc = om_store_commit(s);
    else if (om_store_in_txn(s))
        om_store_rollback(s);
    free(ftext);
    free(etext);
    return rc;
}

int om_weights_learn(om_store *s, const om_config *cfg, const char *project_id, int force,
                     json_t **report_out)
{
    if (report_out)
        *report_out = NULL;
    if (!project_id || !om_uuid_valid(project_id))
        return om_error_set(OM_EINVAL, "learning agent weights: project id missing or not a UUID");
    long min_clips = om_config_long(cfg, "pantheon.learn_min_clips");
    if (min_clips <= 0) {
        if (report_out)
            *report_out = report_new(0, "learning is off (pantheon.learn_min_clips = 0)");
        return OM_OK;
    }
    state st;
    int rc = load_state(s, project_id, &st);
    if (rc)
        return rc;
    int64_t now = om_now_us();
    long interval = om_config_long(cfg, "pantheon.learn_interval_s");
    json_t *rep = NULL;
    char why[256] = "";
    if (!force && st.found && now - st.updated_us < (int64_t)interval * 1000000) {
        snprintf(why, sizeof(why), "the last step was %lld s ago (pantheon.learn_interval_s %ld)",
                 (long long)((now - st.updated_us) / 1000000), interval);
        goto done;
    }
    om_rows *r = NULL;
    rc = om_store_query(s,
                        "SELECT count(*), count(DISTINCT cs.clip_id) " PROJECT_STATS
                        "AND cs.views IS NOT NULL AND c.pantheon_votes IS NOT NULL",
                        OM_PARAMS(OM_TEXT(project_id)), &r);
    if (rc) {
        rc = om_error_wrap(rc, "counting our clips' figures");
        goto done;
    }
    long long readings = strtoll(om_rows_get(r, 0, 0), NULL, 10);
    long long clips = strtoll(om_rows_get(r, 0, 1), NULL, 10);
    om_rows_free(r);
    if (clips < min_clips) {
        snprintf(why, sizeof(why), "%lld published clip%s with figures, %ld needed", clips,
                 clips == 1 ? "" : "s", min_clips);
        goto done;
    }
    if (st.found && readings <= st.readings) {
        snprintf(why, sizeof(why), "no new figures since the last step (%lld readings)", readings);
        goto done;
    }

    size_t nag = om_pantheon_nagents(NULL);
    om_learn_agent ag[OM_PANTHEON_MAX_AGENTS];
    memset(ag, 0, sizeof(ag));
    for (size_t a = 0; a < nag; a++) {
        const char *name = om_pantheon_agent_name(a);
        snprintf(ag[a].name, sizeof(ag[a].name), "%s", name);
        ag[a].base = base_weight(cfg, name);
        ag[a].current = ag[a].base * jnum(st.factors, name, 1.0);
    }
    om_learn_sample *smp = NULL;
    size_t n = 0;
    rc = load_samples(s, project_id, nag, &smp, &n);
    if (rc)
        goto done;
    om_learn_params prm = {(size_t)min_clips < 3 ? 3 : (size_t)min_clips,
                           om_config_double(cfg, "pantheon.learn_ridge"),
                           om_config_double(cfg, "pantheon.learn_gain"),
                           om_config_double(cfg, "pantheon.learn_max_step"),
                           om_config_double(cfg, "pantheon.learn_bound")};
    size_t learned = 0;
    rc = om_learn_weights(smp, n, ag, nag, &prm, &learned, why, sizeof(why));
    free(smp);
    if (rc || learned == 0)
        goto done;

    json_t *factors = json_deep_copy(st.factors);
    json_t *agents = json_object();
    om_sbuf moves = OM_SBUF_INIT;
    for (size_t a = 0; a < nag; a++) {
        const om_learn_agent *x = &ag[a];
        json_object_set_new(
            agents, x->name,
            json_pack("{s:b,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:s}", "learned", x->learned, "n",
                      (json_int_t)x->n, "base", round4(x->base), "before", round4(x->current),
                      "target", round4(x->target), "after", round4(x->next), "corr",
                      round4(x->corr), "beta", round4(x->beta), "why", x->why));
        if (x->learned && x->base > 0) {
            json_object_set_new(factors, x->name, json_real(round4(x->next / x->base)));
            sb_printf(&moves, "%s%s %.2f->%.2f", moves.len ? ", " : "", x->name, x->current,
                      x->next);
        }
    }
    json_t *chain = json_pack(
        "{s:s,s:s,s:I,s:I,s:I,s:o,s:{s:I,s:f,s:f,s:f,s:f}}", "stage", "learn", "what",
        "Pantheon agent weights from this project's published clips", "step",
        (json_int_t)(st.steps + 1), "clips", (json_int_t)clips, "readings",
        (json_int_t)readings, "agents", agents, "params", "min_clips", (json_int_t)prm.min_samples,
        "ridge", prm.ridge, "gain", prm.gain, "max_step", prm.max_step, "bound", prm.bound);
    char sid[OM_UUID_LEN] = "";
    int lost = 0;
    rc = write_step(s, project_id, &st, factors, chain, clips, readings, sid, &lost);
    if (rc == OM_OK && !lost) {
        om_info(SRC, "agent weights of project %s learned from %lld clips (%lld readings), step "
                     "%lld: %s",
                project_id, clips, readings, st.steps + 1, sb_str(&moves));
        rep = json_pack("{s:b,s:s,s:I,s:I,s:I,s:s,s:O}", "stepped", 1, "why", sb_str(&moves),
                        "clips", (json_int_t)clips, "readings", (json_int_t)readings, "steps",
                        (json_int_t)(st.steps + 1), "stardust_id", sid, "agents", agents);
    } else if (rc == OM_OK) {
        snprintf(why, sizeof(why), "another worker stepped at the same time");
    } else {
        rc = om_error_wrap(rc, "recording the learned agent weights of project %s", project_id);
    }
    sb_release(&moves);
    json_decref(chain);
    json_decref(factors);
done:
    json_decref(st.factors);
    if (rc == OM_OK && report_out)
        *report_out = rep ? rep : report_new(0, why);
    else
        json_decref(rep);
    return rc;
}

int om_weights_apply(om_store *s, const om_config *cfg, const char *project_id,
                     om_pantheon *p, json_t **info_out)
{
    *info_out = NULL;
    if (!project_id || !*project_id)
        return OM_OK;
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT weights, clips, readings, steps, stardust_id FROM "
                            "pantheon_weights WHERE project_id = ?",
                            OM_PARAMS(OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the project's learned agent weights");
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return OM_OK;
    }
    json_t *factors = om_json_from_db(om_rows_get(r, 0, 0));
    json_t *used = json_object();
    const char *agent;
    json_t *f;
    json_object_foreach(factors, agent, f) {
        double base = base_weight(cfg, agent);
        if (!json_is_number(f) || base <= 0 ||
            om_pantheon_set_weight(p, agent, base * json_number_value(f)) != OM_OK)
            continue; /* disabled since, or an agent that no longer exists */
        json_object_set_new(used, agent, json_real(round4(json_number_value(f))));
    }
    om_error_clear();
    *info_out = json_pack("{s:I,s:I,s:I,s:s?,s:o}", "clips",
                          (json_int_t)strtoll(om_rows_get(r, 0, 1), NULL, 10), "readings",
                          (json_int_t)strtoll(om_rows_get(r, 0, 2), NULL, 10), "steps",
                          (json_int_t)strtoll(om_rows_get(r, 0, 3), NULL, 10), "stardust_id",
                          om_rows_get(r, 0, 4), "factors", used);
    json_decref(factors);
    om_rows_free(r);
    return OM_OK;
}
