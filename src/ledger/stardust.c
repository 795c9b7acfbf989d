/*
 * stardust.c: the append-only, hash-chained provenance ledger (stardust_metadata).
 *
 * Every packet carries seq (1, 2, 3, ...), prev_hash (the previous packet's packet_hash, or
 * 64 zeros for the first) and packet_hash = SHA-256 of the canonical JSON of its fields.
 * "Canonical" means: the JSON values are parsed and re-serialised with sorted keys and no
 * whitespace, so SQLite's stored text and PostgreSQL's jsonb output (which reorders keys and
 * respaces) hash the same. Timestamps are the store's canonical text on both backends.
 * Appends are serialised by the head row (stardust_head), read FOR UPDATE on PostgreSQL
 * inside the caller's transaction (SQLite's BEGIN IMMEDIATE is exclusive already), so two
 * writers never pick the same seq (seq is also UNIQUE in the schema) and the head moves
 * with the packets: both change in one transaction or neither does.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "ledger/stardust.h"

#include <ctype.h>
#include <stdarg.h>

#define GENESIS_HASH OM_STARDUST_GENESIS
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

/* The head row; for_update locks it until the transaction ends (PostgreSQL; SQLite's
 * write transaction already excludes every other writer). */
static int read_head(om_store *s, int for_update, int64_t *packets, char hash[OM_SHA256_HEX_LEN])
{
    int pg = strcmp(om_store_dialect(s), "postgres") == 0;
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            for_update && pg
                                ? "SELECT packets, head_hash FROM stardust_head WHERE id = 1 "
                                  "FOR UPDATE"
                                : "SELECT packets, head_hash FROM stardust_head WHERE id = 1",
                            NULL, 0, &r);
    if (rc)
        return rc;
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "the ledger head (stardust_head) has no row: "
                                          "deleted, or the schema predates it (omniva migrate)");
    }
    *packets = om_rows_int(r, 0, "packets", -1);
    const char *h = om_rows_getn(r, 0, "head_hash");
    snprintf(hash, OM_SHA256_HEX_LEN, "%s", h ? h : "");
    om_rows_free(r);
    return OM_OK;
}

int om_stardust_head(om_store *s, int64_t *packets_out, char hash_out[OM_SHA256_HEX_LEN])
{
    return read_head(s, 0, packets_out, hash_out);
}

int om_stardust_hash_at(om_store *s, int64_t seq, char hash_out[OM_SHA256_HEX_LEN])
{
    char *h = NULL;
    int rc = om_store_query_value(s, "SELECT packet_hash FROM stardust_metadata WHERE seq = ?",
                                  OM_PARAMS(OM_INT(seq)), &h);
    if (rc == OM_ENOTFOUND)
        return om_error_set(OM_ENOTFOUND, "the ledger has no packet with seq %lld",
                            (long long)seq);
    if (rc)
        return om_error_wrap(rc, "reading ledger packet seq %lld", (long long)seq);
    snprintf(hash_out, OM_SHA256_HEX_LEN, "%s", h ? h : "");
    free(h);
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

    int64_t head = 0;
    char prev[OM_SHA256_HEX_LEN];
    int rc = read_head(s, 1, &head, prev);
    if (rc)
        return om_error_wrap(rc, "reading the ledger head");
    int64_t seq = head + 1;

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
    if (rc == OM_OK) {
        int64_t changed = 0;
        rc = om_store_exec(s,
                           "UPDATE stardust_head SET packets = ?, head_hash = ?, updated_at = ? "
                           "WHERE id = 1",
                           OM_PARAMS(OM_INT(seq), OM_TEXT(hash), OM_TEXT(created)), &changed);
        if (rc == OM_OK && changed != 1)
            rc = om_error_set(OM_ERROR, "ledger head row vanished during the append");
        if (rc)
            om_error_wrap(rc, "moving the ledger head to seq %lld", (long long)seq);
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

/* The end of a chain that verified (rep->packets packets ending in rep->last_hash) against
 * the head read before the walk (head0, -1: no row). Appends may land during the walk, so a
 * table longer than head0 is checked against the head as it is afterwards. */
static int check_head(om_store *s, om_stardust_report *rep, int64_t head0,
                      const char *hash0)
{
    int64_t n = head0;
    char h[OM_SHA256_HEX_LEN];
    snprintf(h, sizeof(h), "%s", hash0);
    if (n >= 0 && rep->packets > n) {
        int rc = read_head(s, 0, &n, h);
        if (rc && rc != OM_ENOTFOUND)
            return om_error_wrap(rc, "reading the ledger head");
        if (rc)
            n = -1;
        om_error_clear();
    }
    rep->head_packets = n;
    snprintf(rep->head_hash, sizeof(rep->head_hash), "%s", n >= 0 ? h : "");
    if (n < 0) {
        report_bad(rep, rep->packets + 1, NULL,
                   "the ledger head (stardust_head) is missing: its row was deleted");
    } else if (rep->packets < n) {
        report_bad(rep, rep->packets + 1, NULL,
                   "truncated: head says %lld packets ending in %s, table has %lld "
                   "(the newest packets were removed)",
                   (long long)n, h, (long long)rep->packets);
    } else if (rep->packets > n) {
        report_bad(rep, n + 1, NULL,
                   "head says %lld packets, table has %lld: packets after the head were "
                   "added outside the ledger",
                   (long long)n, (long long)rep->packets);
    } else if (strcmp(h, rep->last_hash) != 0) {
        report_bad(rep, n, NULL,
                   "head hash %.12s... does not match packet %lld's hash %.12s... (the "
                   "newest packets were replaced)",
                   h, (long long)n, rep->last_hash);
    }
    return OM_OK;
}

int om_stardust_verify(om_store *s, om_stardust_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->ok = 1;
    rep->bad_seq = -1;
    snprintf(rep->last_hash, sizeof(rep->last_hash), "%s", GENESIS_HASH);
    int64_t head0 = -1;
    char hash0[OM_SHA256_HEX_LEN] = "";
    int hrc = read_head(s, 0, &head0, hash0);
    if (hrc && hrc != OM_ENOTFOUND)
        return om_error_wrap(hrc, "reading the ledger head");
    if (hrc) {
        head0 = -1;
        om_error_clear();
    }
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
            snprintf(rep->last_hash, sizeof(rep->last_hash), "%s", stored_hash);
        }
        om_rows_free(rows);
        if (!rep->ok || n < VERIFY_PAGE)
            break;
    }
    if (!rep->ok) {
        rep->head_packets = head0;
        snprintf(rep->head_hash, sizeof(rep->head_hash), "%s", hash0);
        return OM_OK;
    }
    return check_head(s, rep, head0, hash0);
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
