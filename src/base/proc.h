/*
 * proc.h: running child processes (ffmpeg, yt-dlp, espeak-ng, pg_dump, external ASR).
 *
 * om_proc_run() forks and execs argv[0] (PATH lookup), feeds stdin_data, captures stdout
 * and stderr (each capped at max_output bytes; the excess is dropped, not an error), calls
 * the line callbacks as lines arrive, and kills the whole child process group with SIGKILL
 * when timeout_ms passes or *cancel becomes non-zero. Never uses a shell.
 */
#ifndef OMNIVA_BASE_PROC_H
#define OMNIVA_BASE_PROC_H

#include <stddef.h>
#include <stdint.h>

typedef void (*om_proc_line_fn)(void *ud, const char *line);

typedef struct om_proc_opts {
    const char *const *argv;     /* NULL-terminated; required */
    const char *cwd;             /* NULL: inherit */
    const char *const *env_add;  /* NULL or NULL-terminated "K=V" list added to the env */
    const char *stdin_data;      /* NULL: /dev/null */
    size_t stdin_len;
    int64_t timeout_ms;          /* 0: none */
    size_t max_output;           /* per stream; 0 means 16 MiB */
    om_proc_line_fn on_stdout_line, on_stderr_line;
    void *ud;
    volatile int *cancel;        /* optional */
} om_proc_opts;

typedef struct om_proc_result {
    int exit_code;   /* -1 when killed by a signal */
    int term_signal; /* 0 when it exited */
    int timed_out;   /* 1 when we killed it for the deadline or cancel */
    char *out;       /* captured stdout, NUL-terminated; owned, free with om_proc_result_release */
    size_t out_len;
    char *err;
    size_t err_len;
} om_proc_result;

/* Returns OM_OK when the process ran (whatever its exit status: check res->exit_code),
 * OM_ENOTFOUND when argv[0] cannot be executed, OM_ETIMEOUT when killed for the deadline
 * (res still filled). */
int om_proc_run(const om_proc_opts *opts, om_proc_result *res);
void om_proc_result_release(om_proc_result *res);
/* 1 when `name` is an executable on PATH (or an executable path). */
int om_proc_which(const char *name);
/* The online CPUs, at least 1 (what "0: online CPUs" settings resolve to). */
int om_proc_cpus(void);

#endif
