/*
 * cli.c: the command-line machinery shared by every `omniva` command: option parsing
 * (--name VALUE, --name=VALUE, flags, "--"), --help at every level, usage errors (exit 2),
 * error printing and opening the workspace.
 */
#include "base/common.h"
#include "cli/cli.h"
#include "runtime/worker.h" /* the registered job types, for help texts */

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

static const cli_opt global_opts[] = {
    {"home", "DIR", "workspace directory (default: $OMNIVA_HOME, else the current directory)"},
    {"db", "URL", "database URL: sqlite:///abs/omniva.db or postgres://... ($OMNIVA_DB)"},
    {"queue", "URL", "job queue: sqlite or redis://host:port/db ($OMNIVA_QUEUE)"},
    {"log-level", "LEVEL", "debug, info, warn or error (default: [log] level, else info)"},
    {"log-format", "FORMAT", "json (log lines on stderr) or none (only in HOME/logs/omniva.jsonl);"
                             "\n                           default: json unless stderr is a "
                             "terminal"},
    {"quiet", NULL, "no log lines on stderr, no progress view: results and summaries only"},
    {"set", "KEY=VALUE", "override a setting, e.g. --set editor.crf=23 (repeatable)"},
    {"version", NULL, "print the version and exit"},
    {"help", NULL, "show this help"},
    {NULL, NULL, NULL}};
enum { G_HOME, G_DB, G_QUEUE, G_LOG_LEVEL, G_LOG_FORMAT, G_QUIET, G_SET, G_VERSION };

/* ---- errors ----------------------------------------------------------------------- */

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "omniva: error: %s\n", msg);
    free(msg);
    return CLI_FAIL;
}

int cli_error_om(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    const char *m = om_error_msg();
    cli_error("%s%s%s", ctx, m[0] ? ": " : "", m);
    free(ctx);
    return CLI_FAIL;
}

int cli_usage_error(cli_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "omniva: error: %s\n(see '%s --help')\n", msg, c->path ? c->path : "omniva");
    free(msg);
    return CLI_USAGE;
}

void cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | OM_JSON_REAL);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
}

/* ---- help ------------------------------------------------------------------------- */

/* Prints text with "{types}" replaced by the registered job types. */
static void put_text(FILE *f, const char *text)
{
    const char *mark;
    while ((mark = strstr(text, "{types}"))) {
        fprintf(f, "%.*s%s", (int)(mark - text), text, cli_job_types());
        text = mark + strlen("{types}");
    }
    fputs(text, f);
}

static void print_opts(FILE *f, const char *title, const cli_opt *opts)
{
    if (!opts || !opts[0].name)
        return;
    fprintf(f, "\n%s:\n", title);
    for (const cli_opt *o = opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-24s ", left);
        put_text(f, o->help);
        fputc('\n', f);
    }
}

const char *cli_job_types(void)
{
    static char *list;
    if (!list) {
        om_sbuf sb = OM_SBUF_INIT;
        for (size_t i = 0; i < om_runtime_count(); i++)
            sb_printf(&sb, "%s%s", i ? ", " : "", om_runtime_at(i)->type);
        list = xstrdup(sb_str(&sb));
        sb_release(&sb);
    }
    return list;
}

int cli_one_of(const char *s, const char *const *values)
{
    for (const char *const *v = values; s && *v; v++)
        if (!strcasecmp(*v, s))
            return 1;
    return 0;
}

static void print_help(FILE *f, const cli_cmd *cmd, const char *path)
{
    if (cmd->subs)
        fprintf(f, "usage: %s %s\n", path, cmd->usage ? cmd->usage : "<command> [options]");
    else
        fprintf(f, "usage: %s%s%s\n", path, cmd->usage ? " " : "", cmd->usage ? cmd->usage : "");
    if (cmd->summary)
        fprintf(f, "\n%s\n", cmd->summary);
    if (cmd->description) {
        fputc('\n', f);
        put_text(f, cmd->description);
        fputc('\n', f);
    }
    if (cmd->subs) {
        fprintf(f, "\ncommands:\n");
        for (const cli_cmd *s = cmd->subs; s->name; s++)
            fprintf(f, "  %-14s %s\n", s->name, s->summary ? s->summary : "");
        fprintf(f, "\nRun '%s <command> --help' for a command's options.\n", path);
    }
    print_opts(f, "options", cmd->opts);
    print_opts(f, "global options (any level)", global_opts);
}

/* ---- parsing ---------------------------------------------------------------------- */

static int find_opt(const cli_opt *opts, const char *name, size_t len)
{
    for (int i = 0; opts && opts[i].name; i++)
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
            return i;
    return -1;
}

static int want_version;

static void set_global(cli_ctx *c, int idx, const char *val)
{
    switch (idx) {
    case G_HOME: c->home = val; break;
    case G_DB: c->db = val; break;
    case G_QUEUE: c->queue = val; break;
    case G_LOG_LEVEL: c->log_level = val; break;
    case G_LOG_FORMAT: c->log_format = val; break;
    case G_QUIET: c->quiet = 1; break;
    case G_SET: if (c->nset < CLI_MAX_SETS) c->set[c->nset++] = val; break;
    case G_VERSION: want_version = 1; break;
    default: break;
    }
}

/* Parses one option at argv[*i]. Returns 0, 1 for --help, or CLI_USAGE (message printed). */
static int parse_option(cli_ctx *c, const cli_cmd *cmd, cli_args *a, int argc, char **argv,
                        int *i)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
        return 1;
    if (strncmp(arg, "--", 2) != 0)
        return cli_usage_error(c, "unknown option '%s'", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const char *inline_val = eq ? eq + 1 : NULL;
    int idx = a ? find_opt(cmd->opts, name, len) : -1;
    const cli_opt *o = idx >= 0 ? &cmd->opts[idx] : NULL;
    int gidx = -1;
    if (!o) {
        gidx = find_opt(global_opts, name, len);
        if (gidx < 0)
            return cli_usage_error(c, "unknown option '--%.*s' for '%s'", (int)len, name,
                                   c->path);
        o = &global_opts[gidx];
    }
    const char *val = NULL;
    if (o->arg) {
        if (inline_val)
            val = inline_val;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else
            return cli_usage_error(c, "option '--%s' needs a value (%s)", o->name, o->arg);
    } else if (inline_val) {
        return cli_usage_error(c, "option '--%s' takes no value", o->name);
    }
    if (gidx >= 0) {
        set_global(c, gidx, val);
    } else {
        a->vals[idx] = val;
        a->set[idx] = 1;
    }
    return 0;
}

static int is_option(const char *s)
{
    return s[0] == '-' && s[1] != '\0';
}

static int apply_globals(cli_ctx *c)
{
    if (c->log_level) {
        int l = om_log_level_parse(c->log_level);
        if (l < 0)
            return cli_usage_error(c, "unknown log level '%s' (debug, info, warn, error)",
                                   c->log_level);
        om_log_level_min = l;
    }
    if (c->log_format && strcmp(c->log_format, "json") && strcmp(c->log_format, "none"))
        return cli_usage_error(c, "unknown log format '%s' (json, none)", c->log_format);
    /* JSON lines on stderr are for scripts and CI: the default when stderr is not a
     * terminal; on a terminal they go only to the log file (HOME/logs/omniva.jsonl). */
    int json = c->log_format ? !strcmp(c->log_format, "json") : !isatty(STDERR_FILENO);
    om_log_set_quiet(c->quiet || !json);
    return CLI_OK;
}

/* Runs cmd with what its setup flags ask for opened in c->ws, closed after. */
static int run_command(cli_ctx *c, const cli_cmd *cmd, cli_args *a)
{
    int rc = cmd->check ? cmd->check(c, a) : CLI_OK;
    if (rc)
        return rc;
    memset(&c->ws, 0, sizeof(c->ws));
    if (cmd->flags & CLI_NEEDS_WORKSPACE) {
        if ((rc = cli_open(c, &c->ws, cmd->flags)))
            return rc;
    }
    rc = cmd->run(c, a);
    cli_close(&c->ws);
    return rc;
}

int cli_dispatch(cli_ctx *c, const cli_cmd *cmd, int argc, char **argv, const char *path)
{
    c->path = path;
    if (cmd->subs) {
        int i = 0;
        for (; i < argc && is_option(argv[i]) && strcmp(argv[i], "--") != 0; i++) {
            int rc = parse_option(c, cmd, NULL, argc, argv, &i);
            if (rc == 1) {
                print_help(stdout, cmd, path);
                return CLI_OK;
            }
            if (rc)
                return rc;
            if (want_version) {
                printf("omniva %s\n", OMNIVA_VERSION);
                return CLI_OK;
            }
        }
        if (i < argc && !strcmp(argv[i], "--"))
            i++;
        if (i >= argc) {
            print_help(stderr, cmd, path);
            fprintf(stderr, "\nomniva: error: '%s' needs a command\n", path);
            return CLI_USAGE;
        }
        const char *name = argv[i];
        for (const cli_cmd *s = cmd->subs; s->name; s++)
            if (!strcmp(s->name, name)) {
                char *sub_path = xasprintf("%s %s", path, name);
                int rc = cli_dispatch(c, s, argc - i - 1, argv + i + 1, sub_path);
                free(sub_path);
                c->path = path;
                return rc;
            }
        return cli_usage_error(c, "unknown command '%s' for '%s'", name, path);
    }

    /* --help anywhere before "--" wins over every other problem */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(stdout, cmd, path);
            return CLI_OK;
        }

    cli_args a;
    memset(&a, 0, sizeof(a));
    a.cmd = cmd;
    a.pos = xcalloc((size_t)argc + 1, sizeof(char *));
    int opts_done = 0, rc = CLI_OK;
    for (int i = 0; i < argc && rc == CLI_OK; i++) {
        if (!opts_done && !strcmp(argv[i], "--")) {
            opts_done = 1;
        } else if (!opts_done && is_option(argv[i])) {
            rc = parse_option(c, cmd, &a, argc, argv, &i);
        } else {
            a.pos[a.npos++] = argv[i];
        }
    }
    if (rc == CLI_OK && a.npos < cmd->min_args)
        rc = cli_usage_error(c, "'%s' needs %s", path, cmd->usage ? cmd->usage : "arguments");
    if (rc == CLI_OK && cmd->max_args >= 0 && a.npos > cmd->max_args)
        rc = cli_usage_error(c, "unexpected argument '%s' for '%s'", a.pos[cmd->max_args],
                             path);
    if (rc == CLI_OK && want_version) {
        printf("omniva %s\n", OMNIVA_VERSION);
        free(a.pos);
        return CLI_OK;
    }
    if (rc == CLI_OK)
        rc = apply_globals(c);
    if (rc == CLI_OK)
        rc = run_command(c, cmd, &a);
    free(a.pos);
    return rc;
}

const char *cli_get(const cli_args *a, const char *name)
{
    int i = find_opt(a->cmd->opts, name, strlen(name));
    return i >= 0 && a->set[i] ? a->vals[i] : NULL;
}

int cli_flag(const cli_args *a, const char *name)
{
    int i = find_opt(a->cmd->opts, name, strlen(name));
    return i >= 0 && a->set[i];
}

int cli_get_int(const cli_args *a, const char *name, long lo, long hi, long *out)
{
    const char *v = cli_get(a, name);
    if (!v)
        return CLI_OK;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        fflush(stdout);
        fprintf(stderr, "omniva: error: --%s must be an integer from %ld to %ld (got '%s')\n",
                name, lo, hi, v);
        return CLI_USAGE;
    }
    *out = n;
    return CLI_OK;
}

/* ---- workspace -------------------------------------------------------------------- */

int cli_apply_flags(cli_ctx *c, om_config *cfg)
{
    int rc = OM_OK;
    if (c->db && !rc)
        rc = om_config_put(cfg, "store.url", c->db, OM_ORIGIN_FLAG, "--db");
    if (c->queue && !rc)
        rc = om_config_put(cfg, "queue.url", c->queue, OM_ORIGIN_FLAG, "--queue");
    if (c->log_level && !rc)
        rc = om_config_put(cfg, "log.level", c->log_level, OM_ORIGIN_FLAG, "--log-level");
    for (int i = 0; i < c->nset && !rc; i++)
        rc = om_config_set_arg(cfg, c->set[i], "--set");
    return rc ? om_error_wrap(rc, "command line") : OM_OK;
}

int cli_load_config(cli_ctx *c, om_config **out, int allow_missing)
{
    *out = NULL;
    char *home = om_config_resolve_home(c->home);
    om_config *cfg = NULL;
    int rc = om_config_load(&cfg, home);
    const char *env_db = getenv("OMNIVA_DB");
    if (rc == OM_ENOTFOUND && (allow_missing || c->db || (env_db && *env_db))) {
        cfg = om_config_new(home);
        rc = om_config_apply_env(cfg);
    }
    free(home);
    if (rc == OM_OK)
        rc = cli_apply_flags(c, cfg);
    if (rc) {
        om_config_free(cfg);
        return cli_error("%s", om_error_msg());
    }
    if (!c->log_level) {
        int l = om_log_level_parse(om_config_str(cfg, "log.level"));
        if (l >= 0)
            om_log_level_min = l;
    }
    *out = cfg;
    return CLI_OK;
}

/* HOME/logs/omniva.jsonl gets every log line of this process and its children (workers,
 * job processes). Commands that only read leave the workspace as it is. */
static void open_log_file(const om_config *cfg, int flags)
{
    if (flags & CLI_READ_ONLY)
        return;
    char *path = xasprintf("%s/logs/omniva.jsonl", om_config_home(cfg));
    if (!om_log_file() || strcmp(om_log_file(), path))
        om_log_set_file(path); /* a read-only workspace: logging goes on without the file */
    free(path);
}

/* The SQLite file a sqlite:// URL names, or NULL. Caller frees. */
static char *sqlite_path(const char *url)
{
    if (strncmp(url, "sqlite://", 9) != 0)
        return NULL;
    const char *p = url + 9;
    return xstrndup(p, strcspn(p, "?"));
}

int cli_open(cli_ctx *c, cli_ws *ws, int flags)
{
    memset(ws, 0, sizeof(*ws));
    int rc = cli_load_config(c, &ws->cfg, 0);
    if (rc)
        return rc;
    open_log_file(ws->cfg, flags);
    if ((flags & CLI_NEEDS_STORE) != CLI_NEEDS_STORE)
        return CLI_OK;
    const char *url = om_config_store_url(ws->cfg);
    if (!url || !*url) {
        rc = cli_error("no database configured: set [store] url in %s/omniva.conf or pass "
                       "--db URL",
                       om_config_home(ws->cfg));
        cli_close(ws);
        return rc;
    }
    char *shown = om_url_redact(url);
    rc = om_store_open_ex(&ws->store, url, flags & CLI_READ_ONLY ? OM_STORE_NO_CREATE : 0);
    if (rc == OM_ENOTFOUND) {
        char *file = sqlite_path(url);
        cli_error("no database at %s; run 'omniva init'", file ? file : shown);
        free(file);
        free(shown);
        cli_close(ws);
        return CLI_FAIL;
    }
    if (rc) {
        cli_error_om("cannot open database %s", shown);
        free(shown);
        cli_close(ws);
        return CLI_FAIL;
    }
    if (!(flags & CLI_NO_SCHEMA)) {
        int version = 0;
        if (om_store_schema_version(ws->store, &version)) {
            cli_error_om("cannot read database %s", shown);
            free(shown);
            cli_close(ws);
            return CLI_FAIL;
        }
        if (version == 0) {
            cli_error("database %s has no schema yet; run 'omniva migrate' (or 'omniva init')",
                      shown);
            free(shown);
            cli_close(ws);
            return CLI_FAIL;
        }
    }
    free(shown);
    if ((flags & CLI_NEEDS_QUEUE) == CLI_NEEDS_QUEUE) {
        const char *qurl = om_config_queue_url(ws->cfg);
        if (om_queue_open(&ws->queue, qurl, ws->store)) {
            char *qs = om_url_redact(qurl);
            cli_error_om("cannot open queue %s", qs);
            free(qs);
            cli_close(ws);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

void cli_close(cli_ws *ws)
{
    if (ws->queue)
        om_queue_free(ws->queue);
    if (ws->store)
        om_store_free(ws->store);
    om_config_free(ws->cfg);
    memset(ws, 0, sizeof(*ws));
}
