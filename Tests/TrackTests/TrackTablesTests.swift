// The tracker's live table and stack tree (Sources/Track/tables.c) under load, through real child
// processes (Tests/Programs/track_tables.c): every figure below is fixed by the program's construction.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class TrackTablesTests: XCTestCase {
    private let gib: UInt64 = 1 << 30
    private let mib: UInt64 = 1 << 20

    override func setUpWithError() throws { try requireLibrary() }

    /// Runs track_tables under `library` (nil: the tracker under test).
    private func run(_ arguments: [String], environment: [String: String] = [:], library: String?,
                     directory: TemporaryDirectory, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let library else {
            try runTracked("track_tables", arguments, environment: environment, directory: directory, file: file, line: line)
            return
        }
        var env = environment
        env["LD_PRELOAD"] = library
        env["HEAPSNAP_DIR"] = directory.path
        env["HEAPSNAP_MIN_PEAK"] = "0"
        let result = try runProcess(try TestPaths.program("track_tables"), arguments, environment: env, directory: directory.path)
        XCTAssertEqual(result.status, 0, "track_tables failed: \(result.stderr)", file: file, line: line)
    }

    private func site(_ snapshot: RawSnapshot, _ symbols: ProgramSymbols, _ name: String, domain: UInt32 = 0) throws -> SiteTotals {
        SiteTotals(snapshot.stacks(allocatedIn: try symbols.function(name), domain: domain))
    }

    /// The small blocks: 150,000 of 1 + i % 997 bytes, those with i % 3 == 0 freed.
    private func smallTotals(kept: (Int) -> Bool = { _ in true }) -> (bytes: UInt64, blocks: UInt64) {
        var bytes: UInt64 = 0, blocks: UInt64 = 0
        for i in 0..<150_000 where i % 3 != 0 && kept(i) {
            bytes += 1 + UInt64(i % 997)
            blocks += 1
        }
        return (bytes, blocks)
    }

    func testManyBlocksOfEverySizeAndDomainAreExact() throws { try checkBlocks(library: nil) }

    /// Four threads inserting into and removing from the same shards at once (each frees blocks the
    /// others allocated), with snapshots holding every shard lock meanwhile: a lost update under the
    /// shard lock shows in the counts, a lost wake-up as a hang (the run's timeout).
    func testThreadsSharingShardsCountExactly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/shared.heapsnap"
        let result = try runTracked("track_shared_shards", [path, dir.path], directory: dir)
        let printed = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        XCTAssertEqual(printed.count, 2, "track_shared_shards prints its live bytes and blocks")
        guard printed.count == 2 else { return }
        var totalBytes: UInt64 = 0
        for t in 0..<4 { for i in 0..<50_000 { totalBytes += 16 + 8 * UInt64((t * 50_000 + i) % 64) } }
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_shared_shards"))
        let snapshot = try RawSnapshot(contentsOf: path)
        XCTAssertEqual(printed[1], 512, "every pool slot was filled")
        XCTAssertEqual(try site(snapshot, symbols, "shared_site"),
                       SiteTotals(liveBytes: printed[0], liveBlocks: printed[1], totalAllocations: 200_000, totalBytes: totalBytes))
    }

    private func checkBlocks(library: String?) throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/blocks.heapsnap", expectedPath = dir.path + "/expected.txt"
        try run(["blocks", path, expectedPath], environment: ["HEAPSNAP_TRACES": "1"], library: library, directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_tables"))
        let snapshot = try RawSnapshot(contentsOf: path)

        let small = smallTotals()
        XCTAssertEqual(try site(snapshot, symbols, "small_site"),
                       SiteTotals(liveBytes: small.bytes, liveBlocks: small.blocks, totalAllocations: 150_000,
                                  totalBytes: (0..<150_000).reduce(0) { $0 + 1 + UInt64($1 % 997) }))
        let large = (5..<20).reduce(UInt64(0)) { $0 + 17 * mib + 16 * UInt64($1) }
        XCTAssertEqual(try site(snapshot, symbols, "large_site"),
                       SiteTotals(liveBytes: large, liveBlocks: 15, totalAllocations: 20,
                                  totalBytes: (0..<20).reduce(UInt64(0)) { $0 + 17 * mib + 16 * UInt64($1) }))
        XCTAssertEqual(try site(snapshot, symbols, "huge_site"),
                       SiteTotals(liveBytes: (2..<8).reduce(UInt64(0)) { $0 + 5 * gib + UInt64($1) }, liveBlocks: 6,
                                  totalAllocations: 8, totalBytes: (0..<8).reduce(UInt64(0)) { $0 + 5 * gib + UInt64($1) }))
        XCTAssertEqual(try site(snapshot, symbols, "domain_site", domain: 5),
                       SiteTotals(liveBytes: 900 * 64, liveBlocks: 900, totalAllocations: 1000, totalBytes: 1000 * 64))
        XCTAssertEqual(try site(snapshot, symbols, "domain_site", domain: 9),
                       SiteTotals(liveBytes: 9 * 7 * gib, liveBlocks: 9, totalAllocations: 10, totalBytes: 10 * 7 * gib))

        // Every block the program holds, and no other one of its sites, in the TRACES section.
        let expected = try String(contentsOfFile: expectedPath, encoding: .utf8).split(separator: "\n").map { line -> [UInt64] in
            line.split(separator: " ").map { UInt64($0)! }
        }
        XCTAssertEqual(expected.count, 100_000 + 15 + 6 + 900 + 9)
        let traces = try XCTUnwrap(snapshot.traces)
        XCTAssertEqual(UInt64(traces.count), snapshot.header.liveBlocks)
        let sites = try ["small_site", "large_site", "huge_site", "domain_site"].map { try symbols.function($0) }
        let ours = traces.filter { trace in
            let stack = snapshot.stacks[Int(trace.stack)]
            guard let first = stack.frames.first, let address = snapshot.elfAddress(ofReturnAddress: first) else { return false }
            return sites.contains { $0.contains(elfAddress: address) }
        }.map { [UInt64(snapshot.stacks[Int($0.stack)].domain), $0.address, $0.size] }
        XCTAssertEqual(ours.sorted { $0.lexicographicallyPrecedes($1) }, expected.sorted { $0.lexicographicallyPrecedes($1) })
    }

    func testAReusedAddressAndAReplacedBlockCountOnce() throws { try checkReuse(library: nil) }

    private func checkReuse(library: String?) throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/reuse.heapsnap"
        try run(["reuse", path], library: library, directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_tables"))
        let snapshot = try RawSnapshot(contentsOf: path)
        XCTAssertEqual(try site(snapshot, symbols, "reuse_a"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1001, totalBytes: 1001 * 64))
        XCTAssertEqual(try site(snapshot, symbols, "reuse_b"), SiteTotals(liveBytes: 64, liveBlocks: 1, totalAllocations: 1001, totalBytes: 1001 * 64))
        // malloc(100) in reuse(), then the same address tracked again three times: only the last is live
        XCTAssertEqual(try site(snapshot, symbols, "reuse"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 100))
        XCTAssertEqual(try site(snapshot, symbols, "replace_c"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 300))
        XCTAssertEqual(try site(snapshot, symbols, "replace_d"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 5 * gib))
        XCTAssertEqual(try site(snapshot, symbols, "replace_e"), SiteTotals(liveBytes: 50, liveBlocks: 1, totalAllocations: 1, totalBytes: 50))
    }

    /// 256 paths through 90 levels that share their outer 82 (go_a all the way) and differ in the inner 8.
    /// At -O0 each level is two frames: go_a or go_b, and the `descend` it calls.
    private func checkDeepStacks(maxFrames: String?, truncated: Bool, library: String? = nil) throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/deep.heapsnap"
        try run(["deep", path], environment: maxFrames.map { ["HEAPSNAP_FRAMES": $0] } ?? [:], library: library, directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_tables"))
        let snapshot = try RawSnapshot(contentsOf: path)
        let goA = try symbols.function("go_a"), goB = try symbols.function("go_b"), descend = try symbols.function("descend")
        func function(_ frame: UInt64) -> String? {
            guard let address = snapshot.elfAddress(ofReturnAddress: frame) else { return nil }
            return [goA, goB, descend].first { $0.contains(elfAddress: address) }?.name
        }
        let stacks = snapshot.stacks(allocatedIn: try symbols.function("leaf"))
        XCTAssertEqual(stacks.count, 256)
        var seen = Set<UInt64>()
        for stack in stacks {
            XCTAssertEqual(stack.isTruncated, truncated)
            if truncated { XCTAssertEqual(stack.frames.count, 64) } else { XCTAssertGreaterThan(stack.frames.count, 2 + 2 * 91) }
            let end = min(stack.frames.count, 1 + 2 * 91)
            // frame 1 + 2k returns into descend, frame 2 + 2k into the function at depth k: go_b exactly
            // where bit k (k < 8) of the path is set
            XCTAssertEqual(stride(from: 1, to: end, by: 2).map { function(stack.frames[$0]) }, Array(repeating: "descend", count: end / 2))
            let levels = stride(from: 2, to: end, by: 2).map { function(stack.frames[$0]) }
            XCTAssertEqual(levels.count, truncated ? 31 : 91)
            let path = (0..<8).reduce(UInt64(0)) { $0 | (levels[$1] == "go_b" ? 1 << UInt64($1) : 0) }
            XCTAssertEqual(levels, (0..<levels.count).map { k -> String? in k < 8 && (path >> UInt64(k)) & 1 == 1 ? "go_b" : "go_a" },
                           "path \(path)")
            XCTAssertTrue(seen.insert(path).inserted)
            let blocks = 1 + path % 3
            XCTAssertEqual(SiteTotals([stack]), SiteTotals(liveBytes: blocks * 8 * (path + 1), liveBlocks: blocks,
                                                           totalAllocations: blocks, totalBytes: blocks * 8 * (path + 1)))
        }
        XCTAssertEqual(seen.count, 256)
    }

    func testDeepStacksSharingPrefixesComeBackFrameForFrame() throws {
        try checkDeepStacks(maxFrames: "256", truncated: false)
    }

    func testTruncatedDeepStacksStayApart() throws {
        try checkDeepStacks(maxFrames: nil, truncated: true)
    }

    /// 4096 distinct stacks, each allocating twice, with the stack table's growth between the two: the
    /// hash the unwinder computes while it walks must be the one a growth recomputes from the frames.
    func testStacksInternedBeforeTheTableGrewAreFoundAfterIt() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/paths.heapsnap"
        try run(["paths", path], library: nil, directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_tables"))
        let snapshot = try RawSnapshot(contentsOf: path)
        let pathA = try symbols.function("path_a"), pathB = try symbols.function("path_b")
        let stacks = snapshot.stacks(allocatedIn: try symbols.function("path_leaf"))
        XCTAssertEqual(stacks.count, 4096)
        var seen = Set<UInt64>()
        for stack in stacks {
            // the 12 innermost path_a/path_b frames, outermost first, spell the path's bits
            let levels = stack.frames.compactMap { frame -> UInt64? in
                guard let address = snapshot.elfAddress(ofReturnAddress: frame) else { return nil }
                return pathB.contains(elfAddress: address) ? 1 : pathA.contains(elfAddress: address) ? 0 : nil
            }
            XCTAssertEqual(levels.count, 13) // the first path_a(0, ...) and the 12 it descends through
            let bits = levels.reversed().dropFirst()
            let value = bits.enumerated().reduce(UInt64(0)) { $0 | $1.element << UInt64($1.offset) }
            XCTAssertTrue(seen.insert(value).inserted, "path \(value) interned twice")
            let bytes = 16 * (value % 5 + 1)
            XCTAssertEqual(SiteTotals([stack]), SiteTotals(liveBytes: 2 * bytes, liveBlocks: 2, totalAllocations: 2, totalBytes: 2 * bytes),
                           "path \(value)")
        }
        XCTAssertEqual(seen.count, 4096)
    }

    func testAForkChildKeepsItsInheritedBlocksExactly() throws { try checkFork(library: nil) }

    private func checkFork(library: String?) throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/parent.heapsnap", childPath = dir.path + "/child.heapsnap"
        try run(["fork", path, childPath], library: library, directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_tables"))
        let parent = try RawSnapshot(contentsOf: path), child = try RawSnapshot(contentsOf: childPath)
        XCTAssertNotEqual(parent.header.pid, child.header.pid)

        let small = smallTotals()
        XCTAssertEqual(try site(parent, symbols, "small_site").liveBytes, small.bytes)
        XCTAssertEqual(try site(parent, symbols, "small_site").liveBlocks, small.blocks)
        XCTAssertEqual(try site(parent, symbols, "domain_site", domain: 5).liveBlocks, 900)
        XCTAssertEqual(try site(parent, symbols, "child_site"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 0, totalBytes: 0))

        // the child: its own totals from the fork on, the inherited blocks it did not free still live
        let childSmall = smallTotals(kept: { $0 % 2 == 0 })
        XCTAssertEqual(try site(child, symbols, "small_site"), SiteTotals(liveBytes: childSmall.bytes, liveBlocks: childSmall.blocks, totalAllocations: 0, totalBytes: 0))
        XCTAssertEqual(try site(child, symbols, "large_site"),
                       SiteTotals(liveBytes: (10..<20).reduce(UInt64(0)) { $0 + 17 * mib + 16 * UInt64($1) }, liveBlocks: 10, totalAllocations: 0, totalBytes: 0))
        XCTAssertEqual(try site(child, symbols, "huge_site").liveBlocks, 6)
        XCTAssertEqual(try site(child, symbols, "domain_site", domain: 5).liveBlocks, 0)
        XCTAssertEqual(try site(child, symbols, "domain_site", domain: 9).liveBytes, 9 * 7 * gib)
        XCTAssertEqual(try site(child, symbols, "child_site"), SiteTotals(liveBytes: 20_000, liveBlocks: 20, totalAllocations: 20, totalBytes: 20_000))
        XCTAssertEqual(child.header.untrackedFrees, 0)
    }

    /// The same figures from a tracker whose compact table places a block at most one chunk past its
    /// home, so that it overflows chunks and pushes blocks into the wide table all the time (on insert
    /// and on growth): the path real programs take only when a probe run passes 255 chunks. Its
    /// overflow counts saturate at 1 (sticky: lookups then always go on), as real ones do past 4095.
    func testBlocksPushedOutOfTheCompactTableStayExact() throws {
        let dir = try TemporaryDirectory()
        let library = dir.path + "/libheapsnap-narrow.so"
        let track = TestPaths.packageRoot.appendingPathComponent("Sources/Track")
        let sources = try FileManager.default.contentsOfDirectory(atPath: track.path).filter { $0.hasSuffix(".c") }.sorted()
            .map { track.appendingPathComponent($0).path }
        XCTAssertGreaterThan(sources.count, 10)
        let build = try runProcess("/usr/bin/gcc", ["-std=gnu11", "-O2", "-fPIC", "-fvisibility=hidden", "-ftls-model=initial-exec",
                                                    "-fno-omit-frame-pointer", "-DCHUNK_PROBE_MAX=1u", "-DOVERFLOW_MAX=1u",
                                                    "-I" + track.appendingPathComponent("include").path, "-o", library]
                                   + sources + ["-shared", "-Wl,-z,now", "-Wl,--no-undefined", "-ldl", "-lpthread"], timeout: 300)
        XCTAssertEqual(build.status, 0, build.stderr)
        try checkBlocks(library: library)
        try checkReuse(library: library)
        try checkFork(library: library)
        try checkDeepStacks(maxFrames: "256", truncated: false, library: library)
    }

    /// The stack table alone (Tests/Programs/tables/intern_exact.c, linked with tables.c): stacks of
    /// every depth and native/Python split, each with variants one word apart, get ids of their own,
    /// are found again and read back unchanged; then again with every stack of a depth on one slot and
    /// tag (STACK_HASH_DEPTH_ONLY), so that the frame comparison alone tells them apart.
    func testInternedStacksAreExactAtEveryDepthAndSplit() throws {
        let dir = try TemporaryDirectory()
        let track = TestPaths.packageRoot.appendingPathComponent("Sources/Track")
        let program = TestPaths.packageRoot.appendingPathComponent("Tests/Programs/tables/intern_exact.c").path
        let sources = ["tables.c", "peak.c", "memory.c", "sample.c"].map { track.appendingPathComponent($0).path }
        for (name, defines, arguments) in [("intern_exact", [String](), [String]()),
                                           ("intern_exact_colliding", ["-DSTACK_HASH_DEPTH_ONLY"], ["60"])] {
            let binary = dir.path + "/" + name
            let build = try runProcess("/usr/bin/gcc", ["-std=gnu11", "-O2"] + defines
                                       + ["-I" + track.path, "-I" + track.appendingPathComponent("include").path, "-o", binary, program]
                                       + sources + ["-lm", "-lpthread"], timeout: 300)
            XCTAssertEqual(build.status, 0, build.stderr)
            let run = try runProcess(binary, arguments)
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            XCTAssertTrue(run.stdout.hasPrefix("intern_exact: "), "\(name): \(run.stdout)")
        }
    }
}
