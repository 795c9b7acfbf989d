/* fuzz_media.c: libFuzzer harness for the text the media layer reads from FFmpeg's
 * programs (src/media/render.c): ffmpeg `-progress pipe:1` key=value blocks
 * (om_render_parse_progress) and ffprobe's -print_format json output
 * (om_render_parse_probe). The same input goes to both. */
#include "base/common.h"
#include "base/log.h"
#include "media/render.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

typedef struct seen {
    int calls, finished;
    double last;
} seen;

static void on_progress(void *ud, double done_s, double total_s, int finished)
{
    seen *s = ud;
    OM_ASSERT(done_s >= 0 && isfinite(done_s) && total_s == 12.5);
    s->calls++;
    s->finished += finished;
    s->last = done_s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen s = {0};
    om_render_opts o = {.on_progress = on_progress, .ud = &s};
    double done = -1;
    int ended = om_render_parse_progress((const char *)data, size, 12.5, &o, &done);
    OM_ASSERT(ended == (s.finished > 0) && done >= 0);

    om_render_info info;
    int rc = om_render_parse_probe((const char *)data, size, "fuzz.mp4", &info);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0]);
    } else {
        OM_ASSERT(info.has_video || info.has_audio);
        OM_ASSERT(strlen(info.vcodec) < sizeof(info.vcodec));
    }
    om_error_clear();
    return 0;
}
