/*
 * ows.h: the throw-away workspace the oversight suites (Eclipse, Infinity, governance) share:
 * on SQLite a fresh workspace; on PostgreSQL + Redis (ows_start(1)) one server pair per test
 * process, a database of its own per workspace and an emptied Redis. Failures end the test
 * (cmocka fail_msg); nothing is returned to check.
 */
#ifndef OMNIVA_TESTS_OWS_H
#define OMNIVA_TESTS_OWS_H

#include "base/common.h"
#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

/* expr must return OM_OK, else the test fails with the error's name and message */
#define OK(expr)                                                                            \
    do {                                                                                    \
        int rc_ = (expr);                                                                   \
        if (rc_ != OM_OK)                                                                   \
            fail_msg("%s -> %s: %s", #expr, om_error_name(rc_), om_error_msg());             \
    } while (0)

/* Group set-up/tear-down: pg 1 starts PostgreSQL and Redis. ows_start returns 0 or -1. */
int ows_start(int pg);
void ows_stop(void);
/* A new workspace (caller frees; remove with om_rmtree) with worker.idle_ms 50 and extra
 * settings ("section", "key", "value" triples, NULL-terminated; may be NULL). */
char *ows_workspace(const char *tag, const char *const *settings);
/* Loads the workspace's settings and opens its store and queue (ows_release frees them). */
void ows_connect(const char *home, om_config **cfg, om_store **s, om_queue **q);
/* Frees what ows_connect opened and removes the workspace. */
void ows_release(char *home, om_config *cfg, om_store *s, om_queue *q);

#endif
