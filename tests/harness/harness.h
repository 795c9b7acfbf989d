/*
 * harness.h: what tests share: temp dirs, free loopback ports, and throw-away PostgreSQL
 * and Redis servers the tests start themselves (own temp dir, 127.0.0.1, free port) and
 * stop. No test relies on a service already running on the machine.
 *
 * Ownership: the server structs are the caller's; *_stop() kills the server and removes its
 * directory. harness_tmpdir() returns a malloc'd path the caller frees (and may om_rmtree).
 */
#ifndef OMNIVA_TESTS_HARNESS_H
#define OMNIVA_TESTS_HARNESS_H

#include <sys/types.h>

char *harness_tmpdir(const char *tag); /* /tmp/omniva-<tag>-XXXXXX, created */
int harness_free_port(void);           /* a currently free TCP port on 127.0.0.1 */

typedef struct harness_pg {
    char url[512]; /* postgres://USER@127.0.0.1:PORT/omniva_test */
    char dir[256];
    int port;
    pid_t pid;
} harness_pg;
/* initdb + start + createdb; as root the server runs as the 'postgres' system user.
 * Returns 0 or -1 with a message on stderr. */
int harness_pg_start(harness_pg *pg);
void harness_pg_stop(harness_pg *pg);
/* harness_pg_start with extra server settings, "name=value" each (NULL-terminated; NULL for
 * none), passed as -c options after the test defaults (e.g. wal_level=replica). */
int harness_pg_start_with(harness_pg *pg, const char *const *settings);
/* Starts a server on the existing data directory DIR/data (a base backup to recover; no
 * initdb, no createdb), chowned to the server's user; pg->dir = DIR (_stop removes it). */
int harness_pg_start_datadir(harness_pg *pg, const char *dir, const char *const *settings);
/* Runs a PostgreSQL program of the server's bin dir (argv[0] a name: "pg_basebackup") as
 * the server's user, output to stderr on failure. Returns its exit status or -1. */
int harness_pg_tool(const char *const *argv);
/* chown -R PATH to the server's user (no-op when not root). 0 or -1. */
int harness_pg_chown(const char *path);

typedef struct harness_redis {
    char url[128]; /* redis://127.0.0.1:PORT/0 */
    char dir[256];
    int port;
    pid_t pid;
} harness_redis;
/* redis-server on a free loopback port with AOF (appendfsync always) in its own dir. */
int harness_redis_start(harness_redis *r);
/* Kill -9 and start again on the same port and dir (data kept through the AOF). */
int harness_redis_restart(harness_redis *r);
void harness_redis_stop(harness_redis *r);

/* Runs the omniva binary ($OMNIVA_BIN) with args; captures output (caller frees *out and *err,
 * either may be NULL). Returns the exit code, or -1 when it could not run. */
int harness_omniva(const char *const *args, char **out, char **err);

/* The S3-protocol server of tests/s3 (s3rver behind a front that checks SigV4 and the body's
 * SHA-256, with fault knobs; see tests/s3/server.js) on a free loopback port, objects in its
 * own temp dir. Access key S3RVER, secret S3RVER. Needs `npm ci` in tests/s3 (bootstrap). */
typedef struct harness_s3 {
    char endpoint[128]; /* http://127.0.0.1:PORT */
    char dir[256];
    int port;
    pid_t pid;
} harness_s3;
int harness_s3_start(harness_s3 *s, const char *buckets); /* "a,b": buckets made at start */
void harness_s3_stop(harness_s3 *s);
/* POST/GET a control path of the front ("/_fault?status=503&count=2", "/_reset"); the
 * answer's body in *out when out is not NULL (caller frees). 0 or -1. */
int harness_s3_ctl(const harness_s3 *s, const char *method, const char *path, char **out);

#endif
