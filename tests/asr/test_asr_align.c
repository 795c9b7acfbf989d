/*
 * test_asr_align.c: forced alignment of subtitles to speech whose word boundaries are known
 * (espeak-ng, word by word, laid end to end with known pauses: asr_util.h util_talk_make).
 * The platform-style SRT (one cue per phrase) is parsed twice: once as today (word times
 * interpolated inside each cue), once aligned; alignment's mean absolute word-start error
 * must be well under interpolation's. Also: a cue that cannot be aligned keeps its times and
 * says why; threads give exactly what one gives; a missing model is a clear error that
 * leaves the transcript alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"

#include <math.h>

#include "asr/align.h"
#include "asr/asr.h"
#include "asr_util.h"

static const char *k_text =
    "so here is the thing about espresso nobody tells you the grind matters more than the "
    "machine a cheap burr grinder beats an expensive blade every single morning and "
    "the water should be just off the boil";

static int have_tools(void)
{
    return om_proc_which("espeak-ng") && om_file_exists(OM_ASR_SPHINX_MODEL_DIR "/en-us/mdef");
}

static double start_error(const om_transcript *t, const util_talk *talk)
{
    assert_int_equal(t->n, talk->nwords);
    double sum = 0;
    for (size_t i = 0; i < t->n; i++)
        sum += fabs(t->words[i].start - talk->start[i]);
    return sum / (double)t->n;
}

/* A talk with known word times (`phrase` words per cue) and its SRT parsed twice, into a and
 * b (word times interpolated in both, as subtitles.c gives them). */
static void talk_parsed_twice(util_talk *talk, size_t phrase, unsigned seed, om_transcript *a,
                              om_transcript *b)
{
    assert_int_equal(util_talk_make(talk, k_text, phrase, seed), 0);
    *a = (om_transcript)OM_TRANSCRIPT_INIT;
    *b = (om_transcript)OM_TRANSCRIPT_INIT;
    assert_int_equal(om_subtitles_parse(a, talk->srt, strlen(talk->srt), "talk.srt"), OM_OK);
    assert_int_equal(om_subtitles_parse(b, talk->srt, strlen(talk->srt), "talk.srt"), OM_OK);
}

static void test_alignment_beats_interpolation(void **state)
{
    (void)state;
    if (!have_tools())
        skip();
    util_talk talk;
    om_transcript interp, al;
    talk_parsed_twice(&talk, 7, 12345, &interp, &al);
    om_align_stats st;
    assert_int_equal(om_asr_align(&al, talk.pcm, talk.n, NULL, &st), OM_OK);
    double ei = start_error(&interp, &talk), ea = start_error(&al, &talk);
    fprintf(stderr, "  %zu words, %zu cues (%zu aligned): word-start error interpolated %.0f ms, "
                    "aligned %.0f ms\n",
            talk.nwords, st.cues, st.aligned, ei * 1000, ea * 1000);
    assert_int_equal(st.cues, (talk.nwords + 6) / 7);
    assert_true(st.aligned >= st.cues - 1);
    assert_true(ea < 0.5 * ei);
    assert_true(ea < 0.06);
    for (size_t i = 0; i < al.n; i++) { /* order and sanity */
        assert_true(al.words[i].start <= al.words[i].end);
        if (i)
            assert_true(al.words[i].start >= al.words[i - 1].start);
    }
    /* the record the editor and explain show */
    json_t *rec = json_object_get(json_object_get(al.engine, "params"), "alignment");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "method")), "pocketsphinx-fsg");
    json_t *per = json_object_get(rec, "per_cue");
    assert_int_equal(json_array_size(per), st.cues);
    assert_string_equal(json_string_value(json_object_get(json_array_get(per, 0), "method")),
                        "aligned");
    assert_null(json_object_get(json_object_get(al.engine, "params"), "cue_spans"));
    /* sentences follow the words */
    assert_true(al.nsent >= 1);
    assert_true(fabs(al.sentences[0].start - al.words[al.sentences[0].first].start) < 1e-9);
    om_transcript_release(&interp);
    om_transcript_release(&al);
    util_talk_free(&talk);
}

/* A cue squeezed into 0.25 s of audio cannot hold its eleven words: it keeps its interpolated
 * times and its record says so, while the other cue aligns. */
static void test_unalignable_cue_keeps_times(void **state)
{
    (void)state;
    if (!have_tools())
        skip();
    util_talk talk;
    assert_int_equal(util_talk_make(&talk, "the grind matters more than the machine", 7, 7), 0);
    double end = talk.end[talk.nwords - 1];
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "1\n00:00:00,400 --> ");
    util_srt_time(&sb, end + 0.1);
    sb_puts(&sb, "\nthe grind matters more than the machine\n\n2\n");
    util_srt_time(&sb, end + 0.2);
    sb_puts(&sb, " --> ");
    util_srt_time(&sb, end + 0.45);
    sb_puts(&sb, "\nnine words that are never said in this audio at all\n\n");
    char *srt = sb_detach(&sb);
    om_transcript t = OM_TRANSCRIPT_INIT, before = OM_TRANSCRIPT_INIT;
    assert_int_equal(om_subtitles_parse(&t, srt, strlen(srt), "x.srt"), OM_OK);
    assert_int_equal(om_subtitles_parse(&before, srt, strlen(srt), "x.srt"), OM_OK);
    om_align_stats st;
    assert_int_equal(om_asr_align(&t, talk.pcm, talk.n, NULL, &st), OM_OK);
    assert_int_equal(st.cues, 2);
    assert_int_equal(st.aligned, 1);
    assert_int_equal(st.interpolated, 1);
    assert_int_equal(st.words_interpolated, 11);
    for (size_t i = 7; i < t.n; i++)
        assert_true(fabs(t.words[i].start - before.words[i].start) < 1e-9);
    json_t *per = json_object_get(json_object_get(json_object_get(t.engine, "params"), "alignment"),
                                  "per_cue");
    json_t *second = json_array_get(per, 1);
    assert_string_equal(json_string_value(json_object_get(second, "method")), "interpolated");
    assert_non_null(json_string_value(json_object_get(second, "reason")));
    om_transcript_release(&t);
    om_transcript_release(&before);
    free(srt);
    util_talk_free(&talk);
}

/* Threads take cues from a shared counter: three of them give exactly what one gives (word
 * times, the per-cue record in cue order). */
static void test_threads_give_the_same_times(void **state)
{
    (void)state;
    if (!have_tools())
        skip();
    util_talk talk;
    om_transcript one, three;
    talk_parsed_twice(&talk, 3, 777, &one, &three);
    om_align_opts o;
    om_align_opts_default(&o);
    om_align_stats s1, s3;
    o.jobs = 1;
    assert_int_equal(om_asr_align(&one, talk.pcm, talk.n, &o, &s1), OM_OK);
    o.jobs = 3;
    assert_int_equal(om_asr_align(&three, talk.pcm, talk.n, &o, &s3), OM_OK);
    assert_true(s1.cues >= 12); /* enough cues for three threads (a decoder per 4 cues) */
    assert_int_equal(s1.cues, s3.cues);
    assert_int_equal(s1.aligned, s3.aligned);
    assert_int_equal(s1.words_aligned, s3.words_aligned);
    assert_true(s1.aligned >= s1.cues - 1);
    assert_int_equal(one.n, three.n);
    for (size_t i = 0; i < one.n; i++) {
        assert_string_equal(one.words[i].w, three.words[i].w);
        assert_true(one.words[i].start == three.words[i].start);
        assert_true(one.words[i].end == three.words[i].end);
    }
    json_t *p1 = json_object_get(json_object_get(one.engine, "params"), "alignment");
    json_t *p3 = json_object_get(json_object_get(three.engine, "params"), "alignment");
    assert_true(json_equal(p1, p3));
    fprintf(stderr, "  %zu cues aligned alike by 1 and 3 threads (start error %.0f ms)\n",
            s1.cues, start_error(&three, &talk) * 1000);
    om_transcript_release(&one);
    om_transcript_release(&three);
    util_talk_free(&talk);
}

static void test_missing_model(void **state)
{
    (void)state;
    const char *srt = "1\n00:00:00,000 --> 00:00:01,000\nhello there\n\n";
    om_transcript t = OM_TRANSCRIPT_INIT;
    assert_int_equal(om_subtitles_parse(&t, srt, strlen(srt), "x.srt"), OM_OK);
    int16_t pcm[16000] = {0};
    om_align_opts o;
    om_align_opts_default(&o);
    o.model_dir = "/nonexistent/model";
    assert_int_equal(om_asr_align(&t, pcm, 16000, &o, NULL), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "/nonexistent/model"));
    assert_null(json_object_get(json_object_get(t.engine, "params"), "alignment"));
    assert_non_null(json_object_get(json_object_get(t.engine, "params"), "cue_spans"));
    om_transcript_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_beats_interpolation),
        cmocka_unit_test(test_unalignable_cue_keeps_times),
        cmocka_unit_test(test_threads_give_the_same_times),
        cmocka_unit_test(test_missing_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
