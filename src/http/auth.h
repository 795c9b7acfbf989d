/*
 * auth.h: the dashboard's logins and roles: users with a role (viewer < operator < admin),
 * argon2id password hashes (libsodium crypto_pwhash_str), browser sessions (cookie value =
 * 32 random bytes in hex; only its BLAKE2b hash is stored), API tokens for scripts (Bearer,
 * per user, revocable, shown once, only the hash stored), CSRF tokens for writes and login
 * rate limiting per IP and per user kept in the store (several `omniva serve` instances
 * share it). Tables: users, sessions, api_tokens, login_attempts (src/store/migrations.c).
 *
 * Settings (auth.* in src/base/settings.c) are read by om_auth_configure(cfg); until it is
 * called (or with cfg NULL) the table's defaults apply. Call it once at start-up, before
 * threads use this module.
 *
 * Errors (src/base/error.h): OM_EINVAL bad input (short password, bad name, bad role);
 * OM_EEXISTS user already exists / setup_admin when a user exists; OM_ENOTFOUND unknown
 * user, token, or an unknown/expired session or token; OM_EPERMANENT wrong credentials
 * (one message, "invalid user name or password", for unknown user and wrong password);
 * OM_EBUSY rate limited, message "too many failed logins; retry in N s" and
 * om_auth_retry_after() gives N. Store errors pass through wrapped. Passwords are never
 * logged nor put in messages.
 *
 * Ownership: json_t **out and char **token_out are the caller's (json_decref / free).
 * Threading: one om_store per thread, as the store requires; no other shared state after
 * om_auth_configure.
 */
#ifndef OMNIVA_HTTP_AUTH_H
#define OMNIVA_HTTP_AUTH_H

#include <jansson.h>

#include "base/config.h"
#include "store/store.h"

typedef enum { OM_ROLE_VIEWER = 1, OM_ROLE_OPERATOR = 2, OM_ROLE_ADMIN = 3 } om_role;

typedef struct om_principal {
    char user[64];
    om_role role;
    char csrf[65];  /* hex CSRF token of the session; "" for a Bearer token */
    int via_token;  /* 1 when authenticated by an API token (no CSRF needed) */
} om_principal;

/* Reads the auth.* settings (cfg NULL: defaults). Returns OM_OK. */
int om_auth_configure(const om_config *cfg);

/* "viewer" | "operator" | "admin" (any case); OM_EINVAL naming the choices otherwise. */
int om_role_parse(const char *s, om_role *out);
const char *om_role_name(om_role r); /* static string; "?" for an unknown value */

int om_auth_users_count(om_store *st, long *n);
/* Names: 1..63 chars of [A-Za-z0-9._@-]. Password at least auth.min_password chars. */
int om_auth_user_add(om_store *st, const char *user, const char *password, om_role role);
int om_auth_user_remove(om_store *st, const char *user); /* also its sessions and tokens */
int om_auth_user_passwd(om_store *st, const char *user, const char *password); /* ends sessions */
/* Changes a user's role (ENOTFOUND for an unknown user). */
int om_auth_user_set_role(om_store *st, const char *user, om_role role);
/* [{name, role, created_at, last_login_at}] ordered by name; never hashes. */
int om_auth_user_list(om_store *st, json_t **out);

/* Checks the password and opens a session: session_out gets the cookie value (64 hex),
 * who the principal (with the session's CSRF token). ip may be NULL ("" for rate limits).
 * Rehashes the password when the auth.pwhash_* parameters changed. */
int om_auth_login(om_store *st, const char *user, const char *password, const char *ip,
                  char session_out[65], om_principal *who);
/* Seconds to wait given by the last OM_EBUSY of om_auth_login on this thread. */
long om_auth_retry_after(void);
/* Resolves a session cookie; unknown, idle-expired or past its absolute lifetime is
 * OM_ENOTFOUND. Touches last_seen_at. */
int om_auth_session(om_store *st, const char *session_cookie, om_principal *who);
int om_auth_logout(om_store *st, const char *session_cookie); /* OM_OK even when unknown */

/* Creates an API token for user; *token_out (caller frees) is "omv_" + 64 hex, shown once.
 * label may be NULL. The token's id (for list/revoke) is the first 12 hex of its hash. */
int om_auth_token_create(om_store *st, const char *user, const char *label, char **token_out);
int om_auth_token_revoke(om_store *st, const char *user, const char *token_id);
/* [{id, label, created_at, last_used_at}] of user's live tokens; never hashes. */
int om_auth_token_list(om_store *st, const char *user, json_t **out);
int om_auth_bearer(om_store *st, const char *token, om_principal *who);
/* The id of a token (what list shows and revoke takes) into out[13]. */
void om_auth_token_id(const char *token, char out[13]);

/* Creates the first admin, only when no user exists: OM_EEXISTS otherwise. Atomic: of two
 * racing calls (threads or processes) exactly one succeeds. */
int om_auth_setup_admin(om_store *st, const char *user, const char *password);

/* 1 when the request may write: who came by token, or header_value equals who->csrf
 * (constant-time compare); 0 otherwise (NULL/empty header included). */
int om_auth_csrf_ok(const om_principal *who, const char *header_value);

/* 1 when who's role is at least `need`. */
int om_auth_allows(const om_principal *who, om_role need);

#endif
