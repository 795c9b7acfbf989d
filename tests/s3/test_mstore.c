/*
 * test_mstore.c: the media store contract (src/media/mstore.h), the same cases against the
 * workspace folder (file://) and an S3 bucket (s3:// on the tests/s3 server: s3rver behind
 * a front that verifies SigV4 and every body's SHA-256); then what only S3 has (multipart,
 * retries, aborts, credentials) and the node cache (cap, eviction order, files in use,
 * concurrent fills).
 */
#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "media/mcache.h"
#include "media/mstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_s3 S3;

typedef struct fx {
    char *home;
    om_config *cfg;
    om_mstore *ms;
    int remote;
    char uri[96]; /* s3://omniva-test/<random>: each case its own prefix */
} fx;

static void write_random(const char *path, size_t n)
{
    char *buf = xmalloc(n);
    om_random_bytes(buf, n);
    assert_int_equal(om_write_file_atomic(path, buf, n), OM_OK);
    free(buf);
}

static om_config *make_cfg(const char *home, const char *uri)
{
    om_config *cfg = om_config_new(home);
    if (uri) {
        assert_int_equal(om_config_set(cfg, "media", "store", uri), OM_OK);
        assert_int_equal(om_config_set(cfg, "media", "s3_endpoint", S3.endpoint), OM_OK);
        assert_int_equal(om_config_set(cfg, "media", "s3_path_style", "true"), OM_OK);
        assert_int_equal(om_config_set(cfg, "media", "s3_access_key", "S3RVER"), OM_OK);
        assert_int_equal(om_config_set(cfg, "media", "s3_part_mb", "1"), OM_OK);
        assert_int_equal(om_config_set(cfg, "media", "s3_retries", "3"), OM_OK);
        /* two keys a page: a listing of more follows continuation tokens */
        assert_int_equal(om_config_set(cfg, "media", "s3_list_page", "2"), OM_OK);
    }
    return cfg;
}

static int setup_any(void **state, int remote)
{
    fx *f = xcalloc(1, sizeof(*f));
    f->home = harness_tmpdir("mstore");
    f->remote = remote;
    char u[OM_UUID_LEN];
    snprintf(f->uri, sizeof(f->uri), "s3://omniva-test/ws-%.8s", om_uuid4(u));
    f->cfg = make_cfg(f->home, remote ? f->uri : NULL);
    if (om_mstore_open(&f->ms, f->cfg) != OM_OK) {
        fprintf(stderr, "open: %s\n", om_error_msg());
        return -1;
    }
    harness_s3_ctl(&S3, "POST", "/_reset", NULL);
    *state = f;
    return 0;
}
static int setup_file(void **state) { return setup_any(state, 0); }
static int setup_s3(void **state) { return setup_any(state, 1); }

static int teardown(void **state)
{
    fx *f = *state;
    om_mstore_free(f->ms);
    om_config_free(f->cfg);
    om_rmtree(f->home);
    free(f->home);
    free(f);
    return 0;
}

static char *tmpfile_in(fx *f, const char *name, size_t n)
{
    char *p = xasprintf("%s/%s", f->home, name);
    write_random(p, n);
    return p;
}

/* How many requests of OP the S3 front has seen since the last reset. */
static long s3_count(const char *op)
{
    char *out = NULL;
    assert_int_equal(harness_s3_ctl(&S3, "GET", "/_stats", &out), 0);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    long n = (long)json_integer_value(json_object_get(j, op));
    json_decref(j);
    return n;
}

/* ---- the contract: same cases on both backends ---- */

static void t_put_stat_get(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "in.bin", 70000);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(src, sha), OM_OK);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "sources/v1.mp4", src, NULL, 0, &row), OM_OK);
    if (f->remote) {
        char *want = xasprintf("%s/sources/v1.mp4", f->uri);
        assert_string_equal(row, want);
        free(want);
    }
    else
        assert_string_equal(row, "media/sources/v1.mp4"); /* relative to the home, as today */
    assert_int_equal(om_mstore_row_is_remote(row), f->remote);
    assert_true(om_file_exists(src)); /* no MOVE: the local file stays */
    om_mstat st;
    assert_int_equal(om_mstore_stat(f->ms, row, &st), OM_OK);
    assert_int_equal(st.size, 70000);
    if (f->remote)
        assert_string_equal(st.sha256, sha); /* x-amz-meta-sha256 */
    char *dest = xasprintf("%s/out.bin", f->home);
    assert_int_equal(om_mstore_get(f->ms, row, dest, sha), OM_OK);
    char sha2[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(dest, sha2), OM_OK);
    assert_string_equal(sha, sha2);
    char *key = om_mstore_key_of(f->ms, row);
    assert_string_equal(key, "sources/v1.mp4");
    free(key);
    free(dest);
    free(row);
    free(src);
}

static void t_large_multipart(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "big.bin", 3 * 1024 * 1024 + 12345);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(src, sha), OM_OK);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "renders/c1.mp4", src, sha, 0, &row), OM_OK);
    if (f->remote) {
        assert_int_equal(s3_count("CreateMultipartUpload"), 1);
        assert_int_equal(s3_count("UploadPart"), 4); /* 1 MiB parts */
        assert_int_equal(s3_count("CompleteMultipartUpload"), 1);
        assert_int_equal(s3_count("PutObject"), 0);
    }
    char *dest = xasprintf("%s/big.out", f->home);
    assert_int_equal(om_mstore_get(f->ms, row, dest, sha), OM_OK);
    om_mstat st;
    assert_int_equal(om_mstore_stat(f->ms, row, &st), OM_OK);
    assert_int_equal(st.size, 3 * 1024 * 1024 + 12345);
    free(dest);
    free(row);
    free(src);
}

static void t_missing(void **state)
{
    fx *f = *state;
    char *rrow = xasprintf("%s/sources/nope.mp4", f->uri);
    const char *row = f->remote ? rrow : "media/sources/nope.mp4";
    om_mstat st;
    assert_int_equal(om_mstore_stat(f->ms, row, &st), OM_ENOTFOUND);
    char *dest = xasprintf("%s/x", f->home);
    assert_int_equal(om_mstore_get(f->ms, row, dest, NULL), OM_ENOTFOUND);
    assert_false(om_file_exists(dest));
    assert_int_equal(om_mstore_delete(f->ms, row), OM_OK); /* idempotent */
    char *p = NULL;
    assert_int_not_equal(om_mstore_local(f->ms, row, NULL, &p), OM_OK);
    if (f->remote)
        assert_null(p);
    free(p);
    free(dest);
    free(rrow);
}

static void t_delete(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "d.bin", 1000);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "subs/d.vtt", src, NULL, 0, &row), OM_OK);
    assert_int_equal(om_mstore_delete(f->ms, row), OM_OK);
    om_mstat st;
    assert_int_equal(om_mstore_stat(f->ms, row, &st), OM_ENOTFOUND);
    free(row);
    free(src);
}

typedef struct seen {
    int n;
    int64_t bytes;
    char rows[8][256];
} seen;

static int on_row(void *ud, const char *row, int64_t size, int64_t mtime_us)
{
    seen *s = ud;
    if (s->n < 8)
        snprintf(s->rows[s->n], sizeof(s->rows[0]), "%s", row);
    s->n++;
    s->bytes += size;
    assert_true(mtime_us > 0);
    return 0;
}

static void t_list(void **state)
{
    fx *f = *state;
    const char *keys[] = {"a/1.bin", "a/2.bin", "b/3 &+<x>.bin", "b/4.bin", "c/5.bin"};
    for (int i = 0; i < 5; i++) {
        char *src = tmpfile_in(f, "l.bin", (size_t)(100 + i));
        char *row = NULL;
            assert_int_equal(om_mstore_put(f->ms, keys[i], src, NULL, OM_MSTORE_MOVE, &row), OM_OK);
        assert_false(om_file_exists(src)); /* MOVE consumed it */
        free(row);
        free(src);
    }
    seen s = {0};
    assert_int_equal(om_mstore_list(f->ms, "a/", on_row, &s), OM_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.bytes, 201);
    for (int i = 0; i < 2; i++) {
        char *key = om_mstore_key_of(f->ms, s.rows[i]);
        assert_non_null(key);
        assert_int_equal(strncmp(key, "a/", 2), 0);
        free(key);
    }
    seen all = {0};
    harness_s3_ctl(&S3, "POST", "/_reset", NULL);
    if (om_mstore_list(f->ms, "", on_row, &all) != OM_OK)
        fail_msg("list: %s", om_error_msg());
    assert_int_equal(all.n, 5);
    assert_int_equal(all.bytes, 100 + 101 + 102 + 103 + 104);
    if (f->remote) /* 2 + 2 + 1 keys: three pages, chained by continuation token */
        assert_int_equal(s3_count("ListObjectsV2"), 3);
    /* the key with XML and URL specials comes back as it was put, and names its object */
    int found = 0;
    for (int i = 0; i < all.n && i < 8; i++) {
        char *key = om_mstore_key_of(f->ms, all.rows[i]);
        if (key && !strcmp(key, keys[2])) {
            found = 1;
            om_mstat st;
            assert_int_equal(om_mstore_stat(f->ms, all.rows[i], &st), OM_OK);
            assert_int_equal(st.size, 102);
            assert_int_equal(om_mstore_delete(f->ms, all.rows[i]), OM_OK);
            assert_int_equal(om_mstore_stat(f->ms, all.rows[i], &st), OM_ENOTFOUND);
        }
        free(key);
    }
    assert_true(found);
    seen after = {0};
    assert_int_equal(om_mstore_list(f->ms, "b/", on_row, &after), OM_OK);
    assert_int_equal(after.n, 1);
}

static void t_local(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "loc.bin", 5000);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(src, sha), OM_OK);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "sources/loc.mp4", src, sha, 0, &row), OM_OK);
    char *p = NULL;
    assert_int_equal(om_mstore_local(f->ms, row, sha, &p), OM_OK);
    char sha2[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(p, sha2), OM_OK);
    assert_string_equal(sha, sha2);
    assert_string_equal(p + strlen(p) - 4, ".mp4"); /* the extension stays for probing */
    if (f->remote) {
        assert_int_equal(strncmp(p, f->home, strlen(f->home)), 0); /* in the node's cache */
        assert_non_null(strstr(p, "/cache/objects/"));
        long gets = s3_count("GetObject");
        char *p2 = NULL;
        assert_int_equal(om_mstore_local(f->ms, row, sha, &p2), OM_OK);
        assert_string_equal(p, p2);
        assert_int_equal(s3_count("GetObject"), gets); /* a hit: not fetched again */
        free(p2);
    }
    free(p);
    free(row);
    free(src);
}

static void t_bad_checksum(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "c.bin", 3000);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "sources/c.mp4", src, NULL, 0, &row), OM_OK);
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    char *dest = xasprintf("%s/c.out", f->home);
    int rc = om_mstore_get(f->ms, row, dest, wrong);
    assert_int_equal(rc, OM_EIO);
    assert_non_null(strstr(om_error_msg(), "SHA-256"));
    assert_false(om_file_exists(dest));
    char *p = NULL;
    if (f->remote) {
        assert_int_not_equal(om_mstore_local(f->ms, row, wrong, &p), OM_OK);
        assert_null(p);
    }
    free(dest);
    free(row);
    free(src);
}

static void t_bad_key(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "k.bin", 10);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "../escape", src, NULL, 0, &row), OM_EINVAL);
    assert_int_equal(om_mstore_put(f->ms, "/abs", src, NULL, 0, &row), OM_EINVAL);
    assert_null(row);
    free(src);
}

/* ---- S3 only ---- */

static void t_s3_retries(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "r.bin", 2000);
    char *row = NULL;
    /* two 503s, then the PUT goes through */
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_fault?status=503&count=2&op=PutObject", NULL),
                     0);
    assert_int_equal(om_mstore_put(f->ms, "sources/r.mp4", src, NULL, 0, &row), OM_OK);
    assert_int_equal(s3_count("PutObject"), 3);
    /* a dropped connection is retried too */
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_fault?drop=1&count=1&op=HeadObject", NULL), 0);
    om_mstat st;
    assert_int_equal(om_mstore_stat(f->ms, row, &st), OM_OK);
    assert_int_equal(st.size, 2000);
    free(row);
    row = NULL;
    /* more 5xx than retries: unavailable, and nothing stored */
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_fault?status=500&count=50&op=PutObject", NULL),
                     0);
    assert_int_equal(om_mstore_put(f->ms, "sources/r2.mp4", src, NULL, 0, &row), OM_EUNAVAIL);
    assert_null(row);
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_reset", NULL), 0);
    char *r2 = xasprintf("%s/sources/r2.mp4", f->uri);
    assert_int_equal(om_mstore_stat(f->ms, r2, &st), OM_ENOTFOUND);
    free(r2);
    free(src);
}

static void t_s3_multipart_abort(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "m.bin", 3 * 1024 * 1024);
    char *row = NULL;
    /* a part is refused (a 4xx is not retried): the upload is aborted */
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_fault?status=400&count=1&op=UploadPart", NULL),
                     0);
    int rc = om_mstore_put(f->ms, "renders/m.mp4", src, NULL, 0, &row);
    assert_int_not_equal(rc, OM_OK);
    assert_non_null(strstr(om_error_msg(), "aborted"));
    assert_int_equal(s3_count("AbortMultipartUpload"), 1);
    assert_int_equal(s3_count("CompleteMultipartUpload"), 0);
    om_mstat st;
    char *mrow = xasprintf("%s/renders/m.mp4", f->uri);
    assert_int_equal(om_mstore_stat(f->ms, mrow, &st), OM_ENOTFOUND);
    free(mrow);
    /* a 5xx on a part is retried and the upload completes */
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_reset", NULL), 0);
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_fault?status=503&count=1&op=UploadPart", NULL),
                     0);
    assert_int_equal(om_mstore_put(f->ms, "renders/m.mp4", src, NULL, 0, &row), OM_OK);
    assert_int_equal(s3_count("UploadPart"), 4);
    assert_int_equal(om_mstore_stat(f->ms, row, &st), OM_OK);
    assert_int_equal(st.size, 3 * 1024 * 1024);
    free(row);
    free(src);
}

static void t_s3_credentials(void **state)
{
    fx *f = *state;
    /* a wrong secret is refused by the signature check, and never shows in the message */
    setenv("OMNIVA_TEST_BAD_SECRET", "wrong-secret-xyz", 1);
    om_config *cfg = make_cfg(f->home, f->uri);
    assert_int_equal(om_config_set(cfg, "media", "s3_secret_env", "OMNIVA_TEST_BAD_SECRET"),
                     OM_OK);
    om_mstore *ms = NULL;
    assert_int_equal(om_mstore_open(&ms, cfg), OM_OK);
    char *src = tmpfile_in(f, "cr.bin", 10);
    char *row = NULL;
    assert_int_equal(om_mstore_put(ms, "x/cr.bin", src, NULL, 0, &row), OM_EPERMANENT);
    assert_non_null(strstr(om_error_msg(), "SignatureDoesNotMatch"));
    assert_null(strstr(om_error_msg(), "wrong-secret-xyz"));
    om_mstore_free(ms);
    /* the secret from a file: refused while others can read it, accepted at 0600 */
    char *sf = xasprintf("%s/s3.secret", f->home);
    assert_int_equal(om_write_file_atomic(sf, "S3RVER\n", 7), OM_OK);
    chmod(sf, 0644);
    assert_int_equal(om_config_set(cfg, "media", "s3_secret_env", "OMNIVA_TEST_NO_SUCH_VAR"),
                     OM_OK);
    assert_int_equal(om_config_set(cfg, "media", "s3_secret_file", sf), OM_OK);
    assert_int_equal(om_mstore_open(&ms, cfg), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "chmod 600"));
    chmod(sf, 0600);
    assert_int_equal(om_mstore_open(&ms, cfg), OM_OK);
    assert_int_equal(om_mstore_put(ms, "x/cr.bin", src, NULL, 0, &row), OM_OK);
    free(row);
    om_mstore_free(ms);
    /* no secret anywhere: a clear error */
    assert_int_equal(om_config_set(cfg, "media", "s3_secret_file", ""), OM_OK);
    assert_int_equal(om_mstore_open(&ms, cfg), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "no secret key"));
    /* a bad URI */
    assert_int_equal(om_mstore_open_uri(&ms, cfg, "s3://Bad_Bucket/x"), OM_EINVAL);
    assert_int_equal(om_mstore_open_uri(&ms, cfg, "ftp://x/y"), OM_EINVAL);
    om_config_free(cfg);
    free(sf);
    free(src);
}

/* ---- the node cache ---- */

static char *cache_fill_src;
static int fill_copy(void *ud, const char *tmp)
{
    (void)ud;
    return om_copy_file_atomic(cache_fill_src, tmp);
}

static void t_cache_lru(void **state)
{
    (void)state;
    char *dir = harness_tmpdir("mcache");
    char *src = xasprintf("%s/src.bin", dir);
    write_random(src, 400 * 1024);
    cache_fill_src = src;
    /* cap 1 MiB: three 400 KiB objects; the least recently used goes */
    char *paths[4] = {0};
    const char *ids[] = {"s3://b/one.mp4", "s3://b/two.mp4", "s3://b/three.mp4"};
    for (int i = 0; i < 2; i++) {
        om_mcache *c = NULL;
        assert_int_equal(om_mcache_open(&c, dir, 1024 * 1024), OM_OK);
        assert_int_equal(om_mcache_get(c, ids[i], "mp4", fill_copy, NULL, &paths[i]), OM_OK);
        om_mcache_free(c);
        usleep(20000);
    }
    { /* touch "one": now "two" is the oldest */
        om_mcache *c = NULL;
        char *p = NULL;
        assert_int_equal(om_mcache_open(&c, dir, 1024 * 1024), OM_OK);
        assert_int_equal(om_mcache_lookup(c, ids[0], "mp4", &p), OM_OK);
        free(p);
        om_mcache_free(c);
        usleep(20000);
    }
    om_mcache *c = NULL;
    assert_int_equal(om_mcache_open(&c, dir, 1024 * 1024), OM_OK);
    assert_int_equal(om_mcache_get(c, ids[2], "mp4", fill_copy, NULL, &paths[2]), OM_OK);
    assert_true(om_file_exists(paths[0]));
    assert_false(om_file_exists(paths[1])); /* evicted */
    assert_true(om_file_exists(paths[2]));
    /* a file in use is never evicted: hold "three" and "one", fill two more with a tiny cap */
    char *p = NULL;
    assert_int_equal(om_mcache_lookup(c, ids[0], "mp4", &p), OM_OK);
    free(p);
    om_mcache *c2 = NULL;
    assert_int_equal(om_mcache_open(&c2, dir, 1), OM_OK);
    assert_int_equal(om_mcache_get(c2, ids[1], "mp4", fill_copy, NULL, &paths[3]), OM_OK);
    om_mcache_trim(c2);
    assert_true(om_file_exists(paths[0])); /* held by c */
    assert_true(om_file_exists(paths[2])); /* held by c */
    assert_true(om_file_exists(paths[3])); /* held by c2 */
    om_mcache_free(c);
    assert_true(om_mcache_trim(c2) <= 400 * 1024); /* only c2's own file is left */
    assert_false(om_file_exists(paths[0]));
    om_mcache_free(c2);
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    om_rmtree(dir);
    free(dir);
    free(src);
}

/* Four worker processes of one node read the same remote object at once: one fetch, four
 * whole copies (the per-object fill lock), all the same file. */
static void t_cache_concurrent(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "cc.bin", 2 * 1024 * 1024);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(src, sha), OM_OK);
    char *row = NULL;
    assert_int_equal(om_mstore_put(f->ms, "sources/cc.mp4", src, sha, 0, &row), OM_OK);
    long before = s3_count("GetObject");
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            om_mstore *ms = NULL;
            char *p = NULL, have[OM_SHA256_HEX_LEN];
            int ok = om_mstore_open(&ms, f->cfg) == OM_OK &&
                     om_mstore_local(ms, row, sha, &p) == OM_OK &&
                     om_sha256_file(p, have) == OM_OK && strcmp(have, sha) == 0;
            free(p);
            om_mstore_free(ms);
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < 4; i++) {
        int st = 0;
        waitpid(kids[i], &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(s3_count("GetObject") - before, 1);
    free(row);
    free(src);
}

/* kill -9 in the middle of a multipart upload: the object is not visible (no part of it is
 * an object until CompleteMultipartUpload), and the re-run stores it whole. */
static void t_s3_kill_multipart(void **state)
{
    fx *f = *state;
    char *src = tmpfile_in(f, "k9.bin", 8 * 1024 * 1024);
    char sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(src, sha), OM_OK);
    assert_int_equal(
        harness_s3_ctl(&S3, "POST", "/_fault?status=0&delay_ms=300&count=100&op=UploadPart", NULL),
        0);
    pid_t kid = fork();
    if (kid == 0) {
        om_mstore *ms = NULL;
        char *row = NULL;
        int ok = om_mstore_open(&ms, f->cfg) == OM_OK &&
                 om_mstore_put(ms, "sources/k9.mp4", src, sha, 0, &row) == OM_OK;
        _exit(ok ? 0 : 1);
    }
    int64_t t0 = om_mono_ms();
    while (s3_count("UploadPart") < 3 && om_mono_ms() - t0 < 20000)
        usleep(20000);
    assert_true(s3_count("UploadPart") >= 3);
    kill(kid, SIGKILL);
    int st = 0;
    waitpid(kid, &st, 0);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(s3_count("CompleteMultipartUpload"), 0);
    char *row = om_mstore_row_for(f->ms, "sources/k9.mp4");
    om_mstat ms;
    assert_int_equal(om_mstore_stat(f->ms, row, &ms), OM_ENOTFOUND);
    seen s = {0};
    assert_int_equal(om_mstore_list(f->ms, "", on_row, &s), OM_OK);
    assert_int_equal(s.n, 0);
    /* the re-run completes */
    assert_int_equal(harness_s3_ctl(&S3, "POST", "/_reset", NULL), 0);
    char *row2 = NULL;
    assert_int_equal(om_mstore_put(f->ms, "sources/k9.mp4", src, sha, 0, &row2), OM_OK);
    assert_string_equal(row, row2);
    assert_int_equal(om_mstore_stat(f->ms, row, &ms), OM_OK);
    assert_int_equal(ms.size, 8 * 1024 * 1024);
    assert_string_equal(ms.sha256, sha);
    char *dest = xasprintf("%s/k9.out", f->home);
    assert_int_equal(om_mstore_get(f->ms, row, dest, sha), OM_OK);
    free(dest);
    free(row);
    free(row2);
    free(src);
}

int main(void)
{
    if (harness_s3_start(&S3, "omniva-test") != 0)
        return 1;
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
#define BOTH(fn)                                                                               \
    cmocka_unit_test_setup_teardown(fn, setup_file, teardown),                                 \
        cmocka_unit_test_setup_teardown(fn, setup_s3, teardown)
    const struct CMUnitTest tests[] = {
        BOTH(t_put_stat_get),
        BOTH(t_large_multipart),
        BOTH(t_missing),
        BOTH(t_delete),
        BOTH(t_list),
        BOTH(t_local),
        BOTH(t_bad_checksum),
        BOTH(t_bad_key),
        cmocka_unit_test_setup_teardown(t_s3_retries, setup_s3, teardown),
        cmocka_unit_test_setup_teardown(t_s3_multipart_abort, setup_s3, teardown),
        cmocka_unit_test_setup_teardown(t_s3_credentials, setup_s3, teardown),
        cmocka_unit_test_setup_teardown(t_s3_kill_multipart, setup_s3, teardown),
        cmocka_unit_test(t_cache_lru),
        cmocka_unit_test_setup_teardown(t_cache_concurrent, setup_s3, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    harness_s3_stop(&S3);
    return rc;
}
