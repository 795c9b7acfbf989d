/*
 * stages.h: the pipeline stages (scrape, analyze, select, edit, schedule, upload).
 * Owned by the coordinator; each stage lives in src/stages/<name>.c and is registered with
 * the runtime (runtime/runtime.h) by om_stages_register_all().
 */
#ifndef OMNIVA_STAGES_STAGES_H
#define OMNIVA_STAGES_STAGES_H

/* Registers every pipeline stage with the runtime (om_runtime_register). Idempotent. */
void om_stages_register_all(void);

#include <stdint.h>

/* The re-scrape time bucket of `now_us` for an interval (stages/rescrape.c). */
int64_t om_rescrape_bucket(int64_t now_us, int64_t interval_s);

#endif
