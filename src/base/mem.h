/*
 * mem.h: allocation that dies on out-of-memory (git's xmalloc), overflow-checked sizes
 * (git's st_add/st_mult) and a growable string buffer with a cap (curl's dynbuf).
 *
 * Everything returned by x* functions is the caller's to free() (sb_release for om_sbuf).
 */
#ifndef OMNIVA_BASE_MEM_H
#define OMNIVA_BASE_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);          /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);
size_t st_add(size_t a, size_t b); /* dies on overflow */
size_t st_mult(size_t a, size_t b);

/* Growable NUL-terminated buffer. `cap` (0 = unlimited) bounds growth from outside input:
 * appends past it fail with OM_EINVAL ("too big") and leave the buffer unchanged. */
typedef struct om_sbuf {
    char *buf; /* always NUL-terminated once any append happened; NULL before */
    size_t len;
    size_t alloc;
    size_t cap;
} om_sbuf;

#define OM_SBUF_INIT {NULL, 0, 0, 0}
int sb_append(om_sbuf *sb, const void *data, size_t n);
int sb_puts(om_sbuf *sb, const char *s);
int sb_printf(om_sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_reset(om_sbuf *sb);          /* len = 0, keeps memory */
char *sb_detach(om_sbuf *sb);        /* caller frees; buffer is reset to empty; never NULL */
void sb_release(om_sbuf *sb);
const char *sb_str(const om_sbuf *sb); /* borrowed; "" when empty */
/* Appends code point `cp` (<= 0x10FFFF) encoded as UTF-8. */
int sb_put_utf8(om_sbuf *sb, unsigned long cp);

#define OM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
