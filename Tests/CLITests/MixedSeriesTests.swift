// diff needs snapshots of one program (--allow-mixed overrides) and growth makes a series per process, on real
// snapshots of two programs written by `heapsnap run`.
import Foundation
import TestSupport
import XCTest

final class MixedSeriesTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    /// Runs `program` under `heapsnap run` into its own folder and returns its snapshots and its pid.
    private func run(_ program: String, _ arguments: [String], stdin: String, into name: String) throws -> ([String], String) {
        let path = try TestPaths.program(program)
        let dir = "\(folder.path)/\(name)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let result = try CLI.run(["run", "--quiet", "--dir", dir, "--", path] + arguments, directory: dir, stdin: stdin)
        XCTAssertEqual(result.status, 0, result.stderr)
        // the numbered snapshots; the peak file written at exit is not part of a series here
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".heapsnap") && !$0.hasSuffix(".peak.heapsnap") }
            .sorted().map { "\(dir)/\($0)" }
        let pid = String(try XCTUnwrap(URL(fileURLWithPath: try XCTUnwrap(files.first)).lastPathComponent.split(separator: ".").dropFirst().first))
        return (files, pid)
    }

    func testDiffAndGrowthRefuseMixedSeries() throws {
        let (first, firstPID) = try run("cli_alloc", ["0"], stdin: "a\n", into: "one")
        let (second, secondPID) = try run("cli_alloc", ["0"], stdin: "b\n", into: "two")
        let (other, otherPID) = try run("cli_cpp", [], stdin: "", into: "cpp")
        XCTAssertEqual(first.count, 3)
        XCTAssertEqual(second.count, 3)
        let alloc = try TestPaths.program("cli_alloc"), cpp = try TestPaths.program("cli_cpp")

        let mixed = try CLI.run(["diff", first[0], other.last!])
        XCTAssertEqual(mixed.status, 1)
        XCTAssertEqual(mixed.stdout, "")
        XCTAssertEqual(mixed.stderr, "heapsnap: the snapshots come from different programs (cli_alloc pid \(firstPID): "
                       + "\(alloc), cli_cpp pid \(otherPID): \(cpp)); pass --allow-mixed to go ahead anyway\n")
        let allowed = try CLI.run(["diff", first[0], other.last!, "--allow-mixed"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        // Two runs of one program compare fine.
        XCTAssertEqual(try CLI.run(["diff", first[0], second[2]]).status, 0)

        // Two processes: a series each, not one mixed series (ProcessGrowthTests has the details).
        let twoProcesses = try CLI.json(try CLI.run(["growth", "--format", "json"] + first + second))
        XCTAssertEqual(twoProcesses[string: "report"], "growth_by_process")
        XCTAssertEqual(Set(twoProcesses[objects: "processes"]?.compactMap { $0[int: "pid"].map(String.init) } ?? []),
                       [firstPID, secondPID])
        XCTAssertEqual(try CLI.run(["growth", "--allow-mixed"] + first + second).status, 0)
        // One process's snapshots in any order are one series, in time order.
        let reversed = try CLI.run(["growth", "--format", "json"] + first.reversed())
        XCTAssertEqual(reversed.status, 0, reversed.stderr)
        let inOrder = try CLI.run(["growth", "--format", "json"] + first)
        let sizes = try XCTUnwrap(try CLI.json(inOrder)[objects: "stats"]?.first?["sizes"] as? [Int])
        XCTAssertEqual(sizes.count, 3)
        XCTAssertEqual(try CLI.json(reversed)[objects: "stats"]?.first?["sizes"] as? [Int], sizes)
    }
}
