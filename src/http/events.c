/*
 * events.c: GET /api/v1/events, Server-Sent Events. The stream is a cursor over the
 * `logs` table (every job transition, new clip, publish and incident the runtime writes
 * lands there, from any process), polled every 200 ms on the stream's own store
 * connection: an event reaches clients within about 0.3 s of its commit. Each event's
 * `id:` is "<created_at>_<log_id>"; a client reconnecting with Last-Event-ID resumes right
 * after it. A comment line (": heartbeat") goes out every 15 s of silence so proxies keep
 * the stream open.
 *
 * Event names: job (the row names a job and a state), clip (a clip_id without a job
 * state), publish (source upload/export), incident (source incident/paradox), else log.
 */
#include "base/common.h"

#include "http/api_int.h"
#include "stages/clipinfo.h"

typedef struct sse {
    om_store *st;
    om_http_server *srv;
    char ts[64], id[OM_UUID_LEN]; /* cursor: last row sent */
    om_sbuf out;                  /* bytes not yet handed to MHD */
    size_t out_pos;
    int64_t last_send_ms, last_poll_ms;
    long heartbeat_ms, poll_ms;
} sse;

static const char *kind_of(const char *source, json_t *meta)
{
    if (source && (strcmp(source, "incident") == 0 || strcmp(source, "paradox") == 0))
        return "incident";
    if (source && (strcmp(source, "upload") == 0 || strcmp(source, "export") == 0 ||
                   strcmp(source, "publish") == 0))
        return "publish";
    if (json_object_get(meta, "job_id") && json_object_get(meta, "state"))
        return "job";
    if (json_object_get(meta, "clip_id"))
        return "clip";
    return "log";
}

static int poll_rows(sse *e)
{
    om_rows *r = NULL;
    int rc = om_store_query(e->st,
                            "SELECT log_id, source, level, message, metadata, created_at FROM logs "
                            "WHERE created_at > ? OR (created_at = ? AND log_id > ?) "
                            "ORDER BY created_at, log_id LIMIT 200",
                            OM_PARAMS(OM_TEXT(e->ts), OM_TEXT(e->ts), OM_TEXT(e->id)), &r);
    if (rc)
        return rc;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *id = om_rows_getn(r, i, "log_id"), *at = om_rows_getn(r, i, "created_at");
        json_t *meta = om_json_from_db(om_rows_getn(r, i, "metadata"));
        const char *src = om_rows_getn(r, i, "source");
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:O?}", "at", at, "source", src, "level",
                              om_rows_getn(r, i, "level"), "message", om_rows_getn(r, i, "message"),
                              "fields", meta);
        char *data = json_dumps(o, JSON_COMPACT);
        sb_printf(&e->out, "id: %s_%s\nevent: %s\ndata: %s\n\n", at, id, kind_of(src, meta), data);
        free(data);
        json_decref(o);
        json_decref(meta);
        snprintf(e->ts, sizeof(e->ts), "%s", at);
        snprintf(e->id, sizeof(e->id), "%s", id);
    }
    om_rows_free(r);
    return OM_OK;
}

static long sse_read(void *ud, uint64_t pos, char *buf, size_t max)
{
    sse *e = ud;
    if (om_http_stopping(e->srv))
        return -1;
    if (e->out_pos >= e->out.len) {
        sb_reset(&e->out);
        e->out_pos = 0;
        /* wait (in short slices) for the next poll */
        int64_t now = om_mono_ms();
        if (now - e->last_poll_ms < e->poll_ms) {
            om_sleep_ms(e->poll_ms - (now - e->last_poll_ms));
            now = om_mono_ms();
        }
        e->last_poll_ms = now;
        if (poll_rows(e) != OM_OK) {
            sb_printf(&e->out, ": store error: %s\n\n", om_error_msg());
        }
        if (e->out.len == 0 && now - e->last_send_ms >= e->heartbeat_ms)
            sb_puts(&e->out, ": heartbeat\n\n");
        if (e->out.len == 0)
            return 0;
        e->last_send_ms = now;
    }
    size_t n = e->out.len - e->out_pos;
    if (n > max)
        n = max;
    memcpy(buf, e->out.buf + e->out_pos, n);
    e->out_pos += n;
    return (long)n;
}

static void sse_free(void *ud)
{
    sse *e = ud;
    om_store_free(e->st);
    sb_release(&e->out);
    free(e);
}

void h_events(om_http_req *r)
{
    if (api_query_only(r, "last_event_id"))
        return;
    const char *last = om_http_header(r, "Last-Event-ID");
    if (!last)
        last = om_http_param(&r->query, "last_event_id");
    sse *e = xcalloc(1, sizeof(*e));
    e->srv = r->server;
    e->poll_ms = 200;
    e->heartbeat_ms = om_config_long(r->cfg, "http.sse_heartbeat_s") * 1000;
    if (last && *last) {
        const char *bar = strrchr(last, '_');
        int64_t us;
        size_t tl = bar ? (size_t)(bar - last) : 0;
        char ts[64];
        if (!bar || tl >= sizeof(ts) || !om_uuid_valid(bar + 1)) {
            free(e);
            om_http_reply_error(r, 400, "bad_event_id", "Last-Event-ID",
                                "Last-Event-ID '%.80s' is not an id this stream sent", last);
            return;
        }
        memcpy(ts, last, tl);
        ts[tl] = 0;
        if (om_time_parse(ts, &us)) {
            free(e);
            om_http_reply_error(r, 400, "bad_event_id", "Last-Event-ID",
                                "Last-Event-ID '%.80s' is not an id this stream sent", last);
            return;
        }
        om_time_iso(e->ts, us);
        snprintf(e->id, sizeof(e->id), "%s", bar + 1);
    } else {
        /* from now on: the newest row is the cursor */
        om_rows *rows = NULL;
        if (om_store_query(r->store,
                           "SELECT created_at, log_id FROM logs ORDER BY created_at DESC, log_id "
                           "DESC LIMIT 1",
                           NULL, 0, &rows) == OM_OK &&
            om_rows_count(rows) == 1) {
            snprintf(e->ts, sizeof(e->ts), "%s", om_rows_get(rows, 0, 0));
            snprintf(e->id, sizeof(e->id), "%s", om_rows_get(rows, 0, 1));
        } else {
            snprintf(e->ts, sizeof(e->ts), "1970-01-01T00:00:00.000000Z");
            snprintf(e->id, sizeof(e->id), "00000000-0000-0000-0000-000000000000");
        }
        om_rows_free(rows);
    }
    int rc = om_store_open(&e->st, om_store_url(r->store));
    if (rc) {
        free(e);
        om_http_reply_om(r, rc, NULL);
        return;
    }
    om_http_reply_text(r, 200, "text/event-stream", "", 0);
    om_http_add_header(r, "X-Accel-Buffering: no");
    sb_puts(&e->out, ": omniva events\nretry: 2000\n\n");
    e->last_send_ms = om_mono_ms();
    r->resp.stream = sse_read;
    r->resp.stream_ud = e;
    r->resp.stream_free = sse_free;
}
