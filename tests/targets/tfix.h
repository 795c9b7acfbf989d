/*
 * tfix.h: what the publishing-target tests share: one local protocol double (a Python
 * script of this folder that prints "PORT n" and answers GET /_state and POST /_control),
 * a SQLite workspace with project "acme", the user's part of `account add` (opening the
 * printed consent URL), rendered clips with an upload job for a target, one-shot and
 * killed workers. One fixture per test process (the globals below).
 * Ownership: strings returned are the caller's (free); JSON too (json_decref).
 */
#ifndef OMNIVA_TESTS_TARGETS_TFIX_H
#define OMNIVA_TESTS_TARGETS_TFIX_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/fsutil.h"

typedef struct tfix {
    const char *platform;   /* "youtube", "tiktok", ... (the target and the account kind) */
    const char *items_key;  /* /_state's array of published items ("videos", "posts") */
    const char *sessions_key; /* /_state's array of upload sessions (with size, received) */
    char *home, *db, *tmp;
    pid_t dbl_pid;
    int dbl_port;
    char project_id[OM_UUID_LEN];
    int clip_seq;
} tfix;

extern tfix TF;

/* Starts tests/targets/<script> (Debian's python3), a workspace (omniva.conf gets the
 * worker's short lease/reap/idle), project "acme". */
void tf_setup(const char *platform, const char *script, const char *items_key,
              const char *sessions_key);
void tf_teardown(void);

/* HTTP to any URL: the status (0 when unreachable); *body_out (may be NULL) the body. */
long tf_http(const char *method, const char *url, const char *body, char **body_out, int follow);
json_t *tf_state(void);            /* the double's GET /_state */
void tf_control(const char *json); /* its POST /_control (asserts 200) */
/* Appends "section.key = value" to omniva.conf (printf format). */
void tf_conf(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `account add PLATFORM PROJECT` with the test as the browser; the account-add output
 * (asserted to say "<platform> account linked to project" and never the refresh token);
 * *url_out (may be NULL) the consent URL it printed. */
char *tf_link_account(const char *project, char **url_out);
/* The same for another platform's account (a test with several doubles). */
char *tf_link(const char *platform, const char *project, char **url_out);
/* Starts tests/targets/<script> with its own folder under TF.tmp; its pid (the caller
 * kills it), *port_out its port. tf_setup starts the fixture's own double this way. */
pid_t tf_double_start(const char *script, int *port_out);

typedef struct tf_clip {
    char clip[OM_UUID_LEN], uj[OM_UUID_LEN];
    char sha[OM_SHA256_HEX_LEN];
    int64_t size;
} tf_clip;
/* A RENDERED clip of `size` random bytes in the project, an upload job for the fixture's
 * target and its queued `upload` job. */
void tf_make_clip(tf_clip *c, int64_t size);
char *tf_uj_col(const tf_clip *c, const char *col); /* a column (or expression) of upload_jobs */
int64_t tf_state_int(const tf_clip *c, const char *key); /* target_state.key, -1 when none */
/* Items on the double whose bytes hash to sha (id of the last into id_out). */
int tf_items_with(const char *sha, char *id_out, size_t cap);
int64_t tf_received_of(int64_t size); /* bytes of the newest session of that size, -1 none */
int tf_worker_once(void);             /* `worker --types upload --once`, its exit status */
int tf_worker_once_types(const char *types); /* the same for other job types */
void tf_kill_tree(pid_t pid);         /* SIGKILL to pid and everything under it */
/* A dead upload job brought back with `jobs retry` (the queue buries a job whose lease
 * expired 3 times; a test that kills its worker on purpose revives it as an operator). */
void tf_revive_dead_uploads(void);

#endif
