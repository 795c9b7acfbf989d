/*
 * retention.c: retention and cleanup of media files (lifecycle.h has the rules), in the media
 * folder and in an s3:// media store alike. One run:
 *   0. list   with a remote store: every object under its prefix (ListObjectsV2), once;
 *   1. sweep  finish deletions a killed run committed but did not carry out (a file still on
 *             disk, an object still in that listing, with the deleted checksum);
 *   2. plan   raw downloads past their days (no clip published), derived assets past their
 *             days or approved by an operator, orphan files under the media folder and
 *             orphan objects under the store's prefix;
 *   3. delete each: ONE transaction marks the row gone (the intent), appends the ledger
 *             packet and the `logs` row; the unlink or DeleteObject (which also drops this
 *             node's cache copy) follows the commit. Done is the file's or object's absence,
 *             which the next run's sweep checks (no column records it: see lifecycle.h).
 * Rules: the [retention] settings, or a project's own (projects.retention); a video shared
 * by several projects (its creator is followed by more than one) gets the longest.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "ledger/stardust.h"
#include "lifecycle/lifecycle.h"
#include "media/mstore.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC "retention"
#define DAY_US (86400.0 * 1e6)

typedef struct rules {
    long raw_days, derived_days, grace_hours;
    json_t *by_creator; /* creator_id -> [raw_days, derived_days] (longest of its projects) */
} rules;

typedef struct run {
    om_store *s;
    const om_config *cfg;
    const char *home;
    int dry_run;
    int64_t now_us;
    rules r;
    json_t *report, *del, *kept, *errors, *swept;
    om_mstore *ms;  /* opened on first need (a remote row or store); NULL before */
    int ms_rc;      /* the open's failure, kept: every remote file then reports it */
    char *ms_err;
    json_t *listed; /* remote store: row -> [size, mtime_us] of each object under its prefix */
    char *cache_real; /* the node cache's folder: never walked for orphans */
} run;

/* ---- paths ------------------------------------------------------------------------------ */

/* A row's path as a file name: absolute, or relative to the workspace home. Caller frees. */
static char *resolve(const run *rn, const char *stored)
{
    return om_path_from_home(rn->home, stored);
}

/* The canonical name of an existing file (its folder through realpath), else the name. */
static char *canonical(const char *abs)
{
    char *dir = xstrdup(abs), *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return xstrdup(abs);
    }
    *slash = '\0';
    char *real = realpath(dir, NULL);
    char *out = real ? xasprintf("%s/%s", real, slash + 1) : xstrdup(abs);
    free(real);
    free(dir);
    return out;
}

static int is_regular(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- the media store (rows "s3://bucket/key") -------------------------------------------- */

static int is_remote(const char *stored)
{
    return om_mstore_row_is_remote(stored);
}

/* The media store, opened once; a failure (no credentials) is kept and returned each time. */
static int store_of(run *rn, om_mstore **out)
{
    *out = NULL;
    if (!rn->ms && !rn->ms_rc) {
        rn->ms_rc = om_mstore_open(&rn->ms, rn->cfg);
        if (rn->ms_rc)
            rn->ms_err = xstrdup(om_error_msg());
    }
    if (rn->ms_rc)
        return om_error_set(rn->ms_rc, "%s", rn->ms_err);
    *out = rn->ms;
    return OM_OK;
}

/* 1 when the listing of step 0 covers ROW (it is under the configured store's prefix): its
 * presence there then answers whether the object exists, without a HEAD. */
static int listing_covers(run *rn, const char *row)
{
    if (!rn->listed || !rn->ms)
        return 0;
    char *key = om_mstore_key_of(rn->ms, row);
    int covered = key != NULL;
    free(key);
    return covered;
}

/* Whether ROW's object exists (*exists_out) and what the store records of it. A failure to
 * ask is an OM_EIO naming the object (the caller reports it and goes on). */
static int object_stat(run *rn, const char *row, om_mstat *st, int *exists_out)
{
    memset(st, 0, sizeof(*st));
    *exists_out = 0;
    om_mstore *ms = NULL;
    int rc = store_of(rn, &ms);
    if (rc == OM_OK)
        rc = om_mstore_stat(ms, row, st);
    if (rc == OM_ENOTFOUND) {
        om_error_clear();
        return OM_OK;
    }
    if (rc) {
        char *msg = xstrdup(om_error_msg());
        rc = om_error_set(OM_EIO, "%s: %s", row, msg);
        free(msg);
        return rc;
    }
    *exists_out = 1;
    return OM_OK;
}

/* The SHA-256 of ROW's object: what the store recorded at upload (x-amz-meta-sha256, whose
 * body the service verified), else its bytes hashed (fetched to a temp file in the media
 * folder, removed after). *from_out says which. */
static int object_sha(run *rn, const char *row, const om_mstat *st,
                      char out[OM_SHA256_HEX_LEN], const char **from_out)
{
    if (st->sha256[0]) {
        memcpy(out, st->sha256, OM_SHA256_HEX_LEN);
        *from_out = "the store's record (x-amz-meta-sha256)";
        return OM_OK;
    }
    om_mstore *ms = NULL;
    int rc = store_of(rn, &ms);
    const char *media = om_config_media_dir(rn->cfg);
    char rnd[OM_UUID_LEN];
    char *tmp = xasprintf("%s/.retention-%s.part", media && *media ? media : rn->home,
                          om_uuid4(rnd));
    if (rc == OM_OK)
        rc = om_mstore_get(ms, row, tmp, NULL);
    if (rc == OM_OK)
        rc = om_sha256_file(tmp, out);
    unlink(tmp);
    free(tmp);
    if (rc) {
        char *msg = xstrdup(om_error_msg());
        rc = om_error_set(OM_EIO, "hashing %s: %s", row, msg);
        free(msg);
        return rc;
    }
    *from_out = "the object's bytes";
    return OM_OK;
}

static int on_listed(void *ud, const char *row, int64_t size, int64_t mtime_us)
{
    run *rn = ud;
    json_object_set_new(rn->listed, row, json_pack("[I, I]", (json_int_t)size,
                                                   (json_int_t)mtime_us));
    return 0;
}

/* Step 0: with an s3:// store, every object under its prefix, once per run (the sweep and the
 * orphan plan read it; a raw or derived row of the store is there or its object is gone). */
static int list_store(run *rn)
{
    const char *uri = om_config_str(rn->cfg, "media.store");
    if (!uri || !*uri || !strncmp(uri, "file://", 7))
        return OM_OK;
    om_mstore *ms = NULL;
    int rc = store_of(rn, &ms);
    if (rc)
        return om_error_wrap(rc, "retention over the media store %s", uri);
    if (!om_mstore_is_remote(ms))
        return OM_OK;
    rn->listed = json_object();
    int64_t t0 = om_mono_ms();
    rc = om_mstore_list(ms, "", on_listed, rn);
    if (rc)
        return om_error_wrap(rc, "listing the media store %s", om_mstore_uri(ms));
    om_debug(SRC, "listed %zu objects of %s in %lld ms", json_object_size(rn->listed),
             om_mstore_uri(ms), (long long)(om_mono_ms() - t0));
    return OM_OK;
}

/* ---- rules ------------------------------------------------------------------------------ */

static long proj_days(json_t *ret, const char *key, long def)
{
    json_t *v = json_object_get(ret, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (long)json_integer_value(v) : def;
}

static int load_rules(run *rn)
{
    rules *r = &rn->r;
    r->raw_days = om_config_long(rn->cfg, "retention.raw_days");
    r->derived_days = om_config_long(rn->cfg, "retention.derived_days");
    r->grace_hours = om_config_long(rn->cfg, "retention.orphan_grace_hours");
    r->by_creator = json_object();
    om_rows *rows = NULL;
    int rc = om_store_query(rn->s,
                            "SELECT pc.creator_id, p.retention FROM project_creators pc "
                            "JOIN projects p ON p.project_id = pc.project_id",
                            NULL, 0, &rows);
    if (rc)
        return om_error_wrap(rc, "reading the projects' retention rules");
    for (size_t i = 0; i < om_rows_count(rows); i++) {
        const char *cid = om_rows_get(rows, i, 0), *rt = om_rows_get(rows, i, 1);
        json_t *ret = rt ? json_loads(rt, 0, NULL) : NULL;
        long raw = proj_days(ret, "raw_days", r->raw_days);
        long der = proj_days(ret, "derived_days", r->derived_days);
        json_decref(ret);
        json_t *have = json_object_get(r->by_creator, cid);
        if (have) {
            raw = raw > json_integer_value(json_array_get(have, 0))
                      ? raw
                      : (long)json_integer_value(json_array_get(have, 0));
            der = der > json_integer_value(json_array_get(have, 1))
                      ? der
                      : (long)json_integer_value(json_array_get(have, 1));
        }
        json_object_set_new(r->by_creator, cid, json_pack("[I, I]", (json_int_t)raw,
                                                          (json_int_t)der));
    }
    om_rows_free(rows);
    return OM_OK;
}

static long days_for(const run *rn, const char *creator_id, int derived)
{
    json_t *v = creator_id ? json_object_get(rn->r.by_creator, creator_id) : NULL;
    if (v)
        return (long)json_integer_value(json_array_get(v, derived ? 1 : 0));
    return derived ? rn->r.derived_days : rn->r.raw_days;
}

static double age_days(const run *rn, const char *ts)
{
    int64_t us = 0;
    if (!ts || om_time_parse(ts, &us) != OM_OK) {
        om_error_clear();
        return 0;
    }
    return (double)(rn->now_us - us) / DAY_US;
}

/* ---- 1. the sweep ----------------------------------------------------------------------- */

/* 1 when a row that is not gone names the file (it belongs to someone again). */
static int live_reference(run *rn, const char *stored)
{
    char *n = NULL;
    int rc = om_store_query_value(
        rn->s,
        "SELECT (SELECT count(*) FROM videos WHERE file_path = ? AND file_gone_at IS NULL) + "
        "(SELECT count(*) FROM artifacts WHERE path = ? AND gone_at IS NULL)",
        OM_PARAMS(OM_TEXT(stored), OM_TEXT(stored)), &n);
    int live = rc != OM_OK || (n && atoll(n) > 0); /* when unsure, keep the file */
    om_error_clear();
    free(n);
    return live;
}

/* The sweep of one row marked gone whose object is (maybe) still in the bucket. */
static void sweep_remote(run *rn, const char *stored, const char *want, const char *table,
                         const char *id)
{
    om_mstat st;
    int exists = 0;
    if (listing_covers(rn, stored)) {
        exists = json_object_get(rn->listed, stored) != NULL;
    } else if (object_stat(rn, stored, &st, &exists) != OM_OK) {
        json_array_append_new(rn->errors, json_pack("{s:s, s:s}", "path", stored, "error",
                                                    om_error_msg()));
        om_error_clear();
        return;
    }
    if (!exists) { /* deleted; a kill may have come before this node's cache copy went */
        if (rn->ms && !rn->dry_run)
            om_mstore_cache_forget(rn->ms, stored);
        return;
    }
    if (live_reference(rn, stored))
        return;
    char sha[OM_SHA256_HEX_LEN] = "";
    const char *from = NULL;
    int rc = listing_covers(rn, stored) ? object_stat(rn, stored, &st, &exists) : OM_OK;
    if (rc == OM_OK && !exists)
        return;
    if (rc == OM_OK)
        rc = object_sha(rn, stored, &st, sha, &from);
    if (rc) {
        json_array_append_new(rn->errors, json_pack("{s:s, s:s}", "path", stored, "error",
                                                    om_error_msg()));
        om_error_clear();
        return;
    }
    json_t *e = json_pack("{s:s, s:s, s:s}", "path", stored, "table", table, "id", id);
    if (!want || strcmp(sha, want) != 0) {
        om_warn(SRC, "%s is marked deleted but holds other content than the deleted object "
                     "(SHA-256 %s, deleted %s): left in place",
                stored, sha, want ? want : "unknown");
        json_object_set_new(e, "left", json_string("content differs from the deleted object"));
    } else if (!rn->dry_run && om_mstore_delete(rn->ms, stored) != OM_OK) {
        json_array_append_new(rn->errors, json_pack("{s:s, s:s}", "path", stored, "error",
                                                    om_error_msg()));
        om_error_clear();
    } else {
        if (!rn->dry_run && rn->listed)
            json_object_del(rn->listed, stored);
        om_info(SRC, "%s: finished the deletion of %s (its packet was written before)",
                rn->dry_run ? "would finish" : "swept", stored);
    }
    json_array_append_new(rn->swept, e);
}

static int sweep(run *rn)
{
    om_rows *r = NULL;
    int rc = om_store_query(rn->s,
                            "SELECT 'videos' AS t, video_id AS id, file_path AS path, "
                            "file_gone_sha256 AS sha FROM videos WHERE file_gone_at IS NOT NULL "
                            "UNION ALL SELECT 'artifacts', artifact_id, path, gone_sha256 FROM "
                            "artifacts WHERE gone_at IS NOT NULL",
                            NULL, 0, &r);
    if (rc)
        return om_error_wrap(rc, "reading the files marked gone");
    json_t *seen = json_object();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *stored = om_rows_getn(r, i, "path"), *want = om_rows_getn(r, i, "sha");
        if (is_remote(stored)) {
            if (!json_object_get(seen, stored)) {
                json_object_set_new(seen, stored, json_true());
                sweep_remote(rn, stored, want, om_rows_getn(r, i, "t"), om_rows_getn(r, i, "id"));
            }
            continue;
        }
        char *abs = resolve(rn, stored);
        if (json_object_get(seen, abs) || !is_regular(abs) || live_reference(rn, stored)) {
            free(abs);
            continue;
        }
        json_object_set_new(seen, abs, json_true());
        char sha[OM_SHA256_HEX_LEN] = "";
        if (om_sha256_file(abs, sha) != OM_OK)
            om_error_clear();
        json_t *e = json_pack("{s:s, s:s, s:s}", "path", stored, "table",
                              om_rows_getn(r, i, "t"), "id", om_rows_getn(r, i, "id"));
        if (!want || strcmp(sha, want) != 0) {
            om_warn(SRC, "%s is marked deleted but holds other content than the deleted file "
                         "(SHA-256 %s, deleted %s): left in place",
                    abs, sha, want ? want : "unknown");
            json_object_set_new(e, "left", json_string("content differs from the deleted file"));
        } else if (!rn->dry_run && unlink(abs) != 0 && errno != ENOENT) {
            json_array_append_new(rn->errors, json_pack("{s:s, s:s}", "path", stored, "error",
                                                        strerror(errno)));
        } else {
            om_info(SRC, "%s: finished the deletion of %s (its packet was written before)",
                    rn->dry_run ? "would finish" : "swept", abs);
        }
        json_array_append_new(rn->swept, e);
        free(abs);
    }
    json_decref(seen);
    om_rows_free(r);
    return OM_OK;
}

/* ---- 2. the plan ------------------------------------------------------------------------ */

static void plan_add(run *rn, const char *cls, const char *table, const char *id,
                     const char *kind, const char *stored, const char *checksum, double age,
                     long days, const char *reason)
{
    char *abs = resolve(rn, stored);
    int64_t size = -1;
    if (is_remote(stored)) { /* from the listing, else one HEAD; -1 when it is not there */
        om_mstat st;
        int exists = 0;
        json_t *l = listing_covers(rn, stored) ? json_object_get(rn->listed, stored) : NULL;
        if (l)
            size = json_integer_value(json_array_get(l, 0));
        else if (!listing_covers(rn, stored) && object_stat(rn, stored, &st, &exists) == OM_OK &&
                 exists)
            size = st.size;
        om_error_clear();
    } else if (om_file_size(abs, &size) != OM_OK) {
        om_error_clear();
        size = -1;
    }
    json_t *e = json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:f, s:s}", "class", cls, "table",
                          table, "id", id, "kind", kind, "path", stored, "checksum", checksum,
                          "age_days", round(age * 100) / 100, "reason", reason);
    json_object_set_new(e, "size_bytes", size >= 0 ? json_integer(size) : json_null());
    if (days > 0)
        json_object_set_new(e, "days", json_integer(days));
    json_array_append_new(rn->del, e);
    free(abs);
}

static int plan_raw(run *rn)
{
    om_rows *r = NULL;
    int rc = om_store_query(
        rn->s,
        "SELECT v.video_id, v.file_path, v.checksum, v.created_at, p.creator_id, "
        "(SELECT c.clip_id FROM clips c WHERE c.video_id = v.video_id AND "
        " c.status = 'PUBLISHED' ORDER BY c.clip_id LIMIT 1) AS published, "
        "(SELECT c.clip_id FROM clips c WHERE c.video_id = v.video_id AND "
        " c.status = 'SELECTED' ORDER BY c.clip_id LIMIT 1) AS awaiting "
        "FROM videos v JOIN posts p ON p.post_id = v.post_id WHERE v.file_gone_at IS NULL "
        "ORDER BY v.created_at, v.video_id",
        NULL, 0, &r);
    if (rc)
        return om_error_wrap(rc, "reading the videos");
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *vid = om_rows_getn(r, i, "video_id"), *path = om_rows_getn(r, i, "file_path");
        long days = days_for(rn, om_rows_getn(r, i, "creator_id"), 0);
        double age = age_days(rn, om_rows_getn(r, i, "created_at"));
        if (age <= days)
            continue;
        const char *pub = om_rows_getn(r, i, "published"), *wait = om_rows_getn(r, i, "awaiting");
        if (pub || wait) {
            char *why = pub ? xasprintf("kept: clip %s of it was published", pub)
                            : xasprintf("kept: clip %s of it is waiting for its edit", wait);
            json_array_append_new(rn->kept, json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "class",
                                                      "raw", "table", "videos", "id", vid,
                                                      "path", path, "age_days",
                                                      round(age * 100) / 100, "reason", why));
            free(why);
            continue;
        }
        char *why = xasprintf("raw download older than %ld days and no clip of it published",
                              days);
        plan_add(rn, "raw", "videos", vid, "source_media", path,
                 om_rows_getn(r, i, "checksum"), age, days, why);
        free(why);
        /* its subtitles go with it */
        om_rows *subs = NULL;
        rc = om_store_query(rn->s,
                            "SELECT artifact_id, path, checksum FROM artifacts WHERE "
                            "entity_type = 'videos' AND entity_id = ? AND kind = 'subtitle' "
                            "AND gone_at IS NULL ORDER BY path",
                            OM_PARAMS(OM_TEXT(vid)), &subs);
        if (rc)
            break;
        for (size_t j = 0; j < om_rows_count(subs); j++) {
            why = xasprintf("subtitles of raw download %s, older than %ld days", vid, days);
            plan_add(rn, "raw", "artifacts", om_rows_get(subs, j, 0), "subtitle",
                     om_rows_get(subs, j, 1), om_rows_get(subs, j, 2), age, days, why);
            free(why);
        }
        om_rows_free(subs);
    }
    om_rows_free(r);
    return rc;
}

static int plan_derived(run *rn)
{
    om_rows *r = NULL;
    int rc = om_store_query(
        rn->s,
        "SELECT a.artifact_id, a.kind, a.path, a.checksum, a.created_at, a.delete_approved_at, "
        "a.delete_approved_by, p.creator_id FROM artifacts a "
        "JOIN clips c ON c.clip_id = a.entity_id JOIN videos v ON v.video_id = c.video_id "
        "JOIN posts p ON p.post_id = v.post_id "
        "WHERE a.entity_type = 'clips' AND a.kind IN ('render', 'subtitle') AND a.gone_at IS NULL "
        "ORDER BY a.created_at, a.artifact_id",
        NULL, 0, &r);
    if (rc)
        return om_error_wrap(rc, "reading the derived assets");
    for (size_t i = 0; i < om_rows_count(r); i++) {
        long days = days_for(rn, om_rows_getn(r, i, "creator_id"), 1);
        double age = age_days(rn, om_rows_getn(r, i, "created_at"));
        const char *appr = om_rows_getn(r, i, "delete_approved_at");
        char *why = NULL;
        if (appr) {
            const char *by = om_rows_getn(r, i, "delete_approved_by");
            why = xasprintf("an operator (%s) approved its deletion at %s", by ? by : "?", appr);
        } else if (age > days) {
            why = xasprintf("derived asset older than %ld days", days);
        } else {
            continue;
        }
        plan_add(rn, "derived", "artifacts", om_rows_getn(r, i, "artifact_id"),
                 om_rows_getn(r, i, "kind"), om_rows_getn(r, i, "path"),
                 om_rows_getn(r, i, "checksum"), age, appr ? 0 : days, why);
        free(why);
    }
    om_rows_free(r);
    return OM_OK;
}

/* Every file a row names (gone or not), canonical: not orphans. */
static int referenced(run *rn, json_t **out)
{
    om_rows *r = NULL;
    int rc = om_store_query(rn->s,
                            "SELECT file_path FROM videos UNION SELECT path FROM artifacts",
                            NULL, 0, &r);
    if (rc)
        return om_error_wrap(rc, "reading the file names in the rows");
    json_t *set = json_object();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        if (!om_rows_get(r, i, 0))
            continue;
        const char *stored = om_rows_get(r, i, 0);
        char *abs = resolve(rn, stored), *c = is_remote(stored) ? xstrdup(stored) : canonical(abs);
        json_object_set_new(set, c, json_true());
        free(c);
        free(abs);
    }
    om_rows_free(r);
    *out = set;
    return OM_OK;
}

static void walk_orphans(run *rn, const char *root, const char *rel, json_t *refs)
{
    char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            json_array_append_new(rn->errors, json_pack("{s:s, s:s}", "path", dir, "error",
                                                        strerror(errno)));
        free(dir);
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        char *abs = xasprintf("%s/%s", root, r);
        struct stat st;
        if (lstat(abs, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (!rn->cache_real || strcmp(abs, rn->cache_real) != 0) /* a cache under media/ */
                walk_orphans(rn, root, r, refs);
        } else if (lstat(abs, &st) == 0 && S_ISREG(st.st_mode) && !json_object_get(refs, abs)) {
            /* by mtime: what is about to get its row (a download, a render renamed into
             * place before its transaction commits) was written minutes ago */
            double hours = (double)(rn->now_us / 1000000 - (int64_t)st.st_mtime) / 3600.0;
            if (hours > rn->r.grace_hours) {
                char *stored = om_path_to_home_rel(rn->home, abs);
                char *why = xasprintf("orphan: no row names this file and it is older than %ld "
                                      "hours",
                                      rn->r.grace_hours);
                plan_add(rn, "orphan", NULL, NULL, NULL, stored, NULL, hours / 24.0, 0, why);
                free(why);
                free(stored);
            }
        } /* symlinks and others: not ours */
        free(abs);
        free(r);
    }
    closedir(d);
    free(dir);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Objects of the listing that no row names, older than the grace by LastModified (an upload
 * is made before the transaction that names it commits: see stages/scrape.c upload_first). */
static void orphan_objects(run *rn, json_t *refs)
{
    size_t n = json_object_size(rn->listed), k = 0;
    const char **rows = xcalloc(n ? n : 1, sizeof(char *));
    const char *row;
    json_t *v;
    json_object_foreach(rn->listed, row, v)
        if (!json_object_get(refs, row))
            rows[k++] = row;
    qsort(rows, k, sizeof(char *), by_str);
    for (size_t i = 0; i < k; i++) {
        json_t *l = json_object_get(rn->listed, rows[i]);
        int64_t mt = json_integer_value(json_array_get(l, 1));
        double hours = mt > 0 ? (double)(rn->now_us - mt) / 3.6e9 : 0;
        if (hours <= rn->r.grace_hours)
            continue;
        char *why = xasprintf("orphan: no row names this object and it is older than %ld hours",
                              rn->r.grace_hours);
        plan_add(rn, "orphan", NULL, NULL, NULL, rows[i], NULL, hours / 24.0, 0, why);
        free(why);
    }
    free(rows);
}

static int plan_orphans(run *rn)
{
    const char *media = om_config_media_dir(rn->cfg);
    char *root = media && *media ? realpath(media, NULL) : NULL;
    if (!root && !rn->listed)
        return OM_OK; /* no media folder and no bucket: no files */
    json_t *refs = NULL;
    int rc = referenced(rn, &refs);
    const char *cache = om_config_str(rn->cfg, "media.cache_dir");
    rn->cache_real = cache && *cache ? realpath(cache, NULL) : NULL;
    if (rc == OM_OK && root)
        walk_orphans(rn, root, "", refs);
    if (rc == OM_OK && rn->listed)
        orphan_objects(rn, refs);
    json_decref(refs);
    free(root);
    return rc;
}

/* ---- 3. deletions ----------------------------------------------------------------------- */

static int log_row(om_store *s, const char *level, const char *message, json_t *meta)
{
    char id[OM_UUID_LEN];
    char *m = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | OM_JSON_REAL);
    int rc = om_store_exec(s,
                           "INSERT INTO logs (log_id, source, level, message, metadata, "
                           "created_at) VALUES (?, ?, ?, ?, ?, now())",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(SRC), OM_TEXT(level),
                                     OM_TEXT(message), OM_JSON(m)),
                           NULL);
    free(m);
    return rc;
}

/* Marks the row(s) of e gone. *skip_out when the row changed meanwhile (nothing marked). */
static int mark_gone(run *rn, json_t *e, const char *sha, const char *reason, char **entity_type,
                     char **entity_id, int *skip_out)
{
    om_store *s = rn->s;
    const char *cls = json_string_value(json_object_get(e, "class"));
    const char *table = json_string_value(json_object_get(e, "table"));
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *path = json_string_value(json_object_get(e, "path"));
    int64_t n = 0;
    int rc;
    *skip_out = 0;
    if (!strcmp(cls, "orphan")) {
        /* still nobody's? (a row may have appeared since the plan) */
        char *abs = resolve(rn, path), *cnt = NULL;
        rc = om_store_query_value(s,
                                  "SELECT (SELECT count(*) FROM videos WHERE file_path IN (?, ?)) "
                                  "+ (SELECT count(*) FROM artifacts WHERE path IN (?, ?))",
                                  OM_PARAMS(OM_TEXT(path), OM_TEXT(abs), OM_TEXT(path),
                                            OM_TEXT(abs)),
                                  &cnt);
        free(abs);
        if (rc == OM_OK && cnt && atoll(cnt) > 0)
            *skip_out = 1;
        free(cnt);
        if (rc || *skip_out)
            return rc;
        char aid[OM_UUID_LEN];
        om_uuid4(aid);
        json_t *sz = json_object_get(e, "size_bytes");
        rc = om_store_exec(s,
                           "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                           "path, checksum, size_bytes, metadata, created_at, gone_at, "
                           "gone_reason, gone_sha256) VALUES (?, 'orphan', NULL, NULL, ?, ?, ?, "
                           "'{\"found_by\":\"retention\"}', now(), now(), ?, ?)",
                           OM_PARAMS(OM_TEXT(aid), OM_TEXT(path), sha ? OM_TEXT(sha) : OM_NULL,
                                     json_is_integer(sz) ? OM_INT(json_integer_value(sz))
                                                         : OM_NULL,
                                     OM_TEXT(reason), sha ? OM_TEXT(sha) : OM_NULL),
                           NULL);
        *entity_type = xstrdup("artifacts");
        *entity_id = xstrdup(aid);
        json_object_set_new(e, "table", json_string("artifacts"));
        json_object_set_new(e, "id", json_string(aid));
        return rc;
    }
    if (!strcmp(table, "videos")) {
        rc = om_store_exec(s,
                           "UPDATE videos SET file_gone_at = now(), file_gone_reason = ?, "
                           "file_gone_sha256 = ? WHERE video_id = ? AND file_gone_at IS NULL "
                           "AND NOT EXISTS (SELECT 1 FROM clips c WHERE c.video_id = ? AND "
                           "c.status IN ('PUBLISHED', 'SELECTED'))",
                           OM_PARAMS(OM_TEXT(reason), sha ? OM_TEXT(sha) : OM_NULL, OM_TEXT(id),
                                     OM_TEXT(id)),
                           &n);
        if (rc == OM_OK && n == 1)
            rc = om_store_exec(s,
                               "UPDATE artifacts SET gone_at = now(), gone_reason = ?, "
                               "gone_sha256 = ? WHERE entity_id = ? AND kind = 'source_media' "
                               "AND path = ? AND gone_at IS NULL",
                               OM_PARAMS(OM_TEXT(reason), sha ? OM_TEXT(sha) : OM_NULL,
                                         OM_TEXT(id), OM_TEXT(path)),
                               NULL);
    } else {
        rc = om_store_exec(s,
                           "UPDATE artifacts SET gone_at = now(), gone_reason = ?, gone_sha256 "
                           "= ? WHERE artifact_id = ? AND gone_at IS NULL",
                           OM_PARAMS(OM_TEXT(reason), sha ? OM_TEXT(sha) : OM_NULL, OM_TEXT(id)),
                           &n);
    }
    if (rc == OM_OK && n != 1)
        *skip_out = 1;
    *entity_type = xstrdup(table);
    *entity_id = xstrdup(id);
    return rc;
}

static int delete_one(run *rn, json_t *e)
{
    om_store *s = rn->s;
    const char *path = json_string_value(json_object_get(e, "path"));
    const char *reason = json_string_value(json_object_get(e, "reason"));
    const char *recorded = json_string_value(json_object_get(e, "checksum"));
    char *abs = resolve(rn, path);
    int remote = is_remote(path);
    int exists = 0;
    char sha[OM_SHA256_HEX_LEN] = "";
    const char *sha_from = "the file's bytes";
    int rc = OM_OK;
    if (remote) { /* one HEAD: there? its size and recorded SHA-256 (else its bytes hashed) */
        om_mstat st;
        rc = object_stat(rn, path, &st, &exists);
        if (rc == OM_OK && exists) {
            json_object_set_new(e, "size_bytes", json_integer(st.size));
            rc = object_sha(rn, path, &st, sha, &sha_from);
        }
    } else {
        exists = is_regular(abs);
        if (exists)
            rc = om_sha256_file(abs, sha);
    }
    if (rc) {
        free(abs);
        return rc;
    }
    char *etype = NULL, *eid = NULL, packet[OM_UUID_LEN] = "";
    int skip = 0;
    rc = om_store_begin(s);
    if (rc == OM_OK)
        rc = om_store_lock(s, "omniva.retention");
    if (rc == OM_OK)
        rc = mark_gone(rn, e, exists ? sha : NULL, reason, &etype, &eid, &skip);
    if (rc == OM_OK && !skip) {
        json_t *what = json_pack("{s:s, s:s, s:s, s:s?}", "path", path, "table", etype, "id",
                                 eid, "kind", json_string_value(json_object_get(e, "kind")));
        json_t *lineage = json_pack("{s:o, s:s, s:s, s:s?, s:O}", "what", what, "why", reason,
                                    "class", json_string_value(json_object_get(e, "class")),
                                    "checksum", exists ? sha : NULL, "size_bytes",
                                    json_object_get(e, "size_bytes"));
        if (recorded)
            json_object_set_new(lineage, "recorded_checksum", json_string(recorded));
        if (!exists)
            json_object_set_new(lineage, "file_missing", json_true());
        else
            json_object_set_new(lineage, "checksum_of", json_string(sha_from));
        if (remote)
            json_object_set_new(lineage, "store", json_string("s3"));
        if (json_object_get(e, "days"))
            json_object_set(lineage, "days", json_object_get(e, "days"));
        json_t *chain = json_pack("[{s:s, s:s}]", "decision", "delete_file", "reason", reason);
        rc = om_stardust_append(s, etype, eid, lineage, chain, packet);
        json_decref(chain);
        if (rc == OM_OK) {
            char *msg = xasprintf("deleted %s: %s", path, reason);
            json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s}", "entity_type", etype,
                                     "entity_id", eid, "stardust_id", packet, "path", path,
                                     "checksum", exists ? sha : NULL, "class",
                                     json_string_value(json_object_get(e, "class")));
            rc = log_row(s, "INFO", msg, meta);
            json_decref(meta);
            free(msg);
        }
        json_decref(lineage);
    }
    if (rc == OM_OK && !skip)
        rc = om_store_commit(s);
    else
        om_store_rollback(s);
    free(etype);
    free(eid);
    if (rc) {
        free(abs);
        return om_error_wrap(rc, "recording the deletion of %s", path);
    }
    if (skip) {
        json_object_set_new(e, "skipped", json_string("the row changed since the plan"));
        free(abs);
        return OM_OK;
    }
    json_object_set_new(e, "stardust_id", json_string(packet));
    if (exists)
        json_object_set_new(e, "checksum", json_string(sha));
    /* after the commit: a kill here leaves a marked row the next run's sweep finishes */
    if (remote && exists) {
        om_mstore *ms = NULL;
        rc = store_of(rn, &ms);
        if (rc == OM_OK)
            rc = om_mstore_delete(ms, path); /* and this node's cache copy */
        if (rc) {
            char *msg = xstrdup(om_error_msg());
            rc = om_error_set(OM_EIO, "deleting %s (marked gone; the next run retries): %s",
                              path, msg);
            free(msg);
        } else if (rn->listed) {
            json_object_del(rn->listed, path);
        }
    } else if (remote && rn->ms) {
        om_mstore_cache_forget(rn->ms, path); /* the object was gone already */
    } else if (exists && unlink(abs) != 0 && errno != ENOENT) {
        rc = om_error_set(OM_EIO, "unlink %s: %s", abs, strerror(errno));
    }
    if (rc == OM_OK)
        om_info(SRC, "deleted %s (%s), packet %s", abs, reason, packet);
    free(abs);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------------- */

int om_retention_run(om_store *s, const om_config *cfg, const om_retention_opts *o,
                     json_t **report_out)
{
    OM_ASSERT(s && cfg && o);
    if (report_out)
        *report_out = NULL;
    run rn = {.s = s, .cfg = cfg, .home = om_config_home(cfg), .dry_run = o->dry_run,
              .now_us = o->now_us ? o->now_us : om_now_us()};
    rn.del = json_array();
    rn.kept = json_array();
    rn.errors = json_array();
    rn.swept = json_array();
    int rc = load_rules(&rn);
    if (rc == OM_OK)
        rc = list_store(&rn);
    if (rc == OM_OK)
        rc = sweep(&rn);
    if (rc == OM_OK)
        rc = plan_raw(&rn);
    if (rc == OM_OK)
        rc = plan_derived(&rn);
    if (rc == OM_OK)
        rc = plan_orphans(&rn);
    int64_t deleted = 0, bytes = 0;
    size_t i;
    json_t *e;
    if (rc == OM_OK && !rn.dry_run) {
        json_array_foreach(rn.del, i, e) {
            int drc = delete_one(&rn, e);
            if (drc == OM_EIO) { /* this file stays; the others go on */
                json_array_append_new(rn.errors, json_pack("{s:O, s:s}", "path",
                                                           json_object_get(e, "path"), "error",
                                                           om_error_msg()));
                om_error_clear();
                continue;
            }
            if (drc) {
                rc = drc;
                break;
            }
            if (json_object_get(e, "skipped"))
                continue;
            deleted++;
            bytes += json_is_integer(json_object_get(e, "size_bytes"))
                         ? json_integer_value(json_object_get(e, "size_bytes"))
                         : 0;
        }
    } else if (rc == OM_OK) {
        json_array_foreach(rn.del, i, e)
            bytes += json_is_integer(json_object_get(e, "size_bytes"))
                         ? json_integer_value(json_object_get(e, "size_bytes"))
                         : 0;
    }
    json_t *rep = json_pack("{s:b, s:o, s:o, s:o, s:o, s:I, s:I, s:{s:I, s:I, s:I}}", "dry_run",
                            rn.dry_run, "swept", rn.swept, "delete", rn.del, "kept", rn.kept,
                            "errors", rn.errors, "deleted", (json_int_t)deleted, "bytes",
                            (json_int_t)bytes, "rules", "raw_days", (json_int_t)rn.r.raw_days,
                            "derived_days", (json_int_t)rn.r.derived_days, "orphan_grace_hours",
                            (json_int_t)rn.r.grace_hours);
    json_decref(rn.r.by_creator);
    json_decref(rn.listed);
    om_mstore_free(rn.ms);
    free(rn.ms_err);
    free(rn.cache_real);
    if (rc == OM_OK && json_array_size(json_object_get(rep, "errors")))
        rc = om_error_set(OM_EIO, "%zu files could not be deleted (see the report)",
                          json_array_size(json_object_get(rep, "errors")));
    if (report_out)
        *report_out = rep;
    else
        json_decref(rep);
    return rc;
}

/* ---- operators ---------------------------------------------------------------------------- */

int om_retention_approve(om_store *s, const char *id, const char *by, int *count_out)
{
    OM_ASSERT(s && id && by);
    *count_out = 0;
    if (!om_uuid_valid(id))
        return om_error_set(OM_EINVAL, "'%s' is not an artifact or clip id (a UUID)", id);
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT artifact_id, kind, entity_type, path FROM artifacts WHERE "
                            "(artifact_id = ? OR (entity_id = ? AND entity_type = 'clips' AND "
                            "kind IN ('render', 'subtitle'))) AND gone_at IS NULL "
                            "ORDER BY artifact_id",
                            OM_PARAMS(OM_TEXT(id), OM_TEXT(id)), &r);
    if (rc)
        return rc;
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "no render or caption file with id %s (an artifact "
                                          "id or a clip id; files already gone do not count)",
                            id);
    }
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *kind = om_rows_get(r, i, 1), *et = om_rows_get(r, i, 2);
        if (!et || strcmp(et, "clips") || (strcmp(kind, "render") && strcmp(kind, "subtitle"))) {
            rc = om_error_set(OM_EINVAL, "artifact %s is a %s of %s, not a derived asset (a "
                                         "clip's render or caption file)",
                              om_rows_get(r, i, 0), kind, et ? et : "nothing");
            om_rows_free(r);
            return rc;
        }
    }
    rc = om_store_begin(s);
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(r); i++) {
        const char *aid = om_rows_get(r, i, 0);
        int64_t n = 0;
        rc = om_store_exec(s,
                           "UPDATE artifacts SET delete_approved_at = now(), delete_approved_by "
                           "= ? WHERE artifact_id = ? AND delete_approved_at IS NULL",
                           OM_PARAMS(OM_TEXT(by), OM_TEXT(aid)), &n);
        if (rc || n == 0)
            continue;
        char packet[OM_UUID_LEN];
        json_t *lineage = json_pack("{s:s, s:s, s:s}", "approved_by", by, "path",
                                    om_rows_get(r, i, 3), "kind", om_rows_get(r, i, 1));
        json_t *chain = json_pack("[{s:s, s:s}]", "decision", "approve_deletion", "reason",
                                  "an operator approved deleting this derived asset before its "
                                  "retention time");
        rc = om_stardust_append(s, "artifacts", aid, lineage, chain, packet);
        json_decref(lineage);
        json_decref(chain);
        (*count_out)++;
    }
    if (rc == OM_OK)
        rc = om_store_commit(s);
    else
        om_store_rollback(s);
    om_rows_free(r);
    return rc;
}

int om_retention_set_project(om_store *s, const char *project, long raw_days, long derived_days)
{
    OM_ASSERT(s && project);
    char *pid = NULL;
    int rc = om_store_query_value(s,
                                  om_uuid_valid(project)
                                      ? "SELECT project_id FROM projects WHERE project_id = ?"
                                      : "SELECT project_id FROM projects WHERE name = ?",
                                  OM_PARAMS(OM_TEXT(project)), &pid);
    if (rc == OM_ENOTFOUND)
        return om_error_set(OM_ENOTFOUND, "project %s not found", project);
    if (rc)
        return rc;
    json_t *ret = json_object();
    if (raw_days > 0)
        json_object_set_new(ret, "raw_days", json_integer(raw_days));
    if (derived_days > 0)
        json_object_set_new(ret, "derived_days", json_integer(derived_days));
    char *text = json_object_size(ret) ? json_dumps(ret, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    rc = om_store_begin(s);
    if (rc == OM_OK)
        rc = om_store_exec(s, "UPDATE projects SET retention = ? WHERE project_id = ?",
                           OM_PARAMS(text ? OM_JSON(text) : OM_NULL, OM_TEXT(pid)), NULL);
    if (rc == OM_OK) {
        char packet[OM_UUID_LEN];
        json_t *lineage = json_pack("{s:O}", "retention", ret);
        json_t *chain = json_pack("[{s:s, s:s}]", "decision", "retention_rules", "reason",
                                  text ? "the project's own retention days"
                                       : "the project follows the [retention] settings again");
        rc = om_stardust_append(s, "projects", pid, lineage, chain, packet);
        json_decref(lineage);
        json_decref(chain);
    }
    if (rc == OM_OK)
        rc = om_store_commit(s);
    else
        om_store_rollback(s);
    json_decref(ret);
    free(text);
    free(pid);
    return rc;
}
