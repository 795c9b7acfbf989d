/*
 * test_youtube.c: publishing to YouTube through the real binary against the local Google
 * double (youtube_double.py, which speaks OAuth 2.0 and the resumable upload protocol with
 * fault knobs). What a user would see:
 *   - `account add` runs the PKCE flow through a loopback redirect (the test is the
 *     browser), the account is listed without its tokens, `account check` refreshes;
 *   - a brand naming youtube needs a linked account (the error names the target);
 *   - an upload survives 503/500 mid-chunk, a 308 with a short Range and a lost session;
 *   - kill -9 of the worker tree at 20 random byte offsets and in the instant between the
 *     server recording the last chunk and our commit: exactly one video, its bytes'
 *     SHA-256 equal to the render's, one yt_video_id;
 *   - quota exhausted: the job moves to the next quota window (midnight Los Angeles)
 *     without spending an attempt; a rejected video records the reason;
 *   - a revoked refresh token marks the account unusable with an incident before any post.
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

/* Exactly one video with the render's bytes, the job DONE with that yt_video_id. */
static void assert_published_once(const tf_clip *c)
{
    char vid[32] = "";
    assert_int_equal(tf_items_with(c->sha, vid, sizeof(vid)), 1);
    char *st = tf_uj_col(c, "status"), *yt = tf_uj_col(c, "yt_video_id");
    assert_non_null(st);
    assert_string_equal(st, "DONE");
    assert_non_null(yt);
    assert_string_equal(yt, vid);
    char *sql = xasprintf("SELECT count(*) FROM upload_jobs WHERE yt_video_id = '%s'", vid);
    assert_int_equal(omt_query_int(TF.db, sql), 1);
    free(sql);
    sql = xasprintf("SELECT status FROM clips WHERE clip_id = '%s'", c->clip);
    char *cs = omt_query(TF.db, sql);
    assert_string_equal(cs, "PUBLISHED");
    free(cs);
    free(sql);
    free(st);
    free(yt);
}

static int setup(void **state)
{
    (void)state;
    tf_setup("youtube", "youtube_double.py", "videos", "sessions");
    tf_conf("youtube.client_id", "test-client.apps.googleusercontent.com");
    tf_conf("youtube.client_secret", "test-secret");
    tf_conf("youtube.auth_url", "http://127.0.0.1:%d/o/oauth2/v2/auth", TF.dbl_port);
    tf_conf("youtube.token_url", "http://127.0.0.1:%d/token", TF.dbl_port);
    tf_conf("youtube.api_url", "http://127.0.0.1:%d", TF.dbl_port);
    tf_conf("youtube.upload_url", "http://127.0.0.1:%d/upload", TF.dbl_port);
    tf_conf("youtube.chunk_bytes", "262144");
    tf_conf("youtube.backoff_ms", "20");
    tf_conf("youtube.verify_poll_ms", "20");
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
    free(tf_link_account(project, NULL));
}

/* ---- the cases ---- */

static void test_account_and_targets(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    char *bf = xasprintf("%s/brand.json", TF.tmp);
    const char *brand = "{\"targets\": [\"youtube\", \"export\"]}";
    assert_int_equal(om_write_file_atomic(bf, brand, strlen(brand)), OM_OK);
    /* naming youtube without a linked account: refused, naming the target */
    assert_int_equal(omt_run(&out, &err, TF.home, "--log-format", "none", "project", "create",
                             "other", "--brand", bf, NULL),
                     1);
    assert_true(omt_has(err, "target 'youtube' has no linked youtube account"));
    free(out), free(err);
    assert_int_equal(omt_run(&out, &err, TF.home, "--log-format", "none", "project", "update",
                             "acme", "--brand", bf, NULL),
                     1);
    assert_true(omt_has(err, "'youtube'"));
    assert_true(omt_has(err, "omniva account add youtube acme"));
    free(out), free(err);

    link_account("acme");
    assert_int_equal(omt_run(&out, NULL, TF.home, "account", "list", "--json", NULL), 0);
    json_t *list = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(list), 1);
    json_t *a = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(a, "state")), "active");
    assert_string_equal(json_string_value(json_object_get(a, "external_id")),
                        "UCdoubleTestChannel000001");
    assert_non_null(json_string_value(json_object_get(a, "last_refresh_at")));
    assert_null(json_object_get(a, "refresh_token"));
    assert_null(json_object_get(a, "access_token"));
    json_decref(list);
    free(out);
    /* with the account, the brand may name youtube */
    assert_int_equal(omt_run(&out, &err, TF.home, "--log-format", "none", "project", "update",
                             "acme", "--brand", bf, NULL),
                     0);
    free(out), free(err);
    /* the health check refreshes the token (one refresh grant at the double) */
    json_t *st = tf_state();
    json_int_t before =
        json_integer_value(json_object_get(json_object_get(st, "token_grants"), "refresh_token"));
    json_decref(st);
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "account", "check", NULL),
                     0);
    assert_true(omt_has(out, "ok"));
    free(out);
    st = tf_state();
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(st, "token_grants"), "refresh_token")),
        before + 1);
    json_decref(st);
    free(bf);
}

static void test_upload_with_faults(void **state)
{
    (void)state;
    tf_clip c;
    tf_make_clip(&c, 5 * 262144 + 1234);
    /* the first chunk dies with 503 after 100000 bytes, the next with 500, then a 308 keeps
     * only 1000 bytes of a chunk: every resume starts from the server's offset */
    tf_control("{\"faults\": [{\"kind\": \"chunk_error\", \"status\": 503, \"after_bytes\": 100000},"
            " {\"kind\": \"chunk_error\", \"status\": 500, \"after_bytes\": 0},"
            " {\"kind\": \"short_range\", \"keep\": 1000}], \"processing_polls\": 3}");
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&c);
    assert_int_equal(tf_state_int(&c, "sessions"), 1);
    /* the video carries the metadata within YouTube's rules */
    json_t *st = tf_state();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, "videos"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "sha256")), c.sha))
            continue;
        json_t *sn = json_object_get(v, "snippet");
        assert_false(omt_has(json_string_value(json_object_get(sn, "title")), "<"));
        assert_int_equal(json_array_size(json_object_get(sn, "tags")), 2);
        assert_string_equal(json_string_value(json_object_get(sn, "categoryId")), "22");
        assert_string_equal(json_string_value(json_object_get(json_object_get(v, "status"),
                                                              "uploadStatus")),
                            "processed");
    }
    json_decref(st);

    /* a session lost before its last byte: a new one, still one video */
    tf_clip d;
    tf_make_clip(&d, 3 * 262144);
    tf_control("{\"faults\": [{\"kind\": \"session_404\"}]}");
    assert_int_equal(tf_worker_once(), 0);
    assert_published_once(&d);
    assert_int_equal(tf_state_int(&d, "sessions"), 2);
}

static void test_kill9_everywhere(void **state)
{
    (void)state;
    tf_clip c;
    tf_make_clip(&c, 24 * 262144 + 777);
    /* slow bytes (3 MiB/s) so the kills land inside chunks */
    tf_control("{\"clear_faults\": true, \"faults\": [{\"kind\": \"slow\", \"bytes_per_s\": 3145728,"
            " \"count\": -1}], \"processing_polls\": 1}");
    int64_t offs[20];
    for (int i = 0; i < 20; i++) {
        uint32_t r;
        om_random_bytes(&r, sizeof(r));
        offs[i] = 1 + (int64_t)(r % (uint32_t)(c.size - 1));
    }
    for (int i = 0; i < 20; i++) /* ascending: each run resumes where the last one died */
        for (int j = i + 1; j < 20; j++)
            if (offs[j] < offs[i]) {
                int64_t t = offs[i];
                offs[i] = offs[j], offs[j] = t;
            }
    char *log = xasprintf("%s/worker-kill.log", TF.tmp);
    int kills = 0;
    for (int i = 0; i < 20; i++) {
        if (tf_received_of(c.size) >= offs[i])
            continue; /* an earlier run already passed this offset */
        pid_t w = omt_spawn(TF.home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
        int64_t end = om_mono_ms() + 60000;
        while (tf_received_of(c.size) < offs[i] && om_mono_ms() < end) {
            tf_revive_dead_uploads();
            usleep(2000);
        }
        tf_kill_tree(w);
        waitpid(w, NULL, 0);
        kills++;
        assert_true(tf_items_with(c.sha, NULL, 0) == 0);
    }
    assert_true(kills >= 10);
    /* the instant between the last chunk and our commit: the server records the video,
     * delays its answer, and the worker dies waiting for it */
    tf_control("{\"clear_faults\": true, \"faults\": [{\"kind\": \"final_delay\", \"seconds\": 30}]}");
    pid_t w = omt_spawn(TF.home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
    int64_t end = om_mono_ms() + 60000;
    while (tf_items_with(c.sha, NULL, 0) == 0 && om_mono_ms() < end) {
        tf_revive_dead_uploads();
        usleep(5000);
    }
    assert_int_equal(tf_items_with(c.sha, NULL, 0), 1);
    tf_kill_tree(w);
    waitpid(w, NULL, 0);
    char *st = tf_uj_col(&c, "status");
    assert_string_not_equal(st, "DONE");
    free(st);
    tf_control("{\"clear_faults\": true}");
    /* the restart reclaims the dead worker's lease (which may bury the job: revived) */
    for (int k = 0; k < 3; k++) {
        tf_revive_dead_uploads();
        assert_int_equal(tf_worker_once(), 0);
        char *done = tf_uj_col(&c, "status");
        int ok = done && !strcmp(done, "DONE");
        free(done);
        if (ok)
            break;
    }
    assert_published_once(&c);
    /* one session for the whole job: every restart resumed it */
    assert_int_equal(tf_state_int(&c, "sessions"), 1);
    print_message("kill -9 at %d offsets; bytes sent %lld for a %lld-byte file\n", kills,
                  (long long)tf_state_int(&c, "bytes_sent"), (long long)c.size);
    free(log);
}

static void test_quota_and_rejection(void **state)
{
    (void)state;
    tf_clip c;
    tf_make_clip(&c, 262144);
    tf_control("{\"quota_units\": 100}");
    assert_int_equal(tf_worker_once(), 0);
    char *st = tf_uj_col(&c, "status");
    assert_string_equal(st, "SCHEDULED");
    free(st);
    char *reason = tf_uj_col(&c, "json_extract(target_state, '$.quota.reason')");
    assert_string_equal(reason, "quotaExceeded");
    free(reason);
    /* a new delayed job to the quota window's reopening, with no attempt spent */
    char *sql = xasprintf("SELECT count(*) FROM jobs WHERE type = 'upload' AND state = 'ready' "
                          "AND attempt = 0 AND unique_key LIKE '%s:quota:%%' AND not_before > "
                          "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '+1 minutes')",
                          c.uj);
    assert_int_equal(omt_query_int(TF.db, sql), 1);
    free(sql);
    assert_int_equal(tf_items_with(c.sha, NULL, 0), 0);

    /* Google said the day's quota is gone, so our count says so too until the reset: a
     * new quota day (the row of this one dropped) lets the next post through */
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM publish_usage WHERE units >= 10000"),
                     1);
    assert_int_equal(omt_exec(TF.db, "DELETE FROM publish_usage"), 0);

    /* processing rejected: the reason recorded, no yt_video_id */
    tf_clip d;
    tf_make_clip(&d, 262144 + 10);
    tf_control("{\"quota_units\": 100000, \"reject\": \"duplicate\"}");
    assert_int_equal(tf_worker_once(), 0);
    char *why = tf_uj_col(&d, "json_extract(target_state, '$.rejection.reason')");
    assert_string_equal(why, "duplicate");
    free(why);
    char *yt = tf_uj_col(&d, "yt_video_id");
    assert_null(yt);
    tf_control("{\"reject\": null}");

    /* our own count: 9000 of 10000 units used today, an upload costs 1600: the post moves
     * to the next Pacific midnight before Google is asked (no session), no attempt spent,
     * and the move is in the schedule's horizon_adjustments and in the ledger */
    assert_int_equal(omt_exec(TF.db, "UPDATE publish_usage SET units = 9000"), 0);
    tf_clip e;
    tf_make_clip(&e, 262144 + 20);
    sql = xasprintf("INSERT INTO schedules (schedule_id, clip_id, recommended_time, "
                    "final_scheduled_time, horizon_adjustments, status) VALUES "
                    "('%s', '%s', '2026-01-01T18:00:00.000000Z', '2026-01-01T18:00:00.000000Z', "
                    "'[]', 'SCHEDULED')",
                    e.uj, e.clip); /* any UUID will do for the schedule's id */
    assert_int_equal(omt_exec(TF.db, sql), 0);
    free(sql);
    json_t *ds = tf_state();
    size_t sessions = json_array_size(json_object_get(ds, "sessions"));
    json_decref(ds);
    assert_int_equal(tf_worker_once(), 0);
    reason = tf_uj_col(&e, "json_extract(target_state, '$.quota.reason')");
    assert_string_equal(reason, "quotaPlanned");
    free(reason);
    ds = tf_state();
    assert_int_equal(json_array_size(json_object_get(ds, "sessions")), sessions);
    json_decref(ds);
    sql = xasprintf("SELECT count(*) FROM jobs WHERE type = 'upload' AND state = 'ready' AND "
                    "attempt = 0 AND unique_key LIKE '%s:quota:%%'",
                    e.uj);
    assert_int_equal(omt_query_int(TF.db, sql), 1);
    free(sql);
    sql = xasprintf("SELECT json_extract(horizon_adjustments, '$[0].kind') || ' ' || "
                    "json_extract(horizon_adjustments, '$[0].reason') FROM schedules WHERE "
                    "clip_id = '%s'",
                    e.clip);
    char *adj = omt_query(TF.db, sql);
    assert_string_equal(adj, "quota_reschedule quotaPlanned");
    free(adj);
    free(sql);
    sql = xasprintf("SELECT count(*) FROM stardust_metadata WHERE entity_id = '%s' AND "
                    "json_extract(decision_chain, '$.horizon_adjustment.reason') = "
                    "'quotaPlanned' AND json_extract(decision_chain, '$.attempt_counted') = 0",
                    e.uj);
    assert_int_equal(omt_query_int(TF.db, sql), 1);
    free(sql);
    /* the schedule moved to the window's reopening */
    sql = xasprintf("SELECT final_scheduled_time > strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') "
                    "FROM schedules WHERE clip_id = '%s'",
                    e.clip);
    assert_int_equal(omt_query_int(TF.db, sql), 1);
    free(sql);
    assert_int_equal(omt_exec(TF.db, "DELETE FROM publish_usage"), 0);
}

static void test_revoked_token(void **state)
{
    (void)state;
    tf_clip c;
    tf_make_clip(&c, 262144);
    /* revoked at Google, and the stored access token expired: the next post refreshes */
    tf_control("{\"revoke\": true, \"expire_access\": true}");
    assert_int_equal(omt_exec(TF.db, "UPDATE publishing_accounts SET access_expires_at = NULL"), 0);
    json_t *st = tf_state();
    size_t sessions = json_array_size(json_object_get(st, "sessions"));
    json_decref(st);
    assert_int_equal(tf_worker_once(), 0);
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM incidents WHERE kind = "
                                       "'account_unusable' AND resolved_at IS NULL"),
                     1);
    char *as = omt_query(TF.db, "SELECT state FROM publishing_accounts");
    assert_string_equal(as, "unusable");
    free(as);
    /* nothing was posted: no session was even opened */
    st = tf_state();
    assert_int_equal(json_array_size(json_object_get(st, "sessions")), sessions);
    json_decref(st);
    char *ujs = tf_uj_col(&c, "status");
    assert_string_not_equal(ujs, "DONE");
    free(ujs);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "account", "check", NULL),
                     1);
    assert_true(omt_has(out, "unusable"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, TF.home, "account", "list", NULL), 0);
    assert_true(omt_has(out, "unusable"));
    assert_true(omt_has(out, "invalid_grant"));
    free(out);
    /* one incident, however often it is noticed */
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM incidents"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_and_targets),
        cmocka_unit_test(test_upload_with_faults),
        cmocka_unit_test(test_kill9_everywhere),
        cmocka_unit_test(test_quota_and_rejection),
        cmocka_unit_test(test_revoked_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
