/*
 * api_int.h: what the API's files share (api.c routes and resources, api_auth.c sign-in,
 * metrics.c stats and /metrics, events.c Server-Sent Events, openapi.c). Not for use
 * outside src/http.
 */
#ifndef OMNIVA_HTTP_API_INT_H
#define OMNIVA_HTTP_API_INT_H

#include "http/http.h"

enum { API_PUBLIC = 0, API_VIEWER = 1, API_OPERATOR = 2, API_ADMIN = 3 };

typedef void (*api_handler_fn)(om_http_req *r);

/* Checks the session/token and role for `access`; 0 to go on, -1 when it replied (401,
 * 403). */
int api_authorize(om_http_req *r, int access);

int api_query_only(om_http_req *r, const char *allowed);
int api_query_long(om_http_req *r, const char *name, long lo, long hi, long *out);
int api_param_uuid(om_http_req *r, const char *name, const char **out);

void h_openapi(om_http_req *r);
void h_login(om_http_req *r);
void h_logout(om_http_req *r);
void h_setup(om_http_req *r);
void h_me(om_http_req *r);
void h_stats(om_http_req *r);
void h_metrics(om_http_req *r);
void h_events(om_http_req *r);

#endif
