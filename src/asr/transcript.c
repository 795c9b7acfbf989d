/*
 * transcript.c: the engine-neutral transcript (words with timings and confidences),
 * sentence segmentation, and its JSON form in analysis.raw_ai_output.
 */
#include "base/common.h"

#include <math.h>

#include "asr/asr.h"

void om_transcript_init(om_transcript *t)
{
    memset(t, 0, sizeof(*t));
}

static void free_sentences(om_transcript *t)
{
    for (size_t i = 0; i < t->nsent; i++)
        free(t->sentences[i].text);
    free(t->sentences);
    t->sentences = NULL;
    t->nsent = 0;
}

void om_transcript_release(om_transcript *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->words[i].w);
    free(t->words);
    free_sentences(t);
    json_decref(t->engine);
    memset(t, 0, sizeof(*t));
}

void om_transcript_add(om_transcript *t, const char *w, double start, double end, double conf)
{
    while (*w == ' ' || *w == '\t' || *w == '\n' || *w == '\r')
        w++;
    size_t len = strlen(w);
    while (len &&
           (w[len - 1] == ' ' || w[len - 1] == '\t' || w[len - 1] == '\n' || w[len - 1] == '\r'))
        len--;
    if (!len)
        return;
    if (t->n == t->alloc) {
        t->alloc = t->alloc ? st_mult(t->alloc, 2) : 64;
        t->words = xrealloc(t->words, st_mult(t->alloc, sizeof(*t->words)));
    }
    if (!(conf >= 0.0)) /* also NaN */
        conf = 0.0;
    if (conf > 1.0)
        conf = 1.0;
    if (end < start)
        end = start;
    om_word *wd = &t->words[t->n++];
    wd->w = xstrndup(w, len);
    wd->start = start;
    wd->end = end;
    wd->conf = conf;
}

void om_transcript_set_engine(om_transcript *t, const char *name, const char *model, json_t *params)
{
    json_decref(t->engine);
    t->engine = json_pack("{s:s, s:s?, s:o}", "name", name, "model", model, "params",
                          params ? params : json_object());
}

void om_transcript_append(om_transcript *dst, om_transcript *src, double offset)
{
    for (size_t i = 0; i < src->n; i++) {
        om_word *w = &src->words[i];
        if (dst->n == dst->alloc) {
            dst->alloc = dst->alloc ? st_mult(dst->alloc, 2) : 64;
            dst->words = xrealloc(dst->words, st_mult(dst->alloc, sizeof(*dst->words)));
        }
        dst->words[dst->n] = *w;
        dst->words[dst->n].start += offset;
        dst->words[dst->n].end += offset;
        dst->n++;
    }
    free(src->words);
    src->words = NULL;
    src->n = src->alloc = 0;
    free_sentences(src);
}

/* ---- sentence segmentation ---------------------------------------------------------------- */

/* Abbreviations whose final dot does not end a sentence. */
static const char *const k_abbrev[] = {"mr",   "mrs", "ms", "dr",  "st",  "jr",  "sr",    "vs",
                                       "prof", "mt",  "no", "e.g", "i.e", "etc", "approx"};

static int ends_sentence(const char *w)
{
    size_t len = strlen(w);
    /* Skip closing quotes and brackets: `done."` and `(yes!)` end sentences too. */
    while (len && strchr("\"')]}", w[len - 1]))
        len--;
    if (len >= 3 && (unsigned char)w[len - 3] == 0xE2 && (unsigned char)w[len - 2] == 0x80 &&
        (unsigned char)w[len - 1] == 0xA6) /* U+2026 ellipsis */
        return 1;
    if (!len)
        return 0;
    char c = w[len - 1];
    if (c == '!' || c == '?')
        return 1;
    if (c != '.')
        return 0;
    /* "Mr." and single initials ("J.") are not ends. */
    size_t b = len - 1;
    size_t s = 0;
    while (s < b && !((w[s] >= 'a' && w[s] <= 'z') || (w[s] >= 'A' && w[s] <= 'Z')))
        s++;
    size_t wl = b - s;
    if (wl == 1 && w[s] >= 'A' && w[s] <= 'Z')
        return 0;
    for (size_t i = 0; i < OM_ARRAY_LEN(k_abbrev); i++) {
        if (strlen(k_abbrev[i]) == wl && strncasecmp(w + s, k_abbrev[i], wl) == 0)
            return 0;
    }
    return 1;
}

static int silence_between(const om_word *a, const om_word *b, const om_segment_opts *o)
{
    double lo = (a->start + a->end) / 2, hi = (b->start + b->end) / 2;
    for (size_t i = 0; i < o->nsilences; i++) {
        double s = o->silences[2 * i], e = o->silences[2 * i + 1];
        if (e - s < 0.3)
            continue;
        double mid = (s + e) / 2;
        if (mid > lo && mid < hi)
            return 1;
    }
    return 0;
}

/* Splits [first, last] (inclusive word indexes) at the widest gap while longer than max_s;
 * marks cut points in `cut` (cut[i] = 1: a sentence ends after word i). */
static void split_long(const om_transcript *t, size_t first, size_t last, double max_s,
                       unsigned char *cut)
{
    if (last <= first || t->words[last].end - t->words[first].start <= max_s)
        return;
    size_t best = first;
    double best_gap = -1e9;
    double mid_t = (t->words[first].start + t->words[last].end) / 2;
    for (size_t i = first; i < last; i++) {
        double gap = t->words[i + 1].start - t->words[i].end;
        /* Prefer wide gaps; among equals, the one nearest the middle. */
        double score = gap - 1e-3 * fabs(t->words[i].end - mid_t);
        if (score > best_gap) {
            best_gap = score;
            best = i;
        }
    }
    cut[best] = 1;
    split_long(t, first, best, max_s, cut);
    split_long(t, best + 1, last, max_s, cut);
}

void om_transcript_segment(om_transcript *t, const om_segment_opts *opts)
{
    om_segment_opts o = {0};
    if (opts)
        o = *opts;
    if (o.min_gap <= 0)
        o.min_gap = 0.5;
    if (o.long_gap <= 0)
        o.long_gap = 1.5;
    if (o.max_s <= 0)
        o.max_s = 20.0;
    free_sentences(t);
    if (!t->n)
        return;

    int punct = 0;
    for (size_t i = 0; i < t->n && !punct; i++)
        punct = ends_sentence(t->words[i].w);

    unsigned char *cut = xcalloc(t->n, 1);
    for (size_t i = 0; i + 1 < t->n; i++) {
        double gap = t->words[i + 1].start - t->words[i].end;
        if (punct)
            cut[i] = ends_sentence(t->words[i].w) || gap >= o.long_gap;
        else
            cut[i] = gap >= o.min_gap || silence_between(&t->words[i], &t->words[i + 1], &o);
    }
    cut[t->n - 1] = 1;
    size_t first = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (cut[i]) {
            split_long(t, first, i, o.max_s, cut);
            first = i + 1;
        }
    }

    size_t nsent = 0;
    for (size_t i = 0; i < t->n; i++)
        nsent += cut[i];
    t->sentences = xcalloc(nsent, sizeof(*t->sentences));
    first = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!cut[i])
            continue;
        om_sentence *s = &t->sentences[t->nsent++];
        s->first = first;
        s->count = i - first + 1;
        s->start = t->words[first].start;
        s->end = t->words[i].end;
        om_sbuf sb = OM_SBUF_INIT;
        for (size_t k = first; k <= i; k++) {
            if (k > first)
                sb_puts(&sb, " ");
            sb_puts(&sb, t->words[k].w);
        }
        s->text = sb_detach(&sb);
        first = i + 1;
    }
    free(cut);
}

/* ---- JSON --------------------------------------------------------------------------------- */

static json_t *json_time(double x)
{
    return json_real(round(x * 1000.0) / 1000.0);
}

json_t *om_transcript_to_json(const om_transcript *t)
{
    json_t *words = json_array();
    for (size_t i = 0; i < t->n; i++) {
        const om_word *w = &t->words[i];
        json_array_append_new(words, json_pack("{s:s, s:o, s:o, s:o}", "w", w->w, "start",
                                               json_time(w->start), "end", json_time(w->end),
                                               "conf", json_real(round(w->conf * 1000) / 1000)));
    }
    json_t *sents = json_array();
    for (size_t i = 0; i < t->nsent; i++) {
        const om_sentence *s = &t->sentences[i];
        json_array_append_new(sents, json_pack("{s:o, s:o, s:s}", "start", json_time(s->start),
                                               "end", json_time(s->end), "text", s->text));
    }
    json_t *engine = t->engine
                         ? json_incref(t->engine)
                         : json_pack("{s:s, s:n, s:{}}", "name", "unknown", "model", "params");
    return json_pack("{s:o, s:o, s:o}", "engine", engine, "words", words, "sentences", sents);
}

static int num_field(const json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return isfinite(*out) ? 0 : -1;
}

int om_transcript_from_json(om_transcript *out, const json_t *raw)
{
    if (!json_is_object(raw))
        return om_error_set(OM_EINVAL, "transcript JSON: not an object");
    json_t *words = json_object_get(raw, "words");
    if (!json_is_array(words))
        return om_error_set(OM_EINVAL, "transcript JSON: \"words\" is not an array");
    om_transcript t = OM_TRANSCRIPT_INIT;
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        const char *text = json_string_value(json_object_get(w, "w"));
        double start, end, conf = 1.0;
        if (!text || num_field(w, "start", &start) || num_field(w, "end", &end)) {
            om_transcript_release(&t);
            return om_error_set(OM_EINVAL,
                                "transcript JSON: words[%zu] needs \"w\", \"start\", \"end\"", i);
        }
        if (json_object_get(w, "conf") && num_field(w, "conf", &conf)) {
            om_transcript_release(&t);
            return om_error_set(OM_EINVAL, "transcript JSON: words[%zu].conf is not a number", i);
        }
        om_transcript_add(&t, text, start, end, conf);
    }
    json_t *engine = json_object_get(raw, "engine");
    if (json_is_object(engine))
        t.engine = json_deep_copy(engine);

    json_t *sents = json_object_get(raw, "sentences");
    if (json_is_array(sents) && json_array_size(sents) > 0) {
        /* Map each given sentence back onto the words by time. */
        t.sentences = xcalloc(json_array_size(sents), sizeof(*t.sentences));
        size_t wi = 0;
        json_t *s;
        json_array_foreach(sents, i, s)
        {
            double start, end;
            const char *text = json_string_value(json_object_get(s, "text"));
            if (!text || num_field(s, "start", &start) || num_field(s, "end", &end)) {
                om_transcript_release(&t);
                return om_error_set(OM_EINVAL,
                                    "transcript JSON: sentences[%zu] needs \"start\", \"end\", "
                                    "\"text\"",
                                    i);
            }
            om_sentence *st = &t.sentences[t.nsent++];
            st->start = start;
            st->end = end;
            st->text = xstrdup(text);
            while (wi < t.n && t.words[wi].start < start - 1e-3)
                wi++;
            st->first = wi;
            while (wi < t.n && t.words[wi].end <= end + 1e-3)
                wi++;
            st->count = wi - st->first;
        }
    } else {
        om_transcript_segment(&t, NULL);
    }
    *out = t;
    return OM_OK;
}

char *om_transcript_text(const om_transcript *t, double start, double end)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        double mid = (t->words[i].start + t->words[i].end) / 2;
        if (mid < start || mid >= end)
            continue;
        if (sb.len)
            sb_puts(&sb, " ");
        sb_puts(&sb, t->words[i].w);
    }
    return sb_detach(&sb);
}

char *om_transcript_join(const om_transcript *t)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            sb_puts(&sb, " ");
        sb_puts(&sb, t->words[i].w);
    }
    return sb_detach(&sb);
}
