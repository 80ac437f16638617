/* log.c: see log.h. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;   /* NULL: stderr */
static char log_path[4096];

int log_open(const char *path)
{
    pthread_mutex_lock(&log_mu);
    log_path[0] = '\0';
    if (path)
        snprintf(log_path, sizeof log_path, "%s", path);
    pthread_mutex_unlock(&log_mu);
    return log_reopen() < 0 ? -1 : 0;
}

int log_reopen(void)
{
    int rc = 1;
    pthread_mutex_lock(&log_mu);
    if (log_path[0]) {
        rc = 0;
        FILE *f = fopen(log_path, "a");
        if (f) {
            if (log_file)
                fclose(log_file);
            log_file = f;
            setvbuf(log_file, NULL, _IOLBF, 0);
        } else {
            rc = -1;
        }
    }
    pthread_mutex_unlock(&log_mu);
    return rc;
}

void log_close(void)
{
    pthread_mutex_lock(&log_mu);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_mu);
}

static void log_vmsg(log_level_t level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"error", "warn", "info"};
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&log_mu);
    FILE *f = log_file ? log_file : stderr;
    fprintf(f, "%s.%03ldZ flowhuntd %s: ", stamp, ts.tv_nsec / 1000000, names[level]);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    fflush(f);
    pthread_mutex_unlock(&log_mu);
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_limited(log_limit_t *lim, log_level_t level, const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec;
    pthread_mutex_lock(&log_mu);
    if (now >= lim->window_start_s + lim->period_s) {
        uint64_t held = lim->suppressed;
        lim->window_start_s = now;
        lim->in_window = 0;
        lim->suppressed = 0;
        if (held) {
            pthread_mutex_unlock(&log_mu);
            log_msg(LOG_INFO, "(%llu similar lines held back in the last %u s)",
                    (unsigned long long)held, lim->period_s);
            pthread_mutex_lock(&log_mu);
        }
    }
    int print = lim->in_window < lim->burst;
    if (print)
        lim->in_window++;
    else
        lim->suppressed++;
    pthread_mutex_unlock(&log_mu);
    if (!print)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
