/*
 * cmd_jobs.c: `omniva jobs enqueue|list|show|retry|purge|stats`: the job queue by hand.
 */
#include "base/common.h"
#include "cli/cli.h"
#include "queue/jobjson.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <math.h>

static const char *const job_states[] = {"ready", "delayed", "leased", "done", "dead", "outbox",
                                         NULL};

static int state_valid(const char *s)
{
    for (const char *const *k = job_states; *k; k++)
        if (!strcmp(*k, s))
            return 1;
    return 0;
}

/* The payload as compact JSON text; NULL when absent. Prints the usage error. */
static int enqueue_payload(cli_ctx *c, cli_args *a, char **out)
{
    *out = NULL;
    const char *payload_text = cli_get(a, "payload");
    if (!payload_text)
        return CLI_OK;
    json_error_t jerr;
    json_t *p = json_loads(payload_text, JSON_DECODE_ANY, &jerr);
    if (!p)
        return cli_usage_error(c, "--payload is not valid JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    if (!json_is_object(p)) {
        json_decref(p);
        return cli_usage_error(c, "--payload must be a JSON object, like '{\"key\": 1}'");
    }
    *out = json_dumps(p, JSON_COMPACT | OM_JSON_REAL);
    json_decref(p);
    return CLI_OK;
}

static int enqueue_delay(cli_ctx *c, cli_args *a, int64_t *delay_ms)
{
    *delay_ms = 0;
    const char *delay = cli_get(a, "delay");
    if (!delay)
        return CLI_OK;
    char *end;
    errno = 0;
    double secs = strtod(delay, &end);
    if (!*delay || *end || errno || !isfinite(secs) || secs < 0 || secs > 366.0 * 86400)
        return cli_usage_error(c, "--delay must be a number of seconds from 0 to 31622400 "
                                  "(got '%s')", delay);
    *delay_ms = (int64_t)llround(secs * 1000.0);
    return CLI_OK;
}

int check_jobs_enqueue(cli_ctx *c, cli_args *a)
{
    const char *type = a->pos[0];
    if (om_queue_type_valid(type))
        return cli_usage_error(c, "invalid job type '%s': %s", type, om_error_msg());
    char *payload = NULL;
    int rc = enqueue_payload(c, a, &payload);
    free(payload);
    long n;
    int64_t d;
    if (rc == CLI_OK)
        rc = cli_get_int(a, "priority", 0, 9, &n);
    if (rc == CLI_OK)
        rc = cli_get_int(a, "max-attempts", 1, 100, &n);
    if (rc == CLI_OK)
        rc = enqueue_delay(c, a, &d);
    return rc;
}

int cmd_jobs_enqueue(cli_ctx *c, cli_args *a)
{
    const char *type = a->pos[0];
    char *payload = NULL;
    long priority = OM_PRIORITY_DEFAULT, max_attempts = OM_MAX_ATTEMPTS_DEFAULT;
    int64_t delay_ms = 0;
    /* checked by check_jobs_enqueue: these cannot fail here */
    enqueue_payload(c, a, &payload);
    cli_get_int(a, "priority", 0, 9, &priority);
    cli_get_int(a, "max-attempts", 1, 100, &max_attempts);
    enqueue_delay(c, a, &delay_ms);
    if (!om_runtime_find(type))
        fprintf(stderr, "omniva: note: this build has no stage for job type '%s' (it runs %s); "
                        "a worker serving it will send it to the dead letters\n", type,
                cli_job_types());

    om_job_spec spec = OM_JOB_SPEC_INIT;
    spec.type = type;
    spec.payload = payload;
    spec.priority = (int)priority;
    spec.delay_ms = delay_ms;
    spec.unique_key = cli_get(a, "unique");
    spec.max_attempts = (int)max_attempts;
    char id[OM_UUID_LEN];
    int created = 0, rc = CLI_OK;
    if (om_queue_enqueue(c->ws.queue, &spec, id, &created)) {
        rc = cli_error_om("cannot enqueue '%s' job", type);
    } else if (cli_flag(a, "json")) {
        json_t *o = json_pack("{s:s, s:s, s:b}", "job_id", id, "type", type, "created", created);
        cli_print_json(o);
        json_decref(o);
    } else {
        printf("%s\n", id);
        if (!created)
            fprintf(stderr, "omniva: note: a '%s' job with key '%s' already exists: %s\n", type,
                    spec.unique_key, id);
    }
    free(payload);
    return rc;
}

int check_jobs_list(cli_ctx *c, cli_args *a)
{
    const char *state = cli_get(a, "state"), *type = cli_get(a, "type");
    if (state && !state_valid(state))
        return cli_usage_error(c, "unknown state '%s' (ready, delayed, leased, done, dead, "
                                  "outbox)", state);
    if (type && om_queue_type_valid(type))
        return cli_usage_error(c, "invalid job type '%s': %s", type, om_error_msg());
    long limit = 100;
    return cli_get_int(a, "limit", 1, 1000000, &limit);
}

int cmd_jobs_list(cli_ctx *c, cli_args *a)
{
    const char *state = cli_get(a, "state"), *type = cli_get(a, "type");
    long limit = 100;
    cli_get_int(a, "limit", 1, 1000000, &limit);
    int rc = CLI_OK;
    om_queue_filter f = {state, type, (size_t)limit};
    om_job_list l = {NULL, 0};
    if (om_queue_list(c->ws.queue, &f, &l)) {
        rc = cli_error_om("cannot list jobs");
    } else if (cli_flag(a, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l.n; i++)
            json_array_append_new(arr, om_job_json(&l.jobs[i]));
        cli_print_json(arr);
        json_decref(arr);
    } else {
        char ts[OM_TIME_LEN];
        printf("%-36s  %-20s %-8s %3s %7s  %s\n", "JOB_ID", "TYPE", "STATE", "PRI", "ATTEMPT",
               "UPDATED");
        for (size_t i = 0; i < l.n; i++) {
            const om_job *j = &l.jobs[i];
            printf("%-36s  %-20s %-8s %3d %4d/%-2d  %s\n", j->id, j->type, j->state, j->priority,
                   j->attempt, j->max_attempts, om_time_iso(ts, j->updated_us));
        }
        if (l.n == 0)
            printf("(no jobs)\n");
    }
    om_job_list_free(&l);
    return rc;
}

int check_job_id(cli_ctx *c, cli_args *a)
{
    if (!om_uuid_valid(a->pos[0]))
        return cli_usage_error(c, "'%s' is not a job id (a UUID)", a->pos[0]);
    return CLI_OK;
}

int cmd_jobs_show(cli_ctx *c, cli_args *a)
{
    const char *id = a->pos[0];
    om_job j;
    memset(&j, 0, sizeof(j));
    int rc = om_queue_get(c->ws.queue, id, &j);
    if (rc == OM_ENOTFOUND)
        return cli_error("job %s not found", id);
    if (rc)
        return cli_error_om("cannot show job %s", id);
    json_t *o = om_job_json(&j);
    json_object_set_new(o, "events", om_job_events_json(c->ws.store, j.id));
    if (cli_flag(a, "json")) {
        cli_print_json(o);
    } else {
        printf("job %s\n", j.id);
        const char *keys[] = {"type", "state", "priority", "attempt", "max_attempts",
                              "lease_expiries", "unique_key", "worker", "not_before",
                              "lease_until", "created_at", "updated_at"};
        for (size_t k = 0; k < OM_ARRAY_LEN(keys); k++) {
            json_t *v = json_object_get(o, keys[k]);
            if (json_is_string(v))
                printf("  %-15s %s\n", keys[k], json_string_value(v));
            else if (json_is_integer(v))
                printf("  %-15s %lld\n", keys[k], (long long)json_integer_value(v));
            else
                printf("  %-15s -\n", keys[k]);
        }
        char *p = json_dumps(json_object_get(o, "payload"), JSON_COMPACT | JSON_ENCODE_ANY | OM_JSON_REAL);
        printf("  %-15s %s\n", "payload", p ? p : "");
        free(p);
        json_t *errs = json_object_get(o, "errors");
        printf("  errors (%zu):\n", json_array_size(errs));
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e)
        {
            json_t *at = json_object_get(e, "at"), *att = json_object_get(e, "attempt");
            json_t *msg = json_object_get(e, "error");
            printf("    attempt %lld at %s: %s\n", (long long)json_integer_value(att),
                   json_is_string(at) ? json_string_value(at) : "?",
                   json_is_string(msg) ? json_string_value(msg) : "?");
        }
        json_t *events = json_object_get(o, "events");
        printf("  events (%zu):\n", json_array_size(events));
        json_array_foreach(events, i, e)
        {
            printf("    %s  #%lld %-10s %-5s %s\n", json_string_value(json_object_get(e, "at")),
                   (long long)json_integer_value(json_object_get(e, "attempt")),
                   json_string_value(json_object_get(e, "state")),
                   json_string_value(json_object_get(e, "level")),
                   json_string_value(json_object_get(e, "message")));
        }
    }
    json_decref(o);
    om_job_release(&j);
    return CLI_OK;
}

int cmd_jobs_retry(cli_ctx *c, cli_args *a)
{
    const char *id = a->pos[0];
    int rc = om_queue_retry(c->ws.queue, id);
    if (rc == OM_ENOTFOUND)
        return cli_error("job %s not found", id);
    if (rc) {
        om_job j;
        memset(&j, 0, sizeof(j));
        char *why = xstrdup(om_error_msg());
        if (om_queue_get(c->ws.queue, id, &j) == OM_OK && strcmp(j.state, "dead"))
            rc = cli_error("cannot retry job %s: it is %s; only dead jobs can be retried", id,
                           j.state);
        else
            rc = cli_error("cannot retry job %s: %s", id, why);
        om_job_release(&j);
        free(why);
        return rc;
    }
    printf("job %s is ready again\n", id);
    return CLI_OK;
}

int check_jobs_purge(cli_ctx *c, cli_args *a)
{
    const char *state = cli_get(a, "state");
    if (!state)
        return cli_usage_error(c, "'%s' needs --state dead|done", c->path);
    if (strcmp(state, "dead") && strcmp(state, "done"))
        return cli_usage_error(c, "--state must be dead or done (got '%s'); live jobs are never "
                                  "purged", state);
    return CLI_OK;
}

int cmd_jobs_purge(cli_ctx *c, cli_args *a)
{
    const char *state = cli_get(a, "state");
    int rc = CLI_OK;
    size_t n = 0;
    if (om_queue_purge(c->ws.queue, state, &n)) {
        rc = cli_error_om("cannot purge %s jobs", state);
    } else if (cli_flag(a, "json")) {
        json_t *o = json_pack("{s:s, s:I}", "state", state, "purged", (json_int_t)n);
        cli_print_json(o);
        json_decref(o);
    } else {
        printf("purged %zu %s jobs\n", n, state);
    }
    return rc;
}

int cmd_jobs_stats(cli_ctx *c, cli_args *a)
{
    int rc = CLI_OK;
    om_queue_stat *st = NULL;
    size_t n = 0;
    if (om_queue_stats(c->ws.queue, &st, &n)) {
        rc = cli_error_om("cannot read queue stats");
    } else if (cli_flag(a, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "type", st[i].type, "ready",
                               (json_int_t)st[i].ready, "delayed", (json_int_t)st[i].delayed,
                               "leased", (json_int_t)st[i].leased, "done",
                               (json_int_t)st[i].done, "dead", (json_int_t)st[i].dead));
        cli_print_json(arr);
        json_decref(arr);
    } else {
        printf("%-24s %8s %8s %8s %8s %8s\n", "TYPE", "READY", "DELAYED", "LEASED", "DONE",
               "DEAD");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %8lld %8lld %8lld %8lld %8lld\n", st[i].type, (long long)st[i].ready,
                   (long long)st[i].delayed, (long long)st[i].leased, (long long)st[i].done,
                   (long long)st[i].dead);
    }
    free(st);
    return rc;
}
