/*
 * test_titles.c: the offline title and hashtag rules (cognition/titles.h) over varied hooks:
 * filler trimmed, sentence case, shouting lowered, a cut at a word boundary within each
 * target's limit without dangling punctuation or an unclosed quote, non-ASCII text never
 * cut inside a character; hashtags camel-cased, deduplicated, brand keywords first, capped
 * per target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/utf8.h"
#include "cognition/titles.h"

static void check_title(const char *hook, size_t max, const char *want)
{
    char *t = om_title_from_hook(hook, max);
    if (!want) {
        assert_null(t);
        return;
    }
    assert_non_null(t);
    assert_string_equal(t, want);
    assert_true(om_utf8_len(t) <= max);
    assert_true(om_utf8_valid(t));
    free(t);
}

static void test_filler_and_case(void **state)
{
    (void)state;
    check_title("so, um, you know, this coffee changed my mornings", 100,
                "This coffee changed my mornings");
    check_title("  well   basically  the  secret is   the grind ", 100,
                "The secret is the grind");
    check_title("the uh secret is um the grind.", 100, "The secret is the grind.");
    check_title("STOP BUYING CHEAP BEANS", 100, "Stop buying cheap beans");
    check_title("i think NASA drinks this", 100, "I think NASA drinks this");
    check_title("um, uh, so", 100, NULL);
    check_title("", 100, NULL);
    check_title(NULL, 100, NULL);
    /* a word that starts like a filler is kept */
    check_title("solar roasting is here", 100, "Solar roasting is here");
}

static void test_cut_and_punctuation(void **state)
{
    (void)state;
    check_title("this is the one trick, honestly the best one", 22, "This is the one trick");
    check_title("brew it cold; then wait", 14, "Brew it cold");
    check_title("he said \"never grind too fine\" today", 20, "He said");
    check_title("the grind (coarse, always) matters", 15, "The grind");
    check_title("supercalifragilisticexpialidocious", 10, "Supercalif");
    check_title("hello world!", 100, "Hello world!");
}

static void test_non_ascii(void **state)
{
    (void)state;
    /* é is two bytes: the limit counts characters, the cut is at a word */
    check_title("café crème brûlée à la maison", 17, "Café crème brûlée");
    check_title("日本のコーヒー 最高です", 7, "日本のコーヒー");
    char *t = om_title_from_hook("ééééééééééééééé", 5);
    assert_non_null(t);
    assert_int_equal(om_utf8_len(t), 5);
    assert_true(om_utf8_valid(t));
    free(t);
}

static void test_limits_per_target(void **state)
{
    (void)state;
    const char *names[] = {"youtube", "tiktok", "instagram", "export"};
    om_sbuf sb = OM_SBUF_INIT;
    for (int i = 0; i < 120; i++)
        sb_puts(&sb, "coffee, ");
    const char *longhook = sb_str(&sb);
    for (size_t i = 0; i < OM_ARRAY_LEN(names); i++) {
        const om_title_limits *l = om_title_limits_for(names[i]);
        assert_string_equal(l->target, names[i]);
        char *t = om_title_from_hook(longhook, l->title_max);
        assert_non_null(t);
        assert_true(om_utf8_len(t) <= l->title_max);
        assert_true(om_utf8_len(t) > l->title_max - 9);
        assert_true(t[strlen(t) - 1] == 'e'); /* no trailing comma */
        free(t);
    }
    assert_int_equal(om_title_limits_for("youtube")->title_max, 100);
    assert_string_equal(om_title_limits_for("nope")->target, "youtube");
    sb_release(&sb);
}

static void test_hashtags(void **state)
{
    (void)state;
    json_t *brand = json_pack("[s,s,s]", "cold brew", "Espresso", "oat-milk");
    json_t *kw = json_pack("[s,s,s,s,s]", "espresso", "grind", "Cold Brew", "crème", "!!!");
    json_t *h = om_hashtags_build(brand, kw, om_title_limits_for("youtube"));
    const char *want[] = {"#ColdBrew", "#Espresso", "#OatMilk", "#grind", "#crème"};
    assert_int_equal(json_array_size(h), OM_ARRAY_LEN(want));
    for (size_t i = 0; i < OM_ARRAY_LEN(want); i++)
        assert_string_equal(json_string_value(json_array_get(h, i)), want[i]);
    json_decref(h);

    om_title_limits small = {.target = "t", .title_max = 10, .hashtags_max = 2,
                             .hashtag_chars_max = 6};
    h = om_hashtags_build(brand, kw, &small);
    assert_int_equal(json_array_size(h), 2);
    /* the 8- and 9-character ones are skipped, "#crème" counts 6 characters (7 bytes) */
    assert_string_equal(json_string_value(json_array_get(h, 0)), "#grind");
    assert_string_equal(json_string_value(json_array_get(h, 1)), "#crème");
    json_decref(h);
    h = om_hashtags_build(NULL, NULL, NULL);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
    json_decref(brand);
    json_decref(kw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filler_and_case),   cmocka_unit_test(test_cut_and_punctuation),
        cmocka_unit_test(test_non_ascii),         cmocka_unit_test(test_limits_per_target),
        cmocka_unit_test(test_hashtags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
