/*
 * oauth.h: OAuth 2.0 for the publishing accounts (RFC 6749 authorization code grant with
 * PKCE, RFC 7636 S256, and a loopback redirect as RFC 8252 and Google's "installed app"
 * flow want it: http://127.0.0.1:PORT/ on a random port, the out-of-band flow being gone).
 *
 * om_oauth_login runs the whole flow: a one-shot listener on 127.0.0.1 (port from the OS),
 * the consent URL printed for the user, the redirect's code taken (its `state` must match),
 * then exchanged at the token endpoint with the PKCE verifier. om_oauth_refresh trades a
 * refresh token for a new access token; `invalid_grant` (revoked, or a "Testing" consent
 * screen's 7-day expiry) comes back as OM_EPERMANENT with tokens->invalid_grant = 1.
 *
 * Secrets: nothing here logs a token; error messages carry the endpoint's error code and
 * description, never the request body.
 *
 * Ownership: the provider's strings are borrowed from the config; om_oauth_tokens' strings
 * are owned (om_oauth_tokens_release).
 */
#ifndef OMNIVA_TARGETS_OAUTH_H
#define OMNIVA_TARGETS_OAUTH_H

#include <stdint.h>
#include <stdio.h>

#include "base/config.h"

typedef struct om_oauth_provider {
    const char *platform; /* "youtube", "tiktok", "instagram" */
    const char *client_id, *client_secret, *auth_url, *token_url, *scopes;
    long timeout_s;       /* per token request */
    /* the name of the client id in URLs and forms: "client_id", TikTok's "client_key" */
    const char *client_param;
    /* Instagram Login: no refresh tokens. The short-lived token of the code exchange is
     * traded for a 60-day one at {graph_url}/access_token (grant_type=ig_exchange_token),
     * which is then refreshed at {graph_url}/refresh_access_token (ig_refresh_token): the
     * long-lived token is kept as the account's "refresh token". NULL for the others. */
    const char *graph_url;
} om_oauth_provider;

typedef struct om_oauth_tokens {
    char *access_token;
    char *refresh_token; /* NULL when the endpoint did not send one (refresh grant) */
    char *scope;
    int64_t expires_in;  /* seconds */
    int invalid_grant;   /* set by om_oauth_refresh / exchange on error=invalid_grant */
} om_oauth_tokens;

/* The provider of a platform from the settings (youtube.client_id, tiktok.client_key,
 * instagram.client_id ...). OM_EINVAL naming the setting when the client id is empty, or
 * naming the platform when none is known. An Instagram token refresh answered with an
 * OAuthException of code 190 (expired or revoked) counts as invalid_grant. */
int om_oauth_provider_load(const om_config *cfg, const char *platform, om_oauth_provider *out);

/* PKCE: a 64-character verifier (unreserved characters) and its S256 challenge
 * (base64url of SHA-256 without padding, 43 characters). */
void om_oauth_pkce(char verifier[65], char challenge[44]);
/* The consent URL (caller frees). */
char *om_oauth_consent_url(const om_oauth_provider *p, const char *redirect_uri,
                           const char *challenge, const char *state);

/* The whole interactive flow (see the top); `out` receives the consent URL line.
 * OM_ETIMEOUT when no redirect came in login_timeout_s; OM_EPERMANENT when the user
 * denied (the redirect's error named) or the state did not match. */
int om_oauth_login(const om_oauth_provider *p, FILE *out, long login_timeout_s,
                   om_oauth_tokens *tokens);
/* authorization_code grant (the step after the redirect). */
int om_oauth_exchange(const om_oauth_provider *p, const char *code, const char *verifier,
                      const char *redirect_uri, om_oauth_tokens *tokens);
/* refresh_token grant. */
int om_oauth_refresh(const om_oauth_provider *p, const char *refresh_token,
                     om_oauth_tokens *tokens);
void om_oauth_tokens_release(om_oauth_tokens *t);

#endif
