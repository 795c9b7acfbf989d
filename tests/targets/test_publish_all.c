/*
 * test_publish_all.c: the demo's clips published to every target at once, exactly once
 * each, across crashes. A workspace with the demo's project and sources (src/stages/demo.c),
 * accounts linked on the local doubles of every platform target (the *_double.py scripts here),
 * the brand's targets then set to all of them plus the export folder; `omniva run --once
 * --now` runs the whole pipeline, and its whole process tree is killed with SIGKILL three
 * times while the uploads are under way (when a double has received bytes), then restarted
 * until it finishes. Then what an operator would check:
 *   - every rendered clip has one upload job per target, each DONE;
 *   - each double holds exactly one item per clip, its bytes' SHA-256 the render's;
 *   - the export folder has exactly one file per clip;
 *   - the ledger verifies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "stages/demo.h"
#include "tfix.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* The platform targets beside the fixture's own YouTube double. */
typedef struct other {
    const char *platform, *script, *items_key;
    pid_t pid;
    int port;
} other;

static other others[] = {
    {"tiktok", "tiktok_double.py", "posts", 0, 0},
    {"instagram", "instagram_double.py", "media", 0, 0},
};

static json_t *state_of(int port)
{
    char *url = xasprintf("http://127.0.0.1:%d/_state", port), *body = NULL;
    assert_int_equal(tf_http("GET", url, NULL, &body, 0), 200);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    free(url);
    free(body);
    return doc;
}

/* How many items of the double at `port` have bytes hashing to sha. */
static int items_with(int port, const char *key, const char *sha)
{
    json_t *st = state_of(port);
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, key), i, v)
        n += json_string_value(json_object_get(v, "sha256")) &&
             !strcmp(json_string_value(json_object_get(v, "sha256")), sha);
    json_decref(st);
    return n;
}

static int64_t bytes_in(int port)
{
    json_t *st = state_of(port);
    int64_t n = json_integer_value(json_object_get(st, "bytes_received"));
    json_decref(st);
    return n;
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
    for (size_t i = 0; i < OM_ARRAY_LEN(others); i++)
        others[i].pid = tf_double_start(others[i].script, &others[i].port);
    int tk = others[0].port;
    tf_conf("tiktok.client_key", "test-client-key");
    tf_conf("tiktok.client_secret", "test-secret");
    tf_conf("tiktok.auth_url", "http://127.0.0.1:%d/v2/auth/authorize/", tk);
    tf_conf("tiktok.token_url", "http://127.0.0.1:%d/v2/oauth/token/", tk);
    tf_conf("tiktok.api_url", "http://127.0.0.1:%d", tk);
    tf_conf("tiktok.chunk_bytes", "5242880");
    tf_conf("tiktok.status_poll_ms", "20");
    int ig = others[1].port;
    tf_conf("instagram.client_id", "test-ig-app");
    tf_conf("instagram.client_secret", "test-ig-secret");
    tf_conf("instagram.auth_url", "http://127.0.0.1:%d/oauth/authorize", ig);
    tf_conf("instagram.token_url", "http://127.0.0.1:%d/oauth/access_token", ig);
    tf_conf("instagram.graph_url", "http://127.0.0.1:%d/v21.0", ig);
    tf_conf("instagram.upload_url", "http://127.0.0.1:%d/ig-api-upload/v21.0", ig);
    tf_conf("instagram.status_poll_ms", "20");
    tf_conf("schedule.now", "true");
    tf_conf("governance.stats_interval_s", "0"); /* the test runs the stats job itself */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < OM_ARRAY_LEN(others); i++)
        if (others[i].pid > 0) {
            kill(others[i].pid, SIGKILL);
            waitpid(others[i].pid, NULL, 0);
        }
    tf_teardown();
    return 0;
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(om_write_file_atomic(path, text, strlen(text)), OM_OK);
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        n += e->d_name[0] != '.' && l > 4 && !strcmp(e->d_name + l - 4, ".mp4");
    }
    closedir(d);
    return n;
}

static void stats_job(void)
{
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "jobs", "enqueue",
                             "stats", "--payload", "{}", NULL),
                     0);
    free(out);
    assert_int_equal(tf_worker_once_types("stats"), 0);
}

/* The feedback loop's input: each platform's figures for our clips, read by the `stats`
 * job into clip_stats; a platform that is down costs its readings only. */
static void read_figures(int nclips)
{
    char *shas = omt_query(TF.db, "SELECT group_concat(checksum, ' ') FROM artifacts WHERE "
                                  "kind = 'render'");
    om_sbuf c = OM_SBUF_INIT;
    sb_printf(&c, "{\"figures\": {");
    int k = 0;
    for (char *sha = shas, *sp; sha && *sha; sha = sp ? sp + 1 : NULL, k++) {
        sp = strchr(sha, ' ');
        if (sp)
            *sp = '\0';
        sb_printf(&c, "%s\"%s\": {\"views\": %d, \"likes\": %d, \"comments\": 3, "
                      "\"shares\": 2, \"watch_time_ms\": 90000}",
                  k ? ", " : "", sha, 1000 * (k + 1), 50 * (k + 1));
    }
    sb_printf(&c, "}}");
    free(shas);
    tf_control(sb_str(&c));
    for (size_t i = 0; i < OM_ARRAY_LEN(others); i++) {
        char *url = xasprintf("http://127.0.0.1:%d/_control", others[i].port);
        assert_int_equal(tf_http("POST", url, sb_str(&c), NULL, 0), 200);
        free(url);
    }
    sb_release(&c);
    stats_job();
    int ntargets = 1 + (int)OM_ARRAY_LEN(others); /* the export folder has no figures */
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM clip_stats"), nclips * ntargets);
    assert_int_equal(omt_query_int(TF.db, "SELECT count(DISTINCT target) FROM clip_stats"),
                     ntargets);
    /* the figures are the platform's, for the right clip */
    char *bad = omt_query(TF.db, "SELECT group_concat(target || ':' || coalesce(views, 'null') || "
                                 "'/' || coalesce(likes, 'null'), ' ') FROM clip_stats WHERE "
                                 "views IS NULL OR views < 1000 OR views % 1000 <> 0 OR likes "
                                 "IS NULL OR likes * 20 <> views");
    if (bad)
        fail_msg("readings that are not the platform's figures: %s", bad);
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM clip_stats WHERE target = "
                                          "'instagram' AND abs(watch_time_s - 90) < 0.01 AND "
                                          "shares = 2"),
                     nclips);
    /* fresh readings are not taken again; with stats.min_age_s 0 a new reading is added,
     * and TikTok down costs only TikTok's */
    stats_job();
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM clip_stats"), nclips * ntargets);
    tf_conf("stats.min_age_s", "0");
    kill(others[0].pid, SIGKILL);
    waitpid(others[0].pid, NULL, 0);
    others[0].pid = 0;
    stats_job();
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM clip_stats"),
                     nclips * ntargets + nclips * (ntargets - 1));
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM logs WHERE source = "
                                          "'stats_worker' AND level = 'WARN' AND message LIKE "
                                          "'stats of clip % on tiktok: %'"),
                     nclips);
    assert_int_equal(omt_query_int(TF.db, "SELECT count(*) FROM jobs WHERE type = 'stats' AND "
                                          "state = 'done'"),
                     3);
}

static void test_every_target_once(void **state)
{
    (void)state;
    /* the demo's project (its brand, export only) and sources, followed as a local folder */
    char *brand = xasprintf("%s/brand.json", TF.tmp), *sources = xasprintf("%s/sources", TF.tmp);
    write_text(brand, om_demo_brand_json());
    assert_int_equal(om_demo_make_sources(sources), OM_OK);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "project", "create",
                             "demo-coffee", "--brand", brand, NULL),
                     0);
    free(out);
    /* every platform target linked, then named by the brand (not before: an unlinked
     * target is refused at project create/update) */
    free(tf_link("youtube", "demo-coffee", NULL));
    for (size_t i = 0; i < OM_ARRAY_LEN(others); i++)
        free(tf_link(others[i].platform, "demo-coffee", NULL));
    om_sbuf t = OM_SBUF_INIT;
    sb_printf(&t, "{\"targets\": [\"youtube\"");
    for (size_t i = 0; i < OM_ARRAY_LEN(others); i++)
        sb_printf(&t, ", \"%s\"", others[i].platform);
    sb_printf(&t, ", \"export\"]}");
    char *patch = xasprintf("%s/targets.json", TF.tmp);
    write_text(patch, sb_str(&t));
    sb_release(&t);
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "project", "update",
                             "demo-coffee", "--brand", patch, NULL),
                     0);
    free(out);
    char *url = xasprintf("file://%s", sources);
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "creator", "add",
                             "demo-coffee", url, NULL),
                     0);
    free(out);

    /* the pipeline, killed three times while uploads are under way */
    char *log = xasprintf("%s/run.log", TF.tmp);
    int kills = 0, done = 0;
    for (int round = 0; round < 12 && !done; round++) {
        int64_t before = bytes_in(TF.dbl_port);
        for (size_t i = 0; i < OM_ARRAY_LEN(others); i++)
            before += bytes_in(others[i].port);
        pid_t run = omt_spawn(TF.home, log, NULL,
                              (const char *[]){"run", "--once", "--no-dashboard", NULL});
        if (kills < 3) {
            /* wait for new bytes on any double, then a moment more, and kill */
            int64_t end = om_mono_ms() + 400000, now = -1;
            int exited = 0;
            while (om_mono_ms() < end && !exited) {
                now = bytes_in(TF.dbl_port);
                for (size_t i = 0; i < OM_ARRAY_LEN(others); i++)
                    now += bytes_in(others[i].port);
                if (now > before)
                    break;
                exited = waitpid(run, NULL, WNOHANG) == run;
                usleep(20000);
            }
            if (!exited) {
                usleep(30000 * (unsigned)(kills + 1));
                tf_kill_tree(run);
                waitpid(run, NULL, 0);
                kills++;
                tf_revive_dead_uploads();
                continue;
            }
            done = 1; /* it finished before a kill could land */
        } else {
            assert_int_equal(omt_wait(run, 600000), 0);
            tf_revive_dead_uploads();
        }
        char *left = omt_query(TF.db, "SELECT count(*) FROM upload_jobs WHERE status <> 'DONE'");
        char *all = omt_query(TF.db, "SELECT count(*) FROM upload_jobs");
        done = left && !strcmp(left, "0") && all && strcmp(all, "0");
        free(left);
        free(all);
    }
    free(log);
    assert_true(done);
    print_message("pipeline killed %d times during uploads\n", kills);
    assert_true(kills >= 1);

    /* every rendered clip: one job per target, DONE; one item per double; one export */
    char *rendered = omt_query(TF.db, "SELECT count(*) FROM artifacts WHERE kind = 'render'");
    int nclips = atoi(rendered);
    free(rendered);
    assert_true(nclips >= 3);
    int ntargets = 2 + (int)OM_ARRAY_LEN(others);
    char *jobs = omt_query(TF.db, "SELECT count(*) FROM upload_jobs WHERE status = 'DONE'");
    assert_int_equal(atoi(jobs), nclips * ntargets);
    free(jobs);
    char *shas = omt_query(TF.db, "SELECT group_concat(checksum, ' ') FROM artifacts WHERE "
                                  "kind = 'render'");
    assert_non_null(shas);
    int seen = 0;
    for (char *sha = shas, *sp; sha && *sha; sha = sp ? sp + 1 : NULL, seen++) {
        sp = strchr(sha, ' ');
        if (sp)
            *sp = '\0';
        assert_int_equal(items_with(TF.dbl_port, "videos", sha), 1);
        for (size_t k = 0; k < OM_ARRAY_LEN(others); k++)
            assert_int_equal(items_with(others[k].port, others[k].items_key, sha), 1);
    }
    assert_int_equal(seen, nclips);
    free(shas);
    char *exports = xasprintf("%s/exports/demo-coffee", TF.home);
    assert_int_equal(files_in(exports), nclips);
    free(exports);
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "ledger", "verify",
                             NULL),
                     0);
    free(out);
    read_figures(nclips);
    free(url);
    free(patch);
    free(brand);
    free(sources);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_target_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
