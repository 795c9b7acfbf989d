/*
 * test_http.c: black-box tests of `omniva serve` through libcurl, the same suite on SQLite
 * and on PostgreSQL + Redis (tests/harness starts them): every error status (400, 401 when
 * accounts exist, 403, 404, 405, 409, 413, 422), the CLI's brand validation texts, creators,
 * path traversal on the file routes (.., %2e%2e, %2f, symlinks out of the served folders),
 * clip previews with Range, malformed JSON, SSE with Last-Event-ID resume, /metrics,
 * openapi.json, and a clean stop on SIGTERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"

typedef struct srv {
    char *home;
    char *db;
    char base[64];
    pid_t pid;
    char cookie[160]; /* "Cookie: omniva_session=..." of the signed-in admin, sent by default */
    char csrf[160];   /* "X-CSRF-Token: ..." of that session */
} srv;

typedef struct resp {
    long status;
    om_sbuf body;
    om_sbuf headers;
} resp;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    sb_append(ud, p, sz * n);
    return sz * n;
}

/* One request; hdrs is a NULL-terminated list (may be NULL). The server's admin session
 * (cookie + CSRF header) goes along unless hdrs carries its own Cookie or Authorization, or
 * "X-No-Auth: 1" to send no credentials at all. */
static void req(resp *r, const srv *s, const char *method, const char *path, const char *body,
                size_t body_len, const char *const *hdrs)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    char *url = xasprintf("%s%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    struct curl_slist *hl = NULL;
    int own = 0;
    for (size_t i = 0; hdrs && hdrs[i]; i++) {
        hl = curl_slist_append(hl, hdrs[i]);
        own |= !strncasecmp(hdrs[i], "Cookie:", 7) || !strncasecmp(hdrs[i], "Authorization:", 14) ||
               !strcmp(hdrs[i], "X-No-Auth: 1");
    }
    if (!own && s->cookie[0]) {
        hl = curl_slist_append(hl, s->cookie);
        hl = curl_slist_append(hl, s->csrf);
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
}

static void resp_free(resp *r)
{
    sb_release(&r->body);
    sb_release(&r->headers);
}

static json_t *jbody(resp *r)
{
    json_t *j = json_loads(sb_str(&r->body), 0, NULL);
    if (!j)
        fail_msg("not JSON (status %ld): %s", r->status, sb_str(&r->body));
    return j;
}

/* Asserts status and, for errors, the error shape with `code` (and field when given). */
static void expect(const srv *s, const char *method, const char *path, const char *body,
                   long status, const char *code, const char *field)
{
    resp r;
    req(&r, s, method, path, body, body ? strlen(body) : 0, NULL);
    if (r.status != status)
        fail_msg("%s %s: status %ld, want %ld: %s", method, path, r.status, status,
                 sb_str(&r.body));
    if (code) {
        json_t *j = jbody(&r);
        json_t *e = json_object_get(j, "error");
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "code")), code);
        assert_true(json_string_length(json_object_get(e, "message")) > 0);
        if (field)
            assert_string_equal(json_string_value(json_object_get(e, "field")), field);
        json_decref(j);
    }
    resp_free(&r);
}

#define ADMIN_PASS "correct horse battery"

/* Signs in through POST /api/v1/login; keeps the session cookie and CSRF token in *s. */
static void srv_login(srv *s, const char *user, const char *pass)
{
    resp r;
    char *body = xasprintf("{\"user\":\"%s\",\"password\":\"%s\"}", user, pass);
    const char *none[] = {"X-No-Auth: 1", NULL};
    req(&r, s, "POST", "/api/v1/login", body, strlen(body), none);
    free(body);
    if (r.status != 200)
        fail_msg("login as %s: %ld %s", user, r.status, sb_str(&r.body));
    const char *c = strstr(sb_str(&r.headers), "omniva_session=");
    assert_non_null(c);
    size_t n = strcspn(c, ";\r\n");
    assert_true(omt_has(sb_str(&r.headers), "HttpOnly") &&
                omt_has(sb_str(&r.headers), "SameSite=Strict"));
    snprintf(s->cookie, sizeof(s->cookie), "Cookie: %.*s", (int)n, c);
    json_t *j = jbody(&r);
    snprintf(s->csrf, sizeof(s->csrf), "X-CSRF-Token: %s",
             json_string_value(json_object_get(j, "csrf")));
    json_decref(j);
    resp_free(&r);
}

/* `omniva user add NAME --role ROLE` with the password on stdin. */
static void cli_user_add(const srv *s, const char *name, const char *role, const char *pass)
{
    char *cmd = xasprintf("printf '%%s\\n' '%s' | '%s' --home '%s' --log-format none user add %s "
                          "--role %s >/dev/null",
                          pass, getenv("OMNIVA_BIN"), s->home, name, role);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void srv_start(srv *s, const char *db, const char *queue)
{
    memset(s, 0, sizeof(*s));
    s->db = db ? xstrdup(db) : NULL;
    s->home = db ? omt_workspace("http", "--db", db, "--queue", queue, NULL)
                 : omt_workspace("http", NULL);
    omt_conf_append(s->home, "auth", "pwhash_memlimit_kib", "8"); /* fast hashes in tests */
    omt_conf_append(s->home, "auth", "pwhash_opslimit", "1");
    int port = harness_free_port();
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", port);
    char *log = xasprintf("%s/serve.log", s->home);
    const char *args[] = {"serve", "--listen", listen, NULL};
    s->pid = omt_spawn(s->home, log, NULL, args);
    free(log);
    for (int i = 0; i < 100; i++) {
        CURL *c = curl_easy_init();
        char *url = xasprintf("%s/api/v1/openapi.json", s->base);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        free(url);
        if (rc == CURLE_OK) {
            /* a fresh workspace has no users: the one-time set-up from loopback */
            expect(s, "GET", "/api/v1/projects", NULL, 401, "unauthorized", NULL);
            expect(s, "POST", "/api/v1/setup", "{\"user\":\"admin\",\"password\":\"" ADMIN_PASS "\"}",
                   201, NULL, NULL);
            srv_login(s, "admin", ADMIN_PASS);
            return;
        }
        om_sleep_ms(100);
    }
    fail_msg("omniva serve did not come up on %s", listen);
}

static void srv_stop(srv *s)
{
    kill(s->pid, SIGTERM);
    assert_int_equal(omt_wait(s->pid, 10000), 0); /* clean stop: exit 0 */
    om_rmtree(s->home);
    free(s->home);
    free(s->db);
}

/* the store URL of the workspace, as the server uses it */
static char *db_url(const srv *s, const char *db)
{
    return db ? xstrdup(db) : xasprintf("sqlite://%s/omniva.db", s->home);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A clip (with creator/post/video) straight in the store; returns the clip id. */
static void make_clip(const char *url, const char *clip, const char *tag)
{
    char *sql = xasprintf(
        "INSERT INTO creators (creator_id, platform, username) VALUES "
        "('%s', 'local', 'u%s');\n",
        "11111111-1111-4111-8111-1111111111aa", tag);
    omt_exec(url, sql); /* the second call fails on the unique key: fine */
    free(sql);
    char post[40], vid[40];
    snprintf(post, sizeof(post), "22222222-2222-4222-8222-2222222222%s", tag);
    snprintf(vid, sizeof(vid), "33333333-3333-4333-8333-3333333333%s", tag);
    sql = xasprintf("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
                    "VALUES ('%s', '11111111-1111-4111-8111-1111111111aa', 'local', 'p%s', "
                    "'file:///x')",
                    post, tag);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    sql = xasprintf("INSERT INTO videos (video_id, post_id, file_path, checksum) VALUES "
                    "('%s', '%s', '/nonexistent.mp4', 'sum%s')",
                    vid, post, tag);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    sql = xasprintf("INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, "
                    "status) VALUES ('%s', '%s', 1.0, 20.0, 0.8, 'CANDIDATE')",
                    clip, vid);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
}

/* Sign-in and roles: 401 without (or with a dead) session, 403 for a viewer's write and for a
 * write without or with a wrong CSRF token, Bearer tokens need no CSRF, set-up only once,
 * wrong passwords refused. */
static void auth_checks(srv *s)
{
    resp r;
    const char *none[] = {"X-No-Auth: 1", NULL};
    req(&r, s, "GET", "/api/v1/projects", NULL, 0, none);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    const char *dead[] = {"Cookie: omniva_session=00ff", NULL};
    req(&r, s, "GET", "/api/v1/projects", NULL, 0, dead);
    assert_int_equal(r.status, 401);
    assert_true(omt_has(sb_str(&r.body), "\"unauthorized\""));
    resp_free(&r);
    const char *body = "{\"name\":\"csrfcheck\"}";
    const char *nocsrf[] = {s->cookie, NULL};
    req(&r, s, "POST", "/api/v1/projects", body, strlen(body), nocsrf);
    assert_int_equal(r.status, 403);
    assert_true(omt_has(sb_str(&r.body), "\"csrf\""));
    resp_free(&r);
    const char *badcsrf[] = {s->cookie, "X-CSRF-Token: 0123", NULL};
    req(&r, s, "POST", "/api/v1/projects", body, strlen(body), badcsrf);
    assert_int_equal(r.status, 403);
    assert_true(omt_has(sb_str(&r.body), "does not match"));
    resp_free(&r);
    expect(s, "POST", "/api/v1/setup", "{\"user\":\"other\",\"password\":\"" ADMIN_PASS "\"}",
           409, "conflict", NULL);
    req(&r, s, "POST", "/api/v1/login", "{\"user\":\"admin\",\"password\":\"wrong one!\"}",
        strlen("{\"user\":\"admin\",\"password\":\"wrong one!\"}"), none);
    assert_int_equal(r.status, 401);
    resp_free(&r);

    /* a viewer reads but cannot write */
    cli_user_add(s, "vera", "viewer", "viewer password 1");
    srv v = *s;
    srv_login(&v, "vera", "viewer password 1");
    req(&r, &v, "GET", "/api/v1/projects", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    req(&r, &v, "POST", "/api/v1/projects", body, strlen(body), NULL);
    assert_int_equal(r.status, 403);
    assert_true(omt_has(sb_str(&r.body), "needs role operator"));
    resp_free(&r);
    req(&r, &v, "GET", "/api/v1/me", NULL, 0, NULL);
    assert_true(omt_has(sb_str(&r.body), "\"role\":\"viewer\""));
    if (s->db) /* PostgreSQL: reads run as the read-only role the migration made */
        assert_true(omt_has(sb_str(&r.body), "\"db_role\":\"omniva_cognition_ro\""));
    resp_free(&r);

    /* an API token: Bearer, no CSRF needed; a wrong token is 401 */
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, s->home, "user", "token", "create", "admin", NULL), 0);
    out[strcspn(out, "\r\n")] = 0;
    char *bearer = xasprintf("Authorization: Bearer %s", out);
    const char *tok[] = {bearer, NULL};
    req(&r, s, "POST", "/api/v1/projects", "{\"name\":\"tok\",\"brand\":{\"nope\":1}}",
        strlen("{\"name\":\"tok\",\"brand\":{\"nope\":1}}"), tok);
    assert_int_equal(r.status, 422); /* reached validation: the token passed auth and CSRF */
    resp_free(&r);
    const char *badtok[] = {"Authorization: Bearer 1234", NULL};
    req(&r, s, "GET", "/api/v1/projects", NULL, 0, badtok);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    free(bearer);
    free(out);
}

/* What only an admin steers (users, settings) and every user's own tokens. */
static void admin_checks(srv *s)
{
    resp r;
    /* users: add (field errors named), list without hashes, role change, removal */
    expect(s, "POST", "/api/v1/users", "{\"name\":\"otto\",\"role\":\"boss\",\"password\":\"x\"}",
           422, "invalid", "role");
    expect(s, "POST", "/api/v1/users", "{\"name\":\"otto\",\"role\":\"operator\",\"password\":\"x\"}",
           422, "invalid", "password");
    expect(s, "POST", "/api/v1/users", "{\"name\":\"otto\",\"age\":3}", 422, "invalid", "age");
    expect(s, "POST", "/api/v1/users",
           "{\"name\":\"otto\",\"role\":\"operator\",\"password\":\"operator pass 1\"}", 201, NULL,
           NULL);
    expect(s, "POST", "/api/v1/users",
           "{\"name\":\"otto\",\"role\":\"operator\",\"password\":\"operator pass 1\"}", 409,
           "conflict", "name");
    req(&r, s, "GET", "/api/v1/users", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), "\"otto\"") && omt_has(sb_str(&r.body), "\"operator\""));
    assert_false(omt_has(sb_str(&r.body), "argon2") || omt_has(sb_str(&r.body), "password"));
    resp_free(&r);
    /* an operator is not an admin */
    srv o = *s;
    srv_login(&o, "otto", "operator pass 1");
    req(&r, &o, "GET", "/api/v1/users", NULL, 0, NULL);
    assert_int_equal(r.status, 403);
    assert_true(omt_has(sb_str(&r.body), "needs role admin"));
    resp_free(&r);
    req(&r, &o, "GET", "/api/v1/settings", NULL, 0, NULL);
    assert_int_equal(r.status, 403);
    resp_free(&r);
    /* the last admin stays an admin; nobody removes themselves */
    expect(s, "PATCH", "/api/v1/users/admin", "{\"role\":\"viewer\"}", 409, "conflict", "role");
    expect(s, "DELETE", "/api/v1/users/admin", NULL, 409, "conflict", "name");
    expect(s, "PATCH", "/api/v1/users/nobody", "{\"role\":\"viewer\"}", 404, NULL, NULL);
    expect(s, "PATCH", "/api/v1/users/otto", "{\"role\":\"viewer\"}", 200, NULL, NULL);
    req(&r, &o, "POST", "/api/v1/projects", "{\"name\":\"ottos\"}", strlen("{\"name\":\"ottos\"}"),
        NULL);
    assert_int_equal(r.status, 403); /* the new role holds at once */
    resp_free(&r);

    /* own tokens: created (the secret once), listed without it, revoked */
    req(&r, &o, "POST", "/api/v1/tokens", "{\"label\":\"ci\"}", strlen("{\"label\":\"ci\"}"), NULL);
    assert_int_equal(r.status, 201);
    json_t *t = jbody(&r);
    char *secret = xstrdup(json_string_value(json_object_get(t, "token")));
    char *tid = xstrdup(json_string_value(json_object_get(t, "id")));
    json_decref(t);
    resp_free(&r);
    char *bearer = xasprintf("Authorization: Bearer %s", secret);
    const char *tok[] = {bearer, NULL};
    req(&r, s, "GET", "/api/v1/me", NULL, 0, tok);
    assert_true(omt_has(sb_str(&r.body), "\"user\":\"otto\""));
    resp_free(&r);
    req(&r, &o, "GET", "/api/v1/tokens", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), tid) && !omt_has(sb_str(&r.body), secret));
    resp_free(&r);
    char *path = xasprintf("/api/v1/tokens/%s", tid);
    expect(&o, "DELETE", path, NULL, 200, NULL, NULL);
    req(&r, s, "GET", "/api/v1/me", NULL, 0, tok);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    free(path);
    free(bearer);
    free(secret);
    free(tid);
    expect(s, "DELETE", "/api/v1/users/otto", NULL, 200, NULL, NULL);
    expect(s, "DELETE", "/api/v1/users/otto", NULL, 404, NULL, NULL);

    /* settings: shown with origin and doc, secrets masked; a change lands in omniva.conf */
    expect(s, "PATCH", "/api/v1/settings", "{\"youtube.client_secret\":\"s3cr3t-value\"}", 200,
           NULL, NULL);
    req(&r, s, "GET", "/api/v1/settings", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), "\"key\":\"editor.crf\""));
    assert_false(omt_has(sb_str(&r.body), "s3cr3t-value"));
    resp_free(&r);
    expect(s, "PATCH", "/api/v1/settings", "{\"editor.crfx\":20}", 422, "invalid", "editor.crfx");
    expect(s, "PATCH", "/api/v1/settings", "{\"editor.crf\":\"soft\"}", 422, "invalid",
           "editor.crf");
    expect(s, "PATCH", "/api/v1/settings", "{\"editor.crf\":[1]}", 422, "invalid", "editor.crf");
    req(&r, s, "PATCH", "/api/v1/settings", "{\"editor.crf\":21}", strlen("{\"editor.crf\":21}"),
        NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), "\"restart_needed\":true"));
    resp_free(&r);
    char *conf = xasprintf("%s/omniva.conf", s->home), *text = NULL;
    size_t len = 0;
    assert_int_equal(om_read_file(conf, 0, &text, &len), OM_OK);
    assert_true(omt_has(text, "crf = 21") && omt_has(text, "client_secret = s3cr3t-value"));
    free(text);
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, s->home, "config", "show", NULL), 0);
    assert_true(omt_has(out, "editor.crf = 21"));
    free(out);
    expect(s, "PATCH", "/api/v1/settings", "{\"editor.crf\":null,\"youtube.client_secret\":null}",
           200, NULL, NULL);
    assert_int_equal(om_read_file(conf, 0, &text, &len), OM_OK);
    assert_false(omt_has(text, "crf = 21") || omt_has(text, "s3cr3t-value"));
    free(text);
    free(conf);
}

static void suite(const char *db, const char *queue)
{
    srv s;
    srv_start(&s, db, queue);
    char *url = db_url(&s, db);
    resp r;

    auth_checks(&s);
    admin_checks(&s);

    /* routing errors */
    expect(&s, "GET", "/api/v1/nope", NULL, 404, "not_found", NULL);
    expect(&s, "PUT", "/api/v1/projects", NULL, 405, "method_not_allowed", NULL);
    req(&r, &s, "DELETE", "/api/v1/clips", NULL, 0, NULL);
    assert_int_equal(r.status, 405);
    assert_true(omt_has(sb_str(&r.headers), "Allow: GET"));
    resp_free(&r);
    expect(&s, "GET", "/api/v1/clips?limit=%zz", NULL, 400, "bad_query", NULL);
    expect(&s, "GET", "/api/v1/clips?limit=1&limit=2", NULL, 400, "bad_query", NULL);
    expect(&s, "GET", "/api/v1/clips?bogus=1", NULL, 400, "bad_query", "bogus");
    expect(&s, "GET", "/api/v1/clips?limit=0", NULL, 400, "bad_query", "limit");
    expect(&s, "GET", "/api/v1/clips?status=weird", NULL, 400, "bad_query", "status");
    expect(&s, "GET", "/api/v1/clips?sort=sideways", NULL, 400, "bad_query", "sort");
    expect(&s, "GET", "/api/v1/clips?sort=created&cursor=garbage", NULL, 400, "bad_query",
           "cursor");
    expect(&s, "GET", "/api/v1/clips/not-a-uuid", NULL, 400, "bad_id", "id");
    expect(&s, "GET", "/api/v1/clips/00000000-0000-4000-8000-000000000000", NULL, 404,
           "not_found", "id");
    expect(&s, "GET", "/api/v1/jobs/00000000-0000-4000-8000-000000000000", NULL, 404,
           "not_found", "id");
    expect(&s, "GET", "/api/v1/jobs?state=sleeping", NULL, 400, "bad_query", "state");

    /* projects: malformed JSON, validation with the CLI's words, conflicts */
    expect(&s, "POST", "/api/v1/projects", "{\"name\":", 400, "malformed_json", NULL);
    expect(&s, "POST", "/api/v1/projects", "[1,2]", 400, "malformed_json", NULL);
    expect(&s, "POST", "/api/v1/projects", "", 400, "malformed_json", NULL);
    expect(&s, "POST", "/api/v1/projects", "{\"name\":\"a\",\"name\":\"b\"}", 400,
           "malformed_json", NULL);
    expect(&s, "POST", "/api/v1/projects", "{\"brand\":{}}", 422, "invalid", "name");
    expect(&s, "POST", "/api/v1/projects", "{\"name\":\"x\",\"colour\":1}", 422, "invalid",
           "colour");
    req(&r, &s, "POST", "/api/v1/projects", "{\"name\":\"cafe\",\"brand\":{\"clip_min_s\":3}}",
        strlen("{\"name\":\"cafe\",\"brand\":{\"clip_min_s\":3}}"), NULL);
    assert_int_equal(r.status, 422);
    assert_true(omt_has(sb_str(&r.body), "brand.clip_min_s: 3 is out of range 5..180"));
    resp_free(&r);
    char *out = NULL;
    char *bf = xasprintf("%s/brand.json", s.home);
    write_file(bf, "{\"clip_min_s\":3}");
    omt_run(NULL, &out, s.home, "project", "create", "clitest", "--brand", bf, NULL);
    free(bf);
    assert_true(omt_has(out, "brand.clip_min_s: 3 is out of range 5..180")); /* same words */
    free(out);
    expect(&s, "POST", "/api/v1/projects", "{\"name\":\"cafe\",\"brand\":{\"keywords\":[\"coffee\"]}}",
           201, NULL, NULL);
    expect(&s, "POST", "/api/v1/projects", "{\"name\":\"cafe\"}", 409, "conflict", "name");
    expect(&s, "GET", "/api/v1/projects/nosuch", NULL, 404, "not_found", "id");
    expect(&s, "PATCH", "/api/v1/projects/cafe", "{\"brand\":{\"caption\":{\"color\":\"red\"}}}",
           422, "invalid", "brand.caption.color"); /* the field the message names */
    req(&r, &s, "PATCH", "/api/v1/projects/cafe", "{\"brand\":{\"posts_per_day\":5}}",
        strlen("{\"brand\":{\"posts_per_day\":5}}"), NULL);
    assert_int_equal(r.status, 200);
    json_t *j = jbody(&r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "brand"),
                                                        "posts_per_day")), 5);
    json_decref(j);
    resp_free(&r);

    /* creators */
    char *folder = xasprintf("%s/incoming", s.home);
    om_mkdirs(folder, 0755);
    char *cbody = xasprintf("{\"url\":\"%s\"}", folder);
    expect(&s, "POST", "/api/v1/projects/cafe/creators", cbody, 201, NULL, NULL);
    expect(&s, "POST", "/api/v1/projects/cafe/creators", cbody, 200, NULL, NULL); /* idempotent */
    expect(&s, "POST", "/api/v1/projects/cafe/creators", "{\"url\":\"gopher://x\"}", 422,
           "invalid", "url");
    req(&r, &s, "GET", "/api/v1/projects/cafe/creators", NULL, 0, NULL);
    j = jbody(&r);
    json_t *cr = json_array_get(json_object_get(j, "creators"), 0);
    assert_string_equal(json_string_value(json_object_get(cr, "platform")), "local");
    char *cid = xstrdup(json_string_value(json_object_get(cr, "creator_id")));
    json_decref(j);
    resp_free(&r);
    char *del = xasprintf("/api/v1/projects/cafe/creators/%s", cid);
    expect(&s, "DELETE", del, NULL, 200, NULL, NULL);
    expect(&s, "DELETE", del, NULL, 404, "not_found", NULL);
    free(del);
    free(cid);
    free(cbody);
    free(folder);
    expect(&s, "POST", "/api/v1/projects/cafe/archive", NULL, 200, NULL, NULL);
    req(&r, &s, "GET", "/api/v1/projects", NULL, 0, NULL);
    assert_false(omt_has(sb_str(&r.body), "\"cafe\""));
    resp_free(&r);
    req(&r, &s, "GET", "/api/v1/projects?archived=1", NULL, 0, NULL);
    assert_true(omt_has(sb_str(&r.body), "\"cafe\""));
    resp_free(&r);

    /* oversized bodies: 413 (with and without Content-Length known up front) */
    size_t big = 2 * 1024 * 1024;
    char *blob = xmalloc(big + 1);
    memset(blob, ' ', big);
    blob[big] = 0;
    req(&r, &s, "POST", "/api/v1/projects", blob, big, NULL);
    assert_int_equal(r.status, 413);
    assert_true(omt_has(sb_str(&r.body), "\"too_large\""));
    resp_free(&r);
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    req(&r, &s, "POST", "/api/v1/projects", blob, big, chunked);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    free(blob);

    /* clips: list, one, previews with Range, traversal */
    const char *clip = "44444444-4444-4444-8444-4444444444a1";
    const char *clip2 = "44444444-4444-4444-8444-4444444444a2";
    make_clip(url, clip, "a1");
    make_clip(url, clip2, "a2");
    req(&r, &s, "GET", "/api/v1/clips?limit=1&sort=created", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    j = jbody(&r);
    assert_int_equal(json_array_size(json_object_get(j, "clips")), 1);
    const char *next = json_string_value(json_object_get(j, "next_cursor"));
    assert_non_null(next);
    char *p2 = xasprintf("/api/v1/clips?limit=1&sort=created&cursor=%s", next);
    json_decref(j);
    resp_free(&r);
    req(&r, &s, "GET", p2, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    j = jbody(&r);
    assert_int_equal(json_array_size(json_object_get(j, "clips")), 1);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
    resp_free(&r);
    free(p2);
    expect(&s, "GET", "/api/v1/clips?min_score=0.9", NULL, 200, NULL, NULL);
    char *one = xasprintf("/api/v1/clips/%s", clip);
    req(&r, &s, "GET", one, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), "\"explanation\""));
    resp_free(&r);
    free(one);
    char *prev = xasprintf("/api/v1/clips/%s/preview", clip);
    expect(&s, "GET", prev, NULL, 404, "not_found", "id"); /* nothing rendered yet */
    char *renders = xasprintf("%s/media/renders", s.home);
    om_mkdirs(renders, 0755);
    char *file = xasprintf("%s/%s.mp4", renders, clip);
    write_file(file, "0123456789");
    char *sql = xasprintf("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path) "
                          "VALUES ('55555555-5555-4555-8555-5555555555a1', 'render', 'clips', '%s', '%s')",
                          clip, file);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    const char *range[] = {"Range: bytes=2-5", NULL};
    req(&r, &s, "GET", prev, NULL, 0, range);
    assert_int_equal(r.status, 206);
    assert_string_equal(sb_str(&r.body), "2345");
    assert_true(omt_has(sb_str(&r.headers), "Content-Range: bytes 2-5/10"));
    resp_free(&r);
    const char *suffix[] = {"Range: bytes=-3", NULL};
    req(&r, &s, "GET", prev, NULL, 0, suffix);
    assert_int_equal(r.status, 206);
    assert_string_equal(sb_str(&r.body), "789");
    resp_free(&r);
    const char *beyond[] = {"Range: bytes=50-60", NULL};
    req(&r, &s, "GET", prev, NULL, 0, beyond);
    assert_int_equal(r.status, 416);
    resp_free(&r);
    req(&r, &s, "GET", prev, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(sb_str(&r.body), "0123456789");
    resp_free(&r);
    free(prev);
    /* a symlink in renders/ pointing out of the workspace is refused */
    char *evil = xasprintf("%s/evil.mp4", renders);
    assert_int_equal(symlink("/etc/passwd", evil), 0);
    sql = xasprintf("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path) "
                    "VALUES ('55555555-5555-4555-8555-5555555555a2', 'render', 'clips', '%s', '%s')",
                    clip2, evil);
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    prev = xasprintf("/api/v1/clips/%s/preview", clip2);
    req(&r, &s, "GET", prev, NULL, 0, NULL);
    assert_int_equal(r.status, 403);
    assert_false(omt_has(sb_str(&r.body), "root:"));
    resp_free(&r);
    free(prev);
    free(evil);
    free(file);
    free(renders);
    /* traversal through the path itself */
    expect(&s, "GET", "/api/v1/clips/..%2f..%2fetc%2fpasswd/preview", NULL, 400, "bad_path", NULL);
    expect(&s, "GET", "/api/v1/clips/%2e%2e/preview", NULL, 400, "bad_path", NULL);
    expect(&s, "GET", "/static/..%2fomniva.conf", NULL, 400, "bad_path", NULL);
    expect(&s, "GET", "/static/%2E%2E", NULL, 400, "bad_path", NULL);
    expect(&s, "GET", "/static/../omniva.conf", NULL, 400, "bad_path", NULL);
    /* the embedded assets are a table: a traversal names no entry, whatever its spelling */
    static const char *const asset_paths[] = {"/assets/../omniva.conf", "/assets/..%2fomniva.conf",
                                              "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                                              "/assets/..%5c..%5comniva.conf", "/assets/%2e%2e",
                                              "/assets/app.js%00.html"};
    for (size_t i = 0; i < OM_ARRAY_LEN(asset_paths); i++) {
        req(&r, &s, "GET", asset_paths[i], NULL, 0, NULL);
        if (r.status != 400 && r.status != 404)
            fail_msg("GET %s: status %ld, want 400 or 404", asset_paths[i], r.status);
        assert_false(omt_has(sb_str(&r.body), "[store]") || omt_has(sb_str(&r.body), "root:"));
        resp_free(&r);
    }
    char *web = xasprintf("%s/web", s.home);
    om_mkdirs(web, 0755);
    char *idx = xasprintf("%s/index.html", web);
    write_file(idx, "<h1>omniva</h1>");
    char *lnk = xasprintf("%s/conf.txt", web);
    char *conf = xasprintf("%s/omniva.conf", s.home);
    assert_int_equal(symlink(conf, lnk), 0);
    req(&r, &s, "GET", "/static/index.html", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(sb_str(&r.body), "<h1>omniva</h1>");
    assert_true(omt_has(sb_str(&r.headers), "text/html"));
    resp_free(&r);
    expect(&s, "GET", "/static/conf.txt", NULL, 403, "forbidden", NULL);
    free(idx);
    free(lnk);
    free(conf);
    free(web);

    /* approve / reject / conflicts */
    char *ap = xasprintf("/api/v1/clips/%s/approve", clip);
    req(&r, &s, "POST", ap, NULL, 0, NULL);
    assert_int_equal(r.status, 202);
    j = jbody(&r);
    char *job = xstrdup(json_string_value(json_object_get(j, "job_id")));
    json_decref(j);
    resp_free(&r);
    expect(&s, "POST", ap, NULL, 409, "conflict", "id");
    free(ap);
    char *jp = xasprintf("/api/v1/jobs/%s", job);
    req(&r, &s, "GET", jp, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), "\"type\":\"edit\""));
    resp_free(&r);
    free(jp);
    jp = xasprintf("/api/v1/jobs/%s/retry", job);
    expect(&s, "POST", jp, NULL, 409, "conflict", "id");
    free(jp);
    free(job);
    expect(&s, "POST", "/api/v1/jobs/purge?state=ready", NULL, 400, "bad_query", "state");
    expect(&s, "POST", "/api/v1/jobs/purge", NULL, 200, NULL, NULL);

    /* the rest answer */
    expect(&s, "GET", "/api/v1/schedule", NULL, 200, NULL, NULL);
    expect(&s, "GET", "/api/v1/ledger/verify", NULL, 200, NULL, NULL);
    expect(&s, "GET", "/api/v1/incidents?open=1", NULL, 200, NULL, NULL);
    expect(&s, "GET", "/api/v1/incidents?open=maybe", NULL, 400, "bad_query", "open");
    expect(&s, "POST", "/api/v1/incidents/00000000-0000-4000-8000-000000000000/resolve", NULL,
           404, "not_found", "id");
    req(&r, &s, "GET", "/api/v1/stats", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    j = jbody(&r);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(j, "stages"), "clips"), "selected")),
                     1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "throughput"),
                                                     "per_minute_last_hour")), 60);
    json_decref(j);
    resp_free(&r);
    om_sleep_ms(1100); /* past the metrics cache */
    req(&r, &s, "GET", "/metrics", NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(omt_has(sb_str(&r.body), "omniva_clips{status=\"selected\"} 1"));
    assert_true(omt_has(sb_str(&r.body), "process_resident_memory_bytes"));
    resp_free(&r);
    req(&r, &s, "GET", "/api/v1/openapi.json", NULL, 0, NULL);
    j = jbody(&r);
    assert_string_equal(json_string_value(json_object_get(j, "openapi")), "3.0.3");
    assert_non_null(json_object_get(json_object_get(j, "paths"), "/api/v1/clips/{id}/preview"));
    /* the query parameters the route takes, with their types: the same list the route
     * enforces (an unknown one is 400, and every documented one is accepted) */
    json_t *ps = json_object_get(
        json_object_get(json_object_get(json_object_get(j, "paths"), "/api/v1/clips"), "get"),
        "parameters");
    int seen_limit = 0;
    size_t pi;
    json_t *pv;
    json_array_foreach(ps, pi, pv) {
        const char *pn = json_string_value(json_object_get(pv, "name"));
        const char *pt =
            json_string_value(json_object_get(json_object_get(pv, "schema"), "type"));
        assert_string_equal(json_string_value(json_object_get(pv, "in")), "query");
        if (!strcmp(pn, "limit")) {
            assert_string_equal(pt, "integer");
            seen_limit = 1;
        }
        const char *val = !strcmp(pt, "integer") ? "1"
                          : !strcmp(pt, "number") ? "0.5"
                          : !strcmp(pn, "sort")   ? "score"
                          : !strcmp(pn, "status") ? "selected"
                          : !strcmp(pn, "since") || !strcmp(pn, "until")
                              ? "2026-01-01T00:00:00Z"
                          : !strcmp(pn, "project") || !strcmp(pn, "creator")
                              ? "00000000-0000-4000-8000-000000000000"
                              : NULL;
        if (!val)
            continue; /* cursor: only what a listing handed out */
        char *qp = xasprintf("/api/v1/clips?%s=%s", pn, val);
        resp qr;
        req(&qr, &s, "GET", qp, NULL, 0, NULL);
        /* 200, or 404 for an id that names nothing: understood either way */
        if (qr.status != 200 && (qr.status != 404 || !omt_has(sb_str(&qr.body), pn)))
            fail_msg("documented %s: %ld %s", qp, qr.status, sb_str(&qr.body));
        resp_free(&qr);
        free(qp);
    }
    assert_true(seen_limit && json_array_size(ps) >= 9);
    json_decref(j);
    resp_free(&r);

    /* SSE: an event written to logs arrives with an id; Last-Event-ID resumes after it */
    const char *ins =
        "INSERT INTO logs (log_id, source, level, message, metadata) VALUES "
        "('66666666-6666-4666-8666-6666666666%s', 'select', 'info', 'm%s', "
        "'{\"clip_id\":\"44444444-4444-4444-8444-4444444444a1\"}')";
    sql = xasprintf(ins, "01", "1");
    assert_int_equal(omt_exec(url, sql), 0);
    free(sql);
    om_sleep_ms(20);
    const char *from0[] = {"Last-Event-ID: 1970-01-01T00:00:00.000000Z_00000000-0000-0000-0000-000000000000",
                           NULL};
    {
        CURL *c = curl_easy_init();
        om_sbuf b = OM_SBUF_INIT;
        char *u = xasprintf("%s/api/v1/events", s.base);
        struct curl_slist *hl = curl_slist_append(NULL, from0[0]);
        hl = curl_slist_append(hl, s.cookie);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1500L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_perform(c); /* ends by timeout */
        assert_true(omt_has(sb_str(&b), "event: clip"));
        assert_true(omt_has(sb_str(&b), "\"message\":\"m1\""));
        const char *idl = strstr(sb_str(&b), "id: ");
        assert_non_null(idl);
        char id[128];
        assert_int_equal(sscanf(idl, "id: %127s", id), 1);
        sb_release(&b);
        curl_slist_free_all(hl);
        sql = xasprintf(ins, "02", "2");
        assert_int_equal(omt_exec(url, sql), 0);
        free(sql);
        char *h = xasprintf("Last-Event-ID: %s", id);
        hl = curl_slist_append(NULL, h);
        hl = curl_slist_append(hl, s.cookie);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        b = (om_sbuf)OM_SBUF_INIT;
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_perform(c);
        assert_true(omt_has(sb_str(&b), "\"message\":\"m2\""));
        assert_false(omt_has(sb_str(&b), "\"message\":\"m1\""));
        sb_release(&b);
        curl_slist_free_all(hl);
        free(h);
        /* live: a row written while the stream is open arrives within a second */
        free(u);
        curl_easy_cleanup(c);
    }
    const char *badid[] = {"Last-Event-ID: nonsense", NULL};
    req(&r, &s, "GET", "/api/v1/events", NULL, 0, badid);
    assert_int_equal(r.status, 400);
    resp_free(&r);

    free(url);
    srv_stop(&s);
}

static void test_sqlite(void **st)
{
    suite(NULL, NULL);
}

static void test_postgres_redis(void **st)
{
    harness_pg pg;
    harness_redis rd;
    if (harness_pg_start(&pg))
        fail_msg("postgres did not start");
    if (harness_redis_start(&rd)) {
        harness_pg_stop(&pg);
        fail_msg("redis did not start");
    }
    suite(pg.url, rd.url);
    harness_redis_stop(&rd);
    harness_pg_stop(&pg);
}

static void test_listen_errors(void **st)
{
    char *home = omt_workspace("httpl", NULL);
    char *err = NULL;
    assert_int_equal(omt_run(NULL, &err, home, "serve", "--listen", "nonsense", NULL), 1);
    assert_true(omt_has(err, "want ADDR:PORT"));
    free(err);
    err = NULL;
    assert_int_equal(omt_run(NULL, &err, home, "serve", "--listen", "127.0.0.1:99999", NULL), 1);
    assert_true(omt_has(err, "port must be 0..65535"));
    free(err);
    err = NULL;
    /* off loopback without user accounts: refused */
    assert_int_equal(omt_run(NULL, &err, home, "serve", "--listen", "0.0.0.0:0", NULL), 1);
    assert_true(omt_has(err, "refusing to listen on 0.0.0.0:0"));
    free(err);
    om_rmtree(home);
    free(home);
}

/* /metrics through Debian's promtool and a real Prometheus scraping the server. */
static void test_prometheus(void **st)
{
    if (access("/usr/bin/prometheus", X_OK) || access("/usr/bin/promtool", X_OK)) {
        print_message("prometheus/promtool not installed (scripts/bootstrap installs them)\n");
        skip();
    }
    srv s;
    memset(&s, 0, sizeof(s));
    s.home = omt_workspace("httpp", NULL);
    omt_conf_append(s.home, "auth", "pwhash_memlimit_kib", "8");
    /* /metrics is not public (the default): Prometheus scrapes with a viewer's API token */
    cli_user_add(&s, "prom", "viewer", "prometheus scraper 1");
    char *tok = NULL;
    assert_int_equal(omt_run(&tok, NULL, s.home, "user", "token", "create", "prom", NULL), 0);
    tok[strcspn(tok, "\r\n")] = 0;
    char *bearer = xasprintf("Authorization: Bearer %s", tok);
    const char *with_tok[] = {bearer, NULL}, *no_auth[] = {"X-No-Auth: 1", NULL};
    int port = harness_free_port(), pport = harness_free_port();
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(s.base, sizeof(s.base), "http://127.0.0.1:%d", port);
    char *log = xasprintf("%s/serve.log", s.home);
    const char *args[] = {"serve", "--listen", listen, NULL};
    s.pid = omt_spawn(s.home, log, NULL, args);
    free(log);
    resp r;
    for (int i = 0; i < 100; i++) {
        CURL *c = curl_easy_init();
        char *u = xasprintf("%s/metrics", s.base);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        free(u);
        if (rc == CURLE_OK)
            break;
        om_sleep_ms(100);
    }
    req(&r, &s, "GET", "/metrics", NULL, 0, no_auth);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    req(&r, &s, "GET", "/metrics", NULL, 0, with_tok);
    assert_int_equal(r.status, 200);
    char *mf = xasprintf("%s/metrics.txt", s.home);
    write_file(mf, sb_str(&r.body));
    resp_free(&r);
    char *cmd = xasprintf("promtool check metrics < %s > %s/promtool.out 2>&1", mf, s.home);
    int rc = system(cmd);
    if (rc != 0) {
        char *o = xasprintf("cat %s/promtool.out >&2", s.home);
        (void)!system(o);
        free(o);
    }
    assert_int_equal(rc, 0);
    free(cmd);
    free(mf);
    char *pdir = xasprintf("%s/prom", s.home);
    om_mkdirs(pdir, 0755);
    char *cfgp = xasprintf("%s/prometheus.yml", pdir);
    char *yml = xasprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                          "  - job_name: omniva\n"
                          "    authorization:\n      type: Bearer\n      credentials: '%s'\n"
                          "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
                          tok, port);
    write_file(cfgp, yml);
    free(yml);
    char *paddr = xasprintf("--web.listen-address=127.0.0.1:%d", pport);
    char *pcfg = xasprintf("--config.file=%s", cfgp);
    char *pdata = xasprintf("--storage.tsdb.path=%s/data", pdir);
    pid_t pp = fork();
    if (pp == 0) {
        char *plog = xasprintf("%s/prometheus.log", pdir);
        if (!freopen(plog, "w", stdout) || !freopen(plog, "a", stderr))
            _exit(127);
        execl("/usr/bin/prometheus", "prometheus", pcfg, pdata, paddr, (char *)NULL);
        _exit(127);
    }
    int found = 0;
    char *q = xasprintf("http://127.0.0.1:%d/api/v1/query?query=omniva_incidents_open", pport);
    for (int i = 0; i < 300 && !found; i++) {
        om_sleep_ms(100);
        CURL *c = curl_easy_init();
        om_sbuf b = OM_SBUF_INIT;
        curl_easy_setopt(c, CURLOPT_URL, q);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        if (curl_easy_perform(c) == CURLE_OK && omt_has(sb_str(&b), "\"__name__\":\"omniva_incidents_open\"") &&
            omt_has(sb_str(&b), "\"job\":\"omniva\""))
            found = 1;
        sb_release(&b);
        curl_easy_cleanup(c);
    }
    kill(pp, SIGTERM);
    omt_wait(pp, 10000);
    assert_true(found);
    free(q);
    free(paddr);
    free(pcfg);
    free(pdata);
    free(cfgp);
    free(pdir);
    free(bearer);
    free(tok);
    srv_stop(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_sqlite),
        cmocka_unit_test(test_postgres_redis),
        cmocka_unit_test(test_prometheus),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
