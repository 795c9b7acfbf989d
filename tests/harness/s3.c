/*
 * s3.c: a throw-away S3-protocol server for tests (harness.h): `node tests/s3/server.js DIR
 * PORT BUCKETS` (s3rver behind a front that verifies SigV4 and payload hashes) on a free
 * loopback port, objects in its own temp dir. Started with PR_SET_PDEATHSIG, so a crashed
 * test does not leave it running; readiness is its "READY <port>" line. Control requests
 * (/_fault, /_stats, /_reset) are plain HTTP/1.0 over a socket (no libcurl in the harness).
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define S3_START_TIMEOUT_MS 30000

int harness_s3_start(harness_s3 *s, const char *buckets)
{
    memset(s, 0, sizeof(*s));
    const char *src = getenv("OMNIVA_SRC");
    if (!src) {
        fprintf(stderr, "harness_s3: OMNIVA_SRC is not set\n");
        return -1;
    }
    char script[512], mods[512];
    snprintf(script, sizeof(script), "%s/tests/s3/server.js", src);
    snprintf(mods, sizeof(mods), "%s/tests/s3/node_modules/s3rver", src);
    if (!om_file_exists(mods)) {
        fprintf(stderr, "harness_s3: %s is missing: run `npm ci` in tests/s3 (scripts/bootstrap "
                        "does)\n",
                mods);
        return -1;
    }
    char *dir = harness_tmpdir("s3");
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    free(dir);
    s->port = harness_free_port();
    char port[16], data[300];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(data, sizeof(data), "%s/data", s->dir);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pipefd[1], 1);
        /* s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in
         * its legacy provider: without it a listing of more than one page is a 500 */
        execlp("node", "node", "--openssl-legacy-provider", script, data, port, buckets,
               (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    s->pid = pid;
    char buf[256];
    size_t got = 0;
    int64_t t0 = om_mono_ms();
    int ok = 0;
    while (!ok && om_mono_ms() - t0 < S3_START_TIMEOUT_MS && got < sizeof(buf) - 1) {
        struct pollfd p = {pipefd[0], POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        ok = strstr(buf, "READY ") != NULL && strchr(strstr(buf, "READY "), '\n') != NULL;
    }
    close(pipefd[0]);
    if (!ok) {
        fprintf(stderr, "harness_s3: the server did not start (%s)\n", got ? buf : "no output");
        harness_s3_stop(s);
        return -1;
    }
    snprintf(s->endpoint, sizeof(s->endpoint), "http://127.0.0.1:%d", s->port);
    return 0;
}

void harness_s3_stop(harness_s3 *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->dir[0])
        om_rmtree(s->dir);
    s->dir[0] = '\0';
}

int harness_s3_ctl(const harness_s3 *s, const char *method, const char *path, char **out)
{
    if (out)
        *out = NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)s->port);
    char *req = xasprintf("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
                          method, path);
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        om_sbuf sb = OM_SBUF_INIT;
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            sb_append(&sb, buf, (size_t)n);
        const char *all = sb_str(&sb);
        const char *body = strstr(all, "\r\n\r\n");
        if (!strncmp(all, "HTTP/1.", 7) && (all[9] == '2')) {
            rc = 0;
            if (out)
                *out = xstrdup(body ? body + 4 : "");
        }
        sb_release(&sb);
    }
    free(req);
    close(fd);
    return rc;
}
