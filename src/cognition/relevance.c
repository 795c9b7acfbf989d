/* relevance.c: stemmed BM25-like brief matching and tf-idf keywords (see relevance.h). */
#include "base/common.h"

#include <math.h>

#include "base/utf8.h"
#include "cognition/relevance.h"

#define REL_K1 1.2
#define REL_B 0.5
#define REL_L0 60.0

typedef struct qterm {
    char *stem;
    double w;
} qterm;

struct om_relevance {
    om_stemmer *st;
    qterm *t;
    size_t n, alloc;
    double wsum;
};

static void add_term(om_relevance *r, const char *stem, double w)
{
    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(r->t[i].stem, stem)) {
            if (w > r->t[i].w) {
                r->wsum += w - r->t[i].w;
                r->t[i].w = w;
            }
            return;
        }
    }
    if (r->n == r->alloc) {
        r->alloc = r->alloc ? r->alloc * 2 : 16;
        r->t = xrealloc(r->t, st_mult(r->alloc, sizeof(*r->t)));
    }
    r->t[r->n].stem = xstrdup(stem);
    r->t[r->n].w = w;
    r->n++;
    r->wsum += w;
}

/* Words a brief uses about itself, not about its subject ("videos for our brand's
 * channel"): they would match any talk that says "video" or a misheard "brand". Brand
 * keywords are never filtered: an operator who lists "video" means it. */
static const char *const brief_generic[] = {
    "brand",   "brands",   "channel", "video",    "videos",   "content", "clip",    "clips",
    "short",   "shorts",   "post",    "posts",    "posting",  "audience", "viewer", "viewers",
    "follower", "followers", "subscriber", "subscribers", "creator", "creators", "people",
    "thing",   "things",   "stuff",   "make",     "making",   "help",     "tips",    "tip",
    "idea",    "ideas",    "way",     "ways",     "new",      "best",     "great",   "good",
    "get",     "want",     "like",    "love",     "really",   "just",     "everyone", "social",
    "media",   "platform", "online",  "topic",    "topics",   "talk",     "talks",   "story",
    NULL};

static int is_brief_generic(om_stemmer *st, const char *stem)
{
    for (const char *const *g = brief_generic; *g; g++) {
        char *gs = om_stem(st, *g);
        int same = gs && !strcmp(gs, stem);
        free(gs);
        if (same)
            return 1;
    }
    return 0;
}

static void add_text(om_relevance *r, const char *text, double w, int brief)
{
    om_tokens stems = OM_TOKENS_INIT;
    om_text_stems(r->st, text, &stems);
    for (size_t i = 0; i < stems.n; i++)
        if (!brief || !is_brief_generic(r->st, stems.v[i]))
            add_term(r, stems.v[i], w);
    om_tokens_release(&stems);
}

om_relevance *om_relevance_new(om_stemmer *st, const char *brief, const char *const *keywords,
                               size_t nkeywords)
{
    om_relevance *r = xcalloc(1, sizeof(*r));
    r->st = st;
    for (size_t i = 0; keywords && i < nkeywords; i++)
        add_text(r, keywords[i], 2.0, 0);
    if (brief)
        add_text(r, brief, 1.0, 1);
    return r;
}

om_relevance *om_relevance_from_brand(om_stemmer *st, const json_t *brand)
{
    const json_t *kw = json_object_get(brand, "keywords");
    const char *brief = json_string_value(json_object_get(brand, "brief"));
    size_t n = json_is_array(kw) ? json_array_size(kw) : 0;
    const char **v = xcalloc(n + 1, sizeof(*v));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(kw, i));
        if (s)
            v[m++] = s;
    }
    om_relevance *r = om_relevance_new(st, brief, v, m);
    free(v);
    return r;
}

void om_relevance_free(om_relevance *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->t[i].stem);
    free(r->t);
    free(r);
}

int om_relevance_is_empty(const om_relevance *r)
{
    return r->n == 0;
}

size_t om_relevance_nterms(const om_relevance *r)
{
    return r->n;
}

typedef struct hit {
    size_t term;
    double contrib;
} hit;

static int cmp_hit(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return x->contrib < y->contrib ? 1 : x->contrib > y->contrib ? -1 : 0;
}

double om_relevance_score_stems(const om_relevance *r, const char *const *stems, size_t n,
                                json_t **matched_out)
{
    if (matched_out)
        *matched_out = json_array();
    if (r->n == 0)
        return OM_RELEVANCE_NEUTRAL;
    size_t L = 0;
    for (size_t i = 0; i < n; i++)
        if (stems[i])
            L++;
    double norm = REL_K1 * (1.0 - REL_B + REL_B * (double)L / REL_L0);
    hit *hits = xcalloc(r->n, sizeof(*hits));
    size_t nh = 0;
    double raw = 0.0;
    for (size_t q = 0; q < r->n; q++) {
        size_t tf = 0;
        for (size_t i = 0; i < n; i++)
            if (stems[i] && !strcmp(stems[i], r->t[q].stem))
                tf++;
        if (!tf)
            continue;
        double c = r->t[q].w * (double)tf / ((double)tf + norm);
        raw += c;
        hits[nh].term = q;
        hits[nh].contrib = c;
        nh++;
    }
    if (matched_out) {
        qsort(hits, nh, sizeof(*hits), cmp_hit);
        for (size_t i = 0; i < nh; i++)
            json_array_append_new(*matched_out, om_json_text(r->t[hits[i].term].stem));
    }
    free(hits);
    double tau = 1.0 + 0.1 * r->wsum;
    double s = 1.0 - exp(-raw / tau);
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

double om_relevance_score(om_relevance *r, const char *text, json_t **matched_out)
{
    om_tokens stems = OM_TOKENS_INIT;
    if (r->n)
        om_text_stems(r->st, text, &stems);
    double s = om_relevance_score_stems(r, (const char *const *)stems.v, stems.n, matched_out);
    om_tokens_release(&stems);
    return s;
}

/* ---- keyword extraction ---- */

typedef struct kw {
    char *stem;
    double tf;
    size_t df, last_doc, first_pos;
    /* surface forms with counts */
    char **forms;
    size_t *counts;
    size_t nforms;
    double weight;
} kw;

static int cmp_kw(const void *a, const void *b)
{
    const kw *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight < y->weight ? 1 : -1;
    return x->first_pos < y->first_pos ? -1 : x->first_pos > y->first_pos;
}

json_t *om_keywords_extract(om_stemmer *st, const char *const *docs, size_t ndocs,
                            size_t top_n)
{
    kw *k = NULL;
    size_t nk = 0, ak = 0, pos = 0;
    for (size_t d = 0; d < ndocs; d++) {
        om_tokens toks = OM_TOKENS_INIT;
        om_text_tokens(docs[d], &toks);
        for (size_t i = 0; i < toks.n; i++, pos++) {
            const char *w = toks.v[i];
            if (strlen(w) < 3 || om_text_is_stopword(w) || om_text_is_number(w))
                continue;
            char *s = om_stem(st, w);
            size_t j;
            for (j = 0; j < nk; j++)
                if (!strcmp(k[j].stem, s))
                    break;
            if (j == nk) {
                if (nk == ak) {
                    ak = ak ? ak * 2 : 32;
                    k = xrealloc(k, st_mult(ak, sizeof(*k)));
                }
                memset(&k[nk], 0, sizeof(k[nk]));
                k[nk].stem = xstrdup(s);
                k[nk].first_pos = pos;
                k[nk].last_doc = (size_t)-1;
                nk++;
            }
            free(s);
            kw *e = &k[j];
            e->tf += 1;
            if (e->last_doc != d) {
                e->df++;
                e->last_doc = d;
            }
            size_t f;
            for (f = 0; f < e->nforms; f++)
                if (!strcmp(e->forms[f], w))
                    break;
            if (f == e->nforms) {
                e->forms = xrealloc(e->forms, st_mult(e->nforms + 1, sizeof(char *)));
                e->counts = xrealloc(e->counts, st_mult(e->nforms + 1, sizeof(size_t)));
                e->forms[f] = xstrdup(w);
                e->counts[f] = 0;
                e->nforms++;
            }
            e->counts[f]++;
        }
        om_tokens_release(&toks);
    }
    double N = ndocs ? (double)ndocs : 1.0;
    for (size_t j = 0; j < nk; j++)
        k[j].weight = k[j].tf * log(1.0 + N / (double)k[j].df);
    if (nk > 1)
        qsort(k, nk, sizeof(*k), cmp_kw); /* k is NULL for an empty transcript */
    json_t *out = json_array();
    for (size_t j = 0; j < nk; j++) {
        if (json_array_size(out) < top_n) {
            size_t best = 0;
            for (size_t f = 1; f < k[j].nforms; f++)
                if (k[j].counts[f] > k[j].counts[best])
                    best = f;
            json_array_append_new(out, om_json_text(k[j].forms[best]));
        }
        for (size_t f = 0; f < k[j].nforms; f++)
            free(k[j].forms[f]);
        free(k[j].forms);
        free(k[j].counts);
        free(k[j].stem);
    }
    free(k);
    return out;
}

om_stemmer *om_relevance_stemmer(const om_relevance *r)
{
    return r->st;
}
