/*
 * backup.c: `omniva backup` and `omniva restore` (lifecycle.h). The database copy is the
 * store's (om_store_backup: SQLite's online backup API, pg_dump -Fc); this file adds the
 * settings, optionally the media, the manifest with every checksum, the DIR.partial ->
 * DIR rename that makes a backup appear only when complete, and on the way back the
 * verification, the emptiness check and the comparison with the manifest.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "lifecycle/lifecycle.h"
#include "ledger/stardust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_CAP (64u << 20)

/* ---- small file helpers ------------------------------------------------------------- */

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return om_error_set(OM_EIO, "open %s: %s", path, strerror(errno));
    int rc = fsync(fd) == 0 || errno == EINVAL ? OM_OK
                                               : om_error_set(OM_EIO, "fsync %s: %s", path,
                                                              strerror(errno));
    close(fd);
    return rc;
}

static char *parent_of(const char *path)
{
    char *p = xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    char *slash = strrchr(p, '/');
    if (!slash) {
        free(p);
        return xstrdup(".");
    }
    if (slash == p)
        slash[1] = '\0';
    else
        *slash = '\0';
    return p;
}

/* A manifest path must stay inside the backup: relative, no "..", no empty part. */
static int safe_rel_path(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += n;
        if (*s == '/')
            s++;
    }
    return 1;
}

/* Adds {path, size, sha256, kind} for DIR/rel to files. */
static int add_file(json_t *files, const char *dir, const char *rel, const char *kind)
{
    char *abs = xasprintf("%s/%s", dir, rel);
    char sha[OM_SHA256_HEX_LEN];
    int64_t size = 0;
    int rc = om_sha256_file(abs, sha);
    if (rc == OM_OK)
        rc = om_file_size(abs, &size);
    if (rc == OM_OK)
        rc = fsync_path(abs);
    free(abs);
    if (rc)
        return rc;
    json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s}", "path", rel, "size",
                                           (json_int_t)size, "sha256", sha, "kind", kind));
    return OM_OK;
}

/* ---- what the snapshot says ------------------------------------------------------------ */

static int ident_ok(const char *t)
{
    if (!t || !*t)
        return 0;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '_'))
            return 0;
    return 1;
}

int om_backup_row_counts(om_store *s, json_t **out)
{
    *out = NULL;
    om_rows *cols = NULL;
    int rc = om_store_schema_columns(s, &cols);
    if (rc)
        return om_error_wrap(rc, "listing the tables");
    json_t *counts = json_object();
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(cols); i++) {
        const char *t = om_rows_get(cols, i, 0);
        if (json_object_get(counts, t) || !ident_ok(t))
            continue;
        char *sql = xasprintf("SELECT count(*) FROM %s", t), *v = NULL;
        rc = om_store_query_value(s, sql, NULL, 0, &v);
        free(sql);
        if (rc == OM_OK)
            json_object_set_new(counts, t, json_integer(v ? strtoll(v, NULL, 10) : 0));
        else
            om_error_wrap(rc, "counting the rows of %s", t);
        free(v);
    }
    om_rows_free(cols);
    if (rc) {
        json_decref(counts);
        return rc;
    }
    *out = counts;
    return OM_OK;
}

/* Schema version, ledger head and row counts into the manifest (runs inside the backup's
 * snapshot, see om_store_backup). */
static int read_snapshot(om_store *s, void *ud)
{
    json_t *m = ud;
    int version = 0;
    int rc = om_store_schema_version(s, &version);
    if (rc)
        return om_error_wrap(rc, "reading the schema version");
    json_object_set_new(m, "schema_version", json_integer(version));
    int64_t packets = 0;
    char hash[OM_SHA256_HEX_LEN];
    rc = om_stardust_head(s, &packets, hash);
    if (rc)
        return om_error_wrap(rc, "reading the ledger head");
    json_object_set_new(m, "ledger", json_pack("{s:I, s:s}", "packets", (json_int_t)packets,
                                               "head_hash", hash));
    json_t *counts = NULL;
    if ((rc = om_backup_row_counts(s, &counts)))
        return rc;
    json_object_set_new(m, "rows", counts);
    return OM_OK;
}

/* ---- media ----------------------------------------------------------------------------- */

/* In-flight work is not media: partial downloads (.partial/ folders) and renders
 * (NAME.partial.PID), atomic-write temp files. */
static int skip_name(const char *name)
{
    return name[0] == '.' || strstr(name, ".partial") || strstr(name, ".tmp.");
}

/* Copies src_dir/rel... into dst_dir/rel... recursively, each file listed in files. */
static int copy_tree(const char *src_root, const char *dst_root, const char *rel, json_t *files,
                     const char *prefix)
{
    char *src_dir = *rel ? xasprintf("%s/%s", src_root, rel) : xstrdup(src_root);
    DIR *d = opendir(src_dir);
    if (!d) {
        int rc = errno == ENOENT ? OM_OK
                                 : om_error_set(OM_EIO, "open %s: %s", src_dir, strerror(errno));
        free(src_dir);
        return rc;
    }
    int rc = OM_OK;
    for (struct dirent *e; rc == OM_OK && (e = readdir(d));) {
        if (skip_name(e->d_name))
            continue;
        char *r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        char *sp = xasprintf("%s/%s", src_root, r);
        struct stat st;
        if (lstat(sp, &st) != 0) {
            if (errno != ENOENT) /* deleted meanwhile (retention): not in the backup */
                rc = om_error_set(OM_EIO, "stat %s: %s", sp, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            char *dp = xasprintf("%s/%s", dst_root, r);
            rc = om_mkdirs(dp, 0700);
            free(dp);
            if (rc == OM_OK)
                rc = copy_tree(src_root, dst_root, r, files, prefix);
        } else if (S_ISREG(st.st_mode)) {
            char *dp = xasprintf("%s/%s", dst_root, r);
            rc = om_copy_file_atomic(sp, dp);
            if (rc == OM_EIO && !om_file_exists(sp)) { /* deleted meanwhile */
                om_error_clear();
                rc = OM_OK;
            } else if (rc == OM_OK) {
                char *mrel = xasprintf("%s/%s", prefix, r);
                char *droot = parent_of(dst_root);
                rc = add_file(files, droot, mrel, "media");
                free(droot);
                free(mrel);
            }
            free(dp);
        } /* symlinks, sockets...: not media we made */
        free(sp);
        free(r);
    }
    closedir(d);
    free(src_dir);
    return rc;
}

/* ---- backup ---------------------------------------------------------------------------- */

static const char *db_file_name(const om_store *s)
{
    return strcmp(om_store_dialect(s), "sqlite") == 0 ? "omniva.db" : "omniva.pgdump";
}

int om_backup_make(om_store *s, const om_config *cfg, const om_backup_opts *o,
                   json_t **manifest_out)
{
    OM_ASSERT(s && cfg && o && o->to);
    if (manifest_out)
        *manifest_out = NULL;
    if (!*o->to)
        return om_error_set(OM_EINVAL, "backup folder is empty");
    char *to = xstrdup(o->to);
    for (size_t n = strlen(to); n > 1 && to[n - 1] == '/';)
        to[--n] = '\0';
    struct stat st;
    if (lstat(to, &st) == 0) {
        int rc = om_error_set(OM_EEXISTS, "backup folder %s already exists (a backup goes into "
                                          "a new folder)",
                              to);
        free(to);
        return rc;
    }
    char *partial = xasprintf("%s.partial", to);
    char *parent = parent_of(to);
    int rc = OM_OK;
    if (lstat(partial, &st) == 0) {
        om_warn("backup", "removing %s, left by a backup that did not finish", partial);
        rc = om_rmtree(partial);
    }
    if (rc == OM_OK)
        rc = om_mkdirs(parent, 0755);
    if (rc == OM_OK && mkdir(partial, 0700) != 0)
        rc = om_error_set(OM_EIO, "mkdir %s: %s", partial, strerror(errno));
    if (rc) {
        free(to);
        free(partial);
        free(parent);
        return om_error_wrap(rc, "backup folder");
    }

    json_t *m = json_object();
    json_t *files = json_array();
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    json_object_set_new(m, "format", json_string(OM_BACKUP_FORMAT));
    json_object_set_new(m, "format_version", json_integer(OM_BACKUP_FORMAT_VERSION));
    json_object_set_new(m, "created_at", json_string(now));
    json_object_set_new(m, "dialect", json_string(om_store_dialect(s)));
    char *shown = om_url_redact(om_store_url(s));
    json_object_set_new(m, "source", json_pack("{s:s, s:s}", "home", om_config_home(cfg),
                                               "store", shown));
    free(shown);
    json_object_set_new(m, "database_file", json_string(db_file_name(s)));

    /* 1. the database, and what its snapshot says */
    char *dbpath = xasprintf("%s/%s", partial, db_file_name(s));
    int64_t t0 = om_mono_ms();
    rc = om_store_backup(s, dbpath, read_snapshot, m);
    free(dbpath);
    if (rc == OM_OK)
        rc = add_file(files, partial, db_file_name(s), "database");
    int64_t db_ms = om_mono_ms() - t0;

    /* 2. the settings */
    if (rc == OM_OK) {
        char *conf = xasprintf("%s/omniva.conf", om_config_home(cfg));
        if (om_file_exists(conf)) {
            char *dst = xasprintf("%s/omniva.conf", partial);
            rc = om_copy_file_atomic(conf, dst);
            if (rc == OM_OK)
                rc = add_file(files, partial, "omniva.conf", "settings");
            free(dst);
        }
        free(conf);
    }

    /* 3. media, when asked */
    const char *media = om_config_media_dir(cfg);
    if (rc == OM_OK && o->with_media && media && *media) {
        char *dst = xasprintf("%s/media", partial);
        rc = om_mkdirs(dst, 0700);
        if (rc == OM_OK)
            rc = copy_tree(media, dst, "", files, "media");
        free(dst);
        if (rc)
            om_error_wrap(rc, "copying the media folder %s", media);
    }
    json_object_set_new(
        m, "media",
        json_pack("{s:b, s:s}", "included", o->with_media ? 1 : 0, "note",
                  o->with_media ? "media/ copied (partial downloads and renders left out)"
                                : "media files are NOT in this backup (omniva backup "
                                  "--with-media copies them); back up the media folder on "
                                  "its own"));
    if (strncmp(om_config_queue_url(cfg), "redis://", 8) == 0)
        json_object_set_new(m, "queue", json_string("redis: the jobs in Redis are not in the "
                                                    "backup (the outbox rows are)"));
    json_object_set_new(m, "files", files);
    json_object_set_new(m, "database_ms", json_integer(db_ms));

    /* 4. the manifest, last; then the rename that makes the backup appear */
    if (rc == OM_OK) {
        char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
        char *mpath = xasprintf("%s/%s", partial, OM_BACKUP_MANIFEST);
        rc = om_write_file_atomic(mpath, text, strlen(text));
        free(mpath);
        free(text);
    }
    if (rc == OM_OK)
        rc = fsync_path(partial);
    if (rc == OM_OK && rename(partial, to) != 0)
        rc = om_error_set(OM_EIO, "rename %s to %s: %s", partial, to, strerror(errno));
    if (rc == OM_OK)
        rc = fsync_path(parent);
    if (rc) {
        om_rmtree(partial);
        json_decref(m);
        m = NULL;
        rc = om_error_wrap(rc, "backup to %s", to);
    } else {
        om_info("backup", "backup written to %s (%zu files)", to,
                json_array_size(json_object_get(m, "files")));
    }
    free(to);
    free(partial);
    free(parent);
    if (manifest_out)
        *manifest_out = m;
    else
        json_decref(m);
    return rc;
}

/* ---- verify ---------------------------------------------------------------------------- */

int om_backup_verify(const char *dir, json_t **manifest_out)
{
    if (manifest_out)
        *manifest_out = NULL;
    char *mpath = xasprintf("%s/%s", dir, OM_BACKUP_MANIFEST);
    char *text = NULL;
    int rc = om_read_file(mpath, MANIFEST_CAP, &text, NULL);
    if (rc) {
        om_error_clear();
        rc = om_error_set(OM_EINVAL, "%s is not a complete backup: no %s%s", dir,
                          OM_BACKUP_MANIFEST,
                          strstr(dir, ".partial") ? " (a .partial folder is a backup that did "
                                                    "not finish)"
                                                  : "");
        free(mpath);
        return rc;
    }
    json_error_t jerr;
    json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    const char *fmt = json_string_value(json_object_get(m, "format"));
    json_t *files = json_object_get(m, "files");
    if (!m || !fmt || strcmp(fmt, OM_BACKUP_FORMAT) || !json_is_array(files) ||
        !json_is_string(json_object_get(m, "database_file")) ||
        !json_is_string(json_object_get(m, "dialect"))) {
        rc = om_error_set(OM_EINVAL, "%s is not an Omniva backup manifest%s%s", mpath,
                          m ? "" : ": ", m ? "" : jerr.text);
        json_decref(m);
        free(mpath);
        return rc;
    }
    if (json_integer_value(json_object_get(m, "format_version")) > OM_BACKUP_FORMAT_VERSION) {
        rc = om_error_set(OM_EINVAL, "%s: backup format version %lld is newer than this "
                                     "program's %d",
                          mpath, (long long)json_integer_value(json_object_get(m, "format_version")),
                          OM_BACKUP_FORMAT_VERSION);
        json_decref(m);
        free(mpath);
        return rc;
    }
    free(mpath);
    int has_db = 0;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        const char *p = json_string_value(json_object_get(f, "path"));
        const char *want = json_string_value(json_object_get(f, "sha256"));
        json_t *sz = json_object_get(f, "size");
        if (!safe_rel_path(p) || !want || !json_is_integer(sz)) {
            rc = om_error_set(OM_EINVAL, "backup %s: manifest entry %zu is malformed (path, "
                                         "size, sha256)",
                              dir, i);
            break;
        }
        char *abs = xasprintf("%s/%s", dir, p);
        char sha[OM_SHA256_HEX_LEN];
        int64_t size = -1;
        if (om_file_size(abs, &size) != OM_OK) {
            om_error_clear();
            rc = om_error_set(OM_EINVAL, "backup %s is damaged: %s is missing", dir, p);
        } else if (size != json_integer_value(sz)) {
            rc = om_error_set(OM_EINVAL, "backup %s is damaged: %s has %lld bytes, the manifest "
                                         "says %lld",
                              dir, p, (long long)size, (long long)json_integer_value(sz));
        } else if ((rc = om_sha256_file(abs, sha)) == OM_OK && strcmp(sha, want) != 0) {
            rc = om_error_set(OM_EINVAL, "backup %s is damaged: checksum mismatch in %s "
                                         "(SHA-256 %s, the manifest says %s)",
                              dir, p, sha, want);
        }
        free(abs);
        if (rc)
            break;
        if (!strcmp(p, json_string_value(json_object_get(m, "database_file"))))
            has_db = 1;
    }
    if (rc == OM_OK && !has_db)
        rc = om_error_set(OM_EINVAL, "backup %s: the manifest lists no database file", dir);
    if (rc) {
        json_decref(m);
        return rc;
    }
    if (manifest_out)
        *manifest_out = m;
    else
        json_decref(m);
    return OM_OK;
}

/* ---- restore --------------------------------------------------------------------------- */

int om_backup_store_empty(om_store *s, int *empty_out, char **table_out)
{
    *empty_out = 0;
    *table_out = NULL;
    int version = 0;
    int rc = om_store_schema_version(s, &version);
    if (rc)
        return om_error_wrap(rc, "reading the schema version");
    json_t *counts = NULL;
    if ((rc = om_backup_row_counts(s, &counts)))
        return rc;
    const char *t;
    json_t *v;
    int empty = 1;
    json_object_foreach(counts, t, v) {
        int64_t n = json_integer_value(v);
        /* bookkeeping rows every schema has: its migrations and the ledger head's one row */
        if (version > 0 && (!strcmp(t, "schema_migrations") || !strcmp(t, "stardust_head")))
            continue;
        if (version == 0 || n > 0) { /* a table without our schema: not ours to overwrite */
            empty = 0;
            *table_out = xstrdup(t);
            break;
        }
    }
    json_decref(counts);
    if (empty && version > 0) {
        int64_t packets = 0;
        char hash[OM_SHA256_HEX_LEN];
        if ((rc = om_stardust_head(s, &packets, hash)) == OM_OK && packets > 0) {
            empty = 0;
            *table_out = xstrdup("stardust_head");
        }
        if (rc == OM_ENOTFOUND) {
            om_error_clear();
            rc = OM_OK;
        }
    }
    *empty_out = empty;
    return rc;
}

/* Copies the backup's media files into media_dir (missing ones only; a different file in
 * the way is refused). */
static int restore_media(const char *dir, const char *media_dir, json_t *files, int *copied)
{
    *copied = 0;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        const char *kind = json_string_value(json_object_get(f, "kind"));
        const char *p = json_string_value(json_object_get(f, "path"));
        if (!kind || strcmp(kind, "media") || strncmp(p, "media/", 6))
            continue;
        char *src = xasprintf("%s/%s", dir, p), *dst = xasprintf("%s/%s", media_dir, p + 6);
        int rc = OM_OK;
        if (om_file_exists(dst)) {
            char sha[OM_SHA256_HEX_LEN];
            rc = om_sha256_file(dst, sha);
            if (rc == OM_OK &&
                strcmp(sha, json_string_value(json_object_get(f, "sha256"))) != 0)
                rc = om_error_set(OM_EEXISTS, "%s exists with other content than the backup's "
                                              "%s: not overwritten",
                                  dst, p);
        } else {
            char *pd = parent_of(dst);
            rc = om_mkdirs(pd, 0755);
            free(pd);
            if (rc == OM_OK)
                rc = om_copy_file_atomic(src, dst);
            if (rc == OM_OK)
                (*copied)++;
        }
        free(src);
        free(dst);
        if (rc)
            return rc;
    }
    return OM_OK;
}

int om_backup_restore(om_store *s, const char *dir, const char *media_dir, json_t *manifest,
                      json_t **report_out)
{
    OM_ASSERT(s && dir && manifest);
    if (report_out)
        *report_out = NULL;
    const char *dialect = json_string_value(json_object_get(manifest, "dialect"));
    if (!dialect || strcmp(dialect, om_store_dialect(s)) != 0)
        return om_error_set(OM_EINVAL, "backup %s is of a %s database; the target store is %s "
                                       "(restore into the same kind of database)",
                            dir, dialect ? dialect : "?", om_store_dialect(s));
    int empty = 0;
    char *table = NULL;
    int rc = om_backup_store_empty(s, &empty, &table);
    if (rc)
        return om_error_wrap(rc, "checking the target store");
    if (!empty) {
        char *shown = om_url_redact(om_store_url(s));
        rc = om_error_set(OM_EINVAL, "refusing to restore into %s: it is not empty (table %s "
                                     "has rows); restore into a new workspace or an empty "
                                     "database",
                          shown, table);
        free(shown);
        free(table);
        return rc;
    }
    char *db = xasprintf("%s/%s", dir, json_string_value(json_object_get(manifest,
                                                                         "database_file")));
    int64_t t0 = om_mono_ms();
    rc = om_store_restore(s, db);
    free(db);
    if (rc)
        return om_error_wrap(rc, "restoring the database");
    int64_t db_ms = om_mono_ms() - t0;

    /* what was loaded must be what the backup's snapshot counted */
    json_t *counts = NULL;
    if ((rc = om_backup_row_counts(s, &counts)))
        return om_error_wrap(rc, "after the restore");
    json_t *want = json_object_get(manifest, "rows");
    const char *t;
    json_t *v;
    json_object_foreach(want, t, v) {
        json_int_t have = json_integer_value(json_object_get(counts, t));
        if (!json_object_get(counts, t) || have != json_integer_value(v)) {
            rc = om_error_set(OM_EIO, "after the restore table %s has %lld rows, the backup "
                                      "had %lld",
                              t, (long long)have, (long long)json_integer_value(v));
            break;
        }
    }
    json_decref(counts);
    int64_t packets = 0;
    char hash[OM_SHA256_HEX_LEN] = "";
    if (rc == OM_OK && (rc = om_stardust_head(s, &packets, hash)) == OM_OK) {
        json_t *lh = json_object_get(manifest, "ledger");
        const char *whash = json_string_value(json_object_get(lh, "head_hash"));
        if (packets != json_integer_value(json_object_get(lh, "packets")) || !whash ||
            strcmp(whash, hash))
            rc = om_error_set(OM_EIO, "after the restore the ledger head is %lld packets ending "
                                      "in %s, the backup's was %lld ending in %s",
                              (long long)packets, hash,
                              (long long)json_integer_value(json_object_get(lh, "packets")),
                              whash ? whash : "?");
    }
    if (rc)
        return rc;
    int copied = 0;
    if (media_dir && (rc = restore_media(dir, media_dir, json_object_get(manifest, "files"),
                                         &copied)))
        return om_error_wrap(rc, "restoring the media files");
    int applied = 0;
    if ((rc = om_store_migrate(s, &applied)))
        return om_error_wrap(rc, "migrating the restored database");
    om_info("backup", "restored %s: ledger %lld packets, %d media files, %d migrations applied",
            dir, (long long)packets, copied, applied);
    if (report_out)
        *report_out = json_pack("{s:s, s:s, s:I, s:s, s:i, s:i, s:I, s:O}", "from", dir,
                                "dialect", dialect, "ledger_packets", (json_int_t)packets,
                                "ledger_head", hash, "media_files", copied, "migrations_applied",
                                applied, "database_ms", (json_int_t)db_ms, "rows",
                                json_object_get(manifest, "rows"));
    return OM_OK;
}
