// The --format json documents (schema: Docs/REPORT-JSON.md). Field names are snake_case and stable;
// new fields may be added, none removed or changed in meaning without a new "version". Each document
// is an Encodable shape below, written by JSONWriter; the header and modules encode as the model's own
// Codable types, with the same keys as in the offline snapshot.
import Foundation

public enum JSONReport {
    public static let format = "heapsnap-report"
    public static let version = 1

    /// A top, diff or growth report.
    public static func document(_ report: StatisticsReport) throws -> String {
        try JSONWriter().string(ReportDocument(report: report))
    }

    /// growth over several processes: a growth document per process, ranked, and those left out.
    public static func document(_ report: ProcessGrowthReport) throws -> String {
        try JSONWriter().string(ProcessGrowthDocument(report: report))
    }

    /// `heapsnap info`: the header, the modules, and the live totals of the traces.
    public static func info(_ snapshot: Snapshot) throws -> String {
        try JSONWriter().string(InfoDocument(
            snapshot: SnapshotSummary(info: snapshot.info),
            total: ReportTotal(size: snapshot.size, count: snapshot.count, entries: snapshot.traces.count)))
    }

    /// `heapsnap info` of several files: one document whose `snapshots` are the info documents, in order.
    public static func info(_ snapshots: [Snapshot]) throws -> String {
        try JSONWriter().string(InfoListDocument(snapshots: snapshots.map {
            InfoDocument(snapshot: SnapshotSummary(info: $0.info),
                         total: ReportTotal(size: $0.size, count: $0.count, entries: $0.traces.count))
        }))
    }

    /// RFC 3339 in UTC with nanoseconds, e.g. "2026-11-26T00:50:01.123456789Z".
    static func isoTime(_ nanoseconds: UInt64) -> String {
        let base = TextReport.formatTime(nanoseconds, "%Y-%m-%dT%H:%M:%S", utc: true)
        let fraction = String(nanoseconds % 1_000_000_000)
        return base + "." + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }
}

private struct ReportDocument: Encodable {
    var report: StatisticsReport

    enum CodingKeys: String, CodingKey {
        case format, version, report, groupBy = "group_by", cumulative, sort, snapshot, oldSnapshot = "old_snapshot"
        case snapshots, estimated, sampling, total, stats, other
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(JSONReport.format, forKey: .format)
        try container.encode(JSONReport.version, forKey: .version)
        try container.encode(report.kind.rawValue, forKey: .report)
        try container.encode(report.groupBy.rawValue, forKey: .groupBy)
        try container.encode(report.cumulative, forKey: .cumulative)
        try container.encode(report.sort.rawValue, forKey: .sort)
        try container.encode(report.snapshots.last.map(SnapshotSummary.init), forKey: .snapshot)
        switch report.kind {
        case .top: break
        case .diff: try container.encode(SnapshotSummary(info: report.snapshots[0]), forKey: .oldSnapshot)
        case .growth: try container.encode(report.snapshots.map(SnapshotSummary.init), forKey: .snapshots)
        }
        // sampled snapshots' figures are estimates (Docs/DESIGN.md, "Sampling")
        try container.encode(report.snapshots.contains { $0.sampling != nil }, forKey: .estimated)
        try container.encode(TextReport.samplingText(report.snapshots), forKey: .sampling)
        try container.encode(report.total, forKey: .total)
        try container.encode(Array(report.shown), forKey: .stats)
        try container.encode(report.rest, forKey: .other)
    }
}

private struct ProcessGrowthDocument: Encodable {
    var report: ProcessGrowthReport

    enum CodingKeys: String, CodingKey {
        case format, version, report, groupBy = "group_by", minimumSnapshots = "minimum_snapshots", processes
        case leftOut = "left_out"
    }

    struct Process: Encodable {
        var process: ProcessIdentity
        var steadyGrowth: Int64?
        var growth: ReportDocument?
        var snapshots: [String]?

        enum CodingKeys: String, CodingKey {
            case pid, startNanoseconds = "start_ns", executable, steadyGrowth = "steady_growth", growth, snapshots
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(process.pid, forKey: .pid)
            try container.encode(process.startNanoseconds, forKey: .startNanoseconds)
            try container.encode(process.executable, forKey: .executable)
            try container.encodeIfPresent(steadyGrowth, forKey: .steadyGrowth)
            try container.encodeIfPresent(growth, forKey: .growth)
            try container.encodeIfPresent(snapshots, forKey: .snapshots)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(JSONReport.format, forKey: .format)
        try container.encode(JSONReport.version, forKey: .version)
        try container.encode("growth_by_process", forKey: .report)
        try container.encode(report.groupBy.rawValue, forKey: .groupBy)
        try container.encode(report.minimumSnapshots, forKey: .minimumSnapshots)
        try container.encode(report.processes.map {
            Process(process: $0.process, steadyGrowth: $0.steadyGrowth, growth: ReportDocument(report: $0.report))
        }, forKey: .processes)
        try container.encode(report.leftOut.map { Process(process: $0.process, snapshots: $0.snapshots.map(\.source)) },
                             forKey: .leftOut)
    }
}

private struct InfoDocument: Encodable {
    var format = JSONReport.format
    var version = JSONReport.version
    var report = "info"
    var snapshot: SnapshotSummary
    var total: ReportTotal
}

private struct InfoListDocument: Encodable {
    var format = JSONReport.format
    var version = JSONReport.version
    var report = "info_list"
    var snapshots: [InfoDocument]
}

/// A snapshot as reports show it: where it was read from and when it was taken, its header, its modules.
private struct SnapshotSummary: Encodable {
    var info: SnapshotInfo

    enum CodingKeys: String, CodingKey { case path, time, modules, python }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(info.source, forKey: .path)
        try container.encode(JSONReport.isoTime(info.timeNanoseconds), forKey: .time)
        try info.header.encode(to: encoder)  // the header's own keys, in the same object
        try container.encode(info.modules, forKey: .modules)
        try container.encode(info.python.map(PythonSummary.init), forKey: .python)
    }
}

/// The interpreter of a Python process as reports show it (Docs/REPORT-JSON.md).
private struct PythonSummary: Encodable {
    var python: PythonInterpreter

    enum CodingKeys: String, CodingKey {
        case version, framesCaptured = "frames_captured", detail, pythonMalloc = "pythonmalloc", pymalloc
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(python.versionText, forKey: .version)
        try container.encode(python.isCapturing, forKey: .framesCaptured)
        try container.encode(python.detail, forKey: .detail)
        try container.encode(python.pythonMalloc, forKey: .pythonMalloc)
        try container.encode(python.usesPymalloc, forKey: .pymalloc)
    }
}

extension ReportTotal: Encodable {
    enum CodingKeys: String, CodingKey {
        case size, count, sizeDiff = "size_diff", countDiff = "count_diff", entries
    }

    public func encode(to encoder: any Encoder) throws {
        try Self.encodeAmounts(size: size, count: count, sizeDiff: sizeDiff, countDiff: countDiff, to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
    }

    /// Live bytes and blocks and their changes: the first fields of totals and entries alike.
    static func encodeAmounts(size: UInt64, count: UInt64, sizeDiff: Int64?, countDiff: Int64?, to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(size, forKey: .size)
        try container.encode(count, forKey: .count)
        try container.encodeIfPresent(sizeDiff, forKey: .sizeDiff)
        try container.encodeIfPresent(countDiff, forKey: .countDiff)
    }
}

extension ReportEntry: Encodable {
    enum CodingKeys: String, CodingKey {
        case sizes, counts, growthPerSnapshot = "growth_per_snapshot", traceback, tracebackTruncated = "traceback_truncated"
        case calls, allocatedBytes = "allocated_bytes", temporaryAllocations = "temporary_allocations"
        case callsDiff = "calls_diff", allocatedBytesDiff = "allocated_bytes_diff"
        case temporaryAllocationsDiff = "temporary_allocations_diff"
    }

    public func encode(to encoder: any Encoder) throws {
        try ReportTotal.encodeAmounts(size: size, count: count, sizeDiff: sizeDiff, countDiff: countDiff, to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(sizes, forKey: .sizes)
        try container.encodeIfPresent(counts, forKey: .counts)
        try container.encodeIfPresent(growthPerSnapshot, forKey: .growthPerSnapshot)
        if let churn {
            try container.encode(churn.calls, forKey: .calls)
            try container.encode(churn.allocated, forKey: .allocatedBytes)
            try container.encode(churn.temporary, forKey: .temporaryAllocations)
        }
        if let churnDiff {
            try container.encode(churnDiff.calls, forKey: .callsDiff)
            try container.encode(churnDiff.allocated, forKey: .allocatedBytesDiff)
            try container.encode(churnDiff.temporary, forKey: .temporaryAllocationsDiff)
        }
        try FrameSummary(frame: site).encodeSite(to: encoder)
        try container.encode(traceback.frames.map(FrameSummary.init), forKey: .traceback)
        try container.encode(traceback.isTruncated, forKey: .tracebackTruncated)
    }
}

/// A frame as reports show it: its site fields, and for traceback frames where it is in memory.
private struct FrameSummary: Encodable {
    var frame: Frame

    enum CodingKeys: String, CodingKey {
        case file, line, function, module, kind, inlined, address, moduleOffset = "module_offset"
    }

    /// The fields that say where a site is (an entry's own, and the first of each traceback frame).
    func encodeSite(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(frame.file, forKey: .file)
        try container.encode(frame.line, forKey: .line)
        try container.encode(frame.function, forKey: .function)
        try container.encode(frame.module, forKey: .module)
        try container.encode(frame.isPython ? "python" : "native", forKey: .kind)
    }

    func encode(to encoder: any Encoder) throws {
        try encodeSite(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(frame.isInlined, forKey: .inlined)
        try container.encode(frame.address.map(Self.hex), forKey: .address)
        try container.encode(frame.moduleOffset.map(Self.hex), forKey: .moduleOffset)
    }

    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
