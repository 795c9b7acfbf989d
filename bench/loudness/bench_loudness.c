/*
 * bench_loudness.c: EBU R128 loudness, our BS.1770 code (media/loudness.c) against libebur128,
 * with ffmpeg's ebur128 filter (its own implementation, at 48 kHz) as the third opinion,
 * measured in one run on generated signals (not a test; build Release for the timings).
 *
 * Signals (made with the ffmpeg CLI and espeak-ng, never downloaded):
 *   sine     1 kHz at -20 dBFS peak, 48 kHz mono, 20 s: analytically -23.01 LUFS, LRA 0
 *   pink     pink noise (anoisesrc, seed 7), 48 kHz mono, 30 s
 *   speech   espeak-ng reading a text (22.05 kHz mono), ~30 s
 *   gated    tone bursts (2.5 s on, 1.5 s off) at three levels 12 dB apart, 48 kHz, 36 s:
 *            the absolute and relative gates and the loudness range at work
 *   stereo   two identical channels (44.1 kHz): the dual-mono path (+3.01 dB)
 * Each is decoded to mono PCM at its own rate and at 16 kHz (the pipeline's rate) with
 * om_audio_decode, and measured by
 *   ours        om_loudness_measure (media/loudness.c, what om_audio_signals_compute runs):
 *               K-weighting re-derived for the rate, 100 ms sub-blocks, 400 ms gated blocks,
 *               3 s short-term windows every 100 ms for the range;
 *   libebur128  driven the way the module would drive it as a drop-in: 100 ms chunks of
 *               int16 frames, the 100 ms window read after each (the sub-block powers the
 *               short-term series and om_audio_loudness_between need), then the global
 *               loudness and the range; true peak from a separate (untimed) pass;
 *   module      om_audio_signals_compute itself (integrated and range), to show the module
 *               reports loudness.c's figures;
 *   ffmpeg      `-af ebur128=metadata=1:peak=true` on the original file: I, LRA and the
 *               short-term S every 100 ms with three decimals (ametadata), true peak.
 * Short-term: each of our per-second values (3 s centred on the middle of second i, i.e. the
 * window ending at i+2 s) against ffmpeg's S at the same instant; the largest |difference|.
 * Times: CPU-time median of `reps` runs per measure on the same PCM, as seconds of audio per
 * millisecond (higher is faster).
 *
 * usage: bench_loudness [reps (default 5)] [workdir (default /tmp/omniva-bench-loudness)]
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "media/audio.h"
#include "media/audiosig.h"
#include "media/loudness.h"
#include "media_fixture.h"

#include <ebur128.h>
#include <math.h>
#include <time.h>

typedef struct measure {
    double i, lra, tp;
    double *block; /* 100 ms sub-block powers */
    size_t nblock, nfull;
} measure;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ours: media/loudness.c, exactly what om_audio_signals_compute runs */
static void ours_measure(const om_pcm *pcm, measure *m)
{
    om_loudness l;
    if (om_loudness_measure(pcm, &l) != OM_OK) {
        fprintf(stderr, "loudness: %s\n", om_error_msg());
        exit(1);
    }
    m->i = l.integrated;
    m->lra = l.range;
    m->tp = NAN;
    m->block = l.block_power; /* ours now */
    m->nblock = l.n_blocks;
    m->nfull = l.n_full;
}

/* ======================================================================================
 * libebur128, as a drop-in for om_loudness_measure
 * ====================================================================================== */

static void ebur_measure(const om_pcm *pcm, measure *m)
{
    ebur128_state *st = ebur128_init(1, (unsigned)pcm->rate, EBUR128_MODE_I | EBUR128_MODE_LRA);
    if (!st) {
        fprintf(stderr, "ebur128_init failed\n");
        exit(1);
    }
    if (pcm->src_channels >= 2)
        ebur128_set_channel(st, 0, EBUR128_DUAL_MONO);
    size_t nb = (size_t)ceil((double)pcm->n * 10.0 / pcm->rate - 1e-9);
    m->block = xcalloc(nb ? nb : 1, sizeof(double));
    m->nblock = nb;
    m->nfull = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t i0 = (size_t)((uint64_t)b * (uint64_t)pcm->rate / 10u);
        size_t i1 = (size_t)((uint64_t)(b + 1) * (uint64_t)pcm->rate / 10u);
        if (i1 > pcm->n)
            i1 = pcm->n;
        ebur128_add_frames_short(st, pcm->samples + i0, i1 - i0);
        double l = -HUGE_VAL;
        if ((double)(i1 - i0) >= 0.099 * pcm->rate &&
            ebur128_loudness_window(st, 100, &l) == EBUR128_SUCCESS) {
            m->nfull = b + 1;
        }
        m->block[b] = isfinite(l) ? pow(10.0, (l + 0.691) / 10.0) : 0;
    }
    double i = -HUGE_VAL, lra = 0;
    ebur128_loudness_global(st, &i);
    ebur128_loudness_range(st, &lra);
    m->i = isfinite(i) && i > OM_LUFS_FLOOR ? i : OM_LUFS_FLOOR;
    m->lra = lra;
    m->tp = NAN;
    ebur128_destroy(&st);
}

static double ebur_true_peak(const om_pcm *pcm)
{
    ebur128_state *st = ebur128_init(1, (unsigned)pcm->rate, EBUR128_MODE_TRUE_PEAK);
    ebur128_add_frames_short(st, pcm->samples, pcm->n);
    double tp = 0;
    ebur128_true_peak(st, 0, &tp);
    ebur128_destroy(&st);
    return tp > 0 ? 20.0 * log10(tp) : -120.0;
}

/* Our per-second short-term (3 s window ending at i+2 s, clipped) from sub-block powers. */
static double short_term_at(const measure *m, size_t i)
{
    long a = ((long)i - 1) * 10, b = ((long)i + 2) * 10;
    if (a < 0)
        a = 0;
    if (b > (long)m->nblock)
        b = (long)m->nblock;
    double s = 0;
    for (long k = a; k < b; k++)
        s += m->block[k];
    return om_lufs(b > a ? s / (double)(b - a) : 0);
}

/* ======================================================================================
 * ffmpeg's ebur128 filter
 * ====================================================================================== */

typedef struct ffref {
    double i, lra, tp;
    double *s; /* short-term at the end of each 100 ms frame: s[k] = window ending (k+1)/10 */
    size_t ns;
} ffref;

static int ffmpeg_ref(const char *path, const char *dir, ffref *r)
{
    memset(r, 0, sizeof(*r));
    char *meta = xasprintf("%s/meta.txt", dir);
    char *af = xasprintf("ebur128=metadata=1:peak=true,ametadata=mode=print:file=%s", meta);
    char *err = NULL;
    int rc = fx_run((const char *const[]){"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i",
                                          path, "-af", af, "-f", "null", "-", NULL},
                    &err);
    free(af);
    char *txt = NULL;
    size_t len = 0;
    if (rc != 0 || om_read_file(meta, 0, &txt, &len) != OM_OK) {
        free(err);
        free(meta);
        return -1;
    }
    size_t cap = 0;
    for (char *line = txt; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        double v;
        if (sscanf(line, "lavfi.r128.S=%lf", &v) == 1) {
            if (r->ns == cap) {
                cap = cap ? 2 * cap : 256;
                r->s = xrealloc(r->s, st_mult(cap, sizeof(double)));
            }
            r->s[r->ns++] = v;
        } else if (sscanf(line, "lavfi.r128.I=%lf", &v) == 1) {
            r->i = v;
        } else if (sscanf(line, "lavfi.r128.LRA=%lf", &v) == 1) {
            r->lra = v;
        }
        line = nl ? nl + 1 : NULL;
    }
    /* true peak: the summary (one decimal) */
    const char *tp = err ? strstr(err, "True peak:") : NULL;
    tp = tp ? strstr(tp, "Peak:") : NULL;
    r->tp = tp && sscanf(tp + 5, "%lf", &r->tp) == 1 ? r->tp : NAN;
    free(txt);
    free(err);
    free(meta);
    return 0;
}

/* ======================================================================================
 * the run
 * ====================================================================================== */

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double median3(double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

typedef void (*measure_fn)(const om_pcm *, measure *);

/* Median CPU ms of one measure over reps runs (each repeated until >= 20 ms). */
static double time_it(measure_fn fn, const om_pcm *pcm, int reps)
{
    double t[64];
    int n = reps < 64 ? reps : 64;
    for (int r = 0; r < n; r++) {
        int loops = 0;
        double t0 = cpu_ms(), el;
        do {
            measure m = {0};
            fn(pcm, &m);
            free(m.block);
            loops++;
        } while ((el = cpu_ms() - t0) < 20.0);
        t[r] = el / loops;
    }
    return median3(t, (size_t)n);
}

typedef struct signal {
    const char *name;
    char *path;
    int native_rate;
    double expect_i; /* analytic value or NAN */
} signal;

#define SPEECH_TEXT                                                                                \
    "Every morning the team looks at what happened overnight. The clips that worked share a "      \
    "few things. They start with a clear hook in the first three seconds, they keep the "          \
    "subject in the frame, and the captions are easy to read on a small screen. When a clip "      \
    "fails it is usually because the opening is slow or the words on screen do not match what "    \
    "people hear. So we measure everything."

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    const char *dir = argc > 2 ? argv[2] : "/tmp/omniva-bench-loudness";
    if (reps < 1)
        reps = 1;
    om_mkdirs(dir, 0755);
    signal sig[] = {
        {"sine", fx_path(dir, "sine.wav"), 48000, -23.01},
        {"pink", fx_path(dir, "pink.wav"), 48000, NAN},
        {"speech", fx_path(dir, "speech.wav"), 22050, NAN},
        {"gated", fx_path(dir, "gated.wav"), 48000, NAN},
        {"stereo", fx_path(dir, "stereo.wav"), 44100, NAN},
    };
    int bad = 0;
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*1000*t):s=48000:d=20", "-c:a",
                     "pcm_s16le", sig[0].path);
    bad |= FX_FFMPEG("-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.25:seed=7:r=48000:d=30",
                     "-c:a", "pcm_s16le", sig[1].path);
    char *one = fx_path(dir, "speech1.wav");
    if (om_proc_which("espeak-ng")) {
        bad |= fx_run((const char *const[]){"espeak-ng", "-s", "150", "-w", one, SPEECH_TEXT, NULL},
                      NULL);
        bad |= FX_FFMPEG("-stream_loop", "1", "-i", one, "-c:a", "pcm_s16le", sig[2].path);
    } else {
        fprintf(stderr, "bench_loudness: no espeak-ng, the speech signal is skipped\n");
        sig[2].name = NULL;
    }
    free(one);
    bad |= FX_FFMPEG("-f", "lavfi", "-i",
                     "aevalsrc='(0.1*lt(t,12)+0.025*between(t,12,24)+0.4*gt(t,24))*"
                     "lt(mod(t,4),2.5)*(sin(2*PI*1000*t)+0.5*sin(2*PI*300*t))':s=48000:d=36",
                     "-c:a", "pcm_s16le", sig[3].path);
    bad |= FX_FFMPEG("-f", "lavfi", "-i",
                     "aevalsrc='0.1*(1+lt(t,8)+2*gt(t,16))*sin(2*PI*440*t)|"
                     "0.1*(1+lt(t,8)+2*gt(t,16))*sin(2*PI*440*t)':s=44100:d=24",
                     "-c:a", "pcm_s16le", sig[4].path);
    if (bad) {
        fprintf(stderr, "bench_loudness: generating the signals failed\n");
        return 1;
    }
    int maj, min, pat;
    ebur128_get_version(&maj, &min, &pat);
    printf("bench_loudness: ours (loudness.c) vs libebur128 %d.%d.%d vs ffmpeg ebur128 "
           "(reference, 48 kHz); reps %d\n",
           maj, min, pat, reps);
    printf("%-7s %6s | %8s %6s %6s | %8s %6s | %8s %6s %6s | %8s %6s | %6s %6s | %7s %7s\n",
           "signal", "rate", "ff I", "ff LRA", "ff TP", "ours I", "LRA", "ebur I", "LRA", "TP",
           "module I", "LRA", "dS ou", "dS eb", "ours", "ebur");
    printf("%-7s %6s | %8s %6s %6s | %8s %6s | %8s %6s %6s | %8s %6s | %6s %6s | %7s %7s\n", "",
           "Hz", "LUFS", "LU", "dBTP", "LUFS", "LU", "LUFS", "LU", "dBTP", "LUFS", "LU", "LU", "LU",
           "s/ms", "s/ms");
    double worst_o = 0, worst_e = 0, worst_lo = 0, worst_le = 0;
    double sum_to = 0, sum_te = 0, audio_s = 0;
    for (size_t k = 0; k < OM_ARRAY_LEN(sig); k++) {
        if (!sig[k].name)
            continue;
        ffref ff;
        if (ffmpeg_ref(sig[k].path, dir, &ff) < 0) {
            fprintf(stderr, "bench_loudness: ffmpeg ebur128 failed on %s\n", sig[k].path);
            return 1;
        }
        int rates[] = {sig[k].native_rate, 16000};
        for (int ri = 0; ri < 2; ri++) {
            om_pcm pcm;
            if (om_audio_decode(sig[k].path, 0, 0, rates[ri], &pcm) != OM_OK) {
                fprintf(stderr, "decode %s: %s\n", sig[k].path, om_error_msg());
                return 1;
            }
            measure mo = {0}, me = {0};
            ours_measure(&pcm, &mo);
            ebur_measure(&pcm, &me);
            me.tp = ebur_true_peak(&pcm);
            om_audio_signals mod;
            if (om_audio_signals_compute(&pcm, NULL, &mod) != OM_OK) {
                fprintf(stderr, "signals: %s\n", om_error_msg());
                return 1;
            }
            /* short-term against ffmpeg: our second i <-> ffmpeg's window ending at i+2 s */
            double ds_o = 0, ds_e = 0;
            size_t nsec = (size_t)floor((double)pcm.n / pcm.rate);
            for (size_t i = 1; i + 2 <= nsec; i++) {
                size_t fk = (i + 2) * 10 - 1;
                if (fk >= ff.ns || !(ff.s[fk] > -70.0))
                    continue;
                ds_o = fmax(ds_o, fabs(short_term_at(&mo, i) - ff.s[fk]));
                ds_e = fmax(ds_e, fabs(short_term_at(&me, i) - ff.s[fk]));
            }
            double to = time_it(ours_measure, &pcm, reps);
            double te = time_it(ebur_measure, &pcm, reps);
            double secs = (double)pcm.n / pcm.rate;
            printf("%-7s %6d | %8.3f %6.2f %6.1f | %8.3f %6.2f | %8.3f %6.2f %6.2f | %8.3f %6.2f "
                   "| %6.3f %6.3f | %7.1f %7.1f\n",
                   sig[k].name, pcm.rate, ff.i, ff.lra, ff.tp, mo.i, mo.lra, me.i, me.lra, me.tp,
                   mod.integrated, mod.range, ds_o, ds_e, secs / to, secs / te);
            if (isfinite(sig[k].expect_i))
                printf("%-7s %6s   analytic I %.2f LUFS: ours %+.3f, libebur128 %+.3f, ffmpeg "
                       "%+.3f LU\n",
                       "", "", sig[k].expect_i, mo.i - sig[k].expect_i, me.i - sig[k].expect_i,
                       ff.i - sig[k].expect_i);
            if (pcm.rate != 16000 || k == 0) { /* 16 kHz loses content above 8 kHz: not ours */
                worst_o = fmax(worst_o, fabs(mo.i - ff.i));
                worst_e = fmax(worst_e, fabs(me.i - ff.i));
                worst_lo = fmax(worst_lo, fabs(mo.lra - ff.lra));
                worst_le = fmax(worst_le, fabs(me.lra - ff.lra));
            }
            sum_to += to;
            sum_te += te;
            audio_s += secs;
            om_audio_signals_release(&mod);
            free(mo.block);
            free(me.block);
            om_pcm_release(&pcm);
        }
        free(ff.s);
    }
    printf("at the native rate, largest |I - ffmpeg|: ours %.3f LU, libebur128 %.3f LU; "
           "|LRA - ffmpeg|: ours %.2f LU, libebur128 %.2f LU\n",
           worst_o, worst_e, worst_lo, worst_le);
    printf("speed over all PCM (%.0f s of audio): ours %.1f s/ms, libebur128 %.1f s/ms "
           "(libebur128 / ours time %.2f)\n",
           audio_s, audio_s / sum_to, audio_s / sum_te, sum_te / sum_to);
    for (size_t k = 0; k < OM_ARRAY_LEN(sig); k++)
        free(sig[k].path);
    return 0;
}
