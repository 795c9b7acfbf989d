/* repost.h: the fetch stage's re-post check (issue 10 section 4). A new post's audio is
 * fingerprinted (media/fingerprint.h) and compared with the fingerprints of the videos
 * already stored; the same audio (re-posted by another creator, re-encoded, trimmed) makes the
 * post a duplicate of that video, so it is clipped once. A new video's fingerprint is stored
 * as an artifact of kind 'audio_fingerprint' (path "chromaprint:<video_id>", no checksum: it
 * names no file; metadata {item_s, seconds, items: 8 hex digits per item}).
 *
 * Settings: fetch.dedupe_audio (on/off), fetch.fingerprint_s (seconds fingerprinted from the
 * start), fetch.dedupe_ber (bit error rate below which two are the same audio),
 * fetch.dedupe_shift_s (largest trim at either end that is still recognised),
 * fetch.dedupe_candidates (newest stored fingerprints compared), fetch.dedupe_min_s (shorter
 * audio is not checked, nor stored: too little evidence).
 *
 * Same audio means: at the best offset the overlap covers at least 10 s and half of the
 * shorter fingerprint, its bit error rate is below fetch.dedupe_ber, and so is that of at
 * least 80% of its 5-second windows (a shared intro or jingle is not a re-post). A known
 * limit: different videos over one and the same soundtrack (a platform's trending sound)
 * are taken for re-posts; turn fetch.dedupe_audio off where creators post such videos.
 *
 * Ownership: om_repost's strings are its own; om_repost_release frees them (safe on a zeroed
 * struct). Errors: the om_error convention (base/error.h). */
#ifndef OMNIVA_STAGES_REPOST_H
#define OMNIVA_STAGES_REPOST_H

#include <jansson.h>

#include "base/common.h"
#include "base/config.h"
#include "base/timeutil.h"
#include "store/store.h"

typedef struct om_repost {
    char *hex;        /* the new media's fingerprint, NULL when it has none */
    double item_s;    /* seconds per fingerprint item */
    double seconds;   /* seconds of audio fingerprinted */
    char *skipped;    /* why there is no fingerprint (no audio, too short, turned off) */
    /* the best match among the stored videos; match[0] == '\0' when none is the same audio */
    char match[OM_UUID_LEN];
    double ber;       /* its bit error rate at the best offset */
    double offset_s;  /* the new media starts this many seconds into the stored one's audio */
    double overlap_s; /* seconds of audio compared at that offset */
    size_t compared;  /* stored fingerprints compared */
    char since[OM_TIME_LEN]; /* om_repost_recheck compares what was stored from here on */
} om_repost;

/* Fingerprints path (whose probe said it has audio: has_audio) and compares it with the
 * newest stored fingerprints. No audio, audio too short for Chromaprint, or the check turned
 * off is not an error: out->skipped says why and out->hex stays NULL. Errors: store errors
 * (OM_EIO ...); a stored fingerprint that does not parse is skipped with a warning. */
int om_repost_check(om_store *s, const om_config *cfg, const char *path, int has_audio,
                    om_repost *out);

/* Inside the caller's transaction, after om_store_lock(s, OM_REPOST_LOCK) (so that two
 * fetches of the same audio on different workers cannot both miss each other): compares r's
 * fingerprint with those stored since om_repost_check ran, and records a match in r as the
 * check would have. Nothing to do when r has no fingerprint or already a match. Errors:
 * store errors. */
int om_repost_recheck(om_store *s, const om_config *cfg, om_repost *r);

#define OM_REPOST_LOCK "omniva.fetch.repost"

/* Inside the caller's transaction: the new video's fingerprint artifact (nothing when
 * r->hex is NULL). Errors: store errors. */
int om_repost_store(om_store *s, const char *video_id, const om_repost *r);

/* The match as ledger evidence (a new reference): {video_id, bit_error_rate, offset_s,
 * overlap_s, compared, threshold}. */
json_t *om_repost_evidence(const om_repost *r, const om_config *cfg);

void om_repost_release(om_repost *r);

#endif
