/*
 * events.c: GET /api/v1/events, Server-Sent Events. The stream is a cursor over the
 * `logs` table (every job transition, new clip, publish and incident the runtime writes
 * lands there, from any process). ONE poller thread per server reads new rows every 200 ms
 * on its own store connection into a shared ring of formatted events and wakes the streams
 * that wait; an idle stream costs nothing between polls (its connection is suspended in
 * libmicrohttpd, no callback runs, no query per client), so 200 idle clients cost the same
 * 5 queries a second as one. An event reaches clients within about 0.3 s of its commit.
 *
 * Each event's `id:` is "<created_at>_<log_id>"; a client reconnecting with Last-Event-ID
 * first gets what it missed from its own catch-up query (in the request handler), then the
 * ring (events at or before its cursor are skipped, so nothing comes twice). A stream that
 * falls more than the ring behind (a stalled client) gets a comment saying events were
 * missed. A comment line (": heartbeat") goes out after http.sse_heartbeat_s of silence so
 * proxies keep the stream open.
 *
 * Event names: job (the row names a job and a state), clip (a clip_id without a job
 * state), publish (source upload/export), incident (source incident/paradox), else log.
 */
#include "base/common.h"

#include <microhttpd.h>
#include <pthread.h>

#include "http/api_int.h"
#include "stages/clipinfo.h"

#define RING 4096       /* events kept for streams that are behind */
#define POLL_MS 200     /* the poller's period */
#define CATCHUP_MAX 5000 /* rows a resuming client gets from its own query */

typedef struct sse sse;

struct sse {
    struct MHD_Connection *conn;
    char ts[64], id[OM_UUID_LEN]; /* cursor: last row sent */
    uint64_t seq;                 /* next ring sequence number to look at */
    om_sbuf out;                  /* bytes not yet handed to MHD */
    size_t out_pos;
    int64_t last_send_ms;
    int waiting;                  /* suspended, waiting for the poller */
    sse *prev, *next;             /* the hub's list of streams */
};

typedef struct ring_ev {
    char ts[64], id[OM_UUID_LEN];
    char *text; /* "id: ..\nevent: ..\ndata: ..\n\n" */
} ring_ev;

static pthread_mutex_t hub_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hub_cv = PTHREAD_COND_INITIALIZER;

static struct hub {
    pthread_t th;
    int running, stop;
    char *url;
    om_http_server *srv;
    long heartbeat_ms;
    ring_ev ring[RING];
    uint64_t next_seq;            /* sequence number of the next event */
    char ts[64], id[OM_UUID_LEN]; /* the poller's cursor */
    sse *streams;
    size_t nstreams;
} hub;

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

/* -1, 0, 1: (ts, id) ordered as the query orders rows (timestamps are fixed-width ISO). */
static int key_cmp(const char *ts_a, const char *id_a, const char *ts_b, const char *id_b)
{
    int c = strcmp(ts_a, ts_b);
    return c ? c : strcmp(id_a, id_b);
}

/* Rows after (ts, id), formatted; calls fn per row (with the row's key). */
typedef void (*row_fn)(void *ud, const char *ts, const char *id, const char *text);

static int query_after(om_store *st, const char *ts, const char *id, long limit, row_fn fn,
                       void *ud, size_t *n_out)
{
    om_rows *r = NULL;
    char *sql = xasprintf("SELECT log_id, source, level, message, metadata, created_at FROM logs "
                          "WHERE created_at > ? OR (created_at = ? AND log_id > ?) "
                          "ORDER BY created_at, log_id LIMIT %ld",
                          limit);
    int rc = om_store_query(st, sql, OM_PARAMS(OM_TEXT(ts), OM_TEXT(ts), OM_TEXT(id)), &r);
    free(sql);
    *n_out = 0;
    if (rc)
        return rc;
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *lid = om_rows_getn(r, i, "log_id"), *at = om_rows_getn(r, i, "created_at");
        json_t *meta = om_json_from_db(om_rows_getn(r, i, "metadata"));
        const char *src = om_rows_getn(r, i, "source");
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:O?}", "at", at, "source", src, "level",
                              om_rows_getn(r, i, "level"), "message", om_rows_getn(r, i, "message"),
                              "fields", meta);
        char *data = json_dumps(o, JSON_COMPACT);
        sb_reset(&sb);
        sb_printf(&sb, "id: %s_%s\nevent: %s\ndata: %s\n\n", at, lid, kind_of(src, meta), data);
        fn(ud, at, lid, sb_str(&sb));
        free(data);
        json_decref(o);
        json_decref(meta);
    }
    *n_out = om_rows_count(r);
    sb_release(&sb);
    om_rows_free(r);
    return OM_OK;
}

/* ---- the poller --------------------------------------------------------------------- */

static void wake(sse *e)
{
    if (e->waiting) {
        e->waiting = 0;
        MHD_resume_connection(e->conn);
    }
}

/* Called with hub_mu held. */
static void ring_push(void *ud, const char *ts, const char *id, const char *text)
{
    ring_ev *ev = &hub.ring[hub.next_seq % RING];
    free(ev->text);
    ev->text = xstrdup(text);
    snprintf(ev->ts, sizeof(ev->ts), "%s", ts);
    snprintf(ev->id, sizeof(ev->id), "%s", id);
    snprintf(hub.ts, sizeof(hub.ts), "%s", ts);
    snprintf(hub.id, sizeof(hub.id), "%s", id);
    hub.next_seq++;
}

static void *poller(void *arg)
{
    om_store *st = NULL;
    int64_t retry_at = 0;
    pthread_mutex_lock(&hub_mu);
    while (!hub.stop) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += POLL_MS * 1000000L;
        dl.tv_sec += dl.tv_nsec / 1000000000L;
        dl.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&hub_cv, &hub_mu, &dl);
        if (hub.stop)
            break;
        int64_t now = om_mono_ms();
        if (!st && now >= retry_at && om_store_open(&st, hub.url) != OM_OK) {
            st = NULL;
            retry_at = now + 2000;
        }
        /* the query runs under the lock: streams only take it for a few copies, and the
         * ring must not change under a reader */
        size_t n = 0;
        uint64_t before = hub.next_seq;
        if (st) {
            do {
                if (query_after(st, hub.ts, hub.id, 500, ring_push, NULL, &n) != OM_OK) {
                    om_log_emit(OM_LOG_WARN, "http", NULL, "events poller: %s", om_error_msg());
                    om_store_free(st);
                    st = NULL;
                    retry_at = now + 2000;
                    break;
                }
            } while (n == 500 && !hub.stop);
        }
        int fresh = hub.next_seq != before;
        for (sse *e = hub.streams; e; e = e->next)
            if (fresh || now - e->last_send_ms >= hub.heartbeat_ms)
                wake(e);
    }
    for (sse *e = hub.streams; e; e = e->next)
        wake(e);
    pthread_mutex_unlock(&hub_mu);
    om_store_free(st);
    return arg;
}

/* Starts the poller for this server (once). Called with hub_mu held. */
static int hub_start(om_http_req *r)
{
    if (hub.running)
        return OM_OK;
    hub.stop = 0;
    hub.srv = r->server;
    free(hub.url);
    hub.url = xstrdup(om_store_url(r->store));
    hub.heartbeat_ms = om_config_long(r->cfg, "http.sse_heartbeat_s") * 1000;
    /* from now on: the newest row is the cursor */
    om_rows *rows = NULL;
    snprintf(hub.ts, sizeof(hub.ts), "1970-01-01T00:00:00.000000Z");
    snprintf(hub.id, sizeof(hub.id), "00000000-0000-0000-0000-000000000000");
    int rc = om_store_query(r->store,
                            "SELECT created_at, log_id FROM logs ORDER BY created_at DESC, log_id "
                            "DESC LIMIT 1",
                            NULL, 0, &rows);
    if (rc)
        return rc;
    if (om_rows_count(rows) == 1) {
        snprintf(hub.ts, sizeof(hub.ts), "%s", om_rows_get(rows, 0, 0));
        snprintf(hub.id, sizeof(hub.id), "%s", om_rows_get(rows, 0, 1));
    }
    om_rows_free(rows);
    if (pthread_create(&hub.th, NULL, poller, NULL) != 0)
        return om_error_set(OM_EIO, "cannot start the events poller thread");
    hub.running = 1;
    return OM_OK;
}

void api_events_stop(void)
{
    pthread_mutex_lock(&hub_mu);
    if (!hub.running) {
        pthread_mutex_unlock(&hub_mu);
        return;
    }
    hub.stop = 1;
    pthread_cond_broadcast(&hub_cv);
    pthread_mutex_unlock(&hub_mu);
    pthread_join(hub.th, NULL);
    pthread_mutex_lock(&hub_mu);
    hub.running = 0;
    for (size_t i = 0; i < RING; i++) {
        free(hub.ring[i].text);
        hub.ring[i].text = NULL;
    }
    hub.next_seq = 0;
    pthread_mutex_unlock(&hub_mu);
}

/* ---- one stream --------------------------------------------------------------------- */

static void out_push(void *ud, const char *ts, const char *id, const char *text)
{
    sse *e = ud;
    sb_puts(&e->out, text);
    snprintf(e->ts, sizeof(e->ts), "%s", ts);
    snprintf(e->id, sizeof(e->id), "%s", id);
}

static long sse_read(void *ud, uint64_t pos, char *buf, size_t max)
{
    sse *e = ud;
    if (e->out_pos >= e->out.len) {
        sb_reset(&e->out);
        e->out_pos = 0;
        pthread_mutex_lock(&hub_mu);
        if (hub.stop || om_http_stopping(hub.srv)) {
            pthread_mutex_unlock(&hub_mu);
            return -1;
        }
        uint64_t oldest = hub.next_seq > RING ? hub.next_seq - RING : 0;
        if (e->seq < oldest) {
            sb_puts(&e->out, ": events were missed (this client fell behind); reload\n\n");
            e->seq = oldest;
        }
        for (; e->seq < hub.next_seq; e->seq++) {
            ring_ev *ev = &hub.ring[e->seq % RING];
            if (key_cmp(ev->ts, ev->id, e->ts, e->id) > 0)
                out_push(e, ev->ts, ev->id, ev->text);
        }
        int64_t now = om_mono_ms();
        if (e->out.len == 0 && now - e->last_send_ms >= hub.heartbeat_ms)
            sb_puts(&e->out, ": heartbeat\n\n");
        if (e->out.len == 0) {
            /* nothing to say: park the connection until the poller wakes it */
            e->waiting = 1;
            MHD_suspend_connection(e->conn);
            pthread_mutex_unlock(&hub_mu);
            return 0;
        }
        e->last_send_ms = now;
        pthread_mutex_unlock(&hub_mu);
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
    pthread_mutex_lock(&hub_mu);
    if (e->prev)
        e->prev->next = e->next;
    else if (hub.streams == e)
        hub.streams = e->next;
    if (e->next)
        e->next->prev = e->prev;
    hub.nstreams--;
    pthread_mutex_unlock(&hub_mu);
    sb_release(&e->out);
    free(e);
}

/* Parses a Last-Event-ID ("<created_at>_<log_id>") into ts/id; -1 when it is not one. */
static int parse_event_id(const char *last, char ts_out[64], char id_out[OM_UUID_LEN])
{
    const char *bar = strrchr(last, '_');
    int64_t us;
    size_t tl = bar ? (size_t)(bar - last) : 0;
    char ts[64];
    if (!bar || tl >= sizeof(ts) || !om_uuid_valid(bar + 1))
        return -1;
    memcpy(ts, last, tl);
    ts[tl] = 0;
    if (om_time_parse(ts, &us))
        return -1;
    om_time_iso(ts_out, us);
    snprintf(id_out, OM_UUID_LEN, "%s", bar + 1);
    return 0;
}

void h_events(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *last = om_http_header(r, "Last-Event-ID");
    if (!last)
        last = om_http_param(&r->query, "last_event_id");
    sse *e = xcalloc(1, sizeof(*e));
    e->conn = r->conn;
    if (last && *last && parse_event_id(last, e->ts, e->id)) {
        free(e);
        om_http_reply_error(r, 400, "bad_event_id", "Last-Event-ID",
                            "Last-Event-ID '%.80s' is not an id this stream sent", last);
        return;
    }
    sb_puts(&e->out, ": omniva events\nretry: 2000\n\n");
    pthread_mutex_lock(&hub_mu);
    int rc = hub.stop ? om_error_set(OM_EUNAVAIL, "the server is stopping") : hub_start(r);
    if (rc) {
        pthread_mutex_unlock(&hub_mu);
        free(e);
        om_http_reply_om(r, rc, NULL);
        return;
    }
    if (!(last && *last)) {
        /* from now on */
        snprintf(e->ts, sizeof(e->ts), "%s", hub.ts);
        snprintf(e->id, sizeof(e->id), "%s", hub.id);
        e->seq = hub.next_seq;
    } else {
        /* what the ring still holds is filtered by the cursor; the catch-up below fills in
         * what came before the ring */
        e->seq = hub.next_seq > RING ? hub.next_seq - RING : 0;
    }
    pthread_mutex_unlock(&hub_mu);
    if (last && *last) {
        size_t n = 0;
        rc = query_after(r->store, e->ts, e->id, CATCHUP_MAX, out_push, e, &n);
        if (rc) {
            sb_release(&e->out);
            free(e);
            om_http_reply_om(r, rc, NULL);
            return;
        }
    }
    e->last_send_ms = om_mono_ms();
    pthread_mutex_lock(&hub_mu);
    e->next = hub.streams;
    if (hub.streams)
        hub.streams->prev = e;
    hub.streams = e;
    hub.nstreams++;
    pthread_mutex_unlock(&hub_mu);
    om_http_reply_text(r, 200, "text/event-stream", "", 0);
    om_http_add_header(r, "X-Accel-Buffering: no");
    r->resp.stream = sse_read;
    r->resp.stream_ud = e;
    r->resp.stream_free = sse_free;
}
