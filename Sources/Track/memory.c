/* Tracker memory: every byte comes from mmap so the tracker never recurses into the allocator it
 * traces, and heapsnap_tracker_memory() can count it exactly. */
#include "internal.h"

#include <sys/mman.h>

_Atomic size_t hs_tracker_bytes;

static size_t page_round(size_t size) { return (size + 4095) & ~(size_t)4095; }

void *hs_map(size_t size) {
    size = page_round(size);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    atomic_fetch_add_explicit(&hs_tracker_bytes, size, memory_order_relaxed);
    return p;
}

void hs_unmap(void *p, size_t size) {
    if (!p) return;
    size = page_round(size);
    munmap(p, size);
    atomic_fetch_sub_explicit(&hs_tracker_bytes, size, memory_order_relaxed);
}

/* small chunks: the tracker's memory is counted as mapped, and most arenas (modules, Python code
 * records) hold tens of KiB */
#define ARENA_CHUNK ((size_t)1 << 16)

void *hs_arena_alloc(struct hs_arena *arena, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size > ARENA_CHUNK / 4) return hs_map(size); /* big requests get their own mapping */
    if (!arena->cursor || (size_t)(arena->end - arena->cursor) < size) {
        char *chunk = hs_map(ARENA_CHUNK);
        if (!chunk) return NULL;
        arena->cursor = chunk;
        arena->end = chunk + ARENA_CHUNK;
    }
    void *p = arena->cursor;
    arena->cursor += size;
    return p;
}
