/* fuzz_discovery.c: libFuzzer harness for discovery's mention and link scanner
 * (om_discovery_scan in src/stages/discovery.c), which reads the titles, descriptions and
 * captions of other people's posts. Any text gives at most `max` candidates, each a URL the
 * source classifier accepts, with a platform and a handle: never a crash or a leak. */
#include "base/common.h"
#include "base/log.h"
#include "sources/sources.h"
#include "stages/discovery.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first byte picks the post's platform and the cap, the rest is the text */
    static const char *const platforms[] = {"tiktok", "instagram", "youtube", "feed"};
    const char *platform = size ? platforms[data[0] & 3] : "youtube";
    size_t max = size ? (size_t)((data[0] >> 2) & 15) + 1 : 4;
    char *text = xstrndup(size ? (const char *)data + 1 : "", size ? size - 1 : 0);
    json_t *out = NULL;
    OM_ASSERT(om_discovery_scan(text, platform, max, &out) == OM_OK);
    OM_ASSERT(json_array_size(out) <= max);
    size_t i;
    json_t *c;
    json_array_foreach(out, i, c) {
        const char *url = json_string_value(json_object_get(c, "url"));
        OM_ASSERT(url && *url && json_string_value(json_object_get(c, "platform")));
        om_source_class cl;
        OM_ASSERT(om_source_classify(url, &cl) == OM_OK); /* a profile URL classifies again */
        om_source_class_release(&cl);
        for (size_t k = 0; k < i; k++) /* no candidate twice */
            OM_ASSERT(strcmp(url, json_string_value(json_object_get(json_array_get(out, k),
                                                                    "url"))) != 0);
    }
    json_decref(out);
    free(text);
    om_error_clear();
    return 0;
}
