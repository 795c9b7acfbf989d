/*
 * test_discovery.c: the discovery worker (src/stages/discovery.h) end to end, no network:
 * a project follows a feed creator whose posts mention @beanmaster, link a roaster's feed
 * (served by the in-process HTTP server, tests/sources/testsrv.c) and @kittencam; YouTube
 * (search and channels) is fake-ytdlp, a stand-in speaking yt-dlp's command line and JSON.
 * A `discovery` job run by `omniva worker --once` proposes the relevant ones (not the cat
 * channel), follows nobody; `omniva discover` lists, accepts and rejects; the API lists and
 * refuses a second decision; with discovery.auto_follow the rest are followed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fsutil.h"
#include "harness/harness.h"
#include "omtest.h"
#include "testsrv.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <unistd.h>

static char *home, *db_url;
static testsrv *srv;

static char *run_json_out(int expect_rc, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int rc = omt_runv(&out, &err, home, args);
    if (rc != expect_rc)
        fail_msg("omniva %s: exit %d (expected %d)\nstdout: %s\nstderr: %s", args[2], rc,
                 expect_rc, out, err);
    if (expect_rc != 0) {
        char *both = xasprintf("%s%s", out ? out : "", err ? err : "");
        free(out);
        free(err);
        return both;
    }
    free(err);
    return out;
}

static json_t *run_json(const char *const *args)
{
    char *out = run_json_out(0, args);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, out);
    free(out);
    return j;
}

static int64_t q(const char *sql)
{
    return omt_query_int(db_url, sql);
}

static void add_feed(const char *path, const char *title, const char *const *items, int every_s)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_printf(&sb, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>%s</title>"
                   "<link>http://127.0.0.1:%d/</link><description>%s</description>",
              title, testsrv_port(srv), title);
    time_t now = time(NULL);
    for (int i = 0; items[i]; i++) {
        char date[64];
        time_t t = now - (time_t)i * every_s;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
        sb_printf(&sb, "<item><title>%s</title><description>%s</description>"
                       "<guid>%s-%d</guid><pubDate>%s</pubDate><enclosure url=\"http://127.0.0.1:"
                       "%d/%s-%d.mp4\" type=\"video/mp4\" length=\"1000\"/></item>",
                  items[i], items[i], path + 1, i, date, testsrv_port(srv), path + 1, i);
    }
    sb_puts(&sb, "</channel></rss>");
    testsrv_add(srv, path, "application/rss+xml", sb_str(&sb), strlen(sb_str(&sb)), 0, 0);
    sb_release(&sb);
}

static int setup(void **state)
{
    (void)state;
    srv = testsrv_start();
    if (!srv)
        return -1;
    static const char *const followed[] = {"Morning espresso", NULL};
    add_feed("/followed.xml", "Home Barista", followed, 86400);
    static const char *const roaster[] = {"Roasting coffee beans at home", "Espresso roast profile",
                                          "Coffee bean storage", "Roasting light vs dark coffee",
                                          "Espresso blend notes", NULL};
    add_feed("/roaster.xml", "The Roaster", roaster, 86400);
    home = omt_workspace("discovery", NULL);
    char *fake = xasprintf("%s/tests/discovery/fake-ytdlp", getenv("OMNIVA_SRC"));
    omt_conf_append(home, "scraper", "ytdlp", fake);
    free(fake);
    db_url = xasprintf("sqlite://%s/omniva.db", home);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(srv);
    om_rmtree(home);
    free(home);
    free(db_url);
    return 0;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *find_url(json_t *arr, const char *needle)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) if (strstr(str(o, "url"), needle)) return o;
    return NULL;
}

/* ---- the API ---- */

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    sb_append(ud, p, s * n);
    return s * n;
}

static char *g_auth; /* "Authorization: Bearer TOKEN" */

static long http(const char *method, const char *url, om_sbuf *body)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, g_auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return code;
}

static void test_discovery(void **state)
{
    (void)state;
    char *brand = xasprintf("%s/brand.json", home);
    const char *bj = "{\"keywords\": [\"espresso\", \"coffee\", \"roasting\"], \"brief\": \"Home "
                     "coffee: espresso, beans and roasting.\"}";
    assert_int_equal(om_write_file_atomic(brand, bj, strlen(bj)), OM_OK);
    char *out = run_json_out(0, (const char *[]){"--log-format", "none", "project", "create",
                                                 "acme", "--brand", brand, NULL});
    free(out);
    char *feed = xasprintf("http://127.0.0.1:%d/followed.xml", testsrv_port(srv));
    json_t *cr = run_json((const char *[]){"--log-format", "none", "creator", "add", "acme", feed,
                                           "--json", NULL});
    char *creator = xstrdup(str(cr, "creator_id"));
    char *project = xstrdup(json_string_value(json_array_get(json_object_get(cr, "projects"), 0)));
    json_decref(cr);
    /* a post of the followed creator, as fetch stores it */
    char *raw = xasprintf("{\"title\": \"Dialing in espresso with @beanmaster\", \"description\": "
                          "\"Beans from http://127.0.0.1:%d/roaster.xml, and my cat "
                          "https://www.youtube.com/@kittencam. Mail me: me@example.com\"}",
                          testsrv_port(srv));
    char *sql = xasprintf("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, "
                          "url, posted_at, raw_metadata) VALUES ('0b6e3c1e-8f3a-4c8e-9d1a-"
                          "7f6e5d4c3b2a', '%s', 'feed', 'p1', 'http://x/p1', "
                          "'2026-12-01T10:00:00.000000Z', '%s')",
                          creator, raw);
    assert_int_equal(omt_exec(db_url, sql), 0);
    free(sql);
    free(raw);

    char *payload = xasprintf("{\"project_id\": \"%s\"}", project);
    out = run_json_out(0, (const char *[]){"--log-format", "none", "jobs", "enqueue",
                                           "discovery", "--payload", payload, NULL});
    free(out);
    out = run_json_out(0, (const char *[]){"--log-format", "none", "worker", "--once", "--types",
                                           "discovery", NULL});
    free(out);
    assert_int_equal(q("SELECT count(*) FROM jobs WHERE type = 'discovery' AND state = 'done'"),
                     1);

    json_t *l = run_json((const char *[]){"--log-format", "none", "discover", "acme", "--json",
                                          NULL});
    if (json_array_size(l) != 3)
        fail_msg("expected 3 proposals: %s", json_dumps(l, JSON_INDENT(1)));
    json_t *bean = find_url(l, "@beanmaster"), *roast = find_url(l, "roaster.xml"),
           *crema = find_url(l, "@crema_lab");
    assert_non_null(bean);
    assert_non_null(roast);
    assert_non_null(crema);
    assert_null(find_url(l, "kittencam")); /* scored, not relevant */
    assert_null(find_url(l, "example.com")); /* an e-mail address is no handle */
    assert_string_equal(str(bean, "source"), "mention");
    assert_string_equal(str(roast, "source"), "feed_link");
    assert_string_equal(str(crema, "source"), "search");
    assert_string_equal(str(crema, "found_in"), "espresso");
    size_t i;
    json_t *o;
    json_array_foreach(l, i, o)
    {
        assert_string_equal(str(o, "status"), "proposed");
        assert_true(json_real_value(json_object_get(o, "relevance")) > 0.3);
    }
    /* cadence: daily posts score above weekly ones */
    assert_true(json_real_value(json_object_get(crema, "posts_per_week")) > 6);
    assert_true(json_real_value(json_object_get(bean, "posts_per_week")) < 1.5);
    assert_true(json_real_value(json_object_get(bean, "posts_per_week")) > 0.5);
    /* proposed, not followed; the run is in the ledger */
    assert_int_equal(q("SELECT count(*) FROM project_creators"), 1);
    assert_int_equal(q("SELECT count(*) FROM stardust_metadata WHERE entity_type = 'projects' "
                       "AND lineage LIKE '%\"decided_by\":\"discovery\"%'"),
                     1);
    char *bean_id = xstrdup(str(bean, "discovery_id")), *roast_id = xstrdup(str(roast,
                                                                                "discovery_id"));
    json_decref(l);

    /* accept one, reject one */
    json_t *a = run_json((const char *[]){"--log-format", "none", "discover", "acme", "--accept",
                                          bean_id, "--json", NULL});
    assert_string_equal(str(a, "status"), "accepted");
    assert_non_null(str(a, "creator_id"));
    json_decref(a);
    assert_int_equal(q("SELECT count(*) FROM project_creators"), 2);
    out = run_json_out(0, (const char *[]){"--log-format", "none", "discover", "acme", "--reject",
                                           roast_id, NULL});
    assert_true(omt_has(out, "rejected"));
    free(out);
    out = run_json_out(1, (const char *[]){"--log-format", "none", "discover", "acme", "--accept",
                                           roast_id, NULL});
    assert_true(omt_has(out, "already rejected"));
    free(out);
    out = run_json_out(1, (const char *[]){"--log-format", "none", "discover", "acme", "--accept",
                                           "7a1f2e3d-4c5b-4a69-8788-99aabbccddee", NULL});
    assert_true(omt_has(out, "not found"));
    free(out);

    /* the API, as an operator with an API token */
    char *cmd = xasprintf("printf '%%s\\n' 'correct horse battery' | '%s' --home '%s' "
                          "--log-format none user add admin --role admin >/dev/null",
                          getenv("OMNIVA_BIN"), home);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *tok = run_json_out(0, (const char *[]){"--log-format", "none", "user", "token",
                                                 "create", "admin", NULL});
    tok[strcspn(tok, "\r\n")] = '\0';
    g_auth = xasprintf("Authorization: Bearer %s", tok);
    free(tok);
    int port = harness_free_port();
    char listen[64], base[128];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/v1/projects/acme/discoveries", port);
    char *log = xasprintf("%s/serve.log", home);
    pid_t pid = omt_spawn(home, log, NULL,
                          (const char *[]){"--log-format", "none", "serve", "--listen", listen,
                                           NULL});
    om_sbuf body = OM_SBUF_INIT;
    long code = 0;
    for (int t = 0; t < 100 && code != 200; t++) {
        om_sleep_ms(200);
        sb_reset(&body);
        code = http("GET", base, &body);
    }
    assert_int_equal(code, 200);
    json_t *doc = json_loads(sb_str(&body), 0, NULL);
    json_t *arr = json_object_get(doc, "discoveries");
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(str(json_array_get(arr, 0), "status"), "proposed"); /* open ones first */
    json_decref(doc);
    sb_reset(&body);
    char *url = xasprintf("%s?status=accepted", base);
    assert_int_equal(http("GET", url, &body), 200);
    doc = json_loads(sb_str(&body), 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "discoveries")), 1);
    json_decref(doc);
    free(url);
    sb_reset(&body);
    url = xasprintf("%s/%s/reject", base, bean_id);
    assert_int_equal(http("POST", url, &body), 409); /* accepted already */
    free(url);
    sb_reset(&body);
    url = xasprintf("%s?status=bogus", base);
    assert_int_equal(http("GET", url, &body), 400);
    free(url);
    sb_reset(&body);
    url = xasprintf("http://127.0.0.1:%d/api/v1/openapi.json", port);
    assert_int_equal(http("GET", url, &body), 200);
    assert_true(omt_has(sb_str(&body), "/api/v1/projects/{id}/discoveries") ||
                omt_has(sb_str(&body), "/api/v1/projects/:id/discoveries"));
    free(url);
    kill(pid, SIGTERM);
    omt_wait(pid, 20000);
    sb_release(&body);
    free(log);
    free(g_auth);

    /* auto_follow: the one left proposed (crema_lab) is followed by the next run */
    out = run_json_out(0, (const char *[]){"--log-format", "none", "jobs", "enqueue",
                                           "discovery", "--payload", payload, NULL});
    free(out);
    out = run_json_out(0, (const char *[]){"--log-format", "none", "--set",
                                           "discovery.auto_follow=true", "worker", "--once",
                                           "--types", "discovery", NULL});
    free(out);
    assert_int_equal(q("SELECT count(*) FROM project_creators"), 3);
    assert_int_equal(q("SELECT count(*) FROM discoveries WHERE status = 'accepted' AND "
                       "decided_by = 'auto_follow' AND url LIKE '%crema_lab%'"),
                     1);
    assert_int_equal(q("SELECT count(*) FROM discoveries WHERE status = 'rejected'"), 1);
    free(payload);
    free(bean_id);
    free(roast_id);
    free(feed);
    free(creator);
    free(project);
    free(brand);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
