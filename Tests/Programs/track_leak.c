/* Never frees anything. */
#include "track_common.h"

__attribute__((noinline)) void leak_site(void) {
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(64);
        (void)p;
    }
}

int main(void) {
    leak_site();
    return 0;
}
