/*
 * commands.c: the `omniva` command tree, one line per command. To add a command, write its
 * handler in src/cli/cmd_<family>.c, declare it in cli.h and add a line here (see cli.h).
 */
#include "base/common.h"
#include "cli/cli.h"

static const cli_opt json_opt[] = {{"json", NULL, "print JSON"}, {NULL, NULL, NULL}};

/* ---- workspace -------------------------------------------------------------------- */

static const cli_opt doctor_opts[] = {{"json", NULL, "print the checks as JSON"},
                                      {NULL, NULL, NULL}};

/* ---- jobs ------------------------------------------------------------------------- */

static const cli_opt enqueue_opts[] = {
    {"payload", "JSON", "job payload, a JSON object (default {})"},
    {"priority", "N", "0-9, 9 most urgent (default 5)"},
    {"delay", "SECONDS", "not claimable before this many seconds from now"},
    {"unique", "KEY", "idempotency key per type: a second enqueue returns the first job"},
    {"max-attempts", "N", "deliveries before the dead letters (default 3)"},
    {"json", NULL, "print {\"job_id\", \"created\"} as JSON"},
    {NULL, NULL, NULL}};

static const cli_opt list_opts[] = {
    {"state", "STATE", "ready, delayed, leased, done, dead or outbox"},
    {"type", "TYPE", "only jobs of this type"},
    {"limit", "N", "at most N jobs (default 100)"},
    {"json", NULL, "print a JSON array"},
    {NULL, NULL, NULL}};

static const cli_opt purge_opts[] = {{"state", "STATE", "the state to purge: dead or done"},
                                     {"json", NULL, "print {\"purged\": N} as JSON"},
                                     {NULL, NULL, NULL}};

static const cli_cmd jobs_cmds[] = {
    {"enqueue", "queue a job", "TYPE [options]",
     "TYPE is a job type such as scrape, analyze, edit or selftest.write.", enqueue_opts, 1, 1,
     cmd_jobs_enqueue, NULL},
    {"list", "list jobs", "[options]", NULL, list_opts, 0, 0, cmd_jobs_list, NULL},
    {"show", "show one job: payload, attempts, error history, events", "ID [options]", NULL,
     json_opt, 1, 1, cmd_jobs_show, NULL},
    {"retry", "bring a dead job back to ready (attempts reset)", "ID", NULL, NULL, 1, 1,
     cmd_jobs_retry, NULL},
    {"purge", "delete jobs in a final state", "--state dead|done", NULL, purge_opts, 0, 0,
     cmd_jobs_purge, NULL},
    {"stats", "job counts per type and state", "[options]", NULL, json_opt, 0, 0,
     cmd_jobs_stats, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

/* ---- worker ----------------------------------------------------------------------- */

static const cli_opt worker_opts[] = {
    {"types", "T1,T2", "job types to serve (default: every registered type)"},
    {"concurrency", "N", "worker processes (default 1); a supervisor restarts crashed ones"},
    {"once", NULL, "exit when no job is claimable"},
    {NULL, NULL, NULL}};

/* ---- ledger ----------------------------------------------------------------------- */

static const cli_cmd ledger_cmds[] = {
    {"verify", "check the whole hash chain; exit 1 naming the first bad packet", "[options]",
     NULL, json_opt, 0, 0, cmd_ledger_verify, NULL},
    {"show", "the packets about one entity (job, clip, video, ...)", "ENTITY_ID [options]",
     NULL, json_opt, 1, 1, cmd_ledger_show, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

/* ---- the root --------------------------------------------------------------------- */

static const cli_cmd root_cmds[] = {
    {"init", "create (or re-open) a workspace: omniva.conf, database, media/", "[DIR]",
     "Idempotent: running it again keeps the data and applies pending migrations.", NULL, 0, 1,
     cmd_init, NULL},
    {"migrate", "apply pending database migrations", "", NULL, NULL, 0, 0, cmd_migrate, NULL},
    {"doctor", "check the installation and the workspace", "[options]", NULL, doctor_opts, 0, 0,
     cmd_doctor, NULL},
    {"jobs", "inspect and manage the job queue", "<command> [options]", NULL, NULL, 0, 0, NULL,
     jobs_cmds},
    {"worker", "run workers until SIGTERM/SIGINT (then drain and exit 0)", "[options]",
     "Knobs ([worker] in omniva.conf, or env OMNIVA_WORKER_<KEY>): lease_ms (30000),\n"
     "timeout_ms (600000), reap_ms, relay_ms, idle_ms, drain_grace_ms (30000),\n"
     "backoff_base_ms, backoff_cap_ms.",
     worker_opts, 0, 0, cmd_worker, NULL},
    {"ledger", "the Stardust provenance ledger", "<command> [options]", NULL, NULL, 0, 0, NULL,
     ledger_cmds},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const cli_cmd cli_root = {"omniva", "Omniva Engine: autonomous short-form clip farm.",
                          "[global options] <command> [options]", NULL, NULL, 0, 0, NULL,
                          root_cmds};
