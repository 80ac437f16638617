/* log.h: the daemon's log: timestamped lines to stderr or a file, reopened on SIGHUP, and
 * rate limited per message kind so a flood of bad datagrams can never become a flood of
 * log lines (each limited kind says how many lines it held back). Thread-safe. */
#ifndef FH_LOG_H
#define FH_LOG_H

#include <stdint.h>

typedef enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO } log_level_t;

/* NULL logs to stderr. 0 or -1 (errno) when the file cannot be opened. */
int log_open(const char *path);
/* Opens the log file again (after logrotate moved it): 0, -1 (errno) when it cannot be
 * opened, 1 when the log is stderr and there is nothing to reopen. */
int log_reopen(void);
void log_close(void);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A rate limit: at most `burst` lines per `period_s` seconds. */
typedef struct log_limit {
    uint32_t burst, period_s;
    uint64_t window_start_s;
    uint32_t in_window;
    uint64_t suppressed;
} log_limit_t;

#define LOG_LIMIT_INIT(burst, period_s) {(burst), (period_s), 0, 0, 0}

void log_limited(log_limit_t *lim, log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
