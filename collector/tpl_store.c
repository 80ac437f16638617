/* tpl_store.c: template persistence (see tpl_store.h).
 *
 * File layout, little-endian:
 *   magic "FHTPLST1" | payload length u32 | payload checksum u32 (CRC-32C) | payload
 * payload: a series of scopes, each:
 *   exporter (16) | version u16 | domain u32 | default_interval u32 | sysinit_ms u64 |
 *   n_samplers u32, then (sampler id u64, interval u32) each |
 *   n_templates u32, then each: id u16 | is_options u8 | scope_count u16 | n_fields u16 |
 *   fields (id u16, len u16, pen u32) each
 * Templates are re-defined through tpl_define(), so a stored definition goes through the same
 * validation as one from the wire.
 *
 * Scopes are written least recently used first, so loading them in file order (each new scope
 * becomes the most recently used) rebuilds the cache's order, and should the cache be smaller
 * at load, its bound evicts the same scopes it would have evicted before the restart. An
 * evicted scope is gone from the cache, and an eviction marks the cache changed, so the next
 * save leaves it out. The file is bounded: the cache's bounds bound it, and should a scope not
 * fit within TPLS_MAX_FILE the least recently used ones are left out (logged), never the file.
 */
#include "tpl_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "seg.h"

#define TPLS_MAGIC "FHTPLST1"
#define TPLS_MAX_FILE (64u << 20)

typedef struct tpls_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} tpls_buf_t;

static void tpls_put(tpls_buf_t *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        uint8_t *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

#define TPLS_PUT(b, type, v)                                                                       \
    do {                                                                                           \
        type tmp_ = (type)(v);                                                                     \
        tpls_put((b), &tmp_, sizeof tmp_);                                                         \
    } while (0)

static void tpls_put_sampler(void *arg, uint64_t sampler, uint32_t interval)
{
    tpls_buf_t *b = arg;
    TPLS_PUT(b, uint64_t, sampler);
    TPLS_PUT(b, uint32_t, interval);
}

/* The bytes a scope takes in the file (see the layout above). */
static void tpls_add_tpl_size(void *arg, const tpl_t *t)
{
    *(size_t *)arg += 7 + (size_t)t->n_fields * 8;
}

static size_t tpls_scope_size(const tpl_scope_t *s)
{
    size_t n = 16 + 2 + 4 + 4 + 8 + 4 + (size_t)tpl_n_samplers(s) * 12 + 4;
    tpl_foreach(s, tpls_add_tpl_size, &n);
    return n;
}

static void tpls_put_template(void *arg, const tpl_t *t)
{
    tpls_buf_t *b = arg;
    TPLS_PUT(b, uint16_t, t->id);
    TPLS_PUT(b, uint8_t, t->is_options);
    TPLS_PUT(b, uint16_t, t->scope_count);
    TPLS_PUT(b, uint16_t, t->n_fields);
    for (uint16_t i = 0; i < t->n_fields; i++) {
        TPLS_PUT(b, uint16_t, t->fields[i].id);
        TPLS_PUT(b, uint16_t, t->fields[i].len);
        TPLS_PUT(b, uint32_t, t->fields[i].pen);
    }
}

uint8_t *tpl_store_encode(const tpl_cache_t *c, size_t *len)
{
    tpls_buf_t b = {0};
    tpls_put(&b, TPLS_MAGIC, 8);
    TPLS_PUT(&b, uint32_t, 0); /* payload length, patched */
    TPLS_PUT(&b, uint32_t, 0); /* checksum, patched */
    /* The most recently used scopes that fit, then written from the oldest of them on. */
    const tpl_scope_t *oldest = NULL;
    size_t budget = TPLS_MAX_FILE - 16;
    uint32_t n_left_out = 0;
    for (const tpl_scope_t *s = c->all_head; s; s = s->all_next) {
        size_t n = tpls_scope_size(s);
        if (n > budget) {
            for (; s; s = s->all_next)
                n_left_out++;
            break;
        }
        budget -= n;
        oldest = s;
    }
    if (n_left_out) {
        static log_limit_t lim_full = LOG_LIMIT_INIT(2, 600);
        log_limited(&lim_full, LOG_WARN,
                    "templates of %u least recently used scopes not saved: over %u MiB", n_left_out,
                    TPLS_MAX_FILE >> 20);
    }
    for (const tpl_scope_t *s = oldest; s; s = s->all_prev) {
        tpls_put(&b, s->exporter.b, 16);
        TPLS_PUT(&b, uint16_t, s->version);
        TPLS_PUT(&b, uint32_t, s->domain);
        TPLS_PUT(&b, uint32_t, s->default_interval);
        TPLS_PUT(&b, uint64_t, s->sysinit_ms);
        TPLS_PUT(&b, uint32_t, tpl_n_samplers(s));
        tpl_foreach_sampler(s, tpls_put_sampler, &b);
        TPLS_PUT(&b, uint32_t, s->n_templates);
        tpl_foreach(s, tpls_put_template, &b);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    uint32_t plen = (uint32_t)(b.len - 16), crc = crc32c(b.p + 16, plen);
    memcpy(b.p + 8, &plen, 4);
    memcpy(b.p + 12, &crc, 4);
    *len = b.len;
    return b.p;
}

int tpl_store_save(tpl_cache_t *c, const char *state_dir, int worker_id)
{
    if (c->generation == c->saved_generation)
        return 0;
    size_t len;
    uint8_t *img = tpl_store_encode(c, &len);
    if (!img) {
        log_msg(LOG_ERROR, "templates not saved: out of memory");
        return -1;
    }
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/templates-w%d.bin", state_dir, worker_id);
    snprintf(tmp, sizeof tmp, "%s/.templates-w%d.bin.tmp", state_dir, worker_id);
    int rc = -1;
    int fd = -1;
    if (seg_dir_mkdirs(state_dir) == 0 &&
        (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(fd, img + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        if (off == len && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            rc = rename(tmp, path);
        }
    }
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        static log_limit_t lim = LOG_LIMIT_INIT(3, 300);
        log_limited(&lim, LOG_ERROR, "templates not saved to %s: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        c->saved_generation = c->generation;
    }
    free(img);
    return rc == 0 ? 0 : -1;
}

/* ---- loading ---------------------------------------------------------------------------- */

typedef struct tpls_rd {
    const uint8_t *p;
    size_t rem;
    int bad;
} tpls_rd_t;

static void tpls_get(tpls_rd_t *r, void *out, size_t n)
{
    if (r->bad || r->rem < n) {
        r->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->rem -= n;
}

#define TPLS_GET(r, type, dst)                                                                     \
    do {                                                                                           \
        type tmp_;                                                                                 \
        tpls_get((r), &tmp_, sizeof tmp_);                                                         \
        (dst) = tmp_;                                                                              \
    } while (0)

int tpl_store_decode(tpl_cache_t *c, const uint8_t *payload, size_t len, tpl_store_keep_fn keep,
                     void *arg, int *damaged)
{
    tpls_rd_t r = {payload, len, 0};
    tpl_field_t fields[TPL_MAX_FIELDS];
    dec_counts_t counts;
    memset(&counts, 0, sizeof counts);
    int defined = 0;
    while (r.rem && !r.bad) {
        flow_addr_t addr;
        uint16_t version;
        uint32_t domain, interval, n_samplers, n_templates;
        uint64_t sysinit;
        tpls_get(&r, addr.b, 16);
        TPLS_GET(&r, uint16_t, version);
        TPLS_GET(&r, uint32_t, domain);
        TPLS_GET(&r, uint32_t, interval);
        TPLS_GET(&r, uint64_t, sysinit);
        int want = !keep || keep(&addr, arg);
        tpl_scope_t *s = want && !r.bad ? tpl_scope_get(c, &addr, version, domain) : NULL;
        if (s) {
            s->default_interval = interval;
            s->sysinit_ms = sysinit;
        }
        TPLS_GET(&r, uint32_t, n_samplers);
        for (uint32_t i = 0; i < n_samplers && !r.bad; i++) {
            uint64_t id;
            uint32_t iv;
            TPLS_GET(&r, uint64_t, id);
            TPLS_GET(&r, uint32_t, iv);
            if (s && !r.bad)
                tpl_set_sampler(s, id, iv);
        }
        TPLS_GET(&r, uint32_t, n_templates);
        for (uint32_t i = 0; i < n_templates && !r.bad; i++) {
            uint16_t id, scope_count, n_fields;
            uint8_t is_options;
            TPLS_GET(&r, uint16_t, id);
            TPLS_GET(&r, uint8_t, is_options);
            TPLS_GET(&r, uint16_t, scope_count);
            TPLS_GET(&r, uint16_t, n_fields);
            if (n_fields > TPL_MAX_FIELDS) {
                r.bad = 1;
                break;
            }
            for (uint16_t k = 0; k < n_fields; k++) {
                TPLS_GET(&r, uint16_t, fields[k].id);
                TPLS_GET(&r, uint16_t, fields[k].len);
                TPLS_GET(&r, uint32_t, fields[k].pen);
            }
            if (s && !r.bad &&
                tpl_define(s, version, id, is_options, fields, n_fields, scope_count, &counts))
                defined++;
        }
    }
    *damaged = r.bad;
    return defined;
}

static int tpls_load_file(tpl_cache_t *c, const char *path, tpl_store_keep_fn keep, void *arg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t hdr[16];
    int defined = 0, damaged = 1;
    uint8_t *payload = NULL;
    uint32_t plen = 0, crc = 0;
    if (fread(hdr, 1, 16, f) == 16 && memcmp(hdr, TPLS_MAGIC, 8) == 0) {
        memcpy(&plen, hdr + 8, 4);
        memcpy(&crc, hdr + 12, 4);
        if (plen <= TPLS_MAX_FILE && (payload = malloc(plen ? plen : 1)) &&
            fread(payload, 1, plen, f) == plen && crc32c(payload, plen) == crc)
            defined = tpl_store_decode(c, payload, plen, keep, arg, &damaged);
    }
    if (damaged)
        log_msg(LOG_WARN, "ignoring damaged template file %s", path);
    free(payload);
    fclose(f);
    return defined;
}

typedef struct tpls_file {
    struct timespec mtime;
    char name[256];
} tpls_file_t;

static int tpls_cmp_file(const void *pa, const void *pb)
{
    const tpls_file_t *a = pa, *b = pb;
    if (a->mtime.tv_sec != b->mtime.tv_sec)
        return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec)
        return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    return strcmp(a->name, b->name);
}

int tpl_store_load(tpl_cache_t *c, const char *state_dir, int own_id, tpl_store_keep_fn keep,
                   void *arg)
{
    DIR *d = opendir(state_dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    tpls_file_t *files = NULL;
    size_t n_files = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "templates-w", 11) != 0 || n < 15 || n >= sizeof files->name ||
            strcmp(e->d_name + n - 4, ".bin") != 0)
            continue;
        char path[4400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", state_dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (n_files == cap) {
            tpls_file_t *nf = realloc(files, (cap = cap ? cap * 2 : 8) * sizeof *files);
            if (!nf)
                break;
            files = nf;
        }
        files[n_files].mtime = st.st_mtim;
        memcpy(files[n_files++].name, e->d_name, n + 1);
    }
    closedir(d);
    /* Oldest first, so the newest definition of a template wins: a file of a worker that a
     * smaller --workers no longer starts is never rewritten, and read after its exporter's
     * new owner's file it brought back a template the exporter had since redefined. */
    if (n_files > 1) /* qsort wants a non-null array, even of none */
        qsort(files, n_files, sizeof *files, tpls_cmp_file);
    char own[32];
    snprintf(own, sizeof own, "templates-w%d.bin", own_id);
    int total = 0, foreign = 0;
    for (size_t i = 0; i < n_files; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", state_dir, files[i].name);
        int k = tpls_load_file(c, path, keep, arg);
        total += k;
        foreign |= k > 0 && own_id >= 0 && strcmp(files[i].name, own) != 0;
    }
    free(files);
    /* What was just loaded is what is on disk: nothing to save until something changes,
     * unless some came from another worker's file (another --workers before): then this
     * worker's own file must hold them too, and be newer. */
    if (!foreign)
        c->saved_generation = c->generation;
    return total;
}
