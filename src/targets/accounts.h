/*
 * accounts.h: publishing accounts (table publishing_accounts, migration 5): one linked
 * account per project and platform, holding its OAuth tokens. Used by `omniva account ...`
 * (src/cli/cmd_account.c), by the targets (an access token for a post), by project
 * validation (a brand naming a platform target needs a linked account) and by the token
 * health check (the governance worker; `omniva account check`).
 *
 * Tokens: the access token is refreshed when it expires within youtube.refresh_margin_s;
 * a refresh answered with invalid_grant marks the account 'unusable' and writes an
 * `incidents` row (kind account_unusable, severity critical) at once, in its own
 * statement, so the incident exists before the post that needed the token fails. The
 * refresh token never leaves this file except to the token endpoint: listings carry no
 * token, messages name the account, never its secrets.
 *
 * Errors: OM_ENOTFOUND (no account linked for the project/platform), OM_EPERMANENT (the
 * account is unusable: re-link with `omniva account add`), store errors, the token
 * endpoint's errors (oauth.h). Ownership: JSON and strings returned are the caller's.
 */
#ifndef OMNIVA_TARGETS_ACCOUNTS_H
#define OMNIVA_TARGETS_ACCOUNTS_H

#include <jansson.h>

#include "base/config.h"
#include "store/store.h"
#include "targets/oauth.h"

/* Links (or re-links: tokens replaced, state back to active) the account of a project on
 * a platform. external_id/display_name (channel id and title) may be NULL. */
int om_account_link(om_store *s, const char *project_id, const char *platform,
                    const om_oauth_tokens *t, const char *external_id,
                    const char *display_name, char id_out[OM_UUID_LEN]);
/* Array of {account_id, project_id, project, platform, state, external_id, display_name,
 * scopes, access_expires_at, last_refresh_at, last_check_at, last_error, created_at},
 * ordered by project name and platform; project_id NULL: every project. No tokens. */
int om_account_list(om_store *s, const char *project_id, json_t **out);
/* Unlinks; OM_ENOTFOUND naming the project and platform when none is linked. */
int om_account_remove(om_store *s, const char *project_id, const char *platform);
/* OM_OK when the project has an account linked on the platform (any state), else
 * OM_ENOTFOUND. */
int om_account_linked(om_store *s, const char *project_id, const char *platform);
/* A valid access token for a post (refreshed first when it expires soon; see the top).
 * *account_id_out (may be NULL) receives the account's id. */
int om_account_token(om_store *s, const om_config *cfg, const char *project_id,
                     const char *platform, char **token_out, char account_id_out[OM_UUID_LEN]);
/* The token health check: every active account (of one project, or all when project_id
 * is NULL) refreshes its token now; invalid_grant marks it unusable with an incident, as
 * above. *report: array of {account_id, project, platform, ok, state, error}. Returns OM_OK
 * when the check ran (failures are in the report); *failed_out counts them (may be NULL). */
int om_account_check(om_store *s, const om_config *cfg, const char *project_id,
                     json_t **report, int *failed_out);

#endif
