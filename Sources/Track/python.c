/* Python frames, read from inside malloc.
 *
 * When the process runs CPython 3.11, 3.12 or 3.13 (the executable itself or a libpython3.X.so,
 * also one dlopen'ed later), every allocation also records the calling thread's Python frames: per
 * frame the code object and the instruction, plus the mark of where each C-level evaluation loop
 * began. Nothing here calls into Python, takes the GIL or allocates:
 *  - the thread's state is what PyGILState_GetThisThreadState() returns, read as it does, with
 *    pthread_getspecific on the interpreter's own key: it names the calling thread also while it
 *    has released the GIL (that the interpreter exports the function says it keeps the key);
 *  - the frame chain is the calling thread's own: only this thread changes it, and it is stopped
 *    here; every frame holds a strong reference to its code object. Still, every code pointer is
 *    checked (its type is PyCode_Type, the instruction lies inside its bytes) and the walk is
 *    bounded; the first reads of a code object not seen before go through process_vm_readv, so a
 *    bad pointer gives EFAULT rather than SIGSEGV;
 *  - a code object's file name, qualified name, first line and line table are copied into the
 *    tracker's own memory the first time it is seen, keyed by its address and the identity of what
 *    it points to (and its creation counter on 3.12+), so a freed code object whose address is
 *    reused is never taken for the new one.
 * Offsets per version are in python_layout.h. */
#include "internal.h"
#include "python.h"
#include "python_layout.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---------------------------------------------------------------- state */

_Atomic int hs_py_state;           /* HS_PY_SEARCHING until an interpreter is found (python.h) */
static bool initialized;           /* hs_python_init ran */

static const struct hs_py_layout *layout;
static uintptr_t code_type;        /* &PyCode_Type */
static const char *runtime;        /* &_PyRuntime */
static uint32_t py_version;        /* Py_Version */
static uint32_t status;
static char detail[200];
static char pythonmalloc[64];

static pthread_mutex_t py_lock = PTHREAD_MUTEX_INITIALIZER; /* code records, table growth, search */

/* walks cut short by a frame that failed validation (reported in the detail line) */
static _Atomic uint64_t rejected_walks;

static size_t copy_text(char *out, size_t at, size_t room, const char *s) {
    while (*s && at + 1 < room) out[at++] = *s++;
    out[at] = '\0';
    return at;
}

static size_t copy_number(char *out, size_t at, size_t room, uint64_t v) {
    char text[24];
    hs_decimal(text, v, 1);
    return copy_text(out, at, room, text);
}

/* "3.12.1" from Py_Version (0xMMmmppLS) */
static size_t version_text(char *out, size_t at, size_t room, uint32_t v) {
    at = copy_number(out, at, room, v >> 24);
    at = copy_text(out, at, room, ".");
    at = copy_number(out, at, room, (v >> 16) & 0xFF);
    at = copy_text(out, at, room, ".");
    return copy_number(out, at, room, (v >> 8) & 0xFF);
}

static void set_off(uint32_t why, const char *what, const char *more) {
    status = why;
    size_t at = copy_text(detail, 0, sizeof detail, what);
    if (more) copy_text(detail, at, sizeof detail, more);
    atomic_store_explicit(&hs_py_state, HS_PY_OFF, memory_order_release);
}

/* ---------------------------------------------------------------- safe reads */

/* process_vm_readv on ourselves: a bad address gives EFAULT instead of SIGSEGV. Where the call is
 * not allowed (seccomp), direct reads: the frames we read are alive by CPython's own rules, the
 * checks in the walk remain. */
static _Atomic int vm_read_works = 1;

static bool safe_read(void *dst, uintptr_t src, size_t n) {
    if (n == 0) return true;
    if (src == 0 || src + n < src) return false;
    if (atomic_load_explicit(&vm_read_works, memory_order_relaxed)) {
        struct iovec local = {dst, n}, remote = {(void *)src, n};
        int saved = errno;
        ssize_t k = process_vm_readv(hs_pid ? hs_pid : getpid(), &local, 1, &remote, 1, 0);
        int err = errno;
        errno = saved;
        if (k == (ssize_t)n) return true;
        if (k >= 0 || err == EFAULT) return false;
        if (err != ENOSYS && err != EPERM && err != EACCES) return false;
        atomic_store_explicit(&vm_read_works, 0, memory_order_relaxed);
    }
    memcpy(dst, (const void *)src, n);
    return true;
}

static inline uintptr_t load_ptr(uintptr_t base, uint32_t offset) { return *(const uintptr_t *)(base + offset); }
static inline int32_t load_i32(uintptr_t base, uint32_t offset) { return *(const int32_t *)(base + offset); }
static inline uint32_t load_u32(uintptr_t base, uint32_t offset) { return *(const uint32_t *)(base + offset); }
static inline int64_t load_i64(uintptr_t base, uint32_t offset) { return *(const int64_t *)(base + offset); }

/* ---------------------------------------------------------------- code records */

struct code_record {
    uint64_t address;
    uint32_t first_line;
    uint32_t filename_length, qualname_length, linetable_length;
    char *filename;
    char *qualname;
    unsigned char *linetable;
};

/* What identifies one code object at one address; compared on every frame. */
struct code_key {
    uintptr_t code;
    uintptr_t filename, qualname, linetable;
    int64_t linetable_length;
    int64_t size_units;        /* Py_SIZE(code): code units in co_code_adaptive */
    uint64_t linetable_head;   /* the line table's first bytes (up to 8) */
    int64_t filename_hash, qualname_hash; /* the strings' cached hashes: their contents, not only where they are */
    int32_t first_line;
    uint32_t version;          /* co_version, 3.12+ */
    int32_t first_traceable;
};

/* How a frame's code pointer is recognised as this entry's code object again, cheapest first:
 *  - STATIC: the code object lies inside the interpreter's own loaded image (3.11+ deep-freezes the
 *    standard modules it starts with into static, immortal objects): it is never freed, nothing
 *    else can ever live at its address;
 *  - WATCHED: the code object is a malloc block the tracker tracks (PYTHONMALLOC=malloc), so its free
 *    passes through free() here and kills the entry (hs_python_freed): nothing more to compare;
 *  - VERSIONED: 3.12+ numbers every code object it creates (co_version): compare that;
 *  - otherwise the whole key, including the strings' hashes and the line table's first bytes.
 * STATIC and WATCHED entries are "trusted": a thread that checked one once takes its word again
 * without reading the code object or the entry, as long as no watched code object died since
 * (trusted_epoch, below). */
enum { MATCH_FULL_KEY = 0, MATCH_WATCHED = 1, MATCH_VERSIONED = 2, MATCH_STATIC = 3 };

struct code_entry {
    struct code_key key;
    uint32_t record;
    uint32_t match;
    _Atomic int dead; /* its code object was freed */
};

struct code_table {
    size_t capacity; /* power of two */
    struct code_entry *_Atomic slots[];
};

static struct code_table *_Atomic code_table;
static struct code_record *records;
static uint32_t record_count, record_capacity;
static struct hs_arena py_arena;

static inline size_t code_hash(uintptr_t code) {
    uint64_t h = (uint64_t)code * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 31));
}

static inline uint64_t head_of(uintptr_t linetable, int64_t length) {
    uint64_t head = *(const uint64_t *)(linetable + HS_PY_BYTES_DATA); /* inside the object: its size is >= 33 + 8 rounded */
    if (length < 8) head &= length <= 0 ? 0 : (~0ull >> (8 * (8 - length)));
    return head;
}

/* The key of a code object whose type was checked. Direct reads: it is referenced by a live frame. */
static inline void read_key(uintptr_t code, struct code_key *k) {
    const struct hs_py_layout *L = layout;
    k->code = code;
    k->size_units = load_i64(code, HS_PY_OB_SIZE);
    k->first_line = load_i32(code, L->code_firstlineno);
    k->version = L->code_version ? load_u32(code, L->code_version) : 0;
    k->filename = load_ptr(code, L->code_filename);
    k->qualname = load_ptr(code, L->code_qualname);
    k->linetable = load_ptr(code, L->code_linetable);
    k->first_traceable = load_i32(code, L->code_firsttraceable);
    k->filename_hash = k->filename ? load_i64(k->filename, HS_PY_STR_HASH) : 0;
    k->qualname_hash = k->qualname ? load_i64(k->qualname, HS_PY_STR_HASH) : 0;
    k->linetable_length = k->linetable ? load_i64(k->linetable, HS_PY_OB_SIZE) : 0;
    k->linetable_head = k->linetable ? head_of(k->linetable, k->linetable_length) : 0;
}

static inline bool same_key(const struct code_key *a, const struct code_key *b) {
    return a->code == b->code && a->filename == b->filename && a->qualname == b->qualname &&
           a->linetable == b->linetable && a->linetable_length == b->linetable_length &&
           a->size_units == b->size_units && a->linetable_head == b->linetable_head &&
           a->filename_hash == b->filename_hash && a->qualname_hash == b->qualname_hash &&
           a->first_line == b->first_line && a->version == b->version && a->first_traceable == b->first_traceable;
}

static struct code_entry *table_lookup(struct code_table *t, uintptr_t code) {
    if (!t) return NULL;
    size_t mask = t->capacity - 1;
    for (size_t i = code_hash(code) & mask;; i = (i + 1) & mask) {
        struct code_entry *e = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (!e || e->key.code == code) return e;
    }
}

/* One entry per address: a new code object at a known address replaces the old entry (its record
 * stays, for the stacks that name it). Under py_lock. */
static void table_put(struct code_table *t, struct code_entry *entry) {
    size_t mask = t->capacity - 1;
    for (size_t i = code_hash(entry->key.code) & mask;; i = (i + 1) & mask) {
        struct code_entry *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (!e || e->key.code == entry->key.code) {
            atomic_store_explicit(&t->slots[i], entry, memory_order_release);
            return;
        }
    }
}

static size_t table_used; /* distinct addresses, under py_lock */

/* Old tables stay mapped: a reader may still probe one. */
static struct code_table *grow_table(struct code_table *old) {
    size_t capacity = old ? old->capacity * 2 : 8192;
    struct code_table *t = hs_map(sizeof *t + capacity * sizeof(struct code_entry *));
    if (!t) return NULL;
    t->capacity = capacity;
    if (old)
        for (size_t i = 0; i < old->capacity; i++) {
            struct code_entry *e = atomic_load_explicit(&old->slots[i], memory_order_relaxed);
            if (e) table_put(t, e);
        }
    atomic_store_explicit(&code_table, t, memory_order_release);
    return t;
}

/* str -> UTF-8 in `out` (room bytes); returns the length, or -1 when it is not a string we can read.
 * Lone surrogates U+DC80..U+DCFF are the bytes a file name could not decode (surrogateescape): they
 * become those bytes again, as os.fsencode does; other lone surrogates become U+FFFD. */
static unsigned char str_buffer[65536]; /* under py_lock */

static int put_utf8(char *out, size_t room, size_t *at, uint32_t c) {
    unsigned char b[4];
    int n;
    if (c >= 0xDC80 && c <= 0xDCFF) {
        b[0] = (unsigned char)(c - 0xDC00);
        n = 1;
    } else {
        if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = 0xFFFD;
        if (c < 0x80) {
            b[0] = (unsigned char)c;
            n = 1;
        } else if (c < 0x800) {
            b[0] = (unsigned char)(0xC0 | (c >> 6));
            b[1] = (unsigned char)(0x80 | (c & 0x3F));
            n = 2;
        } else if (c < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (c >> 12));
            b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (c & 0x3F));
            n = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (c >> 18));
            b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (c & 0x3F));
            n = 4;
        }
    }
    if (*at + (size_t)n > room) return -1;
    memcpy(out + *at, b, (size_t)n);
    *at += (size_t)n;
    return 0;
}

#define STR_MAX_CHARS 4096

static int read_str(uintptr_t str, char *out, size_t room) {
    unsigned char head[HS_PY_STR_STATE + 4];
    if (!safe_read(head, str, sizeof head)) return -1;
    uintptr_t type;
    memcpy(&type, head + HS_PY_OB_TYPE, sizeof type);
    int64_t length;
    memcpy(&length, head + HS_PY_STR_LENGTH, sizeof length);
    uint32_t bits;
    memcpy(&bits, head + HS_PY_STR_STATE, sizeof bits);
    unsigned kind = (bits >> 2) & 7, compact = (bits >> 5) & 1, ascii = (bits >> 6) & 1;
    (void)type;
    if (!compact || length < 0 || length > STR_MAX_CHARS || (kind != 1 && kind != 2 && kind != 4)) return -1;
    if (ascii && kind != 1) return -1;
    uintptr_t data = str + (ascii ? layout->ascii_size : layout->compact_size);
    size_t bytes = (size_t)length * kind;
    if (!safe_read(str_buffer, data, bytes)) return -1;
    size_t at = 0;
    if (ascii) {
        if ((size_t)length > room) return -1;
        memcpy(out, str_buffer, (size_t)length);
        return (int)length;
    }
    for (int64_t i = 0; i < length; i++) {
        uint32_t c = kind == 1 ? str_buffer[i]
                   : kind == 2 ? ((const uint16_t *)str_buffer)[i]
                               : ((const uint32_t *)str_buffer)[i];
        if (put_utf8(out, room, &at, c) != 0) return -1;
    }
    return (int)at;
}

static char text_buffer[4 * STR_MAX_CHARS]; /* under py_lock */

static char *copy_str(uintptr_t str, uint32_t *length) {
    int n = str ? read_str(str, text_buffer, sizeof text_buffer) : -1;
    if (n < 0) {
        static const char unknown[] = "?";
        n = 1;
        memcpy(text_buffer, unknown, 1);
    }
    char *copy = hs_arena_alloc(&py_arena, (size_t)n + 1);
    if (!copy) return NULL;
    memcpy(copy, text_buffer, (size_t)n);
    *length = (uint32_t)n;
    return copy;
}

#define LINETABLE_MAX ((int64_t)16 << 20)

/* A new record for the code object of `key`; UINT32_MAX on failure. Under py_lock. */
static uint32_t add_record(const struct code_key *key) {
    if (record_count >= HS_PY_CODE_MAX) return UINT32_MAX;
    if (record_count == record_capacity) {
        uint32_t capacity = record_capacity ? record_capacity * 2 : 4096;
        struct code_record *grown = hs_map((size_t)capacity * sizeof *grown);
        if (!grown) return UINT32_MAX;
        if (records) memcpy(grown, records, (size_t)record_count * sizeof *grown);
        hs_unmap(records, (size_t)record_capacity * sizeof *grown);
        records = grown;
        record_capacity = capacity;
    }
    struct code_record r = {.address = key->code, .first_line = key->first_line > 0 ? (uint32_t)key->first_line : 0};
    r.filename = copy_str(key->filename, &r.filename_length);
    r.qualname = copy_str(key->qualname, &r.qualname_length);
    if (!r.filename || !r.qualname) return UINT32_MAX;
    if (key->linetable_length > 0 && key->linetable_length <= LINETABLE_MAX) {
        r.linetable = hs_arena_alloc(&py_arena, (size_t)key->linetable_length);
        if (r.linetable && safe_read(r.linetable, key->linetable + HS_PY_BYTES_DATA, (size_t)key->linetable_length))
            r.linetable_length = (uint32_t)key->linetable_length;
    }
    records[record_count] = r;
    return record_count++;
}

/* Bits of the code objects whose free() the tracker watches, by address hash: one test per free. */
#define WATCH_BITS ((size_t)1 << 20)
_Atomic(uint64_t *) hs_py_watch_bits;
static inline size_t watch_index(uintptr_t p) { return (size_t)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >> 44); }

/* Counts the deaths of watched code objects, from 1: a thread's cached word on a trusted entry holds
 * while it is unchanged. Bumped before the block goes back to glibc, so whoever sees a new object at
 * the address (ordered after that free by glibc's own locking and the GIL) sees the new count. */
static _Atomic uint64_t trusted_epoch = 1;

void hs_python_forget(uintptr_t p) {
    struct code_entry *e = table_lookup(atomic_load_explicit(&code_table, memory_order_acquire), p);
    if (e && e->match == MATCH_WATCHED && !atomic_exchange_explicit(&e->dead, 1, memory_order_acq_rel))
        atomic_fetch_add_explicit(&trusted_epoch, 1, memory_order_acq_rel);
}

/* The interpreter's writable data in its loaded image, where its static code objects live. */
static uintptr_t image_lo, image_hi;

/* The entry of a frame's code object, after checking that it is one (a first sight goes through safe
 * reads); NULL when it is not. */
static const struct code_entry *slow_code_index(uintptr_t code) {
    struct code_key key_storage, *key_out = &key_storage;
    const struct hs_py_layout *L = layout;
    unsigned char head[256];
    if (L->code_adaptive > sizeof head || !safe_read(head, code, L->code_adaptive)) return NULL;
    uintptr_t type;
    memcpy(&type, head + HS_PY_OB_TYPE, sizeof type);
    if (type != code_type) return NULL;
    uintptr_t linetable;
    memcpy(&linetable, head + L->code_linetable, sizeof linetable);
    unsigned char probe[HS_PY_BYTES_DATA + 8];
    if (linetable && !safe_read(probe, linetable, sizeof probe)) return NULL;
    uintptr_t strings[2];
    memcpy(&strings[0], head + L->code_filename, sizeof(uintptr_t));
    memcpy(&strings[1], head + L->code_qualname, sizeof(uintptr_t));
    for (int i = 0; i < 2; i++)
        if (strings[i] && !safe_read(probe, strings[i], HS_PY_STR_HASH + 8)) return NULL;
    /* the fields are readable: the direct reads of read_key are safe now */
    read_key(code, key_out);

    pthread_mutex_lock(&py_lock);
    const struct code_entry *found = NULL;
    struct code_table *t = atomic_load_explicit(&code_table, memory_order_relaxed);
    struct code_entry *e = table_lookup(t, code);
    if (e && !atomic_load_explicit(&e->dead, memory_order_acquire) && same_key(&e->key, key_out)) {
        found = e; /* another thread was first */
        goto out;
    }
    if (!e && (!t || (table_used + 1) * 2 > t->capacity)) {
        if (!(t = grow_table(t))) goto out;
    }
    struct code_entry *entry = hs_arena_alloc(&py_arena, sizeof *entry);
    if (!entry) goto out;
    uint32_t record = add_record(key_out);
    if (record == UINT32_MAX) goto out;
    entry->key = *key_out;
    entry->record = record;
    uint64_t *bits = atomic_load_explicit(&hs_py_watch_bits, memory_order_relaxed);
    if (!bits && (bits = hs_map(WATCH_BITS / 8))) atomic_store_explicit(&hs_py_watch_bits, bits, memory_order_release);
    if (code >= image_lo && code + L->code_adaptive <= image_hi) {
        entry->match = MATCH_STATIC;
    } else if (bits && hs_live_contains(0, code)) {
        size_t i = watch_index(code);
        atomic_fetch_or_explicit((_Atomic uint64_t *)&bits[i >> 6], 1ull << (i & 63), memory_order_release);
        entry->match = MATCH_WATCHED;
    } else {
        entry->match = key_out->version != 0 ? MATCH_VERSIONED : MATCH_FULL_KEY;
    }
    if (!e) table_used++;
    table_put(t, entry);
    found = entry;
out:
    pthread_mutex_unlock(&py_lock);
    return found;
}

/* Each thread keeps, per code object its frames ran lately, what the walk needs of it (direct-mapped
 * on the code pointer): a frame whose code object is trusted (STATIC or WATCHED) and unchanged since
 * then costs one look here, without touching the code object or the shared table. */
#define THREAD_CACHE 128
struct cached_code {
    uintptr_t code;
    uint64_t epoch;           /* trusted_epoch when it was checked; 0: not trusted, check again */
    uint32_t record;
    int32_t first_traceable;  /* code units */
    uint32_t size_units;      /* Py_SIZE(code) */
    uint32_t unused;
};

/* Each thread also remembers, per frame address, the last word a frame there produced and what it
 * was produced from (code pointer, instruction pointer, owner and entry flag, trusted_epoch). The
 * word is a function of exactly these: a trusted code object unchanged since that epoch has the
 * same record, size and first traceable instruction, so the same instruction gives the same checks
 * and the same offset. Between two allocations most frames of the chain are the same frames at the
 * same instruction: their word is found here without the hash of the code pointer, the thread
 * cache or the bounds checks, by loads that do not wait for the frame's code pointer. Indexed by
 * the frame's address, so that frames of one evaluation stack (contiguous in CPython's data stack)
 * never collide, whatever the depth of the innermost frame. Only trusted words are kept. */
#define WALK_MEMO 256
struct walk_memo {
    uintptr_t code, instr;
    uint64_t tag;  /* trusted_epoch << 16 | the frame's flag bytes (walk); 0 = empty (the epoch starts at 1) */
    uint64_t word; /* as produced, before a later shim frame adds the entry bit (3.12+) */
};

/* The innermost frame allocates at several instructions in turn (a function building a record), and
 * its memo slot keeps only the last: a second, smaller memo indexed by frame and instruction together
 * answers those before frame_word is called. Looked at only when the first one misses. */
#define SITE_MEMO 64

/* A thread's caches, in a mapping of their own reached through one TLS pointer, made at the thread's
 * first walk: glibc carves the static TLS of every thread out of its stack, so the tracker keeps its
 * TLS small (a thread with a PTHREAD_STACK_MIN stack must still start, and run its allocations), and
 * threads of processes without Python pay nothing. Everything in it is a function of what it is
 * keyed by, not of the thread: a dead thread's block goes to a free list (state_key's destructor)
 * and serves the next new thread as it is. */
struct thread_state {
    struct walk_memo memo[WALK_MEMO];
    struct walk_memo site[SITE_MEMO];
    struct cached_code cache[THREAD_CACHE];
    struct thread_state *next_free;
};
static __thread struct thread_state *thread_state __attribute__((tls_model("initial-exec")));
static struct thread_state *free_states; /* under py_lock */
static pthread_key_t state_key;
static bool state_key_made;              /* under py_lock */

static void release_state(void *p) {
    struct thread_state *ts = p;
    if (thread_state == ts) thread_state = NULL; /* a later allocation of this thread takes one again */
    pthread_mutex_lock(&py_lock);
    ts->next_free = free_states;
    free_states = ts;
    pthread_mutex_unlock(&py_lock);
}

/* The calling thread's first walk (or its first after its key's destructor ran). Inside malloc:
 * pthread_setspecific may calloc (keys past the first 32), which the guard sends to glibc. */
__attribute__((noinline, cold)) static struct thread_state *new_thread_state(void) {
    pthread_mutex_lock(&py_lock);
    struct thread_state *ts = free_states;
    if (ts) free_states = ts->next_free;
    else ts = hs_map(sizeof *ts);
    if (ts && !state_key_made) state_key_made = pthread_key_create(&state_key, release_state) == 0;
    bool keyed = state_key_made;
    pthread_mutex_unlock(&py_lock);
    if (!ts) return NULL;
    if (keyed) pthread_setspecific(state_key, ts); /* without a key, the block stays with the thread */
    thread_state = ts;
    return ts;
}

/* `epoch` (trusted_epoch read at the start of a walk) is what makes a hit a hit: every code object of
 * the walk is held by a live frame of this thread, so none dies during it; one that died before has
 * bumped the count. Empty slots never match (epoch 0). Called during a walk, which made the state. */
static inline struct cached_code *cache_slot(uintptr_t code) {
    return &thread_state->cache[((uint64_t)code * 0x9E3779B97F4A7C15ull) >> 57]; /* 128 slots */
}

/* The slow half: the shared table, the checks of the code object, a first sight. Fills the slot. */
__attribute__((noinline)) static const struct cached_code *code_lookup(uintptr_t code, uint64_t epoch) {
    if (code == 0 || (code & 7)) return NULL;
    struct cached_code *slot = cache_slot(code);
    const struct code_entry *e = table_lookup(atomic_load_explicit(&code_table, memory_order_acquire), code);
    bool same = false;
    if (e && !atomic_load_explicit(&e->dead, memory_order_acquire)) {
        /* a code object at an address seen before: the address is a code object's (or was) */
        if (load_ptr(code, HS_PY_OB_TYPE) != code_type) return NULL;
        if (e->match == MATCH_WATCHED || e->match == MATCH_STATIC) {
            same = true;
        } else if (e->match == MATCH_VERSIONED) {
            same = load_u32(code, layout->code_version) == e->key.version;
        } else {
            struct code_key key;
            read_key(code, &key);
            same = same_key(&e->key, &key);
        }
    }
    if (!same && !(e = slow_code_index(code))) return NULL;
    bool trusted = (e->match == MATCH_WATCHED || e->match == MATCH_STATIC) && e->key.size_units >= 0 &&
                   e->key.size_units <= INT32_MAX;
    slot->code = code;
    slot->epoch = trusted ? epoch : 0;
    slot->record = e->record;
    slot->first_traceable = e->key.first_traceable > 0 ? e->key.first_traceable : 0;
    slot->size_units = e->key.size_units >= 0 && e->key.size_units <= INT32_MAX ? (uint32_t)e->key.size_units : 0;
    return slot;
}

/* ---------------------------------------------------------------- the walk */

__thread unsigned hs_py_search_countdown __attribute__((tls_model("initial-exec")));

static inline struct walk_memo *memo_slot(struct thread_state *ts, uintptr_t frame) {
    return &ts->memo[(frame >> 4) & (WALK_MEMO - 1)];
}

static inline struct walk_memo *site_slot(struct thread_state *ts, uintptr_t frame, uintptr_t instr) {
    return &ts->site[((uint64_t)(frame ^ instr) * 0x9E3779B97F4A7C15ull) >> 58]; /* 64 slots */
}

/* frame_word's answers other than a word (a word always has HS_PY_FRAME_BIT) */
#define FRAME_SKIPPED ((uint64_t)0)
#define FRAME_REJECTED ((uint64_t)1)

/* The slow half of one frame: the thread cache, the shared table, the checks. Returns the frame's
 * word, or tells to skip the frame or to stop the walk. Fills the memo slot when the word may be
 * taken again on the same inputs. */
__attribute__((noinline)) static uint64_t frame_word(uintptr_t frame, uintptr_t code, uintptr_t instr, unsigned flags,
                                                     unsigned owner, bool entry, bool innermost, uint64_t epoch) {
    const struct hs_py_layout *L = layout;
    const struct cached_code *known = cache_slot(code);
    if (known->code != code || known->epoch != epoch) {
        known = code_lookup(code, epoch);
        if (!known) return L->minor >= 13 ? FRAME_SKIPPED : FRAME_REJECTED; /* f_executable need not be a code object */
    }
    uintptr_t start = code + L->code_adaptive;
    uint64_t offset;
    if (__builtin_expect(owner != HS_PY_OWNED_BY_GENERATOR && instr < start + 2 * (uintptr_t)known->first_traceable, 0)) {
        /* Not started yet (CPython's tracemalloc skips such frames too). Only the innermost frame can
         * be in that state; when it is alone in its evaluation loop it is kept, marked, so that the
         * loops and entry marks still pair up. Not remembered: it depends on more than the frame. */
        uintptr_t previous = load_ptr(frame, L->frame_previous);
        bool alone = entry;
        if (!L->frame_is_entry && previous && !(previous & 7))
            alone = *(const unsigned char *)(previous + L->frame_owner) == HS_PY_OWNED_BY_CSTACK;
        if (!innermost || !alone) return FRAME_SKIPPED;
        offset = HS_PY_OFFSET_NOT_STARTED;
    } else {
        if (__builtin_expect(instr < start || instr >= start + 2 * (uintptr_t)known->size_units || (instr & 1), 0))
            return FRAME_REJECTED;
        offset = (uint64_t)((instr - start) / 2);
    }
    uint64_t word = HS_PY_FRAME_BIT | (entry ? HS_PY_ENTRY_BIT : 0) | ((uint64_t)known->record << HS_PY_CODE_SHIFT) | offset;
    if (known->epoch == epoch && offset != HS_PY_OFFSET_NOT_STARTED) { /* trusted (see code_lookup) */
        struct walk_memo remembered = {code, instr, (epoch << 16) | flags, word};
        struct thread_state *ts = thread_state;
        *memo_slot(ts, frame) = remembered;
        *site_slot(ts, frame, instr) = remembered;
    }
    return word;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the walk reads 3.11's is_entry and owner as one word");

/* The walk for one layout: inlined once per supported version, so that the offsets are constants. */
/* `running` goes on as the stack's hash (internal.h) over the words written, in order: folded here,
 * its chain of multiplications runs beside the walk's loads instead of after them. A word is folded
 * when the next one is written or the walk ends, as a later shim frame may still mark it. */
static inline __attribute__((always_inline)) struct hs_py_walk walk(const struct hs_py_layout *L, uint64_t *out,
                                                                    bool *truncated, uint64_t running) {
    /* What PyGILState_GetThisThreadState answers, without the calls into libpython: the value of the
     * interpreter's own key (pthread_getspecific), once Py_Initialize has created it (before, and
     * after finalization, there is no thread state; the key of a deleted Py_tss_t reads as NULL). */
    const char *tss = runtime + L->runtime_tss_key;
    if (*(const volatile int *)tss == 0) return (struct hs_py_walk){running, 0};
    if (L->runtime_auto_interpreter && *(void *const volatile *)(runtime + L->runtime_auto_interpreter) == NULL) return (struct hs_py_walk){running, 0};
    uintptr_t tstate = (uintptr_t)pthread_getspecific(*(const volatile pthread_key_t *)(tss + HS_PY_TSS_KEY));
    if (!tstate || (tstate & 7)) return (struct hs_py_walk){running, 0};
    uintptr_t frame;
    if (L->tstate_cframe) {
        uintptr_t cframe = load_ptr(tstate, L->tstate_cframe);
        if (!cframe || (cframe & 7)) return (struct hs_py_walk){running, 0};
        frame = load_ptr(cframe, L->cframe_current);
    } else {
        frame = load_ptr(tstate, L->cframe_current);
    }
    uint64_t epoch = atomic_load_explicit(&trusted_epoch, memory_order_acquire);
    uint64_t epoch_tag = epoch << 16;
    struct thread_state *ts = thread_state;
    if (__builtin_expect(!ts, 0) && !(ts = new_thread_state())) {
        *truncated = true; /* no memory for the caches: no Python frames this time */
        return (struct hs_py_walk){running, 0};
    }
    /* The bound on the chain: every frame either adds a word (at most HS_PY_MAX_FRAMES of them) or
     * goes the slow way, which counts; so a memo hit costs no count of its own. */
    uint64_t *o = out, *const end = out + HS_PY_MAX_FRAMES;
    /* `pending`, the last word written, is folded when the next is written or at the end; before the
     * first, a 0 that hash_before makes a step over nothing */
    uint64_t hash = hs_stack_hash_before(running), pending = 0;
    unsigned slow = 0;
    const uintptr_t innermost = frame;
    for (; frame; frame = load_ptr(frame, L->frame_previous)) {
        if (__builtin_expect(frame & 7, 0)) goto rejected;
        uintptr_t code = load_ptr(frame, L->frame_code);
        uintptr_t instr = load_ptr(frame, L->frame_instr);
        /* the owner byte, and on 3.11 the is_entry byte before it, as one value (little-endian) */
        unsigned flags = L->frame_is_entry ? *(const uint16_t *)(frame + L->frame_is_entry)
                                           : *(const unsigned char *)(frame + L->frame_owner);
        const struct walk_memo *m = memo_slot(ts, frame);
        uint64_t word, tag = epoch_tag | flags;
        /* a hit implies an owner that passed the checks below (shim frames are never remembered) */
        if (__builtin_expect(m->code == code && m->instr == instr && m->tag == tag, 1)) {
            word = m->word;
        } else if (m = site_slot(ts, frame, instr), m->code == code && m->instr == instr && m->tag == tag) {
            word = m->word;
        } else {
            if (__builtin_expect(++slow > 4 * HS_PY_MAX_FRAMES, 0)) goto rejected;
            unsigned owner = L->frame_is_entry ? flags >> 8 : flags;
            if (owner == HS_PY_OWNED_BY_CSTACK) {
                /* 3.12+: the shim under the first frame of each evaluation loop */
                if (o > out) o[-1] |= HS_PY_ENTRY_BIT, pending |= HS_PY_ENTRY_BIT;
                continue;
            }
            if (__builtin_expect(owner > HS_PY_OWNED_BY_CSTACK, 0)) goto rejected;
            bool entry = L->frame_is_entry && (flags & 0xFF);
            word = frame_word(frame, code, instr, flags, owner, entry, frame == innermost, epoch);
            if (word == FRAME_SKIPPED) continue;
            if (word == FRAME_REJECTED) goto rejected;
        }
        if (__builtin_expect(o == end, 0)) {
            *truncated = true;
            goto done;
        }
        hash = hs_stack_hash_step(hash, pending);
        *o++ = pending = word;
    }
    goto done;
rejected:
    atomic_fetch_add_explicit(&rejected_walks, 1, memory_order_relaxed);
    *truncated = true;
done:
    hash = hs_stack_hash_step(hash, pending);
    return (struct hs_py_walk){hash, (int)(o - out)};
}

static struct hs_py_walk walk_311(uint64_t *out, bool *truncated, uint64_t running) {
    return walk(&hs_py_layouts[0], out, truncated, running);
}
static struct hs_py_walk walk_312(uint64_t *out, bool *truncated, uint64_t running) {
    return walk(&hs_py_layouts[1], out, truncated, running);
}
static struct hs_py_walk walk_313(uint64_t *out, bool *truncated, uint64_t running) {
    return walk(&hs_py_layouts[2], out, truncated, running);
}
static struct hs_py_walk (*const walkers[])(uint64_t *, bool *, uint64_t) = {walk_311, walk_312, walk_313};
_Static_assert(sizeof walkers / sizeof walkers[0] == sizeof hs_py_layouts / sizeof hs_py_layouts[0], "one walk per layout");

/* Set once, before hs_py_state turns HS_PY_CAPTURING (release), which readers load (acquire) first. */
struct hs_py_walk (*hs_py_walker)(uint64_t *out, bool *truncated, uint64_t running);

/* ---------------------------------------------------------------- finding the interpreter */

struct dynsym {
    uintptr_t bias;
    const ElfW(Sym) *symtab;
    const char *strtab;
    const uint32_t *gnu_hash;
    const uint32_t *sysv_hash;
};

/* ld.so relocates the d_ptr entries of a module's dynamic section in place once it is set up;
 * before that they are virtual addresses. */
static uintptr_t dyn_address(uintptr_t bias, ElfW(Addr) value) { return value < bias ? bias + value : value; }

static bool open_dynsym(struct dl_phdr_info *info, struct dynsym *d) {
    memset(d, 0, sizeof *d);
    d->bias = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_DYNAMIC) continue;
        for (const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(d->bias + ph->p_vaddr); dyn->d_tag != DT_NULL; dyn++) {
            switch (dyn->d_tag) {
            case DT_SYMTAB: d->symtab = (const ElfW(Sym) *)dyn_address(d->bias, dyn->d_un.d_ptr); break;
            case DT_STRTAB: d->strtab = (const char *)dyn_address(d->bias, dyn->d_un.d_ptr); break;
            case DT_GNU_HASH: d->gnu_hash = (const uint32_t *)dyn_address(d->bias, dyn->d_un.d_ptr); break;
            case DT_HASH: d->sysv_hash = (const uint32_t *)dyn_address(d->bias, dyn->d_un.d_ptr); break;
            default: break;
            }
        }
    }
    return d->symtab && d->strtab && (d->gnu_hash || d->sysv_hash);
}

static bool symbol_matches(const struct dynsym *d, uint32_t index, const char *name) {
    const ElfW(Sym) *s = &d->symtab[index];
    return s->st_shndx != SHN_UNDEF && s->st_value != 0 && strcmp(d->strtab + s->st_name, name) == 0;
}

static uintptr_t find_symbol(const struct dynsym *d, const char *name) {
    if (d->gnu_hash) {
        uint32_t h = 5381;
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = h * 33 + *p;
        const uint32_t *g = d->gnu_hash;
        uint32_t nbuckets = g[0], symoffset = g[1], bloom_size = g[2], bloom_shift = g[3];
        if (nbuckets == 0 || bloom_size == 0) return 0;
        const ElfW(Addr) *bloom = (const ElfW(Addr) *)(g + 4);
        const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
        const uint32_t *chain = buckets + nbuckets;
        const unsigned bits = sizeof(ElfW(Addr)) * 8;
        ElfW(Addr) word = bloom[(h / bits) % bloom_size];
        ElfW(Addr) mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> bloom_shift) % bits));
        if ((word & mask) != mask) return 0;
        uint32_t index = buckets[h % nbuckets];
        if (index < symoffset) return 0;
        for (;; index++) {
            uint32_t h2 = chain[index - symoffset];
            if ((h | 1) == (h2 | 1) && symbol_matches(d, index, name)) return d->bias + d->symtab[index].st_value;
            if (h2 & 1) return 0;
        }
    }
    uint32_t h = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h << 4) + *p;
        uint32_t top = h & 0xf0000000u;
        if (top) h ^= top >> 24;
        h &= ~top;
    }
    const uint32_t *s = d->sysv_hash;
    uint32_t nbucket = s[0], nchain = s[1];
    if (nbucket == 0) return 0;
    const uint32_t *bucket = s + 2, *chain = bucket + nbucket;
    for (uint32_t index = bucket[h % nbucket], guard = 0; index && index < nchain && guard < nchain; index = chain[index], guard++)
        if (symbol_matches(d, index, name)) return d->bias + d->symtab[index].st_value;
    return 0;
}

struct found {
    bool any, past_main;
    char where[160];
    uintptr_t version, code_type, runtime, get_state;
    uintptr_t data_lo, data_hi; /* its writable PT_LOAD segments, where static objects live */
};

static bool is_libpython(const char *path) {
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/') base = p + 1;
    return strncmp(base, "libpython", 9) == 0;
}

static int search_one(struct dl_phdr_info *info, size_t size, void *data) {
    struct found *f = data;
    bool is_main = !f->past_main; /* the first module is the main program */
    f->past_main = true;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (!is_main && !is_libpython(name)) return 0;
    struct dynsym d;
    if (!open_dynsym(info, &d)) return 0;
    uintptr_t version = find_symbol(&d, "Py_Version");
    uintptr_t type = find_symbol(&d, "PyCode_Type");
    if (!version && !type) return 0;
    f->any = true;
    f->version = version;
    f->code_type = type;
    f->runtime = find_symbol(&d, "_PyRuntime");
    f->get_state = find_symbol(&d, "PyGILState_GetThisThreadState");
    f->data_lo = UINTPTR_MAX;
    f->data_hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < f->data_lo) f->data_lo = start;
        if (start + ph->p_memsz > f->data_hi) f->data_hi = start + ph->p_memsz;
    }
    if (f->data_lo >= f->data_hi) f->data_lo = f->data_hi = 0;
    copy_text(f->where, 0, sizeof f->where, is_main ? (hs_exe_path[0] ? hs_exe_path : "the executable") : name);
    return 1;
}

/* 3.13 publishes its offsets at the start of _PyRuntime: they must agree with the table. */
static const char *debug_offsets_disagree(const char *rt, const struct hs_py_layout *L) {
    static const struct {
        uint32_t at;
        const char *name;
    } fields[] = {
        {HS_PY313_DBG_TSTATE_CURRENT_FRAME, "thread_state.current_frame"},
        {HS_PY313_DBG_FRAME_PREVIOUS, "interpreter_frame.previous"},
        {HS_PY313_DBG_FRAME_EXECUTABLE, "interpreter_frame.executable"},
        {HS_PY313_DBG_FRAME_INSTR_PTR, "interpreter_frame.instr_ptr"},
        {HS_PY313_DBG_FRAME_OWNER, "interpreter_frame.owner"},
        {HS_PY313_DBG_CODE_FILENAME, "code_object.filename"},
        {HS_PY313_DBG_CODE_QUALNAME, "code_object.qualname"},
        {HS_PY313_DBG_CODE_LINETABLE, "code_object.linetable"},
        {HS_PY313_DBG_CODE_FIRSTLINENO, "code_object.firstlineno"},
        {HS_PY313_DBG_CODE_ADAPTIVE, "code_object.co_code_adaptive"},
        {HS_PY313_DBG_OB_TYPE, "pyobject.ob_type"},
        {HS_PY313_DBG_BYTES_SVAL, "bytes_object.ob_sval"},
        {HS_PY313_DBG_UNICODE_STATE, "unicode_object.state"},
        {HS_PY313_DBG_UNICODE_ASCII_SIZE, "unicode_object.asciiobject_size"},
    };
    const uint64_t expected[] = {
        L->cframe_current, L->frame_previous, L->frame_code, L->frame_instr, L->frame_owner,
        L->code_filename, L->code_qualname, L->code_linetable, L->code_firstlineno, L->code_adaptive,
        HS_PY_OB_TYPE, HS_PY_BYTES_DATA, HS_PY_STR_STATE, L->ascii_size,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        uint64_t value;
        memcpy(&value, rt + fields[i].at, sizeof value);
        if (value != expected[i]) return fields[i].name;
    }
    return NULL;
}

/* Under py_lock, with the guard up. */
static void search(void) {
    if (atomic_load_explicit(&hs_py_state, memory_order_acquire) != HS_PY_SEARCHING) return;
    struct found f;
    memset(&f, 0, sizeof f);
    dl_iterate_phdr(search_one, &f);
    if (!f.any) return;
    py_version = f.version ? (uint32_t)*(const unsigned long *)f.version : 0;
    unsigned major = py_version >> 24, minor = (py_version >> 16) & 0xFF;
    char text[200];
    size_t at;
    if (!f.version) {
        set_off(HEAPSNAP_PYTHON_UNSUPPORTED, "a CPython older than 3.11 (no Py_Version) in ", f.where);
        return;
    }
    if (!hs_config.python) {
        set_off(HEAPSNAP_PYTHON_OFF_BY_SETTING, "off by " HEAPSNAP_ENV_PYTHON ": native frames only", NULL);
        return;
    }
    for (size_t i = 0; i < sizeof hs_py_layouts / sizeof hs_py_layouts[0]; i++)
        if (major == 3 && hs_py_layouts[i].minor == minor) layout = &hs_py_layouts[i];
    if (!layout) {
        at = copy_text(text, 0, sizeof text, "CPython ");
        at = version_text(text, at, sizeof text, py_version);
        copy_text(text, at, sizeof text, " is not supported (heapsnap reads Python frames of 3.11 to 3.13)");
        set_off(HEAPSNAP_PYTHON_UNSUPPORTED, text, NULL);
        return;
    }
    if (!f.code_type || !f.runtime || !f.get_state) {
        set_off(HEAPSNAP_PYTHON_INCOMPLETE, !f.code_type ? "PyCode_Type" : !f.runtime ? "_PyRuntime" : "PyGILState_GetThisThreadState",
                " is not exported by the interpreter");
        layout = NULL;
        return;
    }
    const char *rt = (const char *)f.runtime;
    if (minor >= 13) {
        if (memcmp(rt, "xdebugpy", 8) != 0) {
            set_off(HEAPSNAP_PYTHON_LAYOUT_MISMATCH, "_PyRuntime does not start with the debug offsets (cookie xdebugpy)", NULL);
            layout = NULL;
            return;
        }
        uint64_t free_threaded;
        memcpy(&free_threaded, rt + HS_PY313_DBG_FREE_THREADED, sizeof free_threaded);
        if (free_threaded) {
            set_off(HEAPSNAP_PYTHON_UNSUPPORTED, "free-threaded CPython builds are not supported", NULL);
            layout = NULL;
            return;
        }
        const char *field = debug_offsets_disagree(rt, layout);
        if (field) {
            set_off(HEAPSNAP_PYTHON_LAYOUT_MISMATCH, "the interpreter's debug offsets disagree with heapsnap's table at ", field);
            layout = NULL;
            return;
        }
    }
    code_type = f.code_type;
    image_lo = f.data_lo;
    image_hi = f.data_hi;
    runtime = rt;
    status = HEAPSNAP_PYTHON_CAPTURING;
    detail[0] = '\0';
    hs_py_walker = walkers[layout - hs_py_layouts];
    atomic_store_explicit(&hs_py_state, HS_PY_CAPTURING, memory_order_release);
}

static _Atomic unsigned long long seen_adds;

static int count_adds(struct dl_phdr_info *info, size_t size, void *data) {
    *(unsigned long long *)data = size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof info->dlpi_adds
                                      ? info->dlpi_adds : 0;
    return 1;
}

void hs_python_refresh(void) {
    if (!initialized || atomic_load_explicit(&hs_py_state, memory_order_acquire) != HS_PY_SEARCHING) return;
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    unsigned long long adds = 0;
    dl_iterate_phdr(count_adds, &adds);
    if (adds == 0 || adds != atomic_load_explicit(&seen_adds, memory_order_relaxed)) {
        if (pthread_mutex_trylock(&py_lock) == 0) {
            atomic_store_explicit(&seen_adds, adds, memory_order_relaxed);
            search();
            pthread_mutex_unlock(&py_lock);
        }
    }
    hs_in_tracker = guard;
}

/* hs_python_frames's countdown ran out (python.h) */
void hs_python_search_again(void) {
    hs_py_search_countdown = 4096;
    hs_python_refresh();
}

void hs_python_init(void) {
    const char *m = getenv("PYTHONMALLOC");
    if (m) copy_text(pythonmalloc, 0, sizeof pythonmalloc, m);
    initialized = true;
    hs_python_refresh();
}

/* ---------------------------------------------------------------- the PYTHON section */

void hs_python_write_section(struct hs_writer *w, uint32_t tag) {
    if (atomic_load_explicit(&hs_py_state, memory_order_acquire) == HS_PY_SEARCHING) return;
    pthread_mutex_lock(&py_lock);
    char text[sizeof detail + 96];
    const char *line = detail;
    uint64_t rejected = atomic_load_explicit(&rejected_walks, memory_order_relaxed);
    if (status == HEAPSNAP_PYTHON_CAPTURING && rejected) {
        size_t at = copy_number(text, 0, sizeof text, rejected);
        copy_text(text, at, sizeof text, rejected == 1 ? " frame walk stopped at a frame that failed validation"
                                                        : " frame walks stopped at a frame that failed validation");
        line = text;
    }
    size_t line_length = strlen(line), malloc_length = strlen(pythonmalloc);
    uint32_t count = status == HEAPSNAP_PYTHON_CAPTURING ? record_count : 0;
    uint64_t length = 4 + 4 + 4 + line_length + 4 + malloc_length + 4;
    for (uint32_t i = 0; i < count; i++)
        length += 8 + 4 + 4 + 4 + records[i].filename_length + 4 + records[i].qualname_length + 4 + records[i].linetable_length;
    hs_put_u32(w, tag);
    hs_put_u32(w, 0);
    hs_put_u64(w, length);
    hs_put_u32(w, py_version);
    hs_put_u32(w, status);
    hs_put_str(w, line, line_length);
    hs_put_str(w, pythonmalloc, malloc_length);
    hs_put_u32(w, count);
    for (uint32_t i = 0; i < count; i++) {
        const struct code_record *r = &records[i];
        hs_put_u64(w, r->address);
        hs_put_u32(w, r->first_line);
        hs_put_u32(w, 0);
        hs_put_str(w, r->filename, r->filename_length);
        hs_put_str(w, r->qualname, r->qualname_length);
        hs_put_u32(w, r->linetable_length);
        hs_put(w, r->linetable, r->linetable_length);
    }
    pthread_mutex_unlock(&py_lock);
}

/* ---------------------------------------------------------------- fork */

void hs_python_before_fork(void) { pthread_mutex_lock(&py_lock); }
void hs_python_after_fork_parent(void) { pthread_mutex_unlock(&py_lock); }
void hs_python_after_fork_child(void) { pthread_mutex_init(&py_lock, NULL); }
