/* test_scoring.c: text tools, relevance (stemmed), keywords, hooks, virality and clip
 * candidates (boundaries never mid-word, length limits, padding, NMS) of src/cognition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "base/common.h"
#include "base/utf8.h"
#include "cognition/candidates.h"
#include "cognition/hooks.h"
#include "cognition/relevance.h"
#include "cognition/text.h"
#include "cognition/virality.h"

/* ---- text ---- */

static void test_tokens_and_stems(void **state)
{
    (void)state;
    om_tokens t = OM_TOKENS_INIT;
    om_text_tokens("Don't STOP: running-fast, café 3.5x!", &t);
    assert_int_equal(t.n, 7);
    assert_string_equal(t.v[0], "don't");
    assert_string_equal(t.v[1], "stop");
    assert_string_equal(t.v[2], "running");
    assert_string_equal(t.v[4], "café");
    om_tokens_release(&t);

    om_stemmer *st = om_stemmer_new();
    char *a = om_stem(st, "running"), *b = om_stem(st, "runs"), *c = om_stem(st, "run");
    assert_string_equal(a, b);
    assert_string_equal(b, c);
    free(a);
    free(b);
    free(c);
    om_tokens s = OM_TOKENS_INIT;
    om_text_stems(st, "The cats are running to you", &s);
    assert_int_equal(s.n, 2); /* the, are, to, you dropped */
    assert_string_equal(s.v[0], "cat");
    assert_string_equal(s.v[1], "run");
    om_tokens_release(&s);
    assert_true(om_text_is_stopword("the"));
    assert_true(om_text_is_stopword("you're"));
    assert_false(om_text_is_stopword("marketing"));
    om_stemmer_free(st);
}

static void test_shingles_jaccard(void **state)
{
    (void)state;
    om_stemmer *st = om_stemmer_new();
    om_shingles a, b, c, d;
    om_shingles_build(st, "the quick brown fox jumps over the lazy dog today", 3, &a);
    om_shingles_build(st, "The quick brown fox jumped over the lazy dog today!", 3, &b);
    om_shingles_build(st, "completely different words about cooking pasta at home", 3, &c);
    om_shingles_build(st, "the quick brown fox jumps over the lazy dog today", 3, &d);
    assert_true(om_shingles_jaccard(&a, &d) == 1.0);
    assert_true(om_shingles_jaccard(&a, &b) == 1.0); /* stems: jumps == jumped */
    assert_true(om_shingles_jaccard(&a, &c) == 0.0);
    om_shingles e;
    om_shingles_build(st, "the quick brown fox jumps over a sleepy cat today", 3, &e);
    double j = om_shingles_jaccard(&a, &e);
    assert_true(j > 0.1 && j < 0.6);
    om_shingles_release(&a);
    om_shingles_release(&b);
    om_shingles_release(&c);
    om_shingles_release(&d);
    om_shingles_release(&e);
    om_stemmer_free(st);
}

static void test_truncate_utf8(void **state)
{
    (void)state;
    char *s = om_utf8_truncate("héllo wörld and more words here", 14, "…");
    assert_true(om_utf8_len(s) <= 14);
    assert_string_equal(s, "héllo wörld…");
    free(s);
    s = om_utf8_truncate("ééééééééééééé", 5, NULL);
    assert_string_equal(s, "ééééé");
    free(s);
    s = om_utf8_truncate("short", 100, "…");
    assert_string_equal(s, "short");
    free(s);
    char *c = om_utf8_clean("ok\xff\xfe bad \xc3");
    assert_string_equal(c, "ok?? bad ?");
    free(c);
    json_t *j = om_json_text("x\xff");
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "x?");
    json_decref(j);
}

/* ---- relevance ---- */

static void test_relevance_stemmed(void **state)
{
    (void)state;
    om_stemmer *st = om_stemmer_new();
    const char *kw[] = {"runs"};
    om_relevance *r = om_relevance_new(st, NULL, kw, 1);
    json_t *m = NULL;
    double s = om_relevance_score(r, "I was running yesterday and I love running", &m);
    assert_true(s > 0.3 && s <= 1.0);
    assert_int_equal(json_array_size(m), 1);
    assert_string_equal(json_string_value(json_array_get(m, 0)), "run");
    json_decref(m);
    assert_true(om_relevance_score(r, "we baked bread", NULL) == 0.0);
    om_relevance_free(r);

    /* more distinct matches score higher; everything stays in [0,1] */
    const char *kw2[] = {"marketing", "startup", "growth", "funding", "founders"};
    r = om_relevance_new(st, "How early stage startups find product market fit", kw2, 5);
    double s1 = om_relevance_score(r, "Our startup was tiny and we had no customers at all", NULL);
    double s3 = om_relevance_score(
        r, "Our startup grew because marketing drove growth before any funding", NULL);
    double s_all = om_relevance_score(
        r,
        "startup startups marketing market growth growing funding funded founders founder "
        "product fit early stage startup marketing growth funding founders",
        NULL);
    assert_true(s1 > 0 && s1 < s3);
    assert_true(s3 < s_all);
    assert_true(s_all <= 1.0);
    om_relevance_free(r);

    /* no brief, no keywords: neutral */
    json_t *brand = json_pack("{s:[],s:s}", "keywords", "brief", "");
    r = om_relevance_from_brand(st, brand);
    assert_true(om_relevance_is_empty(r));
    assert_true(om_relevance_score(r, "anything", NULL) == OM_RELEVANCE_NEUTRAL);
    om_relevance_free(r);
    json_decref(brand);
    om_stemmer_free(st);
}

static void test_keywords_extract(void **state)
{
    (void)state;
    om_stemmer *st = om_stemmer_new();
    const char *docs[] = {
        "Compound interest is the most powerful force in investing.",
        "When you start investing early, compound interest does the work.",
        "Most people ignore interest rates on their debt.",
        "The weather was nice.",
    };
    json_t *k = om_keywords_extract(st, docs, 4, 3);
    assert_int_equal(json_array_size(k), 3);
    /* "interest" (3 docs) and "investing" (2) and "compound" (2) lead */
    int has_interest = 0, has_invest = 0;
    for (size_t i = 0; i < json_array_size(k); i++) {
        const char *w = json_string_value(json_array_get(k, i));
        if (!strcmp(w, "interest"))
            has_interest = 1;
        if (!strcmp(w, "investing"))
            has_invest = 1;
        assert_false(om_text_is_stopword(w));
    }
    assert_true(has_interest && has_invest);
    json_decref(k);
    om_stemmer_free(st);
}

/* ---- hooks ---- */

static void test_hooks(void **state)
{
    (void)state;
    om_hook_result h;
    om_hooks_detect("Why do most startups fail in their first year?", &h);
    assert_true(h.fired & OM_HOOK_QUESTION);
    assert_true(h.fired & OM_HOOK_NUMBER); /* "first" */
    assert_true(h.score > 0.35 && h.score < 1.0);

    om_hooks_detect("why do most startups fail", &h); /* ASR: no punctuation */
    assert_true(h.fired & OM_HOOK_QUESTION);

    om_hooks_detect("Here's why your landlord hates this trick", &h);
    assert_true(h.fired & OM_HOOK_OPENER);
    assert_true(h.fired & OM_HOOK_YOU);
    assert_false(h.fired & OM_HOOK_QUESTION);

    om_hooks_detect("Stop scrolling. 3 things changed everything", &h);
    assert_true(h.fired & OM_HOOK_IMPERATIVE);
    assert_true(h.fired & OM_HOOK_NUMBER);
    assert_true(h.fired & OM_HOOK_OPENER); /* "stop" sentence is imperative; no opener */
    assert_int_equal(h.nreasons, 3);

    om_hooks_detect("the weather was mild and the river ran slowly", &h);
    assert_int_equal(h.fired, 0);
    assert_true(h.score == 0.0);

    om_hooks_detect("Did you know the secret? Stop! Imagine 10 million of your friends", &h);
    assert_true(h.score > 0.8 && h.score < 1.0);
    json_t *j = om_hook_json(&h);
    assert_true(json_array_size(json_object_get(j, "fired")) == 5);
    assert_true(json_array_size(json_object_get(j, "reasons")) == 5);
    json_decref(j);

    om_hooks_detect(NULL, &h);
    assert_true(h.score == 0.0);
}

/* ---- virality ---- */

static void test_virality_bounded(void **state)
{
    (void)state;
    double extremes[] = {-1e9, -5, -1, 0, 0.2, 0.5, 1, 2, 1e9, NAN, INFINITY};
    for (size_t a = 0; a < OM_ARRAY_LEN(extremes); a++) {
        for (size_t b = 0; b < OM_ARRAY_LEN(extremes); b++) {
            om_virality_in in = {extremes[a], extremes[b], extremes[(a + b) % 11],
                                 extremes[(a * 3 + b) % 11]};
            double v = om_virality_score(&in);
            assert_true(v >= 0.0 && v <= 1.0);
            double e = om_energy_score(extremes[a], 1, extremes[b]);
            assert_true(e >= 0.0 && e <= 1.0);
            double p = om_pace_score(extremes[a]);
            assert_true(p >= 0.0 && p <= 1.0);
        }
    }
    /* monotone in each input */
    om_virality_in lo = {0.1, 0.3, 0.5, 0.5}, hi = {0.8, 0.3, 0.5, 0.5};
    assert_true(om_virality_score(&hi) > om_virality_score(&lo));
    assert_true(om_energy_score(6, 1, 4) > om_energy_score(-6, 1, 4));
    assert_true(om_energy_score(0, 1, 12) > om_energy_score(0, 1, 0));
    assert_true(om_pace_score(165) > om_pace_score(90));
    assert_true(om_pace_score(165) > om_pace_score(260));
    /* engagement relative to the creator's median */
    double med = om_median((double[]){100, -1, 300, 200}, 4);
    assert_true(med == 200);
    assert_true(fabs(om_engagement_score(200, med) - 0.5) < 1e-9);
    assert_true(om_engagement_score(2000, med) > 0.85);
    assert_true(om_engagement_score(-1, med) == 0.5);
    assert_true(fabs(om_engagement_value(1000, 10, 1, 48) - 1130 / (1 - exp(-2.0 / 3))) < 1e-9);
    /* old posts count as they stand; young ones are scaled up */
    assert_true(fabs(om_engagement_value(1000, -1, -1, 24 * 60) - 1000) < 1e-3);
    assert_true(om_engagement_value(1000, -1, -1, 12) > 5000);
    assert_true(om_engagement_value(-1, -1, -1, 5) < 0);

    json_t *raw = json_pack("{s:i,s:s,s:{s:i}}", "view_count", 1500, "like_count", "40",
                            "statistics", "commentCount", 7);
    double v, l, c;
    om_post_counts(raw, &v, &l, &c);
    assert_true(v == 1500 && l == 40 && c == 7);
    json_decref(raw);
}

/* ---- candidates ---- */

typedef struct synth {
    om_cand_word *w;
    size_t nw;
    om_cand_sentence *s;
    size_t ns;
    char **strs;
    size_t nstrs;
} synth;

static const char *vocab[] = {"money",  "market", "growth", "coffee", "simple", "rules",
                              "people", "always", "build",  "startup", "friends", "crazy",
                              "because", "works",  "really", "listen", "better", "today"};

/* Sentences of 6-14 words, word length 0.2-0.5 s, gap 0.05-0.2 s inside a sentence, pause
 * 0.4-1.2 s between sentences (seeded, deterministic). Some sentences carry a hook. */
static void synth_build(synth *x, unsigned seed, size_t nsent, int with_sentences)
{
    memset(x, 0, sizeof(*x));
    srand(seed);
    size_t cap = nsent * 14 + 4;
    x->w = calloc(cap, sizeof(om_cand_word));
    x->s = calloc(nsent, sizeof(om_cand_sentence));
    x->strs = calloc(cap + nsent, sizeof(char *));
    double t = 0.5 + (rand() % 100) / 100.0;
    for (size_t k = 0; k < nsent; k++) {
        size_t len = 6 + (size_t)(rand() % 9);
        om_sbuf sb = OM_SBUF_INIT;
        double sstart = t;
        for (size_t i = 0; i < len; i++) {
            const char *wd = vocab[rand() % (int)OM_ARRAY_LEN(vocab)];
            if (k % 5 == 0 && i == 0)
                wd = "why";
            double d = 0.2 + (rand() % 30) / 100.0;
            x->w[x->nw].w = wd;
            x->w[x->nw].start = t;
            x->w[x->nw].end = t + d;
            x->w[x->nw].conf = 0.9;
            x->nw++;
            if (i)
                sb_puts(&sb, " ");
            sb_puts(&sb, wd);
            t += d;
            if (i + 1 < len)
                t += 0.05 + (rand() % 15) / 100.0;
        }
        sb_puts(&sb, ".");
        x->strs[x->nstrs] = sb_detach(&sb);
        x->s[k].text = x->strs[x->nstrs++];
        x->s[k].start = sstart;
        x->s[k].end = t;
        t += 0.4 + (rand() % 80) / 100.0;
    }
    if (with_sentences)
        x->ns = nsent;
}

static void synth_free(synth *x)
{
    for (size_t i = 0; i < x->nstrs; i++)
        free(x->strs[i]);
    free(x->strs);
    free(x->w);
    free(x->s);
}

/* 1 when time t lies strictly inside some word */
static int inside_word(const synth *x, double t)
{
    for (size_t i = 0; i < x->nw; i++)
        if (t > x->w[i].start + 1e-9 && t < x->w[i].end - 1e-9)
            return 1;
    return 0;
}

static void check_candidates(const synth *x, const om_candidate *c, size_t n,
                             const om_cand_opts *o)
{
    for (size_t k = 0; k < n; k++) {
        double len = c[k].end - c[k].start;
        assert_true(len >= o->min_s - 1e-6);
        assert_true(len <= o->max_s + 1e-6);
        assert_false(inside_word(x, c[k].start));
        assert_false(inside_word(x, c[k].end));
        const om_cand_word *fw = &x->w[c[k].first_unit], *lw = &x->w[c[k].last_unit];
        /* padding: at most pad_s, and never reaching the neighbouring word */
        assert_true(c[k].start <= fw->start + 1e-9);
        assert_true(fw->start - c[k].start <= o->pad_s + 1e-9);
        assert_true(c[k].end >= lw->end - 1e-9);
        assert_true(c[k].end - lw->end <= o->pad_s + 1e-9);
        if (c[k].first_unit > 0)
            assert_true(c[k].start >= x->w[c[k].first_unit - 1].end - 1e-9);
        if (c[k].last_unit + 1 < x->nw)
            assert_true(c[k].end <= x->w[c[k].last_unit + 1].start + 1e-9);
        /* boundaries: sentence or pause (gap >= pause_s) on both ends */
        if (c[k].first_unit > 0) {
            double gap = fw->start - x->w[c[k].first_unit - 1].end;
            assert_true(c[k].start_sentence || gap >= o->pause_s - 1e-9);
        }
        if (c[k].last_unit + 1 < x->nw) {
            double gap = x->w[c[k].last_unit + 1].start - lw->end;
            assert_true(c[k].end_sentence || gap >= o->pause_s - 1e-9);
        }
        assert_true(c[k].s.combined >= 0 && c[k].s.combined <= 1);
        assert_true(c[k].s.virality >= 0 && c[k].s.virality <= 1);
        assert_true(c[k].s.relevance >= 0 && c[k].s.relevance <= 1);
        /* NMS: no two kept candidates overlap; sorted by combined score (a long source's:
         * within each analysis window) */
        for (size_t m = k + 1; m < n; m++) {
            double ov = fmin(c[k].end, c[m].end) - fmax(c[k].start, c[m].start);
            assert_true(ov <= o->max_overlap_s + 1e-9);
            if (c[k].window == c[m].window)
                assert_true(c[k].s.combined >= c[m].s.combined);
        }
    }
}

static void test_candidates_boundaries_property(void **state)
{
    (void)state;
    om_stemmer *st = om_stemmer_new();
    const char *kw[] = {"money", "startup"};
    om_relevance *rel = om_relevance_new(st, "growth for friends", kw, 2);
    size_t total = 0;
    for (unsigned seed = 1; seed <= 40; seed++) {
        synth x;
        synth_build(&x, seed, 10 + seed % 30, seed % 3 != 0);
        om_cand_input t = {0};
        t.words = x.w;
        t.nwords = x.nw;
        t.sentences = x.s;
        t.nsentences = x.ns;
        t.engagement = -1;
        om_cand_opts o;
        om_cand_opts_default(&o);
        o.min_s = 5 + seed % 10;
        o.max_s = o.min_s + 5 + seed % 20;
        o.max_candidates = 6;
        om_candidate *c;
        size_t n;
        assert_int_equal(om_candidates_find(&t, &o, seed % 2 ? rel : NULL, &c, &n), OM_OK);
        check_candidates(&x, c, n, &o);
        total += n;
        om_candidates_free(c, n);
        synth_free(&x);
    }
    assert_true(total > 40); /* the property held over real candidates, not empty sets */
    om_relevance_free(rel);
    om_stemmer_free(st);
}

static void test_candidates_pauses_only(void **state)
{
    (void)state;
    /* words only, no sentences, no punctuation: boundaries come from pauses alone */
    synth x;
    synth_build(&x, 7, 20, 0);
    for (size_t i = 0; i < x.nw; i++)
        assert_null(strchr(x.w[i].w, '.'));
    om_cand_input t = {0};
    t.words = x.w;
    t.nwords = x.nw;
    t.engagement = -1;
    om_cand_opts o;
    om_cand_opts_default(&o);
    o.min_s = 8;
    o.max_s = 20;
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_OK);
    assert_true(n >= 2);
    check_candidates(&x, c, n, &o);
    for (size_t k = 0; k < n; k++) {
        /* every start is the video start or follows a real pause (>= 0.4 s by construction) */
        if (c[k].first_unit > 0)
            assert_true(x.w[c[k].first_unit].start - x.w[c[k].first_unit - 1].end >= 0.35);
    }
    om_candidates_free(c, n);
    synth_free(&x);
}

static void test_candidates_limits_and_silence(void **state)
{
    (void)state;
    /* Three words spread so no window fits 15..60: nothing (not a bad clip) */
    om_cand_word w[] = {{"hello", 0.5, 0.9, 1}, {"there", 1.0, 1.4, 1}, {"friend", 1.5, 2.0, 1}};
    om_cand_input t = {0};
    t.words = w;
    t.nwords = 3;
    t.engagement = -1;
    om_cand_opts o;
    om_cand_opts_default(&o);
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_OK);
    assert_int_equal(n, 0);
    assert_null(c);
    /* bad limits are the caller's input error */
    o.min_s = 30;
    o.max_s = 10;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_EINVAL);

    /* a short gap (0.2 s < pause_s) becomes a pause when a detected silence fills it */
    om_cand_word w2[] = {{"one", 0.0, 1.0, 1}, {"two", 1.1, 2.0, 1}, {"three", 2.2, 3.0, 1},
                    {"four", 3.1, 4.0, 1}};
    om_cand_span sil[] = {{2.0, 2.2}};
    t.words = w2;
    t.nwords = 4;
    t.silences = sil;
    t.nsilences = 1;
    o.min_s = 1.5;
    o.max_s = 2.2;
    o.max_candidates = 5;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_OK);
    assert_int_equal(n, 2); /* [one two] and [three four], split at the silence */
    for (size_t k = 0; k < n; k++) {
        assert_true(c[k].end <= 2.1 + 1e-9 || c[k].start >= 2.1 - 1e-9);
        assert_true(c[k].end - c[k].start <= 2.2 + 1e-9);
    }
    om_candidates_free(c, n);
}

static void test_candidates_prefer_hook_and_relevance(void **state)
{
    (void)state;
    /* two equal-length sentences separated by a long pause; the second has a hook and the
     * brand keyword: it must rank first */
    const char *s1[] = {"the", "river", "was", "calm", "and", "the", "boats", "slept"};
    const char *s2[] = {"why", "do", "your", "savings", "vanish", "every", "single", "month"};
    om_cand_word w[16];
    double t0 = 0.5;
    for (int i = 0; i < 8; i++) {
        w[i] = (om_cand_word){s1[i], t0 + i * 0.5, t0 + i * 0.5 + 0.4, 1};
        w[8 + i] = (om_cand_word){s2[i], 10 + i * 0.5, 10 + i * 0.5 + 0.4, 1};
    }
    om_cand_sentence sen[] = {{"The river was calm and the boats slept.", 0.5, 4.4},
                         {"Why do your savings vanish every single month?", 10, 13.9}};
    om_cand_input t = {0};
    t.words = w;
    t.nwords = 16;
    t.sentences = sen;
    t.nsentences = 2;
    t.engagement = -1;
    t.duration = 20;
    om_cand_opts o;
    om_cand_opts_default(&o);
    o.min_s = 3;
    o.max_s = 5;
    om_stemmer *st = om_stemmer_new();
    const char *kw[] = {"saving"};
    om_relevance *rel = om_relevance_new(st, NULL, kw, 1);
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, rel, &c, &n), OM_OK);
    assert_int_equal(n, 2);
    assert_true(c[0].start >= 9.7 && c[0].start <= 10.0);
    assert_true(c[0].hook.fired & OM_HOOK_QUESTION);
    assert_true(c[0].s.relevance > c[1].s.relevance);
    assert_true(c[0].s.hook > c[1].s.hook);
    assert_string_equal(c[0].text, "why do your savings vanish every single month");
    assert_true(c[0].start_sentence && c[0].end_sentence);
    /* padding: 0.25 into the long pause on both sides */
    assert_true(fabs(c[0].start - 9.75) < 1e-9);
    assert_true(fabs(c[0].end - (13.9 + 0.25)) < 1e-9);
    json_t *j = om_candidate_json(&c[0]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "scores"),
                                                          "boundary")),
                        "sentence");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "matched"), 0)),
                        "save");
    json_decref(j);
    om_candidates_free(c, n);
    om_relevance_free(rel);
    om_stemmer_free(st);
}

static void test_analysis_evaluate_json(void **state)
{
    (void)state;
    /* raw_ai_output as the analyzer writes it (stages/analyze.c) */
    json_t *words = json_array(), *sents = json_array();
    double t = 0.3;
    for (int s = 0; s < 12; s++) {
        om_sbuf sb = OM_SBUF_INIT;
        double st0 = t;
        const char *base[] = {"investing", "early", "makes", "compound", "interest", "work"};
        for (int i = 0; i < 6; i++) {
            const char *wd = (s % 4 == 0 && i == 0) ? "why" : base[i];
            json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", wd, "start", t,
                                                   "end", t + 0.35, "conf", 0.9));
            if (i)
                sb_puts(&sb, " ");
            sb_puts(&sb, wd);
            t += 0.45;
        }
        json_array_append_new(sents, json_pack("{s:f,s:f,s:s}", "start", st0, "end", t - 0.1,
                                               "text", sb_str(&sb)));
        sb_release(&sb);
        t += 0.8;
    }
    json_t *st = json_array();
    for (int i = 0; i < 50; i++)
        json_array_append_new(st, json_real(i > 25 ? -12.0 : -20.0));
    json_t *raw = json_pack(
        "{s:{s:s},s:o,s:o,s:{s:f,s:{s:f,s:o},s:[[f,f]],s:[f,f,f]},s:{s:f}}", "engine",
        "name", "pocketsphinx", "words", words, "sentences", sents, "signals", "duration",
        t + 1, "loudness", "integrated", -16.0, "short_term", st, "silences", 3.0, 3.5,
        "scenes", 5.0, 30.0, 31.0, "engagement", "score", 0.7);
    json_t *brand = json_pack("{s:[s],s:s,s:i,s:i}", "keywords", "investing", "brief",
                              "personal finance and interest", "clip_min_s", 10, "clip_max_s",
                              20);
    json_t *out = NULL;
    assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &out), OM_OK);
    double v = json_real_value(json_object_get(out, "virality_score"));
    double r = json_real_value(json_object_get(out, "relevance_score"));
    assert_true(v > 0 && v <= 1);
    assert_true(r > 0.5 && r <= 1);
    json_t *cands = json_object_get(out, "candidates");
    assert_true(json_array_size(cands) >= 2);
    size_t i;
    json_t *c;
    json_array_foreach(cands, i, c) {
        double a = json_real_value(json_object_get(c, "start"));
        double b = json_real_value(json_object_get(c, "end"));
        assert_true(b - a >= 10 - 1e-3 && b - a <= 20 + 1e-3);
        json_t *sc = json_object_get(c, "scores");
        assert_true(fabs(json_real_value(json_object_get(sc, "engagement")) - 0.7) < 1e-9);
    }
    /* the louder second half wins the energy comparison */
    json_t *kw = json_object_get(out, "keywords");
    assert_true(json_array_size(kw) > 0 && json_array_size(kw) <= 10);
    assert_non_null(strstr(json_string_value(json_object_get(out, "transcript")),
                           "compound interest"));
    json_decref(out);
    json_decref(brand);

    /* not an object */
    json_t *bad = json_array();
    assert_int_equal(om_analysis_evaluate(bad, NULL, NULL, &out), OM_EINVAL);
    json_decref(bad);
    json_decref(raw);
}

/* raw_ai_output of a talk of `n` six-word sentences of `filler`, where word 2 of sentence 3 is
 * `odd` said with confidence `conf` (the rest 0.9). */
static json_t *talk_raw(const char *const *filler, int n, const char *odd, double conf)
{
    json_t *words = json_array(), *sents = json_array();
    double t = 0.3;
    for (int s = 0; s < n; s++) {
        om_sbuf sb = OM_SBUF_INIT;
        double st0 = t;
        for (int i = 0; i < 6; i++) {
            int special = odd && s == 3 && i == 2;
            const char *wd = special ? odd : filler[(s + i) % 6];
            json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", wd, "start", t,
                                                   "end", t + 0.35, "conf",
                                                   special ? conf : 0.9));
            sb_printf(&sb, "%s%s", i ? " " : "", wd);
            t += 0.45;
        }
        json_array_append_new(sents, json_pack("{s:f,s:f,s:s}", "start", st0, "end", t - 0.1,
                                               "text", sb_str(&sb)));
        sb_release(&sb);
        t += 0.8;
    }
    return json_pack("{s:{s:s},s:o,s:o,s:{s:f}}", "engine", "name", "pocketsphinx", "words",
                     words, "sentences", sents, "signals", "duration", t + 1);
}

static double best_relevance(json_t *out, json_t **ignored)
{
    double best = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(out, "candidates"), i, c)
    {
        double r = json_number_value(json_object_get(json_object_get(c, "scores"), "relevance"));
        json_t *ig = json_object_get(c, "relevance_ignored_low_confidence");
        if (ignored && json_array_size(ig))
            *ignored = ig;
        if (r > best)
            best = r;
    }
    return best;
}

/* A misheard word matching the brand alone makes nothing on-brand, and the brief's words
 * about itself ("brand", "channel", "video") match no talk. */
static void test_relevance_hygiene(void **state)
{
    (void)state;
    static const char *const filler[] = {"we", "walked", "along", "the", "river", "today"};
    json_t *brand = json_pack("{s:[s],s:s,s:i,s:i}", "keywords", "espresso", "brief",
                              "videos about our coffee brand for the channel", "clip_min_s", 10,
                              "clip_max_s", 20);
    /* "espresso" heard with confidence 0.2: ignored, and said so */
    json_t *raw = talk_raw(filler, 12, "espresso", 0.2), *out = NULL, *ignored = NULL;
    assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &out), OM_OK);
    double low = best_relevance(out, &ignored);
    assert_true(low < 0.05);
    assert_true(json_array_size(ignored) == 1);
    assert_string_equal(json_string_value(json_array_get(ignored, 0)), "espresso");
    assert_true(json_real_value(json_object_get(out, "relevance_score")) < 0.05);
    json_decref(out);
    json_decref(raw);
    /* the same word heard clearly counts */
    raw = talk_raw(filler, 12, "espresso", 0.95);
    assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &out), OM_OK);
    assert_true(best_relevance(out, NULL) > 0.2);
    json_decref(out);
    json_decref(raw);
    /* the threshold is the caller's */
    om_cand_opts base;
    om_cand_opts_default(&base);
    base.min_word_conf = 0.1;
    raw = talk_raw(filler, 12, "espresso", 0.2);
    assert_int_equal(om_analysis_evaluate(raw, brand, &base, &out), OM_OK);
    assert_true(best_relevance(out, NULL) > 0.2);
    json_decref(out);
    json_decref(raw);
    /* "brand", "channel" and "videos" said clearly match nothing of the brief */
    static const char *const meta[] = {"brand", "channel", "videos", "the", "video", "river"};
    raw = talk_raw(meta, 12, NULL, 0);
    assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &out), OM_OK);
    assert_true(best_relevance(out, NULL) < 0.05);
    json_decref(out);
    json_decref(raw);
    /* ... but "coffee" from the brief does */
    static const char *const coffee[] = {"coffee", "walked", "along", "the", "river", "today"};
    raw = talk_raw(coffee, 12, NULL, 0);
    assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &out), OM_OK);
    assert_true(best_relevance(out, NULL) > 0.2);
    json_decref(out);
    json_decref(raw);
    json_decref(brand);
}

/* A strong hook after 20 s of flat lead-in: the best candidate opens on it (within a
 * breath), its metadata says the hook is at its start, and the clip still meets the
 * minimum length by running forward. */
static void test_hook_opens_the_clip(void **state)
{
    (void)state;
    static const char *const lead[] = {"we", "walked", "along", "the", "river", "slowly"};
    static const char *const hook[] = {"here's", "why", "you", "should", "never", "stop"};
    static const char *const body[] = {"grinding", "coffee", "beans", "right", "before", "brewing"};
    json_t *words = json_array(), *sents = json_array();
    double t = 0.3, hook_start = 0;
    for (int s = 0; s < 20; s++) {
        const char *const *src = s < 6 ? lead : s == 6 ? hook : body;
        om_sbuf sb = OM_SBUF_INIT;
        double st0 = t;
        if (s == 6)
            hook_start = t;
        for (int i = 0; i < 6; i++) {
            json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", src[i], "start", t,
                                                   "end", t + 0.35, "conf", 0.9));
            sb_printf(&sb, "%s%s", i ? " " : "", src[i]);
            t += 0.45;
        }
        json_array_append_new(sents, json_pack("{s:f,s:f,s:s}", "start", st0, "end", t - 0.1,
                                               "text", sb_str(&sb)));
        sb_release(&sb);
        t += 0.8;
    }
    json_t *raw = json_pack("{s:{s:s},s:o,s:o,s:{s:f}}", "engine", "name", "pocketsphinx",
                            "words", words, "sentences", sents, "signals", "duration", t + 1);
    json_t *brand = json_pack("{s:[s,s],s:i,s:i}", "keywords", "coffee", "river",
                              "clip_min_s", 15, "clip_max_s", 30);
    json_t *out = NULL;
    assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &out), OM_OK);
    json_t *best = json_array_get(json_object_get(out, "candidates"), 0);
    assert_non_null(best);
    double start = json_number_value(json_object_get(best, "start"));
    double end = json_number_value(json_object_get(best, "end"));
    json_t *h = json_object_get(best, "hook");
    if (!(start <= hook_start + 0.01 && start >= hook_start - 0.5))
        fail_msg("best clip starts at %.2f s, the hook at %.2f s", start, hook_start);
    assert_true(end - start >= 15 - 0.01);
    assert_true(json_number_value(json_object_get(h, "offset_s")) < 0.5);
    assert_true(json_is_false(json_object_get(h, "buried")));
    assert_true(json_number_value(json_object_get(h, "score")) > 0.4);
    json_decref(out);
    json_decref(raw);
    json_decref(brand);
}

/* Clips of one video overlap by at most the allowed fraction of the shorter one. */
static void test_overlap_fraction(void **state)
{
    (void)state;
    static const char *const filler[] = {"coffee", "walked", "along", "the", "river", "today"};
    json_t *brand = json_pack("{s:[s],s:i,s:i}", "keywords", "coffee", "clip_min_s", 10,
                              "clip_max_s", 20);
    json_t *raw = talk_raw(filler, 30, NULL, 0);
    const double fracs[] = {0.0, 0.5};
    double most[2] = {0, 0};
    for (int f = 0; f < 2; f++) {
        om_cand_opts base;
        om_cand_opts_default(&base);
        base.max_overlap_frac = fracs[f];
        json_t *out = NULL;
        assert_int_equal(om_analysis_evaluate(raw, brand, &base, &out), OM_OK);
        json_t *cs = json_object_get(out, "candidates");
        for (size_t a = 0; a < json_array_size(cs); a++)
            for (size_t b = a + 1; b < json_array_size(cs); b++) {
                json_t *x = json_array_get(cs, a), *y = json_array_get(cs, b);
                double xs = json_number_value(json_object_get(x, "start"));
                double xe = json_number_value(json_object_get(x, "end"));
                double ys = json_number_value(json_object_get(y, "start"));
                double ye = json_number_value(json_object_get(y, "end"));
                double ov = fmin(xe, ye) - fmax(xs, ys);
                double frac = ov / fmin(xe - xs, ye - ys);
                if (frac > most[f])
                    most[f] = frac;
            }
        json_decref(out);
    }
    assert_true(most[0] <= 1e-6);                 /* none by default */
    assert_true(most[1] > 0 && most[1] <= 0.5 + 1e-3); /* some, within the limit */
    json_decref(raw);
    json_decref(brand);
}

static void test_energy_from_loudness(void **state)
{
    (void)state;
    /* two identical sentences; the second one is 8 LU louder and has scene cuts */
    om_cand_word w[12];
    const char *s[] = {"simple", "rules", "for", "better", "coffee", "today"};
    for (int i = 0; i < 6; i++) {
        w[i] = (om_cand_word){s[i], 1 + i * 0.5, 1 + i * 0.5 + 0.4, 1};
        w[6 + i] = (om_cand_word){s[i], 11 + i * 0.5, 11 + i * 0.5 + 0.4, 1};
    }
    double loud[20];
    for (int i = 0; i < 20; i++)
        loud[i] = i < 10 ? -24 : -16;
    double scenes[] = {11.5, 12.5, 13.0};
    om_cand_input t = {0};
    t.words = w;
    t.nwords = 12;
    t.loudness = loud;
    t.nloudness = 20;
    t.scenes = scenes;
    t.nscenes = 3;
    t.duration = 20;
    t.engagement = -1;
    om_cand_opts o;
    om_cand_opts_default(&o);
    o.min_s = 2;
    o.max_s = 4;
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_OK);
    assert_int_equal(n, 2);
    assert_true(c[0].start > 10);
    assert_true(c[0].s.energy > c[1].s.energy);
    assert_true(c[0].s.loud_rel_db > 0 && c[1].s.loud_rel_db < 0);
    assert_true(c[0].s.scenes_per_min > 0 && c[1].s.scenes_per_min == 0);
    assert_true(c[0].s.virality > c[1].s.virality);
    om_candidates_free(c, n);
}

static void test_input_from_json_malformed(void **state)
{
    (void)state;
    /* outside data: wrong types, missing times, reversed spans, junk signals are skipped */
    const char *text =
        "{\"words\":[{\"w\":\"ok\",\"start\":1,\"end\":1.5},{\"w\":\"late\",\"start\":3},"
        "{\"w\":7,\"start\":2,\"end\":3},{\"word\":\"alias\",\"start\":2,\"end\":2.4},"
        "{\"w\":\"back\",\"start\":5,\"end\":4},{\"w\":\"neg\",\"start\":-1,\"end\":0.5},"
        "\"junk\",null],"
        "\"sentences\":[{\"start\":1,\"end\":2.4,\"text\":\"ok alias\"},{\"start\":\"x\"}],"
        "\"signals\":{\"duration\":\"long\",\"loudness\":{\"short_term\":[-20,null,\"x\"]},"
        "\"silences\":[[1.5,2],[3],{\"start\":2.4,\"end\":2.9},\"z\"],"
        "\"scenes\":[1,\"two\",{\"time\":3}]},"
        "\"engagement\":{\"value\":500,\"creator_median\":250}}";
    json_t *raw = json_loads(text, 0, NULL);
    assert_non_null(raw);
    om_cand_input t;
    assert_int_equal(om_cand_input_from_json(raw, &t), OM_OK);
    assert_int_equal(t.nwords, 2);
    assert_string_equal(t.words[1].w, "alias");
    assert_int_equal(t.nsentences, 1);
    assert_int_equal(t.nsilences, 2);
    assert_int_equal(t.nscenes, 2);
    assert_int_equal(t.nloudness, 3);
    assert_true(isnan(t.loudness[1]) && isnan(t.loudness[2]));
    assert_true(t.duration == 0);
    assert_true(fabs(t.engagement - 2.0 / 3.0) < 1e-9);
    om_cand_opts o;
    om_cand_opts_default(&o);
    o.min_s = 0.5;
    o.max_s = 5;
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_OK);
    assert_int_equal(n, 1);
    om_candidates_free(c, n);
    om_cand_input_release(&t);
    json_decref(raw);
}

static void test_candidates_long_video(void **state)
{
    (void)state;
    /* about an hour of speech (700 sentences, ~7000 words): still every invariant, and
     * fast enough for the analyzer (printed, not asserted: machines differ) */
    synth x;
    synth_build(&x, 99, 700, 1);
    om_cand_input t = {0};
    t.words = x.w;
    t.nwords = x.nw;
    t.sentences = x.s;
    t.nsentences = x.ns;
    t.engagement = -1;
    om_cand_opts o;
    om_cand_opts_default(&o);
    om_stemmer *st = om_stemmer_new();
    const char *kw[] = {"money", "startup", "growth"};
    om_relevance *rel = om_relevance_new(st, "build better habits", kw, 3);
    int64_t t0 = om_mono_ms();
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, rel, &c, &n), OM_OK);
    int64_t ms = om_mono_ms() - t0;
    print_message("long video: %zu words, %zu candidates in %lld ms\n", x.nw, n, (long long)ms);
    check_candidates(&x, c, n, &o);
    /* over 20 minutes: analysed in overlapping windows, each contributing its best (an hour
     * of talk has enough sentence-bounded stretches for every window's quota) */
    double len = x.w[x.nw - 1].end, starts[64];
    size_t nwin = om_cand_windows(&o, len, starts, 64);
    assert_true(len > o.long_source_s);
    assert_true(nwin >= 6);
    assert_int_equal(n, nwin * o.window_candidates);
    size_t *per = xcalloc(nwin, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].window >= 0 && (size_t)c[i].window < nwin);
        assert_true(c[i].start >= c[i].window_start - 1e-9 && c[i].end <= c[i].window_end + 1e-9);
        per[c[i].window]++;
        if (i < nwin) /* the first round: one per window, by score */
            assert_true(i == 0 || c[i].s.combined <= c[i - 1].s.combined + 1e-12);
    }
    for (size_t k = 0; k < nwin; k++)
        assert_int_equal(per[k], o.window_candidates);
    free(per);
    /* consecutive windows overlap by at least a clip's length, and the last reaches the end */
    for (size_t k = 1; k < nwin; k++)
        assert_true(starts[k - 1] + o.window_s - starts[k] >= o.max_s - 1e-9);
    assert_true(starts[nwin - 1] + o.window_s >= len);
    om_candidates_free(c, n);

    /* windows off: the best max_candidates of the whole talk, which need not cover it */
    o.window_s = 0;
    assert_int_equal(om_candidates_find(&t, &o, rel, &c, &n), OM_OK);
    assert_int_equal(n, o.max_candidates);
    check_candidates(&x, c, n, &o);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(c[i].window, -1);
    om_candidates_free(c, n);

    /* the overlap allowance holds across windows too */
    o.window_s = 600;
    o.max_overlap_frac = 0.3;
    assert_int_equal(om_candidates_find(&t, &o, rel, &c, &n), OM_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double ov = fmin(c[i].end, c[j].end) - fmax(c[i].start, c[j].start);
            double shorter = fmin(c[i].end - c[i].start, c[j].end - c[j].start);
            assert_true(ov <= 0.3 * shorter + 1e-9);
        }
    om_candidates_free(c, n);
    om_relevance_free(rel);
    om_stemmer_free(st);
    synth_free(&x);
}

/* A 26-minute talk (just over analyze.long_source_s): candidates come from its last third
 * too, the last window's quota included. */
static void test_long_source_clips_throughout(void **state)
{
    (void)state;
    synth x;
    synth_build(&x, 7, 300, 1);
    om_cand_input t = {0};
    t.words = x.w;
    t.nwords = x.nw;
    t.sentences = x.s;
    t.nsentences = x.ns;
    t.engagement = -1;
    double len = x.w[x.nw - 1].end;
    assert_true(len > 1200);
    om_cand_opts o;
    om_cand_opts_default(&o);
    om_candidate *c;
    size_t n;
    assert_int_equal(om_candidates_find(&t, &o, NULL, &c, &n), OM_OK);
    double last = 0;
    size_t in_last_third = 0;
    for (size_t i = 0; i < n; i++) {
        last = fmax(last, c[i].start);
        in_last_third += c[i].start > len * 2 / 3;
    }
    print_message("25-minute talk (%.0f s): %zu candidates, latest at %.0f s\n", len, n, last);
    assert_true(in_last_third >= o.window_candidates);
    assert_true(last > len - o.window_s);
    om_candidates_free(c, n);
    synth_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_and_stems),
        cmocka_unit_test(test_shingles_jaccard),
        cmocka_unit_test(test_truncate_utf8),
        cmocka_unit_test(test_relevance_stemmed),
        cmocka_unit_test(test_keywords_extract),
        cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_virality_bounded),
        cmocka_unit_test(test_candidates_boundaries_property),
        cmocka_unit_test(test_candidates_pauses_only),
        cmocka_unit_test(test_candidates_limits_and_silence),
        cmocka_unit_test(test_candidates_prefer_hook_and_relevance),
        cmocka_unit_test(test_analysis_evaluate_json),
        cmocka_unit_test(test_relevance_hygiene),
        cmocka_unit_test(test_hook_opens_the_clip),
        cmocka_unit_test(test_overlap_fraction),
        cmocka_unit_test(test_energy_from_loudness),
        cmocka_unit_test(test_input_from_json_malformed),
        cmocka_unit_test(test_candidates_long_video),
        cmocka_unit_test(test_long_source_clips_throughout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
