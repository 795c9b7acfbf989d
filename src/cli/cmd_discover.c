/*
 * cmd_discover.c: `omniva discover PROJECT [--status S] [--json]` (the creators the discovery
 * worker proposed, best first) and `omniva discover PROJECT --accept ID | --reject ID [--by
 * NAME]` (follow one, or say no). See src/stages/discovery.h.
 */
#include "base/common.h"
#include "cli/cli.h"
#include "stages/discovery.h"

const cli_opt cli_discover_opts[] = {
    {"accept", "ID", "follow the proposed creator ID"},
    {"reject", "ID", "reject the proposal ID"},
    {"by", "NAME", "who decided (default operator)"},
    {"status", "S", "only proposals in this status (proposed, accepted, rejected)"},
    {"json", NULL, "print JSON"},
    {NULL, NULL, NULL}};

int cmd_discover(cli_ctx *c, cli_args *a)
{
    const char *project = a->pos[0], *acc = cli_get(a, "accept"), *rej = cli_get(a, "reject");
    if (acc && rej)
        return cli_usage_error(c, "--accept and --reject: one at a time");
    const char *st = cli_get(a, "status");
    if (st && strcmp(st, "proposed") && strcmp(st, "accepted") && strcmp(st, "rejected"))
        return cli_usage_error(c, "--status: proposed, accepted or rejected (got '%s')", st);
    if (acc || rej) {
        json_t *row = NULL;
        if (om_discovery_decide(c->ws.store, project, acc ? acc : rej, acc != NULL,
                                cli_get(a, "by"), &row))
            return cli_error_om("cannot %s the discovery", acc ? "accept" : "reject");
        if (cli_flag(a, "json"))
            cli_print_json(row);
        else if (acc)
            printf("following %s (creator %s)\n", json_string_value(json_object_get(row, "url")),
                   json_string_value(json_object_get(row, "creator_id")));
        else
            printf("rejected %s\n", json_string_value(json_object_get(row, "url")));
        json_decref(row);
        return CLI_OK;
    }
    json_t *arr = NULL;
    if (om_discovery_list(c->ws.store, project, st, &arr))
        return cli_error_om("cannot list the discoveries");
    if (cli_flag(a, "json")) {
        cli_print_json(arr);
    } else if (json_array_size(arr) == 0) {
        printf("no discoveries for %s yet (a `discovery` job proposes some)\n", project);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(arr, i, o)
        {
            printf("%s  %-8s  score %.2f  relevance %.2f  %.1f posts/week  %-9s %s\n",
                   json_string_value(json_object_get(o, "discovery_id")),
                   json_string_value(json_object_get(o, "status")),
                   json_real_value(json_object_get(o, "score")),
                   json_real_value(json_object_get(o, "relevance")),
                   json_real_value(json_object_get(o, "posts_per_week")),
                   json_string_value(json_object_get(o, "source")),
                   json_string_value(json_object_get(o, "url")));
        }
    }
    json_decref(arr);
    return CLI_OK;
}
