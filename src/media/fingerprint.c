/* fingerprint.c: Chromaprint raw fingerprints of a file's audio, streamed from
 * media/audio.h a window at a time, and their comparison by alignment (fingerprint.h). */
#include "base/common.h"

#include <chromaprint.h>

#include "base/error.h"
#include "media/audio.h"
#include "media/fingerprint.h"

#define WINDOW_S 60.0

int om_fingerprint_file(const char *path, double max_s, om_fingerprint *out)
{
    *out = (om_fingerprint){0};
    ChromaprintContext *ctx = chromaprint_new(CHROMAPRINT_ALGORITHM_DEFAULT);
    if (!ctx || !chromaprint_start(ctx, OM_FP_RATE, 1)) {
        if (ctx)
            chromaprint_free(ctx);
        return om_error_set(OM_EINVAL, "chromaprint could not start");
    }
    int rc = OM_OK;
    for (double t = 0;; t += WINDOW_S) {
        double want = WINDOW_S;
        if (max_s > 0) {
            if (t >= max_s)
                break;
            if (t + want > max_s)
                want = max_s - t;
        }
        om_pcm pcm = {0};
        rc = om_audio_decode(path, t, want, OM_FP_RATE, &pcm);
        if (rc != OM_OK) {
            if (t > 0) { /* the previous window ended exactly at the end */
                om_error_clear();
                rc = OM_OK;
            }
            break;
        }
        int fed = pcm.n ? chromaprint_feed(ctx, pcm.samples, (int)pcm.n) : 1;
        size_t n = pcm.n;
        om_pcm_release(&pcm);
        if (!fed) {
            rc = om_error_set(OM_EINVAL, "chromaprint refused the audio of %s", path);
            break;
        }
        if ((double)n < want * OM_FP_RATE - 1)
            break; /* the file ended inside this window */
    }
    if (rc == OM_OK) {
        uint32_t *raw = NULL;
        int size = 0;
        if (!chromaprint_finish(ctx) || !chromaprint_get_raw_fingerprint(ctx, &raw, &size) ||
            size <= 0) {
            rc = om_error_set(OM_EINVAL, "no audio fingerprint for %s (audio too short?)", path);
        } else {
            out->items = xmalloc(st_mult((size_t)size, sizeof(uint32_t)));
            memcpy(out->items, raw, (size_t)size * sizeof(uint32_t));
            out->n = (size_t)size;
            out->item_s = (double)chromaprint_get_item_duration_ms(ctx) / 1000.0;
        }
        if (raw)
            chromaprint_dealloc(raw);
    }
    chromaprint_free(ctx);
    return rc;
}

void om_fingerprint_release(om_fingerprint *fp)
{
    free(fp->items);
    *fp = (om_fingerprint){0};
}

void om_fingerprint_compare(const om_fingerprint *a, const om_fingerprint *b, size_t max_shift,
                            size_t min_overlap, double *ber_out, long *offset_out)
{
    double best = 1.0;
    long best_off = 0;
    long ms = (long)max_shift;
    for (long off = -ms; off <= ms; off++) {
        /* b[j] is compared with a[j + off] */
        long j0 = off < 0 ? -off : 0;
        long j1 = (long)b->n;
        if ((long)a->n - off < j1)
            j1 = (long)a->n - off;
        if (j1 - j0 < (long)min_overlap || j1 <= j0)
            continue;
        uint64_t bits = 0;
        for (long j = j0; j < j1; j++)
            bits += (uint64_t)__builtin_popcount(a->items[j + off] ^ b->items[j]);
        double ber = (double)bits / (32.0 * (double)(j1 - j0));
        if (ber < best) {
            best = ber;
            best_off = off;
        }
    }
    *ber_out = best;
    if (offset_out)
        *offset_out = best_off;
}

char *om_fingerprint_to_hex(const om_fingerprint *fp)
{
    static const char hx[] = "0123456789abcdef";
    char *s = xmalloc(st_add(st_mult(fp->n, 8), 1));
    for (size_t i = 0; i < fp->n; i++)
        for (int k = 0; k < 8; k++)
            s[i * 8 + (size_t)k] = hx[(fp->items[i] >> (28 - 4 * k)) & 0xF];
    s[fp->n * 8] = '\0';
    return s;
}

int om_fingerprint_parse(const char *hex, double item_s, om_fingerprint *out)
{
    *out = (om_fingerprint){0};
    size_t len = strlen(hex);
    if (len % 8)
        return om_error_set(OM_EINVAL, "fingerprint: %zu hex digits, not a multiple of 8", len);
    uint32_t *items = xmalloc(st_mult(len / 8 + 1, sizeof(uint32_t)));
    for (size_t i = 0; i < len / 8; i++) {
        uint32_t v = 0;
        for (int k = 0; k < 8; k++) {
            char c = hex[i * 8 + (size_t)k];
            int d = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) {
                free(items);
                return om_error_set(OM_EINVAL, "fingerprint: '%c' at %zu is not a hex digit", c,
                                    i * 8 + (size_t)k);
            }
            v = (v << 4) | (uint32_t)d;
        }
        items[i] = v;
    }
    out->items = items;
    out->n = len / 8;
    out->item_s = item_s;
    return OM_OK;
}
