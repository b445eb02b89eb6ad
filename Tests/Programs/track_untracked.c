/* Blocks the tracker never saw (here: from glibc directly, as if allocated before it started) must
 * count as untracked frees and leave every other counter alone. */
#include "track_common.h"

extern void *__libc_malloc(size_t);

__attribute__((noinline)) void *untracked_realloc_site(void *p) { return realloc(p, 200); }

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void *p = __libc_malloc(100);
    free(p);
    void *q = __libc_malloc(50);
    void *r = untracked_realloc_site(q);
    CHECK(r != NULL);
    take_snapshot(argv[1]);
    return 0;
}
