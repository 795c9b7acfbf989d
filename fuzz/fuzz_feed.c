/* fuzz_feed.c: libFuzzer harness for the RSS 2.0 / RSS 1.0 / Atom / YouTube feed parser
 * (om_feed_parse in src/sources/feed.c) and its date parser. Any input must give entries or
 * OM_EINVAL with a message: never a crash, a leak or silence. */
#include "base/common.h"
#include "base/log.h"
#include "sources/sources.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input's length picks the creator's platform and a limit (0: all), as scrape
     * passes them, so the content bytes stay a plain feed. */
    const char *platform = (size & 1) ? "youtube" : "feed";
    size_t limit = (size & 2) ? 1 : 0;
    om_source_entries out = {0};
    int rc = om_feed_parse((const char *)data, size, "https://example.com/blog/feed.xml",
                           platform, limit, &out);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0]);
        OM_ASSERT(out.n == 0);
    }
    for (size_t i = 0; i < out.n; i++)
        OM_ASSERT(out.v[i].platform_post_id && out.v[i].url && out.v[i].fetcher);
    om_source_entries_free(&out);
    om_error_clear();

    char *s = xstrndup((const char *)data, size < 256 ? size : 256);
    int64_t us;
    rc = om_feed_parse_date(s, &us);
    OM_ASSERT(rc == OM_OK || (rc == OM_EINVAL && om_error_msg()[0]));
    free(s);
    om_error_clear();
    return 0;
}
