/* fingerprint.h: audio fingerprints (Chromaprint's raw 32-bit items) of a media file and their
 * comparison by alignment, to recognise the same video re-posted by another creator,
 * re-encoded or trimmed (issue 10 section 4).
 *
 * Ownership: om_fingerprint's items are the caller's; om_fingerprint_release frees them (safe
 * on a zeroed struct). Thread safety: independent calls may run concurrently. */
#ifndef OMNIVA_MEDIA_FINGERPRINT_H
#define OMNIVA_MEDIA_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#define OM_FP_RATE 11025 /* the sample rate Chromaprint works at internally */
/* A bit error rate below this at the best offset is the same audio: a re-encoded, trimmed
 * copy measures ~0.07, unrelated speech ~0.37 at its best of 241 offsets (test_fingerprint). */
#define OM_FP_MATCH_BER 0.2

typedef struct om_fingerprint {
    uint32_t *items; /* raw fingerprint, one item per ~0.124 s */
    size_t n;
    double item_s;   /* seconds per item */
} om_fingerprint;

/* Fingerprints the best audio stream of path, decoded through media/audio.h in windows of
 * a minute (the whole file is never held in memory), up to max_s seconds (0 = all).
 * Errors: those of om_audio_decode (OM_ENOTFOUND, OM_EINVAL "no audio track ..."),
 * OM_EINVAL when Chromaprint yields no fingerprint (audio too short: under ~3 s). */
int om_fingerprint_file(const char *path, double max_s, om_fingerprint *out);

void om_fingerprint_release(om_fingerprint *fp);

/* The best alignment of b against a: over every offset (b shifted by -max_shift..max_shift
 * items) with at least min_overlap common items, the lowest bit error rate (differing bits /
 * compared bits, 0 = identical, ~0.5 = unrelated). *ber_out is 1.0 and *offset_out 0 when
 * no offset has enough overlap. offset_out may be NULL; offset > 0 means b starts that many
 * items into a. */
void om_fingerprint_compare(const om_fingerprint *a, const om_fingerprint *b, size_t max_shift,
                            size_t min_overlap, double *ber_out, long *offset_out);

/* Base64-free text form for the store: items as 8 hex digits each (caller frees), and back.
 * om_fingerprint_parse: OM_EINVAL on a length not a multiple of 8 or a non-hex digit. */
char *om_fingerprint_to_hex(const om_fingerprint *fp);
int om_fingerprint_parse(const char *hex, double item_s, om_fingerprint *out);

#endif
