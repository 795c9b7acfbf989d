/*
 * timeutil.h: clocks, ISO-8601 UTC timestamps and UUIDv4 ids.
 *
 * The canonical timestamp text everywhere in Omniva (store values, JSON, logs) is
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, microseconds): it sorts as text.
 */
#ifndef OMNIVA_BASE_TIMEUTIL_H
#define OMNIVA_BASE_TIMEUTIL_H

#include <stdint.h>

#define OM_TIME_LEN 28 /* incl. NUL */
#define OM_UUID_LEN 37 /* incl. NUL */

int64_t om_now_us(void);     /* wall clock, microseconds since the Unix epoch (UTC) */
int64_t om_now_ms(void);
int64_t om_mono_ms(void);    /* monotonic, for deadlines */
void om_sleep_ms(int64_t ms);

/* Formats `us` into out[OM_TIME_LEN]; returns out. */
char *om_time_iso(char out[OM_TIME_LEN], int64_t us);
/* Parses ISO-8601 ("2026-01-02T03:04:05Z", fractional seconds and +hh:mm offsets, a space
 * instead of T, or a date alone). Returns OM_OK or OM_EINVAL naming the text. */
int om_time_parse(const char *s, int64_t *us_out);

/* A UUIDv4 from the OS random source (getrandom) into out[OM_UUID_LEN]; returns out. */
char *om_uuid4(char out[OM_UUID_LEN]);
int om_uuid_valid(const char *s); /* 1 when s is a canonical lower/upper-case UUID text */
/* n random bytes from the OS (dies if the OS refuses). */
void om_random_bytes(void *buf, size_t n);

#endif
