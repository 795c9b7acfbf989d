/*
 * edit.c: the editor stage (job type "edit", payload {clip_id}, states
 * INIT -> CUT -> REFINE -> RENDER -> DONE, log source "editor_worker").
 *
 *   INIT    load the clip with its video (file_path, checksum), the analysis
 *           (clips.analysis_id, else clips.metadata.analysis_id, else the video's latest) and
 *           the project's brand (payload project_id, else the project following the video's
 *           creator; defaults when none). A clip already rendered (edit_jobs DONE and the
 *           file at <media_dir>/renders/<clip_id>.mp4 still has the recorded SHA-256) is a
 *           re-delivery: nothing is written again.
 *   CUT     exact start/end: widened so no word is cut in half, the end padded 0.15 s (never
 *           into the next word), clamped to the source.
 *   REFINE  reframe track (brand.reframe, default content: om_media_motion_track from
 *           media/croptrack.h at 2 samples/s; samples below 0.2 confidence hold the previous
 *           position; falls back to a centre crop, with the reason recorded, when the track
 *           fails or finds nothing; a source already 9:16 or narrower is centre-cropped;
 *           brand reframe auto/speaker/split: faces first, stages/editframe.h),
 *           ASS captions (media/captions.h: brand style, confidence gate; the dropped lines
 *           go into the plan), logo, loudness (brand target; the clip's measured loudness
 *           from the analysis' short-term values when present: linear gain + limiter, else
 *           single-pass loudnorm), intro/outro from the brand (a brand file
 *           that has gone missing is skipped with a warning, not fatal). The plan's inputs
 *           are probed (om_render_resolve_plan).
 *   RENDER  compile (one ffmpeg command), upsert edit_jobs (UNIQUE clip_id: operations,
 *           ffmpeg_commands = [the command], gpu_required, estimated_duration_seconds = the
 *           output duration the plan promises, status RUNNING), render to
 *           renders/<clip_id>.mp4.partial.<pid> (stale partials of earlier attempts are
 *           removed first), verify (duration, 1080x1920, H.264 + AAC,
 *           SHA-256), rename into place; then in ONE transaction: edit_jobs DONE (operations
 *           gain meta.stardust_id), artifacts (render; subtitle for the .ass; thumbnail:
 *           one JPEG frame at the hook, renders/<clip_id>.jpg, for the dashboard), clips.status
 *           RENDERED (a clip already SCHEDULED/PUBLISHED keeps its status), the ledger packet
 *           (evidence: source checksum, output checksum, plan hash, ffmpeg command, encoder)
 *           and the follow-up "schedule" {clip_id} with unique key "schedule:<clip_id>".
 *           A failed render sets edit_jobs.status FAILED (unless the job was cancelled: a job
 *           that lost its lease writes nothing).
 *
 * Config: [editor] gpu = 0|1 (gpu_required in the plan), preset (x264, default veryfast),
 * crf (default 20), render_timeout_s (default 1500).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/captions.h"
#include "media/croptrack.h"
#include "media/editplan.h"
#include "media/mstore.h"
#include "media/render.h"
#include "runtime/runtime.h"
#include "stages/editcuts.h"
#include "stages/editframe.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>

#define SRC "editor_worker"
#define WORD_PAD_END 0.15
#define WORD_PAD_START 0.05
#define TRACK_FPS 2.0
#define TRACK_MIN_CONF 0.2

typedef struct edit {
    om_job_ctx *ctx;
    const char *clip_id;
    char video_id[OM_UUID_LEN];
    char analysis_id[OM_UUID_LEN];
    char project_id[OM_UUID_LEN];
    double clip_start, clip_end;
    char *clip_status;
    char *source, *source_sha;
    json_t *raw;   /* analysis.raw_ai_output (NULL when there is no analysis) */
    json_t *brand; /* projects.brand, or {} */
    char *media_dir, *renders, *out_path, *partial, *ass_path;
    char *out_row, *ass_row; /* out_path/ass_path as rows store them (relative to the home) */
    om_mstore *ms;           /* the media store ([media] store); s3: renders are uploaded */
    om_render_info src_info;
    double start, end; /* the cut */
    json_t *chain;     /* decision chain */
    json_t *plan;
    json_t *captions_report;
    char reframe_used[16];
} edit;

static void edit_release(edit *e)
{
    free(e->clip_status);
    free(e->source);
    free(e->source_sha);
    json_decref(e->raw);
    json_decref(e->brand);
    free(e->media_dir);
    free(e->renders);
    free(e->out_path);
    free(e->partial);
    free(e->ass_path);
    free(e->out_row);
    free(e->ass_row);
    om_mstore_free(e->ms);
    json_decref(e->chain);
    json_decref(e->plan);
    json_decref(e->captions_report);
}

static void decide(edit *e, const char *step, const char *decision, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void decide(edit *e, const char *step, const char *decision, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *why = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(
        e->chain, json_pack("{s:s, s:s, s:s}", "step", step, "decision", decision, "reason", why));
    free(why);
}

static double jnum(const json_t *o, const char *k, double def)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

/* ---------- INIT ---------- */

static int load_clip(edit *e)
{
    om_rows *r = NULL;
    int rc = om_store_query(e->ctx->store,
                            "SELECT c.video_id, c.start_time, c.end_time, c.status, "
                            "c.analysis_id, c.metadata, v.file_path, v.checksum "
                            "FROM clips c JOIN videos v ON v.video_id = c.video_id "
                            "WHERE c.clip_id = ?",
                            OM_PARAMS(OM_TEXT(e->clip_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading clip %s", e->clip_id);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_EINVAL, "clip %s does not exist", e->clip_id);
    }
    snprintf(e->video_id, sizeof(e->video_id), "%s", om_rows_getn(r, 0, "video_id"));
    e->clip_start = om_rows_real(r, 0, "start_time", 0);
    e->clip_end = om_rows_real(r, 0, "end_time", 0);
    e->clip_status = xstrdup(om_rows_getn(r, 0, "status"));
    e->source_sha = xstrdup(om_rows_getn(r, 0, "checksum"));
    e->source = xstrdup(om_rows_getn(r, 0, "file_path")); /* the row; made local in INIT */
    rc = om_mstore_open(&e->ms, e->ctx->cfg);
    if (rc) {
        om_rows_free(r);
        return om_error_wrap(rc, "clip %s", e->clip_id);
    }
    const char *aid = om_rows_getn(r, 0, "analysis_id");
    if (!aid) {
        json_t *meta = json_loads(
            om_rows_getn(r, 0, "metadata") ? om_rows_getn(r, 0, "metadata") : "null", 0, NULL);
        const char *m = json_string_value(json_object_get(meta, "analysis_id"));
        if (m && om_uuid_valid(m))
            snprintf(e->analysis_id, sizeof(e->analysis_id), "%s", m);
        json_decref(meta);
    } else {
        snprintf(e->analysis_id, sizeof(e->analysis_id), "%s", aid);
    }
    om_rows_free(r);
    if (e->clip_status && strcmp(e->clip_status, "REJECTED") == 0)
        return om_error_set(OM_EPERMANENT, "clip %s was rejected by selection; not editing it",
                            e->clip_id);
    return OM_OK;
}

static int load_analysis(edit *e)
{
    om_rows *r = NULL;
    int rc;
    if (e->analysis_id[0])
        rc = om_store_query(e->ctx->store,
                            "SELECT analysis_id, raw_ai_output FROM analysis WHERE analysis_id = ?",
                            OM_PARAMS(OM_TEXT(e->analysis_id)), &r);
    else
        rc = om_store_query(e->ctx->store,
                            "SELECT analysis_id, raw_ai_output FROM analysis WHERE video_id = ? "
                            "ORDER BY created_at DESC LIMIT 1",
                            OM_PARAMS(OM_TEXT(e->video_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the analysis of clip %s", e->clip_id);
    if (om_rows_count(r) > 0) {
        snprintf(e->analysis_id, sizeof(e->analysis_id), "%s", om_rows_getn(r, 0, "analysis_id"));
        const char *raw = om_rows_getn(r, 0, "raw_ai_output");
        e->raw = raw ? json_loads(raw, 0, NULL) : NULL;
    } else {
        e->analysis_id[0] = '\0';
    }
    om_rows_free(r);
    return OM_OK;
}

static int load_brand(edit *e)
{
    const char *pid = e->ctx->project_id && *e->ctx->project_id ? e->ctx->project_id : NULL;
    int rc;
    if (!pid) { /* the project that follows the video's creator */
        char *found = NULL;
        rc = om_store_query_value(e->ctx->store,
                                  "SELECT pc.project_id FROM videos v "
                                  "JOIN posts p ON p.post_id = v.post_id "
                                  "JOIN project_creators pc ON pc.creator_id = p.creator_id "
                                  "WHERE v.video_id = ? ORDER BY pc.added_at, pc.project_id "
                                  "LIMIT 1",
                                  OM_PARAMS(OM_TEXT(e->video_id)), &found);
        if (rc == OM_ENOTFOUND) {
            om_error_clear();
            e->brand = json_object();
            return OM_OK;
        }
        if (rc)
            return om_error_wrap(rc, "finding the project of clip %s", e->clip_id);
        snprintf(e->project_id, sizeof(e->project_id), "%s", found ? found : "");
        free(found);
    } else {
        snprintf(e->project_id, sizeof(e->project_id), "%s", pid);
    }
    char *brand = NULL;
    rc = om_store_query_value(e->ctx->store, "SELECT brand FROM projects WHERE project_id = ?",
                              OM_PARAMS(OM_TEXT(e->project_id)), &brand);
    if (rc == OM_ENOTFOUND) {
        free(brand);
        return om_error_set(OM_EINVAL, "project %s does not exist", e->project_id);
    }
    if (rc)
        return om_error_wrap(rc, "loading the brand of project %s", e->project_id);
    e->brand = brand ? json_loads(brand, 0, NULL) : NULL;
    free(brand);
    if (!json_is_object(e->brand)) {
        json_decref(e->brand);
        e->brand = json_object();
    }
    /* brand asset paths are stored relative to the workspace home */
    static const char *const assets[] = {"logo", "intro", "outro"};
    for (size_t k = 0; k < sizeof(assets) / sizeof(assets[0]); k++) {
        const char *v = json_string_value(json_object_get(e->brand, assets[k]));
        if (v && *v) {
            char *abs = om_config_path_from_row(e->ctx->cfg, v);
            json_object_set_new(e->brand, assets[k], json_string(abs));
            free(abs);
        }
    }
    return OM_OK;
}

static int prepare_paths(edit *e)
{
    const char *dir = e->ctx->cfg ? om_config_media_dir(e->ctx->cfg) : NULL;
    if (!dir)
        return om_error_set(OM_EINVAL, "no media directory configured ([media] dir)");
    char *renders = xasprintf("%s/renders", dir);
    int rc = om_mkdirs(renders, 0755);
    free(renders);
    if (rc)
        return om_error_wrap(rc, "media directory");
    char *abs = realpath(dir, NULL);
    if (!abs)
        return om_error_set(OM_EIO, "media directory %s: %s", dir, strerror(errno));
    e->media_dir = abs;
    e->renders = xasprintf("%s/renders", abs);
    e->out_path = xasprintf("%s/%s.mp4", e->renders, e->clip_id);
    /* per process: a render orphaned by a hard kill (ffmpeg runs in its own process group)
     * must not write into the file a retry is writing */
    e->partial = xasprintf("%s.partial.%ld", e->out_path, (long)getpid());
    e->ass_path = xasprintf("%s/%s.ass", e->renders, e->clip_id);
    if (om_mstore_is_remote(e->ms)) { /* renders/<clip_id>.mp4 in the bucket */
        char *k = xasprintf("renders/%s.mp4", e->clip_id);
        e->out_row = om_mstore_row_for(e->ms, k);
        free(k);
        k = xasprintf("renders/%s.ass", e->clip_id);
        e->ass_row = om_mstore_row_for(e->ms, k);
        free(k);
        return OM_OK;
    }
    e->out_row = om_config_path_to_row(e->ctx->cfg, e->out_path);
    e->ass_row = om_config_path_to_row(e->ctx->cfg, e->ass_path);
    return OM_OK;
}

/* 1 when this clip was rendered before and the file still has the recorded checksum. */
static int already_rendered(edit *e, char sha_out[OM_SHA256_HEX_LEN])
{
    om_rows *r = NULL;
    int rc = om_store_query(e->ctx->store,
                            "SELECT e.status, a.checksum FROM edit_jobs e "
                            "JOIN artifacts a ON a.kind = 'render' AND a.entity_id = e.clip_id "
                            "AND a.path IN (?, ?) WHERE e.clip_id = ?",
                            OM_PARAMS(OM_TEXT(e->out_row), OM_TEXT(e->out_path),
                                      OM_TEXT(e->clip_id)),
                            &r);
    if (rc) {
        om_error_clear();
        return 0;
    }
    int done = om_rows_count(r) > 0 && om_rows_getn(r, 0, "status") &&
               strcmp(om_rows_getn(r, 0, "status"), "DONE") == 0 && om_rows_getn(r, 0, "checksum");
    char have[OM_SHA256_HEX_LEN];
    om_mstat st;
    if (done && om_mstore_is_remote(e->ms) && om_mstore_stat(e->ms, e->out_row, &st) == OM_OK &&
        strcmp(st.sha256, om_rows_getn(r, 0, "checksum")) == 0) { /* the bucket's record */
        memcpy(sha_out, st.sha256, OM_SHA256_HEX_LEN);
        om_rows_free(r);
        return 1;
    }
    if (done && om_file_exists(e->out_path) && om_sha256_file(e->out_path, have) == OM_OK &&
        strcmp(have, om_rows_getn(r, 0, "checksum")) == 0) {
        memcpy(sha_out, have, OM_SHA256_HEX_LEN);
        om_rows_free(r);
        return 1;
    }
    om_error_clear();
    om_rows_free(r);
    return 0;
}

/* ---------- CUT ---------- */

static int cut(edit *e)
{
    double start = e->clip_start, end = e->clip_end;
    double dur = e->src_info.duration > 0 ? e->src_info.duration : end;
    json_t *words = e->raw ? json_object_get(e->raw, "words") : NULL;
    double prev_end = 0, next_start = INFINITY;
    int widened_start = 0, widened_end = 0;
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        double ws = jnum(w, "start", NAN), we = jnum(w, "end", NAN);
        if (!isfinite(ws) || !isfinite(we))
            continue;
        if (ws < e->clip_start && e->clip_start < we) {
            start = fmin(start, ws);
            widened_start = 1;
        }
        if (ws < e->clip_end && e->clip_end < we) {
            end = fmax(end, we);
            widened_end = 1;
        }
    }
    json_array_foreach(words, i, w)
    {
        double ws = jnum(w, "start", NAN), we = jnum(w, "end", NAN);
        if (!isfinite(ws) || !isfinite(we))
            continue;
        if (we <= start + 1e-9)
            prev_end = fmax(prev_end, we);
        if (ws >= end - 1e-9)
            next_start = fmin(next_start, ws);
    }
    start = fmax(fmax(0, prev_end), start - WORD_PAD_START);
    end = fmin(fmin(end + WORD_PAD_END, fmax(next_start, end)), dur);
    if (end - start < 0.5)
        return om_error_set(OM_EINVAL, "clip %s: %.3f-%.3f leaves %.2f s of a %.2f s source",
                            e->clip_id, e->clip_start, e->clip_end, end - start, dur);
    e->start = round(start * 1000) / 1000;
    e->end = round(end * 1000) / 1000;
    decide(e, "cut", "trim", "clip %.3f-%.3f -> %.3f-%.3f s of the source (%s%s%s)", e->clip_start,
           e->clip_end, e->start, e->end, widened_start ? "start moved to a word start; " : "",
           widened_end ? "end moved to a word end; " : "",
           "padded without entering neighbouring words");
    return OM_OK;
}

/* ---------- REFINE ---------- */

static json_t *content_track(edit *e, double *mean_conf)
{
    om_motion_track tr = {0};
    int rc = om_media_motion_track(e->source, e->start, e->end, TRACK_FPS, 0, &tr);
    if (rc) {
        decide(e, "reframe", "center", "motion track failed (%s): centre crop instead",
               om_error_msg());
        om_warn(SRC, "clip %s: motion track failed: %s; centre crop", e->clip_id, om_error_msg());
        om_error_clear();
        om_motion_track_release(&tr);
        return NULL;
    }
    json_t *track = json_array();
    double prev = 0.5, sum = 0;
    size_t confident = 0;
    for (size_t i = 0; i < tr.n; i++) {
        const om_motion_sample *s = &tr.samples[i];
        double x = prev;
        if (s->confidence >= TRACK_MIN_CONF && isfinite(s->x)) {
            x = fmin(1, fmax(0, s->x));
            confident++;
        }
        sum += s->confidence;
        prev = x;
        json_array_append_new(
            track, json_pack("[f,f]", round(s->t * 1000) / 1000, round(x * 10000) / 10000));
    }
    *mean_conf = tr.n ? sum / (double)tr.n : 0;
    om_motion_track_release(&tr);
    if (confident == 0) {
        json_decref(track);
        decide(e, "reframe", "center",
               "no distinctive centre of interest in the clip (mean confidence %.2f): centre crop",
               *mean_conf);
        return NULL;
    }
    return track;
}

/* The clip's integrated loudness from the analysis' per-second short-term loudness
 * (raw_ai_output.signals.loudness.short_term[i]: the 3 s window centred on second i + 0.5),
 * gated like BS.1770 (absolute -70 LUFS, relative -10 LU). 0 when it cannot be known. */
static int clip_loudness(const json_t *raw, double start, double end, double *out)
{
    json_t *stv =
        json_object_get(json_object_get(json_object_get(raw, "signals"), "loudness"), "short_term");
    if (!json_is_array(stv))
        return 0;
    double pw[2] = {0, 0};
    size_t cnt[2] = {0, 0};
    double gate = -70.0;
    for (int pass = 0; pass < 2; pass++) {
        size_t i;
        json_t *v;
        json_array_foreach(stv, i, v)
        {
            double c = (double)i + 0.5, l = json_is_number(v) ? json_number_value(v) : -INFINITY;
            if (c < start || c > end || !(l > gate))
                continue;
            pw[pass] += pow(10.0, l / 10.0);
            cnt[pass]++;
        }
        if (cnt[pass] < 2)
            return 0;
        gate = 10.0 * log10(pw[0] / (double)cnt[0]) - 10.0;
    }
    *out = 10.0 * log10(pw[1] / (double)cnt[1]);
    return isfinite(*out) && *out > -70.0 && *out < 0;
}

static const char *brand_path(edit *e, const char *key)
{
    const char *p = json_string_value(json_object_get(e->brand, key));
    if (!p || !*p)
        return NULL;
    if (p[0] != '/' || !om_file_exists(p)) {
        decide(e, key, "skipped", "brand %s %s is missing: rendered without it", key, p);
        om_warn(SRC, "clip %s: brand %s %s is missing; rendering without it", e->clip_id, key, p);
        return NULL;
    }
    return p;
}

static int refine(edit *e)
{
    const om_config *cfg = e->ctx->cfg;
    json_t *plan = json_object();
    e->plan = plan;
    json_object_set_new(plan, "source", json_string(e->source));
    json_object_set_new(plan, "start", json_real(e->start));
    json_object_set_new(plan, "end", json_real(e->end));
    const char *preset = om_config_str(cfg, "editor.preset");
    long crf = om_config_long(cfg, "editor.crf");
    json_object_set_new(plan, "output",
                        json_pack("{s:I, s:I, s:f, s:s, s:I, s:s, s:s, s:s}", "width",
                                  (json_int_t)om_config_long(cfg, "editor.width"), "height",
                                  (json_int_t)om_config_long(cfg, "editor.height"), "fps",
                                  om_config_double(cfg, "editor.fps"), "vcodec", "libx264", "crf",
                                  (json_int_t)crf, "preset", preset, "acodec", "aac", "abitrate",
                                  om_config_str(cfg, "editor.abitrate")));
    json_object_set_new(plan, "gpu_required",
                        json_boolean(om_config_bool(cfg, "editor.gpu")));

    /* reframe */
    const char *mode = json_string_value(json_object_get(e->brand, "reframe"));
    if (!mode)
        mode = "content";
    if (!e->src_info.has_video)
        mode = "center"; /* audio-only: an audiogram (editcuts.h), nothing to track */
    json_t *reframe = json_object(), *faced = NULL;
    double aspect = e->src_info.height > 0 ? (double)e->src_info.width / e->src_info.height : 0;
    if (aspect > 0 && aspect <= 9.0 / 16.0 + 0.01) {
        json_object_set_new(reframe, "mode", json_string("center"));
        decide(e, "reframe", "center", "source is already %dx%d (9:16 or narrower)",
               e->src_info.width, e->src_info.height);
    } else if (om_editframe_wanted(mode) &&
               (faced = om_editframe_reframe(e->source, e->start, e->end, mode,
                                             e->src_info.width, e->src_info.height, cfg,
                                             e->chain))) {
        json_decref(reframe);
        reframe = faced;
    } else if (strcmp(mode, "content") == 0 || om_editframe_wanted(mode)) {
        double conf = 0;
        json_t *track = content_track(e, &conf);
        if (track) {
            json_object_set_new(reframe, "mode", json_string("content"));
            json_object_set_new(reframe, "track", track);
            json_object_set_new(reframe, "smoothing", json_real(1.5));
            decide(e, "reframe", "content",
                   "crop follows the motion/detail centre of interest (%zu samples, mean "
                   "confidence %.2f), smoothed and pan-limited",
                   json_array_size(track), conf);
        } else {
            json_object_set_new(reframe, "mode", json_string("center"));
        }
    } else if (strcmp(mode, "blur_pad") == 0) {
        json_object_set_new(reframe, "mode", json_string("blur_pad"));
        decide(e, "reframe", "blur_pad", "brand asks for the whole frame over a blurred fill");
    } else {
        json_object_set_new(reframe, "mode", json_string("center"));
        decide(e, "reframe", "center", "brand asks for a centre crop");
    }
    snprintf(e->reframe_used, sizeof(e->reframe_used), "%s",
             json_string_value(json_object_get(reframe, "mode")));
    json_object_set_new(plan, "reframe", reframe);

    /* captions */
    om_caption_style st;
    om_caption_style_default(&st);
    int rc = om_caption_style_from_brand(&st, e->brand);
    if (rc)
        return om_error_wrap(OM_EINVAL, "project brand");
    json_t *words = e->raw ? json_object_get(e->raw, "words") : NULL;
    /* jump cuts re-time the words; an audio-only source becomes an audiogram */
    json_t *cwords = json_is_array(words) ? json_incref(words) : json_array();
    double cap_end = e->end;
    if (!e->src_info.has_video)
        om_edit_audiogram(plan, e->brand, cwords, e->start, e->end, e->chain);
    rc = om_edit_jumpcuts(plan, &cwords, e->start, e->end, &cap_end, e->brand, cfg, e->chain);
    om_captions *cap = NULL;
    if (rc == OM_OK)
        rc = om_captions_build(&cap, cwords, e->start, cap_end, &st);
    json_decref(cwords);
    if (rc)
        return om_error_wrap(rc, "captions for clip %s", e->clip_id);
    e->captions_report = om_captions_report(cap);
    if (cap->nevents > 0) {
        rc = om_write_file_atomic(e->ass_path, cap->ass, strlen(cap->ass));
        if (rc) {
            om_captions_free(cap);
            return om_error_wrap(rc, "writing captions");
        }
        json_t *stats = json_deep_copy(e->captions_report);
        json_object_del(stats, "dropped_lines");
        json_object_set_new(plan, "captions",
                            json_pack("{s:s, s:O, s:o}", "ass", e->ass_path, "dropped_lines",
                                      cap->dropped_lines, "stats", stats));
        decide(e, "captions", "burned_in",
               "%zu words in %zu lines, preset %s, %zu keyword words highlighted, inside the "
               "safe area of %s; %zu lines dropped for low ASR confidence (< %.2f)",
               cap->nwords, cap->nlines, om_caption_preset_name(cap->preset),
               cap->nkeyword_words, cap->safe.targets, cap->nlines_dropped, st.min_conf);
    } else {
        json_object_set_new(plan, "captions", json_null());
        decide(e, "captions", "none", "%s",
               !e->raw                   ? "no analysis for this clip"
               : cap->nlines_dropped > 0 ? "every caption line was below the ASR confidence gate"
                                         : "no words inside the clip");
        if (cap->nlines_dropped > 0)
            json_object_set_new(plan, "meta",
                                json_pack("{s:O}", "dropped_lines", cap->dropped_lines));
    }
    om_captions_free(cap);

    /* brand assets */
    const char *logo = brand_path(e, "logo");
    json_object_set_new(plan, "logo",
                        logo ? json_pack("{s:s, s:s, s:f, s:f}", "path", logo, "position",
                                         om_config_str(cfg, "editor.logo_position"), "scale",
                                         om_config_double(cfg, "editor.logo_scale"), "opacity",
                                         om_config_double(cfg, "editor.logo_opacity"))
                             : json_null());
    json_t *lt = json_object_get(e->brand, "loudness_target");
    if (json_is_null(lt) && json_object_get(e->brand, "loudness_target")) {
        json_object_set_new(plan, "loudness", json_null());
    } else {
        double target = json_is_number(lt) ? json_number_value(lt)
                                           : om_config_double(cfg, "editor.loudness_target");
        double measured = 0, peak = om_config_double(cfg, "editor.true_peak");
        json_t *ld = json_pack("{s:f, s:f, s:f}", "target_lufs", target, "true_peak", peak, "lra",
                               om_config_double(cfg, "editor.lra"));
        if (clip_loudness(e->raw, e->start, e->end, &measured)) {
            json_object_set_new(ld, "measured_lufs", json_real(round(measured * 100) / 100));
            decide(e, "loudness", "gain",
                   "clip measures %.1f LUFS (analysis short-term loudness, gated): linear gain "
                   "to %.1f LUFS with a limiter under %.1f dBTP",
                   measured, target, peak);
        } else {
            decide(e, "loudness", "loudnorm",
                   "no loudness measurement for the clip: EBU R128 single pass to %.1f LUFS, "
                   "true peak %.1f dBTP",
                   target, peak);
        }
        json_object_set_new(plan, "loudness", ld);
    }
    const char *intro = brand_path(e, "intro"), *outro = brand_path(e, "outro");
    json_object_set_new(plan, "intro", intro ? json_pack("{s:s}", "path", intro) : json_null());
    json_object_set_new(plan, "outro", outro ? json_pack("{s:s}", "path", outro) : json_null());

    json_t *meta = json_object_get(plan, "meta");
    if (!meta) {
        meta = json_object();
        json_object_set_new(plan, "meta", meta);
    }
    json_object_set_new(meta, "clip_id", json_string(e->clip_id));
    json_object_set_new(meta, "video_id", json_string(e->video_id));
    if (e->analysis_id[0])
        json_object_set_new(meta, "analysis_id", json_string(e->analysis_id));
    json_object_set_new(meta, "clip_start", json_real(e->clip_start));
    json_object_set_new(meta, "clip_end", json_real(e->clip_end));

    rc = om_render_resolve_plan(plan);
    if (rc)
        return om_error_wrap(rc, "edit plan for clip %s", e->clip_id);
    return OM_OK;
}

/* ---------- RENDER ---------- */

typedef struct progress_state {
    edit *e;
    int last_quarter;
} progress_state;

static void on_progress(void *ud, double done, double total, int finished)
{
    progress_state *ps = ud;
    int q = total > 0 ? (int)(done / total * 4) : 0;
    if (finished || q > ps->last_quarter) {
        ps->last_quarter = q;
        json_t *f = json_pack("{s:s, s:f, s:f}", "clip_id", ps->e->clip_id, "done_s", done,
                              "total_s", total);
        om_log_emit(OM_LOG_INFO, SRC, f, "render %s: %.0f%%", ps->e->clip_id,
                    total > 0 ? fmin(100, done / total * 100) : 0);
        json_decref(f);
    }
}

static void mark_failed(edit *e)
{
    if (e->ctx->cancel && *e->ctx->cancel)
        return; /* the job is being taken away: write nothing */
    int rc =
        om_store_exec(e->ctx->store, "UPDATE edit_jobs SET status = 'FAILED' WHERE clip_id = ?",
                      OM_PARAMS(OM_TEXT(e->clip_id)), NULL);
    (void)rc;
}

/* Removes partial renders of this clip left by earlier attempts. */
static void remove_stale_partials(edit *e)
{
    DIR *d = opendir(e->renders);
    if (!d)
        return;
    char *prefix = xasprintf("%s.mp4.partial", e->clip_id);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            char *path = xasprintf("%s/%s", e->renders, de->d_name);
            unlink(path);
            free(path);
        }
    closedir(d);
    free(prefix);
}

/* The dashboard's thumbnail: one JPEG frame of the render at the clip's hook
 * (metadata.hook.offset_s, seconds into the candidate; else a third of the way in), 360
 * px wide, renders/<clip_id>.jpg. Cheap (one seek and one decoded frame); a failure only
 * costs the thumbnail, never the render. Returns the stored path (caller frees) or NULL. */
static char *make_thumbnail(edit *e, double duration)
{
    double at = duration / 3;
    char *mt = NULL;
    if (om_store_query_value(e->ctx->store, "SELECT metadata FROM clips WHERE clip_id = ?",
                             OM_PARAMS(OM_TEXT(e->clip_id)), &mt) == OM_OK && mt) {
        json_t *m = json_loads(mt, 0, NULL);
        json_t *off = json_object_get(json_object_get(m, "hook"), "offset_s");
        if (json_is_number(off))
            at = e->clip_start + json_number_value(off) - e->start + 0.3;
        json_decref(m);
    }
    free(mt);
    if (at > duration - 0.2)
        at = duration - 0.2;
    if (at < 0)
        at = 0;
    char *path = xasprintf("%s/%s.jpg", e->renders, e->clip_id);
    /* named like a partial render, so remove_stale_partials clears one a kill left */
    char *part =
        xasprintf("%s/%s.mp4.partial.thumb.%ld.jpg", e->renders, e->clip_id, (long)getpid());
    char ss[32];
    snprintf(ss, sizeof(ss), "%.3f", at);
    const char *argv[] = {"ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", ss, "-i", e->out_path,
                          "-frames:v", "1", "-vf", "scale=360:-2", "-q:v", "5", part, NULL};
    om_proc_opts po = {.argv = argv, .timeout_ms = 30000, .max_output = 65536};
    om_proc_result pr;
    memset(&pr, 0, sizeof(pr));
    int rc = om_proc_run(&po, &pr);
    int ok = rc == OM_OK && pr.exit_code == 0 && om_file_exists(part) && rename(part, path) == 0;
    if (!ok) {
        om_step_note(e->ctx, "no thumbnail for clip %s: %s", e->clip_id,
                     rc ? om_error_msg() : pr.err && *pr.err ? pr.err : "ffmpeg wrote no frame");
        unlink(part);
    }
    om_proc_result_release(&pr);
    free(part);
    char *row = ok ? om_config_path_to_row(e->ctx->cfg, path) : NULL;
    free(path);
    return row;
}

/* Everything after a verified render, in one transaction. */
static int commit_results(edit *e, const char *plan_sha, const char *command, const char *encoder,
                          const char *encoder_why, const om_render_check *chk)
{
    char *thumb = make_thumbnail(e, chk->info.duration);
    om_store *s = e->ctx->store;
    int rc = om_store_begin(s);
    if (rc)
        return om_error_wrap(rc, "starting the edit transaction");
    char packet[OM_UUID_LEN] = "";
    json_t *evidence =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:f, s:s}", "source_checksum", e->source_sha,
                  "output_checksum", chk->sha256, "plan_sha256", plan_sha, "ffmpeg_command",
                  command, "encoder", encoder, "encoder_reason", encoder_why, "size_bytes",
                  (json_int_t)chk->size, "duration", chk->info.duration, "output", e->out_row);
    json_t *lineage = json_pack("{s:s, s:s, s:o}", "clip_id", e->clip_id, "video_id", e->video_id,
                                "evidence", evidence);
    if (e->analysis_id[0])
        json_object_set_new(lineage, "analysis_id", json_string(e->analysis_id));
    rc = om_job_record(e->ctx, "clips", e->clip_id, lineage, e->chain, packet);
    json_decref(lineage);

    /* operations carry the packet id (data-models: table metadata embeds its stardust_id) */
    char *ops = NULL;
    if (rc == OM_OK) {
        json_t *plan = json_deep_copy(e->plan);
        json_t *meta = json_object_get(plan, "meta");
        json_object_set_new(meta, "stardust_id", json_string(packet));
        json_object_set_new(meta, "plan_sha256", json_string(plan_sha));
        ops = json_dumps(plan, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(plan);
        rc = om_store_exec(s,
                           "UPDATE edit_jobs SET status = 'DONE', operations = ? WHERE clip_id = ?",
                           OM_PARAMS(OM_JSON(ops), OM_TEXT(e->clip_id)), NULL);
    }
    if (rc == OM_OK) {
        char aid[OM_UUID_LEN];
        om_uuid4(aid);
        json_t *am = json_pack("{s:f, s:i, s:i, s:s, s:s, s:s, s:s}", "duration",
                               chk->info.duration, "width", chk->info.width, "height",
                               chk->info.height, "video_codec", chk->info.vcodec, "audio_codec",
                               chk->info.acodec, "encoder", encoder, "plan_sha256", plan_sha);
        char *amt = json_dumps(am, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(am);
        rc = om_store_exec(s,
                           "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                           "path, checksum, size_bytes, metadata, created_at) VALUES "
                           "(?, 'render', 'clips', ?, ?, ?, ?, ?, now()) "
                           "ON CONFLICT (kind, entity_id, path) DO UPDATE SET checksum = "
                           "excluded.checksum, size_bytes = excluded.size_bytes, metadata = "
                           "excluded.metadata",
                           OM_PARAMS(OM_TEXT(aid), OM_TEXT(e->clip_id), OM_TEXT(e->out_row),
                                     OM_TEXT(chk->sha256), OM_INT(chk->size), OM_JSON(amt)),
                           NULL);
        free(amt);
    }
    if (rc == OM_OK && json_is_object(json_object_get(e->plan, "captions"))) {
        char sha[OM_SHA256_HEX_LEN], aid[OM_UUID_LEN];
        int64_t size = 0;
        rc = om_sha256_file(e->ass_path, sha);
        if (rc == OM_OK)
            rc = om_file_size(e->ass_path, &size);
        om_uuid4(aid);
        if (rc == OM_OK)
            rc = om_store_exec(s,
                               "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                               "path, checksum, size_bytes, metadata, created_at) VALUES "
                               "(?, 'subtitle', 'clips', ?, ?, ?, ?, ?, now()) "
                               "ON CONFLICT (kind, entity_id, path) DO UPDATE SET checksum = "
                               "excluded.checksum, size_bytes = excluded.size_bytes",
                               OM_PARAMS(OM_TEXT(aid), OM_TEXT(e->clip_id), OM_TEXT(e->ass_row),
                                         OM_TEXT(sha), OM_INT(size),
                                         OM_JSON("{\"format\":\"ass\",\"burned_in\":true}")),
                               NULL);
    }
    if (rc == OM_OK && thumb) {
        char aid[OM_UUID_LEN];
        om_uuid4(aid);
        rc = om_store_exec(s,
                           "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                           "path, metadata, created_at) VALUES "
                           "(?, 'thumbnail', 'clips', ?, ?, ?, now()) "
                           "ON CONFLICT (kind, entity_id, path) DO NOTHING",
                           OM_PARAMS(OM_TEXT(aid), OM_TEXT(e->clip_id), OM_TEXT(thumb),
                                     OM_JSON("{\"format\":\"jpeg\",\"width\":360}")),
                           NULL);
    }
    free(thumb);
    if (rc == OM_OK)
        rc = om_store_exec(s,
                           "UPDATE clips SET status = 'RENDERED' WHERE clip_id = ? AND status "
                           "NOT IN ('SCHEDULED', 'PUBLISHED')",
                           OM_PARAMS(OM_TEXT(e->clip_id)), NULL);
    if (rc == OM_OK) {
        char *key = xasprintf("schedule:%s", e->clip_id);
        rc = om_job_emit(e->ctx, "schedule", json_pack("{s:s}", "clip_id", e->clip_id),
                         json_pack("[s]", packet), key, OM_PRIORITY_DEFAULT, 0);
        free(key);
    }
    if (rc == OM_OK)
        rc = om_store_commit(s);
    if (rc) {
        om_store_rollback(s);
        free(ops);
        return om_error_wrap(rc, "recording the render of clip %s", e->clip_id);
    }
    free(ops);
    json_object_set_new(e->ctx->result, "stardust_id", json_string(packet));
    return OM_OK;
}

/* A remote store: the render (and its .ass) go to the bucket before the rows name them;
 * the local render moves into the node's cache, the .ass stays until the commit read it. */
static int upload_render(edit *e, const char *sha256)
{
    char *row = NULL, *k = xasprintf("renders/%s.mp4", e->clip_id);
    int rc = om_mstore_put(e->ms, k, e->out_path, sha256, OM_MSTORE_MOVE, &row);
    free(k);
    free(row);
    if (rc == OM_OK && json_is_object(json_object_get(e->plan, "captions")) &&
        om_file_exists(e->ass_path)) {
        k = xasprintf("renders/%s.ass", e->clip_id);
        rc = om_mstore_put(e->ms, k, e->ass_path, NULL, 0, &row);
        free(k);
        free(row);
    }
    return rc ? om_error_wrap(rc, "uploading the render of clip %s", e->clip_id) : OM_OK;
}

static int render(edit *e)
{
    char *plan_text = json_dumps(e->plan, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    char plan_sha[OM_SHA256_HEX_LEN];
    om_sha256_hex(plan_text, strlen(plan_text), plan_sha);
    free(plan_text);

    om_editplan *p = NULL;
    om_editcmd *cmd = NULL;
    char *encoder = NULL, *why = NULL, *ops = NULL, *cmds = NULL;
    int rc = om_editplan_parse(&p, e->plan);
    if (rc == OM_OK)
        rc = om_editplan_pick_encoder(p, &encoder, &why);
    if (rc == OM_OK) {
        om_editenv env = {.vcodec = encoder};
        rc = om_editplan_compile(&cmd, p, e->partial, &env);
    }
    if (rc) {
        rc = om_error_wrap(rc == OM_EINVAL ? OM_EINVAL : rc, "compiling clip %s", e->clip_id);
        goto out;
    }
    decide(e, "encode", encoder, "%s", why);

    /* edit_jobs: the plan and its one command, RUNNING */
    {
        json_t *plan = json_deep_copy(e->plan);
        json_object_set_new(json_object_get(plan, "meta"), "plan_sha256", json_string(plan_sha));
        ops = json_dumps(plan, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(plan);
        json_t *arr = json_pack("[s]", cmd->text);
        cmds = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        char id[OM_UUID_LEN];
        om_uuid4(id);
        rc = om_store_exec(e->ctx->store,
                           "INSERT INTO edit_jobs (edit_job_id, clip_id, operations, "
                           "ffmpeg_commands, gpu_required, estimated_duration_seconds, status, "
                           "created_at) VALUES (?, ?, ?, ?, ?, ?, 'RUNNING', now()) "
                           "ON CONFLICT (clip_id) DO UPDATE SET operations = excluded.operations, "
                           "ffmpeg_commands = excluded.ffmpeg_commands, gpu_required = "
                           "excluded.gpu_required, estimated_duration_seconds = "
                           "excluded.estimated_duration_seconds, status = 'RUNNING'",
                           OM_PARAMS(OM_TEXT(id), OM_TEXT(e->clip_id), OM_JSON(ops), OM_ARRAY(cmds),
                                     OM_BOOL(p->gpu_required),
                                     OM_INT(lround(om_editplan_duration(p)))),
                           NULL);
        if (rc) {
            rc = om_error_wrap(rc, "storing the edit job of clip %s", e->clip_id);
            goto out;
        }
    }

    remove_stale_partials(e);
    long tmo = om_config_long(e->ctx->cfg, "editor.render_timeout_s");
    progress_state ps = {e, 0};
    om_render_opts ro = {.timeout_ms = (int64_t)tmo * 1000,
                         .cancel = e->ctx->cancel,
                         .on_progress = on_progress,
                         .ud = &ps};
    int64_t t0 = om_mono_ms();
    rc = om_render_run(cmd, om_editplan_duration(p), &ro);
    double secs = (om_mono_ms() - t0) / 1000.0;
    om_render_check chk;
    if (rc == OM_OK)
        rc = om_render_verify(e->partial, p, &chk);
    if (rc == OM_OK && rename(e->partial, e->out_path) != 0)
        rc = om_error_set(OM_EIO, "rename %s: %s", e->partial, strerror(errno));
    if (rc == OM_OK && om_mstore_is_remote(e->ms))
        rc = upload_render(e, chk.sha256);
    if (rc) {
        unlink(e->partial);
        mark_failed(e);
        rc = om_error_wrap(rc, "rendering clip %s", e->clip_id);
        goto out;
    }
    json_object_set_new(e->ctx->result, "render_seconds", json_real(round(secs * 100) / 100));
    json_object_set_new(e->ctx->result, "encoder", json_string(encoder));
    json_object_set_new(e->ctx->result, "checksum", json_string(chk.sha256));
    json_object_set_new(e->ctx->result, "size_bytes", json_integer(chk.size));
    json_object_set_new(e->ctx->result, "duration", json_real(chk.info.duration));
    rc = commit_results(e, plan_sha, cmd->text, encoder, why, &chk);
    if (rc == OM_OK && om_mstore_is_remote(e->ms))
        unlink(e->ass_path); /* in the bucket now; nothing of the clip stays in media/ */
out:
    free(ops);
    free(cmds);
    free(encoder);
    free(why);
    om_editcmd_free(cmd);
    om_editplan_free(p);
    return rc;
}

/* ---------- the stage ---------- */

/* INIT: the clip, paths, analysis, brand and source; a clip already rendered (the file has
 * the recorded checksum) is a re-delivery: done, nothing written again. */
static int edit_init(om_job_ctx *ctx, void *js)
{
    edit *e = js;
    e->ctx = ctx;
    e->chain = json_array();
    const char *clip_id = json_string_value(json_object_get(ctx->payload, "clip_id"));
    if (!clip_id || !om_uuid_valid(clip_id))
        return om_error_set(OM_EINVAL, "edit payload needs clip_id (a UUID)");
    e->clip_id = clip_id;
    int rc = load_clip(e);
    if (rc == OM_OK)
        rc = prepare_paths(e);
    json_object_set_new(ctx->result, "clip_id", json_string(clip_id));
    json_object_set_new(ctx->result, "output", json_string(e->out_path ? e->out_path : ""));
    if (rc)
        return rc;
    char sha[OM_SHA256_HEX_LEN];
    if (already_rendered(e, sha)) {
        json_object_set_new(ctx->result, "checksum", json_string(sha));
        json_object_set_new(ctx->result, "already_rendered", json_true());
        return om_step_done(ctx, "clip %s already rendered: %s has the recorded checksum",
                            clip_id, e->out_path);
    }
    rc = load_analysis(e);
    if (rc == OM_OK)
        rc = load_brand(e);
    if (rc == OM_OK) {
        /* the source through the node's cache (the folder: the file itself) */
        char *row = e->source;
        e->source = NULL;
        rc = om_mstore_local(e->ms, row, e->source_sha, &e->source);
        free(row);
        if (rc == OM_OK)
            rc = om_render_probe(e->source, &e->src_info);
        if (rc == OM_ENOTFOUND)
            rc = om_error_wrap(OM_EPERMANENT, "source of clip %s", clip_id);
        else if (rc)
            rc = om_error_wrap(rc, "source of clip %s", clip_id);
    }
    return rc;
}

static int edit_cut(om_job_ctx *ctx, void *js)
{
    edit *e = js;
    om_step_note(ctx, "clip %.3f-%.3f of %s", e->clip_start, e->clip_end, e->video_id);
    return cut(e);
}

static int edit_refine(om_job_ctx *ctx, void *js)
{
    edit *e = js;
    om_step_note(ctx, "cut %.3f-%.3f", e->start, e->end);
    int rc = refine(e);
    if (e->captions_report)
        json_object_set(ctx->result, "captions", e->captions_report);
    if (e->reframe_used[0])
        json_object_set_new(ctx->result, "reframe", json_string(e->reframe_used));
    return rc;
}

static int edit_render(om_job_ctx *ctx, void *js)
{
    edit *e = js;
    om_step_note(ctx, "reframe %s, captions %s", e->reframe_used,
                 json_is_object(json_object_get(e->plan, "captions")) ? "yes" : "no");
    int rc = render(e);
    if (rc == OM_OK)
        om_step_note(ctx, "rendered %s", e->out_path);
    return rc;
}

static void edit_release_hook(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    edit_release(js);
}

extern const om_stage om_stage_edit; /* registered by stages/registry.c */

static const om_step edit_steps[] = {
    {"INIT", edit_init},
    {"CUT", edit_cut},
    {"REFINE", edit_refine},
    {"RENDER", edit_render},
    {NULL, NULL},
};

const om_stage om_stage_edit = {
    .type = "edit",
    .gpu_setting = "editor.gpu", /* GPU plans go to the edit.gpu namespace (worker.c) */
    .source = SRC,
    .steps = edit_steps,
    .job_size = sizeof(edit),
    .release = edit_release_hook,
    .timeout_ms = 30 * 60 * 1000,
    .lease_ms = 0,
    .entity_type = "clips",
};
