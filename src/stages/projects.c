/* projects.c: projects (with validated brand settings) and their creators, for the CLI and
 * the stages. Brand rules and ownership: projects.h. */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/suggest.h"
#include "cognition/tz.h"
#include "sources/sources.h"
#include "stages/projects.h"
#include "targets/accounts.h"
#include "targets/target.h"

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#define BRAND_FILE_CAP (1u << 20)

/* ---- brand schema ---- */

enum ftype {
    F_STR,
    F_STRLIST,
    F_INT,
    F_NUM,
    F_COLOR,
    F_ENUM,
    F_OBJ,
    F_QUIET,
    F_TZ,
    F_TARGETS,
    F_PNG,
    F_MEDIA,
    F_DIR,
    F_BOOL,    /* true/false */
    F_OPTSTR,  /* null or F_STR */
    F_OPTENUM  /* null or F_ENUM */
};

typedef struct field {
    const char *key;
    enum ftype t;
    double min, max; /* ranges; for strings: min length (0/1) and max length */
    const char *const *vals;
    const struct field *sub;
} field;

static const char *const POSITIONS[] = {"bottom", "middle", "top", NULL};
static const char *const CAPTION_STYLES[] = {"karaoke", "pop", "lower_third", NULL};
static const char *const AUDIOGRAMS[] = {"waves", "spectrum", NULL};
static const char *const REFRAMES[] = {"content", "center", "blur_pad", "auto", "speaker",
                                       "split", NULL};
static const char *const TARGETS[] = {"export", "youtube", "tiktok", "instagram", NULL};
static const char *const PRIVACY[] = {"public", "unlisted", "private", NULL};
static const char *const TT_PRIVACY[] = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS",
                                         "FOLLOWER_OF_CREATOR", "SELF_ONLY", NULL};

/* brand.tiktok: the TikTok target's post settings (null: tiktok.privacy_level) */
static const field TIKTOK_FIELDS[] = {
    {"privacy_level", F_OPTENUM, 0, 0, TT_PRIVACY, NULL},
    {"is_aigc", F_BOOL, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* brand.youtube: the YouTube target's video settings (null: the youtube.* settings) */
static const field YOUTUBE_FIELDS[] = {
    {"category_id", F_OPTSTR, 1, 4, NULL, NULL},
    {"default_language", F_OPTSTR, 2, 20, NULL, NULL},
    {"privacy_status", F_OPTENUM, 0, 0, PRIVACY, NULL},
    {"made_for_kids", F_BOOL, 0, 0, NULL, NULL},
    {"contains_synthetic_media", F_BOOL, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const field CAPTION_FIELDS[] = {
    {"font", F_STR, 1, 100, NULL, NULL},
    {"size", F_INT, 8, 300, NULL, NULL},
    {"color", F_COLOR, 0, 0, NULL, NULL},
    {"highlight_color", F_COLOR, 0, 0, NULL, NULL},
    {"outline_color", F_COLOR, 0, 0, NULL, NULL},
    {"position", F_ENUM, 0, 0, POSITIONS, NULL},
    {"style", F_ENUM, 0, 0, CAPTION_STYLES, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const field QUIET_FIELDS[] = {
    {"start", F_INT, 0, 23, NULL, NULL},
    {"end", F_INT, 0, 23, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const field BRAND_FIELDS[] = {
    {"keywords", F_STRLIST, 0, 0, NULL, NULL},
    {"brief", F_STR, 0, 20000, NULL, NULL},
    {"banned_words", F_STRLIST, 0, 0, NULL, NULL},
    {"logo", F_PNG, 0, 0, NULL, NULL},
    {"caption", F_OBJ, 0, 0, NULL, CAPTION_FIELDS},
    {"clip_min_s", F_NUM, 5, 180, NULL, NULL},
    {"clip_max_s", F_NUM, 5, 180, NULL, NULL},
    {"clips_per_video", F_INT, 1, 20, NULL, NULL},
    {"posts_per_day", F_INT, 1, 48, NULL, NULL},
    {"min_gap_minutes", F_INT, 0, 1440, NULL, NULL},
    {"quiet_hours", F_QUIET, 0, 0, NULL, QUIET_FIELDS},
    {"timezone", F_TZ, 0, 0, NULL, NULL},
    {"targets", F_TARGETS, 0, 0, TARGETS, NULL},
    {"export_dir", F_DIR, 0, 0, NULL, NULL},
    {"reframe", F_ENUM, 0, 0, REFRAMES, NULL},
    {"loudness_target", F_NUM, -40, -5, NULL, NULL},
    {"intro", F_MEDIA, 0, 0, NULL, NULL},
    {"outro", F_MEDIA, 0, 0, NULL, NULL},
    {"youtube", F_OBJ, 0, 0, NULL, YOUTUBE_FIELDS},
    {"tiktok", F_OBJ, 0, 0, NULL, TIKTOK_FIELDS},
    {"jump_cuts", F_BOOL, 0, 0, NULL, NULL},
    {"jump_cut_pause", F_NUM, 0.2, 5, NULL, NULL},
    {"audiogram", F_ENUM, 0, 0, AUDIOGRAMS, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* loudness_target comes from the settings table (editor.loudness_target): stated once. */
json_t *om_brand_defaults(void)
{
    json_t *d = json_pack("{s:[], s:s, s:[], s:n,"
                     " s:{s:s, s:i, s:s, s:s, s:s, s:s},"
                     " s:i, s:i, s:i, s:i, s:i, s:{s:i, s:i}, s:s, s:[s], s:n, s:s, s:f,"
                     " s:n, s:n}",
                     "keywords", "brief", "", "banned_words", "logo", "caption", "font",
                     "DejaVu Sans", "size", 64, "color", "#FFFFFF", "highlight_color", "#FFD700",
                     "outline_color", "#000000", "position", "bottom", "clip_min_s", 15,
                     "clip_max_s", 60, "clips_per_video", 3, "posts_per_day", 3, "min_gap_minutes",
                     120, "quiet_hours", "start", 23, "end", 7, "timezone", "UTC", "targets",
                     "export", "export_dir", "reframe", "content", "loudness_target",
                     om_config_double(NULL, "editor.loudness_target"), "intro", "outro");
    json_object_set_new(json_object_get(d, "caption"), "style", json_string("karaoke"));
    json_object_set_new(d, "jump_cuts", json_false());
    json_object_set_new(d, "jump_cut_pause",
                        json_real(om_config_double(NULL, "editor.jump_cut_pause")));
    json_object_set_new(d, "audiogram", json_string("waves"));
    json_object_set_new(d, "youtube",
                        json_pack("{s:n,s:n,s:n,s:b,s:b}", "category_id", "default_language",
                                  "privacy_status", "made_for_kids", 0,
                                  "contains_synthetic_media", 0));
    json_object_set_new(d, "tiktok", json_pack("{s:n,s:b}", "privacy_level", "is_aigc", 0));
    return d;
}

typedef struct bctx {
    om_sbuf errs;
    int nerr;
    const char *home;
} bctx;

static void berr(bctx *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void berr(bctx *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    if (b->nerr++)
        sb_puts(&b->errs, "; ");
    sb_puts(&b->errs, m);
    free(m);
}

static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true/false";
    default:
        return "null";
    }
}

static const char *closest_key(const field *fields, const char *key)
{
    om_suggest s;
    om_suggest_init(&s, key);
    for (const field *f = fields; f->key; f++)
        om_suggest_offer(&s, f->key);
    return om_suggest_best(&s);
}

static char *trimmed(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static char *resolve_path(const char *home, const char *p)
{
    if (p[0] == '/' || !home)
        return xstrdup(p);
    return xasprintf("%s/%s", home, p);
}

/* What the brand stores for an existing path p: relative to the workspace home when it lies
 * inside (a moved workspace keeps its assets), else absolute. */
static json_t *stored_path(const bctx *b, const char *p)
{
    char *rel = om_path_to_home_rel(b->home, p);
    json_t *v = json_string(rel);
    free(rel);
    return v;
}

/* Validates one value; returns the normalised value (new reference) or NULL after berr. */
static json_t *check_value(bctx *b, const field *f, const char *name, json_t *v);

static void apply_fields(bctx *b, const field *fields, json_t *target, json_t *input,
                         const char *prefix)
{
    const char *key;
    json_t *v;
    json_object_foreach(input, key, v)
    {
        const field *f = NULL;
        for (const field *c = fields; c->key; c++)
            if (strcmp(c->key, key) == 0)
                f = c;
        char *name = xasprintf("%s.%s", prefix, key);
        if (!f) {
            const char *s = closest_key(fields, key);
            if (s)
                berr(b, "%s: unknown key '%s' (did you mean '%s'?)", prefix, key, s);
            else
                berr(b, "%s: unknown key '%s'", prefix, key);
        } else if (f->t == F_OBJ || f->t == F_QUIET) {
            if (f->t == F_QUIET && json_is_null(v)) {
                json_object_set_new(target, key, json_null());
            } else if (!json_is_object(v)) {
                berr(b, "%s: expected an object%s, got %s", name,
                     f->t == F_QUIET ? " {\"start\": H, \"end\": H} or null" : "", jtype(v));
            } else {
                json_t *cur = json_object_get(target, key);
                json_t *sub = json_is_object(cur) ? json_deep_copy(cur) : NULL;
                if (!sub) {
                    json_t *def = om_brand_defaults();
                    sub = json_deep_copy(json_object_get(def, key));
                    json_decref(def);
                }
                apply_fields(b, f->sub, sub, v, name);
                json_object_set_new(target, key, sub);
            }
        } else {
            json_t *nv = check_value(b, f, name, v);
            if (nv)
                json_object_set_new(target, key, nv);
        }
        free(name);
    }
}

static json_t *check_strlist(bctx *b, const char *name, json_t *v)
{
    if (!json_is_array(v)) {
        berr(b, "%s: expected an array of strings, got %s", name, jtype(v));
        return NULL;
    }
    if (json_array_size(v) > 500) {
        berr(b, "%s: %zu items; at most 500", name, json_array_size(v));
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *it;
    int bad = 0;
    json_array_foreach(v, i, it)
    {
        if (!json_is_string(it)) {
            berr(b, "%s[%zu]: expected a string, got %s", name, i, jtype(it));
            bad = 1;
            continue;
        }
        char *t = trimmed(json_string_value(it));
        if (!*t || strlen(t) > 200) {
            berr(b, "%s[%zu]: %s", name, i, *t ? "longer than 200 characters" : "empty");
            bad = 1;
        } else {
            json_array_append_new(out, json_string(t));
        }
        free(t);
    }
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static int color_ok(const char *s)
{
    size_t n = strlen(s);
    if (s[0] != '#' || (n != 7 && n != 9))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static json_t *check_path(bctx *b, const field *f, const char *name, json_t *v)
{
    if (json_is_null(v))
        return json_null();
    if (!json_is_string(v) || !*json_string_value(v)) {
        berr(b, "%s: expected a path or null, got %s", name,
             json_is_string(v) ? "an empty string" : jtype(v));
        return NULL;
    }
    char *p = resolve_path(b->home, json_string_value(v));
    struct stat st;
    int exists = stat(p, &st) == 0;
    json_t *out = NULL;
    if (f->t == F_DIR) {
        if (exists && !S_ISDIR(st.st_mode))
            berr(b, "%s: %s exists and is not a folder", name, p);
        else
            out = stored_path(b, p);
    } else if (!exists) {
        berr(b, "%s: %s does not exist", name, p);
    } else if (!S_ISREG(st.st_mode)) {
        berr(b, "%s: %s is not a regular file", name, p);
    } else if (f->t == F_PNG) {
        static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        unsigned char head[8] = {0};
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, head, 8) : -1;
        if (fd >= 0)
            close(fd);
        if (n != 8 || memcmp(head, sig, 8) != 0)
            berr(b, "%s: %s is not a PNG file (no PNG signature)", name, p);
        else
            out = stored_path(b, p);
    } else { /* F_MEDIA */
        if (!om_source_is_media_name(p))
            berr(b, "%s: %s does not have a video/audio file extension", name, p);
        else
            out = stored_path(b, p);
    }
    free(p);
    return out;
}

static json_t *check_value(bctx *b, const field *f, const char *name, json_t *v)
{
    if ((f->t == F_OPTSTR || f->t == F_OPTENUM) && json_is_null(v))
        return json_null();
    switch (f->t) {
    case F_BOOL:
        if (!json_is_boolean(v)) {
            berr(b, "%s: expected true or false, got %s", name, jtype(v));
            return NULL;
        }
        return json_incref(v);
    case F_OPTSTR:
        if (json_is_string(v) && f->min >= 1 && !*json_string_value(v)) {
            berr(b, "%s: must not be empty (null for the default)", name);
            return NULL;
        }
        /* fall through */
    case F_STR: {
        if (!json_is_string(v)) {
            berr(b, "%s: expected a string, got %s", name, jtype(v));
            return NULL;
        }
        char *t = trimmed(json_string_value(v));
        json_t *out = NULL;
        if (f->min >= 1 && !*t)
            berr(b, "%s: must not be empty", name);
        else if ((double)strlen(t) > f->max)
            berr(b, "%s: longer than %.0f characters", name, f->max);
        else
            out = json_string(t);
        free(t);
        return out;
    }
    case F_STRLIST:
        return check_strlist(b, name, v);
    case F_INT:
    case F_NUM: {
        if (!json_is_number(v)) {
            berr(b, "%s: expected %s, got %s", name, f->t == F_INT ? "an integer" : "a number",
                 jtype(v));
            return NULL;
        }
        double d = json_number_value(v);
        if (f->t == F_INT && d != floor(d)) {
            berr(b, "%s: expected an integer, got %g", name, d);
            return NULL;
        }
        if (d < f->min || d > f->max) {
            berr(b, "%s: %g is out of range %g..%g", name, d, f->min, f->max);
            return NULL;
        }
        if (f->t == F_INT || json_is_integer(v))
            return json_integer((json_int_t)d);
        return json_real(d);
    }
    case F_COLOR: {
        const char *s = json_string_value(v);
        if (!s || !color_ok(s)) {
            if (s)
                berr(b, "%s: '%s' is not a colour (use #RRGGBB or #RRGGBBAA)", name, s);
            else
                berr(b, "%s: expected a colour string #RRGGBB or #RRGGBBAA, got %s", name,
                     jtype(v));
            return NULL;
        }
        char *u = xstrdup(s);
        for (char *p = u; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        json_t *out = json_string(u);
        free(u);
        return out;
    }
    case F_OPTENUM:
    case F_ENUM: {
        const char *s = json_string_value(v);
        for (size_t i = 0; s && f->vals[i]; i++)
            if (strcmp(s, f->vals[i]) == 0)
                return json_string(s);
        om_sbuf allowed = OM_SBUF_INIT;
        for (size_t i = 0; f->vals[i]; i++)
            sb_printf(&allowed, "%s\"%s\"", i ? ", " : "", f->vals[i]);
        if (s)
            berr(b, "%s: '%s' is not one of %s", name, s, sb_str(&allowed));
        else
            berr(b, "%s: expected one of %s, got %s", name, sb_str(&allowed), jtype(v));
        sb_release(&allowed);
        return NULL;
    }
    case F_TZ: {
        const char *s = json_string_value(v);
        if (!s) {
            berr(b, "%s: expected a time zone name such as \"Europe/Paris\", got %s", name,
                 jtype(v));
            return NULL;
        }
        if (om_tz_validate(s) != OM_OK) {
            berr(b, "%s: unknown time zone '%s' (use an IANA name such as \"Europe/Paris\")", name,
                 s);
            return NULL;
        }
        return json_string(s);
    }
    case F_TARGETS: {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            berr(b, "%s: expected a non-empty array of \"export\"/\"youtube\"/\"tiktok\"/\"instagram\", got %s", name,
                 json_is_array(v) ? "an empty array" : jtype(v));
            return NULL;
        }
        json_t *out = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            const char *s = json_string_value(it);
            int known = s && om_target_find(s) != NULL;
            for (size_t k = 0; s && TARGETS[k]; k++)
                known |= strcmp(s, TARGETS[k]) == 0;
            int dup = 0;
            for (size_t k = 0; s && k < json_array_size(out); k++)
                dup |= strcmp(s, json_string_value(json_array_get(out, k))) == 0;
            if (!known) {
                berr(b, "%s[%zu]: unknown target %s%s%s (known: \"export\", \"youtube\", \"tiktok\", \"instagram\")", name, i,
                     s ? "'" : "", s ? s : jtype(it), s ? "'" : "");
            } else if (dup) {
                berr(b, "%s: '%s' listed twice", name, s);
            } else {
                json_array_append_new(out, json_string(s));
                continue;
            }
            json_decref(out);
            return NULL;
        }
        return out;
    }
    case F_PNG:
    case F_MEDIA:
    case F_DIR:
        return check_path(b, f, name, v);
    case F_OBJ:
    case F_QUIET:
        break;
    }
    return NULL;
}

static int brand_apply(const json_t *base, const char *text, const char *home, json_t **out)
{
    *out = NULL;
    json_t *input = NULL;
    if (text) {
        const char *p = text;
        while (isspace((unsigned char)*p))
            p++;
        if (*p) {
            json_error_t jerr;
            input = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
            if (!input)
                return om_error_set(OM_EINVAL, "brand: not valid JSON: line %d, column %d: %s",
                                    jerr.line, jerr.column, jerr.text);
            if (!json_is_object(input)) {
                int rc =
                    om_error_set(OM_EINVAL, "brand: expected a JSON object, got %s", jtype(input));
                json_decref(input);
                return rc;
            }
        }
    }
    json_t *brand = json_deep_copy(base);
    bctx b = {OM_SBUF_INIT, 0, home};
    if (input)
        apply_fields(&b, BRAND_FIELDS, brand, input, "brand");
    json_t *mn = json_object_get(brand, "clip_min_s"), *mx = json_object_get(brand, "clip_max_s");
    if (json_is_number(mn) && json_is_number(mx) && json_number_value(mn) >= json_number_value(mx))
        berr(&b, "brand: clip_min_s (%g) must be less than clip_max_s (%g)", json_number_value(mn),
             json_number_value(mx));
    json_decref(input);
    if (b.nerr) {
        int rc = om_error_set(OM_EINVAL, "%s", sb_str(&b.errs));
        sb_release(&b.errs);
        json_decref(brand);
        return rc;
    }
    sb_release(&b.errs);
    *out = brand;
    return OM_OK;
}

int om_brand_normalize(const char *brand_json, const char *home, json_t **out)
{
    json_t *def = om_brand_defaults();
    int rc = brand_apply(def, brand_json, home, out);
    json_decref(def);
    return rc;
}

int om_brand_patch(const json_t *base, const char *patch_json, const char *home, json_t **out)
{
    /* the stored brand is re-validated as a whole on top of the defaults, so a brand saved by
     * an older version gains new defaults and loses nothing it had */
    json_t *def = om_brand_defaults();
    json_t *merged = NULL;
    char *base_text = json_dumps(base, JSON_COMPACT | OM_JSON_REAL);
    int rc = brand_apply(def, base_text, home, &merged);
    free(base_text);
    json_decref(def);
    if (rc != OM_OK)
        return om_error_wrap(rc, "stored brand");
    rc = brand_apply(merged, patch_json, home, out);
    json_decref(merged);
    return rc;
}

int om_brand_read_file(const char *path, char **text_out)
{
    size_t len = 0;
    int rc = om_read_file(path, BRAND_FILE_CAP, text_out, &len);
    if (rc != OM_OK)
        return om_error_wrap(rc, "brand file");
    if (memchr(*text_out, '\0', len)) {
        free(*text_out);
        *text_out = NULL;
        return om_error_set(OM_EINVAL, "brand file %s is not a JSON text file", path);
    }
    return OM_OK;
}

/* ---- projects ---- */

static int name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return om_error_set(OM_EINVAL, "project name is empty");
    if (n > 100)
        return om_error_set(OM_EINVAL, "project name is longer than 100 bytes");
    if (name[0] == '.' || name[0] == '-' || isspace((unsigned char)name[0]) ||
        isspace((unsigned char)name[n - 1]))
        return om_error_set(OM_EINVAL,
                            "project name '%s' must not start with '.', '-' or a space, nor end "
                            "with a space",
                            name);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return om_error_set(
                OM_EINVAL, "project name '%s' contains '/', '\\' or a control character", name);
    if (om_uuid_valid(name))
        return om_error_set(OM_EINVAL, "project name '%s' looks like an id; choose another", name);
    return OM_OK;
}

/* Every target of the brand that posts to an account has one linked to the project
 * (project_id NULL: a project being created, which has none yet). */
static int targets_linked(om_store *s, const char *project_id, const char *name,
                          const json_t *brand)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(brand, "targets"), i, t) {
        const om_target *tg = om_target_find(json_string_value(t));
        if (!tg || !tg->account_platform)
            continue;
        int rc = project_id ? om_account_linked(s, project_id, tg->account_platform)
                            : OM_ENOTFOUND;
        if (rc == OM_ENOTFOUND)
            return om_error_set(
                OM_EINVAL,
                "brand.targets[%zu]: target '%s' has no linked %s account%s: %s'omniva account "
                "add %s %s', then add \"%s\" to the targets with 'omniva project update'",
                i, tg->name, tg->account_platform, project_id ? "" : " (a new project has none)",
                project_id ? "run " : "create the project without it, run ", tg->account_platform,
                name, tg->name);
        if (rc)
            return om_error_wrap(rc, "checking the %s account", tg->account_platform);
    }
    return OM_OK;
}

int om_project_create(om_store *s, const char *name, const char *brand_json, const char *home,
                      char id_out[OM_UUID_LEN])
{
    int rc = name_valid(name);
    if (rc != OM_OK)
        return rc;
    json_t *brand = NULL;
    rc = om_brand_normalize(brand_json, home, &brand);
    if (rc != OM_OK)
        return rc;
    if ((rc = targets_linked(s, NULL, name, brand))) {
        json_decref(brand);
        return rc;
    }
    char id[OM_UUID_LEN];
    om_uuid4(id);
    char *btext = json_dumps(brand, JSON_COMPACT | OM_JSON_REAL);
    char *ttext = json_dumps(json_object_get(brand, "targets"), JSON_COMPACT | OM_JSON_REAL);
    const char *tz = json_string_value(json_object_get(brand, "timezone"));
    rc = om_store_exec(
        s,
        "INSERT INTO projects (project_id, name, brand, timezone, targets, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, now(), now())",
        OM_PARAMS(OM_TEXT(id), OM_TEXT(name), OM_JSON(btext), OM_TEXT(tz), OM_JSON(ttext)), NULL);
    free(btext);
    free(ttext);
    json_decref(brand);
    if (rc == OM_EEXISTS)
        return om_error_set(OM_EEXISTS, "project '%s' already exists", name);
    if (rc != OM_OK)
        return om_error_wrap(rc, "creating project '%s'", name);
    if (id_out)
        memcpy(id_out, id, OM_UUID_LEN);
    om_info("projects", "project '%s' created (%s)", name, id);
    return OM_OK;
}

int om_project_resolve(om_store *s, const char *project, char id_out[OM_UUID_LEN])
{
    if (!project || !*project)
        return om_error_set(OM_EINVAL, "no project given");
    char *val = NULL;
    int rc;
    if (om_uuid_valid(project)) {
        char low[OM_UUID_LEN];
        snprintf(low, sizeof(low), "%s", project);
        for (char *p = low; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        rc = om_store_query_value(s, "SELECT project_id FROM projects WHERE project_id = ?",
                                  OM_PARAMS(OM_TEXT(low)), &val);
    } else {
        rc = om_store_query_value(s, "SELECT project_id FROM projects WHERE name = ?",
                                  OM_PARAMS(OM_TEXT(project)), &val);
    }
    if (rc == OM_ENOTFOUND)
        return om_error_set(OM_ENOTFOUND, "no project '%s'", project);
    if (rc != OM_OK)
        return om_error_wrap(rc, "looking up project '%s'", project);
    snprintf(id_out, OM_UUID_LEN, "%s", val);
    free(val);
    return OM_OK;
}

static const char PROJECT_SELECT[] =
    "SELECT p.project_id, p.name, p.brand, p.timezone, p.targets, p.created_at, p.updated_at, "
    "(SELECT COUNT(*) FROM project_creators pc WHERE pc.project_id = p.project_id) AS creators "
    "FROM projects p ";

static json_t *json_col(const om_rows *r, size_t i, const char *col)
{
    const char *t = om_rows_getn(r, i, col);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *project_row(const om_rows *r, size_t i)
{
    json_t *o = json_object();
    json_object_set_new(o, "project_id", json_string(om_rows_getn(r, i, "project_id")));
    json_object_set_new(o, "name", json_string(om_rows_getn(r, i, "name")));
    json_object_set_new(o, "brand", json_col(r, i, "brand"));
    json_object_set_new(o, "timezone", json_string(om_rows_getn(r, i, "timezone")));
    json_object_set_new(o, "targets", json_col(r, i, "targets"));
    json_object_set_new(o, "created_at", json_string(om_rows_getn(r, i, "created_at")));
    json_object_set_new(o, "updated_at", json_string(om_rows_getn(r, i, "updated_at")));
    json_object_set_new(o, "creators", json_integer(om_rows_int(r, i, "creators", 0)));
    return o;
}

int om_project_get(om_store *s, const char *project, json_t **out)
{
    *out = NULL;
    char id[OM_UUID_LEN];
    int rc = om_project_resolve(s, project, id);
    if (rc != OM_OK)
        return rc;
    char *sql = xasprintf("%sWHERE p.project_id = ?", PROJECT_SELECT);
    om_rows *r = NULL;
    rc = om_store_query(s, sql, OM_PARAMS(OM_TEXT(id)), &r);
    free(sql);
    if (rc != OM_OK)
        return om_error_wrap(rc, "reading project '%s'", project);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "no project '%s'", project);
    }
    *out = project_row(r, 0);
    om_rows_free(r);
    return OM_OK;
}

int om_project_list(om_store *s, json_t **out)
{
    *out = NULL;
    char *sql = xasprintf("%sORDER BY p.name", PROJECT_SELECT);
    om_rows *r = NULL;
    int rc = om_store_query(s, sql, NULL, 0, &r);
    free(sql);
    if (rc != OM_OK)
        return om_error_wrap(rc, "listing projects");
    json_t *a = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++)
        json_array_append_new(a, project_row(r, i));
    om_rows_free(r);
    *out = a;
    return OM_OK;
}

int om_project_update_brand(om_store *s, const char *project, const char *patch_json,
                            const char *home)
{
    json_t *p = NULL;
    int rc = om_project_get(s, project, &p);
    if (rc != OM_OK)
        return rc;
    json_t *brand = NULL;
    rc = om_brand_patch(json_object_get(p, "brand"), patch_json, home, &brand);
    if (rc == OM_OK)
        rc = targets_linked(s, json_string_value(json_object_get(p, "project_id")),
                            json_string_value(json_object_get(p, "name")), brand);
    if (rc != OM_OK) {
        json_decref(brand);
        json_decref(p);
        return rc;
    }
    char *btext = json_dumps(brand, JSON_COMPACT | OM_JSON_REAL);
    char *ttext = json_dumps(json_object_get(brand, "targets"), JSON_COMPACT | OM_JSON_REAL);
    rc = om_store_exec(
        s,
        "UPDATE projects SET brand = ?, timezone = ?, targets = ?, updated_at = "
        "now() WHERE project_id = ?",
        OM_PARAMS(OM_JSON(btext), OM_TEXT(json_string_value(json_object_get(brand, "timezone"))),
                  OM_JSON(ttext), OM_TEXT(json_string_value(json_object_get(p, "project_id")))),
        NULL);
    free(btext);
    free(ttext);
    json_decref(brand);
    json_decref(p);
    if (rc != OM_OK)
        return om_error_wrap(rc, "updating the brand of project '%s'", project);
    return OM_OK;
}

/* ---- creators ---- */

int om_creator_add_ex(om_store *s, const char *project, const char *url,
                      char creator_id_out[OM_UUID_LEN], int *created_out, int *linked_out)
{
    if (created_out)
        *created_out = 0;
    if (linked_out)
        *linked_out = 0;
    om_source_class c;
    int rc = om_source_classify(url, &c);
    if (rc != OM_OK)
        return rc;
    if (strcmp(c.platform, "local") == 0) {
        struct stat st;
        if (stat(c.username, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc = om_error_set(OM_EINVAL, "local folder %s does not exist or is not a folder",
                              c.username);
            om_source_class_release(&c);
            return rc;
        }
    }
    char pid[OM_UUID_LEN];
    rc = om_project_resolve(s, project, pid);
    if (rc != OM_OK) {
        om_source_class_release(&c);
        return rc;
    }
    char newid[OM_UUID_LEN];
    om_uuid4(newid);
    char *cid = NULL;
    int64_t created = 0, linked = 0;
    rc = om_store_begin(s);
    if (rc == OM_OK)
        rc = om_store_exec(s,
                           "INSERT INTO creators (creator_id, platform, username, profile_url, "
                           "created_at, updated_at) VALUES (?, ?, ?, ?, now(), now()) "
                           "ON CONFLICT (platform, username) DO NOTHING",
                           OM_PARAMS(OM_TEXT(newid), OM_TEXT(c.platform), OM_TEXT(c.username),
                                     OM_TEXT(c.profile_url)),
                           &created);
    if (rc == OM_OK)
        rc = om_store_query_value(
            s, "SELECT creator_id FROM creators WHERE platform = ? AND username = ?",
            OM_PARAMS(OM_TEXT(c.platform), OM_TEXT(c.username)), &cid);
    if (rc == OM_OK)
        rc = om_store_exec(s,
                           "INSERT INTO project_creators (project_id, creator_id, added_at) "
                           "VALUES (?, ?, now()) ON CONFLICT (project_id, creator_id) DO NOTHING",
                           OM_PARAMS(OM_TEXT(pid), OM_TEXT(cid)), &linked);
    if (rc == OM_OK)
        rc = om_store_commit(s);
    else
        om_store_rollback(s);
    if (rc != OM_OK) {
        rc = om_error_wrap(rc, "adding creator %s", url);
    } else {
        if (creator_id_out)
            snprintf(creator_id_out, OM_UUID_LEN, "%s", cid);
        if (created_out)
            *created_out = created > 0;
        if (linked_out)
            *linked_out = linked > 0;
        om_info("projects", "creator %s:%s %s project %s", c.platform, c.username,
                linked > 0 ? "linked to" : "already in", pid);
    }
    free(cid);
    om_source_class_release(&c);
    return rc;
}

int om_creator_add(om_store *s, const char *project, const char *url,
                   char creator_id_out[OM_UUID_LEN])
{
    return om_creator_add_ex(s, project, url, creator_id_out, NULL, NULL);
}

int om_creator_list(om_store *s, const char *project, json_t **out)
{
    *out = NULL;
    char pid[OM_UUID_LEN];
    int rc = om_project_resolve(s, project, pid);
    if (rc != OM_OK)
        return rc;
    om_rows *r = NULL;
    rc =
        om_store_query(s,
                       "SELECT c.creator_id, c.platform, c.username, c.profile_url, pc.added_at, "
                       "(SELECT COUNT(*) FROM posts p WHERE p.creator_id = c.creator_id) AS posts, "
                       "(SELECT COUNT(*) FROM videos v JOIN posts p ON p.post_id = v.post_id "
                       "  WHERE p.creator_id = c.creator_id) AS videos, "
                       "(SELECT MAX(p.posted_at) FROM posts p WHERE p.creator_id = c.creator_id) "
                       "  AS last_posted_at "
                       "FROM project_creators pc JOIN creators c ON c.creator_id = pc.creator_id "
                       "WHERE pc.project_id = ? ORDER BY pc.added_at, c.platform, c.username",
                       OM_PARAMS(OM_TEXT(pid)), &r);
    if (rc != OM_OK)
        return om_error_wrap(rc, "listing creators of project '%s'", project);
    json_t *a = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *last = om_rows_getn(r, i, "last_posted_at");
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I, s:I, s:s?}", "creator_id",
                      om_rows_getn(r, i, "creator_id"), "platform", om_rows_getn(r, i, "platform"),
                      "username", om_rows_getn(r, i, "username"), "profile_url",
                      om_rows_getn(r, i, "profile_url"), "added_at", om_rows_getn(r, i, "added_at"),
                      "posts", (json_int_t)om_rows_int(r, i, "posts", 0), "videos",
                      (json_int_t)om_rows_int(r, i, "videos", 0), "last_posted_at", last);
        json_array_append_new(a, o);
    }
    om_rows_free(r);
    *out = a;
    return OM_OK;
}

int om_creator_remove(om_store *s, const char *project, const char *creator)
{
    char pid[OM_UUID_LEN];
    int rc = om_project_resolve(s, project, pid);
    if (rc != OM_OK)
        return rc;
    char *cid = NULL;
    if (creator && om_uuid_valid(creator)) {
        cid = xstrdup(creator);
        for (char *p = cid; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    } else {
        om_source_class c;
        rc = om_source_classify(creator, &c);
        if (rc != OM_OK)
            return om_error_wrap(rc, "creator to remove is neither an id nor a creator URL");
        rc = om_store_query_value(
            s, "SELECT creator_id FROM creators WHERE platform = ? AND username = ?",
            OM_PARAMS(OM_TEXT(c.platform), OM_TEXT(c.username)), &cid);
        om_source_class_release(&c);
        if (rc == OM_ENOTFOUND)
            return om_error_set(OM_ENOTFOUND, "no creator %s", creator);
        if (rc != OM_OK)
            return om_error_wrap(rc, "looking up creator %s", creator);
    }
    int64_t n = 0;
    rc = om_store_exec(s, "DELETE FROM project_creators WHERE project_id = ? AND creator_id = ?",
                       OM_PARAMS(OM_TEXT(pid), OM_TEXT(cid)), &n);
    free(cid);
    if (rc != OM_OK)
        return om_error_wrap(rc, "removing creator %s", creator);
    if (n == 0)
        return om_error_set(OM_ENOTFOUND, "creator %s is not in project '%s'", creator, project);
    return OM_OK;
}

int om_creator_get(om_store *s, const char *creator_id, json_t **out)
{
    *out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT creator_id, platform, username, profile_url, created_at "
                            "FROM creators WHERE creator_id = ?",
                            OM_PARAMS(OM_TEXT(creator_id)), &r);
    if (rc != OM_OK)
        return om_error_wrap(rc, "reading creator %s", creator_id);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "no creator %s", creator_id);
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s?, s:s}", "creator_id", om_rows_getn(r, 0, "creator_id"), "platform",
        om_rows_getn(r, 0, "platform"), "username", om_rows_getn(r, 0, "username"), "profile_url",
        om_rows_getn(r, 0, "profile_url"), "created_at", om_rows_getn(r, 0, "created_at"));
    om_rows_free(r);
    om_rows *pr = NULL;
    rc = om_store_query(s,
                        "SELECT project_id FROM project_creators WHERE creator_id = ? "
                        "ORDER BY added_at",
                        OM_PARAMS(OM_TEXT(creator_id)), &pr);
    if (rc != OM_OK) {
        json_decref(o);
        return om_error_wrap(rc, "reading creator %s", creator_id);
    }
    json_t *ids = json_array();
    for (size_t i = 0; i < om_rows_count(pr); i++)
        json_array_append_new(ids, json_string(om_rows_get(pr, i, 0)));
    om_rows_free(pr);
    json_object_set_new(o, "projects", ids);
    *out = o;
    return OM_OK;
}
