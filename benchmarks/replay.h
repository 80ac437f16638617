/* replay.h: flowgen's capture replayer (replay.c). */
#ifndef FH_REPLAY_H
#define FH_REPLAY_H

/* `flowgen --replay FILE.pcap --to ADDR:PORT [--speed X | --rate N]`; returns the exit status. */
int replay_main(int argc, char **argv);

#endif
