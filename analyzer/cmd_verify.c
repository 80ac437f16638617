/* cmd_verify.c: `flowhunt verify`, every checksum of every segment, each problem named.
 *
 * seg_verify checks one file completely (tail, footer, every block header, every chunk's CRC,
 * every chunk decoded); this command runs it over a directory's segments on all cores and
 * prints one line per damaged segment: the file, the byte offset and the error's name. Files
 * are verified in any order but reported in name order, so two runs print the same report.
 * Temporary files (dot-names, a writer's segment in progress) are not segments yet and are not
 * read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

typedef struct verify_result {
    int rc;
    seg_where_t where;
    uint64_t size;
} verify_result_t;

typedef struct verify_ctx {
    char **paths;
    int n;
    verify_result_t *res;
    int done; /* atomically */
    cmd_progress_t progress;
} verify_ctx_t;

static void verify_one(void *arg, size_t i)
{
    verify_ctx_t *c = arg;
    verify_result_t *r = &c->res[i];
    struct stat st;
    memset(&r->where, 0, sizeof r->where);
    r->size = stat(c->paths[i], &st) == 0 ? (uint64_t)st.st_size : 0;
    r->rc = seg_verify(c->paths[i], &r->where);
    if (r->rc != 0 && !r->where.path[0])
        snprintf(r->where.path, sizeof r->where.path, "%s", c->paths[i]);
    int done = __atomic_add_fetch(&c->done, 1, __ATOMIC_RELAXED);
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(&c->progress, "verify: %d of %d segments", done, c->n);
}

static void verify_usage(FILE *f)
{
    fprintf(f,
            "usage: flowhunt verify DIR|FILE\n"
            "\n"
            "Checks every segment under DIR/flows (or one segment FILE) completely: magic and\n"
            "version at both ends, the footer, every row group's header, every chunk's CRC-32C,\n"
            "and that every chunk decodes. Each damaged segment is printed as\n"
            "  PATH: offset N: ERROR: description\n"
            "Temporary files of a writer at work (names starting with a dot) are skipped.\n"
            "\n"
            "Exit status: 0 every segment is good, 1 problems found, 2 could not run.\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            verify_usage(stdout);
            return CMD_OK;
        }
        verify_usage(stderr);
        return CMD_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "flowhunt verify: give one data directory or segment file (see "
                        "flowhunt verify --help)\n");
        return CMD_USAGE;
    }
    const char *path = argv[optind];
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "flowhunt verify: %s: %s\n", path, strerror(errno));
        return CMD_USAGE;
    }
    verify_ctx_t c;
    memset(&c, 0, sizeof c);
    char *one[1];
    if (S_ISDIR(st.st_mode)) {
        if (cmd_data_dir("flowhunt verify", path) != 0)
            return CMD_USAGE;
        c.n = seg_dir_list(path, 0, UINT64_MAX, &c.paths);
        if (c.n < 0) {
            fprintf(stderr, "flowhunt verify: %s: cannot list the segments: %s (%s)\n", path,
                    seg_strerror(c.n), strerror(errno));
            return CMD_USAGE;
        }
    } else if (S_ISREG(st.st_mode)) {
        one[0] = (char *)path;
        c.paths = one;
        c.n = 1;
    } else {
        fprintf(stderr, "flowhunt verify: %s: neither a directory nor a file\n", path);
        return CMD_USAGE;
    }
    c.res = calloc((size_t)c.n + 1, sizeof *c.res);
    if (!c.res) {
        fprintf(stderr, "flowhunt verify: out of memory\n");
        if (c.paths != one)
            seg_dir_list_free(c.paths, c.n);
        return CMD_USAGE;
    }
    cmd_progress_init(&c.progress, 1);
    cmd_par_each(verify_one, &c, (size_t)c.n, cmd_workers());
    cmd_progress_done(&c.progress);

    int bad = 0;
    uint64_t total = 0;
    for (int i = 0; i < c.n; i++) {
        total += c.res[i].size;
        if (c.res[i].rc != 0) {
            bad++;
            int code = c.res[i].rc < 0 ? -c.res[i].rc : c.res[i].rc;
            printf("%s: offset %llu: %s: %s", c.res[i].where.path,
                   (unsigned long long)c.res[i].where.offset, seg_err_name(code),
                   seg_strerror(code));
            if (c.res[i].where.sys_errno)
                printf(" (%s)", strerror(c.res[i].where.sys_errno));
            putchar('\n');
        }
    }
    fflush(stdout);
    char sz[32];
    cmd_fmt_bytes(sz, sizeof sz, total);
    if (c.n == 0)
        fprintf(stderr, "flowhunt verify: %s: no segments\n", path);
    else if (bad == 0)
        fprintf(stderr, "flowhunt verify: %d segment%s (%s): all good\n", c.n, c.n == 1 ? "" : "s",
                sz);
    else
        fprintf(stderr, "flowhunt verify: %d of %d segments (%s) have problems\n", bad, c.n, sz);
    free(c.res);
    if (c.paths != one)
        seg_dir_list_free(c.paths, c.n);
    return bad ? CMD_PROBLEMS : CMD_OK;
}
