/*
 * test_governance.c: the governance maintenance worker (src/oversight/governance.h) through
 * real workers, built twice (GOVERNANCE_PG 0: SQLite; 1: PostgreSQL + Redis):
 *   - every periodic duty is one unique-keyed job per interval bucket, its interval a setting
 *     (0 turns it off), the dialect's own duties only (views on PostgreSQL, optimize on
 *     SQLite); a periodic run schedules its successor in the next bucket;
 *   - each duty runs: paradox and retention enqueue their jobs, discovery one per project,
 *     infinity ticks, tokens checks the accounts, views refreshes CONCURRENTLY (the unique
 *     indexes are there), optimize runs the PRAGMAs;
 *   - archive: old logs rows move to a gzip archive with a hash chain and a ledger packet;
 *     `ledger verify --archive` accepts it and refuses an altered or a truncated copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "ows.h"
#include "oversight/governance.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <jansson.h>
#include <unistd.h>
#include <zlib.h>

#ifndef GOVERNANCE_PG
#define GOVERNANCE_PG 0
#endif

typedef struct ws {
    char *home;
    om_config *cfg;
    om_store *s;
    om_queue *q;
} ws;

/* A workspace with extra settings ("section", "key", "value" triples, NULL-terminated); on
 * PostgreSQL a database of its own and an empty Redis (ows.h). */
static void ws_open(ws *w, const char *tag, const char *const *settings)
{
    memset(w, 0, sizeof(*w));
    w->home = ows_workspace(tag, settings);
    ows_connect(w->home, &w->cfg, &w->s, &w->q);
}

static void ws_close(ws *w)
{
    ows_release(w->home, w->cfg, w->s, w->q);
}

static char *run(ws *w, int expect, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, w->home, args);
    if (rc != expect)
        fail_msg("omniva %s %s: exit %d (expected %d)\nstdout: %s\nstderr: %s", args[2],
                 args[3] ? args[3] : "", rc, expect, out, err);
    char *both = xasprintf("%s%s", out ? out : "", err ? err : "");
    free(out);
    free(err);
    return both;
}

static int64_t qint(ws *w, const char *sql)
{
    char *v = NULL;
    OK(om_store_query_value(w->s, sql, NULL, 0, &v));
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static om_job_list jobs_of(ws *w, const char *type, const char *state)
{
    om_queue_filter f = {state, type, 1000};
    om_job_list l = {NULL, 0};
    OK(om_queue_list(w->q, &f, &l));
    return l;
}

static int64_t njobs(ws *w, const char *type, const char *state)
{
    om_job_list l = jobs_of(w, type, state);
    int64_t n = (int64_t)l.n;
    om_job_list_free(&l);
    return n;
}

/* No dead job of the type (the errors printed when there are). */
static void no_dead(ws *w, const char *type)
{
    om_job_list l = jobs_of(w, type, "dead");
    for (size_t i = 0; i < l.n; i++)
        fprintf(stderr, "dead %s job %s: %s\n", type, l.jobs[i].payload, l.jobs[i].errors);
    size_t n = l.n;
    om_job_list_free(&l);
    assert_int_equal(n, 0);
}

static void duty_once(ws *w, const char *duty)
{
    char *p = xasprintf("{\"duty\": \"%s\", \"once\": true}", duty);
    free(run(w, 0, (const char *[]){"--log-format", "none", "jobs", "enqueue", "governance",
                                    "--payload", p, "--max-attempts", "1", NULL}));
    free(p);
}

static void work(ws *w, const char *types)
{
    free(run(w, 0, (const char *[]){"--log-format", "none", "worker", "--once", "--types", types,
                                    NULL}));
}

/* ---- the schedule ---- */

static void test_schedule(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "gov-schedule",
            (const char *const[]){"governance", "tokens_interval_s", "0", "governance",
                                  "discovery_interval_s", "604800", NULL});
    size_t n = 0;
    OK(om_governance_schedule(w.s, w.q, w.cfg, 0, &n));
    /* paradox, eclipse, views|optimize, infinity, retention, archive, discovery (weekly
     * here; off by default), stats, not tokens (off here) */
    assert_int_equal(n, 8);
    OK(om_governance_schedule(w.s, w.q, w.cfg, 0, &n));
    assert_int_equal(n, 0); /* the same bucket: the unique keys hold */
    om_job_list l = jobs_of(&w, "governance", NULL);
    assert_int_equal(l.n, 8);
    int saw_views = 0, saw_optimize = 0, saw_tokens = 0;
    for (size_t i = 0; i < l.n; i++) {
        json_t *p = json_loads(l.jobs[i].payload, 0, NULL);
        const char *duty = json_string_value(json_object_get(p, "duty"));
        assert_non_null(duty);
        char *prefix = xasprintf("governance:%s:", duty);
        assert_non_null(l.jobs[i].unique_key);
        assert_true(!strncmp(l.jobs[i].unique_key, prefix, strlen(prefix)));
        assert_int_equal(l.jobs[i].priority, 1);
        saw_views |= !strcmp(duty, "views");
        saw_optimize |= !strcmp(duty, "optimize");
        saw_tokens |= !strcmp(duty, "tokens");
        free(prefix);
        json_decref(p);
    }
    om_job_list_free(&l);
    assert_int_equal(saw_views, GOVERNANCE_PG);
    assert_int_equal(saw_optimize, !GOVERNANCE_PG);
    assert_false(saw_tokens);
    /* --once keys apart from the periodic chain */
    OK(om_governance_schedule(w.s, w.q, w.cfg, 1, &n));
    assert_int_equal(n, 8);

    /* a periodic duty schedules its successor in the next bucket, delayed */
    size_t purged = 0;
    OK(om_queue_purge(w.q, "ready", &purged));
    free(run(&w, 0, (const char *[]){"--log-format", "none", "jobs", "enqueue", "governance",
                                     "--payload", "{\"duty\": \"tokens\", \"interval_s\": 86400}",
                                     NULL}));
    work(&w, "governance");
    no_dead(&w, "governance");
    l = jobs_of(&w, "governance", "delayed");
    assert_int_equal(l.n, 1);
    char *want = xasprintf("governance:tokens:%lld", (long long)(om_now_us() / 1000000 / 86400 + 1));
    assert_string_equal(l.jobs[0].unique_key, want);
    free(want);
    om_job_list_free(&l);
    ws_close(&w);
}

/* ---- every duty runs ---- */

static void test_duties_run(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "gov-duties", (const char *const[]){"infinity", "load_high", "1000", NULL});
    free(run(&w, 0, (const char *[]){"--log-format", "none", "project", "create", "acme", NULL}));
    free(run(&w, 0, (const char *[]){"--log-format", "none", "project", "create", "bolt", NULL}));
    const char *duties[] = {"paradox", "eclipse", GOVERNANCE_PG ? "views" : "optimize",
                            "infinity", "retention", "archive", "tokens", "discovery", "stats"};
    for (size_t i = 0; i < OM_ARRAY_LEN(duties); i++)
        duty_once(&w, duties[i]);
    work(&w, "governance");
    no_dead(&w, "governance");
    assert_int_equal(njobs(&w, "governance", "done"), (int64_t)OM_ARRAY_LEN(duties));
    assert_int_equal(njobs(&w, "governance", "delayed"), 0); /* once: no successors */
    assert_int_equal(njobs(&w, "paradox", NULL), 1);
    assert_int_equal(njobs(&w, "retention", NULL), 1);
    assert_int_equal(njobs(&w, "discovery", NULL), 2); /* one per project */
    assert_int_equal(njobs(&w, "stats", NULL), 1);
    /* the jobs they made run too (stats: nothing published yet, done early) */
    work(&w, "paradox,retention,stats");
    assert_int_equal(njobs(&w, "paradox", "done"), 1);
    assert_int_equal(njobs(&w, "retention", "done"), 1);
    assert_int_equal(njobs(&w, "stats", "done"), 1);
    if (GOVERNANCE_PG) {
        /* each materialized view has the unique index CONCURRENTLY needs, and used it */
        assert_int_equal(qint(&w, "SELECT count(*) FROM pg_matviews m WHERE schemaname = "
                                  "current_schema() AND NOT EXISTS (SELECT 1 FROM pg_indexes i "
                                  "WHERE i.tablename = m.matviewname AND i.indexdef LIKE "
                                  "'CREATE UNIQUE INDEX%')"),
                         0);
        assert_true(qint(&w, "SELECT count(*) FROM pg_matviews WHERE schemaname = "
                             "current_schema()") >= 2);
        assert_int_equal(qint(&w, "SELECT count(*) FROM logs WHERE message LIKE 'REFRESH "
                                  "MATERIALIZED VIEW CONCURRENTLY%failed%'"),
                         0);
        assert_true(qint(&w, "SELECT count(*) FROM logs WHERE message LIKE '%materialized "
                             "view%refreshed%'") >= 1);
    } else {
        assert_true(qint(&w, "SELECT count(*) FROM logs WHERE message LIKE '%PRAGMA optimize%'") >=
                    1);
    }
    assert_true(qint(&w, "SELECT count(*) FROM logs WHERE message LIKE '%accounts checked%'") >=
                1);
    ws_close(&w);
}

/* ---- log archives ---- */

static char *first_archive(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    struct dirent *e;
    char *found = NULL;
    while ((e = readdir(d)) && !found)
        if (strstr(e->d_name, ".jsonl.gz") && !strstr(e->d_name, ".partial"))
            found = xasprintf("%s/%s", dir, e->d_name);
    closedir(d);
    return found;
}

/* Copies the archive's lines to dst, passing each through edit (which may drop it: NULL). */
static void rewrite(const char *src, const char *dst, char *(*edit)(char *line, int n, int total),
                    int total)
{
    gzFile in = gzopen(src, "rb"), out = gzopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    int n = 0;
    while (gzgets(in, buf, sizeof(buf))) {
        char *l = edit(buf, ++n, total);
        if (l)
            gzputs(out, l);
    }
    gzclose(in);
    gzclose(out);
}

static char *alter_fifth(char *line, int n, int total)
{
    (void)total;
    if (n == 5) {
        char *p = strstr(line, "old event");
        if (p)
            memcpy(p, "OLD EVENT", 9);
    }
    return line;
}

static char *drop_last(char *line, int n, int total)
{
    return n == total ? NULL : line;
}

static void test_archive(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "gov-archive", NULL);
    enum { OLD = 30 };
    for (int i = 0; i < OLD; i++) {
        char id[OM_UUID_LEN], ts[OM_TIME_LEN];
        om_uuid4(id);
        om_time_iso(ts, om_now_us() - (40LL * 86400 - i) * 1000000LL);
        char *msg = xasprintf("old event %d", i);
        OK(om_store_exec(w.s,
                         "INSERT INTO logs (log_id, source, level, message, metadata, created_at) "
                         "VALUES (?, 'test', 'INFO', ?, ?, ?)",
                         OM_PARAMS(OM_TEXT(id), OM_TEXT(msg), OM_JSON("{\"i\":1}"), OM_TEXT(ts)),
                         NULL));
        free(msg);
    }
    int64_t recent = qint(&w, "SELECT count(*) FROM logs WHERE source <> 'test'");
    duty_once(&w, "archive");
    work(&w, "governance");
    assert_int_equal(qint(&w, "SELECT count(*) FROM logs WHERE source = 'test'"), 0);
    assert_true(qint(&w, "SELECT count(*) FROM logs WHERE source <> 'test'") >= recent);
    assert_int_equal(qint(&w, "SELECT count(*) FROM stardust_metadata WHERE entity_type = "
                              "'log_archives'"),
                     1);
    char *dir = xasprintf("%s/archive", w.home);
    char *file = first_archive(dir);
    assert_non_null(file);
    char *out = run(&w, 0, (const char *[]){"--log-format", "none", "ledger", "verify",
                                            "--archive", file, NULL});
    assert_true(omt_has(out, "archive ok: 30 logs rows"));
    free(out);
    out = run(&w, 0, (const char *[]){"--log-format", "none", "ledger", "verify", NULL});
    free(out);
    /* a second run finds nothing old */
    duty_once(&w, "archive");
    work(&w, "governance");
    assert_int_equal(qint(&w, "SELECT count(*) FROM stardust_metadata WHERE entity_type = "
                              "'log_archives'"),
                     1);

    char *bad = xasprintf("%s/altered.jsonl.gz", w.home);
    rewrite(file, bad, alter_fifth, OLD);
    out = run(&w, 1, (const char *[]){"--log-format", "none", "ledger", "verify", "--archive",
                                      bad, NULL});
    assert_true(omt_has(out, "line 5"));
    assert_true(omt_has(out, "altered"));
    free(out);
    rewrite(file, bad, drop_last, OLD);
    out = run(&w, 1, (const char *[]){"--log-format", "none", "ledger", "verify", "--archive",
                                      bad, NULL});
    assert_true(omt_has(out, "no ledger packet"));
    free(out);
    char *missing = xasprintf("%s/nope.jsonl.gz", w.home);
    out = run(&w, 1, (const char *[]){"--log-format", "none", "ledger", "verify", "--archive",
                                      missing, NULL});
    assert_true(omt_has(out, "cannot be read"));
    free(out);
    free(missing);
    free(bad);
    free(file);
    free(dir);
    ws_close(&w);
}

static int group_setup(void **state)
{
    (void)state;
    om_runtime_register_builtin();
    return ows_start(GOVERNANCE_PG);
}

static int group_teardown(void **state)
{
    (void)state;
    ows_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_duties_run),
        cmocka_unit_test(test_archive),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
