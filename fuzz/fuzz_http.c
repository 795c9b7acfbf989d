/* fuzz_http.c: libFuzzer harness for the HTTP router and query parser (om_route_match,
 * om_http_query_parse, om_http_decode in src/http/router.c). Input: "METHOD PATH?QUERY".
 * Every input is routed or refused (404/405/400-style codes); a matched route's parameters
 * are non-empty, never "." or "..", never hold '/' or NUL. */
#include "base/common.h"
#include "base/log.h"
#include "http/http.h"
#include "http/router.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = xstrndup((const char *)data, size);
    char *sp = strchr(s, ' ');
    const char *method = "GET", *path = s;
    if (sp) {
        *sp = 0;
        method = s;
        path = sp + 1;
    }
    char *q = strchr(path, '?');
    if (q)
        *q++ = 0;
    om_http_params params = {{0}, {0}, 0}, query = {{0}, {0}, 0};
    char allow[64];
    int i = om_route_match(om_api_routes, om_api_nroutes, method, path, &params, allow);
    if (i >= 0) {
        OM_ASSERT(strcmp(om_api_routes[i].method, method) == 0);
        for (size_t k = 0; k < params.n; k++) {
            const char *v = params.value[k];
            OM_ASSERT(*v && !strchr(v, '/') && strcmp(v, ".") && strcmp(v, ".."));
        }
    } else {
        OM_ASSERT(params.n == 0);
        OM_ASSERT(i == OM_ROUTE_NOT_FOUND || i == OM_ROUTE_BAD_METHOD || i == OM_ROUTE_BAD_PATH);
        if (i == OM_ROUTE_BAD_METHOD)
            OM_ASSERT(allow[0]);
    }
    if (om_http_query_parse(q, &query) == OM_OK) {
        OM_ASSERT(query.n <= OM_HTTP_MAX_PARAMS);
        for (size_t k = 0; k < query.n; k++) {
            OM_ASSERT(query.name[k][0]);
            OM_ASSERT(om_http_param(&query, query.name[k]) == query.value[k]); /* unique */
        }
    } else {
        OM_ASSERT(query.n == 0 && om_error_msg()[0]);
    }
    om_http_params_release(&params);
    om_http_params_release(&query);
    free(s);
    return 0;
}
