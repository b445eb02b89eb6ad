// heapsnap run: the program under the tracker, its streams and exit status passed through, then a
// summary on stderr of where the snapshots went and what the final one holds.
import ArgumentParser
import CHeapSnapContract
import Foundation
import HeapSnap

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program with the tracker preloaded, then summarize its final snapshot.",
        discussion: "The program's standard input, output and error are its own; heapsnap writes its summary to stderr after the program ends and exits with the program's status (128+N if a signal N killed it, 127 if it could not be started). A snapshot is written at exit (by a child process only when its traced peak reached --min-peak), on `heapsnap snap PID`, on --signal if given, every --interval seconds, at each new peak with --peak-step, and when the program calls heapsnap_snapshot() (see Docs/TRACKER.md). Python programs: heapsnap sets PYTHONMALLOC=malloc unless it is set already, so that small Python objects come from malloc, where their lines are seen, instead of pymalloc's arenas."
    )

    @Option(help: ArgumentHelp("Folder for the snapshots (HEAPSNAP_DIR; default: the working directory).", valueName: "dir"))
    var dir: String?

    @Option(help: ArgumentHelp("Frames recorded per allocation (HEAPSNAP_FRAMES; default 64).", valueName: "n"))
    var frames: FramesSetting?

    @Option(help: ArgumentHelp("Also take a snapshot every so many seconds, fractions allowed (HEAPSNAP_INTERVAL).", valueName: "seconds"))
    var interval: SecondsSetting?

    @Option(help: ArgumentHelp("A signal that also makes the program write a snapshot: a name (USR2) or number (HEAPSNAP_SIGNAL; default none, every disposition stays the program's).", valueName: "signal"))
    var signal: SignalSetting?

    @Option(help: ArgumentHelp("Rewrite <prog>.<pid>.peak.heapsnap whenever the peak grew by this much, e.g. 16M (HEAPSNAP_PEAK_STEP).", valueName: "bytes"))
    var peakStep: ByteCountSetting?

    @Option(help: ArgumentHelp(
        "Child processes write an exit snapshot only when their traced peak reached this, e.g. 512K; 0 writes every one (HEAPSNAP_MIN_PEAK; default 4M). The program itself, and programs named by --only, always write theirs.",
        valueName: "bytes"))
    var minPeak: ByteCountSetting?

    @Option(help: ArgumentHelp(
        "Stop writing snapshots once this run's files hold this much, e.g. 200M; 0 for no limit (HEAPSNAP_MAX_DISK; default 1G).",
        valueName: "bytes"))
    var maxDisk: ByteCountSetting?

    @Option(help: ArgumentHelp(
        "Sampling mode for production: record one allocation per this many bytes on average, e.g. 512K or 2M, and report estimates (HEAPSNAP_SAMPLE).",
        valueName: "bytes"))
    var sample: ByteCountSetting?

    @Flag(help: "Record every live block in the snapshots too (HEAPSNAP_TRACES=1).")
    var traces = false

    @Flag(help: "Run libunwind beside heapsnap's own unwinder on every allocation and count differences; `heapsnap info` shows them (HEAPSNAP_VERIFY_UNWIND=1, slow).")
    var verifyUnwind = false

    @Option(help: ArgumentHelp(
        "Track only programs of these names, comma-separated or repeated; other processes that inherit the tracker (a wrapper script's shell, its tools) stay dormant (HEAPSNAP_ONLY).",
        valueName: "names"))
    var only: [ProgramNameSetting] = []

    @Flag(name: .shortAndLong, help: "Print no summary after the program ends.")
    var quiet = false

    @Option(name: .customShort("n"), parsing: .unconditional, help: "Sites to list in the summary.")
    var limit: Int = 10

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The program and its arguments, after --.", valueName: "program"))
    var command: [String] = []

    /// The program and its arguments, without the "--" that separates them from heapsnap's options.
    var programArguments: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func validate() throws {
        // The program's arguments are passed through untouched, so help has to be asked for before it.
        if let first = command.first, first == "-h" || first == "--help" { throw CleanExit.helpRequest(self) }
        guard !programArguments.isEmpty else {
            throw ValidationError("Missing the program to run: heapsnap run [options] -- PROGRAM [ARGS...]")
        }
        try frames?.check("frames")
        try interval?.check("interval")
        try signal?.check("signal")
        try peakStep?.check("peak-step")
        try minPeak?.check("min-peak")
        try maxDisk?.check("max-disk")
        for name in only { try name.check("only") }
        if let sample {
            guard sample.isAccepted, sample.value > 0 else {
                throw ValidationError("--sample takes a byte count above 0 like 512K or 2M, not '\(sample.text)'.")
            }
        }
        guard limit >= 0 else { throw ValidationError("-n must be 0 (all) or more, not \(limit).") }
    }

    func run() throws {
        let library = try TrackerEnvironment.libraryPath()
        var environment = ProcessInfo.processInfo.environment
        let folder = try snapshotFolder(environment)
        let existingPreload = environment["LD_PRELOAD"] ?? ""
        environment["LD_PRELOAD"] = existingPreload.isEmpty ? library : library + ":" + existingPreload
        // Absolute, so that children that change directory still write to the same place.
        environment[TrackerEnvironment.directory] = folder
        // The text as given: the tracker parses it with the same grammar the options were checked with.
        if let frames { environment[TrackerEnvironment.frames] = frames.text }
        if let interval { environment[TrackerEnvironment.interval] = interval.text }
        if let signal { environment[TrackerEnvironment.signal] = signal.text }
        if let peakStep { environment[TrackerEnvironment.peakStep] = peakStep.text }
        if let sample { environment[TrackerEnvironment.sample] = sample.text }
        if traces { environment[TrackerEnvironment.traces] = "1" }
        if verifyUnwind { environment[TrackerEnvironment.verifyUnwind] = "1" }
        if let minPeak { environment[TrackerEnvironment.minPeak] = minPeak.text }
        if let maxDisk { environment[TrackerEnvironment.maxDisk] = maxDisk.text }
        if !only.isEmpty { environment[TrackerEnvironment.only] = only.map(\.text).joined(separator: ",") }
        // pymalloc hides every small Python object in 256 KiB arenas; the user's own choice stands.
        if environment["PYTHONMALLOC"] == nil { environment["PYTHONMALLOC"] = "malloc" }

        let before = Set(SnapshotFileName.list(in: folder).map(\.name))
        // The run's disk budget is counted in a ledger per process group (ours, which the child joins):
        // a fresh one for this run, removed after it.
        let ledger = folder + "/" + TrackerEnvironment.budgetLedgerPrefix + String(getpgrp())
        unlink(ledger)
        defer { unlink(ledger) }
        let pid = try ChildProcess.spawn(programArguments, environment: environment)
        let outcome = ChildProcess.wait(for: pid)
        if !quiet {
            let written = SnapshotFileName.list(in: folder).filter { !before.contains($0.name) }
            let reason = written.isEmpty ? whyNothingWritten(outcome: outcome, folder: folder, environment: environment) : nil
            summarize(written: written, pid: pid, outcome: outcome, folder: folder, nothingWritten: reason)
        }
        throw ExitCode(outcome.shellStatus)
    }

    private func snapshotFolder(_ environment: [String: String]) throws -> String {
        let folder = TrackerEnvironment.absolute(dir ?? environment[TrackerEnvironment.directory] ?? ".")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("\(folder): not a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw CLIError("\(folder): cannot create the snapshot folder")
            }
        }
        return folder
    }

    /// Why the run left no file, from what can be seen after it: the program's ELF file, HEAPSNAP_ONLY,
    /// the folder, and how the program ended.
    private func whyNothingWritten(outcome: ChildProcess.Outcome, folder: String, environment: [String: String])
        -> RunSummary.NothingWritten? {
        switch ProgramLinkage.of(programArguments[0], environment: environment) {
        case .statically(let path): return .staticallyLinked(path: path)
        case .setID(let path): return .setID(path: path)
        case .dynamic: break
        }
        if let list = environment[TrackerEnvironment.only], !list.isEmpty {
            // the tracker matches the executable's file name and argv[0]'s
            let path = ProgramLinkage.resolve(programArguments[0], environment: environment) ?? programArguments[0]
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().lastPathComponent
            let names = [URL(fileURLWithPath: programArguments[0]).lastPathComponent, resolved]
            if !names.contains(where: { heapsnap_program_listed(list, $0) }) {
                return .notNamed(setting: only.isEmpty ? "\(TrackerEnvironment.only)=\(list)" : "--only \(list)")
            }
        }
        if access(folder, W_OK) != 0 { return .folderNotWritable }
        switch outcome {
        case .exited: return .exitHandlersSkipped
        case .signaled(let signal) where signal == SIGABRT: return .aborted
        case .signaled(let signal): return .killed(signal: SignalSetting.name(signal))
        }
    }

    private func summarize(written: [SnapshotFileName], pid: pid_t, outcome: ChildProcess.Outcome, folder: String,
                           nothingWritten: RunSummary.NothingWritten?) {
        let own = written.filter { $0.pid == pid }
        let ending: RunSummary.Ending
        switch outcome {
        case .exited(let code): ending = .exited(status: code)
        case .signaled(let signal): ending = .killed(signal: SignalSetting.name(signal))
        }
        let childFiles = written.filter { $0.pid != pid }
        let children = childPrograms(childFiles, folder: folder)
        var summary = RunSummary(
            program: URL(fileURLWithPath: programArguments[0]).lastPathComponent, pid: pid, ending: ending,
            folder: folder, snapshots: own.map(\.name), childSnapshots: childFiles.map(\.name),
            children: children.programs)
        summary.peak = peakLine(own, folder: folder)
        summary.nothingWritten = nothingWritten
        let report = TextReport(options: TextReportOptions(
            style: TextStyle.detect(for: STDERR_FILENO), pathBase: FileManager.default.currentDirectoryPath))
        var text = report.render(run: summary)
        // The final snapshot: the exit one (the highest sequence number), else the latest peak. When the
        // program itself wrote none (a wrapper script, or --only naming a child), the one of the child
        // process with the biggest peak, likely the real program rather than a helper tool.
        if let final = own.last(where: { $0.sequence != nil }).map(\.name) ?? own.last.map(\.name) ?? children.biggest {
            do {
                let snapshot = try SnapshotLoader.load(folder + "/" + final)
                let top = StatisticsReport(
                    top: snapshot, statistics: snapshot.statistics(by: .line), groupBy: .line,
                    limit: limit == 0 ? nil : limit)
                text += "\n" + report.render(top)
            } catch {
                text += "heapsnap: \(HeapSnapCommand.oneLine(error))\n"
            }
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// "peak 297 MiB at 12.4 s; at exit 1.2 MiB", from the program's own peak file and exit snapshot.
    private func peakLine(_ own: [SnapshotFileName], folder: String) -> RunSummary.Peak? {
        guard let name = own.first(where: { $0.sequence == nil }),
              let peak = try? RawSnapshot(contentsOf: folder + "/" + name.name), peak.header.trigger == .peak
        else { return nil }
        let exit = own.last(where: { $0.sequence != nil }).flatMap { try? RawSnapshot(contentsOf: folder + "/" + $0.name) }
        let seconds = Double(peak.header.timeNanoseconds &- peak.header.startNanoseconds) / 1e9
        return RunSummary.Peak(
            bytes: peak.header.peakBytes, seconds: max(0, seconds),
            atExit: exit?.header.trigger == .exit ? exit?.header.currentBytes : nil)
    }

    /// The child processes' snapshots by program: each process's peak is the one its last snapshot
    /// (its exit one, else its peak one) records. A file that cannot be read counts with peak 0.
    private func childPrograms(_ files: [SnapshotFileName], folder: String)
        -> (programs: [RunSummary.ChildProgram], biggest: String?) {
        var programs: [String: RunSummary.ChildProgram] = [:]
        var biggest: (peak: UInt64, name: String)?
        for (_, ownFiles) in Dictionary(grouping: files, by: \.pid) {
            let sorted = ownFiles.sorted()
            guard let last = sorted.last(where: { $0.sequence != nil }) ?? sorted.last else { continue }
            let peak = (try? RawSnapshot(contentsOf: folder + "/" + last.name))?.header.peakBytes ?? 0
            if biggest == nil || peak > biggest!.peak { biggest = (peak, last.name) }
            var entry = programs[last.program] ?? RunSummary.ChildProgram(
                program: last.program, processes: 0, files: 0, peakBytes: 0, biggest: last.name)
            entry.processes += 1
            entry.files += sorted.count
            if peak >= entry.peakBytes {
                entry.peakBytes = peak
                entry.biggest = last.name
            }
            programs[last.program] = entry
        }
        return (Array(programs.values), biggest?.name)
    }
}
