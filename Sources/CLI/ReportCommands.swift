// The commands that read snapshots: top, diff, growth, info, export.
import ArgumentParser
import CHeapSnapContract
import Foundation
import HeapSnap

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show the allocation sites holding the most live memory in a snapshot.",
        discussion: "SNAPSHOT is a .heapsnap file or a JSON snapshot written by `heapsnap export`."
    )

    @Argument(help: "The snapshot file.") var snapshot: String
    @OptionGroup var grouping: GroupingOptions
    @OptionGroup var sorting: SortOptions
    @OptionGroup var filtering: FilterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let loaded = try SnapshotLoader.load(snapshot, filtering: filtering)
        let sites = filtering.sites
        let statistics = loaded.statistics(by: grouping.by, cumulative: grouping.cumulative, sites: sites,
                                           sort: sorting.sort)
        let report = StatisticsReport(
            top: loaded, statistics: statistics, groupBy: grouping.by, cumulative: grouping.cumulative,
            limit: grouping.shownLimit, sites: sites, sort: sorting.sort)
        try output.emit(text: { output.textReport.render(report) }, json: { try JSONReport.document(report) })
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what grew and what shrank between two snapshots, biggest change first.",
        discussion: "With --fail-above, exits with status 3 when the total live memory grew by more than BYTES."
    )

    @Argument(help: "The older snapshot.") var old: String
    @Argument(help: "The newer snapshot.") var new: String
    @Option(help: ArgumentHelp(
        "Exit with status 3 when total growth exceeds this many bytes (suffixes K, M, G).", valueName: "bytes"))
    var failAbove: ByteCountSetting?
    @Flag(help: "Compare snapshots of two different programs.") var allowMixed = false
    @OptionGroup var grouping: GroupingOptions
    @OptionGroup var sorting: SortOptions
    @OptionGroup var filtering: FilterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let failAbove, failAbove.verdict != .HEAPSNAP_VERDICT_ACCEPTED {
            throw ValidationError("--fail-above takes \(ByteCountSetting.grammar), not '\(failAbove.text)'.")
        }
    }

    func run() throws {
        let oldSnapshot = try SnapshotLoader.load(old, filtering: filtering)
        let newSnapshot = try SnapshotLoader.load(new, filtering: filtering)
        if !allowMixed { try SeriesCheck.sameProgram(oldSnapshot, newSnapshot) }
        let sites = filtering.sites
        let differences = newSnapshot.compare(
            to: oldSnapshot, by: grouping.by, cumulative: grouping.cumulative, sites: sites, sort: sorting.sort)
        let report = StatisticsReport(
            diff: differences, old: oldSnapshot, new: newSnapshot, groupBy: grouping.by,
            cumulative: grouping.cumulative, limit: grouping.shownLimit, sites: sites, sort: sorting.sort)
        try output.emit(text: { output.textReport.render(report) }, json: { try JSONReport.document(report) })
        if let threshold = failAbove?.value, let growth = report.total.sizeDiff, growth > 0, UInt64(growth) > threshold {
            throw CLIError(
                "total live memory grew by \(growth) bytes (\(SizeFormat.string(growth, signed: true))), "
                    + "more than --fail-above \(threshold) bytes", exitCode: 3)
        }
    }
}

struct GrowthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "growth",
        abstract: "Rank the sites whose live memory grows steadily across a series of snapshots (leak hunting).",
        discussion: """
            Give three or more snapshots of one process, or a folder of them; they are taken in the order they were written (their header's time), whatever order a shell glob gives.
            Snapshots of several processes (a folder a build or a forking server wrote into, or files of several pids) are sorted into one series per process (pid and start time), each ranked on its own, the process whose memory grew steadily the most first; processes with fewer than 3 snapshots are left out and named. A folder stands for its numbered snapshots, <prog>.<pid>.<seq>.heapsnap (not the peak files).
            """
    )

    /// Fewer snapshots are a diff, not a trend.
    static let minimumSnapshots = 3

    @Argument(help: "Three or more snapshots of one process, or of several, or folders of them.") var snapshots: [String] = []
    @Flag(help: "Treat snapshots of several processes as one series.") var allowMixed = false
    @OptionGroup var grouping: GroupingOptions
    @OptionGroup var filtering: FilterOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        // a folder is counted once its files are listed
        let folders = snapshots.filter(Self.isFolder)
        guard !folders.isEmpty || snapshots.count >= Self.minimumSnapshots else {
            throw ValidationError("growth needs at least \(Self.minimumSnapshots) snapshots, got \(snapshots.count).")
        }
        if grouping.cumulative { throw ValidationError("growth does not support --cumulative.") }
    }

    func run() throws {
        let paths = try snapshots.flatMap { try Self.isFolder($0) ? Self.numberedSnapshots(in: $0) : [$0] }
        guard paths.count >= Self.minimumSnapshots else {
            throw CLIError("growth needs at least \(Self.minimumSnapshots) snapshots, got \(paths.count) "
                           + "(from \(snapshots.joined(separator: " ")))")
        }
        let sites = filtering.sites
        // Read and checked first, symbolized once the headers say which series they are in: processes
        // with too few snapshots cost no symbolizing.
        var files = try paths.map { try SnapshotLoader.read($0) }
        let processes = groupByProcess(files.indices.map { $0 }) { files[$0].header }
        if processes.count == 1 || allowMixed {
            // One series, in the order the snapshots were taken, whatever order a shell glob gave them in.
            let order = files.indices.sorted { (files[$0].header.timeNanoseconds, $0) < (files[$1].header.timeNanoseconds, $1) }
            let series = try order.map { index in
                defer { files[index].raw = nil }  // the symbolized snapshot replaces the raw one
                return try SnapshotLoader.load(files[index], filtering: filtering)
            }
            let ranked = rankGrowth(series, by: grouping.by, sites: sites)
            let report = StatisticsReport(
                growth: ranked, series: series, groupBy: grouping.by, limit: grouping.shownLimit, sites: sites)
            return try output.emit(text: { output.textReport.render(report) }, json: { try JSONReport.document(report) })
        }
        let enough = processes.filter { $0.items.count >= Self.minimumSnapshots }
        let tooFew = processes.filter { $0.items.count < Self.minimumSnapshots }
        guard !enough.isEmpty else {
            let shown = tooFew.prefix(4).map { "\($0.process.program) pid \($0.process.pid): \($0.items.count)" }
            throw CLIError("no process has \(Self.minimumSnapshots) or more snapshots among these \(paths.count) snapshots of "
                           + "\(processes.count) processes (\(shown.joined(separator: ", "))\(tooFew.count > 4 ? ", ..." : "")); "
                           + "growth follows one process at a time (--allow-mixed treats them as one series)")
        }
        for index in tooFew.flatMap(\.items) { files[index].raw = nil }  // only their headers are shown
        let series = try enough.map { group in
            (group.process, try group.items.map { index in
                defer { files[index].raw = nil }
                return try SnapshotLoader.load(files[index], filtering: filtering)
            })
        }
        let leftOut = tooFew.map { group in
            (group.process, group.items.map { SnapshotInfo(header: files[$0].header, modules: [], source: files[$0].path) })
        }
        let report = ProcessGrowthReport(
            series: series, leftOut: leftOut, minimumSnapshots: Self.minimumSnapshots, groupBy: grouping.by,
            limit: grouping.shownLimit, sites: sites)
        try output.emit(text: { output.textReport.render(report) }, json: { try JSONReport.document(report) })
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The folder's <prog>.<pid>.<seq>.heapsnap files; the peak files hold another moment's state, out of
    /// the series' time order.
    private static func numberedSnapshots(in folder: String) throws -> [String] {
        let names = SnapshotFileName.list(in: folder).filter { $0.sequence != nil }
        guard !names.isEmpty else {
            throw CLIError("\(folder): no snapshot files (<prog>.<pid>.<seq>.heapsnap) in this folder")
        }
        if folder == "." { return names.map(\.name) }
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        return names.map { base + "/" + $0.name }
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a snapshot's header: program, time, trigger, traced memory, tracker overhead, modules.",
        discussion: "With several files, one block each, in the order given, separated by a blank line (--format json: one document listing them). A file that cannot be read gets its one-line error on stderr, the others are still shown, and the exit status is 1."
    )

    @Argument(help: "One or more snapshot files.") var snapshots: [String]
    @OptionGroup var output: FormatOptions

    func run() throws {
        if snapshots.count == 1 {
            let loaded = try SnapshotLoader.load(snapshots[0])
            let text = output.textReport()
            return try output.emit(text: { text.render(info: loaded) }, json: { try JSONReport.info(loaded) })
        }
        var loaded: [Snapshot] = []
        var failed = 0
        for path in snapshots {
            do { loaded.append(try SnapshotLoader.load(path)) } catch {
                failed += 1
                FileHandle.standardError.write(Data("heapsnap: \(HeapSnapCommand.oneLine(error))\n".utf8))
            }
        }
        let text = output.textReport()
        try output.emit(text: { loaded.map { text.render(info: $0) }.joined(separator: "\n") },
                        json: { try JSONReport.info(loaded) })
        if failed > 0 { throw ExitCode(1) }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a snapshot as self-contained JSON, a pprof heap profile or folded stacks.",
        discussion: """
            json (Docs/SNAPSHOT-JSON.md) needs neither the binaries nor their debug info any more: top, diff, growth and info read it like a .heapsnap file.
            pprof is a gzip-compressed profile.proto heap profile (inuse_space, inuse_objects, alloc_space, alloc_objects) for go tool pprof, Pyroscope, Grafana and Parca; frames above the allocation site are left out unless --keep-plumbing.
            folded is one "root;…;leaf VALUE" line per traceback for flamegraph.pl, inferno and speedscope; --value chooses the number.
            Without -o the export goes to standard output.
            """
    )

    enum ExportFormat: String, CaseIterable, ExpressibleByArgument { case json, pprof, folded }

    @Argument(help: "The snapshot file.") var snapshot: String
    @Option(help: "Export format: json, pprof or folded.") var format: ExportFormat = .json
    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?
    @Option(help: ArgumentHelp("folded: the value of each line: live-bytes, live-blocks, calls or allocated-bytes.",
                               valueName: "value"))
    var value: FoldedExport.Value?
    @Flag(help: "pprof: keep the frames above the allocation site (malloc wrappers, operator new, …) in each sample.")
    var keepPlumbing = false
    @OptionGroup var filtering: FilterOptions

    func validate() throws {
        if value != nil && format != .folded { throw ValidationError("--value applies to --format folded only.") }
        if keepPlumbing && format != .pprof { throw ValidationError("--keep-plumbing applies to --format pprof only.") }
    }

    func run() throws {
        if let output { try checkWritable(output) }
        // A JSON export carries whole tracebacks, no sites: none are worked out unless filters need them.
        let loaded = format == .json && filtering.filters.isEmpty
            ? try SnapshotLoader.load(snapshot, sites: .none) : try SnapshotLoader.load(snapshot, filtering: filtering)
        var data: Data
        switch format {
        case .json:
            if let output { return try loaded.write(jsonTo: output) }
            data = try loaded.jsonData()
            data.append(UInt8(ascii: "\n"))
        case .pprof:
            data = Data(try PprofExport(keepsPlumbing: keepPlumbing).compressedProfile(of: loaded))
        case .folded:
            data = Data(FoldedExport(value: value ?? .liveBytes).text(of: loaded).utf8)
        }
        guard let output else { return FileHandle.standardOutput.write(data) }
        do { try data.write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
            throw CLIError("\(output): cannot write: \(error.localizedDescription)")
        }
    }

    /// Says what is wrong with the output path before the (possibly long) symbolization, in words.
    private func checkWritable(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("\(path): is a directory")
        }
        let folder = URL(fileURLWithPath: TrackerEnvironment.absolute(path)).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("\(path): no such directory \(folder)")
        }
        guard access(folder, W_OK) == 0 else { throw CLIError("\(path): cannot write in \(folder): permission denied") }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page: flame graphs, a memory chart and the top table.",
        discussion: "With one snapshot: its flame graph of live memory by traceback and the table of `heapsnap top`. With several snapshots of one process (taken in the order they were written): also a diff flame graph of the first against the last and a chart of traced memory with the fastest-growing sites. The page needs no network: mail it to a colleague."
    )

    @Argument(help: "One snapshot, or several of one process.") var snapshots: [String] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var output: String
    @Option(name: .customShort("n"), parsing: .unconditional, help: "Rows of the table (0 for all).") var limit: Int = 200
    @Option(help: "Group the table and the chart by the site's line, file, function or module.")
    var by: GroupKey = .line
    @OptionGroup var sorting: SortOptions
    @OptionGroup var filtering: FilterOptions

    func validate() throws {
        guard !snapshots.isEmpty else { throw ValidationError("report needs at least one snapshot.") }
        guard limit >= 0 else { throw ValidationError("-n must be 0 (all) or more, not \(limit).") }
        if by == .traceback { throw ValidationError("report shows tracebacks in its flame graphs; --by traceback is not a table.") }
    }

    func run() throws {
        let series = try snapshots.map { try SnapshotLoader.load($0, filtering: filtering) }
            .enumerated().sorted { ($0.element.info.timeNanoseconds, $0.offset) < ($1.element.info.timeNanoseconds, $1.offset) }
            .map(\.element)
        let text = TextReport(options: TextReportOptions(pathBase: FileManager.default.currentDirectoryPath))
        let report = HTMLReport(groupBy: by, sort: sorting.sort, sites: filtering.sites,
                                tableLimit: limit == 0 ? nil : limit, text: text)
        let page = try report.render(series)
        do { try Data(page.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
            throw CLIError("\(output): cannot write: \(error.localizedDescription)")
        }
    }
}
