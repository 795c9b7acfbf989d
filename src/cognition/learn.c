/*
 * learn.c: one bounded step of Pantheon's agent weights toward what our own results say
 * (ridge regression of log views on the agents' scores). The formulas are in learn.h.
 */
#include "base/common.h"

#include <math.h>

#include "cognition/learn.h"

#define MIN_SD 0.01

/* Solves (A) x = b for a symmetric positive definite k x k A (row-major, k <= 16) by
 * Cholesky; A and b are overwritten. 0 on success, -1 when A is not positive definite. */
static int solve_spd(double *a, double *b, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double d = a[j * k + j];
        for (size_t p = 0; p < j; p++)
            d -= a[j * k + p] * a[j * k + p];
        if (d <= 1e-12)
            return -1;
        d = sqrt(d);
        a[j * k + j] = d;
        for (size_t i = j + 1; i < k; i++) {
            double v = a[i * k + j];
            for (size_t p = 0; p < j; p++)
                v -= a[i * k + p] * a[j * k + p];
            a[i * k + j] = v / d;
        }
    }
    for (size_t i = 0; i < k; i++) { /* L y = b */
        double v = b[i];
        for (size_t p = 0; p < i; p++)
            v -= a[i * k + p] * b[p];
        b[i] = v / a[i * k + i];
    }
    for (size_t i = k; i-- > 0;) { /* L' x = y */
        double v = b[i];
        for (size_t p = i + 1; p < k; p++)
            v -= a[p * k + i] * b[p];
        b[i] = v / a[i * k + i];
    }
    return 0;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int om_learn_weights(const om_learn_sample *s, size_t n, om_learn_agent *agents,
                     size_t nagents, const om_learn_params *prm, size_t *learned_out,
                     char *why_out, size_t whylen)
{
    *learned_out = 0;
    if (why_out && whylen)
        why_out[0] = '\0';
    if (nagents > OM_PANTHEON_MAX_AGENTS || !prm || prm->min_samples < 3 || prm->ridge < 0 ||
        !(prm->gain > 0) || !(prm->max_step > 0) || !(prm->bound >= 1))
        return om_error_set(OM_EINVAL, "learning agent weights: bad parameters");
    for (size_t a = 0; a < nagents; a++) {
        om_learn_agent *ag = &agents[a];
        ag->learned = 0;
        ag->n = 0;
        ag->corr = ag->beta = 0;
        ag->next = ag->target = ag->current;
        ag->why[0] = '\0';
    }
    if (n < prm->min_samples) {
        if (why_out)
            snprintf(why_out, whylen, "%zu measured clip%s, %zu needed", n, n == 1 ? "" : "s",
                     prm->min_samples);
        return OM_OK;
    }
    double ymean = 0, ysd = 0;
    for (size_t i = 0; i < n; i++)
        ymean += s[i].outcome;
    ymean /= (double)n;
    for (size_t i = 0; i < n; i++)
        ysd += (s[i].outcome - ymean) * (s[i].outcome - ymean);
    ysd = sqrt(ysd / (double)n);
    if (ysd < 1e-9) {
        if (why_out)
            snprintf(why_out, whylen, "all %zu measured clips did alike (no spread in views)", n);
        return OM_OK;
    }

    /* the agents that can be judged, and their means and spreads */
    size_t idx[OM_PANTHEON_MAX_AGENTS], k = 0;
    double mean[OM_PANTHEON_MAX_AGENTS] = {0}, sd[OM_PANTHEON_MAX_AGENTS] = {0};
    for (size_t a = 0; a < nagents; a++) {
        om_learn_agent *ag = &agents[a];
        if (!(ag->base > 0)) {
            snprintf(ag->why, sizeof(ag->why), "disabled (weight 0): not learned");
            continue;
        }
        size_t m = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i].has[a]) {
                sum += s[i].score[a];
                m++;
            }
        ag->n = m;
        if (m < prm->min_samples) {
            snprintf(ag->why, sizeof(ag->why), "voted on %zu measured clips, %zu needed", m,
                     prm->min_samples);
            continue;
        }
        mean[a] = sum / (double)m;
        double v = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i].has[a])
                v += (s[i].score[a] - mean[a]) * (s[i].score[a] - mean[a]);
        sd[a] = sqrt(v / (double)m);
        if (sd[a] < MIN_SD) {
            snprintf(ag->why, sizeof(ag->why),
                     "its scores barely varied (sd %.3f): nothing to learn from", sd[a]);
            continue;
        }
        idx[k++] = a;
    }
    if (k == 0) {
        if (why_out)
            snprintf(why_out, whylen, "no agent's scores varied enough over %zu clips", n);
        return OM_OK;
    }

    /* R = Z'Z/n + ridge I, r = Z'y/n */
    double R[OM_PANTHEON_MAX_AGENTS * OM_PANTHEON_MAX_AGENTS] = {0};
    double r[OM_PANTHEON_MAX_AGENTS] = {0};
    for (size_t i = 0; i < n; i++) {
        double z[OM_PANTHEON_MAX_AGENTS];
        for (size_t p = 0; p < k; p++) {
            size_t a = idx[p];
            z[p] = s[i].has[a] ? (s[i].score[a] - mean[a]) / sd[a] : 0;
        }
        double y = (s[i].outcome - ymean) / ysd;
        for (size_t p = 0; p < k; p++) {
            r[p] += z[p] * y;
            for (size_t q = 0; q < k; q++)
                R[p * k + q] += z[p] * z[q];
        }
    }
    for (size_t p = 0; p < k; p++) {
        r[p] /= (double)n;
        for (size_t q = 0; q < k; q++)
            R[p * k + q] /= (double)n;
    }
    double corr[OM_PANTHEON_MAX_AGENTS];
    for (size_t p = 0; p < k; p++) {
        double d = sqrt(R[p * k + p]);
        corr[p] = d > 0 ? r[p] / d : 0;
        R[p * k + p] += prm->ridge > 0 ? prm->ridge : 1e-6;
    }
    double beta[OM_PANTHEON_MAX_AGENTS];
    memcpy(beta, r, sizeof(beta));
    if (solve_spd(R, beta, k) != 0) {
        if (why_out)
            snprintf(why_out, whylen, "the agents' scores are collinear (set pantheon.learn_ridge)");
        return OM_OK;
    }
    for (size_t p = 0; p < k; p++) {
        om_learn_agent *ag = &agents[idx[p]];
        ag->learned = 1;
        ag->corr = corr[p];
        ag->beta = beta[p];
        ag->target = clampd(ag->base * exp(prm->gain * beta[p]), ag->base / prm->bound,
                            ag->base * prm->bound);
        double cur = ag->current > 0 ? ag->current : ag->base;
        double ratio = clampd(ag->target / cur, 1 / (1 + prm->max_step), 1 + prm->max_step);
        ag->next = cur * ratio;
        snprintf(ag->why, sizeof(ag->why), "%s scores went with %s views (r = %+.2f, beta %+.2f)",
                 ag->name, corr[p] > 0.05 ? "more" : corr[p] < -0.05 ? "fewer" : "about the same",
                 corr[p], beta[p]);
        (*learned_out)++;
    }
    return OM_OK;
}
