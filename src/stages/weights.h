/*
 * weights.h: Pantheon's agent weights per project, learned from how our own published
 * clips did (clip_stats) — the selection side of the feedback loop. The arithmetic is
 * cognition/learn.h; this file brings the samples from the store, keeps the result in
 * `pantheon_weights` (one row per project, migration 21) and records every step in the
 * ledger (a packet about the project: each agent's base, before, target and after weight,
 * its correlation with views and its coefficient, and how many clips and readings spoke).
 *
 * Stored is each agent's factor over its configured weight, so an operator who changes
 * pantheon.weight_<agent> later moves the learned weight with it, and 0 still disables.
 *
 * When a step is due: pantheon.learn_min_clips > 0, at least that many published clips of
 * the project have figures, there are readings the last step did not see, and the last
 * step is pantheon.learn_interval_s old or more. The select stage asks before it votes.
 *
 * Ownership: *info_out / *report_out are the caller's (json_decref). Errors: the store's;
 * nothing is written when a step fails.
 */
#ifndef OMNIVA_STAGES_WEIGHTS_H
#define OMNIVA_STAGES_WEIGHTS_H

#include <jansson.h>

#include "base/config.h"
#include "cognition/pantheon.h"
#include "store/store.h"

/* A learning step when one is due (force: whenever there is evidence, interval or not),
 * outside any open transaction. *report_out (may be NULL) = {"stepped":bool, "why":s,
 * "clips", "readings", "steps", "stardust_id"?, "agents":{agent:{base,before,target,after,
 * corr,beta,n,learned,why}}}. */
int om_weights_learn(om_store *s, const om_config *cfg, const char *project_id, int force,
                     json_t **report_out);

/* Sets the project's learned weights on p (the configured weight x the learned factor).
 * *info_out = {"clips","readings","steps","stardust_id","factors":{agent:f}} when the
 * project has learned weights, else NULL. */
int om_weights_apply(om_store *s, const om_config *cfg, const char *project_id,
                     om_pantheon *p, json_t **info_out);

#endif
