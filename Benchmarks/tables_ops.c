/* The tracker's tables on their own (Sources/Track/tables.c): the work one allocation and one free
 * give them, without the unwinder, the hooks or glibc. Linked with a tracker's tables.c, peak.c,
 * memory.c and sample.c, so the same file measures two versions of them side by side:
 *   gcc -O2 -I<Track> -I<Track>/include tables_ops.c <Track>/{tables,peak,memory,sample}.c -lm -lpthread
 * The workload is churn.c's: a live set of LIVE blocks, each step frees a random one and allocates
 * in its place (glibc hands the freed address back) through one of 512 stacks of DEPTH frames
 * (default 22, churn.c's), with sizes of 16 B to 64 KiB.
 *
 * usage: tables_ops [STEPS [LIVE [DEPTH]]]
 * prints "tables_ops: steps=.. live=.. depth=.. ns_per_step=.. apart: ns_intern=.. ns_insert=.. ns_remove=.. tracker_bytes=.."
 * (ns, CPU time of this thread; a step is one remove + one intern + one insert; the intern includes
 * copying the stack's frames into a local buffer first, as the unwinder leaves them). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* what the tables need from the rest of the tracker */
struct hs_config hs_config = {.max_frames = 64};
void hs_warn(const char *what, const char *detail, int err) { (void)what, (void)detail, (void)err; }
pid_t hs_pid;
uint64_t hs_monotonic_ns(void) { return 0; }

static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static double thread_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : 4000000;
    long live = argc > 2 ? atol(argv[2]) : 10000;
    int depth = argc > 3 ? atoi(argv[3]) : 22;
    if (steps <= 0 || live <= 0 || depth <= 0 || depth > 64) {
        fprintf(stderr, "usage: tables_ops [STEPS [LIVE [DEPTH<=64]]]\n");
        return 2;
    }
    /* 512 stacks sharing their outer frames, as return addresses in a 4 MiB text range */
    static uintptr_t stacks[512][64];
    for (int s = 0; s < 512; s++)
        for (int f = 0; f < depth; f++) {
            int level = depth - 1 - f; /* outermost last */
            stacks[s][f] = 0x400000 + (uintptr_t)level * 0x1000 + ((s >> (level % 9)) & 1) * 0x800 + 0x13;
        }
    uintptr_t *addresses = malloc((size_t)live * sizeof *addresses);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (long i = 0; i < live; i++) {
        addresses[i] = 0x7f0000000000ull + (uintptr_t)i * 0x1230;
        struct hs_stack *stack;
        uint32_t id = hs_intern(0, stacks[i % 512], depth, false, HS_STACK_HASH_START, 0, &stack);
        hs_live_insert(0, addresses[i], 16 + next_random(&rng) % 65520, id, stack, true);
    }
    /* Interleaved as in a program (free, then the next allocation at the address just freed), timed in
     * batches of 1000 steps so the clock reads cost nothing; then the three operations batched apart,
     * for the split (their sum exceeds the step: apart, each misses the cache more). */
    double step_ns = 0, intern_ns = 0, insert_ns = 0, remove_ns = 0;
    struct hs_live_entry removed;
    for (long round = 0; round < 2 * steps; round += 1000) {
        uint32_t victims[1000], ids[1000];
        struct hs_stack *records[1000];
        uint64_t sizes[1000];
        uint64_t start = next_random(&rng);
        for (int k = 0; k < 1000; k++) { /* distinct within a batch: 7919 is prime */
            victims[k] = (uint32_t)((start + (uint64_t)k * 7919) % (uint64_t)live);
            sizes[k] = 16 + next_random(&rng) % 65520;
        }
        uintptr_t captured[64]; /* the unwinder has just written the frames: they are in L1 */
        if (round < steps) {
            double t0 = thread_ns();
            for (int k = 0; k < 1000; k++) {
                hs_live_remove(0, addresses[victims[k]], &removed, true);
                memcpy(captured, stacks[(victims[k] * 7 + round) % 512], (size_t)depth * sizeof *captured);
                struct hs_stack *stack;
                uint32_t id = hs_intern(0, captured, depth, false, HS_STACK_HASH_START, 0, &stack);
                hs_live_insert(0, addresses[victims[k]], sizes[k], id, stack, true);
            }
            step_ns += thread_ns() - t0;
            continue;
        }
        double t0 = thread_ns();
        for (int k = 0; k < 1000; k++) hs_live_remove(0, addresses[victims[k]], &removed, true);
        double t1 = thread_ns();
        for (int k = 0; k < 1000; k++) {
            memcpy(captured, stacks[(victims[k] * 7 + round) % 512], (size_t)depth * sizeof *captured);
            ids[k] = hs_intern(0, captured, depth, false, HS_STACK_HASH_START, 0, &records[k]);
        }
        double t2 = thread_ns();
        for (int k = 0; k < 1000; k++) hs_live_insert(0, addresses[victims[k]], sizes[k], ids[k], records[k], true);
        double t3 = thread_ns();
        remove_ns += t1 - t0;
        intern_ns += t2 - t1;
        insert_ns += t3 - t2;
    }
    long done = (steps + 999) / 1000 * 1000;
    printf("tables_ops: steps=%ld live=%ld depth=%d ns_per_step=%.1f apart: ns_intern=%.1f ns_insert=%.1f ns_remove=%.1f "
           "tracker_bytes=%zu\n",
           done, live, depth, step_ns / done, intern_ns / done, insert_ns / done, remove_ns / done,
           (size_t)hs_tracker_bytes);
    return 0;
}
