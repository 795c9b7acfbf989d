/* candidates.c: boundary-aligned clip windows, scored and suppressed (see candidates.h). */
#include "base/common.h"

#include <math.h>

#include "base/utf8.h"
#include "cognition/candidates.h"
#include "cognition/virality.h"

void om_cand_opts_default(om_cand_opts *o)
{
    o->min_s = 15.0;
    o->max_s = 60.0;
    o->pad_s = 0.25;
    o->pause_s = 0.35;
    o->max_overlap_s = 0.0;
    o->max_overlap_frac = 0.0;
    o->max_candidates = 10;
    o->min_word_conf = 0.5;
    o->long_source_s = 1200.0;
    o->window_s = 600.0;
    o->window_overlap_s = 120.0;
    o->window_candidates = 5;
}

void om_cand_opts_from_brand(om_cand_opts *o, const json_t *brand)
{
    const json_t *mn = json_object_get(brand, "clip_min_s");
    const json_t *mx = json_object_get(brand, "clip_max_s");
    if (json_is_number(mn))
        o->min_s = json_number_value(mn);
    if (json_is_number(mx))
        o->max_s = json_number_value(mx);
}

/* ---- internal working set ---- */

typedef struct unit {
    const char *text;
    double start, end;
    double conf; /* recognition confidence (1 for sentences and subtitles) */
} unit;

typedef struct work {
    const om_cand_input *t;
    const om_cand_opts *o;
    om_relevance *rel;
    unit *u;
    size_t n;
    int words_mode; /* units are words (1) or sentences (0) */
    unsigned char *sent_start, *sent_end, *pause_before;
    /* stems: unit i owns stems[soff[i] .. soff[i+1]) (NULL for stop words and for words
     * below min_word_conf, whose stems go to lowconf instead: reported, never scored) */
    char **stems, **lowconf;
    size_t *soff;
    size_t *ntok; /* tokens per unit, for speech rate */
    double *hook_at; /* hook score of a clip opening at unit k (-1: no clip may start there) */
    double video_loud;
    int have_loud;
    double duration;
} work;

typedef struct window {
    size_t i, j;
    size_t hook_unit; /* where the strongest hook inside the window starts */
    int buried;       /* a clearly stronger hook sits later than the opening */
    double start, end;
    om_hook_result hook;
    om_clip_scores s;
} window;

static int cmp_unit(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static int ends_sentence(const char *w)
{
    size_t n = strlen(w);
    while (n > 0 && (w[n - 1] == '"' || w[n - 1] == '\'' || w[n - 1] == ')'))
        n--;
    return n > 0 && (w[n - 1] == '.' || w[n - 1] == '!' || w[n - 1] == '?');
}

static int valid_span(double s, double e)
{
    return isfinite(s) && isfinite(e) && s >= 0 && e >= s;
}

static void work_release(work *w)
{
    free(w->u);
    free(w->sent_start);
    free(w->sent_end);
    free(w->pause_before);
    if (w->stems) {
        for (size_t k = 0; k < w->soff[w->n]; k++) {
            free(w->stems[k]);
            free(w->lowconf[k]);
        }
    }
    free(w->stems);
    free(w->lowconf);
    free(w->soff);
    free(w->ntok);
    free(w->hook_at);
}

static void work_build(work *w)
{
    const om_cand_input *t = w->t;
    const om_cand_opts *o = w->o;
    w->words_mode = t->nwords > 0;
    size_t cap = w->words_mode ? t->nwords : t->nsentences;
    w->u = xcalloc(cap ? cap : 1, sizeof(unit));
    for (size_t k = 0; k < cap; k++) {
        unit x;
        if (w->words_mode) {
            x.text = t->words[k].w ? t->words[k].w : "";
            x.start = t->words[k].start;
            x.end = t->words[k].end;
            x.conf = isfinite(t->words[k].conf) ? t->words[k].conf : 1.0;
        } else {
            x.text = t->sentences[k].text ? t->sentences[k].text : "";
            x.start = t->sentences[k].start;
            x.end = t->sentences[k].end;
            x.conf = 1.0;
        }
        if (valid_span(x.start, x.end))
            w->u[w->n++] = x;
    }
    /* stable enough: equal starts keep input order in practice; qsort is fine here */
    qsort(w->u, w->n, sizeof(unit), cmp_unit);
    size_t n = w->n;
    w->sent_start = xcalloc(n + 1, 1);
    w->sent_end = xcalloc(n + 1, 1);
    w->pause_before = xcalloc(n + 1, 1);
    w->duration = t->duration > 0 ? t->duration : (n ? w->u[n - 1].end : 0);
    if (n == 0)
        return;

    if (!w->words_mode) {
        memset(w->sent_start, 1, n);
        memset(w->sent_end, 1, n);
    } else {
        for (size_t s = 0; s < t->nsentences; s++) {
            const om_cand_sentence *se = &t->sentences[s];
            if (!valid_span(se->start, se->end))
                continue;
            for (size_t i = 0; i < n; i++) {
                if (w->u[i].start >= se->start - 0.15 && w->u[i].start < se->end) {
                    w->sent_start[i] = 1;
                    break;
                }
            }
            for (size_t i = n; i-- > 0;) {
                if (w->u[i].end <= se->end + 0.15 && w->u[i].end > se->start) {
                    w->sent_end[i] = 1;
                    break;
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (ends_sentence(w->u[i].text)) {
                w->sent_end[i] = 1;
                if (i + 1 < n)
                    w->sent_start[i + 1] = 1;
            }
        }
    }
    w->sent_start[0] = 1;
    w->sent_end[n - 1] = 1;
    for (size_t i = 1; i < n; i++) {
        double a = w->u[i - 1].end, b = w->u[i].start, gap = b - a;
        if (gap >= o->pause_s) {
            w->pause_before[i] = 1;
            continue;
        }
        if (gap < 0.1)
            continue;
        for (size_t s = 0; s < t->nsilences; s++) {
            double lo = fmax(t->silences[s].start, a), hi = fmin(t->silences[s].end, b);
            if (hi - lo >= 0.5 * gap) {
                w->pause_before[i] = 1;
                break;
            }
        }
    }

    /* stems and token counts per unit */
    om_stemmer *st = w->rel ? om_relevance_stemmer(w->rel) : NULL;
    w->soff = xcalloc(n + 1, sizeof(size_t));
    w->ntok = xcalloc(n, sizeof(size_t));
    size_t alloc = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        om_tokens toks = OM_TOKENS_INIT;
        om_text_tokens(w->u[i].text, &toks);
        w->ntok[i] = toks.n;
        w->soff[i] = used;
        if (st) {
            for (size_t k = 0; k < toks.n; k++) {
                if (used == alloc) {
                    alloc = alloc ? alloc * 2 : 256;
                    w->stems = xrealloc(w->stems, st_mult(alloc, sizeof(char *)));
                    w->lowconf = xrealloc(w->lowconf, st_mult(alloc, sizeof(char *)));
                }
                const char *tk = toks.v[k];
                char *stem = (strlen(tk) < 2 || om_text_is_stopword(tk)) ? NULL : om_stem(st, tk);
                int trusted = w->u[i].conf >= w->o->min_word_conf;
                w->stems[used] = trusted ? stem : NULL;
                w->lowconf[used] = trusted ? NULL : stem;
                used++;
            }
        }
        om_tokens_release(&toks);
    }
    w->soff[n] = used;

    double sum = 0;
    size_t cnt = 0;
    for (size_t k = 0; k < t->nloudness; k++) {
        if (isfinite(t->loudness[k]) && t->loudness[k] > -70.0) {
            sum += t->loudness[k];
            cnt++;
        }
    }
    w->have_loud = cnt > 0;
    w->video_loud = cnt ? sum / (double)cnt : NAN;
}

static int start_ok(const work *w, size_t i)
{
    if (i == 0)
        return 1;
    if (w->u[i].start - w->u[i - 1].end < 0)
        return 0;
    return w->sent_start[i] || w->pause_before[i];
}

static int end_ok(const work *w, size_t j)
{
    if (j + 1 == w->n)
        return 1;
    if (w->u[j + 1].start - w->u[j].end < 0)
        return 0;
    return w->sent_end[j] || w->pause_before[j + 1];
}

static char *join_units(const work *w, size_t i, size_t j)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t k = i; k <= j; k++) {
        if (!w->u[k].text[0])
            continue;
        if (sb.len)
            sb_puts(&sb, " ");
        sb_puts(&sb, w->u[k].text);
    }
    return sb_detach(&sb);
}

/* Text said in [start, start + OM_HOOK_WINDOW_S): the words there; sentences that start in
 * that window instead when one of them carries a '?' the words lack. */
static char *opening_text(const work *w, size_t i, size_t j, double start)
{
    double lim = start + OM_HOOK_WINDOW_S;
    size_t last = i;
    for (size_t k = i; k <= j && w->u[k].start < lim; k++)
        last = k;
    char *words = join_units(w, i, last);
    if (!w->words_mode || strchr(words, '?'))
        return words;
    const om_cand_input *t = w->t;
    om_sbuf sb = OM_SBUF_INIT;
    int has_q = 0;
    for (size_t s = 0; s < t->nsentences; s++) {
        const om_cand_sentence *se = &t->sentences[s];
        if (!se->text || se->start < start - 0.3 || se->start >= lim)
            continue;
        if (strchr(se->text, '?'))
            has_q = 1;
        if (sb.len)
            sb_puts(&sb, " ");
        sb_puts(&sb, se->text);
    }
    if (has_q) {
        free(words);
        return sb_detach(&sb);
    }
    sb_release(&sb);
    return words;
}

#define HOOK_BREATH_S 0.5        /* a clip may open this long before its hook */
#define HOOK_BURIED_MARGIN 0.15  /* a later hook this much stronger counts as buried */
#define HOOK_BURIED_PENALTY 0.75 /* combined score factor of a window with a buried hook */

static void score_window(work *w, window *win)
{
    const om_cand_input *t = w->t;
    size_t i = win->i, j = win->j;
    double dur = win->end - win->start;
    om_clip_scores *s = &win->s;

    char *open = opening_text(w, i, j, w->u[i].start);
    om_hooks_detect(open, &win->hook);
    free(open);
    s->hook = win->hook.score;

    /* energy */
    s->loud_rel_db = NAN;
    int have = 0;
    if (w->have_loud) {
        size_t a = (size_t)floor(win->start), b = (size_t)ceil(win->end);
        double sum = 0;
        size_t cnt = 0;
        for (size_t k = a; k < b && k < t->nloudness; k++) {
            if (isfinite(t->loudness[k]) && t->loudness[k] > -70.0) {
                sum += t->loudness[k];
                cnt++;
            }
        }
        if (cnt) {
            s->loud_rel_db = sum / (double)cnt - w->video_loud;
            have = 1;
        }
    }
    size_t sc = 0;
    for (size_t k = 0; k < t->nscenes; k++)
        if (t->scenes[k] >= win->start && t->scenes[k] < win->end)
            sc++;
    s->scenes_per_min = dur > 0 ? (double)sc * 60.0 / dur : 0;
    s->energy = om_energy_score(s->loud_rel_db, have, s->scenes_per_min);

    size_t toks = 0;
    for (size_t k = i; k <= j; k++)
        toks += w->ntok[k];
    double speech = w->u[j].end - w->u[i].start;
    s->wpm = speech > 0 ? (double)toks * 60.0 / speech : 0;
    s->pace = om_pace_score(s->wpm);
    s->engagement = t->engagement;

    om_virality_in vi = {s->hook, s->energy, s->pace, t->engagement};
    s->virality = om_virality_score(&vi);
    if (w->rel) {
        size_t a = w->soff[i], b = w->soff[j + 1];
        s->relevance =
            om_relevance_score_stems(w->rel, (const char *const *)w->stems + a, b - a, NULL);
    } else {
        s->relevance = OM_RELEVANCE_NEUTRAL;
    }
    s->boundary = 0.5 * w->sent_start[i] + 0.5 * w->sent_end[j];
    double c = 0.5 * s->virality + 0.4 * s->relevance + 0.1 * s->boundary;
    /* The hook must open the clip: a window whose strongest hook comes more than a breath
     * after its start (lead-in the viewer swipes away from) ranks below the same material
     * opened by that hook, which the search also tries (extended forward to the minimum
     * length); it can still win where no such window fits (a hook near the video's end). */
    win->hook_unit = i;
    for (size_t k = i + 1; k <= j; k++)
        if (w->hook_at[k] > w->hook_at[win->hook_unit])
            win->hook_unit = k;
    win->buried = win->hook_unit != i &&
                  w->u[win->hook_unit].start - w->u[i].start > HOOK_BREATH_S &&
                  w->hook_at[win->hook_unit] > w->hook_at[i] + HOOK_BURIED_MARGIN;
    if (win->buried)
        c *= HOOK_BURIED_PENALTY;
    s->combined = c < 0 ? 0 : c > 1 ? 1 : c;
}

static int cmp_window(const void *a, const void *b)
{
    const window *x = a, *y = b;
    if (x->s.combined != y->s.combined)
        return x->s.combined < y->s.combined ? 1 : -1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* NMS: does `win` overlap a kept candidate by more than the options allow? */
static int clashes(const om_cand_opts *o, const window *win, const om_candidate *c, size_t nc)
{
    for (size_t m = 0; m < nc; m++) {
        double ov = fmin(win->end, c[m].end) - fmax(win->start, c[m].start);
        double shorter = fmin(win->end - win->start, c[m].end - c[m].start);
        if (ov > fmax(o->max_overlap_s, o->max_overlap_frac * shorter) + 1e-9)
            return 1;
    }
    return 0;
}

static void make_candidate(work *wk, const window *win, om_candidate *x)
{
    x->start = win->start;
    x->end = win->end;
    x->first_unit = win->i;
    x->last_unit = win->j;
    x->start_sentence = wk->sent_start[win->i];
    x->end_sentence = wk->sent_end[win->j];
    x->text = join_units(wk, win->i, win->j);
    x->hook = win->hook;
    x->s = win->s;
    x->hook_offset_s = wk->u[win->hook_unit].start - x->start;
    if (x->hook_offset_s < 0)
        x->hook_offset_s = 0;
    x->hook_buried = win->buried;
    om_relevance *rel = wk->rel;
    if (rel) {
        size_t a = wk->soff[win->i], b = wk->soff[win->j + 1];
        om_relevance_score_stems(rel, (const char *const *)wk->stems + a, b - a, &x->matched);
        /* what the words below the confidence gate would have matched: for the record */
        json_t *low = NULL;
        om_relevance_score_stems(rel, (const char *const *)wk->lowconf + a, b - a, &low);
        x->ignored = json_array();
        size_t q;
        json_t *v;
        json_array_foreach(low, q, v)
        {
            int dup = 0;
            size_t m;
            json_t *u;
            json_array_foreach(x->matched, m, u) dup |= json_equal(u, v);
            if (!dup)
                json_array_append(x->ignored, v);
        }
        json_decref(low);
    } else {
        x->matched = json_array();
        x->ignored = json_array();
    }
    x->lowconf_words = json_array();
    for (size_t k = win->i; k <= win->j; k++)
        if (wk->u[k].text[0] && wk->u[k].conf < wk->o->min_word_conf)
            json_array_append_new(x->lowconf_words, om_json_text(wk->u[k].text));
}

/* Long sources: the talk's length, and whether it is analysed in windows. */
static double talk_length(const work *wk)
{
    double d = wk->duration;
    if (wk->n && wk->u[wk->n - 1].end > d)
        d = wk->u[wk->n - 1].end;
    return d;
}

static int long_source(const work *wk)
{
    const om_cand_opts *o = wk->o;
    return o->window_s > 0 && o->long_source_s > 0 && talk_length(wk) > o->long_source_s &&
           o->window_s > o->max_s;
}

size_t om_cand_windows(const om_cand_opts *o, double length, double *starts, size_t max)
{
    double ov = fmax(o->window_overlap_s, o->max_s); /* every clip fits whole in one window */
    if (ov >= o->window_s)
        ov = o->window_s / 2;
    double step = o->window_s - ov;
    size_t n = 0;
    for (double at = 0; n < max; at += step) {
        starts[n++] = at;
        if (at + o->window_s >= length)
            break;
    }
    return n;
}

/* Each analysis window contributes its best candidates (window_candidates of them, inside
 * it, none overlapping one already kept): round by round, so every window's best comes
 * before any window's second best; within a round, by score. */
static om_candidate *pick_windowed(work *wk, const window *wins, size_t nw, size_t *n_out)
{
    const om_cand_opts *o = wk->o;
    double starts[256];
    size_t nwin = om_cand_windows(o, talk_length(wk), starts, OM_ARRAY_LEN(starts));
    size_t per = o->window_candidates ? o->window_candidates : 5;
    size_t cap = st_mult(nwin, per);
    om_candidate *c = xcalloc(cap ? cap : 1, sizeof(*c));
    unsigned char *used = xcalloc(nw ? nw : 1, 1);
    size_t *pick = xcalloc(nwin, sizeof(size_t));
    size_t nc = 0;
    for (size_t round = 0; round < per; round++) {
        size_t round_first = nc;
        for (size_t k = 0; k < nwin; k++) {
            pick[k] = SIZE_MAX;
            double ws = starts[k], we = starts[k] + o->window_s;
            for (size_t m = 0; m < nw; m++) {
                if (used[m] || wins[m].start < ws - 1e-9 || wins[m].end > we + 1e-9)
                    continue;
                if (clashes(o, &wins[m], c, nc))
                    continue;
                pick[k] = m;
                break;
            }
            if (pick[k] == SIZE_MAX)
                continue;
            used[pick[k]] = 1;
            make_candidate(wk, &wins[pick[k]], &c[nc]);
            c[nc].window = (int)k;
            c[nc].window_start = ws;
            c[nc].window_end = we;
            nc++;
        }
        /* this round's picks by score (wins is sorted, so by index) */
        for (size_t i = round_first + 1; i < nc; i++) {
            om_candidate x = c[i];
            size_t j = i;
            while (j > round_first && c[j - 1].s.combined < x.s.combined) {
                c[j] = c[j - 1];
                j--;
            }
            c[j] = x;
        }
    }
    free(used);
    free(pick);
    *n_out = nc;
    return c;
}

int om_candidates_find(const om_cand_input *t, const om_cand_opts *o, om_relevance *rel,
                       om_candidate **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!(o->min_s > 0) || !(o->max_s >= o->min_s) || o->pad_s < 0 || o->pause_s <= 0)
        return om_error_set(OM_EINVAL,
                            "clip length limits: need 0 < clip_min_s (%g) <= clip_max_s (%g)",
                            o->min_s, o->max_s);
    work w = {0};
    w.t = t;
    w.o = o;
    w.rel = rel;
    work_build(&w);
    size_t n = w.n;
    w.hook_at = xcalloc(n ? n : 1, sizeof(double));
    for (size_t k = 0; k < n; k++) {
        w.hook_at[k] = -1;
        if (start_ok(&w, k)) {
            om_hook_result h;
            char *open = opening_text(&w, k, n - 1, w.u[k].start);
            om_hooks_detect(open, &h);
            free(open);
            w.hook_at[k] = h.score;
        }
    }

    window *wins = NULL;
    size_t nw = 0, aw = 0;
    for (size_t i = 0; i < n; i++) {
        if (!start_ok(&w, i))
            continue;
        double lo = (i == 0) ? fmin(o->pad_s, w.u[0].start)
                             : fmin(o->pad_s, (w.u[i].start - w.u[i - 1].end) / 2.0);
        for (size_t j = i; j < n; j++) {
            double core = w.u[j].end - w.u[i].start;
            if (core > o->max_s)
                break;
            if (!end_ok(&w, j))
                continue;
            double hi;
            if (j + 1 == n)
                hi = fmin(o->pad_s, fmax(0.0, w.duration - w.u[j].end));
            else
                hi = fmin(o->pad_s, (w.u[j + 1].start - w.u[j].end) / 2.0);
            double l = lo, h = hi;
            double total = core + l + h;
            if (total > o->max_s) {
                double scale = (l + h - (total - o->max_s)) / (l + h);
                l *= scale;
                h *= scale;
                total = core + l + h;
            }
            if (total < o->min_s - 1e-9)
                continue;
            if (nw == aw) {
                aw = aw ? aw * 2 : 64;
                wins = xrealloc(wins, st_mult(aw, sizeof(window)));
            }
            window *win = &wins[nw++];
            memset(win, 0, sizeof(*win));
            win->i = i;
            win->j = j;
            win->start = w.u[i].start - l;
            win->end = w.u[j].end + h;
            if (win->start < 0)
                win->start = 0;
            score_window(&w, win);
        }
    }
    if (nw)
        qsort(wins, nw, sizeof(window), cmp_window);
    size_t nc = 0;
    om_candidate *c = NULL;
    if (long_source(&w)) {
        c = pick_windowed(&w, wins, nw, &nc);
    } else {
        size_t max = o->max_candidates ? o->max_candidates : 10;
        c = xcalloc(max, sizeof(*c));
        for (size_t k = 0; k < nw && nc < max; k++) {
            if (clashes(o, &wins[k], c, nc))
                continue;
            make_candidate(&w, &wins[k], &c[nc++]);
            c[nc - 1].window = -1;
        }
    }
    free(wins);
    work_release(&w);
    if (nc == 0) {
        free(c);
        c = NULL;
    }
    *out = c;
    *n_out = nc;
    return OM_OK;
}

void om_candidates_free(om_candidate *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].text);
        json_decref(c[i].matched);
        json_decref(c[i].ignored);
        json_decref(c[i].lowconf_words);
    }
    free(c);
}

/* ---- JSON ---- */

static double round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(round3(x)) : json_null();
}

json_t *om_candidate_json(const om_candidate *c)
{
    const om_clip_scores *s = &c->s;
    const char *bd = c->start_sentence && c->end_sentence ? "sentence"
                     : c->start_sentence || c->end_sentence ? "sentence+pause"
                                                            : "pause";
    json_t *scores = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "virality",
        num_or_null(s->virality), "relevance", num_or_null(s->relevance), "hook",
        num_or_null(s->hook), "energy", num_or_null(s->energy), "pace", num_or_null(s->pace),
        "engagement", s->engagement < 0 ? json_null() : num_or_null(s->engagement),
        "combined", num_or_null(s->combined), "loudness_rel_lu", num_or_null(s->loud_rel_db),
        "scenes_per_min", num_or_null(s->scenes_per_min), "speech_rate_wpm",
        num_or_null(s->wpm), "boundary_score", num_or_null(s->boundary), "boundary", bd);
    json_t *hook = om_hook_json(&c->hook);
    json_object_set_new(hook, "offset_s", json_real(round3(c->hook_offset_s)));
    json_object_set_new(hook, "buried", json_boolean(c->hook_buried));
    json_t *win = c->window < 0 ? json_null()
                                : json_pack("{s:i,s:f,s:f}", "index", c->window, "start",
                                            round3(c->window_start), "end", round3(c->window_end));
    return json_pack("{s:f,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "start", round3(c->start), "end",
                     round3(c->end), "transcript", om_json_text(c->text), "hook",
                     hook, "scores", scores, "matched",
                     c->matched ? json_incref(c->matched) : json_array(),
                     "relevance_ignored_low_confidence",
                     c->ignored ? json_incref(c->ignored) : json_array(),
                     "low_confidence_words",
                     c->lowconf_words ? json_incref(c->lowconf_words) : json_array(),
                     "analysis_window", win);
}

static double jnum(const json_t *v, double def)
{
    return json_is_number(v) ? json_number_value(v) : def;
}

int om_cand_input_from_json(const json_t *raw, om_cand_input *t)
{
    memset(t, 0, sizeof(*t));
    t->engagement = -1;
    if (!json_is_object(raw))
        return om_error_set(OM_EINVAL, "raw_ai_output: not a JSON object");
    const json_t *words = json_object_get(raw, "words");
    if (json_is_array(words) && json_array_size(words)) {
        om_cand_word *wv = xcalloc(json_array_size(words), sizeof(*wv));
        size_t n = 0, i;
        json_t *e;
        json_array_foreach(words, i, e) {
            const json_t *tx = json_object_get(e, "w");
            if (!tx)
                tx = json_object_get(e, "word");
            double s = jnum(json_object_get(e, "start"), NAN);
            double en = jnum(json_object_get(e, "end"), NAN);
            if (!json_is_string(tx) || !valid_span(s, en))
                continue;
            wv[n].w = json_string_value(tx);
            wv[n].start = s;
            wv[n].end = en;
            wv[n].conf = jnum(json_object_get(e, "conf"), 1.0);
            n++;
        }
        t->words = wv;
        t->nwords = n;
    }
    const json_t *sents = json_object_get(raw, "sentences");
    if (json_is_array(sents) && json_array_size(sents)) {
        om_cand_sentence *sv = xcalloc(json_array_size(sents), sizeof(*sv));
        size_t n = 0, i;
        json_t *e;
        json_array_foreach(sents, i, e) {
            double s = jnum(json_object_get(e, "start"), NAN);
            double en = jnum(json_object_get(e, "end"), NAN);
            const char *tx = json_string_value(json_object_get(e, "text"));
            if (!tx || !valid_span(s, en))
                continue;
            sv[n].text = tx;
            sv[n].start = s;
            sv[n].end = en;
            n++;
        }
        t->sentences = sv;
        t->nsentences = n;
    }
    const json_t *sig = json_object_get(raw, "signals");
    if (json_is_object(sig)) {
        t->duration = jnum(json_object_get(sig, "duration"), 0);
        const json_t *st = json_object_get(json_object_get(sig, "loudness"), "short_term");
        if (json_is_array(st) && json_array_size(st)) {
            double *lv = xcalloc(json_array_size(st), sizeof(double));
            for (size_t i = 0; i < json_array_size(st); i++)
                lv[i] = jnum(json_array_get(st, i), NAN);
            t->loudness = lv;
            t->nloudness = json_array_size(st);
        }
        const json_t *si = json_object_get(sig, "silences");
        if (json_is_array(si) && json_array_size(si)) {
            om_cand_span *sp = xcalloc(json_array_size(si), sizeof(*sp));
            size_t n = 0, i;
            json_t *e;
            json_array_foreach(si, i, e) {
                double s, en;
                if (json_is_array(e)) {
                    s = jnum(json_array_get(e, 0), NAN);
                    en = jnum(json_array_get(e, 1), NAN);
                } else {
                    s = jnum(json_object_get(e, "start"), NAN);
                    en = jnum(json_object_get(e, "end"), NAN);
                }
                if (!valid_span(s, en))
                    continue;
                sp[n].start = s;
                sp[n].end = en;
                n++;
            }
            t->silences = sp;
            t->nsilences = n;
        }
        const json_t *sc = json_object_get(sig, "scenes");
        if (json_is_array(sc) && json_array_size(sc)) {
            double *sv = xcalloc(json_array_size(sc), sizeof(double));
            size_t n = 0, i;
            json_t *e;
            json_array_foreach(sc, i, e) {
                double x = json_is_object(e) ? jnum(json_object_get(e, "time"), NAN)
                                             : jnum(e, NAN);
                if (isfinite(x))
                    sv[n++] = x;
            }
            t->scenes = sv;
            t->nscenes = n;
        }
    }
    const json_t *eng = json_object_get(raw, "engagement");
    if (json_is_object(eng)) {
        double sc = jnum(json_object_get(eng, "score"), -1);
        if (sc >= 0 && sc <= 1) {
            t->engagement = sc;
        } else {
            double v = jnum(json_object_get(eng, "value"), -1);
            double med = jnum(json_object_get(eng, "creator_median"), -1);
            if (v >= 0 && med > 0)
                t->engagement = om_engagement_score(v, med);
        }
    }
    return OM_OK;
}

void om_cand_input_release(om_cand_input *t)
{
    free((void *)t->words);
    free((void *)t->sentences);
    free((void *)t->silences);
    free((void *)t->loudness);
    free((void *)t->scenes);
    memset(t, 0, sizeof(*t));
}

int om_analysis_evaluate(const json_t *raw, const json_t *brand, const om_cand_opts *base,
                         json_t **out)
{
    *out = NULL;
    om_cand_input t;
    int rc = om_cand_input_from_json(raw, &t);
    if (rc)
        return rc;
    om_cand_opts o;
    if (base)
        o = *base;
    else
        om_cand_opts_default(&o);
    if (brand)
        om_cand_opts_from_brand(&o, brand);
    om_stemmer *st = om_stemmer_new();
    om_relevance *rel = brand ? om_relevance_from_brand(st, brand) : om_relevance_new(st, NULL, NULL, 0);

    om_candidate *c = NULL;
    size_t nc = 0;
    rc = om_candidates_find(&t, &o, rel, &c, &nc);
    if (rc) {
        om_relevance_free(rel);
        om_stemmer_free(st);
        om_cand_input_release(&t);
        return om_error_wrap(rc, "finding clip candidates");
    }

    /* the whole transcript: sentences when present, else words */
    om_sbuf sb = OM_SBUF_INIT;
    const char **docs;
    size_t ndocs;
    if (t.nsentences) {
        docs = xcalloc(t.nsentences, sizeof(char *));
        for (size_t i = 0; i < t.nsentences; i++) {
            docs[i] = t.sentences[i].text;
            if (sb.len)
                sb_puts(&sb, " ");
            sb_puts(&sb, t.sentences[i].text);
        }
        ndocs = t.nsentences;
    } else {
        for (size_t i = 0; i < t.nwords; i++) {
            if (sb.len)
                sb_puts(&sb, " ");
            sb_puts(&sb, t.words[i].w);
        }
        docs = xcalloc(1, sizeof(char *));
        docs[0] = sb_str(&sb);
        ndocs = 1;
    }
    char *full = xstrdup(sb_str(&sb));
    json_t *keywords = om_keywords_extract(st, docs, ndocs, 10);
    free(docs);
    sb_release(&sb);

    /* the video's relevance counts only words heard with confidence (as the clips' does) */
    om_sbuf trusted = OM_SBUF_INIT;
    for (size_t i = 0; i < t.nwords; i++)
        if (!(t.words[i].conf < o.min_word_conf) && t.words[i].w) {
            if (trusted.len)
                sb_puts(&trusted, " ");
            sb_puts(&trusted, t.words[i].w);
        }
    double relevance = om_relevance_score(rel, t.nwords ? sb_str(&trusted) : full, NULL);
    sb_release(&trusted);
    double virality = 0;
    json_t *cands = json_array();
    for (size_t i = 0; i < nc; i++) {
        if (c[i].s.virality > virality)
            virality = c[i].s.virality;
        json_array_append_new(cands, om_candidate_json(&c[i]));
    }
    if (nc == 0) {
        om_hook_result h;
        om_hooks_detect(full, &h);
        om_virality_in vi = {h.score, 0.5, 0, t.engagement};
        virality = om_virality_score(&vi);
    }
    *out = json_pack("{s:f,s:f,s:o,s:o,s:o}", "virality_score", round3(virality),
                     "relevance_score", round3(relevance), "keywords", keywords, "transcript",
                     om_json_text(full), "candidates", cands);
    free(full);
    om_candidates_free(c, nc);
    om_relevance_free(rel);
    om_stemmer_free(st);
    om_cand_input_release(&t);
    return OM_OK;
}
