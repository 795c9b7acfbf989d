/*
 * stages.h: the pipeline stages (scrape, analyze, select, edit, schedule, upload).
 * Owned by the coordinator; each stage lives in src/stages/<name>.c and is registered with
 * the runtime (runtime/runtime.h) by om_stages_register_all().
 */
#ifndef OMNIVA_STAGES_STAGES_H
#define OMNIVA_STAGES_STAGES_H

/* Registers every pipeline stage with the runtime (om_runtime_register). Idempotent. */
void om_stages_register_all(void);

#endif
