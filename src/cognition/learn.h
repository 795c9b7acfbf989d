/*
 * learn.h: Pantheon's agent weights learned from our own results (the feedback loop's
 * selection side). Pure arithmetic: stages/weights.c brings the samples from the store.
 *
 * A sample is one published clip of the project: each agent's score on it (from
 * clips.pantheon_votes; an agent that abstained has no score) and the outcome, the clip's
 * log views minus the mean log views of the same target (so an account that is bigger
 * does not look like a better agent).
 *
 * One step:
 *   1. Per agent with a base weight > 0 and at least `min_samples` scores: z-scores over
 *      the samples (a missing score counts as the agent's mean). An agent whose scores
 *      barely vary (sd < 0.01) cannot be judged: not learned, with that reason.
 *   2. Ridge regression of the standardised outcome on those z-scores:
 *        beta = (R + ridge * I)^-1 r,  R = Z'Z / n (the agents' correlations),
 *                                      r = Z'y / n (each agent's correlation with views)
 *      beta_a is how many standard deviations of log views one standard deviation of the
 *      agent's score predicts, the others held fixed; the ridge keeps a handful of clips
 *      from swinging it.
 *   3. The weight the evidence points at: target_a = base_a * exp(gain * beta_a), kept
 *      within [base_a / bound, base_a * bound].
 *   4. A bounded step from the current weight toward it: the ratio target/current limited
 *      to [1 / (1 + max_step), 1 + max_step]. Repeated steps on the same evidence converge
 *      on the target, never past it.
 * Fewer than `min_samples` samples, or views that are all alike: nothing is learned and
 * om_learn_weights says why (OM_OK with learned 0).
 */
#ifndef OMNIVA_COGNITION_LEARN_H
#define OMNIVA_COGNITION_LEARN_H

#include <stddef.h>

#include "cognition/pantheon.h"

typedef struct om_learn_sample {
    double score[OM_PANTHEON_MAX_AGENTS];
    unsigned char has[OM_PANTHEON_MAX_AGENTS]; /* 0: the agent abstained on this clip */
    double outcome;                            /* log views, centred per target */
} om_learn_sample;

typedef struct om_learn_params {
    size_t min_samples; /* >= 3 */
    double ridge;       /* >= 0 */
    double gain;        /* > 0 */
    double max_step;    /* > 0: one step changes a weight by at most this factor */
    double bound;       /* >= 1: weights stay within base / bound .. base * bound */
} om_learn_params;

typedef struct om_learn_agent {
    /* in */
    char name[OM_AGENT_NAME_MAX];
    double base;    /* the configured weight (pantheon.weight_<name>) */
    double current; /* the weight in use now (base before the first step) */
    /* out */
    int learned;    /* 1 when the evidence judged this agent */
    size_t n;       /* samples where it voted */
    double corr;    /* correlation of its score with the outcome */
    double beta;    /* ridge coefficient (standardised) */
    double target, next;
    char why[160];  /* one sentence: what the evidence says about it */
} om_learn_agent;

/* Runs one step over `n` samples for `nagents` agents (<= OM_PANTHEON_MAX_AGENTS; sample
 * score/has index = agent index). Fills the agents' out fields (next = current when not
 * learned) and *learned_out (agents learned). why_out (may be NULL, size whylen) says why
 * nothing was learned when *learned_out is 0. OM_EINVAL for bad parameters. */
int om_learn_weights(const om_learn_sample *s, size_t n, om_learn_agent *agents,
                     size_t nagents, const om_learn_params *prm, size_t *learned_out,
                     char *why_out, size_t whylen);

#endif
