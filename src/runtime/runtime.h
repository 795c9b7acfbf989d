/*
 * runtime.h: the worker runtime: stage registry, the job context handed to stage code,
 * state-machine transitions, and the worker loop.
 *
 * A stage is a job type with a linear state machine (the seeds' five: scraper, analyzer,
 * editor, uploader, scheduler; plus maintenance types). The runtime claims a job, parses its
 * payload, runs the stage's `run` in a forked child process (so it can be killed on its
 * timeout and a crash costs one job, not the worker), keeps the lease alive with heartbeats
 * from the parent, and acks or fails the job from the child's outcome. Every start,
 * transition, completion and failure is a JSON log line and a `logs` row; completions and
 * failures also write a Stardust packet.
 *
 * Stage code contract:
 *   - idempotent: unique keys on every output, so a re-delivered job duplicates nothing;
 *   - write results in ONE store transaction and enqueue follow-up jobs inside it with
 *     om_job_emit() (outbox semantics, see queue.h);
 *   - return OM_OK, or an error code with om_error_set() message. OM_EINVAL and
 *     OM_EPERMANENT mean "retrying cannot help" (dead letter at once); other codes retry.
 *
 * Ownership: everything in om_job_ctx is borrowed for the duration of run().
 */
#ifndef OMNIVA_RUNTIME_RUNTIME_H
#define OMNIVA_RUNTIME_RUNTIME_H

#include <jansson.h>

#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

typedef struct om_stage om_stage;

typedef struct om_job_ctx {
    const om_job *job;
    json_t *payload;        /* parsed JSON object of job->payload */
    om_store *store;        /* this process's connection */
    om_queue *queue;
    const om_config *cfg;
    const om_stage *stage;
    const char *trace_id;   /* payload.trace_id, or the job id when absent */
    const char *project_id; /* payload.project_id or "" */
    json_t *parents;        /* payload.parents: array of Stardust ids (may be empty) */
    const char *state;      /* current state name */
    volatile int *cancel;   /* becomes 1 when the job must stop (lease lost, timeout, drain) */
    json_t *result;         /* stage may add summary fields; goes into the completion packet */
} om_job_ctx;

/* The job envelope: a job's payload text parsed as the runtime hands it to a stage
 * (trace_id, project_id and parents from the payload). trace_id defaults to job_id,
 * project_id to "", parents to an empty array; trace_id/project_id are borrowed from
 * payload (or job_id), payload and parents are owned (om_job_envelope_release).
 * OM_EINVAL "malformed payload: ..." for text that is not a JSON object (duplicate keys
 * refused), or a trace_id/project_id that is not a string, parents not an array of strings. */
typedef struct om_job_envelope {
    json_t *payload;
    const char *trace_id;
    const char *project_id;
    json_t *parents;
} om_job_envelope;
int om_job_envelope_parse(const char *text, const char *job_id, om_job_envelope *out);
void om_job_envelope_release(om_job_envelope *env);

struct om_stage {
    const char *type;          /* job type, e.g. "scrape" */
    const char *source;        /* log source, e.g. "scraper_worker" */
    const char *const *states; /* {"INIT", ..., "DONE", NULL}; "ERROR" is always allowed */
    int (*run)(om_job_ctx *ctx);
    int64_t timeout_ms;        /* 0: runtime default (10 min) */
    int64_t lease_ms;          /* 0: runtime default (30 s), renewed by heartbeats */
    const char *entity_type;   /* for the completion packet, e.g. "videos" (may be NULL) */
};

/* Registers a stage (static storage, not copied). Re-registering a type replaces it. */
void om_runtime_register(const om_stage *stage);
const om_stage *om_runtime_find(const char *type);
/* The pipeline stages register through om_stages_register_all() (stages/stages.h); the
 * runtime itself registers its maintenance types (om_runtime_register_builtin). */
void om_runtime_register_builtin(void);

/* Moves the job to `state` (must be the next legal state or ERROR); logs the transition
 * with an optional message. Returns OM_EINVAL for an illegal transition (a bug in stage
 * code is reported, not asserted, so the job fails cleanly). */
int om_job_transition(om_job_ctx *ctx, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Enqueues a follow-up job inside the caller's open store transaction. `payload` is
 * consumed; trace_id and project_id are added when missing, and `parents` (array of Stardust
 * ids, consumed, may be NULL) is stored as payload.parents. */
int om_job_emit(om_job_ctx *ctx, const char *type, json_t *payload, json_t *parents,
                const char *unique_key, int priority, int64_t delay_ms);

/* Ledger packet for this job's work, written in the caller's transaction; `lineage_extra`
 * and `decision_chain` are borrowed (may be NULL). id_out receives the packet id. */
int om_job_record(om_job_ctx *ctx, const char *entity_type, const char *entity_id,
                  json_t *lineage_extra, json_t *decision_chain, char id_out[OM_UUID_LEN]);

typedef struct om_worker_opts {
    const char *const *types; /* job types to serve; NULL-terminated */
    int concurrency;          /* worker processes; 0: 1 */
    int once;                 /* exit when no job is claimable (and none in flight) */
    int64_t idle_sleep_ms;    /* poll interval when idle; 0: 200 ms */
    const char *home;         /* workspace (for child processes) */
} om_worker_opts;

/* Runs workers until SIGTERM/SIGINT (drain) or, with once, until idle. */
int om_worker_run(const om_config *cfg, const om_worker_opts *opts);

#endif
