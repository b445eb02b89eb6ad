// Loads the plugin named on the command line, lets it allocate (it keeps its blocks), unloads it,
// then takes a snapshot: the plugin's frames must still resolve although it is gone from the process.
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    void *plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!plugin) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    void *(*make_block)(void) = (void *(*)(void))dlsym(plugin, "plugin_make_block");
    if (!make_block) return 4;
    void *kept[3];
    for (int i = 0; i < 3; i++) kept[i] = make_block(); // SITE:call-plugin
    dlclose(plugin);
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    if (snapshot) snapshot(NULL);
    printf("KEPT %p\n", kept[2]);
    return 0;
}
