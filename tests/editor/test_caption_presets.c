/* test_caption_presets.c: the caption presets a brand picks (karaoke, pop, lower_third):
 * their ASS events (timing, style line, 1-3 upper-case words for pop, one line for the
 * lower third), brand keywords in the highlight colour, names never split by a line break,
 * the per-target safe areas (YouTube Shorts and TikTok differ; a brand on both gets the
 * union), and a real libass render (ffmpeg) of every preset on every target whose lit pixels
 * must stay inside that target's safe area. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/captions.h"

#include <ctype.h>
#include <math.h>

/* words from "text" split on spaces, each 0.3 s long with 0.05 s gaps (a 0.5 s pause after a
 * word ending in ','), from t0 */
static json_t *words_from(const char *text, double t0)
{
    json_t *a = json_array();
    char *dup = xstrdup(text), *save = NULL;
    double t = t0;
    for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        json_array_append_new(
            a, json_pack("{s:s,s:f,s:f,s:f}", "w", w, "start", t, "end", t + 0.3, "conf", 0.9));
        t += w[strlen(w) - 1] == ',' ? 0.8 : 0.35;
    }
    free(dup);
    return a;
}

/* visible text of an event: overrides removed, \N -> '|' */
static void plain(const char *ev, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = ev; *p && n + 1 < cap; p++) {
        if (*p == '{') {
            const char *q = strchr(p, '}');
            assert_non_null(q);
            p = q;
            continue;
        }
        if (*p == '\\' && p[1] == 'N') {
            out[n++] = '|';
            p++;
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

static om_captions *build_with(om_caption_preset preset, const char *targets, json_t *words,
                               double dur, om_caption_style *st_out)
{
    om_caption_style st;
    om_caption_style_default(&st);
    json_t *kw = json_pack("[s,s]", "cold brew", "Omniva");
    json_t *tg = json_array();
    char *dup = xstrdup(targets), *save = NULL;
    for (char *t = strtok_r(dup, "+", &save); t; t = strtok_r(NULL, "+", &save))
        json_array_append_new(tg, json_string(t));
    free(dup);
    json_t *brand = json_pack("{s:o, s:o, s:{s:s}}", "keywords", kw, "targets", tg, "caption",
                              "style", om_caption_preset_name(preset));
    assert_int_equal(om_caption_style_from_brand(&st, brand), OM_OK);
    om_captions *c = NULL;
    if (om_captions_build(&c, words, 0.0, dur, &st) != OM_OK)
        fail_msg("build: %s", om_error_msg());
    json_decref(brand); /* st.keywords was borrowed from it: not used after the build */
    st.keywords = NULL;
    if (st_out)
        *st_out = st;
    return c;
}

static const char *TALK =
    "Today Maria Lopez shows how cold brew changes the morning, and why Omniva keeps the "
    "coffee steady. She tried it with Jean Pierre Dubois in Paris last spring, then again "
    "at home with friends who had never had cold brew before. Everyone asked for the recipe "
    "right away.";

static void check_common(const om_captions *c, double dur)
{
    assert_true(c->nevents > 0);
    for (size_t i = 0; i < c->nevents; i++) {
        const om_caption_event *ev = &c->events[i];
        assert_true(ev->end > ev->start);
        assert_true(ev->start >= 0 && ev->end <= dur + 0.005);
        if (i)
            assert_true(c->events[i - 1].end <= ev->start + 1e-9);
        for (int k = 0; k < ev->nlines; k++)
            assert_true(ev->width[k] <= c->max_width);
        char txt[2048];
        plain(ev->text, txt, sizeof(txt));
        /* a name is never split by a line break or between events */
        const char *m = strstr(txt, "Maria");
        if (!m)
            m = strstr(txt, "MARIA");
        if (m && strncasecmp(m, "Maria Lopez", 11) != 0)
            fail_msg("event %zu splits a name: %s", i, txt);
        const char *j = strcasestr(txt, "Jean");
        if (j)
            assert_true(strncasecmp(j, "Jean Pierre Dubois", 18) == 0);
        const char *cb = strcasestr(txt, "cold");
        if (cb)
            assert_true(strncasecmp(cb, "cold brew", 9) == 0);
        if (strcasestr(txt, "Lopez"))
            assert_non_null(strcasestr(txt, "Maria Lopez"));
        if (strcasestr(txt, "Dubois"))
            assert_non_null(strcasestr(txt, "Jean Pierre Dubois"));
        if (strcasestr(txt, "brew"))
            assert_non_null(strcasestr(txt, "cold brew"));
    }
    /* keywords in the highlight colour (#FFD700 -> &H00D7FF) wherever they show */
    assert_true(c->nkeyword_words >= 5); /* cold brew x2, Omniva */
    for (size_t i = 0; i < c->nevents; i++) {
        const char *t = c->events[i].text;
        const char *o = strcasestr(t, "omniva");
        if (o)
            assert_true(o - t >= 14 && strncmp(o - 14, "{\\1c&H00D7FF&}", 14) == 0);
    }
    assert_true(c->nglued >= 4); /* Maria-Lopez, Jean-Pierre-Dubois, cold-brew x2 */
}

static void test_presets_events(void **state)
{
    (void)state;
    json_t *w = words_from(TALK, 0.0);
    double dur = json_number_value(json_object_get(json_array_get(w, json_array_size(w) - 1),
                                                   "end")) +
                 0.5;
    /* karaoke: one event per word, pages of up to two lines */
    om_caption_style st;
    om_captions *k = build_with(OM_CAPTION_KARAOKE, "export", w, dur, &st);
    check_common(k, dur);
    assert_true(k->nevents >= k->nwords - 1);
    assert_non_null(strstr(k->ass, ",1,4,0,2,86,86,346,1\n"));
    assert_non_null(strstr(k->ass, "Style: Default,DejaVu Sans,64,"));
    om_captions_free(k);

    /* pop: bold, upper case, 1-3 words a chunk, middle, pop-in scale */
    om_captions *p = build_with(OM_CAPTION_POP, "export", w, dur, &st);
    check_common(p, dur);
    assert_true(st.bold && st.size == 80);
    assert_non_null(strstr(p->ass, "Style: Default,DejaVu Sans,80,"));
    assert_non_null(strstr(p->ass, ",&H80000000,-1,0,0,0,100,100,0,0,1,6,0,5,86,86,0,1\n"));
    size_t shown = 0;
    for (size_t i = 0; i < p->nevents; i++) {
        const om_caption_event *ev = &p->events[i];
        assert_true(ev->nwords >= 1 && ev->nwords <= 3);
        assert_int_equal(ev->nlines, 1);
        assert_true(strncmp(ev->text, "{\\fscx70\\fscy70\\t(0,120,\\fscx100\\fscy100)}", 41) == 0);
        char txt[512];
        plain(ev->text, txt, sizeof(txt));
        for (char *q = txt; *q; q++)
            assert_false(islower((unsigned char)*q));
        /* a chunk starts when its first word does (no earlier than the previous ends) */
        double ws = json_number_value(
            json_object_get(json_array_get(w, ev->word), "start"));
        assert_true(fabs(ev->start - ws) < 0.011);
        shown += ev->nwords;
    }
    assert_int_equal(shown, p->nwords); /* every word shown exactly once */
    om_captions_free(p);

    /* lower third: one line, smaller, left-aligned over a box, fades */
    om_captions *l = build_with(OM_CAPTION_LOWER_THIRD, "export", w, dur, &st);
    check_common(l, dur);
    assert_int_equal(st.size, 38);
    assert_non_null(strstr(l->ass, "Style: Default,DejaVu Sans,38,&H00FFFFFF,&H0000D7FF,&H60000000,"
                                   "&H80000000,0,0,0,0,100,100,0,0,3,9,0,1,86,86,346,1\n"));
    for (size_t i = 0; i < l->nevents; i++) {
        assert_int_equal(l->events[i].nlines, 1);
        assert_true(strncmp(l->events[i].text, "{\\fad(120,120)}", 15) == 0);
    }
    om_captions_free(l);
    json_decref(w);
}

/* names stay whole wherever the wrap falls: shift the text by 0..15 filler words */
static void test_names_never_split(void **state)
{
    (void)state;
    static const char *fill[] = {"a", "we", "the", "small", "enormous", "tea"};
    size_t moved = 0;
    for (int shift = 0; shift < 16; shift++) {
        om_sbuf text = OM_SBUF_INIT;
        for (int i = 0; i < shift; i++)
            sb_printf(&text, "%s ", fill[(i * 7 + shift) % 6]);
        sb_puts(&text, "then Maria Lopez and Jean Pierre Dubois talked about cold brew with "
                       "Ana Li Berg for hours");
        json_t *w = words_from(sb_str(&text), 0.0);
        sb_release(&text);
        for (int pr = 0; pr < 3; pr++) {
            om_captions *c = build_with((om_caption_preset)pr, "tiktok", w, 40.0, NULL);
            for (size_t i = 0; i < c->nevents; i++) {
                char txt[2048];
                plain(c->events[i].text, txt, sizeof(txt));
                if (strcasestr(txt, "Lopez") && !strcasestr(txt, "Maria Lopez"))
                    fail_msg("shift %d preset %d split a name: %s", shift, pr, txt);
                if (strcasestr(txt, "Berg") && !strcasestr(txt, "Ana Li Berg"))
                    fail_msg("shift %d preset %d split a name: %s", shift, pr, txt);
                if (strcasestr(txt, "Dubois") && !strcasestr(txt, "Jean Pierre Dubois"))
                    fail_msg("shift %d preset %d split a name: %s", shift, pr, txt);
                if (strstr(txt, "|Maria Lopez") || strstr(txt, "|Jean Pierre") ||
                    strstr(txt, "|Ana Li"))
                    moved++; /* a line break that would have fallen inside a name */
            }
            om_captions_free(c);
        }
        json_decref(w);
    }
    printf("[ presets ] names moved whole to the next line: %zu times\n", moved);
    assert_true(moved > 0);
}

static void test_safe_area_table(void **state)
{
    (void)state;
    om_safe_area yt, tt;
    assert_int_equal(om_caption_safe_area("youtube", &yt), OM_OK);
    assert_int_equal(om_caption_safe_area("tiktok", &tt), OM_OK);
    /* the two platforms' overlays differ */
    assert_true(tt.bottom > yt.bottom);
    assert_true(yt.right > tt.right);
    assert_true(yt.top > tt.top);
    assert_int_equal(om_caption_safe_area("myspace", &yt), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "myspace"));
    om_error_clear();
    om_caption_style st;
    om_caption_style_default(&st);
    json_t *both = json_pack("[s,s,s]", "youtube", "tiktok", "nowhere");
    om_caption_style_set_targets(&st, both);
    json_decref(both);
    assert_string_equal(st.safe.targets, "youtube+tiktok");
    assert_int_equal(st.safe.top, 230);
    assert_int_equal(st.safe.bottom, 480);
    assert_int_equal(st.safe.left, 60);
    assert_int_equal(st.safe.right, 190);
    /* scaled to another frame size */
    st.play_w = 540;
    st.play_h = 960;
    json_t *one = json_pack("[s]", "tiktok");
    om_caption_style_set_targets(&st, one);
    json_decref(one);
    assert_int_equal(st.safe.bottom, 240);
    assert_int_equal(st.safe.right, 75);
    /* the brand's style key */
    om_caption_style_default(&st);
    json_t *bad = json_pack("{s:{s:s}}", "caption", "style", "comic");
    assert_int_equal(om_caption_style_from_brand(&st, bad), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "brand.caption.style"));
    json_decref(bad);
    om_caption_style_default(&st);
    json_t *over = json_pack("{s:{s:s, s:i, s:s}}", "caption", "style", "pop", "size", 50,
                             "position", "bottom");
    assert_int_equal(om_caption_style_from_brand(&st, over), OM_OK);
    json_decref(over);
    assert_int_equal(st.preset, OM_CAPTION_POP);
    assert_int_equal(st.size, 50); /* the brand's own fields win over the preset */
    assert_int_equal(st.position, 'b');
    assert_true(st.bold);
}

/* renders the frame at time t of `ass` over black; returns the lit bounding box */
static void render_bbox(const char *ass_text, double t, int box[4], int *highlight)
{
    char dir[] = "/tmp/omniva-presets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *ass = xasprintf("%s/c.ass", dir), *raw = xasprintf("%s/f.rgb", dir);
    assert_int_equal(om_write_file_atomic(ass, ass_text, strlen(ass_text)), OM_OK);
    char ss[32], vf[512];
    snprintf(ss, sizeof(ss), "%.3f", t);
    snprintf(vf, sizeof(vf), "ass=filename=%s:fontsdir=/usr/share/fonts/truetype/dejavu", ass);
    const char *argv[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                          "-i", "color=c=black:s=1080x1920:r=25:d=60", "-ss", ss, "-vf", vf,
                          "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", raw, NULL};
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
    box[0] = 1080, box[1] = 1920, box[2] = -1, box[3] = -1;
    *highlight = 0;
    for (int y = 0; y < 1920; y++)
        for (int x = 0; x < 1080; x++) {
            const unsigned char *p = (const unsigned char *)px + ((size_t)y * 1080 + x) * 3;
            if (p[0] > 40 || p[1] > 40 || p[2] > 40) {
                box[0] = x < box[0] ? x : box[0];
                box[1] = y < box[1] ? y : box[1];
                box[2] = x > box[2] ? x : box[2];
                box[3] = y > box[3] ? y : box[3];
            }
            if (p[0] > 200 && p[1] > 160 && p[2] < 60)
                (*highlight)++;
        }
    free(px);
    om_rmtree(dir);
    free(ass);
    free(raw);
}

static void test_render_inside_each_safe_area(void **state)
{
    (void)state;
    static const char *targets[] = {"export", "youtube", "tiktok", "youtube+tiktok"};
    static const char *positions[] = {"bottom", "top"};
    /* wide text so lines use the whole room */
    json_t *w = words_from("WWWWW MMMMM Omniva wwwww mmmmm WWWWW MMMMM wwwww mmmmm WWWWW", 0.0);
    for (size_t ti = 0; ti < OM_ARRAY_LEN(targets); ti++) {
        for (int pr = 0; pr < 3; pr++) {
            for (size_t po = 0; po < OM_ARRAY_LEN(positions); po++) {
                if (pr == OM_CAPTION_POP && po == 1)
                    continue; /* pop sits in the middle unless asked */
                om_caption_style st;
                om_caption_style_default(&st);
                json_t *tg = json_array();
                char *dup = xstrdup(targets[ti]), *save = NULL;
                for (char *t = strtok_r(dup, "+", &save); t; t = strtok_r(NULL, "+", &save))
                    json_array_append_new(tg, json_string(t));
                free(dup);
                json_t *brand = json_pack("{s:[s], s:o, s:{s:s, s:s}}", "keywords", "omniva",
                                          "targets", tg, "caption", "style",
                                          om_caption_preset_name((om_caption_preset)pr),
                                          "position", pr == OM_CAPTION_POP ? "middle"
                                                                           : positions[po]);
                assert_int_equal(om_caption_style_from_brand(&st, brand), OM_OK);
                om_captions *c = NULL;
                assert_int_equal(om_captions_build(&c, w, 0.0, 6.0, &st), OM_OK);
                json_decref(brand);
                /* the widest event, rendered in its middle */
                size_t widest = 0;
                for (size_t i = 0; i < c->nevents; i++)
                    if (fmax(c->events[i].width[0], c->events[i].width[1]) >
                        fmax(c->events[widest].width[0], c->events[widest].width[1]))
                        widest = i;
                const om_caption_event *ev = &c->events[widest];
                int box[4], hl;
                render_bbox(c->ass, (ev->start + ev->end) / 2 + 0.07, box, &hl);
                printf("[ presets ] %-15s %-11s %-6s: lit x %d..%d y %d..%d (safe x %d..%d "
                       "y %d..%d)\n",
                       targets[ti], om_caption_preset_name((om_caption_preset)pr),
                       positions[po], box[0], box[2], box[1], box[3], st.safe.left,
                       1080 - st.safe.right, st.safe.top, 1920 - st.safe.bottom);
                assert_true(box[2] > box[0]);
                assert_true(box[0] >= st.safe.left);
                assert_true(box[2] <= 1080 - st.safe.right);
                assert_true(box[1] >= st.safe.top);
                assert_true(box[3] <= 1920 - st.safe.bottom);
                if (pr == OM_CAPTION_POP) /* middle of the frame */
                    assert_true(box[1] < 960 && box[3] > 960);
                else if (po == 0)
                    assert_true(box[1] > 960);
                else
                    assert_true(box[3] < 960);
                if (pr == OM_CAPTION_LOWER_THIRD) /* left-aligned at the margin */
                    assert_true(box[0] <= st.safe.left + st.outline + 20);
                if (strstr(ev->text, "mniva") || strstr(ev->text, "MNIVA"))
                    assert_true(hl > 50); /* the keyword in the highlight colour */
                om_captions_free(c);
            }
        }
    }
    json_decref(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets_events),
        cmocka_unit_test(test_names_never_split),
        cmocka_unit_test(test_safe_area_table),
        cmocka_unit_test(test_render_inside_each_safe_area),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
