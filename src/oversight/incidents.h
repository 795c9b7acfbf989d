/*
 * incidents.h: the `incidents` table, what Paradox (consistency) and Eclipse (recovery)
 * write and an operator reads and resolves (`omniva incidents list|resolve`).
 *
 * One open incident per (kind, entity_type, entity_id): raising a violation that already
 * has an open incident adds to its count and moves last_seen (and replaces its message,
 * severity and evidence with the newest); one raised again after it was resolved opens a
 * new incident. Columns (migration 7): incident_id, kind, severity ("info", "warning",
 * "error", "critical"), entity_type, entity_id, message, evidence (JSON), first_seen,
 * last_seen, count, resolved_at, resolved_by (created_at = first_seen; details unused).
 *
 * Ownership: json_t arguments are borrowed; *out JSON and returned strings are the
 * caller's. Errors: the store's, wrapped with what was being done.
 */
#ifndef OMNIVA_OVERSIGHT_INCIDENTS_H
#define OMNIVA_OVERSIGHT_INCIDENTS_H

#include <jansson.h>

#include "base/timeutil.h"
#include "store/store.h"

typedef struct om_incident {
    const char *kind;        /* "clip_time_invalid", "dead_letters", ... */
    const char *severity;    /* "info" | "warning" | "error" | "critical" */
    const char *entity_type; /* a table name or a pseudo-entity ("ledger", "job_type") */
    const char *entity_id;   /* never NULL: the dedup key needs it */
    const char *message;     /* one line for people */
    json_t *evidence;        /* may be NULL */
    int64_t count;           /* occurrences this sighting adds (0 or less: 1) */
} om_incident;

/* Opens or bumps the incident. id_out (may be NULL) receives its id, *created_out (may be
 * NULL) 1 when a new incident was opened. OM_EINVAL for a missing kind/entity/message or an
 * unknown severity. Works inside or outside the caller's transaction. */
int om_incident_raise(om_store *s, const om_incident *inc, char id_out[OM_UUID_LEN],
                      int *created_out);

/* Resolves one open incident. OM_ENOTFOUND "incident ID not found"; OM_EINVAL "incident ID
 * was already resolved at T by B". `by` NULL: "operator". */
int om_incident_resolve(om_store *s, const char *incident_id, const char *by);

/* Resolves the open incident of (kind, entity_type, entity_id), if any (*resolved_out 1 when
 * there was one; may be NULL): for a condition that ended by itself (a breaker closed). */
int om_incident_resolve_open(om_store *s, const char *kind, const char *entity_type,
                             const char *entity_id, const char *by, int *resolved_out);

/* Incidents, open ones first then newest sighting first, as a JSON array of objects with
 * every column (evidence parsed, count a number). open_only: unresolved only; kind may be
 * NULL (any). */
int om_incident_list(om_store *s, int open_only, const char *kind, json_t **out);

/* When (kind, entity_type, entity_id) last had an incident resolved, as microseconds
 * (0 when never). */
int om_incident_last_resolved(om_store *s, const char *kind, const char *entity_type,
                              const char *entity_id, int64_t *us_out);

/* An error message with what varies between occurrences of the same failure taken out, so
 * messages cluster: UUIDs -> "<id>", numbers -> "<n>", hex digests and other long tokens
 * with digits -> "<id>"; whitespace runs become one space. Caller frees. */
char *om_incident_normalise(const char *message);

/* The first 12 hex digits of SHA-256(a "\n" b): a short stable cluster key. */
void om_incident_signature(const char *a, const char *b, char out[13]);

#endif
