/*
 * asr_util.h: helpers the asr tests and bench/asr share (header-only): reading 16 kHz WAV
 * files, synthesising speech of a known text with espeak-ng (decoded to 16 kHz mono by the
 * media module), and the reference transcripts of Debian's pocketsphinx-testdata LibriVox clips.
 * Everything returned is the caller's to free.
 */
#ifndef OMNIVA_TESTS_ASR_UTIL_H
#define OMNIVA_TESTS_ASR_UTIL_H

#include "base/common.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/proc.h"
#include "media/audio.h"

#define UTIL_LIBRIVOX_DIR "/usr/share/pocketsphinx/test/data/librivox"

static inline uint32_t util_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a 16 kHz mono 16-bit PCM WAV file; NULL when it is anything else. */
static inline int16_t *util_read_wav16k(const char *path, size_t *n_out)
{
    char *data = NULL;
    size_t len = 0;
    if (om_read_file(path, 0, &data, &len) < 0)
        return NULL;
    const unsigned char *u = (const unsigned char *)data;
    int16_t *pcm = NULL;
    if (len >= 12 && memcmp(u, "RIFF", 4) == 0 && memcmp(u + 8, "WAVE", 4) == 0) {
        size_t off = 12;
        int ok_fmt = 0;
        while (off + 8 <= len) {
            uint32_t sz = util_le32(u + off + 4);
            const unsigned char *body = u + off + 8;
            if (memcmp(u + off, "fmt ", 4) == 0 && sz >= 16 && off + 8 + 16 <= len) {
                unsigned fmt = body[0] | body[1] << 8, ch = body[2] | body[3] << 8;
                uint32_t rate = util_le32(body + 4);
                unsigned bits = body[14] | body[15] << 8;
                ok_fmt = fmt == 1 && ch == 1 && rate == 16000 && bits == 16;
            } else if (memcmp(u + off, "data", 4) == 0 && ok_fmt) {
                size_t nbytes = sz;
                if (off + 8 + nbytes > len)
                    nbytes = len - off - 8;
                *n_out = nbytes / 2;
                pcm = xmalloc(nbytes + 2);
                for (size_t i = 0; i < *n_out; i++)
                    pcm[i] = (int16_t)(body[2 * i] | body[2 * i + 1] << 8);
                break;
            }
            off += 8 + sz + (sz & 1);
        }
    }
    free(data);
    return pcm;
}

/* Speech of `text` from espeak-ng (voice e.g. "en-us", words per minute) as 16 kHz mono PCM,
 * decoded from espeak-ng's 22.05 kHz WAV by the media module's decoder (the analyzer's own
 * path: libavcodec + libswresample). NULL when espeak-ng or the decode fail. */
static inline int16_t *util_espeak(const char *text, const char *voice, int wpm, size_t *n_out)
{
    char dir[] = "/tmp/omniva-asr-espeak-XXXXXX";
    if (!mkdtemp(dir))
        return NULL;
    char *wav = xasprintf("%s/speech.wav", dir);
    char speed[16];
    snprintf(speed, sizeof(speed), "%d", wpm);
    const char *argv[] = {"espeak-ng", "-v", voice, "-s", speed, "-w", wav, "--", text, NULL};
    int16_t *pcm = NULL;
    om_proc_opts po = {.argv = argv, .timeout_ms = 60000};
    om_proc_result res = {0};
    if (om_proc_run(&po, &res) == OM_OK && res.exit_code == 0) {
        om_pcm p = {0};
        if (om_audio_decode_16k(wav, 0, 0, &p) == OM_OK && p.n > 0) {
            pcm = p.samples;
            *n_out = p.n;
        } else {
            fprintf(stderr, "decoding %s: %s\n", wav, om_error_msg());
            om_pcm_release(&p);
        }
    }
    om_proc_result_release(&res);
    om_rmtree(dir);
    free(wav);
    return pcm;
}

/* The LibriVox clips of pocketsphinx-testdata: ids and reference texts (without <s> </s>).
 * Returns the count; arrays are NULL-terminated. */
static inline size_t util_librivox(char ***ids_out, char ***refs_out)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    char **ids = xcalloc(64, sizeof(char *)), **refs = xcalloc(64, sizeof(char *));
    if (om_read_file(UTIL_LIBRIVOX_DIR "/transcription", 0, &text, &len) == OM_OK) {
        char *line = text;
        while (*line && n < 63) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            char *open = strrchr(line, '('), *close = strrchr(line, ')');
            if (open && close > open) {
                ids[n] = xstrndup(open + 1, (size_t)(close - open - 1));
                om_sbuf sb = OM_SBUF_INIT;
                *open = '\0';
                for (char *p = line; *p;) {
                    size_t wl = strcspn(p, " \t");
                    if (wl && !(wl == 3 && memcmp(p, "<s>", 3) == 0) &&
                        !(wl == 4 && memcmp(p, "</s>", 4) == 0)) {
                        if (sb.len)
                            sb_puts(&sb, " ");
                        sb_append(&sb, p, wl);
                    }
                    p += wl;
                    while (*p == ' ' || *p == '\t')
                        p++;
                }
                refs[n++] = sb_detach(&sb);
            }
            if (!nl)
                break;
            line = nl + 1;
        }
    }
    free(text);
    *ids_out = ids;
    *refs_out = refs;
    return n;
}

static inline void util_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* ---- speech whose word boundaries are known ------------------------------------------------ */

/* A talk synthesised word by word: each word is spoken by espeak-ng on its own, its leading
 * and trailing silence trimmed, and the words are laid end to end with pauses drawn from a
 * fixed generator (short inside a phrase, longer between phrases of `phrase` words), so every
 * word's true start and end are known to the sample. The SRT a platform would serve (one cue
 * per phrase, spanning its words plus 0.1 s each side) comes along. */
typedef struct util_talk {
    int16_t *pcm;
    size_t n;
    size_t nwords;
    char **words;         /* as written (NULL-terminated) */
    double *start, *end;  /* truth, seconds */
    char *srt;
} util_talk;

static inline void util_talk_free(util_talk *t)
{
    free(t->pcm);
    util_strv_free(t->words);
    free(t->start);
    free(t->end);
    free(t->srt);
    memset(t, 0, sizeof(*t));
}

static inline void util_srt_time(om_sbuf *sb, double t)
{
    long ms = (long)(t * 1000 + 0.5);
    sb_printf(sb, "%02ld:%02ld:%02ld,%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
              ms % 1000);
}

/* 0 on success; -1 when espeak-ng or the decoder fail. `text`: words separated by spaces. */
static inline int util_talk_make(util_talk *out, const char *text, size_t phrase, unsigned seed)
{
    memset(out, 0, sizeof(*out));
    char **ws = xcalloc(strlen(text) + 2, sizeof(char *));
    size_t nw = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        size_t l = strcspn(p, " ");
        if (l)
            ws[nw++] = xstrndup(p, l);
        p += l;
    }
    size_t cap = 16000 * 2, n = 0;
    int16_t *pcm = xcalloc(cap, sizeof(int16_t));
    n = 8000; /* 0.5 s of lead-in silence */
    double *st = xcalloc(nw + 1, sizeof(double)), *en = xcalloc(nw + 1, sizeof(double));
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < nw; i++) {
        size_t m = 0;
        int16_t *w = util_espeak(ws[i], "en-us", 160, &m);
        if (!w) {
            free(pcm), free(st), free(en), util_strv_free(ws);
            return -1;
        }
        size_t a = 0, b = m;
        while (a < b && abs(w[a]) < 300)
            a++;
        while (b > a && abs(w[b - 1]) < 300)
            b--;
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        double gap = (i % phrase == 0 && i) ? 0.45 + (double)(x % 400) / 1000.0
                                            : 0.02 + (double)(x % 250) / 1000.0;
        if (i == 0)
            gap = 0;
        size_t g = (size_t)(gap * 16000);
        while (n + g + (b - a) + 16000 > cap) {
            cap *= 2;
            pcm = xrealloc(pcm, cap * sizeof(int16_t));
        }
        memset(pcm + n, 0, g * sizeof(int16_t));
        n += g;
        st[i] = (double)n / 16000;
        memcpy(pcm + n, w + a, (b - a) * sizeof(int16_t));
        n += b - a;
        en[i] = (double)n / 16000;
        free(w);
    }
    memset(pcm + n, 0, 8000 * sizeof(int16_t));
    n += 8000;
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0, cue = 1; i < nw; i += phrase, cue++) {
        size_t j = i + phrase < nw ? i + phrase : nw;
        sb_printf(&sb, "%zu\n", cue);
        util_srt_time(&sb, st[i] - 0.1 > 0 ? st[i] - 0.1 : 0);
        sb_puts(&sb, " --> ");
        util_srt_time(&sb, en[j - 1] + 0.1);
        sb_puts(&sb, "\n");
        for (size_t k = i; k < j; k++)
            sb_printf(&sb, "%s%s", k > i ? " " : "", ws[k]);
        sb_puts(&sb, "\n\n");
    }
    ws[nw] = NULL;
    out->pcm = pcm;
    out->n = n;
    out->nwords = nw;
    out->words = ws;
    out->start = st;
    out->end = en;
    out->srt = sb_detach(&sb);
    return 0;
}

#endif
