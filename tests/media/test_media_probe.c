/* test_media_probe.c: om_media_probe and om_audio_decode_16k on media generated at test
 * start (H.264/AAC mp4, opus/webm, mp3, flac, wav, rotated, late audio) and on bad media
 * (empty, random bytes, truncated mp4 with and without faststart, no audio, a codec without
 * decoder, 9000x9000 video, a subtitle file, a missing file, a directory). */
#include <dirent.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"

#include "media/audio.h"
#include "media/croptrack.h"
#include "media/probe.h"
#include "media/scenes.h"
#include "media_fixture.h"

typedef struct fx {
    char *dir;
    char *av;     /* 10 s 1280x720 H.264 + AAC stereo: tone 0-3, 5-7, 8.5-10 */
    char *speech; /* espeak-ng wav (22.05 kHz mono) */
    char *webm, *mp3, *flac;
    char *noaudio; /* 2 s 320x240 H.264 only */
    char *rot;     /* noaudio with rotate=90 metadata */
    char *late;    /* 4 s video, audio starting at 1.0 s */
    char *empty, *random, *half, *fs_half, *huge, *a64, *srt, *missing;
    double speech_dur;
} fx;

static int teardown(void **state);

static int setup(void **state)
{
    fx *f = xcalloc(1, sizeof(*f));
    f->dir = fx_tmpdir("media-probe");
    f->av = fx_path(f->dir, "av.mp4");
    f->speech = fx_path(f->dir, "speech.wav");
    f->webm = fx_path(f->dir, "speech.webm");
    f->mp3 = fx_path(f->dir, "speech.mp3");
    f->flac = fx_path(f->dir, "speech.flac");
    f->noaudio = fx_path(f->dir, "noaudio.mp4");
    f->rot = fx_path(f->dir, "rot.mp4");
    f->late = fx_path(f->dir, "late.mp4");
    f->empty = fx_path(f->dir, "empty.mp4");
    f->random = fx_path(f->dir, "random.mp4");
    f->half = fx_path(f->dir, "half.mp4");
    f->fs_half = fx_path(f->dir, "fs_half.mp4");
    f->huge = fx_path(f->dir, "huge.avi");
    f->a64 = fx_path(f->dir, "a64.mkv");
    f->srt = fx_path(f->dir, "subs.srt");
    f->missing = fx_path(f->dir, "does-not-exist.mp4");
    char *fs = fx_path(f->dir, "fs.mp4"), *tone = fx_path(f->dir, "tone.wav");

    int bad = 0;
    bad |= FX_FFMPEG("-f", "lavfi", "-i",
                     "aevalsrc='0.3*sin(2*PI*440*t)*(lt(t,3)+between(t,5,7)+gte(t,8.5))|"
                     "0.3*sin(2*PI*440*t)*(lt(t,3)+between(t,5,7)+gte(t,8.5))':s=44100:d=10",
                     "-c:a", "pcm_s16le", tone);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=10", "-i", tone, "-c:v",
                     "libx264", "-preset", "veryfast", "-c:a", "aac", "-b:a", "128k", f->av);
    bad |= fx_run((const char *const[]){"espeak-ng", "-s", "150", "-w", f->speech,
                                        "The quick brown fox jumps over the lazy dog. Short "
                                        "videos live or die in their first three seconds.",
                                        NULL},
                  NULL);
    bad |= FX_FFMPEG("-i", f->speech, "-c:a", "libopus", "-b:a", "48k", f->webm);
    bad |= FX_FFMPEG("-i", f->speech, "-c:a", "libmp3lame", "-b:a", "96k", f->mp3);
    bad |= FX_FFMPEG("-i", f->speech, "-c:a", "flac", f->flac);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-c:v", "libx264",
                     "-preset", "veryfast", f->noaudio);
    bad |= FX_FFMPEG("-i", f->noaudio, "-c", "copy", "-metadata:s:v:0", "rotate=90", f->rot);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4", "-itsoffset", "1", "-f",
                     "lavfi", "-i", "sine=f=440:sample_rate=48000:d=3", "-map", "0:v", "-map",
                     "1:a", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", f->late);
    /* bad media */
    bad |= om_write_file_atomic(f->empty, "", 0) != OM_OK;
    {
        unsigned char junk[65536];
        om_random_bytes(junk, sizeof(junk));
        memcpy(junk + 4, "ftyp", 4); /* look like an mp4 at first glance */
        bad |= om_write_file_atomic(f->random, junk, sizeof(junk)) != OM_OK;
    }
    bad |= fx_truncate_copy(f->av, f->half, (size_t)fx_file_size(f->av) / 2);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4", "-c:v", "libx264",
                     "-preset", "ultrafast", "-movflags", "+faststart", fs);
    bad |= fx_truncate_copy(fs, f->fs_half, (size_t)fx_file_size(fs) / 2);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "color=c=gray:s=9000x9000:r=1:d=1", "-frames:v", "1",
                     "-c:v", "mjpeg", "-q:v", "31", f->huge);
    /* a64multi has an encoder but no decoder: the stream's codec is unknown on input */
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "testsrc2=s=320x200:r=5:d=1", "-c:v", "a64multi", f->a64);
    const char *srt = "1\n00:00:01,000 --> 00:00:02,000\nhello\n";
    bad |= om_write_file_atomic(f->srt, srt, strlen(srt)) != OM_OK;
    free(fs);
    free(tone);
    *state = f;
    if (bad) {
        teardown(state);
        *state = NULL;
        return -1;
    }
    om_media_info in;
    if (om_media_probe(f->speech, &in) != OM_OK) {
        teardown(state);
        *state = NULL;
        return -1;
    }
    f->speech_dur = in.duration;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    om_rmtree(f->dir);
    char **all[] = {&f->dir,     &f->av,   &f->speech, &f->webm,  &f->mp3,    &f->flac,
                    &f->noaudio, &f->rot,  &f->late,   &f->empty, &f->random, &f->half,
                    &f->fs_half, &f->huge, &f->a64,    &f->srt,   &f->missing};
    for (size_t i = 0; i < OM_ARRAY_LEN(all); i++)
        free(*all[i]);
    free(f);
    return 0;
}

static void test_probe_h264_aac(void **state)
{
    fx *f = *state;
    om_media_info in;
    assert_int_equal(om_media_probe(f->av, &in), OM_OK);
    assert_true(fabs(in.duration - 10.0) < 0.1);
    assert_non_null(strstr(in.format, "mp4"));
    assert_int_equal(in.nb_streams, 2);
    assert_true(in.has_video);
    assert_true(in.has_audio);
    assert_int_equal(in.width, 1280);
    assert_int_equal(in.height, 720);
    assert_int_equal(in.display_width, 1280);
    assert_int_equal(in.rotation, 0);
    assert_true(fabs(in.fps - 25.0) < 0.01);
    assert_string_equal(in.video_codec, "h264");
    assert_string_equal(in.pix_fmt, "yuv420p");
    assert_string_equal(in.audio_codec, "aac");
    assert_int_equal(in.sample_rate, 44100);
    assert_int_equal(in.channels, 2);
    assert_true(in.video_bit_rate > 0);
    assert_true(in.audio_bit_rate > 0 && in.audio_bit_rate <= 160000);
    assert_true(in.bit_rate > in.audio_bit_rate);
    assert_int_equal(in.size_bytes, fx_file_size(f->av));
    assert_true(in.video_stream != in.audio_stream);
}

static void test_probe_audio_only_and_rotation(void **state)
{
    fx *f = *state;
    om_media_info in;
    assert_int_equal(om_media_probe(f->webm, &in), OM_OK);
    assert_false(in.has_video);
    assert_int_equal(in.video_stream, -1);
    assert_string_equal(in.audio_codec, "opus");
    assert_int_equal(in.sample_rate, 48000);
    assert_non_null(strstr(in.format, "webm"));
    assert_true(fabs(in.duration - f->speech_dur) < 0.1);

    assert_int_equal(om_media_probe(f->mp3, &in), OM_OK);
    assert_string_equal(in.audio_codec, "mp3");
    assert_int_equal(in.channels, 1);

    assert_int_equal(om_media_probe(f->rot, &in), OM_OK);
    assert_true(in.rotation == 90 || in.rotation == 270);
    assert_int_equal(in.width, 320);
    assert_int_equal(in.height, 240);
    assert_int_equal(in.display_width, 240);
    assert_int_equal(in.display_height, 320);
    assert_false(in.has_audio);
}

/* Each bad file: the probe fails with the right code and a message naming the file and the
 * problem; decode, video signals and the crop track fail the same way (no crash, no leak). */
static void expect_bad(const char *path, int code, const char *what, const char *what2)
{
    om_media_info in;
    int rc = om_media_probe(path, &in);
    if (rc != code || !strstr(om_error_msg(), path) || !strstr(om_error_msg(), what) ||
        (what2 && !strstr(om_error_msg(), what2)))
        fail_msg("%s: rc=%d msg=\"%s\" (wanted %d, \"%s\")", path, rc, om_error_msg(), code, what);
    assert_false(in.has_video || in.has_audio);
    om_pcm pcm;
    assert_int_equal(om_audio_decode_16k(path, 0, 0, &pcm), code);
    assert_non_null(strstr(om_error_msg(), what));
    assert_null(pcm.samples);
    om_video_signals vs;
    assert_int_equal(om_video_signals_compute(path, NULL, &vs), code);
    om_motion_track tr;
    assert_int_equal(om_media_motion_track(path, 0, 1, 2, 0, &tr), code);
    assert_null(tr.samples);
}

static void test_bad_media(void **state)
{
    fx *f = *state;
    expect_bad(f->empty, OM_EINVAL, "empty file (0 bytes)", NULL);
    expect_bad(f->random, OM_EINVAL, "not a media file, or corrupt or truncated", NULL);
    expect_bad(f->half, OM_EINVAL, "corrupt or truncated", "moov atom not found");
    expect_bad(f->fs_half, OM_EINVAL, "truncated file", "but the file has");
    expect_bad(f->huge, OM_EINVAL, "resolution 9000x9000 exceeds the 8192x8192 limit", NULL);
    expect_bad(f->a64, OM_EINVAL, "unsupported video codec", "has no decoder");
    expect_bad(f->srt, OM_EINVAL, "no audio or video stream", "subtitle");
    expect_bad(f->missing, OM_ENOTFOUND, "no such file", NULL);
    expect_bad(f->dir, OM_EINVAL, "not a regular file", NULL);
}

static void test_decode_no_audio(void **state)
{
    fx *f = *state;
    om_pcm pcm;
    assert_int_equal(om_audio_decode_16k(f->noaudio, 0, 0, &pcm), OM_EINVAL);
    char *want = xasprintf("no audio track in %s", f->noaudio);
    assert_string_equal(om_error_msg(), want);
    free(want);
    assert_null(pcm.samples);
    assert_int_equal(pcm.n, 0);
    om_pcm_release(&pcm); /* safe on a failed call's out */
}

static void test_decode_full_and_alignment(void **state)
{
    fx *f = *state;
    om_pcm pcm;
    assert_int_equal(om_audio_decode_16k(f->av, 0, 0, &pcm), OM_OK);
    assert_int_equal(pcm.rate, 16000);
    assert_int_equal(pcm.src_channels, 2);
    assert_true(fabs((double)pcm.n - 160000.0) <= 1600.0);
    /* identical channels mix to the same level: 0.3 peak sine = -13.5 dBFS RMS */
    assert_true(fabs(fx_rms_db(pcm.samples, 16000, 32000) - (-13.5)) < 0.5);
    assert_true(fx_rms_db(pcm.samples, 3 * 16000 + 1600, 5 * 16000 - 1600) < -60.0);
    /* the tone comes back at 5.0 s: samples are on the media time line */
    size_t on = 0;
    for (size_t i = (size_t)(4.0 * 16000); i < pcm.n; i++) {
        if (abs(pcm.samples[i]) > 2000) {
            on = i;
            break;
        }
    }
    assert_true(fabs(on / 16000.0 - 5.0) < 0.01);
    om_pcm_release(&pcm);
    assert_null(pcm.samples);
}

static void test_decode_span(void **state)
{
    fx *f = *state;
    om_pcm pcm;
    assert_int_equal(om_audio_decode_16k(f->av, 4.0, 2.0, &pcm), OM_OK);
    assert_int_equal(pcm.n, 32000);
    assert_true(fabs(pcm.start - 4.0) < 1e-9);
    assert_true(fabs(om_pcm_end(&pcm) - 6.0) < 1e-9);
    assert_true(fx_rms_db(pcm.samples, 0, 14400) < -60.0);     /* 4.0 - 4.9: silence */
    assert_true(fx_rms_db(pcm.samples, 17600, 32000) > -16.0); /* 5.1 - 6.0: tone */
    size_t on = 0;
    for (size_t i = 0; i < pcm.n; i++) {
        if (abs(pcm.samples[i]) > 2000) {
            on = i;
            break;
        }
    }
    assert_true(fabs(4.0 + on / 16000.0 - 5.0) < 0.01);
    om_pcm_release(&pcm);

    /* a span running past the end is cut at the end */
    assert_int_equal(om_audio_decode_16k(f->av, 9.5, 5.0, &pcm), OM_OK);
    assert_true(fabs((double)pcm.n - 8000.0) <= 160.0);
    om_pcm_release(&pcm);

    /* other rates */
    assert_int_equal(om_audio_decode(f->av, 1.0, 1.0, 48000, &pcm), OM_OK);
    assert_int_equal(pcm.n, 48000);
    assert_int_equal(pcm.rate, 48000);
    om_pcm_release(&pcm);

    assert_int_equal(om_audio_decode_16k(f->av, 10.5, 1.0, &pcm), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "past the end"));
    assert_int_equal(om_audio_decode_16k(f->av, -1.0, 1.0, &pcm), OM_EINVAL);
    assert_int_equal(om_audio_decode_16k(f->av, 0, 1e9, &pcm), OM_EINVAL);
    assert_int_equal(om_audio_decode(f->av, 0, 1, 1000, &pcm), OM_EINVAL);
}

static void test_decode_formats(void **state)
{
    fx *f = *state;
    om_pcm ref;
    assert_int_equal(om_audio_decode_16k(f->speech, 0, 0, &ref), OM_OK);
    assert_int_equal(ref.src_channels, 1);
    double want = f->speech_dur * 16000.0;
    assert_true(fabs((double)ref.n - want) <= 0.01 * want);
    double ref_db = fx_rms_db(ref.samples, 0, ref.n);
    assert_true(ref_db > -40.0);
    const char *paths[] = {f->webm, f->mp3, f->flac};
    for (size_t i = 0; i < OM_ARRAY_LEN(paths); i++) {
        om_pcm pcm;
        int64_t t0 = om_mono_ms();
        assert_int_equal(om_audio_decode_16k(paths[i], 0, 0, &pcm), OM_OK);
        int64_t ms = om_mono_ms() - t0;
        assert_int_equal(pcm.rate, 16000);
        if (fabs((double)pcm.n - want) > 0.01 * want)
            fail_msg("%s: %zu samples, want %.0f +- 1%%", paths[i], pcm.n, want);
        double db = fx_rms_db(pcm.samples, 0, pcm.n);
        if (fabs(db - ref_db) > 1.0)
            fail_msg("%s: rms %.2f dB vs wav %.2f dB", paths[i], db, ref_db);
        fprintf(stderr, "decode %s: %zu samples in %lld ms\n", paths[i], pcm.n, (long long)ms);
        om_pcm_release(&pcm);
    }
    om_pcm_release(&ref);
}

static void test_decode_late_audio(void **state)
{
    fx *f = *state;
    om_media_info in;
    assert_int_equal(om_media_probe(f->late, &in), OM_OK);
    om_pcm pcm;
    assert_int_equal(om_audio_decode_16k(f->late, 0, 0, &pcm), OM_OK);
    /* audio starts 1 s in: the first second is silence so sample k is still time k/16000 */
    assert_true(fx_rms_db(pcm.samples, 0, 15000) < -80.0);
    assert_true(fx_rms_db(pcm.samples, 17000, 40000) > -25.0);
    size_t on = 0;
    for (size_t i = 0; i < pcm.n; i++) {
        if (abs(pcm.samples[i]) > 1000) {
            on = i;
            break;
        }
    }
    assert_true(fabs(on / 16000.0 - 1.0) < 0.03);
    assert_true(fabs(om_pcm_end(&pcm) - 4.0) < 0.05);
    om_pcm_release(&pcm);

    /* a span starting before the audio does: the seek lands on the first audio frame, later
     * than asked, and the decode starts over from the top to keep the time line */
    assert_int_equal(om_audio_decode_16k(f->late, 0.5, 1.0, &pcm), OM_OK);
    assert_int_equal(pcm.n, 16000);
    assert_true(fx_rms_db(pcm.samples, 0, 7000) < -80.0);
    assert_true(fx_rms_db(pcm.samples, 9000, 16000) > -25.0);
    om_pcm_release(&pcm);
}

static long resident_pages(void)
{
    long size = 0, res = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(fp);
    }
    return res;
}

static size_t count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static int64_t sum_samples(const om_pcm *p)
{
    int64_t s = 0;
    for (size_t i = 0; i < p->n; i++)
        s += p->samples[i] * (int64_t)(i % 7 + 1);
    return s;
}

/* A span longer than OM_AUDIO_MAP_SECONDS is decoded into an unlinked temp-file mapping: the
 * same samples as the heap, its pages out of the process's memory once forgotten and back
 * intact when read again; with no usable temp dir it falls back to the heap. */
static void test_decode_long_audio_file_backed(void **state)
{
    fx *f = *state;
    char *path = fx_path(f->dir, "long.mp4"), *tmp = fx_path(f->dir, "tmp");
    assert_int_equal(om_mkdirs(tmp, 0700), OM_OK);
    double secs = OM_AUDIO_MAP_SECONDS + 30;
    char *vsrc = xasprintf("color=c=black:s=16x16:r=1:d=%.0f", secs + 1);
    char *asrc = xasprintf("aevalsrc='0.2*sin(2*PI*(200+3*t)*t)':s=16000:d=%.0f", secs);
    assert_int_equal(FX_FFMPEG("-f", "lavfi", "-i", vsrc, "-itsoffset", "1", "-f", "lavfi", "-i",
                               asrc, "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset",
                               "ultrafast", "-c:a", "aac", path),
                     0);
    free(vsrc);
    free(asrc);
    const char *old = getenv("TMPDIR");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("TMPDIR", tmp, 1);

    om_pcm big, head, heap;
    assert_int_equal(om_audio_decode_16k(path, 0, 0, &big), OM_OK);
    assert_non_null(big.map);
    assert_true(fabs(om_pcm_end(&big) - (secs + 1)) < 0.1);
    assert_int_equal(count_entries(tmp), 0); /* nothing left with a name */
    /* the audio starts 1 s in: silence before it (the pad is in the mapping too) */
    assert_true(fx_rms_db(big.samples, 0, 15000) < -80.0);
    assert_true(fx_rms_db(big.samples, 17000, 40000) > -25.0);

    /* resident only while touched (the decode forgot what it wrote) */
    long page = sysconf(_SC_PAGESIZE), bytes = (long)(big.n * sizeof(int16_t));
    long r0 = resident_pages();
    int64_t sum = sum_samples(&big);
    long r1 = resident_pages();
    om_pcm_forget(&big, 0, big.n);
    long r2 = resident_pages();
    assert_true((r1 - r0) * page > bytes * 8 / 10);
    assert_true((r1 - r2) * page > bytes * 8 / 10);
    assert_true(sum_samples(&big) == sum); /* read back from the file, unchanged */
    om_pcm_forget(&big, 5, 3);             /* an empty or reversed range is nothing */
    om_pcm_forget(&big, big.n, big.n + 100);

    /* the first 200 s decoded on the heap are the same samples */
    assert_int_equal(om_audio_decode_16k(path, 0, 200, &head), OM_OK);
    assert_null(head.map);
    assert_int_equal(head.n, 200 * 16000);
    assert_memory_equal(head.samples, big.samples, head.n * sizeof(int16_t));

    /* no usable temp dir: a warning and the heap, same samples */
    char *gone = fx_path(f->dir, "no-such-dir");
    setenv("TMPDIR", gone, 1);
    assert_int_equal(om_audio_decode_16k(path, 0, 0, &heap), OM_OK);
    assert_null(heap.map);
    assert_int_equal(heap.n, big.n);
    assert_memory_equal(heap.samples, big.samples, heap.n * sizeof(int16_t));
    om_pcm_forget(&heap, 0, heap.n); /* heap PCM ignores it */
    assert_true(sum_samples(&heap) == sum);

    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    om_pcm_release(&big);
    om_pcm_release(&head);
    om_pcm_release(&heap);
    om_pcm_release(&heap); /* twice is fine */
    free(saved);
    free(gone);
    free(tmp);
    free(path);
}

/* Lag (in samples, |lag| <= maxlag) that best aligns b to a. */
static long best_lag(const int16_t *a, const int16_t *b, size_t n, long maxlag)
{
    long best = 0;
    double best_c = -1e300;
    for (long lag = -maxlag; lag <= maxlag; lag++) {
        double c = 0;
        for (size_t i = (size_t)maxlag; i + (size_t)maxlag < n; i++)
            c += (double)a[i] * b[(long)i + lag];
        if (c > best_c) {
            best_c = c;
            best = lag;
        }
    }
    return best;
}

static void test_decode_span_alignment(void **state)
{
    fx *f = *state;
    om_pcm ref;
    assert_int_equal(om_audio_decode_16k(f->speech, 0, 0, &ref), OM_OK);
    const char *paths[] = {f->speech, f->webm, f->mp3, f->flac};
    for (size_t i = 0; i < OM_ARRAY_LEN(paths); i++) {
        om_pcm full, span;
        assert_int_equal(om_audio_decode_16k(paths[i], 0, 0, &full), OM_OK);
        assert_int_equal(om_audio_decode_16k(paths[i], 2.0, 1.0, &span), OM_OK);
        assert_int_equal(span.n, 16000);
        /* a span decoded after a seek is the same second of the full decode, within the
         * container's timestamp precision (Matroska: 1 ms = 16 samples) */
        long lag = best_lag(full.samples + 32000, span.samples, span.n, 160);
        /* and each encoding lines up with the wav within its codec's timestamp precision
         * (Matroska stores milliseconds; Opus pre-skip) */
        long codec_lag = best_lag(ref.samples + 16000, full.samples + 16000, 48000, 400);
        fprintf(stderr, "alignment %s: span vs full %ld, full vs wav %ld samples\n", paths[i], lag,
                codec_lag);
        if (labs(lag) > 17 || labs(codec_lag) > 160)
            fail_msg("%s: span off by %ld samples, full decode by %ld", paths[i], lag, codec_lag);
        om_pcm_release(&span);
        om_pcm_release(&full);
    }
    om_pcm_release(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_h264_aac),
        cmocka_unit_test(test_probe_audio_only_and_rotation),
        cmocka_unit_test(test_bad_media),
        cmocka_unit_test(test_decode_no_audio),
        cmocka_unit_test(test_decode_full_and_alignment),
        cmocka_unit_test(test_decode_span),
        cmocka_unit_test(test_decode_formats),
        cmocka_unit_test(test_decode_late_audio),
        cmocka_unit_test(test_decode_long_audio_file_backed),
        cmocka_unit_test(test_decode_span_alignment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
