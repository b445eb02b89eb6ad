// top, diff, growth, info and export driven through the real executable on offline JSON snapshots
// whose numbers are known exactly (Fixtures), plus every bad-input case.
import Foundation
import TestSupport
import XCTest

final class OfflineCommandTests: XCTestCase {
    var folder: TemporaryDirectory!
    var series: [String] = []

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
        series = try Fixtures.writeSeries(3, into: folder.path)
    }

    func testTopTextShowsTheSitesInOrder() throws {
        let result = try CLI.run(["top", series[2]], directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, result.stdout)
        XCTAssertTrue(lines[0].hasPrefix("Top 3 lines of server.4711.0003.json ("), lines[0])
        XCTAssertTrue(lines[0].hasSuffix("): 12.5 MiB live in 2432 blocks"), lines[0])
        XCTAssertEqual(lines[1], "#1  /srv/app/src/cache.c:88 (cache_put):     size=12.3 MiB, count=1200, average=10.5 KiB")
        XCTAssertEqual(lines[2], "#2  /srv/app/src/server.c:60 (read_request): size=128 KiB,  count=32,   average=4096 B")
        XCTAssertEqual(lines[3], "#3  /srv/app/src/cache.c:90 (cache_put):     size=37.5 KiB, count=1200, average=32 B")
    }

    func testTopLimitAndOtherLine() throws {
        let result = try CLI.run(["top", series[0], "-n", "1", "--by", "file"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[1], "#1  /srv/app/src/cache.c: size=4212 KiB, count=800, average=5392 B")
        XCTAssertEqual(lines[2], "2 other files: size=192 KiB, count=33")
    }

    func testTopJSONCarriesExactNumbersAndSites() throws {
        let document = try CLI.json(try CLI.run(["top", series[2], "--format", "json"]))
        XCTAssertEqual(document[string: "format"], "heapsnap-report")
        XCTAssertEqual(document[int: "version"], 1)
        XCTAssertEqual(document[string: "report"], "top")
        XCTAssertEqual(document[string: "group_by"], "line")
        XCTAssertEqual(document[object: "snapshot"]?[int: "pid"], 4711)
        XCTAssertEqual(document[object: "snapshot"]?[string: "trigger"], "api")
        XCTAssertEqual(document[object: "snapshot"]?[string: "path"], series[2])
        XCTAssertEqual(document[object: "total"]?[int: "size"], 13_071_872)
        XCTAssertEqual(document[object: "total"]?[int: "count"], 2432)
        let stats = try XCTUnwrap(document[objects: "stats"])
        XCTAssertEqual(stats.count, 3)
        XCTAssertEqual(stats[0][int: "size"], 12_902_400)
        XCTAssertEqual(stats[0][int: "count"], 1200)
        XCTAssertEqual(stats[0][string: "file"], "/srv/app/src/cache.c")
        XCTAssertEqual(stats[0][int: "line"], 88)
        XCTAssertEqual(stats[0][string: "function"], "cache_put")
        XCTAssertEqual(stats[0][string: "module"], "/srv/app/server")
        let traceback = try XCTUnwrap(stats[2][objects: "traceback"])
        XCTAssertEqual(traceback.map { $0[string: "function"] }, ["strdup", "cache_put", "handle_request", "main"])
        XCTAssertEqual(traceback[0][string: "module"], "/usr/lib/x86_64-linux-gnu/libc.so.6")
        XCTAssertTrue(traceback[0]["file"] is NSNull)
        XCTAssertEqual(traceback[1][int: "line"], 90)
        XCTAssertTrue(document["other"] is NSNull)
    }

    func testDiffTextAndJSON() throws {
        let text = try CLI.run(["diff", series[0], series[2], "-n", "2"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasSuffix(".json: 12.5 MiB (+8361 KiB) live in 2432 blocks (+1599)"), lines[0])
        XCTAssertEqual(lines[1], "#1  /srv/app/src/cache.c:88 (cache_put): size=12.3 MiB (+8400 KiB), count=1200 (+800), average=10.5 KiB")
        XCTAssertEqual(lines[2], "#2  /srv/app/src/pool.c:12 (pool_init):  size=0 B (-64.0 KiB),      count=0 (-1)")
        XCTAssertEqual(lines[3], "1 other line: size=37.5 KiB (+25.0 KiB), count=1200 (+800)")
        XCTAssertEqual(lines.count, 4, "the unchanged server.c:60 is not a difference")

        let document = try CLI.json(try CLI.run(["diff", series[0], series[2], "--format", "json", "-n", "0"]))
        XCTAssertEqual(document[string: "report"], "diff")
        XCTAssertEqual(document[object: "old_snapshot"]?[string: "path"], series[0])
        XCTAssertEqual(document[object: "snapshot"]?[string: "path"], series[2])
        XCTAssertEqual(document[object: "total"]?[int: "size_diff"], 13_071_872 - 4_510_208)
        XCTAssertEqual(document[object: "total"]?[int: "count_diff"], 1599)
        let stats = try XCTUnwrap(document[objects: "stats"])
        XCTAssertEqual(stats.count, 3)
        XCTAssertEqual(stats.map { $0[int: "size_diff"] }, [8_601_600, -65536, 25600])
        XCTAssertEqual(stats.map { $0[int: "count_diff"] }, [800, -1, 800])
        XCTAssertEqual(stats[1][string: "function"], "pool_init")
        XCTAssertEqual(stats[1][int: "size"], 0)
    }

    func testFailAboveExitsThreeOnlyWhenGrowthExceedsIt() throws {
        let growth = 13_071_872 - 4_510_208
        let failing = try CLI.run(["diff", series[0], series[2], "--fail-above", String(growth - 1)])
        XCTAssertEqual(failing.status, 3)
        XCTAssertTrue(failing.stdout.contains("cache.c:88"), "the report is still printed")
        XCTAssertEqual(failing.stderr,
            "heapsnap: total live memory grew by \(growth) bytes (+8361 KiB), more than --fail-above \(growth - 1) bytes\n")
        XCTAssertEqual(try CLI.run(["diff", series[0], series[2], "--fail-above", String(growth)]).status, 0)
        XCTAssertEqual(try CLI.run(["diff", series[0], series[2], "--fail-above", "9M"]).status, 0)
        XCTAssertEqual(try CLI.run(["diff", series[0], series[2], "--fail-above", "8M"]).status, 3)
        // The budget applies to what the filters keep: server.c did not grow.
        XCTAssertEqual(try CLI.run(["diff", series[0], series[2], "--include", "*/server.c", "--fail-above", "0"]).status, 0)
        XCTAssertEqual(try CLI.run(["diff", series[0], series[2], "--include", "*/cache.c", "--fail-above", "8M"]).status, 3)
        // Shrinking never fails.
        XCTAssertEqual(try CLI.run(["diff", series[2], series[0], "--fail-above", "0"]).status, 0)
    }

    func testGrowthRanksTheSteadyLeak() throws {
        let result = try CLI.run(["growth"] + series)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, result.stdout)
        XCTAssertEqual(lines[1], "#1  /srv/app/src/cache.c:88 (cache_put): +4200 KiB/snapshot, size=4200 KiB → 8400 KiB → 12.3 MiB, count=400 → 800 → 1200")
        let document = try CLI.json(try CLI.run(["growth", "--format", "json"] + series))
        let first = try XCTUnwrap(document[objects: "stats"]?.first)
        XCTAssertEqual(first["sizes"] as? [Int], [4_300_800, 8_601_600, 12_902_400])
        XCTAssertEqual(first["counts"] as? [Int], [400, 800, 1200])
        XCTAssertEqual((first["growth_per_snapshot"] as? NSNumber)?.doubleValue, 4_300_800)
        XCTAssertEqual(document[objects: "snapshots"]?.count, 3)
        // Given out of order, the series is still read oldest first.
        let shuffled = try CLI.json(try CLI.run(["growth", "--format", "json", series[2], series[0], series[1]]))
        XCTAssertEqual(shuffled[objects: "snapshots"]?.map { $0[string: "path"] }, series)
        XCTAssertEqual(shuffled[objects: "stats"]?.first?["sizes"] as? [Int], [4_300_800, 8_601_600, 12_902_400])
    }

    func testGrowthNeedsThreeSnapshots() throws {
        let result = try CLI.run(["growth", series[0], series[1]])
        XCTAssertEqual(result.status, 64, "a usage error")
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.contains("growth needs at least 3 snapshots, got 2"), result.stderr)
    }

    func testFilters() throws {
        func sites(_ extra: [String]) throws -> [String] {
            let document = try CLI.json(try CLI.run(["top", series[0], "--format", "json", "-n", "0"] + extra))
            return (document[objects: "stats"] ?? []).map { "\($0[string: "function"] ?? "?"):\($0[int: "line"] ?? 0)" }
        }
        XCTAssertEqual(try sites(["--include", "*/server.c"]), ["read_request:60"])
        XCTAssertEqual(try sites(["--exclude", "*/cache.c"]), ["read_request:60", "pool_init:12"])
        XCTAssertEqual(try sites(["--include", "*/cache.c:90"]), ["cache_put:90"])
        XCTAssertEqual(try sites(["--include-function", "pool_*"]), ["pool_init:12"])
        XCTAssertEqual(try sites(["--exclude-function", "cache_put", "--exclude-function", "pool_init"]), ["read_request:60"])
        XCTAssertEqual(try sites(["--include", "*/main.c", "--all-frames", "--exclude", "*/pool.c"]),
                       ["cache_put:88", "read_request:60", "cache_put:90"])
        // Turning the built-in plumbing rules off makes libc's strdup the site of the key copies.
        XCTAssertEqual(try sites(["--no-builtin-plumbing", "--include-function", "strdup"]), ["strdup:0"])
        // A user plumbing rule moves the site one frame out.
        XCTAssertEqual(try sites(["--skip-function", "cache_put", "--include-function", "handle_request"]),
                       ["handle_request:120"])
    }

    func testTracebackGrouping() throws {
        let result = try CLI.run(["top", series[0], "--by", "traceback", "-n", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").dropFirst().joined(separator: "\n"), """
            #1  /srv/app/src/cache.c:88 (cache_put): size=4200 KiB, count=400, average=10.5 KiB
                > /srv/app/src/cache.c:88 in cache_put
                  /srv/app/src/server.c:120 in handle_request
                  /srv/app/src/main.c:40 in main
            3 other tracebacks: size=204 KiB, count=433
            """)
    }

    func testInfo() throws {
        let result = try CLI.run(["info", series[1]])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = result.stdout
        XCTAssertTrue(out.contains("Program      /srv/app/server --port 80\n"), out)
        XCTAssertTrue(out.contains("PID          4711 (parent 1)\n"), out)
        XCTAssertTrue(out.contains("2.000 s after tracking started, by heapsnap_snapshot() (#2)\n"), out)
        XCTAssertTrue(out.contains("Traced       current 8553 KiB, peak 8554 KiB\n"), out)
        XCTAssertTrue(out.contains("Live blocks  1632\n"), out)
        XCTAssertTrue(out.contains("Tracker      121 KiB of its own memory\n"), out)
        XCTAssertTrue(out.contains("Modules      2, 1 with debug info, 1 without\n"), out)
        XCTAssertTrue(out.contains("  /usr/lib/x86_64-linux-gnu/libc.so.6  [no debug info]\n"), out)
        let document = try CLI.json(try CLI.run(["info", series[1], "--format", "json"]))
        XCTAssertEqual(document[string: "report"], "info")
        XCTAssertEqual(document[object: "snapshot"]?[int: "live_blocks"], 1632)
        XCTAssertEqual(document[object: "snapshot"]?[objects: "modules"]?.first?[string: "build_id"], "ab12")
    }

    func testExportOfAnExportGivesTheSameReport() throws {
        let copy = folder.path + "/copy.json"
        let export = try CLI.run(["export", series[2], "--format", "json", "-o", copy])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout, "")
        var original = try CLI.json(try CLI.run(["top", series[2], "--format", "json", "-n", "0"]))
        var again = try CLI.json(try CLI.run(["top", copy, "--format", "json", "-n", "0"]))
        original["snapshot"] = nil
        again["snapshot"] = nil
        XCTAssertEqual(original as NSDictionary, again as NSDictionary)
        let toStdout = try CLI.run(["export", series[2]])
        XCTAssertEqual(toStdout.status, 0, toStdout.stderr)
        XCTAssertTrue(toStdout.stdout.contains("\"heapsnap-snapshot\""))
    }

    // MARK: Bad input: one line on stderr, nothing on stdout, non-zero exit.

    func assertOneLineError(
        _ arguments: [String], startsWith prefix: String, status: Int32 = 1,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let result = try CLI.run(arguments, directory: folder.path)
        XCTAssertEqual(result.status, status, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix(prefix), "stderr: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "one line: \(result.stderr)", file: file, line: line)
    }

    func testMissingFile() throws {
        let path = folder.path + "/absent.heapsnap"
        for command in ["top", "info", "export"] {
            try assertOneLineError([command, path], startsWith: "heapsnap: \(path): ")
        }
        try assertOneLineError(["diff", series[0], path], startsWith: "heapsnap: \(path): ")
        try assertOneLineError(["growth", series[0], series[1], path], startsWith: "heapsnap: \(path): ")
    }

    func testUnreadableAndNonSnapshotFiles() throws {
        let garbage = folder.path + "/garbage.heapsnap"
        try Data("not a snapshot at all\n".utf8).write(to: URL(fileURLWithPath: garbage))
        try assertOneLineError(["top", garbage], startsWith: "heapsnap: \(garbage): not a heapsnap snapshot")
        let empty = folder.path + "/empty.heapsnap"
        FileManager.default.createFile(atPath: empty, contents: Data())
        try assertOneLineError(["top", empty], startsWith: "heapsnap: \(empty): ")
        let otherJSON = folder.path + "/other.json"
        try Data(#"{"name": "not heapsnap"}"#.utf8).write(to: URL(fileURLWithPath: otherJSON))
        try assertOneLineError(["top", otherJSON], startsWith: "heapsnap: \(otherJSON): ")
        let cutJSON = folder.path + "/cut.json"
        let whole = try Data(contentsOf: URL(fileURLWithPath: series[0]))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cutJSON))
        try assertOneLineError(["info", cutJSON], startsWith: "heapsnap: \(cutJSON): ")
        try assertOneLineError(["top", folder.path], startsWith: "heapsnap: \(folder.path): ")
    }

    func testExportToABadPath() throws {
        try assertOneLineError(["export", series[0], "-o", folder.path], startsWith: "heapsnap: \(folder.path): is a directory")
        let nowhere = folder.path + "/missing/out.json"
        try assertOneLineError(["export", series[0], "-o", nowhere],
                               startsWith: "heapsnap: \(nowhere): no such directory \(folder.path)/missing")
    }

    func testUsageErrors() throws {
        let unknown = try CLI.run(["top", series[0], "--bogus"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertEqual(unknown.stdout, "")
        XCTAssertTrue(unknown.stderr.contains("Unknown option '--bogus'"), unknown.stderr)
        let badKey = try CLI.run(["top", series[0], "--by", "colour"])
        XCTAssertEqual(badKey.status, 64)
        XCTAssertTrue(badKey.stderr.contains("colour"), badKey.stderr)
        let badThreshold = try CLI.run(["diff", series[0], series[1], "--fail-above", "lots"])
        XCTAssertEqual(badThreshold.status, 64)
        XCTAssertTrue(badThreshold.stderr.contains("--fail-above takes a byte count"), badThreshold.stderr)
        XCTAssertEqual(try CLI.run(["frobnicate"]).status, 64)
    }

    func testHelp() throws {
        let root = try CLI.run(["--help"])
        XCTAssertEqual(root.status, 0, root.stderr)
        for command in ["run", "snap", "top", "diff", "growth", "info", "export", "lib"] {
            XCTAssertTrue(root.stdout.contains("\n  \(command) "), "\(command) listed")
            let help = try CLI.run([command, "--help"])
            XCTAssertEqual(help.status, 0, "\(command): \(help.stderr)")
            XCTAssertTrue(help.stdout.hasPrefix("OVERVIEW: "), help.stdout)
        }
    }
}
