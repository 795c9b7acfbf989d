/* llm.c: the Pantheon's optional LLM agent transport: one OpenAI-compatible
 * chat-completions request over libcurl (see om_llm_rate in pantheon.h). */
#include "base/common.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>

#include "base/utf8.h"
#include "cognition/pantheon.h"
#include "cognition/text.h"

#define LLM_MAX_RESPONSE (1u << 20)
#define LLM_MAX_TRANSCRIPT 4000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    om_sbuf *sb = ud;
    size_t n = size * nmemb;
    if (sb_append(sb, data, n) != OM_OK)
        return 0; /* over the cap: abort the transfer */
    return n;
}

static const char *system_prompt =
    "You judge short-form video clips for a brand. Given the brand brief and a clip "
    "transcript, rate how likely the clip is to perform well for this brand (hook, clarity, "
    "relevance, shareability). Answer with JSON only: {\"score\": number between 0 and 1, "
    "\"reason\": one short sentence}.";

/* Finds the outermost {...} in text and parses it. */
static json_t *json_in_text(const char *text)
{
    const char *a = strchr(text, '{'), *b = strrchr(text, '}');
    if (!a || !b || b < a)
        return NULL;
    return json_loadb(a, (size_t)(b - a + 1), 0, NULL);
}

int om_llm_rate(const char *url, const char *model, const char *api_key, long timeout_ms,
                const char *brief, const char *transcript, double *score_out,
                char reason_out[OM_REASON_MAX])
{
    *score_out = 0;
    reason_out[0] = '\0';
    if (!url || !*url)
        return om_error_set(OM_EINVAL, "LLM: no endpoint URL");
    pthread_once(&curl_once, curl_init_once);

    size_t ul = strlen(url);
    const char *suffix = "/chat/completions";
    char *endpoint;
    if (ul >= strlen(suffix) && !strcmp(url + ul - strlen(suffix), suffix))
        endpoint = xstrdup(url);
    else
        endpoint = xasprintf("%.*s%s", (int)(ul && url[ul - 1] == '/' ? ul - 1 : ul), url, suffix);

    char *tr = om_utf8_truncate(transcript ? transcript : "", LLM_MAX_TRANSCRIPT, "...");
    char *user = xasprintf("Brand brief: %s\n\nClip transcript: %s",
                           brief && *brief ? brief : "(none given)", tr);
    free(tr);
    json_t *req = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:o}],s:f}", "model",
                            model && *model ? model : "default", "messages", "role", "system",
                            "content", system_prompt, "role", "user", "content",
                            om_json_text(user), "temperature", 0.0);
    free(user);
    char *body = json_dumps(req, JSON_COMPACT | OM_JSON_REAL);
    json_decref(req);

    CURL *h = curl_easy_init();
    if (!h) {
        free(body);
        free(endpoint);
        return om_error_set(OM_EUNAVAIL, "LLM: curl_easy_init failed");
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char *auth = NULL;
    if (api_key && *api_key) {
        auth = xasprintf("Authorization: Bearer %s", api_key);
        hdr = curl_slist_append(hdr, auth);
    }
    om_sbuf resp = OM_SBUF_INIT;
    resp.cap = LLM_MAX_RESPONSE;
    curl_easy_setopt(h, CURLOPT_URL, endpoint);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 20000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "omniva-pantheon/1");
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    free(auth);
    free(body);

    int rc = OM_OK;
    json_t *doc = NULL, *inner = NULL;
    if (cc != CURLE_OK) {
        rc = om_error_set(cc == CURLE_OPERATION_TIMEDOUT ? OM_ETIMEOUT : OM_EUNAVAIL,
                          "LLM: %s: %s", endpoint, curl_easy_strerror(cc));
        goto out;
    }
    if (status != 200) {
        char *snip = om_utf8_truncate(sb_str(&resp), 200, "...");
        rc = om_error_set(status >= 500 || status == 429 ? OM_EUNAVAIL : OM_EINVAL,
                          "LLM: %s answered HTTP %ld: %s", endpoint, status, snip);
        free(snip);
        goto out;
    }
    doc = json_loads(sb_str(&resp), 0, NULL);
    const char *content = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(doc, "choices"), 0), "message"),
        "content"));
    if (!content) {
        rc = om_error_set(OM_EINVAL, "LLM: %s: no choices[0].message.content in the answer",
                          endpoint);
        goto out;
    }
    inner = json_in_text(content);
    const json_t *sc = json_object_get(inner, "score");
    double score = json_is_number(sc) ? json_number_value(sc)
                   : json_is_string(sc) ? strtod(json_string_value(sc), NULL)
                                        : NAN;
    if (!isfinite(score) || score < 0 || score > 100) {
        char *snip = om_utf8_truncate(content, 120, "...");
        rc = om_error_set(OM_EINVAL, "LLM: no usable score in \"%s\"", snip);
        free(snip);
        goto out;
    }
    /* models sometimes answer on a 0-10 or 0-100 scale */
    if (score > 10)
        score /= 100.0;
    else if (score > 1)
        score /= 10.0;
    *score_out = score;
    const char *reason = json_string_value(json_object_get(inner, "reason"));
    char *clean = om_utf8_clean(reason ? reason : "no reason given");
    snprintf(reason_out, OM_REASON_MAX, "%s", clean);
    free(clean);
out:
    json_decref(inner);
    json_decref(doc);
    sb_release(&resp);
    free(endpoint);
    return rc;
}
