/*
 * cliplist.h: the clip list query shared by the CLI (`omniva clips`) and the HTTP API
 * (GET /api/v1/clips): filters, sort and paging in one SQL text both backends run.
 *
 * Filters (NULL/NAN = none): project (id; clips whose creator follows it), status
 * (upper-case CLIP status), creator (id), since/until (created_at, canonical timestamps,
 * until exclusive), min_score (confidence >=).
 * Sort: "priority" (default: lattice priority, then confidence, best first), "created"
 * (oldest first), "-created" (newest first), "score" (confidence, best first).
 * Paging: limit 1..500; offset, or a cursor from a previous page's next_cursor (opaque:
 * created_at + clip_id for the created sorts, the next offset for the others).
 *
 * Ownership: *out (a JSON array) and *next_cursor_out (NULL on the last page) are the
 * caller's.
 */
#ifndef OMNIVA_STAGES_CLIPLIST_H
#define OMNIVA_STAGES_CLIPLIST_H

#include <jansson.h>

#include "store/store.h"

typedef struct om_clip_filter {
    const char *project, *status, *creator, *since, *until;
    double min_score;
    const char *sort;
    long limit, offset;
    const char *cursor;
} om_clip_filter;

/* OM_EINVAL for a bad sort or cursor (naming it). Each item: {"clip_id", "status", "start",
 * "end", "duration", "confidence", "lattice_priority", "title", "hook", "video_id",
 * "creator_id", "virality", "relevance", "render_path", "scheduled", "created_at"}. */
int om_clip_list(om_store *s, const om_clip_filter *f, json_t **out, char **next_cursor_out);

#endif
