/*
 * metrics.c: GET /api/v1/stats (per-stage counts, throughput and queue depth over time,
 * render seconds, failure rate) and GET /metrics (Prometheus text format 0.0.4). Both come
 * from one pass of aggregate queries, cached for about a second per process, so many
 * scrapers or dashboards cost the database one pass.
 *
 * Throughput is counted from job_logs rows that end a job (state DONE, FAILED or DEAD),
 * bucketed in C (portable SQL, no date functions): per minute over the last hour and per
 * hour over the last week.
 */
#include "base/common.h"

#include <ctype.h>
#include <pthread.h>
#include <unistd.h>

#include "http/api_int.h"

typedef struct snapshot {
    int64_t at_ms;
    json_t *stats;  /* the /api/v1/stats document */
    char *metrics;  /* the /metrics text */
} snapshot;

static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;
static snapshot snap;

static int64_t q_int(om_store *s, const char *sql)
{
    char *v = NULL;
    int64_t n = 0;
    if (om_store_query_value(s, sql, NULL, 0, &v) == OM_OK && v)
        n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static void esc_label(om_sbuf *sb, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            sb_printf(sb, "\\%c", *v);
        else if (*v == '\n')
            sb_puts(sb, "\\n");
        else
            sb_append(sb, v, 1);
    }
}

static const double dur_buckets[] = {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600};

static int final_state(const char *st)
{
    return st && (strcasecmp(st, "DONE") == 0 || strcasecmp(st, "FAILED") == 0 ||
                  strcasecmp(st, "DEAD") == 0);
}

static void build(om_http_req *r, snapshot *out)
{
    om_store *s = r->store;
    om_sbuf m = OM_SBUF_INIT;
    json_t *stats = json_object();
    int64_t now = om_now_us();

    /* queue: jobs by type and state */
    om_queue_stat *qs = NULL;
    size_t nq = 0;
    json_t *jobs = json_object();
    sb_puts(&m, "# HELP omniva_jobs Jobs by type and state.\n# TYPE omniva_jobs gauge\n");
    if (om_queue_stats(r->queue, &qs, &nq) == OM_OK) {
        for (size_t i = 0; i < nq; i++) {
            const char *names[] = {"ready", "delayed", "leased", "done", "dead"};
            int64_t v[] = {qs[i].ready, qs[i].delayed, qs[i].leased, qs[i].done, qs[i].dead};
            json_t *t = json_object();
            for (size_t k = 0; k < 5; k++) {
                json_object_set_new(t, names[k], json_integer(v[k]));
                sb_puts(&m, "omniva_jobs{type=\"");
                esc_label(&m, qs[i].type);
                sb_printf(&m, "\",state=\"%s\"} %lld\n", names[k], (long long)v[k]);
            }
            json_object_set_new(jobs, qs[i].type, t);
        }
        sb_puts(&m, "# HELP omniva_queue_depth Claimable jobs (ready) per type.\n"
                    "# TYPE omniva_queue_depth gauge\n");
        for (size_t i = 0; i < nq; i++) {
            sb_puts(&m, "omniva_queue_depth{type=\"");
            esc_label(&m, qs[i].type);
            sb_printf(&m, "\"} %lld\n", (long long)qs[i].ready);
        }
        sb_puts(&m, "# HELP omniva_dead_letters Dead jobs per type.\n"
                    "# TYPE omniva_dead_letters gauge\n");
        for (size_t i = 0; i < nq; i++) {
            sb_puts(&m, "omniva_dead_letters{type=\"");
            esc_label(&m, qs[i].type);
            sb_printf(&m, "\"} %lld\n", (long long)qs[i].dead);
        }
    }
    free(qs);
    json_object_set_new(stats, "jobs", jobs);

    /* oldest ready age and lease expiries (the store's jobs table: the SQLite queue, and
     * the outbox on Redis) */
    om_rows *rows = NULL;
    sb_puts(&m, "# HELP omniva_queue_oldest_ready_seconds Age of the oldest ready job per type.\n"
                "# TYPE omniva_queue_oldest_ready_seconds gauge\n");
    if (om_store_query(s,
                       "SELECT type, MIN(not_before) AS oldest, SUM(lease_expiries) AS le FROM jobs "
                       "WHERE state = 'ready' GROUP BY type ORDER BY type",
                       NULL, 0, &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            int64_t us = now;
            const char *o = om_rows_getn(rows, i, "oldest");
            if (o)
                om_time_parse(o, &us);
            sb_puts(&m, "omniva_queue_oldest_ready_seconds{type=\"");
            esc_label(&m, om_rows_getn(rows, i, "type"));
            sb_printf(&m, "\"} %.3f\n", us < now ? (double)(now - us) / 1e6 : 0.0);
        }
    }
    om_rows_free(rows);
    rows = NULL;
    sb_puts(&m, "# HELP omniva_lease_expiries_total Lease expiries recorded on jobs per type.\n"
                "# TYPE omniva_lease_expiries_total counter\n");
    if (om_store_query(s, "SELECT type, SUM(lease_expiries) AS le FROM jobs GROUP BY type "
                          "ORDER BY type",
                       NULL, 0, &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            sb_puts(&m, "omniva_lease_expiries_total{type=\"");
            esc_label(&m, om_rows_getn(rows, i, "type"));
            sb_printf(&m, "\"} %lld\n", (long long)om_rows_int(rows, i, "le", 0));
        }
    }
    om_rows_free(rows);
    rows = NULL;

    /* job durations (created -> finished) per type, from finished jobs of the last week */
    char since[OM_TIME_LEN];
    om_time_iso(since, now - 7 * 86400 * INT64_C(1000000));
    sb_puts(&m, "# HELP omniva_job_duration_seconds Enqueue-to-finish time of jobs (last 7 days).\n"
                "# TYPE omniva_job_duration_seconds histogram\n");
    if (om_store_query(s,
                       "SELECT type, created_at, finished_at FROM jobs WHERE finished_at IS NOT "
                       "NULL AND finished_at >= ? ORDER BY type LIMIT 200000",
                       OM_PARAMS(OM_TEXT(since)), &rows) == OM_OK) {
        size_t n = om_rows_count(rows), i = 0;
        while (i < n) {
            const char *type = om_rows_getn(rows, i, "type");
            uint64_t cnt[OM_ARRAY_LEN(dur_buckets)] = {0}, total = 0;
            double sum = 0;
            for (; i < n && strcmp(om_rows_getn(rows, i, "type"), type) == 0; i++) {
                int64_t a, b;
                if (om_time_parse(om_rows_getn(rows, i, "created_at"), &a) ||
                    om_time_parse(om_rows_getn(rows, i, "finished_at"), &b))
                    continue;
                double d = (double)(b - a) / 1e6;
                for (size_t k = 0; k < OM_ARRAY_LEN(dur_buckets); k++)
                    if (d <= dur_buckets[k])
                        cnt[k]++;
                total++;
                sum += d;
            }
            for (size_t k = 0; k < OM_ARRAY_LEN(dur_buckets); k++) {
                sb_puts(&m, "omniva_job_duration_seconds_bucket{type=\"");
                esc_label(&m, type);
                sb_printf(&m, "\",le=\"%g\"} %llu\n", dur_buckets[k], (unsigned long long)cnt[k]);
            }
            sb_puts(&m, "omniva_job_duration_seconds_bucket{type=\"");
            esc_label(&m, type);
            sb_printf(&m, "\",le=\"+Inf\"} %llu\n", (unsigned long long)total);
            sb_puts(&m, "omniva_job_duration_seconds_sum{type=\"");
            esc_label(&m, type);
            sb_printf(&m, "\"} %.6f\n", sum);
            sb_puts(&m, "omniva_job_duration_seconds_count{type=\"");
            esc_label(&m, type);
            sb_printf(&m, "\"} %llu\n", (unsigned long long)total);
        }
    }
    om_rows_free(rows);
    rows = NULL;

    /* clips by status */
    json_t *clips = json_object();
    sb_puts(&m, "# HELP omniva_clips Clips by status.\n# TYPE omniva_clips gauge\n");
    if (om_store_query(s, "SELECT status, COUNT(*) AS n FROM clips GROUP BY status ORDER BY status",
                       NULL, 0, &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            const char *st = om_rows_getn(rows, i, "status");
            int64_t n = om_rows_int(rows, i, "n", 0);
            char low[32];
            size_t k = 0;
            for (; st[k] && k < sizeof(low) - 1; k++)
                low[k] = (char)tolower((unsigned char)st[k]);
            low[k] = 0;
            json_object_set_new(clips, low, json_integer(n));
            sb_printf(&m, "omniva_clips{status=\"%s\"} %lld\n", low, (long long)n);
        }
    }
    om_rows_free(rows);
    rows = NULL;
    json_t *stages = json_pack("{s:I, s:I, s:I, s:o}", "creators",
                               (json_int_t)q_int(s, "SELECT COUNT(*) FROM creators"), "posts",
                               (json_int_t)q_int(s, "SELECT COUNT(*) FROM posts"), "videos",
                               (json_int_t)q_int(s, "SELECT COUNT(*) FROM videos"), "clips", clips);
    json_object_set_new(stats, "stages", stages);

    /* publishes by target and result */
    sb_puts(&m, "# HELP omniva_publishes Upload jobs by target and status.\n"
                "# TYPE omniva_publishes gauge\n");
    if (om_store_query(s,
                       "SELECT target, status, COUNT(*) AS n FROM upload_jobs GROUP BY target, "
                       "status ORDER BY target, status",
                       NULL, 0, &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            sb_puts(&m, "omniva_publishes{target=\"");
            esc_label(&m, om_rows_getn(rows, i, "target"));
            sb_puts(&m, "\",result=\"");
            esc_label(&m, om_rows_getn(rows, i, "status"));
            sb_printf(&m, "\"} %lld\n", (long long)om_rows_int(rows, i, "n", 0));
        }
    }
    om_rows_free(rows);
    rows = NULL;

    int64_t inc = q_int(s, "SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL");
    sb_printf(&m, "# HELP omniva_incidents_open Open incidents.\n# TYPE omniva_incidents_open "
                  "gauge\nomniva_incidents_open %lld\n", (long long)inc);
    json_object_set_new(stats, "incidents_open", json_integer(inc));

    /* Infinity (oversight/infinity.h): the limits in force and the adjustments made */
    if (om_store_query(s,
                       "SELECT job_type, max_concurrency, rate_per_s FROM job_type_limits ORDER "
                       "BY job_type",
                       NULL, 0, &rows) == OM_OK) {
        sb_puts(&m, "# HELP omniva_job_type_limit Limits Infinity or an operator set on a job "
                    "type (concurrency -1: unlimited, 0: stopped; rate 0: unlimited).\n"
                    "# TYPE omniva_job_type_limit gauge\n");
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            sb_puts(&m, "omniva_job_type_limit{type=\"");
            esc_label(&m, om_rows_get(rows, i, 0));
            sb_printf(&m, "\",limit=\"concurrency\"} %lld\n",
                      (long long)om_rows_int(rows, i, "max_concurrency", -1));
            sb_puts(&m, "omniva_job_type_limit{type=\"");
            esc_label(&m, om_rows_get(rows, i, 0));
            sb_printf(&m, "\",limit=\"rate_per_s\"} %s\n",
                      om_rows_get(rows, i, 2) ? om_rows_get(rows, i, 2) : "0");
        }
    }
    om_rows_free(rows);
    rows = NULL;
    int64_t adj = q_int(s, "SELECT COUNT(*) FROM logs WHERE source = 'infinity'");
    sb_printf(&m, "# HELP omniva_infinity_adjustments_total Limits Infinity set, lifted or "
                  "paused (logs rows).\n# TYPE omniva_infinity_adjustments_total counter\n"
                  "omniva_infinity_adjustments_total %lld\n",
              (long long)adj);
    json_object_set_new(stats, "infinity_adjustments", json_integer(adj));

    /* render seconds: edit_jobs.operations.render_seconds is not uniform; use the edit
     * jobs' durations */
    double render_s = 0;
    if (om_store_query(s,
                       "SELECT created_at, finished_at FROM jobs WHERE type = 'edit' AND state = "
                       "'done' AND finished_at IS NOT NULL LIMIT 200000",
                       NULL, 0, &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            int64_t a, b;
            if (!om_time_parse(om_rows_get(rows, i, 0), &a) &&
                !om_time_parse(om_rows_get(rows, i, 1), &b) && b > a)
                render_s += (double)(b - a) / 1e6;
        }
    }
    om_rows_free(rows);
    rows = NULL;
    sb_printf(&m, "# HELP omniva_render_seconds_total Time spent in finished edit jobs.\n"
                  "# TYPE omniva_render_seconds_total counter\nomniva_render_seconds_total %.3f\n",
              render_s);
    json_object_set_new(stats, "render_seconds", json_real(render_s));

    /* throughput from job_logs */
    int64_t per_min[60] = {0}, per_hour[168] = {0}, finished = 0, failed = 0;
    if (om_store_query(s,
                       "SELECT state, created_at FROM job_logs WHERE created_at >= ? LIMIT 500000",
                       OM_PARAMS(OM_TEXT(since)), &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            const char *st = om_rows_get(rows, i, 0);
            int64_t at;
            if (!final_state(st) || om_time_parse(om_rows_get(rows, i, 1), &at))
                continue;
            int64_t age = now - at;
            if (age < 0)
                age = 0;
            int64_t mi = age / (60 * INT64_C(1000000)), hi = age / (3600 * INT64_C(1000000));
            if (mi < 60)
                per_min[59 - mi]++;
            if (hi < 168)
                per_hour[167 - hi]++;
            finished++;
            if (strcasecmp(st, "DONE") != 0)
                failed++;
        }
    }
    om_rows_free(rows);
    json_t *pm = json_array(), *ph = json_array();
    for (int i = 0; i < 60; i++)
        json_array_append_new(pm, json_integer(per_min[i]));
    for (int i = 0; i < 168; i++)
        json_array_append_new(ph, json_integer(per_hour[i]));
    json_object_set_new(stats, "throughput",
                        json_pack("{s:o, s:o, s:s}", "per_minute_last_hour", pm,
                                  "per_hour_last_week", ph, "note",
                                  "finished jobs per bucket, oldest first"));
    json_object_set_new(stats, "failure_rate",
                        json_real(finished ? (double)failed / (double)finished : 0.0));

    /* the dashboard's stage cards: jobs finished per type and state in the last 24 h */
    char day[OM_TIME_LEN], hour[OM_TIME_LEN];
    om_time_iso(day, now - 86400 * INT64_C(1000000));
    om_time_iso(hour, now - 3600 * INT64_C(1000000));
    json_t *j24 = json_object();
    if (om_store_query(s,
                       "SELECT type, state, COUNT(*) AS n FROM jobs WHERE finished_at >= ? "
                       "GROUP BY type, state",
                       OM_PARAMS(OM_TEXT(day)), &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            const char *t = om_rows_getn(rows, i, "type");
            json_t *o = json_object_get(j24, t);
            if (!o) {
                o = json_pack("{s:i, s:i}", "done", 0, "dead", 0);
                json_object_set_new(j24, t, o);
            }
            json_object_set_new(o, om_rows_getn(rows, i, "state"),
                                json_integer(om_rows_int(rows, i, "n", 0)));
        }
    }
    om_rows_free(rows);
    rows = NULL;
    json_object_set_new(stats, "jobs_24h", j24);

    /* queue depth per minute over the last hour: jobs created by the end of the minute and
     * not finished by then (waiting or running), rebuilt from the jobs' own timestamps */
    int64_t depth[60] = {0};
    if (om_store_query(s,
                       "SELECT created_at, finished_at FROM jobs WHERE finished_at IS NULL OR "
                       "finished_at >= ? LIMIT 500000",
                       OM_PARAMS(OM_TEXT(hour)), &rows) == OM_OK) {
        for (size_t i = 0; i < om_rows_count(rows); i++) {
            int64_t a, b = INT64_MAX;
            if (om_time_parse(om_rows_get(rows, i, 0), &a))
                continue;
            const char *fin = om_rows_get(rows, i, 1);
            if (fin && om_time_parse(fin, &b))
                continue;
            for (int k = 0; k < 60; k++) {
                int64_t t = now - (int64_t)(59 - k) * 60 * INT64_C(1000000);
                if (a <= t && b > t)
                    depth[k]++;
            }
        }
    }
    om_rows_free(rows);
    rows = NULL;
    json_t *qd = json_array();
    for (int i = 0; i < 60; i++)
        json_array_append_new(qd, json_integer(depth[i]));
    json_object_set_new(stats, "queue_depth",
                        json_pack("{s:o, s:s}", "per_minute_last_hour", qd, "note",
                                  "jobs waiting or running at the end of each minute, oldest "
                                  "first"));

    /* process metrics */
    FILE *f = fopen("/proc/self/stat", "r");
    double cpu = 0, rss = 0;
    if (f) {
        unsigned long ut = 0, st = 0;
        long rs = 0;
        if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d "
                      "%*d %*d %*d %*u %*u %ld",
                   &ut, &st, &rs) == 3) {
            long hz = sysconf(_SC_CLK_TCK);
            cpu = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
            rss = (double)rs * (double)sysconf(_SC_PAGESIZE);
        }
        fclose(f);
    }
    sb_printf(&m, "# HELP process_cpu_seconds_total Total user and system CPU time.\n"
                  "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
                  "# HELP process_resident_memory_bytes Resident memory size.\n"
                  "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %.0f\n"
                  "# HELP process_start_time_seconds Start time since the Unix epoch.\n"
                  "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n",
              cpu, rss, (double)om_http_started_us(r->server) / 1e6);
    out->stats = stats;
    out->metrics = sb_detach(&m);
    out->at_ms = om_mono_ms();
}

/* Copies the cached snapshot (refreshing it when older than ~1 s) into *stats / *metrics. */
static void current(om_http_req *r, json_t **stats, char **metrics)
{
    pthread_mutex_lock(&snap_mu);
    if (!snap.stats || om_mono_ms() - snap.at_ms > 1000) {
        json_decref(snap.stats);
        free(snap.metrics);
        build(r, &snap);
    }
    if (stats)
        *stats = json_deep_copy(snap.stats);
    if (metrics)
        *metrics = xstrdup(snap.metrics);
    pthread_mutex_unlock(&snap_mu);
}

void h_stats(om_http_req *r)
{
    if (api_query_only(r))
        return;
    json_t *s = NULL;
    current(r, &s, NULL);
    om_http_reply_json(r, 200, s);
}

void h_metrics(om_http_req *r)
{
    if (api_query_only(r))
        return;
    char *m = NULL;
    current(r, NULL, &m);
    om_http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", m, strlen(m));
    free(m);
}
