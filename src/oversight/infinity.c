/*
 * infinity.c: Infinity's tick (measure the load, set or lift the job type limits, pause a
 * failing renderer) and the free-space check fetch makes before a download. See infinity.h.
 */
#include "base/common.h"
#include "base/proc.h"
#include "ledger/stardust.h"
#include "oversight/incidents.h"
#include "oversight/infinity.h"

#include <errno.h>
#include <math.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define INFINITY_BY "infinity"

static int listed(const char *csv, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = csv; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && !strncmp(p, item, n))
            return 1;
        p += len;
    }
    return 0;
}

/* ---- measures ---------------------------------------------------------------------------- */

int om_infinity_free_mb(const char *path, double *mb_out)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return om_error_set(OM_EIO, "statvfs %s: %s", path, strerror(errno));
    *mb_out = (double)v.f_bavail * (double)v.f_frsize / (1024.0 * 1024.0);
    return OM_OK;
}

int om_infinity_disk_low(const om_config *cfg, double *free_mb_out)
{
    double mb = 0;
    long min_mb = om_config_long(cfg, "media.min_free_mb");
    if (om_infinity_free_mb(om_config_media_dir(cfg), &mb) != OM_OK) {
        om_error_clear();
        mb = -1;
    }
    if (free_mb_out)
        *free_mb_out = mb;
    return min_mb > 0 && mb >= 0 && mb < (double)min_mb;
}

static double loadavg_per_core(void)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strtod(buf, NULL) / (double)om_proc_cpus();
}

static double mem_available_mb(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -1;
    char line[256];
    double mb = -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "MemAvailable:", 13)) {
            mb = strtod(line + 13, NULL) / 1024.0;
            break;
        }
    fclose(f);
    return mb;
}

typedef struct rate {
    char type[OM_JOB_TYPE_MAX];
    int64_t ok, failed;
} rate;

typedef struct tick {
    om_store *s;
    om_queue *q;
    const om_config *cfg;
    json_t *report, *measures;
    om_queue_stat *st;
    size_t nst;
    rate *rates;
    size_t nrates;
    om_queue_limit *limits;
    size_t nlimits;
} tick;

static const om_queue_stat *stat_of(const tick *t, const char *type)
{
    for (size_t i = 0; i < t->nst; i++)
        if (!strcmp(t->st[i].type, type))
            return &t->st[i];
    return NULL;
}

static rate *rate_of(tick *t, const char *type)
{
    for (size_t i = 0; i < t->nrates; i++)
        if (!strcmp(t->rates[i].type, type))
            return &t->rates[i];
    t->rates = xrealloc(t->rates, (t->nrates + 1) * sizeof(*t->rates));
    rate *r = &t->rates[t->nrates++];
    memset(r, 0, sizeof(*r));
    snprintf(r->type, sizeof(r->type), "%s", type);
    return r;
}

/* Outcomes per type since `since_us` (the workers' job done / job failed rows). */
static int read_rates(tick *t, int64_t since_us)
{
    char since[OM_TIME_LEN];
    om_time_iso(since, since_us);
    om_rows *r = NULL;
    int rc = om_store_query(t->s,
                            "SELECT metadata, created_at FROM logs WHERE created_at > ? AND "
                            "(message LIKE 'job done%' OR message LIKE 'job failed%')",
                            OM_PARAMS(OM_TEXT(since)), &r);
    if (rc)
        return om_error_wrap(rc, "infinity: reading the job outcomes");
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *mt = om_rows_get(r, i, 0);
        json_t *m = mt ? json_loads(mt, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(m, "job_type"));
        const char *state = json_string_value(json_object_get(m, "state"));
        if (type && state && (!strcmp(state, "DONE") || !strcmp(state, "ERROR"))) {
            rate *x = rate_of(t, type);
            !strcmp(state, "DONE") ? x->ok++ : x->failed++;
        }
        json_decref(m);
    }
    om_rows_free(r);
    return OM_OK;
}

/* The age in seconds of the first ready job of a type (the next one a claim takes). */
static double oldest_ready_s(tick *t, const char *type)
{
    om_queue_filter f = {"ready", type, 1};
    om_job_list l = {NULL, 0};
    double age = 0;
    if (om_queue_list(t->q, &f, &l) == OM_OK && l.n) {
        int64_t since = l.jobs[0].not_before_us > l.jobs[0].created_us ? l.jobs[0].not_before_us
                                                                         : l.jobs[0].created_us;
        age = (double)(om_now_us() - since) / 1e6;
        if (age < 0)
            age = 0;
    } else {
        om_error_clear();
    }
    om_job_list_free(&l);
    return age;
}

/* ---- wanted limits -------------------------------------------------------------------- */

typedef struct want {
    char type[OM_JOB_TYPE_MAX];
    int64_t conc; /* -1: unlimited */
    double rate, burst;
    char reason[512];
} want;

typedef struct wants {
    want *v;
    size_t n;
} wants;

static want *want_of(wants *w, const char *type)
{
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->v[i].type, type))
            return &w->v[i];
    w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
    want *x = &w->v[w->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->type, sizeof(x->type), "%s", type);
    x->conc = -1;
    return x;
}

static void want_reason(want *x, const char *why)
{
    size_t n = strlen(x->reason);
    snprintf(x->reason + n, sizeof(x->reason) - n, "%s%s", n ? "; " : "", why);
}

/* Each type of csv gets concurrency `conc` (or less) and/or rate `r` (or less). */
static void want_csv(wants *w, const char *csv, int64_t conc, double r, double burst,
                     const char *why)
{
    for (const char *p = csv; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len && len < OM_JOB_TYPE_MAX) {
            char type[OM_JOB_TYPE_MAX];
            memcpy(type, p, len);
            type[len] = '\0';
            want *x = want_of(w, type);
            if (conc >= 0 && (x->conc < 0 || conc < x->conc))
                x->conc = conc;
            if (r > 0 && (x->rate <= 0 || r < x->rate)) {
                x->rate = r;
                x->burst = burst;
            }
            want_reason(x, why);
        }
        p += len;
    }
}

static const om_queue_limit *limit_of(const tick *t, const char *type)
{
    for (size_t i = 0; i < t->nlimits; i++)
        if (!strcmp(t->limits[i].type, type))
            return &t->limits[i];
    return NULL;
}

/* Our limit on a type whose reason mentions `rule`: the rule is in force now. */
static int rule_active(const tick *t, const char *csv, const char *rule)
{
    for (size_t i = 0; i < t->nlimits; i++)
        if (!strcmp(t->limits[i].set_by, INFINITY_BY) && listed(csv, t->limits[i].type) &&
            strstr(t->limits[i].reason, rule))
            return 1;
    return 0;
}

/* ---- recording ------------------------------------------------------------------------ */

/* One change: the limit row, a logs row and a ledger packet in one transaction. */
static int record(tick *t, const char *type, const want *x, const char *level)
{
    int clear = !x;
    char *msg;
    if (clear) {
        msg = xasprintf("infinity: limits of %s lifted", type);
    } else if (x->conc == 0) {
        msg = xasprintf("infinity: %s stopped (%s)", type, x->reason);
    } else {
        char c[32] = "", r[64] = "";
        if (x->conc > 0)
            snprintf(c, sizeof(c), "concurrency %lld", (long long)x->conc);
        if (x->rate > 0)
            snprintf(r, sizeof(r), "%s%g claims/s", x->conc > 0 ? ", " : "", x->rate);
        msg = xasprintf("infinity: %s limited to %s%s (%s)", type, c, r, x->reason);
    }
    json_t *adj = json_pack("{s:s, s:s}", "type", type, "action", clear ? "clear" : "limit");
    if (!clear) {
        json_object_set_new(adj, "max_concurrency", json_integer((json_int_t)x->conc));
        json_object_set_new(adj, "rate_per_s", json_real(x->rate));
        json_object_set_new(adj, "reason", json_string(x->reason));
    }
    json_t *meta = json_pack("{s:O, s:O}", "adjustment", adj, "measures", t->measures);
    char *mt = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    char id[OM_UUID_LEN], pid[OM_UUID_LEN];
    int rc = om_store_begin(t->s);
    if (rc == OM_OK)
        rc = clear ? om_queue_limit_clear(t->q, type, NULL)
                   : om_queue_limit_set(t->q, type, x->conc, x->rate, x->burst, x->reason,
                                        INFINITY_BY);
    if (rc == OM_OK)
        rc = om_store_exec(t->s,
                           "INSERT INTO logs (log_id, source, level, message, metadata, "
                           "created_at) VALUES (?, 'infinity', ?, ?, ?, now())",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(level), OM_TEXT(msg),
                                     OM_JSON(mt)),
                           NULL);
    if (rc == OM_OK) {
        json_t *lin = json_pack("{s:s, s:O}", "decided_by", INFINITY_BY, "adjustment", adj);
        json_t *chain = json_pack("[{s:s, s:O}]", "step", "infinity", "measures", t->measures);
        char adj_id[OM_UUID_LEN]; /* the ledger's entity ids are UUIDs: one per adjustment */
        json_object_set_new(lin, "job_type", json_string(type));
        rc = om_stardust_append(t->s, "job_type_limits", om_uuid4(adj_id), lin, chain, pid);
        json_decref(lin);
        json_decref(chain);
    }
    if (rc == OM_OK)
        rc = om_store_commit(t->s);
    if (rc) {
        om_store_rollback(t->s);
        rc = om_error_wrap(rc, "infinity: recording the limits of %s", type);
    } else {
        /* the logs row is written above, in the transaction: no second one through the log
         * sink (which a job's process has) */
        json_array_append(json_object_get(t->report, "adjustments"), adj);
    }
    json_decref(adj);
    json_decref(meta);
    free(mt);
    free(msg);
    return rc;
}

/* ---- the rules -------------------------------------------------------------------------- */

static int disk_rule(tick *t, wants *w, double *pressure)
{
    const om_config *cfg = t->cfg;
    const char *dir = om_config_media_dir(cfg);
    long min_mb = om_config_long(cfg, "media.min_free_mb");
    long margin = om_config_long(cfg, "infinity.disk_resume_margin_mb");
    const char *types = om_config_str(cfg, "infinity.download_types");
    double free_mb = -1;
    if (om_infinity_free_mb(dir, &free_mb) != OM_OK) {
        om_warn(INFINITY_BY, "%s", om_error_msg());
        om_error_clear();
        return OM_OK;
    }
    json_object_set_new(t->measures, "media_free_mb", json_real(floor(free_mb * 10) / 10));
    if (min_mb <= 0)
        return OM_OK;
    *pressure = (double)min_mb / (free_mb > 0.1 ? free_mb : 0.1);
    int stopped = rule_active(t, types, "disk");
    int low = free_mb < (double)min_mb || (stopped && free_mb < (double)(min_mb + margin));
    int rc = OM_OK;
    if (low) {
        char why[256];
        snprintf(why, sizeof(why), "disk: %.0f MiB free under the media dir, below %ld", free_mb,
                 stopped ? min_mb + margin : min_mb);
        want_csv(w, types, 0, 0, 0, why);
        json_t *ev = json_pack("{s:s, s:f, s:i, s:i, s:s}", "media_dir", dir, "free_mb", free_mb,
                               "min_free_mb", (int)min_mb, "resume_at_mb", (int)(min_mb + margin),
                               "stopped", types);
        char *msg = xasprintf("media dir %s has %.0f MiB free (media.min_free_mb %ld): downloads "
                              "(%s) stopped until %ld MiB are free",
                              dir, free_mb, min_mb, types, min_mb + margin);
        om_incident inc = {"disk_low", "error", "media_dir", dir, msg, ev, 1};
        rc = om_incident_raise(t->s, &inc, NULL, NULL);
        free(msg);
        json_decref(ev);
    } else {
        rc = om_incident_resolve_open(t->s, "disk_low", "media_dir", dir, INFINITY_BY, NULL);
    }
    return rc;
}

static int backpressure_rule(tick *t, wants *w, double *pressure)
{
    const om_config *cfg = t->cfg;
    const om_queue_stat *edit = stat_of(t, "edit");
    int64_t depth = edit ? edit->ready : 0;
    long high = om_config_long(cfg, "infinity.edit_depth_high");
    long low = om_config_long(cfg, "infinity.edit_depth_low");
    const char *types = om_config_str(cfg, "infinity.backpressure_types");
    *pressure = (double)depth / (double)high;
    int on = rule_active(t, types, "backpressure");
    if (depth >= high || (on && depth > low)) {
        char why[160];
        snprintf(why, sizeof(why), "backpressure: %lld edit jobs ready (high %ld, low %ld)",
                 (long long)depth, high, low);
        want_csv(w, types, -1, om_config_double(cfg, "infinity.backpressure_rate"),
                 om_config_double(cfg, "infinity.backpressure_burst"), why);
    }
    return OM_OK;
}

static void pressure_rule(tick *t, wants *w, double *pressure)
{
    const om_config *cfg = t->cfg;
    double load = loadavg_per_core(), mem = mem_available_mb();
    double load_high = om_config_double(cfg, "infinity.load_high");
    long mem_min = om_config_long(cfg, "infinity.mem_min_mb");
    json_object_set_new(t->measures, "load_per_core", json_real(floor(load * 100) / 100));
    json_object_set_new(t->measures, "mem_available_mb", json_real(floor(mem)));
    double p = load / load_high;
    if (mem_min > 0 && mem >= 0) {
        double pm = (double)mem_min / (mem > 1 ? mem : 1);
        if (pm > p)
            p = pm;
    }
    *pressure = p;
    char why[160] = "";
    if (load > load_high)
        snprintf(why, sizeof(why), "pressure: load %.2f per core above %.2f", load, load_high);
    else if (mem_min > 0 && mem >= 0 && mem < (double)mem_min)
        snprintf(why, sizeof(why), "pressure: %.0f MiB of memory available, below %ld", mem,
                 mem_min);
    if (*why)
        want_csv(w, om_config_str(cfg, "infinity.heavy_types"),
                 om_config_long(cfg, "infinity.heavy_concurrency"), 0, 0, why);
}

/* A failing renderer: pause edits (Eclipse's pause and incident) before they burn attempts. */
static int renderer_rule(tick *t, double *pressure)
{
    const om_config *cfg = t->cfg;
    const rate *r = NULL;
    for (size_t i = 0; i < t->nrates; i++)
        if (!strcmp(t->rates[i].type, "edit"))
            r = &t->rates[i];
    if (!r)
        return OM_OK;
    double total = (double)(r->ok + r->failed), fr = total > 0 ? (double)r->failed / total : 0;
    double limit = om_config_double(cfg, "infinity.render_failure_rate");
    *pressure = fr / limit;
    if (r->failed < om_config_long(cfg, "infinity.render_min_failures") || fr < limit)
        return OM_OK;
    om_queue_pause_info *p = NULL;
    size_t np = 0;
    int rc = om_queue_pauses(t->q, &p, &np);
    int paused = 0;
    for (size_t i = 0; rc == OM_OK && i < np; i++)
        paused |= !strcmp(p[i].type, "edit");
    om_queue_pauses_free(p, np);
    if (rc || paused)
        return rc;
    long probe_s = om_config_long(cfg, "infinity.render_probe_s");
    char *reason = xasprintf("infinity: %lld of %lld edits failed in the last %ld s (the "
                             "renderer is failing)",
                             (long long)r->failed, (long long)total,
                             om_config_long(cfg, "infinity.window_s"));
    rc = om_queue_pause(t->q, "edit", reason, probe_s * 1000);
    if (rc == OM_OK) {
        json_t *ev = json_pack("{s:s, s:I, s:I, s:f, s:I}", "decided_by", INFINITY_BY, "failed",
                               (json_int_t)r->failed, "succeeded", (json_int_t)r->ok, "rate", fr,
                               "probe_after_s", (json_int_t)probe_s);
        char *msg = xasprintf("job type edit paused: %s", reason);
        om_incident inc = {"job_type_paused", "error", "job_type", "edit", msg, ev, 1};
        rc = om_incident_raise(t->s, &inc, NULL, NULL);
        json_decref(ev);
        free(msg);
    }
    if (rc == OM_OK) {
        char id[OM_UUID_LEN];
        rc = om_store_exec(t->s,
                           "INSERT INTO logs (log_id, source, level, message, metadata, "
                           "created_at) VALUES (?, 'infinity', 'WARN', ?, ?, now())",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(reason), OM_JSON("{}")),
                           NULL);
        json_array_append_new(json_object_get(t->report, "paused"), json_string("edit"));
    }
    free(reason);
    return rc;
}

/* ---- the tick ----------------------------------------------------------------------------- */

static int same(const om_queue_limit *l, const want *x)
{
    return l->max_concurrency == x->conc && fabs(l->rate_per_s - x->rate) < 1e-9 &&
           (x->rate <= 0 || fabs(l->burst - x->burst) < 1e-9) && !strcmp(l->reason, x->reason);
}

/* The rule a reason came from ("disk: ..." -> "disk"), to compare decisions without their
 * changing figures. */
static int same_rules(const char *a, const char *b)
{
    static const char *const rules[] = {"disk:", "backpressure:", "pressure:"};
    for (size_t i = 0; i < OM_ARRAY_LEN(rules); i++)
        if ((strstr(a, rules[i]) != NULL) != (strstr(b, rules[i]) != NULL))
            return 0;
    return 1;
}

static int apply(tick *t, wants *w)
{
    int rc = OM_OK;
    for (size_t i = 0; rc == OM_OK && i < w->n; i++) {
        const want *x = &w->v[i];
        const om_queue_limit *l = limit_of(t, x->type);
        if (l && strcmp(l->set_by, INFINITY_BY) != 0)
            continue; /* an operator's limit wins */
        if (l && (same(l, x) || (l->max_concurrency == x->conc &&
                                 fabs(l->rate_per_s - x->rate) < 1e-9 &&
                                 same_rules(l->reason, x->reason))))
            continue;
        rc = record(t, x->type, x, x->conc == 0 ? "WARN" : "INFO");
    }
    /* our limits no rule wants any more */
    for (size_t i = 0; rc == OM_OK && i < t->nlimits; i++) {
        const om_queue_limit *l = &t->limits[i];
        if (strcmp(l->set_by, INFINITY_BY) != 0)
            continue;
        int wanted = 0;
        for (size_t k = 0; k < w->n && !wanted; k++)
            wanted = !strcmp(w->v[k].type, l->type);
        if (!wanted)
            rc = record(t, l->type, NULL, "INFO");
    }
    return rc;
}

int om_infinity_tick(om_store *s, om_queue *q, const om_config *cfg, json_t **report_out)
{
    OM_ASSERT(s && q && cfg && report_out);
    *report_out = NULL;
    tick t;
    memset(&t, 0, sizeof(t));
    t.s = s;
    t.q = q;
    t.cfg = cfg;
    t.report = json_pack("{s:[], s:[]}", "adjustments", "paused");
    t.measures = json_object();
    wants w = {NULL, 0};
    int rc = om_queue_stats(q, &t.st, &t.nst);
    if (rc == OM_OK)
        rc = om_queue_limits(q, &t.limits, &t.nlimits);
    int64_t window = om_config_long(cfg, "infinity.window_s") * 1000000LL;
    int64_t since = om_now_us() - window, resumed = 0;
    /* outcomes after the last resume of edits only: the failures that paused them are seen */
    if (rc == OM_OK)
        rc = om_incident_last_resolved(s, "job_type_paused", "job_type", "edit", &resumed);
    if (rc == OM_OK && resumed > since)
        since = resumed;
    if (rc == OM_OK)
        rc = read_rates(&t, since);
    json_t *types = json_object();
    for (size_t i = 0; rc == OM_OK && i < t.nst; i++) {
        const om_queue_stat *x = &t.st[i];
        json_t *o = json_pack("{s:I, s:I, s:I}", "ready", (json_int_t)x->ready, "delayed",
                              (json_int_t)x->delayed, "leased", (json_int_t)x->leased);
        if (x->ready)
            json_object_set_new(o, "oldest_ready_s",
                                json_real(floor(oldest_ready_s(&t, x->type) * 10) / 10));
        json_object_set_new(types, x->type, o);
    }
    for (size_t i = 0; rc == OM_OK && i < t.nrates; i++) {
        json_t *o = json_object_get(types, t.rates[i].type);
        if (!o) {
            o = json_object();
            json_object_set_new(types, t.rates[i].type, o);
        }
        int64_t tot = t.rates[i].ok + t.rates[i].failed;
        json_object_set_new(o, "failure_rate",
                            json_real(tot ? (double)t.rates[i].failed / (double)tot : 0));
    }
    json_object_set_new(t.measures, "types", types);
    double p_disk = 0, p_edit = 0, p_load = 0, p_render = 0;
    if (rc == OM_OK)
        rc = disk_rule(&t, &w, &p_disk);
    if (rc == OM_OK)
        rc = backpressure_rule(&t, &w, &p_edit);
    if (rc == OM_OK)
        pressure_rule(&t, &w, &p_load);
    if (rc == OM_OK)
        rc = renderer_rule(&t, &p_render);
    double score = p_disk;
    if (p_edit > score)
        score = p_edit;
    if (p_load > score)
        score = p_load;
    if (p_render > score)
        score = p_render;
    json_object_set_new(t.measures, "score", json_real(floor(score * 1000) / 1000));
    json_object_set_new(t.report, "score", json_real(floor(score * 1000) / 1000));
    if (rc == OM_OK)
        rc = apply(&t, &w);
    json_object_set(t.report, "measures", t.measures);
    json_decref(t.measures);
    free(w.v);
    free(t.st);
    free(t.rates);
    om_queue_limits_free(t.limits, t.nlimits);
    if (rc) {
        json_decref(t.report);
        return om_error_wrap(rc, "infinity tick");
    }
    *report_out = t.report;
    return OM_OK;
}
