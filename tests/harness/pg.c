/*
 * pg.c: a throw-away PostgreSQL server for tests (harness.h): initdb into a temp dir,
 * postgres on 127.0.0.1:<free port> (+ a Unix socket in the same dir) with durability off
 * for speed, createdb omniva_test; stop = fast shutdown + rm -rf.
 *
 * initdb and postgres refuse to run as root, so as root both run as the 'postgres' system
 * user (the dir is chowned to it; we setuid in the forked child rather than going through
 * runuser, so the pid we hold is the postmaster's own and SIGINT means "fast shutdown").
 * The server gets PR_SET_PDEATHSIG, so a test that crashes does not leave it running.
 * Binaries: $OMNIVA_PG_BINDIR, else the newest /usr/lib/postgresql/<ver>/bin.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_USER "omniva"
#define PG_DB "omniva_test"

static int find_bindir(char *out, size_t n)
{
    const char *env = getenv("OMNIVA_PG_BINDIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return 0;
    }
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0) {
        fprintf(stderr, "harness_pg: no PostgreSQL server found in /usr/lib/postgresql/*/bin "
                        "(install postgresql or set OMNIVA_PG_BINDIR)\n");
        return -1;
    }
    const char *best = NULL;
    long best_ver = -1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
        if (v > best_ver) {
            best_ver = v;
            best = g.gl_pathv[i];
        }
    }
    snprintf(out, n, "%.*s", (int)(strlen(best) - strlen("/postgres")), best);
    globfree(&g);
    return 0;
}

typedef struct run_user {
    int drop; /* 1: setuid to uid/gid in the child */
    uid_t uid;
    gid_t gid;
} run_user;

/* Forks and execs argv with stdout+stderr appended to logpath. Returns the pid or -1. */
static pid_t spawn(const char *const *argv, const run_user *u, const char *logpath, int pdeath)
{
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "harness_pg: open %s: %s\n", logpath, strerror(errno));
        return -1;
    }
    if (u->drop && fchown(logfd, u->uid, u->gid) != 0) {
        fprintf(stderr, "harness_pg: chown %s: %s\n", logpath, strerror(errno));
        close(logfd);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness_pg: fork: %s\n", strerror(errno));
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (u->drop && (setgroups(0, NULL) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0)) {
            fprintf(stderr, "harness_pg: cannot become uid %d: %s\n", (int)u->uid,
                    strerror(errno));
            _exit(126);
        }
        /* Set after setuid: a change of credentials clears the parent-death signal. */
        if (pdeath && (prctl(PR_SET_PDEATHSIG, SIGINT) != 0 || getppid() != parent))
            _exit(125);
        setenv("LC_ALL", "C", 1);
        unsetenv("PGDATA");
        unsetenv("PGPORT");
        unsetenv("PGHOST");
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "harness_pg: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    return pid;
}

/* Waits for pid up to timeout_ms; returns its exit status, or -1 (killed on timeout). */
static int wait_for(pid_t pid, int64_t timeout_ms)
{
    int64_t deadline = om_mono_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR)
            return -1;
        if (om_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        om_sleep_ms(20);
    }
}

static void print_log_tail(const char *what, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (om_read_file(path, 0, &text, &len) != OM_OK) {
        fprintf(stderr, "harness_pg: %s (no log at %s)\n", what, path);
        return;
    }
    const char *tail = len > 3000 ? text + len - 3000 : text;
    fprintf(stderr, "harness_pg: %s; last lines of %s:\n%s\n", what, path, tail);
    free(text);
}

static int run_tool(const char *const *argv, int64_t timeout_ms)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = timeout_ms, .env_add = (const char *[]){
                                                                "LC_ALL=C", NULL}};
    om_proc_result res;
    int rc = om_proc_run(&o, &res);
    int code = rc < 0 ? -1 : res.exit_code;
    if (code != 0 && res.err && res.err[0] && strstr(argv[0], "pg_isready") == NULL)
        fprintf(stderr, "harness_pg: %s: %s\n", argv[0], res.err);
    if (rc < 0 && rc != OM_ETIMEOUT)
        fprintf(stderr, "harness_pg: %s: %s\n", argv[0], om_error_msg());
    om_proc_result_release(&res);
    return code;
}

/* Who runs the server: as root, the 'postgres' system user. */
static int server_user(run_user *u)
{
    *u = (run_user){0, 0, 0};
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam("postgres");
    if (!pw) {
        fprintf(stderr, "harness_pg: running as root but there is no 'postgres' user to run "
                        "initdb/postgres as\n");
        return -1;
    }
    *u = (run_user){1, pw->pw_uid, pw->pw_gid};
    return 0;
}

/* Starts postgres on `data` (pg->dir set) with the test settings plus `settings`, waits
 * until it accepts connections, and (create_db) makes the test database. */
static int start_server(harness_pg *pg, const run_user *u, const char *bindir, const char *data,
                        const char *const *settings, int create_db)
{
    char log_pg[300], postgres[260], isready[260], createdb[260];
    snprintf(log_pg, sizeof(log_pg), "%s/postgres.log", pg->dir);
    snprintf(postgres, sizeof(postgres), "%s/postgres", bindir);
    snprintf(isready, sizeof(isready), "%s/pg_isready", bindir);
    snprintf(createdb, sizeof(createdb), "%s/createdb", bindir);
    /* A port can be taken between probing and binding; retry a few times. */
    for (int attempt = 0; attempt < 5; attempt++) {
        pg->port = harness_free_port();
        if (pg->port <= 0)
            return -1;
        char port[16];
        snprintf(port, sizeof(port), "%d", pg->port);
        const char *base_argv[] = {postgres, "-D", data, "-k", pg->dir, "-h", "127.0.0.1",
                                   "-p", port, "-c", "fsync=off", "-c", "synchronous_commit=off",
                                   "-c", "full_page_writes=off", "-c", "shared_buffers=32MB",
                                   "-c", "max_connections=60", "-c", "logging_collector=off",
                                   NULL};
        size_t nb = OM_ARRAY_LEN(base_argv) - 1, ns = 0;
        while (settings && settings[ns])
            ns++;
        const char **pg_argv = xcalloc(nb + 2 * ns + 1, sizeof(char *));
        memcpy(pg_argv, base_argv, nb * sizeof(char *));
        for (size_t i = 0; i < ns; i++) {
            pg_argv[nb + 2 * i] = "-c";
            pg_argv[nb + 2 * i + 1] = settings[i];
        }
        pg->pid = spawn(pg_argv, u, log_pg, 1);
        free(pg_argv);
        if (pg->pid < 0) {
            pg->pid = 0;
            return -1;
        }
        const char *ready_argv[] = {isready, "-q", "-h", "127.0.0.1", "-p", port,
                                    "-U", PG_USER, "-t", "1", NULL};
        int64_t deadline = om_mono_ms() + 60000;
        int ready = 0, died = 0;
        while (!ready && !died && om_mono_ms() < deadline) {
            int wst;
            if (waitpid(pg->pid, &wst, WNOHANG) == pg->pid) {
                died = 1;
                break;
            }
            if (run_tool(ready_argv, 5000) == 0)
                ready = 1;
            else
                om_sleep_ms(100);
        }
        if (ready) {
            const char *cdb_argv[] = {createdb, "-h", "127.0.0.1", "-p", port, "-U", PG_USER,
                                      PG_DB, NULL};
            if (create_db && run_tool(cdb_argv, 60000) != 0) {
                fprintf(stderr, "harness_pg: createdb %s failed\n", PG_DB);
                return -1;
            }
            snprintf(pg->url, sizeof(pg->url), "postgres://%s@127.0.0.1:%d/%s", PG_USER,
                     pg->port, PG_DB);
            return 0;
        }
        if (!died) {
            print_log_tail("postgres did not become ready within 60 s", log_pg);
            return -1;
        }
        pg->pid = 0;
        print_log_tail("postgres exited during startup", log_pg);
        /* retry on another port (the usual cause is a lost race for the port) */
    }
    return -1;
}

int harness_pg_start(harness_pg *pg)
{
    return harness_pg_start_with(pg, NULL);
}

int harness_pg_start_with(harness_pg *pg, const char *const *settings)
{
    memset(pg, 0, sizeof(*pg));
    char bindir[200];
    if (find_bindir(bindir, sizeof(bindir)) != 0)
        return -1;
    run_user u;
    if (server_user(&u) != 0)
        return -1;

    char *dir = harness_tmpdir("pg");
    snprintf(pg->dir, sizeof(pg->dir), "%s", dir);
    free(dir);
    if (u.drop && chown(pg->dir, u.uid, u.gid) != 0) {
        fprintf(stderr, "harness_pg: chown %s: %s\n", pg->dir, strerror(errno));
        goto fail;
    }

    char data[300], log_init[300], initdb[260];
    snprintf(data, sizeof(data), "%s/data", pg->dir);
    snprintf(log_init, sizeof(log_init), "%s/initdb.log", pg->dir);
    snprintf(initdb, sizeof(initdb), "%s/initdb", bindir);

    const char *init_argv[] = {initdb, "-D", data, "-A", "trust", "-U", PG_USER, "-E", "UTF8",
                               "--locale=C", "--no-sync", NULL};
    pid_t ipid = spawn(init_argv, &u, log_init, 0);
    if (ipid < 0)
        goto fail;
    int st = wait_for(ipid, 120000);
    if (st != 0) {
        print_log_tail(st < 0 ? "initdb timed out after 120 s" : "initdb failed", log_init);
        goto fail;
    }
    if (start_server(pg, &u, bindir, data, settings, 1) == 0)
        return 0;
fail:
    harness_pg_stop(pg);
    return -1;
}

int harness_pg_start_datadir(harness_pg *pg, const char *dir, const char *const *settings)
{
    memset(pg, 0, sizeof(*pg));
    char bindir[200];
    if (find_bindir(bindir, sizeof(bindir)) != 0)
        return -1;
    run_user u;
    if (server_user(&u) != 0)
        return -1;
    snprintf(pg->dir, sizeof(pg->dir), "%s", dir);
    char data[300];
    snprintf(data, sizeof(data), "%s/data", pg->dir);
    if (harness_pg_chown(pg->dir) != 0 || chmod(data, 0700) != 0) {
        fprintf(stderr, "harness_pg: preparing %s: %s\n", data, strerror(errno));
        harness_pg_stop(pg);
        return -1;
    }
    if (start_server(pg, &u, bindir, data, settings, 0) == 0)
        return 0;
    harness_pg_stop(pg);
    return -1;
}

int harness_pg_chown(const char *path)
{
    run_user u;
    if (server_user(&u) != 0)
        return -1;
    if (!u.drop)
        return 0;
    char uid[64];
    snprintf(uid, sizeof(uid), "%d:%d", (int)u.uid, (int)u.gid);
    const char *argv[] = {"chown", "-R", uid, path, NULL};
    return run_tool(argv, 60000) == 0 ? 0 : -1;
}

int harness_pg_tool(const char *const *argv)
{
    char bindir[200];
    if (find_bindir(bindir, sizeof(bindir)) != 0)
        return -1;
    run_user u;
    if (server_user(&u) != 0)
        return -1;
    size_t n = 0;
    while (argv[n])
        n++;
    const char **a = xcalloc(n + 1, sizeof(char *));
    char *exe = xasprintf("%s/%s", bindir, argv[0]);
    a[0] = exe;
    for (size_t i = 1; i < n; i++)
        a[i] = argv[i];
    char *tmp = harness_tmpdir("pgtool");
    char *logp = xasprintf("%s/tool.log", tmp);
    if (u.drop && chown(tmp, u.uid, u.gid) != 0)
        fprintf(stderr, "harness_pg: chown %s: %s\n", tmp, strerror(errno));
    pid_t pid = spawn(a, &u, logp, 0);
    int st = pid < 0 ? -1 : wait_for(pid, 300000);
    if (st != 0)
        print_log_tail(argv[0], logp);
    om_rmtree(tmp);
    free(tmp);
    free(logp);
    free(exe);
    free(a);
    return st;
}

void harness_pg_stop(harness_pg *pg)
{
    if (pg->pid > 0) {
        kill(pg->pid, SIGINT); /* fast shutdown: disconnect clients, checkpoint, exit */
        if (wait_for(pg->pid, 30000) < 0)
            fprintf(stderr, "harness_pg: postgres (pid %d) did not stop in 30 s; killed\n",
                    (int)pg->pid);
        pg->pid = 0;
    }
    if (pg->dir[0]) {
        om_rmtree(pg->dir);
        pg->dir[0] = '\0';
    }
}
