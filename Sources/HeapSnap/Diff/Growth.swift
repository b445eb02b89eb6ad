// A series of snapshots ranked by steady growth: the groups whose live bytes never shrink and grow
// overall, steepest first. The shape of a leak, as opposed to churn that comes and goes.

/// One group across a series of snapshots.
public struct GrowthEntry: Sendable {
    public var key: StatisticKey
    public var site: Frame
    /// The traceback of the group's largest trace in the last snapshot where it appears.
    public var traceback: Traceback
    /// Live bytes in each snapshot, in the order given (0 where the group is absent).
    public var sizes: [UInt64]
    /// Live blocks in each snapshot.
    public var counts: [UInt64]
    /// (last size - first size) / (snapshots - 1).
    public var growthPerSnapshot: Double
    /// Last size - first size.
    public var totalGrowth: Int64

    public init(
        key: StatisticKey, site: Frame, traceback: Traceback, sizes: [UInt64], counts: [UInt64],
        growthPerSnapshot: Double, totalGrowth: Int64
    ) {
        self.key = key
        self.site = site
        self.traceback = traceback
        self.sizes = sizes
        self.counts = counts
        self.growthPerSnapshot = growthPerSnapshot
        self.totalGrowth = totalGrowth
    }
}

/// Groups of `snapshots` (oldest first) whose live bytes never decrease from one snapshot to the next
/// and end higher than they started, sorted by growth per snapshot, then total growth, final size and
/// key, largest first. Fewer than two snapshots give no entries; the CLI asks for at least three.
public func rankGrowth(_ snapshots: [Snapshot], by group: GroupKey = .line, sites: SiteRules = .default) -> [GrowthEntry] {
    guard snapshots.count >= 2 else { return [] }
    let perSnapshot = snapshots.map { $0.groupTotals(by: group, cumulative: false, sites: sites) }
    var keys = Set<StatisticKey>()
    for totals in perSnapshot { keys.formUnion(totals.keys) }
    var result: [GrowthEntry] = []
    for key in keys {
        let sizes = perSnapshot.map { $0[key]?.size ?? 0 }
        guard zip(sizes, sizes.dropFirst()).allSatisfy({ $0 <= $1 }), let first = sizes.first, let last = sizes.last,
              last > first else { continue }
        let latest = perSnapshot.last { $0[key] != nil }![key]!
        let total = signedDifference(last, first)
        result.append(GrowthEntry(
            key: key, site: latest.site, traceback: latest.traceback, sizes: sizes,
            counts: perSnapshot.map { $0[key]?.count ?? 0 },
            growthPerSnapshot: Double(total) / Double(snapshots.count - 1), totalGrowth: total))
    }
    result.sort { a, b in
        if a.growthPerSnapshot != b.growthPerSnapshot { return a.growthPerSnapshot > b.growthPerSnapshot }
        if a.totalGrowth != b.totalGrowth { return a.totalGrowth > b.totalGrowth }
        if a.sizes.last! != b.sizes.last! { return a.sizes.last! > b.sizes.last! }
        return b.key < a.key
    }
    return result
}
