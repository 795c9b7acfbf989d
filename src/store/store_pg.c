/*
 * store_pg.c: the PostgreSQL backend of the store (libpq). INTERIM: being written; until it
 * lands, opening a postgres:// URL fails with OM_EUNAVAIL saying so.
 */
#include "base/common.h"
#include "store/store_backend.h"

static int pg_open(om_store *s, const char *url)
{
    (void)s;
    return om_error_set(OM_EUNAVAIL, "store URL '%s': the PostgreSQL backend is not built yet",
                        url);
}

static void pg_close(om_store *s)
{
    (void)s;
}

struct pg_conn *om_store_pg_conn(om_store *s)
{
    (void)s;
    return NULL;
}

const om_store_backend om_store_backend_pg = {
    .version = OM_STORE_BACKEND_VERSION,
    .name = "postgres",
    .scheme = "postgres://",
    .open = pg_open,
    .close = pg_close,
};
