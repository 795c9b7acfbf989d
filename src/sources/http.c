/* http.c: libcurl transfers for the source drivers: bounded GETs into memory (feeds) and
 * media downloads to a file with a size cap, resume from a .part file (Range), redirect and
 * protocol limits, content-type sanity and SHA-256 computed while the bytes arrive. The
 * "direct" platform's driver (one media URL = one post) lives here too. */
#include "base/common.h"
#include "base/fsutil.h"
#include "sources/sources_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER_AGENT "omniva/0.1 (+https://github.com/omniva-engine)"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void om_http_result_release(om_http_result *r)
{
    free(r->content_type);
    free(r->final_url);
    memset(r, 0, sizeof(*r));
}

typedef struct xfer {
    om_source_ctx *ctx;
    CURL *curl;
    /* memory mode */
    om_sbuf *mem;
    /* file mode */
    int fd;
    EVP_MD_CTX *md;
    int64_t existing; /* bytes already in the .part when the request started */
    int64_t written;  /* bytes written by this request */
    int resuming;     /* a Range request was sent */
    int started;      /* first body byte seen and checked */
    int restarted;    /* server ignored the Range: .part truncated */
    int64_t cap;
    int fail_code; /* our own abort reason (OM_E*) */
    char fail_msg[512];
    const char *url;
} xfer;

static int xfer_fail(xfer *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int xfer_fail(xfer *x, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->fail_msg, sizeof(x->fail_msg), fmt, ap);
    va_end(ap);
    x->fail_code = code;
    return 0;
}

static int media_type_ok(const char *ct)
{
    if (!ct)
        return 1;
    static const char *const bad[] = {
        "text/",           "application/xhtml", "application/json", "application/xml",
        "application/rss", "application/atom",  "image/",           NULL};
    for (size_t i = 0; bad[i]; i++)
        if (strncasecmp(ct, bad[i], strlen(bad[i])) == 0)
            return 0;
    return 1;
}

static int64_t human_mib(int64_t b)
{
    return b / (1024 * 1024);
}

/* Called once before the first body byte: status, Range handling, content type, size. */
static int xfer_start(xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->mem)
        return 1; /* memory mode checks the status after the transfer */
    if (status >= 400)
        return 1; /* body ignored; status handled after the transfer */
    if (x->resuming && status == 200) {
        /* the server sent the whole file instead of the range: start over */
        if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0)
            return xfer_fail(x, OM_EIO, "truncating partial file: %s", strerror(errno));
        EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
        x->existing = 0;
        x->restarted = 1;
    }
    char *ct = NULL;
    curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ct);
    if (!media_type_ok(ct))
        return xfer_fail(x, OM_EINVAL, "expected media from %s but the server sent '%s'", x->url,
                         ct);
    curl_off_t cl = -1;
    curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl >= 0 && x->existing + (int64_t)cl > x->cap)
        return xfer_fail(x, OM_EINVAL,
                         "%s is %lld bytes, over the download size cap of %lld bytes (%lld MiB; "
                         "[scraper] max_bytes)",
                         x->url, (long long)(x->existing + cl), (long long)x->cap,
                         (long long)human_mib(x->cap));
    return 1;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->started) {
        x->started = 1;
        if (!xfer_start(x))
            return 0;
    }
    if (x->mem) {
        if (sb_append(x->mem, data, n) != OM_OK) {
            om_error_clear();
            xfer_fail(x, OM_EINVAL, "%s is bigger than the limit of %lld bytes", x->url,
                      (long long)x->mem->cap);
            return 0;
        }
        return n;
    }
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400)
        return n; /* discard error bodies */
    if (x->existing + x->written + (int64_t)n > x->cap) {
        xfer_fail(x, OM_EINVAL,
                  "%s exceeded the download size cap of %lld bytes (%lld MiB; [scraper] "
                  "max_bytes)",
                  x->url, (long long)x->cap, (long long)human_mib(x->cap));
        return 0;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(x->fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            xfer_fail(x, OM_EIO, "writing download: %s", strerror(errno));
            return 0;
        }
        off += (size_t)w;
    }
    EVP_DigestUpdate(x->md, data, n);
    x->written += (int64_t)n;
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    xfer *x = ud;
    return (x->ctx->cancel && *x->ctx->cancel) ? 1 : 0;
}

static CURL *easy_new(om_source_ctx *ctx, xfer *x, const char *url, int64_t timeout_ms,
                      char *errbuf)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS,
                     (long)(ctx->max_redirects >= 0 ? ctx->max_redirects : 5));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(ctx->connect_timeout_ms > 0 ? ctx->connect_timeout_ms : 30000));
    if (timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 512L); /* bytes/s ... */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);   /* ... for a minute: stalled */
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    return c;
}

static int status_error(const char *url, long status)
{
    int code = OM_EIO;
    if (status == 404 || status == 410)
        code = OM_ENOTFOUND;
    else if (status >= 400 && status < 500 && status != 408 && status != 429)
        code = OM_EPERMANENT;
    return om_error_set(code, "GET %s: HTTP %ld", url, status);
}

static int curl_error(xfer *x, CURLcode cc, const char *errbuf, const char *url)
{
    if (x->fail_code)
        return om_error_set(x->fail_code, "%s", x->fail_msg);
    const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return om_error_set(OM_ETIMEOUT, "GET %s: %s", url, msg);
    case CURLE_ABORTED_BY_CALLBACK:
        return om_error_set(OM_ETIMEOUT, "GET %s: cancelled", url);
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return om_error_set(OM_EPERMANENT, "GET %s: %s", url, msg);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return om_error_set(OM_EUNAVAIL, "GET %s: %s", url, msg);
    default:
        return om_error_set(OM_EIO, "GET %s: %s", url, msg);
    }
}

static void fill_result(CURL *c, om_http_result *res)
{
    long status = 0;
    char *ct = NULL, *eff = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
    res->status = status;
    free(res->content_type);
    free(res->final_url);
    res->content_type = xstrdup(ct);
    res->final_url = xstrdup(eff);
}

int om_http_get(om_source_ctx *ctx, const char *url, int64_t max_bytes, int64_t timeout_ms,
                char **body_out, size_t *len_out, om_http_result *res)
{
    *body_out = NULL;
    if (len_out)
        *len_out = 0;
    om_http_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    om_sbuf sb = OM_SBUF_INIT;
    sb.cap = (size_t)(max_bytes > 0 ? max_bytes : ctx->feed_max_bytes);
    xfer x = {.ctx = ctx, .mem = &sb, .fd = -1, .cap = max_bytes, .url = url};
    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL *c = easy_new(ctx, &x, url, timeout_ms, errbuf);
    if (!c)
        return om_error_set(OM_ERROR, "curl_easy_init failed");
    x.curl = c;
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode cc = curl_easy_perform(c);
    int rc = OM_OK;
    fill_result(c, res);
    if (cc != CURLE_OK)
        rc = curl_error(&x, cc, errbuf, url);
    else if (res->status >= 400)
        rc = status_error(url, res->status);
    curl_easy_cleanup(c);
    if (rc != OM_OK) {
        sb_release(&sb);
        om_http_result_release(res);
        return rc;
    }
    res->size_bytes = (int64_t)sb.len;
    if (len_out)
        *len_out = sb.len;
    *body_out = sb_detach(&sb);
    if (res == &local)
        om_http_result_release(&local);
    return OM_OK;
}

/* Feeds the existing bytes of the .part file into the digest. */
static int hash_existing(int fd, EVP_MD_CTX *md, int64_t *len_out)
{
    char buf[65536];
    int64_t total = 0;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return om_error_set(OM_EIO, "seek: %s", strerror(errno));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return om_error_set(OM_EIO, "reading partial download: %s", strerror(errno));
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        total += n;
    }
    *len_out = total;
    return OM_OK;
}

static int download_once(om_source_ctx *ctx, const char *url, const char *dest, const char *part,
                         om_http_result *res, int *retry_fresh)
{
    *retry_fresh = 0;
    int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return om_error_set(OM_EIO, "open %s: %s", part, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int64_t existing = 0;
    int rc = hash_existing(fd, md, &existing);
    if (rc != OM_OK) {
        EVP_MD_CTX_free(md);
        close(fd);
        return rc;
    }
    if (existing > ctx->max_bytes) {
        EVP_MD_CTX_free(md);
        close(fd);
        unlink(part);
        return om_error_set(OM_EINVAL, "partial download of %s is over the size cap", url);
    }
    xfer x = {.ctx = ctx,
              .fd = fd,
              .md = md,
              .existing = existing,
              .cap = ctx->max_bytes,
              .url = url,
              .resuming = existing > 0};
    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL *c = easy_new(ctx, &x, url, ctx->http_timeout_ms, errbuf);
    if (!c) {
        EVP_MD_CTX_free(md);
        close(fd);
        return om_error_set(OM_ERROR, "curl_easy_init failed");
    }
    x.curl = c;
    if (existing > 0)
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)existing);
    CURLcode cc = curl_easy_perform(c);
    fill_result(c, res);
    if (cc == CURLE_OK && res->status >= 400) {
        if (res->status == 416 && existing > 0) {
            *retry_fresh = 1; /* our .part does not fit the remote file any more */
            rc = om_error_set(OM_EIO, "GET %s: HTTP 416 for a resumed download", url);
        } else {
            rc = status_error(url, res->status);
        }
    } else if (cc != CURLE_OK) {
        if (cc == CURLE_RANGE_ERROR && existing > 0)
            *retry_fresh = 1;
        rc = curl_error(&x, cc, errbuf, url);
    }
    curl_easy_cleanup(c);
    unsigned char digest[32];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    if (rc == OM_OK && fsync(fd) != 0)
        rc = om_error_set(OM_EIO, "fsync %s: %s", part, strerror(errno));
    close(fd);
    if (rc != OM_OK) {
        /* keep the .part for a later resume unless it is useless */
        if (x.fail_code == OM_EINVAL || *retry_fresh || rc == OM_EPERMANENT || rc == OM_ENOTFOUND)
            unlink(part);
        return rc;
    }
    res->resumed = x.resuming && !x.restarted;
    res->size_bytes = x.existing + x.written;
    for (unsigned i = 0; i < dlen; i++)
        snprintf(res->sha256 + 2 * i, 3, "%02x", digest[i]);
    if (rename(part, dest) != 0)
        return om_error_set(OM_EIO, "rename %s: %s", part, strerror(errno));
    return OM_OK;
}

int om_http_download(om_source_ctx *ctx, const char *url, const char *dest_path,
                     om_http_result *res)
{
    om_http_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    char *part = xasprintf("%s.part", dest_path);
    int retry_fresh = 0;
    int rc = download_once(ctx, url, dest_path, part, res, &retry_fresh);
    if (rc != OM_OK && retry_fresh) {
        om_warn("scraper_worker", "resume of %s refused (%s); downloading from the start", url,
                om_error_msg());
        om_error_clear();
        unlink(part);
        rc = download_once(ctx, url, dest_path, part, res, &retry_fresh);
    }
    free(part);
    if (res == &local || rc != OM_OK)
        om_http_result_release(res);
    return rc;
}

/* ---- the "direct" driver: the creator URL is one media file ---- */

static char *rate_key_for(const char *platform, const char *url)
{
    char *host = om_url_host(url);
    char *k = host ? xasprintf("%s@%s", platform, host) : xstrdup(platform);
    free(host);
    return k;
}

static int direct_list(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                       om_source_entries *out)
{
    (void)ctx;
    if (limit == 0)
        return OM_OK;
    om_source_entry *e = om_source_entries_add(out);
    om_source_entry_set(e, cr->username, cr->profile_url, cr->profile_url, "http");
    e->rate_key = rate_key_for("direct", cr->profile_url);
    const char *base = strrchr(cr->username, '/');
    e->title = xstrdup(base ? base + 1 : cr->username);
    e->raw = json_pack("{s:s, s:s, s:s}", "omniva_driver", "http", "webpage_url", cr->profile_url,
                       "title", e->title);
    return OM_OK;
}

/* Extension from the URL path, else from the content type, else "mp4". */
static char *media_ext(const char *url, const char *ctype)
{
    char ext[16];
    om_source_ext(url, ext);
    if (om_source_is_media_name(url))
        return xstrdup(ext);
    static const struct {
        const char *ct, *ext;
    } map[] = {{"video/mp4", "mp4"},        {"video/webm", "webm"}, {"video/quicktime", "mov"},
               {"video/x-matroska", "mkv"}, {"audio/mp4", "m4a"},   {"audio/mpeg", "mp3"},
               {"audio/ogg", "ogg"},        {"video/ogg", "ogv"},   {"audio/wav", "wav"},
               {"audio/x-wav", "wav"},      {"audio/flac", "flac"}, {"video/mp2t", "ts"}};
    for (size_t i = 0; ctype && i < OM_ARRAY_LEN(map); i++)
        if (strncasecmp(ctype, map[i].ct, strlen(map[i].ct)) == 0)
            return xstrdup(map[i].ext);
    return xstrdup("mp4");
}

static int http_fetch(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                      const char *stem, om_source_media *out)
{
    memset(out, 0, sizeof(*out));
    int rc = om_mkdirs(dest_dir, 0755);
    if (rc != OM_OK)
        return rc;
    rc = om_source_throttle(ctx, e->rate_key);
    if (rc != OM_OK)
        return rc;
    /* the name is fixed before the transfer so that a .part can be resumed */
    char *ext = media_ext(e->media_url, NULL);
    char *dest = xasprintf("%s/%s.%s", dest_dir, stem, ext);
    om_http_result res;
    rc = om_http_download(ctx, e->media_url, dest, &res);
    if (rc != OM_OK) {
        free(ext);
        free(dest);
        return rc;
    }
    char *better = media_ext(res.final_url ? res.final_url : e->media_url, res.content_type);
    if (!om_source_is_media_name(e->media_url) && strcmp(better, ext) != 0) {
        char *d2 = xasprintf("%s/%s.%s", dest_dir, stem, better);
        if (rename(dest, d2) == 0) {
            free(dest);
            dest = d2;
            free(ext);
            ext = xstrdup(better);
        } else {
            free(d2);
        }
    }
    free(better);
    out->media_path = dest;
    out->ext = ext;
    memcpy(out->sha256, res.sha256, sizeof(out->sha256));
    out->size_bytes = res.size_bytes;
    out->raw = json_pack("{s:{s:s, s:s*, s:s*, s:I, s:b}}", "download", "fetcher", "http",
                         "content_type", res.content_type, "final_url", res.final_url, "size_bytes",
                         (json_int_t)res.size_bytes, "resumed", res.resumed);
    om_http_result_release(&res);
    return OM_OK;
}

const om_source_driver om_source_http = {
    .name = "http",
    .list = direct_list,
    .fetch = http_fetch,
};
