/* fuzz_archive.c: libFuzzer harness for the log-archive reader (om_log_archive_verify in
 * src/oversight/archive.c, behind `omniva ledger verify --archive FILE`): a file that may
 * have been altered, truncated or replaced. Any bytes (plain or gzip) give a report, ok or
 * not with the reason: never a crash, a leak or a claim of rows without a hash. */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "oversight/archive.h"
#include "store/store.h"

#include <unistd.h>

static om_store *st;
static char file[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    char dir[] = "/tmp/omniva-fuzz-archive-XXXXXX";
    OM_ASSERT(mkdtemp(dir));
    char *url = xasprintf("sqlite://%s/omniva.db", dir);
    OM_ASSERT(om_store_open(&st, url) == OM_OK);
    OM_ASSERT(om_store_migrate(st, NULL) == OM_OK);
    free(url);
    snprintf(file, sizeof(file), "%s/logs.jsonl.gz", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    OM_ASSERT(om_write_file_atomic(file, data, size) == OM_OK);
    json_t *rep = NULL;
    int rc = om_log_archive_verify(st, file, &rep);
    OM_ASSERT(rc == OM_OK && rep);
    if (json_is_true(json_object_get(rep, "ok")))
        OM_ASSERT(json_integer_value(json_object_get(rep, "rows")) > 0 &&
                  json_string_value(json_object_get(rep, "head_hash")));
    else
        OM_ASSERT(json_string_value(json_object_get(rep, "error")) &&
                  json_string_value(json_object_get(rep, "error"))[0]);
    json_decref(rep);
    om_error_clear();
    return 0;
}
