/* config.c: INI workspace configuration (libinih) with CLI/env overrides. */
#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"

#include <ini.h>
#include <unistd.h>

typedef struct kv {
    char *section, *key, *value;
} kv;

struct om_config {
    char *home;
    kv *items;
    size_t n, alloc;
    char *media_default;
};

om_config *om_config_new(const char *home)
{
    om_config *c = xcalloc(1, sizeof(*c));
    c->home = xstrdup(home ? home : ".");
    return c;
}

void om_config_free(om_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].section);
        free(c->items[i].key);
        free(c->items[i].value);
    }
    free(c->items);
    free(c->home);
    free(c->media_default);
    free(c);
}

void om_config_set(om_config *c, const char *section, const char *key, const char *value)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->items[i].section, section) && !strcmp(c->items[i].key, key)) {
            free(c->items[i].value);
            c->items[i].value = xstrdup(value);
            return;
        }
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 16;
        c->items = xrealloc(c->items, st_mult(c->alloc, sizeof(kv)));
    }
    c->items[c->n++] = (kv){xstrdup(section), xstrdup(key), xstrdup(value)};
}

static int on_ini(void *ud, const char *section, const char *name, const char *value)
{
    om_config_set(ud, section, name, value);
    return 1;
}

int om_config_load(om_config **out, const char *home)
{
    *out = NULL;
    char *path = xasprintf("%s/omniva.conf", home);
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = om_error_set(OM_ENOTFOUND,
                              "no workspace at %s (missing %s; run 'omniva init %s')", home,
                              path, home);
        free(path);
        return rc;
    }
    om_config *c = om_config_new(home);
    int line = ini_parse_file(f, on_ini, c);
    fclose(f);
    if (line != 0) {
        om_error_set(OM_EINVAL, "%s: line %d: syntax error", path, line);
        free(path);
        om_config_free(c);
        return OM_EINVAL;
    }
    free(path);
    *out = c;
    return OM_OK;
}

const char *om_config_home(const om_config *c)
{
    return c->home;
}

const char *om_config_get(const om_config *c, const char *section, const char *key,
                          const char *def)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (!strcmp(c->items[i].section, section) && !strcmp(c->items[i].key, key))
            return c->items[i].value;
    return def;
}

long om_config_get_long(const om_config *c, const char *section, const char *key, long def)
{
    const char *v = om_config_get(c, section, key, NULL);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    return *end ? def : n;
}

double om_config_get_double(const om_config *c, const char *section, const char *key,
                            double def)
{
    const char *v = om_config_get(c, section, key, NULL);
    if (!v || !*v)
        return def;
    char *end;
    double d = strtod(v, &end);
    return *end ? def : d;
}

int om_config_save(const om_config *c)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "# Omniva workspace configuration (INI). See README.md.\n");
    /* group by section in first-seen order */
    for (size_t i = 0; i < c->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->items[j].section, c->items[i].section))
                seen = 1;
        if (seen)
            continue;
        sb_printf(&sb, "\n[%s]\n", c->items[i].section);
        for (size_t j = i; j < c->n; j++)
            if (!strcmp(c->items[j].section, c->items[i].section))
                sb_printf(&sb, "%s = %s\n", c->items[j].key, c->items[j].value);
    }
    char *path = xasprintf("%s/omniva.conf", c->home);
    int rc = om_write_file_atomic(path, sb.buf, sb.len);
    free(path);
    sb_release(&sb);
    return rc;
}

const char *om_config_store_url(const om_config *c)
{
    const char *env = getenv("OMNIVA_DB");
    const char *v = om_config_get(c, "store", "url_override", NULL);
    if (v)
        return v;
    if (env && *env)
        return env;
    return om_config_get(c, "store", "url", NULL);
}

const char *om_config_queue_url(const om_config *c)
{
    const char *env = getenv("OMNIVA_QUEUE");
    const char *v = om_config_get(c, "queue", "url_override", NULL);
    if (v)
        return v;
    if (env && *env)
        return env;
    return om_config_get(c, "queue", "url", "sqlite");
}

const char *om_config_media_dir(const om_config *c)
{
    const char *v = om_config_get(c, "media", "dir", NULL);
    if (v)
        return v;
    if (!c->media_default)
        ((om_config *)c)->media_default = xasprintf("%s/media", c->home);
    return c->media_default;
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
