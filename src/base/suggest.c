/* suggest.c: nearest-name suggestions for typos (see suggest.h). */
#include "base/common.h"
#include "base/suggest.h"

#include <ctype.h>

size_t om_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t m = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < m)
                m = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < m)
                m = d[i - 1][j - 1] + cost;
            d[i][j] = m;
        }
    return d[la][lb];
}

void om_suggest_init(om_suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->best_d = 99;
}

void om_suggest_offer(om_suggest *s, const char *candidate)
{
    size_t d = om_edit_distance(s->word, candidate);
    if (strstr(candidate, s->word) && strlen(s->word) >= 3)
        d = d < 2 ? d : 2;
    if (d < s->best_d) {
        s->best_d = d;
        s->best = candidate;
    }
}

const char *om_suggest_best(const om_suggest *s)
{
    size_t limit = strlen(s->word) / 3;
    if (limit < 2)
        limit = 2;
    return s->best_d <= limit ? s->best : NULL;
}
