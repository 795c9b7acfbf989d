/* audiosig.c: audio signals from PCM: loudness (loudness.c's figures, short-term, the
 * loudness of any span), silences, speech activity, syllable rate and hook figures. See
 * audiosig.h. */
#include "base/common.h"

#include <math.h>

#include "media/audiosig.h"
#include "media/loudness.h"
#include "media/signals_int.h"

/* RBJ cookbook second-order high/low pass. */
static void rbj_init(om_biquad *f, double fs, double f0, double q, int highpass)
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

static double db_of(double mean_square)
{
    return mean_square > 1e-12 ? 10.0 * log10(mean_square) : -120.0;
}

/* Per-10 ms sums gathered in one pass over the PCM. */
typedef struct hop_sums {
    double *raw;  /* plain sum of squares */
    double *band; /* 300-3400 Hz sum of squares */
    uint32_t *len;
    size_t n;
} hop_sums;

static void hop_sums_release(hop_sums *h)
{
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
    h->raw = xcalloc(nh ? nh : 1, sizeof(double));
    h->band = xcalloc(nh ? nh : 1, sizeof(double));
    h->len = xcalloc(nh ? nh : 1, sizeof(uint32_t));
    om_biquad bh, bl;
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
        double raw = 0, band = 0;
        for (size_t i = i0; i < i1; i++) {
            int v = s[i];
            int a = v < 0 ? -v : v;
            if (a > peak)
                peak = a;
            double x = v * (1.0 / 32768.0);
            raw += x * x;
            double b = om_bq_run(&bh, x);
            if (lowpass)
                b = om_bq_run(&bl, b);
            band += b * b;
        }
        h->raw[hop] = raw;
        h->band[hop] = band;
        h->len[hop] = (uint32_t)(i1 - i0);
        om_bq_flush_tiny(&bh);
        om_bq_flush_tiny(&bl);
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

    om_loudness l;
    int rc = om_loudness_measure(pcm, &l);
    if (rc < 0)
        return rc;
    out->start = pcm->start;
    out->rate = pcm->rate;
    out->duration = (double)pcm->n / pcm->rate;
    out->silence_db = o.silence_db;
    out->hook_s = o.hook_s;

    hop_sums h;
    gather_hops(pcm, &h, &out->peak_dbfs);

    out->integrated = l.integrated;
    out->range = l.range;
    out->block_power = l.block_power; /* ours now */
    out->n_blocks = l.n_blocks;
    const size_t nb = l.n_blocks;

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
        out->short_term[i] = om_lufs(cnt ? s / (double)cnt : 0);
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
        return om_lufs(s->block_power[k]);
    }
    return om_loudness_gated(s->block_power + i0, i1 - i0);
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
