// heapsnap run on a Python program: PYTHONMALLOC=malloc unless the user chose, Python lines as sites,
// and the pymalloc warning when objects were hidden in arenas.
import Foundation
import TestSupport
import XCTest

final class PythonCommandTests: XCTestCase {
    let program = "import os\nprint(os.environ.get('PYTHONMALLOC'))\nkept = [str(i) * 30 for i in range(3000)]\nimport ctypes; ctypes.CDLL(None).heapsnap_snapshot(None)\n"

    func testRunSetsPythonMallocAndReportsPythonLines() throws {
        guard let python = PythonInterpreters.available.first else { throw XCTSkip("no CPython 3.11+ interpreter installed") }
        guard ProcessInfo.processInfo.environment["PYTHONMALLOC"] == nil else { throw XCTSkip("PYTHONMALLOC is set for the tests") }
        let directory = try TemporaryDirectory()
        let run = try CLI.run(["run", "-q", "--dir", directory.path, "--", python.path, "-c", program])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "malloc\n")
        let snapshot = try XCTUnwrap(directory.files().first)
        let top = try CLI.run(["top", "-n", "3", snapshot])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertFalse(top.stdout.contains("pymalloc"), top.stdout)
        // 3000 strings of 30+ characters and the list that holds them, on line 3 of the -c program.
        let lines = top.stdout.split(separator: "\n")
        XCTAssertTrue(lines.count > 1 && lines[1].hasPrefix("#1  <string>:3 ("), top.stdout)
        let json = try CLI.json(try CLI.run(["top", "-n", "1", "--format", "json", snapshot]))
        let stat = try XCTUnwrap((json["stats"] as? [[String: Any]])?.first)
        XCTAssertEqual(stat["kind"] as? String, "python")
        XCTAssertEqual(stat["file"] as? String, "<string>")
        XCTAssertEqual(stat["line"] as? Int, 3)
        let runtime = try XCTUnwrap((json["snapshot"] as? [String: Any])?["python"] as? [String: Any])
        XCTAssertEqual(runtime["pythonmalloc"] as? String, "malloc")
        XCTAssertEqual(runtime["frames_captured"] as? Bool, true)
    }

    func testTheUsersPythonMallocStandsAndPymallocIsWarnedAbout() throws {
        guard let python = PythonInterpreters.available.first else { throw XCTSkip("no CPython 3.11+ interpreter installed") }
        let directory = try TemporaryDirectory()
        let run = try CLI.run(["run", "-q", "--dir", directory.path, "--", python.path, "-c", program],
                              environment: ["PYTHONMALLOC": "pymalloc"])
        XCTAssertEqual(run.stdout, "pymalloc\n")
        let snapshot = try XCTUnwrap(directory.files().first)
        let top = try CLI.run(["top", "-n", "3", snapshot])
        let lines = top.stdout.split(separator: "\n")
        XCTAssertTrue(lines.count > 1 && lines[1].contains("warning: small Python objects came from pymalloc's arenas")
                      && lines[1].contains("PYTHONMALLOC=malloc"), top.stdout)
        let info = try CLI.run(["info", snapshot])
        XCTAssertTrue(info.stdout.contains("pymalloc"), info.stdout)
    }
}
