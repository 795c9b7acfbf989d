/* fuzz_subtitles.c: libFuzzer harness for the WebVTT / SRT parser (om_subtitles_parse in
 * src/asr/subtitles.c) and the sentence segmentation it ends with (transcript.c). Output is
 * a transcript whose words have finite, ordered times, or OM_EINVAL with a message. */
#include "base/common.h"
#include "base/log.h"
#include "asr/asr.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    om_transcript t = OM_TRANSCRIPT_INIT;
    int rc = om_subtitles_parse(&t, (const char *)data, size, "fuzz.vtt");
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0]);
        OM_ASSERT(t.n == 0);
        om_error_clear();
        return 0;
    }
    for (size_t i = 0; i < t.n; i++) {
        OM_ASSERT(t.words[i].w && t.words[i].w[0]);
        OM_ASSERT(isfinite(t.words[i].start) && isfinite(t.words[i].end));
        OM_ASSERT(t.words[i].start >= 0 && t.words[i].end >= t.words[i].start);
        if (i)
            OM_ASSERT(t.words[i].start >= t.words[i - 1].start);
    }
    for (size_t i = 0; i < t.nsent; i++)
        OM_ASSERT(t.sentences[i].first + t.sentences[i].count <= t.n);
    om_transcript_release(&t);
    om_error_clear();
    return 0;
}
