/* cmd_util.c: what flowhunt's commands share: the time window, the worker count, error lines
 * and progress on a terminal.
 *
 * Progress is for a person waiting at a terminal, so it is drawn only when stderr is one, at
 * most four times a second, on one line that is erased at the end; a pipeline or a cron job
 * sees only results.
 */
#include "cmd.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "intel.h"
#include "satmath.h"
#include "timearg.h"
#include "utf8.h"

#define CMD_PROGRESS_EVERY_MS 250

uint64_t cmd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t cmd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cmd_window(const char *prog, const char *from_arg, const char *to_arg, uint64_t *from,
               uint64_t *to)
{
    uint64_t now = cmd_now_ms();
    *from = 0;
    *to = UINT64_MAX;
    if (from_arg && timearg_parse_bound(from_arg, now, from) != 0) {
        fprintf(stderr, "%s: --from '%s' is not a time (" TIMEARG_FORMS ")\n", prog, from_arg);
        return -1;
    }
    if (to_arg && timearg_parse_bound(to_arg, now, to) != 0) {
        fprintf(stderr, "%s: --to '%s' is not a time (" TIMEARG_FORMS ")\n", prog, to_arg);
        return -1;
    }
    if (*from >= *to) {
        fprintf(stderr, "%s: the window is empty: --from must be before --to\n", prog);
        return -1;
    }
    return 0;
}

int cmd_workers(void)
{
    const char *env = getenv("FH_WORKERS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 16)
        n = 16;
    return (int)n;
}

void cmd_par(void *(*fn)(void *), void *jobs, size_t size, int n)
{
    pthread_t th[CMD_PAR_MAX];
    int started[CMD_PAR_MAX] = {0};
    for (int i = 1; i < n && i < CMD_PAR_MAX; i++)
        started[i] = pthread_create(&th[i], NULL, fn, (char *)jobs + (size_t)i * size) == 0;
    fn(jobs);
    for (int i = 1; i < n; i++)
        if (i < CMD_PAR_MAX && started[i])
            pthread_join(th[i], NULL);
        else if (size) /* with one shared job there is nothing left to make up */
            fn((char *)jobs + (size_t)i * size);
}

typedef struct cmd_each {
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    _Atomic size_t next;
} cmd_each_t;

static void *cmd_each_run(void *arg)
{
    cmd_each_t *e = arg;
    for (size_t i; (i = atomic_fetch_add(&e->next, 1)) < e->n;)
        e->fn(e->ctx, i);
    return NULL;
}

void cmd_par_each(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, int threads)
{
    cmd_each_t e = {.fn = fn, .ctx = ctx, .n = n};
    atomic_init(&e.next, 0);
    if ((size_t)threads > n)
        threads = (int)n;
    cmd_par(cmd_each_run, &e, 0, threads < 1 ? 1 : threads);
}

void cmd_print_where(FILE *out, const char *prog, int code, const seg_where_t *where)
{
    if (code < 0)
        code = -code;
    if (where && where->path[0])
        fprintf(out, "%s: %s: offset %llu: %s: %s", prog, where->path,
                (unsigned long long)where->offset, seg_err_name(code), seg_strerror(code));
    else
        fprintf(out, "%s: %s: %s", prog, seg_err_name(code), seg_strerror(code));
    if (where && where->sys_errno)
        fprintf(out, " (%s)", strerror(where->sys_errno));
    fputc('\n', out);
}

void cmd_warn_dangling(const char *prog, const char *dir, const char *path, uint64_t n)
{
    if (!n)
        return;
    fprintf(stderr,
            "%s: %s: dangling link: the segment it points to is not there (a disk not "
            "mounted?); its flows are left out\n",
            prog, path);
    if (n > 1)
        fprintf(stderr,
                "%s: and %llu more dangling link%s, left out too; `flowhunt verify %s` "
                "lists them\n",
                prog, (unsigned long long)(n - 1), n > 2 ? "s" : "", dir);
}

void cmd_warn_saturated(const char *prog)
{
    fprintf(stderr,
            "%s: some sums reached %llu, the largest a counter holds, and stop there: those "
            "totals are at least that\n",
            prog, (unsigned long long)SAT_MAX);
}

void cmd_progress_init(cmd_progress_t *p, int results_on_stdout)
{
    p->on = isatty(2) && !(results_on_stdout && isatty(1));
    p->start_ms = cmd_mono_ms();
    p->next_ms = p->start_ms + CMD_PROGRESS_EVERY_MS;
}

int cmd_progress_due(cmd_progress_t *p)
{
    if (!p->on)
        return 0;
    uint64_t now = cmd_mono_ms();
    uint64_t next = __atomic_load_n(&p->next_ms, __ATOMIC_RELAXED);
    if (now < next)
        return 0;
    /* one thread wins each update */
    return __atomic_compare_exchange_n(&p->next_ms, &next, now + CMD_PROGRESS_EVERY_MS, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

void cmd_progress_show(cmd_progress_t *p, const char *fmt, ...)
{
    if (!p->on)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one write, so lines from two threads cannot interleave within a line */
    char out[300];
    int n = snprintf(out, sizeof out, "\r%s\033[K", line);
    if (n > 0)
        fwrite(out, 1, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1, stderr);
    fflush(stderr);
}

void cmd_progress_done(cmd_progress_t *p)
{
    if (!p->on)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

void cmd_fmt_bytes(char *out, size_t cap, uint64_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)n);
    else
        snprintf(out, cap, "%.1f %s", v, units[u]);
}

int cmd_choice(const char *prog, const char *opt, const char *arg, const char *const *names,
               int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    fprintf(stderr, "%s: %s takes ", prog, opt);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", names[i], i + 2 < n ? ", " : i + 1 < n ? " or " : "");
    fprintf(stderr, ", not '%s'\n", arg);
    return -1;
}

/* How many of longopts' names begin with name[0 .. len) (getopt_long takes an abbreviation). */
static int cmd_long_matches(const struct option *longopts, const char *name, int len)
{
    int n = 0;
    for (; longopts->name; longopts++)
        n += strncmp(longopts->name, name, (size_t)len) == 0;
    return n;
}

int cmd_getopt(const char *prog, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
    opterr = 0;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c != '?' && c != ':')
        return c;
    /* glibc has stepped past a long option it refused (and past the last word, for a
     * missing argument), while a short one may sit inside a cluster (-vx): that one is
     * named by optopt, which is 0 for an unknown long option and the option's value for a
     * long option given an argument it does not take. */
    const char *word = argv[optind - 1];
    int len = (int)strcspn(word, "=");
    int is_long = strncmp(word, "--", 2) == 0;
    if (c == ':' && is_long)
        fprintf(stderr, "%s: option '%s' needs an argument", prog, word);
    else if (c == ':')
        fprintf(stderr, "%s: option '-%c' needs an argument", prog, optopt);
    else if (optopt == 0)
        fprintf(stderr, "%s: %s option '%.*s'", prog,
                cmd_long_matches(longopts, word + 2, len - 2) > 1 ? "ambiguous" : "unknown", len,
                word);
    else if (optopt < 256 && (optopt == ':' || !strchr(shortopts, optopt)))
        fprintf(stderr, "%s: unknown option '-%c'", prog, optopt);
    else
        fprintf(stderr, "%s: option '%.*s' takes no argument", prog, len, word);
    fprintf(stderr, " (see %s --help)\n", prog);
    return '?';
}

/* Whether dir is the flows/ folder of a data directory rather than one: no flows/ in it,
 * but a year's folder, a segment or the misplaced lists. Read there, every command found no
 * segment and a hunt reported a clean network (and wrote its state beside the years). */
static int cmd_is_flows_folder(const char *dir)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/flows", dir) >= (int)sizeof path || stat(path, &st) == 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        found = (n == 4 && strspn(e->d_name, "0123456789") == 4) ||
                strcmp(e->d_name, "misplaced") == 0 ||
                (n > 4 && strcmp(e->d_name + n - 4, ".seg") == 0);
    }
    closedir(d);
    return found;
}

int cmd_data_dir(const char *prog, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: %s: not a directory\n", prog, dir);
        return -1;
    }
    if (cmd_is_flows_folder(dir)) {
        fprintf(stderr,
                "%s: %s: this is the flows/ folder of a data directory; give the data "
                "directory, the folder that holds flows/ (and state/, hunt/)\n",
                prog, dir);
        return -1;
    }
    return 0;
}

#define CMD_FILTER_FILE_MAX (64u << 20) /* a feed of a million IPv6 networks fits */

/* A filter file's text as one line for the parser: each comment ('#' to the end of its line)
 * and each line end a space, so a position in it is the position in the file. NULL with the
 * problem printed. */
static char *cmd_filter_file_read(const char *prog, const char *path, char **orig)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    if (!f) {
        fprintf(stderr, "%s: --filter-file %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > CMD_FILTER_FILE_MAX) {
        fprintf(stderr, "%s: --filter-file %s: not a regular file of at most %u MiB\n", prog, path,
                CMD_FILTER_FILE_MAX >> 20);
        fclose(f);
        return NULL;
    }
    /* the size at fstat bounds the read: a file that grows meanwhile is read that far */
    if (!(buf = malloc((size_t)st.st_size + 1)) ||
        (len = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size || ferror(f)) {
        fprintf(stderr, "%s: --filter-file %s: %s\n", prog, path,
                buf ? "could not read it" : "out of memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    if (utf8_skip_bom(buf) != buf)
        memset(buf, ' ', 3); /* positions stay the file's */
    char *flat = malloc(len + 1);
    if (!flat || memchr(buf, '\0', len)) {
        fprintf(stderr, "%s: --filter-file %s: %s\n", prog, path,
                flat ? "holds a NUL byte: not a filter" : "out of memory");
        free(flat);
        free(buf);
        return NULL;
    }
    int comment = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = buf[i];
        comment = c == '#' || (comment && c != '\n');
        flat[i] = c == '\0' ? '\0' : comment || c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
    }
    if (!flat[strspn(flat, " ")]) {
        /* an empty filter is `any`: a feed that came out empty must not select every flow */
        fprintf(stderr, "%s: --filter-file %s: no filter in it (empty, or only comments)\n", prog,
                path);
        free(flat);
        free(buf);
        return NULL;
    }
    *orig = buf;
    return flat;
}

/* A filter file's syntax error as "PROG: FILE:LINE: filter: MSG", the line (at most 200
 * characters of it, around the position) and a caret. `flat`: the text parsed (orig with
 * newlines and comments blanked, so positions agree). */
static void cmd_filter_file_error(const char *prog, const char *path, const char *orig,
                                  const char *flat, const flt_error_t *err)
{
    size_t len = strlen(orig), pos = err->pos < len ? err->pos : len, line = 1, start = 0;
    /* "not the end of the filter" points past the last word, not past the file's final
     * newline or comment (an empty line after the last one) */
    size_t tail = strlen(flat);
    while (tail > 0 && flat[tail - 1] == ' ')
        tail--;
    if (pos > tail)
        pos = tail;
    for (size_t i = 0; i < pos; i++)
        if (orig[i] == '\n') {
            line++;
            start = i + 1;
        }
    size_t end = start;
    while (end < len && orig[end] != '\n' && orig[end] != '\r')
        end++;
    if (pos - start > 150)
        start = pos - 150;
    if (end - start > 200)
        end = start + 200;
    /* a cut within a UTF-8 character (a comment's text) would print its lead bytes alone */
    while (end > pos && end < len && ((unsigned char)orig[end] & 0xc0) == 0x80)
        end--;
    fprintf(stderr, "%s: %s:%zu: filter: %s\n  %.*s\n  ", prog, path, line, err->msg,
            (int)(end - start), orig + start);
    for (size_t i = start; i < pos; i++)
        fputc(orig[i] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
}

/* Parses text into *flt; a syntax error printed against the command line or, when path is
 * given, the file (orig: its text as written). 0 or -1. */
static int cmd_filter_parse(const char *prog, const char *text, const char *path, const char *orig,
                            struct flt **flt)
{
    flt_error_t ferr;
    int rc = flt_parse(text, flt, &ferr);
    if (rc == -1 && path)
        cmd_filter_file_error(prog, path, orig, text, &ferr);
    else if (rc == -1)
        flt_print_error(stderr, prog, text, &ferr);
    else if (rc == -2)
        fprintf(stderr, "%s: out of memory\n", prog);
    return rc == 0 ? 0 : -1;
}

int cmd_filter(const char *prog, int argc, char **argv, int first, const char *filter_file,
               struct flt **flt)
{
    *flt = NULL;
    char *text = flt_join(argc - first, argv + first), *orig = NULL, *file = NULL;
    int rc = text ? 0 : -1;
    if (!text)
        fprintf(stderr, "%s: out of memory\n", prog);
    if (rc == 0 && filter_file) {
        /* each part alone first, so an error names its place; then the file's filter and the
         * command line's, both to hold (nfdump -f drops the file's when a filter is given too:
         * a silent choice between the two is a trap, so both are a flow's test here) */
        rc = (file = cmd_filter_file_read(prog, filter_file, &orig)) ? 0 : -1;
        if (rc == 0)
            rc = cmd_filter_parse(prog, file, filter_file, orig, flt);
        if (rc == 0 && text[strspn(text, " ")]) {
            flt_free(*flt);
            *flt = NULL;
            rc = cmd_filter_parse(prog, text, NULL, NULL, flt);
            char *both = rc == 0 ? malloc(strlen(file) + strlen(text) + 16) : NULL;
            if (rc == 0 && !both) {
                fprintf(stderr, "%s: out of memory\n", prog);
                rc = -1;
            }
            if (both) {
                flt_free(*flt);
                *flt = NULL;
                sprintf(both, "(%s) and (%s)", file, text);
                rc = cmd_filter_parse(prog, both, NULL, NULL, flt);
                free(both);
            }
        }
    } else if (rc == 0) {
        rc = cmd_filter_parse(prog, text, NULL, NULL, flt);
    }
    free(text);
    free(file);
    free(orig);
    if (rc != 0) {
        flt_free(*flt);
        *flt = NULL;
        return -1;
    }
    return 0;
}

int cmd_read_opt(int opt, const char *arg, cmd_read_args_t *r)
{
    if (opt == CMD_OPT_FROM)
        r->from = arg;
    else if (opt == CMD_OPT_TO)
        r->to = arg;
    else if (opt == 'f')
        r->filter_file = arg;
    else if (opt == CMD_OPT_INTEL) {
        if (r->n_intel < CMD_MAX_INTEL)
            r->intel[r->n_intel] = arg;
        r->n_intel++;
    } else
        return 0;
    return 1;
}

/* The --intel feeds loaded; NULL with the problem printed (a feed that cannot be read, none
 * with an address indicator, too many). */
static ti_db_t *cmd_intel_load(const char *prog, const cmd_read_args_t *r)
{
    if (r->n_intel > CMD_MAX_INTEL) {
        fprintf(stderr, "%s: --intel: at most %d feeds\n", prog, CMD_MAX_INTEL);
        return NULL;
    }
    ti_db_t *db = ti_new();
    char err[512];
    for (int i = 0; i < r->n_intel; i++)
        if (ti_load(db, r->intel[i], stderr, err, sizeof err) < 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            ti_free(db);
            return NULL;
        }
    if (ti_count(db) == 0) {
        fprintf(stderr, "%s: --intel: the feeds hold no address or network indicator\n", prog);
        ti_free(db);
        return NULL;
    }
    return db;
}

/* The feeds' address indicators as one list term, "ip in [NET ...]" (the list merges
 * overlapping networks), malloc'd; NULL out of memory, printed. */
static char *cmd_intel_filter(const char *prog, const ti_db_t *db)
{
    size_t n = ti_count(db);
    /* each item: an address, '/', three digits, a space */
    char *text = malloc(16 + n * (FLOW_ADDR_STRLEN + 6));
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return NULL;
    }
    size_t len = (size_t)sprintf(text, "ip in [");
    for (size_t i = 0; i < n; i++) {
        const flow_net_t *net = &ti_ioc_at(db, i)->net;
        len += flow_addr_format(&net->addr, text + len);
        int v4 = flow_addr_is_v4(&net->addr);
        len += (size_t)sprintf(text + len, "/%u ", v4 ? net->plen - 96u : net->plen);
    }
    sprintf(text + len, "]");
    return text;
}

int cmd_ctx_opt(int opt, const char *arg, cmd_ctx_args_t *x)
{
    if (opt == CMD_OPT_GEOIP)
        x->geoip = arg;
    else if (opt == CMD_OPT_ASN)
        x->asn = arg;
    else
        return 0;
    return 1;
}

int cmd_dir_filter(const char *prog, int argc, char **argv, int first, const cmd_read_args_t *r,
                   const char **dir, struct flt **flt, uint64_t *from, uint64_t *to,
                   struct ti_db **intel)
{
    *flt = NULL;
    if (intel)
        *intel = NULL;
    if (first >= argc) {
        fprintf(stderr, "%s: give the data directory (see %s --help)\n", prog, prog);
        return -1;
    }
    *dir = argv[first];
    if (cmd_data_dir(prog, *dir) != 0 || cmd_window(prog, r->from, r->to, from, to) != 0 ||
        cmd_filter(prog, argc, argv, first + 1, r->filter_file, flt) != 0)
        return -1;
    if (r->n_intel) {
        /* the feeds' term and the filter, both to hold */
        ti_db_t *db = cmd_intel_load(prog, r);
        char *feeds = db ? cmd_intel_filter(prog, db) : NULL;
        struct flt *ff = NULL;
        flt_error_t ferr;
        int rc = feeds ? flt_parse(feeds, &ff, &ferr) : -1;
        if (feeds && rc != 0)
            fprintf(stderr, "%s: --intel: %s\n", prog, rc == -2 ? "out of memory" : ferr.msg);
        free(feeds);
        if (rc == 0 && (rc = flt_and(*flt, ff)) != 0)
            fprintf(stderr, "%s: %s\n", prog,
                    rc == -1 ? "the filter is too long to add --intel to" : "out of memory");
        flt_free(ff);
        if (rc != 0) {
            ti_free(db);
            flt_free(*flt);
            *flt = NULL;
            return -1;
        }
        if (intel)
            *intel = db;
        else
            ti_free(db);
    }
    flt_set_window(*flt, *from, *to);
    return 0;
}
