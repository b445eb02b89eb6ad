/* One thread has the tables alone for a while, then a second thread starts and both allocate and free
 * at once, each also freeing blocks the other allocated: the tracker hands the tables over, then
 * shares them (Sources/Track/tables.c, "alone and shared"). Every figure is fixed by construction:
 *   alone_site  20,000 blocks of 16 * (1 + j % 32) bytes by the first thread; j % 4 == 1 freed while
 *               alone, j % 4 == 2 freed by the first thread and j % 4 == 3 by the second afterwards
 *   peak_site   one block of 48 MiB, allocated and freed alone: the peak, far above anything later
 *   shared_site 100,000 blocks of 16 + 8 * (i % 64) bytes per thread, every tenth kept
 * usage: track_handover SNAPSHOT PEAK_SNAPSHOT */
#include "track_common.h"

#include <pthread.h>

#define ALONE 20000
#define ROUNDS 100000

static void *alone_blocks[ALONE];
static void *kept[2][ROUNDS / 10];
static pthread_barrier_t together;

__attribute__((noinline)) void *alone_site(size_t size) { return malloc(size); }
__attribute__((noinline)) void *peak_site(void) { return malloc(48 << 20); }
__attribute__((noinline)) void *shared_site(size_t size) { return malloc(size); }

static void *both(void *arg) {
    long t = (long)arg;
    pthread_barrier_wait(&together);
    for (int i = 0; i < ROUNDS; i++) {
        void *p = shared_site(16 + 8 * (size_t)(i % 64));
        CHECK(p);
        if (i % 10 == 0) kept[t][i / 10] = p;
        else free(p);
        if (i < ALONE / 4) free(alone_blocks[4 * i + 2 + t]);
    }
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 3);
    for (int j = 0; j < ALONE; j++) {
        CHECK(alone_blocks[j] = alone_site(16 * (size_t)(1 + j % 32)));
        if (j % 4 == 1) free(alone_blocks[j]);
    }
    void *peak = peak_site();
    CHECK(peak);
    free(peak);
    CHECK(pthread_barrier_init(&together, NULL, 2) == 0);
    pthread_t second;
    CHECK(pthread_create(&second, NULL, both, (void *)1) == 0);
    both((void *)0);
    CHECK(pthread_join(second, NULL) == 0);
    take_snapshot(argv[1]);
    int (*snapshot_peak)(const char *) = (int (*)(const char *))tracker_function("heapsnap_snapshot_peak");
    CHECK(snapshot_peak(argv[2]) == 0);
    return 0;
}
