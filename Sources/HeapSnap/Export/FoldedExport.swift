// Collapsed ("folded") stacks, the input of flamegraph.pl, inferno and speedscope: one line per
// traceback, "root;caller;…;leaf VALUE", frames oldest first. Equal lines are merged, so the values of
// all lines add up to the snapshot's total of the chosen measure.

public struct FoldedExport {
    /// What the number at the end of a line counts.
    public enum Value: String, CaseIterable, Sendable {
        case liveBytes = "live-bytes", liveBlocks = "live-blocks", calls, allocatedBytes = "allocated-bytes"

        func of(_ trace: Trace) -> UInt64 {
            switch self {
            case .liveBytes: return trace.size
            case .liveBlocks: return trace.count
            case .calls: return trace.totalAllocations
            case .allocatedBytes: return trace.totalBytes
            }
        }
    }

    public var value: Value
    public init(value: Value = .liveBytes) { self.value = value }

    /// A frame's name in a line: its function, else its best location; inlined calls are frames of
    /// their own. ';' separates frames and the last space the value, so neither may stay in a name.
    public static func name(of frame: Frame) -> String {
        let name = frame.function ?? frame.location
        guard name.contains(where: { $0 == ";" || $0 == "\n" }) else { return name }
        return String(name.map { $0 == ";" ? ":" : ($0 == "\n" ? " " : $0) })
    }

    /// The lines, largest value first (ties by text), each ending in a newline.
    public func lines(of snapshot: Snapshot) -> [String] {
        var totals: [String: UInt64] = [:]
        var names: [ObjectIdentifier: String] = [:]
        for trace in snapshot.traces {
            let amount = value.of(trace)
            guard amount > 0 else { continue }
            let frames = trace.traceback.frames.reversed().map { frame -> String in
                if let known = names[ObjectIdentifier(frame.storage)] { return known }
                let name = Self.name(of: frame)
                names[ObjectIdentifier(frame.storage)] = name
                return name
            }
            let stack = frames.isEmpty ? "[unknown]" : frames.joined(separator: ";")
            totals[stack, default: 0] += amount
        }
        return totals.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) \($0.value)\n" }
    }

    public func text(of snapshot: Snapshot) -> String { lines(of: snapshot).joined() }
}
