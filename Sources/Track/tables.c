/* The two tables: interned stacks (one id per distinct (domain, frames), looked up without a lock,
 * added under one mutex because new stacks are rare) and live blocks (address -> size, stack),
 * sharded by address hash with one mutex per shard so threads rarely meet. */
#include "internal.h"
#include "peak.h"
#include "sample.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---------------------------------------------------------------- frame nodes
 *
 * A prefix tree of frames, as heaptrack's trace tree, but with up to seven frames per node, so that
 * checking a stack follows a few nodes, not one per frame. A stack's native frames and its Python
 * frames are two separate paths in the tree, each from its outermost frame (the root) to its
 * innermost: the native part of an interpreter's allocation is the same under every Python stack and
 * the Python part the same whatever C function allocated, so storing them apart shares both (one path
 * through both would repeat the Python part under every native variant, or the other way round). A
 * path of n frames is cut into nodes from the root: seven frames each, the innermost node holding the
 * rest. A node stores its frames in capture order (innermost first), so a path is checked by walking
 * from its innermost node to the root comparing with the capture word by word. The innermost three
 * native frames, the likeliest to differ, are kept in the stack's record instead (internal.h).
 * Nodes are never changed or freed once published: readers walk them without a lock. */

#define NODE_FRAMES 7 /* path_is unrolls up to this many */
/* Nodes are packed one after the other (a header word, then `count` frames): a node id is the
 * index of its header word. */
struct frame_node {
    uint32_t parent;                 /* HS_NO_NODE at the root */
    uint32_t count;                  /* frames in this node, 1..7; 0 ends a block's nodes */
    uintptr_t frames[];
};

#define NODE_BLOCK_WORDS ((uint32_t)8192) /* 64 KiB per mapping; a node never straddles two */
#define NODE_BLOCKS 131072                /* up to 8 GiB of nodes */
static uint64_t *_Atomic node_blocks[NODE_BLOCKS];
static uint32_t node_words;          /* words used (and skipped at block ends), under hs_stacks_append_lock */

/* (parent, frames) -> node, for building paths: used under hs_stacks_append_lock only, so it can be
 * replaced and unmapped when it grows. */
static struct {
    uint32_t *slots;                 /* node id + 1, 0 = empty */
    size_t capacity;                 /* power of two */
    size_t count;
} node_index;

static inline const struct frame_node *node_at(uint32_t id) {
    return (const struct frame_node *)(atomic_load_explicit(&node_blocks[id / NODE_BLOCK_WORDS], memory_order_acquire) +
                                       id % NODE_BLOCK_WORDS);
}

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Frames are hashed one word at a time in order (hs_stack_hash_step, internal.h), so that the own
 * unwinder can fold each in as it writes it; what the frames belong to (a stack's domain, truncation
 * and depth, a node's parent and count) is folded in at the end. The multiplication never carries
 * high bits down, the final mix does. A hash only picks a slot: frames are compared word for word. */
static inline uint64_t hash_frames_from(uint64_t running, const uintptr_t *frames, int from, int n) {
    int i = from;
    for (; i + 3 < n; i += 4) /* unrolled: the chain is serial anyway, the loop overhead is not */
        running = hs_stack_hash_step(hs_stack_hash_step(hs_stack_hash_step(hs_stack_hash_step(running, frames[i]),
                                                                           frames[i + 1]),
                                                        frames[i + 2]),
                                     frames[i + 3]);
    for (; i < n; i++) running = hs_stack_hash_step(running, frames[i]);
    return running;
}

static inline uint64_t hash_end(uint64_t running, uint64_t owner) { return mix(running ^ owner * 0x9E3779B97F4A7C15ull); }

static uint64_t node_hash(uint32_t parent, const uintptr_t *frames, int count) {
    return hash_end(hash_frames_from(HS_STACK_HASH_START, frames, 0, count), (uint64_t)parent << 8 | (uint64_t)count);
}

static bool node_is(const struct frame_node *n, uint32_t parent, const uintptr_t *frames, int count) {
    return n->parent == parent && n->count == (uint32_t)count && memcmp(n->frames, frames, (size_t)count * sizeof *frames) == 0;
}

static void node_index_place(uint32_t *slots, size_t capacity, uint64_t hash, uint32_t id) {
    size_t mask = capacity - 1;
    size_t i = hash & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = id + 1;
}

static int grow_node_index(void) {
    size_t capacity = node_index.capacity ? node_index.capacity * 2 : 4096;
    uint32_t *slots = hs_map(capacity * sizeof *slots);
    if (!slots) return -1;
    for (uint32_t block = 0; block * NODE_BLOCK_WORDS < node_words; block++) {
        for (uint32_t at = 0; at < NODE_BLOCK_WORDS;) {
            uint32_t id = block * NODE_BLOCK_WORDS + at;
            if (id >= node_words) break;
            const struct frame_node *n = node_at(id);
            if (!n->count) break; /* the rest of this block was skipped */
            node_index_place(slots, capacity, node_hash(n->parent, n->frames, (int)n->count), id);
            at += 1 + n->count;
        }
    }
    hs_unmap(node_index.slots, node_index.capacity * sizeof *slots);
    node_index.slots = slots;
    node_index.capacity = capacity;
    return 0;
}

/* Under hs_stacks_append_lock: the node (parent, frames), added if new; HS_NO_NODE on failure. */
static uint32_t node_get(uint32_t parent, const uintptr_t *frames, int count) {
    uint64_t hash = node_hash(parent, frames, count);
    if (node_index.capacity) {
        size_t mask = node_index.capacity - 1;
        for (size_t i = hash & mask; node_index.slots[i]; i = (i + 1) & mask) {
            uint32_t id = node_index.slots[i] - 1;
            if (node_is(node_at(id), parent, frames, count)) return id;
        }
    }
    if ((node_index.count + 1) * 4 > node_index.capacity * 3 && grow_node_index() != 0) return HS_NO_NODE;
    uint32_t words = 1 + (uint32_t)count;
    uint32_t id = node_words;
    if (id % NODE_BLOCK_WORDS + words > NODE_BLOCK_WORDS) id += NODE_BLOCK_WORDS - id % NODE_BLOCK_WORDS;
    if (id / NODE_BLOCK_WORDS >= NODE_BLOCKS) return HS_NO_NODE;
    uint64_t *block = atomic_load_explicit(&node_blocks[id / NODE_BLOCK_WORDS], memory_order_relaxed);
    if (!block) {
        if (!(block = hs_map(NODE_BLOCK_WORDS * sizeof *block))) return HS_NO_NODE;
        atomic_store_explicit(&node_blocks[id / NODE_BLOCK_WORDS], block, memory_order_release);
    }
    struct frame_node *n = (struct frame_node *)(block + id % NODE_BLOCK_WORDS);
    n->parent = parent;
    n->count = (uint32_t)count;
    memcpy(n->frames, frames, (size_t)count * sizeof *frames);
    node_words = id + words; /* published to readers by the stack that names it (release) */
    node_index_place(node_index.slots, node_index.capacity, hash, id);
    node_index.count++;
    return id;
}

/* Under hs_stacks_append_lock: the innermost node of the path of `frames` (capture order, n > 0). */
static uint32_t path_add(const uintptr_t *frames, int n) {
    uint32_t parent = HS_NO_NODE;
    for (int end = n; end > 0; end -= NODE_FRAMES) { /* from the outermost frames in */
        int start = end > NODE_FRAMES ? end - NODE_FRAMES : 0;
        parent = node_get(parent, frames + start, end - start);
        if (parent == HS_NO_NODE) return HS_NO_NODE;
    }
    return parent;
}

/* Whether the path ending at `leaf` holds exactly frames[0..n) (a word loop: the runs are 1 to 7
 * words, too short for a call to memcmp). */
static inline bool path_is(uint32_t leaf, const uintptr_t *frames, int n) {
    int at = 0;
    for (uint32_t id = leaf; id != HS_NO_NODE;) {
        const struct frame_node *node = node_at(id);
        int count = (int)node->count;
        if (at + count > n) return false;
        /* unrolled by count (1..7), one branch per node: the words differ rarely */
        const uintptr_t *theirs = node->frames, *ours = frames + at;
        uintptr_t differ = 0;
        switch (count) {
        case 7: differ |= theirs[6] ^ ours[6]; /* fall through */
        case 6: differ |= theirs[5] ^ ours[5]; /* fall through */
        case 5: differ |= theirs[4] ^ ours[4]; /* fall through */
        case 4: differ |= theirs[3] ^ ours[3]; /* fall through */
        case 3: differ |= theirs[2] ^ ours[2]; /* fall through */
        case 2: differ |= theirs[1] ^ ours[1]; /* fall through */
        case 1: differ |= theirs[0] ^ ours[0]; break;
        default: return false; /* never: a node holds 1 to 7 frames */
        }
        if (differ) return false;
        at += count;
        id = node->parent;
    }
    return at == n;
}

static uintptr_t *path_copy(uint32_t leaf, uintptr_t *out) {
    for (uint32_t id = leaf; id != HS_NO_NODE;) {
        const struct frame_node *node = node_at(id);
        memcpy(out, node->frames, node->count * sizeof *out);
        out += node->count;
        id = node->parent;
    }
    return out;
}

/* ---------------------------------------------------------------- stacks */

#define HS_STACK_BLOCK 1024u /* stacks per mapping (128 KiB) */
#define STACK_BLOCKS 65536   /* of HS_STACK_BLOCK: up to 64 Mi distinct stacks */
struct hs_stack_block {
    struct hs_stack stacks[HS_STACK_BLOCK];
};
#define MAX_STACKS ((uint32_t)1 << 26) /* ids fit the 26 bits of an intern slot */
#define SLOT_ID_BITS 26
#define SLOT_ID_MASK ((1u << SLOT_ID_BITS) - 1)

/* Open addressing, load at most one half; a slot holds id + 1 in its low 26 bits (0 = empty) and six
 * bits of the hash above, so that most probes that miss do not read the stack's record. */
struct intern_table {
    size_t capacity; /* power of two */
    _Atomic uint32_t slots[];
};

pthread_mutex_t hs_stacks_append_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hs_stack_block *_Atomic stack_blocks[STACK_BLOCKS];
static _Atomic uint32_t stack_count;
static struct intern_table *_Atomic intern_table;

static inline int native_depth_of(const uintptr_t *frames, int depth) {
    int n = 0;
    while (n < depth && !((uint64_t)frames[n] & HEAPSNAP_PYTHON_FRAME)) n++;
    return n;
}

static inline uint64_t stack_hash_end(uint64_t running, uint32_t domain, int depth, bool truncated) {
    return hash_end(running, (uint64_t)domain << 17 | (uint64_t)truncated << 16 | (uint64_t)depth);
}

static inline uint64_t stack_hash(uint32_t domain, const uintptr_t *frames, int depth, bool truncated) {
    return stack_hash_end(hash_frames_from(HS_STACK_HASH_START, frames, 0, depth), domain, depth, truncated);
}

static inline uint32_t slot_tag(uint64_t hash) { return (uint32_t)(hash >> 58) << SLOT_ID_BITS; }

struct hs_stack *hs_stack_at(uint32_t id) {
    struct hs_stack_block *block = atomic_load_explicit(&stack_blocks[id / HS_STACK_BLOCK], memory_order_acquire);
    return block ? &block->stacks[id % HS_STACK_BLOCK] : NULL;
}

uint32_t hs_stack_count(void) { return atomic_load_explicit(&stack_count, memory_order_acquire); }

static inline int inline_count(int native) { return native < HS_STACK_INLINE_FRAMES ? native : HS_STACK_INLINE_FRAMES; }

void hs_stack_frames(const struct hs_stack *s, uintptr_t *out) {
    int n = inline_count(s->native_depth);
    memcpy(out, s->inline_frames, (size_t)n * sizeof *out);
    path_copy(s->python_leaf, path_copy(s->native_leaf, out + n));
}

/* Equal frames split at the same place, so the record's own split serves: no scan for the first
 * Python frame on a lookup. */
static inline bool same_stack(const struct hs_stack *s, uint32_t domain, const uintptr_t *frames, int depth,
                              uint16_t flags) {
    if (s->domain != domain || s->depth != depth || s->flags != flags) return false;
    int native = s->native_depth, n = inline_count(native);
    /* the leaf nodes' misses overlap the check of the inline frames (the record's second line) */
    if (s->native_leaf != HS_NO_NODE) __builtin_prefetch(node_at(s->native_leaf));
    if (s->python_leaf != HS_NO_NODE) __builtin_prefetch(node_at(s->python_leaf));
    for (int k = 0; k < n; k++)
        if (s->inline_frames[k] != frames[k]) return false;
    return path_is(s->native_leaf, frames + n, native - n) && path_is(s->python_leaf, frames + native, depth - native);
}

static uint32_t table_find(struct intern_table *t, uint64_t hash, uint32_t domain, const uintptr_t *frames,
                           int depth, uint16_t flags) {
    if (!t) return UINT32_MAX;
    size_t mask = t->capacity - 1;
    uint32_t tag = slot_tag(hash);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t slot = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (slot == 0) return UINT32_MAX;
        if ((slot & ~SLOT_ID_MASK) != tag) continue;
        uint32_t id = (slot & SLOT_ID_MASK) - 1;
        struct hs_stack *s = hs_stack_at(id);
        if (s && same_stack(s, domain, frames, depth, flags)) return id;
    }
}

static void table_place(struct intern_table *t, uint64_t hash, uint32_t id) {
    size_t mask = t->capacity - 1;
    size_t i = hash & mask;
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != 0) i = (i + 1) & mask;
    atomic_store_explicit(&t->slots[i], slot_tag(hash) | (id + 1), memory_order_release);
}

/* Old tables are never unmapped: a lock-free reader may still be probing one. They add up to less
 * than the current table, so this costs at most as much again. The hashes are not kept: each
 * stack's frames are read back from the tree (a growth happens at each doubling only). */
static struct intern_table *grow_intern_table(struct intern_table *old, uint32_t count) {
    size_t capacity = old ? old->capacity * 2 : 4096;
    struct intern_table *t = hs_map(sizeof(struct intern_table) + capacity * sizeof(uint32_t));
    if (!t) return NULL;
    t->capacity = capacity;
    uintptr_t frames[HEAPSNAP_FRAMES_LIMIT + 24 + HEAPSNAP_PYTHON_MAX_FRAMES];
    for (uint32_t id = 0; id < count; id++) {
        struct hs_stack *s = hs_stack_at(id);
        hs_stack_frames(s, frames);
        table_place(t, stack_hash(s->domain, frames, s->depth, s->flags & HEAPSNAP_STACK_TRUNCATED), id);
    }
    atomic_store_explicit(&intern_table, t, memory_order_release);
    return t;
}

uint32_t hs_intern(uint32_t domain, const uintptr_t *frames, int depth, bool truncated, uint64_t running, int hashed,
                   struct hs_stack **out) {
    uint64_t hash = stack_hash_end(hash_frames_from(running, frames, hashed, depth), domain, depth, truncated);
    uint16_t flags = truncated ? HEAPSNAP_STACK_TRUNCATED : 0;
    uint32_t id = table_find(atomic_load_explicit(&intern_table, memory_order_acquire), hash, domain, frames, depth, flags);
    if (id != UINT32_MAX) {
        *out = hs_stack_at(id);
        return id;
    }
    if (depth > (int)(HEAPSNAP_FRAMES_LIMIT + 24 + HEAPSNAP_PYTHON_MAX_FRAMES)) return UINT32_MAX; /* never: capture's bound */
    pthread_mutex_lock(&hs_stacks_append_lock);
    struct intern_table *t = atomic_load_explicit(&intern_table, memory_order_relaxed);
    id = table_find(t, hash, domain, frames, depth, flags);
    if (id != UINT32_MAX) goto found;
    int native = native_depth_of(frames, depth);
    uint32_t count = atomic_load_explicit(&stack_count, memory_order_relaxed);
    if (count >= MAX_STACKS - 2) goto fail;
    if (!t || (size_t)(count + 1) * 2 > t->capacity) {
        t = grow_intern_table(t, count);
        if (!t) goto fail;
    }
    struct hs_stack_block *block = atomic_load_explicit(&stack_blocks[count / HS_STACK_BLOCK], memory_order_relaxed);
    if (!block) {
        block = hs_map(sizeof *block);
        if (!block) goto fail;
        atomic_store_explicit(&stack_blocks[count / HS_STACK_BLOCK], block, memory_order_release);
    }
    int n = inline_count(native);
    uint32_t native_leaf = native > n ? path_add(frames + n, native - n) : HS_NO_NODE;
    uint32_t python_leaf = depth > native ? path_add(frames + native, depth - native) : HS_NO_NODE;
    if ((native > n && native_leaf == HS_NO_NODE) || (depth > native && python_leaf == HS_NO_NODE)) goto fail;
    struct hs_stack *s = &block->stacks[count % HS_STACK_BLOCK];
    s->domain = domain;
    s->depth = (uint16_t)depth;
    s->native_depth = (uint16_t)native;
    s->flags = flags;
    memcpy(s->inline_frames, frames, (size_t)n * sizeof *frames);
    s->native_leaf = native_leaf;
    s->python_leaf = python_leaf;
    s->generation = UINT64_MAX; /* older than any peak: the first change saves the (empty) figures */
    id = count;
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

/* ---------------------------------------------------------------- live blocks
 *
 * Almost every block is in domain 0 at a 16-byte aligned address below 2^48 (glibc's malloc on
 * x86-64 and aarch64), smaller than 16 MiB, of one of the first 2^20 stacks: those take one 12-byte
 * slot of the shard's compact table. The rest (the heapsnap_track domains, odd addresses, huge sizes
 * or stack ids) go to the shard's wide table of full entries, empty and unmapped in most processes;
 * a block is in one of the two.
 *
 * The compact table is Robin Hood linear probing: each slot keeps its distance from its home slot,
 * so a lookup stops as soon as it passes where the block would be, and a delete shifts the following
 * run back by one, decrementing distances: nothing is rehashed except when the table grows. A slot's
 * home is the hash's low 32 bits scaled to the capacity, which can then be any number: tables grow by
 * a quarter (whole pages) at three quarters full, so a block costs 16 to 20 bytes instead of swinging
 * between 32 and 64 as it did with 24-byte entries doubled at three quarters. (Fuller tables cost
 * more than they save: an insertion shifts slots up to the next empty one, 32 of them on average at
 * seven eighths.) A block whose distance would not fit its 8 bits goes to the wide table. */

/* address >> 4 (44 bits) | distance (8) | size bits 0..11 (12); size bits 12..23 (12) | stack (20) */
struct hs_live_slot {
    uint64_t low;       /* 0 = empty */
    uint32_t high;
} __attribute__((packed));

#define SLOT_ADDRESS_MASK ((UINT64_C(1) << 44) - 1)
#define SLOT_DISTANCE_SHIFT 44
#define SLOT_DISTANCE_ONE (UINT64_C(1) << SLOT_DISTANCE_SHIFT)
#ifndef SLOT_DISTANCE_MAX /* a test build sets it low to drive blocks into the wide table */
#define SLOT_DISTANCE_MAX 255u
#endif
#define COMPACT_MAX_SIZE ((UINT64_C(1) << 24) - 1)
#define COMPACT_MAX_STACK ((UINT32_C(1) << 20) - 1)
#define MAX_COMPACT_CAPACITY ((uint32_t)1 << 30)
#ifndef COMPACT_LOAD_NUMERATOR
#define COMPACT_LOAD_NUMERATOR 3u /* grow beyond three quarters full */
#define COMPACT_LOAD_DENOMINATOR 4u
#endif

struct hs_shard hs_shards[HS_SHARDS];
_Atomic uint64_t hs_current_bytes;
_Atomic uint64_t hs_peak_bytes;

/* ---- the shard lock
 *
 * Inline, as a shard is held for a few dozen instructions: one compare-and-swap to take it and one
 * exchange to give it back when nobody waits, no call. A thread that finds it held spins briefly
 * (the holder is most likely running on the other core), then sleeps on a futex, so that a holder
 * descheduled mid-insert costs a waiter no CPU. 2 marks a lock that may have sleepers: its release
 * wakes one, which takes it as 2 again (it cannot tell whether others still sleep). */
#define SHARD_SPINS 128

__attribute__((noinline, cold)) static void shard_lock_contended(struct hs_shard *sh) {
    for (int spin = 0; spin < SHARD_SPINS; spin++) {
        __builtin_ia32_pause();
        uint32_t expected = 0;
        if (atomic_load_explicit(&sh->lock, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&sh->lock, &expected, 1, memory_order_acquire, memory_order_relaxed))
            return;
    }
    int saved = errno; /* the futex's EAGAIN or EINTR is no business of the program's */
    while (atomic_exchange_explicit(&sh->lock, 2, memory_order_acquire) != 0)
        syscall(SYS_futex, &sh->lock, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    errno = saved;
}

static inline void shard_lock(struct hs_shard *sh) {
    uint32_t expected = 0;
    if (__builtin_expect(atomic_compare_exchange_strong_explicit(&sh->lock, &expected, 1, memory_order_acquire,
                                                                 memory_order_relaxed), 1))
        return;
    shard_lock_contended(sh);
}

__attribute__((noinline, cold)) static void shard_wake(struct hs_shard *sh) {
    int saved = errno;
    syscall(SYS_futex, &sh->lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

static inline void shard_unlock(struct hs_shard *sh) {
    if (__builtin_expect(atomic_exchange_explicit(&sh->lock, 0, memory_order_release) != 1, 0)) shard_wake(sh);
}

static inline uint64_t live_hash(uint32_t domain, uintptr_t address) {
    return mix((uint64_t)address ^ ((uint64_t)domain << 47) ^ ((uint64_t)domain >> 17));
}

/* glibc gives each thread an arena of its own, in 64 MiB-aligned heaps: picking a group of 8 shards
 * from the address's 64 MiB region keeps a thread's blocks mostly in "its" shards, so two threads
 * rarely bounce the same lock and table lines between cores. Within the group, the block's hash
 * spreads the load. The slot index uses the hash's low bits, independent of both. */
static inline struct hs_shard *shard_of(uint64_t hash, uintptr_t address) {
    uint64_t region = ((uint64_t)address >> 26) * 0x9E3779B97F4A7C15ull;
    return &hs_shards[((region >> 59) << 3) | (hash >> 61)];
}

static inline bool compact_address(uint32_t domain, uintptr_t address) {
    return domain == 0 && (address & 15) == 0 && ((uint64_t)address >> 48) == 0;
}

static inline uint32_t home_of(uint64_t hash, uint32_t capacity) {
    return (uint32_t)(((hash & 0xFFFFFFFFu) * capacity) >> 32);
}

static inline uint32_t next_slot(uint32_t i, uint32_t capacity) { return i + 1 == capacity ? 0 : i + 1; }

static inline uint64_t slot_distance(const struct hs_live_slot *s) { return (s->low >> SLOT_DISTANCE_SHIFT) & 0xFF; }

static inline struct hs_live_slot make_slot(uintptr_t address, uint64_t size, uint32_t stack) {
    return (struct hs_live_slot){((uint64_t)address >> 4) | (size << 52), (uint32_t)(size >> 12) | (stack << 12)};
}

static inline struct hs_live_entry slot_entry(const struct hs_live_slot *s) {
    return (struct hs_live_entry){(s->low & SLOT_ADDRESS_MASK) << 4, (s->low >> 52) | ((uint64_t)(s->high & 0xFFF) << 12),
                                  s->high >> 12, 0};
}

/* ---- the wide side table: full entries, linear probing with backward-shift deletion */

static struct hs_live_entry *wide_find(const struct hs_shard *sh, uint32_t domain, uintptr_t address, uint64_t hash) {
    if (!sh->wide_used) return NULL;
    size_t mask = sh->wide_capacity - 1;
    for (size_t i = hash & mask; sh->wide[i].address; i = (i + 1) & mask)
        if (sh->wide[i].address == address && sh->wide[i].domain == domain) return &sh->wide[i];
    return NULL;
}

static int grow_wide(struct hs_shard *sh) {
    size_t capacity = sh->wide_capacity ? sh->wide_capacity * 2 : 128;
    struct hs_live_entry *slots = hs_map(capacity * sizeof *slots);
    if (!slots) return -1;
    size_t mask = capacity - 1;
    for (size_t i = 0; i < sh->wide_capacity; i++) {
        struct hs_live_entry *e = &sh->wide[i];
        if (!e->address) continue;
        size_t j = live_hash(e->domain, e->address) & mask;
        while (slots[j].address) j = (j + 1) & mask;
        slots[j] = *e;
    }
    hs_unmap(sh->wide, sh->wide_capacity * sizeof *slots);
    sh->wide = slots;
    sh->wide_capacity = capacity;
    return 0;
}

static int wide_place(struct hs_shard *sh, struct hs_live_entry e) {
    if (((size_t)sh->wide_used + 1) * 4 > sh->wide_capacity * 3 && grow_wide(sh) != 0) return -1;
    size_t mask = sh->wide_capacity - 1;
    size_t i = live_hash(e.domain, e.address) & mask;
    while (sh->wide[i].address) i = (i + 1) & mask;
    sh->wide[i] = e;
    sh->wide_used++;
    return 0;
}

static void wide_delete(struct hs_shard *sh, struct hs_live_entry *e) {
    size_t mask = sh->wide_capacity - 1;
    size_t i = (size_t)(e - sh->wide);
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        struct hs_live_entry *next = &sh->wide[j];
        if (!next->address) break;
        size_t home = live_hash(next->domain, next->address) & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            sh->wide[i] = *next;
            i = j;
        }
    }
    sh->wide[i].address = 0;
    sh->wide_used--;
}

/* The block's figures leave its stack and the sum. */
static inline __attribute__((always_inline)) void forget(const struct hs_live_entry *e) {
    struct hs_weight weight = hs_weight_of(e->size);
    hs_stack_change(hs_stack_at(e->stack), -(int64_t)weight.bytes, -(int64_t)weight.count, false);
    atomic_fetch_sub_explicit(&hs_current_bytes, weight.bytes, memory_order_relaxed);
    if (hs_sampling()) hs_sample_filter_remove(e->domain, e->address);
}

/* A block pushed out of the compact table (its distance would not fit) moves to the wide one; if
 * that cannot grow, the block is forgotten: its free will count as untracked. */
static void move_to_wide(struct hs_shard *sh, const struct hs_live_slot *s) {
    struct hs_live_entry e = slot_entry(s);
    if (wide_place(sh, e) != 0) forget(&e);
}

/* ---- the compact table */

/* Places a block known to be absent (distance bits 0) at probe position i, displacing richer slots. */
static inline __attribute__((always_inline)) void compact_place(struct hs_shard *sh, struct hs_live_slot *slots, uint32_t capacity, uint32_t i,
                          uint64_t distance, struct hs_live_slot carried) {
    for (;; i = next_slot(i, capacity), distance++) {
        if (distance > SLOT_DISTANCE_MAX) {
            move_to_wide(sh, &carried);
            return;
        }
        struct hs_live_slot *s = &slots[i];
        if (!s->low) {
            carried.low |= distance << SLOT_DISTANCE_SHIFT;
            *s = carried;
            sh->used++;
            return;
        }
        uint64_t theirs = slot_distance(s);
        if (theirs < distance) {
            struct hs_live_slot displaced = *s;
            carried.low |= distance << SLOT_DISTANCE_SHIFT;
            *s = carried;
            carried = displaced;
            carried.low &= ~((uint64_t)0xFF << SLOT_DISTANCE_SHIFT);
            distance = theirs;
        }
    }
}

/* The slot holding the block at `address`, or UINT32_MAX. */
static inline uint32_t compact_find(const struct hs_shard *sh, uintptr_t address, uint64_t hash) {
    if (!sh->used) return UINT32_MAX;
    uint64_t key = (uint64_t)address >> 4;
    uint32_t capacity = sh->capacity;
    uint32_t i = home_of(hash, capacity);
    for (uint64_t distance = 0;; i = next_slot(i, capacity), distance++) {
        const struct hs_live_slot *s = &sh->slots[i];
        if (!s->low || slot_distance(s) < distance) return UINT32_MAX;
        if ((s->low & SLOT_ADDRESS_MASK) == key) return i;
    }
}

static inline void compact_delete(struct hs_shard *sh, uint32_t i) {
    uint32_t capacity = sh->capacity;
    for (;;) {
        uint32_t j = next_slot(i, capacity);
        struct hs_live_slot *next = &sh->slots[j];
        if (!next->low || slot_distance(next) == 0) break; /* empty, or at its home */
        sh->slots[i] = *next;
        sh->slots[i].low -= SLOT_DISTANCE_ONE;
        i = j;
    }
    sh->slots[i].low = 0;
    sh->used--;
}

static int grow_compact(struct hs_shard *sh) {
    if (sh->capacity >= MAX_COMPACT_CAPACITY) return -1;
    size_t bytes = (size_t)sh->capacity * sizeof(struct hs_live_slot);
    size_t grown = bytes + bytes / 4;
    if (grown < bytes + 4096) grown = bytes + 4096;
    grown = (grown + 4095) & ~(size_t)4095;
    uint32_t capacity = (uint32_t)(grown / sizeof(struct hs_live_slot));
    if (capacity > MAX_COMPACT_CAPACITY) capacity = MAX_COMPACT_CAPACITY;
    struct hs_live_slot *slots = hs_map((size_t)capacity * sizeof *slots);
    if (!slots) return -1;
    struct hs_live_slot *old = sh->slots;
    uint32_t old_capacity = sh->capacity;
    sh->used = 0;
    for (uint32_t i = 0; i < old_capacity; i++) {
        struct hs_live_slot s = old[i];
        if (!s.low) continue;
        s.low &= ~((uint64_t)0xFF << SLOT_DISTANCE_SHIFT);
        compact_place(sh, slots, capacity, home_of(live_hash(0, (uintptr_t)((s.low & SLOT_ADDRESS_MASK) << 4)), capacity), 0, s);
    }
    hs_unmap(old, (size_t)old_capacity * sizeof *slots);
    sh->slots = slots;
    sh->capacity = capacity;
    return 0;
}

/* ---- both tables */

/* Takes the block at (domain, address) out of whichever table holds it. */
static inline bool take(struct hs_shard *sh, uint32_t domain, uintptr_t address, uint64_t hash, struct hs_live_entry *out) {
    if (compact_address(domain, address)) {
        uint32_t i = compact_find(sh, address, hash);
        if (i != UINT32_MAX) {
            *out = slot_entry(&sh->slots[i]);
            compact_delete(sh, i);
            return true;
        }
    }
    struct hs_live_entry *e = wide_find(sh, domain, address, hash);
    if (!e) return false;
    *out = *e;
    wide_delete(sh, e);
    return true;
}

/* The line an insert of `address` will probe first, fetched while the caller unwinds: read without the
 * lock (a stale answer only fetches a useless line; a prefetch never faults). */
void hs_live_prefetch(uint32_t domain, uintptr_t address) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    struct hs_live_slot *slots = __atomic_load_n(&sh->slots, __ATOMIC_RELAXED);
    uint32_t capacity = __atomic_load_n(&sh->capacity, __ATOMIC_RELAXED);
    __builtin_prefetch(&slots[home_of(hash, capacity)], 1);
}

int hs_live_insert(uint32_t domain, uintptr_t address, uint64_t size, uint32_t stack_id, struct hs_stack *stack,
                   bool count_total) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    struct hs_weight weight = hs_weight_of(size); /* {size, 1} in exact mode */
    shard_lock(sh);
    if (compact_address(domain, address) && size <= COMPACT_MAX_SIZE && stack_id <= COMPACT_MAX_STACK &&
        ((uint64_t)(sh->used + 1) * COMPACT_LOAD_DENOMINATOR <= (uint64_t)sh->capacity * COMPACT_LOAD_NUMERATOR || grow_compact(sh) == 0)) {
        /* first out of the wide table if it was there (NULL at once when the side table is empty): the
         * placement below may push this very block there */
        struct hs_live_entry *e = wide_find(sh, 0, address, hash);
        if (e) {
            struct hs_live_entry old = *e;
            wide_delete(sh, e);
            forget(&old);
        }
        /* one probe finds the block if it is there (before any richer slot) or where it goes */
        uint64_t key = (uint64_t)address >> 4;
        uint32_t capacity = sh->capacity, i = home_of(hash, capacity);
        for (uint64_t distance = 0;; i = next_slot(i, capacity), distance++) {
            struct hs_live_slot *s = &sh->slots[i];
            if (s->low && (s->low & SLOT_ADDRESS_MASK) == key) {
                /* A block we missed the free of (freed while the guard was up): forget it first. */
                struct hs_live_entry old = slot_entry(s);
                forget(&old);
                struct hs_live_slot fresh = make_slot(address, size, stack_id);
                fresh.low |= distance << SLOT_DISTANCE_SHIFT;
                *s = fresh;
                break;
            }
            if (!s->low || slot_distance(s) < distance || distance == SLOT_DISTANCE_MAX) {
                compact_place(sh, sh->slots, capacity, i, distance, make_slot(address, size, stack_id));
                break;
            }
        }
    } else {
        struct hs_live_entry old;
        if (take(sh, domain, address, hash, &old)) forget(&old);
        if (wide_place(sh, (struct hs_live_entry){address, size, stack_id, domain}) != 0) {
            shard_unlock(sh);
            errno = ENOMEM;
            return -1;
        }
    }
    if (count_total) {
        sh->total_allocs++;
        sh->total_bytes += size;
    }
    if (hs_sampling()) hs_sample_filter_add(domain, address);
    /* the stack first, then the sum: a peak raised by the sum then includes this block */
    hs_stack_change(stack, (int64_t)weight.bytes, (int64_t)weight.count, count_total);
    uint64_t current = atomic_fetch_add_explicit(&hs_current_bytes, weight.bytes, memory_order_relaxed) + weight.bytes;
    hs_raise_peak(current);
    shard_unlock(sh);
    return 0;
}

bool hs_live_remove(uint32_t domain, uintptr_t address, struct hs_live_entry *removed, bool count_untracked) {
    if (hs_sampling()) {
        /* most blocks were never recorded, and such a free cannot be told from an untracked one */
        if (!hs_sample_maybe_live(domain, address)) return false;
        count_untracked = false;
    }
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    shard_lock(sh);
    if (!take(sh, domain, address, hash, removed)) {
        if (count_untracked) sh->untracked_frees++;
        shard_unlock(sh);
        return false;
    }
    forget(removed);
    shard_unlock(sh);
    return true;
}

bool hs_live_contains(uint32_t domain, uintptr_t address) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    shard_lock(sh);
    bool found = (compact_address(domain, address) && compact_find(sh, address, hash) != UINT32_MAX) ||
                 wide_find(sh, domain, address, hash) != NULL;
    shard_unlock(sh);
    return found;
}

void hs_count_untracked_free(uintptr_t address) {
    if (hs_sampling()) return; /* unrecorded blocks are the rule then */
    struct hs_shard *sh = shard_of(live_hash(0, address), address);
    shard_lock(sh);
    sh->untracked_frees++;
    shard_unlock(sh);
}

uint64_t hs_live_count(void) {
    uint64_t n = 0;
    for (int i = 0; i < HS_SHARDS; i++) n += hs_shards[i].used + hs_shards[i].wide_used;
    return n;
}

void hs_live_each(void (*each)(const struct hs_live_entry *block, void *context), void *context) {
    for (int i = 0; i < HS_SHARDS; i++) {
        struct hs_shard *sh = &hs_shards[i];
        for (uint32_t j = 0; j < sh->capacity; j++) {
            if (!sh->slots[j].low) continue;
            struct hs_live_entry e = slot_entry(&sh->slots[j]);
            each(&e, context);
        }
        for (size_t j = 0; j < sh->wide_capacity; j++)
            if (sh->wide[j].address) each(&sh->wide[j], context);
    }
}

void hs_lock_all_shards(void) {
    for (int i = 0; i < HS_SHARDS; i++) shard_lock(&hs_shards[i]);
}

void hs_unlock_all_shards(void) {
    for (int i = HS_SHARDS - 1; i >= 0; i--) shard_unlock(&hs_shards[i]);
}

/* The child of fork keeps its live blocks (they are really there) but starts its own totals. */
void hs_tables_after_fork_child(void) {
    pthread_mutex_init(&hs_stacks_append_lock, NULL);
    for (int i = 0; i < HS_SHARDS; i++) {
        atomic_store_explicit(&hs_shards[i].lock, 0, memory_order_relaxed);
        hs_shards[i].total_allocs = 0;
        hs_shards[i].total_bytes = 0;
        hs_shards[i].untracked_frees = 0;
    }
    uint32_t count = hs_stack_count();
    for (uint32_t id = 0; id < count; id++) {
        struct hs_stack *s = hs_stack_at(id);
        s->now.total_allocs = 0;
        s->now.total_bytes = 0;
        atomic_store_explicit(&s->temporary_allocs, 0, memory_order_relaxed);
    }
    hs_peak_after_fork_child();
    hs_sample_after_fork_child();
}
