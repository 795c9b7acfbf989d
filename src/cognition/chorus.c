/* chorus.c: merges the Pantheon's votes into one confidence and a disagreement figure
 * (weighted mean and weighted standard deviation; any veto rejects). See pantheon.h. */
#include "base/common.h"

#include <math.h>

#include "base/utf8.h"
#include "cognition/pantheon.h"
#include "cognition/text.h"

void om_chorus_merge(const om_vote *v, size_t n, om_chorus *out)
{
    memset(out, 0, sizeof(*out));
    double sw = 0, sws = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].veto && !out->vetoed) {
            out->vetoed = 1;
            snprintf(out->veto_agent, sizeof(out->veto_agent), "%s", v[i].agent);
            snprintf(out->veto_reason, sizeof(out->veto_reason), "%s", v[i].reason);
        }
        if (!(v[i].weight > 0) || !isfinite(v[i].score))
            continue;
        sw += v[i].weight;
        sws += v[i].weight * v[i].score;
        out->voters++;
    }
    out->total_weight = sw;
    if (sw <= 0)
        return;
    out->confidence = sws / sw;
    double var = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i].weight > 0) || !isfinite(v[i].score))
            continue;
        double d = v[i].score - out->confidence;
        var += v[i].weight * d * d;
    }
    out->disagreement = sqrt(var / sw);
    if (out->confidence < 0)
        out->confidence = 0;
    if (out->confidence > 1)
        out->confidence = 1;
}

json_t *om_chorus_json(const om_chorus *c)
{
    json_t *veto = c->vetoed ? json_pack("{s:s,s:o}", "agent", c->veto_agent, "reason",
                                         om_json_text(c->veto_reason))
                             : json_null();
    return json_pack("{s:f,s:f,s:i,s:f,s:o}", "confidence",
                     round(c->confidence * 10000) / 10000, "disagreement",
                     round(c->disagreement * 10000) / 10000, "voters", c->voters,
                     "total_weight", c->total_weight, "veto", veto);
}
