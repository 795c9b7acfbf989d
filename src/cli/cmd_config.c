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

/* The effective value as text: PATH settings resolved, URLs redacted. Caller frees. */
static char *shown_value(const om_config *cfg, const om_setting *s)
{
    if (s->type == OM_SETTING_PATH)
        return xstrdup(om_config_str(cfg, s->name));
    const char *t = om_config_text(cfg, s->name);
    size_t n = strlen(s->name);
    if (n > 4 && strcmp(s->name + n - 4, ".url") == 0)
        return om_url_redact(t);
    return xstrdup(t);
}

static json_t *json_value(const om_config *cfg, const om_setting *s)
{
    switch (s->type) {
    case OM_SETTING_LONG: return json_integer((json_int_t)om_config_long(cfg, s->name));
    case OM_SETTING_DOUBLE: return json_real(om_config_double(cfg, s->name));
    case OM_SETTING_BOOL: return json_boolean(om_config_bool(cfg, s->name));
    default: {
        char *v = shown_value(cfg, s);
        json_t *j = json_string(v);
        free(v);
        return j;
    }
    }
}

static json_t *setting_json(const om_config *cfg, const om_setting *s)
{
    om_config_origin o = om_config_origin_of(cfg, s->name);
    json_t *j = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s}", "key", s->name, "value",
                          json_value(cfg, s), "origin", om_config_origin_name(o), "type",
                          om_setting_type_name(s->type), "default", s->def, "doc", s->doc);
    if (o != OM_ORIGIN_DEFAULT)
        json_object_set_new(j, "source", json_string(om_config_origin_detail(cfg, s->name)));
    if (s->type == OM_SETTING_LONG || s->type == OM_SETTING_DOUBLE) {
        json_object_set_new(j, "min", json_real(s->min));
        json_object_set_new(j, "max", json_real(s->max));
    }
    if (s->type == OM_SETTING_ENUM)
        json_object_set_new(j, "choices", json_string(s->choices));
    if (strcmp(s->name, "store.url") == 0 && om_config_store_url(cfg)) {
        char *r = om_url_redact(om_config_store_url(cfg));
        json_object_set_new(j, "resolved", json_string(r));
        free(r);
    }
    return j;
}

int cmd_config_show(cli_ctx *c, cli_args *a)
{
    om_config *cfg = NULL;
    int rc = cli_load_config(c, &cfg, 1);
    if (rc)
        return rc;
    if (cli_flag(a, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < om_settings_count; i++)
            json_array_append_new(arr, setting_json(cfg, &om_settings[i]));
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
        char *v = shown_value(cfg, s);
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
