/* sha256.c: SHA-256 from libcrypto, loaded with dlopen on the first hash.
 *
 * Only the audit trail (hunt, ack, expire) and the rare-destination baseline hash anything,
 * yet linking libcrypto made every command map and relocate it at start: 3 ms of CPU and
 * about 120 page faults of the 10 ms `flowhunt top` spent before reading a flow (a program
 * that does nothing, linked against it, 6.2 ms against 3.4 ms here), paid by every quick
 * query an analyst types. Loaded when a hash is first needed, the commands that hash nothing
 * never pay; the hashing itself is OpenSSL's (SHA extensions where the CPU has them), not code
 * of our own. The prototypes come from OpenSSL's own header, so a mismatch fails to compile.
 */
#include "sha256.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SHA256_STR2(x) #x
#define SHA256_STR(x) SHA256_STR2(x)
/* the soname the headers belong to: "libcrypto.so.3" */
#define SHA256_LIB "libcrypto.so." SHA256_STR(OPENSSL_SHLIB_VERSION)

static struct {
    __typeof__(&EVP_MD_CTX_new) ctx_new;
    __typeof__(&EVP_MD_CTX_free) ctx_free;
    __typeof__(&EVP_sha256) md;
    __typeof__(&EVP_DigestInit_ex) init;
    __typeof__(&EVP_DigestUpdate) update;
    __typeof__(&EVP_DigestFinal_ex) final;
    int ok;
} sha256_lib;

static pthread_once_t sha256_once_flag = PTHREAD_ONCE_INIT;

static void sha256_load(void)
{
    /* RTLD_LOCAL: its symbols resolve only through the pointers below. Never closed: it is
     * loaded once per process, as a linked library would be. */
    void *h = dlopen(SHA256_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "flowhunt: cannot load %s for SHA-256: %s\n", SHA256_LIB, dlerror());
        return;
    }
    /* dlsym gives a void *, which POSIX lets a function pointer hold: copied bytewise, as C
     * has no conversion between the two */
#define SHA256_SYM(field, name)                                                                    \
    {                                                                                              \
        void *sym = dlsym(h, name);                                                                \
        if (!sym) {                                                                                \
            fprintf(stderr, "flowhunt: %s has no %s\n", SHA256_LIB, name);                         \
            return;                                                                                \
        }                                                                                          \
        memcpy(&sha256_lib.field, &sym, sizeof sym);                                               \
    }
    SHA256_SYM(ctx_new, "EVP_MD_CTX_new")
    SHA256_SYM(ctx_free, "EVP_MD_CTX_free")
    SHA256_SYM(md, "EVP_sha256")
    SHA256_SYM(init, "EVP_DigestInit_ex")
    SHA256_SYM(update, "EVP_DigestUpdate")
    SHA256_SYM(final, "EVP_DigestFinal_ex")
#undef SHA256_SYM
    sha256_lib.ok = 1;
}

static int sha256_ready(void)
{
    pthread_once(&sha256_once_flag, sha256_load);
    return sha256_lib.ok;
}

sha256_t *sha256_begin(void)
{
    if (!sha256_ready())
        return NULL;
    EVP_MD_CTX *md = sha256_lib.ctx_new();
    if (md && sha256_lib.init(md, sha256_lib.md(), NULL) != 1) {
        sha256_lib.ctx_free(md);
        md = NULL;
    }
    return (sha256_t *)md;
}

int sha256_update(sha256_t *h, const void *p, size_t n)
{
    return h && sha256_lib.update((EVP_MD_CTX *)h, p, n) == 1 ? 0 : -1;
}

int sha256_end(sha256_t *h, unsigned char digest[SHA256_LEN])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!h || sha256_lib.final((EVP_MD_CTX *)h, d, &n) != 1 || n != SHA256_LEN)
        return -1;
    memcpy(digest, d, SHA256_LEN);
    return 0;
}

void sha256_free(sha256_t *h)
{
    if (h)
        sha256_lib.ctx_free((EVP_MD_CTX *)h);
}

int sha256_once(const void *p, size_t n, unsigned char digest[SHA256_LEN])
{
    sha256_t *h = sha256_begin();
    int rc = h && sha256_update(h, p, n) == 0 && sha256_end(h, digest) == 0 ? 0 : -1;
    sha256_free(h);
    return rc;
}
