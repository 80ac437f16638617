/* tpl.c: template scopes, the template compiler, the record program runner and held data.
 *
 * Judy arrays hold the maps: JudyHS finds a scope by its (exporter, version, domain) bytes,
 * JudyL finds a template by id and a sampling rate by sampler id. Every Judy call checks for
 * its error return; out of memory refuses the one template or scope (counted), never aborts.
 */
#include "tpl.h"

#include <Judy.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"

/* ---- scopes ---------------------------------------------------------------------------- */

typedef struct tpl_scope_key {
    uint8_t addr[16];
    uint8_t version[2];
    uint8_t domain[4];
} tpl_scope_key_t;

_Static_assert(TPL_MAX_SCOPES_PER_EXPORTER >= 2,
               "an exporter keeps a scope while its least recently used one is evicted");

void tpl_cache_init_limit(tpl_cache_t *c, uint32_t max_scopes)
{
    memset(c, 0, sizeof *c);
    c->max_scopes = max_scopes < 1 ? 1 : max_scopes > TPL_MAX_SCOPES ? TPL_MAX_SCOPES : max_scopes;
    c->max_tpl_bytes = TPL_MAX_BYTES;
    c->max_held_bytes = TPL_HELD_MAX_TOTAL;
}

void tpl_cache_set_memory(tpl_cache_t *c, size_t tpl_bytes, size_t held_bytes)
{
    c->max_tpl_bytes = tpl_bytes < TPL_MIN_MEMORY ? TPL_MIN_MEMORY : tpl_bytes;
    c->max_held_bytes = held_bytes < TPL_MIN_MEMORY ? TPL_MIN_MEMORY : held_bytes;
}

void tpl_cache_init(tpl_cache_t *c)
{
    tpl_cache_init_limit(c, TPL_MAX_SCOPES);
}

static void tpl_held_free_all(tpl_scope_t *s)
{
    tpl_held_t *h = s->held_head;
    while (h) {
        tpl_held_t *next = h->next;
        s->cache->held_bytes -= h->len;
        free(h);
        h = next;
    }
    s->held_head = s->held_tail = NULL;
    s->n_held = 0;
    s->held_bytes = 0;
}

static size_t tpl_size(const tpl_t *t)
{
    return sizeof(tpl_t) + (size_t)t->n_ops * sizeof(tpl_op_t) +
           (size_t)t->n_fields * sizeof(tpl_field_t);
}

/* ---- the least recently used order --------------------------------------------------------
 * Each scope threads its templates on a list, most recently used first: a definition or a data
 * set moves its template to the head, eviction takes the tail. Each exporter threads its
 * scopes the same way, and the cache threads all its scopes on one more list; both are
 * touched on every lookup. All are O(1) per datagram. */

static void tpl_lru_unlink(tpl_scope_t *s, tpl_t *t)
{
    if (t->lru_prev)
        t->lru_prev->lru_next = t->lru_next;
    else
        s->lru_head = t->lru_next;
    if (t->lru_next)
        t->lru_next->lru_prev = t->lru_prev;
    else
        s->lru_tail = t->lru_prev;
    t->lru_prev = t->lru_next = NULL;
}

static void tpl_lru_push(tpl_scope_t *s, tpl_t *t)
{
    t->lru_prev = NULL;
    t->lru_next = s->lru_head;
    if (s->lru_head)
        s->lru_head->lru_prev = t;
    else
        s->lru_tail = t;
    s->lru_head = t;
}

static inline void tpl_touch(tpl_scope_t *s, tpl_t *t)
{
    if (s->lru_head != t) {
        tpl_lru_unlink(s, t);
        tpl_lru_push(s, t);
    }
}

static void tpl_exp_unlink(tpl_exp_t *e, tpl_scope_t *s)
{
    if (s->exp_prev)
        s->exp_prev->exp_next = s->exp_next;
    else
        e->head = s->exp_next;
    if (s->exp_next)
        s->exp_next->exp_prev = s->exp_prev;
    else
        e->tail = s->exp_prev;
    s->exp_prev = s->exp_next = NULL;
}

static void tpl_exp_push(tpl_exp_t *e, tpl_scope_t *s)
{
    s->exp_prev = NULL;
    s->exp_next = e->head;
    if (e->head)
        e->head->exp_prev = s;
    else
        e->tail = s;
    e->head = s;
}

static void tpl_all_unlink(tpl_cache_t *c, tpl_scope_t *s)
{
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        c->all_head = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    else
        c->all_tail = s->all_prev;
    s->all_prev = s->all_next = NULL;
}

static void tpl_all_push(tpl_cache_t *c, tpl_scope_t *s)
{
    s->all_prev = NULL;
    s->all_next = c->all_head;
    if (c->all_head)
        c->all_head->all_prev = s;
    else
        c->all_tail = s;
    c->all_head = s;
}

/* A scope was used: the last its exporter and the cache would evict. */
static inline void tpl_scope_touch(tpl_cache_t *c, tpl_scope_t *s)
{
    if (s->exp && s->exp->head != s) {
        tpl_exp_unlink(s->exp, s);
        tpl_exp_push(s->exp, s);
    }
    if (c->all_head != s) {
        tpl_all_unlink(c, s);
        tpl_all_push(c, s);
    }
}

static void tpl_bytes_sub(tpl_scope_t *s, size_t n)
{
    s->cache->tpl_bytes -= n;
    if (s->exp)
        s->exp->tpl_bytes -= n;
}

/* Frees one template of the scope (already looked up by id). */
static void tpl_free_one(tpl_scope_t *s, tpl_t *t)
{
    JError_t je;
    uint16_t id = t->id;
    tpl_lru_unlink(s, t);
    tpl_bytes_sub(s, tpl_size(t));
    free(t);
    JudyLDel(&s->tpl_judy, id, &je);
    s->n_templates--;
    s->last_tpl = NULL;
    s->cache->generation++;
}

/* Evicts the least recently used template of the scope; -1 when it has none. */
static int tpl_evict_lru(tpl_scope_t *s)
{
    if (!s->lru_tail)
        return -1;
    tpl_free_one(s, s->lru_tail);
    s->stats.templates_evicted++;
    s->cache->templates_evicted++;
    return 0;
}

/* Evicts one template of exporter `e` to make room for a new one in scope `s` (NULL when the
 * scope is elsewhere): the least recently used of `s` first, the flooding scope being the one
 * defining; else of the exporter's least recently used scope that has any. -1 when none. */
static int tpl_evict_exp(tpl_exp_t *e, tpl_scope_t *s)
{
    if (s && s->exp == e && tpl_evict_lru(s) == 0)
        return 0;
    for (tpl_scope_t *v = e->tail; v; v = v->exp_prev)
        if (tpl_evict_lru(v) == 0)
            return 0;
    return -1;
}

void tpl_clear(tpl_scope_t *s)
{
    JError_t je;
    Word_t id = 0;
    PPvoid_t slot = JudyLFirst(s->tpl_judy, &id, &je);
    while (slot && slot != PPJERR) {
        tpl_t *t = *slot;
        tpl_bytes_sub(s, tpl_size(t));
        free(t);
        slot = JudyLNext(s->tpl_judy, &id, &je);
    }
    JudyLFreeArray((PPvoid_t)&s->tpl_judy, &je);
    s->n_templates = 0;
    s->last_tpl = NULL;
    s->lru_head = s->lru_tail = NULL;
    /* what the saved templates hold changes (an exporter's restart): without this a daemon
     * restarted before the next change restored the templates of the exporter's earlier boot */
    s->cache->generation++;
}

void tpl_cache_free(tpl_cache_t *c)
{
    JError_t je;
    for (uint32_t i = 0; i < c->n_scopes; i++) {
        tpl_scope_t *s = c->scopes[i];
        tpl_clear(s);
        tpl_held_free_all(s);
        JudyLFreeArray((PPvoid_t)&s->sampler_judy, &je);
        free(s);
    }
    free(c->scopes);
    JudyHSFreeArray((PPvoid_t)&c->scope_judy, &je);
    for (uint32_t i = 0; i < c->n_exps; i++)
        free(c->exps[i]);
    free(c->exps);
    JudyHSFreeArray((PPvoid_t)&c->exp_judy, &je);
    memset(c, 0, sizeof *c);
}

/* The slot of a scope in the cache's `recent` array. */
static unsigned tpl_recent_slot(const flow_addr_t *exporter, uint16_t version, uint32_t domain)
{
    uint64_t a, b;
    memcpy(&a, exporter->b, 8);
    memcpy(&b, exporter->b + 8, 8);
    uint64_t h = (a ^ b ^ ((uint64_t)domain << 16 | version)) * 0x9e3779b97f4a7c15u;
    return (unsigned)(h >> 40) % TPL_RECENT_SCOPES;
}

static void tpl_scope_key_make(tpl_scope_key_t *key, const flow_addr_t *exporter, uint16_t version,
                               uint32_t domain)
{
    memcpy(key->addr, exporter->b, 16);
    key->version[0] = (uint8_t)(version >> 8);
    key->version[1] = (uint8_t)version;
    for (int i = 0; i < 4; i++)
        key->domain[i] = (uint8_t)(domain >> (24 - 8 * i));
}

/* The exporter record of an address, created on first sight; NULL when out of memory. */
static tpl_exp_t *tpl_exp_get(tpl_cache_t *c, const flow_addr_t *addr)
{
    JError_t je;
    PPvoid_t slot = JudyHSGet(c->exp_judy, (void *)addr->b, 16);
    if (slot)
        return *slot;
    if (c->n_exps == c->cap_exps) {
        uint32_t ncap = c->cap_exps ? c->cap_exps * 2 : 16;
        tpl_exp_t **nv = realloc(c->exps, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        c->exps = nv;
        c->cap_exps = ncap;
    }
    tpl_exp_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    slot = JudyHSIns(&c->exp_judy, (void *)addr->b, 16, &je);
    if (slot == PPJERR) {
        free(e);
        return NULL;
    }
    e->addr = *addr;
    e->idx = c->n_exps;
    *slot = e;
    c->exps[c->n_exps++] = e;
    return e;
}

/* Forgets an exporter record that has no scope left: a spoofed source leaves nothing behind. */
static void tpl_exp_free(tpl_cache_t *c, tpl_exp_t *e)
{
    JError_t je;
    JudyHSDel(&c->exp_judy, e->addr.b, 16, &je);
    c->exps[e->idx] = c->exps[--c->n_exps];
    c->exps[e->idx]->idx = e->idx;
    free(e);
}

/* Forgets a scope entirely: templates, held data, sampling rates, and every reference the
 * cache keeps to it, all in O(1) (a flood evicts at the rate it creates). What it held is
 * counted, and its counters are added to evicted_stats, so nothing vanishes from the totals.
 * Its exporter record goes with its last scope, unless it is `keep` (about to get a new one). */
static void tpl_scope_evict(tpl_cache_t *c, tpl_scope_t *s, const tpl_exp_t *keep)
{
    JError_t je;
    tpl_scope_key_t key;
    tpl_scope_key_make(&key, &s->exporter, s->version, s->domain);
    JudyHSDel(&c->scope_judy, &key, sizeof key, &je);
    unsigned ri = tpl_recent_slot(&s->exporter, s->version, s->domain);
    if (c->recent[ri] == s)
        c->recent[ri] = NULL;
    c->scopes[s->idx] = c->scopes[--c->n_scopes];
    c->scopes[s->idx]->idx = s->idx;
    tpl_all_unlink(c, s);
    c->templates_evicted += s->n_templates;
    c->evicted_scope_templates += s->n_templates;
    c->evicted_scope_held += s->n_held;
#define TPL_X_FOLD(name, desc) c->evicted_stats.name += s->stats.name;
    TPL_SCOPE_COUNTERS(TPL_X_FOLD)
#undef TPL_X_FOLD
    tpl_clear(s); /* while s->exp is set: its bytes are the exporter's */
    tpl_held_free_all(s);
    JudyLFreeArray((PPvoid_t)&s->sampler_judy, &je);
    tpl_exp_t *e = s->exp;
    tpl_exp_unlink(e, s);
    if (--e->n_scopes == 0 && e != keep)
        tpl_exp_free(c, e);
    c->generation++;
    free(s);
}

tpl_scope_t *tpl_scope_get(tpl_cache_t *c, const flow_addr_t *exporter, uint16_t version,
                           uint32_t domain)
{
    /* Most datagrams come from an exporter seen moments ago: look in the small cache first,
     * and hash the key into the JudyHS only when it misses. */
    unsigned slot_i = tpl_recent_slot(exporter, version, domain);
    tpl_scope_t *hit = c->recent[slot_i];
    if (hit && hit->domain == domain && hit->version == version &&
        memcmp(hit->exporter.b, exporter->b, 16) == 0) {
        tpl_scope_touch(c, hit);
        return hit;
    }
    JError_t je;
    tpl_scope_key_t key;
    tpl_scope_key_make(&key, exporter, version, domain);
    PPvoid_t slot = JudyHSGet(c->scope_judy, &key, sizeof key);
    if (slot) {
        c->recent[slot_i] = *slot;
        tpl_scope_touch(c, *slot);
        return *slot;
    }
    tpl_exp_t *e = tpl_exp_get(c, exporter);
    if (!e)
        goto refuse;
    /* A flood of random domains from one address recycles that address's scopes. */
    if (e->n_scopes >= TPL_MAX_SCOPES_PER_EXPORTER && e->tail) {
        tpl_scope_evict(c, e->tail, e);
        c->scopes_evicted++;
    }
    /* A flood of spoofed addresses recycles the scopes nobody used for longest: a router that
     * exports steadily keeps touching its own, and one that appears later gets a place. */
    if (c->n_scopes >= c->max_scopes && c->all_tail) {
        tpl_scope_evict(c, c->all_tail, e);
        c->scopes_evicted_global++;
    }
    if (c->n_scopes == c->cap_scopes) {
        uint32_t ncap = c->cap_scopes ? c->cap_scopes * 2 : 16;
        tpl_scope_t **nv = realloc(c->scopes, ncap * sizeof *nv);
        if (!nv)
            goto refuse;
        c->scopes = nv;
        c->cap_scopes = ncap;
    }
    tpl_scope_t *s = calloc(1, sizeof *s);
    if (!s)
        goto refuse;
    slot = JudyHSIns(&c->scope_judy, &key, sizeof key, &je);
    if (slot == PPJERR) {
        free(s);
        goto refuse;
    }
    s->cache = c;
    s->exporter = *exporter;
    s->version = version;
    s->domain = domain;
    s->exp = e;
    e->n_scopes++;
    tpl_exp_push(e, s);
    tpl_all_push(c, s);
    *slot = s;
    s->idx = c->n_scopes;
    c->scopes[c->n_scopes++] = s;
    c->recent[slot_i] = s;
    return s;
refuse:
    /* An exporter record made for this scope must not outlive the refusal. */
    if (e && e->n_scopes == 0)
        tpl_exp_free(c, e);
    c->scopes_refused++;
    return NULL;
}

const tpl_t *tpl_get(const tpl_scope_t *s, uint16_t id)
{
    JError_t je;
    PPvoid_t slot = JudyLGet(s->tpl_judy, id, &je);
    return slot && slot != PPJERR ? *slot : NULL;
}

/* ---- the compiler ---------------------------------------------------------------------- */

/* What a program writes into as it runs over a record: the flow, and slots for the values
 * that are not columns as such. Which of them a record carries is the template's `have`: every
 * record of a template carries the same fields. A program's offsets are offsets in here. */
typedef struct tpl_rec {
    flow_rec_t f;      /* first, so a column's offset in flow_rec_t is its offset here */
    uint64_t t_raw[2]; /* [0] start, [1] end, as encoded */
    uint64_t sysinit_ms;
    uint64_t interval, space, sampler;
} tpl_rec_t;

_Static_assert(offsetof(tpl_rec_t, f) == 0, "columns are at their flow_rec_t offsets");
_Static_assert(sizeof(tpl_rec_t) <= UINT16_MAX, "offsets fit tpl_op_t.off");

/* The fixed-width kind for an integer field of w bytes into a destination of c bytes;
 * TPL_OP_UINT when w is 3, 5, 6 or 7. */
static uint8_t tpl_uint_kind(uint16_t w, size_t c)
{
#define TPL_X_PICK(fw, cw)                                                                         \
    if (w == fw && c == cw)                                                                        \
        return TPL_OP_U##fw##_C##cw;
    TPL_FIXED_UINTS(TPL_X_PICK)
#undef TPL_X_PICK
    return TPL_OP_UINT;
}

/* The operation for a field of `len` bytes that `ie` decodes; adds to what the template's
 * records carry. */
static tpl_op_t tpl_compile_field(const tpl_ie_t *ie, uint16_t len, uint64_t *present,
                                  uint8_t *have, uint8_t t_enc[2])
{
    tpl_op_t op = {.len = len, .col = ie->col, .off = (uint16_t)flow_cols[ie->col].offset};
    uint64_t bit = (uint64_t)1 << ie->col;
    uint8_t slot;
    switch ((tpl_op_kind_t)ie->kind) {
    /* A second field for a column never overwrites it with zeros: a dual-stack template's
     * IPv4 and IPv6 fields (addresses 8/27, masks 9/29, ICMP 32/139, ...) are all there, the
     * other family's zero. */
    case TPL_OP_UINT:
        op.aux = (uint8_t)flow_cols[ie->col].width;
        op.kind = *present & bit ? TPL_OP_UINT_NZ : tpl_uint_kind(len, op.aux);
        *present |= bit;
        break;
    case TPL_OP_ADDR4:
    case TPL_OP_ADDR6:
        if (*present & bit)
            op.kind = ie->kind == TPL_OP_ADDR4 ? TPL_OP_ADDR4_NZ : TPL_OP_ADDR6_NZ;
        else
            op.kind = ie->kind;
        *present |= bit;
        break;
    case TPL_OP_ICMP:
        bit = FLOW_BIT(icmp_type) | FLOW_BIT(icmp_code);
        op.kind = *present & bit ? TPL_OP_ICMP_NZ : TPL_OP_ICMP;
        *present |= bit;
        break;
    case TPL_OP_TIME: {
        int k = ie->col == FLOW_COL_time_end;
        op.off = (uint16_t)(offsetof(tpl_rec_t, t_raw) + (size_t)k * sizeof(uint64_t));
        op.kind = tpl_uint_kind(len, 8);
        op.aux = ie->aux; /* the encoding: two encodings, two programs */
        t_enc[k] = ie->aux;
        *have |= k ? TPL_HAVE_END : TPL_HAVE_START;
        break;
    }
    case TPL_OP_SYSINIT:
        op.off = offsetof(tpl_rec_t, sysinit_ms);
        slot = TPL_HAVE_SYSINIT;
        goto slot;
    case TPL_OP_SAMPLING:
        op.off = offsetof(tpl_rec_t, interval);
        slot = TPL_HAVE_INTERVAL;
        goto slot;
    case TPL_OP_SPACE:
        op.off = offsetof(tpl_rec_t, space);
        slot = TPL_HAVE_SPACE;
        goto slot;
    case TPL_OP_SAMPLER:
        op.off = offsetof(tpl_rec_t, sampler);
        slot = TPL_HAVE_SAMPLER;
    slot:
        /* Likewise a second field for a slot: samplingInterval (34) beside
         * samplerRandomInterval (50) is often 0, "not given here", not "unsampled". */
        op.aux = 8;
        op.kind = *have & slot ? TPL_OP_UINT_NZ : tpl_uint_kind(len, 8);
        *have |= slot;
        break;
    default: /* the table holds no other kind */
        op.kind = TPL_OP_SKIP;
        op.col = 0;
        op.off = 0;
        break;
    }
    return op;
}

/* Lengths an element of each kind may have; anything else makes the field a plain skip. */
static int tpl_len_ok(const tpl_ie_t *ie, uint16_t len)
{
    switch (ie->kind) {
    case TPL_OP_ADDR4:
        return len == 4;
    case TPL_OP_ADDR6:
        return len == 16;
    case TPL_OP_ICMP:
        return len == 2;
    case TPL_OP_TIME:
        /* RFC 7011 6.2: no reduced size for times; seconds and sysUpTime are 4 bytes,
         * milliseconds and NTP times 8. */
        if (ie->aux == TPL_T_MS || ie->aux == TPL_T_NTP)
            return len == 8;
        return len == 4;
    case TPL_OP_SYSINIT:
        return len == 8;
    default:
        return len >= 1 && len <= 8; /* reduced-size integers (RFC 7011 6.2) */
    }
}

/* Member by member: tpl_op_t has a padding byte, which memcmp would read. */
static int tpl_ops_equal(const tpl_op_t *a, const tpl_op_t *b, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++)
        if (a[i].len != b[i].len || a[i].off != b[i].off || a[i].kind != b[i].kind ||
            a[i].col != b[i].col || a[i].aux != b[i].aux)
            return 0;
    return 1;
}

const tpl_t *tpl_define(tpl_scope_t *s, uint16_t version, uint16_t id, int is_options,
                        const tpl_field_t *fields, uint16_t n_fields, uint16_t scope_count,
                        dec_counts_t *counts)
{
    if (n_fields > TPL_MAX_FIELDS) {
        counts->n[DEC_E_TPL_TOO_MANY_FIELDS]++;
        return NULL;
    }
    /* IPFIX forbids an empty scope (RFC 7011 3.4.2.2); v9 exporters send them. */
    if (is_options && ((version == 10 && scope_count == 0) || scope_count > n_fields)) {
        counts->n[DEC_E_TPL_BAD_SCOPE]++;
        return NULL;
    }
    const tpl_ie_t *ies[TPL_MAX_FIELDS];
    uint32_t min_len = 0;
    int has_varlen = 0;
    for (uint16_t i = 0; i < n_fields; i++) {
        const tpl_field_t *fd = &fields[i];
        /* v9 options scope fields are a namespace of their own (RFC 3954 6.1): skipped, but
         * for Interface (2), read as the input ifIndex a sampling rate is announced for. */
        const tpl_ie_t *ie = fd->pen != TPL_PEN_V9_SCOPE ? tpl_ie_find(fd->pen, fd->id)
                             : fd->id == 2               ? tpl_ie_find(0, 10)
                                                         : NULL;
        if (fd->len == TPL_VARLEN) {
            has_varlen = 1;
            min_len += 1;
            ie = NULL; /* variable-length values are never the integers we keep */
        } else {
            min_len += fd->len;
            if (fd->len == 0) {
                ie = NULL; /* zero-length fields occupy nothing (nf9_0length_fields) */
            } else if (ie && !tpl_len_ok(ie, fd->len)) {
                counts->n[DEC_E_TPL_FIELD_LENGTH]++;
                ie = NULL;
            }
        }
        ies[i] = ie;
    }
    if (min_len == 0) {
        counts->n[DEC_E_TPL_EMPTY]++;
        return NULL;
    }
    if (min_len > 65535) {
        counts->n[DEC_E_TPL_TOO_LONG]++;
        return NULL;
    }
    /* Of several fields for one column keep the highest priority. Equal priorities all stay:
     * an IPv4 and an IPv6 source field in one template both feed src_addr, and the record
     * decides which one it filled (a zero address never overwrites a present one). */
    for (uint16_t i = 0; i < n_fields; i++) {
        if (!ies[i] || ies[i]->kind == TPL_OP_SAMPLING || ies[i]->kind == TPL_OP_SAMPLER ||
            ies[i]->kind == TPL_OP_SPACE || ies[i]->kind == TPL_OP_SYSINIT)
            continue;
        for (uint16_t j = 0; j < n_fields; j++)
            if (j != i && ies[j] && ies[j]->col == ies[i]->col && ies[j]->kind != TPL_OP_SYSINIT &&
                ies[j]->kind != TPL_OP_SAMPLING && ies[j]->kind != TPL_OP_SAMPLER &&
                ies[j]->kind != TPL_OP_SPACE && ies[j]->prio > ies[i]->prio) {
                ies[i] = NULL;
                break;
            }
    }
    /* Emit the program, merging runs of fixed skips into one. */
    tpl_op_t ops[TPL_MAX_FIELDS];
    uint16_t n_ops = 0;
    uint64_t present = 0;
    uint8_t have = 0, t_enc[2] = {0, 0};
    for (uint16_t i = 0; i < n_fields; i++) {
        tpl_op_t op = {.len = fields[i].len, .kind = TPL_OP_SKIP};
        if (fields[i].len == TPL_VARLEN)
            op.kind = TPL_OP_SKIP_VAR;
        else if (ies[i])
            op = tpl_compile_field(ies[i], fields[i].len, &present, &have, t_enc);
        if (op.kind == TPL_OP_SKIP && op.len == 0)
            continue;
        if (op.kind == TPL_OP_SKIP && n_ops && ops[n_ops - 1].kind == TPL_OP_SKIP &&
            (uint32_t)ops[n_ops - 1].len + op.len < TPL_VARLEN) {
            ops[n_ops - 1].len = (uint16_t)(ops[n_ops - 1].len + op.len);
            continue;
        }
        ops[n_ops++] = op;
    }
    /* Options data scoped by an interface announce that interface's sampling rate. */
    for (uint16_t i = 0; is_options && i < scope_count && i < n_fields; i++)
        if (ies[i] && ies[i]->col == FLOW_COL_in_if)
            have |= TPL_HAVE_IF_SCOPE;
    /* Cisco and flowgen put an ICMP flow's type * 256 + code in its destination port, as in
     * v5; a record without an ICMP type or code element takes them from there. */
    if (!(present & (FLOW_BIT(icmp_type) | FLOW_BIT(icmp_code))) && (present & FLOW_BIT(proto)) &&
        (present & FLOW_BIT(dst_port)))
        have |= TPL_HAVE_ICMP_PORT;

    tpl_cache_t *c = s->cache;
    tpl_t *old = (tpl_t *)tpl_get(s, id);
    size_t size =
        sizeof(tpl_t) + (size_t)n_ops * sizeof(tpl_op_t) + (size_t)n_fields * sizeof(tpl_field_t);
    /* A refresh with the same layout keeps the compiled template as it is. */
    if (old && old->is_options == (is_options != 0) && old->n_ops == n_ops &&
        old->n_fields == n_fields && old->min_len == min_len &&
        tpl_ops_equal(old->ops, ops, n_ops)) {
        tpl_touch(s, old);
        return old;
    }
    /* A redefinition frees the old layout first, so the bounds below see only the new one
     * and never evict the template being replaced. */
    int replaced = old != NULL;
    if (old)
        tpl_free_one(s, old);
    /* Make room: the scope's own bound, then its exporter's, then the whole cache's (taken
     * from the exporter holding the most, which is the flooding one). */
    while (s->n_templates >= TPL_MAX_PER_SCOPE)
        tpl_evict_lru(s);
    while (s->exp && s->exp->tpl_bytes + size > TPL_MAX_BYTES_PER_EXPORTER)
        if (tpl_evict_exp(s->exp, s) != 0)
            break;
    while (c->tpl_bytes + size > c->max_tpl_bytes) {
        tpl_exp_t *big = NULL;
        for (uint32_t i = 0; i < c->n_exps; i++)
            if (!big || c->exps[i]->tpl_bytes > big->tpl_bytes)
                big = c->exps[i];
        if (!big || tpl_evict_exp(big, s) != 0)
            break;
    }
    if (c->tpl_bytes + size > c->max_tpl_bytes ||
        (s->exp && s->exp->tpl_bytes + size > TPL_MAX_BYTES_PER_EXPORTER)) {
        counts->n[DEC_E_TPL_LIMIT]++; /* nothing left to evict: one template over the bound */
        return NULL;
    }
    tpl_t *t = malloc(size);
    if (!t) {
        counts->n[DEC_E_TPL_NOMEM]++;
        return NULL;
    }
    t->id = id;
    t->is_options = is_options != 0;
    t->has_varlen = (uint8_t)has_varlen;
    t->n_fields = n_fields;
    t->scope_count = scope_count;
    t->n_ops = n_ops;
    t->min_len = min_len;
    t->have = have;
    t->t_enc[0] = t_enc[0];
    t->t_enc[1] = t_enc[1];
    t->present = present;
    t->dual = 0;
    for (uint16_t i = 0; i < n_ops; i++)
        if (ops[i].kind == TPL_OP_ADDR4_NZ || ops[i].kind == TPL_OP_ADDR6_NZ)
            t->dual |= (uint64_t)1 << ops[i].col;
    memcpy(t->ops, ops, n_ops * sizeof *ops);
    tpl_field_t *defs = (tpl_field_t *)(t->ops + n_ops);
    memcpy(defs, fields, n_fields * sizeof *fields);
    t->fields = defs;

    JError_t je;
    PPvoid_t slot = JudyLIns(&s->tpl_judy, id, &je);
    if (slot == PPJERR) {
        free(t);
        counts->n[DEC_E_TPL_NOMEM]++;
        return NULL;
    }
    *slot = t;
    s->n_templates++;
    if (replaced)
        s->stats.templates_replaced++;
    tpl_lru_push(s, t);
    c->tpl_bytes += size;
    if (s->exp)
        s->exp->tpl_bytes += size;
    s->last_tpl = NULL;
    c->generation++;
    s->stats.templates_learned++;
    return t;
}

static void tpl_held_withdraw(tpl_scope_t *s, uint16_t id, int all);

void tpl_withdraw(tpl_scope_t *s, uint16_t id, int all_of_kind, int is_options)
{
    JError_t je;
    s->last_tpl = NULL;
    tpl_held_withdraw(s, id, all_of_kind);
    if (!all_of_kind) {
        PPvoid_t slot = JudyLGet(s->tpl_judy, id, &je);
        if (!slot || slot == PPJERR)
            return;
        tpl_free_one(s, *slot);
        s->stats.templates_withdrawn++;
        return;
    }
    /* RFC 7011 8.1: template id 2 (or 3) with no fields withdraws all templates (or all
     * options templates) of the domain. A slot pointer is not used after a delete: each
     * step searches afresh from the key. */
    Word_t key = 0;
    PPvoid_t slot = JudyLFirst(s->tpl_judy, &key, &je);
    while (slot && slot != PPJERR) {
        tpl_t *t = *slot;
        if (t->is_options == (is_options != 0)) {
            tpl_free_one(s, t);
            s->stats.templates_withdrawn++;
        }
        slot = JudyLNext(s->tpl_judy, &key, &je);
    }
}

/* ---- running a program over records ---------------------------------------------------- */

#define TPL_NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 (RFC 7011 6.1.9) */

static uint64_t tpl_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* One load and a byte swap each; the caller has checked that the bytes are there. */
static inline uint8_t tpl_ld1(const uint8_t *p)
{
    return p[0];
}
static inline uint16_t tpl_ld2(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return be16toh(v);
}
static inline uint32_t tpl_ld4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return be32toh(v);
}
static inline uint64_t tpl_ld8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return be64toh(v);
}

#if defined(__GNUC__) || defined(__clang__)
#define TPL_ALWAYS_INLINE __attribute__((always_inline))
#else
#define TPL_ALWAYS_INLINE
#endif

typedef uint8_t tpl_w1_t;
typedef uint16_t tpl_w2_t;
typedef uint32_t tpl_w4_t;
typedef uint64_t tpl_w8_t;

/* An integer into a destination of `width` bytes: a wider value keeps its low bytes, for
 * every width alike (tcpControlBits sent in 2 bytes keeps its low 8, an 8-byte ifIndex its
 * low 32). */
static void tpl_store_uint(uint8_t *dst, unsigned width, uint64_t v)
{
    switch (width) {
    case 1: {
        uint8_t x = (uint8_t)v;
        memcpy(dst, &x, 1);
        break;
    }
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(dst, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(dst, &x, 4);
        break;
    }
    default:
        memcpy(dst, &v, 8);
        break;
    }
}

/* Runs one operation of a fixed length on the field at p. Variable-length skips are the
 * caller's: they read their length first. Forced inline: as a call (which gcc chose for a
 * switch this size) it halved the rate of v9 and IPFIX decoding. */
TPL_ALWAYS_INLINE static inline void tpl_exec(const tpl_op_t *op, const uint8_t *p, tpl_rec_t *r)
{
    uint8_t *dst = (uint8_t *)r + op->off;
    switch (op->kind) {
#define TPL_X_CASE(w, c)                                                                           \
    case TPL_OP_U##w##_C##c: {                                                                     \
        tpl_w##c##_t x = (tpl_w##c##_t)tpl_ld##w(p);                                               \
        memcpy(dst, &x, sizeof x);                                                                 \
        break;                                                                                     \
    }
        TPL_FIXED_UINTS(TPL_X_CASE)
#undef TPL_X_CASE
    case TPL_OP_ADDR4:
        /* Straight into the column: no address built aside and copied after. */
        flow_addr_from_v4_bytes((flow_addr_t *)dst, p);
        break;
    case TPL_OP_ADDR6:
        flow_addr_from_v6_bytes((flow_addr_t *)dst, p);
        break;
    case TPL_OP_ADDR4_NZ:
        /* Templates with both an IPv4 and an IPv6 field fill the unused one with zeros. */
        if (tpl_ld4(p) != 0)
            flow_addr_from_v4_bytes((flow_addr_t *)dst, p);
        break;
    case TPL_OP_ADDR6_NZ:
        if ((tpl_ld8(p) | tpl_ld8(p + 8)) != 0)
            flow_addr_from_v6_bytes((flow_addr_t *)dst, p);
        break;
    case TPL_OP_ICMP:
        r->f.icmp_type = p[0];
        r->f.icmp_code = p[1];
        break;
    case TPL_OP_ICMP_NZ:
        if (p[0] | p[1]) {
            r->f.icmp_type = p[0];
            r->f.icmp_code = p[1];
        }
        break;
    case TPL_OP_UINT:
        tpl_store_uint(dst, op->aux, tpl_be(p, op->len));
        break;
    case TPL_OP_UINT_NZ: {
        uint64_t v = tpl_be(p, op->len);
        if (v)
            tpl_store_uint(dst, op->aux, v);
        break;
    }
    default: /* TPL_OP_SKIP */
        break;
    }
}

/* A dual-stack template's address column left all zeros by both of its fields is the zero
 * address of the flow's family, which the not-zero rule of the second field cannot tell from
 * the unused field: 0.0.0.0 when the flow is IPv4 (a DHCP client's source, a next hop of
 * 0.0.0.0), :: when it is IPv6 (a duplicate address probe's source), whichever family's
 * field came first. The family is that of the end whose address is not zero. */
static void tpl_dual_zero(flow_rec_t *f, uint64_t dual)
{
    static const flow_addr_t zero6, zero4 = {.b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}};
    int v4 = 0, v6 = 0;
    const flow_addr_t *ends[2] = {&f->src_addr, &f->dst_addr};
    for (int i = 0; i < 2; i++) {
        if (flow_addr_is_v4(ends[i]))
            v4 |= !flow_addr_eq(ends[i], &zero4);
        else
            v6 |= !flow_addr_eq(ends[i], &zero6);
    }
    if (v4 == v6)
        return; /* both ends zero, or one of each family: nothing tells */
    const flow_addr_t *want = v4 ? &zero4 : &zero6, *other = v4 ? &zero6 : &zero4;
    for (uint64_t m = dual; m; m &= m - 1) { /* the dual columns only: this runs per record */
        int c = __builtin_ctzll(m);
        flow_addr_t *a = (flow_addr_t *)(void *)((uint8_t *)f + flow_cols[c].offset);
        if (flow_addr_eq(a, other))
            *a = *want;
    }
}

/* Runs the program of a template without variable-length fields over the record at p, whose
 * t->min_len bytes the caller has checked are there. Unrolled by four so that the dispatch is
 * four indirect jumps, not one: each then sees a shorter, repeating sequence of kinds and is
 * predicted far better (v9 24 -> 34 M flows per CPU-second in bench-decode). */
static inline void tpl_run_fixed(const tpl_t *t, const uint8_t *p, tpl_rec_t *r)
{
    const tpl_op_t *op = t->ops, *end = t->ops + t->n_ops;
    for (; op + 3 < end; op += 4) {
        tpl_exec(op, p, r);
        p += op->len;
        tpl_exec(op + 1, p, r);
        p += op[1].len;
        tpl_exec(op + 2, p, r);
        p += op[2].len;
        tpl_exec(op + 3, p, r);
        p += op[3].len;
    }
    for (; op < end; op++) {
        tpl_exec(op, p, r);
        p += op->len;
    }
}

/* Runs the program of a template with variable-length fields over one record at *c, checking
 * each field; -1 when one runs past the set. */
static int tpl_run_checked(const tpl_t *t, cur_t *c, tpl_rec_t *r)
{
    for (uint16_t i = 0; i < t->n_ops; i++) {
        const tpl_op_t *op = &t->ops[i];
        size_t len = op->len;
        if (op->kind == TPL_OP_SKIP_VAR) {
            /* RFC 7011 7: one length byte, or 255 followed by a two-byte length. */
            if (c->rem < 1)
                return -1;
            len = c->p[0];
            size_t hdr = 1;
            if (len == 255) {
                if (c->rem < 3)
                    return -1;
                len = (size_t)c->p[1] << 8 | c->p[2];
                hdr = 3;
            }
            if (cur_skip(c, hdr) != 0 || cur_skip(c, len) != 0)
                return -1;
            continue;
        }
        if (c->rem < len)
            return -1;
        tpl_exec(op, c->p, r);
        c->p += len;
        c->rem -= len;
    }
    return 0;
}

/* A time field as ms since the Unix epoch; -1 when it cannot be placed. */
static int64_t tpl_time_ms(const tpl_scope_t *s, const tpl_t *t, const tpl_rec_t *r, int k,
                           const tpl_ctx_t *ctx)
{
    uint64_t v = r->t_raw[k];
    switch (t->t_enc[k]) {
    case TPL_T_SEC:
        return (int64_t)(v * 1000);
    case TPL_T_MS:
        return (int64_t)v;
    case TPL_T_NTP: {
        uint64_t secs = v >> 32, frac = v & 0xffffffffu;
        if (secs < TPL_NTP_UNIX_OFFSET)
            return -1;
        return (int64_t)((secs - TPL_NTP_UNIX_OFFSET) * 1000 + ((frac * 1000) >> 32));
    }
    case TPL_T_DELTA_US:
        /* Rounded down to the millisecond like every other encoding: 1500 us before the
         * export is 2 ms before it, not 1 (which would put the flow after its true time). */
        return (int64_t)ctx->export_ms - (int64_t)((v + 999) / 1000);
    case TPL_T_UPTIME:
        if (ctx->version == 9) /* relative to the header's sysUptime, wrapping at 2^32 */
            return (int64_t)ctx->export_ms - dec_uptime_behind(ctx->uptime_ms, (uint32_t)v);
        /* The record's own origin (Huawei sends 160 in data records), else the scope's from
         * options data; 0 is none: with nothing to place the value by, the time is absent. */
        uint64_t init = t->have & TPL_HAVE_SYSINIT && r->sysinit_ms ? r->sysinit_ms : s->sysinit_ms;
        if (!init)
            return -1;
        /* flowStart/EndSysUpTime are 32-bit ms since systemInitTimeMilliseconds, so they wrap
         * every 49.7 days: init + v would put a flow of an exporter up longer than that 49.7
         * days (or a multiple) in the past. The export time says how long it has been up, and
         * so which wrap the value belongs to, as the v9 header's sysUptime does. */
        if (ctx->export_ms < init)
            return (int64_t)(init + v); /* clocks disagree: no uptime to place it by */
        return (int64_t)ctx->export_ms -
               dec_uptime_behind((uint32_t)(ctx->export_ms - init), (uint32_t)v);
    }
    return -1;
}

static uint32_t tpl_interval(uint64_t interval, int have_space, uint64_t space)
{
    if (interval == 0)
        return 0;
    /* PSAMP systematic count-based sampling: `interval` packets taken, then `space` skipped. */
    uint64_t n = have_space ? (interval + space) / interval : interval;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

void tpl_set_sampler(tpl_scope_t *s, uint64_t id, uint32_t interval)
{
    JError_t je;
    PPvoid_t slot = JudyLGet(s->sampler_judy, (Word_t)id, &je);
    if (!slot || slot == PPJERR) {
        /* Options data naming ever new samplers would otherwise grow the scope unbounded. */
        if (s->n_samplers >= TPL_MAX_SAMPLERS_PER_SCOPE) {
            s->stats.samplers_refused++;
            return;
        }
        slot = JudyLIns(&s->sampler_judy, (Word_t)id, &je);
        if (slot == PPJERR)
            return;
        s->n_samplers++;
        if (id & TPL_SAMPLER_IF)
            s->n_if_rates++;
    }
    if ((uint32_t)(uintptr_t)*slot != interval)
        s->cache->generation++;
    *slot = (void *)(uintptr_t)interval;
}

/* What an options record teaches the scope. */
static void tpl_learn_options(tpl_scope_t *s, const tpl_t *t, const tpl_rec_t *r)
{
    if ((t->have & TPL_HAVE_SYSINIT) && r->sysinit_ms) {
        s->sysinit_heard++;
        if (s->sysinit_ms != r->sysinit_ms) {
            s->sysinit_ms = r->sysinit_ms;
            s->cache->generation++;
        }
    }
    if (!(t->have & TPL_HAVE_INTERVAL))
        return;
    uint32_t n = tpl_interval(r->interval, t->have & TPL_HAVE_SPACE, r->space);
    if (!(t->have & TPL_HAVE_SAMPLER)) {
        /* A rate per interface is kept for flows that came in on it; the domain's default
         * stays the last one announced, for flows of interfaces never announced (or past
         * TPL_MAX_SAMPLERS_PER_SCOPE). */
        if (t->have & TPL_HAVE_IF_SCOPE)
            tpl_set_sampler(s, TPL_SAMPLER_IF | r->f.in_if, n);
        if (s->default_interval != n)
            s->cache->generation++;
        s->default_interval = n;
        return;
    }
    tpl_set_sampler(s, r->sampler, n);
}

/* The sampling interval of a data record: its own, its sampler's, its input interface's, or
 * the domain's. */
static uint32_t tpl_record_interval(const tpl_scope_t *s, const tpl_t *t, const tpl_rec_t *r)
{
    JError_t je;
    uint32_t n = 0;
    if (t->have & TPL_HAVE_INTERVAL)
        n = tpl_interval(r->interval, t->have & TPL_HAVE_SPACE, r->space);
    if (!n && (t->have & TPL_HAVE_SAMPLER)) {
        PPvoid_t slot = JudyLGet(s->sampler_judy, (Word_t)r->sampler, &je);
        if (slot && slot != PPJERR)
            n = (uint32_t)(uintptr_t)*slot;
    }
    if (!n && s->n_if_rates && (t->present & FLOW_BIT(in_if))) {
        PPvoid_t slot = JudyLGet(s->sampler_judy, (Word_t)(TPL_SAMPLER_IF | r->f.in_if), &je);
        if (slot && slot != PPJERR)
            n = (uint32_t)(uintptr_t)*slot;
    }
    if (!n)
        n = s->default_interval;
    return n ? n : 1;
}

uint32_t tpl_run_set(tpl_scope_t *s, const tpl_t *t, const uint8_t *p, size_t len,
                     const tpl_ctx_t *ctx, dec_out_t *out)
{
    cur_t c = cur_make(p, len);
    uint32_t n_records = 0;
    /* One record for the whole set. Cleared once, so a column no record of the template
     * fills stays zero; each record then overwrites every column its program fills, and
     * the columns filled only on a condition (times, ICMP from the port) are zeroed when
     * the condition fails. What the set shares is written once. */
    tpl_rec_t r;
    memset(&r, 0, sizeof r);
    uint64_t present = t->present;
    /* Per record when the record says its rate, or when rates differ by input interface. */
    int own_sampling = (t->have & (TPL_HAVE_INTERVAL | TPL_HAVE_SAMPLER)) != 0 ||
                       (s->n_if_rates && (t->present & FLOW_BIT(in_if)));
    if (!t->is_options) {
        r.f.exporter = s->exporter;
        r.f.obs_domain = s->domain;
        if (!own_sampling)
            r.f.sampling = tpl_record_interval(s, t, &r);
        present |= FLOW_BIT(exporter) | FLOW_BIT(obs_domain) | FLOW_BIT(sampling);
    }
    /* Padding is shorter than the smallest record (RFC 7011 3.3.1, RFC 3954 5.3), and
     * min_len >= 1, so each pass consumes at least one byte. Without variable-length fields
     * min_len is the record's length: this one check covers every field of the record. */
    while (c.rem >= t->min_len) {
        r.f.present = present;
        if (!t->has_varlen) {
            tpl_run_fixed(t, c.p, &r);
            c.p += t->min_len;
            c.rem -= t->min_len;
        } else if (tpl_run_checked(t, &c, &r) != 0) {
            out->counts->n[DEC_E_REC_OVERRUN]++;
            break;
        }
        n_records++;
        if (t->is_options) {
            s->stats.options_records++;
            tpl_learn_options(s, t, &r);
            continue;
        }
        if (t->have & TPL_HAVE_START) {
            int64_t ms = tpl_time_ms(s, t, &r, 0, ctx);
            r.f.time_start = ms < 0 ? 0 : (uint64_t)ms;
            r.f.present |= ms < 0 ? 0 : FLOW_BIT(time_start);
        }
        if (t->have & TPL_HAVE_END) {
            int64_t ms = tpl_time_ms(s, t, &r, 1, ctx);
            r.f.time_end = ms < 0 ? 0 : (uint64_t)ms;
            r.f.present |= ms < 0 ? 0 : FLOW_BIT(time_end);
        }
        if (t->have & TPL_HAVE_ICMP_PORT) {
            /* As nf5.c: the type * 256 + code exporters put in the destination port. A port
             * below 256 is not that convention (Procera sends the bare type, MikroTik and
             * ipfixprobe 0): better absent than read as type 0, echo reply. */
            int icmp = (r.f.proto == 1 || r.f.proto == 58) && r.f.dst_port >= 256;
            r.f.icmp_type = icmp ? (uint8_t)(r.f.dst_port >> 8) : 0;
            r.f.icmp_code = icmp ? (uint8_t)r.f.dst_port : 0;
            r.f.present |= icmp ? FLOW_BIT(icmp_type) | FLOW_BIT(icmp_code) : 0;
        }
        if (t->dual)
            tpl_dual_zero(&r.f, t->dual);
        if (own_sampling)
            r.f.sampling = tpl_record_interval(s, t, &r);
        out->sink(out->sink_arg, &r.f);
        out->n_flows++;
    }
    return n_records;
}

int tpl_data_set(tpl_scope_t *s, uint16_t id, const uint8_t *p, size_t len, const tpl_ctx_t *ctx,
                 dec_out_t *out)
{
    const tpl_t *t = s->last_tpl;
    if (!t || t->id != id) {
        t = tpl_get(s, id);
        s->last_tpl = t;
    }
    if (t) {
        /* Used: the last the LRU would evict. The scope owns it, so dropping const is safe. */
        tpl_touch(s, (tpl_t *)t);
        return (int)tpl_run_set(s, t, p, len, ctx, out);
    }
    tpl_hold(s, id, p, len, ctx);
    return -1;
}

/* ---- held data --------------------------------------------------------------------------- */

int tpl_hold(tpl_scope_t *s, uint16_t tpl_id, const uint8_t *p, size_t len, const tpl_ctx_t *ctx)
{
    tpl_cache_t *c = s->cache;
    if (s->n_held >= TPL_HELD_MAX_SETS || s->held_bytes + len > TPL_HELD_MAX_BYTES ||
        c->held_bytes + len > c->max_held_bytes) {
        s->stats.held_refused++;
        return -1;
    }
    tpl_held_t *h = malloc(sizeof *h + len);
    if (!h) {
        s->stats.held_refused++;
        return -1;
    }
    h->next = NULL;
    h->tpl_id = tpl_id;
    h->held_ms = s->clock_ms;
    h->export_ms = ctx->export_ms;
    h->uptime_ms = ctx->uptime_ms;
    h->len = (uint32_t)len;
    memcpy(h->data, p, len);
    if (s->held_tail)
        s->held_tail->next = h;
    else
        s->held_head = h;
    s->held_tail = h;
    s->n_held++;
    s->held_bytes += len;
    c->held_bytes += len;
    s->stats.sets_held++;
    return 0;
}

static void tpl_held_unlink(tpl_scope_t *s, tpl_held_t *prev, tpl_held_t *h)
{
    if (prev)
        prev->next = h->next;
    else
        s->held_head = h->next;
    if (s->held_tail == h)
        s->held_tail = prev;
    s->n_held--;
    s->held_bytes -= h->len;
    s->cache->held_bytes -= h->len;
    free(h);
}

void tpl_release_held(tpl_scope_t *s, uint16_t id, dec_out_t *out)
{
    tpl_held_t *prev = NULL, *h = s->held_head;
    while (h) {
        tpl_held_t *next = h->next;
        if (h->tpl_id != id) {
            prev = h;
            h = next;
            continue;
        }
        const tpl_t *t = tpl_get(s, id);
        if (t) {
            tpl_ctx_t ctx = {
                .version = s->version, .export_ms = h->export_ms, .uptime_ms = h->uptime_ms};
            uint32_t before = out->n_flows;
            tpl_run_set(s, t, h->data, h->len, &ctx, out);
            s->stats.held_flows += out->n_flows - before;
            s->stats.held_decoded++;
        }
        tpl_held_unlink(s, prev, h);
        h = next;
    }
}

/* Drops the held sets of template `id`, or every held set (tpl_withdraw says why). */
static void tpl_held_withdraw(tpl_scope_t *s, uint16_t id, int all)
{
    tpl_held_t *prev = NULL, *h = s->held_head;
    while (h) {
        tpl_held_t *next = h->next;
        if (all || h->tpl_id == id) {
            s->stats.held_withdrawn++;
            tpl_held_unlink(s, prev, h);
        } else {
            prev = h;
        }
        h = next;
    }
}

void tpl_advance_clock(tpl_scope_t *s, uint64_t now_ms)
{
    if (now_ms > s->clock_ms)
        s->clock_ms = now_ms;
    /* Held sets are in arrival order and the clock only moves forward: expire from the head. */
    while (s->held_head && s->held_head->held_ms + TPL_HELD_MAX_AGE_MS < s->clock_ms) {
        s->stats.held_expired++;
        tpl_held_unlink(s, NULL, s->held_head);
    }
}

void tpl_cache_report(const tpl_cache_t *c, FILE *f)
{
    char a[FLOW_ADDR_STRLEN];
    for (uint32_t i = 0; i < c->n_scopes; i++) {
        const tpl_scope_t *s = c->scopes[i];
        flow_addr_format(&s->exporter, a);
        fprintf(f, "templates %s v%u domain %u: %u active", a, s->version, s->domain,
                s->n_templates);
#define TPL_X_PRINT(name, desc)                                                                    \
    if (s->stats.name)                                                                             \
        fprintf(f, ", %s %llu", #name, (unsigned long long)s->stats.name);
        TPL_SCOPE_COUNTERS(TPL_X_PRINT)
#undef TPL_X_PRINT
        if (s->n_held)
            fprintf(f, ", waiting %u sets", s->n_held);
        fprintf(f, "\n");
    }
    if (c->scopes_refused)
        fprintf(f, "template scopes refused (bound reached): %llu\n",
                (unsigned long long)c->scopes_refused);
    if (c->scopes_evicted)
        fprintf(f, "template scopes evicted (per-exporter bound reached): %llu\n",
                (unsigned long long)c->scopes_evicted);
    if (c->scopes_evicted_global)
        fprintf(f, "template scopes evicted (cache bound of %u reached): %llu\n", c->max_scopes,
                (unsigned long long)c->scopes_evicted_global);
    if (c->scopes_evicted || c->scopes_evicted_global) {
        fprintf(f, "evicted template scopes held %llu templates and %llu waiting sets",
                (unsigned long long)c->evicted_scope_templates,
                (unsigned long long)c->evicted_scope_held);
#define TPL_X_PRINT(name, desc)                                                                    \
    if (c->evicted_stats.name)                                                                     \
        fprintf(f, ", %s %llu", #name, (unsigned long long)c->evicted_stats.name);
        TPL_SCOPE_COUNTERS(TPL_X_PRINT)
#undef TPL_X_PRINT
        fprintf(f, "\n");
    }
}

void tpl_foreach(const tpl_scope_t *s, void (*fn)(void *arg, const tpl_t *t), void *arg)
{
    JError_t je;
    Word_t id = 0;
    PPvoid_t slot = JudyLFirst(s->tpl_judy, &id, &je);
    while (slot && slot != PPJERR) {
        fn(arg, *slot);
        slot = JudyLNext(s->tpl_judy, &id, &je);
    }
}

uint32_t tpl_n_samplers(const tpl_scope_t *s)
{
    return s->n_samplers;
}

void tpl_foreach_sampler(const tpl_scope_t *s, void (*fn)(void *arg, uint64_t id, uint32_t n),
                         void *arg)
{
    JError_t je;
    Word_t id = 0;
    PPvoid_t slot = JudyLFirst(s->sampler_judy, &id, &je);
    while (slot && slot != PPJERR) {
        fn(arg, id, (uint32_t)(uintptr_t)*slot);
        slot = JudyLNext(s->sampler_judy, &id, &je);
    }
}
