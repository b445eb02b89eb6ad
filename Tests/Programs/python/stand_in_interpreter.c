/* A stand-in for a CPython build this machine does not have: a 3.14, a free-threaded 3.13, a 3.13
 * whose debug offsets moved, one that does not export a symbol the tracker needs. It holds only the
 * symbols the tracker reads when it decides whether it can walk Python frames, with the values the
 * test picks at compile time; no interpreter code runs. PythonUnsupportedTests builds it as
 * libpython<version>.so. The 3.13 images start with the bytes of the real 3.13.0 interpreter's
 * _Py_DebugOffsets (read from pyenv's build by the test), one field changed per case.
 *
 *   -DSTAND_IN_VERSION=0x030e00f0                 Py_Version
 *   -DSTAND_IN_RUNTIME='"runtime.inc"'            the first bytes of _PyRuntime ("0x78, 0x64, ...")
 *   -DSTAND_IN_HIDE_THREAD_STATE                  no PyGILState_GetThisThreadState */
const unsigned long Py_Version = STAND_IN_VERSION;

/* only its address matters: the tracker compares code objects' types with it */
unsigned char PyCode_Type[416];

#ifdef STAND_IN_RUNTIME
unsigned char _PyRuntime[] = {
#include STAND_IN_RUNTIME
};
#else
unsigned char _PyRuntime[4096];
#endif

#ifndef STAND_IN_HIDE_THREAD_STATE
/* no thread ever has a Python thread state here */
void *PyGILState_GetThisThreadState(void) { return 0; }
#endif
