/*
 * cmd_pipeline.c: the product's commands: `omniva project ...`, `omniva creator ...`,
 * `omniva run`, `omniva clips`, `omniva explain` and `omniva demo`. They are thin: the work
 * is in stages/projects.c (validation), the stages (pipeline), stages/halolux.c
 * (explanations) and runtime/worker.c (running it).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "stages/halolux.h"
#include "runtime/runtime.h"
#include "stages/demo.h"
#include "stages/projects.h"
#include "stages/stages.h"

#include <math.h>

/* ---- projects ------------------------------------------------------------------------ */

int cmd_project_create(cli_ctx *c, cli_args *a)
{
    char *brand = NULL;
    const char *file = cli_get(a, "brand");
    if (file && om_brand_read_file(file, &brand))
        return cli_error_om("--brand %s", file);
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc) {
        free(brand);
        return rc;
    }
    char id[OM_UUID_LEN];
    if (om_project_create(ws.store, a->pos[0], brand, om_config_home(ws.cfg), id)) {
        rc = cli_error_om("cannot create project '%s'", a->pos[0]);
    } else if (cli_flag(a, "json")) {
        json_t *p = NULL;
        if (om_project_get(ws.store, id, &p) == OM_OK)
            cli_print_json(p);
        json_decref(p);
    } else {
        printf("project %s created (%s)\n", a->pos[0], id);
    }
    free(brand);
    cli_close(&ws);
    return rc;
}

int cmd_project_show(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    json_t *p = NULL;
    if (om_project_get(ws.store, a->pos[0], &p)) {
        rc = cli_error_om("project '%s'", a->pos[0]);
    } else {
        json_t *creators = NULL;
        if (om_creator_list(ws.store, a->pos[0], &creators) == OM_OK)
            json_object_set_new(p, "creators", creators);
        cli_print_json(p);
    }
    json_decref(p);
    cli_close(&ws);
    return rc;
}

int cmd_project_list(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    json_t *list = NULL;
    if (om_project_list(ws.store, &list)) {
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
    cli_close(&ws);
    return rc;
}

/* ---- creators ------------------------------------------------------------------------ */

int cmd_creator_add(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    char id[OM_UUID_LEN];
    int created = 0, linked = 0;
    if (om_creator_add_ex(ws.store, a->pos[0], a->pos[1], id, &created, &linked)) {
        rc = cli_error_om("cannot add creator %s", a->pos[1]);
    } else if (cli_flag(a, "json")) {
        json_t *cr = NULL;
        if (om_creator_get(ws.store, id, &cr) == OM_OK) {
            json_object_set_new(cr, "created", json_boolean(created));
            json_object_set_new(cr, "linked", json_boolean(linked));
            cli_print_json(cr);
        }
        json_decref(cr);
    } else {
        printf("creator %s %s%s\n", id, created ? "added" : "already known",
               linked ? ", linked to the project" : "");
    }
    cli_close(&ws);
    return rc;
}

int cmd_creator_list(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    json_t *list = NULL;
    if (om_creator_list(ws.store, a->pos[0], &list)) {
        rc = cli_error_om("listing creators of '%s'", a->pos[0]);
    } else if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else {
        size_t i;
        json_t *cr;
        json_array_foreach(list, i, cr)
        {
            printf("%s  %-10s %-24s %s\n",
                   json_string_value(json_object_get(cr, "creator_id")),
                   json_string_value(json_object_get(cr, "platform")),
                   json_string_value(json_object_get(cr, "username")),
                   json_string_value(json_object_get(cr, "profile_url")));
        }
    }
    json_decref(list);
    cli_close(&ws);
    return rc;
}

int cmd_creator_remove(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    if (om_creator_remove(ws.store, a->pos[0], a->pos[1]))
        rc = cli_error_om("cannot remove creator %s from '%s'", a->pos[1], a->pos[0]);
    else
        printf("creator %s removed from %s\n", a->pos[1], a->pos[0]);
    cli_close(&ws);
    return rc;
}

/* ---- run ----------------------------------------------------------------------------- */

/* Enqueues this bucket's rescrape and runs every stage until drained (or idle with once). */
static int run_pipeline(cli_ws *ws, int once, int now, int concurrency, long interval)
{
    if (now)
        om_config_set(ws->cfg, "schedule", "now", "1");
    int64_t bucket = om_rescrape_bucket(om_now_us(), interval);
    char *key = xasprintf("rescrape:%lld", (long long)bucket);
    char *payload = xasprintf("{\"interval_s\": %ld%s}", interval, once ? ", \"once\": true" : "");
    om_job_spec spec = OM_JOB_SPEC_INIT;
    spec.type = "rescrape";
    spec.payload = payload;
    spec.unique_key = key;
    spec.priority = 9;
    char id[OM_UUID_LEN];
    int created = 0;
    int rc = om_queue_enqueue(ws->queue, &spec, id, &created);
    free(key);
    free(payload);
    if (rc)
        return cli_error_om("cannot enqueue the re-scrape");
    if (!created)
        om_info("run", "creators already scraped in this %ld s window (job %s)", interval, id);
    /* Workers open their own connections after fork. */
    om_queue_free(ws->queue);
    om_store_free(ws->store);
    ws->queue = NULL;
    ws->store = NULL;
    om_worker_opts opts = {
        .types = NULL,
        .concurrency = concurrency,
        .once = once,
        .home = om_config_home(ws->cfg),
    };
    return om_worker_run(ws->cfg, &opts) == OM_OK ? CLI_OK : cli_error_om("pipeline failed");
}

static int run_opts(cli_ctx *c, cli_args *a, long *conc, long *interval)
{
    *conc = 2;
    *interval = 0;
    int rc = cli_get_int(a, "concurrency", 1, 64, conc);
    if (rc == CLI_OK)
        rc = cli_get_int(a, "interval", 10, 7 * 86400, interval);
    return rc;
}

int cmd_run(cli_ctx *c, cli_args *a)
{
    long conc, interval;
    int rc = run_opts(c, a, &conc, &interval);
    if (rc)
        return rc;
    cli_ws ws;
    if ((rc = cli_open(c, &ws, CLI_WS_QUEUE)))
        return rc;
    if (!interval)
        interval = om_config_long(ws.cfg, "scraper.interval_s");
    rc = run_pipeline(&ws, cli_flag(a, "once"), cli_flag(a, "now"), (int)conc, interval);
    cli_close(&ws);
    return rc;
}

/* ---- clips and explanations ---------------------------------------------------------- */

static const char *clips_sql =
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

static double rowd(om_rows *r, size_t i, const char *col)
{
    return om_rows_real(r, i, col, NAN);
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "-";
}

static void print_clips(om_rows *r)
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
        if (om_rows_getn(r, i, "render_path"))
            printf("    rendered:  %s\n", om_rows_getn(r, i, "render_path"));
        if (om_rows_getn(r, i, "scheduled"))
            printf("    scheduled: %s\n", om_rows_getn(r, i, "scheduled"));
        if (om_rows_getn(r, i, "export_path"))
            printf("    exported:  %s\n", om_rows_getn(r, i, "export_path"));
        json_decref(meta);
    }
}

static json_t *clips_json(om_rows *r)
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
            else if (strstr(name, "time") || strstr(name, "score") ||
                     !strcmp(name, "confidence") || !strcmp(name, "lattice_priority"))
                val = json_real(strtod(v, NULL));
            json_object_set_new(o, name, val ? val : json_string(v));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

int cmd_clips(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    const char *status = cli_get(a, "status");
    om_rows *r = NULL;
    if (om_store_query(ws.store, clips_sql, OM_PARAMS(OM_TEXT(status), OM_TEXT(status)), &r)) {
        rc = cli_error_om("listing clips");
    } else if (cli_flag(a, "json")) {
        json_t *j = clips_json(r);
        cli_print_json(j);
        json_decref(j);
    } else {
        print_clips(r);
        if (om_rows_count(r) == 0)
            printf("no clips yet\n");
    }
    om_rows_free(r);
    cli_close(&ws);
    return rc;
}

int cmd_explain(cli_ctx *c, cli_args *a)
{
    cli_ws ws;
    int rc = cli_open(c, &ws, CLI_WS_STORE);
    if (rc)
        return rc;
    char *out = NULL;
    if (om_halolux_explain(ws.store, a->pos[0], cli_flag(a, "json"), &out))
        rc = cli_error_om("cannot explain clip %s", a->pos[0]);
    else
        fputs(out, stdout);
    free(out);
    cli_close(&ws);
    return rc;
}

/* ---- demo ---------------------------------------------------------------------------- */

int cmd_demo(cli_ctx *c, cli_args *a)
{
    char *dir = a->npos ? realpath(a->pos[0], NULL) : NULL;
    if (!dir) {
        const char *d = a->npos ? a->pos[0] : "demo-workspace";
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
    if ((rc = cli_open(c, &ws, CLI_WS_QUEUE)))
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
    rc = run_pipeline(&ws, 1, 1, 2, interval);
    cli_close(&ws);
    memset(&ws, 0, sizeof(ws));
    if (rc)
        goto out;
    if ((rc = cli_open(c, &ws, CLI_WS_STORE)))
        goto out;
    printf("== 4/4 clips (best first; 'omniva --home %s explain CLIP_ID' says why)\n", dir);
    om_rows *r = NULL;
    if (om_store_query(ws.store, clips_sql, OM_PARAMS(OM_NULL, OM_NULL), &r)) {
        rc = cli_error_om("listing clips");
        goto out;
    }
    print_clips(r);
    om_rows_free(r);
out:
    if (ws.store || ws.cfg)
        cli_close(&ws);
    free(sources);
    free(url);
    free(dir);
    return rc;
}
