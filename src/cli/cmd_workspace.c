/*
 * cmd_workspace.c: `omniva init`, `omniva migrate`, `omniva doctor`: creating, upgrading
 * and checking a workspace (DIR/omniva.conf, the database, DIR/media).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "asr/asr.h"         /* OM_ASR_SPHINX_MODEL_DIR */
#include "cli/cli.h"
#include "media/editplan.h" /* OM_EDITPLAN_FONTSDIR */
#include "store/store_backend.h" /* om_migrations: the schema version this build expects */

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates and removes a file in dir: the only honest writability test (root passes access()
 * checks, a read-only mount does not). Sets the error on failure. */
static int dir_writable(const char *dir)
{
    char *tmpl = xasprintf("%s/.omniva-write-test-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        int e = errno;
        free(tmpl);
        return om_error_set(OM_EIO, "%s is not writable: %s", dir, strerror(e));
    }
    close(fd);
    unlink(tmpl);
    free(tmpl);
    return OM_OK;
}

static int latest_migration(void)
{
    int v = 0;
    for (size_t i = 0; i < om_migrations_count; i++)
        if (om_migrations[i].version > v)
            v = om_migrations[i].version;
    return v;
}

int cmd_init(cli_ctx *c, cli_args *a)
{
    const char *dir = a->npos ? a->pos[0] : NULL;
    char *home = dir ? xstrdup(dir) : om_config_resolve_home(c->home);
    struct stat st;
    if (stat(home, &st) == 0 && !S_ISDIR(st.st_mode)) {
        int rc = cli_error("cannot create workspace at %s: it exists and is not a directory",
                           home);
        free(home);
        return rc;
    }
    if (om_mkdirs(home, 0755)) {
        int rc = cli_error_om("cannot create workspace directory %s", home);
        free(home);
        return rc;
    }
    char *abs = realpath(home, NULL);
    free(home);
    if (!abs)
        return cli_error("cannot resolve workspace directory: %s", strerror(errno));
    if (dir_writable(abs)) {
        int rc = cli_error_om("cannot initialise workspace");
        free(abs);
        return rc;
    }

    om_config *cfg = NULL;
    int existed = 0, rc = om_config_load(&cfg, abs);
    if (rc == OM_OK) {
        existed = 1;
    } else if (rc == OM_ENOTFOUND) {
        cfg = om_config_new(abs);
        const char *env_db = getenv("OMNIVA_DB"), *env_q = getenv("OMNIVA_QUEUE");
        const char *db = c->db ? c->db : env_db && *env_db ? env_db : "sqlite:omniva.db";
        const char *q = c->queue ? c->queue : env_q && *env_q ? env_q : "sqlite";
        if (om_config_set(cfg, "store", "url", db) || om_config_set(cfg, "queue", "url", q)) {
            rc = cli_error_om("cannot initialise workspace");
            goto done;
        }
        om_config_set(cfg, "media", "dir", "media"); /* relative: the workspace can move */
        om_config_set(cfg, "log", "level", "info");
        om_config_set(cfg, "worker", "lease_ms", "30000");
        om_config_set(cfg, "worker", "drain_grace_ms", "30000");
        if (om_config_save(cfg)) {
            rc = cli_error_om("cannot write %s/omniva.conf", abs);
            goto done;
        }
    } else {
        rc = cli_error_om("cannot read the existing configuration");
        goto done;
    }
    if (cli_apply_flags(c, cfg)) {
        rc = cli_error_om("cannot initialise workspace");
        goto done;
    }

    char *logf = xasprintf("%s/logs/omniva.jsonl", abs);
    om_log_set_file(logf); /* the workspace's log from its first line (migrations) */
    free(logf);
    const char *media = om_config_media_dir(cfg);
    if (om_mkdirs(media, 0755) || dir_writable(media)) {
        rc = cli_error_om("cannot create media directory %s", media);
        goto done;
    }
    const char *url = om_config_store_url(cfg);
    om_store *s = NULL;
    if (om_store_open(&s, url)) {
        rc = cli_error_om("cannot open database %s", url);
        goto done;
    }
    int applied = 0, version = 0;
    rc = om_store_migrate(s, &applied);
    if (rc == OM_OK)
        rc = om_store_schema_version(s, &version);
    int pg_with_sqlite_queue = !strcmp(om_store_dialect(s), "postgres") &&
                               !strcmp(om_config_queue_url(cfg), "sqlite");
    om_store_free(s);
    if (rc) {
        rc = cli_error_om("cannot migrate database %s", url);
        goto done;
    }
    printf("%s workspace %s\n  config:   %s/omniva.conf\n  database: %s (schema version %d, "
           "%d migrations applied)\n  media:    %s\n",
           existed ? "re-opened" : "initialised", abs, abs, url, version, applied, media);
    if (pg_with_sqlite_queue)
        fprintf(stderr, "omniva: note: the sqlite queue needs a SQLite database; with "
                        "PostgreSQL set [queue] url = redis://HOST:PORT/DB in %s/omniva.conf "
                        "(or pass --queue)\n", abs);
    rc = CLI_OK;
done:
    om_config_free(cfg);
    free(abs);
    return rc;
}

int cmd_migrate(cli_ctx *c, cli_args *a)
{
    (void)a;
    int applied = 0, version = 0;
    if (om_store_migrate(c->ws.store, &applied) ||
        om_store_schema_version(c->ws.store, &version))
        return cli_error_om("migrating %s", om_store_url(c->ws.store));
    printf("%d migrations applied (schema version %d)\n", applied, version);
    return CLI_OK;
}

/* ---- doctor ----------------------------------------------------------------------- */

typedef struct doctor {
    json_t *checks;
    int failed;
    int json;
} doctor;

static void check(doctor *d, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void check(doctor *d, const char *name, int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *detail = xvasprintf(fmt, ap);
    va_end(ap);
    if (!ok)
        d->failed++;
    json_array_append_new(d->checks, json_pack("{s:s, s:b, s:s}", "check", name, "ok", ok,
                                                "detail", detail));
    if (!d->json) {
        if (ok)
            printf("%-20s ok%s%s\n", name, detail[0] ? "  " : "", detail);
        else
            printf("%-20s FAIL %s\n", name, detail);
        fflush(stdout);
    }
    free(detail);
}

/* First line of `prog ARG` output, or NULL when it cannot run. Caller frees. */
static char *program_version(const char *prog, const char *arg)
{
    const char *argv[] = {prog, arg, NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 10000, .max_output = 4096};
    om_proc_result r;
    if (om_proc_run(&o, &r) != OM_OK || r.exit_code != 0) {
        om_proc_result_release(&r);
        return NULL;
    }
    const char *text = r.out_len ? r.out : (r.err ? r.err : "");
    size_t n = strcspn(text, "\r\n");
    char *line = xstrndup(text, n > 80 ? 80 : n);
    om_proc_result_release(&r);
    return line;
}

static void check_program(doctor *d, const char *name, const char *prog, const char *arg)
{
    if (!om_proc_which(prog)) {
        check(d, name, 0, "'%s' not found on PATH", prog);
        return;
    }
    char *v = program_version(prog, arg);
    check(d, name, v != NULL, "%s", v ? v : "found but does not run");
    free(v);
}

static void check_files(doctor *d, const char *name, const char *dir, const char *const *files)
{
    for (const char *const *f = files; *f; f++) {
        char *p = xasprintf("%s/%s", dir, *f);
        int ok = om_file_exists(p);
        if (!ok) {
            check(d, name, 0, "missing %s", p);
            free(p);
            return;
        }
        free(p);
    }
    check(d, name, 1, "%s", dir);
}

int cmd_doctor(cli_ctx *c, cli_args *a)
{
    doctor d = {json_array(), 0, cli_flag(a, "json")};
    om_config *cfg = NULL;
    char *home = om_config_resolve_home(c->home);
    int rc = om_config_load(&cfg, home);
    if (rc == OM_OK) {
        check(&d, "config", 1, "%s/omniva.conf", home);
    } else {
        check(&d, "config", 0, "%s", om_error_msg());
        cfg = om_config_new(home);
        if (om_config_apply_env(cfg))
            check(&d, "environment", 0, "%s", om_error_msg());
    }
    free(home);
    if (cli_apply_flags(c, cfg))
        check(&d, "flags", 0, "%s", om_error_msg());

    const char *url = om_config_store_url(cfg);
    om_store *s = NULL;
    if (!url) {
        check(&d, "store", 0, "no database configured ([store] url or --db)");
    } else if (om_store_open(&s, url)) {
        check(&d, "store", 0, "cannot open %s: %s", url, om_error_msg());
        s = NULL;
    } else {
        int version = 0, want = latest_migration();
        if (om_store_schema_version(s, &version))
            check(&d, "store", 0, "%s: %s", url, om_error_msg());
        else if (version < want)
            check(&d, "store", 0, "%s: schema version %d, this build needs %d: run 'omniva "
                  "migrate'", url, version, want);
        else
            check(&d, "store", 1, "%s (%s, schema version %d)", url, om_store_dialect(s),
                  version);
    }
    const char *qurl = om_config_queue_url(cfg);
    if (!s) {
        check(&d, "queue", 0, "%s: needs the store", qurl);
    } else {
        om_queue *q = NULL;
        om_queue_stat *stats = NULL;
        size_t n = 0;
        if (om_queue_open(&q, qurl, s)) {
            check(&d, "queue", 0, "cannot open %s: %s", qurl, om_error_msg());
        } else if (om_queue_stats(q, &stats, &n)) {
            check(&d, "queue", 0, "%s: %s", qurl, om_error_msg());
        } else {
            check(&d, "queue", 1, "%s (%s, %zu job types)", qurl, om_queue_backend_name(q), n);
        }
        free(stats);
        if (q)
            om_queue_free(q);
        om_store_free(s);
    }

    check_program(&d, "ffmpeg", "ffmpeg", "-version");
    check_program(&d, "ffprobe", "ffprobe", "-version");
    check_program(&d, "yt-dlp", "yt-dlp", "--version");
    check_program(&d, "espeak-ng", "espeak-ng", "--version");

    /* the analyzer's pocketsphinx model: [asr] model_dir holds en-us/ (acoustic model),
     * en-us.lm.bin and cmudict-en-us.dict (src/asr/asr.h) */
    const char *model_dir = om_config_str(cfg, "asr.model_dir");
    char *hmm = xasprintf("%s/en-us", model_dir);
    const char *hmm_files[] = {"mdef", "means", "variances", "transition_matrices", "feat.params",
                               NULL};
    check_files(&d, "pocketsphinx model", hmm, hmm_files);
    free(hmm);
    const char *lm_files[] = {"en-us.lm.bin", "cmudict-en-us.dict", NULL};
    check_files(&d, "pocketsphinx lm+dict", model_dir, lm_files);

    /* captions use DejaVu Sans from the editor's fonts dir (src/media/editplan.h) */
    char *font = xasprintf("%s/DejaVuSans.ttf", OM_EDITPLAN_FONTSDIR);
    check(&d, "fonts", om_file_exists(font), "%s%s", om_file_exists(font) ? "" : "missing ", font);
    free(font);

    const char *media = om_config_media_dir(cfg);
    struct stat mst;
    if (stat(media, &mst) != 0 || !S_ISDIR(mst.st_mode))
        check(&d, "media dir", 0, "%s is missing (run 'omniva init')", media);
    else if (dir_writable(media))
        check(&d, "media dir", 0, "%s", om_error_msg());
    else
        check(&d, "media dir", 1, "%s (writable)", media);

    if (d.json) {
        json_t *o = json_pack("{s:b, s:O}", "ok", d.failed == 0, "checks", d.checks);
        cli_print_json(o);
        json_decref(o);
    } else {
        printf("%s\n", d.failed ? "some checks FAILED" : "all checks ok");
    }
    json_decref(d.checks);
    om_config_free(cfg);
    return d.failed ? CLI_FAIL : CLI_OK;
}
