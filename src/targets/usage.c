/* usage.c: per-account usage in a platform's window and the request rate limiter (see
 * usage.h). */
#include "base/common.h"

#include <time.h>

#include "targets/usage.h"

/* The Pacific offset at UTC instant `now` (s): -7 h from the second Sunday of March
 * 10:00 UTC to the first Sunday of November 09:00 UTC, else -8 h (the US rule since 2007). */
static int pacific_offset_h(time_t now)
{
    struct tm u;
    gmtime_r(&now, &u);
    struct tm m = {0};
    m.tm_year = u.tm_year, m.tm_mon = 2, m.tm_mday = 1;
    time_t mar1 = timegm(&m);
    struct tm mt;
    gmtime_r(&mar1, &mt);
    m.tm_mday = 1 + (7 - mt.tm_wday) % 7 + 7, m.tm_hour = 10;
    time_t dst_start = timegm(&m);
    struct tm n = {0};
    n.tm_year = u.tm_year, n.tm_mon = 10, n.tm_mday = 1;
    time_t nov1 = timegm(&n);
    gmtime_r(&nov1, &mt);
    n.tm_mday = 1 + (7 - mt.tm_wday) % 7, n.tm_hour = 9;
    time_t dst_end = timegm(&n);
    return now >= dst_start && now < dst_end ? -7 : -8;
}

void om_usage_window(const char *platform, int64_t now_us, int64_t *start_us, int64_t *end_us)
{
    time_t now = (time_t)(now_us / 1000000);
    if (platform && !strcmp(platform, "youtube")) {
        int off = pacific_offset_h(now);
        time_t local = now + off * 3600;
        time_t day = local - local % 86400; /* local midnight, as local seconds */
        *start_us = (int64_t)(day - off * 3600) * 1000000;
        /* the next midnight may be in the other offset (the DST change days) */
        time_t next = day + 86400;
        int off2 = pacific_offset_h(next - off * 3600);
        *end_us = (int64_t)(next - off2 * 3600) * 1000000;
        return;
    }
    time_t day = now - now % 86400;
    *start_us = (int64_t)day * 1000000;
    *end_us = (int64_t)(day + 86400) * 1000000;
}

int om_usage_get(om_store *s, const char *account_id, const char *platform, int64_t now_us,
                 om_usage *out)
{
    memset(out, 0, sizeof(*out));
    om_usage_window(platform, now_us, &out->window_start_us, &out->window_end_us);
    char ws[OM_TIME_LEN];
    om_time_iso(ws, out->window_start_us);
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT units, posts FROM publish_usage WHERE account_id = ? AND "
                            "window_start = ?",
                            OM_PARAMS(OM_TEXT(account_id), OM_TEXT(ws)), &r);
    if (rc)
        return om_error_wrap(rc, "reading the %s usage", platform);
    if (om_rows_count(r)) {
        out->units = strtoll(om_rows_get(r, 0, 0), NULL, 10);
        out->posts = strtoll(om_rows_get(r, 0, 1), NULL, 10);
    }
    om_rows_free(r);
    return OM_OK;
}

static int usage_upsert(om_store *s, const char *account_id, const char *platform,
                        int64_t now_us, int64_t units, int64_t posts, int exhaust)
{
    int64_t st, en;
    om_usage_window(platform, now_us, &st, &en);
    char ws[OM_TIME_LEN], we[OM_TIME_LEN];
    om_time_iso(ws, st);
    om_time_iso(we, en);
    const char *sql =
        exhaust ? "INSERT INTO publish_usage (account_id, platform, window_start, window_end, "
                  "units, posts, updated_at) VALUES (?, ?, ?, ?, ?, ?, now()) ON CONFLICT "
                  "(account_id, window_start) DO UPDATE SET units = CASE WHEN "
                  "publish_usage.units > excluded.units THEN publish_usage.units ELSE "
                  "excluded.units END, updated_at = excluded.updated_at"
                : "INSERT INTO publish_usage (account_id, platform, window_start, window_end, "
                  "units, posts, updated_at) VALUES (?, ?, ?, ?, ?, ?, now()) ON CONFLICT "
                  "(account_id, window_start) DO UPDATE SET units = publish_usage.units + "
                  "excluded.units, posts = publish_usage.posts + excluded.posts, updated_at = "
                  "excluded.updated_at";
    int rc = om_store_exec(s, sql,
                           OM_PARAMS(OM_TEXT(account_id), OM_TEXT(platform), OM_TEXT(ws),
                                     OM_TEXT(we), OM_INT(units), OM_INT(exhaust ? 0 : posts)),
                           NULL);
    return rc ? om_error_wrap(rc, "recording the %s usage", platform) : OM_OK;
}

int om_usage_add(om_store *s, const char *account_id, const char *platform, int64_t now_us,
                 int64_t units, int64_t posts)
{
    return usage_upsert(s, account_id, platform, now_us, units, posts, 0);
}

int om_usage_exhaust(om_store *s, const char *account_id, const char *platform, int64_t now_us,
                     int64_t units)
{
    return usage_upsert(s, account_id, platform, now_us, units, 0, 1);
}

int om_rate_acquire(om_store *s, const char *account_id, const char *endpoint, long per_minute,
                    volatile int *cancel, int64_t *waited_ms_out)
{
    int64_t t0 = om_mono_ms();
    if (waited_ms_out)
        *waited_ms_out = 0;
    for (;;) {
        int64_t now = om_now_us();
        char cut[OM_TIME_LEN], at[OM_TIME_LEN], old[OM_TIME_LEN];
        om_time_iso(cut, now - 60 * 1000000LL);
        om_time_iso(at, now);
        om_time_iso(old, now - 3600 * 1000000LL);
        int rc = om_store_begin(s);
        char *n = NULL;
        if (!rc)
            rc = om_store_query_value(s,
                                      "SELECT count(*) FROM rate_events WHERE account_id = ? AND "
                                      "endpoint = ? AND at > ?",
                                      OM_PARAMS(OM_TEXT(account_id), OM_TEXT(endpoint),
                                                OM_TEXT(cut)),
                                      &n);
        int fits = !rc && n && strtol(n, NULL, 10) < per_minute;
        free(n);
        if (!rc && fits)
            rc = om_store_exec(s,
                               "INSERT INTO rate_events (account_id, endpoint, at) VALUES (?, ?, "
                               "?)",
                               OM_PARAMS(OM_TEXT(account_id), OM_TEXT(endpoint), OM_TEXT(at)),
                               NULL);
        if (!rc && fits) /* the old rows are no longer needed by anyone */
            rc = om_store_exec(s, "DELETE FROM rate_events WHERE account_id = ? AND at < ?",
                               OM_PARAMS(OM_TEXT(account_id), OM_TEXT(old)), NULL);
        if (!rc)
            rc = om_store_commit(s);
        else
            om_store_rollback(s);
        if (rc)
            return om_error_wrap(rc, "rate limit of %s", endpoint);
        if (fits) {
            if (waited_ms_out)
                *waited_ms_out = om_mono_ms() - t0;
            return OM_OK;
        }
        if (cancel && *cancel)
            return om_error_set(OM_ETIMEOUT, "cancelled waiting for the %s rate limit", endpoint);
        om_sleep_ms(200);
    }
}
