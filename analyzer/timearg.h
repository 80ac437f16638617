/* timearg.h: the time and duration arguments of flowhunt's commands, and times as text.
 *
 * Hunters type windows two ways: an absolute instant copied from a log or a ticket (ISO 8601,
 * always read as UTC unless it carries an offset) and "the last day" (`-24h`). Both become
 * milliseconds since the Unix epoch, the unit of the flow record's times. Parsing is pure: the
 * caller passes "now", so tests are exact and a command evaluates every relative argument
 * against one clock reading.
 */
#ifndef FH_TIMEARG_H
#define FH_TIMEARG_H

#include <stdint.h>

#define TIMEARG_STRLEN 29 /* "YYYY-MM-DD HH:MM:SS.mmm" and its NUL; years to 9 digits */

/* Parses a time argument into ms since the epoch (UTC). Accepted forms:
 *   YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS, YYYY-MM-DDTHH:MM:SS.fff (1 to 9 digits,
 *   cut to ms), with 'T', 't' or one space between date and time, then nothing (UTC), 'Z' or
 *   'z', or an offset +HH:MM, +HHMM, +HH (or '-'; hours to 23, minutes to 59, nothing after);
 *   the time's hour is 00 to 23, or 24 with zero minutes, seconds and fraction: ISO 8601's
 *   end of the day, 00:00 of the next;
 *   relative to `now_ms`: -N followed by s, m, h, d or w (-30m, -24h, -7d); "now";
 *   @N: Unix seconds.
 * Returns 0, or -1 when `s` is none of these, names an impossible date, or an instant before
 * the epoch once its offset is applied (a local 1969 date west of UTC can be after it). */
int timearg_parse(const char *s, uint64_t now_ms, uint64_t *out_ms);
/* The same for a window's bound (--from, --to): a fraction finer than the ms rounds up, not
 * down. Flow times are whole ms, so t >= from and t < to hold against the next whole ms
 * exactly when they hold against the instant typed; cut down, --to 12:00:00.9995 left out a
 * flow that started at .999, and --from took it in although it had ended before. */
int timearg_parse_bound(const char *s, uint64_t now_ms, uint64_t *out_ms);
/* What timearg_parse takes, for the messages that refuse a time. */
#define TIMEARG_FORMS "2024-03-01T12:00:00Z, 2024-03-01, -24h, -7d, -30m, now, @UNIXSECONDS"

/* Parses a duration: N followed by s, m, h, d or w ("30d", "12h"), into ms. 0 or -1. */
int timearg_duration(const char *s, uint64_t *out_ms);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
int64_t timearg_days_from_civil(int64_t y, unsigned m, unsigned d);
void timearg_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* "YYYY-MM-DD HH:MM:SS.mmm" (UTC); returns the length (23, more for a year past 9999). */
int timearg_format(uint64_t ms, char out[TIMEARG_STRLEN]);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC); returns the length (24, more for a year past 9999). */
#define TIMEARG_ISOLEN 30
int timearg_format_iso(uint64_t ms, char out[TIMEARG_ISOLEN]);

#endif
