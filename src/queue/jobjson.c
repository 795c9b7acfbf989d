/*
 * jobjson.c: jobs as JSON (see jobjson.h), moved here from src/cli/cmd_jobs.c so the CLI
 * and the HTTP API share it.
 */
#include "base/common.h"
#include "queue/jobjson.h"

static json_t *parse_json_or_string(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

json_t *om_job_json(const om_job *j)
{
    char ts[OM_TIME_LEN];
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(j->id));
    json_object_set_new(o, "type", json_string(j->type));
    json_object_set_new(o, "state", json_string(j->state));
    json_object_set_new(o, "priority", json_integer(j->priority));
    json_object_set_new(o, "attempt", json_integer(j->attempt));
    json_object_set_new(o, "max_attempts", json_integer(j->max_attempts));
    json_object_set_new(o, "lease_expiries", json_integer(j->lease_expiries));
    json_object_set_new(o, "unique_key", j->unique_key ? json_string(j->unique_key) : json_null());
    json_object_set_new(o, "worker", j->worker ? json_string(j->worker) : json_null());
    json_object_set_new(o, "payload", parse_json_or_string(j->payload));
    json_object_set_new(o, "errors", j->errors ? parse_json_or_string(j->errors) : json_array());
    json_object_set_new(o, "not_before",
                        json_string(j->not_before_us ? om_time_iso(ts, j->not_before_us) : ""));
    json_object_set_new(o, "lease_until", j->lease_until_us
                                              ? json_string(om_time_iso(ts, j->lease_until_us))
                                              : json_null());
    json_object_set_new(o, "created_at", json_string(om_time_iso(ts, j->created_us)));
    json_object_set_new(o, "updated_at", json_string(om_time_iso(ts, j->updated_us)));
    return o;
}

/* The job's events from job_logs (oldest first). */
json_t *om_job_events_json(om_store *s, const char *id)
{
    om_rows *r = NULL;
    json_t *arr = json_array();
    if (om_store_query(s,
                       "SELECT created_at, attempt, state, level, message FROM job_logs "
                       "WHERE job_id = ? ORDER BY created_at, job_log_id LIMIT 1000",
                       OM_PARAMS(OM_TEXT(id)), &r) != OM_OK)
        return arr;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *st = om_rows_getn(r, i, "state");
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:s, s:s, s:s}", "at", om_rows_getn(r, i, "created_at"),
                           "attempt", (json_int_t)om_rows_int(r, i, "attempt", 0), "state",
                           st ? st : "", "level", om_rows_getn(r, i, "level"), "message",
                           om_rows_getn(r, i, "message")));
    }
    om_rows_free(r);
    return arr;
}

