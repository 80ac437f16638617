/* afile.h: replacing a file whole. The new content is written under a temporary name in the
 * same folder and renamed over the file once complete, so a reader (a SIEM tailing a report,
 * the next run reading ids.tsv) sees the old file or the new one, never half of one, and a run
 * that fails leaves the old one. Every file the analyzer replaces goes through here: the
 * hunt state (ids.tsv, acks.tsv), the rare hunt's baseline, the hour cache's units and the
 * report of `hunt -o`.
 */
#ifndef FH_AFILE_H
#define FH_AFILE_H

#include <stddef.h>
#include <stdio.h>

enum {
    /* fsync the file before the rename and its folder after: for state a later run relies on
     * (the hour cache does without: a unit a crash broke fails its CRC and is built again) */
    AF_SYNC = 1,
    /* a path that exists and is not a regular file (a FIFO, /dev/stdout, a symlink), or whose
     * folder does not let us create the temporary file, is written in place instead; a
     * replaced file keeps its permission bits */
    AF_REPORT = 2,
};

typedef struct af_file {
    FILE *f;    /* write here between af_open and af_commit */
    char *path; /* the file replaced (owned) */
    char *tmp;  /* the temporary file (owned); NULL when written in place */
    int flags;
} af_file_t;

/* Opens a temporary file for `path` ("PATH.tmp.PID", or `tmp` when not NULL: a name a cleanup
 * knows). Returns a->f, or NULL with errno (nothing left behind). Binary and text alike. */
FILE *af_open(af_file_t *a, const char *path, const char *tmp, int flags);

/* Flushes (and with AF_SYNC syncs) the file and renames it over `path`. 0, or -1 with errno,
 * the temporary file removed and `path` untouched. Frees what af_open took either way. */
int af_commit(af_file_t *a);

/* Drops the temporary file, leaving `path` as it was. Harmless when not open. */
void af_abort(af_file_t *a);

/* The whole of data[0..len) as `path`, with `flags`. 0, or -1 with errno. */
int af_write(const char *path, const void *data, size_t len, int flags);

#endif
