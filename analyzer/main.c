/* main.c: flowhunt's command line: one subcommand per job, dispatched here.
 *
 * flowhunt is the batch analyzer over a data directory the collector (or `flowhunt import`)
 * filled. Each subcommand lives in its own file (analyzer/cmd_NAME.c) with its own options and
 * --help; this file only picks one, so adding a command is a line in the table below.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "hunt.h"
#include "version.h"

typedef struct main_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *what;
} main_cmd_t;

static const main_cmd_t main_cmds[] = {
    {"cat", cmd_cat, "print stored flows (csv, json, table), filtered and windowed"},
    {"top", cmd_top, "top N keys by flows, packets or bytes (nfdump -s, -A)"},
    {"count", cmd_count, "flows, packets and bytes per time bin (SiLK rwcount)"},
    {"conv", cmd_conv, "conversations as the hunts see them: stitched, deduplicated, paired"},
    {"verify", cmd_verify, "check every checksum of every segment"},
    {"expire", cmd_expire, "delete the oldest segments past an age or a size (nfexpire)"},
    {"import", cmd_import, "store flows from nfdump CSV or Zeek conn.log files"},
    {"exporters", cmd_exporters, "what each exporter sent, lost and broke (from segment footers)"},
    {"hunt", cmd_hunt, "nine hunts (beacons, scans, DNS exfiltration, ...); print findings"},
    {"ack", cmd_ack, "acknowledge a finding by its fingerprint, so later hunts omit it"},
    {"acks", cmd_acks, "list acknowledged findings"},
    {"unack", cmd_unack, "take an acknowledgement back: later hunts report the finding again"},
    {"audit", cmd_audit, "verify the hash-chained audit log of hunts and expiries"},
};
#define MAIN_N_CMDS (sizeof main_cmds / sizeof main_cmds[0])

static void main_usage(FILE *f)
{
    fprintf(f, "usage: flowhunt COMMAND [ARGS]   (flowhunt COMMAND --help for each)\n"
               "       flowhunt --version | --help\n"
               "\n"
               "The threat-hunting analyzer over the flows stored in a data directory.\n"
               "\n");
    for (size_t i = 0; i < MAIN_N_CMDS; i++)
        fprintf(f, "  %-9s %s\n", main_cmds[i].name, main_cmds[i].what);
    fprintf(f, "\n"
               "Times are ISO 8601 UTC (2024-03-01T12:00:00Z, 2024-03-01; 2024-03-01T24:00 is\n"
               "the end of that day), relative to now (-24h, -7d, -30m), now, or @UNIXSECONDS.\n"
               "On a terminal, long commands show progress on stderr; in a pipe they print only\n"
               "results.\n"
               "\n"
               "Exit status: 0 success, 1 findings reported (hunt) or problems found (verify,\n"
               "import, audit, expire, unack: each command's --help says which), 2 usage or\n"
               "could not run.\n");
}

/* Output that never reached its destination (a full disk, a file system gone) is a failure
 * whatever the command decided: checked once here for every command, as coreutils'
 * close_stdout does, so a listing (acks, audit verify's head hash, --print-config) cannot
 * exit 0 having written nothing. */
static int main_flush(const char *cmd, int rc)
{
    errno = 0;
    int flush_failed = fflush(stdout) != 0;
    int e = errno;
    if ((!flush_failed && !ferror(stdout)) || rc == CMD_USAGE)
        return rc; /* a command that failed said why */
    fprintf(stderr, "flowhunt%s%s: writing the output: %s\n", cmd ? " " : "", cmd ? cmd : "",
            flush_failed && e ? strerror(e) : "a write failed");
    return CMD_USAGE;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("flowhunt %s\n", FH_VERSION);
        return main_flush(NULL, CMD_OK);
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        main_usage(stdout);
        return main_flush(NULL, CMD_OK);
    }
    if (argc < 2) {
        main_usage(stderr);
        return CMD_USAGE;
    }
    for (size_t i = 0; i < MAIN_N_CMDS; i++)
        if (strcmp(argv[1], main_cmds[i].name) == 0)
            return main_flush(argv[1], main_cmds[i].fn(argc - 1, argv + 1));
    fprintf(stderr, "flowhunt: unknown command '%s' (see flowhunt --help)\n", argv[1]);
    return CMD_USAGE;
}
