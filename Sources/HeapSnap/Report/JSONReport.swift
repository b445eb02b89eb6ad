// The --format json documents (schema: Docs/REPORT-JSON.md). Field names are snake_case and stable;
// new fields may be added, none removed or changed in meaning without a new "version".
import Foundation

public enum JSONReport {
    public static let format = "heapsnap-report"
    public static let version = 1

    public static func document(_ report: StatisticsReport) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("format", .string(format)),
            ("version", .int(Int64(version))),
            ("report", .string(report.kind.rawValue)),
            ("group_by", .string(report.groupBy.rawValue)),
            ("cumulative", .bool(report.cumulative)),
            ("snapshot", report.snapshots.last.map(snapshot) ?? .null),
        ]
        switch report.kind {
        case .top: break
        case .diff: members.append(("old_snapshot", snapshot(report.snapshots[0])))
        case .growth: members.append(("snapshots", .array(report.snapshots.map(snapshot))))
        }
        members.append(("total", total(report.total)))
        members.append(("stats", .array(report.shown.map(entry))))
        members.append(("other", report.rest.map(total) ?? .null))
        return .object(members)
    }

    /// `heapsnap info`: the header, the modules, and the live totals of the traces.
    public static func info(_ snapshot: Snapshot) -> JSONValue {
        .object([
            ("format", .string(format)),
            ("version", .int(Int64(version))),
            ("report", .string("info")),
            ("snapshot", Self.snapshot(snapshot.info)),
            ("total", total(ReportTotal(size: snapshot.size, count: snapshot.count, entries: snapshot.traces.count))),
        ])
    }

    public static func snapshot(_ info: SnapshotInfo) -> JSONValue {
        .object([
            ("path", .string(info.source)),
            ("executable", .string(info.executable)),
            ("arguments", .array(info.arguments.map(JSONValue.string))),
            ("pid", .uint(UInt64(info.pid))),
            ("ppid", .uint(UInt64(info.parentPID))),
            ("time", .string(isoTime(info.timeNanoseconds))),
            ("time_ns", .uint(info.timeNanoseconds)),
            ("start_ns", .uint(info.startNanoseconds)),
            ("sequence", .uint(UInt64(info.sequence))),
            ("trigger", .string(info.trigger.name)),
            ("max_frames", .uint(UInt64(info.maxFrames))),
            ("current_bytes", .uint(info.currentBytes)),
            ("peak_bytes", .uint(info.peakBytes)),
            ("live_blocks", .uint(info.liveBlocks)),
            ("total_allocations", .uint(info.totalAllocations)),
            ("total_bytes", .uint(info.totalBytes)),
            ("tracker_bytes", .uint(info.trackerBytes)),
            ("untracked_frees", .uint(info.untrackedFrees)),
            ("modules", .array(info.modules.map(module))),
            ("python", info.python.map(python) ?? .null),
        ])
    }

    static func python(_ python: PythonInterpreter) -> JSONValue {
        .object([
            ("version", .string(python.versionText)),
            ("frames_captured", .bool(python.isCapturing)),
            ("detail", .string(python.detail)),
            ("pythonmalloc", .string(python.pythonMalloc)),
            ("pymalloc", .bool(python.usesPymalloc)),
        ])
    }

    static func module(_ module: ModuleInfo) -> JSONValue {
        .object([
            ("path", .string(module.path)),
            ("build_id", .string(module.buildID)),
            ("main", .bool(module.isMainExecutable)),
            ("debug_info", .bool(module.hasDebugInfo)),
            ("unloaded", .bool(module.wasUnloaded)),
            ("problem", .optional(module.problem)),
        ])
    }

    static func total(_ total: ReportTotal) -> JSONValue {
        var members: [(String, JSONValue)] = [("size", .uint(total.size)), ("count", .uint(total.count))]
        if let diff = total.sizeDiff { members.append(("size_diff", .int(diff))) }
        if let diff = total.countDiff { members.append(("count_diff", .int(diff))) }
        members.append(("entries", .int(Int64(total.entries))))
        return .object(members)
    }

    static func entry(_ entry: ReportEntry) -> JSONValue {
        var members: [(String, JSONValue)] = [("size", .uint(entry.size)), ("count", .uint(entry.count))]
        if let diff = entry.sizeDiff { members.append(("size_diff", .int(diff))) }
        if let diff = entry.countDiff { members.append(("count_diff", .int(diff))) }
        if let sizes = entry.sizes { members.append(("sizes", .array(sizes.map(JSONValue.uint)))) }
        if let counts = entry.counts { members.append(("counts", .array(counts.map(JSONValue.uint)))) }
        if let rate = entry.growthPerSnapshot { members.append(("growth_per_snapshot", .double(rate))) }
        members.append(contentsOf: siteMembers(entry.site))
        members.append(("traceback", .array(entry.traceback.frames.map(frame))))
        members.append(("traceback_truncated", .bool(entry.traceback.isTruncated)))
        return .object(members)
    }

    static func siteMembers(_ frame: Frame) -> [(String, JSONValue)] {
        [
            ("file", .optional(frame.file)),
            ("line", .int(Int64(frame.line))),
            ("function", .optional(frame.function)),
            ("module", .string(frame.module)),
            ("kind", .string(frame.isPython ? "python" : "native")),
        ]
    }

    static func frame(_ frame: Frame) -> JSONValue {
        var members = siteMembers(frame)
        members.append(("inlined", .bool(frame.isInlined)))
        members.append(("address", frame.address.map { .string("0x" + String($0, radix: 16)) } ?? .null))
        members.append(("module_offset", frame.moduleOffset.map { .string("0x" + String($0, radix: 16)) } ?? .null))
        return .object(members)
    }

    /// RFC 3339 in UTC with nanoseconds, e.g. "2026-11-26T00:50:01.123456789Z".
    static func isoTime(_ nanoseconds: UInt64) -> String {
        let base = TextReport.formatTime(nanoseconds, "%Y-%m-%dT%H:%M:%S", utc: true)
        let fraction = String(nanoseconds % 1_000_000_000)
        return base + "." + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }
}
