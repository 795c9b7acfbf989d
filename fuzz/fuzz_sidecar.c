/* fuzz_sidecar.c: libFuzzer harness for a local folder's .json sidecar (title, description,
 * posted_at/timestamp, views/likes/comments/duration): om_local_sidecar_apply in
 * src/sources/local.c. Garbage is OM_EINVAL with a message and leaves the entry as it was. */
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
    om_source_entries l = {0};
    om_source_entry *e = om_source_entries_add(&l);
    om_source_entry_set(e, "clip.mp4@0123456789abcdef", "file:///srv/footage/clip.mp4",
                        "/srv/footage/clip.mp4", "local");
    e->title = xstrdup("clip");
    json_t *raw = json_pack("{s:s, s:s}", "omniva_driver", "local", "title", "clip");
    int rc = om_local_sidecar_apply(e, (const char *)data, size, "clip.json", raw);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0]);
        OM_ASSERT(!strcmp(e->title, "clip") && !e->posted_at && json_object_size(raw) == 2);
    } else {
        OM_ASSERT(json_is_object(json_object_get(raw, "sidecar")));
        if (e->posted_at)
            OM_ASSERT(strlen(e->posted_at) == 27); /* canonical YYYY-MM-DDTHH:MM:SS.ffffffZ */
    }
    json_decref(raw);
    om_source_entries_free(&l);
    om_error_clear();
    return 0;
}
