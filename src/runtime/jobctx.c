/*
 * jobctx.c: what stage code calls on its om_job_ctx: state transitions (checked against
 * the stage's linear state list), follow-up jobs (outbox/transactional enqueue with the
 * trace propagated) and ledger packets (parents and trace merged into the lineage).
 */
#include "base/common.h"
#include "ledger/stardust.h"
#include "runtime/rt_internal.h"

#include <stdarg.h>

static int state_index(const om_stage *st, const char *state)
{
    for (int i = 0; st && st->states && st->states[i]; i++)
        if (!strcmp(st->states[i], state))
            return i;
    return -1;
}

int om_job_transition(om_job_ctx *ctx, const char *state, const char *fmt, ...)
{
    OM_ASSERT(ctx && state);
    static char free_state[32]; /* for stages without a state list */
    const om_stage *st = ctx->stage;
    const char *from = ctx->state ? ctx->state : "";
    const char *to = NULL;
    if (!strcmp(state, "ERROR")) {
        to = "ERROR";
    } else if (st && st->states) {
        int cur = state_index(st, from);
        const char *next = cur >= 0 ? st->states[cur + 1] : NULL;
        if (!next || strcmp(next, state) != 0)
            return om_error_set(OM_EINVAL,
                                "illegal state transition %s -> %s for job type '%s' "
                                "(next legal state: %s or ERROR)",
                                from, state, st->type, next ? next : "none");
        to = st->states[cur + 1];
    } else {
        snprintf(free_state, sizeof(free_state), "%s", state);
        to = free_state;
    }

    char *msg = NULL;
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
    }
    ctx->state = to;
    json_t *fields = json_pack("{s:s, s:s}", "from", from, "to", to);
    rt_event(OM_LOG_INFO, st && st->source ? st->source : "worker", to, fields, "%s -> %s%s%s",
             from, to, msg ? ": " : "", msg ? msg : "");
    json_decref(fields);
    if (rt_g.ctx == ctx) {
        char ts[OM_TIME_LEN];
        if (!rt_g.chain)
            rt_g.chain = json_array();
        json_t *step = json_pack("{s:s, s:s}", "state", to, "at", om_time_iso(ts, om_now_us()));
        if (msg)
            json_object_set_new(step, "message", json_string(msg));
        json_array_append_new(rt_g.chain, step);
    }
    free(msg);
    /* Long stages: make the transition visible now unless a transaction is open. */
    if (ctx->store)
        rt_flush(ctx->store);
    return OM_OK;
}

int om_job_emit(om_job_ctx *ctx, const char *type, json_t *payload, json_t *parents,
                const char *unique_key, int priority, int64_t delay_ms)
{
    OM_ASSERT(ctx && type);
    if (!payload)
        payload = json_object();
    if (!json_is_object(payload)) {
        json_decref(payload);
        json_decref(parents);
        return om_error_set(OM_EINVAL, "follow-up '%s' payload must be a JSON object", type);
    }
    if (!json_object_get(payload, "trace_id") && ctx->trace_id && *ctx->trace_id)
        json_object_set_new(payload, "trace_id", json_string(ctx->trace_id));
    if (!json_object_get(payload, "project_id") && ctx->project_id && *ctx->project_id)
        json_object_set_new(payload, "project_id", json_string(ctx->project_id));
    if (parents)
        json_object_set_new(payload, "parents", parents);
    else if (!json_object_get(payload, "parents"))
        json_object_set_new(payload, "parents", json_array());
    char *text = json_dumps(payload, JSON_COMPACT | OM_JSON_REAL);
    json_decref(payload);
    if (!text)
        return om_error_set(OM_EINVAL, "follow-up '%s' payload cannot be serialised", type);

    om_job_spec spec = OM_JOB_SPEC_INIT;
    spec.type = type;
    spec.payload = text;
    spec.priority = priority;
    spec.delay_ms = delay_ms;
    spec.unique_key = unique_key;
    char id[OM_UUID_LEN] = "";
    int rc = om_queue_enqueue_tx(ctx->queue, ctx->store, &spec, id);
    free(text);
    if (rc == OM_EEXISTS)
        rc = OM_OK;
    if (rc)
        return om_error_wrap(rc, "enqueueing follow-up '%s' job", type);
    json_t *fields = json_pack("{s:s, s:s}", "emitted_type", type, "emitted_job_id", id);
    rt_event(OM_LOG_INFO, ctx->stage && ctx->stage->source ? ctx->stage->source : "worker",
             NULL, fields, "emitted %s job %s%s%s", type, id, unique_key ? " key " : "",
             unique_key ? unique_key : "");
    json_decref(fields);
    return OM_OK;
}

int om_job_record(om_job_ctx *ctx, const char *entity_type, const char *entity_id,
                  json_t *lineage_extra, json_t *decision_chain, char id_out[OM_UUID_LEN])
{
    OM_ASSERT(ctx);
    json_t *lineage = json_is_object(lineage_extra) ? json_deep_copy(lineage_extra) : json_object();
    json_t *parents = json_object_get(lineage, "parents");
    if (!json_is_array(parents)) {
        parents = json_array();
        json_object_set_new(lineage, "parents", parents);
    }
    size_t i;
    json_t *p;
    json_array_foreach(ctx->parents, i, p)
    {
        int seen = 0;
        size_t j;
        json_t *q;
        json_array_foreach(parents, j, q) if (json_equal(p, q)) seen = 1;
        if (!seen)
            json_array_append(parents, p);
    }
    if (!json_object_get(lineage, "trace_id") && ctx->trace_id)
        json_object_set_new(lineage, "trace_id", json_string(ctx->trace_id));
    if (ctx->project_id && *ctx->project_id && !json_object_get(lineage, "project_id"))
        json_object_set_new(lineage, "project_id", json_string(ctx->project_id));
    if (ctx->job) {
        if (!json_object_get(lineage, "job_id"))
            json_object_set_new(lineage, "job_id", json_string(ctx->job->id));
        if (!json_object_get(lineage, "job_type"))
            json_object_set_new(lineage, "job_type", json_string(ctx->job->type));
        if (!json_object_get(lineage, "attempt"))
            json_object_set_new(lineage, "attempt", json_integer(ctx->job->attempt));
    }
    char id[OM_UUID_LEN];
    int rc = om_stardust_append(ctx->store, entity_type, entity_id, lineage, decision_chain, id);
    json_decref(lineage);
    if (rc)
        return om_error_wrap(rc, "recording ledger packet for %s %s", entity_type,
                             entity_id ? entity_id : "");
    if (id_out)
        memcpy(id_out, id, OM_UUID_LEN);
    json_t *fields = json_pack("{s:s, s:s, s:s}", "stardust_id", id, "entity_type", entity_type,
                               "entity_id", entity_id);
    rt_event(OM_LOG_INFO, ctx->stage && ctx->stage->source ? ctx->stage->source : "worker",
             NULL, fields, "ledger packet %s for %s %s", id, entity_type, entity_id);
    json_decref(fields);
    return OM_OK;
}

int om_job_envelope_parse(const char *text, const char *job_id, om_job_envelope *out)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *p = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &jerr);
    if (!p)
        return om_error_set(OM_EINVAL, "malformed payload: %s", jerr.text);
    const char *bad = NULL;
    json_t *trace_v = json_object_get(p, "trace_id"), *project_v = json_object_get(p, "project_id");
    json_t *parents_v = json_object_get(p, "parents"), *v;
    size_t i;
    if (!json_is_object(p))
        bad = "not a JSON object";
    else if (trace_v && !json_is_string(trace_v))
        bad = "trace_id is not a string";
    else if (project_v && !json_is_string(project_v))
        bad = "project_id is not a string";
    else if (parents_v && !json_is_array(parents_v))
        bad = "parents is not an array";
    json_array_foreach(parents_v, i, v)
    {
        if (!bad && !json_is_string(v))
            bad = "parents holds a non-string";
    }
    if (bad) {
        json_decref(p);
        return om_error_set(OM_EINVAL, "malformed payload: %s", bad);
    }
    const char *trace = json_string_value(trace_v), *project = json_string_value(project_v);
    out->payload = p;
    out->trace_id = trace ? trace : job_id ? job_id : "";
    out->project_id = project ? project : "";
    out->parents = parents_v ? json_incref(parents_v) : json_array();
    return OM_OK;
}

void om_job_envelope_release(om_job_envelope *env)
{
    json_decref(env->parents);
    json_decref(env->payload);
    memset(env, 0, sizeof(*env));
}
