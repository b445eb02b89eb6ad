/* The exact peak: the generation counter and reading a stack's figures at the high-water mark
 * (peak.h explains the technique). */
#include "peak.h"

#include <time.h>

_Atomic uint64_t hs_peak_generation;
_Atomic uint64_t hs_peak_time_ns;

/* A coarse clock (a few ns from the vDSO, ~4 ms resolution): while memory grows, every allocation is a
 * new peak, and "at 12.4 s" needs no finer. */
static uint64_t coarse_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hs_peak_raised(bool alone) {
    if (alone) /* the only thread changing the tables (tables.c) */
        atomic_store_explicit(&hs_peak_generation, atomic_load_explicit(&hs_peak_generation, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&hs_peak_generation, 1, memory_order_relaxed);
    atomic_store_explicit(&hs_peak_time_ns, coarse_realtime_ns(), memory_order_relaxed);
}

struct hs_counts hs_counts_at_peak(const struct hs_stack *s) {
    uint64_t generation = atomic_load_explicit(&hs_peak_generation, memory_order_relaxed);
    uint64_t word = atomic_load_explicit(&s->lock_and_generation, memory_order_relaxed) & ~HS_STACK_LOCKED;
    if (word != hs_stack_generation_word(generation)) return s->now;
    return (struct hs_counts){s->at_peak_live_bytes, s->at_peak_live_blocks, s->at_peak_total_allocs, s->at_peak_total_bytes};
}

void hs_peak_reset(void) {
    hs_lock_all_shards(); /* no block changes while the present becomes the peak */
    atomic_store_explicit(&hs_peak_bytes, atomic_load_explicit(&hs_current_bytes, memory_order_relaxed),
                          memory_order_relaxed);
    hs_peak_raised(false);
    hs_unlock_all_shards();
}

/* Runs with every lock re-initialised and only this thread alive. */
void hs_peak_after_fork_child(void) {
    atomic_store(&hs_peak_bytes, atomic_load(&hs_current_bytes));
    hs_peak_raised(false);
}
