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

#include <jansson.h>

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

/* Copies at most max_chars UTF-8 characters of s (never splitting a character), cutting at
 * the last space when the text is longer and a space exists in the second half; appends
 * `ellipsis` (may be NULL) when cut, counting it in max_chars. Caller frees. */
char *om_text_truncate_utf8(const char *s, size_t max_chars, const char *ellipsis);
/* A copy of s with every invalid UTF-8 sequence replaced by '?' (caller frees). */
char *om_text_utf8_clean(const char *s);
/* json_string() that never fails on bad UTF-8 (cleans it); NULL s gives JSON null. */
json_t *om_json_text(const char *s);

/* Number of UTF-8 characters in s. */
size_t om_text_utf8_len(const char *s);

#endif
