/* known_store.c: the known-exporter map on disk (see known_store.h). */
#include "known_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"

#define KS_MAGIC "FHKNOWN1"
#define KS_HDR 16u
#define KS_BODY (DQ_KNOWN_WORDS * 8u)
#define KS_NAME "known-exporters.bin"

static void ks_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t ks_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int known_store_save(const char *state_dir, const uint64_t *bits)
{
    static uint8_t img[KS_HDR + KS_BODY]; /* the loop thread's alone */
    memcpy(img, KS_MAGIC, 8);
    ks_put_u32(img + 8, DQ_KNOWN_WORDS);
    for (unsigned i = 0; i < DQ_KNOWN_WORDS; i++)
        for (int b = 0; b < 8; b++)
            img[KS_HDR + i * 8 + (unsigned)b] = (uint8_t)(bits[i] >> (8 * b));
    ks_put_u32(img + 12, crc32c(img + KS_HDR, KS_BODY));
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/" KS_NAME, state_dir);
    snprintf(tmp, sizeof tmp, "%s/." KS_NAME ".tmp", state_dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < sizeof img) {
        ssize_t n = write(fd, img + off, sizeof img - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int ok = off == sizeof img && fsync(fd) == 0;
    int e = ok ? 0 : errno ? errno : EIO;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int known_store_load(const char *state_dir, uint64_t *bits)
{
    memset(bits, 0, DQ_KNOWN_WORDS * sizeof *bits);
    char path[4200];
    snprintf(path, sizeof path, "%s/" KS_NAME, state_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        log_msg(LOG_WARN, "%s: %s: exporters start unknown", path, strerror(errno));
        return -1;
    }
    static uint8_t img[KS_HDR + KS_BODY + 1];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    const char *why = NULL;
    if (n != KS_HDR + KS_BODY)
        why = "not the size of one";
    else if (memcmp(img, KS_MAGIC, 8) != 0 || ks_get_u32(img + 8) != DQ_KNOWN_WORDS)
        why = "not one of this version";
    else if (ks_get_u32(img + 12) != crc32c(img + KS_HDR, KS_BODY))
        why = "its checksum does not match";
    if (why) {
        log_msg(LOG_WARN, "%s: %s: ignored, exporters start unknown", path, why);
        return -1;
    }
    for (unsigned i = 0; i < DQ_KNOWN_WORDS; i++)
        for (int b = 0; b < 8; b++)
            bits[i] |= (uint64_t)img[KS_HDR + i * 8 + (unsigned)b] << (8 * b);
    return 1;
}

unsigned known_store_count(const uint64_t *bits)
{
    unsigned n = 0;
    for (unsigned i = 0; i < DQ_KNOWN_WORDS; i++)
        n += (unsigned)__builtin_popcountll(bits[i]);
    return n;
}
