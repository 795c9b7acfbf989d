/*
 * vad.c: voice activity for the transcriber (om_asr_vad_split, asr.h): the stretches of the
 * audio that cannot hold a word are cut out of the chunks and not decoded.
 *
 * Frames of 10 ms are speech when their energy is above the noise floor by the chunker's
 * margin (floor + max(6 dB, 30% of the floor-to-speech range), the floor and the speech level
 * being the 10th and 90th percentiles of the frame energies); every speech frame keeps
 * VAD_HANG_S of audio on each side (word onsets and releases are quiet). What is left, when
 * at least min_gap_s long, is silence: its own chunk, skipped. Audio without 10 dB between
 * its quiet and its loud frames (continuous noise, music, a constant tone) has no such
 * stretches and is decoded whole: energy alone cannot tell music from speech.
 */
#include "base/common.h"

#include <math.h>

#include "asr/asr.h"

#define VAD_RATE 16000
#define VAD_HOP 160 /* 10 ms */
#define VAD_HANG_S 0.12

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

size_t om_asr_vad_split(const int16_t *pcm, size_t n, const size_t *bounds, size_t nchunks,
                        double min_gap_s, size_t **bounds_out, unsigned char **skip_out,
                        double *skipped_s_out)
{
    size_t nf = n / VAD_HOP;
    float *db = xmalloc((nf + 1) * sizeof(*db));
    for (size_t f = 0; f < nf; f++) {
        double e = 0;
        for (size_t i = 0; i < VAD_HOP; i++) {
            double x = pcm[f * VAD_HOP + i];
            e += x * x;
        }
        db[f] = (float)(10.0 * log10(e / VAD_HOP + 1.0));
    }
    size_t stride = nf > 20000 ? nf / 20000 : 1, ns = 0;
    float *sorted = xmalloc((nf / stride + 2) * sizeof(*sorted));
    for (size_t f = 0; f < nf; f += stride)
        sorted[ns++] = db[f];
    qsort(sorted, ns, sizeof(*sorted), cmp_float);
    float floor_db = ns ? sorted[ns / 10] : 0, speech_db = ns ? sorted[(ns * 9) / 10] : 0;
    free(sorted);
    float thr = floor_db + fmaxf(6.0f, 0.3f * (speech_db - floor_db));

    /* cut points: the chunk bounds, plus the edges of every long silence */
    size_t cap = nchunks + 1 + 16, nc = 0;
    size_t *cuts = xmalloc(cap * sizeof(*cuts));
    for (size_t i = 0; i <= nchunks; i++)
        cuts[nc++] = bounds[i];
    size_t ngaps = 0, gcap = 16;
    size_t(*gaps)[2] = xmalloc(gcap * sizeof(*gaps));
    if (nf > 0 && speech_db - floor_db >= 10.0f) {
        size_t hang = (size_t)(VAD_HANG_S * VAD_RATE / VAD_HOP);
        size_t min_gap = (size_t)(min_gap_s * VAD_RATE / VAD_HOP);
        unsigned char *voiced = xcalloc(nf + 1, 1);
        for (size_t f = 0; f < nf; f++)
            if (db[f] >= thr) {
                size_t a = f > hang ? f - hang : 0, b = f + hang < nf ? f + hang : nf - 1;
                memset(voiced + a, 1, b - a + 1);
            }
        for (size_t f = 0; f < nf;) {
            if (voiced[f]) {
                f++;
                continue;
            }
            size_t s = f;
            while (f < nf && !voiced[f])
                f++;
            if (f - s < min_gap || f - s < 1)
                continue;
            if (ngaps == gcap) {
                gcap = st_mult(gcap, 2);
                gaps = xrealloc(gaps, gcap * sizeof(*gaps));
            }
            gaps[ngaps][0] = s * VAD_HOP;
            gaps[ngaps][1] = f == nf ? n : f * VAD_HOP;
            if (nc + 2 > cap) {
                cap = st_mult(cap, 2);
                cuts = xrealloc(cuts, cap * sizeof(*cuts));
            }
            cuts[nc++] = gaps[ngaps][0];
            cuts[nc++] = gaps[ngaps][1];
            ngaps++;
        }
        free(voiced);
    }
    free(db);
    qsort(cuts, nc, sizeof(*cuts), cmp_size);
    size_t k = 0; /* unique, ascending */
    for (size_t i = 0; i < nc; i++)
        if (k == 0 || cuts[i] != cuts[k - 1])
            cuts[k++] = cuts[i];
    size_t nout = k ? k - 1 : 0;
    unsigned char *skip = xcalloc(nout + 1, 1);
    double skipped = 0;
    for (size_t i = 0, g = 0; i < nout; i++) {
        while (g < ngaps && gaps[g][1] <= cuts[i])
            g++;
        if (g < ngaps && gaps[g][0] <= cuts[i] && cuts[i + 1] <= gaps[g][1]) {
            skip[i] = 1;
            skipped += (double)(cuts[i + 1] - cuts[i]) / VAD_RATE;
        }
    }
    free(gaps);
    *bounds_out = cuts;
    *skip_out = skip;
    if (skipped_s_out)
        *skipped_s_out = skipped;
    return nout;
}
