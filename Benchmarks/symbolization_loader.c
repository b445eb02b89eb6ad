// The program of the symbolization benchmark: dlopens every library given (built by make_modules.sh),
// calls its symbench_run() so that each of its functions allocates once, then writes a snapshot to
// SNAPSHOT with heapsnap_snapshot() (found with dlsym; without the tracker it only reports the count).
//
// usage: symbolization_loader SNAPSHOT LIBRARY...
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: symbolization_loader SNAPSHOT LIBRARY...\n");
        return 2;
    }
    long functions = 0;
    for (int i = 2; i < argc; i++) {
        void *library = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            fprintf(stderr, "symbolization_loader: %s\n", dlerror());
            return 1;
        }
        int (*run)(void) = (int (*)(void))dlsym(library, "symbench_run");
        if (!run) {
            fprintf(stderr, "symbolization_loader: %s: no symbench_run\n", argv[i]);
            return 1;
        }
        functions += run();
    }
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    if (snapshot && snapshot(argv[1]) != 0) {
        perror("symbolization_loader: heapsnap_snapshot");
        return 1;
    }
    printf("symbolization_loader: modules=%d functions=%ld snapshot=%s\n", argc - 2, functions,
           snapshot ? argv[1] : "(none: heapsnap not preloaded)");
    return 0;
}
