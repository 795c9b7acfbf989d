/*
 * subtitles.c: WebVTT and SRT to timed words.
 *
 * Handles what platforms actually serve: a BOM, CRLF or CR line ends, VTT hours optional,
 * '.' or ',' before the milliseconds, cue identifiers and settings, NOTE/STYLE/REGION blocks,
 * markup (<c>, <i>, <v Speaker>, <font>, {\an8}), HTML entities, YouTube's inline word
 * timestamps (<00:00:01.000>) and its rolling cues that repeat the previous line (dropped
 * when a cue's leading lines repeat the words already emitted). Words of a cue without inline
 * timestamps share the cue's duration in proportion to their length.
 */
#include "base/common.h"

#include <math.h>

#include "asr/asr.h"
#include "base/fsutil.h"

#define TS_MARK '\x01' /* stands for an inline timestamp in a cleaned payload line */

typedef struct line {
    char *s;
    size_t no; /* 1-based line number in the input */
} line;

/* ---- lines -------------------------------------------------------------------------------- */

static size_t split_lines(char *text, size_t len, line **out)
{
    size_t n = 0, alloc = 64;
    line *ls = xmalloc(alloc * sizeof(*ls));
    size_t no = 1;
    char *p = text, *end = text + len;
    while (p < end) {
        char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        if (n == alloc) {
            alloc = st_mult(alloc, 2);
            ls = xrealloc(ls, alloc * sizeof(*ls));
        }
        ls[n].s = p;
        ls[n].no = no++;
        n++;
        if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n') {
            *q = '\0';
            p = q + 2;
        } else if (q < end) {
            *q = '\0';
            p = q + 1;
        } else {
            *q = '\0'; /* text has a spare NUL at text[len] */
            p = end;
        }
    }
    *out = ls;
    return n;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

static int starts_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    return strncmp(s, w, n) == 0 && (s[n] == '\0' || s[n] == ' ' || s[n] == '\t');
}

/* ---- timestamps --------------------------------------------------------------------------- */

/* [hh:]mm:ss[.,]fff; returns 0 and sets *end past it, or -1. */
static int parse_ts(const char *s, const char **end, double *out)
{
    long parts[3];
    int np = 0;
    const char *p = s;
    for (;;) {
        if (*p < '0' || *p > '9')
            return -1;
        long v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits++ > 6)
                return -1;
            v = v * 10 + (*p++ - '0');
        }
        parts[np++] = v;
        if (*p == ':' && np < 3) {
            p++;
            continue;
        }
        break;
    }
    if (np < 2)
        return -1;
    double frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        double scale = 0.1;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (++digits > 9)
                return -1;
            frac += (*p++ - '0') * scale;
            scale /= 10;
        }
        if (!digits)
            return -1;
    }
    long h = np == 3 ? parts[0] : 0, m = parts[np - 2], sec = parts[np - 1];
    if (m > 59 || sec > 59)
        return -1;
    *out = (double)h * 3600 + (double)m * 60 + (double)sec + frac;
    *end = p;
    return 0;
}

/* "start --> end [settings]"; returns 0 or -1. */
static int parse_timing(const char *s, double *start, double *end)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (parse_ts(p, &p, start) < 0)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "-->", 3) != 0)
        return -1;
    p += 3;
    while (*p == ' ' || *p == '\t')
        p++;
    if (parse_ts(p, &p, end) < 0)
        return -1;
    return (*p == '\0' || *p == ' ' || *p == '\t') ? 0 : -1;
}

/* ---- payload cleaning ---------------------------------------------------------------------- */

/* Decodes the entity at s ('&'...';'); returns its length or 0 when it is not one. */
static size_t entity(const char *s, om_sbuf *sb)
{
    static const struct {
        const char *name;
        unsigned long cp;
    } named[] = {{"amp", '&'},       {"lt", '<'},       {"gt", '>'},       {"quot", '"'},
                 {"apos", '\''},     {"nbsp", ' '},     {"lrm", 0},        {"rlm", 0},
                 {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"rsquo", 0x2019},
                 {"lsquo", 0x2018},  {"rdquo", 0x201D}, {"ldquo", 0x201C}};
    const char *semi = strchr(s, ';');
    if (!semi || semi - s > 10 || semi == s + 1)
        return 0;
    size_t len = (size_t)(semi - s) + 1;
    if (s[1] == '#') {
        unsigned long cp = 0;
        const char *p = s + 2;
        int hex = *p == 'x' || *p == 'X';
        if (hex)
            p++;
        if (p == semi)
            return 0;
        for (; p < semi; p++) {
            int d;
            if (*p >= '0' && *p <= '9')
                d = *p - '0';
            else if (hex && *p >= 'a' && *p <= 'f')
                d = *p - 'a' + 10;
            else if (hex && *p >= 'A' && *p <= 'F')
                d = *p - 'A' + 10;
            else
                return 0;
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
            if (cp > 0x10FFFF)
                return 0;
        }
        if (cp == 0xA0 || cp == (unsigned char)TS_MARK) /* &#1; is not a timestamp mark */
            cp = ' ';
        if (cp)
            sb_put_utf8(sb, cp);
        return len;
    }
    for (size_t i = 0; i < OM_ARRAY_LEN(named); i++) {
        size_t nl = strlen(named[i].name);
        if (nl == len - 2 && strncmp(s + 1, named[i].name, nl) == 0) {
            if (named[i].cp)
                sb_put_utf8(sb, named[i].cp);
            return len;
        }
    }
    return 0;
}

/* Strips markup and decodes entities; inline timestamps become TS_MARK with their times
 * appended to *ts. */
static char *clean_payload(const char *s, double **ts, size_t *nts, size_t *ts_alloc)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    const char *p = s;
    while (*p) {
        if (*p == '<') {
            const char *close = strchr(p, '>');
            if (close) {
                double t;
                const char *e;
                if (parse_ts(p + 1, &e, &t) == 0 && e == close) {
                    if (*nts == *ts_alloc) {
                        *ts_alloc = *ts_alloc ? *ts_alloc * 2 : 16;
                        *ts = xrealloc(*ts, *ts_alloc * sizeof(double));
                    }
                    (*ts)[(*nts)++] = t;
                    char mark = TS_MARK;
                    sb_append(&sb, &mark, 1);
                }
                p = close + 1;
                continue;
            }
        }
        if (*p == '{' && p[1] == '\\') { /* ASS override tags in SRT: {\an8} */
            const char *close = strchr(p, '}');
            if (close) {
                p = close + 1;
                continue;
            }
        }
        if (*p == '&') {
            size_t n = entity(p, &sb);
            if (n) {
                p += n;
                continue;
            }
        }
        if (*p == '\t' || *p == TS_MARK) { /* a literal \x01 is not a timestamp mark */
            sb_append(&sb, " ", 1);
            p++;
            continue;
        }
        sb_append(&sb, p, 1);
        p++;
    }
    return sb_detach(&sb);
}

/* A token worth keeping has a letter, a digit or is "&" (drops "-", ">>", "♪", "...", emoji). */
static int wordlike(const char *w)
{
    const unsigned char *u = (const unsigned char *)w;
    for (size_t i = 0; u[i]; i++) {
        unsigned char c = u[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '&')
            return 1;
        if (c >= 0xC3 && c != 0xE2 && c != 0xF0) /* letters beyond ASCII; not symbols/emoji */
            return 1;
    }
    return 0;
}

/* Equal ignoring case and anything but letters and digits. */
static int tok_eq(const char *a, const char *b)
{
    for (;;) {
        while (*a && !((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') ||
                       (*a >= '0' && *a <= '9') || (unsigned char)*a >= 0x80))
            a++;
        while (*b && !((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') ||
                       (*b >= '0' && *b <= '9') || (unsigned char)*b >= 0x80))
            b++;
        char ca = *a, cb = *b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (char)(cb - 'A' + 'a');
        if (ca != cb)
            return 0;
        if (!ca)
            return 1;
        a++;
        b++;
    }
}

static size_t char_len(const char *w)
{
    size_t n = 0;
    for (const unsigned char *u = (const unsigned char *)w; *u; u++)
        n += (*u & 0xC0) != 0x80;
    return n ? n : 1;
}

/* ---- cues ---------------------------------------------------------------------------------- */

typedef struct tok {
    char *w;
    double ts;   /* inline start time or -1 */
    size_t line; /* payload line index */
} tok;

typedef struct parser {
    om_transcript t;
    size_t cues, dropped_lines, inline_cues;
    double prev_end; /* end time of the previous cue */
    tok *toks;
    size_t ntoks, toks_alloc;
    json_t *spans; /* [[start,end],..] of the cues that gave words (align.c aligns per cue) */
} parser;

static void push_tok(parser *ps, const char *w, size_t len, double ts, size_t line)
{
    if (ps->ntoks == ps->toks_alloc) {
        ps->toks_alloc = ps->toks_alloc ? ps->toks_alloc * 2 : 32;
        ps->toks = xrealloc(ps->toks, ps->toks_alloc * sizeof(tok));
    }
    ps->toks[ps->ntoks++] = (tok){xstrndup(w, len), ts, line};
}

static void add_cue(parser *ps, double start, double end, line *payload, size_t nlines)
{
    ps->cues++;
    ps->ntoks = 0;
    double *ts = NULL;
    size_t nts = 0, ts_alloc = 0, ts_used = 0;
    size_t kept_line = 0; /* lines that produced tokens, renumbered */
    for (size_t li = 0; li < nlines; li++) {
        char *c = clean_payload(payload[li].s, &ts, &nts, &ts_alloc);
        double pending = -1;
        size_t before = ps->ntoks;
        const char *p = c;
        while (*p) {
            while (*p == ' ' || *p == TS_MARK) {
                if (*p == TS_MARK) /* never read past the times clean_payload found */
                    pending = ts_used < nts ? ts[ts_used++] : -1;
                p++;
            }
            if (!*p)
                break;
            const char *q = p;
            while (*q && *q != ' ' && *q != TS_MARK)
                q++;
            char *w = xstrndup(p, (size_t)(q - p));
            if (wordlike(w)) {
                push_tok(ps, w, strlen(w), pending, kept_line);
                pending = -1;
            }
            free(w);
            p = q;
        }
        if (ps->ntoks > before)
            kept_line++;
        free(c);
    }
    free(ts);

    /* Rolling captions: when a cue follows the previous one without a gap, drop the longest
     * run of its leading lines whose words repeat the end of what was already emitted. (A
     * line repeated after a gap, like a chorus, is kept.) */
    size_t drop = 0;
    int contiguous = ps->cues > 1 && start <= ps->prev_end + 0.1;
    for (size_t k = contiguous ? kept_line : 0; k >= 1 && !drop; k--) {
        size_t nw = 0;
        while (nw < ps->ntoks && ps->toks[nw].line < k)
            nw++;
        if (!nw || nw > ps->t.n)
            continue;
        size_t off = ps->t.n - nw, i;
        for (i = 0; i < nw; i++)
            if (!tok_eq(ps->t.words[off + i].w, ps->toks[i].w))
                break;
        if (i == nw)
            drop = nw, ps->dropped_lines += k;
    }

    tok *tk = ps->toks ? ps->toks + drop : NULL; /* a cue without words has no toks */
    size_t n = ps->ntoks - drop;
    int has_inline = 0;
    for (size_t i = 0; i < n; i++)
        has_inline |= tk[i].ts >= 0;
    ps->inline_cues += has_inline;
    /* Segments start at the first word and at every word with an inline time; each spans to
     * the next segment (or the cue end) and shares its time by word length. */
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && tk[j].ts < 0)
            j++;
        double s = tk[i].ts >= 0 ? tk[i].ts : start;
        double e = j < n ? tk[j].ts : end;
        if (s < start)
            s = start;
        if (e > end)
            e = end;
        if (e < s)
            e = s;
        double total = 0;
        for (size_t k = i; k < j; k++)
            total += (double)char_len(tk[k].w);
        double at = s;
        for (size_t k = i; k < j; k++) {
            double d = (e - s) * (double)char_len(tk[k].w) / total;
            om_transcript_add(&ps->t, tk[k].w, at, at + d, 1.0);
            at += d;
        }
        i = j;
    }
    if (n) {
        if (!ps->spans)
            ps->spans = json_array();
        json_array_append_new(ps->spans, json_pack("[f,f]", round(start * 1000) / 1000,
                                                   round(end * 1000) / 1000));
    }
    for (size_t k = 0; k < ps->ntoks; k++)
        free(ps->toks[k].w);
    ps->ntoks = 0;
    ps->prev_end = end;
}

static int cmp_word_start(const void *a, const void *b)
{
    const om_word *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* A block separator. In WebVTT only an empty line ends a cue (YouTube's cues contain lines of
 * one space); SRT files in the wild also use lines of spaces. */
static int separator(const char *s, int vtt)
{
    return vtt ? s[0] == '\0' : blank(s);
}

static int parse(parser *ps, line *ls, size_t n, const char *name, int vtt)
{
    size_t i = 0;
    if (vtt) { /* header block: the signature line and any "Kind:"/"Language:" lines */
        while (i < n && !separator(ls[i].s, vtt))
            i++;
    }
    while (i < n) {
        while (i < n && separator(ls[i].s, vtt))
            i++;
        if (i >= n)
            break;
        size_t b = i, e = i;
        while (e < n && !separator(ls[e].s, vtt))
            e++;
        i = e;
        if (vtt && !strstr(ls[b].s, "-->") &&
            (starts_word(ls[b].s, "NOTE") || starts_word(ls[b].s, "STYLE") ||
             starts_word(ls[b].s, "REGION")))
            continue;
        size_t tl;
        int numbered = ls[b].s[0] && strspn(ls[b].s, "0123456789 ") == strlen(ls[b].s);
        if (strstr(ls[b].s, "-->")) {
            tl = b;
        } else if (b + 1 < e && strstr(ls[b + 1].s, "-->")) {
            tl = b + 1;
        } else if (!vtt && !numbered && ps->cues > 0) {
            /* SRT text after a blank line inside a cue: nothing to time it by; skip it. */
            continue;
        } else {
            size_t at = (numbered || vtt) && b + 1 < e ? b + 1 : b;
            return om_error_set(OM_EINVAL,
                                "%s: line %zu: expected a cue timing line "
                                "(start --> end), got '%.40s'",
                                name, ls[at].no, ls[at].s);
        }
        double start, end;
        if (parse_timing(ls[tl].s, &start, &end) < 0)
            return om_error_set(OM_EINVAL, "%s: line %zu: bad cue timing '%.60s'", name, ls[tl].no,
                                ls[tl].s);
        if (end < start)
            return om_error_set(OM_EINVAL, "%s: line %zu: cue ends before it starts", name,
                                ls[tl].no);
        add_cue(ps, start, end, &ls[tl + 1], e - tl - 1);
    }
    return OM_OK;
}

int om_subtitles_parse(om_transcript *out, const char *text, size_t len, const char *name)
{
    if (!name)
        name = "subtitles";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (memchr(text, '\0', len))
        return om_error_set(OM_EINVAL, "%s: binary data (NUL byte), not subtitles", name);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    line *ls;
    size_t n = split_lines(copy, len, &ls);
    int vtt = n > 0 && strncmp(ls[0].s, "WEBVTT", 6) == 0 &&
              (ls[0].s[6] == '\0' || ls[0].s[6] == ' ' || ls[0].s[6] == '\t');
    parser ps = {0};
    int rc = parse(&ps, ls, n, name, vtt);
    if (rc == OM_OK && ps.cues == 0)
        rc = om_error_set(OM_EINVAL, "%s: no cues found", name);
    free(ls);
    free(copy);
    free(ps.toks);
    if (rc < 0) {
        om_transcript_release(&ps.t);
        json_decref(ps.spans);
        return rc;
    }
    /* Overlapping cues of different speakers can interleave: order words by start. */
    if (ps.t.n) /* cues may hold only markup: no words, words NULL */
        qsort(ps.t.words, ps.t.n, sizeof(om_word), cmp_word_start);
    om_transcript_set_engine(&ps.t, "subtitles", vtt ? "webvtt" : "srt",
                             json_pack("{s:I, s:I, s:I, s:o}", "cues", (json_int_t)ps.cues,
                                       "rolling_lines_dropped", (json_int_t)ps.dropped_lines,
                                       "cues_with_word_times", (json_int_t)ps.inline_cues,
                                       "cue_spans", ps.spans ? ps.spans : json_array()));
    om_transcript_segment(&ps.t, NULL);
    *out = ps.t;
    return OM_OK;
}

int om_subtitles_parse_file(om_transcript *out, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int rc = om_read_file(path, 32u << 20, &data, &len);
    if (rc < 0)
        return om_error_wrap(rc, "reading subtitles");
    const char *base = strrchr(path, '/');
    rc = om_subtitles_parse(out, data, len, base ? base + 1 : path);
    free(data);
    return rc;
}
