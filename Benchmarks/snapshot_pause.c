// How long heapsnap_snapshot() stops the program when a million blocks are live: allocates BLOCKS
// blocks from 256 distinct stacks, then times one heapsnap_snapshot(PATH) call (found with dlsym, so
// nothing links against the tracker) with CLOCK_MONOTONIC. Meanwhile a second thread keeps doing
// malloc+free and records its longest single malloc+free: how long the snapshot stalls the rest of
// the program.
//
// usage: snapshot_pause BLOCKS PATH
// Prints one line to stdout: "snapshot_pause: blocks=.. pause_ms=.. other_thread_stall_ms=.. file_bytes=..".
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))
#define LEVELS 8 // 2^8 = 256 stacks

typedef void *(*level_fn)(unsigned path, size_t size);
static level_fn level_table[LEVELS + 1][2];

static NOINLINE void *leaf(unsigned path, size_t size) {
    (void)path;
    return malloc(size);
}

#define LEVEL(k)                                                                       \
    static NOINLINE void *level##k##_a(unsigned path, size_t size) {                   \
        void *p = level_table[(k) + 1][(path >> ((k) + 1)) & 1](path, size);           \
        __asm__ volatile("" ::: "memory");                                             \
        return p;                                                                      \
    }                                                                                  \
    static NOINLINE void *level##k##_b(unsigned path, size_t size) {                   \
        void *p = level_table[(k) + 1][(path >> ((k) + 1)) & 1](path, size + 0);       \
        __asm__ volatile("nop" ::: "memory");                                          \
        return p;                                                                      \
    }
LEVEL(0) LEVEL(1) LEVEL(2) LEVEL(3) LEVEL(4) LEVEL(5) LEVEL(6) LEVEL(7)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static atomic_int phase; // 0 starting, 1 running, 2 stop
static double longest_stall_ms;

static void *allocate_meanwhile(void *unused) {
    (void)unused;
    atomic_store(&phase, 1);
    while (atomic_load_explicit(&phase, memory_order_relaxed) == 1) {
        double start = now_ms();
        void *volatile p = malloc(48);
        free(p);
        double stall = now_ms() - start;
        if (stall > longest_stall_ms) longest_stall_ms = stall;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: snapshot_pause BLOCKS PATH\n");
        return 2;
    }
    size_t blocks = strtoull(argv[1], NULL, 10);
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    if (!snapshot) {
        fprintf(stderr, "snapshot_pause: heapsnap_snapshot not found (run with LD_PRELOAD=libheapsnap.so)\n");
        return 1;
    }
#define SET(k) level_table[k][0] = level##k##_a; level_table[k][1] = level##k##_b;
    SET(0) SET(1) SET(2) SET(3) SET(4) SET(5) SET(6) SET(7)
#undef SET
    level_table[LEVELS][0] = level_table[LEVELS][1] = leaf;

    void **live = malloc(blocks * sizeof *live);
    if (!live) return 1;
    for (size_t i = 0; i < blocks; i++) {
        unsigned path = (unsigned)(i * 2654435761u) >> 24;
        live[i] = level_table[0][path & 1](path, 16 + (i % 8) * 16);
        if (!live[i]) return 1;
    }
    pthread_t other;
    if (pthread_create(&other, NULL, allocate_meanwhile, NULL) != 0) return 1;
    while (atomic_load(&phase) == 0) {
    }
    struct timespec settle = {0, 20 * 1000 * 1000}; // let it run (and warm up) before the snapshot
    nanosleep(&settle, NULL);
    longest_stall_ms = 0; // racy reset, fine: only stalls during the snapshot matter
    double start = now_ms();
    int rc = snapshot(argv[2]);
    double pause = now_ms() - start;
    nanosleep(&settle, NULL);
    atomic_store(&phase, 2);
    pthread_join(other, NULL);
    if (rc != 0) {
        perror("snapshot_pause: heapsnap_snapshot");
        return 1;
    }
    struct stat st;
    long long file_bytes = stat(argv[2], &st) == 0 ? (long long)st.st_size : -1;
    printf("snapshot_pause: blocks=%zu pause_ms=%.1f other_thread_stall_ms=%.1f file_bytes=%lld\n", blocks, pause,
           longest_stall_ms, file_bytes);
    for (size_t i = 0; i < blocks; i++) free(live[i]);
    free(live);
    return 0;
}
