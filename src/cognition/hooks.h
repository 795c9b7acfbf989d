/*
 * hooks.h: hook detection in the opening seconds of a clip. A "hook" is what makes a viewer
 * stay past the first swipe. Five detectors, each with a fixed strength:
 *
 *   question    0.35  a sentence ending in '?' or opening with a question word
 *                     ("why", "how", "what if", "did you", ...)
 *   number      0.25  digits or number words ("3", "ten", "million", "first")
 *   you         0.25  the viewer addressed: "you", "your", "you're", "yourself"
 *   imperative  0.30  a sentence that starts with a verb from a list ("stop", "look",
 *                     "imagine", "try", "never", "don't", ...)
 *   opener      0.45  a strong opening phrase ("here's why", "the secret", "nobody tells
 *                     you", "the biggest mistake", ...)
 *
 * score = 1 - prod(1 - strength_i) over the detectors that fired: in [0,1), one hook alone
 * gives its strength, several compound without ever reaching 1.
 *
 * Pure functions; no allocation survives a call except om_hook_json's result (caller's).
 */
#ifndef OMNIVA_COGNITION_HOOKS_H
#define OMNIVA_COGNITION_HOOKS_H

#include <jansson.h>

enum om_hook_kind {
    OM_HOOK_QUESTION = 1 << 0,
    OM_HOOK_NUMBER = 1 << 1,
    OM_HOOK_YOU = 1 << 2,
    OM_HOOK_IMPERATIVE = 1 << 3,
    OM_HOOK_OPENER = 1 << 4,
};

#define OM_HOOK_MAX_REASONS 5

typedef struct om_hook_result {
    double score;    /* [0,1) */
    unsigned fired;  /* OM_HOOK_* bits */
    int nreasons;
    char reasons[OM_HOOK_MAX_REASONS][128]; /* "question: \"why do ...\"", ... */
} om_hook_result;

/* Opening window: hooks count in what the viewer hears in the first 3 seconds of a clip. */
#define OM_HOOK_WINDOW_S 3.0

/* Detects hooks in `opening` (the text said in the opening seconds; punctuation helps but
 * is optional: ASR text has none). NULL or "" gives score 0. */
void om_hooks_detect(const char *opening, om_hook_result *out);

/* {"score":0.61,"fired":["question","you"],"reasons":["..",..]} (caller's). */
json_t *om_hook_json(const om_hook_result *h);
const char *om_hook_kind_name(unsigned kind_bit);

#endif
