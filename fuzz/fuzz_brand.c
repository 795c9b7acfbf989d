/* fuzz_brand.c: libFuzzer harness for the brand validator (om_brand_normalize and
 * om_brand_patch in src/stages/projects.c): brand.json from `project create --brand` and
 * `project update`. Valid input gives a full normalised brand that validates again
 * unchanged; anything else is OM_EINVAL naming the key. */
#include "base/common.h"
#include "base/log.h"
#include "stages/projects.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) /* om_brand_read_file's cap */
        return 0;
    char *text = xstrndup((const char *)data, size);
    json_t *brand = NULL;
    int rc = om_brand_normalize(text, "/tmp", &brand);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0] && !brand);
    } else {
        /* the normalised form is a fixed point */
        char *again = json_dumps(brand, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *b2 = NULL;
        OM_ASSERT(again && om_brand_normalize(again, "/tmp", &b2) == OM_OK);
        OM_ASSERT(json_equal(brand, b2));
        json_decref(b2);
        free(again);
        /* and the same text as a patch over the defaults */
        json_t *patched = NULL;
        json_t *def = om_brand_defaults();
        OM_ASSERT(om_brand_patch(def, text, "/tmp", &patched) == OM_OK);
        json_decref(patched);
        json_decref(def);
    }
    json_decref(brand);
    free(text);
    om_error_clear();
    return 0;
}
