// What a snapshot says about the CPython interpreter of the traced process (the PYTHON section): its
// version, whether Python frames were captured, and which allocator it used for Python objects.

public struct PythonRuntime: Sendable, Equatable {
    /// Py_Version, PY_VERSION_HEX-style (0x030b02f0 is 3.11.2 final).
    public var version: UInt32
    /// True while the tracker captured Python frames; false with `detail` saying why not.
    public var isCapturing: Bool
    /// One line: why Python frames are off ("" when they are on).
    public var detail: String
    /// PYTHONMALLOC of the process at start ("" when unset).
    public var pythonMalloc: String

    public init(version: UInt32, isCapturing: Bool = true, detail: String = "", pythonMalloc: String = "") {
        self.version = version
        self.isCapturing = isCapturing
        self.detail = detail
        self.pythonMalloc = pythonMalloc
    }

    /// "3.11.2", "3.13.0rc1".
    public var versionText: String {
        let major = version >> 24, minor = (version >> 16) & 0xFF, micro = (version >> 8) & 0xFF
        let level = (version >> 4) & 0xF, serial = version & 0xF
        let suffix: String
        switch level {
        case 0xA: suffix = "a\(serial)"
        case 0xB: suffix = "b\(serial)"
        case 0xC: suffix = "rc\(serial)"
        default: suffix = ""
        }
        return "\(major).\(minor).\(micro)\(suffix)"
    }

    /// True when small Python objects came from an arena allocator (pymalloc, or mimalloc on 3.13)
    /// rather than from malloc: then heapsnap sees 256 KiB arenas, not the lines that fill them.
    public var usesArenaAllocator: Bool {
        !["malloc", "malloc_debug"].contains(pythonMalloc)
    }

    /// The warning for `usesArenaAllocator`, with the fix.
    public static let arenaWarning =
        "Python objects came from pymalloc's arenas, so their lines are hidden: trace with PYTHONMALLOC=malloc (heapsnap run sets it)"

    /// One line for `info`: "3.11.2, Python frames captured, PYTHONMALLOC=malloc".
    public var summary: String {
        var parts = [versionText]
        parts.append(isCapturing ? "Python frames captured" : "Python frames off: \(detail)")
        parts.append(pythonMalloc.isEmpty ? "PYTHONMALLOC unset (pymalloc)" : "PYTHONMALLOC=\(pythonMalloc)")
        return parts.joined(separator: ", ")
    }
}
