// heaptrack's churn questions: which sites make the most allocation calls, allocate the most bytes,
// make the most temporary allocations (freed before their thread allocated again). The tracker keeps
// these per stack since the start; groups sum them like live bytes.

/// A group's allocation activity since the tracker started.
public struct Churn: Sendable, Equatable {
    /// Allocation calls.
    public var calls: UInt64 = 0
    /// Bytes allocated, freed or not.
    public var allocated: UInt64 = 0
    /// Allocations freed before their thread made another allocation.
    public var temporary: UInt64 = 0

    public init(calls: UInt64 = 0, allocated: UInt64 = 0, temporary: UInt64 = 0) {
        self.calls = calls
        self.allocated = allocated
        self.temporary = temporary
    }

    init(_ trace: Trace) {
        self.init(calls: trace.totalAllocations, allocated: trace.totalBytes, temporary: trace.temporaryAllocations)
    }

    mutating func add(_ trace: Trace) {
        calls &+= trace.totalAllocations
        allocated &+= trace.totalBytes
        temporary &+= trace.temporaryAllocations
    }

    /// What happened between an older state and this one (counters only grow within one process).
    public func since(_ old: Churn) -> Churn {
        Churn(calls: calls &- min(calls, old.calls), allocated: allocated &- min(allocated, old.allocated),
              temporary: temporary &- min(temporary, old.temporary))
    }

    /// The share of calls that were temporary, 0…1.
    public var temporaryFraction: Double { calls == 0 ? 0 : Double(temporary) / Double(calls) }
}

/// What `top`, `diff` and the HTML report rank by.
public enum SortKey: String, CaseIterable, Sendable {
    /// Live bytes (tracemalloc's order; the default).
    case size
    /// Live blocks.
    case count
    case calls, allocated, temporary

    /// Ranked by a measure of allocation activity rather than by live memory.
    public var isChurn: Bool { self == .calls || self == .allocated || self == .temporary }

    func value(_ churn: Churn) -> UInt64 {
        switch self {
        case .calls: return churn.calls
        case .allocated: return churn.allocated
        case .temporary: return churn.temporary
        case .size, .count: return 0
        }
    }

    /// true/false when this key orders `a` and `b` (larger first), nil when they tie on it and the
    /// usual order decides. `count` are the live blocks, for .count.
    func ranks(_ a: Churn, _ b: Churn, count: (UInt64, UInt64)) -> Bool? {
        switch self {
        case .size: return nil
        case .count: return count.0 != count.1 ? count.0 > count.1 : nil
        case .calls, .allocated, .temporary:
            let x = value(a), y = value(b)
            return x != y ? x > y : nil
        }
    }
}
