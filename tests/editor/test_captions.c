/* test_captions.c: ASS captions: layout (two lines at most, widths inside the safe area,
 * long words, é/ü/emoji/CJK), timing (events cover the words, never overlap), escaping, the
 * confidence gate, brand style, and a real libass render (through ffmpeg) whose lit pixels
 * must stay inside the safe area. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/captions.h"

#include <math.h>

/* words from "text" split on spaces, each 0.3 s long with 0.05 s gaps, from t0 */
static json_t *words_from(const char *text, double t0, double conf)
{
    json_t *a = json_array();
    char *dup = xstrdup(text), *save = NULL;
    double t = t0;
    for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        json_array_append_new(
            a, json_pack("{s:s,s:f,s:f,s:f}", "w", w, "start", t, "end", t + 0.3, "conf", conf));
        t += 0.35;
    }
    free(dup);
    return a;
}

static om_captions *build(json_t *words, double s, double e)
{
    om_caption_style st;
    om_caption_style_default(&st);
    om_captions *c = NULL;
    if (om_captions_build(&c, words, s, e, &st) != OM_OK)
        fail_msg("build: %s", om_error_msg());
    return c;
}

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 1
                : (*p & 0xE0) == 0xC0 ? 2
                : (*p & 0xF0) == 0xE0 ? 3
                : (*p & 0xF8) == 0xF0 ? 4
                                      : 0;
        if (!n)
            return 0;
        for (int k = 1; k < n; k++)
            if ((p[k] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

/* The visible text of an event's text: overrides removed, escapes undone, word joiners
 * dropped; lines split at \N into out[0..1]. Returns the line count. */
static int plain_lines(const char *ev, char out[2][1024])
{
    int line = 0;
    size_t n = 0;
    out[0][0] = out[1][0] = '\0';
    for (const char *p = ev; *p; p++) {
        if (*p == '{') {
            const char *q = strchr(p, '}');
            assert_non_null(q);
            p = q;
            continue;
        }
        if (*p == '\\' && p[1] == 'N') {
            out[line][n] = '\0';
            line++;
            assert_true(line < 2);
            n = 0;
            p++;
            continue;
        }
        if (*p == '\\' && (p[1] == '{' || p[1] == '}')) {
            p++;
        }
        if (strncmp(p, "\xE2\x81\xA0", 3) == 0) {
            p += 2;
            continue;
        }
        out[line][n++] = *p;
        assert_true(n < 1023);
    }
    out[line][n] = '\0';
    return line + 1;
}

static void check_events_common(const om_captions *c, double dur)
{
    for (size_t i = 0; i < c->nevents; i++) {
        const om_caption_event *ev = &c->events[i];
        assert_true(ev->nlines >= 1 && ev->nlines <= 2);
        assert_true(ev->end > ev->start);
        assert_true(ev->start >= 0 && ev->end <= dur + 0.005);
        if (i)
            assert_true(c->events[i - 1].end <= ev->start + 1e-9);
        for (int k = 0; k < ev->nlines; k++)
            if (ev->width[k] > c->max_width)
                fail_msg("event %zu line %d is %.1f px, room is %.1f", i, k, ev->width[k],
                         c->max_width);
        assert_true(valid_utf8(ev->text));
        char lines[2][1024];
        assert_int_equal(plain_lines(ev->text, lines), ev->nlines);
    }
    assert_true(valid_utf8(c->ass));
    assert_true(c->measured_max <= c->max_width);
}

static void test_layout_and_timing(void **state)
{
    (void)state;
    const char *text =
        "So here is the thing about building a clip farm that actually works every day "
        "you need captions that people can read on a phone without squinting at all";
    json_t *w = words_from(text, 100.0, 0.9);
    om_captions *c = build(w, 99.0, 112.0);
    assert_true(c->font_measured);
    assert_int_equal(c->nwords, json_array_size(w));
    assert_true(c->nevents >= c->nwords - 1);
    check_events_common(c, 13.0);
    /* the export safe area: 86 px (8%) each side of 1080 */
    assert_true(fabs(c->max_width - (1080 - 2 * 86)) < 1e-6);
    /* at least one page uses two lines, and lines are reasonably full (greedy wrapping) */
    int two = 0;
    for (size_t i = 0; i < c->nevents; i++)
        two |= c->events[i].nlines == 2;
    assert_true(two);
    assert_true(c->measured_max > c->max_width * 0.6);
    /* coverage: every word's [start, end] (clip time) is inside the union of events, and the
     * event shown at a word's midpoint highlights that word */
    size_t i;
    json_t *o;
    size_t wi = 0;
    json_array_foreach(w, i, o)
    {
        double s = json_real_value(json_object_get(o, "start")) - 99.0;
        double e = json_real_value(json_object_get(o, "end")) - 99.0;
        for (double t = s + 0.005; t < e - 0.005; t += 0.01) {
            int covered = 0;
            for (size_t k = 0; k < c->nevents; k++)
                if (c->events[k].start <= t && t < c->events[k].end)
                    covered = 1;
            if (!covered)
                fail_msg("word %zu not covered at t=%.2f", i, t);
        }
        double mid = (s + e) / 2;
        for (size_t k = 0; k < c->nevents; k++)
            if (c->events[k].start <= mid && mid < c->events[k].end)
                assert_int_equal(c->events[k].word, wi);
        wi++;
    }
    /* highlighted word appears in the brand highlight colour (#FFD700 -> &H00D7FF) */
    assert_non_null(strstr(c->events[0].text, "{\\1c&H00D7FF&}So{\\1c&HFFFFFF&}"));
    /* the script: play resolution, no libass wrapping, our style */
    assert_non_null(strstr(c->ass, "PlayResX: 1080\nPlayResY: 1920\nWrapStyle: 2\n"));
    assert_non_null(strstr(c->ass, "Style: Default,DejaVu Sans,64,&H00FFFFFF,"));
    om_captions_free(c);
    json_decref(w);
}

static void test_clip_window_shift(void **state)
{
    (void)state;
    json_t *w = words_from("one two three four five six seven eight", 10.0, 0.9);
    /* clip [10.7, 12.0): words by midpoint: three (10.70-11.00) .. six (11.75-12.05)*/
    om_captions *c = build(w, 10.7, 12.0);
    assert_int_equal(c->nwords, 4);
    assert_true(fabs(c->events[0].start - 0.0) < 0.011);
    assert_non_null(strstr(c->events[0].text, "three"));
    assert_null(strstr(c->ass, "two"));
    assert_null(strstr(c->ass, "seven"));
    check_events_common(c, 1.3);
    /* the last word is cut at the clip end */
    assert_true(c->events[c->nevents - 1].end <= 1.3 + 1e-9);
    om_captions_free(c);
    json_decref(w);
}

static void test_long_word_and_unicode(void **state)
{
    (void)state;
    const char *cjk =
        "漢字かな交じり文の字幕は空白なしで長く続くことがあるので途中で折り返す必要がある長い文";
    const char *emoji = "👍🏽👍🏽👍🏽👨‍👩‍👧‍👦👨‍👩‍👧‍👦🇩🇪🇫🇷e\xCC"
                        "\x81"
                        "e\xCC\x81"
                        "👍🏽👍🏽👍🏽👍🏽👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦🇩🇪🇫🇷🇩🇪👍🏽👍"
                        "🏽👍🏽👍🏽👍🏽👍🏽👍🏽";
    json_t *w = json_array();
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "Crème", "start", 0.0, "end", 0.3, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "brûlée", "start", 0.35, "end", 0.7, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "über", "start", 0.75, "end", 1.0, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", cjk, "start", 1.5, "end", 3.0, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", emoji, "start", 4.5, "end", 5.5, "conf", 0.9));
    json_array_append_new(
        w,
        json_pack("{s:s,s:f,s:f,s:f}", "w",
                  "Pneumonoultramicroscopicsilicovolcanoconiosis-and-antidisestablishmentarianism",
                  "start", 7.0, "end", 8.0, "conf", 0.9));
    om_captions *c = build(w, 0.0, 10.0);
    check_events_common(c, 10.0);
    char first[2][1024];
    plain_lines(c->events[0].text, first);
    assert_string_equal(first[0], "Crème brûlée über");
    /* each long word was split over several lines; putting the pieces back gives the word */
    const char *longs[] = {
        cjk, emoji,
        "Pneumonoultramicroscopicsilicovolcanoconiosis-and-antidisestablishmentarianism"};
    for (size_t k = 0; k < 3; k++) {
        om_sbuf joined = OM_SBUF_INIT;
        sb_puts(&joined, "");
        size_t pieces = 0;
        const char *last = NULL;
        for (size_t i = 0; i < c->nevents; i++) {
            char lines[2][1024];
            int n = plain_lines(c->events[i].text, lines);
            for (int l = 0; l < n; l++) {
                if (strstr(longs[k], lines[l]) && strlen(lines[l]) > 3 &&
                    (!last || strcmp(last, lines[l]) != 0)) {
                    /* a line of a split word; pages repeat lines, so take each once */
                    if (!strstr(sb_str(&joined), lines[l])) {
                        sb_puts(&joined, lines[l]);
                        pieces++;
                    }
                }
            }
        }
        if (strcmp(sb_str(&joined), longs[k]) != 0)
            fail_msg("long word %zu reassembled as '%s'", k, sb_str(&joined));
        assert_true(pieces >= 2);
        sb_release(&joined);
    }
    /* no line starts with a combining mark, skin tone modifier, ZWJ or variation selector */
    for (size_t i = 0; i < c->nevents; i++) {
        char lines[2][1024];
        int n = plain_lines(c->events[i].text, lines);
        for (int l = 0; l < n; l++) {
            const unsigned char *p = (const unsigned char *)lines[l];
            assert_false(p[0] == 0xCC); /* U+0300.. */
            assert_false(memcmp(p, "\xF0\x9F\x8F", 3) == 0 && p[3] >= 0xBB && p[3] <= 0xBF);
            assert_false(memcmp(p, "\xE2\x80\x8D", 3) == 0);
            assert_false(memcmp(p, "\xEF\xB8\x8F", 3) == 0);
        }
    }
    om_captions_free(c);
    json_decref(w);
}

static void test_invalid_utf8_and_fillers(void **state)
{
    (void)state;
    json_t *w = json_array();
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "<s>", "start", 0.0, "end", 0.1, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "hello(2)", "start", 0.1, "end", 0.4, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "[NOISE]", "start", 0.4, "end", 0.5, "conf", 0.9));
    json_array_append_new(w, json_pack("{s:s,s:f,s:f,s:f}", "w", "new\nline\ttab", "start", 0.5,
                                       "end", 0.8, "conf", 0.9));
    json_array_append_new(w, json_pack("{s:s,s:f,s:f}", "w", "noconf", "start", 0.8, "end", 1.0));
    json_array_append_new(w, json_pack("{s:i}", "bogus", 1)); /* malformed: skipped */
    /* jansson refuses invalid UTF-8, so build the raw bytes through json_stringn_nocheck */
    json_t *bad = json_object();
    json_object_set_new(bad, "w",
                        json_stringn_nocheck("caf\xC3"
                                             "x\xE9\xFF",
                                             7));
    json_object_set_new(bad, "start", json_real(1.0));
    json_object_set_new(bad, "end", json_real(1.3));
    json_array_append_new(w, bad);
    om_captions *c = build(w, 0.0, 3.0);
    assert_int_equal(c->nwords, 4); /* hello, new line tab, noconf, caf?x?? */
    char first[2][1024];
    assert_int_equal(plain_lines(c->events[0].text, first), 2);
    char *both = xasprintf("%s %s", first[0], first[1]);
    assert_string_equal(both, "hello new line tab noconf caf\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD");
    free(both);
    assert_null(strstr(c->ass, "(2)"));
    assert_null(strstr(c->ass, "NOISE"));
    assert_null(strstr(c->ass, "<s>"));
    assert_int_equal(json_array_size(c->dropped_lines), 0);
    check_events_common(c, 3.0);
    om_captions_free(c);
    json_decref(w);
}

static void test_escaping(void **state)
{
    (void)state;
    char *e = om_captions_escape("{\\b1}bold\\Nnot C:\\x \\h}");
    assert_string_equal(e, "\\{\\b1\\}bold\\\xE2\x81\xA0Nnot C:\\x \\\xE2\x81\xA0h\\}");
    free(e);
    json_t *w = json_array();
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "{\\fs200}", "start", 0.0, "end", 0.3, "conf", 0.9));
    json_array_append_new(
        w, json_pack("{s:s,s:f,s:f,s:f}", "w", "a\\Nb", "start", 0.4, "end", 0.6, "conf", 0.9));
    om_captions *c = build(w, 0.0, 2.0);
    /* the only override blocks in the events are our colour switches */
    for (size_t i = 0; i < c->nevents; i++) {
        const char *p = c->events[i].text;
        for (const char *b = strchr(p, '{'); b; b = strchr(b + 1, '{')) {
            if (b > p && b[-1] == '\\')
                continue; /* escaped literal brace */
            assert_true(strncmp(b, "{\\1c&H", 6) == 0);
        }
        assert_null(strstr(p, "\\fs200}"));
        char lines[2][1024];
        assert_int_equal(plain_lines(p, lines), 1); /* the literal \N did not break the line */
        assert_string_equal(lines[0], "{\\fs200} a\\Nb");
    }
    om_captions_free(c);
    json_decref(w);
}

static void test_confidence_gate(void **state)
{
    (void)state;
    json_t *w = json_array();
    /* phrase 1: confident sentence. phrase 2 (after a pause): mostly mumbles. phrase 3:
     * exactly half low: kept (the gate drops lines that are MOSTLY low). */
    const char *p1[] = {"This", "part", "is", "clear."};
    const char *p2[] = {"uh", "mm", "gonna", "the"};
    double c2[] = {0.2, 0.1, 0.8, 0.3};
    const char *p3[] = {"half", "and", "half."};
    double c3[] = {0.9, 0.2, 0.6};
    double t = 0;
    for (int i = 0; i < 4; i++, t += 0.3)
        json_array_append_new(w, json_pack("{s:s,s:f,s:f,s:f}", "w", p1[i], "start", t, "end",
                                           t + 0.25, "conf", 0.95));
    t += 1.5;
    for (int i = 0; i < 4; i++, t += 0.3)
        json_array_append_new(w, json_pack("{s:s,s:f,s:f,s:f}", "w", p2[i], "start", t, "end",
                                           t + 0.25, "conf", c2[i]));
    t += 1.5;
    for (int i = 0; i < 3; i++, t += 0.3)
        json_array_append_new(w, json_pack("{s:s,s:f,s:f,s:f}", "w", p3[i], "start", t, "end",
                                           t + 0.25, "conf", c3[i]));
    om_captions *c = build(w, 0.0, 10.0);
    assert_int_equal(c->nlines_dropped, 1);
    assert_int_equal(json_array_size(c->dropped_lines), 1);
    json_t *d = json_array_get(c->dropped_lines, 0);
    assert_string_equal(json_string_value(json_object_get(d, "text")), "uh mm gonna the");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "low ASR confidence");
    assert_true(fabs(json_real_value(json_object_get(d, "mean_conf")) - 0.35) < 1e-6);
    assert_int_equal(json_integer_value(json_object_get(d, "low_words")), 3);
    assert_true(fabs(json_real_value(json_object_get(d, "start")) - 2.7) < 1e-6);
    assert_null(strstr(c->ass, "gonna"));
    assert_non_null(strstr(c->ass, "clear."));
    assert_non_null(strstr(c->ass, "half"));
    check_events_common(c, 10.0);
    json_t *rep = om_captions_report(c);
    assert_int_equal(json_array_size(json_object_get(rep, "dropped_lines")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "lines")), 2);
    json_decref(rep);
    om_captions_free(c);

    /* a stricter threshold drops the half line too */
    om_caption_style st;
    om_caption_style_default(&st);
    st.min_conf = 0.7;
    assert_int_equal(om_captions_build(&c, w, 0.0, 10.0, &st), OM_OK);
    assert_int_equal(c->nlines_dropped, 2);
    om_captions_free(c);
    json_decref(w);
}

static void test_brand_style(void **state)
{
    (void)state;
    om_caption_style st;
    om_caption_style_default(&st);
    json_t *brand = json_pack("{s:{s:s,s:i,s:s,s:s,s:s,s:s}}", "caption", "font", "DejaVu Serif",
                              "size", 80, "color", "#112233", "highlight_color", "#00FF80",
                              "outline_color", "#FF0000", "position", "top");
    assert_int_equal(om_caption_style_from_brand(&st, brand), OM_OK);
    json_decref(brand);
    assert_int_equal(st.size, 80);
    json_t *w = words_from("brand new style", 0.0, 0.9);
    om_captions *c = NULL;
    assert_int_equal(om_captions_build(&c, w, 0.0, 2.0, &st), OM_OK);
    /* &HAABBGGRR: #112233 -> &H00332211, outline #FF0000 -> &H000000FF, top = alignment 8 */
    assert_non_null(
        strstr(c->ass, "Style: Default,DejaVu Serif,80,&H00332211,&H0080FF00,&H000000FF,"));
    assert_non_null(strstr(c->ass, ",1,5,0,8,86,86,192,1\n"));
    assert_non_null(strstr(c->ass, "{\\1c&H80FF00&}brand{\\1c&H332211&}"));
    assert_true(c->font_measured);
    om_captions_free(c);
    json_decref(w);
    /* the serif font is measured with its own advances: wider than Sans for the same text */
    om_caption_style sans;
    om_caption_style_default(&sans);
    sans.size = 80;
    assert_true(om_captions_measure(&st, "Hamburgefonstiv") >
                om_captions_measure(&sans, "Hamburgefonstiv"));

    /* #RRGGBBAA: AA is opacity; ASS wants transparency (&H7F for 0x80 opacity) */
    om_caption_style st2;
    om_caption_style_default(&st2);
    json_t *alpha = json_pack("{s:{s:s,s:i}}", "caption", "outline_color", "#FF000080", "size", 8);
    assert_int_equal(om_caption_style_from_brand(&st2, alpha), OM_OK);
    json_decref(alpha);
    w = words_from("alpha", 0.0, 0.9);
    assert_int_equal(om_captions_build(&c, w, 0.0, 1.0, &st2), OM_OK);
    assert_non_null(strstr(c->ass, ",&H7F0000FF,&H80000000,"));
    assert_non_null(strstr(c->ass, "Style: Default,DejaVu Sans,8,"));
    om_captions_free(c);
    json_decref(w);

    json_t *badc = json_pack("{s:{s:s}}", "caption", "highlight_color", "yellow");
    assert_int_equal(om_caption_style_from_brand(&st, badc), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "brand.caption.highlight_color"));
    json_decref(badc);
    json_t *badf = json_pack("{s:{s:s}}", "caption", "font", "Evil,Font");
    assert_int_equal(om_caption_style_from_brand(&st, badf), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "brand.caption.font"));
    json_decref(badf);
    json_t *badp = json_pack("{s:{s:s}}", "caption", "position", "left");
    assert_int_equal(om_caption_style_from_brand(&st, badp), OM_EINVAL);
    json_decref(badp);
    assert_int_equal(om_caption_style_from_brand(&st, NULL), OM_OK);
}

static void test_measure(void **state)
{
    (void)state;
    om_caption_style st;
    om_caption_style_default(&st);
    double m = om_captions_measure(&st, "m"), i = om_captions_measure(&st, "i");
    assert_true(m > 2 * i); /* proportional font, real advances */
    /* DejaVu Sans 'm' advance is 1995/2048 em; libass size 64 = 2384 units high */
    assert_true(fabs(m - 1995.0 * 64 / 2384) < 0.01);
    assert_true(fabs(om_captions_measure(&st, "mm") - 2 * m) < 1e-9);
    assert_true(om_captions_measure(&st, "é") > 0);
    assert_true(om_captions_measure(&st, "e\xCC\x81") - om_captions_measure(&st, "e") < 1e-9);
}

/* Renders the widest event with libass (ffmpeg ass filter) on black and checks that every
 * lit pixel lies inside the safe area and that the text has at most two rows. */
static void test_render_inside_safe_area(void **state)
{
    (void)state;
    const char *text =
        "Wide words make wrapping matter: WWWWW MMMMM mmmmm wwwww and some ordinary words "
        "follow them quite happily until the end of the sentence";
    json_t *w = words_from(text, 0.0, 0.9);
    om_captions *c = build(w, 0.0, 10.0);
    size_t widest = 0;
    for (size_t i = 0; i < c->nevents; i++)
        if (fmax(c->events[i].width[0], c->events[i].width[1]) >
            fmax(c->events[widest].width[0], c->events[widest].width[1]))
            widest = i;
    const om_caption_event *ev = &c->events[widest];
    assert_int_equal(ev->nlines, 2);
    char dir[] = "/tmp/omniva-captions-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *ass = xasprintf("%s/c.ass", dir), *raw = xasprintf("%s/f.rgb", dir);
    assert_int_equal(om_write_file_atomic(ass, c->ass, strlen(c->ass)), OM_OK);
    char ss[32], vf[512];
    snprintf(ss, sizeof(ss), "%.3f", (ev->start + ev->end) / 2);
    snprintf(vf, sizeof(vf), "ass=filename=%s:fontsdir=/usr/share/fonts/truetype/dejavu", ass);
    const char *argv[] = {"ffmpeg",
                          "-hide_banner",
                          "-loglevel",
                          "error",
                          "-y",
                          "-f",
                          "lavfi",
                          "-i",
                          "color=c=black:s=1080x1920:r=25:d=10",
                          "-ss",
                          ss,
                          "-vf",
                          vf,
                          "-frames:v",
                          "1",
                          "-pix_fmt",
                          "rgb24",
                          "-f",
                          "rawvideo",
                          raw,
                          NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 60000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code != 0)
        fail_msg("ffmpeg: %s", r.err);
    om_proc_result_release(&r);
    char *px = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(raw, 0, &px, &len), OM_OK);
    assert_int_equal(len, 1080 * 1920 * 3);
    int x0 = 1080, x1 = -1, y0 = 1920, y1 = -1, highlight = 0, rows = 0, in_row = 0;
    for (int y = 0; y < 1920; y++) {
        int lit_row = 0;
        for (int x = 0; x < 1080; x++) {
            const unsigned char *p = (const unsigned char *)px + ((size_t)y * 1080 + x) * 3;
            if (p[0] > 40 || p[1] > 40 || p[2] > 40) {
                lit_row = 1;
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
            if (p[0] > 200 && p[1] > 160 && p[2] < 60)
                highlight++; /* #FFD700 */
        }
        if (lit_row && !in_row)
            rows++;
        in_row = lit_row;
    }
    printf("[ captions ] widest event: measured %.0f/%.0f px, rendered x %d..%d y %d..%d\n",
           ev->width[0], ev->width[1], x0, x1, y0, y1);
    assert_true(x1 > x0);
    assert_true(x0 >= (int)(1080 * 0.08) - 1);
    assert_true(x1 <= 1080 - (int)(1080 * 0.08));
    assert_true(y1 < 1920 * 0.85); /* above the lower UI zone */
    assert_true(y0 > 1920 / 2);    /* bottom position */
    assert_int_equal(rows, 2);
    assert_true(highlight > 50); /* the current word is in the highlight colour */
    /* measured width is conservative and close: rendered extent within [75%, 100%] */
    double wmax = fmax(ev->width[0], ev->width[1]);
    assert_true(x1 - x0 + 1 <= wmax + 1);
    assert_true(x1 - x0 + 1 >= wmax * 0.75);
    free(px);
    om_rmtree(dir);
    free(ass);
    free(raw);
    om_captions_free(c);
    json_decref(w);
}

static void test_bad_input(void **state)
{
    (void)state;
    om_caption_style st;
    om_caption_style_default(&st);
    om_captions *c = NULL;
    json_t *notarr = json_object();
    assert_int_equal(om_captions_build(&c, notarr, 0, 1, &st), OM_EINVAL);
    json_decref(notarr);
    json_t *w = json_array();
    assert_int_equal(om_captions_build(&c, w, 5, 5, &st), OM_EINVAL);
    assert_int_equal(om_captions_build(&c, w, 0, 5, &st), OM_OK);
    assert_int_equal(c->nevents, 0); /* nothing to say: a header-only script */
    assert_non_null(strstr(c->ass, "[Events]"));
    om_captions_free(c);
    json_decref(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_timing),
        cmocka_unit_test(test_clip_window_shift),
        cmocka_unit_test(test_long_word_and_unicode),
        cmocka_unit_test(test_invalid_utf8_and_fillers),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_confidence_gate),
        cmocka_unit_test(test_brand_style),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_render_inside_safe_area),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
