/* Sites whose names must come back when the program is stripped (Tests/CLITests/StrippedNamesTests.swift):
 * a static function, which only a .symtab, MiniDebugInfo or debug info can name, and, in libnamesexport.so
 * (dlopen()ed from this program's folder, so ld.so's own allocations are traced too), an exported function,
 * which .dynsym names, and an internal one, which nothing names once the library is stripped. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *table[16];

__attribute__((noinline)) static void fill_table(int count) {
    for (int i = 0; i < count; i++) table[i] = malloc(3000); // @site:table
}

/* argv[1]: how many table blocks (1-16, default 16), for a diff of two runs. */
int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 16;
    fill_table(count < 1 || count > 16 ? 16 : count);
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 32);
    if (length <= 0) return 2;
    path[length] = 0;
    char *slash = strrchr(path, '/');
    strcpy(slash + 1, "libnamesexport.so");
    void *library = dlopen(path, RTLD_NOW);
    if (!library) {
        fprintf(stderr, "names_alloc: %s\n", dlerror());
        return 1;
    }
    void (*exported)(void) = (void (*)(void))dlsym(library, "names_exported_fill");
    void (*internal)(void) = (void (*)(void))dlsym(library, "names_internal_fill");
    if (!exported || !internal) return 1;
    exported();
    internal();
    return 0;
}
