/* editcuts.c: jump cuts and audiograms for the editor stage (see editcuts.h). */
#include "base/common.h"
#include "media/jumpcut.h"
#include "stages/editcuts.h"

#include <math.h>

static void chain_add(json_t *chain, const char *step, const char *decision, const char *why)
{
    json_array_append_new(chain, json_pack("{s:s, s:s, s:s}", "step", step, "decision", decision,
                                           "reason", why));
}

int om_edit_jumpcuts(json_t *plan, json_t **words_io, double start, double end,
                     double *cap_end_io, const json_t *brand, const om_config *cfg,
                     json_t *chain)
{
    if (!json_is_true(json_object_get(brand, "jump_cuts")))
        return OM_OK;
    json_t *jp = json_object_get(brand, "jump_cut_pause");
    double pause = json_is_number(jp) ? json_number_value(jp)
                                      : om_config_double(cfg, "editor.jump_cut_pause");
    double keep = om_config_double(cfg, "editor.jump_cut_keep");
    json_t *fps = json_object_get(json_object_get(plan, "output"), "fps");
    json_t *seg = NULL;
    double removed = 0;
    int n = 0;
    int rc = om_jumpcut_find(&seg, &removed, &n, *words_io, start, end, pause, keep,
                             json_is_number(fps) ? json_number_value(fps) : 30.0);
    if (rc)
        return om_error_wrap(rc, "jump cuts");
    if (!seg) {
        char *why = xasprintf("no pause between words longer than %.2f s", pause);
        chain_add(chain, "jump_cuts", "none", why);
        free(why);
        return OM_OK;
    }
    json_t *rw = om_jumpcut_retime_words(*words_io, seg, start, end);
    json_decref(*words_io);
    *words_io = rw;
    *cap_end_io = start + om_jumpcut_kept(seg);
    char *why = xasprintf("%d pauses longer than %.2f s cut (%.2f s of %.2f s; %.2f s kept "
                          "each side), captions re-timed",
                          n, pause, removed, end - start, keep);
    chain_add(chain, "jump_cuts", "cut", why);
    free(why);
    json_object_set_new(plan, "cuts", seg);
    return OM_OK;
}

char *om_edit_opening_sentence(const json_t *words, double start, double end)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    size_t i, n = 0;
    json_t *w;
    json_array_foreach(words, i, w) {
        const char *t = json_string_value(json_object_get(w, "w"));
        json_t *js = json_object_get(w, "start"), *je = json_object_get(w, "end");
        if (!t || !*t || !json_is_number(js) || !json_is_number(je) || strchr("<[+", t[0]))
            continue;
        double mid = (json_number_value(js) + json_number_value(je)) / 2;
        if (mid < start || mid >= end)
            continue;
        size_t len = strlen(t);
        while (len > 3 && t[len - 1] == ')' && strchr(t, '(')) /* "word(2)" variants */
            len = (size_t)(strrchr(t, '(') - t);
        sb_printf(&sb, "%s%.*s", n ? " " : "", (int)len, t);
        n++;
        if (n >= 14 || strchr(".!?", t[len - 1]))
            break;
    }
    return sb_detach(&sb);
}

void om_edit_audiogram(json_t *plan, const json_t *brand, const json_t *words, double start,
                       double end, json_t *chain)
{
    const char *visual = json_string_value(json_object_get(brand, "audiogram"));
    if (!visual)
        visual = "waves";
    const char *color = json_string_value(
        json_object_get(json_object_get(brand, "caption"), "highlight_color"));
    char col[8] = "#FFD700";
    if (color && strlen(color) >= 7 && color[0] == '#')
        snprintf(col, sizeof(col), "%.7s", color);
    char *title = om_edit_opening_sentence(words, start, end);
    json_t *ag = json_pack("{s:s, s:s}", "visual", visual, "color", col);
    json_object_set_new(ag, "title", *title ? json_string(title) : json_null());
    json_object_set_new(plan, "audiogram", ag);
    json_object_set_new(plan, "reframe", json_pack("{s:s}", "mode", "center"));
    /* the crop decisions were about a picture this source does not have */
    for (size_t i = json_array_size(chain); i-- > 0;) {
        const char *step = json_string_value(json_object_get(json_array_get(chain, i), "step"));
        if (step && strcmp(step, "reframe") == 0)
            json_array_remove(chain, i);
    }
    char *why = xasprintf("audio-only source: audiogram (%s over the brand background, title "
                          "card \"%s\", captions, logo)",
                          visual, title);
    chain_add(chain, "reframe", "audiogram", why);
    free(why);
    free(title);
}
