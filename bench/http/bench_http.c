/*
 * bench_http.c: how fast `omniva serve` lists clips. Makes a SQLite workspace with N clips
 * (default 100,000; one creator, 1,000 videos), starts `omniva serve` (http.threads from
 * --threads), then runs wrk (Debian's wrk, --latency) against
 *   GET /api/v1/clips?limit=50          the clip list: the query, JSON, the pool
 *   GET /static/index.html              a small static file from the same server
 * and prints req/s and p99 of both with their ratios, and the time of one /metrics scrape
 * (uncached: the aggregate pass over the same database).
 *
 *   bench_http [-n CLIPS] [--threads T] [--seconds S] [--conns C]
 *
 * Goal: clips list >= 2,000 req/s with p99 < 50 ms. Build without sanitizers
 * (-DCMAKE_BUILD_TYPE=Release) for meaningful figures; $OMNIVA_BIN overrides the binary.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "bench_http: failed (%d): %s\n", rc, cmd);
    return rc;
}

typedef struct wrk_res {
    double rps, p99_ms;
} wrk_res;

static double to_ms(double v, const char *unit)
{
    if (strcmp(unit, "us") == 0)
        return v / 1000;
    if (strcmp(unit, "s") == 0)
        return v * 1000;
    return v;
}

/* the API token the requests carry (Authorization: Bearer), made at start */
static char auth_hdr[160];

static int wrk(const char *url, int secs, int conns, wrk_res *out)
{
    char *cmd = xasprintf("wrk -t2 -c%d -d%ds --latency -H '%s' '%s' 2>&1", conns, secs,
                          auth_hdr, url);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p)
        return -1;
    char line[512];
    out->rps = out->p99_ms = -1;
    while (fgets(line, sizeof(line), p)) {
        double v;
        char unit[8];
        if (sscanf(line, " Requests/sec: %lf", &v) == 1)
            out->rps = v;
        if (sscanf(line, " 99%% %lf%7[a-z]", &v, unit) == 2)
            out->p99_ms = to_ms(v, unit);
        if (strstr(line, "Non-2xx") || strstr(line, "Socket errors"))
            fprintf(stderr, "bench_http: wrk: %s", line);
    }
    pclose(p);
    return out->rps < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    long n = 100000, threads = 4, secs = 5, conns = 32;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            secs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atol(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_http [-n CLIPS] [--threads T] [--seconds S] [--conns C]\n");
            return 2;
        }
    }
    const char *bin = getenv("OMNIVA_BIN") ? getenv("OMNIVA_BIN") : OMNIVA_BIN_DEFAULT;
    setenv("OMNIVA_BIN", bin, 1);
    char *home = harness_tmpdir("bench-http");
    const char *init[] = {"init", home, NULL};
    if (harness_omniva(init, NULL, NULL) != 0)
        return 1;
    /* a user and an API token: the API needs a sign-in */
    char *uc = xasprintf("printf 'bench password 1\\n' | '%s' --home '%s' --quiet user add bench "
                         "--role viewer >/dev/null && '%s' --home '%s' --quiet user token create bench "
                         "2>/dev/null",
                         bin, home, bin, home);
    FILE *tp = popen(uc, "r");
    char tok[128] = "";
    if (!tp || !fgets(tok, sizeof(tok), tp) || pclose(tp) != 0) {
        fprintf(stderr, "bench_http: could not make a user and an API token\n");
        return 1;
    }
    tok[strcspn(tok, "\r\n")] = 0;
    snprintf(auth_hdr, sizeof(auth_hdr), "Authorization: Bearer %s", tok);
    free(uc);
    /* fill: recursive CTEs in one sqlite3 transaction */
    char *sql = xasprintf(
        "%s/fill.sql", home);
    FILE *f = fopen(sql, "w");
    fprintf(f,
            "BEGIN;\n"
            "INSERT INTO creators (creator_id, platform, username) VALUES "
            "('11111111-1111-4111-8111-111111111111', 'local', 'bench');\n"
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 999) "
            "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
            "SELECT printf('22222222-2222-4222-8222-%%012d', i), "
            "'11111111-1111-4111-8111-111111111111', 'local', 'p' || i, 'file:///x' FROM k;\n"
            "INSERT INTO videos (video_id, post_id, file_path, checksum) "
            "SELECT printf('33333333-3333-4333-8333-%%012d', substr(post_id, 25) + 0), post_id, "
            "'/v.mp4', 'sum' || post_id FROM posts;\n"
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < %ld) "
            "INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, "
            "lattice_priority, metadata, status) "
            "SELECT printf('44444444-4444-4444-8444-%%012d', i), "
            "printf('33333333-3333-4333-8333-%%012d', i %% 1000), (i / 1000) * 30.0, "
            "(i / 1000) * 30.0 + 20.0, (i %% 997) / 997.0, (i %% 991) / 991.0, "
            "'{\"title\":\"clip ' || i || '\",\"hook\":\"a hook\"}', "
            "CASE i %% 3 WHEN 0 THEN 'CANDIDATE' WHEN 1 THEN 'SELECTED' ELSE 'RENDERED' END "
            "FROM k;\n"
            "COMMIT;\nANALYZE;\n",
            n - 1);
    fclose(f);
    char *cmd = xasprintf("sqlite3 %s/omniva.db < %s", home, sql);
    int64_t t0 = om_mono_ms();
    if (run(cmd))
        return 1;
    printf("bench_http: %ld clips written in %.1f s\n", n, (double)(om_mono_ms() - t0) / 1000);
    free(cmd);
    free(sql);
    char *web = xasprintf("%s/web", home);
    om_mkdirs(web, 0755);
    char *idx = xasprintf("%s/index.html", web);
    f = fopen(idx, "w");
    fputs("<!doctype html><title>omniva</title><h1>Omniva</h1>\n", f);
    fclose(f);
    int port = harness_free_port();
    char listen[32], base[64], th[48];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(th, sizeof(th), "http.threads=%ld", threads);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(bin, "omniva", "--home", home, "--quiet", "--set", th, "--set",
              "http.max_connections=1024", "serve", "--listen", listen, (char *)NULL);
        _exit(127);
    }
    char *u = xasprintf("%s/api/v1/clips?limit=50", base);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, auth_hdr);
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        om_sleep_ms(100);
        long st = 0;
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK && st == 200)
            up = 1;
    }
    if (!up) {
        fprintf(stderr, "bench_http: serve did not answer 200 on %s\n", u);
        kill(pid, SIGTERM);
        return 1;
    }
    wrk_res cl, stc;
    char *su = xasprintf("%s/static/index.html", base);
    if (wrk(u, (int)secs, (int)conns, &cl) || wrk(su, (int)secs, (int)conns, &stc)) {
        fprintf(stderr, "bench_http: wrk failed (is it installed?)\n");
        kill(pid, SIGTERM);
        return 1;
    }
    /* one uncached /metrics scrape (the cache lives ~1 s) */
    om_sleep_ms(1200);
    char *mu = xasprintf("%s/metrics", base);
    curl_easy_setopt(c, CURLOPT_URL, mu);
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        om_sleep_ms(1100);
        int64_t a = om_now_us();
        curl_easy_perform(c);
        double ms = (double)(om_now_us() - a) / 1000;
        if (ms < best)
            best = ms;
    }
    printf("bench_http: %ld clips, %ld server threads, wrk -t2 -c%ld -d%lds\n", n, threads, conns,
           secs);
    printf("  GET /api/v1/clips?limit=50   %9.0f req/s   p99 %7.2f ms\n", cl.rps, cl.p99_ms);
    printf("  GET /static/index.html       %9.0f req/s   p99 %7.2f ms\n", stc.rps, stc.p99_ms);
    printf("  ratio clips/static           %9.3f        p99 %7.2fx\n", cl.rps / stc.rps,
           stc.p99_ms > 0 ? cl.p99_ms / stc.p99_ms : 0);
    printf("  GET /metrics (uncached)      %9.2f ms\n", best);
    printf("  goal: clips >= 2000 req/s and p99 < 50 ms: %s\n",
           cl.rps >= 2000 && cl.p99_ms < 50 ? "met" : "NOT met");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    fclose(devnull);
    om_rmtree(home);
    free(home);
    return 0;
}
