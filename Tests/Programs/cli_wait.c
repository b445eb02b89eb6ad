// CLI test program for `heapsnap snap`: allocates 7 blocks of 3000 bytes, prints its pid and "ready",
// then waits until its standard input closes, and exits.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *blocks[7];

int main(void)
{
    for (int i = 0; i < 7; i++)
        blocks[i] = malloc(3000); // @site:waiting
    printf("%d ready\n", (int)getpid());
    fflush(stdout);
    char buffer[64];
    while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
    }
    return 0;
}
