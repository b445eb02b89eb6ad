/* 8 threads x 100,000 allocations at once; every tenth block stays live. Sizes 8..128 bytes. */
#include "track_common.h"

#include <pthread.h>

#define THREADS 8
#define PER_THREAD 100000

static void *kept[THREADS][PER_THREAD / 10];

__attribute__((noinline)) void *worker(void *arg) {
    long t = (long)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        void *p = malloc(8 * (1 + i % 16));
        if (i % 10 == 0) kept[t][i / 10] = p;
        else free(p);
    }
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    pthread_t threads[THREADS];
    for (long t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
    for (int t = 0; t < THREADS; t++) CHECK(pthread_join(threads[t], NULL) == 0);
    take_snapshot(argv[1]);
    return 0;
}
