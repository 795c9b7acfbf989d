/*
 * bench_asr.c: transcription quality and speed of src/asr against plain pocketsphinx, measured
 * in one run on the same audio:
 *   1. WER on the LibriVox clips of Debian's pocketsphinx-testdata: pocketsphinx with Debian's
 *      defaults vs our tuned decoder, vs tuned + a project brief, vs tuned + the OTHER clips'
 *      reference texts as domain text (leave-one-out: a clip never sees its own reference);
 *   2. WER on espeak-ng speech of a known text: defaults vs tuned;
 *   3. realtime factor on ~70 s of espeak-ng speech: defaults on one core, tuned on one core,
 *      tuned in parallel on all cores.
 * `bench_asr --sweep` runs the coordinate-descent parameter sweep used to choose the tuned
 * configuration (prints WER per setting on LibriVox + espeak-ng speech).
 */
#include "base/common.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

#include "asr/asr.h"
#include "base/config.h"
#include "asr_util.h"

/* A project brief for an audiobook-clip channel, written from general knowledge of the
 * novel's first chapter (not from the test transcripts). */
static const char *k_austen_brief =
    "Clips from the public domain audiobook of Sense and Sensibility by Jane Austen. "
    "Chapter one: the Dashwood family of Norland Park in Sussex. The old owner leaves the "
    "estate to his nephew Henry Dashwood. Henry's son John Dashwood and his wife Fanny "
    "inherit it, while Mrs. Dashwood and her daughters Elinor, Marianne and Margaret are left "
    "with a small fortune. Themes: money, inheritance, family duty, marriage and character.";
static const char *const k_austen_keywords[] = {"Dashwood", "Norland",     "Elinor", "Marianne",
                                                "Fanny",    "inheritance", "fortune"};

static const char *k_espeak_text =
    "Welcome back to the channel. Today we are going to talk about three simple habits that "
    "changed my morning routine. First, I drink a large glass of water before I check my "
    "phone. Second, I write down the one task that matters most. Third, I go for a short walk "
    "outside, even when it is raining. These small changes gave me more energy than any cup "
    "of coffee. If you try them for a week, let me know how it goes in the comments.";

static const char *k_rtf_text =
    "Welcome back to the channel. Today we are going to talk about three simple habits that "
    "changed my morning routine. First, I drink a large glass of water before I check my "
    "phone. Second, I write down the one task that matters most. Third, I go for a short walk "
    "outside, even when it is raining. These small changes gave me more energy than any cup "
    "of coffee. Now let us look at why this works. Your body loses water while you sleep, so "
    "a glass in the morning helps you wake up. Writing down a single task keeps you from "
    "spending the first hour on email. And a walk in daylight tells your brain that the day "
    "has started, which makes it easier to fall asleep at night. None of this costs money, "
    "and none of it takes more than twenty minutes. If you try these habits for a week, let "
    "me know how it goes in the comments, and tell me which one was the hardest for you. "
    "Thanks for watching, and see you in the next video.";

/* The 1-minute load average, for reading the timings. */
static const char *load_avg(void)
{
    static char buf[32];
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(buf, sizeof(buf), f))
        snprintf(buf, sizeof(buf), "unknown");
    if (f)
        fclose(f);
    char *sp = strchr(buf, ' ');
    if (sp)
        *sp = '\0';
    return buf;
}

typedef struct clip {
    char *id, *ref;
    int16_t *pcm;
    size_t n;
} clip;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct score {
    size_t errors, ref_words;
    double wall, cpu, audio;
} score;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_wer(score *s, const char *ref, const om_transcript *t, int verbose, const char *id)
{
    char *hyp = om_transcript_join(t);
    om_wer w;
    om_wer_compute(ref, hyp, &w);
    s->errors += w.sub + w.del + w.ins;
    s->ref_words += w.ref_words;
    if (verbose)
        printf("    %-44s %5.1f%%  %s\n", id, 100 * w.wer, hyp);
    free(hyp);
}

static double pct(const score *s)
{
    return s->ref_words ? 100.0 * (double)s->errors / (double)s->ref_words : 0;
}

/* Decodes every clip with `o` (adapt_mode 2: leave-one-out domain text from other clips). */
static int run_librivox(clip *clips, size_t nclips, const om_asr_sphinx_opts *o, int adapt_mode,
                        int verbose, score *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nclips; i++) {
        om_asr_sphinx_opts oo = *o;
        char *domain = NULL;
        if (adapt_mode == 2) {
            om_sbuf sb = OM_SBUF_INIT;
            for (size_t k = 0; k < nclips; k++)
                if (k != i)
                    sb_printf(&sb, "%s.\n", clips[k].ref);
            domain = sb_detach(&sb);
            oo.adapt_text = domain;
        }
        om_transcript t = OM_TRANSCRIPT_INIT;
        double t0 = now_s();
        int rc = om_asr_sphinx(&t, clips[i].pcm, clips[i].n, &oo);
        out->wall += now_s() - t0;
        out->audio += (double)clips[i].n / 16000.0;
        free(domain);
        if (rc < 0) {
            fprintf(stderr, "decode %s: %s\n", clips[i].id, om_error_msg());
            return rc;
        }
        add_wer(out, clips[i].ref, &t, verbose, clips[i].id);
        om_transcript_release(&t);
    }
    return 0;
}

static int run_one(const int16_t *pcm, size_t n, const char *ref, const om_asr_sphinx_opts *o,
                   int verbose, const char *label, score *out, om_transcript *keep)
{
    memset(out, 0, sizeof(*out));
    om_transcript t = OM_TRANSCRIPT_INIT;
    double t0 = now_s(), c0 = cpu_s();
    int rc = om_asr_sphinx(&t, pcm, n, o);
    out->wall = now_s() - t0;
    out->cpu = cpu_s() - c0;
    out->audio = (double)n / 16000.0;
    if (rc < 0) {
        fprintf(stderr, "decode %s: %s\n", label, om_error_msg());
        return rc;
    }
    add_wer(out, ref, &t, verbose, label);
    if (keep)
        *keep = t;
    else
        om_transcript_release(&t);
    return 0;
}

/* ---- sweep ------------------------------------------------------------------------------------
 */

typedef struct item {
    const int16_t *pcm;
    size_t n;
    const char *ref;
    size_t errors, words;
    int rc;
} item;

typedef struct pool {
    item *items;
    size_t nitems, next;
    const om_asr_sphinx_opts *o;
    pthread_mutex_t mu;
} pool;

static void *pool_worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->nitems)
            return NULL;
        item *it = &p->items[i];
        om_asr_sphinx_opts o = *p->o;
        o.jobs = 1;
        om_transcript t = OM_TRANSCRIPT_INIT;
        it->rc = om_asr_sphinx(&t, it->pcm, it->n, &o);
        if (it->rc < 0) {
            fprintf(stderr, "decode: %s\n", om_error_msg());
            continue;
        }
        char *hyp = om_transcript_join(&t);
        om_wer w;
        om_wer_compute(it->ref, hyp, &w);
        it->errors = w.sub + w.del + w.ins;
        it->words = w.ref_words;
        free(hyp);
        om_transcript_release(&t);
    }
}

/* Decodes all items, two at a time. */
static int eval_items(item *items, size_t n, const om_asr_sphinx_opts *o)
{
    pool p = {items, n, 0, o, PTHREAD_MUTEX_INITIALIZER};
    pthread_t th;
    int started = pthread_create(&th, NULL, pool_worker, &p) == 0;
    pool_worker(&p);
    if (started)
        pthread_join(th, NULL);
    for (size_t i = 0; i < n; i++)
        if (items[i].rc < 0)
            return -1;
    return 0;
}

/* Held-out check: the "cards" recordings of pocketsphinx-testdata (other speakers, other
 * words), never used to choose anything. */
static size_t load_cards(item **out)
{
    static const char *refs[] = {"ten of clubs", "four queen of clubs", "seven of clubs",
                                 "five five", "eight of spades four of clubs seven of hearts"};
    item *items = xcalloc(OM_ARRAY_LEN(refs), sizeof(item));
    size_t n = 0;
    for (size_t i = 0; i < OM_ARRAY_LEN(refs); i++) {
        char *path = xasprintf("/usr/share/pocketsphinx/test/data/cards/%03zu.wav", i + 1);
        size_t ns;
        int16_t *pcm = util_read_wav16k(path, &ns);
        free(path);
        if (pcm)
            items[n++] = (item){pcm, ns, refs[i], 0, 0, 0};
    }
    *out = items;
    return n;
}

static int sweep(clip *clips, size_t nclips, const int16_t *esp, size_t nesp, int argc, char **argv)
{
    /* Candidate configurations, each a set of overrides on pocketsphinx's defaults. With
     * -bestpath yes (the default) the final hypothesis comes from the lattice search weighted by
     * -bestpathlw; -lw and -fwdflatlw weigh the two earlier passes, which prune. */
    static const char *const cands[][16] = {
        {NULL},
        {"-lw", "5.0", NULL},
        {"-bestpathlw", "7.0", NULL},
        {"-bestpathlw", "8.0", NULL},
        {"-bestpathlw", "11.0", NULL},
        {"-bestpathlw", "13.0", NULL},
        {"-fwdflatlw", "7.0", NULL},
        {"-fwdflatlw", "10.0", NULL},
        {"-wip", "0.3", NULL},
        {"-wip", "1.5", NULL},
        {"-pip", "0.5", NULL},
        {"-silprob", "0.1", NULL},
        {"-topn", "8", NULL},
        {"-pl_window", "0", NULL},
        {"-beam", "1e-60", "-pbeam", "1e-60", "-wbeam", "1e-40", NULL},
        {"-beam", "1e-40", "-pbeam", "1e-40", "-wbeam", "1e-24", NULL},
        {"-maxhmmpf", "10000", NULL},
        {"-fwdflat", "no", NULL},
    };
    size_t nitems = nclips + 1;
    item *items = xcalloc(nitems, sizeof(*items));
    for (size_t i = 0; i < nclips; i++)
        items[i] = (item){clips[i].pcm, clips[i].n, clips[i].ref, 0, 0, 0};
    items[nclips] = (item){esp, nesp, k_espeak_text, 0, 0, 0};
    item *cards;
    size_t ncards = load_cards(&cards);

    /* Candidates given on the command line ("-topn 8 -pl_window 0" per argument) replace
     * the built-in list. */
    size_t ncands = argc > 0 ? (size_t)argc : OM_ARRAY_LEN(cands);
    for (size_t c = 0; c < ncands; c++) {
        const char *ov[16] = {NULL};
        char *copy = NULL;
        if (argc > 0) {
            copy = xstrdup(argv[c]);
            size_t k = 0;
            char *save = NULL;
            for (char *p = strtok_r(copy, " ", &save); p && k < 15; p = strtok_r(NULL, " ", &save))
                ov[k++] = p;
        } else {
            for (size_t k = 0; cands[c][k]; k++)
                ov[k] = cands[c][k];
        }
        /* BENCH_ASR_BASE=ours applies the candidates on top of our configuration. */
        const char *base = getenv("BENCH_ASR_BASE");
        om_asr_sphinx_opts o = {.debian_defaults = !(base && strcmp(base, "ours") == 0),
                                .overrides = ov};
        double c0 = cpu_s();
        if (eval_items(items, nitems, &o) < 0 || eval_items(cards, ncards, &o) < 0)
            return 1;
        double cpu = cpu_s() - c0;
        size_t le = 0, lw = 0, ce = 0, cw = 0;
        for (size_t i = 0; i < nclips; i++) {
            le += items[i].errors;
            lw += items[i].words;
        }
        for (size_t i = 0; i < ncards; i++) {
            ce += cards[i].errors;
            cw += cards[i].words;
        }
        om_sbuf name = OM_SBUF_INIT;
        sb_puts(&name, "");
        for (size_t k = 0; ov[k]; k++)
            sb_printf(&name, "%s%s", k ? " " : "", ov[k]);
        printf("  %-40s librivox %5.1f%% (%2zu)  espeak %5.1f%% (%2zu)  sum %3zu | held-out "
               "cards %5.1f%% | cpu %.0f s\n",
               name.len ? sb_str(&name) : "(defaults)", 100.0 * (double)le / (double)lw, le,
               100.0 * (double)items[nclips].errors / (double)items[nclips].words,
               items[nclips].errors, le + items[nclips].errors,
               cw ? 100.0 * (double)ce / (double)cw : 0, cpu);
        fflush(stdout);
        sb_release(&name);
        free(copy);
    }
    for (size_t i = 0; i < ncards; i++)
        free((void *)cards[i].pcm);
    free(cards);
    free(items);
    return 0;
}

/* The adaptation weight: LibriVox with the brief, with leave-one-out domain text, and a
 * vocabulary-heavy espeak-ng sentence with its channel brief (the one tests/asr uses). */
static const char *k_bread_sentence =
    "After the autolyse, fold the levain into the sourdough and rest it in the banneton.";
static const char *k_bread_brief =
    "Weekly videos about baking sourdough bread at home. We cover feeding the levain, the "
    "autolyse, bulk fermentation, shaping the dough and proofing it in a banneton, scoring, "
    "oven spring and an open crumb.";
static const char *const k_bread_keywords[] = {"sourdough", "levain", "autolyse", "banneton",
                                               "bulk fermentation"};

static int adapt_sweep(clip *clips, size_t nclips, const char *const *ov)
{
    size_t nb;
    int16_t *bread = util_espeak(k_bread_sentence, "en-us", 130, &nb);
    if (!bread)
        return 1;
    const double weights[] = {0.05, 0.1, 0.15, 0.2, 0.3, 0.5};
    for (size_t i = 0; i < OM_ARRAY_LEN(weights); i++) {
        om_asr_sphinx_opts brief = {.adapt_text = k_austen_brief,
                                    .keywords = k_austen_keywords,
                                    .nkeywords = OM_ARRAY_LEN(k_austen_keywords),
                                    .adapt_weight = weights[i],
                                    .overrides = ov};
        om_asr_sphinx_opts loo = {.adapt_weight = weights[i], .overrides = ov};
        om_asr_sphinx_opts bo = {.adapt_text = k_bread_brief,
                                 .keywords = k_bread_keywords,
                                 .nkeywords = OM_ARRAY_LEN(k_bread_keywords),
                                 .adapt_weight = weights[i],
                                 .overrides = ov};
        score sb, sl, sbr;
        if (run_librivox(clips, nclips, &brief, 0, 0, &sb) < 0 ||
            run_librivox(clips, nclips, &loo, 2, 0, &sl) < 0 ||
            run_one(bread, nb, k_bread_sentence, &bo, 0, "bread", &sbr, NULL) < 0)
            return 1;
        printf("  weight %.2f: librivox+brief %5.1f%%  librivox+loo %5.1f%%  bread %5.1f%%\n",
               weights[i], pct(&sb), pct(&sl), pct(&sbr));
        fflush(stdout);
    }
    free(bread);
    return 0;
}

/* `--sweep-media MEDIA SRT [--brand BRAND.json] ["-opt val ..." ...]`: each candidate (on top
 * of our configuration; "" is ours) transcribes MEDIA's audio as the pipeline does (all cores,
 * voice activity, and with --brand the project model from its "brief" and "keywords"), scored
 * against the words of SRT (e.g. bench/e2e's generated talk and its subtitles): a speed and
 * accuracy check on minutes of speech rather than seconds. */
static int sweep_media(const char *media, const char *srt, int argc, char **argv)
{
    json_t *brand = NULL;
    const char *kw[64];
    size_t nkw = 0;
    if (argc > 1 && strcmp(argv[0], "--brand") == 0) {
        json_error_t je;
        if (!(brand = json_load_file(argv[1], 0, &je))) {
            fprintf(stderr, "%s: %s\n", argv[1], je.text);
            return 1;
        }
        json_t *a = json_object_get(brand, "keywords");
        for (size_t i = 0; i < json_array_size(a) && nkw < 64; i++)
            if (json_is_string(json_array_get(a, i)))
                kw[nkw++] = json_string_value(json_array_get(a, i));
        argc -= 2;
        argv += 2;
    }
    om_pcm pcm;
    om_transcript ref = OM_TRANSCRIPT_INIT;
    if (om_audio_decode_16k(media, 0, 0, &pcm) < 0 || om_subtitles_parse_file(&ref, srt) < 0) {
        fprintf(stderr, "%s\n", om_error_msg());
        return 1;
    }
    char *reftext = om_transcript_join(&ref);
    om_config *cfg = om_config_new(NULL); /* the pipeline's [asr] defaults */
    double audio = (double)pcm.n / pcm.rate;
    printf("  %.1f s of audio, %zu reference words\n", audio, ref.n);
    for (int c = 0; c < argc; c++) {
        const char *ov[32] = {NULL};
        char *copy = xstrdup(argv[c]), *save = NULL;
        size_t k = 0;
        for (char *p = strtok_r(copy, " ", &save); p && k < 31; p = strtok_r(NULL, " ", &save))
            ov[k++] = p;
        om_asr_sphinx_opts o = {
            .overrides = ov,
            .jobs = (int)om_config_long(cfg, "asr.jobs"),
            .max_chunk_s = om_config_double(cfg, "asr.max_chunk_s"),
            .vad_min_gap_s = om_config_double(cfg, "asr.vad_min_gap_s"),
            .vad_music_min_s = om_config_double(cfg, "asr.vad_music_min_s"),
        };
        if (brand) {
            o.adapt_text = json_string_value(json_object_get(brand, "brief"));
            o.keywords = kw;
            o.nkeywords = nkw;
            o.adapt_weight = om_config_double(cfg, "asr.adapt_weight");
        }
        om_transcript t = OM_TRANSCRIPT_INIT;
        double w0 = now_s(), c0 = cpu_s();
        if (om_asr_sphinx(&t, pcm.samples, pcm.n, &o) < 0) {
            fprintf(stderr, "%s: %s\n", argv[c], om_error_msg());
            return 1;
        }
        double wall = now_s() - w0, cpu = cpu_s() - c0;
        char *hyp = om_transcript_join(&t);
        om_wer w;
        om_wer_compute(reftext, hyp, &w);
        printf("  %-44s WER %5.1f%% (%zu of %zu)  wall %6.1f s (%.2fx realtime)  cpu %6.1f s\n",
               *argv[c] ? argv[c] : "(ours)", 100.0 * w.wer, w.sub + w.del + w.ins, w.ref_words,
               wall, audio / wall, cpu);
        fflush(stdout);
        free(hyp);
        free(copy);
        om_transcript_release(&t);
    }
    om_config_free(cfg);
    free(reftext);
    om_transcript_release(&ref);
    om_pcm_release(&pcm);
    json_decref(brand);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3 && strcmp(argv[1], "--sweep-media") == 0)
        return sweep_media(argv[2], argv[3], argc - 4, argv + 4);
    int do_sweep = argc > 1 && strcmp(argv[1], "--sweep") == 0;
    int do_adapt = argc > 1 && strcmp(argv[1], "--adapt-sweep") == 0;
    char **ids, **refs;
    size_t nclips = util_librivox(&ids, &refs);
    if (!nclips) {
        fprintf(stderr, "no LibriVox clips in %s (install pocketsphinx-testdata)\n",
                UTIL_LIBRIVOX_DIR);
        return 1;
    }
    clip *clips = xcalloc(nclips, sizeof(*clips));
    for (size_t i = 0; i < nclips; i++) {
        clips[i].id = ids[i];
        clips[i].ref = refs[i];
        char *path = xasprintf("%s/%s.wav", UTIL_LIBRIVOX_DIR, ids[i]);
        clips[i].pcm = util_read_wav16k(path, &clips[i].n);
        if (!clips[i].pcm) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        free(path);
    }
    size_t nesp = 0;
    int16_t *esp = util_espeak(k_espeak_text, "en-us", 160, &nesp);
    if (!esp) {
        fprintf(stderr, "espeak-ng/sox failed\n");
        return 1;
    }
    if (do_sweep)
        return sweep(clips, nclips, esp, nesp, argc - 2, argv + 2);
    if (do_adapt)
        return adapt_sweep(clips, nclips, (const char *const *)(argv + 2));

    printf("== WER on pocketsphinx-testdata LibriVox clips (%zu clips)\n", nclips);
    om_asr_sphinx_opts deb = {.debian_defaults = 1};
    om_asr_sphinx_opts ours = {0};
    om_asr_sphinx_opts brief = {.adapt_text = k_austen_brief,
                                .keywords = k_austen_keywords,
                                .nkeywords = OM_ARRAY_LEN(k_austen_keywords)};
    om_asr_sphinx_opts loo = {0};
    score s_deb, s_ours, s_brief, s_loo;
    printf("  pocketsphinx, Debian defaults:\n");
    if (run_librivox(clips, nclips, &deb, 0, 1, &s_deb) < 0)
        return 1;
    printf("  ours (tuned decoder, no adaptation):\n");
    if (run_librivox(clips, nclips, &ours, 0, 1, &s_ours) < 0)
        return 1;
    printf("  ours + project brief/keywords (written without the test transcripts):\n");
    if (run_librivox(clips, nclips, &brief, 0, 1, &s_brief) < 0)
        return 1;
    printf("  ours + other clips' references as domain text (leave-one-out):\n");
    if (run_librivox(clips, nclips, &loo, 2, 1, &s_loo) < 0)
        return 1;
    printf("  WER defaults %.1f%% | tuned %.1f%% (ratio %.2f) | tuned+brief %.1f%% (ratio %.2f) "
           "| tuned+leave-one-out %.1f%% (ratio %.2f)\n",
           pct(&s_deb), pct(&s_ours), pct(&s_ours) / pct(&s_deb), pct(&s_brief),
           pct(&s_brief) / pct(&s_deb), pct(&s_loo), pct(&s_loo) / pct(&s_deb));

    printf("\n== WER on espeak-ng speech (en-us, 160 wpm, %.1f s)\n", (double)nesp / 16000);
    score e_deb, e_ours;
    if (run_one(esp, nesp, k_espeak_text, &deb, 1, "defaults", &e_deb, NULL) < 0 ||
        run_one(esp, nesp, k_espeak_text, &ours, 1, "tuned", &e_ours, NULL) < 0)
        return 1;
    printf("  WER defaults %.1f%% | tuned %.1f%% (ratio %.2f)\n", pct(&e_deb), pct(&e_ours),
           pct(&e_ours) / pct(&e_deb));

    size_t nrtf = 0;
    int16_t *rtf = util_espeak(k_rtf_text, "en-us", 150, &nrtf);
    if (!rtf)
        return 1;
    printf("\n== Speed on %.1f s of espeak-ng speech (realtime factor = audio s / wall s)\n",
           (double)nrtf / 16000);
    om_asr_sphinx_opts deb1 = {.debian_defaults = 1, .jobs = 1};
    om_asr_sphinx_opts ours1 = {.jobs = 1};
    om_asr_sphinx_opts oursN = {0};
    score r_deb, r_1, r_n;
    om_transcript tn = OM_TRANSCRIPT_INIT;
    if (run_one(rtf, nrtf, k_rtf_text, &deb1, 0, "defaults", &r_deb, NULL) < 0 ||
        run_one(rtf, nrtf, k_rtf_text, &ours1, 0, "tuned-1", &r_1, NULL) < 0 ||
        run_one(rtf, nrtf, k_rtf_text, &oursN, 0, "tuned-N", &r_n, &tn) < 0)
        return 1;
    json_t *eng = json_object_get(tn.engine, "params");
    printf("  defaults, 1 thread: %5.1f s wall, %5.1f s cpu, %4.2fx realtime (wall), WER %.1f%%\n",
           r_deb.wall, r_deb.cpu, r_deb.audio / r_deb.wall, pct(&r_deb));
    printf("  ours, 1 thread:     %5.1f s wall, %5.1f s cpu, %4.2fx realtime (wall), WER %.1f%%\n",
           r_1.wall, r_1.cpu, r_1.audio / r_1.wall, pct(&r_1));
    printf("  ours, %lld threads:    %5.1f s wall, %5.1f s cpu, %4.2fx realtime (wall), WER %.1f%% "
           "(%lld chunks)\n",
           (long long)json_integer_value(json_object_get(eng, "jobs")), r_n.wall, r_n.cpu,
           r_n.audio / r_n.wall, pct(&r_n),
           (long long)json_integer_value(json_object_get(eng, "chunks")));
    printf("  wall-time ratios: ours-parallel vs defaults-1-thread %.2fx faster; parallel vs "
           "ours-1-thread %.2fx faster (machine load %s)\n",
           r_deb.wall / r_n.wall, r_1.wall / r_n.wall, load_avg());
    char *params = json_dumps(eng, JSON_COMPACT | JSON_SORT_KEYS);
    printf("  engine.params: %s\n", params);
    free(params);
    om_transcript_release(&tn);

    for (size_t i = 0; i < nclips; i++)
        free(clips[i].pcm);
    free(clips);
    util_strv_free(ids);
    util_strv_free(refs);
    free(esp);
    free(rtf);
    return 0;
}
