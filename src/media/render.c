/* render.c: runs a compiled edit with progress, probes and verifies the output
 * (ffprobe JSON), and the temp-name + rename render of a whole plan. */
#include "base/common.h"
#include "media/render.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "base/proc.h"

#define SRC "editor_worker"

/* The last `n` non-empty lines of `s` joined with " | " (caller frees). */
static char *tail_lines(const char *s, int n)
{
    if (!s || !*s)
        return xstrdup("(no output)");
    size_t len = strlen(s), end = len;
    int got = 0;
    size_t begin = len;
    while (end > 0 && got < n) {
        while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r'))
            end--;
        if (end == 0)
            break;
        size_t b = end;
        while (b > 0 && s[b - 1] != '\n' && s[b - 1] != '\r')
            b--;
        begin = b;
        got++;
        end = b;
    }
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    for (size_t i = begin; i < len; i++) {
        if (s[i] == '\n' || s[i] == '\r') {
            if (sb.len && strcmp(sb.buf + sb.len - (sb.len >= 3 ? 3 : sb.len), " | ") != 0)
                sb_puts(&sb, " | ");
            continue;
        }
        sb_append(&sb, &s[i], 1);
    }
    while (sb.len >= 3 && strcmp(sb.buf + sb.len - 3, " | ") == 0) {
        sb.len -= 3;
        sb.buf[sb.len] = '\0';
    }
    if (sb.len > 1500) { /* keep the end, where ffmpeg says what failed */
        char *t = xstrdup(sb.buf + sb.len - 1500);
        sb_release(&sb);
        return t;
    }
    return sb_detach(&sb);
}

/* ---------- probe ---------- */

static double jnum(json_t *o, const char *key, double def)
{
    json_t *v = json_object_get(o, key);
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) {
        char *end = NULL;
        double d = strtod(json_string_value(v), &end);
        if (end != json_string_value(v) && isfinite(d))
            return d;
    }
    return def;
}

/* A pixel count: 0 unless within 0..INT_MAX. */
static int jint(json_t *o, const char *key)
{
    double d = jnum(o, key, 0);
    return d >= 0 && d <= INT_MAX ? (int)d : 0;
}

int om_render_probe(const char *path, om_render_info *out)
{
    memset(out, 0, sizeof(*out));
    out->duration = -1;
    if (!om_file_exists(path))
        return om_error_set(OM_ENOTFOUND, "probe: %s: no such file", path);
    const char *argv[] = {
        "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
        "--",      path, NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 60000, .max_output = 4u << 20};
    om_proc_result r;
    int rc = om_proc_run(&o, &r);
    if (rc) {
        om_proc_result_release(&r);
        return om_error_wrap(rc, "probe %s", path);
    }
    if (r.exit_code != 0) {
        char *t = tail_lines(r.err, 3);
        rc = om_error_set(OM_EINVAL, "probe %s: ffprobe exit %d: %s", path, r.exit_code, t);
        free(t);
        om_proc_result_release(&r);
        return rc;
    }
    rc = om_render_parse_probe(r.out ? r.out : "", r.out_len, path, out);
    om_proc_result_release(&r);
    return rc;
}

int om_render_parse_probe(const char *json, size_t len, const char *path, om_render_info *out)
{
    memset(out, 0, sizeof(*out));
    out->duration = -1;
    json_error_t je;
    json_t *j = json_loadb(json, len, 0, &je);
    if (!j)
        return om_error_set(OM_EINVAL, "probe %s: ffprobe output is not JSON: %s", path, je.text);
    out->duration = jnum(json_object_get(j, "format"), "duration", -1);
    json_t *streams = json_object_get(j, "streams"), *s;
    size_t i;
    json_array_foreach(streams, i, s)
    {
        const char *type = json_string_value(json_object_get(s, "codec_type"));
        const char *codec = json_string_value(json_object_get(s, "codec_name"));
        if (!type)
            continue;
        if (strcmp(type, "video") == 0 && !out->has_video) {
            /* an attached picture (cover art) is not the video */
            json_t *disp = json_object_get(s, "disposition");
            if (disp && jnum(disp, "attached_pic", 0) == 1)
                continue;
            out->has_video = 1;
            out->width = jint(s, "width");
            out->height = jint(s, "height");
            snprintf(out->vcodec, sizeof(out->vcodec), "%s", codec ? codec : "");
            const char *fr = json_string_value(json_object_get(s, "avg_frame_rate"));
            int num = 0, den = 0;
            if (fr && sscanf(fr, "%d/%d", &num, &den) == 2 && den > 0)
                out->fps = (double)num / den;
            if (out->duration < 0)
                out->duration = jnum(s, "duration", -1);
        } else if (strcmp(type, "audio") == 0 && !out->has_audio) {
            out->has_audio = 1;
            snprintf(out->acodec, sizeof(out->acodec), "%s", codec ? codec : "");
        }
    }
    json_decref(j);
    if (!out->has_video && !out->has_audio)
        return om_error_set(OM_EINVAL, "probe %s: no audio or video stream", path);
    return OM_OK;
}

/* ---------- resolve ---------- */

static int resolve_insert(json_t *plan, const char *name)
{
    json_t *ins = json_object_get(plan, name);
    if (!json_is_object(ins))
        return OM_OK;
    json_t *path = json_object_get(ins, "path");
    if (!json_is_string(path))
        return OM_OK; /* the parser reports it */
    json_t *dur = json_object_get(ins, "duration"), *ha = json_object_get(ins, "has_audio");
    if (json_is_number(dur) && json_is_boolean(ha))
        return OM_OK;
    om_render_info mi;
    int rc = om_render_probe(json_string_value(path), &mi);
    if (rc)
        return om_error_wrap(rc, "edit plan: %s", name);
    if (!mi.has_video)
        return om_error_set(OM_EINVAL, "edit plan: %s.path: %s has no video stream", name,
                            json_string_value(path));
    if (!json_is_number(dur)) {
        if (mi.duration <= 0)
            return om_error_set(OM_EINVAL, "edit plan: %s.path: duration unknown", name);
        json_object_set_new(ins, "duration", json_real(round(mi.duration * 1000) / 1000));
    }
    if (!json_is_boolean(ha))
        json_object_set_new(ins, "has_audio", json_boolean(mi.has_audio));
    return OM_OK;
}

int om_render_resolve_plan(json_t *plan)
{
    if (!json_is_object(plan))
        return om_error_set(OM_EINVAL, "edit plan: must be a JSON object");
    json_t *src = json_object_get(plan, "source");
    if (!json_is_string(src))
        return om_error_set(OM_EINVAL, "edit plan: source: missing");
    om_render_info mi;
    int rc = om_render_probe(json_string_value(src), &mi);
    if (rc)
        return om_error_wrap(rc, "edit plan: source");
    json_t *ag = json_object_get(plan, "audiogram");
    if (!mi.has_video && !json_is_object(ag))
        return om_error_set(OM_EINVAL, "edit plan: source: %s has no video stream",
                            json_string_value(src));
    if (json_is_object(ag) && !mi.has_audio)
        return om_error_set(OM_EINVAL, "edit plan: audiogram: %s has no audio stream",
                            json_string_value(src));
    double end = jnum(plan, "end", -1);
    if (mi.duration > 0 && end > mi.duration + 0.05)
        return om_error_set(OM_EINVAL, "edit plan: end: %.3f s is beyond the source (%.3f s)", end,
                            mi.duration);
    if (!json_is_boolean(json_object_get(plan, "source_has_audio")))
        json_object_set_new(plan, "source_has_audio", json_boolean(mi.has_audio));
    if ((rc = resolve_insert(plan, "intro")) || (rc = resolve_insert(plan, "outro")))
        return rc;
    return OM_OK;
}

/* ---------- run ---------- */

typedef struct prog {
    const om_render_opts *o;
    double total;
    double done;
    int ended;
} prog;

static void on_progress_line(void *ud, const char *line)
{
    prog *p = ud;
    if (strncmp(line, "out_time_us=", 12) == 0) {
        char *end = NULL;
        long long us = strtoll(line + 12, &end, 10);
        if (end != line + 12 && us >= 0)
            p->done = us / 1e6;
    } else if (strncmp(line, "progress=", 9) == 0) {
        int fin = strcmp(line + 9, "end") == 0;
        if (fin)
            p->ended = 1;
        if (p->o && p->o->on_progress)
            p->o->on_progress(p->o->ud, p->done, p->total, fin);
    }
}

int om_render_parse_progress(const char *text, size_t len, double total_s,
                             const om_render_opts *opts, double *done_out)
{
    prog pg = {opts, total_s, 0, 0};
    om_sbuf line = OM_SBUF_INIT;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n' || text[i] == '\r') {
            if (line.len)
                on_progress_line(&pg, line.buf);
            sb_reset(&line);
        } else if (line.len < 65536) { /* as om_proc_run delivers lines */
            sb_append(&line, &text[i], 1);
        }
    }
    sb_release(&line);
    if (done_out)
        *done_out = pg.done;
    return pg.ended;
}

int om_render_run(const om_editcmd *cmd, double expected_s, const om_render_opts *opts)
{
    prog pg = {opts, expected_s, 0, 0};
    om_proc_opts po = {
        .argv = (const char *const *)cmd->argv,
        .timeout_ms = opts ? opts->timeout_ms : 0,
        .cancel = opts ? opts->cancel : NULL,
        .on_stdout_line = on_progress_line,
        .ud = &pg,
        .max_output = 1u << 20,
    };
    om_proc_result r;
    int rc = om_proc_run(&po, &r);
    if (rc == OM_ETIMEOUT) {
        int cancelled = opts && opts->cancel && *opts->cancel;
        om_proc_result_release(&r);
        if (cancelled)
            return om_error_set(OM_ETIMEOUT, "ffmpeg cancelled at %.1f/%.1f s of output", pg.done,
                                expected_s);
        return om_error_wrap(OM_ETIMEOUT, "ffmpeg render stopped at %.1f/%.1f s of output", pg.done,
                             expected_s);
    }
    if (rc) {
        om_proc_result_release(&r);
        return om_error_wrap(rc, "running ffmpeg");
    }
    if (r.exit_code != 0 || !pg.ended) {
        char *t = tail_lines(r.err, 6);
        if (r.exit_code != 0)
            rc = om_error_set(OM_ERROR, "ffmpeg failed (exit %d%s%s): %s", r.exit_code,
                              r.term_signal ? ", signal " : "",
                              r.term_signal ? strsignal(r.term_signal) : "", t);
        else
            rc = om_error_set(OM_ERROR, "ffmpeg exited without finishing (no progress=end): %s", t);
        free(t);
        om_proc_result_release(&r);
        return rc;
    }
    om_proc_result_release(&r);
    return OM_OK;
}

/* ---------- verify ---------- */

int om_render_verify(const char *path, const om_editplan *plan, om_render_check *out)
{
    memset(out, 0, sizeof(*out));
    int rc = om_render_probe(path, &out->info);
    if (rc)
        return om_error_wrap(OM_ERROR, "verifying render");
    const om_render_info *mi = &out->info;
    double want = om_editplan_duration(plan);
    if (!mi->has_video || strcmp(mi->vcodec, "h264") != 0)
        return om_error_set(OM_ERROR, "verifying render %s: video is '%s', want h264", path,
                            mi->has_video ? mi->vcodec : "(none)");
    if (!mi->has_audio || strcmp(mi->acodec, "aac") != 0)
        return om_error_set(OM_ERROR, "verifying render %s: audio is '%s', want aac", path,
                            mi->has_audio ? mi->acodec : "(none)");
    if (mi->width != plan->output.width || mi->height != plan->output.height)
        return om_error_set(OM_ERROR, "verifying render %s: %dx%d, want %dx%d", path, mi->width,
                            mi->height, plan->output.width, plan->output.height);
    if (mi->duration < 0 || fabs(mi->duration - want) > OM_RENDER_DURATION_TOLERANCE)
        return om_error_set(OM_ERROR, "verifying render %s: duration %.3f s, want %.3f +- %.1f s",
                            path, mi->duration, want, OM_RENDER_DURATION_TOLERANCE);
    if ((rc = om_file_size(path, &out->size)) || (rc = om_sha256_file(path, out->sha256)))
        return om_error_wrap(rc, "verifying render");
    return OM_OK;
}

/* ---------- whole render ---------- */

int om_render_file(const json_t *plan_json, const char *out_path, const om_render_opts *opts,
                   om_render_result *res)
{
    memset(res, 0, sizeof(*res));
    json_t *pj = json_deep_copy(plan_json);
    om_editplan *p = NULL;
    om_editcmd *cmd = NULL;
    char *tmp = xasprintf("%s.partial", out_path);
    int rc = om_render_resolve_plan(pj);
    if (!rc)
        rc = om_editplan_parse(&p, pj);
    if (!rc)
        rc = om_editplan_pick_encoder(p, &res->vcodec, &res->encoder_why);
    if (!rc) {
        om_editenv env = {.vcodec = res->vcodec};
        rc = om_editplan_compile(&cmd, p, tmp, &env);
    }
    if (!rc) {
        res->command = xstrdup(cmd->text);
        int64_t t0 = om_mono_ms();
        rc = om_render_run(cmd, om_editplan_duration(p), opts);
        res->seconds = (om_mono_ms() - t0) / 1000.0;
    }
    if (!rc)
        rc = om_render_verify(tmp, p, &res->check);
    if (!rc && rename(tmp, out_path) != 0)
        rc = om_error_set(OM_EIO, "rename %s -> %s: %s", tmp, out_path, strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    om_editcmd_free(cmd);
    om_editplan_free(p);
    json_decref(pj);
    return rc;
}

void om_render_result_release(om_render_result *res)
{
    free(res->command);
    free(res->vcodec);
    free(res->encoder_why);
    res->command = res->vcodec = res->encoder_why = NULL;
}
