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

    enum CodingKeys: String, CodingKey {
        case module, function, file, line, inlined, address, moduleOffset = "module_offset"
        case symbolOffset = "symbol_offset"
    }
}

private struct JSONTrace: Codable {
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

private let triggerNames: [SnapshotTrigger: String] = [
    .api: "api", .exit: "exit", .signal: "signal", .interval: "interval", .peak: "peak",
]

extension SnapshotTrigger {
    /// The trigger's name as the JSON form and reports spell it.
    public var name: String { triggerNames[self]! }
}

extension Snapshot {
    /// The offline JSON form of this snapshot (Docs/SNAPSHOT-JSON.md).
    public func jsonData() throws -> Data {
        var frameIndex: [Frame: Int] = [:]
        var frames: [JSONFrame] = []
        var traces: [JSONTrace] = []
        traces.reserveCapacity(self.traces.count)
        for trace in self.traces {
            var indices: [Int] = []
            indices.reserveCapacity(trace.traceback.frames.count)
            for frame in trace.traceback.frames {
                if let index = frameIndex[frame] {
                    indices.append(index)
                    continue
                }
                frameIndex[frame] = frames.count
                indices.append(frames.count)
                frames.append(JSONFrame(
                    module: frame.module, function: frame.function, file: frame.file, line: frame.line,
                    inlined: frame.isInlined, address: frame.address, moduleOffset: frame.moduleOffset,
                    symbolOffset: frame.symbolOffset))
            }
            traces.append(JSONTrace(
                domain: trace.domain, size: trace.size, count: trace.count, totalAllocations: trace.totalAllocations,
                totalBytes: trace.totalBytes, truncated: trace.traceback.isTruncated, frames: indices))
        }
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
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(document)
    }

    /// Reads the offline JSON form; `name` (the file) is named in errors.
    public init(jsonData data: Data, name: String = "JSON snapshot") throws {
        // Check the marker first, so any other JSON gets a plain answer rather than a decoding error.
        guard let object = try? JSONSerialization.jsonObject(with: data) else {
            throw AnalysisError("\(name): not valid JSON")
        }
        guard let dictionary = object as? [String: Any], dictionary["format"] as? String == SnapshotJSON.format else {
            throw AnalysisError("\(name): JSON but not a heapsnap snapshot (no \"format\": \"\(SnapshotJSON.format)\")")
        }
        guard let version = dictionary["version"] as? Int, version == SnapshotJSON.version else {
            throw AnalysisError("\(name): heapsnap snapshot JSON version \(dictionary["version"] ?? "?") is not supported (this build reads \(SnapshotJSON.version))")
        }
        let document: JSONDocument
        do {
            document = try JSONDecoder().decode(JSONDocument.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw AnalysisError("\(name): missing \"\(key.stringValue)\" at \(Self.codingPath(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw AnalysisError("\(name): wrong value at \(Self.codingPath(context.codingPath))")
        } catch {
            throw AnalysisError("\(name): malformed heapsnap snapshot JSON")
        }
        guard let trigger = triggerNames.first(where: { $0.value == document.info.trigger })?.key else {
            throw AnalysisError("\(name): unknown trigger \"\(document.info.trigger)\"")
        }
        let frames = document.frames.map {
            Frame(module: $0.module, function: $0.function, file: $0.file, line: $0.line, address: $0.address,
                  moduleOffset: $0.moduleOffset, symbolOffset: $0.symbolOffset, isInlined: $0.inlined)
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
