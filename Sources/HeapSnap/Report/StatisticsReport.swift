// What a top, diff or growth report shows, independent of how it is written (text or JSON): the
// snapshots it is about, the totals, and the ranked entries. Built from the analysis results as they
// are; the ranking is the analysis library's, not redone here.

public enum ReportKind: String, Sendable {
    case top, diff, growth
}

/// One ranked group of a report.
public struct ReportEntry: Sendable {
    public var key: StatisticKey
    public var site: Frame
    /// Most recent frame first.
    public var traceback: Traceback
    /// Live bytes and blocks (in the newest snapshot for diff and growth).
    public var size: UInt64
    public var count: UInt64
    /// Diff only: the change from the old snapshot.
    public var sizeDiff: Int64?
    public var countDiff: Int64?
    /// Growth only: live bytes and blocks in each snapshot of the series, and the mean growth per step.
    public var sizes: [UInt64]?
    public var counts: [UInt64]?
    public var growthPerSnapshot: Double?
    /// top and diff: allocation activity since the start (in the new snapshot for diff).
    public var churn: Churn?
    /// diff only: the activity between the two snapshots.
    public var churnDiff: Churn?

    public init(
        key: StatisticKey, site: Frame, traceback: Traceback, size: UInt64, count: UInt64,
        sizeDiff: Int64? = nil, countDiff: Int64? = nil,
        sizes: [UInt64]? = nil, counts: [UInt64]? = nil, growthPerSnapshot: Double? = nil,
        churn: Churn? = nil, churnDiff: Churn? = nil
    ) {
        self.churn = churn
        self.churnDiff = churnDiff
        self.key = key
        self.site = site
        self.traceback = traceback
        self.size = size
        self.count = count
        self.sizeDiff = sizeDiff
        self.countDiff = countDiff
        self.sizes = sizes
        self.counts = counts
        self.growthPerSnapshot = growthPerSnapshot
    }
}

/// Sizes and counts of a whole report (or of the entries beyond its limit).
public struct ReportTotal: Sendable, Equatable {
    public var size: UInt64
    public var count: UInt64
    public var sizeDiff: Int64?
    public var countDiff: Int64?
    /// How many entries it covers.
    public var entries: Int

    public init(size: UInt64, count: UInt64, sizeDiff: Int64? = nil, countDiff: Int64? = nil, entries: Int = 0) {
        self.size = size
        self.count = count
        self.sizeDiff = sizeDiff
        self.countDiff = countDiff
        self.entries = entries
    }
}

public struct StatisticsReport: Sendable {
    public var kind: ReportKind
    public var groupBy: GroupKey
    public var cumulative: Bool
    /// What the entries are ranked by (top and diff).
    public var sort: SortKey = .size
    /// top: the one snapshot; diff: old then new; growth: the series in order.
    public var snapshots: [SnapshotInfo]
    /// Every entry, in ranking order; `shown` is the part within the limit.
    public var entries: [ReportEntry]
    /// Live memory of the (filtered) snapshot(s): not the sum of entries, which double-counts when cumulative.
    public var total: ReportTotal
    /// How many entries to show; nil for all.
    public var limit: Int?
    /// The site rules the analysis used, so tracebacks can mark the frames above the site as plumbing.
    public var sites: SiteRules

    public var shown: ArraySlice<ReportEntry> {
        guard let limit, limit < entries.count else { return entries[...] }
        return entries[..<limit]
    }

    /// The entries past the limit, summed; nil when none were left out. Meaningless for cumulative
    /// reports (frames overlap), so nil there too.
    public var rest: ReportTotal? {
        let hidden = entries[shown.count...]
        guard !hidden.isEmpty, !cumulative else { return nil }
        var total = ReportTotal(size: 0, count: 0, entries: hidden.count)
        for entry in hidden {
            total.size += entry.size
            total.count += entry.count
            if let diff = entry.sizeDiff { total.sizeDiff = (total.sizeDiff ?? 0) + diff }
            if let diff = entry.countDiff { total.countDiff = (total.countDiff ?? 0) + diff }
        }
        return total
    }

    /// The top statistics of one snapshot (already filtered).
    public init(
        top snapshot: Snapshot, statistics: [Statistic], groupBy: GroupKey, cumulative: Bool = false,
        limit: Int? = 10, sites: SiteRules = .default, sort: SortKey = .size
    ) {
        kind = .top
        self.groupBy = groupBy
        self.cumulative = cumulative
        self.sort = sort
        snapshots = [snapshot.info]
        // The snapshot lists every stack that ever allocated; one with nothing live is no memory in use,
        // but its calls are churn.
        entries = statistics.filter { $0.size > 0 || $0.count > 0 || (sort.isChurn && sort.value($0.churn) > 0) }.map {
            ReportEntry(key: $0.key, site: $0.site, traceback: $0.traceback, size: $0.size, count: $0.count,
                        churn: $0.churn)
        }
        total = ReportTotal(size: snapshot.size, count: snapshot.count, entries: entries.count)
        self.limit = limit
        self.sites = sites
    }

    /// The differences from `old` to `new` (both already filtered), biggest change first.
    public init(
        diff differences: [StatisticDiff], old: Snapshot, new: Snapshot, groupBy: GroupKey,
        cumulative: Bool = false, limit: Int? = 10, sites: SiteRules = .default, sort: SortKey = .size
    ) {
        kind = .diff
        self.groupBy = groupBy
        self.cumulative = cumulative
        self.sort = sort
        snapshots = [old.info, new.info]
        // A diff lists what changed; groups that stayed the same are in the totals only.
        entries = differences.filter {
            $0.sizeDiff != 0 || $0.countDiff != 0 || (sort.isChurn && sort.value($0.churnDiff) > 0)
        }.map {
            ReportEntry(
                key: $0.key, site: $0.site, traceback: $0.traceback, size: $0.size, count: $0.count,
                sizeDiff: $0.sizeDiff, countDiff: $0.countDiff, churn: $0.churn, churnDiff: $0.churnDiff)
        }
        total = ReportTotal(
            size: new.size, count: new.count,
            sizeDiff: Int64(truncatingIfNeeded: new.size) &- Int64(truncatingIfNeeded: old.size),
            countDiff: Int64(truncatingIfNeeded: new.count) &- Int64(truncatingIfNeeded: old.count),
            entries: entries.count)
        self.limit = limit
        self.sites = sites
    }

    /// The steadily growing groups of a series of snapshots (already filtered), fastest growth first.
    public init(
        growth ranked: [GrowthEntry], series: [Snapshot], groupBy: GroupKey, limit: Int? = 10,
        sites: SiteRules = .default
    ) {
        kind = .growth
        self.groupBy = groupBy
        cumulative = false
        snapshots = series.map(\.info)
        entries = ranked.map {
            ReportEntry(
                key: $0.key, site: $0.site, traceback: $0.traceback, size: $0.sizes.last ?? 0,
                count: $0.counts.last ?? 0, sizeDiff: $0.totalGrowth,
                countDiff: Int64(truncatingIfNeeded: $0.counts.last ?? 0) &- Int64(truncatingIfNeeded: $0.counts.first ?? 0),
                sizes: $0.sizes, counts: $0.counts, growthPerSnapshot: $0.growthPerSnapshot)
        }
        let first = series.first, last = series.last
        total = ReportTotal(
            size: last?.size ?? 0, count: last?.count ?? 0,
            sizeDiff: Int64(truncatingIfNeeded: last?.size ?? 0) &- Int64(truncatingIfNeeded: first?.size ?? 0),
            countDiff: Int64(truncatingIfNeeded: last?.count ?? 0) &- Int64(truncatingIfNeeded: first?.count ?? 0),
            entries: entries.count)
        self.limit = limit
        self.sites = sites
    }
}
