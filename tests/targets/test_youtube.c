/*
 * test_youtube.c: publishing to YouTube through the real binary against the local Google
 * double (youtube_double.py, which speaks OAuth 2.0 and the resumable upload protocol with
 * fault knobs). What a user would see:
 *   - `account add` runs the PKCE flow through a loopback redirect (the test is the
 *     browser), the account is listed without its tokens, `account check` refreshes;
 *   - a brand naming youtube needs a linked account (the error names the target);
 *   - an upload survives 503/500 mid-chunk, a 308 with a short Range and a lost session;
 *   - kill -9 of the worker tree at 20 random byte offsets and in the instant between the
 *     server recording the last chunk and our commit: exactly one video, its bytes'
 *     SHA-256 equal to the render's, one yt_video_id;
 *   - quota exhausted: the job moves to the next quota window (midnight Los Angeles)
 *     without spending an attempt; a rejected video records the reason;
 *   - a revoked refresh token marks the account unusable with an incident before any post.
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
    json_array_foreach(json_object_get(st, "videos"), i, v) {
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
    json_array_foreach(json_object_get(st, "sessions"), i, s)
        if (json_integer_value(json_object_get(s, "size")) == size)
            got = json_integer_value(json_object_get(s, "received"));
    json_decref(st);
    return got;
}

static void double_start(void)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char *script = xasprintf("%s/tests/targets/youtube_double.py", getenv("OMNIVA_SRC"));
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
                          (const char *[]){"--log-format", "none", "account", "add", "youtube",
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
    assert_true(omt_has(url, "redirect_uri=http%3A%2F%2F127.0.0.1%3A"));
    char *page = NULL;
    assert_int_equal(http("GET", url, NULL, &page, 1), 200);
    assert_true(omt_has(page, "linked"));
    assert_int_equal(omt_wait(pid, 30000), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(log, 0, &text, &len), OM_OK);
    assert_true(omt_has(text, "youtube account linked to project"));
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
        "'[\"coffee\", \"latte art\"]', 'PENDING', 'youtube', '{}')",
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

/* Exactly one video with the render's bytes, the job DONE with that yt_video_id. */
static void assert_published_once(const clip *c)
{
    char vid[32] = "";
    assert_int_equal(videos_with(c->sha, vid, sizeof(vid)), 1);
    char *st = uj_col(c, "status"), *yt = uj_col(c, "yt_video_id");
    assert_non_null(st);
    assert_string_equal(st, "DONE");
    assert_non_null(yt);
    assert_string_equal(yt, vid);
    char *sql = xasprintf("SELECT count(*) FROM upload_jobs WHERE yt_video_id = '%s'", vid);
    assert_int_equal(omt_query_int(db, sql), 1);
    free(sql);
    sql = xasprintf("SELECT status FROM clips WHERE clip_id = '%s'", c->clip);
    char *cs = omt_query(db, sql);
    assert_string_equal(cs, "PUBLISHED");
    free(cs);
    free(sql);
    free(st);
    free(yt);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmp = harness_tmpdir("youtube");
    double_start();
    home = omt_workspace("yt", NULL);
    db = xasprintf("sqlite://%s/omniva.db", home);
    conf("youtube.client_id", "test-client.apps.googleusercontent.com");
    conf("youtube.client_secret", "test-secret");
    conf("youtube.auth_url", "http://127.0.0.1:%d/o/oauth2/v2/auth", dbl_port);
    conf("youtube.token_url", "http://127.0.0.1:%d/token", dbl_port);
    conf("youtube.api_url", "http://127.0.0.1:%d", dbl_port);
    conf("youtube.upload_url", "http://127.0.0.1:%d/upload", dbl_port);
    conf("youtube.chunk_bytes", "262144");
    conf("youtube.backoff_ms", "20");
    conf("youtube.verify_poll_ms", "20");
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

/* ---- the cases ---- */

static void test_account_and_targets(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    char *bf = xasprintf("%s/brand.json", tmp);
    const char *brand = "{\"targets\": [\"youtube\", \"export\"]}";
    assert_int_equal(om_write_file_atomic(bf, brand, strlen(brand)), OM_OK);
    /* naming youtube without a linked account: refused, naming the target */
    assert_int_equal(omt_run(&out, &err, home, "--log-format", "none", "project", "create",
                             "other", "--brand", bf, NULL),
                     1);
    assert_true(omt_has(err, "target 'youtube' has no linked youtube account"));
    free(out), free(err);
    assert_int_equal(omt_run(&out, &err, home, "--log-format", "none", "project", "update",
                             "acme", "--brand", bf, NULL),
                     1);
    assert_true(omt_has(err, "'youtube'"));
    assert_true(omt_has(err, "omniva account add youtube acme"));
    free(out), free(err);

    link_account("acme");
    assert_int_equal(omt_run(&out, NULL, home, "account", "list", "--json", NULL), 0);
    json_t *list = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(list), 1);
    json_t *a = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(a, "state")), "active");
    assert_string_equal(json_string_value(json_object_get(a, "external_id")),
                        "UCdoubleTestChannel000001");
    assert_non_null(json_string_value(json_object_get(a, "last_refresh_at")));
    assert_null(json_object_get(a, "refresh_token"));
    assert_null(json_object_get(a, "access_token"));
    json_decref(list);
    free(out);
    /* with the account, the brand may name youtube */
    assert_int_equal(omt_run(&out, &err, home, "--log-format", "none", "project", "update",
                             "acme", "--brand", bf, NULL),
                     0);
    free(out), free(err);
    /* the health check refreshes the token (one refresh grant at the double) */
    json_t *st = dstate();
    json_int_t before =
        json_integer_value(json_object_get(json_object_get(st, "token_grants"), "refresh_token"));
    json_decref(st);
    assert_int_equal(omt_run(&out, NULL, home, "--log-format", "none", "account", "check", NULL),
                     0);
    assert_true(omt_has(out, "ok"));
    free(out);
    st = dstate();
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(st, "token_grants"), "refresh_token")),
        before + 1);
    json_decref(st);
    free(bf);
}

static void test_upload_with_faults(void **state)
{
    (void)state;
    clip c;
    make_clip(&c, 5 * 262144 + 1234);
    /* the first chunk dies with 503 after 100000 bytes, the next with 500, then a 308 keeps
     * only 1000 bytes of a chunk: every resume starts from the server's offset */
    control("{\"faults\": [{\"kind\": \"chunk_error\", \"status\": 503, \"after_bytes\": 100000},"
            " {\"kind\": \"chunk_error\", \"status\": 500, \"after_bytes\": 0},"
            " {\"kind\": \"short_range\", \"keep\": 1000}], \"processing_polls\": 3}");
    assert_int_equal(worker_once(), 0);
    assert_published_once(&c);
    assert_int_equal(state_int(&c, "sessions"), 1);
    /* the video carries the metadata within YouTube's rules */
    json_t *st = dstate();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, "videos"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "sha256")), c.sha))
            continue;
        json_t *sn = json_object_get(v, "snippet");
        assert_false(omt_has(json_string_value(json_object_get(sn, "title")), "<"));
        assert_int_equal(json_array_size(json_object_get(sn, "tags")), 2);
        assert_string_equal(json_string_value(json_object_get(sn, "categoryId")), "22");
        assert_string_equal(json_string_value(json_object_get(json_object_get(v, "status"),
                                                              "uploadStatus")),
                            "processed");
    }
    json_decref(st);

    /* a session lost before its last byte: a new one, still one video */
    clip d;
    make_clip(&d, 3 * 262144);
    control("{\"faults\": [{\"kind\": \"session_404\"}]}");
    assert_int_equal(worker_once(), 0);
    assert_published_once(&d);
    assert_int_equal(state_int(&d, "sessions"), 2);
}

/* Every process under pid (pid included), killed with SIGKILL. */
static void kill_tree(pid_t pid)
{
    pid_t kids[64];
    int n = omt_children(pid, NULL, kids, 64);
    kill(pid, SIGSTOP); /* no new children while we walk */
    for (int i = 0; i < n; i++)
        kill_tree(kids[i]);
    kill(pid, SIGKILL);
}

/* The queue buries a job whose lease expired OM_LEASE_EXPIRIES_MAX (3) times (its poison
 * rule: a job that kills its worker must not kill every worker); a test that kills the
 * worker on purpose 20 times brings the dead letter back as an operator would. */
static void revive_dead_uploads(void)
{
    char *id = omt_query(db, "SELECT job_id FROM jobs WHERE type = 'upload' AND state = 'dead' "
                             "LIMIT 1");
    if (!id)
        return;
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "--log-format", "none", "jobs", "retry", id, NULL),
                     0);
    free(out);
    free(id);
}

static void test_kill9_everywhere(void **state)
{
    (void)state;
    clip c;
    make_clip(&c, 24 * 262144 + 777);
    /* slow bytes (3 MiB/s) so the kills land inside chunks */
    control("{\"clear_faults\": true, \"faults\": [{\"kind\": \"slow\", \"bytes_per_s\": 3145728,"
            " \"count\": -1}], \"processing_polls\": 1}");
    int64_t offs[20];
    for (int i = 0; i < 20; i++) {
        uint32_t r;
        om_random_bytes(&r, sizeof(r));
        offs[i] = 1 + (int64_t)(r % (uint32_t)(c.size - 1));
    }
    for (int i = 0; i < 20; i++) /* ascending: each run resumes where the last one died */
        for (int j = i + 1; j < 20; j++)
            if (offs[j] < offs[i]) {
                int64_t t = offs[i];
                offs[i] = offs[j], offs[j] = t;
            }
    char *log = xasprintf("%s/worker-kill.log", tmp);
    int kills = 0;
    for (int i = 0; i < 20; i++) {
        if (received_of(c.size) >= offs[i])
            continue; /* an earlier run already passed this offset */
        pid_t w = omt_spawn(home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
        int64_t end = om_mono_ms() + 60000;
        while (received_of(c.size) < offs[i] && om_mono_ms() < end) {
            revive_dead_uploads();
            usleep(2000);
        }
        kill_tree(w);
        waitpid(w, NULL, 0);
        kills++;
        assert_true(videos_with(c.sha, NULL, 0) == 0);
    }
    assert_true(kills >= 10);
    /* the instant between the last chunk and our commit: the server records the video,
     * delays its answer, and the worker dies waiting for it */
    control("{\"clear_faults\": true, \"faults\": [{\"kind\": \"final_delay\", \"seconds\": 30}]}");
    pid_t w = omt_spawn(home, log, NULL, (const char *[]){"worker", "--types", "upload", NULL});
    int64_t end = om_mono_ms() + 60000;
    while (videos_with(c.sha, NULL, 0) == 0 && om_mono_ms() < end) {
        revive_dead_uploads();
        usleep(5000);
    }
    assert_int_equal(videos_with(c.sha, NULL, 0), 1);
    kill_tree(w);
    waitpid(w, NULL, 0);
    char *st = uj_col(&c, "status");
    assert_string_not_equal(st, "DONE");
    free(st);
    control("{\"clear_faults\": true}");
    /* the restart reclaims the dead worker's lease (which may bury the job: revived) */
    for (int k = 0; k < 3; k++) {
        revive_dead_uploads();
        assert_int_equal(worker_once(), 0);
        char *done = uj_col(&c, "status");
        int ok = done && !strcmp(done, "DONE");
        free(done);
        if (ok)
            break;
    }
    assert_published_once(&c);
    /* one session for the whole job: every restart resumed it */
    assert_int_equal(state_int(&c, "sessions"), 1);
    print_message("kill -9 at %d offsets; bytes sent %lld for a %lld-byte file\n", kills,
                  (long long)state_int(&c, "bytes_sent"), (long long)c.size);
    free(log);
}

static void test_quota_and_rejection(void **state)
{
    (void)state;
    clip c;
    make_clip(&c, 262144);
    control("{\"quota_units\": 100}");
    assert_int_equal(worker_once(), 0);
    char *st = uj_col(&c, "status");
    assert_string_equal(st, "SCHEDULED");
    free(st);
    char *reason = uj_col(&c, "json_extract(target_state, '$.quota.reason')");
    assert_string_equal(reason, "quotaExceeded");
    free(reason);
    /* a new delayed job to the quota window's reopening, with no attempt spent */
    char *sql = xasprintf("SELECT count(*) FROM jobs WHERE type = 'upload' AND state = 'ready' "
                          "AND attempt = 0 AND unique_key LIKE '%s:quota:%%' AND not_before > "
                          "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '+1 minutes')",
                          c.uj);
    assert_int_equal(omt_query_int(db, sql), 1);
    free(sql);
    assert_int_equal(videos_with(c.sha, NULL, 0), 0);

    /* Google said the day's quota is gone, so our count says so too until the reset: a
     * new quota day (the row of this one dropped) lets the next post through */
    assert_int_equal(omt_query_int(db, "SELECT count(*) FROM publish_usage WHERE units >= 10000"),
                     1);
    assert_int_equal(omt_exec(db, "DELETE FROM publish_usage"), 0);

    /* processing rejected: the reason recorded, no yt_video_id */
    clip d;
    make_clip(&d, 262144 + 10);
    control("{\"quota_units\": 100000, \"reject\": \"duplicate\"}");
    assert_int_equal(worker_once(), 0);
    char *why = uj_col(&d, "json_extract(target_state, '$.rejection.reason')");
    assert_string_equal(why, "duplicate");
    free(why);
    char *yt = uj_col(&d, "yt_video_id");
    assert_null(yt);
    control("{\"reject\": null}");

    /* our own count: 9000 of 10000 units used today, an upload costs 1600: the post moves
     * to the next Pacific midnight before Google is asked (no session), no attempt spent,
     * and the move is in the schedule's horizon_adjustments and in the ledger */
    assert_int_equal(omt_exec(db, "UPDATE publish_usage SET units = 9000"), 0);
    clip e;
    make_clip(&e, 262144 + 20);
    sql = xasprintf("INSERT INTO schedules (schedule_id, clip_id, recommended_time, "
                    "final_scheduled_time, horizon_adjustments, status) VALUES "
                    "('%s', '%s', '2026-01-01T18:00:00.000000Z', '2026-01-01T18:00:00.000000Z', "
                    "'[]', 'SCHEDULED')",
                    e.uj, e.clip); /* any UUID will do for the schedule's id */
    assert_int_equal(omt_exec(db, sql), 0);
    free(sql);
    json_t *ds = dstate();
    size_t sessions = json_array_size(json_object_get(ds, "sessions"));
    json_decref(ds);
    assert_int_equal(worker_once(), 0);
    reason = uj_col(&e, "json_extract(target_state, '$.quota.reason')");
    assert_string_equal(reason, "quotaPlanned");
    free(reason);
    ds = dstate();
    assert_int_equal(json_array_size(json_object_get(ds, "sessions")), sessions);
    json_decref(ds);
    sql = xasprintf("SELECT count(*) FROM jobs WHERE type = 'upload' AND state = 'ready' AND "
                    "attempt = 0 AND unique_key LIKE '%s:quota:%%'",
                    e.uj);
    assert_int_equal(omt_query_int(db, sql), 1);
    free(sql);
    sql = xasprintf("SELECT json_extract(horizon_adjustments, '$[0].kind') || ' ' || "
                    "json_extract(horizon_adjustments, '$[0].reason') FROM schedules WHERE "
                    "clip_id = '%s'",
                    e.clip);
    char *adj = omt_query(db, sql);
    assert_string_equal(adj, "quota_reschedule quotaPlanned");
    free(adj);
    free(sql);
    sql = xasprintf("SELECT count(*) FROM stardust_metadata WHERE entity_id = '%s' AND "
                    "json_extract(decision_chain, '$.horizon_adjustment.reason') = "
                    "'quotaPlanned' AND json_extract(decision_chain, '$.attempt_counted') = 0",
                    e.uj);
    assert_int_equal(omt_query_int(db, sql), 1);
    free(sql);
    /* the schedule moved to the window's reopening */
    sql = xasprintf("SELECT final_scheduled_time > strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') "
                    "FROM schedules WHERE clip_id = '%s'",
                    e.clip);
    assert_int_equal(omt_query_int(db, sql), 1);
    free(sql);
    assert_int_equal(omt_exec(db, "DELETE FROM publish_usage"), 0);
}

static void test_revoked_token(void **state)
{
    (void)state;
    clip c;
    make_clip(&c, 262144);
    /* revoked at Google, and the stored access token expired: the next post refreshes */
    control("{\"revoke\": true, \"expire_access\": true}");
    assert_int_equal(omt_exec(db, "UPDATE publishing_accounts SET access_expires_at = NULL"), 0);
    json_t *st = dstate();
    size_t sessions = json_array_size(json_object_get(st, "sessions"));
    json_decref(st);
    assert_int_equal(worker_once(), 0);
    assert_int_equal(omt_query_int(db, "SELECT count(*) FROM incidents WHERE kind = "
                                       "'account_unusable' AND resolved_at IS NULL"),
                     1);
    char *as = omt_query(db, "SELECT state FROM publishing_accounts");
    assert_string_equal(as, "unusable");
    free(as);
    /* nothing was posted: no session was even opened */
    st = dstate();
    assert_int_equal(json_array_size(json_object_get(st, "sessions")), sessions);
    json_decref(st);
    char *ujs = uj_col(&c, "status");
    assert_string_not_equal(ujs, "DONE");
    free(ujs);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "--log-format", "none", "account", "check", NULL),
                     1);
    assert_true(omt_has(out, "unusable"));
    free(out);
    assert_int_equal(omt_run(&out, NULL, home, "account", "list", NULL), 0);
    assert_true(omt_has(out, "unusable"));
    assert_true(omt_has(out, "invalid_grant"));
    free(out);
    /* one incident, however often it is noticed */
    assert_int_equal(omt_query_int(db, "SELECT count(*) FROM incidents"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_and_targets),
        cmocka_unit_test(test_upload_with_faults),
        cmocka_unit_test(test_kill9_everywhere),
        cmocka_unit_test(test_quota_and_rejection),
        cmocka_unit_test(test_revoked_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
