// Which frames are allocation plumbing (malloc wrappers, container internals, language runtimes) rather
// than the allocation site a user wants to see. Rules in Docs/ANALYSIS.md.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Shell-style glob as fnmatch(3) without flags: `*` also matches `/`, as in tracemalloc's filters.
@inline(__always)
func globMatches(_ pattern: String, _ text: String) -> Bool {
    if pattern == "*" { return true }
    return fnmatch(pattern, text, 0) == 0
}

/// Rules that decide each trace's allocation site: its most recent frame that is not plumbing.
public struct SiteRules: Sendable, Hashable {
    /// Apply the built-in rules for C, C++, Swift, Rust, glib and CPython.
    public var useBuiltIn: Bool
    /// Extra globs on demangled function names (e.g. "my_xmalloc", "Arena::*").
    public var functionPatterns: [String]
    /// Extra globs on module file names or paths (e.g. "libmyalloc.so*").
    public var modulePatterns: [String]
    /// Extra globs on source paths (e.g. "*/vendor/alloc/*").
    public var filePatterns: [String]
    /// In traces with Python frames, the site is the innermost native frame that is not plumbing
    /// (`--native`, for extension authors) instead of the innermost Python frame. PythonSites.swift.
    public var prefersNative: Bool

    public init(
        useBuiltIn: Bool = true, functionPatterns: [String] = [], modulePatterns: [String] = [],
        filePatterns: [String] = [], prefersNative: Bool = false
    ) {
        self.useBuiltIn = useBuiltIn
        self.functionPatterns = functionPatterns
        self.modulePatterns = modulePatterns
        self.filePatterns = filePatterns
        self.prefersNative = prefersNative
    }

    public static let `default` = SiteRules()
    /// Every frame counts: the site is always frame 0, as in tracemalloc.
    public static let none = SiteRules(useBuiltIn: false)

    /// Runtime libraries whose every frame is plumbing; matched against the module's file name.
    public static let builtInModulePatterns: [String] = [
        "libc.so*", "libc-*.so", "ld-linux*.so*", "libpthread.so*", "libdl.so*",
        "libstdc++.so*", "libc++.so*", "libc++abi.so*", "libgcc_s.so*",
        "libswift*.so", "libdispatch.so", "libBlocksRuntime.so", "libFoundation*.so", "lib_FoundationICU.so",
        "libpython*.so*", "python3", "python3.*", "python2", "python2.*", "libglib-2.0.so*", "libjemalloc.so*", "libtcmalloc*.so*", "libmimalloc.so*",
        "libheapsnap.so",
    ]

    /// Source paths of headers and library sources that are plumbing when inlined or instantiated.
    public static let builtInFilePatterns: [String] = [
        "/usr/include/*", "/usr/local/include/c++/*", "*/include/c++/*", "*/bits/*.h",
        "/rustc/*/library/*", "*/lib/rustlib/src/rust/library/*",
        "*/swift/stdlib/public/*", "*/swift/include/swift/Runtime/*", "<compiler-generated>",
    ]

    /// Demangled function names of allocation plumbing.
    public static let builtInFunctionPatterns: [String] = [
        // C allocators and common wrappers.
        "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc", "memalign",
        "valloc", "pvalloc", "strdup", "strndup", "__strdup", "__strndup", "asprintf", "vasprintf",
        "xmalloc", "xcalloc", "xrealloc", "xstrdup", "xstrndup", "xzalloc", "xmemdup", "emalloc", "ecalloc",
        "erealloc", "estrdup",
        // C++ runtime and standard library.
        "operator new*", "operator delete*", "std::*", "__gnu_cxx::*", "__cxxabiv1::*", "__cxa_*",
        "void std::*", "__gnu_cxx::new_allocator*",
        // Swift runtime and standard library.
        "swift_*", "_swift_*", "Swift.*", "(extension in Swift)*", "generic specialization <* of Swift.*",
        "specialized Swift.*", "merged Swift.*", "merged generic specialization <* of Swift.*",
        "outlined *", "reabstraction thunk*", "implicit closure #* in Swift.*",
        // Rust allocation plumbing.
        "__rustc::*", "__rust_alloc*", "__rust_realloc", "__rdl_alloc*", "__rdl_realloc", "__rg_alloc*", "__rg_realloc",
        "alloc::*", "<alloc::*", "core::*", "<core::*", "<std::*", "hashbrown::*", "<hashbrown::*",
        // glib.
        "g_malloc*", "g_malloc0*", "g_realloc*", "g_try_malloc*", "g_try_realloc*", "g_new*", "g_slice_*",
        "g_strdup*", "g_strndup", "g_memdup*", "g_string_*", "g_array_*", "g_ptr_array_*", "g_hash_table_*",
        // CPython.
        "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc", "PyMem_*", "_PyMem_*", "_PyObject_*",
        "PyObject_GC_*", "_PyObject_GC_*", "pymalloc_*", "_PyBytes_*", "_PyUnicode_*",
    ]

    /// No built-in rules and no patterns: every site is the most recent frame (as `.none`).
    var callsNothingPlumbing: Bool {
        !useBuiltIn && functionPatterns.isEmpty && modulePatterns.isEmpty && filePatterns.isEmpty
    }

    /// True when `frame` is plumbing under these rules, in a trace without Python frames.
    public func isPlumbing(_ frame: Frame) -> Bool { isPlumbing(frame, inPythonTrace: false) }

    /// In a trace with Python frames the interpreter is code like any other, and only CPython's
    /// allocator wrappers are plumbing (PythonSites.swift); Python frames obey only the user's patterns.
    func isPlumbing(_ frame: Frame, inPythonTrace: Bool) -> Bool {
        let moduleName = frame.moduleName
        if useBuiltIn, !frame.isPython {
            let modules = inPythonTrace ? Self.builtInModulePatternsInPythonTraces : Self.builtInModulePatterns
            if !moduleName.isEmpty, modules.contains(where: { globMatches($0, moduleName) }) {
                return true
            }
            if let file = frame.file {
                // Line 0 is DWARF for code no source line owns: thunks, allocating initializers.
                if frame.line == 0 { return true }
                if Self.builtInFilePatterns.contains(where: { globMatches($0, file) }) { return true }
            }
            if let function = frame.function {
                let name = Self.nameWithoutReturnType(function)
                let functions = inPythonTrace ? Self.builtInFunctionPatternsInPythonTraces : Self.builtInFunctionPatterns
                if functions.contains(where: { globMatches($0, function) || globMatches($0, name) }) {
                    return true
                }
            }
            if Self.isBuiltInAllocator(frame) { return true }
        }
        if !modulePatterns.isEmpty, !frame.module.isEmpty, !frame.isPython,
           modulePatterns.contains(where: { globMatches($0, moduleName) || globMatches($0, frame.module) }) {
            return true
        }
        if let file = frame.file, filePatterns.contains(where: { globMatches($0, file) }) { return true }
        if let function = frame.function, !functionPatterns.isEmpty {
            let name = Self.nameWithoutReturnType(function)
            if functionPatterns.contains(where: { globMatches($0, function) || globMatches($0, name) }) { return true }
        }
        return false
    }

    /// A demangled C++ function template carries its return type in front ("int& std::vector<int>::
    /// emplace_back<int>(int&&)"); patterns are about the function, so they also see the name without
    /// it. The name starts after the last space outside <...> before the parameter list.
    public static func nameWithoutReturnType(_ name: String) -> String {
        guard name.contains(" "), !name.hasPrefix("operator") else { return name }
        var depth = 0
        var lastSpace: String.Index?
        var index = name.startIndex
        while index < name.endIndex {
            switch name[index] {
            case "<": depth += 1
            case ">": depth = max(0, depth - 1)
            case "(" where depth == 0:
                guard let lastSpace else { return name }
                // "operator new(...)", "operator delete[](...)": the space belongs to the name.
                if name[..<lastSpace].hasSuffix("operator") {
                    return name
                }
                return String(name[name.index(after: lastSpace)...])
            case " " where depth == 0: lastSpace = index
            default: break
            }
            index = name.index(after: index)
        }
        return name
    }

    /// Index of the allocation site in `traceback.frames`: the most recent frame that is not plumbing;
    /// when every frame is plumbing, the frame that called into the allocator from outside it
    /// (ld.so's _dl_new_object, not calloc); 0 when even that is missing (or there are no frames).
    /// For traces with Python frames see PythonSites.swift.
    public func siteIndex(in traceback: Traceback) -> Int {
        siteIndex(in: traceback.frames, isPlumbing: isPlumbing, isAllocator: isAllocator,
                  isPlumbingInPython: { isPlumbing($0, inPythonTrace: true) })
    }
}

/// A yes/no question about frames, answered once per distinct frame: a snapshot has few distinct
/// frames and many traces, and the answers (glob matches) are the costly part.
final class FrameMemo {
    private let question: (Frame) -> Bool
    /// Keyed by the frame's shared box, alive as long as the snapshot being analysed.
    private var answers: [ObjectIdentifier: Bool] = [:]

    init(_ question: @escaping (Frame) -> Bool) { self.question = question }

    func callAsFunction(_ frame: Frame) -> Bool {
        let key = ObjectIdentifier(frame.storage)
        if let known = answers[key] { return known }
        let answer = question(frame)
        answers[key] = answer
        return answer
    }
}

extension Snapshot {
    /// Decides the allocation site of every trace under `sites`, with the plumbing verdict asked once
    /// per distinct frame. The one place a trace's site is worked out; everything else reads
    /// `traceback.siteIndex`.
    mutating func decideSites() {
        // Under rules that call nothing plumbing every site is frame 0, where a traceback starts out;
        // not so in a Python process, whose sites are Python frames (PythonSites.swift).
        if sites.callsNothingPlumbing && info.python == nil {
            for index in traces.indices { traces[index].traceback.siteIndex = 0 }
            return
        }
        let rules = sites
        let isPlumbing = FrameMemo(rules.isPlumbing)
        let isAllocator = FrameMemo(rules.isAllocator)
        let isPlumbingInPython = FrameMemo { rules.isPlumbing($0, inPythonTrace: true) }
        for index in traces.indices where !traces[index].traceback.frames.isEmpty {
            traces[index].traceback.siteIndex = rules.siteIndex(
                in: traces[index].traceback.frames, isPlumbing: isPlumbing.callAsFunction,
                isAllocator: isAllocator.callAsFunction, isPlumbingInPython: isPlumbingInPython.callAsFunction)
        }
    }

    /// This snapshot with its sites decided under `rules` (itself when those are already its rules).
    public func withSites(_ rules: SiteRules) -> Snapshot {
        if rules == sites { return self }
        var result = self
        result.sites = rules
        result.decideSites()
        return result
    }
}
