/*
 * error.h: the one error convention of Omniva.
 *
 * Every fallible function returns 0 (OM_OK) on success or a negative OM_E* code, and leaves
 * a human-readable message in a thread-local error slot (libgit2's git_error_set style).
 * A caller that adds context uses om_error_wrap(), which prefixes the lower layer's message
 * instead of overwriting it: "loading config: /x/omniva.conf: line 3: unknown key 'foo'".
 * Messages are owned by the error slot; om_error_msg() returns a borrowed pointer valid
 * until the next om_error_* call on the same thread.
 */
#ifndef OMNIVA_BASE_ERROR_H
#define OMNIVA_BASE_ERROR_H

enum om_error_code {
    OM_OK = 0,
    OM_ERROR = -1,     /* generic runtime failure */
    OM_ENOTFOUND = -2, /* the named thing does not exist */
    OM_EEXISTS = -3,   /* a unique key already holds a row/job (idempotent no-op for callers) */
    OM_EBUSY = -4,     /* locked / try again */
    OM_EINVAL = -5,    /* bad input from the user or from outside (never a programming error) */
    OM_ESTALE = -6,    /* a lease or fencing token is no longer current: stop, do not write */
    OM_EIO = -7,       /* file system or network I/O */
    OM_ETIMEOUT = -8,  /* deadline passed */
    OM_EUNAVAIL = -9,  /* a service (database, Redis, program) cannot be reached */
    OM_EPERMANENT = -10 /* failure that retrying cannot fix: skip the retries */
};

/* Sets code and message; returns code so callers can `return om_error_set(...)`. */
int om_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with context ("context: old message"); returns code. */
int om_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *om_error_msg(void); /* borrowed; "" when none */
int om_error_code(void);
void om_error_clear(void);
const char *om_error_name(int code); /* "ENOTFOUND", ... */

#endif
