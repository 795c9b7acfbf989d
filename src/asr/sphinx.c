/*
 * sphinx.c: transcription with pocketsphinx (Debian's 0.8+5prealpha API and en-us model).
 *
 * The audio is cut at pauses into chunks (om_asr_chunk) that worker threads decode in
 * parallel, each with its own decoder (pocketsphinx decoders share nothing). Each chunk is one
 * utterance decoded with batch CMN; words come from the best path with their lattice posterior
 * as confidence. Optionally the general language model is interpolated with a small model
 * built from the project's brief and keywords (lm.c), and keywords missing from the
 * dictionary get pronunciations from the letter-to-sound fallback.
 *
 * pocketsphinx logs through a process-global callback; we install ours once (it keeps the
 * last error of the calling thread for messages) instead of -logfn, which reopens a global
 * FILE* and races between threads.
 */
#include "base/common.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/ngram_model.h>

#include "asr/asr.h"
#include "base/fsutil.h"
#include "base/proc.h"

#define FRAME_RATE 100 /* pocketsphinx frames per second (-frate default) */
#define SAMPLE_RATE 16000

/* ---- pocketsphinx logging ---------------------------------------------------------------- */

static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;
static _Thread_local char t_ps_err[512];

static void ps_log_cb(void *ud, err_lvl_t lvl, const char *fmt, ...)
{
    (void)ud;
    if (lvl < ERR_ERROR)
        return;
    size_t len = strlen(t_ps_err);
    if (len > 400) { /* keep the most recent message */
        t_ps_err[0] = '\0';
        len = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_ps_err + len, sizeof(t_ps_err) - len, fmt, ap);
    va_end(ap);
}

static void install_log_cb(void)
{
    err_set_callback(ps_log_cb, NULL);
    err_set_logfp(NULL); /* also silences the configuration dump of cmd_ln_parse_r */
}

static const char *ps_last_error(void)
{
    size_t len = strlen(t_ps_err);
    while (len && (t_ps_err[len - 1] == '\n' || t_ps_err[len - 1] == ' '))
        t_ps_err[--len] = '\0';
    return t_ps_err[0] ? t_ps_err : "no message from pocketsphinx";
}

/* ---- chunking ------------------------------------------------------------------------------ */

size_t om_asr_chunk(const int16_t *pcm, size_t n, double max_s, const double *silences,
                    size_t nsilences, size_t **bounds_out)
{
    if (max_s <= 0)
        max_s = 20.0;
    size_t maxlen = (size_t)(max_s * SAMPLE_RATE);
    if (maxlen < SAMPLE_RATE)
        maxlen = SAMPLE_RATE;
    size_t cap = 2 + (maxlen ? n / (maxlen / 2) : 0) + 2;
    size_t *b = xmalloc(cap * sizeof(*b));
    size_t nb = 0;
    b[nb++] = 0;
    if (n <= maxlen) {
        b[nb++] = n;
        *bounds_out = b;
        return 1;
    }

    /* Frame energies (10 ms) in dB. */
    size_t hop = SAMPLE_RATE / FRAME_RATE;
    size_t nf = n / hop;
    float *db = xmalloc((nf + 1) * sizeof(*db));
    float *sorted = xmalloc((nf + 1) * sizeof(*sorted));
    for (size_t f = 0; f < nf; f++) {
        double e = 0;
        for (size_t i = 0; i < hop; i++) {
            double x = pcm[f * hop + i];
            e += x * x;
        }
        db[f] = (float)(10.0 * log10(e / (double)hop + 1.0));
        sorted[f] = db[f];
    }
    /* Noise floor and speech level from quantiles of a strided sample (<= 4000 frames,
     * insertion-sorted: cheap next to decoding). */
    size_t ns = 0;
    size_t stride = nf > 4000 ? nf / 4000 : 1;
    for (size_t f = 0; f < nf; f += stride)
        sorted[ns++] = db[f];
    for (size_t i = 1; i < ns; i++) {
        float v = sorted[i];
        size_t j = i;
        while (j > 0 && sorted[j - 1] > v) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = v;
    }
    float floor_db = sorted[ns / 10], speech_db = sorted[(ns * 9) / 10];
    float thr = floor_db + fmaxf(6.0f, 0.3f * (speech_db - floor_db));
    free(sorted);

    /* quiet[f]: 1 when the frame is below the threshold or inside a caller silence. */
    unsigned char *quiet = xcalloc(nf + 1, 1);
    /* Without at least 10 dB between the quiet and the loud frames there are no pauses to
     * find (continuous music or noise): only the caller's silences count then. */
    if (speech_db - floor_db >= 10.0f)
        for (size_t f = 0; f < nf; f++)
            quiet[f] = db[f] < thr;
    for (size_t i = 0; i < nsilences; i++) {
        double s = silences[2 * i], e = silences[2 * i + 1];
        if (!(e > s) || s < 0)
            continue;
        size_t fs = (size_t)(s * FRAME_RATE), fe = (size_t)(e * FRAME_RATE);
        for (size_t f = fs; f < fe && f < nf; f++)
            quiet[f] = 1;
    }

    size_t maxf = maxlen / hop, minf = maxf / 4;
    size_t start = 0; /* frame */
    while (nf - start > maxf) {
        size_t lo = start + minf, hi = start + maxf;
        /* The longest quiet run whose middle lies in [lo, hi); ties go to the later one. */
        size_t best_mid = 0, best_len = 0;
        size_t f = lo;
        while (f < hi) {
            if (!quiet[f]) {
                f++;
                continue;
            }
            size_t rs = f;
            while (rs > start && quiet[rs - 1])
                rs--;
            size_t re = f;
            while (re < nf && quiet[re])
                re++;
            size_t mid = (rs + re) / 2;
            if (mid >= lo && mid < hi && re - rs >= best_len) {
                best_len = re - rs;
                best_mid = mid;
            }
            f = re > f ? re : f + 1;
        }
        size_t cut;
        if (best_len >= 10) { /* >= 0.1 s of pause */
            cut = best_mid;
        } else { /* no pause: the quietest frame in the second half of the window */
            cut = start + maxf / 2;
            for (size_t g = start + maxf / 2; g < hi; g++)
                if (db[g] < db[cut])
                    cut = g;
        }
        if (nb + 2 > cap) {
            cap = st_mult(cap, 2);
            b = xrealloc(b, cap * sizeof(*b));
        }
        b[nb++] = cut * hop;
        start = cut;
    }
    free(db);
    free(quiet);
    b[nb++] = n;
    *bounds_out = b;
    return nb - 1;
}

/* ---- decoder configuration ---------------------------------------------------------------- */

/* Our tuned configuration, chosen by the sweep in bench/asr (bench_asr --sweep) on Debian's
 * LibriVox test clips + espeak-ng speech, checked on the held-out "cards" recordings; the
 * sweep and its numbers are in bench/asr/README.md. Only these differ from pocketsphinx's
 * defaults; the language weights, beams and penalties stayed at their defaults because no
 * other value beat them by more than noise. */
static const char *const k_tuned[] = {
    "-topn",
    OM_ASR_SPHINX_TOPN, /* the one clear gain over the default 4; 12 is as accurate as 16
                         * or 24 over minutes of speech, and cheaper */
    "-fwdflat",
    "no", /* skip the flat-lexicon pass: as accurate here, and faster */
    "-maxhmmpf",
    "5000", /* cap active HMMs per frame (default 30000): with topn 12, 2x faster than
             * topn 24 / 10000 at the same WER over 11 minutes of speech
             * (bench_asr --sweep-media; bench/asr/README.md) */
    "-bestpath",
    "yes", /* lattice best path: also gives the word posteriors (conf) */
    "-remove_silence",
    "no", /* chunks are cut at pauses already; VAD frame dropping would
           * shift word times */
    NULL,
};

/* Parameters recorded in engine.params (type: 's' string, 'f' float, 'i' int, 'b' bool). */
static const struct {
    const char *name;
    char type;
} k_recorded[] = {
    {"-lw", 'f'},           {"-wip", 'f'},         {"-pip", 'f'},
    {"-beam", 'f'},         {"-wbeam", 'f'},       {"-pbeam", 'f'},
    {"-lpbeam", 'f'},       {"-lponlybeam", 'f'},  {"-maxhmmpf", 'i'},
    {"-maxwpf", 'i'},       {"-pl_window", 'i'},   {"-fwdflat", 'b'},
    {"-fwdflatlw", 'f'},    {"-fwdflatbeam", 'f'}, {"-fwdflatwbeam", 'f'},
    {"-bestpath", 'b'},     {"-bestpathlw", 'f'},  {"-silprob", 'f'},
    {"-fillprob", 'f'},     {"-topn", 'i'},        {"-remove_silence", 'b'},
    {"-remove_noise", 'b'}, {"-cmn", 's'},         {"-ascale", 'f'},
};

typedef struct sphinx_ctx {
    char *hmm, *lm, *dict;
    char **argv; /* "prog", name, value, ..., NULL: kept alive while decoders live */
    int argc;
    /* adaptation */
    char *arpa_path; /* temp file, removed at the end */
    double weight;
    char **oov_words, **oov_phones;
    size_t noov;
    /* work */
    const int16_t *pcm;
    size_t *bounds;
    size_t nchunks;
    om_transcript *results;
    size_t next;    /* next chunk to take (under mu) */
    int failed;     /* first error (under mu) */
    json_t *params; /* recorded by the first decoder (under mu) */
    char errmsg[600];
    pthread_mutex_t mu;
    volatile int *cancel;
    int dither; /* add our deterministic dither (not in the Debian-defaults baseline) */
    unsigned char *skip; /* per chunk: 1 = silence (voice activity), not decoded; may be NULL */
    om_asr_forget_fn forget;
    void *forget_arg;
} sphinx_ctx;

static void argv_push(sphinx_ctx *c, const char *s)
{
    c->argv = xrealloc(c->argv, st_mult((size_t)c->argc + 2, sizeof(char *)));
    c->argv[c->argc++] = xstrdup(s);
    c->argv[c->argc] = NULL;
}

static void argv_set(sphinx_ctx *c, const char *name, const char *value)
{
    for (int i = 1; i + 1 < c->argc; i += 2) {
        if (strcmp(c->argv[i], name) == 0) {
            free(c->argv[i + 1]);
            c->argv[i + 1] = xstrdup(value);
            return;
        }
    }
    argv_push(c, name);
    argv_push(c, value);
}

static void ctx_fail(sphinx_ctx *c, int code, const char *msg)
{
    pthread_mutex_lock(&c->mu);
    if (!c->failed) {
        c->failed = code;
        snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Releases our reference to `m` when someone else holds one too (its reference count is
 * the value ngram_model_free returns after a balancing retain). */
static void drop_ref_if_shared(ngram_model_t *m)
{
    ngram_model_retain(m);
    if (ngram_model_free(m) > 1)
        ngram_model_free(m);
}

/* A decoder for one worker. Returns NULL with the message in *msg (caller frees). */
static ps_decoder_t *decoder_new(sphinx_ctx *c, char **msg)
{
    t_ps_err[0] = '\0';
    cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), c->argc, c->argv, TRUE);
    if (!cfg) {
        *msg = xasprintf("pocketsphinx configuration: %s", ps_last_error());
        return NULL;
    }
    ps_decoder_t *ps = ps_init(cfg);
    if (!ps) {
        *msg = xasprintf("pocketsphinx init: %s", ps_last_error());
        cmd_ln_free_r(cfg);
        return NULL;
    }
    if (c->arpa_path) {
        for (size_t i = 0; i < c->noov; i++) {
            if (ps_add_word(ps, c->oov_words[i], c->oov_phones[i], FALSE) < 0) {
                *msg = xasprintf("adding '%s' to the dictionary: %s", c->oov_words[i],
                                 ps_last_error());
                goto fail;
            }
        }
        logmath_t *lmath = ps_get_logmath(ps);
        ngram_model_t *models[2];
        models[0] = ngram_model_read(cfg, c->lm, NGRAM_AUTO, lmath);
        if (!models[0]) {
            *msg = xasprintf("reading %s: %s", c->lm, ps_last_error());
            goto fail;
        }
        models[1] = ngram_model_read(cfg, c->arpa_path, NGRAM_ARPA, lmath);
        if (!models[1]) {
            *msg = xasprintf("reading the adapted model: %s", ps_last_error());
            ngram_model_free(models[0]);
            goto fail;
        }
        char *names[2] = {"general", "project"};
        float32 weights[2] = {(float32)(1.0 - c->weight), (float32)c->weight};
        ngram_model_t *set = ngram_model_set_init(cfg, models, names, weights, 2);
        if (!set) {
            *msg = xasprintf("interpolating language models: %s", ps_last_error());
            ngram_model_free(models[0]);
            ngram_model_free(models[1]);
            goto fail;
        }
        /* Whether the set and the search take their own references differs between
         * sphinxbase versions (Debian's 5prealpha retains both): drop ours only if so. */
        drop_ref_if_shared(models[0]);
        drop_ref_if_shared(models[1]);
        int rc = ps_set_lm(ps, "adapted", set);
        drop_ref_if_shared(set);
        if (rc < 0 || ps_set_search(ps, "adapted") < 0) {
            *msg = xasprintf("setting the adapted language model: %s", ps_last_error());
            goto fail;
        }
    }
    cmd_ln_free_r(cfg); /* ps_init retained it */
    return ps;
fail:
    ps_free(ps);
    cmd_ln_free_r(cfg);
    return NULL;
}

/* Strips "(2)" pronunciation-variant suffixes; returns 0 for fillers and silence. */
static int clean_word(const char *w, char *out, size_t outsz)
{
    if (!w || !*w || w[0] == '<' || w[0] == '[' || w[0] == '+')
        return 0;
    size_t len = strlen(w);
    if (len && w[len - 1] == ')') {
        const char *p = strrchr(w, '(');
        if (p)
            len = (size_t)(p - w);
    }
    if (!len || len >= outsz)
        return 0;
    memcpy(out, w, len);
    out[len] = '\0';
    return 1;
}

/* A copy of the chunk with +-1 LSB triangular dither. Digital silence (exact zeros: padding,
 * synthesised speech, muted stretches) gives log-energy features far outside what the
 * acoustic model saw and costs a lot of accuracy (measured in bench/asr). pocketsphinx's own
 * -dither draws from a process-global generator shared by all decoders; this one is seeded by
 * the chunk's position, so a chunk decodes the same whichever thread takes it. */
static int16_t *dithered_copy(const int16_t *pcm, size_t n, size_t seed)
{
    int16_t *out = xmalloc(st_mult(n ? n : 1, sizeof(int16_t)));
    uint32_t x = (uint32_t)(seed * 2654435761u) ^ 0x9E3779B9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int d = (int)(x & 1) - (int)((x >> 1) & 1); /* -1, 0, 0, +1 */
        int v = pcm[i] + d;
        out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    return out;
}

static int decode_chunk(ps_decoder_t *ps, const int16_t *pcm, size_t n, om_transcript *out,
                        char **msg)
{
    t_ps_err[0] = '\0';
    if (ps_start_stream(ps) < 0 || ps_start_utt(ps) < 0) {
        *msg = xasprintf("starting an utterance: %s", ps_last_error());
        return OM_ERROR;
    }
    if (ps_process_raw(ps, pcm, n, FALSE, TRUE) < 0) {
        ps_end_utt(ps);
        *msg = xasprintf("decoding: %s", ps_last_error());
        return OM_ERROR;
    }
    if (ps_end_utt(ps) < 0) {
        *msg = xasprintf("ending the utterance: %s", ps_last_error());
        return OM_ERROR;
    }
    logmath_t *lmath = ps_get_logmath(ps);
    for (ps_seg_t *seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
        char w[256];
        if (!clean_word(ps_seg_word(seg), w, sizeof(w)))
            continue;
        int sf, ef;
        ps_seg_frames(seg, &sf, &ef);
        int32 ascr, lscr, lback;
        int32 post = ps_seg_prob(seg, &ascr, &lscr, &lback);
        double conf = logmath_exp(lmath, post);
        double dur = (double)n / SAMPLE_RATE;
        double s = (double)sf / FRAME_RATE, e = (double)(ef + 1) / FRAME_RATE;
        if (e > dur)
            e = dur;
        if (s > e)
            s = e;
        om_transcript_add(out, w, s, e, conf);
    }
    return OM_OK;
}

static json_t *record_params(cmd_ln_t *cfg);

static void *worker(void *arg)
{
    sphinx_ctx *c = arg;
    char *msg = NULL;
    ps_decoder_t *ps = decoder_new(c, &msg);
    if (!ps) {
        ctx_fail(c, OM_ERROR, msg);
        free(msg);
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    if (!c->params)
        c->params = record_params(ps_get_config(ps));
    pthread_mutex_unlock(&c->mu);
    for (;;) {
        pthread_mutex_lock(&c->mu);
        size_t i = c->next++;
        int stop = c->failed || i >= c->nchunks;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        if (c->cancel && *c->cancel) {
            ctx_fail(c, OM_ETIMEOUT, "transcription cancelled");
            break;
        }
        if (c->skip && c->skip[i])
            continue; /* silence: an empty result */
        size_t b0 = c->bounds[i], b1 = c->bounds[i + 1];
        int16_t *dith = c->dither ? dithered_copy(c->pcm + b0, b1 - b0, b0) : NULL;
        int drc = decode_chunk(ps, dith ? dith : c->pcm + b0, b1 - b0, &c->results[i], &msg);
        free(dith);
        if (c->forget)
            c->forget(c->forget_arg, b0, b1);
        if (drc < 0) {
            char *full = xasprintf("chunk %zu (%.2f-%.2f s): %s", i, (double)b0 / SAMPLE_RATE,
                                   (double)b1 / SAMPLE_RATE, msg);
            ctx_fail(c, OM_ERROR, full);
            free(full);
            free(msg);
            msg = NULL;
            break;
        }
    }
    ps_free(ps);
    return NULL;
}

/* The decoder parameters in effect (after the model's feat.params), as JSON. */
static json_t *record_params(cmd_ln_t *cfg)
{
    json_t *p = json_object();
    for (size_t i = 0; i < OM_ARRAY_LEN(k_recorded); i++) {
        const char *name = k_recorded[i].name;
        if (!cmd_ln_exists_r(cfg, name))
            continue;
        json_t *v = NULL;
        switch (k_recorded[i].type) {
        case 'f':
            v = json_real(cmd_ln_float_r(cfg, name));
            break;
        case 'i':
            v = json_integer(cmd_ln_int_r(cfg, name));
            break;
        case 'b':
            v = json_boolean(cmd_ln_int_r(cfg, name));
            break;
        default: {
            const char *s = cmd_ln_str_r(cfg, name);
            v = s ? json_string(s) : json_null();
        }
        }
        json_object_set_new(p, name + 1, v);
    }
    return p;
}

static int file_needed(const char *path)
{
    if (om_file_exists(path))
        return OM_OK;
    return om_error_set(OM_ENOTFOUND, "pocketsphinx model file missing: %s", path);
}

/* Builds the adapted model: ARPA text to a temp file, OOV pronunciations. */
static int prepare_adaptation(sphinx_ctx *c, const om_asr_sphinx_opts *o, json_t *params)
{
    char *arpa = NULL;
    int rc = om_lm_build_arpa(o->adapt_text, o->keywords, o->nkeywords, &arpa);
    if (rc < 0)
        return om_error_wrap(rc, "adapting the language model");
    char *path = xasprintf("%s/omniva-lm-XXXXXX", om_tmpdir());
    int fd = mkstemp(path);
    if (fd < 0) {
        int e = errno;
        free(arpa);
        rc = om_error_set(OM_EIO, "creating %s: %s", path, strerror(e));
        free(path);
        return rc;
    }
    size_t len = strlen(arpa), off = 0;
    while (off < len) {
        ssize_t w = write(fd, arpa + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(path);
            free(arpa);
            rc = om_error_set(OM_EIO, "writing %s: %s", path, strerror(e));
            free(path);
            return rc;
        }
        off += (size_t)w;
    }
    close(fd);
    free(arpa);
    c->arpa_path = path;

    /* Vocabulary words missing from the dictionary get letter-to-sound pronunciations. The
     * dictionary is a plain text file: look the words up in one pass. */
    char **vocab;
    size_t nv = om_lm_vocab(o->adapt_text, o->keywords, o->nkeywords, &vocab);
    unsigned char *found = xcalloc(nv + 1, 1);
    FILE *f = fopen(c->dict, "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f)) {
            char *sp = strpbrk(line, " \t");
            if (!sp)
                continue;
            *sp = '\0';
            for (size_t i = 0; i < nv; i++)
                if (!found[i] && strcmp(vocab[i], line) == 0)
                    found[i] = 1;
        }
        fclose(f);
    }
    json_t *added = json_array(), *skipped = json_array();
    for (size_t i = 0; i < nv; i++) {
        if (found[i])
            continue;
        char *phones = NULL;
        if (om_lm_g2p(vocab[i], &phones) == OM_OK) {
            c->oov_words = xrealloc(c->oov_words, (c->noov + 1) * sizeof(char *));
            c->oov_phones = xrealloc(c->oov_phones, (c->noov + 1) * sizeof(char *));
            c->oov_words[c->noov] = xstrdup(vocab[i]);
            c->oov_phones[c->noov] = phones;
            c->noov++;
            json_array_append_new(added,
                                  json_pack("{s:s, s:s}", "word", vocab[i], "phones", phones));
        } else {
            json_array_append_new(skipped, json_string(vocab[i]));
        }
    }
    free(found);
    json_object_set_new(params, "adapted",
                        json_pack("{s:f, s:I, s:o, s:o}", "weight", c->weight, "vocab",
                                  (json_int_t)nv, "oov_added", added, "oov_skipped", skipped));
    om_wer_words_free(vocab);
    return OM_OK;
}

static void ctx_free(sphinx_ctx *c)
{
    free(c->hmm);
    free(c->lm);
    free(c->dict);
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    if (c->arpa_path)
        unlink(c->arpa_path);
    free(c->arpa_path);
    for (size_t i = 0; i < c->noov; i++) {
        free(c->oov_words[i]);
        free(c->oov_phones[i]);
    }
    free(c->oov_words);
    free(c->oov_phones);
    free(c->bounds);
    free(c->skip);
    if (c->results)
        for (size_t i = 0; i < c->nchunks; i++)
            om_transcript_release(&c->results[i]);
    free(c->results);
    json_decref(c->params);
    pthread_mutex_destroy(&c->mu);
}

int om_asr_sphinx(om_transcript *out, const int16_t *pcm, size_t n, const om_asr_sphinx_opts *opts)
{
    om_asr_sphinx_opts o = {0};
    if (opts)
        o = *opts;
    pthread_once(&g_log_once, install_log_cb);

    sphinx_ctx c = {0};
    pthread_mutex_init(&c.mu, NULL);
    const char *dir = o.model_dir ? o.model_dir : OM_ASR_SPHINX_MODEL_DIR;
    c.hmm = xasprintf("%s/en-us", dir);
    c.lm = xasprintf("%s/en-us.lm.bin", dir);
    c.dict = xasprintf("%s/cmudict-en-us.dict", dir);
    int rc;
    char *mdef = xasprintf("%s/mdef", c.hmm);
    rc = file_needed(mdef);
    free(mdef);
    if (rc == OM_OK)
        rc = file_needed(c.lm);
    if (rc == OM_OK)
        rc = file_needed(c.dict);
    if (rc < 0) {
        ctx_free(&c);
        return rc;
    }

    argv_push(&c, "omniva");
    argv_set(&c, "-hmm", c.hmm);
    argv_set(&c, "-dict", c.dict);
    int adapt = !o.debian_defaults && ((o.adapt_text && *o.adapt_text) || o.nkeywords);
    if (!adapt)
        argv_set(&c, "-lm", c.lm);
    if (!o.debian_defaults)
        for (size_t i = 0; k_tuned[i]; i += 2)
            argv_set(&c, k_tuned[i], k_tuned[i + 1]);
    if (o.overrides)
        for (size_t i = 0; o.overrides[i] && o.overrides[i + 1]; i += 2)
            argv_set(&c, o.overrides[i], o.overrides[i + 1]);

    /* Validate the configuration before any work (unknown names, bad values). */
    t_ps_err[0] = '\0';
    cmd_ln_t *check = cmd_ln_parse_r(NULL, ps_args(), c.argc, c.argv, TRUE);
    if (!check) {
        rc = om_error_set(OM_EINVAL, "pocketsphinx configuration: %s", ps_last_error());
        ctx_free(&c);
        return rc;
    }
    json_t *params = json_object();
    if (n == 0) { /* no decoder will run: record what was asked for */
        json_t *asked = record_params(check);
        json_object_update(params, asked);
        json_decref(asked);
    }
    cmd_ln_free_r(check);
    json_object_set_new(params, "defaults", json_boolean(o.debian_defaults));
    if (adapt) {
        c.weight = o.adapt_weight > 0 && o.adapt_weight < 1 ? o.adapt_weight : OM_ASR_ADAPT_WEIGHT;
        rc = prepare_adaptation(&c, &o, params);
        if (rc < 0) {
            json_decref(params);
            ctx_free(&c);
            return rc;
        }
    }

    double max_chunk = o.max_chunk_s > 0 ? o.max_chunk_s : 20.0;
    c.pcm = pcm;
    c.nchunks = n ? om_asr_chunk(pcm, n, max_chunk, o.silences, o.nsilences, &c.bounds) : 0;
    if (n && o.vad_min_gap_s > 0 && !o.debian_defaults) {
        size_t *vb = NULL;
        double skipped = 0, music = 0;
        c.nchunks = om_asr_vad_split(pcm, n, c.bounds, c.nchunks, o.vad_min_gap_s,
                                     o.vad_music_min_s, &vb, &c.skip, &skipped, &music);
        free(c.bounds);
        c.bounds = vb;
        json_object_set_new(params, "vad_min_gap_s", json_real(o.vad_min_gap_s));
        json_object_set_new(params, "vad_skipped_s", json_real(skipped));
        json_object_set_new(params, "vad_music_min_s", json_real(o.vad_music_min_s));
        json_object_set_new(params, "vad_music_s", json_real(music));
    }
    c.results = xcalloc(c.nchunks + 1, sizeof(*c.results));
    c.cancel = o.cancel;
    c.forget = o.forget;
    c.forget_arg = o.forget_arg;
    if (c.forget) /* chunking and voice activity read it all; decoders take it chunk by chunk */
        c.forget(c.forget_arg, 0, n);
    c.dither = !o.debian_defaults;
    json_object_set_new(params, "dither_lsb", json_integer(c.dither ? 1 : 0));

    int jobs = o.jobs > 0 ? o.jobs : om_proc_cpus();
    if ((size_t)jobs > c.nchunks)
        jobs = (int)c.nchunks;
    json_object_set_new(params, "chunks", json_integer((json_int_t)c.nchunks));
    json_object_set_new(params, "max_chunk_s", json_real(max_chunk));
    json_object_set_new(params, "jobs", json_integer(jobs));

    pthread_t th[64];
    if (jobs > (int)OM_ARRAY_LEN(th))
        jobs = (int)OM_ARRAY_LEN(th);
    int started = 0;
    for (int i = 1; i < jobs; i++) {
        if (pthread_create(&th[started], NULL, worker, &c) == 0)
            started++;
    }
    if (jobs > 0)
        worker(&c); /* the calling thread works too */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    if (c.failed) {
        rc = om_error_set(c.failed, "pocketsphinx: %s", c.errmsg);
        json_decref(params);
        ctx_free(&c);
        return rc;
    }
    if (c.params)
        json_object_update(params, c.params);
    om_transcript t = OM_TRANSCRIPT_INIT;
    for (size_t i = 0; i < c.nchunks; i++)
        om_transcript_append(&t, &c.results[i], (double)c.bounds[i] / SAMPLE_RATE);
    om_transcript_set_engine(&t, "pocketsphinx", dir, params);
    om_segment_opts so = {.silences = o.silences, .nsilences = o.nsilences};
    om_transcript_segment(&t, &so);
    ctx_free(&c);
    *out = t;
    return OM_OK;
}
