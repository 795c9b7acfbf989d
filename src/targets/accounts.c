/* accounts.c: publishing accounts and their tokens (see accounts.h). */
#include "base/common.h"

#include "targets/accounts.h"

#define SRC "accounts"

int om_account_link(om_store *s, const char *project_id, const char *platform,
                    const om_oauth_tokens *t, const char *external_id,
                    const char *display_name, char id_out[OM_UUID_LEN])
{
    char now[OM_TIME_LEN], exp[OM_TIME_LEN], id[OM_UUID_LEN];
    int64_t nowus = om_now_us();
    om_time_iso(now, nowus);
    om_time_iso(exp, nowus + t->expires_in * 1000000);
    om_uuid4(id);
    int rc = om_store_exec(
        s,
        "INSERT INTO publishing_accounts (account_id, project_id, platform, state, external_id, "
        "display_name, scopes, access_token, access_expires_at, refresh_token, "
        "last_refresh_at, last_error, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?, "
        "?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (project_id, platform) DO UPDATE SET "
        "state = 'active', external_id = excluded.external_id, display_name = "
        "excluded.display_name, scopes = excluded.scopes, access_token = excluded.access_token, "
        "access_expires_at = excluded.access_expires_at, refresh_token = "
        "excluded.refresh_token, last_refresh_at = excluded.last_refresh_at, last_error = NULL, "
        "updated_at = excluded.updated_at",
        OM_PARAMS(OM_TEXT(id), OM_TEXT(project_id), OM_TEXT(platform), OM_TEXT(external_id),
                  OM_TEXT(display_name), OM_TEXT(t->scope), OM_TEXT(t->access_token),
                  OM_TEXT(exp), OM_TEXT(t->refresh_token), OM_TEXT(now), OM_TEXT(now),
                  OM_TEXT(now)),
        NULL);
    if (rc)
        return om_error_wrap(rc, "linking the %s account", platform);
    char *got = NULL;
    rc = om_store_query_value(s,
                              "SELECT account_id FROM publishing_accounts WHERE project_id = ? "
                              "AND platform = ?",
                              OM_PARAMS(OM_TEXT(project_id), OM_TEXT(platform)), &got);
    if (!rc && got && id_out)
        snprintf(id_out, OM_UUID_LEN, "%s", got);
    free(got);
    return rc;
}

static const char *const LIST_COLS[] = {"account_id",        "project_id",      "project",
                                        "platform",          "state",           "external_id",
                                        "display_name",      "scopes",          "access_expires_at",
                                        "last_refresh_at",   "last_check_at",   "last_error",
                                        "created_at"};

int om_account_list(om_store *s, const char *project_id, json_t **out)
{
    *out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "SELECT a.account_id, a.project_id, p.name AS project, a.platform, a.state, "
        "a.external_id, a.display_name, a.scopes, a.access_expires_at, a.last_refresh_at, "
        "a.last_check_at, a.last_error, a.created_at FROM publishing_accounts a JOIN projects p "
        "ON p.project_id = a.project_id WHERE (? IS NULL OR a.project_id = ?) ORDER BY p.name, "
        "a.platform",
        OM_PARAMS(OM_TEXT(project_id), OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "listing accounts");
    json_t *a = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        json_t *o = json_object();
        for (size_t c = 0; c < OM_ARRAY_LEN(LIST_COLS); c++) {
            const char *v = om_rows_getn(r, i, LIST_COLS[c]);
            json_object_set_new(o, LIST_COLS[c], v ? json_string(v) : json_null());
        }
        json_array_append_new(a, o);
    }
    om_rows_free(r);
    *out = a;
    return OM_OK;
}

int om_account_remove(om_store *s, const char *project_id, const char *platform)
{
    int64_t n = 0;
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT account_id FROM publishing_accounts WHERE project_id = ? "
                            "AND platform = ?",
                            OM_PARAMS(OM_TEXT(project_id), OM_TEXT(platform)), &r);
    if (!rc)
        n = (int64_t)om_rows_count(r);
    om_rows_free(r);
    if (rc)
        return om_error_wrap(rc, "removing the %s account", platform);
    if (!n)
        return om_error_set(OM_ENOTFOUND, "no %s account is linked to this project", platform);
    rc = om_store_exec(s, "DELETE FROM publishing_accounts WHERE project_id = ? AND platform = ?",
                       OM_PARAMS(OM_TEXT(project_id), OM_TEXT(platform)), NULL);
    return rc ? om_error_wrap(rc, "removing the %s account", platform) : OM_OK;
}

int om_account_linked(om_store *s, const char *project_id, const char *platform)
{
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT state FROM publishing_accounts WHERE project_id = ? AND "
                            "platform = ?",
                            OM_PARAMS(OM_TEXT(project_id), OM_TEXT(platform)), &r);
    if (rc)
        return rc;
    size_t n = om_rows_count(r);
    om_rows_free(r);
    return n ? OM_OK : OM_ENOTFOUND;
}

typedef struct acct {
    char *account_id, *project_id, *project, *platform, *state, *access_token,
        *access_expires_at, *refresh_token;
} acct;

static void acct_release(acct *a)
{
    free(a->account_id), free(a->project_id), free(a->project), free(a->platform);
    free(a->state), free(a->access_token), free(a->access_expires_at), free(a->refresh_token);
    memset(a, 0, sizeof(*a));
}

static char *dupn(const om_rows *r, size_t i, const char *col)
{
    const char *v = om_rows_getn(r, i, col);
    return v ? xstrdup(v) : NULL;
}

static void acct_from(const om_rows *r, size_t i, acct *a)
{
    a->account_id = dupn(r, i, "account_id");
    a->project_id = dupn(r, i, "project_id");
    a->project = dupn(r, i, "project");
    a->platform = dupn(r, i, "platform");
    a->state = dupn(r, i, "state");
    a->access_token = dupn(r, i, "access_token");
    a->access_expires_at = dupn(r, i, "access_expires_at");
    a->refresh_token = dupn(r, i, "refresh_token");
}

#define ACCT_SELECT                                                                          \
    "SELECT a.account_id, a.project_id, p.name AS project, a.platform, a.state, "             \
    "a.access_token, a.access_expires_at, a.refresh_token FROM publishing_accounts a JOIN "   \
    "projects p ON p.project_id = a.project_id "

/* invalid_grant: the account is unusable; the incident is written now (own statements,
 * outside any caller transaction's fate). Keeps the refresh error as the current error. */
static void mark_unusable(om_store *s, const acct *a, const char *why)
{
    char *msg = xstrdup(why);
    char now[OM_TIME_LEN], iid[OM_UUID_LEN];
    om_time_iso(now, om_now_us());
    int was_active = a->state && !strcmp(a->state, "active");
    int rc = om_store_exec(s,
                           "UPDATE publishing_accounts SET state = 'unusable', last_error = ?, "
                           "access_token = NULL, updated_at = ? WHERE account_id = ?",
                           OM_PARAMS(OM_TEXT(msg), OM_TEXT(now), OM_TEXT(a->account_id)), NULL);
    if (!rc && was_active) {
        json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "project_id", a->project_id, "project",
                              a->project, "platform", a->platform, "error", msg);
        char *dt = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(d);
        char *text = xasprintf("%s account of project %s is unusable (%s): run 'omniva account "
                               "add %s %s' to link it again",
                               a->platform, a->project, msg, a->platform, a->project);
        /* the row om_incident_raise (src/oversight/incidents.c) writes: the targets sit
         * below the oversight layer, so the same statement here: one open incident per
         * account, a second sighting bumps its count */
        rc = om_store_exec(
            s,
            "INSERT INTO incidents (incident_id, kind, severity, entity_type, entity_id, "
            "message, evidence, created_at, first_seen, last_seen, count) VALUES (?, "
            "'account_unusable', 'critical', 'publishing_accounts', ?, ?, ?, now(), now(), "
            "now(), 1) ON CONFLICT (kind, entity_type, entity_id) WHERE resolved_at IS NULL DO "
            "UPDATE SET count = incidents.count + 1, last_seen = excluded.last_seen, message = "
            "excluded.message, evidence = excluded.evidence",
            OM_PARAMS(OM_TEXT(om_uuid4(iid)), OM_TEXT(a->account_id), OM_TEXT(text),
                      OM_JSON(dt)),
            NULL);
        om_err(SRC, "%s", text);
        free(text);
        free(dt);
    }
    if (rc)
        om_warn(SRC, "could not record the unusable %s account of %s: %s", a->platform,
                a->project, om_error_msg());
    om_error_set(OM_EPERMANENT, "%s", msg);
    free(msg);
}

/* Refreshes a's token; on success a->access_token is the new one. */
static int refresh(om_store *s, const om_config *cfg, acct *a)
{
    om_oauth_provider p;
    int rc = om_oauth_provider_load(cfg, a->platform, &p);
    if (rc)
        return rc;
    if (!a->refresh_token)
        return om_error_set(OM_EPERMANENT, "the %s account of %s has no refresh token",
                            a->platform, a->project);
    om_oauth_tokens t;
    rc = om_oauth_refresh(&p, a->refresh_token, &t);
    char now[OM_TIME_LEN], exp[OM_TIME_LEN];
    int64_t nowus = om_now_us();
    om_time_iso(now, nowus);
    if (rc) {
        if (t.invalid_grant) {
            mark_unusable(s, a, om_error_msg());
        } else {
            char *msg = xstrdup(om_error_msg());
            om_store_exec(s,
                          "UPDATE publishing_accounts SET last_error = ?, updated_at = ? WHERE "
                          "account_id = ?",
                          OM_PARAMS(OM_TEXT(msg), OM_TEXT(now), OM_TEXT(a->account_id)), NULL);
            om_error_set(rc, "%s", msg);
            free(msg);
        }
        om_oauth_tokens_release(&t);
        return om_error_wrap(rc, "%s account of %s", a->platform, a->project);
    }
    om_time_iso(exp, nowus + t.expires_in * 1000000);
    /* Google may rotate the refresh token: keep the new one when sent */
    rc = om_store_exec(s,
                       "UPDATE publishing_accounts SET access_token = ?, access_expires_at = ?, "
                       "refresh_token = COALESCE(?, refresh_token), last_refresh_at = ?, "
                       "last_error = NULL, updated_at = ? WHERE account_id = ?",
                       OM_PARAMS(OM_TEXT(t.access_token), OM_TEXT(exp),
                                 OM_TEXT(t.refresh_token), OM_TEXT(now), OM_TEXT(now),
                                 OM_TEXT(a->account_id)),
                       NULL);
    free(a->access_token);
    a->access_token = t.access_token;
    t.access_token = NULL;
    om_oauth_tokens_release(&t);
    return rc ? om_error_wrap(rc, "saving the refreshed token") : OM_OK;
}

int om_account_token(om_store *s, const om_config *cfg, const char *project_id,
                     const char *platform, char **token_out, char account_id_out[OM_UUID_LEN])
{
    *token_out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(s, ACCT_SELECT "WHERE a.project_id = ? AND a.platform = ?",
                            OM_PARAMS(OM_TEXT(project_id), OM_TEXT(platform)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the %s account", platform);
    if (!om_rows_count(r)) {
        om_rows_free(r);
        return om_error_set(OM_EPERMANENT,
                            "no %s account is linked to project %s: run 'omniva account add %s "
                            "PROJECT'",
                            platform, project_id, platform);
    }
    acct a = {0};
    acct_from(r, 0, &a);
    om_rows_free(r);
    if (account_id_out)
        snprintf(account_id_out, OM_UUID_LEN, "%s", a.account_id);
    if (strcmp(a.state, "active")) {
        rc = om_error_set(OM_EPERMANENT,
                          "the %s account of project %s is unusable: run 'omniva account add %s "
                          "%s' to link it again",
                          platform, a.project, platform, a.project);
        acct_release(&a);
        return rc;
    }
    int64_t exp = 0, margin = om_config_long(cfg, "youtube.refresh_margin_s");
    int fresh = a.access_token && a.access_expires_at &&
                om_time_parse(a.access_expires_at, &exp) == OM_OK &&
                exp - om_now_us() > margin * 1000000;
    rc = fresh ? OM_OK : refresh(s, cfg, &a);
    if (!rc) {
        *token_out = a.access_token;
        a.access_token = NULL;
    }
    acct_release(&a);
    return rc;
}

int om_account_check(om_store *s, const om_config *cfg, const char *project_id,
                     json_t **report, int *failed_out)
{
    *report = NULL;
    if (failed_out)
        *failed_out = 0;
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            ACCT_SELECT "WHERE (CAST(? AS TEXT) IS NULL OR a.project_id = ?) ORDER BY p.name, "
                                        "a.platform",
                            OM_PARAMS(OM_TEXT(project_id), OM_TEXT(project_id)), &r);
    if (rc)
        return om_error_wrap(rc, "token health check");
    json_t *out = json_array();
    int failed = 0;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        acct a = {0};
        acct_from(r, i, &a);
        int ok = 0;
        char *err = NULL, *state = NULL;
        if (!strcmp(a.state, "active")) {
            ok = refresh(s, cfg, &a) == OM_OK;
            if (!ok)
                err = xstrdup(om_error_msg());
        } else {
            err = xstrdup("unusable: link it again with 'omniva account add'");
        }
        if (om_store_query_value(s, "SELECT state FROM publishing_accounts WHERE account_id = ?",
                                 OM_PARAMS(OM_TEXT(a.account_id)), &state))
            om_error_clear();
        char now[OM_TIME_LEN];
        om_time_iso(now, om_now_us());
        json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s?}", "account_id", a.account_id,
                              "project", a.project, "platform", a.platform, "ok", ok, "state",
                              state ? state : a.state, "error", err);
        free(err);
        free(state);
        json_array_append_new(out, o);
        om_error_clear();
        om_store_exec(s, "UPDATE publishing_accounts SET last_check_at = ? WHERE account_id = ?",
                      OM_PARAMS(OM_TEXT(now), OM_TEXT(a.account_id)), NULL);
        failed += !ok;
        acct_release(&a);
    }
    om_rows_free(r);
    *report = out;
    if (failed_out)
        *failed_out = failed;
    return OM_OK;
}
