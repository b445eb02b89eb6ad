/* The two tables: interned stacks (one id per distinct (domain, frames), looked up without a lock,
 * added under one mutex because new stacks are rare) and live blocks (address -> size, stack),
 * sharded by address hash with one mutex per shard so threads rarely meet. */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* ---------------------------------------------------------------- stacks */

#define DIR_CHUNK_BITS 16
#define DIR_CHUNK_SIZE ((size_t)1 << DIR_CHUNK_BITS)
#define DIR_CHUNKS 1024 /* up to 64 Mi distinct stacks */

struct intern_table {
    size_t capacity; /* power of two */
    _Atomic uint32_t slots[]; /* stack id + 1, 0 = empty */
};

pthread_mutex_t hs_stacks_append_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hs_stack **_Atomic stack_directory[DIR_CHUNKS];
static _Atomic uint32_t stack_count;
static struct intern_table *_Atomic intern_table;
static struct hs_arena stack_arena;

static uint64_t hash_frames(uint32_t domain, const uintptr_t *frames, int depth, bool truncated) {
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)domain << 1) ^ (uint64_t)truncated;
    for (int i = 0; i < depth; i++) {
        h ^= frames[i];
        h *= 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    return h ^ (uint64_t)depth;
}

struct hs_stack *hs_stack_at(uint32_t id) {
    struct hs_stack **chunk = atomic_load_explicit(&stack_directory[id >> DIR_CHUNK_BITS], memory_order_acquire);
    return chunk ? chunk[id & (DIR_CHUNK_SIZE - 1)] : NULL;
}

uint32_t hs_stack_count(void) { return atomic_load_explicit(&stack_count, memory_order_acquire); }

static bool same_stack(const struct hs_stack *s, uint64_t hash, uint32_t domain, const uintptr_t *frames,
                       int depth, uint16_t flags) {
    return s->hash == hash && s->domain == domain && s->depth == depth && s->flags == flags &&
           memcmp(s->frames, frames, (size_t)depth * sizeof(uintptr_t)) == 0;
}

static uint32_t table_find(struct intern_table *t, uint64_t hash, uint32_t domain, const uintptr_t *frames,
                           int depth, uint16_t flags) {
    if (!t) return UINT32_MAX;
    size_t mask = t->capacity - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t slot = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (slot == 0) return UINT32_MAX;
        struct hs_stack *s = hs_stack_at(slot - 1);
        if (s && same_stack(s, hash, domain, frames, depth, flags)) return slot - 1;
    }
}

static void table_place(struct intern_table *t, uint64_t hash, uint32_t id) {
    size_t mask = t->capacity - 1;
    size_t i = hash & mask;
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != 0) i = (i + 1) & mask;
    atomic_store_explicit(&t->slots[i], id + 1, memory_order_release);
}

/* Old tables are never unmapped: a lock-free reader may still be probing one. They add up to less
 * than the current table, so this costs at most as much again. */
static struct intern_table *grow_intern_table(struct intern_table *old, uint32_t count) {
    size_t capacity = old ? old->capacity * 2 : 4096;
    struct intern_table *t = hs_map(sizeof(struct intern_table) + capacity * sizeof(uint32_t));
    if (!t) return NULL;
    t->capacity = capacity;
    for (uint32_t id = 0; id < count; id++) table_place(t, hs_stack_at(id)->hash, id);
    atomic_store_explicit(&intern_table, t, memory_order_release);
    return t;
}

uint32_t hs_intern(uint32_t domain, const uintptr_t *frames, int depth, bool truncated, struct hs_stack **out) {
    uint64_t hash = hash_frames(domain, frames, depth, truncated);
    uint16_t flags = truncated ? HEAPSNAP_STACK_TRUNCATED : 0;
    uint32_t id = table_find(atomic_load_explicit(&intern_table, memory_order_acquire), hash, domain, frames, depth, flags);
    if (id != UINT32_MAX) {
        *out = hs_stack_at(id);
        return id;
    }
    pthread_mutex_lock(&hs_stacks_append_lock);
    struct intern_table *t = atomic_load_explicit(&intern_table, memory_order_relaxed);
    id = table_find(t, hash, domain, frames, depth, flags);
    if (id != UINT32_MAX) goto found;
    uint32_t count = atomic_load_explicit(&stack_count, memory_order_relaxed);
    if (count >= DIR_CHUNKS * DIR_CHUNK_SIZE - 1) goto fail;
    if (!t || (size_t)(count + 1) * 2 > t->capacity) {
        t = grow_intern_table(t, count);
        if (!t) goto fail;
    }
    struct hs_stack **chunk = atomic_load_explicit(&stack_directory[count >> DIR_CHUNK_BITS], memory_order_relaxed);
    if (!chunk) {
        chunk = hs_map(DIR_CHUNK_SIZE * sizeof(struct hs_stack *));
        if (!chunk) goto fail;
        atomic_store_explicit(&stack_directory[count >> DIR_CHUNK_BITS], chunk, memory_order_release);
    }
    struct hs_stack *s = hs_arena_alloc(&stack_arena, sizeof(struct hs_stack) + (size_t)depth * sizeof(uintptr_t));
    if (!s) goto fail;
    s->hash = hash;
    s->domain = domain;
    s->depth = (uint16_t)depth;
    s->flags = flags;
    memcpy(s->frames, frames, (size_t)depth * sizeof(uintptr_t));
    id = count;
    chunk[id & (DIR_CHUNK_SIZE - 1)] = s;
    atomic_store_explicit(&stack_count, count + 1, memory_order_release);
    table_place(t, hash, id);
found:
    pthread_mutex_unlock(&hs_stacks_append_lock);
    *out = hs_stack_at(id);
    return id;
fail:
    pthread_mutex_unlock(&hs_stacks_append_lock);
    return UINT32_MAX;
}

/* ---------------------------------------------------------------- live blocks */

struct hs_shard hs_shards[HS_SHARDS]; /* all-zero pthread mutexes are PTHREAD_MUTEX_INITIALIZER in glibc */
_Atomic uint64_t hs_current_bytes;
_Atomic uint64_t hs_peak_bytes;

static inline uint64_t live_hash(uint32_t domain, uintptr_t address) {
    uint64_t h = (uint64_t)address ^ ((uint64_t)domain << 47) ^ ((uint64_t)domain >> 17);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* glibc gives each thread an arena of its own, in 64 MiB-aligned heaps: picking a group of 8 shards
 * from the address's 64 MiB region keeps a thread's blocks mostly in "its" shards, so two threads
 * rarely bounce the same lock and table lines between cores. Within the group, the block's hash
 * spreads the load. The slot index uses the hash's low bits, independent of both. */
static inline struct hs_shard *shard_of(uint64_t hash, uintptr_t address) {
    uint64_t region = ((uint64_t)address >> 26) * 0x9E3779B97F4A7C15ull;
    return &hs_shards[((region >> 59) << 3) | (hash >> 61)];
}

static int grow_shard(struct hs_shard *sh) {
    size_t capacity = sh->capacity ? sh->capacity * 2 : 256;
    struct hs_live_entry *slots = hs_map(capacity * sizeof *slots);
    if (!slots) return -1;
    size_t mask = capacity - 1;
    for (size_t i = 0; i < sh->capacity; i++) {
        struct hs_live_entry *e = &sh->slots[i];
        if (!e->address) continue;
        size_t j = live_hash(e->domain, e->address) & mask;
        while (slots[j].address) j = (j + 1) & mask;
        slots[j] = *e;
    }
    hs_unmap(sh->slots, sh->capacity * sizeof *slots);
    sh->slots = slots;
    sh->capacity = capacity;
    return 0;
}

static void raise_peak(uint64_t current) {
    uint64_t peak = atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed);
    while (current > peak &&
           !atomic_compare_exchange_weak_explicit(&hs_peak_bytes, &peak, current, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

int hs_live_insert(uint32_t domain, uintptr_t address, uint64_t size, uint32_t stack_id, struct hs_stack *stack,
                   bool count_total) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    pthread_mutex_lock(&sh->lock);
    if ((sh->count + 1) * 4 > sh->capacity * 3 && grow_shard(sh) != 0) {
        pthread_mutex_unlock(&sh->lock);
        errno = ENOMEM;
        return -1;
    }
    size_t mask = sh->capacity - 1;
    size_t i = hash & mask;
    for (; sh->slots[i].address; i = (i + 1) & mask) {
        struct hs_live_entry *e = &sh->slots[i];
        if (e->address == address && e->domain == domain) {
            /* A block we missed the free of (freed while the guard was up): forget it first. */
            atomic_fetch_sub_explicit(&hs_current_bytes, e->size, memory_order_relaxed);
            sh->count--;
            break;
        }
    }
    sh->slots[i] = (struct hs_live_entry){address, size, stack_id, domain};
    sh->count++;
    if (count_total) {
        sh->total_allocs++;
        sh->total_bytes += size;
        atomic_fetch_add_explicit(&stack->total_allocs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&stack->total_bytes, size, memory_order_relaxed);
    }
    uint64_t current = atomic_fetch_add_explicit(&hs_current_bytes, size, memory_order_relaxed) + size;
    raise_peak(current);
    pthread_mutex_unlock(&sh->lock);
    return 0;
}

bool hs_live_remove(uint32_t domain, uintptr_t address, struct hs_live_entry *removed, bool count_untracked) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    pthread_mutex_lock(&sh->lock);
    if (!sh->slots) goto missing;
    size_t mask = sh->capacity - 1;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
        struct hs_live_entry *e = &sh->slots[i];
        if (!e->address) goto missing;
        if (e->address == address && e->domain == domain) break;
    }
    *removed = sh->slots[i];
    atomic_fetch_sub_explicit(&hs_current_bytes, removed->size, memory_order_relaxed);
    sh->count--;
    /* backward-shift deletion keeps linear probing free of tombstones */
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        struct hs_live_entry *e = &sh->slots[j];
        if (!e->address) break;
        size_t home = live_hash(e->domain, e->address) & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            sh->slots[i] = *e;
            i = j;
        }
    }
    sh->slots[i].address = 0;
    pthread_mutex_unlock(&sh->lock);
    return true;
missing:
    if (count_untracked) sh->untracked_frees++;
    pthread_mutex_unlock(&sh->lock);
    return false;
}

bool hs_live_contains(uint32_t domain, uintptr_t address) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    bool found = false;
    pthread_mutex_lock(&sh->lock);
    if (sh->slots) {
        size_t mask = sh->capacity - 1;
        for (size_t i = hash & mask; sh->slots[i].address; i = (i + 1) & mask)
            if (sh->slots[i].address == address && sh->slots[i].domain == domain) {
                found = true;
                break;
            }
    }
    pthread_mutex_unlock(&sh->lock);
    return found;
}

void hs_count_untracked_free(uintptr_t address) {
    struct hs_shard *sh = shard_of(live_hash(0, address), address);
    pthread_mutex_lock(&sh->lock);
    sh->untracked_frees++;
    pthread_mutex_unlock(&sh->lock);
}

void hs_lock_all_shards(void) {
    for (int i = 0; i < HS_SHARDS; i++) pthread_mutex_lock(&hs_shards[i].lock);
}

void hs_unlock_all_shards(void) {
    for (int i = HS_SHARDS - 1; i >= 0; i--) pthread_mutex_unlock(&hs_shards[i].lock);
}

/* The child of fork keeps its live blocks (they are really there) but starts its own totals. */
void hs_tables_after_fork_child(void) {
    pthread_mutex_init(&hs_stacks_append_lock, NULL);
    for (int i = 0; i < HS_SHARDS; i++) {
        pthread_mutex_init(&hs_shards[i].lock, NULL);
        hs_shards[i].total_allocs = 0;
        hs_shards[i].total_bytes = 0;
        hs_shards[i].untracked_frees = 0;
    }
    uint32_t count = hs_stack_count();
    for (uint32_t id = 0; id < count; id++) {
        struct hs_stack *s = hs_stack_at(id);
        atomic_store_explicit(&s->total_allocs, 0, memory_order_relaxed);
        atomic_store_explicit(&s->total_bytes, 0, memory_order_relaxed);
        atomic_store_explicit(&s->temporary_allocs, 0, memory_order_relaxed);
    }
    atomic_store(&hs_peak_bytes, atomic_load(&hs_current_bytes));
}
