/*
 * cmd_worker.c: `omniva worker`: serves job types until SIGTERM/SIGINT (runtime/worker.c
 * does the work; this checks the arguments and that the database and queue are reachable,
 * so a bad URL fails fast with exit 1 instead of a worker retrying forever).
 */
#include "base/common.h"
#include "cli/cli.h"
#include "runtime/runtime.h"
#include "runtime/worker.h"

int cmd_worker(cli_ctx *c, cli_args *a)
{
    long concurrency = 1;
    int rc = cli_get_int(a, "concurrency", 1, 256, &concurrency);
    if (rc)
        return rc;
    char *types_text = xstrdup(cli_get(a, "types"));
    const char **types = NULL;
    size_t n = 0;
    if (types_text) {
        size_t cap = 1;
        for (const char *p = types_text; *p; p++)
            cap += *p == ',';
        types = xcalloc(cap + 1, sizeof(*types));
        char *save = NULL;
        for (char *t = strtok_r(types_text, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            if (!*t)
                continue;
            if (om_queue_type_valid(t)) {
                rc = cli_usage_error(c, "invalid job type '%s' in --types: %s", t,
                                     om_error_msg());
                goto out;
            }
            if (!om_runtime_find(t))
                fprintf(stderr, "omniva: note: no stage for job type '%s' in this build; its "
                                "jobs will go to the dead letters\n", t);
            types[n++] = t;
        }
        if (n == 0) {
            rc = cli_usage_error(c, "--types needs at least one job type");
            goto out;
        }
    } else if (om_runtime_count() == 0) {
        rc = cli_error("no job types registered in this build");
        goto out;
    }

    cli_ws ws;
    if ((rc = cli_open(c, &ws, CLI_WS_QUEUE)))
        goto out;
    /* The check is done: workers open their own connections (never across fork). */
    om_queue_free(ws.queue);
    om_store_free(ws.store);
    ws.queue = NULL;
    ws.store = NULL;

    om_worker_opts opts = {
        .types = types,
        .concurrency = (int)concurrency,
        .once = cli_flag(a, "once"),
        .home = om_config_home(ws.cfg),
    };
    rc = om_worker_run(ws.cfg, &opts) == OM_OK ? CLI_OK : cli_error_om("worker failed");
    cli_close(&ws);
out:
    free(types);
    free(types_text);
    return rc;
}
