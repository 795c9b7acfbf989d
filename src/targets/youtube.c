/*
 * youtube.c: the YouTube Data API v3 target (see target.h). A clip goes up by the
 * resumable upload protocol as Google documents it
 * (developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
 *
 *   session  POST {upload_url}/youtube/v3/videos?uploadType=resumable&part=snippet,status
 *            with X-Upload-Content-Length/-Type and the video resource (JSON); the session
 *            URI is the answer's Location. It is persisted (req->persist) BEFORE the first
 *            byte goes out.
 *   chunks   PUT {session} with Content-Range: bytes A-B/N, each chunk a multiple of
 *            256 KiB (youtube.chunk_bytes rounded down) but the last. 308 Resume Incomplete
 *            carries Range: bytes=0-K (none: nothing received): we continue from K+1, which
 *            may be less than what we sent. 200/201 carry the video resource.
 *   status   PUT {session} with Content-Range: bytes * /N and no body: what a restarted job
 *            asks first (a completed session answers with the video, so a crash between the
 *            last chunk and our commit costs nothing and makes no second video).
 *   errors   5xx and network errors are retried with exponential backoff + jitter (then
 *            the session is asked where it stands); 401 refreshes the token once; 404/410 on
 *            the session start a new one only when we never sent the final byte (state
 *            "final_sent", persisted before the last chunk): the server then cannot have
 *            made a video; otherwise the job fails permanently naming the session, never
 *            uploading twice. quotaExceeded / uploadLimitExceeded / rateLimitExceeded:
 *            OM_EBUSY with state.quota (the uploader reschedules to midnight
 *            America/Los_Angeles, when the daily quota resets).
 *
 * Metadata (snippet + status): title <= 100 characters and description <= 5000 bytes
 * without '<' '>' (YouTube refuses them), tags <= 500 characters in YouTube's counting,
 * categoryId, defaultLanguage, privacyStatus, publishAt (only with private: a post due later
 * than 15 minutes from now is uploaded private with publishAt), selfDeclaredMadeForKids and
 * containsSyntheticMedia, from brand.youtube (projects.h) over the youtube.* settings.
 *
 * VERIFY polls videos.list part=status,processingDetails until the video is processed; a
 * rejected or failed upload is recorded in state.rejection and fails the job permanently.
 *
 * State (upload_jobs.target_state): size, sha256, content_type, session_uri, sessions
 * (sessions made), final_sent, video_id, bytes_sent (body bytes sent by all attempts:
 * re-sent bytes are bytes_sent - size), processing, rejection, quota.
 */
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/utf8.h"
#include "targets/accounts.h"
#include "targets/target.h"
#include "targets/thttp.h"
#include "targets/usage.h"
#include "targets/youtube.h"

#define SRC "uploader_worker"
#define YT_CHUNK_UNIT (256 * 1024)
#define YT_DESCRIPTION_MAX_BYTES 5000

typedef struct yt {
    const om_publish_req *req;
    json_t *state;
    char *token;
    char *auth_header; /* "Authorization: Bearer ..." */
    const char *api_url, *upload_url;
    long timeout_s, retries, backoff_ms;
    int64_t chunk;
    int refreshed; /* a 401 already refreshed the token once */
    char account_id[OM_UUID_LEN];
} yt;

static void yt_release(yt *y)
{
    free(y->token);
    free(y->auth_header);
}

static const char *cfg_str(const om_publish_req *req, const char *key)
{
    return om_config_str(req->cfg, key);
}

/* The access token (refreshed when needed; invalid_grant raises the incident first). */
static int yt_token(yt *y, int force)
{
    free(y->token), free(y->auth_header);
    y->token = y->auth_header = NULL;
    if (!y->req->store || !y->req->project_id || !*y->req->project_id)
        return om_error_set(OM_EPERMANENT,
                            "youtube target: the clip is in no project, so no account to post "
                            "with");
    if (force) /* the server refused the token: make the store's copy expire */
        om_store_exec(y->req->store,
                      "UPDATE publishing_accounts SET access_expires_at = NULL WHERE project_id "
                      "= ? AND platform = 'youtube'",
                      OM_PARAMS(OM_TEXT(y->req->project_id)), NULL);
    int rc = om_account_token(y->req->store, y->req->cfg, y->req->project_id, "youtube",
                              &y->token, y->account_id);
    if (rc)
        return om_error_wrap(rc, "youtube target");
    y->auth_header = xasprintf("Authorization: Bearer %s", y->token);
    return OM_OK;
}

static int yt_init(yt *y, const om_publish_req *req, json_t *state)
{
    memset(y, 0, sizeof(*y));
    y->req = req;
    y->state = state;
    if (!req->cfg)
        return om_error_set(OM_EINVAL, "youtube target: no configuration");
    y->api_url = cfg_str(req, "youtube.api_url");
    y->upload_url = cfg_str(req, "youtube.upload_url");
    y->timeout_s = om_config_long(req->cfg, "youtube.timeout_s");
    y->retries = om_config_long(req->cfg, "youtube.retries");
    y->backoff_ms = om_config_long(req->cfg, "youtube.backoff_ms");
    y->chunk = om_config_long(req->cfg, "youtube.chunk_bytes") / YT_CHUNK_UNIT * YT_CHUNK_UNIT;
    if (y->chunk < YT_CHUNK_UNIT)
        y->chunk = YT_CHUNK_UNIT;
    return yt_token(y, 0);
}

static int cancelled(const yt *y)
{
    return y->req->cancel && *y->req->cancel;
}

/* Sleeps the backoff of retry `n` (0-based): base * 2^n, +-25% jitter, capped at 60 s. */
static void backoff(const yt *y, int n)
{
    double ms = (double)y->backoff_ms;
    for (int i = 0; i < n && ms < 60000; i++)
        ms *= 2;
    if (ms > 60000)
        ms = 60000;
    unsigned char r;
    om_random_bytes(&r, 1);
    ms *= 0.75 + 0.5 * (r / 255.0);
    for (int64_t end = om_mono_ms() + (int64_t)ms; om_mono_ms() < end && !cancelled(y);)
        om_sleep_ms(end - om_mono_ms() > 100 ? 100 : end - om_mono_ms());
}

static int persist(yt *y)
{
    if (!y->req->persist)
        return OM_OK;
    int rc = y->req->persist(y->req->persist_arg, y->state);
    return rc ? om_error_wrap(rc, "youtube target: saving the upload state") : OM_OK;
}

/* Google's error body {"error":{"code","message","errors":[{"reason","domain"}]}}: the first
 * reason (or NULL) and the message (or NULL), borrowed from doc. */
static void google_error(const json_t *doc, const char **reason, const char **message)
{
    const json_t *e = json_object_get(doc, "error");
    *message = json_string_value(json_object_get(e, "message"));
    *reason = json_string_value(
        json_object_get(json_array_get(json_object_get(e, "errors"), 0), "reason"));
    if (!*reason) /* the token endpoint's form: {"error": "invalid_grant"} */
        *reason = json_string_value(json_object_get(doc, "error"));
}

/* The next midnight in America/Los_Angeles, when YouTube's daily quota resets. */
static int64_t next_quota_reset_us(int64_t now_us)
{
    int64_t st, en;
    om_usage_window("youtube", now_us, &st, &en);
    return en;
}

/* A quota/rate answer: state.quota set, OM_EBUSY. */
static int quota_hit(yt *y, const char *reason, const char *message)
{
    if (*y->account_id && strcmp(reason, "quotaPlanned") &&
        om_usage_exhaust(y->req->store, y->account_id, "youtube", om_now_us(),
                         om_config_long(y->req->cfg, "youtube.quota_units")))
        om_warn(SRC, "youtube: %s", om_error_msg()); /* the answer below matters more */
    char at[OM_TIME_LEN];
    om_time_iso(at, next_quota_reset_us(om_now_us()));
    json_object_set_new(y->state, OM_TARGET_QUOTA_KEY,
                        json_pack("{s:s,s:s,s:s?}", "reason", reason, "retry_at", at, "message",
                                  message));
    return om_error_set(OM_EBUSY, "youtube: %s%s%s (the daily quota resets at %s)", reason,
                        message ? ": " : "", message ? message : "", at);
}

static int is_quota_reason(const char *r)
{
    return r && (!strcmp(r, "quotaExceeded") || !strcmp(r, "uploadLimitExceeded") ||
                 !strcmp(r, "rateLimitExceeded") || !strcmp(r, "userRateLimitExceeded") ||
                 !strcmp(r, "dailyLimitExceeded"));
}

/* An answer that is not a success: the error (quota -> OM_EBUSY; 4xx -> OM_EPERMANENT;
 * 5xx -> OM_EUNAVAIL). */
static int answer_error(yt *y, const thttp_resp *r, const char *what)
{
    json_t *doc = json_loadb(r->body, r->len, 0, NULL);
    const char *reason = NULL, *message = NULL;
    google_error(doc, &reason, &message);
    int rc;
    if (r->status == 403 || r->status == 429 || r->status == 400) {
        if (is_quota_reason(reason)) {
            rc = quota_hit(y, reason, message);
            json_decref(doc);
            return rc;
        }
    }
    int code = r->status >= 500 ? OM_EUNAVAIL : OM_EPERMANENT;
    rc = om_error_set(code, "youtube %s: HTTP %ld%s%s%s%s", what, r->status, reason ? " " : "",
                      reason ? reason : "", message ? ": " : "", message ? message : "");
    json_decref(doc);
    return rc;
}

static int retryable_status(long st)
{
    return st == 500 || st == 502 || st == 503 || st == 504 || st == 408;
}

/* One request with the retry rule (network errors and 5xx retried with backoff, a 401
 * refreshes the token once). The final response is in *r (caller releases) when OM_OK.
 * no_retry (a chunk): a network error or 5xx returns YT_FAILED_ONCE at once (nothing in
 * *r), since what the server kept must be asked before sending again. */
#define YT_FAILED_ONCE 2
static int request(yt *y, thttp_req *rq, const char *const *extra, thttp_resp *r,
                   const char *what, int no_retry)
{
    for (int attempt = 0;; attempt++) {
        const char *hdrs[16];
        size_t n = 0;
        hdrs[n++] = y->auth_header;
        for (size_t i = 0; extra && extra[i] && n < 15; i++)
            hdrs[n++] = extra[i];
        hdrs[n] = NULL;
        rq->headers = hdrs;
        rq->timeout_s = y->timeout_s;
        int64_t sent = 0;
        rq->sent_out = &sent;
        int rc = thttp_do(rq, r);
        json_object_set_new(
            y->state, "bytes_sent",
            json_integer(json_integer_value(json_object_get(y->state, "bytes_sent")) + sent));
        if (!rc && r->status == 401 && !y->refreshed) {
            y->refreshed = 1;
            thttp_resp_release(r);
            if ((rc = yt_token(y, 1)))
                return rc;
            attempt--;
            continue;
        }
        if (!rc && !retryable_status(r->status))
            return OM_OK;
        if (rc)
            om_warn(SRC, "youtube %s: %s (retry %d of %ld)", what, om_error_msg(), attempt + 1,
                    y->retries);
        else
            om_warn(SRC, "youtube %s: HTTP %ld (retry %d of %ld)", what, r->status, attempt + 1,
                    y->retries);
        if ((!no_retry && attempt >= y->retries) || cancelled(y)) {
            if (!rc) {
                rc = answer_error(y, r, what);
                thttp_resp_release(r);
            } else {
                thttp_resp_release(r);
                om_error_wrap(rc, "youtube %s", what);
            }
            return cancelled(y) ? om_error_wrap(OM_ETIMEOUT, "cancelled") : rc;
        }
        thttp_resp_release(r);
        if (no_retry)
            return YT_FAILED_ONCE;
        backoff(y, attempt);
    }
}

/* ---- metadata ---- */

/* s without '<' and '>' (YouTube refuses them in titles and descriptions). Caller frees. */
static char *no_angles(const char *s)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (const char *p = s ? s : ""; *p; p++)
        if (*p != '<' && *p != '>')
            sb_append(&sb, p, 1);
    return sb_detach(&sb);
}

/* At most max bytes of UTF-8 text, cut at a character boundary. Caller frees. */
static char *cut_bytes(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return xstrdup(s);
    size_t end = max;
    while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
        end--;
    return xstrndup(s, end);
}

/* brand.youtube.KEY, or NULL. */
static const json_t *brand_yt(const om_publish_req *req, const char *key)
{
    return json_object_get(json_object_get(req->brand, "youtube"), key);
}

/* The video resource sent with the session: snippet + status within YouTube's limits. */
json_t *om_youtube_video_resource(const om_publish_req *req, int64_t now_us)
{
    const json_t *sc = req->sidecar;
    char *t0 = no_angles(json_string_value(json_object_get(sc, "title")));
    char *title = om_publish_truncate(*t0 ? t0 : "Clip", OM_TITLE_MAX_CHARS);
    free(t0);
    char *d0 = no_angles(json_string_value(json_object_get(sc, "description")));
    char *desc = cut_bytes(d0, YT_DESCRIPTION_MAX_BYTES);
    free(d0);
    json_t *tags = json_array();
    size_t i;
    json_t *tv;
    json_array_foreach(json_object_get(sc, "tags"), i, tv) {
        const char *s = json_string_value(tv);
        if (!s || !*s || strchr(s, '<') || strchr(s, '>'))
            continue;
        json_array_append(tags, tv);
        if (om_tags_count_chars(tags) > OM_TAGS_MAX_CHARS)
            json_array_remove(tags, json_array_size(tags) - 1);
    }
    const char *cat = json_string_value(brand_yt(req, "category_id"));
    const char *lang = json_string_value(brand_yt(req, "default_language"));
    const char *privacy = json_string_value(brand_yt(req, "privacy_status"));
    json_t *snippet = json_pack("{s:s,s:s,s:o,s:s}", "title", title, "description", desc,
                                "tags", tags, "categoryId",
                                cat ? cat : cfg_str(req, "youtube.category_id"));
    if (lang && *lang) {
        json_object_set_new(snippet, "defaultLanguage", json_string(lang));
        json_object_set_new(snippet, "defaultAudioLanguage", json_string(lang));
    }
    json_t *status = json_object();
    json_object_set_new(status, "privacyStatus",
                        json_string(privacy ? privacy : cfg_str(req, "youtube.privacy_status")));
    /* a post due later than 15 minutes from now: uploaded private, published by YouTube */
    int64_t due = 0;
    if (req->scheduled_time && om_time_parse(req->scheduled_time, &due) == OM_OK &&
        due > now_us + 15 * 60 * 1000000LL) {
        char at[OM_TIME_LEN];
        om_time_iso(at, due);
        json_object_set_new(status, "privacyStatus", json_string("private"));
        json_object_set_new(status, "publishAt", json_string(at));
    }
    json_object_set_new(status, "selfDeclaredMadeForKids",
                        json_boolean(json_is_true(brand_yt(req, "made_for_kids"))));
    const json_t *synth = brand_yt(req, "contains_synthetic_media");
    json_object_set_new(status, "containsSyntheticMedia",
                        json_boolean(json_is_true(synth)));
    json_object_set_new(status, "embeddable", json_true());
    free(title);
    free(desc);
    return json_pack("{s:o,s:o}", "snippet", snippet, "status", status);
}

/* ---- the resumable upload ---- */

static int64_t jint(const json_t *state, const char *key)
{
    return json_integer_value(json_object_get(state, key));
}

/* Range: bytes=0-K -> K+1; absent -> 0; malformed -> -1. */
static int64_t range_next(const char *range)
{
    if (!range)
        return 0;
    long long a, b;
    if (sscanf(range, "bytes=%lld-%lld", &a, &b) != 2 || a != 0 || b < 0)
        return -1;
    return (int64_t)b + 1;
}

/* A final answer (200/201): the video id into state, persisted. */
static int take_video(yt *y, const thttp_resp *r)
{
    json_t *doc = json_loadb(r->body, r->len, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id || !*id) {
        json_decref(doc);
        return om_error_set(OM_EIO, "youtube upload: HTTP %ld without a video id", r->status);
    }
    json_object_set_new(y->state, "video_id", json_string(id));
    json_object_del(y->state, OM_TARGET_QUOTA_KEY);
    json_t *st = json_object_get(doc, "status");
    if (json_is_string(json_object_get(st, "uploadStatus")))
        json_object_set(y->state, "processing", json_object_get(st, "uploadStatus"));
    om_info(SRC, "youtube: upload complete, video %s", id);
    json_decref(doc);
    return persist(y);
}

enum { SESSION_GONE = 3, SESSION_DONE = 4 };

/* Forgets a session the server no longer knows, when it provably made no video. */
static int session_gone(yt *y, long status)
{
    const char *uri = json_string_value(json_object_get(y->state, "session_uri"));
    if (json_is_true(json_object_get(y->state, "final_sent")))
        return om_error_set(OM_EPERMANENT,
                            "youtube upload: the session answered HTTP %ld after the final "
                            "chunk was sent, so whether a video was made cannot be proven; "
                            "not uploading again (check the channel, then clear "
                            "upload_jobs.target_state to retry). Session: %.60s...",
                            status, uri ? uri : "?");
    om_warn(SRC, "youtube: session gone (HTTP %ld) before the final byte: starting a new one",
            status);
    json_object_del(y->state, "session_uri");
    json_object_set_new(y->state, "offset", json_integer(0));
    return persist(y) ? om_error_code() : SESSION_GONE;
}

/* Creates a session; state.session_uri persisted before returning. */
static int session_create(yt *y, int64_t size, const char *ctype)
{
    if (jint(y->state, "sessions") >= 5)
        return om_error_set(OM_EPERMANENT, "youtube upload: 5 sessions made and lost already");
    /* our own count first: a videos.insert the day's quota cannot pay for waits for the
     * reset instead of being refused by Google */
    om_usage u;
    long quota = om_config_long(y->req->cfg, "youtube.quota_units"),
         cost = om_config_long(y->req->cfg, "youtube.upload_cost");
    int rc0 = om_usage_get(y->req->store, y->account_id, "youtube", om_now_us(), &u);
    if (rc0)
        return rc0;
    if (u.units + cost > quota) {
        char *m = xasprintf("%" PRId64 " of %ld quota units used today; an upload costs %ld",
                            u.units, quota, cost);
        int q = quota_hit(y, "quotaPlanned", m);
        free(m);
        return q;
    }
    json_t *res = om_youtube_video_resource(y->req, om_now_us());
    char *body = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(res);
    char *url = xasprintf("%s/youtube/v3/videos?uploadType=resumable&part=snippet,status",
                          y->upload_url);
    char *h1 = xasprintf("X-Upload-Content-Length: %" PRId64, size);
    char *h2 = xasprintf("X-Upload-Content-Type: %s", ctype);
    const char *extra[] = {"Content-Type: application/json; charset=UTF-8", h1, h2, NULL};
    thttp_req rq = THTTP_REQ_INIT;
    rq.method = "POST";
    rq.url = url;
    rq.body = body;
    rq.body_len = strlen(body);
    thttp_resp r;
    int rc = request(y, &rq, extra, &r, "upload session", 0);
    if (!rc) {
        if (r.status == 200 && r.location && *r.location) {
            json_object_set_new(y->state, "session_uri", json_string(r.location));
            json_object_set_new(y->state, "sessions",
                                json_integer(jint(y->state, "sessions") + 1));
            json_object_set_new(y->state, "final_sent", json_false());
            json_object_set_new(y->state, "offset", json_integer(0));
            char at[OM_TIME_LEN];
            json_object_set_new(y->state, "session_at", json_string(om_time_iso(at, om_now_us())));
            json_object_del(y->state, OM_TARGET_QUOTA_KEY);
            rc = persist(y); /* BEFORE the first byte */
            if (!rc) /* the insert is charged when the session is made */
                rc = om_usage_add(y->req->store, y->account_id, "youtube", om_now_us(), cost, 1);
        } else if (r.status == 200) {
            rc = om_error_set(OM_EIO, "youtube upload session: HTTP 200 without a Location");
        } else {
            rc = answer_error(y, &r, "upload session");
        }
        thttp_resp_release(&r);
    }
    free(h1), free(h2), free(url), free(body);
    return rc;
}

/* Asks the session what it has: *next = the first byte it lacks, or SESSION_DONE (video
 * taken), SESSION_GONE (new session needed). */
static int session_query(yt *y, int64_t size, int64_t *next)
{
    const char *uri = json_string_value(json_object_get(y->state, "session_uri"));
    char *cr = xasprintf("Content-Range: bytes */%" PRId64, size);
    const char *extra[] = {cr, NULL};
    thttp_req rq = THTTP_REQ_INIT;
    rq.method = "PUT";
    rq.url = uri;
    thttp_resp r;
    int rc = request(y, &rq, extra, &r, "upload status", 0);
    free(cr);
    if (rc)
        return rc;
    if (r.status == 200 || r.status == 201) {
        rc = take_video(y, &r);
        rc = rc ? rc : SESSION_DONE;
    } else if (r.status == 308) {
        *next = range_next(r.range);
        if (*next < 0 || *next > size)
            rc = om_error_set(OM_EIO, "youtube upload status: bad Range '%s'", r.range);
    } else if (r.status == 404 || r.status == 410) {
        rc = session_gone(y, r.status);
    } else {
        rc = answer_error(y, &r, "upload status");
    }
    thttp_resp_release(&r);
    return rc;
}

/* Sends the file from `next` on. OM_OK with state.video_id set, SESSION_GONE, or an error. */
static int send_chunks(yt *y, int fd, int64_t size, const char *ctype, int64_t next)
{
    const char *uri = json_string_value(json_object_get(y->state, "session_uri"));
    char *uri_own = xstrdup(uri);
    int failures = 0, rc = OM_OK;
    while (!rc) {
        if (cancelled(y)) {
            rc = om_error_set(OM_ETIMEOUT, "youtube upload cancelled at byte %" PRId64, next);
            break;
        }
        int64_t len = size - next < y->chunk ? size - next : y->chunk;
        if (next + len == size && !json_is_true(json_object_get(y->state, "final_sent"))) {
            /* from here on a lost session may have made a video: remember it first */
            json_object_set_new(y->state, "final_sent", json_true());
            if ((rc = persist(y)))
                break;
        }
        char *cr = size == 0 ? xasprintf("Content-Range: bytes */0")
                             : xasprintf("Content-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64,
                                         next, next + len - 1, size);
        char *ct = xasprintf("Content-Type: %s", ctype);
        const char *extra[] = {cr, ct, NULL};
        thttp_req rq = THTTP_REQ_INIT;
        rq.method = "PUT";
        rq.url = uri_own;
        rq.file_fd = fd;
        rq.file_off = next;
        rq.file_len = len;
        thttp_resp r;
        rc = request(y, &rq, extra, &r, "upload chunk", 1);
        free(cr), free(ct);
        if (rc == YT_FAILED_ONCE) {
            if (++failures > y->retries) {
                rc = om_error_set(OM_EUNAVAIL,
                                  "youtube upload: %d failed chunks in a row at byte %" PRId64,
                                  failures, next);
                break;
            }
            backoff(y, failures - 1);
            rc = session_query(y, size, &next);
            continue;
        }
        if (rc)
            break;
        if (r.status == 308) {
            int64_t got = range_next(r.range);
            if (got < 0 || got > next + len) {
                rc = om_error_set(OM_EIO, "youtube upload: bad Range '%s' after bytes %" PRId64
                                          "-%" PRId64,
                                  r.range ? r.range : "", next, next + len - 1);
            } else {
                if (got < next + len)
                    om_info(SRC, "youtube: server kept %" PRId64 " of %" PRId64
                                 " bytes: resuming from %" PRId64,
                            got - next, len, got);
                if (got > next)
                    failures = 0;
                next = got;
                json_object_set_new(y->state, "offset", json_integer(next));
            }
        } else if (r.status == 200 || r.status == 201) {
            rc = take_video(y, &r);
            thttp_resp_release(&r);
            break;
        } else if (r.status == 404 || r.status == 410) {
            rc = session_gone(y, r.status);
        } else {
            rc = answer_error(y, &r, "upload chunk");
        }
        thttp_resp_release(&r);
    }
    free(uri_own);
    return rc;
}

static int yt_publish(const om_publish_req *req, json_t *state, char **result_id_out)
{
    *result_id_out = NULL;
    const char *have = json_string_value(json_object_get(state, "video_id"));
    if (have) { /* the upload completed in an earlier delivery */
        *result_id_out = xstrdup(have);
        json_object_set_new(state, "reused", json_true());
        return OM_OK;
    }
    if (!req->clip_path || !om_file_exists(req->clip_path))
        return om_error_set(OM_ENOTFOUND, "youtube target: rendered clip %s is missing",
                            req->clip_path ? req->clip_path : "(none)");
    yt y;
    int rc = yt_init(&y, req, state);
    if (rc) {
        yt_release(&y);
        return rc;
    }
    int64_t size = 0;
    om_file_size(req->clip_path, &size);
    char sum[OM_SHA256_HEX_LEN];
    if ((rc = om_sha256_file(req->clip_path, sum))) {
        yt_release(&y);
        return om_error_wrap(rc, "youtube target: hashing %s", req->clip_path);
    }
    const char *old = json_string_value(json_object_get(state, "sha256"));
    if (old && strcmp(old, sum) && json_object_get(state, "session_uri")) {
        /* the render changed under an unfinished session: its bytes would mix */
        if (json_is_true(json_object_get(state, "final_sent"))) {
            yt_release(&y);
            return om_error_set(OM_EPERMANENT,
                                "youtube target: the render changed after its upload finished");
        }
        json_object_del(state, "session_uri");
    }
    json_object_set_new(state, "size", json_integer(size));
    json_object_set_new(state, "sha256", json_string(sum));
    const char *ctype = "video/mp4";
    json_object_set_new(state, "content_type", json_string(ctype));
    json_object_set_new(state, "reused", json_false());
    int fd = open(req->clip_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        yt_release(&y);
        return om_error_set(OM_EIO, "youtube target: opening %s: %s", req->clip_path,
                            strerror(errno));
    }
    for (int round = 0; round < 6; round++) {
        int64_t next = 0;
        if (json_object_get(state, "session_uri")) {
            rc = session_query(&y, size, &next);
            if (rc == SESSION_DONE) {
                rc = OM_OK;
                break;
            }
            if (rc == SESSION_GONE)
                continue;
            if (rc)
                break;
            if (next)
                om_info(SRC, "youtube: resuming the stored session at byte %" PRId64 " of %" PRId64,
                        next, size);
        } else if ((rc = session_create(&y, size, ctype))) {
            break;
        }
        rc = send_chunks(&y, fd, size, ctype, next);
        if (rc != SESSION_GONE)
            break;
    }
    if (rc == SESSION_GONE)
        rc = om_error_set(OM_EUNAVAIL, "youtube upload: sessions keep disappearing");
    close(fd);
    yt_release(&y);
    if (rc)
        return rc;
    *result_id_out = xstrdup(json_string_value(json_object_get(state, "video_id")));
    return OM_OK;
}

/* AUTH: the account's token is valid (refreshed now if due; an invalid_grant raises the
 * incident here, before anything is posted). */
static int yt_auth(const om_publish_req *req, json_t *state)
{
    yt y;
    int rc = yt_init(&y, req, state);
    yt_release(&y);
    return rc;
}

/* VERIFY: videos.list until processed, rejected or failed. */
static int yt_verify(const om_publish_req *req, json_t *state, const char *result_id)
{
    const char *id = result_id ? result_id : json_string_value(json_object_get(state, "video_id"));
    if (!id)
        return om_error_set(OM_EINVAL, "youtube target: nothing uploaded yet to verify");
    yt y;
    int rc = yt_init(&y, req, state);
    if (rc) {
        yt_release(&y);
        return rc;
    }
    char *url = xasprintf("%s/youtube/v3/videos?part=status,processingDetails&id=%s",
                          y.api_url, id);
    int64_t deadline = om_mono_ms() + om_config_long(req->cfg, "youtube.verify_timeout_s") * 1000;
    long poll_ms = om_config_long(req->cfg, "youtube.verify_poll_ms");
    for (;;) {
        thttp_req rq = THTTP_REQ_INIT;
        rq.method = "GET";
        rq.url = url;
        thttp_resp r;
        rc = request(&y, &rq, NULL, &r, "videos.list", 0);
        if (rc)
            break;
        if (r.status != 200) {
            rc = answer_error(&y, &r, "videos.list");
            thttp_resp_release(&r);
            break;
        }
        json_t *doc = json_loadb(r.body, r.len, 0, NULL);
        thttp_resp_release(&r);
        json_t *item = json_array_get(json_object_get(doc, "items"), 0);
        if (!item) {
            json_decref(doc);
            rc = om_error_set(OM_EPERMANENT, "youtube: video %s is not on YouTube (deleted?)",
                              id);
            break;
        }
        json_t *st = json_object_get(item, "status");
        const char *us = json_string_value(json_object_get(st, "uploadStatus"));
        const char *ps = json_string_value(
            json_object_get(json_object_get(item, "processingDetails"), "processingStatus"));
        json_object_set_new(state, "processing", json_string(us ? us : "?"));
        if (us && (!strcmp(us, "rejected") || !strcmp(us, "failed") || !strcmp(us, "deleted"))) {
            const char *why = json_string_value(json_object_get(
                st, !strcmp(us, "failed") ? "failureReason" : "rejectionReason"));
            json_object_set_new(state, "rejection",
                                json_pack("{s:s,s:s?}", "upload_status", us, "reason", why));
            rc = om_error_set(OM_EPERMANENT, "youtube: video %s was %s%s%s", id, us,
                              why ? ": " : "", why ? why : "");
            json_decref(doc);
            break;
        }
        int done = (us && !strcmp(us, "processed")) || (ps && !strcmp(ps, "succeeded"));
        json_decref(doc);
        if (done) {
            rc = OM_OK;
            break;
        }
        if (om_mono_ms() >= deadline || cancelled(&y)) {
            rc = om_error_set(OM_ETIMEOUT, "youtube: video %s still %s after the verify timeout",
                              id, us ? us : "unknown");
            break;
        }
        om_sleep_ms(poll_ms);
    }
    free(url);
    yt_release(&y);
    return rc;
}

/* A decimal string of the API ("viewCount": "1234") as a number; -1 when absent. */
static long long count_of(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && *v ? strtoll(v, NULL, 10) : -1;
}

/* STATS: videos.list part=statistics (1 quota unit). */
static int yt_stats(const om_publish_req *req, json_t *state, om_clip_figures *out)
{
    om_clip_figures none = OM_CLIP_FIGURES_NONE;
    *out = none;
    const char *id = json_string_value(json_object_get(state, "video_id"));
    if (!id)
        return om_error_set(OM_EINVAL, "youtube stats: the upload has no video id");
    yt y;
    int rc = yt_init(&y, req, state);
    if (rc) {
        yt_release(&y);
        return rc;
    }
    char *url = xasprintf("%s/youtube/v3/videos?part=statistics&id=%s", y.api_url, id);
    thttp_req rq = THTTP_REQ_INIT;
    rq.method = "GET";
    rq.url = url;
    thttp_resp r;
    rc = request(&y, &rq, NULL, &r, "videos.list (statistics)", 0);
    if (rc) { /* request() released r */
        free(url);
        yt_release(&y);
        return rc;
    }
    if (r.status != 200)
        rc = answer_error(&y, &r, "videos.list (statistics)");
    else {
        json_t *doc = json_loadb(r.body, r.len, 0, NULL);
        json_t *st = json_object_get(json_array_get(json_object_get(doc, "items"), 0), "statistics");
        if (!json_is_object(st)) {
            rc = om_error_set(OM_EPERMANENT, "youtube stats: video %s is not on YouTube", id);
        } else {
            out->views = count_of(st, "viewCount");
            out->likes = count_of(st, "likeCount");
            out->comments = count_of(st, "commentCount");
        }
        json_decref(doc);
    }
    thttp_resp_release(&r);
    free(url);
    yt_release(&y);
    return rc;
}

int om_youtube_channel(const om_config *cfg, const char *access_token, char **id_out,
                       char **title_out)
{
    *id_out = *title_out = NULL;
    char *url = xasprintf("%s/youtube/v3/channels?part=snippet&mine=true",
                          om_config_str(cfg, "youtube.api_url"));
    char *auth = xasprintf("Authorization: Bearer %s", access_token);
    const char *hdrs[] = {auth, NULL};
    thttp_req rq = THTTP_REQ_INIT;
    rq.method = "GET";
    rq.url = url;
    rq.headers = hdrs;
    rq.timeout_s = om_config_long(cfg, "youtube.timeout_s");
    thttp_resp r;
    int rc = thttp_do(&rq, &r);
    free(auth);
    free(url);
    if (rc) {
        thttp_resp_release(&r);
        return om_error_wrap(rc, "youtube channels.list");
    }
    json_t *doc = json_loadb(r.body, r.len, 0, NULL);
    if (r.status != 200) {
        const char *reason, *message;
        google_error(doc, &reason, &message);
        rc = om_error_set(r.status >= 500 ? OM_EUNAVAIL : OM_EPERMANENT,
                          "youtube channels.list: HTTP %ld%s%s%s%s", r.status, reason ? " " : "",
                          reason ? reason : "", message ? ": " : "", message ? message : "");
    } else {
        json_t *it = json_array_get(json_object_get(doc, "items"), 0);
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *title = json_string_value(
            json_object_get(json_object_get(it, "snippet"), "title"));
        if (!id)
            rc = om_error_set(OM_EPERMANENT,
                              "youtube: this Google account has no YouTube channel (create one "
                              "first)");
        else
            *id_out = xstrdup(id), *title_out = title ? xstrdup(title) : NULL;
    }
    json_decref(doc);
    thttp_resp_release(&r);
    return rc;
}

const om_target om_target_youtube = {
    .version = OM_TARGET_VERSION,
    .name = "youtube",
    .account_platform = "youtube",
    .auth = yt_auth,
    .publish = yt_publish,
    .verify = yt_verify,
    .stats = yt_stats,
};
