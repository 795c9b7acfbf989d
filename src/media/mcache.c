/* mcache.c: the node's LRU cache of media files (see mcache.h for the layout and the
 * locking rules). */
#include "base/common.h"
#include "base/fsutil.h"
#include "media/mcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct om_mcache {
    char *dir, *objects, *tmp, *locks;
    int64_t max_bytes;
    int *held; /* descriptors with a shared lock, released by om_mcache_free */
    size_t nheld, capheld;
};

int om_mcache_open(om_mcache **out, const char *dir, int64_t max_bytes)
{
    *out = NULL;
    om_mcache *c = xcalloc(1, sizeof(*c));
    c->dir = xstrdup(dir);
    c->objects = xasprintf("%s/objects", dir);
    c->tmp = xasprintf("%s/tmp", dir);
    c->locks = xasprintf("%s/locks", dir);
    c->max_bytes = max_bytes;
    int rc = om_mkdirs(c->objects, 0755);
    if (rc == OM_OK)
        rc = om_mkdirs(c->tmp, 0755);
    if (rc == OM_OK)
        rc = om_mkdirs(c->locks, 0755);
    if (rc != OM_OK) {
        om_mcache_free(c);
        return om_error_wrap(rc, "media cache %s", dir);
    }
    *out = c;
    return OM_OK;
}

void om_mcache_free(om_mcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nheld; i++)
        close(c->held[i]); /* closing drops the shared lock */
    free(c->held);
    free(c->dir);
    free(c->objects);
    free(c->tmp);
    free(c->locks);
    free(c);
}

static char *hash_of(const char *id)
{
    char h[OM_SHA256_HEX_LEN];
    om_sha256_hex(id, strlen(id), h);
    return xstrdup(h);
}

static char *object_path(om_mcache *c, const char *hash, const char *ext)
{
    return ext && *ext ? xasprintf("%s/%s.%s", c->objects, hash, ext)
                       : xasprintf("%s/%s", c->objects, hash);
}

static void hold(om_mcache *c, int fd)
{
    if (c->nheld == c->capheld) {
        c->capheld = c->capheld ? c->capheld * 2 : 8;
        c->held = xrealloc(c->held, c->capheld * sizeof(int));
    }
    c->held[c->nheld++] = fd;
}

/* Opens PATH with a shared lock and checks the name still points at that inode (an evictor
 * may have unlinked it between our open and our lock). 1 = held, 0 = not there. */
static int open_held(om_mcache *c, const char *path)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return 0;
        if (flock(fd, LOCK_SH) != 0) {
            close(fd);
            return 0;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev && a.st_nlink > 0) {
            futimens(fd, NULL); /* the use time eviction goes by */
            hold(c, fd);
            return 1;
        }
        close(fd);
    }
    return 0;
}

int om_mcache_lookup(om_mcache *c, const char *id, const char *ext, char **path_out)
{
    *path_out = NULL;
    char *h = hash_of(id);
    char *p = object_path(c, h, ext);
    free(h);
    if (!open_held(c, p)) {
        free(p);
        return om_error_set(OM_ENOTFOUND, "%s is not cached", id);
    }
    *path_out = p;
    return OM_OK;
}

static int lock_file(const char *path, int how)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (flock(fd, how) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static char *tmp_path(om_mcache *c, const char *hash, const char *ext)
{
    char rnd[OM_UUID_LEN];
    om_uuid4(rnd);
    return xasprintf("%s/%.16s.%ld.%.8s%s%s", c->tmp, hash, (long)getpid(), rnd,
                     ext && *ext ? "." : "", ext ? ext : "");
}

/* Renames tmp into place, trims, and takes the shared hold on it. */
static int install(om_mcache *c, const char *tmp, const char *final)
{
    if (rename(tmp, final) != 0) {
        int rc = om_error_set(OM_EIO, "media cache: rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return rc;
    }
    if (!open_held(c, final))
        return om_error_set(OM_EIO, "media cache: %s vanished after the fill", final);
    om_mcache_trim(c);
    return OM_OK;
}

int om_mcache_get(om_mcache *c, const char *id, const char *ext, om_mcache_fill_fn fill, void *ud,
                  char **path_out)
{
    *path_out = NULL;
    char *h = hash_of(id);
    char *final = object_path(c, h, ext);
    if (open_held(c, final)) {
        *path_out = final;
        free(h);
        return OM_OK;
    }
    char *lk = xasprintf("%s/%s", c->locks, h);
    int lfd = lock_file(lk, LOCK_EX); /* one fill of this object at a time on this node */
    free(lk);
    int rc = OM_OK;
    if (lfd >= 0 && open_held(c, final)) { /* another process filled it while we waited */
        close(lfd);
        *path_out = final;
        free(h);
        return OM_OK;
    }
    char *tmp = tmp_path(c, h, ext);
    rc = fill(ud, tmp);
    if (rc == OM_OK)
        rc = install(c, tmp, final);
    else
        unlink(tmp);
    free(tmp);
    if (lfd >= 0)
        close(lfd);
    free(h);
    if (rc != OM_OK) {
        free(final);
        return rc;
    }
    *path_out = final;
    return OM_OK;
}

int om_mcache_adopt(om_mcache *c, const char *id, const char *ext, const char *local)
{
    char *h = hash_of(id);
    char *final = object_path(c, h, ext);
    char *tmp = tmp_path(c, h, ext);
    int rc = OM_OK;
    if (rename(local, tmp) != 0) {
        if (errno == EXDEV)
            rc = om_copy_file_atomic(local, tmp);
        else
            rc = om_error_set(OM_EIO, "media cache: moving %s in: %s", local, strerror(errno));
        if (rc == OM_OK)
            unlink(local);
    }
    if (rc == OM_OK)
        rc = install(c, tmp, final);
    free(tmp);
    free(final);
    free(h);
    return rc;
}

void om_mcache_forget(om_mcache *c, const char *id, const char *ext)
{
    char *h = hash_of(id);
    char *p = object_path(c, h, ext);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlink(p);
        close(fd);
    }
    free(p);
    free(h);
}

typedef struct entry {
    char *name;
    int64_t size;
    struct timespec mtime;
} entry;

static int by_mtime(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

int64_t om_mcache_trim(om_mcache *c)
{
    char *lk = xasprintf("%s/.lock", c->dir);
    int gfd = lock_file(lk, LOCK_EX); /* one evictor at a time on this node */
    free(lk);
    DIR *d = opendir(c->objects);
    if (!d) {
        if (gfd >= 0)
            close(gfd);
        return 0;
    }
    entry *v = NULL;
    size_t n = 0, cap = 0;
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", c->objects, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                v = xrealloc(v, cap * sizeof(*v));
            }
            v[n].name = p;
            v[n].size = (int64_t)st.st_size;
            v[n].mtime = st.st_mtim;
            n++;
            total += (int64_t)st.st_size;
        } else {
            free(p);
        }
    }
    closedir(d);
    qsort(v, n, sizeof(*v), by_mtime);
    for (size_t i = 0; i < n && total > c->max_bytes; i++) {
        int fd = open(v[i].name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(v[i].name) == 0) {
            total -= v[i].size;
            const char *base = strrchr(v[i].name, '/') + 1;
            char *lock = xasprintf("%s/%.64s", c->locks, base);
            unlink(lock);
            free(lock);
        }
        close(fd); /* in use by a reader: skipped */
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    if (gfd >= 0)
        close(gfd);
    return total;
}
