/* The stack capture: the tracker's own x86-64 unwinder over each module's .eh_frame (eh_frame.c),
 * libunwind as its fallback, and HEAPSNAP_VERIFY_UNWIND's comparison of the two (unwind.c). */
#ifndef HEAPSNAP_UNWIND_H
#define HEAPSNAP_UNWIND_H

#include "internal.h"

/* One frame's rule, what the CFI says at a return address: the caller's stack pointer is the CFA,
 * its return address is at CFA - 8, its rbp saved at CFA + rbp_offset (0: rbp unchanged). */
struct hs_frame_rule {
    bool supported;    /* false: something the rules cannot express (expressions, signal frames, no FDE) */
    bool outermost;    /* the return address is undefined: the stack ends here */
    bool cfa_from_rbp; /* CFA = rbp + cfa_offset, else rsp + cfa_offset */
    int64_t cfa_offset;
    int64_t rbp_offset;
};

/* eh_frame.c: the rule at return address `pc` (looked up at pc - 1), from the module's
 * .eh_frame_hdr as _dl_find_object reports it. Never allocates, never locks. */
struct hs_frame_rule hs_eh_frame_rule(uintptr_t pc, const void *eh_frame_hdr);

/* Fills raw[0 .. max + 24) innermost first with return addresses; *skip = how many of them are the
 * tracker's own frames. Returns how many were written, 0 when no unwinder could run. `entry` is a
 * frame (frame pointer) of the tracker's on this thread's stack: the own unwinder starts at its
 * return address, libunwind from its own frame.
 * *hashed = how many leading words of raw *running covers (hs_stack_hash_step from HS_STACK_HASH_START,
 * internal.h): all of them from the own unwinder, 0 when libunwind's frames are returned. */
int hs_unwind(uintptr_t *raw, int max, int *skip, const uintptr_t *entry, uint64_t *running, int *hashed);

/* dlclose (modules.c): rules of the closing module must not outlive it. */
void hs_unwind_closing_begin(void);
void hs_unwind_closing_end(void);

/* The UNWIND section of a snapshot (Docs/FORMAT.md, tag 7). */
void hs_unwind_write_section(struct hs_writer *w);

#endif
