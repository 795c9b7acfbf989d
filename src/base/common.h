/*
 * common.h: what nearly every Omniva .c file needs: errors, allocation, logging, time,
 * ids, and the banned-function guard. Include it first thing in a .c file.
 */
#ifndef OMNIVA_BASE_COMMON_H
#define OMNIVA_BASE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/timeutil.h"
#include "base/banned.h"

/* Programming errors (never runtime conditions) abort with location (libgit2 assert style). */
#define OM_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "omniva: BUG: %s:%d: assertion failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                                      \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
