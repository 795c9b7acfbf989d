/*
 * eclipse.h: Eclipse, recovery orchestration. One sweep (a governance duty, every
 * governance.eclipse_interval_s) reads what the workers recorded and acts on it:
 *
 *   dead letters      the dead jobs (om_queue_list), clustered by job type and their last
 *                     error with ids and numbers normalised out (om_incident_normalise):
 *                     one `dead_letters` incident per cluster (entity dead_letter_cluster,
 *                     "TYPE:SIGNATURE"), counting only jobs that died after the cluster's
 *                     previous incident was resolved, so resolving one means "seen".
 *   circuit breakers  per creator (circuit_breakers rows): the outcomes of its jobs (types in
 *                     eclipse.breaker_types, the workers' "job done"/"job failed" events with
 *                     creator_id) in order: eclipse.breaker_failures consecutive failures
 *                     open the breaker (incident `creator_quarantined`); an open breaker makes
 *                     the re-scrape skip the creator (om_breaker_admit, which bumps the
 *                     incident) until eclipse.breaker_cooldown_s have passed, then lets ONE
 *                     scrape through (half_open); its success closes the breaker (incident
 *                     resolved by "eclipse"), its failure opens it again.
 *   job type pauses   a type whose jobs failed at eclipse.pause_failure_rate or more over the
 *                     last eclipse.pause_window_s (at least eclipse.pause_min_failures
 *                     failures, counted since the type last resumed) is paused in the queue
 *                     (om_queue_pause; incident `job_type_paused`); after
 *                     eclipse.pause_cooldown_s the queue hands out one probe job; a sweep
 *                     that finds the probe done resumes the type and resolves the incident,
 *                     one that finds it failed schedules the next probe. Resolving the
 *                     incident by hand resumes the type too. governance and paradox are
 *                     never paused.
 *   error logs        ERROR/FATAL `logs` rows that are not job outcomes (those are the dead
 *                     letters') become `log_error` incidents, one per source and normalised
 *                     message (count = lines), at most eclipse.log_incidents_max new ones per
 *                     sweep (the rest are counted in the report).
 *
 * The sweep reads the `logs` rows written since the previous sweep (its cursor, kept in the
 * metadata of the sweep's own `logs` row, source "eclipse"), up to one second ago (events
 * are flushed a moment after they happen).
 *
 * Ownership: *out JSON is the caller's.
 */
#ifndef OMNIVA_OVERSIGHT_ECLIPSE_H
#define OMNIVA_OVERSIGHT_ECLIPSE_H

#include <jansson.h>

#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

/* One sweep (see above). *report_out: {"cursor", "events", "dead_letter_clusters",
 * "breakers_opened", "breakers_closed", "paused": [types], "resumed": [types],
 * "probes_failed": [types], "log_incidents", "log_lines_dropped", "incidents_new"}. */
int om_eclipse_sweep(om_store *s, om_queue *q, const om_config *cfg, json_t **report_out);

/* The re-scrape asks before scraping an entity (entity_type "creators"): *admit_out 1 when
 * its breaker is closed (or absent), or open for longer than the cool-down (it becomes
 * half_open: this scrape is the probe), or half_open with its probe lost (no outcome within
 * a cool-down); 0 otherwise, and then the `creator_quarantined` incident is bumped (the
 * skip is recorded). Runs inside the caller's transaction when one is open. */
int om_breaker_admit(om_store *s, const om_config *cfg, const char *entity_type,
                     const char *entity_id, int *admit_out);

/* The breaker of an entity as {"state", "failures", "last_error", "opened_at",
 * "half_open_at", "last_event_at"}; a closed breaker without a row reads
 * {"state": "closed", "failures": 0}. */
int om_breaker_get(om_store *s, const char *entity_type, const char *entity_id, json_t **out);

#endif
