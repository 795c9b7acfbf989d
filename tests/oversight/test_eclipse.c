/*
 * test_eclipse.c: Eclipse (src/oversight/eclipse.h) against what real workers record: jobs
 * run by `omniva worker --once` (the real runtime writes the outcome events and the dead
 * letters), sweeps run in this process on the same workspace. Built twice
 * (tests/oversight/CMakeLists.txt): ECLIPSE_PG 0 on the SQLite store and queue, ECLIPSE_PG 1
 * on PostgreSQL (a fresh database per test on one harness server) + Redis (flushed per test).
 *   - the message normaliser that clusters errors;
 *   - dead letters: one incident per cluster, re-sweeps bump, resolved clusters stay quiet
 *     until a job of theirs dies again;
 *   - a creator whose scrapes keep failing: breaker open (incident, `creator list` shows
 *     it), skipped by the re-scrape, half-open after the cool-down, closed by a success,
 *     open again when the half-open retry fails;
 *   - a job type failing at a high rate: paused (not claimed), a failed probe keeps it
 *     paused, a successful probe resumes it;
 *   - ERROR/FATAL log lines: one incident per source and normalised message, capped.
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
#include "oversight/eclipse.h"
#include "oversight/incidents.h"
#include "runtime/runtime.h"

#include <jansson.h>
#include <unistd.h>

#ifndef ECLIPSE_PG
#define ECLIPSE_PG 0
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

static void run_ok(ws *w, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, w->home, args);
    if (rc != 0)
        fail_msg("omniva %s %s: exit %d\nstdout: %s\nstderr: %s", args[0], args[1] ? args[1] : "",
                 rc, out, err);
    free(out);
    free(err);
}

/* `omniva jobs enqueue`; id_out (may be NULL) receives the new job's id. */
static void enqueue_id(ws *w, const char *type, const char *payload, char id_out[OM_UUID_LEN])
{
    const char *args[] = {"--log-format", "none", "jobs", "enqueue", type, "--payload",
                          payload, "--max-attempts", "1", NULL};
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, w->home, args);
    if (rc != 0)
        fail_msg("omniva jobs enqueue %s: exit %d\nstdout: %s\nstderr: %s", type, rc, out, err);
    if (id_out) {
        size_t n = strcspn(out, " \n");
        assert_int_equal(n, OM_UUID_LEN - 1);
        memcpy(id_out, out, n);
        id_out[n] = '\0';
    }
    free(out);
    free(err);
}

static void enqueue(ws *w, const char *type, const char *payload)
{
    enqueue_id(w, type, payload, NULL);
}

/* Jobs of `type` (in `state`, NULL: any) in the queue, whichever backend. */
static int64_t njobs(ws *w, const char *type, const char *state)
{
    om_queue_filter f = {state, type, 1000};
    om_job_list l = {NULL, 0};
    OK(om_queue_list(w->q, &f, &l));
    int64_t n = (int64_t)l.n;
    om_job_list_free(&l);
    return n;
}

static void work(ws *w, const char *types)
{
    run_ok(w, (const char *[]){"--log-format", "none", "worker", "--once", "--types", types,
                               NULL});
}

/* A sweep after the events are older than the sweep's lag. */
static json_t *sweep(ws *w)
{
    om_sleep_ms(1100);
    json_t *rep = NULL;
    OK(om_eclipse_sweep(w->s, w->q, w->cfg, &rep));
    return rep;
}

static json_t *incidents(ws *w, const char *kind, int open_only)
{
    json_t *l = NULL;
    OK(om_incident_list(w->s, open_only, kind, &l));
    return l;
}

static int64_t rep_int(json_t *rep, const char *key)
{
    return json_integer_value(json_object_get(rep, key));
}

static int in_list(json_t *rep, const char *key, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rep, key), i, v) if (!strcmp(json_string_value(v), value))
        return 1;
    return 0;
}

static int64_t qint(ws *w, const char *sql)
{
    char *v = NULL;
    OK(om_store_query_value(w->s, sql, NULL, 0, &v));
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* ---- the normaliser ---- */

static void test_normalise(void **state)
{
    (void)state;
    static const char *const same[][2] = {
        {"selftest: /tmp/omniva-x/flag-1 exists", "selftest: /tmp/omniva-x/flag-22 exists"},
        {"job 0b6e3c1e-8f3a-4c8e-9d1a-7f6e5d4c3b2a timed out after 600000 ms",
         "job 7a1f2e3d-4c5b-4a69-8788-99aabbccddee timed out after 30000 ms"},
        {"checksum 3fa0c1d2e3f4a5b6 differs", "checksum 99ab77cd01ef2345 differs"},
        {"attempt 3 of 3:  broken   pipe", "attempt 1 of 3: broken pipe"},
    };
    for (size_t i = 0; i < OM_ARRAY_LEN(same); i++) {
        char *a = om_incident_normalise(same[i][0]), *b = om_incident_normalise(same[i][1]);
        if (strcmp(a, b) != 0)
            fail_msg("'%s' and '%s' should cluster: '%s' vs '%s'", same[i][0], same[i][1], a, b);
        free(a);
        free(b);
    }
    char *n = om_incident_normalise("job 0b6e3c1e-8f3a-4c8e-9d1a-7f6e5d4c3b2a: 12 of 30 (h264)");
    assert_string_equal(n, "job <id>: <n> of <n> (h<n>)");
    free(n);
    char *a = om_incident_normalise("no such file"), *b = om_incident_normalise("disk full");
    assert_string_not_equal(a, b);
    char s1[13], s2[13], s3[13];
    om_incident_signature("fetch", a, s1);
    om_incident_signature("fetch", a, s2);
    om_incident_signature("scrape", a, s3);
    assert_string_equal(s1, s2);
    assert_string_not_equal(s1, s3);
    assert_int_equal(strlen(s1), 12);
    free(a);
    free(b);
}

/* ---- dead letters ---- */

static json_t *cluster_of(json_t *list, int64_t jobs)
{
    size_t i;
    json_t *inc;
    json_array_foreach(list, i, inc)
    {
        json_t *ev = json_object_get(inc, "evidence");
        if (json_integer_value(json_object_get(ev, "jobs")) == jobs)
            return inc;
    }
    return NULL;
}

static void test_dead_letter_clusters(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "eclipse-dead", NULL);
    const char *flags[] = {"flag-1", "flag-22", "flag-333", "flag-4444"};
    char *paths[4];
    for (size_t i = 0; i < 4; i++) {
        paths[i] = xasprintf("%s/%s", w.home, flags[i]);
        OK(om_write_file_atomic(paths[i], "x", 1));
    }
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("{\"fail_while_file\": \"%s\"}", paths[i]);
        enqueue(&w, "selftest.write", p);
        free(p);
    }
    enqueue(&w, "selftest.write", "{\"fail\": \"permanent\"}");
    enqueue(&w, "selftest.write", "{\"fail\": \"permanent\"}");
    work(&w, "selftest.write");

    json_t *rep = sweep(&w);
    assert_int_equal(rep_int(rep, "dead_letter_clusters"), 2);
    assert_int_equal(rep_int(rep, "incidents_new"), 2);
    assert_int_equal(rep_int(rep, "log_incidents"), 0); /* dead letters are not log errors */
    json_decref(rep);
    json_t *l = incidents(&w, "dead_letters", 1);
    assert_int_equal(json_array_size(l), 2);
    json_t *flagged = cluster_of(l, 3), *perm = cluster_of(l, 2);
    assert_non_null(flagged);
    assert_non_null(perm);
    json_t *ev = json_object_get(flagged, "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "job_type")), "selftest.write");
    assert_non_null(strstr(json_string_value(json_object_get(ev, "pattern")), "flag-<n> exists"));
    assert_int_equal(json_array_size(json_object_get(ev, "job_ids")), 3);
    assert_string_equal(json_string_value(json_object_get(flagged, "entity_type")),
                        "dead_letter_cluster");
    char *flagged_id = xstrdup(json_string_value(json_object_get(flagged, "incident_id")));
    char *perm_id = xstrdup(json_string_value(json_object_get(perm, "incident_id")));
    json_decref(l);

    /* again: the same two incidents, counted */
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "incidents_new"), 0);
    json_decref(rep);
    l = incidents(&w, "dead_letters", 1);
    assert_int_equal(json_array_size(l), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "count")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 1), "count")), 2);
    json_decref(l);

    /* resolved = inspected: quiet until one more of its kind dies */
    OK(om_incident_resolve(w.s, flagged_id, "tester"));
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "incidents_new"), 0);
    json_decref(rep);
    l = incidents(&w, "dead_letters", 1);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "incident_id")),
                        perm_id);
    json_decref(l);
    char *p = xasprintf("{\"fail_while_file\": \"%s\"}", paths[3]);
    enqueue(&w, "selftest.write", p);
    free(p);
    work(&w, "selftest.write");
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "incidents_new"), 1);
    json_decref(rep);
    l = incidents(&w, "dead_letters", 1);
    assert_int_equal(json_array_size(l), 2);
    json_t *fresh = cluster_of(l, 1);
    assert_non_null(fresh);
    assert_string_not_equal(json_string_value(json_object_get(fresh, "incident_id")), flagged_id);
    json_decref(l);

    /* the same sweep as a governance job, through a worker */
    int64_t sweeps = qint(&w, "SELECT count(*) FROM logs WHERE source = 'eclipse' AND message "
                              "LIKE 'eclipse sweep:%'");
    enqueue(&w, "governance", "{\"duty\": \"eclipse\", \"once\": true}");
    work(&w, "governance");
    assert_int_equal(qint(&w, "SELECT count(*) FROM logs WHERE source = 'eclipse' AND message "
                              "LIKE 'eclipse sweep:%'"),
                     sweeps + 1);
    assert_int_equal(njobs(&w, "governance", "done"), 1);
    for (size_t i = 0; i < 4; i++)
        free(paths[i]);
    free(flagged_id);
    free(perm_id);
    ws_close(&w);
}

/* ---- circuit breakers ---- */

static json_t *creator_breaker(ws *w, const char *project)
{
    char *out = NULL;
    int rc = omt_run(&out, NULL, w->home, "--log-format", "none", "creator", "list", project,
                     "--json", NULL);
    assert_int_equal(rc, 0);
    json_t *arr = json_loads(out, 0, NULL);
    assert_non_null(arr);
    json_t *b = json_incref(json_object_get(json_array_get(arr, 0), "breaker"));
    json_decref(arr);
    free(out);
    return b;
}

/* The breaker's state as `creator list` shows it (static storage). */
static const char *bstate(json_t *b)
{
    static char st[32];
    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(b, "state")));
    json_decref(b);
    return st;
}

static void rescrape(ws *w, int interval_s)
{
    /* a distinct interval gives the scrape a key of its own (scrape:P:C:BUCKET) */
    char *p = xasprintf("{\"once\": true, \"interval_s\": %d}", interval_s);
    enqueue(w, "rescrape", p);
    free(p);
    work(w, "rescrape");
}

static void test_circuit_breaker(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "eclipse-breaker",
            (const char *const[]){"eclipse", "breaker_failures", "2", "eclipse",
                                  "breaker_cooldown_s", "6", NULL});
    char *folder = xasprintf("%s/footage", w.home), *url = xasprintf("file://%s", folder);
    OK(om_mkdirs(folder, 0755));
    run_ok(&w, (const char *[]){"--log-format", "none", "project", "create", "acme", NULL});
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, w.home, "--log-format", "none", "creator", "add", "acme",
                             url, "--json", NULL),
                     0);
    json_t *cj = json_loads(out, 0, NULL);
    free(out);
    char creator[OM_UUID_LEN], project[OM_UUID_LEN];
    snprintf(creator, sizeof(creator), "%s",
             json_string_value(json_object_get(cj, "creator_id")));
    json_decref(cj);
    char *pid = NULL;
    OK(om_store_query_value(w.s, "SELECT project_id FROM projects WHERE name = 'acme'", NULL, 0,
                            &pid));
    snprintf(project, sizeof(project), "%s", pid);
    free(pid);
    char *scrape = xasprintf("{\"project_id\": \"%s\", \"creator_id\": \"%s\"}", project, creator);

    /* the folder goes away: two failed scrapes open the breaker */
    assert_string_equal(bstate(creator_breaker(&w, "acme")), "closed");
    OK(om_rmtree(folder));
    enqueue(&w, "scrape", scrape);
    enqueue(&w, "scrape", scrape);
    work(&w, "scrape");
    json_t *rep = sweep(&w);
    assert_int_equal(rep_int(rep, "breakers_opened"), 1);
    json_decref(rep);
    json_t *b = creator_breaker(&w, "acme");
    assert_string_equal(json_string_value(json_object_get(b, "state")), "open");
    assert_int_equal(json_integer_value(json_object_get(b, "failures")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(b, "last_error")), "does not exist"));
    json_decref(b);
    assert_int_equal(omt_run(&out, NULL, w.home, "--log-format", "none", "creator", "list",
                             "acme", NULL),
                     0);
    assert_true(omt_has(out, "[breaker open after 2 failures]"));
    free(out);
    json_t *l = incidents(&w, "creator_quarantined", 1);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "entity_id")),
                        creator);
    json_decref(l);

    /* the re-scrape skips it (and says so in the incident) */
    int64_t scrapes = njobs(&w, "scrape", NULL);
    rescrape(&w, 10);
    assert_int_equal(njobs(&w, "scrape", NULL), scrapes);
    l = incidents(&w, "creator_quarantined", 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "count")), 2);
    json_decref(l);

    /* after the cool-down: one half-open scrape; it succeeds, the breaker closes */
    OK(om_mkdirs(folder, 0755));
    om_sleep_ms(6100); /* the cool-down (long enough for slow CLI calls before) */
    rescrape(&w, 11);
    assert_string_equal(bstate(creator_breaker(&w, "acme")), "half_open");
    assert_int_equal(njobs(&w, "scrape", NULL), scrapes + 1);
    work(&w, "scrape");
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "breakers_closed"), 1);
    json_decref(rep);
    b = creator_breaker(&w, "acme");
    assert_string_equal(json_string_value(json_object_get(b, "state")), "closed");
    assert_int_equal(json_integer_value(json_object_get(b, "failures")), 0);
    json_decref(b);
    l = incidents(&w, "creator_quarantined", 0);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "resolved_by")),
                        "eclipse");
    json_decref(l);

    /* open again; this time the half-open retry fails: open again, a new incident */
    OK(om_rmtree(folder));
    enqueue(&w, "scrape", scrape);
    enqueue(&w, "scrape", scrape);
    work(&w, "scrape");
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "breakers_opened"), 1);
    json_decref(rep);
    om_sleep_ms(6100); /* the cool-down (long enough for slow CLI calls before) */
    rescrape(&w, 12);
    assert_string_equal(bstate(creator_breaker(&w, "acme")), "half_open");
    work(&w, "scrape");
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "breakers_opened"), 1);
    json_decref(rep);
    b = creator_breaker(&w, "acme");
    assert_string_equal(json_string_value(json_object_get(b, "state")), "open");
    /* 2 + the half-open scrape's attempts (the re-scrape's jobs retry: 3 attempts, all failed) */
    assert_int_equal(json_integer_value(json_object_get(b, "failures")), 2 + 3);
    json_decref(b);
    l = incidents(&w, "creator_quarantined", 1);
    assert_int_equal(json_array_size(l), 1);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(json_array_get(l, 0), "evidence"), "event")),
                           "half-open retry failed"));
    json_decref(l);
    free(scrape);
    free(folder);
    free(url);
    ws_close(&w);
}

/* ---- job type pauses ---- */

static json_t *job_states(ws *w, const char *type)
{
    json_t *o = json_object();
    om_queue_filter f = {NULL, type, 1000};
    om_job_list l = {NULL, 0};
    OK(om_queue_list(w->q, &f, &l));
    for (size_t i = 0; i < l.n; i++)
        json_object_set_new(o, l.jobs[i].id, json_string(l.jobs[i].state));
    om_job_list_free(&l);
    return o;
}

static const char *state_of(ws *w, const char *id)
{
    static char st[16];
    om_job j;
    OK(om_queue_get(w->q, id, &j));
    snprintf(st, sizeof(st), "%s", j.state);
    om_job_release(&j);
    return st;
}

static void test_type_pause_and_probe(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "eclipse-pause",
            (const char *const[]){"eclipse", "pause_min_failures", "3", "eclipse",
                                  "pause_failure_rate", "0.5", "eclipse", "pause_cooldown_s", "6",
                                  NULL});
    for (int i = 0; i < 4; i++)
        enqueue(&w, "selftest.write", "{\"fail\": \"permanent\"}");
    enqueue(&w, "selftest.write", "{}");
    work(&w, "selftest.write");
    json_t *rep = sweep(&w);
    assert_true(in_list(rep, "paused", "selftest.write"));
    json_decref(rep);
    json_t *l = incidents(&w, "job_type_paused", 1);
    assert_int_equal(json_array_size(l), 1);
    json_t *ev = json_object_get(json_array_get(l, 0), "evidence");
    assert_int_equal(json_integer_value(json_object_get(ev, "failed")), 4);
    assert_int_equal(json_integer_value(json_object_get(ev, "succeeded")), 1);
    json_decref(l);

    /* paused: nothing is claimed before the probe is due */
    char bad[OM_UUID_LEN], good[OM_UUID_LEN];
    enqueue_id(&w, "selftest.write", "{\"fail\": \"permanent\"}", bad);
    om_sleep_ms(20);
    enqueue_id(&w, "selftest.write", "{}", good);
    work(&w, "selftest.write");
    assert_string_equal(state_of(&w, bad), "ready");
    assert_string_equal(state_of(&w, good), "ready");

    /* the probe (the first in line) fails: still paused, the next job waits */
    om_sleep_ms(6100);
    work(&w, "selftest.write");
    assert_string_equal(state_of(&w, bad), "dead");
    assert_string_equal(state_of(&w, good), "ready");
    rep = sweep(&w);
    assert_true(in_list(rep, "probes_failed", "selftest.write"));
    assert_false(in_list(rep, "resumed", "selftest.write"));
    json_decref(rep);
    l = incidents(&w, "job_type_paused", 1);
    assert_int_equal(json_array_size(l), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "count")), 2);
    json_decref(l);

    /* the next probe succeeds: resumed, incident resolved */
    om_sleep_ms(6100);
    work(&w, "selftest.write");
    assert_string_equal(state_of(&w, good), "done");
    rep = sweep(&w);
    assert_true(in_list(rep, "resumed", "selftest.write"));
    json_decref(rep);
    l = incidents(&w, "job_type_paused", 0);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "resolved_by")),
                        "eclipse");
    json_decref(l);
    om_queue_pause_info *p = NULL;
    size_t np = 9;
    OK(om_queue_pauses(w.q, &p, &np));
    assert_int_equal(np, 0);
    om_queue_pauses_free(p, np);
    /* the failures before the resume do not pause it again */
    rep = sweep(&w);
    assert_false(in_list(rep, "paused", "selftest.write"));
    json_decref(rep);
    enqueue(&w, "selftest.write", "{}");
    work(&w, "selftest.write");
    json_t *st = job_states(&w, "selftest.write");
    size_t done = 0;
    const char *k;
    json_t *v;
    json_object_foreach(st, k, v) done += !strcmp(json_string_value(v), "done");
    assert_int_equal(done, 3);
    json_decref(st);
    ws_close(&w);
}

/* ---- ERROR/FATAL escalation ---- */

static int logger_step(om_job_ctx *ctx, void *js)
{
    (void)js;
    int round = (int)json_integer_value(json_object_get(ctx->payload, "round"));
    om_err("test_logger", "disk %d full on volume %d", 90 + round, round);
    om_err("test_logger", "disk %d full on volume %d", 95 + round, round + 7);
    om_log_emit(OM_LOG_FATAL, "test_logger", NULL, "lost the database at attempt %d", round);
    om_warn("test_logger", "a warning is no incident %d", round);
    return OM_OK;
}

static const om_step logger_steps[] = {{"INIT", logger_step}, {NULL, NULL}};
static const om_stage logger_stage = {
    .type = "test.logger", .source = "test_logger", .steps = logger_steps};

static void log_round(ws *w, int round)
{
    om_job job;
    memset(&job, 0, sizeof(job));
    om_uuid4(job.id);
    snprintf(job.type, sizeof(job.type), "test.logger");
    snprintf(job.state, sizeof(job.state), "leased");
    job.payload = xasprintf("{\"round\": %d}", round);
    job.attempt = 1;
    job.max_attempts = 1;
    om_job_ctx ctx;
    OK(om_job_ctx_init(&ctx, &job, &logger_stage, w->s, w->q, w->cfg, NULL));
    OK(om_stage_run_inline(&logger_stage, &ctx));
    om_job_ctx_release(&ctx);
    free(job.payload);
}

static void test_error_logs_escalate(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "eclipse-logs", (const char *const[]){"eclipse", "log_incidents_max", "1", NULL});
    log_round(&w, 1);
    json_t *rep = sweep(&w);
    assert_int_equal(rep_int(rep, "incidents_new"), 1); /* capped at one new per sweep */
    assert_true(rep_int(rep, "log_lines_dropped") >= 1);
    json_decref(rep);
    json_t *l = incidents(&w, "log_error", 1);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    /* the next sweep opens the other; the first one's lines are counted, not re-opened */
    log_round(&w, 2);
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "incidents_new"), 1);
    json_decref(rep);
    l = incidents(&w, "log_error", 1);
    assert_int_equal(json_array_size(l), 2);
    size_t i;
    json_t *inc;
    int saw_error = 0, saw_fatal = 0;
    json_array_foreach(l, i, inc)
    {
        const char *sev = json_string_value(json_object_get(inc, "severity"));
        json_t *ev = json_object_get(inc, "evidence");
        const char *pattern = json_string_value(json_object_get(ev, "pattern"));
        assert_string_equal(json_string_value(json_object_get(ev, "source")), "test_logger");
        if (!strcmp(sev, "critical")) {
            saw_fatal = 1;
            assert_string_equal(pattern, "lost the database at attempt <n>");
        } else {
            saw_error = 1;
            assert_string_equal(sev, "error");
            assert_string_equal(pattern, "disk <n> full on volume <n>");
        }
    }
    assert_true(saw_error && saw_fatal);
    json_decref(l);
    /* a third round: both bumped by their lines, nothing new; warnings never count */
    log_round(&w, 3);
    rep = sweep(&w);
    assert_int_equal(rep_int(rep, "incidents_new"), 0);
    json_decref(rep);
    assert_int_equal(qint(&w, "SELECT count(*) FROM incidents WHERE kind = 'log_error'"), 2);
    int64_t total = qint(&w, "SELECT sum(count) FROM incidents WHERE kind = 'log_error'");
    /* first sweep opened one of the two clusters (2 or 1 lines), then 3 lines a round */
    assert_true(total == 2 + 3 + 3 || total == 1 + 3 + 3);
    assert_int_equal(qint(&w, "SELECT count(*) FROM incidents WHERE message LIKE '%warning%'"),
                     0);
    ws_close(&w);
}

static int group_setup(void **state)
{
    (void)state;
    om_runtime_register_builtin();
    return ows_start(ECLIPSE_PG);
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
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_dead_letter_clusters),
        cmocka_unit_test(test_circuit_breaker),
        cmocka_unit_test(test_type_pause_and_probe),
        cmocka_unit_test(test_error_logs_escalate),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
