/* crc32c.h: CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected), the checksum of every
 * structure in a segment file (storage/FORMAT.md).
 *
 * Castagnoli rather than the zlib CRC-32 because x86-64 computes it in hardware (SSE4.2
 * crc32), so checking every chunk on every read costs a fraction of decompressing it.
 */
#ifndef FH_CRC32C_H
#define FH_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc32c_update(0, p, n) is the CRC of p[0..n); feeding the result back in
 * with the next bytes gives the CRC of the concatenation. crc32c("123456789") = 0xE3069283. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);

/* The table-driven path alone, whatever the CPU has: for the test that both paths agree. */
uint32_t crc32c_update_sw(uint32_t crc, const void *data, size_t len);

static inline uint32_t crc32c(const void *data, size_t len)
{
    return crc32c_update(0, data, len);
}

#endif
