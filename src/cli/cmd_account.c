/* cmd_account.c: `omniva account add|list|remove|check`: the publishing accounts of a
 * project (src/targets/accounts.h). Tokens are never printed. */
#include "base/common.h"
#include "cli/cli.h"
#include "stages/projects.h"
#include "targets/accounts.h"
#include "targets/instagram.h"
#include "targets/oauth.h"
#include "targets/tiktok.h"
#include "targets/youtube.h"

static const char *const PLATFORMS[] = {"youtube", "tiktok", "instagram", NULL};

int check_account_platform(cli_ctx *c, cli_args *a)
{
    if (!cli_one_of(a->pos[0], PLATFORMS))
        return cli_usage_error(c, "unknown platform '%s' (supported: youtube, tiktok, instagram)",
                               a->pos[0]);
    return CLI_OK;
}

/* TikTok after linking: the creator (creator_info/query) and, for an unaudited app, the
 * warning that every post will be private. */
static int tiktok_linked(cli_ctx *c, const char *pid, const char *project)
{
    json_t *cr = NULL;
    if (om_tiktok_creator(c->ws.cfg, c->ws.store, pid, &cr))
        return cli_error_om("linking a tiktok account to %s", project);
    const char *user = json_string_value(json_object_get(cr, "creator_username"));
    const char *nick = json_string_value(json_object_get(cr, "creator_nickname"));
    if (user)
        om_store_exec(c->ws.store,
                      "UPDATE publishing_accounts SET external_id = ?, display_name = ? WHERE "
                      "project_id = ? AND platform = 'tiktok'",
                      OM_PARAMS(OM_TEXT(user), OM_TEXT(nick), OM_TEXT(pid)), NULL);
    char *levels = json_dumps(json_object_get(cr, "privacy_level_options"), JSON_COMPACT);
    printf("tiktok account linked to project %s: creator @%s (%s); privacy levels %s, videos up "
           "to %" JSON_INTEGER_FORMAT " s\n",
           project, user ? user : "?", nick ? nick : "?", levels ? levels : "[]",
           json_integer_value(json_object_get(cr, "max_video_post_duration_sec")));
    free(levels);
    const char *level = NULL;
    int forced = 0;
    if (om_tiktok_privacy_choice(c->ws.cfg, NULL, json_object_get(cr, "privacy_level_options"),
                                 &level, &forced))
        fprintf(stderr, "warning: %s\n", om_error_msg());
    if (!om_config_bool(c->ws.cfg, "tiktok.audited"))
        fprintf(stderr,
                "warning: tiktok.audited is false: TikTok lets an unaudited app post only "
                "SELF_ONLY, so every post of this account will be private (visible to its "
                "creator only) until the app passes TikTok's audit and tiktok.audited is set\n");
    json_decref(cr);
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
    /* one wait for every platform's consent page (youtube.login_timeout_s) */
    if (om_oauth_login(&p, stdout, om_config_long(c->ws.cfg, "youtube.login_timeout_s"), &t))
        return cli_error_om("linking a %s account to %s", platform, project);
    char *cid = NULL, *title = NULL;
    int who = !strcmp(platform, "youtube")     ? om_youtube_channel(c->ws.cfg, t.access_token,
                                                                    &cid, &title)
              : !strcmp(platform, "instagram") ? om_instagram_user(c->ws.cfg, t.access_token,
                                                                   &cid, &title)
                                               : OM_OK; /* tiktok: asked once linked */
    if (who) {
        om_oauth_tokens_release(&t);
        return cli_error_om("linking a %s account to %s", platform, project);
    }
    char aid[OM_UUID_LEN] = "";
    int rc = om_account_link(c->ws.store, pid, platform, &t, cid, title, aid);
    om_oauth_tokens_release(&t);
    if (rc)
        rc = cli_error_om("linking a %s account to %s", platform, project);
    else if (!strcmp(platform, "tiktok"))
        rc = tiktok_linked(c, pid, project);
    else
        printf("%s account linked to project %s: %s %s (%s), account %s\n", platform, project,
               !strcmp(platform, "youtube") ? "channel" : "user", title ? title : "?", cid, aid);
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
        printf("no publishing accounts linked (omniva account add youtube|tiktok|instagram PROJECT)\n");
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
