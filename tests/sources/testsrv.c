/* testsrv.c: the in-process HTTP server of the sources tests (see testsrv.h). */
#include "base/common.h"
#include "testsrv.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>

typedef struct route {
    char *path;
    char *ctype;
    char *data;
    size_t len;
    int flags;
    size_t cut_at;
    int cut_done;
    char *location;
    int requests;
    char last_range[128];
} route;

struct testsrv {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t lock;
    route routes[64];
    int n;
};

typedef struct stream_state {
    const char *data;
    size_t len;   /* bytes this response delivers (from data) */
    size_t limit; /* drop the connection after this many bytes (== len: no cut) */
} stream_state;

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_state *st = cls;
    if (pos >= st->limit)
        return st->limit < st->len ? MHD_CONTENT_READER_END_WITH_ERROR
                                   : MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = st->limit - (size_t)pos;
    if (n > max)
        n = max;
    if (n > 4096)
        n = 4096;
    memcpy(buf, st->data + pos, n);
    return (ssize_t)n;
}

static void reader_free(void *cls)
{
    free(cls);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload_data, (void)upload_size, (void)con_cls;
    testsrv *s = cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    pthread_mutex_lock(&s->lock);
    route *r = NULL;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->routes[i].path, url) == 0)
            r = &s->routes[i];
    if (!r) {
        pthread_mutex_unlock(&s->lock);
        static const char nf[] = "not found";
        resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    r->requests++;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    snprintf(r->last_range, sizeof(r->last_range), "%s", range ? range : "");
    if (r->location) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Location", r->location);
        pthread_mutex_unlock(&s->lock);
        ret = MHD_queue_response(c, MHD_HTTP_FOUND, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    size_t start = 0;
    int partial = 0;
    if (range && !(r->flags & TESTSRV_NO_RANGE)) {
        unsigned long long from = 0;
        if (sscanf(range, "bytes=%llu-", &from) == 1) {
            if (from >= r->len) {
                char cr[64];
                snprintf(cr, sizeof(cr), "bytes */%zu", r->len);
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(resp, "Content-Range", cr);
                pthread_mutex_unlock(&s->lock);
                ret = MHD_queue_response(c, 416, resp);
                MHD_destroy_response(resp);
                return ret;
            }
            start = (size_t)from;
            partial = 1;
        }
    }
    int head = strcmp(method, "HEAD") == 0;
    stream_state *st = xcalloc(1, sizeof(*st));
    st->data = r->data + start;
    st->len = r->len - start;
    st->limit = st->len;
    if ((r->flags & TESTSRV_CUT_ONCE) && !r->cut_done && !partial && !head) {
        st->limit = r->cut_at < st->len ? r->cut_at : st->len;
        r->cut_done = 1;
    }
    uint64_t size = (r->flags & TESTSRV_NO_LENGTH) ? MHD_SIZE_UNKNOWN : (uint64_t)st->len;
    resp = MHD_create_response_from_callback(size, 4096, reader, st, reader_free);
    if (r->ctype)
        MHD_add_response_header(resp, "Content-Type", r->ctype);
    if (!(r->flags & TESTSRV_NO_RANGE))
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (partial) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", start, r->len - 1, r->len);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    pthread_mutex_unlock(&s->lock);
    ret = MHD_queue_response(c, partial ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

testsrv *testsrv_start(void)
{
    testsrv *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_ERROR_LOG,
                            0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
    if (!s->d) {
        fprintf(stderr, "testsrv: MHD_start_daemon failed\n");
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s;
}

int testsrv_port(const testsrv *s)
{
    return s->port;
}

static route *new_route(testsrv *s, const char *path)
{
    OM_ASSERT(s->n < (int)OM_ARRAY_LEN(s->routes));
    route *r = &s->routes[s->n++];
    memset(r, 0, sizeof(*r));
    r->path = xstrdup(path);
    return r;
}

void testsrv_add(testsrv *s, const char *path, const char *content_type, const void *data,
                 size_t len, int flags, size_t cut_at)
{
    pthread_mutex_lock(&s->lock);
    route *r = new_route(s, path);
    r->ctype = xstrdup(content_type);
    r->data = xmalloc(len + 1);
    memcpy(r->data, data, len);
    r->len = len;
    r->flags = flags;
    r->cut_at = cut_at;
    pthread_mutex_unlock(&s->lock);
}

void testsrv_redirect(testsrv *s, const char *path, const char *location)
{
    pthread_mutex_lock(&s->lock);
    route *r = new_route(s, path);
    r->location = xstrdup(location);
    pthread_mutex_unlock(&s->lock);
}

static route *find(testsrv *s, const char *path)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            return &s->routes[i];
    return NULL;
}

int testsrv_requests(testsrv *s, const char *path)
{
    pthread_mutex_lock(&s->lock);
    route *r = find(s, path);
    int n = r ? r->requests : 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void testsrv_last_range(testsrv *s, const char *path, char *buf, size_t n)
{
    pthread_mutex_lock(&s->lock);
    route *r = find(s, path);
    snprintf(buf, n, "%s", r ? r->last_range : "");
    pthread_mutex_unlock(&s->lock);
}

void testsrv_stop(testsrv *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    for (int i = 0; i < s->n; i++) {
        free(s->routes[i].path);
        free(s->routes[i].ctype);
        free(s->routes[i].data);
        free(s->routes[i].location);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}
