/* feed.c: RSS 2.0, RSS 1.0 (RDF) and Atom feeds with libxml2, including Media RSS
 * (media:content, media:group, media:community statistics) and YouTube's channel feeds
 * (yt:videoId). The "feed" driver fetches the feed, turns items into entries (enclosures are
 * downloaded over HTTP, items that only link to a video page go to yt-dlp), and hands HTML
 * pages to yt-dlp's generic extractor. Parsing never touches the network. */
#include "base/common.h"
#include "sources/sources_int.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <pthread.h>
#include <time.h>

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_MEDIA "http://search.yahoo.com/mrss/"
#define NS_YT "http://www.youtube.com/xml/schemas/2015"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_RSS1 "http://purl.org/rss/1.0/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_ITUNES "http://www.itunes.com/dtds/podcast-1.0.dtd"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"

#define FEED_HARD_CAP (64u << 20)

/* ---- dates ---- */

static int zone_offset(const char *z, int *off_s)
{
    static const struct {
        const char *name;
        int hours;
    } zones[] = {{"GMT", 0},  {"UT", 0},   {"UTC", 0},  {"Z", 0},    {"EST", -5}, {"EDT", -4},
                 {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
    if ((z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1])) {
        int sign = z[0] == '-' ? -1 : 1;
        int digits = 0, v = 0;
        const char *p = z + 1;
        int hh = 0, mm = 0;
        while (isdigit((unsigned char)*p) && digits < 4) {
            v = v * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (*p == ':' && digits == 2) { /* +hh:mm */
            p++;
            hh = v;
            if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
                return -1;
            mm = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        } else if (digits == 4) {
            hh = v / 100;
            mm = v % 100;
        } else if (digits == 2) {
            hh = v;
        } else {
            return -1;
        }
        if (*p || hh > 23 || mm > 59)
            return -1;
        *off_s = sign * (hh * 3600 + mm * 60);
        return 0;
    }
    for (size_t i = 0; i < OM_ARRAY_LEN(zones); i++)
        if (strcasecmp(z, zones[i].name) == 0) {
            *off_s = zones[i].hours * 3600;
            return 0;
        }
    if (strlen(z) == 1 && isalpha((unsigned char)z[0])) { /* military zones: treat as UTC */
        *off_s = 0;
        return 0;
    }
    return -1;
}

static int rfc822_parse(const char *s, int64_t *us_out)
{
    static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    char buf[96];
    snprintf(buf, sizeof(buf), "%s", s);
    char *tok[8];
    int nt = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t\r\n,", &save); t && nt < 8;
         t = strtok_r(NULL, " \t\r\n,", &save))
        tok[nt++] = t;
    int i = 0;
    if (nt > 0 && isalpha((unsigned char)tok[0][0]))
        i = 1; /* weekday */
    if (nt - i < 4)
        return -1;
    char *end;
    long day = strtol(tok[i], &end, 10);
    if (*end || day < 1 || day > 31)
        return -1;
    int mon = -1;
    for (int m = 0; m < 12; m++)
        if (strncasecmp(tok[i + 1], months[m], 3) == 0)
            mon = m;
    if (mon < 0)
        return -1;
    long year = strtol(tok[i + 2], &end, 10);
    if (*end || year < 0)
        return -1;
    if (strlen(tok[i + 2]) <= 2)
        year += year < 50 ? 2000 : 1900;
    int hh = 0, mi = 0, ss = 0;
    int n = sscanf(tok[i + 3], "%d:%d:%d", &hh, &mi, &ss);
    if (n < 2 || hh > 23 || mi > 59 || ss > 60)
        return -1;
    int off = 0;
    if (nt - i >= 5 && zone_offset(tok[i + 4], &off) != 0)
        return -1;
    struct tm tm = {0};
    tm.tm_year = (int)year - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = (int)day;
    tm.tm_hour = hh;
    tm.tm_min = mi;
    tm.tm_sec = ss;
    time_t t = timegm(&tm);
    *us_out = ((int64_t)t - off) * 1000000;
    return 0;
}

int om_feed_parse_date(const char *s, int64_t *us_out)
{
    if (!s)
        return om_error_set(OM_EINVAL, "no date");
    while (isspace((unsigned char)*s))
        s++;
    if (rfc822_parse(s, us_out) == 0)
        return OM_OK;
    char trimmed[96];
    snprintf(trimmed, sizeof(trimmed), "%s", s);
    size_t n = strlen(trimmed);
    while (n > 0 && isspace((unsigned char)trimmed[n - 1]))
        trimmed[--n] = '\0';
    if (om_time_parse(trimmed, us_out) == OM_OK)
        return OM_OK;
    return om_error_set(OM_EINVAL, "unrecognised feed date '%s'", s);
}

/* ---- libxml2 helpers ---- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init_once(void)
{
    xmlInitParser();
}

static int is_el(const xmlNode *n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return 0;
    if (!ns)
        return n->ns == NULL || n->ns->href == NULL;
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static xmlNode *child(const xmlNode *n, const char *ns, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is_el(c, ns, name))
            return c;
    return NULL;
}

/* Trimmed text content (caller frees) or NULL when empty. */
static char *text_of(const xmlNode *n)
{
    if (!n)
        return NULL;
    xmlChar *c = xmlNodeGetContent(n);
    if (!c)
        return NULL;
    const char *s = (const char *)c;
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    char *r = len ? xstrndup(s, len) : NULL;
    xmlFree(c);
    return r;
}

static char *attr_of(const xmlNode *n, const char *name)
{
    if (!n)
        return NULL;
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *r = *v ? xstrdup((const char *)v) : NULL;
    xmlFree(v);
    return r;
}

/* Resolves href against xml:base / the document URL. Caller frees. */
static char *resolve(const xmlNode *n, const char *href)
{
    if (!href)
        return NULL;
    xmlChar *base = xmlNodeGetBase(n->doc, n);
    xmlChar *abs = xmlBuildURI((const xmlChar *)href, base);
    char *r = xstrdup(abs ? (const char *)abs : href);
    xmlFree(abs);
    xmlFree(base);
    return r;
}

/* ---- items ---- */

typedef struct media_cand {
    char *url, *type, *medium;
    int64_t length;
    double duration;
    int width, height;
} media_cand;

typedef struct item {
    char *id, *yt_video_id, *yt_channel_id, *title, *link, *published, *updated, *description,
        *author;
    media_cand cand[16];
    int ncand;
    int64_t views, rating_count;
    double rating_avg, duration;
    int has_views, has_rating;
} item;

static void item_free(item *it)
{
    free(it->id);
    free(it->yt_video_id);
    free(it->yt_channel_id);
    free(it->title);
    free(it->link);
    free(it->published);
    free(it->updated);
    free(it->description);
    free(it->author);
    for (int i = 0; i < it->ncand; i++) {
        free(it->cand[i].url);
        free(it->cand[i].type);
        free(it->cand[i].medium);
    }
    memset(it, 0, sizeof(*it));
}

static void set_once(char **dst, char *v)
{
    if (*dst || !v) {
        free(v);
        return;
    }
    *dst = v;
}

static double parse_duration(const char *s)
{
    if (!s)
        return 0;
    int h = 0, m = 0;
    double sec = 0;
    if (sscanf(s, "%d:%d:%lf", &h, &m, &sec) == 3)
        return h * 3600.0 + m * 60.0 + sec;
    if (sscanf(s, "%d:%lf", &m, &sec) == 2)
        return m * 60.0 + sec;
    char *end;
    double v = strtod(s, &end);
    return (end != s && v > 0) ? v : 0;
}

static void add_cand(item *it, const xmlNode *n, const char *url_attr, const char *type_attr,
                     const char *len_attr)
{
    if (it->ncand >= (int)OM_ARRAY_LEN(it->cand))
        return;
    char *href = attr_of(n, url_attr);
    if (!href)
        return;
    media_cand *c = &it->cand[it->ncand++];
    c->url = resolve(n, href);
    free(href);
    c->type = attr_of(n, type_attr);
    c->medium = attr_of(n, "medium");
    char *l = attr_of(n, len_attr);
    c->length = l ? strtoll(l, NULL, 10) : 0;
    free(l);
    char *d = attr_of(n, "duration");
    c->duration = parse_duration(d);
    free(d);
    char *w = attr_of(n, "width"), *h = attr_of(n, "height");
    c->width = w ? atoi(w) : 0;
    c->height = h ? atoi(h) : 0;
    free(w);
    free(h);
}

/* media:* children of an item or of a media:group */
static void media_children(item *it, const xmlNode *parent)
{
    for (xmlNode *c = parent->children; c; c = c->next) {
        if (is_el(c, NS_MEDIA, "content")) {
            add_cand(it, c, "url", "type", "fileSize");
        } else if (is_el(c, NS_MEDIA, "group")) {
            media_children(it, c);
        } else if (is_el(c, NS_MEDIA, "title")) {
            set_once(&it->title, text_of(c));
        } else if (is_el(c, NS_MEDIA, "description")) {
            set_once(&it->description, text_of(c));
        } else if (is_el(c, NS_MEDIA, "community")) {
            xmlNode *st = child(c, NS_MEDIA, "statistics");
            char *v = attr_of(st, "views");
            if (v) {
                it->views = strtoll(v, NULL, 10);
                it->has_views = 1;
                free(v);
            }
            xmlNode *sr = child(c, NS_MEDIA, "starRating");
            char *cnt = attr_of(sr, "count"), *avg = attr_of(sr, "average");
            if (cnt || avg) {
                it->has_rating = 1;
                it->rating_count = cnt ? strtoll(cnt, NULL, 10) : 0;
                it->rating_avg = avg ? strtod(avg, NULL) : 0;
            }
            free(cnt);
            free(avg);
        }
    }
}

static void parse_rss_item(item *it, const xmlNode *n, int rss1)
{
    const char *ns = rss1 ? NS_RSS1 : NULL;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, ns, "guid")) {
            set_once(&it->id, text_of(c));
        } else if (is_el(c, ns, "title")) {
            set_once(&it->title, text_of(c));
        } else if (is_el(c, ns, "link")) {
            char *t = text_of(c);
            set_once(&it->link, t ? resolve(c, t) : NULL);
            free(t);
        } else if (is_el(c, ns, "pubDate") || is_el(c, NS_DC, "date")) {
            set_once(&it->published, text_of(c));
        } else if (is_el(c, ns, "description") || is_el(c, NS_CONTENT, "encoded")) {
            set_once(&it->description, text_of(c));
        } else if (is_el(c, ns, "author") || is_el(c, NS_DC, "creator") ||
                   is_el(c, NS_ITUNES, "author")) {
            set_once(&it->author, text_of(c));
        } else if (is_el(c, ns, "enclosure")) {
            add_cand(it, c, "url", "type", "length");
        } else if (is_el(c, NS_ITUNES, "duration")) {
            char *d = text_of(c);
            it->duration = parse_duration(d);
            free(d);
        } else if (is_el(c, NS_ATOM, "link")) {
            char *rel = attr_of(c, "rel");
            if (rel && strcmp(rel, "enclosure") == 0)
                add_cand(it, c, "href", "type", "length");
            free(rel);
        }
    }
    if (rss1)
        set_once(&it->id, attr_of(n, "about"));
    media_children(it, n);
}

static void parse_atom_entry(item *it, const xmlNode *n)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, NS_ATOM, "id")) {
            set_once(&it->id, text_of(c));
        } else if (is_el(c, NS_YT, "videoId")) {
            set_once(&it->yt_video_id, text_of(c));
        } else if (is_el(c, NS_YT, "channelId")) {
            set_once(&it->yt_channel_id, text_of(c));
        } else if (is_el(c, NS_ATOM, "title")) {
            set_once(&it->title, text_of(c));
        } else if (is_el(c, NS_ATOM, "published")) {
            set_once(&it->published, text_of(c));
        } else if (is_el(c, NS_ATOM, "updated")) {
            set_once(&it->updated, text_of(c));
        } else if (is_el(c, NS_ATOM, "summary") || is_el(c, NS_ATOM, "content")) {
            set_once(&it->description, text_of(c));
        } else if (is_el(c, NS_ATOM, "author")) {
            set_once(&it->author, text_of(child(c, NS_ATOM, "name")));
        } else if (is_el(c, NS_ATOM, "link")) {
            char *rel = attr_of(c, "rel");
            if (rel && strcmp(rel, "enclosure") == 0) {
                add_cand(it, c, "href", "type", "length");
            } else if (!rel || strcmp(rel, "alternate") == 0) {
                char *href = attr_of(c, "href");
                set_once(&it->link, href ? resolve(c, href) : NULL);
                free(href);
            }
            free(rel);
        }
    }
    media_children(it, n);
}

/* The downloadable media of an item: video first, then audio; NULL when none. */
static const media_cand *pick_media(const item *it)
{
    for (int pass = 0; pass < 4; pass++) {
        for (int i = 0; i < it->ncand; i++) {
            const media_cand *c = &it->cand[i];
            const char *t = c->type ? c->type : "";
            int ok = 0;
            if (pass == 0)
                ok = strncasecmp(t, "video/", 6) == 0;
            else if (pass == 1)
                ok = strncasecmp(t, "audio/", 6) == 0;
            else if (pass == 2)
                ok = !*t && c->medium &&
                     (strcmp(c->medium, "video") == 0 || strcmp(c->medium, "audio") == 0);
            else
                ok = (!*t || strcasecmp(t, "application/octet-stream") == 0) &&
                     om_source_is_media_name(c->url);
            if (ok && (strncmp(c->url, "http://", 7) == 0 || strncmp(c->url, "https://", 8) == 0))
                return c;
        }
    }
    return NULL;
}

static int is_global_id(const char *id)
{
    return strstr(id, "://") || strncmp(id, "urn:", 4) == 0 || strncmp(id, "tag:", 4) == 0 ||
           strncmp(id, "yt:", 3) == 0 || strlen(id) >= 32;
}

static int host_is_youtube(const char *url)
{
    char *h = om_url_host(url);
    int yes = h && (strcmp(h, "youtube.com") == 0 || strcmp(h, "www.youtube.com") == 0 ||
                    strcmp(h, "m.youtube.com") == 0 || strcmp(h, "youtu.be") == 0);
    free(h);
    return yes;
}

static char *rate_key(const char *platform, const char *url)
{
    if (host_is_youtube(url))
        return xstrdup("youtube");
    char *h = om_url_host(url);
    char *k = h ? xasprintf("%s@%s", platform, h) : xstrdup(platform);
    free(h);
    return k;
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Turns a parsed item into an entry; returns 0 when the item has no video. */
static int item_to_entry(const item *it, const char *feed_url, const char *feed_title,
                         const char *platform, om_source_entry *e)
{
    const media_cand *m = pick_media(it);
    char *page = NULL;
    if (it->link)
        page = xstrdup(it->link);
    else if (it->yt_video_id)
        page = xasprintf("https://www.youtube.com/watch?v=%s", it->yt_video_id);
    if (!m && !page)
        return 0;
    if (!m && page && strncmp(page, "http://", 7) != 0 && strncmp(page, "https://", 8) != 0) {
        free(page);
        return 0;
    }
    char *post_id;
    if (it->yt_video_id)
        post_id = xstrdup(it->yt_video_id);
    else if (it->id)
        post_id = is_global_id(it->id) ? xstrdup(it->id) : xasprintf("%s#%s", feed_url, it->id);
    else
        post_id = xstrdup(m ? m->url : page);
    const char *fetch_url = m ? m->url : page;
    om_source_entry_set(e, post_id, page ? page : m->url, fetch_url, m ? "http" : "ytdlp");
    e->rate_key = rate_key(platform, fetch_url);
    free(post_id);
    e->title = xstrdup(it->title);
    const char *when = it->published ? it->published : it->updated;
    int64_t us = 0;
    char tbuf[OM_TIME_LEN];
    if (when && om_feed_parse_date(when, &us) == OM_OK)
        e->posted_at = xstrdup(om_time_iso(tbuf, us));
    else
        om_error_clear();
    e->duration_hint = it->duration > 0 ? it->duration : (m ? m->duration : 0);
    e->size_hint = m ? m->length : 0;

    json_t *raw = json_object();
    json_object_set_new(raw, "omniva_driver", json_string("feed"));
    json_object_set_new(raw, "title", jstr(it->title));
    if (it->description)
        json_object_set_new(raw, "description", json_string(it->description));
    if (it->author)
        json_object_set_new(raw, "uploader", json_string(it->author));
    json_object_set_new(raw, "webpage_url", jstr(page ? page : m->url));
    if (e->posted_at)
        json_object_set_new(raw, "timestamp", json_integer((json_int_t)(us / 1000000)));
    if (it->has_views)
        json_object_set_new(raw, "view_count", json_integer((json_int_t)it->views));
    if (it->has_rating) {
        json_object_set_new(raw, "average_rating", json_real(it->rating_avg));
        json_object_set_new(raw, "rating_count", json_integer((json_int_t)it->rating_count));
    }
    if (e->duration_hint > 0)
        json_object_set_new(raw, "duration", json_real(e->duration_hint));
    json_t *f = json_object();
    json_object_set_new(f, "feed_url", json_string(feed_url));
    if (feed_title)
        json_object_set_new(f, "feed_title", json_string(feed_title));
    if (it->id)
        json_object_set_new(f, "id", json_string(it->id));
    if (it->link)
        json_object_set_new(f, "link", json_string(it->link));
    if (it->published)
        json_object_set_new(f, "published", json_string(it->published));
    if (it->updated)
        json_object_set_new(f, "updated", json_string(it->updated));
    if (it->yt_video_id)
        json_object_set_new(f, "yt_video_id", json_string(it->yt_video_id));
    if (it->yt_channel_id)
        json_object_set_new(f, "yt_channel_id", json_string(it->yt_channel_id));
    if (m) {
        json_t *enc = json_pack("{s:s}", "url", m->url);
        if (m->type)
            json_object_set_new(enc, "type", json_string(m->type));
        if (m->length > 0)
            json_object_set_new(enc, "length", json_integer((json_int_t)m->length));
        if (m->width > 0 && m->height > 0) {
            json_object_set_new(enc, "width", json_integer(m->width));
            json_object_set_new(enc, "height", json_integer(m->height));
        }
        json_object_set_new(f, "enclosure", enc);
    }
    json_object_set_new(raw, "feed", f);
    e->raw = raw;
    free(page);
    return 1;
}

static int cmp_entries(const void *a, const void *b)
{
    const om_source_entry *x = a, *y = b;
    if (x->posted_at && y->posted_at)
        return strcmp(y->posted_at, x->posted_at); /* newest first */
    if (x->posted_at)
        return -1;
    if (y->posted_at)
        return 1;
    return 0;
}

static int has_entity_decls(xmlDoc *doc)
{
    xmlDtd *dtds[2] = {doc->intSubset, doc->extSubset};
    for (int i = 0; i < 2; i++)
        if (dtds[i] && (dtds[i]->entities || dtds[i]->pentities))
            return 1;
    return 0;
}

/* libxml2 reports every error; the first one is the useful one ("tag mismatch" rather than
 * the "premature end of data" it causes). */
typedef struct first_error {
    int seen;
    int line;
    char msg[256];
} first_error;

static void on_xml_error(void *ud, xmlErrorPtr err)
{
    first_error *fe = ud;
    if (fe->seen || !err || err->level < XML_ERR_ERROR)
        return;
    fe->seen = 1;
    fe->line = err->line;
    snprintf(fe->msg, sizeof(fe->msg), "%s", err->message ? err->message : "unknown error");
    size_t n = strlen(fe->msg);
    while (n > 0 && (fe->msg[n - 1] == '\n' || fe->msg[n - 1] == ' '))
        fe->msg[--n] = '\0';
}

int om_feed_parse(const char *xml, size_t len, const char *feed_url, const char *platform,
                  size_t limit, om_source_entries *out)
{
    if (len > FEED_HARD_CAP)
        return om_error_set(OM_EINVAL, "feed %s is %zu bytes; refusing documents over %u bytes",
                            feed_url, len, FEED_HARD_CAP);
    if (len > INT32_MAX)
        return om_error_set(OM_EINVAL, "feed too big");
    pthread_once(&xml_once, xml_init_once);
    xmlParserCtxt *pc = xmlNewParserCtxt();
    if (!pc)
        return om_error_set(OM_ERROR, "libxml2: cannot create a parser");
    /* NONET: no network; no NOENT/DTDLOAD: entities are never substituted or loaded; no HUGE:
     * libxml2's own depth and amplification limits stay on. */
    first_error fe = {0, 0, "unknown error"};
    xmlSetStructuredErrorFunc(&fe, on_xml_error); /* per thread in libxml2 */
    xmlDoc *doc = xmlCtxtReadMemory(pc, xml, (int)len, feed_url, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_NOCDATA);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (!doc || !pc->wellFormed) {
        if (!fe.seen) {
            const xmlError *err = xmlCtxtGetLastError(pc);
            if (err)
                on_xml_error(&fe, (xmlErrorPtr)err);
        }
        if (doc)
            xmlFreeDoc(doc);
        xmlFreeParserCtxt(pc);
        return om_error_set(OM_EINVAL, "feed %s is not well-formed XML: line %d: %s", feed_url,
                            fe.line, fe.msg);
    }
    xmlFreeParserCtxt(pc);
    if (has_entity_decls(doc)) {
        xmlFreeDoc(doc);
        return om_error_set(OM_EINVAL, "feed %s declares XML entities in a DTD; refused", feed_url);
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    int kind = 0; /* 1 rss2, 2 atom, 3 rss1 */
    xmlNode *container = NULL;
    if (is_el(root, NULL, "rss")) {
        kind = 1;
        container = child(root, NULL, "channel");
    } else if (is_el(root, NS_ATOM, "feed")) {
        kind = 2;
        container = root;
    } else if (is_el(root, NS_RDF, "RDF")) {
        kind = 3;
        container = root;
    }
    if (!kind || !container) {
        int rc = om_error_set(OM_EINVAL, "%s is not an RSS or Atom feed (root element <%s>)",
                              feed_url, root ? (const char *)root->name : "none");
        xmlFreeDoc(doc);
        return rc;
    }
    char *feed_title = NULL;
    if (kind == 1)
        feed_title = text_of(child(container, NULL, "title"));
    else if (kind == 2)
        feed_title = text_of(child(container, NS_ATOM, "title"));
    else
        feed_title = text_of(child(child(container, NS_RSS1, "channel"), NS_RSS1, "title"));
    om_source_entries all = {0};
    size_t items = 0, skipped = 0;
    for (xmlNode *c = container->children; c; c = c->next) {
        item it = {0};
        if (kind == 1 && is_el(c, NULL, "item"))
            parse_rss_item(&it, c, 0);
        else if (kind == 2 && is_el(c, NS_ATOM, "entry"))
            parse_atom_entry(&it, c);
        else if (kind == 3 && is_el(c, NS_RSS1, "item"))
            parse_rss_item(&it, c, 1);
        else
            continue;
        items++;
        om_source_entry *e = om_source_entries_add(&all);
        if (!item_to_entry(&it, feed_url, feed_title, platform, e)) {
            om_source_entry_release(e);
            all.n--;
            skipped++;
        }
        item_free(&it);
    }
    free(feed_title);
    xmlFreeDoc(doc);
    if (skipped)
        om_debug("scraper_worker", "feed %s: %zu of %zu items have no video", feed_url, skipped,
                 items);
    if (all.n) /* all.v is NULL when no item has a video */
        qsort(all.v, all.n, sizeof(*all.v), cmp_entries);
    for (size_t i = 0; i < all.n; i++) {
        if (limit && out->n >= limit) {
            om_source_entry_release(&all.v[i]);
            continue;
        }
        *om_source_entries_add(out) = all.v[i];
    }
    free(all.v);
    return OM_OK;
}

/* ---- the driver ---- */

static int looks_like_html(const char *body, size_t len, const char *ctype)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)body[0] == 0xEF && (unsigned char)body[1] == 0xBB &&
        (unsigned char)body[2] == 0xBF)
        i = 3;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    const char *p = body + i;
    size_t rest = len - i;
    if (rest >= 5 && strncmp(p, "<?xml", 5) == 0)
        return 0;
    if (rest >= 4 && (strncmp(p, "<rss", 4) == 0 || strncmp(p, "<rdf", 4) == 0))
        return 0;
    if (rest >= 5 && strncmp(p, "<feed", 5) == 0)
        return 0;
    if (ctype && strstr(ctype, "html"))
        return 1;
    return rest >= 9 && (strncasecmp(p, "<!doctype", 9) == 0 || strncasecmp(p, "<html", 5) == 0);
}

static int feed_list(om_source_ctx *ctx, const om_source_creator *cr, size_t limit,
                     om_source_entries *out)
{
    char *key = rate_key(cr->platform, cr->profile_url);
    int rc = om_source_throttle(ctx, key);
    free(key);
    if (rc != OM_OK)
        return rc;
    char *body = NULL;
    size_t len = 0;
    om_http_result res;
    rc = om_http_get(ctx, cr->profile_url, ctx->feed_max_bytes, ctx->feed_timeout_ms, &body, &len,
                     &res);
    if (rc != OM_OK)
        return rc;
    if (looks_like_html(body, len, res.content_type)) {
        /* a web page, not a feed: yt-dlp's extractors (generic included) may find videos */
        om_info("scraper_worker", "%s is a web page (%s); listing it with yt-dlp", cr->profile_url,
                res.content_type ? res.content_type : "no content type");
        free(body);
        om_http_result_release(&res);
        return om_source_ytdlp.list(ctx, cr, limit, out);
    }
    /* ids and relative links use the creator's URL (stable across redirects) */
    rc = om_feed_parse(body, len, cr->profile_url, cr->platform, limit, out);
    free(body);
    om_http_result_release(&res);
    return rc;
}

static int feed_fetch(om_source_ctx *ctx, const om_source_entry *e, const char *dest_dir,
                      const char *stem, om_source_media *out)
{
    const om_source_driver *d = om_source_fetcher(e->fetcher);
    if (!d || d == &om_source_feed)
        return om_error_set(OM_EINVAL, "feed entry without a fetcher");
    return d->fetch(ctx, e, dest_dir, stem, out);
}

const om_source_driver om_source_feed = {
    .name = "feed",
    .list = feed_list,
    .fetch = feed_fetch,
};
