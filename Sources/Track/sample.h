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
struct hs_weight hs_sample_weight(uint64_t size);
void hs_sample_filter_add(uint32_t domain, uintptr_t address);
void hs_sample_filter_remove(uint32_t domain, uintptr_t address);
/* false proves the block at `address` was never recorded (or is gone): its free has nothing to do. */
bool hs_sample_maybe_live(uint32_t domain, uintptr_t address);
void hs_sample_after_fork_child(void);

static inline bool hs_sampling(void) { return hs_config.sample_rate != 0; }

/* What one recorded block of `size` bytes adds to its stack and to the traced sum. */
static inline struct hs_weight hs_weight_of(uint64_t size) {
    if (!hs_sampling()) return (struct hs_weight){size, 1};
    return hs_sample_weight(size);
}

#endif
