/*
 * test_backup.c: `omniva backup` / `omniva restore` through the real binary, and WAL
 * archiving for PostgreSQL.
 *   - SQLite: a backup taken while `omniva run` works through a folder creator, another after
 *     it, each restored into a new workspace: the manifest's counts and ledger head are what
 *     the restored store holds, `ledger verify` passes, the clip counts are equal; a damaged
 *     backup (one flipped byte) and an unfinished one are refused, so is a non-empty target
 *     and an existing backup folder; kill -9 of backups midway never leaves a DIR that looks
 *     complete, and a later backup replaces the stale DIR.partial.
 *   - PostgreSQL: pg_dump -Fc while a writer inserts rows (the manifest's counts are those of
 *     the dump's snapshot: the restore compares them), restore into a new database, ledger
 *     verify, the materialized views refreshed.
 *   - WAL: a server archiving through contrib/omniva-wal-archive, a pg_basebackup, rows
 *     before and after a moment T, and a point-in-time restore to T (recovery.signal,
 *     restore_command, recovery_target_time) that has the first rows and not the later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "lifecycle/lifecycle.h"
#include "omtest.h"
#include "stages/demo.h"
#include "store/store.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *src_home; /* the SQLite workspace of the pipeline test, reused by the kill test */
static harness_pg pg;
static int have_pg;

static json_t *load_json(const char *path)
{
    char *text = NULL;
    if (om_read_file(path, 0, &text, NULL))
        return NULL;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

static json_int_t manifest_rows(json_t *m, const char *table)
{
    return json_integer_value(json_object_get(json_object_get(m, "rows"), table));
}

static char *sq_url(const char *home)
{
    return xasprintf("sqlite://%s/omniva.db", home);
}

/* Flips one byte in the middle of a file. */
static void flip_byte(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(path, 0, &data, &len), OM_OK);
    assert_true(len > 100);
    data[len / 2] ^= 0x5a;
    assert_int_equal(om_write_file_atomic(path, data, len), OM_OK);
    free(data);
}

/* Restores B into a new workspace; checks what the restore must guarantee; returns it. */
static char *restore_and_check(const char *backup, const char *tag)
{
    char *home = harness_tmpdir(tag);
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, home, "restore", "--from", backup, NULL);
    if (rc != 0)
        fail_msg("restore %s: rc %d\n%s\n%s", backup, rc, out, err);
    assert_true(omt_has(out, "all"));
    assert_true(omt_has(out, "verified"));
    free(out);
    free(err);
    char *mp = xasprintf("%s/manifest.json", backup);
    json_t *m = load_json(mp);
    free(mp);
    assert_non_null(m);
    char *url = sq_url(home);
    /* the restored store holds exactly what the backup's snapshot counted */
    const char *tables[] = {"projects", "creators", "posts", "videos", "clips", "artifacts",
                            "stardust_metadata", "jobs", "logs"};
    for (size_t i = 0; i < OM_ARRAY_LEN(tables); i++) {
        char *sql = xasprintf("SELECT count(*) FROM %s", tables[i]);
        assert_int_equal(omt_query_int(url, sql), manifest_rows(m, tables[i]));
        free(sql);
    }
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "verify", NULL), 0);
    char *want = xasprintf("ledger ok: %lld packets",
                           (long long)json_integer_value(
                               json_object_get(json_object_get(m, "ledger"), "packets")));
    assert_true(omt_has(out, want));
    free(want);
    free(out);
    json_decref(m);
    free(url);
    return home;
}

/* Keeps the demo sources that carry subtitles (no speech recognition: the test stays fast). */
static void trim_sources(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".mp4"))
            continue;
        char *base = xstrndup(e->d_name, n - 4);
        char *srt = xasprintf("%s/%s.srt", dir, base), *vtt = xasprintf("%s/%s.vtt", dir, base);
        if (!om_file_exists(srt) && !om_file_exists(vtt)) {
            char *p = xasprintf("%s/%s", dir, e->d_name), *j = xasprintf("%s/%s.json", dir, base);
            unlink(p);
            unlink(j);
            free(p);
            free(j);
        }
        free(srt);
        free(vtt);
        free(base);
    }
    closedir(d);
}

static void test_backup_during_pipeline(void **state)
{
    (void)state;
    src_home = omt_workspace("bk-src", NULL);
    char *url = sq_url(src_home);
    char *sources = xasprintf("%s/sources", src_home);
    assert_int_equal(om_demo_make_sources(sources), OM_OK);
    trim_sources(sources);
    char *brand = xasprintf("%s/brand.json", src_home);
    assert_int_equal(om_write_file_atomic(brand, om_demo_brand_json(),
                                          strlen(om_demo_brand_json())),
                     OM_OK);
    char *furl = xasprintf("file://%s", sources);
    assert_int_equal(omt_run(NULL, NULL, src_home, "project", "create", "demo", "--brand", brand,
                             NULL),
                     0);
    assert_int_equal(omt_run(NULL, NULL, src_home, "creator", "add", "demo", furl, NULL), 0);

    /* the pipeline runs; the backup is taken while it writes */
    char *logf = xasprintf("%s/run.log", src_home);
    pid_t run = omt_spawn(src_home, logf, NULL, (const char *[]){"run", "--once", "--now", NULL});
    assert_true(run > 0);
    int64_t deadline = om_mono_ms() + 600000;
    while (omt_query_int(url, "SELECT count(*) FROM videos") < 1 && om_mono_ms() < deadline)
        om_sleep_ms(100);
    assert_true(omt_query_int(url, "SELECT count(*) FROM videos") >= 1);
    char *b1 = xasprintf("%s-b1", src_home);
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, src_home, "backup", "--to", b1, NULL);
    if (rc != 0)
        fail_msg("backup during the run: %d\n%s\n%s", rc, out, err);
    assert_true(omt_has(out, "media files are NOT in this backup"));
    free(out);
    free(err);
    int still_running = waitpid(run, NULL, WNOHANG) == 0;
    int st = omt_wait(run, 1200000);
    if (st != 0) {
        char *log = NULL;
        om_read_file(logf, 0, &log, NULL);
        fail_msg("omniva run: %d\n%s", st, log && strlen(log) > 4000 ? log + strlen(log) - 4000
                                                                      : log);
    }
    int64_t clips = omt_query_int(url, "SELECT count(*) FROM clips");
    assert_true(clips >= 1);

    /* the mid-run backup: restored, verified, its counts */
    char *h1 = restore_and_check(b1, "bk-r1");
    char *b1m = xasprintf("%s/manifest.json", b1);
    json_t *m1 = load_json(b1m);
    char *u1 = sq_url(h1);
    assert_int_equal(omt_query_int(u1, "SELECT count(*) FROM clips"), manifest_rows(m1, "clips"));
    json_decref(m1);

    /* after the run, with media: clip counts equal the source's */
    char *b2 = xasprintf("%s-b2", src_home);
    assert_int_equal(omt_run(&out, NULL, src_home, "backup", "--to", b2, "--with-media", "--json",
                             NULL),
                     0);
    json_t *m2 = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(m2);
    assert_true(json_is_true(json_object_get(json_object_get(m2, "media"), "included")));
    int media_files = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m2, "files"), i, f)
        media_files += !strcmp(json_string_value(json_object_get(f, "kind")), "media");
    assert_true(media_files >= 2); /* sources and renders at least */
    json_decref(m2);
    char *h2 = restore_and_check(b2, "bk-r2");
    char *u2 = sq_url(h2);
    assert_int_equal(omt_query_int(u2, "SELECT count(*) FROM clips"), clips);
    assert_int_equal(omt_query_int(u2, "SELECT count(*) FROM clips WHERE status = 'PUBLISHED'"),
                     omt_query_int(url, "SELECT count(*) FROM clips WHERE status = 'PUBLISHED'"));
    /* every media file is back, as in the source */
    char *rmedia = xasprintf("%s/media/renders", h2);
    DIR *d = opendir(rmedia);
    assert_non_null(d);
    int renders = 0;
    for (struct dirent *e; (e = readdir(d));)
        renders += strstr(e->d_name, ".mp4") != NULL;
    closedir(d);
    assert_true(renders >= 1);
    free(rmedia);
    printf("backup during the run (still running at backup time: %d): %lld clips at the end\n",
           still_running, (long long)clips);

    /* refusals: a non-empty target, an existing folder, a damaged backup, a partial one */
    assert_int_equal(omt_run(NULL, &err, h2, "restore", "--from", b2, NULL), 1);
    assert_true(omt_has(err, "not empty"));
    assert_true(omt_has(err, "omniva.db"));
    free(err);
    assert_int_equal(omt_run(NULL, &err, src_home, "backup", "--to", b2, NULL), 1);
    assert_true(omt_has(err, "already exists"));
    free(err);
    char *db1 = xasprintf("%s/omniva.db", b1);
    flip_byte(db1);
    char *h3 = harness_tmpdir("bk-r3");
    assert_int_equal(omt_run(NULL, &err, h3, "restore", "--from", b1, NULL), 1);
    assert_true(omt_has(err, "checksum mismatch in omniva.db"));
    free(err);
    char *h3db = xasprintf("%s/omniva.db", h3);
    assert_false(om_file_exists(h3db)); /* refused before anything was written */
    free(h3db);
    char *partial = xasprintf("%s-b9.partial", src_home);
    assert_int_equal(om_mkdirs(partial, 0755), OM_OK);
    assert_int_equal(omt_run(NULL, &err, h3, "restore", "--from", partial, NULL), 1);
    assert_true(omt_has(err, "not a complete backup"));
    free(err);

    om_rmtree(b1);
    om_rmtree(b2);
    om_rmtree(partial);
    om_rmtree(h1);
    om_rmtree(h2);
    om_rmtree(h3);
    free(partial);
    free(h3);
    free(db1);
    free(u1);
    free(u2);
    free(b1m);
    free(h1);
    free(h2);
    free(b1);
    free(b2);
    free(logf);
    free(furl);
    free(brand);
    free(sources);
    free(url);
}

/* kill -9 of backups at random moments: DIR never exists unless it verifies. */
static void test_backup_kill(void **state)
{
    (void)state;
    if (!src_home)
        skip();
    char *to = xasprintf("%s-k", src_home), *partial = xasprintf("%s.partial", to);
    char *logf = xasprintf("%s/backup.log", src_home);
    unsigned seed = (unsigned)getpid();
    int midway = 0, complete = 0;
    for (int round = 0; round < 12; round++) {
        pid_t p = omt_spawn(src_home, logf, NULL,
                            (const char *[]){"backup", "--to", to, "--with-media", NULL});
        assert_true(p > 0);
        om_sleep_ms(5 + rand_r(&seed) % (60 + 30 * round));
        kill(p, SIGKILL);
        int st = omt_wait(p, 60000);
        struct stat sb;
        if (stat(to, &sb) == 0) {
            /* it got to the rename before the kill (st 0, or killed while exiting): then
             * it is whole */
            assert_int_equal(om_backup_verify(to, NULL), OM_OK);
            complete++;
            assert_true(st == 0 || st == 128 + SIGKILL);
            om_rmtree(to);
        } else {
            midway += stat(partial, &sb) == 0;
        }
    }
    /* a stale DIR.partial is replaced by the next backup */
    assert_int_equal(om_mkdirs(partial, 0755), OM_OK);
    assert_int_equal(omt_run(NULL, NULL, src_home, "backup", "--to", to, NULL), 0);
    assert_int_equal(om_backup_verify(to, NULL), OM_OK);
    struct stat sb;
    assert_true(stat(partial, &sb) != 0);
    printf("backup kill -9: %d killed midway (DIR.partial left, no DIR), %d finished first\n",
           midway, complete);
    om_rmtree(to);
    free(to);
    free(partial);
    free(logf);
    om_rmtree(src_home);
    free(src_home);
    src_home = NULL;
}

/* A child that keeps appending logs rows to url until killed. */
static pid_t start_writer(const char *url)
{
    pid_t p = fork();
    if (p != 0)
        return p;
    om_store *s = NULL;
    if (om_store_open(&s, url))
        _exit(1);
    for (int i = 0;; i++) {
        char id[OM_UUID_LEN];
        om_store_exec(s,
                      "INSERT INTO logs (log_id, source, level, message, created_at) VALUES "
                      "(?, 'test_writer', 'INFO', 'concurrent write', now())",
                      OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL);
        om_sleep_ms(2);
    }
}

static void test_backup_pg(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    assert_int_equal(omt_exec(pg.url, "CREATE DATABASE bk_src"), 0);
    assert_int_equal(omt_exec(pg.url, "CREATE DATABASE bk_dst"), 0);
    char *src = xasprintf("postgres://omniva@127.0.0.1:%d/bk_src", pg.port);
    char *dst = xasprintf("postgres://omniva@127.0.0.1:%d/bk_dst", pg.port);
    char *home = omt_workspace("bk-pg", "--db", src, NULL);
    assert_int_equal(omt_run(NULL, NULL, home, "project", "create", "acme", NULL), 0);
    /* ledger packets: a project's retention days are recorded */
    assert_int_equal(omt_run(NULL, NULL, home, "retention", "set", "acme", "--raw-days", "30",
                             NULL),
                     0);
    assert_int_equal(omt_run(NULL, NULL, home, "retention", "set", "acme", "--default", NULL), 0);
    char *err = NULL;
    /* a video and a clip, for the materialized views */
    assert_int_equal(omt_exec(src, "INSERT INTO creators (creator_id, platform, username) VALUES "
                                   "('11111111-1111-4111-8111-111111111111', 'local', 'x')"),
                     0);
    assert_int_equal(omt_exec(src, "INSERT INTO posts (post_id, creator_id, platform, "
                                   "platform_post_id, url) VALUES ('22222222-2222-4222-8222-"
                                   "222222222222', '11111111-1111-4111-8111-111111111111', "
                                   "'local', 'p', 'file:///p')"),
                     0);
    assert_int_equal(omt_exec(src, "INSERT INTO videos (video_id, post_id, file_path, checksum) "
                                   "VALUES ('33333333-3333-4333-8333-333333333333', "
                                   "'22222222-2222-4222-8222-222222222222', '/x.mp4', 'abc')"),
                     0);
    assert_int_equal(omt_exec(src, "INSERT INTO clips (clip_id, video_id, start_time, end_time, "
                                   "confidence) VALUES ('44444444-4444-4444-8444-444444444444', "
                                   "'33333333-3333-4333-8333-333333333333', 1, 20, 0.9)"),
                     0);

    /* the dump while a writer inserts rows: the restore compares the counts of the snapshot */
    pid_t w = start_writer(src);
    assert_true(w > 0);
    om_sleep_ms(300);
    char *b = xasprintf("%s-b", home), *out = NULL;
    int rc = omt_run(&out, &err, home, "backup", "--to", b, NULL);
    if (rc != 0)
        fail_msg("pg backup: %d\n%s\n%s", rc, out, err);
    free(out);
    free(err);
    om_sleep_ms(200);
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    char *dump = xasprintf("%s/omniva.pgdump", b);
    assert_true(om_file_exists(dump));
    free(dump);
    char *mp = xasprintf("%s/manifest.json", b);
    json_t *m = load_json(mp);
    free(mp);
    assert_string_equal(json_string_value(json_object_get(m, "dialect")), "postgres");
    int64_t logs_then = manifest_rows(m, "logs");
    int64_t logs_now = omt_query_int(src, "SELECT count(*) FROM logs");
    assert_true(logs_now > logs_then); /* the writer went on after the snapshot */

    /* into the (empty, migrated) second database */
    char *home2 = harness_tmpdir("bk-pg2");
    assert_int_equal(omt_run(NULL, NULL, NULL, "init", home2, "--db", dst, NULL), 0);
    rc = omt_run(&out, &err, home2, "--db", dst, "restore", "--from", b, NULL);
    if (rc != 0)
        fail_msg("pg restore: %d\n%s\n%s", rc, out, err);
    free(out);
    free(err);
    assert_int_equal(omt_query_int(dst, "SELECT count(*) FROM logs"), logs_then);
    assert_int_equal(omt_query_int(dst, "SELECT count(*) FROM projects"), 1);
    assert_int_equal(omt_query_int(dst, "SELECT count(*) FROM best_clip_per_video"), 1);
    assert_int_equal(omt_query_int(dst, "SELECT count(*) FROM stardust_metadata"),
                     manifest_rows(m, "stardust_metadata"));
    assert_true(manifest_rows(m, "stardust_metadata") >= 1);
    assert_int_equal(omt_run(&out, NULL, home2, "--db", dst, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);
    /* the append-only guard came back with the schema */
    assert_true(omt_exec(dst, "DELETE FROM stardust_metadata") != 0);
    /* and a second restore into it is refused */
    assert_int_equal(omt_run(NULL, &err, home2, "--db", dst, "restore", "--from", b, NULL), 1);
    assert_true(omt_has(err, "not empty"));
    free(err);
    json_decref(m);
    om_rmtree(b);
    om_rmtree(home);
    om_rmtree(home2);
    free(b);
    free(home);
    free(home2);
    free(src);
    free(dst);
}

static char *query_on(const char *url, const char *sql)
{
    return omt_query(url, sql);
}

static void test_wal_pitr(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    const char *srcdir = getenv("OMNIVA_SRC");
    assert_non_null(srcdir);
    char *script = xasprintf("%s/contrib/omniva-wal-archive", srcdir);
    char *archive = harness_tmpdir("wal-archive");
    assert_int_equal(harness_pg_chown(archive), 0);
    char *cmd = xasprintf("archive_command=%s %%p %%f %s", script, archive);
    const char *settings[] = {"wal_level=replica", "archive_mode=on", cmd, "max_wal_senders=4",
                              NULL};
    harness_pg src;
    if (harness_pg_start_with(&src, settings) != 0)
        fail_msg("cannot start PostgreSQL with WAL archiving");
    char *home = omt_workspace("wal", "--db", src.url, NULL);
    assert_int_equal(omt_run(NULL, NULL, home, "project", "create", "before-base", NULL), 0);

    /* the base backup, as the server's user */
    char *base = harness_tmpdir("wal-base");
    assert_int_equal(harness_pg_chown(base), 0);
    char *data = xasprintf("%s/data", base), *port = xasprintf("%d", src.port);
    const char *bb[] = {"pg_basebackup", "-h", "127.0.0.1", "-p", port, "-U", "omniva", "-D",
                        data, "-X", "stream", "-c", "fast", NULL};
    assert_int_equal(harness_pg_tool(bb), 0);

    assert_int_equal(omt_run(NULL, NULL, home, "project", "create", "after-base", NULL), 0);
    /* (the GUC wants "YYYY-MM-DD HH:MM:SS+00", not our canonical ISO text) */
    char *t = query_on(src.url, "SELECT to_char(now() AT TIME ZONE 'UTC', "
                                "'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    assert_non_null(t);
    om_sleep_ms(1500);
    assert_int_equal(omt_run(NULL, NULL, home, "project", "create", "after-target", NULL), 0);
    /* close the segment holding all of it and wait until it is archived */
    char *seg = query_on(src.url, "SELECT pg_walfile_name(pg_switch_wal())");
    assert_non_null(seg);
    char *segpath = xasprintf("%s/%s", archive, seg);
    int64_t deadline = om_mono_ms() + 60000;
    while (!om_file_exists(segpath) && om_mono_ms() < deadline)
        om_sleep_ms(100);
    if (!om_file_exists(segpath))
        fail_msg("WAL segment %s was not archived into %s", seg, archive);
    char *failed = query_on(src.url, "SELECT failed_count FROM pg_stat_archiver");
    assert_string_equal(failed, "0");
    free(failed);
    harness_pg_stop(&src); /* the primary is gone: only the base backup and the archive */

    /* point-in-time restore to t */
    char *sig = xasprintf("%s/recovery.signal", data);
    assert_int_equal(om_write_file_atomic(sig, "", 0), OM_OK);
    char *auto_conf = xasprintf("%s/postgresql.auto.conf", data);
    FILE *fp = fopen(auto_conf, "a");
    assert_non_null(fp);
    fprintf(fp,
            "restore_command = 'cp %s/%%f %%p'\nrecovery_target_time = '%s'\n"
            "recovery_target_action = 'promote'\n",
            archive, t);
    fclose(fp);
    harness_pg dst;
    const char *dst_settings[] = {"archive_mode=off", NULL};
    if (harness_pg_start_datadir(&dst, base, dst_settings) != 0)
        fail_msg("cannot start the restored server");
    deadline = om_mono_ms() + 60000;
    char *rec = NULL;
    for (;;) {
        free(rec);
        rec = query_on(dst.url, "SELECT pg_is_in_recovery()");
        if ((rec && !strcmp(rec, "0")) || om_mono_ms() > deadline)
            break;
        om_sleep_ms(200);
    }
    assert_non_null(rec);
    assert_string_equal(rec, "0"); /* promoted at the target */
    free(rec);
    char *names = query_on(dst.url, "SELECT string_agg(name, ',' ORDER BY name) FROM projects");
    assert_string_equal(names, "after-base,before-base");
    free(names);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "--db", dst.url, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);
    harness_pg_stop(&dst);
    om_rmtree(archive);
    om_rmtree(home);
    free(sig);
    free(auto_conf);
    free(segpath);
    free(seg);
    free(t);
    free(data);
    free(port);
    free(base);
    free(home);
    free(cmd);
    free(archive);
    free(script);
}

static int setup(void **state)
{
    (void)state;
    have_pg = harness_pg_start(&pg) == 0;
    if (!have_pg)
        fprintf(stderr, "test_backup: no PostgreSQL; its cases are skipped\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (have_pg)
        harness_pg_stop(&pg);
    if (src_home) {
        om_rmtree(src_home);
        free(src_home);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_pg),
        cmocka_unit_test(test_wal_pitr),
        cmocka_unit_test(test_backup_during_pipeline),
        cmocka_unit_test(test_backup_kill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
