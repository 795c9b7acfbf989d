/*
 * infinity.h: Infinity, throughput control and graceful degradation. One tick (a governance
 * duty, every governance.infinity_interval_s) measures the load and sets the job type limits
 * the queue's claim honours on every worker (queue.h om_queue_limit_*: rows of
 * job_type_limits in the shared store, so the limits hold across nodes on PostgreSQL +
 * Redis). The enforcement sits in the queue (every claim of every node must see it); the
 * decisions sit here, above the runtime, beside Eclipse.
 *
 * Measures: ready/leased depth and the oldest ready job's age per type (om_queue_stats,
 * om_queue_list), failure rates per type over infinity.window_s (the workers' "job done" /
 * "job failed" logs rows), the 1-minute load per core (/proc/loadavg), available memory
 * (/proc/meminfo MemAvailable) and free space under media.dir (statvfs). The load score is
 * the largest of the pressures, each 1.0 at its threshold: edit depth / edit_depth_high,
 * load per core / load_high, mem_min_mb / available, media.min_free_mb / free, edit failure
 * rate / render_failure_rate.
 *
 * Rules (each type's wanted limits are the tightest the rules give):
 *   backpressure  ready edit jobs >= infinity.edit_depth_high: every type of
 *                 infinity.backpressure_types gets a token bucket of backpressure_rate claims
 *                 per second (burst backpressure_burst), lifted once the depth is at or below
 *                 edit_depth_low (hysteresis);
 *   disk          free space under media.dir below media.min_free_mb: the types of
 *                 infinity.download_types are stopped (max_concurrency 0) and a `disk_low`
 *                 incident is raised (entity media_dir); resumed, and the incident resolved,
 *                 once min_free_mb + infinity.disk_resume_margin_mb are free (fetch also
 *                 checks before each download: om_infinity_disk_low);
 *   pressure      load per core above infinity.load_high or available memory below
 *                 infinity.mem_min_mb: the types of infinity.heavy_types run at most
 *                 infinity.heavy_concurrency at a time;
 *   renderer      edit failures in the window at least render_min_failures and their rate at
 *                 least render_failure_rate: the edit type is paused (om_queue_pause, an
 *                 Eclipse pause: its probes and its `job_type_paused` incident; Eclipse
 *                 resumes it when a probe succeeds), so the queued edits keep their attempts.
 * Limits set by anyone else (set_by other than "infinity") are left alone. Every change is
 * one transaction: the limit row, a `logs` row (source "infinity", metadata the decision and
 * the measures) and a ledger packet (entity job_type_limits, a new id per adjustment, the type in the
 * lineage).
 *
 * Ownership: *report_out is the caller's.
 */
#ifndef OMNIVA_OVERSIGHT_INFINITY_H
#define OMNIVA_OVERSIGHT_INFINITY_H

#include <jansson.h>

#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

/* One tick. *report_out: {"score", "measures": {...}, "adjustments": [{"type", "action"
 * ("limit"|"clear"), "max_concurrency", "rate_per_s", "reason"}], "paused": [types]}. */
int om_infinity_tick(om_store *s, om_queue *q, const om_config *cfg, json_t **report_out);

/* Free space under path in MiB (statvfs, what an unprivileged writer may use). */
int om_infinity_free_mb(const char *path, double *mb_out);

/* 1 when the media dir has less than media.min_free_mb free (0 when the setting is 0 or the
 * space cannot be read); *free_mb_out (may be NULL) the free MiB. */
int om_infinity_disk_low(const om_config *cfg, double *free_mb_out);

#endif
