/*
 * utf8.h: UTF-8 text as the rest of the tree needs it: counting characters, checking and
 * repairing byte sequences (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), truncating to a character budget without splitting a character, and a JSON
 * string that never fails on bad input. The encoder is sb_put_utf8 (mem.h).
 *
 * Ownership: returned char * are the caller's to free(); json_t * the caller's reference.
 */
#ifndef OMNIVA_BASE_UTF8_H
#define OMNIVA_BASE_UTF8_H

#include <stddef.h>

#include <jansson.h>

/* Number of characters in s (lead bytes counted; NULL is 0). */
size_t om_utf8_len(const char *s);
/* Length (1-4) of the valid UTF-8 sequence starting at p, 0 when it is invalid (p must
 * be NUL-terminated: a truncated sequence stops at the NUL and is invalid). */
size_t om_utf8_seq(const unsigned char *p);
/* 1 when all of s is valid UTF-8. */
int om_utf8_valid(const char *s);
/* A copy of s with every invalid byte replaced by '?' (NULL in, NULL out). */
char *om_utf8_clean(const char *s);
/* A copy of at most max_chars characters of s (NULL is ""). When s is longer: cut at the
 * last space in the second half of the kept part if there is one, drop trailing " ,;:-",
 * and append `ellipsis` (may be NULL), which counts toward max_chars. */
char *om_utf8_truncate(const char *s, size_t max_chars, const char *ellipsis);

/* json_string() that never fails on bad UTF-8 (it cleans the text); NULL s is JSON null. */
json_t *om_json_text(const char *s);

#endif
