/*
 * paradox.c: Paradox's invariants, one function per check in a table, each appending its
 * violations; om_paradox_run opens the read-only connection, runs the table, raises one
 * incident per (kind, entity) and writes the sweep's `logs` row. See paradox.h.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "ledger/anchor.h"
#include "ledger/stardust.h"
#include "media/mstore.h"
#include "oversight/incidents.h"
#include "oversight/paradox.h"
#include "runtime/runtime.h"
#include "runtime/worker.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define PX_ROWS_MAX 100 /* violations one query reports at most per sweep (the rest next time) */

typedef struct px {
    om_store *s;          /* what the checks read through (the read-only connection on PG) */
    om_queue *q;          /* may be NULL */
    const om_config *cfg;
    const char *home;
    int64_t last_sweep_us; /* 0: never swept */
    char last_sweep[OM_TIME_LEN];
    json_t *violations;   /* [{kind, severity, entity_type, entity_id, message, evidence}] */
    json_t *checks;       /* [{kind, violations, note?}] */
    int64_t files_checked, files_hashed;
    const char *note;     /* the running check's note (static storage), "" for none */
    om_mstore *ms;        /* opened by the files check for s3:// rows; NULL otherwise */
} px;

static void violation(px *x, const char *kind, const char *severity, const char *etype,
                      const char *eid, json_t *evidence, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Records a violation; evidence (may be NULL) is consumed. */
static void violation(px *x, const char *kind, const char *severity, const char *etype,
                      const char *eid, json_t *evidence, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", kind, "severity", severity,
                          "entity_type", etype, "entity_id", eid ? eid : "", "message", msg);
    json_object_set_new(v, "evidence", evidence ? evidence : json_object());
    json_array_append_new(x->violations, v);
    free(msg);
}

static const char *row(const om_rows *r, size_t i, const char *col)
{
    const char *v = om_rows_getn(r, i, col);
    return v ? v : "";
}

/* ---- clip times ---------------------------------------------------------------------- */

static int check_clip_times(px *x)
{
    om_rows *r = NULL;
    int rc = om_store_query(
        x->s,
        "SELECT c.clip_id, c.video_id, c.start_time, c.end_time, v.duration_seconds "
        "FROM clips c LEFT JOIN videos v ON v.video_id = c.video_id "
        "WHERE c.start_time < 0 OR c.end_time <= c.start_time OR "
        "(v.duration_seconds IS NOT NULL AND c.end_time > v.duration_seconds + 0.55) "
        "ORDER BY c.clip_id LIMIT 100",
        NULL, 0, &r);
    if (rc)
        return rc;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        double st = om_rows_real(r, i, "start_time", 0), en = om_rows_real(r, i, "end_time", 0);
        const char *dur = om_rows_getn(r, i, "duration_seconds");
        const char *why = st < 0 ? "starts before 0" : en <= st ? "ends before it starts"
                                                             : "ends after its video";
        json_t *ev = json_pack("{s:s, s:f, s:f}", "video_id", row(r, i, "video_id"),
                               "start_time", st, "end_time", en);
        if (dur)
            json_object_set_new(ev, "video_duration_seconds", json_integer(strtoll(dur, NULL, 10)));
        violation(x, "clip_time_invalid", "error", "clips", row(r, i, "clip_id"), ev,
                  "clip %s %s (%.2f-%.2f s%s%s)", row(r, i, "clip_id"), why, st, en,
                  dur ? ", video " : "", dur ? dur : "");
    }
    om_rows_free(r);
    return OM_OK;
}

/* ---- orphans ------------------------------------------------------------------------- */

typedef struct fk {
    const char *child, *id, *col, *parent, *pcol;
} fk;

/* The foreign keys of the schema (migrations.c); id: the child row's key as text. */
static const fk fks[] = {
    {"project_creators", "CAST(c.project_id AS TEXT) || '/' || CAST(c.creator_id AS TEXT)",
     "project_id", "projects", "project_id"},
    {"project_creators", "CAST(c.project_id AS TEXT) || '/' || CAST(c.creator_id AS TEXT)",
     "creator_id", "creators", "creator_id"},
    {"posts", "c.post_id", "creator_id", "creators", "creator_id"},
    {"videos", "c.video_id", "post_id", "posts", "post_id"},
    {"analysis", "c.analysis_id", "video_id", "videos", "video_id"},
    {"clips", "c.clip_id", "video_id", "videos", "video_id"},
    {"clips", "c.clip_id", "analysis_id", "analysis", "analysis_id"},
    {"edit_jobs", "c.edit_job_id", "clip_id", "clips", "clip_id"},
    {"upload_jobs", "c.upload_job_id", "clip_id", "clips", "clip_id"},
    {"schedules", "c.schedule_id", "clip_id", "clips", "clip_id"},
};

/* Tables an artifact (or a job payload key) may name, with their key column. */
typedef struct entity_table {
    const char *table, *pk, *payload_key;
} entity_table;

static const entity_table entity_tables[] = {
    {"projects", "project_id", "project_id"},   {"creators", "creator_id", "creator_id"},
    {"posts", "post_id", "post_id"},            {"videos", "video_id", "video_id"},
    {"analysis", "analysis_id", "analysis_id"}, {"clips", "clip_id", "clip_id"},
    {"edit_jobs", "edit_job_id", "edit_job_id"}, {"upload_jobs", "upload_job_id", "upload_job_id"},
    {"schedules", "schedule_id", "schedule_id"},
};

static int check_orphan_rows(px *x)
{
    for (size_t k = 0; k < OM_ARRAY_LEN(fks); k++) {
        const fk *f = &fks[k];
        char *sql = xasprintf("SELECT %s AS id, CAST(c.%s AS TEXT) AS ref FROM %s c "
                              "LEFT JOIN %s p ON p.%s = c.%s WHERE c.%s IS NOT NULL AND "
                              "p.%s IS NULL ORDER BY 1 LIMIT %d",
                              f->id, f->col, f->child, f->parent, f->pcol, f->col, f->col,
                              f->pcol, PX_ROWS_MAX);
        om_rows *r = NULL;
        int rc = om_store_query(x->s, sql, NULL, 0, &r);
        free(sql);
        if (rc)
            return rc;
        for (size_t i = 0; i < om_rows_count(r); i++)
            violation(x, "orphan_row", "error", f->child, row(r, i, "id"),
                      json_pack("{s:s, s:s, s:s}", "column", f->col, "references", f->parent,
                                "missing", row(r, i, "ref")),
                      "%s %s: %s %s does not exist", f->child, row(r, i, "id"), f->col,
                      row(r, i, "ref"));
        om_rows_free(r);
    }
    for (size_t k = 0; k < OM_ARRAY_LEN(entity_tables); k++) {
        const entity_table *t = &entity_tables[k];
        char *sql = xasprintf("SELECT a.artifact_id, a.kind, a.path, CAST(a.entity_id AS TEXT) "
                              "AS ref FROM artifacts a LEFT JOIN %s p ON p.%s = a.entity_id "
                              "WHERE a.entity_type = ? AND a.entity_id IS NOT NULL AND p.%s "
                              "IS NULL ORDER BY a.artifact_id LIMIT %d",
                              t->table, t->pk, t->pk, PX_ROWS_MAX);
        om_rows *r = NULL;
        int rc = om_store_query(x->s, sql, OM_PARAMS(OM_TEXT(t->table)), &r);
        free(sql);
        if (rc)
            return rc;
        for (size_t i = 0; i < om_rows_count(r); i++)
            violation(x, "orphan_row", "error", "artifacts", row(r, i, "artifact_id"),
                      json_pack("{s:s, s:s, s:s, s:s}", "kind", row(r, i, "kind"), "path",
                                row(r, i, "path"), "references", t->table, "missing",
                                row(r, i, "ref")),
                      "artifact %s (%s %s) names %s %s, which does not exist",
                      row(r, i, "artifact_id"), row(r, i, "kind"), row(r, i, "path"), t->table,
                      row(r, i, "ref"));
        om_rows_free(r);
    }
    return OM_OK;
}

/* 1 when the row exists; memoised in `seen` ({"table/id": true|false}). */
static int row_exists(px *x, json_t *seen, const entity_table *t, const char *id, int *out)
{
    char *key = xasprintf("%s/%s", t->table, id);
    json_t *v = json_object_get(seen, key);
    if (v) {
        *out = json_is_true(v);
        free(key);
        return OM_OK;
    }
    char *sql = xasprintf("SELECT count(*) FROM %s WHERE %s = ?", t->table, t->pk);
    char *n = NULL;
    int rc = om_store_query_value(x->s, sql, OM_PARAMS(OM_TEXT(id)), &n);
    free(sql);
    if (rc == OM_OK) {
        *out = n && strcmp(n, "0") != 0;
        json_object_set_new(seen, key, json_boolean(*out));
    }
    free(n);
    free(key);
    return rc;
}

static int check_orphan_jobs(px *x)
{
    if (!x->q) {
        x->note = "no queue: skipped";
        return OM_OK;
    }
    static const char *const states[] = {"ready", "delayed", "leased", "dead"};
    json_t *seen = json_object();
    int rc = OM_OK;
    for (size_t si = 0; rc == OM_OK && si < OM_ARRAY_LEN(states); si++) {
        om_queue_filter f = {states[si], NULL, (size_t)om_config_long(x->cfg, "paradox.job_scan")};
        om_job_list l = {NULL, 0};
        rc = om_queue_list(x->q, &f, &l);
        for (size_t i = 0; rc == OM_OK && i < l.n; i++) {
            const om_job *j = &l.jobs[i];
            json_t *p = json_loads(j->payload ? j->payload : "{}", 0, NULL);
            json_t *missing = json_object();
            for (size_t k = 0; rc == OM_OK && k < OM_ARRAY_LEN(entity_tables); k++) {
                const char *id =
                    json_string_value(json_object_get(p, entity_tables[k].payload_key));
                int exists = 1;
                if (id && om_uuid_valid(id))
                    rc = row_exists(x, seen, &entity_tables[k], id, &exists);
                if (rc == OM_OK && !exists)
                    json_object_set_new(missing, entity_tables[k].payload_key, json_string(id));
            }
            if (rc == OM_OK && json_object_size(missing)) {
                char *names = json_dumps(missing, JSON_COMPACT | JSON_SORT_KEYS);
                violation(x, "orphan_job", "error", "jobs", j->id,
                          json_pack("{s:s, s:s, s:O}", "job_type", j->type, "state", j->state,
                                    "missing", missing),
                          "%s job %s (%s) names rows that do not exist: %s", j->type, j->id,
                          j->state, names);
                free(names);
            }
            json_decref(missing);
            json_decref(p);
        }
        om_job_list_free(&l);
    }
    json_decref(seen);
    return rc;
}

/* ---- state transitions --------------------------------------------------------------- */

static int state_name_ok(const char *s, size_t n)
{
    if (n == 0 || !isupper((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' &&
            s[i] != '-')
            return 0;
    return 1;
}

/* "A -> B" or "A -> B: why" into from/to; 0 when the line is not a transition. */
static int parse_transition(const char *msg, char *from, size_t fn, char *to, size_t tn)
{
    const char *arrow = strstr(msg, " -> ");
    if (!arrow)
        return 0;
    size_t a = (size_t)(arrow - msg);
    const char *t = arrow + 4;
    size_t b = strcspn(t, ":");
    if (!state_name_ok(msg, a) || !state_name_ok(t, b) || a >= fn || b >= tn)
        return 0;
    memcpy(from, msg, a);
    from[a] = '\0';
    memcpy(to, t, b);
    to[b] = '\0';
    return 1;
}

/* The next state after `from` in the stage's declared steps ("DONE" after the last), or
 * NULL when `from` is not one of its states. */
static const char *next_state(const om_stage *st, const char *from)
{
    for (size_t i = 0; st->steps[i].state; i++)
        if (!strcmp(st->steps[i].state, from))
            return st->steps[i + 1].state ? st->steps[i + 1].state : "DONE";
    return NULL;
}

static int legal(const om_stage *st, const char *from, const char *to)
{
    if (!strcmp(to, "ERROR"))
        return 1;
    if (st) {
        const char *n = next_state(st, from);
        return n && !strcmp(n, to);
    }
    /* type unknown (job gone from the queue): any stage that declares the edge */
    for (size_t i = 0; i < om_runtime_count(); i++) {
        const char *n = next_state(om_runtime_at(i), from);
        if (n && !strcmp(n, to))
            return 1;
    }
    return 0;
}

static json_t *legal_next(const om_stage *st, const char *from)
{
    json_t *a = json_array();
    const char *n = st ? next_state(st, from) : NULL;
    if (n)
        json_array_append_new(a, json_string(n));
    json_array_append_new(a, json_string("ERROR"));
    return a;
}

static int check_transitions(px *x)
{
    om_rows *r = NULL;
    int rc = om_store_query(x->s,
                            "SELECT job_id, attempt, state, message, created_at FROM job_logs "
                            "WHERE message LIKE '% -> %' ORDER BY created_at DESC LIMIT ?",
                            OM_PARAMS(OM_INT(om_config_long(x->cfg, "paradox.log_scan"))),
                            &r);
    if (rc)
        return rc;
    json_t *types = json_object(); /* job id -> type ("" when unknown) */
    json_t *flagged = json_object();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        char from[40], to[40];
        const char *job_id = row(r, i, "job_id"), *state = om_rows_getn(r, i, "state");
        if (!parse_transition(row(r, i, "message"), from, sizeof(from), to, sizeof(to)))
            continue;
        if (state && *state && strcmp(state, to) != 0)
            continue; /* a note that happens to contain an arrow */
        json_t *tv = json_object_get(types, job_id);
        if (!tv) {
            om_job j;
            memset(&j, 0, sizeof(j));
            int grc = x->q ? om_queue_get(x->q, job_id, &j) : OM_ENOTFOUND;
            if (grc == OM_OK) {
                tv = json_string(j.type);
                om_job_release(&j);
            } else if (grc == OM_ENOTFOUND) {
                om_error_clear();
                tv = json_string("");
            } else {
                rc = grc;
                break;
            }
            json_object_set_new(types, job_id, tv);
        }
        const char *type = json_string_value(tv);
        const om_stage *st = type[0] ? om_runtime_find(type) : NULL;
        if (legal(st, from, to))
            continue;
        char *key = xasprintf("%s %s %s", job_id, from, to);
        if (!json_object_get(flagged, key)) {
            json_object_set_new(flagged, key, json_true());
            violation(x, "illegal_transition", "error", "jobs", job_id,
                      json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "job_type",
                                type[0] ? type : "(unknown)", "from", from, "to", to, "at",
                                row(r, i, "created_at"), "legal_next", legal_next(st, from),
                                "declared_by", st ? "the stage's steps" : "any registered stage"),
                      "%s job %s moved %s -> %s, which its stage does not declare",
                      type[0] ? type : "(unknown type)", job_id, from, to);
        }
        free(key);
    }
    json_decref(flagged);
    json_decref(types);
    om_rows_free(r);
    return rc;
}

/* ---- checksums ----------------------------------------------------------------------- */

static int check_checksums(px *x)
{
    om_rows *r = NULL;
    int rc = om_store_query(x->s,
                            "SELECT checksum, count(*) AS n FROM videos GROUP BY checksum "
                            "HAVING count(*) > 1 ORDER BY checksum LIMIT 100",
                            NULL, 0, &r);
    if (rc)
        return rc;
    for (size_t i = 0; i < om_rows_count(r); i++)
        violation(x, "checksum_duplicate", "error", "videos.checksum", row(r, i, "checksum"),
                  json_pack("{s:I}", "videos", (json_int_t)om_rows_int(r, i, "n", 0)),
                  "%s videos share the checksum %s", row(r, i, "n"), row(r, i, "checksum"));
    om_rows_free(r);
    rc = om_store_query(x->s,
                        "SELECT kind, checksum, count(DISTINCT entity_id) AS n FROM artifacts "
                        "WHERE checksum IS NOT NULL AND kind IN ('source_media', 'render', "
                        "'export') GROUP BY kind, checksum HAVING count(DISTINCT entity_id) > 1 "
                        "ORDER BY kind, checksum LIMIT 100",
                        NULL, 0, &r);
    if (rc)
        return rc;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        char *et = xasprintf("artifacts.%s", row(r, i, "kind"));
        violation(x, "checksum_duplicate", "error", et, row(r, i, "checksum"),
                  json_pack("{s:s, s:I}", "kind", row(r, i, "kind"), "entities",
                            (json_int_t)om_rows_int(r, i, "n", 0)),
                  "%s artifacts of %s different entities share the checksum %s",
                  row(r, i, "kind"), row(r, i, "n"), row(r, i, "checksum"));
        free(et);
    }
    om_rows_free(r);
    return OM_OK;
}

/* ---- published clips ----------------------------------------------------------------- */

static int check_published(px *x)
{
    om_rows *r = NULL;
    int rc = om_store_query(
        x->s,
        "SELECT c.clip_id, "
        "(SELECT count(*) FROM artifacts a WHERE a.kind = 'render' AND a.entity_id = c.clip_id)"
        " AS renders, "
        "(SELECT count(*) FROM edit_jobs e WHERE e.clip_id = c.clip_id AND e.status = 'DONE')"
        " AS edit_jobs, "
        "(SELECT count(*) FROM schedules s WHERE s.clip_id = c.clip_id) AS schedules, "
        "(SELECT count(*) FROM upload_jobs u WHERE u.clip_id = c.clip_id AND u.status = 'DONE')"
        " AS uploads, "
        "(SELECT count(*) FROM stardust_metadata m WHERE m.entity_type = 'clips' AND "
        " m.entity_id = c.clip_id) AS clip_packets, "
        "(SELECT count(*) FROM stardust_metadata m JOIN schedules s ON m.entity_type = "
        " 'schedules' AND m.entity_id = s.schedule_id WHERE s.clip_id = c.clip_id)"
        " AS schedule_packets, "
        "(SELECT count(*) FROM stardust_metadata m JOIN upload_jobs u ON m.entity_type = "
        " 'upload_jobs' AND m.entity_id = u.upload_job_id WHERE u.clip_id = c.clip_id AND "
        " u.status = 'DONE') AS upload_packets "
        "FROM clips c WHERE c.status = 'PUBLISHED' ORDER BY c.clip_id",
        NULL, 0, &r);
    if (rc)
        return rc;
    static const struct {
        const char *col, *what;
        int64_t need;
    } parts[] = {
        {"renders", "render artifact", 1},
        {"edit_jobs", "finished edit job", 1},
        {"schedules", "schedule", 1},
        {"uploads", "finished upload job", 1},
        {"clip_packets", "ledger packets of its selection and edit", 2},
        {"schedule_packets", "ledger packet of its schedule", 1},
        {"upload_packets", "ledger packet of its upload", 1},
    };
    for (size_t i = 0; i < om_rows_count(r); i++) {
        json_t *missing = json_array();
        om_sbuf sb = OM_SBUF_INIT;
        for (size_t k = 0; k < OM_ARRAY_LEN(parts); k++)
            if (om_rows_int(r, i, parts[k].col, 0) < parts[k].need) {
                json_array_append_new(missing, json_string(parts[k].col));
                sb_printf(&sb, "%s%s", sb.len ? ", " : "", parts[k].what);
            }
        if (json_array_size(missing)) {
            json_t *ev = json_pack("{s:O}", "missing", missing);
            for (size_t k = 0; k < OM_ARRAY_LEN(parts); k++)
                json_object_set_new(ev, parts[k].col,
                                    json_integer((json_int_t)om_rows_int(r, i, parts[k].col, 0)));
            violation(x, "published_incomplete", "error", "clips", row(r, i, "clip_id"), ev,
                      "published clip %s lacks: %s", row(r, i, "clip_id"), sb_str(&sb));
        }
        sb_release(&sb);
        json_decref(missing);
    }
    om_rows_free(r);
    return OM_OK;
}

/* ---- files --------------------------------------------------------------------------- */

typedef struct fcand {
    const char *etype, *eid, *checksum; /* borrowed from the rows */
    char *path;                         /* resolved, or the s3:// row itself */
    int changed;
    int remote; /* an object of the bucket: fetched to a temp file and hashed */
} fcand;

static char *resolve_path(const px *x, const char *p)
{
    if (!strncmp(p, "file://", 7))
        p += 7;
    if (p[0] == '/' || !x->home)
        return xstrdup(p);
    return xasprintf("%s/%s", x->home, p);
}

static void hash_and_compare(px *x, json_t *hashes, const fcand *c)
{
    json_t *h = json_object_get(hashes, c->path);
    if (!h) {
        char sum[OM_SHA256_HEX_LEN];
        char *local = NULL; /* the bucket's bytes now, not a cache copy of what they were */
        int hrc = OM_OK;
        if (c->remote) {
            local = xasprintf("%s/omniva-paradox-%d.tmp", om_tmpdir(), (int)getpid());
            hrc = om_mstore_get(x->ms, c->path, local, NULL);
        }
        if (hrc == OM_OK)
            hrc = om_sha256_file(local ? local : c->path, sum);
        if (local)
            unlink(local);
        free(local);
        if (hrc != OM_OK) {
            om_error_clear();
            snprintf(sum, sizeof(sum), "unreadable");
        }
        x->files_hashed++;
        h = json_string(sum);
        json_object_set_new(hashes, c->path, h);
    }
    const char *got = json_string_value(h);
    if (strcmp(got, c->checksum) != 0)
        violation(x, "file_checksum_mismatch", "error", c->etype, c->eid,
                  json_pack("{s:s, s:s, s:s}", "path", c->path, "recorded", c->checksum,
                            "actual", got),
                  "%s %s: %s hashes to %s, recorded %s", c->etype, c->eid, c->path, got,
                  c->checksum);
}

static int check_files(px *x)
{
    om_rows *r = NULL;
    int rc = om_store_query(x->s,
                            "SELECT 'videos' AS etype, CAST(video_id AS TEXT) AS eid, file_path "
                            "AS path, checksum FROM videos UNION ALL SELECT 'artifacts', "
                            "CAST(artifact_id AS TEXT), path, checksum FROM artifacts WHERE "
                            "checksum IS NOT NULL AND kind <> 'selftest' ORDER BY 1, 2",
                            NULL, 0, &r);
    if (rc)
        return rc;
    size_t n = om_rows_count(r), nc = 0;
    fcand *c = n ? xcalloc(n, sizeof(*c)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *path = om_rows_get(r, i, 2);
        if (!path)
            continue;
        fcand *f = &c[nc];
        f->etype = row(r, i, "etype");
        f->eid = row(r, i, "eid");
        f->checksum = row(r, i, "checksum");
        if (om_mstore_row_is_remote(path)) { /* the bucket: its stat, then its bytes */
            om_mstat mst;
            int src = x->ms ? OM_OK : om_mstore_open(&x->ms, x->cfg);
            if (src == OM_OK)
                src = om_mstore_stat(x->ms, path, &mst);
            x->files_checked++;
            if (src != OM_OK) {
                const char *why = src == OM_ENOTFOUND ? "no such object" : om_error_msg();
                violation(x, "file_missing", "error", f->etype, f->eid,
                          json_pack("{s:s, s:s, s:s}", "path", path, "recorded", f->checksum,
                                    "error", why),
                          "%s %s: %s is missing (%s)", f->etype, f->eid, path, why);
                om_error_clear();
                continue;
            }
            f->path = xstrdup(path);
            f->remote = 1;
            f->changed = !x->last_sweep_us || !mst.mtime_us || mst.mtime_us >= x->last_sweep_us;
            nc++;
            continue;
        }
        f->path = resolve_path(x, path);
        struct stat sb;
        x->files_checked++;
        if (stat(f->path, &sb) != 0) {
            violation(x, "file_missing", "error", f->etype, f->eid,
                      json_pack("{s:s, s:s, s:s}", "path", f->path, "recorded", f->checksum,
                                "error", strerror(errno)),
                      "%s %s: %s is missing (%s)", f->etype, f->eid, f->path, strerror(errno));
            free(f->path);
            continue;
        }
        int64_t mtime = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
        f->changed = !x->last_sweep_us || mtime >= x->last_sweep_us;
        nc++;
    }
    /* files with an open mismatch incident are hashed again every sweep (found again: the
     * incident's count grows; fixed: nothing is raised) */
    om_rows *open = NULL;
    rc = om_store_query(x->s,
                        "SELECT entity_type, entity_id FROM incidents WHERE kind = "
                        "'file_checksum_mismatch' AND resolved_at IS NULL",
                        NULL, 0, &open);
    if (rc) {
        for (size_t i = 0; i < nc; i++)
            free(c[i].path);
        free(c);
        om_rows_free(r);
        return rc;
    }
    for (size_t i = 0; i < nc; i++)
        for (size_t k = 0; k < om_rows_count(open); k++)
            if (!strcmp(c[i].etype, row(open, k, "entity_type")) &&
                !strcmp(c[i].eid, row(open, k, "entity_id")))
                c[i].changed = 1;
    om_rows_free(open);
    int64_t budget = om_config_long(x->cfg, "paradox.file_max");
    json_t *hashes = json_object();
    size_t *rest = nc ? xcalloc(nc, sizeof(*rest)) : NULL, nrest = 0;
    for (size_t i = 0; i < nc; i++) {
        if (c[i].changed && x->files_hashed < budget)
            hash_and_compare(x, hashes, &c[i]);
        else if (!c[i].changed)
            rest[nrest++] = i;
    }
    /* a random sample of the unchanged ones (partial Fisher-Yates) */
    int64_t sample = om_config_long(x->cfg, "paradox.file_sample");
    for (size_t k = 0; k < nrest && (int64_t)k < sample && x->files_hashed < budget; k++) {
        uint32_t rnd;
        om_random_bytes(&rnd, sizeof(rnd));
        size_t j = k + rnd % (nrest - k);
        size_t t = rest[k];
        rest[k] = rest[j];
        rest[j] = t;
        hash_and_compare(x, hashes, &c[rest[k]]);
    }
    free(rest);
    json_decref(hashes);
    for (size_t i = 0; i < nc; i++)
        free(c[i].path);
    free(c);
    om_rows_free(r);
    om_mstore_free(x->ms); /* and the cache copies it held */
    x->ms = NULL;
    return OM_OK;
}

/* ---- the ledger ---------------------------------------------------------------------- */

static int check_ledger(px *x)
{
    om_stardust_report rep;
    int rc = om_stardust_verify(x->s, &rep);
    if (rc)
        return rc;
    if (!rep.ok)
        violation(x, "ledger_broken", "critical", "ledger", "stardust_metadata",
                  json_pack("{s:I, s:I, s:s, s:s, s:I, s:s}", "packets_verified",
                            (json_int_t)rep.packets, "bad_seq", (json_int_t)rep.bad_seq,
                            "bad_id", rep.bad_id, "reason", rep.reason, "head_packets",
                            (json_int_t)rep.head_packets, "head_hash", rep.head_hash),
                  "the Stardust ledger does not verify at seq %lld: %s", (long long)rep.bad_seq,
                  rep.reason);
    const char *anchor_path = om_config_str(x->cfg, "paradox.anchor");
    if (!anchor_path || !*anchor_path || access(anchor_path, F_OK) != 0) {
        x->note = "no anchor file: chain and head only";
        return OM_OK;
    }
    char *text = NULL;
    size_t len = 0;
    json_t *anchor = NULL;
    char *why = NULL;
    if (om_read_file(anchor_path, 1 << 20, &text, &len) != OM_OK)
        why = xasprintf("cannot read the anchor: %s", om_error_msg());
    else if (!(anchor = json_loads(text, 0, NULL)))
        why = xstrdup("the anchor file is not JSON");
    if (!why) {
        char *pub = xasprintf("%s/keys/%s", x->home ? x->home : ".", OM_ANCHOR_PUB_FILE);
        om_anchor_report arep;
        rc = om_anchor_verify(x->s, anchor, pub, &arep);
        if (rc < 0)
            why = xasprintf("cannot check the anchor: %s", om_error_msg());
        else if (!arep.ok)
            why = xstrdup(arep.reason);
        free(pub);
        rc = OM_OK;
        om_error_clear();
    }
    if (why)
        violation(x, "ledger_anchor_mismatch", "critical", "ledger", "anchor",
                  json_pack("{s:s, s:s}", "anchor", anchor_path, "reason", why),
                  "the ledger does not extend the anchor %s: %s", anchor_path, why);
    free(why);
    json_decref(anchor);
    free(text);
    return OM_OK;
}

/* ---- the run ------------------------------------------------------------------------- */

typedef struct px_check {
    const char *name; /* the check's name in the report; its incident kinds in paradox.h */
    int (*run)(px *x);
} px_check;

static const px_check checks[] = {
    {"clip_times", check_clip_times},     {"orphan_rows", check_orphan_rows},
    {"orphan_jobs", check_orphan_jobs},   {"transitions", check_transitions},
    {"checksums", check_checksums},       {"published", check_published},
    {"files", check_files},               {"ledger", check_ledger},
};

/* On PostgreSQL: a connection as paradox.role when the login role may take it (*ro_out,
 * NULL otherwise); role_out says who the checks run as. */
static int connect_ro(om_store *s, const om_config *cfg, om_store **ro_out, char **role_out)
{
    *ro_out = NULL;
    if (strcmp(om_store_dialect(s), "postgres") != 0) {
        *role_out = xstrdup("sqlite (no roles)");
        return OM_OK;
    }
    char *login = NULL;
    int rc = om_store_query_value(s, "SELECT CAST(current_user AS TEXT)", NULL, 0, &login);
    if (rc)
        return om_error_wrap(rc, "paradox: reading the login role");
    const char *role = om_config_str(cfg, "paradox.role");
    if (!role || !*role) {
        *role_out = xasprintf("%s (paradox.role is empty)", login);
        free(login);
        return OM_OK;
    }
    rc = om_store_open_role(ro_out, s, role);
    if (rc == OM_EPERMANENT) { /* missing, or not ours to take: run as the login role */
        *role_out = xasprintf("%s (read-only role unavailable: %s)", login, om_error_msg());
        rc = OM_OK;
    } else if (rc == OM_OK) {
        *role_out = xstrdup(role);
    } else {
        rc = om_error_wrap(rc, "paradox.role");
    }
    free(login);
    return rc;
}

static int last_sweep(px *x)
{
    char *v = NULL;
    int rc = om_store_query_value(x->s,
                                  "SELECT max(created_at) FROM logs WHERE source = 'paradox' "
                                  "AND message LIKE 'paradox sweep:%'",
                                  NULL, 0, &v);
    if (rc == OM_ENOTFOUND)
        return OM_OK;
    if (rc)
        return rc;
    if (v && om_time_parse(v, &x->last_sweep_us) == OM_OK)
        snprintf(x->last_sweep, sizeof(x->last_sweep), "%s", v);
    free(v);
    return OM_OK;
}

static int raise_all(px *x, json_t *report)
{
    int64_t created_n = 0, bumped = 0;
    json_t *seen = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(x->violations, i, v)
    {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *et = json_string_value(json_object_get(v, "entity_type"));
        const char *eid = json_string_value(json_object_get(v, "entity_id"));
        char *key = xasprintf("%s\n%s\n%s", kind, et, eid);
        json_t *prev = json_object_get(seen, key);
        if (prev) { /* the same (kind, entity) twice in one sweep: one incident */
            json_object_set(v, "incident_id", json_object_get(prev, "incident_id"));
            json_object_set_new(v, "new", json_false());
            free(key);
            continue;
        }
        om_incident inc = {kind, json_string_value(json_object_get(v, "severity")), et, eid,
                           json_string_value(json_object_get(v, "message")),
                           json_object_get(v, "evidence"), 1};
        char id[OM_UUID_LEN];
        int created = 0;
        int rc = om_incident_raise(x->s, &inc, id, &created);
        if (rc) {
            free(key);
            json_decref(seen);
            return rc;
        }
        created ? created_n++ : bumped++;
        json_object_set_new(v, "incident_id", json_string(id));
        json_object_set_new(v, "new", json_boolean(created));
        json_object_set(seen, key, v);
        free(key);
    }
    json_decref(seen);
    json_object_set_new(report, "incidents_new", json_integer((json_int_t)created_n));
    json_object_set_new(report, "incidents_bumped", json_integer((json_int_t)bumped));
    return OM_OK;
}

static int log_sweep(px *x, json_t *report)
{
    json_t *meta = json_pack("{s:O, s:O, s:O, s:O, s:O}", "checks", json_object_get(report, "checks"),
                             "incidents_new", json_object_get(report, "incidents_new"),
                             "incidents_bumped", json_object_get(report, "incidents_bumped"),
                             "files_hashed", json_object_get(report, "files_hashed"), "role",
                             json_object_get(report, "role"));
    char *mt = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
    char id[OM_UUID_LEN];
    size_t nv = json_array_size(x->violations);
    char *msg = xasprintf("paradox sweep: %zu check%s, %zu violation%s", OM_ARRAY_LEN(checks),
                          OM_ARRAY_LEN(checks) == 1 ? "" : "s", nv, nv == 1 ? "" : "s");
    int rc = om_store_exec(x->s,
                           "INSERT INTO logs (log_id, source, level, message, metadata, "
                           "created_at) VALUES (?, 'paradox', ?, ?, ?, now())",
                           OM_PARAMS(OM_TEXT(om_uuid4(id)), OM_TEXT(nv ? "WARN" : "INFO"),
                                     OM_TEXT(msg), OM_JSON(mt)),
                           NULL);
    free(msg);
    free(mt);
    return rc;
}

int om_paradox_run(om_store *s, om_queue *q, const om_config *cfg, json_t **report_out)
{
    OM_ASSERT(s && cfg && report_out);
    *report_out = NULL;
    om_store *ro = NULL;
    char *role = NULL;
    int rc = connect_ro(s, cfg, &ro, &role);
    if (rc)
        return rc;
    px x;
    memset(&x, 0, sizeof(x));
    x.s = ro ? ro : s;
    x.q = q;
    x.cfg = cfg;
    x.home = om_config_home(cfg);
    x.violations = json_array();
    x.checks = json_array();
    json_t *report = json_object();
    json_object_set_new(report, "role", json_string(role));
    free(role);
    rc = last_sweep(&x);
    for (size_t i = 0; rc == OM_OK && i < OM_ARRAY_LEN(checks); i++) {
        size_t before = json_array_size(x.violations);
        x.note = "";
        rc = checks[i].run(&x);
        if (rc) {
            rc = om_error_wrap(rc, "paradox: check %s", checks[i].name);
            break;
        }
        json_t *c = json_pack("{s:s, s:I}", "check", checks[i].name, "violations",
                              (json_int_t)(json_array_size(x.violations) - before));
        if (x.note[0])
            json_object_set_new(c, "note", json_string(x.note));
        json_array_append_new(x.checks, c);
    }
    json_object_set_new(report, "checks", x.checks);
    json_object_set_new(report, "violations", x.violations);
    json_object_set_new(report, "files_checked", json_integer((json_int_t)x.files_checked));
    json_object_set_new(report, "files_hashed", json_integer((json_int_t)x.files_hashed));
    json_object_set_new(report, "last_sweep",
                        x.last_sweep_us ? json_string(x.last_sweep) : json_null());
    if (rc == OM_OK)
        rc = raise_all(&x, report);
    if (rc == OM_OK)
        rc = log_sweep(&x, report);
    om_store_free(ro);
    if (rc) {
        json_decref(report);
        return rc;
    }
    *report_out = report;
    return OM_OK;
}
