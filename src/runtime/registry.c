/* registry.c: the stage registry (job type -> om_stage). Registration happens at start-up
 * from one thread; lookups afterwards are read-only. */
#include "base/common.h"
#include "base/config.h"
#include "runtime/runtime.h"
#include "runtime/worker.h"

#define RT_MAX_STAGES 64

static const om_stage *stages[RT_MAX_STAGES];
static size_t nstages;

void om_runtime_register(const om_stage *stage)
{
    OM_ASSERT(stage && stage->type && stage->steps && stage->steps[0].state);
    for (size_t i = 0; i < nstages; i++)
        if (!strcmp(stages[i]->type, stage->type)) {
            stages[i] = stage;
            return;
        }
    OM_ASSERT(nstages < RT_MAX_STAGES);
    stages[nstages++] = stage;
}

const om_stage *om_runtime_find(const char *type)
{
    for (size_t i = 0; type && i < nstages; i++)
        if (!strcmp(stages[i]->type, type))
            return stages[i];
    /* "TYPE.gpu": the GPU queue namespace of a stage that has one */
    size_t n = type ? strlen(type) : 0, sl = strlen(OM_GPU_SUFFIX);
    if (n > sl && !strcmp(type + n - sl, OM_GPU_SUFFIX))
        for (size_t i = 0; i < nstages; i++)
            if (stages[i]->gpu_setting && strlen(stages[i]->type) == n - sl &&
                !strncmp(stages[i]->type, type, n - sl))
                return stages[i];
    return NULL;
}

const char *om_runtime_route(const om_config *cfg, const char *type, char *buf, size_t bufsize)
{
    const om_stage *st = NULL;
    for (size_t i = 0; type && i < nstages && !st; i++)
        if (!strcmp(stages[i]->type, type))
            st = stages[i];
    if (st && st->gpu_setting && cfg && om_config_bool(cfg, st->gpu_setting))
        snprintf(buf, bufsize, "%s%s", type, OM_GPU_SUFFIX);
    else
        snprintf(buf, bufsize, "%s", type);
    return buf;
}

size_t om_runtime_count(void)
{
    return nstages;
}

const om_stage *om_runtime_at(size_t i)
{
    return i < nstages ? stages[i] : NULL;
}
