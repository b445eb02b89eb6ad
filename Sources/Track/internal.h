/* Shared between the tracker's translation units. Everything here is hidden (-fvisibility=hidden);
 * only the malloc family, dlclose and the heapsnap_* API are exported. */
#ifndef HEAPSNAP_INTERNAL_H
#define HEAPSNAP_INTERNAL_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heapsnap_format.h"

#define HS_PATH_MAX 4096

/* ---- configuration (configuration.c), read from the environment by settings.c's grammars ---- */
struct hs_config {
    int max_frames;          /* HEAPSNAP_ENV_FRAMES */
    int signal;              /* HEAPSNAP_ENV_SIGNAL, 0 = off */
    uint64_t interval_ns;    /* HEAPSNAP_ENV_INTERVAL, 0 = off */
    uint64_t peak_step;      /* HEAPSNAP_ENV_PEAK_STEP, 0 = off */
    bool traces;             /* HEAPSNAP_ENV_TRACES */
    bool python;             /* HEAPSNAP_PYTHON, default on: Python frames in CPython processes */
    uint64_t min_peak;       /* HEAPSNAP_ENV_MIN_PEAK, default 4 MiB, 0 = every exit snapshot */
    uint64_t max_disk;       /* HEAPSNAP_ENV_MAX_DISK, default 1 GiB, 0 = no limit */
    bool named_by_only;      /* HEAPSNAP_ENV_ONLY is set and names this program */
    uint64_t sample_requested; /* HEAPSNAP_ENV_SAMPLE: mean bytes between samples, 0 = exact mode */
    uint64_t sample_rate;    /* the same once sampling is on (sample.c), else 0 */
    uint64_t sample_seed;    /* HEAPSNAP_ENV_SAMPLE_SEED, 0 = from the clock */
    uint32_t unwinder;       /* HEAPSNAP_ENV_UNWINDER: HEAPSNAP_UNWINDER_CHOICE_* */
    bool verify_unwind;      /* HEAPSNAP_ENV_VERIFY_UNWIND: libunwind beside the own unwinder (unwind.c) */
    char dir[HS_PATH_MAX];   /* HEAPSNAP_ENV_DIR, "" = working directory */
};
extern struct hs_config hs_config;

/* Per-thread reentrancy guard: non-zero while the thread runs tracker code, so any allocation made
 * underneath (libunwind, dlopen, dlsym) goes straight to glibc, untracked. */
extern __thread int hs_in_tracker __attribute__((tls_model("initial-exec")));

/* 0 before the first hook call, 1 while reading the environment, 2 when tracking, 3 dormant
 * (HEAPSNAP_ONLY does not list this program). */
extern _Atomic int hs_state;
void hs_early_init(void);

/* process identity, refreshed after fork (identity.c) */
extern pid_t hs_pid;
extern uint64_t hs_start_ns;
extern char hs_program[256];   /* basename of /proc/self/exe */
void hs_read_identity(void);

uint64_t hs_realtime_ns(void);
uint64_t hs_monotonic_ns(void);
/* One line on stderr: "heapsnap: what: detail[: strerror(err)]", or the parts run together. */
void hs_warn(const char *what, const char *detail, int err);
void hs_warn_parts(const char *const *parts, size_t count, int err);
/* `v` in decimal, zero-padded to `min_digits`, NUL-terminated; returns its length (at most 20). */
size_t hs_decimal(char out[24], uint64_t v, int min_digits);

/* ---- tracker memory (memory.c): all of it from mmap, never malloc ---- */
void *hs_map(size_t size);              /* zeroed pages, counted in hs_tracker_bytes; NULL on failure */
void hs_unmap(void *p, size_t size);
extern _Atomic size_t hs_tracker_bytes;

/* A bump allocator over mmap'ed chunks; the caller serialises access. */
struct hs_arena {
    char *cursor;
    char *end;
};
void *hs_arena_alloc(struct hs_arena *arena, size_t size); /* 16-byte aligned, zeroed, NULL on failure */

/* ---- interned stacks (tables.c) ---- */
struct hs_counts {
    uint64_t live_bytes, live_blocks, total_allocs, total_bytes;
};
/* A stack's frames are mostly not stored with it: past its innermost few, they are paths in a prefix
 * tree of frame nodes (tables.c), one path for the native part and one for the Python part, each
 * rooted at its outermost frame, so stacks share their common outer frames. The record is two cache
 * lines of an aligned pair: the first is what a lookup compares, written once, when the record is
 * made (and half of `at_peak`, written only by the first change after a new peak); the second is
 * written by every allocation and free of the stack. Kept apart, so that with several threads a
 * lookup does not wait for the line another thread's last change took to its own core, only the
 * change does. */
#define HS_NO_NODE UINT32_MAX
#define HS_STACK_INLINE_FRAMES 3
struct hs_stack {
    uint32_t domain;
    uint16_t depth;                 /* all frames: native_depth native ones, then the Python ones */
    uint16_t native_depth : 12;     /* at most HEAPSNAP_FRAMES_LIMIT + 24 */
    uint16_t flags : 4;             /* HEAPSNAP_STACK_* */
    /* The first nodes of the paths (tables.c), HS_NO_NODE where there are none: the native leaf (the
     * native path starts after the inline frames) and its parent, then the Python leaf or, in a stack
     * without Python frames, the native leaf's grandparent; so a lookup fetches them all at once
     * instead of one after the other. */
    uint32_t native_leaf, native_parent, third_node;
    uint32_t unused;
    uintptr_t inline_frames[HS_STACK_INLINE_FRAMES]; /* the first min(3, native_depth) frames */
    /* `at_peak` is what the counts were at the high-water mark if they changed since (peak.h), in two
     * halves that fill the lines: hs_counts_at_peak puts it together */
    uint64_t at_peak_live_bytes, at_peak_live_blocks;
    /* One stack's blocks live in many shards, so its counters have a lock of their own (peak.h): bit
     * 0 here. Above it, the low 56 bits of hs_peak_generation when `now` last changed (a new peak takes
     * an allocation, and 2^56 of them do not happen). One word, so that the line holds all a change
     * writes. */
    _Atomic uint64_t lock_and_generation __attribute__((aligned(64)));
    struct hs_counts now;
    uint64_t at_peak_total_allocs, at_peak_total_bytes;
    /* freed before their thread allocated again (churn.c); a running count like total_allocs, not
     * copied at the peak: a peak file carries the count at the time it is written */
    _Atomic uint64_t temporary_allocs;
} __attribute__((aligned(128)));
#define HS_STACK_LOCKED ((uint64_t)1)
#define HS_STACK_GENERATION_SHIFT 8
#define HS_STACK_GENERATION_NONE (UINT64_MAX << HS_STACK_GENERATION_SHIFT) /* unlocked, never a generation */
static inline uint64_t hs_stack_generation_word(uint64_t generation) {
    return generation << HS_STACK_GENERATION_SHIFT; /* its low 56 bits, unlocked */
}
_Static_assert(sizeof(struct hs_stack) == 128, "a stack's record is two cache lines");
_Static_assert(__builtin_offsetof(struct hs_stack, lock_and_generation) == 64, "what lookups read is apart from what changes");
_Static_assert(HEAPSNAP_STACK_TRUNCATED < 16 && HEAPSNAP_FRAMES_LIMIT + 24 < 4096, "a record's bit fields hold them");
/* A stack's hash runs over its frames one word at a time, in order, so that a producer of frames (the
 * own unwinder) can fold each in as it writes it; domain, truncation and depth are folded in at the end
 * (tables.c). Start from HS_STACK_HASH_START. */
#define HS_STACK_HASH_START 0x243F6A8885A308D3ull
static inline uint64_t hs_stack_hash_step(uint64_t running, uint64_t word) {
    return (running ^ word) * 0xff51afd7ed558ccdull; /* odd: a bijection of the running value per word */
}
/* The running value that a step over a word 0 takes to `running` (the multiplier's inverse mod 2^64):
 * so a producer that folds each word one step late can start with a step over nothing. */
static inline uint64_t hs_stack_hash_before(uint64_t running) { return running * 0x4f74430c22a54005ull; }
_Static_assert(0xff51afd7ed558ccdull * 0x4f74430c22a54005ull == 1, "the inverse of the hash's multiplier");
/* Returns the id of (domain, frames) and its record, interning it if new; UINT32_MAX on failure.
 * `running` is the hash of frames[0 .. hashed) (HS_STACK_HASH_START when hashed = 0). */
uint32_t hs_intern(uint32_t domain, const uintptr_t *frames, int depth, bool truncated, uint64_t running, int hashed,
                   struct hs_stack **out);
struct hs_stack *hs_stack_at(uint32_t id);
uint32_t hs_stack_count(void);
/* Writes the stack's `depth` frames, in capture order (native innermost first, then Python), to `out`. */
void hs_stack_frames(const struct hs_stack *s, uintptr_t *out);
extern pthread_mutex_t hs_stacks_append_lock;

/* ---- live blocks (tables.c), sharded by address hash ---- */
/* One block as the table's users see it. Inside, most blocks take 12 bytes (tables.c); blocks of
 * other domains, odd addresses, sizes of 16 MiB and more are kept in full in a side table. */
struct hs_live_entry {
    uint64_t address;   /* 0 = empty slot (side table) */
    uint64_t size;
    uint32_t stack;
    uint32_t domain;
};
struct hs_live_chunk; /* tables.c */

#define HS_SHARDS 256 /* 32 groups of 8, see shard_of */
/* One cache line: an insert or a remove touches the lock, the sizes and the counters at once. */
struct hs_shard {
    _Atomic uint32_t lock;      /* 0 free, 1 held, 2 held and maybe waited for (tables.c) */
    uint32_t capacity;          /* chunks of five slots, any number, filling whole pages */
    uint32_t used;
    uint32_t wide_used;
    struct hs_live_chunk *chunks; /* domain 0, 16-byte aligned address, size < 16 MiB: 12 bytes each */
    /* counters of the blocks in this shard, summed at snapshot time */
    uint64_t total_allocs;
    uint64_t total_bytes;
    uint64_t untracked_frees;
    struct hs_live_entry *wide; /* everything else, rare: linear probing, power-of-two capacity */
    uint32_t wide_capacity;
    uint32_t limit;             /* `used` at which the compact table grows (three quarters full) */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct hs_shard) == 64, "a shard is one cache line");
extern struct hs_shard hs_shards[HS_SHARDS];
uint64_t hs_live_count(void); /* with every shard locked */
/* With every shard locked: calls `each` for every live block. */
void hs_live_each(void (*each)(const struct hs_live_entry *block, void *context), void *context);

/* current and peak bytes, all domains: global because the peak needs one running sum */
extern _Atomic uint64_t hs_current_bytes;
extern _Atomic uint64_t hs_peak_bytes;

/* ---- the exact peak (peak.c, peak.h) ---- */
extern _Atomic uint64_t hs_peak_generation;  /* +1 at every new high-water mark */
extern _Atomic uint64_t hs_peak_time_ns;     /* CLOCK_REALTIME (coarse) of the latest one */
void hs_peak_raised(bool alone); /* alone: see tables.c */
/* With every shard locked: the stack's figures at the high-water mark. */
struct hs_counts hs_counts_at_peak(const struct hs_stack *s);
void hs_peak_reset(void);           /* the present becomes the peak (heapsnap_reset_peak) */
void hs_peak_after_fork_child(void);

/* Records a new block; replaces an existing one at the same (domain, address). 0 or -1 (ENOMEM).
 * `count_total` false puts back a block (failed realloc) without counting a new allocation. */
int hs_live_insert(uint32_t domain, uintptr_t address, uint64_t size, uint32_t stack_id, struct hs_stack *stack,
                   bool count_total);
void hs_count_untracked_free(uintptr_t address);
void hs_live_prefetch(uint32_t domain, uintptr_t address);
bool hs_live_contains(uint32_t domain, uintptr_t address); /* whether a block starts at address */
/* Removes a block; fills *removed and returns true when it was there. Counts an untracked free
 * (domain 0 only) when `count_untracked` and it was not. */
bool hs_live_remove(uint32_t domain, uintptr_t address, struct hs_live_entry *removed, bool count_untracked);
void hs_lock_all_shards(void);
void hs_unlock_all_shards(void);
void hs_tables_after_fork_child(void);

/* ---- capture (hooks.c) ---- */
/* Records the calling allocation in domain `domain`: captures the stack, interns it, inserts. */
int hs_record(uint32_t domain, uintptr_t address, uint64_t size, uintptr_t caller, const uintptr_t *entry);
void hs_unwind_init(void);
/* Points libunwind's pipe2/read/close/syscall imports at descriptor-free stand-ins (unwinder_io.c). */
int hs_unwinder_redirect_io(void *libunwind_handle);
void hs_check_peak(void);

/* ---- temporary allocations (churn.c) ---- */
void hs_churn_allocated(uintptr_t address, uint32_t stack_id);
void hs_churn_freed(uintptr_t address, uint32_t stack_id);

/* ---- the tracker thread (tracker_thread.c): heapsnap snap, signal and interval snapshots ---- */
extern _Atomic int hs_thread_wanted; /* set in a fork child; the next allocation starts the thread */
void hs_start_thread(void);
void hs_start_snapshot_triggers(void); /* the signal handler if one is set, and the thread (constructor) */
void hs_tracker_thread_after_fork_child(void);
/* Descriptors the tracker must hold in the program's own table go at or above this number. */
#define HS_HIGH_FD 512

/* ---- fork (fork.c) ---- */
void hs_install_fork_handlers(void);

/* ---- modules (modules.c) ---- */
void hs_modules_refresh(void);
/* Writes the MODULES payload: every module ever seen. */
struct hs_writer;
void hs_modules_write(struct hs_writer *writer);
uint64_t hs_modules_payload_size(void);
void hs_modules_after_fork_child(void);
extern char hs_exe_path[HS_PATH_MAX]; /* readlink("/proc/self/exe"), identity.c fills it */
extern pthread_mutex_t hs_modules_lock;

/* ---- bounded output (output_budget.c) ---- */
extern pid_t hs_parent_pid;        /* getppid() at start (and in a fork child) */
bool hs_exit_snapshot_wanted(void); /* the exit snapshot is worth a file */
bool hs_budget_allows(void);       /* false (errno EDQUOT) once the run's HEAPSNAP_MAX_DISK is spent */
void hs_budget_add(uint64_t bytes);
bool hs_snapshot_folder_ready(void); /* HEAPSNAP_DIR exists or was created; false (one warning) if not */
void hs_budget_after_fork_child(void);

/* ---- snapshots (snapshot.c) ---- */
enum hs_trigger {
    HS_API = HEAPSNAP_TRIGGER_API,
    HS_EXIT = HEAPSNAP_TRIGGER_EXIT,
    HS_SIGNAL = HEAPSNAP_TRIGGER_SIGNAL,
    HS_INTERVAL = HEAPSNAP_TRIGGER_INTERVAL,
    HS_PEAK = HEAPSNAP_TRIGGER_PEAK,
    HS_CONTROL = HEAPSNAP_TRIGGER_SNAP,
};
/* HS_PEAK files describe the state at the high-water mark, every other trigger the present. */
/* Writes a snapshot; `path` NULL = default name. Blocks on the snapshot lock unless `try_only`.
 * Returns 0, or -1 with errno (EBUSY when try_only and another snapshot runs). */
int hs_take_snapshot(enum hs_trigger trigger, const char *path, bool try_only);
/* The same with the default name, copying the path written (or attempted) into `written`. */
int hs_take_snapshot_reporting(enum hs_trigger trigger, char *written, size_t size);
extern pthread_mutex_t hs_snapshot_lock;
extern _Atomic uint32_t hs_sequence;
extern _Atomic uint64_t hs_last_peak_snapshot;
void hs_snapshot_after_fork_child(void);

/* file writer with its own buffer and a running CRC */
struct hs_writer {
    int fd;
    int error;          /* first errno, 0 if fine */
    uint32_t crc;
    unsigned char *buffer;
    size_t used;
    size_t capacity;
};
void hs_put(struct hs_writer *w, const void *data, size_t size);
void hs_put_u16(struct hs_writer *w, uint16_t v);
void hs_put_u32(struct hs_writer *w, uint32_t v);
void hs_put_u64(struct hs_writer *w, uint64_t v);
void hs_put_str(struct hs_writer *w, const char *s, size_t len);

#endif
