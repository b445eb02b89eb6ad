// A HEAPSNAP_DIR that does not exist, under a plain LD_PRELOAD (no `heapsnap run` to make it): the
// tracker creates it like mkdir -p, with the mode the umask gives, and says in one line when it cannot.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SnapshotFolderTests: XCTestCase {
    override func setUpWithError() throws { try requireLibrary() }

    func testMissingFolderIsCreatedWithTheUmasksMode() throws {
        let dir = try TemporaryDirectory()
        let program = try TestPaths.program("cli_alloc")
        // relative: anchored at the directory the program started in; umask 027 gives folders 0750
        let result = try runProcess("/bin/sh", ["-c", "umask 027 && exec env LD_PRELOAD=\"$1\" \"$2\" 0", "sh",
                                                TestPaths.library, program],
                                    environment: ["HEAPSNAP_DIR": "made/a//b/"], directory: dir.path, stdin: "x\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "cli_alloc: X\n")
        XCTAssertEqual(result.stderr, "")
        for folder in ["made", "made/a", "made/a/b"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/" + folder)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeDirectory, folder)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o750, folder)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/made/a/b")
            .filter { $0.hasSuffix(".heapsnap") }.sorted()
        XCTAssertEqual(names.count, 4, "\(names)")
        let pid = try XCTUnwrap(names.first?.split(separator: ".").dropFirst().first)
        XCTAssertEqual(names, ["0001", "0002", "0003", "peak"].map { "cli_alloc.\(pid).\($0).heapsnap" })
        let exit = try RawSnapshot(contentsOf: dir.path + "/made/a/b/cli_alloc.\(pid).0003.heapsnap")
        XCTAssertEqual(exit.header.trigger, .exit)
        XCTAssertEqual(exit.header.executable, program)
    }

    func testFolderThatCannotBeCreatedIsOneWarningAndNothingElseChanges() throws {
        let dir = try TemporaryDirectory()
        let blocker = dir.path + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let wanted = blocker + "/sub"
        let result = try runProcess(try TestPaths.program("cli_cpp"), environment: ["HEAPSNAP_DIR": wanted],
                                    preload: true, directory: dir.path)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "10 nodes\n")
        // the exit snapshot and the peak file behind it: one line for both
        XCTAssertEqual(result.stderr, "heapsnap: cannot create HEAPSNAP_DIR \(wanted), so no snapshot is written: Not a directory\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["file"])
    }
}
