/*
 * incidents.c: raising (deduplicated), resolving and listing incidents, and the message
 * normaliser the dead-letter and log clusters are keyed by. See incidents.h.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "oversight/incidents.h"

#include <ctype.h>

static const char *const severities[] = {"info", "warning", "error", "critical", NULL};

int om_incident_raise(om_store *s, const om_incident *inc, char id_out[OM_UUID_LEN],
                      int *created_out)
{
    OM_ASSERT(s && inc);
    if (created_out)
        *created_out = 0;
    if (!inc->kind || !*inc->kind || !inc->entity_type || !inc->entity_id || !inc->message)
        return om_error_set(OM_EINVAL, "incident: kind, entity and message are required");
    int known = 0;
    for (size_t i = 0; severities[i]; i++)
        known |= inc->severity && !strcmp(inc->severity, severities[i]);
    if (!known)
        return om_error_set(OM_EINVAL, "incident %s: unknown severity '%s' (info, warning, "
                                       "error or critical)",
                            inc->kind, inc->severity ? inc->severity : "");
    char id[OM_UUID_LEN];
    om_uuid4(id);
    char *ev = inc->evidence ? json_dumps(inc->evidence, JSON_COMPACT | JSON_SORT_KEYS |
                                                             OM_JSON_REAL)
                             : NULL;
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "INSERT INTO incidents (incident_id, kind, severity, entity_type, entity_id, message, "
        "evidence, created_at, first_seen, last_seen, count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, now(), now(), now(), ?) "
        "ON CONFLICT (kind, entity_type, entity_id) WHERE resolved_at IS NULL DO UPDATE SET "
        "count = incidents.count + excluded.count, last_seen = excluded.last_seen, "
        "message = excluded.message, severity = excluded.severity, "
        "evidence = excluded.evidence "
        "RETURNING incident_id",
        OM_PARAMS(OM_TEXT(id), OM_TEXT(inc->kind), OM_TEXT(inc->severity),
                  OM_TEXT(inc->entity_type), OM_TEXT(inc->entity_id), OM_TEXT(inc->message),
                  ev ? OM_JSON(ev) : OM_NULL, OM_INT(inc->count > 0 ? inc->count : 1)),
        &r);
    free(ev);
    if (rc)
        return om_error_wrap(rc, "raising incident %s on %s %s", inc->kind, inc->entity_type,
                             inc->entity_id);
    const char *got = om_rows_count(r) ? om_rows_get(r, 0, 0) : NULL;
    if (got && created_out)
        *created_out = !strcmp(got, id);
    if (id_out)
        snprintf(id_out, OM_UUID_LEN, "%s", got ? got : id);
    om_rows_free(r);
    return OM_OK;
}

int om_incident_resolve(om_store *s, const char *incident_id, const char *by)
{
    OM_ASSERT(s && incident_id);
    if (!om_uuid_valid(incident_id))
        return om_error_set(OM_EINVAL, "'%s' is not an incident id (a UUID)", incident_id);
    int64_t n = 0;
    int rc = om_store_exec(s,
                           "UPDATE incidents SET resolved_at = now(), resolved_by = ? "
                           "WHERE incident_id = ? AND resolved_at IS NULL",
                           OM_PARAMS(OM_TEXT(by && *by ? by : "operator"), OM_TEXT(incident_id)),
                           &n);
    if (rc)
        return om_error_wrap(rc, "resolving incident %s", incident_id);
    if (n)
        return OM_OK;
    om_rows *r = NULL;
    rc = om_store_query(s, "SELECT resolved_at, resolved_by FROM incidents WHERE incident_id = ?",
                        OM_PARAMS(OM_TEXT(incident_id)), &r);
    if (rc)
        return om_error_wrap(rc, "reading incident %s", incident_id);
    if (om_rows_count(r) == 0)
        rc = om_error_set(OM_ENOTFOUND, "incident %s not found", incident_id);
    else
        rc = om_error_set(OM_EINVAL, "incident %s was already resolved at %s by %s", incident_id,
                          om_rows_get(r, 0, 0),
                          om_rows_get(r, 0, 1) ? om_rows_get(r, 0, 1) : "(unknown)");
    om_rows_free(r);
    return rc;
}

int om_incident_resolve_open(om_store *s, const char *kind, const char *entity_type,
                             const char *entity_id, const char *by, int *resolved_out)
{
    OM_ASSERT(s && kind && entity_type && entity_id);
    int64_t n = 0;
    int rc = om_store_exec(s,
                           "UPDATE incidents SET resolved_at = now(), resolved_by = ? WHERE "
                           "kind = ? AND entity_type = ? AND entity_id = ? AND resolved_at IS NULL",
                           OM_PARAMS(OM_TEXT(by ? by : "omniva"), OM_TEXT(kind),
                                     OM_TEXT(entity_type), OM_TEXT(entity_id)),
                           &n);
    if (resolved_out)
        *resolved_out = n > 0;
    return rc ? om_error_wrap(rc, "resolving the open %s incident of %s %s", kind, entity_type,
                              entity_id)
              : OM_OK;
}

int om_incident_last_resolved(om_store *s, const char *kind, const char *entity_type,
                              const char *entity_id, int64_t *us_out)
{
    *us_out = 0;
    char *v = NULL;
    int rc = om_store_query_value(s,
                                  "SELECT max(resolved_at) FROM incidents WHERE kind = ? AND "
                                  "entity_type = ? AND entity_id = ?",
                                  OM_PARAMS(OM_TEXT(kind), OM_TEXT(entity_type),
                                            OM_TEXT(entity_id)),
                                  &v);
    if (rc == OM_ENOTFOUND)
        return OM_OK;
    if (rc)
        return om_error_wrap(rc, "reading incidents");
    if (v)
        om_time_parse(v, us_out);
    free(v);
    return OM_OK;
}

int om_incident_list(om_store *s, int open_only, const char *kind, json_t **out)
{
    OM_ASSERT(s && out);
    *out = NULL;
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "SELECT incident_id, kind, severity, entity_type, entity_id, message, evidence, "
        "first_seen, last_seen, count, resolved_at, resolved_by FROM incidents "
        "WHERE (? = 0 OR resolved_at IS NULL) AND (CAST(? AS TEXT) IS NULL OR kind = ?) "
        "ORDER BY CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END, last_seen DESC, incident_id",
        OM_PARAMS(OM_INT(open_only ? 1 : 0), kind ? OM_TEXT(kind) : OM_NULL,
                  kind ? OM_TEXT(kind) : OM_NULL),
        &r);
    if (rc)
        return om_error_wrap(rc, "listing incidents");
    json_t *arr = json_array();
    for (size_t i = 0; i < om_rows_count(r); i++) {
        json_t *o = json_object();
        for (size_t c = 0; c < om_rows_ncols(r); c++) {
            const char *name = om_rows_colname(r, c), *v = om_rows_get(r, i, c);
            json_t *val;
            if (!v)
                val = json_null();
            else if (!strcmp(name, "count"))
                val = json_integer(strtoll(v, NULL, 10));
            else if (!strcmp(name, "evidence"))
                val = json_loads(v, 0, NULL);
            else
                val = json_string(v);
            json_object_set_new(o, name, val ? val : json_null());
        }
        json_array_append_new(arr, o);
    }
    om_rows_free(r);
    *out = arr;
    return OM_OK;
}

/* ---- clustering --------------------------------------------------------------------- */

static int is_uuid_at(const char *p)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < OM_ARRAY_LEN(groups); g++) {
        for (int k = 0; k < groups[g]; k++, p++)
            if (!isxdigit((unsigned char)*p))
                return 0;
        if (g + 1 < OM_ARRAY_LEN(groups) && *p++ != '-')
            return 0;
    }
    return !isalnum((unsigned char)*p);
}

char *om_incident_normalise(const char *message)
{
    om_sbuf sb = OM_SBUF_INIT;
    const char *p = message ? message : "";
    int space = 0;
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) {
            space = 1;
            p++;
            continue;
        }
        if (space && sb.len)
            sb_append(&sb, " ", 1);
        space = 0;
        if (isalnum(c) && (p == message || !isalnum((unsigned char)p[-1])) && is_uuid_at(p)) {
            sb_append(&sb, "<id>", 4);
            p += 36;
            continue;
        }
        if (isalnum(c)) {
            const char *e = p;
            int digits = 0;
            while (isalnum((unsigned char)*e)) {
                digits |= isdigit((unsigned char)*e) != 0;
                e++;
            }
            size_t len = (size_t)(e - p);
            if (!digits) {
                sb_append(&sb, p, len);
            } else if (len >= 6) {
                int all = 1;
                for (const char *k = p; k < e; k++)
                    all &= isdigit((unsigned char)*k) != 0;
                sb_append(&sb, all ? "<n>" : "<id>", all ? 3 : 4);
            } else { /* short: "h264", "attempt 3": the digit runs go */
                for (const char *k = p; k < e;) {
                    if (isdigit((unsigned char)*k)) {
                        while (k < e && isdigit((unsigned char)*k))
                            k++;
                        sb_append(&sb, "<n>", 3);
                    } else {
                        sb_append(&sb, k++, 1);
                    }
                }
            }
            p = e;
            continue;
        }
        sb_append(&sb, p++, 1);
    }
    char *out = xstrdup(sb_str(&sb));
    sb_release(&sb);
    return out;
}

void om_incident_signature(const char *a, const char *b, char out[13])
{
    char *text = xasprintf("%s\n%s", a ? a : "", b ? b : "");
    char hex[OM_SHA256_HEX_LEN];
    om_sha256_hex(text, strlen(text), hex);
    free(text);
    memcpy(out, hex, 12);
    out[12] = '\0';
}
