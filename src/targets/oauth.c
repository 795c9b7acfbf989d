/* oauth.c: OAuth 2.0 authorization code + PKCE with a loopback redirect, and refresh
 * (see oauth.h). */
#include "base/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/hex.h"
#include "targets/oauth.h"
#include "targets/thttp.h"

int om_oauth_provider_load(const om_config *cfg, const char *platform, om_oauth_provider *out)
{
    memset(out, 0, sizeof(*out));
    static const char *const known[] = {"youtube", "tiktok", "instagram"};
    const char *name = NULL;
    for (size_t i = 0; platform && i < OM_ARRAY_LEN(known); i++)
        if (!strcmp(platform, known[i]))
            name = known[i];
    if (!name)
        return om_error_set(OM_EINVAL,
                            "no OAuth provider for platform '%s' (known: youtube, tiktok, "
                            "instagram)",
                            platform ? platform : "");
    int tiktok = !strcmp(name, "tiktok"), ig = !strcmp(name, "instagram");
    char key[64];
#define PKEY(k) (snprintf(key, sizeof(key), "%s.%s", name, k), key)
    out->platform = name;
    out->client_param = tiktok ? "client_key" : "client_id";
    out->client_id = om_config_str(cfg, PKEY(tiktok ? "client_key" : "client_id"));
    out->client_secret = om_config_str(cfg, PKEY("client_secret"));
    out->auth_url = om_config_str(cfg, PKEY("auth_url"));
    out->token_url = om_config_str(cfg, PKEY("token_url"));
    out->scopes = om_config_str(cfg, PKEY("scopes"));
    out->timeout_s = om_config_long(cfg, PKEY("timeout_s"));
    out->graph_url = ig ? om_config_str(cfg, PKEY("graph_url")) : NULL;
    if (!out->client_id || !*out->client_id) {
        if (tiktok)
            return om_error_set(OM_EINVAL,
                                "tiktok.client_key is not set: register an app on TikTok for "
                                "Developers (Login Kit + Content Posting API) and put its key "
                                "and secret in omniva.conf [tiktok] client_key / client_secret");
        if (ig)
            return om_error_set(OM_EINVAL,
                                "instagram.client_id is not set: create a Meta app with the "
                                "Instagram API (Instagram Login) and put its id and secret in "
                                "omniva.conf [instagram] client_id / client_secret");
        return om_error_set(OM_EINVAL,
                            "youtube.client_id is not set: create an OAuth client (Desktop app) "
                            "in Google Cloud and put its id and secret in omniva.conf "
                            "[youtube] client_id / client_secret");
    }
#undef PKEY
    return OM_OK;
}

static void base64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
    unsigned char buf[128];
    int len = EVP_EncodeBlock(buf, in, (int)n);
    size_t j = 0;
    for (int i = 0; i < len && j + 1 < cap; i++) {
        char c = (char)buf[i];
        if (c == '=')
            break;
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = '\0';
}

void om_oauth_pkce(char verifier[65], char challenge[44])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    unsigned char r[64];
    om_random_bytes(r, sizeof(r));
    for (int i = 0; i < 64; i++)
        verifier[i] = alphabet[r[i] % 66];
    verifier[64] = '\0';
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, 64, md);
    base64url(md, sizeof(md), challenge, 44);
}

char *om_oauth_consent_url(const om_oauth_provider *p, const char *redirect_uri,
                           const char *challenge, const char *state)
{
    char *cid = thttp_escape(p->client_id), *ru = thttp_escape(redirect_uri),
         *sc = thttp_escape(p->scopes), *st = thttp_escape(state);
    /* access_type=offline + prompt=consent: Google sends a refresh token only then */
    int google = !strcmp(p->platform, "youtube");
    char *url = xasprintf("%s%c%s=%s&redirect_uri=%s&response_type=code&scope=%s"
                          "&code_challenge=%s&code_challenge_method=S256&state=%s%s",
                          p->auth_url, strchr(p->auth_url, '?') ? '&' : '?',
                          p->client_param ? p->client_param : "client_id", cid, ru, sc,
                          challenge, st, google ? "&access_type=offline&prompt=consent" : "");
    free(cid), free(ru), free(sc), free(st);
    return url;
}

void om_oauth_tokens_release(om_oauth_tokens *t)
{
    free(t->access_token);
    free(t->refresh_token);
    free(t->scope);
    memset(t, 0, sizeof(*t));
}

/* POSTs a form to the token endpoint and parses the answer. */
static int token_request_at(const om_oauth_provider *p, const char *url, const char *form,
                            const char *what, om_oauth_tokens *t)
{
    memset(t, 0, sizeof(*t));
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                          "Accept: application/json", NULL};
    thttp_req rq = THTTP_REQ_INIT;
    rq.method = form ? "POST" : "GET"; /* Instagram's long-lived token calls are GETs */
    rq.url = url;
    rq.headers = form ? hdrs : NULL;
    rq.body = form;
    rq.body_len = form ? strlen(form) : 0;
    rq.timeout_s = p->timeout_s > 0 ? p->timeout_s : 60;
    thttp_resp r;
    int rc = thttp_do(&rq, &r);
    if (rc) {
        thttp_resp_release(&r);
        return om_error_wrap(rc, "%s token %s", p->platform, what);
    }
    json_t *doc = json_loadb(r.body, r.len, 0, NULL);
    if (r.status != 200) {
        const char *err = json_string_value(json_object_get(doc, "error"));
        const char *desc = json_string_value(json_object_get(doc, "error_description"));
        t->invalid_grant = err && !strcmp(err, "invalid_grant");
        json_t *ge = json_object_get(doc, "error");
        if (json_is_object(ge)) { /* the Graph API's {"error": {"message", "type", "code"}} */
            err = json_string_value(json_object_get(ge, "type"));
            desc = json_string_value(json_object_get(ge, "message"));
            t->invalid_grant = json_integer_value(json_object_get(ge, "code")) == 190;
        }
        /* 4xx from the token endpoint is an answer about the grant: retrying cannot help */
        int code = r.status >= 500 || r.status == 429 ? OM_EUNAVAIL : OM_EPERMANENT;
        rc = om_error_set(code, "%s token %s: HTTP %ld: %s%s%s%s", p->platform, what, r.status,
                          err ? err : "error", desc ? " (" : "", desc ? desc : "",
                          desc ? ")" : "");
        json_decref(doc);
        thttp_resp_release(&r);
        return rc;
    }
    const char *at = json_string_value(json_object_get(doc, "access_token"));
    if (!at || !*at) {
        json_decref(doc);
        thttp_resp_release(&r);
        return om_error_set(OM_EIO, "%s token %s: the answer has no access_token", p->platform,
                            what);
    }
    t->access_token = xstrdup(at);
    const char *rt = json_string_value(json_object_get(doc, "refresh_token"));
    t->refresh_token = rt && *rt ? xstrdup(rt) : NULL;
    const char *sc = json_string_value(json_object_get(doc, "scope"));
    t->scope = sc ? xstrdup(sc) : NULL;
    json_t *ei = json_object_get(doc, "expires_in");
    t->expires_in = json_is_integer(ei) ? json_integer_value(ei) : 3600;
    json_decref(doc);
    thttp_resp_release(&r);
    return OM_OK;
}

static int token_request(const om_oauth_provider *p, const char *form, const char *what,
                         om_oauth_tokens *t)
{
    return token_request_at(p, p->token_url, form, what, t);
}

/* Instagram: GET {graph_url}/PATH?grant_type=GRANT&...&access_token=TOKEN; the answer's
 * token becomes both the access and the "refresh" token (see oauth.h). */
static int ig_long_lived(const om_oauth_provider *p, const char *path, const char *grant,
                         const char *token, const char *what, om_oauth_tokens *t)
{
    char *tk = thttp_escape(token), *cs = thttp_escape(p->client_secret);
    char *url = !strcmp(grant, "ig_exchange_token")
                    ? xasprintf("%s/%s?grant_type=%s&client_secret=%s&access_token=%s",
                                p->graph_url, path, grant, cs, tk)
                    : xasprintf("%s/%s?grant_type=%s&access_token=%s", p->graph_url, path,
                                grant, tk);
    free(tk), free(cs);
    int rc = token_request_at(p, url, NULL, what, t);
    free(url);
    if (!rc) {
        free(t->refresh_token);
        t->refresh_token = xstrdup(t->access_token);
    }
    return rc;
}

int om_oauth_exchange(const om_oauth_provider *p, const char *code, const char *verifier,
                      const char *redirect_uri, om_oauth_tokens *tokens)
{
    char *c = thttp_escape(code), *v = thttp_escape(verifier), *ru = thttp_escape(redirect_uri),
         *ci = thttp_escape(p->client_id), *cs = thttp_escape(p->client_secret);
    char *form = xasprintf("grant_type=authorization_code&code=%s&code_verifier=%s"
                           "&redirect_uri=%s&%s=%s&client_secret=%s",
                           c, v, ru, p->client_param ? p->client_param : "client_id", ci, cs);
    free(c), free(v), free(ru), free(ci), free(cs);
    int rc = token_request(p, form, "exchange", tokens);
    free(form);
    if (!rc && p->graph_url) { /* Instagram: the short-lived token for a 60-day one */
        om_oauth_tokens lt;
        rc = ig_long_lived(p, "access_token", "ig_exchange_token", tokens->access_token,
                           "exchange (long-lived)", &lt);
        om_oauth_tokens_release(tokens);
        if (!rc)
            *tokens = lt;
    }
    if (!rc && !tokens->refresh_token) {
        om_oauth_tokens_release(tokens);
        return om_error_set(OM_EPERMANENT,
                            "%s token exchange: no refresh_token in the answer (the consent "
                            "must ask for offline access)",
                            p->platform);
    }
    return rc;
}

int om_oauth_refresh(const om_oauth_provider *p, const char *refresh_token,
                     om_oauth_tokens *tokens)
{
    if (p->graph_url)
        return ig_long_lived(p, "refresh_access_token", "ig_refresh_token", refresh_token,
                             "refresh", tokens);
    char *r = thttp_escape(refresh_token), *ci = thttp_escape(p->client_id),
         *cs = thttp_escape(p->client_secret);
    char *form = xasprintf("grant_type=refresh_token&refresh_token=%s&%s=%s"
                           "&client_secret=%s",
                           r, p->client_param ? p->client_param : "client_id", ci, cs);
    free(r), free(ci), free(cs);
    int rc = token_request(p, form, "refresh", tokens);
    free(form);
    return rc;
}

/* ---- the loopback redirect ---- */

/* The value of query parameter `key` in a request target ("/?a=b&c=d"), decoded. */
static char *query_param(const char *target, const char *key)
{
    const char *q = strchr(target, '?');
    if (!q)
        return NULL;
    size_t kl = strlen(key);
    for (const char *p = q + 1; *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            om_sbuf sb = OM_SBUF_INIT;
            for (size_t i = kl + 1; i < len; i++) {
                char c = p[i];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%' && i + 2 < len + 1 && om_hexval(p[i + 1]) >= 0 &&
                           om_hexval(p[i + 2]) >= 0) {
                    c = (char)(om_hexval(p[i + 1]) * 16 + om_hexval(p[i + 2]));
                    i += 2;
                }
                sb_append(&sb, &c, 1);
            }
            return sb_detach(&sb);
        }
        p += len + (amp ? 1 : 0);
        if (!amp)
            break;
    }
    return NULL;
}

static void reply(int fd, const char *status, const char *text)
{
    char *msg = xasprintf("HTTP/1.1 %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                          "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                          status, strlen(text), text);
    size_t off = 0, len = strlen(msg);
    while (off < len) {
        ssize_t n = write(fd, msg + off, len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    free(msg);
}

/* Reads one request head from fd (up to 16 KiB or the deadline). Caller frees. */
static char *read_head(int fd, int64_t deadline)
{
    om_sbuf sb = OM_SBUF_INIT;
    char buf[2048];
    while (sb.len < 16384 && !strstr(sb_str(&sb), "\r\n\r\n")) {
        int64_t left = deadline - om_mono_ms();
        struct pollfd pf = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, (int)(left > 5000 ? 5000 : left)) <= 0)
            break;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        sb_append(&sb, buf, (size_t)n);
    }
    return sb_detach(&sb);
}

int om_oauth_login(const om_oauth_provider *p, FILE *out, long login_timeout_s,
                   om_oauth_tokens *tokens)
{
    memset(tokens, 0, sizeof(*tokens));
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return om_error_set(OM_EIO, "loopback listener: socket: %s", strerror(errno));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0; /* the OS picks a free port */
    socklen_t sl = sizeof(sa);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        int e = errno;
        close(lfd);
        return om_error_set(OM_EIO, "loopback listener on 127.0.0.1: %s", strerror(e));
    }
    int port = ntohs(sa.sin_port);
    char verifier[65], challenge[44], state[33];
    om_oauth_pkce(verifier, challenge);
    unsigned char sr[16];
    om_random_bytes(sr, sizeof(sr));
    om_hex_encode(sr, sizeof(sr), state);
    char *redirect = xasprintf("http://127.0.0.1:%d/", port);
    char *url = om_oauth_consent_url(p, redirect, challenge, state);
    fprintf(out, "Open this URL in a browser and allow access:\n\n  %s\n\n"
                 "Waiting for the redirect to %s ...\n",
            url, redirect);
    fflush(out);
    free(url);

    int rc = OM_OK;
    char *code = NULL;
    int64_t deadline = om_mono_ms() + login_timeout_s * 1000;
    for (;;) {
        int64_t left = deadline - om_mono_ms();
        struct pollfd pf = {lfd, POLLIN, 0};
        if (left <= 0) {
            rc = om_error_set(OM_ETIMEOUT, "no redirect from the consent page within %ld s",
                              login_timeout_s);
            break;
        }
        int pr = poll(&pf, 1, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0)
            continue;
        char *head = read_head(cfd, om_mono_ms() + 10000);
        char *sp1 = strchr(head, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        char *target = sp1 && sp2 ? xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1)) : xstrdup("");
        free(head);
        char *c = query_param(target, "code"), *e = query_param(target, "error"),
             *st = query_param(target, "state");
        free(target);
        if (!c && !e) { /* favicon, a probe: not the redirect */
            reply(cfd, "404 Not Found", "not the OAuth redirect");
            close(cfd);
            free(st);
            continue;
        }
        if (!st || strcmp(st, state)) {
            reply(cfd, "400 Bad Request", "<p>State mismatch: this is not our sign-in.</p>");
            rc = om_error_set(OM_EPERMANENT,
                              "the redirect's state does not match ours (a stale or foreign "
                              "consent page): run 'account add' again");
        } else if (e) {
            reply(cfd, "200 OK", "<p>Access was not granted. You can close this window.</p>");
            rc = om_error_set(OM_EPERMANENT, "consent refused: %s", e);
        } else {
            reply(cfd, "200 OK",
                  "<p>Omniva is linked. You can close this window and return to the terminal."
                  "</p>");
            code = xstrdup(c);
        }
        close(cfd);
        free(c), free(e), free(st);
        break;
    }
    close(lfd);
    if (!rc)
        rc = om_oauth_exchange(p, code, verifier, redirect, tokens);
    free(code);
    free(redirect);
    return rc;
}
