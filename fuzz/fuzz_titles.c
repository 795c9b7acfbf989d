/* fuzz_titles.c: libFuzzer harness for the title and hashtag rules (om_title_from_hook,
 * om_hashtags_build in src/cognition/titles.c), which rewrite other people's spoken words
 * into what we publish. Any text gives NULL or a title within the limit that is valid
 * UTF-8 when its input was, and hashtags within every target's limits: never a crash,
 * a leak or a cut inside a character. */
#include "base/common.h"
#include "base/log.h"
#include "base/utf8.h"
#include "cognition/titles.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first byte picks the limit and the target, the rest is the hook */
    size_t max = size ? (size_t)(data[0] % 120) + 1 : 100;
    static const char *const targets[] = {"youtube", "tiktok", "instagram", "export"};
    const om_title_limits *lim = om_title_limits_for(targets[size ? data[0] & 3 : 0]);
    char *hook = xstrndup(size ? (const char *)data + 1 : "", size ? size - 1 : 0);
    int valid = om_utf8_valid(hook);
    char *t = om_title_from_hook(hook, max);
    if (t) {
        OM_ASSERT(*t);
        if (valid) {
            OM_ASSERT(om_utf8_valid(t));
            OM_ASSERT(om_utf8_len(t) <= max);
        }
        free(t);
    }
    /* the same text as keywords: words of it as brand and transcript keywords */
    json_t *kw = json_array();
    if (valid) {
        json_array_append_new(kw, json_string(hook));
        for (char *p = hook, *sp; p && *p; p = sp ? sp + 1 : NULL) {
            sp = strchr(p, ' ');
            if (sp)
                *sp = '\0';
            if (*p)
                json_array_append_new(kw, json_string(p));
        }
    }
    json_t *tags = om_hashtags_build(kw, kw, lim);
    OM_ASSERT(json_is_array(tags) && json_array_size(tags) <= lim->hashtags_max);
    size_t i;
    json_t *tg;
    json_array_foreach(tags, i, tg) {
        const char *s = json_string_value(tg);
        OM_ASSERT(s && s[0] == '#' && om_utf8_valid(s));
        OM_ASSERT(om_utf8_len(s) <= lim->hashtag_chars_max);
    }
    json_decref(tags);
    json_decref(kw);
    free(hook);
    om_error_clear();
    return 0;
}
