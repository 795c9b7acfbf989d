/*
 * cmd_config.c: `omniva config show [--json]` (every setting of src/base/settings.c with its
 * effective value, where that value came from and its doc line) and `omniva config check
 * [FILE]` (validates an omniva.conf: exit 0, or 1 listing every problem).
 */
#include "base/common.h"
#include "base/settings.h"
#include "cli/cli.h"

#include <limits.h>
#include <unistd.h>

int cmd_config_show(cli_ctx *c, cli_args *a)
{
    om_config *cfg = NULL;
    int rc = cli_load_config(c, &cfg, 1);
    if (rc)
        return rc;
    if (cli_flag(a, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < om_settings_count; i++)
            json_array_append_new(arr, om_config_setting_json(cfg, &om_settings[i], 0));
        json_t *doc = json_pack("{s:s, s:o}", "home", om_config_home(cfg), "settings", arr);
        cli_print_json(doc);
        json_decref(doc);
        om_config_free(cfg);
        return CLI_OK;
    }
    printf("# workspace %s\n", om_config_home(cfg));
    for (size_t i = 0; i < om_settings_count; i++) {
        const om_setting *s = &om_settings[i];
        om_config_origin o = om_config_origin_of(cfg, s->name);
        char *v = om_config_shown_value(cfg, s, 0);
        char *kv = xasprintf("%s = %s", s->name, v);
        char *origin = o == OM_ORIGIN_DEFAULT
                           ? xstrdup("default")
                           : xasprintf("%s (%s)", om_config_origin_name(o),
                                       om_config_origin_detail(cfg, s->name));
        printf("%-44s %-26s # %s\n", kv, origin, s->doc);
        free(origin);
        free(kv);
        free(v);
    }
    om_config_free(cfg);
    return CLI_OK;
}

int cmd_config_check(cli_ctx *c, cli_args *a)
{
    char *home = om_config_resolve_home(c->home);
    char *path = a->npos ? xstrdup(a->pos[0]) : xasprintf("%s/omniva.conf", home);
    om_config *cfg = NULL;
    int rc = om_config_load_file(&cfg, home, path);
    if (rc) {
        cli_error("%s", om_error_msg());
    } else {
        size_t set = 0;
        for (size_t i = 0; i < om_settings_count; i++)
            set += om_config_origin_of(cfg, om_settings[i].name) == OM_ORIGIN_FILE;
        printf("%s: ok (%zu of %zu settings set, the rest default)\n", path, set,
               om_settings_count);
    }
    om_config_free(cfg);
    free(path);
    free(home);
    return rc ? CLI_FAIL : CLI_OK;
}

static const cli_opt show_opts[] = {{"json", NULL, "print {home, settings: [...]} as JSON"},
                                    {NULL, NULL, NULL}};

const cli_cmd cli_config_cmds[] = {
    {"show", "every setting: effective value, origin (default/file/env/flag), doc",
     "[options]",
     "Precedence: flag (--db, --queue, --log-level, --set KEY=VALUE) > environment\n"
     "(OMNIVA_<SECTION>_<KEY>, OMNIVA_DB, OMNIVA_QUEUE, OMNIVA_LOG_LEVEL) > omniva.conf >\n"
     "default.",
     show_opts, 0, 0, cmd_config_show, NULL, 0, NULL},
    {"check", "validate an omniva.conf (default: the workspace's); exit 1 listing the errors",
     "[FILE]", NULL, NULL, 0, 1, cmd_config_check, NULL, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};
