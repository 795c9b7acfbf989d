/*
 * config.h: the workspace configuration, DIR/omniva.conf (INI, parsed with libinih).
 *
 *   [store]  url = sqlite:///abs/omniva.db | postgres://user@host:port/db
 *   [queue]  url = sqlite | redis://host:port/db
 *   [media]  dir = /abs/media
 *   [log]    level = info
 *   ...any other section.key the subsystems read (asr.engine, scraper.max_height, ...)
 *
 * Resolution: --home DIR, else $OMNIVA_HOME, else the current directory. --db/--queue (and
 * $OMNIVA_DB/$OMNIVA_QUEUE) override store.url/queue.url. om_config owns all its strings;
 * om_config_get returns borrowed pointers valid until om_config_free.
 */
#ifndef OMNIVA_BASE_CONFIG_H
#define OMNIVA_BASE_CONFIG_H

typedef struct om_config om_config;

/* Loads HOME/omniva.conf. A missing file is OM_ENOTFOUND (message names the path); a syntax
 * error is OM_EINVAL naming the line. */
int om_config_load(om_config **out, const char *home);
om_config *om_config_new(const char *home); /* empty config rooted at home */
void om_config_free(om_config *cfg);

const char *om_config_home(const om_config *cfg);
const char *om_config_get(const om_config *cfg, const char *section, const char *key,
                          const char *def);
long om_config_get_long(const om_config *cfg, const char *section, const char *key, long def);
double om_config_get_double(const om_config *cfg, const char *section, const char *key,
                            double def);
void om_config_set(om_config *cfg, const char *section, const char *key, const char *value);
/* Writes HOME/omniva.conf atomically. */
int om_config_save(const om_config *cfg);

/* The effective store/queue URL and media dir (overrides applied). Borrowed. */
const char *om_config_store_url(const om_config *cfg);
const char *om_config_queue_url(const om_config *cfg);
const char *om_config_media_dir(const om_config *cfg);

/* The home directory to use given an explicit --home (may be NULL). Caller frees. */
char *om_config_resolve_home(const char *explicit_home);

#endif
