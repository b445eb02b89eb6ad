// One call chain from a stack's native frames and its Python frames. Since CPython 3.11 one C call of
// the evaluation loop (_PyEval_EvalFrameDefault) runs a whole run of Python frames; the tracker marks
// the outermost frame of each run as an entry frame. Each native frame of the loop is replaced by its
// run, so a traceback reads: extension frames, script.py:12 in build, script.py:30 in <module>,
// interpreter start-up.

/// A Python frame of a recorded stack, decoded, with the tracker's entry mark.
public struct RecordedPythonFrame: Sendable, Equatable {
    public var frame: Frame
    /// The outermost frame run by one C-level call of the evaluation loop.
    public var isEntry: Bool
    /// False for a frame that had not run its first instruction: it pairs its loop frame but is never
    /// shown (tracemalloc skips such frames too); its loop's native frame stays instead.
    public var hasStarted: Bool

    public init(frame: Frame, isEntry: Bool, hasStarted: Bool = true) {
        self.frame = frame
        self.isEntry = isEntry
        self.hasStarted = hasStarted
    }
}

public enum MixedStack {
    /// True for a native frame of CPython's evaluation loop, including its split-off `.cold` part and
    /// 3.14's tail-calling interpreter.
    public static func isEvaluationLoop(_ frame: Frame) -> Bool {
        guard !frame.isPython, !frame.isInlined, let function = frame.function else { return false }
        return function == "_PyEval_EvalFrameDefault" || function.hasPrefix("_PyEval_EvalFrameDefault.")
            || function.hasPrefix("_TAIL_CALL_")
    }

    /// The merged traceback (most recent first). `nativeCut` / `pythonCut`: the tracker's frame limit cut
    /// that part at its outer end.
    ///
    /// Runs are paired with loop frames from the outermost end: an allocation made while the loop sets
    /// up a new frame has a loop frame with no complete Python frame yet, and that one is innermost.
    /// When a part was cut, its outer end is missing, so pairing starts from the innermost end. When
    /// there are more runs than loop frames in an uncut stack (an interpreter without a symbol for its
    /// loop, say), nothing is guessed: both lists are kept, the Python one after the native one, and
    /// `pythonStart` says where it begins.
    public static func merge(native: [Frame], python: [RecordedPythonFrame], nativeCut: Bool = false,
                             pythonCut: Bool = false) -> Traceback {
        guard !python.isEmpty else { return Traceback(frames: native) }
        // Runs of Python frames, innermost first; each ends at an entry frame (the last may not).
        var runs: [[RecordedPythonFrame]] = [[]]
        for frame in python {
            runs[runs.count - 1].append(frame)
            if frame.isEntry { runs.append([]) }
        }
        if runs[runs.count - 1].isEmpty { runs.removeLast() }
        func shown(_ run: [RecordedPythonFrame]) -> [Frame] { run.filter(\.hasStarted).map(\.frame) }
        let loops = native.indices.filter { isEvaluationLoop(native[$0]) }

        var runOfLoop: [Int: Int] = [:]  // native index -> run index
        var leftover: ArraySlice<[RecordedPythonFrame]> = []
        if nativeCut || pythonCut {
            for (loop, run) in zip(loops, runs.indices) { runOfLoop[loop] = run }
            leftover = runs.dropFirst(min(loops.count, runs.count))
        } else {
            guard loops.count >= runs.count else {
                return Traceback(frames: native + shown(python), pythonStart: native.count)
            }
            for (loop, run) in zip(loops.reversed(), runs.indices.reversed()) { runOfLoop[loop] = run }
        }
        var frames: [Frame] = []
        frames.reserveCapacity(native.count + python.count)
        for (index, frame) in native.enumerated() {
            let run = runOfLoop[index].map { shown(runs[$0]) } ?? []
            if run.isEmpty { frames.append(frame) } else { frames.append(contentsOf: run) }
        }
        // Outer runs whose loop frames were cut from the native part continue the chain outwards.
        for run in leftover { frames.append(contentsOf: shown(run)) }
        return Traceback(frames: frames)
    }
}

/// Turns a stack's recorded Python frames into Frames (file, qualified name, line) and merges them with
/// its native frames. Line tables are decoded once per code record, frames made once per (code,
/// instruction), so equal frames share one box.
final class PythonFrameDecoder {
    /// The tracker's cap on Python frames per stack (Docs/FORMAT.md).
    static let maxPythonFrames = 128

    private let codes: [PythonCodeRecord]
    private var tables: [PythonLineTable?]
    private var frames: [PythonFrameKey: Frame] = [:]

    private struct PythonFrameKey: Hashable {
        var code: Int
        var offset: UInt32
    }

    init(_ interpreter: PythonInterpreter?) {
        codes = interpreter?.codes ?? []
        tables = Array(repeating: nil, count: codes.count)
    }

    func frame(_ recorded: PythonFrame) -> Frame {
        let key = PythonFrameKey(code: recorded.code, offset: recorded.instructionOffset)
        if let known = frames[key] { return known }
        let code = codes[recorded.code]
        if tables[recorded.code] == nil {
            tables[recorded.code] = PythonLineTable(bytes: code.lineTable, firstLine: Int(code.firstLine))
        }
        // No line (or a frame not started yet) is line 0, as tracemalloc reports it.
        let line = recorded.hasStarted ? tables[recorded.code]!.line(at: recorded.instructionOffset) ?? 0 : 0
        let frame = Frame.python(file: code.filename, function: code.qualifiedName, line: line)
        frames[key] = frame
        return frame
    }

    /// The traceback of `stack` whose native addresses symbolized to `native`.
    func traceback(native: [Frame], stack: StackRecord, maxFrames: UInt32) -> Traceback {
        guard !stack.pythonFrames.isEmpty else { return Traceback(frames: native, isTruncated: stack.isTruncated) }
        let python = stack.pythonFrames.map {
            RecordedPythonFrame(frame: frame($0), isEntry: $0.isEntry, hasStarted: $0.hasStarted)
        }
        var traceback = MixedStack.merge(
            native: native, python: python,
            nativeCut: stack.isTruncated && stack.frames.count >= Int(maxFrames),
            pythonCut: stack.isTruncated && stack.pythonFrames.count >= Self.maxPythonFrames)
        traceback.isTruncated = stack.isTruncated
        return traceback
    }
}
