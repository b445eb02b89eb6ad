/* The tracker's tables under load (Sources/Track/tables.c): many live blocks in both the compact and
 * the wide table, sizes above 16 MiB and 4 GiB, odd addresses, non-zero domains, address reuse and
 * replacement, deep stacks sharing long prefixes, and a fork child that inherits all of it.
 *
 * usage: track_tables blocks OUT EXPECTED   (EXPECTED: "domain address size" of every block it holds)
 *        track_tables reuse OUT
 *        track_tables deep OUT
 *        track_tables paths OUT
 *        track_tables fork OUT CHILD_OUT
 * Every figure is fixed by construction; Tests/TrackTests/TrackTablesTests.swift recomputes them. */
#include "track_common.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static int (*track)(unsigned, uintptr_t, size_t);
static int (*untrack)(unsigned, uintptr_t);
static volatile unsigned visited; /* written after each call, so no call is a tail call */

NOINLINE void *small_site(size_t n) { void *p = malloc(n); visited++; return p; }
NOINLINE void *large_site(size_t n) { void *p = malloc(n); visited++; return p; }
NOINLINE void huge_site(uintptr_t a, size_t n) { CHECK(track(0, a, n) == 0); visited++; }
NOINLINE void domain_site(unsigned d, uintptr_t a, size_t n) { CHECK(track(d, a, n) == 0); visited++; }
NOINLINE void *reuse_a(size_t n) { void *p = malloc(n); visited++; return p; }
NOINLINE void *reuse_b(size_t n) { void *p = malloc(n); visited++; return p; }
NOINLINE void replace_c(uintptr_t a, size_t n) { CHECK(track(0, a, n) == 0); visited++; }
NOINLINE void replace_d(uintptr_t a, size_t n) { CHECK(track(0, a, n) == 0); visited++; }
NOINLINE void replace_e(uintptr_t a, size_t n) { CHECK(track(0, a, n) == 0); visited++; }
NOINLINE void *child_site(size_t n) { void *p = malloc(n); visited++; return p; }

#define SMALL 150000
#define LARGE 20
#define HUGE 8
#define IN_DOMAIN 1000
#define ODD 10
#define GiB ((size_t)1 << 30)
#define MiB ((size_t)1 << 20)

static void *small[SMALL];
static void *large[LARGE];

/* Addresses nothing else can hold: a reserved, inaccessible range. */
static uintptr_t reserved(size_t size) {
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(p != MAP_FAILED);
    return (uintptr_t)p;
}

/* small: 150,000 blocks of 1 + i % 997 bytes, every third freed; large: 20 of 17 MiB + 16 i, the first
 * five freed; huge (domain 0, fake): 8 of 5 GiB + i, two untracked; domain 5: 1,000 blocks of 64 B at
 * the addresses of live small blocks, the first 100 untracked; domain 9: 10 of 7 GiB at odd addresses. */
static void make_blocks(FILE *expected) {
    for (int i = 0; i < SMALL; i++) CHECK((small[i] = small_site(1 + (size_t)i % 997)) != NULL);
    for (int i = 0; i < SMALL; i += 3) free(small[i]), small[i] = NULL;
    for (int i = 0; i < LARGE; i++) CHECK((large[i] = large_site(17 * MiB + 16 * (size_t)i)) != NULL);
    for (int i = 0; i < 5; i++) free(large[i]), large[i] = NULL;
    uintptr_t fake = reserved(1 << 20);
    for (int i = 0; i < HUGE; i++) huge_site(fake + 4096 * (uintptr_t)i, 5 * GiB + (size_t)i);
    CHECK(untrack(0, fake) == 0 && untrack(0, fake + 4096) == 0);
    for (int i = 0; i < IN_DOMAIN; i++) domain_site(5, (uintptr_t)small[3 * i + 1], 64);
    for (int i = 0; i < 100; i++) CHECK(untrack(5, (uintptr_t)small[3 * i + 1]) == 0);
    for (int i = 0; i < ODD; i++) domain_site(9, fake + 8192 * (uintptr_t)i + 1 + 2 * (uintptr_t)i, 7 * GiB);
    errno = 0;
    CHECK(untrack(9, fake + 1) == 0 && untrack(9, fake + 1) == -1 && errno == ENOENT);
    CHECK(untrack(5, (uintptr_t)small[1]) == -1 && errno == ENOENT); /* untracked above */
    if (!expected) return;
    for (int i = 0; i < SMALL; i++)
        if (small[i]) fprintf(expected, "0 %lu %lu\n", (unsigned long)(uintptr_t)small[i], 1 + (unsigned long)i % 997);
    for (int i = 5; i < LARGE; i++)
        fprintf(expected, "0 %lu %lu\n", (unsigned long)(uintptr_t)large[i], (unsigned long)(17 * MiB + 16 * (size_t)i));
    for (int i = 2; i < HUGE; i++)
        fprintf(expected, "0 %lu %lu\n", (unsigned long)(fake + 4096 * (uintptr_t)i), (unsigned long)(5 * GiB + (size_t)i));
    for (int i = 100; i < IN_DOMAIN; i++) fprintf(expected, "5 %lu 64\n", (unsigned long)(uintptr_t)small[3 * i + 1]);
    for (int i = 1; i < ODD; i++)
        fprintf(expected, "9 %lu %lu\n", (unsigned long)(fake + 8192 * (uintptr_t)i + 1 + 2 * (uintptr_t)i),
                (unsigned long)(7 * GiB));
}

static void blocks(const char *out, const char *expected_path) {
    FILE *expected = fopen(expected_path, "w"); /* opened first: its buffer is not among the blocks */
    CHECK(expected != NULL);
    make_blocks(expected);
    CHECK(fclose(expected) == 0);
    take_snapshot(out);
}

/* reuse_a and reuse_b take turns at the same address 1,000 times each; then one block of each is
 * kept. A block at p is then re-tracked by replace_c (300 B), replace_d (5 GiB: the wide table) and
 * replace_e (50 B: compact again); each replaces the previous one. */
static void reuse(const char *out) {
    void *first = NULL;
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        void *p = reuse_a(64);
        free(p);
        void *q = reuse_b(64);
        if (!first) first = q;
        same += q == first;
        free(q);
    }
    CHECK(same > 900); /* glibc's tcache hands the same address back */
    void *kept_a = reuse_a(64);
    free(kept_a);
    CHECK(reuse_b(64) != NULL);
    void *p = malloc(100);
    CHECK(p != NULL);
    replace_c((uintptr_t)p, 300);
    replace_d((uintptr_t)p, 5 * GiB);
    replace_e((uintptr_t)p, 50);
    take_snapshot(out);
}

/* 256 call paths 90 frames deep: the outer 82 levels are go_a on every path, the inner 8 pick go_a or
 * go_b by a bit of the path. The leaf keeps 1 + path % 3 blocks of 8 (path + 1) bytes. */
#define DEPTH 90
NOINLINE void leaf(unsigned path) {
    for (unsigned k = 0; k < 1 + path % 3; k++) CHECK(malloc(8 * (path + 1)) != NULL);
    visited++;
}
NOINLINE void go_a(int depth, unsigned path);
NOINLINE void go_b(int depth, unsigned path);
static void descend(int depth, unsigned path) {
    if (depth == 0) {
        leaf(path);
    } else if (depth - 1 < 8 && ((path >> (depth - 1)) & 1)) {
        go_b(depth - 1, path);
    } else {
        go_a(depth - 1, path);
    }
}
NOINLINE void go_a(int depth, unsigned path) { descend(depth, path); visited += 1; }
NOINLINE void go_b(int depth, unsigned path) { descend(depth, path); visited += 2; }

static void deep(const char *out) {
    for (unsigned path = 0; path < 256; path++) go_a(DEPTH, path);
    take_snapshot(out);
}

/* 4096 call paths 12 levels deep (path_a or path_b by each bit of the path), walked twice: the
 * stack table grows while the first pass interns them (a table grown rehashes every stack from its
 * stored frames), and the second pass must find each stack again, not intern a copy. Each leaf call
 * keeps one block of 16 (path % 5 + 1) bytes. */
#define PATH_BITS 12
NOINLINE void path_leaf(unsigned path) {
    CHECK(malloc(16 * (path % 5 + 1)) != NULL);
    visited++;
}
NOINLINE void path_a(int level, unsigned path);
NOINLINE void path_b(int level, unsigned path);
static void path_next(int level, unsigned path) {
    if (level == PATH_BITS) path_leaf(path);
    else if ((path >> level) & 1) path_b(level + 1, path);
    else path_a(level + 1, path);
}
NOINLINE void path_a(int level, unsigned path) { path_next(level, path); visited += 1; }
NOINLINE void path_b(int level, unsigned path) { path_next(level, path); visited += 2; }

static void paths(const char *out) {
    for (int pass = 0; pass < 2; pass++)
        for (unsigned path = 0; path < (1u << PATH_BITS); path++) path_a(0, path);
    take_snapshot(out);
}

/* The parent's blocks (make_blocks), then in the child: the small blocks at odd i freed, five large
 * ones freed, every domain-5 block untracked, 20 new blocks of 1000 B. */
static void fork_child(const char *out, const char *child_out) {
    make_blocks(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        for (int i = 1; i < SMALL; i += 2) free(small[i]); /* NULL for the ones freed already */
        for (int i = 5; i < 10; i++) free(large[i]);
        for (int i = 100; i < IN_DOMAIN; i++) CHECK(untrack(5, (uintptr_t)small[3 * i + 1]) == 0);
        for (int i = 0; i < 20; i++) CHECK(child_site(1000) != NULL);
        take_snapshot(child_out);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    take_snapshot(out);
}

int main(int argc, char **argv) {
    CHECK(argc >= 3);
    track = (int (*)(unsigned, uintptr_t, size_t))tracker_function("heapsnap_track");
    untrack = (int (*)(unsigned, uintptr_t))tracker_function("heapsnap_untrack");
    if (strcmp(argv[1], "blocks") == 0 && argc == 4) blocks(argv[2], argv[3]);
    else if (strcmp(argv[1], "reuse") == 0) reuse(argv[2]);
    else if (strcmp(argv[1], "deep") == 0) deep(argv[2]);
    else if (strcmp(argv[1], "paths") == 0) paths(argv[2]);
    else if (strcmp(argv[1], "fork") == 0 && argc == 4) fork_child(argv[2], argv[3]);
    else return 2;
    return 0;
}
