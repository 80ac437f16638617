/* timearg.c: ISO 8601 and relative time arguments, durations, and UTC times as text.
 *
 * Written by hand rather than with strptime and timegm: strptime's %z and fraction handling
 * differ between libcs, and timegm depends on the process time zone database being sane. The
 * calendar arithmetic is Howard Hinnant's days_from_civil, exact for every proleptic Gregorian
 * date, so a test can check leap years and the epoch without a clock.
 */
#include "timearg.h"

#include <stdio.h>
#include <string.h>

#define TIMEARG_MS_PER_DAY 86400000ull
/* Year 9999 ends before this: larger values are typing mistakes, and the bound keeps every
 * intermediate product far from overflow. */
#define TIMEARG_MAX_MS 253402300800000ull

int64_t timearg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void timearg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned timearg_month_days(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly `n` decimal digits at *p; advances. -1 when any is not a digit. */
static int timearg_digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* A unit letter as milliseconds; 0 for an unknown letter. */
static uint64_t timearg_unit_ms(char c)
{
    switch (c) {
    case 's':
        return 1000ull;
    case 'm':
        return 60000ull;
    case 'h':
        return 3600000ull;
    case 'd':
        return TIMEARG_MS_PER_DAY;
    case 'w':
        return 7 * TIMEARG_MS_PER_DAY;
    }
    return 0;
}

int timearg_duration(const char *s, uint64_t *out_ms)
{
    uint64_t n = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > TIMEARG_MAX_MS / 1000)
            return -1;
        p++;
    }
    uint64_t unit = timearg_unit_ms(*p);
    if (unit == 0 || p[1] != '\0')
        return -1;
    if (n > TIMEARG_MAX_MS / unit)
        return -1;
    *out_ms = n * unit;
    return 0;
}

/* The offset after a time: "", "Z" (or "z", as RFC 3339 5.6 allows), +HH, +HHMM, +HH:MM (or
 * '-'), as signed minutes. */
static int timearg_offset(const char *p, int64_t *out_min)
{
    unsigned hh, mm = 0;
    if (*p == '\0' || ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')) {
        *out_min = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int neg = *p++ == '-';
    if (timearg_digits(&p, 2, &hh) != 0 || hh > 23)
        return -1;
    if (*p != '\0') {
        /* +HH alone, or two digits of minutes after it (a colon promises them: "+05:" is
         * a typo, not +05:00) */
        if (*p == ':')
            p++;
        if (timearg_digits(&p, 2, &mm) != 0 || mm > 59 || *p != '\0')
            return -1;
    }
    *out_min = (neg ? -1 : 1) * (int64_t)(hh * 60 + mm);
    return 0;
}

/* `ceil`: a fraction finer than the ms rounds up rather than down (timearg_parse_bound). */
static int timearg_iso(const char *s, uint64_t *out_ms, int ceil)
{
    const char *p = s;
    unsigned y, mo, d, hh = 0, mi = 0, ss = 0, ms = 0, finer = 0;
    if (timearg_digits(&p, 4, &y) != 0 || *p++ != '-' || timearg_digits(&p, 2, &mo) != 0 ||
        *p++ != '-' || timearg_digits(&p, 2, &d) != 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > timearg_month_days(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') { /* RFC 3339 5.6: 't' too */
        p++;
        if (timearg_digits(&p, 2, &hh) != 0 || *p++ != ':' || timearg_digits(&p, 2, &mi) != 0)
            return -1;
        if (*p == ':') {
            p++;
            if (timearg_digits(&p, 2, &ss) != 0)
                return -1;
            if (*p == '.' || *p == ',') {
                /* ISO 8601 allows any number of fraction digits; we keep milliseconds */
                p++;
                int n = 0;
                while (*p >= '0' && *p <= '9') {
                    if (n < 3)
                        ms = ms * 10 + (unsigned)(*p - '0');
                    else
                        finer |= *p != '0';
                    n++;
                    p++;
                }
                if (n == 0 || n > 9)
                    return -1;
                for (; n < 3; n++)
                    ms *= 10;
            }
        }
        /* 60 is a leap second: it counts as the first second of the next minute, as POSIX
         * time has no leap seconds */
        if (hh > 24 || mi > 59 || ss > 60)
            return -1;
        /* ISO 8601's 24:00 ends the day: 00:00 of the next (--to 2024-03-01T24:00), which the
         * sum below gives; only the instant itself, so nothing may follow it */
        if (hh == 24 && (mi || ss || ms || finer))
            return -1;
    }
    int64_t off_min;
    if (timearg_offset(p, &off_min) != 0)
        return -1;
    int64_t t = timearg_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    t -= off_min * 60;
    /* the instant, not the local date, must not be before the epoch: 1969-12-31T23:00-02:00
     * is 1970-01-01T01:00Z */
    if (t < 0)
        return -1;
    *out_ms = (uint64_t)t * 1000 + ms + (ceil && finer);
    return *out_ms < TIMEARG_MAX_MS ? 0 : -1;
}

static int timearg_parse_ex(const char *s, uint64_t now_ms, uint64_t *out_ms, int ceil)
{
    if (strcmp(s, "now") == 0) {
        *out_ms = now_ms;
        return 0;
    }
    if (s[0] == '-') {
        uint64_t d;
        if (timearg_duration(s + 1, &d) != 0 || d > now_ms)
            return -1;
        *out_ms = now_ms - d;
        return 0;
    }
    if (s[0] == '@') {
        uint64_t v = 0;
        const char *p = s + 1;
        if (*p == '\0')
            return -1;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            v = v * 10 + (uint64_t)(*p - '0');
            if (v >= TIMEARG_MAX_MS / 1000)
                return -1;
        }
        *out_ms = v * 1000;
        return 0;
    }
    return timearg_iso(s, out_ms, ceil);
}

int timearg_parse(const char *s, uint64_t now_ms, uint64_t *out_ms)
{
    return timearg_parse_ex(s, now_ms, out_ms, 0);
}

int timearg_parse_bound(const char *s, uint64_t now_ms, uint64_t *out_ms)
{
    return timearg_parse_ex(s, now_ms, out_ms, 1);
}

/* n as `width` decimal digits at p (n below 10^width) */
static char *timearg_put_digits(char *p, unsigned n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        p[i] = (char)('0' + n % 10);
    return p + width;
}

/* "YYYY-MM-DD" sep "HH:MM:SS.mmm" (UTC) at out, by hand rather than snprintf (cat's text
 * and top --times print one or two a line, for millions of lines); its end. A year past 9999
 * (an exporter's garbage clock) takes the digits it has, up to nine for 2^64 ms, rather than
 * a date that is not the flow's. */
static char *timearg_put_time(uint64_t ms, char *out, char sep)
{
    int64_t y;
    unsigned m, d;
    uint64_t secs = ms / 1000;
    timearg_civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
    unsigned sod = (unsigned)(secs % 86400);
    int yw = 4;
    for (int64_t t = y; t > 9999; t /= 10)
        yw++;
    char *p = timearg_put_digits(out, (unsigned)y, yw);
    *p++ = '-';
    p = timearg_put_digits(p, m, 2);
    *p++ = '-';
    p = timearg_put_digits(p, d, 2);
    *p++ = sep;
    p = timearg_put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = timearg_put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = timearg_put_digits(p, sod % 60, 2);
    *p++ = '.';
    return timearg_put_digits(p, (unsigned)(ms % 1000), 3);
}

int timearg_format_iso(uint64_t ms, char out[TIMEARG_ISOLEN])
{
    char *p = timearg_put_time(ms, out, 'T');
    *p++ = 'Z';
    *p = '\0';
    return (int)(p - out);
}

int timearg_format(uint64_t ms, char out[TIMEARG_STRLEN])
{
    char *p = timearg_put_time(ms, out, ' ');
    *p = '\0';
    return (int)(p - out);
}
