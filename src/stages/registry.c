/* registry.c: registers the pipeline stages with the worker runtime (the runtime's own
 * maintenance types are in src/runtime/builtin.c). */
#include "base/common.h"
#include "oversight/governance.h"
#include "runtime/runtime.h"
#include "stages/stages.h"

extern const om_stage om_stage_scrape, om_stage_analyze, om_stage_select, om_stage_edit,
    om_stage_schedule, om_stage_upload, om_stage_rescrape, om_stage_fetch;
extern const om_stage om_stage_retention; /* the data lifecycle (src/lifecycle) */
extern const om_stage om_stage_discovery; /* new creators for a project (discovery.c) */
extern const om_stage om_stage_stats;     /* our published clips' figures (stats.c) */

void om_stages_register_all(void)
{
    static const om_stage *const all[] = {&om_stage_rescrape, &om_stage_scrape, &om_stage_fetch,
                                          &om_stage_analyze,  &om_stage_select,
                                          &om_stage_edit,     &om_stage_schedule,
                                          &om_stage_upload};
    for (size_t i = 0; i < OM_ARRAY_LEN(all); i++)
        om_runtime_register(all[i]);
    om_runtime_register(&om_stage_retention);
    om_oversight_register_all(); /* paradox, governance (src/oversight) */
    om_runtime_register(&om_stage_discovery);
    om_runtime_register(&om_stage_stats);
}
