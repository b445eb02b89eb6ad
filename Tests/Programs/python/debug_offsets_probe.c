/* Compiled by PythonUnsupportedTests against CPython 3.13's own headers: where the fields the stand-in
 * images change sit in _Py_DebugOffsets, and how long the structure is. Prints
 * "SIZE FREE_THREADED FRAME_PREVIOUS". */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_runtime.h>
#include <stddef.h>
#include <stdio.h>

int main(void) {
    printf("%zu %zu %zu\n", sizeof(_Py_DebugOffsets), offsetof(_Py_DebugOffsets, free_threaded),
           offsetof(_Py_DebugOffsets, interpreter_frame.previous));
    return 0;
}
