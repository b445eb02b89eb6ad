// The text layout on synthetic snapshots: exact lines, as a user sees them.
import Foundation
import HeapSnap
import XCTest

final class TextReportTests: XCTestCase {
    let text = TextReport(options: TextReportOptions(style: .plain, pathBase: Fixtures.source, showsSource: false))

    func testTopByLineIsAlignedAndSorted() {
        let snapshot = Fixtures.snapshot(index: 3, path: "/tmp/server.4711.0003.heapsnap")
        let report = StatisticsReport(top: snapshot, statistics: snapshot.statistics(by: .line), groupBy: .line)
        let lines = text.render(report).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].hasPrefix("Top 3 lines of server.4711.0003.heapsnap (heapsnap_snapshot() at "), lines[0])
        XCTAssertTrue(lines[0].hasSuffix("): 12.5 MiB live in 2432 blocks"), lines[0])
        XCTAssertEqual(lines[1], "#1  cache.c:88 (cache_put):     size=12.3 MiB, count=1200, average=10.5 KiB")
        XCTAssertEqual(lines[2], "#2  server.c:60 (read_request): size=128 KiB,  count=32,   average=4096 B")
        XCTAssertEqual(lines[3], "#3  cache.c:90 (cache_put):     size=37.5 KiB, count=1200, average=32 B")
    }

    func testDiffShowsSignedChangesAndVanishedSites() {
        let old = Fixtures.snapshot(index: 2, path: "/tmp/a.heapsnap")
        let new = Fixtures.snapshot(index: 3, path: "/tmp/b.heapsnap")
        let report = StatisticsReport(
            diff: new.compare(to: old, by: .line), old: old, new: new, groupBy: .line, limit: 2)
        let lines = text.render(report).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, "unchanged groups are no differences")
        XCTAssertTrue(lines[0].hasPrefix("Top 2 differences by line from a.heapsnap to b.heapsnap: "), lines[0])
        XCTAssertTrue(lines[0].hasSuffix(": 12.5 MiB (+4212 KiB) live in 2432 blocks (+800)"), lines[0])
        XCTAssertEqual(lines[1], "#1  cache.c:88 (cache_put): size=12.3 MiB (+4200 KiB), count=1200 (+400), average=10.5 KiB")
        XCTAssertEqual(lines[2], "#2  cache.c:90 (cache_put): size=37.5 KiB (+12.5 KiB), count=1200 (+400), average=32 B")
    }

    func testSiteOnlyInOldSnapshotHasZeroSizeAndNoAverage() {
        let old = Fixtures.snapshot(index: 1)
        let new = Fixtures.snapshot(index: 2)
        let report = StatisticsReport(diff: new.compare(to: old, by: .file), old: old, new: new, groupBy: .file, limit: nil)
        let rendered = text.render(report)
        XCTAssertTrue(rendered.contains("#2  pool.c:  size=0 B (-64.0 KiB),      count=0 (-1)\n"), rendered)
    }

    func testGrowthListsTheSeries() {
        let series = (1...3).map { Fixtures.snapshot(index: $0, path: "/tmp/s\($0).heapsnap") }
        let report = StatisticsReport(growth: rankGrowth(series, by: .line), series: series, groupBy: .line)
        let lines = text.render(report).split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("Top 2 growing lines over 3 snapshots, s1.heapsnap to s3.heapsnap: "), lines[0])
        XCTAssertEqual(lines[1], "#1  cache.c:88 (cache_put): +4200 KiB/snapshot, size=4200 KiB → 8400 KiB → 12.3 MiB, count=400 → 800 → 1200")
        XCTAssertEqual(lines[2], "#2  cache.c:90 (cache_put): +12.5 KiB/snapshot, size=12.5 KiB → 25.0 KiB → 37.5 KiB, count=400 → 800 → 1200")
        XCTAssertEqual(lines.count, 3)
    }

    func testTracebackMarksTheSiteAndDimsNothingInPlainText() {
        let snapshot = Fixtures.snapshot(index: 1)
        let report = StatisticsReport(
            top: snapshot, statistics: snapshot.statistics(by: .traceback), groupBy: .traceback, limit: nil)
        let rendered = text.render(report)
        XCTAssertTrue(rendered.contains("""
            #4  cache.c:90 (cache_put):     size=12.5 KiB, count=400, average=32 B
                  strdup+0x1a in libc.so.6
                > cache.c:90 in cache_put
                  server.c:120 in handle_request
                  main.c:40 in main

            """), rendered)
        XCTAssertTrue(rendered.contains("      main.c:40 in main\n\n#2  server.c:60 (read_request): "), rendered)
    }

    func testTracebackLimitFoldsAllocatorFramesAndCallers() {
        let limited = TextReport(options: TextReportOptions(
            style: .plain, pathBase: Fixtures.source, showsSource: false, tracebackLimit: 2))
        // The site is the snapshot's to decide: the traceback as a snapshot carries it.
        let traceback = Snapshot(info: SnapshotInfo(header: SnapshotHeader(pid: 1)), traces: [
            Trace(size: 1, count: 1, traceback: Traceback(frames: [Fixtures.mallocFrame, Fixtures.cacheKey, Fixtures.handle, Fixtures.main])),
        ]).traces[0].traceback
        XCTAssertEqual(limited.tracebackLines(traceback, indent: 2), [
            "    … 1 allocator frame",
            "  > cache.c:90 in cache_put",
            "    server.c:120 in handle_request",
            "    … 1 more caller",
        ])
    }

    func testGroupingByFunctionFileAndModuleNamesTheGroup() {
        let snapshot = Fixtures.snapshot(index: 1)
        func first(_ group: GroupKey) -> String {
            let report = StatisticsReport(top: snapshot, statistics: snapshot.statistics(by: group), groupBy: group, limit: 1)
            return text.render(report).split(separator: "\n")[1].description
        }
        XCTAssertEqual(first(.function), "#1  cache_put (cache.c): size=4212 KiB, count=800, average=5392 B")
        XCTAssertEqual(first(.file), "#1  cache.c: size=4212 KiB, count=800, average=5392 B")
        XCTAssertEqual(first(.module), "#1  /srv/app/server: size=4404 KiB, count=833, average=5414 B")
    }

    func testColourOnlyWhenAsked() {
        let snapshot = Fixtures.snapshot(index: 1)
        let report = StatisticsReport(top: snapshot, statistics: snapshot.statistics(by: .line), groupBy: .line)
        XCTAssertFalse(text.render(report).contains("\u{1B}["))
        let colored = TextReport(options: TextReportOptions(style: TextStyle(isColored: true)))
        XCTAssertTrue(colored.render(report).contains("\u{1B}[1;36m"))
        XCTAssertFalse(TextStyle.detect(for: 1, choice: .always, environment: [:]).isColored == false)
        XCTAssertFalse(TextStyle.detect(for: 1, choice: .auto, environment: ["NO_COLOR": "1"]).isColored)
        XCTAssertFalse(TextStyle.detect(for: 1, choice: .never, environment: [:]).isColored)
    }

    func testNativeFramesWithoutDebugInfoFallBackToSymbolAndModule() {
        let report = TextReport()
        let symbolOnly = Frame(module: "/lib/libz.so.1", function: "deflateInit2_", moduleOffset: 0x4f20, symbolOffset: 0x40)
        XCTAssertEqual(report.siteText(symbolOnly, group: .line), "deflateInit2_+0x40 (libz.so.1)")
        XCTAssertEqual(report.frameText(symbolOnly), "deflateInit2_+0x40 in libz.so.1")
        let bare = Frame(module: "/opt/blob.so", moduleOffset: 0x1234)
        XCTAssertEqual(report.siteText(bare, group: .line), "blob.so+0x1234")
        XCTAssertEqual(report.siteText(bare, group: .file), "/opt/blob.so")
    }

    func testRunSummaryListsSnapshotsAndAbbreviatesLongSeries() {
        let names = (1...10).map { "prog.77.\(String(format: "%04d", $0)).heapsnap" }
        let summary = RunSummary(program: "prog", pid: 77, ending: .killed(signal: "SIGTERM"), folder: "/tmp/s",
                                 snapshots: names, childSnapshots: ["sed.78.0001.heapsnap", "sed.79.0001.heapsnap"])
        XCTAssertEqual(text.render(run: summary), """
            heapsnap: prog (pid 77) was killed by SIGTERM; 10 snapshots in /tmp/s (and 2 from its child processes):
              prog.77.0001.heapsnap
              prog.77.0002.heapsnap
              prog.77.0003.heapsnap
              … 4 more …
              prog.77.0008.heapsnap
              prog.77.0009.heapsnap
              prog.77.0010.heapsnap

            """)
        let wrapper = RunSummary(program: "run.sh", pid: 5, ending: .exited(status: 0), folder: "/d", snapshots: [],
                                 childSnapshots: ["server.6.0001.heapsnap"])
        XCTAssertEqual(text.render(run: wrapper), """
            heapsnap: run.sh (pid 5) exited with status 0; no snapshot of its own, 1 from its child processes in /d:
              server.6.0001.heapsnap

            """)
        let pool = RunSummary(program: "run.sh", pid: 5, ending: .exited(status: 0), folder: "/d", snapshots: [],
                              childSnapshots: ["sed.7.0001.heapsnap", "python3.8.0001.heapsnap", "python3.9.0001.heapsnap"],
                              children: [
                                  .init(program: "sed", processes: 1, files: 1, peakBytes: 5 << 20, biggest: "sed.7.0001.heapsnap"),
                                  .init(program: "python3", processes: 2, files: 2, peakBytes: 12 << 20, biggest: "python3.9.0001.heapsnap"),
                              ])
        XCTAssertEqual(text.render(run: pool), """
            heapsnap: run.sh (pid 5) exited with status 0; no snapshot of its own, 3 from its child processes in /d
            child processes by peak traced memory:
              python3  peak 12.0 MiB  2 snapshots, biggest python3.9.0001.heapsnap
              sed      peak 5120 KiB  1 snapshot, biggest sed.7.0001.heapsnap

            """)
        let none = RunSummary(program: "sh", pid: 5, ending: .exited(status: 7), folder: "/d", snapshots: [], childSnapshots: [])
        XCTAssertTrue(text.render(run: none).hasPrefix("heapsnap: sh (pid 5) exited with status 7; 0 snapshots in /d\nheapsnap: no snapshot was written ("))
    }
}
