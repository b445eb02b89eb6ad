// Small things that each cost a user minutes (issue 10), through the built executable: one line, exact
// text, the documented status.
import Foundation
import TestSupport
import XCTest

final class SmallFixesTests: XCTestCase {
    func testTopOfAFolderSaysItIsAFolder() throws {
        let folder = try TemporaryDirectory()
        _ = try Fixtures.writeSeries(3, into: folder.path)
        let result = try CLI.run(["top", folder.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "heapsnap: \(folder.path): is a directory; give one of its .heapsnap files\n")
        XCTAssertEqual(result.stdout, "")
    }

    func testNegativeCountIsNamedNotMissing() throws {
        let folder = try TemporaryDirectory()
        let series = try Fixtures.writeSeries(3, into: folder.path)
        for arguments in [["top", series[0], "-n", "-3"], ["diff", series[0], series[1], "-n", "-3"],
                          ["run", "-n", "-3", "--", "/bin/true"]] {
            let result = try CLI.run(arguments)
            XCTAssertEqual(result.status, 64, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.hasPrefix("Error: -n must be 0 (all) or more, not -3.\n"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
        // A good -n still parses, also before the snapshot.
        let two = try CLI.run(["top", "-n", "2", series[0]])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(two.stdout.split(separator: "\n").count, 4, "title, two sites, the other line: \(two.stdout)")
    }

    func testVersionNamesTheSnapshotFormat() throws {
        let result = try CLI.run(["--version"])
        XCTAssertEqual(result.status, 0)
        // The format version is the contract header's.
        let header = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent(
            "Sources/Track/include/heapsnap_format.h"), encoding: .utf8)
        let define = try XCTUnwrap(header.split(separator: "\n").first { $0.hasPrefix("#define HEAPSNAP_FORMAT_VERSION ") })
        let version = try XCTUnwrap(define.split(separator: " ").last?.dropLast())
        XCTAssertEqual(result.stdout, "heapsnap 0.1.0 (reads snapshot format version \(version))\n")
    }
}
