/*
 * logs.c: GET /api/v1/logs, a search over the `logs` table (every process writes its
 * structured events there): by job (metadata.job_id), project (metadata.project_id), level,
 * and text in the message; newest first, paged with an opaque cursor
 * ("<created_at>_<log_id>" of the last row, as `before`) so a page costs one range scan of
 * the created_at index however deep the operator pages (no OFFSET).
 */
#include "base/common.h"

#include "http/api_int.h"
#include "stages/clipinfo.h"
#include "stages/projects.h"

static const char *const levels[] = {"debug", "info", "warn", "warning", "error", "fatal", NULL};

void h_logs(om_http_req *r)
{
    if (api_query_only(r))
        return;
    long limit = 100;
    if (api_query_long(r, "limit", 1, 500, &limit))
        return;
    const char *job = om_http_param(&r->query, "job");
    const char *project = om_http_param(&r->query, "project");
    const char *level = om_http_param(&r->query, "level");
    const char *q = om_http_param(&r->query, "q");
    const char *before = om_http_param(&r->query, "before");
    if (job && !*job)
        job = NULL;
    if (project && !*project)
        project = NULL;
    if (level && !*level)
        level = NULL;
    if (q && !*q)
        q = NULL;
    if (job && !om_uuid_valid(job)) {
        om_http_reply_error(r, 400, "bad_query", "job", "job must be a job id (UUID)");
        return;
    }
    char pid[OM_UUID_LEN];
    if (project) {
        int rc = om_project_resolve(r->store, project, pid);
        if (rc) {
            om_http_reply_om(r, rc, "project");
            return;
        }
        project = pid;
    }
    if (level) {
        int ok = 0;
        for (size_t i = 0; levels[i]; i++)
            ok |= strcasecmp(levels[i], level) == 0;
        if (!ok) {
            om_http_reply_error(r, 400, "bad_query", "level",
                                "level must be debug, info, warn, error or fatal");
            return;
        }
    }
    char bts[OM_TIME_LEN] = "", bid[OM_UUID_LEN] = "";
    if (before && *before) {
        const char *bar = strrchr(before, '_');
        char ts[64];
        int64_t us;
        size_t tl = bar ? (size_t)(bar - before) : 0;
        if (!bar || tl >= sizeof(ts) || !om_uuid_valid(bar + 1)) {
            om_http_reply_error(r, 400, "bad_query", "before",
                                "before must be a next_before value from an earlier page");
            return;
        }
        memcpy(ts, before, tl);
        ts[tl] = 0;
        if (om_time_parse(ts, &us)) {
            om_http_reply_error(r, 400, "bad_query", "before",
                                "before must be a next_before value from an earlier page");
            return;
        }
        om_time_iso(bts, us);
        snprintf(bid, sizeof(bid), "%s", bar + 1);
    }
    /* the metadata keys, per dialect (the one place this file speaks each's JSON) */
    int pg = strcmp(om_store_dialect(r->store), "postgres") == 0;
    const char *jkey = pg ? "metadata->>'job_id'" : "json_extract(metadata, '$.job_id')";
    const char *pkey = pg ? "metadata->>'project_id'" : "json_extract(metadata, '$.project_id')";
    char *like = q ? xasprintf("%%%s%%", q) : NULL;
    char *sql = xasprintf(
        "SELECT log_id, source, level, message, metadata, created_at FROM logs WHERE "
        "(CAST(? AS TEXT) IS NULL OR created_at < ? OR (created_at = ? AND log_id < ?)) "
        "AND (CAST(? AS TEXT) IS NULL OR LOWER(level) = LOWER(?)) "
        "AND (CAST(? AS TEXT) IS NULL OR LOWER(message) LIKE LOWER(?)) "
        "AND (CAST(? AS TEXT) IS NULL OR %s = ?) "
        "AND (CAST(? AS TEXT) IS NULL OR %s = ?) "
        "ORDER BY created_at DESC, log_id DESC LIMIT %ld",
        jkey, pkey, limit + 1);
    om_val b = bts[0] ? OM_TEXT(bts) : OM_NULL, bi = bid[0] ? OM_TEXT(bid) : OM_NULL;
    om_val lv = level ? OM_TEXT(level) : OM_NULL, lk = like ? OM_TEXT(like) : OM_NULL;
    om_val jb = job ? OM_TEXT(job) : OM_NULL, pj = project ? OM_TEXT(project) : OM_NULL;
    om_rows *rows = NULL;
    int rc = om_store_query(r->store, sql, OM_PARAMS(b, b, b, bi, lv, lv, lk, lk, jb, jb, pj, pj),
                            &rows);
    free(sql);
    free(like);
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    json_t *out = json_array();
    size_t n = om_rows_count(rows);
    char *next = NULL;
    for (size_t i = 0; i < n && (long)i < limit; i++) {
        json_t *meta = om_json_from_db(om_rows_getn(rows, i, "metadata"));
        json_t *jid = json_object_get(meta, "job_id"), *ppid = json_object_get(meta, "project_id");
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:O?, s:O?, s:o}", "log_id",
                           om_rows_getn(rows, i, "log_id"), "created_at",
                           om_rows_getn(rows, i, "created_at"), "source",
                           om_rows_getn(rows, i, "source"), "level", om_rows_getn(rows, i, "level"),
                           "message", om_rows_getn(rows, i, "message"), "job_id",
                           json_is_string(jid) ? jid : NULL, "project_id",
                           json_is_string(ppid) ? ppid : NULL, "metadata",
                           meta ? meta : json_null()));
        if ((long)i == limit - 1 && (long)n > limit) {
            free(next);
            next = xasprintf("%s_%s", om_rows_getn(rows, i, "created_at"),
                             om_rows_getn(rows, i, "log_id"));
        }
    }
    om_rows_free(rows);
    om_http_reply_json(r, 200, json_pack("{s:o, s:o}", "logs", out, "next_before",
                                         next ? json_string(next) : json_null()));
    free(next);
}
