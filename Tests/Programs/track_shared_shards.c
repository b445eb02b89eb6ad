/* 4 threads share one pool of 512 blocks: each step allocates a block and swaps it into a random
 * slot, freeing whatever another thread (from another arena, so from other live-table shards) put
 * there. Every shard is then inserted into and removed from by several threads at once, while a
 * fifth thread takes snapshots that hold every shard lock: the shard lock's spin, sleep and wake-up
 * all run. Prints the live bytes left in the pool (each block records its size in its first word). */
#include "track_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define THREADS 4
#define PER_THREAD 50000
#define POOL 512

static _Atomic(uint64_t *) pool[POOL];
static atomic_int done;

__attribute__((noinline)) uint64_t *shared_site(uint64_t size) {
    uint64_t *p = malloc(size);
    CHECK(p != NULL);
    p[0] = size;
    return p;
}

static void *worker(void *arg) {
    uint64_t t = (uint64_t)(uintptr_t)arg, x = 0x9E3779B97F4A7C15ull * (t + 1);
    for (uint64_t i = 0; i < PER_THREAD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t *p = shared_site(16 + 8 * ((t * PER_THREAD + i) % 64));
        free(atomic_exchange(&pool[x % POOL], p));
    }
    return NULL;
}

static int snapshots_taken;

/* Snapshots to a fresh name each time (the tracker never overwrites a file), each removed after. */
static void *snapshotter(void *arg) {
    const char *folder = arg;
    char path[4096];
    while (!atomic_load(&done)) {
        snprintf(path, sizeof path, "%s/during-%d.heapsnap", folder, snapshots_taken++);
        take_snapshot(path);
        CHECK(remove(path) == 0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 3);
    pthread_t threads[THREADS], snapshots;
    CHECK(pthread_create(&snapshots, NULL, snapshotter, argv[2]) == 0);
    for (uintptr_t t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
    for (int t = 0; t < THREADS; t++) CHECK(pthread_join(threads[t], NULL) == 0);
    atomic_store(&done, 1);
    CHECK(pthread_join(snapshots, NULL) == 0);
    uint64_t live = 0, blocks = 0;
    for (int i = 0; i < POOL; i++) {
        uint64_t *p = atomic_load(&pool[i]);
        if (p) live += p[0], blocks++;
    }
    take_snapshot(argv[1]);
    printf("%llu %llu\n", (unsigned long long)live, (unsigned long long)blocks);
    fprintf(stderr, "%d snapshots during the run\n", snapshots_taken);
    return 0;
}
