/*
 * demo.h: the material of `omniva demo`: a brand for a specialty-coffee project and a folder
 * of generated source videos (espeak-ng speech over ffmpeg-made video), one with a planted
 * on-brand hook and a presenter on screen (a real photograph walking across the frame, its
 * mouth moving while it speaks), some with the sidecar .srt/.vtt a platform would offer,
 * some without. The brand follows the speaker (reframe "speaker") and captions in the
 * "pop" preset.
 */
#ifndef OMNIVA_STAGES_DEMO_H
#define OMNIVA_STAGES_DEMO_H

/* The demo project's brand settings as JSON text (static storage). */
const char *om_demo_brand_json(void);

/* Writes the demo sources into `dir` (created): NAME.mp4 (+ NAME.srt / NAME.vtt / NAME.json
 * sidecars). Existing complete files are kept, so a second call is cheap. */
int om_demo_make_sources(const char *dir);

/* One long talk (no subtitles) of about `minutes`, DIR/NAME.mp4, for benchmarks. */
int om_demo_make_talk(const char *dir, const char *name, double minutes);
/* The same with a platform's sidecar subtitles DIR/NAME.srt (sidecar "srt") or .vtt. */
int om_demo_make_talk_sub(const char *dir, const char *name, double minutes, const char *sidecar);

/* File name (without extension) of the source holding the planted hook (static storage). */
const char *om_demo_hook_source(void);
/* A phrase spoken in the planted hook (lowercase, for tests). */
const char *om_demo_hook_phrase(void);

/* File name (without extension) of the source with a presenter on screen (static storage),
 * or NULL when the presenter's photo (opencv-doc) is not installed and no source has one. */
const char *om_demo_presenter_source(void);
/* The truth of that source: the presenter's face centre at media time t, as a fraction of
 * the frame's width (its vertical centre stays at 0.44 of the height). */
double om_demo_presenter_x(double t);

#endif
