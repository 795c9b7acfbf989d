/* titles.h: offline titles and hashtags for a clip (issue 10 section 4): the hook turned
 * into a title within a platform's limit, and hashtags from the brand's matched keywords and
 * the transcript's keywords. Pure functions: no store, no network. */
#ifndef OM_COGNITION_TITLES_H
#define OM_COGNITION_TITLES_H

#include <stddef.h>

#include <jansson.h>

/* One publishing target's limits, in UTF-8 characters. */
typedef struct om_title_limits {
    const char *target;  /* "youtube", "tiktok", "instagram", "export" */
    size_t title_max;    /* title (or caption first line) */
    size_t hashtags_max; /* how many hashtags */
    size_t hashtag_chars_max; /* one hashtag, '#' included */
} om_title_limits;

/* The limits of a target by name; an unknown name gets the strictest (YouTube's). Borrowed. */
const om_title_limits *om_title_limits_for(const char *target);

/* A title from a hook phrase: leading filler ("so", "um", "you know", ...) and inner
 * "um"/"uh" removed, whitespace squashed, shouting (all capitals) lowered, sentence case
 * (first letter capital), cut at a word boundary to <= max_chars characters without
 * dangling punctuation (no trailing , ; : - or an unclosed opening quote/bracket). Never
 * cuts inside a UTF-8 character. Returns NULL when nothing is left (empty or only filler);
 * otherwise the caller frees. */
char *om_title_from_hook(const char *hook, size_t max_chars);

/* Hashtags ("#word", letters/digits/underscore and non-ASCII letters kept, spaces joined
 * in camel case: "cold brew" -> "#ColdBrew") from brand keywords first, then transcript
 * keywords (both JSON arrays of strings, either may be NULL); deduplicated case-
 * insensitively, each <= limits->hashtag_chars_max characters (longer ones are skipped),
 * at most limits->hashtags_max. Returns a new JSON array (caller's). */
json_t *om_hashtags_build(const json_t *brand_keywords, const json_t *keywords,
                          const om_title_limits *limits);

#endif
