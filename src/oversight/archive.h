/*
 * archive.h: log archiving, a governance duty. Old `logs` rows are moved to a gzip-compressed
 * JSON-lines file with a hash chain, then removed from the table; the archive itself is
 * recorded in the ledger, so `omniva ledger verify --archive FILE` can prove it complete and
 * unaltered. (The ledger itself is never archived away: its rows cannot be deleted.)
 *
 * File: GOVERNANCE_ARCHIVE_DIR/logs-<first created_at>-<n>.jsonl.gz, one line per row, oldest
 * first: {"seq": 1.., "row": {log_id, source, level, message, metadata, created_at}, "prev":
 * HASH, "hash": HASH} with hash = SHA-256(prev "\n" the row as compact JSON with sorted keys)
 * and prev of the first line 64 zeros. Written to FILE.partial, fsynced and renamed; then ONE
 * transaction deletes the archived rows and appends the ledger packet (entity log_archives,
 * a new id; lineage {file, name, rows, first_at, last_at, head_hash, sha256}). A run killed
 * before the commit leaves the rows in the table (a stray complete file is overwritten by the
 * next run, whose name is the same); one killed after leaves a consistent archive.
 *
 * Ownership: *report_out is the caller's.
 */
#ifndef OMNIVA_OVERSIGHT_ARCHIVE_H
#define OMNIVA_OVERSIGHT_ARCHIVE_H

#include <jansson.h>
#include <stdint.h>

#include "base/config.h"
#include "store/store.h"

/* Archives logs rows created before before_us (at most 50000 a run: report "more" true when
 * some are left). dir NULL: governance.archive_dir. *report_out: {"rows", "file" (absent when
 * no rows), "head_hash", "sha256", "more"}. */
int om_log_archive(om_store *s, const om_config *cfg, int64_t before_us, const char *dir,
                   json_t **report_out);

/* Verifies an archive file: every line parses, seq counts from 1, each prev is the previous
 * hash and each hash recomputes; and the ledger holds a log_archives packet whose head_hash
 * and rows equal the file's. *report_out: {"ok", "rows", "head_hash", "packet" (its id), "error"}.
 * OM_OK when the check ran (a failed check is ok = false with the first error). */
int om_log_archive_verify(om_store *s, const char *file, json_t **report_out);

#endif
