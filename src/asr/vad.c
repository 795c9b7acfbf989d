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
 * stretches: energy alone cannot tell music from speech.
 *
 * Music (and other steady sound that holds no speech: a tone, noise) is told by two
 * features of 1-s windows (0.5 s apart) known from audio classification (Lu, Zhang and
 * Jiang, 2002): speech alternates syllables and the short dips between them, so many of
 * its 10-ms frames fall below half the window's mean energy (the low short-time energy
 * ratio, LSTER), and voiced sounds and fricatives alternate, so some frames cross zero far
 * more often than the window's mean (the high zero-crossing rate ratio, HZCRR). A window
 * low in both (under 0.15; espeak-ng and LibriVox speech measure LSTER 0.34-0.76, HZCRR
 * 0.06-0.36, the test's synthetic music both under 0.10) is not speech. A run of such
 * windows at least music_min_s long (0: off) is skipped like a silence, less
 * VAD_MUSIC_KEEP_S at each end. Speech over a quieter bed of music keeps its dips and
 * fricatives and is decoded; sung vocals usually are too (they have both); speech under
 * louder music may be skipped (it would not be recognised).
 */
#include "base/common.h"

#include <math.h>

#include "asr/asr.h"

#define VAD_RATE 16000
#define VAD_HOP 160 /* 10 ms */
#define VAD_HANG_S 0.12
#define VAD_WIN 100        /* feature window: 1 s of frames */
#define VAD_WIN_HOP 50     /* windows 0.5 s apart */
#define VAD_LSTER_MAX 0.15 /* below both: not speech */
#define VAD_HZCRR_MAX 0.15
#define VAD_MUSIC_KEEP_S 0.5
#define VAD_QUIET_DB 40.0f /* frame energy scale: 10 log10(mean square + 1); -50 dBFS */

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

/* Marks in music[] (one flag per frame) the runs of windows low in both LSTER and HZCRR
 * that last at least min_frames, less keep frames at each end. Silent windows (mean below
 * thr_db) count as neither: silences are the energy rule's. Returns the frames marked. */
static size_t mark_music(const float *db, const float *zcr, size_t nf, float thr_db,
                         size_t min_frames, size_t keep, unsigned char *music)
{
    size_t nw = nf >= VAD_WIN ? (nf - VAD_WIN) / VAD_WIN_HOP + 1 : 0, marked = 0;
    unsigned char *w = xcalloc(nw + 1, 1);
    for (size_t k = 0; k < nw; k++) {
        const float *d = db + k * VAD_WIN_HOP, *z = zcr + k * VAD_WIN_HOP;
        double lin[VAD_WIN], me = 0, mz = 0;
        for (size_t i = 0; i < VAD_WIN; i++) {
            lin[i] = pow(10.0, d[i] / 10.0);
            me += lin[i];
            mz += z[i];
        }
        me /= VAD_WIN;
        mz /= VAD_WIN;
        if (10.0 * log10(me + 1.0) < thr_db)
            continue;
        size_t low = 0, high = 0;
        for (size_t i = 0; i < VAD_WIN; i++) {
            low += lin[i] < 0.5 * me;
            high += z[i] > 1.5 * mz;
        }
        w[k] = (double)low / VAD_WIN < VAD_LSTER_MAX && (double)high / VAD_WIN < VAD_HZCRR_MAX;
    }
    for (size_t k = 0; k < nw;) {
        if (!w[k]) {
            k++;
            continue;
        }
        size_t a = k;
        while (k < nw && w[k])
            k++;
        size_t from = a * VAD_WIN_HOP + keep, to = (k - 1) * VAD_WIN_HOP + VAD_WIN;
        to = to > keep ? to - keep : 0;
        if (to > nf)
            to = nf;
        if (to > from && to - from + 2 * keep >= min_frames) {
            memset(music + from, 1, to - from);
            marked += to - from;
        }
    }
    free(w);
    return marked;
}

size_t om_asr_vad_split(const int16_t *pcm, size_t n, const size_t *bounds, size_t nchunks,
                        double min_gap_s, double music_min_s, size_t **bounds_out,
                        unsigned char **skip_out, double *skipped_s_out, double *music_s_out)
{
    size_t nf = n / VAD_HOP;
    float *db = xmalloc((nf + 1) * sizeof(*db)), *zcr = xmalloc((nf + 1) * sizeof(*zcr));
    for (size_t f = 0; f < nf; f++) {
        double e = 0;
        int crossings = 0;
        for (size_t i = 0; i < VAD_HOP; i++) {
            double x = pcm[f * VAD_HOP + i];
            e += x * x;
            crossings += i > 0 && (pcm[f * VAD_HOP + i] >= 0) != (pcm[f * VAD_HOP + i - 1] >= 0);
        }
        db[f] = (float)(10.0 * log10(e / VAD_HOP + 1.0));
        zcr[f] = (float)crossings;
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
    int by_energy = nf > 0 && speech_db - floor_db >= 10.0f;
    size_t music_frames = 0;
    unsigned char *music = NULL;
    if (nf > 0 && music_min_s > 0) {
        /* a window too quiet to hold speech: below the energy rule's threshold, or with no
         * range to have one (all music, say), below -50 dBFS */
        music = xcalloc(nf + 1, 1);
        music_frames = mark_music(db, zcr, nf, by_energy ? thr : VAD_QUIET_DB,
                                  (size_t)(music_min_s * VAD_RATE / VAD_HOP),
                                  (size_t)(VAD_MUSIC_KEEP_S * VAD_RATE / VAD_HOP), music);
    }
    if (by_energy || music_frames) {
        size_t hang = (size_t)(VAD_HANG_S * VAD_RATE / VAD_HOP);
        size_t min_gap = (size_t)(min_gap_s * VAD_RATE / VAD_HOP);
        unsigned char *voiced = xcalloc(nf + 1, 1);
        for (size_t f = 0; f < nf; f++)
            if (!by_energy || db[f] >= thr) {
                size_t a = f > hang ? f - hang : 0, b = f + hang < nf ? f + hang : nf - 1;
                memset(voiced + a, 1, b - a + 1);
            }
        for (size_t f = 0; f < nf && music; f++)
            if (music[f])
                voiced[f] = 0;
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
    free(music);
    free(db);
    free(zcr);
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
    if (music_s_out)
        *music_s_out = (double)music_frames * VAD_HOP / VAD_RATE;
    return nout;
}
