/*
 * test_infinity.c: Infinity (src/oversight/infinity.h) with real workers (`omniva worker`
 * processes, the governance duty ticking every second), built twice like test_eclipse:
 * INFINITY_PG 0 on SQLite, 1 on PostgreSQL + Redis (the limits live in the shared store).
 *   - backpressure: 300 scrape jobs while 8 real edits (1080x1920 renders of a generated
 *     source, one editor) keep the edit queue deep: scrapes are claimed at the bucket's rate
 *     while it is deep and much faster once Infinity lifts the limit;
 *   - a media folder that fills (a small tmpfs; without mount rights, media.min_free_mb set
 *     above the folder's free space): fetches stop with a disk_low incident, nothing
 *     half-written, and resume after a cleanup;
 *   - a failing renderer: edits paused (Eclipse's pause) before the queued ones burn attempts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "harness/harness.h"
#include "omtest.h"
#include "ows.h"
#include "oversight/incidents.h"
#include "oversight/infinity.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#ifndef INFINITY_PG
#define INFINITY_PG 0
#endif

typedef struct ws {
    char *home;
    om_config *cfg;
    om_store *s;
    om_queue *q;
    char project[OM_UUID_LEN], creator[OM_UUID_LEN];
} ws;

static void ws_init(ws *w, const char *tag, const char *const *settings)
{
    memset(w, 0, sizeof(*w));
    w->home = ows_workspace(tag, NULL);
    omt_conf_append(w->home, "infinity", "load_high", "1000"); /* a shared machine's load */
    omt_conf_append(w->home, "infinity", "mem_min_mb", "0");
    for (size_t i = 0; settings && settings[i]; i += 3)
        omt_conf_append(w->home, settings[i], settings[i + 1], settings[i + 2]);
}

static void ws_connect(ws *w)
{
    ows_connect(w->home, &w->cfg, &w->s, &w->q);
}

static void ws_close(ws *w)
{
    ows_release(w->home, w->cfg, w->s, w->q);
}

static void run_ok(ws *w, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, w->home, args);
    if (rc != 0)
        fail_msg("omniva %s %s: exit %d\nstdout: %s\nstderr: %s", args[0], args[1] ? args[1] : "",
                 rc, out, err);
    free(out);
    free(err);
}

static int64_t qint(ws *w, const char *sql)
{
    char *v = NULL;
    OK(om_store_query_value(w->s, sql, NULL, 0, &v));
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static int64_t njobs(ws *w, const char *type, const char *state)
{
    om_queue_filter f = {state, type, 1000};
    om_job_list l = {NULL, 0};
    OK(om_queue_list(w->q, &f, &l));
    int64_t n = (int64_t)l.n;
    om_job_list_free(&l);
    return n;
}

/* The limit Infinity holds on type: 1 with conc and rate filled, 0 when none. */
static int limit_of(ws *w, const char *type, int64_t *conc, double *rate)
{
    om_queue_limit *l = NULL;
    size_t n = 0;
    OK(om_queue_limits(w->q, &l, &n));
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i].type, type) && !strcmp(l[i].set_by, "infinity")) {
            found = 1;
            if (conc)
                *conc = l[i].max_concurrency;
            if (rate)
                *rate = l[i].rate_per_s;
        }
    om_queue_limits_free(l, n);
    return found;
}

/* A project "acme" following a local folder creator. */
static void project_with_folder(ws *w, const char *folder)
{
    char *url = xasprintf("file://%s", folder);
    OK(om_mkdirs(folder, 0755));
    run_ok(w, (const char *[]){"--log-format", "none", "project", "create", "acme", NULL});
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, w->home, "--log-format", "none", "creator", "add", "acme",
                             url, "--json", NULL),
                     0);
    json_t *cj = json_loads(out, 0, NULL);
    snprintf(w->creator, sizeof(w->creator), "%s",
             json_string_value(json_object_get(cj, "creator_id")));
    snprintf(w->project, sizeof(w->project), "%s",
             json_string_value(json_array_get(json_object_get(cj, "projects"), 0)));
    json_decref(cj);
    free(out);
    free(url);
}

static void ffmpeg_ok(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 180000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code != 0)
        fail_msg("ffmpeg failed: %s", r.err);
    om_proc_result_release(&r);
}

/* A video of `seconds` at `bitrate` (e.g. "6M"): testsrc2 + a tone. */
static void make_video(const char *path, const char *size, int seconds, const char *bitrate,
                       const char *comment)
{
    char d[64], src[96], tone[96];
    snprintf(d, sizeof(d), "%d", seconds);
    snprintf(src, sizeof(src), "testsrc2=s=%s:r=25:d=%d", size, seconds);
    snprintf(tone, sizeof(tone), "sine=f=440:sample_rate=44100:d=%d", seconds);
    char meta[96];
    snprintf(meta, sizeof(meta), "comment=%s", comment);
    const char *a[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                       src, "-f", "lavfi", "-i", tone, "-c:v", "libx264", "-preset", "ultrafast",
                       "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", "1M", "-c:a", "aac",
                       "-metadata", meta, "-shortest", path, NULL};
    ffmpeg_ok(a);
}

/* A post + video of the creator for `path`; returns the video id in vid. */
static void video_row(ws *w, const char *path, const char *post_key, char vid[OM_UUID_LEN])
{
    char post[OM_UUID_LEN], sum[OM_SHA256_HEX_LEN] = "0";
    om_uuid4(post);
    om_uuid4(vid);
    if (om_sha256_file(path, sum) != OM_OK)
        memset(sum, 'e', 64), sum[64] = '\0';
    OK(om_store_exec(w->s,
                     "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
                     "VALUES (?, ?, 'local', ?, 'file:///x')",
                     OM_PARAMS(OM_TEXT(post), OM_TEXT(w->creator), OM_TEXT(post_key)), NULL));
    OK(om_store_exec(w->s,
                     "INSERT INTO videos (video_id, post_id, file_path, duration_seconds, "
                     "resolution, checksum) VALUES (?, ?, ?, 8, '640x360', ?)",
                     OM_PARAMS(OM_TEXT(vid), OM_TEXT(post), OM_TEXT(path), OM_TEXT(sum)), NULL));
}

/* n clips of the video (starts from `first` on, distinct), each with an edit job. */
static void edits(ws *w, const char *vid, int first, int n, int max_attempts)
{
    om_job_spec *specs = xcalloc((size_t)n, sizeof(*specs));
    char **payloads = xcalloc((size_t)n, sizeof(*payloads));
    for (int i = 0; i < n; i++) {
        char clip[OM_UUID_LEN];
        om_uuid4(clip);
        OK(om_store_exec(w->s,
                         "INSERT INTO clips (clip_id, video_id, start_time, end_time, status) "
                         "VALUES (?, ?, ?, 6.5, 'SELECTED')",
                         OM_PARAMS(OM_TEXT(clip), OM_TEXT(vid), OM_REAL(0.2 + 0.1 * (first + i))), NULL));
        payloads[i] = xasprintf("{\"clip_id\": \"%s\", \"project_id\": \"%s\"}", clip, w->project);
        om_job_spec sp = OM_JOB_SPEC_INIT;
        sp.type = "edit";
        sp.payload = payloads[i];
        sp.max_attempts = max_attempts;
        specs[i] = sp;
    }
    OK(om_queue_enqueue_batch(w->q, specs, (size_t)n, NULL));
    for (int i = 0; i < n; i++)
        free(payloads[i]);
    free(payloads);
    free(specs);
}

static void governance_infinity(ws *w)
{
    om_job_spec sp = OM_JOB_SPEC_INIT;
    sp.type = "governance";
    sp.payload = "{\"duty\": \"infinity\", \"interval_s\": 1}";
    sp.unique_key = "test-infinity";
    OK(om_queue_enqueue(w->q, &sp, NULL, NULL));
}

static pid_t spawn(ws *w, const char *types, const char *conc, const char *const *env)
{
    char *log = xasprintf("%s/worker-%s.log", w->home, types);
    pid_t pid = omt_spawn(w->home, log, env,
                          (const char *[]){"--log-format", "none", "worker", "--types", types,
                                           "--concurrency", conc, NULL});
    free(log);
    assert_true(pid > 0);
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    if (omt_wait(pid, 60000) < 0)
        fail_msg("worker %d did not stop", (int)pid);
}

static double now_s(void)
{
    return (double)om_mono_ms() / 1000.0;
}

/* ---- backpressure ---- */

static void test_backpressure_flood(void **state)
{
    (void)state;
    ws w;
    ws_init(&w, "inf-flood",
            (const char *const[]){"infinity", "edit_depth_high", "5", "infinity",
                                  "edit_depth_low", "1", "infinity", "backpressure_rate", "1",
                                  "editor", "preset", "ultrafast", NULL});
    ws_connect(&w);
    char *folder = xasprintf("%s/empty-folder", w.home);
    project_with_folder(&w, folder);
    char *src = xasprintf("%s/source.mp4", w.home);
    make_video(src, "640x360", 8, "800k", "src");
    char vid[OM_UUID_LEN];
    video_row(&w, src, "src", vid);
    edits(&w, vid, 0, 8, 1);

    /* a tick now: the edit queue is deep, scrape and fetch get the bucket */
    json_t *rep = NULL;
    OK(om_infinity_tick(w.s, w.q, w.cfg, &rep));
    assert_int_equal(json_array_size(json_object_get(rep, "adjustments")), 2);
    assert_true(json_real_value(json_object_get(rep, "score")) >= 1.0);
    json_decref(rep);
    double rate = 0;
    int64_t conc = 0;
    assert_true(limit_of(&w, "scrape", &conc, &rate));
    assert_true(rate > 0.99 && rate < 1.01);
    assert_int_equal(conc, -1);
    assert_true(limit_of(&w, "fetch", NULL, NULL));
    assert_int_equal(qint(&w, "SELECT count(*) FROM logs WHERE source = 'infinity'"), 2);
    assert_int_equal(qint(&w, "SELECT count(*) FROM stardust_metadata WHERE entity_type = "
                              "'job_type_limits'"),
                     2);
    /* a second tick with nothing changed records nothing */
    OK(om_infinity_tick(w.s, w.q, w.cfg, &rep));
    assert_int_equal(json_array_size(json_object_get(rep, "adjustments")), 0);
    json_decref(rep);

    enum { N = 300 };
    om_job_spec specs[N];
    char *payload = xasprintf("{\"project_id\": \"%s\", \"creator_id\": \"%s\"}", w.project,
                              w.creator);
    for (int i = 0; i < N; i++) {
        om_job_spec sp = OM_JOB_SPEC_INIT;
        sp.type = "scrape";
        sp.payload = payload;
        sp.max_attempts = 1;
        specs[i] = sp;
    }
    OK(om_queue_enqueue_batch(w.q, specs, N, NULL));
    governance_infinity(&w);
    pid_t pe = spawn(&w, "edit", "1", NULL), ps = spawn(&w, "scrape", "2", NULL),
          pg = spawn(&w, "governance", "1", NULL);

    double t0 = now_s(), t_lift = 0, t_end = 0, t_on = t0;
    int64_t d0 = njobs(&w, "scrape", "done"), d_lift = 0, d_on = d0, edits_at_lift = -1;
    for (;;) {
        om_sleep_ms(200);
        int64_t done = njobs(&w, "scrape", "done");
        double t = now_s();
        if (!t_lift && !limit_of(&w, "scrape", NULL, NULL)) {
            t_lift = t;
            d_lift = done;
            edits_at_lift = njobs(&w, "edit", "ready");
        } else if (!t_lift) {
            /* still limited after this count: every scrape counted ran under the limit
             * (the sample that sees the lift may already hold a burst of faster ones) */
            t_on = t;
            d_on = done;
        }
        if (done >= N) {
            t_end = now_s();
            break;
        }
        if (now_s() - t0 > 400)
            fail_msg("scrapes not done after 400 s (%lld of %d; limit lifted: %s)",
                     (long long)done, N, t_lift ? "yes" : "no");
    }
    stop(ps);
    stop(pe);
    stop(pg);
    assert_true(t_lift > 0);
    assert_true(edits_at_lift >= 0 && edits_at_lift <= 1);
    double bp = t_on > t0 ? (double)(d_on - d0) / (t_on - t0) : 0;
    double after = (double)(N - d_lift) / (t_end - t_lift);
    fprintf(stderr, "backpressure: %lld scrapes in %.1f s (%.2f/s) while edits were deep, then "
                    "%lld in %.1f s (%.2f/s)\n",
            (long long)(d_lift - d0), t_lift - t0, bp, (long long)(N - d_lift), t_end - t_lift,
            after);
    assert_true(t_lift - t0 > 5);   /* the edits kept it deep a while */
    assert_true(bp <= 1.0 * 1.3 + 2.0 / (t_on - t0)); /* the bucket: 1/s + burst */
    assert_true(after >= 2.5 * bp);                    /* and it recovered */
    /* one lift, one logs row (the tick ran in a governance job: no second row via the sink) */
    assert_int_equal(qint(&w, "SELECT count(*) FROM logs WHERE source = 'infinity' AND message "
                              "LIKE '%limits of scrape lifted%'"),
                     1);
    assert_true(qint(&w, "SELECT count(*) FROM stardust_metadata WHERE entity_type = "
                         "'job_type_limits'") >= 4);
    assert_int_equal(njobs(&w, "edit", "done"), 8);
    free(payload);
    free(src);
    free(folder);
    ws_close(&w);
}

/* ---- a media folder that fills ---- */

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' &&
            (!suffix || (strlen(e->d_name) > strlen(suffix) &&
                         !strcmp(e->d_name + strlen(e->d_name) - strlen(suffix), suffix))))
            n++;
    closedir(d);
    return n;
}

static int64_t open_incident(ws *w, const char *kind)
{
    json_t *l = NULL;
    OK(om_incident_list(w->s, 1, kind, &l));
    int64_t n = (int64_t)json_array_size(l);
    json_decref(l);
    return n;
}

static void test_disk_fills(void **state)
{
    (void)state;
    enum { VIDEOS = 8 };
    ws w;
    ws_init(&w, "inf-disk",
            (const char *const[]){"infinity", "disk_resume_margin_mb", "2", "infinity",
                                  "disk_retry_s", "2", NULL});
    char *media = xasprintf("%s/media", w.home);
    OK(om_mkdirs(media, 0755));
    int mounted = mount("tmpfs", media, "tmpfs", 0, "size=24m") == 0;
    char min_env[64] = "";
    if (mounted) {
        omt_conf_append(w.home, "media", "min_free_mb", "9");
    } else {
        /* no mount rights: a threshold above the folder's free space */
        double free_mb = 0;
        OK(om_infinity_free_mb(media, &free_mb));
        snprintf(min_env, sizeof(min_env), "OMNIVA_MEDIA_MIN_FREE_MB=%.0f", free_mb + 1000);
        fprintf(stderr, "note: tmpfs not mountable (%s); media.min_free_mb above the free "
                        "space instead\n",
                strerror(errno));
    }
    ws_connect(&w);
    char *folder = xasprintf("%s/footage", w.home);
    project_with_folder(&w, folder);
    for (int i = 0; i < VIDEOS; i++) {
        char *p = xasprintf("%s/clip%d.mp4", folder, i), c[16];
        snprintf(c, sizeof(c), "v%d", i);
        if (i == 0)
            make_video(p, "640x360", 4, "5500k", c);
        else { /* the same pictures, another comment: other bytes, other SHA-256 */
            char *first = xasprintf("%s/clip0.mp4", folder), meta[32];
            snprintf(meta, sizeof(meta), "comment=%s", c);
            ffmpeg_ok((const char *[]){"ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                                       "-i", first, "-c", "copy", "-metadata", meta, p, NULL});
            free(first);
        }
        free(p);
    }
    char *payload = xasprintf("{\"project_id\": \"%s\", \"creator_id\": \"%s\"}", w.project,
                              w.creator);
    run_ok(&w, (const char *[]){"--log-format", "none", "jobs", "enqueue", "scrape", "--payload",
                                payload, NULL});
    run_ok(&w, (const char *[]){"--log-format", "none", "worker", "--once", "--types", "scrape",
                                NULL});
    assert_int_equal(njobs(&w, "fetch", NULL), VIDEOS);
    governance_infinity(&w);
    const char *env[] = {min_env, NULL};
    pid_t pid = spawn(&w, "fetch,governance", "1", min_env[0] ? env : NULL);

    /* fill: fetches stop with an incident */
    double t0 = now_s();
    int64_t conc = -1;
    while (!(open_incident(&w, "disk_low") == 1 && limit_of(&w, "fetch", &conc, NULL) &&
             njobs(&w, "fetch", "leased") == 0)) {
        if (now_s() - t0 > 180)
            fail_msg("no disk_low stop after 180 s (%lld videos)",
                     (long long)qint(&w, "SELECT count(*) FROM videos"));
        om_sleep_ms(250);
    }
    om_sleep_ms(2500); /* a deferred fetch that comes due meets the stop */
    assert_int_equal(conc, 0);
    int64_t stored = qint(&w, "SELECT count(*) FROM videos");
    assert_true(stored < VIDEOS);
    if (mounted)
        assert_true(stored >= 4); /* 24 MiB, ~3 MiB each, stop below 9 free */
    assert_int_equal(njobs(&w, "fetch", "dead"), 0);
    int64_t waiting = njobs(&w, "fetch", "ready") + njobs(&w, "fetch", "delayed");
    assert_true(waiting >= VIDEOS - stored);
    /* nothing half-written: no partial download, every source file has its row */
    char *sources = xasprintf("%s/sources", media), *partial = xasprintf("%s/.partial", sources);
    assert_int_equal(count_files(partial, NULL), 0);
    assert_int_equal(count_files(sources, ".mp4"), stored);
    double free_mb = 0;
    OK(om_infinity_free_mb(media, &free_mb));
    if (mounted)
        assert_true(free_mb > 2); /* stopped before the disk was full */
    assert_true(qint(&w, "SELECT count(*) FROM logs WHERE source = 'infinity' AND message LIKE "
                         "'%fetch stopped%'") >= 1);

    /* cleanup: space again, the fetches resume, the incident is resolved */
    if (mounted) {
        DIR *d = opendir(sources);
        struct dirent *e;
        int removed = 0;
        while ((e = readdir(d)) && removed < 4)
            if (strstr(e->d_name, ".mp4")) {
                char *p = xasprintf("%s/%s", sources, e->d_name);
                unlink(p);
                free(p);
                removed++;
            }
        closedir(d);
    } else {
        stop(pid);
        pid = spawn(&w, "fetch,governance", "1", NULL);
    }
    t0 = now_s();
    while (qint(&w, "SELECT count(*) FROM videos") < VIDEOS) {
        if (now_s() - t0 > 180)
            fail_msg("fetches did not resume after the cleanup (%lld videos)",
                     (long long)qint(&w, "SELECT count(*) FROM videos"));
        om_sleep_ms(250);
    }
    stop(pid);
    assert_int_equal(open_incident(&w, "disk_low"), 0);
    json_t *l = NULL;
    OK(om_incident_list(w.s, 0, "disk_low", &l));
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "resolved_by")),
                        "infinity");
    json_decref(l);
    assert_false(limit_of(&w, "fetch", NULL, NULL));
    assert_int_equal(count_files(partial, NULL), 0);
    if (mounted)
        umount2(media, MNT_DETACH);
    free(sources);
    free(partial);
    free(payload);
    free(folder);
    free(media);
    ws_close(&w);
}

/* ---- a failing renderer ---- */

static void test_failing_renderer_pauses_edits(void **state)
{
    (void)state;
    ws w;
    ws_init(&w, "inf-render",
            (const char *const[]){"infinity", "render_min_failures", "3", "infinity",
                                  "render_probe_s", "600", NULL});
    ws_connect(&w);
    char *folder = xasprintf("%s/footage", w.home);
    project_with_folder(&w, folder);
    char *bad = xasprintf("%s/broken.mp4", w.home);
    OK(om_write_file_atomic(bad, "this is not a video at all", 26));
    char vid[OM_UUID_LEN];
    video_row(&w, bad, "broken", vid);
    edits(&w, vid, 0, 3, 3);
    run_ok(&w, (const char *[]){"--log-format", "none", "worker", "--once", "--types", "edit",
                                NULL});
    assert_int_equal(njobs(&w, "edit", "dead"), 3);
    json_t *rep = NULL;
    OK(om_infinity_tick(w.s, w.q, w.cfg, &rep));
    assert_int_equal(json_array_size(json_object_get(rep, "paused")), 1);
    json_decref(rep);
    json_t *l = NULL;
    OK(om_incident_list(w.s, 1, "job_type_paused", &l));
    assert_int_equal(json_array_size(l), 1);
    json_t *ev = json_object_get(json_array_get(l, 0), "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "decided_by")), "infinity");
    assert_int_equal(json_integer_value(json_object_get(ev, "failed")), 3);
    json_decref(l);
    /* the queued edits wait without spending attempts */
    edits(&w, vid, 3, 4, 3);
    run_ok(&w, (const char *[]){"--log-format", "none", "worker", "--once", "--types", "edit",
                                NULL});
    om_queue_filter f = {"ready", "edit", 100};
    om_job_list jl = {NULL, 0};
    OK(om_queue_list(w.q, &f, &jl));
    assert_int_equal(jl.n, 4);
    for (size_t i = 0; i < jl.n; i++)
        assert_int_equal(jl.jobs[i].attempt, 0);
    om_job_list_free(&jl);
    /* a second tick does not pause twice */
    OK(om_infinity_tick(w.s, w.q, w.cfg, &rep));
    assert_int_equal(json_array_size(json_object_get(rep, "paused")), 0);
    json_decref(rep);
    free(bad);
    free(folder);
    ws_close(&w);
}

static int group_setup(void **state)
{
    (void)state;
    om_runtime_register_builtin();
    return ows_start(INFINITY_PG);
}

static int group_teardown(void **state)
{
    (void)state;
    ows_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_renderer_pauses_edits),
        cmocka_unit_test(test_disk_fills),
        cmocka_unit_test(test_backpressure_flood),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
