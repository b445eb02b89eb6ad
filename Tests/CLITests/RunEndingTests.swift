// What `heapsnap run` says when no snapshot was written, one text per cause, each on a real program:
// a static binary, --only / HEAPSNAP_ONLY naming nothing that ran, _exit, abort and SIGKILL, a
// set-user-ID program.
import Foundation
import TestSupport
import XCTest

final class RunEndingTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    /// Runs `heapsnap run --dir DIR [options] -- program arguments`; returns the result and the two
    /// summary lines it must consist of, the first checked here against the program's pid and ending.
    private func run(_ program: String, _ arguments: [String] = [], options: [String] = [], environment: [String: String] = [:],
                     ending: String, file: StaticString = #filePath, line: UInt = #line) throws -> (ProcessResult, String) {
        let dir = folder.path + "/snaps"
        let result = try CLI.run(["run", "--dir", dir] + options + ["--", program] + arguments,
                                 directory: folder.path, environment: environment)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, result.stderr, file: file, line: line)  // two lines and the final newline
        let name = URL(fileURLWithPath: program).lastPathComponent
        let first = String(lines.first ?? "")
        let pid = first.dropFirst("heapsnap: \(name) (pid ".count).prefix { $0.isNumber }
        XCTAssertEqual(first, "heapsnap: \(name) (pid \(pid)) \(ending); 0 snapshots in \(dir)", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".heapsnap") }, [],
                       file: file, line: line)
        return (result, lines.count > 1 ? String(lines[1]) : "")
    }

    private let whileRunning = "take snapshots while it runs: --interval SECONDS, --peak-step 64M (the peak state, rewritten as it grows) or heapsnap snap PID"

    func testStaticProgram() throws {
        let program = try TestPaths.program("cli_static")
        let (result, reason) = try run(program, ending: "exited with status 0")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "cli_static: 4 blocks\n")
        XCTAssertEqual(reason, "heapsnap: no snapshot was written: \(program) is statically linked: it has no dynamic loader, "
                       + "so LD_PRELOAD never loads libheapsnap.so into it; trace a dynamically linked build of it (without -static)")
    }

    func testOnlyNamingNoProgram() throws {
        let program = try TestPaths.program("cli_ending")
        let (result, reason) = try run(program, ["exit"], options: ["--only", "nomatch,other"], ending: "exited with status 0")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "cli_ending: exit\n")
        XCTAssertEqual(reason, "heapsnap: no snapshot was written: --only nomatch,other names no process that wrote one, and "
                       + "cli_ending itself is not named, so it was not tracked; give the file names of the programs to track "
                       + "(python3.11, not a path or an alias)")
        let (byEnvironment, environmentReason) = try run(program, ["exit"], environment: ["HEAPSNAP_ONLY": "nomatch"],
                                                         ending: "exited with status 0")
        XCTAssertEqual(byEnvironment.status, 0)
        XCTAssertEqual(environmentReason, "heapsnap: no snapshot was written: HEAPSNAP_ONLY=nomatch names no process that "
                       + "wrote one, and cli_ending itself is not named, so it was not tracked; give the file names of the "
                       + "programs to track (python3.11, not a path or an alias)")
        // the list's grammar, as HEAPSNAP_ONLY's: an empty name is refused before anything runs
        let refused = try CLI.run(["run", "--only", "a,,b", "--", program, "exit"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.hasPrefix("Error: --only takes program names (not paths) separated by commas; 'a,,b' is not accepted.\n"),
                      refused.stderr)
        // named: its exit snapshot as usual
        let named = try CLI.run(["run", "--quiet", "--dir", folder.path + "/named", "--only", "cli_ending", "--", program, "exit"])
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/named").filter { $0.hasSuffix(".heapsnap") }.count, 2)
    }

    func testUnderscoreExit() throws {
        let (result, reason) = try run(try TestPaths.program("cli_ending"), ["_exit"], ending: "exited with status 0")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "cli_ending: _exit\n")
        XCTAssertEqual(reason, "heapsnap: no snapshot was written: cli_ending ended without running its exit handlers (_exit(), "
                       + "or an exec of a program that cannot be traced), which is when the exit snapshot is written; "
                       + "\(whileRunning), or call heapsnap_snapshot() before it ends")
    }

    func testAbort() throws {
        let (result, reason) = try run(try TestPaths.program("cli_ending"), ["abort"], ending: "was killed by SIGABRT")
        XCTAssertEqual(result.status, 128 + SIGABRT)
        XCTAssertEqual(result.stdout, "cli_ending: abort\n")
        XCTAssertEqual(reason, "heapsnap: no snapshot was written: cli_ending called abort() (SIGABRT), which ends a process "
                       + "without its exit handlers, so there is no exit snapshot; \(whileRunning)")
    }

    func testSIGKILL() throws {
        let (result, reason) = try run(try TestPaths.program("cli_ending"), ["kill"], ending: "was killed by SIGKILL")
        XCTAssertEqual(result.status, 128 + SIGKILL)
        XCTAssertEqual(result.stdout, "cli_ending: kill\n")
        XCTAssertEqual(reason, "heapsnap: no snapshot was written: cli_ending was killed by SIGKILL, which no process can "
                       + "catch, so there is no exit snapshot (the kernel's out-of-memory killer sends SIGKILL: see dmesg); "
                       + whileRunning)
    }

    /// The loader's secure-execution mode: a set-user-ID program owned by another user (root can make one).
    func testSetUserIDProgram() throws {
        guard getuid() == 0 else { throw XCTSkip("making a set-user-ID program of another user needs root") }
        let copy = folder.path + "/cli_ending_setuid"
        try FileManager.default.copyItem(atPath: try TestPaths.program("cli_ending"), toPath: copy)
        XCTAssertEqual(chown(copy, 65534, 65534), 0)  // nobody
        XCTAssertEqual(chmod(copy, 0o4755), 0)
        let (result, reason) = try run(copy, ["exit"], ending: "exited with status 0")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "cli_ending: exit\n")
        XCTAssertEqual(reason, "heapsnap: no snapshot was written: \(copy) is set-user-ID or set-group-ID, and the dynamic "
                       + "loader ignores LD_PRELOAD for such programs; trace a copy of it without that bit")
    }
}
