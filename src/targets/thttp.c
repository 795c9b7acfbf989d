/* thttp.c: the targets' libcurl client (see thttp.h). */
#include "base/common.h"

#include <curl/curl.h>
#include <ctype.h>
#include <pthread.h>
#include <strings.h>
#include <unistd.h>

#include "targets/thttp.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct rdctx {
    const thttp_req *rq;
    int64_t pos; /* bytes of the body handed out */
} rdctx;

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
    rdctx *r = arg;
    int64_t want = (int64_t)(size * n), left = r->rq->file_len - r->pos;
    if (want > left)
        want = left;
    if (want <= 0)
        return 0;
    ssize_t got = pread(r->rq->file_fd, buf, (size_t)want, r->rq->file_off + r->pos);
    if (got < 0)
        return CURL_READFUNC_ABORT;
    r->pos += got;
    if (r->rq->sent_out)
        *r->rq->sent_out = r->pos;
    return (size_t)got;
}

typedef struct wrctx {
    om_sbuf sb;
    size_t max;
} wrctx;

static size_t write_cb(char *buf, size_t size, size_t n, void *arg)
{
    wrctx *w = arg;
    size_t len = size * n;
    if (w->sb.len < w->max)
        sb_append(&w->sb, buf, len < w->max - w->sb.len ? len : w->max - w->sb.len);
    return len;
}

static char *header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    return xstrndup(v, (size_t)(end - v));
}

static size_t header_cb(char *buf, size_t size, size_t n, void *arg)
{
    thttp_resp *r = arg;
    size_t len = size * n;
    if (len >= 5 && !strncmp(buf, "HTTP/", 5)) { /* a new response (after 100 Continue) */
        free(r->location), free(r->range), free(r->retry_after);
        r->location = r->range = r->retry_after = NULL;
        return len;
    }
    char *v;
    if ((v = header_value(buf, len, "Location")))
        free(r->location), r->location = v;
    else if ((v = header_value(buf, len, "Range")))
        free(r->range), r->range = v;
    else if ((v = header_value(buf, len, "Retry-After")))
        free(r->retry_after), r->retry_after = v;
    return len;
}

int thttp_do(const thttp_req *rq, thttp_resp *out)
{
    memset(out, 0, sizeof(*out));
    pthread_once(&curl_once, curl_init_once);
    CURL *h = curl_easy_init();
    if (!h)
        return om_error_set(OM_ERROR, "curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hl = NULL;
    for (size_t i = 0; rq->headers && rq->headers[i]; i++)
        hl = curl_slist_append(hl, rq->headers[i]);
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip per chunk */
    wrctx w = {OM_SBUF_INIT, rq->max_body ? rq->max_body : (1u << 20)};
    rdctx rd = {rq, 0};
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rq->timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, rq->timeout_s);
    int has_file = rq->file_fd >= 0;
    if (!strcmp(rq->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(rq->method, "POST") && !has_file) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else {
        /* PUT (or POST) with a streamed body: a file range, or memory, or nothing */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        if (has_file) {
            curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
            curl_easy_setopt(h, CURLOPT_READDATA, &rd);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->file_len);
            curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
        } else {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 0L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        }
    }
    CURLcode cc = curl_easy_perform(h);
    int rc = OM_OK;
    if (cc != CURLE_OK) {
        rc = om_error_set(OM_EIO, "%s %s: %s", rq->method, rq->url,
                          *errbuf ? errbuf : curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    }
    out->len = w.sb.len;
    out->body = sb_detach(&w.sb);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

void thttp_resp_release(thttp_resp *r)
{
    free(r->body);
    free(r->location);
    free(r->range);
    free(r->retry_after);
    memset(r, 0, sizeof(*r));
}

char *thttp_escape(const char *s)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            sb_append(&sb, p, 1);
        else
            sb_printf(&sb, "%%%02X", *p);
    }
    return sb_detach(&sb);
}
