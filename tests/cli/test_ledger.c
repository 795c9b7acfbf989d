/*
 * test_ledger.c: the Stardust ledger's hash chain and `omniva ledger verify|show`, on SQLite
 * and on PostgreSQL (a throw-away server from the harness): the database refuses UPDATE and
 * DELETE; with the guard dropped, an altered packet, a removed packet, a removed first packet,
 * a forged packet whose own hash was recomputed, and an appended packet with a wrong link are
 * each reported at the right seq with exit 1; repairing the damage verifies again. The
 * packet hash is recomputed here independently from the formula documented in stardust.h.
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

#define NPACKETS 12

typedef struct ledger_env {
    char *home;
    char *url;
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

static void test_ledger_sqlite(void **state)
{
    (void)state;
    ledger_env e;
    e.home = omt_workspace("ledger-sqlite", NULL);
    e.url = xasprintf("sqlite://%s/omniva.db", e.home);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
