/* audio.c: best audio stream -> mono S16 PCM at a fixed rate, in memory (see audio.h). One
 * demux pass with every other stream discarded, decode, libswresample downmix + resample
 * straight into the output buffer, then sample-exact trimming to the requested span. Long
 * spans go to a shared mapping of an unlinked temp file instead of the heap, written behind
 * us to the page cache, so that an hour of audio does not sit in the process's memory. */
#include "base/common.h"

#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "base/fsutil.h"
#include "media/audio.h"
#include "media/probe.h"

/* Output samples before trimming; pos 0 is media time `t0`. The storage is the heap, or,
 * once it would hold more than OM_AUDIO_MAP_SECONDS at the output rate, a MAP_SHARED mapping
 * of an unlinked temp file (fd >= 0) of `alloc` samples. */
typedef struct pcm_buf {
    int16_t *s;
    size_t len, alloc, cap;
    size_t map_threshold; /* samples */
    int fd;               /* -1: heap */
    size_t forgotten;     /* samples before this were written and dropped from memory */
} pcm_buf;

/* Opens an unlinked file in $TMPDIR (else /tmp) of `bytes`, blocks allocated up front (a
 * write into a sparse mapping on a full disk would be SIGBUS, not an error). -1 with errno. */
static int temp_backing(size_t bytes)
{
    const char *dir = om_tmpdir();
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { /* a file system without O_TMPFILE */
        char *path = xasprintf("%s/omniva-pcm-XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            unlink(path);
        free(path);
        if (fd < 0)
            return -1;
    }
    int e = posix_fallocate(fd, 0, (off_t)bytes);
    if (e != 0) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Moves the buffer to (or grows it in) a temp-file mapping of `na` samples. Returns 0, or -1
 * with errno when the file cannot be made; the buffer is unchanged then. */
static int buf_map(pcm_buf *b, size_t na)
{
    size_t bytes = st_mult(na, sizeof(int16_t));
    if (b->fd >= 0) {
        int e = posix_fallocate(b->fd, 0, (off_t)bytes);
        if (e != 0) {
            errno = e;
            return -1;
        }
        void *p = mremap(b->s, st_mult(b->alloc, sizeof(int16_t)), bytes, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return -1;
        b->s = p;
        b->alloc = na;
        return 0;
    }
    int fd = temp_backing(bytes);
    if (fd < 0)
        return -1;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (b->len)
        memcpy(p, b->s, b->len * sizeof(int16_t));
    free(b->s);
    b->s = p;
    b->fd = fd;
    b->alloc = na;
    b->forgotten = 0;
    return 0;
}

/* Drops the whole pages inside [p, p + bytes) of a MAP_SHARED file mapping from this
 * process's memory; their contents stay in the file and come back when touched. (On private
 * or anonymous memory MADV_DONTNEED would zero them: only mapped PCM comes here.) */
static void forget_shared(const void *p, size_t bytes)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(page - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
}

static int buf_reserve(pcm_buf *b, size_t extra, const char *path)
{
    size_t need = st_add(b->len, extra);
    if (need > b->cap)
        return om_error_set(OM_EINVAL, "%s: audio longer than the %.0f s decode limit", path,
                            OM_AUDIO_MAX_SECONDS);
    if (need <= b->alloc)
        return OM_OK;
    size_t na = b->alloc ? b->alloc : 65536;
    while (na < need)
        na = st_mult(na, 2);
    if (b->fd >= 0 || na > b->map_threshold) {
        if (b->fd < 0 && b->alloc == 0)
            na = need; /* the first reservation is the span: exactly that */
        if (buf_map(b, na) == 0)
            return OM_OK;
        if (b->fd >= 0)
            return om_error_set(OM_EIO, "%s: growing the decoded audio's temp file: %s", path,
                                strerror(errno));
        om_warn("media", "%s: no temp file for the decoded audio (%s); keeping it in memory", path,
                strerror(errno));
        b->map_threshold = SIZE_MAX;
    }
    b->s = xrealloc(b->s, st_mult(na, sizeof(int16_t)));
    b->alloc = na;
    return OM_OK;
}

/* Drops the written pages behind the write position from this process's memory (they stay
 * in the file), every 4 MiB. */
static void buf_forget_written(pcm_buf *b)
{
    if (b->fd < 0 || b->len - b->forgotten < (size_t)2 << 20)
        return;
    forget_shared(b->s + b->forgotten, (b->len - b->forgotten) * sizeof(int16_t));
    b->forgotten = b->len;
}

static void buf_free(pcm_buf *b)
{
    if (b->fd >= 0) {
        if (b->s)
            munmap(b->s, b->alloc * sizeof(int16_t));
        close(b->fd);
    } else {
        free(b->s);
    }
    b->s = NULL;
    b->fd = -1;
}

typedef struct dec_state {
    const char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    SwrContext *swr;
    AVFrame *frame;
    AVPacket *pkt;
    int rate;
    /* current swr input configuration */
    int in_rate, in_fmt;
    AVChannelLayout in_layout;
    double origin; /* container start time: media time 0 */
    int have_t0;
    double t0;      /* media time of pcm_buf position 0 */
    double in_next; /* media time where the next input frame is expected */
    size_t stop_at; /* stop decoding once this many samples are buffered (0: never) */
    pcm_buf out;
    long bad_packets, good_frames;
} dec_state;

static int swr_flush_into(dec_state *d)
{
    if (!d->swr)
        return OM_OK;
    for (;;) {
        int room = swr_get_out_samples(d->swr, 0);
        if (room <= 0)
            return OM_OK;
        int rc = buf_reserve(&d->out, (size_t)room, d->path);
        if (rc < 0)
            return rc;
        uint8_t *o = (uint8_t *)(d->out.s + d->out.len);
        int got = swr_convert(d->swr, &o, room, NULL, 0);
        if (got < 0)
            return om_media_error(OM_ERROR, d->path, got, "resampling failed");
        if (got == 0)
            return OM_OK;
        d->out.len += (size_t)got;
    }
}

static int swr_setup(dec_state *d, const AVFrame *f)
{
    AVChannelLayout in_layout;
    int r;
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f->ch_layout.nb_channels <= 0) {
        av_channel_layout_default(&in_layout, f->ch_layout.nb_channels > 0
                                                  ? f->ch_layout.nb_channels
                                                  : d->dec->ch_layout.nb_channels);
    } else if ((r = av_channel_layout_copy(&in_layout, &f->ch_layout)) < 0) {
        return om_media_error(OM_ERROR, d->path, r, "copying the channel layout");
    }
    if (in_layout.nb_channels <= 0) {
        av_channel_layout_uninit(&in_layout);
        return om_error_set(OM_EINVAL, "%s: decoded audio frame has no channels", d->path);
    }
    if (d->swr && d->in_rate == f->sample_rate && d->in_fmt == f->format &&
        av_channel_layout_compare(&d->in_layout, &in_layout) == 0) {
        av_channel_layout_uninit(&in_layout);
        return OM_OK;
    }
    if (d->swr) { /* format change mid-stream: drain the old converter first */
        int rc = swr_flush_into(d);
        swr_free(&d->swr);
        if (rc < 0) {
            av_channel_layout_uninit(&in_layout);
            return rc;
        }
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    r = swr_alloc_set_opts2(&d->swr, &mono, AV_SAMPLE_FMT_S16, d->rate, &in_layout,
                            (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    if (r >= 0)
        r = swr_init(d->swr);
    av_channel_layout_uninit(&d->in_layout);
    d->in_layout = in_layout;
    if (r < 0) {
        swr_free(&d->swr);
        return om_media_error(OM_EINVAL, d->path, r, "cannot set up the audio resampler");
    }
    d->in_rate = f->sample_rate;
    d->in_fmt = f->format;
    return OM_OK;
}

static int take_frame(dec_state *d, const AVStream *st)
{
    AVFrame *f = d->frame;
    if (f->nb_samples <= 0 || f->sample_rate <= 0)
        return OM_OK;
    double t = NAN;
    if (f->best_effort_timestamp != AV_NOPTS_VALUE)
        t = (double)f->best_effort_timestamp * av_q2d(st->time_base) - d->origin;
    if (!d->have_t0) {
        d->have_t0 = 1;
        d->t0 = isnan(t) ? 0.0 : t;
        d->in_next = d->t0;
    } else if (!isnan(t) && t - d->in_next > 0.1) {
        /* A hole in the track: keep samples on the media time line with silence. */
        int rc = swr_flush_into(d);
        if (rc < 0)
            return rc;
        double want_pos = (t - d->t0) * d->rate;
        if (want_pos > (double)d->out.len) {
            size_t pad = (size_t)llround(want_pos - (double)d->out.len);
            if ((rc = buf_reserve(&d->out, pad, d->path)) < 0)
                return rc;
            memset(d->out.s + d->out.len, 0, pad * sizeof(int16_t));
            d->out.len += pad;
        }
        d->in_next = t;
    }
    d->in_next += (double)f->nb_samples / f->sample_rate;

    int rc = swr_setup(d, f);
    if (rc < 0)
        return rc;
    int room = swr_get_out_samples(d->swr, f->nb_samples);
    if (room < 0)
        return om_media_error(OM_ERROR, d->path, room, "resampling failed");
    if ((rc = buf_reserve(&d->out, (size_t)room, d->path)) < 0)
        return rc;
    uint8_t *o = (uint8_t *)(d->out.s + d->out.len);
    int got = swr_convert(d->swr, &o, room, (const uint8_t **)f->extended_data, f->nb_samples);
    if (got < 0)
        return om_media_error(OM_ERROR, d->path, got, "resampling failed");
    d->out.len += (size_t)got;
    d->good_frames++;
    return OM_OK;
}

/* Receives every frame the decoder has ready. */
static int drain_decoder(dec_state *d, const AVStream *st)
{
    for (;;) {
        int r = avcodec_receive_frame(d->dec, d->frame);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return OM_OK;
        if (r == AVERROR_INVALIDDATA) {
            d->bad_packets++;
            continue;
        }
        if (r < 0)
            return om_media_error(OM_EINVAL, d->path, r, "audio decoding failed");
        int rc = take_frame(d, st);
        av_frame_unref(d->frame);
        if (rc < 0)
            return rc;
    }
}

static void dec_state_free(dec_state *d)
{
    swr_free(&d->swr);
    av_channel_layout_uninit(&d->in_layout);
    av_frame_free(&d->frame);
    av_packet_free(&d->pkt);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    buf_free(&d->out);
}

#define RETRY_WITHOUT_SEEK 1

/* Returns 0 / OM_E*, or RETRY_WITHOUT_SEEK when the seek landed after start_s (a demuxer
 * seeking by bit rate, say): then the caller decodes again from the top. */
static int decode_span(const char *path, double start_s, double dur_s, int rate, int may_seek,
                       om_pcm *out)
{
    memset(out, 0, sizeof(*out));
    if (!isfinite(start_s) || start_s < 0 || !isfinite(dur_s) || dur_s < 0)
        return om_error_set(OM_EINVAL, "%s: bad audio span start=%g duration=%g", path, start_s,
                            dur_s);
    if (rate < 8000 || rate > 192000)
        return om_error_set(OM_EINVAL, "audio rate %d Hz is outside 8000..192000", rate);
    if (dur_s > OM_AUDIO_MAX_SECONDS)
        return om_error_set(OM_EINVAL, "%s: audio span of %.0f s is over the %.0f s limit", path,
                            dur_s, OM_AUDIO_MAX_SECONDS);

    dec_state d = {.path = path, .rate = rate};
    d.out.fd = -1;
    d.out.map_threshold = (size_t)(OM_AUDIO_MAP_SECONDS * rate);
    om_media_info info;
    int rc = om_media_open(path, &d.fmt, &info);
    if (rc < 0)
        return rc;
    if (!info.has_audio) {
        dec_state_free(&d);
        return om_error_set(OM_EINVAL, "no audio track in %s", path);
    }
    if (info.duration > 0 && start_s >= info.duration) {
        dec_state_free(&d);
        return om_error_set(OM_EINVAL, "%s: audio start %.3f s is at or past the end (%.3f s)",
                            path, start_s, info.duration);
    }
    int ai = info.audio_stream;
    AVStream *st = d.fmt->streams[ai];
    for (unsigned i = 0; i < d.fmt->nb_streams; i++)
        d.fmt->streams[i]->discard = (int)i == ai ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    d.origin = info.start_time;

    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    d.dec = avcodec_alloc_context3(codec);
    d.frame = av_frame_alloc();
    d.pkt = av_packet_alloc();
    if (!d.dec || !d.frame || !d.pkt) {
        dec_state_free(&d);
        return om_error_set(OM_ERROR, "%s: out of memory setting up the decoder", path);
    }
    int r = avcodec_parameters_to_context(d.dec, st->codecpar);
    if (r >= 0) {
        d.dec->pkt_timebase = st->time_base;
        r = avcodec_open2(d.dec, codec, NULL);
    }
    if (r < 0) {
        om_media_error(OM_EINVAL, path, r, "cannot open the audio decoder");
        dec_state_free(&d);
        return OM_EINVAL;
    }

    double span = dur_s > 0 ? dur_s : (info.duration > 0 ? info.duration - start_s : 0);
    if (span > OM_AUDIO_MAX_SECONDS) {
        dec_state_free(&d);
        return om_error_set(OM_EINVAL, "%s: audio span of %.0f s is over the %.0f s limit", path,
                            span, OM_AUDIO_MAX_SECONDS);
    }
    /* Room for the span plus what precedes the seek point, within the hard cap. */
    d.out.cap = (size_t)((OM_AUDIO_MAX_SECONDS + 60.0) * rate);
    if (span > 0 && (rc = buf_reserve(&d.out, (size_t)((span + 1.0) * rate), path)) < 0) {
        dec_state_free(&d);
        return rc;
    }

    int seeked = 0;
    if (start_s > 0 && may_seek) {
        int64_t ts = (int64_t)((start_s + d.origin) * AV_TIME_BASE);
        r = av_seek_frame(d.fmt, -1, ts, AVSEEK_FLAG_BACKWARD);
        if (r < 0) /* not seekable: decode from the top and trim */
            om_debug("media", "%s: seek to %.3f s failed; decoding from the start", path, start_s);
        else
            seeked = 1;
    }

    long packets = 0;
    for (;;) {
        if (d.stop_at == 0 && d.have_t0 && dur_s > 0) {
            double skip = (start_s - d.t0) * rate;
            d.stop_at = (size_t)(fmax(skip, 0.0) + dur_s * rate) + (size_t)rate / 10 + 1;
        }
        if (d.stop_at && d.out.len >= d.stop_at)
            break;
        if (seeked && d.have_t0 && d.t0 > start_s + 0.002) {
            dec_state_free(&d);
            return RETRY_WITHOUT_SEEK;
        }
        r = av_read_frame(d.fmt, d.pkt);
        if (r == AVERROR_EOF)
            break;
        if (r < 0) {
            om_warn("media", "%s: reading stopped early: %s", path, av_err2str(r));
            break;
        }
        if (d.pkt->stream_index != ai) {
            av_packet_unref(d.pkt);
            continue;
        }
        packets++;
        r = avcodec_send_packet(d.dec, d.pkt);
        av_packet_unref(d.pkt);
        if (r == AVERROR_INVALIDDATA) {
            d.bad_packets++;
        } else if (r < 0 && r != AVERROR(EAGAIN)) {
            om_media_error(OM_EINVAL, path, r, "audio decoding failed");
            dec_state_free(&d);
            return OM_EINVAL;
        }
        if ((rc = drain_decoder(&d, st)) < 0) {
            dec_state_free(&d);
            return rc;
        }
        buf_forget_written(&d.out);
    }
    if (!(d.stop_at && d.out.len >= d.stop_at)) { /* end of file: flush everything */
        avcodec_send_packet(d.dec, NULL);
        if ((rc = drain_decoder(&d, st)) < 0 || (rc = swr_flush_into(&d)) < 0) {
            dec_state_free(&d);
            return rc;
        }
    }
    if (d.good_frames == 0 && packets > 0) {
        om_error_set(OM_EINVAL, "%s: the audio stream could not be decoded (%ld bad packets)", path,
                     d.bad_packets);
        dec_state_free(&d);
        return OM_EINVAL;
    }
    if (d.bad_packets)
        om_warn("media", "%s: skipped %ld corrupt audio packets", path, d.bad_packets);

    /* Trim (or pad) so that sample 0 is start_s and the length is dur_s at most. */
    double t0 = d.have_t0 ? d.t0 : start_s;
    long long lead = llround((start_s - t0) * rate); /* > 0: drop; < 0: pad silence */
    size_t pad = lead < 0 ? (size_t)(-lead) : 0;
    size_t drop = lead > 0 ? (size_t)lead : 0;
    size_t avail = d.out.len > drop ? d.out.len - drop : 0;
    size_t total = st_add(avail, pad);
    if (dur_s > 0) {
        size_t want = (size_t)llround(dur_s * rate);
        if (total > want)
            total = want;
    }
    if (total > 0 && pad > 0) { /* the track starts late: silence before it */
        size_t keep = total - (pad < total ? pad : total);
        if ((rc = buf_reserve(&d.out, pad, path)) < 0) {
            dec_state_free(&d);
            return rc;
        }
        memmove(d.out.s + pad, d.out.s, keep * sizeof(int16_t));
        memset(d.out.s, 0, (total - keep) * sizeof(int16_t));
        drop = 0;
    }
    if (total > 0 && d.out.fd >= 0) { /* hand over the mapping; samples start at `drop` */
        out->samples = d.out.s + drop;
        out->map = d.out.s;
        out->map_len = d.out.alloc * sizeof(int16_t);
        close(d.out.fd); /* the mapping keeps the unlinked file until munmap */
        d.out.s = NULL;
        d.out.fd = -1;
        forget_shared(out->map, out->map_len);
    } else if (total > 0) { /* heap: hand over the buffer, no copy */
        if (drop)
            memmove(d.out.s, d.out.s + drop, total * sizeof(int16_t));
        out->samples = d.out.s;
        d.out.s = NULL;
    }
    out->n = total;
    out->rate = rate;
    out->src_channels = info.channels;
    out->start = start_s;
    dec_state_free(&d);
    return OM_OK;
}

int om_audio_decode(const char *path, double start_s, double dur_s, int rate, om_pcm *out)
{
    OM_ASSERT(path && out);
    int rc = decode_span(path, start_s, dur_s, rate, 1, out);
    if (rc == RETRY_WITHOUT_SEEK) {
        om_debug("media", "%s: seek to %.3f s overshot; decoding from the start", path, start_s);
        rc = decode_span(path, start_s, dur_s, rate, 0, out);
    }
    return rc;
}

int om_audio_decode_16k(const char *path, double start_s, double dur_s, om_pcm *out)
{
    return om_audio_decode(path, start_s, dur_s, OM_AUDIO_RATE, out);
}

void om_pcm_release(om_pcm *pcm)
{
    if (!pcm)
        return;
    if (pcm->map)
        munmap(pcm->map, pcm->map_len);
    else
        free(pcm->samples);
    memset(pcm, 0, sizeof(*pcm));
}

void om_pcm_forget(const om_pcm *pcm, size_t from, size_t to)
{
    if (!pcm || !pcm->map || from >= to || from >= pcm->n)
        return;
    if (to > pcm->n)
        to = pcm->n;
    forget_shared(pcm->samples + from, (to - from) * sizeof(int16_t));
}

void om_pcm_forget_cb(void *pcm, size_t from, size_t to)
{
    om_pcm_forget(pcm, from, to);
}

double om_pcm_end(const om_pcm *pcm)
{
    return pcm->rate > 0 ? pcm->start + (double)pcm->n / pcm->rate : pcm->start;
}
