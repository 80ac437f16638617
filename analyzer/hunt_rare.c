/* hunt_rare.c: rare and first-seen destinations (hunting-methods.md 5.2, "stacking").
 *
 * What is new to the whole organisation this week is context a hunter wants: malware's first
 * contact with its C2, a staging server, a one-off upload site. A batch hunt can only know what
 * is new if it remembers what it saw before, so this hunt keeps an organisation-wide baseline in
 * DIR/hunt/baseline-dst.bin between runs (format below): per external destination address, per
 * /24 (IPv6 /64), per ASN and per (internal host, country) when enrichment is given, the first
 * and last established contact and a small capped set of the internal hosts that made it; and
 * the hours in which any traffic was seen, so "first seen" is only claimed when the baseline
 * covers `learning_days` before the window (gaps of more than a day do not count).
 *
 * Within one run, the last `window_days` (to the end of the newest flow's hour) are hunted; any
 * earlier days of the run are baseline too. A destination is reported when its /24 (one
 * aggregate, so a cloud service that rotates addresses inside its range is not "new" every day)
 * had its first established contact inside the window, it was answered with bytes both ways,
 * and it was used by at most `max_hosts` internal hosts or `max_share` of the window's active
 * internal hosts (RITA's 2 %; popular destinations are never flagged). Rarity is context, not
 * proof: Low alone; each signal (non-standard port per [ports], a large upload, a long-lived
 * conversation) raises it one step, so High needs two; a new country for the host or an ASN the
 * organisation never used raises Low to Medium. Never Critical.
 *
 * The baseline is updated with this run's traffic only after scoring, and every entry keeps its
 * first-seen time, so hunting the same window again gives the same findings (the window's own
 * traffic does not make it "seen before"). --no-state reads the baseline and leaves it alone.
 *
 * File format (little-endian):
 *   header  8 magic "FHRARE1\0", u32 version (1), u32 entry size (72), u64 entries, u32 hours,
 *           u32 reserved (0)
 *   hours   u32 hour numbers (Unix ms / 3600000) with traffic, strictly increasing
 *   entries 16 key (address, network, ASN as u32, or host), u8 kind, u8 hosts, 2 country,
 *           u32 reserved (0), u64 first, u64 last (ms), u32 host hashes[8]
 *   trailer 32 SHA-256 of all bytes before it, 8 magic "FHRARE1\0"
 * Written to a temporary name, fsync'd and renamed. A file that fails any check is reported,
 * set aside as baseline-dst.bin.corrupt and rebuilt from this run; it is never trusted.
 * Another run may have renamed its baseline into place since this one read it (two runs at
 * once): the save, under DIR/hunt/state.lock, first merges that file in (first seen the
 * earlier, last seen the later, host sets joined), so neither run's traffic is forgotten.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "enrich.h"
#include "hunt.h"
#include "sha256.h"
#include "timearg.h"

#define HQ_HOUR 3600000ull
#define HQ_DAY (24 * HQ_HOUR)
#define HQ_SET 8 /* host hashes kept per entry: prevalence beyond this is "common" anyway */
#define HQ_ENT_SIZE 72
#define HQ_HDR_SIZE 32
#define HQ_TRL_SIZE 40
static const char hq_magic[8] = "FHRARE1";

enum { HQ_ADDR, HQ_NET, HQ_ASN, HQ_HOSTCC, HQ_HOST, HQ_NKINDS };

typedef struct hq_key {
    uint8_t b[16];
    uint8_t kind;
    char cc[2];
    uint8_t pad[5];
} hq_key_t;

typedef struct hq_ent {
    hq_key_t key;
    uint64_t first, last; /* from the file (0: not in it) */
    uint32_t hosts[HQ_SET];
    uint8_t n_hosts;
    uint64_t run_first, run_last; /* this run's established contacts (0: none) */
    uint64_t win_hosts;           /* distinct internal hosts in the window */
} hq_ent_t;

/* One internal host and one destination address in the window. */
typedef struct hq_pair {
    flow_addr_t host, peer;
    uint64_t addr_id, net_id, host_id, asn_id, cc_id; /* UINT64_MAX: none */
    uint64_t first, last, convs, bytes_out, bytes_in, pkts_out, pkts_in, max_dur;
    uint64_t port_bytes; /* bytes of the conversation that named `port` */
    uint32_t sampling;
    uint16_t port, nonstd_port;
    uint8_t proto, nonstd;
} hq_pair_t;

typedef struct hq_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    uint64_t win_start; /* the hunted window: [win_start, ctx->to_ms) */
    hj_intern_t ent_keys, seen_keys, pair_keys, active_keys;
    hj_vec_t ents, pairs;
    hj_map_t hours; /* hour number -> 1: file and run */
    uint64_t last_hour;
    char path[1024];
    char rebuilt[160]; /* why the file was not trusted, "" when it was */
    int loaded;        /* a baseline file was read */
    struct stat file_st; /* the file as read (a writer renames a new one into place) */
    int have_st;
} hq_state_t;

/* ---- little-endian helpers ------------------------------------------------------------------ */

static void hq_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void hq_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t hq_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t hq_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t hq_hash(const flow_addr_t *a)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ a->b[i]) * 16777619u;
    return h ? h : 1;
}

/* ---- entries -------------------------------------------------------------------------------- */

static uint64_t hq_ent_id(hq_state_t *s, const hq_key_t *k, hq_ent_t **out)
{
    int is_new;
    uint64_t id = hj_intern(&s->ent_keys, k, sizeof *k, &is_new);
    hq_ent_t *e = hj_vec_at(&s->ents, id);
    if (is_new)
        e->key = *k;
    *out = e;
    return id;
}

static void hq_key_make(hq_key_t *k, int kind, const uint8_t *b, size_t len, const char *cc)
{
    memset(k, 0, sizeof *k);
    memcpy(k->b, b, len);
    k->kind = (uint8_t)kind;
    if (cc) {
        k->cc[0] = cc[0];
        k->cc[1] = cc[1];
    }
}

/* The /24 of an IPv4 address (held IPv4-mapped), the /64 of an IPv6 one. */
static void hq_net_of(const flow_addr_t *a, flow_addr_t *net)
{
    *net = *a;
    int keep = flow_addr_is_v4(a) ? 15 : 8;
    memset(net->b + keep, 0, 16 - (size_t)keep);
}

static void hq_set_add(hq_ent_t *e, uint32_t h)
{
    for (int i = 0; i < e->n_hosts; i++)
        if (e->hosts[i] == h)
            return;
    if (e->n_hosts < HQ_SET)
        e->hosts[e->n_hosts++] = h;
}

static void hq_run_seen(hq_ent_t *e, const hunt_conv_t *c, uint32_t host_hash)
{
    if (!e->run_first || c->t_start < e->run_first)
        e->run_first = c->t_start ? c->t_start : 1;
    if (c->t_end > e->run_last)
        e->run_last = c->t_end;
    hq_set_add(e, host_hash);
}

/* Counts a distinct (host, entry) in the window once. */
static void hq_win_host(hq_state_t *s, const flow_addr_t *host, uint64_t id)
{
    uint8_t k[24];
    memcpy(k, host->b, 16);
    memcpy(k + 16, &id, 8);
    int is_new;
    hj_intern(&s->seen_keys, k, sizeof k, &is_new);
    if (is_new)
        ((hq_ent_t *)s->ents.v)[id].win_hosts++;
}

/* ---- the baseline file -------------------------------------------------------------------- */

/* Checks `buf` (len bytes) and merges it into the state: an entry new to the state takes the
 * file's times and hosts, one the state has (a baseline read before) the earlier first and
 * later last seen and both host sets. NULL on success, else what is wrong (nothing kept). */
static const char *hq_parse(hq_state_t *s, const uint8_t *buf, size_t len)
{
    if (len < HQ_HDR_SIZE + HQ_TRL_SIZE)
        return "truncated (shorter than header and trailer)";
    if (memcmp(buf, hq_magic, 8) != 0)
        return "bad magic at the start";
    if (memcmp(buf + len - 8, hq_magic, 8) != 0)
        return "bad magic at the end (truncated?)";
    if (hq_get32(buf + 8) != 1)
        return "unknown version";
    if (hq_get32(buf + 12) != HQ_ENT_SIZE)
        return "unknown entry size";
    uint64_t n = hq_get64(buf + 16), nh = hq_get32(buf + 24);
    if (hq_get32(buf + 28) != 0)
        return "reserved header field not zero";
    size_t body = len - HQ_HDR_SIZE - HQ_TRL_SIZE;
    if (nh > body / 4 || n > (body - nh * 4) / HQ_ENT_SIZE || nh * 4 + n * HQ_ENT_SIZE != body)
        return "counts do not match the file size";
    uint8_t md[SHA256_LEN];
    if (sha256_once(buf, len - HQ_TRL_SIZE, md) != 0)
        return "cannot compute its checksum";
    if (memcmp(md, buf + len - HQ_TRL_SIZE, sizeof md) != 0)
        return "checksum mismatch";
    const uint8_t *p = buf + HQ_HDR_SIZE;
    uint32_t prev = 0;
    for (uint64_t i = 0; i < nh; i++, p += 4) {
        uint32_t h = hq_get32(p);
        if (i > 0 && h <= prev)
            return "hours not increasing";
        prev = h;
    }
    /* checked in full before anything is kept */
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *q = p + i * HQ_ENT_SIZE;
        if (q[16] >= HQ_NKINDS || q[17] > HQ_SET || hq_get32(q + 20) != 0)
            return "bad entry kind, host count or reserved field";
        if (hq_get64(q + 24) == 0 || hq_get64(q + 24) > hq_get64(q + 32))
            return "entry first seen after last seen";
    }
    for (uint64_t i = 0; i < nh; i++)
        *hj_map_ins(&s->hours, hq_get32(buf + HQ_HDR_SIZE + i * 4)) = 1;
    for (uint64_t i = 0; i < n; i++, p += HQ_ENT_SIZE) {
        hq_key_t k;
        hq_key_make(&k, p[16], p, 16, (const char *)p + 18);
        hq_ent_t *e;
        hq_ent_id(s, &k, &e);
        uint64_t first = hq_get64(p + 24), last = hq_get64(p + 32);
        if (!e->first || first < e->first)
            e->first = first;
        if (last > e->last)
            e->last = last;
        for (int j = 0; j < p[17]; j++)
            hq_set_add(e, hq_get32(p + 40 + 4 * j));
    }
    return NULL;
}

/* The file's bytes and identity; NULL with errno (ENOENT: there is none). */
static uint8_t *hq_read(const char *path, size_t *len_out, struct stat *st)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    if (fstat(fileno(f), st) != 0)
        memset(st, 0, sizeof *st);
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            buf = hj_xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *len_out = len;
    return buf;
}

static void hq_load(hq_state_t *s)
{
    size_t len;
    uint8_t *buf = hq_read(s->path, &len, &s->file_st);
    if (!buf) {
        if (errno != ENOENT)
            snprintf(s->rebuilt, sizeof s->rebuilt, "unreadable: %s", strerror(errno));
        return;
    }
    s->have_st = 1;
    const char *why = hq_parse(s, buf, len);
    free(buf);
    if (!why) {
        s->loaded = 1;
        return;
    }
    snprintf(s->rebuilt, sizeof s->rebuilt, "%s", why);
    /* whatever was loaded before the check failed is dropped: hq_parse keeps nothing on error
     * (it verifies everything first), so the baseline starts empty */
    fprintf(stderr, "flowhunt hunt: rare: %s: corrupt (%s); not trusted, rebuilt from this run\n",
            s->path, why);
    if (s->ctx->write_state) {
        char aside[1100];
        snprintf(aside, sizeof aside, "%s.corrupt", s->path);
        if (rename(s->path, aside) != 0)
            fprintf(stderr, "flowhunt hunt: rare: %s: %s\n", aside, strerror(errno));
    }
}

/* Merges this run into the baseline, drops what is older than the retention, and writes the
 * file atomically. */
/* Merges the baseline another run renamed into place since this one read it (nothing when the
 * file is the one read, or gone). Under the state lock, so it is the newest until the save. */
static void hq_remerge(hq_state_t *s)
{
    struct stat st;
    if (stat(s->path, &st) != 0)
        return;
    if (s->have_st && st.st_dev == s->file_st.st_dev && st.st_ino == s->file_st.st_ino &&
        st.st_size == s->file_st.st_size && st.st_mtim.tv_sec == s->file_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == s->file_st.st_mtim.tv_nsec)
        return;
    size_t len;
    uint8_t *buf = hq_read(s->path, &len, &st);
    const char *why = buf ? hq_parse(s, buf, len) : "unreadable";
    free(buf);
    if (why) /* this run's baseline replaces it: what it held is not trusted */
        fprintf(stderr,
                "flowhunt hunt: rare: %s, written by another run meanwhile: %s; not merged\n",
                s->path, why);
}

static void hq_save_merged(hq_state_t *s);

/* Writes the baseline: this run's traffic, what it read, and what another run wrote since. */
static void hq_save(hq_state_t *s)
{
    int lock = hr_state_lock(s->ctx->dir);
    if (lock < 0)
        fprintf(stderr, "flowhunt hunt: rare: %s/hunt/state.lock: %s (saving without it)\n",
                s->ctx->dir, strerror(errno));
    hq_remerge(s);
    hq_save_merged(s);
    hr_state_unlock(lock);
}

static void hq_save_merged(hq_state_t *s)
{
    /* retention counts back from the newest traffic known, not from --to (which may lie in
     * the future) */
    uint64_t newest = 0, key = 0, *val;
    for (int first = 1; hj_map_next(&s->hours, &key, &val, first); first = 0)
        newest = (key + 1) * HQ_HOUR;
    uint64_t keep = (uint64_t)(s->cfg->r_retain_days * (double)HQ_DAY);
    uint64_t cutoff = newest > keep ? newest - keep : 0;
    uint64_t n_hours = 0, n_ent = 0;
    key = 0;
    for (int first = 1; hj_map_next(&s->hours, &key, &val, first); first = 0)
        n_hours += (key + 1) * HQ_HOUR > cutoff && key <= UINT32_MAX;
    hq_ent_t *ents = s->ents.v;
    for (size_t i = 0; i < s->ents.n; i++) {
        hq_ent_t *e = &ents[i];
        if (e->run_first) {
            e->first = e->first && e->first < e->run_first ? e->first : e->run_first;
            e->last = e->last > e->run_last ? e->last : e->run_last;
        }
        n_ent += e->first && e->last >= cutoff;
    }
    size_t len = HQ_HDR_SIZE + n_hours * 4 + n_ent * HQ_ENT_SIZE + HQ_TRL_SIZE;
    uint8_t *buf = hj_xcalloc(1, len), *p = buf;
    memcpy(p, hq_magic, 8);
    hq_put32(p + 8, 1);
    hq_put32(p + 12, HQ_ENT_SIZE);
    hq_put64(p + 16, n_ent);
    hq_put32(p + 24, (uint32_t)n_hours);
    p += HQ_HDR_SIZE;
    key = 0;
    for (int first = 1; hj_map_next(&s->hours, &key, &val, first); first = 0)
        if ((key + 1) * HQ_HOUR > cutoff && key <= UINT32_MAX) {
            hq_put32(p, (uint32_t)key);
            p += 4;
        }
    for (size_t i = 0; i < s->ents.n; i++) {
        hq_ent_t *e = &ents[i];
        if (!e->first || e->last < cutoff)
            continue;
        memcpy(p, e->key.b, 16);
        p[16] = e->key.kind;
        p[17] = e->n_hosts;
        memcpy(p + 18, e->key.cc, 2);
        hq_put64(p + 24, e->first);
        hq_put64(p + 32, e->last);
        for (int j = 0; j < e->n_hosts; j++)
            hq_put32(p + 40 + 4 * j, e->hosts[j]);
        p += HQ_ENT_SIZE;
    }
    if (sha256_once(buf, (size_t)(p - buf), p) != 0) {
        fprintf(stderr, "flowhunt hunt: rare: %s not written: cannot compute its checksum\n",
                s->path);
        free(buf);
        return;
    }
    memcpy(p + SHA256_LEN, hq_magic, 8);

    char dir[1024];
    snprintf(dir, sizeof dir, "%s/hunt", s->ctx->dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "flowhunt hunt: rare: %s: %s\n", dir, strerror(errno));
        free(buf);
        return;
    }
    if (af_write(s->path, buf, len, AF_SYNC) != 0)
        fprintf(stderr, "flowhunt hunt: rare: %s: %s\n", s->path, strerror(errno));
    free(buf);
}

/* ---- the hunt ---------------------------------------------------------------------------------
 */

static void *hq_create(const hunt_ctx_t *ctx)
{
    hq_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    hj_vec_init(&s->ents, sizeof(hq_ent_t));
    hj_vec_init(&s->pairs, sizeof(hq_pair_t));
    /* the window ends with the hour of the newest flow, so a run over whole days hunts whole
     * days and a rerun sees the same hours before it */
    uint64_t end = ctx->to_ms, span = (uint64_t)(s->cfg->r_window_days * (double)HQ_DAY);
    if (end < UINT64_MAX - HQ_HOUR)
        end = (end + HQ_HOUR - 1) / HQ_HOUR * HQ_HOUR;
    s->win_start = end > span ? end - span : 0;
    if (s->win_start < ctx->from_ms)
        s->win_start = ctx->from_ms;
    s->last_hour = UINT64_MAX;
    snprintf(s->path, sizeof s->path, "%s/hunt/baseline-dst.bin", ctx->dir ? ctx->dir : ".");
    if (ctx->dir)
        hq_load(s);
    return s;
}

static void hq_mark_hours(hq_state_t *s, const hunt_conv_t *c)
{
    uint64_t h0 = c->t_start / HQ_HOUR, h1 = c->t_end / HQ_HOUR;
    if (h0 == s->last_hour && h1 == h0)
        return;
    if (h1 < h0 || h1 - h0 > 24 * 400)
        h1 = h0; /* a bogus end: the start alone */
    for (uint64_t h = h0; h <= h1; h++)
        *hj_map_ins(&s->hours, h) = 1;
    s->last_hour = h1;
}

static void hq_feed(void *st, const hunt_conv_t *c)
{
    hq_state_t *s = st;
    hq_mark_hours(s, c);
    if (!c->orig_internal || c->resp_internal)
        return;
    int win = c->t_start >= s->win_start;
    int is_new;
    if (win)
        hj_intern(&s->active_keys, c->orig.b, 16, &is_new);
    /* only an answered exchange with bytes both ways is a relationship: an unanswered probe
     * must not make a later real contact "seen before" */
    if (!c->answered || c->rejected || !c->bytes_out || !c->bytes_in)
        return;
    uint32_t hh = hq_hash(&c->orig);
    flow_addr_t net;
    hq_net_of(&c->resp, &net);
    hq_key_t k;
    hq_ent_t *e;
    hq_key_make(&k, HQ_ADDR, c->resp.b, 16, NULL);
    uint64_t addr_id = hq_ent_id(s, &k, &e);
    hq_run_seen(e, c, hh);
    hq_key_make(&k, HQ_NET, net.b, 16, NULL);
    uint64_t net_id = hq_ent_id(s, &k, &e);
    hq_run_seen(e, c, hh);
    int net_known = e->first && e->first < s->win_start;
    hq_key_make(&k, HQ_HOST, c->orig.b, 16, NULL);
    uint64_t host_id = hq_ent_id(s, &k, &e);
    hq_run_seen(e, c, hh);
    uint64_t asn_id = UINT64_MAX, cc_id = UINT64_MAX;
    hunt_geo_t g;
    if (s->ctx->enrich && en_lookup(s->ctx->enrich, &c->resp, &g)) {
        if (g.has_asn && g.asn) {
            uint8_t ab[4];
            hq_put32(ab, g.asn);
            hq_key_make(&k, HQ_ASN, ab, 4, NULL);
            asn_id = hq_ent_id(s, &k, &e);
            hq_run_seen(e, c, hh);
        }
        if (g.has_geo && g.country[0] && g.country[1]) {
            hq_key_make(&k, HQ_HOSTCC, c->orig.b, 16, g.country);
            cc_id = hq_ent_id(s, &k, &e);
            hq_run_seen(e, c, hh);
        }
    }
    if (!win)
        return;
    hq_win_host(s, &c->orig, net_id);
    hq_win_host(s, &c->orig, addr_id);
    if (net_known)
        return; /* seen before the window in an earlier run: cannot be first seen */
    flow_addr_t pk[2] = {c->orig, c->resp};
    uint64_t pid = hj_intern(&s->pair_keys, pk, sizeof pk, &is_new);
    hq_pair_t *p = hj_vec_at(&s->pairs, pid);
    if (is_new) {
        p->host = c->orig;
        p->peer = c->resp;
        p->addr_id = addr_id;
        p->net_id = net_id;
        p->host_id = host_id;
        p->first = c->t_start;
    }
    p->asn_id = asn_id;
    p->cc_id = cc_id;
    p->convs++;
    p->bytes_out += c->bytes_out;
    p->bytes_in += c->bytes_in;
    p->pkts_out += c->pkts_out;
    p->pkts_in += c->pkts_in;
    if (c->t_start < p->first)
        p->first = c->t_start;
    if (c->t_end > p->last)
        p->last = c->t_end;
    if (c->t_end - c->t_start > p->max_dur)
        p->max_dur = c->t_end - c->t_start;
    if (c->sampling > p->sampling)
        p->sampling = c->sampling;
    uint64_t b = c->bytes_out + c->bytes_in;
    if (b > p->port_bytes || p->convs == 1) {
        p->port_bytes = b;
        p->port = c->resp_port;
        p->proto = c->proto;
    }
    /* a SaaS, VPN or VoIP service port ([ports] benign: FCM 5228, MQTT 8883 ...) is odd but
     * not a signal (hunting-methods.md 5.2 false positives) */
    uint16_t rp = c->resp_port;
    int benign = (s->cfg->benign_svc[rp >> 3] >> (rp & 7)) & 1;
    if ((c->proto == 6 || c->proto == 17) && !hc_port_standard(s->cfg, c->proto, rp) && !benign &&
        !p->nonstd) {
        p->nonstd = 1;
        p->nonstd_port = c->resp_port;
    }
}

static void hq_part_end(void *st)
{
    (void)st; /* destinations span partitions: everything is judged at finish */
}

static uint64_t hq_org_first(const hq_ent_t *e)
{
    if (!e->first)
        return e->run_first;
    return e->run_first && e->run_first < e->first ? e->run_first : e->first;
}

/* Days the baseline covers before the window (file and this run): from the first hour with
 * traffic to the window start, less what gaps of more than a day add (a collector outage is not
 * baseline). Only whole hours before the window count, so a rerun sees the same coverage. */
static double hq_coverage_days(const hq_state_t *s)
{
    uint64_t key = 0, *val, prev = UINT64_MAX, hours = 0;
    for (int first = 1; hj_map_next(&s->hours, &key, &val, first); first = 0) {
        if ((key + 1) * HQ_HOUR > s->win_start)
            break;
        if (prev != UINT64_MAX)
            hours += key - prev < 24 ? key - prev : 24;
        prev = key;
    }
    if (prev == UINT64_MAX)
        return 0;
    uint64_t tail = s->win_start / HQ_HOUR - prev;
    hours += tail < 24 ? tail : 24;
    return (double)hours / 24.0;
}

typedef struct hq_cand {
    uint64_t net_id, pair;
    flow_addr_t host, peer; /* the pair's, for the order */
} hq_cand_t;

/* By network, then host and peer address: a network's hosts listed in an order that does not
 * depend on the order the passes fed them (internal ids do). */
static int hq_cmp_cand(const void *a, const void *b)
{
    const hq_cand_t *x = a, *y = b;
    if (x->net_id != y->net_id)
        return x->net_id < y->net_id ? -1 : 1;
    int c = memcmp(x->host.b, y->host.b, 16);
    if (!c)
        c = memcmp(x->peer.b, y->peer.b, 16);
    return c ? c : (x->pair > y->pair) - (x->pair < y->pair);
}

static void hq_report(hq_state_t *s, const hq_pair_t *p, const char *hosts_json,
                      const char *hosts_text, double cov, uint64_t active, double limit,
                      hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    const hq_ent_t *ents = s->ents.v;
    const hq_ent_t *net = &ents[p->net_id], *addr = &ents[p->addr_id], *host = &ents[p->host_id];
    int up = p->bytes_out >= (uint64_t)cfg->r_upload && p->bytes_out > p->bytes_in;
    int longl = p->max_dur >= (uint64_t)(cfg->r_long_s * 1000);
    int k = p->nonstd + up + longl;
    /* a country this host never reached, judged only when the host itself is known from
     * before the window; an ASN nobody in the organisation used */
    int new_cc = p->cc_id != UINT64_MAX && hq_org_first(&ents[p->cc_id]) >= s->win_start &&
                 hq_org_first(host) < s->win_start;
    int new_asn = p->asn_id != UINT64_MAX && hq_org_first(&ents[p->asn_id]) >= s->win_start;
    int risk = k >= 2 ? HUNT_RISK_HIGH : k == 1 ? HUNT_RISK_MEDIUM : HUNT_RISK_LOW;
    if (risk == HUNT_RISK_LOW && (new_cc || new_asn))
        risk = HUNT_RISK_MEDIUM;
    hunt_finding_t *f = hunt_finding_new(out, "rare");
    hunt_finding_tech(f, p->nonstd ? "T1571" : "T1071");
    f->host = p->host;
    char hs[FLOW_ADDR_STRLEN], ps[FLOW_ADDR_STRLEN], ns[FLOW_ADDR_STRLEN], pb[8];
    flow_addr_format(&p->host, hs);
    flow_addr_format(&p->peer, ps);
    flow_addr_t na;
    hq_net_of(&p->peer, &na);
    flow_addr_format(&na, ns);
    snprintf(f->peer, sizeof f->peer, "%s", ps);
    f->port = hunt_port_of(p->proto, p->port);
    f->proto = p->proto;
    f->first_seen = p->first;
    f->last_seen = p->last;
    f->risk = risk;
    f->score = k + (new_cc || new_asn ? 0.5 : 0) + 1.0 / (double)(net->win_hosts + 1);
    int conf = cov >= cfg->r_conf_high_days  ? HUNT_CONF_HIGH
               : cov >= cfg->r_conf_med_days ? HUNT_CONF_MEDIUM
                                             : HUNT_CONF_LOW;
    if (p->sampling >= 100)
        conf = HUNT_CONF_LOW;
    else if (p->sampling > 1 && conf > HUNT_CONF_LOW)
        conf--;
    f->confidence = conf;
    int v4 = flow_addr_is_v4(&p->peer);
    char first_iso[32], net_iso[32];
    timearg_format_iso(hq_org_first(addr), first_iso);
    timearg_format_iso(hq_org_first(net), net_iso);
    snprintf(f->summary, sizeof f->summary,
             "%s reached %s (%s/%s), first contacted by the organisation %s, used by %llu "
             "internal host%s",
             hs, ps, ns, v4 ? "24" : "64", first_iso, (unsigned long long)net->win_hosts,
             net->win_hosts == 1 ? "" : "s");
    snprintf(f->filter, sizeof f->filter, "host %s and host %s", hs, ps);
    if (risk >= HUNT_RISK_HIGH)
        snprintf(f->action, sizeof f->action,
                 "Investigate now: find the process on %s talking to %s (%s/%u) and what it "
                 "sent (%llu bytes out); block %s at the egress until it is explained.",
                 hs, ps, hr_proto_name(p->proto, pb), p->port, (unsigned long long)p->bytes_out,
                 ps);
    else
        snprintf(f->action, sizeof f->action,
                 "Review: look up %s (owner, reputation, passive DNS) and ask why %s started "
                 "using it; a new destination is context, not proof. Acknowledge it when it is "
                 "a legitimate new service.",
                 ps, hs);
    hev_t *e = &f->ev;
    hev_str(e, "first_seen", first_iso);
    hev_str(e, "network_first_seen", net_iso);
    char t[320], j[320];
    snprintf(t, sizeof t,
             "%llu internal host%s used %s/%s in the window; rare at <= %.0f of %llu "
             "active hosts",
             (unsigned long long)net->win_hosts, net->win_hosts == 1 ? "" : "s", ns,
             v4 ? "24" : "64", limit, (unsigned long long)active);
    snprintf(j, sizeof j,
             "{\"network_hosts\":%llu,\"address_hosts\":%llu,\"active_hosts\":%llu,"
             "\"rare_limit\":%.0f}",
             (unsigned long long)net->win_hosts, (unsigned long long)addr->win_hosts,
             (unsigned long long)active, limit);
    hev_raw(e, "prevalence", j, t);
    hev_raw(e, "hosts", hosts_json, hosts_text);
    hev_num(e, "baseline_coverage_days", cov, 1);
    hev_bool(e, "baseline_from_earlier_runs", s->loaded);
    if (s->rebuilt[0])
        hev_str(e, "baseline_rebuilt", s->rebuilt);
    char wf[32];
    timearg_format_iso(s->win_start, wf);
    hev_str(e, "window_start", wf);
    hev_int(e, "conversations", (int64_t)p->convs);
    hev_int(e, "bytes_out", (int64_t)p->bytes_out);
    hev_int(e, "bytes_in", (int64_t)p->bytes_in);
    hev_num(e, "longest_conversation_s", (double)p->max_dur / 1000.0, 1);
    char sj[128] = "[", stx[128] = "";
    const char *names[3] = {p->nonstd ? "non_standard_port" : NULL, up ? "large_upload" : NULL,
                            longl ? "long_lived" : NULL};
    for (int i = 0, n = 0; i < 3; i++) {
        if (!names[i])
            continue;
        size_t l = strlen(sj);
        snprintf(sj + l, sizeof sj - l, "%s\"%s\"", n ? "," : "", names[i]);
        l = strlen(stx);
        snprintf(stx + l, sizeof stx - l, "%s%s", n ? ", " : "", names[i]);
        n++;
    }
    strcat(sj, "]");
    hev_raw(e, "signals", sj, stx[0] ? stx : "none (rarity alone)");
    if (p->nonstd)
        hev_int(e, "non_standard_port", p->nonstd_port);
    if (p->cc_id != UINT64_MAX) {
        char cc[3] = {ents[p->cc_id].key.cc[0], ents[p->cc_id].key.cc[1], 0};
        hev_str(e, "country", cc);
        hev_bool(e, "new_country_for_host", new_cc);
    }
    if (p->asn_id != UINT64_MAX) {
        hev_int(e, "asn", hq_get32(ents[p->asn_id].key.b));
        hev_bool(e, "new_asn_for_organisation", new_asn);
    }
    hev_int(e, "sampling", p->sampling ? p->sampling : 1);
    hunt_finding_allow(cfg, f, 1);
}

static void hq_finish(void *st, hunt_findings_t *out)
{
    hq_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    double cov = hq_coverage_days(s);
    uint64_t active = s->active_keys.n;
    double limit = cfg->r_max_share * (double)active;
    if (limit < cfg->r_max_hosts)
        limit = cfg->r_max_hosts;
    const hq_ent_t *ents = s->ents.v;
    hq_pair_t *pairs = s->pairs.v;
    hq_cand_t *cand = hj_xmalloc((s->pairs.n + 1) * sizeof *cand);
    size_t nc = 0;
    if (cov >= cfg->r_learn_days)
        for (size_t i = 0; i < s->pairs.n; i++) {
            const hq_ent_t *net = &ents[pairs[i].net_id];
            uint64_t first = hq_org_first(net);
            if (first < s->win_start || (double)net->win_hosts > limit)
                continue; /* seen before (in this run's earlier days), or popular */
            cand[nc].net_id = pairs[i].net_id;
            cand[nc].host = pairs[i].host;
            cand[nc].peer = pairs[i].peer;
            cand[nc++].pair = i;
        }
    if (nc > 1)
        qsort(cand, nc, sizeof *cand, hq_cmp_cand);
    /* grouped by network: each finding names the network's other hosts */
    for (size_t g = 0; g < nc;) {
        size_t end = g;
        char hj[600] = "[", ht[600] = "";
        while (end < nc && cand[end].net_id == cand[g].net_id) {
            char a[FLOW_ADDR_STRLEN];
            flow_addr_format(&cand[end].host, a);
            /* sorted by host: a host's other pairs follow it */
            int again = end > g && flow_addr_eq(&cand[end].host, &cand[end - 1].host);
            if (!again && strlen(ht) + strlen(a) + 8 < sizeof ht) {
                size_t l = strlen(hj);
                snprintf(hj + l, sizeof hj - l, "%s\"%s\"", ht[0] ? "," : "", a);
                l = strlen(ht);
                snprintf(ht + l, sizeof ht - l, "%s%s", ht[0] ? ", " : "", a);
            }
            end++;
        }
        strcat(hj, "]");
        for (size_t i = g; i < end; i++)
            hq_report(s, &pairs[cand[i].pair], hj, ht, cov, active, limit, out);
        g = end;
    }
    free(cand);
    if (s->ctx->write_state && s->ctx->dir)
        hq_save(s);
}

static void hq_clear(hq_state_t *s)
{
    hj_intern_free(&s->ent_keys);
    hj_intern_free(&s->seen_keys);
    hj_intern_free(&s->pair_keys);
    hj_intern_free(&s->active_keys);
    hj_vec_free(&s->ents);
    hj_vec_free(&s->pairs);
    hj_map_free(&s->hours);
}

static void hq_destroy(void *st)
{
    hq_state_t *s = st;
    if (!s)
        return;
    hq_clear(s);
    free(s);
}

const char *hq_baseline_check(const uint8_t *buf, size_t len)
{
    hq_state_t s;
    memset(&s, 0, sizeof s);
    hj_vec_init(&s.ents, sizeof(hq_ent_t));
    hj_vec_init(&s.pairs, sizeof(hq_pair_t));
    const char *why = hq_parse(&s, buf, len);
    hq_clear(&s);
    return why;
}

const hunt_ops_t hq_ops = {"rare", hq_create, hq_feed, hq_part_end, hq_finish, hq_destroy, 8};
