// `heapsnap info` with several files (one block each, as `file a b` does), a bad file among them, their
// JSON, and a --help that offers only the options info uses.
import Foundation
import TestSupport
import XCTest

final class InfoSeveralFilesTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    /// cli_alloc's two API snapshots and its exit snapshot.
    private func snapshots() throws -> [String] {
        let result = try CLI.run(["run", "--quiet", "--dir", folder.path, "--", try TestPaths.program("cli_alloc"), "0"],
                                 stdin: "x\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let files = folder.files()
        XCTAssertEqual(files.count, 3)
        return files
    }

    func testOneBlockPerFileInTheOrderGiven() throws {
        let files = try snapshots()
        let single = try files.map { path -> String in
            let result = try CLI.run(["info", path])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.hasPrefix("Snapshot     \(path)\n"), result.stdout)
            return result.stdout
        }
        let all = try CLI.run(["info", files[2], files[0], files[1]])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(all.stderr, "")
        XCTAssertEqual(all.stdout, [single[2], single[0], single[1]].joined(separator: "\n"))

        // a file that cannot be read: its one line on stderr, the others still shown, status 1
        let missing = folder.path + "/missing.heapsnap"
        let partial = try CLI.run(["info", files[0], missing, files[1]])
        XCTAssertEqual(partial.status, 1)
        XCTAssertEqual(partial.stdout, single[0] + "\n" + single[1])
        XCTAssertEqual(partial.stderr, "heapsnap: \(missing): no such file\n")
    }

    func testJSONListsTheSingleDocuments() throws {
        let files = try snapshots()
        let singles = try files.map { try CLI.json(try CLI.run(["info", "--format", "json", $0])) }
        XCTAssertEqual(singles.map { $0[string: "report"] }, ["info", "info", "info"])
        let list = try CLI.json(try CLI.run(["info", "--format", "json"] + files))
        XCTAssertEqual(list[string: "format"], "heapsnap-report")
        XCTAssertEqual(list[int: "version"], 1)
        XCTAssertEqual(list[string: "report"], "info_list")
        let documents = try XCTUnwrap(list[objects: "snapshots"])
        XCTAssertEqual(documents.count, 3)
        for (document, single) in zip(documents, singles) {
            XCTAssertEqual(document as NSDictionary, single as NSDictionary)
        }
        XCTAssertEqual(documents.map { $0[object: "snapshot"]?[int: "sequence"] }, [1, 2, 3])
    }

    func testHelpOffersOnlyInfosOptions() throws {
        let help = try CLI.run(["info", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: heapsnap info <snapshots> ... [--format <format>] [--color <color>]\n"), help.stdout)
        XCTAssertFalse(help.stdout.contains("traceback"), help.stdout)
        let refused = try CLI.run(["info", "--traceback-limit", "3", "x.heapsnap"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.hasPrefix("Error: Unknown option '--traceback-limit'"), refused.stderr)
        // top, diff and growth keep it
        for command in ["top", "diff", "growth"] {
            XCTAssertTrue(try CLI.run([command, "--help"]).stdout.contains("--traceback-limit <n>"), command)
        }
        let none = try CLI.run(["info"])
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.hasPrefix("Error: Missing expected argument '<snapshots> ...'"), none.stderr)
    }
}
