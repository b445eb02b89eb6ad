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
        XCTAssertTrue(stderr.hasPrefix("heapsnap: cli_alloc (pid \(pid)) exited with status 3; 4 snapshots in \(folder.path):\n"), stderr)
        XCTAssertTrue(stderr.contains("  cli_alloc.\(pid).peak.heapsnap\n"), stderr)
        // At exit: 30 kept blocks of 1000 B, 5 of 4096 B and stdio's two 4 KiB buffers; the peak
        // is that and one 777 B scratch block.
        XCTAssertTrue(stderr.contains("\nheapsnap: peak 58.1 KiB at 0.0 s; at exit 57.3 KiB\n"), stderr)
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

    func testRunOnlyTracksTheNamedProgramsAndSummarizesAChild() throws {
        let program = try TestPaths.program("cli_alloc")
        let script = "echo hi | \(program) 0; /bin/true"
        let result = try CLI.run(["run", "--dir", folder.path, "--only", "cli_alloc", "--", "/bin/sh", "-c", script],
                                 directory: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "cli_alloc: HI\n")
        let names = folder.files().map { URL(fileURLWithPath: $0).lastPathComponent }
        XCTAssertEqual(names.count, 3, "\(names)")
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("cli_alloc.") }, "sh and true stay dormant: \(names)")
        // the exit snapshot, its peak file (w11) and the others: all of one process (w9's summary)
        XCTAssertTrue(result.stderr.contains("from its child processes in \(folder.path)\nchild processes by peak traced memory:\n  cli_alloc  peak "), result.stderr)
        XCTAssertTrue(result.stderr.contains(" snapshots of 1 process, biggest cli_alloc."), result.stderr)
        XCTAssertTrue(result.stderr.contains("(keep_blocks): size=29.3 KiB, count=30, average=1000 B"), result.stderr)
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
        let peak = try CLI.run(["run", "--dir", folder.path, "--peak-step", "1K", "--", program],
                               directory: folder.path, stdin: "x\n")
        XCTAssertEqual(peak.status, 0, peak.stderr)
        // "heapsnap: cli_alloc (pid N) exited …"
        let pid = try XCTUnwrap(peak.stderr.split(separator: ")").first?.split(separator: " ").last)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder.path)/cli_alloc.\(pid).peak.heapsnap"), peak.stderr)
        XCTAssertTrue(peak.stderr.contains("  cli_alloc.\(pid).peak.heapsnap\n"), peak.stderr)
        // The summary is about the exit snapshot, not the peak one.
        XCTAssertTrue(peak.stderr.contains("lines of cli_alloc.\(pid).0003.heapsnap (exit at "), peak.stderr)
        let peakInfo = try CLI.json(try CLI.run(["info", "\(folder.path)/cli_alloc.\(pid).peak.heapsnap", "--format", "json"]))
        XCTAssertEqual(peakInfo[object: "snapshot"]?[string: "trigger"], "peak")

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

    func testTerminalGetsProgressAndColourPipesGetNeither() throws {
        let (_, files) = try runAlloc()
        let piped = try CLI.run(["top", files[1]])
        XCTAssertEqual(piped.stderr, "", "no progress when stderr is not a terminal")
        XCTAssertFalse(piped.stdout.contains("\u{1B}["), "no colour in a pipe")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("util-linux script(1) is needed to run heapsnap on a pseudo-terminal")
        }
        func onTerminal(_ environment: [String: String]) throws -> String {
            let command = "\(TestPaths.cli) top \(files[1]) -n 1"
            var env = environment
            env["HEAPSNAP_LIB"] = TestPaths.library
            env["TERM"] = "xterm"
            env["NO_COLOR"] = env["NO_COLOR"] ?? ""
            return try runProcess("/usr/bin/script", ["-qec", command, "/dev/null"], environment: env).stdout
        }
        let terminal = try onTerminal([:])
        XCTAssertTrue(terminal.contains("symbolizing \(URL(fileURLWithPath: files[1]).lastPathComponent): "), terminal)
        XCTAssertTrue(terminal.contains("\u{1B}[1;36m"), "colour on a terminal: \(terminal)")
        let noColor = try onTerminal(["NO_COLOR": "1"])
        XCTAssertTrue(noColor.contains("(keep_blocks)"), noColor)
        XCTAssertFalse(noColor.contains("\u{1B}[1;36m"), "NO_COLOR: \(noColor)")
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
        // The 20 blocks of 1000 B are all that changed (the scratch blocks are freed again).
        let growth = try XCTUnwrap(document[object: "total"]?[int: "size_diff"])
        XCTAssertEqual(growth, 20_000)
        XCTAssertEqual(document[object: "total"]?[int: "count_diff"], 20)
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

    /// `run --sample` gives sampled snapshots that every command reads, saying the figures are estimates.
    func testSampledSnapshotsWorkInEveryCommand() throws {
        let program = try TestPaths.program("cli_alloc")
        let run = try CLI.run(["run", "--dir", folder.path, "--sample", "2K", "--", program, "0"],
                              directory: folder.path, stdin: "x\n")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("(estimated, sampled every 2048 B)"), run.stderr)
        let files = folder.files()
        XCTAssertEqual(files.count, 3)
        let top = try CLI.json(try CLI.run(["top", files[2], "--format", "json"]))
        XCTAssertEqual(top["estimated"] as? Bool, true)
        XCTAssertEqual(top[string: "sampling"], "estimated, sampled every 2048 B")
        XCTAssertEqual(top[object: "snapshot"]?[object: "sampling"]?[int: "rate_bytes"], 2048)
        let diff = try CLI.run(["diff", files[0], files[1]])
        XCTAssertEqual(diff.status, 0, diff.stderr)
        XCTAssertTrue(diff.stdout.contains("(estimated, sampled every 2048 B)"), diff.stdout)
        let growth = try CLI.run(["growth"] + files)
        XCTAssertEqual(growth.status, 0, growth.stderr)
        XCTAssertTrue(growth.stdout.contains("(estimated, sampled every 2048 B)"), growth.stdout)
        let info = try CLI.run(["info", files[2]])
        XCTAssertTrue(info.stdout.contains("Sampling     estimated, sampled every 2048 B: every figure is an estimate"), info.stdout)
        // The JSON export keeps the sampling, and a diff of sampled against exact says both.
        let exported = folder.path + "/sampled.json"
        XCTAssertEqual(try CLI.run(["export", files[2], "--format", "json", "-o", exported]).status, 0)
        let reread = try CLI.json(try CLI.run(["top", exported, "--format", "json"]))
        XCTAssertEqual(reread[object: "snapshot"]?[object: "sampling"]?[int: "rate_bytes"], 2048)
        let exactRun = try CLI.run(["run", "--dir", folder.path, "--quiet", "--", program, "0"], directory: folder.path, stdin: "x\n")
        XCTAssertEqual(exactRun.status, 0, exactRun.stderr)
        let exact = try XCTUnwrap(folder.files().last { !files.contains($0) })
        let mixed = try CLI.run(["diff", exact, files[2]])
        XCTAssertTrue(mixed.stdout.contains("(estimated: exact vs sampled every 2048 B)"), mixed.stdout)
        let bad = try CLI.run(["run", "--sample", "0", "--", program])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--sample takes a byte count above 0"), bad.stderr)
    }

    func testCPlusPlusSitesAreTheUsersLinesWithDemangledNames() throws {
        let program = try TestPaths.program("cli_cpp")
        let cpp = TestPaths.programSource("cli_cpp.cpp")
        let run = try CLI.run(["run", "--dir", folder.path, "--quiet", "--", program])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "10 nodes\n")
        let snapshot = try XCTUnwrap(folder.files().first)
        let document = try CLI.json(try CLI.run(["top", snapshot, "--format", "json", "-n", "0"]))
        let stats = try XCTUnwrap(document[objects: "stats"])
        func entry(_ marker: String) throws -> [String: Any] {
            let line = try ProgramSource.line(marker, in: "cli_cpp.cpp")
            return try XCTUnwrap(stats.first { $0[string: "file"] == cpp && $0[int: "line"] == line }, marker)
        }
        let node = try entry("node")
        XCTAssertEqual(node[int: "size"], 480)
        XCTAssertEqual(node[int: "count"], 10)
        XCTAssertEqual(node[string: "function"], "registry::Registry::add_node(long)")
        let reserve = try entry("reserve")
        XCTAssertEqual(reserve[int: "size"], 80)
        XCTAssertEqual(reserve[int: "count"], 1)
        XCTAssertEqual(reserve[string: "function"], "registry::Registry::Registry()")
        let registry = try entry("registry")
        XCTAssertEqual(registry[int: "size"], 24)
        XCTAssertEqual(registry[string: "function"], "main")
        // The traceback still holds the plumbing frames above the site (std::make_unique's, in the header).
        let frames = try XCTUnwrap(node[objects: "traceback"])
        let siteIndex = try XCTUnwrap(frames.firstIndex { $0[int: "line"] == node[int: "line"] && $0[string: "file"] == cpp })
        XCTAssertEqual(siteIndex, 2, "operator new, then std::make_unique: \(frames)")
        XCTAssertEqual(frames[0][string: "function"], "operator new(unsigned long)")
        XCTAssertTrue((frames[1][string: "function"] ?? "").contains("std::make_unique<registry::Node"), "\(frames)")

        let byFunction = try CLI.run(["top", snapshot, "--by", "function", "-n", "0"], directory: folder.path)
        XCTAssertTrue(byFunction.stdout.contains("registry::Registry::add_node(long) (\(cpp)):"), byFunction.stdout)
    }

    func testInfoOfARealSnapshot() throws {
        let (_, files) = try runAlloc()
        let result = try CLI.run(["info", files[1]])
        XCTAssertEqual(result.status, 0, result.stderr)
        let program = try TestPaths.program("cli_alloc")
        XCTAssertTrue(result.stdout.contains("Program      \(program) 0\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("by heapsnap_snapshot() (#2)\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("  \(program)  [main, debug info]\n"), result.stdout)
        // No stack points into the tracker (its frames are removed), yet its file is examined: built with -g.
        let tracker = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasSuffix("libheapsnap.so  [debug info]") },
                                    result.stdout)
        XCTAssertTrue(tracker.hasPrefix("  /"))
        XCTAssertTrue(result.stdout.contains("  linux-vdso.so.1 vdso: no file to read\n"), result.stdout)
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
        XCTAssertTrue(info.stdout.contains("  \(stripped)  [main, stripped: no symbols, no debug info]"), info.stdout)
    }

    // MARK: snap

    /// cli_wait under the tracker with `environment`, started in `directory` and ready (its blocks
    /// allocated); it exits when `finish` closes its standard input.
    func waitingProgram(environment: [String: String], directory: String,
                        file: StaticString = #filePath, line: UInt = #line) throws -> LiveProgram {
        let program = try LiveProgram([try TestPaths.program("cli_wait")], environment: environment, directory: directory)
        program.assertReady(file: file, line: line)
        return program
    }

    func testSnapMakesALiveProcessWriteASnapshot() throws {
        let program = try waitingProgram(environment: ["HEAPSNAP_DIR": folder.path], directory: folder.path)
        defer { program.finish() }
        let result = try CLI.run(["snap", String(program.pid)])
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = "\(folder.path)/cli_wait.\(program.pid).0001.heapsnap"
        XCTAssertEqual(result.stdout, expected + "\n")
        XCTAssertEqual(result.stderr, "")
        let document = try CLI.json(try CLI.run(["top", expected, "--format", "json"]))
        XCTAssertEqual(document[object: "snapshot"]?[string: "trigger"], "snap")
        let first = try XCTUnwrap(document[objects: "stats"]?.first)
        XCTAssertEqual(first[int: "size"], 21_000)
        XCTAssertEqual(first[int: "count"], 7)
        XCTAssertEqual(first[int: "line"], try ProgramSource.line("waiting", in: "cli_wait.c"))
        // A second snap gets the next file.
        XCTAssertEqual(try CLI.run(["snap", String(program.pid)]).stdout,
                       "\(folder.path)/cli_wait.\(program.pid).0002.heapsnap\n")
    }

    func testSnapFollowsTheProcessSignalAndRelativeFolder() throws {
        let snaps = folder.path + "/snaps"
        try FileManager.default.createDirectory(atPath: snaps, withIntermediateDirectories: true)
        let program = try waitingProgram(
            environment: ["HEAPSNAP_DIR": "snaps", "HEAPSNAP_SIGNAL": "sigusr1"], directory: folder.path)
        defer { program.finish() }
        let result = try CLI.run(["snap", String(program.pid)])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "\(snaps)/cli_wait.\(program.pid).0001.heapsnap\n")
        // the other way: the process's own HEAPSNAP_SIGNAL, the file found in its relative folder
        let bySignal = try CLI.run(["snap", "--signal", String(program.pid)])
        XCTAssertEqual(bySignal.status, 0, bySignal.stderr)
        XCTAssertEqual(bySignal.stdout, "\(snaps)/cli_wait.\(program.pid).0002.heapsnap\n")
        let document = try CLI.json(try CLI.run(["info", "\(snaps)/cli_wait.\(program.pid).0002.heapsnap", "--format", "json"]))
        XCTAssertEqual(document[object: "snapshot"]?[string: "trigger"], "signal")
    }

    func testSnapOfADormantProcessSaysNotTrackingAndSendsNothing() throws {
        // the wrapper-script setup: the library is loaded everywhere, HEAPSNAP_ONLY names another program
        let program = try waitingProgram(
            environment: ["HEAPSNAP_DIR": folder.path, "HEAPSNAP_ONLY": "someone_else", "HEAPSNAP_SIGNAL": "USR2"],
            directory: folder.path)
        for arguments in [["snap", String(program.pid)], ["snap", "--signal", String(program.pid)]] {
            let result = try CLI.run(arguments)
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "heapsnap: process \(program.pid) is not tracking: libheapsnap.so is loaded but its tracker does not answer (HEAPSNAP_ONLY=someone_else likely leaves it dormant)\n")
        }
        XCTAssertTrue(program.process.isRunning, "snap must not harm a dormant process")
        program.finish()
        XCTAssertEqual(program.process.terminationReason, .exit)
        XCTAssertEqual(program.process.terminationStatus, 0)
        XCTAssertEqual(folder.files(), [])
    }

    func testSnapOfAProcessWithSnapshotsOnSignalTurnedOff() throws {
        let program = try waitingProgram(
            environment: ["HEAPSNAP_DIR": folder.path, "HEAPSNAP_SIGNAL": "none"], directory: folder.path)
        defer { program.finish() }
        // the control socket does not need a signal
        let result = try CLI.run(["snap", String(program.pid), "--timeout", "5"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "\(folder.path)/cli_wait.\(program.pid).0001.heapsnap\n")
        // asked for the signal way, nothing is sent to a process that would die of it
        let bySignal = try CLI.run(["snap", "--signal", String(program.pid), "--timeout", "1"])
        XCTAssertEqual(bySignal.status, 1)
        XCTAssertEqual(bySignal.stdout, "")
        XCTAssertEqual(bySignal.stderr, "heapsnap: process \(program.pid) catches no snapshot signal (HEAPSNAP_SIGNAL=none), so nothing was sent; without --signal heapsnap asks over the control socket\n")
        XCTAssertTrue(program.process.isRunning)
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
