/*
 * instagram.c: the Instagram Reels target, Instagram Graph API (Instagram API with
 * Instagram Login; developers.facebook.com/docs/instagram-platform/content-publishing):
 *
 *   limit      GET {graph}/{ig-user-id}/content_publishing_limit?fields=config,quota_usage
 *              first: with quota_usage >= config.quota_total (the rolling 24 hours) the
 *              post is OM_EBUSY with state.quota, retried instagram.limit_retry_s later
 *              without spending an attempt.
 *   container  POST {graph}/{ig-user-id}/media media_type=REELS, upload_type=resumable,
 *              caption, share_to_feed: the answer's id (and uri, the rupload address) are
 *              persisted (req->persist) BEFORE the first byte.
 *   upload     POST {uri} (rupload.facebook.com/ig-api-upload/...) with
 *              "Authorization: OAuth TOKEN", "offset: K", "file_size: N" and the bytes from
 *              K; a restart sends again from offset 0 (the container keeps the last complete
 *              upload; nothing is posted from bytes alone).
 *   status     GET {graph}/{container}?fields=status_code,status until FINISHED (ERROR:
 *              the job fails with Meta's status text; EXPIRED, 24 hours old: a new
 *              container; PUBLISHED: it was posted before a crash).
 *   publish    POST {graph}/{ig-user-id}/media_publish creation_id={container}, with
 *              "publish_sent" persisted first. A container is published at most once by
 *              Instagram itself, so a restart after publish_sent asks the container: PUBLISHED
 *              -> the media is looked up among the account's newest (same caption), FINISHED
 *              -> publish it now.
 *
 * Errors: the Graph API's {"error": {"message", "type", "code", "error_subcode"}}: code 190
 * (token) refreshes once; 4/17/32/613 (rate limits) and 9/2207042 (the publishing limit)
 * are OM_EBUSY with state.quota; 5xx and code 1/2 are retried; the rest are permanent.
 *
 * State (upload_jobs.target_state): size, sha256, container_id, upload_uri, containers,
 * uploaded, status_code, publish_sent, media_id, permalink, limit {usage, total}, quota.
 */
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "targets/accounts.h"
#include "targets/instagram.h"
#include "targets/target.h"
#include "targets/thttp.h"

#define SRC "uploader_worker"
#define IG_CAPTION_MAX 2200

typedef struct ig {
    const om_publish_req *req;
    json_t *state;
    char *token, *bearer, *user_id;
    char account_id[OM_UUID_LEN];
    const char *graph;
    long timeout_s;
    int refreshed;
} ig;

static void ig_release(ig *g)
{
    free(g->token);
    free(g->bearer);
    free(g->user_id);
}

static int cancelled(const ig *g)
{
    return g->req->cancel && *g->req->cancel;
}

static int persist(ig *g)
{
    if (!g->req->persist)
        return OM_OK;
    int rc = g->req->persist(g->req->persist_arg, g->state);
    return rc ? om_error_wrap(rc, "instagram target: saving the upload state") : OM_OK;
}

static int ig_token(ig *g, int force)
{
    free(g->token), free(g->bearer);
    g->token = g->bearer = NULL;
    if (!g->req->store || !g->req->project_id || !*g->req->project_id)
        return om_error_set(OM_EPERMANENT,
                            "instagram target: the clip is in no project, so no account to "
                            "post with");
    if (force)
        om_store_exec(g->req->store,
                      "UPDATE publishing_accounts SET access_expires_at = NULL WHERE project_id "
                      "= ? AND platform = 'instagram'",
                      OM_PARAMS(OM_TEXT(g->req->project_id)), NULL);
    int rc = om_account_token(g->req->store, g->req->cfg, g->req->project_id, "instagram",
                              &g->token, g->account_id);
    if (rc)
        return om_error_wrap(rc, "instagram target");
    g->bearer = xasprintf("Authorization: Bearer %s", g->token);
    if (!g->user_id) {
        rc = om_store_query_value(g->req->store,
                                  "SELECT external_id FROM publishing_accounts WHERE account_id "
                                  "= ?",
                                  OM_PARAMS(OM_TEXT(g->account_id)), &g->user_id);
        if (rc || !g->user_id)
            return om_error_set(OM_EPERMANENT,
                                "instagram target: the linked account has no Instagram user "
                                "id: link it again with 'omniva account add instagram'");
    }
    return OM_OK;
}

static int ig_init(ig *g, const om_publish_req *req, json_t *state)
{
    memset(g, 0, sizeof(*g));
    g->req = req;
    g->state = state;
    if (!req->cfg)
        return om_error_set(OM_EINVAL, "instagram target: no configuration");
    g->graph = om_config_str(req->cfg, "instagram.graph_url");
    g->timeout_s = om_config_long(req->cfg, "instagram.timeout_s");
    return ig_token(g, 0);
}

static int quota_hit(ig *g, const char *reason, const char *message)
{
    char at[OM_TIME_LEN];
    om_time_iso(at, om_now_us() + om_config_long(g->req->cfg, "instagram.limit_retry_s") *
                                      1000000LL);
    json_object_set_new(g->state, OM_TARGET_QUOTA_KEY,
                        json_pack("{s:s,s:s,s:s?}", "reason", reason, "retry_at", at, "message",
                                  message));
    return om_error_set(OM_EBUSY, "instagram: %s%s%s (next try at %s)", reason,
                        message ? ": " : "", message ? message : "", at);
}

/* The Graph API's error object: quota -> OM_EBUSY, token -> OM_EPERMANENT (after the
 * caller's refresh), 5xx/transient -> OM_EUNAVAIL, else OM_EPERMANENT. */
static int graph_error(ig *g, long status, const json_t *doc, const char *what)
{
    const json_t *e = json_object_get(doc, "error");
    json_int_t code = json_integer_value(json_object_get(e, "code"));
    json_int_t sub = json_integer_value(json_object_get(e, "error_subcode"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code == 9 || sub == 2207042)
        return quota_hit(g, "content_publishing_limit", msg);
    if (code == 4 || code == 17 || code == 32 || code == 613 || status == 429)
        return quota_hit(g, "rate_limit", msg);
    int transient = status >= 500 || code == 1 || code == 2;
    char subtext[48] = "";
    if (sub)
        snprintf(subtext, sizeof(subtext), ", subcode %" JSON_INTEGER_FORMAT, sub);
    return om_error_set(transient ? OM_EUNAVAIL : OM_EPERMANENT,
                        "instagram %s: HTTP %ld (code %" JSON_INTEGER_FORMAT "%s)%s%s", what,
                        status, code, subtext, msg ? ": " : "", msg ? msg : "");
}

/* One Graph API call (form body for POST); retries 5xx/network 3 times, refreshes the token
 * once on 401/code 190. *doc_out the answer on HTTP 200. */
static int graph(ig *g, const char *method, const char *url, const char *form, const char *what,
                 json_t **doc_out)
{
    *doc_out = NULL;
    int rc = OM_OK;
    for (int attempt = 0;; attempt++) {
        const char *hdrs[] = {g->bearer, form ? "Content-Type: application/x-www-form-urlencoded"
                                              : NULL,
                              NULL};
        thttp_req rq = THTTP_REQ_INIT;
        rq.method = method;
        rq.url = url;
        rq.headers = hdrs;
        rq.body = form;
        rq.body_len = form ? strlen(form) : 0;
        rq.timeout_s = g->timeout_s;
        thttp_resp r;
        rc = thttp_do(&rq, &r);
        json_t *doc = rc ? NULL : json_loadb(r.body, r.len, 0, NULL);
        long st = rc ? 0 : r.status;
        thttp_resp_release(&r);
        json_int_t code = json_integer_value(
            json_object_get(json_object_get(doc, "error"), "code"));
        if (!rc && (st == 401 || code == 190) && !g->refreshed) {
            g->refreshed = 1;
            json_decref(doc);
            if ((rc = ig_token(g, 1)))
                return rc;
            attempt--;
            continue;
        }
        if (!rc && st == 200) {
            *doc_out = doc;
            return OM_OK;
        }
        if (!rc)
            rc = graph_error(g, st, doc, what);
        json_decref(doc);
        if (rc != OM_EUNAVAIL && rc != OM_EIO)
            return rc;
        if (attempt >= 3 || cancelled(g))
            return rc;
        om_warn(SRC, "instagram %s: %s (retry %d)", what, om_error_msg(), attempt + 1);
        om_sleep_ms(1000LL << attempt);
    }
}

static int check_limit(ig *g)
{
    char *url = xasprintf("%s/%s/content_publishing_limit?fields=config,quota_usage", g->graph,
                          g->user_id);
    json_t *doc = NULL;
    int rc = graph(g, "GET", url, NULL, "content_publishing_limit", &doc);
    free(url);
    if (rc)
        return rc;
    json_t *d = json_array_get(json_object_get(doc, "data"), 0);
    json_int_t used = json_integer_value(json_object_get(d, "quota_usage"));
    json_int_t total = json_integer_value(
        json_object_get(json_object_get(d, "config"), "quota_total"));
    json_object_set_new(g->state, "limit", json_pack("{s:I,s:I}", "usage", used, "total", total));
    json_decref(doc);
    if (total > 0 && used >= total) {
        char *m = xasprintf("%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
                            " posts in the last 24 hours",
                            used, total);
        rc = quota_hit(g, "content_publishing_limit", m);
        free(m);
    }
    return rc;
}

static char *caption_of(const om_publish_req *req)
{
    const char *title = json_string_value(json_object_get(req->sidecar, "title"));
    const char *desc = json_string_value(json_object_get(req->sidecar, "description"));
    char *full = xasprintf("%s%s%s", title ? title : "", desc && *desc ? "\n\n" : "",
                           desc ? desc : "");
    char *c = om_publish_truncate(full, IG_CAPTION_MAX);
    free(full);
    return c;
}

static int make_container(ig *g)
{
    if (json_integer_value(json_object_get(g->state, "containers")) >= 4)
        return om_error_set(OM_EPERMANENT, "instagram: 4 containers made and lost already");
    char *cap = caption_of(g->req), *ec = thttp_escape(cap);
    char *form = xasprintf("media_type=REELS&upload_type=resumable&share_to_feed=true&caption=%s",
                           ec);
    char *url = xasprintf("%s/%s/media", g->graph, g->user_id);
    json_t *doc = NULL;
    int rc = graph(g, "POST", url, form, "media (container)", &doc);
    free(cap), free(ec), free(form), free(url);
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *uri = json_string_value(json_object_get(doc, "uri"));
    if (!id) {
        json_decref(doc);
        return om_error_set(OM_EIO, "instagram media: the answer has no container id");
    }
    char *u = uri ? xstrdup(uri)
                  : xasprintf("%s/%s", om_config_str(g->req->cfg, "instagram.upload_url"), id);
    json_object_set_new(g->state, "container_id", json_string(id));
    json_object_set_new(g->state, "upload_uri", json_string(u));
    json_object_set_new(g->state, "uploaded", json_false());
    json_object_set_new(g->state, "publish_sent", json_false());
    json_object_set_new(g->state, "containers",
                        json_integer(json_integer_value(json_object_get(g->state, "containers")) +
                                     1));
    json_object_del(g->state, OM_TARGET_QUOTA_KEY);
    free(u);
    json_decref(doc);
    return persist(g); /* BEFORE the first byte */
}

static int upload_file(ig *g, int fd, int64_t size)
{
    const char *uri = json_string_value(json_object_get(g->state, "upload_uri"));
    char *auth = xasprintf("Authorization: OAuth %s", g->token);
    char *fs = xasprintf("file_size: %" PRId64, size);
    const char *hdrs[] = {auth, "offset: 0", fs, NULL};
    int rc = OM_OK;
    for (int attempt = 0;; attempt++) {
        thttp_req rq = THTTP_REQ_INIT;
        rq.method = "POST";
        rq.url = uri;
        rq.headers = hdrs;
        rq.file_fd = fd;
        rq.file_off = 0;
        rq.file_len = size;
        rq.timeout_s = g->timeout_s;
        int64_t sent = 0;
        rq.sent_out = &sent;
        thttp_resp r;
        rc = thttp_do(&rq, &r);
        json_object_set_new(
            g->state, "bytes_sent",
            json_integer(json_integer_value(json_object_get(g->state, "bytes_sent")) + sent));
        json_t *doc = rc ? NULL : json_loadb(r.body, r.len, 0, NULL);
        long st = rc ? 0 : r.status;
        thttp_resp_release(&r);
        if (!rc && st == 200 && json_is_true(json_object_get(doc, "success"))) {
            json_decref(doc);
            json_object_set_new(g->state, "uploaded", json_true());
            rc = persist(g);
            break;
        }
        if (!rc)
            rc = st == 200 ? om_error_set(OM_EIO, "instagram upload: no success in the answer")
                           : graph_error(g, st, doc, "upload");
        json_decref(doc);
        if ((rc != OM_EUNAVAIL && rc != OM_EIO) || attempt >= 3 || cancelled(g))
            break;
        om_warn(SRC, "instagram upload: %s (retry %d)", om_error_msg(), attempt + 1);
        om_sleep_ms(1000LL << attempt);
    }
    free(auth);
    free(fs);
    return rc;
}

#define IG_NEW_CONTAINER 2

/* Polls the container until FINISHED (OM_OK) or PUBLISHED (*published = 1). */
static int wait_container(ig *g, int *published)
{
    *published = 0;
    const char *cid = json_string_value(json_object_get(g->state, "container_id"));
    char *url = xasprintf("%s/%s?fields=status_code,status", g->graph, cid);
    int64_t deadline =
        om_mono_ms() + om_config_long(g->req->cfg, "instagram.publish_timeout_s") * 1000;
    long poll_ms = om_config_long(g->req->cfg, "instagram.status_poll_ms");
    int rc;
    for (;;) {
        json_t *doc = NULL;
        rc = graph(g, "GET", url, NULL, "container status", &doc);
        if (rc)
            break;
        const char *sc = json_string_value(json_object_get(doc, "status_code"));
        const char *st = json_string_value(json_object_get(doc, "status"));
        json_object_set_new(g->state, "status_code", json_string(sc ? sc : "?"));
        if (sc && !strcmp(sc, "FINISHED")) {
            json_decref(doc);
            rc = OM_OK;
            break;
        }
        if (sc && !strcmp(sc, "PUBLISHED")) {
            *published = 1;
            json_decref(doc);
            rc = OM_OK;
            break;
        }
        if (sc && !strcmp(sc, "EXPIRED")) {
            json_decref(doc);
            rc = IG_NEW_CONTAINER;
            break;
        }
        if (sc && !strcmp(sc, "ERROR")) {
            json_object_set_new(g->state, "rejection", json_pack("{s:s?}", "status", st));
            rc = om_error_set(OM_EPERMANENT, "instagram: container %s failed: %s", cid,
                              st ? st : "ERROR");
            json_decref(doc);
            break;
        }
        json_decref(doc);
        if (!json_is_true(json_object_get(g->state, "uploaded"))) {
            rc = OM_OK; /* IN_PROGRESS without our bytes: the caller uploads */
            break;
        }
        if (om_mono_ms() >= deadline || cancelled(g)) {
            rc = om_error_set(OM_ETIMEOUT, "instagram: container %s still %s after the timeout",
                              cid, sc ? sc : "unknown");
            break;
        }
        om_sleep_ms(poll_ms);
    }
    free(url);
    return rc;
}

/* A crash after media_publish: the media among the account's newest with our caption. */
static int find_media(ig *g)
{
    char *url = xasprintf("%s/%s/media?fields=id,caption,media_product_type&limit=50", g->graph,
                          g->user_id);
    json_t *doc = NULL;
    int rc = graph(g, "GET", url, NULL, "media list", &doc);
    free(url);
    if (rc)
        return rc;
    char *cap = caption_of(g->req);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "data"), i, m) {
        const char *c = json_string_value(json_object_get(m, "caption"));
        const char *id = json_string_value(json_object_get(m, "id"));
        if (c && id && !strcmp(c, cap)) {
            json_object_set_new(g->state, "media_id", json_string(id));
            break;
        }
    }
    free(cap);
    json_decref(doc);
    if (!json_object_get(g->state, "media_id"))
        return om_error_set(OM_EPERMANENT,
                            "instagram: container %s was published but its media is not among "
                            "the account's newest",
                            json_string_value(json_object_get(g->state, "container_id")));
    return OM_OK;
}

static int publish_container(ig *g)
{
    json_object_set_new(g->state, "publish_sent", json_true());
    int rc = persist(g);
    if (rc)
        return rc;
    char *url = xasprintf("%s/%s/media_publish", g->graph, g->user_id);
    char *form = xasprintf("creation_id=%s",
                           json_string_value(json_object_get(g->state, "container_id")));
    json_t *doc = NULL;
    rc = graph(g, "POST", url, form, "media_publish", &doc);
    free(url), free(form);
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (id)
        json_object_set_new(g->state, "media_id", json_string(id));
    json_decref(doc);
    return id ? OM_OK : om_error_set(OM_EIO, "instagram media_publish: no media id");
}

static int ig_publish(const om_publish_req *req, json_t *state, char **result_id_out)
{
    *result_id_out = NULL;
    const char *have = json_string_value(json_object_get(state, "media_id"));
    if (have) {
        *result_id_out = xstrdup(have);
        json_object_set_new(state, "reused", json_true());
        return OM_OK;
    }
    if (!req->clip_path || !om_file_exists(req->clip_path))
        return om_error_set(OM_ENOTFOUND, "instagram target: rendered clip %s is missing",
                            req->clip_path ? req->clip_path : "(none)");
    ig g;
    int rc = ig_init(&g, req, state);
    if (rc) {
        ig_release(&g);
        return rc;
    }
    int64_t size = 0;
    om_file_size(req->clip_path, &size);
    char sum[OM_SHA256_HEX_LEN];
    if ((rc = om_sha256_file(req->clip_path, sum))) {
        ig_release(&g);
        return om_error_wrap(rc, "instagram target: hashing %s", req->clip_path);
    }
    json_object_set_new(state, "size", json_integer(size));
    json_object_set_new(state, "sha256", json_string(sum));
    json_object_set_new(state, "reused", json_false());
    int fd = open(req->clip_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ig_release(&g);
        return om_error_set(OM_EIO, "instagram target: opening %s: %s", req->clip_path,
                            strerror(errno));
    }
    for (int round = 0; round < 6; round++) {
        int published = 0;
        if (!json_object_get(state, "container_id")) {
            if ((rc = check_limit(&g)) || (rc = make_container(&g)))
                break;
        } else if (!json_is_true(json_object_get(state, "publish_sent")) &&
                   !json_is_true(json_object_get(state, "uploaded"))) {
            om_info(SRC, "instagram: container %s: sending the file again",
                    json_string_value(json_object_get(state, "container_id")));
        }
        if (!json_is_true(json_object_get(state, "uploaded")) &&
            (rc = upload_file(&g, fd, size)))
            break;
        rc = wait_container(&g, &published);
        if (rc == IG_NEW_CONTAINER) {
            json_object_del(state, "container_id");
            continue;
        }
        if (rc)
            break;
        if (published) {
            rc = find_media(&g);
            break;
        }
        if (!json_is_true(json_object_get(state, "publish_sent")) && (rc = check_limit(&g)))
            break;
        rc = publish_container(&g);
        break;
    }
    if (rc == IG_NEW_CONTAINER)
        rc = om_error_set(OM_EUNAVAIL, "instagram: containers keep expiring");
    close(fd);
    ig_release(&g);
    if (rc)
        return rc;
    *result_id_out = xstrdup(json_string_value(json_object_get(state, "media_id")));
    return OM_OK;
}

static int ig_auth(const om_publish_req *req, json_t *state)
{
    ig g;
    int rc = ig_init(&g, req, state);
    ig_release(&g);
    return rc;
}

/* VERIFY: the media exists and is a reel. */
static int ig_verify(const om_publish_req *req, json_t *state, const char *result_id)
{
    const char *id = result_id ? result_id : json_string_value(json_object_get(state, "media_id"));
    if (!id)
        return om_error_set(OM_EINVAL, "instagram target: nothing published yet to verify");
    ig g;
    int rc = ig_init(&g, req, state);
    if (!rc) {
        char *url = xasprintf("%s/%s?fields=id,media_product_type,permalink", g.graph, id);
        json_t *doc = NULL;
        rc = graph(&g, "GET", url, NULL, "media", &doc);
        free(url);
        if (!rc) {
            const char *type = json_string_value(json_object_get(doc, "media_product_type"));
            const char *link = json_string_value(json_object_get(doc, "permalink"));
            if (link)
                json_object_set_new(state, "permalink", json_string(link));
            if (!type || strcmp(type, "REELS"))
                rc = om_error_set(OM_EPERMANENT, "instagram: media %s is %s, not a reel", id,
                                  type ? type : "of no known type");
        }
        json_decref(doc);
    }
    ig_release(&g);
    return rc;
}

int om_instagram_user(const om_config *cfg, const char *access_token, char **id_out,
                      char **username_out)
{
    *id_out = *username_out = NULL;
    char *url = xasprintf("%s/me?fields=user_id,username",
                          om_config_str(cfg, "instagram.graph_url"));
    char *auth = xasprintf("Authorization: Bearer %s", access_token);
    const char *hdrs[] = {auth, NULL};
    thttp_req rq = THTTP_REQ_INIT;
    rq.method = "GET";
    rq.url = url;
    rq.headers = hdrs;
    rq.timeout_s = om_config_long(cfg, "instagram.timeout_s");
    thttp_resp r;
    int rc = thttp_do(&rq, &r);
    free(auth);
    free(url);
    if (rc) {
        thttp_resp_release(&r);
        return om_error_wrap(rc, "instagram /me");
    }
    json_t *doc = json_loadb(r.body, r.len, 0, NULL);
    json_t *uid = json_object_get(doc, "user_id");
    char num[32] = "";
    if (json_is_integer(uid))
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(uid));
    const char *id = json_is_string(uid) ? json_string_value(uid) : *num ? num : NULL;
    const char *name = json_string_value(json_object_get(doc, "username"));
    if (r.status != 200 || !id) {
        const char *msg = json_string_value(
            json_object_get(json_object_get(doc, "error"), "message"));
        rc = om_error_set(r.status >= 500 ? OM_EUNAVAIL : OM_EPERMANENT,
                          "instagram /me: HTTP %ld%s%s (a professional account is needed)",
                          r.status, msg ? ": " : "", msg ? msg : "");
    } else {
        *id_out = xstrdup(id);
        *username_out = name ? xstrdup(name) : NULL;
    }
    json_decref(doc);
    thttp_resp_release(&r);
    return rc;
}

/* STATS: the Reel's lifetime insights (views, likes, comments, shares, total watch time). */
static int ig_stats(const om_publish_req *req, json_t *state, om_clip_figures *out)
{
    om_clip_figures none = OM_CLIP_FIGURES_NONE;
    *out = none;
    const char *id = json_string_value(json_object_get(state, "media_id"));
    if (!id)
        return om_error_set(OM_EINVAL, "instagram stats: the upload has no media id");
    ig g;
    int rc = ig_init(&g, req, state);
    json_t *doc = NULL;
    if (!rc) {
        char *url = xasprintf("%s/%s/insights?metric=views,likes,comments,shares,"
                              "ig_reels_video_view_total_time",
                              g.graph, id);
        rc = graph(&g, "GET", url, NULL, "insights", &doc);
        free(url);
    }
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "data"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        json_t *v = json_object_get(json_array_get(json_object_get(m, "values"), 0), "value");
        if (!name || !json_is_number(v))
            continue;
        double x = json_number_value(v);
        if (!strcmp(name, "views"))
            out->views = (long long)x;
        else if (!strcmp(name, "likes"))
            out->likes = (long long)x;
        else if (!strcmp(name, "comments"))
            out->comments = (long long)x;
        else if (!strcmp(name, "shares"))
            out->shares = (long long)x;
        else if (!strcmp(name, "ig_reels_video_view_total_time"))
            out->watch_time_s = x / 1000.0; /* milliseconds */
    }
    json_decref(doc);
    ig_release(&g);
    return rc;
}

const om_target om_target_instagram = {
    .version = OM_TARGET_VERSION,
    .name = "instagram",
    .account_platform = "instagram",
    .auth = ig_auth,
    .publish = ig_publish,
    .verify = ig_verify,
    .stats = ig_stats,
};
