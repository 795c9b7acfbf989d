/*
 * wer.c: word error rate. Texts are normalised into words (case, punctuation, decoder
 * markup), then aligned by Levenshtein distance over words; the counts of substitutions,
 * deletions and insertions of one minimal alignment are reported.
 */
#include "base/common.h"

#include "asr/asr.h"

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Length of a right single quotation mark (U+2019) at s, else 0. */
static size_t curly_apos(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    return (u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0x99) ? 3 : 0;
}

/* Length of a Unicode punctuation character at s (General Punctuation block, guillemets,
 * inverted marks), else 0. */
static size_t unicode_punct(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == 0xE2 && (u[1] == 0x80 || u[1] == 0x81) && u[2])
        return 3;
    if (u[0] == 0xC2 && (u[1] == 0xAB || u[1] == 0xBB || u[1] == 0xA1 || u[1] == 0xBF))
        return 2;
    return 0;
}

/* Returns the length of decoder markup starting at s ("<sil>", "[noise]", "(2)"), else 0. */
static size_t markup_len(const char *s)
{
    char close = s[0] == '<' ? '>' : s[0] == '[' ? ']' : s[0] == '(' ? ')' : 0;
    if (!close)
        return 0;
    const char *e = strchr(s + 1, close);
    if (!e || e - s > 40)
        return 0;
    if (close == ')') { /* only "(2)"-style pronunciation variant markers */
        for (const char *p = s + 1; p < e; p++)
            if (!is_digit((unsigned char)*p))
                return 0;
        if (e == s + 1)
            return 0;
    }
    for (const char *p = s + 1; p < e; p++)
        if (*p == ' ' || *p == '\n')
            return 0;
    return (size_t)(e - s) + 1;
}

size_t om_wer_words(const char *text, char ***out)
{
    size_t n = 0, alloc = 16;
    char **words = xmalloc(alloc * sizeof(*words));
    const char *p = text ? text : "";
    om_sbuf cur = OM_SBUF_INIT;
    while (1) {
        size_t m = markup_len(p);
        if (m) {
            p += m;
            continue;
        }
        unsigned char c = (unsigned char)*p;
        size_t ap = curly_apos(p);
        int apos = c == '\'' || ap;
        size_t step = ap ? ap : 1;
        size_t up = ap ? 0 : unicode_punct(p);
        if (up) { /* typographic quotes, dashes, ellipsis: separators */
            c = ' ';
            step = up;
        }
        int inner_apos = apos && cur.len && is_word_byte((unsigned char)p[step]);
        int inner_num = (c == '.' || c == ',') && cur.len &&
                        is_digit((unsigned char)cur.buf[cur.len - 1]) &&
                        is_digit((unsigned char)p[1]);
        if (c && (is_word_byte(c) || inner_apos || inner_num) && !ap) {
            char lc = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
            sb_append(&cur, &lc, 1);
            p++;
            continue;
        }
        if (ap && inner_apos) {
            sb_append(&cur, "'", 1);
            p += ap;
            continue;
        }
        if (cur.len) {
            if (n + 2 > alloc) {
                alloc = st_mult(alloc, 2);
                words = xrealloc(words, alloc * sizeof(*words));
            }
            words[n++] = sb_detach(&cur);
        }
        if (!c)
            break;
        p += step;
    }
    sb_release(&cur);
    words[n] = NULL;
    *out = words;
    return n;
}

void om_wer_words_free(char **words)
{
    if (!words)
        return;
    for (char **w = words; *w; w++)
        free(*w);
    free(words);
}

typedef struct cell {
    size_t cost, sub, del, ins;
} cell;

void om_wer_compute(const char *ref, const char *hyp, om_wer *out)
{
    char **r, **h;
    size_t nr = om_wer_words(ref, &r), nh = om_wer_words(hyp, &h);
    /* Two rows of the (nr+1) x (nh+1) table; each cell carries its operation counts. */
    cell *prev = xcalloc(nh + 1, sizeof(cell)), *row = xcalloc(nh + 1, sizeof(cell));
    for (size_t j = 0; j <= nh; j++)
        prev[j] = (cell){j, 0, 0, j};
    for (size_t i = 1; i <= nr; i++) {
        row[0] = (cell){i, 0, i, 0};
        for (size_t j = 1; j <= nh; j++) {
            int same = strcmp(r[i - 1], h[j - 1]) == 0;
            cell best = prev[j - 1];
            best.cost += !same;
            best.sub += !same;
            cell d = prev[j];
            d.cost++;
            d.del++;
            cell in = row[j - 1];
            in.cost++;
            in.ins++;
            if (d.cost < best.cost)
                best = d;
            if (in.cost < best.cost)
                best = in;
            row[j] = best;
        }
        cell *t = prev;
        prev = row;
        row = t;
    }
    cell fin = prev[nh];
    out->ref_words = nr;
    out->hyp_words = nh;
    out->sub = fin.sub;
    out->del = fin.del;
    out->ins = fin.ins;
    out->wer = nr ? (double)fin.cost / (double)nr : (nh ? 1.0 : 0.0);
    free(prev);
    free(row);
    om_wer_words_free(r);
    om_wer_words_free(h);
}
