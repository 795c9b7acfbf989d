/*
 * cmd_worker.c: `omniva worker`: serves job types until SIGTERM/SIGINT (runtime/worker.c
 * does the work; the dispatcher has opened the database and queue, so a bad URL fails fast
 * with exit 1 instead of a worker retrying forever).
 */
#include "base/common.h"
#include "cli/cli.h"
#include "media/editplan.h"
#include "runtime/runtime.h"
#include "runtime/worker.h"

/* --types split into a NULL-terminated array pointing into *text_out (both the caller's).
 * Returns CLI_OK or a usage error. */
static int parse_types(cli_ctx *c, cli_args *a, char **text_out, const char ***types_out,
                       int notes)
{
    *text_out = NULL;
    *types_out = NULL;
    char *types_text = xstrdup(cli_get(a, "types"));
    if (!types_text) {
        if (om_runtime_count() == 0)
            return cli_error("no job types registered in this build");
        return CLI_OK;
    }
    size_t cap = 1, n = 0;
    for (const char *p = types_text; *p; p++)
        cap += *p == ',';
    const char **types = xcalloc(cap + 1, sizeof(*types));
    char *save = NULL;
    int rc = CLI_OK;
    for (char *t = strtok_r(types_text, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        if (om_queue_type_valid(t)) {
            rc = cli_usage_error(c, "invalid job type '%s' in --types: %s (this build runs %s)",
                                 t, om_error_msg(), cli_job_types());
            break;
        }
        if (notes && !om_runtime_find(t))
            fprintf(stderr, "omniva: note: no stage for job type '%s' in this build (it runs "
                            "%s); its jobs will go to the dead letters\n", t, cli_job_types());
        types[n++] = t;
    }
    if (rc == CLI_OK && n == 0)
        rc = cli_usage_error(c, "--types needs at least one job type (%s)", cli_job_types());
    if (rc) {
        free(types);
        free(types_text);
        return rc;
    }
    *text_out = types_text;
    *types_out = types;
    return CLI_OK;
}

int check_worker(cli_ctx *c, cli_args *a)
{
    long concurrency = 1;
    int rc = cli_get_int(a, "concurrency", 1, 256, &concurrency);
    if (rc)
        return rc;
    char *text = NULL;
    const char **types = NULL;
    rc = parse_types(c, a, &text, &types, 0);
    free(types);
    free(text);
    return rc;
}

int cmd_worker(cli_ctx *c, cli_args *a)
{
    long concurrency = 1;
    cli_get_int(a, "concurrency", 1, 256, &concurrency);
    char *types_text = NULL;
    const char **types = NULL;
    int rc = parse_types(c, a, &types_text, &types, 1);
    if (rc)
        return rc;
    char *encoder = NULL;
    if (cli_flag(a, "gpu")) {
        if (om_gpu_probe(&encoder) != OM_OK) {
            free(types);
            free(types_text);
            return cli_error_om("--gpu");
        }
        fprintf(stderr, "omniva: GPU render node: %s works\n", encoder);
    }
    /* The check is done: workers open their own connections (never across fork). */
    om_queue_free(c->ws.queue);
    om_store_free(c->ws.store);
    c->ws.queue = NULL;
    c->ws.store = NULL;

    om_worker_opts opts = {
        .types = types,
        .concurrency = (int)concurrency,
        .once = cli_flag(a, "once"),
        .home = om_config_home(c->ws.cfg),
        .gpu = encoder != NULL,
        .gpu_encoder = encoder,
    };
    rc = om_worker_run(c->ws.cfg, &opts) == OM_OK ? CLI_OK : cli_error_om("worker failed");
    free(encoder);
    free(types);
    free(types_text);
    return rc;
}
