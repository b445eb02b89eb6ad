/* Known allocation patterns, each in its own function so a test can find it by frame 0. */
#include "track_common.h"

__attribute__((noinline)) void keep_small(void **out) {
    for (int i = 0; i < 10; i++) out[i] = malloc(100);
}

__attribute__((noinline)) void churn(void) {
    for (int i = 0; i < 5; i++) {
        void *p = malloc(1000);
        free(p);
    }
}

__attribute__((noinline)) void *keep_big(void) { return malloc(1 << 20); }

__attribute__((noinline)) void *zeroed(void) { return calloc(7, 9); }

__attribute__((noinline)) char *grow(void) {
    char *p = malloc(10);
    p = realloc(p, 100);
    p = realloc(p, 50);
    p = realloc(p, 4000);
    return p;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void *small[10];
    keep_small(small);
    churn();
    void *big = keep_big();
    void *z = zeroed();
    char *g = grow();
    take_snapshot(argv[1]);
    /* after the API snapshot: the big block goes, the rest stays for the exit snapshot */
    free(big);
    (void)z;
    (void)g;
    return 0;
}
