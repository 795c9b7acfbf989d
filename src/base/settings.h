/*
 * settings.h: the table of every omniva.conf setting (redis config.c style): name
 * ("section.key"), type, range or choices, default and one line of doc, in one place,
 * src/base/settings.c. Nobody else states a default: code reads a setting through the typed
 * getters of config.h (om_config_long(cfg, "editor.crf")), which know the default from here.
 *
 * Why two files: settings.c is the table a person adding a key edits (data only); config.c
 * is the machinery (loading, validation, environment and flags, origins) behind config.h.
 *
 * Adding a setting: one row in settings.c (keep the section's rows together), then read it
 * with the getter of its type. `omniva config show` lists it, `omniva config check` and
 * every load validate it, `omniva init` writes it commented into a new omniva.conf.
 */
#ifndef OMNIVA_BASE_SETTINGS_H
#define OMNIVA_BASE_SETTINGS_H

#include <stddef.h>

typedef enum om_setting_type {
    OM_SETTING_STRING, /* free text */
    OM_SETTING_PATH,   /* a file-system path; relative ones resolve against the workspace home */
    OM_SETTING_LONG,   /* integer in [min, max] */
    OM_SETTING_DOUBLE, /* finite number in [min, max] */
    OM_SETTING_BOOL,   /* true/false, yes/no, on/off, 1/0 */
    OM_SETTING_ENUM    /* one of choices */
} om_setting_type;

typedef struct om_setting {
    const char *name;    /* "section.key" */
    om_setting_type type;
    const char *def;     /* the default, written as in omniva.conf */
    double min, max;     /* LONG and DOUBLE */
    const char *choices; /* ENUM: "a|b|c" */
    const char *env;     /* an extra environment name (OMNIVA_DB) besides OMNIVA_<SECTION>_<KEY> */
    const char *doc;     /* one line */
} om_setting;

extern const om_setting om_settings[];
extern const size_t om_settings_count;

/* The row named "section.key", or NULL. */
const om_setting *om_setting_find(const char *name);
/* The known name nearest to an unknown one ("editor.cfr" -> "editor.crf"), or NULL. */
const char *om_setting_suggest(const char *name);
/* "int", "number", "bool", "string", "path", "enum". */
const char *om_setting_type_name(om_setting_type t);

/* Checks text against the row's type and range. On failure returns OM_EINVAL with a
 * message without the name ("'abc' is not an integer", "99 is out of range 0..51"). */
int om_setting_check(const om_setting *s, const char *text);
/* A bool's text: 1 for true/yes/on/1, 0 for false/no/off/0 (any case), -1 otherwise. */
int om_setting_bool_value(const char *text);

#endif
