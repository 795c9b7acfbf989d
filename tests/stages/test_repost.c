/*
 * test_repost.c: the fetch stage's re-post check (stages/repost.h) through scrape + fetch, on
 * SQLite and on PostgreSQL + Redis. Creator A posts a talk (espeak-ng speech over a video);
 * creator B posts the same talk re-posted (first 4 s trimmed, another picture, MP3 audio in
 * Matroska: different bytes, so no SHA-256 match) and an unrelated talk. The re-post becomes
 * a post pointing at A's video, with a "repost" ledger packet carrying the fingerprint match,
 * no second video, no analyze job and no file kept; the unrelated talk is a new video. Two
 * sources of near silence are not taken for each other, nor a talk that opens with the same
 * 14 s as A's; with fetch.dedupe_audio off the same re-post is a video of its own.
 */
#include "fixture.h"

#include "base/fsutil.h"
#include "stages/projects.h"
#include "stages/repost.h"
#include "media_fixture.h"

#include <dirent.h>
#include <math.h>
#include <unistd.h>

extern const om_stage om_stage_scrape, om_stage_fetch;

static const char *A = FX_TALK_COFFEE;
static const char *B = FX_TALK_MONEY;
static const char *C = /* never posted on its own */
    "Our garden starts in March. We sow tomatoes indoors on the windowsill, then move the "
    "seedlings to the greenhouse when the nights stay above ten degrees. Water in the morning, "
    "never at noon. Pinch out the side shoots every week, and feed them once the first "
    "flowers open. By July the vines need strong stakes and a lot of patience.";

static char *gen; /* generated media, outside the creators' folders */

static void speech(const char *wav, const char *text)
{
    assert_int_equal(
        fx_run_tool((const char *const[]){"espeak-ng", "-s", "150", "-w", wav, text, NULL}), 0);
}

/* wav (from `ss` seconds) under a plain-coloured picture, into out with the given audio codec */
static void video(const char *wav, double ss, const char *color, const char *acodec,
                  const char *out)
{
    char ssbuf[32], lavfi[96];
    snprintf(ssbuf, sizeof(ssbuf), "%.1f", ss);
    snprintf(lavfi, sizeof(lavfi), "color=c=%s:s=320x240:r=15", color);
    assert_int_equal(fx_run_tool((const char *const[]){
                         "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", lavfi, "-ss", ssbuf,
                         "-i", wav, "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
                         "-pix_fmt", "yuv420p", "-c:a", acodec, "-ac", "2", "-ar", "44100", out,
                         NULL}),
                     0);
}

static int setup(int pg)
{
    if (fx_open(pg ? "repost-pg" : "repost", pg, NULL) != 0)
        return -1;
    gen = xasprintf("%s/generated", FX.home);
    return om_mkdirs(gen, 0755) == OM_OK ? 0 : -1;
}
static int setup_sqlite(void **state)
{
    (void)state;
    return setup(0);
}
static int setup_pg(void **state)
{
    (void)state;
    return setup(1);
}
static int teardown(void **state)
{
    (void)state;
    free(gen);
    gen = NULL;
    fx_close();
    return 0;
}

/* A creator for a new folder holding the given files (copied in). */
static void folder_creator(const char *name, const char *const *files, char cid[OM_UUID_LEN])
{
    char *dir = xasprintf("%s/%s", FX.home, name);
    assert_int_equal(om_mkdirs(dir, 0755), OM_OK);
    for (size_t i = 0; files[i]; i++) {
        const char *base = strrchr(files[i], '/');
        char *dst = xasprintf("%s/%s", dir, base ? base + 1 : files[i]);
        assert_int_equal(om_copy_file_atomic(files[i], dst), OM_OK);
        free(dst);
    }
    char *uri = xasprintf("file://%s", dir);
    assert_int_equal(om_creator_add(FX.st, FX.project, uri, cid), OM_OK);
    free(uri);
    free(dir);
}

typedef struct outcomes {
    int ran, new_videos, reposts, dups;
    char repost_of[OM_UUID_LEN];
} outcomes;

/* Scrapes the creator and runs every fetch job it emitted. */
static outcomes scrape_and_fetch(const char *cid)
{
    outcomes o = {0};
    json_t *res = NULL;
    json_t *sp = json_pack("{s:s}", "creator_id", cid);
    assert_int_equal(run_stage(&om_stage_scrape, sp, &res), OM_OK);
    json_decref(sp);
    json_decref(res);
    static const char *const types[] = {"fetch"};
    for (;;) {
        om_job job;
        size_t n = 0, relayed = 0;
        assert_int_equal(om_queue_relay(FX.q, &relayed), OM_OK); /* Redis: the outbox, as a worker */
        assert_int_equal(om_queue_claim(FX.q, types, 1, "test", 120000, &job, 1, &n), OM_OK);
        if (n == 0)
            break;
        json_t *payload = json_loads(job.payload, 0, NULL);
        res = NULL;
        int rc = run_job(&om_stage_fetch, &job, payload, &res);
        if (rc != OM_OK)
            fprintf(stderr, "fetch failed: %s\n", FX.last_error);
        assert_int_equal(rc, OM_OK);
        assert_int_equal(om_queue_ack(FX.q, &job), OM_OK);
        o.ran++;
        const char *out = json_string_value(json_object_get(res, "outcome"));
        const char *by = json_string_value(json_object_get(res, "matched_by"));
        if (!strcmp(out, "new_video")) {
            o.new_videos++;
        } else if (!strcmp(out, "duplicate") && by && !strcmp(by, "audio_fingerprint")) {
            o.reposts++;
            snprintf(o.repost_of, sizeof(o.repost_of), "%s",
                     json_string_value(json_object_get(res, "duplicate_of")));
        } else if (!strcmp(out, "duplicate")) {
            o.dups++;
        }
        json_decref(res);
        json_decref(payload);
        om_job_release(&job);
    }
    return o;
}

static int64_t count(const char *sql, const char *arg)
{
    return arg ? fx_count(sql, FX_TEXT1(arg)) : fx_count(sql, NULL, 0);
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_repost_is_clipped_once(void **state)
{
    (void)state;
    char *wa = xasprintf("%s/a.wav", gen), *wb = xasprintf("%s/b.wav", gen);
    speech(wa, A);
    speech(wb, B);
    char *va = xasprintf("%s/talk.mp4", gen), *va2 = xasprintf("%s/reupload.mkv", gen),
         *vb = xasprintf("%s/money.mp4", gen);
    video(wa, 0, "blue", "aac", va);
    video(wa, 4, "red", "libmp3lame", va2);
    video(wb, 0, "green", "aac", vb);

    char ca[OM_UUID_LEN], cb[OM_UUID_LEN];
    folder_creator("creator-a", (const char *const[]){va, NULL}, ca);
    outcomes o = scrape_and_fetch(ca);
    assert_int_equal(o.new_videos, 1);
    char *orig = fx_value("SELECT v.video_id FROM videos v JOIN posts p ON p.post_id = v.post_id "
                          "WHERE p.creator_id = ?",
                          FX_TEXT1(ca));
    assert_non_null(orig);
    /* its fingerprint is stored: a pseudo-path, no checksum (it names no file) */
    char *meta = fx_value("SELECT metadata FROM artifacts WHERE kind = 'audio_fingerprint' AND "
                          "entity_id = ? AND checksum IS NULL",
                          FX_TEXT1(orig));
    assert_non_null(meta);
    json_t *mj = json_loads(meta, 0, NULL);
    assert_true(json_number_value(json_object_get(mj, "seconds")) > 15);
    assert_true(strlen(json_string_value(json_object_get(mj, "items"))) > 8 * 100);
    json_decref(mj);
    free(meta);

    folder_creator("creator-b", (const char *const[]){va2, vb, NULL}, cb);
    o = scrape_and_fetch(cb);
    assert_int_equal(o.ran, 2);
    assert_int_equal(o.reposts, 1);
    assert_int_equal(o.new_videos, 1);
    assert_string_equal(o.repost_of, orig);
    /* three posts, two videos; B's re-post has no video of its own, no analyze job */
    assert_int_equal(count("SELECT COUNT(*) FROM posts", NULL), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM videos", NULL), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM posts p WHERE p.creator_id = ? AND NOT EXISTS "
                           "(SELECT 1 FROM videos v WHERE v.post_id = p.post_id)",
                           cb),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE type = 'analyze'", NULL), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM artifacts WHERE kind = 'audio_fingerprint'", NULL),
                     2);
    char *src = xasprintf("%s/sources", FX.media);
    assert_int_equal(files_in(src), 2); /* the re-post's file is not kept */
    free(src);
    /* the ledger says why, with the match as evidence */
    char *lineage = fx_value("SELECT m.lineage FROM stardust_metadata m JOIN posts p ON "
                             "p.post_id = m.entity_id WHERE p.creator_id = ? AND "
                             "m.entity_type = 'posts'",
                             FX_TEXT1(cb));
    assert_non_null(lineage);
    json_t *lj = json_loads(lineage, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(lj, "duplicate_of_video")), orig);
    json_t *am = json_object_get(json_object_get(lj, "evidence"), "audio_match");
    assert_non_null(am);
    double ber = json_number_value(json_object_get(am, "bit_error_rate"));
    double off = json_number_value(json_object_get(am, "offset_s"));
    fprintf(stderr, "re-post: bit error rate %.3f, offset %+.2f s, overlap %.1f s\n", ber, off,
            json_number_value(json_object_get(am, "overlap_s")));
    assert_true(ber < 0.2);
    assert_true(fabs(off - 4.0) < 0.5); /* B's copy starts 4 s into A's */
    json_decref(lj);
    free(lineage);
    char *chain = fx_value("SELECT m.decision_chain FROM stardust_metadata m JOIN posts p ON "
                           "p.post_id = m.entity_id WHERE p.creator_id = ? AND "
                           "m.entity_type = 'posts'",
                           FX_TEXT1(cb));
    assert_non_null(chain);
    assert_non_null(strstr(chain, "\"repost\""));
    assert_non_null(strstr(chain, "the same audio as video"));
    free(chain);

    /* near silence (a faint steady hum) twice: nothing to recognise, two videos */
    char *s1 = xasprintf("%s/hum1.mp4", gen), *s2 = xasprintf("%s/hum2.mp4", gen);
    char *w1 = xasprintf("%s/hum1.wav", gen), *w2 = xasprintf("%s/hum2.wav", gen);
    assert_int_equal(fx_run_tool((const char *const[]){"ffmpeg", "-v", "error", "-y", "-f",
                                                       "lavfi", "-i",
                                                       "sine=f=50:d=25,volume=0.01", w1, NULL}),
                     0);
    assert_int_equal(fx_run_tool((const char *const[]){"ffmpeg", "-v", "error", "-y", "-f",
                                                       "lavfi", "-i",
                                                       "sine=f=50:d=28,volume=0.01", w2, NULL}),
                     0);
    video(w1, 0, "black", "aac", s1);
    video(w2, 0, "gray", "aac", s2);
    char cc[OM_UUID_LEN];
    folder_creator("creator-c", (const char *const[]){s1, s2, NULL}, cc);
    o = scrape_and_fetch(cc);
    assert_int_equal(o.new_videos, 2);
    assert_int_equal(o.reposts, 0);

    /* the first 14 s of A's talk, then a talk never seen (C): the same opening (an intro, a
     * jingle), another talk. Whether the average over the overlap is below the threshold or
     * not, most of its windows are not. */
    char *wc = xasprintf("%s/c.wav", gen);
    speech(wc, C);
    char *wi = xasprintf("%s/intro.wav", gen), *vi = xasprintf("%s/same-intro.mp4", gen);
    assert_int_equal(fx_run_tool((const char *const[]){
                         "ffmpeg", "-v", "error", "-y", "-i", wa, "-i", wc, "-filter_complex",
                         "[0:a]atrim=0:14,asetpts=N/SR/TB[x];[x][1:a]concat=n=2:v=0:a=1", wi,
                         NULL}),
                     0);
    video(wi, 0, "yellow", "aac", vi);
    char ce[OM_UUID_LEN];
    folder_creator("creator-e", (const char *const[]){vi, NULL}, ce);
    o = scrape_and_fetch(ce);
    assert_int_equal(o.new_videos, 1);
    assert_int_equal(o.reposts, 0);
    free(wi);
    free(vi);
    free(wc);

    /* the check turned off: the same re-post from a fourth creator is a video of its own */
    om_config_set(FX.cfg, "fetch", "dedupe_audio", "false");
    char cd[OM_UUID_LEN];
    folder_creator("creator-d", (const char *const[]){va2, NULL}, cd);
    o = scrape_and_fetch(cd);
    assert_int_equal(o.new_videos, 1);
    assert_int_equal(o.reposts, 0);
    om_config_set(FX.cfg, "fetch", "dedupe_audio", "true");
    assert_int_equal(count("SELECT COUNT(*) FROM videos", NULL), 6);

    free(s1);
    free(s2);
    free(w1);
    free(w2);
    free(orig);
    free(va);
    free(va2);
    free(vb);
    free(wa);
    free(wb);
}

/* Two fetches of the same audio at once (the original and a re-post on two workers): both
 * checks ran before either saved, so neither saw the other. The second to save finds the
 * first's fingerprint when it checks again under the lock. */
static void test_recheck_catches_a_concurrent_original(void **state)
{
    (void)state;
    char *w = xasprintf("%s/d.wav", gen), *d1 = xasprintf("%s/d1.mp4", gen),
         *d2 = xasprintf("%s/d2.mkv", gen);
    speech(w, "Three rules for a calm inbox. Answer in one line when one line will do. Archive "
              "everything you have answered, right away. And check it twice a day, at ten and at "
              "four, never in the first hour of the morning, when your head is at its best.");
    video(w, 0, "white", "aac", d1);
    video(w, 2, "black", "libmp3lame", d2);
    om_repost r1, r2;
    assert_int_equal(om_repost_check(FX.st, FX.cfg, d1, 1, &r1), OM_OK);
    assert_int_equal(om_repost_check(FX.st, FX.cfg, d2, 1, &r2), OM_OK);
    assert_non_null(r1.hex);
    assert_non_null(r2.hex);
    /* a talk never fetched: neither finds anything */
    assert_string_equal(r1.match, "");
    assert_string_equal(r2.match, "");
    char vid[OM_UUID_LEN];
    om_uuid4(vid);
    /* the first saves: nothing new to find, its fingerprint stored */
    assert_int_equal(om_store_begin(FX.st), OM_OK);
    assert_int_equal(om_store_lock(FX.st, OM_REPOST_LOCK), OM_OK);
    assert_int_equal(om_repost_recheck(FX.st, FX.cfg, &r1), OM_OK);
    assert_string_equal(r1.match, "");
    assert_int_equal(om_repost_store(FX.st, vid, &r1), OM_OK);
    assert_int_equal(om_store_commit(FX.st), OM_OK);
    /* the second saves after it: the recheck finds the first */
    assert_int_equal(om_store_begin(FX.st), OM_OK);
    assert_int_equal(om_store_lock(FX.st, OM_REPOST_LOCK), OM_OK);
    assert_int_equal(om_repost_recheck(FX.st, FX.cfg, &r2), OM_OK);
    assert_string_equal(r2.match, vid);
    assert_true(r2.ber < 0.1);
    assert_true(fabs(r2.offset_s - 2.0) < 0.5);
    om_store_rollback(FX.st);
    /* a recheck of a fingerprint that already has its match changes nothing */
    assert_int_equal(om_repost_recheck(FX.st, FX.cfg, &r2), OM_OK);
    assert_string_equal(r2.match, vid);
    om_repost_release(&r1);
    om_repost_release(&r2);
    free(w);
    free(d1);
    free(d2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repost_is_clipped_once),
        cmocka_unit_test(test_recheck_catches_a_concurrent_original),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, setup_sqlite, teardown);
    if (!getenv("OMNIVA_SKIP_PG"))
        failed += cmocka_run_group_tests_name("postgres+redis", tests, setup_pg, teardown);
    return failed;
}
