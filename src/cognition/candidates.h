/*
 * candidates.h: clip candidates from a timed transcript, scored.
 *
 * Inputs are plain arrays (the analyzer's raw_ai_output, written by stages/analyze.c from
 * om_transcript_to_json + signals + engagement, converts with om_cand_input_from_json): words {w,start,end,conf}, sentences {start,end,text},
 * silences [[s,e]], per-second short-term loudness, scene-change times, and the post's
 * engagement score.
 *
 * Boundaries. A candidate starts at the first word of a sentence or the first word after a
 * pause, and ends at the last word of a sentence or the last word before a pause; it never
 * starts or ends inside a word. A pause is a gap between words of at least pause_s, or a
 * detected silence lying in the gap. Sentence boundaries come from the sentences array
 * (snapped to the words) and from sentence-ending punctuation in the words. Without word
 * timings, each sentence is one unit. Padding: up to pad_s into the surrounding pause, but
 * at most half the gap to the neighbouring word (so it never reaches into that word, and two
 * adjacent candidates never overlap through their padding). The padded length must lie in
 * [min_s, max_s]; padding shrinks to fit max_s.
 *
 * Scores per window (virality.h documents the virality formula):
 *   hook       hooks of the opening OM_HOOK_WINDOW_S seconds
 *   relevance  relevance.h against the brief/keywords (0.5 without a brief)
 *   combined   0.5 * virality + 0.4 * relevance + 0.1 * boundary,
 *              boundary = 1 sentence-aligned at both ends, 0.5 at one, 0 pause-only
 * Non-maximum suppression: windows sorted by combined (earlier start on ties); a window is
 * kept when it overlaps no kept window by more than max_overlap_s; at most max_candidates.
 *
 * Ownership: om_cand_input_from_json borrows the strings of the JSON (keep it alive) and
 * allocates the arrays (om_cand_input_release). Candidates are the caller's
 * (om_candidates_free). JSON returned is the caller's.
 */
#ifndef OMNIVA_COGNITION_CANDIDATES_H
#define OMNIVA_COGNITION_CANDIDATES_H

#include <jansson.h>
#include <stddef.h>

#include "cognition/hooks.h"
#include "cognition/relevance.h"
#include "cognition/virality.h" /* engagement helpers the analyzer uses with these */

typedef struct om_cand_word {
    const char *w;
    double start, end, conf;
} om_cand_word;

typedef struct om_cand_sentence {
    const char *text;
    double start, end;
} om_cand_sentence;

typedef struct om_cand_span {
    double start, end;
} om_cand_span;

typedef struct om_cand_input {
    const om_cand_word *words;
    size_t nwords;
    const om_cand_sentence *sentences;
    size_t nsentences;
    const om_cand_span *silences;
    size_t nsilences;
    const double *loudness; /* short-term LUFS, one value per second from 0 s */
    size_t nloudness;
    const double *scenes; /* scene-change times, seconds */
    size_t nscenes;
    double duration;   /* seconds; <= 0 unknown (the last word's end is used) */
    double engagement; /* om_engagement_score of the post, < 0 unknown */
} om_cand_input;

typedef struct om_cand_opts {
    double min_s, max_s;   /* clip length limits (brand clip_min_s/clip_max_s) */
    double pad_s;          /* padding into pauses; default 0.25 */
    double pause_s;        /* minimum gap that counts as a pause; default 0.35 */
    double max_overlap_s;  /* NMS: allowed overlap between kept candidates; default 0 */
    double max_overlap_frac; /* ... or this fraction of the shorter clip, if larger; default 0 */
    size_t max_candidates; /* default 10 */
    double min_word_conf;  /* words recognised with less confidence do not count for
                              relevance (a misheard word must not make a clip on-brand);
                              default 0.5, the caption gate's threshold */
    /* Long sources: a talk longer than long_source_s is analysed in windows of window_s
     * overlapping by window_overlap_s (at least clip_max_s, so every clip fits whole in one
     * window); each window keeps its best window_candidates (NMS across all windows), so a
     * long talk yields clips throughout and not only at its strongest stretch. Output order:
     * every window's best first (by score), then every window's second best, ...;
     * max_candidates does not apply. window_s 0 turns windows off. Defaults 1200, 600, 120, 5. */
    double long_source_s, window_s, window_overlap_s;
    size_t window_candidates;
} om_cand_opts;

/* Defaults: 15..60 s, pad 0.25, pause 0.35, overlap 0, 10 candidates, word confidence 0.5. */
void om_cand_opts_default(om_cand_opts *o);
/* Takes clip_min_s/clip_max_s from projects.brand JSON when present. */
void om_cand_opts_from_brand(om_cand_opts *o, const json_t *brand);

typedef struct om_clip_scores {
    double hook, energy, pace, engagement, virality, relevance, boundary, combined;
    double loud_rel_db;    /* clip mean minus video mean (NAN when unknown) */
    double scenes_per_min;
    double wpm;
} om_clip_scores;

typedef struct om_candidate {
    double start, end;           /* padded clip times, seconds (source time) */
    size_t first_unit, last_unit; /* indexes into the words (or sentences without words) */
    int start_sentence, end_sentence; /* 1 when that end is a sentence boundary */
    char *text;                  /* the words said */
    om_hook_result hook;
    double hook_offset_s;        /* where the strongest hook starts, seconds into the clip */
    int hook_buried;             /* 1: a clearly stronger hook than the opening comes later
                                    (only where no clip opening on it fits) */
    om_clip_scores s;
    json_t *matched;             /* relevance terms found (JSON array) */
    json_t *ignored;             /* query terms heard only in low-confidence words (array) */
    json_t *lowconf_words;       /* the clip's words heard below min_word_conf, in order,
                                    duplicates kept (array of strings): what a later judge
                                    of the transcript text (Pantheon's relevance agent) must
                                    not count */
    int window;                  /* analysis window that chose it (long sources); -1: none */
    double window_start, window_end;
} om_candidate;

/* Finds, scores and suppresses. `rel` may be NULL (relevance neutral). *out may be NULL
 * with *n_out 0 when the transcript has no usable window. OM_EINVAL for bad options. */
int om_candidates_find(const om_cand_input *t, const om_cand_opts *o, om_relevance *rel,
                       om_candidate **out, size_t *n_out);
void om_candidates_free(om_candidate *c, size_t n);
/* The analysis windows of a talk of `length` seconds (long sources): their start times into
 * starts[] (at most max), each window_s long; returns how many. */
size_t om_cand_windows(const om_cand_opts *o, double length, double *starts, size_t max);

/* Plain arrays from raw_ai_output (stages/analyze.c). Missing parts are empty; malformed entries
 * (start/end not numbers, end < start) are skipped. engagement: raw.engagement.score when
 * present, else computed from value/creator_median (virality.h), else unknown. */
int om_cand_input_from_json(const json_t *raw_ai_output, om_cand_input *out);
void om_cand_input_release(om_cand_input *t);

/* {"start","end","transcript","hook":{..},"scores":{..},"matched":[..],
 *  "relevance_ignored_low_confidence":[..],"low_confidence_words":[..],
 *  "analysis_window":{"index","start","end"}|null}
 * for one candidate. */
json_t *om_candidate_json(const om_candidate *c);

/*
 * The analyzer's one call: evaluates a whole analysis.
 * Returns {"virality_score", "relevance_score", "keywords":[..], "transcript": "...",
 *          "candidates":[om_candidate_json ..]} where
 *   virality_score  = the best candidate's virality (the video's best moment; computed over
 *                     the whole transcript when there is no candidate),
 *   relevance_score = relevance of the whole transcript,
 *   keywords        = top 10 of om_keywords_extract over the sentences.
 * `brand` (projects.brand) may be NULL: defaults and no relevance query.
 */
int om_analysis_evaluate(const json_t *raw_ai_output, const json_t *brand, const om_cand_opts *base,
                         json_t **out); /* base: NULL for the defaults; the brand's lengths win */

#endif
