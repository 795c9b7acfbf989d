/* proc.c: fork/exec with captured output, line callbacks, deadlines and cancellation. */
#include "base/common.h"
#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct stream {
    int fd;
    om_sbuf all;   /* captured (capped) */
    om_sbuf line;  /* current partial line */
    om_proc_line_fn cb;
    size_t cap;
} stream;

static void stream_feed(stream *s, const char *buf, size_t n, void *ud)
{
    if (s->all.len < s->cap) {
        size_t room = s->cap - s->all.len;
        sb_append(&s->all, buf, n < room ? n : room);
    }
    if (!s->cb)
        return;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || buf[i] == '\r') {
            if (s->line.len)
                s->cb(ud, s->line.buf);
            sb_reset(&s->line);
        } else if (s->line.len < 65536) {
            sb_append(&s->line, &buf[i], 1);
        }
    }
}

int om_proc_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int om_proc_which(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *dup = xstrdup(path), *save = NULL;
    int found = 0;
    for (char *dir = strtok_r(dup, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *full = xasprintf("%s/%s", dir, name);
        found = access(full, X_OK) == 0;
        free(full);
    }
    free(dup);
    return found;
}

int om_proc_run(const om_proc_opts *o, om_proc_result *res)
{
    OM_ASSERT(o && o->argv && o->argv[0] && res);
    memset(res, 0, sizeof(*res));
    if (!om_proc_which(o->argv[0]))
        return om_error_set(OM_ENOTFOUND, "program '%s' not found on PATH", o->argv[0]);
    /* A child that exits before reading all of stdin must not kill us with SIGPIPE: the
     * write then fails with EPIPE, which ends the feeding. Only a default disposition is
     * changed, so a program's own SIGPIPE handler stays in place. */
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    int pin[2], pout[2], perr[2], pexec[2];
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC) ||
        pipe2(pexec, O_CLOEXEC))
        return om_error_set(OM_EIO, "pipe: %s", strerror(errno));

    pid_t pid = fork();
    if (pid < 0)
        return om_error_set(OM_EIO, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        signal(SIGPIPE, SIG_DFL);
        if (o->cwd && chdir(o->cwd) != 0) {
            int e = errno;
            (void)!write(pexec[1], &e, sizeof(e));
            _exit(127);
        }
        if (o->env_add)
            for (const char *const *e = o->env_add; *e; e++)
                putenv((char *)*e);
        execvp(o->argv[0], (char *const *)o->argv);
        int e = errno;
        (void)!write(pexec[1], &e, sizeof(e));
        _exit(127);
    }
    setpgid(pid, pid);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    close(pexec[1]);

    int exec_errno = 0;
    if (read(pexec[0], &exec_errno, sizeof(exec_errno)) != (ssize_t)sizeof(exec_errno))
        exec_errno = 0;
    close(pexec[0]);

    size_t cap = o->max_output ? o->max_output : 16u << 20;
    stream st[2] = {{pout[0], OM_SBUF_INIT, OM_SBUF_INIT, o->on_stdout_line, cap},
                    {perr[0], OM_SBUF_INIT, OM_SBUF_INIT, o->on_stderr_line, cap}};
    size_t in_off = 0;
    int in_fd = pin[1];
    if (!o->stdin_data || o->stdin_len == 0) {
        close(in_fd);
        in_fd = -1;
    } else {
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
    }
    int64_t deadline = o->timeout_ms > 0 ? om_mono_ms() + o->timeout_ms : 0;
    int open_streams = 2;
    while (open_streams > 0) {
        struct pollfd pf[3];
        int n = 0, idx[3];
        for (int i = 0; i < 2; i++)
            if (st[i].fd >= 0) {
                pf[n].fd = st[i].fd;
                pf[n].events = POLLIN;
                idx[n++] = i;
            }
        if (in_fd >= 0) {
            pf[n].fd = in_fd;
            pf[n].events = POLLOUT;
            idx[n++] = 2;
        }
        int wait_ms = 200;
        if (deadline) {
            int64_t left = deadline - om_mono_ms();
            if (left <= 0) {
                res->timed_out = 1;
                break;
            }
            if (left < wait_ms)
                wait_ms = (int)left;
        }
        if (o->cancel && *o->cancel) {
            res->timed_out = 1;
            break;
        }
        int r = poll(pf, (nfds_t)n, wait_ms);
        if (r < 0 && errno != EINTR)
            break;
        for (int k = 0; r > 0 && k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (idx[k] == 2) {
                ssize_t w = write(in_fd, o->stdin_data + in_off, o->stdin_len - in_off);
                if (w > 0)
                    in_off += (size_t)w;
                if (w < 0 && errno != EAGAIN) {
                    close(in_fd);
                    in_fd = -1;
                } else if (in_off >= o->stdin_len) {
                    close(in_fd);
                    in_fd = -1;
                }
                continue;
            }
            stream *s = &st[idx[k]];
            char buf[65536];
            ssize_t got = read(s->fd, buf, sizeof(buf));
            if (got > 0) {
                stream_feed(s, buf, (size_t)got, o->ud);
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (s->cb && s->line.len)
                    s->cb(o->ud, s->line.buf);
                close(s->fd);
                s->fd = -1;
                open_streams--;
            }
        }
    }
    if (res->timed_out)
        kill(-pid, SIGKILL);
    if (in_fd >= 0)
        close(in_fd);
    for (int i = 0; i < 2; i++) {
        if (st[i].fd >= 0)
            close(st[i].fd);
        sb_release(&st[i].line);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    res->out_len = st[0].all.len;
    res->out = sb_detach(&st[0].all);
    res->err_len = st[1].all.len;
    res->err = sb_detach(&st[1].all);
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    } else {
        res->exit_code = -1;
        res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    if (exec_errno)
        return om_error_set(OM_ENOTFOUND, "cannot run '%s': %s", o->argv[0],
                            strerror(exec_errno));
    if (res->timed_out)
        return om_error_set(OM_ETIMEOUT, "'%s' killed after %lld ms", o->argv[0],
                            (long long)o->timeout_ms);
    return OM_OK;
}

void om_proc_result_release(om_proc_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}
