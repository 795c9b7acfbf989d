/* signals.c: what the signal analyses share (series helpers, the luma grid of a decoded
 * frame, the analysis decoder; signals_int.h) and the whole-source analysis with its
 * raw_ai_output JSON (signals.h). The analyses themselves: audiosig.c (loudness, silences,
 * speech rate, hook), scenes.c (scene cuts, motion), croptrack.c (the editor's crop track). */
#include "base/common.h"

#include <math.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "media/probe.h"
#include "media/signals.h"
#include "media/signals_int.h"

/* ======================================================================================
 * Series helpers
 * ====================================================================================== */

size_t om_sig_seconds(double duration)
{
    if (!(duration > 0))
        return 0;
    size_t n = (size_t)floor(duration + 0.5);
    return n ? n : 1;
}

int om_sig_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double om_sig_percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    double *c = xmalloc(st_mult(n, sizeof(double)));
    memcpy(c, v, n * sizeof(double));
    qsort(c, n, sizeof(double), om_sig_cmp_double);
    double r = c[(size_t)llround(p * (double)(n - 1))];
    free(c);
    return r;
}

double om_sig_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), om_sig_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* ======================================================================================
 * The luma grid and the analysis decoder
 * ====================================================================================== */

static inline int comp_value(const AVFrame *f, const AVComponentDescriptor *c, int x, int y, int be)
{
    const uint8_t *p = f->data[c->plane] + (ptrdiff_t)y * f->linesize[c->plane] +
                       (ptrdiff_t)x * c->step + c->offset;
    int v;
    if (c->depth + c->shift <= 8) {
        v = (p[0] >> c->shift) & ((1 << c->depth) - 1);
    } else {
        unsigned w = be ? ((unsigned)p[0] << 8 | p[1]) : ((unsigned)p[1] << 8 | p[0]);
        v = (int)((w >> c->shift) & ((1u << c->depth) - 1));
    }
    if (c->depth > 8)
        v >>= c->depth - 8;
    else if (c->depth < 8)
        v <<= 8 - c->depth;
    return v;
}

/* 8-bit luma at (x, y) for YUV/gray (component 0) and RGB (weighted R, G, B) frames. */
static inline int luma_at(const AVFrame *f, const AVPixFmtDescriptor *d, int x, int y)
{
    int be = (d->flags & AV_PIX_FMT_FLAG_BE) != 0;
    if (d->flags & AV_PIX_FMT_FLAG_RGB) {
        int r = comp_value(f, &d->comp[0], x, y, be), g = comp_value(f, &d->comp[1], x, y, be);
        int b = comp_value(f, &d->comp[2], x, y, be);
        return (77 * r + 150 * g + 29 * b) >> 8;
    }
    return comp_value(f, &d->comp[0], x, y, be);
}

/* Fills a gw x gh grid of cell mean luma, cell standard deviation and a luma histogram from
 * GRID_SUB x GRID_SUB samples per cell. Returns -1 for pixel formats we cannot read. */
int om_luma_grid_from_frame(const AVFrame *f, int gw, int gh, om_luma_grid *g)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!d ||
        (d->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL)) ||
        f->width <= 0 || f->height <= 0 || d->nb_components < 1 ||
        ((d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components < 3))
        return -1;
    g->gw = gw;
    g->gh = gh;
    unsigned hist[HIST_BINS] = {0};
    unsigned total = 0;
    for (int cy = 0; cy < gh; cy++) {
        for (int cx = 0; cx < gw; cx++) {
            double s = 0, s2 = 0;
            for (int sy = 0; sy < GRID_SUB; sy++) {
                int y = (int)(((cy * GRID_SUB + sy) + 0.5) * f->height / (gh * GRID_SUB));
                for (int sx = 0; sx < GRID_SUB; sx++) {
                    int x = (int)(((cx * GRID_SUB + sx) + 0.5) * f->width / (gw * GRID_SUB));
                    int v = luma_at(f, d, x, y);
                    s += v;
                    s2 += (double)v * v;
                    hist[v * HIST_BINS / 256]++;
                    total++;
                }
            }
            const double n = GRID_SUB * GRID_SUB;
            double m = s / n, var = s2 / n - m * m;
            g->mean[cy * gw + cx] = (float)m;
            g->dev[cy * gw + cx] = (float)sqrt(var > 0 ? var : 0);
        }
    }
    for (int i = 0; i < HIST_BINS; i++)
        g->hist[i] = total ? (float)hist[i] / (float)total : 0.f;
    return 0;
}

/* Histogram distance (0..1) and mean absolute grid difference (0..1) of two grids. */
void om_luma_grid_distance(const om_luma_grid *a, const om_luma_grid *b, double *hd, double *gd)
{
    double h = 0, m = 0;
    for (int i = 0; i < HIST_BINS; i++)
        h += fabs((double)a->hist[i] - b->hist[i]);
    int n = a->gw * a->gh;
    for (int i = 0; i < n; i++)
        m += fabs((double)a->mean[i] - b->mean[i]);
    *hd = h / 2.0;
    *gd = n ? m / n / 255.0 : 0;
}

/* A decoder for stream `vi` of fmt. */
int om_sig_open_video_decoder(AVFormatContext *fmt, int vi, const char *path,
                              enum AVDiscard skip_frame, AVCodecContext **out)
{
    AVStream *st = fmt->streams[vi];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c)
        return om_error_set(OM_ERROR, "%s: out of memory for the video decoder", path);
    int r = avcodec_parameters_to_context(c, st->codecpar);
    if (r >= 0) {
        c->pkt_timebase = st->time_base;
        c->skip_frame = skip_frame;
        c->skip_loop_filter = AVDISCARD_ALL; /* low-res analysis: deblocking is wasted work */
        c->flags2 |= AV_CODEC_FLAG2_FAST;
        c->flags |= AV_CODEC_FLAG_GRAY; /* luma is all we read; skips chroma where built */
        c->max_pixels = OM_MEDIA_MAX_PIXELS;
        c->thread_count = 2;
        r = avcodec_open2(c, codec, NULL);
    }
    if (r < 0) {
        avcodec_free_context(&c);
        return om_media_error(OM_EINVAL, path, r, "cannot open the video decoder");
    }
    *out = c;
    return OM_OK;
}

double om_sig_frame_time(const AVFrame *f, const AVStream *st, double origin)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    return ts == AV_NOPTS_VALUE ? NAN : (double)ts * av_q2d(st->time_base) - origin;
}

/* ======================================================================================
 * All together, and JSON
 * ====================================================================================== */

int om_signals_analyze(const char *path, const om_audio_opts *aopts, const om_video_opts *vopts,
                       om_pcm *pcm_out, om_signals *out)
{
    OM_ASSERT(path && out);
    memset(out, 0, sizeof(*out));
    if (pcm_out)
        memset(pcm_out, 0, sizeof(*pcm_out));
    om_media_info info;
    int rc = om_media_probe(path, &info);
    if (rc < 0)
        return rc;
    out->duration = info.duration;
    if (info.has_audio) {
        om_pcm pcm;
        if ((rc = om_audio_decode_16k(path, 0, 0, &pcm)) < 0)
            return rc;
        rc = om_audio_signals_compute(&pcm, aopts, &out->audio);
        om_pcm_forget(&pcm, 0, pcm.n); /* read through once; ASR takes it range by range */
        if (rc < 0) {
            om_pcm_release(&pcm);
            return rc;
        }
        out->has_audio = 1;
        if (pcm_out)
            *pcm_out = pcm;
        else
            om_pcm_release(&pcm);
    }
    if (info.has_video) {
        if ((rc = om_video_signals_compute(path, vopts, &out->video)) < 0) {
            om_signals_release(out);
            if (pcm_out)
                om_pcm_release(pcm_out);
            return rc;
        }
        out->has_video = 1;
    }
    if (out->duration <= 0)
        out->duration = fmax(out->audio.duration, out->video.duration);
    return OM_OK;
}

void om_signals_release(om_signals *s)
{
    if (!s)
        return;
    om_audio_signals_release(&s->audio);
    om_video_signals_release(&s->video);
    memset(s, 0, sizeof(*s));
}

static json_t *jnum(double v, double scale)
{
    if (!isfinite(v))
        return json_null();
    return json_real(round(v * scale) / scale + 0.0); /* + 0.0: no "-0.0" */
}

json_t *om_signals_to_json(const om_signals *s)
{
    OM_ASSERT(s);
    json_t *o = json_object();
    json_object_set_new(o, "duration", jnum(s->duration, 1000));
    const om_audio_signals *a = &s->audio;
    json_t *sil = json_array();
    if (s->has_audio) {
        json_t *st = json_array();
        for (size_t i = 0; i < a->n_short_term; i++)
            json_array_append_new(st, jnum(a->short_term[i], 100));
        json_object_set_new(o, "loudness",
                            json_pack("{s:o, s:o, s:o, s:o}", "integrated",
                                      jnum(a->integrated, 100), "range", jnum(a->range, 100),
                                      "peak", jnum(a->peak_dbfs, 100), "short_term", st));
        for (size_t i = 0; i < a->n_silences; i++)
            json_array_append_new(sil, json_pack("[o, o]", jnum(a->silences[i].start, 1000),
                                                 jnum(a->silences[i].end, 1000)));
    } else {
        json_object_set_new(o, "loudness", json_null());
    }
    json_object_set_new(o, "silences", sil);
    json_t *sc = json_array(), *mo = json_array();
    for (size_t i = 0; i < s->video.n_scenes; i++)
        json_array_append_new(sc, jnum(s->video.scenes[i], 1000));
    for (size_t i = 0; i < s->video.n_motion; i++)
        json_array_append_new(mo, jnum(s->video.motion[i], 1000));
    json_object_set_new(o, "scenes", sc);
    json_object_set_new(o, "motion", mo);
    if (s->has_audio) {
        json_object_set_new(o, "speech_rate_wpm", jnum(a->wpm_estimate, 10));
        json_object_set_new(o, "speech_activity", jnum(a->speech_activity, 1000));
        json_object_set_new(o, "syllable_rate", jnum(a->syllable_rate, 100));
        json_object_set_new(
            o, "hook",
            json_pack("{s:o, s:o, s:o, s:o, s:o}", "first_lufs", jnum(a->hook.first_lufs, 100),
                      "rest_lufs", jnum(a->hook.rest_lufs, 100), "delta_lu",
                      jnum(a->hook.delta_lu, 100), "lead_silence", jnum(a->hook.lead_silence, 1000),
                      "active_fraction", jnum(a->hook.active_fraction, 1000)));
    } else {
        json_object_set_new(o, "speech_rate_wpm", json_null());
        json_object_set_new(o, "speech_activity", json_null());
        json_object_set_new(o, "syllable_rate", json_null());
        json_object_set_new(o, "hook", json_null());
    }
    return o;
}
