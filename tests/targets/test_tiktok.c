/*
 * test_tiktok.c: publishing to TikTok through the real binary against the local TikTok
 * double (tiktok_double.py: Login Kit OAuth with client_key + PKCE, the Content Posting API
 * Direct Post with its chunk rules, 6 requests/min per token, the unaudited-client rule).
 * What a user would see:
 *   - `account add tiktok` through the loopback flow, warning that an unaudited app posts
 *     SELF_ONLY;
 *   - a 12 MB clip posted in TikTok's chunks (5 MB + the 7 MB remainder), SELF_ONLY with a
 *     warning on the post;
 *   - kill -9 of the worker mid-upload, restarted: exactly one post, its bytes' SHA-256 the
 *     render's;
 *   - the 6/min limit: our limiter waits instead of being refused (TikTok's own
 *     rate_limit_exceeded answer is not tested yet).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char *home, *db, *tmp;
static pid_t dbl_pid;
static int dbl_port;
static char project_id[OM_UUID_LEN];
static int clip_seq;

/* ---- the double ---- */

static size_t grow(char *p, size_t s, size_t n, void *arg)
{
    sb_append(arg, p, s * n);
    return s * n;
}

/* HTTP to the double (or any URL); returns the status, *body_out (may be NULL) the body. */
static long http(const char *method, const char *url, const char *body, char **body_out,
                 int follow)
{
    CURL *h = curl_easy_init();
    om_sbuf sb = OM_SBUF_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, (long)follow);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    long st = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(h);
    if (body_out)
        *body_out = sb_detach(&sb);
    else
        sb_release(&sb);
    return st;
}

static json_t *dstate(void)
{
    char *url = xasprintf("http://127.0.0.1:%d/_state", dbl_port), *body = NULL;
    assert_int_equal(http("GET", url, NULL, &body, 0), 200);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    free(url);
    free(body);
    return doc;
}

static void control(const char *json)
{
    char *url = xasprintf("http://127.0.0.1:%d/_control", dbl_port);
    assert_int_equal(http("POST", url, json, NULL, 0), 200);
    free(url);
}

/* Videos on the double whose bytes hash to sha. */
static int videos_with(const char *sha, char *id_out, size_t cap)
{
    json_t *st = dstate();
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, "posts"), i, v) {
        if (!strcmp(json_string_value(json_object_get(v, "sha256")), sha)) {
            n++;
            if (id_out)
                snprintf(id_out, cap, "%s", json_string_value(json_object_get(v, "id")));
        }
    }
    json_decref(st);
    return n;
}

/* Bytes received by the newest session of `size` bytes (-1: none). */
static int64_t received_of(int64_t size)
{
    json_t *st = dstate();
    int64_t got = -1;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(st, "publishes"), i, s)
        if (json_integer_value(json_object_get(s, "size")) == size)
            got = json_integer_value(json_object_get(s, "received"));
    json_decref(st);
    return got;
}

static void double_start(void)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char *script = xasprintf("%s/tests/targets/tiktok_double.py", getenv("OMNIVA_SRC"));
    char *dir = xasprintf("%s/double", tmp);
    pid_t parent = getpid();
    dbl_pid = fork();
    if (dbl_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], 1);
        close(pfd[0]);
        /* Debian's interpreter (scripts/bootstrap installs it), not whatever is first on PATH */
        const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        execlp(py, py, script, "--dir", dir, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char line[64] = "";
    FILE *f = fdopen(pfd[0], "r");
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(sscanf(line, "PORT %d", &dbl_port), 1);
    fclose(f);
    free(script);
    free(dir);
}

/* ---- the workspace ---- */

static void conf(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = xvasprintf(fmt, ap);
    va_end(ap);
    const char *dot = strchr(key, '.');
    char *sec = xstrndup(key, (size_t)(dot - key));
    omt_conf_append(home, sec, dot + 1, v);
    free(sec);
    free(v);
}

/* The user's part of `account add`: open the printed URL (the double consents and redirects
 * to our loopback listener). */
static void link_account(const char *project)
{
    char *log = xasprintf("%s/account-add.log", tmp);
    unlink(log);
    pid_t pid = omt_spawn(home, log, NULL,
                          (const char *[]){"--log-format", "none", "account", "add", "tiktok",
                                           project, NULL});
    char *url = NULL;
    for (int i = 0; i < 200 && !url; i++) {
        char *text = NULL;
        size_t len = 0;
        if (om_read_file(log, 0, &text, &len) == OM_OK) {
            char *p = strstr(text, "http://127.0.0.1");
            char *e = p ? strpbrk(p, " \n") : NULL;
            if (p && e && strstr(p, "code_challenge="))
                url = xstrndup(p, (size_t)(e - p));
        }
        free(text);
        if (!url)
            usleep(20000);
    }
    assert_non_null(url);
    assert_true(omt_has(url, "code_challenge_method=S256"));
    assert_true(omt_has(url, "client_key=test-client-key"));
    assert_true(omt_has(url, "redirect_uri=http%3A%2F%2F127.0.0.1%3A"));
    char *page = NULL;
    assert_int_equal(http("GET", url, NULL, &page, 1), 200);
    assert_true(omt_has(page, "linked"));
    assert_int_equal(omt_wait(pid, 30000), 0);
    usleep(100000);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(log, 0, &text, &len), OM_OK);
    assert_true(omt_has(text, "tiktok account linked to project"));
    assert_true(omt_has(text, "@double.creator"));
    /* an unaudited app: the warning comes at account-add time */
    assert_true(omt_has(text, "warning: tiktok.audited is false"));
    assert_true(omt_has(text, "SELF_ONLY"));
    /* the refresh token is never printed */
    char *rt = omt_query(db, "SELECT refresh_token FROM publishing_accounts");
    assert_non_null(rt);
    assert_false(omt_has(text, rt));
    free(rt);
    free(text);
    free(page);
    free(url);
    free(log);
}

typedef struct clip {
    char clip[OM_UUID_LEN], uj[OM_UUID_LEN];
    char sha[OM_SHA256_HEX_LEN];
    int64_t size;
} clip;

/* A rendered clip of the project with a youtube upload job and its queued job. */
static void make_clip(clip *c, int64_t size)
{
    char creator[OM_UUID_LEN], post[OM_UUID_LEN], video[OM_UUID_LEN], art[OM_UUID_LEN];
    om_uuid4(c->clip), om_uuid4(c->uj), om_uuid4(creator), om_uuid4(post), om_uuid4(video);
    om_uuid4(art);
    c->size = size;
    char *path = xasprintf("%s/render-%d.mp4", tmp, ++clip_seq);
    char *data = xmalloc((size_t)size);
    om_random_bytes(data, (size_t)size);
    assert_int_equal(om_write_file_atomic(path, data, (size_t)size), OM_OK);
    om_sha256_hex(data, (size_t)size, c->sha);
    free(data);
    char *sql = xasprintf(
        "INSERT INTO creators (creator_id, platform, username) VALUES ('%s', 'local', 'me%d');"
        "INSERT INTO project_creators (project_id, creator_id) VALUES ('%s', '%s');"
        "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) VALUES "
        "('%s', '%s', 'local', 'p%d', 'file:///x');"
        "INSERT INTO videos (video_id, post_id, file_path, checksum) VALUES ('%s', '%s', '/x', "
        "'%s');"
        "INSERT INTO clips (clip_id, video_id, start_time, end_time, status, metadata) VALUES "
        "('%s', '%s', 1.0, 20.0, 'RENDERED', '{\"transcript\":\"hello\"}');"
        "INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, checksum) "
        "VALUES ('%s', 'render', 'clips', '%s', '%s', '%s');"
        "INSERT INTO upload_jobs (upload_job_id, clip_id, title, description, keywords, status, "
        "target, target_state) VALUES ('%s', '%s', 'Clip <%d> title', 'A description', "
        "'[\"coffee\", \"latte art\"]', 'PENDING', 'tiktok', '{}')",
        creator, clip_seq, project_id, creator, post, creator, clip_seq, video, post, c->sha,
        c->clip, video, art, c->clip, path, c->sha, c->uj, c->clip, clip_seq);
    /* one statement per call (no ';' inside the values) */
    for (char *stmt = sql, *semi; stmt && *stmt; stmt = semi ? semi + 1 : NULL) {
        semi = strchr(stmt, ';');
        if (semi)
            *semi = '\0';
        assert_int_equal(omt_exec(db, stmt), 0);
    }
    free(sql);
    free(path);
    char *payload = xasprintf("{\"clip_id\":\"%s\",\"upload_job_id\":\"%s\",\"project_id\":\"%s\"}",
                              c->clip, c->uj, project_id);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "--log-format", "none", "jobs", "enqueue",
                             "upload", "--payload", payload, "--max-attempts", "100", NULL),
                     0);
    free(out);
    free(payload);
}

static char *uj_col(const clip *c, const char *col)
{
    char *sql = xasprintf("SELECT %s FROM upload_jobs WHERE upload_job_id = '%s'", col, c->uj);
    char *v = omt_query(db, sql);
    free(sql);
    return v;
}

static int64_t state_int(const clip *c, const char *key)
{
    char *col = xasprintf("json_extract(target_state, '$.%s')", key);
    char *v = uj_col(c, col);
    free(col);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static int worker_once(void)
{
    char *log = xasprintf("%s/worker.log", tmp);
    pid_t pid = omt_spawn(home, log, NULL,
                          (const char *[]){"worker", "--types", "upload", "--once", NULL});
    free(log);
    return omt_wait(pid, 120000);
}

/* Exactly one post with the render's bytes, the job DONE with that post id. */
static void assert_published_once(const clip *c)
{
    char pid[48] = "";
    assert_int_equal(videos_with(c->sha, pid, sizeof(pid)), 1);
    char *st = uj_col(c, "status"), *id = uj_col(c, "json_extract(target_state, '$.post_id')");
    assert_non_null(st);
    assert_string_equal(st, "DONE");
    assert_non_null(id);
    assert_string_equal(id, pid);
    free(st);
    free(id);
}


static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmp = harness_tmpdir("tiktok");
    double_start();
    home = omt_workspace("tt", NULL);
    db = xasprintf("sqlite://%s/omniva.db", home);
    conf("tiktok.client_key", "test-client-key");
    conf("tiktok.client_secret", "test-secret");
    conf("tiktok.auth_url", "http://127.0.0.1:%d/v2/auth/authorize/", dbl_port);
    conf("tiktok.token_url", "http://127.0.0.1:%d/v2/oauth/token/", dbl_port);
    conf("tiktok.api_url", "http://127.0.0.1:%d", dbl_port);
    conf("tiktok.chunk_bytes", "5242880");
    conf("tiktok.status_poll_ms", "20");
    conf("worker.lease_ms", "800");
    conf("worker.reap_ms", "200");
    conf("worker.idle_ms", "50");
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "--log-format", "none", "project", "create",
                             "acme", NULL),
                     0);
    free(out);
    char *pid = omt_query(db, "SELECT project_id FROM projects WHERE name = 'acme'");
    snprintf(project_id, sizeof(project_id), "%s", pid);
    free(pid);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (dbl_pid > 0) {
        kill(dbl_pid, SIGKILL);
        waitpid(dbl_pid, NULL, 0);
    }
    om_rmtree(home);
    om_rmtree(tmp);
    free(home);
    free(tmp);
    free(db);
    curl_global_cleanup();
    return 0;
}

static void test_account_and_post(void **state)
{
    (void)state;
    link_account("acme");
    char *ext = omt_query(db, "SELECT external_id FROM publishing_accounts WHERE platform = "
                              "'tiktok'");
    assert_string_equal(ext, "double.creator");
    free(ext);
    clip c;
    make_clip(&c, 12 * 1024 * 1024 + 4321);
    assert_int_equal(worker_once(), 0);
    assert_published_once(&c);
    /* TikTok's chunking: floor(size / 5 MB) = 2 chunks, the last one taking the rest */
    assert_int_equal(state_int(&c, "chunks"), 2);
    assert_int_equal(state_int(&c, "chunk_size"), 5242880);
    char *lvl = uj_col(&c, "json_extract(target_state, '$.privacy_level')");
    assert_string_equal(lvl, "SELF_ONLY");
    free(lvl);
    char *w = uj_col(&c, "json_extract(target_state, '$.warning')");
    assert_non_null(w);
    assert_true(omt_has(w, "SELF_ONLY"));
    free(w);
    /* the warning is in the job's log, on every such post */
    assert_true(omt_query_int(db, "SELECT count(*) FROM logs WHERE level = 'WARN' AND message "
                                  "LIKE '%unaudited app post only SELF_ONLY%'") >= 1);
    json_t *st = dstate();
    json_t *p = json_array_get(json_object_get(st, "posts"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "privacy_level")), "SELF_ONLY");
    assert_int_equal(json_integer_value(json_object_get(st, "rate_limited")), 0);
    json_decref(st);

    /* a small clip (< 5 MB) goes whole */
    clip d;
    make_clip(&d, 300000);
    assert_int_equal(worker_once(), 0);
    assert_published_once(&d);
    assert_int_equal(state_int(&d, "chunks"), 1);
    assert_int_equal(state_int(&d, "chunk_size"), 300000);
}

static void kill_tree(pid_t pid)
{
    pid_t kids[64];
    int n = omt_children(pid, NULL, kids, 64);
    kill(pid, SIGSTOP);
    for (int i = 0; i < n; i++)
        kill_tree(kids[i]);
    kill(pid, SIGKILL);
}

static void test_kill9_mid_upload(void **state)
{
    (void)state;
    clip c;
    make_clip(&c, 16 * 1024 * 1024 + 99);
    /* 4 MB/s: the second chunk is on the wire for more than a second */
    control("{\"slow\": 4194304}");
    char *log = xasprintf("%s/worker-kill.log", tmp);
    pid_t w = omt_spawn(home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
    int64_t end = om_mono_ms() + 60000;
    while (received_of(c.size) < 5242880 && om_mono_ms() < end)
        usleep(5000);
    assert_true(received_of(c.size) >= 5242880);
    usleep(500000); /* inside the second chunk */
    kill_tree(w);
    waitpid(w, NULL, 0);
    assert_int_equal(videos_with(c.sha, NULL, 0), 0);
    int64_t had = received_of(c.size);
    assert_true(had < c.size);
    control("{\"slow\": 0}");
    /* the restart reclaims the dead worker's lease, asks status/fetch and goes on */
    assert_int_equal(worker_once(), 0);
    char *st = uj_col(&c, "status");
    if (st && strcmp(st, "DONE")) /* the reclaim used the run: once more */
        assert_int_equal(worker_once(), 0);
    free(st);
    assert_published_once(&c);
    assert_int_equal(state_int(&c, "inits"), 1); /* one publish, resumed */
    free(log);
}

static void test_rate_limits(void **state)
{
    (void)state;
    /* our limiter: 6 requests of this token in the last minute already (55 s ago): the
     * next post waits ~5 s instead of being refused */
    char *aid = omt_query(db, "SELECT account_id FROM publishing_accounts");
    for (int i = 0; i < 6; i++) {
        char *sql = xasprintf("INSERT INTO rate_events (account_id, endpoint, at) VALUES "
                              "('%s', 'post_publish', strftime('%%Y-%%m-%%dT%%H:%%M:%%f', "
                              "'now', '-55 seconds') || '000Z')",
                              aid);
        /* strftime's %f has 3 decimals: 3 more digits make our canonical 6 */
        assert_int_equal(omt_exec(db, sql), 0);
        free(sql);
    }
    clip c;
    make_clip(&c, 200000);
    int64_t t0 = om_mono_ms();
    assert_int_equal(worker_once(), 0);
    int64_t took = om_mono_ms() - t0;
    assert_published_once(&c);
    assert_true(took >= 3000);
    json_t *st = dstate();
    assert_int_equal(json_integer_value(json_object_get(st, "rate_limited")), 0);
    json_decref(st);

    free(aid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_and_post),
        cmocka_unit_test(test_kill9_mid_upload),
        cmocka_unit_test(test_rate_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
