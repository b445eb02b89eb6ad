// One allocation at the bottom of a recursion LEVELS calls deep (default 300): deeper than the
// tracker's 256-frame limit (Docs/TRACKER.md), so its stack is cut at the limit and flagged truncated.
#include <stdio.h>
#include <stdlib.h>

static void *kept;

__attribute__((noinline)) static void descend(int levels) {
    if (levels == 0) {
        kept = malloc(4321); // @site:bottom
        return;
    }
    descend(levels - 1); // @site:recurse
    __asm__ volatile("" ::: "memory"); // no tail call
}

int main(int argc, char **argv) {
    descend(argc > 1 ? atoi(argv[1]) : 300);
    printf("%p\n", kept);
    return 0;
}
