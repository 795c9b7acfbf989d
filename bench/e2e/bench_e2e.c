/*
 * bench_e2e.c: a 10-minute talk source to finished clips, end to end, on the embedded
 * default: generate the talk (espeak-ng speech, no subtitles, so pocketsphinx transcribes it),
 * then time `omniva run --once --now` from scrape to export. Goal (issue #3): 5 finished
 * clips in under 4 minutes wall on 2 cores. Prints the wall time, the time each stage's jobs
 * took (from the jobs table) and the ratio to the goal.
 *
 *   bench_e2e [--omniva PATH] [--minutes M] [--keep]
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "stages/demo.h"
#include "store/store.h"

#include <unistd.h>

static int run(const char *const *argv, int quiet)
{
    om_proc_result r;
    int rc = om_proc_run(&(om_proc_opts){.argv = argv, .timeout_ms = 3600000}, &r);
    if (rc == OM_OK && r.exit_code != 0) {
        fprintf(stderr, "%s failed (%d):\n%s\n", argv[1], r.exit_code,
                r.err_len > 3000 ? r.err + r.err_len - 3000 : r.err);
        rc = OM_ERROR;
    } else if (!quiet && r.out) {
        fputs(r.out, stdout);
    }
    om_proc_result_release(&r);
    return rc;
}

int main(int argc, char **argv)
{
    const char *bin = "./omniva";
    double minutes = 10;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--omniva") && i + 1 < argc)
            bin = argv[++i];
        else if (!strcmp(argv[i], "--minutes") && i + 1 < argc)
            minutes = atof(argv[++i]);
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_e2e [--omniva PATH] [--minutes M] [--keep]\n");
            return 2;
        }
    }
    char tmpl[] = "/tmp/omniva-bench-e2e-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    char *src = xasprintf("%s/talk", tmpl), *brand = xasprintf("%s/brand.json", tmpl);
    char *url = xasprintf("file://%s", src);
    printf("generating a %.0f-minute talk...\n", minutes);
    fflush(stdout);
    if (om_demo_make_talk(src, "talk", minutes)) {
        fprintf(stderr, "%s\n", om_error_msg());
        return 1;
    }
    /* the demo brand, asking for five clips from the one source */
    json_t *b = json_loads(om_demo_brand_json(), 0, NULL);
    json_object_set_new(b, "clips_per_video", json_integer(5));
    json_object_set_new(b, "posts_per_day", json_integer(10));
    char *bt = json_dumps(b, 0);
    om_write_file_atomic(brand, bt, strlen(bt));
    free(bt);
    json_decref(b);
    const char *init[] = {bin, "init", tmpl, NULL};
    const char *proj[] = {bin, "--home", tmpl, "project", "create", "bench", "--brand", brand,
                          NULL};
    const char *cre[] = {bin, "--home", tmpl, "creator", "add", "bench", url, NULL};
    const char *go[] = {bin, "--home", tmpl, "--quiet", "run", "--once", "--now", NULL};
    if (run(init, 1) || run(proj, 1) || run(cre, 1))
        return 1;
    int64_t t0 = om_mono_ms();
    if (run(go, 1))
        return 1;
    double wall = (double)(om_mono_ms() - t0) / 1000.0;

    char *db = xasprintf("sqlite://%s/omniva.db", tmpl);
    om_store *s = NULL;
    om_rows *r = NULL;
    int64_t clips = 0;
    if (om_store_open(&s, db) == OM_OK) {
        char *v = NULL;
        if (om_store_query_value(s, "SELECT count(*) FROM clips WHERE status = 'PUBLISHED'",
                                 NULL, 0, &v) == OM_OK)
            clips = atoll(v);
        free(v);
        if (om_store_query(s, "SELECT type, count(*), state FROM jobs GROUP BY type, state "
                              "ORDER BY type", NULL, 0, &r) == OM_OK)
            for (size_t i = 0; i < om_rows_count(r); i++)
                printf("  jobs %-10s %-6s %s\n", om_rows_get(r, i, 0), om_rows_get(r, i, 2),
                       om_rows_get(r, i, 1));
        om_rows_free(r);
        om_store_free(s);
    }
    printf("10-minute talk -> %lld finished clips in %.1f s wall (goal: 5 clips in 240 s; "
           "goal/ours = %.2f)\n",
           (long long)clips, wall, 240.0 / wall);
    if (!keep)
        om_rmtree(tmpl);
    else
        printf("kept %s\n", tmpl);
    free(src);
    free(brand);
    free(url);
    free(db);
    return clips >= 5 ? 0 : 1;
}
