/* scenes.c: cheap video signals: scene cuts and per-second motion from packet sizes,
 * keyframes and a few decoded anchors, never a full decode. See scenes.h. */
#include "base/common.h"

#include <math.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "media/probe.h"
#include "media/scenes.h"
#include "media/signals_int.h"

typedef struct vpacket {
    double t;
    int size;
    int key;
} vpacket;

typedef struct vkey {
    double t;
    size_t pkt; /* index into the packet list */
    om_luma_grid *grid;
} vkey;

typedef struct vscan {
    const char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int vi;
    double origin;
    vpacket *p;
    size_t np, pcap;
    vkey *k;
    size_t nk, kcap;
    size_t pending_pkt[64]; /* packet index of keyframes sent, FIFO until their frame comes */
    size_t npending;
    size_t refine_budget;
    int grid_failed;
    int size_clues; /* packet sizes mean something (no hidden alt-ref frames as in VPx/AV1) */
} vscan;

static void vscan_free(vscan *v)
{
    for (size_t i = 0; i < v->nk; i++)
        free(v->k[i].grid);
    free(v->k);
    free(v->p);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
}

/* Which pending keyframe packet a decoded frame came from: the one nearest in time (frames
 * the decoder dropped leave their packets pending; older entries are discarded). */
static size_t vscan_match_pending(vscan *v, double t)
{
    if (v->npending == 0)
        return v->np ? v->np - 1 : 0;
    size_t best = 0;
    if (!isnan(t)) {
        for (size_t i = 1; i < v->npending; i++)
            if (fabs(v->p[v->pending_pkt[i]].t - t) < fabs(v->p[v->pending_pkt[best]].t - t))
                best = i;
    }
    size_t pidx = v->pending_pkt[best];
    memmove(v->pending_pkt, v->pending_pkt + best + 1, (v->npending - best - 1) * sizeof(size_t));
    v->npending -= best + 1;
    return pidx;
}

static void vscan_take_frames(vscan *v)
{
    const AVStream *st = v->fmt->streams[v->vi];
    while (avcodec_receive_frame(v->dec, v->frame) >= 0) {
        double t = om_sig_frame_time(v->frame, st, v->origin);
        size_t pidx = vscan_match_pending(v, t);
        if (isnan(t))
            t = v->np ? v->p[pidx].t : 0;
        if (v->np && !v->p[pidx].key && v->frame->pict_type != AV_PICTURE_TYPE_I) {
            av_frame_unref(v->frame); /* not an intra picture after all */
            continue;
        }
        om_luma_grid *g = xmalloc(sizeof(*g));
        if (om_luma_grid_from_frame(v->frame, GRID_W, GRID_H, g) < 0) {
            free(g);
            v->grid_failed = 1;
        } else {
            if (v->nk == v->kcap) {
                v->kcap = v->kcap ? 2 * v->kcap : 64;
                v->k = xrealloc(v->k, st_mult(v->kcap, sizeof(vkey)));
            }
            v->k[v->nk++] = (vkey){t, pidx, g};
        }
        av_frame_unref(v->frame);
    }
}

static void push_double(double **arr, size_t *n, size_t *cap, double v)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *arr = xrealloc(*arr, st_mult(*cap, sizeof(double)));
    }
    (*arr)[(*n)++] = v;
}

/* Cut between two consecutive frames: a large histogram or grid change that also stands out
 * against the interval's typical frame-to-frame change (sustained fast motion is no cut). */
#define CUT_HD 0.25
#define CUT_GD 0.08
/* Between keyframes seconds apart, motion alone (a zoom, a pan) can pass the thresholds
 * above; placing a cut at a keyframe without decoding needs a change this strong. */
#define STRONG_HD 0.40
#define STRONG_GD 0.16

/* Decodes every frame of media time [ta, tb] (ta a keyframe) and appends the time of each
 * frame that starts a new shot to *cuts. Spends v->refine_budget (frames). Returns 0, or -1
 * when the interval could not be decoded (nothing appended). */
static int refine_cuts(vscan *v, double ta, double tb, double **cuts, size_t *ncuts, size_t *cap)
{
    const AVStream *st = v->fmt->streams[v->vi];
    AVCodecContext *dec = NULL;
    if (om_sig_open_video_decoder(v->fmt, v->vi, v->path, AVDISCARD_DEFAULT, &dec) < 0)
        return -1;
    int64_t ts = (int64_t)llround((ta + v->origin) / av_q2d(st->time_base));
    if (av_seek_frame(v->fmt, v->vi, ts, AVSEEK_FLAG_BACKWARD) < 0) {
        avcodec_free_context(&dec);
        return -1;
    }
    om_luma_grid *prev = xmalloc(sizeof(*prev)), *cur = xmalloc(sizeof(*cur));
    size_t cap_s = 64, ns = 0;
    double *score = xmalloc(cap_s * sizeof(double)), *when = xmalloc(cap_s * sizeof(double));
    int *cutlike = xmalloc(cap_s * sizeof(int));
    int have_prev = 0, done = 0, eof = 0;
    while (!done && v->refine_budget > 0) {
        if (!eof) {
            int r = av_read_frame(v->fmt, v->pkt);
            if (r < 0) {
                eof = 1;
                avcodec_send_packet(dec, NULL);
            } else {
                if (v->pkt->stream_index == v->vi)
                    avcodec_send_packet(dec, v->pkt);
                av_packet_unref(v->pkt);
            }
        }
        int got_any = 0;
        while (avcodec_receive_frame(dec, v->frame) >= 0) {
            got_any = 1;
            if (v->refine_budget > 0) /* every decoded frame counts, also those before ta */
                v->refine_budget--;
            double t = om_sig_frame_time(v->frame, st, v->origin);
            if (isnan(t) || t < ta - 1e-3) {
                av_frame_unref(v->frame);
                continue;
            }
            if (t > tb + 1e-3) {
                done = 1;
                av_frame_unref(v->frame);
                break;
            }
            if (om_luma_grid_from_frame(v->frame, GRID_W, GRID_H, cur) == 0) {
                if (have_prev) {
                    double hd, gd;
                    om_luma_grid_distance(prev, cur, &hd, &gd);
                    if (ns == cap_s) {
                        cap_s *= 2;
                        score = xrealloc(score, cap_s * sizeof(double));
                        when = xrealloc(when, cap_s * sizeof(double));
                        cutlike = xrealloc(cutlike, cap_s * sizeof(int));
                    }
                    score[ns] = hd + 2.5 * gd;
                    when[ns] = t;
                    cutlike[ns] = hd > CUT_HD || gd > CUT_GD;
                    ns++;
                }
                om_luma_grid *tmp = prev;
                prev = cur;
                cur = tmp;
                have_prev = 1;
            }
            av_frame_unref(v->frame);
        }
        if (eof && !got_any)
            break;
    }
    if (ns > 0) {
        double *tmp = xmalloc(ns * sizeof(double));
        memcpy(tmp, score, ns * sizeof(double));
        double med = om_sig_median(tmp, ns);
        free(tmp);
        for (size_t i = 0; i < ns; i++)
            if (cutlike[i] && score[i] >= 3.0 * med)
                push_double(cuts, ncuts, cap, when[i]);
    }
    free(score);
    free(when);
    free(cutlike);
    free(prev);
    free(cur);
    avcodec_free_context(&dec);
    return ns > 0 ? 0 : -1;
}

/* The level a cut frame must stand out against: the 90th percentile of the non-key
 * packets within +-12 of i (excluding i). Not the median: with B-frame pyramids the median
 * is a small B frame and every ordinary P frame would look like a spike. */
static double local_level(const vpacket *p, size_t np, size_t i)
{
    double buf[24];
    size_t n = 0;
    size_t a = i >= 12 ? i - 12 : 0, b = i + 13 < np ? i + 13 : np;
    for (size_t j = a; j < b; j++)
        if (j != i && !p[j].key)
            buf[n++] = p[j].size;
    if (n == 0)
        return 0;
    qsort(buf, n, sizeof(double), om_sig_cmp_double);
    return buf[(size_t)llround(0.9 * (double)(n - 1))];
}

/* Median inter-frame size of up to 12 non-key packets before packet b (after packet lo)
 * against up to 12 after b: 1 when they differ by more than 2.5x either way. */
static int size_regime_change(const vpacket *p, size_t np, size_t lo, size_t b)
{
    double before[12], after[12];
    size_t nb = 0, na = 0;
    for (size_t i = b; i-- > lo + 1 && nb < 12;)
        if (!p[i].key)
            before[nb++] = p[i].size;
    for (size_t i = b + 1; i < np && na < 12; i++)
        if (!p[i].key)
            after[na++] = p[i].size;
    if (nb < 4 || na < 4)
        return 0;
    double mb = fmax(om_sig_median(before, nb), 16.0), ma = fmax(om_sig_median(after, na), 16.0);
    return ma > 2.5 * mb || mb > 2.5 * ma;
}

/* The inter frame in (lo, hi) where the inter-frame cost steps most (mean log size of the
 * 8 before against the 8 from it on; the mean peaks at the step where a median would
 * plateau): a cut to a simpler or busier picture that does not spike. Returns its index
 * when the step is at least 3x, else SIZE_MAX. */
static size_t size_step(const vpacket *p, size_t lo, size_t hi)
{
    size_t best = SIZE_MAX;
    double best_step = log(3.0);
    for (size_t i = lo + 1; i < hi; i++) {
        if (p[i].key)
            continue;
        double sb = 0, sa = 0;
        size_t nb = 0, na = 0;
        for (size_t j = i; j-- > lo + 1 && nb < 8;)
            if (!p[j].key) {
                sb += log(fmax(p[j].size, 16.0));
                nb++;
            }
        for (size_t j = i; j < hi && na < 8; j++)
            if (!p[j].key) {
                sa += log(fmax(p[j].size, 16.0));
                na++;
            }
        if (nb < 4 || na < 4)
            continue;
        double step = fabs(sa / (double)na - sb / (double)nb);
        if (step > best_step) {
            best_step = step;
            best = i;
        }
    }
    return best;
}

/* An inter frame that stands out 4x above its neighbours and costs at least 15% of a
 * nearby keyframe: a hard cut coded (mostly) intra. */
static int is_cut_spike(const vpacket *p, const double *spike, const int *prev_key,
                        const int *next_key, size_t i)
{
    if (p[i].key || spike[i] < 4.0)
        return 0;
    double kref = fmin(prev_key[i], next_key[i] > 0 ? next_key[i] : prev_key[i]);
    return p[i].size >= 0.15 * kref;
}

static void detect_cuts(vscan *v, const om_video_opts *o, om_video_signals *out)
{
    size_t cap = 0, ncuts = 0;
    double *cuts = NULL;
    const vpacket *p = v->p;
    size_t np = v->np;

    /* Size of the nearest keyframe packet before / after each packet (0: none). */
    int *prev_key = xmalloc((np ? np : 1) * sizeof(int));
    int *next_key = xmalloc((np ? np : 1) * sizeof(int));
    int last = 0;
    for (size_t i = 0; i < np; i++) {
        if (p[i].key)
            last = p[i].size;
        prev_key[i] = last;
    }
    last = 0;
    for (size_t i = np; i-- > 0;) {
        if (p[i].key)
            last = p[i].size;
        next_key[i] = last;
    }
    double *spike = xcalloc(np ? np : 1, sizeof(double)); /* size / local level */
    for (size_t i = 0; i < np && v->size_clues; i++)
        if (!p[i].key)
            spike[i] = p[i].size / fmax(local_level(p, np, i), 16.0);

    /* Consecutive anchors (decoded keyframes / probed I frames) that differ hold at least
     * one cut; where it goes is decided below, in the order signals.h describes. */
    size_t nk = v->nk;
    int *spike_at = xmalloc((nk ? nk : 1) * sizeof(int)); /* -2 unchanged, -1 no spike */
    int *strong = xcalloc(nk ? nk : 1, sizeof(int));
    for (size_t k = 1; k < nk; k++) {
        const vkey *a = &v->k[k - 1], *b = &v->k[k];
        double hd, gd;
        om_luma_grid_distance(a->grid, b->grid, &hd, &gd);
        spike_at[k] = -2;
        om_debug("media", "keyframes %.3f -> %.3f: hist %.3f grid %.3f", a->t, b->t, hd, gd);
        if (!(hd > CUT_HD || gd > CUT_GD))
            continue;
        spike_at[k] = -1;
        strong[k] = hd > STRONG_HD || gd > STRONG_GD;
        for (size_t i = a->pkt + 1; i < b->pkt && i < np; i++) {
            if (is_cut_spike(p, spike, prev_key, next_key, i)) {
                spike_at[k] = (int)i;
                break;
            }
        }
    }
    /* A fixed-GOP encoder puts keyframes at a regular spacing; one that inserts them at
     * shot changes (x264's scenecut) does not, and there a keyframe after a strong change
     * is most likely the cut itself. */
    int regular_gop = 0;
    {
        double *gaps = xmalloc((np ? np : 1) * sizeof(double));
        size_t ng = 0;
        double lk = NAN;
        for (size_t i = 0; i < np; i++) {
            if (!p[i].key)
                continue;
            if (!isnan(lk) && p[i].t > lk)
                gaps[ng++] = p[i].t - lk;
            lk = p[i].t;
        }
        if (ng >= 3) {
            double med = out->key_interval, tol = 1.5 * (np > 1 ? out->duration / np : 0.04);
            size_t near = 0;
            for (size_t i = 0; i < ng; i++)
                near += fabs(gaps[i] - med) <= tol;
            /* one odd gap (the last GOP is usually short) does not count against it */
            regular_gop = (double)near >= 0.8 * (double)(ng - 1);
        }
        free(gaps);
    }
    om_debug("media", "%s: keyframe spacing %s (median %.3f s)", v->path,
             regular_gop ? "regular" : "irregular", out->key_interval);

    /* Refinement order while the budget lasts: strong changes before weak ones (motion
     * can pass the weak thresholds), and among those the intervals without a size clue. */
    size_t *order = xmalloc((nk ? nk : 1) * sizeof(size_t));
    size_t no = 0;
    for (int pass = 0; pass < 4; pass++) {
        int want_strong = pass < 2, want_spike = pass % 2;
        for (size_t k = 1; k < nk; k++)
            if (spike_at[k] != -2 && strong[k] == want_strong && (spike_at[k] >= 0) == want_spike)
                order[no++] = k;
    }
    for (size_t j = 0; j < no; j++) {
        size_t k = order[j];
        const vkey *a = &v->k[k - 1], *b = &v->k[k];
        if (b->pkt == a->pkt + 1) { /* nothing in between: the keyframe is the cut */
            push_double(&cuts, &ncuts, &cap, b->t);
            continue;
        }
        size_t from = a->pkt; /* decoding starts at the keyframe at or before a */
        while (from > 0 && !p[from].key)
            from--;
        size_t frames = b->pkt - from + 1;
        if (frames <= v->refine_budget && refine_cuts(v, a->t, b->t, &cuts, &ncuts, &cap) == 0)
            continue;
        /* No decoding: every spike is a cut, and so is the strongest step in the
         * inter-frame cost between two of them (a cut to a simpler or busier picture); so
         * is a keyframe b around which the inter frames cost very differently (another
         * shot: the encoder put the keyframe at the cut); an intra picture probed between
         * keyframes was sent because it spiked. */
        int placed = 0;
        size_t lo = a->pkt, seg = a->pkt;
        for (size_t i = a->pkt + 1; i <= b->pkt && v->size_clues; i++) {
            int is_spike = i < b->pkt && is_cut_spike(p, spike, prev_key, next_key, i);
            if (!is_spike && i < b->pkt)
                continue;
            size_t st = size_step(p, seg, i);
            if (st != SIZE_MAX) {
                push_double(&cuts, &ncuts, &cap, p[st].t);
                lo = st;
                placed = 1;
            }
            if (is_spike) {
                push_double(&cuts, &ncuts, &cap, p[i].t);
                lo = seg = i;
                placed = 1;
            }
        }
        if (!p[b->pkt].key || (v->size_clues && size_regime_change(p, np, lo, b->pkt))) {
            push_double(&cuts, &ncuts, &cap, b->t);
            placed = 1;
        }
        if (!placed && strong[k] && (!regular_gop || !v->size_clues || b->t - a->t <= 2.5))
            push_double(&cuts, &ncuts, &cap, b->t);
    }
    free(order);
    /* After the last decoded keyframe nothing closes the interval: trust intra-like frames
     * (an encoder-inserted I frame, or a P frame coded almost all intra). */
    size_t tail = nk ? v->k[nk - 1].pkt + 1 : 0;
    for (size_t i = tail; i < np; i++) {
        double kref = fmax(prev_key[i], next_key[i]);
        if (!p[i].key && kref > 0 && spike[i] >= 6.0 && p[i].size >= 0.5 * kref)
            push_double(&cuts, &ncuts, &cap, p[i].t);
    }
    free(spike_at);
    free(strong);
    free(prev_key);
    free(next_key);
    free(spike);

    if (ncuts > 1)
        qsort(cuts, ncuts, sizeof(double), om_sig_cmp_double);
    double t_first = np ? p[0].t : 0;
    for (size_t i = 0; i < np; i++)
        t_first = fmin(t_first, p[i].t);
    size_t m = 0;
    for (size_t i = 0; i < ncuts; i++) {
        if (cuts[i] <= t_first + 0.1)
            continue;
        if (m > 0 && cuts[i] - cuts[m - 1] < o->min_scene)
            continue;
        cuts[m++] = cuts[i];
    }
    out->scenes = cuts;
    out->n_scenes = m;
}

static void compute_motion(const vscan *v, om_video_signals *out)
{
    size_t nsec = om_sig_seconds(out->duration);
    out->n_motion = nsec;
    out->motion = xcalloc(nsec ? nsec : 1, sizeof(double));
    if (nsec == 0)
        return;
    int intra_only = v->np > 0 && out->n_keyframes * 10 >= v->np * 9;
    if (intra_only) {
        /* Every frame is a keyframe: sizes say nothing about motion; use the mean grid
         * change between the keyframes decoded (up to max_key_rate per second), scaled so
         * that a change of a fifth of the luma range reads as 1. */
        double *sum = xcalloc(nsec, sizeof(double));
        size_t *cnt = xcalloc(nsec, sizeof(size_t));
        for (size_t k = 1; k < v->nk; k++) {
            double hd, gd;
            om_luma_grid_distance(v->k[k - 1].grid, v->k[k].grid, &hd, &gd);
            long s = (long)floor(v->k[k].t);
            if (s >= 0 && (size_t)s < nsec) {
                sum[s] += gd;
                cnt[s]++;
            }
        }
        for (size_t s = 0; s < nsec; s++)
            out->motion[s] = cnt[s] ? fmin(1.0, sum[s] / (double)cnt[s] * 5.0) : 0;
        free(sum);
        free(cnt);
        return;
    }
    double *ks = xmalloc((out->n_keyframes ? out->n_keyframes : 1) * sizeof(double));
    size_t nks = 0;
    double *nk_sizes = xmalloc((v->np ? v->np : 1) * sizeof(double));
    size_t nnk = 0;
    for (size_t i = 0; i < v->np; i++) {
        if (v->p[i].key)
            ks[nks++] = v->p[i].size;
        else
            nk_sizes[nnk++] = v->p[i].size;
    }
    double kref = om_sig_median(ks, nks);
    double p90 = nnk ? om_sig_percentile(nk_sizes, nnk, 0.90) : 0;
    kref = fmax(fmax(kref, p90), 1.0);
    free(ks);
    free(nk_sizes);
    double *sum = xcalloc(nsec, sizeof(double));
    size_t *cnt = xcalloc(nsec, sizeof(size_t));
    for (size_t i = 0; i < v->np; i++) {
        if (v->p[i].key)
            continue;
        long s = (long)floor(v->p[i].t);
        if (s >= 0 && (size_t)s < nsec) {
            sum[s] += v->p[i].size;
            cnt[s]++;
        }
    }
    double prev = 0;
    for (size_t s = 0; s < nsec; s++) {
        double m = cnt[s] ? fmin(1.0, sum[s] / cnt[s] / kref) : prev;
        out->motion[s] = m;
        prev = m;
    }
    free(sum);
    free(cnt);
}

int om_video_signals_compute(const char *path, const om_video_opts *opts, om_video_signals *out)
{
    OM_ASSERT(path && out);
    memset(out, 0, sizeof(*out));
    om_video_opts o = OM_VIDEO_OPTS_DEFAULT;
    if (opts)
        o = *opts;
    if (!(o.max_key_rate > 0) || !(o.min_scene >= 0) || o.refine_frames > 1000000)
        return om_error_set(OM_EINVAL, "video signals: bad options max_key_rate=%g min_scene=%g",
                            o.max_key_rate, o.min_scene);
    vscan v = {.path = path};
    om_media_info info;
    int rc = om_media_open(path, &v.fmt, &info);
    if (rc < 0)
        return rc;
    if (!info.has_video) {
        vscan_free(&v);
        return om_error_set(OM_EINVAL, "no video track in %s", path);
    }
    v.vi = info.video_stream;
    v.origin = info.start_time;
    for (unsigned i = 0; i < v.fmt->nb_streams; i++)
        v.fmt->streams[i]->discard = (int)i == v.vi ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    /* Decoders that honour AVDISCARD_NONINTRA (skip anything not intra-coded) can be fed
     * suspected I frames besides keyframes. */
    enum AVCodecID cid = v.fmt->streams[v.vi]->codecpar->codec_id;
    int probe_intra = cid == AV_CODEC_ID_H264 || cid == AV_CODEC_ID_HEVC ||
                      cid == AV_CODEC_ID_MPEG2VIDEO || cid == AV_CODEC_ID_MPEG4;
    v.size_clues = probe_intra;
    double ring[15], ring_tmp[15], last_key_size = 0;
    size_t ring_pos = 0, nring = 0;
    if ((rc = om_sig_open_video_decoder(
             v.fmt, v.vi, path, probe_intra ? AVDISCARD_NONINTRA : AVDISCARD_NONKEY, &v.dec)) < 0) {
        vscan_free(&v);
        return rc;
    }
    v.pkt = av_packet_alloc();
    v.frame = av_frame_alloc();
    if (!v.pkt || !v.frame) {
        vscan_free(&v);
        return om_error_set(OM_ERROR, "%s: out of memory", path);
    }
    const AVStream *st = v.fmt->streams[v.vi];
    double tb = av_q2d(st->time_base), fps = info.fps > 0 ? info.fps : 25.0;
    double last_decoded = -1e9, tmax = 0;
    for (;;) {
        int r = av_read_frame(v.fmt, v.pkt);
        if (r == AVERROR_EOF)
            break;
        if (r < 0) {
            om_warn("media", "%s: reading video stopped early: %s", path, av_err2str(r));
            break;
        }
        if (v.pkt->stream_index != v.vi) {
            av_packet_unref(v.pkt);
            continue;
        }
        int64_t ts = v.pkt->pts != AV_NOPTS_VALUE ? v.pkt->pts : v.pkt->dts;
        double t = ts != AV_NOPTS_VALUE ? (double)ts * tb - v.origin
                                        : (v.np ? v.p[v.np - 1].t + 1.0 / fps : 0.0);
        int key = (v.pkt->flags & AV_PKT_FLAG_KEY) != 0;
        if (v.np == v.pcap) {
            v.pcap = v.pcap ? 2 * v.pcap : 4096;
            v.p = xrealloc(v.p, st_mult(v.pcap, sizeof(vpacket)));
        }
        v.p[v.np++] = (vpacket){t, v.pkt->size, key};
        double dur = v.pkt->duration > 0 ? v.pkt->duration * tb : 1.0 / fps;
        if (t + dur > tmax)
            tmax = t + dur;
        /* An inter packet far bigger than its neighbours may be an I frame the encoder
         * put at a cut (x264 scenecut within min-keyint): decodable on its own, so it is
         * sent too; the decoder skips it unless it is intra (see probe_intra). */
        int probe = 0;
        if (!key && probe_intra) {
            double med = om_sig_median(memcpy(ring_tmp, ring, nring * sizeof(double)), nring);
            probe = nring >= 4 && v.pkt->size >= 4.0 * fmax(med, 16.0) &&
                    v.pkt->size >= 0.15 * last_key_size;
        }
        if (!key) {
            ring[ring_pos] = v.pkt->size;
            ring_pos = (ring_pos + 1) % OM_ARRAY_LEN(ring);
            if (nring < OM_ARRAY_LEN(ring))
                nring++;
        } else {
            last_key_size = v.pkt->size;
        }
        if (key)
            out->n_keyframes++;
        if (key || probe) {
            if (t - last_decoded >= 1.0 / o.max_key_rate - 1e-6) {
                if (v.npending == OM_ARRAY_LEN(v.pending_pkt)) { /* forget the oldest */
                    memmove(v.pending_pkt, v.pending_pkt + 1, (v.npending - 1) * sizeof(size_t));
                    v.npending--;
                }
                if (avcodec_send_packet(v.dec, v.pkt) >= 0) {
                    v.pending_pkt[v.npending++] = v.np - 1;
                    last_decoded = t;
                    out->n_decoded++;
                }
                vscan_take_frames(&v);
            }
        }
        av_packet_unref(v.pkt);
    }
    avcodec_send_packet(v.dec, NULL);
    vscan_take_frames(&v);
    if (v.grid_failed)
        om_warn("media", "%s: pixel format %s not analysed for scene changes", path, info.pix_fmt);
    out->n_packets = v.np;
    out->duration = tmax;
    {
        double *g = xmalloc((v.np ? v.np : 1) * sizeof(double));
        size_t ng = 0;
        double lk = NAN;
        for (size_t i = 0; i < v.np; i++) {
            if (!v.p[i].key)
                continue;
            if (!isnan(lk) && v.p[i].t > lk)
                g[ng++] = v.p[i].t - lk;
            lk = v.p[i].t;
        }
        out->key_interval = om_sig_median(g, ng);
        free(g);
    }
    /* Frame-exact refinement decodes at most refine_frames frames (auto: 2% of the
     * frames, at least 150). */
    if (o.refine_frames < 0)
        v.refine_budget = v.np * 2 / 100 > 150 ? v.np * 2 / 100 : 150;
    else
        v.refine_budget = (size_t)o.refine_frames;
    out->n_refined = v.refine_budget;
    detect_cuts(&v, &o, out);
    out->n_refined -= v.refine_budget;
    compute_motion(&v, out);
    vscan_free(&v);
    return OM_OK;
}

void om_video_signals_release(om_video_signals *s)
{
    if (!s)
        return;
    free(s->scenes);
    free(s->motion);
    memset(s, 0, sizeof(*s));
}
