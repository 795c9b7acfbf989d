/* ratelimit.c: token buckets per platform (and per host for feeds and direct URLs), shared
 * by the processes of one machine through flock'ed state files, or kept in the process when
 * no directory is given. */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/settings.h"
#include "sources/sources_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

double om_ratelimit_rate(const om_config *cfg, const char *key)
{
    char platform[64];
    size_t n = strcspn(key, "@");
    snprintf(platform, sizeof(platform), "%.*s", (int)(n < 63 ? n : 63), key);
    char name[80];
    snprintf(name, sizeof(name), "ratelimit.%s", platform);
    const om_setting *row = strcmp(platform, "burst") ? om_setting_find(name) : NULL;
    int known = row && row->type == OM_SETTING_DOUBLE; /* a platform with its own key */
    return om_config_double(cfg, known ? name : "ratelimit.default");
}

typedef struct bucket {
    double tokens;
    int64_t last_us;
} bucket;

/* Refills and tries to take one token; returns 0 when taken, else the wait in ms. */
static int64_t bucket_take(bucket *b, double per_minute, double burst, int64_t now)
{
    double rate_us = per_minute / 60e6;
    if (b->last_us == 0) {
        b->tokens = burst;
        b->last_us = now;
    }
    int64_t dt = now - b->last_us;
    if (dt < 0)
        dt = 0; /* clock stepped back: no refill */
    b->tokens = fmin(burst, b->tokens + (double)dt * rate_us);
    b->last_us = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int64_t wait = (int64_t)ceil((1.0 - b->tokens) / rate_us / 1000.0);
    return wait < 1 ? 1 : wait;
}

/* ---- in-process buckets ---- */

typedef struct mem_bucket {
    char *key;
    bucket b;
    struct mem_bucket *next;
} mem_bucket;

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static mem_bucket *mem_buckets;

static int64_t mem_take(const char *key, double per_minute, double burst)
{
    pthread_mutex_lock(&mem_lock);
    mem_bucket *mb = mem_buckets;
    while (mb && strcmp(mb->key, key) != 0)
        mb = mb->next;
    if (!mb) {
        mb = xcalloc(1, sizeof(*mb));
        mb->key = xstrdup(key);
        mb->next = mem_buckets;
        mem_buckets = mb;
    }
    int64_t wait = bucket_take(&mb->b, per_minute, burst, om_now_us());
    pthread_mutex_unlock(&mem_lock);
    return wait;
}

/* ---- shared buckets: DIR/<key>.bucket holding "tokens last_us" under flock ---- */

static int file_take(const char *dir, const char *key, double per_minute, double burst,
                     int64_t *wait_out)
{
    char safe[128];
    size_t j = 0;
    for (const char *p = key; *p && j < sizeof(safe) - 1; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        safe[j++] = ok ? c : '_';
    }
    safe[j] = '\0';
    int rc = om_mkdirs(dir, 0755);
    if (rc != OM_OK)
        return om_error_wrap(rc, "rate limit directory");
    char *path = xasprintf("%s/%s.bucket", dir, safe);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = om_error_set(OM_EIO, "open %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = om_error_set(OM_EIO, "flock %s: %s", path, strerror(errno));
            close(fd);
            free(path);
            return rc;
        }
    }
    char buf[128] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    bucket b = {0, 0};
    if (n > 0) {
        buf[n] = '\0';
        double t;
        long long last;
        if (sscanf(buf, "%lf %lld", &t, &last) == 2 && isfinite(t)) {
            b.tokens = t;
            b.last_us = last;
        }
    }
    *wait_out = bucket_take(&b, per_minute, burst, om_now_us());
    int len = snprintf(buf, sizeof(buf), "%.6f %lld\n", b.tokens, (long long)b.last_us);
    if (pwrite(fd, buf, (size_t)len, 0) != len || ftruncate(fd, len) != 0)
        rc = om_error_set(OM_EIO, "write %s: %s", path, strerror(errno));
    flock(fd, LOCK_UN);
    close(fd);
    free(path);
    return rc;
}

int om_ratelimit_take(const char *dir, const char *key, double per_minute, double burst,
                      int64_t max_wait_ms, volatile int *cancel, int64_t *waited_ms_out)
{
    if (waited_ms_out)
        *waited_ms_out = 0;
    if (per_minute <= 0)
        return OM_OK;
    if (burst < 1)
        burst = 1;
    int64_t start = om_mono_ms();
    for (;;) {
        int64_t wait = 0;
        if (dir) {
            int rc = file_take(dir, key, per_minute, burst, &wait);
            if (rc != OM_OK)
                return rc;
        } else {
            wait = mem_take(key, per_minute, burst);
        }
        int64_t spent = om_mono_ms() - start;
        if (wait == 0) {
            if (waited_ms_out)
                *waited_ms_out = spent;
            return OM_OK;
        }
        if (cancel && *cancel)
            return om_error_set(OM_ETIMEOUT, "rate limit wait for '%s' cancelled", key);
        if (max_wait_ms > 0 && spent + wait > max_wait_ms)
            return om_error_set(OM_EBUSY,
                                "rate limit for '%s' (%.0f requests/minute) would need a wait "
                                "of %lld ms",
                                key, per_minute, (long long)(spent + wait));
        om_sleep_ms(wait < 200 ? wait : 200);
    }
}

int om_source_throttle(om_source_ctx *ctx, const char *key)
{
    if (!key)
        return OM_OK;
    double rate = om_ratelimit_rate(ctx->cfg, key);
    if (rate <= 0)
        return OM_OK;
    double burst = om_config_double(ctx->cfg, "ratelimit.burst");
    int64_t waited = 0;
    int rc = om_ratelimit_take(ctx->ratelimit_dir, key, rate, burst, 15 * 60 * 1000, ctx->cancel,
                               &waited);
    if (rc == OM_OK && waited > 1000)
        om_info("scraper_worker", "rate limit '%s': waited %lld ms", key, (long long)waited);
    return rc;
}
