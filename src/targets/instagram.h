/*
 * instagram.h: what the Instagram target (instagram.c) offers beside its vtable
 * (om_target_instagram in target.h): the professional account behind a token, for
 * `account add` (its user id is the account's external_id, which the posts need).
 *
 * Ownership: strings returned are the caller's.
 */
#ifndef OMNIVA_TARGETS_INSTAGRAM_H
#define OMNIVA_TARGETS_INSTAGRAM_H

#include "base/config.h"

/* GET {graph_url}/me?fields=user_id,username. */
int om_instagram_user(const om_config *cfg, const char *access_token, char **id_out,
                      char **username_out);

#endif
