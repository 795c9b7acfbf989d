/*
 * mstore_backend.h: what a media store backend fills in (mstore.h is what stages call).
 * A versioned vtable with designated initializers, looked up by URI scheme in mstore.c,
 * whose thin wrappers are its only callers. A backend names objects by "name": the file
 * backend an absolute path, the S3 backend the object key within its bucket.
 */
#ifndef OMNIVA_MEDIA_MSTORE_BACKEND_H
#define OMNIVA_MEDIA_MSTORE_BACKEND_H

#include "media/mstore.h"

#define OM_MSTORE_BACKEND_VERSION 1

typedef int (*om_mstore_name_fn)(void *ud, const char *name, int64_t size, int64_t mtime_us);

typedef struct om_mstore_backend {
    int version;
    const char *scheme; /* "file", "s3" */
    /* uri: "file:///abs/dir" or "s3://bucket/prefix"; *st is the backend's */
    int (*open)(void **st, const om_config *cfg, const char *uri);
    void (*close)(void *st);
    /* key relative to the store's root -> name; name -> row; row -> name (NULL: not ours) */
    char *(*name)(void *st, const char *key);
    char *(*row)(void *st, const om_config *cfg, const char *name);
    char *(*from_row)(void *st, const om_config *cfg, const char *row);
    /* the root's name (for keys: name = root + "/" + key) */
    const char *(*root)(void *st);
    int (*put)(void *st, const char *name, const char *local, const char *sha256, int move);
    int (*get)(void *st, const char *name, const char *dest); /* dest: a fresh temp path */
    int (*stat)(void *st, const char *name, om_mstat *out);
    int (*del)(void *st, const char *name);
    int (*list)(void *st, const char *name_prefix, om_mstore_name_fn fn, void *ud);
} om_mstore_backend;

extern const om_mstore_backend om_mstore_file, om_mstore_s3;

#endif
