/*
 * stardust.h: the append-only provenance ledger (`stardust_metadata`).
 *
 * Each packet: stardust_id, entity_type (canonical table name), entity_id, lineage (JSON:
 * parents, trace_id, evidence hashes, ...), decision_chain (JSON, may be null), created_at,
 * seq (position in the chain), prev_hash and packet_hash = SHA-256 over the canonical JSON of
 * (seq, stardust_id, entity_type, entity_id, lineage, decision_chain, created_at, prev_hash).
 * Both databases refuse UPDATE and DELETE on the table.
 *
 * Ownership: json_t arguments are borrowed; *out values are the caller's (json_decref).
 */
#ifndef OMNIVA_LEDGER_STARDUST_H
#define OMNIVA_LEDGER_STARDUST_H

#include <jansson.h>

#include "base/timeutil.h"
#include "store/store.h"

/* Appends a packet. Must run inside an open store transaction (it takes the ledger lock). */
int om_stardust_append(om_store *s, const char *entity_type, const char *entity_id,
                       json_t *lineage, json_t *decision_chain, char id_out[OM_UUID_LEN]);

typedef struct om_stardust_report {
    int64_t packets;      /* packets checked */
    int ok;               /* 1 when the whole chain verifies */
    int64_t bad_seq;      /* first bad packet's seq (-1 when ok) */
    char bad_id[OM_UUID_LEN];
    char reason[256];     /* "hash mismatch (content altered)", "gap before seq 12", ... */
} om_stardust_report;

int om_stardust_verify(om_store *s, om_stardust_report *rep);
/* Packets about one entity (oldest first), as a JSON array of packet objects. */
int om_stardust_for_entity(om_store *s, const char *entity_id, json_t **out);
/* One packet by id (OM_ENOTFOUND). */
int om_stardust_get(om_store *s, const char *stardust_id, json_t **out);

#endif
