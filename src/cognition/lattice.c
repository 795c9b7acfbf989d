/* lattice.c: turns Chorus confidence into clips.lattice_priority (freshness, creator
 * diversity) and ranks one video's candidates into SELECTED / REJECTED. See pantheon.h. */
#include "base/common.h"

#include <math.h>

#include "cognition/pantheon.h"

void om_lattice_priority(const om_lattice_in *in, om_lattice_out *out)
{
    double conf = isfinite(in->confidence) ? in->confidence : 0;
    conf = conf < 0 ? 0 : conf > 1 ? 1 : conf;
    out->freshness = in->post_age_hours >= 0 && isfinite(in->post_age_hours)
                         ? 0.6 + 0.4 * pow(2.0, -in->post_age_hours / 72.0)
                         : 0.8;
    out->diversity = 1.0;
    if (in->ncreators > 1 && in->creator_share >= 0) {
        double fair = 1.0 / (double)in->ncreators;
        double share = in->creator_share > 1 ? 1 : in->creator_share;
        double over = share > fair ? share - fair : 0;
        out->diversity = 1.0 - 0.6 * over / (1.0 - fair);
    }
    out->priority = conf * out->freshness * out->diversity;
}

typedef struct idx {
    size_t i;
    double p;
} idx;

static int cmp_idx(const void *a, const void *b)
{
    const idx *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

void om_lattice_rank(om_rank_item *items, size_t n, size_t per_video, double min_confidence)
{
    idx *ord = xcalloc(n ? n : 1, sizeof(idx));
    for (size_t i = 0; i < n; i++) {
        ord[i].i = i;
        ord[i].p = isfinite(items[i].priority) ? items[i].priority : 0;
    }
    qsort(ord, n, sizeof(idx), cmp_idx);
    size_t chosen = 0;
    for (size_t r = 0; r < n; r++) {
        om_rank_item *it = &items[ord[r].i];
        it->rank = (int)r + 1;
        it->selected = 0;
        if (it->vetoed) {
            snprintf(it->reason, sizeof(it->reason), "vetoed: %s",
                     it->veto_reason ? it->veto_reason : "(no reason given)");
        } else if (it->confidence < min_confidence) {
            snprintf(it->reason, sizeof(it->reason),
                     "confidence %.2f below the committee's minimum %.2f", it->confidence,
                     min_confidence);
        } else if (chosen >= per_video) {
            snprintf(it->reason, sizeof(it->reason),
                     "rank %zu by priority (%.3f); only the top %zu per video are taken", r + 1,
                     it->priority, per_video);
        } else {
            it->selected = 1;
            chosen++;
            snprintf(it->reason, sizeof(it->reason),
                     "rank %zu by priority (%.3f), confidence %.2f: within the top %zu per video",
                     r + 1, it->priority, it->confidence, per_video);
        }
    }
    free(ord);
}
