/* local.c: the "local" driver: every media file below a folder (file:///abs/folder) is a
 * post. Sidecars with the same base name are picked up: NAME.vtt / NAME.srt (or NAME.en.vtt /
 * NAME.en.srt) as platform subtitles, NAME.json as metadata:
 *   {"title": "...", "posted_at": "2026-01-02T03:04:05Z", "views": 1200, "likes": 80,
 *    "comments": 7}   (view_count / like_count / comment_count / timestamp also accepted)
 * platform_post_id = "<relative path>@<16 hex>" where the hex is SHA-256 over the folder,
 * relative path, size and mtime: an edited file is a new post. */
#include "base/common.h"
#include "base/fsutil.h"
#include "sources/sources_int.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#define MAX_DEPTH 8
#define MAX_FILES 100000
#define SIDECAR_CAP (1u << 20)

typedef struct found {
    char *rel;
    int64_t size;
    int64_t mtime_ns;
} found;

typedef struct found_list {
    found *v;
    size_t n, alloc;
} found_list;

static void walk_dir(const char *root, const char *rel, int depth, found_list *l)
{
    char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    DIR *d = opendir(dir);
    if (!d) {
        om_warn("scraper_worker", "cannot read folder %s: %s", dir, strerror(errno));
        free(dir);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) && l->n < MAX_FILES) {
        if (de->d_name[0] == '.')
            continue; /* hidden files, ., .. */
        char *r = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        char *full = xasprintf("%s/%s", root, r);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
            /* follow links to files, never to folders (no loops) */
            if (stat(full, &st) != 0 || S_ISDIR(st.st_mode)) {
                free(full);
                free(r);
                continue;
            }
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH)
                walk_dir(root, r, depth + 1, l);
        } else if (S_ISREG(st.st_mode) && om_source_is_media_name(de->d_name)) {
            if (l->n == l->alloc) {
                l->alloc = l->alloc ? l->alloc * 2 : 32;
                l->v = xrealloc(l->v, st_mult(l->alloc, sizeof(*l->v)));
            }
            found *f = &l->v[l->n++];
            f->rel = r;
            r = NULL;
            f->size = (int64_t)st.st_size;
            f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        }
        free(full);
        free(r);
    }
    closedir(d);
    free(dir);
}

static int cmp_found(const void *a, const void *b)
{
    const found *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? 1 : -1; /* newest first */
    return strcmp(x->rel, y->rel);
}

/* path without its extension (caller frees) */
static char *strip_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash))
        return xstrndup(path, (size_t)(dot - path));
    return xstrdup(path);
}

static char *file_uri(const char *path)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "file://");
    for (const char *q = path; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (c <= 0x20 || c == '%' || c == '#' || c == '?' || c == 0x7f)
            sb_printf(&sb, "%%%02X", c);
        else
            sb_append(&sb, q, 1);
    }
    return sb_detach(&sb);
}

static json_t *num_of(json_t *side, const char *a, const char *b)
{
    json_t *v = json_object_get(side, a);
    if (!json_is_number(v))
        v = json_object_get(side, b);
    return json_is_number(v) ? v : NULL;
}

static void apply_sidecar(om_source_entry *e, const char *json_path, json_t *raw)
{
    char *text = NULL;
    size_t len = 0;
    if (om_read_file(json_path, SIDECAR_CAP, &text, &len) != OM_OK) {
        if (om_error_code() != OM_ENOTFOUND)
            json_object_set_new(raw, "sidecar_error", json_string(om_error_msg()));
        om_error_clear();
        return;
    }
    if (om_local_sidecar_apply(e, text, len, json_path, raw) != OM_OK) {
        json_object_set_new(raw, "sidecar_error", json_string(om_error_msg()));
        om_warn("scraper_worker", "ignoring sidecar %s", om_error_msg());
        om_error_clear();
    }
    free(text);
}

int om_local_sidecar_apply(om_source_entry *e, const char *text, size_t len, const char *name,
                           json_t *raw)
{
    json_error_t jerr;
    json_t *side = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(side)) {
        json_decref(side);
        if (!jerr.text[0])
            snprintf(jerr.text, sizeof(jerr.text), "not a JSON object");
        return om_error_set(OM_EINVAL, "%s: line %d: %s", name, jerr.line, jerr.text);
    }
    static const struct {
        const char *a, *b, *key;
    } nums[] = {{"views", "view_count", "view_count"},
                {"likes", "like_count", "like_count"},
                {"comments", "comment_count", "comment_count"},
                {"duration", "duration", "duration"}};
    for (size_t i = 0; i < OM_ARRAY_LEN(nums); i++) {
        json_t *v = num_of(side, nums[i].a, nums[i].b);
        if (v)
            json_object_set(raw, nums[i].key, v);
    }
    const char *title = json_string_value(json_object_get(side, "title"));
    if (title) {
        free(e->title);
        e->title = xstrdup(title);
        json_object_set_new(raw, "title", json_string(title));
    }
    const char *desc = json_string_value(json_object_get(side, "description"));
    if (desc)
        json_object_set_new(raw, "description", json_string(desc));
    const char *posted = json_string_value(json_object_get(side, "posted_at"));
    json_t *ts = json_object_get(side, "timestamp");
    int64_t us = 0;
    int have = 0;
    if (posted && om_time_parse(posted, &us) == OM_OK)
        have = 1;
    else if (json_is_number(ts) && json_number_value(ts) > 0 &&
             json_number_value(ts) < 4102444800.0) /* before 2100, as om_source_info_time */
        us = (int64_t)(json_number_value(ts) * 1e6), have = 1;
    om_error_clear();
    if (have) {
        char buf[OM_TIME_LEN];
        free(e->posted_at);
        e->posted_at = xstrdup(om_time_iso(buf, us));
        json_object_set_new(raw, "timestamp", json_integer((json_int_t)(us / 1000000)));
    }
    json_object_set_new(raw, "sidecar", side);
    return OM_OK;
}

static char *find_sub_sidecar(const char *base)
{
    static const char *const suffixes[] = {".vtt", ".srt", ".en.vtt", ".en.srt", NULL};
    for (size_t i = 0; suffixes[i]; i++) {
        char *p = xasprintf("%s%s", base, suffixes[i]);
        if (om_file_exists(p))
            return p;
        free(p);
    }
    return NULL;
}

static int local_list(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                      om_source_entries *out)
{
    (void)ctx;
    const char *root = cr->username;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return om_error_set(OM_ENOTFOUND, "local folder %s does not exist or is not a folder",
                            root);
    found_list l = {0};
    walk_dir(root, "", 0, &l);
    if (l.n) /* qsort(NULL, 0) is undefined (an empty folder) */
        qsort(l.v, l.n, sizeof(*l.v), cmp_found);
    for (size_t i = 0; i < l.n; i++) {
        found *f = &l.v[i];
        if (out->n < limit) {
            char *full = xasprintf("%s/%s", root, f->rel);
            char *key = xasprintf("%s\n%s\n%lld\n%lld", root, f->rel, (long long)f->size,
                                  (long long)f->mtime_ns);
            char hex[OM_SHA256_HEX_LEN];
            om_sha256_hex(key, strlen(key), hex);
            free(key);
            char *post_id = xasprintf("%s@%.16s", f->rel, hex);
            char *uri = file_uri(full);
            om_source_entry *e = om_source_entries_add(out);
            om_source_entry_set(e, post_id, uri, full, "local");
            free(post_id);
            free(uri);
            char *base = strip_ext(full);
            const char *bn = strrchr(base, '/');
            e->title = xstrdup(bn ? bn + 1 : base);
            e->size_hint = f->size;
            e->subtitle_path = find_sub_sidecar(base);
            char mt[OM_TIME_LEN];
            json_t *raw =
                json_pack("{s:s, s:s, s:{s:s, s:s, s:I, s:s}}", "omniva_driver", "local", "title",
                          e->title, "file", "path", full, "relpath", f->rel, "size",
                          (json_int_t)f->size, "mtime", om_time_iso(mt, f->mtime_ns / 1000));
            if (e->subtitle_path)
                json_object_set_new(json_object_get(raw, "file"), "subtitles",
                                    json_string(e->subtitle_path));
            char *side = xasprintf("%s.json", base);
            apply_sidecar(e, side, raw);
            free(side);
            e->raw = raw;
            free(base);
            free(full);
        }
        free(f->rel);
    }
    free(l.v);
    return OM_OK;
}

static int local_fetch(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                       const char *stem, om_source_media *out)
{
    memset(out, 0, sizeof(*out));
    int64_t size = 0;
    int rc = om_file_size(e->media_url, &size);
    if (rc != OM_OK)
        return om_error_wrap(rc, "local source file");
    if (size > ctx->max_bytes)
        return om_error_set(OM_EINVAL,
                            "%s is %lld bytes, over the size cap of %lld bytes ([scraper] "
                            "max_bytes)",
                            e->media_url, (long long)size, (long long)ctx->max_bytes);
    rc = om_mkdirs(dest_dir, 0755);
    if (rc != OM_OK)
        return rc;
    char ext[16];
    om_source_ext(e->media_url, ext);
    char *dest = xasprintf("%s/%s.%s", dest_dir, stem, ext);
    rc = om_copy_file_atomic(e->media_url, dest);
    if (rc == OM_OK)
        rc = om_sha256_file(dest, out->sha256);
    if (rc != OM_OK) {
        free(dest);
        return rc;
    }
    out->media_path = dest;
    out->ext = xstrdup(ext);
    out->size_bytes = size;
    if (e->subtitle_path && om_file_exists(e->subtitle_path)) {
        char sext[16];
        om_source_ext(e->subtitle_path, sext);
        char *sdest = xasprintf("%s/%s.%s", dest_dir, stem, sext);
        if (om_copy_file_atomic(e->subtitle_path, sdest) == OM_OK) {
            out->subtitle_path = sdest;
        } else {
            om_warn("scraper_worker", "subtitle sidecar %s not copied: %s", e->subtitle_path,
                    om_error_msg());
            om_error_clear();
            free(sdest);
        }
    }
    return OM_OK;
}

const om_source_driver om_source_local = {
    .name = "local",
    .list = local_list,
    .fetch = local_fetch,
};
