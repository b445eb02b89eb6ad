/* A pool allocator reporting its blocks in domain 7 through heapsnap_track / heapsnap_untrack. */
#include "track_common.h"

#include <stdint.h>

static char pool[65536];
static size_t pool_used;
static int (*track)(unsigned, uintptr_t, size_t);
static int (*untrack)(unsigned, uintptr_t);

__attribute__((noinline)) void *pool_alloc(size_t size) {
    void *p = pool + pool_used;
    pool_used += (size + 15) & ~(size_t)15;
    CHECK(track(7, (uintptr_t)p, size) == 0);
    return p;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    track = (int (*)(unsigned, uintptr_t, size_t))tracker_function("heapsnap_track");
    untrack = (int (*)(unsigned, uintptr_t))tracker_function("heapsnap_untrack");
    void *blocks[5];
    for (int i = 0; i < 5; i++) blocks[i] = pool_alloc(100);
    CHECK(untrack(7, (uintptr_t)blocks[1]) == 0);
    CHECK(untrack(7, (uintptr_t)blocks[3]) == 0);
    errno = 0;
    CHECK(untrack(7, (uintptr_t)blocks[3]) == -1 && errno == ENOENT);
    CHECK(untrack(8, (uintptr_t)blocks[0]) == -1 && errno == ENOENT); /* other domain */
    errno = 0;
    CHECK(track(7, 0, 10) == -1 && errno == EINVAL);
    size_t current = 0, peak = 0;
    void (*traced)(size_t *, size_t *) = (void (*)(size_t *, size_t *))tracker_function("heapsnap_get_traced_memory");
    traced(&current, &peak);
    CHECK(current >= 300 && peak >= current);
    size_t (*tracker_memory)(void) = (size_t(*)(void))tracker_function("heapsnap_tracker_memory");
    CHECK(tracker_memory() > 0);
    take_snapshot(argv[1]);
    return 0;
}
