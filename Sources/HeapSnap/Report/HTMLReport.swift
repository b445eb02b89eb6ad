// `heapsnap report`: one self-contained HTML file (no network, nothing fetched when it is opened) with
// an icicle flame graph of live memory by traceback, a diff flame graph and a memory chart for a series
// of one process, and the table of `heapsnap top`. The page's script and style are HTMLReportScript.swift
// and HTMLReportStyle.swift; this file computes everything the page shows, so the numbers are the
// analysis library's and the script only draws them.
import Foundation

public struct HTMLReport {
    public var groupBy: GroupKey
    public var sort: SortKey
    public var sites: SiteRules
    /// Rows of the table (the top N groups); nil for all.
    public var tableLimit: Int?
    /// Formats locations and sizes exactly as the text report does.
    public var text: TextReport
    /// How many growing sites the chart draws.
    public var chartSites = 5

    public init(groupBy: GroupKey = .line, sort: SortKey = .size, sites: SiteRules = .default,
                tableLimit: Int? = 200, text: TextReport = TextReport()) {
        self.groupBy = groupBy
        self.sort = sort
        self.sites = sites
        self.tableLimit = tableLimit
        self.text = text
    }

    /// The page for `series` (oldest first; one snapshot or several of one process).
    public func render(_ series: [Snapshot]) throws -> String {
        guard let newest = series.last else { throw AnalysisError("report needs at least one snapshot") }
        if series.count > 1 {
            let first = series[0].info
            for snapshot in series.dropFirst() where snapshot.info.pid != first.pid
                || snapshot.info.startNanoseconds != first.startNanoseconds {
                throw AnalysisError("\(snapshot.info.source): not the same process as \(first.source) "
                    + "(pid \(snapshot.info.pid) vs \(first.pid)); a report of several snapshots is about one process")
            }
        }
        let data = try model(series, newest: newest)
        // Inside <script>, "</" could close the element: JSON allows "<\/" for it.
        let embedded = data.replacingOccurrences(of: "</", with: "<\\/")
        let title = "heapsnap: " + programName(newest.info)
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>\(HTMLReportStyle.css)</style>
            </head><body>
            <noscript>This report draws its flame graphs and tables with JavaScript.</noscript>
            <script type="application/json" id="heapsnap-data">\(embedded)</script>
            <script>\(HTMLReportScript.javascript)</script>
            </body></html>

            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func programName(_ info: SnapshotInfo) -> String {
        let path = info.executable.isEmpty ? (info.arguments.first ?? "?") : info.executable
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    // MARK: The page's data

    /// The page's data as JSON text (JSONWriter; the tree is the bulk, numbers only).
    private func model(_ series: [Snapshot], newest: Snapshot) throws -> String {
        var frames = FrameTable(sites: sites)
        let oldest = series.count > 1 ? series[0] : nil
        let tree = FlameTree(newest: newest, oldest: oldest, frames: &frames)
        let header = newest.info.header
        let statistics = newest.statistics(by: groupBy, sites: sites, sort: sort)
        let top = StatisticsReport(top: newest, statistics: statistics, groupBy: groupBy, limit: tableLimit,
                                   sites: sites, sort: sort)
        let page = PageData(
            tree: tree, program: programName(newest.info), command: header.arguments.joined(separator: " "),
            pid: header.pid, groupBy: groupBy.rawValue, sort: sort.rawValue,
            snapshots: series.map(snapshotSummary), frames: frames, table: table(top),
            chart: series.count > 1 ? chart(series) : nil, namesNote: namesNote(top))
        return String(decoding: try JSONWriter(pretty: false).bytes(page, capacity: tree.parent.count * 10 + (1 << 16)),
                      as: UTF8.self)
    }

    private func snapshotSummary(_ snapshot: Snapshot) -> PageData.SnapshotCard {
        let info = snapshot.info
        var churn = Churn()
        for trace in snapshot.traces { churn.add(trace) }
        let trackerCost = "\(SizeFormat.string(info.trackerBytes)) of tracker memory"
            + (info.currentBytes > 0
                ? String(format: " (%.1f%% of the traced memory)", Double(info.trackerBytes) * 100 / Double(info.currentBytes))
                : "")
        return PageData.SnapshotCard(
            name: text.displayName(info), time: TextReport.timeText(info.timeNanoseconds),
            timeNs: info.timeNanoseconds, trigger: info.trigger.name, isPeak: info.trigger == .peak,
            size: snapshot.size, count: snapshot.count, sizeText: SizeFormat.string(snapshot.size),
            peakText: SizeFormat.string(info.peakBytes), calls: churn.calls,
            allocatedText: SizeFormat.string(churn.allocated), temporary: churn.temporary, trackerCost: trackerCost)
    }

    /// The rows of `heapsnap top` for the newest snapshot, with the text it prints for each value.
    private func table(_ report: StatisticsReport) -> PageData.Table {
        let rows = report.shown.map { entry in
            PageData.Row(location: text.siteText(entry.site, group: groupBy), size: entry.size, count: entry.count,
                         churn: entry.churn ?? Churn())
        }
        return PageData.Table(rows: Array(rows), entries: report.entries.count)
    }

    /// The text report's footer line for the table's bare-address sites, if any (NamesAdvice).
    private func namesNote(_ report: StatisticsReport) -> String? {
        guard groupBy != .module else { return nil }
        return NamesAdvice.line(for: NamesAdvice.namelessModules(sites: report.shown.map(\.site), snapshots: report.snapshots))
    }

    /// Traced memory per snapshot and the fastest-growing groups as lines.
    private func chart(_ series: [Snapshot]) -> PageData.Chart {
        let perSnapshot = series.map { snapshot -> [StatisticKey: (size: UInt64, site: Frame)] in
            var result: [StatisticKey: (UInt64, Frame)] = [:]
            for statistic in snapshot.statistics(by: groupBy, sites: sites) { result[statistic.key] = (statistic.size, statistic.site) }
            return result
        }
        let last = perSnapshot[perSnapshot.count - 1], first = perSnapshot[0]
        var growing: [(key: StatisticKey, site: Frame, growth: Int64)] = []
        for (key, value) in last {
            let growth = Int64(clamping: value.size) - Int64(clamping: first[key]?.size ?? 0)
            if growth > 0 { growing.append((key, value.site, growth)) }
        }
        growing.sort { $0.growth != $1.growth ? $0.growth > $1.growth : $1.key < $0.key }
        let lines = growing.prefix(chartSites).map { item in
            PageData.Line(name: text.siteText(item.site, group: groupBy),
                          values: perSnapshot.map { $0[item.key]?.size ?? 0 })
        }
        return PageData.Chart(total: series.map(\.size), peak: series.map(\.info.peakBytes), sites: Array(lines))
    }
}

/// What the page's script reads (HTMLReportScript.swift), in the order it is written.
private struct PageData: Encodable {
    var tree: FlameTree
    var program: String
    var command: String
    var pid: UInt32
    var groupBy: String
    var sort: String
    var snapshots: [SnapshotCard]
    var frames: FrameTable
    var table: Table
    var chart: Chart?
    /// How to get names for the table's sites that are bare addresses; absent when all have names.
    var namesNote: String?

    struct SnapshotCard: Encodable {
        var name: String, time: String, timeNs: UInt64, trigger: String, isPeak: Bool
        var size: UInt64, count: UInt64, sizeText: String, peakText: String
        var calls: UInt64, allocatedText: String, temporary: UInt64, trackerCost: String
    }

    /// A row as a JSON array: [location, size, size text, count, average, average text, calls,
    /// allocated, allocated text, temporary] (the script's column numbers).
    struct Row: Encodable {
        var location: String, size: UInt64, count: UInt64, churn: Churn

        func encode(to encoder: any Encoder) throws {
            var row = encoder.unkeyedContainer()
            let average = count == 0 ? 0 : Double(size) / Double(count)
            try row.encode(location)
            try row.encode(size)
            try row.encode(SizeFormat.string(size))
            try row.encode(count)
            try row.encode(average)
            try row.encode(count == 0 ? "" : SizeFormat.string(average))
            try row.encode(churn.calls)
            try row.encode(churn.allocated)
            try row.encode(SizeFormat.string(churn.allocated))
            try row.encode(churn.temporary)
        }
    }

    struct Table: Encodable {
        var rows: [Row]
        var entries: Int
    }

    struct Line: Encodable {
        var name: String
        var values: [UInt64]
    }

    struct Chart: Encodable {
        var total: [UInt64]
        var peak: [UInt64]
        var sites: [Line]
    }
}

/// The distinct frames of the flame graphs: a name, where it is, its kind and whether it is plumbing.
struct FrameTable: Encodable {
    let sites: SiteRules
    var name: [String] = []
    var place: [String] = []
    var kind: [String] = []
    var plumbing: [Int] = []
    private var index: [String: Int] = [:]
    private var byBox: [ObjectIdentifier: Int] = [:]

    enum CodingKeys: String, CodingKey { case name, place, kind, plumbing }

    init(sites: SiteRules) { self.sites = sites }

    mutating func number(of frame: Frame) -> Int {
        if let known = byBox[ObjectIdentifier(frame.storage)] { return known }
        let title = frame.function ?? frame.location
        let position = frame.file.map { frame.line > 0 ? "\($0):\(frame.line)" : $0 } ?? frame.location
        let frameKind = Self.kind(of: frame)
        let key = "\(title)\u{0}\(position)\u{0}\(frameKind)"
        let number: Int
        if let known = index[key] {
            number = known
        } else {
            number = name.count
            index[key] = number
            name.append(title)
            place.append(frame.isInlined ? position + " (inlined)" : position)
            kind.append(frameKind)
            plumbing.append(sites.isPlumbing(frame) ? 1 : 0)
        }
        byBox[ObjectIdentifier(frame.storage)] = number
        return number
    }

    /// "native" or "python": the flame graph colours them differently.
    static func kind(of frame: Frame) -> String { frame.isPython ? "python" : "native" }
}

/// Tracebacks merged root first into a tree. Nodes are numbered in creation order, so a node's parent
/// has a smaller number (the page sums values towards the root in one backward pass). The values are
/// per trace ("leaves": the node a traceback ends at), not per node: most nodes carry none of their own.
struct FlameTree: Encodable {
    var parent: [Int] = [-1]
    var frame: [Int] = [-1]
    var leafOfNode: [Int: Int] = [:]
    var leaves: [Int] = []
    var size: [UInt64] = [], count: [UInt64] = [], calls: [UInt64] = [], allocated: [UInt64] = []
    var temporary: [UInt64] = [], oldSize: [UInt64] = []
    let hasOld: Bool

    init(newest: Snapshot, oldest: Snapshot?, frames: inout FrameTable) {
        hasOld = oldest != nil
        var children: [Int64: Int] = [:]  // parent << 32 | frame -> node
        func leaf(_ trace: Trace) -> Int {
            var current = 0
            for item in trace.traceback.frames.reversed() {
                let number = frames.number(of: item)
                let key = Int64(current) << 32 | Int64(number)
                if let known = children[key] {
                    current = known
                } else {
                    let node = parent.count
                    children[key] = node
                    parent.append(current)
                    frame.append(number)
                    current = node
                }
            }
            if let known = leafOfNode[current] { return known }
            let index = leaves.count
            leafOfNode[current] = index
            leaves.append(current)
            size.append(0); count.append(0); calls.append(0); allocated.append(0); temporary.append(0); oldSize.append(0)
            return index
        }
        for trace in newest.traces where trace.size > 0 || trace.totalAllocations > 0 {
            let index = leaf(trace)
            size[index] += trace.size
            count[index] += trace.count
            calls[index] += trace.totalAllocations
            allocated[index] += trace.totalBytes
            temporary[index] += trace.temporaryAllocations
        }
        for trace in oldest?.traces ?? [] where trace.size > 0 { oldSize[leaf(trace)] += trace.size }
    }

    enum CodingKeys: String, CodingKey {
        case parentDelta, frame, leaves, size, count, calls, allocated, temporary, oldSize
    }

    /// Node i's parent is i - parentDelta[i]: mostly 1, so the page stays small.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(parent.indices.map { $0 == 0 ? 0 : $0 - parent[$0] }, forKey: .parentDelta)
        try container.encode(frame, forKey: .frame)
        try container.encode(leaves, forKey: .leaves)
        try container.encode(size, forKey: .size)
        try container.encode(count, forKey: .count)
        try container.encode(calls, forKey: .calls)
        try container.encode(allocated, forKey: .allocated)
        try container.encode(temporary, forKey: .temporary)
        if hasOld { try container.encode(oldSize, forKey: .oldSize) }
    }
}
