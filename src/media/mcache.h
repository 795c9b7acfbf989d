/*
 * mcache.h: each node's LRU cache of hot media files from a remote store, with a size cap.
 *
 * Layout: DIR/objects/<sha256 of the id>.<ext> (the cached files), DIR/tmp/ (fills in
 * progress, renamed into objects/ when whole), DIR/locks/<hash> (one fill at a time per
 * object), DIR/.lock (eviction). Every worker process of a node shares the folder:
 *   - a reader holds a shared flock on the cached file's descriptor while it uses it; the
 *     evictor takes an exclusive non-blocking flock before it unlinks, so a file in use is
 *     never removed (a reader that lost the race sees the unlinked inode and fetches again);
 *   - a hit sets the file's mtime to now: eviction removes the oldest mtime first ("atime"
 *     kept by hand, since file systems mount noatime/relatime) until the total is under the
 *     cap; a file larger than the cap is still served while in use.
 * An om_mcache is not thread-safe; one per process or job. The shared locks it holds are
 * released by om_mcache_free.
 */
#ifndef OMNIVA_MEDIA_MCACHE_H
#define OMNIVA_MEDIA_MCACHE_H

#include <stdint.h>

typedef struct om_mcache om_mcache;

int om_mcache_open(om_mcache **out, const char *dir, int64_t max_bytes);
void om_mcache_free(om_mcache *c);

/* The cached file of ID (any string, e.g. a row URI) with extension EXT (may be ""), held
 * until om_mcache_free. OM_ENOTFOUND on a miss. *path_out: caller frees. */
int om_mcache_lookup(om_mcache *c, const char *id, const char *ext, char **path_out);
/* On a miss, fill(ud, tmp) writes the object to tmp (a path in DIR/tmp); the whole file is
 * renamed into place, then the cache is trimmed to its cap. One process fills an object at
 * a time; the others wait and find it. */
typedef int (*om_mcache_fill_fn)(void *ud, const char *tmp);
int om_mcache_get(om_mcache *c, const char *id, const char *ext, om_mcache_fill_fn fill, void *ud,
                  char **path_out);
/* Moves (rename, or copy when on another file system) a local file in as ID's copy. */
int om_mcache_adopt(om_mcache *c, const char *id, const char *ext, const char *local);
/* Drops ID's copy (when not in use). */
void om_mcache_forget(om_mcache *c, const char *id, const char *ext);
/* Evicts oldest-first until the total is at most the cap; returns the bytes cached after. */
int64_t om_mcache_trim(om_mcache *c);

#endif
