/* audiosig.c: audio signals from PCM: BS.1770 loudness (integrated, range, short-term,
 * loudness of any span), silences, speech activity, syllable rate and hook figures, all from
 * one pass over the PCM. See audiosig.h. */
#include "base/common.h"

#include <math.h>

#include "media/audiosig.h"
#include "media/signals_int.h"

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
            qsort(st, m, sizeof(double), om_sig_cmp_double);
            double lo = st[(size_t)llround(0.10 * (double)(m - 1))];
            double hi = st[(size_t)llround(0.95 * (double)(m - 1))];
            lra = hi - lo;
        }
    }
    free(st);
    return lra;
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
    double floor_db = om_sig_percentile(lv, nf, 0.10), top_db = om_sig_percentile(lv, nf, 0.95);
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

    size_t nsec = om_sig_seconds(out->duration);
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
