// The symbolized model every command works on: traces with tracebacks of Frames (Frame.swift), plus the
// snapshot's header and module table. Read from a file by SnapshotFile.swift.
import Foundation

/// The call stack of a trace, most recent frame first, inlined calls expanded into frames of their own,
/// and which of them is the allocation site.
public struct Traceback: Hashable, Sendable {
    public var frames: [Frame]
    /// The stack was deeper than the tracker's frame limit.
    public var isTruncated: Bool
    /// Index in `frames` of the allocation site, decided once per snapshot under its `SiteRules`
    /// (Aggregate/SiteRules.swift); 0 until a snapshot decides it, and for an empty traceback.
    public internal(set) var siteIndex: Int
    /// When the Python frames could not be paired with the native frames of the evaluation loop, both
    /// lists are kept: `frames` holds the native list, then from this index on the Python list.
    public var pythonStart: Int?

    public init(frames: [Frame], isTruncated: Bool = false, pythonStart: Int? = nil) {
        self.frames = frames
        self.isTruncated = isTruncated
        self.pythonStart = pythonStart
        siteIndex = 0
    }

    /// The allocation site; `Frame.unknown` for an empty traceback.
    public var site: Frame { frames.isEmpty ? .unknown : frames[siteIndex] }
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
    /// Allocations freed before the thread that made them allocated again (heaptrack's temporaries).
    public var temporaryAllocations: UInt64
    public var traceback: Traceback

    public init(
        domain: UInt32 = 0, size: UInt64, count: UInt64, totalAllocations: UInt64 = 0, totalBytes: UInt64 = 0,
        temporaryAllocations: UInt64 = 0, traceback: Traceback
    ) {
        self.temporaryAllocations = temporaryAllocations
        self.domain = domain
        self.size = size
        self.count = count
        self.totalAllocations = totalAllocations
        self.totalBytes = totalBytes
        self.traceback = traceback
    }
}

/// A module of the traced process and how well it could be symbolized; in JSON documents, under the
/// keys of `CodingKeys` (Docs/SNAPSHOT-JSON.md, REPORT-JSON.md).
public struct ModuleInfo: Sendable, Equatable, Codable {
    public var path: String
    /// GNU build-id as lower-case hex; "" when the module has none.
    public var buildID: String
    public var hasDebugInfo: Bool
    public var wasUnloaded: Bool
    public var isMainExecutable: Bool
    public var loadBias: UInt64
    /// Why its frames are less than fully symbolized, e.g. "not found" or a build-id mismatch.
    public var problem: String?
    /// How many function symbols the symbolizer found; nil when not known (a document written before
    /// heapsnap counted them, or a module it could not read).
    public var functionSymbols: Int?
    /// Where those function names came from; nil when not known.
    public var symbolTable: SymbolTableKind?
    /// What debuginfod answered when the module's debug info was asked for: "found", or why not
    /// ("not found", "Connection refused", ...); nil when it was not asked (no DEBUGINFOD_URLS, or the
    /// debug info was found locally).
    public var debuginfod: String?

    /// The symbol table libdwfl used for a module's function names.
    public enum SymbolTableKind: String, Sendable, Codable {
        /// The full symbol table, in the file or its separate debug file: every function has a name.
        case symtab
        /// MiniDebugInfo (Fedora): an xz-compressed .symtab of the functions .dynsym lacks.
        case gnuDebugdata = "gnu_debugdata"
        /// Only the dynamic symbol table: exported functions have names, the others none.
        case dynsym
        /// No function symbols at all.
        case absent = "none"
    }

    /// How a module's frames can be named, from the best of what was found.
    public enum Names: Equatable, Sendable {
        /// DWARF: file:line, functions and inlined calls.
        case debugInfo
        /// Function names of every function, no file:line.
        case symbols
        /// Names of exported functions only; internal ones stay addresses.
        case exportedSymbols
        /// Nothing: every frame is module+offset.
        case nothing
        /// A document that does not say (written before heapsnap counted symbols).
        case unknown
    }

    public var names: Names {
        if hasDebugInfo { return .debugInfo }
        guard let functionSymbols, let symbolTable else { return .unknown }
        if functionSymbols == 0 || symbolTable == .absent { return .nothing }
        return symbolTable == .dynsym ? .exportedSymbols : .symbols
    }

    public init(
        path: String, buildID: String = "", hasDebugInfo: Bool = false, wasUnloaded: Bool = false,
        isMainExecutable: Bool = false, loadBias: UInt64 = 0, problem: String? = nil,
        functionSymbols: Int? = nil, symbolTable: SymbolTableKind? = nil, debuginfod: String? = nil
    ) {
        self.path = path
        self.buildID = buildID
        self.hasDebugInfo = hasDebugInfo
        self.wasUnloaded = wasUnloaded
        self.isMainExecutable = isMainExecutable
        self.loadBias = loadBias
        self.problem = problem
        self.functionSymbols = functionSymbols
        self.symbolTable = symbolTable
        self.debuginfod = debuginfod
    }

    enum CodingKeys: String, CodingKey {
        case path, buildID = "build_id", loadBias = "load_bias", hasDebugInfo = "has_debug_info"
        case isMainExecutable = "main_executable", wasUnloaded = "unloaded", problem
        case functionSymbols = "function_symbols", symbolTable = "symbol_table", debuginfod
    }

    /// Documents written before the symbol keys existed read as "not known".
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        buildID = try container.decode(String.self, forKey: .buildID)
        loadBias = try container.decode(UInt64.self, forKey: .loadBias)
        hasDebugInfo = try container.decode(Bool.self, forKey: .hasDebugInfo)
        isMainExecutable = try container.decode(Bool.self, forKey: .isMainExecutable)
        wasUnloaded = try container.decode(Bool.self, forKey: .wasUnloaded)
        problem = try container.decodeIfPresent(String.self, forKey: .problem)
        functionSymbols = try container.decodeIfPresent(Int.self, forKey: .functionSymbols)
        symbolTable = try container.decodeIfPresent(SymbolTableKind.self, forKey: .symbolTable)
        debuginfod = try container.decodeIfPresent(String.self, forKey: .debuginfod)
    }

    /// Optional fields are written as null when absent.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(buildID, forKey: .buildID)
        try container.encode(loadBias, forKey: .loadBias)
        try container.encode(hasDebugInfo, forKey: .hasDebugInfo)
        try container.encode(isMainExecutable, forKey: .isMainExecutable)
        try container.encode(wasUnloaded, forKey: .wasUnloaded)
        try container.encode(problem, forKey: .problem)
        try container.encode(functionSymbols, forKey: .functionSymbols)
        try container.encode(symbolTable, forKey: .symbolTable)
        try container.encode(debuginfod, forKey: .debuginfod)
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
        self.python = python
        self.header = header
        self.modules = modules
        self.source = source
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

/// A symbolized snapshot: what `heapsnap` reports on. Each trace's traceback carries its allocation
/// site, decided under `sites` when the snapshot is made.
public struct Snapshot: Sendable {
    public var info: SnapshotInfo
    public internal(set) var traces: [Trace]
    /// The rules the traces' sites were decided under.
    public internal(set) var sites: SiteRules

    public init(info: SnapshotInfo, traces: [Trace], sites: SiteRules = .default) {
        self.info = info
        self.traces = traces
        self.sites = sites
        decideSites()
    }

    /// Live bytes of all traces.
    public var size: UInt64 { traces.reduce(0) { $0 + $1.size } }
    /// Live blocks of all traces.
    public var count: UInt64 { traces.reduce(0) { $0 + $1.count } }
}
