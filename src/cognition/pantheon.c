/* pantheon.c: the scoring agents of the selection committee (see pantheon.h). */
#include "base/common.h"

#include <math.h>

#include "base/utf8.h"
#include "cognition/hooks.h"
#include "cognition/pantheon.h"
#include "cognition/relevance.h"
#include "cognition/text.h"

typedef struct prior {
    char *clip_id;
    char *creator_id;
    om_shingles sh;
} prior;

typedef struct agent agent;
typedef void (*agent_fn)(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                         om_vote *v);

struct agent {
    const char *name; /* its weight is the setting pantheon.weight_<name> */
    agent_fn fn;
};

struct om_pantheon {
    const json_t *brand;
    om_stemmer *st;
    om_relevance *rel;
    prior *priors;
    size_t npriors, apriors;
    double weights[OM_PANTHEON_MAX_AGENTS];
    double dup_jaccard;
    double min_relevance; /* below it (with a brief or keywords): off-brand, veto */
    double min_s, max_s, pref_min, pref_max;
    char *llm_url, *llm_model, *llm_key;
    long llm_timeout_ms;
    /* banned words: each entry's stems as a token sequence + the original text */
    om_tokens *banned;
    char **banned_text;
    size_t nbanned;
};

static double clamp01(double x)
{
    if (isnan(x))
        return 0;
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

static double jnum(const json_t *v, double def)
{
    return json_is_number(v) ? json_number_value(v) : def;
}

static void set_reason(om_vote *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(om_vote *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

static void abstain(om_vote *v, const char *why)
{
    v->weight = 0;
    v->score = 0.5;
    set_reason(v, "abstains: %s", why);
}

/* ---- agents ---- */

static void agent_hook(om_pantheon *p, const om_pantheon_clip *c, const char *text, om_vote *v)
{
    (void)p;
    const json_t *h = json_object_get(c->metadata, "hook");
    if (json_is_object(h) && json_is_number(json_object_get(h, "score"))) {
        v->score = clamp01(jnum(json_object_get(h, "score"), 0));
        const json_t *fired = json_object_get(h, "fired");
        const json_t *reasons = json_object_get(h, "reasons");
        if (json_array_size(reasons) > 0) {
            om_sbuf sb = OM_SBUF_INIT;
            for (size_t i = 0; i < json_array_size(reasons) && i < 4; i++) {
                if (i)
                    sb_puts(&sb, "; ");
                sb_puts(&sb, json_string_value(json_array_get(reasons, i)));
            }
            set_reason(v, "opening hooks: %s", sb_str(&sb));
            sb_release(&sb);
        } else if (json_array_size(fired) > 0) {
            set_reason(v, "opening hooks: %zu fired", json_array_size(fired));
        } else {
            set_reason(v, "no hook in the opening seconds");
        }
        return;
    }
    /* no analyzer hook: look at the first dozen words */
    om_tokens t = OM_TOKENS_INIT;
    om_text_tokens(text, &t);
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < t.n && i < 12; i++) {
        if (i)
            sb_puts(&sb, " ");
        sb_puts(&sb, t.v[i]);
    }
    om_hook_result r;
    om_hooks_detect(sb_str(&sb), &r);
    v->score = r.score;
    if (r.nreasons)
        set_reason(v, "opening hooks (recomputed): %s%s%s", r.reasons[0],
                   r.nreasons > 1 ? "; " : "", r.nreasons > 1 ? r.reasons[1] : "");
    else
        set_reason(v, "no hook in the opening words");
    sb_release(&sb);
    om_tokens_release(&t);
}

static void agent_energy(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                         om_vote *v)
{
    (void)p;
    (void)text;
    const json_t *s = json_object_get(c->metadata, "scores");
    const json_t *e = json_object_get(s, "energy");
    if (!json_is_number(e)) {
        abstain(v, "no loudness or scene signals for this clip");
        return;
    }
    v->score = clamp01(json_number_value(e));
    const json_t *lu = json_object_get(s, "loudness_rel_lu");
    double spm = jnum(json_object_get(s, "scenes_per_min"), 0);
    if (json_is_number(lu))
        set_reason(v, "loudness %+.1f LU vs the video, %.1f scene cuts/min",
                   json_number_value(lu), spm);
    else
        set_reason(v, "loudness unknown, %.1f scene cuts/min", spm);
}

/* The content stems of `text` less the words the recogniser was not sure of: one occurrence
 * per word of metadata.low_confidence_words (the analyzer's gate, analyze.min_word_confidence;
 * src/cognition/candidates.c), or, for clips analysed before that list existed, every stem of
 * metadata.relevance_ignored_low_confidence (terms only low-confidence words matched).
 * Dropped stems become NULL slots (om_relevance_score_stems skips them); *ndropped counts the
 * words dropped and `dropped` lists them. */
static void trusted_stems(om_pantheon *p, const char *text, const json_t *meta,
                          om_tokens *stems, size_t *ndropped, om_sbuf *dropped)
{
    om_text_stems(p->st, text, stems);
    *ndropped = 0;
    const json_t *low = json_object_get(meta, "low_confidence_words");
    const json_t *legacy = json_object_get(meta, "relevance_ignored_low_confidence");
    int by_word = json_is_array(low);
    const json_t *list = by_word ? low : legacy;
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e) {
        const char *w = json_string_value(e);
        if (!w)
            continue;
        om_tokens ws = OM_TOKENS_INIT;
        if (by_word)
            om_text_stems(p->st, w, &ws);
        else
            om_tokens_push(&ws, w); /* already a stem */
        int hit = 0;
        for (size_t k = 0; k < ws.n; k++)
            for (size_t j = 0; j < stems->n; j++) {
                if (!stems->v[j] || strcmp(stems->v[j], ws.v[k]))
                    continue;
                free(stems->v[j]);
                stems->v[j] = NULL;
                hit = 1;
                if (by_word)
                    break; /* one occurrence per low-confidence word */
            }
        om_tokens_release(&ws);
        if (!hit)
            continue; /* a stop word, or not inside this text */
        if (*ndropped < 6)
            sb_printf(dropped, "%s%s", *ndropped ? ", " : "", w);
        (*ndropped)++;
    }
}

/* Relevance counts only words heard with confidence, as the analyzer's own relevance does:
 * a clip whose only on-brand word was misheard is off-brand here too. */
static void agent_relevance(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                            om_vote *v)
{
    if (om_relevance_is_empty(p->rel)) {
        abstain(v, "the project has no brief or keywords");
        return;
    }
    om_tokens stems = OM_TOKENS_INIT;
    om_sbuf dropped = OM_SBUF_INIT;
    size_t ndropped = 0;
    trusted_stems(p, text, c->metadata, &stems, &ndropped, &dropped);
    json_t *m = NULL;
    v->score = om_relevance_score_stems(p->rel, (const char *const *)stems.v, stems.n, &m);
    om_tokens_release(&stems);
    char lowconf[160] = "";
    if (ndropped)
        snprintf(lowconf, sizeof(lowconf), "; %zu low-confidence word%s not counted: %s",
                 ndropped, ndropped == 1 ? "" : "s", sb_str(&dropped));
    sb_release(&dropped);
    if (json_array_size(m)) {
        om_sbuf sb = OM_SBUF_INIT;
        for (size_t i = 0; i < json_array_size(m) && i < 6; i++) {
            if (i)
                sb_puts(&sb, ", ");
            sb_puts(&sb, json_string_value(json_array_get(m, i)));
        }
        set_reason(v, "matches the brief/keywords on: %s (%zu of %zu terms)%s", sb_str(&sb),
                   json_array_size(m), om_relevance_nterms(p->rel), lowconf);
        sb_release(&sb);
    } else {
        set_reason(v, "no brief or keyword term in the transcript (%zu terms checked)%s",
                   om_relevance_nterms(p->rel), lowconf);
    }
    json_decref(m);
    if (v->score < p->min_relevance) {
        v->veto = 1;
        char was[sizeof(v->reason)];
        snprintf(was, sizeof(was), "%s", v->reason);
        set_reason(v, "off-brand: relevance %.2f is below [pantheon] min_relevance %.2f (%s)",
                   v->score, p->min_relevance, was);
    }
}

static void agent_virality(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                           om_vote *v)
{
    (void)p;
    (void)text;
    const json_t *s = json_object_get(c->metadata, "scores");
    const json_t *vir = json_object_get(s, "virality");
    if (!json_is_number(vir)) {
        abstain(v, "no virality prior from the analyzer");
        return;
    }
    v->score = clamp01(json_number_value(vir));
    const json_t *eng = json_object_get(s, "engagement");
    if (json_is_number(eng))
        set_reason(v, "virality prior %.2f (post engagement %.2f vs the creator's median, "
                      "pace %.0f wpm)",
                   v->score, json_number_value(eng),
                   jnum(json_object_get(s, "speech_rate_wpm"), 0));
    else
        set_reason(v, "virality prior %.2f (engagement unknown, pace %.0f wpm)", v->score,
                   jnum(json_object_get(s, "speech_rate_wpm"), 0));
}

static void agent_novelty(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                          om_vote *v)
{
    if (!text || !*text) {
        abstain(v, "no transcript to compare");
        return;
    }
    om_shingles sh;
    om_shingles_build(p->st, text, 3, &sh);
    double best = 0;
    const prior *bp = NULL;
    for (size_t i = 0; i < p->npriors; i++) {
        if (c->clip_id && p->priors[i].clip_id && !strcmp(c->clip_id, p->priors[i].clip_id))
            continue;
        double j = om_shingles_jaccard(&sh, &p->priors[i].sh);
        if (j > best) {
            best = j;
            bp = &p->priors[i];
        }
    }
    om_shingles_release(&sh);
    v->score = clamp01(1.0 - best);
    if (!bp) {
        set_reason(v, "nothing similar among %zu clips the project already chose", p->npriors);
        return;
    }
    int other = bp->creator_id && c->creator_id && strcmp(bp->creator_id, c->creator_id);
    if (best >= p->dup_jaccard) {
        v->veto = 1;
        set_reason(v, "near-duplicate of clip %s%s (transcript Jaccard %.2f >= %.2f)",
                   bp->clip_id ? bp->clip_id : "?", other ? " from another creator" : "",
                   best, p->dup_jaccard);
    } else {
        set_reason(v, "closest earlier clip %s%s shares %.0f%% of its phrasing (Jaccard %.2f)",
                   bp->clip_id ? bp->clip_id : "?", other ? " (another creator)" : "",
                   best * 100, best);
    }
}

/* 1 when the stems in `seq` occur contiguously in `hay` (stems); *at gets the position. */
static int find_seq(const om_tokens *hay, const om_tokens *seq, size_t *at)
{
    if (seq->n == 0 || hay->n < seq->n)
        return 0;
    for (size_t i = 0; i + seq->n <= hay->n; i++) {
        size_t k = 0;
        while (k < seq->n && !strcmp(hay->v[i + k], seq->v[k]))
            k++;
        if (k == seq->n) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

static void agent_brand_safety(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                               om_vote *v)
{
    (void)c;
    if (p->nbanned == 0) {
        v->score = 1;
        set_reason(v, "the brand bans no words");
        return;
    }
    /* every token, both exact (lower-case) and stemmed */
    om_tokens raw = OM_TOKENS_INIT, stems = OM_TOKENS_INIT;
    om_text_tokens(text, &raw);
    for (size_t i = 0; i < raw.n; i++) {
        char *s = om_stem(p->st, raw.v[i]);
        om_tokens_push(&stems, s);
        free(s);
    }
    v->score = 1;
    for (size_t b = 0; b < p->nbanned; b++) {
        size_t at;
        if (find_seq(&stems, &p->banned[b], &at)) {
            v->score = 0;
            v->veto = 1;
            set_reason(v, "banned word \"%s\" said (\"%s\", word %zu of %zu)",
                       p->banned_text[b], raw.v[at], at + 1, raw.n);
            break;
        }
    }
    if (!v->veto)
        set_reason(v, "none of the brand's %zu banned words or phrases", p->nbanned);
    om_tokens_release(&raw);
    om_tokens_release(&stems);
}

static void agent_length(om_pantheon *p, const om_pantheon_clip *c, const char *text,
                         om_vote *v)
{
    (void)text;
    double d = c->end - c->start;
    if (!(d > 0)) {
        v->score = 0;
        set_reason(v, "invalid clip times (%.2f..%.2f)", c->start, c->end);
        return;
    }
    double s;
    if (d < p->min_s - 1e-6 || d > p->max_s + 1e-6)
        s = 0;
    else if (d < p->pref_min)
        s = 0.5 + 0.5 * (d - p->min_s) / fmax(1e-9, p->pref_min - p->min_s);
    else if (d > p->pref_max)
        s = 0.5 + 0.5 * (p->max_s - d) / fmax(1e-9, p->max_s - p->pref_max);
    else
        s = 1;
    v->score = clamp01(s);
    set_reason(v, "%.1f s long; preferred %.0f-%.0f s within the limits %.0f-%.0f s", d,
               p->pref_min, p->pref_max, p->min_s, p->max_s);
}

static void agent_llm(om_pantheon *p, const om_pantheon_clip *c, const char *text, om_vote *v)
{
    (void)c;
    if (!p->llm_url || !*p->llm_url) {
        abstain(v, "no LLM endpoint configured ([pantheon] llm_url)");
        return;
    }
    double score = 0;
    char reason[OM_REASON_MAX];
    const char *brief = json_string_value(json_object_get(p->brand, "brief"));
    int rc = om_llm_rate(p->llm_url, p->llm_model, p->llm_key, p->llm_timeout_ms, brief, text,
                         &score, reason);
    if (rc) {
        char why[OM_REASON_MAX];
        snprintf(why, sizeof(why), "LLM unavailable: %s", om_error_msg());
        abstain(v, why);
        om_error_clear();
        return;
    }
    v->score = clamp01(score);
    set_reason(v, "LLM (%s): %s", p->llm_model ? p->llm_model : "default", reason);
}

static const agent agents[] = {
    {"hook", agent_hook},
    {"energy", agent_energy},
    {"relevance", agent_relevance},
    {"virality", agent_virality},
    {"novelty", agent_novelty},
    {"brand_safety", agent_brand_safety},
    {"length", agent_length},
    {"llm", agent_llm},
};

/* ---- committee ---- */

om_pantheon *om_pantheon_new(const json_t *brand, const om_config *cfg)
{
    om_pantheon *p = xcalloc(1, sizeof(*p));
    p->brand = brand;
    p->st = om_stemmer_new();
    p->rel = brand ? om_relevance_from_brand(p->st, brand) : om_relevance_new(p->st, NULL, NULL, 0);
    for (size_t i = 0; i < OM_ARRAY_LEN(agents); i++) {
        char key[64];
        snprintf(key, sizeof(key), "pantheon.weight_%s", agents[i].name);
        double w = om_config_double(cfg, key);
        p->weights[i] = w < 0 ? 0 : w;
    }
    p->dup_jaccard = om_config_double(cfg, "pantheon.duplicate_jaccard");
    p->min_relevance = om_config_double(cfg, "pantheon.min_relevance");
    p->min_s = jnum(json_object_get(brand, "clip_min_s"), 15);
    p->max_s = jnum(json_object_get(brand, "clip_max_s"), 60);
    if (p->max_s < p->min_s)
        p->max_s = p->min_s;
    double span = p->max_s - p->min_s;
    double pmin = om_config_double(cfg, "pantheon.preferred_min_s"); /* 0: from the brand */
    double pmax = om_config_double(cfg, "pantheon.preferred_max_s");
    p->pref_min = pmin > 0 ? pmin : p->min_s + 0.15 * span;
    p->pref_max = pmax > 0 ? pmax : p->min_s + 0.55 * span;
    if (p->pref_min < p->min_s)
        p->pref_min = p->min_s;
    if (p->pref_max > p->max_s)
        p->pref_max = p->max_s;
    if (p->pref_max < p->pref_min)
        p->pref_max = p->pref_min;

    const char *url = om_config_str(cfg, "pantheon.llm_url");
    p->llm_url = url && *url ? xstrdup(url) : NULL;
    p->llm_model = xstrdup(om_config_str(cfg, "pantheon.llm_model"));
    p->llm_timeout_ms = om_config_long(cfg, "pantheon.llm_timeout_ms");
    const char *keyenv = om_config_str(cfg, "pantheon.llm_api_key_env");
    const char *key = keyenv ? getenv(keyenv) : NULL;
    p->llm_key = key && *key ? xstrdup(key) : NULL;

    const json_t *bw = json_object_get(brand, "banned_words");
    size_t nb = json_is_array(bw) ? json_array_size(bw) : 0;
    p->banned = xcalloc(nb ? nb : 1, sizeof(om_tokens));
    p->banned_text = xcalloc(nb ? nb : 1, sizeof(char *));
    for (size_t i = 0; i < nb; i++) {
        const char *w = json_string_value(json_array_get(bw, i));
        if (!w)
            continue;
        om_tokens raw = OM_TOKENS_INIT;
        om_text_tokens(w, &raw);
        if (raw.n == 0) {
            om_tokens_release(&raw);
            continue;
        }
        om_tokens *seq = &p->banned[p->nbanned];
        memset(seq, 0, sizeof(*seq));
        for (size_t k = 0; k < raw.n; k++) {
            char *s = om_stem(p->st, raw.v[k]);
            om_tokens_push(seq, s);
            free(s);
        }
        p->banned_text[p->nbanned++] = xstrdup(w);
        om_tokens_release(&raw);
    }
    return p;
}

void om_pantheon_set_llm(om_pantheon *p, const char *url, const char *model, long timeout_ms)
{
    free(p->llm_url);
    p->llm_url = url ? xstrdup(url) : NULL;
    if (model) {
        free(p->llm_model);
        p->llm_model = xstrdup(model);
    }
    if (timeout_ms > 0)
        p->llm_timeout_ms = timeout_ms;
}

void om_pantheon_free(om_pantheon *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->npriors; i++) {
        free(p->priors[i].clip_id);
        free(p->priors[i].creator_id);
        om_shingles_release(&p->priors[i].sh);
    }
    free(p->priors);
    for (size_t i = 0; i < p->nbanned; i++) {
        om_tokens_release(&p->banned[i]);
        free(p->banned_text[i]);
    }
    free(p->banned);
    free(p->banned_text);
    free(p->llm_url);
    free(p->llm_model);
    free(p->llm_key);
    om_relevance_free(p->rel);
    om_stemmer_free(p->st);
    free(p);
}

void om_pantheon_add_prior(om_pantheon *p, const char *clip_id, const char *creator_id,
                           const char *transcript)
{
    if (!transcript || !*transcript)
        return;
    if (p->npriors == p->apriors) {
        p->apriors = p->apriors ? p->apriors * 2 : 16;
        p->priors = xrealloc(p->priors, st_mult(p->apriors, sizeof(prior)));
    }
    prior *x = &p->priors[p->npriors++];
    x->clip_id = xstrdup(clip_id);
    x->creator_id = xstrdup(creator_id);
    om_shingles_build(p->st, transcript, 3, &x->sh);
}

size_t om_pantheon_nagents(const om_pantheon *p)
{
    (void)p;
    return OM_ARRAY_LEN(agents);
}

const char *om_pantheon_agent_name(size_t i)
{
    return i < OM_ARRAY_LEN(agents) ? agents[i].name : NULL;
}

double om_pantheon_weight(const om_pantheon *p, size_t i)
{
    return i < OM_ARRAY_LEN(agents) ? p->weights[i] : 0;
}

int om_pantheon_set_weight(om_pantheon *p, const char *agent, double w)
{
    for (size_t i = 0; i < OM_ARRAY_LEN(agents); i++)
        if (!strcmp(agents[i].name, agent)) {
            p->weights[i] = w < 0 ? 0 : w;
            return OM_OK;
        }
    return om_error_set(OM_ENOTFOUND, "Pantheon has no agent '%s'", agent);
}

int om_pantheon_vote(om_pantheon *p, const om_pantheon_clip *clip, om_vote *votes,
                     size_t *n_out)
{
    const char *text = clip->transcript;
    if (!text)
        text = json_string_value(json_object_get(clip->metadata, "transcript"));
    if (!text)
        text = "";
    size_t n = 0;
    for (size_t i = 0; i < OM_ARRAY_LEN(agents) && n < OM_PANTHEON_MAX_AGENTS; i++) {
        om_vote *v = &votes[n++];
        memset(v, 0, sizeof(*v));
        snprintf(v->agent, sizeof(v->agent), "%s", agents[i].name);
        v->weight = p->weights[i];
        if (v->weight <= 0) {
            abstain(v, "disabled by configuration (weight 0)");
            continue;
        }
        agents[i].fn(p, clip, text, v);
        v->score = clamp01(v->score);
    }
    *n_out = n;
    return OM_OK;
}

json_t *om_votes_json(const om_vote *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_pack("{s:f,s:f,s:o}", "score", round(v[i].score * 1000) / 1000,
                              "weight", v[i].weight, "reason", om_json_text(v[i].reason));
        if (v[i].veto)
            json_object_set_new(e, "veto", json_true());
        json_object_set_new(o, v[i].agent, e);
    }
    return o;
}

size_t om_votes_from_json(const json_t *j, om_vote *v, size_t max)
{
    size_t n = 0;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)j, k, e) {
        if (n >= max)
            break;
        memset(&v[n], 0, sizeof(v[n]));
        snprintf(v[n].agent, sizeof(v[n].agent), "%s", k);
        v[n].score = jnum(json_object_get(e, "score"), 0);
        v[n].weight = jnum(json_object_get(e, "weight"), 0);
        v[n].veto = json_is_true(json_object_get(e, "veto"));
        const char *r = json_string_value(json_object_get(e, "reason"));
        snprintf(v[n].reason, sizeof(v[n].reason), "%s", r ? r : "");
        n++;
    }
    return n;
}
