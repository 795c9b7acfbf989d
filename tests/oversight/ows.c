/* ows.c: the oversight suites' shared workspace (ows.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "ows.h"

static int g_on_pg;
static harness_pg g_pg;
static harness_redis g_redis;
static int g_db_seq;

int ows_start(int pg)
{
    g_on_pg = pg;
    if (pg && (harness_pg_start(&g_pg) != 0 || harness_redis_start(&g_redis) != 0))
        return -1;
    return 0;
}

void ows_stop(void)
{
    if (g_on_pg) {
        harness_pg_stop(&g_pg);
        harness_redis_stop(&g_redis);
    }
}

static void redis_flush(void)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "FLUSHALL");
    freeReplyObject(r);
    redisFree(c);
}

char *ows_workspace(const char *tag, const char *const *settings)
{
    char *home;
    if (g_on_pg) {
        om_store *admin = NULL;
        OK(om_store_open(&admin, g_pg.url));
        char *sql = xasprintf("CREATE DATABASE ows_%d_%d", (int)getpid(), ++g_db_seq);
        OK(om_store_exec(admin, sql, NULL, 0, NULL));
        free(sql);
        om_store_free(admin);
        char url[300];
        snprintf(url, sizeof(url), "postgres://omniva@127.0.0.1:%d/ows_%d_%d", g_pg.port,
                 (int)getpid(), g_db_seq);
        redis_flush();
        home = omt_workspace(tag, "--db", url, "--queue", g_redis.url, NULL);
    } else {
        home = omt_workspace(tag, NULL);
    }
    omt_conf_append(home, "worker", "idle_ms", "50");
    for (size_t i = 0; settings && settings[i]; i += 3)
        omt_conf_append(home, settings[i], settings[i + 1], settings[i + 2]);
    return home;
}

void ows_connect(const char *home, om_config **cfg, om_store **s, om_queue **q)
{
    OK(om_config_load(cfg, home));
    OK(om_store_open(s, om_config_store_url(*cfg)));
    OK(om_queue_open(q, om_config_queue_url(*cfg), *s));
}

void ows_release(char *home, om_config *cfg, om_store *s, om_queue *q)
{
    om_queue_free(q);
    om_store_free(s);
    om_config_free(cfg);
    om_rmtree(home);
    free(home);
}
