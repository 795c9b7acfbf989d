/* signals.c: audio signals from PCM (BS.1770 loudness, silences, speech activity, syllable
 * rate, hook figures), cheap video signals (scene cuts, motion) from packet sizes and
 * keyframes, the content-aware crop track, and their raw_ai_output JSON. See signals.h. */
#include "base/common.h"

#include <math.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "media/probe.h"
#include "media/signals.h"

/* ======================================================================================
 * Audio
 * ====================================================================================== */

typedef struct biquad {
    double b0, b1, b2, a1, a2; /* a0 normalised to 1 */
    double z1, z2;             /* transposed direct form II state */
} biquad;

static inline double bq_run(biquad *f, double x)
{
    double y = f->b0 * x + f->z1;
    f->z1 = f->b1 * x - f->a1 * y + f->z2;
    f->z2 = f->b2 * x - f->a2 * y;
    return y;
}

/* Decaying state would end in denormals on digital silence (slow); flush it early. */
static void bq_flush_tiny(biquad *f)
{
    if (fabs(f->z1) < 1e-15 && fabs(f->z2) < 1e-15)
        f->z1 = f->z2 = 0.0;
}

/* BS.1770 K-weighting for sample rate fs. The 48 kHz coefficients of the recommendation are
 * the bilinear transform (with pre-warping at f0) of a high shelf (f0 1681.97 Hz, +4.0 dB,
 * Q 0.7072) and a high pass (f0 38.135 Hz, Q 0.5003); the same prototypes transformed at fs
 * give the filter for fs. At 48 kHz this reproduces the published coefficients exactly
 * (stage 1 b = 1.53512486, -2.69169619, 1.19839281; a = -1.69065929, 0.73248077). */
static void kweight_init(biquad *shelf, biquad *hp, double fs)
{
    memset(shelf, 0, sizeof(*shelf));
    memset(hp, 0, sizeof(*hp));
    double f0 = 1681.974450955533, gain_db = 3.999843853973347, q = 0.7071752369554196;
    double k = tan(M_PI * f0 / fs);
    double vh = pow(10.0, gain_db / 20.0), vb = pow(vh, 0.4996667741545416);
    double a0 = 1.0 + k / q + k * k;
    shelf->b0 = (vh + vb * k / q + k * k) / a0;
    shelf->b1 = 2.0 * (k * k - vh) / a0;
    shelf->b2 = (vh - vb * k / q + k * k) / a0;
    shelf->a1 = 2.0 * (k * k - 1.0) / a0;
    shelf->a2 = (1.0 - k / q + k * k) / a0;

    f0 = 38.13547087602444;
    q = 0.5003270373238773;
    k = tan(M_PI * f0 / fs);
    a0 = 1.0 + k / q + k * k;
    /* The recommendation's numerator is 1, -2, 1 without dividing by a0 (a passband gain
     * of a0 at 48 kHz, +0.04 dB); keep that same passband gain at fs. */
    double k48 = tan(M_PI * f0 / 48000.0);
    double g = (1.0 + k48 / q + k48 * k48) / a0;
    hp->b0 = g;
    hp->b1 = -2.0 * g;
    hp->b2 = g;
    hp->a1 = 2.0 * (k * k - 1.0) / a0;
    hp->a2 = (1.0 - k / q + k * k) / a0;
}

/* RBJ cookbook second-order high/low pass. */
static void rbj_init(biquad *f, double fs, double f0, double q, int highpass)
{
    memset(f, 0, sizeof(*f));
    double w0 = 2.0 * M_PI * f0 / fs, c = cos(w0), alpha = sin(w0) / (2.0 * q);
    double a0 = 1.0 + alpha;
    if (highpass) {
        f->b0 = (1.0 + c) / 2.0 / a0;
        f->b1 = -(1.0 + c) / a0;
    } else {
        f->b0 = (1.0 - c) / 2.0 / a0;
        f->b1 = (1.0 - c) / a0;
    }
    f->b2 = f->b0;
    f->a1 = -2.0 * c / a0;
    f->a2 = (1.0 - alpha) / a0;
}

/* Entries of a per-second series: a trailing part second counts from half a second on
 * (codec padding must not add an entry), and anything non-empty has one. */
static size_t seconds_of(double duration)
{
    if (!(duration > 0))
        return 0;
    size_t n = (size_t)floor(duration + 0.5);
    return n ? n : 1;
}

static double lufs_of(double mean_square)
{
    if (!(mean_square > 0))
        return OM_LUFS_FLOOR;
    double l = -0.691 + 10.0 * log10(mean_square);
    return l < OM_LUFS_FLOOR ? OM_LUFS_FLOOR : l;
}

static double db_of(double mean_square)
{
    return mean_square > 1e-12 ? 10.0 * log10(mean_square) : -120.0;
}

/* BS.1770 gated loudness over 100 ms sub-block powers p[0..n): 400 ms blocks (4 sub-blocks)
 * every 100 ms, absolute gate -70 LUFS, relative gate -10 LU. */
static double gated_loudness(const double *p, size_t n)
{
    if (n < 4) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += p[i];
        return n ? lufs_of(s / (double)n) : OM_LUFS_FLOOR;
    }
    size_t nb = n - 3;
    double sum = 0;
    size_t cnt = 0;
    for (size_t j = 0; j < nb; j++) {
        double z = (p[j] + p[j + 1] + p[j + 2] + p[j + 3]) / 4.0;
        if (z > 0 && -0.691 + 10.0 * log10(z) > -70.0) {
            sum += z;
            cnt++;
        }
    }
    if (cnt == 0)
        return OM_LUFS_FLOOR;
    double rel = -0.691 + 10.0 * log10(sum / (double)cnt) - 10.0;
    double sum2 = 0;
    size_t cnt2 = 0;
    for (size_t j = 0; j < nb; j++) {
        double z = (p[j] + p[j + 1] + p[j + 2] + p[j + 3]) / 4.0;
        if (z <= 0)
            continue;
        double l = -0.691 + 10.0 * log10(z);
        if (l > -70.0 && l > rel) {
            sum2 += z;
            cnt2++;
        }
    }
    return cnt2 ? lufs_of(sum2 / (double)cnt2) : OM_LUFS_FLOOR;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* EBU Tech 3342 loudness range from 100 ms sub-block powers. */
static double loudness_range(const double *p, size_t n)
{
    if (n < 30)
        return 0.0;
    size_t nw = n - 29;
    double *st = xmalloc(st_mult(nw, sizeof(double)));
    double win = 0;
    for (size_t i = 0; i < 30; i++)
        win += p[i];
    size_t cnt = 0;
    double sum = 0;
    for (size_t j = 0; j < nw; j++) {
        if (j > 0)
            win += p[j + 29] - p[j - 1];
        double z = win / 30.0;
        if (z > 0 && -0.691 + 10.0 * log10(z) > -70.0) {
            st[cnt++] = z;
            sum += z;
        }
    }
    double lra = 0.0;
    if (cnt >= 2) {
        double rel = -0.691 + 10.0 * log10(sum / (double)cnt) - 20.0;
        size_t m = 0;
        for (size_t j = 0; j < cnt; j++) {
            double l = -0.691 + 10.0 * log10(st[j]);
            if (l > rel)
                st[m++] = l;
        }
        if (m >= 2) {
            qsort(st, m, sizeof(double), cmp_double);
            double lo = st[(size_t)llround(0.10 * (double)(m - 1))];
            double hi = st[(size_t)llround(0.95 * (double)(m - 1))];
            lra = hi - lo;
        }
    }
    free(st);
    return lra;
}

static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    double *c = xmalloc(st_mult(n, sizeof(double)));
    memcpy(c, v, n * sizeof(double));
    qsort(c, n, sizeof(double), cmp_double);
    double r = c[(size_t)llround(p * (double)(n - 1))];
    free(c);
    return r;
}

/* Per-10 ms sums gathered in one pass over the PCM. */
typedef struct hop_sums {
    double *kw;   /* K-weighted sum of squares */
    double *raw;  /* plain sum of squares */
    double *band; /* 300-3400 Hz sum of squares */
    uint32_t *len;
    size_t n;
} hop_sums;

static void hop_sums_release(hop_sums *h)
{
    free(h->kw);
    free(h->raw);
    free(h->band);
    free(h->len);
    memset(h, 0, sizeof(*h));
}

static void gather_hops(const om_pcm *pcm, hop_sums *h, double *peak_out)
{
    const double fs = pcm->rate;
    size_t nh = (size_t)ceil((double)pcm->n * 100.0 / fs - 1e-9);
    h->n = nh;
    h->kw = xcalloc(nh ? nh : 1, sizeof(double));
    h->raw = xcalloc(nh ? nh : 1, sizeof(double));
    h->band = xcalloc(nh ? nh : 1, sizeof(double));
    h->len = xcalloc(nh ? nh : 1, sizeof(uint32_t));
    biquad ks, kh, bh, bl;
    kweight_init(&ks, &kh, fs);
    rbj_init(&bh, fs, 300.0, M_SQRT1_2, 1);
    int lowpass = fs / 2.0 > 3600.0;
    rbj_init(&bl, fs, lowpass ? 3400.0 : fs / 2.0 * 0.9, M_SQRT1_2, 0);
    int peak = 0;
    const int16_t *s = pcm->samples;
    for (size_t hop = 0; hop < nh; hop++) {
        size_t i0 = (size_t)((uint64_t)hop * (uint64_t)pcm->rate / 100u);
        size_t i1 = (size_t)((uint64_t)(hop + 1) * (uint64_t)pcm->rate / 100u);
        if (i1 > pcm->n)
            i1 = pcm->n;
        double kw = 0, raw = 0, band = 0;
        for (size_t i = i0; i < i1; i++) {
            int v = s[i];
            int a = v < 0 ? -v : v;
            if (a > peak)
                peak = a;
            double x = v * (1.0 / 32768.0);
            raw += x * x;
            double y = bq_run(&kh, bq_run(&ks, x));
            kw += y * y;
            double b = bq_run(&bh, x);
            if (lowpass)
                b = bq_run(&bl, b);
            band += b * b;
        }
        h->kw[hop] = kw;
        h->raw[hop] = raw;
        h->band[hop] = band;
        h->len[hop] = (uint32_t)(i1 - i0);
        bq_flush_tiny(&ks);
        bq_flush_tiny(&kh);
        bq_flush_tiny(&bh);
        bq_flush_tiny(&bl);
    }
    *peak_out = peak > 0 ? 20.0 * log10(peak / 32768.0) : -120.0;
}

static void find_silences(const hop_sums *h, const om_pcm *pcm, double thr_db, double min_len,
                          om_audio_signals *out)
{
    const double thr = pow(10.0, thr_db / 10.0);
    size_t cap = 16, n = 0;
    om_interval *iv = xmalloc(cap * sizeof(*iv));
    const size_t W = 5; /* 50 ms window of 10 ms hops */
    long run_start = -1;
    double t_end = (double)pcm->n / pcm->rate;
    for (size_t w = 0; w <= h->n; w++) {
        int quiet = 0;
        if (w < h->n) {
            size_t e = w + W < h->n ? w + W : h->n;
            double sum = 0, len = 0;
            for (size_t k = w; k < e; k++) {
                sum += h->raw[k];
                len += h->len[k];
            }
            quiet = len > 0 && sum / len < thr;
            if (e - w < 3 && run_start < 0)
                quiet = 0; /* too little audio left to start a silence */
        }
        if (quiet && run_start < 0)
            run_start = (long)w;
        if (!quiet && run_start >= 0) {
            size_t last = w - 1; /* last quiet window */
            double a = (double)((uint64_t)run_start * (uint64_t)pcm->rate / 100u) / pcm->rate;
            size_t eh = last + W < h->n ? last + W : h->n;
            double b = (double)((uint64_t)eh * (uint64_t)pcm->rate / 100u) / pcm->rate;
            if (b > t_end)
                b = t_end;
            if (b - a >= min_len - 1e-9) {
                if (n == cap) {
                    cap *= 2;
                    iv = xrealloc(iv, st_mult(cap, sizeof(*iv)));
                }
                iv[n].start = pcm->start + a;
                iv[n].end = pcm->start + b;
                n++;
            }
            run_start = -1;
        }
    }
    out->silences = iv;
    out->n_silences = n;
}

/* Speech-band activity over 20 ms frames and syllable nuclei from the 10 ms envelope. */
static void speech_measures(const hop_sums *h, double silence_total, om_audio_signals *out)
{
    size_t nf = h->n / 2;
    out->speech_activity = 0;
    out->syllable_rate = 0;
    out->wpm_estimate = 0;
    if (nf == 0)
        return;
    double *lv = xmalloc(nf * sizeof(double));
    for (size_t f = 0; f < nf; f++) {
        double len = (double)h->len[2 * f] + h->len[2 * f + 1];
        lv[f] = db_of(len > 0 ? (h->band[2 * f] + h->band[2 * f + 1]) / len : 0);
    }
    double floor_db = percentile(lv, nf, 0.10), top_db = percentile(lv, nf, 0.95);
    double thr = fmax(fmax(floor_db + 9.0, -50.0), top_db - 30.0);
    size_t active = 0;
    for (size_t f = 0; f < nf; f++)
        active += lv[f] > thr;
    free(lv);
    out->speech_activity = (double)active / (double)nf;
    if (active == 0)
        return;

    /* Envelope: 50 ms centred moving average of the band power, in dB. */
    size_t n = h->n;
    double *env = xmalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        size_t a = i >= 2 ? i - 2 : 0, b = i + 3 < n ? i + 3 : n;
        double s = 0, len = 0;
        for (size_t k = a; k < b; k++) {
            s += h->band[k];
            len += h->len[k];
        }
        env[i] = db_of(len > 0 ? s / len : 0);
    }
    /* Peak/valley hysteresis: a nucleus is a peak 3 dB above the valleys on both sides, in
     * the active range, at least 100 ms after the previous one. */
    const double hyst = 3.0;
    int seeking_peak = 1;
    double cur_max = -1e9, cur_min = 1e9, last_valley = -120.0;
    size_t max_i = 0, peaks = 0;
    long last_peak = -1000;
    for (size_t i = 0; i < n; i++) {
        double v = env[i];
        if (seeking_peak) {
            if (v > cur_max) {
                cur_max = v;
                max_i = i;
            } else if (v < cur_max - hyst) {
                if (cur_max > thr && cur_max - last_valley >= hyst &&
                    (long)max_i - last_peak >= 10) {
                    peaks++;
                    last_peak = (long)max_i;
                }
                seeking_peak = 0;
                cur_min = v;
            }
        } else {
            if (v < cur_min) {
                cur_min = v;
            } else if (v > cur_min + hyst) {
                last_valley = cur_min;
                seeking_peak = 1;
                cur_max = v;
                max_i = i;
            }
        }
    }
    free(env);
    double speaking = out->duration - silence_total;
    out->syllable_rate = speaking > 0.1 ? (double)peaks / speaking : 0;
    out->wpm_estimate = out->syllable_rate * 60.0 / 1.5;
}

int om_audio_signals_compute(const om_pcm *pcm, const om_audio_opts *opts, om_audio_signals *out)
{
    OM_ASSERT(pcm && out);
    memset(out, 0, sizeof(*out));
    om_audio_opts o = OM_AUDIO_OPTS_DEFAULT;
    if (opts)
        o = *opts;
    if (pcm->rate < 8000 || pcm->rate > 192000)
        return om_error_set(OM_EINVAL, "signals: PCM rate %d Hz is outside 8000..192000",
                            pcm->rate);
    if (!(o.silence_db < 0 && o.silence_db > -120) || !(o.silence_min > 0) || !(o.hook_s > 0))
        return om_error_set(OM_EINVAL,
                            "signals: bad options silence_db=%g silence_min=%g hook_s=%g",
                            o.silence_db, o.silence_min, o.hook_s);
    if (pcm->n > 0 && !pcm->samples)
        return om_error_set(OM_EINVAL, "signals: PCM has %zu samples but no buffer", pcm->n);

    out->start = pcm->start;
    out->rate = pcm->rate;
    out->duration = (double)pcm->n / pcm->rate;
    out->silence_db = o.silence_db;
    out->hook_s = o.hook_s;

    hop_sums h;
    gather_hops(pcm, &h, &out->peak_dbfs);

    /* 100 ms sub-blocks; the dual-mono factor for multichannel sources. */
    const double gch = pcm->src_channels >= 2 ? 2.0 : 1.0;
    size_t nb = (h.n + 9) / 10;
    out->n_blocks = nb;
    out->block_power = xcalloc(nb ? nb : 1, sizeof(double));
    size_t nfull = 0;
    for (size_t b = 0; b < nb; b++) {
        double s = 0, len = 0;
        for (size_t k = 10 * b; k < 10 * b + 10 && k < h.n; k++) {
            s += h.kw[k];
            len += h.len[k];
        }
        out->block_power[b] = len > 0 ? gch * s / len : 0;
        if (len >= 0.099 * pcm->rate)
            nfull = b + 1;
    }
    out->integrated = gated_loudness(out->block_power, nfull);
    out->range = loudness_range(out->block_power, nfull);

    size_t nsec = seconds_of(out->duration);
    out->n_short_term = nsec;
    out->short_term = xcalloc(nsec ? nsec : 1, sizeof(double));
    for (size_t i = 0; i < nsec; i++) {
        long a = ((long)i - 1) * 10, b = ((long)i + 2) * 10;
        if (a < 0)
            a = 0;
        if (b > (long)nb)
            b = (long)nb;
        double s = 0;
        long cnt = 0;
        for (long k = a; k < b; k++, cnt++)
            s += out->block_power[k];
        out->short_term[i] = lufs_of(cnt ? s / (double)cnt : 0);
    }

    find_silences(&h, pcm, o.silence_db, o.silence_min, out);
    double silent = 0;
    for (size_t i = 0; i < out->n_silences; i++)
        silent += out->silences[i].end - out->silences[i].start;
    speech_measures(&h, silent, out);
    hop_sums_release(&h);

    if (out->duration > 0)
        om_audio_hook_at(out, out->start, out->start + out->duration, o.hook_s, &out->hook);
    else
        out->hook = (om_audio_hook){OM_LUFS_FLOOR, OM_LUFS_FLOOR, 0, 0, 0};
    return OM_OK;
}

void om_audio_signals_release(om_audio_signals *s)
{
    if (!s)
        return;
    free(s->short_term);
    free(s->block_power);
    free(s->silences);
    memset(s, 0, sizeof(*s));
}

double om_audio_loudness_between(const om_audio_signals *s, double t0, double t1)
{
    if (!s || s->n_blocks == 0 || !(t1 > t0))
        return OM_LUFS_FLOOR;
    double a = (t0 - s->start) * 10.0, b = (t1 - s->start) * 10.0;
    if (a < 0)
        a = 0;
    if (b > (double)s->n_blocks)
        b = (double)s->n_blocks;
    if (!(b > a))
        return OM_LUFS_FLOOR;
    size_t i0 = (size_t)ceil(a - 1e-6), i1 = (size_t)floor(b + 1e-6);
    if (i1 <= i0) { /* under 100 ms: the sub-block holding t0 */
        size_t k = (size_t)a;
        if (k >= s->n_blocks)
            k = s->n_blocks - 1;
        return lufs_of(s->block_power[k]);
    }
    return gated_loudness(s->block_power + i0, i1 - i0);
}

/* Seconds of [a, b] covered by silences. */
static double silence_overlap(const om_audio_signals *s, double a, double b)
{
    double tot = 0;
    for (size_t i = 0; i < s->n_silences; i++) {
        double x = fmax(a, s->silences[i].start), y = fmin(b, s->silences[i].end);
        if (y > x)
            tot += y - x;
    }
    return tot;
}

int om_audio_hook_at(const om_audio_signals *s, double start, double end, double hook_s,
                     om_audio_hook *out)
{
    OM_ASSERT(s && out);
    memset(out, 0, sizeof(*out));
    if (hook_s <= 0)
        hook_s = s->hook_s > 0 ? s->hook_s : 3.0;
    double a_end = s->start + s->duration;
    if (!(end > start) || start < s->start - 1e-6 || start >= a_end)
        return om_error_set(OM_EINVAL,
                            "hook: span [%.3f, %.3f] is empty or outside the audio "
                            "[%.3f, %.3f]",
                            start, end, s->start, a_end);
    if (end > a_end)
        end = a_end;
    double h_end = fmin(start + hook_s, end);
    out->first_lufs = om_audio_loudness_between(s, start, h_end);
    out->rest_lufs = end - h_end >= 0.1 ? om_audio_loudness_between(s, h_end, end) : OM_LUFS_FLOOR;
    out->delta_lu = out->first_lufs - out->rest_lufs;
    out->lead_silence = 0;
    for (size_t i = 0; i < s->n_silences; i++) {
        const om_interval *iv = &s->silences[i];
        if (iv->start <= start + 0.011 && iv->end > start) {
            out->lead_silence = fmin(iv->end, end) - start;
            break;
        }
    }
    double hl = h_end - start;
    out->active_fraction = hl > 0 ? 1.0 - silence_overlap(s, start, h_end) / hl : 0;
    if (out->active_fraction < 0)
        out->active_fraction = 0;
    return OM_OK;
}

/* ======================================================================================
 * Video: shared helpers
 * ====================================================================================== */

#define GRID_W 64
#define GRID_H 36
#define GRID_SUB 4 /* samples per cell per axis */
#define HIST_BINS 32

typedef struct luma_grid {
    int gw, gh;
    float mean[GRID_W * GRID_H];
    float dev[GRID_W * GRID_H];
    float hist[HIST_BINS]; /* normalised to sum 1 */
} luma_grid;

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
static int grid_from_frame(const AVFrame *f, int gw, int gh, luma_grid *g)
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
static void grid_distance(const luma_grid *a, const luma_grid *b, double *hd, double *gd)
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
static int open_video_decoder(AVFormatContext *fmt, int vi, const char *path,
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

static double frame_time(const AVFrame *f, const AVStream *st, double origin)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    return ts == AV_NOPTS_VALUE ? NAN : (double)ts * av_q2d(st->time_base) - origin;
}

/* ======================================================================================
 * Video: scene cuts and motion
 * ====================================================================================== */

typedef struct vpacket {
    double t;
    int size;
    int key;
} vpacket;

typedef struct vkey {
    double t;
    size_t pkt; /* index into the packet list */
    luma_grid *grid;
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
        double t = frame_time(v->frame, st, v->origin);
        size_t pidx = vscan_match_pending(v, t);
        if (isnan(t))
            t = v->np ? v->p[pidx].t : 0;
        if (v->np && !v->p[pidx].key && v->frame->pict_type != AV_PICTURE_TYPE_I) {
            av_frame_unref(v->frame); /* not an intra picture after all */
            continue;
        }
        luma_grid *g = xmalloc(sizeof(*g));
        if (grid_from_frame(v->frame, GRID_W, GRID_H, g) < 0) {
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

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
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
    if (open_video_decoder(v->fmt, v->vi, v->path, AVDISCARD_DEFAULT, &dec) < 0)
        return -1;
    int64_t ts = (int64_t)llround((ta + v->origin) / av_q2d(st->time_base));
    if (av_seek_frame(v->fmt, v->vi, ts, AVSEEK_FLAG_BACKWARD) < 0) {
        avcodec_free_context(&dec);
        return -1;
    }
    luma_grid *prev = xmalloc(sizeof(*prev)), *cur = xmalloc(sizeof(*cur));
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
            double t = frame_time(v->frame, st, v->origin);
            if (isnan(t) || t < ta - 1e-3) {
                av_frame_unref(v->frame);
                continue;
            }
            if (t > tb + 1e-3) {
                done = 1;
                av_frame_unref(v->frame);
                break;
            }
            if (grid_from_frame(v->frame, GRID_W, GRID_H, cur) == 0) {
                if (have_prev) {
                    double hd, gd;
                    grid_distance(prev, cur, &hd, &gd);
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
                luma_grid *tmp = prev;
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
        double med = median_of(tmp, ns);
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
    qsort(buf, n, sizeof(double), cmp_double);
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
    double mb = fmax(median_of(before, nb), 16.0), ma = fmax(median_of(after, na), 16.0);
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
        grid_distance(a->grid, b->grid, &hd, &gd);
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
        qsort(cuts, ncuts, sizeof(double), cmp_double);
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
    size_t nsec = seconds_of(out->duration);
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
            grid_distance(v->k[k - 1].grid, v->k[k].grid, &hd, &gd);
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
    double kref = median_of(ks, nks);
    double p90 = nnk ? percentile(nk_sizes, nnk, 0.90) : 0;
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
    if ((rc = open_video_decoder(
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
            double med = median_of(memcpy(ring_tmp, ring, nring * sizeof(double)), nring);
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
        out->key_interval = median_of(g, ng);
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

/* ======================================================================================
 * Content-aware crop track
 * ====================================================================================== */

typedef struct track_state {
    int rotation;
    int cgw, cgh;     /* grid in coded orientation */
    int dcols, drows; /* grid in display orientation */
    double window;
    double motion[GRID_W * GRID_H]; /* accumulated |diff| since the last sample */
    int nmotion;
    luma_grid prev, cur;
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
    double med = median_of(tmp, (size_t)n);
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
    if (grid_from_frame(f, s->cgw, s->cgh, &s->cur) < 0) {
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
    if ((rc = open_video_decoder(fmt, vi, path, AVDISCARD_NONREF, &dec)) < 0) {
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
            double t = frame_time(frame, st, info.start_time);
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
