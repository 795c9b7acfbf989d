/* media_perf.c: not a test. Times the analyzer's media work on a 10-minute source (probe,
 * 16 kHz decode, audio signals, video signals, a 30 s crop track) and the ffmpeg CLI doing
 * the comparable jobs in the same run (decode to 16 kHz mono, ebur128, full video decode),
 * printing wall and CPU seconds and the ratios.
 *
 *   media_perf [SOURCE]   (without SOURCE: generates /tmp/omniva-media-perf/src.mp4 once,
 *                          640x360 testsrc2 + looped espeak-ng speech, 600 s)
 * Build with CMAKE_BUILD_TYPE=Release for meaningful figures. */
#include "base/common.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/proc.h"
#include "media/audio.h"
#include "media/croptrack.h"
#include "media/probe.h"
#include "media/signals.h"

typedef struct clk {
    double wall, cpu, child;
} clk;

static double secs(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double child_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static clk now(void)
{
    return (clk){secs(CLOCK_MONOTONIC), secs(CLOCK_PROCESS_CPUTIME_ID), child_cpu()};
}

static clk since(clk a)
{
    clk b = now();
    return (clk){b.wall - a.wall, b.cpu - a.cpu, b.child - a.child};
}

static int run(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 900000};
    om_proc_result r;
    memset(&r, 0, sizeof(r));
    int rc = om_proc_run(&o, &r);
    int code = rc == OM_OK ? r.exit_code : -1;
    if (code != 0)
        fprintf(stderr, "%s failed: %s\n", argv[0], r.err ? r.err : om_error_msg());
    om_proc_result_release(&r);
    return code;
}

static const char *make_source(void)
{
    static const char *dir = "/tmp/omniva-media-perf";
    static const char *src = "/tmp/omniva-media-perf/src.mp4";
    if (om_file_exists(src))
        return src;
    om_mkdirs(dir, 0755);
    const char *speech = "/tmp/omniva-media-perf/speech.wav";
    fprintf(stderr, "generating %s (10 minutes of 640x360 video + speech)...\n", src);
    if (run((const char *const[]){"espeak-ng", "-s", "160", "-w", speech,
                                  "Welcome back to the channel. Today we look at how a short "
                                  "clip is cut from a long video, why pauses matter, and what "
                                  "makes the first three seconds work. Let us get started.",
                                  NULL}) != 0)
        return NULL;
    if (run((const char *const[]){"ffmpeg",
                                  "-hide_banner",
                                  "-nostdin",
                                  "-loglevel",
                                  "error",
                                  "-y",
                                  "-f",
                                  "lavfi",
                                  "-i",
                                  "testsrc2=s=640x360:r=25:d=600",
                                  "-stream_loop",
                                  "-1",
                                  "-i",
                                  speech,
                                  "-map",
                                  "0:v",
                                  "-map",
                                  "1:a",
                                  "-t",
                                  "600",
                                  "-c:v",
                                  "libx264",
                                  "-preset",
                                  "veryfast",
                                  "-c:a",
                                  "aac",
                                  "-ar",
                                  "44100",
                                  "-ac",
                                  "2",
                                  src,
                                  NULL}) != 0)
        return NULL;
    return src;
}

static void row(const char *what, clk c)
{
    printf("  %-44s wall %6.2f s   cpu %6.2f s\n", what, c.wall, c.cpu + c.child);
}

int main(int argc, char **argv)
{
    const char *src = argc > 1 ? argv[1] : make_source();
    if (!src)
        return 1;
    om_media_info in;
    clk t = now();
    if (om_media_probe(src, &in) != OM_OK) {
        fprintf(stderr, "%s\n", om_error_msg());
        return 1;
    }
    clk probe = since(t);
    printf("source: %s, %.1f s, %dx%d %s %.2f fps, %s %d Hz %d ch\n", src, in.duration, in.width,
           in.height, in.video_codec, in.fps, in.audio_codec, in.sample_rate, in.channels);
    row("probe", probe);

    om_pcm pcm;
    t = now();
    if (om_audio_decode_16k(src, 0, 0, &pcm) != OM_OK) {
        fprintf(stderr, "%s\n", om_error_msg());
        return 1;
    }
    clk dec = since(t);
    row("decode to 16 kHz mono (ours, in-process)", dec);

    om_audio_signals as;
    t = now();
    om_audio_signals_compute(&pcm, NULL, &as);
    clk asig = since(t);
    row("audio signals (loudness, silences, speech)", asig);

    om_video_signals vs;
    t = now();
    if (om_video_signals_compute(src, NULL, &vs) != OM_OK) {
        fprintf(stderr, "%s\n", om_error_msg());
        return 1;
    }
    clk vsig = since(t);
    row("video signals (scenes, motion)", vsig);
    printf("    %zu packets, %zu keyframes, %zu decoded, %zu refined, %zu cuts\n", vs.n_packets,
           vs.n_keyframes, vs.n_decoded, vs.n_refined, vs.n_scenes);

    om_motion_track tr;
    t = now();
    double mid = in.duration / 2;
    if (om_media_motion_track(src, mid, mid + 30, 2, 0, &tr) != OM_OK) {
        fprintf(stderr, "%s\n", om_error_msg());
        return 1;
    }
    clk track = since(t);
    row("crop track, 30 s at 2 samples/s", track);

    t = now();
    run((const char *const[]){"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", src,
                              "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-y", "/dev/null",
                              NULL});
    clk ff_dec = since(t);
    row("ffmpeg CLI: decode to 16 kHz mono", ff_dec);
    t = now();
    run((const char *const[]){"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", src,
                              "-vn", "-af", "ebur128", "-f", "null", "-", NULL});
    clk ff_r128 = since(t);
    row("ffmpeg CLI: ebur128", ff_r128);
    t = now();
    run((const char *const[]){"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", src,
                              "-an", "-f", "null", "-", NULL});
    clk ff_full = since(t);
    row("ffmpeg CLI: full video decode", ff_full);

    double ours_audio = dec.cpu + asig.cpu;
    printf("ratios (CPU time, ours / ffmpeg):\n");
    printf("  decode                      %.2f\n", dec.cpu / (ff_dec.child > 0 ? ff_dec.child : 1));
    printf("  decode + all audio signals  %.2f  (vs ffmpeg decode + ebur128 %.2f s)\n",
           ours_audio / (ff_dec.child + ff_r128.child), ff_dec.child + ff_r128.child);
    printf("  video signals               %.2f  (of a full decode)\n",
           vsig.cpu / (ff_full.child > 0 ? ff_full.child : 1));
    printf("audio: I=%.2f LUFS LRA=%.2f LU, %zu silences, activity %.2f, %.2f syll/s\n",
           as.integrated, as.range, as.n_silences, as.speech_activity, as.syllable_rate);
    om_motion_track_release(&tr);
    om_video_signals_release(&vs);
    om_audio_signals_release(&as);
    om_pcm_release(&pcm);
    return 0;
}
