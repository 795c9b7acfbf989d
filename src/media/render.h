/*
 * render.h: runs a compiled edit (editplan.h) and verifies what came out.
 *
 *   om_render_resolve_plan  fills what the compiler needs to know about the inputs into the
 *                           plan JSON (source_has_audio, intro/outro duration + has_audio)
 *                           by probing them, and checks the clip lies inside the source;
 *   om_render_run           runs ffmpeg (om_proc_run: child process group, killed on
 *                           timeout or when *cancel becomes non-zero), turns its
 *                           `-progress pipe:1` key=value lines into progress callbacks;
 *   om_render_verify        probes the output (ffprobe JSON): duration within 0.1 s of the
 *                           plan, WxH of the plan, H.264 video + AAC audio; SHA-256 + size;
 *   om_render_file          all of it, writing to a temp name and renaming on success.
 *
 * Errors: OM_ENOTFOUND (input missing / ffmpeg missing), OM_EINVAL (plan does not fit the
 * inputs), OM_ETIMEOUT (killed: deadline or cancel), OM_ERROR (ffmpeg failed: the message
 * carries its exit status and last stderr lines; or the output failed verification).
 * Ownership: json_t arguments are borrowed unless said otherwise.
 */
#ifndef OMNIVA_MEDIA_RENDER_H
#define OMNIVA_MEDIA_RENDER_H

#include <jansson.h>
#include <stdint.h>

#include "base/fsutil.h"
#include "media/editplan.h"

#define OM_RENDER_DURATION_TOLERANCE 0.1

typedef struct om_render_info {
    double duration; /* format duration, seconds (-1 unknown) */
    int has_video, has_audio;
    int width, height;
    double fps;
    char vcodec[32], acodec[32];
} om_render_info;

/* ffprobe -print_format json -show_format -show_streams. OM_ENOTFOUND for a missing file,
 * OM_EINVAL when it is not media. */
int om_render_probe(const char *path, om_render_info *out);

/* Parses ffprobe's JSON output for `path` (as om_render_probe does after running it).
 * OM_EINVAL when it is not JSON or lists no audio or video stream. */
int om_render_parse_probe(const char *json, size_t len, const char *path, om_render_info *out);

/* Probes the plan's inputs and completes `plan` in place (adds source_has_audio and
 * intro/outro duration/has_audio when absent). OM_EINVAL when end lies beyond the source. */
int om_render_resolve_plan(json_t *plan);

/* done_s: output seconds written so far; total_s: expected output seconds; finished: 1 on
 * the final progress=end line. */
typedef void (*om_render_progress_fn)(void *ud, double done_s, double total_s, int finished);

typedef struct om_render_opts {
    int64_t timeout_ms; /* 0: none */
    volatile int *cancel;
    om_render_progress_fn on_progress;
    void *ud;
} om_render_opts;

/* Runs the command; OM_OK only when ffmpeg exits 0 and reported progress=end. */
int om_render_run(const om_editcmd *cmd, double expected_s, const om_render_opts *opts);

/* Feeds ffmpeg `-progress` text (key=value lines, as om_render_run reads them) to the
 * progress parser, calling opts->on_progress (opts may be NULL); *done_out (may be NULL)
 * gets the last out_time. Returns 1 when the text ended with progress=end, else 0. */
int om_render_parse_progress(const char *text, size_t len, double total_s,
                             const om_render_opts *opts, double *done_out);

typedef struct om_render_check {
    om_render_info info;
    char sha256[OM_SHA256_HEX_LEN];
    int64_t size;
} om_render_check;

/* Verifies `path` against the plan; fills *out (also on failure, as far as probed). */
int om_render_verify(const char *path, const om_editplan *plan, om_render_check *out);

typedef struct om_render_result {
    om_render_check check;
    char *command;     /* shell-quoted ffmpeg command (caller frees) */
    char *vcodec;      /* encoder used (caller frees) */
    char *encoder_why; /* why that encoder (caller frees) */
    double seconds;    /* wall time of the ffmpeg run */
} om_render_result;

/* Resolve (on a copy of plan_json), parse, pick the encoder, compile to `out_path`.partial,
 * run, verify, rename to out_path. */
int om_render_file(const json_t *plan_json, const char *out_path, const om_render_opts *opts,
                   om_render_result *res);
void om_render_result_release(om_render_result *res);

#endif
