/*
 * router.h: the HTTP layer's pure parts, with no server underneath (so the fuzzer and the
 * unit tests drive them directly): percent-decoding, strict query-string parsing, and a
 * route table matched on method + path pattern ("/api/v1/clips/:id").
 *
 * Strictness (bad input is OM_EINVAL with a message naming what was wrong; the server
 * turns it into a 400):
 *   - "%XY" must be two hex digits; a decoded NUL byte is refused; the result must be
 *     valid UTF-8; '+' in a query means a space;
 *   - a query has at most OM_HTTP_MAX_PARAMS pairs, keys are non-empty, [A-Za-z0-9_.-],
 *     and appear once; a pair without '=' has the value "";
 *   - a path parameter is one decoded segment: non-empty, no '/', no "." or "..".
 *
 * Ownership: om_http_params own their strings (om_http_params_release). Route tables are
 * static data, borrowed.
 */
#ifndef OMNIVA_HTTP_ROUTER_H
#define OMNIVA_HTTP_ROUTER_H

#include <stddef.h>

#define OM_HTTP_MAX_PARAMS 32

typedef struct om_http_params {
    char *name[OM_HTTP_MAX_PARAMS];
    char *value[OM_HTTP_MAX_PARAMS];
    size_t n;
} om_http_params;

void om_http_params_release(om_http_params *p);
/* The value of `name`, or NULL when absent (borrowed). */
const char *om_http_param(const om_http_params *p, const char *name);

/* Decodes n bytes of s (plus_space: '+' -> ' '); *out is the caller's. OM_EINVAL. */
int om_http_decode(const char *s, size_t n, int plus_space, char **out);
/* Parses a query string (without '?'; NULL or "" is empty) into *out (emptied first). */
int om_http_query_parse(const char *qs, om_http_params *out);

/* The caller's handler, stored generically (cast back to its real type by the caller). */
typedef void (*om_route_fn)(void);

typedef struct om_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v1/clips/:id"; a segment ":name" binds a parameter */
    int access;          /* the caller's access level */
    const char *summary; /* for openapi.json */
    /* the query parameters the route takes: "name[:type],..." (type integer, number or
     * boolean; string when absent), checked by api_query_only and listed in openapi.json */
    const char *query;
    om_route_fn fn;      /* the caller's handler */
} om_route;

/* Walks a route's query spec (om_route.query): each call sets the next parameter's name and
 * type (pointers into the spec with their lengths; type "string" when the spec gives none)
 * and advances *p; 0 at the end. */
int om_route_query_next(const char **p, const char **name, size_t *name_len, const char **type,
                        size_t *type_len);

enum { OM_ROUTE_NOT_FOUND = -1, OM_ROUTE_BAD_METHOD = -2, OM_ROUTE_BAD_PATH = -3 };

/* Matches method + raw path (no query; percent-encoded) against the table. Returns the
 * index of the matching route with its parameters in *params (decoded), or
 * OM_ROUTE_NOT_FOUND, OM_ROUTE_BAD_METHOD (the path matches under another method; *allow
 * gets "GET, POST" when allow is not NULL) or OM_ROUTE_BAD_PATH (bad escape or
 * parameter; om_error_msg says why). */
int om_route_match(const om_route *routes, size_t n, const char *method, const char *path,
                   om_http_params *params, char allow[64]);

#endif
