// For `heapsnap run --interval`: keeps 7 blocks of 3000 bytes, then waits (without allocating) until
// the tracker's timer has written its first snapshot, <HEAPSNAP_DIR>/cli_interval.<pid>.0001.heapsnap,
// and exits 0 (or 1 if it never comes, after about 20 s, so that a failing test leaves no process behind).
// Nothing but the interval can write that file: the program takes no snapshot itself.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *kept[7];

int main(void) {
    for (int i = 0; i < 7; i++) kept[i] = malloc(3000); // @site:kept
    const char *folder = getenv("HEAPSNAP_DIR");
    if (!folder) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/cli_interval.%d.0001.heapsnap", folder, (int)getpid());
    for (int polls = 0; access(path, F_OK) != 0; polls++) {
        if (polls == 10000) return 1;
        usleep(2000);
    }
    return 0;
}
