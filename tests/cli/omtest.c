/* omtest.c: helpers for black-box tests of the omniva program (see omtest.h). */
#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int omt_runv(char **out, char **err, const char *home, const char *const *args)
{
    size_t n = 0;
    while (args && args[n])
        n++;
    const char **argv = xcalloc(n + 3, sizeof(char *));
    size_t k = 0;
    if (home) {
        argv[k++] = "--home";
        argv[k++] = home;
    }
    for (size_t i = 0; i < n; i++)
        argv[k++] = args[i];
    int rc = harness_omniva(argv, out, err);
    free(argv);
    return rc;
}

int omt_run(char **out, char **err, const char *home, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, home);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 63)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return omt_runv(out, err, home, args);
}

/* $OMNIVA_BIN [--home HOME] ARGS..., NULL-terminated (caller frees the array); NULL when
 * OMNIVA_BIN is not set (said on stderr). */
static const char **program_argv(const char *home, const char *const *args)
{
    const char *bin = getenv("OMNIVA_BIN");
    if (!bin) {
        fprintf(stderr, "omtest: OMNIVA_BIN is not set\n");
        return NULL;
    }
    size_t n = 0;
    while (args && args[n])
        n++;
    const char **argv = xcalloc(n + 4, sizeof(char *));
    size_t k = 0;
    argv[k++] = bin;
    if (home) {
        argv[k++] = "--home";
        argv[k++] = home;
    }
    for (size_t i = 0; i < n; i++)
        argv[k++] = args[i];
    return argv;
}

int omt_run_pty(char **out, const char *home, const char *const *args, int64_t timeout_ms)
{
    *out = NULL;
    const char **argv = program_argv(home, args);
    if (!argv)
        return -1;
    struct winsize ws = {.ws_row = 40, .ws_col = 120};
    int master = -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    if (pid < 0) {
        free(argv);
        fprintf(stderr, "omtest: forkpty: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(argv);
    om_sbuf sb = OM_SBUF_INIT;
    int64_t end = om_mono_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        struct pollfd pfd = {master, POLLIN, 0};
        int pr = poll(&pfd, 1, 100);
        if (pr > 0) {
            char buf[4096];
            ssize_t r = read(master, buf, sizeof(buf));
            if (r > 0)
                sb_append(&sb, buf, (size_t)r);
            else if (r < 0 && errno == EINTR)
                continue;
            else
                break; /* EIO: every holder of the terminal is gone */
        }
        if (om_mono_ms() > end) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
    }
    close(master);
    int st = 0;
    waitpid(pid, &st, 0);
    *out = sb_detach(&sb);
    if (timed_out)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

pid_t omt_spawn(const char *home, const char *logfile, const char *const *extra_env,
                const char *const *args)
{
    const char **argv = program_argv(home, args);
    if (!argv)
        return -1;
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(logfile ? logfile : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        for (const char *const *e = extra_env; e && *e; e++)
            putenv((char *)*e);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(argv);
    return pid;
}

int omt_wait(pid_t pid, int64_t timeout_ms)
{
    int64_t end = om_mono_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR)
            return -1;
        if (om_mono_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        om_sleep_ms(20);
    }
}

int omt_children(pid_t parent, const char *name, pid_t *out, int max)
{
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char *path = xasprintf("/proc/%ld/stat", pid);
        char *text = NULL;
        size_t len = 0;
        if (om_read_file(path, 4096, &text, &len) == OM_OK) {
            /* pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')' */
            const char *lp = strchr(text, '('), *rp = strrchr(text, ')');
            char state = 0;
            long ppid = 0;
            int name_ok = !name || (lp && rp && (size_t)(rp - lp - 1) == strlen(name) &&
                                    !strncmp(lp + 1, name, strlen(name)));
            if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == parent &&
                state != 'Z' && name_ok)
                out[n++] = (pid_t)pid;
        }
        free(text);
        free(path);
    }
    closedir(d);
    return n;
}

char *omt_query(const char *url, const char *sql)
{
    om_store *s = NULL;
    if (om_store_open(&s, url)) {
        fprintf(stderr, "omtest: open %s: %s\n", url, om_error_msg());
        return NULL;
    }
    char *v = NULL;
    int rc = om_store_query_value(s, sql, NULL, 0, &v);
    if (rc && rc != OM_ENOTFOUND)
        fprintf(stderr, "omtest: %s: %s\n", sql, om_error_msg());
    om_store_free(s);
    return v;
}

int64_t omt_query_int(const char *url, const char *sql)
{
    char *v = omt_query(url, sql);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

int omt_exec(const char *url, const char *sql)
{
    om_store *s = NULL;
    int rc = om_store_open(&s, url);
    if (rc) {
        fprintf(stderr, "omtest: open %s: %s\n", url, om_error_msg());
        return rc;
    }
    rc = om_store_exec(s, sql, NULL, 0, NULL);
    if (rc)
        fprintf(stderr, "omtest: %s: %s\n", sql, om_error_msg());
    om_store_free(s);
    return rc;
}

char *omt_workspace(const char *tag, ...)
{
    char *home = harness_tmpdir(tag);
    const char *args[32];
    size_t n = 0;
    args[n++] = "init";
    args[n++] = home;
    va_list ap;
    va_start(ap, tag);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    char *err = NULL;
    int rc = omt_runv(NULL, &err, NULL, args);
    if (rc != 0) {
        fprintf(stderr, "omtest: omniva init %s failed (%d): %s\n", home, rc, err ? err : "");
        abort();
    }
    free(err);
    return home;
}

void omt_conf_append(const char *home, const char *section, const char *key, const char *value)
{
    char *path = xasprintf("%s/omniva.conf", home);
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "omtest: %s: %s\n", path, strerror(errno));
        abort();
    }
    fprintf(f, "\n[%s]\n%s = %s\n", section, key, value);
    fclose(f);
    free(path);
}

int omt_has(const char *hay, const char *needle)
{
    return hay && needle && strstr(hay, needle) != NULL;
}
