/* Sites behind wrappers: dlopen()s libwrapalloc.so (next to this program), whose allocations are ld.so
 * plumbing from end to end, then allocates 3 x 4000 bytes through the library's three-deep wrapper,
 * and takes one snapshot with everything still live. */
#define _GNU_SOURCE
#include "track_common.h"
#include <unistd.h>

int main(void) {
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 32);
    CHECK(length > 0);
    path[length] = 0;
    strcpy(strrchr(path, '/') + 1, "libwrapalloc.so");
    void *library = dlopen(path, RTLD_NOW); // SITE:dlopen
    CHECK(library != NULL);
    void *(*make_buffer)(size_t) = (void *(*)(size_t))dlsym(library, "wrap_make_buffer");
    CHECK(make_buffer != NULL);
    void *kept[3];
    for (int i = 0; i < 3; i++) kept[i] = make_buffer(4000); // SITE:call
    take_snapshot(NULL);
    for (int i = 0; i < 3; i++) free(kept[i]);
    return 0;
}
