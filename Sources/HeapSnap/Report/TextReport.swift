// Text reports in the manner of tracemalloc: a header line that says what is shown and the totals,
// then one group a line, "LOCATION: size=…, count=…, average=…", columns aligned, the traceback under
// each entry when grouping by traceback.
import Foundation

public struct TextReportOptions: Sendable {
    public var style: TextStyle
    /// File paths under this folder are shown relative to it (the working directory, usually).
    public var pathBase: String?
    /// Show the source line under each traceback frame whose file is readable.
    public var showsSource: Bool
    /// Show only the site and this many frames in all from it towards main, with the plumbing frames
    /// above the site folded into one line; nil for every frame.
    public var tracebackLimit: Int?

    public init(style: TextStyle = .plain, pathBase: String? = nil, showsSource: Bool = true, tracebackLimit: Int? = nil) {
        self.style = style
        self.pathBase = pathBase
        self.showsSource = showsSource
        self.tracebackLimit = tracebackLimit
    }
}

public struct TextReport {
    public var options: TextReportOptions
    private var style: TextStyle { options.style }
    private let sources = SourceLines()

    public init(options: TextReportOptions = TextReportOptions()) {
        self.options = options
    }

    // MARK: Statistics

    public func render(_ report: StatisticsReport) -> String {
        var lines = [header(report)] + pythonWarnings(report.snapshots)
        let shown = Array(report.shown)
        let locations = shown.map { siteText($0.site, group: report.groupBy) + ":" }
        let columns = shown.map { valueColumns($0, kind: report.kind, sort: report.sort) }
        let rankWidth = "#\(shown.count)".count
        // A long location (a C++ template instance, a Rust closure) must not push every other line far
        // right: the columns align on the locations that fit, and a longer one gets a line of its own,
        // whole, with its values under the others' on the next line (pprof puts names last for the same
        // reason; heaptrack gives every name its own line).
        let locationWidth = locations.map(\.count).filter { $0 <= Self.alignedLocationWidth }.max() ?? 0
        let columnWidths = (0..<(columns.map(\.count).max() ?? 0)).map { index in
            columns.map { index < $0.count ? $0[index].count : 0 }.max() ?? 0
        }
        for (index, entry) in shown.enumerated() {
            let rank = style.apply(.dim, pad("#\(index + 1)", rankWidth)) + "  "
            var line: String
            if locations[index].count > locationWidth {
                lines.append(rank + style.apply(.location, locations[index]))
                line = String(repeating: " ", count: rankWidth + 2 + locationWidth)
            } else {
                line = rank + style.apply(.location, locations[index])
                    + String(repeating: " ", count: locationWidth - locations[index].count)
            }
            for (column, text) in columns[index].enumerated() {
                let isLast = column == columns[index].count - 1
                line += " " + colorValues(text, entry: entry)
                if !isLast { line += String(repeating: " ", count: columnWidths[column] - text.count) }
            }
            lines.append(line)
            if report.groupBy == .traceback {
                lines.append(contentsOf: tracebackLines(entry.traceback, indent: rankWidth + 2))
                if index < shown.count - 1 { lines.append("") }
            }
        }
        if let rest = report.rest {
            var line = "\(rest.entries) other \(noun(report.groupBy, rest.entries)): size=\(SizeFormat.string(rest.size))"
            if let diff = rest.sizeDiff { line += " (\(SizeFormat.string(diff, signed: true)))" }
            line += ", count=\(rest.count)"
            if let diff = rest.countDiff { line += " (\(SizeFormat.signedCount(diff)))" }
            lines.append(style.apply(.dim, line))
        }
        if report.groupBy != .module, let advice = NamesAdvice.line(
            for: NamesAdvice.namelessModules(sites: report.shown.map(\.site), snapshots: report.snapshots)) {
            lines.append(style.apply(.warning, advice))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Locations up to this many characters share the value columns; a longer one has a line of its own.
    public static let alignedLocationWidth = 72

    private func header(_ report: StatisticsReport) -> String {
        let shownCount = report.shown.count
        let ranking = report.sort == .size ? "" : " by \(report.sort.rawValue)"
        let group = noun(report.groupBy, shownCount) + (report.cumulative ? " (cumulative)" : "") + ranking
        let total = report.total
        var totals = "\(SizeFormat.string(total.size))"
        if let diff = total.sizeDiff { totals += " (\(SizeFormat.string(diff, signed: true)))" }
        totals += " live in \(total.count) blocks"
        if let diff = total.countDiff { totals += " (\(SizeFormat.signedCount(diff)))" }
        if let sampling = Self.samplingText(report.snapshots) { totals += " (\(sampling))" }
        let text: String
        switch report.kind {
        case .top:
            let snapshot = report.snapshots[0]
            text = shownCount == 0
                ? "No allocations in \(describe(snapshot)): \(totals)"
                : "Top \(shownCount) \(group) of \(describe(snapshot)): \(totals)"
        case .diff:
            let span = "\(displayName(report.snapshots[0])) to \(displayName(report.snapshots[1]))"
            text = shownCount == 0
                ? "No differences from \(span): \(totals)"
                : "Top \(shownCount) \(shownCount == 1 ? "difference" : "differences") by \(noun(report.groupBy, 1))"
                    + (report.cumulative ? " (cumulative)" : "") + ranking + " from \(span): \(totals)"
        case .growth:
            let series = report.snapshots
            let names = series.map(displayName)
            let span = "\(series.count) snapshots" + (names.isEmpty ? "" : ", \(names[0]) to \(names[names.count - 1])")
            text = shownCount == 0
                ? "No \(noun(report.groupBy, 1)) grew steadily over \(span): \(totals)"
                : "Top \(shownCount) growing \(group) over \(span): \(totals)"
        }
        return style.apply(.heading, text)
    }

    private func valueColumns(_ entry: ReportEntry, kind: ReportKind, sort: SortKey) -> [String] {
        switch kind {
        case .top, .diff:
            var size = "size=\(SizeFormat.string(entry.size))"
            if let diff = entry.sizeDiff { size += " (\(SizeFormat.string(diff, signed: true)))" }
            var count = "count=\(entry.count)"
            if let diff = entry.countDiff { count += " (\(SizeFormat.signedCount(diff)))" }
            var columns = [size + ",", count]
            if entry.count > 0 {
                columns[1] += ","
                columns.append("average=\(SizeFormat.string(Double(entry.size) / Double(entry.count)))")
            }
            if sort.isChurn, let churn = entry.churn {
                if entry.count == 0 { columns[1] += ","; columns.append("") } // keeps the churn columns aligned
                else { columns[columns.count - 1] += "," }
                columns += churnColumns(churn, since: entry.churnDiff)
            }
            return columns
        case .growth:
            let rate = "\(SizeFormat.string(entry.growthPerSnapshot ?? 0, signed: true))/snapshot,"
            let sizes = "size=" + series(entry.sizes ?? []) { SizeFormat.string($0) } + ","
            let counts = "count=" + series(entry.counts ?? []) { "\($0)" }
            return [rate, sizes, counts]
        }
    }

    /// "calls=N, allocated=X, temporary=N (P%)"; for a diff each with what happened in between.
    private func churnColumns(_ churn: Churn, since diff: Churn?) -> [String] {
        func between(_ value: UInt64?, _ text: (UInt64) -> String) -> String {
            value.map { " (+\(text($0)))" } ?? ""
        }
        let percent = String(format: "%.0f%%", churn.temporaryFraction * 100)
        return [
            "calls=\(churn.calls)" + between(diff?.calls) { "\($0)" } + ",",
            "allocated=\(SizeFormat.string(churn.allocated))" + between(diff?.allocated) { SizeFormat.string($0) } + ",",
            "temporary=\(churn.temporary) (\(percent))" + between(diff?.temporary) { "\($0)" },
        ]
    }

    private func series(_ values: [UInt64], _ format: (UInt64) -> String) -> String {
        let parts = values.count <= 6
            ? values.map(format)
            : values.prefix(2).map(format) + ["…"] + values.suffix(2).map(format)
        return parts.joined(separator: " → ")
    }

    private func colorValues(_ text: String, entry: ReportEntry) -> String {
        guard style.isColored, let diff = entry.sizeDiff, diff != 0 else { return text }
        return style.apply(diff > 0 ? .grew : .shrank, text)
    }

    // MARK: Tracebacks

    /// The frames of `traceback`, most recent first; frames above the allocation site (plumbing such as
    /// malloc wrappers and operator new) dimmed, the site (as its snapshot decided it) marked with ">".
    public func tracebackLines(_ traceback: Traceback, indent: Int) -> [String] {
        let site = traceback.frames.isEmpty ? -1 : traceback.siteIndex
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var shown = traceback.frames.indices
        if let limit = options.tracebackLimit, site >= 0 {
            shown = site..<min(traceback.frames.count, site + max(limit, 1))
            if site > 0 {
                let kind = traceback.frames[site].isPython ? "native" : "allocator"
                lines.append(margin + "  " + style.apply(.dim, "… \(site) \(kind) frame\(site == 1 ? "" : "s")"))
            }
        }
        for index in shown {
            let frame = traceback.frames[index]
            if index == traceback.pythonStart {
                lines.append(margin + "  " + style.apply(.dim, "Python frames (not paired with the native frames above):"))
            }
            let marker = index == site ? "> " : "  "
            var text = frameText(frame)
            if frame.isInlined { text += " (inlined)" }
            lines.append(margin + marker + (index < site ? style.apply(.dim, text) : text))
            if options.showsSource, index >= site, let file = frame.file, frame.line > 0,
               let source = sources.line(frame.line, of: file) {
                lines.append(margin + "      " + style.apply(.dim, source))
            }
        }
        let hidden = traceback.frames.count - shown.upperBound
        if hidden > 0 {
            lines.append(margin + "  " + style.apply(.dim, "… \(hidden) more caller\(hidden == 1 ? "" : "s")"))
        }
        if traceback.isTruncated {
            lines.append(margin + "  " + style.apply(.dim, "… (more frames were not recorded)"))
        }
        return lines
    }

    /// One frame: "file:line in function", or "function+0x1f in module", or "module+0x1234".
    public func frameText(_ frame: Frame) -> String {
        if let file = frame.file {
            let place = frame.line > 0 ? "\(displayPath(file)):\(frame.line)" : displayPath(file)
            return frame.function.map { "\(place) in \($0)" } ?? place
        }
        if frame.function != nil, !frame.module.isEmpty { return "\(frame.location) in \(frame.moduleName)" }
        return frame.location
    }

    // MARK: Sites

    /// What a group is called in a report line: "file:line (function)" by line, the file by file,
    /// "function (file)" by function, the module path by module.
    public func siteText(_ site: Frame, group: GroupKey) -> String {
        switch group {
        case .line, .traceback:
            if let file = site.file {
                let place = site.line > 0 ? "\(displayPath(file)):\(site.line)" : displayPath(file)
                return site.function.map { "\(place) (\($0))" } ?? place
            }
            if site.function != nil, !site.module.isEmpty { return "\(site.location) (\(site.moduleName))" }
            return site.location
        case .file:
            if let file = site.file { return displayPath(file) }
            return site.module.isEmpty ? site.location : displayPath(site.module)
        case .function:
            guard let function = site.function else { return site.location }
            if let file = site.file { return "\(function) (\(displayPath(file)))" }
            return site.module.isEmpty ? function : "\(function) (\(site.moduleName))"
        case .module:
            return site.module.isEmpty ? "?" : site.module
        }
    }

    public func displayPath(_ path: String) -> String {
        guard let base = options.pathBase, !base.isEmpty else { return path }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    // MARK: Snapshot names

    /// The snapshot's file name (its folder left out), or its pid when it came from no file.
    public func displayName(_ info: SnapshotInfo) -> String {
        if info.source.isEmpty { return "pid \(info.pid)" }
        guard let slash = info.source.lastIndex(of: "/") else { return info.source }
        return String(info.source[info.source.index(after: slash)...])
    }

    /// "name (trigger at time)".
    public func describe(_ info: SnapshotInfo) -> String {
        "\(displayName(info)) (\(Self.triggerText(info.trigger)) at \(Self.timeText(info.timeNanoseconds)))"
    }

    /// "estimated, sampled every 512 KiB" when any of the snapshots was sampled (naming each rate, and
    /// the exact ones, when they differ); nil when all are exact.
    static func samplingText(_ snapshots: [SnapshotInfo]) -> String? {
        let rates = snapshots.map { $0.sampling?.rateBytes }
        guard rates.contains(where: { $0 != nil }) else { return nil }
        var distinct: [UInt64?] = []
        for rate in rates where !distinct.contains(rate) { distinct.append(rate) }
        if distinct.count == 1, let rate = distinct[0] { return "estimated, sampled every \(SizeFormat.string(rate))" }
        return "estimated: " + rates.map { $0.map { "sampled every \(SizeFormat.string($0))" } ?? "exact" }
            .joined(separator: " vs ")
    }

    static func triggerText(_ trigger: SnapshotTrigger) -> String {
        switch trigger {
        case .api: return "heapsnap_snapshot()"
        case .exit: return "exit"
        case .signal: return "signal"
        case .interval: return "interval"
        case .peak: return "peak"
        case .snap: return "heapsnap snap"
        }
    }

    /// Local time, to the second.
    static func timeText(_ nanoseconds: UInt64) -> String {
        formatTime(nanoseconds, "%Y-%m-%d %H:%M:%S", utc: false)
    }

    /// strftime of a CLOCK_REALTIME nanosecond count, whole seconds, in UTC or local time.
    static func formatTime(_ nanoseconds: UInt64, _ format: String, utc: Bool) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        if utc { gmtime_r(&seconds, &parts) } else { localtime_r(&seconds, &parts) }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func noun(_ group: GroupKey, _ count: Int) -> String {
        count == 1 ? group.rawValue : group.rawValue + "s"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}

/// Source lines for tracebacks, each file read once; files that are missing or huge are skipped.
final class SourceLines {
    private var files: [String: [Substring]?] = [:]

    func line(_ number: Int, of path: String) -> String? {
        if files[path] == nil { files[path] = load(path) }
        guard let lines = files[path] ?? nil, number >= 1, number <= lines.count else { return nil }
        let text = lines[number - 1].trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    private func load(_ path: String) -> [Substring]? {
        guard let handle = fopen(path, "r") else { return nil }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let read = fread(&chunk, 1, chunk.count, handle)
            if read == 0 { break }
            bytes.append(contentsOf: chunk[..<read])
            if bytes.count > 16 << 20 { return nil }
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }
}

extension TextReport {
    /// Warning lines under a report's header about the Python interpreters of its snapshots: pymalloc
    /// (objects hidden in arenas) and Python frames that were off.
    func pythonWarnings(_ snapshots: [SnapshotInfo]) -> [String] {
        var lines: [String] = []
        let pythons = snapshots.compactMap(\.python)
        if pythons.contains(where: \.usesPymalloc) {
            lines.append(style.apply(.warning, "warning: small Python objects came from pymalloc's arenas, which hide their lines: trace with PYTHONMALLOC=malloc (heapsnap run sets it)"))
        }
        if let off = pythons.first(where: { !$0.isCapturing }) {
            lines.append(style.apply(.warning, "warning: Python frames were not captured: \(off.detail)"))
        }
        return lines
    }
}
