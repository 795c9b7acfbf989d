/* halolux.c: per-clip explanations from the store and the Stardust ledger (see halolux.h). */
#include "base/common.h"

#include <math.h>

#include "base/utf8.h"
#include "cognition/tz.h"
#include "ledger/stardust.h"
#include "stages/clipinfo.h"
#include "stages/halolux.h"

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static double jnum(const json_t *o, const char *k, double def)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

static json_t *real_or_null(double x)
{
    return isfinite(x) ? json_real(round(x * 10000) / 10000) : json_null();
}

/* ---- collecting ---- */

static int cmp_votes(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double wx = jnum(x, "weight", 0), wy = jnum(y, "weight", 0);
    if ((wx > 0) != (wy > 0))
        return wx > 0 ? -1 : 1;
    double cx = wx * jnum(x, "score", 0), cy = wy * jnum(y, "score", 0);
    return cx < cy ? 1 : cx > cy ? -1 : strcmp(jstr(x, "agent"), jstr(y, "agent"));
}

static json_t *why_section(const om_clip_info *ci)
{
    const json_t *m = ci->metadata;
    json_t *why = json_object();
    const json_t *sel = json_object_get(m, "selection");
    const json_t *chorus = json_object_get(m, "chorus");
    json_object_set_new(why, "decision",
                        json_string(jstr(sel, "decision") ? jstr(sel, "decision")
                                    : !strcmp(ci->status, "CANDIDATE") ? "UNDECIDED"
                                                                       : ci->status));
    json_object_set_new(why, "reason", om_json_text(jstr(sel, "reason")));
    json_object_set_new(why, "rank", json_is_integer(json_object_get(sel, "rank"))
                                         ? json_incref(json_object_get(sel, "rank"))
                                         : json_null());
    json_object_set_new(why, "confidence", real_or_null(ci->confidence));
    double dis = jnum(chorus, "disagreement", NAN);
    json_object_set_new(why, "disagreement", real_or_null(dis));
    json_object_set_new(why, "agreement",
                        json_string(!isfinite(dis)    ? "unknown"
                                    : dis < 0.15      ? "the agents mostly agreed"
                                    : dis < 0.3       ? "the agents partly disagreed"
                                                      : "the agents strongly disagreed"));
    const json_t *veto = json_object_get(chorus, "veto");
    json_object_set_new(why, "veto", json_is_object(veto) ? json_deep_copy(veto) : json_null());
    const json_t *lat = json_object_get(m, "lattice");
    json_object_set_new(why, "lattice", json_is_object(lat) ? json_deep_copy(lat) : json_null());

    /* votes, strongest contribution first, abstentions last */
    json_t *votes = json_array();
    const char *agent;
    json_t *v;
    size_t n = json_is_object(ci->votes) ? json_object_size(ci->votes) : 0;
    json_t **tmp = xcalloc(n ? n : 1, sizeof(json_t *));
    size_t k = 0;
    if (n) {
        json_object_foreach(ci->votes, agent, v) {
            json_t *e = json_pack("{s:s,s:f,s:f,s:o,s:b}", "agent", agent, "score",
                                  jnum(v, "score", 0), "weight", jnum(v, "weight", 0), "reason",
                                  om_json_text(jstr(v, "reason") ? jstr(v, "reason") : ""),
                                  "veto", json_is_true(json_object_get(v, "veto")));
            if (e)
                tmp[k++] = e;
        }
    }
    qsort(tmp, k, sizeof(json_t *), cmp_votes);
    for (size_t i = 0; i < k; i++)
        json_array_append_new(votes, tmp[i]);
    free(tmp);
    json_object_set_new(why, "votes", votes);
    const json_t *aw = json_object_get(m, "agent_weights");
    json_object_set_new(why, "agent_weights", json_is_object(aw) ? json_deep_copy(aw) : json_null());

    json_t *an = json_object();
    const json_t *scores = json_object_get(m, "scores");
    json_object_set_new(an, "virality", real_or_null(jnum(scores, "virality", NAN)));
    json_object_set_new(an, "relevance", real_or_null(jnum(scores, "relevance", NAN)));
    json_object_set_new(an, "energy", real_or_null(jnum(scores, "energy", NAN)));
    json_object_set_new(an, "speech_rate_wpm", real_or_null(jnum(scores, "speech_rate_wpm", NAN)));
    const json_t *hook = json_object_get(m, "hook");
    json_object_set_new(an, "hook", json_is_object(hook) ? json_deep_copy(hook) : json_null());
    json_object_set_new(why, "analyzer", an);
    return why;
}

/* The editor's decisions: the decision_chain array of the clip's packet from the edit job. */
static json_t *edit_decisions(const json_t *clip_packets)
{
    size_t i;
    json_t *p;
    json_t *found = NULL;
    json_array_foreach(clip_packets, i, p) {
        const json_t *lin = json_object_get(p, "lineage");
        const json_t *dc = json_object_get(p, "decision_chain");
        const char *jt = jstr(lin, "job_type");
        if (json_is_array(dc) && jt && !strcmp(jt, "edit"))
            found = (json_t *)dc; /* the newest wins */
    }
    return found ? json_deep_copy(found) : json_array();
}

static const char *decision_reason(const json_t *decisions, const char *step)
{
    size_t i;
    json_t *d;
    const char *r = NULL;
    json_array_foreach(decisions, i, d) {
        const char *st = jstr(d, "step");
        if (st && !strcmp(st, step))
            r = jstr(d, "reason");
    }
    return r;
}

static int edit_section(om_store *s, const om_clip_info *ci, const json_t *clip_packets,
                        json_t **out, char edit_job_id[OM_UUID_LEN])
{
    *out = json_null();
    edit_job_id[0] = '\0';
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT edit_job_id, status, operations, gpu_required, "
                            "estimated_duration_seconds FROM edit_jobs WHERE clip_id = ?",
                            OM_PARAMS(OM_TEXT(ci->clip_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the edit job");
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return OM_OK;
    }
    snprintf(edit_job_id, OM_UUID_LEN, "%s", om_rows_getn(r, 0, "edit_job_id"));
    json_t *ops = om_json_from_db(om_rows_getn(r, 0, "operations"));
    json_t *decisions = edit_decisions(clip_packets);
    json_t *e = json_object();
    json_object_set_new(e, "edit_job_id", json_string(edit_job_id));
    json_object_set_new(e, "status", json_string(om_rows_getn(r, 0, "status")));
    om_rows_free(r);

    const json_t *rf = json_object_get(ops, "reframe");
    json_object_set_new(e, "reframe",
                        json_pack("{s:s,s:o}", "mode", jstr(rf, "mode") ? jstr(rf, "mode") : "?",
                                  "reason", om_json_text(decision_reason(decisions, "reframe"))));
    const json_t *cap = json_object_get(ops, "captions");
    const json_t *dropped = json_object_get(cap, "dropped_lines");
    if (!dropped)
        dropped = json_object_get(json_object_get(ops, "meta"), "dropped_lines");
    json_object_set_new(e, "captions",
                        json_pack("{s:b,s:I,s:o,s:O,s:o}", "kept", json_is_object(cap),
                                  "dropped_lines", (json_int_t)json_array_size(dropped),
                                  "dropped",
                                  json_is_array(dropped) ? json_deep_copy(dropped) : json_array(),
                                  "stats",
                                  json_object_get(cap, "stats") ? json_object_get(cap, "stats")
                                                                : json_null(),
                                  "reason",
                                  om_json_text(decision_reason(decisions, "captions"))));
    const json_t *logo = json_object_get(ops, "logo");
    json_object_set_new(e, "logo",
                        json_is_object(logo)
                            ? json_pack("{s:s?,s:s?,s:o}", "path", jstr(logo, "path"),
                                        "position", jstr(logo, "position"), "reason",
                                        om_json_text(decision_reason(decisions, "logo")))
                            : json_pack("{s:n,s:o}", "path", "reason",
                                        om_json_text(decision_reason(decisions, "logo"))));
    const json_t *ld = json_object_get(ops, "loudness");
    json_object_set_new(e, "loudness",
                        json_is_object(ld)
                            ? json_pack("{s:o,s:o,s:o}", "target_lufs",
                                        real_or_null(jnum(ld, "target_lufs", NAN)), "true_peak",
                                        real_or_null(jnum(ld, "true_peak", NAN)), "reason",
                                        om_json_text(decision_reason(decisions, "loudness")))
                            : json_null());
    json_object_set_new(e, "intro", json_string(jstr(json_object_get(ops, "intro"), "path")
                                                    ? jstr(json_object_get(ops, "intro"), "path")
                                                    : ""));
    json_object_set_new(e, "outro", json_string(jstr(json_object_get(ops, "outro"), "path")
                                                    ? jstr(json_object_get(ops, "outro"), "path")
                                                    : ""));
    json_object_set_new(e, "decisions", decisions);

    /* the render artifact */
    r = NULL;
    rc = om_store_query(s,
                        "SELECT path, checksum, size_bytes FROM artifacts WHERE kind = 'render' "
                        "AND entity_id = ? ORDER BY created_at DESC LIMIT 1",
                        OM_PARAMS(OM_TEXT(ci->clip_id)), &r);
    if (rc == OM_OK && om_rows_count(r)) {
        json_object_set_new(e, "render",
                            json_pack("{s:s,s:s?}", "path", om_rows_getn(r, 0, "path"), "sha256",
                                      om_rows_getn(r, 0, "checksum")));
    }
    om_rows_free(r);
    json_decref(ops);
    *out = e;
    return OM_OK;
}

static int schedule_section(om_store *s, const om_clip_info *ci, json_t **out,
                            char schedule_id[OM_UUID_LEN])
{
    *out = json_null();
    schedule_id[0] = '\0';
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT schedule_id, recommended_time, final_scheduled_time, "
                            "horizon_adjustments, status FROM schedules WHERE clip_id = ?",
                            OM_PARAMS(OM_TEXT(ci->clip_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading the schedule");
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return OM_OK;
    }
    snprintf(schedule_id, OM_UUID_LEN, "%s", om_rows_getn(r, 0, "schedule_id"));
    json_t *adj = om_json_from_db(om_rows_getn(r, 0, "horizon_adjustments"));
    json_t *sc = json_pack("{s:s,s:s,s:s?,s:s?}", "schedule_id", schedule_id, "status",
                           om_rows_getn(r, 0, "status"), "final_scheduled_time",
                           om_rows_getn(r, 0, "final_scheduled_time"), "recommended_time",
                           om_rows_getn(r, 0, "recommended_time"));
    json_object_set_new(sc, "adjustments", adj ? adj : json_null());
    om_rows_free(r);
    *out = sc;
    return OM_OK;
}

static int export_section(om_store *s, const om_clip_info *ci, json_t **out)
{
    *out = json_array();
    om_rows *r = NULL;
    int rc = om_store_query(s,
                            "SELECT upload_job_id, target, status, title, scheduled_time, "
                            "yt_video_id, target_state FROM upload_jobs WHERE clip_id = ? "
                            "ORDER BY target",
                            OM_PARAMS(OM_TEXT(ci->clip_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading upload jobs");
    for (size_t i = 0; i < om_rows_count(r); i++) {
        json_t *st = om_json_from_db(om_rows_getn(r, i, "target_state"));
        json_t *e = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s?}", "upload_job_id",
                              om_rows_getn(r, i, "upload_job_id"), "target",
                              om_rows_getn(r, i, "target"), "status", om_rows_getn(r, i, "status"),
                              "title", om_rows_getn(r, i, "title"), "scheduled_time",
                              om_rows_getn(r, i, "scheduled_time"), "yt_video_id",
                              om_rows_getn(r, i, "yt_video_id"));
        if (!e)
            e = json_object();
        json_object_set_new(e, "path", om_json_text(jstr(st, "export_path")));
        json_object_set_new(e, "sidecar", om_json_text(jstr(st, "sidecar_path")));
        json_object_set_new(e, "sha256", om_json_text(jstr(st, "sha256")));
        json_decref(st);
        json_array_append_new(*out, e);
    }
    om_rows_free(r);
    return OM_OK;
}

static int cmp_seq(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t sx = json_integer_value(json_object_get(x, "seq"));
    json_int_t sy = json_integer_value(json_object_get(y, "seq"));
    return sx < sy ? -1 : sx > sy;
}

/* Ledger packets about any of the ids, de-duplicated and in chain order (summaries). */
static int ledger_section(om_store *s, const char *const *ids, size_t nids, json_t **out)
{
    json_t *seen = json_object();
    json_t *all = json_array();
    for (size_t k = 0; k < nids; k++) {
        if (!ids[k] || !*ids[k])
            continue;
        json_t *packets = NULL;
        int rc = om_stardust_for_entity(s, ids[k], &packets);
        if (rc) {
            json_decref(seen);
            json_decref(all);
            return om_error_wrap(rc, "reading the ledger");
        }
        size_t i;
        json_t *p;
        json_array_foreach(packets, i, p) {
            const char *sid = jstr(p, "stardust_id");
            if (!sid || json_object_get(seen, sid))
                continue;
            json_object_set_new(seen, sid, json_true());
            const json_t *lin = json_object_get(p, "lineage");
            const json_t *dc = json_object_get(p, "decision_chain");
            json_t *e = json_pack("{s:s,s:O,s:s?,s:s?,s:s?,s:s?,s:s?}", "stardust_id", sid, "seq",
                                  json_object_get(p, "seq"), "entity_type",
                                  jstr(p, "entity_type"), "entity_id", jstr(p, "entity_id"),
                                  "created_at", jstr(p, "created_at"), "job_type",
                                  jstr(lin, "job_type"), "stage",
                                  json_is_object(dc) ? jstr(dc, "stage") : NULL);
            if (e) {
                json_object_set(e, "parents", json_object_get(lin, "parents")
                                                  ? json_object_get(lin, "parents")
                                                  : json_array());
                json_array_append_new(all, e);
            }
        }
        json_decref(packets);
    }
    json_decref(seen);
    size_t n = json_array_size(all);
    json_t **v = xcalloc(n ? n : 1, sizeof(json_t *));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(all, i));
    qsort(v, n, sizeof(json_t *), cmp_seq);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(sorted, v[i]);
    free(v);
    json_decref(all);
    *out = sorted;
    return OM_OK;
}

/* The packets about the clip itself (for the editor's decision chain). */
static json_t *clip_packets(om_store *s, const char *clip_id)
{
    json_t *p = NULL;
    if (om_stardust_for_entity(s, clip_id, &p) != OM_OK) {
        om_error_clear();
        return json_array();
    }
    return p;
}

int om_halolux_collect(om_store *s, const char *clip_id, json_t **out)
{
    *out = NULL;
    om_clip_info ci;
    int rc = om_clip_info_load(s, clip_id, NULL, &ci);
    if (rc)
        return rc;
    json_t *doc = json_object();
    char *tr = om_utf8_truncate(jstr(ci.metadata, "transcript"), 400, "...");
    json_t *clip = json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:s?,s:s?,s:s?,s:s?,s:s?,s:s}",
                             "clip_id", ci.clip_id, "status", ci.status, "video_id", ci.video_id,
                             "post_id", ci.post_id, "start", ci.start, "end", ci.end,
                             "duration", ci.end - ci.start, "creator", ci.username,
                             "platform", ci.platform, "post_url", ci.post_url, "project",
                             ci.project_name, "analysis_id",
                             ci.analysis_id[0] ? ci.analysis_id : NULL, "timezone", ci.timezone);
    if (!clip)
        clip = json_pack("{s:s}", "clip_id", ci.clip_id);
    json_object_set_new(clip, "transcript", om_json_text(tr));
    free(tr);
    json_object_set_new(doc, "clip", clip);
    json_object_set_new(doc, "why", why_section(&ci));

    json_t *cp = clip_packets(s, ci.clip_id);
    json_t *edit = NULL, *sched = NULL, *exp = NULL, *ledger = NULL;
    char edit_id[OM_UUID_LEN], sched_id[OM_UUID_LEN];
    rc = edit_section(s, &ci, cp, &edit, edit_id);
    if (!rc)
        rc = schedule_section(s, &ci, &sched, sched_id);
    if (!rc)
        rc = export_section(s, &ci, &exp);
    if (!rc) {
        const char **ids = xcalloc(8 + json_array_size(exp), sizeof(char *));
        size_t n = 0;
        ids[n++] = ci.clip_id;
        ids[n++] = ci.analysis_id;
        ids[n++] = ci.video_id;
        ids[n++] = ci.post_id;
        ids[n++] = ci.creator_id;
        ids[n++] = edit ? edit_id : NULL;
        ids[n++] = sched ? sched_id : NULL;
        size_t i;
        json_t *u;
        json_array_foreach(exp, i, u) ids[n++] = jstr(u, "upload_job_id");
        rc = ledger_section(s, ids, n, &ledger);
        free(ids);
    }
    json_decref(cp);
    json_object_set_new(doc, "edit", edit ? edit : json_null());
    json_object_set_new(doc, "schedule", sched ? sched : json_null());
    json_object_set_new(doc, "export", exp ? exp : json_array());
    json_object_set_new(doc, "ledger", ledger ? ledger : json_array());
    om_clip_info_release(&ci);
    if (rc) {
        json_decref(doc);
        return om_error_wrap(rc, "explaining clip %s", clip_id);
    }
    *out = doc;
    return OM_OK;
}

/* ---- text ---- */

static void line(om_sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(om_sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    sb_puts(sb, s);
    sb_puts(sb, "\n");
    free(s);
}

static void text_why(om_sbuf *sb, const json_t *why)
{
    line(sb, "\nWhy this clip");
    const char *dec = jstr(why, "decision");
    const char *reason = jstr(why, "reason");
    line(sb, "  Decision: %s%s%s", dec ? dec : "?", reason && *reason ? " - " : "",
         reason ? reason : "");
    const json_t *veto = json_object_get(why, "veto");
    if (json_is_object(veto))
        line(sb, "  VETO by %s: %s (this rejects the clip whatever the other votes say)",
             jstr(veto, "agent"), jstr(veto, "reason"));
    double conf = jnum(why, "confidence", NAN), dis = jnum(why, "disagreement", NAN);
    if (isfinite(conf))
        line(sb, "  Chorus: confidence %.2f, disagreement %.2f (%s)", conf,
             isfinite(dis) ? dis : 0, jstr(why, "agreement"));
    const json_t *votes = json_object_get(why, "votes");
    if (json_array_size(votes)) {
        line(sb, "  Pantheon votes (score x weight, reason):");
        size_t i;
        json_t *v;
        json_array_foreach(votes, i, v) {
            if (jnum(v, "weight", 0) > 0)
                line(sb, "    %-13s %.2f x%.1f  %s%s", jstr(v, "agent"), jnum(v, "score", 0),
                     jnum(v, "weight", 0), json_is_true(json_object_get(v, "veto")) ? "VETO: " : "",
                     jstr(v, "reason"));
            else
                line(sb, "    %-13s --        %s", jstr(v, "agent"), jstr(v, "reason"));
        }
    } else {
        line(sb, "  The Pantheon has not voted on this clip yet.");
    }
    const json_t *aw = json_object_get(why, "agent_weights");
    if (json_is_object(aw) && json_object_size(json_object_get(aw, "factors"))) {
        om_sbuf fs = OM_SBUF_INIT;
        const char *agent;
        json_t *f;
        json_object_foreach(json_object_get(aw, "factors"), agent, f)
            sb_printf(&fs, "%s%s x%.2f", fs.len ? ", " : "", agent, json_number_value(f));
        line(sb, "  Weights learned from this project's results (%lld published clips measured, "
                 "step %lld): %s of the configured weight (ledger packet %s)",
             (long long)json_integer_value(json_object_get(aw, "clips")),
             (long long)json_integer_value(json_object_get(aw, "steps")), sb_str(&fs),
             jstr(aw, "stardust_id") ? jstr(aw, "stardust_id") : "?");
        sb_release(&fs);
    }
    const json_t *lat = json_object_get(why, "lattice");
    if (json_is_object(lat))
        line(sb,
             "  Lattice: priority %.3f = confidence %.2f x freshness %.2f x creator diversity "
             "%.2f (rank %d, top %d per video taken)",
             jnum(lat, "priority", 0), isfinite(conf) ? conf : 0, jnum(lat, "freshness", 0),
             jnum(lat, "diversity", 0), (int)jnum(lat, "rank", 0),
             (int)jnum(lat, "clips_per_video", 0));
    const json_t *an = json_object_get(why, "analyzer");
    const char *names[] = {"virality", "relevance", "energy"};
    om_sbuf a = OM_SBUF_INIT;
    for (size_t i = 0; i < OM_ARRAY_LEN(names); i++) {
        double x = jnum(an, names[i], NAN);
        if (isfinite(x))
            sb_printf(&a, "%s%s %.2f", a.len ? ", " : "", names[i], x);
    }
    double wpm = jnum(an, "speech_rate_wpm", NAN);
    if (isfinite(wpm))
        sb_printf(&a, "%s%.0f words/min", a.len ? ", " : "", wpm);
    if (a.len)
        line(sb, "  Analyzer: %s", sb_str(&a));
    sb_release(&a);
}

static void text_edit(om_sbuf *sb, const json_t *e)
{
    line(sb, "\nWhat the edit did");
    if (!json_is_object(e)) {
        line(sb, "  Not edited yet.");
        return;
    }
    line(sb, "  Edit job %s: %s", jstr(e, "edit_job_id"), jstr(e, "status"));
    const json_t *rf = json_object_get(e, "reframe");
    line(sb, "  Crop: %s%s%s", jstr(rf, "mode"), jstr(rf, "reason") ? " - " : "",
         jstr(rf, "reason") ? jstr(rf, "reason") : "");
    const json_t *c = json_object_get(e, "captions");
    if (json_is_true(json_object_get(c, "kept")))
        line(sb, "  Captions: burned in%s%s", jstr(c, "reason") ? " - " : "",
             jstr(c, "reason") ? jstr(c, "reason") : "");
    else
        line(sb, "  Captions: none%s%s", jstr(c, "reason") ? " - " : "",
             jstr(c, "reason") ? jstr(c, "reason") : "");
    const json_t *dropped = json_object_get(c, "dropped");
    size_t i;
    json_t *d;
    json_array_foreach(dropped, i, d) {
        if (i >= 5) {
            line(sb, "    ... %zu more dropped lines", json_array_size(dropped) - 5);
            break;
        }
        if (json_is_string(d))
            line(sb, "    dropped: %s", json_string_value(d));
        else if (jstr(d, "text"))
            line(sb, "    dropped: \"%s\"%s%s", jstr(d, "text"), jstr(d, "reason") ? " - " : "",
                 jstr(d, "reason") ? jstr(d, "reason") : "");
    }
    const json_t *logo = json_object_get(e, "logo");
    if (jstr(logo, "path"))
        line(sb, "  Logo: %s (%s)", jstr(logo, "path"),
             jstr(logo, "position") ? jstr(logo, "position") : "default position");
    else
        line(sb, "  Logo: none%s%s", jstr(logo, "reason") ? " - " : "",
             jstr(logo, "reason") ? jstr(logo, "reason") : "");
    const json_t *ld = json_object_get(e, "loudness");
    if (json_is_object(ld))
        line(sb, "  Loudness: normalised to %.1f LUFS%s%s", jnum(ld, "target_lufs", 0),
             jstr(ld, "reason") ? " - " : "", jstr(ld, "reason") ? jstr(ld, "reason") : "");
    else
        line(sb, "  Loudness: left as recorded");
    const char *in = jstr(e, "intro"), *outp = jstr(e, "outro");
    if ((in && *in) || (outp && *outp))
        line(sb, "  Intro: %s; outro: %s", in && *in ? in : "none", outp && *outp ? outp : "none");
    const json_t *r = json_object_get(e, "render");
    if (json_is_object(r))
        line(sb, "  Render: %s (sha256 %.16s...)", jstr(r, "path"),
             jstr(r, "sha256") ? jstr(r, "sha256") : "?");
}

static void text_schedule(om_sbuf *sb, const json_t *sc)
{
    line(sb, "\nWhen it goes out");
    if (!json_is_object(sc)) {
        line(sb, "  Not scheduled yet.");
        return;
    }
    const json_t *adj = json_object_get(sc, "adjustments");
    const char *local = jstr(adj, "final_local");
    line(sb, "  Zenith committed %s (%s UTC), status %s.",
         local ? local : jstr(sc, "final_scheduled_time"), jstr(sc, "final_scheduled_time"),
         jstr(sc, "status"));
    if (json_is_true(json_object_get(adj, "forced_now"))) {
        line(sb, "  Scheduled for immediately ([schedule] now = 1); posting rules bypassed%s",
             json_array_size(json_object_get(adj, "bypassed")) ? ":" : ".");
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(adj, "bypassed"), i, b)
            line(sb, "    %s", json_string_value(b));
        return;
    }
    const json_t *o = json_object_get(adj, "oracle");
    json_int_t samples = json_integer_value(json_object_get(o, "samples"));
    line(sb, "  Oracle: engagement by hour of week in %s from %lld scraped posts (%lld from this "
             "creator)%s; predicted %.2f at the committed time.",
         jstr(adj, "timezone") ? jstr(adj, "timezone") : "UTC", (long long)samples,
         (long long)json_integer_value(json_object_get(o, "own_posts")),
         samples < 10 ? ", so mostly the evening-peaked prior" : "",
         jnum(adj, "final_score", 0));
    const json_t *own = json_object_get(o, "own_results");
    if (own) {
        int h = (int)jnum(own, "hour", 0), hp = (int)jnum(own, "hour_posts", 0);
        if (hp > 0)
            line(sb, "  Posted at %02d:00 because this account's clips at %02d:00 averaged %.1fx "
                     "the median views over %d post%s (%d of our clips measured).",
                 h, h, jnum(own, "hour_views_ratio", 0), hp, hp == 1 ? "" : "s",
                 (int)jnum(own, "posts", 0));
        else
            line(sb, "  Our own results: %d of our clips measured, none posted at %02d:00 yet.",
                 (int)jnum(own, "posts", 0), h);
    }
    const json_t *rules = json_object_get(adj, "rules");
    const json_t *q = json_object_get(rules, "quiet_hours");
    line(sb, "  Horizon rules: %d posts/day, %d min apart, quiet %02d:00-%02d:00.",
         (int)jnum(rules, "posts_per_day", 0), (int)jnum(rules, "min_gap_minutes", 0),
         (int)jnum(q, "start", 0), (int)jnum(q, "end", 0));
    if (json_is_true(json_object_get(adj, "moved"))) {
        line(sb, "  Horizon moved it from the Oracle's best slot %s (%.2f):",
             jstr(adj, "recommended_local") ? jstr(adj, "recommended_local")
                                            : jstr(adj, "recommended_time"),
             jnum(adj, "recommended_score", 0));
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(adj, "blocked"), i, b) {
            json_t *rs = json_object_get(b, "reasons");
            line(sb, "    %s refused: %s", jstr(b, "local"),
                 json_string_value(json_array_get(rs, 0)) ? json_string_value(json_array_get(rs, 0))
                                                           : "?");
        }
    } else {
        line(sb, "  That is the Oracle's best slot in the next days; no rule had to move it.");
    }
}

static void text_export(om_sbuf *sb, const json_t *ex)
{
    line(sb, "\nWhere it went");
    if (json_array_size(ex) == 0) {
        line(sb, "  Nowhere yet (no upload job).");
        return;
    }
    size_t i;
    json_t *u;
    json_array_foreach(ex, i, u) {
        const char *path = jstr(u, "path");
        line(sb, "  %s: %s%s%s (upload job %s)", jstr(u, "target"), jstr(u, "status"),
             path ? " -> " : "", path ? path : "", jstr(u, "upload_job_id"));
        if (jstr(u, "sidecar"))
            line(sb, "    sidecar %s, sha256 %.16s...", jstr(u, "sidecar"),
                 jstr(u, "sha256") ? jstr(u, "sha256") : "?");
        if (jstr(u, "title"))
            line(sb, "    title: %s", jstr(u, "title"));
    }
}

static void text_ledger(om_sbuf *sb, const json_t *ledger)
{
    line(sb, "\nLedger (Stardust packets behind this, oldest first)");
    size_t i;
    json_t *p;
    json_array_foreach(ledger, i, p) {
        const char *what = jstr(p, "stage") ? jstr(p, "stage") : jstr(p, "job_type");
        line(sb, "  #%-6lld %s  %-11s %s  %s", (long long)json_integer_value(json_object_get(p, "seq")),
             jstr(p, "stardust_id"), jstr(p, "entity_type") ? jstr(p, "entity_type") : "?",
             jstr(p, "created_at") ? jstr(p, "created_at") : "", what ? what : "");
    }
    if (json_array_size(ledger) == 0)
        line(sb, "  (none)");
}

int om_halolux_explain(om_store *s, const char *clip_id, int as_json, char **out)
{
    *out = NULL;
    json_t *doc = NULL;
    int rc = om_halolux_collect(s, clip_id, &doc);
    if (rc)
        return rc;
    if (as_json) {
        *out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | OM_JSON_REAL);
        json_decref(doc);
        return *out ? OM_OK : om_error_set(OM_ERROR, "explanation not serialisable");
    }
    om_sbuf sb = OM_SBUF_INIT;
    const json_t *c = json_object_get(doc, "clip");
    line(&sb, "Clip %s: %s", jstr(c, "clip_id"), jstr(c, "status"));
    line(&sb, "  %.1f-%.1f s (%.1f s) of video %s, from %s%s%s%s%s", jnum(c, "start", 0),
         jnum(c, "end", 0), jnum(c, "duration", 0), jstr(c, "video_id"),
         jstr(c, "creator") ? "@" : "", jstr(c, "creator") ? jstr(c, "creator") : "unknown",
         jstr(c, "platform") ? " on " : "", jstr(c, "platform") ? jstr(c, "platform") : "",
         jstr(c, "project") ? "" : " (no project)");
    if (jstr(c, "project"))
        line(&sb, "  Project: %s (%s)", jstr(c, "project"), jstr(c, "timezone"));
    if (jstr(c, "transcript") && *jstr(c, "transcript"))
        line(&sb, "  \"%s\"", jstr(c, "transcript"));
    text_why(&sb, json_object_get(doc, "why"));
    text_edit(&sb, json_object_get(doc, "edit"));
    text_schedule(&sb, json_object_get(doc, "schedule"));
    text_export(&sb, json_object_get(doc, "export"));
    text_ledger(&sb, json_object_get(doc, "ledger"));
    json_decref(doc);
    *out = sb_detach(&sb);
    return OM_OK;
}
