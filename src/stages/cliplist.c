/*
 * cliplist.c: the clip list query (see cliplist.h): the page's clips chosen by filters, order
 * and limit on the clips table alone, then their details joined.
 */
#include "base/common.h"
#include "stages/clipinfo.h"
#include "stages/cliplist.h"

#include <math.h>

/* The page is chosen on clips alone (filters, order, limit: an index walk for the default
 * order), then the details are joined for the page's rows only. The WHERE clause holds only
 * the filters given: a "(? IS NULL OR ...)" form would let PostgreSQL's plan cache settle on
 * one generic plan for every combination, whose row estimate (a few hundred "matching" rows)
 * makes a sequential scan + sort look cheaper than the index walk (test_http counts it). */
/* one "?" each, in the order of om_clip_filter's status, creator, project, since, until,
 * min_score */
static const char *const list_filters[] = {
    "c.status = ?",
    "c.video_id IN (SELECT v.video_id FROM videos v JOIN posts po ON po.post_id = v.post_id "
    "WHERE po.creator_id = ?)",
    "c.video_id IN (SELECT v.video_id FROM videos v JOIN posts po ON po.post_id = v.post_id "
    "JOIN project_creators pc ON pc.creator_id = po.creator_id WHERE pc.project_id = ?)",
    "c.created_at >= ?",
    "c.created_at < ?",
    "c.confidence >= ?",
};

static const char list_sql_outer[] =
    "SELECT c.clip_id, c.status, c.start_time, c.end_time, c.confidence, c.lattice_priority, "
    "c.metadata, c.created_at, c.video_id, po.creator_id, a.virality_score, "
    "a.relevance_score, "
    "(SELECT path FROM artifacts r WHERE r.kind = 'render' AND r.entity_id = c.clip_id "
    " ORDER BY r.created_at DESC LIMIT 1) AS render_path, "
    "(SELECT final_scheduled_time FROM schedules s WHERE s.clip_id = c.clip_id) AS scheduled "
    "FROM (%s) pg JOIN clips c ON c.clip_id = pg.clip_id "
    "JOIN videos v ON v.video_id = c.video_id "
    "JOIN posts po ON po.post_id = v.post_id "
    "LEFT JOIN analysis a ON a.analysis_id = c.analysis_id %s";

static json_t *num_or_null(om_rows *r, size_t i, const char *col)
{
    const char *v = om_rows_getn(r, i, col);
    return v ? json_real(strtod(v, NULL)) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int om_clip_list(om_store *s, const om_clip_filter *f, json_t **out, char **next_cursor_out)
{
    *out = NULL;
    *next_cursor_out = NULL;
    const char *sort = f->sort && *f->sort ? f->sort : "priority";
    int keyset = 0, desc = 0;
    const char *order;
    if (strcmp(sort, "priority") == 0)
        order = "ORDER BY c.lattice_priority DESC NULLS LAST, c.confidence DESC, c.clip_id";
    else if (strcmp(sort, "score") == 0)
        order = "ORDER BY c.confidence DESC NULLS LAST, c.clip_id";
    else if (strcmp(sort, "created") == 0)
        order = "ORDER BY c.created_at, c.clip_id", keyset = 1;
    else if (strcmp(sort, "-created") == 0)
        order = "ORDER BY c.created_at DESC, c.clip_id DESC", keyset = 1, desc = 1;
    else
        return om_error_set(OM_EINVAL, "sort '%s' is not priority, score, created or -created",
                            sort);
    long limit = f->limit > 0 ? f->limit : 50;
    if (limit > 500)
        return om_error_set(OM_EINVAL, "limit %ld is over 500", limit);
    long offset = f->offset > 0 ? f->offset : 0;
    char cur_ts[64] = "", cur_id[OM_UUID_LEN] = "";
    if (f->cursor && *f->cursor) {
        if (keyset) {
            const char *bar = strchr(f->cursor, '_');
            size_t tl = bar ? (size_t)(bar - f->cursor) : 0;
            int64_t us;
            if (!bar || tl == 0 || tl >= sizeof(cur_ts) || !om_uuid_valid(bar + 1))
                return om_error_set(OM_EINVAL, "cursor '%.80s' is not from this listing",
                                    f->cursor);
            memcpy(cur_ts, f->cursor, tl);
            cur_ts[tl] = 0;
            if (om_time_parse(cur_ts, &us))
                return om_error_set(OM_EINVAL, "cursor '%.80s' is not from this listing",
                                    f->cursor);
            snprintf(cur_id, sizeof(cur_id), "%s", bar + 1);
        } else {
            char *end;
            long o = strtol(f->cursor, &end, 10);
            if (*end || o < 0 || end == f->cursor)
                return om_error_set(OM_EINVAL, "cursor '%.80s' is not from this listing",
                                    f->cursor);
            offset = o;
        }
    }
    om_val p[12];
    size_t np = 0;
    om_sbuf inner = OM_SBUF_INIT;
    sb_puts(&inner, "SELECT c.clip_id, c.created_at, c.lattice_priority, c.confidence "
                    "FROM clips c WHERE 1 = 1");
    const char *vals[] = {f->status, f->creator, f->project, f->since, f->until};
    for (size_t i = 0; i < OM_ARRAY_LEN(list_filters); i++) {
        int given = i < OM_ARRAY_LEN(vals) ? vals[i] != NULL : !isnan(f->min_score);
        if (!given)
            continue;
        sb_printf(&inner, " AND %s", list_filters[i]);
        p[np++] = i < OM_ARRAY_LEN(vals) ? OM_TEXT(vals[i]) : OM_REAL(f->min_score);
    }
    if (cur_ts[0]) {
        sb_puts(&inner, desc ? " AND (c.created_at < ? OR (c.created_at = ? AND c.clip_id < ?))"
                             : " AND (c.created_at > ? OR (c.created_at = ? AND c.clip_id > ?))");
        p[np++] = OM_TEXT(cur_ts);
        p[np++] = OM_TEXT(cur_ts);
        p[np++] = OM_TEXT(cur_id);
    }
    sb_printf(&inner, " %s LIMIT %ld OFFSET %ld", order, limit + 1, keyset ? 0 : offset);
    /* the outer query keeps the inner order (same keys, on the page's columns) */
    const char *outer_order = strstr(order, "c.lattice_priority")
                                  ? "ORDER BY pg.lattice_priority DESC NULLS LAST, pg.confidence "
                                    "DESC, pg.clip_id"
                              : strstr(order, "c.confidence DESC NULLS")
                                  ? "ORDER BY pg.confidence DESC NULLS LAST, pg.clip_id"
                              : desc ? "ORDER BY pg.created_at DESC, pg.clip_id DESC"
                                     : "ORDER BY pg.created_at, pg.clip_id";
    char *sql = xasprintf(list_sql_outer, sb_str(&inner), outer_order);
    sb_release(&inner);
    om_rows *r = NULL;
    int rc = om_store_query(s, sql, p, np, &r);
    free(sql);
    if (rc)
        return om_error_wrap(rc, "listing clips");
    size_t n = om_rows_count(r);
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < (size_t)limit; i++) {
        json_t *meta = om_json_from_db(om_rows_getn(r, i, "metadata"));
        double st = om_rows_real(r, i, "start_time", 0), en = om_rows_real(r, i, "end_time", 0);
        json_t *o = json_pack(
            "{s:s, s:s, s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
            "clip_id", om_rows_getn(r, i, "clip_id"), "status", om_rows_getn(r, i, "status"),
            "start", st, "end", en, "duration", en - st, "confidence",
            num_or_null(r, i, "confidence"), "lattice_priority",
            num_or_null(r, i, "lattice_priority"), "title",
            json_incref(json_object_get(meta, "title") ? json_object_get(meta, "title")
                                                       : json_null()),
            "hook",
            json_incref(json_object_get(meta, "hook") ? json_object_get(meta, "hook")
                                                      : json_null()),
            "video_id", om_rows_getn(r, i, "video_id"), "creator_id",
            str_or_null(om_rows_getn(r, i, "creator_id")), "virality",
            num_or_null(r, i, "virality_score"), "relevance", num_or_null(r, i, "relevance_score"),
            "render_path", str_or_null(om_rows_getn(r, i, "render_path")), "scheduled",
            str_or_null(om_rows_getn(r, i, "scheduled")), "created_at",
            str_or_null(om_rows_getn(r, i, "created_at")));
        json_decref(meta);
        json_array_append_new(arr, o);
    }
    if (n > (size_t)limit) {
        if (keyset)
            *next_cursor_out = xasprintf("%s_%s", om_rows_getn(r, (size_t)limit - 1, "created_at"),
                                         om_rows_getn(r, (size_t)limit - 1, "clip_id"));
        else
            *next_cursor_out = xasprintf("%ld", offset + limit);
    }
    om_rows_free(r);
    *out = arr;
    return OM_OK;
}
