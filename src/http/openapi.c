/*
 * openapi.c: GET /api/v1/openapi.json, an OpenAPI 3.0 document generated from the route
 * table (api.c), so the document and the routes cannot drift apart: every path with its
 * methods, summaries, path and query parameters (om_route.query, which api_query_only also
 * enforces), the error shape and the two security schemes.
 */
#include "base/common.h"

#include "http/api_int.h"
#include "http/router.h"

/* "/api/v1/clips/:id" -> "/api/v1/clips/{id}"; the parameter names go to params. */
static char *oa_path(const char *pat, json_t *params)
{
    om_sbuf sb = OM_SBUF_INIT;
    for (const char *p = pat; *p;) {
        if (*p == ':') {
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
            char *name = xasprintf("%.*s", (int)n, p + 1);
            sb_printf(&sb, "{%s}", name);
            json_array_append_new(params,
                                  json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", "path",
                                            "required", 1, "schema", "type", "string"));
            free(name);
            p += n + 1;
        } else {
            sb_append(&sb, p, 1);
            p++;
        }
    }
    return sb_detach(&sb);
}

/* The route's query spec ("limit:integer,sort,...") as parameters "in": "query". */
static void oa_query(const char *spec, json_t *params)
{
    const char *name, *type;
    size_t nl, tl;
    while (om_route_query_next(&spec, &name, &nl, &type, &tl))
        json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s%}}", "name", name, nl,
                                                "in", "query", "required", 0, "schema", "type",
                                                type, tl));
}

void h_openapi(om_http_req *r)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < om_api_nroutes; i++) {
        const om_route *rt = &om_api_routes[i];
        json_t *params = json_array();
        char *p = oa_path(rt->pattern, params);
        oa_query(rt->query, params);
        json_t *item = json_object_get(paths, p);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, p, item);
        }
        char method[8];
        size_t k = 0;
        for (; rt->method[k] && k < sizeof(method) - 1; k++)
            method[k] = (char)(rt->method[k] | 0x20);
        method[k] = 0;
        json_t *op = json_pack(
            "{s:s, s:o, s:{s:{s:s}, s:{s:s, s:{s:{s:{s:s}}}}}}", "summary", rt->summary,
            "parameters", params, "responses", "200", "description", "success", "default",
            "description", "an error", "content", "application/json", "schema", "$ref",
            "#/components/schemas/Error");
        if (rt->access == API_PUBLIC)
            json_object_set_new(op, "security", json_array());
        json_object_set_new(op, "x-omniva-role",
                            json_string(rt->access == API_PUBLIC     ? "public"
                                        : rt->access == API_VIEWER   ? "viewer"
                                        : rt->access == API_OPERATOR ? "operator"
                                                                     : "admin"));
        json_object_set_new(item, method, op);
        free(p);
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:[{s:[]}, {s:[]}],"
        " s:{s:{s:{s:s, s:s, s:s}, s:{s:s, s:s}},"
        "    s:{s:{s:s, s:[s], s:{s:{s:s, s:[s, s], s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}}}}",
        "openapi", "3.0.3", "info", "title", "Omniva Engine API", "version", "1",
        "description", "JSON API of omniva serve; errors are {\"error\":{code,message,field}}.",
        "servers", "url", "/", "paths", paths, "security", "session", "bearer", "components",
        "securitySchemes", "session", "type", "apiKey", "in", "cookie", "name", "omniva_session",
        "bearer", "type", "http", "scheme", "bearer", "schemas", "Error", "type", "object",
        "required", "error", "properties", "error", "type", "object", "required", "code",
        "message", "properties", "code", "type", "string", "message", "type", "string", "field",
        "type", "string");
    if (!doc) {
        om_http_reply_error(r, 500, "internal", NULL, "openapi document could not be built");
        return;
    }
    om_http_reply_json(r, 200, doc);
}
