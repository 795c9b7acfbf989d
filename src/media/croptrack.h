/*
 * croptrack.h: the content-aware crop track for the editor (stages/edit.c reframes a 16:9
 * source to 9:16 by following it).
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
 *
 * Ownership: an om_motion_track is the caller's and is released with
 * om_motion_track_release (safe on a zeroed struct and after a failed call).
 * Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_CROPTRACK_H
#define OMNIVA_MEDIA_CROPTRACK_H

#include <stddef.h>

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

#endif
