// A real run of analysis_wrapped: 3 x 4000 bytes allocated three calls deep in a dlopen'ed "library"
// module (libwrapalloc.so), and ld.so's own allocations while loading it. The site decided once is the
// one grouping, filters and diff all see, also when every frame of a trace is plumbing.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class WrappedSiteTests: XCTestCase {
    private var library: String { TestPaths.programSource("libs/wrapalloc.c") }
    private var program: String { TestPaths.programSource("analysis_wrapped.c") }

    func testSitesBehindALibraryAndTheLoader() throws {
        let snapshots = try snapshotsOfTracedRun("analysis_wrapped")
        XCTAssertEqual(snapshots.count, 2, "one heapsnap_snapshot() and one at exit")
        let (live, atExit) = (snapshots[0], snapshots[1])
        let raw = try sourceLine("SITE:raw", in: "libs/wrapalloc.c")
        let call = try sourceLine("SITE:call", in: "analysis_wrapped.c")
        let dlopenLine = try sourceLine("SITE:dlopen", in: "analysis_wrapped.c")

        // Built-in rules: the library's innermost wrapper called malloc; ld.so's work is main's dlopen.
        let byLine = live.statistics(by: .line)
        let wrapped = try XCTUnwrap(statistic(byLine, library, raw))
        XCTAssertEqual(wrapped.size, 12000)
        XCTAssertEqual(wrapped.count, 3)
        XCTAssertEqual(wrapped.traceback.frames.prefix(4).map(\.function),
                       ["wrap_raw_alloc", "wrap_pool_grow", "wrap_make_buffer", "main"])
        // Everything else live is ld.so's work for main's dlopen.
        let loading = try XCTUnwrap(statistic(byLine, program, dlopenLine))
        XCTAssertEqual(byLine.count, 2, "\(byLine.map(\.site.location))")
        XCTAssertEqual(loading.size, live.size - 12000)
        XCTAssertEqual(loading.count, live.count - 3)

        // The library's three functions declared wrappers: the site is the line of main that called them.
        var wrappers = SiteRules.default
        wrappers.functionPatterns = ["wrap_*"]
        let called = try XCTUnwrap(statistic(live.statistics(by: .line, sites: wrappers), program, call))
        XCTAssertEqual(called.size, 12000)
        XCTAssertEqual(called.count, 3)
        var module = SiteRules.default
        module.modulePatterns = ["libwrapalloc.so"]
        XCTAssertEqual(statistic(live.statistics(by: .line, sites: module), program, call)?.size, 12000)

        // The program itself plumbing too: every frame of ld.so's traces is plumbing, and the site is
        // the frame that called into the allocator (_dl_new_object), not calloc in rtld-malloc.h.
        var allPlumbing = wrappers
        allPlumbing.modulePatterns = ["analysis_wrapped"]
        let byFunction = live.statistics(by: .function, sites: allPlumbing)
        let newObject = try XCTUnwrap(byFunction.first { $0.key.parts[0].name == "_dl_new_object" })
        XCTAssertEqual(newObject.count, 2, "the library's link_map (dl-object.c:92) and its name (:199)")
        let linkMap = try XCTUnwrap(live.statistics(by: .line, sites: allPlumbing).first {
            $0.site.file?.hasSuffix("dl-object.c") == true && $0.site.line == 92 })
        XCTAssertEqual(linkMap.count, 1, "one link_map for the one library loaded")
        XCTAssertEqual(linkMap.site.function, "_dl_new_object")
        XCTAssertEqual(linkMap.traceback.frames.first?.function, "calloc")
        XCTAssertFalse(byFunction.contains { ["calloc", "malloc"].contains($0.key.parts[0].name) },
                       byFunction.map(\.key.description).joined(separator: ", "))
        // The wrapped allocation stays with main's line: the user's wrappers are part of the allocator.
        XCTAssertEqual(statistic(live.statistics(by: .line, sites: allPlumbing), program, call)?.size, 12000)

        // Filters look at the same site.
        let kept = live.filtered([.function("_dl_new_object")], sites: allPlumbing)
        XCTAssertEqual(kept.traces.count, 2)
        XCTAssertEqual(kept.size, newObject.size)
        XCTAssertEqual(live.filtered([.function("calloc")], sites: allPlumbing).traces.count, 0)
        XCTAssertEqual(live.filtered([.file("*/analysis_wrapped.c", line: call)], sites: allPlumbing).size, 12000)

        // And so does diff: at exit the buffers are freed, the loaded library's link_map is still there.
        let diff = atExit.compare(to: live, by: .function, sites: allPlumbing)
        let mainDiff = try XCTUnwrap(diff.first { $0.key.parts[0].name == "main" })
        XCTAssertEqual(mainDiff.sizeDiff, -12000)
        XCTAssertEqual(mainDiff.countDiff, -3)
        let loaderDiff = try XCTUnwrap(diff.first { $0.key.parts[0].name == "_dl_new_object" })
        XCTAssertEqual(loaderDiff.sizeDiff, 0)
        XCTAssertEqual(loaderDiff.size, newObject.size)
    }
}
