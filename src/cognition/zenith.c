/* zenith.c: commits the posting time: the best Oracle slot that Horizon allows, never in
 * the past, and the record of what moved and why (see scheduling.h). */
#include "base/common.h"

#include <math.h>

#include "cognition/scheduling.h"

#define ZENITH_MAX_DAYS 30
#define ZENITH_BLOCKED_MAX 5

static json_t *time_json(int64_t s)
{
    char buf[OM_TIME_LEN];
    return json_string(om_time_iso(buf, s * 1000000));
}

static json_t *local_json(const om_tz *tz, int64_t s)
{
    char buf[64];
    om_tz_format(tz, s, buf, sizeof(buf));
    return json_string(buf);
}

/* Oracle score discounted for waiting: s * (1 - recency_per_day * days ahead). */
static double effective(const om_oracle *o, const om_tz *tz, int64_t t, int64_t now, double rp)
{
    double s = om_oracle_at(o, tz, t) * (1.0 - rp * (double)(t - now) / 86400.0);
    return s > 0 ? s : 0;
}

static double r4(double x)
{
    return round(x * 10000) / 10000;
}

int om_zenith_choose(const om_oracle *o, const om_tz *tz, const om_horizon_rules *r,
                     const int64_t *existing, size_t nexisting, const om_zenith_opts *opts,
                     om_zenith_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = opts->now_s;
    int step = (opts->step_min > 0 ? opts->step_min : 15) * 60;
    int days = opts->horizon_days > 0 ? opts->horizon_days : 3;
    json_t *adj = json_object();
    json_object_set_new(adj, "timezone", json_string(om_tz_name(tz)));
    json_object_set_new(adj, "rules", om_horizon_rules_json(r));
    json_object_set_new(adj, "oracle",
                        json_pack("{s:I,s:I,s:f,s:f}", "samples", (json_int_t)o->samples,
                                  "own_posts", (json_int_t)o->own_samples, "prior_weight",
                                  OM_ORACLE_PRIOR_K, "recency_per_day",
                                  opts->recency_per_day >= 0 ? opts->recency_per_day : 0.03));

    if (opts->force_now) {
        out->final_s = out->recommended_s = now;
        out->final_score = out->recommended_score = om_oracle_at(o, tz, now);
        json_t *reasons = json_array();
        int ok = om_horizon_allows(r, tz, existing, nexisting, now, reasons);
        json_object_set_new(adj, "forced_now", json_true());
        json_object_set_new(adj, "moved", json_false());
        json_object_set_new(adj, "recommended_time", time_json(now));
        json_object_set_new(adj, "recommended_score", json_real(r4(out->final_score)));
        json_object_set_new(adj, "final_time", time_json(now));
        json_object_set_new(adj, "final_local", local_json(tz, now));
        json_object_set_new(adj, "final_score", json_real(r4(out->final_score)));
        json_object_set_new(adj, "bypassed", ok ? json_array() : json_incref(reasons));
        json_decref(reasons);
        json_object_set_new(adj, "blocked", json_array());
        out->adjustments = adj;
        return OM_OK;
    }

    /* first slot: now rounded up to the step (slots aligned to the epoch = to the hour
     * for steps dividing 60 minutes) */
    int64_t first = (now + step - 1) / step * step;
    double rp = opts->recency_per_day >= 0 ? opts->recency_per_day : 0.03;
    int64_t rec_t = 0, fin_t = 0;
    double rec_s = -1, fin_s = -1;
    json_t *last_reasons = NULL;
    for (int window = days; window <= ZENITH_MAX_DAYS && fin_s < 0; window++) {
        int64_t end = now + (int64_t)window * 86400;
        for (int64_t t = first; t < end; t += step) {
            double s = effective(o, tz, t, now, rp);
            if (window == days && s > rec_s + 1e-12) {
                rec_s = s;
                rec_t = t;
            }
            if (s > fin_s + 1e-12 &&
                om_horizon_allows(r, tz, existing, nexisting, t, NULL)) {
                fin_s = s;
                fin_t = t;
            }
        }
        if (fin_s < 0) {
            json_decref(last_reasons);
            last_reasons = json_array();
            om_horizon_allows(r, tz, existing, nexisting, rec_t, last_reasons);
        }
    }
    if (fin_s < 0) {
        const char *why = json_string_value(json_array_get(last_reasons, 0));
        om_error_set(OM_EBUSY, "no posting slot within %d days satisfies the rules (%s)",
                     ZENITH_MAX_DAYS, why ? why : "every slot refused");
        json_decref(last_reasons);
        json_decref(adj);
        return OM_EBUSY;
    }
    json_decref(last_reasons);

    /* slots better than the final one that Horizon refused, best first */
    json_t *blocked = json_array();
    if (fin_t != rec_t) {
        int64_t end = now + (int64_t)days * 86400;
        double lim = 2.0;
        for (int pass = 0; pass < ZENITH_BLOCKED_MAX; pass++) {
            /* the best refused slot scoring below the previous one (one per score level) */
            int64_t bt = 0;
            double bs = -1;
            for (int64_t t = first; t < end; t += step) {
                double s = effective(o, tz, t, now, rp);
                if (s <= fin_s + 1e-12 || s >= lim - 1e-12 || s <= bs + 1e-12)
                    continue;
                if (om_horizon_allows(r, tz, existing, nexisting, t, NULL))
                    continue;
                bs = s;
                bt = t;
            }
            if (bs < 0)
                break;
            lim = bs;
            json_t *reasons = json_array();
            om_horizon_allows(r, tz, existing, nexisting, bt, reasons);
            json_array_append_new(blocked,
                                  json_pack("{s:o,s:o,s:f,s:o}", "time", time_json(bt), "local",
                                            local_json(tz, bt), "score",
                                            r4(om_oracle_at(o, tz, bt)), "reasons", reasons));
        }
    }
    out->final_s = fin_t;
    out->final_score = fin_s = om_oracle_at(o, tz, fin_t);
    out->recommended_s = rec_t;
    out->recommended_score = rec_s = om_oracle_at(o, tz, rec_t);
    json_object_set_new(adj, "forced_now", json_false());
    json_object_set_new(adj, "moved", json_boolean(fin_t != rec_t));
    json_object_set_new(adj, "recommended_time", time_json(rec_t));
    json_object_set_new(adj, "recommended_local", local_json(tz, rec_t));
    json_object_set_new(adj, "recommended_score", json_real(r4(rec_s)));
    json_object_set_new(adj, "final_time", time_json(fin_t));
    json_object_set_new(adj, "final_local", local_json(tz, fin_t));
    json_object_set_new(adj, "final_score", json_real(r4(fin_s)));
    json_object_set_new(adj, "blocked", blocked);
    out->adjustments = adj;
    return OM_OK;
}
