/* fuzz_config.c: libFuzzer harness for the settings file: om_config_load (src/base/config.c)
 * reading <home>/omniva.conf (INI through libinih), then the typed getters the program
 * uses. The input is written to omniva.conf in a private temp folder. */
#include "base/common.h"
#include "base/config.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char g_home[64];
static char g_path[96];

static void cleanup(void)
{
    unlink(g_path);
    rmdir(g_home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    snprintf(g_home, sizeof(g_home), "/tmp/omniva-fuzz-config-XXXXXX");
    if (!mkdtemp(g_home))
        abort();
    snprintf(g_path, sizeof(g_path), "%s/omniva.conf", g_home);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    om_config *c = NULL;
    int rc = om_config_load(&c, g_home);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0] && !c);
        om_error_clear();
        return 0;
    }
    /* every value the loader accepted reads back through its typed getter */
    (void)om_config_str(c, "asr.engine");
    (void)om_config_long(c, "scraper.max_bytes");
    (void)om_config_double(c, "ratelimit.burst");
    (void)om_config_bool(c, "asr.prefer_subtitles");
    (void)om_config_str(c, "log.level");
    (void)om_config_text(c, "worker.lease_ms");
    (void)om_config_store_url(c); /* NULL without [store] url */
    OM_ASSERT(om_config_queue_url(c) && om_config_media_dir(c));
    om_config_free(c);
    om_error_clear();
    return 0;
}
