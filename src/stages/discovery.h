/*
 * discovery.h: the discovery worker's proposals (table `discoveries`, migration 10), shared by
 * the `discovery` stage (discovery.c), `omniva discover` and the API.
 *
 * The `discovery` job (payload {project_id}; INIT -> GATHER -> SCORE -> PROPOSE, log source
 * "discovery_worker") finds creators the project does not follow:
 *   GATHER   @handles and links in the titles, descriptions and captions of the followed
 *            creators' posts (posts.raw_metadata; an @handle on a TikTok/Instagram post is that
 *            platform's, else YouTube's; a link is whatever om_source_classify makes of it, a
 *            feed being a "feed_link"), and YouTube search through yt-dlp (`ytsearchN:` of each
 *            brand keyword, N = discovery.search_results; the channel of every result);
 *            at most discovery.max_candidates, followed creators left out;
 *   SCORE    each candidate's recent posts (discovery.recent_posts, listed by its source
 *            driver): relevance = the mean of the analyzer's relevance (cognition/relevance.h)
 *            of each post's title and description to the brief and keywords; cadence = posts
 *            per week over their dates; score = 0.75 relevance + 0.25 min(1, per_week / 7);
 *   PROPOSE  candidates scoring at least discovery.min_score become (or refresh) `proposed`
 *            rows; with discovery.auto_follow they are followed at once (om_creator_add;
 *            status accepted, decided_by "auto_follow"); one ledger packet for the project
 *            names what was proposed and why.
 *
 * Ownership: *out JSON is the caller's. Errors: OM_ENOTFOUND for an unknown project or
 * proposal, OM_EINVAL for a proposal already decided (naming when and by whom).
 */
#ifndef OMNIVA_STAGES_DISCOVERY_H
#define OMNIVA_STAGES_DISCOVERY_H

#include <jansson.h>

#include "store/store.h"

/* The project's proposals (status NULL: any), best score first: array of {discovery_id,
 * url, platform, handle, source, found_in, relevance, posts_per_week, score, evidence,
 * status, creator_id, decided_by, decided_at, created_at, updated_at}. */
int om_discovery_list(om_store *s, const char *project, const char *status, json_t **out);

/* Accepts (follows the creator: om_creator_add) or rejects a proposal of the project. by NULL:
 * "operator". *out (may be NULL) receives the row after the decision. */
int om_discovery_decide(om_store *s, const char *project, const char *discovery_id, int accept,
                        const char *by, json_t **out);

/* GATHER's scanner on one text: the @handles (of `platform`'s network: tiktok, instagram,
 * else YouTube) and links in it, classified, at most `max`, as an array of {url, platform,
 * handle, source, snippet}. Never fails on any text (unusable mentions are skipped). */
int om_discovery_scan(const char *text, const char *platform, size_t max, json_t **out);

#endif
