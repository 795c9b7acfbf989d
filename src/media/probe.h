/*
 * probe.h: in-process media probing with libavformat (what a source file holds, and whether
 * the analyzer and the editor can work with it), plus the small libav plumbing the other
 * media files (audio.c, scenes.c, croptrack.c) share: one opener with the same checks and
 * messages, and libav's log routed into ours.
 *
 * Errors (error.h): a missing file is OM_ENOTFOUND; everything wrong with the file itself is
 * OM_EINVAL with a message that starts with the path and says what is wrong:
 *   empty file, not a media file / corrupt / truncated (mp4 without its moov atom, or whose
 *   sample index points past the end of the file), no streams, no audio or video stream,
 *   a stream whose codec has no decoder here, resolution above OM_MEDIA_MAX_DIM.
 * libav's own explanation (e.g. "moov atom not found") is appended in parentheses when it
 * gave one.
 *
 * Logging: the first call into this module installs an av_log callback (process-wide, once)
 * that forwards libav warnings and errors to om_debug("media", ...) and remembers, per
 * thread, the last error line for those messages. Nothing else in Omniva may install one.
 *
 * Thread safety: every function here may be called from several threads at once on
 * different files.
 */
#ifndef OMNIVA_MEDIA_PROBE_H
#define OMNIVA_MEDIA_PROBE_H

#include <stdint.h>

#define OM_MEDIA_MAX_DIM 8192 /* width and height limit (pixels) of a video we accept */
/* Pixels per picture any decoder we open may allocate (libav's max_pixels). */
#define OM_MEDIA_MAX_PIXELS ((int64_t)OM_MEDIA_MAX_DIM * OM_MEDIA_MAX_DIM)

/* Everything the pipeline needs to know about a file. Plain values, no ownership. Fields of
 * a stream kind that is absent are 0 / "". */
typedef struct om_media_info {
    double duration;    /* seconds (container, else longest stream); 0 when unknown */
    double start_time;  /* container start time in seconds (usually 0); media time 0 of
                           audio.h/signals.h is this instant, as for ffmpeg -ss */
    char format[64];    /* demuxer short name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
    int64_t size_bytes; /* file size */
    int64_t bit_rate;   /* container bit rate (bit/s), 0 when unknown */
    int nb_streams;     /* all streams in the container (incl. data/subtitle/cover art) */

    int has_video;     /* a decodable video stream that is not just cover art */
    int video_stream;  /* its index, or -1 */
    int width, height; /* coded size in pixels */
    int display_width; /* size as shown: width/height swapped for 90/270 rotation */
    int display_height;
    int rotation;           /* clockwise degrees to rotate for display: 0, 90, 180 or 270 */
    double fps;             /* average (else guessed) frame rate; 0 when unknown */
    char video_codec[32];   /* e.g. "h264", "vp9" */
    char pix_fmt[32];       /* e.g. "yuv420p"; "" when unknown */
    int64_t video_bit_rate; /* bit/s, 0 when unknown */

    int has_audio;        /* a decodable audio stream */
    int audio_stream;     /* its index, or -1 */
    char audio_codec[32]; /* e.g. "aac", "opus" */
    int sample_rate;      /* Hz */
    int channels;
    int64_t audio_bit_rate; /* bit/s, 0 when unknown */
} om_media_info;

/* Probes `path`: fills *out (zeroed first). 0, OM_ENOTFOUND or OM_EINVAL (see above). */
int om_media_probe(const char *path, om_media_info *out);

/* --- shared with audio.c / scenes.c / croptrack.c (media-internal, but stable) -------- */

struct AVFormatContext;

/* Installs the av_log callback once (called by every entry point; harmless to call). */
void om_media_init(void);

/* Opens `path` with every check om_media_probe makes (find_stream_info included) and
 * returns the demuxer in *fmt_out (caller closes with avformat_close_input) and, when
 * info_out is not NULL, the probe result. Same errors as om_media_probe. */
int om_media_open(const char *path, struct AVFormatContext **fmt_out, om_media_info *info_out);

/* Sets `code` with "<path>: <what>: <av error text> (libav: <last libav error line>)" and
 * returns it. `averr` is a negative AVERROR code, or 0 for none. */
int om_media_error(int code, const char *path, int averr, const char *what);

#endif
