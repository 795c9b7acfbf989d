/*
 * stardust.c: the append-only, hash-chained provenance ledger (stardust_metadata).
 *
 * Every packet carries seq (1, 2, 3, ...), prev_hash (the previous packet's packet_hash, or
 * 64 zeros for the first) and packet_hash = SHA-256 of the canonical JSON of its fields.
 * "Canonical" means: the JSON values are parsed and re-serialised with sorted keys and no
 * whitespace, so SQLite's stored text and PostgreSQL's jsonb output (which reorders keys and
 * respaces) hash the same. Timestamps are the store's canonical text on both backends.
 * Appends are serialised by om_store_lock(s, "stardust") inside the caller's transaction, so
 * two writers never pick the same seq (seq is also UNIQUE in the schema).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "ledger/stardust.h"

#include <ctype.h>
#include <stdarg.h>

#define GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define VERIFY_PAGE 500 /* keep in step with the LIMIT in om_stardust_verify */

#define PACKET_COLS                                                                        \
    "stardust_id, entity_type, entity_id, lineage, decision_chain, created_at, seq, "     \
    "prev_hash, packet_hash"

/* Canonical text of a JSON value as it will read back from either database: serialise,
 * parse again, serialise with sorted keys. NULL value -> "null". Caller frees. */
static char *canonical_json(json_t *v)
{
    if (!v)
        return xstrdup("null");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return NULL;
    json_error_t jerr;
    json_t *back = json_loads(s, JSON_DECODE_ANY, &jerr);
    free(s);
    if (!back)
        return NULL;
    s = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(back);
    return s;
}

/* packet_hash over the canonical JSON object of the packet fields. lineage/decision_chain
 * are given as stored JSON text (decision_chain may be NULL). Returns OM_EINVAL when the
 * stored JSON does not parse. */
static int compute_hash(int64_t seq, const char *id, const char *entity_type,
                        const char *entity_id, const char *lineage_text, const char *dc_text,
                        const char *created_at, const char *prev_hash,
                        char out[OM_SHA256_HEX_LEN])
{
    json_error_t jerr;
    json_t *lineage = json_loads(lineage_text ? lineage_text : "null", JSON_DECODE_ANY, &jerr);
    if (!lineage)
        return om_error_set(OM_EINVAL, "lineage is not valid JSON: %s", jerr.text);
    json_t *dc = json_loads(dc_text ? dc_text : "null", JSON_DECODE_ANY, &jerr);
    if (!dc) {
        json_decref(lineage);
        return om_error_set(OM_EINVAL, "decision_chain is not valid JSON: %s", jerr.text);
    }
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(seq));
    json_object_set_new(o, "stardust_id", json_string(id ? id : ""));
    json_object_set_new(o, "entity_type", json_string(entity_type ? entity_type : ""));
    json_object_set_new(o, "entity_id", json_string(entity_id ? entity_id : ""));
    json_object_set_new(o, "lineage", lineage);
    json_object_set_new(o, "decision_chain", dc);
    json_object_set_new(o, "created_at", json_string(created_at ? created_at : ""));
    json_object_set_new(o, "prev_hash", json_string(prev_hash ? prev_hash : ""));
    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    if (!text)
        return om_error_set(OM_EINVAL, "packet cannot be serialised (invalid UTF-8?)");
    om_sha256_hex(text, strlen(text), out);
    free(text);
    return OM_OK;
}

int om_stardust_append(om_store *s, const char *entity_type, const char *entity_id,
                       json_t *lineage, json_t *decision_chain, char id_out[OM_UUID_LEN])
{
    if (!om_store_in_txn(s))
        return om_error_set(OM_EINVAL, "stardust append needs an open store transaction");
    if (!entity_type || !*entity_type)
        return om_error_set(OM_EINVAL, "stardust packet needs an entity_type");
    if (!entity_id || !om_uuid_valid(entity_id))
        return om_error_set(OM_EINVAL, "stardust entity_id '%s' is not a UUID",
                            entity_id ? entity_id : "(null)");
    if (lineage && !json_is_object(lineage))
        return om_error_set(OM_EINVAL, "stardust lineage must be a JSON object");

    char eid[OM_UUID_LEN];
    for (size_t i = 0; i < OM_UUID_LEN; i++)
        eid[i] = (char)tolower((unsigned char)entity_id[i]);

    int rc = om_store_lock(s, "stardust");
    if (rc)
        return om_error_wrap(rc, "locking the ledger");

    om_rows *last = NULL;
    rc = om_store_query(s,
                        "SELECT seq, packet_hash FROM stardust_metadata ORDER BY seq DESC LIMIT 1",
                        NULL, 0, &last);
    if (rc)
        return om_error_wrap(rc, "reading the ledger head");
    int64_t seq = 1;
    char prev[OM_SHA256_HEX_LEN] = GENESIS_HASH;
    if (om_rows_count(last) > 0) {
        seq = om_rows_int(last, 0, "seq", 0) + 1;
        const char *h = om_rows_getn(last, 0, "packet_hash");
        snprintf(prev, sizeof(prev), "%s", h ? h : "");
    }
    om_rows_free(last);

    json_t *empty = NULL;
    if (!lineage)
        lineage = empty = json_object();
    char *lin_text = canonical_json(lineage);
    char *dc_text = decision_chain ? canonical_json(decision_chain) : NULL;
    json_decref(empty);
    if (!lin_text || (decision_chain && !dc_text)) {
        free(lin_text);
        free(dc_text);
        return om_error_set(OM_EINVAL, "stardust packet JSON cannot be serialised");
    }

    char id[OM_UUID_LEN], created[OM_TIME_LEN], hash[OM_SHA256_HEX_LEN];
    om_uuid4(id);
    om_time_iso(created, om_now_us());
    rc = compute_hash(seq, id, entity_type, eid, lin_text, dc_text, created, prev, hash);
    if (rc == OM_OK) {
        rc = om_store_exec(s,
                           "INSERT INTO stardust_metadata (" PACKET_COLS ") "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           OM_PARAMS(OM_TEXT(id), OM_TEXT(entity_type), OM_TEXT(eid),
                                     OM_JSON(lin_text), dc_text ? OM_JSON(dc_text) : OM_NULL,
                                     OM_TEXT(created), OM_INT(seq), OM_TEXT(prev),
                                     OM_TEXT(hash)),
                           NULL);
        if (rc)
            om_error_wrap(rc, "appending ledger packet seq %lld", (long long)seq);
    }
    free(lin_text);
    free(dc_text);
    if (rc == OM_OK && id_out)
        memcpy(id_out, id, OM_UUID_LEN);
    return rc;
}

static void report_bad(om_stardust_report *rep, int64_t seq, const char *id, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static void report_bad(om_stardust_report *rep, int64_t seq, const char *id, const char *fmt,
                       ...)
{
    rep->ok = 0;
    rep->bad_seq = seq;
    snprintf(rep->bad_id, sizeof(rep->bad_id), "%s", id ? id : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
    va_end(ap);
}

int om_stardust_verify(om_store *s, om_stardust_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->ok = 1;
    rep->bad_seq = -1;
    int64_t prev_seq = 0;
    char prev_hash[OM_SHA256_HEX_LEN] = GENESIS_HASH;
    for (;;) {
        om_rows *rows = NULL;
        int rc = om_store_query(s,
                                "SELECT " PACKET_COLS " FROM stardust_metadata WHERE seq > ? "
                                "ORDER BY seq LIMIT 500",
                                OM_PARAMS(OM_INT(prev_seq)), &rows);
        if (rc)
            return om_error_wrap(rc, "reading the ledger");
        size_t n = om_rows_count(rows);
        for (size_t i = 0; i < n && rep->ok; i++) {
            int64_t seq = om_rows_int(rows, i, "seq", -1);
            const char *id = om_rows_getn(rows, i, "stardust_id");
            const char *stored_prev = om_rows_getn(rows, i, "prev_hash");
            const char *stored_hash = om_rows_getn(rows, i, "packet_hash");
            if (seq != prev_seq + 1) {
                if (prev_seq == 0)
                    report_bad(rep, seq, id,
                               "chain does not start at seq 1 (first packet has seq %lld: "
                               "packets removed)",
                               (long long)seq);
                else
                    report_bad(rep, seq, id,
                               "gap before seq %lld (seq %lld..%lld missing: packets removed)",
                               (long long)seq, (long long)(prev_seq + 1),
                               (long long)(seq - 1));
                break;
            }
            char hash[OM_SHA256_HEX_LEN];
            int hrc = compute_hash(seq, id, om_rows_getn(rows, i, "entity_type"),
                                   om_rows_getn(rows, i, "entity_id"),
                                   om_rows_getn(rows, i, "lineage"),
                                   om_rows_getn(rows, i, "decision_chain"),
                                   om_rows_getn(rows, i, "created_at"), stored_prev, hash);
            if (hrc) {
                report_bad(rep, seq, id, "%s", om_error_msg());
                break;
            }
            if (!stored_hash || strcmp(hash, stored_hash) != 0) {
                report_bad(rep, seq, id, "hash mismatch (content altered)");
                break;
            }
            if (!stored_prev || strcmp(stored_prev, prev_hash) != 0) {
                report_bad(rep, seq, id,
                           "prev_hash does not match the packet before (seq %lld altered, "
                           "replaced or chain relinked)",
                           (long long)prev_seq);
                break;
            }
            rep->packets++;
            prev_seq = seq;
            snprintf(prev_hash, sizeof(prev_hash), "%s", stored_hash);
        }
        om_rows_free(rows);
        if (!rep->ok || n < VERIFY_PAGE)
            break;
    }
    return OM_OK;
}

/* One packet row as a JSON object (lineage/decision_chain parsed). */
static json_t *packet_json(const om_rows *r, size_t i)
{
    json_t *o = json_object();
    const char *text_cols[] = {"stardust_id", "entity_type", "entity_id", "created_at",
                               "prev_hash", "packet_hash"};
    for (size_t k = 0; k < OM_ARRAY_LEN(text_cols); k++) {
        const char *v = om_rows_getn(r, i, text_cols[k]);
        json_object_set_new(o, text_cols[k], v ? json_string(v) : json_null());
    }
    json_object_set_new(o, "seq", json_integer(om_rows_int(r, i, "seq", 0)));
    const char *json_cols[] = {"lineage", "decision_chain"};
    for (size_t k = 0; k < OM_ARRAY_LEN(json_cols); k++) {
        const char *v = om_rows_getn(r, i, json_cols[k]);
        json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
        json_object_set_new(o, json_cols[k], j ? j : (v ? json_string(v) : json_null()));
    }
    return o;
}

int om_stardust_for_entity(om_store *s, const char *entity_id, json_t **out)
{
    *out = NULL;
    if (!entity_id || !om_uuid_valid(entity_id))
        return om_error_set(OM_EINVAL, "entity id '%s' is not a UUID",
                            entity_id ? entity_id : "(null)");
    char eid[OM_UUID_LEN];
    for (size_t i = 0; i < OM_UUID_LEN; i++)
        eid[i] = (char)tolower((unsigned char)entity_id[i]);
    om_rows *rows = NULL;
    int rc = om_store_query(s,
                            "SELECT " PACKET_COLS " FROM stardust_metadata WHERE entity_id = ? "
                            "ORDER BY seq",
                            OM_PARAMS(OM_TEXT(eid)), &rows);
    if (rc)
        return om_error_wrap(rc, "reading ledger packets of %s", eid);
    json_t *arr = json_array();
    for (size_t i = 0; i < om_rows_count(rows); i++)
        json_array_append_new(arr, packet_json(rows, i));
    om_rows_free(rows);
    *out = arr;
    return OM_OK;
}

int om_stardust_get(om_store *s, const char *stardust_id, json_t **out)
{
    *out = NULL;
    if (!stardust_id || !om_uuid_valid(stardust_id))
        return om_error_set(OM_EINVAL, "stardust id '%s' is not a UUID",
                            stardust_id ? stardust_id : "(null)");
    char sid[OM_UUID_LEN];
    for (size_t i = 0; i < OM_UUID_LEN; i++)
        sid[i] = (char)tolower((unsigned char)stardust_id[i]);
    om_rows *rows = NULL;
    int rc = om_store_query(s,
                            "SELECT " PACKET_COLS " FROM stardust_metadata WHERE stardust_id = ?",
                            OM_PARAMS(OM_TEXT(sid)), &rows);
    if (rc)
        return om_error_wrap(rc, "reading ledger packet %s", sid);
    if (om_rows_count(rows) == 0) {
        om_rows_free(rows);
        return om_error_set(OM_ENOTFOUND, "no ledger packet %s", sid);
    }
    *out = packet_json(rows, 0);
    om_rows_free(rows);
    return OM_OK;
}
