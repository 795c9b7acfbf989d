/* text.c: tokenizer, stop words, Snowball stemming and shingle sets (see text.h). */
#include "base/common.h"

#include <libstemmer.h>

#include "cognition/text.h"

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

void om_tokens_push(om_tokens *t, const char *tok)
{
    if (t->n == t->alloc) {
        t->alloc = t->alloc ? st_mult(t->alloc, 2) : 16;
        t->v = xrealloc(t->v, st_mult(t->alloc, sizeof(*t->v)));
    }
    t->v[t->n++] = xstrdup(tok);
}

void om_tokens_release(om_tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = t->alloc = 0;
}

void om_text_tokens(const char *text, om_tokens *out)
{
    if (!text)
        return;
    const unsigned char *p = (const unsigned char *)text;
    om_sbuf sb = OM_SBUF_INIT;
    while (*p) {
        while (*p && !is_word_byte(*p))
            p++;
        if (!*p)
            break;
        sb_reset(&sb);
        while (*p) {
            if (is_word_byte(*p)) {
                char c = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
                sb_append(&sb, &c, 1);
                p++;
            } else if ((*p == '\'' || (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x99)) &&
                       sb.len > 0) {
                /* apostrophe (ASCII or U+2019) inside a word: keep as ASCII ' */
                size_t w = (*p == '\'') ? 1 : 3;
                if (!is_word_byte(p[w]))
                    break;
                sb_append(&sb, "'", 1);
                p += w;
            } else {
                break;
            }
        }
        if (sb.len)
            om_tokens_push(out, sb_str(&sb));
    }
    sb_release(&sb);
}

/* A compact English stop-word list (function words; kept sorted for bsearch). */
static const char *const stopwords[] = {
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did",
    "didn't", "do", "does", "doesn't", "doing", "don't", "down", "during", "each", "even",
    "ever", "every", "few", "for", "from", "further", "get", "gets", "gonna", "got", "had",
    "hadn't", "has", "hasn't", "have", "haven't", "having", "he", "he'd", "he'll", "he's",
    "her", "here", "here's", "hers", "herself", "him", "himself", "his", "how", "how's", "i",
    "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it's", "its",
    "itself", "just", "know", "let's", "like", "me", "more", "most", "much", "must", "mustn't",
    "my", "myself", "no", "nor", "not", "now", "of", "off", "oh", "ok", "okay", "on", "once",
    "one", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own",
    "really", "right", "said", "same", "say", "says", "shan't", "she", "she'd", "she'll",
    "she's", "should", "shouldn't", "so", "some", "such", "than", "that", "that's", "the",
    "their", "theirs", "them", "themselves", "then", "there", "there's", "these", "they",
    "they'd", "they'll", "they're", "they've", "thing", "things", "this", "those", "through",
    "to", "too", "uh", "um", "under", "until", "up", "very", "want", "was", "wasn't", "way",
    "we", "we'd", "we'll", "we're", "we've", "well", "were", "weren't", "what", "what's",
    "when", "when's", "where", "where's", "which", "while", "who", "who's", "whom", "why",
    "why's", "will", "with", "won't", "would", "wouldn't", "yeah", "yes", "you", "you'd",
    "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves",
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int om_text_is_stopword(const char *tok)
{
    return bsearch(&tok, stopwords, OM_ARRAY_LEN(stopwords), sizeof(stopwords[0]), cmp_str) !=
           NULL;
}

int om_text_is_number(const char *tok)
{
    int digits = 0;
    for (const char *p = tok; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p != ',' && *p != '.')
            return 0;
    }
    return digits > 0;
}

struct om_stemmer {
    struct sb_stemmer *sb;
};

om_stemmer *om_stemmer_new(void)
{
    om_stemmer *st = xcalloc(1, sizeof(*st));
    st->sb = sb_stemmer_new("english", NULL);
    OM_ASSERT(st->sb != NULL); /* libstemmer always ships english */
    return st;
}

void om_stemmer_free(om_stemmer *st)
{
    if (!st)
        return;
    sb_stemmer_delete(st->sb);
    free(st);
}

char *om_stem(om_stemmer *st, const char *tok)
{
    const sb_symbol *s = sb_stemmer_stem(st->sb, (const sb_symbol *)tok, (int)strlen(tok));
    if (!s)
        return xstrdup(tok);
    return xstrndup((const char *)s, (size_t)sb_stemmer_length(st->sb));
}

void om_text_stems(om_stemmer *st, const char *text, om_tokens *out)
{
    om_tokens toks = OM_TOKENS_INIT;
    om_text_tokens(text, &toks);
    for (size_t i = 0; i < toks.n; i++) {
        if (strlen(toks.v[i]) < 2 || om_text_is_stopword(toks.v[i]))
            continue;
        char *s = om_stem(st, toks.v[i]);
        om_tokens_push(out, s);
        free(s);
    }
    om_tokens_release(&toks);
}

uint64_t om_hash64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void om_shingles_build(om_stemmer *st, const char *text, int k, om_shingles *out)
{
    out->h = NULL;
    out->n = 0;
    om_tokens toks = OM_TOKENS_INIT;
    om_text_tokens(text, &toks);
    for (size_t i = 0; i < toks.n; i++) {
        char *s = om_stem(st, toks.v[i]);
        free(toks.v[i]);
        toks.v[i] = s;
    }
    if (k < 1)
        k = 1;
    size_t kk = (size_t)k;
    if (toks.n < kk)
        kk = 1;
    if (toks.n == 0) {
        om_tokens_release(&toks);
        return;
    }
    size_t n = toks.n - kk + 1;
    out->h = xmalloc(st_mult(n, sizeof(uint64_t)));
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        sb_reset(&sb);
        for (size_t j = 0; j < kk; j++) {
            sb_puts(&sb, toks.v[i + j]);
            sb_append(&sb, " ", 1);
        }
        out->h[i] = om_hash64(sb.buf, sb.len);
    }
    sb_release(&sb);
    qsort(out->h, n, sizeof(uint64_t), cmp_u64);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || out->h[w - 1] != out->h[i])
            out->h[w++] = out->h[i];
    out->n = w;
    om_tokens_release(&toks);
}

void om_shingles_release(om_shingles *s)
{
    free(s->h);
    s->h = NULL;
    s->n = 0;
}

double om_shingles_jaccard(const om_shingles *a, const om_shingles *b)
{
    if (a->n == 0 && b->n == 0)
        return 0.0;
    size_t i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        if (a->h[i] == b->h[j]) {
            inter++;
            i++;
            j++;
        } else if (a->h[i] < b->h[j]) {
            i++;
        } else {
            j++;
        }
    }
    size_t uni = a->n + b->n - inter;
    return (double)inter / (double)uni;
}
