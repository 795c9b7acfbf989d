/*
 * text.h: the small text toolkit the cognitive layer shares: tokenizing transcripts,
 * English stop words, Snowball stemming (libstemmer, "english") and word-shingle sets for
 * near-duplicate detection (exact Jaccard over hashed shingles).
 *
 * Tokens are runs of ASCII letters/digits, apostrophes inside a word ("don't") and any
 * non-ASCII UTF-8 byte (so accented words stay whole); ASCII is lower-cased. The stemmer
 * is not thread safe: one om_stemmer per thread.
 *
 * Ownership: om_tokens and om_shingles are the caller's (om_tokens_release,
 * om_shingles_release); strings from om_stem() are the caller's to free().
 */
#ifndef OMNIVA_COGNITION_TEXT_H
#define OMNIVA_COGNITION_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct om_tokens {
    char **v;
    size_t n;
    size_t alloc;
} om_tokens;

#define OM_TOKENS_INIT {NULL, 0, 0}

/* Appends the tokens of `text` (NULL is empty) to `out`. */
void om_text_tokens(const char *text, om_tokens *out);
void om_tokens_push(om_tokens *t, const char *tok); /* copies tok */
void om_tokens_release(om_tokens *t);

/* 1 when `tok` (lower-case) is an English stop word ("the", "and", "you", ...). */
int om_text_is_stopword(const char *tok);
/* 1 when tok is all digits (with optional , or .). */
int om_text_is_number(const char *tok);

typedef struct om_stemmer om_stemmer;
om_stemmer *om_stemmer_new(void); /* dies if libstemmer has no "english" */
void om_stemmer_free(om_stemmer *st);
/* Stem of a lower-case token: caller frees. "running" -> "run", "runs" -> "run". */
char *om_stem(om_stemmer *st, const char *tok);

/* Content stems of a text: tokens, stop words and 1-letter tokens dropped, stemmed. */
void om_text_stems(om_stemmer *st, const char *text, om_tokens *out);

/* A sorted set of 64-bit hashes of k-word shingles over the stems of `text` (stop words
 * kept, so "the cat sat" and "a cat sat" differ less than unrelated text). Texts with fewer
 * than k tokens use their single tokens. */
typedef struct om_shingles {
    uint64_t *h;
    size_t n;
} om_shingles;

void om_shingles_build(om_stemmer *st, const char *text, int k, om_shingles *out);
void om_shingles_release(om_shingles *s);
/* |A ∩ B| / |A ∪ B| in [0,1]; 0 when both are empty. */
double om_shingles_jaccard(const om_shingles *a, const om_shingles *b);

/* FNV-1a 64-bit hash. */
uint64_t om_hash64(const void *data, size_t n);

/* UTF-8 counting, cleaning and truncation: base/utf8.h. */

#endif
