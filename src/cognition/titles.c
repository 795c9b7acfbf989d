/* titles.c: the offline rules that turn a clip's hook into a title and its keywords into
 * hashtags, within each publishing target's limits (see titles.h). */
#include "base/common.h"

#include <ctype.h>
#include <strings.h>

#include "base/utf8.h"
#include "cognition/titles.h"

static const om_title_limits limits_table[] = {
    {.target = "youtube", .title_max = 100, .hashtags_max = 15, .hashtag_chars_max = 100},
    {.target = "tiktok", .title_max = 150, .hashtags_max = 10, .hashtag_chars_max = 100},
    {.target = "instagram", .title_max = 125, .hashtags_max = 30, .hashtag_chars_max = 100},
    {.target = "export", .title_max = 100, .hashtags_max = 15, .hashtag_chars_max = 100},
};

const om_title_limits *om_title_limits_for(const char *target)
{
    for (size_t i = 0; target && i < OM_ARRAY_LEN(limits_table); i++)
        if (!strcmp(limits_table[i].target, target))
            return &limits_table[i];
    return &limits_table[0];
}

/* Fillers removed at the start (multi-word ones first) and, for um/uh, anywhere. */
static const char *const lead_fillers[] = {"you know", "i mean", "so", "um", "uh", "umm",
                                           "uhh", "er", "like", "well", "okay", "ok",
                                           "basically", "actually", "and", "but", "right",
                                           "yeah", "hey"};
static const char *const any_fillers[] = {"um", "uh", "umm", "uhh", "er"};

/* Length of the word at p (up to space), ignoring one trailing comma. */
static size_t word_len(const char *p)
{
    size_t n = 0;
    while (p[n] && p[n] != ' ')
        n++;
    return n;
}

static int word_is(const char *w, size_t n, const char *f)
{
    size_t fl = strlen(f);
    if (n && (w[n - 1] == ',' || w[n - 1] == '.'))
        n--;
    return n == fl && !strncasecmp(w, f, n);
}

/* Splits s into space-separated words (squashed), drops fillers; caller frees. */
static char *drop_fillers(const char *s)
{
    om_sbuf sq = OM_SBUF_INIT;
    int space = 0;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = 1;
            continue;
        }
        if (space && sq.len)
            sb_append(&sq, " ", 1);
        space = 0;
        sb_append(&sq, p, 1);
    }
    char *in = sb_detach(&sq);
    const char *p = in;
    /* leading fillers, repeatedly ("so, um, you know, ...") */
    for (int again = 1; again && *p;) {
        again = 0;
        for (size_t i = 0; i < OM_ARRAY_LEN(lead_fillers); i++) {
            const char *f = lead_fillers[i];
            size_t fl = strlen(f);
            if (strncasecmp(p, f, fl))
                continue;
            const char *q = p + fl;
            if (*q == ',' || *q == '.')
                q++;
            if (*q != ' ' && *q != '\0')
                continue;
            p = *q ? q + 1 : q;
            again = 1;
            break;
        }
    }
    om_sbuf out = OM_SBUF_INIT;
    while (*p) {
        size_t n = word_len(p);
        int skip = 0;
        for (size_t i = 0; i < OM_ARRAY_LEN(any_fillers) && !skip; i++)
            skip = word_is(p, n, any_fillers[i]);
        if (!skip) {
            if (out.len)
                sb_append(&out, " ", 1);
            sb_append(&out, p, n);
        } else if (out.len && n && p[n - 1] == '.' && sb_str(&out)[out.len - 1] != '.') {
            sb_append(&out, ".", 1); /* "it works, um." keeps its full stop */
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    free(in);
    return sb_detach(&out);
}

static int is_dangling(unsigned char c)
{
    return c == ',' || c == ';' || c == ':' || c == '-' || c == '(' || c == '[' ||
           c == '{' || c == '"' || c == '\'' || c == '/' || c == '&' || c == ' ';
}

char *om_title_from_hook(const char *hook, size_t max_chars)
{
    if (!hook || max_chars == 0)
        return NULL;
    char *t = drop_fillers(hook);
    /* shouting: no lowercase ASCII letter but at least two uppercase ones */
    size_t upper = 0, lower = 0;
    for (const char *p = t; *p; p++) {
        upper += (*p >= 'A' && *p <= 'Z');
        lower += (*p >= 'a' && *p <= 'z');
    }
    if (upper >= 2 && lower == 0)
        for (char *p = t; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    /* "i" alone is "I" */
    for (char *p = t; *p; p++)
        if (*p == 'i' && (p == t || p[-1] == ' ') && (p[1] == ' ' || p[1] == '\'' || !p[1]))
            *p = 'I';
    /* strip leading punctuation left by a removed filler */
    char *start = t;
    while (*start && (*start == ',' || *start == '.' || *start == ';' || *start == ':' ||
                      *start == '-' || *start == ' '))
        start++;
    if (*start >= 'a' && *start <= 'z')
        *start = (char)(*start - 32);

    /* cut at a word boundary to max_chars characters */
    size_t len = strlen(start);
    if (om_utf8_len(start) > max_chars) {
        const char *p = start;
        size_t chars = 0, last_space = 0;
        while (*p && chars < max_chars) {
            size_t step = 1;
            while (p[step] && ((unsigned char)p[step] & 0xC0) == 0x80)
                step++;
            p += step;
            chars++;
            if (*p == ' ')
                last_space = (size_t)(p - start);
        }
        size_t cut = (size_t)(p - start);
        /* cut is at a boundary if the next byte ends a word; else back to the last space */
        len = (start[cut] == ' ' || start[cut] == '\0' || !last_space) ? cut : last_space;
    }
    /* no dangling punctuation, and no unclosed opening quote or bracket */
    for (;;) {
        while (len && is_dangling((unsigned char)start[len - 1]))
            len--;
        int quotes = 0, paren = 0;
        for (size_t i = 0; i < len; i++) {
            quotes += start[i] == '"';
            paren += (start[i] == '(') - (start[i] == ')');
        }
        if (!(quotes % 2) && paren <= 0)
            break;
        /* drop back to before the unclosed opener */
        size_t i = len;
        while (i && start[i - 1] != (quotes % 2 ? '"' : '('))
            i--;
        len = i ? i - 1 : 0;
    }
    char *out = len ? xstrndup(start, len) : NULL;
    free(t);
    return out;
}

static int has_ci(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        if (!strcasecmp(json_string_value(v), s))
            return 1;
    return 0;
}

static void add_from(json_t *out, const json_t *from, const om_title_limits *lim)
{
    size_t i;
    json_t *v;
    json_array_foreach(from, i, v) {
        const char *s = json_string_value(v);
        if (!s || json_array_size(out) >= lim->hashtags_max)
            continue;
        om_sbuf h = OM_SBUF_INIT;
        sb_append(&h, "#", 1);
        /* several words: each capitalised ("cold brew" -> "ColdBrew"); one word as given */
        int up = strpbrk(s, " \t-") != NULL;
        for (const char *p = s; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (isalnum(c) || c == '_' || c >= 0x80) {
                char ch = *p;
                if (up && ch >= 'a' && ch <= 'z')
                    ch = (char)(ch - 32);
                sb_append(&h, &ch, 1);
                up = 0;
            } else if (isspace(c) || c == '-') {
                up = 1;
            }
        }
        if (h.len > 1 && om_utf8_valid(sb_str(&h)) &&
            om_utf8_len(sb_str(&h)) <= lim->hashtag_chars_max && !has_ci(out, sb_str(&h)))
            json_array_append_new(out, json_string(sb_str(&h)));
        sb_release(&h);
    }
}

json_t *om_hashtags_build(const json_t *brand_keywords, const json_t *keywords,
                          const om_title_limits *limits)
{
    const om_title_limits *lim = limits ? limits : om_title_limits_for(NULL);
    json_t *out = json_array();
    if (json_is_array(brand_keywords))
        add_from(out, brand_keywords, lim);
    if (json_is_array(keywords))
        add_from(out, keywords, lim);
    return out;
}
