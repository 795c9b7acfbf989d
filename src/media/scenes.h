/*
 * scenes.h: cheap video signals for the analyzer (raw_ai_output "signals"): hard scene cuts
 * and per-second motion.
 *
 * All times are media times in seconds (probe.h: 0 = the container start, as ffmpeg -ss).
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
 *
 * Ownership: an om_video_signals is the caller's and is released with
 * om_video_signals_release (safe on a zeroed struct and after a failed call).
 * Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_SCENES_H
#define OMNIVA_MEDIA_SCENES_H

#include <stddef.h>

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

#endif
