/*
 * log.h: structured logging. Every line (on stderr and in the log file) is one JSON object:
 *   {"ts":"...","level":"INFO","source":"scraper_worker","message":"...",
 *    "job_id":..,"project_id":..,"trace_id":..,"state":.., ...extra fields}
 * om_log() checks the level before formatting anything (redis serverLog).
 *
 * Where lines go: stderr unless quiet (om_log_set_quiet), and the log file when one is set
 * (om_log_set_file: the CLI's HOME/logs/omniva.jsonl). The file descriptor is opened with
 * O_APPEND and inherited by forked children (workers, job processes), which append to the
 * same file; each line is one write(2), so lines from several processes do not interleave.
 * A sink (the worker runtime installs one that inserts into the `logs` table) sees every
 * emitted event at or above its own level after those. The context (job/project/trace/
 * state) is thread-local and copied into each event.
 */
#ifndef OMNIVA_BASE_LOG_H
#define OMNIVA_BASE_LOG_H

#include <jansson.h>

/* The flag every json_dumps/json_dumpf that prints to users or stores adds: reals with 15
 * significant digits (0.491, not jansson's default 0.49099999999999999). Here because log.h
 * is in every file through common.h; the log lines use it too. */
#define OM_JSON_REAL JSON_REAL_PRECISION(15)

enum om_log_level { OM_LOG_DEBUG = 0, OM_LOG_INFO, OM_LOG_WARN, OM_LOG_ERROR, OM_LOG_FATAL };

extern int om_log_level_min; /* default OM_LOG_INFO; OMNIVA_LOG_LEVEL=debug|info|warn|error */

#define om_log(level, source, ...)                                                         \
    do {                                                                                   \
        if ((level) >= om_log_level_min)                                                   \
            om_log_emit((level), (source), NULL, __VA_ARGS__);                             \
    } while (0)
#define om_debug(src, ...) om_log(OM_LOG_DEBUG, src, __VA_ARGS__)
#define om_info(src, ...) om_log(OM_LOG_INFO, src, __VA_ARGS__)
#define om_warn(src, ...) om_log(OM_LOG_WARN, src, __VA_ARGS__)
#define om_err(src, ...) om_log(OM_LOG_ERROR, src, __VA_ARGS__)

/* `fields` (may be NULL) is borrowed: its keys are merged into the event. */
void om_log_emit(int level, const char *source, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef struct om_log_context {
    char job_id[40];
    char project_id[40];
    char trace_id[40];
    char state[32];
} om_log_context;

/* The thread's context; fields left "" are omitted from events. Returns a borrowed pointer. */
om_log_context *om_log_ctx(void);
void om_log_ctx_clear(void);

/* `event` is borrowed and complete (ts, level, source, message, context, fields). */
typedef void (*om_log_sink_fn)(void *ud, int level, json_t *event);
void om_log_set_sink(om_log_sink_fn fn, void *ud, int min_level);
void om_log_set_quiet(int quiet); /* 1: no stderr output (sink still runs); for the CLI's --quiet */
/* Appends every emitted line at or above om_log_level_min to `path` (created 0644, parent
 * directories too). NULL closes the file. OM_EIO with the reason when it cannot be opened
 * (logging then goes on without the file). */
int om_log_set_file(const char *path);
const char *om_log_file(void); /* the current log file's path, or NULL; borrowed */

const char *om_log_level_name(int level);
int om_log_level_parse(const char *s); /* -1 when unknown */

#endif
