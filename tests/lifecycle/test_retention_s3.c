/*
 * test_retention_s3.c: `omniva retention` through the real binary on a workspace whose media
 * store is an S3 bucket ([media] store = s3://retention/ws-XXXX on the tests/s3 server:
 * s3rver behind a front that checks SigV4 and every body's SHA-256). Objects are put through
 * the media store as the stages put them and aged with the server's /_age knob (an orphan's
 * age is its LastModified); rows are aged through created_at. Checked: the dry run lists
 * exactly the expected s3:// URIs and deletes nothing; the run deletes in the bucket the old
 * raw download (and its subtitles), the approved render and the orphan object, each with
 * its marked row, ledger packet and logs row, drops this node's cache copy, and keeps the
 * published clip's source, the young ones, the fresh orphan and what lies outside the
 * store's prefix. Then kill -9 during runs slowed by the server (every DeleteObject delayed):
 * after each kill every row's object is in the bucket or the row says it is gone (with its
 * packet), and a last run finishes: nothing half-deleted, one packet per object, the ledger
 * verifies. The rules case runs on SQLite and PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "media/mstore.h"
#include "omtest.h"

#include <jansson.h>
#include <signal.h>
#include <unistd.h>

#define DAY_US (86400LL * 1000000)
#define BUCKET "retention"

static harness_s3 S3;
static harness_pg PG;
static int have_pg;

typedef struct ws {
    char *home, *url, *project, *creator, *store;
    om_config *cfg;
    om_mstore *ms;
    int posts;
} ws;

static void exec_ok(const char *url, const char *sql)
{
    if (omt_exec(url, sql) != 0)
        fail_msg("SQL failed: %s", sql);
}

static char *uuid_new(void)
{
    char id[OM_UUID_LEN];
    return xstrdup(om_uuid4(id));
}

static char *ago(int64_t days, char buf[OM_TIME_LEN])
{
    return om_time_iso(buf, om_now_us() - days * DAY_US);
}

/* A workspace on SQLite (db_url NULL) or on that PostgreSQL database. */
static void ws_open_db(ws *w, const char *tag, const char *db_url)
{
    memset(w, 0, sizeof(*w));
    if (db_url) {
        w->home = omt_workspace(tag, "--db", db_url, NULL);
        w->url = xstrdup(db_url);
    } else {
        w->home = omt_workspace(tag, NULL);
        w->url = xasprintf("sqlite://%s/omniva.db", w->home);
    }
    char u[OM_UUID_LEN];
    w->store = xasprintf("s3://" BUCKET "/ws-%.8s", om_uuid4(u));
    omt_conf_append(w->home, "media", "store", w->store);
    omt_conf_append(w->home, "media", "s3_endpoint", S3.endpoint);
    omt_conf_append(w->home, "media", "s3_path_style", "true");
    omt_conf_append(w->home, "media", "s3_access_key", "S3RVER");
    omt_conf_append(w->home, "media", "s3_list_page", "50"); /* listings of several pages */
    assert_int_equal(om_config_load(&w->cfg, w->home), OM_OK);
    assert_int_equal(om_mstore_open(&w->ms, w->cfg), OM_OK);
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

static void ws_open(ws *w, const char *tag)
{
    ws_open_db(w, tag, NULL);
}

static void ws_close(ws *w)
{
    om_mstore_free(w->ms);
    om_config_free(w->cfg);
    if (!getenv("OMNIVA_KEEP"))
        om_rmtree(w->home);
    free(w->home);
    free(w->url);
    free(w->project);
    free(w->creator);
    free(w->store);
}

/* Puts `size` random bytes under KEY in the workspace's store; returns the row and (when
 * sha_out) the SHA-256. */
static char *put_object(ws *w, const char *key, size_t size, char **sha_out)
{
    char *tmp = xasprintf("%s/put.tmp", w->home);
    char *data = xmalloc(size);
    om_random_bytes(data, size);
    assert_int_equal(om_write_file_atomic(tmp, data, size), OM_OK);
    free(data);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(tmp, sha), OM_OK);
    char *row = NULL;
    if (om_mstore_put(w->ms, key, tmp, sha, 0, &row) != OM_OK)
        fail_msg("put %s: %s", key, om_error_msg());
    unlink(tmp);
    free(tmp);
    if (sha_out)
        *sha_out = xstrdup(sha);
    return row;
}

/* Sets the LastModified of every object under the workspace's prefix + sub back `hours`. */
static void age_objects(ws *w, const char *sub, int hours)
{
    const char *prefix = strchr(w->store + 5, '/') + 1;
    char *path = xasprintf("/_age?bucket=" BUCKET "&prefix=%s/%s&hours=%d", prefix, sub, hours);
    assert_int_equal(harness_s3_ctl(&S3, "POST", path, NULL), 0);
    free(path);
}

static int object_exists(ws *w, const char *row)
{
    om_mstat st;
    int rc = om_mstore_stat(w->ms, row, &st);
    if (rc != OM_OK && rc != OM_ENOTFOUND)
        fail_msg("stat %s: %s", row, om_error_msg());
    om_error_clear();
    return rc == OM_OK;
}

/* A post + video whose source object is sources/<id>.mp4, created `days` ago. *row_out: the
 * object's row (caller frees). Returns the video id. */
static char *add_video(ws *w, int days, char **row_out)
{
    char *vid = uuid_new(), *post = uuid_new(), *sha = NULL;
    char *key = xasprintf("sources/%s.mp4", vid);
    char *row = put_object(w, key, 4096, &sha);
    char t[OM_TIME_LEN];
    char *sql = xasprintf("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, "
                          "url) VALUES ('%s', '%s', 'local', 'p%d', 'file:///x/%d')",
                          post, w->creator, w->posts, w->posts);
    w->posts++;
    exec_ok(w->url, sql);
    free(sql);
    sql = xasprintf("INSERT INTO videos (video_id, post_id, file_path, checksum, created_at) "
                    "VALUES ('%s', '%s', '%s', '%s', '%s')",
                    vid, post, row, sha, ago(days, t));
    exec_ok(w->url, sql);
    free(sql);
    sql = xasprintf("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, "
                    "checksum, size_bytes, created_at) VALUES ('%s', 'source_media', 'videos', "
                    "'%s', '%s', '%s', 4096, '%s')",
                    post, vid, row, sha, t);
    exec_ok(w->url, sql);
    free(sql);
    free(sha);
    free(key);
    free(post);
    *row_out = row;
    return vid;
}

static char *add_artifact(ws *w, const char *kind, const char *etype, const char *entity,
                          const char *key, int days, char **row_out)
{
    char *aid = uuid_new(), *sha = NULL;
    char *row = put_object(w, key, 2048, &sha);
    char t[OM_TIME_LEN];
    char *sql = xasprintf("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, "
                          "path, checksum, size_bytes, created_at) VALUES ('%s', '%s', '%s', "
                          "'%s', '%s', '%s', 2048, '%s')",
                          aid, kind, etype, entity, row, sha, ago(days, t));
    exec_ok(w->url, sql);
    free(sql);
    free(sha);
    *row_out = row;
    return aid;
}

static char *add_clip(ws *w, const char *video, const char *status)
{
    char *cid = uuid_new();
    char *sql = xasprintf("INSERT INTO clips (clip_id, video_id, start_time, end_time, status) "
                          "VALUES ('%s', '%s', 0, 20, '%s')",
                          cid, video, status);
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
    json_t *j = json_loads(out ? out : "", 0, NULL);
    if (!j)
        fail_msg("not JSON: %s", out);
    free(out);
    free(err);
    return j;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The "path" values of a report list, sorted, one a line. */
static char *paths_of(json_t *list)
{
    size_t n = json_array_size(list);
    const char **p = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        p[i] = json_string_value(json_object_get(json_array_get(list, i), "path"));
    qsort(p, n, sizeof(char *), cmp_str);
    om_sbuf sb = OM_SBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sb_printf(&sb, "%s\n", p[i]);
    free(p);
    return sb_detach(&sb);
}

/* The node cache's file of ROW (mcache.h: objects/<sha256 of the row>.<ext>). */
static char *cache_file_of(ws *w, const char *row)
{
    char h[OM_SHA256_HEX_LEN];
    om_sha256_hex(row, strlen(row), h);
    return xasprintf("%s/objects/%s.mp4", om_config_str(w->cfg, "media.cache_dir"), h);
}

static void rules_on(const char *db_url, const char *tag)
{
    ws w;
    ws_open_db(&w, tag, db_url);
    char *r_old, *r_pub, *r_new, *r_subs, *r_render, *r_keep;
    char *v_old = add_video(&w, 120, &r_old);
    char *v_pub = add_video(&w, 120, &r_pub);
    char *v_new = add_video(&w, 10, &r_new);
    char *k = xasprintf("subs/%s.vtt", v_old);
    char *subs = add_artifact(&w, "subtitle", "videos", v_old, k, 120, &r_subs);
    free(k);
    char *k_pub = add_clip(&w, v_pub, "PUBLISHED");
    char *k_new = add_clip(&w, v_new, "RENDERED");
    k = xasprintf("renders/%s.mp4", k_new);
    char *render = add_artifact(&w, "render", "clips", k_new, k, 30, &r_render);
    free(k);
    k = xasprintf("renders/%s.mp4", k_pub);
    char *keep = add_artifact(&w, "render", "clips", k_pub, k, 30, &r_keep);
    free(k);
    /* orphans: an old stray object (no row), a fresh one; the raw rows are aged through
     * created_at, but every object is aged so only the missing row makes an orphan */
    char *r_stray = put_object(&w, "renders/stray.mp4", 1000, NULL);
    age_objects(&w, "", 72);
    char *r_fresh = put_object(&w, "renders/fresh.mp4", 1000, NULL);
    /* outside the store's prefix: not the store's, never touched */
    char *sql = NULL;
    om_mstore *other = NULL;
    char *other_uri = xasprintf("s3://" BUCKET "/elsewhere-%s", v_old);
    assert_int_equal(om_mstore_open_uri(&other, w.cfg, other_uri), OM_OK);
    char *tmp = xasprintf("%s/o.bin", w.home), *r_out = NULL;
    assert_int_equal(om_write_file_atomic(tmp, "x", 1), OM_OK);
    assert_int_equal(om_mstore_put(other, "renders/x.mp4", tmp, NULL, 0, &r_out), OM_OK);
    om_mstore_free(other);
    free(tmp);
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_age?bucket=" BUCKET "&prefix=elsewhere-&hours=999",
                                    NULL),
                     0);

    /* this node's cache holds the old source (read by an analysis): it goes with the object */
    char *local = NULL;
    assert_int_equal(om_mstore_local(w.ms, r_old, NULL, &local), OM_OK);
    char *cached = cache_file_of(&w, r_old);
    assert_string_equal(local, cached);
    free(local);
    om_mstore_free(w.ms); /* releases the reader's lock on the cached file */
    assert_int_equal(om_mstore_open(&w.ms, w.cfg), OM_OK);
    assert_true(om_file_exists(cached));

    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, w.home, "retention", "approve", render, "--by", "ops",
                             NULL),
                     0);
    free(out);
    free(err);
    int64_t packets0 = omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata");

    char *want = NULL;
    {
        json_t *arr = json_array();
        const char *exp[] = {r_old, r_subs, r_render, r_stray};
        for (size_t i = 0; i < 4; i++)
            json_array_append_new(arr, json_pack("{s:s}", "path", exp[i]));
        want = paths_of(arr);
        json_decref(arr);
    }
    /* the dry run: exactly these s3:// URIs, nothing deleted or written */
    harness_s3_ctl(&S3, "POST", "/_reset", NULL);
    json_t *plan = run_json(&w, (const char *[]){"retention", "run", "--dry-run", "--json", NULL},
                            0);
    char *got = paths_of(json_object_get(plan, "delete"));
    assert_string_equal(got, want);
    free(got);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(plan, "delete"), i, e) {
        assert_int_equal(strncmp(json_string_value(json_object_get(e, "path")), "s3://", 5), 0);
        assert_true(json_integer_value(json_object_get(e, "size_bytes")) > 0);
    }
    json_t *kept = json_object_get(plan, "kept");
    assert_int_equal(json_array_size(kept), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(kept, 0), "path")),
                        r_pub);
    json_decref(plan);
    char *stats = NULL;
    assert_int_equal(harness_s3_ctl(&S3, "GET", "/_stats", &stats), 0);
    assert_false(omt_has(stats, "DeleteObject"));
    free(stats);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"), packets0);
    assert_true(object_exists(&w, r_old));
    assert_true(object_exists(&w, r_stray));
    assert_true(om_file_exists(cached));
    assert_int_equal(omt_run(&out, NULL, w.home, "retention", "run", "--dry-run", NULL), 0);
    assert_true(omt_has(out, "4 files"));
    assert_true(omt_has(out, r_stray));
    free(out);

    /* the run: deleted in the bucket, each with its marked row, packet and logs row; one
     * listing, then one HEAD (its recorded SHA-256) and one DeleteObject per object */
    harness_s3_ctl(&S3, "POST", "/_reset", NULL);
    json_t *rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(harness_s3_ctl(&S3, "GET", "/_stats", &stats), 0);
    json_t *sj = json_loads(stats, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(sj, "ListObjectsV2")), 1);
    assert_int_equal(json_integer_value(json_object_get(sj, "HeadObject")), 4);
    assert_int_equal(json_integer_value(json_object_get(sj, "DeleteObject")), 4);
    assert_int_equal(json_integer_value(json_object_get(sj, "GetObject")), 0);
    json_decref(sj);
    free(stats);
    assert_int_equal(json_integer_value(json_object_get(rep, "deleted")), 4);
    got = paths_of(json_object_get(rep, "delete"));
    assert_string_equal(got, want);
    free(got);
    json_array_foreach(json_object_get(rep, "delete"), i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));
        assert_false(object_exists(&w, p));
        const char *pk = json_string_value(json_object_get(e, "stardust_id"));
        assert_non_null(pk);
        sql = xasprintf("SELECT entity_type || ' ' || entity_id FROM stardust_metadata WHERE "
                        "stardust_id = '%s'",
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
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"), packets0 + 4);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM logs WHERE source = 'retention' "
                                          "AND message LIKE 'deleted s3://%'"),
                     4);
    sql = xasprintf("SELECT count(*) FROM videos WHERE video_id = '%s' AND file_gone_at IS NOT "
                    "NULL AND file_gone_sha256 = checksum",
                    v_old);
    assert_int_equal(omt_query_int(w.url, sql), 1);
    free(sql);
    sql = xasprintf("SELECT count(*) FROM artifacts WHERE kind = 'orphan' AND path = '%s' AND "
                    "gone_at IS NOT NULL AND length(gone_sha256) = 64",
                    r_stray);
    assert_int_equal(omt_query_int(w.url, sql), 1);
    free(sql);
    /* the packet of the old source names the checksum the bucket recorded */
    sql = xasprintf("SELECT count(*) FROM stardust_metadata s JOIN videos v ON v.video_id = "
                    "s.entity_id WHERE v.video_id = '%s' AND CAST(s.lineage AS TEXT) LIKE '%%' || v.checksum "
                    "|| '%%'",
                    v_old);
    assert_int_equal(omt_query_int(w.url, sql), 1);
    free(sql);
    assert_false(om_file_exists(cached)); /* this node's cache copy went with it */
    /* what stays */
    assert_true(object_exists(&w, r_pub));
    assert_true(object_exists(&w, r_new));
    assert_true(object_exists(&w, r_keep));
    assert_true(object_exists(&w, r_fresh));
    assert_true(object_exists(&w, r_out));
    assert_int_equal(omt_run(&out, NULL, w.home, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);
    /* a second run finds nothing */
    rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(json_integer_value(json_object_get(rep, "deleted")), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "delete")), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "swept")), 0);
    json_decref(rep);

    free(cached);
    free(want);
    free(other_uri);
    char *frees[] = {r_old, r_pub, r_new, r_subs, r_render, r_keep, r_stray, r_fresh, r_out,
                     v_old, v_pub, v_new, subs, k_pub, k_new, render, keep};
    for (size_t j = 0; j < OM_ARRAY_LEN(frees); j++)
        free(frees[j]);
    ws_close(&w);
}

static void test_rules_s3(void **state)
{
    (void)state;
    rules_on(NULL, "ret-s3");
}

static void test_rules_s3_pg(void **state)
{
    (void)state;
    if (!have_pg)
        skip();
    assert_int_equal(omt_exec(PG.url, "CREATE DATABASE ret_s3_pg"), 0);
    char *url = xasprintf("postgres://omniva@127.0.0.1:%d/ret_s3_pg", PG.port);
    rules_on(url, "ret-s3-pg");
    free(url);
}

/* The service refuses every DeleteObject: the rows are marked gone (with their packets), the
 * objects stay, the run names them and fails; the next run's sweep deletes them. */
static void test_delete_refused_s3(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "ret-s3-refused");
    char *rows[3], *vids[3];
    for (int i = 0; i < 3; i++)
        vids[i] = add_video(&w, 100, &rows[i]);
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_fault?status=500&count=1000&op=DeleteObject",
                                    NULL),
                     0);
    json_t *rep = run_json(&w, (const char *[]){"--set", "media.s3_retries=0", "retention", "run",
                                                "--json", NULL},
                           1);
    assert_int_equal(json_array_size(json_object_get(rep, "errors")), 3);
    assert_true(omt_has(json_string_value(json_object_get(
                            json_array_get(json_object_get(rep, "errors"), 0), "error")),
                        "HTTP 500"));
    json_decref(rep);
    for (int i = 0; i < 3; i++)
        assert_true(object_exists(&w, rows[i]));
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM videos WHERE file_gone_at IS NOT "
                                          "NULL"),
                     3);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"), 3);
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_reset", NULL), 0);
    /* the dry run shows what the sweep will finish, and does not */
    rep = run_json(&w, (const char *[]){"retention", "run", "--dry-run", "--json", NULL}, 0);
    assert_int_equal(json_array_size(json_object_get(rep, "swept")), 3);
    json_decref(rep);
    assert_true(object_exists(&w, rows[0]));
    rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(json_array_size(json_object_get(rep, "swept")), 3);
    assert_int_equal(json_array_size(json_object_get(rep, "delete")), 0);
    json_decref(rep);
    for (int i = 0; i < 3; i++) {
        assert_false(object_exists(&w, rows[i]));
        free(rows[i]);
        free(vids[i]);
    }
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"), 3);
    rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(json_array_size(json_object_get(rep, "swept")), 0);
    json_decref(rep);
    ws_close(&w);
}

typedef struct listing {
    json_t *rows; /* row -> true */
} listing;

static int on_row(void *ud, const char *row, int64_t size, int64_t mtime_us)
{
    (void)size;
    (void)mtime_us;
    json_object_set_new(((listing *)ud)->rows, row, json_true());
    return 0;
}

static json_t *bucket_rows(ws *w)
{
    listing l = {json_object()};
    if (om_mstore_list(w->ms, "", on_row, &l) != OM_OK)
        fail_msg("list: %s", om_error_msg());
    return l.rows;
}

/* kill -9 during runs against a slowed bucket: no object deleted without its marked row and
 * packet; after a full run nothing marked is left in the bucket. */
static void test_kill_during_run_s3(void **state)
{
    (void)state;
    ws w;
    ws_open(&w, "ret-s3-kill");
    enum { N_RAW = 40, N_ORPHAN = 120 };
    char **vids = xcalloc(N_RAW, sizeof(char *)), **vrows = xcalloc(N_RAW, sizeof(char *));
    char **orows = xcalloc(N_ORPHAN, sizeof(char *));
    int64_t t0 = om_mono_ms();
    for (int i = 0; i < N_RAW; i++)
        vids[i] = add_video(&w, 100, &vrows[i]);
    for (int i = 0; i < N_ORPHAN; i++) {
        char *key = xasprintf("renders/orphan-%03d.bin", i);
        orows[i] = put_object(&w, key, 512, NULL);
        free(key);
    }
    age_objects(&w, "", 96);
    printf("put %d objects in %lld ms\n", N_RAW + N_ORPHAN, (long long)(om_mono_ms() - t0));
    t0 = om_mono_ms();
    json_t *plan = run_json(&w, (const char *[]){"retention", "run", "--dry-run", "--json", NULL},
                            0);
    assert_int_equal(json_array_size(json_object_get(plan, "delete")), N_RAW + N_ORPHAN);
    json_decref(plan);
    printf("dry run over %d objects (4 listing pages): %lld ms\n", N_RAW + N_ORPHAN,
           (long long)(om_mono_ms() - t0));
    /* a slowed service: every DeleteObject waits 40 ms, and one whose client was killed
     * meanwhile is dropped (the kill came before the request left): the window between a
     * deletion's commit and its DeleteObject is then 40 ms wide */
    assert_int_equal(harness_s3_ctl(&S3, "POST",
                                    "/_fault?status=0&delay_ms=40&count=1000000&op=DeleteObject"
                                    "&abandon=1",
                                    NULL),
                     0);
    char *logf = xasprintf("%s/ret.log", w.home);
    int kills = 0, midway = 0, done = 0;
    unsigned seed = (unsigned)getpid();
    for (int round = 0; round < 30 && !done; round++) {
        pid_t p = omt_spawn(w.home, logf, NULL, (const char *[]){"retention", "run", NULL});
        assert_true(p > 0);
        om_sleep_ms(150 + rand_r(&seed) % 900);
        if (kill(p, SIGKILL) == 0)
            kills++;
        int st = omt_wait(p, 60000);
        if (st == 0) {
            done = 1;
            break;
        }
        assert_int_equal(st, 128 + SIGKILL);
        json_t *in_bucket = bucket_rows(&w);
        int gone = 0, marked_present = 0;
        for (int i = 0; i < N_ORPHAN; i++) {
            char *sql = xasprintf("SELECT count(*) FROM artifacts a JOIN stardust_metadata s ON "
                                  "s.entity_id = a.artifact_id WHERE a.kind = 'orphan' AND "
                                  "a.gone_at IS NOT NULL AND a.path = '%s'",
                                  orows[i]);
            int64_t rec = omt_query_int(w.url, sql);
            if (!json_object_get(in_bucket, orows[i])) {
                gone++;
                if (rec != 1)
                    fail_msg("%s was deleted without its row and packet (%lld)", orows[i],
                             (long long)rec);
            } else if (rec) {
                marked_present++;
            }
            free(sql);
        }
        for (int i = 0; i < N_RAW; i++) {
            char *sql = xasprintf("SELECT count(*) FROM videos v JOIN stardust_metadata s ON "
                                  "s.entity_id = v.video_id WHERE v.video_id = '%s' AND "
                                  "v.file_gone_at IS NOT NULL",
                                  vids[i]);
            int64_t rec = omt_query_int(w.url, sql);
            if (!json_object_get(in_bucket, vrows[i])) {
                gone++;
                if (rec != 1)
                    fail_msg("%s was deleted without its row marked gone and its packet",
                             vrows[i]);
            } else if (rec) {
                marked_present++;
            }
            free(sql);
        }
        json_decref(in_bucket);
        /* at most the one object between its commit and its DeleteObject */
        assert_true(marked_present <= 1);
        if (gone > 0 && gone < N_ORPHAN + N_RAW)
            midway++;
    }
    char *stats = NULL;
    assert_int_equal(harness_s3_ctl(&S3, "GET", "/_stats", &stats), 0);
    json_t *sj = json_loads(stats, 0, NULL);
    int64_t abandoned = json_integer_value(json_object_get(sj, "Abandoned"));
    json_decref(sj);
    free(stats);
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_reset", NULL), 0);
    /* a full run finishes: the sweep completes an interrupted deletion */
    char *out = NULL, *err = NULL;
    t0 = om_mono_ms();
    if (omt_run(&out, &err, w.home, "retention", "run", NULL) != 0)
        fail_msg("the last run failed:\n%s\n%s", out, err);
    int64_t last_ms = om_mono_ms() - t0;
    free(out);
    free(err);
    json_t *in_bucket = bucket_rows(&w);
    assert_int_equal(json_object_size(in_bucket), 0);
    json_decref(in_bucket);
    for (int i = 0; i < N_ORPHAN; i++) {
        char *sql = xasprintf("SELECT count(*) FROM artifacts a JOIN stardust_metadata s ON "
                              "s.entity_id = a.artifact_id WHERE a.path = '%s'",
                              orows[i]);
        assert_int_equal(omt_query_int(w.url, sql), 1); /* exactly one packet each */
        free(sql);
        free(orows[i]);
    }
    for (int i = 0; i < N_RAW; i++) {
        free(vids[i]);
        free(vrows[i]);
    }
    free(vids);
    free(vrows);
    free(orows);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM stardust_metadata"),
                     N_ORPHAN + N_RAW);
    assert_int_equal(omt_query_int(w.url, "SELECT count(*) FROM videos WHERE file_gone_at IS "
                                          "NULL"),
                     0);
    assert_int_equal(omt_run(&out, NULL, w.home, "ledger", "verify", NULL), 0);
    assert_true(omt_has(out, "ledger ok"));
    free(out);
    json_t *rep = run_json(&w, (const char *[]){"retention", "run", "--json", NULL}, 0);
    assert_int_equal(json_array_size(json_object_get(rep, "delete")), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "swept")), 0);
    json_decref(rep);
    printf("retention kill -9 on s3: %d kills, %d left a run midway, %lld DeleteObject cut off "
           "by a kill, finished early: %d; the last run took %lld ms\n",
           kills, midway, (long long)abandoned, done, (long long)last_ms);
    free(logf);
    ws_close(&w);
}

int main(void)
{
    if (harness_s3_start(&S3, BUCKET) != 0) {
        fprintf(stderr, "test_retention_s3: no S3 test server (npm ci in tests/s3)\n");
        return 1;
    }
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    have_pg = harness_pg_start(&PG) == 0;
    if (!have_pg)
        fprintf(stderr, "test_retention_s3: no PostgreSQL; the PostgreSQL case is skipped\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_s3),
        cmocka_unit_test(test_rules_s3_pg),
        cmocka_unit_test(test_delete_refused_s3),
        cmocka_unit_test(test_kill_during_run_s3),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (have_pg)
        harness_pg_stop(&PG);
    harness_s3_stop(&S3);
    return rc;
}
