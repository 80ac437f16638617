/* hunt_span.c: what a hunt keeps of one unit's conversations when it judges the unit by how
 * long and how much it talked (the nonstd-port and long-conn hunts): counts and volumes each
 * way, first and last, the longest conversation, and the connected time.
 *
 * Connected time is the union of the conversations' [start, end]: two parallel connections
 * count once, and sessions with gaps add up. Preparation feeds a unit's conversations in time
 * order (a unit lies in one pass's partition of address pairs), so the union only ever grows
 * at its end and needs no list: what a new conversation adds is the part past the end so far.
 * The clock hours that part touches are counted the same way.
 */
#include "hunt.h"

#define HUNT_SPAN_HOUR_MS 3600000ull

void hunt_span_add(hunt_span_t *s, const hunt_conv_t *c)
{
    uint64_t dur = c->t_end > c->t_start ? c->t_end - c->t_start : 0;
    if (!s->conns || c->t_start < s->first)
        s->first = c->t_start;
    if (c->t_end > s->last)
        s->last = c->t_end;
    if (!s->conns || dur > s->longest_ms) {
        s->longest_ms = dur;
        s->longest_records = c->n_records;
    }
    s->conns++;
    s->pkts_out += c->pkts_out;
    s->pkts_in += c->pkts_in;
    s->bytes_out += c->bytes_out;
    s->bytes_in += c->bytes_in;
    if (c->sampling > s->sampling)
        s->sampling = c->sampling;
    uint64_t from = c->t_start > s->cover_end ? c->t_start : s->cover_end;
    if (c->t_end <= from)
        return; /* inside what is covered already */
    s->covered_ms += c->t_end - from;
    s->cover_end = c->t_end;
    uint64_t h0 = from / HUNT_SPAN_HOUR_MS, h1 = c->t_end / HUNT_SPAN_HOUR_MS;
    if (h0 < s->next_hour)
        h0 = s->next_hour;
    if (h1 >= h0) {
        s->hours += h1 - h0 + 1;
        s->next_hour = h1 + 1;
    }
}
