/* hunt_fold.c: findings that are one thing, one block in a report a person reads.
 *
 * A large network's day has thousands of findings that are one behaviour: every host's update
 * check against one service, every host's NTP against one server, one scanner's every target,
 * one monitoring server's every poll (on the reference day of 5,415 hosts: 5,307 of 5,344
 * findings). Printed one by one they bury the few that matter under 197,000 lines. So the text
 * and HTML reports print such a group as one block: the highest-ranked member in full, the
 * others counted and named. Three kinds (hf_plan): HF_PEER, the Low and Medium findings of one
 * hunt towards one (peer, port, protocol) from [general] fold_min_hosts hosts or more -- one
 * destination to look into, however many hosts call it (28 hosts' four-hourly update check
 * scored either side of the Medium line, and printed as 16 findings and a block of 12); High
 * and Critical ones are each printed; then HF_HOST, the findings of one hunt, host
 * and risk, fold_min_findings or more -- one host's activity is handled as one; last HF_HUNT,
 * the Low findings of one hunt that neither holds, fold_min_low or more -- a week's hunt of a
 * busy network makes first contact with thousands of new destinations, each a Low finding of
 * the rare hunt with a host and peer of its own, context rather than a lead. Nothing is
 * lost: every member keeps its Hunt ID and fingerprint in the state, JSON, CSV and the SIEM
 * formats list each, and --no-fold prints each here too. Allow-listed findings fold only by
 * host, among themselves, one entry's apart from another's (an authorised scanner's 42
 * targets over three days were 1,000 lines of the report's end).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"
#include "timearg.h"

/* What a block is made of: see hf_plan. Allow-listed findings fold only by host, apart from
 * the others (an authorised scanner's targets, all suppressed by one entry). */
static int hf_foldable(int kind, const hunt_finding_t *f)
{
    if (kind == HF_HOST)
        return 1;
    if (f->suppressed)
        return 0;
    if (kind == HF_PEER)
        return f->risk <= HUNT_RISK_MEDIUM && f->peer[0];
    return f->risk == HUNT_RISK_LOW;
}

typedef struct hf_sort {
    hunt_finding_t *const *v;
    int kind;
} hf_sort_t;

/* The key of a block: HF_PEER (hunt, peer, port, protocol), HF_HOST (hunt, host, risk, and
 * the allow-list entry that suppressed it, if one did), HF_HUNT (hunt; its findings are all
 * Low). */
static int hf_cmp_key(int kind, const hunt_finding_t *x, const hunt_finding_t *y)
{
    int c = strcmp(x->hunt, y->hunt);
    if (c || kind == HF_HUNT)
        return c;
    if (kind == HF_HOST) {
        if ((c = memcmp(x->host.b, y->host.b, 16)))
            return c;
        if (x->risk != y->risk)
            return (x->risk > y->risk) - (x->risk < y->risk);
        if (x->suppressed != y->suppressed)
            return x->suppressed - y->suppressed;
        return x->suppressed ? strcmp(x->suppressed_reason, y->suppressed_reason) : 0;
    }
    if ((c = strcmp(x->peer, y->peer)))
        return c;
    if (x->port != y->port)
        return (x->port > y->port) - (x->port < y->port);
    return (x->proto > y->proto) - (x->proto < y->proto);
}

/* Blocks by key; within a block, report order (the index). */
static int hf_cmp_group(const void *pa, const void *pb, void *arg)
{
    const size_t *a = pa, *b = pb;
    const hf_sort_t *s = arg;
    int c = hf_cmp_key(s->kind, s->v[*a], s->v[*b]);
    return c ? c : (*a > *b) - (*a < *b);
}

/* Adds the blocks of one kind among the findings no block holds yet: runs of min or more. */
static void hf_stage(hf_plan_t *p, hunt_finding_t *const *v, size_t n, int kind, unsigned min,
                     int new_only, size_t *cand)
{
    if (!min)
        return;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (p->lead[i] == HF_ALONE && hf_foldable(kind, v[i]) && (!new_only || v[i]->is_new))
            cand[m++] = i;
    hf_sort_t s = {v, kind};
    if (m > 1)
        qsort_r(cand, m, sizeof *cand, hf_cmp_group, &s);
    for (size_t r = 0; r < m;) {
        size_t e = r + 1;
        while (e < m && hf_cmp_key(kind, v[cand[r]], v[cand[e]]) == 0)
            e++;
        if (e - r >= min) {
            size_t lead = cand[r];
            p->first[lead] = p->folded;
            p->kind[lead] = (unsigned char)kind;
            for (size_t j = r; j < e; j++) {
                p->lead[cand[j]] = lead;
                p->members[p->folded++] = cand[j];
            }
            p->groups[kind]++;
            p->in_kind[kind] += e - r;
        }
        r = e;
    }
}

void hf_plan(hf_plan_t *p, hunt_finding_t *const *v, size_t n, const hr_opts_t *o, int new_only)
{
    memset(p, 0, sizeof *p);
    size_t cap = n ? n : 1;
    p->lead = hj_xmalloc(cap * sizeof *p->lead);
    p->members = hj_xmalloc(cap * sizeof *p->members);
    p->first = hj_xmalloc(cap * sizeof *p->first);
    p->kind = hj_xmalloc(cap);
    size_t *cand = hj_xmalloc(cap * sizeof *cand);
    for (size_t i = 0; i < n; i++)
        p->lead[i] = HF_ALONE;
    /* many hosts' Low findings towards one place first: a poller's are then what is left, and
     * a hunt's scattered Low ones what is left after that */
    if (o) {
        hf_stage(p, v, n, HF_PEER, o->fold_min_hosts, new_only, cand);
        hf_stage(p, v, n, HF_HOST, o->fold_min_findings, new_only, cand);
        hf_stage(p, v, n, HF_HUNT, o->fold_min_low, new_only, cand);
    }
    free(cand);
}

void hf_free(hf_plan_t *p)
{
    free(p->kind);
    free(p->lead);
    free(p->members);
    free(p->first);
    memset(p, 0, sizeof *p);
}

/* The flowhunt cat filter of a block: the peer's side of every member's flows (HF_PEER), or
 * the host's (HF_HOST). */
static void hf_filter(int kind, const hunt_finding_t *f, char *out, size_t cap)
{
    char pb[8];
    if (kind == HF_HOST) {
        char h[FLOW_ADDR_STRLEN];
        flow_addr_format(&f->host, h);
        snprintf(out, cap, "host %s", h);
        return;
    }
    int n = snprintf(out, cap, "%s %s", strchr(f->peer, '/') ? "net" : "host", f->peer);
    if (f->port >= 0 && n > 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, " and port %d", f->port);
    if (n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, " and proto %s", hr_proto_name(f->proto, pb));
}

/* "peer:port/proto" (or "peer/proto"; "*" for no peer). */
static void hf_where(const hunt_finding_t *f, char *out, size_t cap)
{
    char pb[8];
    const char *peer = f->peer[0] ? f->peer : "*";
    if (f->port >= 0)
        hr_peer_port(out, cap, peer, (unsigned)f->port, f->proto);
    else
        snprintf(out, cap, "%s/%s", peer, hr_proto_name(f->proto, pb));
}

static void hf_oom(void)
{
    fputs("flowhunt: out of memory (folding the report)\n", stderr);
    exit(2);
}

/* How many hosts (or peers) are named before "and N more": enough to recognise a pattern (one
 * subnet, one department), few enough to keep the block a screen. */
#define HF_HOSTS_NAMED 16
#define HF_USERS_NAMED 8

size_t hf_note(const hf_plan_t *p, size_t lead, char id_note[64])
{
    const size_t *mem = p->members + p->first[lead];
    size_t n = 0;
    while (p->first[lead] + n < p->folded && p->lead[mem[n]] == lead)
        n++;
    snprintf(id_note, 64, " (and %zu more, folded)", n - 1);
    return n;
}

/* How many distinct hosts (peers: by text) the block's findings have; for HF_HUNT's line. */
static int hf_cmp_host(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(flow_addr_t));
}

static int hf_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hf_spread(hunt_finding_t *const *v, const size_t *mem, size_t n, size_t *hosts,
                      size_t *peers)
{
    flow_addr_t *h = hj_xmalloc(n * sizeof *h);
    const char **pe = hj_xmalloc(n * sizeof *pe);
    for (size_t i = 0; i < n; i++) {
        h[i] = v[mem[i]]->host;
        pe[i] = v[mem[i]]->peer;
    }
    qsort(h, n, sizeof *h, hf_cmp_host);
    qsort(pe, n, sizeof *pe, hf_cmp_str);
    *hosts = *peers = 0;
    for (size_t i = 0; i < n; i++) {
        *hosts += i == 0 || memcmp(&h[i], &h[i - 1], sizeof *h) != 0;
        *peers += pe[i][0] && (i == 0 || strcmp(pe[i], pe[i - 1]) != 0);
    }
    free(h);
    free(pe);
}

/* One host's block shows its leader's "User:"; when the host's lease changed within the block
 * (--users: each finding takes the user of its own time), the others' users are named too, with
 * how many findings each, so the block does not put one person's findings on another. Nothing
 * when every member has the leader's user. */
static void hf_host_users(FILE *e, hunt_finding_t *const *v, const size_t *mem, size_t n)
{
    const char *name[HF_USERS_NAMED];
    size_t count[HF_USERS_NAMED], distinct = 0, other = 0;
    int differ = 0;
    for (size_t i = 0; i < n; i++) {
        const char *u = v[mem[i]]->user;
        differ |= strcmp(u, v[mem[0]]->user) != 0;
        size_t j = 0;
        while (j < distinct && strcmp(name[j], u) != 0)
            j++;
        if (j < distinct) {
            count[j]++;
        } else if (distinct < HF_USERS_NAMED) {
            name[distinct] = u;
            count[distinct++] = 1;
        } else {
            other++;
        }
    }
    if (!differ)
        return;
    fputs("  folded_users: the host's user changed within the block:", e);
    for (size_t j = 0; j < distinct; j++)
        fprintf(e, "%s %s (%zu)", j ? "," : "", name[j][0] ? name[j] : "unknown", count[j]);
    if (other)
        fprintf(e, ", %zu more findings of other users", other);
    fputc('\n', e);
}

size_t hf_describe(hunt_finding_t *const *v, const hf_plan_t *p, size_t lead, const hr_opts_t *o,
                   char id_note[64], char **evidence)
{
    const size_t *mem = p->members + p->first[lead];
    size_t n = hf_note(p, lead, id_note);
    const hunt_finding_t *f = v[lead];
    int kind = p->kind[lead];
    uint64_t first = UINT64_MAX, last = 0;
    size_t conf[HUNT_CONF_HIGH + 1] = {0}, n_users = 0;
    for (size_t i = 0; i < n; i++) {
        const hunt_finding_t *g = v[mem[i]];
        if (g->first_seen < first)
            first = g->first_seen;
        if (g->last_seen > last)
            last = g->last_seen;
        if (g->confidence >= HUNT_CONF_LOW && g->confidence <= HUNT_CONF_HIGH)
            conf[g->confidence]++;
        n_users += g->user[0] != '\0';
    }
    char *ev = NULL, a[32], b[32], filter[600], where[96], host[FLOW_ADDR_STRLEN];
    size_t ev_len = 0;
    FILE *e = open_memstream(&ev, &ev_len);
    if (!e)
        hf_oom();
    timearg_format_iso(first, a);
    timearg_format_iso(last + 1, b);
    hf_where(f, where, sizeof where);
    flow_addr_format(&f->host, host);
    if (kind == HF_PEER) {
        size_t medium = 0;
        for (size_t i = 0; i < n; i++)
            medium += v[mem[i]]->risk == HUNT_RISK_MEDIUM;
        char mix[64] = "";
        if (medium && medium < n)
            snprintf(mix, sizeof mix, " (%zu Medium, %zu Low)", medium, n - medium);
        fprintf(e,
                "  folded: this block stands for %zu %s%s findings towards %s%s, one per host; "
                "the highest ranked is shown (--no-fold prints each; --format json lists "
                "each)\n",
                n, mix[0] ? "" : medium ? "Medium " : "Low ", f->hunt, where, mix);
    } else if (kind == HF_HOST) {
        fprintf(e,
                "  folded: this block stands for %zu %s %s findings of %s, one per peer and "
                "port%s; the highest ranked is shown (--no-fold prints each; --format json lists "
                "each)\n",
                n, hr_risk_name(f->risk), f->hunt, host,
                f->suppressed ? ", each suppressed by the same allow-list entry" : "");
    } else {
        size_t hosts, peers;
        hf_spread(v, mem, n, &hosts, &peers);
        fprintf(e,
                "  folded: this block stands for the %zu Low %s findings that no other block "
                "holds, of %zu hosts towards %zu peers; the highest ranked is shown (--no-fold "
                "prints each; --format json lists each)\n",
                n, f->hunt, hosts, peers);
    }
    fprintf(e, kind == HF_PEER ? "  folded_hosts:" : kind == HF_HOST ? "  folded_peers:"
                                                                      : "  folded_findings:");
    for (size_t i = 0; i < n && i < HF_HOSTS_NAMED; i++) {
        char it[FLOW_ADDR_STRLEN + 100];
        if (kind == HF_PEER) {
            flow_addr_format(&v[mem[i]]->host, it);
        } else if (kind == HF_HOST) {
            hf_where(v[mem[i]], it, sizeof it);
        } else {
            flow_addr_format(&v[mem[i]]->host, it);
            size_t len = strlen(it);
            memcpy(it + len, "->", 3);
            hf_where(v[mem[i]], it + len + 2, sizeof it - len - 2);
        }
        fprintf(e, " %s", it);
    }
    if (n > HF_HOSTS_NAMED)
        fprintf(e, " and %zu more", n - HF_HOSTS_NAMED);
    fputc('\n', e);
    if (n_users && kind != HF_HOST) {
        fprintf(e, "  folded_users: %zu known:", n_users);
        size_t named = 0;
        for (size_t i = 0; i < n && named < HF_USERS_NAMED; i++)
            if (v[mem[i]]->user[0]) /* commas, as a name may hold a space (DOMAIN\Jane Doe) */
                fprintf(e, "%s %s", named++ ? "," : "", v[mem[i]]->user);
        fprintf(e, "%s\n", n_users > named ? ", ..." : "");
    }
    if (kind == HF_HOST)
        hf_host_users(e, v, mem, n);
    fprintf(e, "  folded_ids: %s to %s, in report order\n", v[mem[0]]->hunt_id,
            v[mem[n - 1]]->hunt_id);
    fprintf(e, "  folded_confidence: %zu High, %zu Medium, %zu Low\n", conf[HUNT_CONF_HIGH],
            conf[HUNT_CONF_MEDIUM], conf[HUNT_CONF_LOW]);
    /* HF_HUNT's members share no host or peer: no one filter shows their flows */
    if (kind != HF_HUNT) {
        char dir[1024], word[1024];
        hf_filter(kind, f, filter, sizeof filter);
        hr_shell_word(o->dir, dir, sizeof dir);
        hr_shell_word(filter, word, sizeof word);
        fprintf(e, "  folded_flows: flowhunt cat %s --from %s --to %s --sort start %s\n", dir, a, b,
                word);
    }
    if (kind == HF_PEER)
        fprintf(e,
                "  folded_action: one behaviour of %zu hosts: find the software they share "
                "that keeps it; when it is known and wanted, allow-list the destination "
                "(dst@%s = %s REASON) and it is reported suppressed from then on\n",
                n, f->hunt, f->peer);
    else if (kind == HF_HOST && f->suppressed)
        fprintf(e,
                "  folded_action: allow-listed, so reported for the record and not counted; "
                "narrow or remove the entry if %s should not be doing this any more\n",
                host);
    else if (kind == HF_HOST)
        fprintf(e,
                "  folded_action: one host's activity, to be handled as one: the recommended "
                "action applies to each of the %zu; when %s is authorised to do this, "
                "allow-list it (host@%s = %s REASON) and it is reported suppressed from then "
                "on\n",
                n, host, f->hunt, host);
    else
        fprintf(e,
                "  folded_action: each is Low on its own, context rather than a lead: look "
                "again at a member whose host or peer also has a finding above Low (the hunts "
                "that agree on one host, peer and port already share one finding); "
                "--min-risk medium counts Low findings without listing them\n");
    if (fclose(e) != 0)
        hf_oom();
    *evidence = ev;
    return n;
}

void hf_summary(const hf_plan_t *p, const hr_opts_t *o, char *out, size_t cap)
{
    /* per kind: the sentence (findings, threshold, blocks, plural) and its threshold */
    static const char *const say[3] = {
        "%zu Low or Medium findings that %u hosts or more share towards one peer are folded "
        "into %zu block%s",
        "%zu findings of one host, hunt and risk (%u or more a host) are folded into %zu block%s",
        "%zu Low findings of one hunt that no other block holds (%u or more a hunt) are folded "
        "into %zu block%s"};
    const unsigned min[3] = {o->fold_min_hosts, o->fold_min_findings, o->fold_min_low};
    size_t n = 0;
    out[0] = '\0';
    for (int k = HF_PEER; k <= HF_HUNT; k++) {
        if (!p->groups[k] || n >= cap)
            continue;
        if (n)
            n += (size_t)snprintf(out + n, cap - n, "; ");
        if (n < cap)
            n += (size_t)snprintf(out + n, cap - n, say[k], p->in_kind[k], min[k], p->groups[k],
                                  p->groups[k] == 1 ? "" : "s");
    }
    if (n && n < cap)
        snprintf(out + n, cap - n, " (--no-fold prints each)");
}
