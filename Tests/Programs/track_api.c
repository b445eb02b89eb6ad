/* The C API's counters and default names, and stack depth limits. Prints "ok". */
#include "track_common.h"

#include <unistd.h>

static void (*traced)(size_t *, size_t *);

__attribute__((noinline)) void *api_site(void) { return malloc(5000); }

__attribute__((noinline)) void *deep(int levels) {
    if (levels == 0) return malloc(48);
    void *p = deep(levels - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call: every level keeps its frame */
    return p;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    traced = (void (*)(size_t *, size_t *))tracker_function("heapsnap_get_traced_memory");
    void (*reset_peak)(void) = (void (*)(void))tracker_function("heapsnap_reset_peak");
    size_t before, peak_before, current, peak;
    traced(&before, &peak_before);
    CHECK(peak_before >= before);
    void *p = api_site();
    traced(&current, &peak);
    CHECK(current == before + 5000 && peak >= current);
    free(p);
    traced(&current, &peak);
    CHECK(current == before && peak >= before + 5000);
    reset_peak();
    traced(&current, &peak);
    CHECK(peak == current);
    traced(NULL, NULL);

    void *q = deep(100);
    CHECK(q != NULL);
    take_snapshot(NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/track_api.%d.0001.heapsnap", argv[1], (int)getpid());
    CHECK(access(path, F_OK) == 0);
    puts("ok");
    return 0;
}
