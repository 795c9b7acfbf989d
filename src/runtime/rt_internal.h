/*
 * rt_internal.h: what the runtime's own files share (not for stage code, which uses
 * runtime.h): the per-process event state (log buffer, job_logs buffer, the job being run),
 * the event helpers and the worker settings read from config/env.
 *
 * Each worker process and each forked job process is single-threaded, so the state is one
 * process-global struct (rt_g). Events are buffered and written to `logs`/`job_logs` by
 * rt_flush(), never inside a stage's transaction (a rolled-back stage keeps its log lines).
 */
#ifndef OMNIVA_RUNTIME_RT_INTERNAL_H
#define OMNIVA_RUNTIME_RT_INTERNAL_H

#include <jansson.h>

#include "runtime/runtime.h"

typedef struct rt_state {
    om_store *store;      /* connection event rows go to (borrowed; NULL: keep buffering) */
    json_t *logbuf;       /* pending `logs` events (array of event objects) */
    json_t *jlbuf;        /* pending `job_logs` rows (array of objects) */
    const om_job *job;    /* the job being worked on in this process (borrowed) or NULL */
    om_job_ctx *ctx;      /* the context handed to stage code (job process only) */
    json_t *chain;        /* state transitions recorded in this job process */
    int sink_on;          /* rt_sink_install() has run (and rt_sink_uninstall() not yet) */
} rt_state;

extern rt_state rt_g;

/* Installs the buffering log sink (idempotent) / removes it and frees the buffers. */
void rt_sink_install(void);
void rt_sink_uninstall(void);
/* Writes buffered events: rt_flush opens its own transaction (no-op when the store is in a
 * transaction or absent); rt_flush_in_txn writes inside the caller's. Failures keep the
 * buffer (capped) and return the error without logging. */
int rt_flush(om_store *s);
int rt_flush_in_txn(om_store *s);

/* One job event: JSON log line + `logs` row (buffered) + `job_logs` row when a job is set.
 * Sets the log context's state to `state` (may be NULL: unchanged). fields borrowed. */
void rt_event(int level, const char *source, const char *state, json_t *fields,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Moves the job to `state` (must be the next legal state in the stage's steps, or ERROR);
 * logs the transition with an optional message. Returns OM_EINVAL for an illegal transition
 * (a bug in runtime code is reported, not asserted, so the job fails cleanly). The step
 * engine (om_stage_run_inline) is its caller; stage code never calls it. */
int om_job_transition(om_job_ctx *ctx, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Payload keys that name entities ("video_id", "clip_id", ...) copied into `fields`. */
void rt_entity_fields(json_t *payload, json_t *fields);

/* Worker knob "worker.<key>" (a long in src/base/settings.c; env OMNIVA_WORKER_<KEY>). */
int64_t rt_setting(const om_config *cfg, const char *key);

#endif
