/*
 * tz.h: IANA time zones for the scheduler, read straight from the TZ database
 * (TZif files under $TZDIR or /usr/share/zoneinfo, versions 1-4, including the POSIX TZ
 * footer rule that covers times after the last listed transition, so "slim" files work).
 *
 * Why not setenv("TZ") + tzset() + localtime_r(): that mutates process-global state, is not
 * safe while other threads (heartbeats, parallel decoders) read the environment, and cannot
 * hold two zones at once. An om_tz is immutable after loading and may be shared by threads.
 *
 * Conversions are DST-safe: om_tz_local maps every UTC instant to exactly one local time;
 * om_tz_to_utc maps a local wall time to UTC choosing, for a time that occurs twice (fall
 * back), the earlier instant, and for a time that does not exist (spring forward), the
 * instant the same distance past the transition (02:30 in a 02:00->03:00 gap is 03:30).
 *
 * Ownership: om_tz_load's *out is the caller's (om_tz_free).
 */
#ifndef OMNIVA_COGNITION_TZ_H
#define OMNIVA_COGNITION_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct om_tz om_tz;

/* "UTC", "Europe/Berlin", "America/New_York", ... NULL or "" is UTC. Names: 1-128 of
 * [A-Za-z0-9/_+-], not starting with '/', no ".." (so never outside the zone folder).
 * The folder is $TZDIR when set, else /usr/share/zoneinfo; "UTC" and "Etc/UTC" need no
 * file. OM_EINVAL for a malformed name, OM_ENOTFOUND when no such zone file exists,
 * OM_EINVAL for a file that is not a valid TZif (version 1-4, counts within the file). */
int om_tz_load(const char *name, om_tz **out);
/* Whether `name` loads (the same rules and errors as om_tz_load; nothing is kept): what
 * brand validation calls, so a zone it accepts is one the scheduler can use. */
int om_tz_validate(const char *name);
/* Parses TZif bytes (what om_tz_load reads from the zone file) as zone `name`; OM_EINVAL
 * naming `name` for anything that is not a complete TZif file. */
int om_tz_parse(const char *name, const void *buf, size_t len, om_tz **out);
void om_tz_free(om_tz *tz);
const char *om_tz_name(const om_tz *tz); /* borrowed */

typedef struct om_local_time {
    int year, mon, mday;   /* mon 1-12 */
    int hour, min, sec;
    int wday;              /* 0 = Sunday .. 6 = Saturday */
    int yday;              /* 0-365 */
    int utc_offset_s;      /* local = UTC + offset */
    int is_dst;
    char abbr[16];         /* "CET", "CEST", "+03", ... */
} om_local_time;

/* UTC seconds since the epoch -> local wall time. */
void om_tz_local(const om_tz *tz, int64_t utc_s, om_local_time *out);
/* UTC offset (seconds) in effect at utc_s. */
int om_tz_offset(const om_tz *tz, int64_t utc_s);
/* Local wall time -> UTC seconds (see the gap/overlap rule above). Fields may be out of
 * range (hour 25, mday 0) and are normalised like mktime. */
int64_t om_tz_to_utc(const om_tz *tz, int year, int mon, int mday, int hour, int min, int sec);

/* Hour of week of a local time: Monday 00:00-00:59 = 0 ... Sunday 23:00 = 167. */
int om_tz_hour_of_week(const om_local_time *lt);
/* "2026-11-22 19:00 CET" into out (>= 32 bytes). */
void om_tz_format(const om_tz *tz, int64_t utc_s, char *out, size_t n);

/* Days since 1970-01-01 of a proleptic Gregorian date (month/day may overflow). */
int64_t om_days_from_civil(int64_t y, int m, int d);

#endif
