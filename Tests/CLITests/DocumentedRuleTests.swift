// Behaviours the documents promise and a test program can show exactly, through the built executable:
// growth's "never decreases" rule (Docs/ANALYSIS.md), `heapsnap run` passing SIGTERM, SIGHUP and
// Ctrl-C on to the program (its --help), and the tracker's 256-frame limit (Docs/TRACKER.md).
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class GrowthRuleTests: XCTestCase {
    /// Of cli_growth_shapes' four sites only the steady one is ranked: not the one that dips and ends
    /// higher, not the one that rises and falls back to its start, not the flat one.
    func testOnlySeriesThatNeverDecreaseAndEndHigherAreRanked() throws {
        let folder = try TemporaryDirectory()
        let run = try CLI.run(["run", "--dir", folder.path, "--quiet", "--", try TestPaths.program("cli_growth_shapes")])
        XCTAssertEqual(run.status, 0, run.stderr)
        let files = folder.files()
        XCTAssertEqual(files.count, 5, "four heapsnap_snapshot() and the exit snapshot")
        let series = Array(files.prefix(4))
        let source = TestPaths.programSource("cli_growth_shapes.c")
        func line(_ name: String) throws -> Int { try ProgramSource.line(name, in: "cli_growth_shapes.c") }

        // The shapes, as top sees them in each snapshot.
        var sizes: [Int: [Int]] = [:]
        for file in series {
            let stats = try XCTUnwrap(try CLI.json(try CLI.run(["top", file, "--format", "json", "-n", "0"]))[objects: "stats"])
            XCTAssertTrue(stats.allSatisfy { $0[string: "file"] == source }, "\(stats)")
            for stat in stats { sizes[stat[int: "line"] ?? 0, default: []].append(stat[int: "size"] ?? 0) }
        }
        XCTAssertEqual(sizes, [try line("steady"): [1000, 2000, 3000, 4000], try line("dip"): [2000, 1000, 3000, 4000],
                               try line("back"): [1000, 2000, 3000, 1000], try line("flat"): [1500, 1500, 1500, 1500]])

        let growth = try CLI.json(try CLI.run(["growth", "--format", "json", "-n", "0"] + series))
        let ranked = try XCTUnwrap(growth[objects: "stats"])
        XCTAssertEqual(ranked.map { $0[int: "line"] ?? 0 }, [try line("steady")], "\(ranked)")
        XCTAssertEqual(ranked.first?["sizes"] as? [Int], [1000, 2000, 3000, 4000])
        XCTAssertEqual(ranked.first?["counts"] as? [Int], [1, 2, 3, 4])
        XCTAssertEqual((ranked.first?["growth_per_snapshot"] as? NSNumber)?.doubleValue, 1000)
        // By function the same four groups, the same verdict.
        let byFunction = try CLI.json(try CLI.run(["growth", "--by", "function", "--format", "json", "-n", "0"] + series))
        XCTAssertEqual(byFunction[objects: "stats"]?.map { $0[string: "function"] ?? "?" }, ["steady"])
    }
}

final class RunSignalForwardingTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setsid") else {
            throw XCTSkip("util-linux setsid(1) is needed to give heapsnap a process group of its own")
        }
    }

    /// `heapsnap run -- cli_signals MODE` in a session of its own, so that a signal to its process group
    /// reaches heapsnap and the program only, as Ctrl-C from a terminal does. Returns once the program
    /// waits and heapsnap has its forwarding in place (seen in /proc, not guessed from a delay).
    /// `through` runs heapsnap under another command (nohup).
    private func startRun(_ mode: String, through: [String] = []) throws -> (run: LiveProgram, heapsnap: pid_t, program: pid_t) {
        let run = try LiveProgram(
            ["/usr/bin/setsid", "--wait"] + through + [TestPaths.cli, "run", "--dir", folder.path, "--quiet", "--",
             try TestPaths.program("cli_signals"), mode],
            environment: ["HEAPSNAP_LIB": TestPaths.library], preload: false)
        let fields = run.firstLine.split(separator: " ")
        guard fields.count == 4, fields[0] == "ready", let program = pid_t(fields[1]), let heapsnap = pid_t(fields[2]),
              let group = pid_t(fields[3].dropLast()) else {
            XCTFail("unexpected first line \(run.firstLine.debugDescription)")
            throw CocoaError(.coderInvalidValue)
        }
        XCTAssertEqual(group, heapsnap, "heapsnap leads the program's process group")
        XCTAssertNotEqual(group, getpgrp(), "never signal the test's own group")
        // While it waits heapsnap ignores SIGINT and catches SIGTERM, then SIGHUP (ChildProcess.wait):
        // once SIGHUP (bit 0) is caught, all are in place.
        var attempts = 0
        while Self.signalMask("SigCgt", of: heapsnap) & 0x1 == 0 && attempts < 5000 {
            usleep(2000)
            attempts += 1
        }
        XCTAssertLessThan(attempts, 5000, "heapsnap never set up its signal forwarding")
        return (run, heapsnap, program)
    }

    /// A signal mask of /proc/PID/status ("SigIgn", "SigCgt"): bit N-1 for signal N.
    static func signalMask(_ name: String, of pid: pid_t) -> UInt64 {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
        return line.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) } ?? 0
    }

    /// Sends `signal` (to heapsnap, or to its process group as a terminal's Ctrl-C does) and checks
    /// what the program printed and the status `heapsnap run` exits with.
    private func assertDelivered(_ signal: Int32, toGroup: Bool, mode: String, printed: String, status: Int32,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let (run, heapsnap, program) = try startRun(mode)
        XCTAssertEqual(kill(toGroup ? -heapsnap : heapsnap, signal), 0, file: file, line: line)
        guard let rest = run.remainingOutput(timeout: 20) else {
            kill(program, SIGKILL)
            kill(heapsnap, SIGKILL)
            return XCTFail("signal \(signal) did not end the run", file: file, line: line)
        }
        XCTAssertEqual(rest, printed, file: file, line: line)
        // (setsid --wait passes heapsnap's exit status on; had heapsnap died of the signal, it would say so
        // in another status.)
        XCTAssertEqual(run.process.terminationStatus, status, file: file, line: line)
    }

    func testTerminateHangupAndInterruptReachTheProgram() throws {
        // The program catches each and exits with 64 + its number: heapsnap exits with that status.
        try assertDelivered(SIGTERM, toGroup: false, mode: "catch", printed: "got SIGTERM\n", status: 64 + SIGTERM)
        try assertDelivered(SIGHUP, toGroup: false, mode: "catch", printed: "got SIGHUP\n", status: 64 + SIGHUP)
        try assertDelivered(SIGINT, toGroup: true, mode: "catch", printed: "got SIGINT\n", status: 64 + SIGINT)
        // The program dies of it: heapsnap survives it and exits as a shell reports, 128 + the signal.
        try assertDelivered(SIGTERM, toGroup: false, mode: "default", printed: "", status: 128 + SIGTERM)
        try assertDelivered(SIGHUP, toGroup: false, mode: "default", printed: "", status: 128 + SIGHUP)
        try assertDelivered(SIGINT, toGroup: true, mode: "default", printed: "", status: 128 + SIGINT)
        // A program that caught the signal ended normally, so each of those wrote its exit snapshot.
        let exits = try folder.files().map { try CLI.json(try CLI.run(["info", $0, "--format", "json"])) }
        XCTAssertEqual(exits.map { $0[object: "snapshot"]?[string: "trigger"] ?? "?" }, ["exit", "exit", "exit"])
    }

    /// Under nohup the program ignores SIGHUP as it would without heapsnap, and survives a hangup:
    /// `heapsnap run` keeps the dispositions it was started with for its program.
    func testAnIgnoredHangupStaysIgnored() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/nohup") else { throw XCTSkip("no nohup(1)") }
        let (run, heapsnap, program) = try startRun("default", through: ["/usr/bin/nohup"])
        XCTAssertEqual(Self.signalMask("SigIgn", of: program) & 0x1, 0x1, "the program ignores SIGHUP, as nohup set it")
        // A hangup, as a terminal sends it to the whole process group: the program ignores it (and what
        // heapsnap passes on) and lives on, until SIGTERM ends it.
        XCTAssertEqual(kill(-heapsnap, SIGHUP), 0)
        XCTAssertEqual(kill(heapsnap, SIGTERM), 0)
        guard let rest = run.remainingOutput(timeout: 20) else {
            kill(program, SIGKILL)
            return XCTFail("the run did not end")
        }
        XCTAssertEqual(rest, "")
        XCTAssertEqual(run.process.terminationStatus, 128 + SIGTERM, "killed by SIGTERM, not by the hangup")
    }
}

final class FrameLimitTests: XCTestCase {
    /// The raw stack of cli_deep_stack's one 4321-byte block, run LEVELS deep under HEAPSNAP_FRAMES=256,
    /// and its snapshot (in `folder`, which the caller keeps alive).
    private func deepStack(levels: Int, folder: TemporaryDirectory, file: StaticString = #filePath, line: UInt = #line)
        throws -> (stack: StackRecord, path: String) {
        let before = Set(folder.files())
        let run = try CLI.run(["run", "--dir", folder.path, "--quiet", "--frames", "256", "--",
                               try TestPaths.program("cli_deep_stack"), String(levels)])
        XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
        XCTAssertEqual(run.stderr, "", "256 is in range: no warning", file: file, line: line)
        let path = try XCTUnwrap(folder.files().first { !before.contains($0) }, file: file, line: line)
        let raw = try RawSnapshot(contentsOf: path)
        XCTAssertEqual(raw.header.maxFrames, 256, file: file, line: line)
        return (try XCTUnwrap(raw.stacks.first { $0.liveBytes == 4321 }, file: file, line: line), path)
    }

    func testStacksAreCutAtExactly256FramesAndFlagged() throws {
        // How many frames main and what calls it add, from a shallow run: descend(10) is 11 frames.
        let folder = try TemporaryDirectory()
        let (shallow, _) = try deepStack(levels: 10, folder: folder)
        XCTAssertFalse(shallow.isTruncated)
        let below = shallow.frames.count - 11
        XCTAssertGreaterThan(below, 0)
        // 256 frames exactly fit; one more is cut to 256 and flagged.
        let (fits, _) = try deepStack(levels: 256 - below - 1, folder: folder)
        XCTAssertEqual(fits.frames.count, 256)
        XCTAssertFalse(fits.isTruncated)
        let (cut, _) = try deepStack(levels: 256 - below, folder: folder)
        XCTAssertEqual(cut.frames.count, 256)
        XCTAssertTrue(cut.isTruncated)
        // The innermost frames are kept: all 256 - below recursive calls, and the outermost frame is the one left out.
        XCTAssertEqual(cut.frames.filter { $0 == cut.frames[1] }.count, 256 - below)
        XCTAssertEqual(fits.frames.filter { $0 == fits.frames[1] }.count, 255 - below)

        // Far deeper (300 levels): still 256, and the reports say it was cut.
        let (deep, path) = try deepStack(levels: 300, folder: folder)
        XCTAssertEqual(deep.frames.count, 256)
        XCTAssertTrue(deep.isTruncated)
        let document = try CLI.json(try CLI.run(["top", path, "--by", "traceback", "--format", "json", "-n", "1"]))
        let entry = try XCTUnwrap(document[objects: "stats"]?.first)
        XCTAssertEqual(entry[int: "size"], 4321)
        XCTAssertEqual(entry["traceback_truncated"] as? Bool, true)
        let frames = try XCTUnwrap(entry[objects: "traceback"])
        XCTAssertEqual(frames.count, 256)
        XCTAssertEqual(Set(frames.map { $0[string: "function"] ?? "?" }), ["descend"])
        XCTAssertEqual(frames.first?[int: "line"], try ProgramSource.line("bottom", in: "cli_deep_stack.c"))
        XCTAssertEqual(Set(frames.dropFirst().map { $0[int: "line"] ?? 0 }), [try ProgramSource.line("recurse", in: "cli_deep_stack.c")])
        let info = try CLI.run(["info", path])
        XCTAssertTrue(info.stdout.contains(" distinct, up to 256 frames each (some truncated)\n"), info.stdout)
    }
}
