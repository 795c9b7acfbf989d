/*
 * scheduling.h: when a clip goes out. Three parts, each usable alone:
 *
 * Oracle: predicted engagement for each of the 168 hours of the week (Monday 00:00 = 0, in
 * the project's time zone). Each scraped post older than 6 hours contributes
 *   s = rel / (1 + rel),  rel = engagement value / its creator's median value (virality.h)
 * (0.5 = a typical post for that creator, so big creators do not drown small ones) to the
 * hour of week it was posted, weight 2 for the clip's own creator and 1 for the project's
 * other creators. Smoothing (circular): the same hour 1.0, +-1 h 0.5, +-2 h 0.25, and the
 * same hour on the other days 0.15 (a daily rhythm carries across days). The smoothed mean
 * is blended with a prior by sample weight:
 *   score[h] = (W[h] * observed[h] + K * prior[h]) / (W[h] + K),   K = 4
 * so thin history leaves the prior in charge. The prior (on the same 0..1 scale, 0.5 =
 * typical) peaks in the evening (19-21 h), has a lunch bump, is low at night, and is
 * flatter with a midday lift at the weekend.
 *
 * Horizon: the project's long-horizon rules: posts per local calendar day, a minimum gap
 * between posts, quiet hours in local time (start > end wraps midnight: 23..7 means
 * 23:00-06:59), checked against the existing schedule. Every rule that refuses a slot
 * says why.
 *
 * Zenith: the commit. Slots every step_min minutes (default 15, aligned to the hour) from
 * now (never in the past) to now + horizon_days (default 3), each valued
 *   oracle(t) * (1 - recency_per_day * days_ahead(t))      recency_per_day default 0.03
 * (a fresh clip loses a little by waiting, so an equal hour tomorrow loses to tonight);
 * recommended = the best slot ignoring Horizon; final = the best slot Horizon allows
 * (earliest on ties).
 * When none is allowed the window grows a day at a time up to 30 days. force_now ([schedule]
 * now = 1) commits now and records that the rules were bypassed. The adjustments JSON
 * (schedules.horizon_adjustments) records what moved and why:
 *   {"recommended_time","recommended_score","final_time","final_score","moved":bool,
 *    "timezone","final_local","rules":{..},"blocked":[{"time","local","score","reasons":[..]}],
 *    "oracle":{"samples","prior_weight","own_posts","project_posts"},"forced_now":bool}
 *
 * Ownership: JSON out values are the caller's; inputs are borrowed.
 */
#ifndef OMNIVA_COGNITION_SCHEDULING_H
#define OMNIVA_COGNITION_SCHEDULING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cognition/tz.h"

#define OM_HOURS_PER_WEEK 168
#define OM_ORACLE_PRIOR_K 4.0
/* Our own published clips' figures (the feedback loop: clip_stats) weigh 3 scraped posts
 * each: they are this account, this audience, this brand. With the prior's weight of 4 the
 * account's own curve takes over as its evidence grows (k results at an hour: 3k/(3k+4)). */
#define OM_ORACLE_RESULT_W 3.0

/* ---- Oracle ---- */
typedef struct om_oracle_post {
    int64_t posted_at_s;  /* UTC seconds; <= 0 unknown (skipped) */
    double views, likes, comments; /* < 0 unknown */
    const char *creator_id;        /* borrowed; groups posts for the per-creator median */
    int own;                       /* 1: the clip's own creator (weight 2) */
    int result;                    /* 1: one of our published clips (weight
                                    * OM_ORACLE_RESULT_W; group them per account) */
    int64_t measured_at_s;         /* when the figures were read; <= 0: now */
} om_oracle_post;

typedef struct om_oracle {
    double score[OM_HOURS_PER_WEEK];    /* blended prediction, [0,1] */
    double prior[OM_HOURS_PER_WEEK];
    double observed[OM_HOURS_PER_WEEK]; /* smoothed observation, 0 where weight is 0 */
    double weight[OM_HOURS_PER_WEEK];   /* smoothed sample weight W[h] */
    size_t samples, own_samples;        /* posts used */
    size_t result_samples;              /* ...of which our own published clips */
} om_oracle;

void om_oracle_prior(double out[OM_HOURS_PER_WEEK]);
void om_oracle_build(om_oracle *o, const om_tz *tz, const om_oracle_post *posts, size_t n,
                     int64_t now_s);
double om_oracle_at(const om_oracle *o, const om_tz *tz, int64_t utc_s);
/* The evidence of our own results for posting at chosen_s (the explanation's "this
 * account's clips at 18:00 averaged 2.3x views over 14 posts"): over the `result` posts,
 * {"posts": N, "hour": H (local hour of day of chosen_s), "hour_posts": n posted in that
 * hour, "hour_views_ratio": their mean views / the median views of all N (0 when n = 0)};
 * NULL when there are no results. Caller owns the JSON. */
json_t *om_oracle_result_evidence(const om_tz *tz, const om_oracle_post *posts, size_t n,
                                  int64_t chosen_s);

/* ---- Horizon ---- */
typedef struct om_horizon_rules {
    int posts_per_day;   /* <= 0: unlimited */
    int min_gap_minutes; /* <= 0: none */
    int quiet_start, quiet_end; /* local hours 0-23; equal: no quiet hours */
} om_horizon_rules;

/* From projects.brand (posts_per_day, min_gap_minutes, quiet_hours{start,end}); defaults
 * 3 / 120 / 23..7. */
void om_horizon_rules_from_brand(om_horizon_rules *r, const json_t *brand);
/* 1 when local hour `hour` is quiet. */
int om_horizon_is_quiet(const om_horizon_rules *r, int hour);
/* 1 when a post at t is allowed given the existing posts (UTC seconds); otherwise 0 and
 * every refusing rule is appended to `reasons` (a JSON array, may be NULL). */
int om_horizon_allows(const om_horizon_rules *r, const om_tz *tz, const int64_t *existing,
                      size_t nexisting, int64_t t, json_t *reasons);
json_t *om_horizon_rules_json(const om_horizon_rules *r);

/* ---- Zenith ---- */
typedef struct om_zenith_opts {
    int64_t now_s;
    int horizon_days; /* default 3 */
    int step_min;     /* default 15 */
    int force_now;    /* [schedule] now = 1 */
    double recency_per_day; /* waiting discount; < 0: default 0.03 */
} om_zenith_opts;

typedef struct om_zenith_result {
    int64_t final_s, recommended_s;
    double final_score, recommended_score;
    json_t *adjustments; /* caller's */
} om_zenith_result;

/* OM_EBUSY when Horizon allows no slot within 30 days (message says which rule). */
int om_zenith_choose(const om_oracle *o, const om_tz *tz, const om_horizon_rules *r,
                     const int64_t *existing, size_t nexisting, const om_zenith_opts *opts,
                     om_zenith_result *out);

#endif
