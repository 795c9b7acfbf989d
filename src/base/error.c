/* error.c: thread-local error slot behind error.h. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define OM_ERROR_MAX 2048

static _Thread_local char err_msg[OM_ERROR_MAX];
static _Thread_local int err_code;

int om_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_code = code;
    return code;
}

int om_error_wrap(int code, const char *fmt, ...)
{
    char prefix[OM_ERROR_MAX];
    char old[OM_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof(old));
    /* Truncation of an over-long chain is fine: the most specific context comes first. */
    size_t n = strlen(prefix);
    memcpy(err_msg, prefix, n + 1);
    if (old[0] && n + 2 < sizeof(err_msg)) {
        memcpy(err_msg + n, ": ", 2);
        size_t room = sizeof(err_msg) - n - 3, olen = strlen(old);
        if (olen > room)
            olen = room;
        memcpy(err_msg + n + 2, old, olen);
        err_msg[n + 2 + olen] = '\0';
    }
    err_code = code;
    return code;
}

const char *om_error_msg(void)
{
    return err_msg;
}

int om_error_code(void)
{
    return err_code;
}

void om_error_clear(void)
{
    err_msg[0] = '\0';
    err_code = 0;
}

const char *om_error_name(int code)
{
    switch (code) {
    case OM_OK: return "OK";
    case OM_ERROR: return "ERROR";
    case OM_ENOTFOUND: return "ENOTFOUND";
    case OM_EEXISTS: return "EEXISTS";
    case OM_EBUSY: return "EBUSY";
    case OM_EINVAL: return "EINVAL";
    case OM_ESTALE: return "ESTALE";
    case OM_EIO: return "EIO";
    case OM_ETIMEOUT: return "ETIMEOUT";
    case OM_EUNAVAIL: return "EUNAVAIL";
    case OM_EPERMANENT: return "EPERMANENT";
    default: return "EUNKNOWN";
    }
}
