/*
 * tiktok.h: what the TikTok target (tiktok.c) offers beside its vtable (om_target_tiktok
 * in target.h): the creator behind a linked account (for `account add`) and the privacy
 * rule (an unaudited app posts SELF_ONLY only).
 *
 * Ownership: JSON returned is the caller's; *level_out is borrowed (config or brand).
 */
#ifndef OMNIVA_TARGETS_TIKTOK_H
#define OMNIVA_TARGETS_TIKTOK_H

#include <jansson.h>

#include "base/config.h"
#include "store/store.h"

/* creator_info/query with the project's linked tiktok account: TikTok's data object
 * (creator_username, creator_nickname, privacy_level_options, max_video_post_duration_sec,
 * ...). Counts against the requests-per-minute limit like any post/publish request. */
int om_tiktok_creator(const om_config *cfg, om_store *s, const char *project_id,
                      json_t **creator_out);
/* The privacy level a post is sent with: the brand's tiktok.privacy_level, else
 * tiktok.privacy_level; SELF_ONLY when tiktok.audited is false (*forced_out 1 when that
 * overrode another wish). OM_EPERMANENT naming the allowed levels when the creator's
 * privacy_level_options (may be NULL: not checked) do not include it. */
int om_tiktok_privacy_choice(const om_config *cfg, const json_t *brand, const json_t *options,
                             const char **level_out, int *forced_out);

#endif
