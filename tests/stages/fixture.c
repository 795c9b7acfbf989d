/* fixture.c: the stage tests' shared workspace, store, queue, project and run_stage()
 * (see fixture.h). */
#include "fixture.h"

#include "base/fsutil.h"
#include "base/proc.h"
#include "stages/projects.h"

#include <stdio.h>
#include <string.h>

stage_fixture FX;

int fx_open(const char *tag, int pg, const char *brand_json)
{
    memset(&FX, 0, sizeof(FX));
    FX.pg = pg;
    FX.last_error = xstrdup("");
    if (pg && (harness_pg_start(&FX.pgs) != 0 || harness_redis_start(&FX.redis) != 0)) {
        fprintf(stderr, "fixture: PostgreSQL/Redis harness unavailable\n");
        return -1;
    }
    FX.home = harness_tmpdir(tag);
    FX.media = xasprintf("%s/media", FX.home);
    om_mkdirs(FX.media, 0755);
    FX.cfg = om_config_new(FX.home);
    om_config_set(FX.cfg, "media", "dir", FX.media);
    char *url = pg ? xstrdup(FX.pgs.url) : xasprintf("sqlite://%s/omniva.db", FX.home);
    int rc = om_store_open(&FX.st, url);
    free(url);
    if (rc == OM_OK)
        rc = om_store_migrate(FX.st, NULL);
    if (rc == OM_OK)
        rc = om_queue_open(&FX.q, pg ? FX.redis.url : "sqlite", FX.st);
    if (rc == OM_OK) {
        om_queue_set_backoff(FX.q, 1, 2); /* retries claimable at once */
        rc = om_project_create(FX.st, "Stage Test", brand_json, FX.home, FX.project);
    }
    if (rc != OM_OK) {
        fprintf(stderr, "fixture: %s\n", om_error_msg());
        return -1;
    }
    return 0;
}

void fx_close(void)
{
    om_queue_free(FX.q);
    om_store_free(FX.st);
    om_config_free(FX.cfg);
    if (FX.pg) {
        harness_pg_stop(&FX.pgs);
        harness_redis_stop(&FX.redis);
    }
    if (FX.home)
        om_rmtree(FX.home);
    free(FX.home);
    free(FX.media);
    free(FX.last_error);
    memset(&FX, 0, sizeof(FX));
}

int run_job(const om_stage *stage, const om_job *job, json_t *payload, json_t **result)
{
    om_job j = *job;
    json_t *p = payload ? json_incref(payload) : json_loads(job->payload, 0, NULL);
    assert_non_null(p);
    if (json_is_object(p) && !json_object_get(p, "project_id")) {
        json_t *c = json_deep_copy(p);
        json_decref(p);
        p = c;
        json_object_set_new(p, "project_id", json_string(FX.project));
    }
    j.payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    om_job_ctx ctx;
    assert_int_equal(om_job_ctx_init(&ctx, &j, stage, FX.st, FX.q, FX.cfg, &FX.cancel), OM_OK);
    om_error_clear();
    int rc = om_stage_run_inline(stage, &ctx);
    assert_false(om_store_in_txn(FX.st));
    snprintf(FX.last_job, sizeof(FX.last_job), "%s", j.id);
    FX.last_attempt = j.attempt;
    snprintf(FX.last_state, sizeof(FX.last_state), "%s", ctx.state ? ctx.state : "");
    free(FX.last_error);
    FX.last_error = xstrdup(rc ? om_error_msg() : "");
    if (rc == OM_OK && strcmp(ctx.state, "DONE"))
        fail_msg("%s returned OK in state %s", stage->type, ctx.state);
    if (rc == OM_OK && result) {
        *result = ctx.result;
        ctx.result = NULL;
    } else if (result) {
        *result = NULL;
    }
    om_job_ctx_release(&ctx);
    free(j.payload);
    return rc;
}

int run_stage(const om_stage *stage, json_t *payload, json_t **result)
{
    om_job job;
    memset(&job, 0, sizeof(job));
    om_uuid4(job.id);
    snprintf(job.type, sizeof(job.type), "%s", stage->type);
    job.attempt = 1;
    return run_job(stage, &job, payload, result);
}

int rerun_last(const om_stage *stage, json_t *payload, json_t **result)
{
    om_job job;
    memset(&job, 0, sizeof(job));
    snprintf(job.id, sizeof(job.id), "%s", FX.last_job);
    snprintf(job.type, sizeof(job.type), "%s", stage->type);
    job.attempt = 2;
    return run_job(stage, &job, payload, result);
}

void fx_exec(const char *sql, const om_val *p, size_t n)
{
    if (om_store_exec(FX.st, sql, p, n, NULL))
        fail_msg("%s: %s", sql, om_error_msg());
}

char *fx_value(const char *sql, const om_val *p, size_t n)
{
    char *v = NULL;
    int rc = om_store_query_value(FX.st, sql, p, n, &v);
    if (rc && rc != OM_ENOTFOUND)
        fail_msg("%s: %s", sql, om_error_msg());
    return v;
}

int64_t fx_count(const char *sql, const om_val *p, size_t n)
{
    char *v = fx_value(sql, p, n);
    int64_t c = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return c;
}

int64_t fx_job_logs(const char *like)
{
    return fx_count("SELECT count(*) FROM job_logs WHERE job_id = ? AND attempt = ? AND "
                    "message LIKE ?",
                    OM_PARAMS(OM_TEXT(FX.last_job), OM_INT(FX.last_attempt), OM_TEXT(like)));
}

void fx_assert_error(const char *needle)
{
    assert_string_equal(FX.last_state, "ERROR");
    if (!strstr(FX.last_error, needle))
        fail_msg("error \"%s\" does not say \"%s\"", FX.last_error, needle);
    char *like = xasprintf("%%%s%%", needle);
    int64_t n = fx_count("SELECT count(*) FROM job_logs WHERE job_id = ? AND state = 'ERROR' "
                         "AND attempt = ? AND message LIKE ?",
                         OM_PARAMS(OM_TEXT(FX.last_job), OM_INT(FX.last_attempt),
                                   OM_TEXT(like)));
    free(like);
    if (n < 1)
        fail_msg("no ERROR row in job_logs of job %s naming \"%s\"", FX.last_job, needle);
}

void fx_assert_done_early(void)
{
    assert_string_equal(FX.last_state, "DONE");
    assert_int_equal(fx_job_logs("DONE early at %"), 1);
    assert_int_equal(fx_job_logs("% -> %"), 0);
}

int fx_run_tool(const char *const *argv)
{
    om_proc_opts o = {0};
    o.argv = argv;
    o.timeout_ms = 300000;
    om_proc_result r;
    memset(&r, 0, sizeof(r));
    int rc = om_proc_run(&o, &r);
    int ok = rc == OM_OK && r.exit_code == 0;
    if (!ok)
        fprintf(stderr, "fixture: %s failed: %s\n", argv[0], r.err ? r.err : om_error_msg());
    om_proc_result_release(&r);
    return ok ? 0 : -1;
}
