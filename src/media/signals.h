/*
 * signals.h: cheap audio and visual signals for the analyzer (raw_ai_output "signals") and
 * the editor (content-aware 9:16 crop track).
 *
 * All times are media times in seconds (audio.h: 0 = the container start, as ffmpeg -ss).
 *
 * Audio, from mono PCM (audio.h; any rate, 16 kHz in the pipeline):
 *   - loudness per ITU-R BS.1770-4 / EBU R128: K-weighting (the two biquads of BS.1770,
 *     re-derived for the PCM rate by the bilinear transform of their analog prototypes),
 *     400 ms blocks every 100 ms, absolute gate -70 LUFS, relative gate -10 LU; loudness range
 *     per EBU Tech 3342 (3 s windows every 100 ms, relative gate -20 LU, 95th - 10th
 *     percentile). A source with 2 or more channels is measured as dual mono (the downmix
 *     counted twice, +3.01 dB): exact for centre-panned / identical channels, up to 3 dB low
 *     for fully uncorrelated stereo. A 16 kHz PCM ignores content above 8 kHz.
 *     Levels below -70 LUFS are reported as OM_LUFS_FLOOR.
 *   - silences: 50 ms RMS windows every 10 ms below `silence_db` dBFS (20*log10(rms/32768),
 *     so a full-scale sine is -3 dBFS), merged, kept when at least `silence_min` long.
 *   - speech activity: fraction of 20 ms frames whose 300-3400 Hz band level is above an
 *     adaptive floor (an energy detector: any sound in the speech band counts, not only
 *     voices); syllable rate: prominent peaks (>= 3 dB, >= 100 ms apart) of that band's
 *     envelope per second of speaking time (duration minus the silences above);
 *     wpm_estimate = syllable_rate * 60 / 1.5 (English averages ~1.5 syllables a word).
 *   - hook: loudness of the first `hook_s` seconds against the rest, leading silence.
 *
 * Video (om_video_signals_compute), without a full decode. One demux pass reads every video
 * packet (size, keyframe flag, time) and decodes "anchors" into a 64x36 luma grid:
 * keyframes (at most max_key_rate per second) and, for H.264/HEVC/MPEG-2/MPEG-4, inter
 * packets far bigger than their neighbours when the decoder finds them intra-coded (the I
 * frames x264's scenecut puts at cuts within min-keyint). Consecutive anchors that differ
 * (luma histogram / grid distance) hold at least one cut, placed
 *   1. frame-exactly by decoding just that interval while a small budget lasts
 *      (refine_frames: by default 2% of the frames, at least 150; strong changes first,
 *      then intervals without a packet-size clue); otherwise, from packet sizes (H.264,
 *      HEVC, MPEG-2/4 only: VPx/AV1 hide alt-ref frames inside packets, so their sizes
 *      are no clue):
 *   2. at every inter frame costing 4x its neighbours' 90th percentile and >= 15% of a
 *      keyframe (a cut coded intra), and at the strongest >= 3x step of the inter-frame
 *      cost between those (a cut to a simpler or busier picture);
 *   3. at the closing keyframe when the inter frames around it cost >= 2.5x differently
 *      (the encoder put the keyframe at the cut), or when it is a probed intra anchor;
 *   4. failing all that, at the closing keyframe if the change is strong and either the
 *      keyframes are irregularly spaced (a scenecut encoder) or at most 2.5 s apart.
 * Accuracy: 1 exact; 2-3 within a few frames (B-frame reordering); 4 up to a GOP late.
 * Cost: demuxing + anchors + the budget, never a full decode. Known misses: a cut whose
 * scene returns before the next anchor (A->B->A within one GOP); a cut between two flat,
 * static pictures inside a long GOP once the budget is spent. motion[i] is the coding cost
 * of second i's inter frames relative to the median keyframe: 0 = static picture, ~1 =
 * every frame as costly as a full picture (for intra-only codecs: the anchor grid
 * difference instead).
 *
 * Ownership: every *out struct is the caller's and is released with its _release function
 * (safe on a zeroed struct and after a failed call). om_signals_to_json returns a new
 * reference (json_decref).
 * Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_SIGNALS_H
#define OMNIVA_MEDIA_SIGNALS_H

#include <jansson.h>
#include <stddef.h>

#include "media/audio.h"

#define OM_LUFS_FLOOR (-70.0)

typedef struct om_interval {
    double start, end; /* media seconds, start < end (layout: two doubles, like double[2]) */
} om_interval;

/* ---- audio --------------------------------------------------------------------------- */

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

/* ---- video --------------------------------------------------------------------------- */

typedef struct om_video_opts {
    double max_key_rate; /* decoded keyframes per second at most; default 4 */
    double min_scene;    /* cuts closer than this (s) merge into the first; default 0.5 */
    long refine_frames;  /* frames the frame-exact refinement may decode: < 0 auto (2% of
                            the frames, at least 150), 0 none (packet sizes only) */
} om_video_opts;
#define OM_VIDEO_OPTS_DEFAULT                                                                      \
    {                                                                                              \
        4.0, 0.5, -1                                                                               \
    }

typedef struct om_video_signals {
    double duration; /* media seconds covered by video packets */
    double *scenes;  /* media times of hard cuts, ascending (never 0) */
    size_t n_scenes;
    double *motion; /* one per second (0..1): motion[i] covers [i, i+1);
                       round(duration) entries */
    size_t n_motion;
    size_t n_packets;    /* video packets read */
    size_t n_keyframes;  /* keyframes seen */
    size_t n_decoded;    /* packets sent to the anchor decoder (keyframes + probed I frames) */
    size_t n_refined;    /* frames decoded to place cuts exactly */
    double key_interval; /* median keyframe spacing, seconds (0 with < 2 keyframes) */
} om_video_signals;

/* Scene cuts + per-second motion of the best video stream of `path` (opts NULL: defaults).
 * Errors: those of om_media_probe; OM_EINVAL "no video track in <path>". */
int om_video_signals_compute(const char *path, const om_video_opts *opts, om_video_signals *out);
void om_video_signals_release(om_video_signals *s);

/* ---- content-aware crop track (for the editor) ---------------------------------------
 *
 * om_media_motion_track() samples media time [start, end) at `fps` samples per second
 * (0 < fps <= 30; 2 is plenty) and gives, per sample, where the visual interest is:
 *   t          media time of the sample (start + k / fps), seconds of the SOURCE
 *   x          horizontal centre of interest, 0 = left edge, 1 = right edge of the frame
 *              AS DISPLAYED (rotation metadata applied, as ffmpeg's autorotate shows it)
 *   y          vertical centre of interest, 0 = top, 1 = bottom (same frame)
 *   confidence 0..1: share of the frame's distinctive interest inside a crop window of
 *              out->window (fraction of the width) centred on x. ~0 = nothing stands out
 *              (flat or uniformly busy picture): x is then 0.5 and the caller should hold
 *              or centre; near 1 = everything interesting fits the crop.
 * Interest per 64x36 grid cell = mean absolute luma change between consecutive frames in
 * the last min(1/fps, 0.25) s before the sample (motion, weight 0.6, when above codec
 * noise) + contrast inside the cell and luma gradient across it (detail: edges, text,
 * faces; weight 0.4), each profile minus its median over columns. x is the centroid inside
 * the best-scoring window of width `window` (a 9:16 crop of the displayed frame when
 * window_frac <= 0, e.g. 0.316 for 16:9; capped at 1). Raw per sample: no smoothing, no
 * pan limits (the editor owns those). Every frame of the span is decoded (non-reference
 * frames and the loop filter skipped), so the cost is proportional to end - start.
 * end is clamped to the media duration; should the last frame come earlier still, the
 * last picture is held to the end. Errors: those of om_media_probe; OM_EINVAL for no
 * video, fps outside (0, 30], start >= end, a span over OM_AUDIO_MAX_SECONDS or start
 * beyond the end of the video.
 */
typedef struct om_motion_sample {
    double t, x, y, confidence;
} om_motion_sample;

typedef struct om_motion_track {
    om_motion_sample *samples; /* n samples, t ascending */
    size_t n;
    int width, height; /* displayed frame size in pixels */
    double window;     /* crop window width used, fraction of the width */
} om_motion_track;

int om_media_motion_track(const char *path, double start, double end, double fps,
                          double window_frac, om_motion_track *out);
void om_motion_track_release(om_motion_track *t);

/* ---- everything for raw_ai_output ------------------------------------------------------ */

typedef struct om_signals {
    double duration; /* probed duration of the source */
    int has_audio, has_video;
    om_audio_signals audio; /* zeroed when !has_audio */
    om_video_signals video; /* zeroed when !has_video */
} om_signals;

/* Probes `path`, decodes its audio at 16 kHz (handing the PCM to the caller through pcm_out
 * when not NULL, for ASR: decoded once) and computes the audio and video signals. A source
 * without audio or without video is fine (has_audio / has_video 0); one with neither fails
 * in the probe. */
int om_signals_analyze(const char *path, const om_audio_opts *aopts, const om_video_opts *vopts,
                       om_pcm *pcm_out, om_signals *out);
void om_signals_release(om_signals *s);

/* The raw_ai_output "signals" object:
 *   {"duration":..,
 *    "loudness":{"integrated":LUFS,"range":LU,"peak":dBFS,"short_term":[LUFS per second]}
 *               (null without audio),
 *    "silences":[[s,e],..], "scenes":[t,..], "motion":[0..1 per second],
 *    "speech_rate_wpm": syllable-based estimate (null without audio; the analyzer may replace
 *                       it with the transcript's figure),
 *    "speech_activity":0..1, "syllable_rate":per s,
 *    "hook":{"first_lufs","rest_lufs","delta_lu","lead_silence","active_fraction"} }
 * Numbers are rounded (times to 0.001 s, levels to 0.01); dump with
 * JSON_REAL_PRECISION(10) or so to keep the text short. */
json_t *om_signals_to_json(const om_signals *s);

#endif
