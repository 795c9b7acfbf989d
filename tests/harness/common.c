/*
 * common.c: the parts of harness.h every suite uses: temp dirs, free loopback ports and
 * running the omniva binary under test.
 */
#include "base/common.h"
#include "base/proc.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

char *harness_tmpdir(const char *tag)
{
    char *tmpl = xasprintf("/tmp/omniva-%s-XXXXXX", tag && *tag ? tag : "test");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
        abort(); /* nothing a test can do without its scratch dir */
    }
    return tmpl;
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "harness: socket: %s\n", strerror(errno));
        return -1;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0; /* the kernel picks a free one */
    socklen_t len = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        fprintf(stderr, "harness: bind 127.0.0.1:0: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int harness_omniva(const char *const *args, char **out, char **err)
{
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    const char *bin = getenv("OMNIVA_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "harness: OMNIVA_BIN is not set (run the test through ctest)\n");
        return -1;
    }
    size_t n = 0;
    while (args && args[n])
        n++;
    const char **argv = xcalloc(n + 2, sizeof(char *));
    argv[0] = bin;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    om_proc_opts o = {.argv = argv, .timeout_ms = 600000};
    om_proc_result res;
    int rc = om_proc_run(&o, &res);
    free(argv);
    if (rc < 0 && rc != OM_ETIMEOUT) {
        fprintf(stderr, "harness: running %s: %s\n", bin, om_error_msg());
        return -1;
    }
    if (res.timed_out)
        fprintf(stderr, "harness: %s timed out after 600 s and was killed\n", bin);
    if (out)
        *out = xstrdup(res.out ? res.out : "");
    if (err)
        *err = xstrdup(res.err ? res.err : "");
    int code = res.timed_out ? -1 : res.exit_code;
    om_proc_result_release(&res);
    return code;
}
