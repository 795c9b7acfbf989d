/*
 * store_pg.c: the PostgreSQL backend of the store (libpq), postgres:// or postgresql:// URLs
 * (libpq's own URI syntax: postgres://user[:password]@host[:port]/dbname?param=value...).
 *
 * Session: TimeZone=UTC, DateStyle=ISO, client_min_messages=warning, connect_timeout 10 s
 * unless the URL sets one. Portable `?` placeholders are rewritten to $1..$n (quoted
 * strings, quoted identifiers, dollar quotes and comments are skipped). Statements are
 * prepared once per (SQL text, parameter types) and cached by name on the connection.
 * Parameters travel as text: OM_V_INT as int8, OM_V_REAL as float8, OM_V_BOOL as bool, the
 * rest untyped so the server infers uuid/jsonb/timestamptz from the column; OM_V_ARRAY's
 * JSON array becomes an array literal {"a","b"}. Results are normalised by column type
 * (store.h): timestamptz -> canonical text, text[] -> JSON array text, bool -> "1"/"0",
 * json/jsonb -> compact text.
 *
 * A connection the server dropped is reported as OM_EUNAVAIL once; the next call outside a
 * transaction reconnects (PQreset) and carries on.
 */
#include "base/common.h"
#include "base/proc.h"
#include "store/store_backend.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <unistd.h>

#define CACHE_SLOTS 512
#define CACHE_MAX (CACHE_SLOTS / 2)

#define OID_BOOL 16
#define OID_INT8 20
#define OID_JSON 114
#define OID_FLOAT8 701
#define OID_TEXT_ARRAY 1009
#define OID_VARCHAR_ARRAY 1015
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_JSONB 3802

typedef struct cache_entry {
    char *key; /* type signature '\x1f' SQL text; NULL: empty slot */
    uint64_t hash;
    char name[16];
} cache_entry;

typedef struct pq {
    PGconn *conn;
    char *where; /* "host:port/db" for messages (no password) */
    cache_entry cache[CACHE_SLOTS];
    size_t cached;
    unsigned next_id;
    om_sbuf key;    /* cache key of the current statement */
    om_sbuf sql;    /* rewritten SQL */
    om_sbuf pbuf;   /* parameter texts */
    om_sbuf cell;   /* one normalised output value */
    pid_t pid;      /* the process that opened it */
} pq;

static pq *impl(om_store *s)
{
    OM_ASSERT(s && s->be == &om_store_backend_pg);
    return s->impl;
}

struct pg_conn *om_store_pg_conn(om_store *s)
{
    if (!s || s->be != &om_store_backend_pg)
        return NULL;
    return impl(s)->conn;
}

/* ---- errors ------------------------------------------------------------------------- */

/* libpq messages end in newlines and may hold several lines: one line for ours. */
static void flatten(char *m)
{
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    for (char *p = m; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

static int conn_error(pq *q, const char *what)
{
    char *m = xstrdup(q->conn ? PQerrorMessage(q->conn) : "out of memory");
    flatten(m);
    int rc = om_error_set(OM_EUNAVAIL, "%s PostgreSQL at %s: %s", what, q->where,
                          *m ? m : "connection lost");
    free(m);
    return rc;
}

static int result_error(pq *q, PGresult *res, const char *sql)
{
    if (!res || PQstatus(q->conn) == CONNECTION_BAD)
        return conn_error(q, "lost the connection to");
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (!state)
        state = "";
    char *msg;
    if (primary)
        msg = xasprintf("%s%s%s (SQLSTATE %s)", primary, detail ? ": " : "", detail ? detail : "",
                        state);
    else
        msg = xstrdup(PQresultErrorMessage(res));
    flatten(msg);
    int code = OM_ERROR;
    if (strcmp(state, "23505") == 0)
        code = OM_EEXISTS;
    else if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        code = OM_EINVAL; /* integrity constraint / bad data such as a malformed uuid */
    else if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        code = OM_EBUSY;
    else if (strncmp(state, "08", 2) == 0 || !strcmp(state, "57P01") ||
             !strcmp(state, "57P02") || !strcmp(state, "57P03"))
        code = OM_EUNAVAIL;
    else if (!strcmp(state, "57014"))
        code = OM_ETIMEOUT;
    else if (strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0)
        code = OM_EIO;
    int rc;
    if (code == OM_ERROR && sql)
        rc = om_error_set(code, "postgres: %s (in \"%.160s\")", msg, sql);
    else
        rc = om_error_set(code, "%s", msg);
    free(msg);
    return rc;
}

/* ---- connection --------------------------------------------------------------------- */

static void notice(void *arg, const char *message)
{
    (void)arg;
    char *m = xstrdup(message);
    flatten(m);
    om_debug("store", "postgres: %s", m);
    free(m);
}

static void cache_clear(pq *q)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(q->cache[i].key);
        q->cache[i].key = NULL;
    }
    q->cached = 0;
}

static int session_setup(pq *q)
{
    PQsetNoticeProcessor(q->conn, notice, NULL);
    PGresult *res = PQexec(q->conn, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                                    "SET client_min_messages = warning; "
                                    "SET extra_float_digits = 1");
    int rc = OM_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = result_error(q, res, NULL);
    PQclear(res);
    return rc;
}

/* Before a statement: a connection the server dropped is re-made when no transaction
 * depended on it. A connection inherited across fork() is refused: parent and child would
 * interleave messages on one socket. */
static int ensure_conn(om_store *s, pq *q)
{
    if (q->pid != getpid())
        return om_error_set(OM_ERROR, "PostgreSQL connection to %s was opened by process %d "
                                      "and used in forked child %d: open a new store in the "
                                      "child",
                            q->where, (int)q->pid, (int)getpid());
    if (PQstatus(q->conn) == CONNECTION_OK)
        return OM_OK;
    if (s->in_txn)
        return conn_error(q, "lost the connection (and the open transaction) to");
    PQreset(q->conn);
    cache_clear(q); /* prepared statements died with the old session */
    if (PQstatus(q->conn) != CONNECTION_OK)
        return conn_error(q, "cannot reconnect to");
    om_info("store", "reconnected to PostgreSQL at %s", q->where);
    return session_setup(q);
}

static void pg_close(om_store *s)
{
    pq *q = s->impl;
    if (!q)
        return;
    if (q->conn) {
        /* In a forked child, close our copy of the socket first so PQfinish cannot send
         * the parent's session a Terminate message. */
        if (q->pid != getpid() && PQsocket(q->conn) >= 0)
            close(PQsocket(q->conn));
        PQfinish(q->conn);
    }
    cache_clear(q);
    free(q->where);
    sb_release(&q->key);
    sb_release(&q->sql);
    sb_release(&q->pbuf);
    sb_release(&q->cell);
    free(q);
    s->impl = NULL;
}

static int pg_open(om_store *s, const char *url)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        char *m = xstrdup(perr ? perr : "cannot parse it");
        flatten(m);
        int rc = om_error_set(OM_EINVAL, "store URL is not a valid PostgreSQL URL: %s", m);
        free(m);
        PQfreemem(perr);
        return rc;
    }
    const char *host = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "host") || (!strcmp(o->keyword, "hostaddr") && !host))
            host = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
        else if (!strcmp(o->keyword, "dbname"))
            db = o->val;
    }
    pq *q = xcalloc(1, sizeof(*q));
    q->pid = getpid();
    q->where = xasprintf("%s:%s/%s", host ? host : "(default host)", port ? port : "5432",
                         db ? db : "(default db)");
    PQconninfoFree(opts);
    s->impl = q;

    /* Our defaults come first so the URL's own settings override them. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {"10", "omniva", url, NULL};
    q->conn = PQconnectdbParams(keys, vals, 1);
    if (!q->conn || PQstatus(q->conn) != CONNECTION_OK) {
        int rc = conn_error(q, "cannot connect to");
        pg_close(s);
        return rc;
    }
    int rc = session_setup(q);
    if (rc < 0) {
        pg_close(s);
        return rc;
    }
    return OM_OK;
}

/* ---- placeholders ------------------------------------------------------------------- */

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || (unsigned char)c >= 0x80;
}

/* Rewrites `?` to $1..$n into out; returns the count. */
static int rewrite(const char *sql, om_sbuf *out)
{
    sb_reset(out);
    int n = 0;
    const char *p = sql;
    while (*p) {
        const char *start = p;
        if (*p == '\'') {
            int escapes = p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                          (p - 1 == sql || !ident_char(p[-2]));
            p++;
            while (*p) {
                if (escapes && *p == '\\' && p[1]) {
                    p += 2;
                } else if (*p == '\'' && p[1] == '\'') {
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    break;
                } else {
                    p++;
                }
            }
        } else if (*p == '"') {
            p++;
            while (*p && *p != '"')
                p++;
            if (*p)
                p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 1;
            p += 2;
            while (*p && depth) {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
        } else if (*p == '$' && (p == sql || !ident_char(p[-1])) && !(p[1] >= '0' && p[1] <= '9')) {
            /* $tag$ ... $tag$ */
            const char *t = p + 1;
            while (ident_char(*t))
                t++;
            if (*t == '$') {
                size_t taglen = (size_t)(t - p) + 1; /* "$tag$" */
                const char *d = t + 1, *end = NULL;
                while ((d = strchr(d, '$'))) {
                    if (strncmp(d, p, taglen) == 0) {
                        end = d + taglen;
                        break;
                    }
                    d++;
                }
                p = end ? end : p + strlen(p);
            } else {
                p++;
            }
        } else if (*p == '?') {
            sb_printf(out, "$%d", ++n);
            p++;
            continue;
        } else {
            p++;
        }
        sb_append(out, start, (size_t)(p - start));
    }
    if (!out->buf)
        sb_puts(out, "");
    return n;
}

/* ---- parameters --------------------------------------------------------------------- */

static void append_array_elem(om_sbuf *b, const char *s, size_t len)
{
    sb_append(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            sb_append(b, "\\", 1);
        sb_append(b, &s[i], 1);
    }
    sb_append(b, "\"", 1);
}

/* JSON array of strings -> PostgreSQL array literal, appended to b. */
static int json_to_pg_array(om_sbuf *b, const char *js, size_t idx)
{
    json_error_t e;
    json_t *a = json_loads(js, JSON_DECODE_ANY, &e);
    if (!a || !json_is_array(a)) {
        json_decref(a);
        return om_error_set(OM_EINVAL, "array parameter %zu is not a JSON array: %.80s", idx + 1,
                            js);
    }
    sb_append(b, "{", 1);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (i)
            sb_append(b, ",", 1);
        char num[40];
        switch (json_typeof(v)) {
        case JSON_STRING:
            append_array_elem(b, json_string_value(v), json_string_length(v));
            break;
        case JSON_NULL:
            sb_puts(b, "NULL");
            break;
        case JSON_INTEGER:
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            append_array_elem(b, num, strlen(num));
            break;
        case JSON_REAL: {
            size_t n = om_store_format_real(json_real_value(v), num);
            append_array_elem(b, num, n);
            break;
        }
        case JSON_TRUE:
            sb_puts(b, "\"true\"");
            break;
        case JSON_FALSE:
            sb_puts(b, "\"false\"");
            break;
        default:
            json_decref(a);
            return om_error_set(OM_EINVAL,
                                "array parameter %zu: element %zu is an object or array; TEXT[] "
                                "holds strings",
                                idx + 1, i + 1);
        }
    }
    sb_append(b, "}", 1);
    json_decref(a);
    return OM_OK;
}

#define NO_OFFSET SIZE_MAX

/* Fills types, values (pointers into p or q->pbuf) for n params; sig gets one char each. */
static int convert_params(pq *q, const om_val *p, size_t n, Oid *types, const char **values,
                          size_t *offs, char *sig)
{
    sb_reset(&q->pbuf);
    for (size_t i = 0; i < n; i++) {
        offs[i] = NO_OFFSET;
        values[i] = NULL;
        types[i] = 0;
        sig[i] = '0';
        switch (p[i].type) {
        case OM_V_NULL:
            break;
        case OM_V_INT:
            types[i] = OID_INT8;
            sig[i] = 'i';
            offs[i] = q->pbuf.len;
            sb_printf(&q->pbuf, "%lld", (long long)p[i].i);
            sb_append(&q->pbuf, "", 1);
            break;
        case OM_V_REAL: {
            types[i] = OID_FLOAT8;
            sig[i] = 'r';
            char num[32];
            size_t len = om_store_format_real(p[i].d, num);
            offs[i] = q->pbuf.len;
            sb_append(&q->pbuf, num, len + 1);
            break;
        }
        case OM_V_BOOL:
            types[i] = OID_BOOL;
            sig[i] = 'b';
            values[i] = p[i].i ? "t" : "f";
            break;
        case OM_V_TEXT:
        case OM_V_JSON:
            values[i] = p[i].s;
            break;
        case OM_V_ARRAY:
            if (p[i].s) {
                offs[i] = q->pbuf.len;
                int rc = json_to_pg_array(&q->pbuf, p[i].s, i);
                if (rc < 0)
                    return rc;
                sb_append(&q->pbuf, "", 1);
            }
            break;
        default:
            OM_ASSERT(!"unknown om_val type");
        }
    }
    for (size_t i = 0; i < n; i++)
        if (offs[i] != NO_OFFSET)
            values[i] = q->pbuf.buf + offs[i];
    sig[n] = '\0';
    return OM_OK;
}

/* ---- output normalisation ----------------------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "2026-01-02 03:04:05.123+00" -> "2026-01-02T03:04:05.123000Z" */
static void put_timestamp(pq *q, om_rows *r, size_t col, const char *v, size_t len, int with_tz)
{
    char out[OM_TIME_LEN];
    if (with_tz && len >= 22 && v[4] == '-' && v[10] == ' ' && v[13] == ':' &&
        strcmp(v + len - 3, "+00") == 0 && is_digit(v[0])) {
        memcpy(out, v, 10);
        out[10] = 'T';
        memcpy(out + 11, v + 11, 8);
        out[19] = '.';
        size_t k = 20;
        if (v[19] == '.')
            for (size_t i = 20; i < len - 3 && k < 26; i++)
                out[k++] = v[i];
        while (k < 26)
            out[k++] = '0';
        out[26] = 'Z';
        out[27] = '\0';
        om_rows_set(r, col, out, 27);
        return;
    }
    int64_t us;
    if (is_digit(v[0]) && om_time_parse(v, &us) == OM_OK) {
        om_time_iso(out, us);
        om_rows_set(r, col, out, OM_TIME_LEN - 1);
        return;
    }
    (void)q;
    om_rows_set(r, col, v, len); /* infinity, BC dates: as the server says */
}

static void json_escape_into(om_sbuf *b, const char *s, size_t len)
{
    sb_append(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_append(b, e, 2);
        } else if (c == '\n') {
            sb_append(b, "\\n", 2);
        } else if (c == '\t') {
            sb_append(b, "\\t", 2);
        } else if (c == '\r') {
            sb_append(b, "\\r", 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_append(b, &s[i], 1);
        }
    }
    sb_append(b, "\"", 1);
}

/* Parses a PostgreSQL array literal at *pp into JSON; returns 0, -1 when malformed. */
static int pg_array_to_json(om_sbuf *b, const char **pp)
{
    const char *p = *pp;
    if (*p != '{')
        return -1;
    p++;
    sb_append(b, "[", 1);
    if (*p == '}') {
        p++;
        sb_append(b, "]", 1);
        *pp = p;
        return 0;
    }
    om_sbuf el = OM_SBUF_INIT;
    for (int first = 1;; first = 0) {
        if (!first)
            sb_append(b, ",", 1);
        if (*p == '{') {
            if (pg_array_to_json(b, &p) != 0)
                goto bad;
        } else if (*p == '"') {
            sb_reset(&el);
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                sb_append(&el, p, 1);
                p++;
            }
            if (*p != '"')
                goto bad;
            p++;
            json_escape_into(b, el.buf ? el.buf : "", el.len);
        } else {
            const char *s = p;
            while (*p && *p != ',' && *p != '}')
                p++;
            size_t n = (size_t)(p - s);
            if (n == 4 && strncasecmp(s, "NULL", 4) == 0)
                sb_puts(b, "null");
            else
                json_escape_into(b, s, n);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}') {
            p++;
            break;
        }
        goto bad;
    }
    sb_append(b, "]", 1);
    sb_release(&el);
    *pp = p;
    return 0;
bad:
    sb_release(&el);
    return -1;
}

static void put_cell(pq *q, om_rows *r, size_t col, Oid type, const char *v, size_t len)
{
    switch (type) {
    case OID_BOOL:
        om_rows_set(r, col, v[0] == 't' ? "1" : "0", 1);
        return;
    case OID_TIMESTAMPTZ:
    case OID_TIMESTAMP:
        put_timestamp(q, r, col, v, len, type == OID_TIMESTAMPTZ);
        return;
    case OID_JSON:
    case OID_JSONB:
        if (om_store_json_is_compact(v, len)) {
            om_rows_set(r, col, v, len);
        } else {
            sb_reset(&q->cell);
            sb_append(&q->cell, v, len);
            size_t n = om_store_json_compact(v, len, q->cell.buf);
            om_rows_set(r, col, q->cell.buf, n);
        }
        return;
    case OID_TEXT_ARRAY:
    case OID_VARCHAR_ARRAY: {
        sb_reset(&q->cell);
        const char *p = v;
        if (pg_array_to_json(&q->cell, &p) == 0 && *p == '\0')
            om_rows_set(r, col, q->cell.buf, q->cell.len);
        else
            om_rows_set(r, col, v, len); /* e.g. "[0:1]={a,b}": as the server says */
        return;
    }
    default:
        om_rows_set(r, col, v, len);
    }
}

static om_rows *rows_from(pq *q, PGresult *res)
{
    int nf = PQnfields(res), nt = PQntuples(res);
    om_rows *r = om_rows_new((size_t)nf);
    for (int c = 0; c < nf; c++)
        om_rows_set_colname(r, (size_t)c, PQfname(res, c));
    for (int t = 0; t < nt; t++) {
        om_rows_add_row(r);
        for (int c = 0; c < nf; c++) {
            if (PQgetisnull(res, t, c))
                continue;
            put_cell(q, r, (size_t)c, PQftype(res, c), PQgetvalue(res, t, c),
                     (size_t)PQgetlength(res, t, c));
        }
    }
    return r;
}

/* ---- statements --------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static cache_entry *cache_find(pq *q, const char *key, size_t keylen, uint64_t h, int *found)
{
    size_t i = (size_t)h & (CACHE_SLOTS - 1);
    for (; q->cache[i].key; i = (i + 1) & (CACHE_SLOTS - 1)) {
        if (q->cache[i].hash == h && memcmp(q->cache[i].key, key, keylen + 1) == 0) {
            *found = 1;
            return &q->cache[i];
        }
    }
    *found = 0;
    return &q->cache[i];
}

static int run(om_store *s, const char *sql, const om_val *p, size_t n, om_rows **out,
               int64_t *changes)
{
    pq *q = impl(s);
    int rc = ensure_conn(s, q);
    if (rc < 0)
        return rc;
    Oid types_s[16];
    const char *values_s[16];
    size_t offs_s[16];
    char sig_s[17];
    Oid *types = n <= 16 ? types_s : xcalloc(n, sizeof(Oid));
    const char **values = n <= 16 ? values_s : xcalloc(n, sizeof(char *));
    size_t *offs = n <= 16 ? offs_s : xcalloc(n, sizeof(size_t));
    char *sig = n <= 16 ? sig_s : xmalloc(n + 1);
    PGresult *res = NULL;
    rc = convert_params(q, p, n, types, values, offs, sig);
    if (rc < 0)
        goto done;

    sb_reset(&q->key);
    sb_puts(&q->key, sig);
    sb_append(&q->key, "\x1f", 1);
    sb_puts(&q->key, sql);
    uint64_t h = hash_bytes(q->key.buf, q->key.len);
    for (int attempt = 0; attempt < 2; attempt++) {
        int found;
        cache_entry *e = cache_find(q, q->key.buf, q->key.len, h, &found);
        if (!found) {
            int count = rewrite(sql, &q->sql);
            if ((size_t)count != n) {
                rc = om_error_set(OM_EINVAL,
                                  "statement has %d placeholders but %zu parameters: %.120s",
                                  count, n, sql);
                goto done;
            }
            if (q->cached < CACHE_MAX) {
                snprintf(e->name, sizeof(e->name), "om_%u", ++q->next_id);
                PGresult *pr = PQprepare(q->conn, e->name, q->sql.buf, (int)n, types);
                if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
                    rc = result_error(q, pr, sql);
                    PQclear(pr);
                    goto done;
                }
                PQclear(pr);
                e->key = xstrdup(q->key.buf);
                e->hash = h;
                q->cached++;
                found = 1;
            }
        }
        if (found)
            res = PQexecPrepared(q->conn, e->name, (int)n, values, NULL, NULL, 0);
        else
            res = PQexecParams(q->conn, q->sql.buf, (int)n, types, values, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            break;
        /* A table changed shape under a cached SELECT *: prepare it again, once. */
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (found && attempt == 0 && state && !strcmp(state, "0A000") && !s->in_txn &&
            PQstatus(q->conn) == CONNECTION_OK) {
            PGresult *dr = PQexec(q->conn, "DEALLOCATE ALL");
            PQclear(dr);
            cache_clear(q);
            PQclear(res);
            res = NULL;
            continue;
        }
        if (found && PQstatus(q->conn) != CONNECTION_OK)
            cache_clear(q);
        rc = result_error(q, res, sql);
        goto done;
    }
    if (changes) {
        const char *ct = PQcmdTuples(res);
        *changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
    }
    if (out)
        *out = rows_from(q, res);
done:
    PQclear(res);
    if (n > 16) {
        free(types);
        free(values);
        free(offs);
        free(sig);
    }
    return rc;
}

static int pg_exec(om_store *s, const char *sql, const om_val *p, size_t n, int64_t *changes)
{
    return run(s, sql, p, n, NULL, changes);
}

static int pg_query(om_store *s, const char *sql, const om_val *p, size_t n, om_rows **out)
{
    return run(s, sql, p, n, out, NULL);
}

/* ---- transactions and scripts ------------------------------------------------------- */

static int simple(om_store *s, const char *sql, const char **status_out)
{
    pq *q = impl(s);
    if (q->pid != getpid())
        return ensure_conn(s, q); /* the forked-child error */
    PGresult *res = PQexec(q->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = OM_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = result_error(q, res, sql);
    else if (status_out && strcmp(PQcmdStatus(res), *status_out) != 0)
        *status_out = NULL; /* tells the caller the command tag differed */
    PQclear(res);
    return rc;
}

static int pg_begin(om_store *s)
{
    int rc = ensure_conn(s, impl(s));
    return rc < 0 ? rc : simple(s, "BEGIN", NULL);
}

static int pg_commit(om_store *s)
{
    const char *want = "COMMIT";
    int rc = simple(s, "COMMIT", &want);
    if (rc == OM_OK && !want)
        return om_error_set(OM_ERROR, "the server rolled the transaction back instead of "
                                      "committing it (an earlier statement failed)");
    return rc;
}

static int pg_rollback(om_store *s)
{
    if (PQstatus(impl(s)->conn) != CONNECTION_OK || impl(s)->pid != getpid())
        return OM_OK; /* the transaction died with the connection */
    return simple(s, "ROLLBACK", NULL);
}

static int pg_lock(om_store *s, const char *name)
{
    return run(s, "SELECT pg_advisory_xact_lock(hashtext(?))", OM_PARAMS(OM_TEXT(name)), NULL,
               NULL);
}

static int pg_exec_script(om_store *s, const char *sql)
{
    int rc = ensure_conn(s, impl(s));
    return rc < 0 ? rc : simple(s, sql, NULL);
}

static int pg_schema_columns(om_store *s, om_rows **out)
{
    return run(s,
               "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name "
               "FROM information_schema.columns c JOIN information_schema.tables t "
               "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
               "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
               "ORDER BY c.table_name::text COLLATE \"C\", c.column_name::text COLLATE \"C\"",
               NULL, 0, out, NULL);
}

/* ---- backups: pg_dump / pg_restore ------------------------------------------------- */

/* The live connection's parameters as a conninfo string for libpq's tools, without the
 * password (it goes in PGPASSWORD, *env_out, so it never shows in a process list). */
static char *tool_conninfo(pq *q, char **env_out)
{
    *env_out = NULL;
    om_sbuf b = OM_SBUF_INIT;
    PQconninfoOption *opts = PQconninfo(q->conn);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val || (o->dispchar && o->dispchar[0] == 'D'))
            continue;
        if (!strcmp(o->keyword, "password")) {
            free(*env_out);
            *env_out = xasprintf("PGPASSWORD=%s", o->val);
            continue;
        }
        sb_printf(&b, "%s%s='", b.len ? " " : "", o->keyword);
        for (const char *c = o->val; *c; c++) {
            if (*c == '\\' || *c == '\'')
                sb_append(&b, "\\", 1);
            sb_append(&b, c, 1);
        }
        sb_puts(&b, "'");
    }
    PQconninfoFree(opts);
    return sb_detach(&b);
}

/* Runs pg_dump/pg_restore; OM_OK only when it exited 0. */
static int run_tool(pq *q, const char *const *argv, const char *pw_env)
{
    const char *env[] = {"PGCONNECT_TIMEOUT=10", pw_env, NULL};
    om_proc_opts o = {.argv = argv, .env_add = env, .max_output = 1 << 20};
    om_proc_result res;
    int rc = om_proc_run(&o, &res);
    if (rc == OM_ENOTFOUND) {
        om_proc_result_release(&res);
        return om_error_set(OM_EUNAVAIL, "%s is not on PATH (install the PostgreSQL client "
                                         "tools, e.g. postgresql-client)",
                            argv[0]);
    }
    if (rc == OM_OK && res.exit_code != 0) {
        char *m = xstrdup(res.err && *res.err ? res.err : "no message");
        flatten(m);
        rc = om_error_set(OM_EIO, "%s for %s failed (exit %d): %.600s", argv[0], q->where,
                          res.exit_code, m);
        free(m);
    }
    om_proc_result_release(&res);
    return rc;
}

/* A REPEATABLE READ transaction exports its snapshot; pg_dump --snapshot dumps exactly what
 * that transaction sees, and in_snapshot reads through it while it stays open. */
static int pg_backup(om_store *s, const char *dest_path, om_store_snapshot_fn in_snapshot,
                     void *ud)
{
    pq *q = impl(s);
    int rc = ensure_conn(s, q);
    if (rc < 0)
        return rc;
    if (access(dest_path, F_OK) == 0)
        return om_error_set(OM_EEXISTS, "backup file %s already exists", dest_path);
    rc = simple(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL);
    if (rc < 0)
        return rc;
    om_rows *r = NULL;
    rc = run(s, "SELECT pg_export_snapshot()", NULL, 0, &r, NULL);
    char *snap = rc == OM_OK && om_rows_count(r) ? xasprintf("--snapshot=%s", om_rows_get(r, 0, 0))
                                                 : NULL;
    om_rows_free(r);
    if (rc == OM_OK && in_snapshot)
        rc = in_snapshot(s, ud);
    if (rc == OM_OK) {
        char *pw = NULL, *ci = tool_conninfo(q, &pw);
        char *file = xasprintf("--file=%s", dest_path), *db = xasprintf("--dbname=%s", ci);
        const char *argv[] = {"pg_dump", "--format=custom", "--no-password", snap, file, db,
                              NULL};
        rc = run_tool(q, argv, pw);
        free(file);
        free(db);
        free(ci);
        free(pw);
        if (rc < 0)
            unlink(dest_path);
    }
    free(snap);
    simple(s, "ROLLBACK", NULL); /* read only: nothing to keep */
    return rc;
}

static int pg_restore(om_store *s, const char *src_path)
{
    pq *q = impl(s);
    int rc = ensure_conn(s, q);
    if (rc < 0)
        return rc;
    /* the dump grants to the cognition role (migration 1); a cluster without it restores
     * without the grants rather than failing half-way */
    om_rows *r = NULL;
    rc = run(s, "SELECT count(*) FROM pg_roles WHERE rolname = 'omniva_cognition_ro'", NULL, 0,
             &r, NULL);
    int have_role = rc == OM_OK && om_rows_count(r) && atoi(om_rows_get(r, 0, 0)) > 0;
    om_rows_free(r);
    if (rc < 0)
        return rc;
    char *pw = NULL, *ci = tool_conninfo(q, &pw);
    char *db = xasprintf("--dbname=%s", ci);
    /* --clean --if-exists: the caller checked the target holds no rows, but `omniva init`
     * may have made the (empty) schema already */
    const char *argv[] = {"pg_restore", "--no-password", "--no-owner", "--exit-on-error",
                          "--single-transaction", "--clean", "--if-exists", db,
                          have_role ? src_path : "--no-privileges", have_role ? NULL : src_path,
                          NULL};
    rc = run_tool(q, argv, pw);
    free(db);
    free(ci);
    free(pw);
    if (rc < 0)
        return rc;
    cache_clear(q); /* the tables our prepared statements named were replaced */
    if ((rc = simple(s, "DEALLOCATE ALL", NULL)) < 0)
        return rc;
    /* the seeds: refresh the materialized views after a restore */
    rc = run(s, "SELECT quote_ident(schemaname) || '.' || quote_ident(matviewname) FROM "
                "pg_matviews WHERE schemaname = current_schema() ORDER BY 1",
             NULL, 0, &r, NULL);
    for (size_t i = 0; rc == OM_OK && i < om_rows_count(r); i++) {
        char *sql = xasprintf("REFRESH MATERIALIZED VIEW %s", om_rows_get(r, i, 0));
        rc = simple(s, sql, NULL);
        free(sql);
    }
    om_rows_free(r);
    return rc < 0 ? om_error_wrap(rc, "refreshing the materialized views after the restore")
                  : OM_OK;
}

const om_store_backend om_store_backend_pg = {
    .version = OM_STORE_BACKEND_VERSION,
    .name = "postgres",
    .scheme = "postgres://",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .query = pg_query,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .exec_script = pg_exec_script,
    .schema_columns = pg_schema_columns,
    .backup = pg_backup,
    .restore = pg_restore,
};
