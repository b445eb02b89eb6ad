// The offline snapshot: a symbolized, self-contained JSON document (schema: Docs/SNAPSHOT-JSON.md).
// Frames are stored once in a table and traces refer to them by index, so a deep program's file stays
// proportional to its distinct frames. Written by JSONWriter, read by JSONDecoder (its traces by the
// parser of SnapshotJSONTraces.swift, for speed), all from the one Codable shape below; the header and
// modules are the model's own Codable types, shared with reports.
import Foundation

/// The document's marker and the version this build writes and reads.
public enum SnapshotJSON {
    public static let format = "heapsnap-snapshot"
    public static let version = 1
}

struct SnapshotDocument: Codable {
    var format: String
    var version: Int
    var info: SnapshotHeader
    /// The interpreter of a Python process; absent otherwise.
    var python: PythonRecord?
    var modules: [ModuleInfo]
    var frames: [FrameRecord]
    var traces: [TraceRecord]

    enum CodingKeys: String, CodingKey {
        case format, version, info, python, modules, frames, traces
    }

    /// The PYTHON section without its code records (the frames are decoded already): what `info`, the
    /// report header and the sites need of it.
    struct PythonRecord: Codable {
        /// `Py_Version`, exact.
        var pyVersion: UInt32
        /// The same as text ("3.11.2"), as reports write it; not read back.
        var version: String?
        var status: UInt32
        var detail: String
        var pythonMalloc: String
        var codeObjects: Int

        enum CodingKeys: String, CodingKey {
            case pyVersion = "py_version", version, status, detail, pythonMalloc = "pythonmalloc"
            case codeObjects = "code_objects"
        }

        init(_ python: PythonInterpreter) {
            pyVersion = python.version
            version = python.versionText
            status = python.status
            detail = python.detail
            pythonMalloc = python.pythonMalloc
            codeObjects = python.codeCount
        }

        var interpreter: PythonInterpreter {
            PythonInterpreter(version: pyVersion, status: status, detail: detail, pythonMalloc: pythonMalloc,
                              codeCount: codeObjects)
        }
    }

    /// One entry of the frame table.
    struct FrameRecord: Codable {
        var module: String
        var function: String?
        var file: String?
        var line: Int
        var inlined: Bool
        var address: UInt64?
        var moduleOffset: UInt64?
        var symbolOffset: UInt64?
        /// "native" or "python"; absent in files written before Python frames existed (native).
        var kind: String?
        /// Left out when unknown.
        var functionLine: Int?

        enum CodingKeys: String, CodingKey {
            case module, function, file, line, inlined, address, moduleOffset = "module_offset"
            case symbolOffset = "symbol_offset", kind, functionLine = "function_line"
        }
    }

    /// One trace, its traceback as indices into the frame table.
    struct TraceRecord: Codable {
        var domain: UInt32
        var size: UInt64
        var count: UInt64
        var totalAllocations: UInt64
        var totalBytes: UInt64
        /// 0 when absent (documents from before format version 2).
        var temporaryAllocations: UInt64
        var truncated: Bool
        var frames: [Int]
        /// Where in `frames` the Python list begins when it could not be paired with the native frames
        /// (Traceback.pythonStart); absent otherwise.
        var pythonStart: Int?

        enum CodingKeys: String, CodingKey {
            case domain, size, count, totalAllocations = "total_allocations", totalBytes = "total_bytes"
            case temporaryAllocations = "temporary_allocations"
            case truncated, frames, pythonStart = "python_start"
        }

        init(domain: UInt32, size: UInt64, count: UInt64, totalAllocations: UInt64, totalBytes: UInt64,
             temporaryAllocations: UInt64 = 0, truncated: Bool, frames: [Int], pythonStart: Int? = nil) {
            self.pythonStart = pythonStart
            self.temporaryAllocations = temporaryAllocations
            self.domain = domain
            self.size = size
            self.count = count
            self.totalAllocations = totalAllocations
            self.totalBytes = totalBytes
            self.truncated = truncated
            self.frames = frames
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            domain = try container.decodeNumber(UInt32.self, forKey: .domain)
            size = try container.decodeNumber(UInt64.self, forKey: .size)
            count = try container.decodeNumber(UInt64.self, forKey: .count)
            totalAllocations = try container.decodeNumber(UInt64.self, forKey: .totalAllocations)
            totalBytes = try container.decodeNumber(UInt64.self, forKey: .totalBytes)
            temporaryAllocations = container.contains(.temporaryAllocations)
                ? try container.decodeNumber(UInt64.self, forKey: .temporaryAllocations) : 0
            truncated = try container.decode(Bool.self, forKey: .truncated)
            frames = try container.decode([Int].self, forKey: .frames)
            pythonStart = try container.decodeIfPresent(Int.self, forKey: .pythonStart)
        }
    }
}

extension KeyedDecodingContainer {
    /// JSONDecoder reports a number out of the type's range (a negative size, a fraction) as invalid JSON
    /// at the top level; this says which key holds it.
    fileprivate func decodeNumber<Number: FixedWidthInteger & Decodable>(_ type: Number.Type, forKey key: Key) throws -> Number {
        do {
            return try decode(type, forKey: key)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath + [key], debugDescription: "not a \(type)"))
        }
    }
}

/// Just the marker, to say what a document that did not decode is.
private struct DocumentMarker: Decodable {
    var format: String?
    var version: Int?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try? container.decodeIfPresent(String.self, forKey: .format)
        version = try? container.decodeIfPresent(Int.self, forKey: .version)
    }

    enum CodingKeys: String, CodingKey { case format, version }
}

extension Snapshot {
    /// The offline JSON form of this snapshot (Docs/SNAPSHOT-JSON.md).
    public func jsonData() throws -> Data {
        // Frames by box identity first (cheap), then by value, so equal frames are written once.
        var indexOfBox: [ObjectIdentifier: Int] = [:]
        var frameIndex: [Frame: Int] = [:]
        var frames: [SnapshotDocument.FrameRecord] = []
        func index(of frame: Frame) -> Int {
            if let known = indexOfBox[ObjectIdentifier(frame.storage)] { return known }
            let index: Int
            if let known = frameIndex[frame] {
                index = known
            } else {
                index = frames.count
                frameIndex[frame] = index
                frames.append(.init(
                    module: frame.module, function: frame.function, file: frame.file, line: frame.line,
                    inlined: frame.isInlined, address: frame.address, moduleOffset: frame.moduleOffset,
                    symbolOffset: frame.symbolOffset, kind: frame.isPython ? "python" : "native",
                    functionLine: frame.functionLine > 0 ? frame.functionLine : nil))
            }
            indexOfBox[ObjectIdentifier(frame.storage)] = index
            return index
        }
        let traces = self.traces.map { trace in
            SnapshotDocument.TraceRecord(
                domain: trace.domain, size: trace.size, count: trace.count, totalAllocations: trace.totalAllocations,
                totalBytes: trace.totalBytes, temporaryAllocations: trace.temporaryAllocations,
                truncated: trace.traceback.isTruncated,
                frames: trace.traceback.frames.map(index(of:)), pythonStart: trace.traceback.pythonStart)
        }
        let document = SnapshotDocument(
            format: SnapshotJSON.format, version: SnapshotJSON.version, info: info.header,
            python: info.python.map(SnapshotDocument.PythonRecord.init), modules: info.modules,
            frames: frames, traces: traces)
        // About 100 bytes a trace besides its frame numbers, 200 a frame.
        let frameNumbers = traces.reduce(0) { $0 + $1.frames.count }
        let capacity = 4096 + 100 * traces.count + 7 * frameNumbers + 200 * frames.count
        return Data(try JSONWriter(pretty: false).bytes(document, capacity: capacity))
    }

    /// Writes the offline JSON form to `path`.
    public func write(jsonTo path: String) throws {
        let data = try jsonData()
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw AnalysisError("\(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads the offline JSON form, deciding each trace's site under `sites`; `name` (the file) is named
    /// in errors.
    public init(jsonData data: Data, name: String = "JSON snapshot", sites: SiteRules = .default) throws {
        let document: SnapshotDocument
        if let split = try Self.decodeSplitting(data, name: name) {
            document = split
        } else {
            do {
                document = try JSONDecoder().decode(SnapshotDocument.self, from: data)
            } catch {
                throw Self.explain(error, in: data, name: name)
            }
        }
        guard document.format == SnapshotJSON.format, document.version == SnapshotJSON.version else {
            throw Self.explain(nil, in: data, name: name)
        }
        let frames = document.frames.map {
            Frame(module: $0.module, function: $0.function, file: $0.file, line: $0.line, address: $0.address,
                  moduleOffset: $0.moduleOffset, symbolOffset: $0.symbolOffset, isInlined: $0.inlined,
                  isPython: $0.kind == "python", functionLine: $0.functionLine ?? 0)
        }
        var traces: [Trace] = []
        traces.reserveCapacity(document.traces.count)
        // as in the binary reader: every total stays a signed 64-bit value, so no later sum can overflow
        var sums: [UInt64] = [0, 0, 0, 0]
        let names = ["size", "count", "total_allocations", "total_bytes"]
        for (number, trace) in document.traces.enumerated() {
            guard trace.frames.allSatisfy({ $0 >= 0 && $0 < frames.count }) else {
                throw AnalysisError("\(name): trace \(number) refers to a frame that is not in \"frames\"")
            }
            if let start = trace.pythonStart, !(0...trace.frames.count).contains(start) {
                throw AnalysisError("\(name): trace \(number) has python_start \(start) outside its \(trace.frames.count) frames")
            }
            for (i, value) in [trace.size, trace.count, trace.totalAllocations, trace.totalBytes].enumerated() {
                let (sum, overflow) = sums[i].addingReportingOverflow(value)
                guard !overflow, sum <= UInt64(Int64.max) else {
                    throw AnalysisError("\(name): corrupt: the sum of the traces' \(names[i]) overflows (at trace \(number))")
                }
                sums[i] = sum
            }
            traces.append(Trace(
                domain: trace.domain, size: trace.size, count: trace.count,
                totalAllocations: trace.totalAllocations, totalBytes: trace.totalBytes,
                temporaryAllocations: trace.temporaryAllocations,
                traceback: Traceback(frames: trace.frames.map { frames[$0] }, isTruncated: trace.truncated,
                                     pythonStart: trace.pythonStart)))
        }
        self.init(info: SnapshotInfo(header: document.info, modules: document.modules, source: "",
                                     python: document.python?.interpreter),
                  traces: traces, sites: sites)
    }

    /// The fast path: the traces by JSONTraceReader, the rest (with an empty "traces") by JSONDecoder.
    /// nil when the document does not split cleanly or is not a snapshot; the plain path then decides.
    private static func decodeSplitting(_ data: Data, name: String) throws -> SnapshotDocument? {
        try data.withUnsafeBytes { raw -> SnapshotDocument? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let range = JSONTraceReader.tracesRange(in: bytes) else { return nil }
            var rest = Data(UnsafeBufferPointer(rebasing: bytes[..<range.lowerBound]))
            rest.append(contentsOf: Array("[]".utf8))
            rest.append(UnsafeBufferPointer(rebasing: bytes[range.upperBound...]))
            guard var document = try? JSONDecoder().decode(SnapshotDocument.self, from: rest),
                  document.format == SnapshotJSON.format, document.version == SnapshotJSON.version else { return nil }
            do {
                document.traces = try JSONTraceReader.traces(in: bytes, range: range)
            } catch let failure as JSONTraceReader.Failure {
                throw AnalysisError("\(name): \(failure.message)")
            }
            return document
        }
    }

    /// Why a document did not decode, in one line: the marker and version first, so other JSON gets a
    /// plain answer rather than a decoding error.
    private static func explain(_ error: (any Error)?, in data: Data, name: String) -> AnalysisError {
        guard let marker = try? JSONDecoder().decode(DocumentMarker.self, from: data) else {
            return AnalysisError("\(name): not valid JSON")
        }
        guard marker.format == SnapshotJSON.format else {
            return AnalysisError("\(name): JSON but not a heapsnap snapshot (no \"format\": \"\(SnapshotJSON.format)\")")
        }
        guard marker.version == SnapshotJSON.version else {
            let version = marker.version.map(String.init) ?? "?"
            return AnalysisError("\(name): heapsnap snapshot JSON version \(version) is not supported (this build reads \(SnapshotJSON.version))")
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context)?:
            return AnalysisError("\(name): missing \"\(key.stringValue)\" at \(codingPath(context.codingPath, field: false))")
        case DecodingError.dataCorrupted(let context)? where context.debugDescription.hasPrefix(SnapshotTrigger.unknownPrefix):
            return AnalysisError("\(name): \(context.debugDescription)")
        case DecodingError.typeMismatch(_, let context)?, DecodingError.valueNotFound(_, let context)?,
             DecodingError.dataCorrupted(let context)?:
            return AnalysisError("\(name): wrong value at \(codingPath(context.codingPath))")
        default:
            return AnalysisError("\(name): malformed heapsnap snapshot JSON")
        }
    }

    /// The path to the field that holds the problem, e.g. ".traces[0].frames" (an index into the field's
    /// own array left out).
    private static func codingPath(_ path: [any CodingKey], field: Bool = true) -> String {
        var path = path[...]
        while field, path.count > 1, path.last?.intValue != nil { path = path.dropLast() }
        return path.isEmpty ? "top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
