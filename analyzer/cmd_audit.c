/* cmd_audit.c: `flowhunt audit verify|list DIR`, the audit trail (analyzer/audit.h) checked and
 * shown.
 *
 * verify answers "can this directory's reports still be trusted?": the chain of entries is
 * intact, and every segment a recorded hunt read is either unchanged or was removed by an
 * expiry recorded later. The first thing that does not match is named (seq, line, segment) with
 * what was expected and what was found; the head hash is printed so it can be kept outside the
 * directory and given back with --head.
 */
#include <getopt.h>
#include <string.h>

#include "audit.h"
#include "cmd.h"

static void audit_usage(FILE *f)
{
    fprintf(f, "usage: flowhunt audit verify DIR [-q] [--head HASH]\n"
               "       flowhunt audit list DIR\n"
               "\n"
               "Every flowhunt hunt run, every flowhunt expire that removed segments and every\n"
               "flowhunt ack or unack appends an entry to DIR/hunt/audit.log, chained by\n"
               "SHA-256 (docs/HUNTING.md, \"Audit trail\").\n"
               "\n"
               "verify checks that each entry follows the one before and hashes to its own\n"
               "hash, and that every segment a hunt read still has the SHA-256 recorded, or was\n"
               "removed by a later recorded expiry (reported as expired). It prints a line per\n"
               "entry and the head hash.\n"
               "  -q, --quiet   print nothing but a failure\n"
               "  --head HASH   a head hash noted earlier: some entry must have it (the log was\n"
               "                not rewritten or cut back since)\n"
               "\n"
               "list prints the entries, tab-separated (the chain is checked, the segments not).\n"
               "\n"
               "Exit status: 0 intact, 1 an entry or segment does not match (the first is\n"
               "named), 2 usage, or the log or a segment could not be read.\n");
}

/* The entries, tab-separated; the chain is checked, the segments are not. */
static int audit_list(const char *dir, au_fail_t *fail)
{
    au_chain_t c;
    int rc = au_chain_load(dir, &c, fail);
    if (rc == 2)
        return rc;
    printf("seq\ttime\tkind\tsegments\tconfig_sha256\treport_sha256\tfindings\texit\thash\t"
           "fingerprint\n");
    for (size_t i = 0; i < c.n; i++) {
        const au_entry_t *e = &c.e[i];
        const char *kind = e->expire ? "expire" : e->ack == 1 ? "ack" : e->ack ? "unack" : "hunt";
        printf("%lld\t%s\t%s\t%zu\t", e->seq, e->time, kind, e->n_segs);
        if (e->ack || e->expire)
            printf("-\t-\t-\t%lld\t%s\t%s\n", e->exit_status, e->hash, e->ack ? e->fp : "-");
        else
            printf("%s\t%s\t%lld\t%lld\t%s\t-\n", e->config, e->report, e->reported,
                   e->exit_status, e->hash);
    }
    au_chain_free(&c);
    return rc;
}

static void audit_print_fail(const char *path, const au_fail_t *f)
{
    fprintf(stderr, "flowhunt audit: %s: FAILED", path);
    if (f->seq)
        fprintf(stderr, " at seq %lld", f->seq);
    if (f->line)
        fprintf(stderr, " (line %ld)", f->line);
    if (f->segment[0])
        fprintf(stderr, ": segment %s", f->segment);
    fprintf(stderr, ": %s\n", f->what);
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                         {"head", required_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *head = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = cmd_getopt("flowhunt audit", argc, argv, ":qh", opts)) != -1) {
        switch (c) {
        case 'q':
            quiet = 1;
            break;
        case 'H':
            head = optarg;
            break;
        case 'h':
            audit_usage(stdout);
            return CMD_OK;
        default:
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    if (optind + 2 != argc ||
        (strcmp(argv[optind], "verify") != 0 && strcmp(argv[optind], "list") != 0)) {
        fprintf(stderr, "flowhunt audit: want verify DIR or list DIR (see --help)\n");
        return CMD_USAGE;
    }
    int list = strcmp(argv[optind], "list") == 0;
    const char *dir = argv[optind + 1];
    if (head && (strlen(head) != AU_HEX_LEN || strspn(head, "0123456789abcdef") != AU_HEX_LEN)) {
        fprintf(stderr, "flowhunt audit: --head takes 64 lower-case hex digits\n");
        return CMD_USAGE;
    }
    if (cmd_data_dir("flowhunt audit", dir) != 0)
        return CMD_USAGE;
    char path[4200];
    snprintf(path, sizeof path, "%s/hunt/%s", dir, AU_LOG_NAME);
    au_fail_t fail;
    if (list) {
        int rc = audit_list(dir, &fail);
        if (rc == 1)
            audit_print_fail(path, &fail);
        return rc;
    }
    au_verify_stats_t st;
    int rc = au_verify(dir, head, quiet, stdout, &fail, &st);
    if (rc == 1)
        audit_print_fail(path, &fail);
    if (rc != 0)
        return rc;
    if (!quiet)
        printf("%s: chain intact: %zu entries (hunt %zu, expire %zu, ack %zu, unack %zu); "
               "segments: %zu ok, %zu expired (%zu files hashed); head %s\n",
               path, st.entries, st.hunts, st.expiries, st.acks, st.unacks, st.seg_ok,
               st.seg_expired, st.files_hashed, st.head);
    return CMD_OK;
}
