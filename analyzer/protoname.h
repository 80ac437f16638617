/* protoname.h: IP protocols by name, as an nfdump user types and nfdump prints them.
 *
 * One table for the filter language (`proto gre`, `proto vrrp`), for imports of nfdump's CSV
 * (which prints its own abbreviations, "ICMP6", "L2TP") and for the text tables of cat and
 * conv, so a name that reads back from one reads back from the other.
 */
#ifndef FH_PROTONAME_H
#define FH_PROTONAME_H

#include <stdint.h>

/* The protocol number of `s` (case-insensitive): IANA's keywords for the common ones ("tcp",
 * "icmp6", "ipv6-icmp", "ipip") and every abbreviation nfdump 1.7.1 prints. 0, or -1 when `s`
 * names none (a number is the caller's to parse). */
int protoname_parse(const char *s, uint8_t *out);
/* The name nfdump 1.7.1 prints for protocol p ("TCP", "ICMP6", "GRE"), or NULL where it prints
 * the number. */
const char *protoname_of(uint8_t p);

#endif
