/* fuzz_ytdlp.c: libFuzzer harness for yt-dlp's JSON (a -J listing or a --dump-json / info
 * JSON line): om_ytdlp_parse (src/sources/ytdlp.c) plus the metadata helpers a fetch applies
 * to the info JSON (om_source_trim_info, om_source_info_time in src/sources/sources.c). */
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
    static const om_source_creator creators[] = {
        {NULL, "youtube", "@someone", "https://www.youtube.com/@someone"},
        {NULL, "tiktok", "someone", "https://www.tiktok.com/@someone"},
        {NULL, "feed", "https://example.com/videos", "https://example.com/videos"},
    };
    const om_source_creator *cr = &creators[size % 3] /* the length picks one */;
    om_source_entries out = {0};
    int rc = om_ytdlp_parse((const char *)data, size, cr, 50, &out);
    if (rc != OM_OK)
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0] && out.n == 0);
    for (size_t i = 0; i < out.n; i++) {
        om_source_entry *e = &out.v[i];
        OM_ASSERT(e->platform_post_id && e->url && e->media_url && e->rate_key && e->raw);
        OM_ASSERT(e->duration_hint == e->duration_hint); /* not NaN */
    }
    om_source_entries_free(&out);
    om_error_clear();

    json_error_t jerr;
    json_t *info = json_loadb((const char *)data, size, 0, &jerr);
    if (json_is_object(info)) {
        om_source_trim_info(info);
        free(om_source_info_time(info));
    }
    json_decref(info);
    om_error_clear();
    return 0;
}
