/* hunt_unit.c: whole hours of prepared conversations, kept under DIR/hunt/cache.
 *
 * Why a unit's conversations are exactly those a run over any window holding its hour gets.
 * Preparation (hunt_prep.c) joins records only within one conversation key K (stitching within
 * a 5-tuple and exporter, deduplication within a 5-tuple, pairing within K) and only across
 * small gaps: stitch_gap_s, dedup_tolerance_ms, pair_tolerance_ms, all below the margin M. Call
 * K interior to the hour [h, e) when every record of K that starts in the hour lies within
 * [h + M, e - M) and no record of K outside comes within M of the hour: none starts before h
 * and ends at h - M or later, none starts in [e, e + M). Then, in each of preparation's orders
 * (by key, then by start), the hour's records of K form a block that every other record of K
 * is more than 2M away from in time: no chain, duplicate cluster or pair crosses the block's
 * edges, so preparing the block alone gives exactly its conversations, and taking the block
 * away changes nothing for the other records of K. The proof needs nothing of the window but
 * that it holds the whole hour, so one file serves every later run. The records of the other
 * keys (a few per cent: those near an edge) are kept raw and prepared at run time with the rows
 * of the hours that are not cached. Keys are compared by a 64-bit hash: a collision only keeps
 * more records raw.
 *
 * A unit's file is valid while what preparation reads of the configuration and the segments
 * that could hold its rows or touch its margins (their row groups overlap [h - M, e + M)) are
 * those it was built from (name, size, modification time): a late export, an import, an
 * expired or recovered segment or a changed setting builds it again. "The segments" are those
 * the run's own window lists (by name: the daemon names segments by arrival, which may be far
 * from the flows' times), and of those every row group overlapping the hour and its margins,
 * whatever the window: so a file is the same whichever run built it, and a run reads, from
 * the cache, exactly the rows it would read from those segments. Files are renamed into
 * place and checked by CRC-32C before use, never fsynced: one a crash broke is built again.
 * The file is this machine's structs (sizes in the header): a cache, not an interchange format.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "afile.h"
#include "cmd.h"
#include "crc32c.h"
#include "hunt_unit.h"
#include "version.h"

#define HU_HOUR 3600000ull
#define HU_MAX_UNITS (24u * 400u) /* hours a run keeps at most (the newest) */
/* Of the file and of what preparation computes. A file is trusted to hold what preparation
 * gives today: any change to preparation's output (hunt_prep.c's steps, hunt_conv_t, hp_rec_t's
 * meaning) must bump this, or runs mix old hours with new ones. The program's version is in
 * the hash too, so a release rebuilds every file. */
#define HU_VERSION 6u
#define HU_MAX_ITEMS (1ull << 40)
#define HU_FRAME 1024u /* items per compressed frame: a pass decompresses only its frames */

static const char hu_magic[8] = {'F', 'H', 'U', 'N', 'I', 'T', '0', '3'};

/* The file: this header, n_frames hu_frame_t, then the frames (each one zstd frame of
 * n_items records or conversations). Records, then conversations, each sorted by pass key,
 * so a run hunted in passes decompresses, per pass, only the frames of its keys. */
typedef struct hu_head {
    char magic[8];
    uint32_t rec_size, conv_size; /* sizeof hp_rec_t, hunt_conv_t when written */
    uint64_t unit_ms, cfg_hash, deps;
    uint64_t rows, stitched, duplicates, paired, biflows;
    uint64_t n_edge, n_conv, n_frames;
    uint32_t index_crc; /* CRC-32C of the frame index */
    uint32_t head_crc;  /* CRC-32C of this header with head_crc 0: its counters print as the
                         * report's preparation line, so damage there must not pass either */
} hu_head_t;

static uint32_t hu_head_crc(const hu_head_t *h)
{
    hu_head_t c = *h;
    c.head_crc = 0;
    return crc32c(&c, sizeof c);
}

typedef struct hu_frame {
    uint32_t kind; /* 0 raw records, 1 conversations */
    uint32_t n_items;
    uint64_t key_lo, key_hi; /* pass keys of its first and last item */
    uint64_t off;            /* from the start of the file */
    uint32_t comp_len, crc;  /* CRC-32C of the compressed bytes */
} hu_frame_t;

typedef struct hu_unit {
    uint64_t deps;     /* hash of the segments its file depends on */
    uint64_t est_rows; /* rows of the row groups overlapping it: the size of building it */
    uint64_t n_edge, n_conv; /* cached: what its file holds (hu_load sizes its arrays) */
    uint8_t any;       /* a row group overlaps it */
    uint8_t cached;    /* its rows come from its file (or it has none) */
} hu_unit_t;

struct hu_set {
    const hunt_config_t *cfg;
    const char *dir, *prog;
    char cache[4096];
    uint64_t h0, margin, cfg_hash;
    uint64_t from_ms, to_ms; /* the run's window: it chooses the segments, as the run's own */
    size_t n;
    hu_unit_t *u;
    int workers;
    uint64_t reused, built;
    int warned; /* a file could not be written: said once */
    cmd_progress_t prog_bar;
    /* The scan workers' record arrays, kept from one hu_build to the next (emptied): memory a
     * chunk of hours freed went back to the kernel and was faulted in, zeroed, by the next.
     * A cold run over 20 M flows (three chunks), two alternating pairs: system time 7.3-7.4
     * -> 5.3-5.6 s, wall 20.3-21.0 -> 19.4 s, peak RSS 932-966 -> 973-974 MB (they are freed
     * before the passes, where the peak usually is). */
    hp_recs_t scan_w[16];
};

static void hu_scan_free(hu_set_t *s)
{
    for (int i = 0; i < 16; i++) {
        free(s->scan_w[i].v);
        s->scan_w[i] = (hp_recs_t){0};
    }
}

/* Everything preparation reads of the configuration. */
static uint64_t hu_cfg_hash(const hunt_config_t *c)
{
    uint64_t h = HP_FNV0;
    uint32_t v = HU_VERSION;
    h = hp_fnv(&v, sizeof v, h);
    h = hp_fnv(FH_VERSION, strlen(FH_VERSION), h);
    double d[4] = {c->stitch_gap_s, c->active_min_s, c->dedup_tol_ms, c->pair_tol_ms};
    h = hp_fnv(d, sizeof d, h);
    for (int i = 0; i < c->n_internal; i++) {
        h = hp_fnv(c->internal[i].addr.b, 16, h);
        h = hp_fnv(&c->internal[i].plen, 1, h);
        h = hp_fnv(&c->internal[i].v6only, 1, h);
    }
    return h;
}

static int64_t hu_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The unit index of time t (may be outside 0 .. n-1). */
static int64_t hu_index(const hu_set_t *s, uint64_t t)
{
    return hu_floordiv((int64_t)t - (int64_t)s->h0, (int64_t)HU_HOUR);
}

static uint64_t hu_start(const hu_set_t *s, int64_t k)
{
    return s->h0 + (uint64_t)k * HU_HOUR;
}

static void hu_path(const hu_set_t *s, int64_t k, char *out, size_t cap)
{
    time_t t = (time_t)(hu_start(s, k) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s/%04d%02d%02dT%02d.unit", s->cache, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour);
}

int hu_holds(const hu_set_t *s, uint64_t t)
{
    if (t < s->h0)
        return 0;
    uint64_t k = (t - s->h0) / HU_HOUR;
    return k < s->n && s->u[k].cached;
}

int hu_holds_range(const hu_set_t *s, uint64_t lo, uint64_t hi)
{
    if (lo < s->h0 || hi < lo)
        return 0;
    uint64_t a = (lo - s->h0) / HU_HOUR, b = (hi - s->h0) / HU_HOUR;
    if (b >= s->n)
        return 0;
    for (uint64_t k = a; k <= b; k++)
        if (!s->u[k].cached)
            return 0;
    return 1;
}

void hu_tally(const hu_set_t *s, uint64_t *reused, uint64_t *built)
{
    *reused = s ? s->reused : 0;
    *built = s ? s->built : 0;
}

void hu_close(hu_set_t *s)
{
    if (!s)
        return;
    hu_scan_free(s);
    free(s->u);
    free(s);
}

/* ---- which segments each hour depends on ------------------------------------------------- */

typedef struct hu_grp {
    char *path;
    uint64_t tmin, tmax, rows;
} hu_grp_t;

typedef struct hu_deps {
    pthread_mutex_t mu;
    uint64_t lo, hi; /* the units' span and margins */
    hu_grp_t *v;
    size_t n, cap;
} hu_deps_t;

static int hu_deps_want(void *arg, const seg_file_t *f, uint32_t g)
{
    hu_deps_t *d = arg;
    seg_group_info_t gi;
    seg_group(f, g, &gi);
    if (!(gi.time_min < d->hi && gi.time_max >= d->lo))
        return 0;
    char *path = hj_xstrdup(seg_file_path(f));
    pthread_mutex_lock(&d->mu);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->v = hj_xrealloc(d->v, d->cap * sizeof *d->v);
    }
    d->v[d->n++] = (hu_grp_t){path, gi.time_min, gi.time_max, gi.n_rows};
    pthread_mutex_unlock(&d->mu);
    return 0; /* the headers are all this needs */
}

static int hu_cmp_grp(const void *pa, const void *pb)
{
    const hu_grp_t *a = pa, *b = pb;
    int c = strcmp(a->path, b->path);
    if (c)
        return c;
    return a->tmin < b->tmin ? -1 : a->tmin > b->tmin;
}

/* Fills every unit's deps, est_rows and any from the row groups overlapping the units and
 * their margins. 0, or -1 with a message. */
static int hu_plan(hu_set_t *s)
{
    hu_deps_t d = {.mu = PTHREAD_MUTEX_INITIALIZER};
    seg_where_t where;
    memset(&where, 0, sizeof where);
    d.lo = s->h0 > s->margin ? s->h0 - s->margin : 0;
    d.hi = hu_start(s, (int64_t)s->n) + s->margin;
    int rc = seg_scan_flags(s->dir, s->from_ms, s->to_ms, s->workers, SEG_SCAN_ANY_TIME,
                            hu_deps_want, NULL, &d, NULL, &where);
    if (rc < 0) {
        cmd_print_where(stderr, s->prog, rc, &where);
        for (size_t i = 0; i < d.n; i++)
            free(d.v[i].path);
        free(d.v);
        return -1;
    }
    if (d.n > 1)
        qsort(d.v, d.n, sizeof *d.v, hu_cmp_grp);
    size_t *last = hj_xcalloc(s->n ? s->n : 1, sizeof *last); /* 1 + the path index last added */
    uint64_t key = 0;
    for (size_t i = 0, path_ix = 0; i < d.n; i++) {
        if (i == 0 || strcmp(d.v[i].path, d.v[i - 1].path) != 0) {
            path_ix++;
            /* the file's identity: name under DIR (not DIR as typed: D, ./D, D/ and /abs/D
             * are one store, and a store moved keeps its cache), size and modification time */
            const char *rel = d.v[i].path;
            size_t dl = strlen(s->dir);
            if (strncmp(rel, s->dir, dl) == 0)
                rel += dl;
            while (*rel == '/')
                rel++;
            key = hp_fnv(rel, strlen(rel), HP_FNV0);
            struct stat sb;
            if (stat(d.v[i].path, &sb) == 0) {
                uint64_t id[3] = {(uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec,
                                  (uint64_t)sb.st_mtim.tv_nsec};
                key = hp_fnv(id, sizeof id, key);
            }
        }
        /* units k whose [h - M, e + M) the group [tmin, tmax] overlaps */
        int64_t kmin = hu_floordiv((int64_t)d.v[i].tmin - (int64_t)s->h0 - (int64_t)HU_HOUR -
                                       (int64_t)s->margin,
                                   (int64_t)HU_HOUR) +
                       1;
        int64_t kmax = hu_floordiv((int64_t)d.v[i].tmax + (int64_t)s->margin - (int64_t)s->h0,
                                   (int64_t)HU_HOUR);
        if (kmin < 0)
            kmin = 0;
        if (kmax >= (int64_t)s->n)
            kmax = (int64_t)s->n - 1;
        for (int64_t k = kmin; k <= kmax; k++) {
            hu_unit_t *u = &s->u[k];
            u->any = 1;
            u->est_rows += d.v[i].rows;
            if (last[k] != path_ix) {
                last[k] = path_ix;
                u->deps = (u->deps ^ key) * 0x9e3779b97f4a7c15ull + 1;
            }
        }
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.v[i].path);
    free(last);
    free(d.v);
    return 0;
}

/* ---- unit files ----------------------------------------------------------------------------- */

/* A unit's file, open: its header and frame index, checked against what the unit needs now
 * (configuration, segments) and against the file's size. */
typedef struct hu_file {
    FILE *f;
    hu_head_t h;
    hu_frame_t *fr;
} hu_file_t;

static void hu_file_close(hu_file_t *uf)
{
    if (uf->f)
        fclose(uf->f);
    free(uf->fr);
    memset(uf, 0, sizeof *uf);
}

/* Reads a frame's compressed bytes and checks its CRC; malloc'd, or NULL. */
static void *hu_frame_read(hu_file_t *uf, const hu_frame_t *fr)
{
    void *p = malloc(fr->comp_len ? fr->comp_len : 1);
    if (p && fseeko(uf->f, (off_t)fr->off, SEEK_SET) == 0 &&
        fread(p, 1, fr->comp_len, uf->f) == fr->comp_len && crc32c(p, fr->comp_len) == fr->crc)
        return p;
    free(p);
    return NULL;
}

/* What a unit file must say of itself to serve a run: its hour, and the hashes of the
 * configuration and of the segments it was built from (HU_ANY: whatever the file says). */
#define HU_ANY UINT64_MAX
typedef struct hu_want {
    uint64_t unit_ms, cfg_hash, deps;
} hu_want_t;

static int hu_is(uint64_t want, uint64_t got)
{
    return want == HU_ANY || want == got;
}

/* Checks the unit file f (owned from here: closed on failure) against w and itself: header,
 * index, that the frames tile the file and count every item once, and with check_frames
 * every frame's CRC. 0 (uf holds it), or -1. */
static int hu_file_check(FILE *f, const hu_want_t *w, int check_frames, hu_file_t *uf)
{
    memset(uf, 0, sizeof *uf);
    uf->f = f;
    hu_head_t *h = &uf->h;
    off_t size = -1;
    int ok = fseeko(f, 0, SEEK_END) == 0 && (size = ftello(f)) >= 0 &&
             fseeko(f, 0, SEEK_SET) == 0 && fread(h, sizeof *h, 1, f) == 1 &&
             memcmp(h->magic, hu_magic, 8) == 0 && h->rec_size == sizeof(hp_rec_t) &&
             h->conv_size == sizeof(hunt_conv_t) && hu_is(w->unit_ms, h->unit_ms) &&
             hu_is(w->cfg_hash, h->cfg_hash) && hu_is(w->deps, h->deps) &&
             h->n_edge < HU_MAX_ITEMS && h->n_conv < HU_MAX_ITEMS &&
             h->n_frames <= (h->n_edge + h->n_conv + HU_FRAME - 1) / HU_FRAME + 2 &&
             h->n_frames * sizeof *uf->fr <= (uint64_t)size && h->head_crc == hu_head_crc(h);
    size_t idx_len = ok ? (size_t)h->n_frames * sizeof *uf->fr : 0;
    if (ok) {
        uf->fr = malloc(idx_len ? idx_len : 1);
        ok = uf->fr && fread(uf->fr, 1, idx_len, f) == idx_len &&
             crc32c(uf->fr, idx_len) == h->index_crc;
    }
    /* the frames tile the file after the index, and count every item once */
    uint64_t end = sizeof *h + idx_len, items[2] = {0, 0};
    for (uint64_t i = 0; ok && i < h->n_frames; i++) {
        const hu_frame_t *fr = &uf->fr[i];
        ok = fr->kind <= 1 && fr->off == end && fr->n_items && fr->n_items <= HU_FRAME &&
             fr->key_lo <= fr->key_hi && (i == 0 || fr->kind >= uf->fr[i - 1].kind);
        end += fr->comp_len;
        items[fr->kind & 1] += fr->n_items;
    }
    ok = ok && end == (uint64_t)size && items[0] == h->n_edge && items[1] == h->n_conv;
    for (uint64_t i = 0; ok && check_frames && i < h->n_frames; i++) {
        void *p = hu_frame_read(uf, &uf->fr[i]);
        ok = p != NULL;
        free(p);
    }
    if (!ok)
        hu_file_close(uf);
    return ok ? 0 : -1;
}

/* Opens unit k's file and checks it: 0 when it is the file this run wants (uf open), -1
 * otherwise (missing, stale or broken; uf closed). */
static int hu_file_open(const hu_set_t *s, int64_t k, int check_frames, hu_file_t *uf)
{
    char path[4200];
    hu_path(s, k, path, sizeof path);
    memset(uf, 0, sizeof *uf);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    hu_want_t w = {hu_start(s, k), s->cfg_hash, s->u[k].deps};
    return hu_file_check(f, &w, check_frames, uf);
}

/* Appends the records and conversations of pass `part` (of `parts`) of a checked file;
 * raw holds a frame's items. 0, or -1 when a frame does not read or decompress. */
static int hu_file_items(hu_file_t *uf, uint64_t parts, uint64_t part, uint8_t *raw,
                         hp_recs_t *recs, hunt_conv_t **convs, size_t *n_convs,
                         size_t *cap_convs)
{
    for (uint64_t i = 0; i < uf->h.n_frames; i++) {
        const hu_frame_t *fr = &uf->fr[i];
        /* passes are ranges of keys: a frame outside this pass's range is not read */
        if (hp_pass_of(fr->key_hi, parts) < part || hp_pass_of(fr->key_lo, parts) > part)
            continue;
        size_t size = fr->kind ? sizeof **convs : sizeof(hp_rec_t);
        void *comp = hu_frame_read(uf, fr);
        size_t got = comp ? ZSTD_decompress(raw, HU_FRAME * size, comp, fr->comp_len) : 0;
        free(comp);
        if (!comp || ZSTD_isError(got) || got != fr->n_items * size)
            return -1;
        for (uint32_t j = 0; j < fr->n_items; j++) {
            if (fr->kind == 0) {
                hp_rec_t r;
                memcpy(&r, raw + j * size, sizeof r);
                if (hp_rec_pass(&r, parts) == part)
                    *hp_recs_push(recs) = r;
                continue;
            }
            hunt_conv_t c;
            memcpy(&c, raw + j * size, sizeof c);
            if (hp_conv_pass(&c, parts) != part)
                continue;
            if (*n_convs == *cap_convs) {
                *cap_convs = *cap_convs ? *cap_convs * 2 : 4096;
                *convs = hj_xrealloc(*convs, *cap_convs * sizeof **convs);
            }
            (*convs)[(*n_convs)++] = c;
        }
    }
    return 0;
}

static uint8_t *hu_raw_buf(void)
{
    return hj_xmalloc(HU_FRAME * (sizeof(hp_rec_t) > sizeof(hunt_conv_t) ? sizeof(hp_rec_t)
                                                                          : sizeof(hunt_conv_t)));
}

int hu_file_read(FILE *f, hp_recs_t *recs, hunt_conv_t **convs, size_t *n_convs,
                 size_t *cap_convs)
{
    hu_want_t any = {HU_ANY, HU_ANY, HU_ANY};
    hu_file_t uf;
    if (hu_file_check(f, &any, 1, &uf) != 0)
        return -1;
    uint8_t *raw = hu_raw_buf();
    int rc = hu_file_items(&uf, 1, 0, raw, recs, convs, n_convs, cap_convs);
    free(raw);
    hu_file_close(&uf);
    return rc;
}

/* Appends to f the frames of n items of `size` bytes (kind 0 records, 1 conversations) in the
 * order of their pass keys, recording each in fr[*nf]. 0 or -1. */
static int hu_put_frames(FILE *f, ZSTD_CCtx *cz, int kind, const void *items, size_t n,
                         size_t size, hu_frame_t *fr, uint64_t *nf, uint64_t *off)
{
    /* by pass key, items of one key in their order (a stable radix sort, not qsort: this
     * sort was a twentieth of a cold run) */
    hp_skey_t *ix = hj_xmalloc((n ? n : 1) * sizeof *ix);
    for (size_t i = 0; i < n; i++) {
        const void *it = (const uint8_t *)items + i * size;
        ix[i] = (hp_skey_t){{kind ? hp_conv_key(it) : hp_rec_key(it), 0, 0}, (void *)it};
    }
    hp_sort_keys(ix, n, NULL);
    uint8_t *raw = hj_xmalloc(HU_FRAME * size);
    size_t cap = ZSTD_compressBound(HU_FRAME * size);
    uint8_t *comp = hj_xmalloc(cap);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += HU_FRAME) {
        size_t m = n - i < HU_FRAME ? n - i : HU_FRAME;
        for (size_t j = 0; j < m; j++)
            memcpy(raw + j * size, ix[i + j].p, size);
        size_t len = ZSTD_compressCCtx(cz, comp, cap, raw, m * size, 1);
        if (ZSTD_isError(len) || fwrite(comp, 1, len, f) != len) {
            rc = -1;
            break;
        }
        fr[*nf] = (hu_frame_t){(uint32_t)kind, (uint32_t)m, ix[i].w[0], ix[i + m - 1].w[0], *off,
                               (uint32_t)len, crc32c(comp, len)};
        (*nf)++;
        *off += len;
    }
    free(comp);
    free(raw);
    free(ix);
    return rc;
}

/* Writes unit k's file (a temporary name, then rename). 0, or -1 with errno's message. */
static int hu_write(const hu_set_t *s, int64_t k, const hu_counts_t *c, const hp_rec_t *edge,
                    size_t n_edge, const hunt_conv_t *conv, size_t n_conv, char *err,
                    size_t err_cap)
{
    char path[4200], tmp[4300];
    hu_path(s, k, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s/.unit.%ld.%lld.tmp", s->cache, (long)getpid(), (long long)k);
    af_file_t out; /* not synced: a unit a crash broke fails its CRC and is built again */
    FILE *f = af_open(&out, path, tmp, 0);
    if (!f) {
        snprintf(err, err_cap, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    hu_head_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, hu_magic, 8);
    h.rec_size = sizeof(hp_rec_t);
    h.conv_size = sizeof(hunt_conv_t);
    h.unit_ms = hu_start(s, k);
    h.cfg_hash = s->cfg_hash;
    h.deps = s->u[k].deps;
    h.rows = c->rows;
    h.stitched = c->stitched;
    h.duplicates = c->duplicates;
    h.paired = c->paired;
    h.biflows = c->biflows;
    h.n_edge = n_edge;
    h.n_conv = n_conv;
    uint64_t max_frames = (n_edge + HU_FRAME - 1) / HU_FRAME + (n_conv + HU_FRAME - 1) / HU_FRAME;
    hu_frame_t *fr = hj_xcalloc(max_frames ? max_frames : 1, sizeof *fr);
    uint64_t off = sizeof h + max_frames * sizeof *fr;
    ZSTD_CCtx *cz = ZSTD_createCCtx();
    int ok = cz && fseeko(f, (off_t)off, SEEK_SET) == 0 &&
             hu_put_frames(f, cz, 0, edge, n_edge, sizeof *edge, fr, &h.n_frames, &off) == 0 &&
             hu_put_frames(f, cz, 1, conv, n_conv, sizeof *conv, fr, &h.n_frames, &off) == 0;
    if (ok) {
        h.index_crc = crc32c(fr, (size_t)h.n_frames * sizeof *fr);
        h.head_crc = hu_head_crc(&h);
        ok = h.n_frames == max_frames && fseeko(f, 0, SEEK_SET) == 0 &&
             fwrite(&h, sizeof h, 1, f) == 1 &&
             fwrite(fr, sizeof *fr, (size_t)h.n_frames, f) == h.n_frames;
    }
    int saved = errno;
    ZSTD_freeCCtx(cz);
    free(fr);
    if (!ok)
        af_abort(&out);
    else if (af_commit(&out) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        snprintf(err, err_cap, "%s: %s", path, saved ? strerror(saved) : "cannot compress");
        return -1;
    }
    return 0;
}

/* ---- building hours ----------------------------------------------------------------------- */

typedef struct hu_scan {
    uint64_t lo, hi;
    hp_recs_t w[16];
} hu_scan_t;

static int hu_scan_want(void *arg, const seg_file_t *f, uint32_t g)
{
    const hu_scan_t *sc = arg;
    seg_group_info_t gi;
    seg_group(f, g, &gi);
    return gi.time_min < sc->hi && gi.time_max >= sc->lo;
}

static int hu_scan_batch(void *arg, int worker, seg_batch_t *b)
{
    hu_scan_t *sc = arg;
    return hp_batch_recs(b, NULL, b->n_rows, sc->lo, sc->hi, NULL, NULL, &sc->w[worker]);
}

static void hu_mark(hj_map_t *open, int64_t a, int64_t b, int64_t k, uint64_t key)
{
    if (k >= a && k <= b)
        *hj_map_ins(&open[k - a], key) = 1;
}

/* The units of one scan, prepared and written by as many threads as there are workers: each
 * unit reads only shared, finished input (the records where the scan's workers left them,
 * their keys, the open sets). */
typedef struct hu_job {
    hu_set_t *s;
    int64_t a;
    hp_rec_t *const *rec; /* the units' records, unit by unit (cnt), in scan order */
    const uint64_t *key;  /* and their conversation keys */
    const hj_map_t *open;
    const size_t *cnt;
    pthread_mutex_t mu; /* err, s->u[].cached, s->built */
    char err[4400];
} hu_job_t;

/* Prepares and writes the k-th unit of the scan. */
static void hu_job_one(void *arg, size_t k)
{
    hu_job_t *j = arg;
    hu_set_t *s = j->s;
    /* the interior is prepared where the scan left it (each record is one unit's), the
     * edge records copied into the file */
    size_t m = j->cnt[k + 1] - j->cnt[k], n_inner = 0;
    hp_rec_t **inner = hj_xmalloc((m ? m : 1) * sizeof *inner);
    hp_recs_t edge = {0};
    for (size_t x = j->cnt[k]; x < j->cnt[k + 1]; x++) {
        if (hj_map_get(&j->open[k], j->key[x]))
            *hp_recs_push(&edge) = *j->rec[x];
        else
            inner[n_inner++] = j->rec[x];
    }
    hp_stats_t st;
    memset(&st, 0, sizeof st);
    hunt_conv_t *convs;
    size_t nc = hp_conv_build_refs(s->cfg, inner, n_inner, &st, &convs);
    hu_counts_t c = {n_inner, st.stitched, st.duplicates, st.paired, st.biflows};
    int64_t u = j->a + (int64_t)k;
    char err[4400];
    int rc = hu_write(s, u, &c, edge.v, edge.n, convs, nc, err, sizeof err);
    pthread_mutex_lock(&j->mu);
    if (rc == 0) {
        s->u[u].cached = 1;
        s->u[u].n_edge = edge.n;
        s->u[u].n_conv = nc;
        s->built++;
    } else if (!j->err[0]) {
        snprintf(j->err, sizeof j->err, "%s", err);
    }
    pthread_mutex_unlock(&j->mu);
    free(convs);
    free(edge.v);
}

/* Prepares units a..b (consecutive) from one scan of their span and margins and writes their
 * files; a unit whose file cannot be written stays uncached (its rows are read at run time).
 * 0, or -1 with a message when the segments cannot be read. */
static int hu_build(hu_set_t *s, int64_t a, int64_t b)
{
    const uint64_t M = s->margin;
    hu_scan_t sc;
    memset(&sc, 0, sizeof sc);
    sc.lo = hu_start(s, a) > M ? hu_start(s, a) - M : 0;
    sc.hi = hu_start(s, b + 1) + M;
    seg_where_t where;
    memset(&where, 0, sizeof where);
    int workers = s->workers > 16 ? 16 : s->workers;
    /* Each worker's array sized once for its share of the rows the footers promise (twice
     * an even share, at most all: segments split unevenly), so that it seldom grows, each
     * doubling a copy of every record so far. Room never written is never touched. */
    uint64_t est = 0;
    for (int64_t k = a; k <= b; k++)
        est += s->u[k].est_rows;
    uint64_t share = est * 2 / (uint64_t)workers + 4096;
    if (share > est + 4096)
        share = est + 4096;
    for (int i = 0; i < workers; i++) {
        hp_recs_t *kept = &s->scan_w[i];
        if (kept->cap < share) {
            free(kept->v);
            kept->v = hj_xmalloc(share * sizeof(hp_rec_t));
            kept->cap = share;
        }
        kept->n = 0;
        sc.w[i] = *kept;
    }
    int rc = seg_scan_flags(s->dir, s->from_ms, s->to_ms, workers, SEG_SCAN_ANY_TIME,
                            hu_scan_want, hu_scan_batch, &sc, NULL, &where);
    for (int i = 0; i < workers; i++) /* kept (grown, perhaps) for the next chunk */
        s->scan_w[i] = sc.w[i];
    if (rc < 0) {
        cmd_print_where(stderr, s->prog, rc, &where);
        return -1;
    }
    /* The records stay in the workers' arrays, reached through pointers. They used to be
     * gathered into one array first, a copy of every record on one thread, the array doubling
     * as it went (without it, a cold run over 100 M flows: 76.5 -> 75.3 s, CPU 127.5 -> 122.4
     * s, one pair of runs; over 20 M flows within the noise). */
    size_t n = 0;
    for (int i = 0; i < 16; i++)
        n += sc.w[i].n;
    /* the keys that come within the margin of each unit's edges: open there */
    size_t nu = (size_t)(b - a + 1);
    hj_map_t *open = hj_xcalloc(nu, sizeof *open);
    uint64_t *key = hj_xmalloc((n ? n : 1) * sizeof *key);
    size_t *cnt = hj_xcalloc(nu + 1, sizeof *cnt);
    size_t g = 0;
    for (int w = 0; w < 16; w++)
        for (size_t i = 0; i < sc.w[w].n; i++, g++) {
            const hp_rec_t *r = &sc.w[w].v[i];
            key[g] = hp_ckey_hash(r);
            /* signed: a long record read for its end may start long before h0 */
            int64_t own = hu_index(s, r->t0), M64 = (int64_t)M;
            int64_t h = (int64_t)s->h0 + own * (int64_t)HU_HOUR;
            if ((int64_t)r->t0 < h + M64) { /* near its hour's start: open there and before */
                hu_mark(open, a, b, own, key[g]);
                hu_mark(open, a, b, own - 1, key[g]);
            }
            if ((int64_t)r->t1 >= h + (int64_t)HU_HOUR - M64) /* near or past its end: open up
                                                                * to t1 + M */
                for (int64_t k = own > a ? own : a;
                     k <= b && (int64_t)hu_start(s, k) <= (int64_t)r->t1 + M64; k++)
                    hu_mark(open, a, b, k, key[g]);
            if (own >= a && own <= b)
                cnt[own - a + 1]++;
        }
    /* the records of each unit and their keys, in scan order */
    for (size_t k = 0; k < nu; k++)
        cnt[k + 1] += cnt[k];
    hp_rec_t **rec = hj_xmalloc((cnt[nu] ? cnt[nu] : 1) * sizeof *rec);
    uint64_t *ukey = hj_xmalloc((cnt[nu] ? cnt[nu] : 1) * sizeof *ukey);
    size_t *pos = hj_xmalloc(nu * sizeof *pos);
    memcpy(pos, cnt, nu * sizeof *pos);
    g = 0;
    for (int w = 0; w < 16; w++)
        for (size_t i = 0; i < sc.w[w].n; i++, g++) {
            int64_t own = hu_index(s, sc.w[w].v[i].t0);
            if (own >= a && own <= b) {
                size_t x = pos[own - a]++;
                rec[x] = &sc.w[w].v[i];
                ukey[x] = key[g];
            }
        }
    free(pos);
    free(key);
    hu_job_t job = {.s = s, .a = a, .rec = rec, .key = ukey, .open = open, .cnt = cnt,
                    .mu = PTHREAD_MUTEX_INITIALIZER};
    cmd_par_each(hu_job_one, &job, nu, workers);
    if (job.err[0] && !s->warned++)
        fprintf(stderr, "%s: hours are not kept (read again next time): %s\n", s->prog, job.err);
    for (size_t k = 0; k < nu; k++)
        hj_map_free(&open[k]);
    free(rec);
    free(ukey);
    free(cnt);
    free(open);
    return 0;
}

/* Marks unit k cached when its file serves this run. Every frame's CRC is checked, which
 * reads the whole cache (a broken file is built again rather than failing a pass later): on
 * the worker threads, as one thread took 0.35 s of a slid run over 100 M flows. */
static void hu_check_one(void *arg, size_t k)
{
    hu_set_t *s = arg;
    hu_file_t uf;
    if (s->u[k].any && hu_file_open(s, (int64_t)k, 1, &uf) == 0) {
        s->u[k].n_edge = uf.h.n_edge;
        s->u[k].n_conv = uf.h.n_conv;
        hu_file_close(&uf);
        s->u[k].cached = 1;
    }
}

hu_set_t *hu_open(const char *dir, const char *prog, uint64_t from_ms, uint64_t to_ms,
                  uint64_t first_ms, uint64_t last_ms, const hunt_config_t *cfg, int workers,
                  int progress, int *failed)
{
    *failed = 0;
    /* the whole hours of the window that hold data (an open end is no promise that an hour
     * is complete: its file is simply built again while segments keep arriving) */
    uint64_t h0 = from_ms / HU_HOUR * HU_HOUR;
    if (h0 < from_ms)
        h0 += HU_HOUR;
    if (first_ms / HU_HOUR * HU_HOUR > h0)
        h0 = first_ms / HU_HOUR * HU_HOUR;
    uint64_t h1 = to_ms / HU_HOUR * HU_HOUR;
    if ((last_ms / HU_HOUR + 1) * HU_HOUR < h1)
        h1 = (last_ms / HU_HOUR + 1) * HU_HOUR;
    if (h1 <= h0)
        return NULL;
    if ((h1 - h0) / HU_HOUR > HU_MAX_UNITS)
        h0 = h1 - (uint64_t)HU_MAX_UNITS * HU_HOUR;
    hu_set_t *s = hj_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->dir = dir;
    s->prog = prog;
    s->workers = workers < 1 ? 1 : workers;
    s->h0 = h0;
    s->from_ms = from_ms;
    s->to_ms = to_ms;
    s->n = (size_t)((h1 - h0) / HU_HOUR);
    s->u = hj_xcalloc(s->n, sizeof *s->u);
    double m = cfg->stitch_gap_s * 1000.0;
    if (cfg->dedup_tol_ms > m)
        m = cfg->dedup_tol_ms;
    if (cfg->pair_tol_ms > m)
        m = cfg->pair_tol_ms;
    s->margin = (uint64_t)m + 1000; /* any margin above all three keeps the proof */
    s->cfg_hash = hu_cfg_hash(cfg);
    snprintf(s->cache, sizeof s->cache, "%s/hunt/cache", dir);
    if (seg_dir_mkdirs(s->cache) != 0) {
        fprintf(stderr, "%s: %s: %s: hours are not kept\n", prog, s->cache, strerror(errno));
        hu_close(s);
        return NULL;
    }
    if (hu_plan(s) != 0) {
        hu_close(s);
        *failed = 1;
        return NULL;
    }
    /* which files serve; the rest are built in chunks that fit memory_mb */
    cmd_par_each(hu_check_one, s, s->n, s->workers);
    uint64_t budget = (uint64_t)(cfg->memory_mb * 1048576.0 /
                                 (2.0 * sizeof(hp_rec_t) + sizeof(hunt_conv_t) + 16.0));
    size_t missing = 0;
    for (size_t k = 0; k < s->n; k++) {
        hu_unit_t *u = &s->u[k];
        if (!u->any)
            u->cached = 1; /* nothing can start in it */
        else if (u->cached)
            s->reused++;
        else if (u->est_rows <= budget)
            missing++;
    }
    cmd_progress_init(&s->prog_bar, 0);
    s->prog_bar.on = s->prog_bar.on && progress;
    size_t done = 0;
    /* once a file could not be written (a full disk, no folder), the rest would not be
     * either: those hours are read with the run's own rows instead of twice */
    for (size_t k = 0; k < s->n && !s->warned;) {
        if (s->u[k].cached || s->u[k].est_rows > budget) {
            k++;
            continue;
        }
        size_t e = k;
        uint64_t rows = s->u[k].est_rows;
        while (e + 1 < s->n && !s->u[e + 1].cached && s->u[e + 1].est_rows <= budget &&
               rows + s->u[e + 1].est_rows <= budget)
            rows += s->u[++e].est_rows;
        if (s->prog_bar.on)
            cmd_progress_show(&s->prog_bar, "hunt: preparing hours %zu..%zu of %zu to keep",
                              done + 1, done + (e - k + 1), missing);
        if (hu_build(s, (int64_t)k, (int64_t)e) != 0) {
            cmd_progress_done(&s->prog_bar);
            hu_close(s);
            *failed = 1;
            return NULL;
        }
        done += e - k + 1;
        k = e + 1;
    }
    hu_scan_free(s);
    cmd_progress_done(&s->prog_bar);
    return s;
}

/* hu_load's threads: each takes the next cached hour and reads it into its own arrays. */
typedef struct hu_load_job {
    hu_set_t *s;
    uint64_t parts, part;
    _Atomic size_t next;
    int failed; /* under mu */
    pthread_mutex_t mu;
    hu_counts_t counts; /* under mu */
} hu_load_job_t;

typedef struct hu_load_arg {
    hu_load_job_t *j;
    hu_loaded_t *out;
} hu_load_arg_t;

static void *hu_load_run(void *arg)
{
    hu_load_arg_t *a = arg;
    hu_load_job_t *j = a->j;
    hu_set_t *s = j->s;
    uint8_t *raw = hu_raw_buf();
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= s->n)
            break;
        if (!s->u[k].cached || !s->u[k].any)
            continue;
        hu_file_t uf;
        hu_loaded_t *o = a->out;
        size_t lo = o->n_convs;
        int bad = hu_file_open(s, (int64_t)k, 0, &uf) != 0 ||
                  hu_file_items(&uf, j->parts, j->part, raw, &o->recs, &o->convs, &o->n_convs,
                                &o->cap_convs) != 0;
        if (!bad && o->n_convs > lo) {
            if (o->n_runs == o->cap_runs) {
                o->cap_runs = o->cap_runs ? 2 * o->cap_runs : 64;
                o->runs = hj_xrealloc(o->runs, o->cap_runs * sizeof *o->runs);
            }
            o->runs[o->n_runs++] = (struct hu_run){(int64_t)k, lo, o->n_convs};
        }
        pthread_mutex_lock(&j->mu);
        if (bad && !j->failed++) {
            char path[4200];
            hu_path(s, (int64_t)k, path, sizeof path);
            fprintf(stderr, "%s: %s changed or broke while the hunt ran: run it again\n",
                    s->prog, path);
        } else if (!bad) {
            j->counts.rows += uf.h.rows;
            j->counts.stitched += uf.h.stitched;
            j->counts.duplicates += uf.h.duplicates;
            j->counts.paired += uf.h.paired;
            j->counts.biflows += uf.h.biflows;
        }
        pthread_mutex_unlock(&j->mu);
        hu_file_close(&uf);
    }
    free(raw);
    return NULL;
}

/* On threads because decompressing the hours was an eighth of a slid run over 100 M flows,
 * on one thread while the other core waited. */
int hu_load(hu_set_t *s, uint64_t parts, uint64_t part, hu_loaded_t *out, int n_out,
            hu_counts_t *counts)
{
    hu_load_job_t j = {.s = s, .parts = parts, .part = part, .mu = PTHREAD_MUTEX_INITIALIZER};
    atomic_init(&j.next, 0);
    hu_load_arg_t arg[HU_LOAD_MAX];
    int n = n_out < 1 ? 1 : n_out > HU_LOAD_MAX ? HU_LOAD_MAX : n_out;
    if ((size_t)n > s->n)
        n = s->n ? (int)s->n : 1;
    /* Each thread's arrays sized once, for twice an even share of the pass's items (at most
     * all: the hours are taken as they come): doubling them as they filled copied every
     * item into fresh pages again and again (a tenth of the CPU of a slid run over 100 M
     * flows, most of it the kernel clearing those pages). Room never written is never
     * touched. */
    uint64_t all[2] = {0, 0};
    for (size_t k = 0; k < s->n; k++)
        if (s->u[k].cached && s->u[k].any) {
            all[0] += s->u[k].n_edge;
            all[1] += s->u[k].n_conv;
        }
    for (int i = 0; i < n; i++) {
        arg[i] = (hu_load_arg_t){&j, &out[i]};
        uint64_t share[2];
        for (int w = 0; w < 2; w++) {
            share[w] = all[w] / (parts ? parts : 1) * 2 / (uint64_t)n + 4096;
            if (share[w] > all[w])
                share[w] = all[w];
        }
        if (share[0] > out[i].recs.cap) {
            out[i].recs.v = hj_xrealloc(out[i].recs.v, share[0] * sizeof *out[i].recs.v);
            out[i].recs.cap = share[0];
        }
        if (share[1] > out[i].cap_convs) {
            out[i].convs = hj_xrealloc(out[i].convs, share[1] * sizeof *out[i].convs);
            out[i].cap_convs = share[1];
        }
    }
    cmd_par(hu_load_run, arg, sizeof *arg, n); /* a job without a thread finds nothing left */
    pthread_mutex_destroy(&j.mu);
    if (counts) {
        counts->rows += j.counts.rows;
        counts->stitched += j.counts.stitched;
        counts->duplicates += j.counts.duplicates;
        counts->paired += j.counts.paired;
        counts->biflows += j.counts.biflows;
    }
    return j.failed ? -1 : 0;
}

int hu_expire(const char *dir, uint64_t before_ms)
{
    char cache[4096];
    snprintf(cache, sizeof cache, "%s/hunt/cache", dir);
    DIR *d = opendir(cache);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* a file a killed hunt was writing (.unit.PID.HOUR.tmp): gone once a day old */
        struct stat sb;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", cache, e->d_name);
        if (strncmp(e->d_name, ".unit.", 6) == 0 && stat(path, &sb) == 0 &&
            (uint64_t)sb.st_mtim.tv_sec + 86400 < (uint64_t)time(NULL)) {
            n += unlink(path) == 0;
            continue;
        }
        int y, mo, da, h, len = 0;
        if (sscanf(e->d_name, "%4d%2d%2dT%2d.unit%n", &y, &mo, &da, &h, &len) != 4 ||
            len != (int)strlen(e->d_name))
            continue;
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = da, .tm_hour = h};
        time_t t = timegm(&tm);
        if (t < 0 || (uint64_t)t * 1000 + HU_HOUR > before_ms)
            continue;
        n += unlink(path) == 0;
    }
    closedir(d);
    return n;
}
