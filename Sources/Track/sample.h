/* Sampling mode (sample.c explains it). Off unless HEAPSNAP_SAMPLE gives a mean sampling interval. */
#ifndef HEAPSNAP_SAMPLE_H
#define HEAPSNAP_SAMPLE_H

#include "internal.h"

/* In sampled mode a stack's block counts are estimates kept in fixed point: HS_SAMPLE_UNIT is one
 * block. Bytes are whole (rounded per block: at most half a byte off per block of >= R/2 bytes). */
#define HS_SAMPLE_UNIT ((uint64_t)1 << 16)


struct hs_weight {
    uint64_t bytes;   /* estimated bytes one recorded block of this size stands for */
    uint64_t count;   /* estimated blocks, in HS_SAMPLE_UNIT */
};

/* Maps the filter and turns sampling on if requested (hs_config.sample_requested); idempotent. */
int hs_sample_init(void);
/* Per-thread countdown. `rng` 0 = not seeded yet; `left` 0 then too, so the first allocation of a
 * thread takes the slow path, which seeds it. */
struct hs_sampler {
    uint64_t rng;      /* xorshift64* state */
    int64_t left;      /* bytes until the next sample point */
};
extern __thread struct hs_sampler hs_sampler __attribute__((tls_model("initial-exec")));
/* The slow path of hs_sample_hit: the count reached zero in this block (or the thread is new). */
bool hs_sample_crossed(uint64_t size);

/* Counts `size` bytes down on this thread's countdown: true when this allocation is to be recorded. */
static inline bool hs_sample_hit(uint64_t size) {
    if (__builtin_expect((uint64_t)hs_sampler.left > size, 1)) {
        hs_sampler.left -= (int64_t)size;
        return false;
    }
    return hs_sample_crossed(size);
}
/* hs_sample_hit's common case alone: true (and counted down) when this allocation is not recorded;
 * false leaves the countdown as it was, for hs_sample_hit to decide. */
static inline bool hs_sample_skip(uint64_t size) {
    if (__builtin_expect((uint64_t)hs_sampler.left > size, 1)) {
        hs_sampler.left -= (int64_t)size;
        return true;
    }
    return false;
}
struct hs_weight hs_sample_weight(uint64_t size);
void hs_sample_filter_add(uint32_t domain, uintptr_t address);
void hs_sample_filter_remove(uint32_t domain, uintptr_t address);

/* The filter of recorded live blocks (sample.c) has two levels, each a table of counters indexed by
 * its own bits of one hash of the address: a quick one of 2^14 four-bit counters (8 KiB, so that the
 * probe every free makes stays in the first-level cache and TLB) and a wide one of 2^17 16-bit
 * counters that only the few frees the quick one cannot rule out read. Either zero proves the block
 * is not recorded. */
#define HS_SAMPLE_QUICK_BITS 14
extern _Atomic uint8_t hs_sample_quick[(1u << HS_SAMPLE_QUICK_BITS) / 2];

static inline uint64_t hs_sample_hash(uint32_t domain, uintptr_t address) {
    return ((uint64_t)address ^ ((uint64_t)domain << 48)) * 0x9E3779B97F4A7C15ull;
}
static inline uint32_t hs_sample_quick_slot(uint64_t hash) { return (uint32_t)(hash >> (64 - HS_SAMPLE_QUICK_BITS)); }
bool hs_sample_maybe_live_wide(uint64_t hash);

/* The quick level alone: false proves the block at `address` was never recorded (or is gone). A
 * multiply and one byte read, no call, no write. */
static inline bool hs_sample_quick_maybe(uint32_t domain, uintptr_t address) {
    uint32_t slot = hs_sample_quick_slot(hs_sample_hash(domain, address));
    unsigned byte = atomic_load_explicit(&hs_sample_quick[slot >> 1], memory_order_relaxed);
    return ((byte >> ((slot & 1) * 4)) & 0xF) != 0;
}

/* Both levels: false proves the block at `address` was never recorded (or is gone): its free has
 * nothing to do. */
static inline bool hs_sample_maybe_live(uint32_t domain, uintptr_t address) {
    if (__builtin_expect(!hs_sample_quick_maybe(domain, address), 1)) return false;
    return hs_sample_maybe_live_wide(hs_sample_hash(domain, address));
}
void hs_sample_after_fork_child(void);

static inline bool hs_sampling(void) { return hs_config.sample_rate != 0; }

/* What one recorded block of `size` bytes adds to its stack and to the traced sum. */
static inline struct hs_weight hs_weight_of(uint64_t size) {
    if (!hs_sampling()) return (struct hs_weight){size, 1};
    return hs_sample_weight(size);
}

#endif
