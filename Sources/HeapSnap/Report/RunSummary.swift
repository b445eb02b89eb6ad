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
            lines.append("heapsnap: " + options.style.apply(.warning, "no snapshot was written")
                + " (static and set-uid programs cannot be traced; _exit(), abort() and signals skip the exit snapshot)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
