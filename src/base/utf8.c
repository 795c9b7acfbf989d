/* utf8.c: UTF-8 counting, validation, repair and truncation (see utf8.h). */
#include "base/common.h"
#include "base/utf8.h"

size_t om_utf8_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

size_t om_utf8_seq(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int om_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        size_t n = om_utf8_seq(p);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

char *om_utf8_clean(const char *s)
{
    if (!s)
        return NULL;
    char *out = xmalloc(strlen(s) + 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    while (*p) {
        size_t n = om_utf8_seq(p);
        if (n == 0) {
            out[w++] = '?';
            p++;
        } else {
            memcpy(out + w, p, n);
            w += n;
            p += n;
        }
    }
    out[w] = '\0';
    return out;
}

char *om_utf8_truncate(const char *s, size_t max_chars, const char *ellipsis)
{
    if (!s)
        s = "";
    if (om_utf8_len(s) <= max_chars)
        return xstrdup(s);
    size_t ell = om_utf8_len(ellipsis);
    size_t keep = max_chars > ell ? max_chars - ell : 0;
    /* byte offset of character `keep` */
    size_t chars = 0, off = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (p[off]) {
        if ((p[off] & 0xC0) != 0x80) {
            if (chars == keep)
                break;
            chars++;
        }
        off++;
    }
    size_t cut = off;
    for (size_t i = off; i > off / 2; i--) {
        if (p[i - 1] == ' ') {
            cut = i - 1;
            break;
        }
    }
    while (cut > 0 && strchr(" ,;:-", p[cut - 1]))
        cut--;
    return xasprintf("%.*s%s", (int)cut, s, ellipsis ? ellipsis : "");
}

json_t *om_json_text(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *c = om_utf8_clean(s);
    j = json_string(c);
    free(c);
    return j ? j : json_string("");
}
