/*
 * external.c: transcription by an external command (whisper.cpp's CLI or anything printing
 * the same JSON). We write the audio as a 16 kHz WAV into a private temp dir, run the command
 * with om_proc_run (no shell), and turn its JSON into timed words: whisper.cpp's full output
 * (-ojf: sub-word tokens with millisecond offsets and probabilities, joined into words), its
 * plain output (-oj: segments, spread over their words), or our own {"words":[..]} shape.
 */
#include "base/common.h"

#include <errno.h>
#include <math.h>

#include "asr/asr.h"
#include "base/fsutil.h"
#include "base/proc.h"

int om_asr_write_wav(const char *path, const int16_t *pcm, size_t n)
{
    size_t bytes = st_mult(n, 2);
    if (bytes > 0xFFFFFFFFu - 36)
        return om_error_set(OM_EINVAL, "audio too long for a WAV file (%zu samples)", n);
    unsigned char *buf = xmalloc(44 + bytes);
    unsigned char *h = buf;
    uint32_t rate = 16000, byte_rate = 32000, data = (uint32_t)bytes, riff = 36 + data;
#define LE32(p, v)                                                                                 \
    do {                                                                                           \
        (p)[0] = (unsigned char)((v)&0xFF);                                                        \
        (p)[1] = (unsigned char)(((v) >> 8) & 0xFF);                                               \
        (p)[2] = (unsigned char)(((v) >> 16) & 0xFF);                                              \
        (p)[3] = (unsigned char)(((v) >> 24) & 0xFF);                                              \
    } while (0)
    memcpy(h, "RIFF", 4);
    LE32(h + 4, riff);
    memcpy(h + 8, "WAVEfmt ", 8);
    LE32(h + 16, 16u);
    h[20] = 1, h[21] = 0; /* PCM */
    h[22] = 1, h[23] = 0; /* mono */
    LE32(h + 24, rate);
    LE32(h + 28, byte_rate);
    h[32] = 2, h[33] = 0;  /* block align */
    h[34] = 16, h[35] = 0; /* bits */
    memcpy(h + 36, "data", 4);
    LE32(h + 40, data);
#undef LE32
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)pcm[i];
        buf[44 + 2 * i] = (unsigned char)(v & 0xFF);
        buf[44 + 2 * i + 1] = (unsigned char)(v >> 8);
    }
    int rc = om_write_file_atomic(path, buf, 44 + bytes);
    free(buf);
    return rc < 0 ? om_error_wrap(rc, "writing %s", path) : OM_OK;
}

/* ---- whisper.cpp JSON ----------------------------------------------------------------------- */

static int special_token(const char *t)
{
    return (t[0] == '[' && t[1] == '_') || (t[0] == '<' && t[1] == '|');
}

static int punct_only(const char *t)
{
    for (; *t; t++)
        if (!strchr(" .,!?;:\"')]}-", *t))
            return 0;
    return 1;
}

static int get_offsets(const json_t *obj, double *from, double *to)
{
    json_t *off = json_object_get(obj, "offsets");
    json_t *f = json_object_get(off, "from"), *t = json_object_get(off, "to");
    if (!json_is_number(f) || !json_is_number(t))
        return -1;
    *from = json_number_value(f) / 1000.0;
    *to = json_number_value(t) / 1000.0;
    return 0;
}

typedef struct wbuild {
    om_sbuf text;
    double start, end, logp;
    size_t ntok;
    int has_p;
} wbuild;

static void flush_word(om_transcript *t, wbuild *wb)
{
    if (wb->text.len) {
        double conf = wb->has_p && wb->ntok ? exp(wb->logp / (double)wb->ntok) : 1.0;
        om_transcript_add(t, sb_str(&wb->text), wb->start, wb->end, conf);
    }
    sb_reset(&wb->text);
    wb->logp = 0;
    wb->ntok = 0;
    wb->has_p = 0;
}

/* Spreads a segment's text over its words in proportion to their length. */
static void spread(om_transcript *t, const char *text, double from, double to)
{
    char **w = NULL;
    size_t n = 0, alloc = 0, total = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\n' || *p == '\t')
            p++;
        const char *q = p;
        while (*q && *q != ' ' && *q != '\n' && *q != '\t')
            q++;
        if (q > p) {
            if (n == alloc) {
                alloc = alloc ? alloc * 2 : 16;
                w = xrealloc(w, alloc * sizeof(char *));
            }
            w[n++] = xstrndup(p, (size_t)(q - p));
            total += (size_t)(q - p);
        }
        p = q;
    }
    double at = from;
    for (size_t i = 0; i < n; i++) {
        double d = total ? (to - from) * (double)strlen(w[i]) / (double)total : 0;
        om_transcript_add(t, w[i], at, at + d, 1.0);
        at += d;
        free(w[i]);
    }
    free(w);
}

int om_asr_parse_whisper_json(om_transcript *out, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return om_error_set(OM_EINVAL, "engine output: invalid JSON at line %d: %s", jerr.line,
                            jerr.text);
    om_transcript t = OM_TRANSCRIPT_INIT;
    int rc = OM_OK;
    json_t *segs = json_object_get(root, "transcription");
    if (!segs && json_is_array(json_object_get(root, "words"))) {
        rc = om_transcript_from_json(&t, root);
        json_decref(root);
        if (rc < 0)
            return om_error_wrap(rc, "engine output");
        json_decref(t.engine);
        t.engine = NULL;
        *out = t;
        return OM_OK;
    }
    if (!json_is_array(segs)) {
        json_decref(root);
        return om_error_set(OM_EINVAL, "engine output: no \"transcription\" array (expected "
                                       "whisper.cpp -oj/-ojf JSON)");
    }
    size_t i;
    json_t *seg;
    int tokens_used = 0;
    wbuild wb = {OM_SBUF_INIT, 0, 0, 0, 0, 0};
    json_array_foreach(segs, i, seg)
    {
        double sfrom, sto;
        if (get_offsets(seg, &sfrom, &sto) < 0) {
            rc = om_error_set(OM_EINVAL, "engine output: transcription[%zu] has no offsets", i);
            break;
        }
        json_t *toks = json_object_get(seg, "tokens");
        if (json_is_array(toks) && json_array_size(toks) > 0) {
            tokens_used = 1;
            size_t k;
            json_t *tok;
            flush_word(&t, &wb); /* a segment starts a word */
            json_array_foreach(toks, k, tok)
            {
                const char *text = json_string_value(json_object_get(tok, "text"));
                double from, to;
                if (!text || get_offsets(tok, &from, &to) < 0) {
                    rc = om_error_set(OM_EINVAL,
                                      "engine output: transcription[%zu].tokens[%zu] needs "
                                      "\"text\" and \"offsets\"",
                                      i, k);
                    break;
                }
                if (special_token(text) || !*text)
                    continue;
                int starts = text[0] == ' ' && !punct_only(text);
                if (starts || !wb.text.len) {
                    flush_word(&t, &wb);
                    wb.start = from;
                }
                const char *body = text;
                while (*body == ' ')
                    body++;
                sb_puts(&wb.text, body);
                if (to > wb.end || wb.ntok == 0)
                    wb.end = to;
                json_t *p = json_object_get(tok, "p");
                if (json_is_number(p) && !punct_only(text)) {
                    double pv = json_number_value(p);
                    wb.logp += log(pv > 1e-6 ? (pv < 1 ? pv : 1) : 1e-6);
                    wb.ntok++;
                    wb.has_p = 1;
                }
            }
            if (rc < 0)
                break;
            flush_word(&t, &wb);
        } else {
            const char *text = json_string_value(json_object_get(seg, "text"));
            if (!text) {
                rc = om_error_set(OM_EINVAL, "engine output: transcription[%zu] has no text", i);
                break;
            }
            spread(&t, text, sfrom, sto);
        }
    }
    sb_release(&wb.text);
    if (rc < 0) {
        json_decref(root);
        om_transcript_release(&t);
        return rc;
    }
    json_t *params = json_object();
    json_object_set_new(params, "word_times", json_string(tokens_used ? "tokens" : "segments"));
    json_t *wp = json_object_get(root, "params");
    if (json_is_object(wp))
        json_object_set(params, "engine_params", wp);
    const char *model = json_string_value(json_object_get(wp, "model"));
    json_t *mt = json_object_get(json_object_get(root, "model"), "type");
    om_transcript_set_engine(&t, "external", model ? model : json_string_value(mt), params);
    json_decref(root);
    om_transcript_segment(&t, NULL);
    *out = t;
    return OM_OK;
}

/* ---- running the command -------------------------------------------------------------------- */

/* Splits a command line on spaces; '...' and "..." quote. NULL on an unclosed quote. */
static char **split_command(const char *cmd, size_t *argc_out)
{
    size_t n = 0, alloc = 8;
    char **argv = xmalloc(alloc * sizeof(char *));
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        om_sbuf arg = OM_SBUF_INIT;
        sb_puts(&arg, "");
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if (*p == '\'' || *p == '"') {
                char q = *p++;
                const char *e = strchr(p, q);
                if (!e) {
                    sb_release(&arg);
                    for (size_t i = 0; i < n; i++)
                        free(argv[i]);
                    free(argv);
                    return NULL;
                }
                sb_append(&arg, p, (size_t)(e - p));
                p = e + 1;
            } else {
                sb_append(&arg, p, 1);
                p++;
            }
        }
        if (n + 2 > alloc) {
            alloc *= 2;
            argv = xrealloc(argv, alloc * sizeof(char *));
        }
        argv[n++] = sb_detach(&arg);
    }
    argv[n] = NULL;
    *argc_out = n;
    return argv;
}

/* Replaces every `key` in s with val (caller frees). */
static char *replace_all(const char *s, const char *key, const char *val, int *found)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    size_t kl = strlen(key);
    const char *p = s, *hit;
    while ((hit = strstr(p, key))) {
        sb_append(&sb, p, (size_t)(hit - p));
        sb_puts(&sb, val);
        p = hit + kl;
        *found = 1;
    }
    sb_puts(&sb, p);
    return sb_detach(&sb);
}

int om_asr_external(om_transcript *out, const int16_t *pcm, size_t n,
                    const om_asr_external_opts *opts)
{
    if (!opts || !opts->command || !*opts->command)
        return om_error_set(OM_EINVAL, "external transcription: no command configured");
    size_t argc = 0;
    char **argv = split_command(opts->command, &argc);
    if (!argv)
        return om_error_set(OM_EINVAL, "external transcription: unclosed quote in command '%s'",
                            opts->command);
    if (!argc) {
        free(argv);
        return om_error_set(OM_EINVAL, "external transcription: empty command");
    }
    const char *tmp = opts->tmpdir && *opts->tmpdir ? opts->tmpdir : om_tmpdir();
    char *dir = xasprintf("%s/omniva-asr-XXXXXX", tmp);
    int rc = OM_OK;
    if (!mkdtemp(dir)) {
        rc = om_error_set(OM_EIO, "external transcription: creating %s: %s", dir, strerror(errno));
        goto out_argv;
    }
    char *wav = xasprintf("%s/audio.wav", dir), *outp = xasprintf("%s/out", dir);
    int uses_out = 0, uses_wav = 0;
    for (size_t i = 0; i < argc; i++) {
        char *a = replace_all(argv[i], "{wav}", wav, &uses_wav);
        free(argv[i]);
        argv[i] = replace_all(a, "{out}", outp, &uses_out);
        free(a);
    }
    rc = om_asr_write_wav(wav, pcm, n);
    if (rc == OM_OK) {
        om_proc_opts po = {.argv = (const char *const *)argv,
                           .cwd = dir,
                           .timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 3600 * 1000,
                           .max_output = 64u << 20,
                           .cancel = opts->cancel};
        /* Without {wav} the engine reads the WAV from stdin. */
        char *wav_data = NULL;
        size_t wav_len = 0;
        if (!uses_wav) {
            rc = om_read_file(wav, 0, &wav_data, &wav_len);
            po.stdin_data = wav_data;
            po.stdin_len = wav_len;
        }
        om_proc_result res = {0};
        if (rc == OM_OK)
            rc = om_proc_run(&po, &res);
        free(wav_data);
        if (rc == OM_ENOTFOUND) {
            rc = om_error_wrap(OM_EUNAVAIL, "external transcription");
        } else if (rc == OM_ETIMEOUT) {
            rc = om_error_wrap(OM_ETIMEOUT, "external transcription: %s", argv[0]);
        } else if (rc == OM_OK && res.exit_code != 0) {
            const char *err = res.err ? res.err : "";
            size_t el = strlen(err);
            rc = om_error_set(OM_ERROR, "external transcription: %s exited with %d: %s", argv[0],
                              res.exit_code, el > 300 ? err + el - 300 : err);
        } else if (rc == OM_OK) {
            char *json = NULL;
            size_t jl = 0;
            if (uses_out) {
                char *jp = xasprintf("%s.json", outp);
                rc = om_read_file(jp, 256u << 20, &json, &jl);
                if (rc < 0)
                    rc = om_error_wrap(rc, "external transcription: %s wrote no JSON", argv[0]);
                free(jp);
            } else {
                json = res.out;
                jl = res.out_len;
                res.out = NULL;
            }
            if (rc == OM_OK) {
                om_transcript t = OM_TRANSCRIPT_INIT;
                rc = om_asr_parse_whisper_json(&t, json ? json : "", jl);
                if (rc == OM_OK) {
                    json_t *params = t.engine ? json_object_get(t.engine, "params") : NULL;
                    json_t *p = params ? json_incref(params) : json_object();
                    json_object_set_new(p, "command", json_string(opts->command));
                    const char *model =
                        t.engine ? json_string_value(json_object_get(t.engine, "model")) : NULL;
                    char *m = xstrdup(model);
                    om_transcript_set_engine(&t, "external", m, p);
                    free(m);
                    *out = t;
                } else {
                    rc = om_error_wrap(rc, "external transcription: %s", argv[0]);
                }
            }
            free(json);
        }
        om_proc_result_release(&res);
    }
    om_rmtree(dir);
    free(wav);
    free(outp);
out_argv:
    free(dir);
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    return rc;
}
