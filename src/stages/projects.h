/*
 * projects.h: the projects + creators domain API used by the CLI (`omniva project ...`,
 * `omniva creator ...`) and the stages.
 *
 * Brand settings (projects.brand) are JSON. A brand FILE is the same JSON object in a file
 * (UTF-8, at most 1 MiB); every key is optional and missing keys get these defaults:
 *   {"keywords": [], "brief": "", "banned_words": [], "logo": null,
 *    "caption": {"font": "DejaVu Sans", "size": 64, "color": "#FFFFFF",
 *                "highlight_color": "#FFD700", "outline_color": "#000000",
 *                "position": "bottom", "style": "karaoke"},
 *    "clip_min_s": 15, "clip_max_s": 60, "clips_per_video": 3, "posts_per_day": 3,
 *    "min_gap_minutes": 120, "quiet_hours": {"start": 23, "end": 7}, "timezone": "UTC",
 *    "targets": ["export"], "export_dir": null, "reframe": "content",
 *    "loudness_target": -14, "intro": null, "outro": null,
 *    "youtube": {"category_id": null, "default_language": null, "privacy_status": null,
 *                "made_for_kids": false, "contains_synthetic_media": false},
 *    "tiktok": {"privacy_level": null, "is_aigc": false},
 *    "jump_cuts": false, "jump_cut_pause": 0.6, "audiogram": "waves"}
 * Rules (violations are OM_EINVAL; every problem found is reported, "; "-separated, each
 * naming the key, e.g. "brand.caption.color: ..."):
 *   unknown keys (at any level) are refused with the closest known key suggested;
 *   keywords, banned_words: arrays of non-empty strings (<= 500 items, <= 200 chars each);
 *   brief: string (<= 20000 chars); colours: "#RRGGBB" or "#RRGGBBAA" (stored upper-case);
 *   caption.size 8..300; caption.position bottom|middle|top; caption.font non-empty;
 *   caption.style karaoke|pop|lower_third (media/captions.h: the presets, the keywords in
 *   the highlight colour, the per-target safe areas);
 *   clip_min_s, clip_max_s: numbers within 5..180 and clip_min_s < clip_max_s;
 *   clips_per_video 1..20; posts_per_day 1..48; min_gap_minutes 0..1440;
 *   quiet_hours: null (none) or {"start": 0..23, "end": 0..23};
 *   timezone: an IANA name with a TZif file under $TZDIR or /usr/share/zoneinfo ("UTC" always);
 *   targets: non-empty, unique, each a registered target ("export", "youtube", "tiktok",
 *   "instagram"); a target that posts to an account needs one linked to the project
 *   (`omniva account add youtube|tiktok|instagram PROJECT`), so a new project cannot name
 *   it yet: created with "export",
 *   linked, then updated (the error says so, naming the target);
 *   youtube: category_id (1..4 characters) and default_language (a BCP-47 tag) null or a
 *   string, privacy_status null or public|unlisted|private (null: the youtube.* settings),
 *   made_for_kids and contains_synthetic_media (the AI-disclosure flag) true/false;
 *   tiktok: privacy_level null or PUBLIC_TO_EVERYONE|MUTUAL_FOLLOW_FRIENDS|
 *   FOLLOWER_OF_CREATOR|SELF_ONLY (null: tiktok.privacy_level; tiktok.audited false makes
 *   every post SELF_ONLY), is_aigc (TikTok's AI-generated label) true/false;
 *   reframe: content|center|blur_pad|auto|speaker|split (auto = speaker: the crop follows
 *   the speaking face, a wide group gets blur_pad, no face the content crop; split also
 *   stacks two people who both speak; stages/editframe.h); loudness_target: -40..-5 (LUFS);
 *   jump_cuts true/false: pauses between words longer than jump_cut_pause (0.2..5 s; default
 *   editor.jump_cut_pause) are cut out of a clip (media/jumpcut.h); audiogram waves|spectrum:
 *   the visual of a clip from an audio-only source;
 *   logo: null or a PNG file (checked by its signature); intro/outro: null or an existing
 *   media file; export_dir: null (default <home>/exports/<project name>) or a folder.
 *   Relative paths (logo, intro, outro, export_dir) are resolved against `home`, which the
 *   CLI sets to the directory of the brand file when the brand came from a file (else the
 *   workspace); stored paths are absolute.
 * The stored brand is the full normalised object (defaults filled in); projects.timezone
 * and projects.targets mirror brand.timezone and brand.targets.
 *
 * Creators: om_creator_add classifies the URL (sources/sources.h: TikTok, Instagram,
 * YouTube, feed, direct, local), creates the creator once per (platform, normalised
 * username) and links it to the project (idempotent). Removing a creator unlinks it from
 * the project; the creators row stays (posts and the ledger refer to it).
 *
 * Projects are named by id (UUID) or name wherever `project` is taken. Names: 1..100 bytes,
 * no '/', '\', control characters, leading '.' or '-', or surrounding spaces, and not a UUID.
 *
 * Ownership: json_t **out results are new references, the caller's (json_decref); *text
 * results are the caller's (free).
 */
#ifndef OMNIVA_STAGES_PROJECTS_H
#define OMNIVA_STAGES_PROJECTS_H

#include <jansson.h>

#include "base/timeutil.h"
#include "store/store.h"

/* ---- brand settings ---- */

/* The default brand object (new reference). */
json_t *om_brand_defaults(void);
/* Validates brand JSON text (NULL or "" = all defaults) and returns the full normalised
 * brand in *out. OM_EINVAL with every problem named. */
int om_brand_normalize(const char *brand_json, const char *home, json_t **out);
/* Applies `patch_json` over an existing normalised brand (objects such as caption and
 * quiet_hours merge key by key; "quiet_hours": null clears) and validates the result. */
int om_brand_patch(const json_t *base, const char *patch_json, const char *home, json_t **out);
/* Reads a brand file (<= 1 MiB) into *text_out; OM_ENOTFOUND / OM_EINVAL naming the path. */
int om_brand_read_file(const char *path, char **text_out);

/* ---- projects ---- */

/* Creates a project; OM_EEXISTS when the name is taken, OM_EINVAL for a bad name/brand. */
int om_project_create(om_store *s, const char *name, const char *brand_json, const char *home,
                      char id_out[OM_UUID_LEN]);
/* Resolves a project id or name to its id (OM_ENOTFOUND naming it). */
int om_project_resolve(om_store *s, const char *project, char id_out[OM_UUID_LEN]);
/* {"project_id", "name", "brand": {...}, "timezone", "targets": [...], "created_at",
 *  "updated_at", "creators": N} */
int om_project_get(om_store *s, const char *project, json_t **out);
/* Array of the objects above, ordered by name. */
int om_project_list(om_store *s, json_t **out);
/* Patches the brand (see om_brand_patch) and stores it (updated_at bumped). */
int om_project_update_brand(om_store *s, const char *project, const char *patch_json,
                            const char *home);

/* ---- creators ---- */

/* Adds (or finds) the creator behind `url` and links it to the project. OM_EINVAL with the
 * list of supported URL forms for an unsupported URL; a local folder must exist. */
int om_creator_add(om_store *s, const char *project, const char *url,
                   char creator_id_out[OM_UUID_LEN]);
/* Same; *created_out (may be NULL) = 1 when the creator row is new, *linked_out = 1 when
 * the project link is new. */
int om_creator_add_ex(om_store *s, const char *project, const char *url,
                      char creator_id_out[OM_UUID_LEN], int *created_out, int *linked_out);
/* Array of {"creator_id", "platform", "username", "profile_url", "added_at", "posts",
 * "videos", "last_posted_at"} for the project, in the order they were added. */
int om_creator_list(om_store *s, const char *project, json_t **out);
/* `creator` is a creator id or the creator's URL (any form om_creator_add accepts).
 * OM_ENOTFOUND when it is not linked to the project. */
int om_creator_remove(om_store *s, const char *project, const char *creator);
/* {"creator_id", "platform", "username", "profile_url", "created_at", "projects": [ids]} */
int om_creator_get(om_store *s, const char *creator_id, json_t **out);

#endif
