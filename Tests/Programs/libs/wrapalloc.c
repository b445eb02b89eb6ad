/* A "library" module whose one entry point allocates three calls deep, as real libraries wrap malloc:
 * wrap_make_buffer -> wrap_pool_grow -> wrap_raw_alloc -> malloc. Loaded with dlopen by
 * analysis_wrapped, so its loading is also traced (ld.so's own allocations: all plumbing). */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void *wrap_raw_alloc(size_t size) {
    void *block = malloc(size); // SITE:raw
    if (block) memset(block, 0x5a, size);
    return block;
}

__attribute__((noinline)) static void *wrap_pool_grow(size_t size) {
    return wrap_raw_alloc(size); // SITE:grow
}

__attribute__((noinline)) void *wrap_make_buffer(size_t size) {
    return wrap_pool_grow(size); // SITE:make
}
