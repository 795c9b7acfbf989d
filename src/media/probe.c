/* probe.c: libavformat probing with the checks and messages of probe.h, and the libav log
 * bridge every media file shares. */
#include "base/common.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include "media/probe.h"

/* ---- libav log bridge ----------------------------------------------------------------- */

static pthread_once_t media_once = PTHREAD_ONCE_INIT;
static _Thread_local char av_last_error[256];

static void av_log_bridge(void *avcl, int level, const char *fmt, va_list vl)
{
    (void)avcl;
    if (level > AV_LOG_WARNING)
        return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, vl);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n == 0)
        return;
    if (level <= AV_LOG_ERROR)
        snprintf(av_last_error, sizeof(av_last_error), "%s", line);
    om_debug("media", "libav: %s", line);
}

static void media_init_once(void)
{
    av_log_set_callback(av_log_bridge);
}

void om_media_init(void)
{
    pthread_once(&media_once, media_init_once);
}

int om_media_error(int code, const char *path, int averr, const char *what)
{
    char avmsg[AV_ERROR_MAX_STRING_SIZE] = "";
    if (averr < 0)
        av_strerror(averr, avmsg, sizeof(avmsg));
    om_error_set(code, "%s: %s%s%s%s%s%s", path, what, avmsg[0] ? ": " : "", avmsg,
                 av_last_error[0] ? " (libav: " : "", av_last_error, av_last_error[0] ? ")" : "");
    return code;
}

/* ---- stream selection ----------------------------------------------------------------- */

static const char *codec_label(const AVCodecParameters *par, char *buf, size_t len)
{
    const char *name = avcodec_get_name(par->codec_id);
    if (par->codec_tag) {
        char tag[AV_FOURCC_MAX_STRING_SIZE];
        av_fourcc_make_string(tag, par->codec_tag);
        snprintf(buf, len, "'%s' (tag %s)", name, tag);
    } else {
        snprintf(buf, len, "'%s'", name);
    }
    return buf;
}

static int has_decoder(const AVCodecParameters *par)
{
    return par->codec_id != AV_CODEC_ID_NONE && avcodec_find_decoder(par->codec_id) != NULL;
}

/* The video stream to use: largest decodable picture that is not cover art. -1 when there is
 * no real video stream; OM_EINVAL when there are some but none can be decoded. */
static int pick_video(AVFormatContext *fmt, const char *path, int *idx_out)
{
    int best = -1, undecodable = -1;
    int64_t best_area = -1;
    *idx_out = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (!has_decoder(st->codecpar)) {
            if (undecodable < 0)
                undecodable = (int)i;
            continue;
        }
        int64_t area = (int64_t)st->codecpar->width * st->codecpar->height;
        if (st->disposition & AV_DISPOSITION_DEFAULT)
            area += 1; /* prefer the default stream among equals */
        if (area > best_area) {
            best_area = area;
            best = (int)i;
        }
    }
    if (best < 0 && undecodable >= 0) {
        char lbl[96];
        return om_error_set(
            OM_EINVAL, "%s: unsupported video codec: stream %d codec %s has no decoder", path,
            undecodable, codec_label(fmt->streams[undecodable]->codecpar, lbl, sizeof(lbl)));
    }
    *idx_out = best;
    return OM_OK;
}

static int pick_audio(AVFormatContext *fmt, const char *path, int related, int *idx_out)
{
    *idx_out = -1;
    const AVCodec *dec = NULL;
    int r = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, related, &dec, 0);
    if (r >= 0) {
        *idx_out = r;
        return OM_OK;
    }
    if (r == AVERROR_STREAM_NOT_FOUND)
        return OM_OK;
    /* The best one has no decoder: fall back to any decodable audio stream. */
    int undecodable = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (has_decoder(st->codecpar)) {
            *idx_out = (int)i;
            return OM_OK;
        }
        if (undecodable < 0)
            undecodable = (int)i;
    }
    if (undecodable < 0)
        return OM_OK;
    char lbl[96];
    return om_error_set(OM_EINVAL, "%s: unsupported audio codec: stream %d codec %s has no decoder",
                        path, undecodable,
                        codec_label(fmt->streams[undecodable]->codecpar, lbl, sizeof(lbl)));
}

/* A demuxer index (mp4 sample table, AVI idx1, ...) pointing past the end of the file means
 * the file was cut short even though its header survived (e.g. a faststart mp4). */
static int check_truncated(AVFormatContext *fmt, const char *path, int idx, int64_t size)
{
    if (idx < 0 || size <= 0)
        return OM_OK;
    AVStream *st = fmt->streams[idx];
    int n = avformat_index_get_entries_count(st);
    int64_t end = 0;
    for (int i = 0; i < n; i++) {
        const AVIndexEntry *e = avformat_index_get_entry(st, i);
        if (e && e->pos >= 0) {
            int64_t e_end = e->pos + (e->size > 0 ? e->size : 1);
            if (e_end > end)
                end = e_end;
        }
    }
    if (end > size)
        return om_error_set(OM_EINVAL,
                            "%s: truncated file: stream %d's index needs %lld bytes but the file "
                            "has %lld",
                            path, idx, (long long)end, (long long)size);
    return OM_OK;
}

static int display_rotation(const AVStream *st)
{
    size_t sz = 0;
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &sz);
    if (!m || sz < 9 * sizeof(int32_t))
        return 0;
    double ccw = av_display_rotation_get((const int32_t *)m);
    if (isnan(ccw))
        return 0;
    long cw = lround(-ccw / 90.0) * 90;
    cw %= 360;
    if (cw < 0)
        cw += 360;
    return (int)cw;
}

static void copy_name(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

static int fill_info(AVFormatContext *fmt, const char *path, int64_t size, om_media_info *out)
{
    int rc, vi, ai;
    memset(out, 0, sizeof(*out));
    out->video_stream = out->audio_stream = -1;
    out->size_bytes = size;
    out->nb_streams = (int)fmt->nb_streams;
    copy_name(out->format, sizeof(out->format), fmt->iformat ? fmt->iformat->name : "");
    out->bit_rate = fmt->bit_rate > 0 ? fmt->bit_rate : 0;
    out->start_time =
        fmt->start_time != AV_NOPTS_VALUE ? (double)fmt->start_time / AV_TIME_BASE : 0.0;
    if (fmt->nb_streams == 0)
        return om_error_set(OM_EINVAL, "%s: no streams in the file", path);

    if ((rc = pick_video(fmt, path, &vi)) < 0)
        return rc;
    if ((rc = pick_audio(fmt, path, vi, &ai)) < 0)
        return rc;
    if (vi < 0 && ai < 0) {
        om_sbuf kinds = OM_SBUF_INIT;
        for (unsigned i = 0; i < fmt->nb_streams; i++) {
            const AVStream *st = fmt->streams[i];
            const char *k = av_get_media_type_string(st->codecpar->codec_type);
            if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
                (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
                k = "cover art";
            sb_printf(&kinds, "%s%s", i ? ", " : "", k ? k : "unknown");
        }
        om_error_set(OM_EINVAL, "%s: no audio or video stream (%u stream%s: %s)", path,
                     fmt->nb_streams, fmt->nb_streams == 1 ? "" : "s", sb_str(&kinds));
        sb_release(&kinds);
        return OM_EINVAL;
    }

    double dur = fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0
                     ? (double)fmt->duration / AV_TIME_BASE
                     : 0.0;
    if (dur <= 0) {
        for (unsigned i = 0; i < fmt->nb_streams; i++) {
            const AVStream *st = fmt->streams[i];
            if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
                double d = st->duration * av_q2d(st->time_base);
                if (d > dur)
                    dur = d;
            }
        }
    }
    out->duration = dur;

    if (vi >= 0) {
        AVStream *st = fmt->streams[vi];
        const AVCodecParameters *par = st->codecpar;
        if (par->width <= 0 || par->height <= 0)
            return om_error_set(
                OM_EINVAL, "%s: corrupt video stream %d: no frame size could be read", path, vi);
        if (par->width > OM_MEDIA_MAX_DIM || par->height > OM_MEDIA_MAX_DIM)
            return om_error_set(OM_EINVAL, "%s: resolution %dx%d exceeds the %dx%d limit", path,
                                par->width, par->height, OM_MEDIA_MAX_DIM, OM_MEDIA_MAX_DIM);
        out->has_video = 1;
        out->video_stream = vi;
        out->width = par->width;
        out->height = par->height;
        out->rotation = display_rotation(st);
        int swap = out->rotation == 90 || out->rotation == 270;
        out->display_width = swap ? par->height : par->width;
        out->display_height = swap ? par->width : par->height;
        AVRational fr = st->avg_frame_rate;
        if (fr.num <= 0 || fr.den <= 0)
            fr = av_guess_frame_rate(fmt, st, NULL);
        out->fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0.0;
        copy_name(out->video_codec, sizeof(out->video_codec), avcodec_get_name(par->codec_id));
        copy_name(out->pix_fmt, sizeof(out->pix_fmt),
                  par->format >= 0 ? av_get_pix_fmt_name((enum AVPixelFormat)par->format) : "");
        out->video_bit_rate = par->bit_rate > 0 ? par->bit_rate : 0;
    }
    if (ai >= 0) {
        const AVCodecParameters *par = fmt->streams[ai]->codecpar;
        if (par->sample_rate <= 0 || par->ch_layout.nb_channels <= 0)
            return om_error_set(OM_EINVAL,
                                "%s: corrupt audio stream %d: no sample rate or channel count",
                                path, ai);
        out->has_audio = 1;
        out->audio_stream = ai;
        copy_name(out->audio_codec, sizeof(out->audio_codec), avcodec_get_name(par->codec_id));
        out->sample_rate = par->sample_rate;
        out->channels = par->ch_layout.nb_channels;
        out->audio_bit_rate = par->bit_rate > 0 ? par->bit_rate : 0;
    }
    if ((rc = check_truncated(fmt, path, vi, size)) < 0)
        return rc;
    return check_truncated(fmt, path, ai, size);
}

int om_media_open(const char *path, AVFormatContext **fmt_out, om_media_info *info_out)
{
    OM_ASSERT(path && fmt_out);
    om_media_init();
    *fmt_out = NULL;
    av_last_error[0] = '\0';

    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return om_error_set(OM_ENOTFOUND, "%s: no such file", path);
        return om_error_set(OM_EIO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return om_error_set(OM_EINVAL, "%s: not a regular file", path);
    if (sb.st_size == 0)
        return om_error_set(OM_EINVAL, "%s: empty file (0 bytes)", path);

    AVFormatContext *fmt = NULL;
    int r = avformat_open_input(&fmt, path, NULL, NULL);
    if (r < 0)
        return om_media_error(OM_EINVAL, path, r, "not a media file, or corrupt or truncated");
    /* Reject huge pictures before find_stream_info decodes one (a decompression bomb), and
     * cap what its decoders may allocate if the header understated the size. */
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVCodecParameters *par = fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO &&
            (par->width > OM_MEDIA_MAX_DIM || par->height > OM_MEDIA_MAX_DIM)) {
            om_error_set(OM_EINVAL, "%s: resolution %dx%d exceeds the %dx%d limit", path,
                         par->width, par->height, OM_MEDIA_MAX_DIM, OM_MEDIA_MAX_DIM);
            avformat_close_input(&fmt);
            return OM_EINVAL;
        }
    }
    AVDictionary **sopts = xcalloc(fmt->nb_streams ? fmt->nb_streams : 1, sizeof(*sopts));
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        av_dict_set_int(&sopts[i], "max_pixels", OM_MEDIA_MAX_PIXELS, 0);
    unsigned nopts = fmt->nb_streams;
    r = avformat_find_stream_info(fmt, sopts);
    for (unsigned i = 0; i < nopts; i++)
        av_dict_free(&sopts[i]);
    free(sopts);
    if (r < 0) {
        om_media_error(OM_EINVAL, path, r, "cannot read the stream information (corrupt?)");
        avformat_close_input(&fmt);
        return OM_EINVAL;
    }
    om_media_info tmp;
    int rc = fill_info(fmt, path, (int64_t)sb.st_size, info_out ? info_out : &tmp);
    if (rc < 0) {
        avformat_close_input(&fmt);
        return rc;
    }
    *fmt_out = fmt;
    return OM_OK;
}

int om_media_probe(const char *path, om_media_info *out)
{
    OM_ASSERT(out);
    AVFormatContext *fmt = NULL;
    int rc = om_media_open(path, &fmt, out);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        out->video_stream = out->audio_stream = -1;
        return rc;
    }
    avformat_close_input(&fmt);
    return OM_OK;
}
