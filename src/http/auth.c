/*
 * auth.c: users, argon2id passwords, sessions, API tokens, CSRF and the login rate limit of
 * the dashboard (see auth.h). Secrets (session ids, tokens) are 32 random bytes in hex; the
 * store keeps only their BLAKE2b-256 hash. Times are computed here (microseconds, canonical
 * text) and passed to SQL, so both backends compare the same values.
 */
#include "base/common.h"
#include "base/utf8.h"
#include "http/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <strings.h>

#define SECRET_BYTES 32
#define HASH_HEX 64
#define TOKEN_PREFIX "omv_"
#define TOKEN_ID_LEN 12
#define BAD_LOGIN "invalid user name or password"

static struct {
    unsigned long long opslimit;
    size_t memlimit;
    long min_password, idle_s, max_s, window_s, per_ip, per_user;
} cfg;
static int configured;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int sodium_ok;
static char dummy_hash[crypto_pwhash_STRBYTES];
static _Thread_local long retry_after;

static void read_settings(const om_config *c)
{
    cfg.opslimit = (unsigned long long)om_config_long(c, "auth.pwhash_opslimit");
    cfg.memlimit = (size_t)om_config_long(c, "auth.pwhash_memlimit_kib") * 1024u;
    cfg.min_password = om_config_long(c, "auth.min_password");
    cfg.idle_s = om_config_long(c, "auth.session_idle_s");
    cfg.max_s = om_config_long(c, "auth.session_max_s");
    cfg.window_s = om_config_long(c, "auth.ratelimit_window_s");
    cfg.per_ip = om_config_long(c, "auth.ratelimit_per_ip");
    cfg.per_user = om_config_long(c, "auth.ratelimit_per_user");
}

static void init_once_fn(void)
{
    sodium_ok = sodium_init() >= 0;
    if (!configured)
        read_settings(NULL);
}

static int ready(void)
{
    pthread_once(&init_once, init_once_fn);
    if (!sodium_ok)
        return om_error_set(OM_ERROR, "libsodium failed to initialise");
    return OM_OK;
}

int om_auth_configure(const om_config *c)
{
    read_settings(c);
    configured = 1;
    dummy_hash[0] = '\0'; /* parameters may have changed */
    return ready();
}

/* ---- small helpers ------------------------------------------------------------------ */

int om_role_parse(const char *s, om_role *out)
{
    static const char *const names[] = {"viewer", "operator", "admin"};
    for (int i = 0; s && i < 3; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (om_role)(i + 1);
            return OM_OK;
        }
    }
    return om_error_set(OM_EINVAL, "unknown role '%s': expected admin, operator or viewer",
                        s ? s : "");
}

const char *om_role_name(om_role r)
{
    switch (r) {
    case OM_ROLE_VIEWER: return "viewer";
    case OM_ROLE_OPERATOR: return "operator";
    case OM_ROLE_ADMIN: return "admin";
    }
    return "?";
}

static int check_name(const char *user)
{
    size_t n = user ? strlen(user) : 0;
    if (n == 0 || n > 63)
        return om_error_set(OM_EINVAL, "user name must be 1 to 63 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)user[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '@' && ch != '-')
            return om_error_set(OM_EINVAL,
                                "user name '%s': only letters, digits and . _ @ - are allowed",
                                user);
    }
    return OM_OK;
}

static int check_password(const char *pw)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n == 0)
        return om_error_set(OM_EINVAL, "empty password");
    if ((long)n < cfg.min_password)
        return om_error_set(OM_EINVAL, "password too short: at least %ld characters",
                            cfg.min_password);
    if (n > 4096)
        return om_error_set(OM_EINVAL, "password too long: at most 4096 characters");
    return OM_OK;
}

static int hash_password(const char *pw, char out[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str(out, pw, strlen(pw), cfg.opslimit, cfg.memlimit) != 0)
        return om_error_set(OM_ERROR, "hashing the password failed (out of memory?)");
    return OM_OK;
}

/* BLAKE2b-256 of a secret as 64 hex characters. */
static void secret_hash(const char *secret, char out[HASH_HEX + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, strlen(secret), NULL, 0);
    sodium_bin2hex(out, HASH_HEX + 1, h, sizeof h);
}

static void new_secret(char out[HASH_HEX + 1])
{
    unsigned char b[SECRET_BYTES];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, HASH_HEX + 1, b, sizeof b);
    sodium_memzero(b, sizeof b);
}

/* The CSRF token of a session: a keyed hash of the session id (nothing extra to store). */
static void csrf_of(const char *session, char out[HASH_HEX + 1])
{
    static const unsigned char key[32] = "omniva dashboard csrf token v1..";
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)session, strlen(session), key,
                       sizeof key);
    sodium_bin2hex(out, HASH_HEX + 1, h, sizeof h);
}

static int is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return 1;
}

static void fill_who(om_principal *who, const char *user, const char *role)
{
    memset(who, 0, sizeof *who);
    snprintf(who->user, sizeof who->user, "%s", user);
    om_role r = OM_ROLE_VIEWER;
    if (om_role_parse(role, &r) != OM_OK)
        om_error_clear();
    who->role = r;
}

static int ts_age_s(const char *ts, int64_t now_us, int64_t *age_s)
{
    int64_t us;
    if (!ts || om_time_parse(ts, &us) != OM_OK)
        return om_error_set(OM_ERROR, "bad timestamp '%s' in the store", ts ? ts : "NULL");
    *age_s = (now_us - us) / 1000000;
    return OM_OK;
}

static json_t *jtext(const char *s)
{
    return s ? om_json_text(s) : json_null();
}

/* ---- users -------------------------------------------------------------------------- */

int om_auth_users_count(om_store *st, long *n)
{
    char *v = NULL;
    int rc = om_store_query_value(st, "SELECT count(*) FROM users", NULL, 0, &v);
    if (rc < 0)
        return om_error_wrap(rc, "counting users");
    *n = strtol(v, NULL, 10);
    free(v);
    return OM_OK;
}

int om_auth_user_add(om_store *st, const char *user, const char *password, om_role role)
{
    int rc;
    char h[crypto_pwhash_STRBYTES];
    if ((rc = ready()) < 0 || (rc = check_name(user)) < 0 || (rc = check_password(password)) < 0)
        return rc;
    if (role < OM_ROLE_VIEWER || role > OM_ROLE_ADMIN)
        return om_error_set(OM_EINVAL, "unknown role %d", (int)role);
    if ((rc = hash_password(password, h)) < 0)
        return rc;
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    rc = om_store_exec(st,
                       "INSERT INTO users (name, role, password_hash, created_at, "
                       "password_changed_at) VALUES (?, ?, ?, ?, ?)",
                       OM_PARAMS(OM_TEXT(user), OM_TEXT(om_role_name(role)), OM_TEXT(h),
                                 OM_TEXT(now), OM_TEXT(now)),
                       NULL);
    sodium_memzero(h, sizeof h);
    if (rc == OM_EEXISTS)
        return om_error_set(OM_EEXISTS, "user '%s' already exists", user);
    if (rc < 0)
        return om_error_wrap(rc, "adding user '%s'", user);
    return OM_OK;
}

int om_auth_user_remove(om_store *st, const char *user)
{
    int64_t n = 0;
    int rc = om_store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = om_store_exec(st, "DELETE FROM sessions WHERE user_name = ?",
                            OM_PARAMS(OM_TEXT(user)), NULL)) < 0 ||
        (rc = om_store_exec(st, "DELETE FROM api_tokens WHERE user_name = ?",
                            OM_PARAMS(OM_TEXT(user)), NULL)) < 0 ||
        (rc = om_store_exec(st, "DELETE FROM users WHERE name = ?", OM_PARAMS(OM_TEXT(user)),
                            &n)) < 0) {
        om_store_rollback(st);
        return om_error_wrap(rc, "removing user '%s'", user);
    }
    if (n == 0) {
        om_store_rollback(st);
        return om_error_set(OM_ENOTFOUND, "user '%s' not found", user);
    }
    return om_store_commit(st);
}

int om_auth_user_passwd(om_store *st, const char *user, const char *password)
{
    int rc;
    char h[crypto_pwhash_STRBYTES];
    if ((rc = ready()) < 0 || (rc = check_password(password)) < 0)
        return rc;
    if ((rc = hash_password(password, h)) < 0)
        return rc;
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    int64_t n = 0;
    if ((rc = om_store_begin(st)) < 0)
        return rc;
    rc = om_store_exec(st,
                       "UPDATE users SET password_hash = ?, password_changed_at = ? "
                       "WHERE name = ?",
                       OM_PARAMS(OM_TEXT(h), OM_TEXT(now), OM_TEXT(user)), &n);
    sodium_memzero(h, sizeof h);
    if (rc == OM_OK && n == 0)
        rc = om_error_set(OM_ENOTFOUND, "user '%s' not found", user);
    else if (rc == OM_OK)
        rc = om_store_exec(st, "DELETE FROM sessions WHERE user_name = ?",
                           OM_PARAMS(OM_TEXT(user)), NULL);
    if (rc < 0) {
        om_store_rollback(st);
        return rc == OM_ENOTFOUND ? rc : om_error_wrap(rc, "changing the password of '%s'", user);
    }
    return om_store_commit(st);
}

int om_auth_user_set_role(om_store *st, const char *user, om_role role)
{
    int64_t n = 0;
    if (role < OM_ROLE_VIEWER || role > OM_ROLE_ADMIN)
        return om_error_set(OM_EINVAL, "unknown role %d", (int)role);
    int rc = om_store_exec(st, "UPDATE users SET role = ? WHERE name = ?",
                           OM_PARAMS(OM_TEXT(om_role_name(role)), OM_TEXT(user)), &n);
    if (rc < 0)
        return om_error_wrap(rc, "changing the role of '%s'", user);
    if (n == 0)
        return om_error_set(OM_ENOTFOUND, "user '%s' not found", user);
    return OM_OK;
}

int om_auth_user_list(om_store *st, json_t **out)
{
    om_rows *r = NULL;
    int rc = om_store_query(st,
                            "SELECT name, role, created_at, last_login_at FROM users "
                            "ORDER BY name",
                            NULL, 0, &r);
    if (rc < 0)
        return om_error_wrap(rc, "listing users");
    json_t *a = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++)
        json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o}", "name",
                                           jtext(om_rows_get(r, i, 0)), "role",
                                           jtext(om_rows_get(r, i, 1)), "created_at",
                                           jtext(om_rows_get(r, i, 2)), "last_login_at",
                                           jtext(om_rows_get(r, i, 3))));
    om_rows_free(r);
    *out = a;
    return OM_OK;
}

/* ---- logins ------------------------------------------------------------------------- */

long om_auth_retry_after(void)
{
    return retry_after;
}

/* Failed attempts on `col` = val since cutoff; when at the limit, *wait_s gets the seconds
 * until the oldest of them leaves the window. */
static int over_limit(om_store *st, const char *col_sql, const char *val, const char *cutoff,
                      long limit, int64_t now_us, long *wait_s)
{
    om_rows *r = NULL;
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) AS n, min(at) AS oldest FROM login_attempts WHERE %s = ? "
             "AND at > ?",
             col_sql);
    int rc = om_store_query(st, sql, OM_PARAMS(OM_TEXT(val), OM_TEXT(cutoff)), &r);
    if (rc < 0)
        return om_error_wrap(rc, "reading login attempts");
    *wait_s = 0;
    if (om_rows_int(r, 0, "n", 0) >= limit) {
        int64_t oldest;
        const char *t = om_rows_getn(r, 0, "oldest");
        if (t && om_time_parse(t, &oldest) == OM_OK) {
            int64_t left_us = oldest + (int64_t)cfg.window_s * 1000000 - now_us;
            *wait_s = (long)((left_us + 999999) / 1000000);
        }
        if (*wait_s < 1)
            *wait_s = 1;
    }
    om_rows_free(r);
    return OM_OK;
}

static int record_failure(om_store *st, const char *user, const char *ip, const char *now)
{
    char u[64];
    snprintf(u, sizeof u, "%s", user ? user : "");
    int rc = om_store_exec(st, "INSERT INTO login_attempts (ip, user_name, at) VALUES (?, ?, ?)",
                           OM_PARAMS(OM_TEXT(ip), OM_TEXT(u), OM_TEXT(now)), NULL);
    if (rc < 0)
        return om_error_wrap(rc, "recording a failed login");
    return om_error_set(OM_EPERMANENT, BAD_LOGIN);
}

static const char *dummy(void)
{
    if (!dummy_hash[0] && hash_password("omniva-no-such-user", dummy_hash) < 0)
        return NULL;
    return dummy_hash;
}

static int open_session(om_store *st, const char *user, const char *ip, const char *now,
                        char session_out[65])
{
    char h[HASH_HEX + 1];
    new_secret(session_out);
    secret_hash(session_out, h);
    int rc = om_store_exec(st,
                           "INSERT INTO sessions (session_hash, user_name, ip, created_at, "
                           "last_seen_at) VALUES (?, ?, ?, ?, ?)",
                           OM_PARAMS(OM_TEXT(h), OM_TEXT(user), OM_TEXT(ip), OM_TEXT(now),
                                     OM_TEXT(now)),
                           NULL);
    if (rc < 0)
        return om_error_wrap(rc, "opening a session");
    return OM_OK;
}

int om_auth_login(om_store *st, const char *user, const char *password, const char *ip,
                  char session_out[65], om_principal *who)
{
    int rc;
    retry_after = 0;
    session_out[0] = '\0';
    if ((rc = ready()) < 0)
        return rc;
    if (!ip)
        ip = "";
    if (!user)
        user = "";
    if (!password)
        password = "";
    int64_t now_us = om_now_us();
    char now[OM_TIME_LEN], cutoff[OM_TIME_LEN];
    om_time_iso(now, now_us);
    om_time_iso(cutoff, now_us - (int64_t)cfg.window_s * 1000000);

    long w_ip = 0, w_user = 0;
    if ((rc = over_limit(st, "ip", ip, cutoff, cfg.per_ip, now_us, &w_ip)) < 0 ||
        (rc = over_limit(st, "user_name", user, cutoff, cfg.per_user, now_us, &w_user)) < 0)
        return rc;
    if (w_ip || w_user) {
        retry_after = w_ip > w_user ? w_ip : w_user;
        return om_error_set(OM_EBUSY, "too many failed logins; retry in %ld s", retry_after);
    }

    om_rows *r = NULL;
    rc = om_store_query(st, "SELECT password_hash, role FROM users WHERE name = ?",
                        OM_PARAMS(OM_TEXT(user)), &r);
    if (rc < 0)
        return om_error_wrap(rc, "logging in");
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        const char *d = dummy(); /* the same work as a wrong password */
        if (d && crypto_pwhash_str_verify(d, password, strlen(password)) == 0)
            om_debug("auth", "the dummy hash matched"); /* never: it only costs time */
        return record_failure(st, user, ip, now);
    }
    char *hash = xstrdup(om_rows_get(r, 0, 0));
    char *role = xstrdup(om_rows_get(r, 0, 1));
    om_rows_free(r);
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0) {
        free(hash);
        free(role);
        return record_failure(st, user, ip, now);
    }
    int rehash = crypto_pwhash_str_needs_rehash(hash, cfg.opslimit, cfg.memlimit) != 0;
    free(hash);

    char newhash[crypto_pwhash_STRBYTES];
    if (rehash && hash_password(password, newhash) < 0)
        rehash = 0; /* keep the old hash; the login itself is fine */
    if ((rc = om_store_begin(st)) < 0)
        goto out;
    if (rehash &&
        (rc = om_store_exec(st, "UPDATE users SET password_hash = ? WHERE name = ?",
                            OM_PARAMS(OM_TEXT(newhash), OM_TEXT(user)), NULL)) < 0)
        goto fail;
    if ((rc = open_session(st, user, ip, now, session_out)) < 0 ||
        (rc = om_store_exec(st, "UPDATE users SET last_login_at = ? WHERE name = ?",
                            OM_PARAMS(OM_TEXT(now), OM_TEXT(user)), NULL)) < 0 ||
        (rc = om_store_exec(st,
                            "DELETE FROM login_attempts WHERE user_name = ? OR at <= ?",
                            OM_PARAMS(OM_TEXT(user), OM_TEXT(cutoff)), NULL)) < 0)
        goto fail;
    if ((rc = om_store_commit(st)) < 0)
        goto fail;
    fill_who(who, user, role);
    csrf_of(session_out, who->csrf);
    goto out;
fail:
    om_store_rollback(st);
    session_out[0] = '\0';
out:
    sodium_memzero(newhash, sizeof newhash);
    free(role);
    return rc;
}

int om_auth_session(om_store *st, const char *cookie, om_principal *who)
{
    int rc;
    if ((rc = ready()) < 0)
        return rc;
    if (!is_hex(cookie, HASH_HEX))
        return om_error_set(OM_ENOTFOUND, "no such session");
    char h[HASH_HEX + 1];
    secret_hash(cookie, h);
    om_rows *r = NULL;
    rc = om_store_query(st,
                        "SELECT s.session_hash, s.user_name, u.role, s.created_at, "
                        "s.last_seen_at FROM sessions s JOIN users u ON u.name = s.user_name "
                        "WHERE s.session_hash = ?",
                        OM_PARAMS(OM_TEXT(h)), &r);
    if (rc < 0)
        return om_error_wrap(rc, "reading the session");
    if (om_rows_count(r) == 0 || sodium_memcmp(om_rows_get(r, 0, 0), h, HASH_HEX) != 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "no such session");
    }
    int64_t now_us = om_now_us(), age = 0, idle = 0;
    if ((rc = ts_age_s(om_rows_get(r, 0, 3), now_us, &age)) < 0 ||
        (rc = ts_age_s(om_rows_get(r, 0, 4), now_us, &idle)) < 0) {
        om_rows_free(r);
        return rc;
    }
    if (age >= cfg.max_s || idle >= cfg.idle_s) {
        om_rows_free(r);
        (void)om_store_exec(st, "DELETE FROM sessions WHERE session_hash = ?",
                            OM_PARAMS(OM_TEXT(h)), NULL);
        return om_error_set(OM_ENOTFOUND, "session expired");
    }
    fill_who(who, om_rows_get(r, 0, 1), om_rows_get(r, 0, 2));
    om_rows_free(r);
    csrf_of(cookie, who->csrf);
    /* touched at most every tenth of the idle timeout (a minute at most): a write per
     * request would serialise every reader on SQLite's write lock */
    int64_t touch_s = cfg.idle_s / 10 < 60 ? cfg.idle_s / 10 : 60;
    if (idle < touch_s)
        return OM_OK;
    char now[OM_TIME_LEN];
    om_time_iso(now, now_us);
    rc = om_store_exec(st, "UPDATE sessions SET last_seen_at = ? WHERE session_hash = ?",
                       OM_PARAMS(OM_TEXT(now), OM_TEXT(h)), NULL);
    if (rc < 0)
        return om_error_wrap(rc, "touching the session");
    return OM_OK;
}

int om_auth_logout(om_store *st, const char *cookie)
{
    if (!is_hex(cookie, HASH_HEX))
        return OM_OK;
    char h[HASH_HEX + 1];
    secret_hash(cookie, h);
    int rc = om_store_exec(st, "DELETE FROM sessions WHERE session_hash = ?",
                           OM_PARAMS(OM_TEXT(h)), NULL);
    return rc < 0 ? om_error_wrap(rc, "logging out") : OM_OK;
}

/* ---- API tokens --------------------------------------------------------------------- */

static int user_exists(om_store *st, const char *user)
{
    char *v = NULL;
    int rc = om_store_query_value(st, "SELECT name FROM users WHERE name = ?",
                                  OM_PARAMS(OM_TEXT(user ? user : "")), &v);
    free(v);
    if (rc == OM_ENOTFOUND)
        return om_error_set(OM_ENOTFOUND, "user '%s' not found", user ? user : "");
    return rc < 0 ? om_error_wrap(rc, "looking up user '%s'", user) : OM_OK;
}

int om_auth_token_create(om_store *st, const char *user, const char *label, char **token_out)
{
    int rc;
    *token_out = NULL;
    if ((rc = ready()) < 0 || (rc = user_exists(st, user)) < 0)
        return rc;
    if (label && strlen(label) > 200)
        return om_error_set(OM_EINVAL, "token label too long: at most 200 characters");
    char secret[HASH_HEX + 1], h[HASH_HEX + 1], id[TOKEN_ID_LEN + 1], now[OM_TIME_LEN];
    new_secret(secret);
    char *token = xasprintf(TOKEN_PREFIX "%s", secret);
    sodium_memzero(secret, sizeof secret);
    secret_hash(token, h);
    om_auth_token_id(token, id);
    om_time_iso(now, om_now_us());
    rc = om_store_exec(st,
                       "INSERT INTO api_tokens (token_id, token_hash, user_name, label, "
                       "created_at) VALUES (?, ?, ?, ?, ?)",
                       OM_PARAMS(OM_TEXT(id), OM_TEXT(h), OM_TEXT(user),
                                 label ? OM_TEXT(label) : OM_NULL, OM_TEXT(now)),
                       NULL);
    if (rc < 0) {
        sodium_memzero(token, strlen(token));
        free(token);
        return om_error_wrap(rc, "creating a token for '%s'", user);
    }
    *token_out = token;
    return OM_OK;
}

void om_auth_token_id(const char *token, char out[13])
{
    char h[HASH_HEX + 1];
    secret_hash(token ? token : "", h);
    memcpy(out, h, TOKEN_ID_LEN);
    out[TOKEN_ID_LEN] = '\0';
}

int om_auth_token_revoke(om_store *st, const char *user, const char *token_id)
{
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    int64_t n = 0;
    int rc = om_store_exec(st,
                           "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND "
                           "user_name = ? AND revoked_at IS NULL",
                           OM_PARAMS(OM_TEXT(now), OM_TEXT(token_id ? token_id : ""),
                                     OM_TEXT(user ? user : "")),
                           &n);
    if (rc < 0)
        return om_error_wrap(rc, "revoking token %s", token_id);
    if (n == 0)
        return om_error_set(OM_ENOTFOUND, "token %s of user '%s' not found",
                            token_id ? token_id : "", user ? user : "");
    return OM_OK;
}

int om_auth_token_list(om_store *st, const char *user, json_t **out)
{
    int rc = user_exists(st, user);
    if (rc < 0)
        return rc;
    om_rows *r = NULL;
    rc = om_store_query(st,
                        "SELECT token_id, label, created_at, last_used_at FROM api_tokens "
                        "WHERE user_name = ? AND revoked_at IS NULL ORDER BY created_at, "
                        "token_id",
                        OM_PARAMS(OM_TEXT(user)), &r);
    if (rc < 0)
        return om_error_wrap(rc, "listing the tokens of '%s'", user);
    json_t *a = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++)
        json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o}", "id",
                                           jtext(om_rows_get(r, i, 0)), "label",
                                           jtext(om_rows_get(r, i, 1)), "created_at",
                                           jtext(om_rows_get(r, i, 2)), "last_used_at",
                                           jtext(om_rows_get(r, i, 3))));
    om_rows_free(r);
    *out = a;
    return OM_OK;
}

int om_auth_bearer(om_store *st, const char *token, om_principal *who)
{
    int rc;
    if ((rc = ready()) < 0)
        return rc;
    size_t plen = strlen(TOKEN_PREFIX);
    if (!token || strncmp(token, TOKEN_PREFIX, plen) != 0 || !is_hex(token + plen, HASH_HEX))
        return om_error_set(OM_ENOTFOUND, "unknown or revoked API token");
    char h[HASH_HEX + 1];
    secret_hash(token, h);
    om_rows *r = NULL;
    rc = om_store_query(st,
                        "SELECT t.token_hash, t.user_name, u.role, t.last_used_at FROM "
                        "api_tokens t JOIN "
                        "users u ON u.name = t.user_name WHERE t.token_hash = ? AND "
                        "t.revoked_at IS NULL",
                        OM_PARAMS(OM_TEXT(h)), &r);
    if (rc < 0)
        return om_error_wrap(rc, "reading the API token");
    if (om_rows_count(r) == 0 || sodium_memcmp(om_rows_get(r, 0, 0), h, HASH_HEX) != 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "unknown or revoked API token");
    }
    fill_who(who, om_rows_get(r, 0, 1), om_rows_get(r, 0, 2));
    int64_t used_ago = -1;
    if (om_rows_get(r, 0, 3) && ts_age_s(om_rows_get(r, 0, 3), om_now_us(), &used_ago) < 0)
        used_ago = -1;
    om_rows_free(r);
    who->via_token = 1;
    if (used_ago >= 0 && used_ago < 60) /* last_used_at is kept to the minute */
        return OM_OK;
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    rc = om_store_exec(st, "UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?",
                       OM_PARAMS(OM_TEXT(now), OM_TEXT(h)), NULL);
    return rc < 0 ? om_error_wrap(rc, "touching the API token") : OM_OK;
}

/* ---- first admin, CSRF, roles ------------------------------------------------------- */

int om_auth_setup_admin(om_store *st, const char *user, const char *password)
{
    int rc;
    char h[crypto_pwhash_STRBYTES];
    if ((rc = ready()) < 0 || (rc = check_name(user)) < 0 || (rc = check_password(password)) < 0)
        return rc;
    if ((rc = hash_password(password, h)) < 0)
        return rc;
    char now[OM_TIME_LEN];
    om_time_iso(now, om_now_us());
    long n = 0;
    if ((rc = om_store_begin(st)) < 0)
        goto out;
    if ((rc = om_store_lock(st, "omniva.auth.setup_admin")) < 0 ||
        (rc = om_auth_users_count(st, &n)) < 0)
        goto fail;
    if (n > 0) {
        rc = om_error_set(OM_EEXISTS, "set-up is done: a user already exists");
        goto fail;
    }
    rc = om_store_exec(st,
                       "INSERT INTO users (name, role, password_hash, created_at, "
                       "password_changed_at) VALUES (?, 'admin', ?, ?, ?)",
                       OM_PARAMS(OM_TEXT(user), OM_TEXT(h), OM_TEXT(now), OM_TEXT(now)), NULL);
    if (rc == OM_EEXISTS)
        rc = om_error_set(OM_EEXISTS, "set-up is done: a user already exists");
    if (rc < 0)
        goto fail;
    rc = om_store_commit(st);
    if (rc == OM_EEXISTS)
        rc = om_error_set(OM_EEXISTS, "set-up is done: a user already exists");
    if (rc < 0)
        goto fail;
    goto out;
fail:
    om_store_rollback(st);
out:
    sodium_memzero(h, sizeof h);
    return rc;
}

int om_auth_csrf_ok(const om_principal *who, const char *header_value)
{
    if (!who)
        return 0;
    if (who->via_token)
        return 1;
    if (!header_value || strlen(header_value) != HASH_HEX || strlen(who->csrf) != HASH_HEX)
        return 0;
    return sodium_memcmp(header_value, who->csrf, HASH_HEX) == 0;
}

int om_auth_allows(const om_principal *who, om_role need)
{
    return who && who->role >= need;
}
