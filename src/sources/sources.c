/* sources.c: what the drivers share: the context read from config, entry lists, driver
 * lookup by platform/fetcher, and yt-dlp-style metadata helpers. */
#include "base/common.h"
#include "sources/sources_int.h"

#include <time.h>

void om_source_ctx_init(om_source_ctx *ctx, const om_config *cfg, volatile int *cancel)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = cfg;
    ctx->cancel = cancel;
#define GETL(key) om_config_long(cfg, "scraper." key)
    ctx->ytdlp = om_config_str(cfg, "scraper.ytdlp");
    ctx->max_height = (int)GETL("max_height");
    ctx->max_bytes = (int64_t)GETL("max_bytes");
    ctx->feed_max_bytes = (int64_t)GETL("feed_max_bytes");
    ctx->connect_timeout_ms = (int64_t)GETL("connect_timeout_s") * 1000;
    ctx->http_timeout_ms = (int64_t)GETL("http_timeout_s") * 1000;
    ctx->feed_timeout_ms = (int64_t)GETL("feed_timeout_s") * 1000;
    ctx->list_timeout_ms = (int64_t)GETL("list_timeout_s") * 1000;
    ctx->fetch_timeout_ms = (int64_t)GETL("fetch_timeout_s") * 1000;
    ctx->max_redirects = (int)GETL("max_redirects");
#undef GETL
    if (cfg) {
        ctx->owned_dir = xstrdup(om_config_str(cfg, "ratelimit.dir"));
        ctx->ratelimit_dir = ctx->owned_dir;
    }
}

void om_source_ctx_release(om_source_ctx *ctx)
{
    free(ctx->owned_dir);
    memset(ctx, 0, sizeof(*ctx));
}

om_source_entry *om_source_entries_add(om_source_entries *l)
{
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 8;
        l->v = xrealloc(l->v, st_mult(l->alloc, sizeof(*l->v)));
    }
    om_source_entry *e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

void om_source_entry_release(om_source_entry *e)
{
    free(e->platform_post_id);
    free(e->url);
    free(e->media_url);
    free(e->title);
    free(e->posted_at);
    free(e->subtitle_path);
    free(e->rate_key);
    if (e->raw)
        json_decref(e->raw);
    memset(e, 0, sizeof(*e));
}

void om_source_entries_free(om_source_entries *l)
{
    for (size_t i = 0; i < l->n; i++)
        om_source_entry_release(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void om_source_entry_set(om_source_entry *e, const char *post_id, const char *url,
                         const char *media_url, const char *fetcher)
{
    free(e->platform_post_id);
    free(e->url);
    free(e->media_url);
    e->platform_post_id = xstrdup(post_id);
    e->url = xstrdup(url);
    e->media_url = xstrdup(media_url);
    e->fetcher = fetcher;
}

void om_source_media_release(om_source_media *m)
{
    free(m->media_path);
    free(m->subtitle_path);
    free(m->ext);
    free(m->posted_at);
    if (m->raw)
        json_decref(m->raw);
    memset(m, 0, sizeof(*m));
}

const om_source_driver *om_source_driver_for(const char *platform, const char *profile_url)
{
    if (!platform)
        return NULL;
    if (strcmp(platform, "youtube") == 0) {
        if (profile_url && strstr(profile_url, "/feeds/videos.xml"))
            return &om_source_feed;
        return &om_source_ytdlp;
    }
    if (strcmp(platform, "tiktok") == 0 || strcmp(platform, "instagram") == 0)
        return &om_source_ytdlp;
    if (strcmp(platform, "feed") == 0)
        return &om_source_feed;
    if (strcmp(platform, "direct") == 0)
        return &om_source_http;
    if (strcmp(platform, "local") == 0)
        return &om_source_local;
    return NULL;
}

const om_source_driver *om_source_fetcher(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "ytdlp") == 0)
        return &om_source_ytdlp;
    if (strcmp(name, "http") == 0)
        return &om_source_http;
    if (strcmp(name, "local") == 0)
        return &om_source_local;
    return NULL;
}

int om_source_list(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                   om_source_entries *out)
{
    const om_source_driver *d = om_source_driver_for(cr->platform, cr->profile_url);
    if (!d)
        return om_error_set(OM_EINVAL, "no source driver for platform '%s'",
                            cr->platform ? cr->platform : "(null)");
    int rc = d->list(ctx, cr, limit, out);
    if (rc != OM_OK)
        return om_error_wrap(rc, "listing %s creator '%s' (%s)", cr->platform, cr->username,
                             d->name);
    return OM_OK;
}

int om_source_fetch(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                    const char *stem, om_source_media *out)
{
    const om_source_driver *d = om_source_fetcher(e->fetcher);
    if (!d)
        return om_error_set(OM_EINVAL, "no fetcher named '%s'", e->fetcher ? e->fetcher : "");
    int rc = d->fetch(ctx, e, dest_dir, stem, out);
    if (rc != OM_OK)
        return om_error_wrap(rc, "fetching %s (%s)", e->media_url, d->name);
    return OM_OK;
}

void om_source_trim_info(json_t *info)
{
    static const char *const bulky[] = {"formats",
                                        "requested_formats",
                                        "thumbnails",
                                        "subtitles",
                                        "automatic_captions",
                                        "requested_subtitles",
                                        "http_headers",
                                        "requested_downloads",
                                        "heatmap",
                                        "fragments",
                                        "_version",
                                        "__files_to_move",
                                        "__postprocessors",
                                        "entries",
                                        NULL};
    if (!json_is_object(info))
        return;
    for (size_t i = 0; bulky[i]; i++)
        json_object_del(info, bulky[i]);
}

char *om_source_info_time(const json_t *info)
{
    char buf[OM_TIME_LEN];
    static const char *const keys[] = {"timestamp", "release_timestamp", NULL};
    for (size_t i = 0; keys[i]; i++) {
        json_t *t = json_object_get(info, keys[i]);
        if (json_is_number(t)) {
            double v = json_number_value(t);
            if (v > 0 && v < 4102444800.0) /* before 2100 */
                return xstrdup(om_time_iso(buf, (int64_t)(v * 1e6)));
        }
    }
    const char *d = json_string_value(json_object_get(info, "upload_date"));
    if (d && strlen(d) == 8) {
        char iso[16];
        snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", d, d + 4, d + 6);
        int64_t us;
        if (om_time_parse(iso, &us) == OM_OK)
            return xstrdup(om_time_iso(buf, us));
        om_error_clear();
    }
    return NULL;
}
