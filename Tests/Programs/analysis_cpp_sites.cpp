// C++ allocation sites the analysis tests know by their marker comments: new, std::vector growth,
// std::make_unique, std::string. Built as is, it runs under the tracker. analysis_cpp_capture.cpp
// includes it with CAPTURE_MALLOC: then its own malloc prints the call stack of each allocation made
// while `capturing` is set (glibc's backtrace), so site rules can be tested on real C++ stacks without
// the tracker (a malloc defined in the executable would hide the tracker's).
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

static bool capturing = false;

#ifdef CAPTURE_MALLOC
extern "C" void *__libc_malloc(size_t);
static bool inside = false;

extern "C" void *malloc(size_t size) {
    void *block = __libc_malloc(size);
    if (capturing && !inside) {
        inside = true;
        void *frames[32];
        int depth = backtrace(frames, 32);
        // frames[0] is this function; the tracker's stacks also start at the caller of malloc.
        std::printf("STACK %zu", size);
        for (int i = 1; i < depth; i++) std::printf(" %lx", (unsigned long)(uintptr_t)frames[i]);
        std::printf("\n");
        inside = false;
    }
    return block;
}
#endif

struct Widget {
    char payload[48];
};

static int print_module(struct dl_phdr_info *info, size_t, void *) {
    std::printf("MODULE %lx %s\n", (unsigned long)info->dlpi_addr, info->dlpi_name);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD)
            std::printf("SEGMENT %lx %lx %x\n", (unsigned long)(info->dlpi_addr + ph->p_vaddr),
                        (unsigned long)ph->p_memsz, (unsigned)ph->p_flags);
    }
    return 0;
}

int main() {
    void *warm[4];
    backtrace(warm, 4); // loads libgcc_s now, not while capturing
    std::vector<Widget *> widgets;
    widgets.reserve(16);
    std::vector<int> numbers;
    std::string text;
    std::unique_ptr<Widget> unique;
    capturing = true;
    for (int i = 0; i < 3; i++) widgets.push_back(new Widget()); // SITE:new
    numbers.push_back(7); // SITE:vector
    unique = std::make_unique<Widget>(); // SITE:make_unique
    text.assign("a string long enough to leave the small buffer"); // SITE:string
    capturing = false;
    dl_iterate_phdr(print_module, nullptr);
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    if (snapshot) snapshot(nullptr);
    std::printf("KEPT %zu %zu %zu %p\n", widgets.size(), numbers.size(), text.size(), (void *)unique.get());
    return 0;
}
