/*
 * archive.c: old logs rows to a gzip JSON-lines file with a hash chain, recorded in the
 * ledger, and the check `omniva ledger verify --archive` runs. See archive.h.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "ledger/stardust.h"
#include "oversight/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <zlib.h>

#define ARCHIVE_MAX_ROWS 50000
#define ARCHIVE_GENESIS                                                                     \
    "0000000000000000000000000000000000000000000000000000000000000000"

/* hash = SHA-256(prev "\n" canonical row) */
static void chain_hash(const char *prev, json_t *row, char out[OM_SHA256_HEX_LEN])
{
    char *canon = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    char *text = xasprintf("%s\n%s", prev, canon);
    om_sha256_hex(text, strlen(text), out);
    free(text);
    free(canon);
}

static json_t *row_json(const om_rows *r, size_t i)
{
    json_t *o = json_object();
    for (size_t c = 0; c < om_rows_ncols(r); c++) {
        const char *name = om_rows_colname(r, c), *v = om_rows_get(r, i, c);
        json_t *val = NULL;
        if (v && !strcmp(name, "metadata"))
            val = json_loads(v, 0, NULL);
        json_object_set_new(o, name, val ? val : v ? json_string(v) : json_null());
    }
    return o;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return om_error_set(OM_EIO, "open %s: %s", path, strerror(errno));
    int rc = fsync(fd) == 0 ? OM_OK : om_error_set(OM_EIO, "fsync %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

int om_log_archive(om_store *s, const om_config *cfg, int64_t before_us, const char *dir,
                   json_t **report_out)
{
    OM_ASSERT(s && cfg && report_out);
    *report_out = NULL;
    char before[OM_TIME_LEN];
    om_time_iso(before, before_us);
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT log_id, source, level, message, metadata, created_at FROM "
                            "logs WHERE created_at < ? ORDER BY created_at, log_id LIMIT ?",
                            OM_PARAMS(OM_TEXT(before), OM_INT(ARCHIVE_MAX_ROWS + 1)), &r);
    if (rc)
        return om_error_wrap(rc, "archive: reading the logs rows");
    size_t n = om_rows_count(r);
    int more = n > ARCHIVE_MAX_ROWS;
    if (more)
        n = ARCHIVE_MAX_ROWS;
    if (n == 0) {
        om_rows_free(r);
        *report_out = json_pack("{s:i, s:b}", "rows", 0, "more", 0);
        return OM_OK;
    }
    if (!dir)
        dir = om_config_str(cfg, "governance.archive_dir");
    rc = om_mkdirs(dir, 0755);
    if (rc) {
        om_rows_free(r);
        return om_error_wrap(rc, "archive: creating %s", dir);
    }
    /* the name: the first row's time (digits only) and the count */
    char stamp[OM_TIME_LEN];
    size_t k = 0;
    for (const char *p = om_rows_getn(r, 0, "created_at"); p && *p && k < sizeof(stamp) - 1; p++)
        if (*p >= '0' && *p <= '9')
            stamp[k++] = *p;
    stamp[k] = '\0';
    char *file = xasprintf("%s/logs-%s-%zu.jsonl.gz", dir, stamp, n);
    char *partial = xasprintf("%s.partial", file);
    gzFile gz = gzopen(partial, "wb9");
    char prev[OM_SHA256_HEX_LEN] = ARCHIVE_GENESIS, hash[OM_SHA256_HEX_LEN];
    if (!gz)
        rc = om_error_set(OM_EIO, "archive: cannot write %s: %s", partial, strerror(errno));
    for (size_t i = 0; rc == OM_OK && i < n; i++) {
        json_t *row = row_json(r, i);
        chain_hash(prev, row, hash);
        json_t *line = json_pack("{s:I, s:o, s:s, s:s}", "seq", (json_int_t)(i + 1), "row", row,
                                 "prev", prev, "hash", hash);
        char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
        size_t len = strlen(text);
        if (gzwrite(gz, text, (unsigned)len) != (int)len || gzputc(gz, '\n') != '\n')
            rc = om_error_set(OM_EIO, "archive: writing %s failed", partial);
        free(text);
        json_decref(line);
        memcpy(prev, hash, sizeof(prev));
    }
    if (gz && gzclose(gz) != Z_OK && rc == OM_OK)
        rc = om_error_set(OM_EIO, "archive: closing %s failed", partial);
    if (rc == OM_OK)
        rc = fsync_path(partial);
    if (rc == OM_OK && rename(partial, file) != 0)
        rc = om_error_set(OM_EIO, "archive: rename %s: %s", partial, strerror(errno));
    char sum[OM_SHA256_HEX_LEN] = "";
    if (rc == OM_OK)
        rc = om_sha256_file(file, sum);
    if (rc) {
        unlink(partial);
        om_rows_free(r);
        free(file);
        free(partial);
        return om_error_wrap(rc, "archive");
    }
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    char *rowpath = om_config_path_to_row(cfg, file);
    json_t *lin = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "file", rowpath,
                            "rows", (json_int_t)n, "first_at", om_rows_getn(r, 0, "created_at"),
                            "last_at", om_rows_getn(r, n - 1, "created_at"), "head_hash", prev,
                            "sha256", sum);
    char pid[OM_UUID_LEN], archive_id[OM_UUID_LEN];
    om_uuid4(archive_id);
    json_object_set_new(lin, "name", json_string(base));
    rc = om_store_begin(s);
    for (size_t i = 0; rc == OM_OK && i < n; i++)
        rc = om_store_exec(s, "DELETE FROM logs WHERE log_id = ?",
                           OM_PARAMS(OM_TEXT(om_rows_get(r, i, 0))), NULL);
    if (rc == OM_OK)
        rc = om_stardust_append(s, "log_archives", archive_id, lin, NULL, pid);
    if (rc == OM_OK)
        rc = om_store_commit(s);
    if (rc) {
        om_store_rollback(s);
        rc = om_error_wrap(rc, "archive: removing the archived rows");
    } else {
        om_info("governance", "archived %zu logs rows to %s", n, file);
        *report_out = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "rows", (json_int_t)n, "file",
                                file, "head_hash", prev, "sha256", sum, "packet", pid, "more",
                                more);
    }
    json_decref(lin);
    free(rowpath);
    om_rows_free(r);
    free(file);
    free(partial);
    return rc;
}

/* ---- verify ------------------------------------------------------------------------------ */

static int fail(json_t *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(json_t *rep, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_object_set_new(rep, "ok", json_false());
    json_object_set_new(rep, "error", json_string(buf));
    return OM_OK;
}

int om_log_archive_verify(om_store *s, const char *file, json_t **report_out)
{
    OM_ASSERT(s && file && report_out);
    json_t *rep = json_pack("{s:b, s:s}", "ok", 0, "file", file);
    *report_out = rep;
    gzFile gz = gzopen(file, "rb");
    if (!gz) {
        json_decref(rep);
        *report_out = NULL;
        return om_error_set(OM_ENOTFOUND, "archive %s cannot be read: %s", file, strerror(errno));
    }
    char prev[OM_SHA256_HEX_LEN] = ARCHIVE_GENESIS, hash[OM_SHA256_HEX_LEN];
    om_sbuf line = OM_SBUF_INIT;
    int64_t seq = 0;
    int bad = 0, eof = 0;
    while (!bad && !eof) {
        sb_reset(&line);
        int c;
        while ((c = gzgetc(gz)) != -1 && c != '\n') {
            char ch = (char)c;
            sb_append(&line, &ch, 1);
        }
        if (c == -1) {
            eof = 1;
            if (line.len == 0)
                break;
        }
        json_error_t je;
        json_t *o = json_loads(sb_str(&line), 0, &je);
        const char *p = json_string_value(json_object_get(o, "prev"));
        const char *h = json_string_value(json_object_get(o, "hash"));
        json_t *row = json_object_get(o, "row");
        seq++;
        if (!o)
            bad = fail(rep, "line %lld is not JSON: %s", (long long)seq, je.text) || 1;
        else if (json_integer_value(json_object_get(o, "seq")) != seq)
            bad = fail(rep, "line %lld: seq %lld, expected %lld", (long long)seq,
                       (long long)json_integer_value(json_object_get(o, "seq")),
                       (long long)seq) || 1;
        else if (!p || strcmp(p, prev) != 0)
            bad = fail(rep, "line %lld: prev does not match the previous line's hash (a line "
                            "removed or reordered)",
                       (long long)seq) || 1;
        else if (!json_is_object(row) || !h)
            bad = fail(rep, "line %lld: no row or hash", (long long)seq) || 1;
        else {
            chain_hash(prev, row, hash);
            if (strcmp(hash, h) != 0)
                bad = fail(rep, "line %lld (log %s): the row does not match its hash (altered)",
                           (long long)seq,
                           json_string_value(json_object_get(row, "log_id"))) || 1;
            else
                memcpy(prev, hash, sizeof(prev));
        }
        json_decref(o);
    }
    int gerr = 0;
    gzerror(gz, &gerr);
    if (!bad && gerr != Z_OK && gerr != Z_STREAM_END)
        bad = fail(rep, "the archive is damaged (gzip error %d)", gerr) || 1;
    gzclose(gz);
    sb_release(&line);
    json_object_set_new(rep, "rows", json_integer((json_int_t)(bad ? 0 : seq)));
    json_object_set_new(rep, "head_hash", json_string(prev));
    if (bad)
        return OM_OK;
    /* the ledger's packet for this archive */
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT stardust_id, lineage FROM stardust_metadata WHERE "
                            "entity_type = 'log_archives' ORDER BY created_at DESC",
                            NULL, 0, &r);
    if (rc) {
        json_decref(rep);
        *report_out = NULL;
        return om_error_wrap(rc, "archive: reading the ledger");
    }
    const char *packet = NULL;
    for (size_t i = 0; i < om_rows_count(r) && !packet; i++) {
        json_t *lin = json_loads(om_rows_get(r, i, 1) ? om_rows_get(r, i, 1) : "null", 0, NULL);
        const char *hh = json_string_value(json_object_get(lin, "head_hash"));
        if (hh && !strcmp(hh, prev) &&
            json_integer_value(json_object_get(lin, "rows")) == (json_int_t)seq)
            packet = om_rows_get(r, i, 0);
        json_decref(lin);
    }
    if (packet) {
        json_object_set_new(rep, "ok", json_true());
        json_object_set_new(rep, "packet", json_string(packet));
    } else {
        fail(rep, "no ledger packet records an archive of %lld rows ending in %.12s (lines "
                  "removed at the end, or not an archive of this store)",
             (long long)seq, prev);
    }
    om_rows_free(r);
    return OM_OK;
}
