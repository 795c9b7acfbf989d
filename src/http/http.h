/*
 * http.h: the HTTP server (libmicrohttpd, internal polling thread pool) and what route
 * handlers share: the request, the response, JSON helpers and the one error shape
 *   {"error": {"code": "not_found", "message": "clip X not found", "field": "id"}}
 * ("field" only when one input field is at fault).
 *
 * Threads: handlers run on the server's pool threads, several at once. Each thread gets
 * its own store connection (and queue handle) on first use, kept until the thread ends:
 * om_store/om_queue are one-thread objects (store.h), so handlers use req->store and
 * req->queue and nothing shared.
 *
 * Ownership: the request and everything in it are borrowed by the handler; a handler
 * fills the response through the om_http_reply_* functions, which take ownership of what
 * they are given (json_t references are stolen).
 */
#ifndef OMNIVA_HTTP_HTTP_H
#define OMNIVA_HTTP_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "http/router.h"
#include "queue/queue.h"
#include "store/store.h"

typedef struct om_http_server om_http_server;

/* A response whose body is produced piecewise (Server-Sent Events): called with a buffer
 * to fill; returns bytes written, 0 to be called again later, -1 to end the stream. */
typedef long (*om_http_stream_fn)(void *ud, uint64_t pos, char *buf, size_t max);

typedef struct om_http_resp {
    int status;
    char *body; /* owned */
    size_t body_len;
    const char *content_type;
    char *headers[8]; /* "Name: value", owned */
    int nheaders;
    int fd; /* >= 0: serve [off, off+len) of this file (owned) */
    uint64_t off, len;
    om_http_stream_fn stream;
    void *stream_ud;
    void (*stream_free)(void *ud);
} om_http_resp;

typedef struct om_http_req {
    const char *method;
    const char *path;     /* raw (still percent-encoded) */
    const char *client_ip;
    int loopback;         /* the client is 127.0.0.0/8 or ::1 */
    int tls;              /* X-Forwarded-Proto: https */
    om_http_params params;/* path parameters */
    om_http_params query;
    const struct om_route *route; /* the route the path matched (api.c sets it) */
    const char *body;
    size_t body_len;
    void *conn;           /* struct MHD_Connection * */
    om_store *store;      /* this thread's connection (the read-only one on GET routes) */
    om_store *store_ro;   /* PostgreSQL: this thread's http.read_role connection, or NULL */
    om_queue *queue;      /* this thread's queue handle */
    const om_config *cfg;
    om_http_server *server;
    /* who is calling (api_authorize fills it): role 0 = nobody */
    char user[64];
    int role;       /* 1 viewer, 2 operator, 3 admin */
    char csrf[65];  /* the session's CSRF token ("" for Bearer tokens) */
    int via_token;
    om_http_resp resp;
} om_http_req;

/* A request header (case-insensitive name) or NULL; borrowed. */
const char *om_http_header(const om_http_req *r, const char *name);
/* A cookie's value or NULL; borrowed until the request ends. */
const char *om_http_cookie(const om_http_req *r, const char *name);

/* Replies. Each replaces any earlier reply. */
void om_http_reply_json(om_http_req *r, int status, json_t *body); /* steals body */
void om_http_reply_text(om_http_req *r, int status, const char *content_type, const char *text,
                        size_t len);
/* The error shape; code is a short snake_case word ("not_found"), field may be NULL. */
void om_http_reply_error(om_http_req *r, int status, const char *code, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An OM_E* code with om_error_msg(): ENOTFOUND 404, EEXISTS 409, EINVAL 422, EBUSY 409,
 * EUNAVAIL 503, others 500. */
void om_http_reply_om(om_http_req *r, int om_code, const char *field);
void om_http_add_header(om_http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses the request body as a JSON object into *out (new reference). On failure replies
 * 400 ("malformed_json", with line and column) and returns OM_EINVAL. */
int om_http_body_object(om_http_req *r, json_t **out);

/* The request dispatcher (api.c): routes, auth, handlers. */
void om_api_handle(om_http_req *r);
/* The route table (for openapi.json and the fuzzer). */
extern const om_route om_api_routes[];
extern const size_t om_api_nroutes;

typedef struct om_http_opts {
    const char *listen;  /* "ADDR:PORT" (IPv6: "[::1]:8080") */
    long threads;        /* pool size */
    long max_conns;      /* connection limit */
    long timeout_s;      /* per-connection idle timeout */
    long max_body;       /* request body limit in bytes (413 beyond) */
    const char *store_url, *queue_url;
    const om_config *cfg; /* borrowed; must outlive the server */
} om_http_opts;

/* Starts listening. OM_EINVAL for a malformed address, OM_EIO when it cannot bind. */
int om_http_start(om_http_server **out, const om_http_opts *o);
/* The port actually bound (for ":0"). */
int om_http_port(const om_http_server *s);
/* Stops accepting, ends open streams, joins the pool, frees. */
void om_http_stop(om_http_server *s);
/* 1 once stop began (streams poll it to end). */
int om_http_stopping(const om_http_server *s);
/* Wall-clock start (microseconds) for process metrics. */
int64_t om_http_started_us(const om_http_server *s);
/* Parses "ADDR:PORT" into host and port; OM_EINVAL naming what is wrong. */
int om_http_parse_listen(const char *listen, char host[64], int *port);
/* 1 when host is a loopback address (127.x, ::1, localhost). */
int om_http_host_loopback(const char *host);

#endif
