/* test_pantheon.c: the Pantheon agents (hook, energy, relevance, virality, novelty,
 * brand-safety veto, length fit; relevance never counting low-confidence words), Chorus merging, Lattice priority/ranking, and the LLM
 * agent against a local libmicrohttpd server speaking OpenAI chat-completions JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <unistd.h>

#include "base/common.h"
#include "cognition/candidates.h"
#include "cognition/pantheon.h"

static const om_vote *find_vote(const om_vote *v, size_t n, const char *agent)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].agent, agent))
            return &v[i];
    fail_msg("no vote from %s", agent);
    return NULL;
}

static json_t *brand_fixture(void)
{
    return json_pack("{s:[s,s],s:s,s:[s,s],s:i,s:i,s:i}", "keywords", "investing", "savings",
                     "brief", "personal finance tips for young people", "banned_words",
                     "gamble", "crypto scam", "clip_min_s", 15, "clip_max_s", 60,
                     "clips_per_video", 2);
}

static json_t *meta_fixture(const char *transcript, double hook, double energy, double vir)
{
    return json_pack("{s:s,s:{s:f,s:[s],s:[s]},s:{s:f,s:f,s:f,s:f,s:f,s:f}}", "transcript",
                     transcript, "hook", "score", hook, "fired", "question", "reasons",
                     "question: \"why do your...?\"", "scores", "energy", energy,
                     "loudness_rel_lu", 2.5, "scenes_per_min", 4.0, "virality", vir,
                     "engagement", 0.7, "speech_rate_wpm", 170.0);
}

static void test_agents_vote_with_reasons(void **state)
{
    (void)state;
    json_t *brand = brand_fixture();
    om_pantheon *p = om_pantheon_new(brand, NULL);
    assert_true(om_pantheon_nagents(p) >= 7);
    const char *tr = "why do your savings vanish every month? investing early fixes it";
    json_t *meta = meta_fixture(tr, 0.6, 0.7, 0.65);
    om_pantheon_clip c = {"c1", "creatorA", 10.0, 38.0, NULL, meta, 12.0};
    om_vote v[OM_PANTHEON_MAX_AGENTS];
    size_t n;
    assert_int_equal(om_pantheon_vote(p, &c, v, &n), OM_OK);
    assert_true(n >= 7);
    int active = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(v[i].score >= 0 && v[i].score <= 1);
        assert_true(v[i].reason[0] != '\0');
        assert_false(v[i].veto);
        if (v[i].weight > 0)
            active++;
    }
    assert_true(active >= 7); /* seven independent agents voted (llm abstains: no url) */
    assert_true(fabs(find_vote(v, n, "hook")->score - 0.6) < 1e-9);
    assert_non_null(strstr(find_vote(v, n, "hook")->reason, "question"));
    assert_true(fabs(find_vote(v, n, "energy")->score - 0.7) < 1e-9);
    assert_non_null(strstr(find_vote(v, n, "energy")->reason, "+2.5 LU"));
    assert_true(find_vote(v, n, "relevance")->score > 0.4);
    assert_non_null(strstr(find_vote(v, n, "relevance")->reason, "save"));
    assert_true(fabs(find_vote(v, n, "virality")->score - 0.65) < 1e-9);
    assert_true(find_vote(v, n, "novelty")->score == 1.0);
    assert_true(find_vote(v, n, "brand_safety")->score == 1.0);
    assert_true(find_vote(v, n, "length")->score == 1.0); /* 28 s in 21.75..39.75 */
    assert_true(find_vote(v, n, "llm")->weight == 0);
    assert_non_null(strstr(find_vote(v, n, "llm")->reason, "llm_url"));

    /* JSON round trip as stored in clips.pantheon_votes */
    json_t *j = om_votes_json(v, n);
    assert_true(json_is_object(json_object_get(j, "novelty")));
    assert_non_null(json_object_get(json_object_get(j, "hook"), "reason"));
    om_vote back[OM_PANTHEON_MAX_AGENTS];
    size_t nb = om_votes_from_json(j, back, OM_PANTHEON_MAX_AGENTS);
    assert_int_equal(nb, n);
    json_decref(j);
    json_decref(meta);
    om_pantheon_free(p);
    json_decref(brand);
}

static void test_brand_safety_veto(void **state)
{
    (void)state;
    json_t *brand = brand_fixture();
    om_pantheon *p = om_pantheon_new(brand, NULL);
    /* stemmed: "gambling" is banned through "gamble"; an otherwise excellent clip */
    const char *tr = "why you should never stop gambling your savings on investing";
    json_t *meta = meta_fixture(tr, 0.95, 0.95, 0.95);
    om_pantheon_clip c = {"c2", "creatorA", 0, 30, NULL, meta, 1};
    om_vote v[OM_PANTHEON_MAX_AGENTS];
    size_t n;
    om_pantheon_vote(p, &c, v, &n);
    const om_vote *bs = find_vote(v, n, "brand_safety");
    assert_true(bs->veto);
    assert_true(bs->score == 0);
    assert_non_null(strstr(bs->reason, "gamble"));
    om_chorus ch;
    om_chorus_merge(v, n, &ch);
    assert_true(ch.vetoed);
    assert_string_equal(ch.veto_agent, "brand_safety");
    assert_true(ch.confidence > 0.6); /* high confidence... */
    om_rank_item items[2] = {{.priority = 0.9, .confidence = ch.confidence, .vetoed = 1,
                              .veto_reason = ch.veto_reason},
                             {.priority = 0.2, .confidence = 0.4}};
    om_lattice_rank(items, 2, 3, 0.3);
    assert_false(items[0].selected); /* ...and still rejected */
    assert_non_null(strstr(items[0].reason, "vetoed"));
    assert_true(items[1].selected);
    json_decref(meta);

    /* phrases match as word sequences only */
    meta = meta_fixture("this crypto is not a scam at all", 0.5, 0.5, 0.5);
    c.metadata = meta;
    om_pantheon_vote(p, &c, v, &n);
    assert_false(find_vote(v, n, "brand_safety")->veto);
    json_decref(meta);
    meta = meta_fixture("beware every Crypto Scam out there", 0.5, 0.5, 0.5);
    c.metadata = meta;
    om_pantheon_vote(p, &c, v, &n);
    assert_true(find_vote(v, n, "brand_safety")->veto);
    json_decref(meta);
    om_pantheon_free(p);
    json_decref(brand);
}

static void test_novelty_near_duplicates(void **state)
{
    (void)state;
    json_t *brand = brand_fixture();
    om_pantheon *p = om_pantheon_new(brand, NULL);
    const char *orig = "the three rules of saving money that nobody teaches you in school "
                       "are simple pay yourself first automate it and never touch it";
    om_pantheon_add_prior(p, "old1", "creatorB", orig);
    om_pantheon_add_prior(p, "old2", "creatorA", "a totally different talk about cooking");
    /* a re-upload by another creator with tiny ASR differences */
    const char *dup = "the three rules of saving money that nobody teaches you in school "
                      "are simple pay yourself first automate it and never touch them";
    om_pantheon_clip c = {"new", "creatorA", 0, 30, dup, NULL, -1};
    om_vote v[OM_PANTHEON_MAX_AGENTS];
    size_t n;
    om_pantheon_vote(p, &c, v, &n);
    const om_vote *nv = find_vote(v, n, "novelty");
    assert_true(nv->veto);
    assert_true(nv->score < 0.2);
    assert_non_null(strstr(nv->reason, "old1"));
    assert_non_null(strstr(nv->reason, "another creator"));
    /* partially overlapping: penalised, not vetoed */
    const char *part = "the three rules of saving money that nobody teaches you are boring "
                       "so here is what I do instead with my paycheck every month";
    c.transcript = part;
    om_pantheon_vote(p, &c, v, &n);
    nv = find_vote(v, n, "novelty");
    assert_false(nv->veto);
    assert_true(nv->score > 0.3 && nv->score < 1.0);
    /* fresh content */
    c.transcript = "compound interest explained with a pizza analogy";
    om_pantheon_vote(p, &c, v, &n);
    assert_true(find_vote(v, n, "novelty")->score > 0.95);
    /* the clip itself is not its own duplicate */
    c.clip_id = "old1";
    c.transcript = orig;
    om_pantheon_vote(p, &c, v, &n);
    assert_false(find_vote(v, n, "novelty")->veto);
    /* missing analyzer metadata: energy and virality abstain, hook recomputes */
    assert_true(find_vote(v, n, "energy")->weight == 0);
    assert_true(find_vote(v, n, "virality")->weight == 0);
    assert_non_null(strstr(find_vote(v, n, "hook")->reason, "recomputed"));
    om_pantheon_free(p);
    json_decref(brand);
}

static void test_length_fit_and_config_weights(void **state)
{
    (void)state;
    json_t *brand = brand_fixture();
    om_config *cfg = om_config_new("/tmp");
    om_config_set(cfg, "pantheon", "weight_energy", "0");
    om_config_set(cfg, "pantheon", "preferred_min_s", "20");
    om_config_set(cfg, "pantheon", "preferred_max_s", "30");
    om_pantheon *p = om_pantheon_new(brand, cfg);
    om_vote v[OM_PANTHEON_MAX_AGENTS];
    size_t n;
    double lens[] = {10, 15, 17.5, 20, 25, 30, 45, 60, 61};
    double want[] = {0, 0.5, 0.75, 1, 1, 1, 0.75, 0.5, 0};
    for (size_t i = 0; i < OM_ARRAY_LEN(lens); i++) {
        om_pantheon_clip c = {"x", "a", 100, 100 + lens[i], "hello there", NULL, -1};
        om_pantheon_vote(p, &c, v, &n);
        assert_true(fabs(find_vote(v, n, "length")->score - want[i]) < 1e-9);
    }
    assert_true(find_vote(v, n, "energy")->weight == 0);
    assert_non_null(strstr(find_vote(v, n, "energy")->reason, "disabled"));
    om_pantheon_free(p);
    om_config_free(cfg);
    json_decref(brand);
}

static void test_chorus_merge(void **state)
{
    (void)state;
    om_vote v[4] = {{"a", 1.0, 1.0, 0, ""},
                    {"b", 0.0, 1.0, 0, ""},
                    {"c", 0.5, 2.0, 0, ""},
                    {"d", 0.9, 0.0, 0, "abstains"}};
    om_chorus ch;
    om_chorus_merge(v, 4, &ch);
    assert_true(fabs(ch.confidence - 0.5) < 1e-12);
    /* weighted std-dev: sqrt((0.25 + 0.25 + 0) / 4) */
    assert_true(fabs(ch.disagreement - sqrt(0.5 / 4)) < 1e-12);
    assert_int_equal(ch.voters, 3);
    assert_false(ch.vetoed);
    om_vote agree[2] = {{"a", 0.7, 1, 0, ""}, {"b", 0.7, 3, 0, ""}};
    om_chorus_merge(agree, 2, &ch);
    assert_true(fabs(ch.confidence - 0.7) < 1e-12);
    assert_true(ch.disagreement < 1e-12);
    json_t *j = om_chorus_json(&ch);
    assert_true(json_is_null(json_object_get(j, "veto")));
    json_decref(j);
    om_chorus_merge(NULL, 0, &ch);
    assert_true(ch.confidence == 0 && ch.voters == 0);
}

static void test_lattice_priority_and_rank(void **state)
{
    (void)state;
    om_lattice_in in = {0.8, 0, -1, 3};
    om_lattice_out o;
    om_lattice_priority(&in, &o);
    assert_true(fabs(o.freshness - 1.0) < 1e-12);
    assert_true(fabs(o.priority - 0.8) < 1e-12);
    in.post_age_hours = 72;
    om_lattice_priority(&in, &o);
    assert_true(fabs(o.freshness - 0.8) < 1e-12);
    /* creator diversity: a creator with all recent selections out of 3 creators */
    in.post_age_hours = 0;
    in.creator_share = 1.0;
    om_lattice_priority(&in, &o);
    assert_true(fabs(o.diversity - 0.4) < 1e-12);
    in.creator_share = 1.0 / 3.0; /* fair share: no penalty */
    om_lattice_priority(&in, &o);
    assert_true(fabs(o.diversity - 1.0) < 1e-12);
    in.creator_share = 0.5;
    double mid;
    om_lattice_priority(&in, &o);
    mid = o.diversity;
    assert_true(mid < 1.0 && mid > 0.4);
    in.ncreators = 1;
    in.creator_share = 1.0;
    om_lattice_priority(&in, &o);
    assert_true(o.diversity == 1.0);
    for (double c = -1; c <= 2; c += 0.25)
        for (double age = -5; age < 1000; age += 97) {
            om_lattice_in x = {c, age, 0.9, 4};
            om_lattice_priority(&x, &o);
            assert_true(o.priority >= 0 && o.priority <= 1);
        }

    om_rank_item it[5] = {{.priority = 0.3, .confidence = 0.5},
                          {.priority = 0.9, .confidence = 0.8},
                          {.priority = 0.6, .confidence = 0.7},
                          {.priority = 0.5, .confidence = 0.2},
                          {.priority = 0.4, .confidence = 0.6}};
    om_lattice_rank(it, 5, 2, 0.3);
    assert_true(it[1].selected && it[2].selected);
    assert_false(it[0].selected || it[3].selected || it[4].selected);
    assert_int_equal(it[1].rank, 1);
    assert_non_null(strstr(it[3].reason, "below"));
    assert_non_null(strstr(it[4].reason, "top 2"));
}

/* ---- the LLM agent against a local OpenAI-compatible server ---- */

typedef struct fake_llm {
    struct MHD_Daemon *d;
    int port;
    int mode; /* 0 ok, 1 HTTP 500, 2 prose without score, 3 slow, 4 0-10 scale in a fence */
    int requests;
    char last_model[64];
    char last_auth[128];
    int saw_transcript;
} fake_llm;

typedef struct conn_buf {
    om_sbuf body;
} conn_buf;

static enum MHD_Result llm_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)version;
    fake_llm *f = cls;
    if (!*ptr) {
        conn_buf *cb = calloc(1, sizeof(*cb));
        *ptr = cb;
        return MHD_YES;
    }
    conn_buf *cb = *ptr;
    if (*upload_size) {
        sb_append(&cb->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    f->requests++;
    int status = 200;
    char *answer = NULL;
    if (strcmp(method, "POST") || strcmp(url, "/v1/chat/completions")) {
        status = 404;
        answer = xstrdup("{\"error\":\"not found\"}");
    } else {
        json_t *req = json_loads(sb_str(&cb->body), 0, NULL);
        const char *model = json_string_value(json_object_get(req, "model"));
        snprintf(f->last_model, sizeof(f->last_model), "%s", model ? model : "");
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        snprintf(f->last_auth, sizeof(f->last_auth), "%s", auth ? auth : "");
        json_t *msgs = json_object_get(req, "messages");
        const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
        f->saw_transcript = user && strstr(user, "pizza analogy") && strstr(user, "finance");
        json_decref(req);
        const char *content = "{\"score\": 0.83, \"reason\": \"clear hook, on brief\"}";
        if (f->mode == 1) {
            status = 500;
        } else if (f->mode == 2) {
            content = "I think this clip is pretty good!";
        } else if (f->mode == 3) {
            usleep(1500 * 1000);
        } else if (f->mode == 4) {
            content = "```json\n{\"score\": 7, \"reason\": \"decent\"}\n```";
        }
        json_t *resp = json_pack("{s:s,s:s,s:[{s:i,s:{s:s,s:s},s:s}]}", "id", "chatcmpl-1",
                                 "object", "chat.completion", "choices", "index", 0, "message",
                                 "role", "assistant", "content", content, "finish_reason",
                                 "stop");
        answer = status == 200 ? json_dumps(resp, JSON_COMPACT) : xstrdup("{\"error\":\"boom\"}");
        json_decref(resp);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void llm_done(void *cls, struct MHD_Connection *conn, void **ptr,
                     enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_buf *cb = *ptr;
    if (cb) {
        sb_release(&cb->body);
        free(cb);
        *ptr = NULL;
    }
}

static void test_llm_agent_local_server(void **state)
{
    (void)state;
    fake_llm f = {0};
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = 0; /* any free port; read back below */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                           NULL, NULL, llm_handler, &f, MHD_OPTION_NOTIFY_COMPLETED, llm_done,
                           NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    assert_non_null(f.d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f.d, MHD_DAEMON_INFO_BIND_PORT);
    f.port = info->port;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", f.port);

    json_t *brand = brand_fixture();
    om_config *cfg = om_config_new("/tmp");
    om_config_set(cfg, "pantheon", "llm_url", url);
    om_config_set(cfg, "pantheon", "llm_model", "tiny-judge");
    om_config_set(cfg, "pantheon", "llm_api_key_env", "OMNIVA_TEST_LLM_KEY");
    setenv("OMNIVA_TEST_LLM_KEY", "sk-local-test", 1);
    om_pantheon *p = om_pantheon_new(brand, cfg);
    om_pantheon_clip c = {"c", "a", 0, 30, "compound interest explained with a pizza analogy",
                          NULL, -1};
    om_vote v[OM_PANTHEON_MAX_AGENTS];
    size_t n;
    om_pantheon_vote(p, &c, v, &n);
    const om_vote *lv = find_vote(v, n, "llm");
    assert_true(lv->weight == 1.0);
    assert_true(fabs(lv->score - 0.83) < 1e-9);
    assert_non_null(strstr(lv->reason, "clear hook, on brief"));
    assert_non_null(strstr(lv->reason, "tiny-judge"));
    assert_string_equal(f.last_model, "tiny-judge");
    assert_string_equal(f.last_auth, "Bearer sk-local-test");
    assert_true(f.saw_transcript);
    assert_int_equal(f.requests, 1);

    /* server error: the agent abstains with the reason, the committee goes on */
    f.mode = 1;
    om_pantheon_vote(p, &c, v, &n);
    lv = find_vote(v, n, "llm");
    assert_true(lv->weight == 0);
    assert_non_null(strstr(lv->reason, "HTTP 500"));
    /* an answer without a score */
    f.mode = 2;
    om_pantheon_vote(p, &c, v, &n);
    lv = find_vote(v, n, "llm");
    assert_true(lv->weight == 0);
    assert_non_null(strstr(lv->reason, "no usable score"));
    /* 0-10 scale inside a code fence */
    f.mode = 4;
    om_pantheon_vote(p, &c, v, &n);
    lv = find_vote(v, n, "llm");
    assert_true(fabs(lv->score - 0.7) < 1e-9);
    /* timeout */
    f.mode = 3;
    om_pantheon_set_llm(p, url, NULL, 300);
    om_pantheon_vote(p, &c, v, &n);
    lv = find_vote(v, n, "llm");
    assert_true(lv->weight == 0);
    assert_non_null(strstr(lv->reason, "LLM unavailable"));
    /* nothing listening */
    om_pantheon_set_llm(p, "http://127.0.0.1:1/v1", NULL, 2000);
    om_pantheon_vote(p, &c, v, &n);
    assert_true(find_vote(v, n, "llm")->weight == 0);

    om_pantheon_free(p);
    om_config_free(cfg);
    json_decref(brand);
    MHD_stop_daemon(f.d);
}

/* raw_ai_output of a walk by the river (12 six-word sentences) in which the only on-brand
 * word, "espresso" (word 2 of sentence 3), was heard with confidence `conf`. */
static json_t *river_talk(double conf)
{
    static const char *const filler[] = {"we", "walked", "along", "the", "river", "today"};
    json_t *words = json_array(), *sents = json_array();
    double t = 0.3;
    for (int s = 0; s < 12; s++) {
        om_sbuf sb = OM_SBUF_INIT;
        double st0 = t;
        for (int i = 0; i < 6; i++) {
            int odd = s == 3 && i == 2;
            const char *wd = odd ? "espresso" : filler[(s + i) % 6];
            json_array_append_new(words, json_pack("{s:s,s:f,s:f,s:f}", "w", wd, "start", t,
                                                   "end", t + 0.35, "conf", odd ? conf : 0.9));
            sb_printf(&sb, "%s%s", i ? " " : "", wd);
            t += 0.45;
        }
        json_array_append_new(sents, json_pack("{s:f,s:f,s:s}", "start", st0, "end", t - 0.1,
                                               "text", sb_str(&sb)));
        sb_release(&sb);
        t += 0.8;
    }
    return json_pack("{s:{s:s},s:o,s:o,s:{s:f}}", "engine", "name", "pocketsphinx", "words",
                     words, "sentences", sents, "signals", "duration", t + 1);
}

/* The relevance agent recomputes from the clip's transcript text; a word the recogniser
 * heard below analyze.min_word_confidence must not count there either (it does not in the
 * analysis), or a misheard keyword would carry an off-topic clip past the committee. */
static void test_relevance_ignores_low_confidence_words(void **state)
{
    (void)state;
    json_t *brand = json_pack("{s:[s],s:s,s:i,s:i}", "keywords", "espresso", "brief",
                              "videos about our espresso for the channel", "clip_min_s", 10,
                              "clip_max_s", 20);
    om_pantheon *p = om_pantheon_new(brand, NULL);
    for (int clear = 0; clear <= 1; clear++) {
        json_t *raw = river_talk(clear ? 0.95 : 0.2), *ev = NULL;
        assert_int_equal(om_analysis_evaluate(raw, brand, NULL, &ev), OM_OK);
        /* every candidate through the committee as select does: metadata only */
        size_t i, seen = 0;
        json_t *c;
        json_array_foreach(json_object_get(ev, "candidates"), i, c)
        {
            const char *tr = json_string_value(json_object_get(c, "transcript"));
            if (!strstr(tr, "espresso"))
                continue;
            seen++;
            om_pantheon_clip pc = {"c", "creator",
                                   json_number_value(json_object_get(c, "start")),
                                   json_number_value(json_object_get(c, "end")), NULL, c, -1};
            om_vote v[OM_PANTHEON_MAX_AGENTS];
            size_t n;
            assert_int_equal(om_pantheon_vote(p, &pc, v, &n), OM_OK);
            const om_vote *rv = find_vote(v, n, "relevance");
            if (clear) {
                assert_int_equal(json_array_size(json_object_get(c, "low_confidence_words")),
                                 0);
                assert_false(rv->veto);
                assert_true(rv->score > 0.2);
                assert_non_null(strstr(rv->reason, "espresso"));
            } else {
                const json_t *low = json_object_get(c, "low_confidence_words");
                assert_int_equal(json_array_size(low), 1);
                assert_string_equal(json_string_value(json_array_get(low, 0)), "espresso");
                assert_true(rv->veto);
                assert_true(rv->score < 0.05);
                assert_non_null(strstr(rv->reason, "off-brand"));
                assert_non_null(strstr(rv->reason, "1 low-confidence word not counted: espresso"));
                om_chorus ch;
                om_chorus_merge(v, n, &ch);
                assert_true(ch.vetoed);
                assert_string_equal(ch.veto_agent, "relevance");
            }
        }
        assert_true(seen >= 1);
        json_decref(ev);
        json_decref(raw);
    }

    /* the same word said twice, once clearly: one occurrence still counts */
    json_t *meta = json_pack("{s:s,s:[s]}", "transcript",
                             "we walked to the espresso bar and ordered an espresso",
                             "low_confidence_words", "espresso");
    om_pantheon_clip pc = {"c2", "creator", 0, 15, NULL, meta, -1};
    om_vote v[OM_PANTHEON_MAX_AGENTS];
    size_t n;
    om_pantheon_vote(p, &pc, v, &n);
    assert_false(find_vote(v, n, "relevance")->veto);
    assert_true(find_vote(v, n, "relevance")->score > 0.2);
    json_decref(meta);

    /* a clip analysed before low_confidence_words existed: the terms only low-confidence
     * words matched (relevance_ignored_low_confidence) do not count */
    meta = json_pack("{s:s,s:[s]}", "transcript", "we walked along the river espresso today",
                     "relevance_ignored_low_confidence", "espresso");
    pc.metadata = meta;
    om_pantheon_vote(p, &pc, v, &n);
    assert_true(find_vote(v, n, "relevance")->veto);
    json_decref(meta);
    /* without either list every word counts (platform subtitles: confidence 1) */
    meta = json_pack("{s:s}", "transcript", "we walked along the river espresso today");
    pc.metadata = meta;
    om_pantheon_vote(p, &pc, v, &n);
    assert_false(find_vote(v, n, "relevance")->veto);
    json_decref(meta);
    om_pantheon_free(p);
    json_decref(brand);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agents_vote_with_reasons),
        cmocka_unit_test(test_brand_safety_veto),
        cmocka_unit_test(test_novelty_near_duplicates),
        cmocka_unit_test(test_length_fit_and_config_weights),
        cmocka_unit_test(test_chorus_merge),
        cmocka_unit_test(test_lattice_priority_and_rank),
        cmocka_unit_test(test_llm_agent_local_server),
        cmocka_unit_test(test_relevance_ignores_low_confidence_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
