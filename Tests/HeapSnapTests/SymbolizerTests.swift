// The symbolizer on real binaries built by `make programs`: file:line, inline chains, fallbacks.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SymbolizerTests: XCTestCase {
    func testCProgramLinesAndInlineChain() throws {
        let program = try TestPaths.program("analysis_c_sites")
        let report = try ProgramReport(running: program)
        let table = Symbolizer().symbolize(addresses: Array(report.marks.values), modules: [report.module])
        let source = TestPaths.programSource("analysis_c_sites.c")

        let plain = table.frames(for: report.marks["plain"]!)
        XCTAssertEqual(plain.count, 1)
        XCTAssertEqual(plain[0].file, source)
        XCTAssertEqual(plain[0].line, try sourceLine("MARK:plain", in: "analysis_c_sites.c"))
        XCTAssertEqual(plain[0].function, "main")
        XCTAssertFalse(plain[0].isInlined)
        XCTAssertEqual(plain[0].module, program)

        // The always_inline helper is a frame of its own, then main at the line that called it.
        let inlined = table.frames(for: report.marks["inline"]!)
        XCTAssertEqual(inlined.map(\.function), ["inline_mark", "main"])
        XCTAssertEqual(inlined.map(\.line), [try sourceLine("MARK:inline-body", in: "analysis_c_sites.c"),
                                             try sourceLine("MARK:inline-call", in: "analysis_c_sites.c")])
        XCTAssertEqual(inlined.map(\.isInlined), [true, false])
        XCTAssertEqual(inlined.map(\.file), [source, source])
        XCTAssertEqual(table.modules.count, 1)
        XCTAssertTrue(table.modules[0].hasDebugInfo)
        XCTAssertNil(table.modules[0].problem)
    }
}

final class CXXSiteTests: XCTestCase {
    /// Real C++ stacks (operator new, vector growth, make_unique, string) → the user's line is the site.
    func testSitesAreUserLinesNotLibstdcxxOrHeaders() throws {
        let program = try TestPaths.program("analysis_cpp_capture")
        let report = try ProgramReport(running: program)
        XCTAssertEqual(report.stacks.count, 6)
        let snapshot = try Snapshot(raw: report.rawSnapshot)
        let source = TestPaths.programSource("analysis_cpp_sites.cpp")
        let stats = snapshot.statistics(by: .line)
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_cpp_sites.cpp") }
        XCTAssertEqual(stats.map(\.site.file), Array(repeating: source, count: 4))
        XCTAssertEqual(stats.map(\.site.line), [try line("SITE:new"), try line("SITE:make_unique"),
                                                try line("SITE:string"), try line("SITE:vector")])
        XCTAssertEqual(stats.map(\.size), [144, 48, 47, 4])
        XCTAssertEqual(stats.map(\.count), [3, 1, 1, 1])
        XCTAssertEqual(stats.map(\.site.function), ["main", "main", "main", "main"])
        // Frames are never dropped: the vector's traceback still starts in operator new, then its internals.
        let vector = stats[3].traceback.frames
        XCTAssertEqual(vector.first?.function, "operator new(unsigned long)")
        XCTAssertTrue(vector.contains { $0.file?.hasPrefix("/usr/include/c++/") == true })
        // Without site rules the site is frame 0, in libstdc++.
        let raw = snapshot.statistics(by: .module, sites: .none)
        XCTAssertEqual(raw.first?.key.parts.first?.name.hasSuffix("libstdc++.so.6"), true)
        XCTAssertEqual(raw.first?.size, 243)
    }
}

final class OptimizedCXXSiteTests: XCTestCase {
    /// At -O2 the standard library is inlined into main: the sites come out of inline chains
    /// (push_back → emplace_back → _M_realloc_insert → ... all in /usr/include/c++) to the user's lines.
    func testSitesThroughInlineChainsAtO2() throws {
        let directory = try TemporaryDirectory()
        let program = directory.path + "/cpp_o2"
        let build = try runProcess("/usr/bin/g++", ["-g", "-O2", "-o", program,
                                                    TestPaths.programSource("analysis_cpp_capture.cpp")])
        XCTAssertEqual(build.status, 0, build.stderr)
        let report = try ProgramReport(running: program)
        let stats = try Snapshot(raw: report.rawSnapshot).statistics(by: .line)
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_cpp_sites.cpp") }
        XCTAssertEqual(stats.map(\.site.line), [try line("SITE:new"), try line("SITE:make_unique"),
                                                try line("SITE:string"), try line("SITE:vector")])
        XCTAssertEqual(stats.map(\.size), [144, 48, 47, 4])
        XCTAssertEqual(stats.map(\.site.function), ["main", "main", "main", "main"])
        let vector = stats[3].traceback.frames
        let site = SiteRules.default.siteIndex(in: stats[3].traceback)
        XCTAssertGreaterThanOrEqual(vector[..<site].filter(\.isInlined).count, 4, "\(vector.map(\.location))")
        XCTAssertTrue(vector[1..<site].allSatisfy { $0.file?.hasPrefix("/usr/include/c++/") == true })
    }
}

final class SwiftSymbolizerTests: XCTestCase {
    /// swiftc emits no .debug_aranges: the CU is found from the DIEs' own ranges.
    func testSwiftLinesWithoutAranges() throws {
        let program = try TestPaths.program("analysis_swift_sites")
        let report = try ProgramReport(running: program)
        let table = Symbolizer().symbolize(addresses: Array(report.marks.values), modules: [report.module])
        let source = TestPaths.programSource("analysis_swift_sites.swift")
        let caller = table.frames(for: report.marks["main"]!)
        XCTAssertEqual(caller.map(\.file), [source])
        XCTAssertEqual(caller.map(\.line), [try sourceLine("MARK:main", in: "analysis_swift_sites.swift")])
        XCTAssertEqual(caller.map(\.function), ["main"])
        let inside = table.frames(for: report.marks["inside-mark"]!)
        XCTAssertEqual(inside.map(\.file), [source])
        XCTAssertEqual(inside.map(\.line), [try sourceLine("MARK:inside-mark", in: "analysis_swift_sites.swift")])
        XCTAssertEqual(inside.map(\.function), ["analysis_swift_sites.mark(Swift.String) -> ()"])
    }
}

final class SymbolizerFallbackTests: XCTestCase {
    private func cProgramReport() throws -> (ProgramReport, String) {
        let program = try TestPaths.program("analysis_c_sites")
        return (try ProgramReport(running: program), program)
    }

    private func strippedCopy(of program: String, flag: String, in directory: TemporaryDirectory) throws -> String {
        let copy = directory.path + "/stripped"
        let result = try runProcess("/usr/bin/strip", [flag, "-o", copy, program])
        XCTAssertEqual(result.status, 0, result.stderr)
        return copy
    }

    func testNoDebugInfoFallsBackToSymbolPlusOffset() throws {
        let (report, program) = try cProgramReport()
        let directory = try TemporaryDirectory()
        var module = report.module
        module.path = try strippedCopy(of: program, flag: "--strip-debug", in: directory)
        let address = report.marks["plain"]!
        let table = Symbolizer().symbolize(addresses: [address], modules: [module])
        let frames = table.frames(for: address)
        XCTAssertEqual(frames.count, 1)
        XCTAssertNil(frames[0].file)
        XCTAssertEqual(frames[0].function, "main")
        XCTAssertEqual(frames[0].moduleOffset, address - module.loadBias)
        let symbolOffset = try XCTUnwrap(frames[0].symbolOffset)
        XCTAssertEqual(frames[0].location, "main+0x\(String(symbolOffset, radix: 16))")
        XCTAssertFalse(table.modules[0].hasDebugInfo)
    }

    func testNoSymbolsFallsBackToModulePlusOffset() throws {
        let (report, program) = try cProgramReport()
        let directory = try TemporaryDirectory()
        var module = report.module
        module.path = try strippedCopy(of: program, flag: "--strip-all", in: directory)
        let address = report.marks["plain"]!
        let frames = Symbolizer().symbolize(addresses: [address], modules: [module]).frames(for: address)
        XCTAssertEqual(frames.count, 1)
        XCTAssertNil(frames[0].file)
        XCTAssertNil(frames[0].function)
        XCTAssertEqual(frames[0].location, "stripped+0x\(String(address - module.loadBias, radix: 16))")
    }

    func testBuildIDMismatchIsReportedAndNotMisattributed() throws {
        let (report, _) = try cProgramReport()
        var module = report.module
        module.buildID = [0xde, 0xad, 0xbe, 0xef]
        let address = report.marks["plain"]!
        let table = Symbolizer().symbolize(addresses: [address], modules: [module])
        XCTAssertEqual(table.modules[0].problem, "file changed since the snapshot (build-id mismatch)")
        XCTAssertEqual(table.modules[0].buildID, "deadbeef")
        let frames = table.frames(for: address)
        XCTAssertEqual(frames.count, 1)
        XCTAssertNil(frames[0].file)
        XCTAssertNil(frames[0].function)
        XCTAssertEqual(frames[0].location, "analysis_c_sites+0x\(String(address - module.loadBias, radix: 16))")
    }

    func testMissingModuleAndUnmappedAddress() throws {
        let module = ModuleRecord(loadBias: 0x1000, path: "/nonexistent/libgone.so",
                                  segments: [.init(start: 0x1000, size: 0x1000, flags: 5)])
        let table = Symbolizer().symbolize(addresses: [0x1234, 0x9999], modules: [module])
        XCTAssertEqual(table.modules[0].problem, "not found")
        XCTAssertEqual(table.frames(for: 0x1234).map(\.location), ["libgone.so+0x234"])
        XCTAssertEqual(table.frames(for: 0x9999).map(\.location), ["?+0x9999"])
    }

    func testFilesThatAreNotELFAreReportedNotTrusted() throws {
        let directory = try TemporaryDirectory()
        let text = directory.path + "/libtext.so"
        try "not an ELF file\n".write(toFile: text, atomically: true, encoding: .utf8)
        let truncated = directory.path + "/libcut.so"
        let libc = try Data(contentsOf: URL(fileURLWithPath: "/lib/x86_64-linux-gnu/libc.so.6"))
        try libc.prefix(200).write(to: URL(fileURLWithPath: truncated))
        let modules = [text, directory.path, truncated].enumerated().map { index, path in
            ModuleRecord(loadBias: UInt64(index + 1) << 32, path: path,
                         segments: [.init(start: UInt64(index + 1) << 32, size: 0x1000, flags: 5)])
        }
        let addresses = modules.map { $0.loadBias + 0x10 }
        let table = Symbolizer().symbolize(addresses: addresses, modules: modules)
        for (module, info) in zip(modules, table.modules) {
            let problem = try XCTUnwrap(info.problem, module.path)
            XCTAssertTrue(problem.hasPrefix("cannot open as ELF"), problem)
            XCTAssertFalse(problem.contains("\n"))
        }
        XCTAssertEqual(addresses.map { table.frames(for: $0).map(\.location) },
                       [["libtext.so+0x10"], [(directory.path as NSString).lastPathComponent + "+0x10"], ["libcut.so+0x10"]])
    }
}

final class SeparateDebugInfoTests: XCTestCase {
    private func run(_ tool: String, _ arguments: [String]) throws {
        let result = try runProcess(tool, arguments)
        XCTAssertEqual(result.status, 0, "\(tool) \(arguments): \(result.stderr)")
    }

    /// A stripped copy of analysis_c_sites and its debug info split off into `debugFile`.
    private func splitCopy(in directory: TemporaryDirectory, debugFile: String) throws -> (ProgramReport, ModuleRecord) {
        let program = try TestPaths.program("analysis_c_sites")
        let report = try ProgramReport(running: program)
        let copy = directory.path + "/prog"
        try run("/usr/bin/objcopy", ["--only-keep-debug", program, debugFile])
        try run("/usr/bin/strip", ["--strip-debug", "-o", copy, program])
        var module = report.module
        module.path = copy
        return (report, module)
    }

    private func assertLines(_ table: SymbolTable, _ report: ProgramReport, line: UInt = #line) throws {
        let frames = table.frames(for: report.marks["plain"]!)
        XCTAssertEqual(frames.map(\.file), [TestPaths.programSource("analysis_c_sites.c")], line: line)
        XCTAssertEqual(frames.map(\.line), [try sourceLine("MARK:plain", in: "analysis_c_sites.c")], line: line)
        XCTAssertEqual(table.frames(for: report.marks["inline"]!).map(\.function), ["inline_mark", "main"], line: line)
        XCTAssertTrue(table.modules[0].hasDebugInfo, line: line)
    }

    func testDebugLinkNextToTheFile() throws {
        let directory = try TemporaryDirectory()
        // Named unlike "prog.debug", which libdwfl would try without any link.
        let (report, module) = try splitCopy(in: directory, debugFile: directory.path + "/separate.dbg")
        // Without the link the copy has no DWARF: the symbol only.
        let before = Symbolizer().symbolize(addresses: [report.marks["plain"]!], modules: [module])
        XCTAssertNil(before.frames(for: report.marks["plain"]!).first?.file)
        try run("/usr/bin/objcopy", ["--add-gnu-debuglink=" + directory.path + "/separate.dbg", module.path])
        let table = Symbolizer().symbolize(addresses: Array(report.marks.values), modules: [module])
        try assertLines(table, report)
    }

    func testBuildIDInADebugDirectory() throws {
        let directory = try TemporaryDirectory()
        let buildID = try XCTUnwrap(buildIDOf(try TestPaths.program("analysis_c_sites")))
        let folder = directory.path + "/debug/.build-id/" + String(buildID.prefix(2))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (report, module) = try splitCopy(in: directory, debugFile: folder + "/" + buildID.dropFirst(2) + ".debug")
        let withoutPath = Symbolizer().symbolize(addresses: [report.marks["plain"]!], modules: [module])
        XCTAssertNil(withoutPath.frames(for: report.marks["plain"]!).first?.file)
        let symbolizer = Symbolizer(options: .init(debugInfoPath: directory.path + "/debug"))
        let table = symbolizer.symbolize(addresses: Array(report.marks.values), modules: [module])
        try assertLines(table, report)
    }

    private func buildIDOf(_ path: String) throws -> String? {
        let output = try runProcess("/usr/bin/readelf", ["-n", path]).stdout
        guard let range = output.range(of: "Build ID: ") else { return nil }
        return String(output[range.upperBound...].prefix { $0.isHexDigit })
    }
}

final class PathSubstitutionTests: XCTestCase {
    /// A snapshot taken where the program lived at /build/bin/prog, symbolized where it lives elsewhere.
    func testModulesAreFoundUnderASubstitutedPrefix() throws {
        let program = try TestPaths.program("analysis_c_sites")
        let report = try ProgramReport(running: program)
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/root/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: program, toPath: directory.path + "/root/bin/prog")
        var module = report.module
        module.path = "/build/bin/prog"
        let address = report.marks["plain"]!

        let missing = Symbolizer().symbolize(addresses: [address], modules: [module])
        XCTAssertEqual(missing.modules[0].problem, "not found")

        let options = Symbolizer.Options(pathSubstitutions: [
            try XCTUnwrap(Symbolizer.PathSubstitution("/elsewhere=/nowhere")),
            try XCTUnwrap(Symbolizer.PathSubstitution("/build=" + directory.path + "/root")),
        ])
        let table = Symbolizer(options: options).symbolize(addresses: [address], modules: [module])
        XCTAssertNil(table.modules[0].problem)
        let frames = table.frames(for: address)
        XCTAssertEqual(frames.map(\.line), [try sourceLine("MARK:plain", in: "analysis_c_sites.c")])
        XCTAssertEqual(frames.map(\.module), ["/build/bin/prog"], "frames keep the recorded path")

        let wrong = Symbolizer(options: .init(pathSubstitutions: [.init(from: "/build", to: "/nowhere")]))
        XCTAssertEqual(wrong.symbolize(addresses: [address], modules: [module]).modules[0].problem,
                       "not found (looked for at /nowhere/bin/prog)")
        XCTAssertNil(Symbolizer.PathSubstitution("no-equals-sign"))
        XCTAssertNil(Symbolizer.PathSubstitution("=/x"))
    }
}

final class ClangSymbolizerTests: XCTestCase {
    /// clang emits no .debug_aranges either: the same C program built by clang resolves the same way,
    /// inline chain included.
    func testClangBuiltCProgram() throws {
        let clang = ["/opt/swift/usr/bin/clang", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let clang else { throw XCTSkip("no clang") }
        let directory = try TemporaryDirectory()
        let program = directory.path + "/clang_sites"
        let source = TestPaths.programSource("analysis_c_sites.c")
        let build = try runProcess(clang, ["-g", "-O0", "-o", program, source, "-ldl"])
        XCTAssertEqual(build.status, 0, build.stderr)
        let sections = try runProcess("/usr/bin/readelf", ["-S", program]).stdout
        XCTAssertFalse(sections.contains(".debug_aranges"), "the fallback is what this test is about")
        let report = try ProgramReport(running: program)
        let table = Symbolizer().symbolize(addresses: Array(report.marks.values), modules: [report.module])
        XCTAssertEqual(table.frames(for: report.marks["plain"]!).map(\.location),
                       ["\(source):\(try sourceLine("MARK:plain", in: "analysis_c_sites.c"))"])
        let inlined = table.frames(for: report.marks["inline"]!)
        XCTAssertEqual(inlined.map(\.function), ["inline_mark", "main"])
        XCTAssertEqual(inlined.map(\.line), [try sourceLine("MARK:inline-body", in: "analysis_c_sites.c"),
                                             try sourceLine("MARK:inline-call", in: "analysis_c_sites.c")])
    }
}
