/* The stack capture.
 *
 * The own unwinder walks x86-64 frames by rules compiled from each module's .eh_frame (eh_frame.c):
 * per frame one load from a shared direct-mapped cache of return address -> rule, one bounds check,
 * the return address load and, where the frame saved it, the rbp load. A rule is computed on the first
 * miss of its address and packed with the address into one 64-bit word, so a reader never sees a torn
 * entry and no lock is taken. Whatever the rules cannot express (signal frames, DWARF expressions,
 * a CFA in another register, code without CFI, a read outside the thread's stack) hands the whole
 * capture to libunwind, which stays the reference: HEAPSNAP_VERIFY_UNWIND=1 runs it beside the own
 * unwinder on every capture and compares, and a mismatch switches the process to libunwind.
 *
 * Reads are only made inside the thread's stack: the mapping holding the stack pointer, looked up once
 * per thread (and again when the stack pointer leaves it) in /proc/self/maps with plain system calls,
 * and every CFA must move up and stay below the mapping's end. */
#include "unwind.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


/* ---------------------------------------------------------------- which unwinder */

enum { MODE_OWN, MODE_LIBUNWIND };
static _Atomic int mode = MODE_LIBUNWIND;      /* own once hs_unwind_init found what it needs */
static _Atomic uint32_t unwinder_status = HEAPSNAP_UNWINDER_LIBUNWIND_UNAVAILABLE;
static bool verifying;

static _Atomic uint64_t verified_captures, mismatched_captures, fallback_captures;

/* the first mismatch, for `heapsnap info` */
static _Atomic int mismatch_claimed;
static _Atomic int mismatch_ready;
static struct {
    uint32_t frame;
    uint32_t own_depth, libunwind_depth;
    uintptr_t own_pc, libunwind_pc;
    uint64_t own_offset, libunwind_offset;
    char own_module[256], libunwind_module[256];
} first_mismatch;

/* ---------------------------------------------------------------- libunwind and the tracker's text */

struct text_range {
    uintptr_t lo, hi;
};

typedef int (*unw_backtrace_fn)(void **, int);
static _Atomic(unw_backtrace_fn) unw_backtrace_ptr;
static struct text_range own_text, unwinder_text;

typedef int (*find_object_fn)(void *, struct dl_find_object *);
static find_object_fn find_object;

struct range_query {
    uintptr_t address;
    struct text_range found;
};

static int find_module_text(struct dl_phdr_info *info, size_t size, void *data) {
    struct range_query *q = data;
    bool inside = false;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (q->address >= start && q->address < start + ph->p_memsz) inside = true;
        if (ph->p_flags & PF_X) {
            if (start < lo) lo = start;
            if (start + ph->p_memsz > hi) hi = start + ph->p_memsz;
        }
    }
    if (!inside) return 0;
    q->found = (struct text_range){lo, hi};
    return 1;
}

static struct text_range module_text_of(uintptr_t address) {
    struct range_query q = {address, {0, 0}};
    dl_iterate_phdr(find_module_text, &q);
    return q.found;
}

static inline bool in_range(struct text_range r, uintptr_t a) { return a >= r.lo && a < r.hi; }

static void load_libunwind(void) {
    /* RTLD_LOCAL: libunwind exports _Unwind_* and backtrace, which must never shadow the process's own. */
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    hs_unwinder_redirect_io(lib); /* before its initialisation opens a pipe: unwinder_io.c */
    unw_backtrace_fn backtrace = (unw_backtrace_fn)dlsym(lib, "unw_backtrace");
    if (!backtrace) return;
#if defined(__x86_64__)
    void **local_space = dlsym(lib, "_ULx86_64_local_addr_space");
    int (*set_policy)(void *, int) = (int (*)(void *, int))dlsym(lib, "_ULx86_64_set_caching_policy");
#elif defined(__aarch64__)
    void **local_space = dlsym(lib, "_ULaarch64_local_addr_space");
    int (*set_policy)(void *, int) = (int (*)(void *, int))dlsym(lib, "_ULaarch64_set_caching_policy");
#else
    void **local_space = NULL;
    int (*set_policy)(void *, int) = NULL;
#endif
    if (local_space && set_policy) set_policy(*local_space, 2 /* UNW_CACHE_PER_THREAD */);
    unwinder_text = module_text_of((uintptr_t)backtrace);
    atomic_store_explicit(&unw_backtrace_ptr, backtrace, memory_order_release);
}

/* ---------------------------------------------------------------- the rule cache
 *
 * 2^15 words (256 KiB), indexed by the return address's low 15 bits; zero = empty. Only addresses from
 * 2^15 up to 2^47 are cached. A word names its address exactly, in one of two forms:
 * - a frame-pointer frame (push rbp; mov rsp, rbp: CFA = rbp + 16, rbp saved at CFA - 16), the common
 *   case, is the address with bits 47..63 set, so that the walk tests it with one compare;
 * - any other rule r (below 2^31) is (address << 16) ^ r: bits 31..62 are the address's bits above the
 *   index, bit 63 is clear (so it never equals the first form), and the walk gets r back with one xor.
 * (2^16 words cost 256 KiB more of every process's tracker memory, a thirtieth of the Python deep-stack
 * workload's, for 3 % fewer rule misses there: 2,690 vs 2,773.) */
#define CACHE_BITS 15
#define CACHE_SIZE ((size_t)1 << CACHE_BITS)
#define RULE_SHIFT 16 /* entry = pc << RULE_SHIFT ^ rule */
#define ADDRESS_LIMIT ((uintptr_t)1 << 47)
#define STANDARD_MARK (~(uint64_t)0 << 47)

/* A rule. W_CFA_RBP is bit 30, just below the tag, so that one shift tells a CFA-from-rsp rule of pc
 * (the common one without frame pointers) from everything else; outermost and unsupported rules carry
 * it too, so that the rsp path tests neither. */
enum {
    W_CFA_MASK = 0xffffu,       /* the CFA offset / 8 */
    W_RBP_SHIFT = 16,           /* 8 bits: 256 - (-rbp offset) / 8, 0 = rbp unchanged; rbp is read at */
    W_RBP_MASK = 0xffu,         /* CFA + field * 8 - W_RBP_BIAS, one addressing mode */
    W_RBP_BIAS = 256 * 8,
    W_OUTERMOST = 1u << 24,     /* the return address is undefined: the stack ends here */
    W_UNSUPPORTED = 1u << 25,   /* libunwind's */
    W_STANDARD = 1u << 26,      /* only in rule_missed's answer: the cache holds such rules in the first form */
    W_CFA_RBP_BIT = 30,         /* CFA = rbp + offset, else rsp + offset */
    W_CFA_RBP = 1u << W_CFA_RBP_BIT,
};
_Static_assert(47 + RULE_SHIFT == 63 && W_CFA_RBP_BIT + 1 == CACHE_BITS + RULE_SHIFT, "a rule and its tag share one word");

static _Atomic uint64_t *cache;
static _Atomic uint64_t cache_generation;
static _Atomic int closing; /* dlcloses in progress: no new entries meanwhile */

/* The low bits as they are: return addresses of one function share cache lines, which keeps the lines a
 * stack walk touches few (the walk is a chain of dependent loads, each miss is paid in full). */
static inline size_t slot_of(uintptr_t pc) { return pc & (CACHE_SIZE - 1); }

/* pc's frame-pointer entry: pc with bits 47..63 set. An addition, so one lea beside the compare, and a
 * bijection, so that no other address, whatever its high bits, ever matches it. */
static inline uint64_t standard_entry(uintptr_t pc) { return pc + STANDARD_MARK; }

/* What w says of pc: below 2^31 exactly when w is pc's rule-form entry, then its rule, for pc in
 * [2^15, 2^47 + 2^15): pc << 16 loses no bit, and neither an empty word nor a frame-pointer entry (bits
 * 47..62 set) comes out below 2^31. */
static inline uint64_t rule_of(uint64_t w, uintptr_t pc) { return w ^ (uint64_t)pc << RULE_SHIFT; }

static const uint64_t RULE_UNSUPPORTED = W_CFA_RBP | W_UNSUPPORTED;

/* Packs a rule. Offsets a word cannot hold (never seen in compiled code) count as unsupported, and so
 * does a CFA-from-rsp rule whose rbp would be read below the stack pointer (the walk would refuse it
 * every time), which lets the walk skip that test. */
static uint64_t pack(struct hs_frame_rule rule) {
    if (!rule.supported) return RULE_UNSUPPORTED;
    if (rule.outermost) return W_CFA_RBP | W_OUTERMOST;
    if (rule.cfa_offset <= 0 || rule.cfa_offset % 8 || rule.cfa_offset / 8 >= (1 << 16)) return RULE_UNSUPPORTED;
    if (rule.rbp_offset > 0 || rule.rbp_offset % 8 || -rule.rbp_offset / 8 > 255) return RULE_UNSUPPORTED;
    if (rule.cfa_from_rbp && rule.cfa_offset == 16 && rule.rbp_offset == -16) return W_STANDARD;
    if (!rule.cfa_from_rbp && -rule.rbp_offset > rule.cfa_offset) return RULE_UNSUPPORTED;
    uint64_t rbp_field = rule.rbp_offset ? 256 - (uint64_t)(-rule.rbp_offset / 8) : 0;
    return (rule.cfa_from_rbp ? W_CFA_RBP : 0) | (uint64_t)(rule.cfa_offset / 8) | rbp_field << W_RBP_SHIFT;
}

static struct hs_frame_rule compute_rule(uintptr_t pc) {
    struct dl_find_object found;
    if (find_object((void *)(pc - 1), &found) != 0) return (struct hs_frame_rule){.supported = false};
    return hs_eh_frame_rule(pc, found.dlfo_eh_frame);
}

/* A cache miss: computes the packed rule (W_STANDARD for a frame-pointer frame) and caches it unless a
 * dlclose is under way. */
__attribute__((noinline, cold)) static uint64_t rule_missed(uintptr_t pc) {
    uint64_t generation = atomic_load_explicit(&cache_generation, memory_order_acquire);
    uint64_t packed = pack(compute_rule(pc));
    if (pc < CACHE_SIZE || pc >= ADDRESS_LIMIT) return packed; /* no tag, or one that would not fit: never cached */
    if (!atomic_load_explicit(&closing, memory_order_acquire)) {
        _Atomic uint64_t *slot = &cache[slot_of(pc)];
        uint64_t entry = packed == W_STANDARD ? standard_entry(pc) : (uint64_t)pc << RULE_SHIFT ^ packed;
        atomic_store_explicit(slot, entry, memory_order_seq_cst);
        /* a dlclose that began meanwhile may have flushed before this store: take it back */
        if (atomic_load_explicit(&cache_generation, memory_order_seq_cst) != generation ||
            atomic_load_explicit(&closing, memory_order_seq_cst))
            atomic_compare_exchange_strong(slot, &entry, 0);
    }
    return packed;
}

static void flush_cache(void) {
    for (size_t i = 0; i < CACHE_SIZE; i++)
        if (atomic_load_explicit(&cache[i], memory_order_relaxed)) atomic_store_explicit(&cache[i], 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

void hs_unwind_closing_begin(void) {
    if (!cache) return;
    atomic_fetch_add(&closing, 1);
    atomic_fetch_add(&cache_generation, 1);
    flush_cache();
}

void hs_unwind_closing_end(void) {
    if (!cache) return;
    flush_cache(); /* the module is gone: nothing of it may stay, whatever raced with the first flush */
    atomic_fetch_add(&cache_generation, 1);
    atomic_fetch_sub(&closing, 1);
}

/* ---------------------------------------------------------------- the thread's stack */

static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));
static __thread bool no_maps __attribute__((tls_model("initial-exec")));

static inline int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The mapping holding `sp`, from /proc/self/maps read with system calls only (no stdio, no malloc). */
static bool mapping_of(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buffer[512];
    uintptr_t start = 0, end = 0;
    int field = 0; /* 0 start, 1 end, 2 rest of the line */
    bool found = false;
    for (;;) {
        ssize_t n = syscall(SYS_read, fd, buffer, sizeof buffer);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n && !found; i++) {
            char c = buffer[i];
            if (field == 2) {
                if (c == '\n') field = 0, start = end = 0;
            } else if (c == '-' && field == 0) {
                field = 1;
            } else if (c == ' ' && field == 1) {
                field = 2;
                if (sp >= start && sp < end) found = true;
            } else {
                int d = hex_digit(c);
                if (d < 0) field = 2;
                else if (field == 0) start = start << 4 | (uintptr_t)d;
                else end = end << 4 | (uintptr_t)d;
            }
        }
        if (found) break;
    }
    syscall(SYS_close, fd);
    if (!found) return false;
    *lo = start;
    *hi = end;
    return true;
}

/* ---------------------------------------------------------------- the own unwinder */


/* hs_stack_hash_step's multiplier is odd: this is its inverse modulo 2^64, which takes back a step over a
 * zero word ((h ^ 0) * M * M^-1 = h). */
#define HASH_INVERSE 0x4f74430c22a54005ull
_Static_assert(HASH_INVERSE * 0xff51afd7ed558ccdull == 1, "the inverse of hs_stack_hash_step's multiplier");

/* Return addresses from the return address of frame `from` outwards (a frame-pointer frame: saved rbp,
 * then the return address); -1 hands the capture to libunwind. */
static inline __attribute__((always_inline)) int own_unwind(uintptr_t *out, int capacity, const uintptr_t *from,
                                                             uint64_t *running) {
    uintptr_t fp = (uintptr_t)from;
    uintptr_t pc = from[1];
    uintptr_t sp = fp + 16; /* the caller's rsp after our return */
    if (!(sp >= stack_lo && sp < stack_hi)) {
        uintptr_t lo, hi;
        if (no_maps) return -1;
        if (!mapping_of(sp, &lo, &hi)) {
            no_maps = true; /* no /proc (a chroot, a sandbox): this thread stays with libunwind */
            return -1;
        }
        stack_lo = lo;
        stack_hi = hi;
    }
    uintptr_t hi = stack_hi;
    uintptr_t rbp = *(const uintptr_t *)fp;
    /* set once by hs_unwind_init; a local, or every store to `out` would reload it */
    _Atomic uint64_t *rules = cache;
    uintptr_t last_frame = hi - 16; /* the highest rbp whose two saved words fit below hi */
    uintptr_t *next = out, *end = out + capacity; /* one induction variable */
    uint64_t h = HS_STACK_HASH_START; /* folded in beside the loads: off the critical path of rbp */
    while (next < end) {
        *next++ = pc;
        h = hs_stack_hash_step(h, pc);
        uint64_t w = atomic_load_explicit(&rules[slot_of(pc)], memory_order_relaxed);
        uintptr_t cfa;
        /* The common case in one compare: pc's frame-pointer entry (0 and addresses outside [2^15, 2^47)
         * never have one). A branch, not a select, so the next frame's loads start on the predicted path
         * without waiting for the rule. */
        if (__builtin_expect(w == standard_entry(pc), 1)) {
        standard:
            if (__builtin_expect(rbp < sp || rbp > last_frame, 0)) return -1; /* both words inside the stack */
            cfa = rbp + 16;
            pc = ((const uintptr_t *)rbp)[1];
            rbp = ((const uintptr_t *)rbp)[0];
        } else {
            uint64_t rule = rule_of(w, pc);
            if (__builtin_expect((pc - CACHE_SIZE) >> 47 != 0, 0)) { /* outside [2^15, 2^47 + 2^15) */
                if (pc == 0 && next - out > 1) {
                    /* a zeroed return address ends the chain, as in libunwind: it is no frame (tested
                     * here, off the frame-pointer path, so it was stored and hashed: take both back) */
                    __asm__("" : "+r"(next), "+r"(h)); /* or the compiler keeps copies of both in the loop */
                    next--;
                    h *= HASH_INVERSE;
                    break;
                }
                rule = rule_missed(pc); /* an address the cache cannot name */
                if (rule == W_STANDARD) goto standard;
            } else if (__builtin_expect(rule >> W_CFA_RBP_BIT != 0, 0) && rule >> (W_CFA_RBP_BIT + 1) != 0) {
                /* a miss (the first test, implied by the second, sends the common rsp rule past in one
                 * predicted branch; one test for both kinds of miss cost 46 instructions per allocation
                 * on the Python workload) */
                rule = rule_missed(pc);
                if (rule == W_STANDARD) goto standard;
            }
            if (__builtin_expect(rule >> W_CFA_RBP_BIT == 0, 1)) {
                /* CFA = rsp + offset: up by 8 at least, and an rbp saved at or above rsp (pack) */
                cfa = sp + (rule & W_CFA_MASK) * 8;
                if (__builtin_expect(cfa > hi, 0)) return -1; /* inside the stack */
                uintptr_t saved = (rule >> W_RBP_SHIFT) & W_RBP_MASK;
                if (saved) rbp = *(const uintptr_t *)(cfa + saved * 8 - W_RBP_BIAS);
            } else {
                if (__builtin_expect(rule & (W_OUTERMOST | W_UNSUPPORTED), 0)) {
                    if (rule & W_UNSUPPORTED) return -1;
                    break;
                }
                cfa = rbp + (rule & W_CFA_MASK) * 8;
                if (__builtin_expect(cfa < sp + 8 || cfa > hi, 0)) return -1; /* up, and inside the stack */
                uintptr_t saved = (rule >> W_RBP_SHIFT) & W_RBP_MASK;
                if (saved) {
                    uintptr_t at = cfa + saved * 8 - W_RBP_BIAS;
                    if (at < sp) return -1;
                    rbp = *(const uintptr_t *)at;
                }
            }
            pc = *(const uintptr_t *)(cfa - 8);
        }
        sp = cfa;
    }
    *running = h;
    return (int)(next - out);
}

/* ---------------------------------------------------------------- set up */

void hs_unwind_init(void) {
    own_text = module_text_of((uintptr_t)&hs_unwind_init);
    load_libunwind();
    bool have_libunwind = atomic_load_explicit(&unw_backtrace_ptr, memory_order_relaxed) != NULL;

    uint32_t choice = hs_config.unwinder;
    bool verify = hs_config.verify_unwind;

#if defined(__x86_64__)
    find_object = (find_object_fn)dlsym(RTLD_DEFAULT, "_dl_find_object"); /* glibc 2.35 and later */
    if (choice == HEAPSNAP_UNWINDER_CHOICE_LIBUNWIND) {
        atomic_store(&unwinder_status, HEAPSNAP_UNWINDER_LIBUNWIND_BY_SETTING);
        return;
    }
    if (!find_object) {
        atomic_store(&unwinder_status, HEAPSNAP_UNWINDER_LIBUNWIND_NO_FIND_OBJECT);
        return;
    }
    cache = hs_map(CACHE_SIZE * sizeof *cache);
    if (!cache) return;
    verifying = verify && have_libunwind;
    atomic_store(&unwinder_status, HEAPSNAP_UNWINDER_OWN);
    atomic_store_explicit(&mode, MODE_OWN, memory_order_release);
#else
    atomic_store(&unwinder_status, HEAPSNAP_UNWINDER_LIBUNWIND_UNSUPPORTED_ARCH);
#endif
}

/* ---------------------------------------------------------------- capture */

static int tracker_frames(const uintptr_t *raw, int n) {
    int skip = 0;
    while (skip < n && (in_range(own_text, raw[skip]) || in_range(unwinder_text, raw[skip]))) skip++;
    return skip;
}

static void describe(uintptr_t pc, char *module, size_t size, uint64_t *offset) {
    struct dl_find_object found;
    module[0] = '\0';
    *offset = pc;
    if (!find_object || pc == 0 || find_object((void *)(pc - 1), &found) != 0 || !found.dlfo_link_map) return;
    const char *name = found.dlfo_link_map->l_name;
    if (!name || !name[0]) name = hs_exe_path;
    size_t length = strlen(name);
    if (length >= size) length = size - 1;
    memcpy(module, name, length);
    module[length] = '\0';
    *offset = pc - found.dlfo_link_map->l_addr;
}

static void note_mismatch(const uintptr_t *own, int own_depth, const uintptr_t *lib, int lib_depth) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&mismatch_claimed, &expected, 1)) return;
    int i = 0;
    while (i < own_depth && i < lib_depth && own[i] == lib[i]) i++;
    first_mismatch.frame = (uint32_t)i;
    first_mismatch.own_depth = (uint32_t)own_depth;
    first_mismatch.libunwind_depth = (uint32_t)lib_depth;
    first_mismatch.own_pc = i < own_depth ? own[i] : 0;
    first_mismatch.libunwind_pc = i < lib_depth ? lib[i] : 0;
    describe(first_mismatch.own_pc, first_mismatch.own_module, sizeof first_mismatch.own_module,
             &first_mismatch.own_offset);
    describe(first_mismatch.libunwind_pc, first_mismatch.libunwind_module, sizeof first_mismatch.libunwind_module,
             &first_mismatch.libunwind_offset);
    atomic_store_explicit(&mismatch_ready, 1, memory_order_release);
}

/* Runs libunwind beside the own result; on a difference libunwind's frames replace the own ones and the
 * process stays with libunwind. Returns the count in raw. */
static int verify(uintptr_t *raw, int n, int max, int *skip, unw_backtrace_fn backtrace, int *hashed) {
    uintptr_t reference[max + 24];
    int m = backtrace((void **)reference, max + 24);
    int lib_skip = tracker_frames(reference, m);
    int own_depth = n - *skip, lib_depth = m - lib_skip;
    /* compare what would be recorded: at most max frames, and whether there were more */
    int own_kept = own_depth > max ? max : own_depth, lib_kept = lib_depth > max ? max : lib_depth;
    bool same = own_kept == lib_kept && (own_depth > max) == (lib_depth > max) &&
                memcmp(raw + *skip, reference + lib_skip, sizeof *raw * (size_t)own_kept) == 0;
    atomic_fetch_add_explicit(&verified_captures, 1, memory_order_relaxed);
    if (same) return n;
    atomic_fetch_add_explicit(&mismatched_captures, 1, memory_order_relaxed);
    note_mismatch(raw + *skip, own_kept, reference + lib_skip, lib_kept);
    atomic_store(&unwinder_status, HEAPSNAP_UNWINDER_LIBUNWIND_AFTER_MISMATCH);
    atomic_store_explicit(&mode, MODE_LIBUNWIND, memory_order_release);
    memcpy(raw, reference, sizeof *raw * (size_t)m);
    *skip = lib_skip;
    *hashed = 0;
    return m;
}

int hs_unwind(uintptr_t *raw, int max, int *skip, const uintptr_t *entry, uint64_t *running, int *hashed) {
    unw_backtrace_fn backtrace = atomic_load_explicit(&unw_backtrace_ptr, memory_order_acquire);
    *hashed = 0;
    if (atomic_load_explicit(&mode, memory_order_acquire) == MODE_OWN) {
        int n = own_unwind(raw, max + 24, entry, running);
        if (__builtin_expect(n >= 0, 1)) {
            *skip = tracker_frames(raw, n);
            *hashed = n;
            if (verifying) return verify(raw, n, max, skip, backtrace, hashed);
            return n;
        }
        atomic_fetch_add_explicit(&fallback_captures, 1, memory_order_relaxed);
    }
    if (!backtrace) return 0;
    int n = backtrace((void **)raw, max + 24);
    *skip = tracker_frames(raw, n);
    return n;
}

/* ---------------------------------------------------------------- the UNWIND section */

static void put_text(struct hs_writer *w, const char *s) {
    size_t length = strlen(s);
    hs_put_u32(w, (uint32_t)length);
    hs_put(w, s, length);
}

void hs_unwind_write_section(struct hs_writer *w) {
    bool have = atomic_load_explicit(&mismatch_ready, memory_order_acquire);
    const char *own_module = have ? first_mismatch.own_module : "";
    const char *lib_module = have ? first_mismatch.libunwind_module : "";
    uint64_t length = 4 + 4 + 8 * 3 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + strlen(own_module) + 8 + 4 + strlen(lib_module) + 8;
    hs_put_u32(w, HEAPSNAP_SECTION_UNWIND);
    hs_put_u32(w, 0);
    hs_put_u64(w, length);
    hs_put_u32(w, atomic_load(&unwinder_status));
    hs_put_u32(w, verifying ? HEAPSNAP_UNWIND_VERIFYING : 0u);
    hs_put_u64(w, atomic_load_explicit(&verified_captures, memory_order_relaxed));
    hs_put_u64(w, atomic_load_explicit(&mismatched_captures, memory_order_relaxed));
    hs_put_u64(w, atomic_load_explicit(&fallback_captures, memory_order_relaxed));
    hs_put_u32(w, have ? 1u : 0u);
    hs_put_u32(w, have ? first_mismatch.frame : 0u);
    hs_put_u32(w, have ? first_mismatch.own_depth : 0u);
    hs_put_u32(w, have ? first_mismatch.libunwind_depth : 0u);
    hs_put_u64(w, have ? first_mismatch.own_pc : 0u);
    hs_put_u64(w, have ? first_mismatch.libunwind_pc : 0u);
    put_text(w, own_module);
    hs_put_u64(w, have ? first_mismatch.own_offset : 0u);
    put_text(w, lib_module);
    hs_put_u64(w, have ? first_mismatch.libunwind_offset : 0u);
}
