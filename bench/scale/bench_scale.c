/*
 * bench_scale.c: scale-out on PostgreSQL + Redis. A batch of N short sources (default 20
 * generated talks of 30 s with platform subtitles, so the figures are about the farm's
 * plumbing and renders rather than transcription), one clip each, run by `omniva run --once
 * --now --concurrency W` for W = 1, 2 and 4 worker processes, each W on a fresh PostgreSQL
 * server and a flushed Redis (AOF off, stats reset). Per W:
 *   wall, jobs done, jobs/s, clips/h, scaling efficiency against W = 1 per core used
 *   (rate_W / rate_1 / min(W, cores)), CPU of the whole process tree;
 *   the queue's share of job time: Redis' own time in our commands (INFO commandstats usec,
 *   BLPOP's blocked time not included) over the jobs' wall time (job_logs "job done");
 *   per clip: store transactions and row writes (pg_stat_database), queue commands and bytes
 *   in+out of Redis (INFO), media bytes read and written (sources + renders).
 * Renders are 540x960 (--set editor.width/height) to keep the run short; pass --full for
 * 1080x1920.
 *
 *   bench_scale [-n SOURCES] [--workers 1,2,4] [--full] [--keep]
 * $OMNIVA_BIN overrides the binary.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "harness/harness.h"
#include "stages/demo.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int omniva(const char *const *args, int quiet)
{
    char *out = NULL, *err = NULL;
    int rc = harness_omniva(args, &out, &err);
    if (rc != 0)
        fprintf(stderr, "bench_scale: omniva %s %s failed (%d):\n%s\n", args[0], args[1], rc,
                err && strlen(err) > 3000 ? err + strlen(err) - 3000 : err);
    else if (!quiet && out)
        fputs(out, stdout);
    free(out);
    free(err);
    return rc;
}

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static redisReply *rcmd(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    if (!r)
        fprintf(stderr, "bench_scale: redis %s: %s\n", cmd, c->errstr);
    return r;
}

typedef struct redis_stats {
    double calls, usec, blpop_calls, in_bytes, out_bytes;
    char top[256];
} redis_stats;

static void redis_read(redisContext *c, redis_stats *s)
{
    memset(s, 0, sizeof(*s));
    redisReply *r = rcmd(c, "INFO commandstats");
    om_sbuf top = OM_SBUF_INIT;
    if (r && r->type == REDIS_REPLY_STRING) {
        for (char *line = r->str; line && *line;) {
            char *nl = strchr(line, '\n');
            char name[64];
            double calls = 0, usec = 0;
            if (sscanf(line, "cmdstat_%63[^:]:calls=%lf,usec=%lf", name, &calls, &usec) == 3 &&
                strcmp(name, "info") && strcmp(name, "config") && strcmp(name, "flushall")) {
                s->calls += calls;
                if (!strcmp(name, "blpop"))
                    s->blpop_calls += calls;
                else
                    s->usec += usec; /* BLPOP: blocked time is not server work */
                sb_printf(&top, "%s%s %.0f", top.len ? ", " : "", name, calls);
            }
            line = nl ? nl + 1 : NULL;
        }
    }
    snprintf(s->top, sizeof(s->top), "%s", sb_str(&top));
    sb_release(&top);
    freeReplyObject(r);
    r = rcmd(c, "INFO stats");
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "total_net_input_bytes:");
        if (p)
            s->in_bytes = atof(p + 22);
        p = strstr(r->str, "total_net_output_bytes:");
        if (p)
            s->out_bytes = atof(p + 23);
    }
    freeReplyObject(r);
}

static double qnum(om_store *s, const char *sql)
{
    char *v = NULL;
    double d = -1;
    if (om_store_query_value(s, sql, NULL, 0, &v) == OM_OK && v)
        d = atof(v);
    free(v);
    return d;
}

typedef struct result {
    int workers;
    double wall, cpu, jobs, jobs_wall_s, clips, commits, writes, media_bytes;
    redis_stats rs;
} result;

static int run_one(int workers, const char *srcdir, int nsrc, int full, harness_redis *redis,
                   redisContext *rc, result *res)
{
    memset(res, 0, sizeof(*res));
    res->workers = workers;
    harness_pg pg;
    if (harness_pg_start(&pg) != 0)
        return -1;
    char *home = harness_tmpdir("bench-scale");
    char *brand = xasprintf("%s/brand.json", home);
    json_t *b = json_loads(om_demo_brand_json(), 0, NULL);
    json_object_set_new(b, "clips_per_video", json_integer(1));
    json_object_set_new(b, "clip_min_s", json_integer(15));
    json_object_set_new(b, "clip_max_s", json_integer(25));
    json_object_set_new(b, "posts_per_day", json_integer(nsrc * 2));
    json_object_set_new(b, "min_gap_minutes", json_integer(0));
    char *bt = json_dumps(b, 0);
    om_write_file_atomic(brand, bt, strlen(bt));
    free(bt);
    json_decref(b);
    char *url = xasprintf("file://%s", srcdir), *conc = xasprintf("%d", workers);
    freeReplyObject(rcmd(rc, "FLUSHALL"));
    freeReplyObject(rcmd(rc, "CONFIG RESETSTAT"));
    const char *init[] = {"init", home, NULL};
    const char *mig[] = {"--home", home, "--db", pg.url, "--queue", redis->url, "migrate", NULL};
    const char *proj[] = {"--home", home, "--db", pg.url, "--queue", redis->url, "project",
                          "create", "bench", "--brand", brand, NULL};
    const char *cre[] = {"--home", home, "--db", pg.url, "--queue", redis->url, "creator", "add",
                         "bench", url, NULL};
    const char *go[32] = {"--home", home, "--db", pg.url, "--queue", redis->url, "--quiet"};
    /* the sources are one talk remuxed 20 times: without this they are re-posts of one video */
    int ng = 7;
    go[ng++] = "--set";
    go[ng++] = "fetch.dedupe_audio=false";
    if (!full) {
        go[ng++] = "--set";
        go[ng++] = "editor.width=540";
        go[ng++] = "--set";
        go[ng++] = "editor.height=960";
    }
    const char *tail[] = {"run", "--once", "--now", "--no-dashboard", "--concurrency", conc, NULL};
    for (size_t i = 0; i < OM_ARRAY_LEN(tail); i++)
        go[ng++] = tail[i];
    int rcode = omniva(init, 1) || omniva(mig, 1) || omniva(proj, 1) || omniva(cre, 1);
    if (!rcode) {
        double c0 = children_cpu();
        int64_t t0 = om_mono_ms();
        rcode = omniva(go, 1);
        res->wall = (double)(om_mono_ms() - t0) / 1000.0;
        res->cpu = children_cpu() - c0;
    }
    redis_read(rc, &res->rs);
    om_store *s = NULL;
    if (!rcode && om_store_open(&s, pg.url) == OM_OK) {
        om_sleep_ms(1200); /* the statistics collector's flush */
        res->clips = qnum(s, "SELECT count(*) FROM clips WHERE status = 'PUBLISHED'");
        res->jobs = qnum(s, "SELECT count(*) FROM job_logs WHERE message LIKE 'job done in %'");
        om_rows *r = NULL;
        if (om_store_query(s, "SELECT message FROM job_logs WHERE message LIKE 'job done in %'",
                           NULL, 0, &r) == OM_OK) {
            for (size_t i = 0; i < om_rows_count(r); i++) {
                long long ms = 0;
                if (sscanf(om_rows_get(r, i, 0), "job done in %lld ms", &ms) == 1)
                    res->jobs_wall_s += (double)ms / 1000.0;
            }
            om_rows_free(r);
        }
        res->commits = qnum(s, "SELECT xact_commit FROM pg_stat_database WHERE datname = "
                               "current_database()");
        res->writes = qnum(s, "SELECT tup_inserted + tup_updated + tup_deleted FROM "
                              "pg_stat_database WHERE datname = current_database()");
        res->media_bytes = qnum(s, "SELECT coalesce(sum(size_bytes), 0) FROM artifacts WHERE "
                                   "kind = 'render'");
        om_store_free(s);
    }
    /* the sources were read once each */
    for (int i = 0; i < nsrc; i++) {
        char *p = xasprintf("%s/talk%02d.mp4", srcdir, i);
        struct stat st;
        if (stat(p, &st) == 0)
            res->media_bytes += (double)st.st_size;
        free(p);
    }
    harness_pg_stop(&pg);
    om_rmtree(home);
    free(home);
    free(brand);
    free(url);
    free(conc);
    return rcode ? -1 : 0;
}

int main(int argc, char **argv)
{
    int nsrc = 20, full = 0;
    const char *wl = "1,2,4";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            nsrc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            wl = argv[++i];
        else if (!strcmp(argv[i], "--full"))
            full = 1;
        else {
            fprintf(stderr, "usage: bench_scale [-n SOURCES] [--workers 1,2,4] [--full]\n");
            return 2;
        }
    }
    const char *bin = getenv("OMNIVA_BIN") ? getenv("OMNIVA_BIN") : OMNIVA_BIN_DEFAULT;
    setenv("OMNIVA_BIN", bin, 1);
    char *srcdir = xasprintf("/tmp/omniva-bench-scale-src-%d", nsrc);
    om_mkdirs(srcdir, 0755);
    printf("bench_scale: %d sources of 30 s with subtitles (cached in %s)...\n", nsrc, srcdir);
    fflush(stdout);
    for (int i = 0; i < nsrc; i++) {
        char *name = xasprintf("talk%02d", i);
        char *mark = xasprintf("%s/.talk%02d.distinct", srcdir, i);
        if (om_demo_make_talk_sub(srcdir, name, 0.5, "srt")) {
            fprintf(stderr, "bench_scale: %s\n", om_error_msg());
            return 1;
        }
        /* the generated talks are identical, and the fetcher dedups on SHA-256: a comment
         * tag (a remux, no re-encode) makes each file its own post (and the runs turn the
         * audio re-post check off) */
        if (!om_file_exists(mark)) {
            char *mp4 = xasprintf("%s/%s.mp4", srcdir, name), *tmp = xasprintf("%s.tmp.mp4", mp4);
            char *tag = xasprintf("comment=omniva-bench-scale-%02d", i);
            const char *ff[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", mp4,
                                "-c", "copy", "-metadata", tag, tmp, NULL};
            om_proc_result pr;
            if (om_proc_run(&(om_proc_opts){.argv = ff, .timeout_ms = 120000}, &pr) != OM_OK ||
                pr.exit_code != 0 || rename(tmp, mp4) != 0) {
                fprintf(stderr, "bench_scale: tagging %s failed\n", mp4);
                return 1;
            }
            om_proc_result_release(&pr);
            om_write_file_atomic(mark, "", 0);
            free(mp4);
            free(tmp);
            free(tag);
        }
        free(mark);
        free(name);
    }
    harness_redis redis;
    if (harness_redis_start(&redis) != 0)
        return 1;
    redisContext *rc = redisConnect("127.0.0.1", redis.port);
    if (!rc || rc->err)
        return 1;
    freeReplyObject(rcmd(rc, "CONFIG SET appendonly no"));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    result res[8];
    int nr = 0;
    char *wdup = xstrdup(wl), *save = NULL;
    for (char *t = strtok_r(wdup, ",", &save); t && nr < 8; t = strtok_r(NULL, ",", &save)) {
        int w = atoi(t);
        if (w < 1)
            continue;
        printf("  %d worker process%s...\n", w, w > 1 ? "es" : "");
        fflush(stdout);
        if (run_one(w, srcdir, nsrc, full, &redis, rc, &res[nr]) == 0)
            nr++;
    }
    free(wdup);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("\nbench_scale: %d sources -> 1 clip each, PostgreSQL + Redis (AOF off), %s renders, "
           "%ld cores, load %.2f %.2f %.2f\n",
           nsrc, full ? "1080x1920" : "540x960", cores, load[0], load[1], load[2]);
    printf("  %7s %8s %6s %7s %6s %8s %6s %8s %8s\n", "workers", "wall s", "jobs", "jobs/s",
           "clips", "clips/h", "eff.", "cpu s", "queue%");
    double base = 0;
    for (int i = 0; i < nr; i++) {
        result *r = &res[i];
        double rate = r->wall > 0 ? r->jobs / r->wall : 0;
        if (i == 0 && r->workers == 1)
            base = rate;
        long used = r->workers < cores ? r->workers : cores;
        double eff = base > 0 && used > 0 ? rate / base / (double)used : 0;
        double qshare = r->jobs_wall_s > 0 ? r->rs.usec / 1e6 / r->jobs_wall_s : 0;
        printf("  %7d %8.1f %6.0f %7.3f %6.0f %8.0f %6.2f %8.1f %7.3f%%\n", r->workers, r->wall,
               r->jobs, rate, r->clips, r->wall > 0 ? r->clips * 3600 / r->wall : 0, eff, r->cpu,
               100 * qshare);
    }
    for (int i = 0; i < nr; i++) {
        result *r = &res[i];
        double c = r->clips > 0 ? r->clips : 1;
        printf("  per clip (%d workers): %.0f store transactions, %.0f row writes; %.0f queue "
               "commands (%.0f BLPOP), %.1f KiB to+from Redis; %.1f MiB of media read+written\n",
               r->workers, r->commits / c, r->writes / c, r->rs.calls / c, r->rs.blpop_calls / c,
               (r->rs.in_bytes + r->rs.out_bytes) / c / 1024, r->media_bytes / c / 1048576);
        printf("    redis commands: %s\n", r->rs.top);
    }
    redisFree(rc);
    harness_redis_stop(&redis);
    free(srcdir);
    return nr > 0 ? 0 : 1;
}
