/*
 * analyze.c: the Analyzer stage (INIT -> TRANSCRIBE -> SCORE -> CLIP-FIND -> DONE).
 *
 * INIT        loads the video, its post and the project's brand; probes the media
 *             (libavformat) so a corrupt, empty or audio-less file fails here, clearly.
 * TRANSCRIBE  decodes the audio in-process to 16 kHz mono (media/audio.c) while computing
 *             the signals (loudness, silences, scenes), then takes the transcript from the
 *             platform's subtitles when the scraper found them (force-aligned to the audio,
 *             asr/align.h, unless asr.align_subtitles is off), else from the configured
 *             engine (asr.h om_asr_transcribe: pocketsphinx adapted to the project's brief
 *             and keywords by default, or [asr] engine = external, command = ...).
 * SCORE       engagement relative to the creator's median, then the cognition layer's
 *             evaluation: keywords, virality and relevance scores, candidate windows (a
 *             source over analyze.long_source_s in overlapping analysis windows, each
 *             contributing its best: candidates.h).
 * CLIP-FIND   one transaction: the ledger packet, the analysis row, one CANDIDATE clip per
 *             candidate, and the `select` job for Pantheon.
 *
 * Idempotent: a video that already has an analysis is done at INIT (the select job was
 * emitted in the same transaction as that analysis).
 *
 * Fewer candidates than the brand's clips_per_video: raw_ai_output gets "candidate_shortfall"
 * {"candidates","clips_per_video","reason"} (select.c then records its own shortfall).
 * No candidates: raw_ai_output gets "no_clip_code" ("too_short": the video or its speech is
 * shorter than the brand's clip_min_s; "no_speech": an empty transcript; "none_selected":
 * no window fits the sentence boundaries) and "no_clip_reason" (a short sentence), and the
 * stage logs it as a warning. select.c records the committee's reasons the same way.
 */
#include "base/common.h"
#include "asr/align.h"
#include "asr/asr.h"
#include "cognition/candidates.h"
#include "media/mstore.h"
#include "media/probe.h"
#include "media/signals.h"
#include "runtime/runtime.h"
#include "stages/stages.h"

#include <math.h>

#define SRC "analyzer_worker"

extern const om_stage om_stage_analyze; /* registered by stages/registry.c */

typedef struct analyze {
    om_job_ctx *ctx;
    const char *video_id;
    om_rows *video;   /* file_path, checksum, post_id, raw_metadata, posted_at, creator_id */
    json_t *brand;    /* projects.brand or NULL */
    char *subtitle;   /* artifact path as stored (relative to the home) or NULL */
    char *subtitle_path; /* the same, usable */
    char *media_path; /* videos.file_path, usable (a local path: om_mstore_local) */
    om_mstore *ms;    /* the media store; holds the cached files until release */
    om_media_info info;
    om_signals sig;
    om_pcm pcm;
    om_transcript t;
    json_t *raw;      /* raw_ai_output */
    json_t *eval;     /* om_analysis_evaluate's answer */
} analyze;

static const char *local_path(const char *p)
{
    return strncmp(p, "file://", 7) == 0 ? p + 7 : p;
}

static int load(analyze *a)
{
    om_store *s = a->ctx->store;
    int rc = om_store_query(s,
                            "SELECT v.file_path, v.checksum, v.post_id, p.raw_metadata, "
                            "p.posted_at, p.creator_id, p.downloaded_at FROM videos v "
                            "JOIN posts p ON p.post_id = v.post_id WHERE v.video_id = ?",
                            OM_PARAMS(OM_TEXT(a->video_id)), &a->video);
    if (rc)
        return om_error_wrap(rc, "loading video %s", a->video_id);
    if (om_rows_count(a->video) == 0)
        return om_error_set(OM_EINVAL, "video %s does not exist", a->video_id);
    if (a->ctx->project_id && *a->ctx->project_id) {
        char *brand = NULL;
        rc = om_store_query_value(s, "SELECT brand FROM projects WHERE project_id = ?",
                                  OM_PARAMS(OM_TEXT(a->ctx->project_id)), &brand);
        if (rc == OM_ENOTFOUND)
            return om_error_set(OM_EINVAL, "project %s does not exist", a->ctx->project_id);
        if (rc)
            return rc;
        a->brand = brand ? json_loads(brand, 0, NULL) : NULL;
        free(brand);
    }
    rc = om_store_query_value(s,
                              "SELECT path FROM artifacts WHERE kind = 'subtitle' AND "
                              "entity_id = ? ORDER BY created_at LIMIT 1",
                              OM_PARAMS(OM_TEXT(a->video_id)), &a->subtitle);
    if (rc == OM_ENOTFOUND)
        rc = OM_OK;
    if (rc)
        return rc;
    rc = om_mstore_open(&a->ms, a->ctx->cfg);
    if (rc == OM_OK)
        rc = om_mstore_local(a->ms, local_path(om_rows_getn(a->video, 0, "file_path")),
                             om_rows_getn(a->video, 0, "checksum"), &a->media_path);
    if (rc == OM_OK && a->subtitle)
        rc = om_mstore_local(a->ms, a->subtitle, NULL, &a->subtitle_path);
    if (rc)
        return om_error_wrap(rc, "video %s", a->video_id);
    const char *path = a->media_path;
    rc = om_media_probe(path, &a->info);
    if (rc)
        return om_error_wrap(rc, "video %s", a->video_id);
    if (!a->info.has_audio)
        return om_error_set(OM_EINVAL, "video %s (%s) has no audio track: nothing to transcribe",
                            a->video_id, path);
    return OM_OK;
}

/* Brand keywords as a C array borrowed from the JSON (valid while brand lives). */
static size_t brand_keywords(const json_t *brand, const char ***out)
{
    const json_t *kw = brand ? json_object_get(brand, "keywords") : NULL;
    size_t n = json_is_array(kw) ? json_array_size(kw) : 0, k = 0;
    *out = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        if (json_is_string(json_array_get(kw, i)))
            (*out)[k++] = json_string_value(json_array_get(kw, i));
    return k;
}

/* Word times from the audio instead of interpolation inside each cue (align.c). A failure
 * of the aligner itself (no model) keeps the interpolated times: the subtitles are still
 * the best transcript; what happened is in engine.params.alignment or the warning. */
static void align_subtitles(analyze *a)
{
    om_align_opts o;
    om_align_opts_default(&o);
    o.margin_s = om_config_double(a->ctx->cfg, "asr.align_margin_s");
    o.model_dir = om_config_str(a->ctx->cfg, "asr.model_dir");
    o.cancel = a->ctx->cancel;
    o.jobs = (int)om_config_long(a->ctx->cfg, "asr.jobs");
    o.forget = om_pcm_forget_cb;
    o.forget_arg = &a->pcm;
    om_align_stats st;
    int rc = om_asr_align(&a->t, a->pcm.samples, a->pcm.n, &o, &st);
    if (rc == OM_OK)
        om_step_note(a->ctx, "subtitles aligned to the audio: %zu of %zu cues (%zu words; %zu "
                             "interpolated)",
                     st.aligned, st.cues, st.words_aligned, st.words_interpolated);
    else
        om_warn(SRC, "subtitles %s: word times interpolated, alignment failed: %s", a->subtitle,
                om_error_msg());
}

static int transcribe(analyze *a)
{
    const om_config *cfg = a->ctx->cfg;
    const char *path = a->media_path;
    int rc = om_signals_analyze(path, NULL, NULL, &a->pcm, &a->sig);
    if (rc)
        return om_error_wrap(rc, "analysing signals of video %s", a->video_id);
    if (a->pcm.n == 0)
        return om_error_set(OM_EINVAL, "video %s (%s) has an empty audio track", a->video_id,
                            path);
    const double *sil = (const double *)a->sig.audio.silences;
    size_t nsil = a->sig.audio.n_silences;
    const char *engine = om_config_str(cfg, "asr.engine");

    if (a->subtitle && om_config_bool(cfg, "asr.prefer_subtitles")) {
        rc = om_subtitles_parse_file(&a->t, a->subtitle_path);
        if (rc == OM_OK && a->t.n > 0) {
            om_step_note(a->ctx, "using the platform's subtitles %s", a->subtitle);
            if (om_config_bool(cfg, "asr.align_subtitles"))
                align_subtitles(a);
            goto segment;
        }
        om_warn(SRC, "subtitles %s unusable (%s); transcribing the audio instead", a->subtitle,
                rc ? om_error_msg() : "no words");
        om_transcript_release(&a->t);
        om_transcript_init(&a->t);
    }
    om_step_note(a->ctx, "transcribing %.1f s of audio with %s", (double)a->pcm.n / a->pcm.rate,
                 engine);
    const char **kw;
    size_t nkw = brand_keywords(a->brand, &kw);
    const json_t *brief = a->brand ? json_object_get(a->brand, "brief") : NULL;
    om_asr_request req = {
        .brief = json_is_string(brief) ? json_string_value(brief) : NULL,
        .keywords = kw,
        .nkeywords = nkw,
        .silences = sil,
        .nsilences = nsil,
        .cancel = a->ctx->cancel,
        .forget = om_pcm_forget_cb,
        .forget_arg = &a->pcm,
    };
    rc = om_asr_transcribe(&a->t, cfg, a->pcm.samples, a->pcm.n, &req);
    free(kw);
    if (rc)
        return om_error_wrap(rc, "transcribing video %s", a->video_id);
segment:
    if (a->t.nsent == 0)
        om_transcript_segment(&a->t, &(om_segment_opts){.silences = sil, .nsilences = nsil});
    return OM_OK;
}

/* views/likes/comments of the post against the creator's median over its posts. */
static json_t *engagement(analyze *a)
{
    const char *creator = om_rows_getn(a->video, 0, "creator_id");
    om_rows *posts = NULL;
    double *vals = NULL;
    size_t nv = 0;
    int64_t now = om_now_us();
    if (om_store_query(a->ctx->store,
                       "SELECT raw_metadata, posted_at, downloaded_at FROM posts "
                       "WHERE creator_id = ?",
                       OM_PARAMS(OM_TEXT(creator)), &posts) == OM_OK) {
        vals = xcalloc(om_rows_count(posts) + 1, sizeof(double));
        for (size_t i = 0; i < om_rows_count(posts); i++) {
            const char *rm = om_rows_get(posts, i, 0);
            json_t *meta = rm ? json_loads(rm, 0, NULL) : NULL;
            double v, l, c;
            int64_t at = 0;
            const char *ts = om_rows_get(posts, i, 1) ? om_rows_get(posts, i, 1)
                                                      : om_rows_get(posts, i, 2);
            if (!ts || om_time_parse(ts, &at))
                at = now - 86400LL * 1000000;
            om_post_counts(meta, &v, &l, &c);
            if (v >= 0)
                vals[nv++] = om_engagement_value(v, l, c, (double)(now - at) / 3.6e9);
            json_decref(meta);
        }
    }
    om_rows_free(posts);
    const char *rm = om_rows_getn(a->video, 0, "raw_metadata");
    json_t *meta = rm ? json_loads(rm, 0, NULL) : NULL;
    double v, l, c;
    om_post_counts(meta, &v, &l, &c);
    json_decref(meta);
    int64_t at = 0;
    const char *ts = om_rows_getn(a->video, 0, "posted_at");
    if (!ts)
        ts = om_rows_getn(a->video, 0, "downloaded_at");
    if (!ts || om_time_parse(ts, &at))
        at = now - 86400LL * 1000000;
    double age_h = (double)(now - at) / 3.6e9;
    json_t *e = json_object();
    if (v >= 0) {
        double value = om_engagement_value(v, l, c, age_h);
        double median = nv ? om_median(vals, nv) : value;
        json_object_set_new(e, "views", json_real(v));
        json_object_set_new(e, "likes", json_real(l < 0 ? 0 : l));
        json_object_set_new(e, "comments", json_real(c < 0 ? 0 : c));
        json_object_set_new(e, "age_hours", json_real(age_h));
        json_object_set_new(e, "value", json_real(value));
        json_object_set_new(e, "creator_median", json_real(median));
        json_object_set_new(e, "creator_posts", json_integer((json_int_t)nv));
        json_object_set_new(e, "score", json_real(om_engagement_score(value, median)));
    }
    free(vals);
    return e;
}

static int score(analyze *a)
{
    om_step_note(a->ctx, "%zu words, %zu sentences", a->t.n, a->t.nsent);
    a->raw = om_transcript_to_json(&a->t);
    json_object_set_new(a->raw, "signals", om_signals_to_json(&a->sig));
    json_object_set_new(a->raw, "engagement", engagement(a));
    json_t *probe = json_object();
    json_object_set_new(probe, "duration", json_real(a->info.duration));
    json_object_set_new(probe, "width", json_integer(a->info.display_width));
    json_object_set_new(probe, "height", json_integer(a->info.display_height));
    json_object_set_new(probe, "video_codec", json_string(a->info.video_codec));
    json_object_set_new(probe, "audio_codec", json_string(a->info.audio_codec));
    json_object_set_new(a->raw, "probe", probe);
    om_cand_opts base;
    om_cand_opts_default(&base);
    base.min_word_conf = om_config_double(a->ctx->cfg, "analyze.min_word_confidence");
    base.max_overlap_frac = om_config_double(a->ctx->cfg, "analyze.max_overlap");
    base.long_source_s = om_config_double(a->ctx->cfg, "analyze.long_source_s");
    base.window_s = om_config_double(a->ctx->cfg, "analyze.window_s");
    base.window_overlap_s = om_config_double(a->ctx->cfg, "analyze.window_overlap_s");
    base.window_candidates = (size_t)om_config_long(a->ctx->cfg, "analyze.window_candidates");
    int rc = om_analysis_evaluate(a->raw, a->brand, &base, &a->eval);
    if (rc)
        return om_error_wrap(rc, "scoring video %s", a->video_id);
    return OM_OK;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Why the analysis found no candidate clip: the code for raw_ai_output.no_clip_code
 * ("too_short", "no_speech", "none_selected") and a short sentence into `why`. */
static const char *no_clip_reason(const analyze *a, om_sbuf *why)
{
    om_cand_opts o;
    om_cand_opts_default(&o);
    if (a->brand)
        om_cand_opts_from_brand(&o, a->brand);
    double dur = a->info.duration;
    if (dur > 0 && dur < o.min_s) {
        sb_printf(why, "the video is %.1f s long, shorter than the minimum clip length of %g s",
                  dur, o.min_s);
        return "too_short";
    }
    double first = INFINITY, last = -INFINITY;
    for (size_t i = 0; i < a->t.n; i++) {
        first = fmin(first, a->t.words[i].start);
        last = fmax(last, a->t.words[i].end);
    }
    for (size_t i = 0; i < a->t.nsent; i++) {
        first = fmin(first, a->t.sentences[i].start);
        last = fmax(last, a->t.sentences[i].end);
    }
    if (!(last > first)) {
        sb_printf(why, "no speech was found (the transcript of %.1f s of audio is empty)",
                  a->pcm.rate ? (double)a->pcm.n / a->pcm.rate : dur);
        return "no_speech";
    }
    if (last - first < o.min_s) {
        sb_printf(why,
                  "the speech lasts only %.1f s (%.1f-%.1f s), shorter than the minimum clip "
                  "length of %g s",
                  last - first, first, last, o.min_s);
        return "too_short";
    }
    sb_printf(why,
              "no stretch of %g-%g s of speech starts and ends at a sentence boundary or pause",
              o.min_s, o.max_s);
    return "none_selected";
}

static int clip_find(analyze *a)
{
    om_job_ctx *ctx = a->ctx;
    om_store *s = ctx->store;
    json_t *cands = json_object_get(a->eval, "candidates");
    size_t ncand = json_array_size(cands);
    om_step_note(ctx, "%zu candidate clips", ncand);
    const char *no_clip = NULL;
    om_sbuf why = OM_SBUF_INIT;
    if (ncand == 0) {
        no_clip = no_clip_reason(a, &why);
        json_object_set_new(a->raw, "no_clip_code", json_string(no_clip));
        json_object_set_new(a->raw, "no_clip_reason", json_string(sb_str(&why)));
    }
    const json_t *cpv = a->brand ? json_object_get(a->brand, "clips_per_video") : NULL;
    if (ncand > 0 && json_is_integer(cpv) && (json_int_t)ncand < json_integer_value(cpv)) {
        om_cand_opts o;
        om_cand_opts_default(&o);
        om_cand_opts_from_brand(&o, a->brand);
        double frac = om_config_double(ctx->cfg, "analyze.max_overlap");
        char *reason = xasprintf(
            "only %zu stretches of %g-%g s of speech start and end at a sentence boundary or "
            "pause and overlap each other by at most %.0f%% (analyze.max_overlap); the brand "
            "asks for %d clips per video",
            ncand, o.min_s, o.max_s, frac * 100, (int)json_integer_value(cpv));
        json_object_set_new(a->raw, "candidate_shortfall",
                            json_pack("{s:I, s:I, s:s}", "candidates", (json_int_t)ncand,
                                      "clips_per_video", json_integer_value(cpv), "reason",
                                      reason));
        om_step_note(ctx, "%s", reason);
        free(reason);
    }

    char analysis_id[OM_UUID_LEN], packet[OM_UUID_LEN];
    om_uuid4(analysis_id);
    const json_t *engine = json_object_get(a->raw, "engine");
    json_t *lineage = json_pack("{s:s, s:s, s:O?}", "video_id", a->video_id, "video_sha256",
                                om_rows_getn(a->video, 0, "checksum"), "engine", engine);
    json_t *chain = json_pack(
        "[{s:s, s:O?, s:i, s:s?}, {s:s, s:f, s:f, s:O}, {s:s, s:i}]", "step", "transcribe",
        "engine", engine, "words", (json_int_t)a->t.n, "subtitles", a->subtitle, "step",
        "score", "virality_score", num(a->eval, "virality_score"), "relevance_score",
        num(a->eval, "relevance_score"), "keywords", json_object_get(a->eval, "keywords"),
        "step", "clip-find", "candidates", (json_int_t)ncand);
    int rc = om_store_begin(s);
    if (rc == OM_OK)
        rc = om_job_record(ctx, "analysis", analysis_id, lineage, chain, packet);
    json_decref(lineage);
    json_decref(chain);
    if (rc == OM_OK) {
        json_object_set_new(a->raw, "stardust_id", json_string(packet));
        char *raw = json_dumps(a->raw, JSON_COMPACT | OM_JSON_REAL);
        char *kw = json_dumps(json_object_get(a->eval, "keywords"), JSON_COMPACT | OM_JSON_REAL);
        const json_t *tr = json_object_get(a->eval, "transcript");
        rc = om_store_exec(s,
                           "INSERT INTO analysis (analysis_id, video_id, transcript, keywords, "
                           "virality_score, relevance_score, raw_ai_output, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                           OM_PARAMS(OM_TEXT(analysis_id), OM_TEXT(a->video_id),
                                     OM_TEXT(json_string_value(tr)), OM_ARRAY(kw ? kw : "[]"),
                                     OM_REAL(num(a->eval, "virality_score")),
                                     OM_REAL(num(a->eval, "relevance_score")), OM_JSON(raw)),
                           NULL);
        free(raw);
        free(kw);
    }
    for (size_t i = 0; rc == OM_OK && i < ncand; i++) {
        json_t *c = json_array_get(cands, i);
        char clip_id[OM_UUID_LEN];
        om_uuid4(clip_id);
        json_t *meta = json_deep_copy(c);
        json_object_del(meta, "start");
        json_object_del(meta, "end");
        json_object_set_new(meta, "analysis_id", json_string(analysis_id));
        json_object_set_new(meta, "stardust_id", json_string(packet));
        json_object_set_new(meta, "rank", json_integer((json_int_t)i + 1));
        char *mj = json_dumps(meta, JSON_COMPACT | OM_JSON_REAL);
        json_t *tags = json_object_get(c, "matched");
        char *tj = json_is_array(tags) ? json_dumps(tags, JSON_COMPACT | OM_JSON_REAL) : xstrdup("[]");
        rc = om_store_exec(s,
                           "INSERT INTO clips (clip_id, video_id, analysis_id, start_time, "
                           "end_time, semantic_tags, metadata, status, created_at) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, 'CANDIDATE', now()) "
                           "ON CONFLICT (video_id, start_time, end_time) DO NOTHING",
                           OM_PARAMS(OM_TEXT(clip_id), OM_TEXT(a->video_id),
                                     OM_TEXT(analysis_id), OM_REAL(num(c, "start")),
                                     OM_REAL(num(c, "end")), OM_ARRAY(tj), OM_JSON(mj)),
                           NULL);
        free(mj);
        free(tj);
        json_decref(meta);
    }
    if (rc == OM_OK) {
        char *key = xasprintf("select:%s", analysis_id);
        json_t *parents = json_pack("[s]", packet);
        rc = om_job_emit(ctx, "select",
                         json_pack("{s:s, s:s}", "video_id", a->video_id, "analysis_id",
                                   analysis_id),
                         parents, key, OM_PRIORITY_DEFAULT, 0);
        free(key);
    }
    if (rc == OM_OK)
        rc = om_store_commit(s);
    if (rc) {
        om_store_rollback(s);
        sb_release(&why);
        return om_error_wrap(rc, "saving the analysis of video %s", a->video_id);
    }
    if (no_clip) {
        json_t *f = json_pack("{s:s, s:s, s:s}", "video_id", a->video_id, "no_clip_code",
                              no_clip, "no_clip_reason", sb_str(&why));
        om_log_emit(OM_LOG_WARN, SRC, f, "video %s: no clip candidates (%s): %s", a->video_id,
                    no_clip, sb_str(&why));
        json_decref(f);
        json_object_set_new(ctx->result, "no_clip_code", json_string(no_clip));
        json_object_set_new(ctx->result, "no_clip_reason", json_string(sb_str(&why)));
    }
    sb_release(&why);
    json_object_set_new(ctx->result, "analysis_id", json_string(analysis_id));
    json_object_set_new(ctx->result, "candidates", json_integer((json_int_t)ncand));
    json_object_set_new(ctx->result, "virality_score", json_real(num(a->eval, "virality_score")));
    json_object_set_new(ctx->result, "relevance_score",
                        json_real(num(a->eval, "relevance_score")));
    return OM_OK;
}

/* INIT: the payload; a video already analysed is a re-delivery (done: the select job was
 * emitted with that analysis); else the video, its post, the brand, the probe. */
static int analyze_init(om_job_ctx *ctx, void *js)
{
    analyze *a = js;
    a->ctx = ctx;
    om_transcript_init(&a->t);
    a->video_id = json_string_value(json_object_get(ctx->payload, "video_id"));
    if (!a->video_id || !om_uuid_valid(a->video_id))
        return om_error_set(OM_EINVAL, "analyze: the payload needs \"video_id\" (a UUID)");
    char *done = NULL;
    int rc = om_store_query_value(ctx->store,
                                  "SELECT analysis_id FROM analysis WHERE video_id = ? LIMIT 1",
                                  OM_PARAMS(OM_TEXT(a->video_id)), &done);
    if (rc == OM_OK) {
        json_object_set_new(ctx->result, "analysis_id", json_string(done));
        rc = om_step_done(ctx, "video %s already analysed (%s)", a->video_id, done);
        free(done);
        return rc;
    }
    if (rc != OM_ENOTFOUND)
        return rc;
    om_error_clear();
    return load(a);
}

static int analyze_transcribe(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    return transcribe(js);
}

static int analyze_score(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    return score(js);
}

static int analyze_clip_find(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    return clip_find(js);
}

static void analyze_release(om_job_ctx *ctx, void *js)
{
    (void)ctx;
    analyze *a = js;
    om_rows_free(a->video);
    json_decref(a->brand);
    free(a->subtitle);
    free(a->subtitle_path);
    free(a->media_path);
    om_mstore_free(a->ms);
    om_signals_release(&a->sig);
    om_pcm_release(&a->pcm);
    om_transcript_release(&a->t);
    json_decref(a->raw);
    json_decref(a->eval);
}

static const om_step analyze_steps[] = {
    {"INIT", analyze_init},
    {"TRANSCRIBE", analyze_transcribe},
    {"SCORE", analyze_score},
    {"CLIP-FIND", analyze_clip_find},
    {NULL, NULL},
};

const om_stage om_stage_analyze = {
    .type = "analyze",
    .source = SRC,
    .steps = analyze_steps,
    .job_size = sizeof(analyze),
    .release = analyze_release,
    .timeout_ms = 60LL * 60 * 1000,
    .entity_type = "videos",
};
