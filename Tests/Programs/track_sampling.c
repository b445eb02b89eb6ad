/* Sampling accuracy workload: known sizes at five sites, interleaved with churn (blocks freed right
 * away) and with frees of half of one site's blocks, so that both kinds of free (of recorded and of
 * unrecorded blocks) happen. Deterministic: the same allocations in the same order on every run.
 * Live at exit: site_small 200,000 x 64 B, site_medium 10,000 x 4 KiB (of 20,000), site_large 40 x
 * 1 MiB, site_mixed 2,000 blocks of 1..32768 B, site_minor 100 x 1000 B (well under 2 %). */
#include "track_common.h"

#include <stdint.h>

static uint64_t lcg = 12345;
static unsigned next_random(void) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(lcg >> 33);
}

__attribute__((noinline)) void *site_small(void) { return malloc(64); }
__attribute__((noinline)) void *site_medium(void) { return malloc(4096); }
__attribute__((noinline)) void *site_large(void) { return malloc(1 << 20); }
__attribute__((noinline)) void *site_mixed(size_t size) { return malloc(size); }
__attribute__((noinline)) void *site_minor(void) { return malloc(1000); }
__attribute__((noinline)) void churn(void) {
    char *p = malloc(16 + next_random() % 2033);
    p[0] = 1;
    free(p);
}

static void *small[200000], *medium[20000], *large[40], *mixed[2000], *minor[100];

int main(void) {
    for (int i = 0; i < 200000; i++) {
        small[i] = site_small();
        if (i < 20000) medium[i] = site_medium();
        if (i < 40) large[i] = site_large();
        if (i < 2000) mixed[i] = site_mixed(1 + next_random() % 32768);
        if (i < 100) minor[i] = site_minor();
        churn();
        if (i < 20000 && i % 2 == 1) free(medium[i - 1]);
    }
    return 0;
}
