/* loudness.c: BS.1770-4 / EBU R128 loudness of mono PCM: K-weighting, 100 ms sub-block
 * powers, gated integrated loudness and the Tech 3342 loudness range. See loudness.h. */
#include "base/common.h"

#include <math.h>

#include "media/loudness.h"
#include "media/signals_int.h"

/* BS.1770 K-weighting for sample rate fs. The 48 kHz coefficients of the recommendation are
 * the bilinear transform (with pre-warping at f0) of a high shelf (f0 1681.97 Hz, +4.0 dB,
 * Q 0.7072) and a high pass (f0 38.135 Hz, Q 0.5003); the same prototypes transformed at fs
 * give the filter for fs. At 48 kHz this reproduces the published coefficients exactly
 * (stage 1 b = 1.53512486, -2.69169619, 1.19839281; a = -1.69065929, 0.73248077). */
static void kweight_init(om_biquad *shelf, om_biquad *hp, double fs)
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

double om_lufs(double mean_square)
{
    if (!(mean_square > 0))
        return OM_LUFS_FLOOR;
    double l = -0.691 + 10.0 * log10(mean_square);
    return l < OM_LUFS_FLOOR ? OM_LUFS_FLOOR : l;
}

/* BS.1770 gated loudness over 100 ms sub-block powers p[0..n): 400 ms blocks (4 sub-blocks)
 * every 100 ms, absolute gate -70 LUFS, relative gate -10 LU. */
double om_loudness_gated(const double *p, size_t n)
{
    if (n < 4) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += p[i];
        return n ? om_lufs(s / (double)n) : OM_LUFS_FLOOR;
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
    return cnt2 ? om_lufs(sum2 / (double)cnt2) : OM_LUFS_FLOOR;
}

/* EBU Tech 3342 loudness range from 100 ms sub-block powers. */
double om_loudness_range(const double *p, size_t n)
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

int om_loudness_measure(const om_pcm *pcm, om_loudness *out)
{
    OM_ASSERT(pcm && out);
    memset(out, 0, sizeof(*out));
    if (pcm->rate < 8000 || pcm->rate > 192000)
        return om_error_set(OM_EINVAL, "loudness: PCM rate %d Hz is outside 8000..192000",
                            pcm->rate);
    if (pcm->n > 0 && !pcm->samples)
        return om_error_set(OM_EINVAL, "loudness: PCM has %zu samples but no buffer", pcm->n);
    const double gch = pcm->src_channels >= 2 ? 2.0 : 1.0; /* dual mono */
    size_t nb = (size_t)ceil((double)pcm->n * 10.0 / pcm->rate - 1e-9);
    out->n_blocks = nb;
    out->block_power = xcalloc(nb ? nb : 1, sizeof(double));
    om_biquad ks, kh;
    kweight_init(&ks, &kh, pcm->rate);
    const int16_t *s = pcm->samples;
    for (size_t b = 0; b < nb; b++) {
        size_t i0 = (size_t)((uint64_t)b * (uint64_t)pcm->rate / 10u);
        size_t i1 = (size_t)((uint64_t)(b + 1) * (uint64_t)pcm->rate / 10u);
        if (i1 > pcm->n)
            i1 = pcm->n;
        double kw = 0;
        for (size_t i = i0; i < i1; i++) {
            double y = om_bq_run(&kh, om_bq_run(&ks, s[i] * (1.0 / 32768.0)));
            kw += y * y;
        }
        om_bq_flush_tiny(&ks);
        om_bq_flush_tiny(&kh);
        out->block_power[b] = i1 > i0 ? gch * kw / (double)(i1 - i0) : 0;
        if ((double)(i1 - i0) >= 0.099 * pcm->rate)
            out->n_full = b + 1;
    }
    out->integrated = om_loudness_gated(out->block_power, out->n_full);
    out->range = om_loudness_range(out->block_power, out->n_full);
    return OM_OK;
}

void om_loudness_release(om_loudness *l)
{
    if (!l)
        return;
    free(l->block_power);
    memset(l, 0, sizeof(*l));
}
