/* meta.c: publishing metadata (title, description, tags within platform limits) derived
 * from a clip's transcript and keywords, and the target registry (see target.h). */
#include "base/common.h"

#include <ctype.h>
#include <strings.h>

#include "base/utf8.h"
#include "cognition/titles.h"
#include "targets/target.h"

static const om_target *const targets[] = {&om_target_export, &om_target_youtube,
                                          &om_target_tiktok, &om_target_instagram};

const om_target *om_target_find(const char *name)
{
    for (size_t i = 0; name && i < OM_ARRAY_LEN(targets); i++)
        if (!strcmp(targets[i]->name, name))
            return targets[i];
    return NULL;
}

json_t *om_target_names(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < OM_ARRAY_LEN(targets); i++)
        json_array_append_new(a, json_string(targets[i]->name));
    return a;
}

char *om_publish_truncate(const char *s, size_t max_chars)
{
    return om_utf8_truncate(s, max_chars, "\xE2\x80\xA6"); /* U+2026 … */
}

/* Collapses whitespace runs to one space and trims. Caller frees. */
static char *squash(const char *s)
{
    om_sbuf sb = OM_SBUF_INIT;
    int space = 0;
    for (const char *p = s ? s : ""; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = 1;
            continue;
        }
        if (space && sb.len)
            sb_append(&sb, " ", 1);
        space = 0;
        sb_append(&sb, p, 1);
    }
    return sb_detach(&sb);
}

/* Length in bytes of the first sentence of s (through its . ! ?), or all of s. */
static size_t first_sentence(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((*p == '.' || *p == '!' || *p == '?') && (p[1] == ' ' || p[1] == '\0'))
            return (size_t)(p - s + 1);
    return strlen(s);
}

size_t om_tags_count_chars(const json_t *tags)
{
    size_t n = 0, i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *s = json_string_value(t);
        if (!s)
            continue;
        n += om_utf8_len(s) + (strchr(s, ' ') ? 2 : 0) + (i ? 1 : 0);
    }
    return n;
}

static int has_tag_ci(const json_t *tags, const char *s)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
        if (json_string_value(t) && !strcasecmp(json_string_value(t), s))
            return 1;
    return 0;
}

static void add_tags(json_t *tags, const json_t *from)
{
    size_t i;
    json_t *t;
    json_array_foreach(from, i, t) {
        const char *s0 = json_string_value(t);
        if (!s0)
            continue;
        char *s = squash(s0);
        if (!*s || om_utf8_len(s) > 100 || has_tag_ci(tags, s) || strchr(s, '<') ||
            strchr(s, '>')) {
            free(s);
            continue;
        }
        json_array_append_new(tags, json_string(s));
        if (om_tags_count_chars(tags) > OM_TAGS_MAX_CHARS)
            json_array_remove(tags, json_array_size(tags) - 1);
        free(s);
    }
}

/* The name to credit: a handle as given ("@user"), but never a path: a local folder
 * creator ("@/srv/footage/" or "/srv/footage") is credited by the folder's name. Caller
 * frees; NULL for none. */
static char *credit_name(const char *creator)
{
    if (!creator || !*creator)
        return NULL;
    const char *s = creator[0] == '@' ? creator + 1 : creator;
    if (!strncmp(s, "file://", 7))
        s += 7;
    if (!strchr(s, '/'))
        return xstrdup(creator);
    size_t len = strlen(s);
    while (len > 1 && s[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && s[start - 1] != '/')
        start--;
    return len > start ? xstrndup(s + start, len - start) : NULL;
}

json_t *om_publish_meta_build(const char *transcript, const json_t *keywords,
                              const json_t *brand_keywords, const char *creator_in,
                              const char *source_url_in)
{
    char *creator = credit_name(creator_in);
    /* a local file's URL is a path on this machine: not a credit anyone can follow */
    const char *source_url =
        source_url_in && (!strncmp(source_url_in, "file:", 5) || source_url_in[0] == '/')
            ? NULL
            : source_url_in;
    char *tr = squash(transcript);
    char *title;
    if (*tr) {
        size_t n = first_sentence(tr);
        if (n < 20 && tr[n]) {
            size_t n2 = first_sentence(tr + n + (tr[n] == ' '));
            n += (tr[n] == ' ') + n2;
        }
        char *t = xstrndup(tr, n);
        /* the hook as a title (cognition/titles.h: filler trimmed, sentence case); too
         * long, it is cut at a word without dangling punctuation and marked with "…" */
        char *clean = om_title_from_hook(t, SIZE_MAX / 8);
        if (clean && om_utf8_len(clean) > OM_TITLE_MAX_CHARS) {
            char *cut = om_title_from_hook(clean, OM_TITLE_MAX_CHARS - 1);
            free(clean);
            clean = cut ? xasprintf("%s\xE2\x80\xA6", cut) : NULL;
            free(cut);
        }
        if (!clean) { /* only filler: the sentence as it was said */
            if (t[0] >= 'a' && t[0] <= 'z')
                t[0] = (char)(t[0] - 32);
            clean = om_publish_truncate(t, OM_TITLE_MAX_CHARS);
        }
        title = clean;
        free(t);
    } else {
        char *t = xasprintf("Clip from %s", creator && *creator ? creator : "the archive");
        title = om_publish_truncate(t, OM_TITLE_MAX_CHARS);
        free(t);
    }

    json_t *tags = json_array();
    if (brand_keywords)
        add_tags(tags, brand_keywords);
    if (keywords)
        add_tags(tags, keywords);

    om_sbuf d = OM_SBUF_INIT;
    char *body = om_publish_truncate(tr, 300);
    sb_puts(&d, body);
    free(body);
    /* hashtags: brand keywords first, then the transcript's (cognition/titles.h), up to 5 */
    om_title_limits hl = *om_title_limits_for("youtube");
    hl.hashtags_max = 5;
    json_t *hashtags = om_hashtags_build(brand_keywords, keywords, &hl);
    size_t i;
    json_t *t;
    json_array_foreach(hashtags, i, t) {
        sb_puts(&d, i == 0 ? (d.len ? "\n\n" : "") : " ");
        sb_puts(&d, json_string_value(t));
    }
    if ((creator && *creator) || (source_url && *source_url)) {
        sb_puts(&d, d.len ? "\n\nSource: " : "Source: ");
        if (creator && *creator)
            sb_puts(&d, creator);
        if (source_url && *source_url)
            sb_printf(&d, "%s%s", creator && *creator ? " - " : "", source_url);
    }
    char *desc = om_publish_truncate(sb_str(&d), OM_DESCRIPTION_MAX_CHARS);
    sb_release(&d);
    /* json_string refuses invalid UTF-8 from outside: fall back to valid text */
    json_t *jt = json_string(title), *jd = json_string(desc);
    json_t *out = json_object();
    json_object_set_new(out, "title", jt ? jt : json_string("Clip"));
    json_object_set_new(out, "description", jd ? jd : json_string(""));
    json_object_set_new(out, "tags", tags);
    json_object_set_new(out, "hashtags", hashtags);
    free(title);
    free(desc);
    free(tr);
    free(creator);
    return out;
}
