/*
 * youtube.h: what the YouTube target (youtube.c) offers beside its vtable
 * (om_target_youtube in target.h): the channel behind a token (for `account add`) and the
 * video resource it sends (tests check the limits on it).
 *
 * Ownership: strings and JSON returned are the caller's.
 */
#ifndef OMNIVA_TARGETS_YOUTUBE_H
#define OMNIVA_TARGETS_YOUTUBE_H

#include <jansson.h>
#include <stdint.h>

#include "base/config.h"
#include "targets/target.h"

/* channels.list part=snippet mine=true: the channel id and title of the token's account. */
int om_youtube_channel(const om_config *cfg, const char *access_token, char **id_out,
                       char **title_out);
/* The {"snippet", "status"} resource a post of req sends (limits applied; now_us decides
 * whether publishAt applies). */
json_t *om_youtube_video_resource(const om_publish_req *req, int64_t now_us);

#endif
