/*
 * clipinfo.h: one clip with everything around it (video, post, creator, project, brand),
 * loaded in a few queries. Shared by the select/schedule/upload stages and HaloLux.
 *
 * The project: clips have no project column; a clip belongs to the projects its creator
 * was added to. The caller's project id (a job's payload.project_id) wins when the creator
 * is in that project; otherwise the project the creator joined first. A clip whose creator
 * is in no project gets an empty brand, time zone UTC, targets ["export"].
 *
 * Ownership: everything in om_clip_info is owned by it (om_clip_info_release).
 */
#ifndef OMNIVA_STAGES_CLIPINFO_H
#define OMNIVA_STAGES_CLIPINFO_H

#include <jansson.h>
#include <stdint.h>

#include "base/timeutil.h"
#include "store/store.h"

typedef struct om_clip_info {
    char clip_id[OM_UUID_LEN], video_id[OM_UUID_LEN], post_id[OM_UUID_LEN];
    char creator_id[OM_UUID_LEN], project_id[OM_UUID_LEN]; /* project_id "" when none */
    char analysis_id[OM_UUID_LEN];                         /* "" when none */
    double start, end;
    double confidence, lattice_priority; /* NAN when NULL */
    char *status;
    json_t *metadata;      /* object ({} when NULL) */
    json_t *votes;         /* pantheon_votes object, or NULL */
    json_t *semantic_tags; /* array ([] when NULL) */
    char *created_at;
    /* video / post / creator */
    char *video_path;
    char *post_url;
    int64_t posted_at_us;  /* 0 when unknown */
    json_t *raw_metadata;  /* object or NULL */
    char *platform, *username;
    /* project */
    char *project_name;    /* NULL when none */
    char *timezone;        /* brand.timezone, else projects.timezone, else "UTC" */
    json_t *brand;         /* object ({} when none) */
    json_t *targets;       /* array (brand.targets, else projects.targets, else ["export"]) */
} om_clip_info;

/* OM_ENOTFOUND when the clip does not exist; OM_EINVAL for a malformed id. */
int om_clip_info_load(om_store *s, const char *clip_id, const char *project_hint,
                      om_clip_info *out);
void om_clip_info_release(om_clip_info *ci);

/* Parses JSON text from the store (NULL -> NULL); never fails loudly: bad text -> NULL. */
json_t *om_json_from_db(const char *text);
/* The project's export folder: brand.export_dir, else <home>/exports/<project name>
 * (name with '/' and leading dots made safe). Caller frees. */
char *om_export_dir(const om_clip_info *ci, const char *home);

#endif
