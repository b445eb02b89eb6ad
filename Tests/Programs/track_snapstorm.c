/* Eight threads allocate and ask for snapshots at the same time: 40 API snapshots, none lost. */
#include "track_common.h"

#include <pthread.h>

static int (*snapshot)(const char *);

static void *worker(void *arg) {
    void *keep[64] = {0};
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 20000; i++) {
            free(keep[i & 63]);
            keep[i & 63] = malloc(16 + (size_t)(i % 200));
        }
        CHECK(snapshot(NULL) == 0);
    }
    for (int i = 0; i < 64; i++) free(keep[i]);
    return arg;
}

int main(void) {
    snapshot = (int (*)(const char *))tracker_function("heapsnap_snapshot");
    pthread_t threads[8];
    for (int t = 0; t < 8; t++) CHECK(pthread_create(&threads[t], NULL, worker, NULL) == 0);
    for (int t = 0; t < 8; t++) CHECK(pthread_join(threads[t], NULL) == 0);
    return 0;
}
