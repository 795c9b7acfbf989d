/*
 * discovery.c: the `discovery` stage (candidates from mentions, links, feeds and YouTube
 * search, scored by relevance and cadence, proposed) and the proposals' list/accept/reject.
 * See discovery.h.
 */
#include "base/common.h"
#include "cognition/relevance.h"
#include "ledger/stardust.h"
#include "runtime/runtime.h"
#include "sources/sources.h"
#include "stages/discovery.h"
#include "stages/projects.h"

#include <ctype.h>
#include <math.h>

#define SRC "discovery_worker"

typedef struct cand {
    char *url, *platform, *handle, *found_in;
    const char *source; /* "mention", "search", "feed_link" */
    char *snippet;
    double relevance, per_week, score;
    int posts;
    json_t *matched;
    char *error;
} cand;

typedef struct disc {
    om_job_ctx *ctx;
    json_t *brand;
    json_t *followed; /* profile URLs already followed: object used as a set */
    cand *c;
    size_t n;
    size_t max;
    om_source_ctx sctx;
    int sctx_ready;
} disc;

static void disc_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    disc *d = js;
    for (size_t i = 0; i < d->n; i++) {
        free(d->c[i].url);
        free(d->c[i].platform);
        free(d->c[i].handle);
        free(d->c[i].found_in);
        free(d->c[i].snippet);
        free(d->c[i].error);
        json_decref(d->c[i].matched);
    }
    free(d->c);
    json_decref(d->brand);
    json_decref(d->followed);
    if (d->sctx_ready)
        om_source_ctx_release(&d->sctx);
}

/* Adds a candidate by URL (classified; followed, unsupported and duplicate ones are skipped). */
static void add_candidate(disc *d, const char *url, const char *source, const char *found_in,
                          const char *snippet)
{
    if (d->n >= d->max)
        return;
    om_source_class cl;
    if (om_source_classify(url, &cl) != OM_OK) {
        om_error_clear();
        return;
    }
    int usable = strcmp(cl.platform, "direct") != 0 && strcmp(cl.platform, "local") != 0;
    if (usable && !json_object_get(d->followed, cl.profile_url)) {
        for (size_t i = 0; i < d->n && usable; i++)
            usable = strcmp(d->c[i].url, cl.profile_url) != 0;
    } else {
        usable = 0;
    }
    if (usable) {
        d->c = xrealloc(d->c, (d->n + 1) * sizeof(*d->c));
        cand *c = &d->c[d->n++];
        memset(c, 0, sizeof(*c));
        c->url = xstrdup(cl.profile_url);
        c->platform = xstrdup(cl.platform);
        c->handle = xstrdup(cl.username);
        c->source = !strcmp(cl.platform, "feed") && strcmp(source, "search") ? "feed_link"
                                                                               : source;
        c->found_in = xstrdup(found_in ? found_in : "");
        c->snippet = xstrdup(snippet ? snippet : "");
    }
    om_source_class_release(&cl);
}

/* @handles and links in one text. */
static void scan_text(disc *d, const char *text, const char *platform, const char *found_in)
{
    for (const char *p = text; *p && d->n < d->max; p++) {
        if (*p == '@' && (p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
                                         p[-1] == '/' || p[-1] == '_'))) {
            size_t len = 0;
            while (p[1 + len] && (isalnum((unsigned char)p[1 + len]) || p[1 + len] == '_' ||
                                  p[1 + len] == '.' || p[1 + len] == '-'))
                len++;
            while (len && (p[len] == '.' || p[len] == '-')) /* trailing punctuation */
                len--;
            if (len >= 2 && len <= 30) {
                char h[32];
                memcpy(h, p + 1, len);
                h[len] = '\0';
                char *url = !strcmp(platform, "tiktok")      ? xasprintf("https://www.tiktok.com/@%s", h)
                            : !strcmp(platform, "instagram") ? xasprintf("https://www.instagram.com/%s/", h)
                                                             : xasprintf("https://www.youtube.com/@%s", h);
                char *snip = xasprintf("@%s", h);
                add_candidate(d, url, "mention", found_in, snip);
                free(snip);
                free(url);
            }
        } else if (!strncmp(p, "http://", 7) || !strncmp(p, "https://", 8)) {
            size_t len = strcspn(p, " \t\r\n\"'<>()[]{}");
            while (len && strchr(".,;:!?", p[len - 1]))
                len--;
            char *url = xstrndup(p, len);
            add_candidate(d, url, "mention", found_in, url);
            free(url);
            p += len ? len - 1 : 0;
        }
    }
}

int om_discovery_scan(const char *text, const char *platform, size_t max, json_t **out)
{
    disc d;
    memset(&d, 0, sizeof(d));
    d.max = max;
    d.followed = json_object();
    scan_text(&d, text ? text : "", platform ? platform : "", "text");
    *out = json_array();
    for (size_t i = 0; i < d.n; i++)
        json_array_append_new(*out, json_pack("{s:s,s:s,s:s,s:s,s:s}", "url", d.c[i].url,
                                              "platform", d.c[i].platform, "handle",
                                              d.c[i].handle, "source", d.c[i].source,
                                              "snippet", d.c[i].snippet));
    disc_release(NULL, &d);
    return OM_OK;
}

static int disc_init(om_job_ctx *ctx, void *js)
{
    disc *d = js;
    d->ctx = ctx;
    d->max = (size_t)om_config_long(ctx->cfg, "discovery.max_candidates");
    if (!ctx->project_id || !*ctx->project_id)
        return om_error_set(OM_EINVAL, "discovery payload needs project_id");
    json_t *p = NULL;
    int rc = om_project_get(ctx->store, ctx->project_id, &p);
    if (rc)
        return om_error_wrap(rc, "discovery");
    d->brand = json_incref(json_object_get(p, "brand"));
    json_decref(p);
    d->followed = json_object();
    om_rows *r = NULL;
    rc = om_store_query(ctx->store,
                        "SELECT c.profile_url FROM creators c JOIN project_creators pc ON "
                        "pc.creator_id = c.creator_id WHERE pc.project_id = ?",
                        OM_PARAMS(OM_TEXT(ctx->project_id)), &r);
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(r); i++)
        if (om_rows_get(r, i, 0))
            json_object_set_new(d->followed, om_rows_get(r, i, 0), json_true());
    om_rows_free(r);
    om_source_ctx_init(&d->sctx, ctx->cfg, ctx->cancel);
    d->sctx_ready = 1;
    return rc ? om_error_wrap(rc, "discovery: the followed creators") : OM_OK;
}

static const char *const text_keys[] = {"title", "description", "caption", "summary"};

static int disc_gather(om_job_ctx *ctx, void *js)
{
    disc *d = js;
    om_rows *r = NULL;
    int rc = om_store_query(ctx->store,
                            "SELECT p.post_id, p.platform, p.raw_metadata FROM posts p JOIN "
                            "project_creators pc ON pc.creator_id = p.creator_id WHERE "
                            "pc.project_id = ? ORDER BY p.posted_at DESC LIMIT 500",
                            OM_PARAMS(OM_TEXT(ctx->project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "discovery: reading the followed creators' posts");
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *raw = om_rows_get(r, i, 2);
        json_t *m = raw ? json_loads(raw, 0, NULL) : NULL;
        for (size_t k = 0; k < OM_ARRAY_LEN(text_keys); k++) {
            const char *t = json_string_value(json_object_get(m, text_keys[k]));
            if (t)
                scan_text(d, t, om_rows_get(r, i, 1), om_rows_get(r, i, 0));
        }
        json_decref(m);
    }
    om_rows_free(r);
    size_t from_posts = d->n;
    /* YouTube search over the brand's keywords, through yt-dlp */
    long per = om_config_long(ctx->cfg, "discovery.search_results");
    json_t *kws = json_object_get(d->brand, "keywords");
    size_t i;
    json_t *kw;
    json_array_foreach(kws, i, kw)
    {
        if (per <= 0 || d->n >= d->max)
            break;
        const char *k = json_string_value(kw);
        if (!k || !*k)
            continue;
        char *q = xasprintf("ytsearch%ld:%s", per, k);
        om_source_creator cr = {NULL, "youtube", "search", q};
        om_source_entries l = {NULL, 0, 0};
        if (om_source_list(&d->sctx, &cr, (size_t)per, &l) != OM_OK) {
            om_warn(SRC, "search '%s': %s", k, om_error_msg());
            om_error_clear();
        }
        for (size_t e = 0; e < l.n; e++) {
            const char *ch = json_string_value(json_object_get(l.v[e].raw, "channel_url"));
            if (!ch)
                ch = json_string_value(json_object_get(l.v[e].raw, "uploader_url"));
            if (ch)
                add_candidate(d, ch, "search", k, l.v[e].title);
        }
        om_source_entries_free(&l);
        free(q);
    }
    om_step_note(ctx, "%zu candidates (%zu from posts, %zu from search)", d->n, from_posts,
                 d->n - from_posts);
    json_object_set_new(ctx->result, "candidates", json_integer((json_int_t)d->n));
    return OM_OK;
}

static int disc_score(om_job_ctx *ctx, void *js)
{
    disc *d = js;
    om_stemmer *st = om_stemmer_new();
    om_relevance *rel = om_relevance_from_brand(st, d->brand);
    long recent = om_config_long(ctx->cfg, "discovery.recent_posts");
    for (size_t i = 0; i < d->n && !(ctx->cancel && *ctx->cancel); i++) {
        cand *c = &d->c[i];
        om_source_creator cr = {NULL, c->platform, c->handle, c->url};
        om_source_entries l = {NULL, 0, 0};
        if (om_source_list(&d->sctx, &cr, (size_t)recent, &l) != OM_OK) {
            c->error = xstrdup(om_error_msg());
            om_error_clear();
        }
        double sum = 0;
        int64_t first = 0, last = 0;
        int dated = 0;
        c->matched = json_array();
        for (size_t e = 0; e < l.n; e++) {
            const char *desc = json_string_value(json_object_get(l.v[e].raw, "description"));
            char *text = xasprintf("%s %s", l.v[e].title ? l.v[e].title : "", desc ? desc : "");
            json_t *m = NULL;
            sum += om_relevance_score(rel, text, &m);
            size_t k;
            json_t *v;
            json_array_foreach(m, k, v)
            {
                int seen = 0;
                size_t j;
                json_t *w;
                json_array_foreach(c->matched, j, w) seen |= json_equal(v, w);
                if (!seen && json_array_size(c->matched) < 10)
                    json_array_append(c->matched, v);
            }
            json_decref(m);
            free(text);
            int64_t at;
            if (l.v[e].posted_at && om_time_parse(l.v[e].posted_at, &at) == OM_OK) {
                if (!dated || at < first)
                    first = at;
                if (!dated || at > last)
                    last = at;
                dated++;
            }
        }
        c->posts = (int)l.n;
        c->relevance = l.n ? sum / (double)l.n : 0;
        double span_weeks = (double)(last - first) / (7.0 * 86400e6);
        c->per_week = dated >= 2 && span_weeks > 0 ? (double)(dated - 1) / span_weeks : 0;
        c->score = 0.75 * c->relevance + 0.25 * fmin(1.0, c->per_week / 7.0);
        om_source_entries_free(&l);
    }
    om_relevance_free(rel);
    om_stemmer_free(st);
    return OM_OK;
}

static int disc_propose(om_job_ctx *ctx, void *js)
{
    disc *d = js;
    double min = om_config_double(ctx->cfg, "discovery.min_score");
    int autof = om_config_bool(ctx->cfg, "discovery.auto_follow");
    json_t *proposed = json_array();
    int rc = OM_OK;
    for (size_t i = 0; rc == OM_OK && i < d->n; i++) {
        cand *c = &d->c[i];
        om_info(SRC, "candidate %s (%s): relevance %.2f over %d posts, %.1f posts/week, score "
                     "%.2f%s%s",
                c->url, c->source, c->relevance, c->posts, c->per_week, c->score,
                c->error ? "; " : "", c->error ? c->error : "");
        if (c->posts == 0 || c->score < min)
            continue;
        json_t *ev = json_pack("{s:s, s:s, s:i, s:O}", "found_in", c->found_in, "snippet",
                               c->snippet, "posts_read", c->posts, "matched", c->matched);
        char *evs = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
        char id[OM_UUID_LEN];
        om_uuid4(id);
        rc = om_store_exec(ctx->store,
                           "INSERT INTO discoveries (discovery_id, project_id, url, platform, "
                           "handle, source, found_in, relevance, posts_per_week, score, "
                           "evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                           "(project_id, url) DO UPDATE SET relevance = excluded.relevance, "
                           "posts_per_week = excluded.posts_per_week, score = excluded.score, "
                           "evidence = excluded.evidence, updated_at = now() WHERE "
                           "discoveries.status = 'proposed'",
                           OM_PARAMS(OM_TEXT(id), OM_TEXT(ctx->project_id), OM_TEXT(c->url),
                                     OM_TEXT(c->platform), OM_TEXT(c->handle),
                                     OM_TEXT(c->source), OM_TEXT(c->found_in),
                                     OM_REAL(c->relevance), OM_REAL(c->per_week),
                                     OM_REAL(c->score), OM_JSON(evs)),
                           NULL);
        free(evs);
        json_decref(ev);
        char *did = NULL;
        if (rc == OM_OK)
            rc = om_store_query_value(ctx->store,
                                      "SELECT discovery_id FROM discoveries WHERE project_id = ? "
                                      "AND url = ? AND status = 'proposed'",
                                      OM_PARAMS(OM_TEXT(ctx->project_id), OM_TEXT(c->url)), &did);
        if (rc == OM_ENOTFOUND) { /* decided before: left as it is */
            om_error_clear();
            rc = OM_OK;
            continue;
        }
        if (rc == OM_OK && autof)
            rc = om_discovery_decide(ctx->store, ctx->project_id, did, 1, "auto_follow", NULL);
        if (rc == OM_OK)
            json_array_append_new(proposed,
                                  json_pack("{s:s, s:s, s:s, s:f}", "discovery_id", did, "url",
                                            c->url, "source", c->source, "score", c->score));
        free(did);
    }
    if (rc == OM_OK) {
        json_t *lin = json_pack("{s:s, s:I, s:O, s:b}", "decided_by", "discovery",
                                "candidates", (json_int_t)d->n, "proposed", proposed,
                                "auto_follow", autof);
        char pid[OM_UUID_LEN];
        rc = om_store_begin(ctx->store);
        if (rc == OM_OK)
            rc = om_stardust_append(ctx->store, "projects", ctx->project_id, lin, NULL, pid);
        if (rc == OM_OK)
            rc = om_store_commit(ctx->store);
        else if (om_store_in_txn(ctx->store))
            om_store_rollback(ctx->store);
        json_decref(lin);
    }
    if (rc == OM_OK) {
        om_step_note(ctx, "%zu proposed%s", json_array_size(proposed),
                     autof ? " and followed" : "");
        json_object_set(ctx->result, "proposed", proposed);
    }
    json_decref(proposed);
    return rc ? om_error_wrap(rc, "discovery: proposing") : OM_OK;
}

static const om_step disc_steps[] = {
    {"INIT", disc_init},
    {"GATHER", disc_gather},
    {"SCORE", disc_score},
    {"PROPOSE", disc_propose},
    {NULL, NULL},
};

const om_stage om_stage_discovery = {
    .type = "discovery",
    .source = SRC,
    .steps = disc_steps,
    .job_size = sizeof(disc),
    .release = disc_release,
    .timeout_ms = 30 * 60 * 1000,
};

/* ---- proposals: list, accept, reject ---------------------------------------------------- */

static const char disc_cols[] =
    "discovery_id, url, platform, handle, source, found_in, relevance, posts_per_week, score, "
    "evidence, status, creator_id, decided_by, decided_at, created_at, updated_at";

static json_t *disc_rows_json(om_rows *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        json_t *o = json_object();
        for (size_t c = 0; c < om_rows_ncols(r); c++) {
            const char *name = om_rows_colname(r, c), *v = om_rows_get(r, i, c);
            json_t *val;
            if (!v)
                val = json_null();
            else if (!strcmp(name, "evidence"))
                val = json_loads(v, 0, NULL);
            else if (!strcmp(name, "relevance") || !strcmp(name, "posts_per_week") ||
                     !strcmp(name, "score"))
                val = json_real(strtod(v, NULL));
            else
                val = json_string(v);
            json_object_set_new(o, name, val ? val : json_null());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

int om_discovery_list(om_store *s, const char *project, const char *status, json_t **out)
{
    char pid[OM_UUID_LEN];
    int rc = om_project_resolve(s, project, pid);
    if (rc)
        return rc;
    char *sql = xasprintf("SELECT %s FROM discoveries WHERE project_id = ? AND (? = '' OR "
                          "status = ?) ORDER BY status = 'proposed' DESC, score DESC, url",
                          disc_cols);
    om_rows *r = NULL;
    rc = om_store_query(s, sql,
                        OM_PARAMS(OM_TEXT(pid), OM_TEXT(status ? status : ""),
                                  OM_TEXT(status ? status : "")),
                        &r);
    free(sql);
    if (rc)
        return om_error_wrap(rc, "listing the discoveries");
    *out = disc_rows_json(r);
    om_rows_free(r);
    return OM_OK;
}

int om_discovery_decide(om_store *s, const char *project, const char *discovery_id, int accept,
                        const char *by, json_t **out)
{
    char pid[OM_UUID_LEN];
    int rc = om_project_resolve(s, project, pid);
    if (rc)
        return rc;
    if (!discovery_id || !om_uuid_valid(discovery_id))
        return om_error_set(OM_EINVAL, "'%s' is not a discovery id (a UUID)",
                            discovery_id ? discovery_id : "");
    om_rows *r = NULL;
    rc = om_store_query(s,
                        "SELECT url, status, decided_by, decided_at FROM discoveries WHERE "
                        "project_id = ? AND discovery_id = ?",
                        OM_PARAMS(OM_TEXT(pid), OM_TEXT(discovery_id)), &r);
    if (rc)
        return om_error_wrap(rc, "reading discovery %s", discovery_id);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "discovery %s not found in project %s", discovery_id,
                            project);
    }
    if (strcmp(om_rows_get(r, 0, 1), "proposed") != 0) {
        rc = om_error_set(OM_EINVAL, "discovery %s was already %s at %s by %s", discovery_id,
                          om_rows_get(r, 0, 1), om_rows_get(r, 0, 3) ? om_rows_get(r, 0, 3) : "?",
                          om_rows_get(r, 0, 2) ? om_rows_get(r, 0, 2) : "?");
        om_rows_free(r);
        return rc;
    }
    char *url = xstrdup(om_rows_get(r, 0, 0));
    om_rows_free(r);
    char cid[OM_UUID_LEN] = "";
    if (accept && (rc = om_creator_add(s, pid, url, cid)) != OM_OK)
        rc = om_error_wrap(rc, "following %s", url);
    if (rc == OM_OK)
        rc = om_store_exec(s,
                           "UPDATE discoveries SET status = ?, creator_id = ?, decided_by = ?, "
                           "decided_at = now(), updated_at = now() WHERE discovery_id = ?",
                           OM_PARAMS(OM_TEXT(accept ? "accepted" : "rejected"),
                                     accept ? OM_TEXT(cid) : OM_NULL,
                                     OM_TEXT(by ? by : "operator"), OM_TEXT(discovery_id)),
                           NULL);
    free(url);
    if (rc)
        return rc;
    if (out) {
        char *sql = xasprintf("SELECT %s FROM discoveries WHERE discovery_id = ?", disc_cols);
        rc = om_store_query(s, sql, OM_PARAMS(OM_TEXT(discovery_id)), &r);
        free(sql);
        if (rc)
            return rc;
        json_t *arr = disc_rows_json(r);
        om_rows_free(r);
        *out = json_incref(json_array_get(arr, 0));
        json_decref(arr);
    }
    return OM_OK;
}
