// Churn test program: known allocation calls and temporary allocations (freed before the thread
// allocates again) per line, then one API snapshot.
//   scratch:      1000 x malloc(64) freed at once                 -> 1000 calls, 1000 temporary
//   grow_start:   1 x malloc(16), grown by realloc at once         -> 1 call, 1 temporary
//   grow_step:    10 x realloc doubling to 16 KiB, last one kept   -> 10 calls, 9 temporary, 16384 B live
//   pair_first:   200 x malloc(32), freed after pair_second's      -> 200 calls, 0 temporary
//   pair_second:  200 x malloc(48), freed right after its malloc   -> 200 calls, 200 temporary
//   kept:         50 x malloc(100), kept                           -> 50 calls, 0 temporary, 5000 B live
//   late:         1 x malloc(24), freed after kept's allocations   -> 1 call, 0 temporary
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static void *kept[50];

static void scratch(void)
{
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(64); // @site:scratch
        p[0] = (char)i;
        free(p);
    }
}

static char *grow(void)
{
    char *p = malloc(16); // @site:grow_start
    for (int i = 1; i <= 10; i++)
        p = realloc(p, (size_t)16 << i); // @site:grow_step
    memset(p, 1, 16384);
    return p;
}

static void pairs(void)
{
    for (int i = 0; i < 200; i++) {
        char *first = malloc(32); // @site:pair_first
        char *second = malloc(48); // @site:pair_second
        first[0] = second[0] = 1;
        free(second);
        free(first);
    }
}

int main(void)
{
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    char *late = malloc(24); // @site:late
    scratch();
    char *grown = grow();
    pairs();
    for (int i = 0; i < 50; i++)
        kept[i] = malloc(100); // @site:kept
    free(late);
    if (snapshot != NULL && snapshot(NULL) != 0)
        return 100;
    free(grown);
    return 0;
}
