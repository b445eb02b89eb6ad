/* dlopen and dlclose of two libraries in turn, 150 times each, while two threads allocate: the own
 * unwinder's rules of a closed library must never be used for the next one mapped at its address.
 * argv[1] = snapshot path, argv[2] = folder of libdlcycle_a.so and libdlcycle_b.so. */
#include "track_common.h"

#include <pthread.h>
#include <stdatomic.h>

#define NOINLINE __attribute__((noinline))

static atomic_int stop;

NOINLINE void *thread_site(size_t size) {
    void *p = malloc(size);
    CHECK(p != NULL);
    return p;
}

NOINLINE void thread_step(int i) {
    void *p = thread_site(32 + (size_t)(i % 64));
    free(p);
}

static void *allocating(void *arg) {
    (void)arg;
    for (int i = 0; !atomic_load(&stop); i++) thread_step(i);
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 3);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&threads[t], NULL, allocating, NULL) == 0);
    char path[4096];
    const char *names[] = {"libdlcycle_a.so", "libdlcycle_b.so"};
    for (int round = 0; round < 300; round++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], names[round % 2]);
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        CHECK(lib != NULL);
        void *(*work)(int) = (void *(*)(int))dlsym(lib, "dlcycle_work");
        CHECK(work != NULL);
        free(work(round)); /* allocates inside the library, through its own frames */
        void *kept = work(round + 1);
        CHECK(dlclose(lib) == 0);
        if (round == 299) (void)kept; /* the last one stays live: its stack names the unloaded library */
        else free(kept);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < 2; t++) CHECK(pthread_join(threads[t], NULL) == 0);
    take_snapshot(argv[1]);
    return 0;
}
