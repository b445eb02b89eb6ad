/* An embedding program that dlopen()s libpython only once it runs (argv[1]), long after the tracker
 * started: the tracker must find the interpreter then and record the Python frames of the code it
 * runs. Built by PythonEmbeddedTests. */
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    void (*init)(void) = (void (*)(void))dlsym(lib, "Py_Initialize");
    int (*run)(const char *) = (int (*)(const char *))dlsym(lib, "PyRun_SimpleString");
    init();
    /* line 2 of this code holds 4000 strings: the test expects it as their site */
    return run("def build(n):\n    return [str(i) * 50 for i in range(n)]\nkept = build(4000)\nimport ctypes; ctypes.CDLL(None).heapsnap_snapshot(None)\n");
}
