/*
 * suggest.h: "did you mean ...?" for names a user typed: a case-insensitive edit distance
 * and a collector that keeps the nearest candidate. One copy for the configuration loader
 * (unknown omniva.conf keys) and the brand validator (unknown brand keys).
 *
 *   om_suggest s;
 *   om_suggest_init(&s, typed);
 *   for (each known name) om_suggest_offer(&s, name);
 *   const char *best = om_suggest_best(&s);   NULL when nothing is close enough
 *
 * Candidates are borrowed: they must outlive the collector.
 */
#ifndef OMNIVA_BASE_SUGGEST_H
#define OMNIVA_BASE_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance, ASCII case-insensitive; strings longer than 63 bytes give 99. */
size_t om_edit_distance(const char *a, const char *b);

typedef struct om_suggest {
    const char *word; /* what was typed (borrowed) */
    const char *best; /* nearest candidate so far (borrowed) */
    size_t best_d;
} om_suggest;

void om_suggest_init(om_suggest *s, const char *word);
void om_suggest_offer(om_suggest *s, const char *candidate);
/* The nearest candidate when it is close enough to be a typo (distance at most
 * max(2, strlen(word)/3); a candidate containing the word counts as distance 2), else NULL. */
const char *om_suggest_best(const om_suggest *s);

#endif
