/*
 * cmd_ledger.c: `omniva ledger verify` (walk the hash chain, exit 1 naming the first bad
 * packet) and `omniva ledger show ENTITY_ID` (the packets about one entity).
 */
#include "base/common.h"
#include "cli/cli.h"
#include "cognition/stardust.h"

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

int cmd_ledger_verify(cli_ctx *c, cli_args *a)
{
    om_stardust_report rep;
    if (om_stardust_verify(c->ws.store, &rep))
        return cli_error_om("cannot verify the ledger");
    json_t *bad = NULL;
    if (!rep.ok && rep.bad_id[0] && om_uuid_valid(rep.bad_id))
        om_stardust_get(c->ws.store, rep.bad_id, &bad);
    if (cli_flag(a, "json")) {
        json_t *o = json_pack("{s:b, s:I}", "ok", rep.ok, "packets", (json_int_t)rep.packets);
        if (!rep.ok) {
            json_object_set_new(o, "bad_seq", json_integer(rep.bad_seq));
            json_object_set_new(o, "bad_id", json_string(rep.bad_id));
            json_object_set_new(o, "reason", json_string(rep.reason));
            json_object_set(o, "bad_packet", bad ? bad : json_null());
        }
        cli_print_json(o);
        json_decref(o);
    } else if (rep.ok) {
        printf("ledger ok: %lld packets, hash chain intact\n", (long long)rep.packets);
    } else {
        printf("ledger BROKEN at seq %lld (packet %s): %s\n%lld packets before it verified\n",
               (long long)rep.bad_seq, rep.bad_id, rep.reason, (long long)rep.packets);
        if (bad)
            print_packet(bad);
    }
    if (!rep.ok)
        cli_error("ledger verification failed at seq %lld (packet %s): %s",
                  (long long)rep.bad_seq, rep.bad_id, rep.reason);
    json_decref(bad);
    return rep.ok ? CLI_OK : CLI_FAIL;
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
