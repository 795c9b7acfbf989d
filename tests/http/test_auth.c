/*
 * test_auth.c: the dashboard's logins and roles (src/http/auth.c) on SQLite and on a
 * throw-away PostgreSQL (tests/harness): logins (one message for unknown user and wrong
 * password), the rate limit kicking in and expiring, idle timeout and absolute lifetime,
 * passwd ending sessions, rehash on changed parameters, API tokens, the one-time admin
 * set-up raced from two processes, CSRF, and on PostgreSQL that the read-only role cannot
 * read hashes. Then the `omniva user` commands black-box (password on stdin, exit codes).
 *
 * Usage: test_auth [sqlite|postgres|cli]   (no argument: all)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "http/auth.h"
#include "store/store.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        int rc_ = (expr);                                                                     \
        if (rc_ != OM_OK)                                                                     \
            fail_msg("%s -> %s: %s", #expr, om_error_name(rc_), om_error_msg());              \
    } while (0)

#define PW "correct horse battery"

typedef struct backend_ctx {
    const char *name;
    harness_pg pg;
    char *dir;
    int counter;
} backend_ctx;

static backend_ctx ctx_sqlite = {.name = "sqlite", .pg = {{0}, {0}, 0, 0}, .dir = NULL,
                                 .counter = 0};
static backend_ctx ctx_pg = {.name = "postgres", .pg = {{0}, {0}, 0, 0}, .dir = NULL,
                             .counter = 0};
static backend_ctx *cur;

typedef struct fx {
    char url[700];
    om_store *s;
} fx;

/* Cheap argon2id for tests (the setting allows it) and the given limits. */
static void configure(long per_user, long per_ip, long window, long idle, long max)
{
    om_config *cfg = om_config_new(NULL);
    char v[32];
    CHECK_OK(om_config_set(cfg, "auth", "pwhash_opslimit", "1"));
    CHECK_OK(om_config_set(cfg, "auth", "pwhash_memlimit_kib", "8"));
    snprintf(v, sizeof v, "%ld", per_user);
    CHECK_OK(om_config_set(cfg, "auth", "ratelimit_per_user", v));
    snprintf(v, sizeof v, "%ld", per_ip);
    CHECK_OK(om_config_set(cfg, "auth", "ratelimit_per_ip", v));
    snprintf(v, sizeof v, "%ld", window);
    CHECK_OK(om_config_set(cfg, "auth", "ratelimit_window_s", v));
    snprintf(v, sizeof v, "%ld", idle);
    CHECK_OK(om_config_set(cfg, "auth", "session_idle_s", v));
    snprintf(v, sizeof v, "%ld", max);
    CHECK_OK(om_config_set(cfg, "auth", "session_max_s", v));
    CHECK_OK(om_auth_configure(cfg));
    om_config_free(cfg);
}

static int group_setup_sqlite(void **state)
{
    (void)state;
    cur = &ctx_sqlite;
    cur->dir = harness_tmpdir("auth-sqlite");
    return 0;
}

static int group_setup_pg(void **state)
{
    (void)state;
    cur = &ctx_pg;
    cur->dir = harness_tmpdir("auth-pg");
    if (harness_pg_start(&ctx_pg.pg) != 0) {
        fprintf(stderr, "could not start a PostgreSQL server for the tests\n");
        return -1;
    }
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

static int setup(void **state)
{
    fx *f = xcalloc(1, sizeof *f);
    if (cur == &ctx_sqlite) {
        snprintf(f->url, sizeof f->url, "sqlite://%s/t%d.db", cur->dir, ++cur->counter);
    } else {
        om_store *s = NULL;
        CHECK_OK(om_store_open(&s, cur->pg.url));
        CHECK_OK(om_store_exec(s, "DROP SCHEMA IF EXISTS public CASCADE", NULL, 0, NULL));
        CHECK_OK(om_store_exec(s, "CREATE SCHEMA public", NULL, 0, NULL));
        om_store_free(s);
        snprintf(f->url, sizeof f->url, "%s", cur->pg.url);
    }
    CHECK_OK(om_store_open(&f->s, f->url));
    CHECK_OK(om_store_migrate(f->s, NULL));
    configure(100, 1000, 60, 3600, 86400);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    om_store_free(f->s);
    free(f);
    return 0;
}

static long count(om_store *s, const char *sql, const char *arg)
{
    char *v = NULL;
    int rc = arg ? om_store_query_value(s, sql, OM_PARAMS(OM_TEXT(arg)), &v)
                 : om_store_query_value(s, sql, NULL, 0, &v);
    if (rc)
        fail_msg("%s: %s", sql, om_error_msg());
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_roles_and_users(void **state)
{
    fx *f = *state;
    om_role r;
    assert_int_equal(om_role_parse("Operator", &r), OM_OK);
    assert_int_equal(r, OM_ROLE_OPERATOR);
    assert_int_equal(om_role_parse("root", &r), OM_EINVAL);
    assert_string_equal(om_role_name(OM_ROLE_ADMIN), "admin");

    long n = -1;
    CHECK_OK(om_auth_users_count(f->s, &n));
    assert_int_equal(n, 0);
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_ADMIN));
    CHECK_OK(om_auth_user_add(f->s, "bob", PW, OM_ROLE_VIEWER));
    assert_int_equal(om_auth_user_add(f->s, "bob", PW, OM_ROLE_VIEWER), OM_EEXISTS);
    assert_int_equal(om_auth_user_add(f->s, "carol", "short", OM_ROLE_VIEWER), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "too short"));
    assert_int_equal(om_auth_user_add(f->s, "carol", "", OM_ROLE_VIEWER), OM_EINVAL);
    assert_int_equal(om_auth_user_add(f->s, "bad name", PW, OM_ROLE_VIEWER), OM_EINVAL);
    CHECK_OK(om_auth_users_count(f->s, &n));
    assert_int_equal(n, 2);

    /* the stored hash is argon2id, not the password */
    char *h = NULL;
    CHECK_OK(om_store_query_value(f->s, "SELECT password_hash FROM users WHERE name = 'alice'",
                                  NULL, 0, &h));
    assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
    assert_null(strstr(h, PW));
    free(h);

    json_t *list = NULL;
    CHECK_OK(om_auth_user_list(f->s, &list));
    assert_int_equal(json_array_size(list), 2);
    json_t *a = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(a, "name")), "alice");
    assert_string_equal(json_string_value(json_object_get(a, "role")), "admin");
    assert_true(json_is_null(json_object_get(a, "last_login_at")));
    assert_null(json_object_get(a, "password_hash"));
    char *dump = json_dumps(list, 0);
    assert_null(strstr(dump, "argon2"));
    free(dump);
    json_decref(list);

    CHECK_OK(om_auth_user_set_role(f->s, "bob", OM_ROLE_OPERATOR));
    assert_int_equal(om_auth_user_remove(f->s, "nobody"), OM_ENOTFOUND);
    CHECK_OK(om_auth_user_remove(f->s, "bob"));
    CHECK_OK(om_auth_users_count(f->s, &n));
    assert_int_equal(n, 1);
}

static void test_login(void **state)
{
    fx *f = *state;
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_OPERATOR));
    char sid[65];
    om_principal who;
    CHECK_OK(om_auth_login(f->s, "alice", PW, "10.0.0.1", sid, &who));
    assert_int_equal(strlen(sid), 64);
    assert_string_equal(who.user, "alice");
    assert_int_equal(who.role, OM_ROLE_OPERATOR);
    assert_int_equal(who.via_token, 0);
    assert_int_equal(strlen(who.csrf), 64);
    assert_string_not_equal(who.csrf, sid);

    /* only a hash of the session id is stored */
    assert_int_equal(count(f->s, "SELECT count(*) FROM sessions WHERE session_hash = ?", sid), 0);
    assert_int_equal(count(f->s, "SELECT count(*) FROM sessions", NULL), 1);

    om_principal again;
    CHECK_OK(om_auth_session(f->s, sid, &again));
    assert_string_equal(again.user, "alice");
    assert_string_equal(again.csrf, who.csrf);

    /* wrong password and unknown user: same code, same words */
    char msg1[256], msg2[256], sid2[65];
    assert_int_equal(om_auth_login(f->s, "alice", "wrong password!", "10.0.0.1", sid2, &who),
                     OM_EPERMANENT);
    snprintf(msg1, sizeof msg1, "%s", om_error_msg());
    assert_int_equal(sid2[0], '\0');
    assert_int_equal(om_auth_login(f->s, "mallory", PW, "10.0.0.1", sid2, &who), OM_EPERMANENT);
    snprintf(msg2, sizeof msg2, "%s", om_error_msg());
    assert_string_equal(msg1, msg2);
    assert_null(strstr(msg1, "mallory"));
    assert_null(strstr(msg1, PW));

    json_t *list = NULL;
    CHECK_OK(om_auth_user_list(f->s, &list));
    assert_true(json_is_string(json_object_get(json_array_get(list, 0), "last_login_at")));
    json_decref(list);

    /* unknown / malformed cookies, logout */
    assert_int_equal(om_auth_session(f->s, "nothex", &who), OM_ENOTFOUND);
    char fake[65];
    memset(fake, 'a', 64);
    fake[64] = '\0';
    assert_int_equal(om_auth_session(f->s, fake, &who), OM_ENOTFOUND);
    CHECK_OK(om_auth_logout(f->s, sid));
    assert_int_equal(om_auth_session(f->s, sid, &who), OM_ENOTFOUND);
    CHECK_OK(om_auth_logout(f->s, sid)); /* twice is fine */
}

static void test_rate_limit(void **state)
{
    fx *f = *state;
    configure(3, 5, 2, 3600, 86400); /* 3 per user, 5 per IP, 2 s window */
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_VIEWER));
    char sid[65];
    om_principal who;
    for (int i = 0; i < 3; i++)
        assert_int_equal(om_auth_login(f->s, "alice", "bad password", "10.0.0.1", sid, &who),
                         OM_EPERMANENT);
    /* per user: even the right password from another IP waits */
    assert_int_equal(om_auth_login(f->s, "alice", PW, "10.9.9.9", sid, &who), OM_EBUSY);
    long wait = om_auth_retry_after();
    assert_true(wait >= 1 && wait <= 2);
    assert_non_null(strstr(om_error_msg(), "retry in"));
    om_sleep_ms(wait * 1000 + 100);
    CHECK_OK(om_auth_login(f->s, "alice", PW, "10.9.9.9", sid, &who)); /* expired */

    /* per IP: different user names from one address */
    configure(100, 5, 2, 3600, 86400);
    for (int i = 0; i < 5; i++) {
        char u[16];
        snprintf(u, sizeof u, "guess%d", i);
        assert_int_equal(om_auth_login(f->s, u, "x", "192.0.2.7", sid, &who), OM_EPERMANENT);
    }
    assert_int_equal(om_auth_login(f->s, "alice", PW, "192.0.2.7", sid, &who), OM_EBUSY);
    CHECK_OK(om_auth_login(f->s, "alice", PW, "192.0.2.8", sid, &who)); /* other IP */
    /* kept in the store: a second connection (another server instance) sees the limit */
    om_store *other = NULL;
    CHECK_OK(om_store_open(&other, f->url));
    assert_int_equal(om_auth_login(other, "alice", PW, "192.0.2.7", sid, &who), OM_EBUSY);
    om_store_free(other);
    om_sleep_ms(2100);
    CHECK_OK(om_auth_login(f->s, "alice", PW, "192.0.2.7", sid, &who));
}

static void test_idle_and_lifetime(void **state)
{
    fx *f = *state;
    configure(100, 1000, 60, 2, 86400); /* idle 2 s */
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_VIEWER));
    char sid[65];
    om_principal who;
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, sid, &who));
    for (int i = 0; i < 3; i++) { /* used every 1.2 s: stays open past the idle time */
        om_sleep_ms(1200);
        CHECK_OK(om_auth_session(f->s, sid, &who));
    }
    om_sleep_ms(2300);
    assert_int_equal(om_auth_session(f->s, sid, &who), OM_ENOTFOUND);
    assert_int_equal(count(f->s, "SELECT count(*) FROM sessions", NULL), 0);

    configure(100, 1000, 60, 3600, 2); /* absolute lifetime 2 s */
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, sid, &who));
    om_sleep_ms(1200);
    CHECK_OK(om_auth_session(f->s, sid, &who));
    om_sleep_ms(1200);
    assert_int_equal(om_auth_session(f->s, sid, &who), OM_ENOTFOUND);
}

static void test_passwd_ends_sessions(void **state)
{
    fx *f = *state;
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_ADMIN));
    CHECK_OK(om_auth_user_add(f->s, "bob", PW, OM_ROLE_VIEWER));
    char s1[65], s2[65], sb[65];
    om_principal who;
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, s1, &who));
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, s2, &who));
    CHECK_OK(om_auth_login(f->s, "bob", PW, NULL, sb, &who));
    assert_int_equal(om_auth_user_passwd(f->s, "alice", "tiny"), OM_EINVAL);
    CHECK_OK(om_auth_session(f->s, s1, &who)); /* a refused change ends nothing */
    CHECK_OK(om_auth_user_passwd(f->s, "alice", "a brand new passphrase"));
    assert_int_equal(om_auth_session(f->s, s1, &who), OM_ENOTFOUND);
    assert_int_equal(om_auth_session(f->s, s2, &who), OM_ENOTFOUND);
    CHECK_OK(om_auth_session(f->s, sb, &who)); /* bob's untouched */
    assert_int_equal(om_auth_login(f->s, "alice", PW, NULL, s1, &who), OM_EPERMANENT);
    CHECK_OK(om_auth_login(f->s, "alice", "a brand new passphrase", NULL, s1, &who));
    assert_int_equal(om_auth_user_passwd(f->s, "nobody", PW), OM_ENOTFOUND);
    /* removing a user ends their sessions too */
    CHECK_OK(om_auth_user_remove(f->s, "bob"));
    assert_int_equal(om_auth_session(f->s, sb, &who), OM_ENOTFOUND);
}

static void test_rehash(void **state)
{
    fx *f = *state;
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_VIEWER));
    char *before = NULL, *after = NULL;
    CHECK_OK(om_store_query_value(f->s, "SELECT password_hash FROM users", NULL, 0, &before));
    assert_non_null(strstr(before, "m=8,t=1"));
    om_config *cfg = om_config_new(NULL);
    CHECK_OK(om_config_set(cfg, "auth", "pwhash_opslimit", "2"));
    CHECK_OK(om_config_set(cfg, "auth", "pwhash_memlimit_kib", "16"));
    CHECK_OK(om_auth_configure(cfg));
    om_config_free(cfg);
    char sid[65];
    om_principal who;
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, sid, &who));
    CHECK_OK(om_store_query_value(f->s, "SELECT password_hash FROM users", NULL, 0, &after));
    assert_non_null(strstr(after, "m=16,t=2"));
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, sid, &who)); /* the new hash verifies */
    free(before);
    free(after);
}

static void test_tokens(void **state)
{
    fx *f = *state;
    CHECK_OK(om_auth_user_add(f->s, "bot", PW, OM_ROLE_OPERATOR));
    CHECK_OK(om_auth_user_add(f->s, "eve", PW, OM_ROLE_VIEWER));
    char *tok = NULL, *tok2 = NULL;
    assert_int_equal(om_auth_token_create(f->s, "nobody", NULL, &tok), OM_ENOTFOUND);
    CHECK_OK(om_auth_token_create(f->s, "bot", "ci", &tok));
    CHECK_OK(om_auth_token_create(f->s, "bot", NULL, &tok2));
    assert_int_equal(strncmp(tok, "omv_", 4), 0);
    assert_int_equal(strlen(tok), 68);
    assert_int_equal(count(f->s, "SELECT count(*) FROM api_tokens WHERE token_hash = ?", tok), 0);
    assert_int_equal(count(f->s, "SELECT count(*) FROM api_tokens WHERE token_hash = ?",
                           tok + 4), 0);

    om_principal who;
    CHECK_OK(om_auth_bearer(f->s, tok, &who));
    assert_string_equal(who.user, "bot");
    assert_int_equal(who.role, OM_ROLE_OPERATOR);
    assert_int_equal(who.via_token, 1);
    assert_true(om_auth_csrf_ok(&who, NULL)); /* tokens need no CSRF */
    assert_int_equal(om_auth_bearer(f->s, "omv_0000", &who), OM_ENOTFOUND);
    assert_int_equal(om_auth_bearer(f->s, tok + 4, &who), OM_ENOTFOUND);

    json_t *list = NULL;
    CHECK_OK(om_auth_token_list(f->s, "bot", &list));
    assert_int_equal(json_array_size(list), 2);
    char id[13];
    om_auth_token_id(tok, id);
    int seen = 0;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0) {
            seen = 1;
            assert_string_equal(json_string_value(json_object_get(t, "label")), "ci");
            assert_true(json_is_string(json_object_get(t, "last_used_at")));
        }
    }
    assert_true(seen);
    char *dump = json_dumps(list, 0);
    assert_null(strstr(dump, tok + 4));
    free(dump);
    json_decref(list);

    /* another user cannot revoke bot's token */
    assert_int_equal(om_auth_token_revoke(f->s, "eve", id), OM_ENOTFOUND);
    CHECK_OK(om_auth_bearer(f->s, tok, &who));
    CHECK_OK(om_auth_token_revoke(f->s, "bot", id));
    assert_int_equal(om_auth_bearer(f->s, tok, &who), OM_ENOTFOUND);
    assert_int_equal(om_auth_token_revoke(f->s, "bot", id), OM_ENOTFOUND);
    CHECK_OK(om_auth_bearer(f->s, tok2, &who)); /* the other still works */
    CHECK_OK(om_auth_token_list(f->s, "bot", &list));
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* a removed user's tokens die with them */
    CHECK_OK(om_auth_user_remove(f->s, "bot"));
    assert_int_equal(om_auth_bearer(f->s, tok2, &who), OM_ENOTFOUND);
    free(tok);
    free(tok2);
}

static void test_csrf(void **state)
{
    fx *f = *state;
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_ADMIN));
    char s1[65], s2[65];
    om_principal a, b;
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, s1, &a));
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, s2, &b));
    assert_string_not_equal(a.csrf, b.csrf);
    assert_true(om_auth_csrf_ok(&a, a.csrf));
    assert_false(om_auth_csrf_ok(&a, b.csrf));
    assert_false(om_auth_csrf_ok(&a, NULL));
    assert_false(om_auth_csrf_ok(&a, ""));
    char almost[65];
    memcpy(almost, a.csrf, 65);
    almost[63] = almost[63] == '0' ? '1' : '0';
    assert_false(om_auth_csrf_ok(&a, almost));
    almost[63] = a.csrf[63];
    almost[10] = '\0';
    assert_false(om_auth_csrf_ok(&a, almost)); /* a prefix is not enough */
    assert_false(om_auth_csrf_ok(NULL, a.csrf));
    assert_true(om_auth_allows(&a, OM_ROLE_ADMIN));
    om_principal v = a;
    v.role = OM_ROLE_VIEWER;
    assert_false(om_auth_allows(&v, OM_ROLE_OPERATOR));
    assert_true(om_auth_allows(&v, OM_ROLE_VIEWER));
}

static void test_setup_admin_race(void **state)
{
    fx *f = *state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            close(go[1]);
            om_store *s = NULL;
            if (om_store_open(&s, f->url) != OM_OK)
                _exit(3);
            char c;
            if (read(go[0], &c, 1) != 0) /* released when the parent closes the pipe */
                _exit(4);
            int rc = om_auth_setup_admin(s, k ? "second" : "first", PW);
            om_store_free(s);
            _exit(rc == OM_OK ? 0 : rc == OM_EEXISTS ? 1 : 5);
        }
    }
    close(go[0]);
    om_sleep_ms(200);
    close(go[1]);
    int ok = 0, refused = 0;
    for (int k = 0; k < 2; k++) {
        int st = 0;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) == 0)
            ok++;
        else if (WEXITSTATUS(st) == 1)
            refused++;
        else
            fail_msg("child exited %d", WEXITSTATUS(st));
    }
    assert_int_equal(ok, 1);
    assert_int_equal(refused, 1);
    assert_int_equal(count(f->s, "SELECT count(*) FROM users WHERE role = 'admin'", NULL), 1);
    assert_int_equal(om_auth_setup_admin(f->s, "third", PW), OM_EEXISTS);
    long n;
    CHECK_OK(om_auth_users_count(f->s, &n));
    assert_int_equal(n, 1);
}

/* PostgreSQL: the read-only role reads user names and roles, never a hash. */
static void test_pg_readonly_role(void **state)
{
    fx *f = *state;
    CHECK_OK(om_auth_user_add(f->s, "alice", PW, OM_ROLE_ADMIN));
    char sid[65];
    om_principal who;
    CHECK_OK(om_auth_login(f->s, "alice", PW, NULL, sid, &who));
    char *tok = NULL;
    CHECK_OK(om_auth_token_create(f->s, "alice", NULL, &tok));
    free(tok);
    if (count(f->s, "SELECT count(*) FROM pg_roles WHERE rolname = 'omniva_cognition_ro'",
              NULL) != 1)
        fail_msg("the read-only role was not created by the migrations");
    om_store *ro = NULL;
    CHECK_OK(om_store_open(&ro, f->url));
    CHECK_OK(om_store_exec(ro, "SET ROLE omniva_cognition_ro", NULL, 0, NULL));
    char *v = NULL;
    CHECK_OK(om_store_query_value(ro, "SELECT role FROM users WHERE name = 'alice'", NULL, 0,
                                  &v));
    assert_string_equal(v, "admin");
    free(v);
    static const char *const denied[] = {
        "SELECT password_hash FROM users", "SELECT * FROM users",
        "SELECT session_hash FROM sessions", "SELECT count(*) FROM sessions",
        "SELECT token_hash FROM api_tokens", "SELECT count(*) FROM login_attempts"};
    for (size_t i = 0; i < OM_ARRAY_LEN(denied); i++) {
        v = NULL;
        int rc = om_store_query_value(ro, denied[i], NULL, 0, &v);
        if (rc == OM_OK)
            fail_msg("the read-only role could run: %s (got %s)", denied[i], v ? v : "NULL");
        assert_non_null(strstr(om_error_msg(), "permission denied"));
        free(v);
    }
    om_store_free(ro);
}

/* ---- the CLI, black-box -------------------------------------------------------------- */

/* Runs `omniva --home HOME --log-format none args...` with `input` on stdin. */
static int run_cli(const char *home, const char *input, char **out, char **err,
                   const char *const *args)
{
    const char *bin = getenv("OMNIVA_BIN");
    if (!bin)
        fail_msg("OMNIVA_BIN is not set");
    char op[512], ep[512];
    snprintf(op, sizeof op, "%s/out.txt", home);
    snprintf(ep, sizeof ep, "%s/err.txt", home);
    int in[2];
    assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[32];
        int n = 0;
        argv[n++] = bin;
        argv[n++] = "--home";
        argv[n++] = home;
        argv[n++] = "--log-format";
        argv[n++] = "none";
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in[0], 0);
        dup2(fo, 1);
        dup2(fe, 2);
        close(in[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    if (input && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
        fail_msg("writing stdin");
    close(in[1]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    *out = NULL;
    *err = NULL;
    if (om_read_file(op, 0, out, NULL) != OM_OK)
        *out = xstrdup("");
    if (om_read_file(ep, 0, err, NULL) != OM_OK)
        *err = xstrdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define CLI(home, input, ...) run_cli((home), (input), &out, &err, (const char *const[]){__VA_ARGS__, NULL})
#define RESET() (free(out), free(err), out = err = NULL)

static void test_cli_user(void **state)
{
    (void)state;
    char *home = harness_tmpdir("auth-cli");
    char *out = NULL, *err = NULL;
    assert_int_equal(CLI(home, NULL, "init"), 0);
    RESET();
    char conf[600];
    snprintf(conf, sizeof conf, "%s/omniva.conf", home);
    FILE *fp = fopen(conf, "a");
    assert_non_null(fp);
    fprintf(fp, "\n[auth]\npwhash_opslimit = 1\npwhash_memlimit_kib = 8\n");
    fclose(fp);

    assert_int_equal(CLI(home, PW "\n", "user", "add", "alice", "--role", "admin"), 0);
    assert_non_null(strstr(out, "alice"));
    RESET();
    /* usage: bad role, missing role, bad name -> 2 */
    assert_int_equal(CLI(home, PW "\n", "user", "add", "bob", "--role", "king"), 2);
    assert_non_null(strstr(err, "king"));
    RESET();
    assert_int_equal(CLI(home, PW "\n", "user", "add", "bob"), 2);
    assert_non_null(strstr(err, "--role"));
    RESET();
    assert_int_equal(CLI(home, PW "\n", "user", "add", "bad/name", "--role", "viewer"), 2);
    RESET();
    /* failure: short, empty or no password, existing user -> 1 */
    assert_int_equal(CLI(home, "short\n", "user", "add", "bob", "--role", "viewer"), 1);
    assert_non_null(strstr(err, "too short"));
    assert_null(strstr(err, "short\n")); /* the password is not echoed back */
    RESET();
    assert_int_equal(CLI(home, "\n", "user", "add", "bob", "--role", "viewer"), 1);
    assert_non_null(strstr(err, "empty password"));
    RESET();
    assert_int_equal(CLI(home, "", "user", "add", "bob", "--role", "viewer"), 1);
    RESET();
    assert_int_equal(CLI(home, PW "\n", "user", "add", "alice", "--role", "viewer"), 1);
    assert_non_null(strstr(err, "already exists"));
    RESET();
    assert_int_equal(CLI(home, "viewer password\r\n", "user", "add", "bob", "--role", "VIEWER"),
                     0);
    RESET();

    assert_int_equal(CLI(home, NULL, "user", "list"), 0);
    assert_non_null(strstr(out, "alice"));
    assert_non_null(strstr(out, "viewer"));
    assert_null(strstr(out, "argon2"));
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "list", "--json"), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 2);
    assert_null(strstr(out, "argon2"));
    assert_null(strstr(out, "password"));
    json_decref(j);
    RESET();

    /* the password given on stdin works (checked through the library on the same db) */
    om_config *cfg = NULL;
    CHECK_OK(om_config_load(&cfg, home));
    om_store *s = NULL;
    CHECK_OK(om_store_open(&s, om_config_store_url(cfg)));
    CHECK_OK(om_auth_configure(cfg));
    char sid[65];
    om_principal who;
    CHECK_OK(om_auth_login(s, "bob", "viewer password", NULL, sid, &who)); /* \r stripped */
    assert_int_equal(who.role, OM_ROLE_VIEWER);

    assert_int_equal(CLI(home, "another long one\n", "user", "passwd", "bob"), 0);
    RESET();
    assert_int_equal(om_auth_session(s, sid, &who), OM_ENOTFOUND);
    CHECK_OK(om_auth_login(s, "bob", "another long one", NULL, sid, &who));
    assert_int_equal(CLI(home, "another long one\n", "user", "passwd", "nobody"), 1);
    RESET();

    /* tokens */
    assert_int_equal(CLI(home, NULL, "user", "token", "create", "alice", "--label", "ci"), 0);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", out);
    tok[strcspn(tok, "\n")] = '\0';
    assert_int_equal(strlen(tok), 68);
    char id[13];
    om_auth_token_id(tok, id);
    assert_non_null(strstr(err, id));
    RESET();
    CHECK_OK(om_auth_bearer(s, tok, &who));
    assert_int_equal(CLI(home, NULL, "user", "token", "list", "alice"), 0);
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "ci"));
    assert_null(strstr(out, tok + 4));
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "token", "revoke", "alice", "000000000000"), 1);
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "token", "revoke", "alice", id), 0);
    RESET();
    assert_int_equal(om_auth_bearer(s, tok, &who), OM_ENOTFOUND);
    assert_int_equal(CLI(home, NULL, "user", "token", "create", "nobody"), 1);
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "token", "revoke", "alice"), 2);
    RESET();

    assert_int_equal(CLI(home, NULL, "user", "remove", "bob"), 0);
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "remove", "bob"), 1);
    assert_non_null(strstr(err, "not found"));
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "remove"), 2);
    RESET();
    assert_int_equal(CLI(home, NULL, "user", "list", "--json"), 0);
    j = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    RESET();

    om_store_free(s);
    om_config_free(cfg);
    om_rmtree(home);
    free(home);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int failed = 0;
    const struct CMUnitTest common[] = {
        T(test_roles_and_users), T(test_login), T(test_rate_limit),
        T(test_idle_and_lifetime), T(test_passwd_ends_sessions), T(test_rehash),
        T(test_tokens), T(test_csrf), T(test_setup_admin_race),
    };
    if (!only || strcmp(only, "sqlite") == 0)
        failed += cmocka_run_group_tests_name("auth/sqlite", common, group_setup_sqlite,
                                              group_teardown);
    if (!only || strcmp(only, "postgres") == 0) {
        const struct CMUnitTest pg[] = {
            T(test_roles_and_users), T(test_login), T(test_rate_limit),
            T(test_idle_and_lifetime), T(test_passwd_ends_sessions), T(test_rehash),
            T(test_tokens), T(test_csrf), T(test_setup_admin_race), T(test_pg_readonly_role),
        };
        failed += cmocka_run_group_tests_name("auth/postgres", pg, group_setup_pg,
                                              group_teardown);
    }
    if (!only || strcmp(only, "cli") == 0) {
        const struct CMUnitTest cli[] = {cmocka_unit_test(test_cli_user)};
        failed += cmocka_run_group_tests_name("auth/cli", cli, NULL, NULL);
    }
    return failed ? 1 : 0;
}
