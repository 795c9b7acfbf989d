/*
 * cmd_pipeline.c: the product's commands: `omniva project ...`, `omniva creator ...`,
 * `omniva run`, `omniva clips`, `omniva explain` and `omniva demo`. They are thin: the work
 * is in stages/projects.c (validation), the stages (pipeline), stages/halolux.c
 * (explanations) and runtime/worker.c (running it).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "oversight/eclipse.h"
#include "stages/halolux.h"
#include "runtime/runtime.h"
#include "stages/demo.h"
#include "stages/projects.h"
#include "stages/stages.h"

#include <limits.h>
#include <math.h>
#include <strings.h>

/* ---- projects ------------------------------------------------------------------------ */

/* Reads --brand FILE (NULL when absent). Prints the error. */
static int read_brand(cli_args *a, char **out)
{
    *out = NULL;
    const char *file = cli_get(a, "brand");
    if (file && om_brand_read_file(file, out))
        return cli_error_om("--brand %s", file);
    return CLI_OK;
}

int check_project_update(cli_ctx *c, cli_args *a)
{
    if (!cli_get(a, "brand"))
        return cli_usage_error(c, "'%s' needs --brand FILE (the settings to change)", c->path);
    return CLI_OK;
}

static void print_project(cli_ctx *c, const char *id)
{
    json_t *p = NULL;
    if (om_project_get(c->ws.store, id, &p) == OM_OK)
        cli_print_json(p);
    json_decref(p);
}

int cmd_project_create(cli_ctx *c, cli_args *a)
{
    char *brand = NULL;
    int rc = read_brand(a, &brand);
    if (rc)
        return rc;
    char id[OM_UUID_LEN];
    if (om_project_create(c->ws.store, a->pos[0], brand, om_config_home(c->ws.cfg), id))
        rc = cli_error_om("cannot create project '%s'", a->pos[0]);
    else if (cli_flag(a, "json"))
        print_project(c, id);
    else
        printf("project %s created (%s)\n", a->pos[0], id);
    free(brand);
    return rc;
}

int cmd_project_update(cli_ctx *c, cli_args *a)
{
    char *brand = NULL;
    int rc = read_brand(a, &brand);
    if (rc)
        return rc;
    char id[OM_UUID_LEN];
    int orc = om_project_resolve(c->ws.store, a->pos[0], id);
    if (orc == OM_ENOTFOUND)
        rc = cli_error("project '%s' not found", a->pos[0]);
    else if (orc)
        rc = cli_error_om("project '%s'", a->pos[0]);
    else if (om_project_update_brand(c->ws.store, id, brand, om_config_home(c->ws.cfg)))
        rc = cli_error_om("cannot update project '%s'", a->pos[0]);
    else if (cli_flag(a, "json"))
        print_project(c, id);
    else
        printf("project %s updated (%s)\n", a->pos[0], id);
    free(brand);
    return rc;
}

/* Clips of the videos of the creators the project follows. */
static const char *project_clips_sql =
    "SELECT COUNT(*) FROM clips cl JOIN videos v ON v.video_id = cl.video_id "
    "JOIN posts po ON po.post_id = v.post_id "
    "JOIN project_creators pc ON pc.creator_id = po.creator_id WHERE pc.project_id = ?";

int cmd_project_delete(cli_ctx *c, cli_args *a)
{
    om_store *s = c->ws.store;
    char id[OM_UUID_LEN];
    int rc = om_project_resolve(s, a->pos[0], id);
    if (rc == OM_ENOTFOUND)
        return cli_error("project '%s' not found", a->pos[0]);
    if (rc)
        return cli_error_om("project '%s'", a->pos[0]);
    char *v = NULL;
    long long clips = 0, links = 0;
    if (om_store_query_value(s, project_clips_sql, OM_PARAMS(OM_TEXT(id)), &v) == OM_OK)
        clips = strtoll(v, NULL, 10);
    free(v);
    v = NULL;
    if (om_store_query_value(s, "SELECT COUNT(*) FROM project_creators WHERE project_id = ?",
                             OM_PARAMS(OM_TEXT(id)), &v) == OM_OK)
        links = strtoll(v, NULL, 10);
    free(v);
    if (clips > 0 && !cli_flag(a, "force"))
        return cli_error("project '%s' has %lld clips; pass --force to delete it anyway (the "
                         "clips, their files and the ledger stay)", a->pos[0], clips);
    rc = om_store_begin(s);
    if (rc == OM_OK)
        rc = om_store_exec(s, "DELETE FROM project_creators WHERE project_id = ?",
                           OM_PARAMS(OM_TEXT(id)), NULL);
    if (rc == OM_OK)
        rc = om_store_exec(s, "DELETE FROM projects WHERE project_id = ?",
                           OM_PARAMS(OM_TEXT(id)), NULL);
    if (rc == OM_OK)
        rc = om_store_commit(s);
    if (rc) {
        om_store_rollback(s);
        return cli_error_om("cannot delete project '%s'", a->pos[0]);
    }
    printf("project %s deleted (%s): removed the project and its %lld creator links", a->pos[0],
           id, links);
    if (clips)
        printf("; its %lld clips, their videos, files and ledger packets stay", clips);
    printf("\n");
    return CLI_OK;
}

int cmd_project_show(cli_ctx *c, cli_args *a)
{
    int rc = CLI_OK;
    json_t *p = NULL;
    int orc = om_project_get(c->ws.store, a->pos[0], &p);
    if (orc == OM_ENOTFOUND) {
        rc = cli_error("project '%s' not found", a->pos[0]);
    } else if (orc) {
        rc = cli_error_om("project '%s'", a->pos[0]);
    } else {
        json_t *creators = NULL;
        if (om_creator_list(c->ws.store, a->pos[0], &creators) == OM_OK)
            json_object_set_new(p, "creators", creators);
        cli_print_json(p);
    }
    json_decref(p);
    return rc;
}

int cmd_project_list(cli_ctx *c, cli_args *a)
{
    int rc = CLI_OK;
    json_t *list = NULL;
    if (om_project_list(c->ws.store, &list)) {
        rc = cli_error_om("listing projects");
    } else if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else {
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p)
        {
            printf("%s  %s\n", json_string_value(json_object_get(p, "project_id")),
                   json_string_value(json_object_get(p, "name")));
        }
        if (json_array_size(list) == 0)
            printf("no projects (create one with 'omniva project create NAME')\n");
    }
    json_decref(list);
    return rc;
}

/* ---- creators ------------------------------------------------------------------------ */

int cmd_creator_add(cli_ctx *c, cli_args *a)
{
    int rc = CLI_OK;
    char id[OM_UUID_LEN];
    int created = 0, linked = 0;
    if (om_creator_add_ex(c->ws.store, a->pos[0], a->pos[1], id, &created, &linked)) {
        rc = cli_error_om("cannot add creator %s", a->pos[1]);
    } else if (cli_flag(a, "json")) {
        json_t *cr = NULL;
        if (om_creator_get(c->ws.store, id, &cr) == OM_OK) {
            json_object_set_new(cr, "created", json_boolean(created));
            json_object_set_new(cr, "linked", json_boolean(linked));
            cli_print_json(cr);
        }
        json_decref(cr);
    } else {
        printf("creator %s %s%s\n", id, created ? "added" : "already known",
               linked ? ", linked to the project" : "");
    }
    return rc;
}

/* Each creator's circuit breaker (src/oversight/eclipse.h) as "breaker". */
static int breakers_into(om_store *s, json_t *list)
{
    size_t i;
    json_t *cr;
    json_array_foreach(list, i, cr)
    {
        json_t *b = NULL;
        if (om_breaker_get(s, "creators", json_string_value(json_object_get(cr, "creator_id")),
                           &b))
            return cli_error_om("reading circuit breakers");
        json_object_set_new(cr, "breaker", b);
    }
    return CLI_OK;
}

int cmd_creator_list(cli_ctx *c, cli_args *a)
{
    int rc = CLI_OK;
    json_t *list = NULL;
    int orc = om_creator_list(c->ws.store, a->pos[0], &list);
    if (orc == OM_ENOTFOUND) {
        rc = cli_error("project '%s' not found", a->pos[0]);
    } else if (orc) {
        rc = cli_error_om("listing creators of '%s'", a->pos[0]);
    } else if ((rc = breakers_into(c->ws.store, list)) != CLI_OK) {
    } else if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else {
        size_t i;
        json_t *cr;
        json_array_foreach(list, i, cr)
        {
            json_t *b = json_object_get(cr, "breaker");
            const char *state = json_string_value(json_object_get(b, "state"));
            printf("%s  %-10s %-24s %s",
                   json_string_value(json_object_get(cr, "creator_id")),
                   json_string_value(json_object_get(cr, "platform")),
                   json_string_value(json_object_get(cr, "username")),
                   json_string_value(json_object_get(cr, "profile_url")));
            if (state && strcmp(state, "closed") != 0) /* Eclipse quarantined it */
                printf("  [breaker %s after %lld failures]", state,
                       (long long)json_integer_value(json_object_get(b, "failures")));
            printf("\n");
        }
        if (json_array_size(list) == 0)
            printf("no creators (add one with 'omniva creator add %s URL')\n", a->pos[0]);
    }
    json_decref(list);
    return rc;
}

int cmd_creator_remove(cli_ctx *c, cli_args *a)
{
    int rc = om_creator_remove(c->ws.store, a->pos[0], a->pos[1]);
    if (rc == OM_ENOTFOUND) /* names the project or the creator that is missing */
        return cli_error("%s", om_error_msg());
    if (rc)
        return cli_error_om("cannot remove creator %s from '%s'", a->pos[1], a->pos[0]);
    printf("creator %s removed from %s\n", a->pos[1], a->pos[0]);
    return CLI_OK;
}

/* ---- clips, videos and explanations ------------------------------------------------ */

static const char *const clip_statuses[] = {"CANDIDATE", "SELECTED",  "REJECTED",
                                            "RENDERED",  "SCHEDULED", "PUBLISHED", NULL};

const char *cli_clips_sql =
    "SELECT c.clip_id, c.status, c.start_time, c.end_time, c.confidence, c.lattice_priority, "
    "c.metadata, v.file_path, a.virality_score, a.relevance_score, "
    "(SELECT path FROM artifacts r WHERE r.kind = 'render' AND r.entity_id = c.clip_id "
    " ORDER BY r.created_at DESC LIMIT 1) AS render_path, "
    "(SELECT path FROM artifacts e WHERE e.kind = 'export' AND e.entity_id = c.clip_id "
    " ORDER BY e.created_at DESC LIMIT 1) AS export_path, "
    "(SELECT final_scheduled_time FROM schedules s WHERE s.clip_id = c.clip_id) AS scheduled "
    "FROM clips c JOIN videos v ON v.video_id = c.video_id "
    "LEFT JOIN analysis a ON a.analysis_id = c.analysis_id "
    "WHERE (CAST(? AS TEXT) IS NULL OR c.status = ?) "
    "ORDER BY CASE WHEN c.lattice_priority IS NULL THEN 1 ELSE 0 END, c.lattice_priority DESC, "
    "c.confidence DESC";

/* One page of the same list: the page is picked on clips alone (the ranking walks
 * clips_rank_idx, migration 13), then the details of those rows only. */
static const char clips_page_sql[] =
    "SELECT c.clip_id, c.status, c.start_time, c.end_time, c.confidence, c.lattice_priority, "
    "c.metadata, v.file_path, a.virality_score, a.relevance_score, "
    "(SELECT path FROM artifacts r WHERE r.kind = 'render' AND r.entity_id = c.clip_id "
    " ORDER BY r.created_at DESC LIMIT 1) AS render_path, "
    "(SELECT path FROM artifacts e WHERE e.kind = 'export' AND e.entity_id = c.clip_id "
    " ORDER BY e.created_at DESC LIMIT 1) AS export_path, "
    "(SELECT final_scheduled_time FROM schedules s WHERE s.clip_id = c.clip_id) AS scheduled "
    "FROM (SELECT p.clip_id FROM clips p WHERE (CAST(? AS TEXT) IS NULL OR p.status = ?) "
    "ORDER BY CASE WHEN p.lattice_priority IS NULL THEN 1 ELSE 0 END, p.lattice_priority DESC, "
    "p.confidence DESC LIMIT ? OFFSET ?) pg "
    "JOIN clips c ON c.clip_id = pg.clip_id JOIN videos v ON v.video_id = c.video_id "
    "LEFT JOIN analysis a ON a.analysis_id = c.analysis_id "
    "ORDER BY CASE WHEN c.lattice_priority IS NULL THEN 1 ELSE 0 END, c.lattice_priority DESC, "
    "c.confidence DESC";

static double rowd(om_rows *r, size_t i, const char *col)
{
    return om_rows_real(r, i, col, NAN);
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "-";
}

/* A path column as the user can open it (rows hold paths relative to the home). */
static void print_path(const om_config *cfg, const char *label, const char *stored)
{
    if (!stored)
        return;
    char *p = om_config_path_from_row(cfg, stored);
    printf("    %-10s %s\n", label, p);
    free(p);
}

static int is_path_column(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && !strcmp(name + n - 4, "path");
}

void cli_print_clips(const om_config *cfg, om_rows *r)
{
    size_t n = om_rows_count(r);
    for (size_t i = 0; i < n; i++) {
        json_t *meta = json_loads(om_rows_getn(r, i, "metadata") ? om_rows_getn(r, i, "metadata")
                                                                  : "{}",
                                  0, NULL);
        const char *text = json_string_value(json_object_get(meta, "transcript"));
        printf("%2zu. %s  %-9s %s %6.1f-%6.1f s  confidence %.2f  priority %.2f\n", i + 1,
               om_rows_getn(r, i, "clip_id"), om_rows_getn(r, i, "status"),
               base_name(om_rows_getn(r, i, "file_path")), rowd(r, i, "start_time"),
               rowd(r, i, "end_time"), rowd(r, i, "confidence"), rowd(r, i, "lattice_priority"));
        if (text)
            printf("    \"%.110s%s\"\n", text, strlen(text) > 110 ? "..." : "");
        print_path(cfg, "rendered:", om_rows_getn(r, i, "render_path"));
        if (om_rows_getn(r, i, "scheduled"))
            printf("    scheduled: %s\n", om_rows_getn(r, i, "scheduled"));
        print_path(cfg, "exported:", om_rows_getn(r, i, "export_path"));
        json_decref(meta);
    }
}

static json_t *clips_json(const om_config *cfg, om_rows *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        json_t *o = json_object();
        for (size_t k = 0; k < om_rows_ncols(r); k++) {
            const char *name = om_rows_colname(r, k), *v = om_rows_get(r, i, k);
            json_t *val = NULL;
            if (!v)
                val = json_null();
            else if (!strcmp(name, "metadata"))
                val = json_loads(v, 0, NULL);
            else if (is_path_column(name)) {
                char *p = om_config_path_from_row(cfg, v);
                val = json_string(p);
                free(p);
            }
            else if (strstr(name, "time") || strstr(name, "score") ||
                     !strcmp(name, "confidence") || !strcmp(name, "lattice_priority"))
                val = json_real(strtod(v, NULL));
            json_object_set_new(o, name, val ? val : json_string(v));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* One row per video: what it is, its clips, the latest analysis' raw output. */
static const char *videos_sql =
    "SELECT v.video_id, v.file_path, v.duration_seconds, v.created_at, po.url, "
    "cr.username AS creator, "
    "(SELECT COUNT(*) FROM clips c WHERE c.video_id = v.video_id) AS candidates, "
    "(SELECT COUNT(*) FROM clips c WHERE c.video_id = v.video_id AND "
    " c.status IN ('RENDERED', 'SCHEDULED', 'PUBLISHED')) AS clips, "
    "(SELECT COUNT(*) FROM clips c WHERE c.video_id = v.video_id AND "
    " c.status = 'PUBLISHED') AS published, "
    "(SELECT COUNT(*) FROM analysis a WHERE a.video_id = v.video_id) AS analyses, "
    "(SELECT a.raw_ai_output FROM analysis a WHERE a.video_id = v.video_id "
    " ORDER BY a.created_at DESC, a.analysis_id DESC LIMIT 1) AS raw_ai_output "
    "FROM videos v JOIN posts po ON po.post_id = v.post_id "
    "JOIN creators cr ON cr.creator_id = po.creator_id "
    "WHERE (CAST(? AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM project_creators pc "
    " WHERE pc.creator_id = po.creator_id AND pc.project_id = ?)) "
    "ORDER BY v.created_at, v.video_id";

/* video_id -> last error of its dead analyze job, from the queue (best effort: a queue that
 * cannot be opened leaves the reasons to the analysis rows). New reference. */
static json_t *dead_analyses(cli_ctx *c)
{
    json_t *out = json_object();
    om_queue *q = c->ws.queue;
    int own = 0;
    if (!q) {
        if (om_queue_open(&q, om_config_queue_url(c->ws.cfg), c->ws.store))
            return out;
        own = 1;
    }
    om_queue_filter f = {"dead", "analyze", 1000};
    om_job_list l = {NULL, 0};
    if (om_queue_list(q, &f, &l) == OM_OK) {
        for (size_t i = 0; i < l.n; i++) {
            json_t *p = json_loads(l.jobs[i].payload ? l.jobs[i].payload : "{}", 0, NULL);
            json_t *errs = json_loads(l.jobs[i].errors ? l.jobs[i].errors : "[]", 0, NULL);
            const char *vid = json_string_value(json_object_get(p, "video_id"));
            json_t *last = json_array_get(errs, json_array_size(errs) - 1);
            const char *e = json_string_value(json_object_get(last, "error"));
            if (vid)
                json_object_set_new(out, vid, json_string(e ? e : "analysis failed"));
            json_decref(p);
            json_decref(errs);
        }
    }
    om_job_list_free(&l);
    if (own)
        om_queue_free(q);
    return out;
}

/* The videos as JSON objects: video_id, file, creator, status, candidates, clips,
 * published, no_clip_reason, no_clip_code. */
static int videos_collect(cli_ctx *c, const char *project_id, json_t **out)
{
    *out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(c->ws.store, videos_sql,
                            OM_PARAMS(OM_TEXT(project_id), OM_TEXT(project_id)), &r);
    if (rc)
        return rc;
    json_t *dead = om_rows_count(r) ? dead_analyses(c) : json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *vid = om_rows_getn(r, i, "video_id");
        int64_t cands = om_rows_int(r, i, "candidates", 0), clips = om_rows_int(r, i, "clips", 0);
        int64_t published = om_rows_int(r, i, "published", 0);
        int64_t analyses = om_rows_int(r, i, "analyses", 0);
        const char *raw_text = om_rows_getn(r, i, "raw_ai_output");
        json_t *raw = raw_text ? json_loads(raw_text, 0, NULL) : NULL;
        const char *reason = json_string_value(json_object_get(raw, "no_clip_reason"));
        const char *code = json_string_value(json_object_get(raw, "no_clip_code"));
        const char *failed = json_string_value(json_object_get(dead, vid));
        const char *status;
        char *why = NULL;
        if (published)
            status = "published";
        else if (clips)
            status = "clipped";
        else if (analyses)
            status = "no clip";
        else if (failed)
            status = "failed";
        else
            status = "pending";
        if (!clips) {
            if (reason)
                why = xstrdup(reason);
            else if (!analyses && failed)
                why = xasprintf("analysis failed: %s", failed);
            else if (!analyses)
                why = xstrdup("not analysed yet");
            else if (cands == 0)
                why = xstrdup("the analysis found no clip candidate");
            else
                why = xasprintf("%lld candidates, none rendered yet (rejected or in progress)",
                                (long long)cands);
        }
        char *file = om_config_path_from_row(c->ws.cfg, om_rows_getn(r, i, "file_path"));
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "video_id", vid, "file",
                              file, "creator",
                              om_rows_getn(r, i, "creator"), "status", status, "candidates",
                              (json_int_t)cands, "clips", (json_int_t)clips, "published",
                              (json_int_t)published);
        free(file);
        json_object_set_new(o, "no_clip_reason", why ? json_string(why) : json_null());
        json_object_set_new(o, "no_clip_code", code && !clips ? json_string(code) : json_null());
        const char *shortfall = json_string_value(json_object_get(raw, "shortfall_reason"));
        json_object_set_new(o, "shortfall_reason",
                            shortfall && clips ? json_string(shortfall) : json_null());
        json_array_append_new(arr, o);
        free(why);
        json_decref(raw);
    }
    json_decref(dead);
    om_rows_free(r);
    *out = arr;
    return OM_OK;
}

static void print_video(size_t i, json_t *v)
{
    printf("%2zu. %s  %-9s %s (%s)  clips %lld", i + 1,
           json_string_value(json_object_get(v, "video_id")),
           json_string_value(json_object_get(v, "status")),
           base_name(json_string_value(json_object_get(v, "file"))),
           json_string_value(json_object_get(v, "creator")),
           (long long)json_integer_value(json_object_get(v, "clips")));
    const char *why = json_string_value(json_object_get(v, "no_clip_reason"));
    const char *code = json_string_value(json_object_get(v, "no_clip_code"));
    if (why)
        printf("\n    no clip: %s%s%s%s", why, code ? " [" : "", code ? code : "", code ? "]" : "");
    const char *shortfall = json_string_value(json_object_get(v, "shortfall_reason"));
    if (shortfall)
        printf("\n    fewer clips: %s", shortfall);
    printf("\n");
}

int cmd_videos(cli_ctx *c, cli_args *a)
{
    const char *project = cli_get(a, "project");
    char pid[OM_UUID_LEN];
    if (project) {
        int rc = om_project_resolve(c->ws.store, project, pid);
        if (rc == OM_ENOTFOUND)
            return cli_error("project '%s' not found", project);
        if (rc)
            return cli_error_om("project '%s'", project);
    }
    json_t *arr = NULL;
    if (videos_collect(c, project ? pid : NULL, &arr))
        return cli_error_om("listing videos");
    if (cli_flag(a, "json")) {
        cli_print_json(arr);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) print_video(i, v);
        if (json_array_size(arr) == 0)
            printf("no videos yet (follow a creator with 'omniva creator add', then "
                   "'omniva run')\n");
    }
    json_decref(arr);
    return CLI_OK;
}

int check_clips(cli_ctx *c, cli_args *a)
{
    const char *status = cli_get(a, "status");
    if (status && !cli_one_of(status, clip_statuses))
        return cli_usage_error(c, "unknown clip status '%s' (candidate, selected, rejected, "
                                  "rendered, scheduled, published)", status);
    long limit = 50, offset = 0;
    int rc = cli_get_int(a, "limit", 0, 1000000, &limit);
    if (rc == CLI_OK)
        rc = cli_get_int(a, "offset", 0, LONG_MAX, &offset);
    return rc;
}

int cmd_clips(cli_ctx *c, cli_args *a)
{
    const char *given = cli_get(a, "status");
    const char *status = NULL;
    for (const char *const *k = clip_statuses; given && *k; k++)
        if (!strcasecmp(*k, given))
            status = *k; /* the store's spelling (upper case) */
    long limit = 50, offset = 0;
    cli_get_int(a, "limit", 0, 1000000, &limit);
    cli_get_int(a, "offset", 0, LONG_MAX, &offset);
    om_rows *r = NULL;
    int rc = CLI_OK;
    int q = limit == 0 ? om_store_query(c->ws.store, cli_clips_sql,
                                        OM_PARAMS(OM_TEXT(status), OM_TEXT(status)), &r)
                       : om_store_query(c->ws.store, clips_page_sql,
                                        OM_PARAMS(OM_TEXT(status), OM_TEXT(status),
                                                  OM_INT(limit), OM_INT(offset)),
                                        &r);
    if (q) {
        rc = cli_error_om("listing clips");
    } else if (cli_flag(a, "json")) {
        json_t *j = clips_json(c->ws.cfg, r);
        cli_print_json(j);
        json_decref(j);
    } else if (om_rows_count(r) > 0) {
        cli_print_clips(c->ws.cfg, r);
        if (limit > 0 && om_rows_count(r) == (size_t)limit)
            printf("(clips %ld-%ld; --offset %ld for the next page, --limit 0 for all)\n",
                   offset + 1, offset + limit, offset + limit);
    } else if (offset > 0) {
        printf("no clips past %ld\n", offset);
    } else if (status) {
        printf("no %s clips\n", given);
    } else {
        /* say why: the videos and what became of them */
        json_t *vids = NULL;
        if (videos_collect(c, NULL, &vids) != OM_OK || json_array_size(vids) == 0) {
            printf("no clips yet (no videos yet: follow a creator with 'omniva creator add', "
                   "then 'omniva run')\n");
        } else {
            printf("no clips yet; %zu videos:\n", json_array_size(vids));
            size_t i;
            json_t *v;
            json_array_foreach(vids, i, v) print_video(i, v);
        }
        json_decref(vids);
    }
    om_rows_free(r);
    return rc;
}

int check_clip_id(cli_ctx *c, cli_args *a)
{
    if (!om_uuid_valid(a->pos[0]))
        return cli_usage_error(c, "'%s' is not a clip id (a UUID; see 'omniva clips')",
                               a->pos[0]);
    return CLI_OK;
}

int cmd_explain(cli_ctx *c, cli_args *a)
{
    char *out = NULL;
    int rc = om_halolux_explain(c->ws.store, a->pos[0], cli_flag(a, "json"), &out);
    if (rc == OM_ENOTFOUND)
        rc = cli_error("clip %s not found", a->pos[0]);
    else if (rc)
        rc = cli_error_om("cannot explain clip %s", a->pos[0]);
    else
        fputs(out, stdout);
    free(out);
    return rc;
}

/* ---- demo ---------------------------------------------------------------------------- */

int cmd_demo(cli_ctx *c, cli_args *a)
{
    char *dir = a->npos ? realpath(a->pos[0], NULL) : NULL;
    if (!dir) {
        const char *d = a->npos ? a->pos[0] : c->home ? c->home : "demo-workspace";
        if (om_mkdirs(d, 0755))
            return cli_error_om("cannot create %s", d);
        dir = realpath(d, NULL);
        if (!dir)
            return cli_error("cannot resolve %s", d);
    }
    c->home = dir;
    printf("== 1/4 workspace\n");
    cli_args init = {.pos = &dir, .npos = 1};
    int rc = cmd_init(c, &init);
    char *sources = xasprintf("%s/demo-sources", dir);
    char *url = xasprintf("file://%s", sources);
    cli_ws ws = {0};
    if (rc)
        goto out;
    printf("== 2/4 demo sources (espeak-ng speech over generated video) in %s\n", sources);
    fflush(stdout);
    if (om_demo_make_sources(sources)) {
        rc = cli_error_om("cannot make the demo sources");
        goto out;
    }
    if ((rc = cli_open(c, &ws, CLI_NEEDS_QUEUE)))
        goto out;
    char pid[OM_UUID_LEN], cid[OM_UUID_LEN];
    if (om_project_resolve(ws.store, "demo-coffee", pid) == OM_ENOTFOUND &&
        om_project_create(ws.store, "demo-coffee", om_demo_brand_json(), dir, pid)) {
        rc = cli_error_om("cannot create the demo project");
        goto out;
    }
    if (om_creator_add(ws.store, "demo-coffee", url, cid)) {
        rc = cli_error_om("cannot add the demo creator");
        goto out;
    }
    printf("== 3/4 pipeline: scrape -> analyze -> select -> edit -> schedule -> export\n");
    fflush(stdout);
    long interval = om_config_long(ws.cfg, "scraper.interval_s");
    rc = cli_run_pipeline(c, &ws, 1, 1, 2, interval, 0);
    cli_close(&ws);
    if (rc)
        goto out;
    if ((rc = cli_open(c, &ws, CLI_NEEDS_STORE | CLI_READ_ONLY)))
        goto out;
    printf("== 4/4 clips (best first; 'omniva --home %s explain CLIP_ID' says why)\n", dir);
    om_rows *r = NULL;
    if (om_store_query(ws.store, cli_clips_sql, OM_PARAMS(OM_NULL, OM_NULL), &r)) {
        rc = cli_error_om("listing clips");
        goto out;
    }
    cli_print_clips(ws.cfg, r);
    om_rows_free(r);
    printf("== browse it: omniva --home %s serve, then open http://%s/ (API under /api/v1)\n",
           dir, om_config_str(ws.cfg, "http.listen"));
out:
    cli_close(&ws);
    free(sources);
    free(url);
    free(dir);
    return rc;
}
