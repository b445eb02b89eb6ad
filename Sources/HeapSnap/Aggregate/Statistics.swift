// Grouping traces tracemalloc-style: by the site's line, file, function or module, or by the whole
// traceback; optionally cumulative (every frame of a trace credited once).

/// What statistics group by.
public enum GroupKey: String, CaseIterable, Sendable, Codable {
    case line, file, function, module, traceback
}

/// The identity of a group. Compares like tracemalloc's keys: part by part, oldest frame first.
public struct StatisticKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// One frame of a key: a name (file, function, module or location), where that name is defined
    /// when the name alone is ambiguous (a function's file or module), and a line (0 when not part of it).
    public struct Part: Hashable, Comparable, Sendable {
        public var name: String
        public var scope: String
        public var line: Int
        public init(name: String, scope: String = "", line: Int = 0) {
            self.name = name
            self.scope = scope
            self.line = line
        }
        public static func < (a: Part, b: Part) -> Bool {
            if a.name != b.name { return a.name < b.name }
            return a.scope != b.scope ? a.scope < b.scope : a.line < b.line
        }
        public var description: String { line > 0 ? "\(name):\(line)" : name }
    }

    public var group: GroupKey
    /// Oldest frame first (a single part unless grouping by traceback).
    public var parts: [Part]

    public init(group: GroupKey, parts: [Part]) {
        self.group = group
        self.parts = parts
    }

    static func part(of frame: Frame, group: GroupKey) -> Part {
        switch group {
        case .line, .traceback:
            if let file = frame.file { return Part(name: file, line: frame.line) }
            return Part(name: frame.location)
        case .file:
            return Part(name: frame.file ?? (frame.module.isEmpty ? frame.location : frame.module))
        case .function:
            // Two C files may each have a static function of the same name: they are different functions.
            return Part(name: frame.function ?? frame.location, scope: frame.file ?? frame.module)
        case .module:
            return Part(name: frame.module.isEmpty ? "?" : frame.module)
        }
    }

    public static func < (a: StatisticKey, b: StatisticKey) -> Bool {
        a.parts.lexicographicallyPrecedes(b.parts)
    }

    public var description: String {
        parts.reversed().map(\.description).joined(separator: " <- ")
    }
}

/// One group of a snapshot: its live bytes and blocks, a representative site and traceback.
public struct Statistic: Sendable {
    public var key: StatisticKey
    public var size: UInt64
    public var count: UInt64
    /// The group's site, with only the fields the key is made of set for .file and .module
    /// (e.g. grouping by file: module and file; line 0, no function).
    public var site: Frame
    /// The traceback of the group's largest trace (most recent first); for .traceback, the group's own.
    public var traceback: Traceback
    /// Churn since the start: allocation calls, bytes allocated, temporary allocations (Churn.swift).
    public var churn: Churn

    public init(key: StatisticKey, size: UInt64, count: UInt64, site: Frame, traceback: Traceback,
                churn: Churn = Churn()) {
        self.key = key
        self.size = size
        self.count = count
        self.churn = churn
        self.site = site
        self.traceback = traceback
    }

    /// Average block size (0 for no blocks).
    public var averageSize: UInt64 { count == 0 ? 0 : size / count }
}

/// The accumulator behind statistics, diffs and growth.
struct GroupTotals {
    var size: UInt64 = 0
    var count: UInt64 = 0
    var site: Frame
    var traceback: Traceback
    var largest: UInt64 = 0
    var churn = Churn()
}

/// The frame kept as a group's site: only what the key is made of (for .file and .module).
func representativeSite(_ frame: Frame, group: GroupKey) -> Frame {
    switch group {
    case .line, .function, .traceback:
        return frame
    case .file:
        return Frame(module: frame.module, file: frame.file,
                     moduleOffset: frame.file == nil ? frame.moduleOffset : nil, isPython: frame.isPython)
    case .module:
        return Frame(module: frame.module, isPython: frame.isPython)
    }
}

extension Snapshot {
    /// Groups the traces by `group` (tracemalloc's Snapshot.statistics), sorted by size, count and key,
    /// largest first. Grouping by line, file or function uses each trace's allocation site (`sites`).
    /// Stacks whose blocks were all freed (no live block) hold no memory and make no group, as in
    /// tracemalloc, which only sees live blocks; their totals stay in `traces`.
    /// `sort` other than .size ranks by that churn measure first (then as above); those reports also
    /// list groups with nothing live, whose allocations were all freed.
    public func statistics(by group: GroupKey, cumulative: Bool = false, sites: SiteRules = .default,
                           sort: SortKey = .size) -> [Statistic] {
        let totals = groupTotals(by: group, cumulative: cumulative, sites: sites, includesFreed: sort.isChurn)
        var result = totals.map { key, value in
            Statistic(key: key, size: value.size, count: value.count, site: value.site, traceback: value.traceback,
                      churn: value.churn)
        }
        result.sort { a, b in
            if let ranked = sort.ranks(a.churn, b.churn, count: (a.count, b.count)) { return ranked }
            if a.size != b.size { return a.size > b.size }
            if a.count != b.count { return a.count > b.count }
            return b.key < a.key
        }
        return result
    }

    /// The groups of this snapshot. Frames are turned into interned key-part numbers once per distinct
    /// frame, so the work per trace is integer bookkeeping, not string hashing.
    func groupTotals(by group: GroupKey, cumulative: Bool, sites: SiteRules,
                     includesFreed: Bool = false) -> [StatisticKey: GroupTotals] {
        let traces = withSites(sites).traces
        // Keyed by the frame's shared box: the snapshot holds every box for the whole call, and
        // identical frames from one symbolized address share one box.
        var partOfFrame: [ObjectIdentifier: Int] = [:]
        var parts: [StatisticKey.Part] = []
        var partNumbers: [StatisticKey.Part: Int] = [:]
        func partNumber(_ frame: Frame) -> Int {
            if let known = partOfFrame[ObjectIdentifier(frame.storage)] { return known }
            let part = StatisticKey.part(of: frame, group: group)
            let number: Int
            if let existing = partNumbers[part] {
                number = existing
            } else {
                number = parts.count
                parts.append(part)
                partNumbers[part] = number
            }
            partOfFrame[ObjectIdentifier(frame.storage)] = number
            return number
        }
        func add(_ totals: inout GroupTotals?, site: Frame, trace: Trace) {
            if totals == nil {
                totals = GroupTotals(size: trace.size, count: trace.count, site: representativeSite(site, group: group),
                                     traceback: trace.traceback, largest: trace.size, churn: Churn(trace))
                return
            }
            totals!.size += trace.size
            totals!.count += trace.count
            totals!.churn.add(trace)
            if trace.size > totals!.largest {
                totals!.largest = trace.size
                totals!.traceback = trace.traceback
            }
        }
        let unknown = Frame.unknown

        if group == .traceback {
            var groups: [[Int]: GroupTotals] = [:]
            for trace in traces where trace.count > 0 || trace.size > 0 || (includesFreed && trace.totalAllocations > 0) {
                let frames = trace.traceback.frames
                let key = frames.reversed().map(partNumber)
                let site = trace.traceback.site
                var totals = groups.removeValue(forKey: key)
                add(&totals, site: site, trace: trace)
                groups[key] = totals
            }
            var result: [StatisticKey: GroupTotals] = [:]
            result.reserveCapacity(groups.count)
            for (key, totals) in groups {
                result[StatisticKey(group: .traceback, parts: key.map { parts[$0] })] = totals
            }
            return result
        }

        var totals: [GroupTotals?] = []
        var lastTrace: [Int] = []  // per part: the last trace credited, to credit each key once per trace
        func credit(_ number: Int, site: Frame, trace: Trace, index: Int) {
            if number >= totals.count {
                totals.append(contentsOf: repeatElement(nil, count: number - totals.count + 1))
                lastTrace.append(contentsOf: repeatElement(-1, count: number - lastTrace.count + 1))
            }
            guard lastTrace[number] != index else { return }
            lastTrace[number] = index
            add(&totals[number], site: site, trace: trace)
        }
        for (index, trace) in traces.enumerated()
        where trace.count > 0 || trace.size > 0 || (includesFreed && trace.totalAllocations > 0) {
            let frames = trace.traceback.frames
            if frames.isEmpty {
                credit(partNumber(unknown), site: unknown, trace: trace, index: index)
            } else if cumulative {
                // Each distinct key once per trace, however often its frames repeat (recursion).
                for frame in frames { credit(partNumber(frame), site: frame, trace: trace, index: index) }
            } else {
                let site = trace.traceback.site
                credit(partNumber(site), site: site, trace: trace, index: index)
            }
        }
        var result: [StatisticKey: GroupTotals] = [:]
        for (number, value) in totals.enumerated() {
            if let value { result[StatisticKey(group: group, parts: [parts[number]])] = value }
        }
        return result
    }
}
