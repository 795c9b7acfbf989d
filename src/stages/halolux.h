/*
 * halolux.h: explanations. Turns what the pipeline recorded about one clip (the Pantheon's
 * votes, Chorus and Lattice, the edit plan and the editor's decisions, Oracle/Horizon/Zenith's
 * schedule, the publishing target's result, and the Stardust ledger packets of the clip,
 * its video, post, creator, edit job, schedule and upload jobs) into an answer to "why this
 * clip, why this crop, why this time, where did it go" (`omniva explain CLIP`).
 *
 * Ownership: *out is the caller's (free() for text, json_decref for JSON).
 */
#ifndef OMNIVA_STAGES_HALOLUX_H
#define OMNIVA_STAGES_HALOLUX_H

#include <jansson.h>

#include "store/store.h"

/* Plain-language text (as_json 0) or the JSON document (as_json 1, pretty-printed) about
 * one clip. OM_ENOTFOUND for an unknown clip, OM_EINVAL for a malformed id. */
int om_halolux_explain(om_store *s, const char *clip_id, int as_json, char **out);

/* The structured explanation:
 *   {"clip":{..}, "why":{"decision","reason","rank","confidence","disagreement","agreement",
 *    "veto","lattice","votes":[{"agent","score","weight","reason","veto"}..],"analyzer":{..}},
 *    "edit":{..}|null, "schedule":{..}|null, "export":[..], "ledger":[..]} */
int om_halolux_collect(om_store *s, const char *clip_id, json_t **out);

#endif
