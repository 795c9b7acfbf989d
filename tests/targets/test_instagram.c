/*
 * test_instagram.c: publishing Reels through the real binary against the local Instagram
 * double (instagram_double.py: Instagram Login with PKCE and the long-lived token exchange,
 * the Graph API's resumable Reels container, rupload with offset/file_size, status polling,
 * media_publish, content_publishing_limit). What a user would see:
 *   - `account add instagram` through the loopback flow names the Instagram user;
 *   - a clip posted once: the container made first, the bytes uploaded, FINISHED, published,
 *     the media id and permalink recorded;
 *   - a 500 after half the bytes is retried, and kill -9 of the worker mid-upload is resumed
 *     on the same container: exactly one media, its bytes' SHA-256 the render's;
 *   - the 24-hour publishing limit reached: the job moves on without spending an attempt
 *     and nothing is sent; a container that ends in ERROR fails the job with Meta's text;
 *   - a revoked token marks the account unusable with an incident before any post.
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

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exactly one media with the render's bytes, the job DONE with that media id. */
static void assert_published_once(const tf_clip *c)
{
    char mid[48] = "";
    assert_int_equal(tf_items_with(c->sha, mid, sizeof(mid)), 1);
    char *st = tf_uj_col(c, "status"), *id = tf_uj_col(c, "json_extract(target_state, '$.media_id')");
    assert_non_null(st);
    assert_string_equal(st, "DONE");
    assert_non_null(id);
    assert_string_equal(id, mid);
    free(st);
    free(id);
}

static int setup(void **state)
{
    (void)state;
    tf_setup("instagram", "instagram_double.py", "media", "containers");
    tf_conf("instagram.client_id", "test-ig-app");
    tf_conf("instagram.client_secret", "test-ig-secret");
    tf_conf("instagram.auth_url", "http://127.0.0.1:%d/oauth/authorize", TF.dbl_port);
    tf_conf("instagram.token_url", "http://127.0.0.1:%d/oauth/access_token", TF.dbl_port);
    tf_conf("instagram.graph_url", "http://127.0.0.1:%d/v21.0", TF.dbl_port);
    tf_conf("instagram.upload_url", "http://127.0.0.1:%d/ig-api-upload/v21.0", TF.dbl_port);
    tf_conf("instagram.status_poll_ms", "20");
    tf_conf("instagram.limit_retry_s", "600");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tf_teardown();
    return 0;
}

static void test_account_and_post(void **state)
{
    (void)state;
    char *text = tf_link_account("acme", NULL);
    assert_true(omt_has(text, "double.reels") || omt_has(text, "17841400000000001"));
    free(text);
    char *ext = omt_query(TF.db, "SELECT external_id FROM publishing_accounts WHERE platform = "
                                 "'instagram'");
    assert_string_equal(ext, "17841400000000001");
    free(ext);

    tf_clip c;
    tf_make_clip(&c, 3 * 1024 * 1024 + 17);
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&c);
    char *link = tf_uj_col(&c, "json_extract(target_state, '$.permalink')");
    assert_non_null(link);
    assert_true(omt_has(link, "https://www.instagram.com/reel/"));
    free(link);
    /* the caption is the title and description, as posted */
    json_t *st = tf_state();
    const char *cap = json_string_value(
        json_object_get(json_array_get(json_object_get(st, "media"), 0), "caption"));
    assert_non_null(cap);
    assert_true(omt_has(cap, "A description"));
    json_decref(st);
    /* a second run of the same job posts nothing again */
    char *out = NULL;
    char *payload = xasprintf("{\"clip_id\":\"%s\",\"upload_job_id\":\"%s\",\"project_id\":\"%s\"}",
                              c.clip, c.uj, TF.project_id);
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "jobs", "enqueue",
                             "upload", "--payload", payload, NULL),
                     0);
    free(out);
    free(payload);
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&c);
}

static void test_faults_and_kill9(void **state)
{
    (void)state;
    /* a 500 after half of the bytes: retried on the same container */
    tf_clip c;
    tf_make_clip(&c, 2 * 1024 * 1024);
    tf_control("{\"upload_error\": 500}");
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&c);
    assert_int_equal(tf_state_int(&c, "containers"), 1);

    /* kill -9 in the middle of the upload, then a restart */
    tf_clip d;
    tf_make_clip(&d, 6 * 1024 * 1024 + 5);
    tf_control("{\"slow\": 3000000}");
    char *log = xasprintf("%s/worker-kill.log", TF.tmp);
    pid_t w = omt_spawn(TF.home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
    int64_t end = om_mono_ms() + 60000;
    while (tf_received_of(d.size) < d.size / 2 && om_mono_ms() < end)
        usleep(5000);
    assert_true(tf_received_of(d.size) >= d.size / 2);
    tf_kill_tree(w);
    waitpid(w, NULL, 0);
    free(log);
    assert_int_equal(tf_items_with(d.sha, NULL, 0), 0);
    tf_control("{\"slow\": 0}");
    for (int k = 0; k < 4; k++) {
        tf_revive_dead_uploads();
        assert_int_equal(tf_worker_once(), 0);
        char *s = tf_uj_col(&d, "status");
        int ok = s && !strcmp(s, "DONE");
        free(s);
        if (ok)
            break;
        usleep(900000); /* the dead worker's lease runs out */
    }
    assert_published_once(&d);
    assert_int_equal(tf_state_int(&d, "containers"), 1); /* the same container resumed */
}

static void test_limit_and_error(void **state)
{
    (void)state;
    /* the 24-hour publishing limit reached: nothing sent, no attempt spent */
    tf_control("{\"quota_usage\": 50}");
    json_t *st = tf_state();
    size_t containers = json_array_size(json_object_get(st, "containers"));
    json_decref(st);
    tf_clip c;
    tf_make_clip(&c, 300000);
    assert_int_equal(tf_worker_once(), 0);
    char *s = tf_uj_col(&c, "status");
    assert_string_not_equal(s, "DONE");
    free(s);
    char *reason = tf_uj_col(&c, "json_extract(target_state, '$.quota.reason')");
    assert_string_equal(reason, "content_publishing_limit");
    free(reason);
    char *sql = xasprintf("SELECT count(*) FROM jobs WHERE type = 'upload' AND state = 'ready' "
                          "AND attempt = 0 AND unique_key LIKE '%s:quota:%%' AND not_before > "
                          "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '+1 minutes')",
                          c.uj);
    assert_int_equal(omt_query_int(TF.db, sql), 1);
    free(sql);
    st = tf_state();
    assert_int_equal(json_array_size(json_object_get(st, "containers")), containers);
    json_decref(st);
    assert_int_equal(tf_items_with(c.sha, NULL, 0), 0);

    /* processing fails on Meta's side: the job fails with the status text */
    tf_control("{\"clear_faults\": true, \"status_error\": \"The video's aspect ratio is not "
               "supported (2207026)\"}");
    tf_clip d;
    tf_make_clip(&d, 300000 + 3);
    assert_int_equal(tf_worker_once(), 0);
    char *why = tf_uj_col(&d, "json_extract(target_state, '$.rejection.status')");
    assert_non_null(why);
    assert_true(omt_has(why, "aspect ratio"));
    free(why);
    char *err = omt_query(TF.db, "SELECT errors FROM jobs WHERE type = 'upload' ORDER BY "
                                 "updated_at DESC LIMIT 1");
    assert_non_null(err);
    assert_true(omt_has(err, "aspect ratio"));
    free(err);
    assert_int_equal(tf_items_with(d.sha, NULL, 0), 0);
}

static void test_revoked_token(void **state)
{
    (void)state;
    tf_clip c;
    tf_make_clip(&c, 262144);
    /* revoked at Meta, and the stored token due: the next post refreshes and learns it */
    tf_control("{\"clear_faults\": true, \"revoke\": true}");
    assert_int_equal(omt_exec(TF.db, "UPDATE publishing_accounts SET access_expires_at = NULL"), 0);
    json_t *st = tf_state();
    size_t containers = json_array_size(json_object_get(st, "containers"));
    json_decref(st);
    assert_int_equal(tf_worker_once(), 0);
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM incidents WHERE kind = "
                                          "'account_unusable' AND resolved_at IS NULL"),
                     1);
    char *as = omt_query(TF.db, "SELECT state FROM publishing_accounts");
    assert_string_equal(as, "unusable");
    free(as);
    st = tf_state(); /* nothing was sent: no container was even made */
    assert_int_equal(json_array_size(json_object_get(st, "containers")), containers);
    json_decref(st);
    char *ujs = tf_uj_col(&c, "status");
    assert_string_not_equal(ujs, "DONE");
    free(ujs);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "account", "check", NULL),
                     1);
    assert_true(omt_has(out, "unusable"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_and_post),
        cmocka_unit_test(test_faults_and_kill9),
        cmocka_unit_test(test_limit_and_error),
        cmocka_unit_test(test_revoked_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
