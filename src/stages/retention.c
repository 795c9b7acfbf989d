/*
 * retention.c: the `retention` job type, so the governance worker can schedule cleanup as a
 * (delayed, unique-keyed) job. The work is src/lifecycle/retention.c (om_retention_run);
 * payload {"dry_run": bool} (default false). Steps: INIT -> CLEAN. The job's result (in its
 * completion packet) counts what was deleted; each deletion has its own packet and logs row.
 * A file that could not be deleted fails the job after the others are done (retried: the
 * next attempt's sweep and plan pick up what is left).
 */
#include "base/common.h"
#include "lifecycle/lifecycle.h"
#include "runtime/runtime.h"

extern const om_stage om_stage_retention; /* registered by stages/registry.c */

static int retention_clean(om_job_ctx *ctx, void *js)
{
    (void)js;
    om_retention_opts o = {.dry_run = json_is_true(json_object_get(ctx->payload, "dry_run"))};
    json_t *rep = NULL;
    int rc = om_retention_run(ctx->store, ctx->cfg, &o, &rep);
    if (rep) {
        json_object_set(ctx->result, "deleted", json_object_get(rep, "deleted"));
        json_object_set(ctx->result, "bytes", json_object_get(rep, "bytes"));
        json_object_set_new(ctx->result, "planned",
                            json_integer((json_int_t)json_array_size(json_object_get(rep, "delete"))));
        json_object_set_new(ctx->result, "swept",
                            json_integer((json_int_t)json_array_size(json_object_get(rep, "swept"))));
        json_object_set_new(ctx->result, "dry_run", json_boolean(o.dry_run));
        om_step_note(ctx, "%s %lld files (%lld bytes), %zu kept past their time",
                     o.dry_run ? "would delete" : "deleted",
                     (long long)(o.dry_run ? (json_int_t)json_array_size(json_object_get(rep, "delete"))
                                           : json_integer_value(json_object_get(rep, "deleted"))),
                     (long long)json_integer_value(json_object_get(rep, "bytes")),
                     json_array_size(json_object_get(rep, "kept")));
    }
    json_decref(rep);
    return rc;
}

static const om_step retention_steps[] = {
    {"INIT", NULL},
    {"CLEAN", retention_clean},
    {NULL, NULL},
};

const om_stage om_stage_retention = {
    .type = "retention",
    .source = "retention",
    .steps = retention_steps,
    .job_size = 0,
    .release = NULL,
    .timeout_ms = 3600000,
    .lease_ms = 0,
    .entity_type = NULL,
};
