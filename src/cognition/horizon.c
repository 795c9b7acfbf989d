/* horizon.c: the project's posting rules (posts per local day, minimum gap, quiet hours)
 * checked against the existing schedule, with reasons (see scheduling.h). */
#include "base/common.h"

#include "cognition/scheduling.h"

static int jint(const json_t *v, int def)
{
    return json_is_number(v) ? (int)json_number_value(v) : def;
}

void om_horizon_rules_from_brand(om_horizon_rules *r, const json_t *brand)
{
    r->posts_per_day = jint(json_object_get(brand, "posts_per_day"), 3);
    r->min_gap_minutes = jint(json_object_get(brand, "min_gap_minutes"), 120);
    r->quiet_start = 23;
    r->quiet_end = 7;
    const json_t *q = json_object_get(brand, "quiet_hours");
    if (json_is_object(q)) {
        r->quiet_start = jint(json_object_get(q, "start"), 23);
        r->quiet_end = jint(json_object_get(q, "end"), 7);
    } else if (json_is_null(q)) {
        r->quiet_start = r->quiet_end = 0; /* explicitly none */
    }
    r->quiet_start = ((r->quiet_start % 24) + 24) % 24;
    r->quiet_end = ((r->quiet_end % 24) + 24) % 24;
}

int om_horizon_is_quiet(const om_horizon_rules *r, int hour)
{
    if (r->quiet_start == r->quiet_end)
        return 0;
    if (r->quiet_start < r->quiet_end)
        return hour >= r->quiet_start && hour < r->quiet_end;
    return hour >= r->quiet_start || hour < r->quiet_end; /* wraps midnight */
}

static void add(json_t *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(json_t *reasons, const char *fmt, ...)
{
    if (!reasons)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(reasons, json_string(s));
    free(s);
}

int om_horizon_allows(const om_horizon_rules *r, const om_tz *tz, const int64_t *existing,
                      size_t nexisting, int64_t t, json_t *reasons)
{
    int ok = 1;
    om_local_time lt;
    om_tz_local(tz, t, &lt);
    if (om_horizon_is_quiet(r, lt.hour)) {
        ok = 0;
        add(reasons, "quiet hours %02d:00-%02d:00 %s", r->quiet_start, r->quiet_end,
            om_tz_name(tz));
    }
    if (r->min_gap_minutes > 0) {
        int64_t gap = (int64_t)r->min_gap_minutes * 60;
        for (size_t i = 0; i < nexisting; i++) {
            int64_t d = t - existing[i];
            if (d < 0)
                d = -d;
            if (d < gap) {
                ok = 0;
                char when[48];
                om_tz_format(tz, existing[i], when, sizeof(when));
                add(reasons, "within %d min of the post at %s (%lld min apart)",
                    r->min_gap_minutes, when, (long long)(d / 60));
                break;
            }
        }
    }
    if (r->posts_per_day > 0) {
        int same = 0;
        for (size_t i = 0; i < nexisting; i++) {
            om_local_time e;
            om_tz_local(tz, existing[i], &e);
            if (e.year == lt.year && e.mon == lt.mon && e.mday == lt.mday)
                same++;
        }
        if (same >= r->posts_per_day) {
            ok = 0;
            add(reasons, "%d posts already on %04d-%02d-%02d (limit %d per day)", same, lt.year,
                lt.mon, lt.mday, r->posts_per_day);
        }
    }
    return ok;
}

json_t *om_horizon_rules_json(const om_horizon_rules *r)
{
    return json_pack("{s:i,s:i,s:{s:i,s:i}}", "posts_per_day", r->posts_per_day,
                     "min_gap_minutes", r->min_gap_minutes, "quiet_hours", "start",
                     r->quiet_start, "end", r->quiet_end);
}
