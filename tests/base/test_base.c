/* test_base.c: errors, buffers, timestamps, UUIDs, processes, config of src/base. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/config.h"
#include "base/fsutil.h"
#include "base/proc.h"

static void test_error_wrap_keeps_lower_message(void **state)
{
    (void)state;
    om_error_set(OM_ENOTFOUND, "creator %s", "abc");
    int rc = om_error_wrap(OM_EINVAL, "adding post");
    assert_int_equal(rc, OM_EINVAL);
    assert_string_equal(om_error_msg(), "adding post: creator abc");
    assert_string_equal(om_error_name(OM_ESTALE), "ESTALE");
}

static void test_sbuf_cap(void **state)
{
    (void)state;
    om_sbuf sb = OM_SBUF_INIT;
    sb.cap = 8;
    assert_int_equal(sb_puts(&sb, "12345"), OM_OK);
    assert_int_equal(sb_puts(&sb, "6789"), OM_EINVAL);
    assert_string_equal(sb_str(&sb), "12345");
    assert_non_null(strstr(om_error_msg(), "too big"));
    sb_release(&sb);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    char buf[OM_TIME_LEN];
    int64_t us;
    assert_int_equal(om_time_parse("2026-11-21T16:47:31.5+01:00", &us), OM_OK);
    assert_string_equal(om_time_iso(buf, us), "2026-11-21T15:47:31.500000Z");
    assert_int_equal(om_time_parse("2026-11-21 15:47:31+00", &us), OM_OK);
    assert_string_equal(om_time_iso(buf, us), "2026-11-21T15:47:31.000000Z");
    assert_int_equal(om_time_parse("2026-13-01T00:00:00Z", &us), OM_EINVAL);
    assert_int_equal(om_time_parse("yesterday", &us), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "yesterday"));
}

static void test_uuid4(void **state)
{
    (void)state;
    char a[OM_UUID_LEN], b[OM_UUID_LEN];
    om_uuid4(a);
    om_uuid4(b);
    assert_true(om_uuid_valid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_false(om_uuid_valid("not-a-uuid"));
}

static int lines;
static void count_line(void *ud, const char *line)
{
    (void)ud;
    (void)line;
    lines++;
}

static void test_proc_capture_and_timeout(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "printf 'a\\nb\\nc\\n'; echo err >&2; exit 3", NULL};
    om_proc_opts o = {.argv = argv, .on_stdout_line = count_line};
    om_proc_result r;
    lines = 0;
    assert_int_equal(om_proc_run(&o, &r), OM_OK);
    assert_int_equal(r.exit_code, 3);
    assert_string_equal(r.out, "a\nb\nc\n");
    assert_string_equal(r.err, "err\n");
    assert_int_equal(lines, 3);
    om_proc_result_release(&r);

    const char *slow[] = {"sleep", "5", NULL};
    om_proc_opts o2 = {.argv = slow, .timeout_ms = 200};
    int64_t t0 = om_mono_ms();
    assert_int_equal(om_proc_run(&o2, &r), OM_ETIMEOUT);
    assert_true(om_mono_ms() - t0 < 3000);
    assert_int_equal(r.timed_out, 1);
    om_proc_result_release(&r);

    /* a child that ignores its stdin: feeding 8 MiB must end in EPIPE, not kill us */
    size_t big = 8u << 20;
    char *data = xcalloc(1, big);
    const char *quick[] = {"true", NULL};
    om_proc_opts o4 = {.argv = quick, .stdin_data = data, .stdin_len = big};
    assert_int_equal(om_proc_run(&o4, &r), OM_OK);
    assert_int_equal(r.exit_code, 0);
    om_proc_result_release(&r);
    free(data);

    const char *missing[] = {"no-such-program-omniva", NULL};
    om_proc_opts o3 = {.argv = missing};
    assert_int_equal(om_proc_run(&o3, &r), OM_ENOTFOUND);
    om_proc_result_release(&r);
}

static void test_config_and_files(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/omniva-test-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    om_config *c = om_config_new(tmpl);
    om_config_set(c, "store", "url", "sqlite:///x.db");
    om_config_set(c, "queue", "url", "sqlite");
    om_config_set(c, "editor", "crf", "23");
    assert_int_equal(om_config_save(c), OM_OK);
    om_config_free(c);
    assert_int_equal(om_config_load(&c, tmpl), OM_OK);
    assert_string_equal(om_config_store_url(c), "sqlite:///x.db");
    assert_int_equal(om_config_long(c, "editor.crf"), 23);
    om_config_free(c);

    char *p = xasprintf("%s/omniva.conf", tmpl);
    assert_int_equal(om_write_file_atomic(p, "[store\nurl=1\n", 13), OM_OK);
    assert_int_equal(om_config_load(&c, tmpl), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "omniva.conf:1: syntax error"));
    char hexd[OM_SHA256_HEX_LEN];
    om_sha256_hex("abc", 3, hexd);
    assert_string_equal(hexd, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(p);
    assert_int_equal(om_rmtree(tmpl), OM_OK);
    assert_int_equal(om_config_load(&c, "/nonexistent-omniva"), OM_ENOTFOUND);
}

/* om_tmpdir: $TMPDIR when set and not empty, else /tmp (the caller's environment restored). */
static void test_tmpdir(void **state)
{
    (void)state;
    const char *was = getenv("TMPDIR");
    char *saved = was ? xstrdup(was) : NULL;
    setenv("TMPDIR", "/var/tmp/omniva-x", 1);
    assert_string_equal(om_tmpdir(), "/var/tmp/omniva-x");
    setenv("TMPDIR", "", 1);
    assert_string_equal(om_tmpdir(), "/tmp");
    unsetenv("TMPDIR");
    assert_string_equal(om_tmpdir(), "/tmp");
    if (saved)
        setenv("TMPDIR", saved, 1);
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_wrap_keeps_lower_message),
        cmocka_unit_test(test_sbuf_cap),
        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_uuid4),
        cmocka_unit_test(test_proc_capture_and_timeout),
        cmocka_unit_test(test_config_and_files),
        cmocka_unit_test(test_tmpdir),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
