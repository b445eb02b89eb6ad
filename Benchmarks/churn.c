// The allocation-heavy workload of `make bench`: every thread keeps a bounded live set of blocks and
// replaces a random one on each step (free + malloc), through one of 512 distinct call paths about 25
// frames deep, with sizes from 16 B to 64 KiB rounded to size classes (heaptrack 1.4's interpreter
// aborts with bad_alloc on fully random sizes).
//
// usage: churn THREADS ALLOCATIONS_PER_THREAD LIVE_BLOCKS_TOTAL
// Prints one line to stderr: "churn: threads=.. allocations=.. live_blocks=.. tracker_bytes=.. cpu_self=..
// rss_self_kib=.."
// (tracker_bytes is heapsnap_tracker_memory() taken with the full live set, or -1 when heapsnap is not
// preloaded), found with dlsym so that nothing links against the tracker; cpu_self is this process's
// user+system CPU seconds and rss_self_kib its peak resident set, both from getrusage.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define NOINLINE __attribute__((noinline))
#define LEVELS 18
#define PATH_BITS 9 // 2^9 = 512 distinct stacks

struct step {
    unsigned path;  // bit (level % PATH_BITS) picks the variant at each level
    size_t size;
    unsigned visited;
};

typedef void *(*level_fn)(struct step *);
static level_fn level_table[LEVELS + 1][2];

static NOINLINE void *leaf_small(struct step *s) {
    void *p = malloc(s->size);
    s->visited += 3;
    return p;
}

static NOINLINE void *leaf_large(struct step *s) {
    void *p = malloc(s->size);
    s->visited += 5;
    return p;
}

// Two variants per level whose bodies differ so that identical-code folding cannot merge them; the
// store after the call keeps the call from becoming a tail call (which would drop the frame).
#define LEVEL(k)                                                                   \
    static NOINLINE void *level##k##_a(struct step *s) {                           \
        void *p = level_table[(k) + 1][(s->path >> (((k) + 1) % PATH_BITS)) & 1](s); \
        s->visited += 1;                                                           \
        return p;                                                                  \
    }                                                                              \
    static NOINLINE void *level##k##_b(struct step *s) {                           \
        void *p = level_table[(k) + 1][(s->path >> (((k) + 1) % PATH_BITS)) & 1](s); \
        s->visited += 2;                                                           \
        return p;                                                                  \
    }
LEVEL(0) LEVEL(1) LEVEL(2) LEVEL(3) LEVEL(4) LEVEL(5) LEVEL(6) LEVEL(7) LEVEL(8)
LEVEL(9) LEVEL(10) LEVEL(11) LEVEL(12) LEVEL(13) LEVEL(14) LEVEL(15) LEVEL(16) LEVEL(17)

static void init_levels(void) {
#define SET(k) level_table[k][0] = level##k##_a; level_table[k][1] = level##k##_b;
    SET(0) SET(1) SET(2) SET(3) SET(4) SET(5) SET(6) SET(7) SET(8)
    SET(9) SET(10) SET(11) SET(12) SET(13) SET(14) SET(15) SET(16) SET(17)
#undef SET
    level_table[LEVELS][0] = leaf_small;
    level_table[LEVELS][1] = leaf_large;
}

// The last level's choice is the size, so paths and leaves stay consistent.
static void *allocate_through_path(struct step *s) {
    s->path = (s->path & ~(1u << (LEVELS % PATH_BITS))) | ((s->size > 1024) << (LEVELS % PATH_BITS));
    return level_table[0][s->path & 1](s);
}

static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

// Four classes per power of two from 16 B to 64 KiB, log-uniform: many small blocks, some large.
static size_t size_class(uint64_t r) {
    unsigned power = 4 + (unsigned)(r % 12);     // 16 .. 32 KiB
    unsigned quarter = (unsigned)((r >> 8) % 4);  // +0, +1/4, +2/4, +3/4
    size_t size = ((size_t)1 << power) + quarter * ((size_t)1 << (power - 2));
    return (r >> 16) % 97 == 0 ? 65536 : size;
}

struct worker {
    pthread_t thread;
    unsigned index;
    size_t allocations;
    size_t live;
    void **slots;
    unsigned long checksum;
};

static pthread_barrier_t start_line, full_line, end_line;
static size_t (*tracker_memory)(void);
static long long tracker_bytes_at_full = -1;

static void *run_worker(void *arg) {
    struct worker *w = arg;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (w->index + 1);
    struct step s = {0};
    pthread_barrier_wait(&start_line);
    for (size_t i = 0; i < w->allocations; i++) {
        uint64_t r = next_random(&rng);
        size_t slot = i < w->live ? i : (size_t)(r % w->live); // fill the live set first
        free(w->slots[slot]);
        s.size = size_class(r >> 20);
        s.path = (unsigned)(r >> 40);
        char *p = allocate_through_path(&s);
        if (!p) { fprintf(stderr, "churn: out of memory\n"); exit(1); }
        p[0] = (char)i; // touch the block as a program would
        w->slots[slot] = p;
    }
    w->checksum = s.visited;
    pthread_barrier_wait(&full_line);
    pthread_barrier_wait(&end_line);
    for (size_t i = 0; i < w->live; i++) free(w->slots[i]);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: churn THREADS ALLOCATIONS_PER_THREAD LIVE_BLOCKS_TOTAL\n");
        return 2;
    }
    unsigned threads = (unsigned)strtoul(argv[1], NULL, 10);
    size_t allocations = strtoull(argv[2], NULL, 10);
    size_t live_total = strtoull(argv[3], NULL, 10);
    if (threads < 1 || threads > 64 || allocations < 1 || live_total < threads) {
        fprintf(stderr, "churn: bad arguments\n");
        return 2;
    }
    init_levels();
    tracker_memory = (size_t (*)(void))dlsym(RTLD_DEFAULT, "heapsnap_tracker_memory");

    struct worker *workers = calloc(threads, sizeof *workers);
    pthread_barrier_init(&start_line, NULL, threads + 1);
    pthread_barrier_init(&full_line, NULL, threads + 1);
    pthread_barrier_init(&end_line, NULL, threads + 1);
    for (unsigned t = 0; t < threads; t++) {
        workers[t].index = t;
        workers[t].allocations = allocations;
        workers[t].live = live_total / threads;
        workers[t].slots = calloc(workers[t].live, sizeof(void *));
        pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]);
    }
    pthread_barrier_wait(&start_line);
    pthread_barrier_wait(&full_line); // every live set is full and stays so until end_line
    if (tracker_memory) tracker_bytes_at_full = (long long)tracker_memory();
    pthread_barrier_wait(&end_line);
    unsigned long checksum = 0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        checksum += workers[t].checksum;
        free(workers[t].slots);
    }
    // The process's own CPU, so that a profiler's work in other processes (heaptrack's interpreter)
    // can be told apart from the work it adds inside the program.
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu_self = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                      (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    fprintf(stderr,
            "churn: threads=%u allocations=%zu live_blocks=%zu tracker_bytes=%lld cpu_self=%.6f "
            "rss_self_kib=%ld checksum=%lu\n",
            threads, allocations * threads, (live_total / threads) * threads, tracker_bytes_at_full,
            cpu_self, usage.ru_maxrss, checksum);
    free(workers);
    return 0;
}
