// `heapsnap report` opened in headless Chromium over the DevTools protocol (Tests/Browser/report_driver.py):
// no console error, no request, the totals and table rows exactly as `heapsnap top` prints them, a real
// mouse click that zooms the flame graph, hover, search, column sorting; screenshots under .build/.
import Foundation
import TestSupport
import XCTest

final class ReportPageTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
    }

    func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw XCTSkip("chromium is not installed (make test installs it)")
    }

    /// cli_alloc's snapshots (two API ones and the exit one), and with `peakStep` also its peak snapshot.
    func snapshots(peakStep: String? = nil) throws -> [String] {
        let program = try TestPaths.program("cli_alloc")
        let peak = peakStep.map { ["--peak-step", $0] } ?? []
        let result = try CLI.run(["run", "--dir", folder.path] + peak + ["--", program, "0"], directory: folder.path,
                                 stdin: "hello\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        return folder.files().filter { $0.hasSuffix(".heapsnap") }
    }

    /// Renders `report.html` and returns what the driver read from the page.
    func open(_ report: String, screenshot: String, click: String) throws -> [String: Any] {
        let driver = TestPaths.packageRoot.appendingPathComponent("Tests/Browser/report_driver.py").path
        let shot = TestPaths.packageRoot.appendingPathComponent(".build/\(screenshot)").path
        let result = try runProcess("/usr/bin/python3", [driver, try chromium(), report, shot, click], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        let page = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        XCTAssertNil(page["error"], "\(page)")
        XCTAssertEqual(page["errors"] as? [String], [], "no console errors or exceptions")
        XCTAssertEqual(page["requests"] as? [String], [], "nothing fetched: the page is self-contained")
        XCTAssertEqual(page["ready"] as? Bool, true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: shot))
        return page
    }

    /// `heapsnap top` text lines as (location, size, count, average).
    func topLines(_ snapshot: String) throws -> (header: String, rows: [[String]]) {
        let text = try CLI.run(["top", "-n", "200", snapshot], directory: folder.path).stdout
        let lines = text.split(separator: "\n").map(String.init)
        let rows = lines.dropFirst().compactMap { line -> [String]? in
            // "#1  /path/file.c:21 (keep_blocks): size=29.3 KiB, count=30, average=1000 B"
            guard let sizeRange = line.range(of: #":\s+size="#, options: .regularExpression) else { return nil }
            let location = line[..<sizeRange.lowerBound].split(separator: " ", maxSplits: 1).last.map(String.init) ?? ""
            let values = line[sizeRange.upperBound...].components(separatedBy: ", ")
            let size = values[0].trimmingCharacters(in: .whitespaces)
            let count = values[1].replacingOccurrences(of: "count=", with: "").trimmingCharacters(in: .whitespaces)
            let average = values.count > 2
                ? values[2].replacingOccurrences(of: "average=", with: "").trimmingCharacters(in: .whitespaces) : ""
            return [location.trimmingCharacters(in: .whitespaces), size, count, average]
        }
        return (lines[0], rows)
    }

    func testReportOfOneSnapshotShowsTopsNumbersAndZoomsOnClick() throws {
        let second = try snapshots()[1]
        let report = "\(folder.path)/report.html"
        let result = try CLI.run(["report", second, "-o", report], directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        // The one URL in the page is SVG's namespace name, which is never fetched.
        let addresses = html.replacingOccurrences(of: "\"http://www.w3.org/2000/svg\"", with: "")
        XCTAssertFalse(addresses.contains("http://") || addresses.contains("https://") || addresses.contains(" src="),
                       "no address to fetch anything from")

        let page = try open(report, screenshot: "report-snapshot.png", click: "keep_blocks")
        let totals = try XCTUnwrap(page["totals"] as? [String: String])
        let top = try topLines(second)
        XCTAssertTrue(top.header.hasSuffix(": \(totals["total-live"]!) live in \(totals["total-blocks"]!) blocks"), "\(top.header) vs \(totals)")
        XCTAssertEqual(totals["total-live"], "57.3 KiB")
        XCTAssertEqual(totals["total-calls"], "40")
        XCTAssertEqual(totals["total-temporary"], "3", "cli_alloc's three scratch buffers")
        XCTAssertTrue(totals["tracker-cost"]?.contains("of tracker memory") == true)

        let rows = try XCTUnwrap(page["rows"] as? [[String]])
        XCTAssertEqual(top.rows.count, 4)
        XCTAssertEqual(rows.count, 4)
        for (index, row) in rows.enumerated() {
            XCTAssertEqual(row[0], "\(index + 1)")
            XCTAssertEqual([row[1], row[2], row[3], row[4]], top.rows[index], "row \(index + 1) as `heapsnap top` prints it")
        }
        let source = TestPaths.programSource("cli_alloc.c")
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        XCTAssertEqual(rows[0][1], "\(source):\(blocks) (keep_blocks)")

        // Hover then a real click on keep_blocks' widest frame: the tooltip explains it, the zoom fills the width.
        let tooltip = try XCTUnwrap(page["tooltip"] as? String)
        XCTAssertTrue(tooltip.hasPrefix("keep_blocks\n\(source):\(blocks)\nlive bytes: 19.5 KiB (20000 B), 34.1%"), tooltip)
        let path = try XCTUnwrap(page["zoom_path"] as? String)
        XCTAssertEqual(path, "all › _start › __libc_start_main_impl › __libc_start_call_main › main › keep_blocks")
        XCTAssertEqual(page["zoomed_width"] as? Double, page["page_width"] as? Double)
        XCTAssertEqual(page["search"] as? String, "matched: 29.3 KiB (30000 B), 51.1% of the view")
        // Sorted by the Calls column: keep_blocks' 30 calls first.
        let byCalls = try XCTUnwrap(page["rows_by_calls"] as? [[String]])
        XCTAssertEqual(byCalls.first?[5], "30")
        XCTAssertEqual(page["has_diff"] as? Bool, false)
        XCTAssertEqual(page["has_chart"] as? Bool, false)
    }

    func testReportOfASeriesHasTheDiffFlameGraphAndTheChartWithThePeak() throws {
        let files = try snapshots(peakStep: "1K")
        XCTAssertTrue(files.contains { $0.hasSuffix(".peak.heapsnap") }, "\(files)")
        let report = "\(folder.path)/series.html"
        let result = try CLI.run(["report"] + files + ["-o", report], directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let page = try open(report, screenshot: "report-series.png", click: "keep_blocks")
        XCTAssertEqual(page["has_diff"] as? Bool, true)
        XCTAssertEqual(page["has_chart"] as? Bool, true)
        // Traced memory and the one site that grew (keep_blocks' line; keep_tables was there from the start).
        XCTAssertEqual(page["chart_lines"] as? Int, 2)
        let peak = try XCTUnwrap(page["chart_peak"] as? [String])
        XCTAssertEqual(peak.count, 1, "the peak snapshot is marked")
        XCTAssertTrue(peak[0].hasPrefix("peak "), "\(peak)")
    }

    func testReportRefusesSnapshotsOfTwoProcesses() throws {
        let series = try Fixtures.writeSeries(2, into: folder.path)
        var other = Fixtures.snapshot(index: 3)
        other.info.header.pid = 999
        let path = "\(folder.path)/other.json"
        try other.write(jsonTo: path)
        let result = try CLI.run(["report", series[0], path, "-o", "\(folder.path)/x.html"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("not the same process"), result.stderr)
    }
}
