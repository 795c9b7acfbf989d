/*
 * mstore.h: the media store, where source videos, subtitles and renders live, named by URI.
 *
 * [media] store (settings.c) picks the backend: empty or file:// is the workspace's media
 * folder (today's layout; rows hold paths relative to the workspace home, as always),
 * s3://bucket/prefix is any S3-compatible service (rows hold "s3://bucket/prefix/KEY").
 * Workers on machines that share nothing but the database, the queue and the bucket each
 * read objects through their node's cache (mcache.h): om_mstore_local.
 *
 * Keys are relative to the store's root: "sources/<video_id>.mp4", "renders/<clip_id>.mp4".
 * A row is what the database holds; om_mstore_* taking a row accept any row of any backend
 * (an s3:// row is served by the s3 backend even when [media] store is the folder, with the
 * configured endpoint and credentials), so old rows keep working after a switch.
 *
 * Errors: OM_ENOTFOUND (no such object), OM_EINVAL (a bad URI or setting; retrying cannot
 * help), OM_EIO / OM_EUNAVAIL (I/O or the service; the S3 backend already retried 5xx and
 * network errors with backoff), OM_EPERMANENT (refused: credentials, a checksum mismatch).
 * An om_mstore is not thread-safe: one per job or thread. The secret key is never logged.
 */
#ifndef OMNIVA_MEDIA_MSTORE_H
#define OMNIVA_MEDIA_MSTORE_H

#include <stdint.h>

#include "base/config.h"
#include "base/fsutil.h"

typedef struct om_mstore om_mstore;

typedef struct om_mstat {
    int64_t size;
    int64_t mtime_us;                  /* 0 when unknown */
    char sha256[OM_SHA256_HEX_LEN];    /* "" when the store does not record it */
} om_mstat;

/* Opens the store [media] store names (and the node's cache). *out is the caller's
 * (om_mstore_free). OM_EINVAL names a bad URI or a missing credential. */
int om_mstore_open(om_mstore **out, const om_config *cfg);
/* The same for an explicit URI ("" = the media folder). */
int om_mstore_open_uri(om_mstore **out, const om_config *cfg, const char *uri);
/* Closes it and releases the cache files om_mstore_local handed out. NULL is fine. */
void om_mstore_free(om_mstore *ms);

/* 1 when objects live outside this machine (s3), 0 for the media folder. */
int om_mstore_is_remote(const om_mstore *ms);
/* The store's URI without credentials ("file:///abs/media", "s3://bucket/prefix"). Borrowed. */
const char *om_mstore_uri(const om_mstore *ms);
/* 1 when a row names an object of a remote store ("s3://..."). */
int om_mstore_row_is_remote(const char *row);

#define OM_MSTORE_MOVE 1u /* put: the local file is consumed (renamed into place / the cache) */

/* Stores the local file under KEY: whole or not at all (a temp name renamed for the folder;
 * one PUT, or a multipart upload above [media] s3_part_mb that is aborted on failure, for
 * S3: an object is never visible half-written). sha256 (hex) may be NULL: computed. It is
 * sent as x-amz-content-sha256 of every request body and recorded as x-amz-meta-sha256.
 * *row_out (caller frees) is what a row holds. */
int om_mstore_put(om_mstore *ms, const char *key, const char *local, const char *sha256,
                  unsigned flags, char **row_out);
/* Copies the object of ROW into DEST (a temp file renamed at the end), verified against
 * sha256 when given (else against the store's record when it has one). */
int om_mstore_get(om_mstore *ms, const char *row, const char *dest, const char *sha256);
/* Whether ROW's object exists, and its size, mtime and recorded SHA-256 (S3: one HEAD; its
 * x-amz-meta-sha256). OM_ENOTFOUND when it is not there. */
int om_mstore_stat(om_mstore *ms, const char *row, om_mstat *out);
/* Deletes the object (S3: DeleteObject) and drops this node's cache copy of it; one that is
 * not there is OM_OK (deleting is idempotent). Other nodes' cache copies stay until their
 * LRU evicts them. */
int om_mstore_delete(om_mstore *ms, const char *row);
/* Drops this node's cache copy of ROW (unless a process is reading it); the object stays. */
void om_mstore_cache_forget(om_mstore *ms, const char *row);

/* Calls fn for every object of this store whose key starts with PREFIX ("" = all), with its
 * row, size and mtime (S3: ListObjectsV2, [media] s3_list_page keys a page, the pages
 * chained by continuation token; LastModified); fn returning non-zero stops the walk and is
 * returned. */
typedef int (*om_mstore_list_fn)(void *ud, const char *row, int64_t size, int64_t mtime_us);
int om_mstore_list(om_mstore *ms, const char *prefix, om_mstore_list_fn fn, void *ud);

/* A local path to read ROW from: the file itself for the media folder; for a remote row, the
 * node's cached copy (fetched and verified against sha256 when given, on a miss). The file
 * stays valid (the cache will not evict it) until om_mstore_free(ms). *path_out: caller
 * frees the string. */
int om_mstore_local(om_mstore *ms, const char *row, const char *sha256, char **path_out);

/* The row KEY would have in this store (nothing is written). Caller frees. */
char *om_mstore_row_for(om_mstore *ms, const char *key);
/* After a put of LOCAL as ROW on a remote store: moves LOCAL into the node cache (it is hot:
 * the next stage on this node reads it from there). A folder store leaves it alone. */
void om_mstore_cache_adopt(om_mstore *ms, const char *row, const char *local);

/* The key a row names relative to its store's root ("sources/x.mp4"), or NULL when the row
 * is of another store. Caller frees. */
char *om_mstore_key_of(const om_mstore *ms, const char *row);

#endif
