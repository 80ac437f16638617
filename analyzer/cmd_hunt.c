/* cmd_hunt.c: `flowhunt hunt`, the scheduled batch hunt, and `flowhunt ack` / `acks`.
 *
 * hunt reads the configuration (defaults, then --config, then the command line), finds the
 * window's extent from the segment headers alone, runs preparation once for all the chosen
 * hunts, and hands their findings to the report. Exit status is what a scheduler needs: 0 the
 * hunt ran and found nothing, 1 it ran and reported findings (allow-listed, acknowledged and,
 * with --new-only, already reported ones do not count), 2 it could not run.
 *
 * ack records that an analyst has dealt with a finding, by its fingerprint, so later runs leave
 * it out; acks lists what was acknowledged, when and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "audit.h"
#include "cmd.h"
#include "enrich.h"
#include "filter.h"
#include "hunt.h"
#include "intel.h"
#include "timearg.h"

/* -o FILE: the report is written to FILE.tmp.PID beside it and renamed over FILE once whole
 * (afile.h, AF_REPORT). Opening FILE itself truncated the last report before the hunt ran, so
 * a run that then failed (exit 2: a damaged ids.tsv, an unreadable segment) left an empty file
 * where a SIEM or a web share expected the last findings, and a reader saw half a report while
 * it ran. A FILE that exists and is not a regular file (a FIFO, /dev/stdout, a symlink), or
 * whose folder does not let us create the temporary file, is written in place as before. */

/* Every hunt, in the order that breaks ties between hunts agreeing on one finding. */
const hunt_ops_t *const hunt_all[] = {&hi_ops, &hd_ops, &hm_ops, &hb_ops, &ho_ops,
                                      &hn_ops, &hl_ops, &hs_ops, &hq_ops};
const int hunt_n_all = (int)(sizeof hunt_all / sizeof hunt_all[0]);

static void hunt_usage(FILE *f)
{
    fprintf(f, "usage: flowhunt hunt DIR [--from T] [--to T] [--now T] [--hunts LIST]\n"
               "                    [--format text|json|csv|ecs|ocsf|html]\n"
               "                    [--config FILE] [-o FILE] [--internal CIDR,...]\n"
               "                    [--resolvers ADDR,...] [--allow FILE] [--intel FILE]...\n"
               "                    [--geoip FILE.mmdb] [--asn FILE.mmdb] [--users FILE]\n"
               "                    [--new-only] [--min-risk LEVEL] [--no-state]\n"
               "                    [--no-cache] [--no-fold] [--print-config]\n"
               "                    [-f FILE] [FILTER]\n"
               "\n"
               "Hunts the flows of data directory DIR in the window [--from, --to) for C2\n"
               "beaconing (T1071, T1571), scan fan-out (T1046), DNS exfiltration (T1048.003,\n"
               "T1071.004), non-standard ports (T1571), non-application-layer protocols (T1095),\n"
               "long connections, rare and first-seen destinations, cryptominers (T1496) and\n"
               "threat-intel matches, and prints the findings: Hunt ID, Technique, Host, User,\n"
               "Evidence (with a flowhunt cat command showing the flows), Risk Level,\n"
               "Confidence and Recommended Action. docs/HUNTING.md says how each hunt decides.\n"
               "\n"
               "  --from T, --to T  the window (ISO 8601, UTC unless it gives an offset, or\n"
               "                    relative to --now: -24h, -7d); default: every stored flow\n"
               "  --now T           the clock relative times and first-reported dates use\n"
               "                    (default: the wall clock); same data, state and --now give\n"
               "                    the same report byte for byte\n"
               "  --hunts LIST      which hunts to run (default all: intel, dns-exfil, miner,\n"
               "                    beacon, non-app, nonstd-port, long-conn, scan, rare)\n"
               "  --format FMT      text (default), json (one object a line), csv, ecs (Elastic\n"
               "                    Common Schema), ocsf (OCSF Detection Finding), html (one\n"
               "                    self-contained page)\n"
               "  --config FILE     INI settings (see --print-config for every key and default)\n"
               "  -o FILE           write the report to FILE instead of stdout (written\n"
               "                    beside it and renamed over it once whole: a run that\n"
               "                    fails leaves the last report as it was)\n"
               "  --internal LIST   internal networks (default RFC 1918 and fc00::/7)\n"
               "  --resolvers LIST  approved DNS resolvers (default none)\n"
               "  --allow FILE      allow-list lines: host|dst|port[@HUNT] = VALUE REASON\n"
               "  --intel FILE      a threat-intel feed (repeatable): IP/CIDR list, CSV, Zeek\n"
               "                    Intel, MISP JSON or STIX 2.1\n"
               "  --geoip FILE      a GeoIP2/GeoLite2 City or Country database (.mmdb)\n"
               "  --asn FILE        a GeoLite2/GeoIP2 ASN database (.mmdb)\n"
               "  --users FILE      CSV start,end,address,user,hostname (DHCP leases, ISO 8601)\n"
               "                    (these four: default [general] intel, geoip, asn, users)\n"
               "  --new-only        report only findings no earlier run reported\n"
               "  --min-risk LEVEL  report only findings of this risk or higher (low, medium,\n"
               "                    high, critical; default [general] min_risk, Low); the\n"
               "                    others are counted in the text header\n"
               "  --no-state        do not record the IDs given in DIR/hunt/ids.tsv (new\n"
               "                    findings say id_recorded false: a later run may give\n"
               "                    their IDs to others), and\n"
               "                    neither use nor keep prepared hours (implies --no-cache)\n"
               "  --no-cache        prepare every hour from the segments; keep none\n"
               "  --no-fold         text and HTML: print each finding apart (default: the\n"
               "                    Low and Medium findings of 10 or more hosts towards one\n"
               "                    peer and port are one block, so are 10 or more of one host,\n"
               "                    hunt and risk, then 50 or more Low ones of a hunt:\n"
               "                    [general] fold_min_hosts, fold_min_findings, fold_min_low)\n"
               "  --print-config    print the effective configuration and exit\n"
               "  -f FILE, FILTER   hunt only the flows they select (as for flowhunt cat:\n"
               "                    'not net 10.9.0.0/16' leaves a guest network out): name both\n"
               "                    directions (net, host; not src net alone, which keeps the\n"
               "                    answers and drops the requests, so the answers look\n"
               "                    unanswered); prevalence and scores see only those flows; no\n"
               "                    hour is cached and the rare hunt's baseline is left as it\n"
               "                    was (a part of the traffic would teach it what the rest did\n"
               "                    not do); default: [general] filter and filter_file\n"
               "\n"
               "State: DIR/hunt/ids.tsv keeps each fingerprint's Hunt ID, DIR/hunt/acks.tsv the\n"
               "acknowledged ones (flowhunt ack DIR FINGERPRINT --reason TEXT). Each run that\n"
               "reports is recorded in DIR/hunt/audit.log (flowhunt audit verify DIR).\n"
               "DIR/hunt/cache keeps whole hours of prepared conversations, so a scheduled\n"
               "hunt prepares only hours whose segments changed; the report is the same.\n"
               "\n"
               "Exit status: 0 nothing found, 1 findings reported, 2 could not run.\n");
}

static int hunt_bad(const char *what)
{
    fprintf(stderr, "flowhunt hunt: %s (see flowhunt hunt --help)\n", what);
    return CMD_USAGE;
}

int cmd_hunt(int argc, char **argv)
{
    static const struct option opts[] = {CMD_READ_LONGOPTS,
                                         {"now", required_argument, NULL, 'N'},
                                         {"hunts", required_argument, NULL, 'H'},
                                         {"format", required_argument, NULL, 'F'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"internal", required_argument, NULL, 'i'},
                                         {"resolvers", required_argument, NULL, 'r'},
                                         {"allow", required_argument, NULL, 'a'},
                                         {"new-only", no_argument, NULL, 'n'},
                                         {"no-state", no_argument, NULL, 's'},
                                         {"print-config", no_argument, NULL, 'P'},
                                         {"intel", required_argument, NULL, 'I'},
                                         CMD_CTX_LONGOPTS,
                                         {"users", required_argument, NULL, 'U'},
                                         {"min-risk", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"no-cache", no_argument, NULL, 'C'},
                                         {"no-fold", no_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    const char *intel_paths[CMD_MAX_INTEL];
    int n_intel = 0;
    cmd_ctx_args_t xa = {0};
    const char *users = NULL;
    cmd_read_args_t ra = {0};
    const char *now_arg = NULL, *hunts_arg = NULL;
    flt_t *flt = NULL;
    char *filter_desc = NULL, *filter_words = NULL;
    const char *config = NULL, *internal = NULL, *resolvers = NULL, *allow = NULL, *out_path = NULL;
    int format = HR_FMT_TEXT, new_only = 0, write_state = 1, print_config = 0, min_risk = 0;
    int use_cache = 1, no_fold = 0;
    int c;
    /* Blocks of 128 KiB and more from mmap and back to the kernel when freed, always: glibc's
     * dynamic threshold rises to the largest block freed (up to 32 MiB), after which blocks
     * below it come from the threads' arenas, where preparation's freed temporaries stay as
     * holes. Peak memory 8 % lower (20 M flows, beacon: 1.105 -> 1.015 GB; the 2 M-flow day,
     * every hunt: 548-559 -> 499-520 MB), time within the noise. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* Below that, what a pass frees stays with the process for the next to reuse: glibc keeps
     * M_TOP_PAD (128 KiB by default) at the top of an arena when it trims, and hands a
     * thread's wholly free sub-heap back to the kernel, so each pass faulted the same memory
     * in again (about 12 us a fault on this virtual machine). 64 MiB: the 2 M-flow day, every
     * hunt, 23 hours without the hour cache (--no-state), perf stat -r 6: 68,400 -> 29,700 page
     * faults, 4.54 -> 3.40 s of CPU, 2.85 -> 2.11 s wall; peak RSS 464 -> 476 MB (128 MiB: 17,600
     * faults, 1.78 s, but 528 MB). On the bench's store of the same day (the daemon's two
     * segments), two alternating runs each: 78,200-79,000 -> 25,500-26,100 faults, but peak RSS
     * 504 -> 540-555 MB, most of what the threshold above had saved. */
    mallopt(M_TOP_PAD, 64 << 20);
    optind = 1;
    while ((c = cmd_getopt("flowhunt hunt", argc, argv, ":o:hf:", opts)) != -1) {
        switch (c) {
        case 'N':
            now_arg = optarg;
            break;
        case 'H':
            hunts_arg = optarg;
            break;
        case 'F': {
            /* in HR_FMT_* order */
            static const char *const fmts[] = {"text", "json", "csv", "ecs", "ocsf", "html"};
            if ((format = cmd_choice("flowhunt hunt", "--format", optarg, fmts, 6)) < 0)
                return CMD_USAGE;
            break;
        }
        case 'I':
            if (n_intel == CMD_MAX_INTEL)
                return hunt_bad("at most 32 --intel feeds");
            intel_paths[n_intel++] = optarg;
            break;
        case 'U':
            users = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'i':
            internal = optarg;
            break;
        case 'r':
            resolvers = optarg;
            break;
        case 'a':
            allow = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'n':
            new_only = 1;
            break;
        case 'R':
            for (int r = HUNT_RISK_LOW; r <= HUNT_RISK_CRITICAL; r++)
                if (strcasecmp(optarg, hr_risk_name(r)) == 0)
                    min_risk = r;
            if (!min_risk)
                return hunt_bad("--min-risk wants low, medium, high or critical");
            break;
        case 's':
            write_state = 0;
            break;
        case 'C':
            use_cache = 0;
            break;
        case 'D':
            no_fold = 1;
            break;
        case 'P':
            print_config = 1;
            break;
        case 'h':
            hunt_usage(stdout);
            return CMD_OK;
        default:
            if (cmd_read_opt(c, optarg, &ra) || cmd_ctx_opt(c, optarg, &xa))
                break;
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }

    hunt_config_t cfg;
    hc_defaults(&cfg);
    char err[512];
    int status = CMD_USAGE;
    hunt_findings_t findings = {0};
    hp_state_t *prep = NULL;
    void *st[sizeof hunt_all / sizeof hunt_all[0]] = {NULL};
    const hunt_ops_t *ops[sizeof hunt_all / sizeof hunt_all[0]];
    int n_hunts = 0;
    FILE *out = stdout;
    af_file_t out_file = {0};
    au_tee_t tee = {0}; /* the report passes through it to be hashed (audit.h) */
    ti_db_t *intel = NULL;
    en_ctx_t *enrich = NULL;

    if ((config && hc_load(&cfg, config, err, sizeof err) != 0) ||
        (internal &&
         hc_set_nets(&cfg.internal, &cfg.n_internal, internal, 0, err, sizeof err) != 0) ||
        (resolvers &&
         hc_set_nets(&cfg.resolvers, &cfg.n_resolvers, resolvers, 0, err, sizeof err) != 0) ||
        (allow && hc_load_allow(&cfg, allow, err, sizeof err) != 0)) {
        fprintf(stderr, "flowhunt hunt: %s\n", err);
        goto done;
    }
    /* Every hunt judges internal hosts: with none, a run finds nothing and exits 0, which a
     * scheduler reads as a clean network (as --hunts '' would). */
    if (cfg.n_internal == 0) {
        fprintf(stderr, "flowhunt hunt: no internal networks (--internal or [general] internal "
                        "lists none)\n");
        goto done;
    }
    if (min_risk)
        cfg.min_risk = min_risk; /* the command line over the file */
    if (no_fold)
        cfg.fold_min_hosts = cfg.fold_min_findings = cfg.fold_min_low = 0;
    /* context files: an option replaces its key of the file (and --print-config shows it) */
    const char *const ctx_opt[3] = {xa.geoip, xa.asn, users};
    static const char *const ctx_name[3] = {"--geoip", "--asn", "--users"};
    char *const ctx_key[3] = {cfg.ctx_geoip, cfg.ctx_asn, cfg.ctx_users};
    for (int i = 0; i < 3; i++) {
        if (ctx_opt[i] && strlen(ctx_opt[i]) >= sizeof cfg.ctx_geoip) {
            fprintf(stderr, "flowhunt hunt: %s: longer than %zu characters\n", ctx_name[i],
                    sizeof cfg.ctx_geoip - 1);
            goto done;
        }
        if (ctx_opt[i])
            snprintf(ctx_key[i], sizeof cfg.ctx_geoip, "%s", ctx_opt[i]);
    }
    const char *geoip = cfg.ctx_geoip[0] ? cfg.ctx_geoip : NULL;
    const char *asn = cfg.ctx_asn[0] ? cfg.ctx_asn : NULL;
    users = cfg.ctx_users[0] ? cfg.ctx_users : NULL;
    if (n_intel) {
        cfg.ctx_intel[0] = '\0';
        for (int i = 0; i < n_intel; i++)
            snprintf(cfg.ctx_intel + strlen(cfg.ctx_intel),
                     sizeof cfg.ctx_intel - strlen(cfg.ctx_intel), "%s%s", i ? "," : "",
                     intel_paths[i]);
    }
    /* a filter on the command line (words after DIR, -f) replaces the file's filter and
     * filter_file: in the configuration too, so --print-config and the audit's hash of it
     * show the filter the run hunts with */
    if (optind + 1 < argc || ra.filter_file) {
        char *words = optind + 1 < argc ? flt_join(argc - optind - 1, argv + optind + 1) : NULL;
        int fits = (!words || strlen(words) < sizeof cfg.filter) &&
                   (!ra.filter_file || strlen(ra.filter_file) < sizeof cfg.filter_file);
        snprintf(cfg.filter, sizeof cfg.filter, "%s", fits && words ? words : "");
        snprintf(cfg.filter_file, sizeof cfg.filter_file, "%s",
                 fits && ra.filter_file ? ra.filter_file : "");
        free(words);
        if (!fits && print_config) /* the run itself takes it from argv, whatever its length */
            fprintf(stderr,
                    "flowhunt hunt: the command line's filter is longer than %zu "
                    "characters: not printed\n",
                    sizeof cfg.filter - 1);
    }
    if (print_config) {
        hc_print(&cfg, stdout);
        status = CMD_OK;
        goto done;
    }
    if (optind >= argc) {
        status = hunt_bad("DIR is required");
        goto done;
    }
    const char *dir = argv[optind];
    if (cmd_data_dir("flowhunt hunt", dir) != 0)
        goto done;
    /* the filter: the command line's words and -f, or when it has neither the
     * configuration's [general] filter and filter_file */
    char *cfg_words[1] = {cfg.filter};
    int from_cfg = optind + 1 >= argc && !ra.filter_file;
    int w_argc = from_cfg ? (cfg.filter[0] ? 1 : 0) : argc, w_first = from_cfg ? 0 : optind + 1;
    char **w_argv = from_cfg ? cfg_words : argv;
    if (from_cfg && cfg.filter_file[0])
        ra.filter_file = cfg.filter_file;
    if (w_first < w_argc || ra.filter_file) {
        if (cmd_filter("flowhunt hunt", w_argc, w_argv, w_first, ra.filter_file, &flt) != 0)
            goto done;
        char *words = filter_words = flt_join(w_argc - w_first, w_argv + w_first);
        size_t cap =
            (words ? strlen(words) : 0) + (ra.filter_file ? strlen(ra.filter_file) : 0) + 64;
        filter_desc = hj_xmalloc(cap);
        snprintf(filter_desc, cap, "%s%s%s%s%s%s%s", ra.filter_file ? "-f " : "",
                 ra.filter_file ? ra.filter_file : "", ra.filter_file && words && *words ? " " : "",
                 words && *words ? "'" : "", words ? words : "", words && *words ? "'" : "",
                 from_cfg ? " (the configuration's [general] filter)" : "");
    }
    /* the hunts */
    int want[sizeof hunt_all / sizeof hunt_all[0]] = {0};
    /* at least one name: an empty list (--hunts "$UNSET") would run nothing and exit 0,
     * which a scheduler reads as a clean network */
    for (const char *p = hunts_arg; p;) {
        size_t len = strcspn(p, ",");
        int ok = 0;
        for (int i = 0; i < hunt_n_all; i++)
            if (strlen(hunt_all[i]->name) == len && strncmp(p, hunt_all[i]->name, len) == 0)
                ok = want[i] = 1;
        if (!ok) {
            /* the names from the list itself, so a new hunt cannot be missing here */
            char names[256] = "";
            for (int i = 0; i < hunt_n_all; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         i == 0 ? "" : i + 1 == hunt_n_all ? " and " : ", ", hunt_all[i]->name);
            fprintf(stderr, "flowhunt hunt: --hunts names %s (see flowhunt hunt --help)\n", names);
            status = CMD_USAGE;
            goto done;
        }
        p += len;
        p = *p == ',' && p[1] ? p + 1 : NULL;
    }
    for (int i = 0; i < hunt_n_all; i++)
        if (want[i] || !hunts_arg)
            ops[n_hunts++] = hunt_all[i];
    /* the file's feeds, when the command line named none */
    int intel_from_cli = n_intel > 0;
    char *save = NULL;
    for (char *t = n_intel ? NULL : strtok_r(cfg.ctx_intel, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t len = strlen(t);
        while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            t[--len] = '\0';
        if (!*t)
            continue;
        if (n_intel == CMD_MAX_INTEL) {
            status = hunt_bad("at most 32 intel feeds ([general] intel)");
            goto done;
        }
        intel_paths[n_intel++] = t;
    }
    /* feeds and databases: a bad one is a clear error before any flow is read */
    if (n_intel) {
        intel = ti_new();
        for (int i = 0; i < n_intel; i++)
            if (ti_load(intel, intel_paths[i], stderr, err, sizeof err) < 0) {
                fprintf(stderr, "flowhunt hunt: %s\n", err);
                goto done;
            }
    }
    if ((geoip || asn || users) && !(enrich = en_open(geoip, asn, users, err, sizeof err))) {
        fprintf(stderr, "flowhunt hunt: %s\n", err);
        goto done;
    }
    en_set_internal(enrich, &cfg); /* internal peers get no GeoIP/ASN context */

    /* one clock reading for every relative time */
    uint64_t now = cmd_now_ms();
    uint64_t from = 0, to = UINT64_MAX;
    static const char *const time_opts[] = {"--now", "--from", "--to"};
    const char *time_args[] = {now_arg, ra.from, ra.to};
    uint64_t *time_out[] = {&now, &from, &to};
    int bad = -1;
    for (int i = 0; i < 3 && bad < 0; i++) /* --now first: the others count from it */
        if (time_args[i] && (i == 0 ? timearg_parse(time_args[i], now, time_out[i])
                                    : timearg_parse_bound(time_args[i], now, time_out[i])) != 0)
            bad = i;
    if (bad >= 0) {
        fprintf(stderr, "flowhunt hunt: %s '%s' is not a time (" TIMEARG_FORMS ")\n",
                time_opts[bad], time_args[bad]);
        status = CMD_USAGE;
        goto done;
    }
    if (from >= to) {
        status = hunt_bad("the window is empty: --from must be before --to");
        goto done;
    }
    int workers = cfg.workers > 0 ? (int)cfg.workers : cmd_workers();
    uint64_t first, last;
    if (hp_extent(dir, from, to, workers, &first, &last) != 0)
        goto done;
    uint64_t win_from = ra.from ? from : first, win_to = ra.to ? to : last + 1;
    uint64_t end_ms = ra.to ? to : last;
    /* Without --to the window (and the Hunt IDs' date) ends at the newest flow: one exporter
     * whose clock runs a year ahead moves it there (a scheduled --from -8h then hunted a year,
     * and dated its IDs by it). Said, since only the operator can tell a clock from data. */
    if (!ra.to && last > now + 3600000) {
        char l_iso[TIMEARG_ISOLEN], n_iso[TIMEARG_ISOLEN];
        timearg_format_iso(last, l_iso);
        timearg_format_iso(now, n_iso);
        fprintf(stderr,
                "flowhunt hunt: warning: the newest flow ends %s, after --now (%s): an exporter's "
                "clock ahead? Without --to the window and the Hunt IDs' date run to it; --to now "
                "ends them at the clock\n",
                l_iso, n_iso);
    }

    if (out_path) {
        out = af_open(&out_file, out_path, NULL, AF_SYNC | AF_REPORT);
        if (!out) {
            fprintf(stderr, "flowhunt hunt: %s: %s\n", out_path, strerror(errno));
            out = stdout;
            goto done;
        }
    }
    hp_stats_t stats;
    memset(&stats, 0, sizeof stats);
    prep = hp_create(&cfg);
    hunt_ctx_t ctx = {.cfg = &cfg,
                      .from_ms = win_from,
                      .to_ms = win_to,
                      .prep = &stats,
                      .prevalence = hp_prevalence,
                      .prep_state = prep,
                      .dir = dir,
                      .intel = intel,
                      .enrich = enrich,
                      .now_ms = now,
                      /* a filtered run's view is partial: no baseline learns from it */
                      .write_state = write_state && !flt};
    for (int i = 0; i < n_hunts; i++)
        st[i] = ops[i]->create(&ctx);
    if (first || last) {
        hp_run_t run = {.dir = dir,
                        .prog = "flowhunt hunt",
                        .from_ms = from,
                        .to_ms = to,
                        .cfg = &cfg,
                        .ops = ops,
                        .st = st,
                        .n = n_hunts,
                        .progress = 1,
                        .cache = use_cache && write_state && !flt,
                        .flt = flt};
        if (hp_run(prep, &run, &stats) != 0)
            goto done;
        /* Every hunt judges internal hosts: flows with none are a configuration to fix (a
         * store of public addresses hunted with the RFC 1918 default), not a clean bill. */
        if (stats.rows && !stats.internal_hosts) {
            fprintf(stderr,
                    "flowhunt hunt: warning: none of the %" PRIu64 " flows comes from an internal "
                    "host (internal = ",
                    stats.rows);
            hc_print_net_list(stderr, cfg.internal, cfg.n_internal);
            fprintf(stderr, "), and the hunts judge internal hosts only: set --internal (or "
                            "[general] internal) to the networks of the hosts to hunt\n");
        }
        for (int i = 0; i < n_hunts; i++)
            ops[i]->finish(st[i], &findings);
    }
    hr_opts_t ro = {.dir = dir,
                    .format = format,
                    .new_only = new_only,
                    .min_risk = (int)cfg.min_risk,
                    .fold_min_hosts = (unsigned)cfg.fold_min_hosts,
                    .fold_min_findings = (unsigned)cfg.fold_min_findings,
                    .fold_min_low = (unsigned)cfg.fold_min_low,
                    .write_state = write_state,
                    .now_ms = now,
                    .from_ms = win_from,
                    .to_ms = win_to,
                    .end_ms = end_ms,
                    .given_from = ra.from != NULL,
                    .given_to = ra.to != NULL,
                    .prep = &stats,
                    .config_source = cfg.source,
                    .config_file = hc_prep_changed(&cfg) ? config : NULL,
                    .enrich = enrich,
                    .cfg = &cfg,
                    .filter = filter_desc,
                    .filter_file = ra.filter_file,
                    .filter_words = filter_words};
    FILE *rep = au_tee_open(&tee, out);
    if (!rep) {
        fprintf(stderr, "flowhunt hunt: out of memory\n");
        goto done;
    }
    int reported = hr_report(&findings, &ro, rep);
    if (reported < 0)
        goto done;
    if (au_tee_flush(&tee) != 0 || fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "flowhunt hunt: writing the report: %s\n", strerror(errno));
        goto done;
    }
    if (out != stdout) {
        /* the report is out before the audit records it (a log that cannot record exits 2
         * with the report written, as with stdout) */
        out = stdout;
        tee.under = stdout; /* flushed above: nothing more reaches the closed file */
        if (af_commit(&out_file) != 0) {
            fprintf(stderr, "flowhunt hunt: %s: %s\n", out_path, strerror(errno));
            goto done;
        }
    }
    status = reported > 0 ? CMD_PROBLEMS : CMD_OK;
    /* the audit trail: a report that went out is on record, or the run did not succeed */
    /* every file the run read, named as the command line or the file named it: an audit
     * that took them from argv missed a scheduled run's [general] files and --geo for
     * --geoip */
    au_input_t inputs[7 + CMD_MAX_INTEL];
    int n_in = 0;
    const struct {
        const char *cli, *cfg, *path;
        int from_cli;
    } in[] = {{"--config", NULL, config, 1},
              {"--allow", NULL, allow, 1},
              {"--geoip", "[general] geoip", geoip, xa.geoip != NULL},
              {"--asn", "[general] asn", asn, xa.asn != NULL},
              {"--users", "[general] users", users, ctx_opt[2] != NULL},
              {"-f", "[general] filter_file", ra.filter_file, !from_cfg},
              {NULL, "[miner] pools", cfg.m_pool_file[0] ? cfg.m_pool_file : NULL, 0}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        if (in[i].path)
            inputs[n_in++] = (au_input_t){in[i].from_cli ? in[i].cli : in[i].cfg, in[i].path};
    for (int i = 0; i < n_intel; i++)
        inputs[n_in++] =
            (au_input_t){intel_from_cli ? "--intel" : "[general] intel", intel_paths[i]};
    au_hunt_t audit = {.dir = dir,
                       .argc = argc,
                       .argv = argv,
                       .inputs = inputs,
                       .n_inputs = n_in,
                       .cfg = &cfg,
                       .now_ms = now,
                       .from_ms = from,
                       .to_ms = to,
                       .reported = reported,
                       .status = status};
    if (au_record_hunt(&audit, &tee) != 0)
        status = CMD_USAGE;
done:
    au_tee_close(&tee);
    for (int i = 0; i < n_hunts; i++)
        if (st[i])
            ops[i]->destroy(st[i]);
    hp_destroy(prep);
    hunt_findings_free(&findings);
    ti_free(intel);
    en_close(enrich);
    hc_free(&cfg);
    flt_free(flt);
    free(filter_desc);
    free(filter_words);
    af_abort(&out_file); /* still open: the run failed before its report was whole */
    return status;
}

/* The audit log could not record an ack or unack: acks.tsv goes back to what it was, so no
 * finding is hidden (or shown again) by a change the log does not hold. */
static int hunt_ack_undo(const char *prog, const char *dir, hr_acks_snap_t *before)
{
    if (hr_acks_restore(dir, before) == 0)
        fprintf(stderr, "%s: not done: the audit log could not record it\n", prog);
    else
        fprintf(stderr,
                "%s: the audit log could not record it, and %s/hunt/acks.tsv could not be put "
                "back (%s): the change stands unrecorded\n",
                prog, dir, strerror(errno));
    return CMD_USAGE;
}

/* An ack (reason not NULL) or an unack of fp, and its audit entry (argv from the command's
 * name on, as a hunt's entry has it), under the state lock: the rewrite of acks.tsv reads
 * the file first, so two acks at once (a bulk ack through xargs -P) would each write back a
 * file without the other's, and an undo would put back a file that misses the other's
 * change. The command's exit status. */
static int hunt_ack_change(const char *prog, const char *dir, const char *fp, const char *reason,
                           uint64_t now, uint64_t until, int argc, char **argv)
{
    int lock = hr_state_lock(dir);
    if (lock < 0) {
        fprintf(stderr, "%s: %s/hunt/state.lock: %s\n", prog, dir, strerror(errno));
        return CMD_USAGE;
    }
    hr_acks_snap_t before;
    int rc = hr_acks_snapshot(dir, &before);
    if (rc == 0)
        rc = reason ? hr_ack_add(dir, fp, now, until, reason) : hr_ack_remove(dir, fp);
    int status = CMD_OK;
    if (rc < 0) {
        fprintf(stderr, "%s: %s/hunt/acks.tsv: %s\n", prog, dir, strerror(errno));
        hr_acks_snap_free(&before);
        status = CMD_USAGE;
    } else if (!reason && rc == 0) {
        fprintf(stderr, "%s: %s was not acknowledged (flowhunt acks %s lists them)\n", prog, fp,
                dir);
        hr_acks_snap_free(&before);
        status = CMD_PROBLEMS;
    } else if (au_record_ack(dir, argc, argv, now, fp, reason, until, CMD_OK) != 0) {
        status = hunt_ack_undo(prog, dir, &before);
    } else {
        hr_acks_snap_free(&before);
    }
    hr_state_unlock(lock);
    return status;
}

int cmd_ack(int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"now", required_argument, NULL, 'N'},
                                         {"for", required_argument, NULL, 'f'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *reason = NULL, *now_arg = NULL, *for_arg = NULL, *until_arg = NULL;
    int c;
    optind = 1;
    while ((c = cmd_getopt("flowhunt ack", argc, argv, ":h", opts)) != -1) {
        if (c == 'r')
            reason = optarg;
        else if (c == 'N')
            now_arg = optarg;
        else if (c == 'f')
            for_arg = optarg;
        else if (c == 'u')
            until_arg = optarg;
        else if (c == 'h') {
            printf("usage: flowhunt ack DIR FINGERPRINT --reason TEXT [--for D | --until T]\n"
                   "                    [--now T]\n"
                   "\n"
                   "Acknowledges a finding: later hunts leave out the finding with this\n"
                   "fingerprint (16 hex digits, from the report). With --for (30d, 12h) or\n"
                   "--until (a time), only hunts whose --now is before then: after it the\n"
                   "finding is reported again, its evidence naming the acknowledgement.\n"
                   "flowhunt acks DIR lists them; flowhunt unack DIR FINGERPRINT takes one back.\n"
                   "\nExit status: 0 recorded, 2 usage or could not write.\n");
            return CMD_OK;
        } else
            return CMD_USAGE; /* cmd_getopt said why */
    }
    if (optind + 2 != argc || !reason || !*reason) {
        fprintf(stderr, "flowhunt ack: want DIR FINGERPRINT --reason TEXT\n");
        return CMD_USAGE;
    }
    const char *dir = argv[optind], *fp = argv[optind + 1];
    if (!hr_is_fingerprint(fp)) {
        fprintf(stderr, "flowhunt ack: '%s' is not a fingerprint (16 lower-case hex digits)\n", fp);
        return CMD_USAGE;
    }
    if (strlen(reason) > HR_ACK_REASON_MAX) {
        fprintf(stderr, "flowhunt ack: --reason is %zu bytes; at most %d\n", strlen(reason),
                HR_ACK_REASON_MAX);
        return CMD_USAGE;
    }
    if (for_arg && until_arg) {
        fprintf(stderr, "flowhunt ack: --for and --until are one choice\n");
        return CMD_USAGE;
    }
    if (cmd_data_dir("flowhunt ack", dir) != 0)
        return CMD_USAGE;
    uint64_t now = cmd_now_ms(), until = 0, span;
    if (now_arg && timearg_parse(now_arg, now, &now) != 0) {
        fprintf(stderr, "flowhunt ack: --now is not a time\n");
        return CMD_USAGE;
    }
    if (for_arg) {
        if (timearg_duration(for_arg, &span) != 0 || span == 0) {
            fprintf(stderr, "flowhunt ack: --for '%s' is not a duration (30d, 12h)\n", for_arg);
            return CMD_USAGE;
        }
        until = now + span;
    }
    if (until_arg && (timearg_parse(until_arg, now, &until) != 0 || until <= now)) {
        fprintf(stderr, "flowhunt ack: --until '%s' is not a time after now\n", until_arg);
        return CMD_USAGE;
    }
    return hunt_ack_change("flowhunt ack", dir, fp, reason, now, until, argc, argv);
}

int cmd_unack(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: flowhunt unack DIR FINGERPRINT\n\nTakes back an acknowledgement "
               "(flowhunt ack): later hunts report the finding again.\n"
               "\nExit status: 0 removed, 1 the fingerprint was not acknowledged, 2 usage or "
               "could not write.\n");
        return CMD_OK;
    }
    if (argc != 3) {
        fprintf(stderr, "flowhunt unack: want DIR FINGERPRINT\n");
        return CMD_USAGE;
    }
    if (!hr_is_fingerprint(argv[2])) {
        fprintf(stderr, "flowhunt unack: '%s' is not a fingerprint (16 lower-case hex digits)\n",
                argv[2]);
        return CMD_USAGE;
    }
    if (cmd_data_dir("flowhunt unack", argv[1]) != 0)
        return CMD_USAGE;
    return hunt_ack_change("flowhunt unack", argv[1], argv[2], NULL, cmd_now_ms(), 0, argc, argv);
}

int cmd_acks(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: flowhunt acks DIR\n\nLists acknowledged findings: fingerprint, hunt "
               "ID, when, reason, until (tab-separated; '-' when it never expires).\n");
        return CMD_OK;
    }
    if (argc != 2) {
        fprintf(stderr, "flowhunt acks: want DIR\n");
        return CMD_USAGE;
    }
    if (cmd_data_dir("flowhunt acks", argv[1]) != 0)
        return CMD_USAGE;
    if (hr_acks_print(argv[1], stdout) < 0) {
        fprintf(stderr, "flowhunt acks: %s/hunt: %s\n", argv[1], strerror(errno));
        return CMD_USAGE;
    }
    return CMD_OK;
}
