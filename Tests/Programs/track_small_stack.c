/* A thread created with the smallest stack the system allows (PTHREAD_STACK_MIN): glibc carves the
 * thread's static TLS, the tracker's initial-exec variables among it, out of that stack and fails
 * pthread_create with EINVAL when they do not fit, so the tracker's TLS must stay small. The thread
 * mallocs and frees, and keeps one block of 4321 bytes for the snapshot. */
#include "track_common.h"

#include <limits.h>
#include <pthread.h>

static void *kept;

__attribute__((noinline)) void *small_stack_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) free(malloc(16 + i % 64));
    kept = malloc(4321);
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN) == 0);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, small_stack_worker, NULL);
    if (rc != 0) {
        fprintf(stderr, "pthread_create with a stack of PTHREAD_STACK_MIN (%ld) bytes: %s\n", (long)PTHREAD_STACK_MIN,
                strerror(rc));
        return 6;
    }
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(kept != NULL);
    take_snapshot(argv[1]);
    return 0;
}
