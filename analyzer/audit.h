/* audit.h: the audit trail, a hash-chained log of every hunt, expiry and acknowledgement
 * (DIR/hunt/audit.log).
 *
 * An auditor asks of a report: which flows was it made from, with which settings, and has
 * anything changed since? Each `flowhunt hunt` that ran, and each `flowhunt expire` that removed
 * segments, appends one JSON line: the command line, the SHA-256 of the effective configuration,
 * the segments of the window with the SHA-256 of each file, the SHA-256 of the report bytes as
 * written, the previous line's hash and the line's own hash; each `flowhunt ack` and `unack`
 * one with the fingerprint and the reason, since what a report leaves out is part of what it
 * says. `flowhunt audit verify` walks the
 * chain and re-hashes the segments still present; one removed by a later recorded expiry is
 * "expired", not a failure. docs/HUNTING.md ("Audit trail") specifies the line.
 *
 * Appending takes an exclusive flock on the log, so concurrent runs are serialised and each
 * chains to the one before; the line goes out in one write(2) followed by fsync, and a write
 * that fails part way is cut back off. SHA-256 is OpenSSL's (EVP, loaded by sha256.c), never our
 * own.
 */
#ifndef FH_AUDIT_H
#define FH_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hunt.h"

#define AU_HEX_LEN 64 /* a SHA-256 as lower-case hex */
#define AU_LOG_NAME "audit.log"

/* SHA-256 of a file's content as hex; *size its length; *crc the segment footer's CRC-32C
 * from the tail (FORMAT.md) and *have_crc 1 when the file ends in a segment tail. 0, or -1 with
 * errno (ENOENT when the file is gone). */
int au_hash_file(const char *path, char hex[AU_HEX_LEN + 1], uint64_t *size, uint32_t *crc,
                 int *have_crc);

/* The report tee: a stream that passes every byte to `under` and hashes it, so the log holds
 * the SHA-256 of exactly what was written. Zero-initialise, then au_tee_open; au_tee_close is
 * idempotent and never closes `under`. */
typedef struct au_tee {
    FILE *f;     /* the stream to write the report to */
    FILE *under; /* where the bytes go */
    struct sha256 *md;
    uint64_t n;  /* bytes passed through */
    int failed;  /* a write to `under` failed */
} au_tee_t;

/* NULL on failure (out of memory). */
FILE *au_tee_open(au_tee_t *t, FILE *under);
/* Flushes the tee; 0, or -1 when a write failed. */
int au_tee_flush(au_tee_t *t);
void au_tee_close(au_tee_t *t);

/* A file the run read besides segments, and where it was named ("--intel", "[general] intel"). */
typedef struct au_input {
    const char *option, *path;
} au_input_t;

/* One hunt run, as cmd_hunt knows it after the report was written. */
typedef struct au_hunt {
    const char *dir;
    int argc;
    char **argv;              /* argv[0] is "hunt" */
    const au_input_t *inputs; /* the files the run used, wherever they were named */
    int n_inputs;
    const hunt_config_t *cfg; /* the effective configuration (hashed as hc_print prints it) */
    uint64_t now_ms;          /* the run's clock (--now) */
    uint64_t from_ms, to_ms;  /* the window asked for (0, UINT64_MAX: everything) */
    int reported;             /* findings reported */
    int status;               /* the exit status the run will return */
} au_hunt_t;

/* Lists and hashes the window's segments, finishes the report's hash (flushing the tee) and
 * appends the entry. 0, or -1 with the reason printed to stderr as "PROG: ...". */
int au_record_hunt(const au_hunt_t *h, au_tee_t *report);

/* An expiry: each segment hashed just before it is unlinked, the audit log held meanwhile. */
typedef struct au_seg au_seg_t;
typedef struct au_log au_log_t;
typedef struct au_expire {
    au_seg_t *segs;
    size_t n, cap;
    au_log_t *log; /* locked by au_expire_begin, released by au_record_expire */
} au_expire_t;

/* Locks DIR/hunt/audit.log and checks it can take an entry, before anything is removed: an
 * expiry that deleted and then found the log damaged recorded its removals nowhere (and a
 * hunt appending in between listed segments the expiry had already removed). 0, or -1 with
 * why printed as "flowhunt expire: ...": then remove nothing. */
int au_expire_begin(au_expire_t *x, const char *dir);

/* Hashes `path` (a segment of `dir`) before it is removed. 0; 1 when it is already gone
 * (another expiry took it: not ours to record); -1 with errno when it cannot be read (do not
 * delete what cannot be recorded). */
int au_expire_hash(au_expire_t *x, const char *dir, const char *path);
/* The last hashed segment was not removed after all (unlink failed): forget it. */
void au_expire_forget(au_expire_t *x);
/* Appends the entry when any segment was removed, then frees. 0, or -1 with the reason
 * printed to stderr. */
int au_record_expire(au_expire_t *x, const char *dir, int argc, char **argv, uint64_t now_ms,
                     int status);
void au_expire_free(au_expire_t *x);

/* An acknowledgement given (reason not NULL; until_ms 0: for ever) or taken back (reason
 * NULL): what a later report leaves out, who decided it and why. 0, or -1 with the reason
 * printed to stderr. */
int au_record_ack(const char *dir, int argc, char **argv, uint64_t now_ms, const char *fp,
                  const char *reason, uint64_t until_ms, int status);

/* ---- checking -------------------------------------------------------------------------------- */

/* The first thing that does not match: where (line and seq, 0 when not known), which segment
 * ("" for the log itself), and what was expected and found. */
typedef struct au_fail {
    long line;
    long long seq;
    char segment[512];
    char what[768];
} au_fail_t;

/* One parsed entry, as the chain check hands it to the segment check. */
typedef struct au_entry {
    long line;
    long long seq;
    int expire; /* kind: 0 hunt (or ack), 1 expire */
    int ack;    /* 1 ack, 2 unack (expire 0, no segments) */
    char fp[17];
    char time[32];
    char config[AU_HEX_LEN + 1], report[AU_HEX_LEN + 1];
    char hash[AU_HEX_LEN + 1]; /* the entry's own */
    long long reported, exit_status;
    size_t first_seg, n_segs; /* into the check's segment array */
} au_entry_t;

typedef struct au_entry_seg {
    char *path; /* relative to DIR */
    uint64_t size;
    char sha[AU_HEX_LEN + 1];
    size_t entry; /* index of its entry */
} au_entry_seg_t;

typedef struct au_chain {
    au_entry_t *e;
    size_t n, cap;
    au_entry_seg_t *s;
    size_t n_s, cap_s;
} au_chain_t;

/* Checks the log's bytes: every line complete, well formed, numbered in sequence, chained to
 * the line before (genesis: 64 zeros) and hashing to its own hash. Pure: reads no file. 0 with
 * the entries in *c (free with au_chain_free), or 1 with *fail filled (and the entries before
 * it in *c), or -1 out of memory. */
int au_chain_check(const char *buf, size_t len, au_chain_t *c, au_fail_t *fail);
void au_chain_free(au_chain_t *c);
/* Reads DIR/hunt/audit.log (under a shared lock) and checks it: 0, 1 with *fail filled, 2 the
 * log could not be read or out of memory (message printed to stderr). *c holds the entries
 * that passed either way (free with au_chain_free). */
int au_chain_load(const char *dir, au_chain_t *c, au_fail_t *fail);

/* Counts from a verification. */
typedef struct au_verify_stats {
    size_t entries, hunts, expiries, acks, unacks;
    size_t seg_ok, seg_expired; /* per (entry, segment) */
    size_t files_hashed;
    char head[AU_HEX_LEN + 1]; /* the last entry's hash (genesis for an empty log) */
} au_verify_stats_t;

/* `flowhunt audit verify`: the chain, then every listed segment (each file hashed once). With
 * `head` (a hash noted earlier, outside the log), some entry must have that hash: the chain up
 * to there was not rewritten or cut back. Prints a line per entry to `out` unless quiet.
 * Returns 0 intact, 1 with *fail filled, 2 the log or a segment could not be read (message
 * printed to stderr). */
int au_verify(const char *dir, const char *head, int quiet, FILE *out, au_fail_t *fail,
              au_verify_stats_t *st);

#endif
