/*
 * api.c: the JSON API under /api/v1 (and /metrics): the route table, authentication and
 * authorisation in one place before any handler runs, and the handlers, which call the
 * same domain code as the CLI (stages/projects.c, stages/cliplist.c, stages/clipinfo.c,
 * stages/halolux.c, queue/, ledger/).
 *
 * Access rules (checked by om_api_handle from the route's `access`):
 *   PUBLIC     login, setup, openapi.json
 *   VIEWER     any signed-in user (cookie session or Bearer token)
 *   OPERATOR   writes: role operator or admin, and for cookie sessions X-CSRF-Token equal
 *              to the session's csrf token
 *   ADMIN      users and settings
 */
#include "base/common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/api_int.h"
#include "ledger/stardust.h"
#include "media/mstore.h"
#include "queue/jobjson.h"
#include "stages/clipinfo.h"
#include "stages/cliplist.h"
#include "stages/discovery.h"
#include "stages/halolux.h"
#include "stages/projects.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* Refuses query parameters not in `allowed` (comma-separated). 0 ok, -1 replied 400. */
int api_query_only(om_http_req *r)
{
    const char *spec = r->route && r->route->query ? r->route->query : "";
    for (size_t i = 0; i < r->query.n; i++) {
        const char *k = r->query.name[i], *p = spec, *name, *type;
        size_t kl = strlen(k), nl, tl;
        int ok = 0;
        while (!ok && om_route_query_next(&p, &name, &nl, &type, &tl))
            ok = nl == kl && memcmp(name, k, nl) == 0;
        if (!ok) {
            om_sbuf known = OM_SBUF_INIT; /* the names without their types */
            for (p = spec; om_route_query_next(&p, &name, &nl, &type, &tl);)
                sb_printf(&known, "%s%.*s", known.len ? "," : "", (int)nl, name);
            om_http_reply_error(r, 400, "bad_query", k, "unknown query parameter '%s'%s%s", k,
                                known.len ? "; known: " : "", sb_str(&known));
            sb_release(&known);
            return -1;
        }
    }
    return 0;
}

/* A strict integer query parameter in [lo, hi]; *out untouched when absent. */
int api_query_long(om_http_req *r, const char *name, long lo, long hi, long *out)
{
    const char *v = om_http_param(&r->query, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi || isspace((unsigned char)*v)) {
        om_http_reply_error(r, 400, "bad_query", name, "%s must be an integer in %ld..%ld, not '%.40s'",
                            name, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* The path parameter `name` as a UUID; -1 replied 400. */
int api_param_uuid(om_http_req *r, const char *name, const char **out)
{
    const char *v = om_http_param(&r->params, name);
    if (!v || !om_uuid_valid(v)) {
        om_http_reply_error(r, 400, "bad_id", name, "'%.60s' is not a %s (a UUID)", v ? v : "",
                            name);
        return -1;
    }
    *out = v;
    return 0;
}

static const char *body_str(om_http_req *r, json_t *o, const char *key, int required, int *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) {
            om_http_reply_error(r, 422, "invalid", key, "'%s' is required", key);
            *bad = 1;
        }
        return NULL;
    }
    if (!json_is_string(v)) {
        om_http_reply_error(r, 422, "invalid", key, "'%s' must be a string", key);
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* Refuses body keys outside `allowed`; -1 replied 422. */
static int body_only(om_http_req *r, json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok) {
            om_http_reply_error(r, 422, "invalid", k, "unknown field '%s'", k);
            return -1;
        }
    }
    return 0;
}

static const char *home_of(om_http_req *r)
{
    return om_config_home(r->cfg);
}

/* ---- projects ----------------------------------------------------------------------- */

static int project_archived(om_store *s, const char *id, char **at)
{
    *at = NULL;
    int rc = om_store_query_value(s, "SELECT archived_at FROM projects WHERE project_id = ?",
                                  OM_PARAMS(OM_TEXT(id)), at);
    return rc == OM_ENOTFOUND ? OM_OK : rc;
}

static void h_projects_list(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *arch = om_http_param(&r->query, "archived");
    if (arch && strcmp(arch, "0") && strcmp(arch, "1") && strcmp(arch, "all")) {
        om_http_reply_error(r, 400, "bad_query", "archived", "archived must be 0, 1 or all");
        return;
    }
    json_t *list = NULL;
    int rc = om_project_list(r->store, &list);
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        char *at = NULL;
        project_archived(r->store, json_string_value(json_object_get(p, "project_id")), &at);
        json_object_set_new(p, "archived_at", at ? json_string(at) : json_null());
        int want = !arch || strcmp(arch, "0") == 0 ? !at : strcmp(arch, "1") == 0 ? !!at : 1;
        free(at);
        if (want)
            json_array_append(out, p);
    }
    json_decref(list);
    om_http_reply_json(r, 200, json_pack("{s:o}", "projects", out));
}

static void reply_project(om_http_req *r, int status, const char *project)
{
    json_t *p = NULL;
    int rc = om_project_get(r->store, project, &p);
    if (rc) {
        om_http_reply_om(r, rc, "id");
        return;
    }
    char *at = NULL;
    project_archived(r->store, json_string_value(json_object_get(p, "project_id")), &at);
    json_object_set_new(p, "archived_at", at ? json_string(at) : json_null());
    free(at);
    om_http_reply_json(r, status, p);
}

/* The brand key a validation message starts with ("caption.color: 'x' is not a colour")
 * as "brand.caption.color" into buf; "brand" when the message names none. */
static const char *brand_field(const char *msg, char *buf, size_t n)
{
    size_t k = 0;
    if (strncmp(msg, "brand: ", 7) == 0)
        msg += 7;
    while (msg[k] && (isalnum((unsigned char)msg[k]) || msg[k] == '_' || msg[k] == '.' ||
                      msg[k] == '[' || msg[k] == ']'))
        k++;
    if (k == 0 || msg[k] != ':' || (k == 5 && strncmp(msg, "brand", 5) == 0)) {
        snprintf(buf, n, "brand");
        return buf;
    }
    snprintf(buf, n, "%s%.*s", strncmp(msg, "brand.", 6) == 0 ? "" : "brand.", (int)k, msg);
    return buf;
}

static void h_projects_create(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b))
        return;
    static const char *const allowed[] = {"name", "brand", NULL};
    int bad = 0;
    const char *name = NULL;
    if (!body_only(r, b, allowed))
        name = body_str(r, b, "name", 1, &bad);
    else
        bad = 1;
    json_t *brand = json_object_get(b, "brand");
    if (!bad && brand && !json_is_object(brand) && !json_is_null(brand)) {
        om_http_reply_error(r, 422, "invalid", "brand", "brand must be a JSON object");
        bad = 1;
    }
    if (!bad) {
        char *bt = brand && json_is_object(brand) ? json_dumps(brand, JSON_COMPACT) : NULL;
        char id[OM_UUID_LEN];
        int rc = om_project_create(r->store, name, bt, home_of(r), id);
        free(bt);
        char fb[96];
        if (rc == OM_EINVAL)
            om_http_reply_error(r, 422, "invalid",
                                strncmp(om_error_msg(), "project name", 12) == 0
                                    ? "name"
                                    : brand_field(om_error_msg(), fb, sizeof(fb)),
                                "%s", om_error_msg());
        else if (rc)
            om_http_reply_om(r, rc, "name");
        else
            reply_project(r, 201, id);
    }
    json_decref(b);
}

static void h_projects_show(om_http_req *r)
{
    if (api_query_only(r))
        return;
    reply_project(r, 200, om_http_param(&r->params, "id"));
}

static void h_projects_update(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b))
        return;
    static const char *const allowed[] = {"brand", NULL};
    json_t *brand = json_object_get(b, "brand");
    if (body_only(r, b, allowed)) {
    } else if (!json_is_object(brand)) {
        om_http_reply_error(r, 422, "invalid", "brand", "brand must be a JSON object (a patch)");
    } else {
        char *bt = json_dumps(brand, JSON_COMPACT);
        const char *project = om_http_param(&r->params, "id");
        int rc = om_project_update_brand(r->store, project, bt, home_of(r));
        free(bt);
        char fb[96];
        if (rc)
            om_http_reply_om(r, rc, rc == OM_EINVAL ? brand_field(om_error_msg(), fb, sizeof(fb))
                                                    : "id");
        else
            reply_project(r, 200, project);
    }
    json_decref(b);
}

static void h_projects_archive(om_http_req *r)
{
    if (api_query_only(r))
        return;
    char id[OM_UUID_LEN], ts[OM_TIME_LEN];
    int rc = om_project_resolve(r->store, om_http_param(&r->params, "id"), id);
    if (!rc)
        rc = om_store_exec(r->store,
                           "UPDATE projects SET archived_at = ? WHERE project_id = ? "
                           "AND archived_at IS NULL",
                           OM_PARAMS(OM_TEXT(om_time_iso(ts, om_now_us())), OM_TEXT(id)), NULL);
    if (rc)
        om_http_reply_om(r, rc, "id");
    else
        reply_project(r, 200, id);
}

/* ---- creators ----------------------------------------------------------------------- */

static void h_creators_list(om_http_req *r)
{
    if (api_query_only(r))
        return;
    json_t *l = NULL;
    int rc = om_creator_list(r->store, om_http_param(&r->params, "id"), &l);
    if (rc) {
        om_http_reply_om(r, rc, "id");
        return;
    }
    /* the newest scrape job of each creator (unique key scrape:PROJECT:CREATOR:BUCKET) with
     * its last error, and the circuit breaker's last error */
    size_t i;
    json_t *c;
    json_array_foreach(l, i, c) {
        const char *cid = json_string_value(json_object_get(c, "creator_id"));
        char *like = xasprintf("scrape:%%:%s:%%", cid);
        om_rows *rows = NULL;
        if (om_store_query(r->store,
                           "SELECT state, updated_at, errors FROM jobs WHERE type = 'scrape' AND "
                           "unique_key LIKE ? ORDER BY created_at DESC LIMIT 1",
                           OM_PARAMS(OM_TEXT(like)), &rows) == OM_OK &&
            om_rows_count(rows) == 1) {
            json_t *errs = om_json_from_db(om_rows_getn(rows, 0, "errors"));
            json_t *last = json_array_size(errs) ? json_array_get(errs, json_array_size(errs) - 1)
                                                 : NULL;
            const char *st = om_rows_getn(rows, 0, "state");
            json_object_set_new(c, "last_scrape",
                                json_pack("{s:s, s:s?, s:s?}", "state", st, "at",
                                          om_rows_getn(rows, 0, "updated_at"), "error",
                                          last && strcmp(st, "done") != 0
                                              ? json_string_value(json_object_get(last, "error"))
                                              : NULL));
            json_decref(errs);
        } else {
            json_object_set_new(c, "last_scrape", json_null());
        }
        om_rows_free(rows);
        free(like);
        char *be = NULL;
        if (om_store_query_value(r->store,
                                 "SELECT last_error FROM circuit_breakers WHERE entity_type = "
                                 "'creators' AND entity_id = ? AND state <> 'closed'",
                                 OM_PARAMS(OM_TEXT(cid)), &be) == OM_OK &&
            be)
            json_object_set_new(c, "breaker_error", json_string(be));
        free(be);
    }
    om_http_reply_json(r, 200, json_pack("{s:o}", "creators", l));
}

static void h_creators_add(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b))
        return;
    static const char *const allowed[] = {"url", NULL};
    int bad = body_only(r, b, allowed) != 0;
    const char *url = bad ? NULL : body_str(r, b, "url", 1, &bad);
    if (!bad) {
        char cid[OM_UUID_LEN];
        int created = 0, linked = 0;
        int rc = om_creator_add_ex(r->store, om_http_param(&r->params, "id"), url, cid, &created,
                                   &linked);
        if (rc) {
            om_http_reply_om(r, rc, rc == OM_ENOTFOUND && strstr(om_error_msg(), "project")
                                        ? "id" : "url");
        } else {
            json_t *c = NULL;
            if (om_creator_get(r->store, cid, &c))
                c = json_pack("{s:s}", "creator_id", cid);
            json_object_set_new(c, "created", json_boolean(created));
            json_object_set_new(c, "linked", json_boolean(linked));
            om_http_reply_json(r, linked ? 201 : 200, c);
        }
    }
    json_decref(b);
}

static void h_creators_remove(om_http_req *r)
{
    if (api_query_only(r))
        return;
    int rc = om_creator_remove(r->store, om_http_param(&r->params, "id"),
                               om_http_param(&r->params, "creator"));
    if (rc)
        om_http_reply_om(r, rc, "creator");
    else
        om_http_reply_json(r, 200, json_pack("{s:b}", "removed", 1));
}

/* ---- clips -------------------------------------------------------------------------- */

static const char *const clip_statuses[] = {"CANDIDATE", "SELECTED", "REJECTED", "RENDERED",
                                            "SCHEDULED", "PUBLISHED", NULL};

static void h_clips_list(om_http_req *r)
{
    if (api_query_only(r))
        return;
    om_clip_filter f = {NULL, NULL, NULL, NULL, NULL, NAN, NULL, 50, 0, NULL};
    char status[16] = "", pid[OM_UUID_LEN];
    const char *st = om_http_param(&r->query, "status");
    if (st) {
        for (size_t i = 0; st[i] && i < sizeof(status) - 1; i++) {
            status[i] = (char)toupper((unsigned char)st[i]);
            status[i + 1] = 0;
        }
        int ok = 0;
        for (size_t i = 0; clip_statuses[i]; i++)
            ok |= strcmp(clip_statuses[i], status) == 0;
        if (!ok) {
            om_http_reply_error(r, 400, "bad_query", "status",
                                "status '%.40s' is not candidate, selected, rejected, rendered, "
                                "scheduled or published", st);
            return;
        }
        f.status = status;
    }
    const char *project = om_http_param(&r->query, "project");
    if (project) {
        int rc = om_project_resolve(r->store, project, pid);
        if (rc) {
            om_http_reply_om(r, rc, "project");
            return;
        }
        f.project = pid;
    }
    f.creator = om_http_param(&r->query, "creator");
    if (f.creator && !om_uuid_valid(f.creator)) {
        om_http_reply_error(r, 400, "bad_query", "creator", "creator must be a creator id (UUID)");
        return;
    }
    const char *tnames[] = {"since", "until"};
    char tbuf[2][OM_TIME_LEN];
    for (int i = 0; i < 2; i++) {
        const char *v = om_http_param(&r->query, tnames[i]);
        int64_t us;
        if (!v)
            continue;
        if (om_time_parse(v, &us)) {
            om_http_reply_error(r, 400, "bad_query", tnames[i],
                                "%s must be an ISO-8601 UTC time (2026-01-31T12:00:00Z)", tnames[i]);
            return;
        }
        om_time_iso(tbuf[i], us);
        if (i == 0)
            f.since = tbuf[0];
        else
            f.until = tbuf[1];
    }
    const char *ms = om_http_param(&r->query, "min_score");
    if (ms) {
        char *end;
        f.min_score = strtod(ms, &end);
        if (!*ms || *end || !isfinite(f.min_score)) {
            om_http_reply_error(r, 400, "bad_query", "min_score", "min_score must be a number");
            return;
        }
    }
    if (api_query_long(r, "limit", 1, 500, &f.limit) ||
        api_query_long(r, "offset", 0, LONG_MAX / 2, &f.offset))
        return;
    f.cursor = om_http_param(&r->query, "cursor");
    f.sort = om_http_param(&r->query, "sort");
    if (f.cursor && om_http_param(&r->query, "offset")) {
        om_http_reply_error(r, 400, "bad_query", "cursor", "give cursor or offset, not both");
        return;
    }
    json_t *items = NULL;
    char *next = NULL;
    int rc = om_clip_list(r->store, &f, &items, &next);
    if (rc == OM_EINVAL) {
        om_http_reply_error(r, 400, "bad_query",
                            strstr(om_error_msg(), "sort") ? "sort" : "cursor", "%s",
                            om_error_msg());
        return;
    }
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    om_http_reply_json(r, 200, json_pack("{s:o, s:o}", "clips", items, "next_cursor",
                                         next ? json_string(next) : json_null()));
    free(next);
}

static void h_clip_show(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    om_clip_info ci;
    memset(&ci, 0, sizeof(ci));
    int rc = om_clip_info_load(r->store, id, NULL, &ci);
    if (rc) {
        om_http_reply_om(r, rc, "id");
        return;
    }
    json_t *x = NULL;
    rc = om_halolux_collect(r->store, id, &x);
    if (rc) {
        om_clip_info_release(&ci);
        om_http_reply_om(r, rc, "id");
        return;
    }
    /* what HaloLux does not carry: the raw words with confidences, the crop track, the
     * upload rows and the project */
    om_rows *rows = NULL;
    json_t *words = json_array(), *uploads = json_array(), *plan = json_null();
    if (om_store_query(r->store,
                       "SELECT a.transcript FROM clips c JOIN analysis a ON a.analysis_id = "
                       "c.analysis_id WHERE c.clip_id = ?",
                       OM_PARAMS(OM_TEXT(id)), &rows) == OM_OK &&
        om_rows_count(rows) > 0) {
        json_t *t = om_json_from_db(om_rows_get(rows, 0, 0));
        json_t *w = t ? json_object_get(t, "words") : NULL;
        size_t i;
        json_t *wd;
        json_array_foreach(w, i, wd) {
            json_t *s = json_object_get(wd, "start"), *e = json_object_get(wd, "end");
            if (json_number_value(e) > ci.start && json_number_value(s) < ci.end)
                json_array_append(words, wd);
        }
        json_decref(t);
    }
    om_rows_free(rows);
    rows = NULL;
    if (om_store_query(r->store,
                       "SELECT operations, status, output_path FROM edit_jobs WHERE clip_id = ?",
                       OM_PARAMS(OM_TEXT(id)), &rows) == OM_OK &&
        om_rows_count(rows) > 0) {
        json_decref(plan);
        json_t *ops = om_json_from_db(om_rows_getn(rows, 0, "operations"));
        plan = json_pack("{s:o, s:s?, s:s?}", "operations", ops ? ops : json_null(), "status",
                         om_rows_getn(rows, 0, "status"), "output_path",
                         om_rows_getn(rows, 0, "output_path"));
    }
    om_rows_free(rows);
    rows = NULL;
    if (om_store_query(r->store,
                       "SELECT upload_job_id, target, status, title, scheduled_time, "
                       "yt_video_id, target_state, updated_at FROM upload_jobs WHERE clip_id = ? "
                       "ORDER BY created_at",
                       OM_PARAMS(OM_TEXT(id)), &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            json_t *ts = om_json_from_db(om_rows_getn(rows, i, "target_state"));
            json_array_append_new(
                uploads,
                json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:o, s:s?}", "upload_job_id",
                          om_rows_getn(rows, i, "upload_job_id"), "target",
                          om_rows_getn(rows, i, "target"), "status", om_rows_getn(rows, i, "status"),
                          "title", om_rows_getn(rows, i, "title"), "scheduled_time",
                          om_rows_getn(rows, i, "scheduled_time"), "yt_video_id",
                          om_rows_getn(rows, i, "yt_video_id"), "target_state",
                          ts ? ts : json_null(), "updated_at", om_rows_getn(rows, i, "updated_at")));
        }
    }
    om_rows_free(rows);
    rows = NULL;
    /* the other candidates of the same video, the ffmpeg command, the render and thumbnail
     * files, the schedule, the source post */
    json_t *cands = json_array(), *sched = json_null();
    char *ffmpeg = NULL, *render = NULL, *thumb = NULL;
    if (om_store_query(r->store,
                       "SELECT clip_id, status, start_time, end_time, confidence, "
                       "lattice_priority FROM clips WHERE video_id = ? ORDER BY start_time "
                       "LIMIT 200",
                       OM_PARAMS(OM_TEXT(ci.video_id)), &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++)
            json_array_append_new(
                cands, json_pack("{s:s, s:s, s:f, s:f, s:o, s:o}", "clip_id",
                                 om_rows_getn(rows, i, "clip_id"), "status",
                                 om_rows_getn(rows, i, "status"), "start",
                                 om_rows_real(rows, i, "start_time", 0), "end",
                                 om_rows_real(rows, i, "end_time", 0), "confidence",
                                 om_rows_getn(rows, i, "confidence")
                                     ? json_real(om_rows_real(rows, i, "confidence", 0))
                                     : json_null(),
                                 "lattice_priority",
                                 om_rows_getn(rows, i, "lattice_priority")
                                     ? json_real(om_rows_real(rows, i, "lattice_priority", 0))
                                     : json_null()));
    }
    om_rows_free(rows);
    rows = NULL;
    om_store_query_value(r->store, "SELECT ffmpeg_commands FROM edit_jobs WHERE clip_id = ?",
                         OM_PARAMS(OM_TEXT(id)), &ffmpeg);
    om_store_query_value(r->store,
                         "SELECT path FROM artifacts WHERE entity_id = ? AND kind = 'render' "
                         "ORDER BY created_at DESC LIMIT 1",
                         OM_PARAMS(OM_TEXT(id)), &render);
    om_store_query_value(r->store,
                         "SELECT path FROM artifacts WHERE entity_id = ? AND kind = 'thumbnail' "
                         "ORDER BY created_at DESC LIMIT 1",
                         OM_PARAMS(OM_TEXT(id)), &thumb);
    if (om_store_query(r->store,
                       "SELECT schedule_id, status, recommended_time, final_scheduled_time FROM "
                       "schedules WHERE clip_id = ?",
                       OM_PARAMS(OM_TEXT(id)), &rows) == OM_OK &&
        om_rows_count(rows) > 0) {
        json_decref(sched);
        sched = json_pack("{s:s, s:s?, s:s?, s:s?}", "schedule_id",
                          om_rows_getn(rows, 0, "schedule_id"), "status",
                          om_rows_getn(rows, 0, "status"), "recommended_time",
                          om_rows_getn(rows, 0, "recommended_time"), "final_scheduled_time",
                          om_rows_getn(rows, 0, "final_scheduled_time"));
    }
    om_rows_free(rows);
    char posted[OM_TIME_LEN] = "";
    if (ci.posted_at_us)
        om_time_iso(posted, ci.posted_at_us);
    json_t *title = ci.raw_metadata ? json_object_get(ci.raw_metadata, "title") : NULL;
    json_t *source = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:O?}", "post_id", ci.post_id,
                               "post_url", ci.post_url, "platform", ci.platform, "username",
                               ci.username, "posted_at", posted[0] ? posted : NULL, "video_path",
                               ci.video_path, "title", json_is_string(title) ? title : NULL);
    json_t *o = json_pack(
        "{s:s, s:s, s:f, s:f, s:s?, s:O, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "clip_id", id,
        "status", ci.status, "start", ci.start, "end", ci.end, "project_id",
        ci.project_id[0] ? ci.project_id : NULL, "metadata", ci.metadata, "words", words,
        "edit_plan", plan, "uploads", uploads, "explanation", x, "video_id", ci.video_id,
        "creator_id", ci.creator_id, "timezone", ci.timezone ? ci.timezone : "UTC");
    json_object_set_new(o, "source", source);
    json_object_set_new(o, "candidates", cands);
    json_object_set_new(o, "schedule", sched);
    json_t *cmds = om_json_from_db(ffmpeg); /* TEXT[] comes out as a JSON array */
    om_sbuf cmd = OM_SBUF_INIT;
    size_t ci_i;
    json_t *cv;
    json_array_foreach(cmds, ci_i, cv) {
        if (json_is_string(cv))
            sb_printf(&cmd, "%s%s", cmd.len ? "\n" : "", json_string_value(cv));
    }
    json_decref(cmds);
    json_object_set_new(o, "ffmpeg_command", cmd.len ? json_string(sb_str(&cmd)) : json_null());
    sb_release(&cmd);
    json_object_set_new(o, "render_path", render ? json_string(render) : json_null());
    json_object_set_new(o, "thumbnail", json_boolean(thumb != NULL));
    json_object_set_new(o, "project_name", ci.project_name ? json_string(ci.project_name)
                                                           : json_null());
    json_object_set_new(o, "created_at", ci.created_at ? json_string(ci.created_at) : json_null());
    json_object_set_new(o, "confidence", isnan(ci.confidence) ? json_null()
                                                              : json_real(ci.confidence));
    free(ffmpeg);
    free(render);
    free(thumb);
    om_clip_info_release(&ci);
    om_http_reply_json(r, 200, o);
}

/* approve: a CANDIDATE or REJECTED clip becomes SELECTED and gets its edit job; reject:
 * any clip not published becomes REJECTED; rerender: a new edit job (unique per request
 * time). */
static void clip_action(om_http_req *r, const char *action)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    char *status = NULL;
    int rc = om_store_query_value(r->store, "SELECT status FROM clips WHERE clip_id = ?",
                                  OM_PARAMS(OM_TEXT(id)), &status);
    if (rc == OM_ENOTFOUND) {
        om_http_reply_error(r, 404, "not_found", "id", "clip %s not found", id);
        return;
    }
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    char job[OM_UUID_LEN] = "";
    const char *to = NULL;
    if (strcmp(action, "approve") == 0) {
        if (strcmp(status, "CANDIDATE") && strcmp(status, "REJECTED")) {
            om_http_reply_error(r, 409, "conflict", "id",
                                "cannot approve clip %s: it is %s; only CANDIDATE or REJECTED "
                                "clips can be approved", id, status);
            free(status);
            return;
        }
        to = "SELECTED";
    } else if (strcmp(action, "reject") == 0) {
        if (strcmp(status, "PUBLISHED") == 0) {
            om_http_reply_error(r, 409, "conflict", "id",
                                "cannot reject clip %s: it is already PUBLISHED", id);
            free(status);
            return;
        }
        to = "REJECTED";
    } else if (strcmp(status, "CANDIDATE") == 0 || strcmp(status, "REJECTED") == 0) {
        om_http_reply_error(r, 409, "conflict", "id",
                            "cannot re-render clip %s: it is %s; approve it first", id, status);
        free(status);
        return;
    }
    free(status);
    rc = om_store_begin(r->store);
    if (!rc && to)
        rc = om_store_exec(r->store, "UPDATE clips SET status = ? WHERE clip_id = ?",
                           OM_PARAMS(OM_TEXT(to), OM_TEXT(id)), NULL);
    if (!rc && strcmp(action, "reject") != 0) {
        char *key = strcmp(action, "approve") == 0
                        ? xasprintf("edit:%s", id)
                        : xasprintf("rerender:%s:%lld", id, (long long)om_now_us());
        char *payload = xasprintf("{\"clip_id\":\"%s\",\"requested_by\":\"api\"}", id);
        om_job_spec spec = OM_JOB_SPEC_INIT;
        spec.type = "edit";
        spec.payload = payload;
        spec.unique_key = key;
        spec.priority = 7;
        rc = om_queue_enqueue_tx(r->queue, r->store, &spec, job);
        free(key);
        free(payload);
        if (rc == OM_EEXISTS)
            rc = OM_OK;
    }
    if (!rc)
        rc = om_store_commit(r->store);
    if (rc) {
        om_store_rollback(r->store);
        om_http_reply_om(r, rc, NULL);
        return;
    }
    size_t relayed;
    om_queue_relay(r->queue, &relayed);
    om_http_reply_json(r, 202, json_pack("{s:s, s:s?, s:s?}", "clip_id", id, "status", to,
                                         "job_id", job[0] ? job : NULL));
}

static void h_clip_approve(om_http_req *r)
{
    clip_action(r, "approve");
}
static void h_clip_reject(om_http_req *r)
{
    clip_action(r, "reject");
}
static void h_clip_rerender(om_http_req *r)
{
    clip_action(r, "rerender");
}

/* ---- jobs --------------------------------------------------------------------------- */

static const char *const job_states[] = {"ready", "delayed", "leased", "done", "dead", "outbox",
                                         NULL};

static int one_of(const char *s, const char *const *v)
{
    for (size_t i = 0; v[i]; i++)
        if (strcmp(s, v[i]) == 0)
            return 1;
    return 0;
}

static void h_jobs_list(om_http_req *r)
{
    if (api_query_only(r))
        return;
    om_queue_filter f = {om_http_param(&r->query, "state"), om_http_param(&r->query, "type"), 100};
    long limit = 100;
    if (api_query_long(r, "limit", 1, 1000, &limit))
        return;
    f.limit = (size_t)limit;
    if (f.state && !one_of(f.state, job_states)) {
        om_http_reply_error(r, 400, "bad_query", "state",
                            "state must be ready, delayed, leased, done, dead or outbox");
        return;
    }
    if (f.type && om_queue_type_valid(f.type)) {
        om_http_reply_error(r, 400, "bad_query", "type", "%s", om_error_msg());
        return;
    }
    om_job_list l = {NULL, 0};
    int rc = om_queue_list(r->queue, &f, &l);
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(arr, om_job_json(&l.jobs[i]));
    om_job_list_free(&l);
    om_http_reply_json(r, 200, json_pack("{s:o}", "jobs", arr));
}

static void h_job_show(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    om_job j;
    memset(&j, 0, sizeof(j));
    int rc = om_queue_get(r->queue, id, &j);
    if (rc) {
        om_http_reply_om(r, rc, "id");
        return;
    }
    json_t *o = om_job_json(&j);
    json_object_set_new(o, "events", om_job_events_json(r->store, id));
    om_job_release(&j);
    om_http_reply_json(r, 200, o);
}

static void h_job_retry(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    om_job j;
    memset(&j, 0, sizeof(j));
    int rc = om_queue_get(r->queue, id, &j);
    if (rc) {
        om_http_reply_om(r, rc, "id");
        return;
    }
    if (strcmp(j.state, "dead") != 0) {
        om_http_reply_error(r, 409, "conflict", "id",
                            "cannot retry job %s: it is %s; only dead jobs can be retried", id,
                            j.state);
        om_job_release(&j);
        return;
    }
    om_job_release(&j);
    rc = om_queue_retry(r->queue, id);
    if (rc)
        om_http_reply_om(r, rc, "id");
    else
        om_http_reply_json(r, 200, json_pack("{s:s, s:s}", "job_id", id, "state", "ready"));
}

/* POST /api/v1/jobs/retry {"type"?: T, "ids"?: [..], "error"?: "substring"}: every dead
 * job matching the filter back to ready (at most 10,000 per call). */
static void h_jobs_retry_bulk(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b))
        return;
    static const char *const allowed[] = {"type", "ids", "error", "state", NULL};
    int bad = body_only(r, b, allowed) != 0;
    const char *type = bad ? NULL : body_str(r, b, "type", 0, &bad);
    const char *err = bad ? NULL : body_str(r, b, "error", 0, &bad);
    const char *state = bad ? NULL : body_str(r, b, "state", 0, &bad);
    json_t *ids = json_object_get(b, "ids");
    if (!bad && state && strcmp(state, "dead") != 0) {
        om_http_reply_error(r, 422, "invalid", "state", "only dead jobs can be retried, not %s",
                            state);
        bad = 1;
    }
    if (!bad && type && om_queue_type_valid(type)) {
        om_http_reply_error(r, 422, "invalid", "type", "%s", om_error_msg());
        bad = 1;
    }
    if (!bad && ids && !json_is_array(ids)) {
        om_http_reply_error(r, 422, "invalid", "ids", "ids must be an array of job ids");
        bad = 1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(bad ? NULL : ids, i, v) {
        if (!json_is_string(v) || !om_uuid_valid(json_string_value(v))) {
            om_http_reply_error(r, 422, "invalid", "ids", "ids[%zu] is not a job id (UUID)", i);
            bad = 1;
            break;
        }
    }
    if (bad) {
        json_decref(b);
        return;
    }
    om_queue_filter f = {"dead", type, 10000};
    om_job_list l = {NULL, 0};
    int rc = om_queue_list(r->queue, &f, &l);
    if (rc) {
        json_decref(b);
        om_http_reply_om(r, rc, NULL);
        return;
    }
    json_t *done = json_array();
    for (size_t k = 0; k < l.n && rc == OM_OK; k++) {
        om_job *j = &l.jobs[k];
        int want = 1;
        if (ids) {
            want = 0;
            json_array_foreach(ids, i, v) want |= strcmp(json_string_value(v), j->id) == 0;
        }
        if (want && err && *err)
            want = j->errors && strstr(j->errors, err) != NULL;
        if (!want)
            continue;
        rc = om_queue_retry(r->queue, j->id);
        if (rc == OM_ENOTFOUND || rc == OM_EBUSY || rc == OM_EINVAL)
            rc = OM_OK; /* retried or purged meanwhile by someone else */
        else if (rc == OM_OK)
            json_array_append_new(done, json_string(j->id));
    }
    om_job_list_free(&l);
    json_decref(b);
    if (rc) {
        json_decref(done);
        om_http_reply_om(r, rc, NULL);
        return;
    }
    om_http_reply_json(r, 200, json_pack("{s:I, s:o}", "retried", (json_int_t)json_array_size(done),
                                         "job_ids", done));
}

static void h_jobs_purge(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *st = om_http_param(&r->query, "state");
    if (!st)
        st = "dead";
    if (strcmp(st, "dead") && strcmp(st, "done")) {
        om_http_reply_error(r, 400, "bad_query", "state", "only dead or done jobs can be purged");
        return;
    }
    size_t n = 0;
    int rc = om_queue_purge(r->queue, st, &n);
    if (rc)
        om_http_reply_om(r, rc, NULL);
    else
        om_http_reply_json(r, 200, json_pack("{s:s, s:I}", "state", st, "purged", (json_int_t)n));
}

/* ---- schedule, ledger, incidents ---------------------------------------------------- */

static json_t *rows_json(om_rows *rows)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < om_rows_count(rows); i++) {
        json_t *o = json_object();
        for (size_t c = 0; c < om_rows_ncols(rows); c++) {
            const char *v = om_rows_get(rows, i, c);
            json_object_set_new(o, om_rows_colname(rows, c), v ? json_string(v) : json_null());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static void reply_query(om_http_req *r, const char *key, const char *sql, const om_val *p,
                        size_t np)
{
    om_rows *rows = NULL;
    int rc = om_store_query(r->store, sql, p, np, &rows);
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    om_http_reply_json(r, 200, json_pack("{s:o}", key, rows_json(rows)));
    om_rows_free(rows);
}

static void h_schedule(om_http_req *r)
{
    long limit = 100;
    if (api_query_only(r) || api_query_long(r, "limit", 1, 1000, &limit))
        return;
    char ts[OM_TIME_LEN];
    char *sql = xasprintf(
        "SELECT s.schedule_id, s.clip_id, s.final_scheduled_time, s.recommended_time, s.status, "
        "c.status AS clip_status, u.target, u.status AS upload_status FROM schedules s "
        "JOIN clips c ON c.clip_id = s.clip_id LEFT JOIN upload_jobs u ON u.clip_id = s.clip_id "
        "WHERE s.final_scheduled_time >= ? ORDER BY s.final_scheduled_time, u.target LIMIT %ld",
        limit);
    reply_query(r, "schedule", sql,
                OM_PARAMS(OM_TEXT(om_time_iso(ts, om_now_us() - 3600 * INT64_C(1000000)))));
    free(sql);
}

static void h_ledger_verify(om_http_req *r)
{
    if (api_query_only(r))
        return;
    om_stardust_report rep;
    int rc = om_stardust_verify(r->store, &rep);
    if (rc) {
        om_http_reply_om(r, rc, NULL);
        return;
    }
    om_http_reply_json(r, 200,
                       json_pack("{s:b, s:I, s:I, s:s?, s:s, s:s, s:I}", "ok", rep.ok, "packets",
                                 (json_int_t)rep.packets, "bad_seq", (json_int_t)rep.bad_seq,
                                 "bad_id", rep.bad_id[0] ? rep.bad_id : NULL, "reason", rep.reason,
                                 "last_hash", rep.last_hash, "head_packets",
                                 (json_int_t)rep.head_packets));
}

static void h_ledger_entity(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    json_t *l = NULL;
    int rc = om_stardust_for_entity(r->store, id, &l);
    if (rc)
        om_http_reply_om(r, rc, "id");
    else
        om_http_reply_json(r, 200, json_pack("{s:s, s:o}", "entity_id", id, "packets", l));
}

static void h_incidents(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *open = om_http_param(&r->query, "open");
    if (open && strcmp(open, "0") && strcmp(open, "1")) {
        om_http_reply_error(r, 400, "bad_query", "open", "open must be 0 or 1");
        return;
    }
    reply_query(r, "incidents",
                "SELECT incident_id, kind, severity, entity_type, entity_id, message, details, "
                "created_at, resolved_at FROM incidents "
                "WHERE (CAST(? AS TEXT) IS NULL OR (? = '1') = (resolved_at IS NULL)) "
                "ORDER BY created_at DESC LIMIT 500",
                OM_PARAMS(open ? OM_TEXT(open) : OM_NULL, open ? OM_TEXT(open) : OM_NULL));
}

static void h_incident_resolve(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    char ts[OM_TIME_LEN];
    char *at = NULL;
    int rc = om_store_query_value(r->store, "SELECT resolved_at FROM incidents WHERE incident_id = ?",
                                  OM_PARAMS(OM_TEXT(id)), &at);
    if (rc == OM_ENOTFOUND) {
        om_http_reply_error(r, 404, "not_found", "id", "incident %s not found", id);
        return;
    }
    if (!rc && at) {
        om_http_reply_error(r, 409, "conflict", "id", "incident %s was resolved at %s", id, at);
        free(at);
        return;
    }
    if (!rc)
        rc = om_store_exec(r->store, "UPDATE incidents SET resolved_at = ? WHERE incident_id = ?",
                           OM_PARAMS(OM_TEXT(om_time_iso(ts, om_now_us())), OM_TEXT(id)), NULL);
    if (rc)
        om_http_reply_om(r, rc, NULL);
    else
        om_http_reply_json(r, 200, json_pack("{s:s, s:s}", "incident_id", id, "resolved_at", ts));
}

/* ---- discoveries (stages/discovery.h) ------------------------------------------------ */

static void h_discoveries(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *st = om_http_param(&r->query, "status");
    if (st && strcmp(st, "proposed") && strcmp(st, "accepted") && strcmp(st, "rejected")) {
        om_http_reply_error(r, 400, "bad_query", "status",
                            "status must be proposed, accepted or rejected");
        return;
    }
    json_t *arr = NULL;
    int rc = om_discovery_list(r->store, om_http_param(&r->params, "id"), st, &arr);
    if (rc)
        om_http_reply_om(r, rc, "id");
    else
        om_http_reply_json(r, 200, json_pack("{s:o}", "discoveries", arr));
}

static void discovery_decide(om_http_req *r, int accept)
{
    const char *did;
    if (api_query_only(r) || api_param_uuid(r, "discovery", &did))
        return;
    json_t *row = NULL;
    int rc = om_discovery_decide(r->store, om_http_param(&r->params, "id"), did, accept, "api",
                                 &row);
    if (rc == OM_EINVAL && strstr(om_error_msg(), "already"))
        om_http_reply_error(r, 409, "conflict", "discovery", "%s", om_error_msg());
    else if (rc)
        om_http_reply_om(r, rc, "discovery");
    else
        om_http_reply_json(r, 200, row);
}

static void h_discovery_accept(om_http_req *r)
{
    discovery_decide(r, 1);
}

static void h_discovery_reject(om_http_req *r)
{
    discovery_decide(r, 0);
}

/* ---- files: previews and static assets ---------------------------------------------- */

/* 1 when `real` (a realpath) is `root` or below it. */
static int under(const char *real, const char *root)
{
    char *rr = root ? realpath(root, NULL) : NULL;
    if (!rr)
        return 0;
    size_t n = strlen(rr);
    int ok = strncmp(real, rr, n) == 0 && (real[n] == '/' || real[n] == 0);
    free(rr);
    return ok;
}

/* Serves `path` (must resolve under one of roots) honouring Range. */
static void serve_file(om_http_req *r, const char *path, const char *const *roots, size_t nroots,
                       const char *ctype)
{
    char *real = realpath(path, NULL);
    int ok = 0;
    for (size_t i = 0; real && i < nroots; i++)
        ok |= under(real, roots[i]);
    if (!real || !ok) {
        free(real);
        om_http_reply_error(r, real ? 403 : 404, real ? "forbidden" : "not_found", NULL,
                            real ? "that file is outside the served folders" : "no such file");
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    free(real);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        om_http_reply_error(r, 404, "not_found", NULL, "no such file");
        return;
    }
    uint64_t size = (uint64_t)sb.st_size, from = 0, to = size ? size - 1 : 0;
    const char *range = om_http_header(r, "Range");
    int partial = 0;
    if (range) {
        unsigned long long a = 0, b = 0;
        char dash_tail[2];
        if (strncmp(range, "bytes=", 6) != 0 || strchr(range, ',')) {
            range = NULL; /* not a single byte range: serve it all (RFC 9110 allows) */
        } else if (sscanf(range + 6, "-%llu%1s", &b, dash_tail) == 1 && b > 0) {
            from = b >= size ? 0 : size - b;
            partial = 1;
        } else if (sscanf(range + 6, "%llu-%llu%1s", &a, &b, dash_tail) == 2 && a <= b) {
            from = a;
            to = b < size ? b : size - 1;
            partial = 1;
        } else if (sscanf(range + 6, "%llu-%1s", &a, dash_tail) == 1) {
            from = a;
            partial = 1;
        } else {
            partial = -1;
        }
        if (partial && (from >= size || partial < 0)) {
            close(fd);
            om_http_add_header(r, "Content-Range: bytes */%llu", (unsigned long long)size);
            om_http_reply_error(r, 416, "bad_range", "Range", "range '%.60s' is outside the %llu-byte file",
                                range, (unsigned long long)size);
            return;
        }
    }
    om_http_reply_text(r, partial ? 206 : 200, ctype, "", 0);
    r->resp.fd = fd;
    r->resp.off = from;
    r->resp.len = size ? to - from + 1 : 0;
    om_http_add_header(r, "Accept-Ranges: bytes");
    if (partial)
        om_http_add_header(r, "Content-Range: bytes %llu-%llu/%llu", (unsigned long long)from,
                           (unsigned long long)to, (unsigned long long)size);
}

/* Serves the newest file of clip `id` that `sql` (one ? for the clip id) names, from under
 * one of `roots` only; 404 naming `what` when there is none. */
static void serve_clip_file(om_http_req *r, const char *id, const char *sql, const char *what,
                            const char *const *roots, size_t nroots, const char *ctype)
{
    char *path = NULL;
    int rc = om_store_query_value(r->store, sql, OM_PARAMS(OM_TEXT(id)), &path);
    if (rc == OM_ENOTFOUND || (!rc && !path)) {
        om_http_reply_error(r, 404, "not_found", "id", "clip %s has no %s", id, what);
    } else if (rc) {
        om_http_reply_om(r, rc, NULL);
    } else if (om_mstore_row_is_remote(path)) {
        /* the render lives in the bucket: served from this node's cache copy (fetched on a
         * miss), the one folder allowed being the cache's; the open descriptor keeps the
         * file even if the cache evicts it after om_mstore_free */
        om_mstore *ms = NULL;
        char *local = NULL;
        rc = om_mstore_open(&ms, r->cfg);
        if (rc == OM_OK)
            rc = om_mstore_local(ms, path, NULL, &local);
        if (rc == OM_ENOTFOUND) {
            om_http_reply_error(r, 404, "not_found", "id", "clip %s: its %s is not in the bucket",
                                id, what);
        } else if (rc) {
            om_http_reply_om(r, rc, NULL);
        } else {
            char *dir = xstrdup(local), *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
            char *rdir = realpath(dir, NULL);
            const char *croot[] = {rdir ? rdir : dir};
            serve_file(r, local, croot, 1, ctype);
            free(rdir);
            free(dir);
        }
        free(local);
        om_mstore_free(ms);
    } else {
        char *abs = om_config_path_from_row(r->cfg, path); /* rows keep home-relative paths */
        serve_file(r, abs, roots, nroots, ctype);
        free(abs);
    }
    free(path);
}

static void h_clip_preview(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    char *renders = xasprintf("%s/renders", om_config_media_dir(r->cfg));
    char *exports = xasprintf("%s/exports", home_of(r));
    const char *roots[] = {renders, exports};
    serve_clip_file(r, id,
                    "SELECT path FROM artifacts WHERE entity_id = ? AND kind IN "
                    "('render', 'export') ORDER BY CASE WHEN kind = 'render' THEN 0 "
                    "ELSE 1 END, created_at DESC LIMIT 1",
                    "rendered file", roots, 2, "video/mp4");
    free(renders);
    free(exports);
}

/* The frame the edit stage took when the clip rendered (artifact kind 'thumbnail', a JPEG
 * under media/renders); the same folder rule as the preview. */
static void h_clip_thumbnail(om_http_req *r)
{
    const char *id;
    if (api_query_only(r) || api_param_uuid(r, "id", &id))
        return;
    char *renders = xasprintf("%s/renders", om_config_media_dir(r->cfg));
    const char *roots[] = {renders};
    serve_clip_file(r, id,
                    "SELECT path FROM artifacts WHERE entity_id = ? AND kind = "
                    "'thumbnail' ORDER BY created_at DESC LIMIT 1",
                    "thumbnail", roots, 1, "image/jpeg");
    if (r->resp.status == 200)
        om_http_add_header(r, "Cache-Control: private, max-age=300");
    free(renders);
}

static const char *ctype_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript"},
        {".css", "text/css"}, {".json", "application/json"}, {".svg", "image/svg+xml"},
        {".png", "image/png"}, {".txt", "text/plain; charset=utf-8"}, {".mp4", "video/mp4"}};
    for (size_t i = 0; dot && i < OM_ARRAY_LEN(map); i++)
        if (strcmp(dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

static void h_static(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *dir = om_config_str(r->cfg, "http.static_dir");
    const char *name = om_http_param(&r->params, "file");
    if (!dir || !*dir) {
        om_http_reply_error(r, 404, "not_found", NULL, "no static folder configured (http.static_dir)");
        return;
    }
    char *path = xasprintf("%s/%s", dir, name);
    const char *roots[] = {dir};
    serve_file(r, path, roots, 1, ctype_of(name));
    free(path);
}

/* ---- the route table ---------------------------------------------------------------- */

#define R(m, p, fn, acc, sum, query) {m, p, acc, sum, query, (om_route_fn)fn}
const om_route om_api_routes[] = {
    R("GET", "/api/v1/openapi.json", h_openapi, API_PUBLIC, "this document", ""),
    R("POST", "/api/v1/login", h_login, API_PUBLIC, "sign in: sets the omniva_session cookie", ""),
    R("POST", "/api/v1/logout", h_logout, API_VIEWER, "sign out", ""),
    R("POST", "/api/v1/setup", h_setup, API_PUBLIC, "create the first admin (loopback, no users)",
      ""),
    R("GET", "/api/v1/me", h_me, API_VIEWER, "who is signed in", ""),
    R("GET", "/api/v1/projects", h_projects_list, API_VIEWER, "list projects", "archived"),
    R("POST", "/api/v1/projects", h_projects_create, API_OPERATOR, "create a project", ""),
    R("GET", "/api/v1/projects/:id", h_projects_show, API_VIEWER, "one project", ""),
    R("PATCH", "/api/v1/projects/:id", h_projects_update, API_OPERATOR, "patch the brand", ""),
    R("POST", "/api/v1/projects/:id/archive", h_projects_archive, API_OPERATOR, "archive a project",
      ""),
    R("GET", "/api/v1/projects/:id/creators", h_creators_list, API_VIEWER, "the project's creators",
      ""),
    R("POST", "/api/v1/projects/:id/creators", h_creators_add, API_OPERATOR,
      "follow a creator (url)", ""),
    R("DELETE", "/api/v1/projects/:id/creators/:creator", h_creators_remove, API_OPERATOR,
      "unfollow a creator", ""),
    R("GET", "/api/v1/clips", h_clips_list, API_VIEWER, "list clips (filters, sort, paging)",
      "project,status,creator,since,until,min_score:number,limit:integer,offset:integer,cursor,"
      "sort"),
    R("GET", "/api/v1/clips/:id", h_clip_show, API_VIEWER, "one clip with everything", ""),
    R("GET", "/api/v1/clips/:id/preview", h_clip_preview, API_VIEWER, "the rendered file (Range)",
      ""),
    R("GET", "/api/v1/clips/:id/thumbnail", h_clip_thumbnail, API_VIEWER,
      "a JPEG frame of the render (at the hook)", "v"),
    R("POST", "/api/v1/clips/:id/approve", h_clip_approve, API_OPERATOR, "select + enqueue edit",
      ""),
    R("POST", "/api/v1/clips/:id/reject", h_clip_reject, API_OPERATOR, "reject", ""),
    R("POST", "/api/v1/clips/:id/rerender", h_clip_rerender, API_OPERATOR, "enqueue a new edit",
      ""),
    R("GET", "/api/v1/jobs", h_jobs_list, API_VIEWER, "list jobs (type, state)",
      "type,state,limit:integer"),
    R("POST", "/api/v1/jobs/purge", h_jobs_purge, API_OPERATOR, "purge dead (or done) jobs",
      "state"),
    R("POST", "/api/v1/jobs/retry", h_jobs_retry_bulk, API_OPERATOR,
      "retry every dead job matching {type, ids, error}", ""),
    R("GET", "/api/v1/jobs/:id", h_job_show, API_VIEWER, "one job with its error history", ""),
    R("POST", "/api/v1/jobs/:id/retry", h_job_retry, API_OPERATOR, "retry a dead job", ""),
    R("GET", "/api/v1/schedule", h_schedule, API_VIEWER, "upcoming publications", "limit:integer"),
    R("GET", "/api/v1/ledger/verify", h_ledger_verify, API_VIEWER, "verify the Stardust chain", ""),
    R("GET", "/api/v1/ledger/:id", h_ledger_entity, API_VIEWER, "packets of an entity", ""),
    R("GET", "/api/v1/incidents", h_incidents, API_VIEWER, "incidents (open=1 for open ones)",
      "open"),
    R("POST", "/api/v1/incidents/:id/resolve", h_incident_resolve, API_OPERATOR, "resolve", ""),
    R("GET", "/api/v1/stats", h_stats, API_VIEWER, "per-stage counts, throughput, queue depth", ""),
    R("GET", "/api/v1/events", h_events, API_VIEWER, "Server-Sent Events (Last-Event-ID)",
      "last_event_id"),
    R("GET", "/metrics", h_metrics, API_VIEWER, "Prometheus text format", ""),
    R("GET", "/static/:file", h_static, API_PUBLIC, "files of http.static_dir", "v"),
    R("GET", "/api/v1/projects/:id/discoveries", h_discoveries, API_VIEWER,
      "creators the discovery worker proposes (status=proposed|accepted|rejected)", "status"),
    R("POST", "/api/v1/projects/:id/discoveries/:discovery/accept", h_discovery_accept,
      API_OPERATOR, "follow a proposed creator", ""),
    R("POST", "/api/v1/projects/:id/discoveries/:discovery/reject", h_discovery_reject,
      API_OPERATOR, "reject a proposed creator", ""),
    R("GET", "/", h_index, API_PUBLIC, "the dashboard (embedded page)", ""),
    R("GET", "/assets/:file", h_asset, API_PUBLIC, "the dashboard's embedded files (ETag)", "v"),
    R("GET", "/api/v1/logs", h_logs, API_VIEWER,
      "log lines: job, project, level, q (text), before (cursor), limit",
      "job,project,level,q,before,limit:integer"),
    R("GET", "/api/v1/users", h_users_list, API_ADMIN, "users and their roles", ""),
    R("POST", "/api/v1/users", h_users_add, API_ADMIN, "add a user {name, role, password}", ""),
    R("PATCH", "/api/v1/users/:name", h_users_update, API_ADMIN, "change {role, password}", ""),
    R("DELETE", "/api/v1/users/:name", h_users_remove, API_ADMIN,
      "remove a user (its sessions and tokens)", ""),
    R("GET", "/api/v1/settings", h_settings_show, API_ADMIN,
      "every setting: value, origin, default, doc (secrets as ***)", ""),
    R("PATCH", "/api/v1/settings", h_settings_update, API_ADMIN,
      "set {\"section.key\": value|null} in omniva.conf (a restart applies it)", ""),
    R("GET", "/api/v1/tokens", h_tokens_list, API_VIEWER, "your API tokens", ""),
    R("POST", "/api/v1/tokens", h_tokens_create, API_VIEWER,
      "a new API token {label}: the secret is shown once", ""),
    R("DELETE", "/api/v1/tokens/:id", h_tokens_revoke, API_VIEWER, "revoke one of your tokens", ""),
};

const size_t om_api_nroutes = OM_ARRAY_LEN(om_api_routes);

void om_api_handle(om_http_req *r)
{
    char allow[64];
    /* HEAD is GET without the body (libmicrohttpd drops it) */
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    int i = om_route_match(om_api_routes, om_api_nroutes, method, r->path, &r->params, allow);
    if (i == OM_ROUTE_BAD_PATH) {
        om_http_reply_error(r, 400, "bad_path", NULL, "%s", om_error_msg());
        return;
    }
    if (i == OM_ROUTE_NOT_FOUND) {
        om_http_reply_error(r, 404, "not_found", NULL, "no route %s %.200s", r->method, r->path);
        return;
    }
    if (i == OM_ROUTE_BAD_METHOD) {
        om_http_add_header(r, "Allow: %s", allow);
        om_http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed here; use %s",
                            r->method, allow);
        return;
    }
    int access = om_api_routes[i].access;
    if (strcmp(om_api_routes[i].pattern, "/metrics") == 0 &&
        om_config_bool(r->cfg, "http.metrics_public"))
        access = API_PUBLIC;
    if (api_authorize(r, access))
        return;
    /* reads run as the read-only role (PostgreSQL); sign-in itself needed the login role,
     * and so does listing one's own API tokens (auth data the read-only role cannot see) */
    if (r->store_ro && (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) &&
        strcmp(om_api_routes[i].pattern, "/api/v1/tokens") != 0)
        r->store = r->store_ro;
    r->route = &om_api_routes[i];
    ((api_handler_fn)om_api_routes[i].fn)(r);
}
