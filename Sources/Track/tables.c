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
 * native frames, the likeliest to differ, are kept in the stack's record instead (internal.h), with
 * the ids of the native path's first two nodes and of the Python leaf (or, without Python frames,
 * the native path's third node), so that a lookup fetches those together.
 * Nodes are never changed or freed once published: readers walk them without a lock. */

#define NODE_FRAMES 7 /* node_differs and leaf_differs unroll this many */
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

/* Every path of n frames is cut the same way (path_add): its leaf holds the first leaf_frames(n),
 * every other node seven. So a lookup knows each node's share of the capture from the record's depth
 * alone: it reads no node's count and branches on no node's contents, and the fetches of the nodes
 * it can name before reading them (the record names three) start at once. */
/* (n - 1) / 7 for 0 < n <= 4096 (a path is at most HEAPSNAP_FRAMES_LIMIT + 24 or HEAPSNAP_PYTHON_MAX_FRAMES
 * frames), by a multiply: 2341 / 16384 is 1/7 plus less than 1/38000 */
static inline int nodes_above_leaf(int n) { return (int)(((uint32_t)n - 1) * 2341u >> 14); }
_Static_assert(NODE_FRAMES == 7, "nodes_above_leaf divides by 7");
static inline int leaf_frames(int n, int above) { return n - above * NODE_FRAMES; }

/* Comparisons give zero when the node's frames are the capture's, and are or'ed together: one test
 * per lookup at the end, none per node, as the words differ rarely (and runs of 1 to 7 words are too
 * short for a call to memcmp). */
static inline uintptr_t leaf_differs(const struct frame_node *leaf, const uintptr_t *ours, int count) {
    const uintptr_t *theirs = leaf->frames;
    uintptr_t differ = 0;
    switch (count) { /* 1..7, unrolled; from the record's depth, not the node's contents */
    case 7: differ |= theirs[6] ^ ours[6]; /* fall through */
    case 6: differ |= theirs[5] ^ ours[5]; /* fall through */
    case 5: differ |= theirs[4] ^ ours[4]; /* fall through */
    case 4: differ |= theirs[3] ^ ours[3]; /* fall through */
    case 3: differ |= theirs[2] ^ ours[2]; /* fall through */
    case 2: differ |= theirs[1] ^ ours[1]; /* fall through */
    default: differ |= theirs[0] ^ ours[0];
    }
    return differ;
}

static inline uintptr_t node_differs(const struct frame_node *node, const uintptr_t *ours) { /* a full node */
    const uintptr_t *theirs = node->frames;
    return (theirs[0] ^ ours[0]) | (theirs[1] ^ ours[1]) | (theirs[2] ^ ours[2]) | (theirs[3] ^ ours[3]) |
           (theirs[4] ^ ours[4]) | (theirs[5] ^ ours[5]) | (theirs[6] ^ ours[6]);
}

/* The nodes past `node` on its path against frames[at..n), reached through parent ids. */
static inline uintptr_t outer_differ(const struct frame_node *node, const uintptr_t *frames, int at, int n) {
    uintptr_t differ = 0;
    for (; at < n; at += NODE_FRAMES) {
        node = node_at(node->parent);
        differ |= node_differs(node, frames + at);
    }
    return differ;
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
#ifdef STACK_HASH_DEPTH_ONLY /* a test build: stacks of one depth collide, so the comparison alone tells them apart */
    running = HS_STACK_HASH_START;
#endif
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
_Static_assert(HS_STACK_INLINE_FRAMES == 3, "same_stack compares three inline frames at once");

static inline uint32_t python_leaf_of(const struct hs_stack *s) { return s->depth > s->native_depth ? s->third_node : HS_NO_NODE; }

void hs_stack_frames(const struct hs_stack *s, uintptr_t *out) {
    int n = inline_count(s->native_depth);
    memcpy(out, s->inline_frames, (size_t)n * sizeof *out);
    path_copy(python_leaf_of(s), path_copy(s->native_leaf, out + n));
}

/* Equal frames split at the same place, so the record's own split serves: no scan for the first
 * Python frame on a lookup. Out of line: inlined into table_find's probe loop, it ran out of
 * registers (gcc 12 reloaded the node pointers from the stack for every word). */
__attribute__((noinline)) static bool same_stack(const struct hs_stack *s, uint32_t domain, const uintptr_t *frames,
                                                 int depth, uint16_t flags) {
    if (s->domain != domain || s->depth != depth || s->flags != flags) return false;
    int native = s->native_depth, n = inline_count(native), rest = native - n, python = depth - native;
    /* The nodes' misses overlap each other and the check of the inline frames: the first two or three
     * native nodes are named by the record, so the comparison waits for one round of misses, not one
     * per node (the outer nodes, shared by many stacks, are mostly cached). */
    const struct frame_node *leaf = NULL, *parent = NULL, *grandparent = NULL, *python_leaf = NULL;
    int above = 0, first = 0;
    if (rest > 0) {
        leaf = node_at(s->native_leaf);
        __builtin_prefetch(leaf);
        above = nodes_above_leaf(rest);
        first = leaf_frames(rest, above);
        if (above > 0) {
            parent = node_at(s->native_parent);
            __builtin_prefetch(parent);
        }
        if (above > 1 && python == 0) {
            grandparent = node_at(s->third_node);
            __builtin_prefetch(grandparent);
        }
    }
    if (python > 0) {
        python_leaf = node_at(s->third_node);
        __builtin_prefetch(python_leaf);
    }
    uintptr_t differ = 0;
    if (n == HS_STACK_INLINE_FRAMES) /* nearly always */
        differ = (s->inline_frames[0] ^ frames[0]) | (s->inline_frames[1] ^ frames[1]) | (s->inline_frames[2] ^ frames[2]);
    else
        for (int k = 0; k < n; k++) differ |= s->inline_frames[k] ^ frames[k];
    if (rest > 0) {
        const uintptr_t *ours = frames + n;
        differ |= leaf_differs(leaf, ours, first);
        if (above > 0) differ |= node_differs(parent, ours + first);
        if (above > 1) {
            if (!grandparent) grandparent = node_at(parent->parent);
            differ |= node_differs(grandparent, ours + first + NODE_FRAMES) |
                      outer_differ(grandparent, ours, first + 2 * NODE_FRAMES, rest);
        }
    }
    if (python > 0) {
        int count = leaf_frames(python, nodes_above_leaf(python));
        differ |= leaf_differs(python_leaf, frames + native, count) | outer_differ(python_leaf, frames + native, count, python);
    }
    return differ == 0;
}

/* The id of (domain, frames) and its record in *out, or UINT32_MAX. */
static uint32_t table_find(struct intern_table *t, uint64_t hash, uint32_t domain, const uintptr_t *frames,
                           int depth, uint16_t flags, struct hs_stack **out) {
    if (!t) return UINT32_MAX;
    size_t mask = t->capacity - 1;
    uint32_t tag = slot_tag(hash);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t slot = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (slot == 0) return UINT32_MAX;
        if ((slot & ~SLOT_ID_MASK) != tag) continue;
        uint32_t id = (slot & SLOT_ID_MASK) - 1;
        struct hs_stack *s = hs_stack_at(id);
        if (s && same_stack(s, domain, frames, depth, flags)) {
            *out = s;
            return id;
        }
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
    uint32_t id = table_find(atomic_load_explicit(&intern_table, memory_order_acquire), hash, domain, frames, depth, flags, out);
    if (id != UINT32_MAX) return id;
    if (depth > (int)(HEAPSNAP_FRAMES_LIMIT + 24 + HEAPSNAP_PYTHON_MAX_FRAMES)) return UINT32_MAX; /* never: capture's bound */
    pthread_mutex_lock(&hs_stacks_append_lock);
    struct intern_table *t = atomic_load_explicit(&intern_table, memory_order_relaxed);
    id = table_find(t, hash, domain, frames, depth, flags, out);
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
    s->native_parent = native_leaf != HS_NO_NODE ? node_at(native_leaf)->parent : HS_NO_NODE;
    if (depth > native) s->third_node = python_leaf;
    else s->third_node = s->native_parent != HS_NO_NODE ? node_at(s->native_parent)->parent : HS_NO_NODE;
    /* unlocked, and older than any peak: the first change saves the (empty) figures */
    atomic_store_explicit(&s->lock_and_generation, HS_STACK_GENERATION_NONE, memory_order_relaxed);
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
 * x86-64 and aarch64), smaller than 16 MiB: those take one 12-byte slot of the shard's compact table.
 * The rest (the heapsnap_track domains, odd addresses, huge sizes) go to the shard's wide table of
 * full entries, empty and unmapped in most processes; a block is in one of the two.
 *
 * The compact table is an array of 64-byte chunks, one cache line each (F14's layout): a 4-byte
 * header and five slots. The header holds a 4-bit tag per slot (0 = empty, else 8 and three bits of
 * the block's hash) and the chunk's overflow count: how many blocks whose home is this chunk or an
 * earlier one went past it because it was full. A block goes to the first chunk with a free slot
 * from its home on, adding one to the overflow count of every chunk it passes; a lookup compares the
 * home chunk's five tags at once and goes on to the next chunk only while the overflow count says
 * some block went past. A delete clears the slot's tag and takes the block off the overflow counts
 * it raised: no other slot moves (Robin Hood shifted a run back on every delete). So an insert, a
 * lookup and a delete read one line, nearly always. A chunk's home is the hash's bits 29..60 scaled
 * to the number of chunks, which can be any: tables grow by a quarter (whole pages) beyond three
 * quarters full, so a block costs 17 to 21 bytes (at four fifths, churn's inserts found an
 * overflowed home chunk one time in three, and cost 38 instructions more per allocation). A block
 * more than CHUNK_PROBE_MAX chunks past its home goes to the wide table. */

/* address >> 4 (44 bits) | size bits 0..19 (20); size bits 20..23 (4) | stack (28) */
struct hs_live_slot {
    uint64_t low;
    uint32_t high;
} __attribute__((packed));

#define CHUNK_SLOTS 5
#define TAGS_MASK 0xFFFFFu          /* five 4-bit tags, slot k at bits 4k..4k+3 */
#define NIBBLES_LOW 0x11111u        /* the lowest bit of each tag */
#define NIBBLES_HIGH 0x88888u       /* the highest bit of each tag: set in a slot that holds a block */
#define OVERFLOW_SHIFT 20
#define OVERFLOW_ONE (1u << OVERFLOW_SHIFT)
#ifndef OVERFLOW_MAX /* a test build sets it low to saturate counts */
#define OVERFLOW_MAX 0xFFFu         /* sticky: a saturated count is never lowered, lookups go on */
#endif
struct hs_live_chunk {
    uint32_t header;                /* tags (0 = empty, else 8 | 3 hash bits) | overflow count << OVERFLOW_SHIFT */
    struct hs_live_slot slots[CHUNK_SLOTS];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct hs_live_chunk) == 64, "a chunk is one cache line");

#define SLOT_ADDRESS_MASK ((UINT64_C(1) << 44) - 1)
#ifndef CHUNK_PROBE_MAX /* a test build sets it low to drive blocks into the wide table */
#define CHUNK_PROBE_MAX 255u
#endif
#define COMPACT_MAX_SIZE ((UINT64_C(1) << 24) - 1)
#define COMPACT_MAX_STACK ((UINT32_C(1) << 28) - 1)
#define MAX_COMPACT_CHUNKS ((uint32_t)1 << 26)
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

/* ---- alone and shared
 *
 * While one thread at a time changes the tables, the figures outside the shards (each stack's
 * counters, hs_current_bytes, hs_peak_bytes, hs_peak_generation) need no read-modify-write: the
 * owner uses relaxed loads and stores, and skips the stack's spin lock. `tables_owner.owner` says who:
 * OWNER_NONE before the first change, the token of the owning thread (alone), or OWNER_SHARED for good.
 * A thread that finds another owner takes the tables over, up to OWNER_HANDOFFS times in the
 * process's life (a main thread that sets up, then one worker that does the work, then the main
 * thread again that tidies up); the next time they become shared: threads that take turns all the
 * time would pay more for the handovers (every shard lock, twice) than they save.
 *
 * Why that is safe. Every change to those figures happens inside a shard's critical section, and each
 * critical section reads the owner just after taking its lock and keeps the answer to its end. The
 * owner goes NONE -> token by a compare-and-swap (of two first threads, one wins and the other hands
 * over), and token -> another token or SHARED only while the thread that changes it holds every
 * shard lock (it gives up its own first, so it takes them in hs_lock_all_shards' order, as a snapshot
 * does). So no critical section runs during a handover, and the old owner's relaxed stores happen
 * before the new owner's first change (the old owner's unlock of a shard, the new owner's lock of
 * every shard); every critical section after it takes a lock released after the store and reads the
 * new owner. A thread reads its own token only if it stored it and no handover came since (tokens
 * are never reused: a thread that exits does not hand its tables to a new one unseen); one that reads
 * anything else goes the slow way and changes nothing before it owns the tables or they are shared.
 * Readers that hold every shard lock (snapshots, the peak reset) see the owner's stores through the
 * same locks; readers without a lock (heapsnap_get_traced_memory) read atomics stored whole, as fresh
 * as a relaxed load gives in shared mode. A fork child has one thread: it starts with no owner and
 * its own handovers. */
#define OWNER_NONE UINT64_MAX
#define OWNER_SHARED (UINT64_MAX - 1)
#define OWNER_HANDOFFS 8u
static struct {
    _Atomic uint64_t owner;
    _Atomic uint64_t tokens; /* handed out, from 1 */
    uint32_t handoffs;       /* under every shard lock */
} __attribute__((aligned(64))) tables_owner = {OWNER_NONE, 0, 0};
static __thread uint64_t thread_token __attribute__((tls_model("initial-exec"))); /* 0 = none yet */

/* With `sh` locked by a thread that is not the owner: claims the tables if nobody changed them yet,
 * takes them over or makes them shared (relocking `sh` meanwhile). True when this thread owns them. */
__attribute__((noinline, cold)) static bool claim_tables(struct hs_shard *sh) {
    if (!thread_token) thread_token = atomic_fetch_add_explicit(&tables_owner.tokens, 1, memory_order_relaxed) + 1;
    for (;;) {
        uint64_t owner = OWNER_NONE;
        if (atomic_compare_exchange_strong_explicit(&tables_owner.owner, &owner, thread_token, memory_order_relaxed,
                                                    memory_order_relaxed) ||
            owner == thread_token)
            return true;
        if (owner == OWNER_SHARED) return false;
        shard_unlock(sh);
        hs_lock_all_shards();
        if (atomic_load_explicit(&tables_owner.owner, memory_order_relaxed) != OWNER_SHARED)
            atomic_store_explicit(&tables_owner.owner, ++tables_owner.handoffs > OWNER_HANDOFFS ? OWNER_SHARED : thread_token,
                                  memory_order_relaxed);
        hs_unlock_all_shards();
        shard_lock(sh);
        /* another thread may have taken them over since: then again (each round counts a handover) */
    }
}

/* Just after taking `sh`, before any change: whether this thread has the tables alone. */
static inline bool tables_alone(struct hs_shard *sh) {
    uint64_t owner = atomic_load_explicit(&tables_owner.owner, memory_order_relaxed);
    if (__builtin_expect(owner == thread_token, 1)) return true;
    if (__builtin_expect(owner == OWNER_SHARED, 1)) return false;
    return claim_tables(sh);
}

/* ---- hashing
 *
 * One multiplication: its high bits depend on every address bit. The top 3 pick the shard within its
 * group (shard_of), bits 29..60 the home chunk, bits 25..27 the tag. (A full mix, 6 instructions
 * more, spread churn's blocks no better over the chunks and cost 27 instructions per allocation.) The
 * rare wide table, which indexes by low bits, mixes its own. */
static inline uint64_t live_hash(uint32_t domain, uintptr_t address) {
    return ((uint64_t)address ^ (uint64_t)domain << 48) * 0x9E3779B97F4A7C15ull;
}

/* glibc gives each thread an arena of its own, in 64 MiB-aligned heaps: picking a group of 8 shards
 * from the address's 64 MiB region keeps a thread's blocks mostly in "its" shards, so two threads
 * rarely bounce the same lock and table lines between cores. Within the group, the block's hash
 * spreads the load. */
static inline struct hs_shard *shard_of(uint64_t hash, uintptr_t address) {
    uint64_t region = ((uint64_t)address >> 26) * 0x9E3779B97F4A7C15ull;
    return &hs_shards[((region >> 59) << 3) | (hash >> 61)];
}

static inline bool compact_address(uint32_t domain, uintptr_t address) {
    return ((uint64_t)address & 0xFFFF00000000000Full) == 0 && domain == 0;
}

static inline uint32_t home_of(uint64_t hash, uint32_t chunks) {
    return (uint32_t)((((hash >> 29) & 0xFFFFFFFFu) * chunks) >> 32);
}

static inline uint32_t tag_of(uint64_t hash) { return 8 | ((uint32_t)(hash >> 25) & 7); }

static inline uint32_t next_chunk(uint32_t i, uint32_t chunks) { return i + 1 == chunks ? 0 : i + 1; }

/* The high bit of each tag of the header equal to `tag`, and maybe of some above such a one (the
 * borrow of the zero-nibble test): a match is checked against the address anyway. */
static inline uint32_t tags_equal(uint32_t header, uint32_t tag) {
    uint32_t x = header ^ tag * NIBBLES_LOW;
    return (x - NIBBLES_LOW) & ~x & NIBBLES_HIGH;
}
static inline uint32_t free_slots(uint32_t header) { return ~header & NIBBLES_HIGH; }
static inline uint32_t taken_slots(uint32_t header) { return header & NIBBLES_HIGH; }
static inline uint32_t slot_of(uint32_t bits) { return (uint32_t)__builtin_ctz(bits) >> 2; }

static inline struct hs_live_slot make_slot(uintptr_t address, uint64_t size, uint32_t stack) {
    return (struct hs_live_slot){((uint64_t)address >> 4) | (size << 44), (uint32_t)(size >> 20) | (stack << 4)};
}

static inline struct hs_live_entry slot_entry(const struct hs_live_slot *s) {
    return (struct hs_live_entry){(s->low & SLOT_ADDRESS_MASK) << 4, (s->low >> 44) | ((uint64_t)(s->high & 15) << 20),
                                  s->high >> 4, 0};
}

/* ---- the wide side table: full entries, linear probing with backward-shift deletion */

static inline size_t wide_home(uint32_t domain, uintptr_t address, size_t mask) {
    return mix((uint64_t)address ^ ((uint64_t)domain << 47) ^ ((uint64_t)domain >> 17)) & mask;
}

static struct hs_live_entry *wide_find(const struct hs_shard *sh, uint32_t domain, uintptr_t address) {
    if (!sh->wide_used) return NULL;
    size_t mask = sh->wide_capacity - 1;
    for (size_t i = wide_home(domain, address, mask); sh->wide[i].address; i = (i + 1) & mask)
        if (sh->wide[i].address == address && sh->wide[i].domain == domain) return &sh->wide[i];
    return NULL;
}

static int grow_wide(struct hs_shard *sh) {
    if (sh->wide_capacity >= (uint32_t)1 << 31) return -1;
    uint32_t capacity = sh->wide_capacity ? sh->wide_capacity * 2 : 128;
    struct hs_live_entry *slots = hs_map(capacity * sizeof *slots);
    if (!slots) return -1;
    size_t mask = capacity - 1;
    for (size_t i = 0; i < sh->wide_capacity; i++) {
        struct hs_live_entry *e = &sh->wide[i];
        if (!e->address) continue;
        size_t j = wide_home(e->domain, e->address, mask);
        while (slots[j].address) j = (j + 1) & mask;
        slots[j] = *e;
    }
    hs_unmap(sh->wide, (size_t)sh->wide_capacity * sizeof *slots);
    sh->wide = slots;
    sh->wide_capacity = capacity;
    return 0;
}

static int wide_place(struct hs_shard *sh, struct hs_live_entry e) {
    if (((size_t)sh->wide_used + 1) * 4 > (size_t)sh->wide_capacity * 3 && grow_wide(sh) != 0) return -1;
    size_t mask = sh->wide_capacity - 1;
    size_t i = wide_home(e.domain, e.address, mask);
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
        size_t home = wide_home(next->domain, next->address, mask);
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
static inline __attribute__((always_inline)) void forget(const struct hs_live_entry *e, bool alone) {
    struct hs_weight weight = hs_weight_of(e->size);
    hs_stack_change(hs_stack_at(e->stack), -(int64_t)weight.bytes, -(int64_t)weight.count, false, alone);
    hs_sum_sub(weight.bytes, alone);
    if (hs_sampling()) hs_sample_filter_remove(e->domain, e->address);
}

/* A block that found no room in the compact table moves to the wide one; if that cannot grow, the
 * block is forgotten: its free will count as untracked. */
static void move_to_wide(struct hs_shard *sh, const struct hs_live_slot *s, bool alone) {
    struct hs_live_entry e = slot_entry(s);
    if (wide_place(sh, e) != 0) forget(&e, alone);
}

/* ---- the compact table */

/* Puts a block known to be absent in the first chunk with room from its home on; false when none
 * within CHUNK_PROBE_MAX has (the caller moves it to the wide table). */
static bool compact_place(struct hs_live_chunk *chunks, uint32_t count, uint64_t hash, struct hs_live_slot s) {
    uint32_t home = home_of(hash, count), reach = count - 1 < CHUNK_PROBE_MAX ? count - 1 : CHUNK_PROBE_MAX;
    uint32_t i = home;
    for (uint32_t distance = 0;; distance++, i = next_chunk(i, count)) {
        struct hs_live_chunk *c = &chunks[i];
        uint32_t room = free_slots(c->header);
        if (room) {
            uint32_t k = slot_of(room);
            c->slots[k] = s;
            c->header |= tag_of(hash) << (4 * k);
            for (uint32_t j = home; j != i; j = next_chunk(j, count)) /* the full chunks it went past */
                if ((chunks[j].header >> OVERFLOW_SHIFT) != OVERFLOW_MAX) chunks[j].header += OVERFLOW_ONE;
            return true;
        }
        if (distance == reach) return false;
    }
}

/* The chunk holding the block with address >> 4 == key (its slot in *slot), or NULL, looking from
 * chunk i on: chunk i's caller knows the block is not in the chunks before. A run of overflowed
 * chunks ends within CHUNK_PROBE_MAX of every block in it, but runs can join: the walk stops at the
 * first chunk nothing went past (or after all of them, if saturated counts fill the table). */
static inline struct hs_live_chunk *compact_find_from(const struct hs_shard *sh, uint32_t i, uint64_t key,
                                                      uint32_t tag, uint32_t *slot) {
    uint32_t count = sh->capacity;
    for (uint32_t left = count;;) {
        struct hs_live_chunk *c = &sh->chunks[i];
        uint32_t header = c->header;
        for (uint32_t match = tags_equal(header, tag); match; match &= match - 1) {
            uint32_t k = slot_of(match);
            if ((c->slots[k].low & SLOT_ADDRESS_MASK) == key) {
                *slot = k;
                return c;
            }
        }
        if (!(header >> OVERFLOW_SHIFT) || --left == 0) return NULL;
        i = next_chunk(i, count);
    }
}

static inline struct hs_live_chunk *compact_find(const struct hs_shard *sh, uint64_t key, uint64_t hash, uint32_t *slot) {
    if (!sh->capacity) return NULL;
    return compact_find_from(sh, home_of(hash, sh->capacity), key, tag_of(hash), slot);
}

/* The chunk an insert or a free of `address` will probe first, fetched ahead (an insert: while the
 * caller unwinds; a free: beside the block's own header, which glibc reads next): read without
 * the lock (a stale answer only fetches a useless line; a prefetch never faults). */
void hs_live_prefetch(uint32_t domain, uintptr_t address) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    struct hs_live_chunk *chunks = __atomic_load_n(&sh->chunks, __ATOMIC_RELAXED);
    uint32_t capacity = __atomic_load_n(&sh->capacity, __ATOMIC_RELAXED);
    __builtin_prefetch(&chunks[home_of(hash, capacity)], 1);
}

/* A block stored `at` chunks past `home` is gone: it no longer overflows the chunks in between. */
__attribute__((noinline)) static void lower_overflow(struct hs_shard *sh, uint32_t home, uint32_t at) {
    for (uint32_t j = home; j != at; j = next_chunk(j, sh->capacity))
        if ((sh->chunks[j].header >> OVERFLOW_SHIFT) != OVERFLOW_MAX) sh->chunks[j].header -= OVERFLOW_ONE;
}

/* Empties slot k of chunk c, the block's, and takes the block off the overflow counts it raised. */
static inline void compact_delete(struct hs_shard *sh, struct hs_live_chunk *c, uint32_t k, uint64_t hash) {
    c->header &= ~(15u << (4 * k));
    sh->used--;
    uint32_t home = home_of(hash, sh->capacity), at = (uint32_t)(c - sh->chunks);
    if (__builtin_expect(at != home, 0)) lower_overflow(sh, home, at);
}

static int grow_compact(struct hs_shard *sh, bool alone) {
    if (sh->capacity >= MAX_COMPACT_CHUNKS) return -1;
    size_t bytes = (size_t)sh->capacity * sizeof(struct hs_live_chunk);
    size_t grown = bytes + bytes / 4;
    if (grown < bytes + 4096) grown = bytes + 4096;
    grown = (grown + 4095) & ~(size_t)4095;
    uint32_t count = (uint32_t)(grown / sizeof(struct hs_live_chunk));
    if (count > MAX_COMPACT_CHUNKS) count = MAX_COMPACT_CHUNKS;
    struct hs_live_chunk *chunks = hs_map((size_t)count * sizeof *chunks);
    if (!chunks) return -1;
    struct hs_live_chunk *old = sh->chunks;
    uint32_t old_count = sh->capacity;
    sh->used = 0;
    for (uint32_t i = 0; i < old_count; i++) {
        for (uint32_t taken = taken_slots(old[i].header); taken; taken &= taken - 1) {
            const struct hs_live_slot *s = &old[i].slots[slot_of(taken)];
            uint64_t hash = live_hash(0, (uintptr_t)((s->low & SLOT_ADDRESS_MASK) << 4));
            if (compact_place(chunks, count, hash, *s)) sh->used++;
            else move_to_wide(sh, s, alone);
        }
    }
    hs_unmap(old, (size_t)old_count * sizeof *chunks);
    sh->chunks = chunks;
    sh->capacity = count;
    sh->limit = (uint32_t)((uint64_t)count * CHUNK_SLOTS * COMPACT_LOAD_NUMERATOR / COMPACT_LOAD_DENOMINATOR);
    return 0;
}

/* ---- both tables */

/* Takes the block at (domain, address) out of the wide table. */
__attribute__((noinline)) static bool take_wide(struct hs_shard *sh, uint32_t domain, uintptr_t address,
                                                struct hs_live_entry *out) {
    struct hs_live_entry *e = wide_find(sh, domain, address);
    if (!e) return false;
    *out = *e;
    wide_delete(sh, e);
    return true;
}

/* Takes the block at (domain, address) out of whichever table holds it. */
static inline __attribute__((always_inline)) bool take(struct hs_shard *sh, uint32_t domain, uintptr_t address,
                                                       uint64_t hash, struct hs_live_entry *out) {
    uint32_t k;
    struct hs_live_chunk *c;
    if (__builtin_expect(compact_address(domain, address), 1) &&
        __builtin_expect((c = compact_find(sh, (uint64_t)address >> 4, hash, &k)) != NULL, 1)) {
        *out = slot_entry(&c->slots[k]);
        compact_delete(sh, c, k, hash);
        return true;
    }
    return take_wide(sh, domain, address, out);
}

/* An insert finds the block's address in the wide table (a block whose free we missed, freed while
 * the guard was up): it leaves, forgotten. */
__attribute__((noinline)) static void drop_wide_duplicate(struct hs_shard *sh, uintptr_t address, bool alone) {
    struct hs_live_entry old;
    if (take_wide(sh, 0, address, &old)) forget(&old, alone);
}

/* Whether an insert may use the compact table as it is: a compact block, and the table below its
 * growth limit. */
static inline bool compact_fits(struct hs_shard *sh, uint32_t domain, uintptr_t address, uint64_t size, uint32_t stack_id) {
    return compact_address(domain, address) && size <= COMPACT_MAX_SIZE && stack_id <= COMPACT_MAX_STACK &&
           sh->used < sh->limit;
}

/* Everything an insert does to the tables but hs_live_insert's quick case: 0, or -1 when the wide
 * table cannot grow. */
__attribute__((noinline)) static int insert_other(struct hs_shard *sh, uint32_t domain, uintptr_t address, uint64_t size,
                                                  uint32_t stack_id, uint64_t hash, bool alone) {
    if (compact_fits(sh, domain, address, size, stack_id) ||
        (compact_address(domain, address) && size <= COMPACT_MAX_SIZE && stack_id <= COMPACT_MAX_STACK &&
         grow_compact(sh, alone) == 0)) {
        struct hs_live_slot fresh = make_slot(address, size, stack_id);
        /* first out of the wide table if it was there: a block whose free we missed (freed while the
         * guard was up), as the one the compact table may still hold */
        struct hs_live_entry old;
        if (sh->wide_used && take_wide(sh, 0, address, &old)) forget(&old, alone);
        uint32_t k;
        struct hs_live_chunk *c = compact_find(sh, (uint64_t)address >> 4, hash, &k);
        if (c) {
            old = slot_entry(&c->slots[k]);
            forget(&old, alone);
            c->slots[k] = fresh;
        } else if (compact_place(sh->chunks, sh->capacity, hash, fresh)) {
            sh->used++;
        } else {
            move_to_wide(sh, &fresh, alone);
        }
        return 0;
    }
    struct hs_live_entry old;
    if (take(sh, domain, address, hash, &old)) forget(&old, alone);
    return wide_place(sh, (struct hs_live_entry){address, size, stack_id, domain});
}

int hs_live_insert(uint32_t domain, uintptr_t address, uint64_t size, uint32_t stack_id, struct hs_stack *stack,
                   bool count_total) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    struct hs_weight weight = hs_weight_of(size); /* {size, 1} in exact mode */
    shard_lock(sh);
    bool alone = tables_alone(sh);
    /* The quick case: a compact block with room in the table, into its home chunk if that has room,
     * once sure the block is not there already (a missed free), nor further on if blocks went past
     * the home chunk, nor in the wide table. */
    uint32_t tag = tag_of(hash), header, room, home, k;
    struct hs_live_chunk *c;
    if (__builtin_expect(compact_fits(sh, domain, address, size, stack_id), 1) &&
        __builtin_expect((room = free_slots(header = (c = &sh->chunks[home = home_of(hash, sh->capacity)])->header)) != 0, 1) &&
        __builtin_expect(!((header >> OVERFLOW_SHIFT) || tags_equal(header, tag)) ||
                             !compact_find_from(sh, home, (uint64_t)address >> 4, tag, &k), 1)) {
        if (__builtin_expect(sh->wide_used != 0, 0)) drop_wide_duplicate(sh, address, alone);
        k = slot_of(room);
        c->slots[k] = make_slot(address, size, stack_id);
        c->header = header | tag << (4 * k);
        sh->used++;
    } else if (__builtin_expect(insert_other(sh, domain, address, size, stack_id, hash, alone) != 0, 0)) {
        shard_unlock(sh);
        errno = ENOMEM;
        return -1;
    }
    if (count_total) {
        sh->total_allocs++;
        sh->total_bytes += size;
    }
    if (hs_sampling()) hs_sample_filter_add(domain, address);
    /* the stack first, then the sum: a peak raised by the sum then includes this block */
    hs_stack_change(stack, (int64_t)weight.bytes, (int64_t)weight.count, count_total, alone);
    hs_raise_peak(hs_sum_add(weight.bytes, alone), alone);
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
    bool alone = tables_alone(sh);
    if (!take(sh, domain, address, hash, removed)) {
        if (count_untracked) sh->untracked_frees++;
        shard_unlock(sh);
        return false;
    }
    forget(removed, alone);
    shard_unlock(sh);
    return true;
}

bool hs_live_contains(uint32_t domain, uintptr_t address) {
    uint64_t hash = live_hash(domain, address);
    struct hs_shard *sh = shard_of(hash, address);
    shard_lock(sh);
    uint32_t k;
    bool found = (compact_address(domain, address) && compact_find(sh, (uint64_t)address >> 4, hash, &k) != NULL) ||
                 wide_find(sh, domain, address) != NULL;
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
            const struct hs_live_chunk *c = &sh->chunks[j];
            for (uint32_t taken = taken_slots(c->header); taken; taken &= taken - 1) {
                struct hs_live_entry e = slot_entry(&c->slots[slot_of(taken)]);
                each(&e, context);
            }
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

/* The child of fork keeps its live blocks (they are really there) but starts its own totals, and its
 * own owner of the tables. */
void hs_tables_after_fork_child(void) {
    pthread_mutex_init(&hs_stacks_append_lock, NULL);
    atomic_store_explicit(&tables_owner.owner, OWNER_NONE, memory_order_relaxed);
    tables_owner.handoffs = 0;
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
