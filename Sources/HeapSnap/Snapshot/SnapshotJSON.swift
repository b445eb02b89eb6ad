// The offline snapshot: a symbolized, self-contained JSON document (schema: Docs/SNAPSHOT-JSON.md).
// Frames are stored once in a table and traces refer to them by index, so a deep program's file stays
// proportional to its distinct frames.
import Foundation

/// The document's marker and the version this build writes and reads.
public enum SnapshotJSON {
    public static let format = "heapsnap-snapshot"
    public static let version = 1
}

private struct JSONDocument: Codable {
    var format: String
    var version: Int
    var info: JSONInfo
    var modules: [JSONModule]
    var frames: [JSONFrame]
    var traces: [JSONTrace]
}

private struct JSONInfo: Codable {
    var formatVersion: UInt32
    var pid: UInt32
    var parentPID: UInt32
    var timeNanoseconds: UInt64
    var startNanoseconds: UInt64
    var sequence: UInt32
    var trigger: String
    var maxFrames: UInt32
    var currentBytes: UInt64
    var peakBytes: UInt64
    var liveBlocks: UInt64
    var totalAllocations: UInt64
    var totalBytes: UInt64
    var trackerBytes: UInt64
    var untrackedFrees: UInt64
    var executable: String
    var arguments: [String]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", pid, parentPID = "ppid", timeNanoseconds = "time_ns"
        case startNanoseconds = "start_ns", sequence, trigger, maxFrames = "max_frames"
        case currentBytes = "current_bytes", peakBytes = "peak_bytes", liveBlocks = "live_blocks"
        case totalAllocations = "total_allocations", totalBytes = "total_bytes", trackerBytes = "tracker_bytes"
        case untrackedFrees = "untracked_frees", executable, arguments
    }
}

private struct JSONModule: Codable {
    var path: String
    var buildID: String
    var loadBias: UInt64
    var hasDebugInfo: Bool
    var isMainExecutable: Bool
    var wasUnloaded: Bool
    var problem: String?

    enum CodingKeys: String, CodingKey {
        case path, buildID = "build_id", loadBias = "load_bias", hasDebugInfo = "has_debug_info"
        case isMainExecutable = "main_executable", wasUnloaded = "unloaded", problem
    }
}

private struct JSONFrame: Codable {
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

    enum CodingKeys: String, CodingKey {
        case module, function, file, line, inlined, address, moduleOffset = "module_offset"
        case symbolOffset = "symbol_offset", kind
    }
}

struct JSONTrace: Codable {
    var domain: UInt32
    var size: UInt64
    var count: UInt64
    var totalAllocations: UInt64
    var totalBytes: UInt64
    var truncated: Bool
    var frames: [Int]

    enum CodingKeys: String, CodingKey {
        case domain, size, count, totalAllocations = "total_allocations", totalBytes = "total_bytes"
        case truncated, frames
    }
}


extension Snapshot {
    /// The offline JSON form of this snapshot (Docs/SNAPSHOT-JSON.md).
    public func jsonData() throws -> Data {
        // Frames by box identity first (cheap), then by value, so equal frames are written once.
        var indexOfBox: [ObjectIdentifier: Int] = [:]
        var frameIndex: [Frame: Int] = [:]
        var frames: [JSONFrame] = []
        // The traces are the bulk of a document (numbers only): written directly, in the exact form
        // JSONEncoder gives the JSONTrace type, which describes them for the reader.
        var tracesText: [UInt8] = [UInt8(ascii: "[")]
        tracesText.reserveCapacity(64 + self.traces.count * 128)
        func append(_ text: StaticString) {
            text.withUTF8Buffer { tracesText.append(contentsOf: $0) }
        }
        func append<Number: BinaryInteger>(_ number: Number) {
            var value = UInt64(number)
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
            withUnsafeMutableBytes(of: &digits) { buffer in
                var start = buffer.count
                repeat {
                    start -= 1
                    buffer[start] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                } while value > 0
                tracesText.append(contentsOf: buffer[start...])
            }
        }
        for (number, trace) in self.traces.enumerated() {
            append(number == 0 ? "{\"count\":" : ",{\"count\":")
            append(trace.count)
            append(",\"domain\":")
            append(trace.domain)
            append(",\"frames\":[")
            for (position, frame) in trace.traceback.frames.enumerated() {
                let index: Int
                if let known = indexOfBox[ObjectIdentifier(frame.storage)] {
                    index = known
                } else if let known = frameIndex[frame] {
                    index = known
                    indexOfBox[ObjectIdentifier(frame.storage)] = known
                } else {
                    index = frames.count
                    frameIndex[frame] = index
                    indexOfBox[ObjectIdentifier(frame.storage)] = index
                    frames.append(JSONFrame(
                        module: frame.module, function: frame.function, file: frame.file, line: frame.line,
                        inlined: frame.isInlined, address: frame.address, moduleOffset: frame.moduleOffset,
                        symbolOffset: frame.symbolOffset, kind: frame.isPython ? "python" : "native"))
                }
                if position > 0 { tracesText.append(UInt8(ascii: ",")) }
                append(index)
            }
            append("],\"size\":")
            append(trace.size)
            append(",\"total_allocations\":")
            append(trace.totalAllocations)
            append(",\"total_bytes\":")
            append(trace.totalBytes)
            append(trace.traceback.isTruncated ? ",\"truncated\":true}" : ",\"truncated\":false}")
        }
        tracesText.append(UInt8(ascii: "]"))
        let traces: [JSONTrace] = []
        let document = JSONDocument(
            format: SnapshotJSON.format, version: SnapshotJSON.version,
            info: JSONInfo(
                formatVersion: info.formatVersion, pid: info.pid, parentPID: info.parentPID,
                timeNanoseconds: info.timeNanoseconds, startNanoseconds: info.startNanoseconds,
                sequence: info.sequence, trigger: info.trigger.name, maxFrames: info.maxFrames,
                currentBytes: info.currentBytes, peakBytes: info.peakBytes, liveBlocks: info.liveBlocks,
                totalAllocations: info.totalAllocations, totalBytes: info.totalBytes,
                trackerBytes: info.trackerBytes, untrackedFrees: info.untrackedFrees,
                executable: info.executable, arguments: info.arguments),
            modules: info.modules.map {
                JSONModule(path: $0.path, buildID: $0.buildID, loadBias: $0.loadBias, hasDebugInfo: $0.hasDebugInfo,
                           isMainExecutable: $0.isMainExecutable, wasUnloaded: $0.wasUnloaded, problem: $0.problem)
            },
            frames: frames, traces: traces)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(document)
        // Keys are sorted, so the document's own "traces" is the last one; escaped strings cannot hold it.
        let placeholder = Data(#""traces":[]"#.utf8)
        guard let range = data.lastRange(of: placeholder) else { throw AnalysisError("cannot encode the traces") }
        data.replaceSubrange(range, with: Data(#""traces":"#.utf8) + Data(tracesText))
        return data
    }

    /// Reads the offline JSON form; `name` (the file) is named in errors.
    public init(jsonData data: Data, name: String = "JSON snapshot") throws {
        let document: JSONDocument
        if let split = try Self.decodeSplitting(data, name: name) {
            document = split
        } else if let decoded = try? JSONDecoder().decode(JSONDocument.self, from: data),
           decoded.format == SnapshotJSON.format, decoded.version == SnapshotJSON.version {
            document = decoded
        } else {
            document = try Self.explainDecodingFailure(data, name: name)
        }
        try self.init(document: document, name: name)
    }

    /// The fast path (SnapshotJSONTraces.swift): the traces by a parser made for them, the rest by
    /// JSONDecoder. nil when the document does not split cleanly; the plain path then decides.
    private static func decodeSplitting(_ data: Data, name: String) throws -> JSONDocument? {
        try data.withUnsafeBytes { raw -> JSONDocument? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let range = JSONTraceReader.tracesRange(in: bytes) else { return nil }
            var rest = Data(UnsafeBufferPointer(rebasing: bytes[..<range.lowerBound]))
            rest.append(contentsOf: Array("[]".utf8))
            rest.append(UnsafeBufferPointer(rebasing: bytes[range.upperBound...]))
            guard var document = try? JSONDecoder().decode(JSONDocument.self, from: rest),
                  document.format == SnapshotJSON.format, document.version == SnapshotJSON.version else { return nil }
            do {
                document.traces = try JSONTraceReader.traces(in: bytes, range: range)
            } catch let failure as JSONTraceReader.Failure {
                throw AnalysisError("\(name): \(failure.message)")
            }
            return document
        }
    }

    /// Any document that did not decode: say why in one line, the marker and version first, so other
    /// JSON gets a plain answer rather than a decoding error.
    private static func explainDecodingFailure(_ data: Data, name: String) throws -> JSONDocument {
        guard let object = try? JSONSerialization.jsonObject(with: data) else {
            throw AnalysisError("\(name): not valid JSON")
        }
        guard let dictionary = object as? [String: Any], dictionary["format"] as? String == SnapshotJSON.format else {
            throw AnalysisError("\(name): JSON but not a heapsnap snapshot (no \"format\": \"\(SnapshotJSON.format)\")")
        }
        guard let version = dictionary["version"] as? Int, version == SnapshotJSON.version else {
            throw AnalysisError("\(name): heapsnap snapshot JSON version \(dictionary["version"] ?? "?") is not supported (this build reads \(SnapshotJSON.version))")
        }
        do {
            return try JSONDecoder().decode(JSONDocument.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw AnalysisError("\(name): missing \"\(key.stringValue)\" at \(Self.codingPath(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw AnalysisError("\(name): wrong value at \(Self.codingPath(context.codingPath))")
        } catch {
            throw AnalysisError("\(name): malformed heapsnap snapshot JSON")
        }
    }

    private init(document: JSONDocument, name: String) throws {
        guard let trigger = SnapshotTrigger.allCases.first(where: { $0.name == document.info.trigger }) else {
            throw AnalysisError("\(name): unknown trigger \"\(document.info.trigger)\"")
        }
        let frames = document.frames.map {
            Frame(module: $0.module, function: $0.function, file: $0.file, line: $0.line, address: $0.address,
                  moduleOffset: $0.moduleOffset, symbolOffset: $0.symbolOffset, isInlined: $0.inlined,
                  isPython: $0.kind == "python")
        }
        var traces: [Trace] = []
        traces.reserveCapacity(document.traces.count)
        for (number, trace) in document.traces.enumerated() {
            guard trace.frames.allSatisfy({ $0 >= 0 && $0 < frames.count }) else {
                throw AnalysisError("\(name): trace \(number) refers to a frame that is not in \"frames\"")
            }
            traces.append(Trace(
                domain: trace.domain, size: trace.size, count: trace.count,
                totalAllocations: trace.totalAllocations, totalBytes: trace.totalBytes,
                traceback: Traceback(frames: trace.frames.map { frames[$0] }, isTruncated: trace.truncated)))
        }
        let i = document.info
        let header = SnapshotHeader(
            formatVersion: i.formatVersion, pid: i.pid, parentPID: i.parentPID, timeNanoseconds: i.timeNanoseconds,
            startNanoseconds: i.startNanoseconds, sequence: i.sequence, trigger: trigger, maxFrames: i.maxFrames,
            currentBytes: i.currentBytes, peakBytes: i.peakBytes, liveBlocks: i.liveBlocks,
            totalAllocations: i.totalAllocations, totalBytes: i.totalBytes, trackerBytes: i.trackerBytes,
            untrackedFrees: i.untrackedFrees, executable: i.executable, arguments: i.arguments)
        let modules = document.modules.map {
            ModuleInfo(path: $0.path, buildID: $0.buildID, hasDebugInfo: $0.hasDebugInfo, wasUnloaded: $0.wasUnloaded,
                       isMainExecutable: $0.isMainExecutable, loadBias: $0.loadBias, problem: $0.problem)
        }
        self.init(info: SnapshotInfo(header: header, modules: modules, source: ""), traces: traces)
    }

    private static func codingPath(_ path: [CodingKey]) -> String {
        path.isEmpty ? "top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
