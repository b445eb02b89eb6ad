// Allocation sites the analysis tests know by their marker comments: plain malloc, an always_inline
// helper (inlined even at -O0), strdup (plumbing in libc). Prints its own module table and the return
// addresses of mark() calls so the symbolizer can be tested without the tracker.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline __attribute__((always_inline)) void *inline_alloc(size_t size) {
    return malloc(size); // SITE:inline-body
}

__attribute__((noinline)) void mark(const char *label) {
    printf("MARK %s %lx\n", label, (unsigned long)(uintptr_t)__builtin_return_address(0));
}

static inline __attribute__((always_inline)) void inline_mark(void) {
    mark("inline"); // MARK:inline-body
}

static int print_main_module(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    printf("MODULE %lx\n", (unsigned long)info->dlpi_addr);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD)
            printf("SEGMENT %lx %lx %x\n", (unsigned long)(info->dlpi_addr + ph->p_vaddr),
                   (unsigned long)ph->p_memsz, (unsigned)ph->p_flags);
    }
    return 1; // the first entry is the main executable
}

int main(void) {
    void *plain[10], *inlined[5];
    for (int i = 0; i < 10; i++) plain[i] = malloc(100); // SITE:malloc
    for (int i = 0; i < 5; i++) inlined[i] = inline_alloc(1000); // SITE:inline-call
    char *copy = strdup("a string the strdup site keeps alive"); // SITE:strdup
    mark("plain"); // MARK:plain
    inline_mark(); // MARK:inline-call
    dl_iterate_phdr(print_main_module, NULL);
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    if (snapshot) snapshot(NULL);
    printf("KEPT %p %p %p\n", (void *)plain[9], (void *)inlined[4], (void *)copy);
    return 0;
}
