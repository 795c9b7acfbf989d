/*
 * server.c: the libmicrohttpd side of the HTTP layer (see http.h): listening, the thread
 * pool, limits (connections, idle timeout, body size), per-thread store connections,
 * turning om_http_resp into MHD responses (buffers, file ranges, streams), and the reply
 * helpers handlers use.
 */
#include "base/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/api_int.h"
#include "http/http.h"

struct om_http_server {
    struct MHD_Daemon *d;
    om_http_opts o;
    char *store_url, *queue_url;
    int port;
    volatile int stopping;
    int64_t started_us;
};

/* ---- per-thread store and queue ----------------------------------------------------- */

typedef struct tl_conn {
    om_store *store;
    om_queue *queue;
    om_store *ro;  /* PostgreSQL: the same database as http.read_role, for GET routes */
    int ro_tried;
} tl_conn;

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_free(void *p)
{
    tl_conn *c = p;
    if (c->queue)
        om_queue_free(c->queue);
    if (c->ro)
        om_store_free(c->ro);
    if (c->store)
        om_store_free(c->store);
    free(c);
}

static void tl_init(void)
{
    pthread_key_create(&tl_key, tl_free);
}

/* This thread's connections; *ro is the read-only one (NULL on SQLite, when http.read_role
 * is empty, or when the login role may not take it: then reads use *st, said once). */
static int tl_get(om_http_server *s, om_store **st, om_queue **q, om_store **ro)
{
    pthread_once(&tl_once, tl_init);
    tl_conn *c = pthread_getspecific(tl_key);
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        pthread_setspecific(tl_key, c);
    }
    if (!c->store) {
        int rc = om_store_open(&c->store, s->store_url);
        if (rc)
            return rc;
    }
    if (!c->queue) {
        int rc = om_queue_open(&c->queue, s->queue_url, c->store);
        if (rc)
            return rc;
    }
    if (!c->ro_tried) {
        c->ro_tried = 1;
        const char *role = om_config_str(s->o.cfg, "http.read_role");
        static int said;
        if (role && *role && strcmp(om_store_dialect(c->store), "postgres") == 0 &&
            om_store_open_role(&c->ro, c->store, role) != OM_OK && !__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
            om_warn("http", "reads run as the login role: http.read_role: %s", om_error_msg());
    }
    *st = c->store;
    *q = c->queue;
    *ro = c->ro;
    return OM_OK;
}

/* ---- request state ------------------------------------------------------------------ */

typedef struct conn_state {
    om_sbuf body;
    int too_big;
} conn_state;

const char *om_http_header(const om_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *om_http_cookie(const om_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

static void resp_clear(om_http_resp *p)
{
    free(p->body);
    for (int i = 0; i < p->nheaders; i++)
        free(p->headers[i]);
    if (p->fd >= 0)
        close(p->fd);
    if (p->stream_free)
        p->stream_free(p->stream_ud);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}

void om_http_reply_text(om_http_req *r, int status, const char *content_type, const char *text,
                        size_t len)
{
    /* headers added so far survive a replaced body */
    om_http_resp *p = &r->resp;
    free(p->body);
    p->body = NULL;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    if (p->stream_free)
        p->stream_free(p->stream_ud);
    p->stream = NULL;
    p->stream_free = NULL;
    p->stream_ud = NULL;
    r->resp.status = status;
    r->resp.content_type = content_type;
    r->resp.body = xmalloc(len + 1);
    memcpy(r->resp.body, text, len);
    r->resp.body[len] = 0;
    r->resp.body_len = len;
}

void om_http_reply_json(om_http_req *r, int status, json_t *body)
{
    char *t = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!t)
        t = xstrdup("null");
    om_http_reply_text(r, status, "application/json", t, strlen(t));
    free(t);
}

void om_http_reply_error(om_http_req *r, int status, const char *code, const char *field,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg ? msg : code);
    if (field)
        json_object_set_new(e, "field", json_string(field));
    free(msg);
    om_http_reply_json(r, status, json_pack("{s:o}", "error", e));
}

void om_http_reply_om(om_http_req *r, int om_code, const char *field)
{
    const char *msg = om_error_msg();
    switch (om_code) {
    case OM_ENOTFOUND:
        om_http_reply_error(r, 404, "not_found", field, "%s", msg);
        break;
    case OM_EEXISTS:
        om_http_reply_error(r, 409, "conflict", field, "%s", msg);
        break;
    case OM_EBUSY:
        om_http_reply_error(r, 409, "busy", field, "%s", msg);
        break;
    case OM_EINVAL:
    case OM_EPERMANENT:
        om_http_reply_error(r, 422, "invalid", field, "%s", msg);
        break;
    case OM_EUNAVAIL:
        om_http_reply_error(r, 503, "unavailable", NULL, "%s", msg);
        break;
    default:
        om_http_reply_error(r, 500, "internal", NULL, "%s", msg);
        break;
    }
}

void om_http_add_header(om_http_req *r, const char *fmt, ...)
{
    if (r->resp.nheaders >= (int)OM_ARRAY_LEN(r->resp.headers))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *h = NULL;
    if (vasprintf(&h, fmt, ap) >= 0 && !strchr(h, '\r') && !strchr(h, '\n') && strchr(h, ':'))
        r->resp.headers[r->resp.nheaders++] = h;
    else
        free(h);
    va_end(ap);
}

int om_http_body_object(om_http_req *r, json_t **out)
{
    *out = NULL;
    json_error_t e;
    if (r->body_len == 0) {
        om_http_reply_error(r, 400, "malformed_json", NULL, "the request needs a JSON object body");
        return OM_EINVAL;
    }
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        om_http_reply_error(r, 400, "malformed_json", NULL, "malformed JSON at line %d column %d: %s",
                            e.line, e.column, e.text);
        return OM_EINVAL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        om_http_reply_error(r, 400, "malformed_json", NULL, "the body must be a JSON object");
        return OM_EINVAL;
    }
    *out = j;
    return OM_OK;
}

/* ---- MHD glue ----------------------------------------------------------------------- */

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    om_http_resp *p = cls;
    long n = p->stream(p->stream_ud, pos, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void stream_free_cb(void *cls)
{
    om_http_resp *p = cls;
    if (p->stream_free)
        p->stream_free(p->stream_ud);
    free(p);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, om_http_req *r)
{
    om_http_resp *p = &r->resp;
    struct MHD_Response *mr;
    if (p->stream) {
        om_http_resp *keep = xcalloc(1, sizeof(*keep));
        keep->stream = p->stream;
        keep->stream_ud = p->stream_ud;
        keep->stream_free = p->stream_free;
        p->stream = NULL;
        p->stream_free = NULL;
        mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_cb, keep,
                                               stream_free_cb);
    } else if (p->fd >= 0) {
        mr = MHD_create_response_from_fd_at_offset64(p->len, p->fd, p->off);
        p->fd = -1; /* MHD closes it */
    } else {
        mr = MHD_create_response_from_buffer(p->body_len, p->body, MHD_RESPMEM_MUST_COPY);
    }
    if (!mr)
        return MHD_NO;
    if (p->content_type)
        MHD_add_response_header(mr, "Content-Type", p->content_type);
    int cache_set = 0; /* a handler's own Cache-Control (embedded assets) wins */
    for (int i = 0; i < p->nheaders; i++) {
        char *h = p->headers[i], *colon = strchr(h, ':');
        cache_set |= strncasecmp(h, "Cache-Control:", 14) == 0;
        *colon = 0;
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        MHD_add_response_header(mr, h, v);
        *colon = ':';
    }
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    if (!cache_set)
        MHD_add_response_header(mr, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)p->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static int addr_loopback(const struct sockaddr *sa, char ip[64])
{
    ip[0] = 0;
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, 64);
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, 64);
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

/* Rebuilds the raw query from MHD's arguments (kept undecoded by no_unescape) so that our
 * strict parser sees every pair, duplicates included. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    om_sbuf *sb = cls;
    if (sb->len)
        sb_puts(sb, "&");
    sb_puts(sb, key);
    if (value) {
        sb_puts(sb, "=");
        sb_puts(sb, value);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    om_http_server *s = cls;
    conn_state *cs = *con_cls;
    if (!cs) {
        cs = xcalloc(1, sizeof(*cs));
        cs->body.cap = (size_t)s->o.max_body + 1;
        *con_cls = cs;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->o.max_body)
            cs->too_big = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cs->too_big && sb_append(&cs->body, upload_data, *upload_size))
            cs->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    om_http_req r;
    memset(&r, 0, sizeof(r));
    r.resp.fd = -1;
    r.method = method;
    r.conn = conn;
    r.cfg = s->o.cfg;
    r.server = s;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[64];
    r.loopback = addr_loopback(ci ? ci->client_addr : NULL, ip);
    r.client_ip = ip;
    const char *xfp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    r.tls = xfp && strcasecmp(xfp, "https") == 0;
    /* MHD hands us the path already split from the query; it percent-decodes the query
     * values itself, so we re-read the raw request line's query through our strict parser
     * only via the arguments MHD kept. The path stays raw (MHD_OPTION_UNESCAPE_CALLBACK). */
    r.path = url;
    r.body = cs->body.buf ? cs->body.buf : "";
    r.body_len = cs->body.len;
    if (cs->too_big) {
        om_http_reply_error(&r, 413, "too_large", NULL, "request body over %ld bytes",
                            s->o.max_body);
    } else {
        om_sbuf q = OM_SBUF_INIT;
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
        int rc = om_http_query_parse(sb_str(&q), &r.query);
        sb_release(&q);
        if (rc) {
            om_http_reply_error(&r, 400, "bad_query", NULL, "%s", om_error_msg());
        } else if ((rc = tl_get(s, &r.store, &r.queue, &r.store_ro))) {
            om_http_reply_error(&r, 503, "unavailable", NULL, "database: %s", om_error_msg());
        } else {
            om_api_handle(&r);
            if (r.store && om_store_in_txn(r.store))
                om_store_rollback(r.store);
        }
    }
    if (!r.resp.status)
        om_http_reply_error(&r, 500, "internal", NULL, "no response");
    enum MHD_Result ret = send_resp(conn, &r);
    resp_clear(&r.resp);
    om_http_params_release(&r.params);
    om_http_params_release(&r.query);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    conn_state *cs = *con_cls;
    if (cs) {
        sb_release(&cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

/* Keep the path raw: our router decodes per segment, strictly. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n'))
        buf[--n] = 0;
    om_log_emit(OM_LOG_DEBUG, "http", NULL, "libmicrohttpd: %s", buf);
}

int om_http_host_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

int om_http_parse_listen(const char *listen, char host[64], int *port)
{
    const char *colon;
    size_t hl;
    const char *h = listen;
    if (!listen || !*listen)
        return om_error_set(OM_EINVAL, "listen address is empty (want ADDR:PORT)");
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':')
            return om_error_set(OM_EINVAL, "'%s': want [IPv6]:PORT", listen);
        h = listen + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return om_error_set(OM_EINVAL, "'%s': want ADDR:PORT", listen);
        hl = (size_t)(colon - listen);
    }
    if (hl == 0 || hl >= 64)
        return om_error_set(OM_EINVAL, "'%s': missing or too long address", listen);
    memcpy(host, h, hl);
    host[hl] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return om_error_set(OM_EINVAL, "'%s': port must be 0..65535", listen);
    *port = (int)p;
    return OM_OK;
}

int om_http_start(om_http_server **out, const om_http_opts *o)
{
    *out = NULL;
    char host[64];
    int port;
    int rc = om_http_parse_listen(o->listen, host, &port);
    if (rc)
        return rc;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     MHD_USE_SUSPEND_RESUME;
    const char *hh = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    struct sockaddr_in *in = (void *)&ss;
    struct sockaddr_in6 *in6 = (void *)&ss;
    if (inet_pton(AF_INET, hh, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, hh, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        return om_error_set(OM_EINVAL, "'%s' is not an IP address (nor localhost)", host);
    }
    om_http_server *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->store_url = xstrdup(o->store_url);
    s->queue_url = xstrdup(o->queue_url);
    s->started_us = om_now_us();
    s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_conns,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
                            MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!s->d) {
        free(s->store_url);
        free(s->queue_url);
        free(s);
        return om_error_set(OM_EIO, "cannot listen on %s: %s", o->listen,
                            errno ? strerror(errno) : "libmicrohttpd refused");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    *out = s;
    return OM_OK;
}

int om_http_port(const om_http_server *s)
{
    return s->port;
}

int om_http_stopping(const om_http_server *s)
{
    return s->stopping;
}

int64_t om_http_started_us(const om_http_server *s)
{
    return s->started_us;
}

void om_http_stop(om_http_server *s)
{
    if (!s)
        return;
    s->stopping = 1;
    api_events_stop(); /* wakes the parked event streams, which then end */
    MHD_stop_daemon(s->d);
    free(s->store_url);
    free(s->queue_url);
    free(s);
}
