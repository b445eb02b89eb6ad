/* Prints the address and size of each block it keeps, for checking the TRACES section exactly. */
#include "track_common.h"

#include <stdint.h>

__attribute__((noinline)) void *address_site(size_t size) { return malloc(size); }

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void *blocks[5];
    for (int i = 0; i < 5; i++) blocks[i] = address_site(11 + (size_t)i);
    free(blocks[2]);
    for (int i = 0; i < 5; i++)
        if (i != 2) printf("%lu %d\n", (unsigned long)(uintptr_t)blocks[i], 11 + i);
    fflush(stdout);
    take_snapshot(argv[1]);
    return 0;
}
