// The symbolization workload of `make bench` (20,000 distinct frames across 30 modules), checked for
// what it resolves. How long it takes is the benchmark's business, never a test's: the machine is shared.
import Foundation
import HeapSnap
import XCTest

final class SymbolizationWorkloadTests: XCTestCase {
    func testTwentyThousandFramesAcrossThirtyModules() throws {
        let libraries = AnalysisWorkload.defaultLibraries(count: 30)
        XCTAssertEqual(libraries.count, 30)
        let result = try AnalysisWorkload.run(libraries: libraries, distinctAddresses: 20_000)
        XCTAssertEqual(result.modules, 30)
        XCTAssertEqual(result.distinctAddresses, 20_000)
        XCTAssertGreaterThan(result.withLines, 1000, "libc's separate debug info must be found")
    }
}

extension SymbolizationWorkloadTests {
    /// One big binary with DWARF (this test bundle in a debug build): inline scopes, line tables and the
    /// CU-range fallback for swiftc's missing .debug_aranges, split over threads.
    func testTwentyThousandFramesInOneDWARFHeavyBinary() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let result = try AnalysisWorkload.run(libraries: [executable], distinctAddresses: 20_000)
        XCTAssertEqual(result.distinctAddresses, 20_000)
        print("symbolization workload: \(result)")
        XCTAssertGreaterThan(result.withLines, 10_000, "a debug build's own DWARF gives most addresses a line")
    }
}

final class AnalysisScaleTests: XCTestCase {
    /// A small run of the large-snapshot workload, every step; HEAPSNAP_BENCH_FULL=1 runs the full size
    /// (100,000 stacks of 32 frames over 20,000 addresses in 30 modules) and prints the timings.
    func testAnalysisWorkloadRuns() throws {
        let full = ProcessInfo.processInfo.environment["HEAPSNAP_BENCH_FULL"] == "1"
        let timings = try full ? AnalysisWorkload.runAnalysis() : AnalysisWorkload.runAnalysis(
            libraries: AnalysisWorkload.defaultLibraries(count: 5), distinctAddresses: 2_000, stacks: 2_000,
            depth: 16)
        print("analysis: " + timings.map { "\($0.step) \(String(format: "%.3f", $0.seconds)) s" }.joined(separator: ", "))
        XCTAssertEqual(timings.map(\.step), [
            "load", "statistics by line", "statistics by traceback", "cumulative by line", "compare by line",
            "filter on all frames", "JSON export", "JSON import",
        ])
    }
}
