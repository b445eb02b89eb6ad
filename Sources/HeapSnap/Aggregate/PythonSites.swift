// The allocation site of a trace that ran Python code. As in tracemalloc, it is the innermost Python
// frame: the line of the user's script. With `prefersNative` (--native) it is the innermost native
// frame that is not plumbing, where the interpreter counts as code (list_resize in
// Objects/listobject.c, an extension's C line) and only CPython's allocator wrappers are plumbing.
// Traces without Python frames keep the rules of SiteRules.swift (the whole interpreter is plumbing).

extension SiteRules {
    /// The interpreter's modules: plumbing in native-only traces, code in traces with Python frames.
    public static let interpreterModulePatterns: [String] = ["libpython*.so*", "python3", "python3.*", "python2", "python2.*"]

    /// CPython's allocator wrappers, plumbing in every trace: the malloc family of obmalloc.c and the
    /// generic object allocators every type's memory comes through (gc_alloc, PyType_GenericAlloc),
    /// so the site is the code that asked for the object (PyByteArray_Resize, new_dict, an extension).
    public static let cpythonAllocatorPatterns: [String] = [
        "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc", "PyMem_*", "_PyMem_*", "_PyObject_*",
        "PyObject_GC_*", "pymalloc_*", "gc_alloc", "PyType_GenericAlloc", "_PyType_AllocNoTrack",
    ]

    /// Interpreter internals that are plumbing only in native-only traces.
    static let interpreterInternalPatterns: Set<String> = ["_PyBytes_*", "_PyUnicode_*"]

    static let builtInModulePatternsInPythonTraces: [String] =
        builtInModulePatterns.filter { !interpreterModulePatterns.contains($0) }

    static let builtInFunctionPatternsInPythonTraces: [String] =
        builtInFunctionPatterns.filter { !interpreterInternalPatterns.contains($0) }
            + cpythonAllocatorPatterns.filter { !builtInFunctionPatterns.contains($0) }

    /// The site of `frames` (most recent first) with the plumbing verdicts given (memoized by callers).
    func siteIndex(in frames: [Frame], isPlumbing: (Frame) -> Bool, isAllocator: (Frame) -> Bool,
                   isPlumbingInPython: (Frame) -> Bool) -> Int {
        guard let innermostPython = frames.firstIndex(where: \.isPython) else {
            return Self.siteIndex(in: frames, isPlumbing: isPlumbing, isAllocator: isAllocator)
        }
        if prefersNative,
           let native = frames[..<innermostPython].firstIndex(where: { !isPlumbingInPython($0) }) {
            return native
        }
        // The user's --skip-file and --skip-function also apply to Python code (a wrapper module).
        return frames[innermostPython...].firstIndex { $0.isPython && !isPlumbing($0) } ?? innermostPython
    }
}
