/*
 * lifecycle.h: the data lifecycle of a workspace: backups and restores (backup.c) and
 * retention and cleanup (retention.c). A layer beside src/stages: it needs the store, the
 * ledger and the settings, not the worker runtime; the `retention` job type
 * (stages/retention.c) and the CLI (cmd_backup.c, cmd_retention.c) call it.
 *
 * Backups. A backup is a folder:
 *   manifest.json   what is in it: every file with its size and SHA-256, the dialect, the
 *                   schema version, the ledger head (packets + newest hash) and the row
 *                   count of every table, all read in the snapshot the database copy was
 *                   taken from (so they describe the copy exactly, while workers write on)
 *   omniva.db       SQLite: a consistent copy through the online backup API, or
 *   omniva.pgdump   PostgreSQL: `pg_dump -Fc` of the same snapshot
 *   omniva.conf     the workspace's settings, as they were
 *   media/...       only with with_media: the media folder (partial downloads and renders
 *                   left out), each file checksummed. Without it media files are NOT in the
 *                   backup: back up media/ (or the bucket) on its own.
 * It is written into DIR.partial and renamed to DIR at the very end (after fsync), so a
 * backup killed midway leaves no DIR that looks complete; a later backup to the same DIR
 * removes the stale DIR.partial first. A Redis queue is not part of the backup (its jobs
 * are re-created by the re-scrape; the outbox rows are in the database).
 *
 * Restores go into an EMPTY store only (no rows in any table; `omniva init`'s empty schema
 * is fine) and verify every checksum of the manifest before anything is written; after the
 * load the row counts and the ledger head must equal the manifest's.
 *
 * Retention (the seeds' rules, days from the [retention] settings or a project's own):
 *   raw      a video's source file and its subtitles: deleted retention.raw_days after the
 *            video row was created, unless a clip of it was published (then kept);
 *   derived  renders and caption files of clips: deleted retention.derived_days after they
 *            were made, or sooner once an operator approved (om_retention_approve);
 *   orphan   a file under the media folder, or an object under the prefix of an s3:// media
 *            store, that no row names (videos.file_path, artifacts.path), once older than
 *            retention.orphan_grace_hours by mtime / LastModified (a download or render
 *            about to get its row was written or uploaded minutes before; the deletion
 *            re-checks, under the store's lock, that still no row names it).
 * Logs and the ledger are never deleted (archiving them is not implemented). Exports (the
 * export target's published files) are not touched. Rows are never deleted: the row says
 * its file is gone (videos.file_gone_*, artifacts.gone_*; orphans get an artifacts row of
 * kind 'orphan'). Each deletion is ONE store transaction that marks the row, appends a
 * ledger packet (what: path, table, row; why: the rule; the file's SHA-256) and writes a
 * `logs` row; the file is unlinked after the commit. A run starts with a sweep that unlinks
 * files whose rows are marked gone but which are still there (a run killed between commit
 * and unlink), when the file still has the deleted checksum. So a kill -9 at any point
 * leaves no file deleted without its packet and, after the next run, no packet without its
 * deletion.
 *
 * Rows of an s3:// store go the same way (mark intent in the transaction, DeleteObject, done):
 * a run lists the store's prefix once (ListObjectsV2: the sweep and the orphan plan read
 * it), takes an object's checksum from one HEAD (x-amz-meta-sha256, else its bytes), and
 * DeleteObject also drops this node's cache copy (others age out of their caches). "Done"
 * is the object's absence from the next listing: no column records it, since a migration
 * numbered below the newest would be skipped by a store already past it (store.c applies
 * only versions above the current one). A DeleteObject that fails is an entry in "errors"
 * (the row stays marked; the sweep retries it); a marked row of another bucket or prefix
 * costs the sweep one HEAD per run.
 *
 * Errors: 0 or a negative OM_E* code with a message. Ownership: json_t **out values are the
 * caller's (json_decref); arguments are borrowed.
 */
#ifndef OMNIVA_LIFECYCLE_LIFECYCLE_H
#define OMNIVA_LIFECYCLE_LIFECYCLE_H

#include <jansson.h>
#include <stdint.h>

#include "base/config.h"
#include "store/store.h"

#define OM_BACKUP_MANIFEST "manifest.json"
#define OM_BACKUP_FORMAT "omniva-backup"
#define OM_BACKUP_FORMAT_VERSION 1

typedef struct om_backup_opts {
    const char *to;   /* DIR: must not exist (a stale DIR.partial is replaced) */
    int with_media;   /* also copy the media folder */
} om_backup_opts;

/* Backs up the workspace of cfg whose store is s (see above). OM_EEXISTS when DIR exists;
 * the store's or the file system's error otherwise (DIR.partial is then removed).
 * *manifest_out (may be NULL) gets the manifest written. */
int om_backup_make(om_store *s, const om_config *cfg, const om_backup_opts *o,
                   json_t **manifest_out);

/* Reads DIR/manifest.json and checks every file it lists: there, same size, same SHA-256,
 * no path leaving DIR. OM_EINVAL naming the first bad file (or "not a complete backup" when
 * the manifest is missing); OM_OK with *manifest_out (may be NULL). */
int om_backup_verify(const char *dir, json_t **manifest_out);

/* Whether s holds no rows: *empty_out 1, or 0 with *table_out (caller frees) naming a table
 * that has some (for the refusal). An empty schema counts as empty. */
int om_backup_store_empty(om_store *s, int *empty_out, char **table_out);

/* Loads DIR (verified by om_backup_verify: manifest) into the empty store s, then its media
 * files into media_dir (NULL: skipped), then checks that the row counts and the ledger head
 * equal the manifest's, then applies newer migrations. Refuses a non-empty store (OM_EINVAL
 * naming the table) and a backup of the other dialect. *report_out (may be NULL): what was
 * restored. */
int om_backup_restore(om_store *s, const char *dir, const char *media_dir, json_t *manifest,
                      json_t **report_out);

/* Row counts of every table of s as {"table": n, ...} (the manifest's "rows"). */
int om_backup_row_counts(om_store *s, json_t **out);

typedef struct om_retention_opts {
    int dry_run;     /* plan only: nothing is marked, deleted or written */
    int64_t now_us;  /* 0: the current time (tests pass another) */
} om_retention_opts;

/* Runs retention over the workspace of cfg (home and media folder) whose store is s: the
 * sweep, then the plan, then (unless dry_run) each deletion as described above. *report_out
 * (may be NULL): {"dry_run", "swept": [...], "delete": [{class, path, table, id, reason,
 * age_days, size_bytes, checksum, stardust_id?}], "kept": [{class, path, reason}],
 * "deleted": n, "bytes": n, "errors": [...]}. A file that cannot be deleted is an entry in
 * "errors" and the run goes on; the return is then OM_EIO after the rest is done. */
int om_retention_run(om_store *s, const om_config *cfg, const om_retention_opts *o,
                     json_t **report_out);

/* An operator approves deleting a derived asset before its time: `id` is an artifact id
 * (a render or caption file) or a clip id (all its renders and caption files). `by` names
 * the operator. Writes a ledger packet per artifact. OM_ENOTFOUND when nothing matches,
 * OM_EINVAL for an artifact that is not a derived asset. *count_out: artifacts approved. */
int om_retention_approve(om_store *s, const char *id, const char *by, int *count_out);

/* A project's own retention days (0: use the setting again). Writes a ledger packet.
 * OM_ENOTFOUND for an unknown project (name or id). */
int om_retention_set_project(om_store *s, const char *project, long raw_days,
                             long derived_days);

#endif
