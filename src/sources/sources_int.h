/*
 * sources_int.h: helpers shared by the source drivers (not for stage code): a small URL
 * splitter, JSON filtering of yt-dlp metadata, and file helpers. Everything returned as
 * char * is the caller's to free.
 */
#ifndef OMNIVA_SOURCES_SOURCES_INT_H
#define OMNIVA_SOURCES_SOURCES_INT_H

#include <jansson.h>

#include "sources/sources.h"

typedef struct om_url {
    char *scheme;      /* lowercase */
    char *userinfo;    /* NULL when absent */
    char *host;        /* lowercase, without brackets for IPv6, trailing dot removed */
    int port;          /* -1 when absent */
    char *path;        /* as written ("" when absent) */
    char *query;       /* without '?', NULL when absent */
    char *fragment;    /* without '#', NULL when absent */
    int has_authority; /* "scheme://" form */
} om_url;

/* Splits an absolute URL. OM_EINVAL when there is no scheme. */
int om_url_parse(const char *s, om_url *u);
void om_url_release(om_url *u);
/* Decodes %XX escapes (invalid escapes are kept literally). */
char *om_url_decode(const char *s, size_t n);
/* "scheme://host[:port]" + path + ["?" query], default ports dropped, fragment dropped.
 * u must have an authority (u->has_authority: a host was parsed). */
char *om_url_normalise(const om_url *u, int strip_trailing_slash);
/* The host of an absolute URL (lowercase) or NULL. */
char *om_url_host(const char *url);

/* Removes yt-dlp's bulky keys (formats, thumbnails, subtitles, ...) from an info object in
 * place. */
void om_source_trim_info(json_t *info);
/* posted_at from a metadata object: "timestamp"/"release_timestamp" (epoch seconds) or
 * "upload_date" (YYYYMMDD). NULL when unknown. */
char *om_source_info_time(const json_t *info);
/* Lowercased extension of a file name or URL path (without the dot), "" when none. */
const char *om_source_ext(const char *name, char buf[16]);

#endif
