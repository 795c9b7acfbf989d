/*
 * redis.c: a throw-away Redis server for tests (harness.h): redis-server on
 * 127.0.0.1:<free port>, its own temp dir, AOF on with appendfsync always (so a kill -9 loses
 * no acknowledged write), no RDB snapshots. restart = kill -9 + start on the same port and
 * dir (the AOF brings the data back); stop = kill -9 + rm -rf.
 *
 * The server gets PR_SET_PDEATHSIG, so a test that crashes does not leave it running. Readiness
 * is checked with a raw PING over TCP (no hiredis in the harness): a server still loading
 * its AOF answers -LOADING, and we wait for +PONG.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define REDIS_START_TIMEOUT_MS 10000

/* 1 when a PING on 127.0.0.1:port answers +PONG. */
static int ping(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct timeval tv = {0, 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, "PING\r\n", 6) == 6) {
        char buf[64];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n > 0) {
            buf[n] = '\0';
            ok = strncmp(buf, "+PONG", 5) == 0;
        }
    }
    close(fd);
    return ok;
}

static pid_t spawn(harness_redis *r)
{
    char port[16], log[300];
    snprintf(port, sizeof(port), "%d", r->port);
    snprintf(log, sizeof(log), "%s/redis.log", r->dir);
    const char *argv[] = {"redis-server",   "--port",         port,
                          "--bind",         "127.0.0.1",      "--dir",
                          r->dir,           "--appendonly",   "yes",
                          "--appendfsync",  "always",         "--save",
                          "",               "--daemonize",    "no",
                          "--protected-mode", "no",           "--logfile",
                          log,              "--loglevel",     "warning",
                          NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness_redis: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "harness_redis: exec redis-server: %s\n", strerror(errno));
        _exit(127);
    }
    return pid;
}

static int wait_ready(harness_redis *r)
{
    int64_t deadline = om_mono_ms() + REDIS_START_TIMEOUT_MS;
    while (om_mono_ms() < deadline) {
        if (ping(r->port))
            return 0;
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            fprintf(stderr, "harness_redis: redis-server exited at start (see %s/redis.log)\n",
                    r->dir);
            r->pid = 0;
            return -1;
        }
        om_sleep_ms(20);
    }
    fprintf(stderr, "harness_redis: redis-server on port %d not ready after %d ms\n", r->port,
            REDIS_START_TIMEOUT_MS);
    return -1;
}

static void kill_server(harness_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        r->pid = 0;
    }
}

int harness_redis_start(harness_redis *r)
{
    memset(r, 0, sizeof(*r));
    char *dir = harness_tmpdir("redis");
    snprintf(r->dir, sizeof(r->dir), "%s", dir);
    free(dir);
    for (int tries = 0; tries < 3; tries++) {
        r->port = harness_free_port();
        if (r->port <= 0)
            return -1;
        snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d/0", r->port);
        r->pid = spawn(r);
        if (r->pid < 0)
            return -1;
        if (wait_ready(r) == 0)
            return 0;
        kill_server(r); /* most likely the port was taken meanwhile: try another */
    }
    om_rmtree(r->dir);
    return -1;
}

int harness_redis_restart(harness_redis *r)
{
    kill_server(r);
    r->pid = spawn(r);
    if (r->pid < 0)
        return -1;
    return wait_ready(r);
}

void harness_redis_stop(harness_redis *r)
{
    kill_server(r);
    if (r->dir[0]) {
        om_rmtree(r->dir);
        r->dir[0] = '\0';
    }
}
