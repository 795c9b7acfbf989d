/*
 * test_paradox.c: Paradox's invariants (src/oversight/paradox.h), built twice
 * (tests/oversight/CMakeLists.txt):
 *   PARADOX_PG 0  SQLite store, SQLite queue
 *   PARADOX_PG 1  PostgreSQL store (harness, a fresh database per test) + Redis queue; the
 *                 checks run as the read-only role the migrations create
 * Each test seeds a small consistent store (one published clip with its video, render,
 * edit job, schedule, upload and ledger packets, real files with their SHA-256), checks
 * that it raises nothing, breaks ONE invariant on purpose and expects exactly one incident;
 * re-running bumps its count, resolving closes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "ledger/anchor.h"
#include "ledger/stardust.h"
#include "oversight/incidents.h"
#include "oversight/paradox.h"
#include "runtime/runtime.h"
#include "stages/stages.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <unistd.h>

#ifndef PARADOX_PG
#define PARADOX_PG 0
#endif

static harness_pg g_pg;
static harness_redis g_redis;
static int g_db_seq;

#define OK(expr)                                                                            \
    do {                                                                                    \
        int rc_ = (expr);                                                                   \
        if (rc_ != OM_OK)                                                                   \
            fail_msg("%s -> %s: %s", #expr, om_error_name(rc_), om_error_msg());             \
    } while (0)

typedef struct fx {
    char *home;
    char url[600];
    om_config *cfg;
    om_store *s;
    om_queue *q;
    char project[OM_UUID_LEN], creator[OM_UUID_LEN], post[OM_UUID_LEN], video[OM_UUID_LEN],
        analysis[OM_UUID_LEN], clip[OM_UUID_LEN], edit[OM_UUID_LEN], schedule[OM_UUID_LEN],
        upload[OM_UUID_LEN], render_artifact[OM_UUID_LEN];
    char *video_path, *render_path;
} fx;

static int group_setup(void **state)
{
    (void)state;
    om_runtime_register_builtin();
    om_stages_register_all();
    if (PARADOX_PG && (harness_pg_start(&g_pg) != 0 || harness_redis_start(&g_redis) != 0))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (PARADOX_PG) {
        harness_pg_stop(&g_pg);
        harness_redis_stop(&g_redis);
    }
    return 0;
}

static void exec(fx *f, const char *sql)
{
    OK(om_store_exec(f->s, sql, NULL, 0, NULL));
}

static void execp(fx *f, const char *sql, const om_val *p, size_t n)
{
    OK(om_store_exec(f->s, sql, p, n, NULL));
}

static void write_file(const char *path, const char *text)
{
    OK(om_write_file_atomic(path, text, strlen(text)));
}

static void packet(fx *f, const char *etype, const char *eid)
{
    char id[OM_UUID_LEN];
    json_t *lin = json_pack("{s:s}", "test", "seed");
    OK(om_store_begin(f->s));
    OK(om_stardust_append(f->s, etype, eid, lin, NULL, id));
    OK(om_store_commit(f->s));
    json_decref(lin);
}

/* One published clip with everything Paradox expects of it. */
static void seed(fx *f)
{
    om_uuid4(f->project);
    om_uuid4(f->creator);
    om_uuid4(f->post);
    om_uuid4(f->video);
    om_uuid4(f->analysis);
    om_uuid4(f->clip);
    om_uuid4(f->edit);
    om_uuid4(f->schedule);
    om_uuid4(f->upload);
    om_uuid4(f->render_artifact);
    f->video_path = xasprintf("%s/media/video.mp4", f->home);
    f->render_path = xasprintf("%s/media/renders/clip.mp4", f->home);
    char *dir = xasprintf("%s/media/renders", f->home);
    OK(om_mkdirs(dir, 0755));
    free(dir);
    write_file(f->video_path, "the source video's bytes");
    write_file(f->render_path, "the rendered clip's bytes");
    char vsum[OM_SHA256_HEX_LEN], rsum[OM_SHA256_HEX_LEN], aid[OM_UUID_LEN];
    OK(om_sha256_file(f->video_path, vsum));
    OK(om_sha256_file(f->render_path, rsum));
    execp(f, "INSERT INTO projects (project_id, name) VALUES (?, 'p')",
          OM_PARAMS(OM_TEXT(f->project)));
    execp(f, "INSERT INTO creators (creator_id, platform, username) VALUES (?, 'local', 'u')",
          OM_PARAMS(OM_TEXT(f->creator)));
    execp(f, "INSERT INTO project_creators (project_id, creator_id) VALUES (?, ?)",
          OM_PARAMS(OM_TEXT(f->project), OM_TEXT(f->creator)));
    execp(f, "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
             "VALUES (?, ?, 'local', 'p1', 'file:///x/video.mp4')",
          OM_PARAMS(OM_TEXT(f->post), OM_TEXT(f->creator)));
    execp(f, "INSERT INTO videos (video_id, post_id, file_path, duration_seconds, checksum) "
             "VALUES (?, ?, ?, 30, ?)",
          OM_PARAMS(OM_TEXT(f->video), OM_TEXT(f->post), OM_TEXT(f->video_path), OM_TEXT(vsum)));
    execp(f, "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, checksum) "
             "VALUES (?, 'source_media', 'videos', ?, ?, ?)",
          OM_PARAMS(OM_TEXT(om_uuid4(aid)), OM_TEXT(f->video), OM_TEXT(f->video_path),
                    OM_TEXT(vsum)));
    execp(f, "INSERT INTO analysis (analysis_id, video_id) VALUES (?, ?)",
          OM_PARAMS(OM_TEXT(f->analysis), OM_TEXT(f->video)));
    execp(f, "INSERT INTO clips (clip_id, video_id, start_time, end_time, status, analysis_id) "
             "VALUES (?, ?, 5, 20, 'PUBLISHED', ?)",
          OM_PARAMS(OM_TEXT(f->clip), OM_TEXT(f->video), OM_TEXT(f->analysis)));
    execp(f, "INSERT INTO edit_jobs (edit_job_id, clip_id, operations, status) "
             "VALUES (?, ?, '{}', 'DONE')",
          OM_PARAMS(OM_TEXT(f->edit), OM_TEXT(f->clip)));
    execp(f, "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, checksum) "
             "VALUES (?, 'render', 'clips', ?, ?, ?)",
          OM_PARAMS(OM_TEXT(f->render_artifact), OM_TEXT(f->clip), OM_TEXT(f->render_path),
                    OM_TEXT(rsum)));
    execp(f, "INSERT INTO schedules (schedule_id, clip_id, status) VALUES (?, ?, 'PUBLISHED')",
          OM_PARAMS(OM_TEXT(f->schedule), OM_TEXT(f->clip)));
    execp(f, "INSERT INTO upload_jobs (upload_job_id, clip_id, status) VALUES (?, ?, 'DONE')",
          OM_PARAMS(OM_TEXT(f->upload), OM_TEXT(f->clip)));
    packet(f, "clips", f->clip); /* select */
    packet(f, "clips", f->clip); /* edit */
    packet(f, "schedules", f->schedule);
    packet(f, "upload_jobs", f->upload);
}

static void redis_flush(void)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "FLUSHALL");
    freeReplyObject(r);
    redisFree(c);
}

static int setup(void **state)
{
    fx *f = xcalloc(1, sizeof(*f));
    *state = f;
    f->home = harness_tmpdir("paradox");
    const char *qurl = "sqlite";
    if (PARADOX_PG) {
        /* a fresh database per test, on the one server */
        om_store *admin = NULL;
        OK(om_store_open(&admin, g_pg.url));
        char *sql = xasprintf("CREATE DATABASE px_%d_%d", (int)getpid(), ++g_db_seq);
        OK(om_store_exec(admin, sql, NULL, 0, NULL));
        free(sql);
        om_store_free(admin);
        snprintf(f->url, sizeof(f->url), "postgres://omniva@127.0.0.1:%d/px_%d_%d", g_pg.port,
                 (int)getpid(), g_db_seq);
        redis_flush();
        qurl = g_redis.url;
    } else {
        snprintf(f->url, sizeof(f->url), "sqlite://%s/omniva.db", f->home);
    }
    f->cfg = om_config_new(f->home);
    OK(om_config_set(f->cfg, "store", "url", f->url));
    OK(om_config_set(f->cfg, "queue", "url", qurl));
    OK(om_store_open(&f->s, f->url));
    OK(om_store_migrate(f->s, NULL));
    OK(om_queue_open(&f->q, qurl, f->s));
    seed(f);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    om_queue_free(f->q);
    om_store_free(f->s);
    om_config_free(f->cfg);
    om_rmtree(f->home);
    free(f->home);
    free(f->video_path);
    free(f->render_path);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static json_t *run(fx *f)
{
    json_t *rep = NULL;
    OK(om_paradox_run(f->s, f->q, f->cfg, &rep));
    return rep;
}

static size_t nviolations(json_t *rep)
{
    return json_array_size(json_object_get(rep, "violations"));
}

static int64_t qint(fx *f, const char *sql, const om_val *p, size_t n)
{
    char *v = NULL;
    int rc = om_store_query_value(f->s, sql, p, n, &v);
    if (rc != OM_OK)
        fail_msg("%s: %s", sql, om_error_msg());
    int64_t x = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return x;
}

static int64_t open_incidents(fx *f)
{
    return qint(f, "SELECT count(*) FROM incidents WHERE resolved_at IS NULL", NULL, 0);
}

/* A clean run: nothing found (prints what was, to help). */
static void expect_clean(fx *f)
{
    json_t *rep = run(f);
    if (nviolations(rep)) {
        char *t = json_dumps(json_object_get(rep, "violations"), JSON_INDENT(2));
        fail_msg("a consistent store raised violations:\n%s", t);
    }
    json_decref(rep);
}

/* Runs, expects exactly one violation of `kind` on (etype, eid) and one open incident for
 * it; returns the incident id (caller frees). */
static char *expect_one(fx *f, const char *kind, const char *etype, const char *eid)
{
    json_t *rep = run(f);
    json_t *vs = json_object_get(rep, "violations");
    if (json_array_size(vs) != 1) {
        char *t = json_dumps(vs, JSON_INDENT(2));
        fail_msg("expected one %s violation, got:\n%s", kind, t);
    }
    json_t *v = json_array_get(vs, 0);
    assert_string_equal(json_string_value(json_object_get(v, "kind")), kind);
    assert_string_equal(json_string_value(json_object_get(v, "entity_type")), etype);
    if (eid)
        assert_string_equal(json_string_value(json_object_get(v, "entity_id")), eid);
    assert_int_equal(open_incidents(f), 1);
    char *id = xstrdup(json_string_value(json_object_get(v, "incident_id")));
    assert_int_equal(qint(f, "SELECT count FROM incidents WHERE incident_id = ?",
                          OM_PARAMS(OM_TEXT(id))),
                     json_is_true(json_object_get(v, "new")) ? 1 : 2);
    json_decref(rep);
    return id;
}

/* Re-running finds it again: the same incident, count + 1, last_seen moved. */
static void expect_bumped(fx *f, const char *id, int64_t count)
{
    char *first = NULL;
    OK(om_store_query_value(f->s, "SELECT last_seen FROM incidents WHERE incident_id = ?",
                            OM_PARAMS(OM_TEXT(id)), &first));
    json_t *rep = run(f);
    assert_int_equal(nviolations(rep), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(rep, "violations"), 0), "incident_id")),
                        id);
    assert_int_equal(json_integer_value(json_object_get(rep, "incidents_bumped")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "incidents_new")), 0);
    json_decref(rep);
    assert_int_equal(qint(f, "SELECT count FROM incidents WHERE incident_id = ?",
                          OM_PARAMS(OM_TEXT(id))),
                     count);
    char *again = NULL;
    OK(om_store_query_value(f->s, "SELECT last_seen FROM incidents WHERE incident_id = ?",
                            OM_PARAMS(OM_TEXT(id)), &again));
    assert_true(strcmp(again, first) > 0);
    assert_int_equal(qint(f, "SELECT count(*) FROM incidents", NULL, 0), 1);
    free(first);
    free(again);
}

/* ---- tests ---- */

static void test_clean_store_raises_nothing(void **state)
{
    fx *f = *state;
    json_t *rep = run(f);
    assert_int_equal(nviolations(rep), 0);
    assert_true(json_is_null(json_object_get(rep, "last_sweep")));
    assert_int_equal(json_array_size(json_object_get(rep, "checks")), 8);
    /* both files (the video and its source_media artifact share one path) were hashed */
    assert_int_equal(json_integer_value(json_object_get(rep, "files_hashed")), 2);
    assert_int_equal(json_integer_value(json_object_get(rep, "files_checked")), 3);
    const char *role = json_string_value(json_object_get(rep, "role"));
    if (PARADOX_PG)
        assert_string_equal(role, "omniva_cognition_ro");
    else
        assert_non_null(strstr(role, "sqlite"));
    json_decref(rep);
    rep = run(f);
    assert_int_equal(nviolations(rep), 0);
    assert_true(json_is_string(json_object_get(rep, "last_sweep")));
    json_decref(rep);
    assert_int_equal(qint(f, "SELECT count(*) FROM incidents", NULL, 0), 0);
    assert_int_equal(qint(f, "SELECT count(*) FROM logs WHERE source = 'paradox'", NULL, 0), 2);
}

static void test_clip_time_bump_and_resolve(void **state)
{
    fx *f = *state;
    expect_clean(f);
    execp(f, "UPDATE clips SET end_time = 45 WHERE clip_id = ?", OM_PARAMS(OM_TEXT(f->clip)));
    char *id = expect_one(f, "clip_time_invalid", "clips", f->clip);
    expect_bumped(f, id, 2);
    expect_bumped(f, id, 3);

    OK(om_incident_resolve(f->s, id, "tester"));
    assert_int_equal(om_incident_resolve(f->s, id, "tester"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "already resolved"));
    char other[OM_UUID_LEN];
    assert_int_equal(om_incident_resolve(f->s, om_uuid4(other), NULL), OM_ENOTFOUND);
    om_error_clear();
    assert_int_equal(open_incidents(f), 0);
    json_t *list = NULL;
    OK(om_incident_list(f->s, 0, NULL, &list));
    assert_int_equal(json_array_size(list), 1);
    json_t *inc = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(inc, "resolved_by")), "tester");
    assert_int_equal(json_integer_value(json_object_get(inc, "count")), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(inc, "evidence"),
                                                          "video_id")),
                        f->video);
    json_decref(list);

    /* still violated after resolving: a new incident */
    char *id2 = expect_one(f, "clip_time_invalid", "clips", f->clip);
    assert_string_not_equal(id, id2);
    assert_int_equal(qint(f, "SELECT count(*) FROM incidents", NULL, 0), 2);
    OK(om_incident_list(f->s, 1, NULL, &list));
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* fixed: nothing new */
    execp(f, "UPDATE clips SET end_time = 20 WHERE clip_id = ?", OM_PARAMS(OM_TEXT(f->clip)));
    OK(om_incident_resolve(f->s, id2, NULL));
    expect_clean(f);
    free(id);
    free(id2);
}

static void test_orphan_rows(void **state)
{
    fx *f = *state;
    expect_clean(f);
    char art[OM_UUID_LEN], ghost[OM_UUID_LEN];
    execp(f, "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path) "
             "VALUES (?, 'render', 'clips', ?, '/nowhere.mp4')",
          OM_PARAMS(OM_TEXT(om_uuid4(art)), OM_TEXT(om_uuid4(ghost))));
    char *id = expect_one(f, "orphan_row", "artifacts", art);
    expect_bumped(f, id, 2);
    free(id);
    exec(f, "DELETE FROM incidents");
    exec(f, "DELETE FROM artifacts WHERE path = '/nowhere.mp4'");

    /* a foreign key the database did not enforce (restored dump, foreign_keys off) */
    char sched[OM_UUID_LEN];
    exec(f, PARADOX_PG ? "SET session_replication_role = replica" : "PRAGMA foreign_keys = OFF");
    execp(f, "INSERT INTO schedules (schedule_id, clip_id) VALUES (?, ?)",
          OM_PARAMS(OM_TEXT(om_uuid4(sched)), OM_TEXT(ghost)));
    exec(f, PARADOX_PG ? "SET session_replication_role = origin" : "PRAGMA foreign_keys = ON");
    id = expect_one(f, "orphan_row", "schedules", sched);
    free(id);
}

static void test_orphan_job(void **state)
{
    fx *f = *state;
    om_job_spec spec = OM_JOB_SPEC_INIT;
    char ok_payload[200], ghost[OM_UUID_LEN], bad_payload[200], id[OM_UUID_LEN], bad[OM_UUID_LEN];
    snprintf(ok_payload, sizeof(ok_payload), "{\"clip_id\": \"%s\"}", f->clip);
    spec.type = "edit";
    spec.payload = ok_payload;
    OK(om_queue_enqueue(f->q, &spec, id, NULL));
    expect_clean(f);
    snprintf(bad_payload, sizeof(bad_payload), "{\"clip_id\": \"%s\", \"project_id\": \"%s\"}",
             om_uuid4(ghost), f->project);
    spec.payload = bad_payload;
    spec.delay_ms = 3600 * 1000;
    OK(om_queue_enqueue(f->q, &spec, bad, NULL));
    char *inc = expect_one(f, "orphan_job", "jobs", bad);
    json_t *list = NULL;
    OK(om_incident_list(f->s, 1, "orphan_job", &list));
    json_t *ev = json_object_get(json_array_get(list, 0), "evidence");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "missing"),
                                                          "clip_id")),
                        ghost);
    assert_null(json_object_get(json_object_get(ev, "missing"), "project_id"));
    assert_string_equal(json_string_value(json_object_get(ev, "state")), "delayed");
    json_decref(list);
    expect_bumped(f, inc, 2);
    free(inc);
}

static void job_log(fx *f, const char *job_id, const char *state, const char *msg)
{
    char id[OM_UUID_LEN];
    execp(f, "INSERT INTO job_logs (job_log_id, job_id, attempt, state, level, message) "
             "VALUES (?, ?, 1, ?, 'INFO', ?)",
          OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(job_id), OM_TEXT(state), OM_TEXT(msg)));
}

static void test_illegal_transition(void **state)
{
    fx *f = *state;
    om_job_spec spec = OM_JOB_SPEC_INIT;
    spec.type = "scrape";
    char job[OM_UUID_LEN], gone[OM_UUID_LEN];
    OK(om_queue_enqueue(f->q, &spec, job, NULL));
    /* what the runtime writes for a scrape job: INIT -> FETCH -> PARSE -> SAVE -> DONE */
    job_log(f, job, "INIT", "job started (attempt 1 of 3)");
    job_log(f, job, "FETCH", "INIT -> FETCH");
    job_log(f, job, "FETCH", "FETCH: listed 3 posts -> 3 new");
    job_log(f, job, "PARSE", "FETCH -> PARSE");
    job_log(f, job, "ERROR", "PARSE -> ERROR: feed went away");
    /* a job no longer in the queue: checked against every stage's declared steps */
    job_log(f, om_uuid4(gone), "CUT", "INIT -> CUT");
    expect_clean(f);
    job_log(f, job, "DONE", "FETCH -> DONE");
    char *id = expect_one(f, "illegal_transition", "jobs", job);
    json_t *list = NULL;
    OK(om_incident_list(f->s, 1, NULL, &list));
    json_t *ev = json_object_get(json_array_get(list, 0), "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "job_type")), "scrape");
    assert_string_equal(json_string_value(json_object_get(ev, "from")), "FETCH");
    assert_string_equal(json_string_value(json_object_get(ev, "to")), "DONE");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "legal_next"), 0)),
                        "PARSE");
    json_decref(list);
    expect_bumped(f, id, 2);
    free(id);
}

static void test_checksum_duplicate(void **state)
{
    fx *f = *state;
    char clip2[OM_UUID_LEN], art[OM_UUID_LEN], sum[OM_SHA256_HEX_LEN];
    char *copy = xasprintf("%s/media/renders/clip2.mp4", f->home);
    write_file(copy, "the rendered clip's bytes");
    OK(om_sha256_file(copy, sum));
    execp(f, "INSERT INTO clips (clip_id, video_id, start_time, end_time) VALUES (?, ?, 21, 25)",
          OM_PARAMS(OM_TEXT(om_uuid4(clip2)), OM_TEXT(f->video)));
    expect_clean(f);
    execp(f, "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, checksum) "
             "VALUES (?, 'render', 'clips', ?, ?, ?)",
          OM_PARAMS(OM_TEXT(om_uuid4(art)), OM_TEXT(clip2), OM_TEXT(copy), OM_TEXT(sum)));
    char *id = expect_one(f, "checksum_duplicate", "artifacts.render", sum);
    expect_bumped(f, id, 2);
    free(id);
    free(copy);
}

static void test_published_incomplete(void **state)
{
    fx *f = *state;
    expect_clean(f);
    execp(f, "UPDATE upload_jobs SET status = 'FAILED' WHERE clip_id = ?",
          OM_PARAMS(OM_TEXT(f->clip)));
    char *id = expect_one(f, "published_incomplete", "clips", f->clip);
    json_t *list = NULL;
    OK(om_incident_list(f->s, 1, NULL, &list));
    json_t *missing = json_object_get(json_object_get(json_array_get(list, 0), "evidence"),
                                      "missing");
    assert_int_equal(json_array_size(missing), 2);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), "uploads");
    assert_string_equal(json_string_value(json_array_get(missing, 1)), "upload_packets");
    json_decref(list);
    expect_bumped(f, id, 2);
    free(id);
}

static void test_file_mismatch_and_missing(void **state)
{
    fx *f = *state;
    expect_clean(f);
    om_sleep_ms(50); /* the file's mtime after the sweep's time (coarse clocks) */
    write_file(f->render_path, "somebody re-encoded this");
    char *id = expect_one(f, "file_checksum_mismatch", "artifacts", f->render_artifact);
    /* unchanged since, but an open mismatch is hashed again every sweep */
    expect_bumped(f, id, 2);
    free(id);
    exec(f, "DELETE FROM incidents");
    unlink(f->render_path);
    id = expect_one(f, "file_missing", "artifacts", f->render_artifact);
    expect_bumped(f, id, 2);
    free(id);
}

static void test_ledger_broken(void **state)
{
    fx *f = *state;
    expect_clean(f);
    if (PARADOX_PG)
        exec(f, "ALTER TABLE stardust_metadata DISABLE TRIGGER stardust_metadata_no_update");
    else
        exec(f, "DROP TRIGGER stardust_metadata_no_update");
    exec(f, "UPDATE stardust_metadata SET lineage = '{\"test\": \"forged\"}' WHERE seq = 2");
    char *id = expect_one(f, "ledger_broken", "ledger", "stardust_metadata");
    json_t *rep = run(f);
    json_t *v = json_array_get(json_object_get(rep, "violations"), 0);
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(v, "incident_id")), id);
    json_decref(rep);
    free(id);
}

static void test_ledger_anchor(void **state)
{
    fx *f = *state;
    char *keys = xasprintf("%s/keys", f->home), *dir = xasprintf("%s/anchors", f->home);
    char *path = xasprintf("%s/last.json", dir);
    OK(om_anchor_key_ensure(keys, NULL));
    json_t *anchor = NULL;
    OK(om_anchor_create(f->s, keys, &anchor));
    OK(om_mkdirs(dir, 0755));
    char *text = json_dumps(anchor, JSON_INDENT(2));
    write_file(path, text);
    free(text);
    json_t *rep = run(f);
    assert_int_equal(nviolations(rep), 0);
    json_t *ledger = json_array_get(json_object_get(rep, "checks"), 7);
    assert_string_equal(json_string_value(json_object_get(ledger, "check")), "ledger");
    assert_null(json_object_get(ledger, "note")); /* the anchor was checked */
    json_decref(rep);
    /* the ledger grows: still extends the anchor */
    packet(f, "clips", f->clip);
    expect_clean(f);
    /* a forged anchor (another head): refused */
    json_object_set_new(anchor, "packets", json_integer(2));
    text = json_dumps(anchor, JSON_INDENT(2));
    write_file(path, text);
    free(text);
    char *id = expect_one(f, "ledger_anchor_mismatch", "ledger", "anchor");
    expect_bumped(f, id, 2);
    free(id);
    json_decref(anchor);
    free(keys);
    free(dir);
    free(path);
}

/* PostgreSQL: the role Paradox reads as may write incidents and logs, nothing else. */
static void test_read_only_role(void **state)
{
    fx *f = *state;
    if (!PARADOX_PG)
        skip();
    char *url = xasprintf("%s?options=-c%%20role%%3Domniva_cognition_ro", f->url);
    om_store *ro = NULL;
    OK(om_store_open(&ro, url));
    free(url);
    char *who = NULL;
    OK(om_store_query_value(ro, "SELECT CAST(current_user AS TEXT)", NULL, 0, &who));
    assert_string_equal(who, "omniva_cognition_ro");
    free(who);
    int rc = om_store_exec(ro, "UPDATE clips SET status = 'REJECTED'", NULL, 0, NULL);
    assert_int_not_equal(rc, OM_OK);
    assert_non_null(strstr(om_error_msg(), "permission denied"));
    rc = om_store_exec(ro, "DELETE FROM incidents", NULL, 0, NULL);
    assert_int_not_equal(rc, OM_OK);
    rc = om_store_exec(ro, "UPDATE incidents SET resolved_at = now()", NULL, 0, NULL);
    assert_int_not_equal(rc, OM_OK);
    om_error_clear();
    om_incident inc = {"test", "info", "test", "x", "a test", NULL, 1};
    OK(om_incident_raise(ro, &inc, NULL, NULL));
    OK(om_incident_raise(ro, &inc, NULL, NULL)); /* the bump: UPDATE of count/last_seen */
    assert_int_equal(qint(f, "SELECT count FROM incidents WHERE kind = 'test'", NULL, 0), 2);
    om_store_free(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_store_raises_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clip_time_bump_and_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_transition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checksum_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_published_incomplete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_mismatch_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_anchor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_role, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
