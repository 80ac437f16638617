/* replay.h: flowgen's capture replayer (replay.c). */
#ifndef FH_REPLAY_H
#define FH_REPLAY_H

#include <sys/socket.h>

/* ADDR:PORT or [V6]:PORT into a socket address; 0, or -1 when it is not one. */
int replay_parse_addr(const char *s, struct sockaddr_storage *to, socklen_t *to_len);

/* `flowgen --replay FILE.pcap --to ADDR:PORT [--speed X | --rate N]`; returns the exit status. */
int replay_main(int argc, char **argv);

#endif
