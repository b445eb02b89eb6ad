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
        let data = model(series, newest: newest)
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

    /// The page's data as JSON text: the tree (the bulk, numbers only) written directly, the rest
    /// through JSONValue.
    private func model(_ series: [Snapshot], newest: Snapshot) -> String {
        var frames = FrameTable(sites: sites)
        let oldest = series.count > 1 ? series[0] : nil
        let tree = FlameTree(newest: newest, oldest: oldest, frames: &frames)
        let header = newest.info.header
        var members: [(String, JSONValue)] = [
            ("program", .string(programName(newest.info))),
            ("command", .string(header.arguments.joined(separator: " "))),
            ("pid", .uint(UInt64(header.pid))),
            ("groupBy", .string(groupBy.rawValue)),
            ("sort", .string(sort.rawValue)),
            ("snapshots", .array(series.map(snapshotSummary))),
            ("frames", frames.json),
            ("table", table(newest)),
        ]
        if series.count > 1 { members.append(("chart", chart(series))) }
        let rest = JSONValue.object(members).serialized(pretty: false)
        return "{\"tree\":" + String(decoding: tree.json, as: UTF8.self) + "," + rest.dropFirst()
    }

    private func snapshotSummary(_ snapshot: Snapshot) -> JSONValue {
        let info = snapshot.info
        var churn = Churn()
        for trace in snapshot.traces { churn.add(trace) }
        let trackerCost = "\(SizeFormat.string(info.trackerBytes)) of tracker memory"
            + (info.currentBytes > 0
                ? String(format: " (%.1f%% of the traced memory)", Double(info.trackerBytes) * 100 / Double(info.currentBytes))
                : "")
        return .object([
            ("name", .string(text.displayName(info))),
            ("time", .string(TextReport.timeText(info.timeNanoseconds))),
            ("timeNs", .uint(info.timeNanoseconds)),
            ("trigger", .string(info.trigger.name)),
            ("isPeak", .bool(info.trigger == .peak)),
            ("size", .uint(snapshot.size)),
            ("count", .uint(snapshot.count)),
            ("sizeText", .string(SizeFormat.string(snapshot.size))),
            ("peakText", .string(SizeFormat.string(info.peakBytes))),
            ("calls", .uint(churn.calls)),
            ("allocatedText", .string(SizeFormat.string(churn.allocated))),
            ("temporary", .uint(churn.temporary)),
            ("trackerCost", .string(trackerCost)),
        ])
    }

    /// The rows of `heapsnap top` for the newest snapshot, with the text it prints for each value.
    private func table(_ snapshot: Snapshot) -> JSONValue {
        let statistics = snapshot.statistics(by: groupBy, sites: sites, sort: sort)
        let report = StatisticsReport(top: snapshot, statistics: statistics, groupBy: groupBy, limit: tableLimit,
                                      sites: sites, sort: sort)
        let rows: [JSONValue] = report.shown.map { entry in
            let churn = entry.churn ?? Churn()
            let average = entry.count == 0 ? 0 : Double(entry.size) / Double(entry.count)
            return .array([
                .string(text.siteText(entry.site, group: groupBy)),
                .uint(entry.size), .string(SizeFormat.string(entry.size)),
                .uint(entry.count),
                .double(average), .string(entry.count == 0 ? "" : SizeFormat.string(average)),
                .uint(churn.calls),
                .uint(churn.allocated), .string(SizeFormat.string(churn.allocated)),
                .uint(churn.temporary),
            ])
        }
        return .object([
            ("rows", .array(rows)),
            ("entries", .int(Int64(report.entries.count))),
            ("totalText", .string(SizeFormat.string(report.total.size))),
            ("totalCount", .uint(report.total.count)),
        ])
    }

    /// Traced memory per snapshot and the fastest-growing groups as lines.
    private func chart(_ series: [Snapshot]) -> JSONValue {
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
        var lines: [JSONValue] = []
        for item in growing.prefix(chartSites) {
            let values: [JSONValue] = perSnapshot.map { JSONValue.uint($0[item.key]?.size ?? 0) }
            lines.append(.object([("name", .string(text.siteText(item.site, group: groupBy))), ("values", .array(values))]))
        }
        return .object([
            ("total", .array(series.map { .uint($0.size) })),
            ("peak", .array(series.map { .uint($0.info.peakBytes) })),
            ("sites", .array(lines)),
        ])
    }
}

/// The distinct frames of the flame graphs: a name, where it is, its kind and whether it is plumbing.
struct FrameTable {
    let sites: SiteRules
    var names: [JSONValue] = []
    var places: [JSONValue] = []
    var kinds: [JSONValue] = []
    var plumbing: [JSONValue] = []
    private var index: [String: Int] = [:]
    private var byBox: [ObjectIdentifier: Int] = [:]

    init(sites: SiteRules) { self.sites = sites }

    mutating func number(of frame: Frame) -> Int {
        if let known = byBox[ObjectIdentifier(frame.storage)] { return known }
        let name = frame.function ?? frame.location
        let place = frame.file.map { frame.line > 0 ? "\($0):\(frame.line)" : $0 } ?? frame.location
        let kind = Self.kind(of: frame)
        let key = "\(name)\u{0}\(place)\u{0}\(kind)"
        let number: Int
        if let known = index[key] {
            number = known
        } else {
            number = names.count
            index[key] = number
            names.append(.string(name))
            places.append(.string(frame.isInlined ? place + " (inlined)" : place))
            kinds.append(.string(kind))
            plumbing.append(.int(sites.isPlumbing(frame) ? 1 : 0))
        }
        byBox[ObjectIdentifier(frame.storage)] = number
        return number
    }

    /// "native" or "python": the flame graph colours them differently.
    static func kind(of frame: Frame) -> String { "native" }

    var json: JSONValue {
        .object([("name", .array(names)), ("place", .array(places)), ("kind", .array(kinds)), ("plumbing", .array(plumbing))])
    }
}

/// Tracebacks merged root first into a tree. Nodes are numbered in creation order, so a node's parent
/// has a smaller number (the page sums values towards the root in one backward pass). The values are
/// per trace ("leaves": the node a traceback ends at), not per node: most nodes carry none of their own.
struct FlameTree {
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

    /// {"parentDelta":[…],"frame":[…],"leaves":[…],"size":[…],…}: node i's parent is i - parentDelta[i].
    var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(parent.count * 8 + leaves.count * 40)
        func key(_ name: String, first: Bool = false) {
            out.append(contentsOf: Array(((first ? "{" : ",") + "\"\(name)\":").utf8))
        }
        func numbers<S: Sequence>(_ values: S) where S.Element: BinaryInteger {
            out.append(UInt8(ascii: "["))
            var separator = false
            for value in values {
                if separator { out.append(UInt8(ascii: ",")) }
                separator = true
                if value < 0 { out.append(UInt8(ascii: "-")) }
                var digits = UInt64(value.magnitude)
                var buffer: [UInt8] = []
                repeat { buffer.append(UInt8(ascii: "0") + UInt8(digits % 10)); digits /= 10 } while digits > 0
                out.append(contentsOf: buffer.reversed())
            }
            out.append(UInt8(ascii: "]"))
        }
        key("parentDelta", first: true); numbers(parent.indices.map { $0 == 0 ? 0 : $0 - parent[$0] })
        key("frame"); numbers(frame)
        key("leaves"); numbers(leaves)
        key("size"); numbers(size)
        key("count"); numbers(count)
        key("calls"); numbers(calls)
        key("allocated"); numbers(allocated)
        key("temporary"); numbers(temporary)
        if hasOld { key("oldSize"); numbers(oldSize) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
