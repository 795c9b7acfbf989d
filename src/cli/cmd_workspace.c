/*
 * cmd_workspace.c: `omniva init`, `omniva migrate`, `omniva doctor`: creating, upgrading
 * and checking a workspace (DIR/omniva.conf, the database, DIR/media).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "asr/asr.h"         /* OM_ASR_SPHINX_MODEL_DIR */
#include "cli/cli.h"
#include "ledger/anchor.h"    /* OM_ANCHOR_KEY_FILE */
#include "media/editplan.h" /* OM_EDITPLAN_FONTSDIR */
#include "store/store_backend.h" /* om_migrations: the schema version this build expects */

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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

enum { D_OK, D_WARN, D_FAIL };
static const char *const d_word[] = {"ok", "warn", "FAIL"};

typedef struct doctor {
    json_t *checks;
    int failed, warned;
    int json;
} doctor;

/* One check: "ok|warn|FAIL  NAME: DETAIL", and for a miss a "fix:" line with what to run. */
static void check(doctor *d, const char *name, int status, const char *fix, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

static void check(doctor *d, const char *name, int status, const char *fix, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *detail = xvasprintf(fmt, ap);
    va_end(ap);
    d->failed += status == D_FAIL;
    d->warned += status == D_WARN;
    json_t *o = json_pack("{s:s, s:b, s:s, s:s}", "check", name, "ok", status != D_FAIL,
                          "status", d_word[status], "detail", detail);
    if (status != D_OK && fix)
        json_object_set_new(o, "fix", json_string(fix));
    json_array_append_new(d->checks, o);
    if (!d->json) {
        printf("%-4s  %s: %s\n", d_word[status], name, detail);
        if (status != D_OK && fix)
            printf("      fix: %s\n", fix);
        fflush(stdout);
    }
    free(detail);
}

/* `prog ARG`'s whole output (stdout, else stderr), or NULL when it cannot run. Caller frees. */
static char *program_output(const char *prog, const char *arg1, const char *arg2)
{
    const char *argv[] = {prog, arg1, arg2, NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 15000, .max_output = 1 << 20};
    om_proc_result r;
    if (om_proc_run(&o, &r) != OM_OK || r.exit_code != 0) {
        om_proc_result_release(&r);
        return NULL;
    }
    char *text = xstrdup(r.out_len ? r.out : (r.err ? r.err : ""));
    om_proc_result_release(&r);
    return text;
}

static char *first_line(const char *text)
{
    size_t n = strcspn(text, "\r\n");
    return xstrndup(text, n > 80 ? 80 : n);
}

/* The program runs; its version line. 1 when it does. */
static int check_program(doctor *d, const char *name, const char *prog, const char *arg,
                         int status_if_missing, const char *fix)
{
    if (!om_proc_which(prog)) {
        check(d, name, status_if_missing, fix, "'%s' not found on PATH", prog);
        return 0;
    }
    char *out = program_output(prog, arg, NULL);
    char *v = out ? first_line(out) : NULL;
    check(d, name, v ? D_OK : status_if_missing, fix, "%s", v ? v : "found but does not run");
    free(v);
    free(out);
    return out != NULL;
}

/* Whether ffmpeg lists each of `names` as a word starting a column of `-filters` or
 * `-encoders`; the first missing one is named. */
static void check_ffmpeg_list(doctor *d, const char *name, const char *flag,
                              const char *const *names, const char *fix)
{
    char *out = program_output("ffmpeg", "-hide_banner", flag);
    if (!out) {
        check(d, name, D_FAIL, fix, "'ffmpeg %s' does not run", flag);
        return;
    }
    for (const char *const *n = names; *n; n++) {
        int found = 0;
        size_t len = strlen(*n);
        for (const char *p = out; (p = strstr(p, *n)) != NULL; p += len)
            if ((p == out || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n')) {
                found = 1;
                break;
            }
        if (!found) {
            check(d, name, D_FAIL, fix, "this ffmpeg has no '%s' (ffmpeg %s)", *n, flag);
            free(out);
            return;
        }
    }
    om_sbuf sb = OM_SBUF_INIT;
    for (const char *const *n = names; *n; n++)
        sb_printf(&sb, "%s%s", n == names ? "" : ", ", *n);
    check(d, name, D_OK, NULL, "%s", sb_str(&sb));
    sb_release(&sb);
    free(out);
}

static void check_files(doctor *d, const char *name, const char *dir, const char *const *files,
                        const char *fix)
{
    for (const char *const *f = files; *f; f++) {
        char *p = xasprintf("%s/%s", dir, *f);
        int ok = om_file_exists(p);
        if (!ok) {
            check(d, name, D_FAIL, fix, "missing %s", p);
            free(p);
            return;
        }
        free(p);
    }
    check(d, name, D_OK, NULL, "%s", dir);
}

/* The store, opened read-only-safe (a missing SQLite file is reported, never created); its
 * schema against this build's. Returns the open store or NULL. */
static om_store *check_store(doctor *d, const om_config *cfg)
{
    const char *url = om_config_store_url(cfg);
    if (!url || !*url) {
        check(d, "store", D_FAIL, "set [store] url in omniva.conf, or pass --db URL",
              "no database configured");
        return NULL;
    }
    char *shown = om_url_redact(url);
    om_store *s = NULL;
    int rc = om_store_open_ex(&s, url, OM_STORE_NO_CREATE);
    if (rc == OM_ENOTFOUND) {
        check(d, "store", D_FAIL, "omniva init", "%s: no database file", shown);
        free(shown);
        return NULL;
    }
    if (rc) {
        check(d, "store", D_FAIL,
              strncmp(url, "postgres", 8) == 0
                  ? "start PostgreSQL (systemctl start postgresql) or fix --db/[store] url"
                  : "check the path and its permissions",
              "cannot open %s: %s", shown, om_error_msg());
        free(shown);
        return NULL;
    }
    int version = 0, want = latest_migration();
    if (om_store_schema_version(s, &version))
        check(d, "store", D_FAIL, "omniva migrate", "%s: %s", shown, om_error_msg());
    else if (version < want)
        check(d, "store", D_FAIL, "omniva migrate",
              "%s: schema version %d, this build needs %d", shown, version, want);
    else if (version > want)
        check(d, "store", D_FAIL, "use the omniva build that wrote it (or a newer one)",
              "%s: schema version %d is newer than this build's %d", shown, version, want);
    else
        check(d, "store", D_OK, NULL, "%s (%s, schema version %d)", shown, om_store_dialect(s),
              version);
    free(shown);
    return s;
}

static void check_queue(doctor *d, const om_config *cfg, om_store *s)
{
    const char *qurl = om_config_queue_url(cfg);
    char *shown = om_url_redact(qurl);
    if (!s) {
        check(d, "queue", D_FAIL, "fix the store first", "%s: needs the store", shown);
        free(shown);
        return;
    }
    om_queue *q = NULL;
    om_queue_stat *stats = NULL;
    size_t n = 0;
    const char *fix = strncmp(qurl, "redis", 5) == 0
                          ? "start Redis (systemctl start redis-server) or fix --queue/[queue] url"
                          : "check the store";
    if (om_queue_open(&q, qurl, s))
        check(d, "queue", D_FAIL, fix, "cannot open %s: %s", shown, om_error_msg());
    else if (om_queue_stats(q, &stats, &n))
        check(d, "queue", D_FAIL, fix, "%s: %s", shown, om_error_msg());
    else
        check(d, "queue", D_OK, NULL, "%s (%s, %zu job types)", shown, om_queue_backend_name(q),
              n);
    free(stats);
    if (q)
        om_queue_free(q);
    free(shown);
}

/* The media dir exists, is writable and has room. */
static void check_media(doctor *d, const om_config *cfg)
{
    const char *media = om_config_media_dir(cfg);
    struct stat mst;
    struct statvfs vfs;
    if (stat(media, &mst) != 0 || !S_ISDIR(mst.st_mode)) {
        check(d, "media dir", D_FAIL, "omniva init", "%s is missing", media);
        return;
    }
    if (dir_writable(media)) {
        check(d, "media dir", D_FAIL, "chown/chmod it for the user omniva runs as", "%s",
              om_error_msg());
        return;
    }
    long min_mb = om_config_long(cfg, "media.min_free_mb");
    if (statvfs(media, &vfs) != 0) {
        check(d, "media dir", D_WARN, NULL, "%s (writable; free space unknown: %s)", media,
              strerror(errno));
        return;
    }
    double free_mb = (double)vfs.f_bavail * (double)vfs.f_frsize / (1024.0 * 1024.0);
    if (free_mb < (double)min_mb)
        check(d, "media dir", D_WARN,
              "free space (omniva retention, or move [media] dir to a larger disk)",
              "%s: %.0f MiB free, below media.min_free_mb = %ld", media, free_mb, min_mb);
    else
        check(d, "media dir", D_OK, NULL, "%s (writable, %.0f MiB free)", media, free_mb);
}

/* The ledger's private key, when one was made, is private. */
static void check_ledger_key(doctor *d, const om_config *cfg)
{
    char *key = xasprintf("%s/keys/%s", om_config_home(cfg), OM_ANCHOR_KEY_FILE);
    struct stat st;
    if (stat(key, &st) != 0) {
        check(d, "ledger key", D_OK, NULL, "none yet ('omniva ledger anchor' makes one)");
    } else if (st.st_mode & 077) {
        char *fix = xasprintf("chmod 600 %s", key);
        check(d, "ledger key", D_FAIL, fix, "%s is readable by others (mode %03o)", key,
              (unsigned)(st.st_mode & 0777));
        free(fix);
    } else {
        check(d, "ledger key", D_OK, NULL, "%s (mode 600)", key);
    }
    free(key);
}

int cmd_doctor(cli_ctx *c, cli_args *a)
{
    doctor d = {json_array(), 0, 0, cli_flag(a, "json")};
    om_config *cfg = NULL;
    char *home = om_config_resolve_home(c->home);
    int rc = om_config_load(&cfg, home);
    if (rc == OM_OK) {
        check(&d, "config", D_OK, NULL, "%s/omniva.conf", home);
    } else {
        check(&d, "config", D_FAIL,
              rc == OM_ENOTFOUND ? "omniva init (or --home DIR of a workspace)"
                                 : "omniva config check (it lists every problem)",
              "%s", om_error_msg());
        cfg = om_config_new(home);
        if (om_config_apply_env(cfg))
            check(&d, "environment", D_FAIL, "unset or fix the OMNIVA_* variable named", "%s",
                  om_error_msg());
    }
    free(home);
    if (cli_apply_flags(c, cfg))
        check(&d, "flags", D_FAIL, "fix the --set/--db/--queue value named", "%s",
              om_error_msg());

    om_store *s = check_store(&d, cfg);
    check_queue(&d, cfg, s);
    if (s)
        om_store_free(s);

    const char *apt_ffmpeg = "apt-get install ffmpeg";
    if (check_program(&d, "ffmpeg", "ffmpeg", "-version", D_FAIL, apt_ffmpeg)) {
        /* what the editor's one-pass filtergraph and output use (src/media/editplan.c) */
        static const char *const filters[] = {
            "ass",     "boxblur",  "colorchannelmixer", "color", "crop",     "scale",
            "pad",     "overlay",  "concat",            "split", "setsar",   "format",
            "fps",     "loudnorm", "volume",            "alimiter", "aformat", "aresample",
            "atrim",   "anullsrc", NULL};
        static const char *const encoders[] = {"libx264", "aac", NULL};
        check_ffmpeg_list(&d, "ffmpeg filters", "-filters", filters,
                          "install Debian's ffmpeg (built with libass): apt-get install ffmpeg");
        check_ffmpeg_list(&d, "ffmpeg encoders", "-encoders", encoders,
                          "install Debian's ffmpeg (built with libx264): apt-get install ffmpeg");
    }
    check_program(&d, "ffprobe", "ffprobe", "-version", D_FAIL, apt_ffmpeg);
    check_program(&d, "yt-dlp", om_config_str(cfg, "scraper.ytdlp"), "--version", D_WARN,
                  "apt-get install yt-dlp (needed for TikTok, Instagram and YouTube creators)");
    check_program(&d, "espeak-ng", "espeak-ng", "--version", D_WARN,
                  "apt-get install espeak-ng (needed by 'omniva demo' only)");

    /* the analyzer's pocketsphinx model: [asr] model_dir holds en-us/ (acoustic model),
     * en-us.lm.bin and cmudict-en-us.dict (src/asr/asr.h) */
    const char *model_dir = om_config_str(cfg, "asr.model_dir");
    char *hmm = xasprintf("%s/en-us", model_dir);
    const char *hmm_files[] = {"mdef", "means", "variances", "transition_matrices", "feat.params",
                               NULL};
    const char *apt_sphinx = "apt-get install pocketsphinx-en-us (or set asr.model_dir)";
    check_files(&d, "pocketsphinx model", hmm, hmm_files, apt_sphinx);
    free(hmm);
    const char *lm_files[] = {"en-us.lm.bin", "cmudict-en-us.dict", NULL};
    check_files(&d, "pocketsphinx lm+dict", model_dir, lm_files, apt_sphinx);

    /* captions use DejaVu Sans from the editor's fonts dir (src/media/editplan.h) */
    char *font = xasprintf("%s/DejaVuSans.ttf", OM_EDITPLAN_FONTSDIR);
    int have_font = om_file_exists(font);
    check(&d, "fonts", have_font ? D_OK : D_FAIL, "apt-get install fonts-dejavu-core", "%s%s",
          have_font ? "" : "missing ", font);
    free(font);

    check_media(&d, cfg);
    check_ledger_key(&d, cfg);

    if (d.json) {
        json_t *o = json_pack("{s:b, s:i, s:i, s:O}", "ok", d.failed == 0, "failed", d.failed,
                              "warnings", d.warned, "checks", d.checks);
        cli_print_json(o);
        json_decref(o);
    } else if (d.failed) {
        printf("%d check%s FAILED; run the fix lines above, then 'omniva doctor' again\n",
               d.failed, d.failed == 1 ? "" : "s");
    } else {
        printf("all checks ok%s\n", d.warned ? " (see the warnings above)" : "");
    }
    json_decref(d.checks);
    om_config_free(cfg);
    return d.failed ? CLI_FAIL : CLI_OK;
}
