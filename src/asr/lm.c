/*
 * lm.c: language-model adaptation for pocketsphinx. From a project's brief, keywords and any
 * domain text we estimate a small trigram model with interpolated Kneser-Ney smoothing and
 * write it in ARPA form (sphinx.c interpolates it with the general model), and we give words
 * missing from the pronunciation dictionary a pronunciation through espeak-ng's
 * letter-to-sound rules mapped onto the CMU phone set.
 *
 * Interpolated Kneser-Ney maps exactly onto ARPA backoff form: a seen n-gram stores its
 * interpolated probability, and a history's backoff weight is the mass its discounts freed,
 * D * N1+(h .) / c(h), so unseen continuations get bow(h) * p_lower(w).
 */
#include "base/common.h"

#include <math.h>

#include "asr/asr.h"
#include "base/proc.h"

#define BOS 0 /* <s> */
#define EOS 1 /* </s> */

/* ---- a small hash map from up to three word ids to counts -------------------------------- */

typedef struct ngram {
    int32_t w[3];
    int n;        /* order; 0 marks an empty slot */
    double count; /* raw count (highest order) or continuation count (lower orders) */
    /* as a history: */
    double hist_total; /* sum of counts of its continuations */
    double hist_types; /* number of distinct continuations */
} ngram;

typedef struct ngram_map {
    ngram *slots;
    size_t cap, used;
} ngram_map;

static uint64_t ngram_hash(const int32_t *w, int n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)(uint32_t)w[i];
        h *= 1099511628211ULL;
        h ^= h >> 29;
    }
    return h;
}

static ngram *map_get(ngram_map *m, const int32_t *w, int n, int create)
{
    if (create && (m->used + 1) * 2 > m->cap) {
        ngram_map bigger = {xcalloc(m->cap ? m->cap * 2 : 256, sizeof(ngram)),
                            m->cap ? m->cap * 2 : 256, 0};
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].n)
                continue;
            ngram *dst = map_get(&bigger, m->slots[i].w, m->slots[i].n, 1);
            *dst = m->slots[i];
        }
        free(m->slots);
        *m = bigger;
    }
    if (!m->cap)
        return NULL;
    size_t i = (size_t)(ngram_hash(w, n) & (m->cap - 1));
    for (;;) {
        ngram *g = &m->slots[i];
        if (!g->n) {
            if (!create)
                return NULL;
            memset(g, 0, sizeof(*g));
            memcpy(g->w, w, (size_t)n * sizeof(int32_t));
            g->n = n;
            m->used++;
            return g;
        }
        if (g->n == n && memcmp(g->w, w, (size_t)n * sizeof(int32_t)) == 0)
            return g;
        i = (i + 1) & (m->cap - 1);
    }
}

/* ---- text to sentences of words ------------------------------------------------------------ */

typedef struct vocab {
    char **words; /* id -> word */
    size_t n, alloc;
} vocab;

/* Open-addressing table from a word to its id in a vocab. */
typedef struct strmap {
    int32_t *ids; /* -1: empty */
    size_t cap;
} strmap;

static int has_digit(const char *s)
{
    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            return 1;
    return 0;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The id of `w`, added to the vocabulary when new. */
static int32_t vocab_id(vocab *v, strmap *sm, const char *w)
{
    if ((v->n + 1) * 2 > sm->cap) {
        size_t cap = sm->cap ? sm->cap * 2 : 256;
        int32_t *ids = xmalloc(cap * sizeof(int32_t));
        for (size_t i = 0; i < cap; i++)
            ids[i] = -1;
        for (size_t k = 0; k < v->n; k++) {
            size_t i = (size_t)(str_hash(v->words[k]) & (cap - 1));
            while (ids[i] >= 0)
                i = (i + 1) & (cap - 1);
            ids[i] = (int32_t)k;
        }
        free(sm->ids);
        sm->ids = ids;
        sm->cap = cap;
    }
    size_t i = (size_t)(str_hash(w) & (sm->cap - 1));
    while (sm->ids[i] >= 0) {
        if (strcmp(v->words[sm->ids[i]], w) == 0)
            return sm->ids[i];
        i = (i + 1) & (sm->cap - 1);
    }
    if (v->n == v->alloc) {
        v->alloc = v->alloc ? v->alloc * 2 : 64;
        v->words = xrealloc(v->words, v->alloc * sizeof(char *));
    }
    v->words[v->n] = xstrdup(w);
    sm->ids[i] = (int32_t)v->n;
    return (int32_t)v->n++;
}

/* Calls fn(ud, words, n) for each sentence of text (split at . ! ? ; : and line breaks) and
 * for each keyword. */
typedef void (*sentence_fn)(void *ud, char **words, size_t n);

static void for_each_sentence(const char *text, const char *const *kw, size_t nkw, sentence_fn fn,
                              void *ud)
{
    const char *p = text ? text : "";
    while (*p) {
        size_t len = strcspn(p, ".!?;:\n\r");
        /* "3.5" and "e.g." are not sentence ends worth special-casing for a bias model. */
        char *s = xstrndup(p, len);
        char **w;
        size_t n = om_wer_words(s, &w);
        if (n)
            fn(ud, w, n);
        om_wer_words_free(w);
        free(s);
        p += len;
        if (*p)
            p++;
    }
    for (size_t k = 0; k < nkw; k++) {
        if (!kw || !kw[k])
            continue;
        char **w;
        size_t n = om_wer_words(kw[k], &w);
        if (n)
            fn(ud, w, n);
        om_wer_words_free(w);
    }
}

typedef struct build {
    vocab v;
    strmap sm;
    ngram_map m3, m2, m1; /* trigram raw counts; bigram and unigram KN counts */
    size_t nsent;
} build;

static void count_sentence(void *ud, char **words, size_t n)
{
    build *b = ud;
    int32_t *ids = xmalloc((n + 2) * sizeof(int32_t));
    size_t k = 0;
    ids[k++] = BOS;
    for (size_t i = 0; i < n; i++) {
        if (has_digit(words[i]))
            continue;
        ids[k++] = vocab_id(&b->v, &b->sm, words[i]);
    }
    ids[k++] = EOS;
    if (k > 2) {
        b->nsent++;
        /* Raw trigram counts. The sentence-initial bigram (<s> w) has no left context, so it
         * keeps its raw count (as in SRILM/KenLM); the other bigrams' continuation counts are
         * derived from the trigram types afterwards. */
        for (size_t i = 0; i + 2 < k; i++)
            map_get(&b->m3, &ids[i], 3, 1)->count += 1;
        map_get(&b->m2, &ids[0], 2, 1)->count += 1;
    }
    free(ids);
}

/* Discount from count-of-counts (Ney): n1 / (n1 + 2 n2), clamped. */
static double discount(const ngram_map *m, int order)
{
    double n1 = 0, n2 = 0;
    for (size_t i = 0; i < m->cap; i++) {
        const ngram *g = &m->slots[i];
        if (g->n != order)
            continue;
        if (fabs(g->count - 1) < 1e-9)
            n1++;
        else if (fabs(g->count - 2) < 1e-9)
            n2++;
    }
    if (n1 == 0 || n2 == 0)
        return 0.5;
    double d = n1 / (n1 + 2 * n2);
    return d < 0.1 ? 0.1 : d > 0.9 ? 0.9 : d;
}

static void free_build(build *b)
{
    for (size_t i = 0; i < b->v.n; i++)
        free(b->v.words[i]);
    free(b->v.words);
    free(b->sm.ids);
    free(b->m3.slots);
    free(b->m2.slots);
    free(b->m1.slots);
}

static double lg(double p)
{
    return p > 0 ? log10(p) : -99.0;
}

int om_lm_build_arpa(const char *text, const char *const *keywords, size_t nkeywords,
                     char **arpa_out)
{
    build b = {0};
    vocab_id(&b.v, &b.sm, "<s>");
    vocab_id(&b.v, &b.sm, "</s>");
    for_each_sentence(text, keywords, nkeywords, count_sentence, &b);
    if (!b.nsent) {
        free_build(&b);
        return om_error_set(OM_EINVAL, "no words to build a language model from");
    }

    /* Bigram level: continuation counts N1+(. v w) from the trigrams, plus the raw counts of
     * sentence-initial bigrams (<s> w) counted above. */
    for (size_t i = 0; i < b.m3.cap; i++) {
        ngram *g = &b.m3.slots[i];
        if (!g->n)
            continue;
        map_get(&b.m2, &g->w[1], 2, 1)->count += 1; /* w[1] is never <s> */
    }
    /* Unigram level: continuation counts N1+(. w) from the bigram types. */
    for (size_t i = 0; i < b.m2.cap; i++) {
        ngram *g = &b.m2.slots[i];
        if (!g->n)
            continue;
        map_get(&b.m1, &g->w[1], 1, 1)->count += 1;
    }
    /* History totals and type counts. Trigram histories live in m2, bigram histories in m1. */
    for (size_t i = 0; i < b.m3.cap; i++) {
        ngram *g = &b.m3.slots[i];
        if (!g->n)
            continue;
        ngram *h = map_get(&b.m2, g->w, 2, 1);
        h->hist_total += g->count;
        h->hist_types += 1;
    }
    for (size_t i = 0; i < b.m2.cap; i++) {
        ngram *g = &b.m2.slots[i];
        if (!g->n || g->count <= 0)
            continue;
        ngram *h = map_get(&b.m1, g->w, 1, 1);
        h->hist_total += g->count;
        h->hist_types += 1;
    }
    double d1 = discount(&b.m1, 1), d2 = discount(&b.m2, 2), d3 = discount(&b.m3, 3);

    /* Unigrams: p1(w) = max(c - D1, 0) / C + D1 * T / C * 1/|V|, where V is the project's
     * words (without <s>) plus OM_LM_UNSEEN_WORDS words of the general model the text never
     * uses. Each of those is scored as <UNK> by the decoder, so <UNK> gets one unseen word's
     * share: without it an unknown word's score in the interpolation is undefined (and in
     * practice boosted all of them alike). */
    double c1_total = 0, t1 = 0;
    double vsize = (double)(b.v.n - 1) + OM_LM_UNSEEN_WORDS;
    double *p1 = xcalloc(b.v.n, sizeof(double));
    for (size_t i = 0; i < b.m1.cap; i++) {
        ngram *g = &b.m1.slots[i];
        if (g->n && g->count > 0) {
            c1_total += g->count;
            t1 += 1;
        }
    }
    for (size_t id = 1; id < b.v.n; id++) {
        int32_t w = (int32_t)id;
        ngram *g = map_get(&b.m1, &w, 1, 0);
        double c = g ? g->count : 0;
        p1[id] = fmax(c - d1, 0) / c1_total + d1 * t1 / c1_total / vsize;
    }
    double p_unk = d1 * t1 / c1_total / vsize;

    om_sbuf sb = OM_SBUF_INIT;
    size_t n2 = 0, n3 = 0;
    for (size_t i = 0; i < b.m2.cap; i++)
        n2 += b.m2.slots[i].n && b.m2.slots[i].count > 0;
    for (size_t i = 0; i < b.m3.cap; i++)
        n3 += b.m3.slots[i].n != 0;
    sb_printf(&sb, "\\data\\\nngram 1=%zu\nngram 2=%zu\nngram 3=%zu\n\n\\1-grams:\n", b.v.n + 1, n2,
              n3);
    sb_printf(&sb, "%.6f <UNK>\n", lg(p_unk));
    for (size_t id = 0; id < b.v.n; id++) {
        int32_t w = (int32_t)id;
        ngram *h = map_get(&b.m1, &w, 1, 0);
        double bow = h && h->hist_total > 0 ? d2 * h->hist_types / h->hist_total : 0;
        double lp = id == BOS ? -99.0 : lg(p1[id]);
        if (bow > 0)
            sb_printf(&sb, "%.6f %s %.6f\n", lp, b.v.words[id], lg(bow));
        else
            sb_printf(&sb, "%.6f %s\n", lp, b.v.words[id]);
    }
    sb_puts(&sb, "\n\\2-grams:\n");
    for (size_t i = 0; i < b.m2.cap; i++) {
        ngram *g = &b.m2.slots[i];
        if (!g->n || g->count <= 0)
            continue;
        ngram *h1 = map_get(&b.m1, g->w, 1, 0);
        double p = fmax(g->count - d2, 0) / h1->hist_total +
                   d2 * h1->hist_types / h1->hist_total * p1[g->w[1]];
        double bow = g->hist_total > 0 ? d3 * g->hist_types / g->hist_total : 0;
        if (bow > 0)
            sb_printf(&sb, "%.6f %s %s %.6f\n", lg(p), b.v.words[g->w[0]], b.v.words[g->w[1]],
                      lg(bow));
        else
            sb_printf(&sb, "%.6f %s %s\n", lg(p), b.v.words[g->w[0]], b.v.words[g->w[1]]);
    }
    sb_puts(&sb, "\n\\3-grams:\n");
    for (size_t i = 0; i < b.m3.cap; i++) {
        ngram *g = &b.m3.slots[i];
        if (!g->n)
            continue;
        ngram *h = map_get(&b.m2, g->w, 2, 0);
        ngram *lo = map_get(&b.m2, &g->w[1], 2, 0);
        ngram *h1 = map_get(&b.m1, &g->w[1], 1, 0);
        double p2 = fmax(lo->count - d2, 0) / h1->hist_total +
                    d2 * h1->hist_types / h1->hist_total * p1[g->w[2]];
        double p = fmax(g->count - d3, 0) / h->hist_total + d3 * h->hist_types / h->hist_total * p2;
        sb_printf(&sb, "%.6f %s %s %s\n", lg(p), b.v.words[g->w[0]], b.v.words[g->w[1]],
                  b.v.words[g->w[2]]);
    }
    sb_puts(&sb, "\n\\end\\\n");
    free(p1);
    free_build(&b);
    *arpa_out = sb_detach(&sb);
    return OM_OK;
}

typedef struct vocab_collect {
    vocab v;
    strmap sm;
} vocab_collect;

static void collect_sentence(void *ud, char **words, size_t n)
{
    vocab_collect *vc = ud;
    for (size_t i = 0; i < n; i++)
        if (!has_digit(words[i]))
            vocab_id(&vc->v, &vc->sm, words[i]);
}

size_t om_lm_vocab(const char *text, const char *const *keywords, size_t nkeywords, char ***out)
{
    vocab_collect vc = {0};
    for_each_sentence(text, keywords, nkeywords, collect_sentence, &vc);
    char **words = xmalloc((vc.v.n + 1) * sizeof(char *));
    for (size_t i = 0; i < vc.v.n; i++)
        words[i] = vc.v.words[i];
    words[vc.v.n] = NULL;
    free(vc.v.words);
    free(vc.sm.ids);
    *out = words;
    return vc.v.n;
}

/* ---- letter to sound via espeak-ng ----------------------------------------------------------- */

/* espeak-ng's English phoneme mnemonics (as printed by -x --sep=_) to CMU phones. */
static const struct {
    const char *esp, *cmu;
} k_phones[] = {
    {"a", "AE"},    {"a#", "AH"},     {"a2", "AH"},    {"aa", "AE"},     {"A:", "AA"},
    {"A@", "AA R"}, {"A", "AA"},      {"0", "AA"},     {"0#", "AA"},     {"O", "AO"},
    {"O:", "AO"},   {"O@", "AO R"},   {"o@", "AO R"},  {"V", "AH"},      {"@", "AH"},
    {"@2", "AH"},   {"@5", "AH"},     {"@L", "AH L"},  {"@n", "AH N"},   {"3", "ER"},
    {"3:", "ER"},   {"I", "IH"},      {"I2", "IH"},    {"I#", "IH"},     {"i", "IY"},
    {"i:", "IY"},   {"i@", "IY R"},   {"i@3", "IY R"}, {"E", "EH"},      {"e", "EH"},
    {"e@", "EH R"}, {"eI", "EY"},     {"aI", "AY"},    {"aI@", "AY ER"}, {"aI3", "AY ER"},
    {"aU", "AW"},   {"aU@", "AW ER"}, {"OI", "OY"},    {"oU", "OW"},     {"o", "OW"},
    {"U", "UH"},    {"U@", "UH R"},   {"u:", "UW"},    {"u", "UW"},      {"p", "P"},
    {"b", "B"},     {"t", "T"},       {"t#", "T"},     {"d", "D"},       {"d#", "D"},
    {"k", "K"},     {"g", "G"},       {"f", "F"},      {"v", "V"},       {"T", "TH"},
    {"D", "DH"},    {"s", "S"},       {"z", "Z"},      {"S", "SH"},      {"Z", "ZH"},
    {"h", "HH"},    {"tS", "CH"},     {"dZ", "JH"},    {"m", "M"},       {"n", "N"},
    {"N", "NG"},    {"l", "L"},       {"r", "R"},      {"r-", "R"},      {"w", "W"},
    {"j", "Y"},     {"?", "T"},       {"n-", "AH N"},  {"m-", "AH M"},   {"l-", "AH L"},
    {"x", "K"},     {"W", "W"},       {"z#", "Z"},
};

static const char *map_phone(const char *tok)
{
    for (size_t i = 0; i < OM_ARRAY_LEN(k_phones); i++)
        if (strcmp(k_phones[i].esp, tok) == 0)
            return k_phones[i].cmu;
    return NULL;
}

int om_lm_g2p(const char *word, char **phones_out)
{
    if (!word || !*word)
        return om_error_set(OM_EINVAL, "letter-to-sound: empty word");
    for (const char *p = word; *p; p++)
        if (*p == '-' && p == word)
            return om_error_set(OM_EINVAL, "letter-to-sound: bad word '%s'", word);
    /* "--" ends options, so a word is never read as one. */
    const char *argv[] = {"espeak-ng", "-v", "en-us", "-q", "-x", "--sep=_", "--", word, NULL};
    om_proc_opts po = {.argv = argv, .timeout_ms = 10000, .max_output = 4096};
    om_proc_result res = {0};
    int rc = om_proc_run(&po, &res);
    if (rc == OM_ENOTFOUND) {
        om_proc_result_release(&res);
        return om_error_set(OM_EUNAVAIL, "letter-to-sound: espeak-ng is not installed");
    }
    if (rc < 0 || res.exit_code != 0) {
        om_proc_result_release(&res);
        return om_error_set(OM_EUNAVAIL, "letter-to-sound: espeak-ng failed for '%s'", word);
    }
    om_sbuf sb = OM_SBUF_INIT;
    size_t unknown = 0;
    char *p = res.out;
    while (p && *p) {
        size_t len = strcspn(p, "_ \t\n\r");
        if (len) {
            /* Drop stress and syllable marks. */
            char tok[16];
            size_t k = 0;
            for (size_t i = 0; i < len && k + 1 < sizeof(tok); i++)
                if (!strchr("',%=;|", p[i]))
                    tok[k++] = p[i];
            tok[k] = '\0';
            const char *cmu = k ? map_phone(tok) : NULL;
            if (!cmu && k > 1 && tok[k - 1] == ':') { /* length mark on an unlisted vowel */
                tok[k - 1] = '\0';
                cmu = map_phone(tok);
            }
            if (cmu) {
                if (sb.len)
                    sb_puts(&sb, " ");
                sb_puts(&sb, cmu);
            } else if (k && strcmp(tok, ":") != 0) {
                unknown++;
            }
        }
        p += len;
        if (*p)
            p++;
    }
    om_proc_result_release(&res);
    if (!sb.len) {
        sb_release(&sb);
        return om_error_set(OM_EINVAL, "letter-to-sound: no phones for '%s'", word);
    }
    if (unknown)
        om_debug("asr", "letter-to-sound: %zu unmapped espeak-ng phonemes in '%s'", unknown, word);
    *phones_out = sb_detach(&sb);
    return OM_OK;
}
