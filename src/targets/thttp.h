/*
 * thttp.h: the targets' HTTP client (libcurl): one request, the whole response (status,
 * the headers the publishing protocols need, a bounded body). A request body comes from
 * memory or from a byte range of a file (resumable upload chunks, read with pread so a
 * chunk never loads the whole render). Internal to src/targets.
 *
 * Errors: thttp_do returns OM_OK when an HTTP response arrived, whatever its status;
 * OM_EIO (connect/reset/timeout, curl's words) when none did. Ownership: the request's
 * strings are borrowed; thttp_resp's strings are owned (thttp_resp_release).
 */
#ifndef OMNIVA_TARGETS_THTTP_H
#define OMNIVA_TARGETS_THTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct thttp_req {
    const char *method;              /* "GET", "POST", "PUT" */
    const char *url;
    const char *const *headers;      /* "Name: value", NULL-terminated (may be NULL) */
    const char *body;                /* memory body (may be NULL) */
    size_t body_len;
    int file_fd;                     /* >= 0: body is file bytes [file_off, file_off+file_len) */
    int64_t file_off, file_len;
    long timeout_s;                  /* whole request; 0: none */
    size_t max_body;                 /* response bytes kept (0: 1 MiB) */
    int64_t *sent_out;               /* may be NULL: body bytes handed to the socket */
} thttp_req;

typedef struct thttp_resp {
    long status;
    char *body;        /* NUL-terminated */
    size_t len;
    char *location;    /* Location header, or NULL */
    char *range;       /* Range header, or NULL */
    char *retry_after; /* Retry-After header, or NULL */
} thttp_resp;

/* A request initialised with no body and no file. */
#define THTTP_REQ_INIT {NULL, NULL, NULL, NULL, 0, -1, 0, 0, 0, 0, NULL}

int thttp_do(const thttp_req *rq, thttp_resp *out);
void thttp_resp_release(thttp_resp *r);

/* application/x-www-form-urlencoded escape of s (caller frees). */
char *thttp_escape(const char *s);

#endif
