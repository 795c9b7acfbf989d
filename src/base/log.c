/* log.c: JSON-lines logger with a thread-local context, an optional log file and one
 * optional sink. */
#include "base/common.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

int om_log_level_min = OM_LOG_INFO;

static _Thread_local om_log_context log_ctx;
static _Thread_local int in_sink; /* a sink that logs must not recurse into itself */
static om_log_sink_fn sink_fn;
static void *sink_ud;
static int sink_level = OM_LOG_INFO;
static int log_quiet;
static int log_fd = -1;
static char *log_path;

static const char *level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

const char *om_log_level_name(int level)
{
    if (level < 0 || level > OM_LOG_FATAL)
        return "INFO";
    return level_names[level];
}

int om_log_level_parse(const char *s)
{
    for (int i = 0; i <= OM_LOG_FATAL; i++)
        if (s && strcasecmp(s, level_names[i]) == 0)
            return i;
    if (s && strcasecmp(s, "warning") == 0)
        return OM_LOG_WARN;
    return -1;
}

om_log_context *om_log_ctx(void)
{
    return &log_ctx;
}

void om_log_ctx_clear(void)
{
    memset(&log_ctx, 0, sizeof(log_ctx));
}

void om_log_set_sink(om_log_sink_fn fn, void *ud, int min_level)
{
    sink_fn = fn;
    sink_ud = ud;
    sink_level = min_level;
}

void om_log_set_quiet(int quiet)
{
    log_quiet = quiet;
}

int om_log_set_file(const char *path)
{
    if (log_fd >= 0)
        close(log_fd);
    log_fd = -1;
    free(log_path);
    log_path = NULL;
    if (!path)
        return OM_OK;
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (om_mkdirs(dir, 0755)) {
            free(dir);
            return om_error_wrap(OM_EIO, "log file %s", path);
        }
    }
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return om_error_set(OM_EIO, "cannot open log file %s: %s", path, strerror(errno));
    log_fd = fd;
    log_path = xstrdup(path);
    return OM_OK;
}

const char *om_log_file(void)
{
    return log_path;
}

/* One write per line (O_APPEND), retried on a short write. */
static void file_line(const char *line)
{
    size_t n = strlen(line);
    char *buf = xmalloc(n + 2);
    memcpy(buf, line, n);
    buf[n] = '\n';
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = write(log_fd, buf + off, n + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(buf);
}

void om_log_emit(int level, const char *source, json_t *fields, const char *fmt, ...)
{
    char ts[OM_TIME_LEN];
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);

    json_t *ev = json_object();
    json_object_set_new(ev, "ts", json_string(om_time_iso(ts, om_now_us())));
    json_object_set_new(ev, "level", json_string(om_log_level_name(level)));
    json_object_set_new(ev, "source", json_string(source ? source : "omniva"));
    json_object_set_new(ev, "message", json_string(msg));
    if (log_ctx.job_id[0])
        json_object_set_new(ev, "job_id", json_string(log_ctx.job_id));
    if (log_ctx.project_id[0])
        json_object_set_new(ev, "project_id", json_string(log_ctx.project_id));
    if (log_ctx.trace_id[0])
        json_object_set_new(ev, "trace_id", json_string(log_ctx.trace_id));
    if (log_ctx.state[0])
        json_object_set_new(ev, "state", json_string(log_ctx.state));
    if (fields)
        json_object_update(ev, fields);
    free(msg);

    if ((!log_quiet || log_fd >= 0) && level >= om_log_level_min) {
        char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER | OM_JSON_REAL);
        if (line) {
            if (!log_quiet)
                fprintf(stderr, "%s\n", line);
            if (log_fd >= 0)
                file_line(line);
            free(line);
        }
    }
    if (sink_fn && level >= sink_level && !in_sink) {
        in_sink = 1;
        sink_fn(sink_ud, level, ev);
        in_sink = 0;
    }
    json_decref(ev);
}

__attribute__((constructor)) static void log_init_level(void)
{
    int l = om_log_level_parse(getenv("OMNIVA_LOG_LEVEL"));
    if (l >= 0)
        om_log_level_min = l;
}
