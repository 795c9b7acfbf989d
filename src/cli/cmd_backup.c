/*
 * cmd_backup.c: `omniva backup --to DIR [--with-media]` and `omniva restore --from DIR`
 * (into the workspace of --home, an empty store). The work is src/lifecycle/backup.c; this
 * file opens the target workspace for a restore (which may not exist yet) and prints.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "lifecycle/lifecycle.h"

#include <errno.h>
#include <sys/stat.h>

static json_int_t rows_of(json_t *m, const char *table)
{
    return json_integer_value(json_object_get(json_object_get(m, "rows"), table));
}

int cmd_backup(cli_ctx *c, cli_args *a)
{
    const char *to = cli_get(a, "to");
    if (!to || !*to)
        return cli_usage_error(c, "--to DIR is required (a new folder for the backup)");
    om_backup_opts o = {.to = to, .with_media = cli_flag(a, "with-media")};
    json_t *m = NULL;
    if (om_backup_make(c->ws.store, c->ws.cfg, &o, &m))
        return cli_error_om("backup failed");
    if (cli_flag(a, "json")) {
        json_object_set_new(m, "to", json_string(to));
        cli_print_json(m);
    } else {
        json_t *files = json_object_get(m, "files");
        json_t *lh = json_object_get(m, "ledger");
        json_int_t bytes = 0;
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
            bytes += json_integer_value(json_object_get(f, "size"));
        printf("backup written to %s: %zu files, %lld bytes (%s database, schema version "
               "%lld)\n",
               to, json_array_size(files), (long long)bytes,
               json_string_value(json_object_get(m, "dialect")),
               (long long)json_integer_value(json_object_get(m, "schema_version")));
        printf("  ledger:  %lld packets, head %s\n",
               (long long)json_integer_value(json_object_get(lh, "packets")),
               json_string_value(json_object_get(lh, "head_hash")));
        printf("  rows:    %lld projects, %lld videos, %lld clips, %lld jobs\n",
               (long long)rows_of(m, "projects"), (long long)rows_of(m, "videos"),
               (long long)rows_of(m, "clips"), (long long)rows_of(m, "jobs"));
        printf("  media:   %s\n", json_string_value(json_object_get(json_object_get(m, "media"),
                                                                      "note")));
        if (json_object_get(m, "queue"))
            printf("  queue:   %s\n", json_string_value(json_object_get(m, "queue")));
    }
    json_decref(m);
    return CLI_OK;
}

/* The target workspace: created when missing, its omniva.conf the backup's when it has
 * none (an existing one is kept). */
static int prepare_home(cli_ctx *c, const char *from, char **home_out, int *conf_installed)
{
    *home_out = NULL;
    *conf_installed = 0;
    char *home = om_config_resolve_home(c->home);
    struct stat st;
    if (stat(home, &st) == 0 && !S_ISDIR(st.st_mode)) {
        int rc = cli_error("cannot restore into %s: it exists and is not a directory", home);
        free(home);
        return rc;
    }
    if (om_mkdirs(home, 0755)) {
        int rc = cli_error_om("cannot create the workspace %s", home);
        free(home);
        return rc;
    }
    char *conf = xasprintf("%s/omniva.conf", home), *bconf = xasprintf("%s/omniva.conf", from);
    int rc = CLI_OK;
    if (!om_file_exists(conf) && om_file_exists(bconf)) {
        if (om_copy_file_atomic(bconf, conf))
            rc = cli_error_om("cannot install the backup's settings in %s", home);
        else
            *conf_installed = 1;
    }
    free(conf);
    free(bconf);
    if (rc) {
        free(home);
        return rc;
    }
    *home_out = home;
    return CLI_OK;
}

int cmd_restore(cli_ctx *c, cli_args *a)
{
    const char *from = cli_get(a, "from");
    if (!from || !*from)
        return cli_usage_error(c, "--from DIR is required (a folder written by 'omniva "
                                  "backup')");
    json_t *m = NULL;
    if (om_backup_verify(from, &m))
        return cli_error_om("cannot restore");
    char *home = NULL;
    int installed = 0;
    int rc = prepare_home(c, from, &home, &installed);
    if (rc) {
        json_decref(m);
        return rc;
    }
    const char *saved_home = c->home;
    c->home = home;
    om_config *cfg = NULL;
    rc = cli_load_config(c, &cfg, 1);
    c->home = saved_home;
    if (rc)
        goto out;
    const char *url = om_config_store_url(cfg);
    if (!url || !*url) {
        rc = cli_error("no database configured for %s: the backup has no omniva.conf; pass "
                       "--db URL",
                       home);
        goto out;
    }
    char *logf = xasprintf("%s/logs/omniva.jsonl", om_config_home(cfg));
    om_log_set_file(logf);
    free(logf);
    const char *media = om_config_media_dir(cfg);
    if (media && om_mkdirs(media, 0755)) {
        rc = cli_error_om("cannot create the media folder %s", media);
        goto out;
    }
    om_store *s = NULL;
    char *shown = om_url_redact(url);
    if (om_store_open(&s, url)) {
        rc = cli_error_om("cannot open the target database %s", shown);
        free(shown);
        goto out;
    }
    json_t *rep = NULL;
    if (om_backup_restore(s, from, media, m, &rep)) {
        rc = cli_error_om("restore from %s into %s failed", from, shown);
        om_store_free(s);
        free(shown);
        goto out;
    }
    om_store_free(s);
    if (cli_flag(a, "json")) {
        json_object_set_new(rep, "home", json_string(om_config_home(cfg)));
        json_object_set_new(rep, "store", json_string(shown));
        json_object_set_new(rep, "settings_installed", json_boolean(installed));
        cli_print_json(rep);
    } else {
        printf("restored %s into %s (%s)\n", from, om_config_home(cfg), shown);
        printf("  checksums: all %zu files verified before anything was written\n",
               json_array_size(json_object_get(m, "files")));
        printf("  ledger:    %lld packets, head %s (as in the backup)\n",
               (long long)json_integer_value(json_object_get(rep, "ledger_packets")),
               json_string_value(json_object_get(rep, "ledger_head")));
        printf("  rows:      %lld projects, %lld videos, %lld clips (as in the backup)\n",
               (long long)rows_of(m, "projects"), (long long)rows_of(m, "videos"),
               (long long)rows_of(m, "clips"));
        printf("  media:     %lld files restored%s\n",
               (long long)json_integer_value(json_object_get(rep, "media_files")),
               json_is_true(json_object_get(json_object_get(m, "media"), "included"))
                   ? ""
                   : " (the backup has none: copy the media folder separately)");
        printf("  settings:  %s\n", installed ? "omniva.conf from the backup"
                                              : "the workspace's own omniva.conf kept");
    }
    json_decref(rep);
    free(shown);
    rc = CLI_OK;
out:
    om_config_free(cfg);
    json_decref(m);
    free(home);
    return rc;
}
