/*
 * test_tiktok.c: publishing to TikTok through the real binary against the local TikTok
 * double (tiktok_double.py: Login Kit OAuth with client_key + PKCE, the Content Posting API
 * Direct Post with its chunk rules, 6 requests/min per token, the unaudited-client rule).
 * What a user would see:
 *   - `account add tiktok` through the loopback flow, warning that an unaudited app posts
 *     SELF_ONLY;
 *   - a 12 MB clip posted in TikTok's chunks (5 MB + the 7 MB remainder), SELF_ONLY with a
 *     warning on the post;
 *   - kill -9 of the worker mid-upload, restarted: exactly one post, its bytes' SHA-256 the
 *     render's;
 *   - the 6/min limit: our limiter waits instead of being refused (TikTok's own
 *     rate_limit_exceeded answer is not tested yet).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "tfix.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exactly one post with the render's bytes, the job DONE with that post id. */
static void assert_published_once(const tf_clip *c)
{
    char pid[48] = "";
    assert_int_equal(tf_items_with(c->sha, pid, sizeof(pid)), 1);
    char *st = tf_uj_col(c, "status"), *id = tf_uj_col(c, "json_extract(target_state, '$.post_id')");
    assert_non_null(st);
    assert_string_equal(st, "DONE");
    assert_non_null(id);
    assert_string_equal(id, pid);
    free(st);
    free(id);
}

static int setup(void **state)
{
    (void)state;
    tf_setup("tiktok", "tiktok_double.py", "posts", "publishes");
    tf_conf("tiktok.client_key", "test-client-key");
    tf_conf("tiktok.client_secret", "test-secret");
    tf_conf("tiktok.auth_url", "http://127.0.0.1:%d/v2/auth/authorize/", TF.dbl_port);
    tf_conf("tiktok.token_url", "http://127.0.0.1:%d/v2/oauth/token/", TF.dbl_port);
    tf_conf("tiktok.api_url", "http://127.0.0.1:%d", TF.dbl_port);
    tf_conf("tiktok.chunk_bytes", "5242880");
    tf_conf("tiktok.status_poll_ms", "20");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tf_teardown();
    return 0;
}

static void link_account(const char *project)
{
    char *url = NULL;
    char *text = tf_link_account(project, &url);
    assert_true(omt_has(url, "client_key=test-client-key"));
    assert_true(omt_has(text, "@double.creator"));
    /* an unaudited app: the warning comes at account-add time */
    assert_true(omt_has(text, "warning: tiktok.audited is false"));
    assert_true(omt_has(text, "SELF_ONLY"));
    free(text);
    free(url);
}

static void test_account_and_post(void **state)
{
    (void)state;
    link_account("acme");
    char *ext = omt_query(TF.db, "SELECT external_id FROM publishing_accounts WHERE platform = "
                              "'tiktok'");
    assert_string_equal(ext, "double.creator");
    free(ext);
    tf_clip c;
    tf_make_clip(&c, 12 * 1024 * 1024 + 4321);
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&c);
    /* TikTok's chunking: floor(size / 5 MB) = 2 chunks, the last one taking the rest */
    assert_int_equal(tf_state_int(&c, "chunks"), 2);
    assert_int_equal(tf_state_int(&c, "chunk_size"), 5242880);
    char *lvl = tf_uj_col(&c, "json_extract(target_state, '$.privacy_level')");
    assert_string_equal(lvl, "SELF_ONLY");
    free(lvl);
    char *w = tf_uj_col(&c, "json_extract(target_state, '$.warning')");
    assert_non_null(w);
    assert_true(omt_has(w, "SELF_ONLY"));
    free(w);
    /* the warning is in the job's log, on every such post */
    assert_true(omt_query_int(TF.db, "SELECT count(*) FROM logs WHERE level = 'WARN' AND message "
                                  "LIKE '%unaudited app post only SELF_ONLY%'") >= 1);
    json_t *st = tf_state();
    json_t *p = json_array_get(json_object_get(st, "posts"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "privacy_level")), "SELF_ONLY");
    assert_int_equal(json_integer_value(json_object_get(st, "rate_limited")), 0);
    json_decref(st);

    /* a small clip (< 5 MB) goes whole */
    tf_clip d;
    tf_make_clip(&d, 300000);
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&d);
    assert_int_equal(tf_state_int(&d, "chunks"), 1);
    assert_int_equal(tf_state_int(&d, "chunk_size"), 300000);
}

static void test_kill9_mid_upload(void **state)
{
    (void)state;
    tf_clip c;
    tf_make_clip(&c, 16 * 1024 * 1024 + 99);
    /* 4 MB/s: the second chunk is on the wire for more than a second */
    tf_control("{\"slow\": 4194304}");
    char *log = xasprintf("%s/worker-kill.log", TF.tmp);
    pid_t w = omt_spawn(TF.home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
    int64_t end = om_mono_ms() + 60000;
    while (tf_received_of(c.size) < 5242880 && om_mono_ms() < end)
        usleep(5000);
    assert_true(tf_received_of(c.size) >= 5242880);
    usleep(500000); /* inside the second chunk */
    tf_kill_tree(w);
    waitpid(w, NULL, 0);
    assert_int_equal(tf_items_with(c.sha, NULL, 0), 0);
    int64_t had = tf_received_of(c.size);
    assert_true(had < c.size);
    tf_control("{\"slow\": 0}");
    /* the restart reclaims the dead worker's lease, asks status/fetch and goes on */
    assert_int_equal(tf_worker_once(), 0);
    char *st = tf_uj_col(&c, "status");
    if (st && strcmp(st, "DONE")) /* the reclaim used the run: once more */
        assert_int_equal(tf_worker_once(), 0);
    free(st);
    assert_published_once(&c);
    assert_int_equal(tf_state_int(&c, "inits"), 1); /* one publish, resumed */
    free(log);
}

static void test_rate_limits(void **state)
{
    (void)state;
    /* our limiter: 6 requests of this token in the last minute already (55 s ago): the
     * next post waits ~5 s instead of being refused */
    char *aid = omt_query(TF.db, "SELECT account_id FROM publishing_accounts");
    for (int i = 0; i < 6; i++) {
        char *sql = xasprintf("INSERT INTO rate_events (account_id, endpoint, at) VALUES "
                              "('%s', 'post_publish', strftime('%%Y-%%m-%%dT%%H:%%M:%%f', "
                              "'now', '-55 seconds') || '000Z')",
                              aid);
        /* strftime's %f has 3 decimals: 3 more digits make our canonical 6 */
        assert_int_equal(omt_exec(TF.db, sql), 0);
        free(sql);
    }
    tf_clip c;
    tf_make_clip(&c, 200000);
    int64_t t0 = om_mono_ms();
    assert_int_equal(tf_worker_once(), 0);
    int64_t took = om_mono_ms() - t0;
    assert_published_once(&c);
    assert_true(took >= 3000);
    json_t *st = tf_state();
    assert_int_equal(json_integer_value(json_object_get(st, "rate_limited")), 0);
    json_decref(st);

    free(aid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_and_post),
        cmocka_unit_test(test_kill9_mid_upload),
        cmocka_unit_test(test_rate_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
