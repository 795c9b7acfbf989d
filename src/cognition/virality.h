/*
 * virality.h: the virality prior of a clip, from what can be measured before publishing.
 *
 *   virality = 0.35 * hook + 0.25 * energy + 0.15 * pace + 0.25 * engagement
 *
 *   hook        hooks.h score of the opening seconds                         [0,1)
 *   energy      0.7 * loud + 0.3 * scenes
 *               loud   = 1 / (1 + exp(-d / 3)), d = mean short-term loudness in the clip
 *                        minus the video's mean, in LU (0.5 when loudness is unknown)
 *               scenes = 1 - exp(-r / 8), r = scene cuts per minute in the clip
 *   pace        exp(-((wpm - 165) / 70)^2): lively speech around 165 words/min scores 1,
 *               120 or 210 wpm about 0.66, silence 0
 *   engagement  rel / (1 + rel) where rel = the post's engagement value divided by the
 *               creator's median value (0.5 = a typical post for this creator); 0.5 when
 *               unknown
 *
 * Engagement value of a post, normalised by age: a post gathers most of its views in its
 * first days, so its counts are divided by the expected fraction of lifetime engagement
 * reached at its age:
 *   value = (views + 10 * likes + 30 * comments) / (1 - exp(-age_days / 3))
 * with age_days = (now - posted_at) / 86400, at least 0.25 (a young post is scaled up, an
 * old one counts as it stands); unknown counts count as 0; a post with no counts at all
 * has no value (negative return).
 *
 * Everything here is pure; scores are clamped to [0,1].
 */
#ifndef OMNIVA_COGNITION_VIRALITY_H
#define OMNIVA_COGNITION_VIRALITY_H

#include <jansson.h>
#include <stddef.h>

typedef struct om_virality_in {
    double hook;       /* [0,1] */
    double energy;     /* [0,1] */
    double pace;       /* [0,1] */
    double engagement; /* [0,1], or < 0 when unknown (counts as 0.5) */
} om_virality_in;

double om_virality_score(const om_virality_in *in);
/* loud_rel_db: clip minus video mean (LU); have_loudness 0 -> loud part 0.5. */
double om_energy_score(double loud_rel_db, int have_loudness, double scenes_per_min);
double om_pace_score(double wpm);

/* Post counts from a raw_metadata JSON object: view_count|views|viewCount|play_count,
 * like_count|likes|likeCount|digg_count, comment_count|comments|commentCount (numbers or
 * numeric strings, also nested under "statistics"). Missing -> -1. */
void om_post_counts(const json_t *raw_metadata, double *views, double *likes,
                    double *comments);
/* Engagement value (see above); < 0 when views, likes and comments are all unknown. */
double om_engagement_value(double views, double likes, double comments, double age_hours);
/* rel / (1 + rel) with rel = value / creator_median; 0.5 when either is unknown (< 0)
 * or the median is 0. */
double om_engagement_score(double value, double creator_median);
/* Median of the non-negative values (negative ones are unknown and skipped); -1 when
 * there are none. Sorts a copy. */
double om_median(const double *v, size_t n);

#endif
