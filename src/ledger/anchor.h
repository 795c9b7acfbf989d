/*
 * anchor.h: signed checkpoints of the Stardust ledger, so its history can be checked by
 * someone who does not trust the database (or whoever can drop its triggers).
 *
 * An anchor is a small JSON document, meant to be kept away from the database (mailed,
 * committed, printed):
 *   {"format": "omniva-ledger-anchor-v1", "packets": N, "head_hash": "<64 hex>",
 *    "created_at": "<canonical UTC time>", "public_key": "<64 hex: raw Ed25519 key>",
 *    "signature": "<128 hex>"}
 * The signature is Ed25519 (OpenSSL EVP, no digest: Ed25519 hashes internally) over the
 * exact bytes
 *   "omniva-ledger-anchor-v1\npackets N\nhead_hash H\ncreated_at T\npublic_key K\n"
 * (N in decimal, the other values as in the JSON), so no JSON canonicalisation is involved.
 *
 * The key pair lives in the workspace: KEY_DIR/ledger_ed25519.pem (PKCS#8, mode 0600) and
 * KEY_DIR/ledger_ed25519.pub.pem (SubjectPublicKeyInfo), created on first use. Verifying
 * needs only the public key file (an auditor may pass their own copy).
 *
 * Verifying an anchor proves the ledger still extends it: the signature is valid under the
 * trusted public key, the anchor names that key, packet #N exists with hash H, and the whole
 * chain verifies (om_stardust_verify: intact from genesis through N and on to the head).
 *
 * Ownership: *out JSON is the caller's (json_decref); strings are borrowed.
 */
#ifndef OMNIVA_LEDGER_ANCHOR_H
#define OMNIVA_LEDGER_ANCHOR_H

#include <jansson.h>

#include "ledger/stardust.h"
#include "store/store.h"

#define OM_ANCHOR_FORMAT "omniva-ledger-anchor-v1"
#define OM_ANCHOR_KEY_FILE "ledger_ed25519.pem"
#define OM_ANCHOR_PUB_FILE "ledger_ed25519.pub.pem"

/* Makes sure KEY_DIR holds the key pair, creating the folder (0700) and a new pair when
 * there is none. *created_out (may be NULL) is 1 when this call made it. OM_EIO on file
 * errors; OM_EPERMANENT for a private key readable by others or not an Ed25519 key. */
int om_anchor_key_ensure(const char *key_dir, int *created_out);

/* Signs the ledger's current head with the key in KEY_DIR (om_anchor_key_ensure first).
 * Refuses (OM_EINVAL, with the verifier's reason) a ledger that does not verify: an anchor
 * vouches for an intact chain only. */
int om_anchor_create(om_store *s, const char *key_dir, json_t **out);

typedef struct om_anchor_report {
    int ok;                      /* 1: the ledger extends the anchor */
    int64_t packets;             /* the anchor's packet count (-1 when unreadable) */
    char head_hash[OM_SHA256_HEX_LEN];
    char created_at[OM_TIME_LEN];
    char reason[320];            /* why not ok: "signature does not verify ...", ... */
    int ledger_checked;          /* 1 once the ledger was read (the anchor and key were fine) */
    om_stardust_report ledger;   /* the chain as verified now (when ledger_checked) */
} om_anchor_report;

/* Checks `anchor` against the public key in PUB_PATH (PEM) and the ledger. OM_OK with
 * rep->ok 0 or 1 for every verdict about the anchor or the ledger (a malformed or altered
 * anchor is a verdict); negative when the key file or the ledger cannot be read. */
int om_anchor_verify(om_store *s, const json_t *anchor, const char *pub_path,
                     om_anchor_report *rep);

#endif
