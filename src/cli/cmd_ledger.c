/*
 * cmd_ledger.c: `omniva ledger verify [--anchor FILE [--key PUB]]` (walk the hash chain,
 * compare its end with the head, optionally prove it still extends a signed anchor; exit 1
 * naming the first bad packet), `omniva ledger anchor [--out FILE]` (a signed checkpoint of
 * the head) and `omniva ledger show ENTITY_ID` (the packets about one entity).
 * `ledger verify --archive FILE` checks a log archive (oversight/archive.h) instead.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "ledger/anchor.h"
#include "ledger/stardust.h"
#include "oversight/archive.h"

#define ANCHOR_FILE_CAP (64u << 10)

/* HOME/keys: where the workspace keeps the ledger's key pair. Caller frees. */
static char *key_dir(const cli_ws *ws)
{
    return xasprintf("%s/keys", om_config_home(ws->cfg));
}

static void print_packet(json_t *p)
{
    printf("packet %s  seq %lld  %s\n", json_string_value(json_object_get(p, "stardust_id")),
           (long long)json_integer_value(json_object_get(p, "seq")),
           json_string_value(json_object_get(p, "created_at")));
    printf("  entity:         %s %s\n", json_string_value(json_object_get(p, "entity_type")),
           json_string_value(json_object_get(p, "entity_id")));
    const char *keys[] = {"lineage", "decision_chain"};
    for (size_t k = 0; k < OM_ARRAY_LEN(keys); k++) {
        char *s = json_dumps(json_object_get(p, keys[k]), JSON_COMPACT | JSON_ENCODE_ANY | OM_JSON_REAL);
        printf("  %-15s %s\n", keys[k], s ? s : "null");
        free(s);
    }
    printf("  prev_hash:      %s\n  packet_hash:    %s\n",
           json_string_value(json_object_get(p, "prev_hash")),
           json_string_value(json_object_get(p, "packet_hash")));
}

/* Reads and parses an anchor file. Prints the error; returns CLI_OK or CLI_FAIL. */
static int read_anchor(const char *path, json_t **out)
{
    *out = NULL;
    char *text = NULL;
    if (om_read_file(path, ANCHOR_FILE_CAP, &text, NULL))
        return cli_error_om("cannot read the anchor");
    json_error_t jerr;
    *out = json_loads(text, 0, &jerr);
    free(text);
    if (!*out)
        return cli_error("the anchor %s is not JSON (line %d: %s): damaged or not an anchor",
                         path, jerr.line, jerr.text);
    return CLI_OK;
}

/* `ledger verify --archive FILE`: the archive's chain and its packet in the ledger. */
static int verify_archive(cli_ctx *c, cli_args *a, const char *file)
{
    json_t *rep = NULL;
    if (om_log_archive_verify(c->ws.store, file, &rep))
        return cli_error_om("cannot verify the archive");
    int ok = json_is_true(json_object_get(rep, "ok"));
    if (cli_flag(a, "json"))
        cli_print_json(rep);
    else if (ok)
        printf("archive ok: %lld logs rows, chain intact, ending in %s (ledger packet %s)\n",
               (long long)json_integer_value(json_object_get(rep, "rows")),
               json_string_value(json_object_get(rep, "head_hash")),
               json_string_value(json_object_get(rep, "packet")));
    else
        printf("archive FAILED: %s\n", json_string_value(json_object_get(rep, "error")));
    if (!ok)
        cli_error("archive %s: %s", file, json_string_value(json_object_get(rep, "error")));
    json_decref(rep);
    return ok ? CLI_OK : CLI_FAIL;
}

int cmd_ledger_verify(cli_ctx *c, cli_args *a)
{
    if (cli_get(a, "archive")) {
        if (cli_get(a, "anchor"))
            return cli_usage_error(c, "--archive and --anchor are separate checks");
        return verify_archive(c, a, cli_get(a, "archive"));
    }
    const char *anchor_path = cli_get(a, "anchor");
    if (cli_get(a, "key") && !anchor_path)
        return cli_usage_error(c, "--key goes with --anchor FILE");
    json_t *anchor = NULL;
    if (anchor_path && read_anchor(anchor_path, &anchor))
        return CLI_FAIL;
    cli_ws *ws = &c->ws;
    int rc = CLI_OK;
    om_stardust_report rep;
    om_anchor_report arep;
    memset(&rep, 0, sizeof(rep));
    memset(&arep, 0, sizeof(arep));
    char *pub = NULL;
    if (anchor) {
        char *dir = key_dir(ws);
        pub = cli_get(a, "key") ? xstrdup(cli_get(a, "key"))
                                : xasprintf("%s/%s", dir, OM_ANCHOR_PUB_FILE);
        free(dir);
        if (om_anchor_verify(ws->store, anchor, pub, &arep)) {
            rc = cli_error_om("cannot check the anchor");
            goto out;
        }
        rep = arep.ledger;
    } else if (om_stardust_verify(ws->store, &rep)) {
        rc = cli_error_om("cannot verify the ledger");
        goto out;
    }
    /* a malformed or foreign anchor stops before the ledger is read */
    int ledger_read = !anchor || arep.ledger_checked;
    int ok = anchor ? arep.ok : rep.ok;
    json_t *bad = NULL;
    if (ledger_read && !rep.ok && rep.bad_id[0] && om_uuid_valid(rep.bad_id))
        om_stardust_get(ws->store, rep.bad_id, &bad);
    if (cli_flag(a, "json")) {
        json_t *o = json_pack("{s:b}", "ok", ok);
        if (ledger_read) {
            json_object_set_new(o, "packets", json_integer(rep.packets));
            json_object_set_new(o, "head_packets", json_integer(rep.head_packets));
            json_object_set_new(o, "head_hash", json_string(rep.head_hash));
        }
        if (ledger_read && !rep.ok) {
            json_object_set_new(o, "bad_seq", json_integer(rep.bad_seq));
            json_object_set_new(o, "bad_id", json_string(rep.bad_id));
            json_object_set_new(o, "reason", json_string(rep.reason));
            json_object_set(o, "bad_packet", bad ? bad : json_null());
        }
        if (anchor) {
            json_t *an = json_pack("{s:b, s:I, s:s, s:s}", "ok", arep.ok, "packets",
                                   (json_int_t)arep.packets, "head_hash", arep.head_hash,
                                   "created_at", arep.created_at);
            if (!arep.ok)
                json_object_set_new(an, "reason", json_string(arep.reason));
            json_object_set_new(o, "anchor", an);
        }
        cli_print_json(o);
        json_decref(o);
    } else {
        if (!ledger_read)
            ; /* only the anchor's verdict below */
        else if (rep.ok)
            printf("ledger ok: %lld packets, hash chain intact, head matches\n",
                   (long long)rep.packets);
        else if (rep.bad_id[0])
            printf("ledger BROKEN at seq %lld (packet %s): %s\n%lld packets before it "
                   "verified\n",
                   (long long)rep.bad_seq, rep.bad_id, rep.reason, (long long)rep.packets);
        else
            printf("ledger BROKEN at seq %lld: %s\n%lld packets verified\n",
                   (long long)rep.bad_seq, rep.reason, (long long)rep.packets);
        if (bad)
            print_packet(bad);
        if (anchor && arep.ok)
            printf("anchor ok: the ledger extends the anchor of %s (%lld packets ending in "
                   "%s), signature valid\n",
                   arep.created_at, (long long)arep.packets, arep.head_hash);
        else if (anchor)
            printf("anchor FAILED: %s\n", arep.reason);
    }
    if (ledger_read && !rep.ok) {
        if (rep.bad_id[0])
            cli_error("ledger verification failed at seq %lld (packet %s): %s",
                      (long long)rep.bad_seq, rep.bad_id, rep.reason);
        else
            cli_error("ledger verification failed at seq %lld: %s", (long long)rep.bad_seq,
                      rep.reason);
    }
    if (anchor && !arep.ok)
        cli_error("anchor %s: %s", anchor_path, arep.reason);
    json_decref(bad);
    rc = ok ? CLI_OK : CLI_FAIL;
out:
    free(pub);
    json_decref(anchor);
    return rc;
}

int cmd_ledger_anchor(cli_ctx *c, cli_args *a)
{
    cli_ws *ws = &c->ws;
    int rc = CLI_OK;
    char *dir = key_dir(ws);
    int created = 0;
    json_t *anchor = NULL;
    if (om_anchor_key_ensure(dir, &created)) {
        rc = cli_error_om("cannot set up the ledger key in %s", dir);
    } else if (om_anchor_create(ws->store, dir, &anchor)) {
        rc = cli_error_om("cannot anchor the ledger");
    } else {
        if (created)
            fprintf(stderr, "omniva: created the ledger key pair %s/%s (keep it private) "
                            "and %s/%s\n",
                    dir, OM_ANCHOR_KEY_FILE, dir, OM_ANCHOR_PUB_FILE);
        char *text = json_dumps(anchor, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        const char *out = cli_get(a, "out");
        if (out) {
            char *body = xasprintf("%s\n", text);
            if (om_write_file_atomic(out, body, strlen(body)))
                rc = cli_error_om("cannot write the anchor");
            else
                printf("anchored %lld packets ending in %s into %s\n",
                       (long long)json_integer_value(json_object_get(anchor, "packets")),
                       json_string_value(json_object_get(anchor, "head_hash")), out);
            free(body);
        } else {
            printf("%s\n", text);
        }
        free(text);
    }
    json_decref(anchor);
    free(dir);
    return rc;
}

int check_entity_id(cli_ctx *c, cli_args *a)
{
    if (!om_uuid_valid(a->pos[0]))
        return cli_usage_error(c, "'%s' is not an entity id (a UUID)", a->pos[0]);
    return CLI_OK;
}

int cmd_ledger_show(cli_ctx *c, cli_args *a)
{
    const char *id = a->pos[0];
    int rc = CLI_OK;
    json_t *arr = NULL;
    if (om_stardust_for_entity(c->ws.store, id, &arr)) {
        rc = cli_error_om("cannot read the ledger");
    } else if (cli_flag(a, "json")) {
        cli_print_json(arr);
    } else if (json_array_size(arr) == 0) {
        printf("no ledger packets about %s\n", id);
    } else {
        size_t i;
        json_t *p;
        json_array_foreach(arr, i, p) print_packet(p);
    }
    json_decref(arr);
    return rc;
}
