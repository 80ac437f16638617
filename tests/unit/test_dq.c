/* test_dq.c: the datagram ring between the receive loop and a worker (collector/dq.c), in
 * one thread: what fits, what is refused as full, and the upper half kept for the sources a
 * worker has marked as exporting flows. */
#include <string.h>

#include "dq.h"
#include "task.h"

static flow_addr_t tq_addr(uint8_t last)
{
    flow_addr_t a;
    memset(&a, 0, sizeof a);
    a.b[10] = 0xff;
    a.b[11] = 0xff;
    a.b[12] = 192;
    a.b[13] = 0;
    a.b[14] = 2;
    a.b[15] = last;
    return a;
}

/* Pushes 1000-byte datagrams from `src` until one is refused; returns how many went in and
 * the refusal in *rc. */
static int tq_fill(dq_t *q, const flow_addr_t *src, int *rc)
{
    static const uint8_t data[1000];
    int n = 0;
    while ((*rc = dq_push(q, src, 1, data, sizeof data)) == DQ_OK)
        n++;
    return n;
}

TEST_IMPL(dq_sheds_unknown_past_half)
{
    dq_t q;
    ASSERT_EQ(dq_init(&q, 64 * 1024), 0);
    flow_addr_t flood = tq_addr(1), router = tq_addr(2);
    /* an entry is a 32-byte header and the datagram, 8-aligned: 1032 bytes, so 31 fit in
     * the lower half (32 KiB) and 63 in the whole ring */
    int rc;
    ASSERT_EQ(tq_fill(&q, &flood, &rc), 31);
    ASSERT_EQ(rc, DQ_SHED);
    /* unknown as well: the router has not exported flows yet */
    ASSERT_EQ(tq_fill(&q, &router, &rc), 0);
    ASSERT_EQ(rc, DQ_SHED);
    /* once the worker marks it, the router takes the upper half, and only that */
    dq_mark_known(&q, &router);
    ASSERT_EQ(tq_fill(&q, &router, &rc), 32);
    ASSERT_EQ(rc, DQ_FULL);
    ASSERT_EQ(tq_fill(&q, &flood, &rc), 0);
    ASSERT_EQ(rc, DQ_FULL);
    /* the worker takes them all in order (the flood's first); an empty ring admits anyone */
    for (int i = 0; i < 63; i++) {
        dq_entry_t e;
        ASSERT_EQ(dq_pop(&q, &e, 0), 1);
        ASSERT_EQ(e.len, 1000u);
        ASSERT_MEM_EQ(e.src.b, (i < 31 ? flood : router).b, 16);
        dq_release(&q, &e);
    }
    dq_entry_t e;
    ASSERT_EQ(dq_pop(&q, &e, 0), 0);
    /* an empty ring past its first quarter starts again at 0 (a skip of most of the ring):
     * the skip is no fill, so the flood gets its half again */
    ASSERT_EQ(tq_fill(&q, &flood, &rc), 31);
    ASSERT_EQ(rc, DQ_SHED);
    dq_free(&q);
    return 0;
}
