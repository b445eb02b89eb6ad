// C++ exceptions thrown through frames that allocate: the throw itself allocates
// (__cxa_allocate_exception) and unwinds with libgcc while the tracker unwinds with its own rules;
// the catch blocks allocate too. argv[1] = snapshot path.
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static std::vector<std::unique_ptr<std::string>> kept;

__attribute__((noinline)) void thrower(int depth) {
    std::vector<int> local(16 + depth); // allocates in a frame the exception passes through
    if (depth == 0) throw std::runtime_error("deep failure with a message longer than the small-string buffer");
    thrower(depth - 1);
    local[0] = depth;
}

__attribute__((noinline)) void catcher(int i) {
    try {
        thrower(8 + i % 4);
    } catch (const std::exception &e) {
        kept.emplace_back(new std::string(e.what())); // allocation in the catch block
    }
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    for (int i = 0; i < 500; i++) catcher(i);
    auto snapshot = reinterpret_cast<int (*)(const char *)>(dlsym(RTLD_DEFAULT, "heapsnap_snapshot"));
    if (!snapshot || snapshot(argv[1]) != 0) {
        std::fprintf(stderr, "heapsnap_snapshot failed\n");
        return 5;
    }
    std::printf("%zu\n", kept.size());
    return 0;
}
