/* hunt_fold.c: Low findings that many hosts share, one block in a report a person reads.
 *
 * A large network's day has thousands of Low findings that are one behaviour of many machines:
 * every host's update check against one service, every host's NTP against one server (on the
 * reference day of 5,415 hosts: 5,198 of 5,399 findings, towards five destinations). Printed one
 * by one they bury the few findings that matter under 190,000 lines. So the text report prints
 * the Low findings of one hunt towards one (peer, port, protocol) from at least
 * [general] fold_min_hosts hosts as one block: the highest-ranked member in full, the others
 * counted and named. Nothing is lost: every member keeps its Hunt ID and fingerprint in the
 * state, JSON, CSV and the SIEM formats list each, and --no-fold prints each here too. Only Low
 * is folded: a Medium finding on 500 hosts is 500 things to look at. Allow-listed findings are
 * never folded (they are printed apart, with their reason).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"

static int hf_foldable(const hunt_finding_t *f)
{
    return f->risk == HUNT_RISK_LOW && !f->suppressed && f->peer[0];
}

/* Groups: same hunt, peer, port and protocol; within a group, report order (the index). */
static int hf_cmp_group(const void *pa, const void *pb, void *arg)
{
    const size_t *a = pa, *b = pb;
    hunt_finding_t *const *v = arg;
    const hunt_finding_t *x = v[*a], *y = v[*b];
    int c = strcmp(x->hunt, y->hunt);
    if (!c)
        c = strcmp(x->peer, y->peer);
    if (!c)
        c = (x->port > y->port) - (x->port < y->port);
    if (!c)
        c = (x->proto > y->proto) - (x->proto < y->proto);
    return c ? c : (*a > *b) - (*a < *b);
}

static int hf_same_group(const hunt_finding_t *x, const hunt_finding_t *y)
{
    return strcmp(x->hunt, y->hunt) == 0 && strcmp(x->peer, y->peer) == 0 &&
           x->port == y->port && x->proto == y->proto;
}

void hf_plan(hf_plan_t *p, hunt_finding_t *const *v, size_t n, unsigned min_hosts, int new_only)
{
    memset(p, 0, sizeof *p);
    p->lead = hj_xmalloc((n ? n : 1) * sizeof *p->lead);
    p->members = hj_xmalloc((n ? n : 1) * sizeof *p->members);
    p->first = hj_xmalloc((n ? n : 1) * sizeof *p->first);
    for (size_t i = 0; i < n; i++)
        p->lead[i] = HF_ALONE;
    if (!min_hosts)
        return;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (hf_foldable(v[i]) && (!new_only || v[i]->is_new))
            p->members[m++] = i;
    if (m > 1)
        qsort_r(p->members, m, sizeof *p->members, hf_cmp_group, (void *)v);
    /* keep only the runs of min_hosts or more, each still in report order */
    size_t k = 0;
    for (size_t r = 0; r < m;) {
        size_t e = r + 1;
        while (e < m && hf_same_group(v[p->members[r]], v[p->members[e]]))
            e++;
        if (e - r >= min_hosts) {
            size_t lead = p->members[r];
            p->first[lead] = k;
            for (size_t j = r; j < e; j++) {
                p->lead[p->members[j]] = lead;
                p->members[k++] = p->members[j];
            }
            p->groups++;
            p->folded += e - r;
        }
        r = e;
    }
}

void hf_free(hf_plan_t *p)
{
    free(p->lead);
    free(p->members);
    free(p->first);
    memset(p, 0, sizeof *p);
}

/* The flowhunt cat filter of the group: the peer's side of every member's flows. */
static void hf_filter(const hunt_finding_t *f, char *out, size_t cap)
{
    char pb[8];
    int n = snprintf(out, cap, "%s %s", strchr(f->peer, '/') ? "net" : "host", f->peer);
    if (f->port >= 0 && n > 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, " and port %d", f->port);
    if (n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, " and proto %s", hr_proto_name(f->proto, pb));
}

static void hf_oom(void)
{
    fputs("flowhunt: out of memory (folding the report)\n", stderr);
    exit(2);
}

/* How many hosts are named before "and N more": enough to recognise a pattern (one subnet, one
 * department), few enough to keep the block a screen. */
#define HF_HOSTS_NAMED 16
#define HF_USERS_NAMED 8

size_t hf_describe(hunt_finding_t *const *v, const hf_plan_t *p, size_t lead, const hr_opts_t *o,
                   char id_note[64], char **evidence)
{
    const size_t *mem = p->members + p->first[lead];
    size_t n = 0;
    while (p->first[lead] + n < p->folded && p->lead[mem[n]] == lead)
        n++;
    const hunt_finding_t *f = v[lead];
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
    char *ev = NULL, pb[8], a[32], b[32], filter[600], where[96];
    size_t ev_len = 0;
    FILE *e = open_memstream(&ev, &ev_len);
    if (!e)
        hf_oom();
    hr_iso(first, a);
    hr_iso(last + 1, b);
    hf_filter(f, filter, sizeof filter);
    if (f->port >= 0)
        snprintf(where, sizeof where, "%s:%d/%s", f->peer, f->port, hr_proto_name(f->proto, pb));
    else
        snprintf(where, sizeof where, "%s/%s", f->peer, hr_proto_name(f->proto, pb));
    snprintf(id_note, 64, " (and %zu more, folded)", n - 1);
    fprintf(e,
            "  folded: this block stands for %zu Low %s findings towards %s, one per host; the "
            "highest ranked is shown (--no-fold prints each; --format json lists each)\n",
            n, f->hunt, where);
    fprintf(e, "  folded_hosts:");
    for (size_t i = 0; i < n && i < HF_HOSTS_NAMED; i++) {
        char h[FLOW_ADDR_STRLEN];
        flow_addr_format(&v[mem[i]]->host, h);
        fprintf(e, " %s", h);
    }
    if (n > HF_HOSTS_NAMED)
        fprintf(e, " and %zu more", n - HF_HOSTS_NAMED);
    fputc('\n', e);
    if (n_users) {
        fprintf(e, "  folded_users: %zu known:", n_users);
        size_t named = 0;
        for (size_t i = 0; i < n && named < HF_USERS_NAMED; i++)
            if (v[mem[i]]->user[0]) {
                fprintf(e, " %s", v[mem[i]]->user);
                named++;
            }
        fprintf(e, "%s\n", n_users > named ? " ..." : "");
    }
    fprintf(e, "  folded_ids: %s to %s, in report order\n", v[mem[0]]->hunt_id,
            v[mem[n - 1]]->hunt_id);
    fprintf(e, "  folded_confidence: %zu High, %zu Medium, %zu Low\n", conf[HUNT_CONF_HIGH],
            conf[HUNT_CONF_MEDIUM], conf[HUNT_CONF_LOW]);
    fprintf(e, "  folded_flows: flowhunt cat %s --from %s --to %s '%s'\n", o->dir, a, b, filter);
    fprintf(e,
            "  folded_action: one behaviour of %zu hosts: find the software they share that "
            "keeps it; when it is known and wanted, allow-list the destination "
            "(dst@%s = %s REASON) and it is reported suppressed from then on\n",
            n, f->hunt, f->peer);
    if (fclose(e) != 0)
        hf_oom();
    *evidence = ev;
    return n;
}
