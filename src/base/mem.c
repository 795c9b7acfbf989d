/* mem.c: die-on-OOM allocation and the capped string buffer of mem.h. */
#include "base/mem.h"
#include "base/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(size_t n)
{
    fprintf(stderr, "omniva: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        die_oom(st_mult(nmemb, size));
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(st_add(len, 1));
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        die_oom(0);
    char *p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

size_t st_add(size_t a, size_t b)
{
    if (SIZE_MAX - a < b) {
        fprintf(stderr, "omniva: fatal: size overflow %zu + %zu\n", a, b);
        abort();
    }
    return a + b;
}

size_t st_mult(size_t a, size_t b)
{
    if (a && SIZE_MAX / a < b) {
        fprintf(stderr, "omniva: fatal: size overflow %zu * %zu\n", a, b);
        abort();
    }
    return a * b;
}

int sb_append(om_sbuf *sb, const void *data, size_t n)
{
    size_t need = st_add(st_add(sb->len, n), 1);
    if (sb->cap && need - 1 > sb->cap)
        return om_error_set(OM_EINVAL, "buffer too big: %zu bytes exceeds the cap of %zu",
                            need - 1, sb->cap);
    if (need > sb->alloc) {
        size_t alloc = sb->alloc ? sb->alloc : 64;
        while (alloc < need)
            alloc = st_mult(alloc, 2);
        sb->buf = xrealloc(sb->buf, alloc);
        sb->alloc = alloc;
    }
    if (n)
        memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    return OM_OK;
}

int sb_puts(om_sbuf *sb, const char *s)
{
    return sb_append(sb, s, strlen(s));
}

int sb_printf(om_sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = sb_puts(sb, p);
    free(p);
    return rc;
}

void sb_reset(om_sbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

char *sb_detach(om_sbuf *sb)
{
    char *p = sb->buf ? sb->buf : xstrdup("");
    sb->buf = NULL;
    sb->len = sb->alloc = 0;
    return p;
}

void sb_release(om_sbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->alloc = 0;
}

const char *sb_str(const om_sbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

int sb_put_utf8(om_sbuf *sb, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sb_append(sb, b, n);
}
