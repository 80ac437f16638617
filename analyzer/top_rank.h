/* top_rank.h: flowhunt top's ranking of the keys of its tables, best first.
 *
 * Every key (-n 0, nfdump -A) is a radix sort over the sums, keys breaking ties; a few of many
 * (-n 10) a bounded heap. Both give one order (the ranked value, then bytes, then flows, larger
 * first, then the key's bytes), so -n N is the head of -n 0. With many keys the sort's passes
 * and its ties run on two threads.
 */
#ifndef FH_TOP_RANK_H
#define FH_TOP_RANK_H

#include "top_tab.h"

#define TOP_SPLIT 65536u /* keys from which the ranking (and cmd_top's printing) use two threads   \
                          */

/* The keys to rank: the tables of one worker's partitions after the merge, same key width. */
typedef struct top_set {
    const top_tab_t *tab;
    int n_tab;
    uint32_t kw;
    size_t n; /* entries in all */
    /* The key's bytes in the order ties compare them: byte i is key[cmp[i]] (kw of them;
     * NULL: as stored). Numbers are stored in the machine's order, so a tie of ports 80 and
     * 256 compared as stored put 256 first. */
    const uint8_t *cmp;
} top_set_t;

/* The n best entries of the set (n well below its size: top_rank sorts everything otherwise)
 * sorted into r[0..n-1]: a bounded min-heap (by top_cmp's order) fed from the entries
 * themselves, so `-n 10` over tens of thousands of keys neither sorts them nor copies them into
 * an array (which cost 2 to 3 ms of page faults and copying after the scan, on one thread,
 * with 56k). */

/* Entries of the n best keys of the set, best first, into out[0 .. n), on up to `threads`
 * threads. 0, or -1 out of memory. */
int top_rank(const top_set_t *set, top_order_t order, int threads, uint32_t n, const uint8_t **out);

#endif
