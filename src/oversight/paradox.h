/*
 * paradox.h: Paradox, the consistency checker: invariants over the store, each violation
 * an incident (incidents.h). Run by the `paradox` job type (governance schedules it) and by
 * `omniva paradox check`.
 *
 * The invariants (incident kinds):
 *   clip_time_invalid     start >= 0, end > start, end inside the video (its rounded
 *                         duration + 0.55 s)
 *   orphan_row            every foreign key's parent exists (posts -> creators, ..., and
 *                         artifacts -> the row their entity_type/entity_id name)
 *   orphan_job            live jobs (ready, delayed, leased, dead) name rows that exist
 *                         (payload creator_id, project_id, post_id, video_id, clip_id, ...)
 *   illegal_transition    every "A -> B" job_logs row (the newest paradox.log_scan) is a
 *                         transition the job type's stage
 *                         declares (its steps in order, the last to DONE, any to ERROR); the
 *                         legal set comes from the registered stages (runtime.h), never a
 *                         list of its own
 *   checksum_duplicate    videos.checksum, and render/export/source_media artifacts, name
 *                         one entity each
 *   published_incomplete  a PUBLISHED clip has a render artifact, a DONE edit job, a
 *                         schedule, a DONE upload job and ledger packets for the clip (select
 *                         and edit), the schedule and the upload
 *   file_missing, file_checksum_mismatch   media files recorded with a SHA-256 (videos,
 *                         artifacts) are there and hash to it; cost-bounded: files changed
 *                         since the last sweep, those with an open mismatch incident, plus
 *                         paradox.file_sample others, at most paradox.file_max per sweep
 *   ledger_broken         the Stardust chain verifies and matches its head
 *   ledger_anchor_mismatch   the ledger still extends the anchor at paradox.anchor (when
 *                         that file exists), checked with HOME/keys/ledger_ed25519.pub.pem
 *
 * The connection. On PostgreSQL, Paradox reads (and writes its incidents and its sweep's
 * `logs` row) through its own connection as the role paradox.role (the read-only
 * omniva_cognition_ro the migrations create: SELECT everywhere, INSERT on incidents, logs and
 * the ledger, UPDATE of an open incident's count/last_seen/evidence), when the login role
 * is a member of it; otherwise through the caller's connection, and the report says so.
 * SQLite has no roles.
 *
 * Each sweep ends with a `logs` row (source "paradox", message "paradox sweep: ..."): its
 * time is "the last sweep" for the next one.
 *
 * Ownership: *report_out is the caller's (json_decref).
 */
#ifndef OMNIVA_OVERSIGHT_PARADOX_H
#define OMNIVA_OVERSIGHT_PARADOX_H

#include <jansson.h>

#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

/* Runs every check and raises its incidents. q may be NULL (orphan_job is then skipped and
 * transitions are checked against the union of all stages). cfg gives the settings and the
 * workspace (relative media paths, the anchor, the key). *report_out:
 *   {"role": "omniva_cognition_ro" | "sqlite" | "<login role> (...)",
 *    "checks": [{"kind": K, "violations": N, "note": "..."?}, ...],
 *    "violations": [{"kind", "severity", "entity_type", "entity_id", "message",
 *                    "evidence", "incident_id", "new"}, ...],
 *    "incidents_new": N, "incidents_bumped": N, "files_checked": N, "files_hashed": N,
 *    "last_sweep": "TS" | null}
 * Returns OM_OK whatever it found; negative when the store cannot be read. */
int om_paradox_run(om_store *s, om_queue *q, const om_config *cfg, json_t **report_out);

#endif
