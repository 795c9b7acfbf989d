/*
 * test_cli.c: the omniva program's command line, black-box: --help at every level, usage
 * errors (exit 2), init/migrate/doctor, job commands and their input validation, and the
 * clear errors (exit 1) for a missing workspace, an unreachable database or queue, a
 * corrupt SQLite file and read-only or impossible workspace locations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"

#include <errno.h>
#include <jansson.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_help_everywhere(void **state)
{
    (void)state;
    const char *const cases[][4] = {
        {"--help", NULL},
        {"help", NULL},
        {"-h", NULL},
        {"help", "jobs", "enqueue", NULL},
        {"init", "--help", NULL},
        {"migrate", "--help", NULL},
        {"doctor", "--help", NULL},
        {"jobs", "--help", NULL},
        {"jobs", "enqueue", "--help", NULL},
        {"jobs", "list", "--help", NULL},
        {"jobs", "show", "-h", NULL},
        {"jobs", "retry", "--help", NULL},
        {"jobs", "purge", "--help", NULL},
        {"jobs", "stats", "--help", NULL},
        {"worker", "--help", NULL},
        {"ledger", "--help", NULL},
        {"ledger", "verify", "--help", NULL},
        {"ledger", "show", "--help", NULL},
    };
    for (size_t i = 0; i < OM_ARRAY_LEN(cases); i++) {
        char *out = NULL, *err = NULL;
        int rc = omt_runv(&out, &err, NULL, cases[i]);
        if (rc != 0 || !omt_has(out, "usage: omniva"))
            fprintf(stderr, "case %zu (%s %s): rc %d\nout: %s\nerr: %s\n", i, cases[i][0],
                    cases[i][1] ? cases[i][1] : "", rc, out, err);
        assert_int_equal(rc, 0);
        assert_true(omt_has(out, "usage: omniva"));
        assert_true(omt_has(out, "--home DIR")); /* global options shown at every level */
        free(out);
        free(err);
    }
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, NULL, "jobs", "enqueue", "--help", NULL), 0);
    assert_true(omt_has(out, "usage: omniva jobs enqueue TYPE"));
    assert_true(omt_has(out, "--priority N"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, NULL, "--help", NULL), 0);
    const char *cmds[] = {"init", "migrate", "doctor", "jobs", "worker", "ledger"};
    for (size_t i = 0; i < OM_ARRAY_LEN(cmds); i++)
        assert_true(omt_has(out, cmds[i]));
    free(out);
}

static void expect_usage(const char *const *args, const char *msg)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, NULL, args);
    if (rc != 2 || !omt_has(err, msg))
        fprintf(stderr, "args %s %s: rc %d, stderr:\n%s\n", args[0], args[1] ? args[1] : "",
                rc, err);
    assert_int_equal(rc, 2);
    assert_true(omt_has(err, "omniva: error: "));
    assert_true(omt_has(err, msg));
    free(out);
    free(err);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    expect_usage((const char *[]){"bogus", NULL}, "unknown command 'bogus' for 'omniva'");
    expect_usage((const char *[]){NULL}, "needs a command");
    expect_usage((const char *[]){"jobs", NULL}, "'omniva jobs' needs a command");
    expect_usage((const char *[]){"jobs", "frobnicate", NULL}, "unknown command 'frobnicate'");
    expect_usage((const char *[]){"jobs", "list", "--bogus", NULL}, "unknown option '--bogus'");
    expect_usage((const char *[]){"--bogus", "jobs", NULL}, "unknown option '--bogus'");
    expect_usage((const char *[]){"jobs", "list", "-x", NULL}, "unknown option '-x'");
    expect_usage((const char *[]){"jobs", "show", NULL}, "needs ID");
    expect_usage((const char *[]){"jobs", "show", "not-a-uuid", NULL}, "is not a job id");
    expect_usage((const char *[]){"init", "a", "b", NULL}, "unexpected argument 'b'");
    expect_usage((const char *[]){"jobs", "list", "--state", NULL}, "needs a value");
    expect_usage((const char *[]){"jobs", "list", "--state", "sleeping", NULL},
                 "unknown state 'sleeping'");
    expect_usage((const char *[]){"jobs", "list", "--json=yes", NULL}, "takes no value");
    expect_usage((const char *[]){"--log-level", "loud", "migrate", NULL},
                 "unknown log level 'loud'");
    expect_usage((const char *[]){"jobs", "enqueue", "Bad Type!", NULL}, "invalid job type");
    expect_usage((const char *[]){"jobs", "enqueue", "selftest.write", "--payload", "{bad", NULL},
                 "--payload is not valid JSON");
    expect_usage((const char *[]){"jobs", "enqueue", "selftest.write", "--payload", "[1]", NULL},
                 "--payload must be a JSON object");
    expect_usage((const char *[]){"jobs", "enqueue", "x", "--priority", "12", NULL},
                 "--priority must be an integer from 0 to 9");
    expect_usage((const char *[]){"jobs", "enqueue", "x", "--priority", "3x", NULL},
                 "--priority must be an integer");
    expect_usage((const char *[]){"jobs", "enqueue", "x", "--delay", "-1", NULL},
                 "--delay must be a number of seconds");
    expect_usage((const char *[]){"jobs", "enqueue", "x", "--delay", "soon", NULL},
                 "--delay must be a number of seconds");
    expect_usage((const char *[]){"jobs", "purge", NULL}, "needs --state");
    expect_usage((const char *[]){"jobs", "purge", "--state", "ready", NULL},
                 "--state must be dead or done");
    expect_usage((const char *[]){"worker", "--concurrency", "0", NULL},
                 "--concurrency must be an integer from 1");
    expect_usage((const char *[]){"worker", "--types", "ok,Not Ok", NULL}, "invalid job type");
    expect_usage((const char *[]){"ledger", "show", "xyz", NULL}, "is not an entity id");
}

static void test_init_migrate_doctor(void **state)
{
    (void)state;
    char *root = harness_tmpdir("cli-init");
    char *home = xasprintf("%s/ws/deeper", root); /* init creates missing parents */
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, NULL, "init", home, NULL), 0);
    assert_true(omt_has(out, "initialised workspace"));
    free(out);
    free(err);
    char *p = xasprintf("%s/omniva.conf", home);
    assert_true(om_file_exists(p));
    free(p);
    p = xasprintf("%s/omniva.db", home);
    assert_true(om_file_exists(p));
    free(p);
    p = xasprintf("%s/media", home);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(p);

    /* data survives a second init */
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "enqueue", "selftest.write", "--unique",
                             "k1", NULL),
                     0);
    char *id = xstrndup(out, strcspn(out, "\n"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, NULL, "init", home, NULL), 0);
    assert_true(omt_has(out, "re-opened workspace"));
    assert_true(omt_has(out, "0 migrations applied"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "list", "--json", NULL), 0);
    assert_true(omt_has(out, id));
    free(out);
    /* the unique key makes a second enqueue a no-op returning the first id */
    assert_int_equal(omt_run(&out, &err, home, "jobs", "enqueue", "selftest.write", "--unique",
                             "k1", "--json", NULL),
                     0);
    json_t *j = json_loads(out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "job_id")), id);
    assert_true(json_is_false(json_object_get(j, "created")));
    json_decref(j);
    free(out);
    free(err);

    /* --quiet: no log lines on stderr (init of a fresh workspace logs its migrations) */
    char *quiet_home = xasprintf("%s/quiet", root);
    assert_int_equal(omt_run(&out, &err, NULL, "--quiet", "init", quiet_home, NULL), 0);
    assert_string_equal(err, "");
    free(out);
    free(err);
    free(quiet_home);
    quiet_home = xasprintf("%s/quiet2", root);
    assert_int_equal(omt_run(&out, &err, NULL, "init", "--log-level", "warn", quiet_home, NULL),
                     0);
    assert_string_equal(err, "");
    free(out);
    free(err);
    free(quiet_home);
    quiet_home = xasprintf("%s/loud", root);
    assert_int_equal(omt_run(&out, &err, NULL, "init", quiet_home, NULL), 0);
    assert_true(omt_has(err, "\"level\":\"INFO\"")); /* without them the log lines show */
    free(out);
    free(err);
    free(quiet_home);

    /* migrate: nothing left to apply */
    assert_int_equal(omt_run(&out, NULL, home, "migrate", NULL), 0);
    assert_true(omt_has(out, "0 migrations applied"));
    free(out);

    /* OMNIVA_HOME works like --home */
    setenv("OMNIVA_HOME", home, 1);
    assert_int_equal(omt_run(&out, NULL, NULL, "jobs", "show", id, NULL), 0);
    assert_true(omt_has(out, "selftest.write"));
    free(out);
    unsetenv("OMNIVA_HOME");

    /* doctor: every check passes on a good workspace on this machine */
    assert_int_equal(omt_run(&out, &err, home, "doctor", NULL), 0);
    const char *checks[] = {"config", "store", "queue", "ffmpeg", "ffprobe", "yt-dlp",
                            "espeak-ng", "pocketsphinx model", "fonts", "media dir"};
    for (size_t i = 0; i < OM_ARRAY_LEN(checks); i++)
        assert_true(omt_has(out, checks[i]));
    assert_false(omt_has(out, "FAIL"));
    assert_true(omt_has(out, "schema version"));
    free(out);
    free(err);
    /* ... and says what is wrong, exit 1, when the database is gone */
    int port = harness_free_port();
    char *bad = xasprintf("postgres://omniva@127.0.0.1:%d/x", port);
    assert_int_equal(omt_run(&out, &err, home, "--db", bad, "doctor", "--json", NULL), 1);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "ok")));
    json_t *checks_j = json_object_get(j, "checks");
    int store_failed = 0;
    size_t i;
    json_t *c;
    json_array_foreach(checks_j, i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "check")), "store"))
            store_failed = json_is_false(json_object_get(c, "ok"));
    }
    assert_true(store_failed);
    json_decref(j);
    free(out);
    free(err);
    free(bad);
    free(id);
    free(home);
    om_rmtree(root);
    free(root);
}

static void expect_fail(const char *home, const char *const *args, const char *msg)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, home, args);
    if (rc != 1 || !omt_has(err, msg))
        fprintf(stderr, "%s %s: rc %d, stderr:\n%s\n", args[0], args[1] ? args[1] : "", rc, err);
    assert_int_equal(rc, 1);
    assert_true(omt_has(err, "omniva: error: "));
    assert_true(omt_has(err, msg));
    free(out);
    free(err);
}

static void test_clear_errors_exit_1(void **state)
{
    (void)state;
    char *root = harness_tmpdir("cli-errors");

    /* no workspace */
    char *empty = xasprintf("%s/empty", root);
    assert_int_equal(om_mkdirs(empty, 0755), 0);
    expect_fail(empty, (const char *[]){"jobs", "list", NULL}, "run 'omniva init");

    /* unreachable database and queue */
    char *home = omt_workspace("cli-unreach", NULL);
    int port = harness_free_port();
    char *pg = xasprintf("postgres://omniva@127.0.0.1:%d/x", port);
    expect_fail(home, (const char *[]){"--db", pg, "jobs", "list", NULL},
                "cannot open database postgres://omniva@127.0.0.1:");
    expect_fail(home, (const char *[]){"--db", pg, "worker", "--once", NULL},
                "cannot open database");
    expect_fail(home, (const char *[]){"--db", pg, "migrate", NULL}, "cannot open database");
    char *redis = xasprintf("redis://127.0.0.1:%d/0", port);
    expect_fail(home, (const char *[]){"--queue", redis, "jobs", "list", NULL},
                "cannot open queue redis://127.0.0.1:");
    setenv("OMNIVA_QUEUE", redis, 1);
    expect_fail(home, (const char *[]){"jobs", "list", NULL}, "cannot open queue");
    unsetenv("OMNIVA_QUEUE");
    expect_fail(home, (const char *[]){"--db", "mysql://x", "jobs", "list", NULL},
                "cannot open database mysql://x");

    /* corrupt SQLite file */
    char *dbfile = xasprintf("%s/omniva.db", home);
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)('a' + i % 26);
    char *wal = xasprintf("%s-wal", dbfile), *shm = xasprintf("%s-shm", dbfile);
    unlink(wal);
    unlink(shm);
    assert_int_equal(om_write_file_atomic(dbfile, junk, sizeof(junk)), 0);
    expect_fail(home, (const char *[]){"jobs", "list", NULL}, "not a database");
    expect_fail(home, (const char *[]){"ledger", "verify", NULL}, "not a database");
    expect_fail(NULL, (const char *[]){"init", home, NULL}, "not a database");

    /* a file where the workspace directory should be */
    char *file = xasprintf("%s/plainfile", root);
    assert_int_equal(om_write_file_atomic(file, "x", 1), 0);
    expect_fail(NULL, (const char *[]){"init", file, NULL}, "not a directory");
    char *under = xasprintf("%s/sub", file);
    expect_fail(NULL, (const char *[]){"init", under, NULL}, "cannot create workspace directory");

    /* a read-only location (a read-only tmpfs: fails even for root) */
    char *ro = xasprintf("%s/ro", root);
    assert_int_equal(om_mkdirs(ro, 0755), 0);
    if (mount("tmpfs", ro, "tmpfs", MS_RDONLY, "size=1m") == 0) {
        char *inside = xasprintf("%s/ws", ro);
        expect_fail(NULL, (const char *[]){"init", inside, NULL}, "Read-only file system");
        expect_fail(NULL, (const char *[]){"init", ro, NULL}, "is not writable");
        free(inside);
        umount2(ro, MNT_DETACH);
        /* an existing workspace made read-only: reads may work, writes fail clearly */
        char *ws = omt_workspace("cli-rows", NULL);
        assert_int_equal(mount(ws, ws, NULL, MS_BIND, NULL), 0);
        assert_int_equal(mount(NULL, ws, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
        expect_fail(NULL, (const char *[]){"init", ws, NULL}, "is not writable");
        char *out = NULL, *err = NULL;
        int rc = omt_run(&out, &err, ws, "jobs", "enqueue", "selftest.write", NULL);
        assert_int_equal(rc, 1);
        assert_true(omt_has(err, "omniva: error: "));
        free(out);
        free(err);
        umount2(ws, MNT_DETACH);
        om_rmtree(ws);
        free(ws);
    } else {
        fprintf(stderr, "note: cannot mount a read-only tmpfs here (%s); read-only cases "
                        "skipped\n", strerror(errno));
    }

    free(ro);
    free(under);
    free(file);
    free(wal);
    free(shm);
    free(dbfile);
    free(redis);
    free(pg);
    om_rmtree(home);
    free(home);
    free(empty);
    om_rmtree(root);
    free(root);
}

static void test_jobs_commands(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-jobs", NULL);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, home, "jobs", "enqueue", "selftest.write", "--payload",
                             "{\"n\": 7}", "--priority", "9", "--delay", "30", "--json", NULL),
                     0);
    json_t *j = json_loads(out, 0, NULL);
    char *id = xstrdup(json_string_value(json_object_get(j, "job_id")));
    assert_true(json_is_true(json_object_get(j, "created")));
    json_decref(j);
    free(out);
    free(err);

    assert_int_equal(omt_run(&out, NULL, home, "jobs", "show", id, "--json", NULL), 0);
    j = json_loads(out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "delayed");
    assert_int_equal(json_integer_value(json_object_get(j, "priority")), 9);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "payload"), "n")), 7);
    json_decref(j);
    free(out);

    assert_int_equal(omt_run(&out, NULL, home, "jobs", "list", "--state", "delayed", NULL), 0);
    assert_true(omt_has(out, id));
    free(out);
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "list", "--state", "ready", "--json",
                             NULL),
                     0);
    j = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    free(out);
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "stats", "--json", NULL), 0);
    j = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "delayed")), 1);
    json_decref(j);
    free(out);

    /* an unknown job id is a clear failure */
    expect_fail(home, (const char *[]){"jobs", "show", "00000000-0000-4000-8000-000000000000",
                                       NULL},
                "cannot show job");
    /* enqueue of a type this build cannot run still works, with a note */
    assert_int_equal(omt_run(&out, &err, home, "jobs", "enqueue", "later.type", NULL), 0);
    assert_true(omt_has(err, "no stage for job type 'later.type'"));
    free(out);
    free(err);
    free(id);
    om_rmtree(home);
    free(home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_init_migrate_doctor),
        cmocka_unit_test(test_clear_errors_exit_1),
        cmocka_unit_test(test_jobs_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
