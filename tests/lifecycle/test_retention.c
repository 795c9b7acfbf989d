/*
 * test_retention.c: `omniva retention` through the real binary, on SQLite and PostgreSQL.
 * Files of every class are made under a workspace's media folder and aged through their
 * rows' created_at (raw, derived) or their mtime (orphans); the dry run must list exactly
 * the expected ones, a project's own days must change the plan, the run must delete exactly
 * those with one ledger packet and one logs row each (the ledger still verifies), the source
 * of a published clip must stay, and a second run must find nothing. Then kill -9 during
 * runs: never a file deleted without its marked row and packet, and after a full run no
 * marked row whose file is still there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY_US (86400LL * 1000000)

static harness_pg pg;
static int have_pg;

static char *ago(int64_t days, char buf[OM_TIME_LEN])
{
    return om_time_iso(buf, om_now_us() - days * DAY_US);
}

/* Writes `size` random-ish bytes to home/rel (folders made), mtime `days` ago. */
static void make_file(const char *home, const char *rel, size_t size, int days)
{
    char *path = xasprintf("%s/%s", home, rel);
    char *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    char *data = xmalloc(size);
    om_random_bytes(data, size);
    assert_int_equal(om_write_file_atomic(path, data, size), OM_OK);
    if (days) {
        struct timespec ts[2];
        ts[0].tv_sec = ts[1].tv_sec = time(NULL) - (time_t)days * 86400;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    }
    free(data);
    free(dir);
    free(path);
}

static char *sha_of(const char *home, const char *rel)
{
    char *path = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", home, rel);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(path, sha), OM_OK);
    free(path);
    return xstrdup(sha);
}

static int exists(const char *home, const char *rel)
{
    char *path = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", home, rel);
    int e = om_file_exists(path);
    free(path);
    return e;
}

static void exec_ok(const char *url, const char *sql)
{
    if (omt_exec(url, sql) != 0)
        fail_msg("SQL failed: %s", sql);
}

typedef struct ws {
    char *home, *url, *project, *creator;
    int posts;
} ws;

static char *uuid_new(void)
{
    char id[OM_UUID_LEN];
    return xstrdup(om_uuid4(id));
}

static void ws_open(ws *w, const char *tag, const char *db_url)
{
    memset(w, 0, sizeof(*w));
    if (db_url) {
        w->home = omt_workspace(tag, "--db", db_url, NULL);
        w->url = xstrdup(db_url);
    } else {
        w->home = omt_workspace(tag, NULL);
        w->url = xasprintf("sqlite://%s/omniva.db", w->home);
    }
    w->project = uuid_new();
    w->creator = uuid_new();
    char *sql = xasprintf("INSERT INTO projects (project_id, name) VALUES ('%s', 'acme')",
                          w->project);
    exec_ok(w->url, sql);
    free(sql);
    sql = xasprintf("INSERT INTO creators (creator_id, platform, username) VALUES ('%s', "
                    "'local', 'folder-%s')",
                    w->creator, w->creator);
    exec_ok(w->url, sql);
    free(sql);
    sql = xasprintf("INSERT INTO project_creators (project_id, creator_id) VALUES ('%s', '%s')",
                    w->project, w->creator);
    exec_ok(w->url, sql);
    free(sql);
}

static void ws_close(ws *w)
{
    if (!getenv("OMNIVA_KEEP"))
        om_rmtree(w->home);
    free(w->home);
    free(w->url);
    free(w->project);
    free(w->creator);
}

/* A post + video whose file is media/sources/<id>.mp4 (stored absolute or home-relative),
 * created `days` ago. Returns the video id. */
static char *add_video(ws *w, int days, int relative)
{
    char *vid = uuid_new(), *post = uuid_new();
    char *rel = xasprintf("media/sources/%s.mp4", vid);
    make_file(w->home, rel, 4096, 0);
    char *sha = sha_of(w->home, rel);
    char *stored = relative ? xstrdup(rel) : xasprintf("%s/%s", w->home, rel);
    char t[OM_TIME_LEN];
    char *sql = xasprintf("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, "
                          "url) VALUES ('%s', '%s', 'local', 'p%d', 'file:///x/%d')",
                          post, w->creator, w->posts, w->posts);
    w->posts++;
    exec_ok(w->url, sql);
    free(sql);
    sql = xasprintf("INSERT INTO videos (video_id, post_id, file_path, checksum, created_at) "
                    "VALUES ('%s', '%s', '%s', '%s', '%s')",
                    vid, post, stored, sha, ago(days, t));
    exec_ok(w->url, sql);
    free(sql);
    sql = xasprintf("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, "
                    "checksum, size_bytes, created_at) VALUES ('%s', 'source_media', 'videos', "
                    "'%s', '%s', '%s', 4096, '%s')",
                    post, vid, stored, sha, t); /* the post id is a fine fresh UUID */
    exec_ok(w->url, sql);
    free(sql);
    free(stored);
    free(sha);
    free(rel);
    free(post);
    return vid;
}

/* An artifact of `kind` for entity (table etype) with its file at rel, `days` old. */
static char *add_artifact(ws *w, const char *kind, const char *etype, const char *entity,
                          const char *rel, int days)
{
    char *aid = uuid_new();
    make_file(w->home, rel, 2048, 0);
    char *sha = sha_of(w->home, rel);
    char t[OM_TIME_LEN];
    char *sql = xasprintf("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                          "path, checksum, size_bytes, created_at) VALUES ('%s', '%s', '%s', "
                          "'%s', '%s/%s', '%s', 2048, '%s')",
                          aid, kind, etype, entity, w->home, rel, sha, ago(days, t));
    exec_ok(w->url, sql);
    free(sql);
    free(sha);
    return aid;
}

static char *add_clip(ws *w, const char *video, const char *status, double start)
{
    char *cid = uuid_new();
    char *sql = xasprintf("INSERT INTO clips (clip_id, video_id, start_time, end_time, status) "
                          "VALUES ('%s', '%s', %f, %f, '%s')",
                          cid, video, start, start + 20, status);
    exec_ok(w->url, sql);
    free(sql);
    return cid;
}

static json_t *run_json(ws *w, const char *const *args, int want_rc)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, w->home, args);
    if (rc != want_rc)
        fail_msg("omniva %s %s: rc %d (want %d)\nstdout: %s\nstderr: %s", args[0], args[1], rc,
                 want_rc, out, err);
    json_error_t je;
    json_t *j = json_loads(out ? out : "", 0, &je);
    if (!j)
        fail_msg("not JSON: %s", out);
    free(out);
    free(err);
    return j;
}

/* The set of "path" values of a report list, sorted, joined by '\n'. */
static char *paths_of(json_t *list)
{
    size_t n = json_array_size(list);
    const char **p = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        p[i] = json_string_value(json_object_get(json_array_get(list, i), "path"));
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(p[i], p[j]) > 0) {
                const char *t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sb_printf(&sb, "%s\n", p[i]);
    free(p);
    return sb_detach(&sb);
}

static void rules_on(const char *db_url, const char *tag)
{
    ws w;
    ws_open(&w, tag, db_url);
    char t[OM_TIME_LEN];
    (void)t;
    /* raw: old without a published clip (with subtitles), old with one, young */
    char *v_old = add_video(&w, 120, 0);
    char *v_pub = add_video(&w, 120, 1);
    char *v_new = add_video(&w, 10, 0);
    char *subs_rel = xasprintf("media/subs/%s.srt", v_old);
    char *subs = add_artifact(&w, "subtitle", "videos", v_old, subs_rel, 120);
    char *k_pub = add_clip(&w, v_pub, "PUBLISHED", 0);
    char *k_new = add_clip(&w, v_new, "RENDERED", 0);
    char *k_cand = add_clip(&w, v_old, "REJECTED", 0);
    (void)k_cand;
    /* derived: a 400-day render (of the published clip), a 30-day render approved, a 30-day
     * caption file of the same clip (not approved: stays) */
    char *r_pub_rel = xasprintf("media/renders/%s.mp4", k_pub);
    char *r_new_rel = xasprintf("media/renders/%s.mp4", k_new);
    char *a_new_rel = xasprintf("media/renders/%s.ass", k_new);
    char *r_pub = add_artifact(&w, "render", "clips", k_pub, r_pub_rel, 400);
    char *r_new = add_artifact(&w, "render", "clips", k_new, r_new_rel, 30);
    char *a_new = add_artifact(&w, "subtitle", "clips", k_new, a_new_rel, 30);
    (void)r_pub;
    (void)a_new;
    /* orphans: old stray render and abandoned partial download; a fresh stray stays */
    make_file(w.home, "media/renders/stray.mp4", 1000, 3);
    make_file(w.home, "media/sources/.partial/abc/part.mp4", 1000, 5);
    make_file(w.home, "media/renders/fresh.mp4", 1000, 0);

    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, w.home, "retention", "approve", r_new, "--by", "ops",
                             NULL),
                     0);
    assert_true(omt_has(out, "approved deleting 1 file"));
    free(out);
    free(err);
    /* a clip id that is not there, a source artifact: refused */
    assert_int_equal(omt_run(NULL, &err, w.home, "retention", "approve",
                             "00000000-0000-4000-8000-000000000000", NULL),
                     1);
    assert_true(omt_has(err, "no render or caption file"));
    free(err);
    assert_int_equal(omt_run(NULL, &err, w.home, "retention", "approve", subs, NULL), 1);
    assert_true(omt_has(err, "not a derived asset"));
    free(err);

    int64_t packets0 = omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata");

    /* the plan: exactly these */
    char *want = NULL;
    {
        const char *exp[] = {subs_rel, r_pub_rel, r_new_rel, "media/renders/stray.mp4",
                             "media/sources/.partial/abc/part.mp4", NULL};
        json_t *arr = json_array();
        char *vold_abs = xasprintf("%s/media/sources/%s.mp4", w.home, v_old);
        json_array_append_new(arr, json_pack("{s:s}", "path", vold_abs));
        free(vold_abs);
        for (int i = 0; exp[i]; i++) {
            /* rows store absolute paths here; orphans are shown home-relative */
            char *p = !strncmp(exp[i], "media/renders/stray", 19) || strstr(exp[i], ".partial")
                          ? xstrdup(exp[i])
                          : xasprintf("%s/%s", w.home, exp[i]);
            json_array_append_new(arr, json_pack("{s:s}", "path", p));
            free(p);
        }
        want = paths_of(arr);
        json_decref(arr);
    }
    json_t *plan = run_json(&w, (const char *[]){"retention", "run", "--dry-run", "--json", NULL},
                            0);
    char *got = paths_of(json_object_get(plan, "delete"));
    assert_string_equal(got, want);
    free(got);
    assert_true(json_is_true(json_object_get(plan, "dry_run")));
    /* the published clip's source: kept, saying why */
    json_t *kept = json_object_get(plan, "kept");
    assert_int_equal(json_array_size(kept), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(kept, 0), "id")), v_pub);
    assert_true(omt_has(json_string_value(json_object_get(json_array_get(kept, 0), "reason")),
                        "published"));
    json_decref(plan);
    /* a dry run changes nothing */
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"), packets0);
    assert_true(exists(w.home, "media/renders/stray.mp4"));

    /* the project's own days: 200 raw days keep the 120-day video */
    assert_int_equal(omt_run(NULL, NULL, w.home, "retention", "set", "acme", "--raw-days", "200",
                             NULL),
                     0);
    plan = run_json(&w, (const char *[]){"retention", "run", "--dry-run", "--json", NULL}, 0);
    assert_int_equal(json_array_size(json_object_get(plan, "delete")), 4); /* derived + orphans */
    json_decref(plan);
    assert_int_equal(omt_run(NULL, NULL, w.home, "retention", "set", "acme", "--default", NULL), 0);
    /* the human plan names each file and says nothing was deleted */
    assert_int_equal(omt_run(&out, NULL, w.home, "retention", "run", "--dry-run", NULL), 0);
    assert_true(omt_has(out, "6 files"));
    assert_true(omt_has(out, "would be deleted"));
    assert_true(omt_has(out, "stray.mp4"));
    free(out);
    packets0 = omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata");

    /* the run */
    char *old_sha = sha_of(w.home, "media/renders/stray.mp4");
    json_t *rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(json_integer_value(json_object_get(rep, "deleted")), 6);
    got = paths_of(json_object_get(rep, "delete"));
    assert_string_equal(got, want);
    free(got);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rep, "delete"), i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));
        assert_false(exists(w.home, p));
        const char *pk = json_string_value(json_object_get(e, "stardust_id"));
        assert_non_null(pk);
        /* the packet names the row and the checksum of what was deleted */
        char *sql = xasprintf("SELECT entity_type || ' ' || entity_id FROM stardust_metadata "
                              "WHERE stardust_id = '%s'",
                              pk);
        char *ent = omt_query(w.url, sql);
        free(sql);
        char *expect = xasprintf("%s %s", json_string_value(json_object_get(e, "table")),
                                 json_string_value(json_object_get(e, "id")));
        assert_string_equal(ent, expect);
        free(ent);
        free(expect);
        assert_int_equal(strlen(json_string_value(json_object_get(e, "checksum"))), 64);
    }
    json_decref(rep);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"), packets0 + 6);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM logs WHERE source = 'retention' "
                                          "AND message LIKE 'deleted %'"),
                     6);
    /* rows stay and say their file is gone, with the deleted file's checksum */
    char *sql = xasprintf("SELECT count(*) FROM videos WHERE video_id = '%s' AND file_gone_at "
                          "IS NOT NULL AND file_gone_sha256 = checksum",
                          v_old);
    assert_int_equal(omt_query_int(w.url, sql), 1);
    free(sql);
    sql = xasprintf("SELECT count(*) FROM artifacts WHERE kind = 'orphan' AND gone_at IS NOT "
                    "NULL AND gone_sha256 = '%s'",
                    old_sha);
    assert_int_equal(omt_query_int(w.url, sql), 1);
    free(sql);
    free(old_sha);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM videos"), 3);
    /* what stays */
    char *keep_pub = xasprintf("media/sources/%s.mp4", v_pub);
    char *keep_new = xasprintf("media/sources/%s.mp4", v_new);
    assert_true(exists(w.home, keep_pub));
    assert_true(exists(w.home, keep_new));
    assert_true(exists(w.home, a_new_rel));
    assert_true(exists(w.home, "media/renders/fresh.mp4"));
    free(keep_pub);
    free(keep_new);
    /* the ledger verifies; a second run finds nothing */
    assert_int_equal(omt_run(&out, NULL, w.home, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);
    rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(json_integer_value(json_object_get(rep, "deleted")), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "delete")), 0);
    json_decref(rep);

    free(want);
    free(v_old);
    free(v_pub);
    free(v_new);
    free(subs);
    free(subs_rel);
    free(k_pub);
    free(k_new);
    free(k_cand);
    free(r_pub_rel);
    free(r_new_rel);
    free(a_new_rel);
    free(r_pub);
    free(r_new);
    free(a_new);
    ws_close(&w);
}

static void test_rules_sqlite(void **state)
{
    (void)state;
    rules_on(NULL, "ret-sq");
}

static void test_rules_pg(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    static int n;
    char *db = xasprintf("ret_pg_%d", n++);
    char *sql = xasprintf("CREATE DATABASE %s", db);
    assert_int_equal(omt_exec(pg.url, sql), 0);
    char *url = xasprintf("postgres://omniva@127.0.0.1:%d/%s", pg.port, db);
    rules_on(url, "ret-pg");
    free(url);
    free(sql);
    free(db);
}

/* kill -9 during runs: a deleted file always has its marked row (and the packet written in
 * the same transaction); after a full run nothing marked is left on disk. */
static void test_kill_during_run(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "ret-kill", NULL);
    enum { N_ORPHAN = 800, N_RAW = 100 };
    char **vids = xcalloc(N_RAW, sizeof(char *));
    for (int i = 0; i < N_RAW; i++)
        vids[i] = add_video(&w, 100, i % 2);
    for (int i = 0; i < N_ORPHAN; i++) {
        char *rel = xasprintf("media/renders/orphan-%03d.bin", i);
        make_file(w.home, rel, 512, 4);
        free(rel);
    }
    char *logf = xasprintf("%s/ret.log", w.home);
    int kills = 0, midway = 0, done = 0;
    unsigned seed = (unsigned)getpid();
    for (int round = 0; round < 25 && !done; round++) {
        pid_t p = omt_spawn(w.home, logf, NULL, (const char *[]){"retention", "run", NULL});
        assert_true(p > 0);
        om_sleep_ms(30 + rand_r(&seed) % (150 + 40 * round));
        if (kill(p, SIGKILL) == 0)
            kills++;
        int st = omt_wait(p, 60000);
        if (st == 0) {
            done = 1;
            break;
        }
        assert_int_equal(st, 128 + SIGKILL);
        /* every file no longer on disk has its row marked gone, and every marked row its
         * packet (same transaction) */
        int gone = 0, marked_present = 0;
        for (int i = 0; i < N_ORPHAN; i++) {
            char *rel = xasprintf("media/renders/orphan-%03d.bin", i);
            char *sql = xasprintf("SELECT count(*) FROM artifacts a JOIN stardust_metadata s ON "
                                  "s.entity_id = a.artifact_id WHERE a.kind = 'orphan' AND "
                                  "a.gone_at IS NOT NULL AND a.path = '%s'",
                                  rel);
            int64_t rec = omt_query_int(w.url, sql);
            int on_disk = exists(w.home, rel);
            if (!on_disk) {
                gone++;
                if (rec != 1)
                    fail_msg("%s was deleted without its row and packet (%lld)", rel,
                             (long long)rec);
            } else if (rec) {
                marked_present++;
            }
            free(sql);
            free(rel);
        }
        for (int i = 0; i < N_RAW; i++) {
            char *rel = xasprintf("media/sources/%s.mp4", vids[i]);
            char *sql = xasprintf("SELECT count(*) FROM videos v JOIN stardust_metadata s ON "
                                  "s.entity_id = v.video_id WHERE v.video_id = '%s' AND "
                                  "v.file_gone_at IS NOT NULL",
                                  vids[i]);
            int64_t rec = omt_query_int(w.url, sql);
            if (!exists(w.home, rel)) {
                gone++;
                if (rec != 1)
                    fail_msg("%s was deleted without its row and packet", rel);
            } else if (rec) {
                marked_present++;
            }
            free(sql);
            free(rel);
        }
        /* at most the one file between its commit and its unlink */
        assert_true(marked_present <= 1);
        if (gone > 0 && gone < N_ORPHAN + N_RAW)
            midway++;
    }
    /* a full run finishes: the sweep completes an interrupted deletion */
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, w.home, "retention", "run", NULL), 0);
    free(out);
    free(err);
    for (int i = 0; i < N_ORPHAN; i++) {
        char *rel = xasprintf("media/renders/orphan-%03d.bin", i);
        assert_false(exists(w.home, rel));
        char *sql = xasprintf("SELECT count(*) FROM artifacts a JOIN stardust_metadata s ON "
                              "s.entity_id = a.artifact_id WHERE a.path = '%s'",
                              rel);
        assert_int_equal(omt_query_int(w.url, sql), 1); /* exactly one packet each */
        free(sql);
        free(rel);
    }
    for (int i = 0; i < N_RAW; i++) {
        char *rel = xasprintf("media/sources/%s.mp4", vids[i]);
        assert_false(exists(w.home, rel));
        free(rel);
        free(vids[i]);
    }
    free(vids);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"),
                     N_ORPHAN + N_RAW);
    assert_int_equal(omt_run(&out, NULL, w.home, "ledger", "verify", NULL), 0);
    free(out);
    printf("retention kill -9: %d kills, %d left a run midway, finished early: %d\n", kills,
           midway, done);
    free(logf);
    ws_close(&w);
}

static int setup(void **state)
{
    (void)state;
    have_pg = harness_pg_start(&pg) == 0;
    if (!have_pg)
        fprintf(stderr, "test_retention: no PostgreSQL; the PostgreSQL case is skipped\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (have_pg)
        harness_pg_stop(&pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_sqlite),
        cmocka_unit_test(test_rules_pg),
        cmocka_unit_test(test_kill_during_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
