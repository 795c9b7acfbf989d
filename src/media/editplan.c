/* editplan.c: parses/validates the declarative edit plan and compiles it into one ffmpeg
 * command (single filtergraph, single encode). See editplan.h for the plan format. */
#include "base/common.h"
#include "base/config.h"
#include "media/editplan.h"

#include <ctype.h>
#include <math.h>

#include "base/proc.h"

#define SRC "editor_worker"

/* ---------- small JSON validation helpers (all errors name the field) ---------- */

static int bad(const char *field, const char *why)
{
    return om_error_set(OM_EINVAL, "edit plan: %s: %s", field, why);
}

static int check_keys(const json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = 1;
        if (!ok) {
            if (where[0])
                return om_error_set(OM_EINVAL, "edit plan: %s.%s: unknown key", where, key);
            return om_error_set(OM_EINVAL, "edit plan: %s: unknown key", key);
        }
    }
    return OM_OK;
}

static int valid_path(const char *field, const json_t *v, char **out)
{
    if (!json_is_string(v))
        return bad(field, "must be a string (absolute path)");
    const char *s = json_string_value(v);
    if (s[0] != '/')
        return bad(field, "must be an absolute path");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return bad(field, "contains a control character");
    if (strlen(s) > 4000)
        return bad(field, "path too long");
    *out = xstrdup(s);
    return OM_OK;
}

static int get_num(const json_t *obj, const char *key, const char *field, double lo, double hi,
                   double def, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return OM_OK;
    }
    if (!json_is_number(v))
        return bad(field, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi) {
        char why[128];
        snprintf(why, sizeof(why), "must be between %g and %g (got %g)", lo, hi, d);
        return bad(field, why);
    }
    *out = d;
    return OM_OK;
}

static int get_str(const json_t *obj, const char *key, const char *field,
                   const char *const *allowed, const char *def, char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = xstrdup(def);
        return OM_OK;
    }
    if (!json_is_string(v))
        return bad(field, "must be a string");
    const char *s = json_string_value(v);
    if (allowed) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, s) == 0)
                ok = 1;
        if (!ok) {
            om_sbuf sb = OM_SBUF_INIT;
            sb_printf(&sb, "'%s' is not one of", s);
            for (const char *const *a = allowed; *a; a++)
                sb_printf(&sb, " %s", *a);
            int rc = bad(field, sb_str(&sb));
            sb_release(&sb);
            return rc;
        }
    }
    *out = xstrdup(s);
    return OM_OK;
}

static int get_bool(const json_t *obj, const char *key, const char *field, int def, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return OM_OK;
    }
    if (!json_is_boolean(v))
        return bad(field, "must be true or false");
    *out = json_is_true(v);
    return OM_OK;
}

static const char *const x264_presets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                           "fast",      "medium",    "slow",     "slower",
                                           "veryslow",  "placebo",   NULL};

static int parse_output(om_editplan *p, const json_t *o)
{
    static const char *const keys[] = {"width",  "height", "fps",      "vcodec", "crf",
                                       "preset", "acodec", "abitrate", NULL};
    static const char *const vcodecs[] = {"libx264", "h264_nvenc", NULL};
    static const char *const acodecs[] = {"aac", NULL};
    if (o && !json_is_null(o) && !json_is_object(o))
        return bad("output", "must be an object");
    json_t *empty = json_object();
    if (!o || json_is_null(o))
        o = empty;
    int rc = check_keys(o, "output", keys);
    double w = 0, h = 0, crf = 0;
    if (!rc)
        rc = get_num(o, "width", "output.width", 16, 4096, (double)om_config_long(NULL, "editor.width"), &w);
    if (!rc)
        rc = get_num(o, "height", "output.height", 16, 4096, (double)om_config_long(NULL, "editor.height"), &h);
    if (!rc && (w != floor(w) || h != floor(h) || ((int)w % 2) || ((int)h % 2)))
        rc = bad("output.width/height", "must be even integers");
    if (!rc)
        rc = get_num(o, "fps", "output.fps", 1, 120, om_config_double(NULL, "editor.fps"), &p->output.fps);
    if (!rc)
        rc = get_str(o, "vcodec", "output.vcodec", vcodecs, "libx264", &p->output.vcodec);
    if (!rc)
        rc = get_num(o, "crf", "output.crf", 0, 51, (double)om_config_long(NULL, "editor.crf"), &crf);
    if (!rc && crf != floor(crf))
        rc = bad("output.crf", "must be an integer 0-51");
    if (!rc)
        rc = get_str(o, "preset", "output.preset", x264_presets, om_config_str(NULL, "editor.preset"),
                     &p->output.preset);
    if (!rc)
        rc = get_str(o, "acodec", "output.acodec", acodecs, "aac", &p->output.acodec);
    if (!rc)
        rc = get_str(o, "abitrate", "output.abitrate", NULL, om_config_str(NULL, "editor.abitrate"),
                     &p->output.abitrate);
    if (!rc) {
        const char *b = p->output.abitrate;
        size_t n = strspn(b, "0123456789");
        if (n == 0 || n > 7 || !(b[n] == '\0' || ((b[n] == 'k' || b[n] == 'M') && !b[n + 1])))
            rc = bad("output.abitrate", "must look like 160k, 2M or 128000");
    }
    p->output.width = (int)w;
    p->output.height = (int)h;
    p->output.crf = (int)crf;
    json_decref(empty);
    return rc;
}

static int parse_track(const json_t *tr, const char *name, double (**out)[2], size_t *n_out);

static int parse_reframe(om_editplan *p, const json_t *r)
{
    static const char *const keys[] = {"mode", "track", "smoothing", "max_pan", "track2",
                                       "evidence", NULL};
    static const char *const modes[] = {"center", "content", "blur_pad", "speaker", "split",
                                        NULL};
    p->reframe.mode = OM_REFRAME_CENTER;
    p->reframe.smoothing = 1.0;
    p->reframe.max_pan = OM_EDITPLAN_MAX_PAN;
    if (!r || json_is_null(r))
        return OM_OK;
    if (!json_is_object(r))
        return bad("reframe", "must be an object");
    int rc = check_keys(r, "reframe", keys);
    char *mode = NULL;
    if (!rc)
        rc = get_str(r, "mode", "reframe.mode", modes, "center", &mode);
    if (!rc)
        rc = get_num(r, "smoothing", "reframe.smoothing", 0, 30, 1.0, &p->reframe.smoothing);
    if (!rc)
        rc = get_num(r, "max_pan", "reframe.max_pan", 0.01, 10, OM_EDITPLAN_MAX_PAN,
                     &p->reframe.max_pan);
    if (rc) {
        free(mode);
        return rc;
    }
    p->reframe.mode = strcmp(mode, "content") == 0    ? OM_REFRAME_CONTENT
                      : strcmp(mode, "blur_pad") == 0 ? OM_REFRAME_BLUR_PAD
                      : strcmp(mode, "speaker") == 0  ? OM_REFRAME_SPEAKER
                      : strcmp(mode, "split") == 0    ? OM_REFRAME_SPLIT
                                                      : OM_REFRAME_CENTER;
    free(mode);
    if ((rc = parse_track(json_object_get(r, "track"), "reframe.track", &p->reframe.track,
                          &p->reframe.ntrack)))
        return rc;
    if ((rc = parse_track(json_object_get(r, "track2"), "reframe.track2", &p->reframe.track2,
                          &p->reframe.ntrack2)))
        return rc;
    if ((p->reframe.mode == OM_REFRAME_CONTENT || p->reframe.mode == OM_REFRAME_SPEAKER ||
         p->reframe.mode == OM_REFRAME_SPLIT) &&
        p->reframe.ntrack == 0)
        return bad("reframe.track", p->reframe.mode == OM_REFRAME_CONTENT
                                        ? "content mode needs at least one [t, x] keyframe"
                                        : "speaker and split modes need at least one [t, x] "
                                          "keyframe");
    if (p->reframe.mode == OM_REFRAME_SPLIT && p->reframe.ntrack2 == 0)
        return bad("reframe.track2", "split mode needs the bottom half's [t, x] keyframes");
    return OM_OK;
}

/* A [[t, x], ...] array (NULL or null: none). */
static int parse_track(const json_t *tr, const char *name, double (**out)[2], size_t *n_out)
{
    if (tr && !json_is_null(tr)) {
        if (!json_is_array(tr))
            return bad(name, "must be an array of [t, x] pairs");
        size_t n = json_array_size(tr);
        if (n > 100000)
            return bad(name, "too many keyframes (max 100000)");
        *out = xcalloc(n ? n : 1, sizeof(**out));
        double(*track)[2] = *out;
        for (size_t i = 0; i < n; i++) {
            json_t *kf = json_array_get(tr, i);
            char field[64];
            snprintf(field, sizeof(field), "%s[%zu]", name, i);
            if (!json_is_array(kf) || json_array_size(kf) != 2 ||
                !json_is_number(json_array_get(kf, 0)) || !json_is_number(json_array_get(kf, 1)))
                return bad(field, "must be a [t, x] pair of numbers");
            double t = json_number_value(json_array_get(kf, 0));
            double x = json_number_value(json_array_get(kf, 1));
            if (!isfinite(t) || t < 0 || t > 1e6)
                return bad(field, "t must be a time in seconds >= 0");
            if (!isfinite(x) || x < 0 || x > 1)
                return bad(field, "x must be in [0, 1] (fraction of the source width)");
            if (i > 0 && t < track[i - 1][0])
                return bad(field, "keyframe times must not decrease");
            track[i][0] = t;
            track[i][1] = x;
            *n_out = i + 1;
        }
    }
    return OM_OK;
}

static int parse_insert(om_edit_insert *ins, const json_t *v, const char *name)
{
    static const char *const keys[] = {"path", "duration", "has_audio", NULL};
    ins->path = NULL;
    ins->duration = -1;
    ins->has_audio = -1;
    if (!v || json_is_null(v))
        return OM_OK;
    if (!json_is_object(v))
        return bad(name, "must be an object {\"path\": ...} or null");
    int rc = check_keys(v, name, keys);
    char field[64];
    snprintf(field, sizeof(field), "%s.path", name);
    if (!rc)
        rc = valid_path(field, json_object_get(v, "path"), &ins->path);
    snprintf(field, sizeof(field), "%s.duration", name);
    if (!rc)
        rc = get_num(v, "duration", field, 0.01, 600, -1, &ins->duration);
    json_t *ha = json_object_get(v, "has_audio");
    if (!rc && ha && !json_is_null(ha)) {
        snprintf(field, sizeof(field), "%s.has_audio", name);
        rc = get_bool(v, "has_audio", field, 1, &ins->has_audio);
    }
    return rc;
}

static int parse_cuts(om_editplan *p, const json_t *c)
{
    if (!c || json_is_null(c))
        return OM_OK;
    if (!json_is_array(c) || json_array_size(c) == 0 || json_array_size(c) > 1000)
        return bad("cuts", "must be a non-empty array of [a, b] segments (at most 1000) or null");
    p->ncuts = json_array_size(c);
    p->cuts = xcalloc(p->ncuts, sizeof(*p->cuts));
    double prev = p->start;
    for (size_t i = 0; i < p->ncuts; i++) {
        json_t *s = json_array_get(c, i);
        json_t *a = json_array_get(s, 0), *b = json_array_get(s, 1);
        if (!json_is_array(s) || json_array_size(s) != 2 || !json_is_number(a) ||
            !json_is_number(b))
            return bad("cuts", "each segment must be [a, b] (numbers)");
        double x = json_number_value(a), y = json_number_value(b);
        if (!(x >= prev - 1e-6) || !(y > x) || y > p->end + 1e-6)
            return bad("cuts", "segments must be sorted, disjoint, non-empty and inside "
                               "[start, end]");
        p->cuts[i][0] = x;
        p->cuts[i][1] = y;
        prev = y;
    }
    return OM_OK;
}

static int parse_hex_color(const json_t *v, const char *field, unsigned def, unsigned *out)
{
    *out = def;
    if (!v || json_is_null(v))
        return OM_OK;
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 7 || s[0] != '#' || strspn(s + 1, "0123456789abcdefABCDEF") != 6)
        return bad(field, "must be a colour \"#RRGGBB\"");
    *out = (unsigned)strtoul(s + 1, NULL, 16);
    return OM_OK;
}

static int parse_audiogram(om_editplan *p, const json_t *a)
{
    if (!a || json_is_null(a))
        return OM_OK;
    static const char *const akeys[] = {"visual", "title", "color", "background", NULL};
    static const char *const visuals[] = {"waves", "spectrum", NULL};
    if (!json_is_object(a))
        return bad("audiogram", "must be an object or null");
    int rc = check_keys(a, "audiogram", akeys);
    if (rc)
        return rc;
    if (!p->source_has_audio)
        return bad("audiogram", "needs a source with audio");
    char *v = NULL;
    if ((rc = get_str(a, "visual", "audiogram.visual", visuals, "waves", &v)))
        return rc;
    p->audiogram.spectrum = strcmp(v, "spectrum") == 0;
    free(v);
    json_t *t = json_object_get(a, "title");
    if (t && !json_is_null(t)) {
        if (!json_is_string(t) || strlen(json_string_value(t)) > 300)
            return bad("audiogram.title", "must be a string of at most 300 bytes or null");
        if (*json_string_value(t))
            p->audiogram.title = xstrdup(json_string_value(t));
    }
    if ((rc = parse_hex_color(json_object_get(a, "color"), "audiogram.color", 0xFFD700,
                              &p->audiogram.color)) ||
        (rc = parse_hex_color(json_object_get(a, "background"), "audiogram.background",
                              0x14171F, &p->audiogram.background)))
        return rc;
    p->audiogram.on = 1;
    return OM_OK;
}

static int parse_plan(om_editplan *p, const json_t *j)
{
    static const char *const keys[] = {
        "source",   "start", "end",   "source_has_audio", "output", "reframe", "captions", "logo",
        "loudness", "intro", "outro", "gpu_required",     "meta",   "cuts", "audiogram", NULL};
    if (!json_is_object(j))
        return om_error_set(OM_EINVAL, "edit plan: must be a JSON object");
    int rc = check_keys(j, "", keys);
    if (rc)
        return rc;
    json_t *src = json_object_get(j, "source");
    if (!src)
        return bad("source", "missing");
    if ((rc = valid_path("source", src, &p->source)))
        return rc;
    json_t *js = json_object_get(j, "start"), *je = json_object_get(j, "end");
    if (!js)
        return bad("start", "missing");
    if (!je)
        return bad("end", "missing");
    if ((rc = get_num(j, "start", "start", 0, 1e6, 0, &p->start)))
        return rc;
    if ((rc = get_num(j, "end", "end", 0, 1e6, 0, &p->end)))
        return rc;
    if (p->end <= p->start)
        return bad("end", "must be greater than start");
    if (p->end - p->start < 0.1)
        return bad("end", "clip shorter than 0.1 s");
    if (p->end - p->start > OM_EDITPLAN_MAX_SECONDS)
        return bad("end", "clip longer than an hour");
    if ((rc = get_bool(j, "source_has_audio", "source_has_audio", 1, &p->source_has_audio)))
        return rc;
    if ((rc = get_bool(j, "gpu_required", "gpu_required", 0, &p->gpu_required)))
        return rc;
    if ((rc = parse_output(p, json_object_get(j, "output"))))
        return rc;
    if ((rc = parse_reframe(p, json_object_get(j, "reframe"))))
        return rc;

    json_t *cap = json_object_get(j, "captions");
    if (cap && !json_is_null(cap)) {
        static const char *const ckeys[] = {"ass", "dropped_lines", "stats", NULL};
        if (!json_is_object(cap))
            return bad("captions", "must be an object {\"ass\": ...} or null");
        if ((rc = check_keys(cap, "captions", ckeys)))
            return rc;
        if ((rc = valid_path("captions.ass", json_object_get(cap, "ass"), &p->captions_ass)))
            return rc;
        json_t *dl = json_object_get(cap, "dropped_lines");
        if (dl && !json_is_null(dl) && !json_is_array(dl))
            return bad("captions.dropped_lines", "must be an array");
    }

    json_t *logo = json_object_get(j, "logo");
    if (logo && !json_is_null(logo)) {
        static const char *const lkeys[] = {"path", "position", "scale", "opacity", NULL};
        static const char *const pos[] = {"top_left",     "top_right", "bottom_left",
                                          "bottom_right", "center",    NULL};
        if (!json_is_object(logo))
            return bad("logo", "must be an object {\"path\": ...} or null");
        if ((rc = check_keys(logo, "logo", lkeys)))
            return rc;
        if ((rc = valid_path("logo.path", json_object_get(logo, "path"), &p->logo.path)))
            return rc;
        char *ps = NULL;
        if ((rc = get_str(logo, "position", "logo.position", pos,
                          om_config_str(NULL, "editor.logo_position"), &ps)))
            return rc;
        for (int i = 0; pos[i]; i++)
            if (strcmp(pos[i], ps) == 0)
                p->logo.position = (om_logo_pos)i;
        free(ps);
        if ((rc = get_num(logo, "scale", "logo.scale", 0.01, 1.0,
                          om_config_double(NULL, "editor.logo_scale"), &p->logo.scale)))
            return rc;
        if ((rc = get_num(logo, "opacity", "logo.opacity", 0.0, 1.0,
                          om_config_double(NULL, "editor.logo_opacity"), &p->logo.opacity)))
            return rc;
    }

    json_t *ld = json_object_get(j, "loudness");
    if (ld && !json_is_null(ld)) {
        static const char *const dkeys[] = {"target_lufs", "true_peak", "lra", "measured_lufs",
                                            NULL};
        if (!json_is_object(ld))
            return bad("loudness", "must be an object or null");
        if ((rc = check_keys(ld, "loudness", dkeys)))
            return rc;
        p->has_loudness = 1;
        if ((rc = get_num(ld, "target_lufs", "loudness.target_lufs", -70, -5,
                          om_config_double(NULL, "editor.loudness_target"), &p->target_lufs)))
            return rc;
        if ((rc = get_num(ld, "true_peak", "loudness.true_peak", -9, 0,
                          om_config_double(NULL, "editor.true_peak"), &p->true_peak)))
            return rc;
        if ((rc = get_num(ld, "lra", "loudness.lra", 1, 20, om_config_double(NULL, "editor.lra"), &p->lra)))
            return rc;
        json_t *m = json_object_get(ld, "measured_lufs");
        if (m && !json_is_null(m)) {
            if ((rc = get_num(ld, "measured_lufs", "loudness.measured_lufs", -70, 0, 0,
                              &p->measured_lufs)))
                return rc;
            p->has_measured = 1;
        }
    }
    if ((rc = parse_insert(&p->intro, json_object_get(j, "intro"), "intro")))
        return rc;
    if ((rc = parse_insert(&p->outro, json_object_get(j, "outro"), "outro")))
        return rc;
    json_t *meta = json_object_get(j, "meta");
    if (meta && !json_is_null(meta) && !json_is_object(meta))
        return bad("meta", "must be an object");
    if ((rc = parse_cuts(p, json_object_get(j, "cuts"))))
        return rc;
    return parse_audiogram(p, json_object_get(j, "audiogram"));
}

int om_editplan_parse(om_editplan **out, const json_t *plan)
{
    *out = NULL;
    om_editplan *p = xcalloc(1, sizeof(*p));
    int rc = parse_plan(p, plan);
    if (rc) {
        om_editplan_free(p);
        return rc;
    }
    *out = p;
    return OM_OK;
}

int om_editplan_parse_text(om_editplan **out, const char *text)
{
    *out = NULL;
    json_error_t jerr;
    json_t *j = json_loads(text ? text : "", 0, &jerr);
    if (!j)
        return om_error_set(OM_EINVAL, "edit plan: not JSON: %s (line %d)", jerr.text, jerr.line);
    int rc = om_editplan_parse(out, j);
    json_decref(j);
    return rc;
}

void om_editplan_free(om_editplan *p)
{
    if (!p)
        return;
    free(p->source);
    free(p->output.vcodec);
    free(p->output.preset);
    free(p->output.acodec);
    free(p->output.abitrate);
    free(p->reframe.track);
    free(p->reframe.track2);
    free(p->captions_ass);
    free(p->logo.path);
    free(p->intro.path);
    free(p->outro.path);
    free(p->cuts);
    free(p->audiogram.title);
    free(p);
}

/* Kept seconds of the clip itself (the jump cuts' segments, or end - start). */
static double kept_duration(const om_editplan *p)
{
    if (!p->ncuts)
        return p->end - p->start;
    double d = 0;
    for (size_t i = 0; i < p->ncuts; i++)
        d += p->cuts[i][1] - p->cuts[i][0];
    return d;
}

double om_editplan_duration(const om_editplan *p)
{
    double d = kept_duration(p);
    if (p->intro.path && p->intro.duration > 0)
        d += p->intro.duration;
    if (p->outro.path && p->outro.duration > 0)
        d += p->outro.duration;
    return d;
}

/* ---------- content crop track ---------- */

static double track_at(double (*tr)[2], size_t n, double t)
{
    if (t <= tr[0][0])
        return tr[0][1];
    if (t >= tr[n - 1][0])
        return tr[n - 1][1];
    size_t lo = 0, hi = n - 1; /* tr[lo].t <= t < tr[hi].t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tr[mid][0] <= t)
            lo = mid;
        else
            hi = mid;
    }
    double t0 = tr[lo][0], t1 = tr[hi][0];
    if (t1 - t0 < 1e-9)
        return tr[hi][1];
    return tr[lo][1] + (tr[hi][1] - tr[lo][1]) * (t - t0) / (t1 - t0);
}

static void box_smooth(double *x, size_t n, size_t half)
{
    if (half == 0 || n < 2)
        return;
    double *pre = xcalloc(n + 1, sizeof(double)), *tmp = xcalloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++)
        pre[i + 1] = pre[i] + x[i];
    for (size_t i = 0; i < n; i++) {
        size_t a = i >= half ? i - half : 0, b = i + half + 1 < n ? i + half + 1 : n;
        tmp[i] = (pre[b] - pre[a]) / (double)(b - a);
    }
    memcpy(x, tmp, n * sizeof(double));
    free(pre);
    free(tmp);
}

/* Ramer-Douglas-Peucker over samples (t[i], x[i]); marks keep[] */
static void rdp(const double *t, const double *x, size_t a, size_t b, double eps, char *keep)
{
    if (b <= a + 1)
        return;
    double best = -1;
    size_t bi = a;
    for (size_t i = a + 1; i < b; i++) {
        double lin = x[a] + (x[b] - x[a]) * (t[i] - t[a]) / (t[b] - t[a]);
        double d = fabs(x[i] - lin);
        if (d > best) {
            best = d;
            bi = i;
        }
    }
    if (best > eps) {
        keep[bi] = 1;
        rdp(t, x, a, bi, eps, keep);
        rdp(t, x, bi, b, eps, keep);
    }
}

int om_editplan_crop_keyframes(const om_editplan *p, double (**out)[2], size_t *n_out)
{
    return om_editplan_track_keyframes(p, 0, out, n_out);
}

int om_editplan_track_keyframes(const om_editplan *p, int which, double (**out)[2],
                                size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    double(*tr)[2] = which ? p->reframe.track2 : p->reframe.track;
    size_t ntr = which ? p->reframe.ntrack2 : p->reframe.ntrack;
    if (ntr == 0)
        return om_error_set(OM_EINVAL, "edit plan: reframe.%s: no keyframes",
                            which ? "track2" : "track");
    const double step = 0.1;
    double dur = p->end - p->start;
    size_t n = (size_t)ceil(dur / step) + 1;
    double *t = xcalloc(n, sizeof(double)), *x = xcalloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        t[i] = i + 1 == n ? dur : (double)i * step;
        x[i] = track_at(tr, ntr, p->start + t[i]);
    }
    size_t half = (size_t)(p->reframe.smoothing / step / 2.0 + 0.5);
    box_smooth(x, n, half);
    box_smooth(x, n, half);
    double vmax = p->reframe.max_pan * step;
    for (size_t i = 1; i < n; i++) {
        if (x[i] > x[i - 1] + vmax)
            x[i] = x[i - 1] + vmax;
        else if (x[i] < x[i - 1] - vmax)
            x[i] = x[i - 1] - vmax;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
    char *keep = xcalloc(n, 1);
    size_t nk = 0;
    for (double eps = 0.003;; eps *= 1.6) {
        memset(keep, 0, n);
        keep[0] = keep[n - 1] = 1;
        rdp(t, x, 0, n - 1, eps, keep);
        nk = 0;
        for (size_t i = 0; i < n; i++)
            nk += keep[i] ? 1 : 0;
        if (nk <= OM_EDITPLAN_MAX_KEYFRAMES)
            break;
    }
    double(*kf)[2] = xcalloc(nk, sizeof(*kf));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i]) {
            kf[k][0] = t[i];
            kf[k][1] = x[i];
            k++;
        }
    /* a constant track needs only one keyframe */
    int constant = 1;
    for (size_t i = 1; i < nk; i++)
        if (fabs(kf[i][1] - kf[0][1]) > 1e-6)
            constant = 0;
    free(t);
    free(x);
    free(keep);
    *out = kf;
    *n_out = constant ? 1 : nk;
    return OM_OK;
}

/* x(t) = x0 + sum_i (s_i - s_{i-1}) * max(0, t - t_i), slopes s_i on [t_i, t_i+1], s = 0
 * outside: flat sum, no nesting (ffmpeg's expression parser limits nesting depth). */
static void track_expr(om_sbuf *sb, double (*kf)[2], size_t n)
{
    sb_printf(sb, "%.5f", kf[0][1]);
    double prev = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        if (i + 1 < n && kf[i + 1][0] - kf[i][0] > 1e-9)
            s = (kf[i + 1][1] - kf[i][1]) / (kf[i + 1][0] - kf[i][0]);
        double k = s - prev;
        if (fabs(k) > 1e-9)
            sb_printf(sb, "%+.6f*max(0,t-%.3f)", k, kf[i][0]);
        prev = s;
    }
}

/* ---------- escaping ---------- */

char *om_ff_escape_value(const char *s)
{
    om_sbuf l1 = OM_SBUF_INIT, l2 = OM_SBUF_INIT;
    sb_puts(&l1, "");
    for (const char *c = s; *c; c++) {
        if (strchr("\\':", *c))
            sb_append(&l1, "\\", 1);
        sb_append(&l1, c, 1);
    }
    sb_puts(&l2, "");
    for (const char *c = l1.buf; *c; c++) {
        if (strchr("\\'[],;", *c))
            sb_append(&l2, "\\", 1);
        sb_append(&l2, c, 1);
    }
    sb_release(&l1);
    return sb_detach(&l2);
}

char *om_shell_join(const char *const *argv)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    for (size_t i = 0; argv[i]; i++) {
        const char *a = argv[i];
        if (i)
            sb_puts(&sb, " ");
        int safe = a[0] != '\0';
        for (const char *c = a; *c; c++)
            if (!(isalnum((unsigned char)*c) || strchr("_./:=+-,@%", *c)))
                safe = 0;
        if (safe) {
            sb_puts(&sb, a);
            continue;
        }
        sb_puts(&sb, "'");
        for (const char *c = a; *c; c++) {
            if (*c == '\'')
                sb_puts(&sb, "'\\''");
            else
                sb_append(&sb, c, 1);
        }
        sb_puts(&sb, "'");
    }
    return sb_detach(&sb);
}

/* ---------- compiler ---------- */

typedef struct argv_b {
    char **v;
    size_t n, alloc;
} argv_b;

static void argv_add(argv_b *a, const char *s)
{
    if (a->n + 2 > a->alloc) {
        a->alloc = a->alloc ? a->alloc * 2 : 64;
        a->v = xrealloc(a->v, st_mult(a->alloc, sizeof(char *)));
    }
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

static void argv_addf(argv_b *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argv_addf(argv_b *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    argv_add(a, s);
    free(s);
}

static const char *nvenc_preset(const char *x264)
{
    static const char *const map[][2] = {
        {"ultrafast", "p1"}, {"superfast", "p1"}, {"veryfast", "p2"}, {"faster", "p3"},
        {"fast", "p3"},      {"medium", "p4"},    {"slow", "p5"},     {"slower", "p6"},
        {"veryslow", "p7"},  {"placebo", "p7"}};
    for (size_t i = 0; i < OM_ARRAY_LEN(map); i++)
        if (strcmp(map[i][0], x264) == 0)
            return map[i][1];
    return "p4";
}

/* An intro/outro normalised to the output format: [<tag>v][<tag>a]. */
static int insert_chain(om_sbuf *g, const om_editplan *p, const om_edit_insert *ins, int idx,
                        const char *tag)
{
    int W = p->output.width, H = p->output.height;
    sb_printf(g,
              "[%d:v]scale=%d:%d:force_original_aspect_ratio=decrease:force_divisible_by=2,"
              "pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=%g,format=yuv420p[%sv];",
              idx, W, H, W, H, p->output.fps, tag);
    if (ins->has_audio == 0) {
        if (ins->duration <= 0)
            return om_error_set(OM_EINVAL,
                                "edit plan: %s.duration: needed for an input without audio", tag);
        sb_printf(g, "anullsrc=r=48000:cl=stereo,atrim=duration=%.3f[%sa];", ins->duration, tag);
    } else {
        sb_printf(g, "[%d:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[%sa];",
                  idx, tag);
    }
    return OM_OK;
}

/* Segment i of the jump cuts in clip seconds, snapped to the frame grid. */
static void cut_bounds(const om_editplan *p, size_t i, double *a, double *b)
{
    double fps = p->output.fps;
    *a = round((p->cuts[i][0] - p->start) * fps) / fps;
    *b = i + 1 == p->ncuts && p->cuts[i][1] >= p->end - 1e-6
             ? p->end - p->start
             : round((p->cuts[i][1] - p->start) * fps) / fps;
}

/* Splits the open chain into the kept segments and concatenates them (video or audio);
 * leaves the concat's output open for the chain to continue. */
static void cut_chain(om_sbuf *g, const om_editplan *p, int audio)
{
    const char *tag = audio ? "ja" : "jv";
    sb_printf(g, ",%s=%zu", audio ? "asplit" : "split", p->ncuts);
    for (size_t i = 0; i < p->ncuts; i++)
        sb_printf(g, "[%s%zu]", tag, i);
    sb_puts(g, ";");
    for (size_t i = 0; i < p->ncuts; i++) {
        double a, b;
        cut_bounds(p, i, &a, &b);
        sb_printf(g, "[%s%zu]%s=start=%.6f:end=%.6f,%s=PTS-STARTPTS[%sk%zu];", tag, i,
                  audio ? "atrim" : "trim", a, b, audio ? "asetpts" : "setpts", tag, i);
    }
    for (size_t i = 0; i < p->ncuts; i++)
        sb_printf(g, "[%sk%zu]", tag, i);
    sb_printf(g, "concat=n=%zu:v=%d:a=%d", p->ncuts, !audio, audio);
}

/* Word-wraps the audiogram title into at most 3 lines of about `per` characters. */
static size_t title_lines(const char *t, size_t per, char out[3][128])
{
    size_t n = 0, len = 0;
    out[0][0] = '\0';
    char *dup = xstrdup(t), *save = NULL;
    for (char *w = strtok_r(dup, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
        size_t wl = strlen(w);
        if (len && len + 1 + wl > per) {
            if (n == 2)
                break;
            out[++n][0] = '\0';
            len = 0;
        }
        size_t room = 127 - len - (len ? 1 : 0);
        if (wl > room)
            wl = room;
        if (len)
            out[n][len++] = ' ';
        memcpy(out[n] + len, w, wl);
        len += wl;
        out[n][len] = '\0';
    }
    free(dup);
    return out[0][0] ? n + 1 : 0;
}

static void audiogram_video(om_sbuf *g, const om_editplan *p, double dur, const char *fontsdir)
{
    int W = p->output.width, H = p->output.height;
    int vh = (H / 3) & ~1;
    sb_printf(g, "color=c=0x%06X:s=%dx%d:r=%g:d=%.3f,format=yuv420p[agbg];",
              p->audiogram.background, W, H, p->output.fps, dur);
    if (p->audiogram.spectrum)
        sb_printf(g,
                  "[agsrc]showspectrum=s=%dx%d:slide=scroll:mode=combined:color=fire:scale=cbrt,"
                  "fps=%g,format=rgba[agvis];",
                  W, vh, p->output.fps);
    else
        sb_printf(g,
                  "[agsrc]showwaves=s=%dx%d:mode=cline:rate=%g:colors=0x%06X,format=rgba[agvis];",
                  W, vh, p->output.fps, p->audiogram.color);
    sb_puts(g, "[agbg][agvis]overlay=x=0:y=(H-h)/2:eof_action=pass");
    if (p->audiogram.title) {
        char lines[3][128];
        int size = H / 24;
        size_t n = title_lines(p->audiogram.title, (size_t)(W / (size * 0.62)), lines);
        char *font = xasprintf("%s/DejaVuSans-Bold.ttf", fontsdir);
        char *ff = om_ff_escape_value(font);
        for (size_t i = 0; i < n; i++) {
            char *tx = om_ff_escape_value(lines[i]);
            sb_printf(g,
                      ",drawtext=fontfile=%s:expansion=none:text=%s:fontsize=%d:fontcolor=white:"
                      "borderw=%d:bordercolor=black:x=(w-text_w)/2:y=%d",
                      ff, tx, size, size / 16 > 2 ? size / 16 : 2,
                      (int)(H * 0.17) + (int)i * (int)(size * 1.3));
            free(tx);
        }
        free(ff);
        free(font);
    }
}

static int build_graph(om_sbuf *g, const om_editplan *p, const om_editenv *env, int idx_intro,
                       int idx_outro, int idx_logo)
{
    int W = p->output.width, H = p->output.height;
    double dur = kept_duration(p);
    const char *fontsdir = env && env->fontsdir ? env->fontsdir : OM_EDITPLAN_FONTSDIR;
    if (p->audiogram.on) {
        audiogram_video(g, p, dur, fontsdir);
        goto overlays;
    }
    /* main video: fps first (less work downstream), then reframe */
    sb_printf(g, "[0:v]fps=%g,", p->output.fps);
    const char *cw = NULL;
    char cwbuf[160];
    snprintf(cwbuf, sizeof(cwbuf),
             "w='trunc(min(iw,ih*%d/%d)/2)*2':h='trunc(min(ih,iw*%d/%d)/2)*2'", W, H, H, W);
    cw = cwbuf;
    switch (p->reframe.mode) {
    case OM_REFRAME_CENTER:
        sb_printf(g, "crop=%s,scale=%d:%d,setsar=1", cw, W, H);
        break;
    case OM_REFRAME_SPLIT: {
        /* stacked: the top half follows track, the bottom half track2; each half is a
         * W x H/2 crop of the source */
        int hh = (H / 2) & ~1;
        char cw2[160];
        snprintf(cw2, sizeof(cw2),
                 "w='trunc(min(iw,ih*%d/%d)/2)*2':h='trunc(min(ih,iw*%d/%d)/2)*2'", W, hh, hh,
                 W);
        sb_puts(g, "split=2[sptop][spbot]");
        for (int half = 0; half < 2; half++) {
            double(*kf)[2] = NULL;
            size_t nk = 0;
            int rc = om_editplan_track_keyframes(p, half, &kf, &nk);
            if (rc)
                return rc;
            om_sbuf ex = OM_SBUF_INIT;
            track_expr(&ex, kf, nk);
            free(kf);
            sb_printf(g,
                      ";[%s]crop=%s:x='clip((%s)*iw-ow/2,0,iw-ow)':y='(ih-oh)/2',scale=%d:%d,"
                      "setsar=1[%s]",
                      half ? "spbot" : "sptop", cw2, sb_str(&ex), W, hh, half ? "spb" : "spt");
            sb_release(&ex);
        }
        sb_printf(g, ";[spt][spb]vstack=inputs=2,scale=%d:%d,setsar=1", W, H);
        break;
    }
    case OM_REFRAME_SPEAKER:
    case OM_REFRAME_CONTENT: {
        double(*kf)[2] = NULL;
        size_t nk = 0;
        int rc = om_editplan_crop_keyframes(p, &kf, &nk);
        if (rc)
            return rc;
        om_sbuf ex = OM_SBUF_INIT;
        track_expr(&ex, kf, nk);
        free(kf);
        sb_printf(g, "crop=%s:x='clip((%s)*iw-ow/2,0,iw-ow)':y='(ih-oh)/2',scale=%d:%d,setsar=1",
                  cw, sb_str(&ex), W, H);
        sb_release(&ex);
        break;
    }
    case OM_REFRAME_BLUR_PAD: {
        int bw = (W / 8) & ~1, bh = (H / 8) & ~1;
        sb_printf(g,
                  "split=2[bgsrc][fgsrc];"
                  "[bgsrc]scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d,"
                  "boxblur=luma_radius=8:luma_power=2,scale=%d:%d,setsar=1[bg];"
                  "[fgsrc]scale=%d:%d:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                  "setsar=1[fg];"
                  "[bg][fg]overlay=x=(W-w)/2:y=(H-h)/2",
                  bw, bh, bw, bh, W, H, W, H);
        break;
    }
    }
    if (p->ncuts)
        cut_chain(g, p, 0);
overlays:
    if (p->captions_ass) {
        char *f = om_ff_escape_value(p->captions_ass);
        char *fd = om_ff_escape_value(fontsdir);
        sb_printf(g, ",ass=filename=%s:fontsdir=%s", f, fd);
        free(f);
        free(fd);
    }
    if (p->logo.path) {
        sb_printf(g,
                  "[vbase];[%d:v]scale=w=trunc(%d*%.4f/2)*2:h=-2,format=rgba,"
                  "colorchannelmixer=aa=%.3f[logo];[vbase][logo]overlay=",
                  idx_logo, W, p->logo.scale, p->logo.opacity);
        int mx = (int)(W * 0.05), my = (int)(H * 0.05);
        switch (p->logo.position) {
        case OM_LOGO_TOP_LEFT:
            sb_printf(g, "x=%d:y=%d", mx, my);
            break;
        case OM_LOGO_TOP_RIGHT:
            sb_printf(g, "x=W-w-%d:y=%d", mx, my);
            break;
        case OM_LOGO_BOTTOM_LEFT:
            sb_printf(g, "x=%d:y=H-h-%d", mx, my);
            break;
        case OM_LOGO_BOTTOM_RIGHT:
            sb_printf(g, "x=W-w-%d:y=H-h-%d", mx, my);
            break;
        case OM_LOGO_CENTER:
            sb_printf(g, "x=(W-w)/2:y=(H-h)/2");
            break;
        }
        sb_puts(g, ":eof_action=repeat");
    }
    int nseg = 1 + (idx_intro >= 0) + (idx_outro >= 0);
    /* without intro/outro the main chain is the output: no pass-through filter */
    sb_printf(g, ",format=yuv420p[%s];", nseg > 1 ? "vmain" : "vout");
    /* main audio; loudness is normalised here, on the clip itself: intro/outro are
     * pre-mastered brand assets, and one dynamic loudnorm over a loud intro followed by
     * quiet speech overshoots (its gain follows a 3 s window) */
    const char *alabel = nseg > 1 ? "amain" : "aout";
    if (p->source_has_audio) {
        sb_puts(g, "[0:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo");
        if (p->ncuts)
            cut_chain(g, p, 1);
        if (p->audiogram.on)
            sb_puts(g, ",asplit=2[agsrc][agmain];[agmain]anull");
        if (p->has_loudness && p->has_measured) {
            /* linear gain to the target + a lookahead limiter 0.5 dB under the true-peak
             * ceiling (sample peaks; the margin covers inter-sample overs) */
            double gain = p->target_lufs - p->measured_lufs;
            gain = gain > OM_EDITPLAN_MAX_GAIN_DB    ? OM_EDITPLAN_MAX_GAIN_DB
                   : gain < -OM_EDITPLAN_MAX_GAIN_DB ? -OM_EDITPLAN_MAX_GAIN_DB
                                                     : gain;
            sb_printf(g, ",volume=%.2fdB,alimiter=limit=%.4f:level=0:latency=1", gain,
                      pow(10.0, (p->true_peak - 0.5) / 20.0));
        } else if (p->has_loudness) {
            sb_printf(g, ",loudnorm=I=%g:TP=%g:LRA=%g,aresample=48000", p->target_lufs,
                      p->true_peak, p->lra);
        }
        sb_printf(g, "[%s]", alabel);
    } else {
        sb_printf(g, "anullsrc=r=48000:cl=stereo,atrim=duration=%.3f[%s]", dur, alabel);
    }
    if (nseg > 1) {
        int rc;
        sb_puts(g, ";");
        if (idx_intro >= 0 && (rc = insert_chain(g, p, &p->intro, idx_intro, "intro")))
            return rc;
        if (idx_outro >= 0 && (rc = insert_chain(g, p, &p->outro, idx_outro, "outro")))
            return rc;
        if (idx_intro >= 0)
            sb_puts(g, "[introv][introa]");
        sb_puts(g, "[vmain][amain]");
        if (idx_outro >= 0)
            sb_puts(g, "[outrov][outroa]");
        sb_printf(g, "concat=n=%d:v=1:a=1[vout][aout]", nseg);
    }
    return OM_OK;
}

int om_editplan_compile(om_editcmd **out, const om_editplan *p, const char *output_path,
                        const om_editenv *env)
{
    *out = NULL;
    if (!output_path || output_path[0] == '\0')
        return om_error_set(OM_EINVAL, "edit plan: output path is empty");
    const char *vcodec = env && env->vcodec ? env->vcodec : p->output.vcodec;
    if (strcmp(vcodec, "libx264") != 0 && strcmp(vcodec, "h264_nvenc") != 0 &&
        strcmp(vcodec, "h264_vaapi") != 0)
        return om_error_set(OM_EINVAL, "edit plan: encoder '%s' is not supported", vcodec);
    int vaapi = strcmp(vcodec, "h264_vaapi") == 0;

    argv_b a = {0};
    argv_add(&a, "ffmpeg");
    argv_add(&a, "-hide_banner");
    argv_add(&a, "-nostdin");
    argv_add(&a, "-nostats");
    argv_add(&a, "-loglevel");
    argv_add(&a, "error"); /* libass warns per frame about glyph fallbacks */
    argv_add(&a, "-progress");
    argv_add(&a, "pipe:1");
    argv_add(&a, "-y");
    if (vaapi) { /* the device is opened once; frames go up after the CPU filters */
        argv_add(&a, "-vaapi_device");
        argv_add(&a, OM_VAAPI_DEVICE);
    }
    argv_add(&a, "-ss");
    argv_addf(&a, "%.3f", p->start);
    argv_add(&a, "-t");
    argv_addf(&a, "%.3f", p->end - p->start);
    argv_add(&a, "-i");
    argv_add(&a, p->source);
    int next = 1, idx_intro = -1, idx_outro = -1, idx_logo = -1;
    if (p->intro.path) {
        argv_add(&a, "-i");
        argv_add(&a, p->intro.path);
        idx_intro = next++;
    }
    if (p->outro.path) {
        argv_add(&a, "-i");
        argv_add(&a, p->outro.path);
        idx_outro = next++;
    }
    if (p->logo.path) {
        argv_add(&a, "-i");
        argv_add(&a, p->logo.path);
        idx_logo = next++;
    }
    om_sbuf g = OM_SBUF_INIT;
    int rc = build_graph(&g, p, env, idx_intro, idx_outro, idx_logo);
    if (rc) {
        sb_release(&g);
        for (size_t i = 0; i < a.n; i++)
            free(a.v[i]);
        free(a.v);
        return rc;
    }
    if (vaapi)
        sb_puts(&g, ";[vout]format=nv12,hwupload[vhw]");
    argv_add(&a, "-filter_complex");
    argv_add(&a, sb_str(&g));
    argv_add(&a, "-map");
    argv_add(&a, vaapi ? "[vhw]" : "[vout]");
    argv_add(&a, "-map");
    argv_add(&a, "[aout]");
    argv_add(&a, "-c:v");
    argv_add(&a, vcodec);
    if (strcmp(vcodec, "h264_nvenc") == 0) {
        argv_add(&a, "-preset");
        argv_add(&a, nvenc_preset(p->output.preset));
        argv_add(&a, "-rc");
        argv_add(&a, "vbr");
        argv_add(&a, "-cq");
        argv_addf(&a, "%d", p->output.crf);
        argv_add(&a, "-b:v");
        argv_add(&a, "0");
    } else if (vaapi) {
        argv_add(&a, "-rc_mode");
        argv_add(&a, "CQP");
        argv_add(&a, "-qp");
        argv_addf(&a, "%d", p->output.crf);
    } else {
        argv_add(&a, "-preset");
        argv_add(&a, p->output.preset);
        argv_add(&a, "-crf");
        argv_addf(&a, "%d", p->output.crf);
    }
    if (!vaapi) { /* VAAPI frames are already nv12 on the device */
        argv_add(&a, "-pix_fmt");
        argv_add(&a, "yuv420p");
    }
    argv_add(&a, "-c:a");
    argv_add(&a, p->output.acodec);
    argv_add(&a, "-b:a");
    argv_add(&a, p->output.abitrate);
    argv_add(&a, "-ar");
    argv_add(&a, "48000");
    argv_add(&a, "-ac");
    argv_add(&a, "2");
    argv_add(&a, "-map_metadata");
    argv_add(&a, "-1");
    argv_add(&a, "-movflags");
    argv_add(&a, "+faststart");
    argv_add(&a, "-f");
    argv_add(&a, "mp4");
    argv_add(&a, output_path);

    om_editcmd *c = xcalloc(1, sizeof(*c));
    c->argv = a.v;
    c->argc = a.n;
    c->filtergraph = sb_detach(&g);
    c->text = om_shell_join((const char *const *)a.v);
    c->vcodec = xstrdup(vcodec);
    sb_release(&g);
    *out = c;
    return OM_OK;
}

void om_editcmd_free(om_editcmd *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->filtergraph);
    free(c->text);
    free(c->vcodec);
    free(c);
}

/* ---------- encoder choice ---------- */

static char *last_line(const char *s)
{
    if (!s)
        return xstrdup("");
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    size_t b = n;
    while (b && s[b - 1] != '\n')
        b--;
    return xstrndup(s + b, n - b);
}

int om_editplan_pick_encoder(const om_editplan *p, char **encoder_out, char **reason_out)
{
    int wants_gpu = p->gpu_required || strcmp(p->output.vcodec, "h264_nvenc") == 0;
    if (!wants_gpu) {
        *encoder_out = xstrdup("libx264");
        *reason_out = xstrdup("plan does not ask for a GPU encoder");
        return OM_OK;
    }
    const char *list_argv[] = {"ffmpeg", "-hide_banner", "-encoders", NULL};
    om_proc_opts o = {.argv = list_argv, .timeout_ms = 20000};
    om_proc_result r;
    int rc = om_proc_run(&o, &r);
    int listed = rc == OM_OK && r.exit_code == 0 && r.out && strstr(r.out, " h264_nvenc ");
    om_proc_result_release(&r);
    if (rc != OM_OK) {
        *encoder_out = xstrdup("libx264");
        *reason_out = xasprintf("GPU asked for, but ffmpeg -encoders failed: %s", om_error_msg());
        om_error_clear();
        om_warn(SRC, "%s; using libx264", *reason_out);
        return OM_OK;
    }
    if (!listed) {
        *encoder_out = xstrdup("libx264");
        *reason_out = xstrdup("GPU asked for, but this ffmpeg does not list h264_nvenc");
        om_warn(SRC, "%s; using libx264", *reason_out);
        return OM_OK;
    }
    const char *probe_argv[] = {"ffmpeg",
                                "-hide_banner",
                                "-nostdin",
                                "-loglevel",
                                "error",
                                "-f",
                                "lavfi",
                                "-i",
                                "color=c=black:s=256x256:r=30:d=0.2",
                                "-c:v",
                                "h264_nvenc",
                                "-f",
                                "null",
                                "-",
                                NULL};
    om_proc_opts po = {.argv = probe_argv, .timeout_ms = 30000};
    rc = om_proc_run(&po, &r);
    if (rc == OM_OK && r.exit_code == 0) {
        om_proc_result_release(&r);
        *encoder_out = xstrdup("h264_nvenc");
        *reason_out = xstrdup("GPU asked for; h264_nvenc listed and a test encode worked");
        return OM_OK;
    }
    char *why = last_line(rc == OM_OK ? r.err : om_error_msg());
    om_proc_result_release(&r);
    om_error_clear();
    *encoder_out = xstrdup("libx264");
    *reason_out = xasprintf("GPU asked for; h264_nvenc is listed but no device works (%s)", why);
    free(why);
    om_warn(SRC, "%s; using libx264", *reason_out);
    return OM_OK;
}
