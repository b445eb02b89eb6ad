/* A library that allocates and is dlclosed before the snapshot must still be in the module table. */
#include "track_common.h"

int main(int argc, char **argv) {
    CHECK(argc == 2);
    void *lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL);
    /* deflateInit_(strm, level, version, stream_size): zlib allocates its state with malloc */
    int (*deflate_init)(void *, int, const char *, int) = (int (*)(void *, int, const char *, int))dlsym(lib, "deflateInit_");
    const char *(*version)(void) = (const char *(*)(void))dlsym(lib, "zlibVersion");
    CHECK(deflate_init && version);
    static unsigned char stream[112]; /* sizeof(z_stream) on LP64, zeroed: default allocators */
    CHECK(deflate_init(stream, 6, version(), (int)sizeof stream) == 0);
    CHECK(dlclose(lib) == 0); /* the deflate state stays allocated on purpose */
    take_snapshot(argv[1]);
    return 0;
}
