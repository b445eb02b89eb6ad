// `growth` over the snapshots of several processes: one growth report per process, the process whose
// memory grew steadily the most first, as text (a section per process) and as JSON (Docs/REPORT-JSON.md).
import Foundation

/// One process's steadily growing groups (`rankGrowth` over its own series).
public struct ProcessGrowth: Sendable {
    public var process: ProcessIdentity
    public var report: StatisticsReport
    /// Bytes that grew steadily in the process: the sum of last minus first over every ranked group
    /// (all of them, not only those within the report's limit). Groups do not overlap (growth is never
    /// cumulative), so no byte is counted twice.
    public var steadyGrowth: Int64
}

/// `growth` over the snapshots of several processes: a report per process, ranked.
public struct ProcessGrowthReport: Sendable {
    /// The processes with enough snapshots, the one with the most steadily growing bytes first; ties by
    /// live bytes in its last snapshot, then program name, pid and start time.
    public var processes: [ProcessGrowth]
    /// Processes left out for having fewer than `minimumSnapshots`, with their snapshots, in the order given.
    public var leftOut: [(process: ProcessIdentity, snapshots: [SnapshotInfo])]
    public var minimumSnapshots: Int
    public var groupBy: GroupKey

    /// `series` is one (process, snapshots oldest first) per process, as `groupByProcess` makes them,
    /// every snapshot already filtered; `leftOut` the processes that had too few.
    public init(
        series: [(process: ProcessIdentity, snapshots: [Snapshot])],
        leftOut: [(process: ProcessIdentity, snapshots: [SnapshotInfo])], minimumSnapshots: Int,
        groupBy: GroupKey, limit: Int?, sites: SiteRules = .default
    ) {
        processes = series.map { process, snapshots in
            let ranked = rankGrowth(snapshots, by: groupBy, sites: sites)
            return ProcessGrowth(
                process: process,
                report: StatisticsReport(growth: ranked, series: snapshots, groupBy: groupBy, limit: limit, sites: sites),
                steadyGrowth: ranked.reduce(0) { $0 &+ $1.totalGrowth })
        }
        processes.sort { a, b in
            if a.steadyGrowth != b.steadyGrowth { return a.steadyGrowth > b.steadyGrowth }
            if a.report.total.size != b.report.total.size { return a.report.total.size > b.report.total.size }
            return (a.process.program, a.process.pid, a.process.startNanoseconds)
                < (b.process.program, b.process.pid, b.process.startNanoseconds)
        }
        self.leftOut = leftOut
        self.minimumSnapshots = minimumSnapshots
        self.groupBy = groupBy
    }
}

extension TextReport {
    /// A heading line that says how many processes and which were left out, then a section per process:
    /// "PROGRAM pid N (child of pid P): +X grew steadily (process i of n)" and its growth report.
    public func render(_ report: ProcessGrowthReport) -> String {
        let count = report.processes.count
        let used = report.processes.reduce(0) { $0 + $1.report.snapshots.count }
        var heading = "Growth per process: \(count) process\(count == 1 ? "" : "es") in \(used) snapshots, "
            + "the most steadily growing memory first"
        if !report.leftOut.isEmpty {
            let left = report.leftOut.count
            let shown = report.leftOut.prefix(4).map { process, snapshots in
                "\(process.program) pid \(process.pid) (\(snapshots.count) snapshot\(snapshots.count == 1 ? "" : "s"))"
            }
            heading += "; left out, with fewer than \(report.minimumSnapshots) snapshots: "
                + shown.joined(separator: ", ") + (left > 4 ? " and \(left - 4) more" : "")
        }
        var sections = [options.style.apply(.heading, heading) + "\n"]
        let pids = Set(report.processes.map(\.process.pid) + report.leftOut.map(\.process.pid))
        for (index, entry) in report.processes.enumerated() {
            // "child of" when the parent is among the processes: a fork or a program the first one ran
            let parent = pids.contains(entry.process.parentPID) && entry.process.parentPID != entry.process.pid
                ? " (child of pid \(entry.process.parentPID))" : ""
            let title = "\(entry.process.program) pid \(entry.process.pid)\(parent): "
                + "\(SizeFormat.string(entry.steadyGrowth, signed: true)) grew steadily (process \(index + 1) of \(count))"
            sections.append(options.style.apply(.heading, title) + "\n" + render(entry.report))
        }
        return sections.joined(separator: "\n")
    }
}
