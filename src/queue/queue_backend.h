/*
 * queue_backend.h: what a queue backend implements; queue.c's wrappers are the callers.
 */
#ifndef OMNIVA_QUEUE_QUEUE_BACKEND_H
#define OMNIVA_QUEUE_QUEUE_BACKEND_H

#include "queue/queue.h"

typedef struct om_queue_backend {
    int version; /* OM_QUEUE_BACKEND_VERSION */
    const char *name;
    int (*open)(om_queue *q, const char *url);
    void (*close)(om_queue *q);
    /* specs are validated by queue.c; ids_out and created_out (n flags) may be NULL */
    int (*enqueue_batch)(om_queue *q, const om_job_spec *specs, size_t n,
                         char (*ids_out)[OM_UUID_LEN], int *created_out);
    int (*enqueue_tx)(om_queue *q, om_store *s, const om_job_spec *spec, char id_out[OM_UUID_LEN]);
    int (*relay)(om_queue *q, size_t *relayed_out);
    int (*claim)(om_queue *q, const char *const *types, size_t ntypes, const char *worker,
                 int64_t lease_ms, om_job *jobs_out, size_t max, size_t *n_out);
    int (*heartbeat)(om_queue *q, const om_job *job, int64_t lease_ms);
    int (*ack_batch)(om_queue *q, const om_job *jobs, size_t n, size_t *acked_out);
    int (*fail)(om_queue *q, const om_job *job, const char *error, int permanent, int *dead_out);
    int (*bury)(om_queue *q, const om_job *job, const char *error);
    int (*reap)(om_queue *q, size_t *reclaimed_out, size_t *buried_out);
    /* Makes the lease of `job` (a leased job with its current token) expired now, so the
     * next reap reclaims it. 0 when done, OM_ESTALE when the job is no longer leased with
     * that token (nothing changed). */
    int (*expire_lease)(om_queue *q, const om_job *job);
    int (*retry)(om_queue *q, const char *job_id);
    int (*purge)(om_queue *q, const char *state, size_t *purged_out);
    int (*get)(om_queue *q, const char *job_id, om_job *out);
    int (*list)(om_queue *q, const om_queue_filter *f, om_job_list *out);
    int (*stats)(om_queue *q, om_queue_stat **stats_out, size_t *n_out);
    /* optional (NULL: the wrapper sleeps): see om_queue_wait */
    int (*wait)(om_queue *q, const char *const *types, size_t ntypes, int64_t timeout_ms);
} om_queue_backend;

#define OM_QUEUE_BACKEND_VERSION 1

struct om_queue {
    const om_queue_backend *be;
    om_store *store; /* borrowed */
    char *url;
    int64_t backoff_base_ms, backoff_cap_ms;
    long pid; /* the process that opened it: a forked child's copy refuses work (queue.c) */
    void *impl;
};

/* Helpers shared by the backends (queue.c). */
/* Microseconds of a timestamp text (canonical fast path); 0 for NULL or unparsable text. */
int64_t om_queue_ts_us(const char *s);
/* INSERT of a job row into the store's `jobs` table through `s` (inside the caller's
 * transaction when one is open) in `state` ('ready' for the SQLite queue, 'outbox' for the
 * Redis queue's outbox). A unique-key or job-id conflict returns the existing job's id with
 * *created_out = 0. */
int om_queue_store_insert(om_store *s, const om_job_spec *spec, const char *state,
                          char id_out[OM_UUID_LEN], int *created_out);

extern const om_queue_backend om_queue_backend_sqlite;
extern const om_queue_backend om_queue_backend_redis;

#endif
