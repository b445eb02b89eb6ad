/* Where CPython keeps what the tracker reads, per minor version (x86-64 and aarch64, 64-bit, the
 * default GIL build). Numbers come from offsetof over each version's own headers; the test
 * PythonLayoutTests compiles tests/python_layout_check.c against every installed version's headers
 * and fails when one of these differs. 3.13 also publishes most of them at run time in
 * _PyRuntime.debug_offsets, which python.c compares with this table before trusting it. */
#ifndef HEAPSNAP_PYTHON_LAYOUT_H
#define HEAPSNAP_PYTHON_LAYOUT_H

#include <stdint.h>

struct hs_py_layout {
    uint32_t minor;              /* 11, 12, 13 */
    /* _PyRuntimeState: the autoTSSkey (Py_tss_t: int _is_initialized, pthread_key_t _key) */
    uint32_t runtime_tss_key;
    /* _PyRuntimeState.gilstate.autoInterpreterState, which 3.11's PyGILState_GetThisThreadState also
     * tests (NULL: no thread state); 0 = none (3.12+ test the key alone) */
    uint32_t runtime_auto_interpreter;
    /* PyThreadState -> innermost _PyInterpreterFrame: through tstate->cframe on 3.11/3.12
     * (tstate_cframe != 0), directly on 3.13 */
    uint32_t tstate_cframe;      /* 0 = no cframe indirection */
    uint32_t cframe_current;     /* _PyCFrame.current_frame, or PyThreadState.current_frame */
    /* _PyInterpreterFrame */
    uint32_t frame_code;         /* f_code / f_executable */
    uint32_t frame_previous;
    uint32_t frame_instr;        /* prev_instr / instr_ptr */
    uint32_t frame_owner;        /* char */
    uint32_t frame_is_entry;     /* bool, 3.11 only, the byte before frame_owner; 0 = none */
    /* PyCodeObject */
    uint32_t code_firstlineno;   /* int */
    uint32_t code_version;       /* uint32_t co_version, a per-creation counter (3.12+); 0 = none */
    uint32_t code_filename;
    uint32_t code_qualname;
    uint32_t code_linetable;
    uint32_t code_firsttraceable; /* int */
    uint32_t code_adaptive;      /* co_code_adaptive; at least HS_PY_CODE_MIN_BYTES (python.h) */
    /* str */
    uint32_t ascii_size;         /* sizeof(PyASCIIObject): data of compact ASCII strings */
    uint32_t compact_size;       /* sizeof(PyCompactUnicodeObject): data of other compact strings */
};

/* Same on every supported version: PyObject and PyVarObject heads, str and bytes fields. */
#define HS_PY_OB_TYPE 8
#define HS_PY_OB_SIZE 16
#define HS_PY_STR_LENGTH 16
#define HS_PY_STR_HASH 24
#define HS_PY_STR_STATE 32
#define HS_PY_BYTES_DATA 32
/* Py_tss_t._key, after the int _is_initialized */
#define HS_PY_TSS_KEY 4
/* _PyInterpreterFrame.owner */
#define HS_PY_OWNED_BY_GENERATOR 1
#define HS_PY_OWNED_BY_CSTACK 3

/* 3.13: byte offsets inside _Py_DebugOffsets (at the start of _PyRuntime) of the fields compared
 * with the table; each holds a u64 offset. */
#define HS_PY313_DBG_FREE_THREADED 16
#define HS_PY313_DBG_TSTATE_CURRENT_FRAME 184
#define HS_PY313_DBG_FRAME_PREVIOUS 232
#define HS_PY313_DBG_FRAME_EXECUTABLE 240
#define HS_PY313_DBG_FRAME_INSTR_PTR 248
#define HS_PY313_DBG_FRAME_OWNER 264
#define HS_PY313_DBG_CODE_FILENAME 280
#define HS_PY313_DBG_CODE_QUALNAME 296
#define HS_PY313_DBG_CODE_LINETABLE 304
#define HS_PY313_DBG_CODE_FIRSTLINENO 312
#define HS_PY313_DBG_CODE_ADAPTIVE 344
#define HS_PY313_DBG_OB_TYPE 360
#define HS_PY313_DBG_BYTES_SVAL 528
#define HS_PY313_DBG_UNICODE_STATE 544
#define HS_PY313_DBG_UNICODE_ASCII_SIZE 560

static const struct hs_py_layout hs_py_layouts[] = {
    {.minor = 11, .runtime_tss_key = 592, .runtime_auto_interpreter = 584, .tstate_cframe = 56, .cframe_current = 8,
     .frame_code = 32, .frame_previous = 48, .frame_instr = 56, .frame_owner = 69, .frame_is_entry = 68,
     .code_firstlineno = 72, .code_version = 0, .code_filename = 112, .code_qualname = 128,
     .code_linetable = 136, .code_firsttraceable = 168, .code_adaptive = 184,
     .ascii_size = 48, .compact_size = 72},
    {.minor = 12, .runtime_tss_key = 1544, .runtime_auto_interpreter = 0, .tstate_cframe = 56, .cframe_current = 0,
     .frame_code = 0, .frame_previous = 8, .frame_instr = 56, .frame_owner = 70, .frame_is_entry = 0,
     .code_firstlineno = 68, .code_version = 92, .code_filename = 112, .code_qualname = 128,
     .code_linetable = 136, .code_firsttraceable = 176, .code_adaptive = 192,
     .ascii_size = 40, .compact_size = 56},
    {.minor = 13, .runtime_tss_key = 2160, .runtime_auto_interpreter = 0, .tstate_cframe = 0, .cframe_current = 72,
     .frame_code = 0, .frame_previous = 8, .frame_instr = 56, .frame_owner = 70, .frame_is_entry = 0,
     .code_firstlineno = 68, .code_version = 92, .code_filename = 112, .code_qualname = 128,
     .code_linetable = 136, .code_firsttraceable = 184, .code_adaptive = 200,
     .ascii_size = 40, .compact_size = 56},
};

#endif
