/*
 * editcuts.h: the editor's jump cuts and audiograms (edit.c calls these while it builds the
 * plan; media/jumpcut.h and media/editplan.h do the work).
 *
 *   om_edit_jumpcuts   when brand.jump_cuts is true: the pauses between the clip's words
 *                      longer than brand.jump_cut_pause (default editor.jump_cut_pause) are
 *                      cut (editor.jump_cut_keep kept each side), plan.cuts gets the kept
 *                      segments, *words_io is replaced by the words re-timed onto the cut
 *                      timeline and *cap_end_io by start + kept, so captions land on the
 *                      word; the decision (pauses, seconds cut) goes into `chain`.
 *   om_edit_audiogram  a source without a picture: plan.audiogram (brand.audiogram visual,
 *                      the caption highlight colour, the clip's opening sentence as the
 *                      title card), plan.reframe centre (unused), and the chain's reframe
 *                      decisions replaced by one saying so.
 * Ownership: plan, chain and *words_io are the caller's (words_io's old value is released
 * when replaced); brand and words are borrowed.
 */
#ifndef OMNIVA_STAGES_EDITCUTS_H
#define OMNIVA_STAGES_EDITCUTS_H

#include <jansson.h>

#include "base/config.h"

int om_edit_jumpcuts(json_t *plan, json_t **words_io, double start, double end,
                     double *cap_end_io, const json_t *brand, const om_config *cfg,
                     json_t *chain);
void om_edit_audiogram(json_t *plan, const json_t *brand, const json_t *words, double start,
                       double end, json_t *chain);

/* The clip's opening sentence (words whose midpoint is in [start, end], up to the first
 * sentence end or 14 words), fillers dropped. Caller frees; "" when there are none. */
char *om_edit_opening_sentence(const json_t *words, double start, double end);

#endif
