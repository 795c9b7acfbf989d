/*
 * fsutil.h: small file-system helpers and SHA-256 (OpenSSL libcrypto).
 * Strings returned through `char **out` are the caller's to free().
 */
#ifndef OMNIVA_BASE_FSUTIL_H
#define OMNIVA_BASE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#define OM_SHA256_HEX_LEN 65 /* incl. NUL */

int om_mkdirs(const char *path, int mode);                 /* mkdir -p */
int om_read_file(const char *path, size_t cap, char **out, size_t *len_out); /* cap 0: 64 MiB */
/* Writes via a temp file in the same directory + fsync + rename: all or nothing. */
int om_write_file_atomic(const char *path, const void *data, size_t len);
int om_copy_file_atomic(const char *src, const char *dst);
int om_file_exists(const char *path);
int om_file_size(const char *path, int64_t *out);
int om_sha256_file(const char *path, char out[OM_SHA256_HEX_LEN]);
void om_sha256_hex(const void *data, size_t len, char out[OM_SHA256_HEX_LEN]);
int om_rmtree(const char *path);
/* Where temp files go: $TMPDIR when set and not empty, else "/tmp". Not to be freed. */
const char *om_tmpdir(void);

/* Paths stored inside a workspace (omniva.conf, database rows) are relative to its home, so
 * a copied or moved workspace keeps working. Both return a new string (caller frees), NULL
 * only for a NULL path; a NULL or empty home leaves the path unchanged.
 *   om_path_to_home_rel("/ws", "/ws/media/a.mp4") -> "media/a.mp4"; "/ws" -> "."; a path
 *   outside home (or already relative) comes back unchanged.
 *   om_path_from_home("/ws", "media/a.mp4") -> "/ws/media/a.mp4"; "." -> "/ws"; a URI
 *   ("s3://bucket/key") and an absolute
 *   path comes back unchanged. */
char *om_path_to_home_rel(const char *home, const char *path);
char *om_path_from_home(const char *home, const char *path);

#endif
