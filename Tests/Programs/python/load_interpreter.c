/* Loads a (stand-in) interpreter library once it runs, as an embedding program would, then makes
 * three allocations of known sizes that stay live until exit and enough short-lived ones for the
 * tracker's periodic search for an interpreter to run. Built by PythonUnsupportedTests.
 * usage: load_interpreter LIBRARY */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *kept[3];

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "load_interpreter: %s\n", dlerror());
        return 3;
    }
    kept[0] = malloc(1111); /* KEPT 1111 */
    kept[1] = malloc(2222); /* KEPT 2222 */
    kept[2] = malloc(3333); /* KEPT 3333 */
    for (int i = 0; i < 20000; i++) free(malloc(64));
    printf("loaded %s\n", argv[1]);
    return 0;
}
