/*
 * jumpcut.h: jump cuts: the pauses inside a clip longer than a threshold are cut out, and
 * word times are moved onto the cut timeline so captions land on the word.
 *
 * A pause is the gap between one word's end and the next word's start (words of
 * analysis.raw_ai_output.words whose midpoint is inside [start, end], fillers such as <sil>
 * ignored). A pause longer than min_pause loses its middle: `keep` seconds stay after the
 * word before it and before the word after it, so speech is never clipped; the boundaries
 * are snapped to the output frame grid (multiples of 1/fps from `start`), so the video and
 * the audio cuts fall on the same instants and the output lasts exactly the kept frames.
 * Segments are [[a, b], ...] in SOURCE seconds, sorted, disjoint, inside [start, end].
 *
 * Ownership: *segments_out and returned arrays are new references (json_decref).
 */
#ifndef OMNIVA_MEDIA_JUMPCUT_H
#define OMNIVA_MEDIA_JUMPCUT_H

#include <jansson.h>

/* The kept segments of [start, end]; *segments_out is NULL when no pause qualifies.
 * *removed_out (may be NULL): seconds cut; *npauses_out (may be NULL): pauses cut. */
int om_jumpcut_find(json_t **segments_out, double *removed_out, int *npauses_out,
                    const json_t *words, double start, double end, double min_pause, double keep,
                    double fps);

/* Total kept seconds of the segments. */
double om_jumpcut_kept(const json_t *segments);

/* Seconds of output before source time t (t inside [start, end]); t in a removed span maps
 * to the cut point. Times before start map to t - start, after end to kept + (t - end). */
double om_jumpcut_map(const json_t *segments, double start, double end, double t);

/* A copy of `words` with start/end moved to start + om_jumpcut_map(...), so a caption
 * builder given [start, start + kept] sees the cut timeline. */
json_t *om_jumpcut_retime_words(const json_t *words, const json_t *segments, double start,
                                double end);

#endif
