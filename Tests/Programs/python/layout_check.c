/* Compiled by PythonFramesTests against each installed CPython's own headers: every offset in the
 * tracker's table (Sources/Track/python_layout.h) must equal offsetof in the real structures. Prints
 * one line per mismatch and exits 1; prints "ok 3.X" otherwise. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_runtime.h>
#include <stdio.h>

#include "python_layout.h"

static int failures;

static void check(const char *what, size_t table, size_t real) {
    if (table != real) {
        printf("%s: table says %zu, the headers say %zu\n", what, table, real);
        failures++;
    }
}

int main(void) {
    const struct hs_py_layout *L = NULL;
    for (size_t i = 0; i < sizeof hs_py_layouts / sizeof hs_py_layouts[0]; i++)
        if (hs_py_layouts[i].minor == PY_MINOR_VERSION) L = &hs_py_layouts[i];
    if (!L) {
        printf("no table for 3.%d\n", PY_MINOR_VERSION);
        return 1;
    }
#if PY_VERSION_HEX < 0x030c0000
    check("runtime_tss_key", L->runtime_tss_key, offsetof(_PyRuntimeState, gilstate.autoTSSkey));
    check("runtime_auto_interpreter", L->runtime_auto_interpreter, offsetof(_PyRuntimeState, gilstate.autoInterpreterState));
#else
    check("runtime_auto_interpreter", L->runtime_auto_interpreter, 0);
    check("runtime_tss_key", L->runtime_tss_key, offsetof(_PyRuntimeState, autoTSSkey));
#endif
#if PY_VERSION_HEX < 0x030d0000
    check("tstate_cframe", L->tstate_cframe, offsetof(PyThreadState, cframe));
    check("cframe_current", L->cframe_current, offsetof(_PyCFrame, current_frame));
    check("frame_code", L->frame_code, offsetof(_PyInterpreterFrame, f_code));
    check("frame_instr", L->frame_instr, offsetof(_PyInterpreterFrame, prev_instr));
#else
    check("tstate_cframe", L->tstate_cframe, 0);
    check("cframe_current", L->cframe_current, offsetof(PyThreadState, current_frame));
    check("frame_code", L->frame_code, offsetof(_PyInterpreterFrame, f_executable));
    check("frame_instr", L->frame_instr, offsetof(_PyInterpreterFrame, instr_ptr));
#endif
    check("frame_previous", L->frame_previous, offsetof(_PyInterpreterFrame, previous));
    check("frame_owner", L->frame_owner, offsetof(_PyInterpreterFrame, owner));
    check("sizeof owner", 1, sizeof(((_PyInterpreterFrame *)0)->owner));
#if PY_VERSION_HEX < 0x030c0000
    check("frame_is_entry", L->frame_is_entry, offsetof(_PyInterpreterFrame, is_entry));
    check("is_entry is the byte before owner (the walk reads both as one)", L->frame_is_entry + 1, L->frame_owner);
    check("sizeof is_entry", 1, sizeof(((_PyInterpreterFrame *)0)->is_entry));
    check("code_version", L->code_version, 0);
#else
    check("frame_is_entry", L->frame_is_entry, 0);
    check("code_version", L->code_version, offsetof(PyCodeObject, co_version));
#endif
    check("FRAME_OWNED_BY_GENERATOR", HS_PY_OWNED_BY_GENERATOR, FRAME_OWNED_BY_GENERATOR);
    check("FRAME_OWNED_BY_CSTACK", HS_PY_OWNED_BY_CSTACK, 3);
    check("code_firstlineno", L->code_firstlineno, offsetof(PyCodeObject, co_firstlineno));
    check("code_filename", L->code_filename, offsetof(PyCodeObject, co_filename));
    check("code_qualname", L->code_qualname, offsetof(PyCodeObject, co_qualname));
    check("code_linetable", L->code_linetable, offsetof(PyCodeObject, co_linetable));
    check("code_firsttraceable", L->code_firsttraceable, offsetof(PyCodeObject, _co_firsttraceable));
    check("code_adaptive", L->code_adaptive, offsetof(PyCodeObject, co_code_adaptive));
    check("ascii_size", L->ascii_size, sizeof(PyASCIIObject));
    check("compact_size", L->compact_size, sizeof(PyCompactUnicodeObject));
    check("HS_PY_OB_TYPE", HS_PY_OB_TYPE, offsetof(PyObject, ob_type));
    check("HS_PY_OB_SIZE", HS_PY_OB_SIZE, offsetof(PyVarObject, ob_size));
    check("HS_PY_STR_LENGTH", HS_PY_STR_LENGTH, offsetof(PyASCIIObject, length));
    check("HS_PY_STR_HASH", HS_PY_STR_HASH, offsetof(PyASCIIObject, hash));
    check("HS_PY_STR_STATE", HS_PY_STR_STATE, offsetof(PyASCIIObject, state));
    check("HS_PY_TSS_KEY", HS_PY_TSS_KEY, offsetof(Py_tss_t, _key));
    check("sizeof pthread_key_t", sizeof(pthread_key_t), sizeof(((Py_tss_t *)0)->_key));
    check("HS_PY_BYTES_DATA", HS_PY_BYTES_DATA, offsetof(PyBytesObject, ob_sval));
    /* the str state bits python.c decodes: kind at bit 2, compact at 5, ascii at 6 */
    PyASCIIObject probe;
    memset(&probe, 0, sizeof probe);
    probe.state.kind = 4;
    probe.state.compact = 1;
    probe.state.ascii = 1;
    uint32_t bits;
    memcpy(&bits, (char *)&probe + HS_PY_STR_STATE, sizeof bits);
    check("str state bits", bits, (4u << 2) | (1u << 5) | (1u << 6));
#if PY_VERSION_HEX >= 0x030d0000
    check("DBG free_threaded", HS_PY313_DBG_FREE_THREADED, offsetof(_Py_DebugOffsets, free_threaded));
    check("DBG current_frame", HS_PY313_DBG_TSTATE_CURRENT_FRAME, offsetof(_Py_DebugOffsets, thread_state.current_frame));
    check("DBG previous", HS_PY313_DBG_FRAME_PREVIOUS, offsetof(_Py_DebugOffsets, interpreter_frame.previous));
    check("DBG executable", HS_PY313_DBG_FRAME_EXECUTABLE, offsetof(_Py_DebugOffsets, interpreter_frame.executable));
    check("DBG instr_ptr", HS_PY313_DBG_FRAME_INSTR_PTR, offsetof(_Py_DebugOffsets, interpreter_frame.instr_ptr));
    check("DBG owner", HS_PY313_DBG_FRAME_OWNER, offsetof(_Py_DebugOffsets, interpreter_frame.owner));
    check("DBG filename", HS_PY313_DBG_CODE_FILENAME, offsetof(_Py_DebugOffsets, code_object.filename));
    check("DBG qualname", HS_PY313_DBG_CODE_QUALNAME, offsetof(_Py_DebugOffsets, code_object.qualname));
    check("DBG linetable", HS_PY313_DBG_CODE_LINETABLE, offsetof(_Py_DebugOffsets, code_object.linetable));
    check("DBG firstlineno", HS_PY313_DBG_CODE_FIRSTLINENO, offsetof(_Py_DebugOffsets, code_object.firstlineno));
    check("DBG co_code_adaptive", HS_PY313_DBG_CODE_ADAPTIVE, offsetof(_Py_DebugOffsets, code_object.co_code_adaptive));
    check("DBG ob_type", HS_PY313_DBG_OB_TYPE, offsetof(_Py_DebugOffsets, pyobject.ob_type));
    check("DBG ob_sval", HS_PY313_DBG_BYTES_SVAL, offsetof(_Py_DebugOffsets, bytes_object.ob_sval));
    check("DBG unicode state", HS_PY313_DBG_UNICODE_STATE, offsetof(_Py_DebugOffsets, unicode_object.state));
    check("DBG asciiobject_size", HS_PY313_DBG_UNICODE_ASCII_SIZE, offsetof(_Py_DebugOffsets, unicode_object.asciiobject_size));
#endif
    if (failures) return 1;
    printf("ok 3.%d\n", PY_MINOR_VERSION);
    return 0;
}
