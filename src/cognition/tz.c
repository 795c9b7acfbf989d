/* tz.c: TZif reader and POSIX TZ rule evaluation for DST-safe local time (see tz.h). */
#include "base/common.h"

#include <ctype.h>

#include "base/fsutil.h"
#include "cognition/tz.h"

typedef struct ttype {
    int32_t utoff;
    int isdst;
    char abbr[16];
} ttype;

/* One POSIX TZ rule date: kind 'J' (Julian 1-365, no Feb 29), 'D' (0-365), 'M' (m.w.d). */
typedef struct rdate {
    char kind;
    int a, b, c;  /* J/D: a = day; M: a = month, b = week, c = weekday */
    int32_t secs; /* transition time of day (local, may be negative or > 24h) */
} rdate;

typedef struct posix_rule {
    int valid;
    ttype std, dst;
    int has_dst;
    rdate start, end;
} posix_rule;

struct om_tz {
    char *name;
    int64_t *trans;   /* transition instants (UTC seconds), ascending */
    uint8_t *idx;     /* type index per transition */
    size_t ntrans;
    ttype *types;
    size_t ntypes;
    posix_rule rule;  /* footer */
};

/* ---- calendar ---- */

int64_t om_days_from_civil(int64_t y, int m, int d)
{
    /* normalise month first */
    int64_t mm = m - 1;
    y += mm >= 0 ? mm / 12 : -((11 - mm) / 12);
    mm = ((mm % 12) + 12) % 12;
    int mo = (int)mm + 1;
    /* Howard Hinnant's days_from_civil */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + 1 - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + (d - 1);
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* ---- POSIX TZ string ---- */

static const char *parse_name(const char *p, char *out, size_t n)
{
    size_t k = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>') {
            if (k + 1 < n)
                out[k++] = *p;
            p++;
        }
        if (*p != '>')
            return NULL;
        p++;
    } else {
        while (isalpha((unsigned char)*p)) {
            if (k + 1 < n)
                out[k++] = *p;
            p++;
        }
    }
    out[k] = '\0';
    return k >= 1 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] -> seconds */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!isdigit((unsigned char)*p))
        return NULL;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (!isdigit((unsigned char)*p))
            return NULL;
        int32_t x = 0;
        while (isdigit((unsigned char)*p)) {
            x = x * 10 + (*p++ - '0');
            if (x > 9999) /* RFC 8536 allows hours up to 167; refuse before overflowing */
                return NULL;
        }
        v[i] = x;
    }
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *parse_rdate(const char *p, rdate *r)
{
    r->secs = 7200;
    if (*p == 'J') {
        r->kind = 'J';
        p++;
        r->a = (int)strtol(p, (char **)&p, 10);
    } else if (*p == 'M') {
        r->kind = 'M';
        p++;
        r->a = (int)strtol(p, (char **)&p, 10);
        if (*p++ != '.')
            return NULL;
        r->b = (int)strtol(p, (char **)&p, 10);
        if (*p++ != '.')
            return NULL;
        r->c = (int)strtol(p, (char **)&p, 10);
        if (r->a < 1 || r->a > 12 || r->b < 1 || r->b > 5 || r->c < 0 || r->c > 6)
            return NULL;
    } else if (isdigit((unsigned char)*p)) {
        r->kind = 'D';
        r->a = (int)strtol(p, (char **)&p, 10);
    } else {
        return NULL;
    }
    if (*p == '/') {
        p = parse_hms(p + 1, &r->secs);
        if (!p)
            return NULL;
    }
    return p;
}

static int parse_posix(const char *s, posix_rule *r)
{
    memset(r, 0, sizeof(*r));
    const char *p = parse_name(s, r->std.abbr, sizeof(r->std.abbr));
    if (!p)
        return -1;
    int32_t off;
    p = parse_hms(p, &off);
    if (!p)
        return -1;
    r->std.utoff = -off;
    if (*p == '\0') {
        r->valid = 1;
        return 0;
    }
    p = parse_name(p, r->dst.abbr, sizeof(r->dst.abbr));
    if (!p)
        return -1;
    r->has_dst = 1;
    r->dst.isdst = 1;
    r->dst.utoff = r->std.utoff + 3600;
    if (*p && *p != ',') {
        p = parse_hms(p, &off);
        if (!p)
            return -1;
        r->dst.utoff = -off;
    }
    if (*p == '\0') {
        /* no rule: the US default (glibc's choice) */
        r->start = (rdate){'M', 3, 2, 0, 7200};
        r->end = (rdate){'M', 11, 1, 0, 7200};
        r->valid = 1;
        return 0;
    }
    if (*p++ != ',')
        return -1;
    p = parse_rdate(p, &r->start);
    if (!p || *p++ != ',')
        return -1;
    p = parse_rdate(p, &r->end);
    if (!p || *p != '\0')
        return -1;
    r->valid = 1;
    return 0;
}

/* Day number (days since epoch) of a rule date in year y. */
static int64_t rdate_day(const rdate *r, int y)
{
    int64_t jan1 = om_days_from_civil(y, 1, 1);
    if (r->kind == 'J') {
        int d = r->a - 1; /* 1..365, Feb 29 never counted */
        if (is_leap(y) && r->a >= 60)
            d++;
        return jan1 + d;
    }
    if (r->kind == 'D')
        return jan1 + r->a;
    /* M m.w.d: d-th weekday of week w (5 = last) of month m */
    int64_t first = om_days_from_civil(y, r->a, 1);
    int wd_first = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + ((r->c - wd_first + 7) % 7) + 7 * (r->b - 1);
    int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int ml = mdays[r->a - 1] + (r->a == 2 && is_leap(y));
    while (day >= first + ml)
        day -= 7;
    return day;
}

static const ttype *rule_type(const posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return &r->std;
    int y, m, d;
    civil_from_days(floordiv(t + r->std.utoff, 86400), &y, &m, &d);
    /* check this year and the neighbours so a transition near New Year is not missed */
    for (int yy = y - 1; yy <= y + 1; yy++) {
        int64_t s = rdate_day(&r->start, yy) * 86400 + r->start.secs - r->std.utoff;
        int64_t e = rdate_day(&r->end, yy) * 86400 + r->end.secs - r->dst.utoff;
        if (s < e) {
            if (t >= s && t < e)
                return &r->dst;
        } else {
            /* southern hemisphere: DST spans New Year: [s of yy, e of yy+1) */
            int64_t e2 = rdate_day(&r->end, yy + 1) * 86400 + r->end.secs - r->dst.utoff;
            if (t >= s && t < e2)
                return &r->dst;
        }
    }
    return &r->std;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int parse_tzif(om_tz *tz, const unsigned char *buf, size_t len, const char *path)
{
    if (len < 44 || memcmp(buf, "TZif", 4))
        return om_error_set(OM_EINVAL, "time zone file %s: not TZif", path);
    int version = buf[4] ? buf[4] - '0' : 1;
    const unsigned char *p = buf;
    size_t off = 0;
    int pass = (version >= 2) ? 2 : 1;
    for (int round = 1; round <= pass; round++) {
        if (off + 44 > len)
            return om_error_set(OM_EINVAL, "time zone file %s: truncated header", path);
        const unsigned char *h = p + off;
        if (memcmp(h, "TZif", 4))
            return om_error_set(OM_EINVAL, "time zone file %s: bad second header", path);
        uint32_t isutcnt = be32(h + 20), isstdcnt = be32(h + 24), leapcnt = be32(h + 28),
                 timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        size_t tsz = round == 1 ? 4 : 8;
        size_t need = (size_t)timecnt * tsz + timecnt + (size_t)typecnt * 6 + charcnt +
                      (size_t)leapcnt * (tsz + 4) + isstdcnt + isutcnt;
        off += 44;
        if (typecnt == 0 || typecnt > 256 || off + need > len)
            return om_error_set(OM_EINVAL, "time zone file %s: bad counts", path);
        if (round < pass) {
            off += need;
            continue;
        }
        const unsigned char *d = p + off;
        tz->ntrans = timecnt;
        tz->trans = xcalloc(timecnt ? timecnt : 1, sizeof(int64_t));
        tz->idx = xcalloc(timecnt ? timecnt : 1, 1);
        for (uint32_t i = 0; i < timecnt; i++)
            tz->trans[i] = tsz == 4 ? (int64_t)(int32_t)be32(d + i * 4) : be64(d + i * 8);
        d += (size_t)timecnt * tsz;
        for (uint32_t i = 0; i < timecnt; i++) {
            tz->idx[i] = d[i];
            if (d[i] >= typecnt)
                return om_error_set(OM_EINVAL, "time zone file %s: bad type index", path);
        }
        d += timecnt;
        const unsigned char *types = d;
        const char *chars = (const char *)(d + (size_t)typecnt * 6);
        tz->ntypes = typecnt;
        tz->types = xcalloc(typecnt, sizeof(ttype));
        for (uint32_t i = 0; i < typecnt; i++) {
            tz->types[i].utoff = (int32_t)be32(types + i * 6);
            tz->types[i].isdst = types[i * 6 + 4];
            uint8_t ai = types[i * 6 + 5];
            if (ai < charcnt)
                snprintf(tz->types[i].abbr, sizeof(tz->types[i].abbr), "%.*s",
                         (int)strnlen(chars + ai, charcnt - ai), chars + ai);
        }
        off += need;
    }
    /* footer: "\n<TZ>\n" (version 2+) */
    if (version >= 2 && off < len && p[off] == '\n') {
        const char *s = (const char *)p + off + 1;
        const char *e = memchr(s, '\n', len - off - 1);
        if (e && e > s) {
            char *tzs = xstrndup(s, (size_t)(e - s));
            if (parse_posix(tzs, &tz->rule) != 0)
                tz->rule.valid = 0;
            free(tzs);
        }
    }
    return OM_OK;
}

static int name_ok(const char *n)
{
    if (!*n || *n == '/' || strstr(n, "..") || strlen(n) > 128)
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return 0;
    return 1;
}

int om_tz_load(const char *name, om_tz **out)
{
    *out = NULL;
    if (!name || !*name)
        name = "UTC";
    if (!name_ok(name))
        return om_error_set(OM_EINVAL, "time zone \"%s\": not a zone name", name);
    om_tz *tz = xcalloc(1, sizeof(*tz));
    tz->name = xstrdup(name);
    const char *dir = getenv("TZDIR");
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    char *buf = NULL;
    size_t len = 0;
    int rc = om_read_file(path, 1 << 20, &buf, &len);
    if (rc) {
        if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
            /* no tzdata installed: UTC needs no file */
            om_error_clear();
            tz->types = xcalloc(1, sizeof(ttype));
            snprintf(tz->types[0].abbr, sizeof(tz->types[0].abbr), "UTC");
            tz->ntypes = 1;
            free(path);
            *out = tz;
            return OM_OK;
        }
        om_tz_free(tz);
        om_error_set(OM_ENOTFOUND, "time zone \"%s\": no file %s", name, path);
        free(path);
        return OM_ENOTFOUND;
    }
    rc = parse_tzif(tz, (const unsigned char *)buf, len, path);
    free(buf);
    free(path);
    if (rc) {
        om_tz_free(tz);
        return rc;
    }
    *out = tz;
    return OM_OK;
}

int om_tz_validate(const char *name)
{
    om_tz *tz = NULL;
    int rc = om_tz_load(name, &tz);
    om_tz_free(tz);
    return rc;
}

int om_tz_parse(const char *name, const void *buf, size_t len, om_tz **out)
{
    *out = NULL;
    om_tz *tz = xcalloc(1, sizeof(*tz));
    tz->name = xstrdup(name && *name ? name : "UTC");
    int rc = parse_tzif(tz, buf, len, tz->name);
    if (rc) {
        om_tz_free(tz);
        return rc;
    }
    *out = tz;
    return OM_OK;
}

void om_tz_free(om_tz *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->types);
    free(tz);
}

const char *om_tz_name(const om_tz *tz)
{
    return tz->name;
}

static const ttype *type_at(const om_tz *tz, int64_t t)
{
    if (tz->ntrans == 0 || t < tz->trans[0]) {
        if (tz->ntrans == 0 && tz->rule.valid)
            return rule_type(&tz->rule, t);
        return &tz->types[0];
    }
    if (t >= tz->trans[tz->ntrans - 1] && tz->rule.valid)
        return rule_type(&tz->rule, t);
    size_t lo = 0, hi = tz->ntrans; /* last index with trans <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return &tz->types[tz->idx[lo]];
}

int om_tz_offset(const om_tz *tz, int64_t utc_s)
{
    return type_at(tz, utc_s)->utoff;
}

void om_tz_local(const om_tz *tz, int64_t utc_s, om_local_time *out)
{
    const ttype *ty = type_at(tz, utc_s);
    int64_t l = utc_s + ty->utoff;
    int64_t days = floordiv(l, 86400);
    int64_t rem = l - days * 86400;
    civil_from_days(days, &out->year, &out->mon, &out->mday);
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem % 3600 / 60);
    out->sec = (int)(rem % 60);
    out->wday = (int)(((days + 4) % 7 + 7) % 7);
    out->yday = (int)(days - om_days_from_civil(out->year, 1, 1));
    out->utc_offset_s = ty->utoff;
    out->is_dst = ty->isdst;
    snprintf(out->abbr, sizeof(out->abbr), "%s", ty->abbr);
}

int64_t om_tz_to_utc(const om_tz *tz, int year, int mon, int mday, int hour, int min, int sec)
{
    int64_t L = om_days_from_civil(year, mon, mday) * 86400 + (int64_t)hour * 3600 +
                (int64_t)min * 60 + sec;
    int before = om_tz_offset(tz, L - 86400 * 2);
    int after = om_tz_offset(tz, L + 86400 * 2);
    int near = om_tz_offset(tz, L - om_tz_offset(tz, L));
    int cand[3] = {before, near, after};
    int64_t best = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t t = L - cand[i];
        if (om_tz_offset(tz, t) == cand[i] && t < best)
            best = t; /* valid; the earlier of two for an ambiguous time */
    }
    if (best != INT64_MAX)
        return best;
    /* in a gap: the offset before the transition carries the wall time past it */
    return L - before;
}

int om_tz_hour_of_week(const om_local_time *lt)
{
    return ((lt->wday + 6) % 7) * 24 + lt->hour;
}

void om_tz_format(const om_tz *tz, int64_t utc_s, char *out, size_t n)
{
    om_local_time lt;
    om_tz_local(tz, utc_s, &lt);
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d %s", lt.year, lt.mon, lt.mday, lt.hour, lt.min,
             lt.abbr);
}
