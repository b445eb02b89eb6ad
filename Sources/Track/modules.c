/* The registry of every module the process has mapped while tracked: path, load bias, PT_LOAD
 * segments, GNU build-id. Modules are never dropped, only flagged unloaded, so stacks recorded
 * inside a library that was dlclosed later still resolve. */
#include "internal.h"
#include "unwind.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#define EXPORT __attribute__((visibility("default")))

struct segment {
    uint64_t start, size;
    uint32_t flags;
};

struct module {
    uint64_t load_bias;
    uint32_t flags; /* HEAPSNAP_MODULE_* */
    bool seen;
    char *path;
    uint32_t path_length;
    uint32_t build_id_length;
    unsigned char build_id[64];
    uint32_t segment_count;
    struct segment *segments;
};

pthread_mutex_t hs_modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *modules;
static size_t module_count, module_capacity;
static struct hs_arena module_arena;
char hs_exe_path[HS_PATH_MAX];

/* A note segment is read only if a PT_LOAD maps it: odd binaries have notes that are not loaded. */
static bool mapped(struct dl_phdr_info *info, ElfW(Addr) vaddr, ElfW(Xword) size) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr <= ph->p_filesz &&
            size <= ph->p_filesz - (vaddr - ph->p_vaddr))
            return true;
    }
    return false;
}

static void read_build_id(struct dl_phdr_info *info, struct module *m) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE || !mapped(info, ph->p_vaddr, ph->p_memsz)) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        size_t align = ph->p_align == 8 ? 8 : 4;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)p;
            const unsigned char *name = p + sizeof *note;
            const unsigned char *desc = name + ((note->n_namesz + align - 1) & ~(align - 1));
            const unsigned char *next = desc + ((note->n_descsz + align - 1) & ~(align - 1));
            if (next > end || desc + note->n_descsz > end) break;
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                note->n_descsz <= sizeof m->build_id) {
                memcpy(m->build_id, desc, note->n_descsz);
                m->build_id_length = note->n_descsz;
                return;
            }
            p = next;
        }
    }
}

static struct module *add_module(void) {
    if (module_count == module_capacity) {
        size_t capacity = module_capacity ? module_capacity * 2 : 64;
        struct module *grown = hs_map(capacity * sizeof *grown);
        if (!grown) return NULL;
        if (modules) memcpy(grown, modules, module_count * sizeof *grown);
        hs_unmap(modules, module_capacity * sizeof *grown);
        modules = grown;
        module_capacity = capacity;
    }
    struct module *m = &modules[module_count++];
    memset(m, 0, sizeof *m);
    return m;
}

struct refresh_state {
    bool first;
    uintptr_t vdso;
};

static int refresh_one(struct dl_phdr_info *info, size_t size, void *data) {
    struct refresh_state *state = data;
    bool is_main = state->first;
    state->first = false;
    bool is_vdso = state->vdso &&
                   (uintptr_t)info->dlpi_phdr == state->vdso + ((const ElfW(Ehdr) *)state->vdso)->e_phoff;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    static char resolved[HS_PATH_MAX]; /* static: refreshes run under hs_modules_lock, stacks may be small */
    if (is_main && hs_exe_path[0]) {
        name = hs_exe_path;
    } else if (name[0] && name[0] != '/' && !is_vdso && realpath(name, resolved)) {
        name = resolved;
    }
    if (!name[0] && !is_vdso && !is_main) return 0; /* nothing to symbolize against */
    size_t length = strlen(name);
    for (size_t i = 0; i < module_count; i++) {
        struct module *m = &modules[i];
        if (m->load_bias == info->dlpi_addr && m->path_length == length && memcmp(m->path, name, length) == 0) {
            m->seen = true;
            m->flags &= ~HEAPSNAP_MODULE_UNLOADED;
            return 0;
        }
    }
    struct module *m = add_module();
    if (!m) return 0;
    m->load_bias = info->dlpi_addr;
    m->flags = (is_main ? HEAPSNAP_MODULE_MAIN_EXECUTABLE : 0u) | (is_vdso ? HEAPSNAP_MODULE_VDSO : 0u);
    m->seen = true;
    m->path = hs_arena_alloc(&module_arena, length + 1);
    int loads = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
    m->segments = hs_arena_alloc(&module_arena, (size_t)(loads ? loads : 1) * sizeof(struct segment));
    if (!m->path || !m->segments) {
        module_count--;
        return 0;
    }
    memcpy(m->path, name, length);
    m->path_length = (uint32_t)length;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        m->segments[m->segment_count++] = (struct segment){info->dlpi_addr + ph->p_vaddr, ph->p_memsz, ph->p_flags};
    }
    read_build_id(info, m);
    return 0;
}

void hs_modules_refresh(void) {
    pthread_mutex_lock(&hs_modules_lock);
    for (size_t i = 0; i < module_count; i++) modules[i].seen = false;
    struct refresh_state state = {true, (uintptr_t)getauxval(AT_SYSINFO_EHDR)};
    dl_iterate_phdr(refresh_one, &state);
    for (size_t i = 0; i < module_count; i++)
        if (!modules[i].seen) modules[i].flags |= HEAPSNAP_MODULE_UNLOADED;
    pthread_mutex_unlock(&hs_modules_lock);
}

void hs_modules_write(struct hs_writer *w) {
    pthread_mutex_lock(&hs_modules_lock);
    hs_put_u32(w, (uint32_t)module_count);
    for (size_t i = 0; i < module_count; i++) {
        struct module *m = &modules[i];
        hs_put_u64(w, m->load_bias);
        hs_put_u32(w, m->flags);
        hs_put_str(w, m->path, m->path_length);
        hs_put_u32(w, m->build_id_length);
        hs_put(w, m->build_id, m->build_id_length);
        hs_put_u32(w, m->segment_count);
        for (uint32_t s = 0; s < m->segment_count; s++) {
            hs_put_u64(w, m->segments[s].start);
            hs_put_u64(w, m->segments[s].size);
            hs_put_u32(w, m->segments[s].flags);
            hs_put_u32(w, 0);
        }
    }
    pthread_mutex_unlock(&hs_modules_lock);
}

/* Bytes the MODULES payload will take, so the section length can be written up front. */
uint64_t hs_modules_payload_size(void) {
    pthread_mutex_lock(&hs_modules_lock);
    uint64_t size = 4;
    for (size_t i = 0; i < module_count; i++)
        size += 8 + 4 + 4 + modules[i].path_length + 4 + modules[i].build_id_length + 4 + 24ull * modules[i].segment_count;
    pthread_mutex_unlock(&hs_modules_lock);
    return size;
}

void hs_modules_after_fork_child(void) { pthread_mutex_init(&hs_modules_lock, NULL); }

/* dlclose: record the module list while the closing library is still mapped, then forward. */
static int (*real_dlclose)(void *);

EXPORT int dlclose(void *handle) {
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    if (!real_dlclose) real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    if (atomic_load_explicit(&hs_state, memory_order_acquire) == 2 && !guard) {
        /* snapshot lock first: the same order as a snapshot's own refresh */
        pthread_mutex_lock(&hs_snapshot_lock);
        hs_modules_refresh();
        pthread_mutex_unlock(&hs_snapshot_lock);
    }
    if (!real_dlclose) {
        hs_in_tracker = guard;
        errno = ENOSYS;
        return -1;
    }
    /* the own unwinder's rules of the closing module go with it (unwind.c) */
    hs_unwind_closing_begin();
    hs_in_tracker = guard;
    int rc = real_dlclose(handle);
    int saved = errno;
    hs_unwind_closing_end();
    errno = saved;
    return rc;
}
