/* croptrack.c: the editor's content-aware crop track: per sample of a span, where the
 * visual interest of the frame is (motion + detail over the luma grid), for reframing to
 * 9:16. See croptrack.h. */
#include "base/common.h"

#include <math.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "media/audio.h"
#include "media/croptrack.h"
#include "media/probe.h"
#include "media/signals_int.h"

typedef struct track_state {
    int rotation;
    int cgw, cgh;     /* grid in coded orientation */
    int dcols, drows; /* grid in display orientation */
    double window;
    double motion[GRID_W * GRID_H]; /* accumulated |diff| since the last sample */
    int nmotion;
    om_luma_grid prev, cur;
    int have_prev;
} track_state;

/* coded cell -> display cell for a clockwise rotation */
static void to_display(const track_state *s, int cx, int cy, int *dx, int *dy)
{
    switch (s->rotation) {
    case 90:
        *dx = s->cgh - 1 - cy;
        *dy = cx;
        break;
    case 180:
        *dx = s->cgw - 1 - cx;
        *dy = s->cgh - 1 - cy;
        break;
    case 270:
        *dx = cy;
        *dy = s->cgw - 1 - cx;
        break;
    default:
        *dx = cx;
        *dy = cy;
        break;
    }
}

/* Profile minus its median, clamped at 0; returns the sum kept, *raw_sum the original sum. */
static double above_median(double *p, int n, double *raw_sum)
{
    double tmp[GRID_W > GRID_H ? GRID_W : GRID_H];
    double s = 0;
    for (int i = 0; i < n; i++) {
        tmp[i] = p[i];
        s += p[i];
    }
    *raw_sum = s;
    double med = om_sig_median(tmp, (size_t)n);
    double kept = 0;
    for (int i = 0; i < n; i++) {
        p[i] = p[i] > med ? p[i] - med : 0;
        kept += p[i];
    }
    return kept;
}

static om_motion_sample track_sample(track_state *s, double t)
{
    double mcol[GRID_W] = {0}, dcol[GRID_W] = {0}, mrow[GRID_W] = {0}, drow[GRID_W] = {0};
    double mtot = 0;
    for (int cy = 0; cy < s->cgh; cy++) {
        for (int cx = 0; cx < s->cgw; cx++) {
            int dx, dy, i = cy * s->cgw + cx;
            to_display(s, cx, cy, &dx, &dy);
            double m = s->nmotion ? s->motion[i] / s->nmotion : 0;
            mtot += m;
            mcol[dx] += m;
            mrow[dy] += m;
            /* detail: contrast inside the cell plus the luma gradient across it (edges that
             * fall on cell borders show up in the gradient, not in the cell's deviation) */
            const float *g = s->cur.mean;
            int xl = cx > 0 ? cx - 1 : cx, xr = cx + 1 < s->cgw ? cx + 1 : cx;
            int yu = cy > 0 ? cy - 1 : cy, yd = cy + 1 < s->cgh ? cy + 1 : cy;
            double d =
                s->cur.dev[i] + 0.5 * (fabs((double)g[cy * s->cgw + xr] - g[cy * s->cgw + xl]) +
                                       fabs((double)g[yd * s->cgw + cx] - g[yu * s->cgw + cx]));
            dcol[dx] += d;
            drow[dy] += d;
        }
    }
    /* Motion counts once it is above codec noise (mean change > 0.5 luma step per cell). */
    double wm = mtot / (s->cgw * s->cgh) > 0.5 ? 0.6 : 0.0;
    double mraw, draw, mrraw, drraw;
    double mk = above_median(mcol, s->dcols, &mraw), dk = above_median(dcol, s->dcols, &draw);
    double mrk = above_median(mrow, s->drows, &mrraw), drk = above_median(drow, s->drows, &drraw);
    if (mk <= 0)
        wm = 0;
    double wd = dk > 0 ? 1.0 - wm : 0.0;
    om_motion_sample out = {t, 0.5, 0.5, 0.0};
    if (wm + wd <= 0)
        return out;
    double norm = wm + wd;
    double col[GRID_W], row[GRID_W];
    for (int i = 0; i < s->dcols; i++)
        col[i] = ((wm > 0 ? wm * mcol[i] / mk : 0) + (wd > 0 ? wd * dcol[i] / dk : 0)) / norm;
    for (int i = 0; i < s->drows; i++)
        row[i] = ((wm > 0 && mrk > 0 ? wm * mrow[i] / mrk : 0) +
                  (wd > 0 && drk > 0 ? wd * drow[i] / drk : 0)) /
                 norm;
    double distinct = ((wm > 0 ? wm * mk / mraw : 0) + (wd > 0 ? wd * dk / draw : 0)) / norm;

    int ww = (int)lround(s->window * s->dcols);
    if (ww < 1)
        ww = 1;
    if (ww > s->dcols)
        ww = s->dcols;
    double win = 0, best = -1;
    int best_i = 0;
    for (int i = 0; i < s->dcols; i++) {
        win += col[i];
        if (i >= ww)
            win -= col[i - ww];
        if (i >= ww - 1 && win > best + 1e-12) {
            best = win;
            best_i = i - ww + 1;
        }
    }
    double cs = 0, cw = 0;
    for (int i = best_i; i < best_i + ww; i++) {
        cs += col[i] * (i + 0.5);
        cw += col[i];
    }
    out.x = cw > 0 ? cs / cw / s->dcols : 0.5;
    double rs = 0, rw = 0;
    for (int i = 0; i < s->drows; i++) {
        rs += row[i] * (i + 0.5);
        rw += row[i];
    }
    out.y = rw > 0 ? rs / rw / s->drows : 0.5;
    out.confidence = fmin(1.0, fmax(0.0, best * distinct));
    return out;
}

static void track_frame(track_state *s, const AVFrame *f, int accumulate, int *ok)
{
    if (om_luma_grid_from_frame(f, s->cgw, s->cgh, &s->cur) < 0) {
        *ok = 0;
        return;
    }
    *ok = 1;
    if (s->have_prev && accumulate) {
        int n = s->cgw * s->cgh;
        for (int i = 0; i < n; i++)
            s->motion[i] += fabs((double)s->cur.mean[i] - s->prev.mean[i]);
        s->nmotion++;
    }
}

int om_media_motion_track(const char *path, double start, double end, double fps,
                          double window_frac, om_motion_track *out)
{
    OM_ASSERT(path && out);
    memset(out, 0, sizeof(*out));
    if (!(fps > 0 && fps <= 30) || !isfinite(start) || !isfinite(end) || start < 0 ||
        !(end > start) || end - start > OM_AUDIO_MAX_SECONDS || !isfinite(window_frac))
        return om_error_set(OM_EINVAL, "%s: bad motion track request start=%g end=%g fps=%g", path,
                            start, end, fps);
    AVFormatContext *fmt = NULL;
    om_media_info info;
    int rc = om_media_open(path, &fmt, &info);
    if (rc < 0)
        return rc;
    if (!info.has_video) {
        avformat_close_input(&fmt);
        return om_error_set(OM_EINVAL, "no video track in %s", path);
    }
    if (info.duration > 0 && start >= info.duration) {
        avformat_close_input(&fmt);
        return om_error_set(OM_EINVAL,
                            "%s: motion track start %.3f s is at or past the end "
                            "(%.3f s)",
                            path, start, info.duration);
    }
    if (info.duration > 0 && end > info.duration)
        end = info.duration;

    int vi = info.video_stream;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        fmt->streams[i]->discard = (int)i == vi ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    AVCodecContext *dec = NULL;
    if ((rc = om_sig_open_video_decoder(fmt, vi, path, AVDISCARD_NONREF, &dec)) < 0) {
        avformat_close_input(&fmt);
        return rc;
    }
    AVStream *st = fmt->streams[vi];
    track_state *s = xcalloc(1, sizeof(*s));
    s->rotation = info.rotation;
    int swap = info.rotation == 90 || info.rotation == 270;
    s->cgw = swap ? GRID_H : GRID_W;
    s->cgh = swap ? GRID_W : GRID_H;
    s->dcols = GRID_W;
    s->drows = GRID_H;
    s->window = window_frac > 0
                    ? fmin(1.0, window_frac)
                    : fmin(1.0, (9.0 / 16.0) * info.display_height / (double)info.display_width);
    size_t n = (size_t)ceil((end - start) * fps - 1e-9);
    if (n == 0)
        n = 1;
    out->samples = xcalloc(n, sizeof(om_motion_sample));
    out->width = info.display_width;
    out->height = info.display_height;
    out->window = s->window;

    if (start > 0) {
        int64_t ts = (int64_t)((start + info.start_time) / av_q2d(st->time_base));
        if (av_seek_frame(fmt, vi, ts, AVSEEK_FLAG_BACKWARD) < 0)
            om_debug("media", "%s: seek to %.3f s failed; decoding from the start", path, start);
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    size_t k = 0;
    int eof = 0, frames = 0, bad_format = 0;
    const double lead = 1.0 / fps; /* frames decoded before start - lead are not kept */
    const double acc_window = fmin(lead, 0.25);
    const double half_frame = info.fps > 0 ? 0.5 / info.fps : 0.02;
    while (k < n && pkt && frame) {
        if (!eof) {
            int r = av_read_frame(fmt, pkt);
            if (r < 0) {
                eof = 1;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == vi)
                    avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
        }
        int got = 0;
        while (k < n && avcodec_receive_frame(dec, frame) >= 0) {
            got = 1;
            double t = om_sig_frame_time(frame, st, info.start_time);
            double tk = start + (double)k / fps;
            if (!isnan(t) && t < start - lead) { /* before the span: nothing to keep */
                av_frame_unref(frame);
                continue;
            }
            int ok;
            /* Motion counts over the last quarter second (at most one sample period)
             * before a sample: longer would trail behind what moves. */
            track_frame(s, frame, !isnan(t) && t > tk - acc_window, &ok);
            av_frame_unref(frame);
            if (!ok) {
                bad_format = 1;
                continue;
            }
            frames++;
            while (k < n && (isnan(t) || t >= tk - half_frame)) {
                out->samples[k++] = track_sample(s, tk);
                memset(s->motion, 0, sizeof(s->motion));
                s->nmotion = 0;
                tk = start + (double)k / fps;
                if (isnan(t))
                    break;
            }
            s->prev = s->cur;
            s->have_prev = 1;
        }
        if (eof && !got)
            break;
    }
    if (frames > 0) { /* past the last frame: hold the last picture */
        while (k < n) {
            out->samples[k] = out->samples[k > 0 ? k - 1 : 0];
            if (k == 0)
                out->samples[0] = track_sample(s, start);
            out->samples[k].t = start + (double)k / fps;
            k++;
        }
    }
    out->n = k;
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    free(s);
    if (frames == 0) {
        om_motion_track_release(out);
        if (bad_format)
            return om_error_set(OM_EINVAL, "%s: pixel format %s cannot be analysed", path,
                                info.pix_fmt);
        return om_error_set(OM_EINVAL, "%s: no video frame could be decoded in [%.3f, %.3f]", path,
                            start, end);
    }
    return OM_OK;
}

void om_motion_track_release(om_motion_track *t)
{
    if (!t)
        return;
    free(t->samples);
    memset(t, 0, sizeof(*t));
}
