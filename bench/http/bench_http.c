/*
 * bench_http.c: how fast `omniva serve` answers, on SQLite and on PostgreSQL + Redis. For
 * each backend: a workspace with N clips (default 100,000; one creator, 1,000 videos), a
 * viewer and its API token (`omniva user add` + `omniva user token create`; every request
 * carries "Authorization: Bearer"), `omniva serve` (http.threads from --threads), then
 *   GET /api/v1/clips?limit=50          wrk --latency: req/s and p99 (query, JSON, pool)
 *   GET /static/index.html              the same for a small static file (the ceiling)
 *   GET /metrics                        scrape latency, uncached (best and worst of 5)
 *   200 idle SSE clients                /api/v1/events streams held open; the server's CPU
 *                                       over 10 s from /proc/PID/stat (utime + stime) as %
 *                                       of one core, next to 10 s with no client
 * and the load average before and after (the machine is shared: figures are noisy).
 *
 *   bench_http [-n CLIPS] [--threads T] [--seconds S] [--conns C] [--sse K]
 *              [--backend sqlite|postgres|both]
 *
 * Goals: clips list >= 2,000 req/s with p99 < 50 ms (SQLite); 200 idle SSE clients < 5% of
 * a core; /metrics < 20 ms. Build without sanitizers (-DCMAKE_BUILD_TYPE=Release) for
 * meaningful figures; $OMNIVA_BIN overrides the binary.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
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

static long n_clips = 100000, threads = 4, secs = 5, conns = 32, n_sse = 200;

static void loadavg(const char *when)
{
    double l[3] = {0, 0, 0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) == 3)
        printf("  load average %s: %.2f %.2f %.2f (%ld cores; shared machine)\n", when, l[0],
               l[1], l[2], sysconf(_SC_NPROCESSORS_ONLN));
    if (f)
        fclose(f);
}

/* utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat), or -1 */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, stt = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return -1;
    return (long long)(ut + stt);
}

/* % of one core PID used over MS milliseconds */
static double cpu_pct(pid_t pid, int ms)
{
    long long a = cpu_ticks(pid);
    int64_t t0 = om_mono_ms();
    om_sleep_ms(ms);
    long long b = cpu_ticks(pid);
    double wall = (double)(om_mono_ms() - t0) / 1000;
    if (a < 0 || b < 0 || wall <= 0)
        return -1;
    return 100.0 * (double)(b - a) / (double)sysconf(_SC_CLK_TCK) / wall;
}

/* opens an SSE stream on PORT and reads its response head; the fd, or -1 */
static int sse_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char *req = xasprintf("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
                          "Accept: text/event-stream\r\n\r\n",
                          auth_hdr);
    size_t len = strlen(req);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
             write(fd, req, len) == (ssize_t)len;
    free(req);
    char head[2048];
    size_t got = 0;
    while (ok && got < sizeof(head) - 1) {
        ssize_t r = read(fd, head + got, sizeof(head) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        head[got] = 0;
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    head[got] = 0;
    if (!ok || strncmp(head, "HTTP/1.1 200", 12) != 0 || !strstr(head, "text/event-stream")) {
        close(fd);
        return -1;
    }
    return fd;
}

static double metrics_ms(CURL *c, const char *base, double *worst)
{
    char *mu = xasprintf("%s/metrics", base);
    curl_easy_setopt(c, CURLOPT_URL, mu);
    double best = 1e9;
    *worst = 0;
    for (int i = 0; i < 5; i++) {
        om_sleep_ms(1100); /* past the ~1 s cache: every scrape runs the aggregate pass */
        int64_t a = om_now_us();
        long st = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st) != CURLE_OK || st != 200) {
            fprintf(stderr, "bench_http: /metrics answered %ld\n", st);
            free(mu);
            return -1;
        }
        double ms = (double)(om_now_us() - a) / 1000;
        best = ms < best ? ms : best;
        *worst = ms > *worst ? ms : *worst;
    }
    free(mu);
    return best;
}

static const char *fill_sqlite =
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
    "COMMIT;\nANALYZE;\n";

static const char *fill_pg =
    "\\set ON_ERROR_STOP on\n"
    "BEGIN;\n"
    "INSERT INTO creators (creator_id, platform, username) VALUES "
    "('11111111-1111-4111-8111-111111111111', 'local', 'bench');\n"
    "INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
    "SELECT ('22222222-2222-4222-8222-' || lpad(i::text, 12, '0'))::uuid, "
    "'11111111-1111-4111-8111-111111111111', 'local', 'p' || i, 'file:///x' "
    "FROM generate_series(0, 999) i;\n"
    "INSERT INTO videos (video_id, post_id, file_path, checksum) "
    "SELECT ('33333333-3333-4333-8333-' || right(post_id::text, 12))::uuid, post_id, "
    "'/v.mp4', 'sum' || post_id FROM posts;\n"
    "INSERT INTO clips (clip_id, video_id, start_time, end_time, confidence, "
    "lattice_priority, metadata, status) "
    "SELECT ('44444444-4444-4444-8444-' || lpad(i::text, 12, '0'))::uuid, "
    "('33333333-3333-4333-8333-' || lpad((i %% 1000)::text, 12, '0'))::uuid, "
    "(i / 1000) * 30.0, (i / 1000) * 30.0 + 20.0, (i %% 997) / 997.0, (i %% 991) / 991.0, "
    "('{\"title\":\"clip ' || i || '\",\"hook\":\"a hook\"}')::jsonb, "
    "CASE i %% 3 WHEN 0 THEN 'CANDIDATE' WHEN 1 THEN 'SELECTED' ELSE 'RENDERED' END "
    "FROM generate_series(0, %ld) i;\n"
    "COMMIT;\nVACUUM ANALYZE;\n"; /* autovacuum would, on a store that old */

/* One backend: db NULL for SQLite, else the PostgreSQL and Redis URLs. 0 or 1. */
static int bench(const char *bin, const char *name, const char *db, const char *queue)
{
    char *home = harness_tmpdir("bench-http");
    const char *init_sq[] = {"init", home, NULL};
    const char *init_pg[] = {"init", home, "--db", db, "--queue", queue, NULL};
    if (harness_omniva(db ? init_pg : init_sq, NULL, NULL) != 0)
        return 1;
    /* a user and an API token: the API needs a sign-in */
    char *uc = xasprintf("printf 'bench password 1\\n' | '%s' --home '%s' --quiet user add bench "
                         "--role viewer >/dev/null && '%s' --home '%s' --quiet user token create bench "
                         "2>/dev/null",
                         bin, home, bin, home);
    FILE *tp = popen(uc, "r");
    free(uc);
    char tok[128] = "";
    if (!tp || !fgets(tok, sizeof(tok), tp) || pclose(tp) != 0) {
        fprintf(stderr, "bench_http: could not make a user and an API token\n");
        return 1;
    }
    tok[strcspn(tok, "\r\n")] = 0;
    snprintf(auth_hdr, sizeof(auth_hdr), "Authorization: Bearer %s", tok);
    /* fill: one transaction of set-based inserts */
    char *sql = xasprintf("%s/fill.sql", home);
    FILE *f = fopen(sql, "w");
    fprintf(f, db ? fill_pg : fill_sqlite, n_clips - 1);
    fclose(f);
    char *cmd = db ? xasprintf("psql -q '%s' -f '%s' >/dev/null", db, sql)
                   : xasprintf("sqlite3 '%s/omniva.db' < '%s'", home, sql);
    int64_t t0 = om_mono_ms();
    if (run(cmd))
        return 1;
    printf("bench_http [%s]: %ld clips written in %.1f s\n", name, n_clips,
           (double)(om_mono_ms() - t0) / 1000);
    free(cmd);
    free(sql);
    char *web = xasprintf("%s/web", home);
    om_mkdirs(web, 0755);
    char *idx = xasprintf("%s/index.html", web);
    f = fopen(idx, "w");
    fputs("<!doctype html><title>omniva</title><h1>Omniva</h1>\n", f);
    fclose(f);
    free(idx);
    free(web);
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
    int up = 0, rc = 1;
    for (int i = 0; i < 100 && !up; i++) {
        om_sleep_ms(100);
        long st = 0;
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK && st == 200)
            up = 1;
    }
    wrk_res cl = {-1, -1}, stc = {-1, -1};
    char *su = xasprintf("%s/static/index.html", base);
    double m_best = -1, m_worst = -1, idle0 = -1, idle_sse = -1;
    int opened = 0;
    int *fds = xcalloc((size_t)n_sse + 1, sizeof(int));
    for (long i = 0; i < n_sse; i++)
        fds[i] = -1;
    if (!up) {
        fprintf(stderr, "bench_http: serve did not answer 200 on %s\n", u);
        goto out;
    }
    loadavg("before");
    long long busy0 = cpu_ticks(pid);
    int64_t busy_t0 = om_mono_ms();
    int werr = wrk(u, (int)secs, (int)conns, &cl);
    /* the same counter under load: shows the idle figures below are not a dead counter */
    double busy = 100.0 * (double)(cpu_ticks(pid) - busy0) / (double)sysconf(_SC_CLK_TCK) /
                  ((double)(om_mono_ms() - busy_t0) / 1000);
    if (werr || wrk(su, (int)secs, (int)conns, &stc)) {
        fprintf(stderr, "bench_http: wrk failed (is it installed?)\n");
        goto out;
    }
    if ((m_best = metrics_ms(c, base, &m_worst)) < 0)
        goto out;
    /* idle CPU: first with no client, then with n_sse streams held open */
    om_sleep_ms(1000);
    idle0 = cpu_pct(pid, 10000);
    for (long i = 0; i < n_sse; i++)
        if ((fds[i] = sse_open(port)) >= 0)
            opened++;
    om_sleep_ms(1000);
    idle_sse = cpu_pct(pid, 10000);
    loadavg("after");
    printf("bench_http [%s]: %ld clips, %ld server threads, wrk -t2 -c%ld -d%lds\n", name,
           n_clips, threads, conns, secs);
    printf("  GET /api/v1/clips?limit=50   %9.0f req/s   p99 %7.2f ms\n", cl.rps, cl.p99_ms);
    printf("  GET /static/index.html       %9.0f req/s   p99 %7.2f ms\n", stc.rps, stc.p99_ms);
    printf("  ratio clips/static           %9.3f        p99 %7.2fx\n", cl.rps / stc.rps,
           stc.p99_ms > 0 ? cl.p99_ms / stc.p99_ms : 0);
    printf("  GET /metrics (uncached)      best %7.2f ms, worst of 5 %7.2f ms\n", m_best,
           m_worst);
    printf("  server CPU under the clips wrk %8.1f %% of a core\n", busy);
    printf("  server CPU, idle, no client  %9.2f %% of a core (10 s)\n", idle0);
    printf("  server CPU, %d idle SSE      %9.2f %% of a core (10 s; %d of %ld streams open)\n",
           opened, idle_sse, opened, n_sse);
    printf("  goals: clips >= 2000 req/s, p99 < 50 ms: %s; SSE idle < 5%%: %s; /metrics < 20 "
           "ms: %s\n",
           cl.rps >= 2000 && cl.p99_ms < 50 ? "met" : "NOT met",
           opened == n_sse && idle_sse >= 0 && idle_sse < 5 ? "met" : "NOT met",
           m_best < 20 ? "met" : "NOT met");
    rc = opened == n_sse ? 0 : 1;
out:
    for (long i = 0; i < n_sse; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    fclose(devnull);
    free(u);
    free(su);
    om_rmtree(home);
    free(home);
    return rc;
}

int main(int argc, char **argv)
{
    const char *backend = "both";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            n_clips = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            secs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--sse"))
            n_sse = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--backend"))
            backend = argv[i + 1];
        else
            argc = 0;
    }
    if (argc % 2 == 0 || n_clips < 1000 || n_sse < 0 ||
        (strcmp(backend, "sqlite") && strcmp(backend, "postgres") && strcmp(backend, "both"))) {
        fprintf(stderr, "usage: bench_http [-n CLIPS>=1000] [--threads T] [--seconds S] "
                        "[--conns C] [--sse K] [--backend sqlite|postgres|both]\n");
        return 2;
    }
    const char *bin = getenv("OMNIVA_BIN") ? getenv("OMNIVA_BIN") : OMNIVA_BIN_DEFAULT;
    setenv("OMNIVA_BIN", bin, 1);
    setvbuf(stdout, NULL, _IOLBF, 0); /* no buffered line is copied into forked children */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0;
    if (strcmp(backend, "postgres") != 0)
        rc |= bench(bin, "sqlite", NULL, NULL);
    if (strcmp(backend, "sqlite") != 0) {
        harness_pg pg;
        harness_redis rd;
        if (harness_pg_start(&pg) != 0)
            return 1;
        if (harness_redis_start(&rd) != 0) {
            harness_pg_stop(&pg);
            return 1;
        }
        rc |= bench(bin, "postgres", pg.url, rd.url);
        harness_redis_stop(&rd);
        harness_pg_stop(&pg);
    }
    curl_global_cleanup();
    return rc;
}
