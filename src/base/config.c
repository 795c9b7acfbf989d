/* config.c: the workspace configuration behind config.h: one slot per row of the settings
 * table (src/base/settings.c), filled from omniva.conf (libinih), the environment and flags,
 * each value checked against its row when it is set. */
#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/settings.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <unistd.h>

#define MAX_REPORTED 20

typedef struct slot {
    char *text;               /* as set; NULL: the row's default */
    om_config_origin origin;
    char *detail;             /* "omniva.conf:12", "OMNIVA_DB", "--db"; NULL for defaults */
    char *resolved;           /* PATH: absolute; store.url: the sqlite:///abs form */
} slot;

struct om_config {
    char *home;
    slot *slots; /* om_settings_count */
};

/* ---- the table ----------------------------------------------------------------------- */

static size_t row_index(const char *key)
{
    const om_setting *s = om_setting_find(key);
    if (!s) {
        fprintf(stderr, "omniva: BUG: setting '%s' is not in the table (src/base/settings.c)\n",
                key);
        abort();
    }
    return (size_t)(s - om_settings);
}

static const om_setting *row_typed(const char *key, om_setting_type a, om_setting_type b,
                                   om_setting_type c, const char *getter)
{
    const om_setting *s = &om_settings[row_index(key)];
    if (s->type != a && s->type != b && s->type != c) {
        fprintf(stderr, "omniva: BUG: setting '%s' is a %s, not read with %s\n", key,
                om_setting_type_name(s->type), getter);
        abort();
    }
    return s;
}

/* ---- resolution -------------------------------------------------------------------------- */

static int url_safe(unsigned char ch)
{
    return isalnum(ch) || strchr("/._~-+,=@:", ch);
}

/* "sqlite:rel.db?x" -> "sqlite:///home/rel.db?x"; "sqlite:/abs" -> "sqlite:///abs"; other
 * URLs unchanged; "" -> NULL. */
static char *resolve_store_url(const char *home, const char *url)
{
    if (!url || !*url)
        return NULL;
    if (strncmp(url, "sqlite:", 7) != 0 || strncmp(url, "sqlite://", 9) == 0)
        return xstrdup(url);
    const char *rest = url + 7;
    if (rest[0] == '/')
        return xasprintf("sqlite://%s", rest);
    size_t plen = strcspn(rest, "?");
    char *rel = xstrndup(rest, plen);
    char *abs = om_path_from_home(home, rel);
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "sqlite://");
    for (const char *p = abs; *p; p++) {
        if (url_safe((unsigned char)*p))
            sb_append(&sb, p, 1);
        else
            sb_printf(&sb, "%%%02X", (unsigned char)*p);
    }
    sb_puts(&sb, rest + plen);
    free(rel);
    free(abs);
    return sb_detach(&sb);
}

static void resolve_slot(om_config *c, size_t i)
{
    const om_setting *s = &om_settings[i];
    slot *sl = &c->slots[i];
    const char *text = sl->text ? sl->text : s->def;
    free(sl->resolved);
    sl->resolved = NULL;
    if (s->type == OM_SETTING_PATH)
        sl->resolved = *text ? om_path_from_home(c->home, text) : xstrdup("");
    else if (strcmp(s->name, "store.url") == 0)
        sl->resolved = resolve_store_url(c->home, text);
}

/* ---- lifecycle ----------------------------------------------------------------------- */

om_config *om_config_new(const char *home)
{
    om_config *c = xcalloc(1, sizeof(*c));
    c->home = xstrdup(home ? home : ".");
    c->slots = xcalloc(om_settings_count, sizeof(slot));
    for (size_t i = 0; i < om_settings_count; i++)
        resolve_slot(c, i);
    return c;
}

void om_config_free(om_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < om_settings_count; i++) {
        free(c->slots[i].text);
        free(c->slots[i].detail);
        free(c->slots[i].resolved);
    }
    free(c->slots);
    free(c->home);
    free(c);
}

const char *om_config_home(const om_config *c)
{
    return c ? c->home : NULL;
}

/* ---- setting values ------------------------------------------------------------------ */

static void put_checked(om_config *c, size_t i, const char *value, om_config_origin origin,
                        const char *detail)
{
    slot *sl = &c->slots[i];
    free(sl->text);
    free(sl->detail);
    sl->text = xstrdup(value);
    sl->origin = origin;
    sl->detail = xstrdup(detail ? detail : "");
    resolve_slot(c, i);
}

/* "unknown key in [editor] (did you mean editor.crf?)" etc. into sb. */
static void describe_unknown(om_sbuf *sb, const char *name)
{
    const char *dot = strchr(name, '.');
    size_t slen = dot ? (size_t)(dot - name) : strlen(name);
    int section_known = 0;
    for (size_t i = 0; i < om_settings_count && dot; i++)
        if (strncmp(om_settings[i].name, name, slen + 1) == 0)
            section_known = 1;
    if (section_known)
        sb_printf(sb, "unknown key in [%.*s]", (int)slen, name);
    else
        sb_printf(sb, "unknown section [%.*s]", (int)slen, name);
    const char *near = om_setting_suggest(name);
    if (near)
        sb_printf(sb, " (did you mean %s?)", near);
}

int om_config_put(om_config *c, const char *key, const char *value, om_config_origin origin,
                  const char *detail)
{
    const om_setting *s = om_setting_find(key);
    if (!s) {
        om_sbuf sb = OM_SBUF_INIT;
        describe_unknown(&sb, key);
        int rc = om_error_set(OM_EINVAL, "%s: %s", key, sb_str(&sb));
        sb_release(&sb);
        return rc;
    }
    if (!value)
        value = "";
    if (om_setting_check(s, value))
        return om_error_wrap(OM_EINVAL, "%s", key);
    size_t i = (size_t)(s - om_settings);
    if (origin < c->slots[i].origin)
        return OM_OK;
    put_checked(c, i, value, origin, detail);
    return OM_OK;
}

int om_config_reset(om_config *c, const char *key)
{
    const om_setting *s = om_setting_find(key);
    if (!s)
        return om_error_set(OM_EINVAL, "%s: unknown setting", key);
    put_checked(c, (size_t)(s - om_settings), s->def, OM_ORIGIN_DEFAULT, NULL);
    return OM_OK;
}

int om_config_set(om_config *c, const char *section, const char *key, const char *value)
{
    char *name = xasprintf("%s.%s", section, key);
    (void)row_index(name); /* unknown: a programming error */
    int rc = om_config_put(c, name, value, OM_ORIGIN_FLAG, "set");
    free(name);
    return rc;
}

int om_config_set_arg(om_config *c, const char *assignment, const char *detail)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return om_error_set(OM_EINVAL, "'%s': expected section.key=value", assignment);
    char *key = xstrndup(assignment, (size_t)(eq - assignment));
    size_t n = strlen(key);
    while (n > 0 && isspace((unsigned char)key[n - 1]))
        key[--n] = '\0';
    const char *v = eq + 1;
    while (isspace((unsigned char)*v))
        v++;
    int rc = om_config_put(c, key, v, OM_ORIGIN_FLAG, detail);
    free(key);
    return rc;
}

/* ---- the environment ----------------------------------------------------------------- */

/* "editor.crf" -> "OMNIVA_EDITOR_CRF" into buf */
static void env_name(const char *key, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "OMNIVA_%s", key);
    for (size_t i = 7; i < n && i < cap; i++)
        buf[i] = buf[i] == '.' ? '_' : (char)toupper((unsigned char)buf[i]);
}

int om_config_apply_env(om_config *c)
{
    om_sbuf err = OM_SBUF_INIT;
    int nerr = 0;
    for (size_t i = 0; i < om_settings_count; i++) {
        const om_setting *s = &om_settings[i];
        char general[96];
        env_name(s->name, general, sizeof(general));
        const char *names[2] = {s->env, general};
        for (int k = 0; k < 2; k++) {
            const char *v = names[k] ? getenv(names[k]) : NULL;
            if (!v || !*v)
                continue;
            if (om_config_put(c, s->name, v, OM_ORIGIN_ENV, names[k])) {
                sb_printf(&err, "%s%s: %s", nerr++ ? "\n" : "", names[k], om_error_msg());
            }
            break; /* the specific name (OMNIVA_DB) wins over the general one */
        }
    }
    int rc = OM_OK;
    if (nerr)
        rc = om_error_set(OM_EINVAL, "%s", sb_str(&err));
    sb_release(&err);
    return rc;
}

/* ---- the file ------------------------------------------------------------------------ */

typedef struct load_state {
    om_config *cfg;
    FILE *f;
    const char *path;
    int line;
    om_sbuf err;
    int nerr;
} load_state;

static void load_error(load_state *ls, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void load_error(load_state *ls, int line, const char *fmt, ...)
{
    ls->nerr++;
    if (ls->nerr > MAX_REPORTED)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    sb_printf(&ls->err, "%s%s:%d: %s", ls->nerr > 1 ? "\n" : "", ls->path, line, msg);
    free(msg);
}

static char *counting_reader(char *str, int num, void *stream)
{
    load_state *ls = stream;
    char *r = fgets(str, num, ls->f);
    if (r)
        ls->line++;
    return r;
}

static int on_ini(void *ud, const char *section, const char *name, const char *value)
{
    load_state *ls = ud;
    char *key = xasprintf("%s.%s", section, name);
    const om_setting *s = om_setting_find(key);
    if (!s) {
        om_sbuf sb = OM_SBUF_INIT;
        describe_unknown(&sb, key);
        load_error(ls, ls->line, "%s: %s", key, sb_str(&sb));
        sb_release(&sb);
    } else {
        char detail[64];
        const char *base = strrchr(ls->path, '/');
        snprintf(detail, sizeof(detail), "%s:%d", base ? base + 1 : ls->path, ls->line);
        /* a key set again (an appended [section]) takes the later line, as redis does */
        if (om_config_put(ls->cfg, key, value, OM_ORIGIN_FILE, detail))
            load_error(ls, ls->line, "%s", om_error_msg());
    }
    free(key);
    return 1; /* keep going: report every problem */
}

int om_config_load_file(om_config **out, const char *home, const char *path)
{
    *out = NULL;
    load_state ls = {.path = path, .err = OM_SBUF_INIT};
    ls.f = fopen(path, "r");
    if (!ls.f)
        return om_error_set(OM_ENOTFOUND, "cannot open %s: %s", path, strerror(errno));
    ls.cfg = om_config_new(home);
    int bad_line = ini_parse_stream(counting_reader, &ls, on_ini, &ls);
    fclose(ls.f);
    if (bad_line > 0)
        load_error(&ls, bad_line, "syntax error (expected [section] or key = value)");
    else if (bad_line < 0)
        load_error(&ls, 0, "cannot read the file");
    int rc = OM_OK;
    if (ls.nerr) {
        if (ls.nerr > MAX_REPORTED)
            sb_printf(&ls.err, "\n... and %d more", ls.nerr - MAX_REPORTED);
        rc = om_error_set(OM_EINVAL, "%s", sb_str(&ls.err));
        om_config_free(ls.cfg);
    } else {
        *out = ls.cfg;
    }
    sb_release(&ls.err);
    return rc;
}

int om_config_load(om_config **out, const char *home)
{
    *out = NULL;
    char *path = xasprintf("%s/omniva.conf", home);
    if (access(path, F_OK) != 0) {
        int rc = om_error_set(OM_ENOTFOUND,
                              "no workspace at %s (missing %s; run 'omniva init %s')", home,
                              path, home);
        free(path);
        return rc;
    }
    om_config *c = NULL;
    int rc = om_config_load_file(&c, home, path);
    free(path);
    if (rc == OM_OK && (rc = om_config_apply_env(c)) != OM_OK) {
        om_config_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

/* ---- getters ------------------------------------------------------------------------- */

const char *om_config_text(const om_config *c, const char *key)
{
    size_t i = row_index(key);
    if (c && c->slots[i].text)
        return c->slots[i].text;
    return om_settings[i].def;
}

long om_config_long(const om_config *c, const char *key)
{
    row_typed(key, OM_SETTING_LONG, OM_SETTING_LONG, OM_SETTING_LONG, "om_config_long");
    return strtol(om_config_text(c, key), NULL, 10);
}

double om_config_double(const om_config *c, const char *key)
{
    row_typed(key, OM_SETTING_DOUBLE, OM_SETTING_DOUBLE, OM_SETTING_DOUBLE, "om_config_double");
    return strtod(om_config_text(c, key), NULL);
}

bool om_config_bool(const om_config *c, const char *key)
{
    row_typed(key, OM_SETTING_BOOL, OM_SETTING_BOOL, OM_SETTING_BOOL, "om_config_bool");
    return om_setting_bool_value(om_config_text(c, key)) == 1;
}

const char *om_config_str(const om_config *c, const char *key)
{
    const om_setting *s = row_typed(key, OM_SETTING_STRING, OM_SETTING_ENUM, OM_SETTING_PATH,
                                    "om_config_str");
    if (c && s->type == OM_SETTING_PATH)
        return c->slots[s - om_settings].resolved;
    return om_config_text(c, key);
}

om_config_origin om_config_origin_of(const om_config *c, const char *key)
{
    size_t i = row_index(key);
    return c ? c->slots[i].origin : OM_ORIGIN_DEFAULT;
}

const char *om_config_origin_detail(const om_config *c, const char *key)
{
    size_t i = row_index(key);
    return c && c->slots[i].detail ? c->slots[i].detail : "";
}

const char *om_config_origin_name(om_config_origin o)
{
    switch (o) {
    case OM_ORIGIN_DEFAULT: return "default";
    case OM_ORIGIN_FILE: return "file";
    case OM_ORIGIN_ENV: return "env";
    case OM_ORIGIN_FLAG: return "flag";
    }
    return "?";
}

const char *om_config_store_url(const om_config *c)
{
    if (!c)
        return NULL;
    return c->slots[row_index("store.url")].resolved;
}

const char *om_config_queue_url(const om_config *c)
{
    return om_config_str(c, "queue.url");
}

const char *om_config_media_dir(const om_config *c)
{
    return om_config_str(c, "media.dir");
}

/* ---- writing ------------------------------------------------------------------------- */

char *om_config_render(const om_config *c)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "# Omniva workspace configuration (INI).\n"
                 "# Every key is listed with its default; uncomment a line to change it.\n"
                 "# Relative paths are relative to this directory. 'omniva config show' prints\n"
                 "# the effective values, 'omniva config check' validates this file.\n");
    const char *prev = "";
    size_t prev_len = 0;
    for (size_t i = 0; i < om_settings_count; i++) {
        const om_setting *s = &om_settings[i];
        const char *dot = strchr(s->name, '.');
        size_t slen = (size_t)(dot - s->name);
        if (slen != prev_len || strncmp(prev, s->name, slen) != 0) {
            sb_printf(&sb, "\n[%.*s]\n", (int)slen, s->name);
            prev = s->name;
            prev_len = slen;
        }
        sb_printf(&sb, "# %s", s->doc);
        if (s->type == OM_SETTING_LONG)
            sb_printf(&sb, " (%.0f..%.0f)", s->min, s->max);
        else if (s->type == OM_SETTING_DOUBLE)
            sb_printf(&sb, " (%g..%g)", s->min, s->max);
        else if (s->type == OM_SETTING_ENUM)
            sb_printf(&sb, " (%s)", s->choices);
        sb_puts(&sb, "\n");
        const slot *sl = c ? &c->slots[i] : NULL;
        if (sl && sl->text && (sl->origin == OM_ORIGIN_FILE || sl->origin == OM_ORIGIN_FLAG))
            sb_printf(&sb, "%s = %s\n", dot + 1, sl->text);
        else
            sb_printf(&sb, "# %s = %s\n", dot + 1, s->def);
    }
    return sb_detach(&sb);
}

int om_config_save(const om_config *c)
{
    char *text = om_config_render(c);
    char *path = xasprintf("%s/omniva.conf", c->home);
    int rc = om_write_file_atomic(path, text, strlen(text));
    free(path);
    free(text);
    return rc;
}

char *om_config_resolve_home(const char *explicit_home)
{
    const char *h = explicit_home;
    if (!h || !*h)
        h = getenv("OMNIVA_HOME");
    if (h && *h) {
        char *abs = realpath(h, NULL);
        return abs ? abs : xstrdup(h);
    }
    char *cwd = getcwd(NULL, 0);
    return cwd ? cwd : xstrdup(".");
}

char *om_url_redact(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (!at || !colon || colon > at)
        return xstrdup(url);
    return xasprintf("%.*s:***%s", (int)(colon - url), url, at);
}

char *om_config_path_to_row(const om_config *cfg, const char *path)
{
    return cfg ? om_path_to_home_rel(om_config_home(cfg), path) : path ? xstrdup(path) : NULL;
}

char *om_config_path_from_row(const om_config *cfg, const char *stored)
{
    return cfg ? om_path_from_home(om_config_home(cfg), stored) : stored ? xstrdup(stored) : NULL;
}

void om_config_json_paths(const om_config *cfg, json_t *obj, int to_row)
{
    const char *key;
    json_t *v;
    if (!cfg || !json_is_object(obj))
        return;
    json_object_foreach(obj, key, v)
    {
        size_t n = strlen(key);
        if (!json_is_string(v) || !((n >= 4 && !strcmp(key + n - 4, "path")) ||
                                    (n >= 4 && !strcmp(key + n - 4, "_dir"))))
            continue;
        char *p = to_row ? om_config_path_to_row(cfg, json_string_value(v))
                         : om_config_path_from_row(cfg, json_string_value(v));
        json_string_set(v, p);
        free(p);
    }
}

int om_setting_is_secret(const char *name)
{
    size_t n = strlen(name);
    static const char *const ends[] = {"secret", "password", ".token", "_token"};
    for (size_t i = 0; i < OM_ARRAY_LEN(ends); i++) {
        size_t m = strlen(ends[i]);
        if (n >= m && strcmp(name + n - m, ends[i]) == 0)
            return 1;
    }
    return 0;
}

char *om_config_shown_value(const om_config *cfg, const om_setting *s, int mask_secrets)
{
    if (mask_secrets && om_setting_is_secret(s->name))
        return xstrdup(*om_config_text(cfg, s->name) ? "***" : "");
    if (s->type == OM_SETTING_PATH)
        return xstrdup(om_config_str(cfg, s->name));
    const char *t = om_config_text(cfg, s->name);
    size_t n = strlen(s->name);
    if (n > 4 && strcmp(s->name + n - 4, ".url") == 0)
        return om_url_redact(t);
    return xstrdup(t);
}

static json_t *setting_value_json(const om_config *cfg, const om_setting *s, int mask)
{
    switch (s->type) {
    case OM_SETTING_LONG: return json_integer((json_int_t)om_config_long(cfg, s->name));
    case OM_SETTING_DOUBLE: return json_real(om_config_double(cfg, s->name));
    case OM_SETTING_BOOL: return json_boolean(om_config_bool(cfg, s->name));
    default: {
        char *v = om_config_shown_value(cfg, s, mask);
        json_t *j = json_string(v);
        free(v);
        return j;
    }
    }
}

json_t *om_config_setting_json(const om_config *cfg, const om_setting *s, int mask_secrets)
{
    om_config_origin o = om_config_origin_of(cfg, s->name);
    json_t *j = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s}", "key", s->name, "value",
                          setting_value_json(cfg, s, mask_secrets), "origin", om_config_origin_name(o), "type",
                          om_setting_type_name(s->type), "default", s->def, "doc", s->doc);
    if (o != OM_ORIGIN_DEFAULT)
        json_object_set_new(j, "source", json_string(om_config_origin_detail(cfg, s->name)));
    if (s->type == OM_SETTING_LONG || s->type == OM_SETTING_DOUBLE) {
        json_object_set_new(j, "min", json_real(s->min));
        json_object_set_new(j, "max", json_real(s->max));
    }
    if (s->type == OM_SETTING_ENUM)
        json_object_set_new(j, "choices", json_string(s->choices));
    if (strcmp(s->name, "store.url") == 0 && om_config_store_url(cfg)) {
        char *r = om_url_redact(om_config_store_url(cfg));
        json_object_set_new(j, "resolved", json_string(r));
        free(r);
    }
    return j;
}
