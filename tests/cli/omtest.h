/*
 * omtest.h: helpers for the black-box tests of the `omniva` program (tests/cli and
 * tests/runtime): running it with a workspace, starting long-running commands (workers) in
 * the background, and reading the database the program wrote (through om_store, so the same
 * check runs on SQLite and PostgreSQL).
 *
 * Ownership: strings returned through char ** and by omt_* functions are the caller's.
 */
#ifndef OMNIVA_TESTS_OMTEST_H
#define OMNIVA_TESTS_OMTEST_H

#include <stdint.h>
#include <sys/types.h>

/* Runs `omniva --home HOME args...` (HOME may be NULL: no --home). The argument list ends
 * with NULL. out/err may be NULL. Returns the exit code (-1 when it could not run). */
int omt_run(char **out, char **err, const char *home, ...) __attribute__((sentinel));
/* Same with an argv array. */
int omt_runv(char **out, char **err, const char *home, const char *const *args);

/* Runs `omniva --home HOME args...` on a pseudo-terminal (stdin, stdout and stderr are the
 * terminal, as for a user); *out receives everything the terminal showed. Returns the exit
 * code, or -1 when it could not run or did not end within timeout_ms (then killed). */
int omt_run_pty(char **out, const char *home, const char *const *args, int64_t timeout_ms);

/* Starts `omniva --home HOME args...` in the background, stdout+stderr appended to logfile.
 * extra_env ("K=V" list, NULL-terminated) may be NULL. The process dies with the test. */
pid_t omt_spawn(const char *home, const char *logfile, const char *const *extra_env,
                const char *const *args);
/* Waits up to timeout_ms for pid; returns its exit code, 128+signal when signalled, or -1
 * on timeout (the process is then killed). */
int omt_wait(pid_t pid, int64_t timeout_ms);
/* The pids of the live direct children of `parent` whose process name (comm) is `name`
 * (NULL: any) (reads /proc). Returns how many (<= max). The runtime names its processes:
 * "omniva" (supervisor, workers), "omniva-job", "omniva-keeper". */
int omt_children(pid_t parent, const char *name, pid_t *out, int max);

/* First column of the first row of `sql` on the database at url, or NULL (SQL NULL, no row
 * or error; an error is printed). */
char *omt_query(const char *url, const char *sql);
int64_t omt_query_int(const char *url, const char *sql); /* -1 on error/NULL */
int omt_exec(const char *url, const char *sql);          /* 0 or the store error code */

/* A fresh workspace directory initialised with `omniva init` (extra args may follow, ending
 * with NULL; e.g. "--db", url). Returns the path; aborts the test on failure. */
char *omt_workspace(const char *tag, ...) __attribute__((sentinel));
/* Appends "[section]\nkey = value\n" to HOME/omniva.conf. */
void omt_conf_append(const char *home, const char *section, const char *key, const char *value);

/* 1 when `hay` contains `needle` (NULL hay: 0). */
int omt_has(const char *hay, const char *needle);

#endif
