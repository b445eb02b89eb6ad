// The churn questions on a real program with known numbers: allocation calls, allocated bytes and
// temporary allocations per line (churn_sites.c's header lists them), through top, diff and export.
import Foundation
import TestSupport
import XCTest

final class ChurnTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
    }

    func snapshot() throws -> String {
        let program = try TestPaths.program("churn_sites")
        let result = try CLI.run(["run", "--dir", folder.path, "--", program], directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(folder.files().first { $0.hasSuffix(".0001.heapsnap") })
    }

    /// (calls, allocated bytes, temporary, live bytes) per marked line of churn_sites.c.
    func rows(_ arguments: [String]) throws -> [Int: [Int]] {
        let json = try CLI.json(try CLI.run(arguments + ["--format", "json", "-n", "0"]))
        var result: [Int: [Int]] = [:]
        for entry in json[objects: "stats"] ?? [] where entry[string: "file"] == TestPaths.programSource("churn_sites.c") {
            result[entry[int: "line"] ?? 0] = [entry[int: "calls"] ?? -1, entry[int: "allocated_bytes"] ?? -1,
                                               entry[int: "temporary_allocations"] ?? -1, entry[int: "size"] ?? -1]
        }
        return result
    }

    func testCallsAllocatedAndTemporaryPerLineAreExact() throws {
        let path = try snapshot()
        func line(_ name: String) throws -> Int { try ProgramSource.line(name, in: "churn_sites.c") }
        let expected: [Int: [Int]] = [
            try line("scratch"): [1000, 64_000, 1000, 0],
            try line("grow_start"): [1, 16, 1, 0],
            // 32 + 64 + … + 16384 bytes; each block freed by the next realloc right away but the last.
            try line("grow_step"): [10, (1...10).reduce(0) { $0 + (16 << $1) }, 9, 16384],
            try line("pair_first"): [200, 6400, 0, 0],
            try line("pair_second"): [200, 9600, 200, 0],
            try line("kept"): [50, 5000, 0, 5000],
            try line("late"): [1, 24, 0, 0],
            try line("worker"): [100, 4000, 100, 0],
            try line("main_between"): [100, 5600, 0, 0],
        ]
        // Only the marked lines: pthread_create's own allocation (its thread's TLS) is glibc's business.
        func marked(_ rows: [Int: [Int]]) -> [Int: [Int]] { rows.filter { expected[$0.key] != nil } }
        XCTAssertEqual(marked(try rows(["top", "--sort", "calls", path])), expected)

        // Ranked by temporaries: only lines that made some (or hold memory), most first.
        let json = try CLI.json(try CLI.run(["top", "--sort", "temporary", "--format", "json", "-n", "4", path]))
        XCTAssertEqual(json[string: "sort"], "temporary")
        XCTAssertEqual(try XCTUnwrap(json[objects: "stats"]).map { $0[int: "line"] },
                       [try line("scratch"), try line("pair_second"), try line("worker"), try line("grow_step")])
        let text = try CLI.run(["top", "--sort", "temporary", "-n", "1", path]).stdout
        XCTAssertTrue(text.hasPrefix("Top 1 line by temporary of "), text)
        XCTAssertTrue(text.contains("(scratch): size=0 B, count=0,  calls=1000, allocated=62.5 KiB, temporary=1000 (100%)"), text)

        // The default stays live size, tracemalloc's order, with nothing-live lines left out.
        let bySize = try CLI.json(try CLI.run(["top", "--format", "json", "-n", "2", path]))
        XCTAssertEqual(try XCTUnwrap(bySize[objects: "stats"]).map { $0[int: "line"] }, [try line("grow_step"), try line("kept")])
        XCTAssertEqual(bySize[string: "sort"], "size")

        // What diff ranks by calls: the calls made between the snapshots (all of them, from nothing).
        let empty = "\(folder.path)/empty.json"
        let loaded = try CLI.json(try CLI.run(["export", path]))
        var blank = loaded
        blank["traces"] = [] as [Any]
        try JSONSerialization.data(withJSONObject: blank).write(to: URL(fileURLWithPath: empty))
        let diff = try CLI.json(try CLI.run(["diff", "--sort", "calls", "--format", "json", "-n", "1", empty, path]))
        let first = try XCTUnwrap(diff[objects: "stats"]?.first)
        XCTAssertEqual(first[int: "line"], try line("scratch"))
        XCTAssertEqual(first[int: "calls_diff"], 1000)
        XCTAssertEqual(first[int: "temporary_allocations_diff"], 1000)

        // The JSON snapshot carries the temporaries per trace and reads back the same.
        let exported = "\(folder.path)/churn.json"
        XCTAssertEqual(try CLI.run(["export", path, "-o", exported]).status, 0)
        XCTAssertEqual(marked(try rows(["top", "--sort", "calls", exported])), expected)
    }

    func testSortRejectsUnknownKeys() throws {
        let result = try CLI.run(["top", "--sort", "bogus", "x.heapsnap"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("bogus"), result.stderr)
    }
}
