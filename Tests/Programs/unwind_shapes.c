/* Frames of every shape the own unwinder compiles rules for, each allocation site reached through a
 * known chain of functions (UnwindTests checks each chain frame by frame). Built twice: -O0 (every
 * frame keeps rbp) and -O2 as unwind_shapes-O2 (no frame pointers: rsp-based CFA from the CFI; the
 * frame with a variable-length array is rbp-based even there). argv[1] = snapshot path. */
#include "track_common.h"

#include <stdint.h>

#define NOINLINE __attribute__((noinline))

static void *volatile kept[4096];
static int kept_count;

static void keep(void *p) {
    CHECK(p != NULL);
    kept[kept_count++ % 4096] = p;
}

/* the innermost user frame of every site: the call to malloc is not a tail call (the result is kept) */
NOINLINE void *leaf_alloc(size_t size) {
    void *p = malloc(size);
    keep(p);
    return p;
}

/* a variable-length array: CFA from rbp at any optimisation level */
NOINLINE void *vla_frame(int n) {
    char buffer[n];
    memset(buffer, n, (size_t)n);
    void *p = leaf_alloc(100 + (size_t)(unsigned char)buffer[n - 1] % 2);
    __asm__ volatile("" : : "r"(buffer) : "memory");
    return p;
}

/* a large frame: CFA = rsp + about 40 KiB at -O2 */
NOINLINE void *big_frame(int n) {
    volatile char big[40000];
    big[n] = (char)n;
    big[39999] = 1;
    void *p = vla_frame(16 + big[n] % 2 + big[39999]);
    __asm__ volatile("" : "+r"(p)); /* no tail call: this frame stays on the stack */
    return p;
}

/* a frame that saves callee-saved registers and calls through a pointer */
NOINLINE void *pointer_frame(void *(*f)(int), int n) {
    uintptr_t a = (uintptr_t)n * 3, b = a ^ 0x55, c = b + a;
    void *p = f(n);
    keep((void *)(a + b + c + (uintptr_t)p - (a + b + c))); /* a, b, c live across the call */
    return p;
}

NOINLINE void *calloc_site(int n) {
    void *p = calloc((size_t)n, 8);
    keep(p);
    return p;
}

NOINLINE void *realloc_site(void *old, size_t size) {
    void *p = realloc(old, size);
    keep(p);
    return p;
}

/* deeper than any frame limit: the stack is truncated, every recorded frame below leaf_alloc is recurse */
NOINLINE int recurse(int depth) {
    if (depth == 0) {
        leaf_alloc(4321);
        return 0;
    }
    int r = recurse(depth - 1);
    __asm__ volatile("" : "+r"(r));
    return r + 1;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    for (int i = 0; i < 50; i++) big_frame(i % 7);        /* leaf_alloc <- vla_frame <- big_frame <- main */
    for (int i = 0; i < 40; i++) pointer_frame(vla_frame, 20 + i % 3); /* vla_frame <- pointer_frame <- main */
    for (int i = 0; i < 30; i++) calloc_site(3);          /* 24 B each */
    void *grown = NULL;
    for (int i = 1; i <= 20; i++) grown = realloc_site(grown, (size_t)i * 64);
    CHECK(recurse(300) == 300);
    take_snapshot(argv[1]);
    return 0;
}
