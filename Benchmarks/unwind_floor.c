// The floor of any unwinding tracker, for `make bench`: a preload library that only interposes
// malloc and takes a libunwind backtrace (unw_backtrace, HEAPSNAP_FRAMES deep, default 64) before
// forwarding to glibc. No tables, no locks, nothing recorded: what heapsnap adds beyond this row is
// the cost of its own bookkeeping.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);

static __thread int inside __attribute__((tls_model("initial-exec")));
static int (*backtrace_of_caller)(void **buffer, int size);
static int depth = 64;
volatile void *unwind_floor_sink;

__attribute__((constructor)) static void load_libunwind(void) {
    inside = 1; // dlopen allocates
    const char *frames = getenv("HEAPSNAP_FRAMES");
    if (frames && atoi(frames) > 0 && atoi(frames) <= 256) depth = atoi(frames);
    void *libunwind = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (libunwind) backtrace_of_caller = (int (*)(void **, int))dlsym(libunwind, "unw_backtrace");
    inside = 0;
}

__attribute__((visibility("default"))) void *malloc(size_t size) {
    if (!inside && backtrace_of_caller) {
        inside = 1;
        void *frames[256];
        backtrace_of_caller(frames, depth);
        unwind_floor_sink = frames[0];
        inside = 0;
    }
    return __libc_malloc(size);
}
