/*
 * jobctx.c: the job context and the step engine. om_job_ctx_init parses a job's envelope
 * (payload, trace_id, project_id, parents) once; om_stage_run_inline walks a stage's steps,
 * logging each transition, an early finish once, and a failing step as ERROR with its
 * message. Also what stage code calls on its context: follow-up jobs (outbox/transactional
 * enqueue with the trace propagated) and ledger packets (parents and trace merged into the
 * lineage).
 */
#include "base/common.h"
#include "ledger/stardust.h"
#include "runtime/rt_internal.h"

#include <stdarg.h>

/* ---- the envelope ------------------------------------------------------------------ */

int om_job_ctx_init(om_job_ctx *ctx, const om_job *job, const om_stage *stage, om_store *store,
                    om_queue *queue, const om_config *cfg, volatile int *cancel)
{
    OM_ASSERT(ctx && job);
    memset(ctx, 0, sizeof(*ctx));
    ctx->job = job;
    ctx->stage = stage;
    ctx->store = store;
    ctx->queue = queue;
    ctx->cfg = cfg;
    ctx->cancel = cancel;
    ctx->state = "INIT";
    ctx->trace_id = job->id;
    ctx->project_id = "";
    ctx->result = json_object();
    om_job_envelope env;
    int rc = om_job_envelope_parse(job->payload, job->id, &env);
    if (rc)
        return rc;
    ctx->payload = env.payload; /* the context owns payload and parents from here */
    ctx->parents = env.parents;
    ctx->trace_id = env.trace_id;
    ctx->project_id = env.project_id;
    return OM_OK;
}

void om_job_ctx_release(om_job_ctx *ctx)
{
    if (!ctx)
        return;
    json_decref(ctx->payload);
    json_decref(ctx->parents);
    json_decref(ctx->result);
    free(ctx->done_reason);
    ctx->payload = ctx->parents = ctx->result = NULL;
    ctx->done_reason = NULL;
}

/* ---- transitions ------------------------------------------------------------------- */

static int state_index(const om_stage *st, const char *state)
{
    for (int i = 0; st && st->steps && st->steps[i].state; i++)
        if (!strcmp(st->steps[i].state, state))
            return i;
    return -1;
}

static const char *stage_source(const om_job_ctx *ctx)
{
    return ctx->stage && ctx->stage->source ? ctx->stage->source : "worker";
}

/* Records the move to `to` (static storage) with message `msg` (may be NULL). */
static void enter_state(om_job_ctx *ctx, const char *to, int level, json_t *extra,
                        const char *line, const char *msg)
{
    const char *from = ctx->state ? ctx->state : "";
    ctx->state = to;
    json_t *fields = json_pack("{s:s, s:s}", "from", from, "to", to);
    if (extra)
        json_object_update(fields, extra);
    rt_event(level, stage_source(ctx), to, fields, "%s", line);
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
    /* Long stages: make the transition visible now unless a transaction is open. */
    if (ctx->store)
        rt_flush(ctx->store);
}

int om_job_transition(om_job_ctx *ctx, const char *state, const char *fmt, ...)
{
    OM_ASSERT(ctx && state);
    const om_stage *st = ctx->stage;
    const char *from = ctx->state ? ctx->state : "";
    const char *to = NULL;
    if (!strcmp(state, "ERROR")) {
        to = "ERROR";
    } else {
        int cur = state_index(st, from);
        const char *next = NULL;
        if (cur >= 0)
            next = st->steps[cur + 1].state ? st->steps[cur + 1].state : "DONE";
        if (!next || strcmp(next, state) != 0)
            return om_error_set(OM_EINVAL,
                                "illegal state transition %s -> %s for job type '%s' "
                                "(next legal state: %s or ERROR)",
                                from, state, st ? st->type : "?", next ? next : "none");
        to = st->steps[cur + 1].state ? st->steps[cur + 1].state : "DONE";
    }
    char *msg = NULL;
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
    }
    char *line = xasprintf("%s -> %s%s%s", from, to, msg ? ": " : "", msg ? msg : "");
    enter_state(ctx, to, strcmp(to, "ERROR") ? OM_LOG_INFO : OM_LOG_WARN, NULL, line, msg);
    free(line);
    free(msg);
    return OM_OK;
}

int om_step_done(om_job_ctx *ctx, const char *fmt, ...)
{
    OM_ASSERT(ctx && fmt);
    va_list ap;
    va_start(ap, fmt);
    char *why = xvasprintf(fmt, ap);
    va_end(ap);
    free(ctx->done_reason);
    ctx->done_reason = why;
    return OM_STEP_DONE;
}

void om_step_note(om_job_ctx *ctx, const char *fmt, ...)
{
    OM_ASSERT(ctx && fmt);
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    rt_event(OM_LOG_INFO, stage_source(ctx), ctx->state, NULL, "%s: %s", ctx->state, msg);
    if (rt_g.ctx == ctx && rt_g.chain) {
        json_t *last = json_array_get(rt_g.chain, json_array_size(rt_g.chain) - 1);
        if (last && !json_object_get(last, "message"))
            json_object_set_new(last, "message", json_string(msg));
    }
    free(msg);
}

/* ---- the step engine --------------------------------------------------------------- */

int om_stage_run_inline(const om_stage *st, om_job_ctx *ctx)
{
    OM_ASSERT(st && st->steps && st->steps[0].state && ctx && ctx->job && ctx->store);
    ctx->stage = st;
    ctx->state = st->steps[0].state;
    if (!ctx->result)
        ctx->result = json_object();
    /* events of this job go to job_logs (and, through the sink, to logs) */
    int own_sink = !rt_g.sink_on;
    if (own_sink)
        rt_sink_install();
    const om_job *saved_job = rt_g.job;
    om_job_ctx *saved_ctx = rt_g.ctx;
    om_store *saved_store = rt_g.store;
    rt_g.job = ctx->job;
    rt_g.ctx = ctx;
    rt_g.store = ctx->store;
    if (!rt_g.chain)
        rt_g.chain = json_array();
    om_log_context *lc = om_log_ctx();
    om_log_context saved_lc = *lc;
    snprintf(lc->job_id, sizeof(lc->job_id), "%s", ctx->job->id);
    snprintf(lc->trace_id, sizeof(lc->trace_id), "%s", ctx->trace_id ? ctx->trace_id : "");
    snprintf(lc->project_id, sizeof(lc->project_id), "%s", ctx->project_id ? ctx->project_id : "");
    snprintf(lc->state, sizeof(lc->state), "%s", ctx->state);

    void *js = st->job_size ? xcalloc(1, st->job_size) : NULL;
    int rc = OM_OK, early = 0;
    const char *at = ctx->state;
    for (size_t i = 0; st->steps[i].state; i++) {
        if (i > 0) {
            rc = om_job_transition(ctx, st->steps[i].state, NULL);
            if (rc)
                break;
        }
        at = st->steps[i].state;
        om_error_clear();
        rc = st->steps[i].fn ? st->steps[i].fn(ctx, js) : OM_OK;
        if (om_store_in_txn(ctx->store)) {
            om_store_rollback(ctx->store);
            if (rc == OM_OK || rc == OM_STEP_DONE)
                rc = om_error_set(OM_ERROR,
                                  "step %s returned with its store transaction still open "
                                  "(rolled back)",
                                  at);
        }
        if (rc == OM_STEP_DONE) {
            early = 1;
            rc = OM_OK;
            break;
        }
        if (rc > 0) /* not a code a step may return: a bug, reported */
            rc = om_error_set(OM_ERROR, "step %s returned %d", at, rc);
        if (rc)
            break;
    }
    if (rc == OM_OK && early) {
        const char *why = ctx->done_reason ? ctx->done_reason : "nothing left to do";
        char *line = xasprintf("DONE early at %s: %s", at, why);
        json_t *extra = json_pack("{s:b, s:s}", "early", 1, "reason", why);
        enter_state(ctx, "DONE", OM_LOG_INFO, extra, line, line);
        json_decref(extra);
        free(line);
    } else if (rc == OM_OK) {
        rc = om_job_transition(ctx, "DONE", NULL);
    }
    char *msg = NULL;
    if (rc) {
        const char *m = om_error_msg();
        msg = xstrdup(m[0] ? m : om_error_name(rc));
        om_job_transition(ctx, "ERROR", "%s", msg);
    }
    if (st->release)
        st->release(ctx, js);
    free(js);
    if (rc) /* the step's message, whatever the release hook did to the error slot */
        om_error_set(rc, "%s", msg);
    free(msg);
    rt_flush(ctx->store);
    *lc = saved_lc;
    rt_g.job = saved_job;
    rt_g.ctx = saved_ctx;
    rt_g.store = saved_store;
    if (own_sink)
        rt_sink_uninstall();
    return rc;
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

    char routed[OM_JOB_TYPE_MAX + 8];
    type = om_runtime_route(ctx->cfg, type, routed, sizeof(routed));
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
    size_t i, bad_parent = 0;
    if (!json_is_object(p))
        bad = "not a JSON object";
    else if (trace_v && !json_is_string(trace_v))
        bad = "\"trace_id\" must be a string";
    else if (project_v && !json_is_null(project_v) && !json_is_string(project_v))
        bad = "\"project_id\" must be a string";
    else if (parents_v && !json_is_null(parents_v) && !json_is_array(parents_v))
        bad = "\"parents\" must be an array of UUIDs";
    json_array_foreach(parents_v, i, v)
    {
        if (!bad && (!json_is_string(v) || !om_uuid_valid(json_string_value(v)))) {
            bad = "";
            bad_parent = i;
        }
    }
    if (bad) {
        json_decref(p);
        if (!*bad)
            return om_error_set(OM_EINVAL,
                                "malformed payload: \"parents\"[%zu] is not a UUID (parents "
                                "must be an array of Stardust ids)",
                                bad_parent);
        return om_error_set(OM_EINVAL, "malformed payload: %s", bad);
    }
    const char *trace = json_string_value(trace_v), *project = json_string_value(project_v);
    out->payload = p;
    out->trace_id = trace && *trace ? trace : job_id ? job_id : "";
    out->project_id = project ? project : "";
    out->parents = json_is_array(parents_v) ? json_incref(parents_v) : json_array();
    return OM_OK;
}

void om_job_envelope_release(om_job_envelope *env)
{
    json_decref(env->parents);
    json_decref(env->payload);
    memset(env, 0, sizeof(*env));
}
