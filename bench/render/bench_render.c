/*
 * bench_render.c: the editor's one-command render against two references, measured in one
 * run on the same generated media (not a test; build without sanitizers for the figures).
 *
 * Source: 60 s 1920x1080 30 fps (testsrc2, moving content) with speech-like audio
 * (espeak-ng reading a text, looped). Clip: 30 s from 15 s, the full plan: content crop
 * (a moving 2 Hz track), ASS captions with word highlight (word timings spread over the
 * read text), logo overlay, loudness normalisation, libx264 veryfast crf 20 + AAC.
 *
 *   ours    om_render_file(): probe/resolve, encoder check, compile, ONE ffmpeg run with
 *           progress parsing, ffprobe verification, SHA-256, rename;
 *   (a)     bare ffmpeg running the identical argv (fork/exec/wait, output to /dev/null):
 *           goal ours/bare time ratio >= 0.95 (bare_time / ours_time);
 *   (b)     the naive multi-pass way: separate encodes for cut, crop/scale, subtitles and
 *           logo overlay (+ the same loudness filter in that last pass, so both outputs are
 *           the same edit; video-only passes copy the audio): goal naive / ours >= 3.5.
 * The clip's loudness is measured first (ebur128, not timed: the analyzer's job in the
 * pipeline), so both use the linear gain + limiter of the plan's measured mode.
 * Wall times and the CPU time of the child processes are both reported: on a shared,
 * loaded machine the CPU figures are the steadier comparison.
 * Runs are interleaved (ours, bare, naive) `reps` times and the medians compared.
 *
 * usage: bench_render [reps (default 3)] [workdir (default /tmp/omniva-bench-render)]
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "media/captions.h"
#include "media/editplan.h"
#include "media/render.h"

#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *TEXT =
    "Every morning the team looks at what happened overnight. The clips that worked share a "
    "few things. They start with a clear hook in the first three seconds, they keep the "
    "subject in the frame, and the captions are easy to read on a small screen. When a clip "
    "fails it is usually because the opening is slow or the words on screen do not match what "
    "people hear. So we measure everything. Loudness is normalised, the crop follows the "
    "speaker, and every word lights up as it is spoken. The point is not to make more clips "
    "but to make each one worth watching to the end.";

static double now_s(void)
{
    return om_mono_ms() / 1000.0;
}

/* CPU seconds (user + system) used by waited-for children so far */
static double child_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_render: %s: %s\n", what, om_error_msg());
    exit(1);
}

static void run_ok(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 1800000};
    om_proc_result r;
    if (om_proc_run(&o, &r) != OM_OK)
        die(argv[0]);
    if (r.exit_code != 0) {
        fprintf(stderr, "bench_render: %s failed: %s\n", argv[0], r.err);
        exit(1);
    }
    om_proc_result_release(&r);
}

/* fork/exec/wait with output to /dev/null: the reference for "bare ffmpeg" */
static double run_bare(const char *what, char *const *argv)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_render: %s failed (status %d)\n", what, status);
        exit(1);
    }
    return now_s() - t0;
}

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Clips of one source due together: K clips of 10 s from the same 60 s source (the same full
 * plan, each its own span, captions and crop), one bare ffmpeg run per clip one after
 * another, against ONE ffmpeg run for all of them (om_editcmd_batch: each clip's own input
 * seeking, graph and encoder in one process). Interleaved, `reps` times, medians. */
#define BATCH_CLIPS 5
static void batch_section(const json_t *plan, const char *dir, int reps)
{
    om_editcmd *cmds[BATCH_CLIPS];
    char *outs[BATCH_CLIPS], *bouts[BATCH_CLIPS];
    om_editplan *plans[BATCH_CLIPS];
    for (int k = 0; k < BATCH_CLIPS; k++) {
        json_t *pk = json_deep_copy(plan);
        double st = 2.0 + 11.0 * k;
        json_object_set_new(pk, "start", json_real(st));
        json_object_set_new(pk, "end", json_real(st + 10.0));
        json_t *tr = json_array();
        for (double t = st; t <= st + 10.01; t += 0.5)
            json_array_append_new(tr, json_pack("[f,f]", t, 0.5 + 0.3 * sin((t - st) / 3.0)));
        json_object_set_new(json_object_get(pk, "reframe"), "track", tr);
        outs[k] = xasprintf("%s/one-%d.mp4", dir, k);
        bouts[k] = xasprintf("%s/batch-%d.mp4", dir, k);
        if (om_render_resolve_plan(pk) || om_editplan_parse(&plans[k], pk) ||
            om_editplan_compile(&cmds[k], plans[k], outs[k], NULL))
            die("compiling a batch clip");
        json_decref(pk);
    }
    om_editcmd *batch = NULL;
    if (om_editcmd_batch(&batch, cmds, (const char *const *)bouts, BATCH_CLIPS))
        die("merging the batch");
    double *t_one = xcalloc((size_t)reps, sizeof(double)), *t_b = xcalloc((size_t)reps, sizeof(double));
    double *c_one = xcalloc((size_t)reps, sizeof(double)), *c_b = xcalloc((size_t)reps, sizeof(double));
    for (int i = 0; i < reps; i++) {
        double c0 = child_cpu();
        t_one[i] = 0;
        for (int k = 0; k < BATCH_CLIPS; k++)
            t_one[i] += run_bare("a clip run", cmds[k]->argv);
        c_one[i] = child_cpu() - c0;
        c0 = child_cpu();
        t_b[i] = run_bare("the batch run", batch->argv);
        c_b[i] = child_cpu() - c0;
        fprintf(stderr, "batch rep %d: one run per clip %.2f s (cpu %.2f), one run for all %.2f s "
                        "(cpu %.2f)\n",
                i + 1, t_one[i], c_one[i], t_b[i], c_b[i]);
    }
    /* the batch's outputs are the same clips: same duration and size class */
    om_render_info a, b;
    int same = 1;
    for (int k = 0; k < BATCH_CLIPS; k++)
        if (om_render_probe(outs[k], &a) || om_render_probe(bouts[k], &b) ||
            fabs(a.duration - b.duration) > 0.1 || a.width != b.width || a.height != b.height)
            same = 0;
    double mo = median(t_one, reps), mb = median(t_b, reps);
    double co = median(c_one, reps), cb = median(c_b, reps);
    printf("  batch: %d clips of 10 s from one source: one ffmpeg run per clip %.2f s (cpu %.1f "
           "s), one run for all %.2f s (cpu %.1f s); one-per-clip/batch wall %.2fx, cpu %.2fx; "
           "outputs %s\n",
           BATCH_CLIPS, mo, co, mb, cb, mo / mb, co / cb,
           same ? "match (duration, size)" : "DIFFER");
    for (int k = 0; k < BATCH_CLIPS; k++) {
        unlink(outs[k]);
        unlink(bouts[k]);
        free(outs[k]);
        free(bouts[k]);
        om_editcmd_free(cmds[k]);
        om_editplan_free(plans[k]);
    }
    om_editcmd_free(batch);
    free(t_one);
    free(t_b);
    free(c_one);
    free(c_b);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1)
        reps = 1;
    const char *dir = argc > 2 ? argv[2] : "/tmp/omniva-bench-render";
    om_mkdirs(dir, 0755);
    char *speech = xasprintf("%s/speech.wav", dir), *src = xasprintf("%s/source.mp4", dir),
         *logo = xasprintf("%s/logo.png", dir), *ass = xasprintf("%s/clip.ass", dir);

    /* ---- media (not timed) ---- */
    if (!om_file_exists(src)) {
        fprintf(stderr, "generating the 60 s source...\n");
        const char *e[] = {"espeak-ng", "-s", "165", "-w", speech, TEXT, NULL};
        run_ok(e);
        const char *f[] = {"ffmpeg",
                           "-hide_banner",
                           "-loglevel",
                           "error",
                           "-y",
                           "-f",
                           "lavfi",
                           "-i",
                           "testsrc2=s=1920x1080:r=30:d=60",
                           "-stream_loop",
                           "-1",
                           "-i",
                           speech,
                           "-map",
                           "0:v",
                           "-map",
                           "1:a",
                           "-t",
                           "60",
                           "-c:v",
                           "libx264",
                           "-preset",
                           "veryfast",
                           "-crf",
                           "20",
                           "-pix_fmt",
                           "yuv420p",
                           "-c:a",
                           "aac",
                           "-ar",
                           "48000",
                           "-ac",
                           "2",
                           src,
                           NULL};
        run_ok(f);
        const char *l[] = {"ffmpeg",
                           "-hide_banner",
                           "-loglevel",
                           "error",
                           "-y",
                           "-f",
                           "lavfi",
                           "-i",
                           "color=c=0xE03050:s=400x200,format=rgba",
                           "-frames:v",
                           "1",
                           logo,
                           NULL};
        run_ok(l);
    }
    const double start = 15.0, end = 45.0;

    /* words spread over the read text, looping like the audio (timings approximate) */
    om_render_info sp;
    double speech_len = 20.0;
    if (om_file_exists(speech) && om_render_probe(speech, &sp) == OM_OK && sp.duration > 1)
        speech_len = sp.duration;
    json_t *words = json_array();
    {
        char *dup = xstrdup(TEXT), *save = NULL;
        size_t n = 0;
        for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save))
            n++;
        free(dup);
        double per = speech_len / (double)n;
        for (double base = 0; base < 60; base += speech_len) {
            dup = xstrdup(TEXT);
            size_t k = 0;
            for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save), k++)
                json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", w, "start",
                                                       base + k * per, "end",
                                                       base + (k + 0.85) * per, "conf", 0.9));
            free(dup);
        }
    }
    om_caption_style st;
    om_caption_style_default(&st);
    om_captions *cap = NULL;
    if (om_captions_build(&cap, words, start, end, &st))
        die("captions");
    if (om_write_file_atomic(ass, cap->ass, strlen(cap->ass)))
        die("writing captions");

    /* the clip's loudness, as the analyzer measures it (EBU R128; not timed) */
    double measured = -23.0;
    {
        const char *m[] = {"ffmpeg",  "-hide_banner", "-nostats", "-ss",  "15",  "-t",
                           "30",      "-i",           src,        "-map", "0:a", "-af",
                           "ebur128", "-f",           "null",     "-",    NULL};
        om_proc_opts o = {.argv = m, .timeout_ms = 600000};
        om_proc_result r;
        if (om_proc_run(&o, &r) == OM_OK && r.err) {
            const char *sum = strstr(r.err, "Summary:");
            const char *il = sum ? strstr(sum, "I:") : NULL;
            if (il)
                measured = strtod(il + 2, NULL);
        }
        om_proc_result_release(&r);
    }
    double gain = -14.0 - measured;
    char loud[160];
    snprintf(loud, sizeof(loud), "volume=%.2fdB,alimiter=limit=%.4f:level=0:latency=1", gain,
             pow(10.0, (-1.5 - 0.5) / 20.0));

    json_t *track = json_array();
    for (double t = start; t <= end + 0.01; t += 0.5)
        json_array_append_new(track, json_pack("[f,f]", t, 0.5 + 0.3 * sin((t - start) / 4.0)));
    json_t *plan = json_pack(
        "{s:s, s:f, s:f, s:{s:i,s:i,s:i,s:s,s:i,s:s,s:s,s:s},"
        " s:{s:s, s:o, s:f}, s:{s:s}, s:{s:s,s:s,s:f,s:f},"
        " s:{s:i,s:f,s:f}}",
        "source", src, "start", start, "end", end, "output", "width", 1080, "height", 1920, "fps",
        30, "vcodec", "libx264", "crf", 20, "preset", "veryfast", "acodec", "aac", "abitrate",
        "160k", "reframe", "mode", "content", "track", track, "smoothing", 1.5, "captions", "ass",
        ass, "logo", "path", logo, "position", "top_right", "scale", 0.18, "opacity", 0.9,
        "loudness", "target_lufs", -14, "true_peak", -1.5, "measured_lufs", measured);

    /* the identical command for the bare run, writing elsewhere */
    json_t *resolved = json_deep_copy(plan);
    om_editplan *p = NULL;
    om_editcmd *cmd = NULL;
    char *bare_out = xasprintf("%s/bare.mp4", dir);
    if (om_render_resolve_plan(resolved) || om_editplan_parse(&p, resolved) ||
        om_editplan_compile(&cmd, p, bare_out, NULL))
        die("compiling");

    /* the naive passes */
    char *cut = xasprintf("%s/n1-cut.mp4", dir), *crop = xasprintf("%s/n2-crop.mp4", dir),
         *subs = xasprintf("%s/n3-subs.mp4", dir), *naive = xasprintf("%s/n4-logo.mp4", dir);
    const char *x0 = strstr(cmd->filtergraph, "crop=");
    const char *x1 = strstr(x0, ",setsar=1");
    char *cropf = xstrndup(x0, (size_t)(x1 - x0)); /* the same crop+scale expression */
    char *assf = xasprintf("ass=filename=%s:fontsdir=%s", ass, OM_EDITPLAN_FONTSDIR);
    char ss[32], tt[32];
    snprintf(ss, sizeof(ss), "%.3f", start);
    snprintf(tt, sizeof(tt), "%.3f", end - start);
    char *pass1[] = {
        "ffmpeg",  "-hide_banner", "-nostdin", "-loglevel", "error",    "-y",      "-ss",
        ss,        "-t",           tt,         "-i",        src,        "-c:v",    "libx264",
        "-preset", "veryfast",     "-crf",     "20",        "-pix_fmt", "yuv420p", "-c:a",
        "aac",     "-b:a",         "160k",     cut,         NULL};
    char *pass2[] = {
        "ffmpeg",   "-hide_banner", "-nostdin", "-loglevel", "error",   "-y",       "-i",   cut,
        "-vf",      cropf,          "-c:v",     "libx264",   "-preset", "veryfast", "-crf", "20",
        "-pix_fmt", "yuv420p",      "-c:a",     "copy",      crop,      NULL};
    char *pass3[] = {"ffmpeg",  "-hide_banner", "-nostdin", "-loglevel", "error",    "-y",
                     "-i",      crop,           "-vf",      assf,        "-c:v",     "libx264",
                     "-preset", "veryfast",     "-crf",     "20",        "-pix_fmt", "yuv420p",
                     "-c:a",    "copy",         subs,       NULL};
    char *graph4 = xasprintf("[1:v]scale=w=trunc(1080*0.18/2)*2:h=-2,format=rgba,"
                             "colorchannelmixer=aa=0.9[logo];[0:v][logo]overlay=x=W-w-54:y=96,"
                             "format=yuv420p[v];[0:a]aresample=48000,aformat=sample_fmts=fltp:"
                             "channel_layouts=stereo,%s[a]",
                             loud);
    char *pass4[] = {"ffmpeg",
                     "-hide_banner",
                     "-nostdin",
                     "-loglevel",
                     "error",
                     "-y",
                     "-i",
                     subs,
                     "-i",
                     logo,
                     "-filter_complex",
                     graph4,
                     "-map",
                     "[v]",
                     "-map",
                     "[a]",
                     "-c:v",
                     "libx264",
                     "-preset",
                     "veryfast",
                     "-crf",
                     "20",
                     "-c:a",
                     "aac",
                     "-b:a",
                     "160k",
                     "-ar",
                     "48000",
                     "-ac",
                     "2",
                     "-movflags",
                     "+faststart",
                     naive,
                     NULL};

    double *t_ours = xcalloc((size_t)reps, sizeof(double));
    double *t_bare = xcalloc((size_t)reps, sizeof(double));
    double *t_naive = xcalloc((size_t)reps, sizeof(double));
    double naive_pass[4] = {0};
    double *c_ours = xcalloc((size_t)reps, sizeof(double));
    double *c_bare = xcalloc((size_t)reps, sizeof(double));
    double *c_naive = xcalloc((size_t)reps, sizeof(double));
    char *ours_out = xasprintf("%s/ours.mp4", dir);
    om_render_result res = {0};
    for (int i = 0; i < reps; i++) {
        double t0 = now_s(), c0 = child_cpu();
        om_render_result_release(&res);
        if (om_render_file(plan, ours_out, NULL, &res))
            die("our render");
        t_ours[i] = now_s() - t0;
        c_ours[i] = child_cpu() - c0;
        c0 = child_cpu();
        t_bare[i] = run_bare("bare ffmpeg", cmd->argv);
        c_bare[i] = child_cpu() - c0;
        char **passes[] = {pass1, pass2, pass3, pass4};
        t_naive[i] = 0;
        c0 = child_cpu();
        for (int k = 0; k < 4; k++) {
            double d = run_bare("a naive pass", passes[k]);
            naive_pass[k] += d / reps;
            t_naive[i] += d;
        }
        c_naive[i] = child_cpu() - c0;
        fprintf(stderr,
                "rep %d: wall ours %.2f s, bare %.2f s, naive %.2f s; cpu ours %.2f s, "
                "bare %.2f s, naive %.2f s\n",
                i + 1, t_ours[i], t_bare[i], t_naive[i], c_ours[i], c_bare[i], c_naive[i]);
    }
    double mo = median(t_ours, reps), mb = median(t_bare, reps), mn = median(t_naive, reps);
    double co = median(c_ours, reps), cb = median(c_bare, reps), cn = median(c_naive, reps);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("bench_render: 30 s clip of a 60 s 1920x1080 source -> 1080x1920, full plan "
           "(content crop, captions, logo, loudness), libx264 veryfast crf 20, %d reps, "
           "medians\n",
           reps);
    printf("  ours (om_render_file: resolve+compile+render+verify+sha256): %7.2f s  (%s, %lld "
           "bytes, %.3f s)\n",
           mo, res.vcodec, (long long)res.check.size, res.check.info.duration);
    printf("  (a) bare ffmpeg, identical command line:                   %7.2f s\n", mb);
    printf("  (b) naive multi-pass (cut %.1f + crop/scale %.1f + subtitles %.1f + logo/loudness "
           "%.1f): %7.2f s\n",
           naive_pass[0], naive_pass[1], naive_pass[2], naive_pass[3], mn);
    printf("  wall ratio bare/ours  = %.3f  (goal >= 0.95)  %s\n", mb / mo,
           mb / mo >= 0.95 ? "MET" : "NOT MET");
    printf("  wall ratio naive/ours = %.2fx (goal >= 3.5x)  %s\n", mn / mo,
           mn / mo >= 3.5 ? "MET" : "NOT MET");
    printf("  cpu (user+sys of the ffmpeg/ffprobe children): ours %.1f s, bare %.1f s, naive "
           "%.1f s -> bare/ours %.3f, naive/ours %.2fx\n",
           co, cb, cn, cb / co, cn / co);
    printf("  load average at the end: %.2f %.2f %.2f (%ld cores)\n", load[0], load[1], load[2],
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("  command: %s\n", res.command);

    batch_section(plan, dir, reps);

    om_render_result_release(&res);
    free(t_ours);
    free(t_bare);
    free(t_naive);
    free(c_ours);
    free(c_bare);
    free(c_naive);
    free(graph4);
    free(ours_out);
    free(cropf);
    free(assf);
    free(cut);
    free(crop);
    free(subs);
    free(naive);
    free(bare_out);
    om_editcmd_free(cmd);
    om_editplan_free(p);
    json_decref(resolved);
    json_decref(plan);
    om_captions_free(cap);
    json_decref(words);
    free(speech);
    free(src);
    free(logo);
    free(ass);
    return 0;
}
