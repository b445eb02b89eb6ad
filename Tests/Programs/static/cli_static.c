// CLI test program linked with -static (the Makefile's rule): no dynamic loader, so LD_PRELOAD cannot
// bring libheapsnap.so in. Allocates, prints "cli_static: N blocks", exits 0.
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    void *blocks[4];
    for (int i = 0; i < 4; i++)
        blocks[i] = malloc(100);
    printf("cli_static: %d blocks\n", blocks[3] != NULL ? 4 : 0);
    return 0;
}
