/* One of two libraries unwind_dlcycle loads in turn: frames of other shapes than libdlcycle_b's at
 * similar offsets, so that a stale rule from one would unwind the other wrongly. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void *inner_a(int n) {
    char local[64];
    memset(local, n, sizeof local);
    void *p = malloc(200 + (size_t)(local[5] & 1));
    __asm__ volatile("" : : "r"(local) : "memory");
    return p;
}

__attribute__((noinline)) static void *middle_a(int n) { return inner_a(n + 1) ; }

void *dlcycle_work(int n) {
    void *p = middle_a(n);
    __asm__ volatile("" : "+r"(p));
    return p;
}
