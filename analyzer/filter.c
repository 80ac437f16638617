/* filter.c: the nfdump-style filter language: parser, column-wise evaluator, zone-map pruning.
 *
 * The parser is recursive descent over a hand-written tokenizer and builds a small tree in one
 * array (nodes refer to children by index). Everything that needs a second look at the text is
 * decided here, once: `host X` becomes `src X or dst X`, a network is masked, "10k" is 10000,
 * so evaluation is a handful of tight loops.
 *
 * Evaluation is column-wise over a row group: each node fills a byte per row (1 = selected);
 * `and` and `or` combine vectors and stop early when the left side already decides every row,
 * which is what keeps `rare-port and net X` from decoding the address column at all. Vectors
 * are bytes, not bits, so every leaf loop is a plain compare the compiler vectorizes.
 *
 * A list (`ip in [ ... ]`, `port in [ ... ]`, nfdump's iplist and portlist) is one node: its
 * addresses and networks sorted into disjoint ranges, its numbers sorted, each row one binary
 * search. A sweep of history for a feed of a thousand IOCs then costs a dozen compares a row,
 * where an `or` chain of a thousand `host` terms cost a thousand and more than the tree holds.
 *
 * Pruning evaluates the same tree over intervals instead of rows, in three-valued logic
 * (never / maybe / always), from the zone maps' min and max. `not` swaps never and always, so a
 * group can be skipped for `not dst port 53` when every row of it is port 53. An absent field
 * compares as 0 and a zone map describes present values, so 0 joins the interval unless the zone
 * callback says every row has the column.
 */
#include "filter.h"
#include "protoname.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FLT_MAX_NODES 4096 /* a filter longer than this is not typed by hand */
#define FLT_MAX_NEST 64    /* parentheses and `not`s nested; bounds the parser's recursion */

typedef enum flt_kind {
    FLT_ANY,
    FLT_AND,
    FLT_OR,
    FLT_NOT,
    FLT_NUM,      /* integer column CMP num */
    FLT_NET,      /* address column within net/bits (an address is a /128) */
    FLT_FLAGS,    /* (column & num) == num */
    FLT_DURATION, /* time_end - time_start CMP num */
    FLT_WINDOW,   /* [time_start, time_end] overlaps [num, num2) */
    FLT_LIST      /* column in list number `num` (flt_list_t) */
} flt_kind_t;

typedef enum flt_op { FLT_EQ, FLT_LT, FLT_GT, FLT_LE, FLT_GE } flt_op_t;

typedef struct flt_node {
    uint8_t kind;
    uint8_t op;
    uint8_t bits; /* FLT_NET: prefix length over the 16-byte (IPv4-mapped) form */
    uint8_t v6only; /* FLT_NET: an IPv6 network written around ::ffff:0:0/96: no IPv4 address */
    int16_t col;
    uint32_t left, right; /* children (FLT_NOT uses left) */
    uint64_t num, num2;
    uint64_t net[2], mask[2]; /* FLT_NET: the network and mask as two native words */
} flt_node_t;

/* The items of an `in [ ... ]` list. Addresses and networks: sorted, disjoint ranges of the
 * 16-byte form, four words each (first and last, each as its big-endian high and low half, so
 * the bytewise order of addresses is the order of word pairs), touching ranges joined.
 * Numbers: sorted and unique. */
typedef struct flt_list {
    uint64_t *v;
    uint32_t n; /* ranges or numbers */
    int addr;
} flt_list_t;

#define FLT_MAX_LIST 1000000 /* items in one list: a feed, not a memory exhaustion */

struct flt {
    flt_node_t *nodes;
    uint32_t n_nodes, cap;
    flt_list_t *lists;
    uint32_t n_lists;
    uint32_t root;
    uint32_t levels; /* selection vectors evaluation needs at once */
    uint64_t cols;
};

/* ---- tree building ------------------------------------------------------------------------- */

static int flt_node_new(flt_t *f, flt_kind_t kind, uint32_t *out)
{
    if (f->n_nodes == f->cap) {
        if (f->cap >= FLT_MAX_NODES)
            return -1;
        uint32_t cap = f->cap ? f->cap * 2 : 16;
        flt_node_t *n = realloc(f->nodes, cap * sizeof *n);
        if (!n)
            return -2;
        f->nodes = n;
        f->cap = cap;
    }
    memset(&f->nodes[f->n_nodes], 0, sizeof f->nodes[0]);
    f->nodes[f->n_nodes].kind = (uint8_t)kind;
    *out = f->n_nodes++;
    return 0;
}

static int flt_node_pair(flt_t *f, flt_kind_t kind, uint32_t a, uint32_t b, uint32_t *out)
{
    int rc = flt_node_new(f, kind, out);
    if (rc == 0) {
        f->nodes[*out].left = a;
        f->nodes[*out].right = b;
    }
    return rc;
}

/* ---- tokens -------------------------------------------------------------------------------- */

typedef enum flt_tok_kind {
    FLT_T_END,
    FLT_T_WORD,
    FLT_T_LP,
    FLT_T_RP,
    FLT_T_CMP,
    FLT_T_LB,   /* [ */
    FLT_T_RB,   /* ] */
    FLT_T_COMMA /* , between a list's items */
} flt_tok_kind_t;

typedef struct flt_tok {
    flt_tok_kind_t kind;
    size_t pos, len;
    flt_op_t op;
} flt_tok_t;

typedef struct flt_parser {
    const char *text;
    size_t cur;
    flt_t *f;
    flt_error_t *err;
    int nest;
    int nomem;
} flt_parser_t;

static int flt_is_word_char(char c)
{
    return c != '\0' && !isspace((unsigned char)c) && c != '(' && c != ')' && c != '<' &&
           c != '>' && c != '=' && c != '[' && c != ']' && c != ',';
}

/* The token at the cursor, without consuming it. */
static flt_tok_t flt_peek(const flt_parser_t *p)
{
    const char *s = p->text;
    size_t i = p->cur;
    flt_tok_t t = {FLT_T_END, 0, 0, FLT_EQ};
    while (isspace((unsigned char)s[i]))
        i++;
    t.pos = i;
    char c = s[i];
    if (c == '\0')
        return t;
    if (c == '(' || c == ')') {
        t.kind = c == '(' ? FLT_T_LP : FLT_T_RP;
        t.len = 1;
        return t;
    }
    if (c == '[' || c == ']' || c == ',') {
        t.kind = c == '[' ? FLT_T_LB : c == ']' ? FLT_T_RB : FLT_T_COMMA;
        t.len = 1;
        return t;
    }
    if (c == '<' || c == '>' || c == '=') {
        t.kind = FLT_T_CMP;
        t.len = s[i + 1] == '=' ? 2 : 1;
        if (c == '<')
            t.op = t.len == 2 ? FLT_LE : FLT_LT;
        else if (c == '>')
            t.op = t.len == 2 ? FLT_GE : FLT_GT;
        else
            t.op = FLT_EQ;
        return t;
    }
    t.kind = FLT_T_WORD;
    while (flt_is_word_char(s[i + t.len]))
        t.len++;
    /* nfdump's spelled comparators are words */
    static const struct {
        const char *w;
        flt_op_t op;
    } words[] = {{"eq", FLT_EQ}, {"lt", FLT_LT}, {"gt", FLT_GT}, {"le", FLT_LE}, {"ge", FLT_GE}};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (t.len == 2 && strncasecmp(s + i, words[k].w, 2) == 0) {
            t.kind = FLT_T_CMP;
            t.op = words[k].op;
        }
    return t;
}

static flt_tok_t flt_next(flt_parser_t *p)
{
    flt_tok_t t = flt_peek(p);
    p->cur = t.pos + t.len;
    return t;
}

static int flt_tok_is(const flt_parser_t *p, const flt_tok_t *t, const char *word)
{
    return t->kind == FLT_T_WORD && strlen(word) == t->len &&
           strncasecmp(p->text + t->pos, word, t->len) == 0;
}

/* Records a syntax error at `pos` (the first one wins); returns -1. */
static int flt_fail(flt_parser_t *p, size_t pos, const char *fmt, const flt_tok_t *t)
{
    if (p->err->msg[0] == '\0') {
        char word[64];
        size_t n = t && t->len ? t->len : 0;
        if (n >= sizeof word) {
            n = sizeof word - 1;
            /* not within a UTF-8 character: its lead byte alone is no text for a terminal */
            while (n > 0 && ((unsigned char)p->text[t->pos + n] & 0xc0) == 0x80)
                n--;
        }
        memcpy(word, t ? p->text + t->pos : "", n);
        word[n] = '\0';
        char quoted[80];
        if (!t || t->kind == FLT_T_END)
            snprintf(quoted, sizeof quoted, "the end of the filter");
        else
            snprintf(quoted, sizeof quoted, "'%s'", word);
        p->err->pos = pos;
        snprintf(p->err->msg, sizeof p->err->msg, fmt, quoted);
    }
    return -1;
}

/* A node could not be added: out of memory, or the filter is longer than FLT_MAX_NODES. */
static int flt_grow_fail(flt_parser_t *p, int rc)
{
    if (rc == -2) {
        p->nomem = 1;
        return -1;
    }
    p->err->pos = p->cur;
    snprintf(p->err->msg, sizeof p->err->msg, "the filter is too long (over %d terms)",
             FLT_MAX_NODES / 2);
    return -1;
}

/* The token as a NUL-terminated string in `buf`; -1 when it does not fit. */
static int flt_tok_str(const flt_parser_t *p, const flt_tok_t *t, char *buf, size_t cap)
{
    if (t->len >= cap)
        return -1;
    memcpy(buf, p->text + t->pos, t->len);
    buf[t->len] = '\0';
    return 0;
}

/* An unsigned number with an optional k, M or G suffix (powers of 1000). */
static int flt_tok_num(const flt_parser_t *p, const flt_tok_t *t, uint64_t *out)
{
    const char *s = p->text + t->pos;
    size_t i = 0;
    uint64_t v = 0;
    if (t->kind != FLT_T_WORD || t->len == 0)
        return -1;
    for (; i < t->len && s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == 0)
        return -1;
    if (i < t->len) {
        uint64_t mul;
        switch (s[i]) {
        case 'k':
        case 'K':
            mul = 1000ull;
            break;
        case 'M':
            mul = 1000000ull;
            break;
        case 'G':
            mul = 1000000000ull;
            break;
        default:
            return -1;
        }
        if (i + 1 != t->len || v > UINT64_MAX / mul)
            return -1;
        v *= mul;
    }
    *out = v;
    return 0;
}

/* ---- primitives ---------------------------------------------------------------------------- */

enum { FLT_DIR_ANY, FLT_DIR_SRC, FLT_DIR_DST };

/* A leaf on one column, or, for FLT_DIR_ANY, `src-column or dst-column`. */
static int flt_leaf_dir(flt_parser_t *p, int dir, int src_col, int dst_col, const flt_node_t *tpl,
                        uint32_t *out)
{
    flt_t *f = p->f;
    int cols[2] = {dir == FLT_DIR_DST ? dst_col : src_col, dst_col};
    int n = dir == FLT_DIR_ANY ? 2 : 1;
    uint32_t ids[2];
    for (int i = 0; i < n; i++) {
        int rc = flt_node_new(f, (flt_kind_t)tpl->kind, &ids[i]);
        if (rc != 0)
            return flt_grow_fail(p, rc);
        f->nodes[ids[i]] = *tpl;
        f->nodes[ids[i]].col = (int16_t)cols[i];
        f->cols |= (uint64_t)1 << cols[i];
    }
    if (n == 1) {
        *out = ids[0];
        return 0;
    }
    int rc = flt_node_pair(f, FLT_OR, ids[0], ids[1], out);
    return rc == 0 ? 0 : flt_grow_fail(p, rc);
}

/* ::ffff:0.0.0.0, the first address of the block IPv4 addresses are held in. */
static const uint8_t flt_mapped_block[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Whether the 16-byte address b is an IPv4 one (in ::ffff:0:0/96). */
static inline int flt_is_v4_bytes(const uint8_t *b)
{
    return memcmp(b, flt_mapped_block, 12) == 0;
}

/* Whether one address meets a net term. */
static int flt_net_meets(const flt_node_t *nd, const uint8_t *b)
{
    uint64_t w[2];
    memcpy(w, b, 16);
    return ((w[0] & nd->mask[0]) == nd->net[0]) & ((w[1] & nd->mask[1]) == nd->net[1]) &
           !(nd->v6only && flt_is_v4_bytes(b));
}

/* An address or a CIDR network into `tpl` (FLT_NET). `need_prefix`: a net requires "/bits". */
static int flt_parse_net(flt_parser_t *p, int need_prefix, const char *after, flt_node_t *tpl)
{
    flt_tok_t t = flt_next(p);
    char buf[80], what[96];
    snprintf(what, sizeof what, "expected %s after '%s', not %%s",
             need_prefix ? "a network such as 10.0.0.0/8" : "an IPv4 or IPv6 address", after);
    if (t.kind != FLT_T_WORD || flt_tok_str(p, &t, buf, sizeof buf) != 0)
        return flt_fail(p, t.pos, what, &t);
    char *slash = strchr(buf, '/');
    if (!slash && need_prefix)
        return flt_fail(p, t.pos, what, &t);
    flow_net_t net;
    int rc = flow_net_parse(&net, buf);
    size_t at_len = t.pos + (slash ? (size_t)(slash - buf) + 1 : 0);
    if (rc == FLOW_NET_ELEN)
        return flt_fail(p, at_len, "expected a prefix length after '/' in %s", &t);
    if (rc == FLOW_NET_ELEN4)
        return flt_fail(p, at_len, "an IPv4 prefix length is 0 to 32 in %s", &t);
    if (rc != 0)
        return flt_fail(p, t.pos, what, &t);
    flow_addr_t m;
    flow_addr_mask(&m,
                   &(flow_addr_t){.b = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                   net.plen);
    tpl->kind = FLT_NET;
    tpl->bits = net.plen;
    memcpy(tpl->net, net.addr.b, 16);
    memcpy(tpl->mask, m.b, 16);
    tpl->v6only = net.v6only;
    return 0;
}

/* [CMP] N within [0, max]; without a comparator, = (as nfdump). */
static int flt_parse_cmp_num(flt_parser_t *p, const char *after, uint64_t max, flt_node_t *tpl)
{
    flt_tok_t t = flt_peek(p);
    tpl->op = FLT_EQ;
    if (t.kind == FLT_T_CMP) {
        flt_next(p);
        tpl->op = (uint8_t)t.op;
    }
    t = flt_next(p);
    char msg[96];
    snprintf(msg, sizeof msg, "expected a number after '%s', not %%s", after);
    if (flt_tok_num(p, &t, &tpl->num) != 0)
        return flt_fail(p, t.pos, msg, &t);
    if (tpl->num > max) {
        snprintf(msg, sizeof msg, "%%s is out of range for '%s' (0 to %llu)", after,
                 (unsigned long long)max);
        return flt_fail(p, t.pos, msg, &t);
    }
    return 0;
}

static int flt_proto_number(const char *s, uint64_t *out)
{
    uint8_t p;
    if (protoname_parse(s, &p) != 0)
        return -1;
    *out = p;
    return 0;
}

/* ---- lists --------------------------------------------------------------------------------- */

/* The 16 bytes of an address as two big-endian words: bytewise order is word-pair order. */
static void flt_addr_words(const uint8_t *b, uint64_t w[2])
{
    uint64_t hi, lo;
    memcpy(&hi, b, 8);
    memcpy(&lo, b + 8, 8);
    w[0] = __builtin_bswap64(hi); /* little-endian host */
    w[1] = __builtin_bswap64(lo);
}

static int flt_w_cmp(const uint64_t *a, const uint64_t *b)
{
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

static int flt_range_cmp_first(const void *pa, const void *pb)
{
    return flt_w_cmp(pa, pb);
}

static int flt_u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

/* The first range whose last address is at least x (l->n when none). */
static uint32_t flt_list_range_at(const flt_list_t *l, const uint64_t x[2])
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (flt_w_cmp(l->v + 4 * (size_t)mid + 2, x) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int flt_list_has_addr(const flt_list_t *l, const uint8_t *b)
{
    uint64_t x[2];
    flt_addr_words(b, x);
    uint32_t i = flt_list_range_at(l, x);
    return i < l->n && flt_w_cmp(l->v + 4 * (size_t)i, x) <= 0;
}

/* The first number at least x (l->n when none). */
static uint32_t flt_list_num_at(const flt_list_t *l, uint64_t x)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int flt_list_has_num(const flt_list_t *l, uint64_t x)
{
    uint32_t i = flt_list_num_at(l, x);
    return i < l->n && l->v[i] == x;
}

/* Sorts the items and joins ranges that overlap or touch (numbers: drops repeats). */
static void flt_list_normalise(flt_list_t *l)
{
    if (l->n < 2)
        return;
    uint32_t k = 0;
    if (!l->addr) {
        qsort(l->v, l->n, sizeof *l->v, flt_u64_cmp);
        for (uint32_t i = 1; i < l->n; i++)
            if (l->v[i] != l->v[k])
                l->v[++k] = l->v[i];
        l->n = k + 1;
        return;
    }
    qsort(l->v, l->n, 4 * sizeof *l->v, flt_range_cmp_first);
    for (uint32_t i = 1; i < l->n; i++) {
        uint64_t *cur = l->v + 4 * (size_t)k, *nx = l->v + 4 * (size_t)i;
        /* the address after cur's last, unless cur ends at the top of the space */
        uint64_t after[2] = {cur[2] + (cur[3] == UINT64_MAX), cur[3] + 1};
        int at_top = cur[2] == UINT64_MAX && cur[3] == UINT64_MAX;
        if (at_top || flt_w_cmp(nx, after) <= 0) {
            if (flt_w_cmp(nx + 2, cur + 2) > 0)
                memcpy(cur + 2, nx + 2, 2 * sizeof *cur);
        } else {
            memmove(l->v + 4 * (size_t)++k, nx, 4 * sizeof *nx);
        }
    }
    l->n = k + 1;
}

/* The range just parsed, l->v[l->n], of an IPv6 network around the IPv4 block
 * (flt_node_t.v6only): cut into the part before ::ffff:0:0 and the part after
 * ::ffff:255.255.255.255 (its last address `last`), the second as one more range taken
 * (l->n is then the index of the last one). 0, or -1 out of memory. */
static int flt_list_cut_v4(flt_list_t *l, size_t *cap, const uint8_t last[16])
{
    uint8_t before[16], after[16];
    memcpy(before, flt_mapped_block, 16); /* ::fffe:ffff:ffff */
    before[11] = 0xfe;
    memset(before + 12, 0xff, 4);
    memset(after, 0, 16); /* ::1:0:0:0 */
    after[9] = 1;
    uint64_t *r = l->v + 4 * (size_t)l->n;
    flt_addr_words(before, r + 2);
    if (memcmp(after, last, 16) > 0)
        return 0; /* nothing after the block */
    if (l->n + 1 == *cap) {
        uint64_t *nv = realloc(l->v, (size_t)*cap * 2 * 4 * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        *cap *= 2;
        r = l->v + 4 * (size_t)l->n;
    }
    flt_addr_words(after, r + 4);
    flt_addr_words(last, r + 6);
    l->n++;
    return 0;
}

/* `[ ITEM, ITEM ... ]` after `KEYWORD in`: addresses and CIDR networks (addr), or numbers up to
 * max, separated by spaces or commas, as nfdump's iplist, portlist and aslist. The list goes
 * into f->lists and tpl becomes its FLT_LIST node. */
static int flt_parse_list(flt_parser_t *p, int addr, uint64_t max, const char *kw, flt_node_t *tpl)
{
    flt_tok_t t = flt_next(p);
    char msg[128];
    snprintf(msg, sizeof msg, "expected '[' after '%s in', not %%s", kw);
    if (t.kind != FLT_T_LB)
        return flt_fail(p, t.pos, msg, &t);
    const size_t open = t.pos;
    flt_list_t l = {NULL, 0, addr};
    size_t cap = 0;
    const size_t per = addr ? 4 : 1;
    for (;;) {
        t = flt_peek(p);
        if (t.kind == FLT_T_COMMA) {
            flt_next(p);
            continue;
        }
        if (t.kind == FLT_T_RB) {
            flt_next(p);
            break;
        }
        int rc = 0;
        if (t.kind == FLT_T_END) {
            rc = flt_fail(p, open, "the list opened here is not closed with ']' before %s", &t);
        } else if (l.n >= FLT_MAX_LIST) {
            snprintf(msg, sizeof msg, "a list holds at most %d items; %%s is one more",
                     FLT_MAX_LIST);
            rc = flt_fail(p, t.pos, msg, &t);
        } else if (l.n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(l.v, cap * per * sizeof *nv);
            if (!nv) {
                p->nomem = 1;
                rc = -1;
            } else {
                l.v = nv;
            }
        }
        if (rc == 0 && addr) {
            flt_node_t net;
            memset(&net, 0, sizeof net);
            snprintf(msg, sizeof msg, "%s in [", kw);
            if ((rc = flt_parse_net(p, 0, msg, &net)) == 0) {
                uint8_t last[16];
                const uint8_t *n8 = (const uint8_t *)net.net, *m8 = (const uint8_t *)net.mask;
                for (int i = 0; i < 16; i++)
                    last[i] = (uint8_t)(n8[i] | (uint8_t)~m8[i]);
                flt_addr_words(n8, l.v + 4 * (size_t)l.n);
                flt_addr_words(last, l.v + 4 * (size_t)l.n + 2);
                if (net.v6only && (rc = flt_list_cut_v4(&l, &cap, last)) != 0)
                    p->nomem = 1;
            }
        } else if (rc == 0) {
            t = flt_next(p);
            snprintf(msg, sizeof msg, "expected a number (0 to %llu) in the list of '%s', not %%s",
                     (unsigned long long)max, kw);
            if (flt_tok_num(p, &t, &l.v[l.n]) != 0 || l.v[l.n] > max)
                rc = flt_fail(p, t.pos, msg, &t);
        }
        if (rc != 0) {
            free(l.v);
            return -1;
        }
        l.n++;
    }
    if (l.n == 0) {
        free(l.v);
        snprintf(msg, sizeof msg, "the list after '%s in' is empty (it would select nothing)", kw);
        p->err->pos = open;
        if (p->err->msg[0] == '\0')
            snprintf(p->err->msg, sizeof p->err->msg, "%s", msg);
        return -1;
    }
    flt_list_normalise(&l);
    flt_list_t *nl = realloc(p->f->lists, (p->f->n_lists + 1) * sizeof *nl);
    if (!nl) {
        free(l.v);
        p->nomem = 1;
        return -1;
    }
    p->f->lists = nl;
    memset(tpl, 0, sizeof *tpl);
    tpl->kind = FLT_LIST;
    tpl->num = p->f->n_lists;
    nl[p->f->n_lists++] = l;
    return 0;
}

/* Whether the next token is the word `in` (a list follows); consumed when it is. */
static int flt_take_in(flt_parser_t *p)
{
    flt_tok_t t = flt_peek(p);
    if (!flt_tok_is(p, &t, "in"))
        return 0;
    flt_next(p);
    return 1;
}

static int flt_parse_primitive(flt_parser_t *p, uint32_t *out)
{
    flt_tok_t t = flt_next(p);
    flt_node_t tpl;
    memset(&tpl, 0, sizeof tpl);
    int dir = FLT_DIR_ANY;
    if (t.kind != FLT_T_WORD)
        return flt_fail(p, t.pos, "expected a filter primitive (host, port, proto, ...), not %s",
                        &t);
    if (flt_tok_is(p, &t, "src") || flt_tok_is(p, &t, "dst")) {
        dir = flt_tok_is(p, &t, "src") ? FLT_DIR_SRC : FLT_DIR_DST;
        t = flt_next(p);
        if (t.kind != FLT_T_WORD)
            return flt_fail(p, t.pos,
                            "expected an address, ip, host, net, port or as after the direction, "
                            "not %s",
                            &t);
    }
    if (flt_tok_is(p, &t, "any") && dir == FLT_DIR_ANY) {
        int rc = flt_node_new(p->f, FLT_ANY, out);
        return rc == 0 ? 0 : flt_grow_fail(p, rc);
    }
    if (flt_tok_is(p, &t, "host") || flt_tok_is(p, &t, "ip") || flt_tok_is(p, &t, "net")) {
        char kw[8];
        flt_tok_str(p, &t, kw, sizeof kw);
        if (flt_take_in(p)) {
            if (flt_parse_list(p, 1, 0, kw, &tpl) != 0)
                return -1;
            return flt_leaf_dir(p, dir, FLOW_COL_src_addr, FLOW_COL_dst_addr, &tpl, out);
        }
    }
    if (flt_tok_is(p, &t, "host") || flt_tok_is(p, &t, "ip")) {
        if (flt_parse_net(p, 0,
                          dir == FLT_DIR_SRC   ? "src"
                          : dir == FLT_DIR_DST ? "dst"
                                               : "host",
                          &tpl) != 0)
            return -1;
        return flt_leaf_dir(p, dir, FLOW_COL_src_addr, FLOW_COL_dst_addr, &tpl, out);
    }
    if (flt_tok_is(p, &t, "net")) {
        if (flt_parse_net(p, 1, "net", &tpl) != 0)
            return -1;
        return flt_leaf_dir(p, dir, FLOW_COL_src_addr, FLOW_COL_dst_addr, &tpl, out);
    }
    if (flt_tok_is(p, &t, "port")) {
        tpl.kind = FLT_NUM;
        if (flt_take_in(p) ? flt_parse_list(p, 0, 65535, "port", &tpl) != 0
                           : flt_parse_cmp_num(p, "port", 65535, &tpl) != 0)
            return -1;
        return flt_leaf_dir(p, dir, FLOW_COL_src_port, FLOW_COL_dst_port, &tpl, out);
    }
    if (flt_tok_is(p, &t, "as")) {
        tpl.kind = FLT_NUM;
        if (flt_take_in(p) ? flt_parse_list(p, 0, UINT32_MAX, "as", &tpl) != 0
                           : flt_parse_cmp_num(p, "as", UINT32_MAX, &tpl) != 0)
            return -1;
        return flt_leaf_dir(p, dir, FLOW_COL_src_as, FLOW_COL_dst_as, &tpl, out);
    }
    if (dir != FLT_DIR_ANY) {
        /* `src 10.0.0.1`: the address right after the direction */
        char buf[80];
        flow_addr_t a;
        if (flt_tok_str(p, &t, buf, sizeof buf) == 0 && flow_addr_parse(&a, buf) == 0) {
            p->cur = t.pos;
            if (flt_parse_net(p, 0, dir == FLT_DIR_SRC ? "src" : "dst", &tpl) != 0)
                return -1;
            return flt_leaf_dir(p, dir, FLOW_COL_src_addr, FLOW_COL_dst_addr, &tpl, out);
        }
        return flt_fail(p, t.pos,
                        "expected an address, ip, host, net, port or as after the direction, not "
                        "%s",
                        &t);
    }
    if (flt_tok_is(p, &t, "proto")) {
        flt_tok_t v = flt_next(p);
        char buf[32];
        tpl.kind = FLT_NUM;
        tpl.op = FLT_EQ;
        if (v.kind != FLT_T_WORD || flt_tok_str(p, &v, buf, sizeof buf) != 0 ||
            (flt_proto_number(buf, &tpl.num) != 0 &&
             (flt_tok_num(p, &v, &tpl.num) != 0 || tpl.num > 255)))
            return flt_fail(p, v.pos,
                            "expected a protocol (tcp, udp, icmp, icmp6, gre, esp, ... or 0 to "
                            "255) after 'proto', not %s",
                            &v);
        return flt_leaf_dir(p, FLT_DIR_SRC, FLOW_COL_proto, FLOW_COL_proto, &tpl, out);
    }
    if (flt_tok_is(p, &t, "flags")) {
        flt_tok_t v = flt_next(p);
        tpl.kind = FLT_FLAGS;
        if (v.kind != FLT_T_WORD)
            return flt_fail(p, v.pos,
                            "expected TCP flags (letters of FSRPAU) after 'flags', not "
                            "%s",
                            &v);
        for (size_t i = 0; i < v.len; i++) {
            /* TCP header bits, RFC 9293 section 3.1 */
            static const char letters[] = "FSRPAU";
            char c = (char)toupper((unsigned char)p->text[v.pos + i]);
            const char *at = c ? strchr(letters, c) : NULL;
            if (c == 'X') {
                tpl.num |= 0x3f; /* nfdump: all six flags */
                continue;
            }
            if (!at) {
                /* the whole character, not its first byte (é is two) */
                size_t len = 1;
                while (i + len < v.len && ((unsigned char)p->text[v.pos + i + len] & 0xc0) == 0x80)
                    len++;
                flt_tok_t one = {FLT_T_WORD, v.pos + i, len, FLT_EQ};
                return flt_fail(p, v.pos + i, "unknown TCP flag %s (use letters of FSRPAU)", &one);
            }
            tpl.num |= 1u << (at - letters);
        }
        return flt_leaf_dir(p, FLT_DIR_SRC, FLOW_COL_tcp_flags, FLOW_COL_tcp_flags, &tpl, out);
    }
    if (flt_tok_is(p, &t, "packets") || flt_tok_is(p, &t, "bytes") ||
        flt_tok_is(p, &t, "duration")) {
        int col = flt_tok_is(p, &t, "packets") ? FLOW_COL_packets : FLOW_COL_bytes;
        int is_dur = flt_tok_is(p, &t, "duration");
        tpl.kind = is_dur ? FLT_DURATION : FLT_NUM;
        if (flt_parse_cmp_num(p,
                              is_dur                    ? "duration"
                              : col == FLOW_COL_packets ? "packets"
                                                        : "bytes",
                              UINT64_MAX, &tpl) != 0)
            return -1;
        if (is_dur) {
            int rc = flt_node_new(p->f, FLT_DURATION, out);
            if (rc != 0)
                return flt_grow_fail(p, rc);
            p->f->nodes[*out].op = tpl.op;
            p->f->nodes[*out].num = tpl.num;
            p->f->cols |= FLOW_BIT(time_start) | FLOW_BIT(time_end);
            return 0;
        }
        return flt_leaf_dir(p, FLT_DIR_SRC, col, col, &tpl, out);
    }
    if (flt_tok_is(p, &t, "exporter") || flt_tok_is(p, &t, "router")) {
        if (flt_tok_is(p, &t, "router")) {
            /* nfdump spells it `router ip ADDR` */
            flt_tok_t ip = flt_next(p);
            if (!flt_tok_is(p, &ip, "ip"))
                return flt_fail(p, ip.pos, "expected 'ip' after 'router', not %s", &ip);
        }
        if (flt_parse_net(p, 0, "exporter", &tpl) != 0)
            return -1;
        return flt_leaf_dir(p, FLT_DIR_SRC, FLOW_COL_exporter, FLOW_COL_exporter, &tpl, out);
    }
    if (flt_tok_is(p, &t, "ipv4") || flt_tok_is(p, &t, "inet") || flt_tok_is(p, &t, "ipv6") ||
        flt_tok_is(p, &t, "inet6")) {
        /* nfdump's address families: IPv4 when either end is in the IPv4 block (both are, in
         * a flow), IPv6 the rest, so the two split every flow */
        tpl.kind = FLT_NET;
        tpl.bits = 96;
        memcpy(tpl.net, flt_mapped_block, 16);
        memset(tpl.mask, 0xff, 12);
        uint32_t v4;
        if (flt_leaf_dir(p, FLT_DIR_ANY, FLOW_COL_src_addr, FLOW_COL_dst_addr, &tpl, &v4) != 0)
            return -1;
        if (flt_tok_is(p, &t, "ipv4") || flt_tok_is(p, &t, "inet")) {
            *out = v4;
            return 0;
        }
        int rc = flt_node_pair(p->f, FLT_NOT, v4, 0, out);
        return rc == 0 ? 0 : flt_grow_fail(p, rc);
    }
    return flt_fail(p, t.pos, "unknown filter keyword %s", &t);
}

/* ---- expressions --------------------------------------------------------------------------- */

static int flt_parse_or(flt_parser_t *p, uint32_t *out);

static int flt_parse_factor(flt_parser_t *p, uint32_t *out)
{
    flt_tok_t t = flt_peek(p);
    if (++p->nest > FLT_MAX_NEST)
        return flt_fail(p, t.pos, "filter nested too deeply at %s", &t);
    int rc;
    if (flt_tok_is(p, &t, "not") || (t.kind == FLT_T_WORD && t.len == 1 && p->text[t.pos] == '!')) {
        uint32_t child;
        flt_next(p);
        if (flt_parse_factor(p, &child) != 0)
            return -1;
        rc = flt_node_pair(p->f, FLT_NOT, child, 0, out);
        if (rc != 0)
            return flt_grow_fail(p, rc);
    } else if (t.kind == FLT_T_LP) {
        flt_next(p);
        if (flt_parse_or(p, out) != 0)
            return -1;
        flt_tok_t r = flt_next(p);
        if (r.kind != FLT_T_RP)
            return flt_fail(p, r.pos, "expected ')' or 'and' or 'or', not %s", &r);
    } else if (t.kind == FLT_T_RP) {
        return flt_fail(p, t.pos, "unexpected %s (nothing to close)", &t);
    } else if (t.kind == FLT_T_END) {
        return flt_fail(p, t.pos, "expected a primitive (host, port, proto, ...), not %s", &t);
    } else if (flt_tok_is(p, &t, "and") || flt_tok_is(p, &t, "or")) {
        return flt_fail(p, t.pos, "expected a primitive before %s", &t);
    } else {
        if (flt_parse_primitive(p, out) != 0)
            return -1;
    }
    p->nest--;
    return 0;
}

static int flt_parse_and(flt_parser_t *p, uint32_t *out)
{
    if (flt_parse_factor(p, out) != 0)
        return -1;
    for (;;) {
        flt_tok_t t = flt_peek(p);
        if (!flt_tok_is(p, &t, "and") &&
            !(t.kind == FLT_T_WORD && t.len == 2 && strncmp(p->text + t.pos, "&&", 2) == 0))
            return 0;
        flt_next(p);
        uint32_t rhs;
        if (flt_parse_factor(p, &rhs) != 0)
            return -1;
        int rc = flt_node_pair(p->f, FLT_AND, *out, rhs, out);
        if (rc != 0)
            return flt_grow_fail(p, rc);
    }
}

static int flt_parse_or(flt_parser_t *p, uint32_t *out)
{
    if (flt_parse_and(p, out) != 0)
        return -1;
    for (;;) {
        flt_tok_t t = flt_peek(p);
        if (!flt_tok_is(p, &t, "or") &&
            !(t.kind == FLT_T_WORD && t.len == 2 && strncmp(p->text + t.pos, "||", 2) == 0))
            return 0;
        flt_next(p);
        uint32_t rhs;
        if (flt_parse_and(p, &rhs) != 0)
            return -1;
        int rc = flt_node_pair(p->f, FLT_OR, *out, rhs, out);
        if (rc != 0)
            return flt_grow_fail(p, rc);
    }
}

/* Vectors evaluation needs at once below node n: the left child reuses its parent's vector, the
 * right child needs one more. */
static uint32_t flt_levels(const flt_t *f, uint32_t n)
{
    const flt_node_t *nd = &f->nodes[n];
    switch (nd->kind) {
    case FLT_AND:
    case FLT_OR: {
        uint32_t l = flt_levels(f, nd->left), r = flt_levels(f, nd->right) + 1;
        return l > r ? l : r;
    }
    case FLT_NOT:
        return flt_levels(f, nd->left);
    default:
        return 1;
    }
}

int flt_parse(const char *text, flt_t **out, flt_error_t *err)
{
    flt_t *f = calloc(1, sizeof *f);
    flt_parser_t p = {.text = text ? text : "", .f = f, .err = err};
    err->pos = 0;
    err->msg[0] = '\0';
    if (!f)
        return -2;
    flt_tok_t t = flt_peek(&p);
    int rc = 0;
    if (t.kind == FLT_T_END) {
        rc = flt_node_new(f, FLT_ANY, &f->root) == 0 ? 0 : -2;
    } else if (flt_parse_or(&p, &f->root) != 0) {
        rc = p.nomem ? -2 : -1;
    } else {
        t = flt_peek(&p);
        if (t.kind != FLT_T_END) {
            if (t.kind == FLT_T_RP)
                flt_fail(&p, t.pos, "unexpected %s (nothing to close)", &t);
            else
                flt_fail(&p, t.pos, "expected 'and', 'or' or the end of the filter, not %s", &t);
            rc = -1;
        }
    }
    if (rc != 0) {
        flt_free(f);
        return rc;
    }
    f->levels = flt_levels(f, f->root);
    *out = f;
    return 0;
}

void flt_free(flt_t *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->n_lists; i++)
        free(f->lists[i].v);
    free(f->lists);
    free(f->nodes);
    free(f);
}

char *flt_join(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len), *w = s;
    if (!s)
        return NULL;
    *w = '\0';
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i)
            *w++ = ' ';
        memcpy(w, argv[i], n);
        w += n;
        *w = '\0';
    }
    return s;
}

void flt_print_error(FILE *out, const char *prog, const char *text, const flt_error_t *err)
{
    /* only the line holding the error: a filter of several lines ("$(cat iocs.filter)") printed
     * whole put the caret under its first line, as many columns on as the bytes before it */
    size_t n = strlen(text), pos = err->pos < n ? err->pos : n;
    if (pos == n) /* the end of the filter: after its last line, not after its line end */
        while (pos > 0 && (text[pos - 1] == '\n' || text[pos - 1] == '\r'))
            pos--;
    size_t start = pos, end = pos;
    while (start > 0 && text[start - 1] != '\n' && text[start - 1] != '\r')
        start--;
    while (end < n && text[end] != '\n' && text[end] != '\r')
        end++;
    /* a long line (a list of a thousand addresses): 150 bytes before the error, 200 in all, as
     * for a filter file, so the caret stays on the screen row of what it points at; cut
     * between UTF-8 characters, not within one */
    if (pos - start > 150)
        start = pos - 150;
    while (start < pos && ((unsigned char)text[start] & 0xc0) == 0x80)
        start++;
    if (end - start > 200)
        end = start + 200;
    while (end > pos && end < n && ((unsigned char)text[end] & 0xc0) == 0x80)
        end--;
    fprintf(out, "%s: filter: %s\n  %.*s\n  ", prog, err->msg, (int)(end - start), text + start);
    for (size_t i = start; i < pos; i++)
        fputc(text[i] == '\t' ? '\t' : ' ', out);
    if (err->pos > n)
        fputc(' ', out);
    fputs("^\n", out);
}

void flt_set_window(flt_t *f, uint64_t from_ms, uint64_t to_ms)
{
    uint32_t w, a;
    if (from_ms == 0 && to_ms == UINT64_MAX)
        return;
    /* the caller checks for out-of-memory on the next call that matters; a window that cannot
     * be added would silently widen the result, so abort the program instead */
    if (flt_node_new(f, FLT_WINDOW, &w) != 0 || flt_node_pair(f, FLT_AND, w, f->root, &a) != 0) {
        fprintf(stderr, "flowhunt: out of memory\n");
        exit(2);
    }
    f->nodes[w].num = from_ms;
    f->nodes[w].num2 = to_ms;
    f->root = a;
    f->cols |= FLOW_BIT(time_start) | FLOW_BIT(time_end);
    f->levels = flt_levels(f, f->root);
}

/* f becomes `g' KIND f` (g' on the left, evaluated first), g' a copy of g, with every column
 * mirrored (flow_col_mirror) when `mirror`. g may be f itself: what is copied is counted before
 * anything is added. 0, -1 past the node limit, -2 out of memory. */
static int flt_graft(flt_t *f, const flt_t *g, flt_kind_t kind, int mirror)
{
    const uint32_t base = f->n_nodes, lbase = f->n_lists;
    const uint32_t g_nodes = g->n_nodes, g_lists = g->n_lists, g_root = g->root;
    uint64_t g_cols = g->cols;
    if (g_lists) {
        flt_list_t *l = realloc(f->lists, (size_t)(f->n_lists + g_lists) * sizeof *l);
        if (!l)
            return -2;
        f->lists = l;
        for (uint32_t i = 0; i < g_lists; i++) {
            const flt_list_t *src = &g->lists[i];
            size_t words = (size_t)src->n * (src->addr ? 4 : 1);
            flt_list_t *dst = &f->lists[f->n_lists];
            *dst = *src;
            if (!(dst->v = malloc((words ? words : 1) * sizeof *dst->v)))
                return -2;
            memcpy(dst->v, src->v, words * sizeof *dst->v);
            f->n_lists++;
        }
    }
    for (uint32_t i = 0; i < g_nodes; i++) {
        uint32_t id;
        int rc = flt_node_new(f, (flt_kind_t)g->nodes[i].kind, &id);
        if (rc != 0)
            return rc;
        flt_node_t *nd = &f->nodes[id];
        *nd = g->nodes[i];
        if (nd->kind == FLT_AND || nd->kind == FLT_OR || nd->kind == FLT_NOT)
            nd->left += base;
        if (nd->kind == FLT_AND || nd->kind == FLT_OR)
            nd->right += base;
        else if (nd->kind == FLT_LIST)
            nd->num += lbase;
        if (mirror && (nd->kind == FLT_NUM || nd->kind == FLT_NET || nd->kind == FLT_FLAGS ||
                       nd->kind == FLT_LIST))
            nd->col = (int16_t)flow_col_mirror(nd->col);
    }
    if (mirror) {
        uint64_t m = 0;
        for (int c = 0; c < FLOW_N_COLS; c++)
            if ((g_cols >> c) & 1)
                m |= (uint64_t)1 << flow_col_mirror(c);
        g_cols = m;
    }
    uint32_t root;
    int rc = flt_node_pair(f, kind, g_root + base, f->root, &root);
    if (rc != 0)
        return rc;
    f->root = root;
    f->cols |= g_cols;
    f->levels = flt_levels(f, f->root);
    return 0;
}

int flt_and(flt_t *f, const flt_t *g)
{
    /* g on the left: a feed's few matches leave f's columns compressed where none match */
    return flt_graft(f, g, FLT_AND, 0);
}

int flt_either_way(flt_t *f)
{
    return flt_graft(f, f, FLT_OR, 1);
}

uint64_t flt_columns(const flt_t *f)
{
    return f->cols;
}

/* ---- description --------------------------------------------------------------------------- */

typedef struct flt_sb {
    char *p;
    size_t cap, len;
} flt_sb_t;

static void flt_sb_put(flt_sb_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void flt_sb_put(flt_sb_t *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sb->len < sb->cap ? sb->cap - sb->len : 0;
    int n = vsnprintf(room ? sb->p + sb->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb->len += (size_t)n;
}

static const char *const flt_op_names[] = {"=", "<", ">", "<=", ">="};

static void flt_words_addr(const uint64_t w[2], flow_addr_t *a)
{
    for (int i = 0; i < 8; i++) {
        a->b[i] = (uint8_t)(w[0] >> (56 - 8 * i));
        a->b[8 + i] = (uint8_t)(w[1] >> (56 - 8 * i));
    }
}

/* "(col in [a b/24 c-d])": a range that is one network as CIDR, else first-last; the first 16. */
static void flt_describe_list(const flt_list_t *l, const char *col, flt_sb_t *sb)
{
    flt_sb_put(sb, "(%s in [", col);
    for (uint32_t i = 0; i < l->n && i < 16; i++) {
        if (i)
            flt_sb_put(sb, " ");
        if (!l->addr) {
            flt_sb_put(sb, "%llu", (unsigned long long)l->v[i]);
            continue;
        }
        const uint64_t *r = l->v + 4 * (size_t)i;
        flow_addr_t a;
        char txt[FLOW_ADDR_STRLEN];
        flt_words_addr(r, &a);
        flow_addr_format(&a, txt);
        flt_sb_put(sb, "%s", txt);
        /* host bits h: the range is a network when first has them clear and last set */
        int bits = -1;
        for (int h = 0; h <= 128 && bits < 0; h++) {
            uint64_t m0 = h >= 128 ? ~0ull : h > 64 ? ~0ull >> (128 - h) : 0;
            uint64_t m1 = h >= 64 ? ~0ull : h ? ~0ull >> (64 - h) : 0;
            if (!(r[0] & m0) && !(r[1] & m1) && r[2] == (r[0] | m0) && r[3] == (r[1] | m1))
                bits = 128 - h;
        }
        if (bits == 128)
            continue;
        if (bits >= 0)
            flt_sb_put(sb, "/%d", flow_addr_is_v4(&a) && bits >= 96 ? bits - 96 : bits);
        else {
            flt_words_addr(r + 2, &a);
            flow_addr_format(&a, txt);
            flt_sb_put(sb, "-%s", txt);
        }
    }
    flt_sb_put(sb, "%s])", l->n > 16 ? " ..." : "");
}

static void flt_describe_node(const flt_t *f, uint32_t n, flt_sb_t *sb)
{
    const flt_node_t *nd = &f->nodes[n];
    switch (nd->kind) {
    case FLT_ANY:
        flt_sb_put(sb, "any");
        return;
    case FLT_AND:
    case FLT_OR:
        flt_sb_put(sb, "(%s ", nd->kind == FLT_AND ? "and" : "or");
        flt_describe_node(f, nd->left, sb);
        flt_sb_put(sb, " ");
        flt_describe_node(f, nd->right, sb);
        flt_sb_put(sb, ")");
        return;
    case FLT_NOT:
        flt_sb_put(sb, "(not ");
        flt_describe_node(f, nd->left, sb);
        flt_sb_put(sb, ")");
        return;
    case FLT_NUM:
        flt_sb_put(sb, "(%s %s %llu)", flow_cols[nd->col].name, flt_op_names[nd->op],
                   (unsigned long long)nd->num);
        return;
    case FLT_FLAGS:
        flt_sb_put(sb, "(%s has 0x%02llx)", flow_cols[nd->col].name, (unsigned long long)nd->num);
        return;
    case FLT_DURATION:
        flt_sb_put(sb, "(duration %s %llu)", flt_op_names[nd->op], (unsigned long long)nd->num);
        return;
    case FLT_WINDOW:
        flt_sb_put(sb, "(window %llu %llu)", (unsigned long long)nd->num,
                   (unsigned long long)nd->num2);
        return;
    case FLT_LIST:
        flt_describe_list(&f->lists[nd->num], flow_cols[nd->col].name, sb);
        return;
    case FLT_NET: {
        flow_addr_t a;
        char txt[FLOW_ADDR_STRLEN];
        memcpy(a.b, nd->net, 16);
        flow_addr_format(&a, txt);
        unsigned bits = nd->bits;
        if (flow_addr_is_v4(&a) && bits >= 96)
            bits -= 96;
        if (nd->bits == 128)
            flt_sb_put(sb, "(%s = %s)", flow_cols[nd->col].name, txt);
        else
            flt_sb_put(sb, "(%s in %s/%u%s)", flow_cols[nd->col].name, txt, bits,
                       nd->v6only ? ", IPv6" : "");
        return;
    }
    }
}

size_t flt_describe(const flt_t *f, char *out, size_t cap)
{
    flt_sb_t sb = {out, cap, 0};
    if (cap)
        out[0] = '\0';
    flt_describe_node(f, f->root, &sb);
    return sb.len;
}

/* ---- evaluation over a batch --------------------------------------------------------------- */

void flt_scratch_init(flt_scratch_t *s)
{
    s->buf = NULL;
    s->cap = 0;
    s->entry = NULL;
    s->entry_cap = 0;
}

/* Grows one of the scratch's byte buffers to at least `need`; 0, or -1 (it is then unchanged). */
static int flt_scratch_grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    uint8_t *nb = realloc(*buf, need);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = need;
    return 0;
}

void flt_scratch_free(flt_scratch_t *s)
{
    free(s->buf);
    free(s->entry);
    flt_scratch_init(s);
}

typedef struct flt_run {
    const flt_t *f;
    seg_batch_t *b;
    uint8_t *buf; /* levels vectors of `stride` bytes */
    size_t stride;
    uint32_t n;
    seg_where_t *where;
    flt_scratch_t *s;
} flt_run_t;

static int flt_load(flt_run_t *r, int col)
{
    if ((r->b->loaded >> col) & 1)
        return 0;
    return seg_batch_load(r->b, col, r->where);
}

static int flt_cmp_u64(uint64_t v, flt_op_t op, uint64_t x)
{
    switch (op) {
    case FLT_EQ:
        return v == x;
    case FLT_LT:
        return v < x;
    case FLT_GT:
        return v > x;
    case FLT_LE:
        return v <= x;
    case FLT_GE:
        return v >= x;
    }
    return 0;
}

/* One loop per (type, op), each simple enough to vectorize. */
#define FLT_LOOP(T, EXPR)                                                                          \
    do {                                                                                           \
        const T *v = (const T *)vals;                                                              \
        for (uint32_t i = 0; i < n; i++)                                                           \
            sel[i] = (uint8_t)(EXPR);                                                              \
    } while (0)

#define FLT_CMP_LOOPS(T)                                                                           \
    do {                                                                                           \
        switch (op) {                                                                              \
        case FLT_EQ:                                                                               \
            FLT_LOOP(T, (uint64_t)v[i] == x);                                                      \
            break;                                                                                 \
        case FLT_LT:                                                                               \
            FLT_LOOP(T, (uint64_t)v[i] < x);                                                       \
            break;                                                                                 \
        case FLT_GT:                                                                               \
            FLT_LOOP(T, (uint64_t)v[i] > x);                                                       \
            break;                                                                                 \
        case FLT_LE:                                                                               \
            FLT_LOOP(T, (uint64_t)v[i] <= x);                                                      \
            break;                                                                                 \
        case FLT_GE:                                                                               \
            FLT_LOOP(T, (uint64_t)v[i] >= x);                                                      \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

static void flt_eval_num(const void *vals, flow_type_t type, flt_op_t op, uint64_t x, uint8_t *sel,
                         uint32_t n)
{
    switch (type) {
    case FLOW_T_U8:
        FLT_CMP_LOOPS(uint8_t);
        break;
    case FLOW_T_U16:
        FLT_CMP_LOOPS(uint16_t);
        break;
    case FLOW_T_U32:
        FLT_CMP_LOOPS(uint32_t);
        break;
    case FLOW_T_U64:
    case FLOW_T_TIME:
        FLT_CMP_LOOPS(uint64_t);
        break;
    case FLOW_T_ADDR:
        memset(sel, 0, n);
        break;
    }
}

static void flt_eval_net(const flt_node_t *nd, const flow_addr_t *a, uint8_t *sel, uint32_t n)
{
    const uint64_t n0 = nd->net[0], n1 = nd->net[1], m0 = nd->mask[0], m1 = nd->mask[1];
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w[2];
        memcpy(w, a[i].b, 16);
        sel[i] = (uint8_t)(((w[0] & m0) == n0) & ((w[1] & m1) == n1));
    }
    if (nd->v6only)
        for (uint32_t i = 0; i < n; i++)
            sel[i] &= (uint8_t)!flt_is_v4_bytes(a[i].b);
}

/* A column's value of row i as a number (addresses have none). */
static uint64_t flt_val_u64(const void *vals, flow_type_t type, uint32_t i)
{
    switch (type) {
    case FLOW_T_U8:
        return ((const uint8_t *)vals)[i];
    case FLOW_T_U16:
        return ((const uint16_t *)vals)[i];
    case FLOW_T_U32:
        return ((const uint32_t *)vals)[i];
    case FLOW_T_U64:
    case FLOW_T_TIME:
        return ((const uint64_t *)vals)[i];
    case FLOW_T_ADDR:
        break;
    }
    return 0;
}

static void flt_eval_list(const flt_list_t *l, const void *vals, flow_type_t type, uint8_t *sel,
                          uint32_t n)
{
    if (l->addr) {
        const flow_addr_t *a = vals;
        for (uint32_t i = 0; i < n; i++)
            sel[i] = (uint8_t)(type == FLOW_T_ADDR && flt_list_has_addr(l, a[i].b));
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        sel[i] = (uint8_t)(type != FLOW_T_ADDR && flt_list_has_num(l, flt_val_u64(vals, type, i)));
}

/* in[e] = whether addrs[e] is in the list. A dictionary ascends in runs (a column's entries,
 * then a linked column's mirror's), so each entry's range is found by walking on from the
 * one before, a few steps and then a binary search over the rest; an entry below the one
 * before starts a new run. A feed of 1000 over a group's ~10,000 addresses: a merge, not
 * 10,000 searches of ten mispredicted steps. */
static void flt_list_mark(const flt_list_t *l, const flow_addr_t *addrs, uint32_t n, uint8_t *in)
{
    uint32_t i = 0;
    uint64_t prev[2] = {0, 0};
    for (uint32_t e = 0; e < n; e++) {
        uint64_t x[2];
        flt_addr_words(addrs[e].b, x);
        if (flt_w_cmp(x, prev) < 0)
            i = 0;
        for (int step = 0; i < l->n && flt_w_cmp(l->v + 4 * (size_t)i + 2, x) < 0; step++) {
            if (step == 4) { /* far on: search the rest */
                flt_list_t rest = {l->v + 4 * (size_t)i, l->n - i, 1};
                i += flt_list_range_at(&rest, x);
                break;
            }
            i++;
        }
        in[e] = (uint8_t)(i < l->n && flt_w_cmp(l->v + 4 * (size_t)i, x) <= 0);
        prev[0] = x[0];
        prev[1] = x[1];
    }
}

/* An address term over a column not decoded yet, decided once per entry of the group's
 * dictionary instead of once per row, and the rows read as codes, not as 16-byte addresses:
 * an IOC feed's binary search costs ~25 ns a row, and a group's rows share their addresses (a
 * feed of 1000 over the bench's 2 M flows: 44 % of the query's CPU was that search). Rows
 * without the column read as the zero address, as in flt_eval_net and flt_eval_list. 1 done,
 * 0 when the group does not store the column as a dictionary (the caller decodes its values),
 * or -SEG_E_*. */
static int flt_eval_addr_codes(flt_run_t *r, const flt_node_t *nd, uint8_t *sel)
{
    seg_codes_t cd;
    int rc = seg_batch_codes(r->b, nd->col, &cd, r->where);
    if (rc <= 0)
        return rc;
    flt_scratch_t *s = r->s;
    if (flt_scratch_grow(&s->entry, &s->entry_cap, (size_t)cd.n_dict + 1) != 0)
        return -SEG_E_NOMEM;
    uint8_t *in = s->entry;
    static const flow_addr_t zero;
    if (nd->kind == FLT_LIST) {
        flt_list_mark(&r->f->lists[nd->num], cd.dict, cd.n_dict, in);
        flt_list_mark(&r->f->lists[nd->num], &zero, 1, in + cd.n_dict);
    } else {
        for (uint32_t e = 0; e < cd.n_dict; e++)
            in[e] = (uint8_t)flt_net_meets(nd, cd.dict[e].b);
        in[cd.n_dict] = (uint8_t)flt_net_meets(nd, zero.b);
    }
    const uint32_t *code = cd.code;
    const uint32_t n = r->n;
    if (!cd.present)
        for (uint32_t i = 0; i < n; i++)
            sel[i] = in[code[i]];
    else
        for (uint32_t i = 0; i < n; i++)
            sel[i] = in[cd.present[i] ? code[i] : cd.n_dict];
    return 1;
}

static int flt_any_set(const uint8_t *sel, uint32_t n)
{
    uint64_t acc = 0;
    for (uint32_t i = 0; i < n; i++)
        acc |= sel[i];
    return acc != 0;
}

static int flt_all_set(const uint8_t *sel, uint32_t n)
{
    uint8_t acc = 1;
    for (uint32_t i = 0; i < n; i++)
        acc &= sel[i];
    return acc != 0;
}

/* Whether a row's time range, [min, max] of the times it has (0 for none), meets the window
 * [num, num2) of node nd. */
static int flt_window_meets(const flt_node_t *nd, int hs, uint64_t s, int he, uint64_t e)
{
    const uint64_t t0 = hs ? s : he ? e : 0, t1 = he ? e : t0;
    const uint64_t lo = t0 < t1 ? t0 : t1, hi = t0 < t1 ? t1 : t0;
    return lo < nd->num2 && hi >= nd->num;
}

/* Evaluates node `id` into vector `level` of the run. */
static int flt_eval(flt_run_t *r, uint32_t id, uint32_t level)
{
    const flt_node_t *nd = &r->f->nodes[id];
    uint8_t *sel = r->buf + (size_t)level * r->stride;
    uint32_t n = r->n;
    int rc;
    switch (nd->kind) {
    case FLT_ANY:
        memset(sel, 1, n);
        return 0;
    case FLT_AND:
    case FLT_OR: {
        if ((rc = flt_eval(r, nd->left, level)) != 0)
            return rc;
        /* the left side decides every row: the right side's columns stay compressed */
        if (nd->kind == FLT_AND ? !flt_any_set(sel, n) : flt_all_set(sel, n))
            return 0;
        if ((rc = flt_eval(r, nd->right, level + 1)) != 0)
            return rc;
        const uint8_t *rhs = sel + r->stride;
        if (nd->kind == FLT_AND)
            for (uint32_t i = 0; i < n; i++)
                sel[i] &= rhs[i];
        else
            for (uint32_t i = 0; i < n; i++)
                sel[i] |= rhs[i];
        return 0;
    }
    case FLT_NOT:
        if ((rc = flt_eval(r, nd->left, level)) != 0)
            return rc;
        for (uint32_t i = 0; i < n; i++)
            sel[i] ^= 1;
        return 0;
    case FLT_NUM:
        if ((rc = flt_load(r, nd->col)) != 0)
            return rc;
        flt_eval_num(r->b->vals[nd->col], flow_cols[nd->col].type, (flt_op_t)nd->op, nd->num, sel,
                     n);
        return 0;
    case FLT_FLAGS: {
        if ((rc = flt_load(r, nd->col)) != 0)
            return rc;
        const uint8_t *v = r->b->vals[nd->col];
        const uint8_t m = (uint8_t)nd->num;
        for (uint32_t i = 0; i < n; i++)
            sel[i] = (uint8_t)((v[i] & m) == m);
        return 0;
    }
    case FLT_NET:
        if (!((r->b->loaded >> nd->col) & 1) && (rc = flt_eval_addr_codes(r, nd, sel)) != 0)
            return rc < 0 ? rc : 0;
        if ((rc = flt_load(r, nd->col)) != 0)
            return rc;
        flt_eval_net(nd, r->b->vals[nd->col], sel, n);
        return 0;
    case FLT_LIST:
        if (r->f->lists[nd->num].addr && !((r->b->loaded >> nd->col) & 1) &&
            (rc = flt_eval_addr_codes(r, nd, sel)) != 0)
            return rc < 0 ? rc : 0;
        if ((rc = flt_load(r, nd->col)) != 0)
            return rc;
        flt_eval_list(&r->f->lists[nd->num], r->b->vals[nd->col], flow_cols[nd->col].type, sel, n);
        return 0;
    case FLT_DURATION:
    case FLT_WINDOW: {
        if ((rc = flt_load(r, FLOW_COL_time_start)) != 0 ||
            (rc = flt_load(r, FLOW_COL_time_end)) != 0)
            return rc;
        const uint64_t *s = r->b->vals[FLOW_COL_time_start];
        const uint64_t *e = r->b->vals[FLOW_COL_time_end];
        if (nd->kind == FLT_WINDOW) {
            /* a row's time range is [min, max] of the times it has, in either order (FORMAT.md;
             * exporters' clocks run backwards), as count bins it: `start < to and end >= from`
             * dropped a flow whose end precedes its start from the windows inside its span */
            const uint64_t from = nd->num, to = nd->num2;
            const uint8_t *ps = r->b->present[FLOW_COL_time_start];
            const uint8_t *pe = r->b->present[FLOW_COL_time_end];
            if (!ps && !pe) {
                for (uint32_t i = 0; i < n; i++) {
                    const uint64_t lo = s[i] < e[i] ? s[i] : e[i], hi = s[i] < e[i] ? e[i] : s[i];
                    sel[i] = (uint8_t)((lo < to) & (hi >= from));
                }
                return 0;
            }
            for (uint32_t i = 0; i < n; i++)
                sel[i] = (uint8_t)flt_window_meets(nd, !ps || ps[i], s[i], !pe || pe[i], e[i]);
            return 0;
        }
        /* a record whose end precedes its start (a broken exporter), or that lacks either
         * time (absent reads 0: its "duration" would be the epoch's age), lasts 0 ms, as the
         * zone maps assume (flt_want) */
        const flt_op_t op = (flt_op_t)nd->op;
        const uint64_t x = nd->num;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t d = s[i] && e[i] > s[i] ? e[i] - s[i] : 0;
            sel[i] = (uint8_t)flt_cmp_u64(d, op, x);
        }
        return 0;
    }
    }
    return 0;
}

int flt_select(const flt_t *f, flt_scratch_t *s, seg_batch_t *b, uint32_t *rows, seg_where_t *where)
{
    uint32_t n = b->n_rows;
    if (n == 0)
        return 0;
    size_t stride = ((size_t)n + 63) & ~(size_t)63;
    if (flt_scratch_grow(&s->buf, &s->cap, stride * f->levels) != 0)
        return -SEG_E_NOMEM;
    flt_run_t r = {f, b, s->buf, stride, n, where, s};
    int rc = flt_eval(&r, f->root, 0);
    if (rc != 0)
        return rc;
    uint32_t k = 0;
    const uint8_t *sel = s->buf;
    for (uint32_t i = 0; i < n; i++) {
        rows[k] = i;
        k += sel[i];
    }
    return (int)k;
}

/* ---- evaluation on one record (the reference) ---------------------------------------------- */

static uint64_t flt_rec_u64(const flow_rec_t *rec, int col)
{
    const flow_col_info_t *c = &flow_cols[col];
    const uint8_t *p = (const uint8_t *)rec + c->offset;
    if (!(rec->present & ((uint64_t)1 << col)))
        return 0;
    switch (c->type) {
    case FLOW_T_U8:
        return *p;
    case FLOW_T_U16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case FLOW_T_U32: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case FLOW_T_U64:
    case FLOW_T_TIME: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    case FLOW_T_ADDR:
        return 0;
    }
    return 0;
}

static int flt_match_node(const flt_t *f, uint32_t id, const flow_rec_t *rec)
{
    const flt_node_t *nd = &f->nodes[id];
    switch (nd->kind) {
    case FLT_ANY:
        return 1;
    case FLT_AND:
        return flt_match_node(f, nd->left, rec) && flt_match_node(f, nd->right, rec);
    case FLT_OR:
        return flt_match_node(f, nd->left, rec) || flt_match_node(f, nd->right, rec);
    case FLT_NOT:
        return !flt_match_node(f, nd->left, rec);
    case FLT_NUM:
        return flt_cmp_u64(flt_rec_u64(rec, nd->col), (flt_op_t)nd->op, nd->num);
    case FLT_FLAGS:
        return (flt_rec_u64(rec, nd->col) & nd->num) == nd->num;
    case FLT_NET: {
        flow_addr_t a;
        uint8_t sel;
        memset(&a, 0, sizeof a);
        if (rec->present & ((uint64_t)1 << nd->col))
            memcpy(&a, (const uint8_t *)rec + flow_cols[nd->col].offset, sizeof a);
        flt_eval_net(nd, &a, &sel, 1);
        return sel;
    }
    case FLT_LIST: {
        const flt_list_t *l = &f->lists[nd->num];
        if (!l->addr)
            return flt_list_has_num(l, flt_rec_u64(rec, nd->col));
        flow_addr_t a;
        memset(&a, 0, sizeof a);
        if (rec->present & ((uint64_t)1 << nd->col))
            memcpy(&a, (const uint8_t *)rec + flow_cols[nd->col].offset, sizeof a);
        return flt_list_has_addr(l, a.b);
    }
    case FLT_DURATION:
    case FLT_WINDOW: {
        uint64_t s = flt_rec_u64(rec, FLOW_COL_time_start), e = flt_rec_u64(rec, FLOW_COL_time_end);
        if (nd->kind == FLT_WINDOW)
            return flt_window_meets(nd, (rec->present >> FLOW_COL_time_start) & 1, s,
                                    (rec->present >> FLOW_COL_time_end) & 1, e);
        return flt_cmp_u64(s && e > s ? e - s : 0, (flt_op_t)nd->op, nd->num);
    }
    }
    return 0;
}

void flt_rows_init(flt_rows_t *r)
{
    memset(r, 0, sizeof *r);
    flt_scratch_init(&r->scratch);
}

void flt_rows_free(flt_rows_t *r)
{
    flt_scratch_free(&r->scratch);
    free(r->v);
    memset(r, 0, sizeof *r);
}

int flt_select_rows(const flt_t *f, flt_rows_t *r, seg_batch_t *b, seg_where_t *where)
{
    if (r->cap < b->n_rows) {
        uint32_t *v = realloc(r->v, (size_t)b->n_rows * sizeof *v);
        if (!v)
            return -SEG_E_NOMEM;
        r->v = v;
        r->cap = b->n_rows;
    }
    return flt_select(f, &r->scratch, b, r->v, where);
}

int flt_match_rec(const flt_t *f, const flow_rec_t *rec)
{
    return flt_match_node(f, f->root, rec);
}

/* ---- pruning by zone maps ------------------------------------------------------------------ */

enum { FLT_NEVER = 0, FLT_MAYBE = 1, FLT_ALWAYS = 2 };

/* Three-valued result of `v op x` for every v in [lo, hi]. */
static int flt_range_cmp(uint64_t lo, uint64_t hi, flt_op_t op, uint64_t x)
{
    int all, none;
    switch (op) {
    case FLT_EQ:
        all = lo == x && hi == x;
        none = x < lo || x > hi;
        break;
    case FLT_LT:
        all = hi < x;
        none = lo >= x;
        break;
    case FLT_GT:
        all = lo > x;
        none = hi <= x;
        break;
    case FLT_LE:
        all = hi <= x;
        none = lo > x;
        break;
    default: /* FLT_GE */
        all = lo >= x;
        none = hi < x;
        break;
    }
    return all ? FLT_ALWAYS : none ? FLT_NEVER : FLT_MAYBE;
}

/* Joins the result over the zone's interval with the result for an absent field (0). */
static int flt_with_absent(int range, int zero)
{
    if (range == zero)
        return range;
    return FLT_MAYBE;
}

static uint64_t flt_zone_u64(const uint8_t *raw, size_t width)
{
    switch (width) {
    case 1:
        return raw[0];
    case 2: {
        uint16_t v;
        memcpy(&v, raw, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, raw, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, raw, 8);
        return v;
    }
    }
}

/* Zone of an integer column as [lo, hi]: 0 when unknown, 1 when rows may lack the column, 2
 * when every row has it. */
static int flt_zone_range(const flt_zone_src_t *z, int col, uint64_t *lo, uint64_t *hi)
{
    _Alignas(16) uint8_t mn[16], mx[16];
    int rc = z->range(z->arg, col, mn, mx);
    if (rc != 1 && rc != 2)
        return 0;
    *lo = flt_zone_u64(mn, flow_cols[col].width);
    *hi = flt_zone_u64(mx, flow_cols[col].width);
    return *lo <= *hi ? rc : 0;
}

/* 1 when a port column's buckets show that no present value v has `v op x`: the values that
 * do form one interval, and no bucket that meets it is set. A min/max zone cannot see a rare
 * port between a group's service ports and its ephemeral ones (1337 in [22, 60999]). */
static int flt_ports_none(const flt_zone_src_t *z, int col, flt_op_t op, uint64_t x)
{
    uint8_t bits[SEG_PORT_BUCKET_BYTES];
    if (!z->ports || (col != FLOW_COL_src_port && col != FLOW_COL_dst_port) ||
        z->ports(z->arg, col, bits) != 1)
        return 0;
    uint64_t a = 0, b = UINT16_MAX;
    switch (op) {
    case FLT_EQ:
        a = b = x;
        break;
    case FLT_LT:
        if (x == 0)
            return 1;
        b = x - 1;
        break;
    case FLT_LE:
        b = x;
        break;
    case FLT_GT:
        a = x + 1;
        break;
    default: /* FLT_GE */
        a = x;
        break;
    }
    b = b < UINT16_MAX ? b : UINT16_MAX;
    for (uint64_t i = a >> 7; a <= b && i <= b >> 7; i++) /* bucket i: ports 128 i .. */
        if (seg_port_bucket_has(bits, (uint16_t)(i << 7)))
            return 0;
    return 1;
}

/* Joins the result over the zone's interval with the result for an absent field (0), unless
 * the zone says no row is absent. */
static int flt_join_absent(int zone_rc, int range, int zero)
{
    return zone_rc == 2 ? range : flt_with_absent(range, zero);
}

/* A list term over a group's zones: never when no item lies in the zone's interval (or, for
 * a port column, in a set bucket), always when the interval lies in one range (one value, for
 * numbers), joined with what an absent field (0) gives. */
static int flt_want_list(const flt_list_t *l, int col, const flt_zone_src_t *z)
{
    int range, zr;
    if (l->addr) {
        _Alignas(16) uint8_t mn[16], mx[16];
        uint8_t zero16[16] = {0};
        zr = z->range(z->arg, col, mn, mx);
        if (zr != 1 && zr != 2)
            return FLT_MAYBE;
        uint64_t a[2], b[2];
        flt_addr_words(mn, a);
        flt_addr_words(mx, b);
        uint32_t i = flt_list_range_at(l, a);
        const uint64_t *r = l->v + 4 * (size_t)i;
        if (i == l->n || flt_w_cmp(r, b) > 0)
            range = FLT_NEVER;
        else if (flt_w_cmp(r, a) <= 0 && flt_w_cmp(r + 2, b) >= 0)
            range = FLT_ALWAYS;
        else
            range = FLT_MAYBE;
        return flt_join_absent(zr, range, flt_list_has_addr(l, zero16) ? FLT_ALWAYS : FLT_NEVER);
    }
    uint64_t lo = 0, hi = UINT64_MAX;
    if (!(zr = flt_zone_range(z, col, &lo, &hi))) {
        lo = 0; /* flt_zone_range may have written an interval it then found empty */
        hi = UINT64_MAX;
    }
    uint32_t i = flt_list_num_at(l, lo);
    if (i == l->n || l->v[i] > hi)
        range = FLT_NEVER;
    else
        range = zr && lo == hi ? FLT_ALWAYS : FLT_MAYBE;
    uint8_t bits[SEG_PORT_BUCKET_BYTES];
    if (range != FLT_NEVER && z->ports && (col == FLOW_COL_src_port || col == FLOW_COL_dst_port) &&
        z->ports(z->arg, col, bits) == 1) {
        int any = 0;
        for (; i < l->n && l->v[i] <= hi && !any; i++)
            any = l->v[i] <= UINT16_MAX && seg_port_bucket_has(bits, (uint16_t)l->v[i]);
        if (!any)
            range = FLT_NEVER;
    }
    if (!zr && range == FLT_MAYBE)
        return FLT_MAYBE;
    return flt_join_absent(zr, range, flt_list_has_num(l, 0) ? FLT_ALWAYS : FLT_NEVER);
}

static int flt_want_node(const flt_t *f, uint32_t id, const flt_zone_src_t *z)
{
    const flt_node_t *nd = &f->nodes[id];
    uint64_t lo, hi;
    int zr;
    switch (nd->kind) {
    case FLT_ANY:
        return FLT_ALWAYS;
    case FLT_AND: {
        int a = flt_want_node(f, nd->left, z);
        if (a == FLT_NEVER)
            return FLT_NEVER;
        int b = flt_want_node(f, nd->right, z);
        return b == FLT_NEVER                       ? FLT_NEVER
               : a == FLT_ALWAYS && b == FLT_ALWAYS ? FLT_ALWAYS
                                                    : FLT_MAYBE;
    }
    case FLT_OR: {
        int a = flt_want_node(f, nd->left, z);
        if (a == FLT_ALWAYS)
            return FLT_ALWAYS;
        int b = flt_want_node(f, nd->right, z);
        return b == FLT_ALWAYS                    ? FLT_ALWAYS
               : a == FLT_NEVER && b == FLT_NEVER ? FLT_NEVER
                                                  : FLT_MAYBE;
    }
    case FLT_NOT:
        return FLT_ALWAYS - flt_want_node(f, nd->left, z);
    case FLT_NUM: {
        flt_op_t op = (flt_op_t)nd->op;
        zr = flt_zone_range(z, nd->col, &lo, &hi);
        int range = zr ? flt_range_cmp(lo, hi, op, nd->num) : FLT_MAYBE;
        if (range != FLT_NEVER && flt_ports_none(z, nd->col, op, nd->num))
            range = FLT_NEVER;
        if (!zr && range == FLT_MAYBE)
            return FLT_MAYBE;
        return flt_join_absent(zr, range, flt_cmp_u64(0, op, nd->num) ? FLT_ALWAYS : FLT_NEVER);
    }
    case FLT_FLAGS: {
        int zero = nd->num == 0 ? FLT_ALWAYS : FLT_NEVER;
        if (!(zr = flt_zone_range(z, nd->col, &lo, &hi)))
            return FLT_MAYBE;
        /* a value with every bit of the mask set is at least the mask */
        if (hi < nd->num)
            return flt_join_absent(zr, FLT_NEVER, zero);
        if (lo == hi)
            return flt_join_absent(zr, (lo & nd->num) == nd->num ? FLT_ALWAYS : FLT_NEVER, zero);
        return FLT_MAYBE;
    }
    case FLT_NET: {
        _Alignas(16) uint8_t mn[16], mx[16];
        uint8_t first[16], last[16], zero16[16] = {0};
        zr = z->range(z->arg, nd->col, mn, mx);
        if (zr != 1 && zr != 2)
            return FLT_MAYBE;
        /* the addresses within a prefix are one contiguous range in bytewise order */
        memcpy(first, nd->net, 16);
        memcpy(last, nd->net, 16);
        const uint8_t *m = (const uint8_t *)nd->mask;
        for (int i = 0; i < 16; i++)
            last[i] |= (uint8_t)~m[i];
        int range;
        if (memcmp(mx, first, 16) < 0 || memcmp(mn, last, 16) > 0)
            range = FLT_NEVER;
        else if (memcmp(mn, first, 16) >= 0 && memcmp(mx, last, 16) <= 0)
            range = FLT_ALWAYS;
        else
            range = FLT_MAYBE;
        if (nd->v6only && range != FLT_NEVER) { /* less the IPv4 block */
            uint8_t v4last[16];
            memcpy(v4last, flt_mapped_block, 16);
            memset(v4last + 12, 0xff, 4);
            if (memcmp(mn, flt_mapped_block, 16) >= 0 && memcmp(mx, v4last, 16) <= 0)
                range = FLT_NEVER;
            else if (memcmp(mx, flt_mapped_block, 16) >= 0 && memcmp(mn, v4last, 16) <= 0)
                range = FLT_MAYBE;
        }
        int zero = memcmp(zero16, first, 16) >= 0 && memcmp(zero16, last, 16) <= 0 ? FLT_ALWAYS
                                                                                   : FLT_NEVER;
        return flt_join_absent(zr, range, zero);
    }
    case FLT_LIST:
        return flt_want_list(&f->lists[nd->num], nd->col, z);
    case FLT_DURATION: {
        uint64_t slo, shi, elo, ehi;
        int zs = flt_zone_range(z, FLOW_COL_time_start, &slo, &shi);
        int ze = zs ? flt_zone_range(z, FLOW_COL_time_end, &elo, &ehi) : 0;
        if (!zs || !ze)
            return FLT_MAYBE;
        lo = elo > shi ? elo - shi : 0;
        hi = ehi > slo ? ehi - slo : 0;
        return flt_join_absent(zs == 2 && ze == 2 ? 2 : 1,
                               flt_range_cmp(lo, hi, (flt_op_t)nd->op, nd->num),
                               flt_cmp_u64(0, (flt_op_t)nd->op, nd->num) ? FLT_ALWAYS : FLT_NEVER);
    }
    case FLT_WINDOW: {
        uint64_t slo, shi, elo, ehi;
        int zs = flt_zone_range(z, FLOW_COL_time_start, &slo, &shi);
        int ze = zs ? flt_zone_range(z, FLOW_COL_time_end, &elo, &ehi) : 0;
        if (!zs || !ze)
            return FLT_MAYBE;
        /* rows' ranges are [min, max] of their times in either order (flt_window_meets): the
         * earliest of either column bounds their starts, the latest their ends; a row with both
         * times lies within its start and its end whichever comes first */
        const uint64_t first = slo < elo ? slo : elo, last = shi > ehi ? shi : ehi;
        const int both = zs == 2 && ze == 2;
        int range;
        if (first >= nd->num2 || last < nd->num)
            range = FLT_NEVER;
        else if ((last < nd->num2 && first >= nd->num) ||
                 (both &&
                  ((shi < nd->num2 && elo >= nd->num) || (ehi < nd->num2 && slo >= nd->num))))
            range = FLT_ALWAYS;
        else
            range = FLT_MAYBE;
        return flt_join_absent(both ? 2 : 1, range,
                               0 < nd->num2 && 0 >= nd->num ? FLT_ALWAYS : FLT_NEVER);
    }
    }
    return FLT_MAYBE;
}

int flt_want_zones(const flt_t *f, const flt_zone_src_t *src)
{
    return flt_want_node(f, f->root, src) != FLT_NEVER;
}

typedef struct flt_seg_zone {
    const seg_file_t *file;
    uint32_t group;
} flt_seg_zone_t;

static int flt_seg_zone_fn(void *arg, int col, void *min, void *max)
{
    const flt_seg_zone_t *sz = arg;
    /* seg_zone answers 1 for a zone map over present values; a reader that also knows every
     * row has the column may answer 2, which lets `not` prune */
    int rc = seg_zone(sz->file, sz->group, col, min, max);
    if (rc == 1 || rc == 2)
        return rc;
    if (col == FLOW_COL_time_start || col == FLOW_COL_time_end) {
        /* the group's time range bounds both: time_min <= start <= end <= time_max; a flow
         * without times would be outside it, so this answer stays conservative (1) */
        seg_group_info_t gi;
        seg_group(sz->file, sz->group, &gi);
        memcpy(min, &gi.time_min, 8);
        memcpy(max, &gi.time_max, 8);
        return 1;
    }
    return 0;
}

static int flt_seg_ports_fn(void *arg, int col, uint8_t bits[SEG_PORT_BUCKET_BYTES])
{
    const flt_seg_zone_t *sz = arg;
    return seg_zone_ports(sz->file, sz->group, col, bits);
}

int flt_want(void *arg, const seg_file_t *file, uint32_t g)
{
    flt_seg_zone_t sz = {file, g};
    flt_zone_src_t src = {flt_seg_zone_fn, flt_seg_ports_fn, &sz};
    return flt_want_zones(arg, &src);
}
