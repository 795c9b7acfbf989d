/*
 * align.h: forced alignment of known words (platform subtitles, trusted caption text) to the
 * audio with pocketsphinx, so each word gets the time it is actually said (align.c).
 *
 * Cues are taken from engine.params.cue_spans ([[start,end],..], written by subtitles.c) or,
 * without them, from the transcript's sentences. Each cue is aligned on its own; a cue that
 * cannot be aligned keeps the times it had (subtitles.c's interpolation) and says why.
 * On success engine.params.alignment records
 *   {"method":"pocketsphinx-fsg","cues","aligned","interpolated","words_aligned",
 *    "words_interpolated","per_cue":[{"start","end","words","method":"aligned"|
 *    "interpolated","reason"?}]}
 * (cue_spans is dropped: per_cue holds the spans). Word confidences are left as they were.
 *
 * Errors: model files missing -> OM_ENOTFOUND (the transcript is untouched); cancelled ->
 * OM_ETIMEOUT (times of the cues done so far are aligned, no record). A cue that fails is not
 * an error. Runs opts->jobs threads itself; not thread-safe with respect to pocketsphinx's
 * global logging set-up (like sphinx.c): one om_asr_align at a time per process.
 */
#ifndef OMNIVA_ASR_ALIGN_H
#define OMNIVA_ASR_ALIGN_H

#include "asr/asr.h"

typedef struct om_align_opts {
    const char *model_dir;   /* NULL: OM_ASR_SPHINX_MODEL_DIR */
    double margin_s;         /* audio taken beyond a cue, at most half-way to its neighbour;
                                default 0.4 */
    volatile int *cancel;    /* optional: non-zero stops between cues */
    int jobs;                /* threads, a decoder each; 0: online CPUs (fewer for few cues) */
    om_asr_forget_fn forget; /* optional, with forget_arg: a cue's audio once aligned */
    void *forget_arg;
} om_align_opts;

typedef struct om_align_stats {
    size_t cues, aligned, interpolated;
    size_t words_aligned, words_interpolated;
} om_align_stats;

void om_align_opts_default(om_align_opts *o);

/* Aligns `t` (16 kHz mono `pcm` of n samples, the same time base) in place. stats_out may be
 * NULL. */
int om_asr_align(om_transcript *t, const int16_t *pcm, size_t n, const om_align_opts *opts,
                 om_align_stats *stats_out);

#endif
