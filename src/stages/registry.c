/* registry.c: registers the pipeline stages with the worker runtime (filled in by the
 * coordinator as stages land; the runtime's own maintenance types are in src/runtime). */
#include "base/common.h"
#include "stages/stages.h"

void om_stages_register_all(void)
{
}
