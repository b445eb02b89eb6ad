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

    public init(frame: Frame, isEntry: Bool) {
        self.frame = frame
        self.isEntry = isEntry
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
        var runs: [[Frame]] = [[]]
        for frame in python {
            runs[runs.count - 1].append(frame.frame)
            if frame.isEntry { runs.append([]) }
        }
        if runs[runs.count - 1].isEmpty { runs.removeLast() }
        let loops = native.indices.filter { isEvaluationLoop(native[$0]) }

        var runOfLoop: [Int: Int] = [:]  // native index -> run index
        var leftover: ArraySlice<[Frame]> = []
        if nativeCut || pythonCut {
            for (loop, run) in zip(loops, runs.indices) { runOfLoop[loop] = run }
            leftover = runs.dropFirst(min(loops.count, runs.count))
        } else {
            guard loops.count >= runs.count else {
                return Traceback(frames: native + python.map(\.frame), pythonStart: native.count)
            }
            for (loop, run) in zip(loops.reversed(), runs.indices.reversed()) { runOfLoop[loop] = run }
        }
        var frames: [Frame] = []
        frames.reserveCapacity(native.count + python.count)
        for (index, frame) in native.enumerated() {
            if let run = runOfLoop[index] { frames.append(contentsOf: runs[run]) } else { frames.append(frame) }
        }
        // Outer runs whose loop frames were cut from the native part continue the chain outwards.
        for run in leftover { frames.append(contentsOf: run) }
        return Traceback(frames: frames)
    }
}
