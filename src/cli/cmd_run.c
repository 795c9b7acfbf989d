/*
 * cmd_run.c: `omniva run` (and the pipeline part of `omniva demo`): every stage's workers
 * plus the periodic re-scrape, with a live progress view on a terminal and a summary at the
 * end.
 *
 * The progress view. On a terminal (stdout is a tty, no --quiet) the supervisor runs in a
 * forked child and this process redraws, four times a second, per job type: queued
 * (ready + delayed), running (leased), done and dead since the start; the clips rendered
 * since the start; the render in progress with its percent; the elapsed time. Counts come
 * from om_queue_stats and the artifacts table. The render percent is read from the log
 * file (HOME/logs/omniva.jsonl), which every process of the tree appends to: the editor
 * logs "render CLIP: N%" with clip_id/done_s/total_s fields as ffmpeg's -progress advances
 * (src/stages/edit.c, a line per quarter), so the view tails the file from where it was at
 * the start and needs nothing new from the stages. Without a terminal there is no view
 * and no extra process; the JSON log lines go to stderr (see cli.c apply_globals).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "oversight/governance.h"
#include "runtime/runtime.h"
#include "stages/stages.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define VIEW_MS 250

typedef struct run_view {
    const om_config *cfg;
    int64_t t0_us, t0_ms;
    char t0[OM_TIME_LEN];
    om_queue_stat *base; /* stats at the start: done/dead are shown as deltas */
    size_t nbase;
    int lines;           /* lines drawn last time (to move the cursor back up) */
    FILE *log;           /* the log file, read from its size at the start */
    char render_clip[OM_UUID_LEN];
    double render_pct;
    int stopping;
} run_view;

static volatile sig_atomic_t g_interrupted, g_terminated;

/* Ctrl-C reaches the whole foreground group, the supervisor included: nothing to forward. A
 * SIGTERM sent to this process alone is passed on (once: a second one would kill jobs). */
static void on_interrupt(int sig)
{
    if (sig == SIGTERM)
        g_terminated = 1;
    g_interrupted = 1;
}

static const om_queue_stat *base_of(const run_view *v, const char *type)
{
    for (size_t i = 0; i < v->nbase; i++)
        if (!strcmp(v->base[i].type, type))
            return &v->base[i];
    return NULL;
}

/* Reads the log lines appended since last time; keeps the latest render progress. */
static void view_read_log(run_view *v)
{
    if (!v->log)
        return;
    char line[8192];
    clearerr(v->log);
    while (fgets(line, sizeof(line), v->log)) {
        if (!strstr(line, "\"render "))
            continue;
        json_t *ev = json_loads(line, 0, NULL);
        const char *clip = json_string_value(json_object_get(ev, "clip_id"));
        json_t *done = json_object_get(ev, "done_s"), *total = json_object_get(ev, "total_s");
        if (clip && json_is_number(done) && json_is_number(total)) {
            double t = json_number_value(total);
            snprintf(v->render_clip, sizeof(v->render_clip), "%s", clip);
            v->render_pct = t > 0 ? 100.0 * json_number_value(done) / t : 0;
            if (v->render_pct > 100)
                v->render_pct = 100;
        }
        json_decref(ev);
    }
}

static int64_t count_since(om_store *s, const char *sql, const char *t0)
{
    char *val = NULL;
    int64_t n = 0;
    if (om_store_query_value(s, sql, OM_PARAMS(OM_TEXT(t0)), &val) == OM_OK && val)
        n = strtoll(val, NULL, 10);
    free(val);
    return n;
}

static const char *rendered_since_sql =
    "SELECT COUNT(DISTINCT entity_id) FROM artifacts WHERE kind = 'render' AND created_at >= ?";

static void view_draw(run_view *v, om_store *s, om_queue *q)
{
    om_sbuf sb = OM_SBUF_INIT;
    int64_t secs = (om_mono_ms() - v->t0_ms) / 1000;
    sb_printf(&sb, "omniva run  %02lld:%02lld  %s\n", (long long)(secs / 60),
              (long long)(secs % 60),
              v->stopping ? "stopping: finishing the jobs in flight..." : "(Ctrl-C stops)");
    sb_printf(&sb, "  %-16s %7s %8s %6s %6s\n", "stage", "queued", "running", "done", "dead");
    int lines = 2;
    om_queue_stat *st = NULL;
    size_t n = 0;
    if (q && om_queue_stats(q, &st, &n) == OM_OK) {
        for (size_t i = 0; i < n; i++) {
            const om_queue_stat *b = base_of(v, st[i].type);
            long long done = st[i].done - (b ? b->done : 0), dead = st[i].dead - (b ? b->dead : 0);
            long long queued = st[i].ready + st[i].delayed;
            if (!queued && !st[i].leased && !done && !dead)
                continue;
            sb_printf(&sb, "  %-16s %7lld %8lld %6lld %6lld\n", st[i].type, queued,
                      (long long)st[i].leased, done, dead);
            lines++;
        }
    }
    free(st);
    view_read_log(v);
    if (v->render_clip[0]) {
        sb_printf(&sb, "  render %.8s  %3.0f%%\n", v->render_clip, v->render_pct);
        lines++;
    }
    int64_t clips = s ? count_since(s, rendered_since_sql, v->t0) : 0;
    sb_printf(&sb, "  clips finished: %lld\n", (long long)clips);
    lines++;
    /* back to the first line of the last drawing, then each line cleared as it is drawn */
    if (v->lines)
        printf("\033[%dA", v->lines);
    const char *text = sb_str(&sb);
    while (*text) {
        size_t len = strcspn(text, "\n");
        printf("\033[2K%.*s\n", (int)len, text);
        text += len + (text[len] == '\n');
    }
    for (int i = lines; i < v->lines; i++) /* the view got shorter: clear what is left */
        printf("\033[2K\n");
    if (v->lines > lines)
        printf("\033[%dA", v->lines - lines);
    fflush(stdout);
    v->lines = lines;
    sb_release(&sb);
}

/* ---- the summary --------------------------------------------------------------------- */

static const char *made_sql =
    "SELECT r.entity_id AS clip_id, r.path AS render_path, "
    "(SELECT path FROM artifacts e WHERE e.kind = 'export' AND e.entity_id = r.entity_id "
    " ORDER BY e.created_at DESC LIMIT 1) AS export_path "
    "FROM artifacts r WHERE r.kind = 'render' AND r.created_at >= ? ORDER BY r.created_at";

static void print_summary(const run_view *v, int once)
{
    double secs = (double)(om_mono_ms() - v->t0_ms) / 1000.0;
    om_store *s = NULL;
    om_queue *q = NULL;
    const char *url = om_config_store_url(v->cfg);
    if (!url || om_store_open(&s, url) ||
        om_queue_open(&q, om_config_queue_url(v->cfg), s)) {
        printf("omniva run: finished in %.0f s (cannot read the results: %s)\n", secs,
               om_error_msg());
        om_store_free(s);
        return;
    }
    om_rows *r = NULL;
    size_t made = 0;
    if (om_store_query(s, made_sql, OM_PARAMS(OM_TEXT(v->t0)), &r) == OM_OK)
        made = om_rows_count(r);
    printf("\nomniva run: %zu clip%s made in %.0f s\n", made, made == 1 ? "" : "s", secs);
    for (size_t i = 0; i < made; i++) {
        const char *exp = om_rows_getn(r, i, "export_path");
        char *shown = om_config_path_from_row(v->cfg, exp ? exp : om_rows_getn(r, i, "render_path"));
        printf("  %s  %s\n", om_rows_getn(r, i, "clip_id"), shown ? shown : "-");
        free(shown);
    }
    om_rows_free(r);

    /* failures: jobs that went to the dead letters during this run */
    om_queue_filter f = {"dead", NULL, 1000};
    om_job_list l = {NULL, 0};
    if (om_queue_list(q, &f, &l) == OM_OK) {
        size_t failed = 0;
        const om_job *first = NULL;
        for (size_t i = 0; i < l.n; i++)
            if (l.jobs[i].updated_us >= v->t0_us) {
                failed++;
                if (!first || l.jobs[i].updated_us < first->updated_us)
                    first = &l.jobs[i];
            }
        if (failed) {
            json_t *errs = json_loads(first->errors ? first->errors : "[]", 0, NULL);
            json_t *last = json_array_get(errs, json_array_size(errs) - 1);
            const char *e = json_string_value(json_object_get(last, "error"));
            printf("  %zu job%s failed (dead letters); the first: %s %s: %s\n", failed,
                   failed == 1 ? "" : "s", first->type, first->id, e ? e : "(no error recorded)");
            printf("  see 'omniva jobs list --state dead' and 'omniva jobs show ID'\n");
            json_decref(errs);
        }
    }
    om_job_list_free(&l);

    /* what is left: with --once, jobs due later than the run waited for */
    if (once) {
        om_queue_filter fd = {"delayed", NULL, 1000};
        om_job_list d = {NULL, 0};
        if (om_queue_list(q, &fd, &d) == OM_OK && d.n) {
            int64_t next = 0;
            for (size_t i = 0; i < d.n; i++)
                if (!next || d.jobs[i].not_before_us < next)
                    next = d.jobs[i].not_before_us;
            char ts[OM_TIME_LEN];
            printf("  %zu job%s left for later, the next due at %s (the next 'omniva run' "
                   "picks %s up)\n", d.n, d.n == 1 ? "" : "s", om_time_iso(ts, next),
                   d.n == 1 ? "it" : "them");
        }
        om_job_list_free(&d);
    }
    if (made == 0) {
        printf("  no clip this time; 'omniva videos' says why for each video\n");
    } else {
        printf("  'omniva clips' lists them, 'omniva explain CLIP_ID' says why each\n");
    }
    const char *logf = om_log_file();
    if (logf)
        printf("  log: %s\n", logf);
    fflush(stdout);
    om_queue_free(q);
    om_store_free(s);
}

/* ---- running --------------------------------------------------------------------------- */

/* The supervisor in a child process; this one draws until it exits. Returns its status. */
static int run_with_view(run_view *v, const om_worker_opts *opts)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return om_error_set(OM_ERROR, "fork: %s", strerror(errno));
    if (pid == 0) {
        om_worker_arm_signals();
        int rc = om_worker_run(v->cfg, opts);
        if (rc)
            om_err("run", "pipeline failed: %s", om_error_msg());
        fflush(stdout);
        fflush(stderr);
        _exit(rc ? 1 : 0);
    }
    /* The supervisor drains on Ctrl-C (a second one kills its jobs); this process keeps
     * drawing until it is done. */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    om_store *s = NULL;
    om_queue *q = NULL;
    int status = 0, forwarded = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        if (g_terminated && !forwarded) {
            kill(pid, SIGTERM);
            forwarded = 1;
        }
        v->stopping = g_interrupted > 0;
        if (!s) {
            const char *url = om_config_store_url(v->cfg);
            if (url && om_store_open(&s, url) == OM_OK &&
                om_queue_open(&q, om_config_queue_url(v->cfg), s) != OM_OK) {
                om_store_free(s);
                s = NULL;
            }
        }
        view_draw(v, s, q);
        om_sleep_ms(VIEW_MS);
    }
    if (s)
        view_draw(v, s, q);
    om_queue_free(q);
    om_store_free(s);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return OM_OK;
    return om_error_set(OM_ERROR, "the pipeline's supervisor %s",
                        WIFEXITED(status) ? "failed (see the log)" : "was killed");
}

/* `omniva serve` beside the workers (a child process running this program, so the
 * server's threads and connections never cross the workers' fork): its pid, or -1 when it
 * could not start (said, and the pipeline runs on). */
static pid_t start_dashboard(cli_ctx *c, const om_config *cfg)
{
    const char *argv[16 + 2 * CLI_MAX_SETS];
    size_t k = 0;
    argv[k++] = "omniva";
    argv[k++] = "--home";
    argv[k++] = om_config_home(cfg);
    if (c->db) {
        argv[k++] = "--db";
        argv[k++] = c->db;
    }
    if (c->queue) {
        argv[k++] = "--queue";
        argv[k++] = c->queue;
    }
    for (int i = 0; i < c->nset; i++) {
        argv[k++] = "--set";
        argv[k++] = c->set[i];
    }
    argv[k++] = "--log-format";
    argv[k++] = "none"; /* its lines go to the workspace's log file */
    argv[k++] = "serve";
    argv[k] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    if (pid < 0) {
        om_warn("run", "cannot start the dashboard: fork: %s", strerror(errno));
        return -1;
    }
    om_sleep_ms(300); /* a server that cannot listen (port taken) exits at once */
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
        fprintf(stderr, "omniva run: the dashboard did not start (see %s/logs/omniva.jsonl; "
                        "'omniva serve' says why); the pipeline runs without it\n",
                om_config_home(cfg));
        return -1;
    }
    printf("dashboard: http://%s/ (JSON API /api/v1, /metrics; --no-dashboard skips it)\n",
           om_config_str(cfg, "http.listen"));
    fflush(stdout);
    return pid;
}

static void stop_dashboard(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) { /* a clean stop ends open streams: give it 5 s */
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) /* ECHILD: the supervisor reaped it */
            return;
        om_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int cli_run_pipeline(cli_ctx *c, cli_ws *ws, int once, int now, int concurrency, long interval,
                     int dashboard)
{
    if (now)
        om_config_set(ws->cfg, "schedule", "now", "1");
    int64_t bucket = om_rescrape_bucket(om_now_us(), interval);
    char *key = xasprintf("rescrape:%lld", (long long)bucket);
    char *payload = xasprintf("{\"interval_s\": %ld%s}", interval, once ? ", \"once\": true" : "");
    om_job_spec spec = OM_JOB_SPEC_INIT;
    spec.type = "rescrape";
    spec.payload = payload;
    spec.unique_key = key;
    spec.priority = 9;
    char id[OM_UUID_LEN];
    int created = 0;
    int rc = om_queue_enqueue(ws->queue, &spec, id, &created);
    free(key);
    free(payload);
    if (rc)
        return cli_error_om("cannot enqueue the re-scrape");
    if (!created)
        om_info("run", "creators already scraped in this %ld s window (job %s)", interval, id);
    size_t duties = 0; /* the governance duties, like the re-scrape (src/oversight) */
    if (om_governance_schedule(ws->store, ws->queue, ws->cfg, once, &duties))
        return cli_error_om("cannot schedule the governance duties");

    run_view v;
    memset(&v, 0, sizeof(v));
    v.cfg = ws->cfg;
    v.t0_us = om_now_us();
    v.t0_ms = om_mono_ms();
    om_time_iso(v.t0, v.t0_us);
    om_queue_stats(ws->queue, &v.base, &v.nbase);
    /* Workers open their own connections after fork. */
    om_queue_free(ws->queue);
    om_store_free(ws->store);
    ws->queue = NULL;
    ws->store = NULL;
    om_worker_opts opts = {
        .types = NULL,
        .concurrency = concurrency,
        .once = once,
        .home = om_config_home(ws->cfg),
    };
    int view = !c->quiet && isatty(STDOUT_FILENO);
    struct sigaction sa, old_int, old_term;
    if (view) { /* a signal while the dashboard starts is the view's to pass on */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_interrupt;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    } else {
        om_worker_arm_signals();
    }
    pid_t dash = dashboard && !once ? start_dashboard(c, ws->cfg) : -1;
    if (view && om_log_file()) {
        v.log = fopen(om_log_file(), "r");
        if (v.log)
            fseek(v.log, 0, SEEK_END);
    }
    rc = view ? run_with_view(&v, &opts) : om_worker_run(ws->cfg, &opts);
    stop_dashboard(dash);
    if (view) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (v.log)
        fclose(v.log);
    print_summary(&v, once);
    free(v.base);
    return rc == OM_OK ? CLI_OK : cli_error_om("pipeline failed");
}

static int run_args(cli_args *a, long *conc, long *interval)
{
    *conc = 2;
    *interval = 0;
    int rc = cli_get_int(a, "concurrency", 1, 64, conc);
    if (rc == CLI_OK)
        rc = cli_get_int(a, "interval", 10, 7 * 86400, interval);
    return rc;
}

int check_run(cli_ctx *c, cli_args *a)
{
    long conc, interval;
    return run_args(a, &conc, &interval);
}

int cmd_run(cli_ctx *c, cli_args *a)
{
    long conc, interval;
    run_args(a, &conc, &interval);
    if (!interval)
        interval = om_config_long(c->ws.cfg, "scraper.interval_s");
    return cli_run_pipeline(c, &c->ws, cli_flag(a, "once"), cli_flag(a, "now"), (int)conc,
                            interval, !cli_flag(a, "no-dashboard"));
}
