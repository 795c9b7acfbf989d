/*
 * test_worker.c: black-box tests of the worker runtime through the real `omniva` binary:
 * bad input goes to the dead letters at once with a clear error while good jobs complete,
 * permanent vs transient failures, timeouts, crashes, drain on SIGTERM, lease loss, the
 * supervisor restarting a killed worker, trace/parents propagation, events in logs/job_logs
 * and ledger packets, `jobs retry` and `jobs purge`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "queue/queue.h"
#include "store/store.h"

#include <jansson.h>
#include <signal.h>
#include <unistd.h>

/* A workspace tuned for fast tests: short leases, quick reaping and retries. */
static char *fast_workspace(const char *tag)
{
    char *home = omt_workspace(tag, NULL);
    omt_conf_append(home, "worker", "lease_ms", "1500");
    omt_conf_append(home, "worker", "reap_ms", "300");
    omt_conf_append(home, "worker", "idle_ms", "50");
    omt_conf_append(home, "worker", "backoff_base_ms", "100");
    omt_conf_append(home, "worker", "backoff_cap_ms", "400");
    return home;
}

static char *db_url(const char *home)
{
    return xasprintf("sqlite://%s/omniva.db", home);
}

/* Enqueues through the CLI; returns the job id (caller frees). */
static char *enqueue(const char *home, const char *type, const char *payload, ...)
{
    const char *args[32] = {"jobs", "enqueue", type};
    size_t n = 3;
    if (payload) {
        args[n++] = "--payload";
        args[n++] = payload;
    }
    va_list ap;
    va_start(ap, payload);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, home, args);
    if (rc != 0)
        fprintf(stderr, "enqueue %s failed: %s\n", type, err);
    assert_int_equal(rc, 0);
    out[strcspn(out, "\n")] = '\0';
    assert_true(om_uuid_valid(out));
    free(err);
    return out;
}

/* Inserts a job row directly (payloads the queue API would refuse). */
static char *insert_raw_job(const char *home, const char *type, const char *payload)
{
    char id[OM_UUID_LEN];
    om_uuid4(id);
    char *url = db_url(home);
    char *sql = xasprintf("INSERT INTO jobs (job_id, type, state, priority, payload, not_before, "
                          "created_at, updated_at) VALUES ('%s', '%s', 'ready', 5, '%s', now(), "
                          "now(), now())",
                          id, type, payload);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    free(url);
    return xstrdup(id);
}

static json_t *job_show(const char *home, const char *id)
{
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, home, "jobs", "show", id, "--json", NULL);
    if (rc != 0)
        fprintf(stderr, "jobs show %s: %s\n", id, err);
    assert_int_equal(rc, 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    assert_non_null(j);
    free(out);
    free(err);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void assert_state(const char *home, const char *id, const char *state)
{
    json_t *j = job_show(home, id);
    if (strcmp(jstr(j, "state"), state) != 0) {
        char *d = json_dumps(j, JSON_INDENT(1));
        fprintf(stderr, "job %s: expected state %s, got:\n%s\n", id, state, d);
        free(d);
    }
    assert_string_equal(jstr(j, "state"), state);
    json_decref(j);
}

/* The last recorded error of a job. */
static char *last_error(const char *home, const char *id)
{
    json_t *j = job_show(home, id);
    json_t *errs = json_object_get(j, "errors");
    json_t *last = json_array_get(errs, json_array_size(errs) - 1);
    char *e = xstrdup(last ? jstr(last, "error") : "");
    json_decref(j);
    return e;
}

static int run_once(const char *home, const char *types)
{
    char *err = NULL;
    int rc = omt_run(NULL, &err, home, "worker", "--types", types, "--once", NULL);
    if (rc != 0)
        fprintf(stderr, "worker --once exited %d:\n%s\n", rc, err);
    free(err);
    return rc;
}

/* Polls the job until it reaches `state` or timeout_ms passes. */
static int wait_state(const char *home, const char *id, const char *state, int64_t timeout_ms)
{
    char *url = db_url(home);
    char *sql = xasprintf("SELECT state FROM jobs WHERE job_id = '%s'", id);
    int64_t end = om_mono_ms() + timeout_ms;
    int ok = 0;
    while (!ok && om_mono_ms() < end) {
        char *s = omt_query(url, sql);
        ok = s && !strcmp(s, state);
        free(s);
        if (!ok)
            om_sleep_ms(50);
    }
    free(sql);
    free(url);
    return ok;
}

static void test_bad_input_dead_letters_while_good_jobs_complete(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-bad");
    char *url = db_url(home);
    char *good[3];
    for (int i = 0; i < 3; i++)
        good[i] = enqueue(home, "selftest.write", "{\"n\": 1}", NULL);
    char *unknown = enqueue(home, "nosuch.type", NULL, NULL);
    char *perm = enqueue(home, "selftest.write", "{\"fail\": \"permanent\"}", NULL);
    char *jump = enqueue(home, "selftest.write", "{\"fail\": \"bad_transition\"}", NULL);
    char *dup = insert_raw_job(home, "selftest.write", "{\"a\": 1, \"a\": 2}");
    char *arr = insert_raw_job(home, "selftest.write", "[1, 2]");

    assert_int_equal(run_once(home, "selftest.write,nosuch.type"), 0);

    for (int i = 0; i < 3; i++)
        assert_state(home, good[i], "done");
    assert_int_equal(omt_query_int(url, "SELECT COUNT(*) FROM artifacts WHERE kind = 'selftest'"),
                     3);

    assert_state(home, unknown, "dead");
    char *e = last_error(home, unknown);
    assert_string_equal(e, "unknown job type 'nosuch.type'");
    free(e);

    assert_state(home, dup, "dead");
    e = last_error(home, dup);
    assert_true(omt_has(e, "malformed payload: duplicate object key"));
    free(e);

    assert_state(home, arr, "dead");
    e = last_error(home, arr);
    assert_string_equal(e, "malformed payload: not a JSON object");
    free(e);

    /* stage code breaking its state machine is reported, not obeyed */
    assert_state(home, jump, "dead");
    e = last_error(home, jump);
    assert_string_equal(e, "illegal state transition INIT -> DONE for job type "
                           "'selftest.write' (next legal state: WRITE or ERROR)");
    free(e);

    json_t *j = job_show(home, perm);
    assert_string_equal(jstr(j, "state"), "dead");
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 1); /* no retries */
    assert_true(omt_has(jstr(json_array_get(json_object_get(j, "errors"), 0), "error"),
                        "permanent failure requested"));
    json_decref(j);

    /* events: JSON lines went to logs and job_logs; completions wrote ledger packets */
    char *sql = xasprintf("SELECT COUNT(*) FROM job_logs WHERE job_id = '%s'", good[0]);
    assert_true(omt_query_int(url, sql) >= 4); /* started, WRITE, DONE, done */
    free(sql);
    /* the completion says what the job cost, and the logs row carries it as fields */
    sql = xasprintf("SELECT COUNT(*) FROM job_logs WHERE job_id = '%s' AND message LIKE "
                    "'job done in %% ms (wall %% ms, cpu %% ms, peak %% MiB)'", good[0]);
    assert_int_equal(omt_query_int(url, sql), 1);
    free(sql);
    sql = xasprintf("SELECT COUNT(*) FROM logs WHERE metadata LIKE '%%%s%%' AND metadata LIKE "
                    "'%%\"cpu_ms\":%%' AND metadata LIKE '%%\"max_rss_kb\":%%'", good[0]);
    assert_true(omt_query_int(url, sql) >= 1);
    free(sql);
    sql = xasprintf("SELECT COUNT(*) FROM logs WHERE source = 'selftest_worker' AND "
                    "metadata LIKE '%%%s%%'", good[0]);
    assert_true(omt_query_int(url, sql) >= 3);
    free(sql);
    sql = xasprintf("SELECT COUNT(*) FROM logs WHERE level = 'ERROR' AND "
                    "message LIKE '%%unknown job type%%' AND metadata LIKE '%%%s%%'", unknown);
    assert_int_equal(omt_query_int(url, sql), 1);
    free(sql);

    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "show", good[0], "--json", NULL), 0);
    json_t *packets = json_loads(out, 0, NULL);
    free(out);
    assert_int_equal(json_array_size(packets), 1);
    json_t *p = json_array_get(packets, 0);
    assert_string_equal(jstr(p, "entity_type"), "jobs");
    json_t *lin = json_object_get(p, "lineage");
    assert_string_equal(jstr(lin, "job_type"), "selftest.write");
    assert_string_equal(jstr(lin, "trace_id"), good[0]);
    assert_int_equal(json_integer_value(json_object_get(lin, "attempt")), 1);
    assert_true(json_is_array(json_object_get(lin, "parents")));
    char *chain = json_dumps(json_object_get(p, "decision_chain"), JSON_COMPACT);
    assert_true(omt_has(chain, "\"CLAIMED\""));
    assert_true(omt_has(chain, "\"WRITE\""));
    assert_true(omt_has(chain, "\"DONE\""));
    free(chain);
    json_decref(packets);
    /* the failure of the unknown-type job is in the ledger too */
    sql = xasprintf("SELECT COUNT(*) FROM stardust_metadata WHERE entity_id = '%s'", unknown);
    assert_int_equal(omt_query_int(url, sql), 1);
    free(sql);
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);

    /* purge the dead letters: exactly the five dead jobs go, the done ones stay */
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "purge", "--state", "dead", "--json",
                             NULL),
                     0);
    json_t *pj = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(pj, "purged")), 5);
    json_decref(pj);
    free(out);
    assert_int_equal(omt_query_int(url, "SELECT COUNT(*) FROM jobs WHERE state = 'dead'"), 0);
    assert_int_equal(omt_query_int(url, "SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 3);
    assert_int_equal(omt_run(NULL, NULL, home, "jobs", "show", perm, NULL), 1);

    for (int i = 0; i < 3; i++)
        free(good[i]);
    free(unknown);
    free(perm);
    free(jump);
    free(dup);
    free(arr);
    free(url);
    om_rmtree(home);
    free(home);
}

static void test_retry_brings_dead_job_back(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-retry");
    char *flag = xasprintf("%s/blocked", home);
    assert_int_equal(om_write_file_atomic(flag, "x", 1), 0);
    char *payload = xasprintf("{\"fail_while_file\": \"%s\"}", flag);
    char *id = enqueue(home, "selftest.write", payload, NULL);
    assert_int_equal(run_once(home, "selftest.write"), 0);
    assert_state(home, id, "dead");

    /* retrying a job that is not dead is refused with a clear error */
    char *other = enqueue(home, "selftest.write", "{}", "--delay", "3600", NULL);
    char *err = NULL;
    assert_int_equal(omt_run(NULL, &err, home, "jobs", "retry", other, NULL), 1);
    assert_true(omt_has(err, "omniva: error: cannot retry job"));
    free(err);

    unlink(flag);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "retry", id, NULL), 0);
    assert_true(omt_has(out, "ready again"));
    free(out);
    assert_state(home, id, "ready");
    assert_int_equal(run_once(home, "selftest.write"), 0);
    json_t *j = job_show(home, id);
    assert_string_equal(jstr(j, "state"), "done");
    assert_int_equal(json_array_size(json_object_get(j, "errors")), 1); /* history kept */
    json_decref(j);
    char *url = db_url(home);
    char *sql = xasprintf("SELECT COUNT(*) FROM artifacts WHERE entity_id = '%s'", id);
    assert_int_equal(omt_query_int(url, sql), 1);
    free(sql);
    free(url);
    free(other);
    free(id);
    free(payload);
    free(flag);
    om_rmtree(home);
    free(home);
}

static void test_transient_failures_retry_then_dead(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-transient");
    char *id = enqueue(home, "selftest.write", "{\"fail\": \"transient\"}", "--max-attempts", "3",
                       NULL);
    char *log = xasprintf("%s/worker.log", home);
    const char *args[] = {"worker", "--types", "selftest.write", NULL};
    pid_t pid = omt_spawn(home, log, NULL, args);
    assert_true(pid > 0);
    int dead = wait_state(home, id, "dead", 20000);
    kill(pid, SIGTERM);
    assert_int_equal(omt_wait(pid, 10000), 0);
    assert_true(dead);
    json_t *j = job_show(home, id);
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 3);
    json_t *errs = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errs), 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(omt_has(jstr(json_array_get(errs, i), "error"), "transient failure"));
    json_decref(j);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "show", id, NULL), 0);
    assert_true(omt_has(out, "errors (3):"));
    assert_true(omt_has(out, "retry scheduled"));
    free(out);
    free(log);
    free(id);
    om_rmtree(home);
    free(home);
}

static void test_timeout_and_crash(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-timeout");
    omt_conf_append(home, "worker", "timeout_ms", "700");
    char *slow = enqueue(home, "selftest.write", "{\"sleep_ms\": 20000}", "--max-attempts", "1",
                         NULL);
    char *crash = enqueue(home, "selftest.write", "{\"fail\": \"crash\"}", "--max-attempts", "1",
                          NULL);
    int64_t t0 = om_mono_ms();
    assert_int_equal(run_once(home, "selftest.write"), 0);
    assert_true(om_mono_ms() - t0 < 15000);
    assert_state(home, slow, "dead");
    char *e = last_error(home, slow);
    assert_string_equal(e, "timed out after 700 ms");
    free(e);
    assert_state(home, crash, "dead");
    e = last_error(home, crash);
    assert_true(omt_has(e, "killed by signal 9"));
    free(e);
    /* what a dying job started in another process group does not outlive it */
    char *pidfile = xasprintf("%s/orphan.pid", home);
    char *payload = xasprintf("{\"orphan\": \"%s\", \"fail\": \"crash\"}", pidfile);
    char *orphaned = enqueue(home, "selftest.write", payload, "--max-attempts", "1", NULL);
    assert_int_equal(run_once(home, "selftest.write"), 0);
    assert_state(home, orphaned, "dead");
    char *text = NULL;
    assert_int_equal(om_read_file(pidfile, 0, &text, NULL), 0);
    pid_t sleeper = (pid_t)atol(text);
    assert_true(sleeper > 0);
    char *proc = xasprintf("/proc/%ld", (long)sleeper);
    assert_false(om_file_exists(proc)); /* killed and reaped */
    free(proc);
    free(text);
    free(orphaned);
    free(payload);
    free(pidfile);
    free(slow);
    free(crash);
    om_rmtree(home);
    free(home);
}

static void test_drain_on_sigterm(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-drain");
    omt_conf_append(home, "worker", "drain_grace_ms", "5000");
    char *log = xasprintf("%s/worker.log", home);
    const char *args[] = {"worker", "--types", "selftest.write", NULL};

    /* a job that fits in the grace period finishes, then the worker exits 0 */
    char *quick = enqueue(home, "selftest.write", "{\"sleep_ms\": 1200}", NULL);
    pid_t pid = omt_spawn(home, log, NULL, args);
    assert_true(wait_state(home, quick, "leased", 10000));
    om_sleep_ms(200);
    kill(pid, SIGTERM);
    assert_int_equal(omt_wait(pid, 15000), 0);
    assert_state(home, quick, "done");

    /* one that does not is stopped after the grace and released with a retryable error */
    omt_conf_append(home, "worker", "drain_grace_ms", "300");
    char *slow = enqueue(home, "selftest.write", "{\"sleep_ms\": 30000}", NULL);
    pid = omt_spawn(home, log, NULL, args);
    assert_true(wait_state(home, slow, "leased", 10000));
    int64_t t0 = om_mono_ms();
    kill(pid, SIGTERM);
    assert_int_equal(omt_wait(pid, 15000), 0);
    assert_true(om_mono_ms() - t0 < 8000);
    json_t *j = job_show(home, slow);
    const char *st = jstr(j, "state");
    assert_true(!strcmp(st, "ready") || !strcmp(st, "delayed"));
    assert_true(omt_has(jstr(json_array_get(json_object_get(j, "errors"), 0), "error"),
                        "worker stopped"));
    json_decref(j);
    char *text = NULL;
    assert_int_equal(om_read_file(log, 0, &text, NULL), 0);
    assert_true(omt_has(text, "(drained)"));
    free(text);
    free(quick);
    free(slow);
    free(log);
    om_rmtree(home);
    free(home);
}

static void test_lost_lease_is_not_acked(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-lease");
    omt_conf_append(home, "worker", "lease_ms", "900");
    char *url = db_url(home);
    char *id = enqueue(home, "selftest.write", "{\"sleep_ms\": 2500}", "--max-attempts", "5",
                       NULL);
    char *log = xasprintf("%s/worker.log", home);
    const char *args[] = {"worker", "--types", "selftest.write", NULL};
    pid_t pid = omt_spawn(home, log, NULL, args);
    assert_true(wait_state(home, id, "leased", 10000));
    /* someone else takes the lease over: the fencing token moves on */
    char *sql = xasprintf("UPDATE jobs SET token = token + 1 WHERE job_id = '%s'", id);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    /* the worker notices at its next heartbeat, stops the job without acking; the lease
     * expires, the reaper makes it ready, and a later delivery completes it */
    int done = wait_state(home, id, "done", 30000);
    kill(pid, SIGTERM);
    assert_int_equal(omt_wait(pid, 15000), 0);
    assert_true(done);
    sql = xasprintf("SELECT COUNT(*) FROM job_logs WHERE job_id = '%s' AND message LIKE "
                    "'lease lost%%'", id);
    assert_int_equal(omt_query_int(url, sql), 1);
    free(sql);
    sql = xasprintf("SELECT COUNT(*) FROM artifacts WHERE entity_id = '%s'", id);
    assert_int_equal(omt_query_int(url, sql), 1);
    free(sql);
    free(id);
    free(log);
    free(url);
    om_rmtree(home);
    free(home);
}

static void test_trace_and_parents_propagate(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-trace");
    char *url = db_url(home);
    const char *trace = "7d3c1f8e-5a2b-4c6d-9e0f-1a2b3c4d5e6f";
    const char *project = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    char *payload = xasprintf("{\"emit\": \"selftest.write\", \"record\": true, "
                              "\"trace_id\": \"%s\", \"project_id\": \"%s\", \"video_id\": \"%s\"}",
                              trace, project, project);
    char *id = enqueue(home, "selftest.write", payload, NULL);
    assert_int_equal(run_once(home, "selftest.write"), 0);
    assert_state(home, id, "done");
    /* the follow-up job: same trace and project, parents = the packet om_job_record wrote */
    char *sql = xasprintf("SELECT job_id FROM jobs WHERE unique_key = 'selftest-child:%s'", id);
    char *child = omt_query(url, sql);
    free(sql);
    assert_non_null(child);
    json_t *cj = job_show(home, child);
    assert_string_equal(jstr(cj, "state"), "done");
    json_t *cp = json_object_get(cj, "payload");
    assert_string_equal(jstr(cp, "trace_id"), trace);
    assert_string_equal(jstr(cp, "project_id"), project);
    json_t *parents = json_object_get(cp, "parents");
    assert_int_equal(json_array_size(parents), 1);
    const char *parent_packet = json_string_value(json_array_get(parents, 0));
    assert_non_null(parent_packet);
    sql = xasprintf("SELECT entity_id FROM stardust_metadata WHERE stardust_id = '%s'",
                    parent_packet);
    char *eid = omt_query(url, sql);
    free(sql);
    assert_non_null(eid);
    assert_string_equal(eid, id); /* om_job_record packet about the parent job */
    free(eid);
    /* the child's completion packet names the parent packet and the trace */
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "show", child, "--json", NULL), 0);
    json_t *packets = json_loads(out, 0, NULL);
    free(out);
    json_t *lin = json_object_get(json_array_get(packets, 0), "lineage");
    assert_string_equal(jstr(lin, "trace_id"), trace);
    assert_string_equal(jstr(lin, "project_id"), project);
    assert_string_equal(json_string_value(json_array_get(json_object_get(lin, "parents"), 0)),
                        parent_packet);
    json_decref(packets);
    /* log rows carry the trace, project and entity refs */
    sql = xasprintf("SELECT metadata FROM logs WHERE metadata LIKE '%%%s%%' AND message LIKE "
                    "'job started%%'", id);
    char *meta = omt_query(url, sql);
    free(sql);
    assert_non_null(meta);
    assert_true(omt_has(meta, trace));
    assert_true(omt_has(meta, project));
    assert_true(omt_has(meta, "\"video_id\""));
    free(meta);
    json_decref(cj);
    free(child);
    free(id);
    free(payload);
    free(url);
    om_rmtree(home);
    free(home);
}

static void test_supervisor_restarts_killed_worker(void **state)
{
    (void)state;
    char *home = fast_workspace("rt-super");
    char *log = xasprintf("%s/worker.log", home);
    const char *args[] = {"worker", "--types", "selftest.write", "--concurrency", "2", NULL};
    pid_t sup = omt_spawn(home, log, NULL, args);
    pid_t kids[8];
    int n = 0;
    for (int i = 0; i < 100 && n < 2; i++) {
        om_sleep_ms(50);
        n = omt_children(sup, "omniva-worker", kids, 8);
    }
    assert_int_equal(n, 2);
    pid_t victim = kids[0];
    kill(victim, SIGKILL);
    /* the supervisor notices and starts a replacement (after its 1 s crash pause) */
    int replaced = 0;
    for (int i = 0; i < 100 && !replaced; i++) {
        om_sleep_ms(50);
        pid_t now[8];
        int m = omt_children(sup, "omniva-worker", now, 8);
        int has_victim = 0;
        for (int k = 0; k < m; k++)
            has_victim |= now[k] == victim;
        replaced = m == 2 && !has_victim;
    }
    assert_true(replaced);
    /* and it still works */
    char *id = enqueue(home, "selftest.write", "{}", NULL);
    assert_true(wait_state(home, id, "done", 15000));
    kill(sup, SIGTERM);
    assert_int_equal(omt_wait(sup, 15000), 0);
    assert_int_equal(omt_children(sup, NULL, kids, 8), 0);
    char *text = NULL;
    assert_int_equal(om_read_file(log, 0, &text, NULL), 0);
    assert_true(omt_has(text, "killed by signal 9; restarting"));
    free(text);
    free(id);
    free(log);
    om_rmtree(home);
    free(home);
}

/* Cluster mode: PostgreSQL store + Redis queue. Follow-up jobs go through the store's outbox
 * and the worker relays them to Redis after the ack; two worker processes share the work. */
static void test_cluster_mode_postgres_redis(void **state)
{
    (void)state;
    harness_pg pg;
    harness_redis redis;
    if (harness_pg_start(&pg) != 0) {
        fprintf(stderr, "note: PostgreSQL could not be started; cluster case skipped\n");
        skip();
    }
    if (harness_redis_start(&redis) != 0) {
        harness_pg_stop(&pg);
        fprintf(stderr, "note: redis-server could not be started; cluster case skipped\n");
        skip();
    }
    char *home = omt_workspace("rt-cluster", "--db", pg.url, "--queue", redis.url, NULL);
    omt_conf_append(home, "worker", "idle_ms", "50");
    enum { N = 20 };
    /* two through the CLI, the rest in one batch through the library (CLI calls are slow
     * under ASan on a busy machine) */
    char *first = enqueue(home, "selftest.write", "{}", NULL);
    char *second = enqueue(home, "selftest.write",
                           "{\"emit\": \"selftest.write\", \"record\": true}", NULL);
    {
        om_store *s = NULL;
        om_queue *q = NULL;
        assert_int_equal(om_store_open(&s, pg.url), 0);
        assert_int_equal(om_queue_open(&q, redis.url, s), 0);
        om_job_spec specs[N - 2];
        for (int i = 0; i < N - 2; i++) {
            om_job_spec sp = OM_JOB_SPEC_INIT;
            sp.type = "selftest.write";
            sp.payload = i % 2 ? "{}" : "{\"emit\": \"selftest.write\", \"record\": true}";
            specs[i] = sp;
        }
        assert_int_equal(om_queue_enqueue_batch(q, specs, N - 2, NULL), 0);
        om_queue_free(q);
        om_store_free(s);
    }
    char *err = NULL;
    int rc = omt_run(NULL, &err, home, "worker", "--types", "selftest.write", "--concurrency",
                     "2", "--once", NULL);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    free(err);
    assert_int_equal(rc, 0);
    assert_state(home, first, "done");
    assert_state(home, second, "done");
    free(first);
    free(second);
    /* N jobs + N/2 follow-ups: one artifact each; the follow-ups were relayed and done */
    assert_int_equal(omt_query_int(pg.url, "SELECT COUNT(*) FROM artifacts WHERE kind = "
                                           "'selftest'"),
                     N + N / 2);
    assert_int_equal(omt_query_int(pg.url, "SELECT COUNT(*) FROM jobs WHERE state = 'outbox'"),
                     0);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "jobs", "stats", "--json", NULL), 0);
    json_t *st = json_loads(out, 0, NULL);
    free(out);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 0), "done")),
                     N + N / 2);
    json_decref(st);
    /* completion packets + the stages' own packets, one chain across both workers */
    assert_int_equal(omt_query_int(pg.url, "SELECT COUNT(*) FROM stardust_metadata"),
                     N + N / 2 + N / 2);
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);
    assert_true(omt_query_int(pg.url, "SELECT COUNT(*) FROM logs") > 4 * N);
    om_rmtree(home);
    free(home);
    harness_redis_stop(&redis);
    harness_pg_stop(&pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input_dead_letters_while_good_jobs_complete),
        cmocka_unit_test(test_retry_brings_dead_job_back),
        cmocka_unit_test(test_transient_failures_retry_then_dead),
        cmocka_unit_test(test_timeout_and_crash),
        cmocka_unit_test(test_drain_on_sigterm),
        cmocka_unit_test(test_lost_lease_is_not_acked),
        cmocka_unit_test(test_trace_and_parents_propagate),
        cmocka_unit_test(test_supervisor_restarts_killed_worker),
        cmocka_unit_test(test_cluster_mode_postgres_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
