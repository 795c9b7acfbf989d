/*
 * align.c: forced alignment of known text (platform subtitles, trusted captions) to the audio.
 *
 * Subtitles give the words and each cue's span but not when each word is said: subtitles.c
 * spreads a cue's duration over its words by length (interpolation), so a karaoke highlight
 * drifts. Here each cue's audio (its span, widened by up to margin_s into the pauses around
 * it) is decoded by pocketsphinx against a finite-state grammar that accepts exactly the cue's
 * words in order, with optional silence and fillers between them (Debian's 0.8 has no public
 * alignment API; a linear FSG is how its own tools force-align). The best path's segments give
 * each word its real start and end. A cue whose decode does not reach the grammar's final
 * state, or whose words lack a pronunciation (neither in the dictionary nor from the
 * letter-to-sound fallback), keeps its interpolated times; what happened to every cue is
 * recorded in engine.params.alignment.
 *
 * Cues are independent (each writes only its own words' times), so opts->jobs threads take
 * the next cue from a shared counter, each with a decoder of its own (loading the dictionary
 * is the costly part: one per thread, the grammar replaced per cue). The records are put
 * back in cue order; the result does not depend on the number of threads.
 */
#include "base/common.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fsg_model.h>

#include "asr/align.h"
#include "base/fsutil.h"
#include "base/proc.h"

#define FRAME_RATE 100
#define SAMPLE_RATE 16000

void om_align_opts_default(om_align_opts *o)
{
    o->model_dir = NULL;
    o->margin_s = 0.4;
    o->cancel = NULL;
    o->jobs = 0;
    o->forget = NULL;
    o->forget_arg = NULL;
}

/* Lower case, outer punctuation stripped (inner apostrophes and hyphens kept as the
 * dictionary has them). Empty when nothing is left. */
static void dict_form(const char *w, char *out, size_t outsz)
{
    size_t len = strlen(w), a = 0, b = len;
    while (a < b && !isalnum((unsigned char)w[a]) && !((unsigned char)w[a] & 0x80))
        a++;
    while (b > a && !isalnum((unsigned char)w[b - 1]) && !((unsigned char)w[b - 1] & 0x80))
        b--;
    size_t k = 0;
    for (size_t i = a; i < b && k + 1 < outsz; i++)
        out[k++] = (char)tolower((unsigned char)w[i]);
    out[k] = '\0';
}

typedef struct cue {
    double start, end;
    size_t first, count; /* words [first, first+count) */
} cue;

/* Cue spans from engine.params.cue_spans (subtitles.c), else the sentences. Words are
 * assigned in order to the cue their midpoint falls in (a word outside every span joins the
 * nearest preceding cue). */
static size_t make_cues(const om_transcript *t, cue **out)
{
    const json_t *params = t->engine ? json_object_get(t->engine, "params") : NULL;
    const json_t *spans = params ? json_object_get(params, "cue_spans") : NULL;
    size_t ns = json_is_array(spans) ? json_array_size(spans) : 0;
    cue *c = xcalloc(ns + t->nsent + 1, sizeof(*c));
    size_t nc = 0;
    if (ns) {
        for (size_t i = 0; i < ns; i++) {
            const json_t *sp = json_array_get(spans, i);
            double s = json_number_value(json_array_get(sp, 0));
            double e = json_number_value(json_array_get(sp, 1));
            if (!(e >= s))
                continue;
            c[nc++] = (cue){s, e, 0, 0};
        }
    } else {
        for (size_t i = 0; i < t->nsent; i++)
            c[nc++] = (cue){t->sentences[i].start, t->sentences[i].end, 0, 0};
    }
    /* words to cues: a sweep (both sorted by start) */
    size_t k = 0;
    for (size_t i = 0; i < nc; i++) {
        c[i].first = k;
        while (k < t->n) {
            double mid = (t->words[k].start + t->words[k].end) / 2;
            if (i + 1 < nc && mid >= c[i + 1].start && mid > c[i].end - 1e-6)
                break;
            k++;
        }
        c[i].count = k - c[i].first;
    }
    if (nc && k < t->n)
        c[nc - 1].count += t->n - k;
    *out = c;
    return nc;
}

static int16_t *dithered(const int16_t *pcm, size_t n, size_t seed)
{
    int16_t *out = xmalloc(st_mult(n ? n : 1, sizeof(int16_t)));
    uint32_t x = (uint32_t)(seed * 2654435761u) ^ 0x9E3779B9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int d = (int)(x & 1) - (int)((x >> 1) & 1);
        int v = pcm[i] + d;
        out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    return out;
}

/* Makes sure `w` has a pronunciation; 0 when it has none. */
static int pronounceable(ps_decoder_t *ps, const char *w)
{
    char *p = ps_lookup_word(ps, w);
    if (p) {
        ckd_free(p);
        return 1;
    }
    char *phones = NULL;
    if (om_lm_g2p(w, &phones) != OM_OK)
        return 0;
    int ok = ps_add_word(ps, w, phones, FALSE) >= 0;
    free(phones);
    return ok;
}

/* Aligns one cue. 0 and the words' new times in s[]/e[] (seconds, source time), or a negative
 * value with the reason in *why. */
static int align_cue(ps_decoder_t *ps, const int16_t *pcm, size_t n, double w0, double w1,
                     char **forms, size_t nf, double *s, double *e, const char **why)
{
    size_t a = (size_t)fmax(0.0, w0 * SAMPLE_RATE), b = (size_t)fmin((double)n, w1 * SAMPLE_RATE);
    if (b <= a + SAMPLE_RATE / 10) {
        *why = "no audio under the cue";
        return -1;
    }
    cmd_ln_t *cfg = ps_get_config(ps);
    logmath_t *lmath = ps_get_logmath(ps);
    fsg_model_t *fsg = fsg_model_init("cue", lmath, cmd_ln_float32_r(cfg, "-lw"), (int32)nf + 1);
    fsg->start_state = 0;
    fsg->final_state = (int32)nf;
    for (size_t i = 0; i < nf; i++) {
        int32 wid = fsg_model_word_add(fsg, forms[i]);
        fsg_model_trans_add(fsg, (int32)i, (int32)i + 1, 0, wid);
    }
    int rc = ps_set_fsg(ps, "cue", fsg);
    fsg_model_free(fsg); /* the search holds its own reference */
    if (rc < 0 || ps_set_search(ps, "cue") < 0) {
        *why = "the grammar was refused";
        return -1;
    }
    int16_t *d = dithered(pcm + a, b - a, a);
    int ok = ps_start_stream(ps) >= 0 && ps_start_utt(ps) >= 0 &&
             ps_process_raw(ps, d, b - a, FALSE, TRUE) >= 0;
    ok = ps_end_utt(ps) >= 0 && ok;
    free(d);
    if (!ok) {
        *why = "decoding failed";
        return -1;
    }
    int32 score;
    const char *hyp = ps_get_hyp(ps, &score);
    if (!hyp || !*hyp) {
        *why = "no path through the words";
        return -1;
    }
    size_t k = 0;
    double off = (double)a / SAMPLE_RATE, dur = (double)(b - a) / SAMPLE_RATE;
    for (ps_seg_t *seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
        const char *w = ps_seg_word(seg);
        if (!w || w[0] == '<' || w[0] == '[' || w[0] == '+')
            continue;
        char base[256];
        size_t len = strlen(w);
        const char *par = len && w[len - 1] == ')' ? strrchr(w, '(') : NULL;
        if (par)
            len = (size_t)(par - w);
        if (len >= sizeof(base))
            len = sizeof(base) - 1;
        memcpy(base, w, len);
        base[len] = '\0';
        if (k >= nf || strcmp(base, forms[k]) != 0) {
            ps_seg_free(seg);
            *why = "the best path does not follow the words";
            return -1;
        }
        int sf, ef;
        ps_seg_frames(seg, &sf, &ef);
        s[k] = off + fmin(dur, (double)sf / FRAME_RATE);
        e[k] = off + fmin(dur, (double)(ef + 1) / FRAME_RATE);
        k++;
    }
    if (k != nf) {
        *why = "the decode stopped before the last word";
        return -1;
    }
    return 0;
}

static ps_decoder_t *decoder_new(const char *dir, char **msg)
{
    char *hmm = xasprintf("%s/en-us", dir), *dict = xasprintf("%s/cmudict-en-us.dict", dir);
    char *mdef = xasprintf("%s/mdef", hmm);
    ps_decoder_t *ps = NULL;
    if (!om_file_exists(mdef) || !om_file_exists(dict)) {
        *msg = xasprintf("pocketsphinx model files missing under %s", dir);
        goto out;
    }
    err_set_logfp(NULL);
    const char *argv[] = {
        "omniva",          "-hmm", hmm,         "-dict", dict, "-topn", OM_ASR_SPHINX_TOPN,
        "-remove_silence", "no",   "-bestpath", "no",    NULL};
    cmd_ln_t *cfg =
        cmd_ln_parse_r(NULL, ps_args(), (int)OM_ARRAY_LEN(argv) - 1, (char **)argv, TRUE);
    if (!cfg) {
        *msg = xstrdup("pocketsphinx configuration refused");
        goto out;
    }
    ps = ps_init(cfg);
    cmd_ln_free_r(cfg);
    if (!ps)
        *msg = xstrdup("pocketsphinx init failed");
out:
    free(hmm);
    free(dict);
    free(mdef);
    return ps;
}

/* One cue: its words' times in t when it aligns; its record for per_cue in *rec (NULL for a
 * cue without words). Touches only the cue's own words. */
static void align_one(ps_decoder_t *ps, om_transcript *t, const int16_t *pcm, size_t n,
                      const om_align_opts *o, const cue *cues, size_t nc, size_t ci,
                      om_align_stats *st, json_t **rec_out)
{
    const cue *c = &cues[ci];
    *rec_out = NULL;
    if (!c->count)
        return;
    st->cues++;
    /* the grammar: the cue's words that have a spoken form */
    char **forms = xcalloc(c->count, sizeof(char *));
    size_t *idx = xcalloc(c->count, sizeof(size_t));
    size_t nf = 0;
    const char *why = NULL;
    for (size_t k = 0; k < c->count; k++) {
        char f[256];
        dict_form(t->words[c->first + k].w, f, sizeof(f));
        if (!*f)
            continue;
        if (!pronounceable(ps, f)) {
            why = "a word has no pronunciation";
            break;
        }
        forms[nf] = xstrdup(f);
        idx[nf++] = c->first + k;
    }
    /* widen into the pauses: up to margin_s, at most half-way to the neighbouring cue */
    double prev_end = ci > 0 ? cues[ci - 1].end : 0;
    double next_start = ci + 1 < nc ? cues[ci + 1].start : (double)n / SAMPLE_RATE;
    double w0 = c->start - fmin(o->margin_s, fmax(0.0, (c->start - prev_end) / 2));
    double w1 = c->end + fmin(o->margin_s, fmax(0.0, (next_start - c->end) / 2));
    if (ci > 0 && c->start < prev_end) /* overlapping cues: keep to the cue itself */
        w0 = c->start;
    double *s = xcalloc(nf + 1, sizeof(double)), *e = xcalloc(nf + 1, sizeof(double));
    if (!why && nf == 0)
        why = "no spoken words";
    int ok = !why && align_cue(ps, pcm, n, w0, w1, forms, nf, s, e, &why) == 0;
    if (ok) {
        for (size_t k = 0; k < nf; k++) {
            t->words[idx[k]].start = s[k];
            t->words[idx[k]].end = e[k];
        }
        /* words without a spoken form ("—", "♪") sit between their neighbours */
        for (size_t k = 0; k < c->count; k++) {
            size_t wi = c->first + k;
            int aligned = 0;
            for (size_t m = 0; m < nf && !aligned; m++)
                aligned = idx[m] == wi;
            if (aligned)
                continue;
            double at = wi > c->first ? t->words[wi - 1].end : w0;
            t->words[wi].start = t->words[wi].end = at;
        }
        st->aligned++;
        st->words_aligned += nf;
    } else {
        st->words_interpolated += c->count;
    }
    json_t *rec = json_pack("{s:f, s:f, s:I, s:s}", "start", round(c->start * 1000) / 1000, "end",
                            round(c->end * 1000) / 1000, "words", (json_int_t)c->count, "method",
                            ok ? "aligned" : "interpolated");
    if (!ok)
        json_object_set_new(rec, "reason", json_string(why));
    *rec_out = rec;
    for (size_t k = 0; k < nf; k++)
        free(forms[k]);
    free(forms);
    free(idx);
    free(s);
    free(e);
}

/* What the threads share: the next cue to take, under mu. */
typedef struct align_run {
    om_transcript *t;
    const int16_t *pcm;
    size_t n;
    const om_align_opts *o;
    const cue *cues;
    size_t nc, next;
    json_t **recs; /* per cue, in cue order */
    int cancelled;
    pthread_mutex_t mu;
} align_run;

typedef struct align_thread {
    align_run *run;
    ps_decoder_t *ps;
    om_align_stats st;
    pthread_t th;
} align_thread;

static void *align_worker(void *arg)
{
    align_thread *w = arg;
    align_run *r = w->run;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (r->next < r->nc && r->o->cancel && *r->o->cancel)
            r->cancelled = 1;
        size_t ci = r->cancelled ? r->nc : r->next++;
        pthread_mutex_unlock(&r->mu);
        if (ci >= r->nc)
            return NULL;
        align_one(w->ps, r->t, r->pcm, r->n, r->o, r->cues, r->nc, ci, &w->st, &r->recs[ci]);
        if (r->o->forget) { /* the cue's audio (its margins may be a neighbour's: re-read then) */
            const cue *c = &r->cues[ci];
            double m = r->o->margin_s;
            r->o->forget(r->o->forget_arg, (size_t)fmax(0.0, (c->start - m) * SAMPLE_RATE),
                         (size_t)fmax(0.0, (c->end + m) * SAMPLE_RATE));
        }
    }
}

int om_asr_align(om_transcript *t, const int16_t *pcm, size_t n, const om_align_opts *opts,
                 om_align_stats *stats_out)
{
    om_align_opts o;
    om_align_opts_default(&o);
    if (opts)
        o = *opts;
    if (!(o.margin_s >= 0))
        o.margin_s = 0.4;
    om_align_stats st = {0};
    if (stats_out)
        *stats_out = st;
    if (!t->n)
        return OM_OK;
    cue *cues;
    size_t nc = make_cues(t, &cues);
    size_t jobs = (size_t)(o.jobs > 0 ? o.jobs : om_proc_cpus());
    if (jobs > nc / 4) /* a decoder per thread costs its load: worth it for a few cues each */
        jobs = nc / 4 ? nc / 4 : 1;
    if (jobs > 64)
        jobs = 64;
    /* the decoders, one after another here (pocketsphinx's logging set-up is global) */
    align_thread *w = xcalloc(jobs, sizeof(*w));
    size_t nw = 0;
    char *msg = NULL;
    while (nw < jobs) {
        w[nw].ps = decoder_new(o.model_dir ? o.model_dir : OM_ASR_SPHINX_MODEL_DIR, &msg);
        if (!w[nw].ps)
            break;
        nw++;
    }
    if (!nw) {
        int rc = om_error_set(OM_ENOTFOUND, "forced alignment: %s", msg);
        free(msg);
        free(w);
        free(cues);
        return rc;
    }
    free(msg); /* fewer threads than asked: the ones made do the work */
    align_run run = {.t = t, .pcm = pcm, .n = n, .o = &o, .cues = cues, .nc = nc,
                     .recs = xcalloc(nc + 1, sizeof(json_t *))};
    pthread_mutex_init(&run.mu, NULL);
    size_t started = 1;
    for (size_t i = 0; i < nw; i++)
        w[i].run = &run;
    for (size_t i = 1; i < nw; i++) {
        if (pthread_create(&w[i].th, NULL, align_worker, &w[i]) != 0)
            break;
        started++;
    }
    align_worker(&w[0]); /* the calling thread works too */
    for (size_t i = 1; i < started; i++)
        pthread_join(w[i].th, NULL);
    pthread_mutex_destroy(&run.mu);
    json_t *per = json_array();
    for (size_t i = 0; i < nw; i++) {
        st.cues += w[i].st.cues;
        st.aligned += w[i].st.aligned;
        st.words_aligned += w[i].st.words_aligned;
        st.words_interpolated += w[i].st.words_interpolated;
        ps_free(w[i].ps);
    }
    for (size_t ci = 0; ci < nc; ci++)
        if (run.recs[ci])
            json_array_append_new(per, run.recs[ci]);
    free(run.recs);
    free(w);
    free(cues);
    if (run.cancelled) {
        json_decref(per);
        return om_error_set(OM_ETIMEOUT, "forced alignment cancelled");
    }
    st.interpolated = st.cues - st.aligned;
    /* words stay ordered by start (the aligned times moved within their cues) */
    for (size_t i = 1; i < t->n; i++)
        if (t->words[i].start < t->words[i - 1].start - 1e-9) {
            om_word w = t->words[i];
            size_t j = i;
            while (j > 0 && t->words[j - 1].start > w.start) {
                t->words[j] = t->words[j - 1];
                j--;
            }
            t->words[j] = w;
        }
    if (!t->engine)
        om_transcript_set_engine(t, "text", NULL, NULL);
    json_t *params = json_object_get(t->engine, "params");
    if (!json_is_object(params)) {
        params = json_object();
        json_object_set_new(t->engine, "params", params);
    }
    json_object_set_new(params, "alignment",
                        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "method",
                                  "pocketsphinx-fsg", "cues", (json_int_t)st.cues, "aligned",
                                  (json_int_t)st.aligned, "interpolated",
                                  (json_int_t)st.interpolated, "words_aligned",
                                  (json_int_t)st.words_aligned, "words_interpolated",
                                  (json_int_t)st.words_interpolated, "per_cue", per));
    json_object_del(params, "cue_spans"); /* per_cue holds the spans now */
    /* sentences follow the new word times */
    for (size_t i = 0; i < t->nsent; i++) {
        om_sentence *se = &t->sentences[i];
        if (se->count && se->first + se->count <= t->n) {
            se->start = t->words[se->first].start;
            se->end = t->words[se->first + se->count - 1].end;
        }
    }
    if (stats_out)
        *stats_out = st;
    return OM_OK;
}
