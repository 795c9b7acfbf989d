/*
 * queue.c: the consumer side of queue.h. Picks the backend from the URL, validates what
 * comes from outside (job specs, states), asserts what callers must get right, and calls
 * the backend through its vtable. Also the backoff policy and the om_job destructors.
 */
#include "base/common.h"

#include <errno.h>
#include <signal.h>

#include <jansson.h>
#include <unistd.h>

#include "queue/queue_backend.h"

#define OM_UNIQUE_KEY_MAX 512
#define OM_BACKOFF_BASE_DEFAULT 1000
#define OM_BACKOFF_CAP_DEFAULT 300000

int om_queue_type_valid(const char *type)
{
    if (!type || !*type)
        return om_error_set(OM_EINVAL, "job type is empty");
    size_t n = strlen(type);
    if (n >= OM_JOB_TYPE_MAX)
        return om_error_set(OM_EINVAL, "job type '%.40s...' is longer than %d characters", type,
                            OM_JOB_TYPE_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return om_error_set(OM_EINVAL,
                                "job type '%s': character '%c' not allowed (use [a-z0-9_.-])",
                                type, c);
    }
    return OM_OK;
}

int64_t om_queue_backoff_ms(int64_t base_ms, int64_t cap_ms, int attempt)
{
    if (base_ms <= 0)
        base_ms = OM_BACKOFF_BASE_DEFAULT;
    if (cap_ms <= 0)
        cap_ms = OM_BACKOFF_CAP_DEFAULT;
    if (attempt < 1)
        attempt = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++)
        d *= 2; /* stops doubling at the cap: no overflow */
    if (d > cap_ms)
        d = cap_ms;
    /* +/-20% jitter so that jobs failing together do not retry together. */
    uint32_t r;
    om_random_bytes(&r, sizeof(r));
    double f = 0.8 + 0.4 * ((double)r / 4294967295.0);
    int64_t j = (int64_t)((double)d * f);
    return j < 1 ? 1 : j;
}

void om_job_release(om_job *job)
{
    if (!job)
        return;
    free(job->payload);
    free(job->unique_key);
    free(job->errors);
    free(job->worker);
    job->payload = job->unique_key = job->errors = job->worker = NULL;
}

void om_job_list_free(om_job_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        om_job_release(&l->jobs[i]);
    free(l->jobs);
    l->jobs = NULL;
    l->n = 0;
}

/* A queue handle must not cross fork(): the SQLite connection's locks and the Redis socket
 * belong to the process that opened them (a child talking on the parent's socket would
 * read the parent's replies). In a child, every call refuses and free leaves the
 * connection alone. */
static int forked(const om_queue *q)
{
    if (q->pid == (long)getpid())
        return 0;
    om_error_set(OM_ERROR, "queue handle %s was opened by process %ld and used in forked process "
                           "%ld: open a new one in the child", q->url, q->pid, (long)getpid());
    return 1;
}

#define NOT_FORKED(q)                                                                      \
    do {                                                                                   \
        if (forked(q))                                                                     \
            return OM_ERROR;                                                               \
    } while (0)

static const om_queue_backend *backend_for(const char *url)
{
    if (strcmp(url, "sqlite") == 0)
        return &om_queue_backend_sqlite;
    if (strncmp(url, "redis://", 8) == 0)
        return &om_queue_backend_redis;
    return NULL;
}

int om_queue_open(om_queue **out, const char *url, om_store *store)
{
    OM_ASSERT(out && store);
    *out = NULL;
    if (!url || !*url)
        return om_error_set(OM_EINVAL, "queue url is empty (use 'sqlite' or redis://host:port/db)");
    const om_queue_backend *be = backend_for(url);
    if (!be)
        return om_error_set(OM_EINVAL, "queue url '%s': unknown backend (use 'sqlite' or "
                                       "redis://host:port/db)", url);
    OM_ASSERT(be->version == OM_QUEUE_BACKEND_VERSION);
    om_queue *q = xcalloc(1, sizeof(*q));
    q->be = be;
    q->store = store;
    q->url = xstrdup(url);
    q->backoff_base_ms = OM_BACKOFF_BASE_DEFAULT;
    q->backoff_cap_ms = OM_BACKOFF_CAP_DEFAULT;
    q->pid = (long)getpid();
    int rc = be->open(q, url);
    if (rc < 0) {
        free(q->url);
        free(q);
        return om_error_wrap(rc, "opening queue %s", url);
    }
    *out = q;
    return OM_OK;
}

void om_queue_free(om_queue *q)
{
    if (!q)
        return;
    if (q->pid == (long)getpid())
        q->be->close(q); /* else: a forked child's copy, left alone on purpose */
    free(q->url);
    free(q);
}

const char *om_queue_backend_name(const om_queue *q)
{
    OM_ASSERT(q);
    return q->be->name;
}

void om_queue_set_backoff(om_queue *q, int64_t base_ms, int64_t cap_ms)
{
    OM_ASSERT(q);
    q->backoff_base_ms = base_ms > 0 ? base_ms : OM_BACKOFF_BASE_DEFAULT;
    q->backoff_cap_ms = cap_ms > 0 ? cap_ms : OM_BACKOFF_CAP_DEFAULT;
    if (q->backoff_cap_ms < q->backoff_base_ms)
        q->backoff_cap_ms = q->backoff_base_ms;
}

/* A spec comes from stage code and, through the CLI, from users: check it all. */
static int spec_valid(const om_job_spec *s)
{
    int rc = om_queue_type_valid(s->type);
    if (rc < 0)
        return rc;
    if (s->priority < 0 || s->priority > 9)
        return om_error_set(OM_EINVAL, "job %s: priority %d out of range 0-9", s->type,
                            s->priority);
    if (s->delay_ms < 0)
        return om_error_set(OM_EINVAL, "job %s: negative delay %lld ms", s->type,
                            (long long)s->delay_ms);
    if (s->max_attempts < 0 || s->max_attempts > 1000)
        return om_error_set(OM_EINVAL, "job %s: max_attempts %d out of range 0-1000", s->type,
                            s->max_attempts);
    if (s->unique_key && (!*s->unique_key || strlen(s->unique_key) > OM_UNIQUE_KEY_MAX))
        return om_error_set(OM_EINVAL, "job %s: unique key must be 1-%d characters", s->type,
                            OM_UNIQUE_KEY_MAX);
    if (s->job_id && !om_uuid_valid(s->job_id))
        return om_error_set(OM_EINVAL, "job %s: job id '%.40s' is not a UUID", s->type,
                            s->job_id);
    if (s->payload) {
        json_error_t jerr;
        json_t *j = json_loads(s->payload, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            return om_error_set(OM_EINVAL, "job %s: payload is not JSON: %s (line %d)", s->type,
                                jerr.text, jerr.line);
        int obj = json_is_object(j);
        json_decref(j);
        if (!obj)
            return om_error_set(OM_EINVAL, "job %s: payload must be a JSON object", s->type);
    }
    return OM_OK;
}

int om_queue_enqueue(om_queue *q, const om_job_spec *spec, char id_out[OM_UUID_LEN],
                     int *created_out)
{
    OM_ASSERT(q && spec);
    NOT_FORKED(q);
    int rc = spec_valid(spec);
    if (rc < 0)
        return rc;
    char id[OM_UUID_LEN];
    int created = 0;
    rc = q->be->enqueue_batch(q, spec, 1, &id, &created);
    if (rc < 0)
        return om_error_wrap(rc, "enqueue %s", spec->type);
    if (id_out)
        memcpy(id_out, id, OM_UUID_LEN);
    if (created_out)
        *created_out = created;
    return OM_OK;
}

int om_queue_enqueue_batch(om_queue *q, const om_job_spec *specs, size_t n,
                           char (*ids_out)[OM_UUID_LEN])
{
    OM_ASSERT(q && (specs || n == 0));
    NOT_FORKED(q);
    if (n == 0)
        return OM_OK;
    for (size_t i = 0; i < n; i++) {
        int rc = spec_valid(&specs[i]);
        if (rc < 0)
            return om_error_wrap(rc, "enqueue batch: job %zu", i);
    }
    int rc = q->be->enqueue_batch(q, specs, n, ids_out, NULL);
    if (rc < 0)
        return om_error_wrap(rc, "enqueue batch of %zu", n);
    return OM_OK;
}

int om_queue_enqueue_tx(om_queue *q, om_store *s, const om_job_spec *spec,
                        char id_out[OM_UUID_LEN])
{
    OM_ASSERT(q && s && spec);
    NOT_FORKED(q);
    int rc = spec_valid(spec);
    if (rc < 0)
        return rc;
    char id[OM_UUID_LEN];
    rc = q->be->enqueue_tx(q, s, spec, id);
    if (rc < 0)
        return om_error_wrap(rc, "enqueue %s in transaction", spec->type);
    if (id_out)
        memcpy(id_out, id, OM_UUID_LEN);
    return OM_OK;
}

int om_queue_relay(om_queue *q, size_t *relayed_out)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    size_t n = 0;
    int rc = q->be->relay(q, &n);
    if (relayed_out)
        *relayed_out = n;
    return rc < 0 ? om_error_wrap(rc, "relaying outbox") : OM_OK;
}

/* ---- paused job types (queue.h: the rows of job_type_pauses in the store) ------------ */

static char *iso_in(int64_t ms)
{
    char ts[OM_TIME_LEN];
    return xstrdup(om_time_iso(ts, om_now_us() + (ms > 0 ? ms : 0) * 1000));
}

int om_queue_pause(om_queue *q, const char *type, const char *reason, int64_t probe_after_ms)
{
    OM_ASSERT(q);
    int rc = om_queue_type_valid(type);
    if (rc < 0)
        return om_error_wrap(rc, "pause");
    char *at = iso_in(probe_after_ms);
    rc = om_store_exec(q->store,
                       "INSERT INTO job_type_pauses (job_type, reason, paused_at, probe_at, "
                       "updated_at) VALUES (?, ?, now(), ?, now()) ON CONFLICT (job_type) DO "
                       "UPDATE SET reason = excluded.reason, probe_at = excluded.probe_at, "
                       "updated_at = now()",
                       OM_PARAMS(OM_TEXT(type), OM_TEXT(reason ? reason : ""), OM_TEXT(at)),
                       NULL);
    free(at);
    return rc < 0 ? om_error_wrap(rc, "pausing job type %s", type) : OM_OK;
}

int om_queue_resume(om_queue *q, const char *type)
{
    OM_ASSERT(q && type);
    int64_t n = 0;
    int rc = om_store_exec(q->store, "DELETE FROM job_type_pauses WHERE job_type = ?",
                           OM_PARAMS(OM_TEXT(type)), &n);
    if (rc < 0)
        return om_error_wrap(rc, "resuming job type %s", type);
    return n ? OM_OK : om_error_set(OM_ENOTFOUND, "job type %s is not paused", type);
}

int om_queue_pause_reprobe(om_queue *q, const char *type, int64_t probe_after_ms)
{
    OM_ASSERT(q && type);
    char *at = iso_in(probe_after_ms);
    int64_t n = 0;
    int rc = om_store_exec(q->store,
                           "UPDATE job_type_pauses SET probe_job_id = NULL, probe_at = ?, "
                           "updated_at = now() WHERE job_type = ?",
                           OM_PARAMS(OM_TEXT(at), OM_TEXT(type)), &n);
    free(at);
    if (rc < 0)
        return om_error_wrap(rc, "rescheduling the probe of job type %s", type);
    return n ? OM_OK : om_error_set(OM_ENOTFOUND, "job type %s is not paused", type);
}

void om_queue_pauses_free(om_queue_pause_info *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].reason);
    free(p);
}

int om_queue_pauses(om_queue *q, om_queue_pause_info **out, size_t *n_out)
{
    OM_ASSERT(q && out && n_out);
    *out = NULL;
    *n_out = 0;
    om_rows *r = NULL;
    int rc = om_store_query(q->store,
                            "SELECT job_type, reason, probe_job_id, probes, paused_at, probe_at, "
                            "updated_at FROM job_type_pauses ORDER BY job_type",
                            NULL, 0, &r);
    if (rc < 0)
        return om_error_wrap(rc, "reading the paused job types (an old schema? run 'omniva "
                                 "migrate')");
    size_t n = om_rows_count(r);
    om_queue_pause_info *p = n ? xcalloc(n, sizeof(*p)) : NULL;
    for (size_t i = 0; i < n; i++) {
        snprintf(p[i].type, sizeof(p[i].type), "%s", om_rows_get(r, i, 0));
        p[i].reason = xstrdup(om_rows_get(r, i, 1) ? om_rows_get(r, i, 1) : "");
        snprintf(p[i].probe_job_id, sizeof(p[i].probe_job_id), "%s",
                 om_rows_get(r, i, 2) ? om_rows_get(r, i, 2) : "");
        p[i].probes = (int)om_rows_int(r, i, "probes", 0);
        p[i].paused_us = om_queue_ts_us(om_rows_get(r, i, 4));
        p[i].probe_at_us = om_queue_ts_us(om_rows_get(r, i, 5));
        p[i].updated_us = om_queue_ts_us(om_rows_get(r, i, 6));
    }
    om_rows_free(r);
    *out = p;
    *n_out = n;
    return OM_OK;
}

/* ---- job type limits (queue.h: the rows of job_type_limits in the store) -------------- */

int om_queue_limit_set(om_queue *q, const char *type, int64_t max_concurrency,
                       double rate_per_s, double burst, const char *reason, const char *set_by)
{
    OM_ASSERT(q);
    int rc = om_queue_type_valid(type);
    if (rc < 0)
        return om_error_wrap(rc, "limit");
    if (max_concurrency < -1 || rate_per_s < 0 || (rate_per_s > 0 && burst < 1))
        return om_error_set(OM_EINVAL, "limit of %s: concurrency must be -1 or more, rate 0 or "
                                       "more and burst at least 1 (got %lld, %g, %g)",
                            type, (long long)max_concurrency, rate_per_s, burst);
    rc = om_store_exec(q->store,
                       "INSERT INTO job_type_limits (job_type, max_concurrency, rate_per_s, "
                       "burst, tokens, refilled_us, reason, set_by, updated_at) VALUES (?, ?, ?, "
                       "?, ?, ?, ?, ?, now()) ON CONFLICT (job_type) DO UPDATE SET "
                       "max_concurrency = excluded.max_concurrency, rate_per_s = "
                       "excluded.rate_per_s, burst = excluded.burst, tokens = excluded.tokens, "
                       "refilled_us = excluded.refilled_us, reason = excluded.reason, set_by = "
                       "excluded.set_by, updated_at = now()",
                       OM_PARAMS(OM_TEXT(type), OM_INT(max_concurrency), OM_REAL(rate_per_s),
                                 OM_REAL(burst < 1 ? 1 : burst), OM_REAL(burst < 1 ? 1 : burst),
                                 OM_INT(om_now_us()), OM_TEXT(reason ? reason : ""),
                                 OM_TEXT(set_by ? set_by : "operator")),
                       NULL);
    return rc < 0 ? om_error_wrap(rc, "limiting job type %s", type) : OM_OK;
}

int om_queue_limit_clear(om_queue *q, const char *type, int *cleared_out)
{
    OM_ASSERT(q && type);
    int64_t n = 0;
    int rc = om_store_exec(q->store, "DELETE FROM job_type_limits WHERE job_type = ?",
                           OM_PARAMS(OM_TEXT(type)), &n);
    if (rc < 0)
        return om_error_wrap(rc, "clearing the limits of job type %s", type);
    if (cleared_out)
        *cleared_out = n > 0;
    return OM_OK;
}

void om_queue_limits_free(om_queue_limit *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free(l[i].reason);
        free(l[i].set_by);
    }
    free(l);
}

int om_queue_limits(om_queue *q, om_queue_limit **out, size_t *n_out)
{
    OM_ASSERT(q && out && n_out);
    *out = NULL;
    *n_out = 0;
    om_rows *r = NULL;
    int rc = om_store_query(q->store,
                            "SELECT job_type, max_concurrency, rate_per_s, burst, reason, set_by, "
                            "updated_at FROM job_type_limits ORDER BY job_type",
                            NULL, 0, &r);
    if (rc < 0)
        return om_error_wrap(rc, "reading the job type limits (an old schema? run 'omniva "
                                 "migrate')");
    size_t n = om_rows_count(r);
    om_queue_limit *l = n ? xcalloc(n, sizeof(*l)) : NULL;
    for (size_t i = 0; i < n; i++) {
        snprintf(l[i].type, sizeof(l[i].type), "%s", om_rows_get(r, i, 0));
        l[i].max_concurrency = om_rows_int(r, i, "max_concurrency", -1);
        l[i].rate_per_s = om_rows_get(r, i, 2) ? strtod(om_rows_get(r, i, 2), NULL) : 0;
        l[i].burst = om_rows_get(r, i, 3) ? strtod(om_rows_get(r, i, 3), NULL) : 1;
        l[i].reason = xstrdup(om_rows_get(r, i, 4) ? om_rows_get(r, i, 4) : "");
        l[i].set_by = xstrdup(om_rows_get(r, i, 5) ? om_rows_get(r, i, 5) : "");
        l[i].updated_us = om_queue_ts_us(om_rows_get(r, i, 6));
    }
    om_rows_free(r);
    *out = l;
    *n_out = n;
    return OM_OK;
}

/* Takes one token of type's bucket: *won_out 1 when there was one. The refill and the take
 * are one UPDATE, so workers on several nodes share the bucket. */
static int limit_take_token(om_queue *q, const char *type, int *won_out)
{
    int64_t now = om_now_us(), won = 0;
    /* tokens after the refill: min(burst, tokens + elapsed * rate) */
#define REFILLED                                                                            \
    "(CASE WHEN tokens + (? - refilled_us) * rate_per_s / 1000000.0 > burst THEN burst "     \
    "ELSE tokens + (? - refilled_us) * rate_per_s / 1000000.0 END)"
    int rc = om_store_exec(q->store,
                           "UPDATE job_type_limits SET tokens = " REFILLED " - 1, refilled_us = ? "
                           "WHERE job_type = ? AND rate_per_s > 0 AND " REFILLED " >= 1",
                           OM_PARAMS(OM_INT(now), OM_INT(now), OM_INT(now), OM_TEXT(type),
                                     OM_INT(now), OM_INT(now)),
                           &won);
#undef REFILLED
    *won_out = won > 0;
    return rc < 0 ? om_error_wrap(rc, "taking a token of job type %s", type) : OM_OK;
}

static void limit_give_token(om_queue *q, const char *type)
{
    if (om_store_exec(q->store,
                      "UPDATE job_type_limits SET tokens = tokens + 1 WHERE job_type = ? AND "
                      "rate_per_s > 0",
                      OM_PARAMS(OM_TEXT(type)), NULL) < 0)
        om_error_clear(); /* a token lost: the bucket refills anyway */
}

/* Claims like the backend, leaving paused types out; a paused type whose probe is due
 * gives ONE job (when room is left), reserved first so two workers never both probe. */
static int claim_unpaused(om_queue *q, const char *const *types, size_t ntypes,
                          const char *worker, int64_t lease_ms, om_job *jobs_out, size_t max,
                          size_t *n_out)
{
    om_queue_pause_info *p = NULL;
    size_t np = 0;
    int rc = om_queue_pauses(q, &p, &np);
    if (rc < 0)
        return om_error_wrap(rc, "claim");
    if (np == 0) {
        rc = q->be->claim(q, types, ntypes, worker, lease_ms, jobs_out, max, n_out);
        return rc < 0 ? om_error_wrap(rc, "claim") : OM_OK;
    }
    const char **open = xcalloc(ntypes, sizeof(*open));
    const char **probe = xcalloc(ntypes, sizeof(*probe));
    size_t nopen = 0, nprobe = 0;
    int64_t now = om_now_us();
    for (size_t i = 0; i < ntypes; i++) {
        const om_queue_pause_info *pi = NULL;
        for (size_t k = 0; k < np && !pi; k++)
            if (!strcmp(p[k].type, types[i]))
                pi = &p[k];
        if (!pi)
            open[nopen++] = types[i];
        else if (!pi->probe_job_id[0] && pi->probe_at_us <= now)
            probe[nprobe++] = types[i];
    }
    rc = OM_OK;
    if (nopen)
        rc = q->be->claim(q, open, nopen, worker, lease_ms, jobs_out, max, n_out);
    /* A probe's store error ends the probing but never loses jobs already claimed: they
     * are returned (the next claim reports the store's state when it reads the pauses). */
    char *now_iso = iso_in(0);
    int prc = OM_OK;
    for (size_t i = 0; rc == OM_OK && prc == OM_OK && i < nprobe && *n_out < max; i++) {
        int64_t won = 0;
        prc = om_store_exec(q->store,
                            "UPDATE job_type_pauses SET probe_job_id = 'claiming', updated_at = "
                            "now() WHERE job_type = ? AND probe_job_id IS NULL AND probe_at <= ?",
                            OM_PARAMS(OM_TEXT(probe[i]), OM_TEXT(now_iso)), &won);
        if (prc < 0 || !won)
            continue;
        size_t got = 0;
        om_job *slot = &jobs_out[*n_out];
        prc = q->be->claim(q, &probe[i], 1, worker, lease_ms, slot, 1, &got);
        if (prc == OM_OK && got == 1) {
            (*n_out)++;
            prc = om_store_exec(q->store,
                                "UPDATE job_type_pauses SET probe_job_id = ?, probes = probes + "
                                "1, updated_at = now() WHERE job_type = ?",
                                OM_PARAMS(OM_TEXT(slot->id), OM_TEXT(probe[i])), NULL);
        } else {
            /* nothing to probe with (or the claim failed): give the reservation back */
            int rc2 = om_store_exec(q->store,
                                    "UPDATE job_type_pauses SET probe_job_id = NULL WHERE "
                                    "job_type = ? AND probe_job_id = 'claiming'",
                                    OM_PARAMS(OM_TEXT(probe[i])), NULL);
            if (prc == OM_OK)
                prc = rc2;
        }
    }
    if (rc == OM_OK && prc < 0 && *n_out == 0)
        rc = prc;
    free(now_iso);
    free(open);
    free(probe);
    om_queue_pauses_free(p, np);
    return rc < 0 ? om_error_wrap(rc, "claim") : OM_OK;
}

/* Claims honouring the limits (queue.h), then the pauses (claim_unpaused). */
static int claim_limited(om_queue *q, const char *const *types, size_t ntypes,
                         const char *worker, int64_t lease_ms, om_job *jobs_out, size_t max,
                         size_t *n_out)
{
    om_queue_limit *l = NULL;
    size_t nl = 0;
    int rc = om_queue_limits(q, &l, &nl);
    if (rc < 0)
        return om_error_wrap(rc, "claim");
    if (nl == 0)
        return claim_unpaused(q, types, ntypes, worker, lease_ms, jobs_out, max, n_out);
    const char **allowed = xcalloc(ntypes, sizeof(*allowed));
    const char **tokened = xcalloc(ntypes, sizeof(*tokened));
    size_t nallowed = 0, ntokened = 0;
    om_queue_stat *st = NULL;
    size_t nst = 0;
    int have_stats = 0;
    for (size_t i = 0; rc == OM_OK && i < ntypes; i++) {
        const om_queue_limit *li = NULL;
        for (size_t k = 0; k < nl && !li; k++)
            if (!strcmp(l[k].type, types[i]))
                li = &l[k];
        if (!li) {
            allowed[nallowed++] = types[i];
            continue;
        }
        if (li->max_concurrency == 0)
            continue;
        if (li->max_concurrency > 0) {
            if (!have_stats) {
                rc = om_queue_stats(q, &st, &nst);
                if (rc < 0)
                    break;
                have_stats = 1;
            }
            int64_t leased = 0;
            for (size_t k = 0; k < nst; k++)
                if (!strcmp(st[k].type, types[i]))
                    leased = st[k].leased;
            if (leased >= li->max_concurrency)
                continue;
        }
        if (li->rate_per_s > 0) {
            int won = 0;
            rc = limit_take_token(q, types[i], &won);
            if (rc < 0 || !won)
                continue;
            tokened[ntokened++] = types[i];
        }
        allowed[nallowed++] = types[i];
    }
    if (rc == OM_OK && nallowed)
        rc = claim_unpaused(q, allowed, nallowed, worker, lease_ms, jobs_out,
                            ntokened ? 1 : max, n_out);
    /* a token taken for a type the claim did not return goes back */
    for (size_t i = 0; i < ntokened; i++) {
        int used = 0;
        for (size_t k = 0; k < *n_out && !used; k++)
            used = !strcmp(jobs_out[k].type, tokened[i]);
        if (!used)
            limit_give_token(q, tokened[i]);
    }
    free(st);
    free(allowed);
    free(tokened);
    om_queue_limits_free(l, nl);
    return rc < 0 ? om_error_wrap(rc, "claim") : OM_OK;
}

int om_queue_claim(om_queue *q, const char *const *types, size_t ntypes, const char *worker,
                   int64_t lease_ms, om_job *jobs_out, size_t max, size_t *n_out)
{
    OM_ASSERT(q && types && ntypes > 0 && jobs_out && n_out && max > 0);
    NOT_FORKED(q);
    *n_out = 0;
    for (size_t i = 0; i < ntypes; i++) {
        int rc = om_queue_type_valid(types[i]);
        if (rc < 0)
            return om_error_wrap(rc, "claim");
    }
    if (lease_ms <= 0)
        return om_error_set(OM_EINVAL, "claim: lease must be positive (got %lld ms)",
                            (long long)lease_ms);
    if (!worker || !*worker)
        worker = "anonymous";
    memset(jobs_out, 0, max * sizeof(*jobs_out));
    return claim_limited(q, types, ntypes, worker, lease_ms, jobs_out, max, n_out);
}

int om_queue_wait(om_queue *q, const char *const *types, size_t ntypes, int64_t timeout_ms)
{
    OM_ASSERT(q && types && ntypes > 0);
    NOT_FORKED(q);
    if (timeout_ms <= 0)
        return OM_OK;
    if (!q->be->wait) {
        om_sleep_ms(timeout_ms);
        return OM_OK;
    }
    return q->be->wait(q, types, ntypes, timeout_ms);
}

static void assert_job(const om_job *job)
{
    OM_ASSERT(job);
    OM_ASSERT(om_queue_type_valid(job->type) == OM_OK);
    OM_ASSERT(om_uuid_valid(job->id));
}

int om_queue_heartbeat(om_queue *q, const om_job *job, int64_t lease_ms)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    assert_job(job);
    if (lease_ms <= 0)
        return om_error_set(OM_EINVAL, "heartbeat: lease must be positive");
    int rc = q->be->heartbeat(q, job, lease_ms);
    return rc < 0 ? om_error_wrap(rc, "heartbeat job %s", job->id) : OM_OK;
}

int om_queue_ack(om_queue *q, const om_job *job)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    assert_job(job);
    size_t acked = 0;
    int rc = q->be->ack_batch(q, job, 1, &acked);
    if (rc < 0)
        return om_error_wrap(rc, "ack job %s", job->id);
    return OM_OK;
}

int om_queue_ack_batch(om_queue *q, const om_job *jobs, size_t n, size_t *acked_out)
{
    OM_ASSERT(q && (jobs || n == 0));
    NOT_FORKED(q);
    size_t acked = 0;
    for (size_t i = 0; i < n; i++)
        assert_job(&jobs[i]);
    int rc = n ? q->be->ack_batch(q, jobs, n, &acked) : OM_OK;
    if (acked_out)
        *acked_out = acked;
    return rc < 0 ? om_error_wrap(rc, "ack batch of %zu", n) : OM_OK;
}

int om_queue_fail(om_queue *q, const om_job *job, const char *error, int permanent,
                  int *dead_out)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    assert_job(job);
    int dead = 0;
    int rc = q->be->fail(q, job, error && *error ? error : "(no message)", permanent ? 1 : 0,
                         &dead);
    if (rc < 0)
        return om_error_wrap(rc, "fail job %s", job->id);
    if (dead_out)
        *dead_out = dead;
    return OM_OK;
}

int om_queue_bury(om_queue *q, const om_job *job, const char *error)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    assert_job(job);
    int rc = q->be->bury(q, job, error && *error ? error : "(no message)");
    return rc < 0 ? om_error_wrap(rc, "bury job %s", job->id) : OM_OK;
}

int om_queue_reap(om_queue *q, size_t *reclaimed_out, size_t *buried_out)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    size_t r = 0, b = 0;
    int rc = q->be->reap(q, &r, &b);
    if (reclaimed_out)
        *reclaimed_out = r;
    if (buried_out)
        *buried_out = b;
    return rc < 0 ? om_error_wrap(rc, "reaping expired leases") : OM_OK;
}

static int pid_alive(long pid, void *ud)
{
    (void)ud;
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int om_queue_reclaim_dead(om_queue *q, const char *host, om_queue_alive_fn is_alive, void *ud,
                          size_t *reclaimed_out)
{
    OM_ASSERT(q && host && *host);
    NOT_FORKED(q);
    if (reclaimed_out)
        *reclaimed_out = 0;
    if (!is_alive)
        is_alive = pid_alive;
    om_queue_filter f = {"leased", NULL, 100000};
    om_job_list l = {NULL, 0};
    int rc = q->be->list(q, &f, &l);
    if (rc < 0)
        return om_error_wrap(rc, "reclaiming the leases of dead workers");
    size_t hl = strlen(host), n = 0;
    for (size_t i = 0; i < l.n && rc == OM_OK; i++) {
        const char *w = l.jobs[i].worker;
        if (!w || strncmp(w, host, hl) != 0 || w[hl] != ':')
            continue;
        char *end;
        long pid = strtol(w + hl + 1, &end, 10);
        if (*end || pid <= 0 || is_alive(pid, ud))
            continue;
        int e = q->be->expire_lease(q, &l.jobs[i]);
        if (e == OM_OK) {
            n++;
            om_info("queue", "job %s (%s) was leased by worker %s, which is gone: reclaimed",
                    l.jobs[i].id, l.jobs[i].type, w);
        } else if (e != OM_ESTALE) { /* ESTALE: finished or reaped meanwhile */
            rc = e;
        }
    }
    om_job_list_free(&l);
    if (rc < 0)
        return om_error_wrap(rc, "reclaiming the leases of dead workers");
    if (n) {
        size_t back = 0, buried = 0;
        rc = q->be->reap(q, &back, &buried);
        if (rc < 0)
            return om_error_wrap(rc, "reaping the leases of dead workers");
    }
    if (reclaimed_out)
        *reclaimed_out = n;
    return OM_OK;
}

int om_queue_retry(om_queue *q, const char *job_id)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    if (!om_uuid_valid(job_id))
        return om_error_set(OM_EINVAL, "retry: '%s' is not a job id", job_id ? job_id : "");
    int rc = q->be->retry(q, job_id);
    return rc < 0 ? rc : OM_OK; /* the backends' messages name the job and the reason */
}

static int state_valid(const char *state)
{
    static const char *const ok[] = {"ready", "delayed", "leased", "done", "dead"};
    for (size_t i = 0; i < OM_ARRAY_LEN(ok); i++)
        if (state && strcmp(state, ok[i]) == 0)
            return OM_OK;
    return om_error_set(OM_EINVAL, "unknown job state '%s' (ready, delayed, leased, done, dead)",
                        state ? state : "");
}

int om_queue_purge(om_queue *q, const char *state, size_t *purged_out)
{
    OM_ASSERT(q);
    NOT_FORKED(q);
    int rc = state_valid(state);
    if (rc < 0)
        return om_error_wrap(rc, "purge");
    size_t n = 0;
    rc = q->be->purge(q, state, &n);
    if (purged_out)
        *purged_out = n;
    return rc < 0 ? om_error_wrap(rc, "purge %s jobs", state) : OM_OK;
}

int om_queue_get(om_queue *q, const char *job_id, om_job *out)
{
    OM_ASSERT(q && out);
    NOT_FORKED(q);
    memset(out, 0, sizeof(*out));
    if (!om_uuid_valid(job_id))
        return om_error_set(OM_EINVAL, "'%s' is not a job id", job_id ? job_id : "");
    return q->be->get(q, job_id, out);
}

int om_queue_list(om_queue *q, const om_queue_filter *f, om_job_list *out)
{
    OM_ASSERT(q && out);
    NOT_FORKED(q);
    out->jobs = NULL;
    out->n = 0;
    om_queue_filter flt = {NULL, NULL, 100};
    if (f)
        flt = *f;
    if (flt.limit == 0)
        flt.limit = 100;
    if (flt.state && strcmp(flt.state, "outbox") != 0) {
        int rc = state_valid(flt.state);
        if (rc < 0)
            return om_error_wrap(rc, "list");
    }
    if (flt.type) {
        int rc = om_queue_type_valid(flt.type);
        if (rc < 0)
            return om_error_wrap(rc, "list");
    }
    int rc = q->be->list(q, &flt, out);
    return rc < 0 ? om_error_wrap(rc, "listing jobs") : OM_OK;
}

int om_queue_stats(om_queue *q, om_queue_stat **stats_out, size_t *n_out)
{
    OM_ASSERT(q && stats_out && n_out);
    NOT_FORKED(q);
    *stats_out = NULL;
    *n_out = 0;
    int rc = q->be->stats(q, stats_out, n_out);
    return rc < 0 ? om_error_wrap(rc, "queue stats") : OM_OK;
}

/* ---- helpers shared by the backends (queue_backend.h) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t om_queue_ts_us(const char *s)
{
    if (!s || !*s)
        return 0;
    /* Fast path for the canonical "YYYY-MM-DDTHH:MM:SS.ffffffZ" every writer here uses. */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    size_t i = 0;
    for (; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            break;
    }
    if (!shape[i] && !s[i]) {
        int64_t v[7];
        static const int at[7][2] = {{0, 4}, {5, 2}, {8, 2}, {11, 2}, {14, 2}, {17, 2}, {20, 6}};
        for (int k = 0; k < 7; k++) {
            int64_t x = 0;
            for (int j = 0; j < at[k][1]; j++)
                x = x * 10 + (s[at[k][0] + j] - '0');
            v[k] = x;
        }
        int64_t days = days_from_civil(v[0], (int)v[1], (int)v[2]);
        return ((days * 86400 + v[3] * 3600 + v[4] * 60 + v[5]) * 1000000) + v[6];
    }
    int64_t us = 0;
    if (om_time_parse(s, &us) < 0) {
        om_error_clear();
        return 0;
    }
    return us;
}

int om_queue_store_insert(om_store *s, const om_job_spec *spec, const char *state,
                          char id_out[OM_UUID_LEN], int *created_out)
{
    char id[OM_UUID_LEN], now[OM_TIME_LEN], nb[OM_TIME_LEN];
    if (spec->job_id)
        memcpy(id, spec->job_id, OM_UUID_LEN);
    else
        om_uuid4(id);
    int64_t t = om_now_us();
    om_time_iso(now, t);
    om_time_iso(nb, t + spec->delay_ms * 1000);
    om_rows *rows = NULL;
    int rc = om_store_query(
        s,
        "INSERT INTO jobs (job_id, type, state, priority, payload, unique_key, attempt, "
        "max_attempts, lease_expiries, token, errors, not_before, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING job_id",
        OM_PARAMS(OM_TEXT(id), OM_TEXT(spec->type), OM_TEXT(state), OM_INT(spec->priority),
                  OM_JSON(spec->payload ? spec->payload : "{}"), OM_TEXT(spec->unique_key),
                  OM_INT(spec->max_attempts ? spec->max_attempts : OM_MAX_ATTEMPTS_DEFAULT),
                  OM_JSON("[]"), OM_TEXT(nb), OM_TEXT(now), OM_TEXT(now)),
        &rows);
    if (rc < 0)
        return rc;
    size_t n = om_rows_count(rows);
    om_rows_free(rows);
    if (n == 1) {
        memcpy(id_out, id, OM_UUID_LEN);
        if (created_out)
            *created_out = 1;
        return OM_OK;
    }
    /* A conflict: the unique key (or the given id) already names a job; return that one. */
    if (spec->unique_key) {
        char *existing = NULL;
        rc = om_store_query_value(s, "SELECT job_id FROM jobs WHERE type = ? AND unique_key = ?",
                                  OM_PARAMS(OM_TEXT(spec->type), OM_TEXT(spec->unique_key)),
                                  &existing);
        if (rc == OM_OK && existing && strlen(existing) == OM_UUID_LEN - 1) {
            memcpy(id_out, existing, OM_UUID_LEN);
            free(existing);
            if (created_out)
                *created_out = 0;
            return OM_OK;
        }
        free(existing);
        if (rc < 0 && rc != OM_ENOTFOUND)
            return rc;
    }
    memcpy(id_out, id, OM_UUID_LEN); /* the explicit job id was already there */
    if (created_out)
        *created_out = 0;
    return OM_OK;
}
