/*
 * assets.c: the dashboard's pages and files, embedded in the binary at build time
 * (cmake/WebAssets.cmake turns the .html, .js and .css files of web/ and uPlot's dist files
 * into C arrays and a table): GET / is index.html, GET /assets/:file any other file. Each file gets a strong
 * ETag (FNV-1a 64 of its bytes, computed once), answers If-None-Match with 304, and is
 * cacheable for a short while ("no-cache" for the page itself, so a new binary shows at
 * once; the modules revalidate cheaply with their ETag).
 */
#include "base/common.h"

#include <pthread.h>

#include "http/api_int.h"

static char (*etags)[24];
static pthread_once_t etag_once = PTHREAD_ONCE_INIT;

static void etag_init(void)
{
    etags = xcalloc(om_web_nassets ? om_web_nassets : 1, sizeof(*etags));
    for (size_t i = 0; i < om_web_nassets; i++) {
        uint64_t h = UINT64_C(1469598103934665603);
        for (size_t k = 0; k < *om_web_assets[i].len; k++) {
            h ^= (unsigned char)om_web_assets[i].data[k];
            h *= UINT64_C(1099511628211);
        }
        snprintf(etags[i], sizeof(etags[i]), "\"%016llx\"", (unsigned long long)h);
    }
}

static const char *asset_ctype(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    return "application/octet-stream";
}

/* 1 when the If-None-Match header lists etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return 0;
    if (strcmp(inm, "*") == 0)
        return 1;
    return strstr(inm, etag) != NULL;
}

static void serve_asset(om_http_req *r, const char *name, int page)
{
    pthread_once(&etag_once, etag_init);
    for (size_t i = 0; i < om_web_nassets; i++) {
        if (strcmp(om_web_assets[i].name, name) != 0)
            continue;
        om_http_add_header(r, "ETag: %s", etags[i]);
        om_http_add_header(r, "Cache-Control: %s", page ? "no-cache" : "public, max-age=60");
        if (page)
            om_http_add_header(r, "Content-Security-Policy: default-src 'self'; img-src 'self' "
                                  "data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
                                  "frame-ancestors 'none'");
        if (etag_matches(om_http_header(r, "If-None-Match"), etags[i]))
            om_http_reply_text(r, 304, NULL, "", 0);
        else
            om_http_reply_text(r, 200, asset_ctype(name), om_web_assets[i].data,
                               *om_web_assets[i].len);
        return;
    }
    om_http_reply_error(r, 404, "not_found", "file", "no dashboard file '%.80s'", name);
}

void h_index(om_http_req *r)
{
    if (api_query_only(r))
        return;
    serve_asset(r, "index.html", 1);
}

void h_asset(om_http_req *r)
{
    if (api_query_only(r))
        return;
    const char *name = om_http_param(&r->params, "file");
    if (strcmp(name, "index.html") == 0) {
        serve_asset(r, name, 1);
        return;
    }
    serve_asset(r, name, 0);
}
