/* Temporary allocations: a block freed before the thread that allocated it makes another allocation
 * (heaptrack's "directly followed by its deallocation", kept per thread as memray does, so threads
 * allocating at once do not hide each other's temporaries). Each thread remembers only its last
 * allocation; a free of exactly that block credits the block's stack. realloc is a free of the old
 * block and an allocation of the new one, so a buffer that grows by realloc right after it was made
 * counts a temporary per step, as in heaptrack. Cost: two thread-local stores per allocation, one
 * compare per free. */
#include "internal.h"

/* -DHS_NO_CHURN builds the tracker without the counter, for `make bench` to measure what it costs. */
#ifdef HS_NO_CHURN
void hs_churn_allocated(uintptr_t address, uint32_t stack_id) {}
void hs_churn_freed(uintptr_t address, uint32_t stack_id) {}
#else
static __thread uintptr_t last_address __attribute__((tls_model("initial-exec")));
static __thread uint32_t last_stack __attribute__((tls_model("initial-exec")));

void hs_churn_allocated(uintptr_t address, uint32_t stack_id) {
    last_address = address;
    last_stack = stack_id;
}

/* `stack_id` is the stack the live table had for the block: another thread may have freed this
 * thread's last block and received the address again, and then it is not the same allocation. */
void hs_churn_freed(uintptr_t address, uint32_t stack_id) {
    if (__builtin_expect(address != last_address, 1)) return;
    last_address = 0;
    if (stack_id != last_stack) return;
    atomic_fetch_add_explicit(&hs_stack_at(stack_id)->temporary_allocs, 1, memory_order_relaxed);
}
#endif
