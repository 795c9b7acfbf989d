/* test_scrape.c: the scrape and fetch stages end to end on a real SQLite store and queue:
 * scrape lists a creator and emits one fetch job per new entry; the fetch jobs are then
 * claimed from the queue and run the way the worker runtime runs them (ack, or fail with the
 * stage's message, permanently for OM_EINVAL/OM_EPERMANENT). Cases: an RSS feed served by a
 * local HTTP server (new videos, a duplicate under another URL, a broken entry that retries,
 * dead-letters and does not stop the others), re-runs that store nothing twice, the same
 * media from a second creator (one video row), a local folder with sidecars, a web page
 * through yt-dlp's generic extractor, and a folder of bad media (empty, truncated, random
 * bytes, 9000x9000) where each bad file is exactly one dead fetch job naming the file and
 * the problem. Checks posts, videos, artifacts, files, analyze jobs and ledger packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "queue/queue.h"
#include "runtime/runtime.h"
#include "stages/projects.h"
#include "testsrv.h"
#include "fixture.h"

#include <sys/stat.h>
#include <unistd.h>

extern const om_stage om_stage_scrape, om_stage_fetch;

static char *home, *media;
static om_config *cfg;
static om_store *st;
static om_queue *q;
static testsrv *srv;
static char project[OM_UUID_LEN];
static char *clip[4];
static char *data[4];
static size_t len[4];
static char sha[4][OM_SHA256_HEX_LEN];

static int make_clip(const char *path, double seconds, int freq)
{
    char src[96], sine[96];
    snprintf(src, sizeof(src), "testsrc=size=320x240:rate=25:duration=%g", seconds);
    snprintf(sine, sizeof(sine), "sine=frequency=%d:duration=%g", freq, seconds);
    const char *argv[] = {"ffmpeg",   "-v",      "error", "-y",  "-f",        "lavfi", "-i",
                          src,        "-f",      "lavfi", "-i",  sine,        "-c:v",  "libx264",
                          "-pix_fmt", "yuv420p", "-c:a",  "aac", "-shortest", path,    NULL};
    om_proc_opts o = {0};
    o.argv = argv;
    o.timeout_ms = 60000;
    om_proc_result r;
    int rc = om_proc_run(&o, &r);
    int ok = rc == OM_OK && r.exit_code == 0;
    om_proc_result_release(&r);
    return ok ? 0 : -1;
}

static char *url_of(const char *path)
{
    return xasprintf("http://127.0.0.1:%d%s", testsrv_port(srv), path);
}

static int setup(void **state)
{
    (void)state;
    if (fx_open("scrape", 0, NULL) != 0)
        return -1;
    home = FX.home;
    media = FX.media;
    cfg = FX.cfg;
    st = FX.st;
    q = FX.q;
    memcpy(project, FX.project, sizeof(project));
    om_config_set(cfg, "ratelimit", "feed", "6000");
    om_config_set(cfg, "ratelimit", "direct", "6000");
    om_config_set(cfg, "scraper", "max_posts", "20");
    static const int freqs[4] = {440, 660, 880, 550};
    static const double secs[4] = {2, 1, 1, 2};
    for (int i = 0; i < 4; i++) {
        clip[i] = xasprintf("%s/clip%d.mp4", home, i);
        if (make_clip(clip[i], secs[i], freqs[i]) != 0 ||
            om_read_file(clip[i], 0, &data[i], &len[i]) != OM_OK ||
            om_sha256_file(clip[i], sha[i]) != OM_OK)
            return -1;
    }
    srv = testsrv_start();
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(srv);
    for (int i = 0; i < 4; i++) {
        free(clip[i]);
        free(data[i]);
    }
    fx_close();
    return 0;
}

/* Runs the scrape stage in-process for a creator; returns its code, *result_out the summary. */
static int run_scrape(const char *creator_id, json_t **result_out)
{
    om_job job;
    memset(&job, 0, sizeof(job));
    om_uuid4(job.id);
    snprintf(job.type, sizeof(job.type), "scrape");
    job.attempt = 1;
    json_t *payload = json_pack("{s:s, s:s, s:[s]}", "creator_id", creator_id, "project_id",
                                project, "parents", "5c1a0e2b-7d3f-4a6e-9b8c-0d1e2f3a4b5c");
    int rc = run_job(&om_stage_scrape, &job, payload, result_out);
    json_decref(payload);
    return rc;
}

typedef struct tally {
    int ran, new_videos, duplicates, already, failed, dead;
} tally;

/* Claims and runs fetch jobs until none is left (retries included) the way the worker does:
 * ack on success, else fail with the stage's message, permanent for OM_EINVAL/EPERMANENT. */
static tally run_fetch_jobs(void)
{
    tally t = {0};
    static const char *const types[] = {"fetch"};
    for (int idle = 0; idle < 2000;) {
        om_job job;
        size_t n = 0;
        assert_int_equal(om_queue_claim(q, types, 1, "test-worker", 120000, &job, 1, &n), OM_OK);
        if (n == 0) {
            char *v = NULL;
            assert_int_equal(om_store_query_value(st,
                                                  "SELECT COUNT(*) FROM jobs WHERE type = "
                                                  "'fetch' AND state = 'ready'",
                                                  NULL, 0, &v),
                             OM_OK);
            int left = atoi(v);
            free(v);
            if (left == 0)
                break;
            usleep(5000); /* a retry whose backoff has not passed */
            idle++;
            continue;
        }
        json_t *payload = json_loads(job.payload, 0, NULL);
        assert_non_null(payload);
        json_t *res = NULL;
        int rc = run_job(&om_stage_fetch, &job, payload, &res);
        t.ran++;
        if (rc == OM_OK) {
            assert_int_equal(om_queue_ack(q, &job), OM_OK);
            const char *o = json_string_value(json_object_get(res, "outcome"));
            assert_non_null(o);
            if (strcmp(o, "new_video") == 0)
                t.new_videos++;
            else if (strcmp(o, "duplicate") == 0)
                t.duplicates++;
            else
                t.already++;
        } else {
            char *why = xstrdup(om_error_msg());
            int dead = 0;
            assert_int_equal(
                om_queue_fail(q, &job, why, rc == OM_EINVAL || rc == OM_EPERMANENT, &dead), OM_OK);
            t.failed++;
            t.dead += dead;
            free(why);
        }
        json_decref(res);
        json_decref(payload);
        om_job_release(&job);
    }
    return t;
}

static int64_t qint(const char *sql, const char *arg)
{
    char *v = NULL;
    int rc = arg ? om_store_query_value(st, sql, OM_PARAMS(OM_TEXT(arg)), &v)
                 : om_store_query_value(st, sql, NULL, 0, &v);
    if (rc != OM_OK)
        fprintf(stderr, "%s: %s\n", sql, om_error_msg());
    assert_int_equal(rc, OM_OK);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static int64_t rint_of(json_t *r, const char *key)
{
    return json_integer_value(json_object_get(r, key));
}

/* Every video's file exists at <media>/sources/<video_id>.<ext> with the stored checksum,
 * and a source_media artifact names it. */
static void check_video_files(void)
{
    om_rows *r = NULL;
    assert_int_equal(om_store_query(st,
                                    "SELECT v.video_id, v.file_path, v.checksum, a.path AS apath, "
                                    "a.checksum AS achk FROM videos v LEFT JOIN artifacts a ON "
                                    "a.entity_id = v.video_id AND a.kind = 'source_media'",
                                    NULL, 0, &r),
                     OM_OK);
    for (size_t i = 0; i < om_rows_count(r); i++) {
        const char *vid = om_rows_getn(r, i, "video_id");
        const char *path = om_rows_getn(r, i, "file_path");
        /* stored relative to the workspace home (a moved workspace keeps its files) */
        char *want = xasprintf("media/sources/%s.mp4", vid);
        assert_string_equal(path, want);
        char *abs = om_path_from_home(home, path);
        char got[OM_SHA256_HEX_LEN];
        assert_int_equal(om_sha256_file(abs, got), OM_OK);
        assert_string_equal(got, om_rows_getn(r, i, "checksum"));
        assert_non_null(om_rows_getn(r, i, "apath"));
        assert_string_equal(om_rows_getn(r, i, "apath"), path);
        assert_string_equal(om_rows_getn(r, i, "achk"), got);
        free(want);
        free(abs);
    }
    om_rows_free(r);
}

static void test_feed_scrape(void **state)
{
    (void)state;
    char *a = url_of("/m/a.mp4"), *b = url_of("/m/b.mp4"), *acopy = url_of("/m/a-copy.mp4"),
         *broken = url_of("/m/broken.mp4");
    char *xml = xasprintf(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed</title>"
        "<item><title>A</title><guid>a</guid><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
        "<enclosure url=\"%s\" type=\"video/mp4\"/></item>"
        "<item><title>B</title><guid>b</guid><enclosure url=\"%s\" type=\"video/mp4\"/></item>"
        "<item><title>A again</title><guid>c</guid><pubDate>Tue, 02 Jan 2024 10:00:00 GMT"
        "</pubDate><enclosure url=\"%s\" type=\"video/mp4\"/></item>"
        "<item><title>Broken</title><guid>d</guid><pubDate>Wed, 03 Jan 2024 10:00:00 GMT"
        "</pubDate><enclosure url=\"%s\" type=\"video/mp4\"/></item>"
        "</channel></rss>",
        a, b, acopy, broken);
    testsrv_add(srv, "/feed.xml", "application/rss+xml", xml, strlen(xml), 0, 0);
    testsrv_add(srv, "/m/a.mp4", "video/mp4", data[0], len[0], 0, 0);
    testsrv_add(srv, "/m/b.mp4", "video/mp4", data[1], len[1], 0, 0);
    testsrv_add(srv, "/m/a-copy.mp4", "video/mp4", data[0], len[0], 0, 0);
    char *feed = url_of("/feed.xml");
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, feed, cid), OM_OK);

    json_t *res = NULL;
    int rc = run_scrape(cid, &res);
    if (rc != OM_OK)
        fprintf(stderr, "scrape: %s\n", om_error_msg());
    assert_int_equal(rc, OM_OK);
    assert_int_equal(rint_of(res, "listed"), 4);
    assert_int_equal(rint_of(res, "fetch_jobs"), 4);
    json_decref(res);
    /* scrape downloads nothing itself: one fetch job per entry, keyed by the post */
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE creator_id = ?", cid), 0);
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch' AND state = 'ready' "
                          "AND unique_key LIKE 'fetch:feed:%'",
                          NULL),
                     4);
    {
        om_rows *fr = NULL;
        assert_int_equal(om_store_query(st,
                                        "SELECT payload FROM jobs WHERE type = 'fetch' AND "
                                        "unique_key LIKE 'fetch:feed:%#b'",
                                        NULL, 0, &fr),
                         OM_OK);
        assert_int_equal(om_rows_count(fr), 1);
        json_t *p = json_loads(om_rows_getn(fr, 0, "payload"), 0, NULL);
        assert_string_equal(json_string_value(json_object_get(p, "creator_id")), cid);
        assert_string_equal(json_string_value(json_object_get(p, "project_id")), project);
        assert_string_equal(json_string_value(json_array_get(json_object_get(p, "parents"), 0)),
                            "5c1a0e2b-7d3f-4a6e-9b8c-0d1e2f3a4b5c");
        json_t *e = json_object_get(p, "entry");
        assert_string_equal(json_string_value(json_object_get(e, "media_url")), b);
        assert_string_equal(json_string_value(json_object_get(e, "fetcher")), "http");
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "raw"), "title")),
                            "B");
        json_decref(p);
        om_rows_free(fr);
    }
    tally t = run_fetch_jobs();
    assert_int_equal(t.new_videos, 2);
    assert_int_equal(t.duplicates, 1);
    assert_int_equal(t.failed, 3); /* the broken one: a 404 is retried, then dead-lettered */
    assert_int_equal(t.dead, 1);   /* ... and the others went on */
    om_job_list dl = {0};
    om_queue_filter qf = {"dead", "fetch", 0};
    assert_int_equal(om_queue_list(q, &qf, &dl), OM_OK);
    assert_int_equal(dl.n, 1);
    assert_non_null(strstr(dl.jobs[0].unique_key, "#d"));
    json_t *errs = json_loads(dl.jobs[0].errors, 0, NULL);
    assert_int_equal(json_array_size(errs), 3);
    const char *err0 = json_string_value(json_object_get(json_array_get(errs, 0), "error"));
    assert_non_null(strstr(err0, "broken.mp4"));
    assert_non_null(strstr(err0, "404"));
    json_decref(errs);
    char dead_id[OM_UUID_LEN];
    memcpy(dead_id, dl.jobs[0].id, OM_UUID_LEN);
    om_job_list_free(&dl);

    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE creator_id = ?", cid), 3);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos", NULL), 2);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE platform = 'feed' AND "
                          "platform_post_id LIKE '%#a'",
                          NULL),
                     1);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE posted_at IS NULL", NULL), 1); /* B */
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE posted_at = "
                          "'2024-01-01T10:00:00.000000Z' AND downloaded_at IS NOT NULL",
                          NULL),
                     1);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos WHERE checksum = ?", sha[0]), 1);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos WHERE checksum = ?", sha[1]), 1);
    /* the original (older) post owns the video; the later repost is the duplicate */
    assert_int_equal(qint("SELECT COUNT(*) FROM videos v JOIN posts p ON p.post_id = v.post_id "
                          "WHERE p.platform_post_id LIKE '%#a' AND v.checksum = ?",
                          sha[0]),
                     1);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos WHERE resolution = '320x240' AND "
                          "duration_seconds = 2",
                          NULL),
                     1);
    assert_int_equal(qint("SELECT COUNT(*) FROM artifacts WHERE kind = 'source_media'", NULL), 2);
    check_video_files();
    /* one analyze job per new video, keyed by the video id, with the ledger packet as parent */
    om_rows *r = NULL;
    assert_int_equal(om_store_query(st,
                                    "SELECT j.unique_key, j.payload, v.video_id FROM jobs j JOIN "
                                    "videos v ON j.unique_key = 'analyze:' || v.video_id "
                                    "WHERE j.type = 'analyze'",
                                    NULL, 0, &r),
                     OM_OK);
    assert_int_equal(om_rows_count(r), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_loads(om_rows_getn(r, i, "payload"), 0, NULL);
        assert_string_equal(json_string_value(json_object_get(p, "video_id")),
                            om_rows_getn(r, i, "video_id"));
        assert_non_null(json_string_value(json_object_get(p, "post_id")));
        assert_string_equal(json_string_value(json_object_get(p, "project_id")), project);
        json_t *parents = json_object_get(p, "parents");
        assert_int_equal(json_array_size(parents), 1);
        const char *packet = json_string_value(json_array_get(parents, 0));
        assert_int_equal(qint("SELECT COUNT(*) FROM stardust_metadata WHERE stardust_id = ? AND "
                              "entity_type = 'videos'",
                              packet),
                         1);
        json_decref(p);
    }
    om_rows_free(r);
    /* the packet carries the evidence */
    char *lineage = NULL;
    assert_int_equal(om_store_query_value(st,
                                          "SELECT lineage FROM stardust_metadata WHERE "
                                          "entity_type = 'videos' AND entity_id = (SELECT "
                                          "video_id FROM videos WHERE checksum = ?)",
                                          OM_PARAMS(OM_TEXT(sha[0])), &lineage),
                     OM_OK);
    json_t *lj = json_loads(lineage, 0, NULL);
    json_t *ev = json_object_get(lj, "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "checksum")), sha[0]);
    assert_string_equal(json_string_value(json_object_get(ev, "driver")), "http");
    assert_int_equal(strlen(json_string_value(json_object_get(ev, "raw_metadata_sha256"))), 64);
    json_decref(lj);
    free(lineage);
    /* the duplicate post has its own packet pointing at the first video */
    assert_int_equal(
        qint("SELECT COUNT(*) FROM stardust_metadata WHERE entity_type = 'posts'", NULL), 1);
    /* raw metadata kept */
    char *raw = NULL;
    assert_int_equal(om_store_query_value(st,
                                          "SELECT raw_metadata FROM posts WHERE platform_post_id "
                                          "LIKE '%#b'",
                                          NULL, 0, &raw),
                     OM_OK);
    json_t *rj = json_loads(raw, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(rj, "title")), "B");
    assert_string_equal(json_string_value(json_object_get(rj, "omniva_driver")), "feed");
    assert_non_null(json_object_get(rj, "download"));
    json_decref(rj);
    free(raw);
    /* no partial downloads left behind */
    char *partial = xasprintf("%s/sources/.partial", media);
    char *ls = NULL;
    struct stat sb;
    if (stat(partial, &sb) == 0) {
        const char *argv[] = {"find", partial, "-type", "f", NULL};
        om_proc_opts o = {0};
        o.argv = argv;
        om_proc_result pr;
        assert_int_equal(om_proc_run(&o, &pr), OM_OK);
        ls = xstrdup(pr.out ? pr.out : "");
        om_proc_result_release(&pr);
        assert_string_equal(ls, "");
    }
    free(ls);
    free(partial);

    /* a re-run stores nothing twice; the broken entry is the only new one, and its dead
     * fetch job holds the key: no second job until someone retries the dead letter */
    assert_int_equal(run_scrape(cid, &res), OM_OK);
    assert_int_equal(rint_of(res, "already_stored"), 3);
    assert_int_equal(rint_of(res, "fetch_jobs"), 1);
    json_decref(res);
    assert_int_equal(run_fetch_jobs().ran, 0);
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch'", NULL), 4);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts", NULL), 3);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos", NULL), 2);
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'analyze'", NULL), 2);

    /* the server fixes the file (same bytes as B) and the dead letter is retried: the post
     * is stored, no new video */
    testsrv_add(srv, "/m/broken.mp4", "video/mp4", data[1], len[1], 0, 0);
    assert_int_equal(om_queue_retry(q, dead_id), OM_OK);
    t = run_fetch_jobs();
    assert_int_equal(t.ran, 1);
    assert_int_equal(t.duplicates, 1);
    assert_int_equal(t.new_videos, 0);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts", NULL), 4);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos", NULL), 2);
    /* a re-delivered fetch job (say its ack was lost) stores nothing twice */
    {
        om_job job;
        assert_int_equal(om_queue_get(q, dead_id, &job), OM_OK);
        assert_string_equal(job.state, "done");
        json_t *p = json_loads(job.payload, 0, NULL);
        json_t *r2 = NULL;
        assert_int_equal(run_job(&om_stage_fetch, &job, p, &r2), OM_OK);
        assert_string_equal(json_string_value(json_object_get(r2, "outcome")), "already_stored");
        json_decref(r2);
        json_decref(p);
        om_job_release(&job);
    }
    assert_int_equal(qint("SELECT COUNT(*) FROM posts", NULL), 4);
    assert_int_equal(
        qint("SELECT COUNT(*) FROM stardust_metadata WHERE entity_type = 'posts'", NULL), 2);

    free(a);
    free(b);
    free(acopy);
    free(broken);
    free(xml);
    free(feed);
}

/* The same media under another URL from another creator: one video row. */
static void test_same_media_two_urls(void **state)
{
    (void)state;
    testsrv_add(srv, "/mirror/copy-of-a.mp4", "video/mp4", data[0], len[0], 0, 0);
    char *u = url_of("/mirror/copy-of-a.mp4");
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, u, cid), OM_OK);
    int64_t videos = qint("SELECT COUNT(*) FROM videos", NULL);
    json_t *res = NULL;
    assert_int_equal(run_scrape(cid, &res), OM_OK);
    assert_int_equal(rint_of(res, "fetch_jobs"), 1);
    json_decref(res);
    tally t = run_fetch_jobs();
    assert_int_equal(t.ran, 1);
    assert_int_equal(t.duplicates, 1);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE creator_id = ?", cid), 1);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE platform = 'direct'", NULL), 1);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos", NULL), videos);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos WHERE checksum = ?", sha[0]), 1);
    free(u);
}

static void test_local_folder(void **state)
{
    (void)state;
    char *dir = xasprintf("%s/inbox", home);
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    char *mp4 = xasprintf("%s/talk.mp4", dir);
    assert_int_equal(om_copy_file_atomic(clip[2], mp4), OM_OK);
    char *vtt = xasprintf("%s/talk.vtt", dir);
    const char *subs = "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nlocal words\n";
    assert_int_equal(om_write_file_atomic(vtt, subs, strlen(subs)), OM_OK);
    char *js = xasprintf("%s/talk.json", dir);
    const char *meta = "{\"title\": \"Talk\", \"view_count\": 321, \"like_count\": 12, "
                       "\"comment_count\": 3, \"posted_at\": \"2025-05-05T05:05:05Z\"}";
    assert_int_equal(om_write_file_atomic(js, meta, strlen(meta)), OM_OK);
    char *uri = xasprintf("file://%s", dir);
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, uri, cid), OM_OK);
    json_t *res = NULL;
    assert_int_equal(run_scrape(cid, &res), OM_OK);
    assert_int_equal(rint_of(res, "fetch_jobs"), 1);
    json_decref(res);
    assert_int_equal(run_fetch_jobs().new_videos, 1);
    char *vid = NULL;
    assert_int_equal(om_store_query_value(st,
                                          "SELECT v.video_id FROM videos v JOIN posts p ON "
                                          "p.post_id = v.post_id WHERE p.creator_id = ?",
                                          OM_PARAMS(OM_TEXT(cid)), &vid),
                     OM_OK);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE posted_at = "
                          "'2025-05-05T05:05:05.000000Z' AND platform = 'local'",
                          NULL),
                     1);
    char *raw = NULL;
    assert_int_equal(om_store_query_value(st, "SELECT raw_metadata FROM posts WHERE creator_id = ?",
                                          OM_PARAMS(OM_TEXT(cid)), &raw),
                     OM_OK);
    json_t *rj = json_loads(raw, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(rj, "view_count")), 321);
    json_decref(rj);
    free(raw);
    /* the sidecar became the video's subtitle artifact in <media>/subs */
    char *spath = NULL;
    assert_int_equal(om_store_query_value(st,
                                          "SELECT path FROM artifacts WHERE kind = 'subtitle' AND "
                                          "entity_id = ?",
                                          OM_PARAMS(OM_TEXT(vid)), &spath),
                     OM_OK);
    assert_true(strncmp(spath, "media/subs/", 11) == 0); /* relative to the home */
    assert_non_null(strstr(spath, vid));
    char *text = NULL, *sabs = om_path_from_home(home, spath);
    assert_int_equal(om_read_file(sabs, 0, &text, NULL), OM_OK);
    free(sabs);
    assert_string_equal(text, subs);
    free(text);
    assert_true(om_file_exists(mp4)); /* the source folder is left alone */
    check_video_files();
    /* nothing new the second time */
    assert_int_equal(run_scrape(cid, &res), OM_OK);
    assert_int_equal(rint_of(res, "fetch_jobs"), 0);
    assert_int_equal(rint_of(res, "already_stored"), 1);
    json_decref(res);
    assert_int_equal(run_fetch_jobs().ran, 0);
    free(spath);
    free(vid);
    free(uri);
    free(js);
    free(vtt);
    free(mp4);
    free(dir);
}

/* A folder of numbered media files (distinct content), made now. */
static char *media_folder(const char *name, int from, int to)
{
    char *dir = xasprintf("%s/%s", home, name);
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    for (int i = from; i < to; i++) {
        char *f = xasprintf("%s/post%02d.mp4", dir, i);
        assert_int_equal(make_clip(f, 0.5, 300 + 40 * i + (int)strlen(name)), 0);
        free(f);
    }
    return dir;
}

static int64_t scrape_fetch_jobs(const char *cid)
{
    json_t *res = NULL;
    assert_int_equal(run_scrape(cid, &res), OM_OK);
    int64_t n = rint_of(res, "fetch_jobs");
    json_decref(res);
    return n;
}

/* A folder creator with 11 files and max_posts 5: the first scrape takes the whole backlog
 * (scraper.backfill bounds it), later scrapes only the new posts. */
static void test_backlog_then_new_posts(void **state)
{
    (void)state;
    om_config_set(cfg, "scraper", "max_posts", "5");
    char *dir = media_folder("backlog", 0, 11);
    char *uri = xasprintf("file://%s", dir);
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, uri, cid), OM_OK);
    assert_int_equal(scrape_fetch_jobs(cid), 11); /* not 5: the backlog */
    assert_int_equal(run_fetch_jobs().new_videos, 11);
    assert_int_equal(scrape_fetch_jobs(cid), 0);
    free(media_folder("backlog", 11, 13)); /* two new posts */
    assert_int_equal(scrape_fetch_jobs(cid), 2);
    assert_int_equal(run_fetch_jobs().new_videos, 2);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE creator_id = ?", cid), 13);
    /* the backlog is bounded: with backfill 4 (and max_posts 3), a creator's first scrape
     * takes its 4 newest posts; later scrapes look at the newest max(backfill, max_posts),
     * so the older history is left alone */
    om_config_set(cfg, "scraper", "backfill", "4");
    om_config_set(cfg, "scraper", "max_posts", "3");
    char *dir2 = media_folder("deep", 0, 7);
    char *uri2 = xasprintf("file://%s", dir2);
    char cid2[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, uri2, cid2), OM_OK);
    assert_int_equal(scrape_fetch_jobs(cid2), 4);
    assert_int_equal(run_fetch_jobs().new_videos, 4);
    assert_int_equal(scrape_fetch_jobs(cid2), 0);
    om_config_set(cfg, "scraper", "max_posts", "20");
    om_config_set(cfg, "scraper", "backfill", "50");
    free(uri2);
    free(dir2);
    free(uri);
    free(dir);
}

static void test_ytdlp_page(void **state)
{
    (void)state;
    const char *vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\npage words\n";
    testsrv_add(srv, "/site/v.mp4", "video/mp4", data[3], len[3], 0, 0);
    testsrv_add(srv, "/site/v.en.vtt", "text/vtt", vtt, strlen(vtt), 0, 0);
    const char *html = "<!DOCTYPE html><html><head><title>Page video</title></head><body>"
                       "<video controls><source src=\"v.mp4\" type=\"video/mp4\">"
                       "<track kind=\"subtitles\" src=\"v.en.vtt\" srclang=\"en\"></video>"
                       "</body></html>";
    testsrv_add(srv, "/site/index.html", "text/html", html, strlen(html), 0, 0);
    char *u = url_of("/site/index.html");
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, u, cid), OM_OK);
    json_t *res = NULL;
    int rc = run_scrape(cid, &res);
    if (rc != OM_OK)
        fprintf(stderr, "scrape: %s\n", om_error_msg());
    assert_int_equal(rc, OM_OK);
    assert_int_equal(rint_of(res, "fetch_jobs"), 1);
    json_decref(res);
    tally t = run_fetch_jobs();
    assert_int_equal(t.ran, 1);
    assert_int_equal(t.new_videos, 1);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos WHERE checksum = ?", sha[3]), 1);
    assert_int_equal(qint("SELECT COUNT(*) FROM artifacts a JOIN videos v ON v.video_id = "
                          "a.entity_id WHERE a.kind = 'subtitle' AND v.checksum = ?",
                          sha[3]),
                     1);
    char *raw = NULL;
    assert_int_equal(om_store_query_value(st, "SELECT raw_metadata FROM posts WHERE creator_id = ?",
                                          OM_PARAMS(OM_TEXT(cid)), &raw),
                     OM_OK);
    json_t *rj = json_loads(raw, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(rj, "omniva_driver")), "ytdlp");
    assert_non_null(json_object_get(rj, "extractor"));
    json_decref(rj);
    free(raw);
    check_video_files();
    free(u);
}

/* Runs ffmpeg with `args` (after "ffmpeg -v error -y"); 0 on success. */
static int ffmpeg(const char *const *args)
{
    const char *argv[32] = {"ffmpeg", "-v", "error", "-y"};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    om_proc_opts o = {0};
    o.argv = argv;
    o.timeout_ms = 120000;
    om_proc_result r;
    int rc = om_proc_run(&o, &r);
    int ok = rc == OM_OK && r.exit_code == 0;
    if (!ok)
        fprintf(stderr, "ffmpeg failed: %s\n", r.err ? r.err : om_error_msg());
    om_proc_result_release(&r);
    return ok ? 0 : -1;
}

/* Issue #3: bad media in a folder. Each unusable file ends as exactly ONE dead fetch job
 * (dead at the first attempt) whose error names the file and what is wrong; the good file
 * becomes a video with an analyze job; nothing else is lost. */
static void test_bad_media(void **state)
{
    (void)state;
    char *dir = xasprintf("%s/badmedia", home);
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    char *good = xasprintf("%s/good.mp4", dir);
    assert_int_equal(make_clip(good, 3, 330), 0);
    char good_sha[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(good, good_sha), OM_OK);
    char *gdata = NULL;
    size_t glen = 0;
    assert_int_equal(om_read_file(good, 0, &gdata, &glen), OM_OK);
    char *empty = xasprintf("%s/empty.mp4", dir);
    assert_int_equal(om_write_file_atomic(empty, "", 0), OM_OK);
    char *trunc = xasprintf("%s/truncated.mp4", dir);
    assert_int_equal(om_write_file_atomic(trunc, gdata, glen / 2), OM_OK);
    char *rnd = xasprintf("%s/random.mp4", dir);
    {
        size_t n = 256 * 1024;
        unsigned char *buf = xmalloc(n);
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (unsigned char)(x >> 24);
        }
        assert_int_equal(om_write_file_atomic(rnd, buf, n), OM_OK);
        free(buf);
    }
    /* 9000x9000, over OM_MEDIA_MAX_DIM (8192): one MJPEG frame of a flat colour */
    char *huge = xasprintf("%s/huge.mkv", dir);
    const char *hargs[] = {"-f",        "lavfi",    "-i",   "color=c=blue:s=9000x9000:d=0.04",
                           "-frames:v", "1",        "-c:v", "mjpeg",
                           "-pix_fmt",  "yuvj420p", huge,   NULL};
    int have_huge = ffmpeg(hargs) == 0;
    if (!have_huge)
        fprintf(stderr, "note: ffmpeg could not make a 9000x9000 file; that case is skipped\n");
    free(gdata);

    char *uri = xasprintf("file://%s", dir);
    char cid[OM_UUID_LEN];
    assert_int_equal(om_creator_add(st, project, uri, cid), OM_OK);
    int64_t fetch_before = qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch'", NULL);
    int64_t dead_before =
        qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch' AND state = 'dead'", NULL);
    int nfiles = 4 + have_huge, nbad = nfiles - 1;
    json_t *res = NULL;
    assert_int_equal(run_scrape(cid, &res), OM_OK); /* listing bad files is not an error */
    assert_int_equal(rint_of(res, "fetch_jobs"), nfiles);
    json_decref(res);
    tally t = run_fetch_jobs();
    assert_int_equal(t.ran, nfiles);   /* every job ran exactly once: */
    assert_int_equal(t.new_videos, 1); /* the good one */
    assert_int_equal(t.failed, nbad);  /* each bad one failed once ... */
    assert_int_equal(t.dead, nbad);    /* ... and went straight to the dead letters */

    /* the good file: a video and its analyze job */
    char *vid = NULL;
    assert_int_equal(om_store_query_value(st,
                                          "SELECT v.video_id FROM videos v JOIN posts p ON "
                                          "p.post_id = v.post_id WHERE p.creator_id = ?",
                                          OM_PARAMS(OM_TEXT(cid)), &vid),
                     OM_OK);
    assert_int_equal(qint("SELECT COUNT(*) FROM videos WHERE checksum = ?", good_sha), 1);
    char *akey = xasprintf("analyze:%s", vid);
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'analyze' AND state = 'ready' "
                          "AND unique_key = ?",
                          akey),
                     1);
    assert_int_equal(qint("SELECT COUNT(*) FROM posts WHERE creator_id = ?", cid), 1);
    check_video_files();

    /* each bad file: exactly one dead fetch job, one error, naming the file and the problem */
    static const struct {
        const char *name, *problem[3];
    } bad[] = {
        {"empty.mp4", {"empty file", NULL, NULL}},
        {"truncated.mp4", {"truncated", "moov atom not found", NULL}},
        {"random.mp4", {"not a media file", "corrupt", NULL}},
        {"huge.mkv", {"9000x9000 exceeds", NULL, NULL}},
    };
    om_job_list dl = {0};
    om_queue_filter qf = {"dead", "fetch", 1000};
    assert_int_equal(om_queue_list(q, &qf, &dl), OM_OK);
    assert_int_equal((int64_t)dl.n, dead_before + nbad);
    for (size_t i = 0; i < OM_ARRAY_LEN(bad); i++) {
        if (!have_huge && strcmp(bad[i].name, "huge.mkv") == 0)
            continue;
        char *prefix = xasprintf("fetch:local:%s@", bad[i].name);
        int found = 0;
        for (size_t k = 0; k < dl.n; k++) {
            om_job *j = &dl.jobs[k];
            if (!j->unique_key || strncmp(j->unique_key, prefix, strlen(prefix)) != 0)
                continue;
            found++;
            assert_int_equal(j->attempt, 1);
            json_t *errs = json_loads(j->errors, 0, NULL);
            assert_int_equal(json_array_size(errs), 1);
            const char *err = json_string_value(json_object_get(json_array_get(errs, 0), "error"));
            assert_non_null(err);
            fprintf(stderr, "dead letter %s: %s\n", bad[i].name, err);
            char *path = xasprintf("%s/%s", dir, bad[i].name);
            assert_non_null(strstr(err, path)); /* names the file */
            assert_non_null(strstr(err, "unusable media"));
            int named = 0;
            for (size_t p = 0; p < 3 && bad[i].problem[p]; p++)
                named |= strstr(err, bad[i].problem[p]) != NULL;
            assert_true(named); /* and what is wrong with it */
            free(path);
            json_decref(errs);
        }
        assert_int_equal(found, 1);
        free(prefix);
    }
    om_job_list_free(&dl);
    /* nothing else lost or pending: every fetch job of this run is done or dead */
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch'", NULL),
                     fetch_before + nfiles);
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch' AND state NOT IN "
                          "('done', 'dead')",
                          NULL),
                     0);
    /* a re-scrape emits nothing new: the dead letters hold their keys */
    assert_int_equal(run_scrape(cid, &res), OM_OK);
    assert_int_equal(rint_of(res, "already_stored"), 1);
    json_decref(res);
    assert_int_equal(run_fetch_jobs().ran, 0);
    assert_int_equal(qint("SELECT COUNT(*) FROM jobs WHERE type = 'fetch'", NULL),
                     fetch_before + nfiles);

    free(akey);
    free(vid);
    free(uri);
    free(huge);
    free(rnd);
    free(trunc);
    free(empty);
    free(good);
    free(dir);
}

static void test_bad_payloads(void **state)
{
    (void)state;
    char missing[OM_UUID_LEN];
    om_uuid4(missing);
    assert_int_equal(run_scrape(missing, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "does not exist"));
    assert_int_equal(run_scrape("not-a-uuid", NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "creator_id"));

    /* fetch: a payload without an entry, or with a broken one, is OM_EINVAL naming it */
    char cid[OM_UUID_LEN];
    char *c = NULL;
    assert_int_equal(
        om_store_query_value(st, "SELECT creator_id FROM creators LIMIT 1", NULL, 0, &c), OM_OK);
    snprintf(cid, sizeof(cid), "%s", c);
    free(c);
    om_job job;
    memset(&job, 0, sizeof(job));
    om_uuid4(job.id);
    snprintf(job.type, sizeof(job.type), "fetch");
    json_t *p = json_pack("{s:s}", "creator_id", cid);
    assert_int_equal(run_job(&om_stage_fetch, &job, p, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "\"entry\""));
    json_object_set_new(p, "entry",
                        json_pack("{s:s, s:s, s:s, s:s}", "platform_post_id", "x", "url", "u",
                                  "media_url", "m", "fetcher", "carrier-pigeon"));
    assert_int_equal(run_job(&om_stage_fetch, &job, p, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "carrier-pigeon"));
    json_object_del(json_object_get(p, "entry"), "media_url");
    assert_int_equal(run_job(&om_stage_fetch, &job, p, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "media_url"));
    json_decref(p);
}

int main(void)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_scrape),
        cmocka_unit_test(test_same_media_two_urls),
        cmocka_unit_test(test_local_folder),
        cmocka_unit_test(test_ytdlp_page),
        cmocka_unit_test(test_bad_media),
        cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_backlog_then_new_posts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
    // clang-format on
}
