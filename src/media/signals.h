/*
 * signals.h: every cheap signal of a source for the analyzer's raw_ai_output "signals":
 * the audio signals of audiosig.h and the video signals of scenes.h, computed in one call,
 * and their JSON. (The editor's crop track is croptrack.h.)
 *
 * Ownership: an om_signals is the caller's and is released with om_signals_release (safe on
 * a zeroed struct and after a failed call). om_signals_to_json returns a new reference
 * (json_decref).
 * Errors: those of om_media_probe, om_audio_decode_16k, om_audio_signals_compute and
 * om_video_signals_compute, passed on unchanged.
 * Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_SIGNALS_H
#define OMNIVA_MEDIA_SIGNALS_H

#include <jansson.h>

#include "media/audio.h"
#include "media/audiosig.h"
#include "media/scenes.h"

typedef struct om_signals {
    double duration; /* probed duration of the source */
    int has_audio, has_video;
    om_audio_signals audio; /* zeroed when !has_audio */
    om_video_signals video; /* zeroed when !has_video */
} om_signals;

/* Probes `path`, decodes its audio at 16 kHz (handing the PCM to the caller through pcm_out
 * when not NULL, for ASR: decoded once) and computes the audio and video signals. A source
 * without audio or without video is fine (has_audio / has_video 0); one with neither fails
 * in the probe. */
int om_signals_analyze(const char *path, const om_audio_opts *aopts, const om_video_opts *vopts,
                       om_pcm *pcm_out, om_signals *out);
void om_signals_release(om_signals *s);

/* The raw_ai_output "signals" object:
 *   {"duration":..,
 *    "loudness":{"integrated":LUFS,"range":LU,"peak":dBFS,"short_term":[LUFS per second]}
 *               (null without audio),
 *    "silences":[[s,e],..], "scenes":[t,..], "motion":[0..1 per second],
 *    "speech_rate_wpm": syllable-based estimate (null without audio; the analyzer may replace
 *                       it with the transcript's figure),
 *    "speech_activity":0..1, "syllable_rate":per s,
 *    "hook":{"first_lufs","rest_lufs","delta_lu","lead_silence","active_fraction"} }
 * Numbers are rounded (times to 0.001 s, levels to 0.01); dump with
 * JSON_REAL_PRECISION(10) or so to keep the text short. */
json_t *om_signals_to_json(const om_signals *s);

#endif
