/* sha256.h: SHA-256 for the audit trail and the rare-destination baseline, from OpenSSL's
 * libcrypto, which is loaded the first time a hash is asked for (sha256.c says why).
 *
 * Every call may fail (the library cannot be loaded, out of memory): the callers already treat
 * a failed hash as a failed write.
 */
#ifndef FH_SHA256_H
#define FH_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32

typedef struct sha256 sha256_t;

/* A running hash, or NULL (a message on stderr the first time the library cannot be loaded). */
sha256_t *sha256_begin(void);
/* 0, or -1. */
int sha256_update(sha256_t *h, const void *p, size_t n);
/* The digest of everything given; h is still to be freed. 0, or -1. */
int sha256_end(sha256_t *h, unsigned char digest[SHA256_LEN]);
void sha256_free(sha256_t *h);
/* The digest of p[0..n) in one call. 0, or -1. */
int sha256_once(const void *p, size_t n, unsigned char digest[SHA256_LEN]);

#endif
