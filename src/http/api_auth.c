/*
 * api_auth.c: sign-in routes (login, logout, setup, me) and the one access check every
 * route passes through (api_authorize): session cookie or Bearer token, role, and for
 * cookie sessions the CSRF header on writes. Users, passwords, sessions and tokens are
 * http/auth.c's (om_auth_*); this file only speaks HTTP about them.
 */
#include "base/common.h"

#include "http/api_int.h"

#include "http/auth.h"

static const char *role_name(int role)
{
    return role >= 3 ? "admin" : role == 2 ? "operator" : role == 1 ? "viewer" : "none";
}

static int is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static const char *bearer(om_http_req *r)
{
    const char *h = om_http_header(r, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    return NULL;
}

int api_authorize(om_http_req *r, int access)
{
    if (access == 0)
        return 0;
    om_principal who;
    memset(&who, 0, sizeof(who));
    const char *tok = bearer(r);
    const char *cookie = om_http_cookie(r, "omniva_session");
    int rc;
    if (tok) {
        rc = om_auth_bearer(r->store, tok, &who);
        if (rc) {
            om_http_add_header(r, "WWW-Authenticate: Bearer");
            om_http_reply_error(r, 401, "unauthorized", NULL, "that API token is not valid");
            return -1;
        }
        who.via_token = 1;
    } else if (cookie) {
        rc = om_auth_session(r->store, cookie, &who);
        if (rc) {
            om_http_reply_error(r, 401, "unauthorized", NULL,
                                "the session has expired or is unknown; sign in again");
            return -1;
        }
    } else {
        om_http_reply_error(r, 401, "unauthorized", NULL,
                            "sign in (POST /api/v1/login) or send Authorization: Bearer TOKEN");
        return -1;
    }
    snprintf(r->user, sizeof(r->user), "%s", who.user);
    r->role = (int)who.role;
    snprintf(r->csrf, sizeof(r->csrf), "%s", who.csrf);
    r->via_token = who.via_token;
    if (r->role < access) {
        om_http_reply_error(r, 403, "forbidden", NULL, "%s needs role %s; %s is %s", r->method,
                            role_name(access), r->user, role_name(r->role));
        return -1;
    }
    if (is_write(r->method) && !r->via_token) {
        const char *h = om_http_header(r, "X-CSRF-Token");
        if (!h || !r->csrf[0] || strcmp(h, r->csrf) != 0) {
            om_http_reply_error(r, 403, "csrf", "X-CSRF-Token",
                                h ? "X-CSRF-Token does not match this session"
                                  : "writes need the X-CSRF-Token header (from login or /me)");
            return -1;
        }
    }
    return 0;
}

static int credentials(om_http_req *r, const char **user, const char **pass, json_t **b)
{
    if (om_http_body_object(r, b))
        return -1;
    json_t *u = json_object_get(*b, "user"), *p = json_object_get(*b, "password");
    const char *k;
    json_t *v;
    json_object_foreach(*b, k, v) {
        if (strcmp(k, "user") && strcmp(k, "password")) {
            om_http_reply_error(r, 422, "invalid", k, "unknown field '%s'", k);
            return -1;
        }
    }
    if (!json_is_string(u) || !*json_string_value(u)) {
        om_http_reply_error(r, 422, "invalid", "user", "'user' is required (a string)");
        return -1;
    }
    if (!json_is_string(p)) {
        om_http_reply_error(r, 422, "invalid", "password", "'password' is required (a string)");
        return -1;
    }
    *user = json_string_value(u);
    *pass = json_string_value(p);
    return 0;
}

void h_login(om_http_req *r)
{
    json_t *b = NULL;
    const char *user, *pass;
    if (api_query_only(r) || credentials(r, &user, &pass, &b)) {
        json_decref(b);
        return;
    }
    char sid[65];
    om_principal who;
    memset(&who, 0, sizeof(who));
    int rc = om_auth_login(r->store, user, pass, r->client_ip, sid, &who);
    if (rc == OM_EBUSY) {
        om_http_add_header(r, "Retry-After: 60");
        om_http_reply_error(r, 429, "rate_limited", NULL, "%s", om_error_msg());
    } else if (rc == OM_ENOTFOUND || rc == OM_EINVAL || (rc && rc != OM_EUNAVAIL && rc != OM_EIO &&
                                                          rc != OM_ERROR)) {
        om_http_reply_error(r, 401, "unauthorized", NULL, "wrong user name or password");
    } else if (rc) {
        om_http_reply_om(r, rc, NULL);
    } else {
        om_http_add_header(r, "Set-Cookie: omniva_session=%s; Path=/; HttpOnly; SameSite=Strict%s",
                           sid, r->tls ? "; Secure" : "");
        om_http_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "user", who.user, "role",
                                             role_name((int)who.role), "csrf", who.csrf));
    }
    json_decref(b);
}

void h_logout(om_http_req *r)
{
    const char *cookie = om_http_cookie(r, "omniva_session");
    if (cookie)
        om_auth_logout(r->store, cookie);
    om_http_add_header(r, "Set-Cookie: omniva_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                       r->tls ? "; Secure" : "");
    om_http_reply_json(r, 200, json_pack("{s:b}", "signed_out", 1));
}

void h_setup(om_http_req *r)
{
    if (!r->loopback) {
        om_http_reply_error(r, 403, "forbidden", NULL, "set-up is only allowed from loopback");
        return;
    }
    json_t *b = NULL;
    const char *user, *pass;
    if (api_query_only(r) || credentials(r, &user, &pass, &b)) {
        json_decref(b);
        return;
    }
    long n = 0;
    int rc = om_auth_users_count(r->store, &n);
    if (!rc && n > 0) {
        om_http_reply_error(r, 409, "conflict", NULL, "set-up is done: users exist; sign in");
    } else if (!rc && (rc = om_auth_setup_admin(r->store, user, pass)) == OM_OK) {
        om_http_reply_json(r, 201, json_pack("{s:s, s:s}", "user", user, "role", "admin"));
    } else if (rc == OM_EINVAL) {
        om_http_reply_error(r, 422, "invalid", "password", "%s", om_error_msg());
    } else if (rc) {
        if (n == 0 && rc != OM_EUNAVAIL && rc != OM_EIO && rc != OM_ERROR)
            om_http_reply_error(r, 409, "conflict", NULL, "%s", om_error_msg());
        else
            om_http_reply_om(r, rc, NULL);
    }
    json_decref(b);
}

void h_me(om_http_req *r)
{
    if (api_query_only(r))
        return;
    json_t *o = json_pack("{s:s, s:s, s:b}", "user", r->user, "role", role_name(r->role),
                          "via_token", r->via_token);
    if (r->csrf[0])
        json_object_set_new(o, "csrf", json_string(r->csrf));
    json_object_set_new(o, "accounts", json_true());
    /* whom the database sees for this read (PostgreSQL: http.read_role when it could be
     * taken) */
    char *db_role = NULL;
    if (!strcmp(om_store_dialect(r->store), "postgres") &&
        om_store_query_value(r->store, "SELECT CAST(current_user AS TEXT)", NULL, 0, &db_role) ==
            OM_OK)
        json_object_set_new(o, "db_role", json_string(db_role));
    free(db_role);
    om_http_reply_json(r, 200, o);
}
