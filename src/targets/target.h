/*
 * target.h: publishing targets. A target takes a rendered clip plus its metadata and makes
 * it public somewhere: the local export folder (export.c, the default) today, YouTube (Data
 * API v3) later through the same vtable. Looked up by name (projects.targets /
 * upload_jobs.target), called only by the uploader stage (src/stages/upload.c) in its
 * states AUTH (auth), UPLOAD (publish), VERIFY (verify).
 *
 * Resumability and idempotence: `state` is upload_jobs.target_state, a JSON object the
 * target reads and updates (export path and checksum; for YouTube the resumable session
 * URI and bytes sent). The stage persists it after each call, so a re-delivered job
 * continues instead of starting over, and a publish that already happened is recognised and
 * not repeated (the export target checks upload_job_id and SHA-256 of what is on disk).
 *
 * YouTube (youtube.c) persists its resumable session through req->persist before the first
 * byte, and the flag "final_sent" before the last chunk, so whatever instant the worker
 * dies, the next delivery asks the session what the server has (and a completed session
 * answers with the video): one video per upload job.
 *
 * Also here: the publishing metadata every target uses (title <= 100 characters,
 * description, tags <= 500 characters in YouTube's counting), derived from the transcript
 * and keywords.
 *
 * Ownership: requests and JSON passed in are borrowed; `state` is modified in place;
 * *result_id_out and JSON returned are the caller's.
 */
#ifndef OMNIVA_TARGETS_TARGET_H
#define OMNIVA_TARGETS_TARGET_H

#include <jansson.h>

#include "base/config.h"
#include "store/store.h"

#define OM_TARGET_VERSION 1
#define OM_TITLE_MAX_CHARS 100
#define OM_TAGS_MAX_CHARS 500
#define OM_DESCRIPTION_MAX_CHARS 4500

typedef struct om_publish_req {
    const char *clip_id;
    const char *upload_job_id;
    const char *clip_path;  /* the rendered file */
    const json_t *sidecar;  /* metadata object: title, description, tags, provenance, ... */
    const char *dest_dir;   /* export target: destination folder */
    const om_config *cfg;   /* may be NULL */
    /* for targets that post to an account (YouTube); NULL for export */
    om_store *store;        /* the job's connection: account tokens, incidents */
    const char *project_id; /* the clip's project ("" when none) */
    const json_t *brand;    /* the project's brand (youtube: privacy, category, ...) */
    const char *scheduled_time; /* when the post is due (publishAt ahead of it), or NULL */
    /* Saves `state` as upload_jobs.target_state now (a resumable session before its first
     * byte); the target calls it between requests. NULL: nothing to save to. */
    int (*persist)(void *arg, const json_t *state);
    void *persist_arg;
    volatile int *cancel;   /* becomes 1 when the job must stop (may be NULL) */
} om_publish_req;

struct om_clip_figures;

typedef struct om_target {
    int version; /* OM_TARGET_VERSION */
    const char *name;
    /* the platform whose linked account (accounts.h) a post needs; NULL: none (export) */
    const char *account_platform;
    /* AUTH: credentials/destination ready (export: the folder exists and is writable). */
    int (*auth)(const om_publish_req *req, json_t *state);
    /* UPLOAD: publish; *result_id_out (caller frees) names the result (export: the path,
     * YouTube: the video id). Must be idempotent given the same state and upload_job_id. */
    int (*publish)(const om_publish_req *req, json_t *state, char **result_id_out);
    /* VERIFY: the publish is really there (export: files on disk, checksum matches). */
    int (*verify)(const om_publish_req *req, json_t *state, const char *result_id);
    /* STATS (may be NULL: export has none): the published item's figures now, read from the
     * platform (the item named by `state`, the upload job's target_state after VERIFY).
     * req carries cfg, store and project_id (the account); fields not given are < 0. */
    int (*stats)(const om_publish_req *req, json_t *state, struct om_clip_figures *out);
} om_target;

/* One reading of a published clip (clip_stats' columns). */
typedef struct om_clip_figures {
    long long views, likes, comments, shares; /* < 0: not given by the platform */
    double watch_time_s;                      /* total seconds watched; < 0: not given */
} om_clip_figures;
#define OM_CLIP_FIGURES_NONE {-1, -1, -1, -1, -1}

extern const om_target om_target_export;
extern const om_target om_target_youtube; /* youtube.c: YouTube Data API v3 */
extern const om_target om_target_tiktok;   /* tiktok.c: Content Posting API, Direct Post */
extern const om_target om_target_instagram; /* instagram.c: Reels through the Graph API */

/* A target's answer "the platform's quota/rate window is used up": the target returns
 * OM_EBUSY and sets state.quota = {"reason", "retry_at"} (ISO time the window reopens);
 * the uploader then reschedules the job to retry_at without counting an attempt. */
#define OM_TARGET_QUOTA_KEY "quota"

/* By name ("export"); NULL when unknown. */
const om_target *om_target_find(const char *name);
/* JSON array of the known target names (caller's). */
json_t *om_target_names(void);

/* Publishing metadata from a clip's transcript: {"title","description","tags":[..]}.
 *   title        the opening sentence (two if the first is under 20 characters), first
 *                letter capitalised, cut at a word to <= 100 characters with "…"; without
 *                transcript "Clip from <creator>"
 *   description  the transcript (<= 300 characters), hashtags of up to 5 keywords, and a
 *                source credit line when creator/url are known (never a path: a local
 *                folder creator is credited by the folder's name, file: URLs are left out)
 *   tags         brand keywords first, then the clip's keywords; de-duplicated (case-
 *                insensitive); added while the YouTube count (lengths + commas + 2 for a
 *                tag with a space) stays <= 500
 * keywords/brand_keywords are JSON arrays of strings (may be NULL). */
json_t *om_publish_meta_build(const char *transcript, const json_t *keywords,
                              const json_t *brand_keywords, const char *creator,
                              const char *source_url);
/* YouTube's tag count of a JSON array of tags. */
size_t om_tags_count_chars(const json_t *tags);
/* At most max UTF-8 characters, cut at a word with "…" (caller frees). */
char *om_publish_truncate(const char *s, size_t max_chars);

#endif
