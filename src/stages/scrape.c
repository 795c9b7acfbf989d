/*
 * scrape.c: the scraper stages, log source "scraper_worker".
 *
 * "scrape" (payload {project_id, creator_id}, states INIT -> FETCH -> PARSE -> SAVE -> DONE)
 * lists a creator and fans out: one "fetch" job per new entry.
 *   INIT   load the creator; set up the source driver context from config; decide how many
 *          posts this run takes: a creator's first scrape (no post of it stored yet: its
 *          backlog) up to [scraper] backfill (default 50), later scrapes the new posts up to
 *          [scraper] max_posts (default 5).
 *   FETCH  list the creator's newest max(backfill, max_posts) entries with its driver (the
 *          listing draws from the platform's rate-limit bucket).
 *   PARSE  drop unusable entries and the ones already stored (posts.platform +
 *          platform_post_id); take the newest new ones up to the run's bound. New posts that
 *          did not fit are counted ("left_for_next") and taken by the next scrape.
 *   SAVE   in ONE store transaction, oldest entry first (so that of two posts with the same
 *          media the original is fetched first and owns the video), emit "fetch"
 *          {project_id, creator_id, entry: <the entry as JSON>} with unique key
 *          "fetch:<platform>:<platform_post_id>" and the scrape's parents. Nothing is
 *          downloaded here.
 *
 * "fetch" (payload {project_id, creator_id, entry}, states INIT -> FETCH -> DEDUPE -> SAVE ->
 * DONE)
 * stores one entry; a bad entry is one failed (or dead-lettered) fetch job, never a lost run.
 *   INIT   load the creator, rebuild the entry; a post already stored (re-delivery after the
 *          commit) finishes early (DONE).
 *   FETCH  fetch the media with the entry's fetcher into <media_dir>/sources/.partial/<key>/
 *          (kept between attempts so downloads resume; the download draws from the entry's
 *          rate-limit bucket) and probe it. Unusable media (empty, truncated, not media,
 *          resolution over the limit, codec without a decoder) is OM_EINVAL naming the entry's
 *          URL and what is wrong, so the runtime dead-letters the job at once; download errors
 *          keep their code (transient ones are retried).
 *          The media dir low on space (below media.min_free_mb) defers the fetch: the same
 *          job again after infinity.disk_retry_s (key "fetch:P:ID:disk:BUCKET"), this one done
 *          without downloading; a download failing while space is low removes its partial.
 *   DEDUPE the re-post check (stages/repost.h): the media's audio fingerprint compared with
 *          the stored videos'; the same audio (another creator's re-post, re-encoded or
 *          trimmed) is remembered for SAVE. No audio, too short, or [fetch] dedupe_audio off:
 *          noted, and the post is a new video as before.
 *   SAVE   in ONE store transaction: insert the post; when a video with the same SHA-256
 *          already exists (the same media from another post or creator), or DEDUPE found the
 *          same audio (checked again here, under a lock, against the fingerprints stored
 *          since: a re-post fetched at the same time as its original), record the post with
 *          a ledger packet pointing at that video (with the fingerprint match as evidence)
 *          and stop there; else move the file to
 *          <media_dir>/sources/<video_id>.<ext> (subtitles to <media_dir>/subs/<video_id>.
 *          <vtt|srt>), insert the video and its artifacts (source_media, subtitle), write the
 *          ledger packet (evidence: checksum, url, driver, raw-metadata hash) and emit
 *          "analyze" {video_id, post_id} with unique key "analyze:<video_id>".
 *
 * videos.file_path and artifacts.path are relative to the workspace home when the media dir
 * lies inside it (om_config_path_to_row), so a moved workspace keeps its files. posts.posted_at
 * is NULL when the source does not say; posts.raw_metadata is described in sources.h.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "media/mstore.h"
#include "media/probe.h"
#include "oversight/infinity.h"
#include "runtime/runtime.h"
#include "sources/sources.h"
#include "stages/repost.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>

#define SRC "scraper_worker"
#define RAW_CAP (1u << 20) /* posts.raw_metadata is trimmed past this */

/* What both stages know about the job: the creator and where media goes. */
typedef struct scrape {
    om_job_ctx *ctx;
    om_source_ctx sctx;
    char creator_id[OM_UUID_LEN];
    char *platform, *username, *profile_url;
    char *media_dir; /* absolute */
} scrape;

static void scrape_release(scrape *sc)
{
    om_source_ctx_release(&sc->sctx);
    free(sc->platform);
    free(sc->username);
    free(sc->profile_url);
    free(sc->media_dir);
}

static int load_creator(scrape *sc, const char *creator_id)
{
    om_rows *r = NULL;
    int rc = om_store_query(sc->ctx->store,
                            "SELECT platform, username, profile_url FROM creators "
                            "WHERE creator_id = ?",
                            OM_PARAMS(OM_TEXT(creator_id)), &r);
    if (rc != OM_OK)
        return om_error_wrap(rc, "loading creator %s", creator_id);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_EINVAL, "creator %s does not exist", creator_id);
    }
    sc->platform = xstrdup(om_rows_getn(r, 0, "platform"));
    sc->username = xstrdup(om_rows_getn(r, 0, "username"));
    const char *pu = om_rows_getn(r, 0, "profile_url");
    sc->profile_url = xstrdup(pu ? pu : sc->username);
    om_rows_free(r);
    return OM_OK;
}

static int media_dir_abs(scrape *sc)
{
    const om_config *cfg = sc->ctx->cfg;
    const char *dir = cfg ? om_config_media_dir(cfg) : NULL;
    if (!dir)
        return om_error_set(OM_EINVAL, "no media directory configured ([media] dir)");
    char *sources = xasprintf("%s/sources", dir);
    int rc = om_mkdirs(sources, 0755);
    free(sources);
    if (rc != OM_OK)
        return om_error_wrap(rc, "media directory");
    char *abs = realpath(dir, NULL);
    if (!abs)
        return om_error_set(OM_EIO, "media directory %s: %s", dir, strerror(errno));
    sc->media_dir = abs;
    return OM_OK;
}

static int post_known(scrape *sc, const char *post_id, int *known)
{
    char *v = NULL;
    int rc = om_store_query_value(sc->ctx->store,
                                  "SELECT post_id FROM posts WHERE platform = ? AND "
                                  "platform_post_id = ?",
                                  OM_PARAMS(OM_TEXT(sc->platform), OM_TEXT(post_id)), &v);
    free(v);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        *known = 0;
        return OM_OK;
    }
    *known = rc == OM_OK;
    return rc;
}

/* JSON text of a raw-metadata object, trimmed to the keys worth keeping past RAW_CAP. */
static char *raw_dump(json_t *raw)
{
    char *text = json_dumps(raw, JSON_COMPACT | OM_JSON_REAL);
    if (text && strlen(text) > RAW_CAP) {
        static const char *const keep[] = {"omniva_driver",  "id",           "title",
                                           "webpage_url",    "uploader",     "channel",
                                           "timestamp",      "upload_date",  "duration",
                                           "view_count",     "like_count",   "comment_count",
                                           "average_rating", "rating_count", NULL};
        json_t *small = json_object();
        for (size_t i = 0; keep[i]; i++) {
            json_t *v = json_object_get(raw, keep[i]);
            if (v && !(json_is_string(v) && strlen(json_string_value(v)) > 4096))
                json_object_set(small, keep[i], v);
        }
        json_object_set_new(small, "omniva_trimmed", json_true());
        free(text);
        text = json_dumps(small, JSON_COMPACT | OM_JSON_REAL);
        json_decref(small);
    }
    return text ? text : xstrdup("{}");
}

/* The raw metadata to store: the listing's object updated with what the fetch learnt. */
static char *raw_text(const om_source_entry *e, const om_source_media *m)
{
    json_t *raw = json_is_object(e->raw) ? json_deep_copy(e->raw) : json_object();
    json_t *drv = json_incref(json_object_get(raw, "omniva_driver"));
    if (json_is_object(m->raw))
        json_object_update(raw, m->raw);
    if (drv)
        json_object_set_new(raw, "omniva_driver", drv);
    char *text = raw_dump(raw);
    json_decref(raw);
    return text;
}

/* The entry as the fetch job's payload carries it (new reference). */
static json_t *entry_to_json(const om_source_entry *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:I}", "platform_post_id", e->platform_post_id,
                          "url", e->url, "media_url", e->media_url, "fetcher", e->fetcher,
                          "duration_hint", e->duration_hint, "size_hint", (json_int_t)e->size_hint);
    const char *opt_keys[] = {"rate_key", "title", "posted_at", "subtitle_path"};
    const char *opt_vals[] = {e->rate_key, e->title, e->posted_at, e->subtitle_path};
    for (size_t i = 0; i < OM_ARRAY_LEN(opt_keys); i++)
        if (opt_vals[i])
            json_object_set_new(o, opt_keys[i], json_string(opt_vals[i]));
    if (json_is_object(e->raw)) {
        char *text = raw_dump(e->raw);
        json_t *raw = json_loads(text, 0, NULL);
        free(text);
        json_object_set_new(o, "raw", raw ? raw : json_object());
    }
    return o;
}

/* Rebuilds an entry from entry_to_json's object. OM_EINVAL naming what is missing. */
static int entry_from_json(json_t *o, om_source_entry *e)
{
    memset(e, 0, sizeof(*e));
    if (!json_is_object(o))
        return om_error_set(OM_EINVAL, "fetch payload needs \"entry\" (an object)");
    static const char *const req[] = {"platform_post_id", "url", "media_url", "fetcher"};
    const char *v[4];
    for (size_t i = 0; i < 4; i++) {
        v[i] = json_string_value(json_object_get(o, req[i]));
        if (!v[i] || !*v[i])
            return om_error_set(OM_EINVAL, "fetch payload: entry.%s missing or not a string",
                                req[i]);
    }
    const om_source_driver *drv = om_source_fetcher(v[3]);
    if (!drv)
        return om_error_set(OM_EINVAL, "fetch payload: unknown fetcher \"%s\"", v[3]);
    om_source_entry_set(e, v[0], v[1], v[2], drv->name);
    const char *s;
    if ((s = json_string_value(json_object_get(o, "rate_key"))))
        e->rate_key = xstrdup(s);
    if ((s = json_string_value(json_object_get(o, "title"))))
        e->title = xstrdup(s);
    if ((s = json_string_value(json_object_get(o, "posted_at"))))
        e->posted_at = xstrdup(s);
    if ((s = json_string_value(json_object_get(o, "subtitle_path"))))
        e->subtitle_path = xstrdup(s);
    e->duration_hint = json_number_value(json_object_get(o, "duration_hint"));
    e->size_hint = (int64_t)json_integer_value(json_object_get(o, "size_hint"));
    json_t *raw = json_object_get(o, "raw");
    if (json_is_object(raw))
        e->raw = json_deep_copy(raw);
    return OM_OK;
}

typedef struct saved {
    char *final_media, *final_subs;     /* moved into place inside the transaction */
    const char *orig_media, *orig_subs; /* where they came from (the .partial dir) */
    /* a remote media store: uploaded before the transaction, for the video id below */
    om_mstore *ms;
    char *media_row, *subs_row;
    char video_id[OM_UUID_LEN];
} saved;

/* The transaction did not commit: put the files back where a retry finds them. */
static void saved_undo(saved *sv)
{
    if (sv->final_media && (!sv->orig_media || rename(sv->final_media, sv->orig_media) != 0))
        unlink(sv->final_media);
    if (sv->final_subs && (!sv->orig_subs || rename(sv->final_subs, sv->orig_subs) != 0))
        unlink(sv->final_subs);
}

/* A remote media store ([media] store = s3://...): the media (and subtitles) go to the bucket
 * before the transaction, under the video id the transaction will use, so the object exists
 * before the row naming it commits and no upload holds the transaction open. Media whose
 * SHA-256 a video already has, or a re-post's, is not uploaded (the transaction records a
 * duplicate). */
static int upload_first(scrape *sc, om_source_media *m, const om_repost *rp, saved *sv)
{
    int rc = om_mstore_open(&sv->ms, sc->ctx->cfg);
    if (rc != OM_OK || !om_mstore_is_remote(sv->ms))
        return rc;
    char *existing = NULL;
    rc = om_store_query_value(sc->ctx->store,
                              "SELECT video_id FROM videos WHERE checksum = ? OR video_id = ?",
                              OM_PARAMS(OM_TEXT(m->sha256),
                                        rp->match[0] ? OM_TEXT(rp->match) : OM_NULL),
                              &existing);
    free(existing);
    if (rc == OM_OK)
        return OM_OK;
    if (rc != OM_ENOTFOUND)
        return om_error_wrap(rc, "looking up checksum %s", m->sha256);
    om_error_clear();
    om_uuid4(sv->video_id);
    char *key = xasprintf("sources/%s.%s", sv->video_id, m->ext);
    rc = om_mstore_put(sv->ms, key, m->media_path, m->sha256, 0, &sv->media_row);
    free(key);
    if (rc == OM_OK && m->subtitle_path) {
        const char *dot = strrchr(m->subtitle_path, '.');
        key = xasprintf("subs/%s.%s", sv->video_id, dot && strlen(dot + 1) < 16 ? dot + 1 : "vtt");
        rc = om_mstore_put(sv->ms, key, m->subtitle_path, NULL, 0, &sv->subs_row);
        free(key);
    }
    return rc;
}

/* The transaction did not store the uploaded objects: remove them from the bucket. */
static void upload_undo(saved *sv)
{
    const char *rows[] = {sv->media_row, sv->subs_row};
    for (size_t i = 0; i < 2; i++)
        if (rows[i] && om_mstore_delete(sv->ms, rows[i]) != OM_OK) {
            om_warn(SRC, "removing %s after a failed save: %s", rows[i], om_error_msg());
            om_error_clear();
        }
    free(sv->media_row);
    free(sv->subs_row);
    sv->media_row = sv->subs_row = NULL;
}

/* Everything of one entry inside the open transaction. *dup_out = 1 when the media was a
 * duplicate (2: a re-post recognised by its audio), *raced_out = 1 when another worker stored
 * the post meanwhile. */
static int save_in_txn(scrape *sc, const om_source_entry *e, om_source_media *m,
                       const om_media_info *info, om_repost *rp, const char *raw,
                       const char *posted_at, saved *sv, int *dup_out, int *raced_out,
                       char video_id_out[OM_UUID_LEN])
{
    om_store *s = sc->ctx->store;
    char post_id[OM_UUID_LEN], video_id[OM_UUID_LEN], packet[OM_UUID_LEN];
    om_uuid4(post_id);
    int64_t n = 0;
    int rc = om_store_exec(
        s,
        "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url, posted_at, "
        "downloaded_at, raw_metadata) VALUES (?, ?, ?, ?, ?, ?, now(), ?) "
        "ON CONFLICT (platform, platform_post_id) DO NOTHING",
        OM_PARAMS(OM_TEXT(post_id), OM_TEXT(sc->creator_id), OM_TEXT(sc->platform),
                  OM_TEXT(e->platform_post_id), OM_TEXT(e->url),
                  posted_at ? OM_TEXT(posted_at) : OM_NULL, OM_JSON(raw)),
        &n);
    if (rc != OM_OK)
        return om_error_wrap(rc, "inserting post");
    if (n == 0) {
        *raced_out = 1;
        return OM_OK;
    }
    char raw_sha[OM_SHA256_HEX_LEN];
    om_sha256_hex(raw, strlen(raw), raw_sha);
    json_t *evidence =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "checksum", m->sha256, "url", e->url,
                  "media_url", e->media_url, "driver", e->fetcher, "raw_metadata_sha256", raw_sha,
                  "size_bytes", (json_int_t)m->size_bytes);

    if (sv->media_row)
        memcpy(video_id, sv->video_id, OM_UUID_LEN);
    else
        om_uuid4(video_id);
    sv->final_media = xasprintf("%s/sources/%s.%s", sc->media_dir, video_id, m->ext);
    n = 0;
    int have = 0;
    char *existing = NULL;
    rc = om_store_query_value(s, "SELECT video_id FROM videos WHERE checksum = ?",
                              OM_PARAMS(OM_TEXT(m->sha256)), &existing);
    if (rc == OM_OK)
        have = 1;
    else if (rc == OM_ENOTFOUND)
        rc = OM_OK;
    int repost = 0;
    if (rc == OM_OK && !have && rp->hex && !rp->match[0]) {
        /* the same audio stored meanwhile by another worker's fetch (a re-post fetched at the
         * same time as its original): fetches that store fingerprints take turns here */
        rc = om_store_lock(s, OM_REPOST_LOCK);
        if (rc == OM_OK)
            rc = om_repost_recheck(s, sc->ctx->cfg, rp);
    }
    if (rc == OM_OK && !have && rp->match[0]) { /* the matched video is still there */
        rc = om_store_query_value(s, "SELECT video_id FROM videos WHERE video_id = ?",
                                  OM_PARAMS(OM_TEXT(rp->match)), &existing);
        if (rc == OM_OK)
            have = repost = 1;
        else if (rc == OM_ENOTFOUND)
            rc = OM_OK;
    }
    if (rc == OM_OK && !have) {
        /* the file is in place before the row that names it can be seen */
        if (sv->media_row) { /* in the bucket already */
            free(sv->final_media);
            sv->final_media = NULL;
        } else if (rename(m->media_path, sv->final_media) != 0) {
            rc = om_error_set(OM_EIO, "moving %s to %s: %s", m->media_path, sv->final_media,
                              strerror(errno));
            free(sv->final_media);
            sv->final_media = NULL;
        }
        char res[32];
        snprintf(res, sizeof(res), "%dx%d", info->display_width, info->display_height);
        char *media_row = sv->media_row ? xstrdup(sv->media_row)
                                        : om_config_path_to_row(sc->ctx->cfg, sv->final_media);
        if (rc == OM_OK)
            rc = om_store_exec(
                s,
                "INSERT INTO videos (video_id, post_id, file_path, "
                "duration_seconds, resolution, checksum, created_at) VALUES "
                "(?, ?, ?, ?, ?, ?, now()) ON CONFLICT (checksum) DO NOTHING",
                OM_PARAMS(OM_TEXT(video_id), OM_TEXT(post_id), OM_TEXT(media_row),
                          info->duration > 0 ? OM_INT(lround(info->duration)) : OM_NULL,
                          info->has_video ? OM_TEXT(res) : OM_NULL, OM_TEXT(m->sha256)),
                &n);
        free(media_row);
        if (rc == OM_OK && n == 0) { /* another worker stored the same media meanwhile */
            if (sv->final_media)
                unlink(sv->final_media);
            free(sv->final_media);
            sv->final_media = NULL;
            rc = om_store_query_value(s, "SELECT video_id FROM videos WHERE checksum = ?",
                                      OM_PARAMS(OM_TEXT(m->sha256)), &existing);
            have = rc == OM_OK;
        }
    }
    if (rc != OM_OK) {
        json_decref(evidence);
        free(existing);
        return om_error_wrap(rc, "storing video");
    }
    if (have) {
        free(sv->final_media);
        sv->final_media = NULL;
        json_t *lineage =
            json_pack("{s:s, s:s, s:o, s:s}", "post_id", post_id, "creator_id", sc->creator_id,
                      "evidence", evidence, "duplicate_of_video", existing);
        char *why = NULL;
        if (repost) {
            json_object_set_new(evidence, "audio_match", om_repost_evidence(rp, sc->ctx->cfg));
            why = xasprintf("the same audio as video %s (Chromaprint bit error rate %.3f over "
                            "%.0f s, this post starting %+.1f s into it): a re-post, recorded "
                            "and clipped once",
                            existing, rp->ber, rp->overlap_s, rp->offset_s);
        } else {
            why = xstrdup("same SHA-256 as an existing video: post recorded, no second video");
        }
        json_t *chain = json_pack("[{s:s, s:s}]", "decision", repost ? "repost" : "duplicate",
                                  "reason", why);
        free(why);
        rc = om_job_record(sc->ctx, "posts", post_id, lineage, chain, packet);
        json_decref(lineage);
        json_decref(chain);
        free(existing);
        *dup_out = repost ? 2 : 1;
        return rc;
    }

    /* artifacts */
    char *ameta = NULL;
    {
        json_t *am =
            json_pack("{s:s, s:s, s:s, s:s, s:f}", "driver", e->fetcher, "url", e->media_url,
                      "format", info->format, "ext", m->ext, "duration", info->duration);
        if (info->has_video) {
            json_object_set_new(am, "width", json_integer(info->display_width));
            json_object_set_new(am, "height", json_integer(info->display_height));
            json_object_set_new(am, "video_codec", json_string(info->video_codec));
        }
        if (info->has_audio)
            json_object_set_new(am, "audio_codec", json_string(info->audio_codec));
        ameta = json_dumps(am, JSON_COMPACT | OM_JSON_REAL);
        json_decref(am);
    }
    char aid[OM_UUID_LEN];
    om_uuid4(aid);
    char *arow = sv->media_row ? xstrdup(sv->media_row)
                               : om_config_path_to_row(sc->ctx->cfg, sv->final_media);
    rc = om_store_exec(s,
                       "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, "
                       "checksum, size_bytes, metadata, created_at) VALUES (?, 'source_media', "
                       "'videos', ?, ?, ?, ?, ?, now()) ON CONFLICT (kind, entity_id, path) DO "
                       "NOTHING",
                       OM_PARAMS(OM_TEXT(aid), OM_TEXT(video_id), OM_TEXT(arow),
                                 OM_TEXT(m->sha256), OM_INT(m->size_bytes), OM_JSON(ameta)),
                       NULL);
    free(arow);
    free(ameta);
    if (rc == OM_OK && m->subtitle_path) {
        char sext[16] = "vtt";
        const char *dot = strrchr(m->subtitle_path, '.');
        if (dot && strlen(dot + 1) < sizeof(sext))
            snprintf(sext, sizeof(sext), "%s", dot + 1);
        char *subs_dir = xasprintf("%s/subs", sc->media_dir);
        rc = om_mkdirs(subs_dir, 0755);
        free(subs_dir);
        sv->final_subs = xasprintf("%s/subs/%s.%s", sc->media_dir, video_id, sext);
        char ssha[OM_SHA256_HEX_LEN];
        int64_t ssize = 0;
        if (rc == OM_OK)
            rc = om_sha256_file(m->subtitle_path, ssha);
        if (rc == OM_OK)
            rc = om_file_size(m->subtitle_path, &ssize);
        if (rc == OM_OK && sv->subs_row) { /* in the bucket already */
            free(sv->final_subs);
            sv->final_subs = NULL;
        } else if (rc == OM_OK && rename(m->subtitle_path, sv->final_subs) != 0) {
            rc = om_error_set(OM_EIO, "moving subtitles: %s", strerror(errno));
        }
        if (rc != OM_OK) {
            free(sv->final_subs);
            sv->final_subs = NULL;
        } else if (!sv->final_subs && !sv->subs_row) {
            rc = om_error_set(OM_EIO, "subtitles of video %s were not stored", video_id);
        } else {
            char sid[OM_UUID_LEN];
            om_uuid4(sid);
            json_t *sm = json_pack("{s:s, s:s, s:s}", "origin",
                                   strcmp(e->fetcher, "local") == 0 ? "sidecar" : "platform",
                                   "format", sext, "driver", e->fetcher);
            char *smeta = json_dumps(sm, JSON_COMPACT | OM_JSON_REAL);
            json_decref(sm);
            char *srow = sv->subs_row ? xstrdup(sv->subs_row)
                                      : om_config_path_to_row(sc->ctx->cfg, sv->final_subs);
            rc = om_store_exec(s,
                               "INSERT INTO artifacts (artifact_id, kind, entity_type, "
                               "entity_id, path, checksum, size_bytes, metadata, created_at) "
                               "VALUES (?, 'subtitle', 'videos', ?, ?, ?, ?, ?, now()) "
                               "ON CONFLICT (kind, entity_id, path) DO NOTHING",
                               OM_PARAMS(OM_TEXT(sid), OM_TEXT(video_id), OM_TEXT(srow),
                                         OM_TEXT(ssha), OM_INT(ssize), OM_JSON(smeta)),
                               NULL);
            free(srow);
            free(smeta);
            json_object_set_new(evidence, "subtitles_sha256", json_string(ssha));
        }
    }
    if (rc == OM_OK)
        rc = om_repost_store(s, video_id, rp);
    if (rc != OM_OK) {
        json_decref(evidence);
        return om_error_wrap(rc, "storing artifacts");
    }
    json_t *lineage = json_pack("{s:s, s:s, s:s, s:o}", "post_id", post_id, "creator_id",
                                sc->creator_id, "platform", sc->platform, "evidence", evidence);
    json_t *chain = json_pack("[{s:s, s:s}]", "decision", "new_video", "reason",
                              "media not seen before (no video with this SHA-256)");
    rc = om_job_record(sc->ctx, "videos", video_id, lineage, chain, packet);
    json_decref(lineage);
    json_decref(chain);
    if (rc != OM_OK)
        return rc;
    char key[64];
    snprintf(key, sizeof(key), "analyze:%s", video_id);
    rc = om_job_emit(sc->ctx, "analyze",
                     json_pack("{s:s, s:s}", "video_id", video_id, "post_id", post_id),
                     json_pack("[s]", packet), key, OM_PRIORITY_DEFAULT, 0);
    if (rc == OM_OK)
        memcpy(video_id_out, video_id, OM_UUID_LEN);
    return rc;
}

/* The fetch stage's per-job state. */
typedef struct fetch {
    scrape sc;
    om_source_entry e;
    char *partial; /* <media_dir>/sources/.partial/<key>: kept between attempts */
    om_source_media m;
    om_media_info info;
    om_repost rp; /* DEDUPE's finding */
} fetch;

static void fetch_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    fetch *f = js;
    om_repost_release(&f->rp);
    om_source_media_release(&f->m);
    free(f->partial);
    om_source_entry_release(&f->e);
    scrape_release(&f->sc);
}

/* INIT of both stages: payload creator, creator row, media dir, driver context. */
static int scrape_init(scrape *sc, om_job_ctx *ctx, const char *type)
{
    memset(sc, 0, sizeof(*sc));
    sc->ctx = ctx;
    const char *creator_id = json_string_value(json_object_get(ctx->payload, "creator_id"));
    if (!creator_id || !om_uuid_valid(creator_id))
        return om_error_set(OM_EINVAL, "%s payload needs \"creator_id\" (a UUID)", type);
    snprintf(sc->creator_id, sizeof(sc->creator_id), "%s", creator_id);
    int rc = load_creator(sc, creator_id);
    if (rc == OM_OK)
        rc = media_dir_abs(sc);
    if (rc == OM_OK)
        om_source_ctx_init(&sc->sctx, ctx->cfg, ctx->cancel);
    return rc;
}

/* The media dir is low on space (media.min_free_mb): the same fetch again later, under a key
 * of its own, and this job is done without downloading (it spends no attempt). */
static int fetch_defer(om_job_ctx *ctx, fetch *f, double free_mb)
{
    int64_t retry_s = om_config_long(ctx->cfg, "infinity.disk_retry_s");
    char *key = xasprintf("fetch:%s:%s:disk:%lld", f->sc.platform, f->e.platform_post_id,
                          (long long)(om_now_us() / 1000000 / retry_s));
    int rc = om_store_begin(ctx->store);
    if (rc == OM_OK)
        rc = om_job_emit(ctx, "fetch", json_deep_copy(ctx->payload),
                         ctx->parents ? json_deep_copy(ctx->parents) : NULL, key,
                         OM_PRIORITY_DEFAULT, retry_s * 1000);
    if (rc == OM_OK)
        rc = om_store_commit(ctx->store);
    else if (om_store_in_txn(ctx->store))
        om_store_rollback(ctx->store);
    free(key);
    if (rc)
        return om_error_wrap(rc, "deferring the fetch of post %s", f->e.platform_post_id);
    json_object_set_new(ctx->result, "outcome", json_string("deferred_disk_low"));
    json_object_set_new(ctx->result, "media_free_mb", json_real(free_mb));
    om_warn(SRC, "post %s not fetched: %.0f MiB free under the media dir (media.min_free_mb "
                 "%ld); again in %lld s",
            f->e.platform_post_id, free_mb, om_config_long(ctx->cfg, "media.min_free_mb"),
            (long long)retry_s);
    return om_step_done(ctx, "deferred: the media dir is low on space (%.0f MiB free)", free_mb);
}

/* FETCH: the media with the entry's fetcher into the .partial dir, then probed. Not when the
 * media dir is low on space (deferred, nothing written); a download that fails while it is
 * low leaves no partial file behind. */
static int fetch_fetch(om_job_ctx *ctx, void *js)
{
    fetch *f = js;
    scrape *sc = &f->sc;
    const om_source_entry *e = &f->e;
    double free_mb = 0;
    if (om_infinity_disk_low(ctx->cfg, &free_mb))
        return fetch_defer(ctx, f, free_mb);
    om_step_note(ctx, "fetching %s with %s", e->url, e->fetcher);
    char keyhex[OM_SHA256_HEX_LEN];
    char *key = xasprintf("%s\n%s", sc->platform, e->platform_post_id);
    om_sha256_hex(key, strlen(key), keyhex);
    free(key);
    f->partial = xasprintf("%s/sources/.partial/%.24s", sc->media_dir, keyhex);
    int rc = om_source_fetch(&sc->sctx, e, f->partial, "media", &f->m);
    if (rc != OM_OK) {
        /* keep a partial download for the next attempt unless retrying cannot help */
        if (rc == OM_EINVAL || rc == OM_EPERMANENT || rc == OM_ENOTFOUND ||
            om_infinity_disk_low(ctx->cfg, NULL))
            om_rmtree(f->partial);
        return om_error_wrap(rc, "fetching post %s (%s)", e->platform_post_id, e->url);
    }
    rc = om_media_probe(f->m.media_path, &f->info);
    if (rc != OM_OK) {
        rc = om_error_wrap(OM_EINVAL, "%s: unusable media (post %s)", e->url, e->platform_post_id);
        om_rmtree(f->partial);
        return rc;
    }
    return OM_OK;
}

/* SAVE: the post, the video (or the duplicate's packet) and the analyze job in ONE
 * transaction. ctx->result gets "outcome" ("new_video", "duplicate" or "already_stored")
 * and the ids. */
static int fetch_save(om_job_ctx *ctx, void *js)
{
    fetch *f = js;
    scrape *sc = &f->sc;
    const om_source_entry *e = &f->e;
    om_source_media *m = &f->m;
    om_step_note(ctx, "%s, %lld bytes, sha256 %.12s", f->info.format, (long long)m->size_bytes,
                 m->sha256);
    char *raw = raw_text(e, m);
    const char *posted_at = e->posted_at ? e->posted_at : m->posted_at;
    saved sv = {NULL, NULL, m->media_path, m->subtitle_path, NULL, NULL, NULL, ""};
    int dup = 0, raced = 0;
    char video_id[OM_UUID_LEN] = "";
    int rc = upload_first(sc, m, &f->rp, &sv);
    if (rc == OM_OK)
        rc = om_store_begin(ctx->store);
    if (rc == OM_OK) {
        rc = save_in_txn(sc, e, m, &f->info, &f->rp, raw, posted_at, &sv, &dup, &raced,
                         video_id);
        if (rc == OM_OK && !raced)
            rc = om_store_commit(ctx->store);
        else
            om_store_rollback(ctx->store);
    }
    if (rc != OM_OK || raced || dup)
        upload_undo(&sv);
    if (rc != OM_OK || raced)
        saved_undo(&sv);
    if (rc == OM_OK) {
        const char *outcome = raced ? "already_stored" : dup ? "duplicate" : "new_video";
        json_object_set_new(ctx->result, "outcome", json_string(outcome));
        json_object_set_new(ctx->result, "checksum", json_string(m->sha256));
        if (raced) {
            om_info(SRC, "post %s was stored by another worker meanwhile", e->platform_post_id);
        } else if (dup == 2) {
            json_object_set_new(ctx->result, "duplicate_of", json_string(f->rp.match));
            json_object_set_new(ctx->result, "matched_by", json_string("audio_fingerprint"));
            om_info(SRC, "post %s: a re-post of video %s (same audio, bit error rate %.3f); "
                         "no second video",
                    e->platform_post_id, f->rp.match, f->rp.ber);
        } else if (dup) {
            json_object_set_new(ctx->result, "matched_by", json_string("checksum"));
            om_info(SRC, "post %s: same media as an existing video; no second video",
                    e->platform_post_id);
        } else {
            json_object_set_new(ctx->result, "video_id", json_string(video_id));
            json_t *fl = json_pack("{s:s, s:s, s:s}", "video_id", video_id, "creator_id",
                                   sc->creator_id, "checksum", m->sha256);
            om_log_emit(OM_LOG_INFO, SRC, fl, "new video %s from %s (%s)", video_id, e->url,
                        e->fetcher);
            json_decref(fl);
        }
        om_step_note(ctx, "%s", outcome);
        if (sv.media_row && !raced && !dup) /* hot: the analyzer on this node reads it next */
            om_mstore_cache_adopt(sv.ms, sv.media_row, m->media_path);
        om_rmtree(f->partial);
    }
    free(sv.final_media);
    free(sv.final_subs);
    free(sv.media_row);
    free(sv.subs_row);
    om_mstore_free(sv.ms);
    free(raw);
    return rc;
}

/* DEDUPE: the media's audio fingerprint against the stored videos' (stages/repost.h). */
static int fetch_dedupe(om_job_ctx *ctx, void *js)
{
    fetch *f = js;
    int rc = om_repost_check(ctx->store, ctx->cfg, f->m.media_path, f->info.has_audio, &f->rp);
    if (rc != OM_OK)
        return om_error_wrap(rc, "re-post check of post %s", f->e.platform_post_id);
    if (f->rp.skipped)
        om_step_note(ctx, "no re-post check: %s", f->rp.skipped);
    else if (f->rp.match[0])
        om_step_note(ctx, "the same audio as video %s (bit error rate %.3f at %+.1f s, %zu "
                          "compared)",
                     f->rp.match, f->rp.ber, f->rp.offset_s, f->rp.compared);
    else
        om_step_note(ctx, "%.0f s fingerprinted, no match among %zu stored", f->rp.seconds,
                     f->rp.compared);
    return OM_OK;
}

/* INIT: the creator and the entry; a post already stored (re-delivery after the commit) is
 * done. */
static int fetch_init(om_job_ctx *ctx, void *js)
{
    fetch *f = js;
    int rc = scrape_init(&f->sc, ctx, "fetch");
    if (rc == OM_OK)
        rc = entry_from_json(json_object_get(ctx->payload, "entry"), &f->e);
    int known = 0;
    if (rc == OM_OK)
        rc = post_known(&f->sc, f->e.platform_post_id, &known);
    if (rc != OM_OK)
        return rc;
    json_object_set_new(ctx->result, "creator_id", json_string(f->sc.creator_id));
    json_object_set_new(ctx->result, "platform_post_id", json_string(f->e.platform_post_id));
    if (known) {
        json_object_set_new(ctx->result, "outcome", json_string("already_stored"));
        return om_step_done(ctx, "post %s already stored", f->e.platform_post_id);
    }
    return OM_OK;
}

/* The scrape stage's per-job state. */
typedef struct scrape_job {
    scrape sc;
    long take;        /* at most this many new posts this run */
    long list_limit;  /* entries listed (the window the new posts are picked from) */
    int first;        /* no post of this creator stored yet: the backlog run */
    om_source_entries l;
    size_t *todo;     /* indexes into l of the new posts taken, newest first */
    size_t ntodo;
    int listed, known_n, skipped, left;
} scrape_job;

static void scrape_job_release(om_job_ctx *ctx, void *js)
{
    scrape_job *j = js;
    json_object_set_new(ctx->result, "creator_id", json_string(j->sc.creator_id));
    json_object_set_new(ctx->result, "listed", json_integer(j->listed));
    json_object_set_new(ctx->result, "already_stored", json_integer(j->known_n));
    json_object_set_new(ctx->result, "skipped", json_integer(j->skipped));
    json_object_set_new(ctx->result, "fetch_jobs", json_integer((json_int_t)j->ntodo));
    json_object_set_new(ctx->result, "left_for_next", json_integer(j->left));
    free(j->todo);
    om_source_entries_free(&j->l);
    scrape_release(&j->sc);
}

/* INIT: the creator, its driver, and how many posts this run takes: the first scrape of a
 * creator (no post of it stored yet) takes its backlog up to [scraper] backfill (default
 * 50), later ones the new posts up to [scraper] max_posts (default 5). Both pick from a
 * listing window of max(backfill, max_posts) newest entries, so new posts that did not fit
 * are taken by the next run, never dropped. */
static int scrape_step_init(om_job_ctx *ctx, void *js)
{
    scrape_job *j = js;
    int rc = scrape_init(&j->sc, ctx, "scrape");
    if (rc != OM_OK)
        return rc;
    long max_posts = om_config_long(ctx->cfg, "scraper.max_posts");
    long backfill = om_config_long(ctx->cfg, "scraper.backfill");
    if (max_posts < 1)
        max_posts = 1;
    if (backfill < 1)
        backfill = 1;
    char *v = NULL;
    rc = om_store_query_value(ctx->store, "SELECT post_id FROM posts WHERE creator_id = ? LIMIT 1",
                              OM_PARAMS(OM_TEXT(j->sc.creator_id)), &v);
    free(v);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        j->first = 1;
    } else if (rc != OM_OK) {
        return om_error_wrap(rc, "looking up the posts of creator %s", j->sc.creator_id);
    }
    j->take = j->first ? backfill : max_posts;
    j->list_limit = backfill > max_posts ? backfill : max_posts;
    return OM_OK;
}

/* FETCH: list the creator's newest entries with its driver. */
static int scrape_step_fetch(om_job_ctx *ctx, void *js)
{
    scrape_job *j = js;
    scrape *sc = &j->sc;
    om_step_note(ctx, "listing %s creator %s (%s: up to %ld new posts)", sc->platform,
                 sc->username, j->first ? "first scrape, backlog" : "new posts", j->take);
    om_source_creator cr = {sc->creator_id, sc->platform, sc->username, sc->profile_url};
    return om_source_list(&sc->sctx, &cr, (size_t)j->list_limit, &j->l);
}

/* PARSE: keep usable entries not stored yet (and not repeated in this listing), newest
 * first, at most `take`; the rest wait for the next run. */
static int scrape_step_parse(om_job_ctx *ctx, void *js)
{
    scrape_job *j = js;
    om_source_entries *l = &j->l;
    om_step_note(ctx, "%zu entries listed", l->n);
    j->todo = xcalloc(l->n + 1, sizeof(size_t));
    size_t nnew = 0;
    size_t *fresh = xcalloc(l->n + 1, sizeof(size_t));
    int rc = OM_OK;
    for (size_t i = 0; rc == OM_OK && i < l->n; i++) {
        om_source_entry *e = &l->v[i];
        j->listed++;
        if (!e->platform_post_id || !*e->platform_post_id || !e->url || !e->media_url ||
            !e->fetcher || strlen(e->platform_post_id) > 2000) {
            j->skipped++;
            continue;
        }
        int dup_in_batch = 0;
        for (size_t k = 0; k < nnew; k++)
            dup_in_batch |= strcmp(l->v[fresh[k]].platform_post_id, e->platform_post_id) == 0;
        int known = 0;
        if (!dup_in_batch)
            rc = post_known(&j->sc, e->platform_post_id, &known);
        if (dup_in_batch || known)
            j->known_n++;
        else
            fresh[nnew++] = i;
    }
    for (size_t k = 0; k < nnew; k++) {
        if ((long)j->ntodo < j->take)
            j->todo[j->ntodo++] = fresh[k];
        else
            j->left++;
    }
    free(fresh);
    if (rc == OM_OK && j->left > 0)
        om_info(SRC, "%s creator %s: %d new posts left for the next scrape (this one takes %ld)",
                j->sc.platform, j->sc.username, j->left, j->take);
    return rc;
}

/* SAVE: one fetch job per new entry, all in one transaction; oldest first (listings are
 * newest first), so that of two posts with the same media the original owns the video. */
static int scrape_step_save(om_job_ctx *ctx, void *js)
{
    scrape_job *j = js;
    scrape *sc = &j->sc;
    om_step_note(ctx, "%zu new of %d listed (%d already stored, %d left for the next scrape)",
                 j->ntodo, j->listed, j->known_n, j->left);
    if (j->ntodo == 0)
        return OM_OK;
    int rc = om_store_begin(ctx->store);
    for (size_t k = 0; rc == OM_OK && k < j->ntodo; k++) {
        om_source_entry *e = &j->l.v[j->todo[j->ntodo - 1 - k]];
        json_t *p =
            json_pack("{s:s, s:o}", "creator_id", sc->creator_id, "entry", entry_to_json(e));
        if (ctx->project_id && *ctx->project_id)
            json_object_set_new(p, "project_id", json_string(ctx->project_id));
        char *key = xasprintf("fetch:%s:%s", sc->platform, e->platform_post_id);
        rc = om_job_emit(ctx, "fetch", p, ctx->parents ? json_deep_copy(ctx->parents) : NULL, key,
                         OM_PRIORITY_DEFAULT, 0);
        free(key);
    }
    if (rc == OM_OK)
        rc = om_store_commit(ctx->store);
    else if (om_store_in_txn(ctx->store))
        om_store_rollback(ctx->store);
    if (rc != OM_OK)
        return om_error_wrap(rc, "emitting fetch jobs for %s creator %s", sc->platform,
                             sc->username);
    om_step_note(ctx, "%zu fetch jobs emitted", j->ntodo);
    return OM_OK;
}

extern const om_stage om_stage_scrape, om_stage_fetch; /* registered by stages/registry.c */

static const om_step scrape_steps[] = {
    {"INIT", scrape_step_init},
    {"FETCH", scrape_step_fetch},
    {"PARSE", scrape_step_parse},
    {"SAVE", scrape_step_save},
    {NULL, NULL},
};

const om_stage om_stage_scrape = {
    .type = "scrape",
    .source = SRC,
    .steps = scrape_steps,
    .job_size = sizeof(scrape_job),
    .release = scrape_job_release,
    .timeout_ms = 30 * 60 * 1000, /* listing only: yt-dlp listings and rate-limit waits */
    .lease_ms = 0,
    .entity_type = "creators",
};

static const om_step fetch_steps[] = {
    {"INIT", fetch_init},
    {"FETCH", fetch_fetch},
    {"DEDUPE", fetch_dedupe},
    {"SAVE", fetch_save},
    {NULL, NULL},
};

const om_stage om_stage_fetch = {
    .type = "fetch",
    .source = SRC,
    .steps = fetch_steps,
    .job_size = sizeof(fetch),
    .release = fetch_release,
    .timeout_ms = 90 * 60 * 1000, /* one download ([scraper] fetch_timeout_s, default 1 h) */
    .lease_ms = 0,
    .entity_type = "videos",
};
