/* The temporary-allocation counter on its own (Sources/Track/churn.c): ns per allocation+free pair,
 * the frees hitting the thread's last allocation (temporaries) or not, as MODE says. Built twice
 * by run.sh, with and without -DHS_NO_CHURN, so the difference is the counter's cost; the whole-tracker
 * churn workload cannot resolve a few ns on a shared machine. usage: churn_counter temporary|kept [PAIRS] */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct hs_stack *stacks[4];
struct hs_stack *hs_stack_at(uint32_t id) { return stacks[id & 3]; }

int main(int argc, char **argv) {
    int temporary = argc > 1 && argv[1][0] == 't';
    long pairs = argc > 2 ? atol(argv[2]) : 200000000L;
    for (int i = 0; i < 4; i++) stacks[i] = calloc(1, sizeof(struct hs_stack) + 8);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < pairs; i++) {
        uintptr_t address = 0x10000 + ((uintptr_t)i << 4);
        hs_churn_allocated(address, (uint32_t)(i & 3));
        hs_churn_freed(temporary ? address : address + 8, (uint32_t)(i & 3));
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)pairs;
    unsigned long long temporaries = 0;
    for (int i = 0; i < 4; i++) temporaries += stacks[i]->temporary_allocs;
    printf("churn_counter: mode=%s pairs=%ld ns_per_pair=%.2f temporaries=%llu\n", temporary ? "temporary" : "kept",
           pairs, ns, temporaries);
    return 0;
}
