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
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "targets/target.h"

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
    int rc_doc = omt_run(&out, &err, home, "doctor", NULL);
    if (rc_doc != 0)
        fprintf(stderr, "doctor:\n%s\n", out);
    assert_int_equal(rc_doc, 0);
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

    /* each miss names its fix: ffmpeg not on PATH */
    char *bin = xasprintf("%s/bin", root);
    assert_int_equal(om_mkdirs(bin, 0755), 0);
    const char *keep[] = {"ffprobe", "yt-dlp", "espeak-ng"};
    for (size_t k = 0; k < OM_ARRAY_LEN(keep); k++) {
        char *from = xasprintf("/usr/bin/%s", keep[k]), *to = xasprintf("%s/%s", bin, keep[k]);
        assert_int_equal(symlink(from, to), 0);
        free(from);
        free(to);
    }
    char *old_path = xstrdup(getenv("PATH"));
    setenv("PATH", bin, 1);
    rc_doc = omt_run(&out, &err, home, "doctor", NULL);
    setenv("PATH", old_path, 1);
    assert_int_equal(rc_doc, 1);
    assert_true(omt_has(out, "FAIL  ffmpeg: 'ffmpeg' not found on PATH"));
    assert_true(omt_has(out, "fix: apt-get install ffmpeg"));
    assert_true(omt_has(out, "ok    ffprobe"));
    free(out);
    free(err);
    /* a database without the schema: run migrate; a missing one: init, and none is made */
    char *empty = xasprintf("%s/empty.db", root);
    assert_int_equal(om_write_file_atomic(empty, "", 0), 0);
    char *eurl = xasprintf("sqlite://%s", empty);
    assert_int_equal(omt_run(&out, &err, home, "--db", eurl, "doctor", NULL), 1);
    assert_true(omt_has(out, "schema version 0, this build needs"));
    assert_true(omt_has(out, "fix: omniva migrate"));
    free(out);
    free(err);
    char *missing = xasprintf("%s/nope.db", root);
    char *murl = xasprintf("sqlite://%s", missing);
    assert_int_equal(omt_run(&out, &err, home, "--db", murl, "doctor", NULL), 1);
    assert_true(omt_has(out, "no database file"));
    assert_true(omt_has(out, "fix: omniva init"));
    assert_false(om_file_exists(missing));
    free(out);
    free(err);
    free(empty);
    free(eurl);
    free(missing);
    free(murl);
    free(old_path);
    free(bin);
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
                "job 00000000-0000-4000-8000-000000000000 not found");
    /* enqueue of a type this build cannot run still works, with a note */
    assert_int_equal(omt_run(&out, &err, home, "jobs", "enqueue", "later.type", NULL), 0);
    assert_true(omt_has(err, "no stage for job type 'later.type'"));
    free(out);
    free(err);
    free(id);
    om_rmtree(home);
    free(home);
}

static char *db_url(const char *home)
{
    return xasprintf("sqlite://%s/omniva.db", home);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* `--db ""` used the config after freeing it (a segfault): now a clear error. */
static void test_empty_db_url(void **state)
{
    (void)state;
    char *root = harness_tmpdir("cli-emptydb");
    expect_fail(root, (const char *[]){"--db", "", "clips", NULL}, "no database configured");
    expect_fail(root, (const char *[]){"--db", "", "jobs", "list", NULL},
                "no database configured");
    om_rmtree(root);
    free(root);
}

/* Commands that only read never create a database. */
static void test_read_only_commands_create_nothing(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-ro", NULL);
    char *db = xasprintf("%s/omniva.db", home);
    char *wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm", db);
    unlink(db);
    unlink(wal);
    unlink(shm);
    const char *const cmds[][4] = {
        {"clips", NULL},
        {"videos", NULL},
        {"jobs", "list", NULL},
        {"jobs", "stats", NULL},
        {"explain", "00000000-0000-4000-8000-000000000000", NULL},
        {"ledger", "verify", NULL},
        {"project", "list", NULL},
    };
    char *want = xasprintf("no database at %s; run 'omniva init'", db);
    for (size_t i = 0; i < OM_ARRAY_LEN(cmds); i++) {
        expect_fail(home, cmds[i], want);
        assert_false(om_file_exists(db));
    }
    free(want);
    /* a --db pointing nowhere: same */
    char *other = xasprintf("sqlite://%s/elsewhere.db", home);
    expect_fail(home, (const char *[]){"--db", other, "clips", NULL}, "no database at");
    char *other_file = xasprintf("%s/elsewhere.db", home);
    assert_false(om_file_exists(other_file));
    free(other_file);
    free(other);
    /* a command that writes still creates it: init */
    assert_int_equal(omt_run(NULL, NULL, NULL, "init", home, NULL), 0);
    assert_true(om_file_exists(db));
    free(wal);
    free(shm);
    free(db);
    om_rmtree(home);
    free(home);
}

static void test_help_version_and_job_types(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, NULL, "--help", NULL), 0);
    assert_true(omt_has(out, "--version"));
    assert_true(omt_has(out, "--log-format"));
    assert_true(omt_has(out, "videos"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, NULL, "--version", NULL), 0);
    assert_true(!strncmp(out, "omniva ", 7));
    free(out);
    assert_int_equal(omt_run(&out, NULL, NULL, "jobs", "--version", NULL), 0);
    assert_true(!strncmp(out, "omniva ", 7));
    free(out);
    /* the job types come from the stage registry */
    const char *types[] = {"rescrape", "scrape", "fetch", "analyze", "select", "edit",
                           "schedule", "upload", "selftest.write"};
    const char *const helps[][4] = {{"worker", "--help", NULL},
                                    {"jobs", "list", "--help", NULL},
                                    {"jobs", "enqueue", "--help", NULL}};
    for (size_t h = 0; h < OM_ARRAY_LEN(helps); h++) {
        assert_int_equal(omt_runv(&out, NULL, NULL, helps[h]), 0);
        for (size_t i = 0; i < OM_ARRAY_LEN(types); i++)
            if (!omt_has(out, types[i]))
                fail_msg("'%s %s' does not name job type %s:\n%s", helps[h][0], helps[h][1],
                         types[i], out);
        assert_false(omt_has(out, "{types}"));
        free(out);
    }
    /* the new commands are reachable from help */
    const char *const more[][4] = {{"project", "update", "--help", NULL},
                                   {"project", "delete", "--help", NULL},
                                   {"creator", "list", "--help", NULL},
                                   {"creator", "remove", "--help", NULL},
                                   {"videos", "--help", NULL}};
    for (size_t i = 0; i < OM_ARRAY_LEN(more); i++) {
        assert_int_equal(omt_runv(&out, NULL, NULL, more[i]), 0);
        assert_true(omt_has(out, "usage: omniva"));
        free(out);
    }
    assert_int_equal(omt_run(&out, NULL, NULL, "project", "--help", NULL), 0);
    assert_true(omt_has(out, "update") && omt_has(out, "delete"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, NULL, "creator", "--help", NULL), 0);
    assert_true(omt_has(out, "list") && omt_has(out, "remove"));
    free(out);
}

/* One rule: malformed argument 2, well-formed but unknown 1 ("not found"). */
static void test_exit_code_rule(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-codes", NULL);
    const char *nil = "00000000-0000-4000-8000-000000000000";
    char *out = NULL, *err = NULL;
    const struct {
        const char *args[5];
        int rc;
        const char *msg;
    } cases[] = {
        {{"explain", "nonsense", NULL}, 2, "is not a clip id"},
        {{"explain", nil, NULL}, 1, "clip 00000000-0000-4000-8000-000000000000 not found"},
        {{"jobs", "show", "nope", NULL}, 2, "is not a job id"},
        {{"jobs", "show", nil, NULL}, 1, "job 00000000-0000-4000-8000-000000000000 not found"},
        {{"jobs", "retry", "nope", NULL}, 2, "is not a job id"},
        {{"ledger", "show", "xyz", NULL}, 2, "is not an entity id"},
        {{"project", "show", "nope", NULL}, 1, "project 'nope' not found"},
        {{"project", "delete", "nope", NULL}, 1, "project 'nope' not found"},
        {{"project", "update", "nope", NULL}, 2, "needs --brand FILE"},
        {{"creator", "list", "nope", NULL}, 1, "not found"},
        {{"videos", "--project", "nope", NULL}, 1, "project 'nope' not found"},
        {{"clips", "--status", "FOO", NULL}, 2, "unknown clip status 'FOO'"},
        {{"--log-format", "xml", "clips", NULL}, 2, "unknown log format"},
    };
    for (size_t i = 0; i < OM_ARRAY_LEN(cases); i++) {
        int rc = omt_runv(&out, &err, home, cases[i].args);
        if (rc != cases[i].rc || !omt_has(err, cases[i].msg))
            fail_msg("%s %s: rc %d (want %d), stderr: %s", cases[i].args[0], cases[i].args[1],
                     rc, cases[i].rc, err);
        free(out);
        free(err);
    }
    /* jobs retry says "not found" once, without the layers stuttering */
    assert_int_equal(omt_run(&out, &err, home, "jobs", "retry", nil, NULL), 1);
    assert_int_equal(count_of(err, "not found"), 1);
    assert_int_equal(count_of(err, nil), 1);
    assert_false(omt_has(err, "retry:"));
    free(out);
    free(err);
    /* a job that is not dead: one clear line */
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "enqueue", "selftest.write", NULL), 0);
    char *id = xstrndup(out, strcspn(out, "\n"));
    free(out);
    assert_int_equal(omt_run(&out, &err, home, "jobs", "retry", id, NULL), 1);
    assert_true(omt_has(err, "cannot retry job"));
    assert_true(omt_has(err, "it is ready; only dead jobs can be retried"));
    assert_int_equal(count_of(err, "omniva: error:"), 1);
    free(out);
    free(err);
    free(id);
    om_rmtree(home);
    free(home);
}

/* A creator, a post and a video of project P, straight into the database. */
static void insert_video(const char *url, const char *project_id, const char *creator_id,
                         const char *video_id, const char *file)
{
    char *sql[4];
    sql[0] = xasprintf("INSERT INTO creators (creator_id, platform, username, profile_url) "
                       "VALUES ('%s', 'local', '/srv/footage-%.4s', 'file:///srv/footage')",
                       creator_id, creator_id);
    sql[1] = xasprintf("INSERT INTO project_creators (project_id, creator_id) VALUES ('%s', "
                       "'%s')", project_id, creator_id);
    sql[2] = xasprintf("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
                       "VALUES ('%s', '%s', 'local', 'p-%s', 'file:///srv/footage/%s')",
                       video_id, creator_id, video_id, file);
    sql[3] = xasprintf("INSERT INTO videos (video_id, post_id, file_path, checksum) VALUES "
                       "('%s', '%s', '/srv/footage/%s', 'sum-%s')",
                       video_id, video_id, file, video_id);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(omt_exec(url, sql[i]), 0);
        free(sql[i]);
    }
}

static char *project_id_of(const char *home, const char *name)
{
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "project", "show", name, NULL), 0);
    json_t *p = json_loads(out, 0, NULL);
    assert_non_null(p);
    char *id = xstrdup(json_string_value(json_object_get(p, "project_id")));
    json_decref(p);
    free(out);
    return id;
}

static void test_projects_creators_videos(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-proj", NULL);
    char *url = db_url(home);
    char *brand = xasprintf("%s/brand.json", home), *bad = xasprintf("%s/bad.json", home);
    const char *btext = "{\"keywords\": [\"coffee\"], \"posts_per_day\": 2}";
    assert_int_equal(om_write_file_atomic(brand, btext, strlen(btext)), 0);
    const char *badtext = "{\"posts_per_dya\": 3}";
    assert_int_equal(om_write_file_atomic(bad, badtext, strlen(badtext)), 0);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, home, "project", "create", "acme", "--brand", brand,
                             NULL),
                     0);
    free(out);
    free(err);
    /* update: validated like create (the unknown key named), then applied */
    assert_int_equal(omt_run(&out, &err, home, "project", "update", "acme", "--brand", bad, NULL),
                     1);
    assert_true(omt_has(err, "posts_per_dya"));
    free(out);
    free(err);
    const char *upd = "{\"posts_per_day\": 5}";
    assert_int_equal(om_write_file_atomic(brand, upd, strlen(upd)), 0);
    assert_int_equal(omt_run(&out, &err, home, "project", "update", "acme", "--brand", brand,
                             "--json", NULL),
                     0);
    json_t *p = json_loads(out, 0, NULL);
    json_t *b = json_object_get(p, "brand");
    assert_int_equal(json_integer_value(json_object_get(b, "posts_per_day")), 5);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "keywords"), 0)),
                        "coffee"); /* what the file does not name stays */
    json_decref(p);
    free(out);
    free(err);

    /* creators: add a folder, list, remove */
    char *folder = xasprintf("%s/footage", home);
    assert_int_equal(om_mkdirs(folder, 0755), 0);
    char *furl = xasprintf("file://%s", folder);
    assert_int_equal(omt_run(&out, &err, home, "creator", "add", "acme", furl, "--json", NULL), 0);
    json_t *cr = json_loads(out, 0, NULL);
    char *cid = xstrdup(json_string_value(json_object_get(cr, "creator_id")));
    json_decref(cr);
    free(out);
    free(err);
    assert_int_equal(omt_run(&out, NULL, home, "creator", "list", "acme", NULL), 0);
    assert_true(omt_has(out, cid));
    free(out);
    assert_int_equal(omt_run(&out, &err, home, "creator", "remove", "acme", cid, NULL), 0);
    free(out);
    free(err);
    assert_int_equal(omt_run(&out, NULL, home, "creator", "list", "acme", NULL), 0);
    assert_false(omt_has(out, cid));
    free(out);
    expect_fail(home, (const char *[]){"creator", "remove", "acme", cid, NULL}, "not in project");

    /* videos: status, clip count and why there is no clip (the analysis row's fields) */
    char *pid = project_id_of(home, "acme");
    const char *cr1 = "11111111-1111-4111-8111-111111111111";
    const char *v1 = "22222222-2222-4222-8222-222222222222";
    const char *v2 = "33333333-3333-4333-8333-333333333333";
    insert_video(url, pid, cr1, v1, "quiet.mp4");
    char *sql = xasprintf("INSERT INTO videos (video_id, post_id, file_path, checksum) "
                          "SELECT '%s', post_id, '/srv/footage/fresh.mp4', 'sum-2' FROM posts "
                          "WHERE creator_id = '%s'", v2, cr1);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    sql = xasprintf("INSERT INTO analysis (analysis_id, video_id, raw_ai_output) VALUES "
                    "('44444444-4444-4444-8444-444444444444', '%s', "
                    "'{\"no_clip_reason\": \"no speech in the video\", "
                    "\"no_clip_code\": \"no_speech\"}')", v1);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    assert_int_equal(omt_run(&out, &err, home, "videos", "--project", "acme", NULL), 0);
    assert_true(omt_has(out, v1) && omt_has(out, v2));
    assert_true(omt_has(out, "quiet.mp4") && omt_has(out, "fresh.mp4"));
    assert_true(omt_has(out, "no clip: no speech in the video [no_speech]"));
    assert_true(omt_has(out, "not analysed yet"));
    free(out);
    free(err);
    assert_int_equal(omt_run(&out, NULL, home, "videos", "--json", NULL), 0);
    json_t *vids = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(vids), 2);
    json_t *first = json_array_get(vids, 0);
    assert_string_equal(json_string_value(json_object_get(first, "no_clip_code")), "no_speech");
    assert_int_equal(json_integer_value(json_object_get(first, "clips")), 0);
    json_decref(vids);
    free(out);
    /* clips says the same instead of a bare "no clips yet" */
    assert_int_equal(omt_run(&out, NULL, home, "clips", NULL), 0);
    assert_true(omt_has(out, "no clips yet"));
    assert_true(omt_has(out, "no speech in the video"));
    free(out);

    /* a clip: --status matches in any case; project delete refuses without --force */
    sql = xasprintf("INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, "
                    "status) VALUES ('55555555-5555-4555-8555-555555555555', '%s', 1.0, 20.0, "
                    "0.491, 'PUBLISHED')", v2);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    const char *const spellings[] = {"published", "Published", "PUBLISHED"};
    for (size_t i = 0; i < OM_ARRAY_LEN(spellings); i++) {
        assert_int_equal(omt_run(&out, NULL, home, "clips", "--status", spellings[i], NULL), 0);
        assert_true(omt_has(out, "55555555-5555-4555-8555-555555555555"));
        free(out);
    }
    assert_int_equal(omt_run(&out, NULL, home, "clips", "--status", "rendered", NULL), 0);
    assert_false(omt_has(out, "55555555"));
    free(out);
    /* JSON numbers as written, not 0.49099999999999999 */
    assert_int_equal(omt_run(&out, NULL, home, "clips", "--json", NULL), 0);
    assert_true(omt_has(out, "0.491"));
    assert_false(omt_has(out, "0.4909999"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, home, "videos", NULL), 0);
    assert_true(omt_has(out, "published"));
    free(out);
    expect_fail(home, (const char *[]){"project", "delete", "acme", NULL}, "has 1 clips");
    assert_int_equal(omt_query_int(url, "SELECT COUNT(*) FROM projects"), 1);
    assert_int_equal(omt_run(&out, &err, home, "project", "delete", "acme", "--force", NULL), 0);
    assert_true(omt_has(out, "removed the project and its 1 creator links"));
    assert_true(omt_has(out, "stay"));
    free(out);
    free(err);
    assert_int_equal(omt_query_int(url, "SELECT COUNT(*) FROM projects"), 0);
    assert_int_equal(omt_query_int(url, "SELECT COUNT(*) FROM clips"), 1);
    expect_fail(home, (const char *[]){"project", "show", "acme", NULL}, "not found");

    free(pid);
    free(cid);
    free(furl);
    free(folder);
    free(brand);
    free(bad);
    free(url);
    om_rmtree(home);
    free(home);
}

/* The export credit names a folder, never its path (targets/meta.c, what export writes). */
static void test_credit_is_not_a_path(void **state)
{
    (void)state;
    json_t *m = om_publish_meta_build("Great coffee tips here.", NULL, NULL, "@/srv/footage/",
                                      "file:///srv/footage/a.mp4");
    const char *d = json_string_value(json_object_get(m, "description"));
    assert_true(omt_has(d, "Source: footage"));
    assert_false(omt_has(d, "/srv"));
    json_decref(m);
    m = om_publish_meta_build("", NULL, NULL, "/home/me/My Clips", NULL);
    assert_string_equal(json_string_value(json_object_get(m, "title")), "Clip from My Clips");
    json_decref(m);
    m = om_publish_meta_build("Hello there friends.", NULL, NULL, "@barista",
                              "https://example.com/v/1");
    d = json_string_value(json_object_get(m, "description"));
    assert_true(omt_has(d, "Source: @barista - https://example.com/v/1"));
    json_decref(m);
}

/* `run` on a terminal: a progress view and a summary, no JSON; without one: JSON on stderr;
 * either way the log file gets the events. */
static void test_run_output(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-run", NULL);
    char *logf = xasprintf("%s/logs/omniva.jsonl", home);
    char *out = NULL, *err = NULL;
    int rc = omt_run_pty(&out, home, (const char *[]){"run", "--once", NULL}, 120000);
    if (rc != 0 || !omt_has(out, "omniva run: 0 clips made"))
        fail_msg("run on a terminal: rc %d, terminal:\n%s", rc, out);
    assert_true(omt_has(out, "stage"));           /* the progress view */
    assert_true(omt_has(out, "clips finished: 0"));
    assert_true(omt_has(out, "omniva videos"));   /* no clip: where to look */
    assert_true(omt_has(out, logf));
    assert_false(omt_has(out, "{\"ts\""));        /* no JSON log line on the terminal */
    free(out);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(logf, 64 << 20, &text, &len), 0);
    assert_true(omt_has(text, "\"source\":\"worker\""));
    assert_true(omt_has(text, "started"));
    size_t before = len;
    free(text);

    /* --quiet on a terminal: only the summary */
    rc = omt_run_pty(&out, home, (const char *[]){"--quiet", "run", "--once", NULL}, 120000);
    assert_int_equal(rc, 0);
    assert_true(omt_has(out, "omniva run: 0 clips made"));
    assert_false(omt_has(out, "clips finished"));
    assert_false(omt_has(out, "{\"ts\""));
    free(out);

    /* no terminal: JSON lines on stderr (scripts, CI), the summary on stdout */
    assert_int_equal(omt_run(&out, &err, home, "run", "--once", NULL), 0);
    assert_true(omt_has(err, "{\"ts\""));
    assert_true(omt_has(err, "\"level\":\"INFO\""));
    assert_true(omt_has(out, "omniva run: 0 clips made"));
    free(out);
    free(err);
    /* --log-format none: not even then */
    assert_int_equal(omt_run(&out, &err, home, "--log-format", "none", "run", "--once", NULL), 0);
    assert_false(omt_has(err, "{\"ts\""));
    free(out);
    free(err);
    assert_int_equal(om_read_file(logf, 64 << 20, &text, &len), 0);
    assert_true(len > before); /* appended, from every run */
    free(text);
    free(logf);
    om_rmtree(home);
    free(home);
}

/* --once waits for a job in retry backoff instead of exiting with it pending. */
static void test_once_waits_for_retries(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-retry", NULL);
    char *url = db_url(home);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "enqueue", "selftest.write", "--payload",
                             "{\"fail\": \"transient\"}", "--max-attempts", "3", NULL),
                     0);
    char *id = xstrndup(out, strcspn(out, "\n"));
    free(out);
    setenv("OMNIVA_WORKER_BACKOFF_BASE_MS", "700", 1);
    setenv("OMNIVA_WORKER_BACKOFF_CAP_MS", "1500", 1);
    int rc = omt_run(&out, &err, home, "worker", "--once", "--types", "selftest.write", NULL);
    unsetenv("OMNIVA_WORKER_BACKOFF_BASE_MS");
    unsetenv("OMNIVA_WORKER_BACKOFF_CAP_MS");
    assert_int_equal(rc, 0);
    free(out);
    free(err);
    char *sql = xasprintf("SELECT state || ':' || attempt FROM jobs WHERE job_id = '%s'", id);
    char *st = omt_query(url, sql);
    assert_string_equal(st, "dead:3"); /* every retry ran before --once returned */
    free(st);
    free(sql);
    free(id);
    free(url);
    om_rmtree(home);
    free(home);
}

/* After kill -9 of a worker's whole tree, the next --once reclaims its lease at start-up
 * (same host, dead pid) instead of exiting at once or waiting out the 60 s lease. */
static void test_once_reclaims_dead_workers(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-dead", NULL);
    char *url = db_url(home);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "enqueue", "selftest.write", "--payload",
                             "{\"sleep_ms\": 1500}", NULL),
                     0);
    char *id = xstrndup(out, strcspn(out, "\n"));
    free(out);
    char *logfile = xasprintf("%s/worker.log", home);
    const char *env[] = {"OMNIVA_WORKER_LEASE_MS=60000", NULL};
    pid_t w = omt_spawn(home, logfile, env,
                        (const char *[]){"worker", "--types", "selftest.write", NULL});
    assert_true(w > 0);
    char *sql = xasprintf("SELECT state FROM jobs WHERE job_id = '%s'", id);
    int leased = 0;
    for (int i = 0; i < 300 && !leased; i++) {
        char *st = omt_query(url, sql);
        leased = st && !strcmp(st, "leased");
        free(st);
        if (!leased)
            om_sleep_ms(20);
    }
    assert_true(leased);
    /* the whole tree: the job process first (it is a child of the worker), then the worker */
    pid_t kids[16];
    int nk = omt_children(w, NULL, kids, 16);
    for (int i = 0; i < nk; i++)
        kill(kids[i], SIGKILL);
    kill(w, SIGKILL);
    assert_int_equal(omt_wait(w, 5000), 128 + SIGKILL);
    om_sleep_ms(100);
    int64_t t0 = om_mono_ms();
    int rc = omt_run(&out, &err, home, "worker", "--once", "--types", "selftest.write", NULL);
    int64_t took = om_mono_ms() - t0;
    if (rc != 0)
        fail_msg("worker --once: %d\n%s", rc, err);
    assert_true(omt_has(err, "reclaimed"));
    free(out);
    free(err);
    char *st = omt_query(url, sql);
    assert_string_equal(st, "done");
    free(st);
    assert_true(took < 30000);
    char *q = xasprintf("SELECT lease_expiries FROM jobs WHERE job_id = '%s'", id);
    assert_int_equal(omt_query_int(url, q), 1);
    free(q);
    free(sql);
    free(logfile);
    free(id);
    free(url);
    om_rmtree(home);
    free(home);
}

/* GET path from 127.0.0.1:port over a plain socket: the status code, or -1. */
static int http_status(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[256], buf[64] = "";
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    int code = -1;
    if (write(fd, req, (size_t)n) == n && read(fd, buf, sizeof(buf) - 1) > 12)
        code = atoi(buf + 9); /* "HTTP/1.1 200 ..." */
    close(fd);
    return code;
}

/* `omniva run` serves the API beside the workers and stops it with them. */
static void test_run_starts_the_dashboard(void **state)
{
    (void)state;
    char *home = omt_workspace("cli-dash", NULL);
    int port = harness_free_port();
    char *listen = xasprintf("http.listen=127.0.0.1:%d", port);
    char *logfile = xasprintf("%s/run.log", home);
    pid_t r = omt_spawn(home, logfile, NULL,
                        (const char *[]){"--set", listen, "run", "--interval", "3600", NULL});
    assert_true(r > 0);
    int code = -1;
    for (int i = 0; i < 200 && code != 200; i++) {
        om_sleep_ms(50);
        code = http_status(port, "/api/v1/openapi.json");
    }
    assert_int_equal(code, 200);
    char *want = xasprintf("dashboard: http://127.0.0.1:%d/", port);
    int said = 0;
    for (int i = 0; i < 100 && !said; i++) {
        char *out = NULL;
        if (om_read_file(logfile, 0, &out, NULL) == OM_OK)
            said = omt_has(out, want);
        free(out);
        if (!said)
            om_sleep_ms(50);
    }
    assert_true(said);
    free(want);
    kill(r, SIGTERM);
    assert_int_equal(omt_wait(r, 20000), 0);
    assert_int_equal(http_status(port, "/api/v1/openapi.json"), -1); /* stopped with it */
    free(logfile);
    free(listen);
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
        cmocka_unit_test(test_empty_db_url),
        cmocka_unit_test(test_read_only_commands_create_nothing),
        cmocka_unit_test(test_help_version_and_job_types),
        cmocka_unit_test(test_exit_code_rule),
        cmocka_unit_test(test_projects_creators_videos),
        cmocka_unit_test(test_credit_is_not_a_path),
        cmocka_unit_test(test_run_output),
        cmocka_unit_test(test_once_waits_for_retries),
        cmocka_unit_test(test_once_reclaims_dead_workers),
        cmocka_unit_test(test_run_starts_the_dashboard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
