// What `heapsnap run` says on stderr when the program has ended: how it ended, which snapshots it
// wrote and where; the top sites of the final one follow as an ordinary top report.

public struct RunSummary: Sendable {
    public enum Ending: Sendable {
        case exited(status: Int32)
        case killed(signal: String)
    }

    public var program: String
    public var pid: Int32
    public var ending: Ending
    public var folder: String
    /// File names of the program's own snapshots, in order.
    public var snapshots: [String]
    /// File names of the snapshots its child processes (other pids) wrote.
    public var childSnapshots: [String]
    /// Those snapshots by program, the biggest peak first.
    public var children: [ChildProgram]
    /// The high-water mark of traced memory, from the program's peak file, and what was live at exit.
    public var peak: Peak?
    /// When no process wrote a snapshot: why, as far as the run can tell.
    public var nothingWritten: NothingWritten?

    /// Why a run left no snapshot at all; each case has its own line saying what happened and what to do.
    public enum NothingWritten: Sendable, Equatable {
        /// The program has no dynamic loader, so LD_PRELOAD never loads the tracker.
        case staticallyLinked(path: String)
        /// The loader ignores LD_PRELOAD for a set-user-ID or set-group-ID program.
        case setID(path: String)
        /// HEAPSNAP_ONLY (as given: "--only a,b" or "HEAPSNAP_ONLY=a,b") names neither the program
        /// nor any process that wrote a snapshot.
        case notNamed(setting: String)
        /// The snapshot folder is not writable.
        case folderNotWritable
        /// The program exited with a status but ran no exit handlers (_exit, an exec of an untraced program).
        case exitHandlersSkipped
        /// abort(): SIGABRT.
        case aborted
        /// Killed by a signal other than SIGABRT (its name, e.g. "SIGKILL").
        case killed(signal: String)
    }

    public struct Peak: Sendable {
        public var bytes: UInt64
        /// When the peak was reached, seconds after tracking started.
        public var seconds: Double
        /// Live bytes in the exit snapshot; nil when there is none (killed, exec, _exit).
        public var atExit: UInt64?
        public init(bytes: UInt64, seconds: Double, atExit: UInt64?) {
            self.bytes = bytes
            self.seconds = seconds
            self.atExit = atExit
        }
    }

    /// The snapshots of the child processes that ran one program.
    public struct ChildProgram: Sendable, Equatable {
        public var program: String
        public var processes: Int
        public var files: Int
        /// The highest traced peak among its processes, and the file of that process to read.
        public var peakBytes: UInt64
        public var biggest: String

        public init(program: String, processes: Int, files: Int, peakBytes: UInt64, biggest: String) {
            self.program = program
            self.processes = processes
            self.files = files
            self.peakBytes = peakBytes
            self.biggest = biggest
        }
    }

    public init(program: String, pid: Int32, ending: Ending, folder: String, snapshots: [String], childSnapshots: [String],
                children: [ChildProgram] = []) {
        self.program = program
        self.pid = pid
        self.ending = ending
        self.folder = folder
        self.snapshots = snapshots
        self.childSnapshots = childSnapshots
        self.children = children.sorted { ($0.peakBytes, $1.program) > ($1.peakBytes, $0.program) }
    }
}

extension TextReport {
    public func render(run summary: RunSummary) -> String {
        let ending: String
        switch summary.ending {
        case .exited(let status): ending = "exited with status \(status)"
        case .killed(let signal): ending = "was killed by \(signal)"
        }
        let own = summary.snapshots.count, children = summary.childSnapshots.count
        var first = "heapsnap: \(summary.program) (pid \(summary.pid)) \(ending); "
        let names: [String]
        if own == 0 && children > 0 {
            // A wrapper (a script, a launcher): its children are the programs of interest.
            first += "no snapshot of its own, \(children) from its child processes in \(summary.folder)"
            first += summary.children.isEmpty ? ":" : ""
            names = summary.children.isEmpty ? summary.childSnapshots : []
        } else {
            first += "\(own) snapshot\(own == 1 ? "" : "s") in \(summary.folder)"
            if children > 0 { first += " (and \(children) from its child processes)" }
            first += own == 0 ? "" : ":"
            names = summary.snapshots
        }
        var lines = [first]
        // A long interval run can write hundreds: the first and last few say enough.
        let shown = names.count <= 8 ? names : names.prefix(3) + ["… \(names.count - 6) more …"] + names.suffix(3)
        lines += shown.map { "  " + $0 }
        if let peak = summary.peak {
            var line = "heapsnap: peak \(SizeFormat.string(peak.bytes)) at \(String(format: "%.1f", peak.seconds)) s"
            if let atExit = peak.atExit { line += "; at exit \(SizeFormat.string(atExit))" }
            lines.append(line)
        }
        if !summary.children.isEmpty {
            lines.append("child processes by peak traced memory:")
            let shownPrograms = summary.children.prefix(10)
            let width = shownPrograms.map(\.program.count).max() ?? 0
            for child in shownPrograms {
                let padding = String(repeating: " ", count: width - child.program.count)
                let counts = child.processes == child.files
                    ? "\(child.files) snapshot\(child.files == 1 ? "" : "s")"
                    : "\(child.files) snapshots of \(child.processes) process\(child.processes == 1 ? "" : "es")"
                lines.append("  \(child.program)\(padding)  peak \(SizeFormat.string(child.peakBytes))  \(counts), biggest \(child.biggest)")
            }
            if summary.children.count > 10 { lines.append("  … \(summary.children.count - 10) more programs …") }
        }
        if own == 0 && children == 0 {
            let why = summary.nothingWritten.map {
                ": " + Self.whyNothingWritten($0, program: summary.program, folder: summary.folder)
            } ?? " (static and set-uid programs cannot be traced; _exit(), abort() and signals skip the exit snapshot)"
            lines.append("heapsnap: " + options.style.apply(.warning, "no snapshot was written") + why)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What happened and what to do, for a run that wrote no snapshot.
    static func whyNothingWritten(_ reason: RunSummary.NothingWritten, program: String, folder: String) -> String {
        let whileRunning = "take snapshots while it runs: --interval SECONDS, --peak-step 64M (the peak state, rewritten as it grows) or heapsnap snap PID"
        switch reason {
        case .staticallyLinked(let path):
            return "\(path) is statically linked: it has no dynamic loader, so LD_PRELOAD never loads libheapsnap.so into it; "
                + "trace a dynamically linked build of it (without -static)"
        case .setID(let path):
            return "\(path) is set-user-ID or set-group-ID, and the dynamic loader ignores LD_PRELOAD for such programs; "
                + "trace a copy of it without that bit"
        case .notNamed(let setting):
            return "\(setting) names no process that wrote one, and \(program) itself is not named, so it was not tracked; "
                + "give the file names of the programs to track (python3.11, not a path or an alias)"
        case .folderNotWritable:
            return "\(folder) is not writable; give --dir a folder you can write in"
        case .exitHandlersSkipped:
            return "\(program) ended without running its exit handlers (_exit(), or an exec of a program that cannot be traced), "
                + "which is when the exit snapshot is written; \(whileRunning), or call heapsnap_snapshot() before it ends"
        case .aborted:
            return "\(program) called abort() (SIGABRT), which ends a process without its exit handlers, so there is no exit snapshot; "
                + whileRunning
        case .killed(let signal) where signal == "SIGKILL":
            return "\(program) was killed by SIGKILL, which no process can catch, so there is no exit snapshot (the kernel's "
                + "out-of-memory killer sends SIGKILL: see dmesg); " + whileRunning
        case .killed(let signal):
            return "\(program) was killed by \(signal), whose default action skips the exit handlers, so there is no exit snapshot; "
                + whileRunning
        }
    }
}
