/*
 * events.c: job events. Every event is a JSON log line on stderr (base/log.c) and, through
 * the sink installed here, a `logs` row; job events also get a `job_logs` row. Rows are
 * buffered and written in one transaction by rt_flush() so a job costs a couple of small
 * write transactions, not one per line, and a stage's rollback never drops its log lines.
 */
#include "base/common.h"
#include "runtime/rt_internal.h"

#include <ctype.h>
#include <stdarg.h>

#define RT_BUF_CAP 2000 /* events kept while the database is unreachable; oldest dropped */

rt_state rt_g;

static void buf_push(json_t **buf, json_t *item)
{
    if (!*buf)
        *buf = json_array();
    while (json_array_size(*buf) >= RT_BUF_CAP)
        json_array_remove(*buf, 0);
    json_array_append(*buf, item);
}

static void sink(void *ud, int level, json_t *event)
{
    (void)ud;
    (void)level;
    buf_push(&rt_g.logbuf, event);
}

void rt_sink_install(void)
{
    om_log_set_sink(sink, NULL, OM_LOG_INFO);
    rt_g.sink_on = 1;
}

void rt_sink_uninstall(void)
{
    om_log_set_sink(NULL, NULL, OM_LOG_INFO);
    json_decref(rt_g.logbuf);
    json_decref(rt_g.jlbuf);
    json_decref(rt_g.chain);
    rt_g.logbuf = rt_g.jlbuf = rt_g.chain = NULL;
    rt_g.sink_on = 0;
}

static const char *str_or(json_t *o, const char *key, const char *def)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static const char *str_or_null(json_t *o, const char *key)
{
    return str_or(o, key, NULL);
}

int rt_flush_in_txn(om_store *s)
{
    size_t nl = json_array_size(rt_g.logbuf), nj = json_array_size(rt_g.jlbuf);
    if (!s || (nl == 0 && nj == 0))
        return OM_OK;
    char id[OM_UUID_LEN];
    for (size_t i = 0; i < nl; i++) {
        json_t *ev = json_array_get(rt_g.logbuf, i);
        json_t *meta = json_deep_copy(ev);
        const char *drop[] = {"ts", "level", "source", "message"};
        for (size_t k = 0; k < OM_ARRAY_LEN(drop); k++)
            json_object_del(meta, drop[k]);
        char *meta_text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
        json_decref(meta);
        const char *ts = str_or_null(ev, "ts");
        int rc = om_store_exec(
            s,
            "INSERT INTO logs (log_id, source, level, message, metadata, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(str_or(ev, "source", "omniva")),
                      OM_TEXT(str_or(ev, "level", "INFO")),
                      OM_TEXT(str_or(ev, "message", "")),
                      meta_text ? OM_JSON(meta_text) : OM_NULL, OM_TEXT(ts)),
            NULL);
        free(meta_text);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < nj; i++) {
        json_t *jl = json_array_get(rt_g.jlbuf, i);
        json_t *attempt = json_object_get(jl, "attempt");
        int rc = om_store_exec(
            s,
            "INSERT INTO job_logs (job_log_id, job_id, attempt, state, level, message, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(str_or_null(jl, "job_id")),
                      json_is_integer(attempt) ? OM_INT(json_integer_value(attempt)) : OM_NULL,
                      OM_TEXT(str_or_null(jl, "state")), OM_TEXT(str_or_null(jl, "level")),
                      OM_TEXT(str_or(jl, "message", "")),
                      OM_TEXT(str_or_null(jl, "at"))),
            NULL);
        if (rc)
            return rc;
    }
    json_array_clear(rt_g.logbuf);
    json_array_clear(rt_g.jlbuf);
    return OM_OK;
}

int rt_flush(om_store *s)
{
    if (!s || om_store_in_txn(s))
        return OM_OK;
    if (json_array_size(rt_g.logbuf) == 0 && json_array_size(rt_g.jlbuf) == 0)
        return OM_OK;
    int rc = om_store_begin(s);
    if (rc)
        return rc;
    rc = rt_flush_in_txn(s);
    if (rc == OM_OK)
        rc = om_store_commit(s);
    if (rc)
        om_store_rollback(s);
    return rc;
}

void rt_event(int level, const char *source, const char *state, json_t *fields,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    om_log_context *lc = om_log_ctx();
    if (state)
        snprintf(lc->state, sizeof(lc->state), "%s", state);
    om_log_emit(level, source, fields, "%s", msg); /* filters stderr and sink by level */
    if (rt_g.job && level >= OM_LOG_INFO) {
        char ts[OM_TIME_LEN];
        json_t *jl = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "job_id", rt_g.job->id,
                               "attempt", rt_g.job->attempt, "state",
                               lc->state[0] ? lc->state : "", "level",
                               om_log_level_name(level), "message", msg, "at",
                               om_time_iso(ts, om_now_us()));
        if (jl) {
            buf_push(&rt_g.jlbuf, jl);
            json_decref(jl);
        }
    }
    free(msg);
}

void rt_entity_fields(json_t *payload, json_t *fields)
{
    const char *key;
    json_t *v;
    json_object_foreach(payload, key, v)
    {
        size_t n = strlen(key);
        if (n > 3 && !strcmp(key + n - 3, "_id") && json_is_string(v) &&
            strcmp(key, "trace_id") && strcmp(key, "project_id") && strcmp(key, "job_id"))
            json_object_set(fields, key, v);
    }
}

int64_t rt_setting(const om_config *cfg, const char *key)
{
    char name[64];
    snprintf(name, sizeof(name), "worker.%s", key);
    return om_config_long(cfg, name);
}
