/*
 * test_asr_text.c: the parts of src/asr that need no audio: WER, transcript JSON and sentence
 * segmentation, the Kneser-Ney ARPA builder (checked for proper normalisation), the
 * letter-to-sound fallback, the whisper.cpp JSON parser, and the external engine run through
 * a small script that stands in for whisper.cpp (it prints canned whisper.cpp JSON; the
 * parser and the process handling are the real ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/asr.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/proc.h"

/* ---- WER -------------------------------------------------------------------------------- */

static void test_wer_normalise(void **state)
{
    (void)state;
    char **w;
    size_t n = om_wer_words("<s> Hello, WORLD! Don't [noise] the(2) cold-hearted 3.5 "
                            "\xE2\x80\x9Cquoted\xE2\x80\x9D it\xE2\x80\x99s 'tis </s>",
                            &w);
    const char *want[] = {"hello",   "world", "don't",  "the",  "cold",
                          "hearted", "3.5",   "quoted", "it's", "tis"};
    assert_int_equal(n, OM_ARRAY_LEN(want));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(w[i], want[i]);
    assert_null(w[n]);
    om_wer_words_free(w);
    n = om_wer_words("", &w);
    assert_int_equal(n, 0);
    om_wer_words_free(w);
}

static void test_wer_counts(void **state)
{
    (void)state;
    om_wer r;
    om_wer_compute("a b c d", "a x c d e", &r);
    assert_int_equal(r.ref_words, 4);
    assert_int_equal(r.hyp_words, 5);
    assert_int_equal(r.sub, 1);
    assert_int_equal(r.ins, 1);
    assert_int_equal(r.del, 0);
    assert_true(fabs(r.wer - 0.5) < 1e-9);

    om_wer_compute("the cat sat on the mat", "The cat, sat on mat.", &r);
    assert_int_equal(r.del, 1);
    assert_int_equal(r.sub + r.ins, 0);

    om_wer_compute("one two three", "", &r);
    assert_int_equal(r.del, 3);
    assert_true(fabs(r.wer - 1.0) < 1e-9);
    om_wer_compute("", "", &r);
    assert_true(r.wer == 0.0);
    om_wer_compute("", "noise", &r);
    assert_true(r.wer == 1.0);
    /* A classic: 2 substitutions + 1 deletion over 6 reference words. */
    om_wer_compute("he was not an ill disposed", "he was not until this", &r);
    assert_int_equal(r.sub + r.del + r.ins, 3);
    assert_true(fabs(r.wer - 0.5) < 1e-9);
}

/* ---- transcript ---------------------------------------------------------------------------- */

static void test_segment_pauses_and_silences(void **state)
{
    (void)state;
    om_transcript t = OM_TRANSCRIPT_INIT;
    om_transcript_add(&t, "so", 0.0, 0.2, 0.9);
    om_transcript_add(&t, "today", 0.25, 0.6, 0.8);
    om_transcript_add(&t, "we", 1.3, 1.4, 0.7);      /* 0.7 s pause before */
    om_transcript_add(&t, "cook", 1.45, 1.8, 1.5);   /* conf clamped to 1 */
    om_transcript_add(&t, "pasta", 1.85, 2.3, -0.2); /* clamped to 0 */
    om_transcript_add(&t, "   ", 2.3, 2.4, 0.5);     /* ignored */
    assert_int_equal(t.n, 5);
    assert_true(t.words[3].conf == 1.0 && t.words[4].conf == 0.0);

    om_transcript_segment(&t, NULL);
    assert_int_equal(t.nsent, 2);
    assert_string_equal(t.sentences[0].text, "so today");
    assert_string_equal(t.sentences[1].text, "we cook pasta");
    assert_int_equal(t.sentences[1].first, 2);
    assert_int_equal(t.sentences[1].count, 3);

    /* A caller's silence between "cook" and "pasta" (despite the 50 ms gap) splits too. */
    double sil[] = {1.7, 2.05};
    om_segment_opts o = {.silences = sil, .nsilences = 1};
    om_transcript_segment(&t, &o);
    assert_int_equal(t.nsent, 3);
    assert_string_equal(t.sentences[2].text, "pasta");
    /* Too short a silence (< 0.3 s) does not. */
    double short_sil[] = {1.75, 1.9};
    o.silences = short_sil;
    om_transcript_segment(&t, &o);
    assert_int_equal(t.nsent, 2);

    /* max_s splits a long run at its widest gap. */
    o = (om_segment_opts){.max_s = 0.8};
    om_transcript_segment(&t, &o);
    assert_int_equal(t.nsent, 3);
    assert_string_equal(t.sentences[1].text, "we cook");
    om_transcript_release(&t);
    assert_int_equal(t.n, 0);
}

static void test_segment_punctuation(void **state)
{
    (void)state;
    om_transcript t = OM_TRANSCRIPT_INIT;
    const char *words[] = {"Mr.",   "Dashwood", "arrived.", "Was", "he",
                           "late?", "\"No!\"",  "said",     "J.",  "Smith"};
    for (size_t i = 0; i < OM_ARRAY_LEN(words); i++)
        om_transcript_add(&t, words[i], (double)i * 0.3, (double)i * 0.3 + 0.25, 1.0);
    om_transcript_segment(&t, NULL);
    assert_int_equal(t.nsent, 4);
    assert_string_equal(t.sentences[0].text, "Mr. Dashwood arrived.");
    assert_string_equal(t.sentences[1].text, "Was he late?");
    assert_string_equal(t.sentences[2].text, "\"No!\"");
    assert_string_equal(t.sentences[3].text, "said J. Smith");

    char *text = om_transcript_text(&t, 0.85, 1.8);
    assert_string_equal(text, "Was he late?");
    free(text);
    om_transcript_release(&t);
}

static void test_json_roundtrip(void **state)
{
    (void)state;
    om_transcript t = OM_TRANSCRIPT_INIT;
    om_transcript_add(&t, "hello", 1.2345, 1.5, 0.91234);
    om_transcript_add(&t, "world.", 1.6, 2.0, 0.5);
    om_transcript_set_engine(&t, "pocketsphinx", "/m", json_pack("{s:f}", "lw", 9.0));
    om_transcript_segment(&t, NULL);
    json_t *j = om_transcript_to_json(&t);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "engine"), "name")),
                        "pocketsphinx");
    json_t *w0 = json_array_get(json_object_get(j, "words"), 0);
    assert_true(fabs(json_real_value(json_object_get(w0, "start")) - 1.235) < 1e-9 ||
                fabs(json_real_value(json_object_get(w0, "start")) - 1.234) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(w0, "conf")) - 0.912) < 1e-9);
    json_t *s0 = json_array_get(json_object_get(j, "sentences"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "text")), "hello world.");

    om_transcript back = OM_TRANSCRIPT_INIT;
    assert_int_equal(om_transcript_from_json(&back, j), OM_OK);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.words[1].w, "world.");
    assert_int_equal(back.nsent, 1);
    assert_int_equal(back.sentences[0].count, 2);
    assert_true(json_equal(back.engine, t.engine));
    om_transcript_release(&back);

    json_t *bad = json_pack("{s:[{s:s}]}", "words", "w", "x");
    assert_int_equal(om_transcript_from_json(&back, bad), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "words[0]"));
    json_decref(bad);
    json_decref(j);
    om_transcript_release(&t);
}

/* ---- language model ------------------------------------------------------------------------ */

typedef struct arpa_entry {
    char *words[3];
    int n;
    double lp, bow;
} arpa_entry;

typedef struct arpa {
    arpa_entry *e;
    size_t n;
    size_t counts[4];
} arpa;

static void arpa_parse(const char *text, arpa *a)
{
    memset(a, 0, sizeof(*a));
    a->e = xcalloc(4096, sizeof(arpa_entry));
    int order = 0;
    char *copy = xstrdup(text), *save = NULL;
    for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        int k;
        size_t c;
        if (sscanf(ln, "ngram %d=%zu", &k, &c) == 2 && k >= 1 && k <= 3) {
            a->counts[k] = c;
            continue;
        }
        if (sscanf(ln, "\\%d-grams:", &k) == 1) {
            order = k;
            continue;
        }
        if (!order || ln[0] == '\\')
            continue;
        arpa_entry *e = &a->e[a->n++];
        assert_true(a->n < 4096);
        char *tok_save = NULL;
        char *t = strtok_r(ln, " ", &tok_save);
        e->lp = atof(t);
        e->n = order;
        for (int i = 0; i < order; i++)
            e->words[i] = xstrdup(strtok_r(NULL, " ", &tok_save));
        t = strtok_r(NULL, " ", &tok_save);
        e->bow = t ? atof(t) : 0.0;
    }
    free(copy);
}

static arpa_entry *arpa_find(arpa *a, int n, const char *w0, const char *w1, const char *w2)
{
    const char *w[3] = {w0, w1, w2};
    for (size_t i = 0; i < a->n; i++) {
        if (a->e[i].n != n)
            continue;
        int ok = 1;
        for (int k = 0; k < n && ok; k++)
            ok = strcmp(a->e[i].words[k], w[k]) == 0;
        if (ok)
            return &a->e[i];
    }
    return NULL;
}

/* p(w | h) with ARPA backoff, as a decoder computes it. */
static double arpa_prob(arpa *a, const char *h1, const char *h2, const char *w)
{
    if (h1) {
        arpa_entry *e = arpa_find(a, 3, h1, h2, w);
        if (e)
            return pow(10, e->lp);
        arpa_entry *h = arpa_find(a, 2, h1, h2, NULL);
        return (h ? pow(10, h->bow) : 1.0) * arpa_prob(a, NULL, h2, w);
    }
    if (h2) {
        arpa_entry *e = arpa_find(a, 2, h2, w, NULL);
        if (e)
            return pow(10, e->lp);
        arpa_entry *h = arpa_find(a, 1, h2, NULL, NULL);
        return (h ? pow(10, h->bow) : 1.0) * arpa_prob(a, NULL, NULL, w);
    }
    arpa_entry *e = arpa_find(a, 1, w, NULL, NULL);
    return e ? pow(10, e->lp) : 0.0;
}

static void test_lm_arpa_normalised(void **state)
{
    (void)state;
    const char *text = "We bake sourdough bread at home. We feed the levain every morning!\n"
                       "The levain makes the bread rise; bake it hot. Call 555 now";
    const char *kw[] = {"bulk fermentation", "levain"};
    char *arpa_text = NULL;
    assert_int_equal(om_lm_build_arpa(text, kw, 2, &arpa_text), OM_OK);
    arpa a;
    arpa_parse(arpa_text, &a);
    size_t per_order[4] = {0};
    for (size_t i = 0; i < a.n; i++)
        per_order[a.e[i].n]++;
    for (int k = 1; k <= 3; k++)
        assert_int_equal(per_order[k], a.counts[k]);
    assert_non_null(arpa_find(&a, 2, "bulk", "fermentation", NULL));
    assert_null(arpa_find(&a, 1, "555", NULL, NULL)); /* tokens with digits are dropped */
    assert_non_null(arpa_find(&a, 3, "<s>", "we", "bake"));

    /* Every history's distribution sums to 1 over the vocabulary (without <s>, with <UNK>): the
     * interpolated Kneser-Ney probabilities and backoff weights are consistent. */
    const char *hist[][2] = {{NULL, NULL},      {NULL, "the"},  {NULL, "levain"}, {"<s>", "we"},
                             {"the", "levain"}, {"we", "feed"}, {NULL, "home"},   {"bake", "it"}};
    for (size_t h = 0; h < OM_ARRAY_LEN(hist); h++) {
        double sum = 0;
        for (size_t i = 0; i < a.n; i++) {
            if (a.e[i].n != 1 || strcmp(a.e[i].words[0], "<s>") == 0)
                continue;
            /* <UNK> stands for each of the OM_LM_UNSEEN_WORDS words the text lacks. */
            double k = strcmp(a.e[i].words[0], "<UNK>") == 0 ? OM_LM_UNSEEN_WORDS : 1;
            sum += k * arpa_prob(&a, hist[h][0], hist[h][1], a.e[i].words[0]);
        }
        if (fabs(sum - 1.0) > 2e-3)
            fprintf(stderr, "history %s %s sums to %f\n", hist[h][0], hist[h][1], sum);
        assert_true(fabs(sum - 1.0) < 2e-3);
    }
    /* Seen continuations beat unseen ones, and a word the text never uses is unlikely. */
    assert_true(arpa_prob(&a, "the", "levain", "makes") > arpa_prob(&a, "the", "levain", "home"));
    assert_true(arpa_prob(&a, "the", "levain", "<UNK>") < 1e-4);
    for (size_t i = 0; i < a.n; i++)
        for (int k = 0; k < a.e[i].n; k++)
            free(a.e[i].words[k]);
    free(a.e);
    free(arpa_text);

    assert_int_equal(om_lm_build_arpa("123 456. !!!", NULL, 0, &arpa_text), OM_EINVAL);

    char **v;
    size_t nv = om_lm_vocab("Levain, levain and BREAD", kw, 1, &v);
    assert_int_equal(nv, 5);
    assert_string_equal(v[0], "levain");
    assert_string_equal(v[3], "bulk");
    om_wer_words_free(v);
}

static void test_g2p(void **state)
{
    (void)state;
    if (!om_proc_which("espeak-ng"))
        skip();
    char *ph = NULL;
    /* The dictionary says: dashwood D AE SH W UH D. */
    assert_int_equal(om_lm_g2p("dashwood", &ph), OM_OK);
    assert_string_equal(ph, "D AE SH W UH D");
    free(ph);
    const char *cmu[] = {"AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH",
                         "EH", "ER", "EY", "F",  "G",  "HH", "IH", "IY", "JH", "K",
                         "L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",  "S",  "SH",
                         "T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",  "ZH"};
    const char *words[] = {"omniva", "tiktok", "autolyse", "banneton", "judge", "measure"};
    for (size_t i = 0; i < OM_ARRAY_LEN(words); i++) {
        assert_int_equal(om_lm_g2p(words[i], &ph), OM_OK);
        char *save = NULL, *copy = xstrdup(ph);
        size_t n = 0;
        for (char *p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
            int ok = 0;
            for (size_t k = 0; k < OM_ARRAY_LEN(cmu); k++)
                ok |= strcmp(p, cmu[k]) == 0;
            if (!ok)
                fprintf(stderr, "%s -> %s: bad phone %s\n", words[i], ph, p);
            assert_true(ok);
            n++;
        }
        assert_true(n >= 3);
        free(copy);
        free(ph);
    }
    assert_int_equal(om_lm_g2p("", &ph), OM_EINVAL);
}

/* ---- whisper.cpp JSON and the external engine --------------------------------------------- */

/* Shaped like whisper.cpp -ojf output (abridged: real files carry more fields). */
static const char *k_whisper_full =
    "{\"systeminfo\": \"AVX = 1\", \"model\": {\"type\": \"base\"},"
    " \"params\": {\"model\": \"models/ggml-base.en.bin\", \"language\": \"en\"},"
    " \"result\": {\"language\": \"en\"},"
    " \"transcription\": ["
    "  {\"timestamps\": {\"from\": \"00:00:00,000\", \"to\": \"00:00:02,000\"},"
    "   \"offsets\": {\"from\": 0, \"to\": 2000}, \"text\": \" Hello Americans.\","
    "   \"tokens\": ["
    "    {\"text\": \"[_BEG_]\", \"offsets\": {\"from\": 0, \"to\": 0}, \"id\": 50363, \"p\": "
    "0.98},"
    "    {\"text\": \" Hello\", \"offsets\": {\"from\": 0, \"to\": 400}, \"id\": 1, \"p\": 0.9},"
    "    {\"text\": \" Amer\", \"offsets\": {\"from\": 500, \"to\": 900}, \"id\": 2, \"p\": 0.81},"
    "    {\"text\": \"icans\", \"offsets\": {\"from\": 900, \"to\": 1400}, \"id\": 3, \"p\": 1.0},"
    "    {\"text\": \".\", \"offsets\": {\"from\": 1400, \"to\": 1450}, \"id\": 4, \"p\": 0.2},"
    "    {\"text\": \"[_TT_70]\", \"offsets\": {\"from\": 2000, \"to\": 2000}, \"id\": 50433, "
    "\"p\": 0.5}"
    "   ]},"
    "  {\"offsets\": {\"from\": 2000, \"to\": 3000}, \"text\": \" Go on\","
    "   \"tokens\": ["
    "    {\"text\": \" Go\", \"offsets\": {\"from\": 2100, \"to\": 2400}, \"p\": 0.5},"
    "    {\"text\": \" on\", \"offsets\": {\"from\": 2400, \"to\": 2900}, \"p\": 0.7}"
    "   ]}"
    " ]}";

static void test_whisper_json(void **state)
{
    (void)state;
    om_transcript t = OM_TRANSCRIPT_INIT;
    assert_int_equal(om_asr_parse_whisper_json(&t, k_whisper_full, strlen(k_whisper_full)), OM_OK);
    assert_int_equal(t.n, 4);
    assert_string_equal(t.words[0].w, "Hello");
    assert_string_equal(t.words[1].w, "Americans.");
    assert_true(fabs(t.words[1].start - 0.5) < 1e-9 && fabs(t.words[1].end - 1.45) < 1e-9);
    assert_true(fabs(t.words[1].conf - 0.9) < 1e-6); /* geometric mean of 0.81 and 1.0 */
    assert_true(fabs(t.words[0].conf - 0.9) < 1e-6);
    assert_string_equal(t.words[3].w, "on");
    assert_int_equal(t.nsent, 2); /* "Hello Americans." | "Go on" */
    assert_string_equal(json_string_value(json_object_get(t.engine, "model")),
                        "models/ggml-base.en.bin");
    om_transcript_release(&t);

    const char *plain = "{\"transcription\": [{\"offsets\": {\"from\": 1000, \"to\": 2000},"
                        " \"text\": \" ab abc\"}]}";
    assert_int_equal(om_asr_parse_whisper_json(&t, plain, strlen(plain)), OM_OK);
    assert_int_equal(t.n, 2);
    assert_true(fabs(t.words[0].end - 1.4) < 1e-9 && fabs(t.words[1].end - 2.0) < 1e-9);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t.engine, "params"), "word_times")),
        "segments");
    om_transcript_release(&t);

    const char *ours = "{\"words\": [{\"w\": \"x\", \"start\": 0.5, \"end\": 0.7, \"conf\": 0.4}]}";
    assert_int_equal(om_asr_parse_whisper_json(&t, ours, strlen(ours)), OM_OK);
    assert_int_equal(t.n, 1);
    assert_true(fabs(t.words[0].conf - 0.4) < 1e-9);
    om_transcript_release(&t);

    const char *noff = "{\"transcription\": [{}]}";
    assert_int_equal(om_asr_parse_whisper_json(&t, noff, strlen(noff)), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "transcription[0]"));
    assert_int_equal(om_asr_parse_whisper_json(&t, "not json", 8), OM_EINVAL);
    assert_int_equal(om_asr_parse_whisper_json(&t, "{}", 2), OM_EINVAL);
    assert_int_equal(t.n, 0);
}

static char *write_script(const char *dir, const char *name, const char *body)
{
    char *path = xasprintf("%s/%s", dir, name);
    assert_int_equal(om_write_file_atomic(path, body, strlen(body)), OM_OK);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static void test_external_engine(void **state)
{
    (void)state;
    char dir[] = "/tmp/omniva-asr-ext-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *json_path = xasprintf("%s/canned.json", dir);
    assert_int_equal(om_write_file_atomic(json_path, k_whisper_full, strlen(k_whisper_full)),
                     OM_OK);
    /* Stands in for whisper-cli: checks it got a 16 kHz mono WAV of the right size, then
     * writes the canned JSON where -of told it to. */
    char *body = xasprintf("#!/bin/sh\n"
                           "[ \"$1\" = -f ] || exit 2\n"
                           "size=$(wc -c < \"$2\")\n"
                           "[ \"$size\" -eq 32044 ] || { echo \"bad size $size\" >&2; exit 3; }\n"
                           "head -c 4 \"$2\" | grep -q RIFF || exit 4\n"
                           "cp '%s' \"$4.json\"\n",
                           json_path);
    char *fake = write_script(dir, "fake-whisper", body);
    int16_t *pcm = xcalloc(16000, sizeof(int16_t)); /* 1 s */
    for (size_t i = 0; i < 16000; i++)
        pcm[i] = (int16_t)(1000 * sin((double)i * 0.1));

    char *cmd = xasprintf("'%s' -f {wav} -of {out} -ojf", fake);
    om_asr_external_opts o = {.command = cmd, .timeout_ms = 20000};
    om_transcript t = OM_TRANSCRIPT_INIT;
    assert_int_equal(om_asr_external(&t, pcm, 16000, &o), OM_OK);
    assert_int_equal(t.n, 4);
    assert_string_equal(json_string_value(json_object_get(t.engine, "name")), "external");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t.engine, "params"), "command")), cmd);
    om_transcript_release(&t);
    free(cmd);

    /* Without {wav}/{out}: WAV on stdin, JSON on stdout. */
    free(body);
    body = xasprintf("#!/bin/sh\nsize=$(wc -c)\n[ \"$size\" -eq 32044 ] || exit 3\ncat '%s'\n",
                     json_path);
    char *fake2 = write_script(dir, "fake-stdout", body);
    o.command = fake2;
    assert_int_equal(om_asr_external(&t, pcm, 16000, &o), OM_OK);
    assert_int_equal(t.n, 4);
    om_transcript_release(&t);

    /* A failing engine: its exit status and stderr reach the message. */
    free(body);
    body = xasprintf("#!/bin/sh\necho 'model file not found' >&2\nexit 7\n");
    char *fake3 = write_script(dir, "fake-fail", body);
    o.command = fake3;
    assert_int_equal(om_asr_external(&t, pcm, 16000, &o), OM_ERROR);
    assert_non_null(strstr(om_error_msg(), "exited with 7"));
    assert_non_null(strstr(om_error_msg(), "model file not found"));

    /* The same through the configuration. */
    om_config *cfg = om_config_new(dir);
    om_config_set(cfg, "asr", "engine", "external");
    assert_int_equal(om_asr_transcribe(&t, cfg, pcm, 16000, NULL), OM_EINVAL); /* no command */
    char *cmd2 = xasprintf("'%s' -f {wav} -of {out} -ojf", fake);
    om_config_set(cfg, "asr", "command", cmd2);
    assert_int_equal(om_asr_transcribe(&t, cfg, pcm, 16000, NULL), OM_OK);
    assert_int_equal(t.n, 4);
    om_transcript_release(&t);
    assert_int_equal(om_config_set(cfg, "asr", "engine", "kaldi"), OM_EINVAL); /* the table */
    assert_non_null(strstr(om_error_msg(), "asr.engine: 'kaldi' is not one of pocketsphinx"));
    om_config_free(cfg);
    free(cmd2);

    o.command = "/nonexistent/whisper-cli -f {wav}";
    assert_int_equal(om_asr_external(&t, pcm, 16000, &o), OM_EUNAVAIL);
    o.command = "whisper 'unclosed";
    assert_int_equal(om_asr_external(&t, pcm, 16000, &o), OM_EINVAL);
    o.command = "";
    assert_int_equal(om_asr_external(&t, pcm, 16000, &o), OM_EINVAL);
    assert_int_equal(t.n, 0);

    free(body);
    free(fake);
    free(fake2);
    free(fake3);
    free(json_path);
    free(pcm);
    om_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wer_normalise),
        cmocka_unit_test(test_wer_counts),
        cmocka_unit_test(test_segment_pauses_and_silences),
        cmocka_unit_test(test_segment_punctuation),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_lm_arpa_normalised),
        cmocka_unit_test(test_g2p),
        cmocka_unit_test(test_external_engine),
        cmocka_unit_test(test_whisper_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
