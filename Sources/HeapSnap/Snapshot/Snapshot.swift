// The symbolized model every command works on: traces with tracebacks of Frames, plus the snapshot's
// header and module table. Built from a RawSnapshot by a Symbolizer, or read back from offline JSON.
import Foundation
import CHeapSnapContract

/// One frame of a traceback: where a return address (or an inlined call inside it) points.
///
/// A value type whose fields live in one shared, immutable box: a snapshot repeats each distinct frame
/// in thousands of tracebacks, so copies cost a pointer, and hashing and comparing (which grouping
/// does millions of times) use a hash computed once and the box's identity.
public struct Frame: Hashable, Sendable, Codable {
    final class Storage: @unchecked Sendable {
        let module: String
        let function: String?
        let file: String?
        let line: Int
        let address: UInt64?
        let moduleOffset: UInt64?
        let symbolOffset: UInt64?
        let isInlined: Bool
        let isPython: Bool
        let hash: Int
        let location: String
        let moduleName: String

        init(module: String, function: String?, file: String?, line: Int, address: UInt64?, moduleOffset: UInt64?,
             symbolOffset: UInt64?, isInlined: Bool, isPython: Bool = false) {
            self.module = module
            self.function = function
            self.file = file
            self.line = line
            self.address = address
            self.moduleOffset = moduleOffset
            self.symbolOffset = symbolOffset
            self.isInlined = isInlined
            self.isPython = isPython
            var hasher = Hasher()
            hasher.combine(module)
            hasher.combine(function)
            hasher.combine(file)
            hasher.combine(line)
            hasher.combine(address)
            hasher.combine(moduleOffset)
            hasher.combine(symbolOffset)
            hasher.combine(isInlined)
            hasher.combine(isPython)
            hash = hasher.finalize()
            if let slash = module.lastIndex(of: "/") {
                moduleName = String(module[module.index(after: slash)...])
            } else {
                moduleName = module
            }
            location = Storage.location(module: module, moduleName: moduleName, function: function, file: file,
                                        line: line, address: address, moduleOffset: moduleOffset,
                                        symbolOffset: symbolOffset)
        }

        func with(_ change: (inout Fields) -> Void) -> Storage {
            var fields = Fields(module: module, function: function, file: file, line: line, address: address,
                                moduleOffset: moduleOffset, symbolOffset: symbolOffset, isInlined: isInlined,
                                isPython: isPython)
            change(&fields)
            return Storage(module: fields.module, function: fields.function, file: fields.file, line: fields.line,
                           address: fields.address, moduleOffset: fields.moduleOffset,
                           symbolOffset: fields.symbolOffset, isInlined: fields.isInlined, isPython: fields.isPython)
        }

        func equals(_ other: Storage) -> Bool {
            self === other || (hash == other.hash && line == other.line && isInlined == other.isInlined
                && isPython == other.isPython
                && address == other.address && moduleOffset == other.moduleOffset
                && symbolOffset == other.symbolOffset && file == other.file && function == other.function
                && module == other.module)
        }

        static func location(module: String, moduleName: String, function: String?, file: String?, line: Int,
                             address: UInt64?, moduleOffset: UInt64?, symbolOffset: UInt64?) -> String {
            if let file {
                return line > 0 ? "\(file):\(line)" : file
            }
            if let function {
                if let symbolOffset { return "\(function)+0x\(String(symbolOffset, radix: 16))" }
                return function
            }
            let name = module.isEmpty ? "?" : moduleName
            if let moduleOffset { return "\(name)+0x\(String(moduleOffset, radix: 16))" }
            if let address { return "\(name)+0x\(String(address, radix: 16))" }
            return name
        }
    }

    struct Fields {
        var module: String
        var function: String?
        var file: String?
        var line: Int
        var address: UInt64?
        var moduleOffset: UInt64?
        var symbolOffset: UInt64?
        var isInlined: Bool
        var isPython: Bool
    }

    var storage: Storage

    public init(
        module: String, function: String? = nil, file: String? = nil, line: Int = 0,
        address: UInt64? = nil, moduleOffset: UInt64? = nil, symbolOffset: UInt64? = nil, isInlined: Bool = false,
        isPython: Bool = false
    ) {
        storage = Storage(module: module, function: function, file: file, line: line, address: address,
                          moduleOffset: moduleOffset, symbolOffset: symbolOffset, isInlined: isInlined,
                          isPython: isPython)
    }

    /// A frame of Python code: `file` is the code's co_filename, `function` its co_qualname, `line` the
    /// line of the instruction running (0 when it has none). Its module is the file, so grouping by
    /// module names Python modules by their files.
    public static func python(file: String, function: String, line: Int) -> Frame {
        Frame(module: file, function: function, file: file, line: line, isPython: true)
    }

    /// Path of the module (executable or shared library) the address belongs to; "" when none.
    public var module: String {
        get { storage.module }
        set { storage = storage.with { $0.module = newValue } }
    }
    /// Demangled function name, when debug info or a symbol names it.
    public var function: String? {
        get { storage.function }
        set { storage = storage.with { $0.function = newValue } }
    }
    /// Source file, when debug info gives one.
    public var file: String? {
        get { storage.file }
        set { storage = storage.with { $0.file = newValue } }
    }
    /// Source line; 0 when unknown.
    public var line: Int {
        get { storage.line }
        set { storage = storage.with { $0.line = newValue } }
    }
    /// The runtime return address (the same for every inlined frame it expands to).
    public var address: UInt64? {
        get { storage.address }
        set { storage = storage.with { $0.address = newValue } }
    }
    /// `address` relative to the module's load bias: the ELF virtual address.
    public var moduleOffset: UInt64? {
        get { storage.moduleOffset }
        set { storage = storage.with { $0.moduleOffset = newValue } }
    }
    /// Offset of `address` from the start of the ELF symbol `function` came from.
    public var symbolOffset: UInt64? {
        get { storage.symbolOffset }
        set { storage = storage.with { $0.symbolOffset = newValue } }
    }
    /// True for a call that the compiler inlined into the next frame (as a debugger shows it).
    public var isInlined: Bool {
        get { storage.isInlined }
        set { storage = storage.with { $0.isInlined = newValue } }
    }
    /// True for a frame of Python code (see `python(file:function:line:)`), false for native code.
    public var isPython: Bool {
        get { storage.isPython }
        set { storage = storage.with { $0.isPython = newValue } }
    }

    /// The frame of an empty traceback. One shared value, so caches keyed by a frame's box stay valid.
    static let unknown = Frame(module: "")

    /// The module's file name without its folder.
    public var moduleName: String { storage.moduleName }

    /// The best available location: "file:line", else "function+0x1f", else "module+0x1234".
    public var location: String { storage.location }

    public static func == (a: Frame, b: Frame) -> Bool { a.storage.equals(b.storage) }
    public func hash(into hasher: inout Hasher) { hasher.combine(storage.hash) }

    enum CodingKeys: String, CodingKey {
        case module, function, file, line, address, moduleOffset, symbolOffset, isInlined, kind
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            module: try container.decode(String.self, forKey: .module),
            function: try container.decodeIfPresent(String.self, forKey: .function),
            file: try container.decodeIfPresent(String.self, forKey: .file),
            line: try container.decode(Int.self, forKey: .line),
            address: try container.decodeIfPresent(UInt64.self, forKey: .address),
            moduleOffset: try container.decodeIfPresent(UInt64.self, forKey: .moduleOffset),
            symbolOffset: try container.decodeIfPresent(UInt64.self, forKey: .symbolOffset),
            isInlined: try container.decode(Bool.self, forKey: .isInlined),
            isPython: try container.decodeIfPresent(String.self, forKey: .kind) == "python")
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(module, forKey: .module)
        try container.encodeIfPresent(function, forKey: .function)
        try container.encodeIfPresent(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encodeIfPresent(address, forKey: .address)
        try container.encodeIfPresent(moduleOffset, forKey: .moduleOffset)
        try container.encodeIfPresent(symbolOffset, forKey: .symbolOffset)
        try container.encode(isInlined, forKey: .isInlined)
        try container.encode(isPython ? "python" : "native", forKey: .kind)
    }
}

/// The call stack of a trace, most recent frame first, inlined calls expanded into frames of their own.
public struct Traceback: Hashable, Sendable {
    public var frames: [Frame]
    /// The stack was deeper than the tracker's frame limit.
    public var isTruncated: Bool
    /// When the Python frames could not be paired with the native frames of the evaluation loop, both
    /// lists are kept: `frames` holds the native list, then from this index on the Python list.
    public var pythonStart: Int?

    public init(frames: [Frame], isTruncated: Bool = false, pythonStart: Int? = nil) {
        self.frames = frames
        self.isTruncated = isTruncated
        self.pythonStart = pythonStart
    }
}

/// All the live memory of one (domain, call stack), with its totals since the start.
public struct Trace: Sendable {
    public var domain: UInt32
    /// Live bytes.
    public var size: UInt64
    /// Live blocks.
    public var count: UInt64
    public var totalAllocations: UInt64
    public var totalBytes: UInt64
    public var traceback: Traceback

    public init(
        domain: UInt32 = 0, size: UInt64, count: UInt64, totalAllocations: UInt64 = 0, totalBytes: UInt64 = 0,
        traceback: Traceback
    ) {
        self.domain = domain
        self.size = size
        self.count = count
        self.totalAllocations = totalAllocations
        self.totalBytes = totalBytes
        self.traceback = traceback
    }
}

/// A module of the traced process and how well it could be symbolized.
public struct ModuleInfo: Sendable, Equatable {
    public var path: String
    /// GNU build-id as lower-case hex; "" when the module has none.
    public var buildID: String
    public var hasDebugInfo: Bool
    public var wasUnloaded: Bool
    public var isMainExecutable: Bool
    public var loadBias: UInt64
    /// Why its frames are less than fully symbolized, e.g. "not found" or a build-id mismatch.
    public var problem: String?

    public init(
        path: String, buildID: String = "", hasDebugInfo: Bool = false, wasUnloaded: Bool = false,
        isMainExecutable: Bool = false, loadBias: UInt64 = 0, problem: String? = nil
    ) {
        self.path = path
        self.buildID = buildID
        self.hasDebugInfo = hasDebugInfo
        self.wasUnloaded = wasUnloaded
        self.isMainExecutable = isMainExecutable
        self.loadBias = loadBias
        self.problem = problem
    }
}

/// The snapshot's header fields, its modules and where it was read from. The header's fields read as
/// the info's own (`info.pid`, `info.peakBytes`).
@dynamicMemberLookup
public struct SnapshotInfo: Sendable {
    public var header: SnapshotHeader
    public var modules: [ModuleInfo]
    /// The file this snapshot was loaded from ("" when built in memory).
    public var source: String
    /// The CPython interpreter the process ran, when it ran one (its code records included).
    public var python: PythonInterpreter?

    public init(header: SnapshotHeader, modules: [ModuleInfo] = [], source: String = "", python: PythonInterpreter? = nil) {
        self.header = header
        self.modules = modules
        self.source = source
        self.python = python
    }

    public subscript<Value>(dynamicMember field: WritableKeyPath<SnapshotHeader, Value>) -> Value {
        get { header[keyPath: field] }
        set { header[keyPath: field] = newValue }
    }

    /// When the snapshot was taken.
    public var date: Date { Date(timeIntervalSince1970: Double(header.timeNanoseconds) / 1e9) }
}

/// A one-line error about a snapshot or its analysis; the message names the file when there is one.
public struct AnalysisError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// A symbolized snapshot: what `heapsnap` reports on.
public struct Snapshot: Sendable {
    public var info: SnapshotInfo
    public var traces: [Trace]

    public init(info: SnapshotInfo, traces: [Trace]) {
        self.info = info
        self.traces = traces
    }

    /// Symbolizes a raw snapshot. `progress` is called with (modules done, modules total).
    public init(
        raw: RawSnapshot, symbolizer: Symbolizer = Symbolizer(), source: String = "",
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws {
        let symbols = symbolizer.symbolize(raw, progress: progress)
        var traces: [Trace] = []
        traces.reserveCapacity(raw.stacks.count)
        let python = PythonFrameDecoder(raw.python)
        for stack in raw.stacks {
            var frames: [Frame] = []
            frames.reserveCapacity(stack.frames.count)
            for address in stack.frames {
                frames.append(contentsOf: symbols.frames(for: address))
            }
            traces.append(Trace(
                domain: stack.domain, size: stack.liveBytes, count: stack.liveBlocks,
                totalAllocations: stack.totalAllocations, totalBytes: stack.totalBytes,
                traceback: python.traceback(native: frames, stack: stack, maxFrames: raw.header.maxFrames)))
        }
        self.init(info: SnapshotInfo(header: raw.header, modules: symbols.modules, source: source), traces: traces)
        info.python = raw.python
    }

    /// Reads a binary snapshot (symbolizing it) or an offline JSON snapshot, whichever the file is.
    public static func load(
        path: String, symbolizer: Symbolizer = Symbolizer(),
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> Snapshot {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw AnalysisError("\(path): \(reason)")
        }
        let head = (try? handle.read(upToCount: 64)) ?? Data()
        try? handle.close()
        if head.starts(with: Array(HEAPSNAP_MAGIC.utf8)) {
            let raw = try readRawSnapshot(path: path)
            return try Snapshot(raw: raw, symbolizer: symbolizer, source: path, progress: progress)
        }
        if let first = head.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{") {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw AnalysisError("\(path): cannot be read")
            }
            var snapshot = try Snapshot(jsonData: data, name: path)
            snapshot.info.source = path
            return snapshot
        }
        if head.isEmpty { throw AnalysisError("\(path): empty file, not a heapsnap snapshot") }
        throw AnalysisError("\(path): not a heapsnap snapshot (neither a binary snapshot nor heapsnap JSON)")
    }

    /// Writes the offline JSON form (Docs/SNAPSHOT-JSON.md) to `path`.
    public func write(jsonTo path: String) throws {
        let data = try jsonData()
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw AnalysisError("\(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Live bytes of all traces.
    public var size: UInt64 { traces.reduce(0) { $0 + $1.size } }
    /// Live blocks of all traces.
    public var count: UInt64 { traces.reduce(0) { $0 + $1.count } }
}
