// The options top, diff, growth, info and the run summary share: grouping, filters, site rules and output.
import ArgumentParser
import Foundation
import HeapSnap

extension GroupKey: ExpressibleByArgument {}
extension ColorChoice: ExpressibleByArgument {}
extension FoldedExport.Value: ExpressibleByArgument {}
extension SortKey: ExpressibleByArgument {}

enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}

struct GroupingOptions: ParsableArguments {
    @Option(name: .customShort("n"), parsing: .unconditional, help: "Show the top N entries (0 for all).")
    var limit: Int = 10

    @Option(help: "Group by the allocation site's line, file, function or module, or by whole traceback.")
    var by: GroupKey = .line

    @Flag(help: "Credit every frame of a traceback, not only the allocation site (tracemalloc's cumulative).")
    var cumulative = false

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("-n must be 0 (all) or more, not \(limit).") }
        if cumulative && by == .traceback {
            throw ValidationError("--cumulative cannot be combined with --by traceback.")
        }
    }

    var shownLimit: Int? { limit == 0 ? nil : limit }
}

struct SortOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Rank by live size, live count, allocation calls, allocated bytes or temporary allocations (freed before their thread allocated again); for diff, what happened between the snapshots.",
        valueName: "size|count|calls|allocated|temporary"))
    var sort: SortKey = .size
}

struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("include"), help: ArgumentHelp(
        "Keep only traces allocated in files matching GLOB (fnmatch; a trailing :LINE also matches the line).",
        valueName: "glob[:line]"))
    var includeFiles: [String] = []

    @Option(name: .customLong("exclude"), help: ArgumentHelp(
        "Drop traces allocated in files matching GLOB (a trailing :LINE also matches the line).",
        valueName: "glob[:line]"))
    var excludeFiles: [String] = []

    @Flag(help: "File, module and function filters match any frame of the traceback, not only the allocation site.")
    var allFrames = false

    @Option(name: .customLong("include-module"), help: ArgumentHelp("Keep only traces whose site is in a module matching GLOB.", valueName: "glob"))
    var includeModules: [String] = []

    @Option(name: .customLong("exclude-module"), help: ArgumentHelp("Drop traces whose site is in a module matching GLOB.", valueName: "glob"))
    var excludeModules: [String] = []

    @Option(name: .customLong("include-function"), help: ArgumentHelp("Keep only traces whose site is in a function matching GLOB.", valueName: "glob"))
    var includeFunctions: [String] = []

    @Option(name: .customLong("exclude-function"), help: ArgumentHelp("Drop traces whose site is in a function matching GLOB.", valueName: "glob"))
    var excludeFunctions: [String] = []

    @Option(name: .customLong("domain"), help: ArgumentHelp("Keep only traces of this domain (0 is malloc; others come from heapsnap_track).", valueName: "n"))
    var includeDomains: [UInt32] = []

    @Option(name: .customLong("exclude-domain"), help: ArgumentHelp("Drop traces of this domain.", valueName: "n"))
    var excludeDomains: [UInt32] = []

    @Option(name: .customLong("skip-function"), help: ArgumentHelp(
        "Treat functions matching GLOB as plumbing (like malloc wrappers): the site is their caller.", valueName: "glob"))
    var skipFunctions: [String] = []

    @Option(name: .customLong("skip-module"), help: ArgumentHelp("Treat modules matching GLOB as plumbing.", valueName: "glob"))
    var skipModules: [String] = []

    @Option(name: .customLong("skip-file"), help: ArgumentHelp("Treat source files matching GLOB as plumbing.", valueName: "glob"))
    var skipFiles: [String] = []

    @Flag(help: "In traces with Python frames, the site is the innermost native frame that is not plumbing (an extension's C line, the interpreter's own code), not the Python line.")
    var native = false

    @Flag(name: .customLong("no-builtin-plumbing"), help: "Turn off the built-in plumbing rules (libc, libstdc++, Swift and Rust runtimes, …).")
    var noBuiltinPlumbing = false

    var filters: [TraceFilter] {
        func file(_ pattern: String, inclusive: Bool) -> TraceFilter {
            // "foo.c:42" is a file glob with a line, as tracemalloc's Filter(filename_pattern, lineno).
            if let colon = pattern.lastIndex(of: ":"), let line = Int(pattern[pattern.index(after: colon)...]) {
                return .file(String(pattern[..<colon]), line: line, allFrames: allFrames, inclusive: inclusive)
            }
            return .file(pattern, allFrames: allFrames, inclusive: inclusive)
        }
        return includeFiles.map { file($0, inclusive: true) }
            + excludeFiles.map { file($0, inclusive: false) }
            + includeModules.map { .module($0, allFrames: allFrames, inclusive: true) }
            + excludeModules.map { .module($0, allFrames: allFrames, inclusive: false) }
            + includeFunctions.map { .function($0, allFrames: allFrames, inclusive: true) }
            + excludeFunctions.map { .function($0, allFrames: allFrames, inclusive: false) }
            + includeDomains.map { .domain($0, inclusive: true) }
            + excludeDomains.map { .domain($0, inclusive: false) }
    }

    var sites: SiteRules {
        var rules = SiteRules.default
        rules.useBuiltIn = !noBuiltinPlumbing
        rules.functionPatterns += skipFunctions
        rules.modulePatterns += skipModules
        rules.filePatterns += skipFiles
        rules.prefersNative = native
        return rules
    }
}

/// --format and --color: every command that prints a report (info has only these).
struct FormatOptions: ParsableArguments {
    @Option(help: "Output format: text or json (schema in Docs/REPORT-JSON.md).")
    var format: OutputFormat = .text

    @Option(help: "Colour text output: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    func textReport(tracebackLimit: Int? = nil) -> TextReport {
        TextReport(options: TextReportOptions(
            style: TextStyle.detect(for: STDOUT_FILENO, choice: color),
            pathBase: FileManager.default.currentDirectoryPath, tracebackLimit: tracebackLimit))
    }

    /// Writes a report to stdout in the chosen format.
    func emit(text: () -> String, json: () throws -> String) rethrows {
        switch format {
        case .text: FileHandle.standardOutput.write(Data(text().utf8))
        case .json: FileHandle.standardOutput.write(Data((try json() + "\n").utf8))
        }
    }
}

/// The output options of top, diff and growth: the format, and how tracebacks are shown.
struct OutputOptions: ParsableArguments {
    @OptionGroup var formatting: FormatOptions

    @Option(help: ArgumentHelp(
        "With --by traceback: show the site and N frames in all towards main, allocator frames folded.",
        valueName: "n"))
    var tracebackLimit: Int?

    func validate() throws {
        if let tracebackLimit, tracebackLimit < 1 {
            throw ValidationError("--traceback-limit must be 1 or more, not \(tracebackLimit).")
        }
    }

    var format: OutputFormat { formatting.format }
    var textReport: TextReport { formatting.textReport(tracebackLimit: tracebackLimit) }

    func emit(text: () -> String, json: () throws -> String) rethrows { try formatting.emit(text: text, json: json) }
}
