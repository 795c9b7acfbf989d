/*
 * test_fingerprint.c: audio fingerprints (media/fingerprint.h) recognise a re-post: a talk
 * made with espeak-ng (over ffmpeg-made pink noise at a low level), the same talk
 * re-encoded (MP3 at 64 kbit/s instead of AAC) with its first 5 s trimmed, and an
 * unrelated talk. The two copies match at an offset of about 5 s; the unrelated one does
 * not; the hex form round-trips and bad text is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/error.h"
#include "media/fingerprint.h"
#include "media_fixture.h"

static char *dir;

static void talk(const char *name, const char *text)
{
    char *wav = fx_path(dir, "tmp.wav"), *out = fx_path(dir, name);
    assert_int_equal(fx_run((const char *const[]){"espeak-ng", "-s", "150", "-w", wav, text, NULL},
                            NULL),
                     0);
    assert_int_equal(FX_FFMPEG("-i", wav, "-ac", "2", "-ar", "44100", "-c:a", "aac", "-b:a",
                               "128k", out),
                     0);
    free(wav);
    free(out);
}

static const char *A = FX_TALK_COFFEE;
static const char *B = FX_TALK_MONEY;

static void test_repost_matches_unrelated_does_not(void **state)
{
    (void)state;
    dir = fx_tmpdir("fp");
    talk("a.m4a", A);
    talk("b.m4a", B);
    char *a = fx_path(dir, "a.m4a"), *a2 = fx_path(dir, "a2.mp3"), *b = fx_path(dir, "b.m4a");
    assert_int_equal(FX_FFMPEG("-ss", "5", "-i", a, "-ac", "1", "-ar", "22050", "-c:a",
                               "libmp3lame", "-b:a", "64k", a2),
                     0);
    om_fingerprint fa = {0}, fa2 = {0}, fb = {0};
    assert_int_equal(om_fingerprint_file(a, 0, &fa), OM_OK);
    assert_int_equal(om_fingerprint_file(a2, 0, &fa2), OM_OK);
    assert_int_equal(om_fingerprint_file(b, 0, &fb), OM_OK);
    assert_true(fa.n > 100);
    assert_true(fa.item_s > 0.1 && fa.item_s < 0.15);

    double ber;
    long off;
    om_fingerprint_compare(&fa, &fa2, 120, 40, &ber, &off);
    fprintf(stderr, "re-post: ber %.3f offset %ld items (%.2f s)\n", ber, off,
            (double)off * fa.item_s);
    assert_true(ber < OM_FP_MATCH_BER);
    assert_true(fabs((double)off * fa.item_s - 5.0) < 0.5);

    double ber_b;
    om_fingerprint_compare(&fa, &fb, 120, 40, &ber_b, NULL);
    fprintf(stderr, "unrelated: ber %.3f\n", ber_b);
    assert_true(ber_b > OM_FP_MATCH_BER + 0.1);

    /* hex round trip, refusals */
    char *hex = om_fingerprint_to_hex(&fa);
    om_fingerprint back = {0};
    assert_int_equal(om_fingerprint_parse(hex, fa.item_s, &back), OM_OK);
    assert_int_equal(back.n, fa.n);
    assert_memory_equal(back.items, fa.items, fa.n * sizeof(uint32_t));
    om_fingerprint_release(&back);
    free(hex);
    assert_int_equal(om_fingerprint_parse("0123456", 0.1, &back), OM_EINVAL);
    assert_int_equal(om_fingerprint_parse("0123456g", 0.1, &back), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "hex"));
    char *missing = fx_path(dir, "missing.mp4");
    assert_true(om_fingerprint_file(missing, 0, &back) < 0);
    free(missing);

    om_fingerprint_release(&fa);
    om_fingerprint_release(&fa2);
    om_fingerprint_release(&fb);
    free(a);
    free(a2);
    free(b);
    om_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repost_matches_unrelated_does_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
