/* The other library unwind_dlcycle loads in turn (see dlcycle_a.c): a large frame and a
 * variable-length array where libdlcycle_a has small frames. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void *inner_b(int n) {
    volatile char big[5000];
    big[n % 5000] = 1;
    void *p = malloc(300 + (size_t)(big[n % 5000] & 1));
    return p;
}

__attribute__((noinline)) static void *middle_b(int n) {
    char vla[n % 32 + 8];
    memset(vla, 0, sizeof vla);
    void *p = inner_b(n + vla[0]);
    __asm__ volatile("" : : "r"(vla) : "memory");
    return p;
}

void *dlcycle_work(int n) {
    void *p = middle_b(n);
    __asm__ volatile("" : "+r"(p));
    return p;
}
