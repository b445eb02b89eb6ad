/* The malloc family's glibc semantics under the tracker: the program checks every result and errno
 * itself and exits non-zero on a mismatch; the test then checks what the tracker recorded. */
#include "track_common.h"

#include <malloc.h>
#include <stdint.h>
#include <unistd.h>

static void *keep[16];
/* volatile so the compiler neither warns about nor folds the impossible sizes */
static volatile size_t huge = SIZE_MAX - 4096, half = SIZE_MAX / 2;

__attribute__((noinline)) void site_posix_memalign(void) {
    void *p = (void *)1;
    CHECK(posix_memalign(&p, 3, 10) == EINVAL && p == (void *)1);
    CHECK(posix_memalign(&p, 0, 10) == EINVAL);
    CHECK(posix_memalign(&p, 24, 10) == EINVAL);
    errno = 4242;
    CHECK(posix_memalign(&p, 64, huge) == ENOMEM && errno == 4242);
    errno = 77;
    CHECK(posix_memalign(&p, 64, 10) == 0 && errno == 77 && ((uintptr_t)p & 63) == 0);
    keep[0] = p;
}

__attribute__((noinline)) void site_aligned_alloc(void) {
    void *p = aligned_alloc(64, 128);
    CHECK(p && ((uintptr_t)p & 63) == 0);
    keep[1] = p;
}

__attribute__((noinline)) void site_memalign(void) {
    errno = 0;
    CHECK(memalign(256, huge) == NULL && errno == ENOMEM);
    void *p = memalign(256, 1000);
    CHECK(p && ((uintptr_t)p & 255) == 0);
    keep[2] = p;
}

__attribute__((noinline)) void site_valloc(void) {
    void *p = valloc(100);
    CHECK(p && ((uintptr_t)p & ((uintptr_t)sysconf(_SC_PAGESIZE) - 1)) == 0);
    keep[3] = p;
}

__attribute__((noinline)) void site_pvalloc(void) {
    void *p = pvalloc(100);
    CHECK(p && ((uintptr_t)p & ((uintptr_t)sysconf(_SC_PAGESIZE) - 1)) == 0);
    CHECK(malloc_usable_size(p) >= (size_t)sysconf(_SC_PAGESIZE));
    keep[4] = p;
}

__attribute__((noinline)) void site_reallocarray(void) {
    errno = 0;
    CHECK(reallocarray(NULL, half, 4) == NULL && errno == ENOMEM);
    void *p = reallocarray(NULL, 10, 10);
    CHECK(p != NULL);
    keep[5] = p;
}

__attribute__((noinline)) void site_calloc(void) {
    errno = 0;
    CHECK(calloc(half, 3) == NULL && errno == ENOMEM);
    unsigned char *p = calloc(20, 5);
    CHECK(p != NULL);
    for (int i = 0; i < 100; i++) CHECK(p[i] == 0);
    keep[6] = p;
}

/* the block of a failed realloc stays valid, and tracked where it was allocated */
__attribute__((noinline)) void site_failed_realloc(void) {
    char *p = malloc(300);
    CHECK(p != NULL);
    memset(p, 'x', 300);
    errno = 0;
    CHECK(realloc(p, huge) == NULL && errno == ENOMEM);
    CHECK(p[299] == 'x');
    keep[7] = p;
}

/* glibc: realloc(p, 0) frees p and returns NULL */
__attribute__((noinline)) void site_realloc_zero(void) {
    void *p = malloc(500);
    CHECK(p != NULL);
    CHECK(realloc(p, 0) == NULL);
}

__attribute__((noinline)) void site_errno_kept(void) {
    errno = 1234;
    void *p = malloc(40);
    CHECK(p && errno == 1234);
    p = realloc(p, 80);
    CHECK(p && errno == 1234);
    void *q = calloc(2, 2);
    CHECK(q && errno == 1234);
    free(q);
    CHECK(errno == 1234);
    keep[8] = p;
}

__attribute__((noinline)) void site_malloc_zero(void) {
    void *p = malloc(0);
    CHECK(p != NULL);
    CHECK(malloc_usable_size(p) >= 0);
    keep[9] = p;
    void *q = malloc(33);
    CHECK(malloc_usable_size(q) >= 33);
    free(q);
    free(NULL);
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    site_posix_memalign();
    site_aligned_alloc();
    site_memalign();
    site_valloc();
    site_pvalloc();
    site_reallocarray();
    site_calloc();
    site_failed_realloc();
    site_realloc_zero();
    site_errno_kept();
    site_malloc_zero();
    take_snapshot(argv[1]);
    puts("ok");
    return 0;
}
