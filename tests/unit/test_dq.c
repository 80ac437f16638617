/* test_dq.c: the datagram ring between the receive loop and a worker (collector/dq.c), in
 * one thread: what fits, what is refused as full, and the upper half kept for the sources a
 * worker has marked as exporting flows. */
#include <string.h>

#include "dq.h"
#include "known_store.h"
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

/* The known map through its file: what one ring marked, another ring given the file knows;
 * a damaged file (a flipped byte, cut short, another size) is refused and gives nothing, a
 * missing one is no error. */
TEST_IMPL(dq_known_store_roundtrip)
{
    static dq_t a, b;
    ASSERT_EQ(dq_init(&a, 1 << 16), 0);
    ASSERT_EQ(dq_init(&b, 1 << 16), 0);
    const char *dir = test_tmpdir();
    static uint64_t bits[DQ_KNOWN_WORDS], back[DQ_KNOWN_WORDS];
    ASSERT_EQ(known_store_load(dir, back), 0); /* no file yet */
    for (int i = 1; i <= 50; i++) {
        flow_addr_t x = tq_addr((uint8_t)i);
        dq_mark_known(&a, &x);
    }
    dq_known_get(&a, bits);
    unsigned n = known_store_count(bits);
    ASSERT(n >= 45 && n <= 50); /* 50 addresses in 2^16 slots: few share one */
    ASSERT_EQ(known_store_save(dir, bits), 0);
    ASSERT_EQ(known_store_load(dir, back), 1);
    ASSERT_EQ(memcmp(bits, back, sizeof bits), 0);
    /* a ring given the map keeps the known sources' room past half full */
    dq_known_add(&b, back);
    static const uint8_t data[1000];
    flow_addr_t flood = tq_addr(200), router = tq_addr(7);
    int rc, pushed = tq_fill(&b, &flood, &rc);
    ASSERT_EQ(rc, DQ_SHED);
    ASSERT_GT(pushed, 0);
    ASSERT_EQ(dq_push(&b, &router, 1, data, sizeof data), DQ_OK);
    /* damage: each is refused and leaves the map empty */
    char path[600], *out;
    snprintf(path, sizeof path, "%s/known-exporters.bin", dir);
    static const char *const damage[] = {
        "printf '\\377' | dd of=%s bs=1 seek=4000 conv=notrunc status=none",
        "truncate -s 8207 %s",
        "truncate -s 8300 %s",
        "printf 'FHKNOWN2' | dd of=%s bs=1 seek=0 conv=notrunc status=none",
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        ASSERT_EQ(known_store_save(dir, bits), 0);
        char cmd[800];
        snprintf(cmd, sizeof cmd, damage[i], path);
        ASSERT_EQ(test_runf(&out, "%s", cmd), 0);
        free(out);
        ASSERT_EQ(known_store_load(dir, back), -1);
        ASSERT_EQ(known_store_count(back), 0);
    }
    dq_free(&a);
    dq_free(&b);
    return 0;
}
