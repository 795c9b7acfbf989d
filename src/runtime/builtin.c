/*
 * builtin.c: the runtime's own job types.
 *
 *   selftest.write    inserts ONE artifacts row keyed by the job id (kind 'selftest',
 *                     entity_id = job id, path 'selftest', ON CONFLICT DO NOTHING): the
 *                     exactly-once-effect probe of the chaos tests. Payload knobs (all optional):
 *                       "sleep_ms": N         work for N ms first (honours cancellation)
 *                       "fail": "permanent"   fail with OM_EPERMANENT (dead letter at once)
 *                               "transient"   fail with a retryable error
 *                               "crash"       the job process kills itself (SIGKILL)
 *                               "bad_transition"  jump INIT -> DONE, which the runtime
 *                                             refuses (OM_EINVAL: dead letter at once)
 *                       "orphan": PATH        first start `sleep 300` in its own process
 *                                             group and write its pid to PATH (a leftover
 *                                             the worker must clean up when the job dies)
 *                       "fail_while_file": PATH   fail permanently while PATH exists (lets
 *                                             a test make a dead job succeed on retry)
 *                       "record": true        also write a ledger packet via om_job_record
 *                       "emit": "TYPE"        emit a follow-up job of TYPE (unique per job)
 *   maintenance.reap  reclaims expired leases now (workers also do it every few seconds).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "runtime/rt_internal.h"

#include <signal.h>
#include <unistd.h>

/* INIT: the payload's knobs (sleep, orphan, failures). */
static int selftest_init(om_job_ctx *ctx, void *js)
{
    (void)js;
    json_t *p = ctx->payload;
    json_int_t sleep_ms = json_integer_value(json_object_get(p, "sleep_ms"));
    for (int64_t end = om_mono_ms() + sleep_ms; sleep_ms > 0 && om_mono_ms() < end;) {
        if (ctx->cancel && *ctx->cancel)
            return om_error_set(OM_ETIMEOUT, "selftest: cancelled while sleeping");
        om_sleep_ms(10);
    }
    const char *orphan = json_string_value(json_object_get(p, "orphan"));
    if (orphan) {
        pid_t pid = fork();
        if (pid == 0) {
            setpgid(0, 0); /* like om_proc_run's children: out of the job's process group */
            execlp("sleep", "sleep", "300", (char *)NULL);
            _exit(127);
        }
        char *text = xasprintf("%ld", (long)pid);
        int rc = pid > 0 ? om_write_file_atomic(orphan, text, strlen(text)) : OM_EIO;
        free(text);
        if (rc)
            return om_error_wrap(rc, "selftest: orphan");
    }
    const char *fail = json_string_value(json_object_get(p, "fail"));
    if (fail && !strcmp(fail, "permanent"))
        return om_error_set(OM_EPERMANENT, "selftest: permanent failure requested");
    if (fail && !strcmp(fail, "transient"))
        return om_error_set(OM_ERROR, "selftest: transient failure requested");
    if (fail && !strcmp(fail, "crash"))
        raise(SIGKILL);
    if (fail && !strcmp(fail, "bad_transition")) {
        /* the runtime's own guard: a transition that skips a state is refused */
        int rc = om_job_transition(ctx, "DONE", "skipping WRITE");
        if (rc)
            return rc;
    }
    const char *flag = json_string_value(json_object_get(p, "fail_while_file"));
    if (flag && access(flag, F_OK) == 0)
        return om_error_set(OM_EPERMANENT, "selftest: %s exists", flag);
    return OM_OK;
}

/* WRITE: the one artifacts row (+ packet, + follow-up) in one transaction. */
static int selftest_write(om_job_ctx *ctx, void *js)
{
    (void)js;
    json_t *p = ctx->payload;
    int rc = om_store_begin(ctx->store);
    if (rc)
        return om_error_wrap(rc, "selftest: begin");
    char aid[OM_UUID_LEN];
    char *meta = xasprintf("{\"attempt\":%d,\"pid\":%ld}", ctx->job->attempt, (long)getpid());
    rc = om_store_exec(ctx->store,
                       "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                       "path, metadata, created_at) VALUES (?, 'selftest', 'jobs', ?, "
                       "'selftest', ?, now()) ON CONFLICT (kind, entity_id, path) DO NOTHING",
                       OM_PARAMS(OM_TEXT(om_uuid4(aid)), OM_TEXT(ctx->job->id), OM_JSON(meta)),
                       NULL);
    free(meta);
    char packet[OM_UUID_LEN] = "";
    if (rc == OM_OK && json_is_true(json_object_get(p, "record")))
        rc = om_job_record(ctx, "jobs", ctx->job->id, NULL, NULL, packet);
    const char *emit = json_string_value(json_object_get(p, "emit"));
    if (rc == OM_OK && emit) {
        char *key = xasprintf("selftest-child:%s", ctx->job->id);
        json_t *parents = json_array();
        if (packet[0])
            json_array_append_new(parents, json_string(packet));
        rc = om_job_emit(ctx, emit, json_object(), parents, key, OM_PRIORITY_DEFAULT, 0);
        free(key);
    }
    if (rc == OM_OK)
        rc = om_store_commit(ctx->store);
    if (rc) {
        om_store_rollback(ctx->store);
        return om_error_wrap(rc, "selftest.write");
    }
    json_object_set_new(ctx->result, "artifact", json_string("selftest"));
    return OM_OK;
}

static const om_step selftest_steps[] = {
    {"INIT", selftest_init},
    {"WRITE", selftest_write},
    {NULL, NULL},
};

static const om_stage selftest_stage = {
    .type = "selftest.write",
    .source = "selftest_worker",
    .steps = selftest_steps,
    .entity_type = "jobs",
};

/* selftest.render: a job type with a GPU namespace (gpu_setting editor.gpu) that does
 * nothing but finish, so the routing and the CPU fallback are testable without a GPU. */
static const om_step selftest_render_steps[] = {
    {"INIT", NULL},
    {NULL, NULL},
};

static const om_stage selftest_render_stage = {
    .type = "selftest.render",
    .source = "selftest_worker",
    .steps = selftest_render_steps,
    .gpu_setting = "editor.gpu",
};

static int reap_step(om_job_ctx *ctx, void *js)
{
    (void)js;
    size_t reclaimed = 0, buried = 0;
    int rc = om_queue_reap(ctx->queue, &reclaimed, &buried);
    if (rc)
        return om_error_wrap(rc, "maintenance.reap");
    json_object_set_new(ctx->result, "reclaimed", json_integer((json_int_t)reclaimed));
    json_object_set_new(ctx->result, "buried", json_integer((json_int_t)buried));
    om_step_note(ctx, "%zu reclaimed, %zu dead", reclaimed, buried);
    return OM_OK;
}

static const om_step reap_steps[] = {
    {"INIT", NULL},
    {"REAP", reap_step},
    {NULL, NULL},
};

static const om_stage reap_stage = {
    .type = "maintenance.reap",
    .source = "eclipse",
    .steps = reap_steps,
    .timeout_ms = 60000,
};

void om_runtime_register_builtin(void)
{
    om_runtime_register(&selftest_stage);
    om_runtime_register(&reap_stage);
    om_runtime_register(&selftest_render_stage);
}
