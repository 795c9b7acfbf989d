/*
 * cmd_oversight.c: `omniva paradox check [--json]` (run every Paradox invariant now, raise
 * the incidents, exit 1 when something is violated) and `omniva incidents list [--open]
 * [--json]` / `omniva incidents resolve ID [--by NAME]` (src/oversight).
 */
#include "base/common.h"
#include "cli/cli.h"
#include "oversight/incidents.h"
#include "oversight/paradox.h"

#include <unistd.h>

int cmd_paradox_check(cli_ctx *c, cli_args *a)
{
    json_t *rep = NULL;
    if (om_paradox_run(c->ws.store, c->ws.queue, c->ws.cfg, &rep))
        return cli_error_om("paradox check failed");
    json_t *vs = json_object_get(rep, "violations");
    size_t nv = json_array_size(vs);
    if (cli_flag(a, "json")) {
        cli_print_json(rep);
    } else {
        size_t i;
        json_t *ch;
        printf("paradox: checked as %s\n", json_string_value(json_object_get(rep, "role")));
        json_array_foreach(json_object_get(rep, "checks"), i, ch)
        {
            const char *note = json_string_value(json_object_get(ch, "note"));
            json_int_t n = json_integer_value(json_object_get(ch, "violations"));
            printf("  %-12s %s%s%s\n", json_string_value(json_object_get(ch, "check")),
                   n ? "VIOLATED" : "ok", note ? "  " : "", note ? note : "");
        }
        json_t *v;
        json_array_foreach(vs, i, v)
        {
            printf("  %s %-8s %s  (incident %s%s)\n",
                   json_string_value(json_object_get(v, "kind")),
                   json_string_value(json_object_get(v, "severity")),
                   json_string_value(json_object_get(v, "message")),
                   json_string_value(json_object_get(v, "incident_id")),
                   json_is_true(json_object_get(v, "new")) ? ", new" : "");
        }
        printf("%zu violation%s; %lld file%s hashed of %lld; incidents: %lld new, %lld seen "
               "again\n",
               nv, nv == 1 ? "" : "s",
               (long long)json_integer_value(json_object_get(rep, "files_hashed")),
               json_integer_value(json_object_get(rep, "files_hashed")) == 1 ? "" : "s",
               (long long)json_integer_value(json_object_get(rep, "files_checked")),
               (long long)json_integer_value(json_object_get(rep, "incidents_new")),
               (long long)json_integer_value(json_object_get(rep, "incidents_bumped")));
    }
    json_decref(rep);
    return nv ? CLI_FAIL : CLI_OK;
}

int cmd_incidents_list(cli_ctx *c, cli_args *a)
{
    json_t *list = NULL;
    if (om_incident_list(c->ws.store, cli_flag(a, "open"), cli_get(a, "kind"), &list))
        return cli_error_om("cannot list incidents");
    if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else if (json_array_size(list) == 0) {
        printf(cli_flag(a, "open") ? "no open incidents\n" : "no incidents\n");
    } else {
        size_t i;
        json_t *inc;
        json_array_foreach(list, i, inc)
        {
            const char *resolved = json_string_value(json_object_get(inc, "resolved_at"));
            printf("%s  %-8s %-22s x%-4lld last %s  %s\n",
                   json_string_value(json_object_get(inc, "incident_id")),
                   json_string_value(json_object_get(inc, "severity")),
                   json_string_value(json_object_get(inc, "kind")),
                   (long long)json_integer_value(json_object_get(inc, "count")),
                   json_string_value(json_object_get(inc, "last_seen")),
                   json_string_value(json_object_get(inc, "message")));
            if (resolved)
                printf("    resolved %s by %s\n", resolved,
                       json_string_value(json_object_get(inc, "resolved_by")));
        }
    }
    json_decref(list);
    return CLI_OK;
}

int check_incident_id(cli_ctx *c, cli_args *a)
{
    if (!om_uuid_valid(a->pos[0]))
        return cli_usage_error(c, "'%s' is not an incident id (a UUID; see 'omniva incidents "
                                  "list')",
                               a->pos[0]);
    return CLI_OK;
}

int cmd_incidents_resolve(cli_ctx *c, cli_args *a)
{
    const char *by = cli_get(a, "by");
    if (!by || !*by)
        by = getenv("USER");
    if (!by || !*by)
        by = "operator";
    int rc = om_incident_resolve(c->ws.store, a->pos[0], by);
    if (rc == OM_ENOTFOUND || rc == OM_EINVAL)
        return cli_error("%s", om_error_msg());
    if (rc)
        return cli_error_om("cannot resolve incident %s", a->pos[0]);
    printf("incident %s resolved by %s\n", a->pos[0], by);
    return CLI_OK;
}

static const cli_opt paradox_check_opts[] = {{"json", NULL, "print the report as JSON"},
                                             {NULL, NULL, NULL}};

static const cli_opt incidents_list_opts[] = {
    {"open", NULL, "only unresolved incidents"},
    {"kind", "KIND", "only incidents of this kind (clip_time_invalid, dead_letters, ...)"},
    {"json", NULL, "print a JSON array"},
    {NULL, NULL, NULL}};

static const cli_opt incidents_resolve_opts[] = {
    {"by", "NAME", "who resolved it (default $USER)"}, {NULL, NULL, NULL}};

const cli_cmd cli_paradox_cmds[] = {
    {"check", "check every invariant now; exit 1 when one is violated", "[--json]",
     "Clip times, orphan rows and jobs, the stages' declared state transitions, unique\n"
     "checksums, complete published clips, media files against their SHA-256 (files changed\n"
     "since the last sweep plus a sample: settings paradox.file_*), the ledger chain and the\n"
     "anchor at paradox.anchor. Each violation opens an incident or bumps its count. On\n"
     "PostgreSQL it reads as the read-only role paradox.role when it can.",
     paradox_check_opts, 0, 0, cmd_paradox_check, NULL, CLI_NEEDS_QUEUE, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

const cli_cmd cli_incidents_cmds[] = {
    {"list", "incidents, open ones first (Paradox violations, Eclipse recoveries)",
     "[--open] [--kind KIND] [--json]", NULL, incidents_list_opts, 0, 0, cmd_incidents_list, NULL,
     CLI_NEEDS_STORE | CLI_READ_ONLY, NULL},
    {"resolve", "mark an incident resolved", "ID [--by NAME]",
     "A violation seen again after that opens a new incident. Resolving a job_type_paused\n"
     "incident resumes the type at the next Eclipse sweep.",
     incidents_resolve_opts, 1, 1, cmd_incidents_resolve, NULL, CLI_NEEDS_STORE,
     check_incident_id},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};
