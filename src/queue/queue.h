/*
 * queue.h: the job queue. One interface, two backends, chosen by URL:
 *   sqlite            the `jobs` table inside the store's SQLite file (queue_sqlite.c)
 *   redis://host:port/db                                            (queue_redis.c)
 *
 * Semantics, identical on both (the contract suite in tests/queue checks them):
 *   - priority 0-9, 9 most urgent (default 5); FIFO within a priority, by the time a job
 *     became claimable (a delayed job or a retry queues at its not_before, not at its
 *     enqueue time);
 *   - delayed jobs (delay_ms / not_before) are not claimable before their time; they read
 *     back with state "delayed" until then, "ready" after;
 *   - enqueue with a unique_key (per type) is idempotent: the second enqueue returns the first
 *     job's id with *created_out = 0;
 *   - claim leases a job for lease_ms and gives it a fresh fencing token (monotonic per job:
 *     it grows at every claim and every reap; the Redis queue draws it from a per-type
 *     counter); heartbeat/ack/fail/bury succeed only with the current token of a leased
 *     job, else OM_ESTALE: the worker lost the lease and must stop without writing;
 *   - fail: retry after om_queue_backoff_ms(attempt) unless permanent or attempts are used
 *     up; then the job is dead (dead letter) with its payload and every error it had;
 *   - reap: leases that expired go back to ready (lease_expiries + 1, an error entry
 *     "lease expired (worker W)"); the third expiry sends the job to the dead letters.
 *     Nothing reaps by itself: the worker loop calls om_queue_reap periodically (on Redis it
 *     also trims done jobs older than 7 days or beyond 50000 per type);
 *   - retry (a dead job -> ready, attempts and lease expiries reset, error history kept) and
 *     purge (delete jobs in a state; frees their unique keys).
 * Clocks: the SQLite queue uses this process's clock, the Redis queue the Redis server's
 * (TIME inside the scripts), so all workers of a cluster share one clock.
 *
 * Jobs and the store: a stage that writes results and wants the next stage to run calls
 * om_queue_enqueue_tx() inside its store transaction. The SQLite queue inserts the job
 * straight into `jobs` in that transaction; the Redis queue writes an outbox row (state
 * 'outbox' in the store's `jobs` table) that om_queue_relay() moves to Redis idempotently
 * (the job keeps the outbox row's id; an id already in Redis is a no-op, so a row relayed
 * twice is one job). Nothing is lost between the store and Redis, provided someone relays:
 * the worker loop calls om_queue_relay after each job and periodically.
 *
 * Processes and transactions: a queue handle is one connection, for one thread at a time,
 * and does not cross fork() (a child's inherited handle refuses work: open a new one). On
 * the SQLite queue, do not claim/ack/fail while the same thread holds a store write
 * transaction on the same file (the queue's own connection would wait for that lock):
 * enqueue_tx is the call made inside a transaction.
 *
 * Ownership: om_queue_open's *out is the caller's (om_queue_free); the store passed to
 * open is borrowed and must outlive the queue. om_job values from claim/get/list are the
 * caller's: om_job_release() each (om_job_list_free for lists).
 */
#ifndef OMNIVA_QUEUE_QUEUE_H
#define OMNIVA_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/timeutil.h"
#include "store/store.h"

typedef struct om_queue om_queue;

#define OM_JOB_TYPE_MAX 64
#define OM_PRIORITY_DEFAULT 5
#define OM_MAX_ATTEMPTS_DEFAULT 3
#define OM_LEASE_EXPIRIES_MAX 3

typedef struct om_job_spec {
    const char *type;       /* required: [a-z0-9_.-]{1,63} */
    const char *payload;    /* JSON object text; NULL means "{}" */
    int priority;           /* 0-9; use OM_PRIORITY_DEFAULT */
    int64_t delay_ms;       /* 0: now */
    const char *unique_key; /* NULL: none */
    int max_attempts;       /* 0: OM_MAX_ATTEMPTS_DEFAULT */
    const char *job_id;     /* NULL: a new UUIDv4; else use this id (outbox relay) */
} om_job_spec;

#define OM_JOB_SPEC_INIT {NULL, NULL, OM_PRIORITY_DEFAULT, 0, NULL, 0, NULL}

typedef struct om_job {
    char id[OM_UUID_LEN];
    char type[OM_JOB_TYPE_MAX];
    char state[16];    /* "ready", "delayed", "leased", "done", "dead", "outbox" */
    char *payload;     /* JSON text */
    char *unique_key;  /* NULL when none */
    char *errors;      /* JSON array text: [{"attempt":1,"at":"...","error":"..."}, ...] */
    char *worker;      /* who holds/held the lease; NULL when none */
    int priority;
    int attempt;       /* deliveries so far (1 after the first claim) */
    int max_attempts;
    int lease_expiries;
    int64_t token;     /* current fencing token (valid while leased) */
    int64_t not_before_us, lease_until_us, created_us, updated_us;
} om_job;

void om_job_release(om_job *job); /* frees the strings, not the struct */

typedef struct om_job_list {
    om_job *jobs;
    size_t n;
} om_job_list;
void om_job_list_free(om_job_list *l); /* releases each job and the array */

typedef struct om_queue_filter {
    const char *state; /* NULL: any */
    const char *type;  /* NULL: any */
    size_t limit;      /* 0: 100 */
} om_queue_filter;

typedef struct om_queue_stat {
    char type[OM_JOB_TYPE_MAX];
    int64_t ready, delayed, leased, done, dead;
} om_queue_stat;

/* Opens the queue named by url on top of `store` (borrowed). "sqlite" requires a SQLite
 * store (OM_EINVAL otherwise); redis:// connects (OM_EUNAVAIL when unreachable). */
int om_queue_open(om_queue **out, const char *url, om_store *store);
void om_queue_free(om_queue *q);
const char *om_queue_backend_name(const om_queue *q);

/* Backoff policy used by fail(): min(cap, base*2^(attempt-1)) with +/-20% jitter. */
void om_queue_set_backoff(om_queue *q, int64_t base_ms, int64_t cap_ms);
int64_t om_queue_backoff_ms(int64_t base_ms, int64_t cap_ms, int attempt);

int om_queue_enqueue(om_queue *q, const om_job_spec *spec, char id_out[OM_UUID_LEN],
                     int *created_out);
/* n specs in one round trip / transaction. ids_out may be NULL. */
int om_queue_enqueue_batch(om_queue *q, const om_job_spec *specs, size_t n,
                           char (*ids_out)[OM_UUID_LEN]);
/* Enqueue inside the caller's open store transaction (see above). */
int om_queue_enqueue_tx(om_queue *q, om_store *s, const om_job_spec *spec,
                        char id_out[OM_UUID_LEN]);
/* Moves outbox rows to the queue (Redis), 100 rows per round trip, until the outbox is
 * empty; *relayed_out counts rows moved. A no-op returning 0 for SQLite. Not inside a store
 * transaction of the caller's own. */
int om_queue_relay(om_queue *q, size_t *relayed_out);

/* Claims up to `max` jobs of the given types (in that order of preference after priority).
 * *n_out may be 0 (nothing claimable): that is OM_OK. jobs_out must hold `max` entries. */
int om_queue_claim(om_queue *q, const char *const *types, size_t ntypes, const char *worker,
                   int64_t lease_ms, om_job *jobs_out, size_t max, size_t *n_out);
/* Blocks until a job of one of `types` may have become claimable, or timeout_ms passes,
 * whichever comes first (then claim: a wake-up is a hint, a claim may still find nothing).
 * No wake-up is lost between a claim that found nothing and the next wait. Redis: BLPOP on
 * the types' wake lists (enqueue, relay, reap and retry push a token); SQLite: inotify on
 * the database's directory (any commit to the file or its WAL wakes, cross-process);
 * backends without a way to wait sleep. A signal may end the wait early. OM_OK, or a
 * connection error (OM_EUNAVAIL) after which the caller reconnects. */
int om_queue_wait(om_queue *q, const char *const *types, size_t ntypes, int64_t timeout_ms);
int om_queue_heartbeat(om_queue *q, const om_job *job, int64_t lease_ms);
int om_queue_ack(om_queue *q, const om_job *job);
/* n jobs acked in one round trip; each must hold its current token. *acked_out counts.
 * The jobs still leased are acked even when some are not: then OM_ESTALE (or OM_ENOTFOUND)
 * names the first one refused. */
int om_queue_ack_batch(om_queue *q, const om_job *jobs, size_t n, size_t *acked_out);
/* Records `error` in the job's history; *dead_out (may be NULL) = 1 when it went to the dead
 * letters, 0 when a retry was scheduled. */
int om_queue_fail(om_queue *q, const om_job *job, const char *error, int permanent,
                  int *dead_out);
/* Sends a job that was never claimed (or whose lease we hold) straight to the dead letters
 * (unknown type, malformed payload). token 0 means "not leased". */
int om_queue_bury(om_queue *q, const om_job *job, const char *error);

int om_queue_reap(om_queue *q, size_t *reclaimed_out, size_t *buried_out);
/* Says whether process `pid` (on this host) still runs; ud is the caller's. */
typedef int (*om_queue_alive_fn)(long pid, void *ud);
/* Reclaims the leases held by dead workers of THIS host without waiting for them to
 * expire: a worker is named "HOST:PID" (runtime/worker.c); every leased job whose worker is
 * `host`:PID with is_alive(PID) false (NULL: kill(PID, 0) fails with ESRCH) has its lease
 * expired now (fenced by its token: a job claimed again meanwhile is left alone), then the
 * queue is reaped: the job goes back to ready with lease_expiries + 1 and an error entry
 * "lease expired (worker HOST:PID)", as if the lease had run out. Workers of other hosts
 * and live processes are never touched. *reclaimed_out (may be NULL) counts the leases
 * expired. For start-up, after a crash or kill -9 of a whole process tree. */
int om_queue_reclaim_dead(om_queue *q, const char *host, om_queue_alive_fn is_alive, void *ud,
                          size_t *reclaimed_out);
int om_queue_retry(om_queue *q, const char *job_id); /* dead -> ready, attempts reset */
int om_queue_purge(om_queue *q, const char *state, size_t *purged_out);
int om_queue_get(om_queue *q, const char *job_id, om_job *out); /* OM_ENOTFOUND */
/* Jobs matching the filter. Order: SQLite by creation; Redis by type, then state (ready in
 * claim order, delayed by due time, leased by deadline, dead/done by finish time). On the
 * Redis queue, state "outbox" lists the store's outbox rows. */
int om_queue_list(om_queue *q, const om_queue_filter *f, om_job_list *out);
/* Counts per type; *stats_out is the caller's to free(). */
int om_queue_stats(om_queue *q, om_queue_stat **stats_out, size_t *n_out);

/* Validates a job type name; OM_EINVAL with the reason. */
int om_queue_type_valid(const char *type);

/* Pausing a job type (Eclipse, src/oversight). A paused type is not claimed, except ONE
 * probe job once its probe time has passed: the claim that takes it records its id
 * (probe_job_id), so the caller can see whether the probe succeeded, then resume the type
 * or schedule the next probe. The pauses are rows of the store's `job_type_pauses` table
 * (migration 7), shared by every worker of a deployment whatever the queue backend;
 * om_queue_claim reads them before claiming (one small query per claim).
 * Pausing a paused type updates its reason and probe time (the probe in flight, if any,
 * stays recorded). om_queue_resume: OM_ENOTFOUND when the type is not paused. */
typedef struct om_queue_pause_info {
    char type[OM_JOB_TYPE_MAX];
    char *reason;
    char probe_job_id[OM_UUID_LEN]; /* "" when no probe is out ("claiming" while one is taken) */
    int probes;                     /* probe jobs claimed so far */
    int64_t paused_us, probe_at_us, updated_us;
} om_queue_pause_info;
int om_queue_pause(om_queue *q, const char *type, const char *reason, int64_t probe_after_ms);
int om_queue_resume(om_queue *q, const char *type);
/* The next probe of a paused type after probe_after_ms (forgets the probe in flight). */
int om_queue_pause_reprobe(om_queue *q, const char *type, int64_t probe_after_ms);
/* Every paused type; *out is the caller's (om_queue_pauses_free). */
int om_queue_pauses(om_queue *q, om_queue_pause_info **out, size_t *n_out);
void om_queue_pauses_free(om_queue_pause_info *p, size_t n);

/* Limits of a job type (Infinity, src/oversight/infinity.c): rows of the store's
 * `job_type_limits` table (migration 10), shared by every worker of a deployment whatever
 * the queue backend, read by om_queue_claim before it claims (one small query per claim):
 *   max_concurrency  -1 unlimited; 0 stopped (nothing of the type is claimed); N > 0: a
 *                    claim skips the type while N of its jobs are leased (counted through
 *                    om_queue_stats, so across nodes; two claims racing may both pass: a
 *                    soft limit);
 *   rate_per_s       0 unlimited; > 0 a token bucket of `burst` tokens refilled at that
 *                    rate, one token taken (an atomic UPDATE of the row) per job claimed,
 *                    given back when the claim found nothing of the type. While a rate
 *                    applies to a type, a claim returns at most one job.
 * om_queue_limit_set replaces the type's limits (the bucket starts full); clear removes
 * them (*cleared_out 1 when there were some; may be NULL). */
typedef struct om_queue_limit {
    char type[OM_JOB_TYPE_MAX];
    int64_t max_concurrency;
    double rate_per_s, burst;
    char *reason, *set_by;
    int64_t updated_us;
} om_queue_limit;
int om_queue_limit_set(om_queue *q, const char *type, int64_t max_concurrency,
                       double rate_per_s, double burst, const char *reason, const char *set_by);
int om_queue_limit_clear(om_queue *q, const char *type, int *cleared_out);
/* Every limited type; *out is the caller's (om_queue_limits_free). */
int om_queue_limits(om_queue *q, om_queue_limit **out, size_t *n_out);
void om_queue_limits_free(om_queue_limit *l, size_t n);

#endif
