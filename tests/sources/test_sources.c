/* test_sources.c: the source drivers against real inputs: URL classification from the
 * data-driven table urls.txt, RSS/Atom/YouTube feed parsing, libcurl downloads (size cap,
 * resume with Range, content-type checks) from an in-process HTTP server on 127.0.0.1,
 * local folders with sidecars, rate limits across processes, and yt-dlp's generic extractor
 * downloading from the local server (no network beyond loopback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "sources/sources.h"
#include "testsrv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SOURCES_TEST_DIR
#error "SOURCES_TEST_DIR must point at tests/sources"
#endif

static testsrv *srv;
static char *tmp;   /* scratch dir for this run */
static char *clip;  /* a 2 s mp4 made by ffmpeg */
static char *clip2; /* a different 1 s mp4 */
static char *clip_data;
static size_t clip_len;
static char clip_sha[OM_SHA256_HEX_LEN];

static char *url_of(const char *path)
{
    return xasprintf("http://127.0.0.1:%d%s", testsrv_port(srv), path);
}

static int make_clip(const char *path, int seconds, int freq)
{
    char dur[16], sine[64], src[64];
    snprintf(dur, sizeof(dur), "%d", seconds);
    snprintf(sine, sizeof(sine), "sine=frequency=%d:duration=%d", freq, seconds);
    snprintf(src, sizeof(src), "testsrc=size=320x240:rate=25:duration=%d", seconds);
    const char *argv[] = {"ffmpeg",    "-v",        "error",      "-y",      "-f",   "lavfi",
                          "-i",        src,         "-f",         "lavfi",   "-i",   sine,
                          "-c:v",      "libx264",   "-pix_fmt",   "yuv420p", "-c:a", "aac",
                          "-shortest", "-movflags", "+faststart", path,      NULL};
    om_proc_opts o = {0};
    o.argv = argv;
    o.timeout_ms = 60000;
    om_proc_result r;
    int rc = om_proc_run(&o, &r);
    int ok = rc == OM_OK && r.exit_code == 0;
    if (!ok)
        fprintf(stderr, "ffmpeg failed: %s\n", r.err ? r.err : om_error_msg());
    om_proc_result_release(&r);
    return ok ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    tmp = xstrdup("/tmp/omniva-sources-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    clip = xasprintf("%s/clip.mp4", tmp);
    clip2 = xasprintf("%s/clip2.mp4", tmp);
    if (make_clip(clip, 2, 440) != 0 || make_clip(clip2, 1, 660) != 0)
        return -1;
    if (om_read_file(clip, 0, &clip_data, &clip_len) != OM_OK)
        return -1;
    om_sha256_file(clip, clip_sha);
    srv = testsrv_start();
    return srv ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(srv);
    om_rmtree(tmp);
    free(tmp);
    free(clip);
    free(clip2);
    free(clip_data);
    return 0;
}

static void ctx_for_test(om_source_ctx *ctx)
{
    om_source_ctx_init(ctx, NULL, NULL);
    ctx->connect_timeout_ms = 5000;
    ctx->http_timeout_ms = 30000;
}

/* ---- URL classification table ---- */

static void test_url_table(void **state)
{
    (void)state;
    char *path = xasprintf("%s/urls.txt", SOURCES_TEST_DIR);
    char *text = NULL;
    assert_int_equal(om_read_file(path, 0, &text, NULL), OM_OK);
    int cases = 0, failures = 0, lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *arrow = strstr(line, " -> ");
        if (!arrow) {
            fprintf(stderr, "urls.txt: bad line: %s\n", line);
            failures++;
            continue;
        }
        *arrow = '\0';
        const char *url = line;
        char *expect = arrow + 4;
        cases++;
        om_source_class c;
        int rc = om_source_classify(url, &c);
        if (strncmp(expect, "REJECT ", 7) == 0) {
            const char *want = expect + 7;
            if (rc != OM_EINVAL || !strstr(om_error_msg(), want) ||
                !strstr(om_error_msg(), "supported are")) {
                fprintf(stderr,
                        "urls.txt: '%s': expected rejection containing '%s', got rc=%d "
                        "'%s'\n",
                        url, want, rc, rc == OM_OK ? c.username : om_error_msg());
                failures++;
            }
            if (rc == OM_OK)
                om_source_class_release(&c);
            continue;
        }
        char platform[32] = "", username[512] = "", profile[512] = "";
        int n = sscanf(expect, "%31s %511s %511s", platform, username, profile);
        /* usernames may contain spaces (local folders): take everything after the platform
         * up to an optional profile URL starting with file:// or http */
        char *sp = strchr(expect, ' ');
        if (sp) {
            char *rest = sp + 1;
            char *prof = strstr(rest, " file://");
            if (!prof)
                prof = strstr(rest, " http");
            snprintf(username, sizeof(username), "%.*s",
                     (int)(prof ? (size_t)(prof - rest) : strlen(rest)), rest);
            if (prof)
                snprintf(profile, sizeof(profile), "%s", prof + 1);
            else
                profile[0] = '\0';
        }
        if (rc != OM_OK) {
            fprintf(stderr, "urls.txt: '%s': expected %s %s, got error '%s'\n", url, platform,
                    username, om_error_msg());
            failures++;
            continue;
        }
        if (strcmp(c.platform, platform) != 0 || strcmp(c.username, username) != 0 ||
            (n >= 3 && profile[0] && strcmp(c.profile_url, profile) != 0)) {
            fprintf(stderr, "urls.txt: '%s': expected %s '%s' %s, got %s '%s' %s\n", url, platform,
                    username, profile, c.platform, c.username, c.profile_url);
            failures++;
        }
        om_source_class_release(&c);
    }
    free(text);
    free(path);
    assert_true(cases >= 40);
    assert_int_equal(failures, 0);
}

static void test_media_names(void **state)
{
    (void)state;
    assert_true(om_source_is_media_name("a/b/Clip.MP4"));
    assert_true(om_source_is_media_name("http://x/y.webm?sig=1#t"));
    assert_true(om_source_is_media_name("talk.m4a"));
    assert_false(om_source_is_media_name("feed.xml"));
    assert_false(om_source_is_media_name("mp4"));
    assert_false(om_source_is_media_name("dir.mp4/feed"));
}

/* ---- feeds ---- */

static void test_feed_dates(void **state)
{
    (void)state;
    int64_t us;
    char buf[OM_TIME_LEN];
    assert_int_equal(om_feed_parse_date("Tue, 10 Jun 2003 04:00:00 GMT", &us), OM_OK);
    assert_string_equal(om_time_iso(buf, us), "2003-06-10T04:00:00.000000Z");
    assert_int_equal(om_feed_parse_date("10 Jun 2003 06:30 +0200", &us), OM_OK);
    assert_string_equal(om_time_iso(buf, us), "2003-06-10T04:30:00.000000Z");
    assert_int_equal(om_feed_parse_date("Sat, 01 Feb 25 10:00:00 EST", &us), OM_OK);
    assert_string_equal(om_time_iso(buf, us), "2025-02-01T15:00:00.000000Z");
    assert_int_equal(om_feed_parse_date("2024-05-06T07:08:09+00:00", &us), OM_OK);
    assert_string_equal(om_time_iso(buf, us), "2024-05-06T07:08:09.000000Z");
    assert_int_equal(om_feed_parse_date("sometime last week", &us), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "sometime last week"));
    assert_int_equal(om_feed_parse_date("Tue, 10 Foo 2003 04:00:00 GMT", &us), OM_EINVAL);
}

static const char RSS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"\n"
    "     xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\">\n"
    "<channel><title>Test Channel</title><link>http://example.com/</link>\n"
    " <item><title>Older episode</title><guid isPermaLink=\"false\">ep-1</guid>\n"
    "  <pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>\n"
    "  <enclosure url=\"media/ep1.mp4\" type=\"video/mp4\" length=\"31973\"/>\n"
    "  <itunes:duration>00:01:05</itunes:duration></item>\n"
    " <item><title>Newest &amp; best</title><guid>https://example.com/p/2</guid>\n"
    "  <pubDate>Wed, 03 Jan 2024 12:30:00 +0100</pubDate><link>https://example.com/p/2</link>\n"
    "  <media:content url=\"https://cdn.example.com/2.jpg\" type=\"image/jpeg\"/>\n"
    "  <media:group><media:content url=\"https://cdn.example.com/2.webm\" type=\"video/webm\"\n"
    "     duration=\"42\" width=\"1080\" height=\"1920\"/></media:group>\n"
    "  <media:community><media:statistics views=\"1234\"/></media:community></item>\n"
    " <item><title>Page only</title><link>https://example.com/watch/3</link>\n"
    "  <pubDate>Tue, 02 Jan 2024 08:00:00 GMT</pubDate></item>\n"
    " <item><title>Text post, no video</title><guid>ep-text</guid>\n"
    "  <enclosure url=\"https://example.com/a.jpg\" type=\"image/jpeg\" length=\"10\"/></item>\n"
    " <item><title>Bad date</title><guid>ep-4</guid><pubDate>someday</pubDate>\n"
    "  <enclosure url=\"https://example.com/4.mp3\" type=\"audio/mpeg\"/></item>\n"
    "</channel></rss>\n";

static void test_feed_rss(void **state)
{
    (void)state;
    om_source_entries l = {0};
    assert_int_equal(om_feed_parse(RSS, strlen(RSS), "http://example.com/feed.xml", "feed", 0, &l),
                     OM_OK);
    assert_int_equal(l.n, 4); /* the image-only item is skipped */
    /* newest first; unknown date last */
    assert_string_equal(l.v[0].title, "Newest & best");
    assert_string_equal(l.v[0].platform_post_id, "https://example.com/p/2");
    assert_string_equal(l.v[0].media_url, "https://cdn.example.com/2.webm");
    assert_string_equal(l.v[0].fetcher, "http");
    assert_string_equal(l.v[0].url, "https://example.com/p/2");
    assert_string_equal(l.v[0].posted_at, "2024-01-03T11:30:00.000000Z");
    assert_int_equal(json_integer_value(json_object_get(l.v[0].raw, "view_count")), 1234);
    assert_int_equal((int)l.v[0].duration_hint, 42);
    assert_string_equal(l.v[0].rate_key, "feed@cdn.example.com");

    assert_string_equal(l.v[1].title, "Page only");
    assert_string_equal(l.v[1].fetcher, "ytdlp");
    assert_string_equal(l.v[1].media_url, "https://example.com/watch/3");
    assert_string_equal(l.v[1].platform_post_id, "https://example.com/watch/3");

    assert_string_equal(l.v[2].title, "Older episode");
    assert_string_equal(l.v[2].platform_post_id, "http://example.com/feed.xml#ep-1");
    assert_string_equal(l.v[2].media_url, "http://example.com/media/ep1.mp4"); /* resolved */
    assert_int_equal(l.v[2].size_hint, 31973);
    assert_int_equal((int)l.v[2].duration_hint, 65);
    json_t *enc = json_object_get(json_object_get(l.v[2].raw, "feed"), "enclosure");
    assert_string_equal(json_string_value(json_object_get(enc, "type")), "video/mp4");

    assert_string_equal(l.v[3].title, "Bad date");
    assert_null(l.v[3].posted_at);
    assert_string_equal(l.v[3].media_url, "https://example.com/4.mp3");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(l.v[3].raw, "feed"), "published")),
        "someday");
    om_source_entries_free(&l);

    /* limit keeps the newest */
    assert_int_equal(om_feed_parse(RSS, strlen(RSS), "http://example.com/feed.xml", "feed", 2, &l),
                     OM_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[1].title, "Page only");
    om_source_entries_free(&l);
}

static const char ATOM[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"https://videos.example.org/\">\n"
    " <title>Atom videos</title><id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>\n"
    " <entry><title>Enclosed</title><id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>\n"
    "  <published>2024-03-01T09:00:00Z</published><updated>2024-03-02T09:00:00Z</updated>\n"
    "  <link rel=\"alternate\" href=\"/v/1\"/>\n"
    "  <link rel=\"enclosure\" type=\"video/mp4\" length=\"999\" href=\"files/1.mp4\"/>\n"
    "  <author><name>Jane</name></author><summary>first one</summary></entry>\n"
    " <entry><title>Page</title><id>tag:videos.example.org,2024:2</id>\n"
    "  <updated>2024-03-05T10:00:00+02:00</updated>\n"
    "  <link href=\"https://videos.example.org/v/2\"/></entry>\n"
    "</feed>\n";

static void test_feed_atom(void **state)
{
    (void)state;
    om_source_entries l = {0};
    assert_int_equal(
        om_feed_parse(ATOM, strlen(ATOM), "https://videos.example.org/atom", "feed", 10, &l),
        OM_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].title, "Page");
    assert_string_equal(l.v[0].posted_at, "2024-03-05T08:00:00.000000Z"); /* from <updated> */
    assert_string_equal(l.v[0].fetcher, "ytdlp");
    assert_string_equal(l.v[0].platform_post_id, "tag:videos.example.org,2024:2");
    assert_string_equal(l.v[1].title, "Enclosed");
    assert_string_equal(l.v[1].posted_at, "2024-03-01T09:00:00.000000Z"); /* published wins */
    assert_string_equal(l.v[1].media_url, "https://videos.example.org/files/1.mp4");
    assert_string_equal(l.v[1].url, "https://videos.example.org/v/1");
    assert_string_equal(l.v[1].platform_post_id, "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a");
    assert_string_equal(json_string_value(json_object_get(l.v[1].raw, "uploader")), "Jane");
    assert_string_equal(json_string_value(json_object_get(l.v[1].raw, "description")), "first one");
    om_source_entries_free(&l);
}

static const char YT[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<feed xmlns:yt=\"http://www.youtube.com/xml/schemas/2015\" "
    "xmlns:media=\"http://search.yahoo.com/mrss/\" xmlns=\"http://www.w3.org/2005/Atom\">\n"
    " <link rel=\"self\" "
    "href=\"http://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv\"/>\n"
    " <id>yt:channel:abcdefghijklmnopqrstuv</id><yt:channelId>abcdefghijklmnopqrstuv</"
    "yt:channelId>\n"
    " <title>Some Channel</title>\n"
    " <entry><id>yt:video:AAAAAAAAAAA</id><yt:videoId>AAAAAAAAAAA</yt:videoId>\n"
    "  <yt:channelId>UCabcdefghijklmnopqrstuv</yt:channelId><title>First video</title>\n"
    "  <link rel=\"alternate\" href=\"https://www.youtube.com/watch?v=AAAAAAAAAAA\"/>\n"
    "  <author><name>Some Channel</name></author>\n"
    "  "
    "<published>2024-06-01T15:00:08+00:00</published><updated>2024-06-02T01:02:03+00:00</updated>\n"
    "  <media:group><media:title>First video</media:title>\n"
    "   <media:content url=\"https://www.youtube.com/v/AAAAAAAAAAA?version=3\" "
    "type=\"application/x-shockwave-flash\" width=\"640\" height=\"390\"/>\n"
    "   <media:thumbnail url=\"https://i1.ytimg.com/vi/AAAAAAAAAAA/hqdefault.jpg\"/>\n"
    "   <media:description>About the first video</media:description>\n"
    "   <media:community><media:starRating count=\"321\" average=\"5.00\" min=\"1\" max=\"5\"/>\n"
    "    <media:statistics views=\"45678\"/></media:community></media:group></entry>\n"
    " <entry><id>yt:video:BBBBBBBBBBB</id><yt:videoId>BBBBBBBBBBB</yt:videoId><title>Second</"
    "title>\n"
    "  <link rel=\"alternate\" href=\"https://www.youtube.com/shorts/BBBBBBBBBBB\"/>\n"
    "  <published>2024-06-03T15:00:00+00:00</published>\n"
    "  <media:group><media:community><media:statistics views=\"10\"/></media:community>"
    "</media:group></entry>\n"
    "</feed>\n";

static void test_feed_youtube(void **state)
{
    (void)state;
    om_source_entries l = {0};
    const char *url =
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv";
    assert_int_equal(om_feed_parse(YT, strlen(YT), url, "youtube", 15, &l), OM_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].platform_post_id, "BBBBBBBBBBB");
    assert_string_equal(l.v[1].platform_post_id, "AAAAAAAAAAA");
    om_source_entry *e = &l.v[1];
    assert_string_equal(e->fetcher, "ytdlp"); /* the flash embed is not media */
    assert_string_equal(e->media_url, "https://www.youtube.com/watch?v=AAAAAAAAAAA");
    assert_string_equal(e->rate_key, "youtube");
    assert_string_equal(e->posted_at, "2024-06-01T15:00:08.000000Z");
    assert_int_equal(json_integer_value(json_object_get(e->raw, "view_count")), 45678);
    assert_int_equal(json_integer_value(json_object_get(e->raw, "rating_count")), 321);
    assert_true(json_real_value(json_object_get(e->raw, "average_rating")) > 4.99);
    assert_string_equal(json_string_value(json_object_get(e->raw, "description")),
                        "About the first video");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e->raw, "feed"), "yt_channel_id")),
        "UCabcdefghijklmnopqrstuv");
    assert_int_equal(json_integer_value(json_object_get(l.v[0].raw, "view_count")), 10);
    om_source_entries_free(&l);
}

static void test_feed_malformed(void **state)
{
    (void)state;
    om_source_entries l = {0};
    const char *bad = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>\n"
                      "<item><title>x</title>\n</channel></rss>\n";
    assert_int_equal(om_feed_parse(bad, strlen(bad), "http://h/f", "feed", 0, &l), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "not well-formed XML"));
    assert_non_null(strstr(om_error_msg(), "line 4"));
    assert_non_null(strstr(om_error_msg(), "mismatch")); /* libxml2's words */
    assert_int_equal(l.n, 0);

    const char *xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "
                      "\"file:///etc/passwd\">]>\n<rss version=\"2.0\"><channel><item><title>&x;"
                      "</title><link>http://h/1</link></item></channel></rss>\n";
    assert_int_equal(om_feed_parse(xxe, strlen(xxe), "http://h/f", "feed", 0, &l), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "entities"));
    assert_int_equal(l.n, 0);

    const char *lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">"
                      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<rss><channel>"
                      "<item><title>&b;</title></item></channel></rss>";
    assert_int_equal(om_feed_parse(lol, strlen(lol), "http://h/f", "feed", 0, &l), OM_EINVAL);

    const char *html = "<html><body>hi</body></html>";
    assert_int_equal(om_feed_parse(html, strlen(html), "http://h/f", "feed", 0, &l), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "not an RSS or Atom feed (root element <html>)"));
}

/* ---- hostile input: every parser answers garbage with OM_EINVAL and a message ---- */

static void test_hostile_inputs(void **state)
{
    (void)state;
    om_source_entries l = {0};
    /* feeds: nothing, binary, and a feed none of whose items has a video */
    assert_int_equal(om_feed_parse("", 0, "http://h/f", "feed", 0, &l), OM_EINVAL);
    assert_true(om_error_msg()[0] != '\0');
    const char bin[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_int_equal(om_feed_parse(bin, sizeof(bin) - 1, "http://h/f", "feed", 0, &l), OM_EINVAL);
    assert_true(om_error_msg()[0] != '\0');
    const char *novideo = "<rss version=\"2.0\"><channel><item><title>text only</title>"
                          "</item></channel></rss>";
    assert_int_equal(om_feed_parse(novideo, strlen(novideo), "http://h/f", "feed", 0, &l), OM_OK);
    assert_int_equal(l.n, 0);

    /* yt-dlp JSON */
    om_source_creator yt = {NULL, "youtube", "@x", "https://www.youtube.com/@x"};
    static const char *const bad_json[] = {"", "not json", "[1, 2]", "{\"id\": ", "\"str\""};
    for (size_t i = 0; i < OM_ARRAY_LEN(bad_json); i++) {
        assert_int_equal(om_ytdlp_parse(bad_json[i], strlen(bad_json[i]), &yt, 10, &l), OM_EINVAL);
        assert_non_null(strstr(om_error_msg(), "yt-dlp JSON: not a JSON object"));
        assert_int_equal(l.n, 0);
    }
    const char *junk = "{\"entries\": [1, null, \"x\", {\"id\": \"\"}, {\"id\": 5},"
                       " {\"id\": \"a\", \"url\": \"ftp://x\"}]}";
    assert_int_equal(om_ytdlp_parse(junk, strlen(junk), &yt, 10, &l), OM_OK);
    assert_int_equal(l.n, 0); /* nothing usable, nothing invented */
    const char *one = "{\"id\": \"dQw4w9WgXcQ\", \"ie_key\": \"Youtube\", \"duration\": 1e999}";
    assert_int_equal(om_ytdlp_parse(one, strlen(one), &yt, 10, &l), OM_EINVAL); /* 1e999: not JSON */
    const char *ok = "{\"id\": \"dQw4w9WgXcQ\", \"ie_key\": \"Youtube\", \"timestamp\": 1e300}";
    assert_int_equal(om_ytdlp_parse(ok, strlen(ok), &yt, 10, &l), OM_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].url, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    assert_null(l.v[0].posted_at); /* a timestamp past 2100 is unknown, not garbage text */
    om_source_entries_free(&l);

    /* local sidecars: the error names the file and line; the entry is left alone */
    om_source_entry *e = om_source_entries_add(&l);
    e->title = xstrdup("clip");
    json_t *raw = json_object();
    const char *side = "{\"title\": \"x\",\n \"views\": }";
    assert_int_equal(om_local_sidecar_apply(e, side, strlen(side), "clip.json", raw), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "clip.json: line 2"));
    assert_string_equal(e->title, "clip");
    assert_int_equal(json_object_size(raw), 0);
    assert_int_equal(om_local_sidecar_apply(e, "[]", 2, "clip.json", raw), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "clip.json"));
    const char *far = "{\"timestamp\": 1e300, \"posted_at\": \"yesterday\", \"views\": \"many\"}";
    assert_int_equal(om_local_sidecar_apply(e, far, strlen(far), "clip.json", raw), OM_OK);
    assert_null(e->posted_at);
    assert_null(json_object_get(raw, "view_count"));
    json_decref(raw);
    om_source_entries_free(&l);
}

/* ---- robustness: mutated feeds and random URLs never crash, leak or half-fill ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_feed_mutations(void **state)
{
    (void)state;
    const char *seeds[] = {RSS, ATOM, YT};
    int parsed = 0, refused = 0;
    for (int iter = 0; iter < 3000; iter++) {
        const char *seed = seeds[iter % 3];
        size_t n = strlen(seed);
        char *buf = xmalloc(n + 64);
        memcpy(buf, seed, n);
        int edits = 1 + (int)(rng() % 4);
        for (int k = 0; k < edits && n > 0; k++) {
            size_t pos = rng() % n;
            switch (rng() % 4) {
            case 0:
                buf[pos] = (char)(rng() & 0xff);
                break; /* flip a byte */
            case 1:
                n = pos;
                break; /* truncate */
            case 2:
                memmove(buf + pos, buf + pos + 1, n - pos - 1);
                n--;
                break; /* delete */
            default:
                buf[pos] = "<>&\"'/= "[rng() % 8];
                break; /* markup */
            }
        }
        om_source_entries l = {0};
        int rc = om_feed_parse(buf, n, "http://example.com/f.xml", "feed", 0, &l);
        assert_true(rc == OM_OK || rc == OM_EINVAL);
        if (rc == OM_OK) {
            parsed++;
            for (size_t i = 0; i < l.n; i++) {
                assert_non_null(l.v[i].platform_post_id);
                assert_non_null(l.v[i].media_url);
                assert_true(json_is_object(l.v[i].raw));
            }
        } else {
            refused++;
            assert_int_equal(l.n, 0);
            assert_true(strlen(om_error_msg()) > 0);
        }
        om_source_entries_free(&l);
        free(buf);
    }
    assert_true(parsed > 100 && refused > 100); /* both paths were exercised */

    /* random and mutated URLs: classified or refused with the list of supported forms */
    const char *urls[] = {
        "https://www.tiktok.com/@user", "https://www.youtube.com/@h/shorts", "file:///srv/x",
        "http://example.com/a.mp4?x=1#y",
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv"};
    for (int iter = 0; iter < 5000; iter++) {
        char u[160];
        snprintf(u, sizeof(u), "%s", urls[iter % 5]);
        size_t n = strlen(u);
        for (int k = 0; k < 3; k++)
            u[rng() % n] = (char)(1 + rng() % 255);
        om_source_class c;
        int rc = om_source_classify(u, &c);
        assert_true(rc == OM_OK || rc == OM_EINVAL);
        if (rc == OM_OK) {
            assert_non_null(c.username);
            assert_true(strlen(c.username) > 0);
            om_source_class_release(&c);
        } else {
            assert_non_null(strstr(om_error_msg(), "supported are"));
        }
    }
}

/* ---- HTTP ---- */

static void test_feed_driver_over_http(void **state)
{
    (void)state;
    /* an RSS feed whose enclosure points at the local server */
    char *media = url_of("/media/a.mp4");
    char *xml = xasprintf("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>"
                          "<item><title>A</title><guid>a-1</guid>"
                          "<pubDate>Thu, 04 Jan 2024 00:00:00 GMT</pubDate>"
                          "<enclosure url=\"%s\" type=\"video/mp4\"/></item></channel></rss>",
                          media);
    testsrv_add(srv, "/feeds/rss.xml", "application/rss+xml", xml, strlen(xml), 0, 0);
    testsrv_add(srv, "/media/a.mp4", "video/mp4", clip_data, clip_len, 0, 0);
    testsrv_redirect(srv, "/feeds/moved.xml", "/feeds/rss.xml");
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    char *feed_url = url_of("/feeds/moved.xml"); /* through a redirect */
    om_source_creator cr = {NULL, "feed", feed_url, feed_url};
    om_source_entries l = {0};
    assert_int_equal(om_source_list(&ctx, &cr, 10, &l), OM_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].media_url, media);
    char *want_id = xasprintf("%s#a-1", feed_url);
    assert_string_equal(l.v[0].platform_post_id, want_id);
    char *dir = xasprintf("%s/dl-feed", tmp);
    om_source_media m;
    assert_int_equal(om_source_fetch(&ctx, &l.v[0], dir, "vid", &m), OM_OK);
    assert_string_equal(m.sha256, clip_sha);
    assert_int_equal(m.size_bytes, (int64_t)clip_len);
    assert_string_equal(m.ext, "mp4");
    char on_disk[OM_SHA256_HEX_LEN];
    assert_int_equal(om_sha256_file(m.media_path, on_disk), OM_OK);
    assert_string_equal(on_disk, clip_sha);
    om_source_media_release(&m);
    om_source_entries_free(&l);
    om_source_ctx_release(&ctx);
    free(dir);
    free(want_id);
    free(feed_url);
    free(xml);
    free(media);
}

static void test_http_size_cap(void **state)
{
    (void)state;
    testsrv_add(srv, "/cap/known.mp4", "video/mp4", clip_data, clip_len, 0, 0);
    testsrv_add(srv, "/cap/chunked.mp4", "video/mp4", clip_data, clip_len, TESTSRV_NO_LENGTH, 0);
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    ctx.max_bytes = 10000;
    char *dest = xasprintf("%s/cap.mp4", tmp);
    char *part = xasprintf("%s.part", dest);
    om_http_result res;
    char *u = url_of("/cap/known.mp4");
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "size cap of 10000 bytes"));
    assert_false(om_file_exists(dest));
    assert_false(om_file_exists(part));
    free(u);
    u = url_of("/cap/chunked.mp4"); /* no Content-Length: stopped while streaming */
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "exceeded the download size cap"));
    assert_false(om_file_exists(dest));
    assert_false(om_file_exists(part));
    /* within the cap the chunked download works */
    ctx.max_bytes = (int64_t)clip_len;
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_OK);
    assert_string_equal(res.sha256, clip_sha);
    om_http_result_release(&res);
    free(u);
    free(dest);
    free(part);
    om_source_ctx_release(&ctx);
}

static void test_http_resume(void **state)
{
    (void)state;
    size_t cut = 10000;
    testsrv_add(srv, "/resume/v.mp4", "video/mp4", clip_data, clip_len, TESTSRV_CUT_ONCE, cut);
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    char *dest = xasprintf("%s/resume.mp4", tmp);
    char *part = xasprintf("%s.part", dest);
    char *u = url_of("/resume/v.mp4");
    om_http_result res;
    int rc = om_http_download(&ctx, u, dest, &res);
    assert_int_not_equal(rc, OM_OK); /* the connection dropped */
    assert_true(rc == OM_EIO);
    int64_t sz = 0;
    assert_int_equal(om_file_size(part, &sz), OM_OK); /* the .part stays */
    assert_int_equal(sz, (int64_t)cut);
    assert_false(om_file_exists(dest));
    /* the next attempt continues with a Range request */
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_OK);
    char range[128];
    testsrv_last_range(srv, "/resume/v.mp4", range, sizeof(range));
    assert_string_equal(range, "bytes=10000-");
    assert_int_equal(res.resumed, 1);
    assert_int_equal(res.status, 206);
    assert_int_equal(res.size_bytes, (int64_t)clip_len);
    assert_string_equal(res.sha256, clip_sha); /* hash covers the old + new bytes */
    char on_disk[OM_SHA256_HEX_LEN];
    om_sha256_file(dest, on_disk);
    assert_string_equal(on_disk, clip_sha);
    assert_false(om_file_exists(part));
    om_http_result_release(&res);
    free(u);

    /* a server that ignores Range: the download starts over and is still right */
    testsrv_add(srv, "/resume/norange.mp4", "video/mp4", clip_data, clip_len,
                TESTSRV_CUT_ONCE | TESTSRV_NO_RANGE, cut);
    u = url_of("/resume/norange.mp4");
    unlink(dest);
    assert_int_not_equal(om_http_download(&ctx, u, dest, &res), OM_OK);
    assert_true(om_file_exists(part));
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_OK);
    assert_int_equal(res.resumed, 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.sha256, clip_sha);
    om_http_result_release(&res);
    free(u);
    free(dest);
    free(part);
    om_source_ctx_release(&ctx);
}

static void test_http_errors(void **state)
{
    (void)state;
    const char *page = "<html><body>login required</body></html>";
    testsrv_add(srv, "/err/page.mp4", "text/html; charset=utf-8", page, strlen(page), 0, 0);
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    char *dest = xasprintf("%s/err.mp4", tmp);
    char *u = url_of("/err/page.mp4");
    om_http_result res;
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "expected media"));
    assert_non_null(strstr(om_error_msg(), "text/html"));
    free(u);
    u = url_of("/err/missing.mp4");
    assert_int_equal(om_http_download(&ctx, u, dest, &res), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "HTTP 404"));
    char *body = NULL;
    assert_int_equal(om_http_get(&ctx, u, 1000, 5000, &body, NULL, NULL), OM_ENOTFOUND);
    assert_null(body);
    free(u);
    /* a GET into memory is capped */
    u = url_of("/cap/known.mp4");
    assert_int_equal(om_http_get(&ctx, u, 1000, 5000, &body, NULL, NULL), OM_EINVAL);
    assert_non_null(strstr(om_error_msg(), "bigger than the limit of 1000 bytes"));
    free(u);
    /* redirect loops stop */
    testsrv_redirect(srv, "/loop/a", "/loop/b");
    testsrv_redirect(srv, "/loop/b", "/loop/a");
    u = url_of("/loop/a");
    assert_int_equal(om_http_get(&ctx, u, 1000, 5000, &body, NULL, NULL), OM_EPERMANENT);
    assert_non_null(strstr(om_error_msg(), "redirect"));
    free(u);
    /* only http(s) */
    assert_int_equal(om_http_get(&ctx, "file:///etc/passwd", 1000, 5000, &body, NULL, NULL),
                     OM_EPERMANENT);
    free(dest);
    om_source_ctx_release(&ctx);
}

/* the "direct" platform: the creator URL is the one post */
static void test_direct_driver(void **state)
{
    (void)state;
    testsrv_add(srv, "/direct/talk", "video/mp4", clip_data, clip_len, 0, 0);
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    char *u = url_of("/direct/talk");
    om_source_creator cr = {NULL, "direct", u, u};
    om_source_entries l = {0};
    assert_int_equal(om_source_list(&ctx, &cr, 5, &l), OM_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].platform_post_id, u);
    char *dir = xasprintf("%s/dl-direct", tmp);
    om_source_media m;
    assert_int_equal(om_source_fetch(&ctx, &l.v[0], dir, "x", &m), OM_OK);
    assert_string_equal(m.ext, "mp4"); /* from the content type */
    assert_string_equal(m.sha256, clip_sha);
    assert_true(om_file_exists(m.media_path));
    assert_non_null(strstr(m.media_path, "/x.mp4"));
    om_source_media_release(&m);
    om_source_entries_free(&l);
    om_source_ctx_release(&ctx);
    free(dir);
    free(u);
}

/* ---- local folders ---- */

static void write_text(const char *path, const char *text)
{
    assert_int_equal(om_write_file_atomic(path, text, strlen(text)), OM_OK);
}

static void test_local_folder(void **state)
{
    (void)state;
    char *root = xasprintf("%s/local", tmp);
    char *sub = xasprintf("%s/local/sub dir", tmp);
    assert_int_equal(om_mkdirs(sub, 0755), OM_OK);
    char *a = xasprintf("%s/a.mp4", root), *b = xasprintf("%s/b.mp4", sub);
    assert_int_equal(om_copy_file_atomic(clip, a), OM_OK);
    assert_int_equal(om_copy_file_atomic(clip2, b), OM_OK);
    char *p;
    write_text(p = xasprintf("%s/a.srt", root), "1\n00:00:00,000 --> 00:00:01,000\nhello\n");
    free(p);
    write_text(p = xasprintf("%s/a.json", root),
               "{\"title\":\"Alpha\",\"posted_at\":\"2024-02-03T04:05:06Z\",\"views\":1200,"
               "\"likes\":80,\"comments\":7}");
    free(p);
    write_text(p = xasprintf("%s/b.json", sub), "{not json");
    free(p);
    write_text(p = xasprintf("%s/notes.txt", root), "not media");
    free(p);
    write_text(p = xasprintf("%s/.hidden.mp4", root), "hidden");
    free(p);
    /* b is newer */
    struct timespec ts[2] = {{1700000000, 0}, {1700000000, 0}};
    utimensat(AT_FDCWD, a, ts, 0);
    ts[0].tv_sec = ts[1].tv_sec = 1700000500;
    utimensat(AT_FDCWD, b, ts, 0);

    char *uri = xasprintf("file://%s", root);
    om_source_class c;
    assert_int_equal(om_source_classify(uri, &c), OM_OK);
    assert_string_equal(c.platform, "local");
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    om_source_creator cr = {NULL, c.platform, c.username, c.profile_url};
    om_source_entries l = {0};
    assert_int_equal(om_source_list(&ctx, &cr, 10, &l), OM_OK);
    assert_int_equal(l.n, 2);
    assert_non_null(strstr(l.v[0].platform_post_id, "sub dir/b.mp4@"));
    assert_non_null(strstr(l.v[0].url, "sub%20dir/b.mp4"));
    assert_null(l.v[0].subtitle_path);
    assert_null(l.v[0].posted_at);
    assert_non_null(json_object_get(l.v[0].raw, "sidecar_error"));
    om_source_entry *e = &l.v[1];
    assert_string_equal(e->title, "Alpha");
    assert_string_equal(e->posted_at, "2024-02-03T04:05:06.000000Z");
    assert_int_equal(json_integer_value(json_object_get(e->raw, "view_count")), 1200);
    assert_int_equal(json_integer_value(json_object_get(e->raw, "like_count")), 80);
    assert_int_equal(json_integer_value(json_object_get(e->raw, "comment_count")), 7);
    assert_non_null(e->subtitle_path);
    assert_non_null(strstr(e->subtitle_path, "/a.srt"));
    char *first_id = xstrdup(e->platform_post_id);

    char *dir = xasprintf("%s/dl-local", tmp);
    om_source_media m;
    assert_int_equal(om_source_fetch(&ctx, e, dir, "v1", &m), OM_OK);
    assert_string_equal(m.sha256, clip_sha);
    assert_non_null(m.subtitle_path);
    assert_non_null(strstr(m.subtitle_path, "/v1.srt"));
    assert_true(om_file_exists(m.subtitle_path));
    om_source_media_release(&m);
    om_source_entries_free(&l);

    /* the id is stable, and changes when the file changes */
    assert_int_equal(om_source_list(&ctx, &cr, 10, &l), OM_OK);
    assert_string_equal(l.v[1].platform_post_id, first_id);
    om_source_entries_free(&l);
    ts[0].tv_sec = ts[1].tv_sec = 1700000100;
    utimensat(AT_FDCWD, a, ts, 0);
    assert_int_equal(om_source_list(&ctx, &cr, 1, &l), OM_OK);
    assert_int_equal(l.n, 1); /* limit */
    om_source_entries_free(&l);
    assert_int_equal(om_source_list(&ctx, &cr, 10, &l), OM_OK);
    assert_string_not_equal(l.v[1].platform_post_id, first_id);
    om_source_entries_free(&l);

    /* a missing folder is a clear error */
    om_source_creator gone = {NULL, "local", "/nonexistent/omniva/folder", "file:///nonexistent"};
    assert_int_equal(om_source_list(&ctx, &gone, 10, &l), OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "/nonexistent/omniva/folder"));

    om_source_class_release(&c);
    om_source_ctx_release(&ctx);
    free(first_id);
    free(dir);
    free(uri);
    free(a);
    free(b);
    free(root);
    free(sub);
}

/* ---- rate limits ---- */

static void test_ratelimit(void **state)
{
    (void)state;
    int64_t waited;
    /* in-process: 600/min = one token per 100 ms, burst 2 */
    assert_int_equal(om_ratelimit_take(NULL, "t-mem", 600, 2, 0, NULL, &waited), OM_OK);
    assert_true(waited < 50);
    assert_int_equal(om_ratelimit_take(NULL, "t-mem", 600, 2, 0, NULL, &waited), OM_OK);
    assert_true(waited < 50);
    assert_int_equal(om_ratelimit_take(NULL, "t-mem", 600, 2, 0, NULL, &waited), OM_OK);
    assert_true(waited >= 70 && waited < 1000);
    /* a wait longer than allowed is refused */
    assert_int_equal(om_ratelimit_take(NULL, "t-slow", 1, 1, 0, NULL, NULL), OM_OK);
    assert_int_equal(om_ratelimit_take(NULL, "t-slow", 1, 1, 500, NULL, NULL), OM_EBUSY);
    assert_non_null(strstr(om_error_msg(), "t-slow"));

    /* shared between processes through the directory */
    char *dir = xasprintf("%s/rl", tmp);
    assert_int_equal(om_ratelimit_take(dir, "youtube", 600, 2, 0, NULL, &waited), OM_OK);
    assert_int_equal(om_ratelimit_take(dir, "youtube", 600, 2, 0, NULL, &waited), OM_OK);
    pid_t pid = fork();
    if (pid == 0) {
        int64_t w = 0;
        int rc = om_ratelimit_take(dir, "youtube", 600, 2, 0, NULL, &w);
        _exit(rc == OM_OK && w >= 70 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* another key is independent */
    assert_int_equal(om_ratelimit_take(dir, "tiktok", 600, 2, 0, NULL, &waited), OM_OK);
    assert_true(waited < 50);
    /* config rates */
    om_config *cfg = om_config_new(tmp);
    assert_true(om_ratelimit_rate(cfg, "instagram") == 10);
    assert_true(om_ratelimit_rate(cfg, "feed@example.com") == 120);
    assert_true(om_ratelimit_rate(cfg, "local") == 0);
    om_config_set(cfg, "ratelimit", "feed", "30");
    assert_true(om_ratelimit_rate(cfg, "feed@example.com") == 30);
    om_config_free(cfg);
    free(dir);
}

/* ---- yt-dlp against the local server ---- */

static void test_ytdlp_generic_page(void **state)
{
    (void)state;
    if (!om_proc_which("yt-dlp")) {
        fprintf(stderr, "yt-dlp is not installed\n");
        fail();
    }
    const char *vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nhello from the page\n";
    testsrv_add(srv, "/site/clip.mp4", "video/mp4", clip_data, clip_len, 0, 0);
    testsrv_add(srv, "/site/clip.en.vtt", "text/vtt", vtt, strlen(vtt), 0, 0);
    const char *html = "<!DOCTYPE html><html><head><title>Coffee talk</title></head><body>"
                       "<video controls><source src=\"clip.mp4\" type=\"video/mp4\">"
                       "<track kind=\"subtitles\" src=\"clip.en.vtt\" srclang=\"en\"></video>"
                       "</body></html>";
    testsrv_add(srv, "/site/watch.html", "text/html; charset=utf-8", html, strlen(html), 0, 0);
    char *page = url_of("/site/watch.html");
    om_source_class c;
    assert_int_equal(om_source_classify(page, &c), OM_OK);
    assert_string_equal(c.platform, "feed"); /* decided at scrape time */
    om_source_ctx ctx;
    ctx_for_test(&ctx);
    om_source_creator cr = {NULL, c.platform, c.username, c.profile_url};
    om_source_entries l = {0};
    assert_int_equal(om_source_list(&ctx, &cr, 5, &l), OM_OK); /* HTML -> yt-dlp listing */
    assert_int_equal(l.n, 1);
    om_source_entry *e = &l.v[0];
    assert_string_equal(e->fetcher, "ytdlp");
    assert_string_equal(e->url, page);
    assert_non_null(strstr(e->platform_post_id, page));
    assert_non_null(strstr(e->title, "Coffee talk"));
    assert_string_equal(json_string_value(json_object_get(e->raw, "omniva_driver")), "ytdlp");
    assert_null(json_object_get(e->raw, "formats")); /* bulky keys trimmed */
    char *dir = xasprintf("%s/dl-ytdlp", tmp);
    om_source_media m;
    assert_int_equal(om_source_fetch(&ctx, e, dir, "vid", &m), OM_OK);
    assert_string_equal(m.sha256, clip_sha);
    assert_string_equal(m.ext, "mp4");
    assert_non_null(strstr(m.media_path, "/vid.mp4"));
    assert_non_null(m.subtitle_path);
    char *subs = NULL;
    assert_int_equal(om_read_file(m.subtitle_path, 0, &subs, NULL), OM_OK);
    assert_non_null(strstr(subs, "hello from the page"));
    free(subs);
    assert_non_null(m.raw);
    assert_string_equal(json_string_value(json_object_get(m.raw, "webpage_url")), page);
    assert_non_null(json_object_get(m.raw, "extractor"));
    assert_null(json_object_get(m.raw, "formats"));
    om_source_media_release(&m);

    /* a direct media URL through yt-dlp, and a failing one with yt-dlp's own words */
    om_source_entry d = {0};
    char *direct = url_of("/site/clip.mp4");
    om_source_entry_set(&d, "x", direct, direct, "ytdlp");
    assert_int_equal(om_source_fetch(&ctx, &d, dir, "direct", &m), OM_OK);
    assert_string_equal(m.sha256, clip_sha);
    om_source_media_release(&m);
    om_source_entry_release(&d);
    char *missing = url_of("/site/missing.html");
    om_source_entry_set(&d, "y", missing, missing, "ytdlp");
    int rc = om_source_fetch(&ctx, &d, dir, "missing", &m);
    assert_int_equal(rc, OM_ENOTFOUND);
    assert_non_null(strstr(om_error_msg(), "ERROR:"));
    assert_non_null(strstr(om_error_msg(), "404"));
    om_source_entry_release(&d);

    om_source_entries_free(&l);
    om_source_class_release(&c);
    om_source_ctx_release(&ctx);
    free(missing);
    free(direct);
    free(dir);
    free(page);
}

int main(void)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_table),
        cmocka_unit_test(test_media_names),
        cmocka_unit_test(test_feed_dates),
        cmocka_unit_test(test_feed_rss),
        cmocka_unit_test(test_feed_atom),
        cmocka_unit_test(test_feed_youtube),
        cmocka_unit_test(test_feed_malformed),
        cmocka_unit_test(test_feed_mutations),
        cmocka_unit_test(test_hostile_inputs),
        cmocka_unit_test(test_feed_driver_over_http),
        cmocka_unit_test(test_http_size_cap),
        cmocka_unit_test(test_http_resume),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_direct_driver),
        cmocka_unit_test(test_local_folder),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_ytdlp_generic_page),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
    // clang-format on
}
