/*
 * test_ledger.c: the Stardust ledger's hash chain and `omniva ledger verify|show`, on SQLite
 * and on PostgreSQL (a throw-away server from the harness): the database refuses UPDATE and
 * DELETE; with the guard dropped, an altered packet, a removed packet, a removed first packet,
 * a forged packet whose own hash was recomputed, and an appended packet with a wrong link are
 * each reported at the right seq with exit 1; repairing the damage verifies again. The
 * packet hash is recomputed here independently from the formula documented in stardust.h.
 *
 * The head and anchors: with the guard dropped through the database's own API (as an
 * attacker would), deleting the newest packet is reported as a truncated tail; `ledger
 * anchor` exports a signed checkpoint that `verify --anchor` accepts after more appends and
 * refuses when a byte of it changed, when another key is trusted, when the tail is cut
 * below it (even with the head rewritten to match), or when its file is not an anchor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "ledger/stardust.h"
#include "harness/harness.h"
#include "omtest.h"
#include "store/store.h"

#include <jansson.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NPACKETS 12

typedef struct ledger_env {
    char *home;
    char *url;
    char *sqlite_path; /* the database file on SQLite (NULL on PostgreSQL) */
} ledger_env;

/* Appends packets with JSON that different databases print differently (key order,
 * spacing, unicode, reals, nesting, null decision chains). Returns the entity ids. */
static void fill_ledger(const char *url, char ids[NPACKETS][OM_UUID_LEN])
{
    om_store *s = NULL;
    assert_int_equal(om_store_open(&s, url), 0);
    for (int i = 0; i < NPACKETS; i++) {
        om_uuid4(ids[i]);
        json_t *lineage = json_pack(
            "{s:i, s:{s:[i, f, s], s:n}, s:s, s:I, s:f, s:[], s:s}", "z", i, "a", "nested", 1,
            2.5, "x", "b", "unicode", "h\xc3\xa9llo \xe2\x9c\x93 \"quoted\"", "big",
            (json_int_t)1234567890123LL, "neg", -0.001 * (i + 1), "parents", "trace_id",
            ids[0]);
        json_t *chain = i % 3 == 0 ? NULL
                                   : json_pack("[{s:s, s:f}, {s:s}]", "state", "INIT", "score",
                                               0.1 * i, "state", "DONE");
        char id[OM_UUID_LEN];
        assert_int_equal(om_store_begin(s), 0);
        assert_int_equal(om_stardust_append(s, i % 2 ? "clips" : "jobs", ids[i], lineage, chain,
                                            id),
                         0);
        assert_int_equal(om_store_commit(s), 0);
        json_decref(lineage);
        json_decref(chain);
    }
    /* outside a transaction the ledger refuses to append (it needs the lock) */
    json_t *l = json_object();
    char id[OM_UUID_LEN];
    assert_int_equal(om_stardust_append(s, "jobs", ids[0], l, NULL, id), OM_EINVAL);
    json_decref(l);
    om_store_free(s);
}

static int verify(const ledger_env *e, char **out, char **err)
{
    return omt_run(out, err, e->home, "ledger", "verify", NULL);
}

static void expect_ok(const ledger_env *e, int packets)
{
    char *out = NULL, *err = NULL;
    int rc = verify(e, &out, &err);
    char *want = xasprintf("ledger ok: %d packets", packets);
    if (rc != 0 || !omt_has(out, want))
        fprintf(stderr, "verify: rc %d\n%s\n%s\n", rc, out, err);
    assert_int_equal(rc, 0);
    assert_true(omt_has(out, want));
    free(want);
    free(out);
    free(err);
}

static void expect_broken(const ledger_env *e, int64_t seq, const char *reason)
{
    char *out = NULL, *err = NULL;
    int rc = verify(e, &out, &err);
    char *want = xasprintf("BROKEN at seq %lld", (long long)seq);
    char *sql = xasprintf("SELECT stardust_id FROM stardust_metadata WHERE seq = %lld",
                          (long long)seq);
    char *bad_id = omt_query(e->url, sql);
    if (rc != 1 || !omt_has(out, want) || !omt_has(out, reason))
        fprintf(stderr, "verify: rc %d\n%s\n%s\n", rc, out, err);
    assert_int_equal(rc, 1);
    assert_true(omt_has(out, want));
    assert_true(omt_has(out, reason));
    assert_non_null(bad_id);
    assert_true(omt_has(out, bad_id)); /* names the bad packet */
    assert_true(omt_has(err, "omniva: error: ledger verification failed"));
    assert_true(omt_has(err, bad_id));
    free(bad_id);
    free(sql);
    free(want);
    free(out);
    free(err);

    /* --json tells the same */
    assert_int_equal(omt_run(&out, NULL, e->home, "ledger", "verify", "--json", NULL), 1);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "bad_seq")), seq);
    json_decref(j);
    free(out);
}

/* The documented packet hash, computed independently of stardust.c. */
static void doc_hash(om_store *s, int64_t seq, const char *lineage_text, char out[65])
{
    om_rows *r = NULL;
    assert_int_equal(om_store_query(s,
                                    "SELECT stardust_id, entity_type, entity_id, decision_chain, "
                                    "created_at, prev_hash FROM stardust_metadata WHERE seq = ?",
                                    OM_PARAMS(OM_INT(seq)), &r),
                     0);
    assert_int_equal(om_rows_count(r), 1);
    const char *dc = om_rows_getn(r, 0, "decision_chain");
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(seq));
    json_object_set_new(o, "stardust_id", json_string(om_rows_getn(r, 0, "stardust_id")));
    json_object_set_new(o, "entity_type", json_string(om_rows_getn(r, 0, "entity_type")));
    json_object_set_new(o, "entity_id", json_string(om_rows_getn(r, 0, "entity_id")));
    json_object_set_new(o, "lineage", json_loads(lineage_text, 0, NULL));
    json_object_set_new(o, "decision_chain", dc ? json_loads(dc, JSON_DECODE_ANY, NULL)
                                                : json_null());
    json_object_set_new(o, "created_at", json_string(om_rows_getn(r, 0, "created_at")));
    json_object_set_new(o, "prev_hash", json_string(om_rows_getn(r, 0, "prev_hash")));
    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    om_sha256_hex(text, strlen(text), out);
    free(text);
    json_decref(o);
    om_rows_free(r);
}

static char *row_json(const char *url, int64_t seq)
{
    om_store *s = NULL;
    assert_int_equal(om_store_open(&s, url), 0);
    om_rows *r = NULL;
    assert_int_equal(om_store_query(s,
                                    "SELECT stardust_id, entity_type, entity_id, lineage, "
                                    "decision_chain, created_at, seq, prev_hash, packet_hash "
                                    "FROM stardust_metadata WHERE seq = ?",
                                    OM_PARAMS(OM_INT(seq)), &r),
                     0);
    json_t *o = json_object();
    for (size_t c = 0; c < om_rows_ncols(r); c++) {
        const char *v = om_rows_get(r, 0, c);
        json_object_set_new(o, om_rows_colname(r, c), v ? json_string(v) : json_null());
    }
    om_rows_free(r);
    om_store_free(s);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Puts back a deleted row exactly as it was. */
static void reinsert(const char *url, const char *row_text)
{
    json_t *o = json_loads(row_text, 0, NULL);
    om_store *s = NULL;
    assert_int_equal(om_store_open(&s, url), 0);
    const char *dc = json_string_value(json_object_get(o, "decision_chain"));
    int rc = om_store_exec(
        s,
        "INSERT INTO stardust_metadata (stardust_id, entity_type, entity_id, lineage, "
        "decision_chain, created_at, seq, prev_hash, packet_hash) VALUES (?,?,?,?,?,?,?,?,?)",
        OM_PARAMS(OM_TEXT(json_string_value(json_object_get(o, "stardust_id"))),
                  OM_TEXT(json_string_value(json_object_get(o, "entity_type"))),
                  OM_TEXT(json_string_value(json_object_get(o, "entity_id"))),
                  OM_JSON(json_string_value(json_object_get(o, "lineage"))),
                  dc ? OM_JSON(dc) : OM_NULL,
                  OM_TEXT(json_string_value(json_object_get(o, "created_at"))),
                  OM_INT(strtoll(json_string_value(json_object_get(o, "seq")), NULL, 10)),
                  OM_TEXT(json_string_value(json_object_get(o, "prev_hash"))),
                  OM_TEXT(json_string_value(json_object_get(o, "packet_hash")))),
        NULL);
    if (rc)
        fprintf(stderr, "reinsert: %s\n", om_error_msg());
    assert_int_equal(rc, 0);
    om_store_free(s);
    json_decref(o);
}

static void tamper_suite(const ledger_env *e, const char *drop_guard_sql[],
                         const char *jsonb_cast)
{
    char ids[NPACKETS][OM_UUID_LEN];
    expect_ok(e, 0); /* an empty ledger verifies */
    fill_ledger(e->url, ids);
    expect_ok(e, NPACKETS);

    /* ledger show: the packets about one entity, parsed */
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, e->home, "ledger", "show", ids[1], "--json", NULL), 0);
    json_t *arr = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(arr), 1);
    json_t *p = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(p, "entity_type")), "clips");
    assert_int_equal(json_integer_value(json_object_get(p, "seq")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(p, "lineage"), "unicode")),
        "h\xc3\xa9llo \xe2\x9c\x93 \"quoted\"");
    json_decref(arr);
    free(out);
    assert_int_equal(omt_run(&out, NULL, e->home, "ledger", "show", ids[1], NULL), 0);
    assert_true(omt_has(out, "seq 2"));
    free(out);

    /* the database itself refuses changes */
    assert_true(omt_exec(e->url, "UPDATE stardust_metadata SET entity_type = 'x' WHERE seq = 1")
                != 0);
    assert_true(omt_exec(e->url, "DELETE FROM stardust_metadata WHERE seq = 1") != 0);
    for (int i = 0; drop_guard_sql[i]; i++)
        assert_int_equal(omt_exec(e->url, drop_guard_sql[i]), 0);

    /* 1. content altered */
    char *orig4 = omt_query(e->url, "SELECT lineage FROM stardust_metadata WHERE seq = 4");
    assert_non_null(orig4);
    char *sql = xasprintf("UPDATE stardust_metadata SET lineage = '{\"forged\": true}'%s "
                          "WHERE seq = 4", jsonb_cast);
    assert_int_equal(omt_exec(e->url, sql), 0);
    free(sql);
    expect_broken(e, 4, "hash mismatch (content altered)");
    /* ... put back as it was: verifies again */
    om_store *s = NULL;
    assert_int_equal(om_store_open(&s, e->url), 0);
    assert_int_equal(om_store_exec(s, "UPDATE stardust_metadata SET lineage = ? WHERE seq = 4",
                                   OM_PARAMS(OM_JSON(orig4)), NULL),
                     0);
    om_store_free(s);
    expect_ok(e, NPACKETS);

    /* 2. altered AND its own hash recomputed by the forger: the next link breaks */
    const char *forged = "{\"forged\":true,\"parents\":[]}";
    char h[65];
    assert_int_equal(om_store_open(&s, e->url), 0);
    doc_hash(s, 4, orig4, h);
    char *stored = omt_query(e->url, "SELECT packet_hash FROM stardust_metadata WHERE seq = 4");
    assert_string_equal(h, stored); /* the documented formula is the implemented one */
    free(stored);
    doc_hash(s, 4, forged, h);
    assert_int_equal(om_store_exec(s,
                                   "UPDATE stardust_metadata SET lineage = ?, packet_hash = ? "
                                   "WHERE seq = 4",
                                   OM_PARAMS(OM_JSON(forged), OM_TEXT(h)), NULL),
                     0);
    expect_broken(e, 5, "prev_hash does not match");
    char *orig_hash = NULL;
    doc_hash(s, 4, orig4, h);
    orig_hash = xstrdup(h);
    assert_int_equal(om_store_exec(s,
                                   "UPDATE stardust_metadata SET lineage = ?, packet_hash = ? "
                                   "WHERE seq = 4",
                                   OM_PARAMS(OM_JSON(orig4), OM_TEXT(orig_hash)), NULL),
                     0);
    om_store_free(s);
    free(orig_hash);
    expect_ok(e, NPACKETS);

    /* 3. a packet removed from the middle */
    char *row7 = row_json(e->url, 7);
    assert_int_equal(omt_exec(e->url, "DELETE FROM stardust_metadata WHERE seq = 7"), 0);
    expect_broken(e, 8, "gap before seq 8");
    reinsert(e->url, row7);
    expect_ok(e, NPACKETS);

    /* 4. the first packet removed */
    char *row1 = row_json(e->url, 1);
    assert_int_equal(omt_exec(e->url, "DELETE FROM stardust_metadata WHERE seq = 1"), 0);
    expect_broken(e, 2, "does not start at seq 1");
    reinsert(e->url, row1);
    expect_ok(e, NPACKETS);

    /* 5. a packet slipped in at the end without the real link */
    char nid[OM_UUID_LEN], eid[OM_UUID_LEN];
    om_uuid4(nid);
    om_uuid4(eid);
    assert_int_equal(om_store_open(&s, e->url), 0);
    char ts[OM_TIME_LEN];
    om_time_iso(ts, om_now_us());
    assert_int_equal(
        om_store_exec(s,
                      "INSERT INTO stardust_metadata (stardust_id, entity_type, entity_id, "
                      "lineage, decision_chain, created_at, seq, prev_hash, packet_hash) VALUES "
                      "(?, 'clips', ?, '{}', NULL, ?, ?, ?, ?)",
                      OM_PARAMS(OM_TEXT(nid), OM_TEXT(eid), OM_TEXT(ts), OM_INT(NPACKETS + 1),
                                OM_TEXT("0000000000000000000000000000000000000000000000000000"
                                        "000000000000"),
                                OM_TEXT("ffff")),
                      NULL),
        0);
    om_store_free(s);
    expect_broken(e, NPACKETS + 1, "hash mismatch");

    free(row1);
    free(row7);
    free(orig4);
}

/* Appends n packets about fresh entities, one transaction each. */
static void append_packets(const char *url, int n)
{
    om_store *s = NULL;
    assert_int_equal(om_store_open(&s, url), 0);
    for (int i = 0; i < n; i++) {
        char eid[OM_UUID_LEN], id[OM_UUID_LEN];
        om_uuid4(eid);
        json_t *lineage = json_pack("{s:i}", "more", i);
        assert_int_equal(om_store_begin(s), 0);
        assert_int_equal(om_stardust_append(s, "clips", eid, lineage, NULL, id), 0);
        assert_int_equal(om_store_commit(s), 0);
        json_decref(lineage);
    }
    om_store_free(s);
}

/* `procs` processes append `each` packets at once, each through its own connection: the
 * head row serialises them, so the chain stays one line (verify checks every link). */
static void append_concurrently(const char *url, int procs, int each)
{
    pid_t pids[8];
    OM_ASSERT(procs <= 8);
    for (int p = 0; p < procs; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            om_store *s = NULL;
            if (om_store_open(&s, url))
                _exit(10);
            for (int i = 0; i < each; i++) {
                char eid[OM_UUID_LEN], id[OM_UUID_LEN];
                om_uuid4(eid);
                json_t *lineage = json_pack("{s:i, s:i}", "proc", p, "i", i);
                int rc = om_store_begin(s);
                if (rc == OM_OK)
                    rc = om_stardust_append(s, "jobs", eid, lineage, NULL, id);
                rc = rc == OM_OK ? om_store_commit(s) : rc;
                json_decref(lineage);
                if (rc) {
                    fprintf(stderr, "append (proc %d, #%d): %s\n", p, i, om_error_msg());
                    _exit(11);
                }
            }
            om_store_free(s);
            _exit(0);
        }
    }
    for (int p = 0; p < procs; p++) {
        int status = 0;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* Runs SQL the way an attacker with the database file would: SQLite through the sqlite3
 * API directly (no omniva code, no registered functions), PostgreSQL through libpq. */
static void attack(const ledger_env *e, const char *sql)
{
    if (!e->sqlite_path) {
        assert_int_equal(omt_exec(e->url, sql), 0);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(e->sqlite_path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "attack: %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
}

static char *hash_at(const ledger_env *e, int seq)
{
    char *sql = xasprintf("SELECT packet_hash FROM stardust_metadata WHERE seq = %d", seq);
    char *h = omt_query(e->url, sql);
    free(sql);
    assert_non_null(h);
    return h;
}

/* verify (with --anchor FILE, and --key PUB when given) must exit 1 with `what` on stderr
 * and, when it printed a verdict (the anchor file was readable), in that verdict. */
static void expect_refused(const ledger_env *e, const char *anchor, const char *key,
                           const char *what)
{
    char *out = NULL, *err = NULL;
    int rc = anchor ? (key ? omt_run(&out, &err, e->home, "ledger", "verify", "--anchor", anchor,
                                     "--key", key, NULL)
                           : omt_run(&out, &err, e->home, "ledger", "verify", "--anchor", anchor,
                                     NULL))
                    : omt_run(&out, &err, e->home, "ledger", "verify", NULL);
    int printed = out && *out;
    if (rc != 1 || (printed && !omt_has(out, what)) || !omt_has(err, what))
        fprintf(stderr, "verify%s%s: rc %d, want '%s'\n%s\n%s\n", anchor ? " --anchor " : "",
                anchor ? anchor : "", rc, what, out, err);
    assert_int_equal(rc, 1);
    assert_true(!printed || omt_has(out, what));
    assert_true(omt_has(err, what));
    free(out);
    free(err);
}

static void expect_anchor_ok(const ledger_env *e, const char *anchor, int packets)
{
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, e->home, "ledger", "verify", "--anchor", anchor, NULL);
    char *want = xasprintf("ledger ok: %d packets", packets);
    if (rc != 0 || !omt_has(out, want) || !omt_has(out, "anchor ok"))
        fprintf(stderr, "verify --anchor: rc %d\n%s\n%s\n", rc, out, err);
    assert_int_equal(rc, 0);
    assert_true(omt_has(out, want));
    assert_true(omt_has(out, "anchor ok: the ledger extends the anchor"));
    free(want);
    free(out);
    free(err);
}

/* A copy of the anchor at `path` with the first occurrence of `from` replaced by `to`. */
static char *altered_anchor(const ledger_env *e, const char *path, const char *tag,
                            const char *from, const char *to)
{
    char *text = NULL;
    assert_int_equal(om_read_file(path, 0, &text, NULL), 0);
    char *at = strstr(text, from);
    assert_non_null(at);
    char *copy = xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    char *out = xasprintf("%s/%s.json", e->home, tag);
    assert_int_equal(om_write_file_atomic(out, copy, strlen(copy)), 0);
    free(copy);
    free(text);
    return out;
}

static void anchor_suite(const ledger_env *e, const char *drop_guard_sql[],
                         const char *drop_head_guard_sql[])
{
    append_concurrently(e->url, 4, 3);
    expect_ok(e, 12);
    assert_int_equal(omt_query_int(e->url, "SELECT count(DISTINCT prev_hash) FROM "
                                           "stardust_metadata"),
                     12); /* no two packets claim the same predecessor */

    /* the head is a row of its own: the database refuses to delete it or move it back */
    assert_int_equal(omt_query_int(e->url, "SELECT packets FROM stardust_head"), 12);
    assert_true(omt_exec(e->url, "DELETE FROM stardust_head") != 0);
    assert_true(omt_exec(e->url, "UPDATE stardust_head SET packets = 11") != 0);

    /* anchor: a key pair appears in the workspace, the private half mode 0600 */
    char *anchor = xasprintf("%s/anchor-12.json", e->home);
    char *out = NULL, *err = NULL;
    assert_int_equal(omt_run(&out, &err, e->home, "ledger", "anchor", "--out", anchor, NULL), 0);
    assert_true(omt_has(out, "anchored 12 packets"));
    assert_true(omt_has(err, "created the ledger key pair"));
    free(out);
    free(err);
    char *keyfile = xasprintf("%s/keys/ledger_ed25519.pem", e->home);
    struct stat st;
    assert_int_equal(stat(keyfile, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *h12 = hash_at(e, 12);
    char *text = NULL;
    assert_int_equal(om_read_file(anchor, 0, &text, NULL), 0);
    json_t *aj = json_loads(text, 0, NULL);
    assert_non_null(aj);
    assert_int_equal(json_integer_value(json_object_get(aj, "packets")), 12);
    assert_string_equal(json_string_value(json_object_get(aj, "head_hash")), h12);
    json_decref(aj);
    free(text);
    expect_anchor_ok(e, anchor, 12);

    /* the ledger grows: it still extends the anchor (the same key is used again) */
    append_packets(e->url, 3);
    assert_int_equal(omt_run(&out, &err, e->home, "ledger", "anchor", NULL), 0);
    assert_false(omt_has(err, "created the ledger key pair"));
    assert_true(omt_has(out, "\"packets\": 15"));
    free(out);
    free(err);
    expect_anchor_ok(e, anchor, 15);

    /* a byte of the anchor changed: the signature no longer verifies */
    char *h13 = hash_at(e, 13);
    char *forged = altered_anchor(e, anchor, "forged-hash", h12, h13);
    expect_refused(e, forged, NULL, "signature does not verify");
    free(forged);
    forged = altered_anchor(e, anchor, "forged-count", "\"packets\": 12", "\"packets\": 13");
    expect_refused(e, forged, NULL, "signature does not verify");
    free(forged);
    forged = altered_anchor(e, anchor, "forged-sig", "\"signature\": \"", "\"signature\": \"0");
    expect_refused(e, forged, NULL, "signature is not 128 lower-case hex digits");
    free(forged);
    forged = altered_anchor(e, anchor, "not-json", "{", "[");
    expect_refused(e, forged, NULL, "is not JSON");
    free(forged);

    /* another key trusted (a second workspace's): refused, naming the key */
    char *other = omt_workspace("ledger-otherkey", NULL);
    assert_int_equal(omt_run(NULL, NULL, other, "ledger", "anchor", NULL), 0);
    char *other_pub = xasprintf("%s/keys/ledger_ed25519.pub.pem", other);
    expect_refused(e, anchor, other_pub, "signed by another key");
    om_rmtree(other);
    free(other);
    free(other_pub);

    /* the newest packet deleted, guard dropped first: the head names the truncation */
    char *h15 = hash_at(e, 15);
    char *row15 = row_json(e->url, 15);
    for (int i = 0; drop_guard_sql[i]; i++)
        attack(e, drop_guard_sql[i]);
    attack(e, "DELETE FROM stardust_metadata WHERE seq = 15");
    char *want = xasprintf("truncated: head says 15 packets ending in %s, table has 14", h15);
    expect_refused(e, NULL, NULL, want);
    expect_refused(e, NULL, NULL, "at seq 15: truncated");
    expect_refused(e, anchor, NULL, want); /* the anchor holds, the ledger does not */
    free(want);
    reinsert(e->url, row15);
    expect_ok(e, 15);
    expect_anchor_ok(e, anchor, 15);

    /* cut below the anchor, head rewritten to match: only the anchor can tell */
    for (int i = 0; drop_head_guard_sql[i]; i++)
        attack(e, drop_head_guard_sql[i]);
    char *h10 = hash_at(e, 10);
    attack(e, "DELETE FROM stardust_metadata WHERE seq > 10");
    char *sql = xasprintf("UPDATE stardust_head SET packets = 10, head_hash = '%s'", h10);
    attack(e, sql);
    free(sql);
    expect_ok(e, 10); /* consistent as far as the database can tell */
    expect_refused(e, anchor, NULL, "no longer contains the anchored head");
    expect_refused(e, anchor, NULL, "the ledger has no packet 12");
    /* a head behind the table (rows added past it, not through an append) is named too */
    attack(e, "UPDATE stardust_head SET packets = 9, head_hash = 'x'");
    expect_refused(e, NULL, NULL, "table has 10");

    free(h10);
    free(h12);
    free(h13);
    free(h15);
    free(row15);
    free(keyfile);
    free(anchor);
}

static void test_anchor_sqlite(void **state)
{
    (void)state;
    ledger_env e;
    e.home = omt_workspace("anchor-sqlite", NULL);
    e.url = xasprintf("sqlite://%s/omniva.db", e.home);
    e.sqlite_path = xasprintf("%s/omniva.db", e.home);
    const char *drop[] = {"DROP TRIGGER stardust_metadata_no_delete", NULL};
    const char *drop_head[] = {"DROP TRIGGER stardust_head_forward_only", NULL};
    anchor_suite(&e, drop, drop_head);
    om_rmtree(e.home);
    free(e.home);
    free(e.url);
    free(e.sqlite_path);
}

static void test_anchor_postgres(void **state)
{
    (void)state;
    harness_pg pg;
    if (harness_pg_start(&pg) != 0) {
        fprintf(stderr, "note: PostgreSQL could not be started; PostgreSQL anchor case "
                        "skipped\n");
        skip();
    }
    ledger_env e;
    e.home = omt_workspace("anchor-pg", "--db", pg.url, NULL);
    e.url = xstrdup(pg.url);
    e.sqlite_path = NULL;
    const char *drop[] = {"DROP TRIGGER stardust_metadata_no_delete ON stardust_metadata",
                          NULL};
    const char *drop_head[] = {"DROP TRIGGER stardust_head_forward_only ON stardust_head",
                               NULL};
    anchor_suite(&e, drop, drop_head);
    om_rmtree(e.home);
    free(e.home);
    free(e.url);
    harness_pg_stop(&pg);
}

static void test_ledger_sqlite(void **state)
{
    (void)state;
    ledger_env e;
    e.home = omt_workspace("ledger-sqlite", NULL);
    e.url = xasprintf("sqlite://%s/omniva.db", e.home);
    e.sqlite_path = NULL; /* this suite changes the database through om_store */
    const char *drop[] = {"DROP TRIGGER stardust_metadata_no_update",
                          "DROP TRIGGER stardust_metadata_no_delete", NULL};
    tamper_suite(&e, drop, "");
    om_rmtree(e.home);
    free(e.home);
    free(e.url);
}

static void test_ledger_postgres(void **state)
{
    (void)state;
    harness_pg pg;
    if (harness_pg_start(&pg) != 0) {
        fprintf(stderr, "note: PostgreSQL could not be started; PostgreSQL ledger case "
                        "skipped\n");
        skip();
    }
    ledger_env e;
    e.home = omt_workspace("ledger-pg", "--db", pg.url, NULL);
    e.url = xstrdup(pg.url);
    e.sqlite_path = NULL;
    char *cfg = xasprintf("%s/omniva.conf", e.home);
    char *text = NULL;
    assert_int_equal(om_read_file(cfg, 0, &text, NULL), 0);
    assert_true(omt_has(text, "postgres://")); /* init recorded the database it was given */
    free(text);
    free(cfg);
    const char *drop[] = {"DROP TRIGGER stardust_metadata_no_update ON stardust_metadata",
                          "DROP TRIGGER stardust_metadata_no_delete ON stardust_metadata",
                          NULL};
    tamper_suite(&e, drop, "::jsonb");
    om_rmtree(e.home);
    free(e.home);
    free(e.url);
    harness_pg_stop(&pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_sqlite),
        cmocka_unit_test(test_ledger_postgres),
        cmocka_unit_test(test_anchor_sqlite),
        cmocka_unit_test(test_anchor_postgres),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
