/*
 * testsrv.h: a small HTTP server for the sources tests (libmicrohttpd, in the test process,
 * 127.0.0.1 on a free port). Serves registered paths from memory with Range support, and can
 * misbehave on purpose: cut a body off after N bytes (once), ignore Range, send no length.
 * Counts requests and remembers the last Range header per path.
 *
 * Ownership: testsrv_add copies the data; testsrv_stop frees everything.
 */
#ifndef OMNIVA_TESTS_SOURCES_TESTSRV_H
#define OMNIVA_TESTS_SOURCES_TESTSRV_H

#include <stddef.h>

typedef struct testsrv testsrv;

enum {
    TESTSRV_CUT_ONCE = 1,  /* first full request: send `cut_at` bytes then drop the connection */
    TESTSRV_NO_RANGE = 2,  /* ignore Range headers (always 200 + whole body) */
    TESTSRV_NO_LENGTH = 4, /* no Content-Length (chunked) */
};

testsrv *testsrv_start(void); /* NULL on failure (message on stderr) */
int testsrv_port(const testsrv *s);
/* Registers `path` ("/feed.xml") with a body; `flags` from the enum above. */
void testsrv_add(testsrv *s, const char *path, const char *content_type, const void *data,
                 size_t len, int flags, size_t cut_at);
/* Registers a 302 redirect from `path` to `location`. */
void testsrv_redirect(testsrv *s, const char *path, const char *location);
int testsrv_requests(testsrv *s, const char *path);
/* Last Range header seen for path ("" when none); copied into buf. */
void testsrv_last_range(testsrv *s, const char *path, char *buf, size_t n);
void testsrv_stop(testsrv *s);

#endif
