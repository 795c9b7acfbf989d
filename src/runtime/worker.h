/*
 * worker.h: runtime extras beyond runtime.h, for the CLI: enumerating the
 * registered stages. The stage structs are static storage owned by whoever registered them.
 */
#ifndef OMNIVA_RUNTIME_WORKER_H
#define OMNIVA_RUNTIME_WORKER_H

#include <stddef.h>

#include "runtime/runtime.h"

size_t om_runtime_count(void);
const om_stage *om_runtime_at(size_t i); /* NULL past the end; registration order */

#endif
