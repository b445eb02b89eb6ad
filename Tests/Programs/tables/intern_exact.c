/* The stack table on its own (Sources/Track/tables.c), linked with the tracker's tables.c, peak.c,
 * memory.c and sample.c by TrackTablesTests (not by `make programs`): stacks of every depth from 1 to
 * 90 frames and many native/Python splits, each with variants that differ from it in exactly one
 * word. A lookup compares each path node by node from the record's depth alone (the cut of a path is
 * fixed), so every variant must get an id of its own, be found again by the same id, and read back
 * unchanged. Built with -DSTACK_HASH_DEPTH_ONLY (stacks of one depth then share a slot and a tag, so
 * the comparison alone tells them apart), it is run with a smaller MAX_DEPTH argument: the probes are
 * long. Exits 0 and prints "intern_exact: N stacks" when all hold.
 *
 * usage: intern_exact [MAX_DEPTH<=90] */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* what the tables need from the rest of the tracker */
struct hs_config hs_config = {.max_frames = 128};
void hs_warn(const char *what, const char *detail, int err) { (void)what, (void)detail, (void)err; }
pid_t hs_pid;
uint64_t hs_monotonic_ns(void) { return 0; }

#define MAX_DEPTH 90
#define MAX_STACKS 60000
static uintptr_t kept[MAX_STACKS][MAX_DEPTH];
static int depths[MAX_STACKS];
static uint32_t ids[MAX_STACKS];
static int failures;

static void fail(const char *what, int index) {
    if (failures++ < 10) fprintf(stderr, "intern_exact: %s (stack %d, depth %d)\n", what, index, depths[index]);
}

/* Interns a copy (the lookup may only read it) and checks the record reads back the same frames. */
static uint32_t intern(int index, bool truncated) {
    uintptr_t copy[MAX_DEPTH], back[MAX_DEPTH];
    int depth = depths[index];
    memcpy(copy, kept[index], (size_t)depth * sizeof *copy);
    struct hs_stack *s;
    uint32_t id = hs_intern(0, copy, depth, truncated, HS_STACK_HASH_START, 0, &s);
    if (id == UINT32_MAX || s != hs_stack_at(id)) {
        fail("interning failed", index);
        return id;
    }
    hs_stack_frames(s, back);
    if (s->depth != depth || memcmp(back, kept[index], (size_t)depth * sizeof *back) != 0) fail("frames read back differ", index);
    return id;
}

int main(int argc, char **argv) {
    int max_depth = argc > 1 ? atoi(argv[1]) : MAX_DEPTH, count = 0;
    if (max_depth < 1 || max_depth > MAX_DEPTH) return fprintf(stderr, "usage: intern_exact [MAX_DEPTH<=90]\n"), 2;
    for (int depth = 1; depth <= max_depth; depth++)
        for (int python = 0; python <= depth; python += depth > 24 ? 5 : 1) { /* the outer `python` frames are Python */
            for (int differs = -1; differs < depth; differs++) {      /* the word that differs, -1 none */
                if (count == MAX_STACKS) return fprintf(stderr, "intern_exact: too many stacks\n"), 2;
                uintptr_t *f = kept[count];
                for (int k = 0; k < depth; k++) {
                    f[k] = 0x400000 + (uintptr_t)(depth - k) * 0x40; /* outer frames shared by every stack */
                    if (k >= depth - python) f[k] |= HEAPSNAP_PYTHON_FRAME;
                }
                if (differs >= 0) f[differs] += 0x10 + (uintptr_t)depth * 0x100000 + (uintptr_t)python * 0x10000000;
                depths[count] = depth;
                ids[count] = intern(count, false);
                count++;
            }
        }
    /* all distinct (no two equal stacks were made): one id each, found again in another order */
    if (hs_stack_count() != (uint32_t)count) fail("stacks share ids", 0);
    for (int i = count - 1; i >= 0; i--)
        if (intern(i, false) != ids[i]) fail("found under another id", i);
    /* a truncated stack is another stack than its untruncated twin */
    for (int i = 0; i < count; i += 7)
        if (intern(i, true) == ids[i]) fail("truncated twin shares the id", i);
    if (failures) return 1;
    printf("intern_exact: %d stacks\n", count);
    return 0;
}
