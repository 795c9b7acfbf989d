/* oracle.c: engagement by hour of week from scraped history, smoothed and blended with an
 * evening-peaked prior by sample weight (see scheduling.h). */
#include "base/common.h"

#include <math.h>

#include "cognition/scheduling.h"
#include "cognition/virality.h"

/* Weekday hour-of-day prior on the 0..1 engagement scale (0.5 = typical): night low, a
 * lunch bump, an evening peak 19-21 h. */
static const double weekday_prior[24] = {
    0.22, 0.18, 0.15, 0.13, 0.13, 0.16, 0.25, 0.33, 0.38, 0.40, 0.42, 0.46,
    0.55, 0.52, 0.46, 0.47, 0.52, 0.58, 0.64, 0.70, 0.70, 0.66, 0.52, 0.35,
};

void om_oracle_prior(double out[OM_HOURS_PER_WEEK])
{
    for (int d = 0; d < 7; d++) { /* 0 = Monday */
        for (int h = 0; h < 24; h++) {
            double v = weekday_prior[h];
            if ((d == 5 || d == 6) && h >= 10 && h <= 16)
                v += 0.08; /* weekend midday */
            if ((d == 4 || d == 5) && h >= 22)
                v += 0.05; /* Friday/Saturday late evening */
            if ((d == 5 || d == 6) && h <= 1)
                v += 0.05; /* ...running past midnight */
            out[d * 24 + h] = v;
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

void om_oracle_build(om_oracle *o, const om_tz *tz, const om_oracle_post *posts, size_t n,
                     int64_t now_s)
{
    memset(o, 0, sizeof(*o));
    om_oracle_prior(o->prior);

    /* per-post value, and each creator's median value */
    double *val = xcalloc(n ? n : 1, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        val[i] = -1;
        if (posts[i].posted_at_s <= 0)
            continue;
        int64_t at_s = posts[i].measured_at_s > 0 ? posts[i].measured_at_s : now_s;
        double age_h = (double)(at_s - posts[i].posted_at_s) / 3600.0;
        if (age_h < 6)
            continue; /* engagement not settled yet */
        val[i] = om_engagement_value(posts[i].views, posts[i].likes, posts[i].comments, age_h);
    }
    double raw_w[OM_HOURS_PER_WEEK] = {0}, raw_s[OM_HOURS_PER_WEEK] = {0};
    /* group by creator: sort an index by creator id */
    const char **ids = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        ids[i] = posts[i].creator_id ? posts[i].creator_id : "";
    const char **uniq = xcalloc(n ? n : 1, sizeof(char *));
    memcpy(uniq, ids, n * sizeof(char *));
    qsort(uniq, n, sizeof(char *), cmp_str);
    double *tmp = xcalloc(n ? n : 1, sizeof(double));
    for (size_t u = 0; u < n; u++) {
        if (u > 0 && !strcmp(uniq[u], uniq[u - 1]))
            continue;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(ids[i], uniq[u]))
                tmp[m++] = val[i];
        double med = om_median(tmp, m);
        if (!(med > 0))
            continue;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ids[i], uniq[u]) || val[i] < 0)
                continue;
            double rel = val[i] / med;
            double s = rel / (1.0 + rel);
            om_local_time lt;
            om_tz_local(tz, posts[i].posted_at_s, &lt);
            int h = om_tz_hour_of_week(&lt);
            double w = posts[i].result ? OM_ORACLE_RESULT_W : posts[i].own ? 2.0 : 1.0;
            raw_w[h] += w;
            raw_s[h] += w * s;
            o->samples++;
            if (posts[i].own)
                o->own_samples++;
            if (posts[i].result)
                o->result_samples++;
        }
    }
    free(tmp);
    free(uniq);
    free(ids);
    free(val);

    for (int h = 0; h < OM_HOURS_PER_WEEK; h++) {
        double W = 0, S = 0;
        for (int k = 0; k < OM_HOURS_PER_WEEK; k++) {
            if (raw_w[k] == 0)
                continue;
            int d = ((h - k) % OM_HOURS_PER_WEEK + OM_HOURS_PER_WEEK) % OM_HOURS_PER_WEEK;
            if (d > OM_HOURS_PER_WEEK / 2)
                d = OM_HOURS_PER_WEEK - d;
            double kw = d == 0 ? 1.0 : d == 1 ? 0.5 : d == 2 ? 0.25 : (d % 24 == 0) ? 0.15 : 0;
            W += kw * raw_w[k];
            S += kw * raw_s[k];
        }
        o->weight[h] = W;
        o->observed[h] = W > 0 ? S / W : 0;
        o->score[h] = (W * o->observed[h] + OM_ORACLE_PRIOR_K * o->prior[h]) /
                      (W + OM_ORACLE_PRIOR_K);
    }
}

double om_oracle_at(const om_oracle *o, const om_tz *tz, int64_t utc_s)
{
    om_local_time lt;
    om_tz_local(tz, utc_s, &lt);
    return o->score[om_tz_hour_of_week(&lt)];
}

json_t *om_oracle_result_evidence(const om_tz *tz, const om_oracle_post *posts, size_t n,
                                  int64_t chosen_s)
{
    double *views = xcalloc(n ? n : 1, sizeof(double));
    size_t m = 0, at_hour = 0;
    double sum_hour = 0;
    om_local_time lt;
    om_tz_local(tz, chosen_s, &lt);
    int hour = lt.hour;
    for (size_t i = 0; i < n; i++) {
        if (!posts[i].result || posts[i].views < 0 || posts[i].posted_at_s <= 0)
            continue;
        views[m++] = posts[i].views;
        om_local_time pt;
        om_tz_local(tz, posts[i].posted_at_s, &pt);
        if (pt.hour == hour) {
            at_hour++;
            sum_hour += posts[i].views;
        }
    }
    json_t *ev = NULL;
    if (m) {
        double med = om_median(views, m);
        double ratio = at_hour && med > 0 ? (sum_hour / (double)at_hour) / med : 0;
        ev = json_pack("{s:I,s:i,s:I,s:f}", "posts", (json_int_t)m, "hour", hour, "hour_posts",
                       (json_int_t)at_hour, "hour_views_ratio", round(ratio * 100) / 100);
    }
    free(views);
    return ev;
}
