/*
 * cmd_retention.c: `omniva retention run [--dry-run]` (the plan, or the deletions, each with
 * its ledger packet), `omniva retention approve ID [--by NAME]` (an operator lets a derived
 * asset go before its time) and `omniva retention set PROJECT [--raw-days N]
 * [--derived-days N]` (a project's own days). The rules are in src/lifecycle/lifecycle.h.
 */
#include "base/common.h"
#include "cli/cli.h"
#include "lifecycle/lifecycle.h"

#include <pwd.h>
#include <unistd.h>

static void human_bytes(int64_t b, char out[32])
{
    if (b < 0)
        snprintf(out, 32, "?");
    else if (b >= 1 << 20)
        snprintf(out, 32, "%.1f MB", (double)b / (1 << 20));
    else if (b >= 1024)
        snprintf(out, 32, "%.1f KB", (double)b / 1024);
    else
        snprintf(out, 32, "%lld B", (long long)b);
}

static void print_list(const char *title, json_t *list, int with_size)
{
    if (!json_array_size(list))
        return;
    printf("%s:\n", title);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        char sz[32] = "";
        if (with_size) {
            json_t *s = json_object_get(e, "size_bytes");
            human_bytes(json_is_integer(s) ? json_integer_value(s) : -1, sz);
        }
        printf("  %-8s %-9s %6.1f d  %s\n    %s%s%s\n",
               json_string_value(json_object_get(e, "class")), sz,
               json_real_value(json_object_get(e, "age_days")),
               json_string_value(json_object_get(e, "path")),
               json_string_value(json_object_get(e, "reason")),
               json_object_get(e, "stardust_id") ? "; packet " : "",
               json_object_get(e, "stardust_id")
                   ? json_string_value(json_object_get(e, "stardust_id"))
                   : "");
    }
}

int cmd_retention_run(cli_ctx *c, cli_args *a)
{
    om_retention_opts o = {.dry_run = cli_flag(a, "dry-run")};
    json_t *rep = NULL;
    int rc = om_retention_run(c->ws.store, c->ws.cfg, &o, &rep);
    if (!rep)
        return cli_error_om("retention run failed");
    if (cli_flag(a, "json")) {
        cli_print_json(rep);
    } else {
        json_t *del = json_object_get(rep, "delete");
        char total[32];
        human_bytes(json_integer_value(json_object_get(rep, "bytes")), total);
        json_t *rules = json_object_get(rep, "rules");
        printf("retention %s: raw %lld days, derived %lld days, orphans after %lld hours "
               "(defaults; a project may have its own)\n",
               o.dry_run ? "plan (dry run, nothing deleted)" : "run",
               (long long)json_integer_value(json_object_get(rules, "raw_days")),
               (long long)json_integer_value(json_object_get(rules, "derived_days")),
               (long long)json_integer_value(json_object_get(rules, "orphan_grace_hours")));
        size_t nswept = json_array_size(json_object_get(rep, "swept"));
        if (nswept)
            printf("finished %zu deletions an interrupted run had recorded\n", nswept);
        print_list(o.dry_run ? "would delete" : "deleted", del, 1);
        print_list("kept past their time", json_object_get(rep, "kept"), 0);
        if (o.dry_run)
            printf("%zu files (%s) would be deleted; run without --dry-run to delete them\n",
                   json_array_size(del), total);
        else
            printf("%lld files deleted (%s), each with a ledger packet and a log row\n",
                   (long long)json_integer_value(json_object_get(rep, "deleted")), total);
    }
    json_decref(rep);
    if (rc)
        return cli_error_om("retention run");
    return CLI_OK;
}

int cmd_retention_approve(cli_ctx *c, cli_args *a)
{
    const char *by = cli_get(a, "by");
    char who[128];
    if (!by) {
        struct passwd *pw = getpwuid(getuid());
        snprintf(who, sizeof(who), "%s", pw && pw->pw_name ? pw->pw_name : "operator");
        by = who;
    }
    int n = 0;
    if (om_retention_approve(c->ws.store, a->pos[0], by, &n))
        return cli_error_om("cannot approve the deletion");
    printf("approved deleting %d file%s of %s (by %s); the next 'omniva retention run' deletes "
           "%s\n",
           n, n == 1 ? "" : "s", a->pos[0], by, n == 1 ? "it" : "them");
    return CLI_OK;
}

int cmd_retention_set(cli_ctx *c, cli_args *a)
{
    long raw = 0, der = 0;
    int rc = cli_get_int(a, "raw-days", 1, 36500, &raw);
    if (rc == CLI_OK)
        rc = cli_get_int(a, "derived-days", 1, 36500, &der);
    if (rc)
        return rc;
    if (!raw && !der && !cli_flag(a, "default"))
        return cli_usage_error(c, "give --raw-days N, --derived-days N or --default");
    if (om_retention_set_project(c->ws.store, a->pos[0], raw, der))
        return cli_error_om("cannot set the retention of %s", a->pos[0]);
    if (!raw && !der)
        printf("project %s follows the [retention] settings (raw %ld days, derived %ld days)\n",
               a->pos[0], om_config_long(c->ws.cfg, "retention.raw_days"),
               om_config_long(c->ws.cfg, "retention.derived_days"));
    else
        printf("project %s keeps raw downloads %ld days, derived assets %ld days\n", a->pos[0],
               raw ? raw : om_config_long(c->ws.cfg, "retention.raw_days"),
               der ? der : om_config_long(c->ws.cfg, "retention.derived_days"));
    return CLI_OK;
}

static const cli_opt run_opts[] = {
    {"dry-run", NULL, "show the plan: what would be deleted and why; delete nothing"},
    {"json", NULL, "print the plan or the result as JSON"},
    {NULL, NULL, NULL}};

static const cli_opt approve_opts[] = {
    {"by", "NAME", "who approves (default: the user running the command)"},
    {NULL, NULL, NULL}};

static const cli_opt set_opts[] = {
    {"raw-days", "N", "keep raw downloads N days (unless a clip of them is published)"},
    {"derived-days", "N", "keep renders and caption files N days"},
    {"default", NULL, "follow the [retention] settings again"},
    {NULL, NULL, NULL}};

const cli_cmd cli_retention_cmds[] = {
    {"run", "delete expired and orphan media files (each with a ledger packet)", "[options]",
     "Raw downloads: retention.raw_days after download unless a clip of them was published.\n"
     "Derived assets (renders, caption files): retention.derived_days, or sooner once\n"
     "approved ('retention approve'). Orphans: files under media/ (and objects under an\n"
     "s3:// store's prefix) no row names, older than retention.orphan_grace_hours. Logs,\n"
     "the ledger and exports are never deleted; rows stay and say their file is gone.",
     run_opts, 0, 0, cmd_retention_run, NULL, CLI_NEEDS_STORE, NULL},
    {"approve", "approve deleting a clip's render and caption files before their time",
     "ID [--by NAME]", "ID is a clip id (all its renders and caption files) or an artifact id.",
     approve_opts, 1, 1, cmd_retention_approve, NULL, CLI_NEEDS_STORE, NULL},
    {"set", "a project's own retention days", "PROJECT [--raw-days N] [--derived-days N]",
     NULL, set_opts, 1, 1, cmd_retention_set, NULL, CLI_NEEDS_STORE, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};
