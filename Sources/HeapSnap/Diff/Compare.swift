// Two snapshots compared group by group, with tracemalloc's Snapshot.compare_to semantics.

/// One group of the newer snapshot (or one that disappeared) and how it changed.
public struct StatisticDiff: Sendable {
    public var key: StatisticKey
    /// Live bytes in the newer snapshot (0 when the group is gone).
    public var size: UInt64
    public var sizeDiff: Int64
    public var count: UInt64
    public var countDiff: Int64
    public var site: Frame
    public var traceback: Traceback
    /// Churn since the start in the newer snapshot, and what of it happened between the two.
    public var churn: Churn
    public var churnDiff: Churn

    public init(
        key: StatisticKey, size: UInt64, sizeDiff: Int64, count: UInt64, countDiff: Int64, site: Frame,
        traceback: Traceback, churn: Churn = Churn(), churnDiff: Churn = Churn()
    ) {
        self.churn = churn
        self.churnDiff = churnDiff
        self.key = key
        self.size = size
        self.sizeDiff = sizeDiff
        self.count = count
        self.countDiff = countDiff
        self.site = site
        self.traceback = traceback
    }
}

func signedDifference(_ new: UInt64, _ old: UInt64) -> Int64 {
    new >= old ? Int64(clamping: new - old) : -Int64(clamping: old - new)
}

extension Snapshot {
    /// How each group changed since `old`: groups only in self have diffs equal to their values, groups
    /// only in `old` have size 0 and negative diffs. Sorted by |size diff|, size, |count diff|, count and
    /// key, largest first.
    public func compare(
        to old: Snapshot, by group: GroupKey, cumulative: Bool = false, sites: SiteRules = .default,
        sort: SortKey = .size
    ) -> [StatisticDiff] {
        // With a churn sort, what was allocated and freed between the snapshots is the point.
        var previous = old.groupTotals(by: group, cumulative: cumulative, sites: sites, includesFreed: sort.isChurn)
        let current = groupTotals(by: group, cumulative: cumulative, sites: sites, includesFreed: sort.isChurn)
        var result: [StatisticDiff] = []
        result.reserveCapacity(current.count + previous.count)
        for (key, stat) in current {
            let before = previous.removeValue(forKey: key)
            result.append(StatisticDiff(
                key: key, size: stat.size, sizeDiff: signedDifference(stat.size, before?.size ?? 0),
                count: stat.count, countDiff: signedDifference(stat.count, before?.count ?? 0),
                site: stat.site, traceback: stat.traceback, churn: stat.churn,
                churnDiff: stat.churn.since(before?.churn ?? Churn())))
        }
        for (key, stat) in previous {
            result.append(StatisticDiff(
                key: key, size: 0, sizeDiff: signedDifference(0, stat.size), count: 0,
                countDiff: signedDifference(0, stat.count), site: stat.site, traceback: stat.traceback))
        }
        result.sort { a, b in
            if sort == .count, a.countDiff.magnitude != b.countDiff.magnitude {
                return a.countDiff.magnitude > b.countDiff.magnitude
            }
            if let ranked = sort.ranks(a.churnDiff, b.churnDiff, count: (0, 0)) { return ranked }
            if a.sizeDiff.magnitude != b.sizeDiff.magnitude { return a.sizeDiff.magnitude > b.sizeDiff.magnitude }
            if a.size != b.size { return a.size > b.size }
            if a.countDiff.magnitude != b.countDiff.magnitude { return a.countDiff.magnitude > b.countDiff.magnitude }
            if a.count != b.count { return a.count > b.count }
            return b.key < a.key
        }
        return result
    }
}
