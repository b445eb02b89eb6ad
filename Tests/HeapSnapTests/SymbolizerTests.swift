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
        let program = try TestPaths.program("analysis_cpp_sites")
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
