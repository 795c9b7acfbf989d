/* editframe.c: the editor's face framing: scan the clip for faces, decide speaker / split /
 * group / none, and turn it into the plan's reframe object and one decision with its
 * evidence. See editframe.h. */
#include "base/common.h"
#include "media/facetrack.h"
#include "stages/editframe.h"

#include <math.h>

#define SRC "editor_worker"

int om_editframe_wanted(const char *mode)
{
    return mode && (!strcmp(mode, "auto") || !strcmp(mode, "speaker") || !strcmp(mode, "split"));
}

static void chain_add(json_t *chain, const char *step, const char *decision, const char *why)
{
    json_array_append_new(
        chain, json_pack("{s:s, s:s, s:s}", "step", step, "decision", decision, "reason", why));
}

/* "face 1 (left) 0.59, face 2 (right) 0.41" */
static void scores_text(om_sbuf *sb, const om_face_scan *s, const om_framing *f)
{
    for (size_t j = 0; j < s->ntracks; j++) {
        double sx = 0;
        size_t c = 0;
        for (size_t k = 0; k < s->n; k++)
            if (s->obs[j * s->n + k].present) {
                sx += s->obs[j * s->n + k].cx;
                c++;
            }
        double x = c ? sx / (double)c : 0.5;
        sb_printf(sb, "%sface %zu (%s, in shot %.0f%%) %.2f", j ? ", " : "", j + 1,
                  x < 0.4 ? "left" : x > 0.6 ? "right" : "centre", 100 * f->visible[j],
                  f->score[j]);
    }
}

json_t *om_editframe_reframe(const char *source, double start, double end, const char *mode,
                             int src_w, int src_h, const om_config *cfg, json_t *chain)
{
    if (!om_editframe_wanted(mode) || src_w <= 0 || src_h <= 0)
        return NULL;
    const char *cascade = om_config_str(cfg, "framing.cascade");
    om_face_scan_opts so = {.sample_fps = om_config_double(cfg, "framing.sample_fps"),
                            .detect_width = (int)om_config_long(cfg, "framing.detect_width"),
                            .hold_s = om_config_double(cfg, "framing.hold_s"),
                            .cascade = cascade && *cascade ? cascade : NULL};
    double out_w = (double)om_config_long(cfg, "editor.width");
    double out_h = (double)om_config_long(cfg, "editor.height");
    double max_pan = om_config_double(cfg, "framing.max_pan_speed");
    om_framing_opts fo = {.dead_zone = om_config_double(cfg, "framing.dead_zone"),
                          .max_pan = max_pan,
                          .window = fmin(1.0, out_w / out_h * (double)src_h / (double)src_w),
                          .allow_split = !strcmp(mode, "split")};
    om_face_scan s = {0};
    om_framing f = {0};
    json_t *rf = NULL;
    int rc = om_media_face_scan(source, start, end, &so, &s);
    if (rc == OM_OK)
        rc = om_framing_decide(&s, &fo, &f);
    if (rc) {
        char *why = xasprintf("face scan failed (%s): the content-motion crop instead",
                              om_error_msg());
        chain_add(chain, "faces", "failed", why);
        om_warn(SRC, "%s: %s", source, why);
        free(why);
        om_error_clear();
        goto out;
    }
    om_sbuf sb = OM_SBUF_INIT;
    if (f.mode == OM_FRAMING_NONE) {
        sb_printf(&sb, "brand reframe %s: %s in %zu samples at %g fps: the content-motion "
                  "crop instead", mode, f.reason, s.n, s.fps);
        chain_add(chain, "faces", "none", sb_str(&sb));
        sb_release(&sb);
        goto out;
    }
    double speech = 0;
    for (size_t k = 0; k < s.n; k++)
        speech += s.speech[k] > 0.5;
    sb_printf(&sb, "%s (brand reframe %s); speaker scores ", f.reason, mode);
    scores_text(&sb, &s, &f);
    sb_printf(&sb, "; %zu speaker changes; %zu samples at %g fps, %zu detections, "
              "speech in %.0f%% of them%s",
              f.switches, s.n, s.fps, s.detections, s.n ? 100 * speech / (double)s.n : 0,
              s.has_audio ? "" : " (no audio: mouth movement alone)");
    rf = om_framing_reframe_json(&s, &f, max_pan);
    chain_add(chain, "reframe", f.mode == OM_FRAMING_GROUP ? "blur_pad" : om_framing_mode_name(f.mode),
              sb_str(&sb));
    sb_release(&sb);
out:
    om_framing_release(&f);
    om_face_scan_release(&s);
    return rf;
}
