/* virality.c: the documented virality prior and post-engagement helpers (see virality.h). */
#include "base/common.h"

#include <math.h>

#include "cognition/virality.h"

static double clamp01(double x)
{
    if (isnan(x))
        return 0.0;
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

double om_virality_score(const om_virality_in *in)
{
    double eng = in->engagement < 0 ? 0.5 : clamp01(in->engagement);
    return clamp01(0.35 * clamp01(in->hook) + 0.25 * clamp01(in->energy) +
                   0.15 * clamp01(in->pace) + 0.25 * eng);
}

double om_energy_score(double loud_rel_db, int have_loudness, double scenes_per_min)
{
    double loud = have_loudness && isfinite(loud_rel_db) ? 1.0 / (1.0 + exp(-loud_rel_db / 3.0))
                                                         : 0.5;
    double sc = scenes_per_min > 0 ? 1.0 - exp(-scenes_per_min / 8.0) : 0.0;
    return clamp01(0.7 * loud + 0.3 * sc);
}

double om_pace_score(double wpm)
{
    if (!(wpm > 0))
        return 0.0;
    double z = (wpm - 165.0) / 70.0;
    return clamp01(exp(-z * z));
}

static double num_of(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == '\0' && d >= 0)
            return d;
    }
    return -1;
}

static double first_num(const json_t *obj, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        double d = num_of(json_object_get(obj, keys[i]));
        if (d >= 0)
            return d;
    }
    const json_t *stats = json_object_get(obj, "statistics");
    if (json_is_object(stats) && stats != obj)
        return first_num(stats, keys);
    return -1;
}

void om_post_counts(const json_t *raw, double *views, double *likes, double *comments)
{
    static const char *const vk[] = {"view_count", "views", "viewCount", "play_count",
                                     "playCount", NULL};
    static const char *const lk[] = {"like_count", "likes", "likeCount", "digg_count",
                                     "diggCount", NULL};
    static const char *const ck[] = {"comment_count", "comments", "commentCount", NULL};
    *views = *likes = *comments = -1;
    if (!json_is_object(raw))
        return;
    *views = first_num(raw, vk);
    *likes = first_num(raw, lk);
    *comments = first_num(raw, ck);
}

double om_engagement_value(double views, double likes, double comments, double age_hours)
{
    if (views < 0 && likes < 0 && comments < 0)
        return -1;
    double raw = (views > 0 ? views : 0) + 10.0 * (likes > 0 ? likes : 0) +
                 30.0 * (comments > 0 ? comments : 0);
    double days = age_hours / 24.0;
    if (!(days > 0.25))
        days = 0.25;
    return raw / (1.0 - exp(-days / 3.0));
}

double om_engagement_score(double value, double creator_median)
{
    if (value < 0 || !(creator_median > 0))
        return 0.5;
    double rel = value / creator_median;
    return clamp01(rel / (1.0 + rel));
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double om_median(const double *v, size_t n)
{
    double *c = xmalloc(st_mult(n ? n : 1, sizeof(double)));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= 0)
            c[m++] = v[i];
    double r = -1;
    if (m) {
        qsort(c, m, sizeof(double), cmp_d);
        r = (m % 2) ? c[m / 2] : (c[m / 2 - 1] + c[m / 2]) / 2.0;
    }
    free(c);
    return r;
}
