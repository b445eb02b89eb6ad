// Grouping traces tracemalloc-style: by the site's line, file, function or module, or by the whole
// traceback; optionally cumulative (every frame of a trace credited once).

/// What statistics group by.
public enum GroupKey: String, CaseIterable, Sendable, Codable {
    case line, file, function, module, traceback
}

/// The identity of a group. Compares like tracemalloc's keys: part by part, oldest frame first.
public struct StatisticKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// One frame of a key: a name (file, function, module or location) and a line (0 when not part of it).
    public struct Part: Hashable, Comparable, Sendable {
        public var name: String
        public var line: Int
        public init(name: String, line: Int = 0) {
            self.name = name
            self.line = line
        }
        public static func < (a: Part, b: Part) -> Bool {
            a.name != b.name ? a.name < b.name : a.line < b.line
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

    /// The key of one frame under `group` (for .traceback: one part of the whole key).
    public init(frame: Frame, group: GroupKey) {
        self.init(group: group, parts: [Self.part(of: frame, group: group)])
    }

    static func part(of frame: Frame, group: GroupKey) -> Part {
        switch group {
        case .line, .traceback:
            if let file = frame.file { return Part(name: file, line: frame.line) }
            return Part(name: frame.location)
        case .file:
            return Part(name: frame.file ?? (frame.module.isEmpty ? frame.location : frame.module))
        case .function:
            return Part(name: frame.function ?? frame.location)
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

    public init(key: StatisticKey, size: UInt64, count: UInt64, site: Frame, traceback: Traceback) {
        self.key = key
        self.size = size
        self.count = count
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
}

/// The frame kept as a group's site: only what the key is made of (for .file and .module).
func representativeSite(_ frame: Frame, group: GroupKey) -> Frame {
    switch group {
    case .line, .function, .traceback:
        return frame
    case .file:
        return Frame(module: frame.module, file: frame.file,
                     moduleOffset: frame.file == nil ? frame.moduleOffset : nil)
    case .module:
        return Frame(module: frame.module)
    }
}

extension Snapshot {
    /// Groups the traces by `group` (tracemalloc's Snapshot.statistics), sorted by size, count and key,
    /// largest first. Grouping by line, file or function uses each trace's allocation site (`sites`).
    public func statistics(by group: GroupKey, cumulative: Bool = false, sites: SiteRules = .default) -> [Statistic] {
        let totals = groupTotals(by: group, cumulative: cumulative, sites: sites)
        var result = totals.map { key, value in
            Statistic(key: key, size: value.size, count: value.count, site: value.site, traceback: value.traceback)
        }
        result.sort { a, b in
            if a.size != b.size { return a.size > b.size }
            if a.count != b.count { return a.count > b.count }
            return b.key < a.key
        }
        return result
    }

    func groupTotals(by group: GroupKey, cumulative: Bool, sites: SiteRules) -> [StatisticKey: GroupTotals] {
        let cache = SiteCache(rules: sites)
        var totals: [StatisticKey: GroupTotals] = [:]
        func credit(_ key: StatisticKey, site: Frame, trace: Trace) {
            if var existing = totals[key] {
                existing.size += trace.size
                existing.count += trace.count
                if trace.size > existing.largest {
                    existing.largest = trace.size
                    existing.traceback = trace.traceback
                }
                totals[key] = existing
            } else {
                totals[key] = GroupTotals(
                    size: trace.size, count: trace.count, site: representativeSite(site, group: group),
                    traceback: trace.traceback, largest: trace.size)
            }
        }
        let unknown = Frame(module: "")
        for trace in traces {
            let frames = trace.traceback.frames
            if group == .traceback {
                let key = StatisticKey(
                    group: .traceback,
                    parts: frames.reversed().map { StatisticKey.part(of: $0, group: .traceback) })
                let site = frames.isEmpty ? unknown : frames[cache.siteIndex(in: trace.traceback)]
                credit(key, site: site, trace: trace)
                continue
            }
            if frames.isEmpty {
                credit(StatisticKey(frame: unknown, group: group), site: unknown, trace: trace)
                continue
            }
            if cumulative {
                // Each distinct key once per trace, however often its frames repeat (recursion).
                var seen = Set<StatisticKey>()
                for frame in frames {
                    let key = StatisticKey(frame: frame, group: group)
                    if seen.insert(key).inserted { credit(key, site: frame, trace: trace) }
                }
            } else {
                let site = frames[cache.siteIndex(in: trace.traceback)]
                credit(StatisticKey(frame: site, group: group), site: site, trace: trace)
            }
        }
        return totals
    }
}
