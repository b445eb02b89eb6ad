/* The exact peak, on the hot path: per-stack live counters with a lazy copy.
 *
 * hs_peak_generation counts the high-water marks reached. At the moment it is raised, every stack's
 * present figures ARE its figures at the peak. A stack about to change while its `generation` is older
 * than the current one has not changed since that peak, so it first copies `now` into `at_peak` and
 * takes the current generation; a stack already changed since keeps the copy it made. A new peak
 * therefore costs one increment, whatever the number of stacks, and a snapshot of the peak reads, per
 * stack, `at_peak` if the stack changed since and `now` otherwise.
 *
 * Every change happens under the shard lock of the block that causes it; the per-stack spin lock only
 * keeps one stack's four counters and its copy consistent across shards (and is skipped, with the
 * locked adds to the sums, while one thread has the tables alone: tables.c). With one thread the result is
 * exact. With several, a block whose stack counters and global sum are updated by one thread while
 * another raises the peak may be counted on the wrong side of it: the peak is exact up to the
 * allocations in flight at that instant. In sampled mode the figures are estimates (sample.h) and the
 * peak is that of the estimated sum. */
#ifndef HEAPSNAP_PEAK_H
#define HEAPSNAP_PEAK_H

#include "internal.h"

/* Takes the stack's lock (a bit of its word) and returns the word as it was, unlocked. */
static inline uint64_t hs_stack_lock(struct hs_stack *s) {
    for (;;) {
        uint64_t word = atomic_fetch_or_explicit(&s->lock_and_generation, HS_STACK_LOCKED, memory_order_acquire);
        if (!(word & HS_STACK_LOCKED)) return word;
        while (atomic_load_explicit(&s->lock_and_generation, memory_order_relaxed) & HS_STACK_LOCKED) __builtin_ia32_pause();
    }
}

/* Applies a change to a stack's present figures, saving them first if this is the first change since
 * the latest peak. `allocated` counts a new allocation of `bytes` in the totals. `alone`: this thread
 * has the tables to itself (tables.c), so nobody else changes the stack and its lock can stay. */
/* hs_stack_change's work once the stack's word is read (and, shared, the stack locked): returns the
 * word the stack is to have, unlocked. */
static inline __attribute__((always_inline)) uint64_t hs_stack_apply(struct hs_stack *s, uint64_t word, int64_t bytes,
                                                                     int64_t blocks, bool allocated) {
    uint64_t current = hs_stack_generation_word(atomic_load_explicit(&hs_peak_generation, memory_order_relaxed));
    if (word != current) {
        s->at_peak_live_bytes = s->now.live_bytes;
        s->at_peak_live_blocks = s->now.live_blocks;
        s->at_peak_total_allocs = s->now.total_allocs;
        s->at_peak_total_bytes = s->now.total_bytes;
    }
    s->now.live_bytes += (uint64_t)bytes;
    s->now.live_blocks += (uint64_t)blocks;
    if (allocated) { /* blocks is 1, or an estimate in sampled mode (sample.h) */
        s->now.total_allocs += (uint64_t)blocks;
        s->now.total_bytes += (uint64_t)bytes;
    }
    return current;
}

static inline __attribute__((always_inline)) void hs_stack_change(struct hs_stack *s, int64_t bytes, int64_t blocks,
                                                                  bool allocated, bool alone) {
    if (alone) {
        uint64_t word = atomic_load_explicit(&s->lock_and_generation, memory_order_relaxed);
        uint64_t next = hs_stack_apply(s, word, bytes, blocks, allocated);
        if (next != word) atomic_store_explicit(&s->lock_and_generation, next, memory_order_relaxed);
    } else {
        uint64_t next = hs_stack_apply(s, hs_stack_lock(s), bytes, blocks, allocated);
        atomic_store_explicit(&s->lock_and_generation, next, memory_order_release); /* and unlocks */
    }
}

/* hs_current_bytes plus or minus a block: alone, a load and a store (whole, so that readers without
 * a lock read a value it had), else a locked add. Returns the new sum. */
static inline uint64_t hs_sum_add(uint64_t bytes, bool alone) {
    if (alone) {
        uint64_t current = atomic_load_explicit(&hs_current_bytes, memory_order_relaxed) + bytes;
        atomic_store_explicit(&hs_current_bytes, current, memory_order_relaxed);
        return current;
    }
    return atomic_fetch_add_explicit(&hs_current_bytes, bytes, memory_order_relaxed) + bytes;
}

static inline void hs_sum_sub(uint64_t bytes, bool alone) {
    if (alone)
        atomic_store_explicit(&hs_current_bytes, atomic_load_explicit(&hs_current_bytes, memory_order_relaxed) - bytes,
                              memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&hs_current_bytes, bytes, memory_order_relaxed);
}

/* After adding to hs_current_bytes: a new high-water mark makes the present the peak. */
static inline void hs_raise_peak(uint64_t current, bool alone) {
    uint64_t peak = atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed);
    if (alone) {
        if (current > peak) {
            atomic_store_explicit(&hs_peak_bytes, current, memory_order_relaxed);
            hs_peak_raised(true);
        }
        return;
    }
    while (current > peak) {
        if (atomic_compare_exchange_weak_explicit(&hs_peak_bytes, &peak, current, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            hs_peak_raised(false);
            return;
        }
    }
}

#endif
