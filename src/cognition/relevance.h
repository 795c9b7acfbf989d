/*
 * relevance.h: how well a piece of transcript matches the project's brief and keywords,
 * and keyword extraction from a transcript. Matching is on Snowball stems (libstemmer
 * "english"), so "running" matches "runs" and "run".
 *
 * The query: every content stem of the brand keywords (weight 2.0) and of the brief
 * (weight 1.0; a stem in both keeps 2.0), less the words a brief uses about itself
 * ("brand", "channel", "video", "content", "audience", "tips"...: relevance.c's list), which
 * would match any talk. For a text with term counts tf and length L
 * (content stems), a BM25-like saturating sum:
 *
 *   raw = sum_t  w_t * tf_t / (tf_t + k1 * (1 - b + b * L / L0))      k1 = 1.2, b = 0.5,
 *                                                                      L0 = 60 stems
 *   relevance = 1 - exp(-raw / tau),   tau = 1 + 0.1 * sum_t w_t
 *
 * so one keyword said twice in a 30 s clip scores about 0.45 against a five-keyword
 * brand, three different keywords about 0.85; more repetition saturates. A project with
 * neither brief nor keywords has no query: om_relevance_score returns 0.5 (neutral).
 *
 * Keywords of a transcript: content stems (stop words, numbers and tokens under 3 letters
 * dropped) weighted tf * idf where the "documents" are the transcript's sentences:
 * idf = ln(1 + N / df); ties broken by first appearance. Each keyword is reported in the
 * surface form used most often for its stem.
 *
 * Ownership: om_relevance is the caller's (om_relevance_free); the stemmer passed in is
 * borrowed and must outlive it. JSON out values are the caller's.
 */
#ifndef OMNIVA_COGNITION_RELEVANCE_H
#define OMNIVA_COGNITION_RELEVANCE_H

#include <jansson.h>
#include <stddef.h>

#include "cognition/text.h"

typedef struct om_relevance om_relevance;

#define OM_RELEVANCE_NEUTRAL 0.5

/* `keywords` may be NULL/0, `brief` NULL. */
om_relevance *om_relevance_new(om_stemmer *st, const char *brief, const char *const *keywords,
                               size_t nkeywords);
/* From projects.brand JSON ({"brief":..,"keywords":[..]}; other keys ignored). */
om_relevance *om_relevance_from_brand(om_stemmer *st, const json_t *brand);
void om_relevance_free(om_relevance *r);
/* 1 when the project has no brief and no keywords (every score is neutral). */
int om_relevance_is_empty(const om_relevance *r);
size_t om_relevance_nterms(const om_relevance *r);

/* Score in [0,1]. matched_out (may be NULL) receives a JSON array of the query stems found,
 * strongest first. */
double om_relevance_score(om_relevance *r, const char *text, json_t **matched_out);

/* The same over pre-computed content stems (om_text_stems output; NULL entries are
 * skipped, so a caller can keep one stem slot per transcript word). */
double om_relevance_score_stems(const om_relevance *r, const char *const *stems, size_t n,
                                json_t **matched_out);
/* The stemmer the query was built with (borrowed). */
om_stemmer *om_relevance_stemmer(const om_relevance *r);

/* Top `top_n` keywords of a transcript given as its sentences (docs; ndocs may be 1 with
 * the whole transcript). Returns a JSON array of strings (caller's). */
json_t *om_keywords_extract(om_stemmer *st, const char *const *docs, size_t ndocs,
                            size_t top_n);

#endif
