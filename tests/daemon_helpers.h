/* daemon_helpers.h: the real flowhuntd under test. td_start runs it on 127.0.0.1 port 0 (the
 * kernel picks a free port) with --ready-file and waits for that file, never a fixed sleep;
 * td_stop sends SIGTERM and waits, bounded. Failures abort the test (task.h). */
#ifndef FH_DAEMON_HELPERS_H
#define FH_DAEMON_HELPERS_H

#include <stdint.h>
#include <sys/types.h>

#include "flow.h"

typedef struct td_daemon {
    pid_t pid;
    int port;
    char dir[1024];
    char ready[1100];
    char log[1100];
} td_daemon_t;

void td_sleep_ms(int ms);
/* A fresh directory `name` under the test's temporary directory. */
void td_init(td_daemon_t *d, const char *name);
/* Starts flowhuntd with extra arguments; waits (at most 10 s) for its ready file. */
void td_start(td_daemon_t *d, const char *extra);
/* SIGTERM, and the exit status (bounded wait). */
int td_stop(td_daemon_t *d);
/* The same, with `again` more signals 4 ms apart while it stops (SIGTERM, SIGHUP, ...). */
int td_stop_signals(td_daemon_t *d, int again);
/* Sends the UDP payloads of a capture (leaving out `skip`, at most `max` when not 0); returns
 * how many. */
int td_send_capture(const td_daemon_t *d, const char *pcap, int skip, int max);
/* Counts the flows stored under dir through the segment reader, and sums their bytes. */
uint64_t td_count(const char *dir, uint64_t *bytes_sum);
/* The same for the flows `exporter` sent. */
uint64_t td_count_from(const char *dir, const flow_addr_t *exporter, uint64_t *bytes_sum);

#endif
