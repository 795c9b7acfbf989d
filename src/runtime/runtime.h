/*
 * runtime.h: the worker runtime: stage registry, the job context handed to stage code, the
 * step engine that walks a stage's states, and the worker loop.
 *
 * A stage is a job type with a linear state machine (the seeds' five: scraper, analyzer,
 * editor, uploader, scheduler; plus maintenance types). The runtime claims a job, parses its
 * envelope ONCE (om_job_ctx_init), runs the stage's steps in a forked child process (so it
 * can be killed on its timeout and a crash costs one job, not the worker), keeps the lease
 * alive with heartbeats from the parent, and acks or fails the job from the child's outcome.
 * Every start, transition, completion and failure is a JSON log line, a `logs` row and a
 * `job_logs` row; completions and failures also write a Stardust packet.
 *
 * Steps (nginx phases style): a stage lists its steps {state, fn}, the first in "INIT". The
 * runtime enters each step's state in order (logging "PREV -> STATE"), calls fn, and after
 * the last one moves to DONE. A step returns:
 *   OM_OK            go on to the next step;
 *   OM_STEP_DONE     the job is finished now (re-delivery after the commit, nothing to do):
 *                    return om_step_done(ctx, "reason"); the runtime logs ONE line
 *                    "DONE early at STATE: reason" and skips the remaining states (no fake
 *                    transition per skipped state);
 *   a negative code  the job fails: the runtime moves to ERROR with the error message
 *                    (om_error_set) and reports it to the queue.
 * A step that returns with its store transaction open is a bug: rolled back, job fails.
 * Cancellation (ctx->cancel) is polled by the steps that wait (downloads, renders); the
 * worker kills a job that does not stop. Stage code never names a state itself
 * (om_job_transition is the runtime's own).
 *
 * Per-job state: a stage that carries data between steps sets job_size; the runtime
 * zero-allocates that many bytes before the first step and passes them to every step as
 * `js`; `release` (may be NULL) frees what the steps stored there and is ALWAYS called once
 * after the last step run (success, early finish or error); the runtime frees the block.
 *
 * Stage code contract:
 *   - idempotent: unique keys on every output, so a re-delivered job duplicates nothing;
 *   - write results in ONE store transaction and enqueue follow-up jobs inside it with
 *     om_job_emit() (outbox semantics, see queue.h);
 *   - return OM_OK, OM_STEP_DONE, or an error code with om_error_set() message. OM_EINVAL
 *     and OM_EPERMANENT mean "retrying cannot help" (dead letter at once); others retry.
 *
 * Ownership: the job, store, queue, cfg and cancel in om_job_ctx are borrowed; payload,
 * parents and result are owned by the context (om_job_ctx_release frees them).
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
    json_t *payload;        /* the job's payload, a JSON object (owned) */
    om_store *store;        /* this process's connection (borrowed) */
    om_queue *queue;
    const om_config *cfg;
    const om_stage *stage;
    const char *trace_id;   /* payload.trace_id, or the job id when absent */
    const char *project_id; /* payload.project_id or "" */
    json_t *parents;        /* payload.parents: array of Stardust ids (may be empty; owned) */
    const char *state;      /* current state name */
    volatile int *cancel;   /* becomes 1 when the job must stop (lease lost, timeout, drain) */
    json_t *result;         /* stage may add summary fields; goes into the completion packet */
    char *done_reason;      /* runtime: the reason given to om_step_done() (owned) */
} om_job_ctx;

/* The job envelope: a job's payload text parsed as the runtime hands it to a stage (the one
 * parser: om_job_ctx_init calls it). trace_id defaults to job_id (also when empty),
 * project_id to "" (also when null), parents to an empty array (also when null);
 * trace_id/project_id are borrowed from payload (or job_id), payload and parents are owned
 * (om_job_envelope_release). OM_EINVAL "malformed payload: ..." for text that is not a JSON
 * object (duplicate keys refused), a trace_id/project_id that is not a string, or parents
 * that is not an array of UUIDs (Stardust ids). */
typedef struct om_job_envelope {
    json_t *payload;
    const char *trace_id;
    const char *project_id;
    json_t *parents;
} om_job_envelope;
int om_job_envelope_parse(const char *text, const char *job_id, om_job_envelope *out);
void om_job_envelope_release(om_job_envelope *env);

/* A step's "the job is finished" return code (see the top of this file). */
#define OM_STEP_DONE 1

typedef struct om_step {
    const char *state;                    /* the state this step runs in: "INIT", "FETCH"... */
    int (*fn)(om_job_ctx *ctx, void *js); /* js: the per-job state (NULL when job_size is 0);
                                             NULL fn: a state with nothing to do */
} om_step;

struct om_stage {
    const char *type;          /* job type, e.g. "scrape" */
    const char *source;        /* log source, e.g. "scraper_worker" */
    const om_step *steps;      /* {"INIT", fn}, ..., {NULL, NULL}; DONE/ERROR are implied */
    size_t job_size;           /* bytes of per-job state handed to every step (0: none) */
    void (*release)(om_job_ctx *ctx, void *js); /* frees js's contents; may be NULL */
    int64_t timeout_ms;        /* 0: runtime default (10 min) */
    int64_t lease_ms;          /* 0: runtime default (30 s), renewed by heartbeats */
    const char *entity_type;   /* for the completion packet, e.g. "videos" (may be NULL) */
    const char *gpu_setting;   /* a boolean setting ("editor.gpu"): when true, jobs of this
                                * type are enqueued as "TYPE.gpu" (om_runtime_route) and run
                                * by `omniva worker --gpu` nodes, or by CPU workers once no
                                * GPU worker has been alive for worker.gpu_fallback_s */
};

/* GPU routing. The queue namespace of GPU work is the type with OM_GPU_SUFFIX; the stage of
 * "edit.gpu" is the stage of "edit" (om_runtime_find strips the suffix). om_runtime_route
 * writes into buf the type a new job of `type` is enqueued as under cfg (the type itself, or
 * TYPE.gpu when its stage's gpu_setting is true) and returns buf. om_job_emit routes every
 * follow-up; code that enqueues a stage's job directly (the CLI, the API) should call it. */
#define OM_GPU_SUFFIX ".gpu"
const char *om_runtime_route(const om_config *cfg, const char *type, char *buf, size_t bufsize);

/* Parses the job's envelope once: job->payload must be a JSON object (no duplicate keys);
 * trace_id, when present, a string (default: the job id); project_id, when present, a string
 * (default ""); parents, when present, an array of UUID strings (default []). Everything
 * else in ctx is set from the arguments (borrowed; store/queue may be NULL until the process
 * that runs the job sets them), ctx->state = "INIT", ctx->result = {}. On a malformed
 * envelope returns OM_EINVAL with "malformed payload: ..." naming the field (the worker
 * dead-letters the job); ctx is then still safe to om_job_ctx_release(). */
int om_job_ctx_init(om_job_ctx *ctx, const om_job *job, const om_stage *stage, om_store *store,
                    om_queue *queue, const om_config *cfg, volatile int *cancel);
/* Frees what the context owns (payload, parents, result, done_reason). Idempotent. */
void om_job_ctx_release(om_job_ctx *ctx);

/* Runs the stage's steps in this process on an initialised context (store and queue set):
 * what the job process does, and what tests call. Events go to ctx->store's `logs` and
 * `job_logs` (flushed at the end). Returns OM_OK (ctx->state "DONE") or the failing step's
 * code with its message (ctx->state "ERROR"). Never leaves a store transaction open. */
int om_stage_run_inline(const om_stage *stage, om_job_ctx *ctx);

/* For a step: the job is finished early; `fmt` says why (logged once). Returns OM_STEP_DONE
 * for `return om_step_done(ctx, ...)`. */
int om_step_done(om_job_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For a step: one INFO event in the current state (log line, `logs` and `job_logs` rows),
 * also kept as the state's message in the job's decision chain. */
void om_step_note(om_job_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers a stage (static storage, not copied). Re-registering a type replaces it. */
void om_runtime_register(const om_stage *stage);
const om_stage *om_runtime_find(const char *type);
/* The pipeline stages register through om_stages_register_all() (stages/stages.h); the
 * runtime itself registers its maintenance types (om_runtime_register_builtin). */
void om_runtime_register_builtin(void);

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
    int gpu;                  /* a GPU render node (`omniva worker --gpu`): serves TYPE.gpu
                               * first for every served type with a gpu_setting, and says
                               * so in worker_nodes (migration 13) */
    const char *gpu_encoder;  /* what the start-up probe found ("h264_nvenc", "h264_vaapi") */
} om_worker_opts;

/* Runs workers until SIGTERM/SIGINT (drain) or, with once, until idle. */
int om_worker_run(const om_config *cfg, const om_worker_opts *opts);

/* Installs om_worker_run's SIGTERM/SIGINT handlers now, for a caller with work to do before
 * it (starting the dashboard): a signal caught in between makes the run drain at once
 * instead of killing the process. */
void om_worker_arm_signals(void);

#endif
