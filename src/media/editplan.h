/*
 * editplan.h: the declarative edit plan (edit_jobs.operations) and its compiler into ONE
 * ffmpeg invocation (one -filter_complex graph, input seeking, a single encode).
 *
 * Plan JSON (unknown keys are OM_EINVAL naming them; every path must be absolute):
 *   {"source":"/abs/src.mp4", "start":12.34, "end":41.2,          // seconds of the source
 *    "source_has_audio": true,                                    // optional, default true
 *    "output":{"width":1080,"height":1920,"fps":30,"vcodec":"libx264"|"h264_nvenc","crf":20,
 *              "preset":"veryfast","acodec":"aac","abitrate":"160k"},   // all optional
 *    "reframe":{"mode":"center"|"content"|"blur_pad"|"speaker"|"split",
 *               "track":[[t,x],...],   // content: t in SOURCE seconds, x in [0,1] = centre
 *                                      // of interest as a fraction of the source width
 *               "smoothing":1.0,       // content: moving-average window in seconds
 *               "max_pan":0.35,        // optional pan limit, widths per second
 *               "track2":[[t,x],...],  // split: the bottom half's track (top: track)
 *               "evidence":{...}},     // speaker/split: faces seen, speaker scores, mode
 *                                      // (media/facetrack.h), ignored by the compiler
 *      speaker compiles like content (its track is a face path that is already smoothed:
 *      the edit stage sets smoothing 0 and its own max_pan); split stacks two W x H/2 crops
 *    "captions":{"ass":"/abs/clip.ass", "dropped_lines":[...], "stats":{...}} | null,
 *    "logo":{"path":"/abs/logo.png","position":"top_right","scale":0.18,"opacity":0.9}|null,
 *    "loudness":{"target_lufs":-14,"true_peak":-1.5,"lra":11,
 *                "measured_lufs":-23.1} | null,   // measured_lufs optional, see below
 *    "intro":{"path":"/abs/i.mp4","duration":2.0,"has_audio":true} | null,  (same for outro;
 *            duration/has_audio are filled by om_render_resolve_plan when absent)
 *    "gpu_required": false,
 *    "cuts":[[a,b],...] | null,   // jump cuts: the kept segments, SOURCE seconds, sorted,
 *                                 // disjoint, inside [start,end] (media/jumpcut.h)
 *    "audiogram":{"visual":"waves"|"spectrum","title":"...","color":"#RRGGBB",
 *                 "background":"#RRGGBB"} | null,   // an audio-only source (below)
 *    "meta":{...}}                         // free-form provenance, ignored by the compiler
 * An optional output/logo/loudness field left out takes the default of its editor.* setting
 * (src/base/settings.c: editor.width, editor.logo_scale, editor.loudness_target, ...): the one
 * place those numbers are stated. The edit stage writes every field from the workspace's
 * settings.
 *
 * Graph shape (labels are fixed, tests look for them):
 *   [0:v] fps, reframe (crop+scale | blurred pad), ass captions, logo overlay, format
 *                                                        -> [vmain] ([vout] without inserts)
 *   [0:a] aresample/aformat + loudness (below), or anullsrc when the source has no audio
 *                                                        -> [amain] ([aout] without inserts)
 *   intro/outro normalised to WxH/fps/48 kHz stereo, concat=n=K:v=1:a=1 -> [vout][aout]
 * Jump cuts (cuts with segments): after the reframe the video is split, each kept segment
 *   trimmed (trim + setpts, boundaries snapped to the frame grid) and concatenated before the
 *   captions (whose times are already on the cut timeline); the audio likewise with
 *   asplit/atrim/asetpts/concat before the loudness filters; the output lasts the kept time.
 * Audiogram (audio-only sources): no [0:v]; a colour background (WxH, fps, the clip's
 *   length), the audio's showwaves (mode cline) or showspectrum (scrolling) over its middle
 *   third, the title card in up to three lines of drawtext (DejaVu Sans Bold, top third),
 *   then the same captions and logo; the audio is asplit after the cuts for the visual.
 * Loudness, on the clip's own audio before the concat (intro/outro are pre-mastered brand
 * assets and stay as they are; one dynamic loudnorm across a loud intro and quiet speech
 * overshoots):
 *   - with measured_lufs (the clip's integrated loudness, EBU R128, which the editor stage
 *     takes from the analysis' per-second short-term loudness over the clip): a linear gain
 *     target - measured (clamped to +-OM_EDITPLAN_MAX_GAIN_DB) and a lookahead limiter
 *     (alimiter, delay compensated) 0.5 dB under the true-peak ceiling. Linear: no pumping,
 *     the dynamics of the speech are kept, and it is cheap (no 192 kHz resampling);
 *   - without it: single-pass loudnorm (dynamic mode: needs no prior measurement, keeps the
 *     true peak under the ceiling), resampled back to 48 kHz.
 *
 * Content crop: the track is resampled every 0.1 s over the clip, smoothed (two passes of a
 * centred moving average of `smoothing` seconds), pan speed limited (reframe.max_pan,
 * default OM_EDITPLAN_MAX_PAN, per second), simplified to at most OM_EDITPLAN_MAX_KEYFRAMES keyframes, and written as a flat
 * piecewise-linear ffmpeg expression x(t) = x0 + sum_i k_i*max(0,t-t_i) clamped with clip().
 *
 * Ownership: *out values are the caller's (om_editplan_free, om_editcmd_free, free()).
 */
#ifndef OMNIVA_MEDIA_EDITPLAN_H
#define OMNIVA_MEDIA_EDITPLAN_H

#include <jansson.h>
#include <stddef.h>

#define OM_EDITPLAN_MAX_KEYFRAMES 48
#define OM_EDITPLAN_MAX_PAN 0.35 /* centre movement, fraction of source width per second */
#define OM_EDITPLAN_MAX_SECONDS 3600.0
#define OM_EDITPLAN_MAX_GAIN_DB 40.0 /* loudness gain clamp (measured mode) */
#define OM_EDITPLAN_FONTSDIR "/usr/share/fonts/truetype/dejavu"

typedef enum om_reframe_mode {
    OM_REFRAME_CENTER = 0,
    OM_REFRAME_CONTENT,
    OM_REFRAME_BLUR_PAD,
    OM_REFRAME_SPEAKER, /* a face track (media/facetrack.h): compiled like content */
    OM_REFRAME_SPLIT    /* stacked split screen: track on top, track2 below */
} om_reframe_mode;

typedef enum om_logo_pos {
    OM_LOGO_TOP_LEFT = 0,
    OM_LOGO_TOP_RIGHT,
    OM_LOGO_BOTTOM_LEFT,
    OM_LOGO_BOTTOM_RIGHT,
    OM_LOGO_CENTER
} om_logo_pos;

typedef struct om_edit_insert {
    char *path;      /* NULL: no intro/outro */
    double duration; /* seconds; < 0 unknown */
    int has_audio;   /* 1, 0, or -1 unknown (treated as 1 by the compiler) */
} om_edit_insert;

typedef struct om_editplan {
    char *source;
    double start, end;
    int source_has_audio;
    struct {
        int width, height;
        double fps;
        char *vcodec;
        int crf;
        char *preset;
        char *acodec;
        char *abitrate;
    } output;
    struct {
        om_reframe_mode mode;
        double (*track)[2]; /* [t_source, x] sorted by t; content mode only */
        size_t ntrack;
        double smoothing;
        double max_pan;      /* pan limit of the keyframes, widths per second */
        double (*track2)[2]; /* split mode: the bottom half's track */
        size_t ntrack2;
    } reframe;
    char *captions_ass; /* NULL: no captions */
    struct {
        char *path; /* NULL: no logo */
        om_logo_pos position;
        double scale, opacity;
    } logo;
    int has_loudness;
    double target_lufs, true_peak, lra;
    int has_measured; /* measured_lufs given: linear gain + limiter, else loudnorm */
    double measured_lufs;
    om_edit_insert intro, outro;
    int gpu_required;
    double (*cuts)[2]; /* kept segments, source seconds; NULL: the whole [start, end] */
    size_t ncuts;
    struct {
        int on;
        int spectrum; /* 0: waves */
        char *title;  /* NULL: no title card */
        unsigned color, background; /* 0xRRGGBB */
    } audiogram;
} om_editplan;

/* Parses and validates a plan (borrowed JSON). OM_EINVAL with "edit plan: <field>: <why>". */
int om_editplan_parse(om_editplan **out, const json_t *plan);
int om_editplan_parse_text(om_editplan **out, const char *json_text);
void om_editplan_free(om_editplan *p);

/* Output duration the plan promises: (end - start, or the kept segments) + intro + outro.
 * Unknown insert
 * durations count as 0 (call om_render_resolve_inputs first). */
double om_editplan_duration(const om_editplan *p);

/* Content mode: the smoothed, clamped, simplified keyframes in CLIP time (t from 0 to
 * end-start), as a malloc'd array of [t, x] pairs (*out the caller's). */
int om_editplan_crop_keyframes(const om_editplan *p, double (**out)[2], size_t *n_out);
/* The same for reframe.track (which = 0) or reframe.track2 (which = 1, split mode). */
int om_editplan_track_keyframes(const om_editplan *p, int which, double (**out)[2],
                                size_t *n_out);

typedef struct om_editcmd {
    char **argv; /* NULL-terminated, argv[0] = "ffmpeg"; all owned */
    size_t argc;
    char *filtergraph; /* the -filter_complex value (owned copy) */
    char *text;        /* shell-quoted form for edit_jobs.ffmpeg_commands */
    char *vcodec;      /* the encoder used */
} om_editcmd;

typedef struct om_editenv {
    const char *vcodec;   /* encoder chosen by om_editplan_pick_encoder; NULL: plan's */
    const char *fontsdir; /* NULL: OM_EDITPLAN_FONTSDIR */
} om_editenv;

/* Compiles the plan into one ffmpeg command writing `output_path` (format forced to mp4,
 * so a temp name works). env may be NULL. */
int om_editplan_compile(om_editcmd **out, const om_editplan *p, const char *output_path,
                        const om_editenv *env);
void om_editcmd_free(om_editcmd *c);

/* Chooses the video encoder: h264_nvenc when the plan asks for it (gpu_required or
 * output.vcodec h264_nvenc), `ffmpeg -encoders` lists it and a 0.1 s test encode works;
 * otherwise libx264. *reason_out says why (always set; caller frees both). */
int om_editplan_pick_encoder(const om_editplan *p, char **encoder_out, char **reason_out);

/* Escapes a value for an ffmpeg filter option inside a -filter_complex graph (both levels:
 * option parser \ ' : and graph parser \ ' [ ] , ;). Caller frees. */
char *om_ff_escape_value(const char *s);
/* Joins argv into one POSIX-shell-safe line (single quotes where needed). Caller frees. */
char *om_shell_join(const char *const *argv);

/* Merges n compiled commands of clips (om_editplan_compile) into ONE ffmpeg run writing
 * outputs[k] for cmds[k] (editbatch.c): each clip keeps its inputs, input seeking, graph and
 * encoder options; global options are cmds[0]'s. *out is the caller's (om_editcmd_free).
 * OM_EINVAL when n is 0 or a command has no -filter_complex. */
int om_editcmd_batch(om_editcmd **out, om_editcmd *const *cmds, const char *const *outputs,
                     size_t n);

/* GPU encoders (gpu.c). om_editplan_compile takes env->vcodec "h264_nvenc" (-preset pN -rc
 * vbr -cq CRF -b:v 0) or "h264_vaapi" (-vaapi_device OM_VAAPI_DEVICE before the inputs, the
 * graph's [vout] through format=nv12,hwupload, -rc_mode CQP -qp CRF, no -pix_fmt).
 * om_gpu_probe asks `ffmpeg -encoders` (ffmpeg from PATH) for h264_nvenc, then h264_vaapi,
 * and runs a 0.2 s test encode with the first one listed: OM_OK with *encoder_out set
 * ("h264_nvenc" / "h264_vaapi"), or OM_ENOTFOUND saying what was missing or what the test
 * encode printed. *encoder_out is the caller's. */
#define OM_VAAPI_DEVICE "/dev/dri/renderD128"
int om_gpu_probe(char **encoder_out);

#endif
