/*
 * rows.c: om_rows, the fully materialised result set both store backends return.
 *
 * Layout: every cell value (NUL-terminated) lives in one growing arena; a cell is an
 * offset into it (or NO_VALUE for SQL NULL), so a result costs a handful of allocations
 * however many rows it has. Strings handed out by om_rows_get point into the arena and
 * stay valid until om_rows_free (the arena no longer moves once the backend is done).
 */
#include "base/common.h"
#include "store/store_backend.h"

#include <errno.h>
#include <math.h>

#define NO_VALUE SIZE_MAX

struct om_rows {
    size_t ncols;
    size_t nrows;
    char **colnames;   /* ncols entries, owned */
    size_t *cells;     /* nrows * ncols arena offsets */
    size_t cells_alloc;/* in cells */
    char *arena;
    size_t arena_len;
    size_t arena_alloc;
};

om_rows *om_rows_new(size_t ncols)
{
    om_rows *r = xcalloc(1, sizeof(*r));
    r->ncols = ncols;
    r->colnames = xcalloc(ncols ? ncols : 1, sizeof(char *));
    return r;
}

void om_rows_set_colname(om_rows *r, size_t col, const char *name)
{
    OM_ASSERT(r && col < r->ncols);
    free(r->colnames[col]);
    r->colnames[col] = xstrdup(name ? name : "");
}

void om_rows_add_row(om_rows *r)
{
    OM_ASSERT(r);
    size_t need = st_mult(st_add(r->nrows, 1), r->ncols);
    if (need > r->cells_alloc) {
        size_t n = r->cells_alloc ? r->cells_alloc : 16 * (r->ncols ? r->ncols : 1);
        while (n < need)
            n = st_mult(n, 2);
        r->cells = xrealloc(r->cells, st_mult(n, sizeof(size_t)));
        r->cells_alloc = n;
    }
    size_t *row = r->cells + r->nrows * r->ncols;
    for (size_t c = 0; c < r->ncols; c++)
        row[c] = NO_VALUE;
    r->nrows++;
}

void om_rows_set(om_rows *r, size_t col, const char *value, size_t len)
{
    OM_ASSERT(r && r->nrows > 0 && col < r->ncols);
    size_t *cell = &r->cells[(r->nrows - 1) * r->ncols + col];
    if (!value) {
        *cell = NO_VALUE;
        return;
    }
    size_t need = st_add(st_add(r->arena_len, len), 1);
    if (need > r->arena_alloc) {
        size_t n = r->arena_alloc ? r->arena_alloc : 256;
        while (n < need)
            n = st_mult(n, 2);
        r->arena = xrealloc(r->arena, n);
        r->arena_alloc = n;
    }
    memcpy(r->arena + r->arena_len, value, len);
    r->arena[r->arena_len + len] = '\0';
    *cell = r->arena_len;
    r->arena_len = need;
}

size_t om_rows_count(const om_rows *r)
{
    return r ? r->nrows : 0;
}

size_t om_rows_ncols(const om_rows *r)
{
    return r ? r->ncols : 0;
}

const char *om_rows_colname(const om_rows *r, size_t col)
{
    OM_ASSERT(r && col < r->ncols);
    return r->colnames[col];
}

const char *om_rows_get(const om_rows *r, size_t row, size_t col)
{
    OM_ASSERT(r && row < r->nrows && col < r->ncols);
    size_t off = r->cells[row * r->ncols + col];
    return off == NO_VALUE ? NULL : r->arena + off;
}

static int col_index(const om_rows *r, const char *colname)
{
    for (size_t c = 0; c < r->ncols; c++)
        if (strcmp(r->colnames[c], colname) == 0)
            return (int)c;
    return -1;
}

const char *om_rows_getn(const om_rows *r, size_t row, const char *colname)
{
    OM_ASSERT(r && colname);
    int c = col_index(r, colname);
    /* Asking for a column the query does not select is a programming error. */
    if (c < 0) {
        fprintf(stderr, "omniva: BUG: om_rows_getn: no column '%s' in the result\n", colname);
        abort();
    }
    return om_rows_get(r, row, (size_t)c);
}

int64_t om_rows_int(const om_rows *r, size_t row, const char *colname, int64_t def)
{
    const char *v = om_rows_getn(r, row, colname);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno == 0 && *end == '\0')
        return (int64_t)x;
    /* A REAL column read as an integer (e.g. "3.0"): truncate like a C cast. */
    double d = strtod(v, &end);
    if (*end == '\0' && isfinite(d) && d >= -9.2e18 && d <= 9.2e18)
        return (int64_t)d;
    return def;
}

double om_rows_real(const om_rows *r, size_t row, const char *colname, double def)
{
    const char *v = om_rows_getn(r, row, colname);
    if (!v || !*v)
        return def;
    char *end;
    double d = strtod(v, &end);
    return *end == '\0' ? d : def;
}

void om_rows_free(om_rows *r)
{
    if (!r)
        return;
    for (size_t c = 0; c < r->ncols; c++)
        free(r->colnames[c]);
    free(r->colnames);
    free(r->cells);
    free(r->arena);
    free(r);
}
