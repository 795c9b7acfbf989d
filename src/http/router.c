/*
 * router.c: percent-decoding, query strings and route matching (see router.h). No
 * allocation beyond the decoded strings; every input byte is checked.
 */
#include "base/common.h"
#include "base/hex.h"
#include "base/utf8.h"
#include "http/router.h"

void om_http_params_release(om_http_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->name[i]);
        free(p->value[i]);
    }
    p->n = 0;
}

const char *om_http_param(const om_http_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

int om_http_decode(const char *s, size_t n, int plus_space, char **out)
{
    *out = NULL;
    char *d = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < n ? om_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? om_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(d);
                return om_error_set(OM_EINVAL, "bad percent-escape at byte %zu", i);
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
            if (c == 0) {
                free(d);
                return om_error_set(OM_EINVAL, "%%00 (NUL byte) is not allowed");
            }
        } else if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == 0 || c < 0x20 || c == 0x7f) {
            free(d);
            return om_error_set(OM_EINVAL, "control character at byte %zu", i);
        }
        d[k++] = (char)c;
    }
    d[k] = 0;
    if (!om_utf8_valid(d)) {
        free(d);
        return om_error_set(OM_EINVAL, "not valid UTF-8 after decoding");
    }
    *out = d;
    return OM_OK;
}

static int key_ok(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '.' || *k == '-'))
            return 0;
    return 1;
}

int om_http_query_parse(const char *qs, om_http_params *out)
{
    om_http_params_release(out);
    if (!qs || !*qs)
        return OM_OK;
    const char *p = qs;
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len == 0) {
            if (!amp)
                break;
            p = amp + 1; /* "a=1&&b=2" and a trailing '&' are tolerated */
            continue;
        }
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *k = NULL, *v = NULL;
        if (om_http_decode(p, klen, 1, &k)) {
            om_error_wrap(OM_EINVAL, "query parameter name");
            goto bad;
        }
        if (!key_ok(k)) {
            om_error_set(OM_EINVAL, "query parameter name '%.40s' is not [A-Za-z0-9_.-]+", k);
            free(k);
            goto bad;
        }
        if (om_http_decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, 1, &v)) {
            om_error_wrap(OM_EINVAL, "query parameter '%s'", k);
            free(k);
            goto bad;
        }
        if (om_http_param(out, k)) {
            om_error_set(OM_EINVAL, "query parameter '%s' given twice", k);
            free(k);
            free(v);
            goto bad;
        }
        if (out->n == OM_HTTP_MAX_PARAMS) {
            om_error_set(OM_EINVAL, "more than %d query parameters", OM_HTTP_MAX_PARAMS);
            free(k);
            free(v);
            goto bad;
        }
        out->name[out->n] = k;
        out->value[out->n++] = v;
        if (!amp)
            break;
        p = amp + 1;
    }
    return OM_OK;
bad:
    om_http_params_release(out);
    return OM_EINVAL;
}

/* Matches one pattern; 1 match, 0 no match, <0 bad parameter (error set). */
static int match_one(const char *pat, const char *path, om_http_params *params)
{
    om_http_params_release(params);
    while (*pat && *path) {
        if (*pat != '/' || *path != '/')
            return 0;
        pat++;
        path++;
        const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (pl > 0 && pat[0] == ':') {
            if (sl == 0)
                return 0;
            char *v = NULL;
            if (om_http_decode(path, sl, 0, &v))
                return om_error_wrap(OM_EINVAL, "path segment");
            if (strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
                free(v);
                return om_error_set(OM_EINVAL, "path segment may not be '.', '..' or hold '/'");
            }
            if (params->n == OM_HTTP_MAX_PARAMS) {
                free(v);
                return om_error_set(OM_EINVAL, "too many path parameters");
            }
            params->name[params->n] = xasprintf("%.*s", (int)pl - 1, pat + 1);
            params->value[params->n++] = v;
        } else if (pl != sl || memcmp(pat, path, pl) != 0) {
            return 0;
        }
        pat += pl;
        path += sl;
    }
    return *pat == 0 && *path == 0;
}

int om_route_match(const om_route *routes, size_t n, const char *method, const char *path,
                   om_http_params *params, char allow[64])
{
    int other = 0;
    size_t alen = 0;
    if (allow)
        allow[0] = 0;
    if (!path || path[0] != '/')
        return om_error_set(OM_EINVAL, "path must start with '/'"), OM_ROUTE_BAD_PATH;
    for (size_t i = 0; i < n; i++) {
        int m = match_one(routes[i].pattern, path, params);
        if (m < 0) {
            om_http_params_release(params);
            return OM_ROUTE_BAD_PATH;
        }
        if (!m)
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return (int)i;
        other = 1;
        if (allow && alen + strlen(routes[i].method) + 3 < 64) {
            alen += (size_t)snprintf(allow + alen, 64 - alen, "%s%s", alen ? ", " : "",
                                     routes[i].method);
        }
    }
    om_http_params_release(params);
    return other ? OM_ROUTE_BAD_METHOD : OM_ROUTE_NOT_FOUND;
}

int om_route_query_next(const char **p, const char **name, size_t *name_len, const char **type,
                        size_t *type_len)
{
    const char *s = *p ? *p : "";
    if (!*s)
        return 0;
    size_t n = strcspn(s, ":,"), all = strcspn(s, ",");
    *name = s;
    *name_len = n;
    *type = n < all ? s + n + 1 : "string";
    *type_len = n < all ? all - n - 1 : strlen("string");
    *p = s + all + (s[all] == ',');
    return 1;
}
