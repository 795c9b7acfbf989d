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
 *   4. share of published clips whose relevance rests on low-confidence words (goal: none):
 *      a clip "rests on low-confidence words" when its words reach the committee's
 *      pantheon.min_relevance only with the words heard below analyze.min_word_confidence.
 *      Talks where an on-brand keyword is present only as a low-confidence word, beside a
 *      clear on-brand stretch (so clips do get published):
 *      a. text talks (--lowconf N, 20): chatter, the planted hook block, and two chatter
 *         sentences in which a brand keyword was mumbled (its words at confidence
 *         0.15-0.45, every other word 0.8-0.99), each at least a minute from the others;
 *      b. spoken talks (--mumbled N, 3): chatter, the hook block, and one chatter sentence
 *         synthesised by espeak-ng with its keyword mumbled (6 dB softer) under white noise
 *         (10, 5, 0 dB SNR, talk by talk), transcribed by pocketsphinx (real confidences):
 *         what the recogniser made of the keyword is reported with the share;
 *      c. with `--asr N`, N of the hook talks of 2 also go through pocketsphinx;
 *   5. face tracking (tests/media/faces_fixture.h: videos composed by ffmpeg from opencv-doc's
 *      portraits with a known truth, the ones tests/media/test_faces.c checks): the share of
 *      sampled frames whose crop centre (the edit plan's keyframes, as ffmpeg's crop follows
 *      them) is within 10% of the frame's width of the face's, one face moving across the
 *      frame; and, two people talking in turn (speech under one face at a time), the share
 *      of the time the crop is on the speaking one.
 * Every figure is printed again at the end.
 * Usage: bench_quality [--talks N (10)] [--asr N (0)] [--lowconf N (20)] [--mumbled N (3)]
 *                      [--seed S]
 */
#include "base/common.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>

#include "asr/align.h"
#include "asr/asr.h"
#include "asr_util.h"
#include "base/config.h"
#include "cognition/candidates.h"
#include "cognition/pantheon.h"
#include "media/facetrack.h"
#include "media/faces.h"
#include "media_fixture.h"
#include "faces_fixture.h"

/* every figure, printed again at the end */
static struct {
    int align_done;
    double align_interp_ms, align_ms;
    size_t hook_opens, hook_talks;
    double cands10, passed10, published10;
    size_t text_talks, text_pub, text_low, text_low_cands, text_low_vetoed;
    size_t spoken_talks, spoken_pub, spoken_low, spoken_heard, spoken_heard_low;
    int faces_done;
    double face_share, face_err, speaker_share;
    size_t face_n, speaker_switches;
} g_fig;

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
    g_fig.align_done = 1;
    g_fig.align_interp_ms = 1000 * si / n;
    g_fig.align_ms = 1000 * sa / n;
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
    size_t lowconf_cands;        /* candidates on-brand only through low-conf words */
    size_t lowconf_vetoed;       /* ... of which the committee vetoed as off-brand */
} chain_result;

/* 1 when the words said in [s, e) reach min_rel only with the words below the gate. */
static int rests_on_lowconf(om_relevance *rel, const om_transcript *t, double s, double e,
                            double gate, double min_rel)
{
    om_sbuf all = OM_SBUF_INIT, sure = OM_SBUF_INIT;
    for (size_t k = 0; k < t->n; k++) {
        double mid = (t->words[k].start + t->words[k].end) / 2;
        if (mid < s || mid >= e)
            continue;
        sb_printf(&all, "%s ", t->words[k].w);
        if (t->words[k].conf >= gate)
            sb_printf(&sure, "%s ", t->words[k].w);
    }
    double ra = om_relevance_score(rel, sb_str(&all), NULL);
    double rs = om_relevance_score(rel, sb_str(&sure), NULL);
    sb_release(&all);
    sb_release(&sure);
    return ra >= min_rel && rs < min_rel;
}

/* The cognition chain on one raw_ai_output: candidates, committee, rank (the settings'
 * defaults throughout, as a project without its own omniva.conf gets them). With `t`, the
 * candidates and published clips whose relevance rests on low-confidence words. */
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
    int *rests = xcalloc(n + 1, sizeof(int));
    double min_conf = om_config_double(NULL, "pantheon.min_confidence");
    double min_rel = om_config_double(NULL, "pantheon.min_relevance");
    om_stemmer *st = om_stemmer_new();
    om_relevance *rel = om_relevance_from_brand(st, brand);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cands, i);
        char id[32];
        snprintf(id, sizeof(id), "c%zu", i);
        double s = json_number_value(json_object_get(c, "start"));
        double e = json_number_value(json_object_get(c, "end"));
        om_pantheon_clip pc = {id, "creator", s, e, NULL, c, -1};
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
        if (t && rests_on_lowconf(rel, t, s, e, base->min_word_conf, min_rel)) {
            rests[i] = 1;
            r->lowconf_cands++;
            r->lowconf_vetoed += ch.vetoed && !strcmp(ch.veto_agent, "relevance");
        }
    }
    size_t per = (size_t)json_integer_value(json_object_get(brand, "clips_per_video"));
    om_lattice_rank(items, n, per, min_conf);
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
        r->lowconf_published += rests[i];
    }
    om_relevance_free(rel);
    om_stemmer_free(st);
    free(rests);
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
    g_fig.hook_opens = opens;
    g_fig.hook_talks = ntalks;
    g_fig.cands10 = 10 * cands / minutes;
    g_fig.passed10 = 10 * passed / minutes;
    g_fig.published10 = 10 * published / minutes;
    printf("\n3. clips per 10 minutes of talk\n");
    printf("   %zu talks, %.1f min (subtitles, aligned): %.1f candidates, %.1f pass the "
           "committee, %.1f published (clips_per_video 3) per 10 min\n",
           ntalks, minutes, 10 * cands / minutes, 10 * passed / minutes,
           10 * published / minutes);
    g_asr.done = asr_done, g_asr.opens = asr_opens, g_asr.pub = asr_pub, g_asr.low = asr_low;
    g_asr.minutes = asr_minutes;
    json_decref(brand);
}

/* ---- 4. low-confidence keywords ----------------------------------------------------------- */

/* Chatter sentences in which a brand keyword was mumbled: the sentence and the keyword. */
static const char *const k_mumbled[][2] = {
    {"On the way back I grabbed an espresso at the station.", "espresso"},
    {"My neighbour says the espresso place by the park closed down.", "espresso"},
    {"Somebody left a bag of coffee beans on the train this morning.", "coffee beans"},
    {"The kids drew latte art on the fridge with their magnets.", "latte art"},
    {"A man on the bus talked about his coffee grinder for an hour.", "coffee grinder"},
};

/* 1 when word `w` (any case, trailing punctuation) is one of the words of `phrase`. */
static int in_phrase(const char *w, const char *phrase)
{
    char **ws;
    size_t nw = om_wer_words(phrase, &ws), l = strcspn(w, ".,!?");
    int hit = 0;
    for (size_t i = 0; i < nw && !hit; i++)
        hit = strlen(ws[i]) == l && !strncasecmp(ws[i], w, l);
    om_wer_words_free(ws);
    return hit;
}

/* Adds one sentence's words at `*at` with drawn durations; a word of `low` (may be NULL) gets a
 * confidence of 0.15-0.45, every other 0.8-0.99. */
static void add_sentence(om_transcript *t, const char *sent, const char *low, double *at,
                         uint32_t *x)
{
    char **ws;
    size_t nw = om_wer_words(sent, &ws);
    for (size_t i = 0; i < nw; i++) {
        double d = 0.18 + (double)(rnd(x) % 200) / 1000.0;
        int last = i + 1 == nw;
        char *w = last ? xasprintf("%s.", ws[i]) : xstrdup(ws[i]);
        double conf = low && in_phrase(ws[i], low) ? 0.15 + (double)(rnd(x) % 300) / 1000.0
                                                   : 0.8 + (double)(rnd(x) % 190) / 1000.0;
        om_transcript_add(t, w, *at, *at + d, conf);
        free(w);
        *at += d + (last ? 0.5 + (double)(rnd(x) % 400) / 1000.0 : 0.06);
    }
    om_wer_words_free(ws);
}

/* 4a. Text talks of three stretches of ~100 s of chatter in a random order: one with the
 * planted hook block, two with a mumbled keyword sentence each. */
static void bench_lowconf_text(size_t ntalks, uint32_t seed)
{
    json_t *brand = json_loads(k_brand, 0, NULL);
    om_cand_opts base;
    om_cand_opts_default(&base);
    uint32_t x = seed ^ 0x5bd1e995u;
    size_t pub = 0, low = 0, lowc = 0, vetoed = 0, cands = 0;
    double minutes = 0;
    for (size_t k = 0; k < ntalks; k++) {
        om_transcript t = OM_TRANSCRIPT_INIT;
        double at = 0.5, hook_start = -1;
        size_t order = rnd(&x) % 3, m0 = rnd(&x) % OM_ARRAY_LEN(k_mumbled);
        for (size_t part = 0; part < 3; part++) {
            int hook_part = part == order;
            size_t mi = (m0 + part) % OM_ARRAY_LEN(k_mumbled);
            double end = at + 100;
            size_t ns = 0, plant = 8 + rnd(&x) % 12;
            while (at < end) {
                if (ns == plant && hook_part) {
                    hook_start = at;
                    add_sentence(&t, k_hooks[rnd(&x) % OM_ARRAY_LEN(k_hooks)], NULL, &at, &x);
                    for (int f = 0; f < 3; f++)
                        add_sentence(&t, k_follow[rnd(&x) % OM_ARRAY_LEN(k_follow)], NULL, &at,
                                     &x);
                } else if (ns == plant) {
                    add_sentence(&t, k_mumbled[mi][0], k_mumbled[mi][1], &at, &x);
                } else {
                    add_sentence(&t, k_chatter[rnd(&x) % OM_ARRAY_LEN(k_chatter)], NULL, &at,
                                 &x);
                }
                ns++;
            }
        }
        om_transcript_segment(&t, NULL);
        json_t *raw = raw_of(&t, at + 0.5);
        chain_result r;
        run_chain(raw, brand, &base, hook_start, &t, &r);
        pub += r.published;
        low += r.lowconf_published;
        lowc += r.lowconf_cands;
        vetoed += r.lowconf_vetoed;
        cands += r.candidates;
        minutes += (at + 0.5) / 60;
        json_decref(raw);
        om_transcript_release(&t);
    }
    printf("   a. %zu text talks (%.0f min), two mumbled keyword sentences each (confidence "
           "0.15-0.45): %zu candidates, %zu of them on-brand only through low-confidence words "
           "(%zu vetoed off-brand by the committee); %zu of %zu published clips rest on "
           "low-confidence words (%.0f%%)\n",
           ntalks, minutes, cands, lowc, vetoed, low, pub, pub ? 100.0 * low / pub : 0);
    g_fig.text_talks = ntalks, g_fig.text_pub = pub, g_fig.text_low = low;
    g_fig.text_low_cands = lowc, g_fig.text_low_vetoed = vetoed;
    json_decref(brand);
}

/* Speech of `s` appended at *n (trimmed, after `gap` s of silence); its span in *s0, *s1. */
static int speak_append(int16_t **pcm, size_t *n, size_t *cap, const char *s, double gap,
                        double *s0, double *s1)
{
    size_t m = 0;
    int16_t *w = util_espeak(s, "en-us", 165, &m);
    if (!w)
        return -1;
    size_t a = 0, b = m;
    while (a < b && abs(w[a]) < 300)
        a++;
    while (b > a && abs(w[b - 1]) < 300)
        b--;
    size_t g = (size_t)(gap * 16000);
    while (*n + g + (b - a) + 16000 > *cap) {
        *cap *= 2;
        *pcm = xrealloc(*pcm, *cap * sizeof(int16_t));
    }
    memset(*pcm + *n, 0, g * sizeof(int16_t));
    *n += g;
    *s0 = (double)*n / 16000;
    memcpy(*pcm + *n, w + a, (b - a) * sizeof(int16_t));
    *n += b - a;
    *s1 = (double)*n / 16000;
    free(w);
    return 0;
}

/* Signal-to-noise ratios of the masked keywords, talk by talk. */
static const double k_snr_db[] = {10, 5, 0};

/* 4b. Spoken talks: ~24 chatter sentences, the hook block near the start, one sentence with
 * its keyword mumbled (6 dB softer) under white noise (k_snr_db[], talk by talk) near the
 * end; pocketsphinx adapted to the brand transcribes them. */
static void bench_lowconf_spoken(size_t ntalks, uint32_t seed)
{
    if (!ntalks)
        return;
    json_t *brand = json_loads(k_brand, 0, NULL);
    om_cand_opts base;
    om_cand_opts_default(&base);
    uint32_t x = seed ^ 0x27d4eb2du;
    size_t pub = 0, low = 0, heard = 0, heard_low = 0, done = 0;
    for (size_t k = 0; k < ntalks; k++) {
        size_t nchat = 22 + rnd(&x) % 4, hook_at = 2 + rnd(&x) % 3, mum_at = nchat - 1;
        size_t mi = k % OM_ARRAY_LEN(k_mumbled), cap = 16000 * 60, n = 8000;
        double snr = k_snr_db[k % OM_ARRAY_LEN(k_snr_db)];
        int16_t *pcm = xcalloc(cap, sizeof(int16_t));
        double hook_start = 0, kw0 = 0, kw1 = 0, s0, s1;
        int fail = 0;
        for (size_t i = 0, ci = 0; i < nchat + 4 && !fail; i++) {
            double gap = i ? 0.45 + (double)(rnd(&x) % 500) / 1000.0 : 0;
            if (i >= hook_at && i < hook_at + 4) {
                const char *sent = i == hook_at ? k_hooks[k % OM_ARRAY_LEN(k_hooks)]
                                                : k_follow[(k + i) % OM_ARRAY_LEN(k_follow)];
                fail = speak_append(&pcm, &n, &cap, sent, gap, &s0, &s1) < 0;
                if (i == hook_at)
                    hook_start = s0;
            } else if (i == mum_at + 4) {
                /* "<before> KEYWORD <after>": three parts, the keyword masked */
                const char *sent = k_mumbled[mi][0], *kw = k_mumbled[mi][1];
                const char *p = strstr(sent, kw);
                char *before = xstrndup(sent, (size_t)(p - sent));
                const char *after = p + strlen(kw);
                fail = speak_append(&pcm, &n, &cap, before, gap, &s0, &s1) < 0 ||
                       speak_append(&pcm, &n, &cap, kw, 0.04, &kw0, &kw1) < 0 ||
                       speak_append(&pcm, &n, &cap, after, 0.04, &s0, &s1) < 0;
                free(before);
                size_t a = (size_t)(kw0 * 16000), b = (size_t)(kw1 * 16000);
                double e = 0;
                for (size_t q = a; q < b; q++)
                    e += (double)pcm[q] * pcm[q];
                double rms = b > a ? sqrt(e / (double)(b - a)) : 0;
                /* mumbled: 6 dB softer; noisy: white noise k_snr_db[] under what is left */
                double nrms = 0.5 * rms / pow(10, snr / 20);
                for (size_t q = a; q < b; q++) {
                    double u = ((double)(rnd(&x) % 20001) / 10000.0 - 1.0) * nrms * sqrt(3.0);
                    double v = pcm[q] * 0.5 + u;
                    pcm[q] = (int16_t)fmax(-32768, fmin(32767, v));
                }
            } else {
                fail = speak_append(&pcm, &n, &cap, k_chatter[(k * 5 + 7 * ci++) %
                                                              OM_ARRAY_LEN(k_chatter)],
                                    gap, &s0, &s1) < 0;
            }
        }
        if (fail) {
            printf("   b. espeak-ng unavailable: not measured\n");
            free(pcm);
            break;
        }
        memset(pcm + n, 0, 8000 * sizeof(int16_t));
        n += 8000;
        const char *kw[] = {"espresso", "coffee grinder", "coffee beans", "latte art"};
        om_asr_sphinx_opts so = {0};
        so.adapt_text = json_string_value(json_object_get(brand, "brief"));
        so.keywords = kw;
        so.nkeywords = 4;
        so.vad_min_gap_s = 0.3;
        om_transcript a = OM_TRANSCRIPT_INIT;
        if (om_asr_sphinx(&a, pcm, n, &so))
            die("pocketsphinx: %s", om_error_msg());
        /* what the recogniser made of the masked keyword */
        om_sbuf got = OM_SBUF_INIT;
        int hit = 0, hit_low = 0;
        for (size_t q = 0; q < a.n; q++) {
            double mid = (a.words[q].start + a.words[q].end) / 2;
            if (mid < kw0 - 0.05 || mid > kw1 + 0.05)
                continue;
            sb_printf(&got, "%s\"%s\" %.2f", got.len ? ", " : "", a.words[q].w, a.words[q].conf);
            if (in_phrase(a.words[q].w, k_mumbled[mi][1])) {
                hit = 1;
                hit_low |= a.words[q].conf < base.min_word_conf;
            }
        }
        json_t *raw = raw_of(&a, (double)n / 16000);
        chain_result r;
        run_chain(raw, brand, &base, hook_start, &a, &r);
        printf("   b. talk %zu: %.0f s, \"%s\" mumbled at %.1f s under noise at %.0f dB SNR, "
               "heard as %s; %zu published, %zu resting on low-confidence words; hook %s\n",
               k + 1, (double)n / 16000, k_mumbled[mi][1], kw0, snr,
               got.len ? sb_str(&got) : "nothing",
               r.published, r.lowconf_published, r.hook_opens ? "opens a top-3 clip" : "missed");
        fflush(stdout);
        heard += hit;
        heard_low += hit_low;
        pub += r.published;
        low += r.lowconf_published;
        done++;
        sb_release(&got);
        json_decref(raw);
        om_transcript_release(&a);
        free(pcm);
    }
    if (done)
        printf("   b. %zu spoken talks (pocketsphinx): the masked keyword recognised in %zu "
               "(%zu of them below the %.2f gate); %zu of %zu published clips rest on "
               "low-confidence words (%.0f%%)\n",
               done, heard, heard_low, base.min_word_conf, low, pub, pub ? 100.0 * low / pub : 0);
    g_fig.spoken_talks = done, g_fig.spoken_pub = pub, g_fig.spoken_low = low;
    g_fig.spoken_heard = heard, g_fig.spoken_heard_low = heard_low;
    json_decref(brand);
}

static void report_lowconf(void)
{
    if (g_asr.done)
        printf("   c. pocketsphinx on %zu hook talks of 2 (%.1f min): %zu of %zu published "
               "(%.0f%%); hook recall@3 %zu/%zu\n",
               g_asr.done, g_asr.minutes, g_asr.low, g_asr.pub,
               g_asr.pub ? 100.0 * g_asr.low / g_asr.pub : 0, g_asr.opens, g_asr.done);
    else
        printf("   c. the hook talks of 2 through pocketsphinx: not run (--asr N)\n");
}

/* ---- 5. face tracking ----------------------------------------------------------------------- */

static void bench_faces(void)
{
    printf("\n5. face tracking on videos composed from opencv-doc's portraits (known truth)\n");
    if (!om_file_exists(FF_PHOTO_A) || !om_file_exists(FF_PHOTO_B) ||
        !om_file_exists(OM_FACES_DEFAULT_CASCADE)) {
        printf("   not measured: %s, %s or %s missing (apt-get install opencv-doc "
               "opencv-data)\n",
               FF_PHOTO_A, FF_PHOTO_B, OM_FACES_DEFAULT_CASCADE);
        return;
    }
    /* the edit stage's own settings (framing.*), a 9:16 window of the 16:9 frame */
    om_face_scan_opts so = {.sample_fps = om_config_double(NULL, "framing.sample_fps"),
                            .detect_width = (int)om_config_long(NULL, "framing.detect_width"),
                            .hold_s = om_config_double(NULL, "framing.hold_s"),
                            .cascade = NULL};
    om_framing_opts fo = {.dead_zone = om_config_double(NULL, "framing.dead_zone"),
                          .max_pan = om_config_double(NULL, "framing.max_pan_speed"),
                          .window = (double)om_config_long(NULL, "editor.width") /
                                    (double)om_config_long(NULL, "editor.height") * 1080.0 /
                                    1920.0,
                          .allow_split = 0};
    char *dir = fx_tmpdir("bench-faces");
    char *v1 = fx_path(dir, "moving.mp4"), *v2 = fx_path(dir, "turns.mp4");
    om_face_scan s = {0};
    om_framing f = {0};
    double t0 = now_s();
    if (ff_make_moving(v1) != 0 || ff_make_turns(v2) != 0)
        die("composing the face videos with ffmpeg failed");
    double t_make = now_s() - t0;
    t0 = now_s();
    if (om_media_face_scan(v1, 0, FF_MOVING_S, &so, &s) || om_framing_decide(&s, &fo, &f))
        die("faces (moving): %s", om_error_msg());
    ff_measure m = ff_measure_moving(&f, 0, FF_MOVING_S, fo.window);
    printf("   one face on a path (%.0f s, out of shot 0.6 s): mode %s, crop centre within 10%% "
           "of the face on %.1f%% of %zu sampled frames, mean error %.3f of the width\n",
           FF_MOVING_S, om_framing_mode_name(f.mode), 100 * m.share, m.n, m.mean_err);
    g_fig.face_share = m.share, g_fig.face_err = m.mean_err, g_fig.face_n = m.n;
    om_framing_release(&f);
    om_face_scan_release(&s);
    if (om_media_face_scan(v2, 0, FF_TURNS_S, &so, &s) || om_framing_decide(&s, &fo, &f))
        die("faces (turns): %s", om_error_msg());
    double on = ff_measure_turns(&f, 0, FF_TURNS_S, fo.window);
    printf("   two people talking in turn (%.0f s, 4 turns): mode %s, crop on the speaking face "
           "%.1f%% of the time, %zu speaker changes, speaker scores %.2f / %.2f\n",
           FF_TURNS_S, om_framing_mode_name(f.mode), 100 * on, f.switches,
           f.ntracks > 0 ? f.score[0] : 0, f.ntracks > 1 ? f.score[1] : 0);
    printf("   (composing %.1f s, scanning and deciding %.1f s at %g fps, %d px wide)\n", t_make,
           now_s() - t0, so.sample_fps, so.detect_width);
    g_fig.speaker_share = on, g_fig.speaker_switches = f.switches;
    g_fig.faces_done = 1;
    om_framing_release(&f);
    om_face_scan_release(&s);
    om_rmtree(dir);
    free(v1);
    free(v2);
    free(dir);
}

static void print_figures(void)
{
    printf("\nFigures\n");
    if (g_fig.align_done)
        printf("   word-start error: interpolation %.0f ms, forced alignment %.0f ms (mean)\n",
               g_fig.align_interp_ms, g_fig.align_ms);
    if (g_fig.hook_talks)
        printf("   planted-hook recall@3, hook opens the clip: %zu/%zu = %.0f%%\n",
               g_fig.hook_opens, g_fig.hook_talks, 100.0 * g_fig.hook_opens / g_fig.hook_talks);
    printf("   clips per 10 min of talk: %.1f candidates, %.1f pass, %.1f published\n",
           g_fig.cands10, g_fig.passed10, g_fig.published10);
    if (g_fig.text_talks)
        printf("   published clips resting on low-confidence words, text talks: %zu of %zu "
               "(%.0f%%; %zu candidates rested on them, %zu vetoed)\n",
               g_fig.text_low, g_fig.text_pub,
               g_fig.text_pub ? 100.0 * g_fig.text_low / g_fig.text_pub : 0,
               g_fig.text_low_cands, g_fig.text_low_vetoed);
    if (g_fig.spoken_talks)
        printf("   published clips resting on low-confidence words, spoken talks (pocketsphinx): "
               "%zu of %zu (%.0f%%; masked keyword heard in %zu of %zu talks, %zu below the "
               "gate)\n",
               g_fig.spoken_low, g_fig.spoken_pub,
               g_fig.spoken_pub ? 100.0 * g_fig.spoken_low / g_fig.spoken_pub : 0,
               g_fig.spoken_heard, g_fig.spoken_talks, g_fig.spoken_heard_low);
    if (g_asr.done)
        printf("   published clips resting on low-confidence words, hook talks (pocketsphinx): "
               "%zu of %zu\n",
               g_asr.low, g_asr.pub);
    if (g_fig.faces_done)
        printf("   face tracking: crop within 10%% of the face on %.1f%% of %zu frames (mean "
               "error %.3f); crop on the speaking face %.1f%% of the time (%zu changes)\n",
               100 * g_fig.face_share, g_fig.face_n, g_fig.face_err, 100 * g_fig.speaker_share,
               g_fig.speaker_switches);
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
    size_t ntalks = 10, nasr = 0, nlow = 20, nmumbled = 3;
    uint32_t seed = 20261203;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--talks") == 0 && i + 1 < argc)
            ntalks = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--asr") == 0 && i + 1 < argc)
            nasr = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--lowconf") == 0 && i + 1 < argc)
            nlow = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--mumbled") == 0 && i + 1 < argc)
            nmumbled = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = (uint32_t)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_quality [--talks N] [--asr N] [--lowconf N] "
                            "[--mumbled N] [--seed S]\n");
            return 2;
        }
    }
    if (!ntalks)
        ntalks = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    double t0 = now_s();
    bench_alignment();
    bench_hooks(ntalks, nasr, seed);
    bench_long(seed);
    printf("\n4. published clips whose relevance rests on low-confidence words (goal: none)\n");
    if (nlow)
        bench_lowconf_text(nlow, seed);
    bench_lowconf_spoken(nmumbled, seed);
    report_lowconf();
    bench_faces();
    print_figures();
    printf("\n(%.0f s)\n", now_s() - t0);
    return 0;
}
