// CLI test program for `heapsnap snap` on long /proc/PID/maps: dlopens every file argv[1..] names
// (the test passes 200 copies of one small library), allocates, prints "<pid> ready" and waits until
// its standard input closes.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!dlopen(argv[i], RTLD_NOW | RTLD_LOCAL)) {
            fprintf(stderr, "%s\n", dlerror());
            return 3;
        }
    }
    void *kept = malloc(5000); // @site:many_modules
    printf("%d ready\n", (int)getpid());
    fflush(stdout);
    char buffer[64];
    while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
    }
    free(kept);
    return 0;
}
