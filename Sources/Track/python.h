/* Python frames (python.c): the calling thread's CPython frame chain, read inside malloc without the
 * GIL and without calling into Python, and the copies of the code objects it names. */
#ifndef HEAPSNAP_PYTHON_H
#define HEAPSNAP_PYTHON_H

#include <stdbool.h>
#include <stdint.h>

struct hs_writer;

/* Escape hatch and benchmark switch: HEAPSNAP_PYTHON=0 records native frames only. */
#define HS_ENV_PYTHON "HEAPSNAP_PYTHON"

/* Python frames kept per stack (the native part has its own cap, max_frames). */
#define HS_PY_MAX_FRAMES 128

/* A Python frame in a stack's frames array (Docs/FORMAT.md, STACKS and PYTHON). */
#define HS_PY_FRAME_BIT (1ull << 63)
#define HS_PY_ENTRY_BIT (1ull << 62)
#define HS_PY_CODE_SHIFT 32
#define HS_PY_CODE_MAX ((1u << 30) - 1)
/* Instruction offset of a frame that has not run its first instruction yet (recorded only when it
 * is the only frame of its evaluation loop, so that loops and entry marks still pair up). */
#define HS_PY_OFFSET_NOT_STARTED 0xFFFFFFFFu

/* PYTHON section status */
enum hs_py_status {
    HS_PY_CAPTURING = 0,
    HS_PY_OFF_BY_SETTING = 1,   /* HEAPSNAP_PYTHON=0 */
    HS_PY_UNSUPPORTED = 2,      /* a version or build heapsnap cannot read */
    HS_PY_LAYOUT_MISMATCH = 3,  /* 3.13's debug offsets disagree with heapsnap's table */
    HS_PY_INCOMPLETE = 4,       /* a symbol heapsnap needs is missing */
};

/* From the constructor, outside malloc, with the guard up: reads HEAPSNAP_PYTHON and PYTHONMALLOC
 * and looks for an interpreter among the loaded modules. */
void hs_python_init(void);
/* Looks again (an interpreter dlopen'ed since); outside any tracker lock. */
void hs_python_refresh(void);
/* Appends the calling thread's Python frames (innermost first) to `out` (room for
 * HS_PY_MAX_FRAMES); returns how many; sets *truncated when the chain was cut. Inside malloc. */
int hs_python_frames(uint64_t *out, bool *truncated);

/* Writes the PYTHON section (header and payload) once an interpreter was found; nothing before. */
void hs_python_write_section(struct hs_writer *w, uint32_t tag);

void hs_python_before_fork(void);
void hs_python_after_fork_parent(void);
void hs_python_after_fork_child(void);

#endif
