/* Changes directory (argv[1]) before exiting: the exit snapshot still goes where the program started. */
#include "track_common.h"

#include <unistd.h>

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void *p = malloc(10);
    (void)p;
    CHECK(chdir(argv[1]) == 0);
    return 0;
}
