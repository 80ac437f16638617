/* cmd_top.c: `flowhunt top`, the nfdump -s / -A of flowhunt: flows, packets and bytes summed
 * per key (source address, address pair, port, ...), the largest N printed.
 *
 * The scan is seg_scan's, by row group (SEG_SCAN_GROUPS: a daemon's store is a few large
 * segments, which whole-segment hand-out split unevenly, 58/42 on the bench's two): every
 * worker thread aggregates the row groups it is handed into its own hash tables, with no
 * locks, and the tables are merged at the end (sums do not care which thread saw a group). A
 * worker's keys are partitioned by hash into as many tables as there are workers, so that the
 * merge of one partition touches no other and the partitions merge on as many threads. Per
 * group, the filter selects rows first (decoding only its columns); then only the key columns and
 * the counters are decoded.
 *
 * The table is top_tab.h's (open addressing, dense entries, an inline probe). Keys and hashes
 * of a chunk of rows are computed first so the probe loop can prefetch slots ahead: with
 * millions of keys (-A srcip,dstip) the table is far larger than the caches.
 *
 * A field of either end (ip, port, as: nfdump's -s ip) keys each selected row twice, by its
 * source's value and by its destination's: the batch is summed once per end (top_batch_key),
 * through the same paths as any key.
 *
 * An address field may be aggregated by network (srcip/24, IPv6 /64 unless given: nfdump's -A
 * srcip4/24): its host bits are cleared where the key is made, and in the dictionary path on
 * each code's address, so several codes of one group fold into one network's sums.
 *
 * Two keys skip the per-row probe. One address column (--by srcip) is read as the group's
 * dictionary codes (seg_batch_codes): rows are summed per code in a small array and each
 * address used is probed once per group, a fifth of the probes on the bench's 2M flows, and
 * no 16-byte address is made per row. One field of 1 or 2 bytes (--by dstport, proto) indexes
 * a per-worker array of sums directly, folded into the table once at the end.
 *
 * --times keeps each key's first and last time (rwuniq's sTime-Earliest, eTime-Latest) in
 * every table, after the sums: it takes the row path, where the two other paths sum per
 * code or value without a table entry to keep them in.
 *
 * --distinct D (SiLK rwuniq's distinct:, which nfdump lacks) counts the distinct values of D
 * among each key's flows: the scan sums under the key K,D as for any key, and top_distinct
 * folds each K's entries into one, their number kept after the sums. Exact, at the memory of
 * -A K,D: fan-out (distinct destinations of a source) is a hunting question that an estimate
 * near a threshold would answer badly.
 *
 * The ranking is top_rank.h's (a radix sort of every key, or a heap of a few; -n N is the head
 * of -n 0). With many keys the formatting of the lines runs on two threads too.
 *
 * Counters are corrected by the sampling rate (1 in N: packets and bytes times N) unless --raw;
 * the flow count is the number of records either way, as an exporter cannot say how many flows
 * it did not sample. Products and sums saturate at 2^64-1 (satmath.h), which a warning names.
 *
 * A field a flow lacks is absent in the key, not 0 (top_key_t.len): a key of its own.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "enrich.h"
#include "filter.h"
#include "flow_print.h"
#include "timearg.h"
#include "top_rank.h"
#include "top_tab.h"
#include "utf8.h"

#define TOP_MAX_FIELDS 8
#define TOP_MAX_KEY 64
#define TOP_CHUNK 1024 /* rows whose keys and hashes are made before they are probed */

#define TOP_MAX_PARTS 16       /* partitions of a worker's keys: one a worker (top_part) */
#define TOP_MERGE_SPLIT 16384u /* keys to move from which the partitions merge on threads */

/* ---- keys ---------------------------------------------------------------------------------- */

typedef struct top_field_def {
    const char *name;
    int col;
} top_field_def_t;

static const top_field_def_t top_field_defs[] = {
    {"srcip", FLOW_COL_src_addr},   {"dstip", FLOW_COL_dst_addr},    {"srcport", FLOW_COL_src_port},
    {"dstport", FLOW_COL_dst_port}, {"proto", FLOW_COL_proto},       {"srcas", FLOW_COL_src_as},
    {"dstas", FLOW_COL_dst_as},     {"exporter", FLOW_COL_exporter}, {"tos", FLOW_COL_tos},
    {"inif", FLOW_COL_in_if},       {"outif", FLOW_COL_out_if},      {"vlan", FLOW_COL_vlan},
    {"nexthop", FLOW_COL_next_hop}, {"flags", FLOW_COL_tcp_flags},
};
#define TOP_N_FIELD_DEFS (sizeof top_field_defs / sizeof top_field_defs[0])

/* Fields of either end (nfdump -s ip, port, as): a flow counts once under its source's value
 * and once under its destination's (twice under one value when both ends have it), so the
 * batch is summed twice, the second time with the destination's columns (top_key_t.alt). */
typedef struct top_either_def {
    const char *name;
    int src, dst;
} top_either_def_t;

static const top_either_def_t top_either_defs[] = {
    {"ip", FLOW_COL_src_addr, FLOW_COL_dst_addr},
    {"port", FLOW_COL_src_port, FLOW_COL_dst_port},
    {"as", FLOW_COL_src_as, FLOW_COL_dst_as},
};
#define TOP_N_EITHER_DEFS (sizeof top_either_defs / sizeof top_either_defs[0])

typedef struct top_key {
    int n;
    int col[TOP_MAX_FIELDS];
    /* a field of either end: the destination's column, summed in a second pass over the
     * batch with col[i] replaced (top_key_other); -1 for a field of one column */
    int alt[TOP_MAX_FIELDS];
    int either; /* some field has an alt */
    const char *name[TOP_MAX_FIELDS];
    uint32_t off[TOP_MAX_FIELDS], width[TOP_MAX_FIELDS];
    /* an address field aggregated by network (srcip/24): IPv4 and IPv6 prefix lengths; 0 for
     * the whole address */
    uint8_t plen4[TOP_MAX_FIELDS], plen6[TOP_MAX_FIELDS];
    /* A field a flow does not carry (no ports in an ICMP record, no AS sent) is absent, not 0
     * (docs/FLOW_RECORD.md): the byte after the fields has bit i set when field i is absent,
     * whose bytes are then zero, so an absent value is a key of its own, printed as flowhunt
     * cat prints it ("-", an empty CSV cell, JSON null), never merged with a real 0 or ::. */
    uint32_t len; /* bytes of the fields; the absent byte is at len */
    uint32_t kw;  /* stored width: len + 1 rounded up to 8 */
    /* --distinct: in the key printed, the name of the count that follows the sums
     * ("distinct_dstip"), else "" */
    char distinct[64];
    int times; /* --times: in the key printed, the first and last times follow */
    uint32_t times_off; /* and where they lie in a printed entry: its table's times_off */
} top_key_t;

/* Clears the host bits of a 16-byte address: past plen4 of an IPv4 (mapped) one, past plen6
 * of an IPv6 one. */
static void top_mask_addr(uint8_t *a, unsigned plen4, unsigned plen6)
{
    flow_addr_t x;
    memcpy(&x, a, 16);
    unsigned keep = flow_addr_is_v4(&x) ? 96 + plen4 : plen6;
    for (unsigned b = keep / 8; b < 16; b++)
        a[b] = b * 8 >= keep ? 0 : (uint8_t)(a[b] & (0xff00u >> (keep - b * 8)));
}

/* "srcip/24" or "srcip/24/48": the field name cut off, the prefix lengths set (IPv6 /64 when
 * only IPv4's is given, as the hunts pair a /24 with a /64). 0, or -1 with a message naming
 * `opt`, the option that gave it. */
static int top_field_mask(const char *opt, char *tok, uint8_t *plen4, uint8_t *plen6)
{
    char *slash = strchr(tok, '/');
    *plen4 = *plen6 = 0;
    if (!slash)
        return 0;
    *slash = '\0';
    char *end;
    unsigned long v4 = strtoul(slash + 1, &end, 10), v6 = 64;
    if (end != slash + 1 && *end == '/') {
        char *e6;
        v6 = strtoul(end + 1, &e6, 10);
        if (e6 == end + 1)
            v6 = 0;
        end = e6;
    }
    if (end == slash + 1 || *end || v4 < 1 || v4 > 32 || v6 < 1 || v6 > 128) {
        fprintf(stderr,
                "flowhunt top: %s %s/%s: want an IPv4 prefix length 1-32 and, after a second "
                "'/', an IPv6 one 1-128 (srcip/24, srcip/24/48)\n",
                opt, tok, slash + 1);
        return -1;
    }
    *plen4 = (uint8_t)v4;
    *plen6 = (uint8_t)v6;
    return 0;
}

/* Whether a prefix pair p4/p6 (0: the whole address) cuts an address finer than q4/q6 does:
 * no shorter for either family, longer for one. */
static int top_mask_finer(unsigned p4, unsigned p6, unsigned q4, unsigned q6)
{
    p4 = p4 ? p4 : 33;
    p6 = p6 ? p6 : 129;
    q4 = q4 ? q4 : 33;
    q6 = q6 ? q6 : 129;
    return p4 >= q4 && p6 >= q6 && (p4 > q4 || p6 > q6);
}

/* Appends field `name` (column c, of either end with alt >= 0, by network with p4/p6) to k,
 * with its place in the key's bytes. 0, or -1 with a message naming `opt`: a column once in
 * the key, on either side (ip with srcip would key a flow by its source twice), and at most
 * TOP_MAX_FIELDS fields in 40 bytes. With `finer` (--distinct's fields), a column the key
 * holds by network may come again cut finer: the hosts of each /24 are --by dstip/24
 * --distinct dstip. */
static int top_key_add(const char *opt, top_key_t *k, const char *name, int c, int alt, uint8_t p4,
                       uint8_t p6, int finer)
{
    for (int j = 0; j < k->n; j++)
        if (k->col[j] == c || k->alt[j] == c ||
            (alt >= 0 && (k->col[j] == alt || k->alt[j] == alt))) {
            if (finer && alt < 0 && k->alt[j] < 0 && k->col[j] == c &&
                top_mask_finer(p4, p6, k->plen4[j], k->plen6[j]))
                continue;
            fprintf(stderr, "flowhunt top: %s: '%s' repeats a column already in the key%s\n", opt,
                    name,
                    finer && flow_cols[c].type == FLOW_T_ADDR
                        ? " (only a finer cut of a network may: --by dstip/24 --distinct dstip)"
                        : "");
            return -1;
        }
    if (k->n == TOP_MAX_FIELDS || k->len + flow_cols[c].width > 40) {
        fprintf(stderr,
                "flowhunt top: %s: at most 40 bytes of key (two addresses and a few "
                "small fields)\n",
                opt);
        return -1;
    }
    if (p4 && flow_cols[c].type != FLOW_T_ADDR) {
        fprintf(stderr, "flowhunt top: %s %s: only an address takes a prefix length\n", opt, name);
        return -1;
    }
    k->plen4[k->n] = p4;
    k->plen6[k->n] = p6;
    k->col[k->n] = c;
    k->alt[k->n] = alt;
    k->either |= alt >= 0;
    k->name[k->n] = name;
    k->off[k->n] = k->len;
    k->width[k->n] = (uint32_t)flow_cols[c].width;
    k->len += (uint32_t)flow_cols[c].width;
    k->n++;
    k->kw = (k->len + 1 + 7) & ~7u; /* the absent byte too */
    return 0;
}

/* Parses "srcip,dstip", the value of option `opt`; prints the problem and returns -1 when it
 * is not a key. */
static int top_key_parse(const char *opt, const char *s, top_key_t *k)
{
    memset(k, 0, sizeof *k);
    char buf[256];
    if (strlen(s) >= sizeof buf) {
        fprintf(stderr, "flowhunt top: %s is too long\n", opt);
        return -1;
    }
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i;
        uint8_t p4, p6;
        if (top_field_mask(opt, tok, &p4, &p6) != 0)
            return -1;
        const char *name = NULL;
        int c = -1, alt = -1;
        for (i = 0; i < TOP_N_FIELD_DEFS && !name; i++)
            if (strcmp(tok, top_field_defs[i].name) == 0) {
                name = top_field_defs[i].name;
                c = top_field_defs[i].col;
            }
        for (i = 0; i < TOP_N_EITHER_DEFS && !name; i++)
            if (strcmp(tok, top_either_defs[i].name) == 0) {
                name = top_either_defs[i].name;
                c = top_either_defs[i].src;
                alt = top_either_defs[i].dst;
            }
        if (!name) {
            fprintf(stderr, "flowhunt top: %s: unknown field '%s' (use", opt, tok);
            for (i = 0; i < TOP_N_FIELD_DEFS; i++)
                fprintf(stderr, " %s", top_field_defs[i].name);
            fprintf(stderr, ", or of either end");
            for (i = 0; i < TOP_N_EITHER_DEFS; i++)
                fprintf(stderr, " %s", top_either_defs[i].name);
            fprintf(stderr, "; comma separated)\n");
            return -1;
        }
        if (top_key_add(opt, k, name, c, alt, p4, p6, 0) != 0)
            return -1;
    }
    if (k->n == 0) {
        fprintf(stderr, "flowhunt top: %s needs at least one field\n", opt);
        return -1;
    }
    return 0;
}

/* --by K --distinct D: the key the scan sums under, K's fields then D's, so that a K's
 * distinct D values are its entries (top_distinct folds them). D's fields are of one end: a
 * value counted once per flow. 0, or -1 with a message. */
static int top_key_join(const top_key_t *k, const top_key_t *d, top_key_t *out)
{
    if (d->either) {
        fprintf(stderr, "flowhunt top: --distinct takes fields of one end (srcip, dstport, ...), "
                        "not ip, port or as\n");
        return -1;
    }
    *out = *k;
    for (int i = 0; i < d->n; i++)
        if (top_key_add("--distinct", out, d->name[i], d->col[i], -1, d->plen4[i], d->plen6[i],
                        1) != 0)
            return -1;
    return 0;
}

/* The key of the second pass of a key with fields of either end: their destination columns. */
static void top_key_other(const top_key_t *k, top_key_t *out)
{
    *out = *k;
    for (int i = 0; i < k->n; i++)
        if (k->alt[i] >= 0)
            out->col[i] = k->alt[i];
}

/* The key's bytes in the order ties compare them (top_set_t.cmp): an address's as stored
 * (bytewise is its order), a number's most significant byte first (stored in the machine's
 * order), the padding last. */
static void top_key_cmp(const top_key_t *k, uint8_t cmp[64])
{
    for (uint32_t i = 0; i < 64; i++)
        cmp[i] = (uint8_t)i;
    for (int f = 0; f < k->n; f++) {
        if (flow_cols[k->col[f]].type == FLOW_T_ADDR || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
            continue;
        for (uint32_t b = 0; b < k->width[f]; b++)
            cmp[k->off[f] + b] = (uint8_t)(k->off[f] + k->width[f] - 1 - b);
    }
}

/* ---- the scan ------------------------------------------------------------------------------ */

typedef struct top_worker {
    top_tab_t *tab; /* n_parts tables, a key's by its hash (top_part) */
    int n_parts;
    flt_rows_t sel; /* the filter's rows of the batch */
    uint8_t *keys; /* a batch's keys, kw bytes each */
    uint64_t *hashes;
    top_sum_t *adds;  /* sums to add under keys[] (top_fold) */
    top_sum_t *csum;  /* a group's sums per dictionary code (top_batch_codes) */
    uint32_t csum_cap;
    top_sum_t *small; /* a one-field key of 1 or 2 bytes: the sums per value */
    seg_where_t where;
    int nomem;
} top_worker_t;

/* A key's table among its worker's: the tag's top bits, so that every table uses all of the
 * low half for its slots. Partition p of every worker holds the same keys, so the merge of one
 * partition does not touch another's and the partitions merge on as many threads. */
static inline top_tab_t *top_part(const top_worker_t *w, uint64_t h)
{
    return &w->tab[((h >> 32) * (uint64_t)w->n_parts) >> 32];
}

/* Partition `part` of every worker's tables merged into worker 0's, as a thread's job. */
typedef struct top_merge_job {
    top_worker_t *w;
    int n_workers, part, rc;
} top_merge_job_t;

static void *top_merge_run(void *arg)
{
    top_merge_job_t *j = arg;
    for (int i = 1; i < j->n_workers; i++) {
        if (!j->rc && top_tab_merge(&j->w[0].tab[j->part], &j->w[i].tab[j->part]) != 0)
            j->rc = -1;
        top_tab_free(&j->w[i].tab[j->part]);
    }
    return NULL;
}

/* Every worker's partitions into worker 0's: a thread per partition when there is enough to
 * move (-A srcip,dstip over 2 M flows, 884k pairs: 67 ms on one thread, 36 on two); on one
 * for fewer than TOP_MERGE_SPLIT keys, whose merge costs less than starting threads would
 * save. 0, or -1 out of memory. */
static int top_merge(top_worker_t *w, int n_workers)
{
    top_merge_job_t job[TOP_MAX_PARTS];
    const int n_parts = w[0].n_parts;
    size_t moved = 0;
    for (int i = 1; i < n_workers; i++)
        for (int p = 0; p < n_parts; p++)
            moved += w[i].tab[p].n;
    for (int p = 0; p < n_parts; p++)
        job[p] = (top_merge_job_t){w, n_workers, p, 0};
    if (moved >= TOP_MERGE_SPLIT)
        cmd_par(top_merge_run, job, sizeof job[0], n_parts);
    else
        for (int p = 0; p < n_parts; p++)
            top_merge_run(&job[p]);
    for (int p = 0; p < n_parts; p++)
        if (job[p].rc)
            return -1;
    return 0;
}

/* --distinct: the merged entries of (K, D) keys (kscan), worker 0's partitions, folded into
 * `out`, a table keyed by K alone (kout) whose entries carry the sums of their (K, D) entries
 * and, after the sums, how many there were: the distinct D values among K's flows (SiLK
 * rwuniq's distinct:; an absent D is one of them). Exact, as every pair is an entry already; a K's
 * pairs are as many as -A K,D prints. 0, or -1 out of memory. */
static int top_distinct(const top_worker_t *w, const top_key_t *kscan, const top_key_t *kout,
                        top_tab_t *out)
{
    if (top_tab_init(out, kout->kw, 1, kout->times) != 0)
        return -1;
    uint8_t kb[TOP_MAX_KEY];
    for (int p = 0; p < w->n_parts; p++) {
        const top_tab_t *t = &w->tab[p];
        for (uint32_t e = 0; e < t->n; e++) {
            memset(kb, 0, kout->kw);
            memcpy(kb, TOP_ENT(t, e), kout->len); /* K's fields come first */
            /* and K's absent bits are the first of the scan key's */
            kb[kout->len] = (uint8_t)(TOP_ENT(t, e)[kscan->len] & ((1u << kout->n) - 1));
            top_sum_t *sm = top_tab_get(out, kb, top_hash(kb, kout->kw));
            if (!sm)
                return -1;
            top_sum_add(sm, TOP_SUMS(t, e));
            uint64_t d = top_order_value(out, sm, TOP_DISTINCT) + 1;
            memcpy(sm + 1, &d, 8);
            if (kout->times) {
                const uint64_t *pt = top_times_of(t, TOP_SUMS(t, e));
                top_times_add(top_times_of(out, sm), pt[0], pt[1]);
            }
        }
    }
    return 0;
}

/* Adds the nonzero partial sums sums[0 .. n_vals] of a one-field key of `len` bytes to the
 * table, entry i under its key: dict[i] with a dictionary, else the value i (a small key);
 * entry n_vals under the field absent (rows without the column). Each key is probed once;
 * TOP_CHUNK at a time, hashed first so that the probes prefetch ahead as the row loop does.
 * 0, or -1 out of memory. */
static int top_fold(top_worker_t *w, const top_sum_t *sums, uint32_t n_vals,
                    const flow_addr_t *dict, uint32_t len, unsigned plen4, unsigned plen6)
{
    const uint32_t kw = w->tab[0].kw, n = n_vals + 1;
    for (uint32_t i = 0; i < n;) {
        int m = 0;
        for (; i < n && m < TOP_CHUNK; i++) {
            if (!sums[i].flows)
                continue;
            uint8_t *kp = w->keys + (size_t)m * kw;
            memset(kp, 0, kw);
            if (i == n_vals) {
                kp[len] = 1; /* the absent bit of the one field */
            } else if (!dict) {
                uint64_t v = i; /* little-endian host: the key's bytes, as top_batch copies them */
                memcpy(kp, &v, len);
            } else {
                memcpy(kp, &dict[i], 16);
                if (plen4) /* several codes may fall in one network: the probe adds them up */
                    top_mask_addr(kp, plen4, plen6);
            }
            w->hashes[m] = top_hash(kp, kw);
            w->adds[m++] = sums[i];
        }
        for (int j = 0; j < m; j++) {
            if (j + 2 * TOP_AHEAD < m)
                top_tab_prefetch_slot(top_part(w, w->hashes[j + 2 * TOP_AHEAD]),
                                      w->hashes[j + 2 * TOP_AHEAD]);
            if (j + TOP_AHEAD < m)
                top_tab_prefetch_entry(top_part(w, w->hashes[j + TOP_AHEAD]),
                                       w->hashes[j + TOP_AHEAD]);
            top_sum_t *s =
                top_tab_get(top_part(w, w->hashes[j]), w->keys + (size_t)j * kw, w->hashes[j]);
            if (!s)
                return -1;
            top_sum_add(s, &w->adds[j]);
        }
    }
    return 0;
}

typedef struct top_ctx {
    const flt_t *flt;
    top_key_t key;
    top_key_t key_other; /* with key.either: its destination columns (top_key_other) */
    int raw;
    int times; /* --times: each key's first and last time (the row path only) */
    top_worker_t *w;
    int n_workers;
    cmd_progress_t progress;
    uint64_t rows_scanned, rows_selected;
} top_ctx_t;

/* seg_scan hands its one `arg` to both callbacks: the context here, whose filter decides. */
static int top_want(void *arg, const seg_file_t *f, uint32_t g)
{
    const top_ctx_t *c = arg;
    return flt_want((void *)c->flt, f, g);
}

/* A group's selected rows keyed by one address column as dictionary codes: summed per code
 * into a small array, then each code's address probed once (top_fold), where the row loop
 * probes once per row. */
static int top_batch_codes(top_worker_t *w, const seg_codes_t *cd, const uint32_t *rows, int k,
                           uint32_t n_rows, const uint64_t *pk, const uint64_t *by,
                           const uint32_t *sa, unsigned plen4, unsigned plen6)
{
    const uint32_t nd = cd->n_dict + 1; /* the last: rows without the column */
    if (w->csum_cap < nd) {
        top_sum_t *cs = realloc(w->csum, (size_t)nd * sizeof *cs);
        if (!cs) {
            w->nomem = 1;
            return -SEG_E_NOMEM;
        }
        w->csum = cs;
        w->csum_cap = nd;
    }
    top_sum_t *cs = w->csum;
    memset(cs, 0, (size_t)nd * sizeof *cs);
    const uint32_t *code = cd->code;
    const uint8_t *pres = cd->present;
    if (!pres && !sa && (uint32_t)k == n_rows) {
        /* every row, every one with the column, unsampled (or --raw): the rows are 0 .. k-1 */
        for (int r = 0; r < k; r++) {
            top_sum_row(&cs[code[r]], pk[r], by[r], 1);
        }
    } else {
        for (int j = 0; j < k; j++) {
            uint32_t r = rows[j];
            top_sum_row(&cs[pres && !pres[r] ? nd - 1 : code[r]], pk[r], by[r], sa ? sa[r] : 1);
        }
    }
    if (top_fold(w, cs, cd->n_dict, cd->dict, 16, plen4, plen6) != 0) {
        w->nomem = 1;
        return -SEG_E_NOMEM;
    }
    return 0;
}

/* Whether a selected row has a sampling interval above 1. A group with none (most: 1 is what an
 * unsampled exporter's flows carry, absent reads 0) needs no multiplication: with every row
 * selected this is one OR over the column, which vectorizes, where the row loops tested each
 * row. */
static int top_sampled(const uint32_t *sa, const uint32_t *rows, int k, uint32_t n_rows)
{
    uint32_t any = 0;
    if ((uint32_t)k == n_rows)
        for (uint32_t i = 0; i < n_rows; i++)
            any |= sa[i] > 1;
    else
        for (int j = 0; j < k; j++)
            any |= sa[rows[j]] > 1;
    return any != 0;
}

/* --times: row r's [min, max] of the times it has (exporters' clocks do run backwards) into
 * tm; a row with neither time adds nothing. */
static void top_row_times(const seg_batch_t *b, uint32_t r, uint64_t *tm)
{
    const uint64_t *ts = b->vals[FLOW_COL_time_start], *te = b->vals[FLOW_COL_time_end];
    const uint8_t *ps = b->present[FLOW_COL_time_start], *pe = b->present[FLOW_COL_time_end];
    int hs = !ps || ps[r], he = !pe || pe[r];
    if (!hs && !he)
        return;
    uint64_t a = hs ? ts[r] : te[r], z = he ? te[r] : ts[r];
    top_times_add(tm, a < z ? a : z, a < z ? z : a);
}

/* Sums the k selected rows (w->sel.v) of a batch under `key`. */
static int top_batch_key(top_ctx_t *c, top_worker_t *w, seg_batch_t *b, const top_key_t *key, int k)
{
    const uint32_t kw = key->kw;
    /* A key that is one address column the filter did not decode: its dictionary codes */
    seg_codes_t codes;
    int use_codes = 0;
    if (key->n == 1 && flow_cols[key->col[0]].type == FLOW_T_ADDR &&
        !((b->loaded >> key->col[0]) & 1) && !c->times) {
        /* only the selected rows' codes: after a filter, a linked column's lookups for the
         * rows it dropped were a sixth of `top 'dst port 53'` */
        use_codes = seg_batch_codes_of(b, key->col[0], (uint32_t)k < b->n_rows ? w->sel.v : NULL,
                                       (uint32_t)k, &codes, &w->where);
        if (use_codes < 0)
            return use_codes;
    }
    int need[TOP_MAX_FIELDS + 5], n_need = 0;
    for (int i = 0; i < key->n && !use_codes; i++)
        need[n_need++] = key->col[i];
    need[n_need++] = FLOW_COL_packets;
    need[n_need++] = FLOW_COL_bytes;
    if (c->times) {
        need[n_need++] = FLOW_COL_time_start;
        need[n_need++] = FLOW_COL_time_end;
    }
    /* counters are corrected by the sampling interval, unless the group's zone map says no
     * row has one above 1: then the column is not decoded at all (decoding it took 15-30 % of
     * top's CPU on 2 M unsampled flows, one thread) */
    int sampled = !c->raw && !seg_batch_unsampled(b);
    if (sampled)
        need[n_need++] = FLOW_COL_sampling;
    for (int i = 0; i < n_need; i++)
        if (!((b->loaded >> need[i]) & 1)) {
            int rc = seg_batch_load(b, need[i], &w->where);
            if (rc != 0)
                return rc;
        }
    const uint64_t *pk = b->vals[FLOW_COL_packets], *by = b->vals[FLOW_COL_bytes];
    const uint32_t *sa = sampled ? b->vals[FLOW_COL_sampling] : NULL;
    if (sa && !top_sampled(sa, w->sel.v, k, b->n_rows))
        sa = NULL;
    if (use_codes)
        return top_batch_codes(w, &codes, w->sel.v, k, b->n_rows, pk, by, sa, key->plen4[0],
                               key->plen6[0]);
    if (w->small) {
        /* a one-field key of at most 2 bytes indexes its sums directly (top_fold at the end);
         * not with --times, whose first and last are the table's */
        const uint8_t *v8 = b->vals[key->col[0]], *pr = b->present[key->col[0]];
        const uint16_t *v16 = b->vals[key->col[0]];
        const uint32_t absent = 1u << (8 * key->width[0]); /* the slot after every value */
        for (int j = 0; j < k; j++) {
            uint32_t r = w->sel.v[j];
            uint32_t v = pr && !pr[r] ? absent : key->width[0] == 1 ? v8[r] : v16[r];
            top_sum_row(&w->small[v], pk[r], by[r], sa ? sa[r] : 1);
        }
        return 0;
    }
    /* Keys are assembled in w->keys: the fields, then the absent byte (top_key_t.len). */
    /* TOP_CHUNK rows at a time: keys and hashes first, field by field (a tight copy loop per
     * column), so the probe loop can prefetch slots ahead; a chunk's keys and hashes stay in
     * L1, where a whole group's were a megabyte written and read back beside the table. */
    for (int base = 0; base < k; base += TOP_CHUNK) {
        const int m = k - base < TOP_CHUNK ? k - base : TOP_CHUNK;
        const uint32_t *rows = w->sel.v + base;
        memset(w->keys, 0, (size_t)m * kw);
        for (int i = 0; i < key->n; i++) {
            const uint32_t wid = key->width[i], off = key->off[i];
            const uint8_t *col = b->vals[key->col[i]], *pr = b->present[key->col[i]];
            uint8_t *dst = w->keys + off;
            for (int j = 0; j < m; j++)
                memcpy(dst + (size_t)j * kw, col + (size_t)rows[j] * wid, wid);
            if (key->plen4[i])
                for (int j = 0; j < m; j++)
                    top_mask_addr(dst + (size_t)j * kw, key->plen4[i], key->plen6[i]);
            for (int j = 0; pr && j < m; j++)
                if (!pr[rows[j]]) {
                    memset(dst + (size_t)j * kw, 0, wid);
                    w->keys[(size_t)j * kw + key->len] |= (uint8_t)(1u << i);
                }
        }
        for (int j = 0; j < m; j++)
            w->hashes[j] = top_hash(w->keys + (size_t)j * kw, kw);
        for (int j = 0; j < m; j++) {
            if (j + 2 * TOP_AHEAD < m)
                top_tab_prefetch_slot(top_part(w, w->hashes[j + 2 * TOP_AHEAD]),
                                      w->hashes[j + 2 * TOP_AHEAD]);
            if (j + TOP_AHEAD < m)
                top_tab_prefetch_entry(top_part(w, w->hashes[j + TOP_AHEAD]),
                                       w->hashes[j + TOP_AHEAD]);
            uint32_t r = rows[j];
            const uint8_t *kp = w->keys + (size_t)j * kw;
            top_sum_t *s = top_tab_get(top_part(w, w->hashes[j]), kp, w->hashes[j]);
            if (!s) {
                w->nomem = 1;
                return -SEG_E_NOMEM;
            }
            /* an absent or zero sampling interval means unsampled (top_sum_row) */
            top_sum_row(s, pk[r], by[r], sa ? sa[r] : 1);
            if (c->times)
                top_row_times(b, r, top_times_of(top_part(w, w->hashes[j]), s));
        }
    }
    return 0;
}

static int top_batch(void *arg, int worker, seg_batch_t *b)
{
    top_ctx_t *c = arg;
    top_worker_t *w = &c->w[worker];
    int k = flt_select_rows(c->flt, &w->sel, b, &w->where);
    __atomic_fetch_add(&c->rows_scanned, b->n_rows, __ATOMIC_RELAXED);
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(&c->progress, "top: %llu rows scanned, %llu selected",
                          (unsigned long long)__atomic_load_n(&c->rows_scanned, __ATOMIC_RELAXED),
                          (unsigned long long)__atomic_load_n(&c->rows_selected, __ATOMIC_RELAXED));
    if (k <= 0)
        return k;
    __atomic_fetch_add(&c->rows_selected, (uint64_t)k, __ATOMIC_RELAXED);
    int rc = top_batch_key(c, w, b, &c->key, k);
    if (rc == 0 && c->key.either)
        rc = top_batch_key(c, w, b, &c->key_other, k);
    return rc;
}

/* ---- output -------------------------------------------------------------------------------- */

typedef enum top_fmt { TOP_TEXT, TOP_CSV, TOP_JSON } top_fmt_t;

/* Whether field i of key kb is absent (top_key_t.len). */
static int top_absent(const top_key_t *key, int i, const uint8_t *kb)
{
    return (kb[key->len] >> i) & 1;
}

/* Field i of key kb as text into out: its length, or -1 when absent (text "-", CSV empty, JSON
 * null, as flowhunt cat prints an absent field). */
static int top_field_text(char *out, const top_key_t *key, int i, const uint8_t *kb)
{
    int col = key->col[i];
    if (top_absent(key, i, kb))
        return -1;
    if (flow_cols[col].type == FLOW_T_ADDR) {
        flow_addr_t a;
        memcpy(&a, kb + key->off[i], 16);
        size_t l = flow_print_addr(out, &a);
        if (key->plen4[i]) /* a network: its prefix length, as CIDR */
            l += (size_t)sprintf(out + l, "/%u",
                                 flow_addr_is_v4(&a) ? key->plen4[i] : key->plen6[i]);
        return (int)l;
    }
    uint64_t v = 0;
    memcpy(&v, kb + key->off[i], key->width[i]); /* little-endian host: the value */
    return (int)flow_print_u64(out, v);
}

/* Appends `s` (len bytes, `cols` columns wide) padded to `width` columns, on the left
 * (right-aligned) or the right. */
static char *top_pad_cols(char *p, const char *s, size_t len, size_t cols, size_t width, int right)
{
    if (right)
        for (size_t i = cols; i < width; i++)
            *p++ = ' ';
    memcpy(p, s, len);
    p += len;
    if (!right)
        for (size_t i = cols; i < width; i++)
            *p++ = ' ';
    return p;
}

/* The same for ASCII text (keys, sums, names): a column a byte. */
static char *top_pad(char *p, const char *s, size_t len, size_t width, int right)
{
    return top_pad_cols(p, s, len, len, width, right);
}

/* Formatted by hand into one buffer per line: -A output can be millions of lines, where
 * printf's parsing of the format per field dominated. */
#define TOP_LINE_MAX 4096     /* a line's bound: 8 fields, two addresses' context, 3 sums */
#define TOP_PRINT_CHUNK 8192u /* lines a thread formats before its turn to write them */

static const char *const top_sum_names[3] = {"flows", "packets", "bytes"};

#define TOP_MAX_SUMS 6 /* flows, packets, bytes, a --distinct count, --times' two */

/* The values printed after entry `ent`'s key into v[TOP_MAX_SUMS], and how many: flows,
 * packets, bytes; with --distinct the count (key->distinct names it); with --times the first
 * and last times (top_sum_is_time). */
static int top_sums_of(const uint8_t *ent, const top_key_t *key, uint64_t *v)
{
    const top_sum_t *sm = (const top_sum_t *)(ent + key->kw);
    int n = 0;
    v[n++] = sm->flows;
    v[n++] = sm->packets;
    v[n++] = sm->bytes;
    if (key->distinct[0])
        v[n++] = top_order_value(NULL, sm, TOP_DISTINCT);
    if (key->times) {
        uint64_t tm[2];
        memcpy(tm, ent + key->times_off, sizeof tm);
        v[n++] = tm[0];
        v[n++] = tm[1];
    }
    return n;
}

static int top_n_sums(const top_key_t *key)
{
    return 3 + (key->distinct[0] != 0) + 2 * (key->times != 0);
}

static int top_sum_is_time(const top_key_t *key, int i)
{
    return key->times && i >= top_n_sums(key) - 2;
}

static const char *top_sum_name(const top_key_t *key, int i)
{
    if (top_sum_is_time(key, i))
        return i == top_n_sums(key) - 2 ? "first_seen" : "last_seen";
    return i < 3 ? top_sum_names[i] : key->distinct;
}

/* Value i of the sums as text into cell: a number, or a time as ISO 8601 (as flowhunt count
 * prints its bins); -1 for a key none of whose flows had a time (text "-", CSV empty, JSON
 * null). */
static int top_sum_text(char *cell, const top_key_t *key, int i, uint64_t v)
{
    if (!top_sum_is_time(key, i))
        return (int)flow_print_u64(cell, v);
    if (!v)
        return -1;
    return timearg_format_iso(v, cell);
}

/* --geoip / --asn: what the databases say of each address field (en_cell: country, AS
 * number, AS organisation), in columns right after it (nfdump -G's country and AS beside an
 * address, as columns a script can read). */
#define TOP_X_N EN_N_CELLS
#define TOP_MAX_COLS (TOP_MAX_FIELDS + 2 * TOP_X_N + TOP_MAX_SUMS) /* two addresses at most */

typedef struct top_ctxcols {
    en_ctx_t *en; /* NULL: no context columns */
    int want[TOP_X_N];
} top_ctxcols_t;

/* The context columns that follow field i: the wanted ones of an address field, else none. */
static int top_x_of(const top_ctxcols_t *x, const top_key_t *key, int i, int *xs)
{
    int n = 0;
    if (x->en && flow_cols[key->col[i]].type == FLOW_T_ADDR)
        for (int k = 0; k < TOP_X_N; k++)
            if (x->want[k])
                xs[n++] = k;
    return n;
}

/* Context cell k of field i of entry `ent` into out (EN_CELL_MAX bytes): its length, or -1 when
 * the databases do not know it (text "-", CSV empty, JSON null). A network (srcip/24) is looked
 * up by its first address. */
static int top_x_text(char *out, const top_ctxcols_t *x, const top_key_t *key, int i,
                      const uint8_t *ent, int k, top_fmt_t fmt)
{
    flow_addr_t a;
    hunt_geo_t g;
    memcpy(&a, ent + key->off[i], 16);
    if (top_absent(key, i, ent) || !en_lookup(x->en, &a, &g))
        return -1;
    return en_cell(out, &g, k,
                   fmt == TOP_JSON  ? EN_OUT_JSON
                   : fmt == TOP_CSV ? EN_OUT_CSV
                                    : EN_OUT_TEXT);
}

/* The header name of field i's context column k ("srcip_country"). */
static size_t top_x_name(char *out, const top_key_t *key, int i, int k)
{
    return (size_t)sprintf(out, "%s_%s", key->name[i], en_cell_names[k]);
}

/* One line of entry `ent` (key, its context, then sums) into p, padded to wid[] (one a
 * column, in order) as text; its end. */
static char *top_line(char *p, const uint8_t *ent, const top_key_t *key, const top_ctxcols_t *x,
                      top_fmt_t fmt, const size_t *wid)
{
    char cell[TOP_LINE_MAX / 2];
    const int nf = key->n;
    int ci = 0;
    uint64_t v[TOP_MAX_SUMS];
    const int ns = top_sums_of(ent, key, v);
    if (fmt == TOP_JSON)
        *p++ = '{';
    for (int i = 0; i < nf; i++) {
        int xs[TOP_X_N], nx = top_x_of(x, key, i, xs);
        for (int c = -1; c < nx; c++, ci++) {
            /* c -1: the field itself; then its context columns */
            int l;
            const char *name = key->name[i];
            char xname[64];
            int quoted = 0;
            if (c < 0) {
                l = top_field_text(cell, key, i, ent);
                quoted = flow_cols[key->col[i]].type == FLOW_T_ADDR;
            } else {
                l = top_x_text(cell, x, key, i, ent, xs[c], fmt);
                top_x_name(xname, key, i, xs[c]);
                name = xname;
                quoted = xs[c] != EN_CELL_ASN;
            }
            if (fmt == TOP_TEXT) {
                /* context cells (an AS organisation) may be UTF-8 */
                p = l < 0 ? top_pad(p, "-", 1, wid[ci], 0)
                    : c >= 0
                        ? top_pad_cols(p, cell, (size_t)l, utf8_chars(cell, (size_t)l), wid[ci], 0)
                        : top_pad(p, cell, (size_t)l, wid[ci], 0);
                *p++ = ' ';
                *p++ = ' ';
            } else if (fmt == TOP_CSV) {
                if (l > 0)
                    p = top_pad(p, cell, (size_t)l, 0, 0);
                *p++ = ',';
            } else if (l < 0) {
                p += sprintf(p, "\"%s\":null,", name);
            } else {
                /* the field's text is `l` bytes, not a string */
                p += sprintf(p, quoted ? "\"%s\":\"%.*s\"," : "\"%s\":%.*s,", name, l, cell);
            }
        }
    }
    for (int i = 0; i < ns; i++, ci++) {
        int l = top_sum_text(cell, key, i, v[i]);
        const int quoted = top_sum_is_time(key, i);
        if (fmt == TOP_TEXT) {
            p = l < 0 ? top_pad(p, "-", 1, wid[ci], 1) : top_pad(p, cell, (size_t)l, wid[ci], 1);
            if (i < ns - 1) {
                *p++ = ' ';
                *p++ = ' ';
            }
        } else if (fmt == TOP_CSV) {
            if (l > 0)
                p = top_pad(p, cell, (size_t)l, 0, 0);
            if (i < ns - 1)
                *p++ = ',';
        } else {
            p += sprintf(p, "\"%s\":", top_sum_name(key, i));
            if (l < 0)
                p = stpcpy(p, "null");
            else
                p += sprintf(p, quoted ? "\"%.*s\"" : "%.*s", l, cell);
            *p++ = i < ns - 1 ? ',' : '}';
        }
    }
    *p++ = '\n';
    return p;
}

/* The lines of order[0 .. n) on `threads` threads: thread j formats chunks j, j + threads, ...
 * (TOP_PRINT_CHUNK lines each) into its buffer and writes each in its turn, so one formats
 * while another writes and the bytes are those of one thread. For text, first the widths:
 * each thread's maximum over its share of the lines. */
typedef struct top_out {
    const uint8_t *const *order;
    uint32_t n;
    const top_key_t *key;
    const top_ctxcols_t *x;
    top_fmt_t fmt;
    int threads, phase; /* phase 0: widths; 1: lines */
    int n_cols;
    size_t wid[2][TOP_MAX_COLS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t turn; /* the chunk whose turn it is to be written */
} top_out_t;

typedef struct top_out_job {
    top_out_t *o;
    int j;
    int nomem;
} top_out_job_t;

static void *top_out_run(void *arg)
{
    top_out_job_t *job = arg;
    top_out_t *o = job->o;
    const top_key_t *key = o->key;
    const int nf = key->n, j = job->j;
    const uint8_t *const *order = o->order;
    char cell[TOP_LINE_MAX / 2];
    if (o->phase == 0) {
        /* widths from what will be printed, so the table lines up */
        size_t *wid = o->wid[j];
        uint32_t lo = (uint32_t)((uint64_t)o->n * j / o->threads),
                 hi = (uint32_t)((uint64_t)o->n * (j + 1) / o->threads);
        for (uint32_t i = lo; i < hi; i++) {
            uint64_t v[TOP_MAX_SUMS];
            const int ns = top_sums_of(order[i], key, v);
            if (i + 2 * TOP_AHEAD < hi) {
                __builtin_prefetch(order[i + 2 * TOP_AHEAD]);
                __builtin_prefetch(order[i + 2 * TOP_AHEAD] + key->kw + sizeof(top_sum_t) - 1);
            }
            int ci = 0;
            for (int f = 0; f < nf; f++) {
                int xs[TOP_X_N], nx = top_x_of(o->x, key, f, xs);
                int l = top_field_text(cell, key, f, order[i]);
                if (l > 0 && (size_t)l > wid[ci])
                    wid[ci] = (size_t)l;
                ci++;
                for (int c = 0; c < nx; c++, ci++) {
                    int xl = top_x_text(cell, o->x, key, f, order[i], xs[c], TOP_TEXT);
                    size_t cols = xl > 0 ? utf8_chars(cell, (size_t)xl) : 0;
                    if (cols > wid[ci])
                        wid[ci] = cols;
                }
            }
            for (int f = 0; f < ns; f++, ci++) {
                int l = top_sum_text(cell, key, f, v[f]);
                if (l > 0 && (size_t)l > wid[ci])
                    wid[ci] = (size_t)l;
            }
        }
        return NULL;
    }
    size_t cap = (size_t)TOP_PRINT_CHUNK * 64;
    char *buf = malloc(cap);
    if (!buf)
        job->nomem = 1;
    for (size_t c = (size_t)j; c * TOP_PRINT_CHUNK < o->n; c += (size_t)o->threads) {
        uint32_t lo = (uint32_t)(c * TOP_PRINT_CHUNK),
                 hi = o->n - lo < TOP_PRINT_CHUNK ? o->n : lo + TOP_PRINT_CHUNK;
        size_t len = 0;
        for (uint32_t i = lo; i < hi && buf; i++) {
            if (cap - len < TOP_LINE_MAX) {
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    job->nomem = 1;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
            /* keys are in insertion order, rows in rank order: fetch ahead of formatting */
            if (i + 2 * TOP_AHEAD < hi) {
                __builtin_prefetch(order[i + 2 * TOP_AHEAD]);
                __builtin_prefetch(order[i + 2 * TOP_AHEAD] + key->kw + sizeof(top_sum_t) - 1);
            }
            len = (size_t)(top_line(buf + len, order[i], key, o->x, o->fmt, o->wid[0]) - buf);
        }
        /* the turn passes on even without a buffer, so the other thread never waits forever */
        pthread_mutex_lock(&o->mu);
        while (o->turn != c)
            pthread_cond_wait(&o->cv, &o->mu);
        pthread_mutex_unlock(&o->mu);
        if (buf)
            fwrite(buf, 1, len, stdout);
        pthread_mutex_lock(&o->mu);
        o->turn++;
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
    }
    free(buf);
    return NULL;
}

/* The header and the lines of order[0 .. n) on up to two threads (one for a few lines, and
 * with context columns, whose lookups share one cache). 0, or -1 out of memory. */
static int top_print(const uint8_t *const *order, uint32_t n, const top_key_t *key,
                     const top_ctxcols_t *x, top_fmt_t fmt, int threads)
{
    char line[TOP_LINE_MAX];
    const int nf = key->n;
    top_out_t o;
    memset(&o, 0, sizeof o);
    o.order = order;
    o.n = n;
    o.key = key;
    o.x = x;
    o.fmt = fmt;
    o.threads = threads > 1 && n >= TOP_SPLIT && !x->en ? 2 : 1;
    pthread_mutex_init(&o.mu, NULL);
    pthread_cond_init(&o.cv, NULL);
    top_out_job_t job[2] = {{&o, 0, 0}, {&o, 1, 0}};
    /* the column names, in order: each field and its context, then the sums */
    char names[TOP_MAX_COLS][64];
    int nc = 0;
    for (int i = 0; i < nf; i++) {
        int xs[TOP_X_N], nx = top_x_of(x, key, i, xs);
        snprintf(names[nc++], sizeof names[0], "%s", key->name[i]);
        for (int c = 0; c < nx; c++)
            top_x_name(names[nc++], key, i, xs[c]);
    }
    const int ns = top_n_sums(key);
    for (int i = 0; i < ns; i++)
        snprintf(names[nc++], sizeof names[0], "%s", top_sum_name(key, i));
    o.n_cols = nc;
    for (int j = 0; j < o.threads; j++)
        for (int i = 0; i < nc; i++)
            o.wid[j][i] = strlen(names[i]);
    char *p = line;
    if (fmt == TOP_TEXT) {
        cmd_par(top_out_run, job, sizeof job[0], o.threads);
        for (int i = 0; i < nc; i++)
            if (o.threads > 1 && o.wid[1][i] > o.wid[0][i])
                o.wid[0][i] = o.wid[1][i];
        for (int i = 0; i < nc; i++) {
            /* the sums are right-aligned, as their values are */
            p = top_pad(p, names[i], strlen(names[i]), o.wid[0][i], i >= nc - ns);
            if (i < nc - 1) {
                *p++ = ' ';
                *p++ = ' ';
            }
        }
        *p++ = '\n';
    } else if (fmt == TOP_CSV) {
        for (int i = 0; i < nc; i++) {
            p = top_pad(p, names[i], strlen(names[i]), 0, 0);
            *p++ = i < nc - 1 ? ',' : '\n';
        }
    }
    fwrite(line, 1, (size_t)(p - line), stdout);
    o.phase = 1;
    /* the chunks' turns need both threads running: job 1 cannot run after job 0 here */
    pthread_t th;
    if (o.threads > 1 && pthread_create(&th, NULL, top_out_run, &job[1]) != 0)
        o.threads = 1;
    top_out_run(&job[0]);
    if (o.threads > 1)
        pthread_join(th, NULL);
    pthread_cond_destroy(&o.cv);
    pthread_mutex_destroy(&o.mu);
    return job[0].nomem || job[1].nomem ? -1 : 0;
}

/* A sum printed at SAT_MAX may be one that went past it (top_sum_add saturates rather than
 * wrap): says so on stderr, once, so that the number is read as "at least". */
static void top_warn_saturated(const uint8_t *const *order, uint32_t n, const top_key_t *key)
{
    for (uint32_t i = 0; i < n; i++) {
        const top_sum_t *sm = (const top_sum_t *)(order[i] + key->kw);
        if (sm->flows == SAT_MAX || sm->packets == SAT_MAX || sm->bytes == SAT_MAX) {
            cmd_warn_saturated("flowhunt top");
            return;
        }
    }
}

/* ---- the command --------------------------------------------------------------------------- */

static void top_usage(FILE *f)
{
    fprintf(f,
            "usage: flowhunt top DIR --by FIELDS [--distinct FIELDS] [--times]\n"
            "                    [--order flows|bytes|packets|distinct|first|last]\n"
            "                    [-n N] [--raw] [--from T] [--to T] [--format text|csv|json]\n"
            "                    [--geoip FILE] [--asn FILE] [-f FILE] [--intel FEED] [-v]\n"
            "                    [FILTER]\n"
            "\n"
            "Sums flows, packets and bytes per key over the stored flows of DIR that overlap\n"
            "[--from, --to) and match FILTER, and prints the N largest (nfdump -s, or -A with\n"
            "-n 0).\n"
            "\n"
            "  --by FIELDS     the key, comma separated: srcip dstip srcport dstport proto\n"
            "                  srcas dstas exporter tos inif outif vlan nexthop flags\n"
            "                  (e.g. srcip or srcip,dstip,dstport); an address by network:\n"
            "                  srcip/24 (IPv6 /64), srcip/24/48 (nfdump -A srcip4/24);\n"
            "                  of either end: ip port as (nfdump -s ip): a flow counts\n"
            "                  under its source's and its destination's (e.g. ip/24 or\n"
            "                  ip,port, each end's address and port; twice where both\n"
            "                  ends have the same), so flows add up to twice the total;\n"
            "                  a field a flow does not carry (a port or an AS the exporter\n"
            "                  did not send) is a key of its own, printed as cat prints it:\n"
            "                  -, an empty CSV cell, JSON null (never as 0 or ::)\n"
            "  --distinct D    also count the distinct values of fields D (of one end) among\n"
            "                  each key's flows, in a column distinct_D (SiLK rwuniq\n"
            "                  distinct:): fan-out is --by srcip --distinct dstip, a\n"
            "                  vertical scan --by srcip,dstip --distinct dstport, a\n"
            "                  destination's spread --by dstip --distinct srcip/24, the\n"
            "                  hosts seen in each /24 --by dstip/24 --distinct dstip;\n"
            "                  an absent value counts as one\n"
            "  --times         also each key's first and last time seen (first_seen,\n"
            "                  last_seen: the earliest and latest time of its flows)\n"
            "  --order X       rank by flows (default), bytes, packets, (with --distinct)\n"
            "                  distinct, (with --times) first or last: the keys first seen\n"
            "                  most recently, or seen last most recently, first\n"
            "  -n N            print the N largest (default 10; 0 prints every key)\n"
            "  --raw           counters as exported; by default packets and bytes are\n"
            "                  multiplied by each flow's sampling interval (1 in N); a\n"
            "                  sum stops at 18446744073709551615 (2^64-1) rather than wrap\n"
            "                  round, and a warning on stderr says when one is printed\n"
            "  --from, --to    the window, as for flowhunt cat\n"
            "  --format FMT    text (default, an aligned table), csv or json (one object a line)\n"
            "  -v, --verbose   the scan's summary on stderr (also shown on a terminal)\n"
            "  --geoip FILE    a MaxMind City or Country database (mmdb): after each address\n"
            "                  field, its country (FIELD_country, ISO 3166 code)\n"
            "  --asn FILE      a MaxMind ASN database: FIELD_asn and FIELD_as_org (nfdump -G;\n"
            "                  a network is looked up by its first address; unknown: -, an\n"
            "                  empty CSV cell, JSON null)\n"
            "  -f FILE, --intel FEED, FILTER  as for flowhunt cat (see flowhunt cat --help)\n"
            "\n"
            "Exit status: 0 success, 2 usage or the directory could not be read.\n");
}

int cmd_top(int argc, char **argv)
{
    static const struct option opts[] = {CMD_READ_LONGOPTS,
                                         CMD_INTEL_LONGOPT,
                                         {"by", required_argument, NULL, 'b'},
                                         {"distinct", required_argument, NULL, 'D'},
                                         {"times", no_argument, NULL, 'T'},
                                         {"order", required_argument, NULL, 'O'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         CMD_CTX_LONGOPTS,
                                         {"format", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cmd_read_args_t ra = {0};
    const char *by = NULL, *distinct = NULL;
    cmd_ctx_args_t xa = {0};
    top_order_t order = TOP_FLOWS;
    top_fmt_t fmt = TOP_TEXT;
    uint64_t top_n = 10;
    top_ctx_t c;
    memset(&c, 0, sizeof c);
    int opt;
    optind = 1;
    int verbose = 0;
    while ((opt = cmd_getopt("flowhunt top", argc, argv, ":hn:vf:", opts)) != -1) {
        switch (opt) {
        case 'b':
            by = optarg;
            break;
        case 'D':
            distinct = optarg;
            break;
        case 'T':
            c.times = 1;
            break;
        case 'O': {
            static const char *const orders[] = {"flows",    "packets", "bytes",
                                                 "distinct", "first",   "last"}; /* top_order_t */
            int o = cmd_choice("flowhunt top", "--order", optarg, orders, 6);
            if (o < 0)
                return CMD_USAGE;
            order = (top_order_t)o;
            break;
        }
        case 'n': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] < '0' || optarg[0] > '9') {
                fprintf(stderr, "flowhunt top: -n takes a number, not '%s'\n", optarg);
                return CMD_USAGE;
            }
            top_n = v;
            break;
        }
        case 'r':
            c.raw = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'o': {
            static const char *const fmts[] = {"text", "csv", "json"}; /* top_fmt_t */
            int f = cmd_choice("flowhunt top", "--format", optarg, fmts, 3);
            if (f < 0)
                return CMD_USAGE;
            fmt = (top_fmt_t)f;
            break;
        }
        case 'h':
            top_usage(stdout);
            return CMD_OK;
        default:
            if (cmd_read_opt(opt, optarg, &ra) || cmd_ctx_opt(opt, optarg, &xa))
                break;
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "flowhunt top: give the data directory (see flowhunt top --help)\n");
        return CMD_USAGE;
    }
    if (!by) {
        fprintf(stderr, "flowhunt top: give the key with --by (e.g. --by srcip)\n");
        return CMD_USAGE;
    }
    if (top_key_parse("--by", by, &c.key) != 0)
        return CMD_USAGE;
    /* kout: the key printed; with --distinct the scan sums under it and the distinct field */
    top_key_t kout = c.key;
    kout.times = c.times;
    if (distinct) {
        top_key_t dk;
        if (top_key_parse("--distinct", distinct, &dk) != 0 ||
            top_key_join(&kout, &dk, &c.key) != 0)
            return CMD_USAGE;
        /* the count's column: "distinct_dstip", "distinct_dstip_dstport"; the empty fields
         * the parse skipped ("dstip,") leave no '_' (the column read distinct_dstip_) */
        size_t l = (size_t)snprintf(kout.distinct, sizeof kout.distinct, "distinct");
        for (const char *q = distinct; *q && l < sizeof kout.distinct - 2; q++) {
            if (*q == ',')
                continue;
            if (q == distinct || q[-1] == ',') /* a field's first character */
                kout.distinct[l++] = '_';
            kout.distinct[l++] = *q;
        }
        kout.distinct[l] = '\0';
    } else if (order == TOP_DISTINCT) {
        fprintf(stderr, "flowhunt top: --order distinct ranks by the count of --distinct FIELDS; "
                        "give it\n");
        return CMD_USAGE;
    }
    if ((order == TOP_FIRST || order == TOP_LAST) && !c.times) {
        fprintf(stderr, "flowhunt top: --order %s ranks by a time of --times; give it\n",
                order == TOP_FIRST ? "first" : "last");
        return CMD_USAGE;
    }
    top_key_other(&c.key, &c.key_other);
    const char *dir;
    uint64_t from, to;
    flt_t *flt;
    top_ctxcols_t ctxcols = {NULL, {0}};
    ctxcols.want[EN_CELL_COUNTRY] = xa.geoip != NULL;
    ctxcols.want[EN_CELL_ASN] = ctxcols.want[EN_CELL_ORG] = xa.asn != NULL;
    if (xa.geoip || xa.asn) {
        int any_addr = 0;
        for (int i = 0; i < kout.n; i++)
            any_addr |= flow_cols[kout.col[i]].type == FLOW_T_ADDR;
        if (!any_addr) {
            fprintf(stderr,
                    "flowhunt top: --geoip and --asn describe addresses; --by %s has "
                    "none\n",
                    by);
            return CMD_USAGE;
        }
    }
    if (cmd_dir_filter("flowhunt top", argc, argv, optind, &ra, &dir, &flt, &from, &to, NULL) != 0)
        return CMD_USAGE;
    c.flt = flt;
    if (xa.geoip || xa.asn) {
        /* opened (and checked) before any flow is read: a wrong file is a usage error */
        char err[512];
        if (!(ctxcols.en = en_open(xa.geoip, xa.asn, NULL, err, sizeof err))) {
            fprintf(stderr, "flowhunt top: %s\n", err);
            flt_free(flt);
            return CMD_USAGE;
        }
    }

    c.n_workers = cmd_workers();
    c.w = calloc((size_t)c.n_workers, sizeof *c.w);
    int status = CMD_OK;
    if (!c.w) {
        fprintf(stderr, "flowhunt top: out of memory\n");
        flt_free(flt);
        return CMD_USAGE;
    }
    for (int i = 0; i < c.n_workers; i++) {
        flt_rows_init(&c.w[i].sel);
        c.w[i].keys = malloc((size_t)TOP_CHUNK * c.key.kw);
        c.w[i].hashes = malloc(TOP_CHUNK * sizeof *c.w[i].hashes);
        c.w[i].adds = malloc(TOP_CHUNK * sizeof *c.w[i].adds);
        if (c.key.n == 1 && c.key.width[0] <= 2 && !c.times &&
            !(c.w[i].small = calloc(((size_t)1 << (8 * c.key.width[0])) + 1, sizeof(top_sum_t))))
            c.w[i].nomem = 1;
        /* as many partitions as workers, so that as many threads merge them */
        c.w[i].n_parts = c.n_workers < TOP_MAX_PARTS ? c.n_workers : TOP_MAX_PARTS;
        c.w[i].tab = calloc(TOP_MAX_PARTS, sizeof *c.w[i].tab);
        if (!c.w[i].keys || !c.w[i].hashes || !c.w[i].adds || !c.w[i].tab)
            c.w[i].nomem = 1;
        for (int p = 0; p < c.w[i].n_parts && c.w[i].tab; p++)
            if (top_tab_init(&c.w[i].tab[p], c.key.kw, 0, c.times) != 0)
                c.w[i].nomem = 1;
    }
    cmd_progress_init(&c.progress, 0);
    seg_scan_stats_t stats;
    seg_where_t where;
    memset(&stats, 0, sizeof stats);
    memset(&where, 0, sizeof where);
    int nomem = 0;
    for (int i = 0; i < c.n_workers; i++)
        nomem |= c.w[i].nomem;
    int rc = nomem ? -SEG_E_NOMEM
                   : seg_scan_flags(dir, from, to, c.n_workers, SEG_SCAN_GROUPS, top_want,
                                    top_batch, &c, &stats, &where);
    cmd_progress_done(&c.progress);
    cmd_warn_dangling("flowhunt top", dir, stats.dangling_path, stats.dangling);
    if (rc < 0) {
        /* a callback's error carries its place in that worker's where */
        for (int i = 0; i < c.n_workers && !where.path[0]; i++)
            if (c.w[i].where.path[0])
                where = c.w[i].where;
        cmd_print_where(stderr, "flowhunt top", rc, &where);
        if (-rc != SEG_E_NOMEM)
            fprintf(stderr,
                    "flowhunt top: stopped; `flowhunt verify %s` lists every damaged segment\n",
                    dir);
        status = CMD_USAGE;
    }
    /* a small key's sums into each worker's table, then every worker's table into the first */
    for (int i = 0; i < c.n_workers && status == CMD_OK; i++)
        if (c.w[i].small &&
            top_fold(&c.w[i], c.w[i].small, 1u << (8 * c.key.width[0]), NULL, c.key.len, 0, 0)) {
            fprintf(stderr, "flowhunt top: out of memory\n");
            status = CMD_USAGE;
        }
    if (status == CMD_OK && top_merge(c.w, c.n_workers) != 0) {
        fprintf(stderr, "flowhunt top: out of memory\n");
        status = CMD_USAGE;
    }
    uint8_t cmp[64];
    top_key_cmp(&c.key, cmp);
    top_set_t set = {c.w[0].tab, c.w[0].n_parts, c.key.kw, 0, cmp};
    top_tab_t dtab = {0};
    if (status == CMD_OK && distinct) {
        if (top_distinct(&c.w[0], &c.key, &kout, &dtab) != 0) {
            fprintf(stderr, "flowhunt top: out of memory\n");
            status = CMD_USAGE;
        }
        top_key_cmp(&kout, cmp);
        set = (top_set_t){&dtab, 1, kout.kw, 0, cmp};
    }
    for (int p = 0; p < set.n_tab && status == CMD_OK; p++)
        set.n += set.tab[p].n;
    if (status == CMD_OK) /* the layout is the table's (top_tab_init) */
        kout.times_off = set.tab[0].times_off;
    if (status == CMD_OK && set.n > UINT32_MAX / 2) {
        /* one table's bound (top_tab_get), for the partitions together */
        fprintf(stderr, "flowhunt top: out of memory\n");
        status = CMD_USAGE;
    }
    if (status == CMD_OK) {
        uint32_t n = top_n == 0 || top_n > set.n ? (uint32_t)set.n : (uint32_t)top_n;
        const uint8_t **ord = malloc(((size_t)n + 1) * sizeof *ord);
        if (!ord || top_rank(&set, order, c.n_workers, n, ord) != 0) {
            fprintf(stderr, "flowhunt top: out of memory\n");
            status = CMD_USAGE;
        } else {
            top_warn_saturated(ord, n, &kout);
            if (top_print(ord, n, &kout, &ctxcols, fmt, c.n_workers) != 0) {
                fprintf(stderr, "flowhunt top: out of memory\n");
                status = CMD_USAGE;
            } else if (fflush(stdout) != 0) {
                fprintf(stderr, "flowhunt top: writing the output: %s\n", strerror(errno));
                status = CMD_USAGE;
            }
        }
        free((void *)ord);
        if (verbose || isatty(2))
            fprintf(stderr,
                    "flowhunt top: %llu flows selected of %llu scanned, %zu keys; %llu of %llu "
                    "row groups skipped by time or zone maps, %llu segments\n",
                    (unsigned long long)c.rows_selected, (unsigned long long)c.rows_scanned, set.n,
                    (unsigned long long)stats.groups_skipped,
                    (unsigned long long)(stats.groups + stats.groups_skipped),
                    (unsigned long long)stats.segments);
    }
    top_tab_free(&dtab);
    for (int i = 0; i < c.n_workers; i++) {
        for (int p = 0; p < c.w[i].n_parts && c.w[i].tab; p++)
            top_tab_free(&c.w[i].tab[p]);
        free(c.w[i].tab);
        flt_rows_free(&c.w[i].sel);
        free(c.w[i].keys);
        free(c.w[i].hashes);
        free(c.w[i].adds);
        free(c.w[i].csum);
        free(c.w[i].small);
    }
    free(c.w);
    flt_free(flt);
    if (ctxcols.en)
        en_close(ctxcols.en);
    return status;
}
