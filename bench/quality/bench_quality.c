/*
 * bench_quality.c: are the clips we would publish worth watching? Figures for issue 10
 * section 5, on generated talks whose truth we know, in one run:
 *   1. word-start alignment error: espeak-ng talks synthesised word by word (every word's
 *      true start known to the sample, asr_util.h util_talk_make) with the SRT a platform
 *      would serve; mean/median/p90 absolute word-start error of today's interpolation
 *      inside each cue next to forced alignment (src/asr/align.c);
 *   2. planted-hook recall@3: talks of off-topic chatter with one on-brand hook sentence
 *      (and its on-brand follow-up) planted at a random place; each talk goes the analyzer's
 *      subtitles path (SRT -> om_subtitles_parse -> om_asr_align) and the cognition chain
 *      (om_analysis_evaluate -> Pantheon votes -> Chorus -> Lattice rank); a hit when one of
 *      the top 3 ranked clips (not vetoed) starts at most 3 s before the hook sentence and
 *      not after it (the hook opens the clip). Also reported: hook anywhere inside a top-3
 *      clip, to show the difference;
 *   3. clips per 10 minutes of talk: on those talks, and on a 30-minute talk (generated
 *      sentences with word times, text only) with long-source windows on and off: candidates,
 *      clips the committee passes (not vetoed, confidence >= pantheon.min_confidence) and
 *      clips published (the brand's clips_per_video);
 *   4. share of published clips whose relevance rests on low-confidence words: with
 *      `--asr N`, N hook talks are transcribed by pocketsphinx (real confidences) and the
 *      published clips' relevance is recomputed from the words at or above
 *      analyze.min_word_confidence: a clip that is on-brand only through words below it
 *      "rests on low-confidence words" (goal: none). Without --asr the talks' words come from
 *      subtitles (confidence 1) and the figure is reported as not measured.
 * Usage: bench_quality [--talks N (10)] [--asr N (0)] [--seed S]
 */
#include "base/common.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>

#include "asr/align.h"
#include "asr/asr.h"
#include "asr_util.h"
#include "cognition/candidates.h"
#include "cognition/pantheon.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_quality: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* ---- 1. alignment ------------------------------------------------------------------------- */

static const char *k_align_texts[] = {
    ("so here is the thing about espresso nobody tells you the grind matters more than the " "machine a cheap burr grinder beats an expensive blade every single morning and the water " "should be just off the boil"),
    ("last weekend we drove up to the lake with my brother and his two kids the traffic was " "terrible but the weather made up for it and we stayed until the sun went down behind " "the hills"),
    ("if you only change one thing this year write down what you spend for a month you will be " "surprised how much goes on small things you do not even remember buying"),
};

static void bench_alignment(void)
{
    printf("1. word-start error, interpolation inside cues vs forced alignment "
           "(espeak-ng, word by word, cues of 7 words)\n");
    double *ei = NULL, *ea = NULL;
    size_t n = 0;
    om_align_stats tot = {0};
    double audio = 0, t_align = 0;
    for (size_t k = 0; k < OM_ARRAY_LEN(k_align_texts); k++) {
        util_talk talk;
        if (util_talk_make(&talk, k_align_texts[k], 7, 1000 + (unsigned)k) < 0) {
            printf("   espeak-ng unavailable: not measured\n");
            return;
        }
        om_transcript a = OM_TRANSCRIPT_INIT, b = OM_TRANSCRIPT_INIT;
        if (om_subtitles_parse(&a, talk.srt, strlen(talk.srt), "talk.srt") ||
            om_subtitles_parse(&b, talk.srt, strlen(talk.srt), "talk.srt"))
            die("parsing the generated SRT: %s", om_error_msg());
        om_align_stats st;
        double t0 = now_s();
        if (om_asr_align(&b, talk.pcm, talk.n, NULL, &st))
            die("alignment: %s", om_error_msg());
        t_align += now_s() - t0;
        audio += (double)talk.n / 16000;
        tot.cues += st.cues;
        tot.aligned += st.aligned;
        ei = xrealloc(ei, (n + a.n) * sizeof(double));
        ea = xrealloc(ea, (n + a.n) * sizeof(double));
        for (size_t i = 0; i < a.n && i < talk.nwords; i++, n++) {
            ei[n] = fabs(a.words[i].start - talk.start[i]);
            ea[n] = fabs(b.words[i].start - talk.start[i]);
        }
        om_transcript_release(&a);
        om_transcript_release(&b);
        util_talk_free(&talk);
    }
    double si = 0, sa = 0;
    size_t wi = 0, wa = 0;
    for (size_t i = 0; i < n; i++) {
        si += ei[i], sa += ea[i];
        wi += ei[i] <= 0.05, wa += ea[i] <= 0.05;
    }
    qsort(ei, n, sizeof(double), cmp_double);
    qsort(ea, n, sizeof(double), cmp_double);
    printf("   %zu words, %zu cues (%zu aligned), %.1f s of audio aligned in %.1f s\n", n,
           tot.cues, tot.aligned, audio, t_align);
    printf("   %-14s mean %4.0f ms  median %4.0f ms  p90 %4.0f ms  within 50 ms %3.0f%%\n",
           "interpolation", 1000 * si / n, 1000 * ei[n / 2], 1000 * ei[n * 9 / 10],
           100.0 * wi / n);
    printf("   %-14s mean %4.0f ms  median %4.0f ms  p90 %4.0f ms  within 50 ms %3.0f%%\n",
           "alignment", 1000 * sa / n, 1000 * ea[n / 2], 1000 * ea[n * 9 / 10], 100.0 * wa / n);
    free(ei);
    free(ea);
}

/* ---- 2-4. talks with a planted hook ------------------------------------------------------- */

static const char *k_brand =
    "{\"keywords\":[\"espresso\",\"coffee grinder\",\"coffee beans\",\"latte art\"],"
    "\"brief\":\"Home espresso and specialty coffee: grinding, brewing, milk and beans.\","
    "\"clip_min_s\":15,\"clip_max_s\":45,\"clips_per_video\":3}";

static const char *k_chatter[] = {
    "Last weekend we drove up to the lake with my brother and his kids.",
    "The traffic on the way back was honestly the worst I have seen all year.",
    "My neighbour finally finished painting his fence after three months.",
    "I started watching a new detective series and I cannot stop.",
    "The football game on Sunday went into extra time again.",
    "We tried a new pizza place downtown and it was fine, nothing special.",
    "My phone battery dies by lunch time these days, which is annoying.",
    "The weather report said rain all week but it has been sunny every day.",
    "I have been meaning to clean out the garage since the spring.",
    "Our cat learned to open the kitchen door, so that is a new problem.",
    "My sister is moving to another city next month for her job.",
    "I finally replaced the old bike tyres before the trip.",
    "There was a long queue at the post office this morning.",
    "The new shopping centre opened and the car park is always full.",
    "I read somewhere that people check their phones a hundred times a day.",
    "We played board games until late and nobody wanted to lose.",
    "My laptop decided to update right before an important call.",
    "The library near us now stays open until nine in the evening.",
    "I keep forgetting to water the plants on the balcony.",
    "The concert tickets sold out in about ten minutes.",
    "Somebody parked across our driveway again yesterday.",
    "I am thinking about learning to play the guitar this winter.",
    "The kids have a school trip to the museum on Friday.",
    "We watched the whole film and still did not understand the ending.",
};

static const char *k_hooks[] = {
    ("Here is the secret nobody tells you about espresso: the grind matters more than the " "machine."),
    "Stop buying expensive espresso machines until you fix your coffee grinder.",
    "Why does your espresso taste bitter? Most of the time the coffee beans are too old.",
    "The biggest mistake people make with latte art is the milk, not the pour.",
};

static const char *k_follow[] = {
    "A cheap burr coffee grinder beats a blade grinder every single morning.",
    "Fresh coffee beans roasted two weeks ago give the espresso its sweetness.",
    "Pull the shot in about thirty seconds and taste it before you change anything.",
    "Steam the milk until it is glossy and the latte art almost pours itself.",
    "Dial in the espresso with one change at a time, starting with the grind.",
};

typedef struct talk {
    int16_t *pcm;
    size_t n;
    char *srt;
    double hook_start, hook_end; /* the planted hook sentence, truth */
    double length;
} talk;

/* One talk: `nchat` chatter sentences, the hook and three follow-ups planted after a random
 * chatter sentence; each sentence synthesised on its own and laid end to end with pauses. */
static int talk_make(talk *t, size_t nchat, uint32_t *x)
{
    memset(t, 0, sizeof(*t));
    size_t at = 3 + rnd(x) % (nchat - 5);
    size_t hook = rnd(x) % OM_ARRAY_LEN(k_hooks);
    size_t total = nchat + 4, cap = 16000 * 60, n = 8000;
    int16_t *pcm = xcalloc(cap, sizeof(int16_t));
    om_sbuf srt = OM_SBUF_INIT;
    size_t first_chat = rnd(x) % OM_ARRAY_LEN(k_chatter);
    for (size_t k = 0, ci = 0; k < total; k++) {
        const char *s;
        if (k == at)
            s = k_hooks[hook];
        else if (k > at && k <= at + 3)
            s = k_follow[(hook + k - at) % OM_ARRAY_LEN(k_follow)];
        else
            s = k_chatter[(first_chat + 7 * ci++) % OM_ARRAY_LEN(k_chatter)];
        size_t m = 0;
        int16_t *w = util_espeak(s, "en-us", 165, &m);
        if (!w) {
            free(pcm);
            sb_release(&srt);
            return -1;
        }
        size_t a = 0, b = m;
        while (a < b && abs(w[a]) < 300)
            a++;
        while (b > a && abs(w[b - 1]) < 300)
            b--;
        size_t gap = k ? (size_t)((0.45 + (double)(rnd(x) % 500) / 1000.0) * 16000) : 0;
        while (n + gap + (b - a) + 16000 > cap) {
            cap *= 2;
            pcm = xrealloc(pcm, cap * sizeof(int16_t));
        }
        memset(pcm + n, 0, gap * sizeof(int16_t));
        n += gap;
        double s0 = (double)n / 16000;
        memcpy(pcm + n, w + a, (b - a) * sizeof(int16_t));
        n += b - a;
        double s1 = (double)n / 16000;
        free(w);
        if (k == at)
            t->hook_start = s0, t->hook_end = s1;
        sb_printf(&srt, "%zu\n", k + 1);
        util_srt_time(&srt, s0 - 0.1);
        sb_puts(&srt, " --> ");
        util_srt_time(&srt, s1 + 0.1);
        sb_printf(&srt, "\n%s\n\n", s);
    }
    memset(pcm + n, 0, 8000 * sizeof(int16_t));
    n += 8000;
    t->pcm = pcm;
    t->n = n;
    t->srt = sb_detach(&srt);
    t->length = (double)n / 16000;
    return 0;
}

static void talk_free(talk *t)
{
    free(t->pcm);
    free(t->srt);
}

typedef struct chain_result {
    size_t candidates, passed, published;
    int hook_opens, hook_inside; /* among the top 3 published */
    size_t lowconf_published;    /* published clips on-brand only through low-conf words */
} chain_result;

/* The cognition chain on one raw_ai_output: candidates, committee, rank. */
static void run_chain(const json_t *raw, const json_t *brand, const om_cand_opts *base,
                      double hook_start, const om_transcript *t, chain_result *r)
{
    memset(r, 0, sizeof(*r));
    json_t *ev = NULL;
    if (om_analysis_evaluate(raw, brand, base, &ev))
        die("evaluate: %s", om_error_msg());
    json_t *cands = json_object_get(ev, "candidates");
    size_t n = json_array_size(cands);
    r->candidates = n;
    om_pantheon *p = om_pantheon_new(brand, NULL);
    om_rank_item *items = xcalloc(n + 1, sizeof(*items));
    double min_conf = 0.3; /* pantheon.min_confidence's default */
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cands, i);
        char id[32];
        snprintf(id, sizeof(id), "c%zu", i);
        om_pantheon_clip pc = {id, "creator", json_number_value(json_object_get(c, "start")),
                               json_number_value(json_object_get(c, "end")), NULL, c, -1};
        om_vote v[OM_PANTHEON_MAX_AGENTS];
        size_t nv = 0;
        om_pantheon_vote(p, &pc, v, &nv);
        om_chorus ch;
        om_chorus_merge(v, nv, &ch);
        om_lattice_in li = {ch.confidence, -1, -1, 1};
        om_lattice_out lo;
        om_lattice_priority(&li, &lo);
        items[i].priority = lo.priority;
        items[i].confidence = ch.confidence;
        items[i].vetoed = ch.vetoed;
        r->passed += !ch.vetoed && ch.confidence >= min_conf;
    }
    size_t per = (size_t)json_integer_value(json_object_get(brand, "clips_per_video"));
    om_lattice_rank(items, n, per, min_conf);
    om_stemmer *st = om_stemmer_new();
    om_relevance *rel = om_relevance_from_brand(st, brand);
    for (size_t i = 0; i < n; i++) {
        if (!items[i].selected)
            continue;
        r->published++;
        json_t *c = json_array_get(cands, i);
        double s = json_number_value(json_object_get(c, "start"));
        double e = json_number_value(json_object_get(c, "end"));
        if (items[i].rank <= 3 && hook_start >= 0) {
            r->hook_opens |= hook_start >= s - 0.3 && hook_start <= s + 3.0;
            r->hook_inside |= hook_start >= s - 0.3 && hook_start < e;
        }
        if (t) { /* relevance of the confident words only */
            om_sbuf all = OM_SBUF_INIT, sure = OM_SBUF_INIT;
            for (size_t k = 0; k < t->n; k++) {
                double mid = (t->words[k].start + t->words[k].end) / 2;
                if (mid < s || mid >= e)
                    continue;
                sb_printf(&all, "%s ", t->words[k].w);
                if (t->words[k].conf >= 0.5)
                    sb_printf(&sure, "%s ", t->words[k].w);
            }
            double ra = om_relevance_score(rel, sb_str(&all), NULL);
            double rs = om_relevance_score(rel, sb_str(&sure), NULL);
            r->lowconf_published += ra >= 0.05 && rs < 0.05;
            sb_release(&all);
            sb_release(&sure);
        }
    }
    om_relevance_free(rel);
    om_stemmer_free(st);
    free(items);
    om_pantheon_free(p);
    json_decref(ev);
}

static json_t *raw_of(const om_transcript *t, double length)
{
    json_t *raw = om_transcript_to_json(t);
    json_object_set_new(raw, "probe", json_pack("{s:f}", "duration", length));
    return raw;
}

static struct {
    size_t done, opens, pub, low;
    double minutes;
} g_asr;

static void bench_hooks(size_t ntalks, size_t nasr, uint32_t seed)
{
    json_t *brand = json_loads(k_brand, 0, NULL);
    om_cand_opts base;
    om_cand_opts_default(&base);
    printf("\n2. planted-hook recall@3 (hook must open the clip: starts <= 3 s after the clip)\n");
    uint32_t x = seed;
    size_t opens = 0, inside = 0, cands = 0, passed = 0, published = 0;
    size_t asr_opens = 0, asr_pub = 0, asr_low = 0, asr_done = 0;
    double minutes = 0, asr_minutes = 0;
    for (size_t k = 0; k < ntalks; k++) {
        talk tk;
        if (talk_make(&tk, 14 + rnd(&x) % 8, &x) < 0) {
            printf("   espeak-ng unavailable: not measured\n");
            json_decref(brand);
            return;
        }
        om_transcript t = OM_TRANSCRIPT_INIT;
        if (om_subtitles_parse(&t, tk.srt, strlen(tk.srt), "talk.srt"))
            die("SRT: %s", om_error_msg());
        if (om_asr_align(&t, tk.pcm, tk.n, NULL, NULL))
            die("align: %s", om_error_msg());
        json_t *raw = raw_of(&t, tk.length);
        chain_result r;
        run_chain(raw, brand, &base, tk.hook_start, NULL, &r);
        printf("   talk %2zu: %5.1f s, hook at %5.1f s: %zu candidates, %zu pass, %zu published, "
               "hook %s\n",
               k + 1, tk.length, tk.hook_start, r.candidates, r.passed, r.published,
               r.hook_opens ? "opens a top-3 clip" : r.hook_inside ? "inside, not opening" : "missed");
        opens += r.hook_opens;
        inside += r.hook_inside;
        cands += r.candidates;
        passed += r.passed;
        published += r.published;
        minutes += tk.length / 60;
        json_decref(raw);
        om_transcript_release(&t);

        if (k < nasr) { /* the same audio through pocketsphinx (real confidences) */
            const char *kw[] = {"espresso", "coffee grinder", "coffee beans", "latte art"};
            om_asr_sphinx_opts so = {0};
            so.adapt_text = json_string_value(json_object_get(brand, "brief"));
            so.keywords = kw;
            so.nkeywords = 4;
            so.vad_min_gap_s = 0.3;
            om_transcript a = OM_TRANSCRIPT_INIT;
            if (om_asr_sphinx(&a, tk.pcm, tk.n, &so))
                die("pocketsphinx: %s", om_error_msg());
            json_t *ra = raw_of(&a, tk.length);
            run_chain(ra, brand, &base, tk.hook_start, &a, &r);
            printf("           pocketsphinx: %zu candidates, %zu published, hook %s, %zu "
                   "published on low-confidence words only\n",
                   r.candidates, r.published, r.hook_opens ? "opens" : "does not open",
                   r.lowconf_published);
            asr_opens += r.hook_opens;
            asr_pub += r.published;
            asr_low += r.lowconf_published;
            asr_done++;
            asr_minutes += tk.length / 60;
            json_decref(ra);
            om_transcript_release(&a);
        }
        talk_free(&tk);
    }
    printf("   recall@3, hook opens the clip: %zu/%zu = %.0f%%  (hook anywhere inside a top-3 "
           "clip: %zu/%zu)\n",
           opens, ntalks, 100.0 * opens / ntalks, inside, ntalks);
    printf("\n3. clips per 10 minutes of talk\n");
    printf("   %zu talks, %.1f min (subtitles, aligned): %.1f candidates, %.1f pass the "
           "committee, %.1f published (clips_per_video 3) per 10 min\n",
           ntalks, minutes, 10 * cands / minutes, 10 * passed / minutes,
           10 * published / minutes);
    g_asr.done = asr_done, g_asr.opens = asr_opens, g_asr.pub = asr_pub, g_asr.low = asr_low;
    g_asr.minutes = asr_minutes;
    json_decref(brand);
}

static void report_lowconf(void)
{
    printf("\n4. published clips whose relevance rests on low-confidence words (goal: none)\n");
    if (g_asr.done)
        printf("   pocketsphinx on %zu talks (%.1f min): %zu of %zu published (%.0f%%); hook "
               "recall@3 %zu/%zu\n",
               g_asr.done, g_asr.minutes, g_asr.low, g_asr.pub,
               g_asr.pub ? 100.0 * g_asr.low / g_asr.pub : 0, g_asr.opens, g_asr.done);
    else
        printf("   not measured (subtitle words have confidence 1; run with --asr N)\n");
}

/* 3b. a 30-minute talk, text only: sentences of the pools with word times. */
static void bench_long(uint32_t seed)
{
    json_t *brand = json_loads(k_brand, 0, NULL);
    om_transcript t = OM_TRANSCRIPT_INIT;
    uint32_t x = seed;
    double at = 0.5;
    size_t hooks = 0;
    while (at < 1800) {
        int planted = rnd(&x) % 12 == 0;
        size_t nsent = planted ? 4 : 1;
        for (size_t s = 0; s < nsent; s++) {
            const char *sent = planted ? (s == 0 ? k_hooks[rnd(&x) % OM_ARRAY_LEN(k_hooks)]
                                                 : k_follow[rnd(&x) % OM_ARRAY_LEN(k_follow)])
                                       : k_chatter[rnd(&x) % OM_ARRAY_LEN(k_chatter)];
            char **ws;
            size_t nw = om_wer_words(sent, &ws);
            for (size_t i = 0; i < nw; i++) {
                double d = 0.18 + (double)(rnd(&x) % 200) / 1000.0;
                int last = i + 1 == nw;
                char *w = last ? xasprintf("%s.", ws[i]) : xstrdup(ws[i]);
                om_transcript_add(&t, w, at, at + d, 1.0);
                free(w);
                at += d + (last ? 0.5 + (double)(rnd(&x) % 400) / 1000.0 : 0.06);
            }
            om_wer_words_free(ws);
        }
        hooks += planted;
    }
    om_transcript_segment(&t, NULL);
    json_t *raw = raw_of(&t, at + 0.5);
    om_cand_opts base;
    om_cand_opts_default(&base);
    double minutes = (at + 0.5) / 60;
    for (int windows = 1; windows >= 0; windows--) {
        base.window_s = windows ? 600 : 0;
        chain_result r;
        double t0 = now_s();
        run_chain(raw, brand, &base, -1, NULL, &r);
        json_t *ev = NULL;
        om_analysis_evaluate(raw, brand, &base, &ev);
        json_t *cands = json_object_get(ev, "candidates");
        double last = 0;
        for (size_t i = 0; i < json_array_size(cands); i++)
            last = fmax(last, json_number_value(json_object_get(json_array_get(cands, i), "start")));
        printf("   %.0f-minute talk (text, %zu planted hooks), windows %s: %.1f candidates, "
               "%.1f pass, %.1f published per 10 min; latest candidate at %.0f s (%.1f s)\n",
               minutes, hooks, windows ? "on " : "off", 10 * r.candidates / minutes,
               10 * r.passed / minutes, 10 * r.published / minutes, last, now_s() - t0);
        json_decref(ev);
    }
    json_decref(raw);
    om_transcript_release(&t);
    json_decref(brand);
}

int main(int argc, char **argv)
{
    size_t ntalks = 10, nasr = 0;
    uint32_t seed = 20261203;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--talks") == 0 && i + 1 < argc)
            ntalks = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--asr") == 0 && i + 1 < argc)
            nasr = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = (uint32_t)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_quality [--talks N] [--asr N] [--seed S]\n");
            return 2;
        }
    }
    if (!ntalks)
        ntalks = 1;
    double t0 = now_s();
    bench_alignment();
    bench_hooks(ntalks, nasr, seed);
    bench_long(seed);
    report_lowconf();
    printf("\n(%.0f s)\n", now_s() - t0);
    return 0;
}
