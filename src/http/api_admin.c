/*
 * api_admin.c: what the admin role steers and every user's own API tokens.
 *   GET/POST /api/v1/users, PATCH/DELETE /api/v1/users/:name   (admin)
 *   GET/PATCH /api/v1/settings                                  (admin; secrets shown as ***)
 *   GET/POST /api/v1/tokens, DELETE /api/v1/tokens/:id          (the caller's own tokens)
 * Users, passwords and tokens are http/auth.c's (om_auth_*); the settings table is
 * base/settings.c's, written to the workspace's omniva.conf (a running `omniva serve` or
 * worker reads it at start: the answer says a restart is needed).
 */
#include "base/common.h"

#include "base/settings.h"
#include "http/api_int.h"
#include "http/auth.h"

/* The body's string `key` (NULL when absent); 422 naming it when present but not a string,
 * or when it is not one of `allowed` keys ("a,b,c"). */
static int body_fields(om_http_req *r, json_t *b, const char *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        size_t n = strlen(k);
        const char *p = strstr(allowed, k);
        int ok = p && (p == allowed || p[-1] == ',') && (p[n] == ',' || p[n] == '\0');
        if (!ok) {
            om_http_reply_error(r, 422, "invalid", k, "unknown field '%s' (expected %s)", k,
                                allowed);
            return -1;
        }
        if (!json_is_string(v)) {
            om_http_reply_error(r, 422, "invalid", k, "'%s' must be a string", k);
            return -1;
        }
    }
    return 0;
}

static const char *bstr(json_t *b, const char *k)
{
    return json_string_value(json_object_get(b, k));
}

/* Admins other than `user`. */
static int other_admins(om_http_req *r, const char *user, long *n)
{
    char *v = NULL;
    int rc = om_store_query_value(r->store,
                                  "SELECT count(*) FROM users WHERE role = 'admin' AND name <> ?",
                                  OM_PARAMS(OM_TEXT(user)), &v);
    *n = v ? strtol(v, NULL, 10) : 0;
    free(v);
    return rc;
}

/* Auth errors as HTTP: a bad name/password/role is 422 on `field`, an unknown user 404. */
static void reply_auth(om_http_req *r, int rc, const char *field)
{
    if (rc == OM_EINVAL)
        om_http_reply_error(r, 422, "invalid", field, "%s", om_error_msg());
    else
        om_http_reply_om(r, rc, field);
}

void h_users_list(om_http_req *r)
{
    if (api_query_only(r))
        return;
    json_t *a = NULL;
    int rc = om_auth_user_list(r->store, &a);
    if (rc)
        om_http_reply_om(r, rc, NULL);
    else
        om_http_reply_json(r, 200, json_pack("{s:o}", "users", a));
}

void h_users_add(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b) ||
        body_fields(r, b, "name,role,password")) {
        json_decref(b);
        return;
    }
    const char *name = bstr(b, "name"), *pass = bstr(b, "password");
    om_role role = OM_ROLE_VIEWER;
    int rc;
    if (!name || !*name)
        om_http_reply_error(r, 422, "invalid", "name", "'name' is required");
    else if (!pass)
        om_http_reply_error(r, 422, "invalid", "password", "'password' is required");
    else if (bstr(b, "role") && om_role_parse(bstr(b, "role"), &role) != OM_OK)
        om_http_reply_error(r, 422, "invalid", "role", "%s", om_error_msg());
    else if ((rc = om_auth_user_add(r->store, name, pass, role)) == OM_EEXISTS)
        om_http_reply_error(r, 409, "conflict", "name", "%s", om_error_msg());
    else if (rc)
        reply_auth(r, rc, strstr(om_error_msg(), "password") ? "password" : "name");
    else
        om_http_reply_json(r, 201, json_pack("{s:s,s:s}", "name", name, "role", om_role_name(role)));
    json_decref(b);
}

void h_users_update(om_http_req *r)
{
    const char *name = om_http_param(&r->params, "name");
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b) ||
        body_fields(r, b, "role,password")) {
        json_decref(b);
        return;
    }
    om_role role;
    long others = 0;
    int rc = OM_OK;
    if (!bstr(b, "role") && !bstr(b, "password")) {
        om_http_reply_error(r, 422, "invalid", NULL, "nothing to change: send role or password");
    } else if (bstr(b, "role") && om_role_parse(bstr(b, "role"), &role) != OM_OK) {
        om_http_reply_error(r, 422, "invalid", "role", "%s", om_error_msg());
    } else if (bstr(b, "role") && role != OM_ROLE_ADMIN &&
               ((rc = other_admins(r, name, &others)) != OM_OK || others == 0)) {
        if (rc)
            om_http_reply_om(r, rc, NULL);
        else
            om_http_reply_error(r, 409, "conflict", "role",
                                "%s is the last admin: make another admin first", name);
    } else if (bstr(b, "role") && (rc = om_auth_user_set_role(r->store, name, role)) != OM_OK) {
        reply_auth(r, rc, "role");
    } else if (bstr(b, "password") &&
               (rc = om_auth_user_passwd(r->store, name, bstr(b, "password"))) != OM_OK) {
        reply_auth(r, rc, "password");
    } else {
        json_t *a = NULL, *row = NULL;
        if (om_auth_user_list(r->store, &a) == OM_OK) {
            size_t i;
            json_t *u;
            json_array_foreach(a, i, u)
                if (!strcmp(json_string_value(json_object_get(u, "name")), name))
                    row = json_incref(u);
        }
        json_decref(a);
        om_http_reply_json(r, 200, row ? row : json_pack("{s:s}", "name", name));
    }
    json_decref(b);
}

void h_users_remove(om_http_req *r)
{
    const char *name = om_http_param(&r->params, "name");
    if (api_query_only(r))
        return;
    long others = 0;
    int rc;
    if (!strcmp(name, r->user)) {
        om_http_reply_error(r, 409, "conflict", "name",
                            "you cannot remove yourself; another admin can");
    } else if ((rc = other_admins(r, name, &others)) != OM_OK) {
        om_http_reply_om(r, rc, NULL);
    } else if ((rc = om_auth_user_remove(r->store, name)) != OM_OK) {
        reply_auth(r, rc, "name");
    } else {
        om_http_reply_json(r, 200, json_pack("{s:s,s:b}", "name", name, "removed", 1));
    }
}

void h_tokens_list(om_http_req *r)
{
    if (api_query_only(r))
        return;
    json_t *a = NULL;
    int rc = om_auth_token_list(r->store, r->user, &a);
    if (rc)
        om_http_reply_om(r, rc, NULL);
    else
        om_http_reply_json(r, 200, json_pack("{s:o}", "tokens", a));
}

void h_tokens_create(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b) || body_fields(r, b, "label")) {
        json_decref(b);
        return;
    }
    char *tok = NULL;
    int rc = om_auth_token_create(r->store, r->user, bstr(b, "label") ? bstr(b, "label") : "",
                                  &tok);
    if (rc) {
        reply_auth(r, rc, "label");
    } else {
        char id[13];
        om_auth_token_id(tok, id);
        /* the secret is shown this once; only its hash is kept */
        om_http_reply_json(r, 201, json_pack("{s:s,s:s,s:s}", "id", id, "token", tok, "label",
                                             bstr(b, "label") ? bstr(b, "label") : ""));
        free(tok);
    }
    json_decref(b);
}

void h_tokens_revoke(om_http_req *r)
{
    const char *id = om_http_param(&r->params, "id");
    if (api_query_only(r))
        return;
    int rc = om_auth_token_revoke(r->store, r->user, id);
    if (rc)
        om_http_reply_om(r, rc, "id");
    else
        om_http_reply_json(r, 200, json_pack("{s:s,s:b}", "id", id, "revoked", 1));
}

void h_settings_show(om_http_req *r)
{
    if (api_query_only(r))
        return;
    json_t *arr = json_array();
    for (size_t i = 0; i < om_settings_count; i++)
        json_array_append_new(arr, om_config_setting_json(r->cfg, &om_settings[i], 1));
    om_http_reply_json(r, 200, json_pack("{s:s,s:o}", "home", om_config_home(r->cfg), "settings",
                                         arr));
}

/* PATCH {"section.key": "value" | null (back to the default), ...}: every key validated
 * against the settings table first (nothing is written when one is wrong), then the
 * workspace's omniva.conf rewritten atomically with the file's other settings kept. */
void h_settings_update(om_http_req *r)
{
    json_t *b = NULL;
    if (api_query_only(r) || om_http_body_object(r, &b)) {
        json_decref(b);
        return;
    }
    const char *k;
    json_t *v;
    if (json_object_size(b) == 0) {
        om_http_reply_error(r, 422, "invalid", NULL, "nothing to change: send {\"section.key\": value}");
        json_decref(b);
        return;
    }
    json_object_foreach(b, k, v) {
        const om_setting *s = om_setting_find(k);
        if (!s) {
            const char *near = om_setting_suggest(k);
            om_http_reply_error(r, 422, "invalid", k, "unknown setting '%s'%s%s%s", k,
                                near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
            json_decref(b);
            return;
        }
        if (!json_is_null(v) && !json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            om_http_reply_error(r, 422, "invalid", k, "'%s' takes a string, number or boolean", k);
            json_decref(b);
            return;
        }
    }
    char *path = xasprintf("%s/omniva.conf", om_config_home(r->cfg));
    om_config *file = NULL;
    int rc = om_config_load_file(&file, om_config_home(r->cfg), path);
    json_object_foreach(b, k, v) {
        if (rc)
            break;
        if (json_is_null(v)) {
            rc = om_config_reset(file, k);
            continue;
        }
        char *text = json_is_string(v)   ? xstrdup(json_string_value(v))
                     : json_is_boolean(v) ? xstrdup(json_is_true(v) ? "true" : "false")
                     : json_is_integer(v) ? xasprintf("%lld", (long long)json_integer_value(v))
                                          : xasprintf("%.17g", json_number_value(v));
        rc = om_config_put(file, k, text, OM_ORIGIN_FILE, path);
        free(text);
        if (rc == OM_EINVAL) {
            om_http_reply_error(r, 422, "invalid", k, "%s", om_error_msg());
            rc = 1; /* replied */
        }
    }
    if (rc == OM_OK)
        rc = om_config_save(file);
    if (rc == OM_OK) {
        json_t *changed = json_array();
        json_object_foreach(b, k, v)
            json_array_append_new(changed, om_config_setting_json(file, om_setting_find(k), 1));
        om_http_reply_json(r, 200, json_pack("{s:o,s:b,s:s}", "changed", changed,
                                             "restart_needed", 1, "file", path));
    } else if (rc != 1) {
        om_http_reply_om(r, rc, NULL);
    }
    om_config_free(file);
    free(path);
    json_decref(b);
}
