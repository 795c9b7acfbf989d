/*
 * loudness.h: loudness of mono PCM per ITU-R BS.1770-4 / EBU R128, our own code (bench/loudness
 * measures it against libebur128 and ffmpeg's ebur128 filter: see the README there for why
 * it is ours).
 *
 *   - K-weighting: the two biquads of BS.1770, re-derived for the PCM rate by the bilinear
 *     transform of their analog prototypes (exactly the published coefficients at 48 kHz);
 *   - sub-blocks: K-weighted mean square per 100 ms from the first sample (the last one may
 *     be partial); gated loudness: 400 ms blocks every 100 ms, absolute gate -70 LUFS,
 *     relative gate -10 LU;
 *   - loudness range per EBU Tech 3342 (2016): 3 s windows every 100 ms (the >= 10 Hz rate
 *     the 2016 revision asks for), relative gate -20 LU, 95th - 10th percentile.
 * A source with 2 or more channels (om_pcm.src_channels) is measured as dual mono (the
 * downmix counted twice, +3.01 dB): exact for centre-panned / identical channels, up to 3 dB
 * low for fully uncorrelated stereo. A 16 kHz PCM ignores content above 8 kHz. Levels below
 * -70 LUFS are reported as OM_LUFS_FLOOR.
 *
 * Ownership: an om_loudness is the caller's and is released with om_loudness_release (safe
 * on a zeroed struct). Errors: OM_EINVAL for a rate outside 8000..192000 Hz or samples
 * without a buffer. Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_LOUDNESS_H
#define OMNIVA_MEDIA_LOUDNESS_H

#include <stddef.h>

#include "media/audio.h"

#define OM_LUFS_FLOOR (-70.0)

typedef struct om_loudness {
    double integrated;   /* LUFS, gated over the full sub-blocks */
    double range;        /* LRA, LU */
    double *block_power; /* K-weighted mean square per 100 ms; dual-mono factor applied */
    size_t n_blocks;     /* ceil(duration / 100 ms) */
    size_t n_full;       /* leading sub-blocks that are a whole 100 ms */
} om_loudness;

/* Measures pcm (an empty one gives no blocks and floor values). */
int om_loudness_measure(const om_pcm *pcm, om_loudness *out);
void om_loudness_release(om_loudness *l);

/* BS.1770 gated loudness (LUFS) of sub-block powers p[0..n); under 4 sub-blocks (no whole
 * 400 ms block), the plain mean power. OM_LUFS_FLOOR when nothing is above the gate. */
double om_loudness_gated(const double *p, size_t n);
/* Tech 3342 loudness range (LU) of sub-block powers p[0..n); 0 under 3 s. */
double om_loudness_range(const double *p, size_t n);
/* LUFS of a K-weighted mean square, floored at OM_LUFS_FLOOR. */
double om_lufs(double mean_square);

#endif
