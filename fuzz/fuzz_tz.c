/* fuzz_tz.c: libFuzzer harness for TZif time zone files (om_tz_parse in
 * src/cognition/tz.c, what om_tz_load reads from $TZDIR) and the conversions the scheduler
 * then makes with the zone, including its POSIX TZ footer rule. */
#include "base/common.h"
#include "base/log.h"
#include "cognition/tz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    om_tz *tz = NULL;
    int rc = om_tz_parse("Fuzz/Zone", data, size, &tz);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && om_error_msg()[0] && !tz);
        om_error_clear();
        return 0;
    }
    static const int64_t instants[] = {0,          -2208988800, 1700000000, 1711846800,
                                       1729990800, 4102444800,  253402300799};
    for (size_t i = 0; i < OM_ARRAY_LEN(instants); i++) {
        om_local_time lt;
        om_tz_local(tz, instants[i], &lt);
        OM_ASSERT(lt.mon >= 1 && lt.mon <= 12 && lt.mday >= 1 && lt.mday <= 31);
        OM_ASSERT(lt.hour >= 0 && lt.hour < 24 && lt.wday >= 0 && lt.wday < 7);
        (void)om_tz_hour_of_week(&lt);
        (void)om_tz_offset(tz, instants[i]);
        (void)om_tz_to_utc(tz, lt.year, lt.mon, lt.mday, lt.hour, lt.min, lt.sec);
        char buf[64];
        om_tz_format(tz, instants[i], buf, sizeof(buf));
    }
    (void)om_tz_to_utc(tz, 2026, 3, 29, 2, 30, 0);
    (void)om_tz_to_utc(tz, 2026, 10, 25, 2, 30, 0);
    om_tz_free(tz);
    om_error_clear();
    return 0;
}
