/*
 * fixture.h: what the stage tests share: a workspace in a temp dir with a migrated store
 * (SQLite, or PostgreSQL + Redis from the harness), a queue, a config whose media dir lives
 * in the workspace, one project, and run_stage(), which runs a stage in this process the
 * way the worker runs a job (om_job_ctx_init + om_stage_run_inline). One global fixture, FX,
 * per test binary; small query helpers fail the test on a store error.
 *
 * Ownership: everything in FX belongs to the fixture (fx_open/fx_close). Strings returned
 * by fx_value are the caller's to free.
 */
#ifndef OMNIVA_TESTS_STAGES_FIXTURE_H
#define OMNIVA_TESTS_STAGES_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>

#include "base/common.h"
#include "base/config.h"
#include "harness/harness.h"
#include "queue/queue.h"
#include "runtime/runtime.h"
#include "store/store.h"

typedef struct stage_fixture {
    int pg; /* 0: SQLite + SQLite queue; 1: PostgreSQL + Redis */
    harness_pg pgs;
    harness_redis redis;
    char *home, *media; /* the workspace and its media dir */
    om_config *cfg;
    om_store *st;
    om_queue *q;
    char project[OM_UUID_LEN];
    volatile int cancel;          /* the running job's cancel flag (tests may set it) */
    char last_job[OM_UUID_LEN];   /* the id of the job run_stage ran last */
    int last_attempt;             /* and its attempt */
    char last_state[32];          /* its final state: "DONE" or "ERROR" */
    char *last_error;             /* its error message ("" on success) */
} stage_fixture;

extern stage_fixture FX;

/* Opens FX: tag names the temp dir, pg selects PostgreSQL + Redis, brand_json (may be NULL)
 * is the project's brand. Returns 0, or -1 after printing why. */
int fx_open(const char *tag, int pg, const char *brand_json);
void fx_close(void);

/* Runs `stage` inline on a fresh job (new id, attempt 1) whose payload is `payload`
 * (borrowed; project_id is added when missing). Returns the stage's code; *result (may be
 * NULL) receives the job's result object (caller decrefs). Asserts no transaction is left
 * open and that OM_OK means DONE. */
int run_stage(const om_stage *stage, json_t *payload, json_t **result);
/* The same on a given job (its id and attempt kept: a re-delivery, or a job claimed from
 * the queue); payload NULL: the job's own payload text. */
int run_job(const om_stage *stage, const om_job *job, json_t *payload, json_t **result);
/* Runs the same job (same id) again: a re-delivery after the first run committed. */
int rerun_last(const om_stage *stage, json_t *payload, json_t **result);

void fx_exec(const char *sql, const om_val *p, size_t n);
char *fx_value(const char *sql, const om_val *p, size_t n); /* NULL when no row */
int64_t fx_count(const char *sql, const om_val *p, size_t n);
#define FX_TEXT1(s) OM_PARAMS(OM_TEXT(s))

/* job_logs rows of the last job's last attempt whose message matches the LIKE pattern. */
int64_t fx_job_logs(const char *like);

/* Asserts the last run_stage ended in ERROR with a message containing `needle`, and that its
 * job_logs hold that ERROR row. */
void fx_assert_error(const char *needle);
/* Asserts the last job finished early: exactly one "DONE early at ..." line and no state
 * transition ("A -> B") logged for it. */
void fx_assert_done_early(void);

/* Runs argv (NULL-terminated) quietly; 0 when it exits 0. */
int fx_run_tool(const char *const *argv);

#endif
