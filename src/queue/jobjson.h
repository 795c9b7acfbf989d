/*
 * jobjson.h: a job as JSON, shared by `omniva jobs ... --json` and the HTTP API, so both
 * print the same document.
 *
 * Ownership: returned json_t values are new references, the caller's.
 */
#ifndef OMNIVA_QUEUE_JOBJSON_H
#define OMNIVA_QUEUE_JOBJSON_H

#include <jansson.h>

#include "queue/queue.h"

/* {"job_id","type","state","priority","attempt","max_attempts","lease_expiries",
 *  "unique_key","worker","payload","errors","not_before","lease_until","created_at",
 *  "updated_at"} */
json_t *om_job_json(const om_job *j);
/* The job's job_logs rows, oldest first (at most 1000): [{"at","attempt","state","level",
 * "message"}]; [] when there are none or they cannot be read. */
json_t *om_job_events_json(om_store *s, const char *job_id);

#endif
