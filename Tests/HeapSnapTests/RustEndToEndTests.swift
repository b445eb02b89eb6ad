// A Rust program under the tracker: sites past Rust's allocator plumbing, names from both mangling
// schemes (this crate legacy, std v0). Skipped where no Rust toolchain built the program.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class RustEndToEndTests: XCTestCase {
    func testRustSites() throws {
        guard FileManager.default.isExecutableFile(atPath: TestPaths.programs + "/analysis_rust_sites") else {
            throw XCTSkip("no Rust toolchain: analysis_rust_sites was not built")
        }
        let snapshot = try XCTUnwrap(try snapshotsOfTracedRun("analysis_rust_sites").first)
        let source = TestPaths.programSource("analysis_rust_sites.rs")
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_rust_sites.rs") }
        let stats = snapshot.statistics(by: .line)
        let describe = "\(stats.prefix(8).map(\.site.location))"

        let buffer = try XCTUnwrap(statistic(stats, source, try line("SITE:vec")), describe)
        XCTAssertEqual(buffer.size, 512 * 8)
        XCTAssertEqual(buffer.count, 1)
        XCTAssertEqual(buffer.site.function, "analysis_rust_sites::make_buffer")

        let boxes = try XCTUnwrap(statistic(stats, source, try line("SITE:box")), describe)
        XCTAssertEqual(boxes.size, 10 * 48)
        XCTAssertEqual(boxes.count, 10)
        XCTAssertEqual(boxes.site.function, "analysis_rust_sites::make_boxes")

        let strings = try XCTUnwrap(statistic(stats, source, try line("SITE:string")), describe)
        XCTAssertEqual(strings.count, 8)
        XCTAssertEqual(strings.site.function, "analysis_rust_sites::Registry::add")
        // Plumbing frames above the site are std's, demangled from v0 symbols.
        let plumbing = boxes.traceback.frames.prefix(SiteRules.default.siteIndex(in: boxes.traceback))
        XCTAssertFalse(plumbing.isEmpty)
        XCTAssertFalse(plumbing.contains { $0.function?.hasPrefix("_R") == true || $0.function?.hasPrefix("_ZN") == true },
                       "\(plumbing.map(\.function))")
    }
}
