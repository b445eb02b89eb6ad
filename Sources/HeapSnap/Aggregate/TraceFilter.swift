// Filters on traces with tracemalloc's semantics (Filter, DomainFilter), extended to modules and
// functions. Globs are fnmatch(3) patterns where `*` also matches `/`.

/// One include or exclude rule on traces.
public struct TraceFilter: Sendable, Hashable {
    /// What a filter looks at.
    public enum Criterion: Sendable, Hashable {
        /// Source file glob, and the line when given.
        case file(glob: String, line: Int?)
        /// Module glob, matched against the module's path and its file name.
        case module(glob: String)
        /// Demangled function name glob.
        case function(glob: String)
        /// The trace's domain only (tracemalloc's DomainFilter).
        case domain
    }

    /// Include traces that match (true) or exclude them (false).
    public var inclusive: Bool
    public var criterion: Criterion
    /// Look at every frame of the traceback instead of only the allocation site.
    public var allFrames: Bool
    /// Restrict the filter to one domain (as tracemalloc's Filter(domain=)); required for `.domain`.
    public var domain: UInt32?

    public init(inclusive: Bool, criterion: Criterion, allFrames: Bool = false, domain: UInt32? = nil) {
        self.inclusive = inclusive
        self.criterion = criterion
        self.allFrames = allFrames
        self.domain = domain
    }

    /// tracemalloc's Filter(inclusive, filename_pattern, lineno, all_frames, domain).
    public static func file(
        _ glob: String, line: Int? = nil, allFrames: Bool = false, domain: UInt32? = nil, inclusive: Bool = true
    ) -> TraceFilter {
        TraceFilter(inclusive: inclusive, criterion: .file(glob: glob, line: line), allFrames: allFrames, domain: domain)
    }

    /// tracemalloc's DomainFilter(inclusive, domain).
    public static func domain(_ domain: UInt32, inclusive: Bool = true) -> TraceFilter {
        TraceFilter(inclusive: inclusive, criterion: .domain, domain: domain)
    }

    public static func module(_ glob: String, allFrames: Bool = false, inclusive: Bool = true) -> TraceFilter {
        TraceFilter(inclusive: inclusive, criterion: .module(glob: glob), allFrames: allFrames)
    }

    public static func function(_ glob: String, allFrames: Bool = false, inclusive: Bool = true) -> TraceFilter {
        TraceFilter(inclusive: inclusive, criterion: .function(glob: glob), allFrames: allFrames)
    }

    func frameMatches(_ frame: Frame) -> Bool {
        switch criterion {
        case .file(let glob, let line):
            // tracemalloc names unknown files "<unknown>"; native frames without a file match by location.
            guard globMatches(glob, frame.file ?? frame.location) else { return false }
            if let line { return frame.line == line }
            return true
        case .module(let glob):
            return globMatches(glob, frame.module) || globMatches(glob, frame.moduleName)
        case .function(let glob):
            return globMatches(glob, frame.function ?? frame.location)
        case .domain:
            return true
        }
    }

    /// tracemalloc's _match: the frame test, xor'ed with exclusion, then the domain restriction.
    func matches(_ trace: Trace, memo: FrameMemo? = nil) -> Bool {
        if case .domain = criterion {
            return (trace.domain == domain) == inclusive
        }
        let test = memo.map { memo in { memo($0) } } ?? frameMatches
        let frames = trace.traceback.frames
        var result: Bool
        if allFrames {
            result = frames.contains(where: test) ? inclusive : !inclusive
        } else {
            result = test(trace.traceback.site) != !inclusive
        }
        if let domain {
            result = inclusive ? (result && trace.domain == domain) : (result || trace.domain != domain)
        }
        return result
    }
}

extension Snapshot {
    /// The traces kept by `filters` (tracemalloc's Snapshot.filter_traces): a trace is kept when any
    /// inclusive filter matches it (or there is none) and every exclusive filter lets it through.
    /// Filters that are not `allFrames` look at the allocation site under `sites`.
    public func filtered(_ filters: [TraceFilter], sites: SiteRules = .default) -> Snapshot {
        if filters.isEmpty { return withSites(sites) }
        // Each filter with the memo of its frame test.
        let memoized = { (filter: TraceFilter) in (filter, FrameMemo(filter.frameMatches)) }
        let include = filters.filter(\.inclusive).map(memoized)
        let exclude = filters.filter { !$0.inclusive }.map(memoized)
        var result = withSites(sites)
        result.traces = result.traces.filter { trace in
            if !include.isEmpty, !include.contains(where: { $0.0.matches(trace, memo: $0.1) }) { return false }
            if exclude.contains(where: { !$0.0.matches(trace, memo: $0.1) }) { return false }
            return true
        }
        return result
    }
}
