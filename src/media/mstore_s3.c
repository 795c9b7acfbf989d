/*
 * mstore_s3.c: the media store backend of an S3-compatible bucket (s3://bucket/prefix).
 *
 * libcurl signs every request with its built-in AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3", the key pair as CURLOPT_USERPWD); each request
 * carries x-amz-content-sha256, the SHA-256 of its body, which the service checks. Objects
 * also record x-amz-meta-sha256 (the whole file's), which stat returns and get verifies.
 * Files above [media] s3_part_mb go up as a multipart upload (CreateMultipartUpload,
 * UploadPart each part, CompleteMultipartUpload; AbortMultipartUpload when any part
 * fails), so a reader sees the whole object or none. 5xx, 429 and network errors are
 * retried [media] s3_retries times with exponential backoff and jitter. Path-style
 * addressing (ENDPOINT/bucket/key) with [media] s3_path_style, for local servers; else
 * virtual-hosted (bucket.HOST/key). The secret key is never logged or put in an error.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "media/mstore_backend.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define RESP_CAP (8u << 20)

typedef struct s3 {
    char *bucket, *prefix; /* prefix: no leading or trailing '/', may be "" */
    char *scheme_host;     /* "http://127.0.0.1:9000" (path-style) or "https://bucket.host" */
    char *sigv4, *userpwd;
    int path_style;
    int64_t part_bytes;
    long retries, connect_timeout_s, timeout_s, list_page;
    CURL *curl;
} s3;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The secret key: $[media] s3_secret_env, else the first line of [media] s3_secret_file
 * (which must not be readable by group or others). */
static int read_secret(const om_config *cfg, char **out)
{
    *out = NULL;
    const char *var = om_config_str(cfg, "media.s3_secret_env");
    const char *v = var && *var ? getenv(var) : NULL;
    if (v && *v) {
        *out = xstrdup(v);
        return OM_OK;
    }
    const char *file = om_config_str(cfg, "media.s3_secret_file");
    if (!file || !*file)
        return om_error_set(OM_EINVAL,
                            "s3 media store: no secret key (set $%s or [media] s3_secret_file)",
                            var && *var ? var : "AWS_SECRET_ACCESS_KEY");
    struct stat st;
    if (stat(file, &st) != 0)
        return om_error_set(OM_EINVAL, "s3 media store: secret file %s: %s", file,
                            strerror(errno));
    if (st.st_mode & 077)
        return om_error_set(OM_EINVAL,
                            "s3 media store: secret file %s is readable by others (mode %03o); "
                            "chmod 600 it",
                            file, (unsigned)(st.st_mode & 0777));
    char *text = NULL;
    size_t len = 0;
    int rc = om_read_file(file, 4096, &text, &len);
    if (rc != OM_OK)
        return om_error_wrap(rc, "s3 media store: secret file");
    text[strcspn(text, "\r\n")] = '\0';
    if (!*text) {
        free(text);
        return om_error_set(OM_EINVAL, "s3 media store: secret file %s is empty", file);
    }
    *out = text;
    return OM_OK;
}

static int s3_open(void **st, const om_config *cfg, const char *uri)
{
    pthread_once(&curl_once, curl_init_once);
    const char *p = uri + strlen("s3://");
    size_t bl = strcspn(p, "/");
    if (bl == 0 || bl > 63)
        return om_error_set(OM_EINVAL, "media store %s: s3://BUCKET/prefix needs a bucket name",
                            uri);
    for (size_t i = 0; i < bl; i++)
        if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '-' ||
              p[i] == '.'))
            return om_error_set(OM_EINVAL,
                                "media store %s: bucket names are lower-case letters, digits, "
                                "'-' and '.'",
                                uri);
    const char *ak = om_config_str(cfg, "media.s3_access_key");
    if (!ak || !*ak)
        ak = getenv("AWS_ACCESS_KEY_ID");
    if (!ak || !*ak)
        return om_error_set(OM_EINVAL, "media store %s: no access key ([media] s3_access_key "
                                       "or $AWS_ACCESS_KEY_ID)",
                            uri);
    char *secret = NULL;
    int rc = read_secret(cfg, &secret);
    if (rc != OM_OK)
        return rc;
    s3 *s = xcalloc(1, sizeof(*s));
    s->bucket = xstrndup(p, bl);
    const char *pre = p + bl;
    while (*pre == '/')
        pre++;
    s->prefix = xstrdup(pre);
    size_t pl = strlen(s->prefix);
    while (pl > 0 && s->prefix[pl - 1] == '/')
        s->prefix[--pl] = '\0';
    const char *region = om_config_str(cfg, "media.s3_region");
    const char *ep = om_config_str(cfg, "media.s3_endpoint");
    s->path_style = om_config_bool(cfg, "media.s3_path_style");
    char *endpoint = ep && *ep ? xstrdup(ep) : xasprintf("https://s3.%s.amazonaws.com", region);
    size_t el = strlen(endpoint);
    while (el > 0 && endpoint[el - 1] == '/')
        endpoint[--el] = '\0';
    if (s->path_style) {
        s->scheme_host = endpoint;
    } else {
        const char *hs = strstr(endpoint, "://");
        if (!hs) {
            free(endpoint);
            free(secret);
            s->scheme_host = NULL;
            free(s->bucket);
            free(s->prefix);
            free(s);
            return om_error_set(OM_EINVAL, "[media] s3_endpoint needs a scheme (http:// or "
                                           "https://)");
        }
        s->scheme_host = xasprintf("%.*s%s.%s", (int)(hs + 3 - endpoint), endpoint, s->bucket,
                                   hs + 3);
        free(endpoint);
    }
    s->sigv4 = xasprintf("aws:amz:%s:s3", region);
    s->userpwd = xasprintf("%s:%s", ak, secret);
    explicit_bzero(secret, strlen(secret));
    free(secret);
    s->part_bytes = (int64_t)om_config_long(cfg, "media.s3_part_mb") * 1024 * 1024;
    s->retries = om_config_long(cfg, "media.s3_retries");
    s->connect_timeout_s = om_config_long(cfg, "scraper.connect_timeout_s");
    s->timeout_s = om_config_long(cfg, "media.s3_timeout_s");
    s->list_page = om_config_long(cfg, "media.s3_list_page");
    s->curl = curl_easy_init();
    if (!s->curl) {
        free(s);
        return om_error_set(OM_ERROR, "curl_easy_init failed");
    }
    *st = s;
    return OM_OK;
}

static void s3_close(void *st)
{
    s3 *s = st;
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->userpwd) {
        explicit_bzero(s->userpwd, strlen(s->userpwd));
        free(s->userpwd);
    }
    free(s->sigv4);
    free(s->scheme_host);
    free(s->bucket);
    free(s->prefix);
    free(s);
}

static char *s3_name(void *st, const char *key)
{
    s3 *s = st;
    return *s->prefix ? xasprintf("%s/%s", s->prefix, key) : xstrdup(key);
}

static char *s3_row(void *st, const om_config *cfg, const char *name)
{
    (void)cfg;
    s3 *s = st;
    return xasprintf("s3://%s/%s", s->bucket, name);
}

static char *s3_from_row(void *st, const om_config *cfg, const char *row)
{
    (void)cfg;
    s3 *s = st;
    size_t bl = strlen(s->bucket);
    if (strncmp(row, "s3://", 5) != 0 || strncmp(row + 5, s->bucket, bl) != 0 ||
        row[5 + bl] != '/')
        return NULL;
    return xstrdup(row + 5 + bl + 1);
}

static const char *s3_root(void *st)
{
    return ((s3 *)st)->prefix;
}

/* ---- one request -------------------------------------------------------------------- */

typedef struct s3req {
    const char *method, *name, *query;
    const char *body; /* in memory, or */
    size_t body_len;
    int in_fd; /* from a file range */
    int64_t in_off, in_len, in_pos;
    const char *sha256;      /* of the body; NULL: computed (memory bodies) */
    const char *meta_sha256; /* x-amz-meta-sha256 to record (PUT, CreateMultipartUpload) */
    int out_fd;              /* GET into this file (else the response body is kept) */
    /* response */
    long status;
    om_sbuf resp;
    char etag[160], meta[OM_SHA256_HEX_LEN], lastmod[64];
    int64_t clen;
    int out_err;
} s3req;

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    s3req *r = ud;
    size_t len = size * n;
    if (len > 9 && !strncmp(buf, "HTTP/", 5)) { /* a status line: the body's fate hangs on it */
        const char *sp = memchr(buf, ' ', len);
        if (sp)
            r->status = strtol(sp + 1, NULL, 10);
        return len;
    }
    const char *hdrs[] = {"etag:", "content-length:", "x-amz-meta-sha256:", "last-modified:"};
    for (size_t i = 0; i < 4; i++) {
        size_t hl = strlen(hdrs[i]);
        if (len > hl && strncasecmp(buf, hdrs[i], hl) == 0) {
            const char *v = buf + hl;
            size_t vl = len - hl;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                vl--;
            if (i == 0)
                snprintf(r->etag, sizeof(r->etag), "%.*s", (int)vl, v);
            else if (i == 1)
                r->clen = strtoll(v, NULL, 10);
            else if (i == 2)
                snprintf(r->meta, sizeof(r->meta), "%.*s", (int)vl, v);
            else
                snprintf(r->lastmod, sizeof(r->lastmod), "%.*s", (int)vl, v);
        }
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    s3req *r = ud;
    size_t len = size * n;
    if (r->out_fd >= 0 && r->status / 100 == 2) {
        size_t done = 0;
        while (done < len) {
            ssize_t w = write(r->out_fd, buf + done, len - done);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                r->out_err = errno;
                return 0;
            }
            done += (size_t)w;
        }
        return len;
    }
    if (r->resp.len + len > RESP_CAP)
        return 0;
    sb_append(&r->resp, buf, len);
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    s3req *r = ud;
    size_t want = size * n;
    int64_t left = r->in_len - r->in_pos;
    if (left <= 0)
        return 0;
    if ((int64_t)want > left)
        want = (size_t)left;
    ssize_t got;
    do {
        got = pread(r->in_fd, buf, want, r->in_off + r->in_pos);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return CURL_READFUNC_ABORT;
    r->in_pos += got;
    return (size_t)got;
}

/* Percent-encodes an object key for the URL path ('/' kept). */
static char *enc_key(const char *key)
{
    om_sbuf sb = OM_SBUF_INIT;
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '/')
            sb_append(&sb, p, 1);
        else
            sb_printf(&sb, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return sb_detach(&sb);
}

static char *req_url(s3 *s, const s3req *r)
{
    char *k = r->name ? enc_key(r->name) : xstrdup("");
    char *url;
    if (s->path_style)
        url = xasprintf("%s/%s/%s%s%s", s->scheme_host, s->bucket, k, r->query ? "?" : "",
                        r->query ? r->query : "");
    else
        url = xasprintf("%s/%s%s%s", s->scheme_host, k, r->query ? "?" : "",
                        r->query ? r->query : "");
    free(k);
    return url;
}

/* The <Code> of an S3 error body, for the message. */
static void xml_text(const char *body, const char *tag, char *out, size_t cap)
{
    out[0] = '\0';
    if (!body)
        return;
    char open[64], close_[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close_, sizeof(close_), "</%s>", tag);
    const char *a = strstr(body, open);
    if (!a)
        return;
    a += strlen(open);
    const char *b = strstr(a, close_);
    if (!b)
        return;
    snprintf(out, cap, "%.*s", (int)(b - a), a);
}

static int retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static void backoff(long attempt)
{
    unsigned char rnd = 0;
    om_random_bytes(&rnd, 1);
    int64_t ms = 100LL << (attempt < 6 ? attempt : 6);
    ms += (ms * (rnd % 50)) / 100; /* jitter */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One request with retries; OM_OK for a 2xx answer (r->status has it). */
static int s3_do(s3 *s, s3req *r)
{
    char sha[OM_SHA256_HEX_LEN];
    const char *body_sha = r->sha256;
    if (!body_sha) {
        if (r->body && r->body_len)
            om_sha256_hex(r->body, r->body_len, sha);
        else
            snprintf(sha, sizeof(sha), "%s", EMPTY_SHA);
        body_sha = sha;
    }
    char *url = req_url(s, r);
    int rc = OM_OK;
    for (long attempt = 0;; attempt++) {
        CURL *c = s->curl;
        curl_easy_reset(c);
        sb_reset(&r->resp);
        r->status = 0;
        r->etag[0] = r->meta[0] = r->lastmod[0] = '\0';
        r->clen = -1;
        r->in_pos = 0;
        r->out_err = 0;
        if (r->out_fd >= 0) {
            if (ftruncate(r->out_fd, 0) != 0 || lseek(r->out_fd, 0, SEEK_SET) < 0) {
                rc = om_error_set(OM_EIO, "s3 GET %s: truncating the download: %s", r->name,
                                  strerror(errno));
                break;
            }
        }
        struct curl_slist *h = NULL;
        char line[256];
        snprintf(line, sizeof(line), "x-amz-content-sha256: %s", body_sha);
        h = curl_slist_append(h, line);
        if (r->meta_sha256) {
            snprintf(line, sizeof(line), "x-amz-meta-sha256: %s", r->meta_sha256);
            h = curl_slist_append(h, line);
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->connect_timeout_s);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, s->timeout_s);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (!strcmp(r->method, "PUT")) {
            h = curl_slist_append(h, "Content-Type: application/octet-stream");
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, r);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->in_len);
        } else if (!strcmp(r->method, "POST")) {
            h = curl_slist_append(h, "Content-Type: application/xml");
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        } else if (!strcmp(r->method, "HEAD")) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (!strcmp(r->method, "DELETE")) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        /* the status is known before the body arrives: the write callback needs it */
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(h);
        if (cc == CURLE_WRITE_ERROR && r->out_err) {
            rc = om_error_set(OM_EIO, "s3 GET %s: writing: %s", r->name, strerror(r->out_err));
            break;
        }
        int transient = cc != CURLE_OK ? retryable_curl(cc)
                                        : (r->status >= 500 || r->status == 429);
        if (cc == CURLE_OK && r->status / 100 == 2) {
            rc = OM_OK;
            break;
        }
        if (transient && attempt < s->retries) {
            om_debug("media", "s3 %s %s: %s; retry %ld", r->method, r->name ? r->name : "/",
                     cc != CURLE_OK ? curl_easy_strerror(cc) : "server error", attempt + 1);
            backoff(attempt);
            continue;
        }
        if (cc != CURLE_OK) {
            rc = om_error_set(OM_EUNAVAIL, "s3 %s s3://%s/%s: %s", r->method, s->bucket,
                              r->name ? r->name : "", curl_easy_strerror(cc));
            break;
        }
        char code[128], msg[256];
        sb_append(&r->resp, "", 0);
        xml_text(sb_str(&r->resp), "Code", code, sizeof(code));
        xml_text(sb_str(&r->resp), "Message", msg, sizeof(msg));
        int kind = r->status == 404                            ? OM_ENOTFOUND
                   : r->status >= 500 || r->status == 429      ? OM_EUNAVAIL
                   : r->status == 403 || r->status == 400      ? OM_EPERMANENT
                                                               : OM_ERROR;
        rc = om_error_set(kind, "s3 %s s3://%s/%s: HTTP %ld%s%s%s%s", r->method, s->bucket,
                          r->name ? r->name : "", r->status, *code ? " " : "", code,
                          *msg ? ": " : "", msg);
        break;
    }
    free(url);
    return rc;
}

static void req_init(s3req *r, const char *method, const char *name, const char *query)
{
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->name = name;
    r->query = query;
    r->in_fd = -1;
    r->out_fd = -1;
    r->resp = (om_sbuf)OM_SBUF_INIT;
    r->resp.cap = RESP_CAP;
}

/* ---- operations --------------------------------------------------------------------- */

/* SHA-256 (hex) of a byte range of fd. */
static int sha_range(int fd, int64_t off, int64_t len, char out[OM_SHA256_HEX_LEN])
{
    char *buf = xmalloc(1 << 20);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int rc = OM_OK;
    int64_t done = 0;
    while (done < len) {
        size_t want = (size_t)(len - done < (1 << 20) ? len - done : (1 << 20));
        ssize_t got = pread(fd, buf, want, off + done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = om_error_set(OM_EIO, "reading for the checksum: %s",
                              got < 0 ? strerror(errno) : "short file");
            break;
        }
        EVP_DigestUpdate(md, buf, (size_t)got);
        done += got;
    }
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    free(buf);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return rc;
}

static int put_single(s3 *s, const char *name, int fd, int64_t size, const char *sha256)
{
    s3req r;
    req_init(&r, "PUT", name, NULL);
    r.in_fd = fd;
    r.in_len = size;
    r.sha256 = sha256;
    r.meta_sha256 = sha256;
    int rc = s3_do(s, &r);
    sb_release(&r.resp);
    return rc;
}

static void abort_upload(s3 *s, const char *name, const char *upload_id)
{
    char *q = xasprintf("uploadId=%s", upload_id);
    s3req r;
    req_init(&r, "DELETE", name, q);
    if (s3_do(s, &r) != OM_OK) {
        om_warn("media", "aborting multipart upload of s3://%s/%s: %s", s->bucket, name,
                om_error_msg());
        om_error_clear();
    }
    sb_release(&r.resp);
    free(q);
}

/* CreateMultipartUpload, UploadPart each part (its own SHA-256), CompleteMultipartUpload;
 * AbortMultipartUpload on any failure. */
static int put_multipart(s3 *s, const char *name, int fd, int64_t size, const char *sha256)
{
    s3req r;
    req_init(&r, "POST", name, "uploads=");
    r.meta_sha256 = sha256;
    int rc = s3_do(s, &r);
    char upload_id[1024] = "";
    if (rc == OM_OK) {
        sb_append(&r.resp, "", 0);
        xml_text(sb_str(&r.resp), "UploadId", upload_id, sizeof(upload_id));
        if (!*upload_id)
            rc = om_error_set(OM_EIO, "s3 CreateMultipartUpload s3://%s/%s: no UploadId",
                              s->bucket, name);
    }
    sb_release(&r.resp);
    if (rc != OM_OK)
        return om_error_wrap(rc, "multipart upload");
    int64_t nparts = (size + s->part_bytes - 1) / s->part_bytes;
    om_sbuf done = OM_SBUF_INIT;
    sb_puts(&done, "<CompleteMultipartUpload>");
    for (int64_t i = 0; rc == OM_OK && i < nparts; i++) {
        int64_t off = i * s->part_bytes;
        int64_t len = size - off < s->part_bytes ? size - off : s->part_bytes;
        char psha[OM_SHA256_HEX_LEN];
        rc = sha_range(fd, off, len, psha);
        if (rc != OM_OK)
            break;
        char *q = xasprintf("partNumber=%lld&uploadId=%s", (long long)(i + 1), upload_id);
        req_init(&r, "PUT", name, q);
        r.in_fd = fd;
        r.in_off = off;
        r.in_len = len;
        r.sha256 = psha;
        rc = s3_do(s, &r);
        if (rc == OM_OK && !r.etag[0])
            rc = om_error_set(OM_EIO, "s3 UploadPart %lld of s3://%s/%s: no ETag",
                              (long long)(i + 1), s->bucket, name);
        if (rc == OM_OK)
            sb_printf(&done, "<Part><PartNumber>%lld</PartNumber><ETag>%s</ETag></Part>",
                      (long long)(i + 1), r.etag);
        sb_release(&r.resp);
        free(q);
    }
    sb_puts(&done, "</CompleteMultipartUpload>");
    if (rc == OM_OK) {
        char *q = xasprintf("uploadId=%s", upload_id);
        req_init(&r, "POST", name, q);
        r.body = sb_str(&done);
        r.body_len = done.len;
        rc = s3_do(s, &r);
        /* S3 may answer 200 with an <Error> body when the assembly failed */
        sb_append(&r.resp, "", 0);
        if (rc == OM_OK && strstr(sb_str(&r.resp), "<Error>")) {
            char code[128];
            xml_text(sb_str(&r.resp), "Code", code, sizeof(code));
            rc = om_error_set(OM_EIO, "s3 CompleteMultipartUpload s3://%s/%s: %s", s->bucket,
                              name, code);
        }
        sb_release(&r.resp);
        free(q);
    }
    sb_release(&done);
    if (rc != OM_OK) {
        char *msg = xstrdup(om_error_msg());
        int code = rc;
        abort_upload(s, name, upload_id);
        rc = om_error_set(code, "%s (multipart upload aborted)", msg);
        free(msg);
    }
    return rc;
}

static int s3_put(void *st, const char *name, const char *local, const char *sha256, int move)
{
    (void)move; /* the wrapper moves the local file into the cache */
    s3 *s = st;
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return om_error_set(OM_EIO, "%s: %s", local, strerror(errno));
    struct stat stt;
    int rc = fstat(fd, &stt) == 0 ? OM_OK : om_error_set(OM_EIO, "%s: %s", local, strerror(errno));
    char sha[OM_SHA256_HEX_LEN];
    if (rc == OM_OK && !sha256) {
        rc = sha_range(fd, 0, (int64_t)stt.st_size, sha);
        sha256 = sha;
    }
    if (rc == OM_OK) {
        if ((int64_t)stt.st_size > s->part_bytes)
            rc = put_multipart(s, name, fd, (int64_t)stt.st_size, sha256);
        else
            rc = put_single(s, name, fd, (int64_t)stt.st_size, sha256);
    }
    close(fd);
    return rc;
}

static int s3_get(void *st, const char *name, const char *dest)
{
    s3 *s = st;
    int fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return om_error_set(OM_EIO, "%s: %s", dest, strerror(errno));
    s3req r;
    req_init(&r, "GET", name, NULL);
    r.out_fd = fd;
    int rc = s3_do(s, &r);
    if (rc == OM_OK && fsync(fd) != 0)
        rc = om_error_set(OM_EIO, "%s: %s", dest, strerror(errno));
    if (close(fd) != 0 && rc == OM_OK)
        rc = om_error_set(OM_EIO, "%s: %s", dest, strerror(errno));
    if (rc == OM_OK && r.meta[0]) { /* the store recorded the file's SHA-256 */
        char have[OM_SHA256_HEX_LEN];
        rc = om_sha256_file(dest, have);
        if (rc == OM_OK && strcmp(have, r.meta) != 0)
            rc = om_error_set(OM_EIO, "s3 GET s3://%s/%s: SHA-256 %.12s, recorded %.12s",
                              s->bucket, name, have, r.meta);
    }
    sb_release(&r.resp);
    if (rc != OM_OK)
        unlink(dest);
    return rc;
}

static int64_t http_date_us(const char *d)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!*d || !strptime(d, "%a, %d %b %Y %H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm) * 1000000;
}

static int s3_stat(void *st, const char *name, om_mstat *out)
{
    s3 *s = st;
    memset(out, 0, sizeof(*out));
    s3req r;
    req_init(&r, "HEAD", name, NULL);
    int rc = s3_do(s, &r);
    if (rc == OM_OK) {
        out->size = r.clen;
        snprintf(out->sha256, sizeof(out->sha256), "%s", r.meta);
        out->mtime_us = http_date_us(r.lastmod);
    }
    sb_release(&r.resp);
    return rc;
}

static int s3_del(void *st, const char *name)
{
    s3 *s = st;
    s3req r;
    req_init(&r, "DELETE", name, NULL);
    int rc = s3_do(s, &r);
    sb_release(&r.resp);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        rc = OM_OK;
    }
    return rc;
}

/* XML text with the five predefined entities decoded. */
static char *xml_unescape(const char *a, size_t n)
{
    om_sbuf sb = OM_SBUF_INIT;
    static const struct { const char *e; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < n; i++) {
        int hit = 0;
        if (a[i] == '&')
            for (size_t k = 0; k < 5 && !hit; k++) {
                size_t el = strlen(ents[k].e);
                if (i + el <= n && !strncmp(a + i, ents[k].e, el)) {
                    sb_append(&sb, &ents[k].c, 1);
                    i += el - 1;
                    hit = 1;
                }
            }
        if (!hit)
            sb_append(&sb, a + i, 1);
    }
    return sb_detach(&sb);
}

static char *query_enc(const char *v)
{
    om_sbuf sb = OM_SBUF_INIT;
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            sb_append(&sb, p, 1);
        else
            sb_printf(&sb, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return sb_detach(&sb);
}

/* ListObjectsV2, page by page ([media] s3_list_page keys each; the next page by the
 * previous one's NextContinuationToken; the query's parameters in canonical, sorted order). */
static int s3_list(void *st, const char *name_prefix, om_mstore_name_fn fn, void *ud)
{
    s3 *s = st;
    char *token = NULL;
    int rc = OM_OK;
    char *pq = query_enc(name_prefix);
    for (;;) {
        char *tq = token ? query_enc(token) : NULL;
        char *q = tq ? xasprintf("continuation-token=%s&list-type=2&max-keys=%ld&prefix=%s", tq,
                                 s->list_page, pq)
                     : xasprintf("list-type=2&max-keys=%ld&prefix=%s", s->list_page, pq);
        free(tq);
        s3req r;
        req_init(&r, "GET", NULL, q);
        rc = s3_do(s, &r);
        free(q);
        if (rc != OM_OK) {
            sb_release(&r.resp);
            break;
        }
        sb_append(&r.resp, "", 0);
        const char *p = sb_str(&r.resp);
        while (rc == OM_OK && (p = strstr(p, "<Contents>"))) {
            const char *end = strstr(p, "</Contents>");
            if (!end)
                break;
            char *item = xstrndup(p, (size_t)(end - p));
            const char *k = strstr(item, "<Key>"), *ke = k ? strstr(k, "</Key>") : NULL;
            char sz[32], lm[64];
            xml_text(item, "Size", sz, sizeof(sz));
            xml_text(item, "LastModified", lm, sizeof(lm));
            if (k && ke) {
                char *key = xml_unescape(k + 5, (size_t)(ke - k - 5));
                int64_t mt = 0;
                om_time_parse(lm, &mt);
                om_error_clear();
                rc = fn(ud, key, strtoll(sz, NULL, 10), mt);
                free(key);
            }
            free(item);
            p = end;
        }
        char trunc[16], next[1024];
        xml_text(sb_str(&r.resp), "IsTruncated", trunc, sizeof(trunc));
        xml_text(sb_str(&r.resp), "NextContinuationToken", next, sizeof(next));
        sb_release(&r.resp);
        free(token);
        token = NULL;
        if (rc != OM_OK || strcmp(trunc, "true") != 0 || !*next)
            break;
        token = xml_unescape(next, strlen(next));
    }
    free(token);
    free(pq);
    return rc;
}

const om_mstore_backend om_mstore_s3 = {
    .version = OM_MSTORE_BACKEND_VERSION,
    .scheme = "s3",
    .open = s3_open,
    .close = s3_close,
    .name = s3_name,
    .row = s3_row,
    .from_row = s3_from_row,
    .root = s3_root,
    .put = s3_put,
    .get = s3_get,
    .stat = s3_stat,
    .del = s3_del,
    .list = s3_list,
};
