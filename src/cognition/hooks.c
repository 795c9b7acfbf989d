/* hooks.c: hook detectors over a clip's opening text (see hooks.h for the weights). */
#include "base/common.h"

#include "cognition/hooks.h"
#include "cognition/text.h"

static const struct {
    unsigned bit;
    const char *name;
    double strength;
} kinds[] = {
    {OM_HOOK_QUESTION, "question", 0.35}, {OM_HOOK_NUMBER, "number", 0.25},
    {OM_HOOK_YOU, "you", 0.25},           {OM_HOOK_IMPERATIVE, "imperative", 0.30},
    {OM_HOOK_OPENER, "opener", 0.45},
};

static const char *const question_words[] = {
    "why", "how", "what", "who", "when", "where", "which", "did", "do", "does", "is", "are",
    "can", "could", "would", "should", "have", "has", "ever", "isn't", "aren't", "don't",
    "didn't", "will", "won't", "wanna", NULL};

static const char *const number_words[] = {
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "fifty", "hundred", "hundreds", "thousand",
    "thousands", "million", "millions", "billion", "billions", "dozen", "first", "second",
    "third", "fourth", "fifth", "tenth", "half", "percent", NULL};

static const char *const you_words[] = {"you", "your", "you're", "yours", "yourself",
                                        "you've", "you'll", "you'd", "ya", NULL};

/* Verbs that open imperative sentences in short-form speech. */
static const char *const imperative_verbs[] = {
    "stop", "look", "listen", "watch", "imagine", "think", "try", "never", "don't", "do",
    "let's", "remember", "forget", "check", "make", "take", "learn", "meet", "picture",
    "consider", "wait", "hear", "start", "quit", "avoid", "use", "keep", "save", "grab",
    "tell", "follow", "believe", "trust", "go", "come", "buy", "read", "see", "notice",
    "pay", "give", "put", "say", "ask", "guess", "hold", NULL};

/* Strong openers, matched on the lower-cased token sequence (apostrophes kept). One-word
 * openers count only as the first word of a sentence ("Stop." but not "don't stop"). */
static const char *const openers[] = {
    "here's why", "here is why", "here's how", "here is how", "here's what", "the secret",
    "the truth", "nobody tells you", "no one tells you", "nobody talks about",
    "this is why", "this is how", "you won't believe", "the biggest mistake",
    "biggest mistake", "what if", "did you know", "the reason", "i can't believe",
    "let me tell you", "this changed", "changed my life", "the best way", "the worst",
    "stop doing", "how to", "the one thing", "most people", "you need to", "you have to",
    "never do", "i wish i knew", "the problem is", "hot take", "unpopular opinion",
    "plot twist", "watch this", "wait for it", "listen to this", "warning", "stop", "psst",
    "breaking", NULL};

static int in_list(const char *const *list, const char *w)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], w))
            return 1;
    return 0;
}

static void add_reason(om_hook_result *out, unsigned bit, const char *fmt, const char *arg)
{
    if (out->fired & bit)
        return;
    out->fired |= bit;
    if (out->nreasons < OM_HOOK_MAX_REASONS) {
        snprintf(out->reasons[out->nreasons], sizeof(out->reasons[0]), fmt,
                 om_hook_kind_name(bit), arg);
        out->nreasons++;
    }
}

/* The sentence pieces of `text`: split at . ! ? (keeping the mark's kind). */
typedef struct piece {
    char *text;
    int question; /* ended with '?' */
} piece;

static size_t split_sentences(const char *text, piece *out, size_t max)
{
    size_t n = 0;
    const char *p = text;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\n' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != '!' && *e != '?' && *e != '\n' &&
               !(*e == '.' && !(e[1] >= '0' && e[1] <= '9')))
            e++; /* "3.5" stays one piece */
        out[n].text = xstrndup(p, (size_t)(e - p));
        out[n].question = (*e == '?');
        n++;
        p = *e ? e + 1 : e;
        while (*p == '.' || *p == '!' || *p == '?')
            p++;
    }
    return n;
}

static char *joined(const om_tokens *t, size_t from, size_t n)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = from; i < from + n && i < t->n; i++) {
        if (i > from)
            sb_puts(&sb, " ");
        sb_puts(&sb, t->v[i]);
    }
    return sb_detach(&sb);
}

void om_hooks_detect(const char *opening, om_hook_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!opening || !*opening)
        return;

    piece pieces[16];
    size_t np = split_sentences(opening, pieces, OM_ARRAY_LEN(pieces));
    for (size_t s = 0; s < np; s++) {
        om_tokens t = OM_TOKENS_INIT;
        om_text_tokens(pieces[s].text, &t);
        if (t.n == 0) {
            om_tokens_release(&t);
            continue;
        }
        char *first3 = joined(&t, 0, 3);
        if (pieces[s].question) {
            add_reason(out, OM_HOOK_QUESTION, "%s: \"%s...?\"", first3);
        } else if (in_list(question_words, t.v[0]) && t.n >= 3 &&
                   (strcmp(t.v[0], "do") != 0 || (t.n > 1 && !strcmp(t.v[1], "you")))) {
            /* question word first (ASR text has no '?'); "do" only as "do you ..." */
            add_reason(out, OM_HOOK_QUESTION, "%s: opens with \"%s\"", first3);
        }
        if (in_list(imperative_verbs, t.v[0]) &&
            !(t.n > 1 && in_list(you_words, t.v[1]) && strcmp(t.v[0], "don't") != 0 &&
              strcmp(t.v[0], "never") != 0)) {
            /* "look at this" is imperative; "do you" / "see you" are not */
            add_reason(out, OM_HOOK_IMPERATIVE, "%s: \"%s\"", first3);
        }
        free(first3);
        for (size_t i = 0; i < t.n; i++) {
            const char *w = t.v[i];
            if (om_text_is_number(w) || in_list(number_words, w))
                add_reason(out, OM_HOOK_NUMBER, "%s: \"%s\"", w);
            if (in_list(you_words, w))
                add_reason(out, OM_HOOK_YOU, "%s: viewer addressed (\"%s\")", w);
        }
        /* openers: any position in the opening, as a token sequence */
        char *all = joined(&t, 0, t.n);
        for (size_t k = 0; openers[k] && !(out->fired & OM_HOOK_OPENER); k++) {
            size_t ol = strlen(openers[k]);
            for (const char *hit = strstr(all, openers[k]); hit; hit = strstr(hit + 1, openers[k])) {
                int one_word = strchr(openers[k], ' ') == NULL;
                int left_ok = one_word ? hit == all : (hit == all || hit[-1] == ' ');
                int right_ok = (hit[ol] == '\0' || hit[ol] == ' ');
                if (left_ok && right_ok) {
                    add_reason(out, OM_HOOK_OPENER, "%s: \"%s\"", openers[k]);
                    break;
                }
            }
        }
        free(all);
        om_tokens_release(&t);
    }
    for (size_t s = 0; s < np; s++)
        free(pieces[s].text);

    double miss = 1.0;
    for (size_t k = 0; k < OM_ARRAY_LEN(kinds); k++)
        if (out->fired & kinds[k].bit)
            miss *= 1.0 - kinds[k].strength;
    out->score = 1.0 - miss;
}

const char *om_hook_kind_name(unsigned kind_bit)
{
    for (size_t k = 0; k < OM_ARRAY_LEN(kinds); k++)
        if (kinds[k].bit == kind_bit)
            return kinds[k].name;
    return "?";
}

json_t *om_hook_json(const om_hook_result *h)
{
    json_t *fired = json_array(), *reasons = json_array();
    for (size_t k = 0; k < OM_ARRAY_LEN(kinds); k++)
        if (h->fired & kinds[k].bit)
            json_array_append_new(fired, json_string(kinds[k].name));
    for (int i = 0; i < h->nreasons; i++)
        json_array_append_new(reasons, json_string(h->reasons[i]));
    return json_pack("{s:f,s:o,s:o}", "score", h->score, "fired", fired, "reasons", reasons);
}
