// Names for binaries without debug info, through the built heapsnap on real tracked programs: what a
// stripped program and library still have (.dynsym), MiniDebugInfo made the way Fedora makes it, debug
// info fetched from a real debuginfod server (Debian's, on a free port) and the line when it is down,
// `info` per module checked against nm, the footer that says how to get names, and libc6-dbg paths.
import Foundation
import TestSupport
import XCTest

final class StrippedNamesTests: XCTestCase {
    var folder: TemporaryDirectory!
    /// No debuginfod unless a test starts one: the machine's DEBUGINFOD_URLS must not reach the network.
    let noServer = ["DEBUGINFOD_URLS": ""]

    override func setUpWithError() throws {
        folder = try TemporaryDirectory()
    }

    // MARK: The variants

    /// names_alloc and its library copied into a folder of their own (the program dlopens the library
    /// from its own folder), optionally stripped.
    func copyProgram(into name: String, stripProgram: Bool, stripLibrary: Bool) throws -> (program: String, library: String) {
        let directory = folder.path + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let program = directory + "/names_alloc", library = directory + "/libnamesexport.so"
        try FileManager.default.copyItem(atPath: try TestPaths.program("names_alloc"), toPath: program)
        try FileManager.default.copyItem(atPath: try TestPaths.program("libnamesexport.so"), toPath: library)
        if stripProgram { try tool("/usr/bin/strip", [program]) }
        if stripLibrary { try tool("/usr/bin/strip", [library]) }
        return (program, library)
    }

    /// Runs `program` under `heapsnap run` and returns its exit snapshot.
    func exitSnapshot(of program: String, _ arguments: [String] = [], folder name: String = "snapshots") throws -> String {
        let directory = (program as NSString).deletingLastPathComponent + "/" + name
        let run = try CLI.run(["run", "--dir", directory, "--quiet", "--", program] + arguments, environment: noServer)
        XCTAssertEqual(run.status, 0, run.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".0001.heapsnap") }
        XCTAssertEqual(files.count, 1, "\(files)")
        return directory + "/" + (files.first ?? "missing")
    }

    @discardableResult
    func tool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let result = try runProcess(path, arguments, environment: environment, timeout: 60)
        XCTAssertEqual(result.status, 0, "\(path) \(arguments): \(result.stderr)")
        return result
    }

    /// Where `function`'s call of malloc returns to, by objdump's disassembly of the unstripped file:
    /// (the function's address, the return address), ELF addresses as the module offsets heapsnap prints.
    func mallocReturn(in file: String, function: String) throws -> (function: UInt64, returnAddress: UInt64) {
        let listing = try tool("/usr/bin/objdump", ["-d", "--no-show-raw-insn", file]).stdout
        let lines = listing.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasSuffix(" <\(function)>:") }),
              let address = UInt64(lines[start].split(separator: " ")[0], radix: 16) else {
            XCTFail("\(function) not in objdump of \(file)")
            throw CocoaError(.fileReadCorruptFile)
        }
        var index = start + 1
        while index + 1 < lines.count, !lines[index].isEmpty {
            if lines[index].contains("call") && lines[index].contains("<malloc@plt>") {
                let next = lines[index + 1].trimmingCharacters(in: .whitespaces)
                if let colon = next.firstIndex(of: ":"), let value = UInt64(next[..<colon], radix: 16) {
                    return (address, value)
                }
            }
            index += 1
        }
        XCTFail("no call of malloc in \(function) of \(file)")
        throw CocoaError(.fileReadCorruptFile)
    }

    func siteLines(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("#") }
    }

    func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    // MARK: Stripped: .dynsym is all that is left

    func testStrippedProgramAndLibraryKeepOnlyExportedNamesAndTheFooterSaysHowToGetNames() throws {
        let original = try (TestPaths.program("names_alloc"), TestPaths.program("libnamesexport.so"))
        let table = try mallocReturn(in: original.0, function: "fill_table")
        let exported = try mallocReturn(in: original.1, function: "names_exported_fill")
        let hidden = try mallocReturn(in: original.1, function: "hidden_fill")
        let copy = try copyProgram(into: "stripped", stripProgram: true, stripLibrary: true)
        let snapshot = try exitSnapshot(of: copy.program)

        let top = try CLI.run(["top", snapshot, "-n", "3"], environment: noServer)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(top.stderr, "")
        // The program exports no function: its static fill_table is an address. The library's exported
        // function keeps its name from .dynsym; its internal one is an address.
        // The program exports no function: its static fill_table is an address. The library's exported
        // function keeps its name from .dynsym; its internal one is an address.
        let locations = siteLines(top.stdout).map { line in
            line.range(of: #":\s+size="#, options: .regularExpression).map { String(line[..<$0.lowerBound]) } ?? line
        }
        XCTAssertEqual(locations, [
            "#1  names_alloc+\(hex(table.returnAddress))",
            "#2  names_exported_fill+\(hex(exported.returnAddress - exported.function)) (libnamesexport.so)",
            "#3  libnamesexport.so+\(hex(hidden.returnAddress))",
        ])
        XCTAssertEqual(siteLines(top.stdout).map { line in line.range(of: "size=").map { String(line[$0.lowerBound...]) } ?? "" }, [
            "size=46.9 KiB, count=16, average=3000 B", "size=39.1 KiB, count=8,  average=5000 B",
            "size=27.3 KiB, count=4,  average=7000 B",
        ])
        XCTAssertEqual(top.stdout.split(separator: "\n").last.map(String.init),
                       "note: sites in names_alloc, libnamesexport.so are bare addresses (stripped: no symbols or debug info for them); for names set DEBUGINFOD_URLS=https://debuginfod.debian.net")

        // info per module, checked against nm: no symbols in the program, the library's two exports.
        XCTAssertTrue(try runProcess("/usr/bin/nm", [copy.program]).stderr.contains("no symbols"))
        XCTAssertEqual(try definedFunctions(copy.library), ["names_exported_fill", "names_internal_fill"])
        let info = try CLI.run(["info", snapshot], environment: noServer)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.program)  [main, stripped: no symbols, no debug info]\n"), info.stdout)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.library)  [exported symbols only (2 functions in .dynsym, no file:line)]\n"), info.stdout)
        let document = try CLI.json(try CLI.run(["info", snapshot, "--format", "json"], environment: noServer))
        let modules = try XCTUnwrap(document[object: "snapshot"]?[objects: "modules"])
        let main = try XCTUnwrap(modules.first { $0[string: "path"] == copy.program })
        XCTAssertEqual(main[int: "function_symbols"], 0)
        XCTAssertEqual(main[string: "symbol_table"], "none")
        let library = try XCTUnwrap(modules.first { $0[string: "path"] == copy.library })
        XCTAssertEqual(library[int: "function_symbols"], 2)
        XCTAssertEqual(library[string: "symbol_table"], "dynsym")
        XCTAssertTrue(library[string: "debuginfod"] == nil && library["debuginfod"] is NSNull)
    }

    /// Defined function symbols of `file`'s dynamic symbol table, by nm.
    func definedFunctions(_ file: String) throws -> [String] {
        try tool("/usr/bin/nm", ["-D", "--defined-only", file]).stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            return parts.count == 3 && ["T", "t", "W", "i"].contains(parts[1]) ? String(parts[2]) : nil
        }.sorted()
    }

    /// diff prints the same footer under its differences.
    func testDiffOfTwoRunsOfAStrippedProgramSaysHowToGetNames() throws {
        let table = try mallocReturn(in: try TestPaths.program("names_alloc"), function: "fill_table")
        let copy = try copyProgram(into: "diff", stripProgram: true, stripLibrary: false)
        let old = try exitSnapshot(of: copy.program, ["8"], folder: "old")
        let new = try exitSnapshot(of: copy.program, ["16"], folder: "new")
        let diff = try CLI.run(["diff", old, new], environment: noServer)
        XCTAssertEqual(diff.status, 0, diff.stderr)
        XCTAssertEqual(siteLines(diff.stdout), ["#1  names_alloc+\(hex(table.returnAddress)): size=46.9 KiB (+23.4 KiB), count=16 (+8), average=3000 B"])
        XCTAssertEqual(diff.stdout.split(separator: "\n").last.map(String.init),
                       "note: sites in names_alloc are bare addresses (stripped: no symbols or debug info for them); for names set DEBUGINFOD_URLS=https://debuginfod.debian.net")
    }

    /// The HTML report, rendered by headless Chromium, says the same under its heading; a report whose
    /// sites all have names says nothing.
    func testReportPageSaysHowToGetNames() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("chromium is not installed (make test installs it)")
        }
        let driver = TestPaths.packageRoot.appendingPathComponent("Tests/Browser/report_driver.py").path
        for (name, stripped) in [("page-stripped", true), ("page-full", false)] {
            let copy = try copyProgram(into: name, stripProgram: stripped, stripLibrary: stripped)
            let snapshot = try exitSnapshot(of: copy.program)
            let page = folder.path + "/\(name).html"
            let report = try CLI.run(["report", snapshot, "-o", page], environment: noServer)
            XCTAssertEqual(report.status, 0, report.stderr)
            let shown = try runProcess("/usr/bin/python3", [driver, chromium, page, folder.path + "/\(name).png", ""],
                                       timeout: 120)
            XCTAssertEqual(shown.status, 0, shown.stderr)
            let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(result["errors"] as? [String], [], "no console errors")
            if stripped {
                XCTAssertEqual(result["names_note"] as? String,
                               "note: sites in names_alloc, libnamesexport.so are bare addresses (stripped: no symbols or debug info for them); for names set DEBUGINFOD_URLS=https://debuginfod.debian.net")
            } else {
                XCTAssertTrue(result["names_note"] is NSNull, "\(result["names_note"] ?? "missing")")
            }
        }
    }

    // MARK: MiniDebugInfo

    func testMiniDebugInfoNamesEveryFunctionOfAStrippedProgram() throws {
        let table = try mallocReturn(in: try TestPaths.program("names_alloc"), function: "fill_table")
        let copy = try copyProgram(into: "mini", stripProgram: false, stripLibrary: false)
        try makeMiniDebugInfo(copy.program)
        let sections = try tool("/usr/bin/readelf", ["-S", "--wide", copy.program]).stdout
        XCTAssertTrue(sections.contains(" .gnu_debugdata "), sections)
        XCTAssertFalse(sections.contains(" .symtab "), sections)
        XCTAssertFalse(sections.contains(" .debug_info "), sections)
        let snapshot = try exitSnapshot(of: copy.program)

        let top = try CLI.run(["top", snapshot, "-n", "1"], environment: noServer)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(siteLines(top.stdout),
                       ["#1  fill_table+\(hex(table.returnAddress - table.function)) (names_alloc): size=46.9 KiB, count=16, average=3000 B"])
        XCTAssertFalse(top.stdout.contains("note:"), "every shown site has a name: \(top.stdout)")
        let info = try CLI.run(["info", snapshot], environment: noServer)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.program)  [main, symbols only, from .gnu_debugdata (no file:line)]\n"), info.stdout)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.library)  [debug info]\n"), info.stdout)
    }

    /// MiniDebugInfo as Fedora's find-debuginfo makes it: the debug file's function symbols that
    /// .dynsym lacks, in an ELF of their own without debug sections, xz-compressed into .gnu_debugdata
    /// of the stripped file.
    func makeMiniDebugInfo(_ program: String) throws {
        // The work files go elsewhere: libdwfl would find "names_alloc.debug" beside the program.
        let scratch = folder.path + "/mini-work"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let debug = scratch + "/full.debug", mini = scratch + "/mini_debuginfo"
        try tool("/usr/bin/objcopy", ["--only-keep-debug", program, debug])
        let dynamic = Set(try tool("/usr/bin/nm", ["-D", "--format=posix", "--defined-only", program]).stdout
            .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        let functions = try tool("/usr/bin/nm", ["--format=posix", "--defined-only", debug]).stdout
            .split(separator: "\n").compactMap { line -> String? in
                let parts = line.split(separator: " ")
                return parts.count >= 2 && ["T", "t", "D"].contains(parts[1]) ? String(parts[0]) : nil
            }
        let keep = Set(functions).subtracting(dynamic).sorted()
        XCTAssertTrue(keep.contains("fill_table"), "\(keep)")
        let keepFile = scratch + "/keep_symbols"
        try (keep.joined(separator: "\n") + "\n").write(toFile: keepFile, atomically: true, encoding: .utf8)
        try tool("/usr/bin/objcopy", ["-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
                                      "--keep-symbols=\(keepFile)", debug, mini])
        try tool("/usr/bin/xz", ["--force", mini])
        try tool("/usr/bin/strip", ["--strip-all", "--remove-section", ".comment", program])
        try tool("/usr/bin/objcopy", ["--add-section", ".gnu_debugdata=\(mini).xz", program])
    }

    // MARK: debuginfod

    func testDebuginfodServesFileAndLineAndAServerThatIsDownIsOneLine() throws {
        guard FileManager.default.isExecutableFile(atPath: DebuginfodServer.executable) else {
            throw XCTSkip("Debian's debuginfod is not installed (make test installs the debuginfod package)")
        }
        let line = try ProgramSource.line("table", in: "names_alloc.c")
        let source = TestPaths.programSource("names_alloc.c")
        let table = try mallocReturn(in: try TestPaths.program("names_alloc"), function: "fill_table")
        let copy = try copyProgram(into: "served", stripProgram: false, stripLibrary: false)
        // The debug file goes only to the server's folder; the program is stripped without a
        // .gnu_debuglink, so nothing on this machine leads to it but debuginfod.
        let served = folder.path + "/served-debug"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        try tool("/usr/bin/objcopy", ["--only-keep-debug", copy.program, served + "/names_alloc.debug"])
        try tool("/usr/bin/strip", ["--strip-all", copy.program])
        let snapshot = try exitSnapshot(of: copy.program)

        let server = try DebuginfodServer(serving: served, workspace: folder.path + "/server", waitFor: copy.program)
        defer { server.stop() }
        XCTAssertEqual(server.listeningAddresses(), ["0000000000000000FFFF00000100007F"], "127.0.0.1 only")
        func environment(_ cache: String) -> [String: String] {
            ["DEBUGINFOD_URLS": server.url, "DEBUGINFOD_CACHE_PATH": folder.path + "/" + cache, "DEBUGINFOD_TIMEOUT": "10"]
        }
        let top = try CLI.run(["top", snapshot, "-n", "1"], directory: folder.path, environment: environment("cache"), timeout: 60)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(top.stderr, "")
        XCTAssertEqual(siteLines(top.stdout), ["#1  \(source):\(line) (fill_table): size=46.9 KiB, count=16, average=3000 B"])
        let info = try CLI.run(["info", snapshot], directory: folder.path, environment: environment("cache"), timeout: 60)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.program)  [main, debug info from debuginfod]\n"), info.stdout)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.library)  [debug info]\n"), info.stdout)
        let buildID = try XCTUnwrap(try CLI.json(try CLI.run(["info", snapshot, "--format", "json"], environment: noServer))[
            object: "snapshot"]?[objects: "modules"]?.first { $0[string: "path"] == copy.program }?[string: "build_id"])
        XCTAssertTrue(server.log().contains("GET /buildid/\(buildID)/debuginfo 200"), "served by the server: \(server.log())")

        // Down: a fresh cache, nothing listening. One line on stderr, the addresses on stdout, status 0.
        server.stop()
        let down = try CLI.run(["top", snapshot, "-n", "1"], directory: folder.path, environment: environment("cache-down"), timeout: 60)
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertTrue(down.stderr.hasPrefix("heapsnap: warning: debuginfod (DEBUGINFOD_URLS=\(server.url)) did not answer: Connection refused; "), down.stderr)
        XCTAssertTrue(down.stderr.hasSuffix(" without local debug info keep addresses\n"), down.stderr)
        XCTAssertEqual(down.stderr.filter { $0 == "\n" }.count, 1, down.stderr)
        XCTAssertEqual(siteLines(down.stdout), ["#1  names_alloc+\(hex(table.returnAddress)): size=46.9 KiB, count=16, average=3000 B"])
        XCTAssertEqual(down.stdout.split(separator: "\n").last.map(String.init),
                       "note: sites in names_alloc are bare addresses (stripped: no symbols or debug info for them); for names check DEBUGINFOD_URLS=\(server.url) (debuginfod: Connection refused)")
        let downInfo = try CLI.run(["info", snapshot], directory: folder.path, environment: environment("cache-down"), timeout: 60)
        XCTAssertTrue(downInfo.stdout.contains("\n  \(copy.program)  [main, stripped: no symbols, no debug info, debuginfod: Connection refused]\n"), downInfo.stdout)
    }

    /// A server that accepts connections and never answers: every module without local debug info
    /// ends with the client's timeout, the report still comes, and stderr has one line.
    func testDebuginfodServerThatNeverAnswersEndsInItsTimeout() throws {
        let copy = try copyProgram(into: "silent", stripProgram: true, stripLibrary: false)
        let snapshot = try exitSnapshot(of: copy.program)
        let silent = try SilentServer()
        defer { silent.close() }
        let environment = ["DEBUGINFOD_URLS": "http://127.0.0.1:\(silent.port)", "DEBUGINFOD_CACHE_PATH": folder.path + "/cache",
                           "DEBUGINFOD_TIMEOUT": "1", "DEBUGINFOD_RETRY_LIMIT": "0"]
        let top = try CLI.run(["top", snapshot, "-n", "1"], environment: environment, timeout: 120)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertTrue(top.stderr.hasPrefix("heapsnap: warning: debuginfod (DEBUGINFOD_URLS=http://127.0.0.1:\(silent.port)) did not answer: Timer expired; "), top.stderr)
        XCTAssertEqual(top.stderr.filter { $0 == "\n" }.count, 1, top.stderr)
        XCTAssertTrue(siteLines(top.stdout).first?.hasPrefix("#1  names_alloc+0x") == true, top.stdout)
        let info = try CLI.run(["info", snapshot], environment: environment, timeout: 120)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.program)  [main, stripped: no symbols, no debug info, debuginfod: Timer expired]\n"), info.stdout)
        XCTAssertTrue(info.stdout.contains("\n  \(copy.library)  [debug info]\n"), "found locally, never asked: \(info.stdout)")
    }

    // MARK: A real Debian binary

    func testDebiansStrippedMawkIsToldTruthfullyAndGetsItsDbgsymPackageNamed() throws {
        let mawk = "/usr/bin/mawk"
        guard FileManager.default.isExecutableFile(atPath: mawk) else { throw XCTSkip("no /usr/bin/mawk") }
        let owner = try tool("/usr/bin/dpkg-query", ["-S", mawk]).stdout
        XCTAssertEqual(owner, "mawk: /usr/bin/mawk\n")
        let directory = folder.path + "/mawk"
        let run = try CLI.run(["run", "--dir", directory, "--quiet", "--", mawk,
                               "BEGIN { for (i = 0; i < 5000; i++) a[i] = i \"x\"; print length(a) }"], environment: noServer)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "5000\n")
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: directory)
            .first { $0.hasSuffix(".0001.heapsnap") })
        let snapshot = directory + "/" + name
        let top = try CLI.run(["top", snapshot, "-n", "1"], environment: noServer)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertTrue(siteLines(top.stdout).first?.hasPrefix("#1  mawk+0x") == true, top.stdout)
        XCTAssertEqual(top.stdout.split(separator: "\n").last.map(String.init),
                       "note: sites in mawk are bare addresses (stripped: no symbols or debug info for them); for names install mawk-dbgsym (Debian's debug archive) or set DEBUGINFOD_URLS=https://debuginfod.debian.net")
        // What info says is what nm finds: no .symtab, and .dynsym's defined functions (none in bookworm).
        XCTAssertTrue(try runProcess("/usr/bin/nm", [mawk]).stderr.contains("no symbols"))
        let exported = try definedFunctions(mawk)
        let expected = exported.isEmpty ? "stripped: no symbols, no debug info"
            : "exported symbols only (\(exported.count) function\(exported.count == 1 ? "" : "s") in .dynsym, no file:line)"
        let info = try CLI.run(["info", snapshot], environment: noServer)
        XCTAssertTrue(info.stdout.contains("\n  \(mawk)  [main, \(expected)]\n"), info.stdout)
    }

    // MARK: libc6-dbg paths

    /// Debian builds glibc with a relative DW_AT_comp_dir ("./elf"); its line tables already name
    /// files under it. The loader's frames of the dlopen must read elf/dl-object.c, not elf/elf/dl-object.c.
    func testGlibcSourcePathsAreNotJoinedTwice() throws {
        let copy = try copyProgram(into: "full", stripProgram: false, stripLibrary: false)
        let snapshot = try exitSnapshot(of: copy.program)
        let report = try CLI.json(try CLI.run(["top", snapshot, "--by", "traceback", "-n", "100", "--format", "json"],
                                              environment: noServer))
        let frames = try XCTUnwrap(report[objects: "stats"]).flatMap { $0[objects: "traceback"] ?? [] }
        let places = Set(frames.compactMap { frame in
            frame[string: "file"].map { "\($0):\(frame[int: "line"] ?? 0) \(frame[string: "function"] ?? "")" }
        })
        XCTAssertTrue(places.contains("elf/dl-object.c:92 _dl_new_object"), "\(places.sorted())")
        XCTAssertTrue(places.contains("include/rtld-malloc.h:44 calloc"), "\(places.sorted())")
        XCTAssertTrue(places.contains("csu/libc-start.c:360 __libc_start_main_impl"), "\(places.sorted())")
        let doubled = places.filter { place in
            let parts = place.split(separator: "/")
            return parts.count > 2 && parts[0] == parts[1]
        }
        XCTAssertEqual(doubled, [], "a directory joined twice")
    }
}

/// Debian's debuginfod serving one folder on a free loopback port for the length of a test; its
/// database and log in `workspace`. debuginfod 0.188 has no option for the address it listens on (it
/// binds "::"), so Tests/Programs/libs/loopbackbind.c is preloaded into it to bind loopback instead.
final class DebuginfodServer {
    static let executable = "/usr/bin/debuginfod"
    let process = Process()
    let port: Int
    let logPath: String
    var url: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits (at most 60 s) until debuginfod-find gets `file`'s debug info from it.
    init(serving directory: String, workspace: String, waitFor file: String) throws {
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        logPath = workspace + "/debuginfod.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        port = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        // -F: scan ELF/DWARF files; -t 0 -g 0: no rescans or grooming; the database in the workspace.
        process.arguments = ["-F", "-d", workspace + "/debuginfod.sqlite", "-p", "\(port)", "-t", "0", "-g", "0",
                             "-c", "1", directory]
        var environment = ProcessInfo.processInfo.environment
        environment["DEBUGINFOD_URLS"] = nil  // no upstream federation
        environment["LD_PRELOAD"] = try TestPaths.program("libloopbackbind.so")
        process.environment = environment
        let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = logFile
        process.standardError = logFile
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var attempt = 0
        while true {
            guard process.isRunning else {
                throw NSError(domain: "heapsnap-tests", code: 2,
                              userInfo: [NSLocalizedDescriptionKey: "debuginfod exited: \(log())"])
            }
            attempt += 1
            // A fresh client cache each time: a miss is remembered by the client for ten minutes.
            let probe = try runProcess("/usr/bin/debuginfod-find", ["debuginfo", file], environment: [
                "DEBUGINFOD_URLS": url, "DEBUGINFOD_CACHE_PATH": workspace + "/probe-\(attempt)", "DEBUGINFOD_TIMEOUT": "5",
            ], timeout: 30)
            if probe.status == 0 { return }
            guard Date() < deadline else {
                stop()
                throw NSError(domain: "heapsnap-tests", code: 3,
                              userInfo: [NSLocalizedDescriptionKey: "debuginfod did not serve \(file) within 60 s: \(probe.stderr) \(log())"])
            }
            usleep(200_000)
        }
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The local addresses (hex, as /proc/net/tcp and tcp6 write them) of the sockets listening on the port.
    func listeningAddresses() -> [String] {
        let port = String(format: ":%04X", self.port)
        return ["/proc/net/tcp", "/proc/net/tcp6"].flatMap { table in
            ((try? String(contentsOfFile: table, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[1].hasSuffix(port), fields[3] == "0A" else { return nil }
                return String(fields[1].dropLast(port.count))
            }
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s; waits for it either way.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// A port nothing listens on now: bind 127.0.0.1:0 and ask the kernel which it gave.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A loopback socket that listens and never accepts: the kernel completes each connection, nothing
/// ever answers.
final class SilentServer {
    let socket: Int32
    let port: Int

    init() throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let descriptor = socket
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && listen(descriptor, 64) == 0
                    && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard ready else {
            Glibc.close(socket)
            throw POSIXError(.EADDRINUSE)
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(socket) }
}
