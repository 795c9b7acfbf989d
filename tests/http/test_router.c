/*
 * test_router.c: the router and the query parser on their own (src/http/router.c):
 * strict percent-decoding, duplicate and malformed keys, path parameters, 404 vs 405.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "http/router.h"

static void test_query(void **st)
{
    om_http_params p = {{0}, {0}, 0};
    assert_int_equal(om_http_query_parse("a=1&b=x%20y+z&c", &p), OM_OK);
    assert_int_equal(p.n, 3);
    assert_string_equal(om_http_param(&p, "b"), "x y z");
    assert_string_equal(om_http_param(&p, "c"), "");
    assert_null(om_http_param(&p, "d"));
    assert_int_equal(om_http_query_parse("a=1&a=2", &p), OM_EINVAL);
    assert_true(strstr(om_error_msg(), "given twice") != NULL);
    assert_int_equal(p.n, 0);
    assert_int_equal(om_http_query_parse("a=%zz", &p), OM_EINVAL);
    assert_int_equal(om_http_query_parse("a=%4", &p), OM_EINVAL);
    assert_int_equal(om_http_query_parse("a=%00", &p), OM_EINVAL);
    assert_int_equal(om_http_query_parse("a=%ff%fe", &p), OM_EINVAL); /* not UTF-8 */
    assert_int_equal(om_http_query_parse("=1", &p), OM_EINVAL);
    assert_int_equal(om_http_query_parse("a%20b=1", &p), OM_EINVAL);
    assert_int_equal(om_http_query_parse("q=%C3%A9", &p), OM_OK);
    assert_string_equal(om_http_param(&p, "q"), "\xc3\xa9");
    om_http_params_release(&p);
}

static const om_route routes[] = {
    {"GET", "/api/v1/clips", 1, "list", "status,limit:integer", NULL},
    {"GET", "/api/v1/clips/:id", 1, "one", "", NULL},
    {"POST", "/api/v1/clips/:id/approve", 2, "approve", "", NULL},
    {"DELETE", "/api/v1/projects/:id/creators/:creator", 2, "rm", "", NULL},
};

static void test_routes(void **st)
{
    om_http_params p = {{0}, {0}, 0};
    char allow[64];
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips", &p, allow), 0);
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/abc%20d", &p, allow), 1);
    assert_string_equal(om_http_param(&p, "id"), "abc d");
    assert_int_equal(om_route_match(routes, 4, "DELETE", "/api/v1/projects/p/creators/c", &p,
                                    allow), 3);
    assert_string_equal(om_http_param(&p, "creator"), "c");
    assert_int_equal(om_route_match(routes, 4, "PUT", "/api/v1/clips", &p, allow),
                     OM_ROUTE_BAD_METHOD);
    assert_string_equal(allow, "GET");
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/x/approve", &p, allow),
                     OM_ROUTE_BAD_METHOD);
    assert_string_equal(allow, "POST");
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/nope", &p, allow),
                     OM_ROUTE_NOT_FOUND);
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/", &p, allow),
                     OM_ROUTE_NOT_FOUND);
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/..", &p, allow),
                     OM_ROUTE_BAD_PATH);
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/%2e%2e", &p, allow),
                     OM_ROUTE_BAD_PATH);
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/a%2fb", &p, allow),
                     OM_ROUTE_BAD_PATH);
    assert_int_equal(om_route_match(routes, 4, "GET", "/api/v1/clips/%zz", &p, allow),
                     OM_ROUTE_BAD_PATH);
    assert_int_equal(om_route_match(routes, 4, "GET", "api/v1/clips", &p, allow),
                     OM_ROUTE_BAD_PATH);
    assert_int_equal(p.n, 0);
}

/* The query spec walk (api_query_only and openapi.json share it). */
static void test_query_spec(void **st)
{
    const char *p = "status,limit:integer,min_score:number", *name, *type;
    size_t nl, tl;
    char got[4][40];
    int n = 0;
    while (n < 4 && om_route_query_next(&p, &name, &nl, &type, &tl)) {
        snprintf(got[n], sizeof(got[n]), "%.*s=%.*s", (int)nl, name, (int)tl, type);
        n++;
    }
    assert_int_equal(n, 3);
    assert_string_equal(got[0], "status=string");
    assert_string_equal(got[1], "limit=integer");
    assert_string_equal(got[2], "min_score=number");
    p = "";
    assert_int_equal(om_route_query_next(&p, &name, &nl, &type, &tl), 0);
    p = NULL;
    assert_int_equal(om_route_query_next(&p, &name, &nl, &type, &tl), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_query), cmocka_unit_test(test_routes),
                                       cmocka_unit_test(test_query_spec)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
