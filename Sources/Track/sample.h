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
 * thread takes the slow path, which seeds it. `left` is 0 whenever the hooks' fast path (hooks.c,
 * sampled_out) must not skip the tracker: in exact mode (never seeded), before tracking has started
 * (only the full path seeds, and only when tracking) and in a fork child (the child's handler clears
 * it in the same step that asks for the tracker thread), so that fast path tests `left` alone. */
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
struct hs_weight hs_sample_weight(uint64_t size);
void hs_sample_filter_add(uint32_t domain, uintptr_t address);
void hs_sample_filter_remove(uint32_t domain, uintptr_t address);

/* The filter of recorded live blocks (sample.c) has two levels, both indexed by the top bits of one
 * hash of the address. The wide level is 2^17 four-bit counters; the quick level is one bit per group
 * of eight of them (the same top 14 bits): set while any counter of its group is non-zero. Its 2^14
 * bits are 2 KiB, 32 cache lines: few enough to stay in the first-level cache between the frees of
 * a program that churns memory (at 8 KiB, one free in three missed it in cachegrind's model). A zero
 * bit or counter proves the block is not recorded. */
#define HS_SAMPLE_QUICK_BITS 14
extern _Atomic uint64_t hs_sample_quick[(1u << HS_SAMPLE_QUICK_BITS) / 64];

static inline uint64_t hs_sample_hash(uint32_t domain, uintptr_t address) {
    return ((uint64_t)address ^ ((uint64_t)domain << 48)) * 0x9E3779B97F4A7C15ull;
}
static inline uint32_t hs_sample_quick_slot(uint64_t hash) { return (uint32_t)(hash >> (64 - HS_SAMPLE_QUICK_BITS)); }
bool hs_sample_maybe_live_wide(uint64_t hash);

/* The quick level alone: false proves the block at `address` was never recorded (or is gone). A
 * multiply and one word read, no call, no write. */
static inline bool hs_sample_quick_maybe(uint32_t domain, uintptr_t address) {
    uint32_t slot = hs_sample_quick_slot(hs_sample_hash(domain, address));
    uint64_t word = atomic_load_explicit(&hs_sample_quick[slot / 64], memory_order_relaxed);
    return (word >> (slot % 64)) & 1;
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
