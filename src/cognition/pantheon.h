/*
 * pantheon.h: the selection committee (Pantheon), its vote merger (Chorus) and the
 * priority it hands to the pipeline (Lattice).
 *
 * Pantheon: independent agents each score a candidate clip in [0,1] with a weight and a
 * reason. Default weights (config [pantheon] weight_<agent> overrides, 0 disables):
 *
 *   hook          1.0  hooks in the opening seconds (clips.metadata.hook, else recomputed)
 *   energy        0.6  metadata.scores.energy: loudness vs the video and scene-cut rate
 *   relevance     1.2  stemmed match of the transcript against the brief and keywords,
 *                      recomputed against the project's current brand (abstains without);
 *                      words the analyzer heard below analyze.min_word_confidence
 *                      (metadata.low_confidence_words) do not count, as in the analysis;
 *                      below [pantheon] min_relevance (default 0.05) the clip is off-brand:
 *                      VETO (0 disables), so a project never posts what is not about it
 *   virality      1.0  the analyzer's virality prior (hook, energy, pace, engagement)
 *   novelty       0.8  1 - the highest word-shingle Jaccard (3-word shingles over stems)
 *                      against the project's clips already SELECTED/RENDERED/SCHEDULED/
 *                      PUBLISHED, from any creator; Jaccard >= [pantheon] duplicate_jaccard
 *                      (default 0.8) is a near-duplicate: VETO
 *   brand_safety  0.6  banned words/phrases of the brand (stem or exact match): VETO
 *   length        0.5  closeness of the clip length to the preferred range (default the
 *                      lower middle of clip_min_s..clip_max_s: min+15%..min+55% of the span;
 *                      [pantheon] preferred_min_s/preferred_max_s override); 1 inside,
 *                      falling linearly to 0.5 at the hard limits, 0 outside them
 *   llm           1.0  only when [pantheon] llm_url is set: an OpenAI-compatible
 *                      /chat/completions endpoint ([pantheon] llm_model, llm_timeout_ms,
 *                      API key from the environment variable named by llm_api_key_env,
 *                      default OMNIVA_LLM_API_KEY) rates the transcript against the brief;
 *                      when the call fails the agent abstains (weight 0) and says why
 *
 * An agent that has nothing to judge abstains: weight 0, with the reason.
 * Per project, the configured weights are multiplied by factors learned from how our own
 * published clips did (cognition/learn.h, stages/weights.h; om_pantheon_set_weight).
 *
 * Chorus: confidence = sum(w*s)/sum(w) over agents with w > 0; disagreement = weighted
 * standard deviation sqrt(sum(w*(s-confidence)^2)/sum(w)); any veto rejects the clip
 * whatever the confidence.
 *
 * Lattice: priority = confidence * freshness * diversity, in [0,1]:
 *   freshness = 0.6 + 0.4 * 2^(-post_age_hours / 72)          (0.8 when the age is unknown)
 *   diversity = 1 - 0.6 * over / (1 - fair)   with fair = 1/ncreators and over =
 *               max(0, share - fair), share = this creator's part of the project's recent
 *               selections; 1 with one creator or no history.
 * The top clips_per_video clips of a video by priority (not vetoed, confidence >=
 * [pantheon] min_confidence, default 0.3) are SELECTED, the others REJECTED with a reason.
 *
 * Ownership: om_pantheon is the caller's (om_pantheon_free); clips and JSON passed in are
 * borrowed; JSON returned is the caller's.
 */
#ifndef OMNIVA_COGNITION_PANTHEON_H
#define OMNIVA_COGNITION_PANTHEON_H

#include <jansson.h>
#include <stddef.h>

#include "base/config.h"

#define OM_AGENT_NAME_MAX 32
#define OM_REASON_MAX 512
#define OM_PANTHEON_MAX_AGENTS 16

typedef struct om_vote {
    char agent[OM_AGENT_NAME_MAX];
    double score;  /* [0,1] */
    double weight; /* >= 0; 0 means the agent abstained */
    int veto;      /* 1: reject regardless of the others */
    char reason[OM_REASON_MAX];
} om_vote;

/* What the agents see of one candidate (all borrowed). */
typedef struct om_pantheon_clip {
    const char *clip_id;
    const char *creator_id;  /* may be NULL */
    double start, end;       /* seconds */
    const char *transcript;  /* may be NULL: metadata.transcript is used */
    const json_t *metadata;  /* clips.metadata (hook, scores, transcript); may be NULL */
    double post_age_hours;   /* < 0 unknown */
} om_pantheon_clip;

typedef struct om_pantheon om_pantheon;

/* A committee for a project: brand (projects.brand JSON, borrowed for the committee's
 * life) and config (may be NULL: defaults). */
om_pantheon *om_pantheon_new(const json_t *brand, const om_config *cfg);
void om_pantheon_free(om_pantheon *p);
/* Adds a clip the project already chose (for novelty). Strings are copied. */
void om_pantheon_add_prior(om_pantheon *p, const char *clip_id, const char *creator_id,
                           const char *transcript);
size_t om_pantheon_nagents(const om_pantheon *p);
/* The i-th agent's name (static storage; NULL past the last) and its weight in p. */
const char *om_pantheon_agent_name(size_t i);
double om_pantheon_weight(const om_pantheon *p, size_t i);
/* Sets one agent's weight (a learned weight, stages/weights.c; < 0 counts as 0).
 * OM_ENOTFOUND for an unknown agent. */
int om_pantheon_set_weight(om_pantheon *p, const char *agent, double w);
/* Overrides the LLM endpoint (tests; NULL disables). Copies. */
void om_pantheon_set_llm(om_pantheon *p, const char *url, const char *model, long timeout_ms);

/* Every agent votes: votes[] must hold OM_PANTHEON_MAX_AGENTS. Returns OM_OK (agents never
 * fail the committee: a broken agent abstains with its reason). */
int om_pantheon_vote(om_pantheon *p, const om_pantheon_clip *clip, om_vote *votes,
                     size_t *n_out);
/* {agent: {"score","weight","reason"[,"veto":true]}} as stored in clips.pantheon_votes. */
json_t *om_votes_json(const om_vote *v, size_t n);
/* Back from clips.pantheon_votes JSON (n <= max). */
size_t om_votes_from_json(const json_t *j, om_vote *v, size_t max);

/* ---- Chorus ---- */
typedef struct om_chorus {
    double confidence;   /* weighted mean, [0,1]; 0 when no agent voted */
    double disagreement; /* weighted std-dev, [0,0.5] */
    double total_weight;
    int voters;          /* agents with weight > 0 */
    int vetoed;
    char veto_agent[OM_AGENT_NAME_MAX];
    char veto_reason[OM_REASON_MAX];
} om_chorus;

void om_chorus_merge(const om_vote *v, size_t n, om_chorus *out);
/* {"confidence","disagreement","voters","veto":{agent,reason}|null} */
json_t *om_chorus_json(const om_chorus *c);

/* ---- Lattice ---- */
typedef struct om_lattice_in {
    double confidence;     /* Chorus */
    double post_age_hours; /* < 0 unknown */
    double creator_share;  /* [0,1]: the creator's share of recent selections; < 0 none */
    size_t ncreators;      /* creators in the project */
} om_lattice_in;

typedef struct om_lattice_out {
    double priority, freshness, diversity;
} om_lattice_out;

void om_lattice_priority(const om_lattice_in *in, om_lattice_out *out);

/* Ranking one video's candidates: items in, selected/reason out. */
typedef struct om_rank_item {
    double priority, confidence;
    int vetoed;
    const char *veto_reason; /* borrowed */
    int selected;            /* out */
    int rank;                /* out: 1-based by priority among all items */
    char reason[OM_REASON_MAX]; /* out: why selected / rejected */
} om_rank_item;

/* Marks the top `per_video` eligible items (not vetoed, confidence >= min_confidence). */
void om_lattice_rank(om_rank_item *items, size_t n, size_t per_video, double min_confidence);

/* ---- LLM agent transport (llm.c) ---- */
/* POSTs an OpenAI chat-completions request to url (".../v1" or ".../chat/completions"),
 * asking for {"score":0..1,"reason":".."} about the transcript against the brief. Reads
 * choices[0].message.content, which may wrap the JSON in prose or a code fence.
 * OM_EUNAVAIL when unreachable/timed out, OM_EINVAL when the answer is not usable. */
int om_llm_rate(const char *url, const char *model, const char *api_key, long timeout_ms,
                const char *brief, const char *transcript, double *score_out,
                char reason_out[OM_REASON_MAX]);

#endif
