/*
 * audio.h: decoding a file's audio in-process (libavformat + libavcodec + libswresample)
 * into mono signed 16-bit PCM in memory: what ASR (16 kHz) and signals.h consume. No
 * temporary WAV, no child process.
 *
 * Time: media time 0 is the container's start (om_media_info.start_time), the same origin as
 * ffmpeg's -ss and as every timestamp in raw_ai_output. samples[k] is media time
 * start_s + k / rate. When the audio track starts later than requested, or has a gap of
 * more than 0.1 s, the hole is filled with silence so that this mapping holds.
 *
 * Channels are mixed down by libswresample's default matrix; out->src_channels keeps the
 * source channel count (signals.h uses it to measure stereo sources as dual mono).
 *
 * Memory: a span longer than OM_AUDIO_MAP_SECONDS is not kept on the heap but in a shared
 * mapping of an unlinked temp file in $TMPDIR (else /tmp; blocks allocated up front, so a full
 * disk is an error, not a crash; when no file can be made it stays on the heap, with a
 * warning). Its pages count in the process's memory only while touched: a consumer done with
 * a range calls om_pcm_forget, and an hour of audio (115 MB at 16 kHz) then never sits in the
 * process whole. The samples read the same either way.
 *
 * Ownership: *out is the caller's; free its buffer with om_pcm_release (also safe on a
 * zeroed om_pcm and on a failed call's out, which is left zeroed). Do not free() samples.
 *
 * Thread safety: independent calls may run concurrently.
 */
#ifndef OMNIVA_MEDIA_AUDIO_H
#define OMNIVA_MEDIA_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#define OM_AUDIO_RATE 16000               /* what ASR and the analyzer use */
#define OM_AUDIO_MAX_SECONDS (6.0 * 3600) /* longest span decoded in one call (memory cap) */
#define OM_AUDIO_MAP_SECONDS 300.0        /* longer spans are file-backed (see above) */

typedef struct om_pcm {
    int16_t *samples; /* mono, `rate` Hz; NULL when n == 0 */
    size_t n;         /* number of samples */
    int rate;         /* samples per second */
    int src_channels; /* channel count of the source stream before the downmix */
    double start;     /* media time of samples[0] in seconds (the requested start_s) */
    void *map;        /* file-backed storage holding samples (NULL: samples is on the heap) */
    size_t map_len;   /* bytes of map */
} om_pcm;

/* Decodes the best audio stream of `path` from media time start_s (>= 0) for dur_s seconds
 * (0 = to the end) at 16 kHz mono. The result is shorter than dur_s only when the file ends
 * first. Errors: those of om_media_probe (OM_ENOTFOUND / OM_EINVAL), OM_EINVAL
 * "no audio track in <path>", OM_EINVAL when start_s is at or beyond the end or the span is
 * over OM_AUDIO_MAX_SECONDS, OM_EINVAL when the stream cannot be decoded at all. Corrupt
 * packets in the middle are skipped (logged), not fatal. */
int om_audio_decode_16k(const char *path, double start_s, double dur_s, om_pcm *out);

/* Same at any rate in [8000, 192000] Hz (e.g. 48000 for loudness at the reference rate). */
int om_audio_decode(const char *path, double start_s, double dur_s, int rate, om_pcm *out);

void om_pcm_release(om_pcm *pcm);

/* Says samples [from, to) are not needed again soon: file-backed PCM drops their pages from
 * memory (read back from the file if touched again); heap PCM ignores it. Safe from several
 * threads. om_pcm_forget_cb is the same with `pcm` as a void * (for om_asr_request.forget). */
void om_pcm_forget(const om_pcm *pcm, size_t from, size_t to);
void om_pcm_forget_cb(void *pcm, size_t from, size_t to);

/* Media time of the end of the PCM (start + n / rate). */
double om_pcm_end(const om_pcm *pcm);

#endif
