/*
 * audiosig.h: cheap audio signals for the analyzer (raw_ai_output "signals"): loudness,
 * silences, speech rate, hook figures.
 *
 * All times are media times in seconds (audio.h: 0 = the container start, as ffmpeg -ss).
 *
 * Audio, from mono PCM (audio.h; any rate, 16 kHz in the pipeline):
 *   - loudness per ITU-R BS.1770-4 / EBU R128 (loudness.h: integrated, range, 100 ms
 *     sub-block powers, dual mono for multichannel sources); short-term per second and the
 *     loudness of any span from those sub-blocks. Levels below -70 LUFS are OM_LUFS_FLOOR.
 *   - silences: 50 ms RMS windows every 10 ms below `silence_db` dBFS (20*log10(rms/32768),
 *     so a full-scale sine is -3 dBFS), merged, kept when at least `silence_min` long.
 *   - speech activity: fraction of 20 ms frames whose 300-3400 Hz band level is above an
 *     adaptive floor (an energy detector: any sound in the speech band counts, not only
 *     voices); syllable rate: prominent peaks (>= 3 dB, >= 100 ms apart) of that band's
 *     envelope per second of speaking time (duration minus the silences above);
 *     wpm_estimate = syllable_rate * 60 / 1.5 (English averages ~1.5 syllables a word).
 *   - hook: loudness of the first `hook_s` seconds against the rest, leading silence.
 *
 * Ownership: an om_audio_signals is the caller's and is released with
 * om_audio_signals_release (safe on a zeroed struct and after a failed call).
 * Errors: OM_EINVAL as each function says; nothing else fails (out of memory aborts).
 * Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_AUDIOSIG_H
#define OMNIVA_MEDIA_AUDIOSIG_H

#include <stddef.h>

#include "media/audio.h"
#include "media/loudness.h"

typedef struct om_interval {
    double start, end; /* media seconds, start < end (layout: two doubles, like double[2]) */
} om_interval;

typedef struct om_audio_opts {
    double silence_db;  /* default -35 dBFS RMS */
    double silence_min; /* default 0.3 s */
    double hook_s;      /* default 3 s */
} om_audio_opts;
#define OM_AUDIO_OPTS_DEFAULT                                                                      \
    {                                                                                              \
        -35.0, 0.3, 3.0                                                                            \
    }

typedef struct om_audio_hook {
    /* Loudness is gated (BS.1770): it is the level of what sounds, dead air does not
     * lower it; dead air shows in lead_silence and active_fraction. */
    double first_lufs;      /* loudness of [start, start+hook_s] */
    double rest_lufs;       /* loudness of [start+hook_s, end] (OM_LUFS_FLOOR if empty) */
    double delta_lu;        /* first_lufs - rest_lufs: > 0 = the opening is louder */
    double lead_silence;    /* seconds from start until the first non-silent sound */
    double active_fraction; /* non-silent share of the first hook_s seconds, 0..1 */
} om_audio_hook;

typedef struct om_audio_signals {
    double start;       /* media time of the first sample */
    double duration;    /* seconds of audio analysed */
    int rate;           /* of the PCM analysed */
    double integrated;  /* LUFS (gated) */
    double range;       /* LRA, LU */
    double peak_dbfs;   /* sample peak; -inf for digital silence is reported as -120 */
    double *short_term; /* LUFS, one per second: [i] = 3 s window centred on the middle
                           of second i (media [start+i-1, start+i+2], clipped at the ends);
                           round(duration) entries (a part second counts from 0.5 s) */
    size_t n_short_term;
    double *block_power; /* K-weighted mean square per 100 ms from `start` (for
                            om_audio_loudness_between); dual-mono factor applied */
    size_t n_blocks;
    om_interval *silences; /* ascending, non-overlapping */
    size_t n_silences;
    double speech_activity; /* 0..1 */
    double syllable_rate;   /* per second of speaking time; 0 when nothing is active */
    double wpm_estimate;
    om_audio_hook hook; /* of the whole PCM */
    double silence_db;  /* the options used */
    double hook_s;
} om_audio_signals;

/* Computes everything above from `pcm` (opts NULL: defaults). OM_EINVAL for bad opts or a
 * PCM without a rate. An empty PCM gives zero-length arrays and floor values. */
int om_audio_signals_compute(const om_pcm *pcm, const om_audio_opts *opts, om_audio_signals *out);
void om_audio_signals_release(om_audio_signals *s);

/* Gated integrated loudness (LUFS) of media time [t0, t1] (clamped to the PCM). Spans under
 * 400 ms use the plain mean power. OM_LUFS_FLOOR when nothing is above the absolute gate. */
double om_audio_loudness_between(const om_audio_signals *s, double t0, double t1);

/* Hook figures of a candidate clip [start, end] (media time) with a hook of hook_s seconds
 * (<= 0: the hook_s used for *s). OM_EINVAL when the span is empty or outside the audio. */
int om_audio_hook_at(const om_audio_signals *s, double start, double end, double hook_s,
                     om_audio_hook *out);

#endif
