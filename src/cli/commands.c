/*
 * commands.c: the `omniva` command tree, one line per command. To add a command, write its
 * handler in src/cli/cmd_<family>.c, declare it in cli.h and add a line here (see cli.h).
 * Each line ends with the setup flags (what the dispatcher opens before the handler runs)
 * and the argument check that runs before anything is opened.
 */
#include "base/common.h"
#include "cli/cli.h"

#define WS CLI_NEEDS_WORKSPACE
#define STORE CLI_NEEDS_STORE
#define QUEUE CLI_NEEDS_QUEUE
#define RO CLI_READ_ONLY

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
    {"type", "TYPE", "only jobs of this type: {types}"},
    {"limit", "N", "at most N jobs (default 100)"},
    {"json", NULL, "print a JSON array"},
    {NULL, NULL, NULL}};

static const cli_opt purge_opts[] = {{"state", "STATE", "the state to purge: dead or done"},
                                     {"json", NULL, "print {\"purged\": N} as JSON"},
                                     {NULL, NULL, NULL}};

static const cli_cmd jobs_cmds[] = {
    {"enqueue", "queue a job", "TYPE [options]",
     "TYPE is a job type; this build runs: {types}.", enqueue_opts, 1, 1, cmd_jobs_enqueue,
     NULL, QUEUE, check_jobs_enqueue},
    {"list", "list jobs", "[options]", NULL, list_opts, 0, 0, cmd_jobs_list, NULL, QUEUE | RO,
     check_jobs_list},
    {"show", "show one job: payload, attempts, error history, events", "ID [options]", NULL,
     json_opt, 1, 1, cmd_jobs_show, NULL, QUEUE | RO, check_job_id},
    {"retry", "bring a dead job back to ready (attempts reset)", "ID", NULL, NULL, 1, 1,
     cmd_jobs_retry, NULL, QUEUE, check_job_id},
    {"purge", "delete jobs in a final state", "--state dead|done", NULL, purge_opts, 0, 0,
     cmd_jobs_purge, NULL, QUEUE, check_jobs_purge},
    {"stats", "job counts per type and state", "[options]", NULL, json_opt, 0, 0,
     cmd_jobs_stats, NULL, QUEUE | RO, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

/* ---- worker ----------------------------------------------------------------------- */

static const cli_opt worker_opts[] = {
    {"types", "T1,T2", "job types to serve (default: all of {types})"},
    {"concurrency", "N", "worker processes (default 1); a supervisor restarts crashed ones"},
    {"once", NULL, "exit when no job is claimable"},
    {"gpu", NULL, "a GPU render node: probe h264_nvenc/VAAPI at start, serve GPU jobs first"},
    {NULL, NULL, NULL}};

/* ---- ledger ----------------------------------------------------------------------- */

static const cli_opt ledger_verify_opts[] = {
    {"anchor", "FILE", "also prove the ledger still extends this signed anchor"},
    {"key", "PUB", "the public key to trust (default HOME/keys/ledger_ed25519.pub.pem)"},
    {"json", NULL, "print the verdict as JSON"},
    {"archive", "FILE", "verify a log archive instead (its hash chain and its ledger packet)"},
    {NULL, NULL, NULL}};

static const cli_opt ledger_anchor_opts[] = {
    {"out", "FILE", "write the anchor to FILE (default: print it)"}, {NULL, NULL, NULL}};

static const cli_cmd ledger_cmds[] = {
    {"verify", "check the whole hash chain and its head; exit 1 naming the first bad packet",
     "[--anchor FILE [--key PUB]] [options]",
     "With --anchor, also proves the ledger still extends a checkpoint made by 'ledger\n"
     "anchor': the signature is valid, the anchored packet is there with its hash, and the\n"
     "chain is intact from there on.",
     ledger_verify_opts, 0, 0, cmd_ledger_verify, NULL, STORE | RO, NULL},
    {"anchor", "export a signed checkpoint of the ledger head (Ed25519)", "[--out FILE]",
     "The key pair is made on first use: HOME/keys/ledger_ed25519.pem (mode 0600) and\n"
     "ledger_ed25519.pub.pem. Keep anchors away from the database.",
     ledger_anchor_opts, 0, 0, cmd_ledger_anchor, NULL, STORE, NULL},
    {"show", "the packets about one entity (job, clip, video, ...)", "ENTITY_ID [options]",
     NULL, json_opt, 1, 1, cmd_ledger_show, NULL, STORE | RO, check_entity_id},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

/* ---- projects, creators, the pipeline (cmd_pipeline.c) ---------------------------- */

static const cli_opt project_create_opts[] = {
    {"brand", "FILE", "brand settings, a JSON object (see README: Brand settings)"},
    {"json", NULL, "print the created project as JSON"},
    {NULL, NULL, NULL}};

static const cli_opt project_update_opts[] = {
    {"brand", "FILE", "brand settings to change, a JSON object merged over the current ones"},
    {"json", NULL, "print the updated project as JSON"},
    {NULL, NULL, NULL}};

static const cli_opt project_delete_opts[] = {
    {"force", NULL, "delete even when the project has clips"},
    {NULL, NULL, NULL}};

static const cli_cmd project_cmds[] = {
    {"create", "create a project", "NAME [--brand FILE]",
     "Unknown keys, bad colours, a missing logo and out-of-range numbers are refused with\n"
     "the key named; missing keys get their defaults.",
     project_create_opts, 1, 1, cmd_project_create, NULL, STORE, NULL},
    {"show", "a project with its brand settings and creators (JSON)", "PROJECT", NULL, NULL, 1,
     1, cmd_project_show, NULL, STORE | RO, NULL},
    {"list", "list projects", "[options]", NULL, json_opt, 0, 0, cmd_project_list, NULL,
     STORE | RO, NULL},
    {"update", "change a project's brand settings", "PROJECT --brand FILE",
     "The keys in FILE replace the project's (objects such as caption merge key by key);\n"
     "the result is validated like 'project create' and refused naming the key.",
     project_update_opts, 1, 1, cmd_project_update, NULL, STORE, check_project_update},
    {"delete", "delete a project and its creator links", "PROJECT [--force]",
     "Removes the project and its links to creators (it stops following them). Refused\n"
     "when the project has clips unless --force. Creators, videos, clips, rendered and\n"
     "exported files and the ledger stay: the ledger is append-only and a creator may be\n"
     "followed by another project.",
     project_delete_opts, 1, 1, cmd_project_delete, NULL, STORE, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

static const cli_cmd creator_cmds[] = {
    {"add", "follow a creator: TikTok, Instagram, YouTube, RSS/Atom feed, media URL, file://",
     "PROJECT URL [options]",
     "The platform is detected from the URL: tiktok.com/@user, instagram.com/user[/reels],\n"
     "youtube.com/@handle|/channel/ID|/c/NAME|/user/NAME[/shorts], a YouTube channel feed,\n"
     "any other http(s) feed (RSS 2.0 or Atom), a direct media URL (.mp4, .webm, ...), or\n"
     "file:///abs/folder.",
     json_opt, 2, 2, cmd_creator_add, NULL, STORE, NULL},
    {"list", "a project's creators", "PROJECT [options]", NULL, json_opt, 1, 1,
     cmd_creator_list, NULL, STORE | RO, NULL},
    {"remove", "stop following a creator in a project", "PROJECT CREATOR",
     "CREATOR is the creator's id (see 'creator list') or the URL it was added with.", NULL, 2,
     2, cmd_creator_remove, NULL, STORE, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

static const cli_opt run_opts[] = {
    {"once", NULL, "do what is due now, wait until the pipeline is idle, exit"},
    {"now", NULL, "schedule clips for now instead of the best future slot (tests, demos)"},
    {"concurrency", "N", "worker processes (default 2)"},
    {"interval", "SECONDS", "re-scrape interval (default: setting scraper.interval_s)"},
    {"no-dashboard", NULL, "do not start 'omniva serve' (API, /metrics) beside the workers"},
    {NULL, NULL, NULL}};

static const cli_opt clips_opts[] = {
    {"status", "STATUS", "candidate, selected, rejected, rendered, scheduled or published"},
    {"json", NULL, "print a JSON array"},
    {"limit", "N", "clips per page, best first (default 50; 0: all)"},
    {"offset", "N", "skip the first N clips (the next page)"},
    {NULL, NULL, NULL}};

static const cli_opt videos_opts[] = {{"project", "PROJECT", "only this project's videos"},
                                      {"json", NULL, "print a JSON array"},
                                      {NULL, NULL, NULL}};

static const cli_opt serve_opts[] = {
    {"listen", "ADDR:PORT", "where to listen (default: setting http.listen)"},
    {NULL, NULL, NULL}};
/* ---- publishing accounts (cmd_account.c) ------------------------------------------ */

static const cli_cmd account_cmds[] = {
    {"add", "link a publishing account to a project (OAuth in the browser)", "PLATFORM PROJECT",
     "PLATFORM: youtube, tiktok or instagram. Prints the consent URL and waits for the\n"
     "browser's redirect to a one-shot listener on 127.0.0.1 (random port; PKCE S256).\n"
     "Needs the platform's client id and secret ([youtube] client_id/client_secret, an\n"
     "OAuth client of type Desktop app; [tiktok] client_key/client_secret; [instagram]\n"
     "client_id/client_secret). Tokens go to the store; the refresh token is never printed.\n"
     "Linking again replaces the tokens. TikTok: warns when tiktok.audited is false (every\n"
     "post SELF_ONLY).",
     NULL, 2, 2, cmd_account_add, NULL, STORE, check_account_platform},
    {"list", "the linked accounts: state, channel, last token refresh", "[PROJECT] [options]",
     NULL, json_opt, 0, 1, cmd_account_list, NULL, STORE | RO, NULL},
    {"remove", "unlink a project's account", "PLATFORM PROJECT", NULL, NULL, 2, 2,
     cmd_account_remove, NULL, STORE, check_account_platform},
    {"check", "token health check: refresh every active account's token now",
     "[PROJECT] [options]",
     "A revoked or expired grant (invalid_grant) marks the account unusable and raises an\n"
     "incident. Exit 1 when any account failed.",
     json_opt, 0, 1, cmd_account_check, NULL, STORE, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};
/* ---- the data lifecycle (cmd_backup.c, cmd_retention.c) --------------------------- */

static const cli_opt backup_opts[] = {
    {"to", "DIR", "a new folder for the backup"},
    {"with-media", NULL, "also copy the media folder (checksummed)"},
    {"json", NULL, "print the manifest as JSON"},
    {NULL, NULL, NULL}};

static const cli_opt restore_opts[] = {{"from", "DIR", "a folder written by 'omniva backup'"},
                                       {"json", NULL, "print what was restored as JSON"},
                                       {NULL, NULL, NULL}};
/* ---- dashboard users (cmd_user.c) ------------------------------------------------- */

static const cli_opt user_add_opts[] = {
    {"role", "ROLE", "admin (users, settings), operator (projects, clips, retries) or viewer"},
    {NULL, NULL, NULL}};

static const cli_opt user_token_create_opts[] = {
    {"label", "TEXT", "what the token is for (shown by 'user token list')"}, {NULL, NULL, NULL}};

static const cli_cmd user_token_cmds[] = {
    {"create", "make an API token (printed once) for scripts: Authorization: Bearer TOKEN",
     "NAME [--label TEXT]", NULL, user_token_create_opts, 1, 1, cmd_user_token_create, NULL,
     STORE, check_user_name},
    {"list", "a user's live API tokens (ids, never the tokens)", "NAME [options]", NULL,
     json_opt, 1, 1, cmd_user_token_list, NULL, STORE | RO, check_user_name},
    {"revoke", "revoke one API token", "NAME TOKEN_ID", NULL, NULL, 2, 2, cmd_user_token_revoke,
     NULL, STORE, check_user_name},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

static const cli_cmd user_cmds[] = {
    {"add", "add a dashboard user; the password is read from stdin (one line)",
     "NAME --role admin|operator|viewer",
     "The password is one line on stdin (not echoed anywhere, never logged), at least\n"
     "auth.min_password characters; it is stored as an argon2id hash.",
     user_add_opts, 1, 1, cmd_user_add, NULL, STORE, check_user_add},
    {"list", "list users and their roles (never password hashes)", "[options]", NULL, json_opt,
     0, 0, cmd_user_list, NULL, STORE | RO, NULL},
    {"remove", "remove a user, their sessions and API tokens", "NAME", NULL, NULL, 1, 1,
     cmd_user_remove, NULL, STORE, check_user_name},
    {"passwd", "set a user's password from stdin (one line); ends their sessions", "NAME",
     NULL, NULL, 1, 1, cmd_user_passwd, NULL, STORE, check_user_name},
    {"token", "API tokens for scripts", "<command> [options]", NULL, NULL, 0, 0, NULL,
     user_token_cmds, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

/* ---- the root --------------------------------------------------------------------- */

static const cli_cmd root_cmds[] = {
    {"init", "create (or re-open) a workspace: omniva.conf, database, media/", "[DIR]",
     "Idempotent: running it again keeps the data and applies pending migrations.", NULL, 0, 1,
     cmd_init, NULL, 0, NULL},
    {"migrate", "apply pending database migrations", "", NULL, NULL, 0, 0, cmd_migrate, NULL,
     STORE | CLI_NO_SCHEMA, NULL},
    {"doctor", "check the installation and the workspace; say how to fix what is missing",
     "[options]", NULL, doctor_opts, 0, 0, cmd_doctor, NULL, 0, NULL},
    {"config", "show and check the settings (omniva.conf)", "<command> [options]", NULL, NULL,
     0, 0, NULL, cli_config_cmds, 0, NULL},
    {"jobs", "inspect and manage the job queue", "<command> [options]", NULL, NULL, 0, 0, NULL,
     jobs_cmds, 0, NULL},
    {"worker", "run workers until SIGTERM/SIGINT (then drain and exit 0)", "[options]",
     "Job types: {types}.\n"
     "Knobs: the [worker] settings ('omniva config show'), env OMNIVA_WORKER_<KEY>.",
     worker_opts, 0, 0, cmd_worker, NULL, QUEUE, check_worker},
    {"ledger", "the Stardust provenance ledger", "<command> [options]", NULL, NULL, 0, 0, NULL,
     ledger_cmds, 0, NULL},
    {"project", "create, change, delete and inspect projects (brand settings)",
     "<command> [options]", NULL, NULL, 0, 0, NULL, project_cmds, 0, NULL},
    {"creator", "follow creators (feeds, channels, folders)", "<command> [options]", NULL, NULL,
     0, 0, NULL, creator_cmds, 0, NULL},
    {"run", "run the whole pipeline: re-scrape, analyze, select, edit, schedule, publish",
     "[options]",
     "Every stage's workers plus the periodic re-scrape in one process tree, until Ctrl-C\n"
     "(drains). With --once: what is due now, until the pipeline is idle (jobs waiting for a\n"
     "retry and leases that can still expire are waited for).\n"
     "On a terminal it shows a live progress view and a summary; the JSON log lines go to\n"
     "HOME/logs/omniva.jsonl (and to stderr with --log-format json, the default when stderr\n"
     "is not a terminal). --quiet prints only the summary.",
     run_opts, 0, 0, cmd_run, NULL, QUEUE, check_run},
    {"videos", "list videos with their status, clip count and why none was made", "[options]",
     NULL, videos_opts, 0, 0, cmd_videos, NULL, STORE | RO, NULL},
    {"clips", "list clips, best first, with where they are", "[options]", NULL, clips_opts, 0,
     0, cmd_clips, NULL, STORE | RO, check_clips},
    {"explain", "why this clip, this edit, this time (HaloLux)", "CLIP_ID [options]", NULL,
     json_opt, 1, 1, cmd_explain, NULL, STORE | RO, check_clip_id},
    {"demo", "make a demo workspace and run the pipeline on generated sources", "[DIR]",
     "Creates DIR (default: --home when given, else ./demo-workspace) with a coffee-brand\n"
     "project and a local creator folder of generated videos (espeak-ng speech; one with a\n"
     "planted on-brand hook; some with .srt/.vtt sidecars), runs the pipeline to the end and\n"
     "prints the clips.",
     NULL, 0, 1, cmd_demo, NULL, 0, NULL},
    {"serve", "serve the JSON API, /metrics and the dashboard until SIGTERM", "[options]",
     "Listens on --listen or the setting http.listen (default 127.0.0.1:8080). Off loopback\n"
     "it refuses to start while no user account exists. API: /api/v1 (openapi.json).",
     serve_opts, 0, 0, cmd_serve, NULL, QUEUE, NULL},
    {"account", "publishing accounts (YouTube) and their OAuth tokens", "<command> [options]",
     NULL, NULL, 0, 0, NULL, account_cmds, 0, NULL},
    {"backup", "back up the database (consistent while workers run), settings and a manifest",
     "--to DIR [--with-media] [options]",
     "SQLite through the online backup API, PostgreSQL through pg_dump -Fc, plus omniva.conf\n"
     "and manifest.json (SHA-256 of every file, schema version, ledger head, row counts).\n"
     "Media files are NOT copied unless --with-media. Written into DIR.partial, renamed to\n"
     "DIR when complete.",
     backup_opts, 0, 0, cmd_backup, NULL, STORE | RO, NULL},
    {"restore", "restore a backup into an empty store (the workspace of --home)",
     "--from DIR [--home NEWHOME] [options]",
     "Verifies every checksum of the manifest first; refuses a store that has rows. A new\n"
     "workspace gets the backup's omniva.conf (--db URL to restore into another database).\n"
     "PostgreSQL: pg_restore, then the materialized views are refreshed.",
     restore_opts, 0, 0, cmd_restore, NULL, 0, NULL},
    {"retention", "retention and cleanup of media files: plan, run, approve, per-project days",
     "<command> [options]", NULL, NULL, 0, 0, NULL, cli_retention_cmds, 0, NULL},
    {"paradox", "consistency checks over the store (Paradox)", "<command> [options]", NULL,
     NULL, 0, 0, NULL, cli_paradox_cmds, 0, NULL},
    {"incidents", "what Paradox and Eclipse found: list and resolve", "<command> [options]",
     NULL, NULL, 0, 0, NULL, cli_incidents_cmds, 0, NULL},
    {"user", "dashboard users, roles and API tokens", "<command> [options]", NULL, NULL, 0, 0,
     NULL, user_cmds, 0, NULL},
    {"discover", "creators the discovery worker proposes for a project: list, accept, reject",
     "PROJECT [--accept ID | --reject ID] [options]",
     "Candidates come from @handles and links in the followed creators' posts, feed links and\n"
     "YouTube search over the brand keywords; each is scored by the relevance of its recent\n"
     "posts to the brief and by its posting cadence. --accept follows it.",
     cli_discover_opts, 1, 1, cmd_discover, NULL, STORE, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL}};

const cli_cmd cli_root = {"omniva", "Omniva Engine: autonomous short-form clip farm.",
                          "[global options] <command> [options]", NULL, NULL, 0, 0, NULL,
                          root_cmds, 0, NULL};
