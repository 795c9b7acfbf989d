/*
 * test_store.c: the store contract suite. One set of tests, run once per backend
 * (SQLite, then PostgreSQL on a throw-away server from tests/harness), plus the cases that
 * only make sense for one backend (corrupt file, read-only open, unreachable server) and
 * the schema parity check that needs both.
 *
 * Usage: test_store [sqlite|postgres]   (no argument: both)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "harness/harness.h"
#include "store/store.h"
#include "store/store_backend.h"

#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixtures ----------------------------------------------------------------------- */

typedef struct backend_ctx {
    const char *name; /* "sqlite" / "postgres" */
    harness_pg pg;    /* postgres only */
    char *dir;        /* scratch dir of the group */
    int counter;
} backend_ctx;

typedef struct fx {
    backend_ctx *b;
    char url[700];
    om_store *s;
} fx;

static backend_ctx ctx_sqlite = {.name = "sqlite"};
static backend_ctx ctx_pg = {.name = "postgres"};
static backend_ctx *cur; /* the group being run */

static int is_pg(const fx *f)
{
    return strcmp(f->b->name, "postgres") == 0;
}

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        int rc_ = (expr);                                                                     \
        if (rc_ != OM_OK)                                                                     \
            fail_msg("%s -> %s: %s", #expr, om_error_name(rc_), om_error_msg());              \
    } while (0)

static int group_setup_sqlite(void **state)
{
    (void)state;
    cur = &ctx_sqlite;
    ctx_sqlite.dir = harness_tmpdir("store-sqlite");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (cur == &ctx_pg)
        harness_pg_stop(&ctx_pg.pg);
    om_rmtree(cur->dir);
    free(cur->dir);
    cur->dir = NULL;
    return 0;
}

static int group_setup_pg(void **state)
{
    (void)state;
    cur = &ctx_pg;
    ctx_pg.dir = harness_tmpdir("store-pgtest");
    if (harness_pg_start(&ctx_pg.pg) != 0) {
        fprintf(stderr, "could not start a PostgreSQL server for the tests\n");
        return -1;
    }
    return 0;
}

/* A fresh, empty database for one test. */
static void fresh_url(backend_ctx *b, char *out, size_t n)
{
    if (strcmp(b->name, "sqlite") == 0) {
        snprintf(out, n, "sqlite://%s/t%d.db", b->dir, ++b->counter);
        return;
    }
    /* PostgreSQL: wipe the schema of the one test database. */
    om_store *s = NULL;
    if (om_store_open(&s, b->pg.url) != OM_OK)
        fail_msg("open %s: %s", b->pg.url, om_error_msg());
    CHECK_OK(om_store_exec(s, "DROP SCHEMA IF EXISTS public CASCADE", NULL, 0, NULL));
    CHECK_OK(om_store_exec(s, "CREATE SCHEMA public", NULL, 0, NULL));
    om_store_free(s);
    snprintf(out, n, "%s", b->pg.url);
}

static int setup_empty(void **state)
{
    fx *f = xcalloc(1, sizeof(*f));
    f->b = cur;
    fresh_url(cur, f->url, sizeof(f->url));
    if (om_store_open(&f->s, f->url) != OM_OK)
        fail_msg("open %s: %s", f->url, om_error_msg());
    *state = f;
    return 0;
}

static int setup_migrated(void **state)
{
    setup_empty(state);
    fx *f = *state;
    int applied = -1;
    if (om_store_migrate(f->s, &applied) != OM_OK)
        fail_msg("migrate: %s", om_error_msg());
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    om_store_free(f->s);
    free(f);
    return 0;
}

/* ---- data helpers ------------------------------------------------------------------- */

static void new_id(char out[OM_UUID_LEN])
{
    om_uuid4(out);
}

/* creator -> post -> video; returns the video id. */
static void make_video(om_store *s, char video_id[OM_UUID_LEN])
{
    char creator[OM_UUID_LEN], post[OM_UUID_LEN], checksum[OM_UUID_LEN];
    new_id(creator);
    new_id(post);
    new_id(video_id);
    new_id(checksum);
    CHECK_OK(om_store_exec(s, "INSERT INTO creators (creator_id, platform, username) "
                              "VALUES (?, 'youtube', ?)",
                           OM_PARAMS(OM_TEXT(creator), OM_TEXT(creator)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO posts (post_id, creator_id, platform, "
                              "platform_post_id, url) VALUES (?, ?, 'youtube', ?, 'https://x')",
                           OM_PARAMS(OM_TEXT(post), OM_TEXT(creator), OM_TEXT(post)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO videos (video_id, post_id, file_path, checksum, "
                              "duration_seconds) VALUES (?, ?, '/m/v.mp4', ?, 123)",
                           OM_PARAMS(OM_TEXT(video_id), OM_TEXT(post), OM_TEXT(checksum)), NULL));
}

static void make_clip(om_store *s, const char *video_id, double start, double end,
                      om_val confidence, char clip_id[OM_UUID_LEN])
{
    new_id(clip_id);
    CHECK_OK(om_store_exec(s, "INSERT INTO clips (clip_id, video_id, start_time, end_time, "
                              "confidence) VALUES (?, ?, ?, ?, ?)",
                           OM_PARAMS(OM_TEXT(clip_id), OM_TEXT(video_id), OM_REAL(start),
                                     OM_REAL(end), confidence),
                           NULL));
}

static char *value(om_store *s, const char *sql, const om_val *p, size_t n)
{
    char *v = NULL;
    int rc = om_store_query_value(s, sql, p, n, &v);
    if (rc != OM_OK)
        fail_msg("%s -> %s: %s", sql, om_error_name(rc), om_error_msg());
    return v;
}

static int64_t count_rows(om_store *s, const char *table)
{
    char *sql = xasprintf("SELECT count(*) FROM %s", table);
    char *v = value(s, sql, NULL, 0);
    int64_t n = strtoll(v, NULL, 10);
    free(v);
    free(sql);
    return n;
}

static int is_canonical_ts(const char *t)
{
    if (!t || strlen(t) != OM_TIME_LEN - 1)
        return 0;
    const char *pat = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
            return 0;
    }
    return 1;
}

static void assert_json_equal(const char *got, const char *want)
{
    json_error_t e;
    json_t *a = json_loads(got, JSON_DECODE_ANY, &e), *b = json_loads(want, JSON_DECODE_ANY, &e);
    if (!a || !b || !json_equal(a, b))
        fail_msg("JSON differs: got %s, want %s", got ? got : "(null)", want);
    json_decref(a);
    json_decref(b);
}

/* ---- bad URLs and unreachable databases --------------------------------------------- */

static void expect_open_fails(const char *url, int code, const char *needle)
{
    om_store *s = (om_store *)0x1;
    int rc = om_store_open(&s, url);
    if (rc != code)
        fail_msg("open '%s': want %s, got %s (%s)", url, om_error_name(code), om_error_name(rc),
                 om_error_msg());
    assert_null(s);
    if (needle && !strstr(om_error_msg(), needle))
        fail_msg("open '%s': message '%s' lacks '%s'", url, om_error_msg(), needle);
}

static void test_open_bad_urls(void **state)
{
    (void)state;
    expect_open_fails("", OM_EINVAL, "empty");
    expect_open_fails("mysql://root@localhost/db", OM_EINVAL, "unknown scheme");
    expect_open_fails("sqlite:relative.db", OM_EINVAL, "unknown scheme");
    expect_open_fails("sqlite://relative.db", OM_EINVAL, "absolute path");
    expect_open_fails("sqlite://", OM_EINVAL, "absolute path");
    expect_open_fails("sqlite:///tmp/", OM_EINVAL, "directory");
    expect_open_fails("sqlite:///tmp/x.db?bogus=1", OM_EINVAL, "unknown option 'bogus'");
    expect_open_fails("sqlite:///tmp/x.db?mode=write", OM_EINVAL, "mode");
    expect_open_fails("sqlite:///tmp/x%zz.db", OM_EINVAL, "escape");
    expect_open_fails("postgres://localhost/db?bogus_option=1", OM_EINVAL, "bogus_option");
}

static void test_sqlite_unreachable_paths(void **state)
{
    (void)state;
    char *dir = harness_tmpdir("store-paths");
    char url[600], file[400];
    snprintf(url, sizeof(url), "sqlite://%s/no/such/dir/x.db", dir);
    expect_open_fails(url, OM_EUNAVAIL, "No such file or directory");
    /* a path through a regular file: fails for root too */
    snprintf(file, sizeof(file), "%s/plain.txt", dir);
    CHECK_OK(om_write_file_atomic(file, "x", 1));
    snprintf(url, sizeof(url), "sqlite://%s/x.db", file);
    expect_open_fails(url, OM_EUNAVAIL, "Not a directory");
    snprintf(url, sizeof(url), "sqlite://%s", dir);
    expect_open_fails(url, OM_EUNAVAIL, "is a directory");
    /* read-only open of a missing file */
    snprintf(url, sizeof(url), "sqlite://%s/missing.db?mode=ro", dir);
    expect_open_fails(url, OM_EUNAVAIL, "missing.db");
    om_rmtree(dir);
    free(dir);
}

static void test_sqlite_corrupt_file(void **state)
{
    (void)state;
    char *dir = harness_tmpdir("store-corrupt");
    char path[400], url[500];
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 131 + 7);
    CHECK_OK(om_write_file_atomic(path, junk, sizeof(junk)));
    snprintf(url, sizeof(url), "sqlite://%s", path);
    expect_open_fails(url, OM_EIO, "is corrupt or not a database");
    assert_non_null(strstr(om_error_msg(), path));

    /* A real database whose pages were overwritten after the header. */
    snprintf(path, sizeof(path), "%s/damaged.db", dir);
    snprintf(url, sizeof(url), "sqlite://%s", path);
    om_store *s = NULL;
    CHECK_OK(om_store_open(&s, url));
    CHECK_OK(om_store_migrate(s, NULL));
    om_store_free(s);
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(om_read_file(path, 0, &data, &len));
    assert_true(len > 8192);
    for (size_t off = 4096; off < len; off += sizeof(junk)) /* every page but the first */
        memcpy(data + off, junk, len - off < sizeof(junk) ? len - off : sizeof(junk));
    CHECK_OK(om_write_file_atomic(path, data, len));
    free(data);
    int rc = om_store_open(&s, url);
    if (rc == OM_OK) { /* the header page may still be fine: the first real read fails */
        rc = om_store_exec(s, "INSERT INTO logs (log_id, source, level, message) VALUES "
                              "('00000000-0000-4000-8000-000000000000', 't', 'INFO', 'm')",
                           NULL, 0, NULL);
        om_store_free(s);
    }
    assert_int_equal(rc, OM_EIO);
    assert_non_null(strstr(om_error_msg(), "corrupt"));
    om_rmtree(dir);
    free(dir);
}

static void test_sqlite_read_only(void **state)
{
    (void)state;
    char *dir = harness_tmpdir("store-ro");
    char url[500];
    snprintf(url, sizeof(url), "sqlite://%s/ro.db", dir);
    om_store *s = NULL;
    CHECK_OK(om_store_open(&s, url));
    CHECK_OK(om_store_migrate(s, NULL));
    om_store_free(s);

    snprintf(url, sizeof(url), "sqlite://%s/ro.db?mode=ro", dir);
    CHECK_OK(om_store_open(&s, url));
    char *v = value(s, "SELECT count(*) FROM projects", NULL, 0);
    assert_string_equal(v, "0");
    free(v);
    char id[OM_UUID_LEN];
    int rc = om_store_exec(s, "INSERT INTO projects (project_id, name) VALUES (?, 'p')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL);
    assert_int_equal(rc, OM_EIO);
    assert_non_null(strstr(om_error_msg(), "read-only"));
    assert_non_null(strstr(om_error_msg(), "mode=ro"));
    /* and migrations cannot run either: clear error, not a crash */
    om_store_free(s);
    snprintf(url, sizeof(url), "sqlite://%s/fresh.db", dir);
    CHECK_OK(om_store_open(&s, url));
    om_store_free(s);
    snprintf(url, sizeof(url), "sqlite://%s/fresh.db?mode=ro", dir);
    CHECK_OK(om_store_open(&s, url));
    rc = om_store_migrate(s, NULL);
    assert_int_equal(rc, OM_EIO);
    assert_non_null(strstr(om_error_msg(), "read-only"));
    om_store_free(s);
    om_rmtree(dir);
    free(dir);
}

static void test_pg_unreachable(void **state)
{
    (void)state;
    int port = harness_free_port(); /* nothing listens there */
    char url[200];
    snprintf(url, sizeof(url), "postgres://omniva@127.0.0.1:%d/omniva_test?connect_timeout=3",
             port);
    int64_t t0 = om_mono_ms();
    expect_open_fails(url, OM_EUNAVAIL, "127.0.0.1");
    assert_true(om_mono_ms() - t0 < 5000);
    assert_non_null(strstr(om_error_msg(), "refused"));
    /* an unroutable address hits connect_timeout instead of hanging */
    snprintf(url, sizeof(url), "postgresql://omniva@10.255.255.1:5432/x?connect_timeout=1");
    t0 = om_mono_ms();
    expect_open_fails(url, OM_EUNAVAIL, NULL);
    assert_true(om_mono_ms() - t0 < 5000);
}

/* ---- migrations and schema ---------------------------------------------------------- */

static void test_migrate_twice(void **state)
{
    fx *f = *state;
    int version = -1, applied = -1;
    CHECK_OK(om_store_schema_version(f->s, &version));
    assert_int_equal(version, 0);
    CHECK_OK(om_store_migrate(f->s, &applied));
    assert_int_equal(applied, (int)om_migrations_count);
    CHECK_OK(om_store_schema_version(f->s, &version));
    assert_int_equal(version, om_migrations[om_migrations_count - 1].version);
    CHECK_OK(om_store_migrate(f->s, &applied));
    assert_int_equal(applied, 0);
    /* a second connection sees the same */
    om_store *s2 = NULL;
    CHECK_OK(om_store_open(&s2, f->url));
    CHECK_OK(om_store_migrate(s2, &applied));
    assert_int_equal(applied, 0);
    char *name = value(s2, "SELECT name FROM schema_migrations WHERE version = 1", NULL, 0);
    assert_string_equal(name, "initial schema");
    free(name);
    char *at = value(s2, "SELECT applied_at FROM schema_migrations WHERE version = 1", NULL, 0);
    assert_true(is_canonical_ts(at));
    free(at);
    om_store_free(s2);
}

static void test_schema_columns_have_every_table(void **state)
{
    fx *f = *state;
    om_rows *r = NULL;
    CHECK_OK(om_store_schema_columns(f->s, &r));
    const char *tables[] = {"analysis", "artifacts", "clips", "creators", "edit_jobs",
                            "incidents", "job_logs", "jobs", "logs", "posts", "project_creators",
                            "projects", "schedules", "schema_migrations", "stardust_metadata",
                            "upload_jobs", "videos"};
    for (size_t t = 0; t < OM_ARRAY_LEN(tables); t++) {
        int found = 0;
        for (size_t i = 0; i < om_rows_count(r); i++)
            found |= strcmp(om_rows_getn(r, i, "table_name"), tables[t]) == 0;
        if (!found)
            fail_msg("table %s missing from the schema", tables[t]);
    }
    /* views are not base tables */
    for (size_t i = 0; i < om_rows_count(r); i++) {
        assert_string_not_equal(om_rows_get(r, i, 0), "pending_edit_jobs");
        assert_string_not_equal(om_rows_get(r, i, 0), "best_clip_per_video");
    }
    /* ordered by (table, column) */
    for (size_t i = 1; i < om_rows_count(r); i++) {
        int c = strcmp(om_rows_get(r, i - 1, 0), om_rows_get(r, i, 0));
        assert_true(c < 0 || (c == 0 && strcmp(om_rows_get(r, i - 1, 1), om_rows_get(r, i, 1)) < 0));
    }
    om_rows_free(r);
}

/* Runs in the PostgreSQL group: compares against a fresh SQLite database. */
static void test_schema_parity(void **state)
{
    fx *f = *state;
    char *dir = harness_tmpdir("store-parity");
    char url[500];
    snprintf(url, sizeof(url), "sqlite://%s/p.db", dir);
    om_store *sq = NULL;
    CHECK_OK(om_store_open(&sq, url));
    CHECK_OK(om_store_migrate(sq, NULL));
    om_rows *a = NULL, *b = NULL;
    CHECK_OK(om_store_schema_columns(sq, &a));
    CHECK_OK(om_store_schema_columns(f->s, &b));
    assert_true(om_rows_count(a) >= 139); /* 17 tables of migration 1 */
    size_t n = om_rows_count(a) < om_rows_count(b) ? om_rows_count(a) : om_rows_count(b);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(om_rows_get(a, i, 0), om_rows_get(b, i, 0)) ||
            strcmp(om_rows_get(a, i, 1), om_rows_get(b, i, 1)))
            fail_msg("schemas differ at row %zu: sqlite %s.%s vs postgres %s.%s", i,
                     om_rows_get(a, i, 0), om_rows_get(a, i, 1), om_rows_get(b, i, 0),
                     om_rows_get(b, i, 1));
    }
    assert_int_equal(om_rows_count(a), om_rows_count(b));
    om_rows_free(a);
    om_rows_free(b);
    om_store_free(sq);
    om_rmtree(dir);
    free(dir);
}

/* ---- values ------------------------------------------------------------------------- */

static void test_roundtrip_values(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char video[OM_UUID_LEN], clip[OM_UUID_LEN];
    make_video(s, video);
    const char *tags = "[\"plain\", \"with \\\"quotes\\\"\", \"comma, separated\", "
                       "\"{braces}\", \"back\\\\slash\", \"caf\\u00e9 \xe2\x9c\x93 \xf0\x9f\x8e\xac\","
                       " \"NULL\", \"\", \"  spaced  \", null]";
    const char *votes = "{\"horizon\": {\"score\": 0.75, \"why\": [\"a\", \"b\"]},  \"zenith\": true}";
    new_id(clip);
    int64_t changes = -1;
    CHECK_OK(om_store_exec(s,
                           "INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, "
                           "semantic_tags, pantheon_votes, lattice_priority, metadata) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           OM_PARAMS(OM_TEXT(clip), OM_TEXT(video), OM_REAL(1.5), OM_REAL(3.25),
                                     OM_REAL(0.1), OM_ARRAY(tags), OM_JSON(votes), OM_REAL(1e-7),
                                     OM_NULL),
                           &changes));
    assert_int_equal(changes, 1);
    om_rows *r = NULL;
    CHECK_OK(om_store_query(s,
                            "SELECT clip_id, start_time, end_time, confidence, semantic_tags, "
                            "pantheon_votes, lattice_priority, metadata, status, created_at "
                            "FROM clips WHERE clip_id = ?",
                            OM_PARAMS(OM_TEXT(clip)), &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_int_equal(om_rows_ncols(r), 10);
    assert_string_equal(om_rows_colname(r, 4), "semantic_tags");
    assert_string_equal(om_rows_getn(r, 0, "clip_id"), clip);
    assert_string_equal(om_rows_getn(r, 0, "start_time"), "1.5");
    assert_string_equal(om_rows_getn(r, 0, "end_time"), "3.25");
    assert_string_equal(om_rows_getn(r, 0, "confidence"), "0.1");
    assert_true(om_rows_real(r, 0, "lattice_priority", 0) == 1e-7);
    assert_string_equal(om_rows_getn(r, 0, "lattice_priority"), "1e-07");
    assert_json_equal(om_rows_getn(r, 0, "semantic_tags"), tags);
    assert_json_equal(om_rows_getn(r, 0, "pantheon_votes"), votes);
    /* JSON comes back compact on both backends */
    assert_null(strchr(om_rows_getn(r, 0, "pantheon_votes"), ' '));
    assert_null(om_rows_getn(r, 0, "metadata"));
    assert_string_equal(om_rows_getn(r, 0, "status"), "CANDIDATE");
    assert_true(is_canonical_ts(om_rows_getn(r, 0, "created_at")));
    assert_int_equal(om_rows_int(r, 0, "end_time", -1), 3);
    assert_int_equal(om_rows_int(r, 0, "metadata", -1), -1);
    om_rows_free(r);

    /* empty array, bool, int, bigint, text with every awkward character */
    char edit[OM_UUID_LEN], art[OM_UUID_LEN];
    new_id(edit);
    CHECK_OK(om_store_exec(s, "INSERT INTO edit_jobs (edit_job_id, clip_id, operations, "
                              "ffmpeg_commands, gpu_required) VALUES (?, ?, ?, ?, ?)",
                           OM_PARAMS(OM_TEXT(edit), OM_TEXT(clip), OM_JSON("[]"), OM_ARRAY("[]"),
                                     OM_BOOL(1)),
                           NULL));
    CHECK_OK(om_store_query(s, "SELECT ffmpeg_commands, gpu_required, operations, "
                               "estimated_duration_seconds FROM edit_jobs WHERE edit_job_id = ?",
                            OM_PARAMS(OM_TEXT(edit)), &r));
    assert_string_equal(om_rows_get(r, 0, 0), "[]");
    assert_string_equal(om_rows_get(r, 0, 1), "1");
    assert_string_equal(om_rows_get(r, 0, 2), "[]");
    assert_null(om_rows_get(r, 0, 3));
    om_rows_free(r);
    CHECK_OK(om_store_exec(s, "UPDATE edit_jobs SET gpu_required = ? WHERE edit_job_id = ?",
                           OM_PARAMS(OM_BOOL(0), OM_TEXT(edit)), &changes));
    assert_int_equal(changes, 1);
    char *v = value(s, "SELECT gpu_required FROM edit_jobs WHERE edit_job_id = ?",
                    OM_PARAMS(OM_TEXT(edit)));
    assert_string_equal(v, "0");
    free(v);
    v = value(s, "SELECT count(*) FROM edit_jobs WHERE gpu_required = ?", OM_PARAMS(OM_BOOL(0)));
    assert_string_equal(v, "1");
    free(v);

    const char *text = "it's \"quoted\", {x}, back\\slash, ? mark, $1, caf\xc3\xa9 \xf0\x9f\x8e\xac\nline2";
    new_id(art);
    CHECK_OK(om_store_exec(s, "INSERT INTO artifacts (artifact_id, kind, entity_id, path, "
                              "size_bytes, metadata) VALUES (?, 'render', ?, ?, ?, ?)",
                           OM_PARAMS(OM_TEXT(art), OM_TEXT(clip), OM_TEXT(text),
                                     OM_INT(5000000000LL), OM_JSON("\"just a string\"")),
                           NULL));
    CHECK_OK(om_store_query(s, "SELECT path, size_bytes, metadata, entity_type FROM artifacts "
                               "WHERE artifact_id = ?",
                            OM_PARAMS(OM_TEXT(art)), &r));
    assert_string_equal(om_rows_get(r, 0, 0), text);
    assert_string_equal(om_rows_get(r, 0, 1), "5000000000");
    assert_int_equal(om_rows_int(r, 0, "size_bytes", 0), 5000000000LL);
    assert_string_equal(om_rows_get(r, 0, 2), "\"just a string\"");
    assert_null(om_rows_get(r, 0, 3));
    om_rows_free(r);

    v = value(s, "SELECT duration_seconds FROM videos WHERE video_id = ?", OM_PARAMS(OM_TEXT(video)));
    assert_string_equal(v, "123");
    free(v);
    /* integers and reals as parameters of expressions */
    v = value(s, "SELECT ? + 1", OM_PARAMS(OM_INT(41)));
    assert_string_equal(v, "42");
    free(v);
    v = value(s, "SELECT ? * 2", OM_PARAMS(OM_REAL(0.25)));
    assert_string_equal(v, "0.5");
    free(v);
}

static void test_timestamps(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    /* now() is canonical UTC text and current */
    char *v = value(s, "SELECT now()", NULL, 0);
    assert_true(is_canonical_ts(v));
    int64_t us = 0;
    CHECK_OK(om_time_parse(v, &us));
    int64_t diff = us - om_now_us();
    assert_true(diff < 5000000 && diff > -5000000);
    free(v);

    /* explicit values come back as given (canonical in, canonical out) */
    char creator[OM_UUID_LEN], post[OM_UUID_LEN];
    new_id(creator);
    new_id(post);
    CHECK_OK(om_store_exec(s, "INSERT INTO creators (creator_id, platform, username, created_at) "
                              "VALUES (?, 'tiktok', 'u', ?)",
                           OM_PARAMS(OM_TEXT(creator), OM_TEXT("2020-02-29T23:59:59.000001Z")),
                           NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, "
                              "url, posted_at, downloaded_at) VALUES (?, ?, 'tiktok', '1', 'u', ?, ?)",
                           OM_PARAMS(OM_TEXT(post), OM_TEXT(creator),
                                     OM_TEXT("2026-01-02T03:04:05.000000Z"), OM_NULL),
                           NULL));
    om_rows *r = NULL;
    CHECK_OK(om_store_query(s, "SELECT c.created_at, c.updated_at, p.posted_at, p.downloaded_at "
                               "FROM creators c JOIN posts p ON p.creator_id = c.creator_id "
                               "WHERE p.post_id = ?",
                            OM_PARAMS(OM_TEXT(post)), &r));
    assert_string_equal(om_rows_get(r, 0, 0), "2020-02-29T23:59:59.000001Z");
    assert_true(is_canonical_ts(om_rows_get(r, 0, 1)));
    assert_string_equal(om_rows_get(r, 0, 2), "2026-01-02T03:04:05.000000Z");
    assert_null(om_rows_get(r, 0, 3));
    om_rows_free(r);
    /* comparisons with a parameter work on both (text order == time order) */
    v = value(s, "SELECT count(*) FROM posts WHERE posted_at > ? AND posted_at < now()",
              OM_PARAMS(OM_TEXT("2025-12-31T00:00:00.000000Z")));
    assert_string_equal(v, "1");
    free(v);
    /* a non-timestamp is refused */
    int rc = om_store_exec(s, "UPDATE posts SET posted_at = ? WHERE post_id = ?",
                           OM_PARAMS(OM_TEXT("last tuesday"), OM_TEXT(post)), NULL);
    assert_int_equal(rc, OM_EINVAL);

    /* inside a transaction now() is the transaction's start, as in PostgreSQL */
    CHECK_OK(om_store_begin(s));
    char *a = value(s, "SELECT now()", NULL, 0);
    om_sleep_ms(5);
    char *b = value(s, "SELECT now()", NULL, 0);
    assert_string_equal(a, b);
    CHECK_OK(om_store_commit(s));
    char *c = value(s, "SELECT now()", NULL, 0);
    assert_true(strcmp(c, a) > 0);
    free(a);
    free(b);
    free(c);

    /* updated_at follows updates (trigger), unless set explicitly */
    CHECK_OK(om_store_exec(s, "UPDATE creators SET updated_at = ? WHERE creator_id = ?",
                           OM_PARAMS(OM_TEXT("2021-01-01T00:00:00.000000Z"), OM_TEXT(creator)),
                           NULL));
    v = value(s, "SELECT updated_at FROM creators WHERE creator_id = ?", OM_PARAMS(OM_TEXT(creator)));
    assert_string_equal(v, "2021-01-01T00:00:00.000000Z");
    free(v);
    CHECK_OK(om_store_exec(s, "UPDATE creators SET profile_url = 'https://p' WHERE creator_id = ?",
                           OM_PARAMS(OM_TEXT(creator)), NULL));
    v = value(s, "SELECT updated_at FROM creators WHERE creator_id = ?", OM_PARAMS(OM_TEXT(creator)));
    assert_true(is_canonical_ts(v));
    assert_true(strcmp(v, "2025-01-01T00:00:00.000000Z") > 0);
    free(v);
}

/* ---- constraints -------------------------------------------------------------------- */

static void test_unique_violation(void **state)
{
    fx *f = *state;
    char a[OM_UUID_LEN], b[OM_UUID_LEN];
    CHECK_OK(om_store_exec(f->s, "INSERT INTO projects (project_id, name) VALUES (?, ?)",
                           OM_PARAMS(OM_TEXT(om_uuid4(a)), OM_TEXT("demo")), NULL));
    int rc = om_store_exec(f->s, "INSERT INTO projects (project_id, name) VALUES (?, ?)",
                           OM_PARAMS(OM_TEXT(om_uuid4(b)), OM_TEXT("demo")), NULL);
    assert_int_equal(rc, OM_EEXISTS);
    assert_non_null(strstr(om_error_msg(), "name"));
    /* primary key too */
    rc = om_store_exec(f->s, "INSERT INTO projects (project_id, name) VALUES (?, ?)",
                       OM_PARAMS(OM_TEXT(a), OM_TEXT("other")), NULL);
    assert_int_equal(rc, OM_EEXISTS);
    assert_int_equal(count_rows(f->s, "projects"), 1);
    /* defaults of the row that did go in */
    om_rows *r = NULL;
    CHECK_OK(om_store_query(f->s, "SELECT brand, timezone, targets FROM projects", NULL, 0, &r));
    assert_string_equal(om_rows_get(r, 0, 0), "{}");
    assert_string_equal(om_rows_get(r, 0, 1), "UTC");
    assert_json_equal(om_rows_get(r, 0, 2), "[\"export\"]");
    om_rows_free(r);
}

static void expect_exec(om_store *s, int code, const char *needle, const char *sql,
                        const om_val *p, size_t n)
{
    int rc = om_store_exec(s, sql, p, n, NULL);
    if (rc != code)
        fail_msg("%s: want %s, got %s (%s)", sql, om_error_name(code), om_error_name(rc),
                 om_error_msg());
    if (needle && !strstr(om_error_msg(), needle))
        fail_msg("%s: message '%s' lacks '%s'", sql, om_error_msg(), needle);
}

static void test_constraint_violations(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char video[OM_UUID_LEN], id[OM_UUID_LEN];
    make_video(s, video);
    const char *ins_clip = "INSERT INTO clips (clip_id, video_id, start_time, end_time, status) "
                           "VALUES (?, ?, ?, ?, ?)";
    /* CHECK (end_time > start_time) */
    expect_exec(s, OM_EINVAL, "clips_time_order", ins_clip,
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(video), OM_REAL(5), OM_REAL(5),
                          OM_TEXT("CANDIDATE")));
    expect_exec(s, OM_EINVAL, "clips_time_order", ins_clip,
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(video), OM_REAL(5), OM_REAL(2),
                          OM_TEXT("CANDIDATE")));
    expect_exec(s, OM_EINVAL, "clips_status_valid", ins_clip,
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(video), OM_REAL(1), OM_REAL(2),
                          OM_TEXT("MAYBE")));
    /* FOREIGN KEY */
    char ghost[OM_UUID_LEN];
    expect_exec(s, OM_EINVAL, NULL, ins_clip,
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(om_uuid4(ghost)), OM_REAL(1),
                          OM_REAL(2), OM_TEXT("CANDIDATE")));
    /* NOT NULL */
    expect_exec(s, OM_EINVAL, NULL,
                "INSERT INTO logs (log_id, source, level, message) VALUES (?, ?, 'INFO', 'm')",
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_NULL));
    /* malformed UUID, JSON, array */
    expect_exec(s, OM_EINVAL, NULL,
                "INSERT INTO logs (log_id, source, level, message) VALUES (?, 's', 'INFO', 'm')",
                OM_PARAMS(OM_TEXT("not-a-uuid")));
    expect_exec(s, OM_EINVAL, NULL,
                "INSERT INTO logs (log_id, source, level, message, metadata) "
                "VALUES (?, 's', 'INFO', 'm', ?)",
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_JSON("{broken")));
    expect_exec(s, OM_EINVAL, NULL,
                "INSERT INTO analysis (analysis_id, video_id, keywords) VALUES (?, ?, ?)",
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(video), OM_ARRAY("{\"not\": \"array\"}")));
    /* wrong parameter count is the caller's mistake, reported not crashed */
    expect_exec(s, OM_EINVAL, "placeholders", "SELECT ?, ?", OM_PARAMS(OM_INT(1)));
    /* nothing of the above went in */
    assert_int_equal(count_rows(s, "clips"), 0);
    assert_int_equal(count_rows(s, "logs"), 0);
    assert_int_equal(count_rows(s, "analysis"), 0);
    /* a valid clip does */
    make_clip(s, video, 1.0, 2.5, OM_REAL(0.9), id);
    assert_int_equal(count_rows(s, "clips"), 1);
}

/* ---- transactions ------------------------------------------------------------------- */

static void test_transactions(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char id[OM_UUID_LEN];
    const char *ins = "INSERT INTO projects (project_id, name) VALUES (?, ?)";
    assert_false(om_store_in_txn(s));
    CHECK_OK(om_store_begin(s));
    assert_true(om_store_in_txn(s));
    CHECK_OK(om_store_lock(s, "projects"));
    CHECK_OK(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("gone")), NULL));
    assert_int_equal(count_rows(s, "projects"), 1);
    CHECK_OK(om_store_rollback(s));
    assert_false(om_store_in_txn(s));
    assert_int_equal(count_rows(s, "projects"), 0);
    CHECK_OK(om_store_rollback(s)); /* no transaction open: fine */

    CHECK_OK(om_store_begin(s));
    CHECK_OK(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("kept")), NULL));
    CHECK_OK(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("kept too")), NULL));
    CHECK_OK(om_store_commit(s));
    assert_int_equal(count_rows(s, "projects"), 2);

    /* another connection sees committed rows only */
    om_store *s2 = NULL;
    CHECK_OK(om_store_open(&s2, f->url));
    CHECK_OK(om_store_begin(s));
    CHECK_OK(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("pending")), NULL));
    assert_int_equal(count_rows(s2, "projects"), 2);
    CHECK_OK(om_store_commit(s));
    assert_int_equal(count_rows(s2, "projects"), 3);
    om_store_free(s2);

    /* an error dooms the transaction on both backends: later statements and commit fail,
     * and nothing of it is kept */
    CHECK_OK(om_store_begin(s));
    CHECK_OK(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("doomed")), NULL));
    assert_int_equal(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("kept")),
                                   NULL),
                     OM_EEXISTS);
    int rc = om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("after")), NULL);
    assert_int_equal(rc, OM_ERROR);
    assert_non_null(strstr(om_error_msg(), "roll it back"));
    rc = om_store_commit(s);
    assert_true(rc < 0);
    assert_false(om_store_in_txn(s));
    assert_int_equal(count_rows(s, "projects"), 3);
    char *v = NULL;
    assert_int_equal(om_store_query_value(s, "SELECT name FROM projects WHERE name = 'doomed'",
                                          NULL, 0, &v),
                     OM_ENOTFOUND);
    /* and the store works normally afterwards */
    CHECK_OK(om_store_begin(s));
    CHECK_OK(om_store_exec(s, ins, OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT("later")), NULL));
    CHECK_OK(om_store_commit(s));
    assert_int_equal(count_rows(s, "projects"), 4);
}

static void test_on_conflict_returning(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char a[OM_UUID_LEN], b[OM_UUID_LEN];
    const char *sql = "INSERT INTO projects (project_id, name) VALUES (?, ?) "
                      "ON CONFLICT (name) DO NOTHING RETURNING project_id, created_at";
    om_rows *r = NULL;
    CHECK_OK(om_store_query(s, sql, OM_PARAMS(OM_TEXT(om_uuid4(a)), OM_TEXT("p1")), &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_getn(r, 0, "project_id"), a);
    assert_true(is_canonical_ts(om_rows_getn(r, 0, "created_at")));
    om_rows_free(r);
    CHECK_OK(om_store_query(s, sql, OM_PARAMS(OM_TEXT(om_uuid4(b)), OM_TEXT("p1")), &r));
    assert_int_equal(om_rows_count(r), 0);
    assert_int_equal(om_rows_ncols(r), 2); /* columns known even without rows */
    om_rows_free(r);
    int64_t changes = -1;
    CHECK_OK(om_store_exec(s, "INSERT INTO projects (project_id, name) VALUES (?, ?) "
                              "ON CONFLICT (name) DO NOTHING",
                           OM_PARAMS(OM_TEXT(b), OM_TEXT("p1")), &changes));
    assert_int_equal(changes, 0);
    /* upsert */
    CHECK_OK(om_store_query(s, "INSERT INTO projects (project_id, name, timezone) VALUES (?, ?, ?) "
                               "ON CONFLICT (name) DO UPDATE SET timezone = excluded.timezone "
                               "RETURNING project_id, timezone",
                            OM_PARAMS(OM_TEXT(b), OM_TEXT("p1"), OM_TEXT("Europe/Paris")), &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_get(r, 0, 0), a);
    assert_string_equal(om_rows_get(r, 0, 1), "Europe/Paris");
    om_rows_free(r);
    /* UPDATE ... RETURNING and changes */
    CHECK_OK(om_store_exec(s, "UPDATE projects SET timezone = 'UTC'", NULL, 0, &changes));
    assert_int_equal(changes, 1);
    CHECK_OK(om_store_exec(s, "DELETE FROM projects WHERE name = 'nope'", NULL, 0, &changes));
    assert_int_equal(changes, 0);
}

/* ---- ledger ------------------------------------------------------------------------- */

static void test_stardust_append_only(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char id[OM_UUID_LEN], ent[OM_UUID_LEN];
    CHECK_OK(om_store_exec(s, "INSERT INTO stardust_metadata (stardust_id, entity_type, entity_id, "
                              "lineage, seq, prev_hash, packet_hash) VALUES (?, 'clips', ?, ?, 1, "
                              "'0000', 'abcd')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(om_uuid4(ent)),
                                     OM_JSON("{\"trace_id\": \"t1\", \"parents\": []}")),
                           NULL));
    expect_exec(s, OM_EINVAL, "append-only", "UPDATE stardust_metadata SET packet_hash = 'x'",
                NULL, 0);
    assert_non_null(strstr(om_error_msg(), "UPDATE"));
    expect_exec(s, OM_EINVAL, "append-only", "DELETE FROM stardust_metadata WHERE seq = ?",
                OM_PARAMS(OM_INT(1)));
    assert_non_null(strstr(om_error_msg(), "DELETE"));
    if (is_pg(f))
        expect_exec(s, OM_EINVAL, "append-only", "TRUNCATE stardust_metadata", NULL, 0);
    /* also refused inside a transaction, which it dooms */
    CHECK_OK(om_store_begin(s));
    expect_exec(s, OM_EINVAL, "append-only", "DELETE FROM stardust_metadata", NULL, 0);
    assert_true(om_store_commit(s) < 0);
    char *v = value(s, "SELECT packet_hash FROM stardust_metadata WHERE stardust_id = ?",
                    OM_PARAMS(OM_TEXT(id)));
    assert_string_equal(v, "abcd");
    free(v);
    /* seq is unique: a second packet with the same seq is OM_EEXISTS */
    expect_exec(s, OM_EEXISTS, NULL,
                "INSERT INTO stardust_metadata (stardust_id, entity_type, entity_id, lineage, seq, "
                "prev_hash, packet_hash) VALUES (?, 'clips', ?, '{}', 1, 'abcd', 'ef')",
                OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(ent)));
    if (is_pg(f)) { /* the privilege side: PUBLIC may not change the ledger */
        v = value(s, "SELECT count(*) FROM information_schema.role_table_grants WHERE "
                     "table_name = 'stardust_metadata' AND grantee = 'PUBLIC' AND "
                     "privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')",
                  NULL, 0);
        assert_string_equal(v, "0");
        free(v);
        v = value(s, "SELECT count(*) FROM pg_roles WHERE rolname = 'omniva_cognition_ro'", NULL,
                  0);
        assert_string_equal(v, "1");
        free(v);
        v = value(s, "SELECT has_table_privilege('omniva_cognition_ro', 'clips', 'UPDATE')::int::text "
                     "|| has_table_privilege('omniva_cognition_ro', 'clips', 'SELECT')::int::text "
                     "|| has_table_privilege('omniva_cognition_ro', 'stardust_metadata', "
                     "'INSERT')::int",
                  NULL, 0);
        assert_string_equal(v, "011");
        free(v);
    }
}

/* ---- views -------------------------------------------------------------------------- */

static void test_views(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char video[OM_UUID_LEN], a1[OM_UUID_LEN], a2[OM_UUID_LEN], c1[OM_UUID_LEN], c2[OM_UUID_LEN],
        c3[OM_UUID_LEN], e1[OM_UUID_LEN], u1[OM_UUID_LEN], u2[OM_UUID_LEN], sc[OM_UUID_LEN];
    make_video(s, video);
    const char *ins_an = "INSERT INTO analysis (analysis_id, video_id, virality_score, "
                         "relevance_score, keywords, created_at) VALUES (?, ?, ?, 0.5, ?, ?)";
    CHECK_OK(om_store_exec(s, ins_an,
                           OM_PARAMS(OM_TEXT(om_uuid4(a1)), OM_TEXT(video), OM_REAL(0.2),
                                     OM_ARRAY("[\"old\"]"), OM_TEXT("2026-01-01T00:00:00.000000Z")),
                           NULL));
    CHECK_OK(om_store_exec(s, ins_an,
                           OM_PARAMS(OM_TEXT(om_uuid4(a2)), OM_TEXT(video), OM_REAL(0.8),
                                     OM_ARRAY("[\"new\"]"), OM_TEXT("2026-01-02T00:00:00.000000Z")),
                           NULL));
    make_clip(s, video, 0, 10, OM_NULL, c1); /* NULL confidence must not win */
    make_clip(s, video, 10, 20, OM_REAL(0.9), c2);
    make_clip(s, video, 20, 30, OM_REAL(0.4), c3);
    CHECK_OK(om_store_exec(s, "INSERT INTO edit_jobs (edit_job_id, clip_id, operations) "
                              "VALUES (?, ?, ?)",
                           OM_PARAMS(OM_TEXT(om_uuid4(e1)), OM_TEXT(c2),
                                     OM_JSON("{\"trim\": [10, 20]}")),
                           NULL));
    const char *ins_up = "INSERT INTO upload_jobs (upload_job_id, clip_id, title, scheduled_time, "
                         "status) VALUES (?, ?, ?, ?, ?)";
    CHECK_OK(om_store_exec(s, ins_up,
                           OM_PARAMS(OM_TEXT(om_uuid4(u1)), OM_TEXT(c2), OM_TEXT("future"),
                                     OM_TEXT("2999-01-01T00:00:00.000000Z"), OM_TEXT("SCHEDULED")),
                           NULL));
    CHECK_OK(om_store_exec(s, ins_up,
                           OM_PARAMS(OM_TEXT(om_uuid4(u2)), OM_TEXT(c3), OM_TEXT("past"),
                                     OM_TEXT("2001-01-01T00:00:00.000000Z"), OM_TEXT("PENDING")),
                           NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO schedules (schedule_id, clip_id, final_scheduled_time, "
                              "status) VALUES (?, ?, ?, 'COMMITTED')",
                           OM_PARAMS(OM_TEXT(om_uuid4(sc)), OM_TEXT(c2),
                                     OM_TEXT("2999-01-01T01:00:00.000000Z")),
                           NULL));
    if (is_pg(f)) {
        CHECK_OK(om_store_exec(s, "REFRESH MATERIALIZED VIEW latest_analysis_per_video", NULL, 0,
                               NULL));
        CHECK_OK(om_store_exec(s, "REFRESH MATERIALIZED VIEW CONCURRENTLY best_clip_per_video",
                               NULL, 0, NULL));
    }
    om_rows *r = NULL;
    CHECK_OK(om_store_query(s, "SELECT video_id, analysis_id, virality_score, created_at "
                               "FROM latest_analysis_per_video",
                            NULL, 0, &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_getn(r, 0, "analysis_id"), a2);
    assert_string_equal(om_rows_getn(r, 0, "virality_score"), "0.8");
    assert_string_equal(om_rows_getn(r, 0, "created_at"), "2026-01-02T00:00:00.000000Z");
    om_rows_free(r);
    CHECK_OK(om_store_query(s, "SELECT clip_id, confidence FROM best_clip_per_video WHERE "
                               "video_id = ?",
                            OM_PARAMS(OM_TEXT(video)), &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_get(r, 0, 0), c2);
    om_rows_free(r);
    CHECK_OK(om_store_query(s, "SELECT edit_job_id, clip_id, status, operations FROM "
                               "pending_edit_jobs",
                            NULL, 0, &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_get(r, 0, 0), e1);
    assert_string_equal(om_rows_get(r, 0, 3), "{\"trim\":[10,20]}");
    om_rows_free(r);
    CHECK_OK(om_store_query(s, "SELECT upload_job_id, title, scheduled_time, final_scheduled_time, "
                               "schedule_status FROM upcoming_upload_schedule",
                            NULL, 0, &r));
    assert_int_equal(om_rows_count(r), 1);
    assert_string_equal(om_rows_get(r, 0, 0), u1);
    assert_string_equal(om_rows_get(r, 0, 1), "future");
    assert_string_equal(om_rows_get(r, 0, 3), "2999-01-01T01:00:00.000000Z");
    assert_string_equal(om_rows_get(r, 0, 4), "COMMITTED");
    om_rows_free(r);
}

/* ---- misc --------------------------------------------------------------------------- */

static void test_query_value_and_placeholders(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    char *v = (char *)0x1;
    assert_int_equal(om_store_query_value(s, "SELECT name FROM projects WHERE name = ?",
                                          OM_PARAMS(OM_TEXT("absent")), &v),
                     OM_ENOTFOUND);
    assert_null(v);
    /* SQL NULL is a row with a NULL value, not NOTFOUND */
    CHECK_OK(om_store_query_value(s, "SELECT NULL", NULL, 0, &v));
    assert_null(v);
    /* '?' inside strings, identifiers and comments is not a placeholder */
    om_rows *r = NULL;
    CHECK_OK(om_store_query(s, "SELECT '?' AS \"q?\", ? AS p, 'it''s ?' AS t -- trailing ?\n"
                               ", /* ? */ ? AS p2",
                            OM_PARAMS(OM_TEXT("one"), OM_INT(2)), &r));
    assert_string_equal(om_rows_get(r, 0, 0), "?");
    assert_string_equal(om_rows_colname(r, 0), "q?");
    assert_string_equal(om_rows_get(r, 0, 1), "one");
    assert_string_equal(om_rows_get(r, 0, 2), "it's ?");
    assert_string_equal(om_rows_get(r, 0, 3), "2");
    om_rows_free(r);
    /* many rows, many statements: the statement cache is reused and stays correct */
    for (int i = 0; i < 300; i++) {
        char id[OM_UUID_LEN], name[32];
        snprintf(name, sizeof(name), "p%03d", i);
        CHECK_OK(om_store_exec(s, "INSERT INTO projects (project_id, name) VALUES (?, ?)",
                               OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(name)), NULL));
    }
    /* more distinct statements than the cache holds */
    for (int i = 0; i < 300; i++) {
        char sql[100];
        snprintf(sql, sizeof(sql), "SELECT name FROM projects WHERE name = 'p%03d'", i);
        char *n = value(s, sql, NULL, 0);
        char want[16];
        snprintf(want, sizeof(want), "p%03d", i);
        assert_string_equal(n, want);
        free(n);
    }
    CHECK_OK(om_store_query(s, "SELECT name FROM projects ORDER BY name", NULL, 0, &r));
    assert_int_equal(om_rows_count(r), 300);
    assert_string_equal(om_rows_get(r, 299, 0), "p299");
    om_rows_free(r);
    /* a syntax error is an error with the database's words, not a crash */
    int rc = om_store_exec(s, "SELEC nonsense", NULL, 0, NULL);
    assert_int_equal(rc, OM_ERROR);
    assert_non_null(strstr(om_error_msg(), "syntax"));
}

static void test_sqlite_busy(void **state)
{
    fx *f = *state;
    char url[800];
    snprintf(url, sizeof(url), "%s?busy_timeout=100", f->url);
    om_store *other = NULL;
    CHECK_OK(om_store_open(&other, url));
    CHECK_OK(om_store_begin(f->s));
    int64_t t0 = om_mono_ms();
    int rc = om_store_begin(other);
    assert_int_equal(rc, OM_EBUSY);
    assert_non_null(strstr(om_error_msg(), "locked"));
    assert_true(om_mono_ms() - t0 >= 90);
    /* reads still work while a writer holds the lock (WAL) */
    assert_int_equal(count_rows(other, "projects"), 0);
    CHECK_OK(om_store_commit(f->s));
    CHECK_OK(om_store_begin(other));
    CHECK_OK(om_store_commit(other));
    om_store_free(other);
    char *mode = value(f->s, "PRAGMA journal_mode", NULL, 0);
    assert_string_equal(mode, "wal");
    free(mode);
    char *fk = value(f->s, "PRAGMA foreign_keys", NULL, 0);
    assert_string_equal(fk, "1");
    free(fk);
}

static void test_pg_reconnect_and_lock(void **state)
{
    fx *f = *state;
    /* An advisory lock taken in one transaction blocks the same name in another. */
    om_store *other = NULL;
    CHECK_OK(om_store_open(&other, f->url));
    CHECK_OK(om_store_begin(f->s));
    CHECK_OK(om_store_lock(f->s, "queue:claim"));
    char *v = value(other, "SELECT pg_try_advisory_xact_lock(hashtext(?))::int",
                    OM_PARAMS(OM_TEXT("queue:claim")));
    assert_string_equal(v, "0");
    free(v);
    v = value(other, "SELECT pg_try_advisory_xact_lock(hashtext(?))::int",
              OM_PARAMS(OM_TEXT("other name")));
    assert_string_equal(v, "1");
    free(v);
    CHECK_OK(om_store_commit(f->s));
    v = value(other, "SELECT pg_try_advisory_xact_lock(hashtext(?))::int",
              OM_PARAMS(OM_TEXT("queue:claim")));
    assert_string_equal(v, "1");
    free(v);
    /* A connection killed by the server: the next call fails with EUNAVAIL, the one after
     * reconnects. */
    char *pid = value(other, "SELECT pg_backend_pid()::text", NULL, 0);
    CHECK_OK(om_store_exec(f->s, "SELECT pg_terminate_backend(?::int)", OM_PARAMS(OM_TEXT(pid)),
                           NULL));
    free(pid);
    int rc = om_store_exec(other, "SELECT 1", NULL, 0, NULL);
    assert_int_equal(rc, OM_EUNAVAIL);
    v = value(other, "SELECT 41 + 1", NULL, 0);
    assert_string_equal(v, "42");
    free(v);
    om_store_free(other);
}


/* Several processes migrating one empty database at once: exactly one applies each
 * migration, the others wait for it and apply nothing; nobody fails. */
static void test_concurrent_migrate(void **state)
{
    fx *f = *state;
    enum { N = 4 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            om_store *s = NULL;
            int applied = -1;
            if (om_store_open(&s, f->url) != OM_OK || om_store_migrate(s, &applied) != OM_OK) {
                fprintf(stderr, "child migrate: %s\n", om_error_msg());
                _exit(100);
            }
            om_store_free(s);
            _exit(applied);
        }
    }
    int total = 0;
    for (int i = 0; i < N; i++) {
        int st = 0;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st));
        assert_true(WEXITSTATUS(st) != 100);
        total += WEXITSTATUS(st);
    }
    assert_int_equal(total, (int)om_migrations_count);
    int version = 0;
    CHECK_OK(om_store_schema_version(f->s, &version));
    assert_int_equal(version, om_migrations[om_migrations_count - 1].version);
    assert_int_equal(count_rows(f->s, "schema_migrations"), (int64_t)om_migrations_count);
}

/* A handle inherited across fork() refuses work in the child (and closing it there does not
 * disturb the parent's connection); the child opens its own. */
static void test_forked_child(void **state)
{
    fx *f = *state;
    char *v = value(f->s, "SELECT count(*) FROM projects", NULL, 0); /* connection in use */
    free(v);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int code = 0;
        if (om_store_exec(f->s, "SELECT 1", NULL, 0, NULL) != OM_ERROR ||
            !strstr(om_error_msg(), "forked"))
            code = 10;
        om_store_free(f->s);
        om_store *mine = NULL;
        char id[OM_UUID_LEN];
        if (om_store_open(&mine, f->url) != OM_OK ||
            om_store_exec(mine, "INSERT INTO projects (project_id, name) VALUES (?, 'child')",
                          OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL) != OM_OK)
            code = 11;
        om_store_free(mine);
        _exit(code);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the parent's handle still works and sees the child's row */
    v = value(f->s, "SELECT name FROM projects", NULL, 0);
    assert_string_equal(v, "child");
    free(v);
}

/* Migrating as a user without CREATEROLE: the read-only role is skipped with a NOTICE and
 * the migration still succeeds. Runs first in the PostgreSQL group (before any migration
 * by the superuser created the role). */
static void test_pg_migrate_without_createrole(void **state)
{
    (void)state;
    om_store *admin = NULL;
    CHECK_OK(om_store_open(&admin, ctx_pg.pg.url));
    char *had_role = value(admin, "SELECT count(*) FROM pg_roles WHERE rolname = "
                                  "'omniva_cognition_ro'", NULL, 0);
    CHECK_OK(om_store_exec(admin, "CREATE ROLE limited LOGIN NOCREATEROLE", NULL, 0, NULL));
    CHECK_OK(om_store_exec(admin, "CREATE DATABASE limited_db OWNER limited", NULL, 0, NULL));
    char url[600];
    snprintf(url, sizeof(url), "postgres://limited@127.0.0.1:%d/limited_db", ctx_pg.pg.port);
    om_store *s = NULL;
    CHECK_OK(om_store_open(&s, url));
    char *who = value(s, "SELECT current_user", NULL, 0);
    assert_string_equal(who, "limited");
    free(who);
    int applied = -1;
    CHECK_OK(om_store_migrate(s, &applied));
    assert_int_equal(applied, (int)om_migrations_count);
    char *v = value(s, "SELECT count(*) FROM pg_roles WHERE rolname = 'omniva_cognition_ro'",
                    NULL, 0);
    assert_string_equal(had_role, "0"); /* fresh cluster: the role did not exist ... */
    assert_string_equal(v, "0");        /* ... and this user could not create it */
    free(v);
    /* the triggers still guard the ledger for its owner */
    char id[OM_UUID_LEN];
    CHECK_OK(om_store_exec(s, "INSERT INTO stardust_metadata (stardust_id, entity_type, entity_id, "
                              "lineage, seq, prev_hash, packet_hash) VALUES (?, 'clips', ?, '{}', 1, "
                              "'0', '1')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(id)), NULL));
    expect_exec(s, OM_EINVAL, "append-only", "DELETE FROM stardust_metadata", NULL, 0);
    om_store_free(s);
    free(had_role);
    CHECK_OK(om_store_exec(admin, "DROP DATABASE limited_db", NULL, 0, NULL));
    CHECK_OK(om_store_exec(admin, "DROP ROLE limited", NULL, 0, NULL));
    om_store_free(admin);
}

/* ---- main --------------------------------------------------------------------------- */

/* ---- the SQLite file in standard tools ------------------------------------------------ */

/* The database file behind a sqlite:// URL. */
static const char *sqlite_path(const char *url)
{
    OM_ASSERT(strncmp(url, "sqlite://", 9) == 0);
    return url + 9;
}

/* Runs the sqlite3 CLI (a connection without our now()) on `path` with `sql`; returns its
 * stdout (caller frees); fails the test when it exits non-zero. */
static char *sqlite_cli(const char *path, const char *sql)
{
    if (!om_proc_which("sqlite3"))
        fail_msg("the sqlite3 program is missing (Debian package sqlite3)");
    const char *argv[] = {"sqlite3", "-batch", "-bail", path, sql, NULL};
    om_proc_opts o = {.argv = argv, .timeout_ms = 30000};
    om_proc_result r;
    CHECK_OK(om_proc_run(&o, &r));
    if (r.exit_code != 0)
        fail_msg("sqlite3 %s '%s': exit %d: %s", path, sql, r.exit_code, r.err ? r.err : "");
    char *out = xstrdup(r.out ? r.out : "");
    om_proc_result_release(&r);
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    return out;
}

static void assert_cli_equal(const char *path, const char *sql, const char *want)
{
    char *got = sqlite_cli(path, sql);
    if (strcmp(got, want))
        fail_msg("sqlite3 '%s': got '%s', want '%s'", sql, got, want);
    free(got);
}

/* No schema object may call a function the stock sqlite3 does not have. */
static void assert_schema_plain(const char *path)
{
    assert_cli_equal(path,
                     "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%now()%' "
                     "OR sql LIKE '%now ()%'",
                     "0");
    assert_cli_equal(path, "PRAGMA integrity_check", "ok");
    assert_cli_equal(path, "PRAGMA foreign_key_check", "");
}

static void test_sqlite_file_in_cli(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    const char *path = sqlite_path(f->url);
    char video[OM_UUID_LEN], clip[OM_UUID_LEN], up[OM_UUID_LEN];
    make_video(s, video);
    make_clip(s, video, 0, 10, OM_REAL(0.9), clip);
    CHECK_OK(om_store_exec(s, "INSERT INTO upload_jobs (upload_job_id, clip_id, title, "
                              "scheduled_time, status) VALUES (?, ?, 'soon', ?, 'SCHEDULED')",
                           OM_PARAMS(OM_TEXT(om_uuid4(up)), OM_TEXT(clip),
                                     OM_TEXT("2999-01-01T00:00:00.000000Z")),
                           NULL));
    om_store_free(s); /* the CLI gets the file to itself, as a backup script would */
    f->s = NULL;

    assert_schema_plain(path);
    char *want = xasprintf("%s|soon", up);
    assert_cli_equal(path, "SELECT upload_job_id, title FROM upcoming_upload_schedule", want);
    free(want);
    /* a row inserted with its defaults satisfies the timestamp CHECK (-bail: a violation
     * fails the command) and is canonical */
    char log_id[OM_UUID_LEN];
    om_uuid4(log_id);
    char *ins = xasprintf("INSERT INTO logs (log_id, source, level, message) "
                          "VALUES ('%s', 'backup', 'info', 'from the sqlite3 CLI'); "
                          "SELECT created_at FROM logs WHERE log_id = '%s'",
                          log_id, log_id);
    char *at = sqlite_cli(path, ins);
    if (!is_canonical_ts(at))
        fail_msg("default created_at '%s' is not canonical", at);
    free(ins);
    /* the touch trigger runs in the CLI too */
    char *upd = sqlite_cli(path, "UPDATE creators SET profile_url = 'https://y'; "
                                 "SELECT updated_at > created_at FROM creators");
    assert_string_equal(upd, "1");
    free(upd);
    /* and our own connection reads what the CLI wrote */
    CHECK_OK(om_store_open(&f->s, f->url));
    char *sql = xasprintf("SELECT created_at FROM logs WHERE log_id = '%s'", log_id);
    char *again = value(f->s, sql, NULL, 0);
    assert_string_equal(again, at);
    free(again);
    free(sql);
    free(at);
}

/* A database made by a binary that only knew migration 1 (its schema_migrations table
 * created with that binary's bootstrap text) upgrades to the latest version keeping every
 * row, and ends with the same schema as a fresh one. */
static void test_sqlite_upgrade_from_v1(void **state)
{
    fx *f = *state;
    om_store *s = f->s;
    OM_ASSERT(om_migrations[0].version == 1);
    CHECK_OK(om_store_begin(s));
    CHECK_OK(s->be->exec_script(s, "CREATE TABLE schema_migrations ("
                                   " version INTEGER NOT NULL PRIMARY KEY,"
                                   " name TEXT NOT NULL,"
                                   " applied_at TEXT NOT NULL DEFAULT (now())) STRICT"));
    CHECK_OK(s->be->exec_script(s, om_migrations[0].sqlite_sql));
    CHECK_OK(om_store_exec(s, "INSERT INTO schema_migrations (version, name) "
                              "VALUES (1, 'initial schema')",
                           NULL, 0, NULL));
    CHECK_OK(om_store_commit(s));

    /* rows in every table, most timestamps from the version-1 defaults */
    char video[OM_UUID_LEN], clip[OM_UUID_LEN], id[OM_UUID_LEN], project[OM_UUID_LEN];
    make_video(s, video);
    make_clip(s, video, 0, 10, OM_REAL(0.5), clip);
    CHECK_OK(om_store_exec(s, "INSERT INTO projects (project_id, name) VALUES (?, 'acme')",
                           OM_PARAMS(OM_TEXT(om_uuid4(project))), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO project_creators (project_id, creator_id) "
                              "SELECT ?, creator_id FROM creators",
                           OM_PARAMS(OM_TEXT(project)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO analysis (analysis_id, video_id) VALUES (?, ?)",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(video)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO edit_jobs (edit_job_id, clip_id, operations) "
                              "VALUES (?, ?, '{}')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(clip)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO upload_jobs (upload_job_id, clip_id, status, "
                              "scheduled_time) VALUES (?, ?, 'PENDING', "
                              "'2999-01-01T00:00:00.000000Z')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(clip)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO schedules (schedule_id, clip_id) VALUES (?, ?)",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(clip)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO stardust_metadata (stardust_id, entity_type, "
                              "entity_id, lineage, seq, prev_hash, packet_hash) "
                              "VALUES (?, 'clips', ?, '{}', 1, 'genesis', 'h1')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(clip)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO logs (log_id, source, level, message) "
                              "VALUES (?, 'test', 'info', 'm')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO jobs (job_id, type, state, payload) "
                              "VALUES (?, 'scrape', 'ready', '{}')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO job_logs (job_log_id, job_id, level, message) "
                              "VALUES (?, ?, 'info', 'm')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(id)), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO artifacts (artifact_id, kind, path) "
                              "VALUES (?, 'render', '/m/c.mp4')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL));
    CHECK_OK(om_store_exec(s, "INSERT INTO incidents (incident_id, kind, severity, message) "
                              "VALUES (?, 'disk', 'warn', 'm')",
                           OM_PARAMS(OM_TEXT(om_uuid4(id))), NULL));
    static const char *const tables[] = {
        "projects", "creators",  "project_creators",  "posts", "videos",   "analysis",
        "clips",    "edit_jobs", "upload_jobs",       "schedules", "stardust_metadata",
        "logs",     "jobs",      "job_logs",          "artifacts", "incidents"};
    char *before[OM_ARRAY_LEN(tables)];
#define STAMP_COL(t) (!strcmp(t, "posts") ? "url" : !strcmp(t, "project_creators") ? "added_at" \
                                                                                   : "created_at")
    for (size_t i = 0; i < OM_ARRAY_LEN(tables); i++) {
        assert_int_equal(count_rows(s, tables[i]), 1);
        char *sql = xasprintf("SELECT %s FROM %s", STAMP_COL(tables[i]), tables[i]);
        before[i] = value(s, sql, NULL, 0);
        free(sql);
    }

    int applied = 0, version = 0;
    CHECK_OK(om_store_migrate(s, &applied));
    assert_int_equal(applied, (int)om_migrations_count - 1);
    CHECK_OK(om_store_schema_version(s, &version));
    assert_int_equal(version, om_migrations[om_migrations_count - 1].version);
    for (size_t i = 0; i < OM_ARRAY_LEN(tables); i++) {
        assert_int_equal(count_rows(s, tables[i]), 1);
        char *sql = xasprintf("SELECT %s FROM %s", STAMP_COL(tables[i]), tables[i]);
        char *after = value(s, sql, NULL, 0);
        assert_string_equal(after, before[i]);
        free(after);
        free(sql);
        free(before[i]);
    }
    char *at = value(s, "SELECT applied_at FROM schema_migrations WHERE version = 1", NULL, 0);
    assert_true(is_canonical_ts(at));
    free(at);
    /* the triggers came back: the ledger still refuses UPDATE */
    assert_int_not_equal(om_store_exec(s, "UPDATE stardust_metadata SET entity_type = 'x'",
                                       NULL, 0, NULL),
                         OM_OK);
    om_error_clear();

    /* the same schema objects, text for text, as a database migrated from empty */
    char *dir = harness_tmpdir("store-fresh");
    char url[500];
    snprintf(url, sizeof(url), "sqlite://%s/fresh.db", dir);
    om_store *fresh = NULL;
    CHECK_OK(om_store_open(&fresh, url));
    CHECK_OK(om_store_migrate(fresh, NULL));
    const char *objs = "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), "
                       "char(10)) FROM (SELECT * FROM sqlite_schema ORDER BY type, name)";
    char *a = value(s, objs, NULL, 0), *b = value(fresh, objs, NULL, 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "index upload_jobs_scheduled_time_idx"));
    assert_non_null(strstr(a, "trigger stardust_metadata_no_delete"));
    assert_non_null(strstr(a, "view upcoming_upload_schedule"));
    free(a);
    free(b);
    om_store_free(fresh);
    om_rmtree(dir);
    free(dir);
    om_store_free(s);
    f->s = NULL;
    assert_schema_plain(sqlite_path(f->url));
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    om_log_set_quiet(1);
    int failed = 0;

    if (!only || strcmp(only, "sqlite") == 0) {
        const struct CMUnitTest sqlite_tests[] = {
            cmocka_unit_test(test_open_bad_urls),
            cmocka_unit_test(test_sqlite_unreachable_paths),
            cmocka_unit_test(test_sqlite_corrupt_file),
            cmocka_unit_test(test_sqlite_read_only),
            T(test_migrate_twice, setup_empty),
            T(test_schema_columns_have_every_table, setup_migrated),
            T(test_roundtrip_values, setup_migrated),
            T(test_timestamps, setup_migrated),
            T(test_unique_violation, setup_migrated),
            T(test_constraint_violations, setup_migrated),
            T(test_transactions, setup_migrated),
            T(test_on_conflict_returning, setup_migrated),
            T(test_stardust_append_only, setup_migrated),
            T(test_views, setup_migrated),
            T(test_query_value_and_placeholders, setup_migrated),
            T(test_sqlite_busy, setup_migrated),
            T(test_forked_child, setup_migrated),
            T(test_concurrent_migrate, setup_empty),
            T(test_sqlite_file_in_cli, setup_migrated),
            T(test_sqlite_upgrade_from_v1, setup_empty),
        };
        failed += cmocka_run_group_tests_name("store/sqlite", sqlite_tests, group_setup_sqlite,
                                              group_teardown);
    }
    if (!only || strcmp(only, "postgres") == 0) {
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test(test_pg_migrate_without_createrole),
            cmocka_unit_test(test_pg_unreachable),
            T(test_migrate_twice, setup_empty),
            T(test_schema_columns_have_every_table, setup_migrated),
            T(test_schema_parity, setup_migrated),
            T(test_roundtrip_values, setup_migrated),
            T(test_timestamps, setup_migrated),
            T(test_unique_violation, setup_migrated),
            T(test_constraint_violations, setup_migrated),
            T(test_transactions, setup_migrated),
            T(test_on_conflict_returning, setup_migrated),
            T(test_stardust_append_only, setup_migrated),
            T(test_views, setup_migrated),
            T(test_query_value_and_placeholders, setup_migrated),
            T(test_pg_reconnect_and_lock, setup_migrated),
            T(test_forked_child, setup_migrated),
            T(test_concurrent_migrate, setup_empty),
        };
        failed += cmocka_run_group_tests_name("store/postgres", pg_tests, group_setup_pg,
                                              group_teardown);
    }
    return failed ? 1 : 0;
}
