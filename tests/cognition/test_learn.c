/*
 * test_learn.c: Pantheon's weight learning step (cognition/learn.h) on synthetic results:
 * an agent whose scores predict views gains weight, one that predicts fewer views loses
 * it, an orthogonal one stays put, a constant or disabled one is not judged; steps are
 * bounded, converge on the target without passing it, and stay inside the bound; too few
 * clips and bad parameters are refused with their reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "base/common.h"
#include "cognition/learn.h"

enum { HOOK, LENGTH, ENERGY, NOVELTY, OFF, NAG };

static const om_learn_params P = {12, 1.0, 1.5, 0.2, 4};

/* n clips: hook rises with i and views follow it (gain g: log views = g * hook), length
 * alternates +,-,-,+ (orthogonal to a linear ramp), energy constant, novelty the mirror of
 * hook (so it predicts fewer views when g > 0), OFF disabled. */
static om_learn_sample *make(size_t n, double g)
{
    om_learn_sample *s = xcalloc(n, sizeof(*s));
    static const double pat[4] = {1, -1, -1, 1};
    for (size_t i = 0; i < n; i++) {
        double h = 0.2 + 0.6 * (double)i / (double)(n - 1);
        s[i].score[HOOK] = h;
        s[i].score[LENGTH] = 0.5 + 0.2 * pat[i % 4];
        s[i].score[ENERGY] = 0.5;
        s[i].score[NOVELTY] = 1 - h + 0.05 * pat[(i + 1) % 4];
        s[i].score[OFF] = h;
        for (int a = 0; a < NAG; a++)
            s[i].has[a] = 1;
        s[i].outcome = g * h + 0.02 * pat[(i + 2) % 4];
    }
    return s;
}

static void agents(om_learn_agent *ag)
{
    const char *names[NAG] = {"hook", "length", "energy", "novelty", "off"};
    const double base[NAG] = {1.0, 0.5, 0.6, 0.8, 0};
    memset(ag, 0, sizeof(*ag) * NAG);
    for (int a = 0; a < NAG; a++) {
        snprintf(ag[a].name, sizeof(ag[a].name), "%s", names[a]);
        ag[a].base = ag[a].current = base[a];
    }
}

static void test_direction_and_bounds(void **state)
{
    (void)state;
    om_learn_sample *s = make(24, 3.0);
    om_learn_agent ag[NAG];
    agents(ag);
    size_t learned = 0;
    char why[160];
    assert_int_equal(om_learn_weights(s, 24, ag, NAG, &P, &learned, why, sizeof(why)), OM_OK);
    assert_int_equal(learned, 3); /* hook, length, novelty */
    assert_true(ag[HOOK].learned && ag[HOOK].corr > 0.9 && ag[HOOK].beta > 0);
    /* one step is bounded: +20% at most */
    assert_true(fabs(ag[HOOK].next - 1.2) < 1e-9);
    assert_true(ag[HOOK].target > 1.2);
    assert_non_null(strstr(ag[HOOK].why, "more views"));
    assert_true(ag[NOVELTY].learned && ag[NOVELTY].corr < -0.9);
    assert_true(ag[NOVELTY].next < 0.8 && ag[NOVELTY].next >= 0.8 / 1.2 - 1e-9);
    assert_non_null(strstr(ag[NOVELTY].why, "fewer views"));
    assert_true(ag[LENGTH].learned && fabs(ag[LENGTH].corr) < 0.1);
    assert_true(fabs(ag[LENGTH].next - 0.5) < 0.05);
    assert_false(ag[ENERGY].learned);
    assert_non_null(strstr(ag[ENERGY].why, "barely varied"));
    assert_true(ag[ENERGY].next == 0.6);
    assert_false(ag[OFF].learned);
    assert_true(ag[OFF].next == 0);

    /* repeated steps on the same evidence converge on the target and never pass it */
    double target = ag[HOOK].target, prev = ag[HOOK].next;
    for (int k = 0; k < 40; k++) {
        for (int a = 0; a < NAG; a++)
            ag[a].current = ag[a].next;
        assert_int_equal(om_learn_weights(s, 24, ag, NAG, &P, &learned, why, sizeof(why)), OM_OK);
        assert_true(ag[HOOK].next >= prev - 1e-12);
        assert_true(ag[HOOK].next <= target + 1e-9);
        assert_true(ag[HOOK].next <= prev * 1.2 + 1e-9);
        prev = ag[HOOK].next;
    }
    assert_true(fabs(ag[HOOK].next - target) < 1e-9);
    assert_true(ag[HOOK].next <= 4.0 + 1e-9 && ag[NOVELTY].next >= 0.2 - 1e-9);
    free(s);
}

static void test_bound_holds(void **state)
{
    (void)state;
    om_learn_sample *s = make(30, 50.0); /* overwhelming evidence */
    om_learn_agent ag[NAG];
    agents(ag);
    om_learn_params p = P;
    p.ridge = 0;
    p.gain = 10;
    p.max_step = 1;
    size_t learned = 0;
    for (int k = 0; k < 20; k++) {
        assert_int_equal(om_learn_weights(s, 30, ag, NAG, &p, &learned, NULL, 0), OM_OK);
        for (int a = 0; a < NAG; a++)
            ag[a].current = ag[a].next;
    }
    assert_true(ag[HOOK].next <= 1.0 * 4 + 1e-9 && ag[HOOK].next > 3.9);
    assert_true(ag[NOVELTY].next >= 0.8 / 4 - 1e-9);
    free(s);
}

static void test_ridge_shrinks(void **state)
{
    (void)state;
    om_learn_sample *s = make(16, 1.0);
    om_learn_agent a1[NAG], a2[NAG];
    agents(a1);
    agents(a2);
    om_learn_params lo = P, hi = P;
    lo.ridge = 0.1;
    hi.ridge = 10;
    size_t l1, l2;
    assert_int_equal(om_learn_weights(s, 16, a1, NAG, &lo, &l1, NULL, 0), OM_OK);
    assert_int_equal(om_learn_weights(s, 16, a2, NAG, &hi, &l2, NULL, 0), OM_OK);
    assert_true(fabs(a2[HOOK].beta) < fabs(a1[HOOK].beta));
    assert_true(a2[HOOK].target < a1[HOOK].target);
    free(s);
}

static void test_refusals(void **state)
{
    (void)state;
    om_learn_sample *s = make(24, 3.0);
    om_learn_agent ag[NAG];
    agents(ag);
    size_t learned = 9;
    char why[160];
    /* too few clips */
    assert_int_equal(om_learn_weights(s, 5, ag, NAG, &P, &learned, why, sizeof(why)), OM_OK);
    assert_int_equal(learned, 0);
    assert_non_null(strstr(why, "5 measured clips, 12 needed"));
    assert_true(ag[HOOK].next == 1.0);
    /* views all alike */
    for (int i = 0; i < 24; i++)
        s[i].outcome = 0.3;
    assert_int_equal(om_learn_weights(s, 24, ag, NAG, &P, &learned, why, sizeof(why)), OM_OK);
    assert_int_equal(learned, 0);
    assert_non_null(strstr(why, "alike"));
    /* an agent that abstained too often is not judged */
    free(s);
    s = make(24, 3.0);
    for (int i = 0; i < 20; i++)
        s[i].has[LENGTH] = 0;
    assert_int_equal(om_learn_weights(s, 24, ag, NAG, &P, &learned, why, sizeof(why)), OM_OK);
    assert_false(ag[LENGTH].learned);
    assert_non_null(strstr(ag[LENGTH].why, "voted on 4 measured clips"));
    /* bad parameters */
    om_learn_params bad = P;
    bad.min_samples = 1;
    assert_int_equal(om_learn_weights(s, 24, ag, NAG, &bad, &learned, NULL, 0), OM_EINVAL);
    bad = P;
    bad.bound = 0.5;
    assert_int_equal(om_learn_weights(s, 24, ag, NAG, &bad, &learned, NULL, 0), OM_EINVAL);
    assert_int_equal(om_learn_weights(s, 24, ag, OM_PANTHEON_MAX_AGENTS + 1, &P, &learned, NULL, 0),
                     OM_EINVAL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direction_and_bounds),
        cmocka_unit_test(test_bound_holds),
        cmocka_unit_test(test_ridge_shrinks),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("learn", tests, NULL, NULL);
}
