/* A million live blocks from 16 call sites, then one snapshot (argv[1]); prints how long it took. */
#include "track_common.h"

#include <time.h>

#define BLOCKS 1000000

__attribute__((noinline)) void *million_site(int depth) {
    if (depth == 0) return malloc(32);
    void *p = million_site(depth - 1);
    __asm__ volatile("" ::: "memory");
    return p;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void **blocks = malloc(sizeof(void *) * BLOCKS);
    for (int i = 0; i < BLOCKS; i++) blocks[i] = million_site(i % 16);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    take_snapshot(argv[1]);
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%.1f\n", (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6);
    return 0;
}
