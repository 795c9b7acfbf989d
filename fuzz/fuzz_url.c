/* fuzz_url.c: libFuzzer harness for creator URL classification (om_source_classify) and the
 * URL splitter under it (om_url_parse, om_url_normalise, om_url_decode in
 * src/sources/url.c). A URL is either classified or refused with OM_EINVAL and a message. */
#include "base/common.h"
#include "base/log.h"
#include "sources/sources_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = xstrndup((const char *)data, size); /* a URL is a C string: stops at a NUL */
    om_source_class c;
    int rc = om_source_classify(s, &c);
    if (rc == OM_OK) {
        OM_ASSERT(c.platform && c.username && c.profile_url);
        /* a classified creator's profile URL classifies to the same platform */
        om_source_class again;
        if (om_source_classify(c.profile_url, &again) == OM_OK) {
            OM_ASSERT(strcmp(again.platform, c.platform) == 0);
            om_source_class_release(&again);
        }
        om_source_class_release(&c);
    } else {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0]);
    }
    om_error_clear();

    om_url u;
    if (om_url_parse(s, &u) == OM_OK) {
        if (u.has_authority) { /* om_url_normalise's contract: scheme://host... */
            free(om_url_normalise(&u, 1));
            free(om_url_normalise(&u, 0));
        }
        om_url_release(&u);
    }
    om_error_clear();
    free(om_url_host(s));
    free(om_url_decode(s, strlen(s)));
    char ext[16];
    om_source_ext(s, ext);
    OM_ASSERT(strlen(ext) < sizeof(ext));
    (void)om_source_is_media_name(s);
    free(s);
    return 0;
}
