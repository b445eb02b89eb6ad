// The whole path as a user takes it: `heapsnap run` a real program under the real tracker, then top,
// diff, growth, info and export on the files it wrote, and `snap` of a live process.
import Foundation
import TestSupport
import XCTest

final class LiveCommandTests: XCTestCase {
    var folder: TemporaryDirectory!
    let source = TestPaths.programSource("cli_alloc.c")

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
    }

    /// Runs cli_alloc under `heapsnap run` and returns the result and its numbered snapshots.
    func runAlloc(_ arguments: [String] = ["0"], stdin: String = "hello\n") throws -> (ProcessResult, [String]) {
        let program = try TestPaths.program("cli_alloc")
        let result = try CLI.run(["run", "--dir", folder.path, "--", program] + arguments,
                                 directory: folder.path, stdin: stdin)
        return (result, folder.files())
    }

    func testRunPassesStreamsAndStatusThroughAndSummarizes() throws {
        let (result, files) = try runAlloc(["3"])
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stdout, "cli_alloc: HELLO\n", "the program's stdout, untouched")
        XCTAssertEqual(files.count, 3, "two API snapshots and the exit snapshot")
        let names = files.map { URL(fileURLWithPath: $0).lastPathComponent }
        let pid = try XCTUnwrap(names.first?.split(separator: ".")[1])
        XCTAssertEqual(names, (1...3).map { "cli_alloc.\(pid).000\($0).heapsnap" })
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        let stderr = result.stderr
        XCTAssertTrue(stderr.hasPrefix("heapsnap: cli_alloc (pid \(pid)) exited with status 3; 3 snapshots in \(folder.path):\n"), stderr)
        XCTAssertTrue(stderr.contains("\nTop "), stderr)
        XCTAssertTrue(stderr.contains("lines of cli_alloc.\(pid).0003.heapsnap (exit at "), stderr)
        XCTAssertTrue(stderr.contains("#1  \(source):\(blocks) (keep_blocks): size=29.3 KiB, count=30, average=1000 B"), stderr)
    }

    func testRunReportsDeathBySignalAsAShellDoes() throws {
        let (result, files) = try runAlloc(["0", String(SIGKILL)])
        XCTAssertEqual(result.status, 128 + SIGKILL)
        XCTAssertTrue(result.stderr.contains("was killed by SIGKILL; 2 snapshots"), result.stderr)
        XCTAssertEqual(files.count, 2, "no exit snapshot after SIGKILL")
    }

    func testRunOfAProgramThatCannotBeExecuted() throws {
        let missing = try CLI.run(["run", "--dir", folder.path, "--", "no-such-program-heapsnap"])
        XCTAssertEqual(missing.status, 127)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertEqual(missing.stderr, "heapsnap: no-such-program-heapsnap: command not found\n")
        let notExecutable = try CLI.run(["run", "--dir", folder.path, "--", source])
        XCTAssertEqual(notExecutable.status, 127)
        XCTAssertEqual(notExecutable.stderr, "heapsnap: \(source): Permission denied\n")
        XCTAssertEqual(folder.files(), [])
    }

    func testRunPassesTrackerOptionsAsEnvironment() throws {
        let program = try TestPaths.program("cli_alloc")
        let result = try CLI.run(["run", "--dir", folder.path, "--frames", "3", "--quiet", "--", program],
                                 directory: folder.path, stdin: "x\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "", "--quiet prints no summary")
        let document = try CLI.json(try CLI.run(["info", try XCTUnwrap(folder.files().first), "--format", "json"]))
        XCTAssertEqual(document[object: "snapshot"]?[int: "max_frames"], 3)
        let bad = try CLI.run(["run", "--signal", "KILL", "--", program])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--signal takes a signal name"), bad.stderr)
    }

    func testTopOfARealSnapshotNamesTheExactLines() throws {
        let (_, files) = try runAlloc()
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        let tables = try ProgramSource.line("tables", in: "cli_alloc.c")
        let text = try CLI.run(["top", files[1]], directory: folder.path)
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("#1  \(source):\(blocks) (keep_blocks):"), lines[1])
        XCTAssertTrue(lines[1].hasSuffix(" size=29.3 KiB, count=30, average=1000 B"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("#2  \(source):\(tables) (keep_tables):"), lines[2])
        XCTAssertTrue(lines[2].hasSuffix(" size=20.0 KiB, count=5,  average=4096 B"), lines[2])
        XCTAssertFalse(text.stdout.contains("(scratch)"), "freed blocks are not live")

        let document = try CLI.json(try CLI.run(["top", files[1], "--format", "json", "-n", "0"]))
        let stats = try XCTUnwrap(document[objects: "stats"])
        XCTAssertEqual(stats[0][string: "file"], source)
        XCTAssertEqual(stats[0][int: "line"], blocks)
        XCTAssertEqual(stats[0][string: "function"], "keep_blocks")
        XCTAssertEqual(stats[0][int: "size"], 30_000)
        XCTAssertEqual(stats[0][int: "count"], 30)
        XCTAssertEqual(stats[0][string: "module"], try TestPaths.program("cli_alloc"))
        XCTAssertEqual(stats[0][objects: "traceback"]?.first?[int: "line"], blocks)
        XCTAssertEqual(stats[0][objects: "traceback"]?.dropFirst().first?[string: "function"], "main")
        XCTAssertEqual(stats[1][int: "size"], 20_480)
        XCTAssertEqual(stats[1][int: "count"], 5)
        XCTAssertEqual(stats[1][int: "line"], tables)
        // Per-site sizes add up to the total.
        XCTAssertEqual(stats.reduce(0) { $0 + ($1[int: "size"] ?? 0) }, document[object: "total"]?[int: "size"])
    }

    func testDiffAndFailAboveOnRealSnapshots() throws {
        let (_, files) = try runAlloc()
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        let diff = try CLI.run(["diff", files[0], files[1]], directory: folder.path)
        XCTAssertEqual(diff.status, 0, diff.stderr)
        let first = diff.stdout.split(separator: "\n")[1]
        XCTAssertTrue(first.hasPrefix("#1  \(source):\(blocks) (keep_blocks): size=29.3 KiB (+19.5 KiB), count=30 (+20), average=1000 B"),
                      String(first))
        let document = try CLI.json(try CLI.run(["diff", files[0], files[1], "--format", "json"]))
        let top = try XCTUnwrap(document[objects: "stats"]?.first)
        XCTAssertEqual(top[int: "size_diff"], 20_000)
        XCTAssertEqual(top[int: "count_diff"], 20)
        let growth = try XCTUnwrap(document[object: "total"]?[int: "size_diff"])
        XCTAssertGreaterThanOrEqual(growth, 20_000)
        let failing = try CLI.run(["diff", files[0], files[1], "--fail-above", "10000"])
        XCTAssertEqual(failing.status, 3)
        XCTAssertTrue(failing.stderr.hasPrefix("heapsnap: total live memory grew by \(growth) bytes"), failing.stderr)
        XCTAssertEqual(try CLI.run(["diff", files[0], files[1], "--fail-above", "1M"]).status, 0)
    }

    func testGrowthAndExportOnRealSnapshots() throws {
        let (_, files) = try runAlloc()
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        let growth = try CLI.json(try CLI.run(["growth", "--format", "json"] + files))
        let first = try XCTUnwrap(growth[objects: "stats"]?.first)
        XCTAssertEqual(first[int: "line"], blocks)
        XCTAssertEqual(first["sizes"] as? [Int], [10_000, 30_000, 30_000])

        let exported = folder.path + "/exported.json"
        let export = try CLI.run(["export", files[1], "--format", "json", "-o", exported])
        XCTAssertEqual(export.status, 0, export.stderr)
        var fromBinary = try CLI.json(try CLI.run(["top", files[1], "--format", "json", "-n", "0"]))
        var fromJSON = try CLI.json(try CLI.run(["top", exported, "--format", "json", "-n", "0"]))
        XCTAssertEqual(fromJSON[object: "snapshot"]?[string: "path"], exported)
        fromBinary["snapshot"] = nil
        fromJSON["snapshot"] = nil
        XCTAssertEqual(fromBinary as NSDictionary, fromJSON as NSDictionary)
        // The exported file works in diff next to a binary one.
        let mixed = try CLI.json(try CLI.run(["diff", files[0], exported, "--format", "json"]))
        XCTAssertEqual(mixed[objects: "stats"]?.first?[int: "size_diff"], 20_000)
    }

    func testInfoOfARealSnapshot() throws {
        let (_, files) = try runAlloc()
        let result = try CLI.run(["info", files[1]])
        XCTAssertEqual(result.status, 0, result.stderr)
        let program = try TestPaths.program("cli_alloc")
        XCTAssertTrue(result.stdout.contains("Program      \(program) 0\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("by heapsnap_snapshot() (#2)\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("  \(program)  [main, debug info]\n"), result.stdout)
    }

    func testCorruptAndTruncatedSnapshotsGiveOneLine() throws {
        let (_, files) = try runAlloc()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: files[1]))
        let truncated = folder.path + "/truncated.heapsnap"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let flipped = folder.path + "/flipped.heapsnap"
        var corrupt = bytes
        corrupt[bytes.count / 2] ^= 0x40
        try corrupt.write(to: URL(fileURLWithPath: flipped))
        for path in [truncated, flipped] {
            for command in [["top", path], ["info", path], ["diff", files[0], path]] {
                let result = try CLI.run(command)
                XCTAssertEqual(result.status, 1, "\(command): \(result.stderr)")
                XCTAssertEqual(result.stdout, "")
                XCTAssertTrue(result.stderr.hasPrefix("heapsnap: \(path): "), result.stderr)
                XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
            }
        }
    }

    func testStrippedProgramStillGivesAResult() throws {
        let stripped = folder.path + "/cli_alloc_stripped"
        XCTAssertEqual(try runProcess("/usr/bin/strip", ["-o", stripped, try TestPaths.program("cli_alloc")]).status, 0)
        let run = try CLI.run(["run", "--dir", folder.path, "--quiet", "--", stripped], stdin: "x\n")
        XCTAssertEqual(run.status, 0, run.stderr)
        let files = folder.files()
        XCTAssertEqual(files.count, 3)
        let top = try CLI.run(["top", files[1], "-n", "2"])
        XCTAssertEqual(top.status, 0, top.stderr)
        let first = top.stdout.split(separator: "\n")[1]
        XCTAssertTrue(first.hasPrefix("#1  cli_alloc_stripped+0x"), String(first))
        XCTAssertTrue(first.hasSuffix("size=29.3 KiB, count=30, average=1000 B"), String(first))
        let info = try CLI.run(["info", files[1]])
        XCTAssertTrue(info.stdout.contains("  \(stripped)  [main, no debug info (symbols only)]"), info.stdout)
    }

    // MARK: snap

    func testSnapMakesALiveProcessWriteASnapshot() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.program("cli_wait"))
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = TestPaths.library
        environment["HEAPSNAP_DIR"] = folder.path
        environment["HEAPSNAP_SIGNAL"] = nil
        process.environment = environment
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        // Wait for "<pid> ready".
        var seen = Data()
        while !seen.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        XCTAssertEqual(String(decoding: seen, as: UTF8.self), "\(process.processIdentifier) ready\n")

        let result = try CLI.run(["snap", String(process.processIdentifier)])
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = "\(folder.path)/cli_wait.\(process.processIdentifier).0001.heapsnap"
        XCTAssertEqual(result.stdout, expected + "\n")
        XCTAssertEqual(result.stderr, "")
        let document = try CLI.json(try CLI.run(["top", expected, "--format", "json"]))
        XCTAssertEqual(document[object: "snapshot"]?[string: "trigger"], "signal")
        let first = try XCTUnwrap(document[objects: "stats"]?.first)
        XCTAssertEqual(first[int: "size"], 21_000)
        XCTAssertEqual(first[int: "count"], 7)
        XCTAssertEqual(first[int: "line"], try ProgramSource.line("waiting", in: "cli_wait.c"))
        // A second snap gets the next file.
        XCTAssertEqual(try CLI.run(["snap", String(process.processIdentifier)]).stdout,
                       "\(folder.path)/cli_wait.\(process.processIdentifier).0002.heapsnap\n")
    }

    func testSnapOfAMissingOrUntracedProcess() throws {
        let finished = try runProcess("/bin/true")
        XCTAssertEqual(finished.status, 0)
        let pidMax = Int32((try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 32768
        let gone = try CLI.run(["snap", String(pidMax - 1)])
        XCTAssertEqual(gone.status, 1)
        XCTAssertEqual(gone.stdout, "")
        XCTAssertEqual(gone.stderr, "heapsnap: no process with pid \(pidMax - 1)\n")

        let me = ProcessInfo.processInfo.processIdentifier
        let untraced = try CLI.run(["snap", String(me)])
        XCTAssertEqual(untraced.status, 1)
        XCTAssertEqual(untraced.stdout, "")
        XCTAssertTrue(untraced.stderr.hasPrefix("heapsnap: process \(me) is not traced by heapsnap"), untraced.stderr)
        XCTAssertEqual(untraced.stderr.filter { $0 == "\n" }.count, 1)
    }

    func testLibPrintsTheTrackerPath() throws {
        let result = try CLI.run(["lib"], environment: ["HEAPSNAP_LIB": TestPaths.library])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, TestPaths.library + "\n")
        let missing = try CLI.run(["lib"], environment: ["HEAPSNAP_LIB": folder.path + "/none.so"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertTrue(missing.stderr.hasPrefix("heapsnap: \(folder.path)/none.so: "), missing.stderr)
    }
}
