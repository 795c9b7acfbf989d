/*
 * bench_e2e.c: a generated talk to finished clips, end to end, on the embedded default, next
 * to the floor of its parts measured in the same run on the same source (not a test; build
 * it without sanitizers for the figures).
 *
 *   ours          `omniva run --once --now` from scrape to export (wall, and the CPU and
 *                 peak RSS of the whole process tree from wait4).
 *   floor parts   run one after another with nothing of ours around them:
 *                   decode      om_audio_decode_16k of the whole source (what analyze does);
 *                   transcribe  om_asr_transcribe over the whole audio, same configuration
 *                               and parallelism as the workspace's (asr.jobs), except that
 *                               every second is decoded (asr.vad_min_gap_s = 0: no voice
 *                               activity skips);
 *                   renders     each finished clip's ffmpeg command (edit_jobs.operations
 *                               compiled again, to another file) run bare, one at a time.
 *   naive floor   = decode + transcription of every second + one bare run per clip.
 *
 * Then the per-stage table (wall, CPU, peak RSS per job type, from job_logs' "job done"
 * lines, which the worker writes from wait4), and the idle gaps: the moments of the run
 * when no job was running (from each job's first and last job_logs row), plus the
 * core-seconds left idle (cores minus running jobs, integrated over the run).
 * The last line is `ours/floor = R`.
 *
 *   bench_e2e [--omniva PATH] [--minutes M] [--clips N] [--concurrency C] [--src DIR]
 *             [--subtitles [--no-naive]] [--keep] [--set section.key=value]...
 * --src keeps the generated source between runs (default /tmp/omniva-bench-e2e-src); the
 * talk is generated in 10-minute segments joined without re-encoding, so --minutes 60 works
 * (with --subtitles too: the segments' SRT cues shifted to the joined talk's times).
 */
#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "asr/asr.h"
#include "media/audio.h"
#include "media/editplan.h"
#include "stages/demo.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static double ru_cpu(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

static int run(const char *const *argv, int quiet)
{
    om_proc_result r;
    int rc = om_proc_run(&(om_proc_opts){.argv = argv, .timeout_ms = 4 * 3600000}, &r);
    if (rc == OM_OK && r.exit_code != 0) {
        fprintf(stderr, "%s failed (%d):\n%s\n", argv[1], r.exit_code,
                r.err_len > 3000 ? r.err + r.err_len - 3000 : r.err);
        rc = OM_ERROR;
    } else if (!quiet && r.out) {
        fputs(r.out, stdout);
    }
    om_proc_result_release(&r);
    return rc;
}

/* fork/exec/wait4, output to /dev/null; returns wall seconds, adds the child's CPU and
 * keeps the largest peak RSS */
static double run_bare(char *const *argv, double *cpu, long *rss_kb)
{
    int64_t t0 = om_mono_ms();
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
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "bench_e2e: bare %s failed (status %d)\n", argv[0], status);
    *cpu += tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    if (ru.ru_maxrss > *rss_kb)
        *rss_kb = ru.ru_maxrss;
    return (double)(om_mono_ms() - t0) / 1000.0;
}

/* ---- the run's jobs, from the store ---------------------------------------------------- */

typedef struct job_span {
    char type[32];
    int64_t start_us, end_us;
    double wall_s, cpu_s;
    long rss_mib;
} job_span;

typedef struct stage_row {
    char type[32];
    int jobs;
    double wall_s, cpu_s;
    long rss_mib;
} stage_row;

static int span_cmp(const void *a, const void *b)
{
    const job_span *x = a, *y = b;
    return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

static size_t load_spans(om_store *s, int64_t since_us, job_span **out)
{
    om_rows *r = NULL;
    *out = NULL;
    if (om_store_query(s,
                       "SELECT j.type, min(l.created_at), max(l.created_at), "
                       "max(CASE WHEN l.message LIKE 'job done in %' THEN l.message END) "
                       "FROM jobs j JOIN job_logs l ON l.job_id = j.job_id "
                       "GROUP BY j.job_id, j.type ORDER BY 2",
                       NULL, 0, &r) != OM_OK)
        return 0;
    size_t n = om_rows_count(r), k = 0;
    job_span *v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        job_span *j = &v[k];
        snprintf(j->type, sizeof(j->type), "%s", om_rows_get(r, i, 0));
        if (om_time_parse(om_rows_get(r, i, 1), &j->start_us) ||
            om_time_parse(om_rows_get(r, i, 2), &j->end_us) || j->start_us < since_us)
            continue;
        const char *m = om_rows_get(r, i, 3);
        long long took = 0, wall = 0, cpu = 0;
        long rss = 0;
        if (m && sscanf(m, "job done in %lld ms (wall %lld ms, cpu %lld ms, peak %ld MiB)", &took,
                        &wall, &cpu, &rss) == 4) {
            j->wall_s = (double)wall / 1000.0;
            j->cpu_s = (double)cpu / 1000.0;
            j->rss_mib = rss;
        } else {
            j->wall_s = (double)(j->end_us - j->start_us) / 1e6;
        }
        k++;
    }
    om_rows_free(r);
    qsort(v, k, sizeof(*v), span_cmp);
    *out = v;
    return k;
}

static void print_stages(const job_span *v, size_t n, double ours_wall)
{
    stage_row rows[32];
    size_t nr = 0;
    double tw = 0, tc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < nr && strcmp(rows[k].type, v[i].type))
            k++;
        if (k == nr) {
            if (nr == OM_ARRAY_LEN(rows))
                continue;
            memset(&rows[nr], 0, sizeof(rows[nr]));
            snprintf(rows[nr].type, sizeof(rows[nr].type), "%s", v[i].type);
            nr++;
        }
        rows[k].jobs++;
        rows[k].wall_s += v[i].wall_s;
        rows[k].cpu_s += v[i].cpu_s;
        if (v[i].rss_mib > rows[k].rss_mib)
            rows[k].rss_mib = v[i].rss_mib;
        tw += v[i].wall_s;
        tc += v[i].cpu_s;
    }
    printf("  per stage (sums over the run's jobs; share of all jobs' wall / CPU; peak = "
           "largest job process tree):\n");
    printf("    %-12s %5s %9s %6s %9s %6s %9s\n", "stage", "jobs", "wall s", "wall%", "cpu s",
           "cpu%", "peak MiB");
    for (size_t k = 0; k < nr; k++)
        printf("    %-12s %5d %9.1f %5.1f%% %9.1f %5.1f%% %9ld\n", rows[k].type, rows[k].jobs,
               rows[k].wall_s, tw > 0 ? 100 * rows[k].wall_s / tw : 0, rows[k].cpu_s,
               tc > 0 ? 100 * rows[k].cpu_s / tc : 0, rows[k].rss_mib);
    printf("    %-12s %5zu %9.1f %6s %9.1f   (run wall %.1f s: jobs' wall / run wall = %.2f "
           "jobs running on average)\n",
           "all", n, tw, "", tc, ours_wall, ours_wall > 0 ? tw / ours_wall : 0);
}

/* Gaps with no job running between t0 and t1, and core-seconds idle with `cores`. */
static void print_gaps(const job_span *v, size_t n, int64_t t0, int64_t t1, int cores)
{
    /* sweep over start/end events */
    size_t ne = 2 * n;
    int64_t *at = xcalloc(ne + 1, sizeof(*at));
    int *d = xcalloc(ne + 1, sizeof(*d));
    for (size_t i = 0; i < n; i++) {
        at[2 * i] = v[i].start_us;
        d[2 * i] = +1;
        at[2 * i + 1] = v[i].end_us;
        d[2 * i + 1] = -1;
    }
    for (size_t i = 1; i < ne; i++) /* insertion sort by time, ends before starts */
        for (size_t j = i; j > 0 && (at[j] < at[j - 1] || (at[j] == at[j - 1] && d[j] < d[j - 1]));
             j--) {
            int64_t t = at[j];
            at[j] = at[j - 1];
            at[j - 1] = t;
            int x = d[j];
            d[j] = d[j - 1];
            d[j - 1] = x;
        }
    int running = 0;
    int64_t prev = t0, idle_us = 0, none_us = 0, biggest = 0;
    int shown = 0;
    printf("  idle gaps (no job running), >= 100 ms:\n");
    for (size_t i = 0; i <= ne; i++) {
        int64_t t = i < ne ? at[i] : t1;
        if (t < prev)
            t = prev;
        int64_t dt = t - prev;
        if (running < cores)
            idle_us += dt * (cores - running);
        if (running == 0 && dt > 0) {
            none_us += dt;
            if (dt > biggest)
                biggest = dt;
            if (dt >= 100000 && shown < 12) {
                printf("    %+8.2f s .. %+8.2f s  %6.2f s  %s\n", (double)(prev - t0) / 1e6,
                       (double)(t - t0) / 1e6, (double)dt / 1e6,
                       i == 0 ? "(before the first job)"
                              : i == ne ? "(after the last job: summary, shutdown)" : "");
                shown++;
            }
        }
        if (i < ne)
            running += d[i];
        prev = t;
    }
    printf("    no job running: %.2f s in all (largest %.2f s); core-seconds idle with %d "
           "cores: %.1f of %.1f (%.0f%%)\n",
           (double)none_us / 1e6, (double)biggest / 1e6, cores, (double)idle_us / 1e6,
           (double)(t1 - t0) / 1e6 * cores,
           t1 > t0 ? 100.0 * (double)idle_us / ((double)(t1 - t0) * cores) : 0);
    free(at);
    free(d);
}

/* ---- the source ------------------------------------------------------------------------ */

/* Adds SEGDIR/talk.mp4's length (the container's, as the concat demuxer joins them) to *at. */
static int segment_seconds(const char *segdir, double *at)
{
    char *f = xasprintf("%s/talk.mp4", segdir);
    const char *argv[] = {"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                          "csv=p=0", f, NULL};
    om_proc_result r;
    int rc = om_proc_run(&(om_proc_opts){.argv = argv, .timeout_ms = 60000}, &r);
    if (rc == OM_OK && (r.exit_code != 0 || !r.out || atof(r.out) <= 0))
        rc = om_error_set(OM_EIO, "ffprobe %s: %s", f, r.err ? r.err : "no duration");
    if (rc == OM_OK)
        *at += atof(r.out);
    om_proc_result_release(&r);
    free(f);
    return rc;
}

/* Appends SEGDIR/talk.srt to the joined subtitles, its cues shifted by `at` seconds and
 * numbered on from *cue. */
static int join_srt(const char *segdir, double at, om_sbuf *out, int *cue)
{
    char *f = xasprintf("%s/talk.srt", segdir), *text = NULL;
    int rc = om_read_file(f, 0, &text, NULL);
    free(f);
    if (rc != OM_OK)
        return rc;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int h1, m1, s1, ms1, h2, m2, s2, ms2;
        if (sscanf(line, "%d:%d:%d,%d --> %d:%d:%d,%d", &h1, &m1, &s1, &ms1, &h2, &m2, &s2,
                   &ms2) == 8) {
            double t[2] = {h1 * 3600.0 + m1 * 60.0 + s1 + ms1 / 1000.0 + at,
                           h2 * 3600.0 + m2 * 60.0 + s2 + ms2 / 1000.0 + at};
            sb_printf(out, "%d\n", ++*cue);
            for (int k = 0; k < 2; k++) {
                long ms = lround(t[k] * 1000.0);
                sb_printf(out, "%02ld:%02ld:%02ld,%03ld%s", ms / 3600000, ms / 60000 % 60,
                          ms / 1000 % 60, ms % 1000, k ? "\n" : " --> ");
            }
        } else if (strspn(line, "0123456789\r") == strlen(line)) {
            continue; /* the segment's own cue number */
        } else {
            sb_printf(out, "%s\n", line);
            if (!*save || *save == '\n' || *save == '\r') /* a blank line ends the cue */
                sb_puts(out, "\n");
        }
    }
    free(text);
    return OM_OK;
}

/* The talk in 10-minute segments (each one make_talk run, cached), joined with the concat
 * demuxer and -c copy: long sources without one hour-long encode. */
static int make_source(const char *srcdir, double minutes, int subs, char **path_out)
{
    char *final = xasprintf("%s/talk-%gm%s/talk.mp4", srcdir, minutes, subs ? "-srt" : "");
    *path_out = final;
    if (om_file_exists(final))
        return OM_OK;
    char *dir = xasprintf("%s/talk-%gm%s", srcdir, minutes, subs ? "-srt" : "");
    om_mkdirs(dir, 0755);
    int nseg = (int)ceil(minutes / 10.0);
    if (nseg <= 1) {
        char *tmp = xasprintf("%s/seg", dir);
        int rc = om_demo_make_talk_sub(tmp, "talk", minutes, subs ? "srt" : NULL);
        char *segf = xasprintf("%s/talk.mp4", tmp);
        char *srt = xasprintf("%s/talk.srt", tmp), *srt2 = xasprintf("%s/talk.srt", dir);
        if (rc == OM_OK && subs && rename(srt, srt2) != 0)
            rc = OM_EIO;
        if (rc == OM_OK && rename(segf, final) != 0)
            rc = OM_EIO;
        free(srt);
        free(srt2);
        free(segf);
        free(tmp);
        free(dir);
        return rc;
    }
    om_sbuf list = OM_SBUF_INIT, srt = OM_SBUF_INIT;
    int rc = OM_OK, cue = 0;
    double at = 0; /* where this segment starts in the joined talk */
    for (int i = 0; i < nseg && rc == OM_OK; i++) {
        double m = i == nseg - 1 ? minutes - 10.0 * (nseg - 1) : 10.0;
        char *segdir = xasprintf("%s/seg%02d", dir, i);
        printf("  segment %d/%d (%.1f min)...\n", i + 1, nseg, m);
        fflush(stdout);
        rc = om_demo_make_talk_sub(segdir, "talk", m, subs ? "srt" : NULL);
        sb_printf(&list, "file '%s/talk.mp4'\n", segdir);
        if (rc == OM_OK && subs)
            rc = join_srt(segdir, at, &srt, &cue);
        if (rc == OM_OK)
            rc = segment_seconds(segdir, &at);
        free(segdir);
    }
    char *lf = xasprintf("%s/segments.txt", dir), *tmp = xasprintf("%s/joined.mp4", dir);
    if (rc == OM_OK)
        rc = om_write_file_atomic(lf, list.buf, list.len);
    if (rc == OM_OK && subs) {
        char *jsrt = xasprintf("%s/talk.srt", dir);
        rc = om_write_file_atomic(jsrt, srt.buf, srt.len);
        free(jsrt);
    }
    sb_release(&srt);
    const char *cat[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
                         "-safe", "0", "-i", lf, "-c", "copy", "-movflags", "+faststart", tmp,
                         NULL};
    if (rc == OM_OK)
        rc = run(cat, 1);
    if (rc == OM_OK && rename(tmp, final) != 0)
        rc = OM_EIO;
    sb_release(&list);
    free(lf);
    free(tmp);
    free(dir);
    return rc;
}

int main(int argc, char **argv)
{
    const char *bin = "./omniva", *srcdir = "/tmp/omniva-bench-e2e-src";
    double minutes = 10;
    int keep = 0, nclips = 0, conc = 2, subs = 0, naive = 1;
    const char *sets[16];
    int nsets = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--omniva") && i + 1 < argc)
            bin = argv[++i];
        else if (!strcmp(argv[i], "--minutes") && i + 1 < argc)
            minutes = atof(argv[++i]);
        else if (!strcmp(argv[i], "--clips") && i + 1 < argc)
            nclips = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--concurrency") && i + 1 < argc)
            conc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--src") && i + 1 < argc)
            srcdir = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 16)
            sets[nsets++] = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else if (!strcmp(argv[i], "--subtitles"))
            subs = 1;
        else if (!strcmp(argv[i], "--no-naive")) /* no transcription of all: with --subtitles */
            naive = 0;
        else {
            fprintf(stderr, "usage: bench_e2e [--omniva PATH] [--minutes M] [--clips N] "
                            "[--concurrency C] [--src DIR] [--subtitles [--no-naive]] "
                            "[--keep] [--set k=v]...\n");
            return 2;
        }
    }
    if (nclips <= 0)
        nclips = minutes >= 30 ? 10 : 5;
    if (!naive && !subs) {
        fprintf(stderr, "bench_e2e: --no-naive needs --subtitles (the floor needs a transcript)\n");
        return 2;
    }
    if (conc < 1)
        conc = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char tmpl[] = "/tmp/omniva-bench-e2e-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    om_mkdirs(srcdir, 0755);
    char *talk = NULL;
    printf("source: a %g-minute talk (cached in %s)...\n", minutes, srcdir);
    fflush(stdout);
    int64_t g0 = om_mono_ms();
    if (make_source(srcdir, minutes, subs, &talk)) {
        fprintf(stderr, "bench_e2e: making the source: %s\n", om_error_msg());
        return 1;
    }
    printf("  ready (%.1f s)\n", (double)(om_mono_ms() - g0) / 1000.0);
    char *src = xasprintf("%s/talk", tmpl), *brand = xasprintf("%s/brand.json", tmpl);
    om_mkdirs(src, 0755);
    char *link = xasprintf("%s/talk.mp4", src);
    if (symlink(talk, link) != 0) {
        fprintf(stderr, "bench_e2e: symlink %s: %s\n", link, strerror(errno));
        return 1;
    }
    char *srt_src = xasprintf("%.*s.srt", (int)(strlen(talk) - 4), talk);
    char *srt_link = xasprintf("%s/talk.srt", src);
    if (subs && symlink(srt_src, srt_link) != 0) {
        fprintf(stderr, "bench_e2e: symlink %s: %s\n", srt_link, strerror(errno));
        return 1;
    }
    char *url = xasprintf("file://%s", src);
    /* the demo brand, asking for N clips from the one source */
    json_t *b = json_loads(om_demo_brand_json(), 0, NULL);
    json_object_set_new(b, "clips_per_video", json_integer(nclips));
    json_object_set_new(b, "posts_per_day", json_integer(nclips * 2));
    char *bt = json_dumps(b, 0);
    om_write_file_atomic(brand, bt, strlen(bt));
    free(bt);
    json_decref(b);
    char concs[16];
    snprintf(concs, sizeof(concs), "%d", conc);
    const char *init[] = {bin, "init", tmpl, NULL};
    const char *proj[] = {bin, "--home", tmpl, "project", "create", "bench", "--brand", brand,
                          NULL};
    const char *cre[] = {bin, "--home", tmpl, "creator", "add", "bench", url, NULL};
    const char *go[40] = {bin, "--home", tmpl, "--quiet"};
    int ng = 4;
    for (int i = 0; i < nsets; i++) {
        go[ng++] = "--set";
        go[ng++] = sets[i];
    }
    const char *tail[] = {"run", "--once", "--now", "--concurrency", concs, NULL};
    for (size_t i = 0; i < OM_ARRAY_LEN(tail); i++)
        go[ng++] = tail[i];
    if (run(init, 1) || run(proj, 1) || run(cre, 1))
        return 1;

    /* ---- ours ---- */
    printf("ours: omniva run --once --now --concurrency %d...\n", conc);
    fflush(stdout);
    int64_t t0_us = om_now_us(), t0 = om_mono_ms();
    double c0 = ru_cpu(RUSAGE_CHILDREN);
    if (run(go, 1))
        return 1;
    double wall = (double)(om_mono_ms() - t0) / 1000.0;
    int64_t t1_us = om_now_us();
    double ours_cpu = ru_cpu(RUSAGE_CHILDREN) - c0;

    char *db = xasprintf("sqlite://%s/omniva.db", tmpl);
    om_store *s = NULL;
    om_rows *r = NULL;
    int64_t clips = 0;
    if (om_store_open(&s, db) != OM_OK) {
        fprintf(stderr, "bench_e2e: %s\n", om_error_msg());
        return 1;
    }
    char *v = NULL;
    if (om_store_query_value(s, "SELECT count(*) FROM clips WHERE status = 'PUBLISHED'", NULL, 0,
                             &v) == OM_OK)
        clips = atoll(v);
    free(v);
    v = NULL;
    char *engine = NULL;
    om_store_query_value(s, "SELECT substr(message, 13) FROM job_logs WHERE message LIKE "
                            "'TRANSCRIBE: %' ORDER BY created_at LIMIT 1",
                         NULL, 0, &engine);

    /* ---- the floor: the same parts, bare, one after another ---- */
    printf("floor: the parts bare on the same source...\n");
    fflush(stdout);
    om_config *cfg = NULL;
    if (om_config_load(&cfg, tmpl) != OM_OK) {
        fprintf(stderr, "bench_e2e: %s\n", om_error_msg());
        return 1;
    }
    for (int i = 0; i < nsets; i++)
        om_config_set_arg(cfg, sets[i], "--set");
    om_config_set_arg(cfg, "asr.vad_min_gap_s=0", "the naive floor"); /* every second */
    double s0 = ru_cpu(RUSAGE_SELF);
    int64_t m0 = om_mono_ms();
    om_pcm pcm = {0};
    if (om_audio_decode_16k(talk, 0, 0, &pcm) != OM_OK) {
        fprintf(stderr, "bench_e2e: decode: %s\n", om_error_msg());
        return 1;
    }
    double dec_wall = (double)(om_mono_ms() - m0) / 1000.0, dec_cpu = ru_cpu(RUSAGE_SELF) - s0;
    json_t *bj = json_loads(om_demo_brand_json(), 0, NULL);
    const char *kw[32];
    size_t nkw = 0;
    json_t *kwa = json_object_get(bj, "keywords");
    for (size_t i = 0; i < json_array_size(kwa) && nkw < 32; i++)
        kw[nkw++] = json_string_value(json_array_get(kwa, i));
    om_asr_request req = {.brief = json_string_value(json_object_get(bj, "brief")),
                          .keywords = kw,
                          .nkeywords = nkw};
    om_transcript tr = OM_TRANSCRIPT_INIT;
    s0 = ru_cpu(RUSAGE_SELF);
    m0 = om_mono_ms();
    if (naive && om_asr_transcribe(&tr, cfg, pcm.samples, pcm.n, &req) != OM_OK) {
        fprintf(stderr, "bench_e2e: transcribe: %s\n", om_error_msg());
        return 1;
    }
    double asr_wall = (double)(om_mono_ms() - m0) / 1000.0, asr_cpu = ru_cpu(RUSAGE_SELF) - s0;
    double audio_s = (double)pcm.n / pcm.rate;
    size_t nwords = tr.n;
    om_transcript_release(&tr);
    /* with the platform's subtitles our method reads them instead of transcribing */
    double sub_wall = 0, sub_cpu = 0;
    if (subs) {
        s0 = ru_cpu(RUSAGE_SELF);
        m0 = om_mono_ms();
        om_transcript st = OM_TRANSCRIPT_INIT;
        if (om_subtitles_parse_file(&st, srt_src) != OM_OK)
            fprintf(stderr, "bench_e2e: subtitles: %s\n", om_error_msg());
        om_transcript_release(&st);
        sub_wall = (double)(om_mono_ms() - m0) / 1000.0;
        sub_cpu = ru_cpu(RUSAGE_SELF) - s0;
    }
    om_pcm_release(&pcm);
    struct rusage self_ru;
    getrusage(RUSAGE_SELF, &self_ru);

    double ren_wall = 0, ren_cpu = 0;
    long ren_rss = 0;
    int nren = 0;
    if (om_store_query(s,
                       "SELECT e.operations FROM edit_jobs e JOIN clips c ON c.clip_id = "
                       "e.clip_id WHERE c.status = 'PUBLISHED' ORDER BY e.created_at",
                       NULL, 0, &r) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(r); i++) {
            json_t *plan = json_loads(om_rows_get(r, i, 0), 0, NULL);
            om_editplan *p = NULL;
            om_editcmd *cmd = NULL;
            char *enc = NULL, *why = NULL;
            char *out = xasprintf("%s/bare-%zu.mp4", tmpl, i);
            if (plan && om_editplan_parse(&p, plan) == OM_OK &&
                om_editplan_pick_encoder(p, &enc, &why) == OM_OK &&
                om_editplan_compile(&cmd, p, out, &(om_editenv){.vcodec = enc}) == OM_OK) {
                ren_wall += run_bare(cmd->argv, &ren_cpu, &ren_rss);
                nren++;
                unlink(out);
            } else {
                fprintf(stderr, "bench_e2e: clip %zu's plan: %s\n", i, om_error_msg());
            }
            free(enc);
            free(why);
            free(out);
            om_editcmd_free(cmd);
            om_editplan_free(p);
            json_decref(plan);
        }
        om_rows_free(r);
    }
    double naive_floor = dec_wall + asr_wall + ren_wall;
    /* our method's own parts: the same, but subtitles read instead of a transcription */
    double floor = subs ? dec_wall + sub_wall + ren_wall : naive_floor;

    /* ---- report ---- */
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("\n%g-minute talk -> %lld finished clips (asked %d), %d cores, load %.2f %.2f %.2f\n",
           minutes, (long long)clips, nclips, (int)cores, load[0], load[1], load[2]);
    printf("  ours: %.1f s wall, %.1f s CPU (whole process tree); analyze: %s\n", wall,
           ours_cpu, engine ? engine : "?");
    printf("  floor parts, bare:            wall s    cpu s\n");
    printf("    decode (%.0f s of audio)    %8.1f %8.1f\n", audio_s, dec_wall, dec_cpu);
    if (naive)
        printf("    transcribe all (%zu words) %8.1f %8.1f   (asr.jobs %ld)\n", nwords, asr_wall,
               asr_cpu, om_config_long(cfg, "asr.jobs"));
    if (subs)
        printf("    read the subtitles         %8.3f %8.3f   (replaces the transcription)\n",
               sub_wall, sub_cpu);
    printf("    %d renders, one run each   %8.1f %8.1f   (peak ffmpeg %ld MiB)\n", nren, ren_wall,
           ren_cpu, (ren_rss + 1023) / 1024);
    if (naive)
        printf("    naive floor                %8.1f %8.1f   (decode + transcribe all + renders)\n",
               naive_floor, dec_cpu + asr_cpu + ren_cpu);
    printf("    floor                      %8.1f %8.1f   (our method's parts; bench peak RSS "
           "%ld MiB)\n",
           floor, subs ? dec_cpu + sub_cpu + ren_cpu : dec_cpu + asr_cpu + ren_cpu,
           (self_ru.ru_maxrss + 1023) / 1024);
    job_span *spans = NULL;
    size_t ns = load_spans(s, t0_us - 1000000, &spans);
    print_stages(spans, ns, wall);
    print_gaps(spans, ns, t0_us, t1_us, (int)cores);
    free(spans);
    om_store_free(s);
    om_config_free(cfg);
    json_decref(bj);
    printf("source-hours per hour = %.2f (%.0f s of source in %.1f s, %d cores)\n",
           audio_s / wall, audio_s, wall, (int)cores);
    if (naive)
        printf("ours/naive-floor = %.3f\n", wall / naive_floor);
    printf("ours/floor = %.3f\n", wall / floor);
    if (!keep)
        om_rmtree(tmpl);
    else
        fprintf(stderr, "kept %s\n", tmpl);
    free(engine);
    free(srt_src);
    free(srt_link);
    free(talk);
    free(link);
    free(src);
    free(brand);
    free(url);
    free(db);
    return clips >= 1 ? 0 : 1;
}
