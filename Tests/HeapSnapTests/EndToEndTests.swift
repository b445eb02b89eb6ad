// Real programs under the tracker: the snapshot they write, loaded and symbolized, must name the exact
// file:line that allocated, with exact bytes and counts.
import Foundation
import HeapSnap
import TestSupport
import XCTest

/// Runs a test program under libheapsnap.so and loads the snapshots it wrote, in order.
func snapshotsOfTracedRun(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Snapshot] {
    let program = try TestPaths.program(name, file: file, line: line)
    let directory = try TemporaryDirectory()
    let result = try runProcess(program, environment: ["HEAPSNAP_DIR": directory.path], preload: true)
    XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
    let paths = directory.files().filter { !$0.contains(".peak.") }
    XCTAssertFalse(paths.isEmpty, "no snapshot written: \(result.stderr)", file: file, line: line)
    return try paths.map { try Snapshot.load(path: $0) }
}

/// The statistic whose site is `file`:`line`.
func statistic(_ stats: [Statistic], _ file: String, _ line: Int) -> Statistic? {
    stats.first { $0.site.file == file && $0.site.line == line }
}

final class EndToEndTests: XCTestCase {
    func testCSites() throws {
        let snapshot = try XCTUnwrap(try snapshotsOfTracedRun("analysis_c_sites").first)
        XCTAssertEqual(snapshot.info.trigger, .api)
        let source = TestPaths.programSource("analysis_c_sites.c")
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_c_sites.c") }
        let stats = snapshot.statistics(by: .line)

        let inlined = try XCTUnwrap(statistic(stats, source, try line("SITE:inline-body")))
        XCTAssertEqual(inlined.size, 5000)
        XCTAssertEqual(inlined.count, 5)
        XCTAssertEqual(inlined.site.function, "inline_alloc")
        XCTAssertTrue(inlined.site.isInlined)
        // The inlined helper's caller is the next frame of the same return address.
        let siteIndex = SiteRules.default.siteIndex(in: inlined.traceback)
        XCTAssertEqual(inlined.traceback.frames[siteIndex + 1].line, try line("SITE:inline-call"))
        XCTAssertEqual(inlined.traceback.frames[siteIndex + 1].function, "main")
        XCTAssertEqual(stats.first?.site.line, try line("SITE:inline-body"), "the largest site comes first")

        let plain = try XCTUnwrap(statistic(stats, source, try line("SITE:malloc")))
        XCTAssertEqual(plain.size, 1000)
        XCTAssertEqual(plain.count, 10)
        XCTAssertEqual(plain.site.function, "main")

        // strdup is libc plumbing: the site is the line that called it.
        let copy = try XCTUnwrap(statistic(stats, source, try line("SITE:strdup")))
        XCTAssertEqual(copy.size, UInt64("a string the strdup site keeps alive".utf8.count + 1))
        XCTAssertEqual(copy.count, 1)
        XCTAssertEqual(copy.traceback.frames.first?.moduleName.hasPrefix("libc.so"), true)

        let main = snapshot.info.modules.first { $0.isMainExecutable }
        XCTAssertEqual(main?.path, try TestPaths.program("analysis_c_sites"))
        XCTAssertEqual(main?.hasDebugInfo, true)
        XCTAssertNil(main?.problem)
        // The build-id binutils reads from the program's note.
        let notes = try runProcess("/usr/bin/readelf", ["-n", try TestPaths.program("analysis_c_sites")])
        let buildID = notes.stdout.split(separator: "\n").first { $0.contains("Build ID: ") }?
            .components(separatedBy: "Build ID: ").last
        XCTAssertEqual(main?.buildID, try XCTUnwrap(buildID, notes.stdout))
    }

    func testCXXSites() throws {
        let snapshot = try XCTUnwrap(try snapshotsOfTracedRun("analysis_cpp_sites").first)
        let source = TestPaths.programSource("analysis_cpp_sites.cpp")
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_cpp_sites.cpp") }
        let stats = snapshot.statistics(by: .line)
        let expected: [(String, UInt64, UInt64)] = [
            ("SITE:new", 144, 3), ("SITE:make_unique", 48, 1), ("SITE:string", 47, 1), ("SITE:vector", 4, 1),
        ]
        for (marker, size, count) in expected {
            let found = try XCTUnwrap(statistic(stats, source, try line(marker)), marker)
            XCTAssertEqual(found.size, size, marker)
            XCTAssertEqual(found.count, count, marker)
            XCTAssertEqual(found.site.function, "main", marker)
        }
    }

    func testSwiftSites() throws {
        let snapshot = try XCTUnwrap(try snapshotsOfTracedRun("analysis_swift_sites").first)
        let source = TestPaths.programSource("analysis_swift_sites.swift")
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_swift_sites.swift") }
        let stats = snapshot.statistics(by: .line)
        // Node: 16 bytes of object header, an Int and an optional reference.
        let nodes = try XCTUnwrap(statistic(stats, source, try line("SITE:class")), "\(stats.prefix(8).map(\.site.location))")
        XCTAssertEqual(nodes.count, 64)
        XCTAssertEqual(nodes.size, 64 * 32)
        XCTAssertEqual(nodes.site.function, "analysis_swift_sites.makeNode(Swift.Int) -> analysis_swift_sites.Node")
        let array = try XCTUnwrap(statistic(stats, source, try line("SITE:array")), "\(stats.prefix(8).map(\.site.location))")
        XCTAssertEqual(array.count, 1)
        // A [UInt8] buffer: 32 bytes of header, then the elements.
        XCTAssertEqual(array.size, 32 + 4000)
    }

    func testCompareRanksTheGrownSiteFirst() throws {
        let snapshots = try snapshotsOfTracedRun("analysis_growth")
        XCTAssertEqual(snapshots.count, 5, "four heapsnap_snapshot() and the exit snapshot")
        let source = TestPaths.programSource("analysis_growth.c")
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_growth.c") }
        let diff = snapshots[2].compare(to: snapshots[0], by: .line)
        XCTAssertEqual(diff.first?.site.file, source)
        XCTAssertEqual(diff.first?.site.line, try line("SITE:leak"))
        XCTAssertEqual(diff.first?.size, 30000)
        XCTAssertEqual(diff.first?.sizeDiff, 20000)
        XCTAssertEqual(diff.first?.countDiff, 20)
        let burst = try XCTUnwrap(diff.first { $0.site.line == (try? line("SITE:burst")) })
        XCTAssertEqual(burst.size, 0)
        XCTAssertEqual(burst.sizeDiff, -5000)
        XCTAssertEqual(burst.countDiff, -1)
    }

    func testGrowthRanksTheSteadyLeakFirst() throws {
        let snapshots = Array(try snapshotsOfTracedRun("analysis_growth").prefix(4))
        XCTAssertEqual(snapshots.map(\.info.trigger), [.api, .api, .api, .api])
        func line(_ marker: String) throws -> Int { try sourceLine(marker, in: "analysis_growth.c") }
        let growth = rankGrowth(snapshots)
        let lines = growth.map(\.site.line)
        XCTAssertEqual(Array(lines.prefix(2)), [try line("SITE:leak"), try line("SITE:slow")])
        XCTAssertEqual(growth.first?.sizes, [10000, 20000, 30000, 40000])
        XCTAssertEqual(growth.first?.counts, [10, 20, 30, 40])
        XCTAssertEqual(growth.first?.growthPerSnapshot, 10000)
        XCTAssertEqual(growth.first?.totalGrowth, 30000)
        XCTAssertEqual(growth[1].sizes, [100, 200, 300, 400])
        XCTAssertFalse(lines.contains(try line("SITE:burst")))
        XCTAssertFalse(lines.contains(try line("SITE:fluct")))
    }
}

final class UnloadedModuleTests: XCTestCase {
    /// A plugin that allocated and was dlclosed before the snapshot still resolves to its own lines.
    func testFramesOfAnUnloadedPluginResolve() throws {
        let directory = try TemporaryDirectory()
        let source = directory.path + "/plugin.c"
        try """
        #include <stdlib.h>
        void *plugin_make_block(void) {
            return malloc(777);
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let plugin = directory.path + "/libplugin.so"
        let build = try runProcess("/usr/bin/gcc", ["-g", "-O0", "-shared", "-fPIC", "-o", plugin, source])
        XCTAssertEqual(build.status, 0, build.stderr)

        let program = try TestPaths.program("analysis_dlopen")
        let output = try TemporaryDirectory()
        let result = try runProcess(program, [plugin], environment: ["HEAPSNAP_DIR": output.path], preload: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        let snapshot = try Snapshot.load(path: try XCTUnwrap(output.files().first))
        let stats = snapshot.statistics(by: .line)
        let site = try XCTUnwrap(statistic(stats, source, 3), "\(stats.prefix(5).map(\.site.location))")
        XCTAssertEqual(site.size, 3 * 777)
        XCTAssertEqual(site.count, 3)
        XCTAssertEqual(site.site.function, "plugin_make_block")
        XCTAssertEqual(site.site.module, plugin)
        XCTAssertEqual(site.traceback.frames[1].line, try sourceLine("SITE:call-plugin", in: "analysis_dlopen.c"))
        let module = try XCTUnwrap(snapshot.info.modules.first { $0.path == plugin })
        XCTAssertTrue(module.wasUnloaded)
        XCTAssertTrue(module.hasDebugInfo)
        XCTAssertNil(module.problem)

        // Rebuilt after the snapshot: its lines would be wrong now, so it says so and falls back.
        try """
        #include <stdlib.h>
        int plugin_padding(int x) { return x * 3 + 1; }
        void *plugin_make_block(void) {
            return malloc(777);
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let rebuild = try runProcess("/usr/bin/gcc", ["-g", "-O0", "-shared", "-fPIC", "-o", plugin, source])
        XCTAssertEqual(rebuild.status, 0, rebuild.stderr)
        let stale = try Snapshot.load(path: try XCTUnwrap(output.files().first))
        XCTAssertEqual(stale.info.modules.first { $0.path == plugin }?.problem,
                       "file changed since the snapshot (build-id mismatch)")
        XCTAssertNil(statistic(stale.statistics(by: .line), source, 3))
        let fallback = try XCTUnwrap(stale.traces.first { $0.size == 3 * 777 }?.traceback.frames.first)
        XCTAssertNil(fallback.file)
        XCTAssertNil(fallback.function)
        XCTAssertEqual(fallback.location, "libplugin.so+0x\(String(fallback.moduleOffset!, radix: 16))")
    }
}

final class LoadProgressTests: XCTestCase {
    func testProgressCountsModulesUpToTheTotal() throws {
        let program = try TestPaths.program("analysis_c_sites")
        let directory = try TemporaryDirectory()
        XCTAssertEqual(try runProcess(program, environment: ["HEAPSNAP_DIR": directory.path], preload: true).status, 0)
        final class Calls: @unchecked Sendable {
            let lock = NSLock()
            var values: [(Int, Int)] = []
        }
        let calls = Calls()
        let snapshot = try Snapshot.load(path: try XCTUnwrap(directory.files().first)) { done, total in
            calls.lock.lock()
            calls.values.append((done, total))
            calls.lock.unlock()
        }
        // One call per module of the snapshot (each is opened once, also those no stack points into).
        let values = calls.values
        XCTAssertEqual(values.count, snapshot.info.modules.count)
        XCTAssertEqual(values.map(\.0).sorted(), Array(1...values.count))
        XCTAssertTrue(values.allSatisfy { $0.1 == values.count })
    }
}
