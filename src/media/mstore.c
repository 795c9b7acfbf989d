/* mstore.c: the media store's thin wrappers (mstore.h): backend lookup by URI scheme, rows
 * of any backend, the node cache in front of remote objects. The only callers of the
 * backend vtables (mstore_backend.h). */
#include "base/common.h"
#include "base/fsutil.h"
#include "media/mcache.h"
#include "media/mstore_backend.h"

#include <errno.h>
#include <unistd.h>

#define MAX_OTHER 4

typedef struct mbe {
    const om_mstore_backend *be;
    void *st;
    char *uri;
} mbe;

struct om_mstore {
    const om_config *cfg;
    mbe main;              /* the configured store */
    mbe other[MAX_OTHER];  /* stores of rows that are not the configured one's */
    size_t nother;
    mbe file;              /* the media folder (file rows while main is remote) */
    om_mcache *cache;      /* remote stores only */
};

static const om_mstore_backend *const backends[] = {&om_mstore_file, &om_mstore_s3};

static const om_mstore_backend *find_backend(const char *uri)
{
    for (size_t i = 0; i < OM_ARRAY_LEN(backends); i++) {
        size_t n = strlen(backends[i]->scheme);
        if (!strncmp(uri, backends[i]->scheme, n) && !strncmp(uri + n, "://", 3))
            return backends[i];
    }
    return NULL;
}

static int mbe_open(mbe *m, const om_config *cfg, const char *uri)
{
    m->be = find_backend(uri);
    if (!m->be)
        return om_error_set(OM_EINVAL, "media store '%s': not file:// or s3://bucket/prefix",
                            uri);
    OM_ASSERT(m->be->version == OM_MSTORE_BACKEND_VERSION);
    int rc = m->be->open(&m->st, cfg, uri);
    if (rc != OM_OK) {
        m->be = NULL;
        return om_error_wrap(rc, "opening media store %s", uri);
    }
    m->uri = xstrdup(uri);
    return OM_OK;
}

static void mbe_close(mbe *m)
{
    if (m->be)
        m->be->close(m->st);
    free(m->uri);
    memset(m, 0, sizeof(*m));
}

static char *folder_uri(const om_config *cfg)
{
    const char *dir = om_config_media_dir(cfg);
    return xasprintf("file://%s", dir && *dir ? dir : ".");
}

int om_mstore_open_uri(om_mstore **out, const om_config *cfg, const char *uri)
{
    *out = NULL;
    om_mstore *ms = xcalloc(1, sizeof(*ms));
    ms->cfg = cfg;
    char *furi = folder_uri(cfg);
    int rc = furi[7] == '/' ? OM_OK
                            : om_error_set(OM_EINVAL, "media dir %s is not absolute", furi + 7);
    if (rc == OM_OK)
        rc = mbe_open(&ms->file, cfg, furi);
    if (rc == OM_OK && uri && *uri && strncmp(uri, "file://", 7) != 0)
        rc = mbe_open(&ms->main, cfg, uri);
    else if (rc == OM_OK)
        rc = mbe_open(&ms->main, cfg, uri && *uri ? uri : furi);
    free(furi);
    if (rc == OM_OK && ms->main.be != &om_mstore_file) {
        const char *dir = om_config_str(cfg, "media.cache_dir");
        int64_t cap = (int64_t)om_config_long(cfg, "media.cache_max_mb") * 1024 * 1024;
        rc = om_mcache_open(&ms->cache, dir, cap);
    }
    if (rc != OM_OK) {
        om_mstore_free(ms);
        return rc;
    }
    *out = ms;
    return OM_OK;
}

int om_mstore_open(om_mstore **out, const om_config *cfg)
{
    return om_mstore_open_uri(out, cfg, om_config_str(cfg, "media.store"));
}

void om_mstore_free(om_mstore *ms)
{
    if (!ms)
        return;
    om_mcache_free(ms->cache);
    mbe_close(&ms->main);
    mbe_close(&ms->file);
    for (size_t i = 0; i < ms->nother; i++)
        mbe_close(&ms->other[i]);
    free(ms);
}

int om_mstore_is_remote(const om_mstore *ms)
{
    return ms->main.be != &om_mstore_file;
}

const char *om_mstore_uri(const om_mstore *ms)
{
    return ms->main.uri;
}

int om_mstore_row_is_remote(const char *row)
{
    return row && strncmp(row, "s3://", 5) == 0;
}

/* The backend serving ROW and the row's name in it (caller frees *name). */
static int resolve(om_mstore *ms, const char *row, mbe **m_out, char **name)
{
    *name = NULL;
    if (!row || !*row)
        return om_error_set(OM_EINVAL, "empty media row");
    mbe *cand[2 + MAX_OTHER];
    size_t n = 0;
    cand[n++] = &ms->main;
    if (ms->file.be && ms->main.be != &om_mstore_file)
        cand[n++] = &ms->file;
    for (size_t i = 0; i < ms->nother; i++)
        cand[n++] = &ms->other[i];
    for (size_t i = 0; i < n; i++) {
        char *nm = cand[i]->be->from_row(cand[i]->st, ms->cfg, row);
        if (nm) {
            *m_out = cand[i];
            *name = nm;
            return OM_OK;
        }
    }
    if (ms->main.be == &om_mstore_file && !strstr(row, "://")) {
        *m_out = &ms->main;
        *name = om_config_path_from_row(ms->cfg, row);
        return OM_OK;
    }
    /* a row of another bucket: open it with the same settings */
    if (!om_mstore_row_is_remote(row))
        return om_error_set(OM_EINVAL, "media row '%s': no store serves it", row);
    if (ms->nother == MAX_OTHER)
        return om_error_set(OM_EINVAL, "media row '%s': too many buckets", row);
    const char *b = row + 5;
    char *uri = xasprintf("s3://%.*s", (int)strcspn(b, "/"), b);
    mbe *o = &ms->other[ms->nother];
    int rc = mbe_open(o, ms->cfg, uri);
    free(uri);
    if (rc != OM_OK)
        return rc;
    ms->nother++;
    if (!ms->cache) {
        const char *dir = om_config_str(ms->cfg, "media.cache_dir");
        int64_t cap = (int64_t)om_config_long(ms->cfg, "media.cache_max_mb") * 1024 * 1024;
        rc = om_mcache_open(&ms->cache, dir, cap);
        if (rc != OM_OK)
            return rc;
    }
    *m_out = o;
    *name = o->be->from_row(o->st, ms->cfg, row);
    return *name ? OM_OK : om_error_set(OM_EINVAL, "media row '%s' has no key", row);
}

static const char *ext_of(const char *row)
{
    const char *slash = strrchr(row, '/');
    const char *dot = strrchr(slash ? slash : row, '.');
    return dot && strlen(dot + 1) <= 8 ? dot + 1 : "";
}

int om_mstore_put(om_mstore *ms, const char *key, const char *local, const char *sha256,
                  unsigned flags, char **row_out)
{
    *row_out = NULL;
    if (!key || !*key || key[0] == '/' || strstr(key, ".."))
        return om_error_set(OM_EINVAL, "media key '%s' must be relative, without '..'",
                            key ? key : "");
    mbe *m = &ms->main;
    char *name = m->be->name(m->st, key);
    int move = (flags & OM_MSTORE_MOVE) != 0;
    int rc = m->be->put(m->st, name, local, sha256, move);
    if (rc == OM_OK) {
        char *row = m->be->row(m->st, ms->cfg, name);
        if (ms->cache && move) { /* uploaded: the local copy is hot, keep it in the cache */
            if (om_mcache_adopt(ms->cache, row, ext_of(row), local) != OM_OK) {
                om_error_clear();
                unlink(local);
            }
        }
        *row_out = row;
    }
    free(name);
    if (rc != OM_OK)
        return om_error_wrap(rc, "storing %s in %s", key, m->uri);
    return OM_OK;
}

static int verify(const char *path, const char *sha256, const char *row)
{
    if (!sha256 || !*sha256)
        return OM_OK;
    char have[OM_SHA256_HEX_LEN];
    int rc = om_sha256_file(path, have);
    if (rc == OM_OK && strcmp(have, sha256) != 0)
        rc = om_error_set(OM_EIO, "%s: SHA-256 %.12s, the row records %.12s", row, have,
                          sha256);
    return rc;
}

int om_mstore_get(om_mstore *ms, const char *row, const char *dest, const char *sha256)
{
    mbe *m = NULL;
    char *name = NULL;
    int rc = resolve(ms, row, &m, &name);
    if (rc != OM_OK)
        return rc;
    char rnd[OM_UUID_LEN];
    char *tmp = xasprintf("%s.part.%.8s", dest, om_uuid4(rnd));
    rc = m->be->get(m->st, name, tmp);
    if (rc == OM_OK)
        rc = verify(tmp, sha256, row);
    if (rc == OM_OK && rename(tmp, dest) != 0)
        rc = om_error_set(OM_EIO, "rename %s: %s", tmp, strerror(errno));
    if (rc != OM_OK)
        unlink(tmp);
    free(tmp);
    free(name);
    return rc;
}

int om_mstore_stat(om_mstore *ms, const char *row, om_mstat *out)
{
    memset(out, 0, sizeof(*out));
    mbe *m = NULL;
    char *name = NULL;
    int rc = resolve(ms, row, &m, &name);
    if (rc == OM_OK)
        rc = m->be->stat(m->st, name, out);
    free(name);
    return rc;
}

int om_mstore_delete(om_mstore *ms, const char *row)
{
    mbe *m = NULL;
    char *name = NULL;
    int rc = resolve(ms, row, &m, &name);
    if (rc == OM_OK)
        rc = m->be->del(m->st, name);
    if (rc == OM_OK && ms->cache && m->be != &om_mstore_file)
        om_mcache_forget(ms->cache, row, ext_of(row));
    free(name);
    return rc;
}

void om_mstore_cache_forget(om_mstore *ms, const char *row)
{
    if (ms->cache && om_mstore_row_is_remote(row))
        om_mcache_forget(ms->cache, row, ext_of(row));
}

typedef struct list_ud {
    om_mstore *ms;
    mbe *m;
    om_mstore_list_fn fn;
    void *ud;
} list_ud;

static int list_one(void *ud, const char *name, int64_t size, int64_t mtime_us)
{
    list_ud *l = ud;
    char *row = l->m->be->row(l->m->st, l->ms->cfg, name);
    int rc = l->fn(l->ud, row, size, mtime_us);
    free(row);
    return rc;
}

int om_mstore_list(om_mstore *ms, const char *prefix, om_mstore_list_fn fn, void *ud)
{
    mbe *m = &ms->main;
    const char *root = m->be->root(m->st);
    char *np = *root ? xasprintf("%s/%s", root, prefix ? prefix : "")
                     : xstrdup(prefix ? prefix : "");
    list_ud l = {ms, m, fn, ud};
    int rc = m->be->list(m->st, np, list_one, &l);
    free(np);
    return rc;
}

typedef struct fill_ud {
    om_mstore *ms;
    mbe *m;
    const char *name, *row, *sha256;
} fill_ud;

static int fill_one(void *ud, const char *tmp)
{
    fill_ud *f = ud;
    int rc = f->m->be->get(f->m->st, f->name, tmp);
    if (rc == OM_OK)
        rc = verify(tmp, f->sha256, f->row);
    return rc;
}

int om_mstore_local(om_mstore *ms, const char *row, const char *sha256, char **path_out)
{
    *path_out = NULL;
    mbe *m = NULL;
    char *name = NULL;
    int rc = resolve(ms, row, &m, &name);
    if (rc != OM_OK)
        return rc;
    if (m->be == &om_mstore_file) {
        if (!om_file_exists(name)) {
            rc = om_error_set(OM_ENOTFOUND, "%s does not exist", name);
            free(name);
            return rc;
        }
        *path_out = name;
        return OM_OK;
    }
    fill_ud f = {ms, m, name, row, sha256};
    rc = om_mcache_get(ms->cache, row, ext_of(row), fill_one, &f, path_out);
    free(name);
    if (rc != OM_OK)
        return om_error_wrap(rc, "reading %s through the media cache", row);
    return OM_OK;
}

char *om_mstore_key_of(const om_mstore *ms, const char *row)
{
    const mbe *cand[2] = {&ms->main, &ms->file};
    for (size_t i = 0; i < 2; i++) {
        const mbe *m = cand[i];
        if (!m->be)
            continue;
        char *name = m->be->from_row(m->st, ms->cfg, row);
        if (!name)
            continue;
        const char *root = m->be->root(m->st);
        size_t rl = strlen(root);
        char *key = NULL;
        if (rl == 0)
            key = xstrdup(name);
        else if (!strncmp(name, root, rl) && name[rl] == '/')
            key = xstrdup(name + rl + 1);
        free(name);
        if (key)
            return key;
    }
    return NULL;
}

char *om_mstore_row_for(om_mstore *ms, const char *key)
{
    char *name = ms->main.be->name(ms->main.st, key);
    char *row = ms->main.be->row(ms->main.st, ms->cfg, name);
    free(name);
    return row;
}

void om_mstore_cache_adopt(om_mstore *ms, const char *row, const char *local)
{
    if (!ms->cache || !om_mstore_row_is_remote(row) || !om_file_exists(local))
        return;
    if (om_mcache_adopt(ms->cache, row, ext_of(row), local) != OM_OK) {
        om_warn("media", "keeping %s in the media cache: %s", local, om_error_msg());
        om_error_clear();
        unlink(local);
    }
}
