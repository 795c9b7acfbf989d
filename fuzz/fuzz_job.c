/* fuzz_job.c: libFuzzer harness for the job envelope: a job's payload text as the runtime
 * parses it before handing it to a stage (om_job_envelope_parse in src/runtime/jobctx.c:
 * trace_id, project_id, parents) and the entity fields copied into its log events
 * (rt_entity_fields in src/runtime/events.c). Payloads come from the queue, which a
 * cluster shares with other machines: garbage is OM_EINVAL "malformed payload: ...". */
#include "base/common.h"
#include "base/log.h"
#include "runtime/rt_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    om_log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size); /* jobs.payload is TEXT */
    om_job_envelope env;
    int rc = om_job_envelope_parse(text, "9b2d6f1e-3c4a-4b5d-8e6f-7a8b9c0d1e2f", &env);
    if (rc != OM_OK) {
        OM_ASSERT(rc == OM_EINVAL && !strncmp(om_error_msg(), "malformed payload: ", 19));
        OM_ASSERT(!env.payload && !env.parents);
    } else {
        OM_ASSERT(json_is_object(env.payload) && json_is_array(env.parents));
        OM_ASSERT(env.trace_id && env.project_id);
        /* the worker copies them into fixed-size log context fields */
        om_log_context *lc = om_log_ctx();
        snprintf(lc->trace_id, sizeof(lc->trace_id), "%s", env.trace_id);
        snprintf(lc->project_id, sizeof(lc->project_id), "%s", env.project_id);
        json_t *fields = json_object();
        rt_entity_fields(env.payload, fields);
        const char *key;
        json_t *v;
        json_object_foreach(fields, key, v)
        {
            OM_ASSERT(json_is_string(v) && strcmp(key, "trace_id"));
        }
        json_decref(fields);
        om_log_ctx_clear();
        om_job_envelope_release(&env);
    }
    free(text);
    om_error_clear();
    return 0;
}
