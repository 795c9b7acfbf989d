/* mstore_file.c: the media store backend of the workspace's media folder (file://). Names
 * are absolute paths; rows are relative to the workspace home, as they always were. */
#include "base/common.h"
#include "base/fsutil.h"
#include "media/mstore_backend.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fstore {
    char *root; /* absolute */
} fstore;

static int f_open(void **st, const om_config *cfg, const char *uri)
{
    (void)cfg;
    const char *dir = uri + strlen("file://");
    if (dir[0] != '/')
        return om_error_set(OM_EINVAL, "media store %s: file:// needs an absolute path", uri);
    int rc = om_mkdirs(dir, 0755);
    if (rc != OM_OK)
        return om_error_wrap(rc, "media store %s", uri);
    char *abs = realpath(dir, NULL);
    if (!abs)
        return om_error_set(OM_EIO, "media store %s: %s", dir, strerror(errno));
    fstore *f = xcalloc(1, sizeof(*f));
    f->root = abs;
    *st = f;
    return OM_OK;
}

static void f_close(void *st)
{
    fstore *f = st;
    if (!f)
        return;
    free(f->root);
    free(f);
}

static char *f_name(void *st, const char *key)
{
    fstore *f = st;
    return xasprintf("%s/%s", f->root, key);
}

static char *f_row(void *st, const om_config *cfg, const char *name)
{
    (void)st;
    return om_config_path_to_row(cfg, name);
}

static char *f_from_row(void *st, const om_config *cfg, const char *row)
{
    (void)st;
    if (strncmp(row, "file://", 7) == 0)
        row += 7;
    else if (strstr(row, "://"))
        return NULL;
    return om_config_path_from_row(cfg, row);
}

static const char *f_root(void *st)
{
    return ((fstore *)st)->root;
}

static int parent_dirs(const char *name)
{
    char *dir = xstrdup(name);
    char *slash = strrchr(dir, '/');
    int rc = OM_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = om_mkdirs(dir, 0755);
    }
    free(dir);
    return rc;
}

static int f_put(void *st, const char *name, const char *local, const char *sha256, int move)
{
    (void)st;
    (void)sha256;
    int rc = parent_dirs(name);
    if (rc != OM_OK)
        return rc;
    if (strcmp(name, local) == 0)
        return OM_OK;
    if (move) {
        if (rename(local, name) == 0)
            return OM_OK;
        if (errno != EXDEV)
            return om_error_set(OM_EIO, "moving %s to %s: %s", local, name, strerror(errno));
    }
    rc = om_copy_file_atomic(local, name);
    if (rc == OM_OK && move)
        unlink(local);
    return rc;
}

static int f_get(void *st, const char *name, const char *dest)
{
    (void)st;
    if (!om_file_exists(name))
        return om_error_set(OM_ENOTFOUND, "%s does not exist", name);
    return om_copy_file_atomic(name, dest);
}

static int f_stat(void *st, const char *name, om_mstat *out)
{
    (void)st;
    memset(out, 0, sizeof(*out));
    struct stat s;
    if (stat(name, &s) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return om_error_set(OM_ENOTFOUND, "%s does not exist", name);
        return om_error_set(OM_EIO, "%s: %s", name, strerror(errno));
    }
    out->size = (int64_t)s.st_size;
    out->mtime_us = (int64_t)s.st_mtim.tv_sec * 1000000 + s.st_mtim.tv_nsec / 1000;
    return OM_OK;
}

static int f_del(void *st, const char *name)
{
    (void)st;
    if (unlink(name) != 0 && errno != ENOENT)
        return om_error_set(OM_EIO, "deleting %s: %s", name, strerror(errno));
    return OM_OK;
}

/* Walks dir; names starting with prefix are reported. Hidden entries (".partial") skipped. */
static int walk(const char *dir, const char *prefix, om_mstore_name_fn fn, void *ud)
{
    DIR *d = opendir(dir);
    if (!d)
        return OM_OK;
    int rc = OM_OK;
    struct dirent *de;
    while (rc == OM_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        struct stat s;
        if (lstat(p, &s) == 0) {
            size_t n = strlen(p), pn = strlen(prefix);
            if (S_ISDIR(s.st_mode)) {
                /* descend only where the prefix can still match */
                if (strncmp(p, prefix, n < pn ? n : pn) == 0)
                    rc = walk(p, prefix, fn, ud);
            } else if (S_ISREG(s.st_mode) && strncmp(p, prefix, pn) == 0) {
                rc = fn(ud, p, (int64_t)s.st_size,
                        (int64_t)s.st_mtim.tv_sec * 1000000 + s.st_mtim.tv_nsec / 1000);
            }
        }
        free(p);
    }
    closedir(d);
    return rc;
}

static int f_list(void *st, const char *name_prefix, om_mstore_name_fn fn, void *ud)
{
    fstore *f = st;
    return walk(f->root, name_prefix, fn, ud);
}

const om_mstore_backend om_mstore_file = {
    .version = OM_MSTORE_BACKEND_VERSION,
    .scheme = "file",
    .open = f_open,
    .close = f_close,
    .name = f_name,
    .row = f_row,
    .from_row = f_from_row,
    .root = f_root,
    .put = f_put,
    .get = f_get,
    .stat = f_stat,
    .del = f_del,
    .list = f_list,
};
