/*
 * rescrape.c: the periodic re-scrape, as a job. A `rescrape` job enqueues one `scrape` job
 * per (project, creator) link, keyed by the time bucket (floor(now / interval)), and then
 * its own successor delayed to the next bucket. Unique keys make it idempotent: two runs in
 * the same bucket scrape once; a crashed run is picked up by the next.
 * Steps: INIT (the interval: payload interval_s, else [scraper] interval_s) -> ENQUEUE.
 */
#include "base/common.h"
#include "oversight/eclipse.h"
#include "runtime/runtime.h"
#include "stages/stages.h"

extern const om_stage om_stage_rescrape; /* registered by stages/registry.c */

int64_t om_rescrape_bucket(int64_t now_us, int64_t interval_s)
{
    return now_us / 1000000 / (interval_s > 0 ? interval_s : 900);
}

typedef struct rescrape {
    int64_t interval; /* seconds */
} rescrape;

/* INIT: the interval (payload interval_s, else [scraper] interval_s, default 900). */
static int rescrape_init(om_job_ctx *ctx, void *js)
{
    rescrape *r = js;
    const json_t *iv = json_object_get(ctx->payload, "interval_s");
    int64_t interval = json_is_integer(iv) ? json_integer_value(iv) : 0;
    if (interval <= 0)
        interval = om_config_long(ctx->cfg, "scraper.interval_s");
    if (interval < 10)
        return om_error_set(OM_EINVAL, "rescrape: interval_s must be at least 10 (got %lld)",
                            (long long)interval);
    r->interval = interval;
    return OM_OK;
}

/* ENQUEUE: one scrape job per (project, creator) link and the successor, one transaction. */
static int rescrape_enqueue(om_job_ctx *ctx, void *js)
{
    rescrape *r = js;
    int64_t interval = r->interval;
    int64_t bucket = om_rescrape_bucket(om_now_us(), interval);
    om_step_note(ctx, "bucket %lld", (long long)bucket);
    om_rows *links = NULL;
    int rc = om_store_query(ctx->store,
                            "SELECT project_id, creator_id FROM project_creators "
                            "ORDER BY project_id, creator_id",
                            NULL, 0, &links);
    if (rc)
        return rc;
    rc = om_store_begin(ctx->store);
    size_t quarantined = 0;
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(links); i++) {
        const char *p = om_rows_get(links, i, 0), *c = om_rows_get(links, i, 1);
        int admit = 1; /* Eclipse's circuit breaker: a failing creator is skipped */
        rc = om_breaker_admit(ctx->store, ctx->cfg, "creators", c, &admit);
        if (rc == OM_OK && !admit) {
            om_step_note(ctx, "creator %s skipped: its circuit breaker is open", c);
            quarantined++;
            continue;
        }
        char *key = xasprintf("scrape:%s:%s:%lld", p, c, (long long)bucket);
        rc = om_job_emit(ctx, "scrape",
                         json_pack("{s:s, s:s}", "project_id", p, "creator_id", c), NULL, key,
                         OM_PRIORITY_DEFAULT, 0);
        free(key);
    }
    if (rc == OM_OK && !json_is_true(json_object_get(ctx->payload, "once"))) {
        char *key = xasprintf("rescrape:%lld", (long long)bucket + 1);
        int64_t next_us = (bucket + 1) * interval * 1000000;
        int64_t delay_ms = (next_us - om_now_us()) / 1000;
        rc = om_job_emit(ctx, "rescrape", json_pack("{s:I}", "interval_s", (json_int_t)interval),
                         NULL, key, OM_PRIORITY_DEFAULT, delay_ms > 0 ? delay_ms : 0);
        free(key);
    }
    if (rc == OM_OK)
        rc = om_store_commit(ctx->store);
    if (rc)
        om_store_rollback(ctx->store);
    else
        json_object_set_new(ctx->result, "scrapes",
                            json_integer((json_int_t)(om_rows_count(links) - quarantined)));
    if (rc == OM_OK && quarantined)
        json_object_set_new(ctx->result, "quarantined", json_integer((json_int_t)quarantined));
    om_rows_free(links);
    return rc;
}

static const om_step rescrape_steps[] = {
    {"INIT", rescrape_init},
    {"ENQUEUE", rescrape_enqueue},
    {NULL, NULL},
};

const om_stage om_stage_rescrape = {
    .type = "rescrape",
    .source = "rescrape",
    .steps = rescrape_steps,
    .job_size = sizeof(rescrape),
    .timeout_ms = 60000,
};
