// The options of top, diff, growth and run that no other test runs through the built executable, each
// on a real test program whose exact numbers are known: --cumulative, --by module, --traceback-limit,
// --domain, --include-module, --skip-module, --skip-file, --color, run --interval and run --traces.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class ReportOptionTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    /// Runs a test program under `heapsnap run --quiet` with `options` and returns its numbered snapshots.
    func run(_ program: String, _ arguments: [String] = [], options: [String] = [], stdin: String? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let result = try CLI.run(["run", "--dir", folder.path, "--quiet"] + options + ["--", try TestPaths.program(program)] + arguments,
                                 directory: folder.path, stdin: stdin, timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr, "", file: file, line: line)
        return folder.files()
    }

    /// `heapsnap ARGS --format json`'s entries as "key size count" strings, key built by `key`.
    func entries(_ arguments: [String], key: ([String: Any]) -> String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let result = try CLI.run(arguments + ["--format", "json", "-n", "0"])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return (try CLI.json(result, file: file, line: line)[objects: "stats"] ?? []).map {
            "\(key($0)) \($0[int: "size_diff"] ?? $0[int: "size"] ?? -1) \($0[int: "count_diff"] ?? $0[int: "count"] ?? -1)"
        }
    }

    func function(_ entry: [String: Any]) -> String { entry[string: "function"] ?? "?" }

    func testCumulativeCreditsEveryFrame() throws {
        let files = try run("cli_alloc", ["0"], stdin: "x\n")
        XCTAssertEqual(files.count, 3)
        // Snapshot 2: 30 blocks of 1000 B (keep_blocks), 5 of 4096 B (keep_tables), and stdio's two
        // 4096 B buffers whose site is main; everything is below main.
        let own = try entries(["top", files[1], "--by", "function"], key: function)
        XCTAssertEqual(own, ["keep_blocks 30000 30", "keep_tables 20480 5", "main 8192 2"])
        let cumulative = try entries(["top", files[1], "--by", "function", "--cumulative"], key: function)
        XCTAssertEqual(Array(cumulative.prefix(1)), ["main 58672 37"])
        XCTAssertTrue(cumulative.contains("keep_blocks 30000 30"), "\(cumulative)")
        XCTAssertTrue(cumulative.contains("keep_tables 20480 5"), "\(cumulative)")
        // The libc frames of the stdio buffers are credited too, only cumulatively.
        XCTAssertTrue(cumulative.contains { $0.hasSuffix(" 8192 2") && $0.contains("_IO_file_doallocate") }, "\(cumulative)")
        XCTAssertFalse(own.contains { $0.contains("_IO_") })
        // diff --cumulative: main's total grew by the 20 blocks of keep_blocks.
        let diff = try entries(["diff", files[0], files[1], "--by", "function", "--cumulative"], key: function)
        XCTAssertEqual(Array(diff.prefix(1)), ["main 20000 20"])
        XCTAssertTrue(diff.contains("keep_blocks 20000 20"), "\(diff)")
        XCTAssertEqual(try CLI.run(["top", files[1], "--by", "traceback", "--cumulative"]).status, 64)
    }

    func testByModuleSumsEachModulesSites() throws {
        let files = try run("cli_alloc", ["0"], stdin: "x\n")
        let program = try TestPaths.program("cli_alloc")
        func module(_ entry: [String: Any]) -> String { URL(fileURLWithPath: entry[string: "module"] ?? "?").lastPathComponent }
        // Four sites of cli_alloc (keep_blocks, keep_tables, main's fgets and printf) are one module.
        XCTAssertEqual(try entries(["top", files[1]], key: module).count, 4)
        XCTAssertEqual(try entries(["top", files[1], "--by", "module"], key: module), ["cli_alloc 58672 37"])
        let document = try CLI.json(try CLI.run(["top", files[1], "--by", "module", "--format", "json"]))
        XCTAssertEqual(document[objects: "stats"]?.first?[string: "module"], program)
        // Without the built-in rules the stdio buffers' site is in libc: two modules.
        XCTAssertEqual(try entries(["top", files[1], "--by", "module", "--no-builtin-plumbing"], key: module),
                       ["cli_alloc 50480 35", "libc.so.6 8192 2"])
        XCTAssertEqual(try entries(["diff", files[0], files[1], "--by", "module"], key: module), ["cli_alloc 20000 20"])
    }

    func testModuleOptionsOnALibraryThatAllocates() throws {
        // analysis_wrapped: 3 x 4000 B allocated inside libwrapalloc.so, and ld.so's work loading it,
        // whose site is main's dlopen line.
        let files = try run("analysis_wrapped")
        XCTAssertEqual(files.count, 2)
        let live = files[0]
        let library = try TestPaths.program("libwrapalloc.so")
        let program = try TestPaths.program("analysis_wrapped")
        let document = try CLI.json(try CLI.run(["top", live, "--format", "json"]))
        let total = try XCTUnwrap(document[object: "total"])
        let (size, count) = (try XCTUnwrap(total[int: "size"]), try XCTUnwrap(total[int: "count"]))

        let modules = try entries(["top", live, "--by", "module"]) { $0[string: "module"] ?? "?" }
        XCTAssertEqual(modules, ["\(library) 12000 3", "\(program) \(size - 12000) \(count - 3)"])
        // Cumulative: each module once per trace. Every trace passes through main and libc's start code;
        // the loader's through ld.so, the buffers' through the library.
        func module(_ entry: [String: Any]) -> String { URL(fileURLWithPath: entry[string: "module"] ?? "?").lastPathComponent }
        XCTAssertEqual(Set(try entries(["top", live, "--by", "module", "--cumulative"], key: module)),
                       ["analysis_wrapped \(size) \(count)", "libc.so.6 \(size) \(count)", "libwrapalloc.so 12000 3",
                        "ld-linux-x86-64.so.2 \(size - 12000) \(count - 3)"])

        let libraryLine = try ProgramSource.line(containing: "// SITE:raw", in: "libs/wrapalloc.c")
        func place(_ entry: [String: Any]) -> String {
            "\(URL(fileURLWithPath: entry[string: "file"] ?? "?").lastPathComponent):\(entry[int: "line"] ?? 0)"
        }
        XCTAssertEqual(try entries(["top", live, "--include-module", "libwrapalloc*"], key: place),
                       ["wrapalloc.c:\(libraryLine) 12000 3"])
        XCTAssertEqual(try entries(["top", live, "--include-module", library], key: place),
                       ["wrapalloc.c:\(libraryLine) 12000 3"], "a full path matches too")
        XCTAssertFalse(try entries(["top", live, "--include-module", "analysis_wrapped"], key: place).contains { $0.hasPrefix("wrapalloc.c") })

        // The library as plumbing, by module or by its source file: the site is main's call.
        let call = try ProgramSource.line(containing: "// SITE:call", in: "analysis_wrapped.c")
        for option in [["--skip-module", "libwrapalloc.so"], ["--skip-file", "*/libs/wrapalloc.c"]] {
            let sites = try entries(["top", live] + option, key: place)
            XCTAssertEqual(sites.first, "analysis_wrapped.c:\(call) 12000 3", "\(option)")
            XCTAssertFalse(sites.contains { $0.hasPrefix("wrapalloc.c") }, "\(option): \(sites)")
        }
        // A pattern that matches nothing changes nothing.
        XCTAssertEqual(try entries(["top", live, "--skip-file", "*/nothing.c"], key: place).first,
                       "wrapalloc.c:\(libraryLine) 12000 3")
    }

    func testDomainKeepsOnlyThatDomain() throws {
        // track_domains: a pool allocator reports 5 blocks of 100 B in domain 7 and untracks 2.
        let path = folder.path + "/domains.heapsnap"
        _ = try run("track_domains", [path])
        let pool = try ProgramSource.line(containing: "CHECK(track(7, (uintptr_t)p, size) == 0);", in: "track_domains.c")
        func place(_ entry: [String: Any]) -> String { "\(function(entry)):\(entry[int: "line"] ?? 0)" }
        XCTAssertEqual(try entries(["top", path, "--domain", "7"], key: place), ["pool_alloc:\(pool) 300 3"])
        XCTAssertEqual(try entries(["top", path, "--domain", "0"], key: place), [], "no malloc block is live")
        XCTAssertEqual(try entries(["top", path, "--domain", "8"], key: place), [])
    }

    func testTracebackLimitShowsThatManyFrames() throws {
        let files = try run("cli_deep_stack", ["300"], options: ["--frames", "256"])
        func shown(_ limit: [String]) throws -> (frames: Int, text: String) {
            let result = try CLI.run(["top", files[0], "--by", "traceback", "-n", "1"] + limit)
            XCTAssertEqual(result.status, 0, result.stderr)
            return (result.stdout.split(separator: "\n").filter { $0.hasSuffix(" in descend") }.count, result.stdout)
        }
        XCTAssertEqual(try shown([]).frames, 256)
        let three = try shown(["--traceback-limit", "3"])
        XCTAssertEqual(three.frames, 3, three.text)
        XCTAssertTrue(three.text.contains(" 253 more callers\n"), three.text)
        XCTAssertEqual(try shown(["--traceback-limit", "1"]).frames, 1)
        XCTAssertEqual(try CLI.run(["top", files[0], "--by", "traceback", "--traceback-limit", "0"]).status, 64)
    }

    func testColorAlwaysAndNever() throws {
        let files = try run("cli_alloc", ["0"], stdin: "x\n")
        let source = TestPaths.programSource("cli_alloc.c")
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        // (Run in the snapshots' folder, so that paths outside it are shown whole.)
        let always = try CLI.run(["top", files[1], "-n", "1", "--color", "always"], directory: folder.path)
        XCTAssertEqual(always.status, 0, always.stderr)
        XCTAssertTrue(always.stdout.contains("\u{1B}[1;36m\(source):\(blocks) (keep_blocks):\u{1B}[0m"), always.stdout)
        let never = try CLI.run(["top", files[1], "-n", "1", "--color", "never"], directory: folder.path)
        XCTAssertFalse(never.stdout.contains("\u{1B}"), never.stdout)
        XCTAssertTrue(never.stdout.contains("#1  \(source):\(blocks) (keep_blocks):"), never.stdout)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("util-linux script(1) is needed to run heapsnap on a pseudo-terminal")
        }
        // never wins over a terminal, where auto would colour.
        let terminal = try runProcess("/usr/bin/script", ["-qec", "\(TestPaths.cli) top \(files[1]) -n 1 --color never", "/dev/null"],
                                      environment: ["HEAPSNAP_LIB": TestPaths.library, "TERM": "xterm", "NO_COLOR": ""])
        XCTAssertTrue(terminal.stdout.contains("(keep_blocks)"), terminal.stdout)
        XCTAssertFalse(terminal.stdout.contains("\u{1B}[1;36m"), terminal.stdout)
    }

    func testRunIntervalWritesTimedSnapshots() throws {
        // cli_interval keeps 7 x 3000 B and exits once the timer's first snapshot exists.
        let files = try run("cli_interval", options: ["--interval", "0.05"])
        XCTAssertGreaterThanOrEqual(files.count, 2)
        func trigger(_ path: String) throws -> String? {
            try CLI.json(try CLI.run(["info", path, "--format", "json"]))[object: "snapshot"]?[string: "trigger"]
        }
        XCTAssertTrue(files[0].hasSuffix(".0001.heapsnap"))
        XCTAssertEqual(try trigger(files[0]), "interval")
        XCTAssertEqual(try trigger(files[files.count - 1]), "exit")
        for middle in files.dropFirst().dropLast() { XCTAssertEqual(try trigger(middle), "interval") }
        let kept = try ProgramSource.line("kept", in: "cli_interval.c")
        XCTAssertEqual(try entries(["top", files[0]]) { "\(function($0)):\($0[int: "line"] ?? 0)" }, ["main:\(kept) 21000 7"])
    }

    func testRunTracesRecordsEveryLiveBlock() throws {
        let files = try run("cli_alloc", ["0"], options: ["--traces"], stdin: "x\n")
        XCTAssertEqual(files.count, 3)
        let snapshot = try RawSnapshot(contentsOf: files[1])
        XCTAssertTrue(snapshot.header.hasTraces)
        let blocks = try XCTUnwrap(snapshot.traces)
        // 30 x 1000 B, 5 x 4096 B and the two 4096 B stdio buffers, each at its own address.
        XCTAssertEqual(Dictionary(grouping: blocks, by: \.size).mapValues(\.count), [1000: 30, 4096: 7])
        XCTAssertEqual(Set(blocks.map(\.address)).count, 37)
        // Without --traces: no block list.
        folder = try TemporaryDirectory()
        let untraced = try RawSnapshot(contentsOf: try run("cli_alloc", ["0"], stdin: "x\n")[1])
        XCTAssertFalse(untraced.header.hasTraces)
        XCTAssertNil(untraced.traces)
    }
}
