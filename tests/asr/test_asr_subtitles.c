/*
 * test_asr_subtitles.c: data-driven WebVTT/SRT cases. Every tests/asr/cases/NAME.vtt|.srt has
 * NAME.json next to it: either {"model", "words": [[w, start, end]..], "sentences":
 * [[text, start, end]..]} (expected values worked out by hand from the cue times and word
 * lengths) or {"error": "text the OM_EINVAL message must contain"}. Adding a case adds no code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"

#include <dirent.h>
#include <math.h>

#include "asr/asr.h"
#include "base/fsutil.h"

#define TOL 0.002

static int check_case(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *jpath = xasprintf("%s/%.*s.json", dir, (int)(strrchr(name, '.') - name), name);
    json_error_t jerr;
    json_t *exp = json_load_file(jpath, 0, &jerr);
    int failures = 0;
    if (!exp) {
        fprintf(stderr, "%s: cannot load expectation %s: %s\n", name, jpath, jerr.text);
        failures++;
        goto done;
    }
    om_transcript t = OM_TRANSCRIPT_INIT;
    int rc = om_subtitles_parse_file(&t, path);
    const char *want_err = json_string_value(json_object_get(exp, "error"));
    if (want_err) {
        if (rc != OM_EINVAL || !strstr(om_error_msg(), want_err)) {
            fprintf(stderr, "%s: want OM_EINVAL containing '%s', got %d '%s'\n", name, want_err, rc,
                    om_error_msg());
            failures++;
        }
        om_transcript_release(&t);
        goto done;
    }
    if (rc != OM_OK) {
        fprintf(stderr, "%s: parse failed: %s\n", name, om_error_msg());
        failures++;
        goto done;
    }
    const char *model = json_string_value(json_object_get(t.engine, "model"));
    const char *want_model = json_string_value(json_object_get(exp, "model"));
    if (!model || !want_model || strcmp(model, want_model) != 0) {
        fprintf(stderr, "%s: model %s, want %s\n", name, model, want_model);
        failures++;
    }
    json_t *words = json_object_get(exp, "words");
    if (json_array_size(words) != t.n) {
        char *got = om_transcript_join(&t);
        fprintf(stderr, "%s: %zu words (%s), want %zu\n", name, t.n, got, json_array_size(words));
        free(got);
        failures++;
    } else {
        for (size_t i = 0; i < t.n; i++) {
            json_t *w = json_array_get(words, i);
            const char *ww = json_string_value(json_array_get(w, 0));
            double s = json_number_value(json_array_get(w, 1));
            double e = json_number_value(json_array_get(w, 2));
            if (strcmp(ww, t.words[i].w) != 0 || fabs(s - t.words[i].start) > TOL ||
                fabs(e - t.words[i].end) > TOL || t.words[i].conf != 1.0) {
                fprintf(stderr, "%s: word %zu is '%s' %.6f-%.6f conf %.3f, want '%s' %.6f-%.6f\n",
                        name, i, t.words[i].w, t.words[i].start, t.words[i].end, t.words[i].conf,
                        ww, s, e);
                failures++;
            }
        }
    }
    json_t *sents = json_object_get(exp, "sentences");
    if (json_array_size(sents) != t.nsent) {
        fprintf(stderr, "%s: %zu sentences, want %zu\n", name, t.nsent, json_array_size(sents));
        for (size_t i = 0; i < t.nsent; i++)
            fprintf(stderr, "   [%s]\n", t.sentences[i].text);
        failures++;
    } else {
        for (size_t i = 0; i < t.nsent; i++) {
            json_t *s = json_array_get(sents, i);
            const char *text = json_string_value(json_array_get(s, 0));
            double st = json_number_value(json_array_get(s, 1));
            double en = json_number_value(json_array_get(s, 2));
            if (strcmp(text, t.sentences[i].text) != 0 || fabs(st - t.sentences[i].start) > TOL ||
                fabs(en - t.sentences[i].end) > TOL) {
                fprintf(stderr, "%s: sentence %zu is '%s' %.3f-%.3f, want '%s' %.3f-%.3f\n", name,
                        i, t.sentences[i].text, t.sentences[i].start, t.sentences[i].end, text, st,
                        en);
                failures++;
            }
        }
    }
    om_transcript_release(&t);
done:
    json_decref(exp);
    free(path);
    free(jpath);
    return failures;
}

static void test_cases(void **state)
{
    (void)state;
    const char *dir = ASR_CASES_DIR;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int cases = 0, failures = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 ||
            (strcmp(de->d_name + len - 4, ".vtt") && strcmp(de->d_name + len - 4, ".srt")))
            continue;
        cases++;
        int f = check_case(dir, de->d_name);
        if (f)
            fprintf(stderr, "FAIL %s\n", de->d_name);
        failures += f;
    }
    closedir(d);
    assert_true(cases >= 8);
    assert_int_equal(failures, 0);
}

/* Cases that are easier to state in code than as files. */
static void test_inline_bits(void **state)
{
    (void)state;
    om_transcript t = OM_TRANSCRIPT_INIT;
    /* CR-only line ends, hours given in SRT, '.' separator, numeric entity in hex. */
    const char *srt = "1\r00:00:00.000 --> 00:00:01.000\rcaf&#xE9; ok\r";
    assert_int_equal(om_subtitles_parse(&t, srt, strlen(srt), "cr.srt"), OM_OK);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.words[0].w, "caf\xC3\xA9");
    om_transcript_release(&t);

    /* NUL bytes: not subtitles. */
    const char bin[] = "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\0there\n";
    assert_int_equal(om_subtitles_parse(&t, bin, sizeof(bin) - 1, "bin.vtt"), OM_EINVAL);
    /* Empty file: no cues. */
    assert_int_equal(om_subtitles_parse(&t, "WEBVTT\n", 7, "empty.vtt"), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "no cues"));
    /* A missing file is not EINVAL. */
    assert_int_equal(om_subtitles_parse_file(&t, "/nonexistent/x.vtt"), OM_ENOTFOUND);
    assert_int_equal(t.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_inline_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
