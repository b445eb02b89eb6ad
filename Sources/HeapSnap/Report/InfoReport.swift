// `heapsnap info`: the snapshot's header as aligned "Label  value" lines, then its modules and how
// well each could be symbolized.
import Foundation

extension TextReport {
    public func render(info snapshot: Snapshot) -> String {
        let info = snapshot.info
        let elapsed = info.timeNanoseconds >= info.startNanoseconds
            ? Double(info.timeNanoseconds - info.startNanoseconds) / 1e9 : 0
        var taken = "\(Self.timeText(info.timeNanoseconds)), "
            + String(format: "%.3f s", elapsed) + " after tracking started, by \(Self.triggerText(info.trigger))"
        if info.trigger != .peak { taken += " (#\(info.sequence))" }
        let withDebug = info.modules.filter(\.hasDebugInfo).count
        var rows: [(String, String)] = [
            ("Snapshot", info.source.isEmpty ? "(in memory)" : info.source),
            ("Program", ([info.executable] + info.arguments.dropFirst()).joined(separator: " ")),
            ("PID", "\(info.pid) (parent \(info.parentPID))"),
            ("Taken", taken),
            ("Traced", "current \(SizeFormat.string(info.currentBytes)), peak \(SizeFormat.string(info.peakBytes))"),
            ("Live blocks", "\(info.liveBlocks)"),
            ("Allocations", "\(info.totalAllocations) since start, \(SizeFormat.string(info.totalBytes)) in all"),
            ("Tracker", "\(SizeFormat.string(info.trackerBytes)) of its own memory"
                + (info.untrackedFrees > 0 ? ", \(info.untrackedFrees) frees of blocks it never saw" : "")),
            ("Stacks", "\(snapshot.traces.count) distinct, up to \(info.maxFrames) frames each"
                + (snapshot.traces.contains { $0.traceback.isTruncated } ? " (some truncated)" : "")),
            ("Modules", "\(info.modules.count), \(withDebug) with debug info, \(info.modules.count - withDebug) without"),
        ]
        if let sampling = info.sampling {
            rows.insert(("Sampling", sampling.description + ": every figure is an estimate (\(sampling.recordedLiveBlocks) live blocks"
                + " and \(sampling.recordedAllocations) allocations recorded" + (sampling.seed != 0 ? ", seed \(sampling.seed))" : ")")), at: 4)
        }
        if let unwind = info.unwind { rows.append(("Unwinder", unwind.description)) }
        if let python = info.python { rows += Self.pythonRows(python) }
        if snapshot.size != info.currentBytes || snapshot.count != info.liveBlocks {
            rows.append(("In traces", "\(SizeFormat.string(snapshot.size)) in \(snapshot.count) blocks"))
        }
        let width = rows.map(\.0.count).max() ?? 0
        var lines = rows.map { label, value in
            style.apply(.heading, label.padding(toLength: width, withPad: " ", startingAt: 0)) + "  " + value
        }
        for module in info.modules {
            var notes: [String] = []
            if module.isMainExecutable { notes.append("main") }
            // A module that could not be read has its problem said instead: its symbols are unknown too.
            if module.problem == nil { notes.append(Self.namesText(module)) }
            if module.wasUnloaded { notes.append("unloaded") }
            if let answer = module.debuginfod, answer != "found" { notes.append("debuginfod: \(answer)") }
            var line = "  " + module.path
            if !notes.isEmpty { line += "  " + style.apply(.dim, "[" + notes.joined(separator: ", ") + "]") }
            if let problem = module.problem { line += " " + style.apply(.warning, problem) }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What a module's frames can be named with, as the symbolizer found it.
    static func namesText(_ module: ModuleInfo) -> String {
        switch module.names {
        case .debugInfo: return module.debuginfod == "found" ? "debug info from debuginfod" : "debug info"
        case .symbols:
            return module.symbolTable == .gnuDebugdata
                ? "symbols only, from .gnu_debugdata (no file:line)" : "symbols only (no file:line)"
        case .exportedSymbols:
            let count = module.functionSymbols ?? 0
            return "exported symbols only (\(count) function\(count == 1 ? "" : "s") in .dynsym, no file:line)"
        case .nothing: return "stripped: no symbols, no debug info"
        case .unknown: return "no debug info"
        }
    }

    /// The interpreter, whether its frames were recorded (why not, if not) and PYTHONMALLOC.
    static func pythonRows(_ python: PythonInterpreter) -> [(String, String)] {
        var frames = python.isCapturing
            ? "CPython \(python.versionText), Python frames recorded (\(python.codeCount) code objects)"
            : "CPython \(python.versionText), Python frames off: \(python.detail.isEmpty ? "status \(python.status)" : python.detail)"
        if python.isCapturing && !python.detail.isEmpty { frames += "; " + python.detail }
        let allocator = python.pythonMalloc.isEmpty ? "not set" : python.pythonMalloc
        let note = python.usesPymalloc
            ? " (small objects came from pymalloc arenas, which hide their lines: run with PYTHONMALLOC=malloc)" : ""
        return [("Python", frames), ("PYTHONMALLOC", allocator + note)]
    }

    private var style: TextStyle { options.style }
}
