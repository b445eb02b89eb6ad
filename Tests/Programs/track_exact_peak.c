/* A peak known by construction. Three sites allocate, free and allocate again so that the state at
 * the high-water mark (6 MiB: site_a 1 MiB in 1 block, site_b 512 KiB in 2, site_c 4.5 MiB in 3) is
 * not the state at any other moment, nor at exit (site_b 256 KiB in 1, site_c 1.5 MiB in 1), and the
 * second-highest moment (5.75 MiB) has another composition. With an argument, heapsnap_snapshot_peak
 * writes the peak into that path just before the end, and a reset peak then moves the high-water
 * mark for the exit peak file: argv[2] says which. */
#include "track_common.h"

#define KiB 1024
#define MiB (1024 * 1024)

__attribute__((noinline)) void *site_a(void) { return malloc(1 * MiB); }
__attribute__((noinline)) void *site_b(void) { return malloc(256 * KiB); }
__attribute__((noinline)) void *site_c(void) { return malloc(3 * MiB / 2); }

int main(int argc, char **argv) {
    void *a[5], *b[3], *c[3];
    for (int i = 0; i < 4; i++) a[i] = site_a();      /* 4 MiB */
    for (int i = 0; i < 2; i++) b[i] = site_b();      /* 4.5 MiB */
    for (int i = 1; i < 4; i++) free(a[i]);           /* 1.5 MiB */
    for (int i = 0; i < 3; i++) c[i] = site_c();      /* 6 MiB: the peak */
    free(c[2]);                                       /* 4.5 MiB */
    a[4] = site_a();                                  /* 5.5 MiB */
    b[2] = site_b();                                  /* 5.75 MiB, the second-highest moment */
    free(a[0]);
    free(a[4]);
    free(b[0]);
    free(b[1]);
    free(c[1]);                                       /* exit: b[2] and c[0], 1.75 MiB */
    if (argc > 1) {
        int (*peak)(const char *) = (int (*)(const char *))tracker_function("heapsnap_snapshot_peak");
        CHECK(peak(argv[1]) == 0);
        CHECK(peak(argv[1]) == -1 && errno == EEXIST); /* never replaces a file it was not asked to */
        if (argc > 2) {
            void (*reset)(void) = (void (*)(void))tracker_function("heapsnap_reset_peak");
            reset();                                  /* the peak is now 1.75 MiB ... */
            void *late = site_a();                    /* ... and then 2.75 MiB */
            free(late);
        }
    }
    (void)b;
    return 0;
}
