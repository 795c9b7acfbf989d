/*
 * hex.h: hexadecimal digits, the one place that decodes them (percent-escapes in URLs,
 * key and signature text in the ledger's anchors) and encodes bytes as lower-case hex.
 *
 * No allocation: callers pass the output buffers; nothing here sets om_error.
 */
#ifndef OMNIVA_BASE_HEX_H
#define OMNIVA_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Value of one hex digit ('0'-'9', 'a'-'f', 'A'-'F'), or -1 for any other character
 * (pass an unsigned char value or EOF, as for <ctype.h>). */
int om_hexval(int c);

/* Encodes n bytes as 2n lower-case hex digits + NUL into out (at least 2n + 1 bytes). */
void om_hex_encode(const void *data, size_t n, char *out);

/* Decodes exactly 2 * n hex digits of `text` (NUL-terminated, nothing after them) into
 * out[n]. Returns 0, or -1 when the text has another length or a non-hex character. */
int om_hex_decode(const char *text, uint8_t *out, size_t n);

#endif
