// The symbolization budget: 20,000 distinct frames across 30 modules in under 2 seconds.
import HeapSnap
import XCTest

final class SymbolizationSpeedTests: XCTestCase {
    func testTwentyThousandFramesAcrossThirtyModules() throws {
        let libraries = SymbolizationBenchmark.defaultLibraries(count: 30)
        XCTAssertEqual(libraries.count, 30)
        let result = try SymbolizationBenchmark.run(libraries: libraries, distinctAddresses: 20_000)
        print("symbolization: \(result)")
        XCTAssertEqual(result.distinctAddresses, 20_000)
        XCTAssertGreaterThan(result.withLines, 1000, "libc's separate debug info must be found")
        XCTAssertLessThan(result.seconds, 2.0)
    }
}
