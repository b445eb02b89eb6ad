// Long C++ names in the text report: a location longer than TextReport.alignedLocationWidth gets a line
// of its own, whole, and its values continue under the other lines' columns. On a real C++ program
// (cli_cpp_long) whose function template is instantiated with nested standard containers.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class LongLocationLayoutTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    func testLongTemplatedNameGetsItsOwnLineAndColumnsStayAligned() throws {
        let run = try CLI.run(["run", "--quiet", "--dir", folder.path, "--", try TestPaths.program("cli_cpp_long")])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "7 blocks\n")
        let snapshot = try XCTUnwrap(folder.files().first)
        // run from the programs' folder, so that the short locations are short wherever the clone is
        let programs = TestPaths.packageRoot.appendingPathComponent("Tests/Programs").path
        let json = try CLI.json(try CLI.run(["top", "--format", "json", snapshot], directory: programs))
        let stats = try XCTUnwrap(json[objects: "stats"])
        XCTAssertEqual(stats.map { $0[int: "size"] }, [4096, 4000, 1024, 256])
        let templated = try XCTUnwrap(stats[3][string: "function"])
        XCTAssertTrue(templated.hasPrefix("void* storage::detail::allocate_bucket_storage<std::map<std::__cxx11::basic_string<char"), templated)
        XCTAssertGreaterThan(templated.count, 1000)

        let result = try CLI.run(["top", snapshot], directory: programs)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 6, result.stdout)
        let line = { (name: String) in try ProgramSource.line(name, in: "cli_cpp_long.cpp") }
        // the stdout buffer of the printf (4096 B on a pipe) is main's
        let printf = try line("printf")
        let short = ["cli_cpp_long.cpp:\(printf) (main):", "cli_cpp_long.cpp:\(try line("big")) (big_buffer):",
                     "cli_cpp_long.cpp:\(try line("small")) (small_buffer):"]
        let width = short.map(\.count).max()!
        let padded = short.map { $0 + String(repeating: " ", count: width - $0.count) }
        XCTAssertEqual(Array(lines.dropFirst()), [
            "#1  \(padded[0]) size=4096 B, count=1, average=4096 B",
            "#2  \(padded[1]) size=4000 B, count=1, average=4000 B",
            "#3  \(padded[2]) size=1024 B, count=2, average=512 B",
            "#4  cli_cpp_long.cpp:\(try line("templated")) (\(templated)):",
            String(repeating: " ", count: 4 + width) + " size=256 B,  count=4, average=64 B",
        ])
        // every value column starts at the same place
        let columns = lines.dropFirst().filter { $0.contains("size=") }.map { $0.range(of: "size=")!.lowerBound.utf16Offset(in: $0) }
        XCTAssertEqual(Set(columns), [4 + width + 1])
        XCTAssertLessThanOrEqual(width, TextReport.alignedLocationWidth)
    }
}
