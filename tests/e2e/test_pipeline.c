/*
 * test_pipeline.c: the product end to end, through the real binary. `omniva demo DIR`
 * generates three source videos (one with a planted on-brand hook, two with sidecar
 * subtitles, one transcribed by pocketsphinx) and runs every stage; then we check what a
 * user would: at least 3 verified clips (render on disk, checksum as recorded), the hook in
 * the top 3, captions made of words that were actually spoken, the ledger intact, an
 * explanation for a clip, the off-topic travel talk never published, the presenter's
 * clips framed by the face (the crop follows the presenter's known path, the explanation
 * says so), every caption in the brand's "pop" preset, and that running the pipeline again
 * on the same workspace creates no duplicate rows, files or exports.
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
#include "stages/demo.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>

static char *home, *url;

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        if (e->d_name[0] != '.' && l > s && !strcmp(e->d_name + l - s, suffix))
            n++;
    }
    closedir(d);
    return n;
}

/* Lower-case words of a text, separated by single spaces (punctuation dropped). */
static char *words_of(const char *text)
{
    om_sbuf sb = OM_SBUF_INIT;
    int in = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (isalnum(*p) || *p == '\'') {
            char c = (char)tolower(*p);
            sb_append(&sb, &c, 1);
            in = 1;
        } else if (in) {
            sb_puts(&sb, " ");
            in = 0;
        }
    }
    return sb_detach(&sb);
}

/* The text of an ASS file's Dialogue events without override tags. */
static char *ass_text(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (om_read_file(path, 0, &data, &len))
        return NULL;
    om_sbuf sb = OM_SBUF_INIT;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "Dialogue:", 9))
            continue;
        /* the text is after the 9th comma */
        char *t = line;
        for (int commas = 0; *t && commas < 9; t++)
            commas += *t == ',';
        for (int tag = 0; *t; t++) {
            if (*t == '{')
                tag = 1;
            else if (*t == '}')
                tag = 0;
            else if (!tag && t[0] == '\\' && (t[1] == 'N' || t[1] == 'n'))
                t++, sb_puts(&sb, " ");
            else if (!tag)
                sb_append(&sb, t, 1);
        }
        sb_puts(&sb, " ");
    }
    free(data);
    return sb_detach(&sb);
}

static int contains_word(const char *words, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = words; (p = strstr(p, w)); p++)
        if ((p == words || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    home = harness_tmpdir("e2e");
    url = xasprintf("sqlite://%s/omniva.db", home);
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, NULL, "demo", home, NULL);
    if (rc != 0)
        fprintf(stderr, "omniva demo failed (%d)\nstdout:\n%s\nstderr (tail):\n%s\n", rc,
                out ? out : "", err && strlen(err) > 4000 ? err + strlen(err) - 4000 : err);
    else
        printf("%s", out);
    free(out);
    free(err);
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (home && !getenv("OMNIVA_KEEP"))
        om_rmtree(home);
    free(home);
    free(url);
    return 0;
}

static void test_verified_clips(void **state)
{
    (void)state;
    int64_t n = omt_query_int(url, "SELECT count(*) FROM clips WHERE status = 'PUBLISHED'");
    assert_true(n >= 3);
    /* every published clip: a render artifact whose file has the recorded SHA-256 */
    for (int64_t i = 0; i < n; i++) {
        char *sql = xasprintf("SELECT r.path || '|' || r.checksum FROM clips c JOIN artifacts r "
                              "ON r.kind = 'render' AND r.entity_id = c.clip_id "
                              "WHERE c.status = 'PUBLISHED' ORDER BY c.clip_id LIMIT 1 OFFSET %lld",
                              (long long)i);
        char *row = omt_query(url, sql);
        free(sql);
        assert_non_null(row);
        char *bar = strchr(row, '|');
        assert_non_null(bar);
        *bar = '\0';
        char sha[OM_SHA256_HEX_LEN], *file = om_path_from_home(home, row);
        assert_int_equal(om_sha256_file(file, sha), OM_OK);
        assert_string_equal(sha, bar + 1);
        free(file);
        free(row);
    }
    /* and each was exported with its sidecar */
    char *exports = xasprintf("%s/exports/demo-coffee", home);
    assert_int_equal(count_files(exports, ".mp4"), (int)n);
    assert_int_equal(count_files(exports, ".json"), (int)n);
    free(exports);
    assert_int_equal(omt_query_int(url, "SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
}

static void test_hook_in_top3(void **state)
{
    (void)state;
    char *top = omt_query(url, "SELECT group_concat(lower(json_extract(metadata, '$.transcript')),"
                               " ' || ') FROM (SELECT metadata FROM clips WHERE status IN "
                               "('SELECTED','RENDERED','SCHEDULED','PUBLISHED') ORDER BY "
                               "lattice_priority DESC LIMIT 3)");
    assert_non_null(top);
    if (!strstr(top, "stop brewing your espresso wrong"))
        fail_msg("planted hook not in the top 3: %s", top);
    free(top);
}

static void test_captions_were_spoken(void **state)
{
    (void)state;
    /* what was spoken in the videos that carry subtitles (the sidecars are the script) */
    om_sbuf spoken = OM_SBUF_INIT;
    const char *sides[] = {"espresso-secrets.srt", "morning-routine.vtt"};
    for (size_t i = 0; i < 2; i++) {
        char *p = xasprintf("%s/demo-sources/%s", home, sides[i]), *data = NULL;
        assert_int_equal(om_read_file(p, 0, &data, NULL), OM_OK);
        char *w = words_of(data);
        sb_printf(&spoken, " %s ", w);
        free(w);
        free(data);
        free(p);
    }
    char *sql = xasprintf("SELECT count(*) FROM edit_jobs e JOIN clips c ON c.clip_id = e.clip_id "
                          "JOIN videos v ON v.video_id = c.video_id JOIN artifacts a ON "
                          "a.entity_id = v.video_id AND a.kind = 'subtitle'");
    int64_t n = omt_query_int(url, sql);
    free(sql);
    assert_true(n >= 2);
    int checked = 0;
    for (int64_t i = 0; i < n; i++) {
        sql = xasprintf("SELECT json_extract(e.operations, '$.captions.ass') FROM edit_jobs e "
                        "JOIN clips c ON c.clip_id = e.clip_id JOIN videos v ON v.video_id = "
                        "c.video_id JOIN artifacts a ON a.entity_id = v.video_id AND a.kind = "
                        "'subtitle' ORDER BY e.clip_id LIMIT 1 OFFSET %lld",
                        (long long)i);
        char *ass = omt_query(url, sql);
        free(sql);
        assert_non_null(ass);
        char *text = ass_text(ass);
        assert_non_null(text);
        char *words = words_of(text);
        size_t total = 0, known = 0;
        char *save = NULL;
        for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            total++;
            known += contains_word(sb_str(&spoken), w);
        }
        if (total == 0 || known != total)
            fail_msg("captions of %s: %zu of %zu words were spoken: %.300s", ass, known, total,
                     text);
        checked++;
        free(words);
        free(text);
        free(ass);
    }
    assert_true(checked >= 2);
    sb_release(&spoken);
}

static void test_ledger_and_explain(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "verify", NULL), 0);
    free(out);
    char *clip = omt_query(url, "SELECT clip_id FROM clips WHERE status = 'PUBLISHED' "
                                "ORDER BY lattice_priority DESC LIMIT 1");
    assert_non_null(clip);
    assert_int_equal(omt_run(&out, NULL, home, "explain", clip, NULL), 0);
    assert_true(omt_has(out, "hook"));
    assert_true(omt_has(out, clip));
    free(out);
    /* the ledger walks the clip back to its creator's post */
    assert_int_equal(omt_run(&out, NULL, home, "ledger", "show", clip, "--json", NULL), 0);
    json_t *packets = json_loads(out, 0, NULL);
    assert_true(json_is_array(packets) && json_array_size(packets) >= 1);
    json_decref(packets);
    free(out);
    free(clip);
}

/* Clips of one demo source (its file name without extension), as rows "clip_id|status". */
static char *clips_of(const char *source, const char *what)
{
    char *sql = xasprintf("SELECT group_concat(%s, ' ') FROM clips c JOIN videos v ON "
                          "v.video_id = c.video_id JOIN posts p ON p.post_id = v.post_id "
                          "WHERE json_extract(p.raw_metadata, '$.title') = '%s'",
                          what, source);
    char *r = omt_query(url, sql);
    free(sql);
    return r;
}

/* The travel talk (off-topic, with the banned word "guaranteed") is never published. */
static void test_off_topic_rejected(void **state)
{
    (void)state;
    char *st = clips_of("city-walk", "c.status");
    if (st && *st) {
        for (char *save = NULL, *w = strtok_r(st, " ", &save); w; w = strtok_r(NULL, " ", &save))
            if (strcmp(w, "REJECTED"))
                fail_msg("a city-walk clip is %s", w);
    }
    free(st);
}

/* The presenter's clips: the crop follows the face (mode speaker, one face seen, the crop
 * centre within 10% of the frame's width of the presenter's known path on >= 90% of the
 * track's points); the other sources' clips have no face and keep the content crop; the
 * explanation says which and why. Every clip's captions are the brand's "pop" preset:
 * upper case, chunks popping in. */
static void test_speaker_crop_and_caption_preset(void **state)
{
    (void)state;
    const char *presenter = om_demo_presenter_source();
    if (!presenter)
        fail_msg("the presenter's photo is missing (apt-get install opencv-doc)");
    char *ids = clips_of(presenter, "CASE WHEN c.status = 'PUBLISHED' THEN c.clip_id END");
    assert_non_null(ids);
    int checked = 0;
    for (char *save = NULL, *id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
        char *sql = xasprintf("SELECT operations FROM edit_jobs WHERE clip_id = '%s'", id);
        char *ops_text = omt_query(url, sql);
        free(sql);
        json_t *ops = ops_text ? json_loads(ops_text, 0, NULL) : NULL;
        free(ops_text);
        assert_non_null(ops);
        const json_t *rf = json_object_get(ops, "reframe");
        assert_string_equal(json_string_value(json_object_get(rf, "mode")), "speaker");
        const json_t *ev = json_object_get(rf, "evidence");
        assert_int_equal(json_integer_value(json_object_get(ev, "faces_seen")), 1);
        size_t i, n = 0, on = 0;
        json_t *pt;
        json_array_foreach(json_object_get(rf, "track"), i, pt)
        {
            double t = json_number_value(json_array_get(pt, 0));
            double x = json_number_value(json_array_get(pt, 1));
            n++;
            on += fabs(x - om_demo_presenter_x(t)) <= 0.10;
        }
        printf("clip %s: crop on the presenter's face at %zu of %zu track points\n", id, on, n);
        assert_true(n >= 50);
        assert_true(on >= n * 9 / 10);
        json_decref(ops);

        char *out = NULL;
        assert_int_equal(omt_run(&out, NULL, home, "explain", id, NULL), 0);
        if (!omt_has(out, "Crop: speaker - one face: the crop follows it") ||
            !omt_has(out, "preset pop"))
            fail_msg("explain %s does not show the face crop and the caption preset:\n%s", id,
                     out);
        free(out);
        checked++;
    }
    free(ids);
    assert_true(checked >= 1);

    /* a source without a face: the content crop, and the explanation says none was seen */
    char *other = clips_of("morning-routine",
                           "CASE WHEN c.status = 'PUBLISHED' THEN c.clip_id END");
    if (other && *other) {
        char *sp = strchr(other, ' ');
        if (sp)
            *sp = '\0';
        char *sql = xasprintf("SELECT json_extract(operations, '$.reframe.mode') FROM edit_jobs "
                              "WHERE clip_id = '%s'", other);
        char *mode = omt_query(url, sql);
        free(sql);
        assert_non_null(mode);
        assert_string_equal(mode, "content");
        free(mode);
    }
    free(other);

    /* every published clip's captions: the pop preset (upper case, each chunk pops in) */
    int64_t n = omt_query_int(url, "SELECT count(*) FROM edit_jobs e JOIN clips c ON "
                                   "c.clip_id = e.clip_id WHERE c.status = 'PUBLISHED'");
    assert_true(n >= 3);
    for (int64_t i = 0; i < n; i++) {
        char *sql = xasprintf("SELECT json_extract(e.operations, '$.captions.ass') FROM edit_jobs "
                              "e JOIN clips c ON c.clip_id = e.clip_id WHERE c.status = "
                              "'PUBLISHED' ORDER BY e.clip_id LIMIT 1 OFFSET %lld",
                              (long long)i);
        char *ass = omt_query(url, sql);
        free(sql);
        assert_non_null(ass);
        char *path = om_path_from_home(home, ass), *data = NULL;
        assert_int_equal(om_read_file(path, 0, &data, NULL), OM_OK);
        assert_non_null(strstr(data, "\\fscx70\\fscy70\\t(0,120,\\fscx100\\fscy100)"));
        free(data);
        char *text = ass_text(path);
        assert_non_null(text);
        assert_true(strlen(text) > 20);
        for (const char *c = text; *c; c++)
            if (islower((unsigned char)*c))
                fail_msg("captions of %s are not upper case: %.200s", ass, text);
        free(text);
        free(path);
        free(ass);
    }
}

static const char *const tables[] = {"posts",       "videos",    "analysis", "clips",
                                     "edit_jobs",   "upload_jobs", "schedules", "artifacts",
                                     "creators",    "projects"};

static void test_rerun_creates_nothing(void **state)
{
    (void)state;
    int64_t before[OM_ARRAY_LEN(tables)];
    for (size_t i = 0; i < OM_ARRAY_LEN(tables); i++) {
        char *sql = xasprintf("SELECT count(*) FROM %s", tables[i]);
        before[i] = omt_query_int(url, sql);
        free(sql);
    }
    char *exports = xasprintf("%s/exports/demo-coffee", home);
    char *renders = xasprintf("%s/media/renders", home);
    int ex = count_files(exports, ".mp4"), rd = count_files(renders, ".mp4");
    int64_t scrapes = omt_query_int(url, "SELECT count(*) FROM jobs WHERE type = 'scrape'");
    /* a new 10 s re-scrape window, so the creator really is scraped again */
    om_sleep_ms(10500 - om_now_ms() % 10000);
    char *out = NULL, *err = NULL;
    int rc = omt_run(&out, &err, home, "run", "--once", "--now", "--interval", "10", NULL);
    if (rc)
        fail_msg("second run failed: %s", err);
    free(out);
    free(err);
    assert_true(omt_query_int(url, "SELECT count(*) FROM jobs WHERE type = 'scrape'") > scrapes);
    for (size_t i = 0; i < OM_ARRAY_LEN(tables); i++) {
        char *sql = xasprintf("SELECT count(*) FROM %s", tables[i]);
        int64_t after = omt_query_int(url, sql);
        if (after != before[i])
            fail_msg("%s: %lld rows before, %lld after", tables[i], (long long)before[i],
                     (long long)after);
        free(sql);
    }
    assert_int_equal(count_files(exports, ".mp4"), ex);
    assert_int_equal(count_files(renders, ".mp4"), rd);
    assert_int_equal(omt_query_int(url, "SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
    assert_int_equal(omt_run(NULL, NULL, home, "ledger", "verify", NULL), 0);
    free(exports);
    free(renders);
}

/* Runs argv to completion; asserts it exited 0. */
static void run_ok(const char *const *argv)
{
    om_proc_opts o = {.argv = argv, .timeout_ms = 120000};
    om_proc_result r;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    if (r.exit_code != 0)
        fail_msg("%s failed (%d): %s", argv[0], r.exit_code, r.err);
    om_proc_result_release(&r);
}

/* A copied workspace whose original is gone: every path the rows and the commands give
 * lies in the copy (paths inside a workspace are stored relative to it). Last: it moves
 * the demo away. */
static void test_moved_workspace(void **state)
{
    (void)state;
    char *moved = xasprintf("%s-moved", home), *gone = xasprintf("%s-gone", home);
    run_ok((const char *[]){"cp", "-a", home, moved, NULL});
    assert_int_equal(rename(home, gone), 0);
    char *murl = xasprintf("sqlite://%s/omniva.db", moved);
    /* no path the pipeline acts on names the original workspace (edit_jobs.operations keeps
     * the plan and its ffmpeg command as they ran: a record, never read back for a path) */
    static const char *const cols[][2] = {{"videos", "file_path"},
                                          {"artifacts", "path"},
                                          {"upload_jobs", "target_state"},
                                          {"projects", "brand"}};
    for (size_t i = 0; i < OM_ARRAY_LEN(cols); i++) {
        char *sql = xasprintf("SELECT count(*) FROM %s WHERE %s LIKE '%%%s/%%'", cols[i][0],
                              cols[i][1], home);
        int64_t n = omt_query_int(murl, sql);
        if (n != 0)
            fail_msg("%lld rows of %s.%s name the original workspace %s", (long long)n,
                     cols[i][0], cols[i][1], home);
        free(sql);
    }
    assert_true(omt_query_int(murl, "SELECT count(*) FROM artifacts WHERE kind = 'render'") > 0);
    /* the commands read the copy's files */
    char *out = NULL;
    assert_int_equal(omt_run(&out, NULL, moved, "clips", "--json", NULL), 0);
    json_t *clips = json_loads(out, 0, NULL);
    assert_true(json_array_size(clips) > 0);
    size_t i, rendered = 0;
    json_t *c;
    json_array_foreach(clips, i, c)
    {
        const char *keys[] = {"render_path", "export_path", "file_path"};
        for (size_t k = 0; k < OM_ARRAY_LEN(keys); k++) {
            const char *p = json_string_value(json_object_get(c, keys[k]));
            if (!p)
                continue;
            if (strncmp(p, moved, strlen(moved)) != 0)
                fail_msg("%s %s is not in the moved workspace %s", keys[k], p, moved);
            assert_true(om_file_exists(p));
            rendered += k == 0;
        }
    }
    assert_true(rendered > 0);
    json_decref(clips);
    free(out);
    assert_int_equal(omt_run(&out, NULL, moved, "videos", "--json", NULL), 0);
    json_t *videos = json_loads(out, 0, NULL);
    json_array_foreach(videos, i, c)
    {
        const char *f = json_string_value(json_object_get(c, "file"));
        assert_non_null(f);
        assert_true(strncmp(f, moved, strlen(moved)) == 0 && om_file_exists(f));
    }
    json_decref(videos);
    free(out);
    char *clip = omt_query(murl, "SELECT clip_id FROM clips WHERE status = 'PUBLISHED' LIMIT 1");
    assert_int_equal(omt_run(&out, NULL, moved, "explain", clip, NULL), 0);
    free(out);
    assert_int_equal(omt_run(NULL, NULL, moved, "ledger", "verify", NULL), 0);
    free(clip);
    free(murl);
    rename(gone, home); /* teardown removes it */
    om_rmtree(moved);
    free(moved);
    free(gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_clips),
        cmocka_unit_test(test_hook_in_top3),
        cmocka_unit_test(test_captions_were_spoken),
        cmocka_unit_test(test_ledger_and_explain),
        cmocka_unit_test(test_off_topic_rejected),
        cmocka_unit_test(test_speaker_crop_and_caption_preset),
        cmocka_unit_test(test_rerun_creates_nothing),
        cmocka_unit_test(test_moved_workspace),
    };
    return cmocka_run_group_tests_name("pipeline end to end", tests, setup, teardown);
}
