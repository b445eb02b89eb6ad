/* fork while four threads allocate and snapshots are being written: no deadlock, every child tracked.
 * Prints the pids of its children, one a line. */
#include "track_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 30

static atomic_int stop;

static void *churn(void *arg) {
    void *keep[256] = {0};
    unsigned seed = (unsigned)(long)arg;
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) & 255;
        free(keep[k]);
        keep[k] = malloc(16 + (seed >> 16) % 4000);
    }
    for (int k = 0; k < 256; k++) free(keep[k]);
    return NULL;
}

__attribute__((noinline)) void stress_child_site(void **out) {
    for (int i = 0; i < 10; i++) out[i] = malloc(100);
}

int main(void) {
    pthread_t threads[4];
    for (long t = 0; t < 4; t++) CHECK(pthread_create(&threads[t], NULL, churn, (void *)t) == 0);
    pid_t children[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        fflush(stdout);
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            void *blocks[10];
            stress_child_site(blocks);
            exit(0);
        }
        children[i] = child;
        usleep(2000);
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        CHECK(waitpid(children[i], &status, 0) == children[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        printf("%d\n", (int)children[i]);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < 4; t++) CHECK(pthread_join(threads[t], NULL) == 0);
    return 0;
}
