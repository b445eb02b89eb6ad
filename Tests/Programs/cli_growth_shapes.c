// Series shapes for growth's rule (Docs/ANALYSIS.md): a site is ranked only when its live bytes never
// decrease from one snapshot to the next and end higher than they started. Four rounds, a
// heapsnap_snapshot() after each; live bytes of each site per snapshot:
//   steady  1000 2000 3000 4000   (the only one ranked)
//   dip     2000 1000 3000 4000   (ends higher, but dips once)
//   back    1000 2000 3000 1000   (rises, then falls back to where it started)
//   flat    1500 1500 1500 1500   (never decreases, never grows)
// Each site allocates on one line, so that each shape is one group. Prints nothing before the last
// snapshot (stdio's buffer would be one more site).
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void *steady(size_t size) { return malloc(size); } // @site:steady
__attribute__((noinline)) static void *dip(size_t size) { return malloc(size); } // @site:dip
__attribute__((noinline)) static void *back(size_t size) { return malloc(size); } // @site:back
__attribute__((noinline)) static void *flat(size_t size) { return malloc(size); } // @site:flat

int main(void) {
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    void *kept[16], *dips[4], *backs[4];
    int k = 0;
    // round 1: steady 1000, dip 2000, back 1000, flat 1500
    kept[k++] = steady(1000);
    dips[0] = dip(1000);
    dips[1] = dip(1000);
    backs[0] = back(1000);
    kept[k++] = flat(1500);
    if (snapshot && snapshot(NULL) != 0) return 100;
    // round 2: steady 2000, dip 1000, back 2000
    kept[k++] = steady(1000);
    free(dips[1]);
    backs[1] = back(1000);
    if (snapshot && snapshot(NULL) != 0) return 100;
    // round 3: steady 3000, dip 3000, back 3000
    kept[k++] = steady(1000);
    dips[2] = dip(2000);
    backs[2] = back(1000);
    if (snapshot && snapshot(NULL) != 0) return 100;
    // round 4: steady 4000, dip 4000, back 1000
    kept[k++] = steady(1000);
    dips[3] = dip(1000);
    free(backs[1]);
    free(backs[2]);
    if (snapshot && snapshot(NULL) != 0) return 100;
    printf("%d %p %p %p %p\n", k, dips[0], dips[2], dips[3], backs[0]);
    return 0;
}
