/* libunwind without descriptors.
 *
 * libunwind 1.6 validates addresses it is unsure of (frame-chain fallback, signal frames, and every
 * unw_step with its default conservative checks) by writing one byte from the address into a pipe it
 * creates at initialisation: write() fails with EFAULT when the address is unreadable. That pipe
 * takes the process's lowest free descriptors (3 and 4, or 0 and 1 after a daemon closed every
 * descriptor, so that the program's own output went into it), shows in /proc/self/fd and is seen by
 * everything the program spawns with inherited descriptors.
 *
 * So libunwind's own imports of pipe2, read, close and syscall are pointed at the functions below
 * (its GOT entries, after dlopen and before its first unwind): its pipe becomes two descriptor
 * numbers that exist nowhere, and the validating write becomes process_vm_readv of that byte,
 * which fails with EFAULT exactly where the write would. Every other call goes to libc unchanged. */
#include "internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Numbers no kernel hands out (they are negative), distinct from -1 which libunwind means "none". */
#define PIPE_READ_END (-4242)
#define PIPE_WRITE_END (-4243)

static int unwinder_pipe2(int fds[2], int flags) {
    (void)flags;
    fds[0] = PIPE_READ_END;
    fds[1] = PIPE_WRITE_END;
    return 0;
}

static int unwinder_close(int fd) {
    if (fd == PIPE_READ_END || fd == PIPE_WRITE_END) return 0;
    return close(fd);
}

static ssize_t unwinder_read(int fd, void *buffer, size_t size) {
    if (fd == PIPE_READ_END) {
        /* libunwind drains one byte per validation and retries while errno is EINTR, even after a
         * success: answer "nothing there, try later" with a clean errno. */
        errno = EAGAIN;
        return -1;
    }
    return read(fd, buffer, size);
}

/* Whether one byte at `address` can be read: the check libunwind's write(pipe, address, 1) makes. */
static long validate_byte(const void *address) {
    char byte;
    struct iovec local = {&byte, 1}, remote = {(void *)address, 1};
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (n == 1) {
        errno = 0;
        return 1;
    }
    if (n < 0 && errno == ENOSYS) {
        /* no process_vm_readv (old kernel, seccomp): mincore already found the page mapped */
        errno = 0;
        return 1;
    }
    errno = EFAULT;
    return -1;
}

static long unwinder_syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_write && (int)a[0] == PIPE_WRITE_END) return validate_byte((const void *)a[1]);
    return syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static const struct {
    const char *name;
    void *replacement;
} redirected[] = {
    {"pipe2", (void *)unwinder_pipe2},
    {"pipe", (void *)unwinder_pipe2}, /* older builds without pipe2 call pipe() then fcntl() */
    {"close", (void *)unwinder_close},
    {"read", (void *)unwinder_read},
    {"syscall", (void *)unwinder_syscall},
};

static void *replacement_for(const char *name) {
    for (size_t i = 0; i < sizeof redirected / sizeof redirected[0]; i++)
        if (strcmp(name, redirected[i].name) == 0) return redirected[i].replacement;
    return NULL;
}

struct relro {
    uintptr_t lo, hi;
};

static int find_relro(struct dl_phdr_info *info, size_t size, void *data) {
    struct {
        uintptr_t base;
        struct relro found;
    } *q = data;
    if (info->dlpi_addr != q->base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) q->found = (struct relro){info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz};
    }
    return 1;
}

static void store_pointer(void **slot, void *value, struct relro relro) {
    uintptr_t at = (uintptr_t)slot;
    if (at >= relro.lo && at < relro.hi) {
        /* a read-only GOT (RELRO with BIND_NOW): open its page for the one store */
        uintptr_t page = at & ~(uintptr_t)4095;
        if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE) != 0) return;
        *slot = value;
        mprotect((void *)page, 4096, PROT_READ);
        return;
    }
    *slot = value;
}

/* Returns how many imports were redirected. Runs with the guard up, before libunwind's first use. */
int hs_unwinder_redirect_io(void *handle) {
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_ld) return 0;
    const ElfW(Sym) *symbols = NULL;
    const char *strings = NULL;
    const ElfW(Rela) *plt = NULL, *rela = NULL;
    size_t plt_size = 0, rela_size = 0;
    for (const ElfW(Dyn) *d = map->l_ld; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symbols = (const ElfW(Sym) *)d->d_un.d_ptr; break;
        case DT_STRTAB: strings = (const char *)d->d_un.d_ptr; break;
        case DT_JMPREL: plt = (const ElfW(Rela) *)d->d_un.d_ptr; break;
        case DT_PLTRELSZ: plt_size = d->d_un.d_val; break;
        case DT_RELA: rela = (const ElfW(Rela) *)d->d_un.d_ptr; break;
        case DT_RELASZ: rela_size = d->d_un.d_val; break;
        default: break;
        }
    }
    if (!symbols || !strings) return 0;
    struct {
        uintptr_t base;
        struct relro found;
    } q = {map->l_addr, {0, 0}};
    dl_iterate_phdr(find_relro, &q);
    int count = 0;
    const struct {
        const ElfW(Rela) *table;
        size_t size;
    } tables[] = {{plt, plt_size}, {rela, rela_size}};
    for (int t = 0; t < 2; t++) {
        if (!tables[t].table) continue;
        for (size_t i = 0; i < tables[t].size / sizeof(ElfW(Rela)); i++) {
            const ElfW(Rela) *r = &tables[t].table[i];
#if defined(__x86_64__)
            unsigned type = ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
#elif defined(__aarch64__)
            unsigned type = ELF64_R_TYPE(r->r_info);
            if (type != R_AARCH64_JUMP_SLOT && type != R_AARCH64_GLOB_DAT) continue;
#else
            continue;
#endif
            size_t index = ELF64_R_SYM(r->r_info);
            if (!index) continue;
            void *replacement = replacement_for(strings + symbols[index].st_name);
            if (!replacement) continue;
            store_pointer((void **)(map->l_addr + r->r_offset), replacement, q.found);
            count++;
        }
    }
    return count;
}
