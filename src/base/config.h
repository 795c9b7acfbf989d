/*
 * config.h: the workspace configuration: the settings of src/base/settings.c (every key, its
 * type, range, default and doc in one table) with the values of DIR/omniva.conf (INI, parsed
 * with libinih), the environment and the command line laid over the defaults.
 *
 *   [store]  url = sqlite:omniva.db            relative to the workspace home, or
 *                  sqlite:///abs/omniva.db | postgres://user@host:port/db
 *   [queue]  url = sqlite | redis://host:port/db
 *   [media]  dir = media                        relative to the home (the default), or /abs
 *   [editor] crf = 20   ... every key: `omniva config show`, src/base/settings.c
 *
 * Precedence, highest first: flag (--db, --queue, --set section.key=value, om_config_set),
 * environment (OMNIVA_<SECTION>_<KEY>, plus OMNIVA_DB for store.url, OMNIVA_QUEUE for
 * queue.url, OMNIVA_LOG_LEVEL for log.level), the file, the table's default. Every value is
 * checked against its row when it is set: an unknown section or key, a value of the wrong
 * type or out of range is refused with OM_EINVAL naming the file, line and section.key (and
 * the nearest known key for a typo: "did you mean editor.crf?").
 *
 * Reading a setting: the typed getter of its type with the full name, no default (the table
 * has it): om_config_long(cfg, "editor.crf"). A name that is not in the table, or a getter
 * of the wrong type, is a programming error: it aborts naming the key. cfg may be NULL: the
 * table's defaults (no environment). Strings returned are borrowed, valid until
 * om_config_free (or the next set of that key). PATH settings come back absolute, resolved
 * against the home (with a NULL cfg: as written in the table).
 *
 * Home: --home DIR, else $OMNIVA_HOME, else the current directory (om_config_resolve_home).
 * Not thread-safe for writes; concurrent reads of a config nobody sets are fine.
 */
#ifndef OMNIVA_BASE_CONFIG_H
#define OMNIVA_BASE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

typedef struct om_config om_config;

typedef enum om_config_origin {
    OM_ORIGIN_DEFAULT = 0,
    OM_ORIGIN_FILE,
    OM_ORIGIN_ENV,
    OM_ORIGIN_FLAG
} om_config_origin;

/* Loads HOME/omniva.conf, then the environment. A missing file is OM_ENOTFOUND (message
 * names the path and 'omniva init'); a syntax error, unknown key or bad value is OM_EINVAL
 * listing every problem, one "FILE:LINE: section.key: why" per line. *out is NULL on error. */
int om_config_load(om_config **out, const char *home);
/* Loads one file (no environment), for `omniva config check FILE`; errors as above. */
int om_config_load_file(om_config **out, const char *home, const char *path);
/* Lays the environment over cfg (see precedence). OM_EINVAL names the variable and key. */
int om_config_apply_env(om_config *cfg);
om_config *om_config_new(const char *home); /* the defaults, rooted at home (NULL: ".") */
void om_config_free(om_config *cfg);

/* The home directory (absolute when it came from om_config_resolve_home); NULL for NULL. */
const char *om_config_home(const om_config *cfg);

/* Typed getters (see above). om_config_str serves STRING, ENUM and PATH settings. */
long om_config_long(const om_config *cfg, const char *key);
double om_config_double(const om_config *cfg, const char *key);
bool om_config_bool(const om_config *cfg, const char *key);
const char *om_config_str(const om_config *cfg, const char *key);

/* Where the effective value came from, and a detail for messages ("omniva.conf:12",
 * "OMNIVA_DB", "--db"; "" for a default). Borrowed. */
om_config_origin om_config_origin_of(const om_config *cfg, const char *key);
const char *om_config_origin_detail(const om_config *cfg, const char *key);
const char *om_config_origin_name(om_config_origin o); /* "default", "file", "env", "flag" */
/* The value as written (a PATH unresolved); the default's text when not set. Borrowed. */
const char *om_config_text(const om_config *cfg, const char *key);

/* Sets section.key with origin "flag" (the caller's choice wins over file and environment).
 * OM_EINVAL (message names section.key) when the value does not fit the row; an unknown
 * key is a programming error (abort). */
int om_config_set(om_config *cfg, const char *section, const char *key, const char *value);
/* Sets "section.key=value" from the command line (--set); detail is shown as the origin.
 * Unknown keys are OM_EINVAL with the nearest known key. */
int om_config_set_arg(om_config *cfg, const char *assignment, const char *detail);
/* Sets key ("section.key") with an explicit origin; a value of lower precedence than the
 * one in place is ignored (returns OM_OK). Errors as om_config_set_arg. */
int om_config_put(om_config *cfg, const char *key, const char *value, om_config_origin origin,
                  const char *detail);

/* Back to the default (origin "default"): what a setting removed from the file would be.
 * OM_EINVAL for an unknown key. */
int om_config_reset(om_config *cfg, const char *key);

/* HOME/omniva.conf as `omniva init` writes it: every section and key with its doc line;
 * keys set from the file or by flag written as `key = value`, the others commented out with
 * their default. om_config_render returns that text (caller frees); om_config_save writes it
 * atomically. */
char *om_config_render(const om_config *cfg);
int om_config_save(const om_config *cfg);

/* The effective store URL (a relative sqlite: path resolved against the home, as
 * sqlite:///abs/path; NULL when none is configured), queue URL and media dir (absolute).
 * Borrowed. */
const char *om_config_store_url(const om_config *cfg);
const char *om_config_queue_url(const om_config *cfg);
/* Paths in database rows (videos.file_path, artifacts.path, brand assets, a target's state)
 * are stored relative to the workspace home when they lie inside it, so a copied or moved
 * workspace reads and writes its own files; a path outside stays absolute. Both return a new
 * string (caller frees; NULL for NULL). cfg NULL: the path unchanged.
 *   om_config_path_to_row(cfg, "/ws/media/a.mp4") -> "media/a.mp4"
 *   om_config_path_from_row(cfg, "media/a.mp4") -> "/ws/media/a.mp4" (an absolute path, as
 *   old rows hold, comes back unchanged) */
char *om_config_path_to_row(const om_config *cfg, const char *path);
char *om_config_path_from_row(const om_config *cfg, const char *stored);
/* The same over the string members of obj whose key ends in "path" or "_dir" (a target's
 * state). */
void om_config_json_paths(const om_config *cfg, json_t *obj, int to_row);
/* A URL with any password replaced by "***", for messages and `config show`. Caller frees. */
char *om_url_redact(const char *url);
const char *om_config_media_dir(const om_config *cfg);

/* The home directory to use given an explicit --home (may be NULL). Caller frees. */
char *om_config_resolve_home(const char *explicit_home);

/* Settings as shown to an operator (`config show`, the API's settings page). The
 * effective value as text: PATH settings resolved, URLs' passwords redacted, and with
 * mask_secrets the value of a secret setting (om_setting_is_secret: a name ending in
 * "secret", "password" or "token") as "***" ("" when unset). Caller frees. */
struct om_setting;
int om_setting_is_secret(const char *name);
char *om_config_shown_value(const om_config *cfg, const struct om_setting *s, int mask_secrets);
/* {key, value, origin, type, default, doc[, source][, min, max][, choices][, resolved]}. */
json_t *om_config_setting_json(const om_config *cfg, const struct om_setting *s,
                               int mask_secrets);

#endif
