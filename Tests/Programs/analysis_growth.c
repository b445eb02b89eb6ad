// A program that leaks steadily next to healthy churn, with a snapshot after each of four rounds: the
// leak site grows 10 x 1000 bytes per round, the slow one 100 bytes per round, the burst holds 5000
// bytes in round 1 only, the fluctuating one 3000 bytes in odd rounds and nothing in even ones.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *leaked[64];
static int leaked_count;

__attribute__((noinline)) static void leak_round(void) {
    for (int i = 0; i < 10; i++) leaked[leaked_count++] = malloc(1000); // SITE:leak
}

int main(void) {
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    void *burst = NULL, *fluct = NULL, *slow[4];
    for (int round = 1; round <= 4; round++) {
        leak_round();
        slow[round - 1] = malloc(100); // SITE:slow
        if (round == 1) burst = malloc(5000); // SITE:burst
        if (round == 2) { free(burst); burst = NULL; }
        if (round % 2 == 1) fluct = malloc(3000); // SITE:fluct
        else { free(fluct); fluct = NULL; }
        if (snapshot) snapshot(NULL);
    }
    printf("%d %p %p\n", leaked_count, slow[3], burst);
    return 0;
}
