/* afile.c: replacing a file whole through a temporary file and a rename (afile.h). */
#define _POSIX_C_SOURCE 200809L
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *af_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void af_release(af_file_t *a)
{
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    a->f = NULL;
}

/* fsync of the folder holding `path`: the rename itself durable */
static void af_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? malloc((size_t)(slash - path) + 2) : NULL;
    if (slash && !dir)
        return;
    if (dir) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse it on a folder */
        close(fd);
    }
    free(dir);
}

FILE *af_open(af_file_t *a, const char *path, const char *tmp, int flags)
{
    memset(a, 0, sizeof *a);
    a->flags = flags;
    struct stat st;
    int exists = (flags & AF_REPORT) && lstat(path, &st) == 0;
    if (!(a->path = af_strdup(path)))
        goto nomem;
    if (!exists || S_ISREG(st.st_mode)) {
        size_t cap = strlen(path) + 32;
        a->tmp = tmp ? af_strdup(tmp) : malloc(cap);
        if (!a->tmp)
            goto nomem;
        if (!tmp)
            snprintf(a->tmp, cap, "%s.tmp.%ld", path, (long)getpid());
        int fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        /* a replaced report keeps its permissions; a new file gets 0666 & ~umask */
        if (fd >= 0 && exists && fchmod(fd, st.st_mode & 07777) != 0) {
            int e = errno;
            close(fd);
            unlink(a->tmp);
            errno = e;
            fd = -1;
        }
        if (fd >= 0 && (a->f = fdopen(fd, "w")) != NULL)
            return a->f;
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(a->tmp);
        }
        free(a->tmp);
        a->tmp = NULL;
        if (!(flags & AF_REPORT) || (e != EACCES && e != EPERM && e != EROFS)) {
            af_release(a);
            errno = e;
            return NULL;
        }
    }
    if ((a->f = fopen(path, "w")) == NULL) {
        int e = errno;
        af_release(a);
        errno = e;
    }
    return a->f;
nomem:
    af_release(a);
    errno = ENOMEM;
    return NULL;
}

int af_commit(af_file_t *a)
{
    if (!a->f) {
        af_release(a);
        errno = EBADF;
        return -1;
    }
    errno = 0;
    int bad = fflush(a->f) != 0 || ferror(a->f);
    if (!bad && a->tmp && (a->flags & AF_SYNC))
        bad = fsync(fileno(a->f)) != 0;
    int e = bad ? errno : 0;
    if (fclose(a->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    a->f = NULL;
    if (a->tmp) {
        if (!bad && rename(a->tmp, a->path) != 0) {
            bad = 1;
            e = errno;
        }
        if (bad)
            unlink(a->tmp);
        else if (a->flags & AF_SYNC)
            af_sync_dir(a->path);
    }
    af_release(a);
    errno = bad ? (e ? e : EIO) : 0;
    return bad ? -1 : 0;
}

void af_abort(af_file_t *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp)
        unlink(a->tmp);
    af_release(a);
}

int af_write(const char *path, const void *data, size_t len, int flags)
{
    af_file_t a;
    if (!af_open(&a, path, NULL, flags))
        return -1;
    if (len && fwrite(data, 1, len, a.f) != len) {
        int e = errno;
        af_abort(&a);
        errno = e ? e : EIO;
        return -1;
    }
    return af_commit(&a);
}
