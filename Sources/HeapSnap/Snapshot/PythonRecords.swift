// The PYTHON section of a snapshot (Docs/FORMAT.md) as the tracker wrote it: which CPython ran, whether
// its frames were recorded (and why not), and a copy of every code object a recorded frame names.
// Line numbers are not here: they are decoded from each code record's line table.
import CHeapSnapContract

/// One Python frame of a recorded stack: which code object ran which instruction.
public struct PythonFrame: Sendable, Hashable {
    /// `instructionOffset` of a frame that had not run its first instruction yet: the tracker keeps
    /// such a frame only when it is alone in its evaluation loop, so that loops and entry marks pair up.
    /// CPython's tracemalloc skips it (it is never the site of a trace).
    public static let notStarted: UInt32 = HEAPSNAP_PYTHON_NOT_STARTED

    /// Index into `PythonInterpreter.codes`.
    public var code: Int
    /// The instruction in code units (2 bytes) from the start of the code object's bytecode; the
    /// line table is indexed by `instructionOffset * 2`.
    public var instructionOffset: UInt32
    /// The outermost Python frame run by one C-level call of the evaluation loop
    /// (`_PyEval_EvalFrameDefault`): where one run of the loop's frames ends, outward.
    public var isEntry: Bool

    public var hasStarted: Bool { instructionOffset != Self.notStarted }

    public init(code: Int, instructionOffset: UInt32, isEntry: Bool = false) {
        self.code = code
        self.instructionOffset = instructionOffset
        self.isEntry = isEntry
    }

    /// Bit 63 of a frame in the STACKS section marks a Python frame.
    static let marker: UInt64 = HEAPSNAP_PYTHON_FRAME
    static let entryBit: UInt64 = HEAPSNAP_PYTHON_ENTRY

    /// Decodes a frame word with bit 63 set.
    init(word: UInt64) {
        self.init(code: Int((word >> UInt64(HEAPSNAP_PYTHON_CODE_SHIFT)) & UInt64(HEAPSNAP_PYTHON_CODE_MASK)),
                  instructionOffset: UInt32(truncatingIfNeeded: word & HEAPSNAP_PYTHON_OFFSET_MASK),
                  isEntry: word & Self.entryBit != 0)
    }

    /// The frame word as the tracker writes it.
    var word: UInt64 {
        Self.marker | (isEntry ? Self.entryBit : 0) | (UInt64(code) << UInt64(HEAPSNAP_PYTHON_CODE_SHIFT)) | UInt64(instructionOffset)
    }
}

/// A copy of one code object, made by the tracker the first time one of its frames was recorded. Two
/// code objects at the same address (one freed, another created there) are two records.
public struct PythonCodeRecord: Sendable, Equatable {
    /// Where the code object lived (informational: addresses are reused).
    public var address: UInt64
    /// `co_firstlineno`.
    public var firstLine: UInt32
    /// `co_filename`, as the interpreter has it (may be relative, or "<string>" for exec'ed code).
    public var filename: String
    /// `co_qualname`, e.g. "Holder.build" or "<module>".
    public var qualifiedName: String
    /// `co_linetable` (the 3.11+ locations table); empty when it could not be copied.
    public var lineTable: [UInt8]

    public init(address: UInt64 = 0, firstLine: UInt32, filename: String, qualifiedName: String, lineTable: [UInt8] = []) {
        self.address = address
        self.firstLine = firstLine
        self.filename = filename
        self.qualifiedName = qualifiedName
        self.lineTable = lineTable
    }
}

/// The PYTHON section: present when the tracker found a CPython interpreter in the process.
public struct PythonInterpreter: Sendable, Equatable {
    /// `Py_Version`, e.g. 0x030b02f0 for 3.11.2.
    public var version: UInt32
    /// 0 while Python frames were recorded; otherwise they were off, and `detail` says why.
    public var status: UInt32
    /// One line: why Python frames were off, or a note about the capture; "" when all was well.
    public var detail: String
    /// The value of PYTHONMALLOC when the process started; "" when it was not set.
    public var pythonMalloc: String
    /// The code records of a binary snapshot; empty in one read from the offline JSON, whose frames
    /// are already decoded (only their number is kept there: `codeCount`).
    public var codes: [PythonCodeRecord]
    /// How many code objects the tracker copied: `codes.count` of the binary snapshot it came from.
    public var codeCount: Int

    public init(version: UInt32, status: UInt32 = 0, detail: String = "", pythonMalloc: String = "",
                codes: [PythonCodeRecord] = [], codeCount: Int? = nil) {
        self.version = version
        self.status = status
        self.detail = detail
        self.pythonMalloc = pythonMalloc
        self.codes = codes
        self.codeCount = codeCount ?? codes.count
    }

    /// True when the stacks carry Python frames.
    public var isCapturing: Bool { status == HEAPSNAP_PYTHON_CAPTURING }

    /// "3.11.2", "3.13.0rc1"; "unknown" when the interpreter had no Py_Version (older than 3.11).
    public var versionText: String {
        guard version != 0 else { return "unknown (older than 3.11)" }
        var text = "\(version >> 24).\((version >> 16) & 0xFF).\((version >> 8) & 0xFF)"
        let level = (version >> 4) & 0xF, serial = version & 0xF
        switch level {
        case 0xA: text += "a\(serial)"
        case 0xB: text += "b\(serial)"
        case 0xC: text += "rc\(serial)"
        default: break
        }
        return text
    }

    /// Small objects bypass malloc unless PYTHONMALLOC is "malloc" (or "malloc_debug"): with pymalloc
    /// they live in 256 KiB arenas, which is all the tracker sees of them.
    public var usesPymalloc: Bool { !(pythonMalloc == "malloc" || pythonMalloc == "malloc_debug") }
}

extension SnapshotParser {
    /// The PYTHON section (tag 5).
    func parsePython(_ c: inout Cursor) throws -> PythonInterpreter {
        let version = try c.u32()
        let status = try c.u32()
        let detail = try c.string()
        let pythonMalloc = try c.string()
        let count = try c.count(try c.u32(), minimumSize: 28, of: "code records")
        var codes: [PythonCodeRecord] = []
        codes.reserveCapacity(count)
        for index in 0..<count {
            let address = try c.u64()
            let firstLine = try c.u32()
            guard try c.u32() == 0 else {
                throw fail("code record \(index) in the PYTHON section has a non-zero reserved field")
            }
            let filename = try c.string()
            let qualifiedName = try c.string()
            let lineTable = Array(try c.bytes(Int(try c.u32())))
            codes.append(PythonCodeRecord(address: address, firstLine: firstLine, filename: filename,
                                          qualifiedName: qualifiedName, lineTable: lineTable))
        }
        try c.finish()
        return PythonInterpreter(version: version, status: status, detail: detail, pythonMalloc: pythonMalloc, codes: codes)
    }

    /// Splits one stack's frame words: native return addresses first, then Python frames. A native
    /// word after a Python frame, or a code index outside the PYTHON section, is an error.
    func splitFrames(_ words: [UInt64], stack: Int, codeCount: Int?) throws -> (native: [UInt64], python: [PythonFrame]) {
        guard let first = words.firstIndex(where: { $0 & PythonFrame.marker != 0 }) else { return (words, []) }
        guard let codeCount else {
            throw fail("stack \(stack) has Python frames but the snapshot has no PYTHON section")
        }
        var python: [PythonFrame] = []
        python.reserveCapacity(words.count - first)
        for position in first..<words.count {
            let word = words[position]
            guard word & PythonFrame.marker != 0 else {
                throw fail("stack \(stack) has a native frame after its Python frames (frame \(position))")
            }
            let frame = PythonFrame(word: word)
            guard frame.code < codeCount else {
                throw fail("frame \(position) of stack \(stack) refers to code record \(frame.code), but the PYTHON section has only \(codeCount)")
            }
            python.append(frame)
        }
        return (Array(words[..<first]), python)
    }
}
