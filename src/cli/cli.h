/*
 * cli.h: what the `omniva` commands share: the command tree, option parsing, help output,
 * exit codes, error printing and opening the workspace (config + store + queue).
 *
 * Adding a command: write `int cmd_<name>(cli_ctx *c, cli_args *a)` in
 * src/cli/cmd_<family>.c, declare it below, and add ONE line to the table in
 * src/cli/commands.c (name, summary, usage, options, positional counts, handler, then the
 * setup flags and an optional argument check). A command family with subcommands
 * (`omniva jobs ...`) is a table line whose .subs points to its own table. Parsing, --help
 * at every level and usage errors (exit 2) come for free.
 *
 * Setup flags (git's RUN_SETUP | NEED_WORK_TREE): the dispatcher opens what a command needs
 * ONCE, after the command's .check accepted the arguments, and closes it after .run:
 *   CLI_NEEDS_WORKSPACE  omniva.conf loaded into c->ws.cfg (overrides applied)
 *   CLI_NEEDS_STORE      + the store in c->ws.store, migrated (unless CLI_NO_SCHEMA)
 *   CLI_NEEDS_QUEUE      + the queue in c->ws.queue
 *   CLI_READ_ONLY        the command only reads: a missing SQLite file is an error
 *                        ("no database at PATH; run 'omniva init'"), never created
 * A handler may free and NULL c->ws.store/queue (workers reopen after fork).
 *
 * Exit codes (one rule for every command): 0 ok; 1 failed, including a well-formed id or
 * name that does not exist ("job X not found"); 2 usage only: unknown command/option, a
 * missing or malformed argument (an id that is not a UUID, a value outside its set).
 *
 * Conventions: handlers return CLI_OK (0), CLI_FAIL (1) or CLI_USAGE (2); errors go to
 * stderr as "omniva: error: <message>" via cli_error()/cli_error_om(); `--json` output goes
 * to stdout, one JSON document.
 */
#ifndef OMNIVA_CLI_CLI_H
#define OMNIVA_CLI_CLI_H

#include <jansson.h>

#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#ifndef OMNIVA_VERSION
#define OMNIVA_VERSION "0.1.0"
#endif

#define CLI_MAX_OPTS 24
#define CLI_MAX_SETS 32

typedef struct cli_opt {
    const char *name;  /* long name without "--"; NULL ends a table */
    const char *arg;   /* NULL: a flag; else the argument's name in help ("DIR") */
    const char *help;  /* "{types}" in it is replaced by the registered job types */
} cli_opt;

/* The workspace: config (overrides applied), store, queue. */
typedef struct cli_ws {
    om_config *cfg;
    om_store *store;
    om_queue *queue;
} cli_ws;

typedef struct cli_ctx {
    const char *home;       /* --home (NULL: $OMNIVA_HOME or the current directory) */
    const char *db;         /* --db (NULL: $OMNIVA_DB or [store] url) */
    const char *queue;      /* --queue */
    const char *log_level;  /* --log-level */
    const char *log_format; /* --log-format: json|none (NULL: json unless stderr is a tty) */
    int quiet;              /* --quiet: no log lines, no progress view; summaries only */
    const char *set[CLI_MAX_SETS]; /* --set section.key=value, in order */
    int nset;
    const char *path;       /* "omniva jobs enqueue": for messages */
    cli_ws ws;              /* what the command's setup flags opened (see above) */
} cli_ctx;

typedef struct cli_cmd cli_cmd;

typedef struct cli_args {
    const cli_cmd *cmd;
    const char *vals[CLI_MAX_OPTS]; /* by index in cmd->opts */
    int set[CLI_MAX_OPTS];
    char **pos;                     /* positional arguments (borrowed from argv) */
    int npos;
} cli_args;

struct cli_cmd {
    const char *name;        /* NULL ends a table */
    const char *summary;     /* one line, shown in the parent's help */
    const char *usage;       /* after the command path, e.g. "TYPE [options]" */
    const char *description; /* longer help text (may be NULL) */
    const cli_opt *opts;     /* may be NULL */
    int min_args, max_args;  /* positional arguments; max -1 = any number */
    int (*run)(cli_ctx *c, cli_args *a);
    const cli_cmd *subs;     /* a command family: its subcommands (run is then NULL) */
    int flags;               /* CLI_NEEDS_* | CLI_READ_ONLY | CLI_NO_SCHEMA (0: nothing) */
    /* Validates the arguments before anything is opened (may be NULL); returns CLI_OK or a
     * usage error (CLI_USAGE), so a malformed argument exits 2 even without a workspace. */
    int (*check)(cli_ctx *c, cli_args *a);
};

enum {
    CLI_NEEDS_WORKSPACE = 1,
    CLI_NEEDS_STORE = 2 | CLI_NEEDS_WORKSPACE,
    CLI_NEEDS_QUEUE = 4 | CLI_NEEDS_STORE,
    CLI_READ_ONLY = 8,
    CLI_NO_SCHEMA = 16
};

extern const cli_cmd cli_root; /* commands.c */

/* Parses argv (after the command path) for cmd and runs it; returns the exit code. */
int cli_dispatch(cli_ctx *c, const cli_cmd *cmd, int argc, char **argv, const char *path);

/* Option values: NULL / 0 when not given. */
const char *cli_get(const cli_args *a, const char *name);
int cli_flag(const cli_args *a, const char *name);
/* Strict integer option in [lo, hi]; *out untouched when absent. Returns CLI_OK or prints a
 * usage error and returns CLI_USAGE. */
int cli_get_int(const cli_args *a, const char *name, long lo, long hi, long *out);

int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* returns 1 */
int cli_usage_error(cli_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3))); /* returns 2 */
/* "omniva: error: <context>: <om_error_msg()>"; returns 1. */
int cli_error_om(const char *context_fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a JSON value to stdout (indented) and a newline. */
void cli_print_json(json_t *v);

/* Lays --db, --queue, --log-level and --set over cfg (origin "flag"). OM_EINVAL names the key. */
int cli_apply_flags(cli_ctx *c, om_config *cfg);
/* Loads the config for c (home, overrides, log level). Prints the error; returns exit code. */
int cli_load_config(cli_ctx *c, om_config **out, int allow_missing);
/* Opens what flags (CLI_NEEDS_* ...) ask for into ws. Prints the error and returns CLI_FAIL
 * on failure (ws is then empty). The dispatcher calls it; a command that needs a second
 * workspace (demo) may too. */
int cli_open(cli_ctx *c, cli_ws *ws, int flags);
void cli_close(cli_ws *ws); /* safe on an empty or partly freed ws */

/* The job types this build registers, comma-separated (for help texts). Static storage. */
const char *cli_job_types(void);
/* 1 when `s` is one of the NULL-terminated `values`, compared without case. */
int cli_one_of(const char *s, const char *const *values);

/* Command handlers (one file per family). */
int cmd_init(cli_ctx *c, cli_args *a);
int cmd_migrate(cli_ctx *c, cli_args *a);
int cmd_doctor(cli_ctx *c, cli_args *a);
int cmd_jobs_enqueue(cli_ctx *c, cli_args *a);
int cmd_jobs_list(cli_ctx *c, cli_args *a);
int cmd_jobs_show(cli_ctx *c, cli_args *a);
int cmd_jobs_retry(cli_ctx *c, cli_args *a);
int cmd_jobs_purge(cli_ctx *c, cli_args *a);
int cmd_jobs_stats(cli_ctx *c, cli_args *a);
int cmd_worker(cli_ctx *c, cli_args *a);
int cmd_ledger_verify(cli_ctx *c, cli_args *a);
int cmd_ledger_show(cli_ctx *c, cli_args *a);
int cmd_ledger_anchor(cli_ctx *c, cli_args *a);
/* cmd_pipeline.c */
int cmd_project_create(cli_ctx *c, cli_args *a);
int cmd_project_show(cli_ctx *c, cli_args *a);
int cmd_project_list(cli_ctx *c, cli_args *a);
int cmd_project_update(cli_ctx *c, cli_args *a);
int cmd_project_delete(cli_ctx *c, cli_args *a);
int cmd_creator_add(cli_ctx *c, cli_args *a);
int cmd_creator_list(cli_ctx *c, cli_args *a);
int cmd_creator_remove(cli_ctx *c, cli_args *a);
int cmd_run(cli_ctx *c, cli_args *a);
int cmd_clips(cli_ctx *c, cli_args *a);
int cmd_explain(cli_ctx *c, cli_args *a);
int cmd_demo(cli_ctx *c, cli_args *a);
int cmd_videos(cli_ctx *c, cli_args *a);
/* cmd_config.c: `omniva config show|check` (the subcommand table lives there) */
int cmd_config_show(cli_ctx *c, cli_args *a);
int cmd_config_check(cli_ctx *c, cli_args *a);
extern const cli_cmd cli_config_cmds[];
/* cmd_pipeline.c: the clips query (params: status twice, NULL for all) and its printer */
extern const char *cli_clips_sql;
void cli_print_clips(const om_config *cfg, om_rows *r);
/* cmd_run.c: enqueues this interval's re-scrape and runs every stage (workers in child
 * processes; ws->store/queue are closed first) with the progress view on a terminal and a
 * summary at the end. */
int cli_run_pipeline(cli_ctx *c, cli_ws *ws, int once, int now, int concurrency,
                     long interval, int dashboard); /* dashboard: `serve` beside (not --once) */
/* argument checks (cmd_*.c), run before the workspace is opened */
int check_jobs_enqueue(cli_ctx *c, cli_args *a);
int check_jobs_list(cli_ctx *c, cli_args *a);
int check_job_id(cli_ctx *c, cli_args *a);
int check_jobs_purge(cli_ctx *c, cli_args *a);
int check_worker(cli_ctx *c, cli_args *a);
int check_entity_id(cli_ctx *c, cli_args *a);
int check_clip_id(cli_ctx *c, cli_args *a);
int check_clips(cli_ctx *c, cli_args *a);
int check_run(cli_ctx *c, cli_args *a);
int check_project_update(cli_ctx *c, cli_args *a);
/* cmd_serve.c: `omniva serve` (src/http) */
int cmd_serve(cli_ctx *c, cli_args *a);
/* cmd_account.c: publishing accounts */
int cmd_account_add(cli_ctx *c, cli_args *a);
int cmd_account_list(cli_ctx *c, cli_args *a);
int cmd_account_remove(cli_ctx *c, cli_args *a);
int cmd_account_check(cli_ctx *c, cli_args *a);
int check_account_platform(cli_ctx *c, cli_args *a);
/* cmd_backup.c, cmd_retention.c: the data lifecycle (src/lifecycle) */
int cmd_backup(cli_ctx *c, cli_args *a);
int cmd_restore(cli_ctx *c, cli_args *a);
int cmd_retention_run(cli_ctx *c, cli_args *a);
int cmd_retention_approve(cli_ctx *c, cli_args *a);
int cmd_retention_set(cli_ctx *c, cli_args *a);
extern const cli_cmd cli_retention_cmds[];
/* cmd_oversight.c: `omniva paradox check`, `omniva incidents list|resolve` (the subcommand
 * tables live there) */
int cmd_paradox_check(cli_ctx *c, cli_args *a);
int cmd_incidents_list(cli_ctx *c, cli_args *a);
int cmd_incidents_resolve(cli_ctx *c, cli_args *a);
int check_incident_id(cli_ctx *c, cli_args *a);
extern const cli_cmd cli_paradox_cmds[];
extern const cli_cmd cli_incidents_cmds[];
/* cmd_user.c: `omniva user ...` (dashboard users, src/http/auth.h) */
int cmd_user_add(cli_ctx *c, cli_args *a);
int cmd_user_list(cli_ctx *c, cli_args *a);
int cmd_user_remove(cli_ctx *c, cli_args *a);
int cmd_user_passwd(cli_ctx *c, cli_args *a);
int cmd_user_token_create(cli_ctx *c, cli_args *a);
int cmd_user_token_list(cli_ctx *c, cli_args *a);
int cmd_user_token_revoke(cli_ctx *c, cli_args *a);
int check_user_name(cli_ctx *c, cli_args *a);
int check_user_add(cli_ctx *c, cli_args *a);
/* cmd_discover.c: `omniva discover PROJECT [--accept ID|--reject ID]` (src/stages/discovery.h) */
int cmd_discover(cli_ctx *c, cli_args *a);
extern const cli_opt cli_discover_opts[];

#endif
