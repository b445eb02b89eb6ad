// Messages for mistakes that each cost a user minutes: one line, exact text, non-zero status.
import Foundation
import TestSupport
import XCTest

final class SmallMessageTests: XCTestCase {
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
        for arguments in [["top", series[0], "-n", "-3"], ["diff", series[0], series[1], "-n", "-3"]] {
            let result = try CLI.run(arguments)
            XCTAssertEqual(result.status, 64, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.hasPrefix("Error: -n must be 0 (all) or more, not -3.\n"), result.stderr)
        }
        let run = try CLI.run(["run", "-n", "-3", "--", "/bin/true"])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.hasPrefix("Error: -n must be 0 (all) or more, not -3.\n"), run.stderr)
        // A good -n still parses, also before the snapshot.
        XCTAssertEqual(try CLI.run(["top", "-n", "1", series[0]]).status, 0)
    }
}
