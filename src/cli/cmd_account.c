/* cmd_account.c: `omniva account add|list|remove|check`: the publishing accounts of a
 * project (src/targets/accounts.h). Tokens are never printed. */
#include "base/common.h"
#include "cli/cli.h"
#include "stages/projects.h"
#include "targets/accounts.h"
#include "targets/oauth.h"
#include "targets/youtube.h"

static const char *const PLATFORMS[] = {"youtube", NULL};

int check_account_platform(cli_ctx *c, cli_args *a)
{
    if (!cli_one_of(a->pos[0], PLATFORMS))
        return cli_usage_error(c, "unknown platform '%s' (supported: youtube)", a->pos[0]);
    return CLI_OK;
}

static int resolve(cli_ctx *c, const char *project, char id[OM_UUID_LEN])
{
    int rc = om_project_resolve(c->ws.store, project, id);
    if (rc == OM_ENOTFOUND)
        return cli_error("project '%s' not found", project);
    if (rc)
        return cli_error_om("project '%s'", project);
    return CLI_OK;
}

int cmd_account_add(cli_ctx *c, cli_args *a)
{
    const char *platform = a->pos[0], *project = a->pos[1];
    char pid[OM_UUID_LEN];
    if (resolve(c, project, pid))
        return CLI_FAIL;
    om_oauth_provider p;
    if (om_oauth_provider_load(c->ws.cfg, platform, &p))
        return cli_error_om("cannot link a %s account", platform);
    om_oauth_tokens t;
    if (om_oauth_login(&p, stdout, om_config_long(c->ws.cfg, "youtube.login_timeout_s"), &t))
        return cli_error_om("linking a %s account to %s", platform, project);
    char *cid = NULL, *title = NULL;
    if (om_youtube_channel(c->ws.cfg, t.access_token, &cid, &title)) {
        om_oauth_tokens_release(&t);
        return cli_error_om("linking a %s account to %s", platform, project);
    }
    char aid[OM_UUID_LEN] = "";
    int rc = om_account_link(c->ws.store, pid, platform, &t, cid, title, aid);
    om_oauth_tokens_release(&t);
    if (rc)
        rc = cli_error_om("linking a %s account to %s", platform, project);
    else
        printf("%s account linked to project %s: channel %s (%s), account %s\n", platform,
               project, title ? title : "?", cid, aid);
    free(cid);
    free(title);
    return rc ? CLI_FAIL : CLI_OK;
}

static const char *str_or(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

int cmd_account_list(cli_ctx *c, cli_args *a)
{
    char pid[OM_UUID_LEN];
    const char *project = a->npos ? a->pos[0] : NULL;
    if (project && resolve(c, project, pid))
        return CLI_FAIL;
    json_t *list = NULL;
    if (om_account_list(c->ws.store, project ? pid : NULL, &list))
        return cli_error_om("listing accounts");
    if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else if (!json_array_size(list)) {
        printf("no publishing accounts linked (omniva account add youtube PROJECT)\n");
    } else {
        printf("%-20s %-8s %-9s %-28s %-27s %s\n", "PROJECT", "PLATFORM", "STATE", "CHANNEL",
               "LAST REFRESH", "LAST ERROR");
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o) {
            printf("%-20s %-8s %-9s %-28s %-27s %s\n", str_or(o, "project", "?"),
                   str_or(o, "platform", "?"), str_or(o, "state", "?"),
                   str_or(o, "display_name", str_or(o, "external_id", "-")),
                   str_or(o, "last_refresh_at", "never"), str_or(o, "last_error", ""));
        }
    }
    json_decref(list);
    return CLI_OK;
}

int cmd_account_remove(cli_ctx *c, cli_args *a)
{
    char pid[OM_UUID_LEN];
    if (resolve(c, a->pos[1], pid))
        return CLI_FAIL;
    if (om_account_remove(c->ws.store, pid, a->pos[0]))
        return cli_error_om("project %s", a->pos[1]);
    printf("%s account removed from project %s\n", a->pos[0], a->pos[1]);
    return CLI_OK;
}

int cmd_account_check(cli_ctx *c, cli_args *a)
{
    char pid[OM_UUID_LEN];
    const char *project = a->npos ? a->pos[0] : NULL;
    if (project && resolve(c, project, pid))
        return CLI_FAIL;
    json_t *report = NULL;
    int failed = 0;
    if (om_account_check(c->ws.store, c->ws.cfg, project ? pid : NULL, &report, &failed))
        return cli_error_om("token health check");
    if (cli_flag(a, "json")) {
        cli_print_json(report);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(report, i, o) {
            int ok = json_is_true(json_object_get(o, "ok"));
            printf("%-20s %-8s %s%s%s\n", str_or(o, "project", "?"), str_or(o, "platform", "?"),
                   ok ? "ok" : str_or(o, "state", "?"), ok ? "" : ": ", ok ? "" : str_or(o, "error", ""));
        }
        if (!json_array_size(report))
            printf("no publishing accounts linked\n");
    }
    json_decref(report);
    return failed ? CLI_FAIL : CLI_OK;
}
