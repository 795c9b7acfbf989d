/*
 * tiktok.c: the TikTok target, Content Posting API, Direct Post
 * (developers.tiktok.com/doc/content-posting-api-reference-direct-post and the media
 * transfer guide):
 *
 *   creator  POST {api}/v2/post/publish/creator_info/query/ first: the privacy levels the
 *            creator allows and max_video_post_duration_sec (a longer clip fails here,
 *            before any byte is sent).
 *   init     POST {api}/v2/post/publish/video/init/ with post_info (title, privacy_level,
 *            is_aigc...) and source_info {source: FILE_UPLOAD, video_size, chunk_size,
 *            total_chunk_count}; the answer's publish_id and upload_url are persisted
 *            (req->persist) BEFORE the first byte.
 *   chunks   PUT {upload_url} in order, Content-Range: bytes A-B/N, Content-Type video/mp4.
 *            TikTok's rules: a file under 5 MB goes whole; otherwise chunks of
 *            tiktok.chunk_bytes (5-64 MB), total_chunk_count = floor(size / chunk) (1-1000),
 *            the last chunk taking the trailing bytes (so up to 128 MB). 206 = chunk taken,
 *            201 = file complete. "final_sent" is persisted before the last chunk.
 *   status   POST {api}/v2/post/publish/status/fetch/ until PUBLISH_COMPLETE (the post id
 *            in publicaly_available_post_id, TikTok's spelling) or FAILED (fail_reason).
 *
 * Never twice: a restarted job with a publish_id asks status/fetch first: complete -> the
 * post; processing after final_sent -> keeps polling; still uploading -> resumes at the
 * chunk after uploaded_bytes; FAILED before final_sent (or the upload URL expired) -> a new
 * init, which is safe since TikTok makes no post from an incomplete file.
 *
 * Limits: post/publish requests (creator_info, init) go through om_rate_acquire with
 * tiktok.requests_per_minute (TikTok: 6 per minute per access token), status/fetch with
 * tiktok.status_per_minute (30); posts per UTC day are counted (tiktok.posts_per_day) and a
 * post over it, or TikTok's rate_limit_exceeded / spam_risk_too_many_posts /
 * reached_active_user_cap, is OM_EBUSY with state.quota (the uploader reschedules it
 * without spending an attempt).
 *
 * Unaudited apps: TikTok restricts them to SELF_ONLY. With tiktok.audited false (the
 * default) every post is sent SELF_ONLY and says so: a warning in the job's log and
 * state.warning, on every post; `account add` warns too (tiktok.h). An audited setting that
 * TikTok contradicts (unaudited_client_can_only_post_to_private_accounts) fails the job
 * permanently naming the setting, never silently posting privately.
 *
 * State (upload_jobs.target_state): size, sha256, chunk_size, chunks, publish_id,
 * upload_url, inits, next_chunk, final_sent, privacy_level, warning, status, fail_reason,
 * post_id, bytes_sent, creator {username, max_duration_s, privacy_levels}, quota.
 */
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "targets/accounts.h"
#include "targets/target.h"
#include "targets/thttp.h"
#include "targets/tiktok.h"
#include "targets/usage.h"

#define SRC "uploader_worker"
#define TT_MB (1024 * 1024)
#define TT_CHUNK_MIN (5 * TT_MB)
#define TT_CHUNK_MAX (64 * TT_MB)
#define TT_CHUNKS_MAX 1000
#define TT_TITLE_MAX 2200

typedef struct tt {
    const om_publish_req *req;
    json_t *state;
    char *token, *auth_header;
    char account_id[OM_UUID_LEN];
    const char *api_url;
    long timeout_s;
    int refreshed;
} tt;

static void tt_release(tt *t)
{
    free(t->token);
    free(t->auth_header);
}

static int64_t jint(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int cancelled(const tt *t)
{
    return t->req->cancel && *t->req->cancel;
}

static int persist(tt *t)
{
    if (!t->req->persist)
        return OM_OK;
    int rc = t->req->persist(t->req->persist_arg, t->state);
    return rc ? om_error_wrap(rc, "tiktok target: saving the upload state") : OM_OK;
}

static int tt_token(tt *t, int force)
{
    free(t->token), free(t->auth_header);
    t->token = t->auth_header = NULL;
    if (!t->req->store || !t->req->project_id || !*t->req->project_id)
        return om_error_set(OM_EPERMANENT,
                            "tiktok target: the clip is in no project, so no account to post "
                            "with");
    if (force)
        om_store_exec(t->req->store,
                      "UPDATE publishing_accounts SET access_expires_at = NULL WHERE project_id "
                      "= ? AND platform = 'tiktok'",
                      OM_PARAMS(OM_TEXT(t->req->project_id)), NULL);
    int rc = om_account_token(t->req->store, t->req->cfg, t->req->project_id, "tiktok",
                              &t->token, t->account_id);
    if (rc)
        return om_error_wrap(rc, "tiktok target");
    t->auth_header = xasprintf("Authorization: Bearer %s", t->token);
    return OM_OK;
}

static int tt_init(tt *t, const om_publish_req *req, json_t *state)
{
    memset(t, 0, sizeof(*t));
    t->req = req;
    t->state = state;
    if (!req->cfg)
        return om_error_set(OM_EINVAL, "tiktok target: no configuration");
    t->api_url = om_config_str(req->cfg, "tiktok.api_url");
    t->timeout_s = om_config_long(req->cfg, "tiktok.timeout_s");
    return tt_token(t, 0);
}

/* TikTok's envelope {"data": {...}, "error": {"code", "message", "log_id"}}. */
static const char *err_code(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
}

static const char *err_message(const json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
}

/* A quota/rate answer: state.quota {reason, retry_at}, OM_EBUSY. */
static int quota_hit(tt *t, const char *reason, int64_t retry_at_us, const char *message)
{
    char at[OM_TIME_LEN];
    om_time_iso(at, retry_at_us);
    json_object_set_new(t->state, OM_TARGET_QUOTA_KEY,
                        json_pack("{s:s,s:s,s:s?}", "reason", reason, "retry_at", at, "message",
                                  message));
    return om_error_set(OM_EBUSY, "tiktok: %s%s%s (next try at %s)", reason,
                        message ? ": " : "", message ? message : "", at);
}

static int64_t next_day_us(void)
{
    int64_t st, en;
    om_usage_window("tiktok", om_now_us(), &st, &en);
    return en;
}

/* An answer that is not a success (HTTP status and TikTok's error code). */
static int answer_error(tt *t, long status, const json_t *doc, const char *what)
{
    const char *code = err_code(doc), *msg = err_message(doc);
    if (code && !strcmp(code, "rate_limit_exceeded"))
        return quota_hit(t, code, om_now_us() + 60 * 1000000LL, msg);
    if (code && (!strcmp(code, "spam_risk_too_many_posts") ||
                 !strcmp(code, "reached_active_user_cap")))
        return quota_hit(t, code, next_day_us(), msg);
    if (status == 429)
        return quota_hit(t, "rate_limit_exceeded", om_now_us() + 60 * 1000000LL, msg);
    if (code && !strcmp(code, "unaudited_client_can_only_post_to_private_accounts"))
        return om_error_set(OM_EPERMANENT,
                            "tiktok %s: TikTok says this app is not audited, so it may post "
                            "only SELF_ONLY: set tiktok.audited = false (every post private, "
                            "with a warning) or have the app audited",
                            what);
    return om_error_set(status >= 500 ? OM_EUNAVAIL : OM_EPERMANENT, "tiktok %s: HTTP %ld %s%s%s",
                        what, status, code ? code : "error", msg && *msg ? ": " : "",
                        msg ? msg : "");
}

/* POST {api}PATH with a JSON body; *doc_out the parsed answer when HTTP 200 and error.code
 * "ok". limit_ep: the rate-limited endpoint's name (NULL: none). 5xx and network errors
 * are retried (3 times, 1 s, 2 s, 4 s); a 401 refreshes the token once. */
static int api_post(tt *t, const char *path, json_t *body, const char *limit_ep, long per_min,
                    const char *what, json_t **doc_out)
{
    *doc_out = NULL;
    char *url = xasprintf("%s%s", t->api_url, path);
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = OM_OK;
    for (int attempt = 0;; attempt++) {
        if (limit_ep) {
            int64_t waited = 0;
            rc = om_rate_acquire(t->req->store, t->account_id, limit_ep, per_min, t->req->cancel,
                                 &waited);
            if (rc)
                break;
            if (waited > 1000)
                om_info(SRC, "tiktok %s: waited %" PRId64 " ms for the %ld requests/min limit",
                        what, waited, per_min);
        }
        const char *hdrs[] = {t->auth_header, "Content-Type: application/json; charset=UTF-8",
                              NULL};
        thttp_req rq = THTTP_REQ_INIT;
        rq.method = "POST";
        rq.url = url;
        rq.headers = hdrs;
        rq.body = text;
        rq.body_len = strlen(text);
        rq.timeout_s = t->timeout_s;
        thttp_resp r;
        rc = thttp_do(&rq, &r);
        if (rc || r.status >= 500) {
            if (!rc)
                rc = om_error_set(OM_EUNAVAIL, "tiktok %s: HTTP %ld", what, r.status);
            thttp_resp_release(&r);
            if (attempt >= 3 || cancelled(t))
                break;
            om_warn(SRC, "tiktok %s: %s (retry %d)", what, om_error_msg(), attempt + 1);
            om_sleep_ms(1000LL << attempt);
            continue;
        }
        json_t *doc = json_loadb(r.body, r.len, 0, NULL);
        long st = r.status;
        thttp_resp_release(&r);
        const char *code = err_code(doc);
        if (st == 401 && !t->refreshed) {
            t->refreshed = 1;
            json_decref(doc);
            if ((rc = tt_token(t, 1)))
                break;
            attempt--;
            continue;
        }
        if (st == 200 && code && !strcmp(code, "ok")) {
            *doc_out = doc;
            rc = OM_OK;
        } else if (st == 200 && !code) {
            rc = om_error_set(OM_EIO, "tiktok %s: HTTP 200 without TikTok's error object", what);
            json_decref(doc);
        } else {
            rc = answer_error(t, st, doc, what);
            json_decref(doc);
        }
        break;
    }
    free(text);
    free(url);
    return rc;
}

/* ---- creator info ---- */

static int creator_query(tt *t, json_t **data_out)
{
    json_t *doc = NULL, *body = json_object();
    int rc = api_post(t, "/v2/post/publish/creator_info/query/", body, "post_publish",
                      om_config_long(t->req->cfg, "tiktok.requests_per_minute"),
                      "creator_info/query", &doc);
    json_decref(body);
    if (rc)
        return rc;
    *data_out = json_incref(json_object_get(doc, "data"));
    json_decref(doc);
    return *data_out ? OM_OK : om_error_set(OM_EIO, "tiktok creator_info/query: no data");
}

int om_tiktok_creator(const om_config *cfg, om_store *s, const char *project_id,
                      json_t **creator_out)
{
    *creator_out = NULL;
    om_publish_req req;
    memset(&req, 0, sizeof(req));
    req.cfg = cfg;
    req.store = s;
    req.project_id = project_id;
    json_t *state = json_object();
    tt t;
    int rc = tt_init(&t, &req, state);
    if (!rc)
        rc = creator_query(&t, creator_out);
    tt_release(&t);
    json_decref(state);
    return rc;
}

int om_tiktok_privacy_choice(const om_config *cfg, const json_t *brand, const json_t *options,
                             const char **level_out, int *forced_out)
{
    int audited = om_config_bool(cfg, "tiktok.audited");
    const char *want = json_string_value(
        json_object_get(json_object_get(brand, "tiktok"), "privacy_level"));
    if (!want)
        want = om_config_str(cfg, "tiktok.privacy_level");
    *forced_out = !audited && strcmp(want, "SELF_ONLY");
    if (!audited)
        want = "SELF_ONLY";
    size_t i;
    json_t *o;
    int allowed = !json_is_array(options) || !json_array_size(options);
    json_array_foreach(options, i, o) allowed |= json_is_string(o) && !strcmp(json_string_value(o), want);
    *level_out = want;
    if (allowed)
        return OM_OK;
    char *list = json_dumps(options, JSON_COMPACT);
    int rc = om_error_set(OM_EPERMANENT,
                          "tiktok: the creator does not allow privacy level %s (allowed: %s)",
                          want, list ? list : "[]");
    free(list);
    return rc;
}

/* ---- the upload ---- */

/* TikTok's chunking of a file of `size` bytes with the wanted chunk. */
static void chunking(int64_t size, int64_t want, int64_t *chunk_out, int64_t *count_out)
{
    if (size < TT_CHUNK_MIN || size <= want) { /* whole (TikTok: under 5 MB must be) */
        *chunk_out = size;
        *count_out = 1;
        return;
    }
    int64_t chunk = want < TT_CHUNK_MIN ? TT_CHUNK_MIN : want > TT_CHUNK_MAX ? TT_CHUNK_MAX : want;
    if (size / chunk > TT_CHUNKS_MAX)
        chunk = (size + TT_CHUNKS_MAX - 1) / TT_CHUNKS_MAX;
    *chunk_out = chunk;
    *count_out = size / chunk; /* the last chunk takes the remainder */
}

static int do_init(tt *t, int64_t size, double duration_s)
{
    /* our own count first: posts per UTC day */
    om_usage u;
    long per_day = om_config_long(t->req->cfg, "tiktok.posts_per_day");
    int rc = om_usage_get(t->req->store, t->account_id, "tiktok", om_now_us(), &u);
    if (rc)
        return rc;
    if (u.posts >= per_day) {
        char *m = xasprintf("%" PRId64 " of %ld posts made today", u.posts, per_day);
        rc = quota_hit(t, "postsPlanned", u.window_end_us, m);
        free(m);
        return rc;
    }
    json_t *creator = NULL;
    if ((rc = creator_query(t, &creator)))
        return rc;
    json_t *levels = json_object_get(creator, "privacy_level_options");
    json_int_t maxd = json_integer_value(json_object_get(creator, "max_video_post_duration_sec"));
    json_object_set_new(t->state, "creator",
                        json_pack("{s:s?,s:I,s:O?}", "username",
                                  json_string_value(json_object_get(creator, "creator_username")),
                                  "max_duration_s", maxd, "privacy_levels", levels));
    if (maxd > 0 && duration_s > (double)maxd) {
        json_decref(creator);
        return om_error_set(OM_EPERMANENT,
                            "tiktok: the clip is %.1f s long; this creator may post at most "
                            "%" JSON_INTEGER_FORMAT " s",
                            duration_s, maxd);
    }
    const char *level = NULL;
    int forced = 0;
    rc = om_tiktok_privacy_choice(t->req->cfg, t->req->brand, levels, &level, &forced);
    json_decref(creator);
    if (rc)
        return rc;
    json_object_set_new(t->state, "privacy_level", json_string(level));
    if (!om_config_bool(t->req->cfg, "tiktok.audited")) {
        const char *w = "tiktok.audited is false: TikTok lets an unaudited app post only "
                        "SELF_ONLY, so this post is private (visible to its creator only)";
        json_object_set_new(t->state, "warning", json_string(w));
        om_warn(SRC, "clip %s: %s%s", t->req->clip_id ? t->req->clip_id : "?", w,
                forced ? " instead of the brand's privacy level" : "");
    }
    int64_t chunk, count;
    chunking(size, om_config_long(t->req->cfg, "tiktok.chunk_bytes"), &chunk, &count);
    const json_t *sc = t->req->sidecar;
    const char *title = json_string_value(json_object_get(sc, "title"));
    const char *desc = json_string_value(json_object_get(sc, "description"));
    char *full = xasprintf("%s%s%s", title ? title : "", desc && *desc ? "\n\n" : "",
                           desc ? desc : "");
    char *caption = om_publish_truncate(full, TT_TITLE_MAX);
    free(full);
    json_t *aigc = json_object_get(json_object_get(t->req->brand, "tiktok"), "is_aigc");
    json_t *body = json_pack(
        "{s:{s:s,s:s,s:b,s:b,s:b,s:i,s:b},s:{s:s,s:I,s:I,s:I}}", "post_info", "title", caption,
        "privacy_level", level, "disable_duet", 0, "disable_comment", 0, "disable_stitch", 0,
        "video_cover_timestamp_ms", 1000, "is_aigc", json_is_true(aigc), "source_info",
        "source", "FILE_UPLOAD", "video_size", (json_int_t)size, "chunk_size", (json_int_t)chunk,
        "total_chunk_count", (json_int_t)count);
    free(caption);
    json_t *doc = NULL;
    rc = api_post(t, "/v2/post/publish/video/init/", body, "post_publish",
                  om_config_long(t->req->cfg, "tiktok.requests_per_minute"), "video/init", &doc);
    json_decref(body);
    if (rc)
        return rc;
    json_t *data = json_object_get(doc, "data");
    const char *pid = json_string_value(json_object_get(data, "publish_id"));
    const char *uurl = json_string_value(json_object_get(data, "upload_url"));
    if (!pid || !uurl) {
        json_decref(doc);
        return om_error_set(OM_EIO, "tiktok video/init: no publish_id/upload_url in the answer");
    }
    json_object_set_new(t->state, "publish_id", json_string(pid));
    json_object_set_new(t->state, "upload_url", json_string(uurl));
    json_object_set_new(t->state, "chunk_size", json_integer(chunk));
    json_object_set_new(t->state, "chunks", json_integer(count));
    json_object_set_new(t->state, "next_chunk", json_integer(0));
    json_object_set_new(t->state, "final_sent", json_false());
    json_object_set_new(t->state, "inits", json_integer(jint(t->state, "inits") + 1));
    json_object_del(t->state, OM_TARGET_QUOTA_KEY);
    json_decref(doc);
    rc = persist(t); /* BEFORE the first byte */
    if (!rc)
        rc = om_usage_add(t->req->store, t->account_id, "tiktok", om_now_us(), 0, 1);
    return rc;
}

/* status/fetch: data (caller's) */
static int status_fetch(tt *t, json_t **data_out)
{
    *data_out = NULL;
    json_t *body = json_pack("{s:s}", "publish_id",
                             json_string_value(json_object_get(t->state, "publish_id")));
    json_t *doc = NULL;
    int rc = api_post(t, "/v2/post/publish/status/fetch/", body, "status_fetch",
                      om_config_long(t->req->cfg, "tiktok.status_per_minute"), "status/fetch",
                      &doc);
    json_decref(body);
    if (rc)
        return rc;
    *data_out = json_incref(json_object_get(doc, "data"));
    json_decref(doc);
    return *data_out ? OM_OK : om_error_set(OM_EIO, "tiktok status/fetch: no data");
}

#define TT_UPLOAD_MORE 2 /* TikTok waits for more of our bytes */
#define TT_RESTART 3     /* the publish cannot finish: a new init */

/* Sends chunks from state.next_chunk on. OM_OK when TikTok took the whole file. */
static int send_chunks(tt *t, int fd, int64_t size)
{
    int64_t chunk = jint(t->state, "chunk_size"), count = jint(t->state, "chunks");
    char *url = xstrdup(json_string_value(json_object_get(t->state, "upload_url")));
    int rc = OM_OK, failures = 0;
    for (int64_t i = jint(t->state, "next_chunk"); i < count && !rc;) {
        if (cancelled(t)) {
            rc = om_error_set(OM_ETIMEOUT, "tiktok upload cancelled at chunk %" PRId64, i);
            break;
        }
        int64_t off = i * chunk, len = i == count - 1 ? size - off : chunk;
        if (i == count - 1 && !json_is_true(json_object_get(t->state, "final_sent"))) {
            json_object_set_new(t->state, "final_sent", json_true());
            if ((rc = persist(t)))
                break;
        }
        char *cr = xasprintf("Content-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64, off,
                             off + len - 1, size);
        const char *hdrs[] = {"Content-Type: video/mp4", cr, NULL};
        thttp_req rq = THTTP_REQ_INIT;
        rq.method = "PUT";
        rq.url = url;
        rq.headers = hdrs;
        rq.file_fd = fd;
        rq.file_off = off;
        rq.file_len = len;
        rq.timeout_s = t->timeout_s;
        int64_t sent = 0;
        rq.sent_out = &sent;
        thttp_resp r;
        rc = thttp_do(&rq, &r);
        free(cr);
        json_object_set_new(t->state, "bytes_sent",
                            json_integer(jint(t->state, "bytes_sent") + sent));
        if (rc || r.status >= 500) {
            if (!rc)
                rc = om_error_set(OM_EUNAVAIL, "HTTP %ld", r.status);
            thttp_resp_release(&r);
            if (++failures > 5) {
                rc = om_error_wrap(rc, "tiktok upload: chunk %" PRId64 " failed %d times", i,
                                   failures);
                break;
            }
            om_warn(SRC, "tiktok upload chunk %" PRId64 ": %s (retry %d)", i, om_error_msg(),
                    failures);
            om_sleep_ms(250LL << (failures - 1));
            rc = OM_OK; /* the same chunk again: chunks are taken whole or not at all */
            continue;
        }
        long st = r.status;
        thttp_resp_release(&r);
        if (st == 206 || st == 201) {
            failures = 0;
            i++;
            json_object_set_new(t->state, "next_chunk", json_integer(i));
            if (st == 201 || i == count)
                break;
            rc = persist(t);
        } else if (st == 403 || st == 404) { /* upload URL expired or unknown */
            rc = TT_RESTART;
        } else if (st == 416) { /* not the range TikTok expects next: ask where it stands */
            json_t *d = NULL;
            rc = status_fetch(t, &d);
            if (!rc) {
                int64_t got = jint(d, "uploaded_bytes");
                i = chunk ? got / chunk : 0;
                json_object_set_new(t->state, "next_chunk", json_integer(i));
            }
            json_decref(d);
        } else {
            rc = om_error_set(OM_EPERMANENT, "tiktok upload chunk %" PRId64 ": HTTP %ld", i, st);
        }
    }
    free(url);
    return rc;
}

/* Polls status/fetch until PUBLISH_COMPLETE (OM_OK, state.post_id) or FAILED. */
static int poll_status(tt *t)
{
    int64_t deadline =
        om_mono_ms() + om_config_long(t->req->cfg, "tiktok.publish_timeout_s") * 1000;
    long poll_ms = om_config_long(t->req->cfg, "tiktok.status_poll_ms");
    for (;;) {
        json_t *d = NULL;
        int rc = status_fetch(t, &d);
        if (rc)
            return rc;
        const char *st = json_string_value(json_object_get(d, "status"));
        json_object_set_new(t->state, "status", json_string(st ? st : "?"));
        if (st && !strcmp(st, "PUBLISH_COMPLETE")) {
            json_t *ids = json_object_get(d, "publicaly_available_post_id");
            json_t *id0 = json_array_get(ids, 0);
            char *id = json_is_integer(id0) ? xasprintf("%" JSON_INTEGER_FORMAT,
                                                        json_integer_value(id0))
                       : json_is_string(id0) ? xstrdup(json_string_value(id0))
                                             : xasprintf("publish:%s",
                                                         json_string_value(json_object_get(
                                                             t->state, "publish_id")));
            json_object_set_new(t->state, "post_id", json_string(id));
            free(id);
            json_decref(d);
            return OM_OK;
        }
        if (st && !strcmp(st, "FAILED")) {
            const char *why = json_string_value(json_object_get(d, "fail_reason"));
            json_object_set_new(t->state, "fail_reason", json_string(why ? why : "?"));
            json_decref(d);
            if (!json_is_true(json_object_get(t->state, "final_sent")))
                return TT_RESTART;
            return om_error_set(OM_EPERMANENT, "tiktok: the post failed: %s", why ? why : "?");
        }
        if (st && !strcmp(st, "PROCESSING_UPLOAD") &&
            !json_is_true(json_object_get(t->state, "final_sent"))) {
            /* still waiting for our bytes: resume after what TikTok has */
            int64_t chunk = jint(t->state, "chunk_size");
            int64_t got = jint(d, "uploaded_bytes");
            if (chunk > 0 && json_object_get(d, "uploaded_bytes"))
                json_object_set_new(t->state, "next_chunk", json_integer(got / chunk));
            json_decref(d);
            return TT_UPLOAD_MORE;
        }
        json_decref(d);
        if (om_mono_ms() >= deadline || cancelled(t))
            return om_error_set(OM_ETIMEOUT, "tiktok: post %s still %s after the timeout",
                                json_string_value(json_object_get(t->state, "publish_id")),
                                st ? st : "unknown");
        om_sleep_ms(poll_ms);
    }
}

static int tt_publish(const om_publish_req *req, json_t *state, char **result_id_out)
{
    *result_id_out = NULL;
    const char *have = json_string_value(json_object_get(state, "post_id"));
    if (have) {
        *result_id_out = xstrdup(have);
        json_object_set_new(state, "reused", json_true());
        return OM_OK;
    }
    if (!req->clip_path || !om_file_exists(req->clip_path))
        return om_error_set(OM_ENOTFOUND, "tiktok target: rendered clip %s is missing",
                            req->clip_path ? req->clip_path : "(none)");
    tt t;
    int rc = tt_init(&t, req, state);
    if (rc) {
        tt_release(&t);
        return rc;
    }
    int64_t size = 0;
    om_file_size(req->clip_path, &size);
    char sum[OM_SHA256_HEX_LEN];
    if ((rc = om_sha256_file(req->clip_path, sum))) {
        tt_release(&t);
        return om_error_wrap(rc, "tiktok target: hashing %s", req->clip_path);
    }
    const char *old = json_string_value(json_object_get(state, "sha256"));
    if (old && strcmp(old, sum) && json_object_get(state, "publish_id") &&
        !json_is_true(json_object_get(state, "final_sent")))
        json_object_del(state, "publish_id"); /* the render changed: its bytes would mix */
    json_object_set_new(state, "size", json_integer(size));
    json_object_set_new(state, "sha256", json_string(sum));
    json_object_set_new(state, "reused", json_false());
    const json_t *src = json_object_get(req->sidecar, "source");
    double dur = json_number_value(json_object_get(src, "end")) -
                 json_number_value(json_object_get(src, "start"));
    int fd = open(req->clip_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tt_release(&t);
        return om_error_set(OM_EIO, "tiktok target: opening %s: %s", req->clip_path,
                            strerror(errno));
    }
    for (int round = 0; round < 8; round++) {
        if (json_object_get(state, "publish_id")) {
            rc = poll_status(&t); /* where the stored publish stands */
            if (rc == TT_RESTART) {
                if (jint(state, "inits") >= 4) {
                    rc = om_error_set(OM_EPERMANENT, "tiktok: 4 posts initialised and lost");
                    break;
                }
                om_warn(SRC, "tiktok: publish %s cannot finish (%s): a new one",
                        json_string_value(json_object_get(state, "publish_id")),
                        json_string_value(json_object_get(state, "fail_reason")));
                json_object_del(state, "publish_id");
                continue;
            }
            if (rc != TT_UPLOAD_MORE)
                break;
            om_info(SRC, "tiktok: resuming publish %s at chunk %" PRId64 " of %" PRId64,
                    json_string_value(json_object_get(state, "publish_id")),
                    jint(state, "next_chunk"), jint(state, "chunks"));
        } else if ((rc = do_init(&t, size, dur))) {
            break;
        }
        rc = send_chunks(&t, fd, size);
        if (rc == TT_RESTART) {
            json_object_del(state, "publish_id");
            continue;
        }
        if (rc)
            break;
        rc = persist(&t);
        if (!rc)
            rc = poll_status(&t);
        if (rc == TT_UPLOAD_MORE || rc == TT_RESTART)
            continue;
        break;
    }
    if (rc == TT_RESTART || rc == TT_UPLOAD_MORE)
        rc = om_error_set(OM_EUNAVAIL, "tiktok: the upload did not complete");
    close(fd);
    tt_release(&t);
    if (rc)
        return rc;
    *result_id_out = xstrdup(json_string_value(json_object_get(state, "post_id")));
    return OM_OK;
}

/* AUTH: the account's token is valid (refreshed if due; invalid_grant raises the incident
 * here, before anything is posted). */
static int tt_auth(const om_publish_req *req, json_t *state)
{
    tt t;
    int rc = tt_init(&t, req, state);
    tt_release(&t);
    return rc;
}

/* VERIFY: the publish reached PUBLISH_COMPLETE (publish polls until it does). */
/* STATS: video/query with the post's id (fields view/like/comment/share counts). */
static int tt_stats(const om_publish_req *req, json_t *state, om_clip_figures *out)
{
    om_clip_figures none = OM_CLIP_FIGURES_NONE;
    *out = none;
    const char *id = json_string_value(json_object_get(state, "post_id"));
    if (!id)
        return om_error_set(OM_EINVAL, "tiktok stats: the upload has no post id");
    tt t;
    int rc = tt_init(&t, req, state);
    json_t *doc = NULL;
    if (!rc) {
        json_t *body = json_pack("{s:{s:[s]}}", "filters", "video_ids", id);
        rc = api_post(&t, "/v2/video/query/?fields=id,view_count,like_count,comment_count,"
                          "share_count",
                      body, NULL, 0, "video/query", &doc);
        json_decref(body);
    }
    if (!rc) {
        json_t *v = json_array_get(json_object_get(json_object_get(doc, "data"), "videos"), 0);
        if (!json_is_object(v)) {
            rc = om_error_set(OM_EPERMANENT, "tiktok stats: post %s is not listed (deleted?)", id);
        } else {
            out->views = json_is_integer(json_object_get(v, "view_count")) ? jint(v, "view_count") : -1;
            out->likes = json_is_integer(json_object_get(v, "like_count")) ? jint(v, "like_count") : -1;
            out->comments =
                json_is_integer(json_object_get(v, "comment_count")) ? jint(v, "comment_count") : -1;
            out->shares =
                json_is_integer(json_object_get(v, "share_count")) ? jint(v, "share_count") : -1;
        }
    }
    json_decref(doc);
    tt_release(&t);
    return rc;
}

static int tt_verify(const om_publish_req *req, json_t *state, const char *result_id)
{
    (void)req;
    const char *st = json_string_value(json_object_get(state, "status"));
    if (json_is_true(json_object_get(state, "reused")) || (st && !strcmp(st, "PUBLISH_COMPLETE")))
        return OM_OK;
    return om_error_set(OM_EPERMANENT, "tiktok: post %s is %s, not published",
                        result_id ? result_id : "?", st ? st : "unknown");
}

const om_target om_target_tiktok = {
    .version = OM_TARGET_VERSION,
    .name = "tiktok",
    .account_platform = "tiktok",
    .auth = tt_auth,
    .publish = tt_publish,
    .verify = tt_verify,
    .stats = tt_stats,
};
