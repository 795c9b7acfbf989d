/*
 * tfix.c: the publishing-target tests' shared fixture (see tfix.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "tfix.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

tfix TF;

static size_t grow(char *p, size_t s, size_t n, void *arg)
{
    sb_append(arg, p, s * n);
    return s * n;
}

long tf_http(const char *method, const char *url, const char *body, char **body_out, int follow)
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

json_t *tf_state(void)
{
    char *url = xasprintf("http://127.0.0.1:%d/_state", TF.dbl_port), *body = NULL;
    assert_int_equal(tf_http("GET", url, NULL, &body, 0), 200);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    free(url);
    free(body);
    return doc;
}

void tf_control(const char *json)
{
    char *url = xasprintf("http://127.0.0.1:%d/_control", TF.dbl_port);
    assert_int_equal(tf_http("POST", url, json, NULL, 0), 200);
    free(url);
}

int tf_items_with(const char *sha, char *id_out, size_t cap)
{
    json_t *st = tf_state();
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, TF.items_key), i, v) {
        if (!strcmp(json_string_value(json_object_get(v, "sha256")), sha)) {
            n++;
            if (id_out)
                snprintf(id_out, cap, "%s", json_string_value(json_object_get(v, "id")));
        }
    }
    json_decref(st);
    return n;
}

int64_t tf_received_of(int64_t size)
{
    json_t *st = tf_state();
    int64_t got = -1;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(st, TF.sessions_key), i, s)
        if (json_integer_value(json_object_get(s, "size")) == size)
            got = json_integer_value(json_object_get(s, "received"));
    json_decref(st);
    return got;
}

pid_t tf_double_start(const char *script_name, int *port_out)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char *script = xasprintf("%s/tests/targets/%s", getenv("OMNIVA_SRC"), script_name);
    char *dir = xasprintf("%s/double-%s", TF.tmp, script_name);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
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
    assert_int_equal(sscanf(line, "PORT %d", port_out), 1);
    fclose(f);
    free(script);
    free(dir);
    return child;
}

void tf_conf(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = xvasprintf(fmt, ap);
    va_end(ap);
    const char *dot = strchr(key, '.');
    char *sec = xstrndup(key, (size_t)(dot - key));
    omt_conf_append(TF.home, sec, dot + 1, v);
    free(sec);
    free(v);
}

void tf_setup(const char *platform, const char *script, const char *items_key,
              const char *sessions_key)
{
    memset(&TF, 0, sizeof(TF));
    TF.platform = platform;
    TF.items_key = items_key;
    TF.sessions_key = sessions_key;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TF.tmp = harness_tmpdir(platform);
    TF.dbl_pid = tf_double_start(script, &TF.dbl_port);
    TF.home = omt_workspace(platform, NULL);
    TF.db = xasprintf("sqlite://%s/omniva.db", TF.home);
    tf_conf("worker.lease_ms", "800");
    tf_conf("worker.reap_ms", "200");
    tf_conf("worker.idle_ms", "50");
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "project", "create",
                             "acme", NULL),
                     0);
    free(out);
    char *pid = omt_query(TF.db, "SELECT project_id FROM projects WHERE name = 'acme'");
    snprintf(TF.project_id, sizeof(TF.project_id), "%s", pid);
    free(pid);
}

void tf_teardown(void)
{
    if (TF.dbl_pid > 0) {
        kill(TF.dbl_pid, SIGKILL);
        waitpid(TF.dbl_pid, NULL, 0);
    }
    om_rmtree(TF.home);
    om_rmtree(TF.tmp);
    free(TF.home);
    free(TF.tmp);
    free(TF.db);
    curl_global_cleanup();
}

char *tf_link_account(const char *project, char **url_out)
{
    return tf_link(TF.platform, project, url_out);
}

char *tf_link(const char *platform, const char *project, char **url_out)
{
    char *log = xasprintf("%s/account-add.log", TF.tmp);
    unlink(log);
    pid_t pid = omt_spawn(TF.home, log, NULL,
                          (const char *[]){"--log-format", "none", "account", "add", platform,
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
    assert_int_equal(tf_http("GET", url, NULL, &page, 1), 200);
    assert_true(omt_has(page, "linked"));
    assert_int_equal(omt_wait(pid, 30000), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(log, 0, &text, &len), OM_OK);
    char *want = xasprintf("%s account linked to project", platform);
    assert_true(omt_has(text, want));
    free(want);
    /* the refresh token is never printed */
    char *sql = xasprintf("SELECT refresh_token FROM publishing_accounts WHERE platform = '%s'",
                          platform);
    char *rt = omt_query(TF.db, sql);
    assert_non_null(rt);
    assert_false(omt_has(text, rt));
    free(rt);
    free(sql);
    free(page);
    if (url_out)
        *url_out = url;
    else
        free(url);
    free(log);
    return text;
}

void tf_make_clip(tf_clip *c, int64_t size)
{
    char creator[OM_UUID_LEN], post[OM_UUID_LEN], video[OM_UUID_LEN], art[OM_UUID_LEN];
    om_uuid4(c->clip), om_uuid4(c->uj), om_uuid4(creator), om_uuid4(post), om_uuid4(video);
    om_uuid4(art);
    c->size = size;
    int seq = ++TF.clip_seq;
    char *path = xasprintf("%s/render-%d.mp4", TF.tmp, seq);
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
        "'[\"coffee\", \"latte art\"]', 'PENDING', '%s', '{}')",
        creator, seq, TF.project_id, creator, post, creator, seq, video, post, c->sha, c->clip,
        video, art, c->clip, path, c->sha, c->uj, c->clip, seq, TF.platform);
    /* one statement per call (no ';' inside the values) */
    for (char *stmt = sql, *semi; stmt && *stmt; stmt = semi ? semi + 1 : NULL) {
        semi = strchr(stmt, ';');
        if (semi)
            *semi = '\0';
        assert_int_equal(omt_exec(TF.db, stmt), 0);
    }
    free(sql);
    free(path);
    char *payload = xasprintf("{\"clip_id\":\"%s\",\"upload_job_id\":\"%s\",\"project_id\":\"%s\"}",
                              c->clip, c->uj, TF.project_id);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "jobs", "enqueue",
                             "upload", "--payload", payload, "--max-attempts", "100", NULL),
                     0);
    free(out);
    free(payload);
}

char *tf_uj_col(const tf_clip *c, const char *col)
{
    char *sql = xasprintf("SELECT %s FROM upload_jobs WHERE upload_job_id = '%s'", col, c->uj);
    char *v = omt_query(TF.db, sql);
    free(sql);
    return v;
}

int64_t tf_state_int(const tf_clip *c, const char *key)
{
    char *col = xasprintf("json_extract(target_state, '$.%s')", key);
    char *v = tf_uj_col(c, col);
    free(col);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

int tf_worker_once_types(const char *types)
{
    char *log = xasprintf("%s/worker.log", TF.tmp);
    pid_t pid = omt_spawn(TF.home, log, NULL,
                          (const char *[]){"worker", "--types", types, "--once", NULL});
    free(log);
    return omt_wait(pid, 120000);
}

int tf_worker_once(void)
{
    return tf_worker_once_types("upload");
}

void tf_kill_tree(pid_t pid)
{
    pid_t kids[64];
    int n = omt_children(pid, NULL, kids, 64);
    kill(pid, SIGSTOP); /* no new children while we walk */
    for (int i = 0; i < n; i++)
        tf_kill_tree(kids[i]);
    kill(pid, SIGKILL);
}

void tf_revive_dead_uploads(void)
{
    char *id = omt_query(TF.db, "SELECT job_id FROM jobs WHERE type = 'upload' AND state = "
                                "'dead' LIMIT 1");
    if (!id)
        return;
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, TF.home, "--log-format", "none", "jobs", "retry", id,
                             NULL),
                     0);
    free(out);
    free(id);
}
