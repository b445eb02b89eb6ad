/* Shared by the track_* test programs: find the tracker's API at run time, fail loudly. */
#ifndef TRACK_COMMON_H
#define TRACK_COMMON_H
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
            exit(3);                                                                  \
        }                                                                             \
    } while (0)

static inline void *tracker_function(const char *name) {
    void *f = dlsym(RTLD_DEFAULT, name);
    if (!f) {
        fprintf(stderr, "%s not found: run under LD_PRELOAD=libheapsnap.so\n", name);
        exit(4);
    }
    return f;
}

static inline void take_snapshot(const char *path) {
    int (*snapshot)(const char *) = (int (*)(const char *))tracker_function("heapsnap_snapshot");
    if (snapshot(path) != 0) {
        fprintf(stderr, "heapsnap_snapshot(%s) failed: %s\n", path ? path : "NULL", strerror(errno));
        exit(5);
    }
}
#endif
