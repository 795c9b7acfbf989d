/*
 * test_cluster.c: two "nodes" (two workspaces, each its own media and cache folders) on one
 * PostgreSQL + Redis + S3 bucket ([media] store = s3://cluster/omniva). Node A runs scrape
 * and fetch only (`worker --types scrape,fetch --once`), then its whole workspace (sources,
 * media, cache) is deleted; node B, which never saw A's disk, runs analyze, select, edit,
 * schedule and upload from the bucket through its own cache. Checked: every video and
 * render row is an s3:// URI whose object is in the bucket with the recorded SHA-256,
 * B's media folder holds no source or render, B's cache filled from the bucket, and clips
 * were published (exported) by B; Paradox's file check hashes the bucket's objects (clean,
 * then a mismatch once an object is overwritten).
 */
#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "media/mstore.h"
#include "omtest.h"
#include "stages/demo.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_pg PG;
static harness_redis RD;
static harness_s3 S3;

static void conf_node(const char *home)
{
    omt_conf_append(home, "media", "store", "s3://cluster/omniva");
    omt_conf_append(home, "media", "s3_endpoint", S3.endpoint);
    omt_conf_append(home, "media", "s3_path_style", "true");
    omt_conf_append(home, "media", "s3_access_key", "S3RVER");
    omt_conf_append(home, "media", "s3_part_mb", "1");
    omt_conf_append(home, "schedule", "now", "true"); /* upload at once, not at the best time */
    /* small fast renders: the test is about where the bytes live, not their quality */
    omt_conf_append(home, "editor", "preset", "ultrafast");
    omt_conf_append(home, "asr", "align_subtitles", "false"); /* interpolated word times */
    omt_conf_append(home, "editor", "width", "360");
    omt_conf_append(home, "editor", "height", "640");
}

/* Keeps the demo sources that carry subtitles (no speech recognition: the test stays fast),
 * at most one (two clips: the test stays under a minute and a half). */
static int trim_sources(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int kept = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".mp4"))
            continue;
        char *base = xstrndup(e->d_name, n - 4);
        char *srt = xasprintf("%s/%s.srt", dir, base), *vtt = xasprintf("%s/%s.vtt", dir, base);
        if ((!om_file_exists(srt) && !om_file_exists(vtt)) || kept >= 1) {
            char *p = xasprintf("%s/%s", dir, e->d_name), *j = xasprintf("%s/%s.json", dir, base);
            unlink(p);
            unlink(j);
            unlink(srt);
            unlink(vtt);
            free(p);
            free(j);
        } else {
            kept++;
        }
        free(srt);
        free(vtt);
        free(base);
    }
    closedir(d);
    return kept;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0)
            n += S_ISDIR(st.st_mode) ? count_files(p) : 1;
        free(p);
    }
    closedir(d);
    return n;
}

static void dump_log(const char *what, const char *logf)
{
    char *log = NULL;
    om_read_file(logf, 0, &log, NULL);
    fprintf(stderr, "---- %s ----\n%s\n", what,
            log && strlen(log) > 6000 ? log + strlen(log) - 6000 : log ? log : "");
    free(log);
}

static void test_two_nodes(void **state)
{
    (void)state;
    int64_t t_ws = om_mono_ms();
    char *a = omt_workspace("node-a", "--db", PG.url, "--queue", RD.url, NULL);
    char *b = omt_workspace("node-b", "--db", PG.url, "--queue", RD.url, NULL);
    conf_node(a);
    conf_node(b);
    fprintf(stderr, "two workspaces in %lld ms\n", (long long)(om_mono_ms() - t_ws));

    /* node A: a project following a folder on A's disk */
    char *sources = xasprintf("%s/sources", a);
    /* one minute of the demo talk with the platform's .srt (no speech recognition) */
    assert_int_equal(om_demo_make_talk_sub(sources, "talk", 1.0, "srt"), OM_OK);
    int nsrc = trim_sources(sources);
    assert_true(nsrc >= 1);
    char *brand = xasprintf("%s/brand.json", a);
    assert_int_equal(
        om_write_file_atomic(brand, om_demo_brand_json(), strlen(om_demo_brand_json())), OM_OK);
    char *furl = xasprintf("file://%s", sources);
    assert_int_equal(omt_run(NULL, NULL, a, "project", "create", "demo", "--brand", brand, NULL),
                     0);
    assert_int_equal(omt_run(NULL, NULL, a, "creator", "add", "demo", furl, NULL), 0);
    char *pid = omt_query(PG.url, "SELECT project_id FROM projects");
    char *cid = omt_query(PG.url, "SELECT creator_id FROM creators");
    assert_non_null(pid);
    assert_non_null(cid);
    char *payload = xasprintf("{\"project_id\":\"%s\",\"creator_id\":\"%s\"}", pid, cid);
    assert_int_equal(omt_run(NULL, NULL, a, "jobs", "enqueue", "scrape", "--payload", payload,
                             NULL),
                     0);
    char *loga = xasprintf("%s.a.log", a);
    pid_t wa = omt_spawn(a, loga, NULL,
                         (const char *[]){"worker", "--types", "scrape,fetch", "--once", NULL});
    int64_t t0 = om_mono_ms();
    int st = omt_wait(wa, 600000);
    fprintf(stderr, "node A: scrape + fetch in %lld ms\n", (long long)(om_mono_ms() - t0));
    if (st != 0)
        dump_log("node A", loga);
    assert_int_equal(st, 0);
    assert_int_equal(omt_query_int(PG.url, "SELECT count(*) FROM videos"), nsrc);
    assert_int_equal(omt_query_int(PG.url, "SELECT count(*) FROM videos WHERE file_path NOT "
                                           "LIKE 's3://cluster/omniva/sources/%'"),
                     0);
    assert_int_equal(omt_query_int(PG.url, "SELECT count(*) FROM clips"), 0); /* A analyzed none */

    /* node A goes away with everything on its disk */
    assert_int_equal(om_rmtree(a), OM_OK);
    assert_false(om_file_exists(sources));

    /* node B: the rest of the pipeline, from the bucket */
    char *logb = xasprintf("%s.b.log", b);
    pid_t wb = omt_spawn(b, logb, NULL,
                         (const char *[]){"worker", "--types",
                                          "analyze,select,edit,schedule,upload", "--once", NULL});
    int64_t deadline = om_mono_ms() + 900000;
    while (omt_query_int(PG.url, "SELECT count(*) FROM artifacts WHERE kind = 'export'") < 1 &&
           om_mono_ms() < deadline && waitpid(wb, NULL, WNOHANG) == 0)
        om_sleep_ms(500);
    int64_t exports = omt_query_int(PG.url, "SELECT count(*) FROM artifacts WHERE kind = 'export'");
    if (exports < 1) {
        dump_log("node B", logb);
        kill(wb, SIGKILL);
    }
    assert_true(exports >= 1);
    fprintf(stderr, "node B: first export %lld ms after start\n",
            (long long)(om_mono_ms() - deadline + 900000));
    int64_t t1 = om_mono_ms();
    kill(wb, SIGTERM);
    omt_wait(wb, 120000);
    fprintf(stderr, "node B: stopped in %lld ms\n", (long long)(om_mono_ms() - t1));

    /* rows record the bucket; the objects are there, whole */
    assert_true(omt_query_int(PG.url, "SELECT count(*) FROM artifacts WHERE kind = 'render'") >=
                1);
    assert_int_equal(omt_query_int(PG.url, "SELECT count(*) FROM artifacts WHERE kind IN "
                                           "('render', 'source_media') AND path NOT LIKE "
                                           "'s3://cluster/omniva/%'"),
                     0);
    om_config *cfg = NULL;
    assert_int_equal(om_config_load(&cfg, b), OM_OK);
    om_mstore *ms = NULL;
    assert_int_equal(om_mstore_open(&ms, cfg), OM_OK);
    char *row = omt_query(PG.url, "SELECT path FROM artifacts WHERE kind = 'render' LIMIT 1");
    char *sum = omt_query(PG.url, "SELECT checksum FROM artifacts WHERE kind = 'render' LIMIT 1");
    om_mstat mst;
    assert_int_equal(om_mstore_stat(ms, row, &mst), OM_OK);
    assert_string_equal(mst.sha256, sum);

    /* Paradox hashes the bucket's objects: clean now; an object overwritten with other
     * bytes is a file_checksum_mismatch naming the s3:// row (B's cache copy is not what
     * it checks) */
    char *out = NULL;
    omt_run(&out, NULL, b, "paradox", "check", "--json", NULL);
    assert_non_null(out);
    assert_null(strstr(out, "file_checksum_mismatch"));
    assert_null(strstr(out, "file_missing"));
    free(out);
    char *junk = xasprintf("%s/junk.bin", b), *key = om_mstore_key_of(ms, row), *jrow = NULL;
    assert_non_null(key);
    assert_int_equal(om_write_file_atomic(junk, "not the render", 14), OM_OK);
    assert_int_equal(om_mstore_put(ms, key, junk, NULL, 0, &jrow), OM_OK);
    assert_string_equal(jrow, row);
    out = NULL;
    omt_run(&out, NULL, b, "paradox", "check", "--json", NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "file_checksum_mismatch"));
    assert_non_null(strstr(out, row));
    free(out);
    free(jrow);
    free(key);
    free(junk);
    om_mstore_free(ms);
    om_config_free(cfg);

    /* B kept no source or render in its media folder; its cache filled from the bucket */
    char *bsrc = xasprintf("%s/media/sources", b), *bren = xasprintf("%s/media/renders", b);
    char *bcache = xasprintf("%s/cache/objects", b);
    assert_int_equal(count_files(bsrc), 0);
    assert_int_equal(count_files(bren), 0);
    assert_true(count_files(bcache) >= 1);

    free(bsrc);
    free(bren);
    free(bcache);
    free(row);
    free(sum);
    free(logb);
    free(loga);
    free(payload);
    free(pid);
    free(cid);
    free(furl);
    free(brand);
    free(sources);
    om_rmtree(b);
    free(a);
    free(b);
}

int main(void)
{
    if (harness_pg_start(&PG) != 0 || harness_redis_start(&RD) != 0 ||
        harness_s3_start(&S3, "cluster") != 0)
        return 1;
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_two_nodes)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    harness_s3_stop(&S3);
    harness_redis_stop(&RD);
    harness_pg_stop(&PG);
    return rc;
}
