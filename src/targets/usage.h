/*
 * usage.h: what a platform lets an account do, counted on our side (migration 9), so a
 * post that cannot pass is moved to the next window before the platform is asked, and
 * every worker posting with the same token shares one count.
 *
 *   windows      youtube: the Pacific day (the Data API's daily quota resets at midnight
 *                America/Los_Angeles); tiktok, instagram: the UTC day (publish_usage rows).
 *   usage        units (YouTube quota units: youtube.upload_cost per videos.insert) and
 *                posts spent in the window; om_usage_exhaust records the platform's own
 *                "quota used up" answer so no other job tries again before the reset.
 *   rate         a sliding 60-second window per (account, endpoint) in rate_events:
 *                om_rate_acquire waits until one more request fits (TikTok: 6 post/publish
 *                requests per minute per access token), then records it.
 *
 * Errors: the store's; OM_ETIMEOUT when cancelled while waiting. Times are microseconds.
 */
#ifndef OMNIVA_TARGETS_USAGE_H
#define OMNIVA_TARGETS_USAGE_H

#include <stdint.h>

#include "store/store.h"

typedef struct om_usage {
    int64_t units, posts;
    int64_t window_start_us, window_end_us;
} om_usage;

/* The window of `platform` that contains now_us: [*start, *end). */
void om_usage_window(const char *platform, int64_t now_us, int64_t *start_us, int64_t *end_us);
/* The account's usage in the window containing now_us (zeros when none recorded). */
int om_usage_get(om_store *s, const char *account_id, const char *platform, int64_t now_us,
                 om_usage *out);
/* Adds units/posts to the window containing now_us. */
int om_usage_add(om_store *s, const char *account_id, const char *platform, int64_t now_us,
                 int64_t units, int64_t posts);
/* The platform said the window is used up: its units become at least `units`. */
int om_usage_exhaust(om_store *s, const char *account_id, const char *platform, int64_t now_us,
                     int64_t units);
/* Waits (polling every 200 ms, cancel may be NULL) until fewer than per_minute requests of
 * (account, endpoint) were made in the last 60 s, then records this one. *waited_ms_out
 * (may be NULL) receives how long it waited. */
int om_rate_acquire(om_store *s, const char *account_id, const char *endpoint, long per_minute,
                    volatile int *cancel, int64_t *waited_ms_out);

#endif
