/*
 * worker.c: the worker runtime: supervisor, worker loop and job execution.
 *
 * Process tree of `omniva worker --concurrency N` (process names as `ps` shows them):
 *   omniva (supervisor)   forks N worker processes, restarts one that dies, forwards
 *   |                     SIGTERM/SIGINT and waits for them (second signal: SIGKILL)
 *   +- omniva-worker      own store + queue; loop: reap, relay outbox, claim one job, run it
 *      +- omniva-keeper   (SQLite only) holds one idle connection, see keeper_start()
 *      +- omniva-job      forked per job, own store + queue connections, runs the stage's
 *                         steps (om_stage_run_inline) in its own process group; reports
 *                         {code, error, chain, result} on a pipe. The worker heartbeats the
 *                         lease meanwhile and kills the group on timeout, on a lost lease
 *                         (OM_ESTALE), or after the drain grace.
 * With N = 1 the worker loop runs in the calling process (no supervisor).
 *
 * At-least-once: a job is acked only after its process reported success; a worker killed at
 * any instant leaves a lease that expires and the reaper (every worker runs it) makes the job
 * claimable again. Stage code is idempotent, so a redelivery changes nothing.
 *
 * SQLite handles must not cross fork(), so with a SQLite store a worker closes its
 * connections before forking a job process and reopens them right after (cheap, with the
 * keeper holding the file open). PostgreSQL/Redis connections stay open across the fork: the
 * job process opens its own and never touches (nor closes) the inherited ones.
 */
#include "base/common.h"
#include "ledger/stardust.h"
#include "runtime/rt_internal.h"
#include "runtime/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTCOME_CAP (1u << 20)
#define KILL_ESCALATE_MS 1000

typedef struct rt_settings {
    int64_t lease_ms;       /* default lease (stages with lease_ms 0) */
    int64_t timeout_ms;     /* default job timeout (stages with timeout_ms 0) */
    int64_t reap_ms;        /* how often each worker reaps expired leases */
    int64_t relay_ms;       /* how often an idle worker relays the outbox */
    int64_t idle_ms;        /* poll interval when nothing is claimable */
    int64_t drain_grace_ms; /* how long in-flight jobs may run after SIGTERM */
    int64_t backoff_base_ms, backoff_cap_ms; /* retry backoff (0: queue default) */
} rt_settings;

typedef struct rt_worker {
    const om_config *cfg;
    const om_worker_opts *opts;
    rt_settings set;
    const char **types;
    size_t ntypes;     /* all served types (GPU worker: TYPE.gpu ones first) */
    size_t nclaim;     /* how many of types a claim names now (CPU worker: the GPU namespace
                          only while falling back, see gpu_check) */
    size_t nbase, ngpu;
    int64_t gpu_last_alive_us, next_gpu_check;
    char name[160];
    om_store *store;
    om_queue *queue;
    int64_t next_reap, next_relay;
    pid_t keeper; /* the SQLite keeper process, 0 when none (or already reaped) */
} rt_worker;

static volatile sig_atomic_t g_stop;     /* drain requested */
static volatile sig_atomic_t g_kill_now; /* second signal: stop in-flight work now */
static volatile int g_child_cancel;      /* job process: SIGTERM asks the stage to stop */
static int g_armed;                      /* om_worker_arm_signals ran: keep what it caught */

static void on_stop(int sig)
{
    (void)sig;
    if (g_stop)
        g_kill_now = 1;
    g_stop = 1;
}

static void on_child_term(int sig)
{
    (void)sig;
    g_child_cancel = 1;
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL); /* no SA_RESTART: sleeps and polls wake up */
}

void om_worker_arm_signals(void)
{
    g_stop = g_kill_now = 0;
    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    g_armed = 1;
}

static void sleep_interruptible(int64_t ms)
{
    int64_t end = om_mono_ms() + ms;
    while (!g_stop) {
        int64_t left = end - om_mono_ms();
        if (left <= 0)
            break;
        om_sleep_ms(left < 50 ? left : 50);
    }
}

static void load_settings(rt_settings *s, const om_config *cfg, const om_worker_opts *opts)
{
    s->lease_ms = rt_setting(cfg, "lease_ms");
    if (s->lease_ms < 300)
        s->lease_ms = 300;
    s->timeout_ms = rt_setting(cfg, "timeout_ms");
    s->reap_ms = rt_setting(cfg, "reap_ms") ? rt_setting(cfg, "reap_ms") : s->lease_ms < 5000 ? s->lease_ms : 5000;
    s->relay_ms = rt_setting(cfg, "relay_ms");
    s->idle_ms = opts && opts->idle_sleep_ms > 0 ? opts->idle_sleep_ms
                                                 : rt_setting(cfg, "idle_ms");
    s->drain_grace_ms = rt_setting(cfg, "drain_grace_ms");
    s->backoff_base_ms = rt_setting(cfg, "backoff_base_ms");
    s->backoff_cap_ms = rt_setting(cfg, "backoff_cap_ms");
}

static int conn_error(int rc)
{
    return rc == OM_EUNAVAIL || rc == OM_EIO || rc == OM_ERROR;
}

/* ---- connections ------------------------------------------------------------------ */

static void worker_disconnect(rt_worker *w)
{
    if (w->store)
        rt_flush(w->store);
    om_queue_free(w->queue);
    om_store_free(w->store);
    w->queue = NULL;
    w->store = NULL;
    rt_g.store = NULL;
}

static int open_connections(const om_config *cfg, om_store **s_out, om_queue **q_out)
{
    *s_out = NULL;
    *q_out = NULL;
    const char *url = om_config_store_url(cfg);
    if (!url)
        return om_error_set(OM_EINVAL, "no database configured ([store] url)");
    om_store *s = NULL;
    int rc = om_store_open(&s, url);
    if (rc)
        return om_error_wrap(rc, "opening database");
    om_queue *q = NULL;
    rc = om_queue_open(&q, om_config_queue_url(cfg), s);
    if (rc) {
        om_store_free(s);
        return om_error_wrap(rc, "opening queue");
    }
    *s_out = s;
    *q_out = q;
    return OM_OK;
}

static int worker_connect(rt_worker *w)
{
    if (w->store && w->queue)
        return OM_OK;
    worker_disconnect(w);
    int rc = open_connections(w->cfg, &w->store, &w->queue);
    if (rc)
        return rc;
    if (w->set.backoff_base_ms > 0)
        om_queue_set_backoff(w->queue, w->set.backoff_base_ms,
                             w->set.backoff_cap_ms > 0 ? w->set.backoff_cap_ms
                                                       : w->set.backoff_base_ms * 64);
    rt_g.store = w->store;
    rt_flush(w->store);
    return OM_OK;
}

/* ---- the SQLite keeper ------------------------------------------------------------ */

/* With a SQLite store a worker closes its connection around every fork, and so does each job
 * process when it ends. Whenever the LAST connection to the file closes, SQLite checkpoints
 * the whole WAL, fsyncs and deletes it, and the next open rebuilds the WAL index: most of the
 * cost of a short job. The keeper is a small child process, forked before the worker opens
 * anything, that holds one idle connection for the worker's lifetime. It exits when the
 * worker closes the pipe (or dies: PDEATHSIG). Returns its pid, 0 when not needed. */
static pid_t keeper_start(const om_config *cfg, int *fd_out)
{
    *fd_out = -1;
    const char *url = om_config_store_url(cfg);
    if (!url || strncmp(url, "sqlite://", 9) != 0 || !om_config_bool(cfg, "worker.sqlite_keeper"))
        return 0;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return 0;
    pid_t parent = getpid();
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[1]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, "omniva-keeper");
        if (getppid() != parent)
            _exit(0);
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        om_log_set_sink(NULL, NULL, OM_LOG_INFO);
        om_store *s = NULL;
        char *v = NULL;
        if (om_store_open(&s, url) == OM_OK) /* a read maps the WAL index and keeps it */
            om_store_query_value(s, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &v);
        free(v);
        char c;
        while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
            ;
        if (s)
            om_store_free(s);
        _exit(0);
    }
    close(pfd[0]);
    if (pid < 0) {
        close(pfd[1]);
        return 0;
    }
    *fd_out = pfd[1];
    return pid;
}

static void keeper_stop(pid_t pid, int fd)
{
    if (fd >= 0)
        close(fd);
    if (pid > 0) /* ECHILD: it died and reap_orphans already reaped it */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

/* ---- orphans ---------------------------------------------------------------------- */

/* A worker is a child subreaper: processes a job started (om_proc_run children live in their
 * own process groups, so killing the job's group misses them) are re-parented to the worker
 * when the job process dies. Between jobs every child but the keeper is such a leftover:
 * kill it, and reap whatever has exited. */
static void reap_orphans(rt_worker *w)
{
    pid_t self = getpid();
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == w->keeper)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        char state = 0;
        long ppid = 0;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == self &&
            state != 'Z') {
            om_warn("worker", "killing process %ld left behind by a job", pid);
            kill((pid_t)pid, SIGKILL);
        }
    }
    if (d)
        closedir(d);
    int st;
    pid_t r;
    while ((r = waitpid(-1, &st, WNOHANG)) > 0)
        if (r == w->keeper)
            w->keeper = 0;
}

/* ---- the job process -------------------------------------------------------------- */

static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        buf += k;
        n -= (size_t)k;
    }
}

static const char *initial_state(const om_stage *st)
{
    return st->steps && st->steps[0].state ? st->steps[0].state : "INIT";
}

/* Runs the stage's steps on the context prepared by the worker and reports the outcome
 * {code, error, state, result, chain} on fd; never returns. */
static void job_process(rt_worker *w, om_job_ctx *ctx, int fd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "omniva-job");
    if (getppid() != parent)
        _exit(1);
    g_child_cancel = 0;
    set_handler(SIGTERM, on_child_term);
    signal(SIGINT, SIG_IGN);
    /* Events buffered in the worker were flushed before the fork; never write them twice. */
    json_array_clear(rt_g.logbuf);
    json_array_clear(rt_g.jlbuf);
    json_decref(rt_g.chain);
    rt_g.chain = json_array();

    json_t *out = json_object();
    om_store *s = NULL;
    om_queue *q = NULL;
    int rc = open_connections(w->cfg, &s, &q);
    if (rc == OM_OK) {
        rt_g.store = s;
        ctx->store = s;
        ctx->queue = q;
        rc = om_stage_run_inline(ctx->stage, ctx);
        const char *msg = rc ? om_error_msg() : "";
        json_object_set_new(out, "code", json_integer(rc));
        json_object_set_new(out, "error",
                            json_string(msg[0] ? msg : (rc ? om_error_name(rc) : "")));
        json_object_set_new(out, "state", json_string(ctx->state ? ctx->state : ""));
        json_object_set(out, "result", ctx->result);
        json_object_set(out, "chain", rt_g.chain);
    } else {
        json_object_set_new(out, "code", json_integer(rc));
        json_object_set_new(out, "error", json_string(om_error_msg()));
    }
    char *text = json_dumps(out, JSON_COMPACT);
    if (text)
        write_all(fd, text, strlen(text));
    free(text);
    close(fd);
    json_decref(out);
    om_queue_free(q);
    om_store_free(s);
    fflush(stderr);
    _exit(0);
}

/* ---- running one job in the worker ------------------------------------------------ */

/* One job in the worker, from claim to ack/fail: prepare_job (envelope, start event),
 * spawn_job (the job process), supervise_job (heartbeats, timeout, drain, lease loss),
 * settle_job (ack or fail, the outcome packet). */
typedef struct job_run {
    rt_worker *w;
    const om_job *job;
    const om_stage *st;
    om_job_ctx ctx;   /* the envelope, parsed once in prepare_job (the job process inherits it) */
    const char *source;
    int64_t started_ms, lease, timeout;
    pid_t pid;        /* the job process */
    int fd;           /* read end of its outcome pipe, -1 once closed */
    int status;       /* its wait status */
    int lost, timed_out, stopped;
    json_t *outcome;  /* what it reported (NULL when nothing usable) */
    struct rusage ru; /* the job process's resource use (wait4; the CPU of what it reaped,
                         e.g. ffmpeg, included) */
} job_run;

/* The job's cost: wall and CPU time, peak memory, as log fields and a summary phrase
 * ("wall 812 ms, cpu 1530 ms, peak 84 MiB"), so a slow or fat stage shows in `jobs show`,
 * the logs and the metrics without a profiler. Caller frees the phrase. */
static char *job_cost(const job_run *r, int64_t wall_ms, json_t *fields)
{
    int64_t cpu_ms = (int64_t)r->ru.ru_utime.tv_sec * 1000 + r->ru.ru_utime.tv_usec / 1000 +
                     (int64_t)r->ru.ru_stime.tv_sec * 1000 + r->ru.ru_stime.tv_usec / 1000;
    long rss_kb = r->ru.ru_maxrss; /* Linux: KiB */
    json_object_set_new(fields, "wall_ms", json_integer(wall_ms));
    json_object_set_new(fields, "cpu_ms", json_integer(cpu_ms));
    json_object_set_new(fields, "max_rss_kb", json_integer(rss_kb));
    return xasprintf("wall %lld ms, cpu %lld ms, peak %ld MiB", (long long)wall_ms,
                     (long long)cpu_ms, (rss_kb + 1023) / 1024);
}

typedef enum queue_op { QOP_ACK, QOP_FAIL, QOP_BURY } queue_op;

/* Runs a queue operation on the job, reconnecting and retrying on connection errors until
 * `deadline_ms` (monotonic) passes. */
static int queue_op_retry(rt_worker *w, int64_t deadline_ms, queue_op op, const om_job *job,
                          const char *error, int permanent, int *dead_out)
{
    int rc;
    for (;;) {
        rc = worker_connect(w);
        if (rc == OM_OK) {
            switch (op) {
            case QOP_ACK: rc = om_queue_ack(w->queue, job); break;
            case QOP_FAIL: rc = om_queue_fail(w->queue, job, error, permanent, dead_out); break;
            case QOP_BURY: rc = om_queue_bury(w->queue, job, error); break;
            }
            if (rc == OM_OK || !conn_error(rc))
                return rc;
            worker_disconnect(w);
        }
        if (om_mono_ms() >= deadline_ms || g_kill_now)
            return rc;
        om_sleep_ms(200);
    }
}

/* Completion/failure packet + the final event's rows, in one transaction. */
static void write_outcome(job_run *r, int level, const char *final_state, json_t *outcome,
                          json_t *extra_fields, const char *summary)
{
    rt_worker *w = r->w;
    const om_job *job = r->job;
    char ts[OM_TIME_LEN];
    json_t *lineage = json_object();
    json_t *parents = r->ctx.parents;
    json_object_set_new(lineage, "parents",
                        json_is_array(parents) ? json_deep_copy(parents) : json_array());
    const char *trace = om_log_ctx()->trace_id;
    json_object_set_new(lineage, "trace_id", json_string(trace[0] ? trace : job->id));
    json_object_set_new(lineage, "job_type", json_string(job->type));
    json_object_set_new(lineage, "attempt", json_integer(job->attempt));
    json_object_set_new(lineage, "max_attempts", json_integer(job->max_attempts));
    json_object_set_new(lineage, "worker", json_string(w->name));
    if (om_log_ctx()->project_id[0])
        json_object_set_new(lineage, "project_id", json_string(om_log_ctx()->project_id));
    json_t *result = outcome ? json_object_get(outcome, "result") : NULL;
    if (json_is_object(result) && json_object_size(result) > 0)
        json_object_set(lineage, "result", result);

    json_t *chain = json_array();
    json_array_append_new(chain, json_pack("{s:s, s:s, s:s}", "state", "CLAIMED", "worker",
                                           w->name, "at", om_time_iso(ts, job->updated_us)));
    json_t *steps = outcome ? json_object_get(outcome, "chain") : NULL;
    if (json_is_array(steps))
        json_array_extend(chain, steps);
    json_array_append_new(chain, json_pack("{s:s, s:s, s:s}", "state", final_state, "at",
                                           om_time_iso(ts, om_now_us()), "message", summary));

    json_t *fields = extra_fields ? json_deep_copy(extra_fields) : json_object();
    json_object_set_new(fields, "job_type", json_string(job->type));
    json_object_set_new(fields, "attempt", json_integer(job->attempt));
    if (r->ctx.payload)
        rt_entity_fields(r->ctx.payload, fields);

    int rc = worker_connect(w);
    char packet[OM_UUID_LEN] = "";
    if (rc == OM_OK)
        rc = om_store_begin(w->store);
    if (rc == OM_OK) {
        rc = om_stardust_append(w->store, "jobs", job->id, lineage, chain, packet);
        if (rc == OM_OK)
            json_object_set_new(fields, "stardust_id", json_string(packet));
        rt_event(level, r->source, final_state, fields, "%s", summary);
        if (rc == OM_OK)
            rc = rt_flush_in_txn(w->store);
        if (rc == OM_OK)
            rc = om_store_commit(w->store);
        if (rc) {
            om_store_rollback(w->store);
            om_warn("worker", "job %s: could not write its outcome packet: %s", job->id,
                    om_error_msg());
        }
    } else {
        rt_event(level, r->source, final_state, fields, "%s", summary);
    }
    rt_flush(w->store);
    json_decref(fields);
    json_decref(chain);
    json_decref(lineage);
}

/* Dead-letters a job we cannot run (unknown type, malformed payload). */
static void bury_job(job_run *r, const char *reason)
{
    rt_worker *w = r->w;
    int64_t deadline = om_mono_ms() + w->set.lease_ms / 2;
    int rc = queue_op_retry(w, deadline, QOP_BURY, r->job, reason, 0, NULL);
    if (rc) {
        om_warn("worker", "job %s: could not bury (%s); the lease will expire", r->job->id,
                om_error_msg());
        return;
    }
    write_outcome(r, OM_LOG_ERROR, "ERROR", NULL, NULL, reason);
    om_log_ctx()->state[0] = '\0';
}

static int64_t stage_lease(const rt_worker *w, const om_stage *st)
{
    return st->lease_ms > 0 ? st->lease_ms : w->set.lease_ms;
}

static void kill_group(pid_t pid, int sig)
{
    if (kill(-pid, sig) != 0)
        kill(pid, sig);
}

/* Parses the envelope, sets the log context, dead-letters a job that cannot run (unknown
 * type, malformed envelope) and logs the start. Returns 0 when the job is to be run. */
static int prepare_job(job_run *r)
{
    rt_worker *w = r->w;
    const om_job *job = r->job;
    om_log_ctx_clear();
    om_log_context *lc = om_log_ctx();
    snprintf(lc->job_id, sizeof(lc->job_id), "%s", job->id);
    rt_g.job = job;

    r->st = om_runtime_find(job->type);
    if (r->st && r->st->source)
        r->source = r->st->source;
    int rc = om_job_ctx_init(&r->ctx, job, r->st, NULL, NULL, w->cfg, &g_child_cancel);
    char *envelope_error = rc ? xstrdup(om_error_msg()) : NULL;
    snprintf(lc->trace_id, sizeof(lc->trace_id), "%s", r->ctx.trace_id);
    if (r->ctx.project_id && *r->ctx.project_id)
        snprintf(lc->project_id, sizeof(lc->project_id), "%s", r->ctx.project_id);

    if (!r->st || rc) {
        char *why = !r->st ? xasprintf("unknown job type '%s'", job->type) : envelope_error;
        bury_job(r, why);
        if (why != envelope_error)
            free(why);
        free(envelope_error);
        return -1;
    }

    r->lease = stage_lease(w, r->st);
    r->timeout = r->st->timeout_ms > 0 ? r->st->timeout_ms : w->set.timeout_ms;
    json_t *fields = json_pack("{s:s, s:i, s:i}", "job_type", job->type, "attempt",
                               job->attempt, "max_attempts", job->max_attempts);
    rt_entity_fields(r->ctx.payload, fields);
    rt_event(OM_LOG_INFO, r->source, initial_state(r->st), fields,
             "job started (attempt %d of %d)", job->attempt, job->max_attempts);
    json_decref(fields);
    rt_flush(w->store);
    if (r->lease != w->set.lease_ms && w->queue)
        om_queue_heartbeat(w->queue, job, r->lease);
    return 0;
}

/* Forks the job process. Returns 0, or -1 after failing the job (pipe/fork failed). */
static int spawn_job(job_run *r)
{
    rt_worker *w = r->w;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        int64_t dl = om_mono_ms() + r->lease / 2;
        queue_op_retry(w, dl, QOP_FAIL, r->job, "worker: pipe failed", 0, NULL);
        return -1;
    }
    /* No SQLite handle may cross fork(): close it (the keeper keeps the file warm). PG and
     * Redis connections may: the job process never touches them and leaves with _exit(). */
    int reopen = w->store && !strcmp(om_store_dialect(w->store), "sqlite");
    if (reopen)
        worker_disconnect(w);
    else
        rt_flush(w->store);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        job_process(w, &r->ctx, pfd[1], parent);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        char *why = xasprintf("worker: fork failed: %s", strerror(errno));
        int64_t dl = om_mono_ms() + r->lease / 2;
        queue_op_retry(w, dl, QOP_FAIL, r->job, why, 0, NULL);
        free(why);
        return -1;
    }
    setpgid(pid, pid);
    if (reopen)
        worker_connect(w);
    r->pid = pid;
    r->fd = pfd[0];
    return 0;
}

/* Waits for the job process while heartbeating the lease; kills its group on timeout, on a
 * lost lease or when the drain grace is over; collects its outcome. */
static void supervise_job(job_run *r)
{
    rt_worker *w = r->w;
    const om_job *job = r->job;
    pid_t pid = r->pid;
    int64_t lease = r->lease;
    om_sbuf outbuf = OM_SBUF_INIT;
    outbuf.cap = OUTCOME_CAP;
    int fd = r->fd, status = 0, exited = 0;
    int lost = 0, timed_out = 0, stopped = 0, killed = 0;
    int64_t start = om_mono_ms(), next_hb = start + lease / 3, last_hb_ok = start;
    int64_t deadline = start + r->timeout, drain_deadline = 0, escalate_at = 0, eof_at = 0;
    while (!exited) {
        if (fd >= 0) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (poll(&pf, 1, 50) > 0) {
                char buf[8192];
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k > 0)
                    sb_append(&outbuf, buf, (size_t)k);
                else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
                    close(fd);
                    fd = -1;
                    eof_at = om_mono_ms();
                }
            }
        } else {
            /* EOF: the job process is exiting; poll for it briefly, then more slowly */
            int64_t since = om_mono_ms() - eof_at;
            om_sleep_ms(since < 20 ? 1 : 20);
        }
        pid_t wr = wait4(pid, &status, WNOHANG, &r->ru);
        if (wr == pid) {
            exited = 1;
            break;
        }
        int64_t now = om_mono_ms();
        if (!killed && now >= next_hb) {
            int rc = worker_connect(w);
            if (rc == OM_OK)
                rc = om_queue_heartbeat(w->queue, job, lease);
            if (rc == OM_OK) {
                last_hb_ok = now;
            } else if (rc == OM_ESTALE) {
                lost = 1;
            } else {
                om_warn("worker", "heartbeat failed: %s", om_error_msg());
                if (conn_error(rc))
                    worker_disconnect(w);
                if (now - last_hb_ok > lease)
                    lost = 1; /* the lease has surely expired: another worker may run it */
            }
            next_hb = now + lease / 3;
            if (lost) {
                killed = 1;
                kill_group(pid, SIGKILL);
            }
        }
        if (!killed && now >= deadline) {
            timed_out = killed = 1;
            escalate_at = now + KILL_ESCALATE_MS;
            kill_group(pid, SIGTERM);
        }
        if (g_stop && !drain_deadline)
            drain_deadline = now + w->set.drain_grace_ms;
        if (!killed && (g_kill_now || (drain_deadline && now >= drain_deadline))) {
            stopped = killed = 1;
            escalate_at = now + (g_kill_now ? 0 : KILL_ESCALATE_MS);
            kill_group(pid, SIGTERM);
        }
        if (escalate_at && now >= escalate_at) {
            kill_group(pid, SIGKILL);
            escalate_at = 0;
        }
    }
    kill(-pid, SIGKILL); /* anything the job left behind in its group (pid is reaped: no
                            fallback to kill(pid)) */
    if (fd >= 0) {
        char buf[8192];
        ssize_t k;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
            sb_append(&outbuf, buf, (size_t)k);
        close(fd);
    }
    r->fd = -1;
    r->outcome = outbuf.len ? json_loads(outbuf.buf, 0, NULL) : NULL;
    sb_release(&outbuf);
    r->status = status;
    r->lost = lost;
    r->timed_out = timed_out;
    r->stopped = stopped;
}

/* Acks or fails the job from what supervise_job saw, and writes the outcome packet. */
static void settle_job(job_run *r)
{
    rt_worker *w = r->w;
    const om_job *job = r->job;
    json_t *outcome = r->outcome;
    int status = r->status;
    int64_t lease = r->lease;
    int64_t took = om_mono_ms() - r->started_ms;
    int code = json_is_object(outcome) ? (int)json_integer_value(json_object_get(outcome, "code"))
                                       : OM_ERROR;
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 && json_is_object(outcome);

    if (r->lost) {
        rt_event(OM_LOG_WARN, r->source, NULL, NULL,
                 "lease lost after %lld ms: job process stopped, result discarded (not acked; "
                 "the job will be redelivered)",
                 (long long)took);
        rt_flush(w->store);
    } else if (clean && code == OM_OK) {
        int64_t dl = om_mono_ms() + lease;
        int rc = queue_op_retry(w, dl, QOP_ACK, job, NULL, 0, NULL);
        if (rc == OM_OK) {
            json_t *f = json_object();
            char *cost = job_cost(r, took, f);
            char *sum = xasprintf("job done in %lld ms (%s)", (long long)took, cost);
            write_outcome(r, OM_LOG_INFO, "DONE", outcome, f, sum);
            json_decref(f);
            free(cost);
            free(sum);
            size_t relayed = 0;
            if (om_queue_relay(w->queue, &relayed) != OM_OK)
                om_warn("worker", "outbox relay failed: %s", om_error_msg());
            w->next_relay = om_mono_ms() + w->set.relay_ms;
        } else if (rc == OM_ESTALE) {
            rt_event(OM_LOG_WARN, r->source, NULL, NULL,
                     "finished but the lease was lost before the ack; the job will be "
                     "redelivered (its effects are idempotent)");
            rt_flush(w->store);
        } else {
            rt_event(OM_LOG_ERROR, r->source, NULL, NULL,
                     "finished but could not ack (%s); the lease will expire and the job "
                     "will be redelivered",
                     om_error_msg());
            rt_flush(w->store);
        }
    } else {
        char *why;
        int permanent = 0;
        if (r->timed_out)
            why = xasprintf("timed out after %lld ms", (long long)r->timeout);
        else if (r->stopped)
            why = xasprintf("worker stopped before the job finished");
        else if (clean) {
            const char *e = json_string_value(json_object_get(outcome, "error"));
            why = xstrdup(e && *e ? e : om_error_name(code));
            permanent = code == OM_EINVAL || code == OM_EPERMANENT;
        } else if (WIFSIGNALED(status))
            why = xasprintf("job process killed by signal %d (%s)", WTERMSIG(status),
                            strsignal(WTERMSIG(status)));
        else
            why = xasprintf("job process exited with status %d without reporting an outcome",
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        int dead = 0;
        int64_t dl = om_mono_ms() + lease;
        int rc = queue_op_retry(w, dl, QOP_FAIL, job, why, permanent, &dead);
        if (rc == OM_OK) {
            char *sum = dead ? xasprintf("job failed%s, dead letter: %s",
                                         permanent ? " permanently" : " (attempts used up)", why)
                             : xasprintf("job failed (attempt %d of %d), retry scheduled: %s",
                                         job->attempt, job->max_attempts, why);
            json_t *f = json_pack("{s:s, s:b}", "error", why, "dead", dead);
            free(job_cost(r, took, f));
            write_outcome(r, dead ? OM_LOG_ERROR : OM_LOG_WARN, "ERROR", outcome, f, sum);
            json_decref(f);
            free(sum);
        } else {
            rt_event(OM_LOG_ERROR, r->source, "ERROR", NULL,
                     "job failed (%s) and the failure could not be recorded (%s); the lease "
                     "will expire",
                     why, om_error_msg());
            rt_flush(w->store);
        }
        free(why);
    }
}

static void run_job(rt_worker *w, const om_job *job)
{
    job_run r;
    memset(&r, 0, sizeof(r));
    r.w = w;
    r.job = job;
    r.source = "worker";
    r.started_ms = om_mono_ms();
    r.fd = -1;
    if (prepare_job(&r) == 0 && spawn_job(&r) == 0) {
        supervise_job(&r);
        settle_job(&r);
        reap_orphans(w);
    }
    json_decref(r.outcome);
    om_job_ctx_release(&r.ctx);
    rt_g.job = NULL;
    om_log_ctx_clear();
}

/* ---- the worker loop -------------------------------------------------------------- */

static int serves(const rt_worker *w, const char *type)
{
    for (size_t i = 0; i < w->ntypes; i++)
        if (!strcmp(w->types[i], type))
            return 1;
    return 0;
}

/* With --once, nothing claimable is not yet "idle": a job leased by someone (running, or
 * held by a dead worker of another host whose lease will expire and be reaped) or waiting
 * for a retry will come back. Waits for leases, and for delayed jobs due within the
 * longest retry backoff (cap + jitter); later ones (a clip scheduled hours ahead) are left
 * for the next run, which the summary of `omniva run` says. */
static int once_must_wait(rt_worker *w)
{
    int64_t cap = w->set.backoff_cap_ms > 0 ? w->set.backoff_cap_ms : 300000;
    int64_t horizon_us = om_now_us() + cap * 1200; /* +20% jitter, ms -> us */
    om_queue_filter fl = {"leased", NULL, 1000}, fd = {"delayed", NULL, 1000};
    om_job_list l = {NULL, 0};
    size_t leased = 0, due = 0;
    int64_t next = 0;
    if (om_queue_list(w->queue, &fl, &l) == OM_OK)
        for (size_t i = 0; i < l.n; i++)
            leased += serves(w, l.jobs[i].type);
    om_job_list_free(&l);
    if (om_queue_list(w->queue, &fd, &l) == OM_OK)
        for (size_t i = 0; i < l.n; i++)
            if (serves(w, l.jobs[i].type) && l.jobs[i].not_before_us <= horizon_us) {
                due++;
                if (!next || l.jobs[i].not_before_us < next)
                    next = l.jobs[i].not_before_us;
            }
    om_job_list_free(&l);
    /* Ready jobs of the served types. GPU ones wait for a GPU worker. A claimable type whose
     * oldest ready job came due in the last 5 s had it come due after the empty claim (a
     * retry whose delay just ran out): claim again. An older one is a job the claim skips
     * (its type paused), which must not keep --once alive. */
    int64_t recent_us = om_now_us() - 5000000;
    for (size_t i = 0; i < w->ntypes; i++) {
        om_queue_filter fr = {"ready", w->types[i], 1};
        if (om_queue_list(w->queue, &fr, &l) == OM_OK && l.n)
            due += i >= w->nclaim || l.jobs[0].not_before_us >= recent_us;
        om_job_list_free(&l);
    }
    static int64_t last_note_ms;
    if ((leased || due) && om_mono_ms() - last_note_ms >= 10000) {
        char ts[OM_TIME_LEN];
        om_info("worker", "--once: waiting for %zu running/leased jobs and %zu delayed jobs%s%s",
                leased, due, next ? " (next due " : "", next ? om_time_iso(ts, next) : "");
        last_note_ms = om_mono_ms();
    }
    return leased || due;
}

/* ---- GPU render nodes ---------------------------------------------------------------
 * A GPU worker (opts->gpu) serves TYPE.gpu before TYPE for every served type whose stage
 * has a gpu_setting, and keeps its worker_nodes row fresh (every reap interval; deleted at a
 * clean stop). A CPU worker claims TYPE.gpu only once no GPU worker has been seen for
 * worker.gpu_fallback_s (seen = a row fresher than worker.gpu_alive_s), counted from the
 * last GPU worker seen or from its own start; the stage then picks libx264 itself
 * (om_editplan_pick_encoder). */
static void gpu_check(rt_worker *w)
{
    int64_t now_us = om_now_us();
    w->next_gpu_check = om_mono_ms() + w->set.reap_ms;
    if (!w->ngpu || !w->store)
        return;
    if (w->opts->gpu) {
        char host[64] = "localhost";
        gethostname(host, sizeof(host) - 1);
        if (om_store_exec(w->store,
                          "INSERT INTO worker_nodes (name, host, gpu, encoder, seen_at) "
                          "VALUES (?, ?, ?, ?, now()) ON CONFLICT (name) DO UPDATE SET "
                          "seen_at = excluded.seen_at, encoder = excluded.encoder",
                          OM_PARAMS(OM_TEXT(w->name), OM_TEXT(host), OM_BOOL(1),
                                    OM_TEXT(w->opts->gpu_encoder ? w->opts->gpu_encoder : "")),
                          NULL))
            om_warn("worker", "recording this GPU node: %s", om_error_msg());
        return;
    }
    char *seen = NULL;
    int64_t seen_us = 0;
    if (om_store_query_value(w->store, "SELECT max(seen_at) FROM worker_nodes WHERE gpu = ?",
                             OM_PARAMS(OM_BOOL(1)), &seen) == OM_OK && seen)
        om_time_parse(seen, &seen_us);
    free(seen);
    int64_t alive_us = om_config_long(w->cfg, "worker.gpu_alive_s") * 1000000;
    if (seen_us && now_us - seen_us <= alive_us) {
        w->gpu_last_alive_us = seen_us;
        if (w->nclaim != w->nbase)
            om_info("worker", "a GPU worker is alive again: GPU jobs are left to it");
        w->nclaim = w->nbase;
        return;
    }
    if (seen_us > w->gpu_last_alive_us)
        w->gpu_last_alive_us = seen_us;
    int64_t fallback_us = om_config_long(w->cfg, "worker.gpu_fallback_s") * 1000000;
    if (w->nclaim == w->nbase && now_us - w->gpu_last_alive_us >= fallback_us) {
        om_warn("worker", "no GPU worker alive for %lld s: this CPU worker takes GPU jobs "
                          "(they render with libx264)",
                (long long)((now_us - w->gpu_last_alive_us) / 1000000));
        w->nclaim = w->ntypes;
    }
}

static void gpu_forget(rt_worker *w)
{
    if (w->opts->gpu && w->ngpu && w->store)
        om_store_exec(w->store, "DELETE FROM worker_nodes WHERE name = ?",
                      OM_PARAMS(OM_TEXT(w->name)), NULL);
}

static int worker_loop(rt_worker *w)
{
    int64_t backoff = 0;
    int claim_failures = 0;
    while (!g_stop) {
        int rc = worker_connect(w);
        if (rc) {
            if (w->opts->once)
                return om_error_wrap(rc, "worker");
            backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 250;
            om_warn("worker", "cannot connect (%s); retrying in %lld ms", om_error_msg(),
                    (long long)backoff);
            sleep_interruptible(backoff);
            continue;
        }
        backoff = 0;
        int64_t now = om_mono_ms();
        if (now >= w->next_reap) {
            size_t reclaimed = 0, buried = 0;
            rc = om_queue_reap(w->queue, &reclaimed, &buried);
            if (rc)
                om_warn("eclipse", "reap failed: %s", om_error_msg());
            else if (reclaimed || buried)
                om_info("eclipse", "expired leases: %zu jobs back to ready, %zu to dead letters",
                        reclaimed, buried);
            w->next_reap = now + w->set.reap_ms;
            reap_orphans(w);
            if (rc && conn_error(rc)) {
                worker_disconnect(w);
                continue;
            }
        }
        if (now >= w->next_relay) {
            size_t relayed = 0;
            rc = om_queue_relay(w->queue, &relayed);
            if (rc)
                om_warn("worker", "outbox relay failed: %s", om_error_msg());
            w->next_relay = now + w->set.relay_ms;
        }
        rt_flush(w->store);

        om_job job;
        memset(&job, 0, sizeof(job));
        size_t n = 0;
        if (now >= w->next_gpu_check)
            gpu_check(w);
        rc = om_queue_claim(w->queue, (const char *const *)w->types, w->nclaim, w->name,
                            w->set.lease_ms, &job, 1, &n);
        if (rc) {
            if (++claim_failures == 1 || claim_failures % 20 == 0)
                om_warn("worker", "claim failed: %s", om_error_msg());
            if (conn_error(rc))
                worker_disconnect(w);
            if (w->opts->once && claim_failures > 50)
                return om_error_wrap(rc, "worker: claim keeps failing");
            sleep_interruptible(w->set.idle_ms);
            continue;
        }
        claim_failures = 0;
        if (n == 0) {
            if (w->opts->once && !once_must_wait(w))
                break;
            /* woken by the queue when work arrives; idle_ms bounds the wait (delayed jobs
             * coming due, reaping, relaying) */
            rc = om_queue_wait(w->queue, (const char *const *)w->types, w->nclaim,
                               w->set.idle_ms);
            if (rc && conn_error(rc))
                worker_disconnect(w);
            continue;
        }
        run_job(w, &job);
        om_job_release(&job);
    }
    return OM_OK;
}

static int worker_process(const om_config *cfg, const om_worker_opts *opts, int supervised)
{
    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    signal(SIGPIPE, SIG_IGN);
    if (supervised)
        prctl(PR_SET_PDEATHSIG, SIGTERM);

    rt_worker w;
    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.opts = opts;
    load_settings(&w.set, cfg, opts);
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(w.name, sizeof(w.name), "%s:%ld", host, (long)getpid());

    size_t n = 0;
    if (opts->types)
        while (opts->types[n])
            n++;
    if (n == 0)
        n = om_runtime_count();
    w.types = xcalloc(2 * n + 1, sizeof(*w.types));
    const char **base = xcalloc(n + 1, sizeof(*base));
    char **gpu_names = xcalloc(n + 1, sizeof(*gpu_names));
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        base[i] = opts->types && opts->types[0] ? opts->types[i] : om_runtime_at(i)->type;
        const om_stage *st = om_runtime_find(base[i]);
        if (st && st->gpu_setting && !strcmp(st->type, base[i]))
            gpu_names[ng++] = xasprintf("%s%s", base[i], OM_GPU_SUFFIX);
    }
    /* GPU worker: [gpu types][base types] (GPU work first); CPU worker: [base][gpu], the
     * gpu ones claimed only while falling back */
    size_t k = 0;
    for (size_t i = 0; opts->gpu && i < ng; i++)
        w.types[k++] = gpu_names[i];
    for (size_t i = 0; i < n; i++)
        w.types[k++] = base[i];
    for (size_t i = 0; !opts->gpu && i < ng; i++)
        w.types[k++] = gpu_names[i];
    free(base);
    w.nbase = n;
    w.ngpu = ng;
    w.ntypes = n + ng;
    w.nclaim = opts->gpu ? w.ntypes : n;
    w.gpu_last_alive_us = om_now_us();

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int keeper_fd = -1;
    w.keeper = keeper_start(cfg, &keeper_fd);
    rt_sink_install();
    om_sbuf tl = OM_SBUF_INIT;
    for (size_t i = 0; i < w.nclaim; i++)
        sb_printf(&tl, "%s%s", i ? "," : "", w.types[i]);
    om_info("worker", "worker %s started (types %s, lease %lld ms, reap every %lld ms)%s%s", w.name,
            sb_str(&tl), (long long)w.set.lease_ms, (long long)w.set.reap_ms,
            opts->gpu ? "; GPU node, encoder " : "",
            opts->gpu ? (opts->gpu_encoder ? opts->gpu_encoder : "?") : "");
    int rc = n ? worker_loop(&w) : om_error_set(OM_EINVAL, "no job types to serve");
    if (rc)
        om_err("worker", "worker %s: %s", w.name, om_error_msg());
    om_info("worker", "worker %s stopped%s", w.name, g_stop ? " (drained)" : "");
    gpu_forget(&w);
    worker_disconnect(&w);
    keeper_stop(w.keeper, keeper_fd);
    reap_orphans(&w);
    rt_sink_uninstall();
    sb_release(&tl);
    for (size_t i = 0; i < ng; i++)
        free(gpu_names[i]);
    free(gpu_names);
    free(w.types);
    return rc;
}

/* ---- the supervisor --------------------------------------------------------------- */

typedef struct slot {
    pid_t pid;
    int64_t started_ms;
    int done;
    int failed;
} slot;

static pid_t spawn_worker(const om_config *cfg, const om_worker_opts *opts, pid_t sup)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NAME, "omniva-worker");
        if (getppid() != sup)
            _exit(1);
        int rc = worker_process(cfg, opts, 1);
        exit(rc ? 1 : 0);
    }
    return pid;
}

/* Start-up: jobs leased by workers of this host that are gone (a kill -9 of a whole tree)
 * go back to ready now instead of when their leases expire (queue.h reclaim_dead). */
static void reclaim_dead_leases(const om_config *cfg)
{
    om_store *s = NULL;
    om_queue *q = NULL;
    if (open_connections(cfg, &s, &q) != OM_OK)
        return; /* the workers report the connection problem */
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    size_t n = 0;
    if (om_queue_reclaim_dead(q, host, NULL, NULL, &n))
        om_warn("worker", "%s", om_error_msg());
    else if (n)
        om_info("worker", "reclaimed %zu jobs leased by dead workers of %s", n, host);
    om_queue_free(q);
    om_store_free(s);
}

int om_worker_run(const om_config *cfg, const om_worker_opts *opts)
{
    OM_ASSERT(cfg && opts);
    if (!g_armed)
        om_worker_arm_signals();
    g_armed = 0; /* the next run starts afresh */
    reclaim_dead_leases(cfg);
    int n = opts->concurrency > 0 ? opts->concurrency : 1;
    if (n == 1)
        return worker_process(cfg, opts, 0);

    signal(SIGPIPE, SIG_IGN);
    pid_t self = getpid();
    slot *slots = xcalloc((size_t)n, sizeof(*slots));
    for (int i = 0; i < n; i++) {
        slots[i].pid = spawn_worker(cfg, opts, self);
        slots[i].started_ms = om_mono_ms();
        if (slots[i].pid < 0)
            om_err("worker", "fork failed: %s", strerror(errno));
    }
    om_info("worker", "supervisor %ld running %d worker processes", (long)self, n);
    int forwarded_term = 0, forwarded_kill = 0;
    for (;;) {
        if (g_stop && !forwarded_term) {
            om_info("worker", "stopping: draining %d worker processes", n);
            for (int i = 0; i < n; i++)
                if (slots[i].pid > 0)
                    kill(slots[i].pid, SIGTERM);
            forwarded_term = 1;
        }
        if (g_kill_now && !forwarded_kill) {
            for (int i = 0; i < n; i++)
                if (slots[i].pid > 0)
                    kill(slots[i].pid, SIGKILL);
            forwarded_kill = 1;
        }
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            int i = 0;
            while (i < n && slots[i].pid != pid)
                i++;
            if (i == n)
                continue;
            int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            slots[i].pid = 0;
            if (g_stop || (opts->once && WIFEXITED(status))) {
                slots[i].done = 1;
                slots[i].failed = !ok && !g_stop;
            } else {
                if (WIFSIGNALED(status))
                    om_warn("worker", "worker process %ld killed by signal %d; restarting",
                            (long)pid, WTERMSIG(status));
                else
                    om_warn("worker", "worker process %ld exited with status %d; restarting",
                            (long)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                /* one that dies right after starting is restarted after a pause */
                int64_t ran = om_mono_ms() - slots[i].started_ms;
                slots[i].started_ms = om_mono_ms() + (ran < 1000 ? 1000 : 0);
            }
            continue;
        }
        int live = 0, spawned = 0;
        for (int i = 0; i < n; i++) {
            if (slots[i].done)
                continue;
            live++;
            if (slots[i].pid <= 0 && !g_stop && om_mono_ms() >= slots[i].started_ms) {
                slots[i].pid = spawn_worker(cfg, opts, self);
                slots[i].started_ms = om_mono_ms();
                spawned = 1;
            } else if (slots[i].pid <= 0 && g_stop) {
                slots[i].done = 1; /* waiting for a restart that will not come */
                live--;
            }
        }
        if (!live)
            break;
        if (!spawned)
            om_sleep_ms(50);
    }
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed |= slots[i].failed;
    free(slots);
    om_info("worker", "supervisor %ld stopped", (long)self);
    return failed ? om_error_set(OM_ERROR, "a worker process failed") : OM_OK;
}
