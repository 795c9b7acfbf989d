/*
 * test_gpu.c: GPU render nodes through the real `omniva` binary, without a GPU. The node's
 * hardware is the one thing nobody can reach here, so `omniva worker --gpu` gets a stand-in
 * `ffmpeg` first in its PATH that answers `-encoders` the way a GPU build does (and a test
 * encode with exit 0, or with the error a machine without the driver prints). Checked:
 *   - routing: with editor.gpu, a follow-up of a type with a GPU namespace (selftest.render,
 *     like edit) is enqueued as TYPE.gpu; a CPU worker leaves it alone while a GPU worker
 *     is alive; the GPU worker runs it (jobs.worker names its pid);
 *   - fallback: after the GPU worker is killed, the CPU worker takes TYPE.gpu jobs once
 *     worker.gpu_fallback_s has passed since the GPU worker was last seen, not before;
 *   - the probe: --gpu refuses to start when ffmpeg lists no GPU encoder, or lists one whose
 *     test encode fails (with ffmpeg's words).
 * The compiled GPU command lines are data-driven cases of tests/editor (040-gpu-vaapi,
 * 041-gpu-nvenc-sequence, 011-nvenc-chosen).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* A directory with a stand-in ffmpeg: `-encoders` prints `encoders`; anything else (the test
 * encode) prints `encode_err` to stderr and exits with `encode_rc`. */
static char *fake_ffmpeg(const char *home, const char *encoders, const char *encode_err,
                         int encode_rc)
{
    char *dir = xasprintf("%s/fakebin", home);
    om_mkdirs(dir, 0755);
    char *path = xasprintf("%s/ffmpeg", dir);
    char *script = xasprintf("#!/bin/sh\n"
                             "for a in \"$@\"; do\n"
                             "  if [ \"$a\" = -encoders ]; then printf '%%s\\n' '%s'; exit 0; fi\n"
                             "done\n"
                             "printf '%%s\\n' '%s' >&2\n"
                             "exit %d\n",
                             encoders, encode_err, encode_rc);
    assert_int_equal(om_write_file_atomic(path, script, strlen(script)), 0);
    chmod(path, 0755);
    free(script);
    free(path);
    return dir;
}

static char *path_env(const char *dir)
{
    const char *p = getenv("PATH");
    return xasprintf("PATH=%s:%s", dir, p ? p : "/usr/bin:/bin");
}

static char *q1(const char *home, const char *sql)
{
    char *url = xasprintf("sqlite://%s/omniva.db", home);
    char *v = omt_query(url, sql);
    free(url);
    return v;
}

static int64_t count(const char *home, const char *sql)
{
    char *url = xasprintf("sqlite://%s/omniva.db", home);
    int64_t n = omt_query_int(url, sql);
    free(url);
    return n;
}

/* Waits until `sql` counts at least `want`; returns the count seen last. */
static int64_t wait_count(const char *home, const char *sql, int64_t want, int64_t timeout_ms)
{
    int64_t end = om_mono_ms() + timeout_ms, n = -1;
    while (om_mono_ms() < end) {
        n = count(home, sql);
        if (n >= want)
            break;
        om_sleep_ms(50);
    }
    return n;
}

static char *enqueue(const char *home, const char *type, const char *payload)
{
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, home, "jobs", "enqueue", type, "--payload", payload, NULL);
    if (rc != 0)
        fail_msg("enqueue %s: %s", type, err);
    out[strcspn(out, "\n")] = '\0';
    free(err);
    return out;
}

static char *worker_of(const char *home, const char *id)
{
    char *sql = xasprintf("SELECT worker FROM jobs WHERE job_id = '%s'", id);
    char *w = q1(home, sql);
    free(sql);
    return w;
}

static int ends_with_pid(const char *worker, pid_t pid)
{
    char tail[32];
    snprintf(tail, sizeof(tail), ":%ld", (long)pid);
    size_t n = worker ? strlen(worker) : 0, t = strlen(tail);
    return n >= t && !strcmp(worker + n - t, tail);
}

static void test_routing_and_fallback(void **state)
{
    (void)state;
    char *home = omt_workspace("gpu-route", NULL);
    omt_conf_append(home, "editor", "gpu", "true");
    omt_conf_append(home, "worker", "reap_ms", "200");
    omt_conf_append(home, "worker", "idle_ms", "50");
    omt_conf_append(home, "worker", "gpu_alive_s", "1");
    omt_conf_append(home, "worker", "gpu_fallback_s", "8");
    char *bin = fake_ffmpeg(home, " V....D h264_nvenc           NVIDIA NVENC H.264 encoder", "",
                            0);
    char *penv = path_env(bin);
    const char *genv[] = {penv, NULL};
    char *log = xasprintf("%s/workers.log", home);

    /* a CPU worker, then a follow-up routed to the GPU namespace */
    const char *cpu_args[] = {"worker", "--types", "selftest.write,selftest.render", NULL};
    int64_t cpu_start = om_mono_ms();
    pid_t cpu = omt_spawn(home, log, NULL, cpu_args);
    assert_true(cpu > 0);
    char *parent = enqueue(home, "selftest.write", "{\"emit\": \"selftest.render\"}");
    assert_int_equal(wait_count(home,
                                "SELECT count(*) FROM jobs WHERE type = 'selftest.render.gpu'",
                                1, 15000),
                     1);
    assert_int_equal(count(home, "SELECT count(*) FROM jobs WHERE type = 'selftest.render'"), 0);
    om_sleep_ms(1000); /* inside the fallback: the CPU worker leaves it alone */
    char *st = q1(home, "SELECT state FROM jobs WHERE type = 'selftest.render.gpu'");
    if (om_mono_ms() - cpu_start < 7000) /* (a machine this slow cannot tell) */
        assert_string_equal(st, "ready");
    free(st);

    /* a GPU worker takes it */
    const char *gpu_args[] = {"worker", "--gpu", "--types", "selftest.render", NULL};
    pid_t gpu = omt_spawn(home, log, genv, gpu_args);
    assert_true(gpu > 0);
    assert_int_equal(wait_count(home,
                                "SELECT count(*) FROM jobs WHERE type = 'selftest.render.gpu' "
                                "AND state = 'done'",
                                1, 15000),
                     1);
    char *w = q1(home, "SELECT worker FROM jobs WHERE type = 'selftest.render.gpu'");
    assert_true(ends_with_pid(w, gpu));
    free(w);
    assert_int_equal(count(home, "SELECT count(*) FROM worker_nodes WHERE gpu = 1 AND "
                                 "encoder = 'h264_nvenc'"),
                     1);
    /* more GPU jobs while it lives: all its */
    char *ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = enqueue(home, "selftest.render.gpu", "{}");
    assert_int_equal(wait_count(home,
                                "SELECT count(*) FROM jobs WHERE type = 'selftest.render.gpu' "
                                "AND state = 'done'",
                                5, 15000),
                     5);
    for (int i = 0; i < 4; i++) {
        w = worker_of(home, ids[i]);
        assert_true(ends_with_pid(w, gpu));
        free(w);
        free(ids[i]);
    }

    /* the GPU node dies without a word: the CPU worker falls back, but only after
     * gpu_fallback_s since the node was last seen */
    kill(gpu, SIGKILL);
    omt_wait(gpu, 5000);
    int64_t killed = om_mono_ms();
    char *late = enqueue(home, "selftest.render.gpu", "{}");
    char *sql = xasprintf("SELECT count(*) FROM jobs WHERE job_id = '%s' AND state = 'done'", late);
    assert_int_equal(wait_count(home, sql, 1, 20000), 1);
    int64_t took = om_mono_ms() - killed;
    assert_true(took >= 7000); /* 8 s after last seen; the row was at most 0.2 s old */
    w = worker_of(home, late);
    assert_true(ends_with_pid(w, cpu));
    free(w);
    char *out = NULL;
    om_read_file(log, 1 << 20, &out, NULL);
    assert_true(omt_has(out, "GPU node, encoder h264_nvenc"));
    assert_true(omt_has(out, "this CPU worker takes GPU jobs"));
    free(out);

    kill(cpu, SIGTERM);
    assert_int_equal(omt_wait(cpu, 15000), 0);
    free(sql);
    free(late);
    free(parent);
    free(log);
    free(penv);
    free(bin);
    om_rmtree(home);
    free(home);
}

static void test_probe_refuses(void **state)
{
    (void)state;
    char *home = omt_workspace("gpu-probe", NULL);
    const char *old = getenv("PATH");
    char *saved = xstrdup(old ? old : "/usr/bin:/bin");
    /* no GPU encoder listed */
    char *bin = fake_ffmpeg(home, " V....D libx264              libx264 H.264", "", 0);
    char *p = xasprintf("%s:%s", bin, saved);
    setenv("PATH", p, 1);
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, home, "worker", "--gpu", "--once", NULL);
    assert_int_equal(rc, 1);
    assert_true(omt_has(err, "neither h264_nvenc nor h264_vaapi"));
    free(out);
    free(err);
    free(bin);
    /* listed, but the driver is not there */
    bin = fake_ffmpeg(home, " V....D h264_nvenc           NVIDIA NVENC H.264 encoder",
                      "Cannot load libcuda.so.1", 1);
    rc = omt_run(&out, &err, home, "worker", "--gpu", "--once", NULL);
    assert_int_equal(rc, 1);
    assert_true(omt_has(err, "h264_nvenc test encode failed: Cannot load libcuda.so.1"));
    free(out);
    free(err);
    setenv("PATH", saved, 1);
    free(saved);
    free(p);
    free(bin);
    om_rmtree(home);
    free(home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_and_fallback),
        cmocka_unit_test(test_probe_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
