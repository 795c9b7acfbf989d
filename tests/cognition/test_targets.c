/* test_targets.c: publishing metadata limits and the export target (atomic copy + sidecar,
 * verification, no second export on re-delivery). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "targets/target.h"

static size_t u8len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

/* The hook becomes the title through cognition/titles.h (filler gone, sentence case, a cut
 * at a word with no dangling comma), hashtags are a field and in the description, and the
 * credit names the creator and the post. */
static void test_meta_title_hashtags_credit(void **state)
{
    (void)state;
    json_t *kw = json_pack("[s,s]", "latte art", "Espresso");
    json_t *bkw = json_pack("[s,s]", "espresso", "oat milk");
    json_t *m = om_publish_meta_build("so, um, THIS IS HOW YOU POUR A HEART. then wiggle.",
                                      kw, bkw, "@barista", "https://example.com/v/9");
    assert_string_equal(json_string_value(json_object_get(m, "title")),
                        "This is how you pour a heart.");
    json_t *h = json_object_get(m, "hashtags");
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(json_string_value(json_array_get(h, 0)), "#espresso");
    assert_string_equal(json_string_value(json_array_get(h, 1)), "#OatMilk");
    assert_string_equal(json_string_value(json_array_get(h, 2)), "#LatteArt");
    const char *d = json_string_value(json_object_get(m, "description"));
    assert_non_null(strstr(d, "#espresso #OatMilk #LatteArt"));
    assert_non_null(strstr(d, "Source: @barista - https://example.com/v/9"));
    json_decref(m);

    /* a long hook with commas: <= 100 characters, ends in a word then "…" */
    om_sbuf sb = OM_SBUF_INIT;
    for (int i = 0; i < 30; i++)
        sb_puts(&sb, "well, ");
    sb_puts(&sb, "the grind matters");
    for (int i = 0; i < 30; i++)
        sb_puts(&sb, ", really");
    m = om_publish_meta_build(sb_str(&sb), NULL, NULL, NULL, NULL);
    const char *t = json_string_value(json_object_get(m, "title"));
    assert_true(u8len(t) <= OM_TITLE_MAX_CHARS);
    assert_true(!strncmp(t, "The grind matters, really", 25));
    assert_non_null(strstr(t, "really\xE2\x80\xA6"));
    json_decref(m);
    sb_release(&sb);
    json_decref(kw);
    json_decref(bkw);
}

static void test_meta_build_limits(void **state)
{
    (void)state;
    json_t *kw = json_pack("[s,s,s,s]", "compound interest", "Investing", "money", "savings");
    json_t *bkw = json_pack("[s,s]", "investing", "personal finance");
    json_t *m = om_publish_meta_build(
        "why do your savings vanish every month? here is the fix. it is simple.", kw, bkw,
        "@moneycoach", "https://example.com/v/1");
    assert_string_equal(json_string_value(json_object_get(m, "title")),
                        "Why do your savings vanish every month?");
    json_t *tags = json_object_get(m, "tags");
    /* brand keywords first, "Investing" de-duplicated against "investing" */
    assert_int_equal(json_array_size(tags), 5);
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "investing");
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "personal finance");
    const char *d = json_string_value(json_object_get(m, "description"));
    assert_non_null(strstr(d, "#investing #PersonalFinance #CompoundInterest"));
    assert_non_null(strstr(d, "Source: @moneycoach - https://example.com/v/1"));
    json_decref(m);

    /* a long opening sentence: <= 100 characters, cut at a word, with an ellipsis */
    om_sbuf sb = OM_SBUF_INIT;
    for (int i = 0; i < 40; i++)
        sb_puts(&sb, "überlong words ");
    m = om_publish_meta_build(sb_str(&sb), NULL, NULL, NULL, NULL);
    const char *t = json_string_value(json_object_get(m, "title"));
    assert_true(u8len(t) <= OM_TITLE_MAX_CHARS);
    assert_true(u8len(t) >= 90);
    assert_non_null(strstr(t, "\xE2\x80\xA6"));
    assert_true(t[0] == '\xC3'); /* "Ü" stays a whole character */
    json_decref(m);
    sb_release(&sb);

    /* many tags: stop before 500 characters (YouTube counting) */
    json_t *many = json_array();
    for (int i = 0; i < 80; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "tag number %02d", i);
        json_array_append_new(many, json_string(buf));
    }
    m = om_publish_meta_build("", many, NULL, "someone", NULL);
    tags = json_object_get(m, "tags");
    assert_true(om_tags_count_chars(tags) <= OM_TAGS_MAX_CHARS);
    assert_true(om_tags_count_chars(tags) > 450);
    assert_string_equal(json_string_value(json_object_get(m, "title")), "Clip from someone");
    json_decref(m);
    json_decref(many);
    json_decref(kw);
    json_decref(bkw);

    /* counting: 3 + 1 + (3+2) */
    json_t *c = json_pack("[s,s]", "abc", "d e");
    assert_int_equal(om_tags_count_chars(c), 3 + 1 + 5);
    json_decref(c);
}

static void write_clip(const char *path, const char *content)
{
    assert_int_equal(om_write_file_atomic(path, content, strlen(content)), OM_OK);
}

static void stat_of(const char *path, struct stat *st)
{
    assert_int_equal(stat(path, st), 0);
}

static void test_export_idempotent(void **state)
{
    (void)state;
    assert_non_null(om_target_find("export"));
    assert_null(om_target_find("myspace"));
    const om_target *t = &om_target_export;

    char *dir = harness_tmpdir("export");
    char *src = xasprintf("%s/render.mp4", dir);
    char *dest = xasprintf("%s/exports/My Project", dir);
    write_clip(src, "not really an mp4, but bytes are bytes");

    om_sbuf longt = OM_SBUF_INIT;
    for (int i = 0; i < 30; i++)
        sb_puts(&longt, "word ");
    json_t *tags = json_array();
    for (int i = 0; i < 100; i++)
        json_array_append_new(tags, json_string("a tag with spaces"));
    json_t *side = json_pack("{s:s,s:s,s:o,s:{s:s},s:{s:f}}", "title", sb_str(&longt),
                             "description", "desc", "tags", tags, "provenance", "stardust_id",
                             "11111111-1111-4111-8111-111111111111", "scores", "confidence",
                             0.8);
    sb_release(&longt);
    om_publish_req req = {"22222222-2222-4222-8222-222222222222",
                          "33333333-3333-4333-8333-333333333333", src, side, dest, NULL,
                          NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    json_t *st = json_object();
    assert_int_equal(t->auth(&req, st), OM_OK);
    assert_true(om_file_exists(dest));
    char *rid = NULL;
    assert_int_equal(t->publish(&req, st, &rid), OM_OK);
    char *dst = xasprintf("%s/%s.mp4", dest, req.clip_id);
    char *sc = xasprintf("%s/%s.json", dest, req.clip_id);
    assert_string_equal(rid, dst);
    assert_false(json_is_true(json_object_get(st, "reused")));
    assert_int_equal(t->verify(&req, st, rid), OM_OK);

    json_t *doc = json_load_file(sc, 0, NULL);
    assert_non_null(doc);
    assert_true(u8len(json_string_value(json_object_get(doc, "title"))) <= 100);
    assert_true(om_tags_count_chars(json_object_get(doc, "tags")) <= 500);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "provenance"),
                                                          "stardust_id")),
                        "11111111-1111-4111-8111-111111111111");
    assert_string_equal(json_string_value(json_object_get(doc, "upload_job_id")),
                        req.upload_job_id);
    char sum[OM_SHA256_HEX_LEN];
    om_sha256_file(src, sum);
    assert_string_equal(json_string_value(json_object_get(doc, "sha256")), sum);
    json_decref(doc);

    /* re-delivery: nothing is written again (same inodes: atomic writes would replace) */
    struct stat a1, b1, a2, b2;
    stat_of(dst, &a1);
    stat_of(sc, &b1);
    free(rid);
    json_t *st2 = json_object(); /* even with the state lost */
    assert_int_equal(t->publish(&req, st2, &rid), OM_OK);
    assert_true(json_is_true(json_object_get(st2, "reused")));
    stat_of(dst, &a2);
    stat_of(sc, &b2);
    assert_true(a1.st_ino == a2.st_ino && b1.st_ino == b2.st_ino);
    assert_string_equal(json_string_value(json_object_get(st2, "exported_at")),
                        json_string_value(json_object_get(st, "exported_at")));
    free(rid);
    /* a re-render (new bytes) is exported again */
    write_clip(src, "a different render");
    assert_int_equal(t->publish(&req, st2, &rid), OM_OK);
    assert_false(json_is_true(json_object_get(st2, "reused")));
    assert_int_equal(t->verify(&req, st2, rid), OM_OK);
    /* tampering is caught */
    write_clip(dst, "tampered");
    assert_int_equal(t->verify(&req, st2, rid), OM_EIO);
    assert_non_null(strstr(om_error_msg(), "checksum"));
    free(rid);
    /* missing render */
    om_publish_req gone = req;
    gone.clip_path = "/nonexistent/clip.mp4";
    assert_int_equal(t->publish(&gone, st2, &rid), OM_ENOTFOUND);
    assert_null(rid);

    json_decref(st);
    json_decref(st2);
    json_decref(side);
    free(dst);
    free(sc);
    free(src);
    free(dest);
    om_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_build_limits),
        cmocka_unit_test(test_meta_title_hashtags_credit),
        cmocka_unit_test(test_export_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
