/*
 * media_fixture.h: what the media tests share: a temp dir, running ffmpeg / espeak-ng to
 * generate media (never downloaded), and small PCM helpers. Header-only (static inline functions)
 * so each test binary stays one source file.
 */
#ifndef OMNIVA_TESTS_MEDIA_FIXTURE_H
#define OMNIVA_TESTS_MEDIA_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"

/* Two unrelated talks for espeak-ng (the re-post tests: one is re-posted, the other not). */
#define FX_TALK_COFFEE                                                                          \
    "Today we talk about coffee. The grind decides almost everything: too fine and the cup "    \
    "is bitter, too coarse and it tastes like water. Weigh your beans, heat the water to "      \
    "ninety four degrees, and pour slowly in circles. Wait four minutes, then press. That is "  \
    "the whole secret, and it costs nothing. Try it tomorrow morning and tell me."
#define FX_TALK_MONEY                                                                           \
    "Saving money is a habit, not a talent. Every month, before you pay anything else, move "   \
    "one tenth of your income into an account you never touch. After a year the numbers "      \
    "surprise you. Compound interest does the rest while you sleep, and you never have to "     \
    "think about it again. Start with a small amount this week."

/* mkdtemp under /tmp; caller frees (and om_rmtree's). */
static inline char *fx_tmpdir(const char *tag)
{
    char *t = xasprintf("/tmp/omniva-%s-XXXXXX", tag);
    if (!mkdtemp(t)) {
        perror("mkdtemp");
        abort();
    }
    return t;
}

static inline char *fx_path(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* Runs argv (NULL-terminated); returns the exit code, prints the tool's stderr on failure.
 * stderr_out (may be NULL) receives the captured stderr (caller frees). */
static inline int fx_run(const char *const *argv, char **stderr_out)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 300000};
    om_proc_result r;
    memset(&r, 0, sizeof(r));
    int rc = om_proc_run(&o, &r);
    int code = rc == OM_OK ? r.exit_code : -1;
    if (code != 0) {
        fprintf(stderr, "fixture: %s failed (rc=%d exit=%d): %s\n", argv[0], rc, r.exit_code,
                r.err ? r.err : om_error_msg());
    }
    if (stderr_out) {
        *stderr_out = r.err ? xstrdup(r.err) : xstrdup("");
    }
    om_proc_result_release(&r);
    return code;
}

/* ffmpeg -hide_banner -loglevel error -y <args...> (args NULL-terminated). */
#define FX_FFMPEG(...)                                                                             \
    fx_run((const char *const[]){"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", \
                                 __VA_ARGS__, NULL},                                               \
           NULL)

/* Copies the first `n` bytes of src into dst. */
static inline int fx_truncate_copy(const char *src, const char *dst, size_t n)
{
    char *data = NULL;
    size_t len = 0;
    if (om_read_file(src, 0, &data, &len) != OM_OK)
        return -1;
    int rc = om_write_file_atomic(dst, data, n < len ? n : len);
    free(data);
    return rc;
}

static inline int64_t fx_file_size(const char *path)
{
    int64_t sz = -1;
    om_file_size(path, &sz);
    return sz;
}

/* RMS in dBFS (20*log10(rms/32768)) of samples [a, b). */
static inline double fx_rms_db(const int16_t *s, size_t a, size_t b)
{
    double acc = 0;
    for (size_t i = a; i < b; i++)
        acc += (double)s[i] * s[i];
    double ms = b > a ? acc / (double)(b - a) : 0;
    return ms > 0 ? 10.0 * log10(ms / (32768.0 * 32768.0)) : -120.0;
}

/* Parses ffmpeg's ebur128 summary: integrated loudness and loudness range. */
static inline int fx_ffmpeg_ebur128(const char *path, double *i_out, double *lra_out)
{
    char *err = NULL;
    int rc = fx_run((const char *const[]){"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i",
                                          path, "-af", "ebur128", "-f", "null", "-", NULL},
                    &err);
    const char *sum = err ? strstr(err, "Summary:") : NULL;
    const char *i = sum ? strstr(sum, "I:") : NULL;
    const char *l = sum ? strstr(sum, "LRA:") : NULL;
    int ok =
        rc == 0 && i && l && sscanf(i + 2, "%lf", i_out) == 1 && sscanf(l + 4, "%lf", lra_out) == 1;
    if (!ok)
        fprintf(stderr, "fixture: no ebur128 summary for %s\n", path);
    free(err);
    return ok ? 0 : -1;
}

#endif
