/* heapsnap_crc32.h: the CRC-32 (IEEE 802.3, zlib's) of the END section, shared by the tracker's writer
 * and the Swift reader (through CHeapSnapContract). No allocation; the tables are built once. */
#ifndef HEAPSNAP_CRC32_H
#define HEAPSNAP_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a running CRC (start with 0xFFFFFFFF; the checksum is the final value xor 0xFFFFFFFF). */
uint32_t heapsnap_crc32_update(uint32_t crc, const void *data, size_t size);
/* The CRC-32 of `size` bytes. */
uint32_t heapsnap_crc32(const void *data, size_t size);

#endif /* HEAPSNAP_CRC32_H */
