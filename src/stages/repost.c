/* repost.c: the fetch stage's re-post check: the new media's Chromaprint fingerprint against
 * the stored videos' (repost.h). */
#include "stages/repost.h"

#include <math.h>

#include "media/fingerprint.h"

#define SRC "scraper_worker"

void om_repost_release(om_repost *r)
{
    free(r->hex);
    free(r->skipped);
    *r = (om_repost){0};
}

/* Items of the fingerprint that differ from the item before by more than a few bits: silence
 * or a steady tone gives runs of near-equal items, which would "match" any other silence. */
static double liveliness(const om_fingerprint *fp, size_t from, size_t to)
{
    size_t live = 0, n = 0;
    for (size_t i = from + 1; i < to && i < fp->n; i++, n++)
        live += __builtin_popcount(fp->items[i] ^ fp->items[i - 1]) > 4;
    return n ? (double)live / (double)n : 0;
}

/* The share of 5-second windows of the overlap (b[j] against a[j + off], j in [j0, j1)) whose
 * own bit error rate is below the threshold: a shared intro or jingle over otherwise
 * different talks lowers the average but leaves most windows unmatched. */
static double windows_matched(const om_fingerprint *a, const om_fingerprint *b, long off,
                              long j0, long j1, double threshold)
{
    long w = lround(5.0 / b->item_s), nwin = 0, good = 0;
    if (w < 1)
        w = 1;
    for (long s = j0; s < j1; s += w, nwin++) {
        long e = s + w < j1 ? s + w : j1;
        uint64_t bits = 0;
        for (long j = s; j < e; j++)
            bits += (uint64_t)__builtin_popcount(a->items[j + off] ^ b->items[j]);
        good += (double)bits / (32.0 * (double)(e - s)) < threshold;
    }
    return nwin ? (double)good / (double)nwin : 0;
}

/* Compares fp with the stored fingerprints (those stored from `since` on, when not NULL),
 * keeping the best match below the thresholds in out. */
static int compare_stored(om_store *s, const om_config *cfg, const om_fingerprint *fp,
                          const char *since, om_repost *out)
{
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT entity_id, metadata FROM artifacts WHERE kind = "
                            "'audio_fingerprint' AND entity_type = 'videos' AND "
                            "created_at >= ? ORDER BY created_at DESC LIMIT ?",
                            OM_PARAMS(OM_TEXT(since ? since : "1970-01-01T00:00:00.000000Z"),
                                      OM_INT(om_config_long(cfg, "fetch.dedupe_candidates"))),
                            &r);
    if (rc != OM_OK)
        return om_error_wrap(rc, "reading the stored audio fingerprints");
    double threshold = om_config_double(cfg, "fetch.dedupe_ber");
    double shift_s = om_config_double(cfg, "fetch.dedupe_shift_s");
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *vid = om_rows_get(r, i, 0), *meta = om_rows_get(r, i, 1);
        json_t *m = meta ? json_loads(meta, 0, NULL) : NULL;
        const char *hex = json_string_value(json_object_get(m, "items"));
        double item_s = json_number_value(json_object_get(m, "item_s"));
        om_fingerprint old = {0};
        if (!vid || !hex || item_s <= 0 || fabs(item_s - fp->item_s) > 1e-6 ||
            om_fingerprint_parse(hex, item_s, &old) != OM_OK) {
            om_warn(SRC, "the audio fingerprint of video %s does not parse; skipped",
                    vid ? vid : "?");
            om_error_clear();
            json_decref(m);
            continue;
        }
        json_decref(m);
        out->compared++;
        /* enough in common to tell: 10 s, or half of the shorter, or all of a shorter one */
        size_t shorter = old.n < fp->n ? old.n : fp->n;
        size_t min_overlap = (size_t)lround(10.0 / fp->item_s);
        if (min_overlap < shorter / 2)
            min_overlap = shorter / 2;
        if (min_overlap > shorter)
            min_overlap = shorter;
        double ber;
        long off;
        om_fingerprint_compare(&old, fp, (size_t)lround(shift_s / fp->item_s), min_overlap, &ber,
                               &off);
        if (ber < threshold && ber < out->ber) {
            /* the overlap, in the new media's items: [j0, j1) */
            long j0 = off < 0 ? -off : 0, j1 = (long)fp->n;
            if ((long)old.n - off < j1)
                j1 = (long)old.n - off;
            if (liveliness(fp, (size_t)j0, (size_t)j1) >= 0.3 &&
                windows_matched(&old, fp, off, j0, j1, threshold) >= 0.8) {
                out->ber = ber;
                out->offset_s = (double)off * fp->item_s;
                out->overlap_s = (double)(j1 - j0) * fp->item_s;
                snprintf(out->match, sizeof(out->match), "%s", vid);
            }
        }
        om_fingerprint_release(&old);
    }
    om_rows_free(r);
    return OM_OK;
}

int om_repost_check(om_store *s, const om_config *cfg, const char *path, int has_audio,
                    om_repost *out)
{
    *out = (om_repost){0};
    out->ber = 1.0;
    if (!om_config_bool(cfg, "fetch.dedupe_audio")) {
        out->skipped = xstrdup("fetch.dedupe_audio is off");
        return OM_OK;
    }
    if (!has_audio) {
        out->skipped = xstrdup("no audio track");
        return OM_OK;
    }
    om_fingerprint fp = {0};
    int rc = om_fingerprint_file(path, om_config_double(cfg, "fetch.fingerprint_s"), &fp);
    if (rc != OM_OK) {
        out->skipped = xasprintf("no fingerprint: %s", om_error_msg());
        om_error_clear();
        return OM_OK;
    }
    out->item_s = fp.item_s;
    out->seconds = (double)fp.n * fp.item_s;
    const char *why_not = NULL;
    if (out->seconds < om_config_double(cfg, "fetch.dedupe_min_s"))
        why_not = "audio shorter than fetch.dedupe_min_s: too little to tell a re-post by";
    else if (liveliness(&fp, 0, fp.n) < 0.3) /* silence, a tone: nothing to recognise it by */
        why_not = "audio too uniform to recognise (silence or a steady tone)";
    if (why_not) {
        out->skipped = xstrdup(why_not);
        om_fingerprint_release(&fp);
        return OM_OK;
    }
    out->hex = om_fingerprint_to_hex(&fp);

    /* a recheck looks at what was stored from here on; the margin covers clock skew between
     * this node and the store */
    om_time_iso(out->since, om_now_us() - 300 * (int64_t)1000000);
    rc = compare_stored(s, cfg, &fp, NULL, out);
    om_fingerprint_release(&fp);
    return rc;
}

int om_repost_recheck(om_store *s, const om_config *cfg, om_repost *r)
{
    if (!r->hex || r->match[0] || !r->since[0])
        return OM_OK;
    om_fingerprint fp = {0};
    int rc = om_fingerprint_parse(r->hex, r->item_s, &fp);
    if (rc != OM_OK)
        return om_error_wrap(rc, "the new media's own fingerprint");
    rc = compare_stored(s, cfg, &fp, r->since, r);
    om_fingerprint_release(&fp);
    return rc;
}

int om_repost_store(om_store *s, const char *video_id, const om_repost *r)
{
    if (!r->hex)
        return OM_OK;
    json_t *m = json_pack("{s:f, s:f, s:s}", "item_s", r->item_s, "seconds", r->seconds,
                          "items", r->hex);
    char *meta = json_dumps(m, JSON_COMPACT | OM_JSON_REAL);
    json_decref(m);
    char aid[OM_UUID_LEN], *path = xasprintf("chromaprint:%s", video_id);
    om_uuid4(aid);
    int rc = om_store_exec(s,
                           "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                           "path, size_bytes, metadata, created_at) VALUES (?, "
                           "'audio_fingerprint', 'videos', ?, ?, ?, ?, now()) "
                           "ON CONFLICT (kind, entity_id, path) DO NOTHING",
                           OM_PARAMS(OM_TEXT(aid), OM_TEXT(video_id), OM_TEXT(path),
                                     OM_INT((int64_t)strlen(r->hex) / 2), OM_JSON(meta)),
                           NULL);
    free(path);
    free(meta);
    return rc == OM_OK ? OM_OK : om_error_wrap(rc, "storing the audio fingerprint");
}

json_t *om_repost_evidence(const om_repost *r, const om_config *cfg)
{
    return json_pack("{s:s, s:f, s:f, s:f, s:I, s:f}", "video_id", r->match, "bit_error_rate",
                     r->ber, "offset_s", r->offset_s, "overlap_s", r->overlap_s, "compared",
                     (json_int_t)r->compared, "threshold",
                     om_config_double(cfg, "fetch.dedupe_ber"));
}
