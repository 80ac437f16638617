/* fuzz_config.c: the hunts' configuration file and allow-list (hc_load, hc_load_allow in
 * analyzer/hunt_config.c) on arbitrary bytes.
 *
 * Byte 0 picks the reader (bit 0: an --allow file, else a --config file); the rest is the
 * file, handed over by path as the command line does (a memfd's /proc/self/fd path). Besides
 * no crash, hang or leak: a file that loads prints (--print-config) a configuration that loads
 * again and prints the same text, so what an operator saves from --print-config hunts with the
 * values it was printed from. (The first line names the file it came from, so it differs.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "hunt.h"

/* A path that reads as `len` bytes of `data`, or NULL. The caller closes *fd. */
static const char *fuzz_config_file(const void *data, size_t len, int *fd, char path[64])
{
    *fd = memfd_create("fuzz_config", 0);
    if (*fd < 0)
        return NULL;
    if (len && write(*fd, data, len) != (ssize_t)len) {
        close(*fd);
        return NULL;
    }
    snprintf(path, 64, "/proc/self/fd/%d", *fd);
    return path;
}

static char *fuzz_config_print(const hunt_config_t *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    hc_print(c, f);
    fclose(f);
    return text;
}

int fuzz_config_one(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        /* a pools file named /dev/stdin reads an empty file, not the terminal */
        if (!freopen("/dev/null", "r", stdin))
            return 0;
        init = 1;
    }
    if (size == 0)
        return 0;
    char path[64], err[512] = "";
    int fd;
    if (!fuzz_config_file(data + 1, size - 1, &fd, path))
        return 0;
    hunt_config_t a, b;
    hc_defaults(&a);
    int rc = (data[0] & 1) ? hc_load_allow(&a, path, err, sizeof err)
                           : hc_load(&a, path, err, sizeof err);
    close(fd);
    if (rc == 0) {
        size_t la, lb;
        char *ta = fuzz_config_print(&a, &la);
        if (ta && fuzz_config_file(ta, la, &fd, path)) {
            hc_defaults(&b);
            if (hc_load(&b, path, err, sizeof err) != 0)
                __builtin_trap();
            close(fd);
            char *tb = fuzz_config_print(&b, &lb);
            const char *ra = tb ? strchr(ta, '\n') : NULL, *rb = tb ? strchr(tb, '\n') : NULL;
            if (tb && (!ra || !rb || strcmp(ra, rb) != 0))
                __builtin_trap();
            free(tb);
            hc_free(&b);
        }
        free(ta);
    } else if (!err[0]) {
        __builtin_trap(); /* a refusal says why */
    }
    hc_free(&a);
    return 0;
}

FUZZ_ENTRY(config)
