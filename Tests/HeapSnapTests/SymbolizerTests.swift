// The symbolizer on real binaries built by `make programs`: file:line, inline chains, fallbacks.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class SymbolizerTests: XCTestCase {
    func testCProgramLinesAndInlineChain() throws {
        let program = try TestPaths.program("analysis_c_sites")
        let report = try ProgramReport(program: program, output: try runProcess(program).stdout)
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
        let report = try ProgramReport(program: program, output: try runProcess(program).stdout)
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

final class SwiftSymbolizerTests: XCTestCase {
    /// swiftc emits no .debug_aranges: the CU is found from the DIEs' own ranges.
    func testSwiftLinesWithoutAranges() throws {
        let program = try TestPaths.program("analysis_swift_sites")
        let report = try ProgramReport(program: program, output: try runProcess(program).stdout)
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
        return (try ProgramReport(program: program, output: try runProcess(program).stdout), program)
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
}
