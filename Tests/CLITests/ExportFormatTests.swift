// `heapsnap export --format pprof|folded` read back by real peers: go tool pprof (top, traces, diff_base,
// the -http UI), protoc --decode with profile.proto's schema, and the folded-stack line grammar.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class ExportFormatTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
    }

    /// cli_alloc's two API snapshots: 10 blocks of 1000 B and 5 of 4096 B, then 20 more of 1000 B.
    func snapshots() throws -> (first: String, second: String) {
        let program = try TestPaths.program("cli_alloc")
        let result = try CLI.run(["run", "--dir", folder.path, "--", program, "0"], directory: folder.path,
                                 stdin: "hello\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let files = folder.files().filter { $0.hasSuffix(".heapsnap") }
        XCTAssertEqual(files.count, 3)
        return (files[0], files[1])
    }

    func tool(_ name: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/lib/go/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("\(name) is not installed (make test installs it)")
    }

    func pprof(_ arguments: [String]) throws -> ProcessResult {
        let go = try tool("go")
        let result = try runProcess(go, ["tool", "pprof"] + arguments,
                                    environment: ["HOME": folder.path, "PPROF_TMPDIR": folder.path], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    func export(_ snapshot: String, _ arguments: [String]) throws -> String {
        let path = "\(folder.path)/\(URL(fileURLWithPath: snapshot).lastPathComponent).pb.gz"
        let result = try CLI.run(["export", snapshot, "--format", "pprof", "-o", path] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return path
    }

    /// pprof -top rows as (flat bytes, function name); the header's total.
    func topRows(_ output: String) -> (total: Int?, rows: [(flat: Int, name: String)]) {
        var total: Int?
        var rows: [(Int, String)] = []
        for line in output.split(separator: "\n") {
            // "Showing nodes accounting for 20000B, 51.72% of 38672B total": the shown nodes' sum.
            if line.hasPrefix("Showing nodes accounting for ") {
                let number = line.dropFirst("Showing nodes accounting for ".count).prefix { $0.isNumber || $0 == "-" }
                total = Int(number)
                continue
            }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[0].hasSuffix("B"), let flat = Int(fields[0].dropLast()) else { continue }
            rows.append((flat, fields[5...].joined(separator: " ")))
        }
        return (total, rows)
    }

    func testGoToolPprofTopEqualsHeapsnapTopByFunction() throws {
        let (_, second) = try snapshots()
        let profile = try export(second, [])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: profile))
        XCTAssertEqual(Array(bytes.prefix(2)), [0x1f, 0x8b], "gzip-compressed")

        let top = try CLI.json(try CLI.run(["top", "--by", "function", "-n", "0", "--format", "json", second]))
        let entries = try XCTUnwrap(top[objects: "stats"])
        let total = try XCTUnwrap(top[object: "total"]?[int: "size"])
        XCTAssertEqual(total, 10 * 1000 + 5 * 4096 + 20 * 1000 + 2 * 4096, "the blocks plus stdio's two buffers")

        let output = try pprof(["-top", "-sample_index=inuse_space", "-unit=B", "-nodefraction=0", "-nodecount=1000", profile])
        XCTAssertTrue(output.stdout.contains("Type: inuse_space"), output.stdout)
        let (pprofTotal, rows) = topRows(output.stdout)
        XCTAssertEqual(pprofTotal, total, output.stdout)
        // Every function heapsnap ranks has the same bytes as pprof's flat (the site is pprof's leaf),
        // in the same order.
        let flat = rows.filter { $0.flat > 0 }
        XCTAssertEqual(flat.map(\.name), entries.compactMap { $0[string: "function"] }, output.stdout)
        XCTAssertEqual(flat.map(\.flat), entries.compactMap { $0[int: "size"] }, output.stdout)
        XCTAssertEqual(flat.first?.name, "keep_blocks")
        XCTAssertEqual(flat.first?.flat, 30000)

        // The other sample types: live blocks, calls since the start.
        let objects = try pprof(["-top", "-sample_index=inuse_objects", "-nodefraction=0", profile]).stdout
        XCTAssertTrue(objects.contains("Showing nodes accounting for 37, 100% of 37 total"), objects)
        let calls = try pprof(["-top", "-sample_index=alloc_objects", "-nodefraction=0", profile]).stdout
        XCTAssertTrue(calls.contains("of 40 total"), "37 live and 3 scratch blocks freed: \(calls)")
        let scratchLine = calls.split(separator: "\n").first { $0.hasSuffix(" scratch") }
        XCTAssertEqual(scratchLine?.split(separator: " ").first, "3", calls)
    }

    func testGoToolPprofTracesAndLinesShowTheProgramsSites() throws {
        let (_, second) = try snapshots()
        let profile = try export(second, [])
        let blocks = try ProgramSource.line("blocks", in: "cli_alloc.c")
        let traces = try pprof(["-traces", "-sample_index=inuse_space", "-unit=B", profile]).stdout
        // keep_blocks is called from two lines of main: two stacks, 10 and 20 blocks of 1000 B.
        XCTAssertTrue(traces.contains("    10000B   keep_blocks\n             main\n"), traces)
        XCTAssertTrue(traces.contains("    20000B   keep_blocks\n             main\n"), traces)
        let lines = try pprof(["-top", "-lines", "-unit=B", "-nodefraction=0", profile]).stdout
        XCTAssertTrue(lines.contains("30000B") && lines.contains("keep_blocks \(TestPaths.programSource("cli_alloc.c")):\(blocks)"), lines)
    }

    func testGoToolPprofDiffBaseEqualsHeapsnapDiff() throws {
        let (first, second) = try snapshots()
        let old = try export(first, []), new = try export(second, [])
        let diff = try CLI.json(try CLI.run(["diff", "--by", "function", "-n", "0", "--format", "json", first, second]))
        let entries = try XCTUnwrap(diff[objects: "stats"])
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0][string: "function"], "keep_blocks")
        XCTAssertEqual(entries[0][int: "size_diff"], 20000)

        let output = try pprof(["-top", "-sample_index=inuse_space", "-unit=B", "-nodefraction=0", "-diff_base", old, new])
        let (total, rows) = topRows(output.stdout)
        XCTAssertEqual(total, diff[object: "total"]?[int: "size_diff"], output.stdout)
        XCTAssertEqual(rows.filter { $0.flat != 0 }.map(\.name), ["keep_blocks"], output.stdout)
        XCTAssertEqual(rows.first?.flat, 20000, output.stdout)
    }

    func testGoToolPprofWebUIServesTheProfile() throws {
        let (_, second) = try snapshots()
        let profile = try export(second, [])
        let go = try tool("go")
        let port = 20000 + Int(getpid() % 20000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: go)
        server.arguments = ["tool", "pprof", "-no_browser", "-http=127.0.0.1:\(port)", profile]
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = folder.path
        environment["PPROF_TMPDIR"] = folder.path
        server.environment = environment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var page = ""
        for _ in 0..<100 where !page.contains("keep_blocks") {
            Thread.sleep(forTimeInterval: 0.2)
            let fetched = try runProcess("/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(port)/ui/top?si=inuse_space"], timeout: 10)
            page = fetched.stdout
        }
        XCTAssertTrue(page.contains("keep_blocks"), "pprof -http serves the top table: \(page.prefix(300))")
    }

    func testProtocDecodesTheProfileAsProfileProto() throws {
        let protoc = try tool("protoc")
        let (_, second) = try snapshots()
        let profile = try export(second, [])
        let raw = "\(folder.path)/profile.pb"
        XCTAssertEqual(try runProcess("/bin/sh", ["-c", "gzip -dc '\(profile)' > '\(raw)'"]).status, 0)
        let schema = "\(folder.path)/profile.proto"
        try Self.profileSchema.write(toFile: schema, atomically: true, encoding: .utf8)
        let decoded = try runProcess("/bin/sh", ["-c", "'\(protoc)' --proto_path='\(folder.path)' --decode=pprofcheck.Profile profile.proto < '\(raw)'"],
                                     directory: folder.path)
        XCTAssertEqual(decoded.status, 0, decoded.stderr)
        let text = decoded.stdout
        let strings = text.split(separator: "\n").filter { $0.hasPrefix("string_table: ") }
            .map { String($0.dropFirst("string_table: ".count)) }
        XCTAssertEqual(strings.first, "\"\"", "string_table[0] is the empty string")
        func index(_ value: String) -> Int? { strings.firstIndex(of: "\"\(value)\"") }
        for name in ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space", "count", "bytes", "keep_blocks"] {
            XCTAssertNotNil(index(name), "\(name) in the string table")
        }
        XCTAssertTrue(text.contains("default_sample_type: \(index("inuse_space")!)"), text)
        // The main program's mapping carries its build-id and says it is symbolized.
        let info = try CLI.json(try CLI.run(["info", "--format", "json", second]))
        let main = try XCTUnwrap(info[object: "snapshot"]?[objects: "modules"]?.first { ($0["main_executable"] as? Bool) == true })
        let buildID = try XCTUnwrap(main[string: "build_id"])
        let mapping = try XCTUnwrap(text.components(separatedBy: "mapping {").dropFirst().first { $0.contains("build_id: \(index(buildID)!)\n") })
        XCTAssertTrue(mapping.contains("has_functions: true") && mapping.contains("has_filenames: true")
            && mapping.contains("has_line_numbers: true"), mapping)
        // keep_blocks' function record: its file and the line it is declared on.
        let source = try String(contentsOfFile: TestPaths.programSource("cli_alloc.c"), encoding: .utf8)
        let declared = try XCTUnwrap(source.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.hasPrefix("static void keep_blocks(") }) + 1
        let function = try XCTUnwrap(text.components(separatedBy: "function {").dropFirst()
            .first { $0.contains("  name: \(index("keep_blocks")!)\n") })
        XCTAssertTrue(function.contains("filename: \(index(TestPaths.programSource("cli_alloc.c"))!)"), function)
        XCTAssertTrue(function.contains("start_line: \(declared)"), function)
        // Every sample has the four values.
        // One sample for each stack that allocated (live or not).
        let samples = text.components(separatedBy: "sample {").dropFirst()
        let stacks = try Snapshot.load(path: second).traces.filter { $0.count > 0 || $0.totalAllocations > 0 || $0.size > 0 }
        XCTAssertEqual(samples.count, stacks.count)
        for sample in samples {
            XCTAssertEqual(sample.components(separatedBy: "value:").count - 1, 4, sample)
        }
    }

    /// An address with an inlined call is one location with two lines, the inlined callee first; frames
    /// above the site (strdup in libc) are left out unless --keep-plumbing.
    func testInlineChainsAreOneLocationAndPlumbingIsLeftOut() throws {
        let protoc = try tool("protoc")
        let inlined = Frame(module: Fixtures.program, function: "key_hash", file: "\(Fixtures.source)/cache.h",
                            line: 7, address: 0x5555_0000_2000, moduleOffset: 0x2000, isInlined: true, functionLine: 5)
        let caller = Frame(module: Fixtures.program, function: "cache_put", file: "\(Fixtures.source)/cache.c",
                           line: 90, address: 0x5555_0000_2000, moduleOffset: 0x2000, functionLine: 80)
        let snapshot = Snapshot(info: Fixtures.snapshot(index: 1).info, traces: [
            Trace(size: 320, count: 10, totalAllocations: 12, totalBytes: 384,
                  traceback: Traceback(frames: [Fixtures.mallocFrame, inlined, caller, Fixtures.main]))])
        let json = "\(folder.path)/inline.json"
        try snapshot.write(jsonTo: json)
        let schema = "\(folder.path)/profile.proto"
        try Self.profileSchema.write(toFile: schema, atomically: true, encoding: .utf8)
        func decode(_ arguments: [String]) throws -> String {
            let path = "\(folder.path)/inline.pb.gz"
            XCTAssertEqual(try CLI.run(["export", json, "--format", "pprof", "-o", path] + arguments).status, 0)
            let decoded = try runProcess("/bin/sh", ["-c", "gzip -dc inline.pb.gz | '\(protoc)' --decode=pprofcheck.Profile profile.proto"],
                                         directory: folder.path)
            XCTAssertEqual(decoded.status, 0, decoded.stderr)
            return decoded.stdout
        }
        let text = try decode([])
        let locations = text.components(separatedBy: "location {").dropFirst()
        XCTAssertEqual(locations.count, 2, "cache_put with key_hash inlined, and main: \(text)")
        let first = try XCTUnwrap(locations.first)
        XCTAssertEqual(first.components(separatedBy: "line {").count - 1, 2, first)
        XCTAssertTrue(first.contains("address: \(0x5555_0000_2000 - 1)"), first)
        let lineNumbers = first.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("line: ") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(lineNumbers, ["line: 7", "line: 90"], "the inlined callee's line first")
        XCTAssertTrue(text.contains("start_line: 5") && text.contains("start_line: 80"), text)
        XCTAssertTrue(text.contains("has_inline_frames: true"), text)
        XCTAssertFalse(text.contains("\"strdup\""), "the allocator frame above the site is left out")
        XCTAssertTrue(try decode(["--keep-plumbing"]).contains("\"strdup\""))
        // The values: alloc_objects, alloc_space, inuse_objects, inuse_space.
        let sample = try XCTUnwrap(text.components(separatedBy: "sample {").dropFirst().first)
        XCTAssertEqual(sample.split(separator: "\n").filter { $0.contains("value:") }.map { $0.trimmingCharacters(in: .whitespaces) },
                       ["value: 12", "value: 384", "value: 10", "value: 320"])
    }

    func testFoldedStacksSumToTheLiveBytesAndParse() throws {
        let (_, second) = try snapshots()
        let json = try CLI.json(try CLI.run(["export", second]))
        let traces = try XCTUnwrap(json[objects: "traces"])
        func sum(_ key: String) -> Int { traces.reduce(0) { $0 + ($1[int: key] ?? 0) } }
        let expected: [(String, Int)] = [
            ("live-bytes", 10 * 1000 + 5 * 4096 + 20 * 1000 + 2 * 4096), ("live-blocks", 37),
            ("calls", sum("total_allocations")), ("allocated-bytes", sum("total_bytes")),
        ]
        XCTAssertEqual(expected[2].1, 40)
        for (value, total) in expected {
            let result = try CLI.run(["export", second, "--format", "folded", "--value", value])
            XCTAssertEqual(result.status, 0, result.stderr)
            var seen = 0
            for line in result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                // "frame;frame;… NUMBER": frames are non-empty and hold no ';', the number is positive.
                guard let space = line.lastIndex(of: " "), let number = Int(line[line.index(after: space)...]),
                      number > 0 else { return XCTFail("unparsable line: \(line)") }
                let frames = line[..<space].split(separator: ";", omittingEmptySubsequences: false)
                XCTAssertFalse(frames.contains { $0.isEmpty }, String(line))
                seen += number
            }
            XCTAssertEqual(seen, total, "--value \(value): \(result.stdout)")
            XCTAssertTrue(result.stdout.hasSuffix("\n"))
        }
        let live = try CLI.run(["export", second, "--format", "folded"]).stdout
        XCTAssertTrue(live.hasPrefix("_start;__libc_start_main_impl;__libc_start_call_main;main;keep_blocks 30000\n"), live)
    }

    func testExportOptionsOfOtherFormatsAreUsageErrors() throws {
        let result = try CLI.run(["export", "x.heapsnap", "--value", "calls"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("--value applies to --format folded only"), result.stderr)
    }

    /// profile.proto's messages as far as this test reads them (field numbers from google/pprof).
    static let profileSchema = """
        syntax = "proto3";
        package pprofcheck;
        message Profile {
          repeated ValueType sample_type = 1;
          repeated Sample sample = 2;
          repeated Mapping mapping = 3;
          repeated Location location = 4;
          repeated Function function = 5;
          repeated string string_table = 6;
          int64 drop_frames = 7;
          int64 keep_frames = 8;
          int64 time_nanos = 9;
          int64 duration_nanos = 10;
          ValueType period_type = 11;
          int64 period = 12;
          repeated int64 comment = 13;
          int64 default_sample_type = 14;
        }
        message ValueType { int64 type = 1; int64 unit = 2; }
        message Sample { repeated uint64 location_id = 1; repeated int64 value = 2; repeated Label label = 3; }
        message Label { int64 key = 1; int64 str = 2; int64 num = 3; int64 num_unit = 4; }
        message Mapping {
          uint64 id = 1; uint64 memory_start = 2; uint64 memory_limit = 3; uint64 file_offset = 4;
          int64 filename = 5; int64 build_id = 6; bool has_functions = 7; bool has_filenames = 8;
          bool has_line_numbers = 9; bool has_inline_frames = 10;
        }
        message Location { uint64 id = 1; uint64 mapping_id = 2; uint64 address = 3; repeated Line line = 4; bool is_folded = 5; }
        message Line { uint64 function_id = 1; int64 line = 2; }
        message Function { uint64 id = 1; int64 name = 2; int64 system_name = 3; int64 filename = 4; int64 start_line = 5; }
        """
}
