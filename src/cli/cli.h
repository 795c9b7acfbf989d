/*
 * cli.h: what the `omniva` commands share: the command tree, option parsing, help output,
 * exit codes, error printing and opening the workspace (config + store + queue).
 *
 * Adding a command: write `int cmd_<name>(cli_ctx *c, cli_args *a)` in
 * src/cli/cmd_<family>.c, declare it below, and add ONE line to the table in
 * src/cli/commands.c (name, summary, usage, options, positional counts, handler). A command
 * family with subcommands (`omniva jobs ...`) is a table line whose .subs points to its own
 * table. Parsing, --help at every level and usage errors (exit 2) come for free.
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

#define CLI_MAX_OPTS 24
#define CLI_MAX_SETS 32

typedef struct cli_opt {
    const char *name;  /* long name without "--"; NULL ends a table */
    const char *arg;   /* NULL: a flag; else the argument's name in help ("DIR") */
    const char *help;
} cli_opt;

typedef struct cli_ctx {
    const char *home;      /* --home (NULL: $OMNIVA_HOME or the current directory) */
    const char *db;        /* --db (NULL: $OMNIVA_DB or [store] url) */
    const char *queue;     /* --queue */
    const char *log_level; /* --log-level */
    int quiet;
    const char *set[CLI_MAX_SETS]; /* --set section.key=value, in order */
    int nset;
    const char *path;      /* "omniva jobs enqueue": for messages */
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

/* The workspace: config (overrides applied), store, queue. */
typedef struct cli_ws {
    om_config *cfg;
    om_store *store;
    om_queue *queue;
} cli_ws;

enum {
    CLI_WS_STORE = 1,      /* open the store */
    CLI_WS_QUEUE = 2,      /* open the queue (implies the store) */
    CLI_WS_NO_SCHEMA = 4,  /* do not require a migrated schema */
    CLI_WS_NO_CONFIG = 8   /* a missing omniva.conf is fine (empty config at home) */
};

/* Lays --db, --queue, --log-level and --set over cfg (origin "flag"). OM_EINVAL names the key. */
int cli_apply_flags(cli_ctx *c, om_config *cfg);
/* Loads the config for c (home, overrides, log level). Prints the error; returns exit code. */
int cli_load_config(cli_ctx *c, om_config **out, int allow_missing);
/* Opens what flags ask for. Prints the error and returns CLI_FAIL on failure. */
int cli_open(cli_ctx *c, cli_ws *ws, int flags);
void cli_close(cli_ws *ws);

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
int cmd_creator_add(cli_ctx *c, cli_args *a);
int cmd_creator_list(cli_ctx *c, cli_args *a);
int cmd_creator_remove(cli_ctx *c, cli_args *a);
int cmd_run(cli_ctx *c, cli_args *a);
int cmd_clips(cli_ctx *c, cli_args *a);
int cmd_explain(cli_ctx *c, cli_args *a);
int cmd_demo(cli_ctx *c, cli_args *a);
/* cmd_config.c: `omniva config show|check` (the subcommand table lives there) */
int cmd_config_show(cli_ctx *c, cli_args *a);
int cmd_config_check(cli_ctx *c, cli_args *a);
extern const cli_cmd cli_config_cmds[];

#endif
