/* Rises to ten live MiB, falls to nothing, then holds half a MiB: the peak file must show the ten. */
#include "track_common.h"

__attribute__((noinline)) void peak_site(void **out) {
    for (int i = 0; i < 10; i++) out[i] = malloc(1 << 20);
}

__attribute__((noinline)) void *after_peak_site(void) { return malloc(1 << 19); }

int main(void) {
    void *blocks[10];
    peak_site(blocks);
    for (int i = 0; i < 10; i++) free(blocks[i]);
    void *p = after_peak_site();
    (void)p;
    return 0;
}
