/* Python frames (python.c): the calling thread's CPython frame chain, read inside malloc without the
 * GIL and without calling into Python, and the copies of the code objects it names. */
#ifndef HEAPSNAP_PYTHON_H
#define HEAPSNAP_PYTHON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hs_writer;

#include "heapsnap_format.h"

/* The encoding (Docs/FORMAT.md) is the contract header's. */
#define HS_PY_MAX_FRAMES HEAPSNAP_PYTHON_MAX_FRAMES
#define HS_PY_FRAME_BIT HEAPSNAP_PYTHON_FRAME
#define HS_PY_ENTRY_BIT HEAPSNAP_PYTHON_ENTRY
#define HS_PY_CODE_SHIFT HEAPSNAP_PYTHON_CODE_SHIFT
#define HS_PY_CODE_MAX HEAPSNAP_PYTHON_CODE_MASK
#define HS_PY_OFFSET_NOT_STARTED HEAPSNAP_PYTHON_NOT_STARTED

/* From the constructor, outside malloc, with the guard up: reads HEAPSNAP_PYTHON and PYTHONMALLOC
 * and looks for an interpreter among the loaded modules. */
void hs_python_init(void);
/* Looks again (an interpreter dlopen'ed since); outside any tracker lock. */
void hs_python_refresh(void);
/* Appends the calling thread's Python frames (innermost first) to `out` (room for
 * HS_PY_MAX_FRAMES), after `native` frames; returns how many; sets *truncated when the chain was cut.
 * Where *running is the hash (internal.h) of all `native` frames (*hashed == native), goes on with
 * it over the words it wrote and counts them in *hashed. Inside malloc.
 * Inline: a process with no interpreter pays a load and a countdown, not a call. An interpreter
 * dlopen'ed by an embedding program is looked for every few thousand allocations of a thread (one
 * dl_iterate_phdr step), and at every snapshot. The interpreter allocates thousands of times while
 * it starts, before it runs any Python code, so no Python frame is missed. */
enum { HS_PY_SEARCHING = 0, HS_PY_CAPTURING = 1, HS_PY_OFF = 2 }; /* hs_py_state */
extern _Atomic int hs_py_state;
extern __thread unsigned hs_py_search_countdown __attribute__((tls_model("initial-exec")));
/* the walk for the interpreter's layout: the frames written, and `running` gone on over them (in
 * registers, both) */
struct hs_py_walk {
    uint64_t hash;
    int frames;
};
extern struct hs_py_walk (*hs_py_walker)(uint64_t *out, bool *truncated, uint64_t running);
void hs_python_search_again(void);
static inline int hs_python_frames(uint64_t *out, bool *truncated, uint64_t *running, int *hashed, int native) {
    int s = atomic_load_explicit(&hs_py_state, memory_order_acquire);
    if (s == HS_PY_CAPTURING) {
        /* the walk goes on with the native frames' hash where it covers them all (else hs_intern
         * hashes the rest) */
        struct hs_py_walk w = hs_py_walker(out, truncated, *running);
        if (*hashed == native) *running = w.hash, *hashed += w.frames;
        return w.frames;
    }
    if (s == HS_PY_SEARCHING && hs_py_search_countdown-- == 0) hs_python_search_again();
    return 0;
}

/* Writes the PYTHON section (header and payload) once an interpreter was found; nothing before. */
void hs_python_write_section(struct hs_writer *w, uint32_t tag);

/* free() of a tracked block of `size` bytes: a code object whose entry is keyed by its address dies
 * with it. Smaller blocks cannot be code objects (their bytecode starts at co_code_adaptive, 184
 * bytes in at the least): most frees stop at that test, before the bitmap, which the workload's own
 * memory keeps pushing out of the cache. */
#define HS_PY_CODE_MIN_BYTES 184u
extern _Atomic(uint64_t *) hs_py_watch_bits;
void hs_python_forget(uintptr_t p);
static inline void hs_python_freed(uintptr_t p, uint64_t size) {
    if (size < HS_PY_CODE_MIN_BYTES) return;
    uint64_t *bits = atomic_load_explicit(&hs_py_watch_bits, memory_order_relaxed);
    if (__builtin_expect(bits != 0, 0)) {
        size_t i = (size_t)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >> 44);
        if (bits[i >> 6] & (1ull << (i & 63))) hs_python_forget(p);
    }
}

void hs_python_before_fork(void);
void hs_python_after_fork_parent(void);
void hs_python_after_fork_child(void);

#endif
