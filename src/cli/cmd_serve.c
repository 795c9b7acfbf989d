/*
 * cmd_serve.c: `omniva serve [--listen ADDR:PORT]`: the HTTP API, /metrics and the
 * dashboard's files (src/http) until SIGTERM/SIGINT, then a clean stop (open streams end,
 * the pool is joined). Stateless: every request thread has its own store connection, so
 * several `serve` processes may run against one PostgreSQL + Redis.
 */
#include "base/common.h"

#include <pthread.h>
#include <signal.h>

#include "cli/cli.h"
#include "http/http.h"

#include "http/auth.h"

int cmd_serve(cli_ctx *c, cli_args *a)
{
    const om_config *cfg = c->ws.cfg;
    const char *listen = cli_get(a, "listen");
    if (!listen)
        listen = om_config_str(cfg, "http.listen");
    char host[64];
    int port;
    if (om_http_parse_listen(listen, host, &port))
        return cli_error_om("--listen");
    if (!om_http_host_loopback(host)) {
        long n = 0;
        if (om_auth_users_count(c->ws.store, &n))
            return cli_error_om("counting users");
        if (n == 0)
            return cli_error("refusing to listen on %s with no user accounts: create one with "
                             "'omniva user add' (or serve on 127.0.0.1 and POST /api/v1/setup)",
                             listen);
    }
    om_http_opts o = {listen,
                      om_config_long(cfg, "http.threads"),
                      om_config_long(cfg, "http.max_connections"),
                      om_config_long(cfg, "http.timeout_s"),
                      om_config_long(cfg, "http.max_body_bytes"),
                      om_store_url(c->ws.store),
                      om_config_queue_url(cfg),
                      cfg};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the pool starts: threads inherit it */
    om_http_server *srv = NULL;
    if (om_http_start(&srv, &o))
        return cli_error_om("serve");
    char shown[96];
    snprintf(shown, sizeof(shown), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
             om_http_port(srv));
    printf("omniva serve: listening on http://%s/ (API /api/v1, metrics /metrics)\n", shown);
    fflush(stdout);
    om_info("http", "listening on http://%s/", shown);
    int sig = 0;
    sigwait(&set, &sig);
    om_info("http", "signal %d: stopping", sig);
    om_http_stop(srv);
    printf("omniva serve: stopped\n");
    return CLI_OK;
}
