/* ytdlp.c: the yt-dlp driver (TikTok, Instagram, YouTube, and web pages yt-dlp's generic
 * extractor understands). Listing: `-J --flat-playlist --playlist-end N` (one JSON document);
 * download: best mp4 up to [scraper] max_height, platform subtitles (en, WebVTT/SRT) when
 * offered, and the info JSON kept for posts.raw_metadata. Runs Debian's yt-dlp through
 * om_proc_run with deadlines; errors carry yt-dlp's last ERROR line. */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "sources/sources_int.h"

#include <dirent.h>
#include <unistd.h>

typedef struct stderr_tail {
    char last[512];
    char last_error[512];
} stderr_tail;

static void on_stderr(void *ud, const char *line)
{
    stderr_tail *t = ud;
    if (!*line)
        return;
    snprintf(t->last, sizeof(t->last), "%s", line);
    if (strncmp(line, "ERROR:", 6) == 0)
        snprintf(t->last_error, sizeof(t->last_error), "%s", line);
}

static int ytdlp_error(const om_proc_result *res, const stderr_tail *t, int rc, const char *what,
                       const char *url, int64_t timeout_ms)
{
    if (rc == OM_ENOTFOUND)
        return om_error_wrap(OM_EUNAVAIL, "yt-dlp is not installed");
    if (rc == OM_ETIMEOUT || res->timed_out)
        return om_error_set(OM_ETIMEOUT, "yt-dlp %s %s: no result within %lld s", what, url,
                            (long long)(timeout_ms / 1000));
    if (rc != OM_OK)
        return om_error_wrap(rc, "running yt-dlp");
    const char *msg = t->last_error[0] ? t->last_error : t->last[0] ? t->last : "no output";
    int code = OM_EIO;
    if (strstr(msg, "Unsupported URL") || strstr(msg, "is not a valid URL"))
        code = OM_EPERMANENT;
    else if (strstr(msg, "HTTP Error 404") || strstr(msg, "unavailable") ||
             strstr(msg, "Private video") || strstr(msg, "does not exist") ||
             strstr(msg, "not available"))
        code = OM_ENOTFOUND;
    else if (strstr(msg, "HTTP Error 429"))
        code = OM_EBUSY;
    if (res->term_signal)
        return om_error_set(code, "yt-dlp %s %s: killed by signal %d (%s)", what, url,
                            res->term_signal, msg);
    return om_error_set(code, "yt-dlp %s %s failed (exit %d): %s", what, url, res->exit_code, msg);
}

static const char *const ENV[] = {"PYTHONIOENCODING=utf-8", "PYTHONDONTWRITEBYTECODE=1",
                                  "LC_ALL=C.UTF-8", NULL};

static int run_ytdlp(om_source_ctx *ctx, const char *const *argv, int64_t timeout_ms,
                     const char *what, const char *url, om_proc_result *res)
{
    stderr_tail tail = {{0}, {0}};
    om_proc_opts o = {0};
    o.argv = argv;
    o.env_add = ENV;
    o.timeout_ms = timeout_ms;
    o.max_output = 64u << 20;
    o.on_stderr_line = on_stderr;
    o.ud = &tail;
    o.cancel = ctx->cancel;
    int rc = om_proc_run(&o, res);
    if (rc != OM_OK || res->exit_code != 0 || res->timed_out) {
        rc = ytdlp_error(res, &tail, rc, what, url, timeout_ms);
        om_proc_result_release(res);
        return rc;
    }
    return OM_OK;
}

static char *rate_key_for(const char *platform, const char *url)
{
    if (strcmp(platform, "youtube") == 0 || strcmp(platform, "tiktok") == 0 ||
        strcmp(platform, "instagram") == 0)
        return xstrdup(platform);
    char *h = om_url_host(url);
    char *k = h ? xasprintf("%s@%s", platform, h) : xstrdup(platform);
    free(h);
    return k;
}

static int is_platform(const char *p)
{
    return strcmp(p, "youtube") == 0 || strcmp(p, "tiktok") == 0 || strcmp(p, "instagram") == 0;
}

static int is_abs_url(const char *u)
{
    return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

/* One listed video (flat or full info) into an entry; 0 when it cannot be used. */
static int add_video(const om_source_creator *cr, json_t *v, om_source_entries *out)
{
    const char *id = json_string_value(json_object_get(v, "id"));
    const char *page = json_string_value(json_object_get(v, "webpage_url"));
    const char *url = json_string_value(json_object_get(v, "url"));
    const char *ie = json_string_value(json_object_get(v, "ie_key"));
    if (!is_abs_url(page))
        page = is_abs_url(url) ? url : NULL;
    if (!id || !*id)
        return 0;
    char *made = NULL;
    if (!page && ie && strcmp(ie, "Youtube") == 0)
        page = made = xasprintf("https://www.youtube.com/watch?v=%s", id);
    if (!page) {
        free(made);
        return 0;
    }
    char *post_id = is_platform(cr->platform) ? xstrdup(id) : xasprintf("%s#%s", page, id);
    om_source_entry *e = om_source_entries_add(out);
    om_source_entry_set(e, post_id, page, page, "ytdlp");
    free(post_id);
    e->rate_key = rate_key_for(cr->platform, page);
    e->title = xstrdup(json_string_value(json_object_get(v, "title")));
    e->posted_at = om_source_info_time(v);
    json_t *d = json_object_get(v, "duration");
    e->duration_hint = json_is_number(d) ? json_number_value(d) : 0;
    json_t *fs = json_object_get(v, "filesize");
    if (!json_is_integer(fs))
        fs = json_object_get(v, "filesize_approx");
    e->size_hint = json_is_integer(fs) ? (int64_t)json_integer_value(fs) : 0;
    e->raw = json_deep_copy(v);
    om_source_trim_info(e->raw);
    json_object_set_new(e->raw, "omniva_driver", json_string("ytdlp"));
    free(made);
    return 1;
}

static int list_url(om_source_ctx *ctx, const om_source_creator *cr, const char *url, size_t limit,
                    int depth, om_source_entries *out);

static int walk(om_source_ctx *ctx, const om_source_creator *cr, json_t *doc, size_t limit,
                int depth, om_source_entries *out)
{
    json_t *entries = json_object_get(doc, "entries");
    if (!json_is_array(entries)) {
        add_video(cr, doc, out);
        return OM_OK;
    }
    size_t i;
    json_t *v;
    json_array_foreach(entries, i, v)
    {
        if (out->n >= limit)
            break;
        if (!json_is_object(v))
            continue;
        const char *type = json_string_value(json_object_get(v, "_type"));
        const char *ie = json_string_value(json_object_get(v, "ie_key"));
        const char *url = json_string_value(json_object_get(v, "url"));
        if (json_is_array(json_object_get(v, "entries"))) {
            walk(ctx, cr, v, limit, depth + 1, out);
        } else if (type && strcmp(type, "url") == 0 && ie && strstr(ie, "Tab") && url &&
                   depth < 1) {
            /* a channel page listing its tabs: list the tab (videos, shorts) */
            int rc = list_url(ctx, cr, url, limit - out->n, depth + 1, out);
            if (rc != OM_OK) {
                om_warn("scraper_worker", "listing %s: %s", url, om_error_msg());
                om_error_clear();
            }
        } else {
            add_video(cr, v, out);
        }
    }
    return OM_OK;
}

static int list_url(om_source_ctx *ctx, const om_source_creator *cr, const char *url, size_t limit,
                    int depth, om_source_entries *out)
{
    char *key = rate_key_for(cr->platform, url);
    int rc = om_source_throttle(ctx, key);
    free(key);
    if (rc != OM_OK)
        return rc;
    char end[32];
    snprintf(end, sizeof(end), "%zu", limit);
    const char *argv[] = {ctx->ytdlp,
                          "--ignore-config",
                          "--no-cache-dir",
                          "--no-progress",
                          "--socket-timeout",
                          "30",
                          "-J",
                          "--flat-playlist",
                          "--playlist-end",
                          end,
                          "--",
                          url,
                          NULL};
    om_proc_result res;
    rc = run_ytdlp(ctx, argv, ctx->list_timeout_ms, "listing", url, &res);
    if (rc != OM_OK)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loadb(res.out, res.out_len, 0, &jerr);
    om_proc_result_release(&res);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return om_error_set(OM_EIO, "yt-dlp listing %s: output is not a JSON object (%s)", url,
                            jerr.text);
    }
    rc = walk(ctx, cr, doc, limit, depth, out);
    json_decref(doc);
    return rc;
}

int om_ytdlp_parse(const char *json, size_t len, const om_source_creator *cr, size_t limit,
                   om_source_entries *out)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, 0, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return om_error_set(OM_EINVAL, "yt-dlp JSON: not a JSON object (line %d: %s)", jerr.line,
                            jerr.text);
    }
    int rc = walk(NULL, cr, doc, limit, 1, out); /* depth 1: tab URLs are not listed */
    json_decref(doc);
    return rc;
}

static int ytdlp_list(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                      om_source_entries *out)
{
    if (limit == 0)
        return OM_OK;
    return list_url(ctx, cr, cr->profile_url, limit, 0, out);
}

/* <stem>.<lang>.vtt / .srt in dir, English first; caller frees; NULL when none. */
static char *find_subtitle(const char *dir, const char *stem)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *best = NULL;
    int best_score = -1;
    size_t sl = strlen(stem);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, stem, sl) != 0 || n[sl] != '.')
            continue;
        char ext[16];
        om_source_ext(n, ext);
        if (strcmp(ext, "vtt") != 0 && strcmp(ext, "srt") != 0)
            continue;
        const char *lang = n + sl + 1;
        int score = 1;
        if (strncmp(lang, "en.", 3) == 0)
            score = 3;
        else if (strncmp(lang, "en", 2) == 0)
            score = 2;
        if (score > best_score) {
            free(best);
            best = xasprintf("%s/%s", dir, n);
            best_score = score;
        }
    }
    closedir(d);
    return best;
}

static int ytdlp_fetch(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                       const char *stem, om_source_media *out)
{
    memset(out, 0, sizeof(*out));
    int rc = om_mkdirs(dest_dir, 0755);
    if (rc != OM_OK)
        return rc;
    rc = om_source_throttle(ctx, e->rate_key);
    if (rc != OM_OK)
        return rc;
    int h = ctx->max_height;
    char *fmt = xasprintf("bv*[height<=?%d][ext=mp4]+ba[ext=m4a]/b[height<=?%d][ext=mp4]/"
                          "bv*[height<=?%d]+ba/b[height<=?%d]/b",
                          h, h, h, h);
    char *tmpl = xasprintf("%s/%s.%%(ext)s", dest_dir, stem);
    char maxsize[32];
    snprintf(maxsize, sizeof(maxsize), "%lld", (long long)ctx->max_bytes);
    const char *argv[] = {ctx->ytdlp,
                          "--ignore-config",
                          "--no-cache-dir",
                          "--no-progress",
                          "--no-playlist",
                          "--socket-timeout",
                          "30",
                          "--retries",
                          "3",
                          "--continue",
                          "--no-mtime",
                          "-f",
                          fmt,
                          "--merge-output-format",
                          "mp4",
                          "--write-subs",
                          "--write-auto-subs",
                          "--sub-langs",
                          "en.*,en",
                          "--sub-format",
                          "vtt/srt",
                          "--write-info-json",
                          "--max-filesize",
                          maxsize,
                          "-o",
                          tmpl,
                          "--no-simulate",
                          "--print",
                          "after_move:filepath",
                          "--",
                          e->media_url,
                          NULL};
    om_proc_result res;
    rc = run_ytdlp(ctx, argv, ctx->fetch_timeout_ms, "download", e->media_url, &res);
    free(fmt);
    free(tmpl);
    if (rc != OM_OK)
        return rc;
    /* the last non-empty stdout line is the final file */
    char *path = NULL;
    char *save = NULL;
    for (char *line = strtok_r(res.out ? res.out : (char *)"", "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (*line == '/') {
            free(path);
            path = xstrdup(line);
        }
    om_proc_result_release(&res);
    if (!path || !om_file_exists(path)) {
        free(path);
        return om_error_set(OM_EINVAL,
                            "yt-dlp downloaded nothing for %s (larger than the %lld-byte cap, "
                            "or no downloadable format)",
                            e->media_url, (long long)ctx->max_bytes);
    }
    char ext[16];
    om_source_ext(path, ext);
    out->media_path = path;
    out->ext = xstrdup(ext[0] ? ext : "mp4");
    rc = om_sha256_file(path, out->sha256);
    if (rc == OM_OK)
        rc = om_file_size(path, &out->size_bytes);
    if (rc != OM_OK) {
        om_source_media_release(out);
        return rc;
    }
    if (out->size_bytes > ctx->max_bytes) {
        unlink(path);
        rc = om_error_set(OM_EINVAL,
                          "%s is %lld bytes, over the download size cap of %lld bytes "
                          "([scraper] max_bytes)",
                          e->media_url, (long long)out->size_bytes, (long long)ctx->max_bytes);
        om_source_media_release(out);
        return rc;
    }
    out->subtitle_path = find_subtitle(dest_dir, stem);
    char *info_path = xasprintf("%s/%s.info.json", dest_dir, stem);
    json_error_t jerr;
    json_t *info = json_load_file(info_path, 0, &jerr);
    if (json_is_object(info)) {
        om_source_trim_info(info);
        json_object_del(info, "filename");
        json_object_del(info, "_filename");
        out->posted_at = om_source_info_time(info);
        out->raw = info;
    } else {
        json_decref(info);
    }
    unlink(info_path);
    free(info_path);
    return OM_OK;
}

const om_source_driver om_source_ytdlp = {
    .name = "ytdlp",
    .list = ytdlp_list,
    .fetch = ytdlp_fetch,
};
