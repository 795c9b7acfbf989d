/*
 * stardust.h: the append-only provenance ledger (`stardust_metadata`).
 *
 * Each packet: stardust_id, entity_type (canonical table name), entity_id, lineage (JSON:
 * parents, trace_id, evidence hashes, ...), decision_chain (JSON, may be null), created_at,
 * seq (position in the chain), prev_hash and packet_hash = SHA-256 over the canonical JSON of
 * (seq, stardust_id, entity_type, entity_id, lineage, decision_chain, created_at, prev_hash).
 * Both databases refuse UPDATE and DELETE on the table.
 *
 * The head: `stardust_head` (one row, kept apart from the packets) holds the packet count
 * and the newest packet_hash, updated in the same transaction as every append. The
 * databases refuse deleting it and lowering its count, so removing the newest packets
 * (which leaves a chain that is intact as far as it goes) no longer goes unnoticed:
 * om_stardust_verify compares the two. For a check that survives someone who can drop the
 * triggers too, export a signed anchor (ledger/anchor.h) and keep it elsewhere.
 *
 * Concurrency: an append locks the head row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
 * write transaction is exclusive already), so concurrent appends queue up behind one
 * another and the chain stays linear.
 *
 * Ownership: json_t arguments are borrowed; *out values are the caller's (json_decref).
 */
#ifndef OMNIVA_LEDGER_STARDUST_H
#define OMNIVA_LEDGER_STARDUST_H

#include <jansson.h>

#include "base/fsutil.h"
#include "base/timeutil.h"
#include "store/store.h"

/* Appends a packet. Must run inside an open store transaction (it locks the head row until
 * that transaction ends). OM_EINVAL outside one or for bad arguments; the store's error
 * when the head is missing (schema not migrated) or the database refuses the row. */
int om_stardust_append(om_store *s, const char *entity_type, const char *entity_id,
                       json_t *lineage, json_t *decision_chain, char id_out[OM_UUID_LEN]);

#define OM_STARDUST_GENESIS                                                                \
    "0000000000000000000000000000000000000000000000000000000000000000" /* prev of seq 1 */

typedef struct om_stardust_report {
    int64_t packets;      /* packets checked (the verified prefix of the chain) */
    int ok;               /* 1 when the whole chain verifies and matches the head */
    int64_t bad_seq;      /* first bad packet's seq (-1 when ok); for a truncated tail the
                           * first missing seq */
    char bad_id[OM_UUID_LEN]; /* "" when the bad seq has no packet (truncation) */
    char reason[256];     /* "hash mismatch (content altered)", "gap before seq 12",
                           * "truncated: head says 12 packets ending in 3fa0..., table has
                           * 10", ... */
    char last_hash[OM_SHA256_HEX_LEN]; /* packet_hash of the last verified packet (genesis
                                        * when none) */
    int64_t head_packets; /* what stardust_head says (-1 when its row is missing) */
    char head_hash[OM_SHA256_HEX_LEN];
} om_stardust_report;

/* Walks the whole chain and compares its end with the head. OM_OK with rep->ok 0 or 1;
 * negative only when the ledger cannot be read. */
int om_stardust_verify(om_store *s, om_stardust_report *rep);
/* The head row: packet count and newest hash (genesis for an empty ledger). OM_ENOTFOUND
 * when the row is missing. */
int om_stardust_head(om_store *s, int64_t *packets_out, char hash_out[OM_SHA256_HEX_LEN]);
/* packet_hash of the packet at `seq` (OM_ENOTFOUND when there is none). */
int om_stardust_hash_at(om_store *s, int64_t seq, char hash_out[OM_SHA256_HEX_LEN]);
/* Packets about one entity (oldest first), as a JSON array of packet objects. */
int om_stardust_for_entity(om_store *s, const char *entity_id, json_t **out);
/* One packet by id (OM_ENOTFOUND). */
int om_stardust_get(om_store *s, const char *stardust_id, json_t **out);

#endif
