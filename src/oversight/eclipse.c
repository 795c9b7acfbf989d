/*
 * eclipse.c: Eclipse's sweep (dead-letter clusters, circuit breakers, job type pauses and
 * their probes, ERROR/FATAL escalation) and the breaker the re-scrape consults. See
 * eclipse.h.
 */
#include "base/common.h"
#include "oversight/eclipse.h"
#include "oversight/incidents.h"

#define ECLIPSE_LAG_US 1000000LL        /* events younger than this wait for the next sweep */
#define ECLIPSE_CLAIMING_STALE_US 60000000LL /* a probe reservation nobody finished */
#define ECLIPSE_BY "eclipse"

static const char *const never_paused[] = {"governance", "paradox", NULL};

typedef struct ecl {
    om_store *s;
    om_queue *q;
    const om_config *cfg;
    int64_t now, upto, cursor;
    json_t *report;
    int64_t incidents_new;
} ecl;

static void count(ecl *e, const char *key, int64_t n)
{
    json_t *v = json_object_get(e->report, key);
    json_object_set_new(e->report, key, json_integer(json_integer_value(v) + n));
}

static int ecl_raise(ecl *e, const om_incident *inc, int *created_out)
{
    int created = 0;
    int rc = om_incident_raise(e->s, inc, NULL, &created);
    if (rc == OM_OK && created)
        e->incidents_new++;
    if (created_out)
        *created_out = created;
    return rc;
}

static int64_t ts_us(const char *s)
{
    int64_t us = 0;
    if (s && om_time_parse(s, &us) != OM_OK)
        us = 0;
    return us;
}

static int listed(const char *csv, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = csv; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && !strncmp(p, item, n))
            return 1;
        p += len;
    }
    return 0;
}

/* ---- circuit breakers ----------------------------------------------------------------- */

typedef struct breaker {
    char state[16];
    int64_t failures, opened_us, half_open_us;
    int exists;
} breaker;

static int breaker_read(om_store *s, const char *et, const char *eid, breaker *b)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->state, sizeof(b->state), "closed");
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT state, failures, opened_at, half_open_at FROM "
                            "circuit_breakers WHERE entity_type = ? AND entity_id = ?",
                            OM_PARAMS(OM_TEXT(et), OM_TEXT(eid)), &r);
    if (rc)
        return om_error_wrap(rc, "reading the circuit breaker of %s %s", et, eid);
    if (om_rows_count(r)) {
        b->exists = 1;
        snprintf(b->state, sizeof(b->state), "%s", om_rows_get(r, 0, 0));
        b->failures = om_rows_int(r, 0, "failures", 0);
        b->opened_us = ts_us(om_rows_get(r, 0, 2));
        b->half_open_us = ts_us(om_rows_get(r, 0, 3));
    }
    om_rows_free(r);
    return OM_OK;
}

static int quarantine_incident(om_store *s, const char *et, const char *eid, int64_t failures,
                               const char *last_error, const char *why, int *created)
{
    json_t *ev = json_pack("{s:I, s:s, s:s}", "consecutive_failures", (json_int_t)failures,
                           "last_error", last_error ? last_error : "", "event", why);
    char *msg = xasprintf("%s %s quarantined after %lld consecutive failures: %s", et, eid,
                          (long long)failures, last_error ? last_error : "(no error recorded)");
    om_incident inc = {"creator_quarantined", "warning", et, eid, msg, ev, 1};
    int rc = om_incident_raise(s, &inc, NULL, created);
    free(msg);
    json_decref(ev);
    return rc;
}

/* One outcome of an entity's job, in order. */
static int breaker_event(ecl *e, const char *et, const char *eid, int ok, const char *error,
                         const char *at)
{
    breaker b;
    int rc = breaker_read(e->s, et, eid, &b);
    if (rc)
        return rc;
    if (ok) {
        if (!b.exists || (b.failures == 0 && !strcmp(b.state, "closed")))
            return OM_OK;
        rc = om_store_exec(e->s,
                           "UPDATE circuit_breakers SET state = 'closed', failures = 0, "
                           "opened_at = NULL, half_open_at = NULL, last_event_at = ?, "
                           "updated_at = now() WHERE entity_type = ? AND entity_id = ?",
                           OM_PARAMS(OM_TEXT(at), OM_TEXT(et), OM_TEXT(eid)), NULL);
        if (rc == OM_OK && strcmp(b.state, "closed") != 0) {
            count(e, "breakers_closed", 1);
            om_info("eclipse", "circuit breaker of %s %s closed: a job succeeded", et, eid);
            rc = om_incident_resolve_open(e->s, "creator_quarantined", et, eid, ECLIPSE_BY, NULL);
        }
        return rc;
    }
    int64_t failures = b.failures + 1;
    int64_t threshold = om_config_long(e->cfg, "eclipse.breaker_failures");
    int open = !strcmp(b.state, "half_open") ||
               (!strcmp(b.state, "closed") && failures >= threshold);
    const char *state = open ? "open" : b.state;
    char now_iso[OM_TIME_LEN];
    om_time_iso(now_iso, e->now);
    rc = om_store_exec(
        e->s,
        "INSERT INTO circuit_breakers (entity_type, entity_id, state, failures, last_error, "
        "last_event_at, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, now()) "
        "ON CONFLICT (entity_type, entity_id) DO UPDATE SET state = excluded.state, failures = "
        "excluded.failures, last_error = excluded.last_error, last_event_at = "
        "excluded.last_event_at, opened_at = CASE WHEN ? = 1 THEN excluded.opened_at ELSE "
        "circuit_breakers.opened_at END, half_open_at = CASE WHEN ? = 1 THEN NULL ELSE "
        "circuit_breakers.half_open_at END, updated_at = now()",
        OM_PARAMS(OM_TEXT(et), OM_TEXT(eid), OM_TEXT(state), OM_INT(failures),
                  OM_TEXT(error ? error : ""), OM_TEXT(at), open ? OM_TEXT(now_iso) : OM_NULL,
                  OM_INT(open), OM_INT(open)),
        NULL);
    if (rc == OM_OK && open) {
        int created = 0;
        count(e, "breakers_opened", 1);
        om_warn("eclipse", "circuit breaker of %s %s opened after %lld consecutive failures%s",
                et, eid, (long long)failures,
                !strcmp(b.state, "half_open") ? " (the half-open retry failed)" : "");
        rc = quarantine_incident(e->s, et, eid, failures, error,
                                 !strcmp(b.state, "half_open") ? "half-open retry failed"
                                                               : "breaker opened",
                                 &created);
        if (created)
            e->incidents_new++;
    }
    return rc;
}

int om_breaker_admit(om_store *s, const om_config *cfg, const char *entity_type,
                     const char *entity_id, int *admit_out)
{
    OM_ASSERT(s && cfg && entity_type && entity_id && admit_out);
    *admit_out = 1;
    breaker b;
    int rc = breaker_read(s, entity_type, entity_id, &b);
    if (rc || !strcmp(b.state, "closed"))
        return rc;
    int64_t now = om_now_us();
    int64_t cool = om_config_long(cfg, "eclipse.breaker_cooldown_s") * 1000000LL;
    int64_t since = !strcmp(b.state, "open") ? b.opened_us : b.half_open_us;
    if (now - since >= cool) {
        /* the half-open retry (or a retry of a probe that never reported) */
        int64_t n = 0;
        rc = om_store_exec(s,
                           "UPDATE circuit_breakers SET state = 'half_open', half_open_at = now(), "
                           "updated_at = now() WHERE entity_type = ? AND entity_id = ? AND "
                           "state = ?",
                           OM_PARAMS(OM_TEXT(entity_type), OM_TEXT(entity_id), OM_TEXT(b.state)),
                           &n);
        if (rc == OM_OK && n == 1) {
            om_info("eclipse", "circuit breaker of %s %s half-open: one retry", entity_type,
                    entity_id);
            return OM_OK;
        }
        if (rc)
            return om_error_wrap(rc, "half-opening the breaker of %s %s", entity_type,
                                 entity_id);
    }
    *admit_out = 0;
    char *last = NULL;
    rc = om_store_query_value(s,
                              "SELECT last_error FROM circuit_breakers WHERE entity_type = ? AND "
                              "entity_id = ?",
                              OM_PARAMS(OM_TEXT(entity_type), OM_TEXT(entity_id)), &last);
    if (rc == OM_OK || rc == OM_ENOTFOUND)
        rc = quarantine_incident(s, entity_type, entity_id, b.failures, last,
                                 "skipped by the re-scrape", NULL);
    free(last);
    return rc;
}

int om_breaker_get(om_store *s, const char *entity_type, const char *entity_id, json_t **out)
{
    OM_ASSERT(s && out);
    *out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT state, failures, last_error, opened_at, half_open_at, "
                            "last_event_at FROM circuit_breakers WHERE entity_type = ? AND "
                            "entity_id = ?",
                            OM_PARAMS(OM_TEXT(entity_type), OM_TEXT(entity_id)), &r);
    if (rc)
        return om_error_wrap(rc, "reading the circuit breaker of %s %s", entity_type, entity_id);
    json_t *o = json_pack("{s:s, s:i}", "state", "closed", "failures", 0);
    if (om_rows_count(r)) {
        json_object_set_new(o, "state", json_string(om_rows_get(r, 0, 0)));
        json_object_set_new(o, "failures", json_integer(om_rows_int(r, 0, "failures", 0)));
        const char *cols[] = {"last_error", "opened_at", "half_open_at", "last_event_at"};
        for (size_t i = 0; i < OM_ARRAY_LEN(cols); i++) {
            const char *v = om_rows_getn(r, 0, cols[i]);
            json_object_set_new(o, cols[i], v ? json_string(v) : json_null());
        }
    }
    om_rows_free(r);
    *out = o;
    return OM_OK;
}

/* ---- the events ----------------------------------------------------------------------- */

static int read_cursor(ecl *e)
{
    char *meta = NULL;
    int rc = om_store_query_value(e->s,
                                  "SELECT metadata FROM logs WHERE source = 'eclipse' AND "
                                  "message LIKE 'eclipse sweep:%' ORDER BY created_at DESC "
                                  "LIMIT 1",
                                  NULL, 0, &meta);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        rc = OM_OK;
    }
    json_t *m = meta ? json_loads(meta, 0, NULL) : NULL;
    e->cursor = ts_us(json_string_value(json_object_get(m, "cursor")));
    json_decref(m);
    free(meta);
    return rc;
}

typedef struct type_stat {
    char type[OM_JOB_TYPE_MAX];
    int64_t start_us; /* count outcomes after this (the window or the last resume) */
    int64_t ok, failed;
    char last_error[256];
} type_stat;

typedef struct type_stats {
    type_stat *v;
    size_t n, cap;
} type_stats;

/* The stats of `type`, added (its window start read) on first use; NULL on a store error. */
static type_stat *stat_of(ecl *e, type_stats *ts, const char *type, int64_t window_start)
{
    for (size_t i = 0; i < ts->n; i++)
        if (!strcmp(ts->v[i].type, type))
            return &ts->v[i];
    int64_t resumed = 0;
    if (om_incident_last_resolved(e->s, "job_type_paused", "job_type", type, &resumed))
        return NULL;
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 8;
        ts->v = xrealloc(ts->v, ts->cap * sizeof(*ts->v));
    }
    type_stat *t = &ts->v[ts->n++];
    memset(t, 0, sizeof(*t));
    snprintf(t->type, sizeof(t->type), "%s", type);
    t->start_us = resumed > window_start ? resumed : window_start;
    return t;
}

/* Feeds every outcome event to the breakers and the failure rates, and every other
 * ERROR/FATAL line to the log clusters (`logclusters`: signature -> aggregate). */
static int read_events(ecl *e, type_stats *rates, json_t *logclusters)
{
    int64_t window = om_config_long(e->cfg, "eclipse.pause_window_s") * 1000000LL;
    int64_t since = e->now - window;
    if (e->cursor && e->cursor < since)
        since = e->cursor;
    char since_iso[OM_TIME_LEN], upto_iso[OM_TIME_LEN];
    om_time_iso(since_iso, since);
    om_time_iso(upto_iso, e->upto);
    om_rows *r = NULL;
    int rc = om_store_query(e->s,
                            "SELECT source, level, message, metadata, created_at FROM logs "
                            "WHERE created_at > ? AND created_at <= ? AND source <> 'eclipse' "
                            "AND source <> 'paradox' AND (level IN ('ERROR', 'FATAL') OR "
                            "message LIKE 'job done%' OR message LIKE 'job failed%') "
                            "ORDER BY created_at, log_id",
                            OM_PARAMS(OM_TEXT(since_iso), OM_TEXT(upto_iso)), &r);
    if (rc)
        return om_error_wrap(rc, "eclipse: reading the log events");
    const char *btypes = om_config_str(e->cfg, "eclipse.breaker_types");
    int64_t window_start = e->now - window;
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(r); i++) {
        const char *at = om_rows_getn(r, i, "created_at");
        int64_t at_us = ts_us(at);
        int fresh = at_us > e->cursor;
        const char *mt = om_rows_getn(r, i, "metadata");
        json_t *m = mt ? json_loads(mt, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(m, "job_type"));
        const char *state = json_string_value(json_object_get(m, "state"));
        int outcome = type && state && (!strcmp(state, "DONE") || !strcmp(state, "ERROR"));
        if (fresh)
            count(e, "events", 1);
        if (outcome) {
            int ok = !strcmp(state, "DONE");
            const char *err = json_string_value(json_object_get(m, "error"));
            if (!err && !ok)
                err = om_rows_getn(r, i, "message");
            const char *creator = json_string_value(json_object_get(m, "creator_id"));
            if (fresh && creator && listed(btypes, type))
                rc = breaker_event(e, "creators", creator, ok, err, at);
            if (rc == OM_OK && at_us > window_start) {
                type_stat *t = stat_of(e, rates, type, window_start);
                if (!t)
                    rc = OM_ERROR;
                else if (at_us > t->start_us) {
                    ok ? t->ok++ : t->failed++;
                    if (!ok && err)
                        snprintf(t->last_error, sizeof(t->last_error), "%s", err);
                }
            }
        } else if (fresh) {
            const char *level = om_rows_getn(r, i, "level"), *src = om_rows_getn(r, i, "source");
            if (level && (!strcmp(level, "ERROR") || !strcmp(level, "FATAL"))) {
                char *norm = om_incident_normalise(om_rows_getn(r, i, "message"));
                char sig[13];
                om_incident_signature(src, norm, sig);
                char *key = xasprintf("%s:%s", src ? src : "", sig);
                json_t *c = json_object_get(logclusters, key);
                if (!c) {
                    c = json_pack("{s:s, s:s, s:s, s:s, s:I}", "source", src ? src : "",
                                  "level", level, "pattern", norm, "example",
                                  om_rows_getn(r, i, "message"), "lines", (json_int_t)0);
                    json_object_set_new(logclusters, key, c);
                }
                json_object_set_new(c, "lines",
                                    json_integer(json_integer_value(json_object_get(c, "lines")) + 1));
                if (!strcmp(level, "FATAL"))
                    json_object_set_new(c, "level", json_string("FATAL"));
                const char *job = json_string_value(json_object_get(m, "job_id"));
                if (job)
                    json_object_set_new(c, "job_id", json_string(job));
                free(key);
                free(norm);
            }
        }
        json_decref(m);
    }
    om_rows_free(r);
    return rc;
}

/* ---- job type pauses ------------------------------------------------------------------ */

static int pausable(const char *type)
{
    for (size_t i = 0; never_paused[i]; i++)
        if (!strcmp(never_paused[i], type))
            return 0;
    return strncmp(type, "maintenance.", 12) != 0;
}

static json_t *report_list(ecl *e, const char *key)
{
    json_t *a = json_object_get(e->report, key);
    if (!a) {
        a = json_array();
        json_object_set_new(e->report, key, a);
    }
    return a;
}

static int resume(ecl *e, const char *type, const char *why)
{
    int rc = om_queue_resume(e->q, type);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        rc = OM_OK;
    }
    if (rc == OM_OK)
        rc = om_incident_resolve_open(e->s, "job_type_paused", "job_type", type, ECLIPSE_BY, NULL);
    if (rc == OM_OK) {
        json_array_append_new(report_list(e, "resumed"), json_string(type));
        om_info("eclipse", "job type %s resumed: %s", type, why);
    }
    return rc;
}

/* The probes out for paused types: done -> resume; failed -> the next probe later. */
static int check_probes(ecl *e, json_t *paused_now)
{
    om_queue_pause_info *p = NULL;
    size_t n = 0;
    int rc = om_queue_pauses(e->q, &p, &n);
    int64_t cool_ms = om_config_long(e->cfg, "eclipse.pause_cooldown_s") * 1000;
    for (size_t i = 0; rc == OM_OK && i < n; i++) {
        const char *type = p[i].type;
        json_object_set_new(paused_now, type, json_true());
        char *open_id = NULL;
        rc = om_store_query_value(e->s,
                                  "SELECT incident_id FROM incidents WHERE kind = "
                                  "'job_type_paused' AND entity_type = 'job_type' AND entity_id "
                                  "= ? AND resolved_at IS NULL",
                                  OM_PARAMS(OM_TEXT(type)), &open_id);
        int has_open = rc == OM_OK;
        if (rc == OM_ENOTFOUND) {
            om_error_clear();
            rc = OM_OK;
        }
        free(open_id);
        if (rc)
            break;
        if (!has_open) { /* an operator resolved it: that is the go-ahead */
            rc = resume(e, type, "its incident was resolved");
            continue;
        }
        const char *probe = p[i].probe_job_id;
        if (!probe[0])
            continue;
        if (!strcmp(probe, "claiming")) {
            if (e->now - p[i].updated_us > ECLIPSE_CLAIMING_STALE_US)
                rc = om_queue_pause_reprobe(e->q, type, 0);
            continue;
        }
        om_job j;
        memset(&j, 0, sizeof(j));
        int grc = om_queue_get(e->q, probe, &j);
        if (grc != OM_OK && grc != OM_ENOTFOUND) {
            rc = grc;
            break;
        }
        om_error_clear();
        if (grc == OM_OK && !strcmp(j.state, "leased")) {
            om_job_release(&j);
            continue; /* still running */
        }
        if (grc == OM_OK && !strcmp(j.state, "done")) {
            char *why = xasprintf("probe job %s succeeded", probe);
            rc = resume(e, type, why);
            free(why);
        } else {
            json_t *errs = grc == OM_OK ? json_loads(j.errors ? j.errors : "[]", 0, NULL) : NULL;
            json_t *last = json_array_get(errs, json_array_size(errs) - 1);
            const char *err = json_string_value(json_object_get(last, "error"));
            json_t *ev = json_pack("{s:s, s:s, s:s, s:i}", "probe_job_id", probe, "probe_state",
                                   grc == OM_OK ? j.state : "gone", "probe_error",
                                   err ? err : "", "probes", p[i].probes);
            char *msg = xasprintf("job type %s stays paused: probe job %s failed%s%s", type,
                                  probe, err ? ": " : "", err ? err : "");
            om_incident inc = {"job_type_paused", "error", "job_type", type, msg, ev, 1};
            rc = ecl_raise(e, &inc, NULL);
            free(msg);
            json_decref(ev);
            json_decref(errs);
            if (rc == OM_OK)
                rc = om_queue_pause_reprobe(e->q, type, cool_ms);
            if (rc == OM_OK) {
                json_array_append_new(report_list(e, "probes_failed"), json_string(type));
                om_warn("eclipse", "job type %s: probe job %s failed; next probe in %lld s",
                        type, probe, (long long)(cool_ms / 1000));
            }
        }
        om_job_release(&j);
    }
    om_queue_pauses_free(p, n);
    return rc;
}

static int pause_spiking(ecl *e, const type_stats *rates, json_t *paused_now)
{
    double rate_max = om_config_double(e->cfg, "eclipse.pause_failure_rate");
    int64_t min_fail = om_config_long(e->cfg, "eclipse.pause_min_failures");
    int64_t cool_ms = om_config_long(e->cfg, "eclipse.pause_cooldown_s") * 1000;
    int rc = OM_OK;
    for (size_t i = 0; i < rates->n; i++) {
        const type_stat *ts = &rates->v[i];
        const char *type = ts->type;
        int64_t total = ts->ok + ts->failed;
        double rate = total ? (double)ts->failed / (double)total : 0;
        if (rc || !pausable(type) || json_object_get(paused_now, type) ||
            ts->failed < min_fail || rate < rate_max)
            continue;
        char *reason = xasprintf("%lld of %lld jobs failed (%.0f%%) in the last %ld s", (long long)ts->failed,
                                 (long long)total, rate * 100,
                                 om_config_long(e->cfg, "eclipse.pause_window_s"));
        rc = om_queue_pause(e->q, type, reason, cool_ms);
        if (rc == OM_OK) {
            json_t *ev = json_pack("{s:I, s:I, s:f, s:s, s:I}", "failed", (json_int_t)ts->failed,
                                   "succeeded", (json_int_t)ts->ok, "failure_rate", rate,
                                   "last_error", ts->last_error, "probe_after_s",
                                   (json_int_t)(cool_ms / 1000));
            char *msg = xasprintf("job type %s paused: %s; last error: %s", type, reason,
                                  ts->last_error);
            om_incident inc = {"job_type_paused", "error", "job_type", type, msg, ev, 1};
            rc = ecl_raise(e, &inc, NULL);
            free(msg);
            json_decref(ev);
            json_array_append_new(report_list(e, "paused"), json_string(type));
            om_warn("eclipse", "job type %s paused: %s (a probe job after %lld s)", type, reason,
                    (long long)(cool_ms / 1000));
        }
        free(reason);
    }
    return rc;
}

/* ---- dead letters --------------------------------------------------------------------- */

static int cluster_dead_letters(ecl *e)
{
    om_queue_filter f = {"dead", NULL,
                         (size_t)om_config_long(e->cfg, "eclipse.dead_letter_scan")};
    om_job_list l = {NULL, 0};
    int rc = om_queue_list(e->q, &f, &l);
    if (rc)
        return om_error_wrap(rc, "eclipse: listing the dead letters");
    json_t *clusters = json_object();
    for (size_t i = 0; i < l.n; i++) {
        const om_job *j = &l.jobs[i];
        json_t *errs = json_loads(j->errors ? j->errors : "[]", 0, NULL);
        json_t *last = json_array_get(errs, json_array_size(errs) - 1);
        const char *err = json_string_value(json_object_get(last, "error"));
        char *norm = om_incident_normalise(err ? err : "(no error recorded)");
        char sig[13];
        om_incident_signature(j->type, norm, sig);
        char *key = xasprintf("%s:%s", j->type, sig);
        json_t *c = json_object_get(clusters, key);
        if (!c) {
            c = json_pack("{s:s, s:s, s:s, s:[]}", "job_type", j->type, "pattern", norm,
                          "example", err ? err : "(no error recorded)", "jobs");
            int64_t resolved = 0;
            rc = om_incident_last_resolved(e->s, "dead_letters", "dead_letter_cluster", key,
                                           &resolved);
            json_object_set_new(c, "since_us", json_integer((json_int_t)resolved));
            json_object_set_new(clusters, key, c);
        }
        if (j->updated_us > json_integer_value(json_object_get(c, "since_us")))
            json_array_append_new(json_object_get(c, "jobs"), json_string(j->id));
        free(key);
        free(norm);
        json_decref(errs);
        if (rc)
            break;
    }
    om_job_list_free(&l);
    const char *key;
    json_t *c;
    json_object_foreach(clusters, key, c)
    {
        json_t *jobs = json_object_get(c, "jobs");
        size_t n = json_array_size(jobs);
        if (rc || n == 0)
            continue;
        const char *type = json_string_value(json_object_get(c, "job_type"));
        json_t *sample = json_array();
        for (size_t i = 0; i < n && i < 10; i++)
            json_array_append(sample, json_array_get(jobs, i));
        json_t *ev = json_pack("{s:s, s:O, s:O, s:I, s:o}", "job_type", type, "pattern",
                               json_object_get(c, "pattern"), "example",
                               json_object_get(c, "example"), "jobs", (json_int_t)n,
                               "job_ids", sample);
        char *msg = xasprintf("%zu dead %s job%s (for inspection: 'omniva jobs list --state "
                              "dead --type %s'): %s",
                              n, type, n == 1 ? "" : "s", type,
                              json_string_value(json_object_get(c, "pattern")));
        om_incident inc = {"dead_letters", "error", "dead_letter_cluster", key, msg, ev, 1};
        rc = ecl_raise(e, &inc, NULL);
        free(msg);
        json_decref(ev);
        count(e, "dead_letter_clusters", 1);
    }
    json_decref(clusters);
    return rc;
}

/* ---- error logs ------------------------------------------------------------------------ */

static int escalate_logs(ecl *e, json_t *clusters)
{
    int64_t max_new = om_config_long(e->cfg, "eclipse.log_incidents_max"), opened = 0;
    const char *key;
    json_t *c;
    int rc = OM_OK;
    json_object_foreach(clusters, key, c)
    {
        if (rc)
            break;
        json_int_t lines = json_integer_value(json_object_get(c, "lines"));
        char *id = NULL;
        rc = om_store_query_value(e->s,
                                  "SELECT incident_id FROM incidents WHERE kind = 'log_error' AND "
                                  "entity_type = 'log_source' AND entity_id = ? AND resolved_at "
                                  "IS NULL",
                                  OM_PARAMS(OM_TEXT(key)), &id);
        int exists = rc == OM_OK;
        free(id);
        if (rc == OM_ENOTFOUND) {
            om_error_clear();
            rc = OM_OK;
        }
        if (rc)
            break;
        if (!exists && opened >= max_new) {
            count(e, "log_lines_dropped", lines);
            continue;
        }
        const char *level = json_string_value(json_object_get(c, "level"));
        char *msg = xasprintf("%s %s: %s", json_string_value(json_object_get(c, "source")),
                              level, json_string_value(json_object_get(c, "example")));
        om_incident inc = {"log_error", !strcmp(level, "FATAL") ? "critical" : "error",
                           "log_source", key, msg, c, lines};
        int created = 0;
        rc = ecl_raise(e, &inc, &created);
        opened += created;
        free(msg);
        count(e, "log_incidents", 1);
    }
    return rc;
}

/* ---- the sweep -------------------------------------------------------------------------- */

static int log_sweep(ecl *e)
{
    char cur[OM_TIME_LEN], id[OM_UUID_LEN];
    json_object_set_new(e->report, "cursor", json_string(om_time_iso(cur, e->upto)));
    json_object_set_new(e->report, "incidents_new", json_integer((json_int_t)e->incidents_new));
    char *mt = json_dumps(e->report, JSON_COMPACT | JSON_SORT_KEYS);
    char *msg = xasprintf("eclipse sweep: %lld event%s, %lld new incident%s",
                          (long long)json_integer_value(json_object_get(e->report, "events")),
                          json_integer_value(json_object_get(e->report, "events")) == 1 ? "" : "s",
                          (long long)e->incidents_new, e->incidents_new == 1 ? "" : "s");
    int rc = om_store_exec(e->s,
                           "INSERT INTO logs (log_id, source, level, message, metadata, "
                           "created_at) VALUES (?, 'eclipse', 'INFO', ?, ?, now())",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(msg), OM_JSON(mt)), NULL);
    free(msg);
    free(mt);
    return rc;
}

int om_eclipse_sweep(om_store *s, om_queue *q, const om_config *cfg, json_t **report_out)
{
    OM_ASSERT(s && q && cfg && report_out);
    *report_out = NULL;
    ecl e;
    memset(&e, 0, sizeof(e));
    e.s = s;
    e.q = q;
    e.cfg = cfg;
    e.now = om_now_us();
    e.upto = e.now - ECLIPSE_LAG_US;
    e.report = json_pack("{s:i, s:i, s:i, s:i, s:[], s:[], s:[], s:i, s:i}", "events", 0,
                         "dead_letter_clusters", 0, "breakers_opened", 0, "breakers_closed", 0,
                         "paused", "resumed", "probes_failed", "log_incidents", 0,
                         "log_lines_dropped", 0);
    type_stats rates = {NULL, 0, 0};
    json_t *logs = json_object(), *paused = json_object();
    int rc = read_cursor(&e);
    if (rc == OM_OK && e.cursor > e.upto)
        e.upto = e.cursor; /* clocks: never move the cursor back */
    if (rc == OM_OK)
        rc = read_events(&e, &rates, logs);
    if (rc == OM_OK)
        rc = check_probes(&e, paused);
    if (rc == OM_OK)
        rc = pause_spiking(&e, &rates, paused);
    if (rc == OM_OK)
        rc = cluster_dead_letters(&e);
    if (rc == OM_OK)
        rc = escalate_logs(&e, logs);
    if (rc == OM_OK)
        rc = log_sweep(&e);
    free(rates.v);
    json_decref(logs);
    json_decref(paused);
    if (rc) {
        json_decref(e.report);
        return om_error_wrap(rc, "eclipse sweep");
    }
    *report_out = e.report;
    return OM_OK;
}
