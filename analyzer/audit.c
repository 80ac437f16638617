/* audit.c: the audit trail: hashing, the report tee, appending an entry, checking the chain.
 *
 * An entry is one JSON line whose last member is its own hash:
 *
 *   {"seq":N,"kind":...,...,"prev":"<64 hex>","hash":"<64 hex>"}\n
 *
 * `hash` is the SHA-256 of the line's bytes before `,"hash":"`, so every byte before it is
 * covered by the hash, the hash by the next line's `prev`, and the fixed suffix and newline by
 * the syntax check: no byte of the log can change unnoticed. The hash is not keyed: whoever can
 * rewrite the log can rewrite the chain from that point on, which is why verify prints the head
 * hash for the analyst to keep elsewhere and checks it with --head (docs/HUNTING.md).
 *
 * The line is composed as text (jansson builds and escapes the body; seq and prev are added
 * under the log's lock, when they are known) and checked with jansson on the way back.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cmd.h"
#include "seg.h"
#include "sha256.h"
#include "timearg.h"
#include "utf8.h"

#define AU_SUFFIX_LEN (9 + AU_HEX_LEN + 2) /* ,"hash":"<64 hex>"} */
#define AU_TAIL_LEN 24                     /* a segment's tail (storage/FORMAT.md) */
/* Under glibc's mmap threshold (128 KiB), so each file's buffer comes from the heap that the
 * last one went back to: a 1 MiB one was a fresh mapping per segment, up to 256 page faults
 * each (an hourly hunt over 24 segments: 72,500 faults with it, 66,800 with this; its CPU time
 * moved within the noise). */
#define AU_READ_CHUNK (64u << 10)

static const char au_genesis[AU_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct au_seg {
    char *path; /* relative to DIR */
    uint64_t size;
    char sha[AU_HEX_LEN + 1];
    uint32_t crc;
    int have_crc;
};

/* ---- hashing ----------------------------------------------------------------------------- */

static void au_hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int au_sha256(const void *data, size_t len, char hex[AU_HEX_LEN + 1])
{
    unsigned char d[SHA256_LEN];
    if (sha256_once(data, len, d) != 0)
        return -1;
    au_hex(d, SHA256_LEN, hex);
    return 0;
}

static int au_md_final(sha256_t *md, char hex[AU_HEX_LEN + 1])
{
    unsigned char d[SHA256_LEN];
    if (sha256_end(md, d) != 0)
        return -1;
    au_hex(d, SHA256_LEN, hex);
    return 0;
}

static int au_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Room for one more element in array v (*cap elements of `size`, n used): v itself, or v
 * moved and *cap doubled, or NULL (v untouched) when out of memory. */
static void *au_grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (v && n < *cap)
        return v;
    size_t c = *cap ? 2 * *cap : 64;
    void *p = realloc(v, c * size);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    *cap = c;
    return p;
}

int au_hash_file(const char *path, char hex[AU_HEX_LEN + 1], uint64_t *size, uint32_t *crc,
                 int *have_crc)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    sha256_t *md = sha256_begin();
    unsigned char *buf = malloc(AU_READ_CHUNK);
    unsigned char tail[AU_TAIL_LEN];
    uint64_t total = 0;
    int rc = -1, err = ENOMEM;
    if (!md || !buf)
        goto out;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        ssize_t got = read(fd, buf, AU_READ_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = errno;
            goto out;
        }
        if (got == 0)
            break;
        if (sha256_update(md, buf, (size_t)got) != 0)
            goto out;
        /* keep the last AU_TAIL_LEN bytes seen: the tail, once the file ends */
        if ((size_t)got >= AU_TAIL_LEN) {
            memcpy(tail, buf + got - AU_TAIL_LEN, AU_TAIL_LEN);
        } else {
            size_t keep =
                total < AU_TAIL_LEN - (size_t)got ? (size_t)total : AU_TAIL_LEN - (size_t)got;
            memmove(tail + AU_TAIL_LEN - (size_t)got - keep, tail + AU_TAIL_LEN - keep, keep);
            memcpy(tail + AU_TAIL_LEN - (size_t)got, buf, (size_t)got);
        }
        total += (uint64_t)got;
    }
    if (au_md_final(md, hex) != 0)
        goto out;
    *size = total;
    /* tail: footer offset u64 | footer length u32 | footer CRC-32C u32 | "FHSEGEND" */
    *have_crc = total >= 16 + AU_TAIL_LEN && memcmp(tail + 16, "FHSEGEND", 8) == 0;
    *crc = *have_crc ? (uint32_t)tail[12] | (uint32_t)tail[13] << 8 | (uint32_t)tail[14] << 16 |
                           (uint32_t)tail[15] << 24
                     : 0;
    rc = 0;
out:
    free(buf);
    sha256_free(md);
    close(fd);
    if (rc != 0)
        errno = err;
    return rc;
}

/* ---- the report tee ---------------------------------------------------------------------- */

static ssize_t au_tee_write(void *cookie, const char *buf, size_t n)
{
    au_tee_t *t = cookie;
    size_t put = fwrite(buf, 1, n, t->under);
    /* hash what reached the stream, so a short write cannot leave the two apart */
    if (put && sha256_update(t->md, buf, put) != 0)
        t->failed = 1;
    t->n += put;
    if (put != n) {
        t->failed = 1;
        return -1;
    }
    return (ssize_t)n;
}

FILE *au_tee_open(au_tee_t *t, FILE *under)
{
    memset(t, 0, sizeof *t);
    t->under = under;
    sha256_t *md = sha256_begin();
    if (!md)
        return NULL;
    t->md = md;
    cookie_io_functions_t io = {.write = au_tee_write};
    t->f = fopencookie(t, "w", io);
    if (!t->f) {
        sha256_free(md);
        t->md = NULL;
    }
    return t->f;
}

int au_tee_flush(au_tee_t *t)
{
    if (!t->f || fflush(t->f) != 0 || ferror(t->f) || t->failed)
        return -1;
    return 0;
}

void au_tee_close(au_tee_t *t)
{
    if (t->f)
        fclose(t->f); /* flushes into `under`; the report's fate is the caller's to check */
    sha256_free(t->md);
    t->f = NULL;
    t->md = NULL;
}

/* ---- building an entry ------------------------------------------------------------------- */

/* A string as JSON; bytes that are not UTF-8 (a path in another encoding) are kept as \xHH
 * text rather than refused: the entry must be written either way. */
static json_t *au_jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t n = strlen(s);
    char *esc = malloc(4 * n + 1);
    if (!esc)
        return NULL;
    char *o = esc;
    /* Only the bytes that start no UTF-8 sequence are escaped: a Latin-1 byte in an otherwise
     * UTF-8 reason must not turn its "café" into "caf\\xc3\\xa9". */
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = utf8_seq_len(p);
        if (len) {
            memcpy(o, p, len);
            o += len;
            p += len;
        } else {
            snprintf(o, 5, "\\x%02x", *p);
            o += 4;
            p++;
        }
    }
    *o = '\0';
    j = json_string(esc);
    free(esc);
    return j;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static void au_iso(uint64_t ms, char out[32])
{
    char t[TIMEARG_STRLEN];
    timearg_format(ms, t);
    t[10] = 'T';
    snprintf(out, 32, "%sZ", t);
}

static uint64_t au_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The members every entry starts with: kind, the run's time, the wall clock, the user and the
 * command line. */
static json_t *au_entry_head(const char *kind, uint64_t time_ms, int argc, char **argv)
{
    json_t *o = json_object(), *args = json_array();
    char t[32], w[32];
    au_iso(time_ms, t);
    au_iso(au_wall_ms(), w);
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "wall", json_string(w));
    json_object_set_new(o, "uid", json_integer((json_int_t)getuid()));
    for (int i = 0; i < argc; i++)
        json_array_append_new(args, au_jstr(argv[i]));
    json_object_set_new(o, "args", args);
    return o;
}

/* Relative path of a segment under dir ("flows/..."). */
static const char *au_rel(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0)
        return path;
    path += n;
    while (*path == '/')
        path++;
    return path;
}

static int au_seg_add(au_seg_t **v, size_t *n, size_t *cap, const char *dir, const char *path)
{
    au_seg_t *grown = au_grow(*v, cap, *n, sizeof **v);
    if (!grown)
        return -1;
    *v = grown;
    au_seg_t *s = &(*v)[*n];
    if (au_hash_file(path, s->sha, &s->size, &s->crc, &s->have_crc) != 0)
        return errno == ENOENT ? 1 : -1;
    if (!(s->path = strdup(au_rel(dir, path)))) {
        errno = ENOMEM;
        return -1;
    }
    (*n)++;
    return 0;
}

static void au_segs_free(au_seg_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

/* The line the list's own hash covers: "path\tsize\tsha256\n" per segment. */
static int au_seg_line(char *out, size_t cap, const char *path, uint64_t size, const char *sha)
{
    int k = snprintf(out, cap, "%s\t%llu\t%s\n", path, (unsigned long long)size, sha);
    return k < 0 || (size_t)k >= cap ? -1 : k;
}

/* Adds the segments as an array under `key`, and the SHA-256 of the list. */
static int au_put_segs(json_t *o, const char *key, const au_seg_t *v, size_t n)
{
    json_t *arr = json_array();
    sha256_t *md = sha256_begin();
    char hex[AU_HEX_LEN + 1], line[4300];
    int rc = -1;
    if (!arr || !md)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_object();
        char crc[9];
        snprintf(crc, sizeof crc, "%08x", v[i].crc);
        json_object_set_new(s, "path", au_jstr(v[i].path));
        json_object_set_new(s, "size", json_integer((json_int_t)v[i].size));
        json_object_set_new(s, "sha256", json_string(v[i].sha));
        json_object_set_new(s, "footer_crc32c", v[i].have_crc ? json_string(crc) : json_null());
        json_array_append_new(arr, s);
        int k = au_seg_line(line, sizeof line, v[i].path, v[i].size, v[i].sha);
        if (k < 0 || sha256_update(md, line, (size_t)k) != 0)
            goto out;
    }
    if (au_md_final(md, hex) != 0)
        goto out;
    json_object_set_new(o, key, arr);
    arr = NULL;
    json_object_set_new(o, "segments_sha256", json_string(hex));
    rc = 0;
out:
    json_decref(arr);
    sha256_free(md);
    return rc;
}

/* Options whose value is a file the findings depend on, beyond the configuration: hashed so
 * the entry says which feed or database the run used (best effort: "--opt FILE" and
 * "--opt=FILE" spellings). */
static void au_put_inputs(json_t *o, const au_input_t *inputs, int n)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char hex[AU_HEX_LEN + 1];
        uint64_t size;
        uint32_t crc;
        int have_crc;
        json_t *in = json_object();
        json_object_set_new(in, "option", json_string(inputs[i].option));
        json_object_set_new(in, "path", au_jstr(inputs[i].path));
        if (au_hash_file(inputs[i].path, hex, &size, &crc, &have_crc) == 0) {
            json_object_set_new(in, "size", json_integer((json_int_t)size));
            json_object_set_new(in, "sha256", json_string(hex));
        } else {
            json_object_set_new(in, "sha256", json_null());
        }
        json_array_append_new(arr, in);
    }
    json_object_set_new(o, "inputs", arr);
}

/* ---- appending --------------------------------------------------------------------------- */

static int au_pread_all(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* The seq and hash of the log's last line (0 and genesis for an empty log). The line must be
 * complete and end in a well-formed hash: chaining onto a torn or edited line would bury the
 * damage, so the caller refuses to append and says why. 0, or -1 with *why set. */
static int au_last(int fd, uint64_t size, long long *seq, char prev[AU_HEX_LEN + 1],
                   const char **why)
{
    *seq = 0;
    memcpy(prev, au_genesis, sizeof au_genesis);
    if (size == 0)
        return 0;
    char suf[AU_SUFFIX_LEN + 1];
    *why = "the last line is incomplete or does not end in its hash";
    if (size < AU_SUFFIX_LEN + 1 ||
        au_pread_all(fd, suf, sizeof suf, (off_t)(size - sizeof suf)) != 0 ||
        memcmp(suf, ",\"hash\":\"", 9) != 0 || !au_is_hex(suf + 9, AU_HEX_LEN) ||
        memcmp(suf + 9 + AU_HEX_LEN, "\"}\n", 3) != 0)
        return -1;
    /* the start of the last line: after the newline before it */
    char buf[4096];
    uint64_t end = size - sizeof suf, start = 0;
    while (end > 0) {
        size_t k = end < sizeof buf ? (size_t)end : sizeof buf;
        if (au_pread_all(fd, buf, k, (off_t)(end - k)) != 0)
            return -1;
        size_t i = k;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            start = end - k + i;
            break;
        }
        end -= k;
    }
    char head[32] = {0};
    size_t hn = size - start < sizeof head - 1 ? (size_t)(size - start) : sizeof head - 1;
    *why = "the last line does not start with its seq";
    if (au_pread_all(fd, head, hn, (off_t)start) != 0 || strncmp(head, "{\"seq\":", 7) != 0)
        return -1;
    char *e;
    *seq = strtoll(head + 7, &e, 10);
    if (e == head + 7 || *e != ',' || *seq < 1)
        return -1;
    memcpy(prev, suf + 9, AU_HEX_LEN);
    prev[AU_HEX_LEN] = '\0';
    return 0;
}

/* DIR/hunt/audit.log opened and locked (flock) with its last entry read: while held, no
 * other process appends, so what the holder lists (a hunt's segments, an expiry's removals)
 * is what the log says when its entry lands. */
typedef struct au_log {
    int fd;
    off_t size;
    long long seq;
    char prev[AU_HEX_LEN + 1];
    char path[4300];
} au_log_t;

/* Opens, locks and reads the tail. 0, or -1 with why printed as "PROG: ..." (a damaged log
 * is refused: nothing is appended after it). */
static int au_log_lock(const char *prog, const char *dir, au_log_t *l)
{
    char folder[4200];
    snprintf(folder, sizeof folder, "%s/hunt", dir);
    snprintf(l->path, sizeof l->path, "%s/%s", folder, AU_LOG_NAME);
    l->fd = -1;
    if (seg_dir_mkdirs(folder) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, folder, strerror(errno));
        return -1;
    }
    int fd = open(l->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, l->path, strerror(errno));
        return -1;
    }
    struct stat st;
    /* one appender at a time: the seq and prev read here must still be the last when written */
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s: %s: lock: %s\n", prog, l->path, strerror(errno));
            close(fd);
            return -1;
        }
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, l->path, strerror(errno));
        close(fd);
        return -1;
    }
    const char *why = "";
    if (au_last(fd, (uint64_t)st.st_size, &l->seq, l->prev, &why) != 0) {
        fprintf(stderr,
                "%s: %s: %s; not appending to a damaged log (see flowhunt audit verify %s)\n", prog,
                l->path, why, dir);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) { /* a new log: make its name durable too */
        int dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    l->fd = fd;
    l->size = st.st_size;
    return 0;
}

/* Appends `body` (a JSON object's text, without seq and prev) as the next entry of a locked
 * log. 0, or -1 with why printed (a torn line is cut back off). */
static int au_log_put(const char *prog, au_log_t *l, const char *body)
{
    /* {"seq":N, + the body's members + ,"prev":"..." -> hash -> ,"hash":"..."}\n */
    size_t blen = strlen(body), k;
    size_t cap = blen + 64 + 2 * AU_HEX_LEN + 32;
    char hex[AU_HEX_LEN + 1];
    char *line;
    if (blen < 3 || body[0] != '{' || !(line = malloc(cap))) {
        fprintf(stderr, "%s: audit entry: out of memory\n", prog);
        return -1;
    }
    k = (size_t)snprintf(line, cap, "{\"seq\":%lld,", l->seq + 1);
    memcpy(line + k, body + 1, blen - 2);
    k += blen - 2;
    k += (size_t)snprintf(line + k, cap - k, ",\"prev\":\"%s\"", l->prev);
    int rc = -1;
    if (au_sha256(line, k, hex) != 0)
        goto out;
    k += (size_t)snprintf(line + k, cap - k, ",\"hash\":\"%s\"}\n", hex);
    ssize_t put = write(l->fd, line, k);
    if (put < 0 || (size_t)put != k || fsync(l->fd) != 0) {
        int e = put < 0 ? errno : (size_t)put != k ? ENOSPC : errno;
        if (ftruncate(l->fd, l->size) != 0) /* cut a torn line back off */
            fprintf(stderr, "%s: %s: cannot remove a partial line: %s\n", prog, l->path,
                    strerror(errno));
        fprintf(stderr, "%s: %s: %s\n", prog, l->path, strerror(e));
        goto out;
    }
    l->seq++;
    memcpy(l->prev, hex, sizeof l->prev);
    l->size += (off_t)k;
    rc = 0;
out:
    free(line);
    return rc;
}

static void au_log_unlock(au_log_t *l)
{
    if (l->fd >= 0)
        close(l->fd); /* releases the lock */
    l->fd = -1;
}

/* Appends `body` as the next entry of DIR/hunt/audit.log. Prints why on failure as
 * "PROG: ...". */
static int au_append(const char *prog, const char *dir, const char *body)
{
    au_log_t l;
    if (au_log_lock(prog, dir, &l) != 0)
        return -1;
    int rc = au_log_put(prog, &l, body);
    au_log_unlock(&l);
    return rc;
}

/* Dumps the entry body and appends it: to the log `held` when not NULL (locked by the caller),
 * else locking it for the append. */
static int au_commit(const char *prog, const char *dir, au_log_t *held, json_t *o)
{
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!body) {
        fprintf(stderr, "%s: audit entry: out of memory\n", prog);
        return -1;
    }
    int rc = held ? au_log_put(prog, held, body) : au_append(prog, dir, body);
    free(body);
    return rc;
}

/* The segments of a hunt's window hashed on the worker threads, each file into its own
 * slot (the caller records them in listing order): hashing all of them read the whole window
 * again on one thread, 1.1 GB and 0.8 s at the end of a run over 100 M flows. */
typedef struct au_hash_job {
    char **paths;
    au_seg_t *segs; /* segs[i] for paths[i], path not set */
    int *err;       /* 0, or the errno of hashing paths[i] (ENOENT: gone) */
} au_hash_job_t;

static void au_hash_one(void *arg, size_t i)
{
    au_hash_job_t *j = arg;
    au_seg_t *s = &j->segs[i];
    if (au_hash_file(j->paths[i], s->sha, &s->size, &s->crc, &s->have_crc) != 0)
        j->err[i] = errno ? errno : EIO;
}

int au_record_hunt(const au_hunt_t *h, au_tee_t *report)
{
    static const char prog[] = "flowhunt hunt";
    char cfg_hex[AU_HEX_LEN + 1], rep_hex[AU_HEX_LEN + 1];
    char *cfg_text = NULL;
    size_t cfg_len = 0;
    au_seg_t *segs = NULL;
    size_t n_segs = 0;
    char **paths = NULL;
    int n = 0, rc = -1;
    au_log_t log = {.fd = -1};

    if (au_tee_flush(report) != 0 || au_md_final(report->md, rep_hex) != 0) {
        fprintf(stderr, "%s: the report was not written whole; not recorded\n", prog);
        return -1;
    }
    /* the configuration as --print-config shows it */
    FILE *mem = open_memstream(&cfg_text, &cfg_len);
    if (!mem)
        goto nomem;
    hc_print(h->cfg, mem);
    if (fclose(mem) != 0 || au_sha256(cfg_text, cfg_len, cfg_hex) != 0)
        goto nomem;
    /* The log held from the listing to the append: an expiry cannot remove a segment after it
     * was hashed here and record that (an earlier seq) before this entry lists it, which
     * verify reads as a segment gone without a later expiry. */
    if (au_log_lock(prog, h->dir, &log) != 0)
        goto out;
    /* the segments the scan was given: the same listing seg_scan makes for the window */
    n = seg_dir_list(h->dir, h->from_ms, h->to_ms, &paths);
    if (n < 0) {
        fprintf(stderr, "%s: %s: cannot list the segments to record: %s\n", prog, h->dir,
                seg_strerror(n));
        n = 0;
        goto out;
    }
    segs = calloc(n ? (size_t)n : 1, sizeof *segs);
    int *err = calloc(n ? (size_t)n : 1, sizeof *err);
    if (!segs || !err) {
        free(err);
        goto nomem;
    }
    au_hash_job_t job = {.paths = paths, .segs = segs, .err = err};
    cmd_par_each(au_hash_one, &job, (size_t)n, cmd_workers());
    for (int i = 0; i < n; i++) {
        /* gone since the scan (a concurrent expiry): it records the removal, not us */
        if (err[i] == ENOENT)
            continue;
        if (err[i]) {
            fprintf(stderr, "%s: %s: cannot hash for the audit log: %s\n", prog, paths[i],
                    strerror(err[i]));
            free(err);
            goto out;
        }
        segs[n_segs] = segs[i]; /* n_segs <= i: in order, over the skipped */
        if (!(segs[n_segs].path = strdup(au_rel(h->dir, paths[i])))) {
            free(err);
            goto nomem;
        }
        n_segs++;
    }
    free(err);
    json_t *o = au_entry_head("hunt", h->now_ms, h->argc, h->argv);
    json_object_set_new(o, "from", h->from_ms ? json_integer((json_int_t)h->from_ms) : json_null());
    json_object_set_new(o, "to",
                        h->to_ms != UINT64_MAX ? json_integer((json_int_t)h->to_ms) : json_null());
    json_object_set_new(o, "config_sha256", json_string(cfg_hex));
    au_put_inputs(o, h->inputs, h->n_inputs);
    if (au_put_segs(o, "segments", segs, n_segs) != 0) {
        json_decref(o);
        goto nomem;
    }
    json_object_set_new(o, "report_sha256", json_string(rep_hex));
    json_object_set_new(o, "report_bytes", json_integer((json_int_t)report->n));
    json_object_set_new(o, "reported", json_integer(h->reported));
    json_object_set_new(o, "exit", json_integer(h->status));
    rc = au_commit(prog, h->dir, &log, o);
    goto out;
nomem:
    fprintf(stderr, "%s: audit entry: out of memory\n", prog);
out:
    au_log_unlock(&log);
    free(cfg_text);
    au_segs_free(segs, n_segs);
    seg_dir_list_free(paths, n);
    return rc;
}

int au_expire_hash(au_expire_t *x, const char *dir, const char *path)
{
    return au_seg_add(&x->segs, &x->n, &x->cap, dir, path);
}

void au_expire_forget(au_expire_t *x)
{
    if (x->n)
        free(x->segs[--x->n].path);
}

int au_expire_begin(au_expire_t *x, const char *dir)
{
    x->log = malloc(sizeof *x->log);
    if (!x->log) {
        fprintf(stderr, "flowhunt expire: out of memory\n");
        return -1;
    }
    if (au_log_lock("flowhunt expire", dir, x->log) != 0) {
        free(x->log);
        x->log = NULL;
        return -1;
    }
    return 0;
}

void au_expire_free(au_expire_t *x)
{
    au_segs_free(x->segs, x->n);
    if (x->log) {
        au_log_unlock(x->log);
        free(x->log);
    }
    memset(x, 0, sizeof *x);
}

int au_record_expire(au_expire_t *x, const char *dir, int argc, char **argv, uint64_t now_ms,
                     int status)
{
    static const char prog[] = "flowhunt expire";
    int rc = 0;
    if (x->n) {
        json_t *o = au_entry_head("expire", now_ms, argc, argv);
        if (au_put_segs(o, "removed", x->segs, x->n) != 0) {
            json_decref(o);
            fprintf(stderr, "%s: audit entry: out of memory\n", prog);
            rc = -1;
        } else {
            json_object_set_new(o, "exit", json_integer(status));
            rc = au_commit(prog, dir, x->log, o);
        }
    }
    au_expire_free(x);
    return rc;
}

int au_record_ack(const char *dir, int argc, char **argv, uint64_t now_ms, const char *fp,
                  const char *reason, uint64_t until_ms, int status)
{
    const char *prog = reason ? "flowhunt ack" : "flowhunt unack";
    json_t *o = au_entry_head(reason ? "ack" : "unack", now_ms, argc, argv);
    json_object_set_new(o, "fingerprint", json_string(fp));
    if (reason) {
        json_object_set_new(o, "reason", au_jstr(reason));
        json_object_set_new(o, "until", until_ms ? json_integer((json_int_t)until_ms) : json_null());
    }
    json_object_set_new(o, "exit", json_integer(status));
    return au_commit(prog, dir, NULL, o);
}

/* ---- checking the chain ------------------------------------------------------------------ */

static int au_failf(au_fail_t *f, long line, long long seq, const char *seg, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int au_failf(au_fail_t *f, long line, long long seq, const char *seg, const char *fmt, ...)
{
    f->line = line;
    f->seq = seq;
    snprintf(f->segment, sizeof f->segment, "%s", seg ? seg : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->what, sizeof f->what, fmt, ap);
    va_end(ap);
    return 1;
}

/* A listed path must stay inside DIR/flows: a log is input, and an edited one must not send
 * verify reading elsewhere. */
static int au_path_ok(const char *p)
{
    if (strncmp(p, "flows/", 6) != 0)
        return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 2 && s[0] == '.' && s[1] == '.') || (n == 1 && s[0] == '.'))
            return 0;
        s += n;
        if (*s == '/')
            s++;
        if (*s == '\0' && s[-1] == '/')
            return 0;
    }
    return 1;
}

static const char *au_jhex(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && strlen(s) == AU_HEX_LEN && au_is_hex(s, AU_HEX_LEN) ? s : NULL;
}

/* The segments of one entry into c->s, and their list's hash checked. 0 or 1 (*fail). */
static int au_chain_segs(au_chain_t *c, json_t *o, au_entry_t *e, au_fail_t *fail)
{
    const char *key = e->expire ? "removed" : "segments";
    json_t *arr = json_object_get(o, key);
    const char *want = au_jhex(o, "segments_sha256");
    if (!json_is_array(arr) || !want)
        return au_failf(fail, e->line, e->seq, NULL, "\"%s\" or \"segments_sha256\" missing", key);
    sha256_t *md = sha256_begin();
    if (!md)
        return -1;
    int rc = 0;
    size_t i;
    json_t *s;
    e->first_seg = c->n_s;
    json_array_foreach(arr, i, s)
    {
        const char *path = json_string_value(json_object_get(s, "path"));
        json_t *size = json_object_get(s, "size");
        const char *sha = au_jhex(s, "sha256");
        char line[4300];
        int k;
        if (!path || !au_path_ok(path) || !json_is_integer(size) || json_integer_value(size) < 0 ||
            !sha ||
            (k = au_seg_line(line, sizeof line, path, (uint64_t)json_integer_value(size), sha)) <
                0) {
            rc = au_failf(fail, e->line, e->seq, path, "segment %zu of \"%s\" is malformed", i + 1,
                          key);
            goto out;
        }
        if (sha256_update(md, line, (size_t)k) != 0) {
            rc = -1;
            goto out;
        }
        au_entry_seg_t *es = au_grow(c->s, &c->cap_s, c->n_s, sizeof *c->s);
        if (es)
            c->s = es;
        if (!es || !((es = &c->s[c->n_s])->path = strdup(path))) {
            rc = -1;
            goto out;
        }
        es->size = (uint64_t)json_integer_value(size);
        memcpy(es->sha, sha, sizeof es->sha);
        es->entry = c->n;
        c->n_s++;
    }
    e->n_segs = c->n_s - e->first_seg;
    char got[AU_HEX_LEN + 1];
    if (au_md_final(md, got) != 0)
        rc = -1;
    else if (strcmp(got, want) != 0)
        rc = au_failf(fail, e->line, e->seq, NULL,
                      "segments_sha256 does not match the list: expected %s, found %s", got, want);
out:
    sha256_free(md);
    return rc;
}

/* The seq as written, to name a line too damaged to parse (0 when it does not start so). */
static long long au_raw_seq(const char *p, size_t len)
{
    long long seq = 0;
    if (len > 7 && memcmp(p, "{\"seq\":", 7) == 0)
        for (size_t i = 7; i < len && i < 25 && p[i] >= '0' && p[i] <= '9'; i++)
            seq = seq * 10 + (p[i] - '0');
    return seq;
}

/* One line (without its newline): syntax, seq, prev, own hash, members. */
static int au_chain_line(au_chain_t *c, const char *p, size_t len, long line_no, long long want_seq,
                         const char *want_prev, au_fail_t *fail)
{
    long long raw_seq = au_raw_seq(p, len);
    if (len < AU_SUFFIX_LEN + 2 || memcmp(p + len - AU_SUFFIX_LEN, ",\"hash\":\"", 9) != 0 ||
        !au_is_hex(p + len - AU_SUFFIX_LEN + 9, AU_HEX_LEN) || memcmp(p + len - 2, "\"}", 2) != 0)
        return au_failf(fail, line_no, raw_seq, NULL,
                        "the line does not end in ,\"hash\":\"<64 lower-case hex>\"}");
    json_error_t jerr;
    json_t *o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return au_failf(fail, line_no, raw_seq, NULL, "not a JSON object: %s (column %d)",
                        jerr.text, jerr.column);
    }
    int rc = 0;
    json_t *seq = json_object_get(o, "seq");
    long long got_seq = json_is_integer(seq) ? json_integer_value(seq) : -1;
    const char *prev = au_jhex(o, "prev"), *kind = json_string_value(json_object_get(o, "kind"));
    char own[AU_HEX_LEN + 1], recorded[AU_HEX_LEN + 1];
    memcpy(recorded, p + len - AU_SUFFIX_LEN + 9, AU_HEX_LEN);
    recorded[AU_HEX_LEN] = '\0';
    if (got_seq != want_seq) {
        rc = au_failf(fail, line_no, got_seq, NULL, "seq: expected %lld, found %lld", want_seq,
                      got_seq);
        goto out;
    }
    if (!prev || strcmp(prev, want_prev) != 0) {
        rc = au_failf(fail, line_no, got_seq, NULL,
                      "prev does not match the hash of the entry before: expected %s, found %s",
                      want_prev, prev ? prev : "(missing or malformed)");
        goto out;
    }
    if (au_sha256(p, len - AU_SUFFIX_LEN, own) != 0) {
        rc = -1;
        goto out;
    }
    if (strcmp(own, recorded) != 0) {
        rc = au_failf(fail, line_no, got_seq, NULL,
                      "the entry's content does not match its hash: computed %s, recorded %s", own,
                      recorded);
        goto out;
    }
    if (!kind || (strcmp(kind, "hunt") != 0 && strcmp(kind, "expire") != 0 &&
                  strcmp(kind, "ack") != 0 && strcmp(kind, "unack") != 0)) {
        rc = au_failf(fail, line_no, got_seq, NULL, "kind is not hunt, expire, ack or unack");
        goto out;
    }
    au_entry_t *grown = au_grow(c->e, &c->cap, c->n, sizeof *c->e);
    if (!grown) {
        rc = -1;
        goto out;
    }
    c->e = grown;
    au_entry_t *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->line = line_no;
    e->seq = got_seq;
    e->expire = strcmp(kind, "expire") == 0;
    e->ack = strcmp(kind, "ack") == 0 ? 1 : strcmp(kind, "unack") == 0 ? 2 : 0;
    snprintf(e->time, sizeof e->time, "%s", json_string_value(json_object_get(o, "time")) ?: "?");
    e->exit_status = json_integer_value(json_object_get(o, "exit"));
    memcpy(e->hash, recorded, sizeof e->hash);
    if (e->ack) {
        /* an acknowledgement names its finding, and a given one its reason; no segments */
        const char *fp = json_string_value(json_object_get(o, "fingerprint"));
        json_t *until = json_object_get(o, "until");
        if (!fp || strlen(fp) != 16 || !au_is_hex(fp, 16) ||
            (e->ack == 1 && (!json_is_string(json_object_get(o, "reason")) ||
                             !(json_is_null(until) || json_is_integer(until))))) {
            rc = au_failf(fail, line_no, got_seq, NULL,
                          "fingerprint, reason or until missing or malformed");
            goto out;
        }
        memcpy(e->fp, fp, sizeof e->fp);
        c->n++;
        goto out;
    }
    const char *cfg = au_jhex(o, "config_sha256"), *rep = au_jhex(o, "report_sha256");
    if (!e->expire && (!cfg || !rep)) {
        rc = au_failf(fail, line_no, got_seq, NULL,
                      "config_sha256 or report_sha256 missing or malformed");
        goto out;
    }
    snprintf(e->config, sizeof e->config, "%s", cfg ? cfg : "");
    snprintf(e->report, sizeof e->report, "%s", rep ? rep : "");
    e->reported = json_integer_value(json_object_get(o, "reported"));
    rc = au_chain_segs(c, o, e, fail);
    if (rc == 0)
        c->n++;
out:
    json_decref(o);
    return rc;
}

int au_chain_check(const char *buf, size_t len, au_chain_t *c, au_fail_t *fail)
{
    memset(c, 0, sizeof *c);
    memset(fail, 0, sizeof *fail);
    char prev[AU_HEX_LEN + 1];
    memcpy(prev, au_genesis, sizeof prev);
    long line_no = 0;
    for (size_t off = 0; off < len;) {
        line_no++;
        const char *p = buf + off, *nl = memchr(p, '\n', len - off);
        if (!nl)
            return au_failf(fail, line_no, au_raw_seq(p, len - off), NULL,
                            "the last line is incomplete (%zu bytes, no newline): the log was "
                            "cut short",
                            len - off);
        size_t n = (size_t)(nl - p);
        int rc = au_chain_line(c, p, n, line_no, (long long)c->n + 1, prev, fail);
        if (rc != 0)
            return rc;
        memcpy(prev, p + n - AU_SUFFIX_LEN + 9, AU_HEX_LEN);
        off += n + 1;
    }
    return 0;
}

void au_chain_free(au_chain_t *c)
{
    for (size_t i = 0; i < c->n_s; i++)
        free(c->s[i].path);
    free(c->s);
    free(c->e);
    memset(c, 0, sizeof *c);
}

/* ---- verifying the segments -------------------------------------------------------------- */

/* A file as it is now, hashed once however many entries list it. */
typedef struct au_file {
    const char *path;
    int state; /* 0 not hashed, 1 hashed, 2 gone, 3 unreadable (errno in err) */
    int err;
    uint64_t size;
    char sha[AU_HEX_LEN + 1];
} au_file_t;

static int au_file_cmp(const void *a, const void *b)
{
    return strcmp(((const au_file_t *)a)->path, ((const au_file_t *)b)->path);
}

/* An expiry's removed segment, by path and then seq. */
typedef struct au_gone {
    const char *path;
    long long seq;
    const char *sha;
} au_gone_t;

static int au_gone_cmp(const void *a, const void *b)
{
    const au_gone_t *x = a, *y = b;
    int r = strcmp(x->path, y->path);
    return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The first recorded removal of `path` after entry `seq`, or NULL. */
static const au_gone_t *au_gone_after(const au_gone_t *g, size_t n, const char *path, long long seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first with path >= path */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(g[mid].path, path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && strcmp(g[lo].path, path) == 0; lo++)
        if (g[lo].seq > seq)
            return &g[lo];
    return NULL;
}

/* Reads DIR/hunt/audit.log under a shared lock (no appender mid-line). NULL and errno. */
static char *au_read_log(const char *dir, char *path, size_t path_cap, size_t *len)
{
    snprintf(path, path_cap, "%s/hunt/%s", dir, AU_LOG_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    struct stat st;
    int e = 0;
    while (flock(fd, LOCK_SH) != 0)
        if (errno != EINTR) {
            e = errno;
            goto out;
        }
    if (fstat(fd, &st) != 0) {
        e = errno;
        goto out;
    }
    cap = (size_t)st.st_size + 1;
    if (!(buf = malloc(cap))) {
        e = ENOMEM;
        goto out;
    }
    while (n < cap - 1) {
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            e = errno;
            break;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
out:
    close(fd);
    if (e) {
        free(buf);
        errno = e;
        return NULL;
    }
    *len = n;
    return buf;
}

/* Checks entry e's segments. 0, 1 (*fail) or 2 (unreadable, message printed). */
static int au_verify_entry(const char *dir, const au_chain_t *c, const au_entry_t *e,
                           au_file_t *files, size_t n_files, const au_gone_t *gone, size_t n_gone,
                           au_fail_t *fail, size_t *ok, size_t *expired, au_verify_stats_t *st)
{
    *ok = *expired = 0;
    for (size_t i = e->first_seg; i < e->first_seg + e->n_segs && !e->expire; i++) {
        const au_entry_seg_t *s = &c->s[i];
        const au_gone_t *g = au_gone_after(gone, n_gone, s->path, e->seq);
        if (g) {
            /* removed later: the removal must be of the bytes this run read */
            if (strcmp(g->sha, s->sha) != 0)
                return au_failf(fail, e->line, e->seq, s->path,
                                "changed before its expiry (seq %lld): sha256 expected %s, "
                                "removed %s",
                                g->seq, s->sha, g->sha);
            (*expired)++;
            continue;
        }
        au_file_t key = {.path = s->path};
        au_file_t *f = bsearch(&key, files, n_files, sizeof *files, au_file_cmp);
        if (!f)
            return -1; /* every listed path is in the table */
        if (f->state == 0) {
            char full[8400];
            uint32_t crc;
            int have_crc;
            snprintf(full, sizeof full, "%s/%s", dir, f->path);
            if (au_hash_file(full, f->sha, &f->size, &crc, &have_crc) == 0) {
                f->state = 1;
            } else {
                f->err = errno;
                f->state = errno == ENOENT ? 2 : 3;
            }
            st->files_hashed += f->state == 1;
        }
        if (f->state == 2)
            return au_failf(fail, e->line, e->seq, s->path,
                            "missing, and no later expiry recorded its removal: expected "
                            "sha256 %s (%llu bytes), found no file",
                            s->sha, (unsigned long long)s->size);
        if (f->state == 3) {
            fprintf(stderr, "flowhunt audit: %s/%s: %s\n", dir, f->path, strerror(f->err));
            return 2;
        }
        if (strcmp(f->sha, s->sha) != 0 || f->size != s->size)
            return au_failf(fail, e->line, e->seq, s->path,
                            "content changed: expected sha256 %s (%llu bytes), found %s (%llu "
                            "bytes)",
                            s->sha, (unsigned long long)s->size, f->sha,
                            (unsigned long long)f->size);
        (*ok)++;
    }
    return 0;
}

int au_chain_load(const char *dir, au_chain_t *c, au_fail_t *fail)
{
    char path[4300];
    size_t len = 0;
    memset(c, 0, sizeof *c);
    memset(fail, 0, sizeof *fail);
    char *buf = au_read_log(dir, path, sizeof path, &len);
    if (!buf) {
        fprintf(stderr, "flowhunt audit: %s: %s\n", path, strerror(errno));
        return 2;
    }
    int rc = au_chain_check(buf, len, c, fail);
    free(buf);
    if (rc < 0) {
        fprintf(stderr, "flowhunt audit: out of memory\n");
        rc = 2;
    }
    return rc;
}

int au_verify(const char *dir, const char *head, int quiet, FILE *out, au_fail_t *fail,
              au_verify_stats_t *st)
{
    memset(st, 0, sizeof *st);
    au_chain_t c;
    int rc = au_chain_load(dir, &c, fail);
    au_file_t *files = NULL;
    au_gone_t *gone = NULL;
    size_t n_files = 0, n_gone = 0;
    if (rc != 0)
        goto out;
    st->entries = c.n;
    memcpy(st->head, c.n ? c.e[c.n - 1].hash : au_genesis, sizeof st->head);
    if (head) {
        size_t i = 0;
        while (i < c.n && strcmp(c.e[i].hash, head) != 0)
            i++;
        if (i == c.n) {
            rc = au_failf(fail, 0, 0, NULL,
                          "no entry has the hash %s: the log was rewritten or cut back", head);
            goto out;
        }
    }
    files = calloc(c.n_s + 1, sizeof *files);
    gone = calloc(c.n_s + 1, sizeof *gone);
    if (!files || !gone) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < c.n_s; i++) {
        const au_entry_t *e = &c.e[c.s[i].entry];
        if (e->expire)
            gone[n_gone++] = (au_gone_t){c.s[i].path, e->seq, c.s[i].sha};
        else
            files[n_files++] = (au_file_t){.path = c.s[i].path};
    }
    qsort(gone, n_gone, sizeof *gone, au_gone_cmp);
    qsort(files, n_files, sizeof *files, au_file_cmp);
    size_t u = 0; /* one row per path */
    for (size_t i = 0; i < n_files; i++)
        if (u == 0 || strcmp(files[u - 1].path, files[i].path) != 0)
            files[u++] = files[i];
    n_files = u;
    for (size_t i = 0; i < c.n; i++) {
        const au_entry_t *e = &c.e[i];
        size_t ok, expired;
        rc = au_verify_entry(dir, &c, e, files, n_files, gone, n_gone, fail, &ok, &expired, st);
        if (rc != 0)
            goto out;
        st->seg_ok += ok;
        st->seg_expired += expired;
        if (e->expire) {
            st->expiries++;
            if (!quiet)
                fprintf(out, "seq %lld line %ld expire %s: %zu segments removed\n", e->seq, e->line,
                        e->time, e->n_segs);
            continue;
        }
        if (e->ack) {
            if (e->ack == 1)
                st->acks++;
            else
                st->unacks++;
            if (!quiet)
                fprintf(out, "seq %lld line %ld %s %s: %s\n", e->seq, e->line,
                        e->ack == 1 ? "ack" : "unack", e->time, e->fp);
            continue;
        }
        st->hunts++;
        if (!quiet) {
            fprintf(out, "seq %lld line %ld hunt %s: %zu segments: %zu ok", e->seq, e->line,
                    e->time, e->n_segs, ok);
            if (expired)
                fprintf(out, ", %zu expired", expired);
            fprintf(out, "; config %.16s, report %.16s (%lld findings, exit %lld)\n", e->config,
                    e->report, e->reported, e->exit_status);
        }
    }
out:
    if (rc < 0) {
        fprintf(stderr, "flowhunt audit: out of memory\n");
        rc = 2;
    }
    free(files);
    free(gone);
    au_chain_free(&c);
    return rc;
}
