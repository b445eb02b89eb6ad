/* The interposed malloc family, the stack capture and the C API's tracking calls.
 *
 * Every entry point forwards to glibc's public __libc_* functions, which exist before any constructor
 * has run, so there is no dlsym bootstrap. The per-thread guard hs_in_tracker sends every allocation
 * made while tracker code runs (libunwind, dlopen, the snapshot writer) straight to glibc. */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "heapsnap.h"
#include "python.h"
#include "sample.h"
#include "unwind.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

#define EXPORT __attribute__((visibility("default")))
#define CALLER ((uintptr_t)__builtin_return_address(0))
/* The frame of the tracker function the caller called (the frame pointer is kept everywhere): the own
 * unwinder starts there, so the tracker's inner frames are neither walked nor skipped one by one.
 * Never passed into a tail call: the frame would be gone. */
#define ENTRY_FRAME ((const uintptr_t *)__builtin_frame_address(0))

__thread int hs_in_tracker __attribute__((tls_model("initial-exec")));

/* Fills `raw` (max_frames + 24 entries) and returns where the caller's frames start in it. */
/* *hashed: how many of the returned frames *running covers (internal.h's stack hash). */
static uintptr_t *capture(uintptr_t *raw, int *depth_out, bool *truncated, uintptr_t caller, const uintptr_t *entry,
                          uint64_t *running, int *hashed) {
    int max = hs_config.max_frames;
    *truncated = false;
    int skip = 0;
    /* unwind.c: the own unwinder, libunwind where it cannot */
    int n = hs_unwind(raw, max, &skip, entry, running, hashed);
    int depth = n - skip;
    /* the own unwinder's hash covers raw from its start: only usable when nothing is cut off */
    if (skip != 0 || depth > max) *hashed = 0, *running = HS_STACK_HASH_START;
    if (depth > 0) {
        if (depth > max) {
            depth = max;
            *truncated = true;
        }
        *depth_out = depth;
        return raw + skip;
    }
    /* No unwinder yet (allocations before our constructor) or it failed: the direct caller at least. */
    raw[0] = caller;
    *hashed = 0, *running = HS_STACK_HASH_START;
    *truncated = max > 1;
    *depth_out = 1;
    return raw;
}

/* Captures, interns and inserts: the allocation is to be recorded (sampled mode has chosen it). */
static int record_chosen(uint32_t domain, uintptr_t address, uint64_t size, uintptr_t caller, const uintptr_t *entry) {
    /* sized by the setting (threads with small stacks exist), with room for the Python frames */
    uintptr_t raw[hs_config.max_frames + 24 + HS_PY_MAX_FRAMES];
    hs_live_prefetch(domain, address);
    bool truncated;
    int depth;
    uint64_t running;
    int hashed;
    uintptr_t *frames = capture(raw, &depth, &truncated, caller, entry, &running, &hashed);
    depth += hs_python_frames((uint64_t *)frames + depth, &truncated, &running, &hashed, depth); /* after the native ones */
    struct hs_stack *stack;
    uint32_t id = hs_intern(domain, frames, depth, truncated, running, hashed, &stack);
    if (id == UINT32_MAX) {
        errno = ENOMEM;
        return -1;
    }
    int rc = hs_live_insert(domain, address, size, id, stack, true);
    if (rc == 0 && domain == 0 && !hs_sampling()) hs_churn_allocated(address, id); /* churn.c: not in sampled mode */
    return rc;
}

int hs_record(uint32_t domain, uintptr_t address, uint64_t size, uintptr_t caller, const uintptr_t *entry) {
    if (hs_sampling() && !hs_sample_hit(size)) return 0; /* not recorded: no unwind, no table */
    return record_chosen(domain, address, size, caller, entry);
}

/* ---------------------------------------------------------------- the malloc family */

static inline bool tracking(void) {
    if (hs_in_tracker) return false;
    int state = atomic_load_explicit(&hs_state, memory_order_acquire);
    if (__builtin_expect(state == 2, 1)) return true;
    if (state == 0) hs_early_init();
    return atomic_load_explicit(&hs_state, memory_order_acquire) == 2;
}

/* After a tracked allocation, with no tracker lock held: peak snapshots and, after fork, the
 * tracker thread. Runs under the guard. */
static inline void after_allocation(void) {
    hs_check_peak();
    if (__builtin_expect(atomic_load_explicit(&hs_thread_wanted, memory_order_relaxed), 0)) hs_start_thread();
}

static inline void track_new(void *p, size_t size, uintptr_t caller, const uintptr_t *entry) {
    if (hs_sampling() && !hs_sample_hit(size)) { /* sampled mode's common case: a subtraction */
        if (__builtin_expect(atomic_load_explicit(&hs_thread_wanted, memory_order_relaxed), 0)) hs_start_thread();
        return;
    }
    int saved = errno;
    record_chosen(0, (uintptr_t)p, size, caller, entry);
    after_allocation();
    errno = saved;
}

/* Sampled mode's common allocation, decided before glibc runs so that the hook only tail-calls glibc:
 * the countdown does not reach zero in it (sample.h). A failed allocation's bytes then count down
 * too, which moves the next sample point but biases nothing: the points stay a Poisson process over
 * the bytes. The countdown is 0 in exact mode, before tracking starts and in a fork child (sample.h),
 * so it alone stands for those tests; tracker code (the guard) must not move it. Everything else
 * (the crossing allocation, a thread's first) takes the full path, which decides again. */
static inline bool sampled_out(size_t size) {
    if (__builtin_expect((uint64_t)hs_sampler.left <= size, 0) || hs_in_tracker) return false;
    hs_sampler.left -= (int64_t)size;
    return true;
}

static __attribute__((noinline)) void *malloc_full(size_t size, uintptr_t caller) {
    if (!tracking()) return __libc_malloc(size);
    hs_in_tracker = 1;
    void *p = __libc_malloc(size);
    if (p) track_new(p, size, caller, ENTRY_FRAME);
    hs_in_tracker = 0;
    return p;
}

EXPORT void *malloc(size_t size) {
    if (sampled_out(size)) return __libc_malloc(size);
    return malloc_full(size, CALLER);
}

static __attribute__((noinline)) void free_tracked(void *p);

EXPORT void free(void *p) {
    if (!p) return;
    /* in sampled mode most frees end here, whatever the guard or state: one word read, no write */
    if ((hs_sampling() && !hs_sample_quick_maybe(0, (uintptr_t)p)) || hs_in_tracker ||
        atomic_load_explicit(&hs_state, memory_order_acquire) != 2) {
        __libc_free(p);
        return;
    }
    free_tracked(p);
}

static void free_tracked(void *p) {
    /* the quick level said "maybe" (free): the wide one may still rule it out */
    if (hs_sampling() && !hs_sample_maybe_live_wide(hs_sample_hash(0, (uintptr_t)p))) {
        __libc_free(p);
        return;
    }
    hs_in_tracker = 1;
    /* both misses of a free at once, the table's chunk and the header glibc reads and writes next */
    hs_live_prefetch(0, (uintptr_t)p);
    __builtin_prefetch((const char *)p - 16, 1);
    int saved = errno;
    struct hs_live_entry removed;
    /* Out of the table before glibc can hand the address to another thread. */
    if (hs_live_remove(0, (uintptr_t)p, &removed, true)) {
        hs_churn_freed((uintptr_t)p, removed.stack);
        hs_python_freed((uintptr_t)p, removed.size);
    }
    errno = saved;
    __libc_free(p);
    hs_in_tracker = 0;
}

EXPORT void *calloc(size_t count, size_t size) {
    size_t total;
    if (!__builtin_mul_overflow(count, size, &total) && sampled_out(total)) return __libc_calloc(count, size);
    if (!tracking()) return __libc_calloc(count, size);
    hs_in_tracker = 1;
    void *p = __libc_calloc(count, size); /* checks count * size for overflow: NULL, ENOMEM */
    if (p) track_new(p, count * size, CALLER, ENTRY_FRAME);
    hs_in_tracker = 0;
    return p;
}

static __attribute__((noinline)) void *realloc_tracked(void *old, size_t size, uintptr_t caller) {
    hs_in_tracker = 1;
    int saved = errno;
    struct hs_live_entry removed;
    /* Remove first: once glibc frees or moves the block another thread may receive its address. */
    bool had = hs_live_remove(0, (uintptr_t)old, &removed, false);
    errno = saved;
    void *p = __libc_realloc(old, size);
    saved = errno;
    if (had && (p || size == 0)) hs_churn_freed((uintptr_t)old, removed.stack);
    if (p) {
        hs_record(0, (uintptr_t)p, size, caller, ENTRY_FRAME); /* its own: realloc may tail-call it */
    } else if (size != 0) {
        /* failure: the old block is still there and still the caller's */
        if (had) hs_live_insert(0, removed.address, removed.size, removed.stack, hs_stack_at(removed.stack), false);
    }
    if (!had && (p || size == 0)) hs_count_untracked_free((uintptr_t)old);
    if (p) after_allocation();
    errno = saved;
    hs_in_tracker = 0;
    return p;
}

/* realloc(NULL, n) is malloc(n); the caller is taken by each exported function (inlined here). */
static inline void *resize(void *old, size_t size, uintptr_t caller, const uintptr_t *entry) {
    if (!tracking()) return __libc_realloc(old, size);
    if (!old) {
        hs_in_tracker = 1;
        void *p = __libc_malloc(size);
        if (p) track_new(p, size, caller, entry);
        hs_in_tracker = 0;
        return p;
    }
    return realloc_tracked(old, size, caller);
}

EXPORT void *realloc(void *old, size_t size) { return resize(old, size, CALLER, ENTRY_FRAME); }

EXPORT void *reallocarray(void *old, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return resize(old, total, CALLER, ENTRY_FRAME);
}

static inline void *aligned_tracked(size_t alignment, size_t size, uintptr_t caller, const uintptr_t *entry) {
    if (!tracking()) return __libc_memalign(alignment, size);
    hs_in_tracker = 1;
    void *p = __libc_memalign(alignment, size);
    if (p) track_new(p, size, caller, entry);
    hs_in_tracker = 0;
    return p;
}

EXPORT void *memalign(size_t alignment, size_t size) { return aligned_tracked(alignment, size, CALLER, ENTRY_FRAME); }

/* glibc 2.36 makes aligned_alloc an alias of memalign (any alignment accepted, rounded up). */
EXPORT void *aligned_alloc(size_t alignment, size_t size) { return aligned_tracked(alignment, size, CALLER, ENTRY_FRAME); }

EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || alignment == 0 ||
        ((alignment / sizeof(void *)) & (alignment / sizeof(void *) - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *p = aligned_tracked(alignment, size, CALLER, ENTRY_FRAME);
    errno = saved; /* posix_memalign reports through its result, never errno */
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t size) {
    if (!tracking()) return __libc_valloc(size);
    hs_in_tracker = 1;
    void *p = __libc_valloc(size);
    if (p) track_new(p, size, CALLER, ENTRY_FRAME);
    hs_in_tracker = 0;
    return p;
}

EXPORT void *pvalloc(size_t size) {
    if (!tracking()) return __libc_pvalloc(size);
    hs_in_tracker = 1;
    void *p = __libc_pvalloc(size);
    if (p) track_new(p, size, CALLER, ENTRY_FRAME);
    hs_in_tracker = 0;
    return p;
}

/* ---------------------------------------------------------------- C API: domains */

EXPORT int heapsnap_track(unsigned int domain, uintptr_t ptr, size_t size) {
    if (ptr == 0) {
        errno = EINVAL;
        return -1;
    }
    if (!tracking()) {
        errno = EBUSY;
        return -1;
    }
    hs_in_tracker = 1;
    int rc = hs_record(domain, ptr, size, CALLER, ENTRY_FRAME);
    int saved = errno;
    if (rc == 0) after_allocation();
    hs_in_tracker = 0;
    errno = saved;
    return rc;
}

EXPORT int heapsnap_untrack(unsigned int domain, uintptr_t ptr) {
    if (!tracking()) {
        errno = EBUSY;
        return -1;
    }
    hs_in_tracker = 1;
    struct hs_live_entry removed;
    bool had = hs_live_remove(domain, ptr, &removed, false);
    hs_in_tracker = 0;
    if (!had) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

EXPORT void heapsnap_get_traced_memory(size_t *current, size_t *peak) {
    if (current) *current = (size_t)atomic_load_explicit(&hs_current_bytes, memory_order_relaxed);
    if (peak) *peak = (size_t)atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed);
}

EXPORT void heapsnap_reset_peak(void) {
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    hs_peak_reset();
    atomic_store_explicit(&hs_last_peak_snapshot, atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed),
                          memory_order_relaxed);
    hs_in_tracker = guard;
}

EXPORT size_t heapsnap_tracker_memory(void) { return atomic_load_explicit(&hs_tracker_bytes, memory_order_relaxed); }
