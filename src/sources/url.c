/* url.c: creator URL classification (platform + normalised username) and a small URL
 * splitter shared by the drivers. Pure string work: no network, no file system. */
#include "base/common.h"

#include <strings.h>
#include "base/hex.h"
#include "sources/sources_int.h"

#include <ctype.h>

static const char SUPPORTED[] =
    "supported are TikTok profiles (https://www.tiktok.com/@user), Instagram profiles "
    "(https://www.instagram.com/user/ or https://www.instagram.com/user/reels/), YouTube "
    "channels (https://www.youtube.com/@handle, /@handle/shorts, /channel/UC..., /c/name, "
    "/user/name) and channel feeds (https://www.youtube.com/feeds/videos.xml?channel_id=UC...), "
    "RSS/Atom feeds and direct media files over http(s), and local folders "
    "(file:///absolute/folder)";

static const char *const MEDIA_EXTS[] = {"mp4", "m4v", "mov",  "webm", "mkv",  "avi", "ts",
                                         "ogv", "flv", "mpg",  "mpeg", "3gp",  "m4a", "mp3",
                                         "ogg", "oga", "opus", "wav",  "flac", "aac", NULL};

const char *om_source_ext(const char *name, char buf[16])
{
    buf[0] = '\0';
    if (!name)
        return buf;
    size_t n = strcspn(name, "?#");
    size_t i = n;
    while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
        i--;
    if (i == 0 || name[i - 1] != '.' || n - i == 0 || n - i >= 16)
        return buf;
    for (size_t k = 0; k < n - i; k++)
        buf[k] = (char)tolower((unsigned char)name[i + k]);
    buf[n - i] = '\0';
    return buf;
}

int om_source_is_media_name(const char *name)
{
    char ext[16];
    om_source_ext(name, ext);
    for (size_t i = 0; MEDIA_EXTS[i]; i++)
        if (strcmp(ext, MEDIA_EXTS[i]) == 0)
            return 1;
    return 0;
}

/* ---- URL splitting ---- */

static char *lower_dup(const char *s, size_t n)
{
    char *d = xstrndup(s, n);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

void om_url_release(om_url *u)
{
    free(u->scheme);
    free(u->userinfo);
    free(u->host);
    free(u->path);
    free(u->query);
    free(u->fragment);
    memset(u, 0, sizeof(*u));
}

int om_url_parse(const char *s, om_url *u)
{
    memset(u, 0, sizeof(*u));
    u->port = -1;
    const char *p = s;
    if (!isalpha((unsigned char)*p))
        return om_error_set(OM_EINVAL, "'%s' is not an absolute URL", s);
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':')
        return om_error_set(OM_EINVAL, "'%s' is not an absolute URL", s);
    u->scheme = lower_dup(s, (size_t)(p - s));
    p++;
    if (p[0] == '/' && p[1] == '/') {
        u->has_authority = 1;
        p += 2;
        size_t alen = strcspn(p, "/?#");
        const char *a = p, *aend = p + alen;
        const char *at = NULL;
        for (const char *q = a; q < aend; q++)
            if (*q == '@')
                at = q;
        if (at) {
            u->userinfo = xstrndup(a, (size_t)(at - a));
            a = at + 1;
        }
        const char *hend = aend;
        if (*a == '[') {
            const char *rb = memchr(a, ']', (size_t)(aend - a));
            if (!rb) {
                om_url_release(u);
                return om_error_set(OM_EINVAL, "'%s': unterminated IPv6 address", s);
            }
            u->host = lower_dup(a + 1, (size_t)(rb - a - 1));
            hend = rb + 1;
        } else {
            const char *colon = memchr(a, ':', (size_t)(aend - a));
            if (colon)
                hend = colon;
            u->host = lower_dup(a, (size_t)(hend - a));
        }
        size_t hl = strlen(u->host);
        if (hl > 0 && u->host[hl - 1] == '.')
            u->host[hl - 1] = '\0';
        /* a name with an empty label ("a..b", ".a", "a..") names no host */
        if (!strchr(u->host, ':') && (u->host[0] == '.' || strstr(u->host, "..") ||
                                      (hl > 1 && u->host[hl - 2] == '.' && !u->host[hl - 1]))) {
            om_url_release(u);
            return om_error_set(OM_EINVAL, "'%s': empty label in the host name", s);
        }
        if (hend < aend && *hend == ':') {
            const char *pp = hend + 1;
            long port = 0;
            if (pp == aend)
                port = -1;
            for (; pp < aend; pp++) {
                if (!isdigit((unsigned char)*pp) || port > 65535) {
                    om_url_release(u);
                    return om_error_set(OM_EINVAL, "'%s': bad port", s);
                }
                port = port * 10 + (*pp - '0');
            }
            if (port > 65535) {
                om_url_release(u);
                return om_error_set(OM_EINVAL, "'%s': bad port", s);
            }
            u->port = (int)port;
        }
        p = aend;
    }
    size_t plen = strcspn(p, "?#");
    u->path = xstrndup(p, plen);
    p += plen;
    if (*p == '?') {
        p++;
        size_t qlen = strcspn(p, "#");
        u->query = xstrndup(p, qlen);
        p += qlen;
    }
    if (*p == '#')
        u->fragment = xstrdup(p + 1);
    return OM_OK;
}

char *om_url_decode(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && om_hexval((unsigned char)s[i + 1]) >= 0 &&
            om_hexval((unsigned char)s[i + 2]) >= 0) {
            d[j++] = (char)(om_hexval((unsigned char)s[i + 1]) * 16 +
                            om_hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            d[j++] = s[i];
        }
    }
    d[j] = '\0';
    return d;
}

char *om_url_normalise(const om_url *u, int strip_trailing_slash)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_printf(&sb, "%s://", u->scheme);
    if (strchr(u->host, ':'))
        sb_printf(&sb, "[%s]", u->host);
    else
        sb_puts(&sb, u->host);
    int def = (strcmp(u->scheme, "http") == 0 && u->port == 80) ||
              (strcmp(u->scheme, "https") == 0 && u->port == 443);
    if (u->port >= 0 && !def)
        sb_printf(&sb, ":%d", u->port);
    size_t plen = strlen(u->path);
    if (strip_trailing_slash)
        while (plen > 0 && u->path[plen - 1] == '/')
            plen--;
    if (plen == 0 && !strip_trailing_slash)
        sb_puts(&sb, "/");
    else
        sb_append(&sb, u->path, plen);
    if (u->query && *u->query)
        sb_printf(&sb, "?%s", u->query);
    return sb_detach(&sb);
}

char *om_url_host(const char *url)
{
    om_url u;
    if (om_url_parse(url, &u) != OM_OK) {
        om_error_clear();
        return NULL;
    }
    char *h = (u.host && *u.host) ? xstrdup(u.host) : NULL;
    om_url_release(&u);
    return h;
}

/* ---- classification ---- */

/* Path segments (non-empty, percent-decoded), at most `max`. Returns the count (may exceed max,
 * in which case only `max` are stored). */
static size_t split_path(const char *path, char **segs, size_t max)
{
    size_t n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        if (n < max)
            segs[n] = om_url_decode(p, len);
        n++;
        p += len;
    }
    return n;
}

static void free_segs(char **segs, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++)
        free(segs[i]);
}

static int name_ok(const char *s, const char *extra, size_t minlen, size_t maxlen)
{
    size_t n = strlen(s);
    if (n < minlen || n > maxlen)
        return 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c >= 0x80 || (c && strchr(extra, c))))
            return 0;
    }
    return 1;
}

static void lower_inplace(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static const char *strip_prefix(const char *host, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(host, prefix, n) == 0 ? host + n : host;
}

static int reject(const char *url, const char *why)
{
    return om_error_set(OM_EINVAL, "unsupported creator URL '%s': %s; %s", url, why, SUPPORTED);
}

static int set_out(om_source_class *out, const char *platform, char *username, char *profile)
{
    out->platform = platform;
    out->username = username;
    out->profile_url = profile;
    return OM_OK;
}

static int classify_tiktok(const char *url, const om_url *u, om_source_class *out)
{
    char *segs[4];
    size_t n = split_path(u->path, segs, 4);
    int rc;
    if (n >= 1 && n <= 4 && segs[0][0] == '@' && name_ok(segs[0] + 1, "._-", 1, 64) &&
        (n == 1 || (n == 3 && strcmp(segs[1], "video") == 0))) {
        char *user = xstrdup(segs[0] + 1);
        lower_inplace(user);
        rc = set_out(out, "tiktok", user, xasprintf("https://www.tiktok.com/@%s", user));
    } else {
        rc = reject(url, "not a TikTok profile (expected https://www.tiktok.com/@user)");
    }
    free_segs(segs, n, 4);
    return rc;
}

static int classify_instagram(const char *url, const om_url *u, om_source_class *out)
{
    static const char *const reserved[] = {
        "p",         "reel",  "reels",     "tv",    "explore", "stories", "accounts",
        "direct",    "about", "developer", "legal", "web",     "static",  "emails",
        "challenge", "api",   "graphql",   "oauth", "privacy", "terms",   NULL};
    char *segs[3];
    size_t n = split_path(u->path, segs, 3);
    int rc = OM_OK, bad = 0;
    /* Instagram's paths ignore case (the profile URL is lower-cased below), so /Web/ is
     * the reserved /web/ and no profile */
    for (size_t i = 0; n >= 1 && reserved[i]; i++)
        if (strcasecmp(segs[0], reserved[i]) == 0)
            bad = 2;
    if (!bad && (n < 1 || n > 2 || !name_ok(segs[0], "._", 1, 30) ||
                 (n == 2 && strcasecmp(segs[1], "reels") != 0)))
        bad = 1;
    if (bad) {
        rc = reject(url, bad == 2 ? "an Instagram post or page, not a profile"
                                  : "not an Instagram profile (expected "
                                    "https://www.instagram.com/user/)");
    } else {
        char *user = xstrdup(segs[0]);
        lower_inplace(user);
        rc = set_out(out, "instagram", user, xasprintf("https://www.instagram.com/%s/", user));
    }
    free_segs(segs, n, 3);
    return rc;
}

static int channel_id_ok(const char *s)
{
    if (strlen(s) != 24 || strncmp(s, "UC", 2) != 0)
        return 0;
    return name_ok(s, "_-", 24, 24);
}

/* Returns the query parameter's decoded value or NULL. */
static char *query_param(const char *query, const char *name)
{
    if (!query)
        return NULL;
    size_t nl = strlen(name);
    const char *p = query;
    while (*p) {
        size_t len = strcspn(p, "&");
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return om_url_decode(p + nl + 1, len - nl - 1);
        p += len;
        if (*p == '&')
            p++;
    }
    return NULL;
}

static int classify_youtube(const char *url, const om_url *u, om_source_class *out)
{
    char *segs[4];
    size_t n = split_path(u->path, segs, 4);
    int rc = 1; /* 1: not decided */
    const char *tab = NULL;
    if (n >= 1 && strcmp(segs[0], "feeds") == 0 && n == 2 && strcmp(segs[1], "videos.xml") == 0) {
        char *cid = query_param(u->query, "channel_id");
        if (cid && channel_id_ok(cid)) {
            rc = set_out(out, "youtube", cid,
                         xasprintf("https://www.youtube.com/feeds/videos.xml?channel_id=%s", cid));
            cid = NULL;
        } else {
            rc = reject(url, "a YouTube feed needs channel_id=UC... (22 characters after UC)");
        }
        free(cid);
    } else if (n >= 1 && (strcmp(segs[0], "watch") == 0 || strcmp(segs[0], "shorts") == 0 ||
                          strcmp(segs[0], "embed") == 0 || strcmp(segs[0], "live") == 0 ||
                          strcmp(segs[0], "v") == 0)) {
        rc = reject(url, "a single YouTube video, not a channel");
    } else if (n >= 1 && strcmp(segs[0], "playlist") == 0) {
        rc = reject(url, "a YouTube playlist, not a channel");
    } else {
        size_t base = 0;
        char *user = NULL, *kind = NULL;
        if (n >= 1 && segs[0][0] == '@' && name_ok(segs[0] + 1, "._-", 1, 100)) {
            user = xstrdup(segs[0]);
            lower_inplace(user);
            kind = xstrdup(user);
            base = 1;
        } else if (n >= 2 && strcmp(segs[0], "channel") == 0 && channel_id_ok(segs[1])) {
            user = xstrdup(segs[1]);
            kind = xasprintf("channel/%s", user);
            base = 2;
        } else if (n >= 2 && (strcmp(segs[0], "c") == 0 || strcmp(segs[0], "user") == 0) &&
                   name_ok(segs[1], "._-", 1, 100)) {
            char *low = xstrdup(segs[1]);
            lower_inplace(low);
            user = xasprintf("%s/%s", segs[0], low);
            kind = xstrdup(user);
            free(low);
            base = 2;
        }
        if (user) {
            if (n == base) {
                tab = NULL;
            } else if (n == base + 1 &&
                       (strcmp(segs[base], "shorts") == 0 || strcmp(segs[base], "videos") == 0 ||
                        strcmp(segs[base], "streams") == 0)) {
                tab = segs[base];
            } else if (n == base + 1 && strcmp(segs[base], "featured") == 0) {
                tab = NULL;
            } else {
                free(user);
                free(kind);
                user = NULL;
            }
        }
        if (user) {
            rc = set_out(out, "youtube", user,
                         tab ? xasprintf("https://www.youtube.com/%s/%s", kind, tab)
                             : xasprintf("https://www.youtube.com/%s", kind));
            free(kind);
        } else {
            rc = reject(url, "not a YouTube channel URL");
        }
    }
    free_segs(segs, n, 4);
    return rc;
}

/* Absolute, normalised folder path from a file URI path or a plain absolute path. */
static int classify_local(const char *url, const char *raw_path, om_source_class *out)
{
    char *dec = om_url_decode(raw_path, strlen(raw_path));
    if (dec[0] != '/') {
        free(dec);
        return reject(url, "a local folder must be an absolute path");
    }
    om_sbuf sb = OM_SBUF_INIT;
    const char *p = dec;
    int rc = OM_OK;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        if (len == 1 && p[0] == '.') {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            rc = reject(url, "'..' is not allowed in a local folder path");
            break;
        } else {
            sb_puts(&sb, "/");
            sb_append(&sb, p, len);
        }
        p += len;
    }
    free(dec);
    if (rc == OM_OK && sb.len == 0)
        rc = reject(url, "refusing the root folder");
    if (rc != OM_OK) {
        sb_release(&sb);
        return rc;
    }
    char *path = sb_detach(&sb);
    om_sbuf uri = OM_SBUF_INIT;
    sb_puts(&uri, "file://");
    for (const char *q = path; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (c <= 0x20 || c == '%' || c == '#' || c == '?' || c == 0x7f)
            sb_printf(&uri, "%%%02X", c);
        else
            sb_append(&uri, q, 1);
    }
    return set_out(out, "local", path, sb_detach(&uri));
}

static int classify_http(const char *url, const om_url *u, om_source_class *out)
{
    if (!u->has_authority || !u->host || !*u->host)
        return reject(url, "no host name");
    if (u->userinfo)
        return reject(url, "user names or passwords inside URLs are not supported");
    const char *h = strip_prefix(strip_prefix(u->host, "www."), "m.");
    if (strcmp(h, "tiktok.com") == 0)
        return classify_tiktok(url, u, out);
    if (strcmp(u->host, "vm.tiktok.com") == 0 || strcmp(u->host, "vt.tiktok.com") == 0)
        return reject(url, "a TikTok short link; open it and use the profile URL");
    if (strcmp(h, "instagram.com") == 0)
        return classify_instagram(url, u, out);
    if (strcmp(h, "youtube.com") == 0)
        return classify_youtube(url, u, out);
    if (strcmp(h, "youtu.be") == 0)
        return reject(url, "a single YouTube video, not a channel");
    char *username = om_url_normalise(u, 1);
    char *profile = om_url_normalise(u, 0);
    return set_out(out, om_source_is_media_name(u->path) ? "direct" : "feed", username, profile);
}

int om_source_classify(const char *url_in, om_source_class *out)
{
    memset(out, 0, sizeof(*out));
    if (!url_in)
        return om_error_set(OM_EINVAL, "no creator URL given; %s", SUPPORTED);
    /* trim surrounding white space */
    while (isspace((unsigned char)*url_in))
        url_in++;
    char *url = xstrdup(url_in);
    size_t n = strlen(url);
    while (n > 0 && isspace((unsigned char)url[n - 1]))
        url[--n] = '\0';
    int rc;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] < 0x20 || url[i] == ' ') {
            rc = reject(url, "contains spaces or control characters");
            free(url);
            return rc;
        }
    if (n == 0) {
        free(url);
        return om_error_set(OM_EINVAL, "empty creator URL; %s", SUPPORTED);
    }
    if (url[0] == '/') {
        rc = classify_local(url, url, out);
        free(url);
        return rc;
    }
    /* scheme-less links to the big platforms ("www.youtube.com/@x") get https:// */
    static const char *const bare[] = {
        "tiktok.com/",  "www.tiktok.com/",  "instagram.com/", "www.instagram.com/",
        "youtube.com/", "www.youtube.com/", "m.youtube.com/", NULL};
    for (size_t i = 0; bare[i]; i++) {
        if (strncasecmp(url, bare[i], strlen(bare[i])) == 0) {
            char *full = xasprintf("https://%s", url);
            free(url);
            url = full;
            break;
        }
    }
    om_url u;
    if (om_url_parse(url, &u) != OM_OK) {
        /* keep om_url_parse's reason when it has one ("'URL': bad port") */
        const char *m = om_error_msg();
        size_t ul = strlen(url);
        char *why = m[0] == '\'' && !strncmp(m + 1, url, ul) && !strncmp(m + 1 + ul, "': ", 3)
                        ? xstrdup(m + ul + 4)
                        : xstrdup("not an absolute URL or folder path");
        om_error_clear();
        rc = reject(url, why);
        free(why);
        free(url);
        return rc;
    }
    if (strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0) {
        rc = classify_http(url, &u, out);
    } else if (strcmp(u.scheme, "file") == 0) {
        if (!u.has_authority || (u.host && *u.host && strcmp(u.host, "localhost") != 0))
            rc = reject(url, "a file URL must be file:///absolute/folder");
        else if (u.query || u.fragment)
            rc = reject(url, "a file URL cannot have a query or fragment");
        else
            rc = classify_local(url, u.path, out);
    } else {
        char why[96];
        snprintf(why, sizeof(why), "the '%s' scheme is not supported", u.scheme);
        rc = reject(url, why);
    }
    om_url_release(&u);
    free(url);
    return rc;
}

void om_source_class_release(om_source_class *c)
{
    free(c->username);
    free(c->profile_url);
    memset(c, 0, sizeof(*c));
}
