/* jumpcut.c: finds the pauses to cut out of a clip and maps source times onto the cut
 * timeline (see jumpcut.h). */
#include "base/common.h"
#include "media/jumpcut.h"

#include <math.h>

typedef struct span {
    double s, e;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s;
}

static int filler(const char *w)
{
    size_t n = strlen(w);
    return n == 0 || (w[0] == '<' && w[n - 1] == '>') || (w[0] == '[' && w[n - 1] == ']') ||
           (n >= 4 && w[0] == '+' && w[1] == '+');
}

int om_jumpcut_find(json_t **segments_out, double *removed_out, int *npauses_out,
                    const json_t *words, double start, double end, double min_pause, double keep,
                    double fps)
{
    *segments_out = NULL;
    if (removed_out)
        *removed_out = 0;
    if (npauses_out)
        *npauses_out = 0;
    if (!(end > start) || !(min_pause > 0) || keep < 0 || !(fps > 0))
        return om_error_set(OM_EINVAL, "jump cuts: bad range or settings");
    size_t n = json_array_size(words), nw = 0;
    span *w = xcalloc(n ? n : 1, sizeof(span));
    size_t i;
    json_t *o;
    json_array_foreach(words, i, o) {
        json_t *js = json_object_get(o, "start"), *je = json_object_get(o, "end");
        const char *t = json_string_value(json_object_get(o, "w"));
        if (!t || filler(t) || !json_is_number(js) || !json_is_number(je))
            continue;
        double s = json_number_value(js), e = json_number_value(je);
        if (!isfinite(s) || !isfinite(e) || (s + e) / 2 < start || (s + e) / 2 >= end)
            continue;
        w[nw++] = (span){s, e > s ? e : s};
    }
    qsort(w, nw, sizeof(span), cmp_span);
    json_t *seg = json_array();
    double at = start, removed = 0, reach = nw ? w[0].e : start;
    int pauses = 0;
    for (size_t k = 1; k < nw; k++) {
        double gap_s = reach, gap_e = w[k].s;
        if (gap_e - gap_s > min_pause) {
            /* snap to the frame grid of the clip's own timeline */
            double a = start + round((gap_s + keep - start) * fps) / fps;
            double b = start + round((gap_e - keep - start) * fps) / fps;
            if (b - a >= 1.0 / fps && a > at) {
                json_array_append_new(seg, json_pack("[f,f]", at, a));
                removed += b - a;
                pauses++;
                at = b;
            }
        }
        reach = fmax(reach, w[k].e);
    }
    free(w);
    if (!pauses) {
        json_decref(seg);
        return OM_OK;
    }
    json_array_append_new(seg, json_pack("[f,f]", at, end));
    *segments_out = seg;
    if (removed_out)
        *removed_out = removed;
    if (npauses_out)
        *npauses_out = pauses;
    return OM_OK;
}

double om_jumpcut_kept(const json_t *segments)
{
    double k = 0;
    size_t i;
    json_t *s;
    json_array_foreach(segments, i, s)
        k += json_number_value(json_array_get(s, 1)) - json_number_value(json_array_get(s, 0));
    return k;
}

double om_jumpcut_map(const json_t *segments, double start, double end, double t)
{
    if (!json_is_array(segments) || json_array_size(segments) == 0)
        return t - start;
    if (t < start)
        return t - start;
    if (t > end)
        return om_jumpcut_kept(segments) + (t - end);
    double out = 0;
    size_t i;
    json_t *s;
    json_array_foreach(segments, i, s) {
        double a = json_number_value(json_array_get(s, 0)),
               b = json_number_value(json_array_get(s, 1));
        if (t <= a)
            break;
        out += fmin(t, b) - a;
    }
    return out;
}

json_t *om_jumpcut_retime_words(const json_t *words, const json_t *segments, double start,
                                double end)
{
    json_t *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(words, i, o) {
        json_t *c = json_deep_copy(o);
        json_t *js = json_object_get(o, "start"), *je = json_object_get(o, "end");
        if (json_is_number(js) && json_is_number(je)) {
            double s = json_number_value(js), e = json_number_value(je);
            json_object_set_new(c, "start",
                                json_real(start + om_jumpcut_map(segments, start, end, s)));
            json_object_set_new(c, "end",
                                json_real(start + om_jumpcut_map(segments, start, end, e)));
        }
        json_array_append_new(out, c);
    }
    return out;
}
