/*
 * governance.c: the `paradox` and `governance` job types (the maintenance worker's duties,
 * each a self-rescheduling unique-keyed delayed job) and the start-up scheduling `omniva
 * run` does. See governance.h.
 */
#include "base/common.h"
#include "oversight/eclipse.h"
#include "oversight/archive.h"
#include "oversight/governance.h"
#include "oversight/infinity.h"
#include "oversight/paradox.h"
#include "targets/accounts.h"
#include "runtime/runtime.h"

#define GOV_PRIORITY 1 /* below the pipeline: maintenance runs when nothing else waits */

/* ---- paradox ----------------------------------------------------------------------- */

static int paradox_check(om_job_ctx *ctx, void *js)
{
    (void)js;
    json_t *rep = NULL;
    int rc = om_paradox_run(ctx->store, ctx->queue, ctx->cfg, &rep);
    if (rc)
        return rc;
    size_t nv = json_array_size(json_object_get(rep, "violations"));
    const char *keys[] = {"role", "incidents_new", "incidents_bumped", "files_hashed"};
    for (size_t i = 0; i < OM_ARRAY_LEN(keys); i++)
        json_object_set(ctx->result, keys[i], json_object_get(rep, keys[i]));
    json_object_set_new(ctx->result, "violations", json_integer((json_int_t)nv));
    om_step_note(ctx, "%zu violation%s, %lld new incident%s (as %s)", nv, nv == 1 ? "" : "s",
                 (long long)json_integer_value(json_object_get(rep, "incidents_new")),
                 json_integer_value(json_object_get(rep, "incidents_new")) == 1 ? "" : "s",
                 json_string_value(json_object_get(rep, "role")));
    json_decref(rep);
    return OM_OK;
}

static const om_step paradox_steps[] = {
    {"INIT", NULL},
    {"CHECK", paradox_check},
    {NULL, NULL},
};

static const om_stage paradox_stage = {
    .type = "paradox",
    .source = "paradox",
    .steps = paradox_steps,
    .timeout_ms = 30 * 60 * 1000,
};

/* ---- governance duties --------------------------------------------------------------- */

typedef struct duty {
    const char *name, *setting;
    const char *dialect; /* NULL: both */
    int (*run)(om_job_ctx *ctx, int64_t bucket);
} duty;

static int emit_in_txn(om_job_ctx *ctx, const char *type, json_t *payload, const char *key,
                       int64_t delay_ms)
{
    int rc = om_store_begin(ctx->store);
    if (rc == OM_OK)
        rc = om_job_emit(ctx, type, payload, NULL, key, GOV_PRIORITY, delay_ms);
    else
        json_decref(payload);
    if (rc == OM_OK)
        rc = om_store_commit(ctx->store);
    if (rc)
        om_store_rollback(ctx->store);
    return rc;
}

static int duty_paradox(om_job_ctx *ctx, int64_t bucket)
{
    char *key = xasprintf("paradox:%lld", (long long)bucket);
    int rc = emit_in_txn(ctx, "paradox", json_object(), key, 0);
    if (rc == OM_OK)
        json_object_set_new(ctx->result, "paradox_job", json_string(key));
    free(key);
    return rc;
}

static int duty_eclipse(om_job_ctx *ctx, int64_t bucket)
{
    (void)bucket;
    json_t *rep = NULL;
    int rc = om_eclipse_sweep(ctx->store, ctx->queue, ctx->cfg, &rep);
    if (rc)
        return rc;
    json_object_set(ctx->result, "eclipse", rep);
    om_step_note(ctx, "eclipse: %lld events, %lld new incidents",
                 (long long)json_integer_value(json_object_get(rep, "events")),
                 (long long)json_integer_value(json_object_get(rep, "incidents_new")));
    json_decref(rep);
    return OM_OK;
}

static int duty_views(om_job_ctx *ctx, int64_t bucket)
{
    (void)bucket;
    om_rows *r = NULL;
    int rc = om_store_query(ctx->store,
                            "SELECT matviewname FROM pg_matviews WHERE schemaname = "
                            "current_schema() ORDER BY matviewname",
                            NULL, 0, &r);
    if (rc)
        return om_error_wrap(rc, "governance: listing the materialized views");
    json_t *done = json_array();
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(r); i++) {
        const char *v = om_rows_get(r, i, 0);
        char *sql = xasprintf("REFRESH MATERIALIZED VIEW CONCURRENTLY \"%s\"", v);
        const char *how = "concurrently";
        rc = om_store_exec(ctx->store, sql, NULL, 0, NULL);
        free(sql);
        if (rc) { /* no unique index, or never populated: the blocking refresh */
            om_warn("governance", "REFRESH MATERIALIZED VIEW CONCURRENTLY %s failed (%s); "
                                  "refreshing without CONCURRENTLY",
                    v, om_error_msg());
            sql = xasprintf("REFRESH MATERIALIZED VIEW \"%s\"", v);
            rc = om_store_exec(ctx->store, sql, NULL, 0, NULL);
            free(sql);
            how = "blocking";
        }
        if (rc == OM_OK)
            json_array_append_new(done, json_pack("{s:s, s:s}", "view", v, "refresh", how));
        else
            rc = om_error_wrap(rc, "governance: refreshing %s", v);
    }
    om_rows_free(r);
    if (rc == OM_OK) {
        om_step_note(ctx, "%zu materialized view%s refreshed", json_array_size(done),
                     json_array_size(done) == 1 ? "" : "s");
        json_object_set(ctx->result, "views", done);
    }
    json_decref(done);
    return rc;
}

static int duty_optimize(om_job_ctx *ctx, int64_t bucket)
{
    (void)bucket;
    int rc = om_store_exec(ctx->store, "PRAGMA optimize", NULL, 0, NULL);
    if (rc)
        return om_error_wrap(rc, "governance: PRAGMA optimize");
    char *mode = NULL;
    rc = om_store_query_value(ctx->store, "PRAGMA auto_vacuum", NULL, 0, &mode);
    if (rc)
        return om_error_wrap(rc, "governance: PRAGMA auto_vacuum");
    int incremental = mode && !strcmp(mode, "2");
    free(mode);
    if (incremental) {
        rc = om_store_exec(ctx->store, "PRAGMA incremental_vacuum", NULL, 0, NULL);
        if (rc)
            return om_error_wrap(rc, "governance: PRAGMA incremental_vacuum");
    }
    json_object_set_new(ctx->result, "optimized", json_true());
    json_object_set_new(ctx->result, "incremental_vacuum", json_boolean(incremental));
    om_step_note(ctx, "PRAGMA optimize%s", incremental ? ", incremental_vacuum"
                                                       : " (auto_vacuum is not incremental: "
                                                         "no incremental vacuum)");
    return OM_OK;
}

static int duty_infinity(om_job_ctx *ctx, int64_t bucket)
{
    (void)bucket;
    json_t *rep = NULL;
    int rc = om_infinity_tick(ctx->store, ctx->queue, ctx->cfg, &rep);
    if (rc)
        return rc;
    json_object_set(ctx->result, "infinity", rep);
    om_step_note(ctx, "infinity: score %.2f, %zu adjustments",
                 json_real_value(json_object_get(rep, "score")),
                 json_array_size(json_object_get(rep, "adjustments")));
    json_decref(rep);
    return OM_OK;
}

static int duty_retention(om_job_ctx *ctx, int64_t bucket)
{
    char *key = xasprintf("retention:%lld", (long long)bucket);
    int rc = emit_in_txn(ctx, "retention", json_object(), key, 0);
    if (rc == OM_OK)
        json_object_set_new(ctx->result, "retention_job", json_string(key));
    free(key);
    return rc;
}

static int duty_archive(om_job_ctx *ctx, int64_t bucket)
{
    (void)bucket;
    json_t *rep = NULL;
    int64_t days = om_config_long(ctx->cfg, "governance.archive_after_days");
    int rc = om_log_archive(ctx->store, ctx->cfg, om_now_us() - days * 86400LL * 1000000LL, NULL,
                            &rep);
    if (rc)
        return rc;
    json_object_set(ctx->result, "archive", rep);
    om_step_note(ctx, "%lld logs rows archived",
                 (long long)json_integer_value(json_object_get(rep, "rows")));
    json_decref(rep);
    return OM_OK;
}

static int duty_tokens(om_job_ctx *ctx, int64_t bucket)
{
    (void)bucket;
    json_t *rep = NULL;
    int failed = 0;
    int rc = om_account_check(ctx->store, ctx->cfg, NULL, &rep, &failed);
    if (rc)
        return om_error_wrap(rc, "governance: token health");
    json_object_set_new(ctx->result, "accounts", json_integer((json_int_t)json_array_size(rep)));
    json_object_set_new(ctx->result, "failed", json_integer(failed));
    om_step_note(ctx, "%zu accounts checked, %d failed", json_array_size(rep), failed);
    json_decref(rep);
    return OM_OK;
}

static int duty_discovery(om_job_ctx *ctx, int64_t bucket)
{
    om_rows *r = NULL;
    int rc = om_store_query(ctx->store,
                            "SELECT project_id FROM projects WHERE archived_at IS NULL ORDER BY "
                            "name",
                            NULL, 0, &r);
    if (rc)
        return om_error_wrap(rc, "governance: listing the projects");
    size_t n = om_rows_count(r);
    rc = om_store_begin(ctx->store);
    for (size_t i = 0; rc == OM_OK && i < n; i++) {
        const char *p = om_rows_get(r, i, 0);
        char *key = xasprintf("discovery:%s:%lld", p, (long long)bucket);
        rc = om_job_emit(ctx, "discovery", json_pack("{s:s}", "project_id", p), NULL, key,
                         GOV_PRIORITY, 0);
        free(key);
    }
    if (rc == OM_OK)
        rc = om_store_commit(ctx->store);
    else if (om_store_in_txn(ctx->store))
        om_store_rollback(ctx->store);
    om_rows_free(r);
    if (rc == OM_OK) {
        json_object_set_new(ctx->result, "discovery_jobs", json_integer((json_int_t)n));
        om_step_note(ctx, "%zu discovery jobs", n);
    }
    return rc;
}

static int duty_stats(om_job_ctx *ctx, int64_t bucket)
{
    char *key = xasprintf("stats:%lld", (long long)bucket);
    int rc = om_store_begin(ctx->store);
    if (!rc)
        rc = om_job_emit(ctx, "stats", json_object(), NULL, key, GOV_PRIORITY, 0);
    if (!rc)
        rc = om_store_commit(ctx->store);
    else if (om_store_in_txn(ctx->store))
        om_store_rollback(ctx->store);
    free(key);
    if (rc)
        return om_error_wrap(rc, "governance: enqueueing the stats job");
    om_step_note(ctx, "a stats job enqueued");
    return OM_OK;
}

static const duty duties[] = {
    {"paradox", "governance.paradox_interval_s", NULL, duty_paradox},
    {"eclipse", "governance.eclipse_interval_s", NULL, duty_eclipse},
    {"views", "governance.views_interval_s", "postgres", duty_views},
    {"optimize", "governance.optimize_interval_s", "sqlite", duty_optimize},
    {"infinity", "governance.infinity_interval_s", NULL, duty_infinity},
    {"retention", "governance.retention_interval_s", NULL, duty_retention},
    {"archive", "governance.archive_interval_s", NULL, duty_archive},
    {"tokens", "governance.tokens_interval_s", NULL, duty_tokens},
    {"discovery", "governance.discovery_interval_s", NULL, duty_discovery},
    {"stats", "governance.stats_interval_s", NULL, duty_stats},
};

const char *const om_governance_duties[] = {"paradox",  "eclipse",   "views",
                                            "optimize", "infinity",  "retention",
                                            "archive",  "tokens",    "discovery",
                                            "stats",    NULL};

static const duty *duty_find(const char *name)
{
    for (size_t i = 0; name && i < OM_ARRAY_LEN(duties); i++)
        if (!strcmp(duties[i].name, name))
            return &duties[i];
    return NULL;
}

static int64_t bucket_of(int64_t now_us, int64_t interval_s)
{
    return now_us / 1000000 / (interval_s > 0 ? interval_s : 1);
}

typedef struct gov {
    const duty *d;
    int64_t interval; /* seconds; 0: the duty is off (runs now, no successor) */
    int64_t bucket;
} gov;

static int gov_init(om_job_ctx *ctx, void *js)
{
    gov *g = js;
    const char *name = json_string_value(json_object_get(ctx->payload, "duty"));
    g->d = duty_find(name);
    if (!g->d)
        return om_error_set(OM_EINVAL, "governance: unknown duty '%s' (paradox, eclipse, views, "
                                       "optimize, infinity, retention, archive, tokens or "
                                       "discovery)",
                            name ? name : "(none)");
    if (g->d->dialect && strcmp(g->d->dialect, om_store_dialect(ctx->store)) != 0)
        return om_step_done(ctx, "duty %s is for %s stores", g->d->name, g->d->dialect);
    const json_t *iv = json_object_get(ctx->payload, "interval_s");
    g->interval = json_is_integer(iv) && json_integer_value(iv) > 0
                      ? json_integer_value(iv)
                      : om_config_long(ctx->cfg, g->d->setting);
    g->bucket = bucket_of(om_now_us(), g->interval);
    json_object_set_new(ctx->result, "duty", json_string(g->d->name));
    return OM_OK;
}

static int gov_run(om_job_ctx *ctx, void *js)
{
    gov *g = js;
    return g->d->run(ctx, g->bucket);
}

static int gov_next(om_job_ctx *ctx, void *js)
{
    gov *g = js;
    if (json_is_true(json_object_get(ctx->payload, "once")) || g->interval <= 0)
        return OM_OK;
    char *key = xasprintf("governance:%s:%lld", g->d->name, (long long)g->bucket + 1);
    int64_t next_us = (g->bucket + 1) * g->interval * 1000000;
    int64_t delay_ms = (next_us - om_now_us()) / 1000;
    json_t *payload = json_pack("{s:s}", "duty", g->d->name);
    const json_t *iv = json_object_get(ctx->payload, "interval_s");
    if (json_is_integer(iv))
        json_object_set(payload, "interval_s", (json_t *)iv);
    int rc = emit_in_txn(ctx, "governance", payload, key, delay_ms > 0 ? delay_ms : 0);
    if (rc == OM_OK)
        json_object_set_new(ctx->result, "next", json_string(key));
    free(key);
    return rc;
}

static const om_step governance_steps[] = {
    {"INIT", gov_init},
    {"RUN", gov_run},
    {"NEXT", gov_next},
    {NULL, NULL},
};

static const om_stage governance_stage = {
    .type = "governance",
    .source = "governance",
    .steps = governance_steps,
    .job_size = sizeof(gov),
    .timeout_ms = 10 * 60 * 1000,
};

void om_oversight_register_all(void)
{
    om_runtime_register(&paradox_stage);
    om_runtime_register(&governance_stage);
}

int om_governance_schedule(om_store *s, om_queue *q, const om_config *cfg, int once,
                           size_t *enqueued_out)
{
    OM_ASSERT(s && q && cfg);
    size_t made = 0;
    int64_t now = om_now_us();
    for (size_t i = 0; i < OM_ARRAY_LEN(duties); i++) {
        const duty *d = &duties[i];
        int64_t interval = om_config_long(cfg, d->setting);
        if (interval <= 0 || (d->dialect && strcmp(d->dialect, om_store_dialect(s)) != 0))
            continue;
        /* a --once run keys apart, so it never takes the key a periodic chain starts with */
        char *key = xasprintf("%s:%s:%lld", once ? "governance-once" : "governance", d->name,
                              (long long)bucket_of(now, interval));
        char *payload = xasprintf("{\"duty\": \"%s\"%s}", d->name, once ? ", \"once\": true" : "");
        om_job_spec spec = OM_JOB_SPEC_INIT;
        spec.type = "governance";
        spec.payload = payload;
        spec.unique_key = key;
        spec.priority = GOV_PRIORITY;
        char id[OM_UUID_LEN];
        int created = 0;
        int rc = om_queue_enqueue(q, &spec, id, &created);
        free(key);
        free(payload);
        if (rc)
            return om_error_wrap(rc, "scheduling the governance duty %s", d->name);
        made += created;
    }
    if (enqueued_out)
        *enqueued_out = made;
    return OM_OK;
}
