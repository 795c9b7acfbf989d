/*
 * sources.h: where source media comes from. Creator URL classification, the source drivers
 * (yt-dlp for TikTok/Instagram/YouTube, RSS/Atom feeds, direct HTTP media, local folders),
 * the HTTP client they share, and per-platform rate limits. Used by the scrape stage
 * (src/stages/scrape.c) and by creator management (src/stages/projects.c).
 *
 * Platforms (creators.platform and posts.platform):
 *   "tiktok"    https://www.tiktok.com/@user                  username "user" (lowercase)
 *   "instagram" https://www.instagram.com/user/ (or /reels/)  username "user" (lowercase)
 *   "youtube"   /channel/UC..., /@handle[/shorts], /c/name, /user/name, and the channel
 *               feed /feeds/videos.xml?channel_id=UC...       username "UC..." (as is),
 *               "@handle", "c/name", "user/name" (lowercase)
 *   "feed"      any other http(s) URL: an RSS 2.0 / Atom feed, or (decided at scrape time)
 *               an HTML page that yt-dlp's generic extractor understands
 *                                                              username = normalised URL
 *   "direct"    an http(s) URL whose path ends in a media extension (.mp4 .webm .mov .mkv
 *               .m4v .m4a .mp3 ...): one post, the file itself  username = normalised URL
 *   "local"     file:///abs/folder: every media file below it  username = absolute path
 *
 * A driver (struct om_source_driver) lists a creator's recent entries and fetches one entry's
 * media into a directory. Which driver lists a creator: om_source_driver_for(); which driver
 * fetches an entry: entry->fetcher ("ytdlp", "http" or "local"; a feed item with an
 * enclosure is fetched over HTTP, one that only links to a video page goes to yt-dlp).
 *
 * posts.raw_metadata (entry->raw / media->raw): a JSON object. For yt-dlp it is yt-dlp's own
 * info JSON minus the bulky keys (formats, requested_formats, thumbnails, subtitles,
 * automatic_captions, http_headers, ...). For feeds and local files the driver builds an
 * object with the same key names where it knows them: "title", "description",
 * "view_count", "like_count", "comment_count", "average_rating", "timestamp",
 * "duration", "webpage_url", "uploader", plus "feed" (the item's raw fields) or "sidecar"
 * (the local .json sidecar). Every object carries "omniva_driver" (the listing driver).
 *
 * Rate limits: a token bucket per key (the platform; for "feed"/"direct" the host name),
 * `[ratelimit] <platform> = N` requests per minute (defaults: youtube 60, tiktok 20,
 * instagram 10, feed 120, direct 120, local unlimited), `[ratelimit] burst = B` (default
 * 3). Every network request of a driver (a listing, a feed GET, a download) takes a token.
 * Buckets are shared by all processes of one machine through small lock files in
 * ctx->ratelimit_dir (flock); in a cluster each machine has its own buckets. With
 * ratelimit_dir NULL the buckets live in the process.
 *
 * Ownership: strings in entries and media results are malloc'd and owned by the struct;
 * release with om_source_entries_free / om_source_media_release. json_t fields are owned
 * references (one each). Drivers are static and never freed.
 */
#ifndef OMNIVA_SOURCES_SOURCES_H
#define OMNIVA_SOURCES_SOURCES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/fsutil.h"

/* ---- creator URL classification (pure: no network, no file-system access) ---- */

typedef struct om_source_class {
    const char *platform; /* static: "tiktok", "instagram", "youtube", "feed", "direct", "local" */
    char *username;       /* normalised handle / id / URL / path (see the table above) */
    char *profile_url;    /* canonical URL the listing driver reads */
} om_source_class;

/* Classifies a creator URL. OM_EINVAL with a message naming the URL and listing what is
 * supported when it is not one of the forms above (ftp://, mailto:, a relative path, a
 * single video instead of a channel, ...). *out is filled only on success. */
int om_source_classify(const char *url, om_source_class *out);
void om_source_class_release(om_source_class *c);

/* 1 when the file name (or URL path) ends in a media extension we download. */
int om_source_is_media_name(const char *name);

/* ---- driver context ---- */

typedef struct om_source_ctx {
    const om_config *cfg;       /* borrowed; NULL: defaults everywhere */
    const char *ytdlp;          /* yt-dlp program ([scraper] ytdlp, default "yt-dlp") */
    int max_height;             /* [scraper] max_height, default 1080 */
    int64_t max_bytes;          /* [scraper] max_bytes, default 2 GiB: download size cap */
    int64_t feed_max_bytes;     /* [scraper] feed_max_bytes, default 16 MiB */
    int64_t connect_timeout_ms; /* [scraper] connect_timeout_s, default 30 s */
    int64_t http_timeout_ms;    /* [scraper] http_timeout_s: whole transfer, default 1 h */
    int64_t feed_timeout_ms;    /* [scraper] feed_timeout_s, default 60 s */
    int64_t list_timeout_ms;    /* [scraper] list_timeout_s (yt-dlp listing), default 180 s */
    int64_t fetch_timeout_ms;   /* [scraper] fetch_timeout_s (yt-dlp download), default 1 h */
    int max_redirects;          /* [scraper] max_redirects, default 5 */
    const char *ratelimit_dir;  /* lock files of the shared buckets; NULL: per process */
    volatile int *cancel;       /* optional: non-zero aborts downloads and child processes */
    char *owned_dir;            /* internal */
} om_source_ctx;

/* Fills ctx from cfg (may be NULL). ratelimit_dir defaults to <home>/run/ratelimit when cfg
 * is given. Release with om_source_ctx_release. */
void om_source_ctx_init(om_source_ctx *ctx, const om_config *cfg, volatile int *cancel);
void om_source_ctx_release(om_source_ctx *ctx);

/* ---- entries and fetched media ---- */

typedef struct om_source_creator {
    const char *creator_id; /* may be NULL */
    const char *platform;
    const char *username;
    const char *profile_url;
} om_source_creator;

typedef struct om_source_entry {
    char *platform_post_id; /* stable id within the platform (posts.platform_post_id) */
    char *url;              /* posts.url: the post's page, else the media URL / file URI */
    char *media_url;        /* what the fetcher reads: media URL, page URL, or absolute path */
    const char *fetcher;    /* static: "ytdlp", "http" or "local" */
    char *rate_key;         /* bucket the fetch draws from ("youtube", "host:example.com") */
    char *title;            /* NULL when unknown */
    char *posted_at;        /* canonical UTC text, NULL when unknown */
    char *subtitle_path;    /* local sidecar .vtt/.srt (local driver), else NULL */
    double duration_hint;   /* seconds from metadata; 0 unknown */
    int64_t size_hint;      /* bytes from metadata; 0 unknown */
    json_t *raw;            /* owned: posts.raw_metadata object */
} om_source_entry;

typedef struct om_source_entries {
    om_source_entry *v;
    size_t n, alloc;
} om_source_entries;

/* Appends a zeroed entry and returns it (owned by the list). */
om_source_entry *om_source_entries_add(om_source_entries *l);
void om_source_entries_free(om_source_entries *l);
void om_source_entry_release(om_source_entry *e);
/* Sets the id, post URL, fetch URL (copied) and fetcher (static) of an entry. */
void om_source_entry_set(om_source_entry *e, const char *post_id, const char *url,
                         const char *media_url, const char *fetcher);

typedef struct om_source_media {
    char *media_path;    /* absolute path of the media file inside dest_dir */
    char *subtitle_path; /* platform subtitles (.vtt/.srt) inside dest_dir, or NULL */
    char *ext;           /* media file extension without the dot ("mp4") */
    char sha256[OM_SHA256_HEX_LEN];
    int64_t size_bytes;
    json_t *raw;     /* NULL, or metadata learnt while fetching, merged into the entry's
                        raw metadata (its keys win): yt-dlp's full info JSON, or
                        {"download": {...}} for HTTP downloads */
    char *posted_at; /* canonical UTC text learnt while fetching, or NULL */
} om_source_media;

void om_source_media_release(om_source_media *m);

/* ---- drivers ---- */

typedef struct om_source_driver {
    const char *name; /* "ytdlp", "feed", "http", "local" */
    /* Lists up to `limit` recent entries (newest first where the source says). */
    int (*list)(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                om_source_entries *out);
    /* Fetches the entry's media (and subtitles) into dest_dir (created) as <stem>.<ext>.
     * Partial downloads stay in dest_dir and are resumed by the next call with the same
     * dest_dir and stem. */
    int (*fetch)(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                 const char *stem, om_source_media *out);
} om_source_driver;

extern const om_source_driver om_source_ytdlp;
extern const om_source_driver om_source_feed;
extern const om_source_driver om_source_http;
extern const om_source_driver om_source_local;

/* The driver that lists a creator of `platform` (profile_url decides for YouTube channel
 * feeds). NULL for an unknown platform. */
const om_source_driver *om_source_driver_for(const char *platform, const char *profile_url);
/* The driver named by entry->fetcher ("ytdlp", "http", "local"); NULL when unknown. */
const om_source_driver *om_source_fetcher(const char *name);

/* Lists `cr` with its driver and fetches entry `e` with its fetcher (helpers over the two
 * lookups above; OM_EINVAL for an unknown platform/fetcher). */
int om_source_list(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                   om_source_entries *out);
int om_source_fetch(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                    const char *stem, om_source_media *out);

/* ---- feeds (feed.c) ---- */

/* Parses an RSS 2.0 / RSS 1.0 (RDF) / Atom document into entries (at most `limit`, 0 = all).
 * `feed_url` resolves relative links and prefixes non-unique guids; `platform` is the
 * creator's platform ("feed" or "youtube"). Malformed XML is OM_EINVAL with libxml2's
 * message and line; DTDs declaring entities are refused; the network is never used. */
int om_feed_parse(const char *xml, size_t len, const char *feed_url, const char *platform,
                  size_t limit, om_source_entries *out);
/* Parses RFC 822 dates ("Tue, 10 Jun 2003 04:00:00 GMT", "+0200", "EST", no weekday, two-
 * digit years) and ISO 8601 into microseconds since the epoch. OM_EINVAL when neither. */
int om_feed_parse_date(const char *s, int64_t *us_out);

/* ---- yt-dlp JSON (ytdlp.c) ---- */

/* Parses yt-dlp -J / --dump-json output (a playlist with "entries", or one video) into
 * entries for creator `cr`, at most `limit`, as a listing does but without running yt-dlp
 * for a channel's tab URLs. OM_EINVAL when the text is not a JSON object. */
int om_ytdlp_parse(const char *json, size_t len, const om_source_creator *cr, size_t limit,
                   om_source_entries *out);

/* ---- local sidecars (local.c) ---- */

/* Applies a local .json sidecar's text (title, description, posted_at/timestamp, views/
 * likes/comments/duration) to entry `e` and its raw metadata object `raw` (kept under
 * "sidecar"). OM_EINVAL naming `name` and the line when it is not a JSON object; e and raw
 * are then unchanged. */
int om_local_sidecar_apply(om_source_entry *e, const char *text, size_t len, const char *name,
                           json_t *raw);

/* ---- HTTP (http.c, libcurl) ---- */

typedef struct om_http_result {
    long status;                    /* final HTTP status */
    char *content_type;             /* NULL when absent */
    char *final_url;                /* after redirects */
    int64_t size_bytes;             /* body bytes now in the file / buffer */
    int resumed;                    /* 1 when a Range request continued a .part file */
    char sha256[OM_SHA256_HEX_LEN]; /* of the whole file (downloads only) */
} om_http_result;
void om_http_result_release(om_http_result *r);

/* On failure both functions leave *res released (nothing to free).
 * GET into memory, at most max_bytes (else OM_EINVAL "bigger than ..."). HTTP >= 400 is
 * OM_ENOTFOUND (404/410) or OM_EIO with the status. *body_out is the caller's. */
int om_http_get(om_source_ctx *ctx, const char *url, int64_t max_bytes, int64_t timeout_ms,
                char **body_out, size_t *len_out, om_http_result *res);
/* Downloads url to dest_path via dest_path.part: resumes an existing .part with a Range
 * request (restarts when the server ignores it), aborts past ctx->max_bytes (OM_EINVAL,
 * the .part is removed), refuses HTML/text bodies for media (OM_EINVAL), computes SHA-256
 * while writing, renames .part to dest_path when complete. */
int om_http_download(om_source_ctx *ctx, const char *url, const char *dest_path,
                     om_http_result *res);

/* ---- rate limits (ratelimit.c) ---- */

/* Requests per minute for `key` from config (see above); 0 means unlimited. */
double om_ratelimit_rate(const om_config *cfg, const char *key);
/* Takes one token for `key` at `per_minute` with bucket size `burst`, waiting as needed (at
 * most max_wait_ms, then OM_EBUSY; cancel aborts with OM_ETIMEOUT). *waited_ms_out (may be
 * NULL) gets the time spent waiting. dir NULL: in-process buckets. */
int om_ratelimit_take(const char *dir, const char *key, double per_minute, double burst,
                      int64_t max_wait_ms, volatile int *cancel, int64_t *waited_ms_out);
/* Driver helper: takes a token for `key` with the configured rate (no-op when unlimited). */
int om_source_throttle(om_source_ctx *ctx, const char *key);

#endif
