// CPython's TestSnapshot and TestFilters cases (Lib/test/test_tracemalloc.py) on snapshots of the same
// shape: same traces, same expected numbers and order. A tracemalloc trace is one block, so each trace
// here has count 1; frames are (file, line), most recent first, in no module.
import HeapSnap
import XCTest

/// A traceback of (file, line) frames, most recent first.
func traceback(_ frames: [(String, Int)]) -> Traceback {
    Traceback(frames: frames.map { Frame(module: "", file: $0.0, line: $0.1) })
}

func block(_ domain: UInt32, _ size: UInt64, _ frames: [(String, Int)]) -> Trace {
    Trace(domain: domain, size: size, count: 1, totalAllocations: 1, totalBytes: size, traceback: traceback(frames))
}

/// tracemalloc's create_snapshots().
func tracemallocSnapshots() -> (Snapshot, Snapshot) {
    let info = SnapshotInfo(header: SnapshotHeader(pid: 1))
    let first = Snapshot(info: info, traces: [
        block(0, 10, [("a.py", 2), ("b.py", 4)]),
        block(0, 10, [("a.py", 2), ("b.py", 4)]),
        block(0, 10, [("a.py", 2), ("b.py", 4)]),
        block(1, 2, [("a.py", 5), ("b.py", 4)]),
        block(2, 66, [("b.py", 1)]),
        block(3, 7, [("<unknown>", 0)]),
    ])
    let second = Snapshot(info: info, traces: [
        block(0, 10, [("a.py", 2), ("b.py", 4)]),
        block(0, 10, [("a.py", 2), ("b.py", 4)]),
        block(0, 10, [("a.py", 2), ("b.py", 4)]),
        block(2, 2, [("a.py", 5), ("b.py", 4)]),
        block(2, 5000, [("a.py", 5), ("b.py", 4)]),
        block(4, 400, [("c.py", 578)]),
    ])
    return (first, second)
}

/// A statistic as tracemalloc's tests spell it: key text, size, count.
struct Row: Equatable, CustomStringConvertible {
    var key: String, size: UInt64, count: UInt64
    init(_ key: String, _ size: UInt64, _ count: UInt64) { (self.key, self.size, self.count) = (key, size, count) }
    init(_ statistic: Statistic) { self.init(statistic.key.description, statistic.size, statistic.count) }
    var description: String { "(\(key), \(size), \(count))" }
}

struct DiffRow: Equatable, CustomStringConvertible {
    var key: String, size: UInt64, sizeDiff: Int64, count: UInt64, countDiff: Int64
    init(_ key: String, _ size: UInt64, _ sizeDiff: Int64, _ count: UInt64, _ countDiff: Int64) {
        (self.key, self.size, self.sizeDiff, self.count, self.countDiff) = (key, size, sizeDiff, count, countDiff)
    }
    init(_ diff: StatisticDiff) { self.init(diff.key.description, diff.size, diff.sizeDiff, diff.count, diff.countDiff) }
    var description: String { "(\(key), \(size), \(sizeDiff), \(count), \(countDiff))" }
}

/// The traces of a snapshot as (domain, size, frames) text, for filter results.
func traceRows(_ snapshot: Snapshot) -> [String] {
    snapshot.traces.map { trace in
        "\(trace.domain) \(trace.size) " + trace.traceback.frames.map(\.location).joined(separator: ",")
    }
}

final class TracemallocSnapshotTests: XCTestCase {
    func testGroupByLine() {
        let (snapshot, snapshot2) = tracemallocSnapshots()
        XCTAssertEqual(snapshot.statistics(by: .line).map(Row.init), [
            Row("b.py:1", 66, 1), Row("a.py:2", 30, 3), Row("<unknown>", 7, 1), Row("a.py:5", 2, 1),
        ])
        XCTAssertEqual(snapshot2.statistics(by: .line).map(Row.init), [
            Row("a.py:5", 5002, 2), Row("c.py:578", 400, 1), Row("a.py:2", 30, 3),
        ])
        XCTAssertEqual(snapshot2.compare(to: snapshot, by: .line).map(DiffRow.init), [
            DiffRow("a.py:5", 5002, 5000, 2, 1),
            DiffRow("c.py:578", 400, 400, 1, 1),
            DiffRow("b.py:1", 0, -66, 0, -1),
            DiffRow("<unknown>", 0, -7, 0, -1),
            DiffRow("a.py:2", 30, 0, 3, 0),
        ])
    }

    func testGroupByFile() {
        let (snapshot, snapshot2) = tracemallocSnapshots()
        XCTAssertEqual(snapshot.statistics(by: .file).map(Row.init), [
            Row("b.py", 66, 1), Row("a.py", 32, 4), Row("<unknown>", 7, 1),
        ])
        XCTAssertEqual(snapshot2.statistics(by: .file).map(Row.init), [Row("a.py", 5032, 5), Row("c.py", 400, 1)])
        XCTAssertEqual(snapshot2.compare(to: snapshot, by: .file).map(DiffRow.init), [
            DiffRow("a.py", 5032, 5000, 5, 1),
            DiffRow("c.py", 400, 400, 1, 1),
            DiffRow("b.py", 0, -66, 0, -1),
            DiffRow("<unknown>", 0, -7, 0, -1),
        ])
        // The site of a file group names the file only.
        let site = snapshot.statistics(by: .file)[1].site
        XCTAssertEqual(site.file, "a.py")
        XCTAssertEqual(site.line, 0)
    }

    func testGroupByTraceback() {
        let (snapshot, snapshot2) = tracemallocSnapshots()
        // Keys compare oldest frame first, as tracemalloc's Traceback; their text reads most recent first.
        let tb1 = "a.py:2 <- b.py:4", tb2 = "a.py:5 <- b.py:4", tb3 = "b.py:1", tb4 = "<unknown>", tb5 = "c.py:578"
        XCTAssertEqual(snapshot.statistics(by: .traceback).map(Row.init), [
            Row(tb3, 66, 1), Row(tb1, 30, 3), Row(tb4, 7, 1), Row(tb2, 2, 1),
        ])
        XCTAssertEqual(snapshot2.statistics(by: .traceback).map(Row.init), [
            Row(tb2, 5002, 2), Row(tb5, 400, 1), Row(tb1, 30, 3),
        ])
        XCTAssertEqual(snapshot2.compare(to: snapshot, by: .traceback).map(DiffRow.init), [
            DiffRow(tb2, 5002, 5000, 2, 1),
            DiffRow(tb5, 400, 400, 1, 1),
            DiffRow(tb3, 0, -66, 0, -1),
            DiffRow(tb4, 0, -7, 0, -1),
            DiffRow(tb1, 30, 0, 3, 0),
        ])
        XCTAssertEqual(snapshot.statistics(by: .traceback)[1].traceback.frames.map(\.location), ["a.py:2", "b.py:4"])
    }

    func testGroupByCumulative() {
        let (snapshot, _) = tracemallocSnapshots()
        XCTAssertEqual(snapshot.statistics(by: .file, cumulative: true).map(Row.init), [
            Row("b.py", 98, 5), Row("a.py", 32, 4), Row("<unknown>", 7, 1),
        ])
        XCTAssertEqual(snapshot.statistics(by: .line, cumulative: true).map(Row.init), [
            Row("b.py:1", 66, 1), Row("b.py:4", 32, 4), Row("a.py:2", 30, 3), Row("<unknown>", 7, 1),
            Row("a.py:5", 2, 1),
        ])
    }

    func testCumulativeCountsARecursiveFrameOncePerTrace() {
        let info = SnapshotInfo(header: SnapshotHeader(pid: 1))
        let snapshot = Snapshot(info: info, traces: [block(0, 8, [("r.c", 3), ("r.c", 3), ("r.c", 3), ("m.c", 9)])])
        XCTAssertEqual(snapshot.statistics(by: .line, cumulative: true).map(Row.init),
                       [Row("r.c:3", 8, 1), Row("m.c:9", 8, 1)])
        XCTAssertEqual(snapshot.statistics(by: .file, cumulative: true).map(Row.init),
                       [Row("r.c", 8, 1), Row("m.c", 8, 1)])
    }

    func testFilterTraces() {
        let (snapshot, _) = tracemallocSnapshots()
        let snapshot3 = snapshot.filtered([.file("b.py", inclusive: false)])
        XCTAssertEqual(traceRows(snapshot3), [
            "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "1 2 a.py:5,b.py:4", "3 7 <unknown>",
        ])
        XCTAssertEqual(snapshot.traces.count, 6, "filtering must not touch the original")
        let snapshot4 = snapshot3.filtered([.file("a.py", line: 2), .file("a.py", line: 5)])
        XCTAssertEqual(traceRows(snapshot4), [
            "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "1 2 a.py:5,b.py:4",
        ])
        XCTAssertEqual(traceRows(snapshot.filtered([])), traceRows(snapshot))
    }

    func testFilterTracesDomain() {
        let (snapshot, _) = tracemallocSnapshots()
        // Exclude a.py of domain 1.
        XCTAssertEqual(traceRows(snapshot.filtered([.file("a.py", domain: 1, inclusive: false)])), [
            "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "2 66 b.py:1", "3 7 <unknown>",
        ])
        // Include a.py of domain 1 only.
        XCTAssertEqual(traceRows(snapshot.filtered([.file("a.py", domain: 1)])), ["1 2 a.py:5,b.py:4"])
    }

    func testDomainFilter() {
        let (snapshot, _) = tracemallocSnapshots()
        XCTAssertEqual(traceRows(snapshot.filtered([.domain(3, inclusive: false)])), [
            "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "0 10 a.py:2,b.py:4", "1 2 a.py:5,b.py:4", "2 66 b.py:1",
        ])
        XCTAssertEqual(traceRows(snapshot.filtered([.domain(3)])), ["3 7 <unknown>"])
    }
}

final class TracemallocFilterTests: XCTestCase {
    /// tracemalloc's Filter._match_traceback on one traceback, through filtered().
    private func matches(_ filter: TraceFilter, _ frames: [(String, Int)]) -> Bool {
        let snapshot = Snapshot(info: SnapshotInfo(header: SnapshotHeader(pid: 1)), traces: [block(0, 1, frames)])
        // A lone exclusive filter keeps what it "matches" in tracemalloc's sense (not rejected).
        return !snapshot.filtered([filter]).traces.isEmpty
    }

    func testFilterMatchFrame() {
        let cases: [(TraceFilter, [(String, Int)], Bool)] = [
            (.file("abc"), [("abc", 0)], true), (.file("abc"), [("abc", 5)], true),
            (.file("abc"), [("12356", 0)], false),
            (.file("abc", inclusive: false), [("abc", 5)], false),
            (.file("abc", inclusive: false), [("12356", 5)], true),
            (.file("abc", line: 5), [("abc", 0)], false), (.file("abc", line: 5), [("abc", 5)], true),
            (.file("abc", line: 5), [("12356", 5)], false),
            (.file("abc", line: 5, inclusive: false), [("abc", 0)], true),
            (.file("abc", line: 5, inclusive: false), [("abc", 5)], false),
            (.file("abc", line: 5, inclusive: false), [("12356", 5)], true),
            (.file("abc", line: 0), [("abc", 0)], true), (.file("abc", line: 0), [("abc", 5)], false),
            (.file("abc", line: 0, inclusive: false), [("abc", 0)], false),
            (.file("abc", line: 0, inclusive: false), [("abc", 10)], true),
        ]
        for (index, (filter, frames, expected)) in cases.enumerated() {
            XCTAssertEqual(matches(filter, frames), expected, "case \(index)")
        }
    }

    func testFilenameGlobs() {
        func glob(_ name: String, _ pattern: String) -> Bool { matches(.file(pattern), [(name, 0)]) }
        XCTAssertFalse(glob("abc", ""))
        XCTAssertFalse(glob("", "abc"))
        XCTAssertTrue(glob("", ""))
        XCTAssertTrue(glob("", "*"))
        XCTAssertTrue(glob("abc", "abc"))
        XCTAssertFalse(glob("abc", "abcd"))
        XCTAssertTrue(glob("abc", "a*"))
        XCTAssertTrue(glob("abc", "abc*"))
        XCTAssertFalse(glob("abc", "b*"))
        XCTAssertTrue(glob("abcdcx", "a*cx"))
        XCTAssertFalse(glob("abcdce", "a*cx"))
        XCTAssertTrue(glob("abcbdefeg", "a*bd*eg"))
        XCTAssertFalse(glob("abcbdefef", "a*bd*eg"))
        XCTAssertFalse(glob("aBC", "ABc"), "case sensitive")
        XCTAssertTrue(glob("/src/app/main.c", "*/app/*"), "* crosses /")
    }

    func testFilterMatchTraceAllFrames() {
        let t1 = [("a.py", 2), ("b.py", 3)]
        let t2 = [("b.py", 4), ("b.py", 5)]
        let t3 = [("c.py", 5), ("<unknown>", 0)]
        let unknown = [("<unknown>", 0)]
        func check(_ filter: TraceFilter, _ expected: [Bool], line: UInt = #line) {
            XCTAssertEqual([t1, t2, t3, unknown].map { matches(filter, $0) }, expected, line: line)
        }
        check(.file("b.py", allFrames: true), [true, true, false, false])
        check(.file("b.py", allFrames: false), [false, true, false, false])
        check(.file("b.py", allFrames: true, inclusive: false), [false, false, true, true])
        check(.file("b.py", allFrames: false, inclusive: false), [true, false, true, true])
        check(.file("<unknown>", allFrames: false, inclusive: false), [true, true, true, false])
        check(.file("<unknown>", allFrames: true), [false, false, true, true])
        check(.file("<unknown>", allFrames: true, inclusive: false), [true, true, false, false])
    }

    func testModuleAndFunctionFilters() {
        let info = SnapshotInfo(header: SnapshotHeader(pid: 1))
        let snapshot = Snapshot(info: info, traces: [
            Trace(size: 10, count: 1, traceback: Traceback(frames: [
                Frame(module: "/usr/lib/libz.so.1", function: "deflateInit2_"),
                Frame(module: "/opt/app/bin/app", function: "compress_block", file: "/opt/app/z.c", line: 40),
            ])),
            Trace(size: 20, count: 2, traceback: Traceback(frames: [
                Frame(module: "/opt/app/bin/app", function: "parse", file: "/opt/app/p.c", line: 7),
            ])),
        ])
        XCTAssertEqual(snapshot.filtered([.module("libz.so*")]).traces.map(\.size), [10])
        XCTAssertEqual(snapshot.filtered([.module("/opt/app/*")]).traces.map(\.size), [20])
        XCTAssertEqual(snapshot.filtered([.module("/opt/app/*", allFrames: true)]).traces.map(\.size), [10, 20])
        XCTAssertEqual(snapshot.filtered([.function("parse")]).traces.map(\.size), [20])
        XCTAssertEqual(snapshot.filtered([.function("compress_*", allFrames: true)]).traces.map(\.size), [10])
        XCTAssertEqual(snapshot.filtered([.function("compress_*", allFrames: true, inclusive: false)]).traces.map(\.size), [20])
    }
}

final class FreedStackTests: XCTestCase {
    /// A stack whose blocks were all freed is in the snapshot (with its totals) but holds no memory.
    func testStacksWithoutLiveBlocksMakeNoGroup() {
        let info = SnapshotInfo(header: SnapshotHeader(pid: 1))
        let old = Snapshot(info: info, traces: [block(0, 10, [("a.c", 1)]), block(0, 5, [("b.c", 2)])])
        var freed = Trace(size: 0, count: 0, totalAllocations: 4, totalBytes: 40, traceback: traceback([("a.c", 1)]))
        let new = Snapshot(info: info, traces: [freed, block(0, 5, [("b.c", 2)]), block(0, 0, [("z.c", 3)])])
        XCTAssertEqual(new.statistics(by: .line).map(Row.init), [Row("b.c:2", 5, 1), Row("z.c:3", 0, 1)],
                       "malloc(0) is a live block")
        XCTAssertEqual(new.compare(to: old, by: .line).map(DiffRow.init), [
            DiffRow("a.c:1", 0, -10, 0, -1), DiffRow("b.c:2", 5, 0, 1, 0), DiffRow("z.c:3", 0, 0, 1, 1),
        ])
        freed.count = 1
        XCTAssertEqual(Snapshot(info: info, traces: [freed]).statistics(by: .line).map(Row.init), [Row("a.c:1", 0, 1)])
    }
}
