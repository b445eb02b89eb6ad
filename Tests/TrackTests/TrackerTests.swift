// The tracker under real programs: exact bytes, blocks and allocation counts per call site.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class TrackerTests: XCTestCase {
    override func setUpWithError() throws { try requireLibrary() }

    /// Sums over all stacks must equal the header's counters: one consistent copy of the state.
    func assertConsistent(_ snapshot: RawSnapshot, file: StaticString = #filePath, line: UInt = #line) {
        let all = SiteTotals(snapshot.stacks)
        XCTAssertEqual(all.liveBytes, snapshot.header.currentBytes, "live bytes", file: file, line: line)
        XCTAssertEqual(all.liveBlocks, snapshot.header.liveBlocks, "live blocks", file: file, line: line)
        XCTAssertEqual(all.totalAllocations, snapshot.header.totalAllocations, "total allocations", file: file, line: line)
        XCTAssertEqual(all.totalBytes, snapshot.header.totalBytes, "total bytes", file: file, line: line)
        XCTAssertGreaterThanOrEqual(snapshot.header.peakBytes, snapshot.header.currentBytes, file: file, line: line)
        XCTAssertGreaterThan(snapshot.header.trackerBytes, 0, file: file, line: line)
        XCTAssertNotNil(snapshot.mainModule, "main executable in MODULES", file: file, line: line)
    }

    func site(_ snapshot: RawSnapshot, _ symbols: ProgramSymbols, _ name: String, domain: UInt32 = 0,
              file: StaticString = #filePath, line: UInt = #line) throws -> SiteTotals {
        SiteTotals(snapshot.stacks(allocatedIn: try symbols.function(name, file: file, line: line), domain: domain))
    }

    func testCallSitesOfAPlainCProgram() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/api.heapsnap"
        try runTracked("track_basic", [path], directory: dir)
        let program = try TestPaths.program("track_basic")
        let symbols = try ProgramSymbols(program: program)
        let snapshot = try RawSnapshot(contentsOf: path)
        XCTAssertEqual(snapshot.header.trigger, .api)
        XCTAssertEqual(snapshot.header.sequence, 1)
        XCTAssertEqual(snapshot.header.executable, program)
        XCTAssertEqual(snapshot.header.arguments, [program, path])
        XCTAssertEqual(snapshot.header.maxFrames, 64)
        XCTAssertFalse(snapshot.header.hasTraces)
        XCTAssertNil(snapshot.traces)
        XCTAssertGreaterThanOrEqual(snapshot.header.timeNanoseconds, snapshot.header.startNanoseconds)
        assertConsistent(snapshot)

        XCTAssertEqual(try site(snapshot, symbols, "keep_small"), SiteTotals(liveBytes: 1000, liveBlocks: 10, totalAllocations: 10, totalBytes: 1000))
        XCTAssertEqual(try site(snapshot, symbols, "churn"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 5, totalBytes: 5000))
        XCTAssertEqual(try site(snapshot, symbols, "keep_big"), SiteTotals(liveBytes: 1 << 20, liveBlocks: 1, totalAllocations: 1, totalBytes: 1 << 20))
        XCTAssertEqual(try site(snapshot, symbols, "zeroed"), SiteTotals(liveBytes: 63, liveBlocks: 1, totalAllocations: 1, totalBytes: 63))
        // malloc 10, realloc 100, 50, 4000: one live block of the last size, four allocations
        XCTAssertEqual(try site(snapshot, symbols, "grow"), SiteTotals(liveBytes: 4000, liveBlocks: 1, totalAllocations: 4, totalBytes: 4160))
        XCTAssertEqual(snapshot.stacks(allocatedIn: try symbols.function("grow")).count, 4, "one stack per call line")

        // The stack goes on through main: frame 1 of keep_small's stack returns into main.
        let stack = try XCTUnwrap(snapshot.stacks(allocatedIn: try symbols.function("keep_small")).first)
        XCTAssertGreaterThanOrEqual(stack.frames.count, 2)
        let second = try XCTUnwrap(snapshot.elfAddress(ofReturnAddress: stack.frames[1]))
        XCTAssertTrue(try symbols.function("main").contains(elfAddress: second))
        XCTAssertFalse(stack.isTruncated)

        // The main module carries the executable's GNU build-id, as readelf sees it.
        let notes = try runProcess("/usr/bin/readelf", ["-n", program]).stdout
        let buildID = try XCTUnwrap(notes.split(separator: "\n").first { $0.contains("Build ID:") })
            .split(separator: " ").last.map(String.init)
        XCTAssertEqual(snapshot.mainModule?.buildID.map { String(format: "%02x", $0) }.joined(), buildID)
        XCTAssertTrue(snapshot.modules.contains { $0.path.hasSuffix("/libc.so.6") && !$0.wasUnloaded })
        XCTAssertEqual(snapshot.modules.filter(\.isVDSO).map(\.path), ["linux-vdso.so.1"])
        for module in snapshot.modules {
            XCTAssertFalse(module.buildID.isEmpty, "\(module.path) has a GNU build-id on this system")
            XCTAssertTrue(module.segments.contains { $0.isExecutable }, module.path)
            XCTAssertTrue(module.isVDSO || module.path.hasPrefix("/"), module.path)
        }

        // The exit snapshot: the default name, sequence 2, the big block gone.
        let exitPath = dir.path + "/track_basic.\(snapshot.header.pid).0002.heapsnap"
        let exit = try RawSnapshot(contentsOf: exitPath)
        XCTAssertEqual(exit.header.trigger, .exit)
        XCTAssertEqual(exit.header.sequence, 2)
        assertConsistent(exit)
        XCTAssertEqual(try site(exit, symbols, "keep_big"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 1 << 20))
        XCTAssertEqual(try site(exit, symbols, "keep_small"), SiteTotals(liveBytes: 1000, liveBlocks: 10, totalAllocations: 10, totalBytes: 1000))
        XCTAssertEqual(dir.files(), [path, exitPath].sorted())
    }

    func testMallocFamilyKeepsGlibcSemantics() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/family.heapsnap"
        let result = try runTracked("track_family", [path], directory: dir)
        XCTAssertEqual(result.stdout, "ok\n")
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_family"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        func one(_ bytes: UInt64) -> SiteTotals { SiteTotals(liveBytes: bytes, liveBlocks: 1, totalAllocations: 1, totalBytes: bytes) }
        XCTAssertEqual(try site(snapshot, symbols, "site_posix_memalign"), one(10))
        XCTAssertEqual(try site(snapshot, symbols, "site_aligned_alloc"), one(128))
        XCTAssertEqual(try site(snapshot, symbols, "site_memalign"), one(1000))
        XCTAssertEqual(try site(snapshot, symbols, "site_valloc"), one(100))
        XCTAssertEqual(try site(snapshot, symbols, "site_pvalloc"), one(100))
        XCTAssertEqual(try site(snapshot, symbols, "site_reallocarray"), one(100))
        XCTAssertEqual(try site(snapshot, symbols, "site_calloc"), one(100))
        // the failed realloc neither counts nor loses the block it could not move
        XCTAssertEqual(try site(snapshot, symbols, "site_failed_realloc"), one(300))
        XCTAssertEqual(try site(snapshot, symbols, "site_realloc_zero"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 500))
        XCTAssertEqual(try site(snapshot, symbols, "site_errno_kept"), SiteTotals(liveBytes: 80, liveBlocks: 1, totalAllocations: 3, totalBytes: 124))
        XCTAssertEqual(try site(snapshot, symbols, "site_malloc_zero"), SiteTotals(liveBytes: 0, liveBlocks: 1, totalAllocations: 2, totalBytes: 33))
    }

    func testEightThreadsCountExactly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/threads.heapsnap"
        try runTracked("track_threads", [path], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_threads"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        var total: UInt64 = 0, live: UInt64 = 0
        for i in 0..<100_000 {
            let size = UInt64(8 * (1 + i % 16))
            total += size
            if i % 10 == 0 { live += size }
        }
        XCTAssertEqual(try site(snapshot, symbols, "worker"),
                       SiteTotals(liveBytes: 8 * live, liveBlocks: 80_000, totalAllocations: 800_000, totalBytes: 8 * total))
        XCTAssertGreaterThanOrEqual(snapshot.header.totalAllocations, 800_000)
        // (untracked_frees is not 0 here: libunwind's per-thread state, allocated inside the tracker,
        // is freed by glibc when each thread exits)
    }

    /// A thread on a stack of PTHREAD_STACK_MIN bytes: glibc takes the static TLS (the tracker's
    /// initial-exec variables among it) out of that stack, and pthread_create fails with EINVAL when
    /// the tracker's TLS grows too large (the program exits 6 then); a little less large, and what is
    /// left of the stack is too small for the capture (with HEAPSNAP_VERIFY_UNWIND's libunwind, the
    /// 8 KiB of Python caches that were TLS made it crash so).
    func testAThreadWithTheSmallestStack() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/small-stack.heapsnap"
        try runTracked("track_small_stack", [path], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_small_stack"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        let freed = (0..<1000).reduce(UInt64(0)) { $0 + UInt64(16 + $1 % 64) }
        XCTAssertEqual(try site(snapshot, symbols, "small_stack_worker"),
                       SiteTotals(liveBytes: 4321, liveBlocks: 1, totalAllocations: 1001, totalBytes: freed + 4321))
    }

    /// One thread alone, then two at once (track_handover.c): the tracker's figures are kept with plain
    /// stores while one thread has the tables, with locked ones after a handover (tables.c); the
    /// snapshot and the peak reached alone stay exact across the switch.
    func testTablesHandedOverToASecondThreadCountExactly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/handover.heapsnap", peakPath = dir.path + "/handover.peak.heapsnap"
        try runTracked("track_handover", [path, peakPath], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_handover"))
        let alone = (0..<20_000).map { UInt64(16 * (1 + $0 % 32)) }
        func aloneBytes(_ kept: (Int) -> Bool) -> UInt64 { alone.indices.filter(kept).reduce(0) { $0 + alone[$1] } }
        let shared = (0..<100_000).map { UInt64(16 + 8 * ($0 % 64)) }
        let sharedKept = shared.indices.filter { $0 % 10 == 0 }.reduce(UInt64(0)) { $0 + shared[$1] }
        let mib: UInt64 = 1 << 20

        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        XCTAssertEqual(try site(snapshot, symbols, "alone_site"),
                       SiteTotals(liveBytes: aloneBytes { $0 % 4 == 0 }, liveBlocks: 5000, totalAllocations: 20_000, totalBytes: aloneBytes { _ in true }))
        XCTAssertEqual(try site(snapshot, symbols, "shared_site"),
                       SiteTotals(liveBytes: 2 * sharedKept, liveBlocks: 20_000, totalAllocations: 200_000, totalBytes: 2 * shared.reduce(0, +)))
        XCTAssertEqual(try site(snapshot, symbols, "peak_site"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 48 * mib))

        let peak = try RawSnapshot(contentsOf: peakPath)
        XCTAssertEqual(peak.header.trigger, .peak)
        assertConsistent(peak)
        XCTAssertEqual(peak.header.currentBytes, peak.header.peakBytes)
        XCTAssertEqual(try site(peak, symbols, "alone_site"),
                       SiteTotals(liveBytes: aloneBytes { $0 % 4 != 1 }, liveBlocks: 15_000, totalAllocations: 20_000, totalBytes: aloneBytes { _ in true }))
        XCTAssertEqual(try site(peak, symbols, "peak_site"), SiteTotals(liveBytes: 48 * mib, liveBlocks: 1, totalAllocations: 1, totalBytes: 48 * mib))
        XCTAssertEqual(try site(peak, symbols, "shared_site"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 0, totalBytes: 0))
        XCTAssertEqual(peak.header.peakBytes, snapshot.header.peakBytes)
    }

    func testAMillionLiveBlocks() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/million.heapsnap"
        let result = try runTracked("track_million", [path], environment: ["HEAPSNAP_TRACES": "1"], directory: dir)
        let milliseconds = try XCTUnwrap(Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertLessThan(milliseconds, 2000, "a snapshot of a million blocks with traces")
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_million"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        let sites = snapshot.stacks(allocatedIn: try symbols.function("million_site"))
        XCTAssertEqual(sites.count, 16, "one stack per recursion depth")
        XCTAssertEqual(SiteTotals(sites), SiteTotals(liveBytes: 32_000_000, liveBlocks: 1_000_000, totalAllocations: 1_000_000, totalBytes: 32_000_000))
        let traces = try XCTUnwrap(snapshot.traces)
        XCTAssertEqual(UInt64(traces.count), snapshot.header.liveBlocks)
        let siteIndices = Set(snapshot.stacks.indices.filter { sites.contains(snapshot.stacks[$0]) }.map(UInt32.init))
        XCTAssertEqual(traces.filter { siteIndices.contains($0.stack) }.count, 1_000_000)
    }

    func testConcurrentSnapshotRequests() throws {
        let dir = try TemporaryDirectory()
        try runTracked("track_snapstorm", environment: ["HEAPSNAP_INTERVAL": "0.01"], directory: dir)
        let snapshots = try dir.files().map { try RawSnapshot(contentsOf: $0) }
        XCTAssertEqual(snapshots.filter { $0.header.trigger == .api }.count, 40)
        XCTAssertEqual(snapshots.filter { $0.header.trigger == .exit }.count, 1)
        XCTAssertEqual(snapshots.map(\.header.sequence).sorted(), Array(1...UInt32(snapshots.count)))
        for snapshot in snapshots { assertConsistent(snapshot) }
    }

    func testTracesListEveryLiveBlockExactly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/addresses.heapsnap"
        let result = try runTracked("track_addresses", [path], environment: ["HEAPSNAP_TRACES": "1"], directory: dir)
        let expected = result.stdout.split(separator: "\n").map { line -> (UInt64, UInt64) in
            let parts = line.split(separator: " ")
            return (UInt64(parts[0])!, UInt64(parts[1])!)
        }
        XCTAssertEqual(expected.count, 4)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_addresses"))
        let snapshot = try RawSnapshot(contentsOf: path)
        let site = snapshot.stacks(allocatedIn: try symbols.function("address_site"))
        XCTAssertEqual(site.count, 1)
        let siteIndex = try XCTUnwrap(snapshot.stacks.firstIndex(of: site[0]))
        let traces = try XCTUnwrap(snapshot.traces).filter { $0.stack == UInt32(siteIndex) }
        XCTAssertEqual(traces.map(\.address).sorted(), expected.map(\.0).sorted())
        for (address, size) in expected {
            XCTAssertEqual(traces.first { $0.address == address }?.size, size)
        }
        XCTAssertEqual(SiteTotals(site), SiteTotals(liveBytes: 11 + 12 + 14 + 15, liveBlocks: 4, totalAllocations: 5, totalBytes: 65))
    }

    func testForkChildTracksIntoItsOwnFiles() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_fork", directory: dir)
        let childPID = try XCTUnwrap(UInt32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_fork"))
        let files = dir.files()
        XCTAssertEqual(files.count, 2, "\(files)")
        let child = try RawSnapshot(contentsOf: dir.path + "/track_fork.\(childPID).0001.heapsnap")
        let parentPath = try XCTUnwrap(files.first { !$0.contains(".\(childPID).") })
        let parent = try RawSnapshot(contentsOf: parentPath)
        XCTAssertEqual(child.header.pid, childPID)
        XCTAssertEqual(child.header.parentPID, parent.header.pid)
        XCTAssertEqual(child.header.trigger, .exit)
        XCTAssertEqual(child.header.sequence, 1)
        XCTAssertGreaterThanOrEqual(child.header.startNanoseconds, parent.header.startNanoseconds)
        assertConsistent(child)
        assertConsistent(parent)
        XCTAssertEqual(try site(child, symbols, "child_site"), SiteTotals(liveBytes: 600, liveBlocks: 3, totalAllocations: 3, totalBytes: 600))
        // inherited block: live in the child, but allocated before the child started counting
        XCTAssertEqual(try site(child, symbols, "parent_site"), SiteTotals(liveBytes: 1000, liveBlocks: 1, totalAllocations: 0, totalBytes: 0))
        XCTAssertEqual(try site(parent, symbols, "parent_site"), SiteTotals(liveBytes: 1000, liveBlocks: 1, totalAllocations: 1, totalBytes: 1000))
        XCTAssertEqual(try site(parent, symbols, "child_site").totalAllocations, 0)
    }

    func testForkWhileThreadsAllocateAndSnapshotsRun() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_forkstress", environment: ["HEAPSNAP_INTERVAL": "0.005", "HEAPSNAP_PEAK_STEP": "16K"],
                                    directory: dir)
        let children = result.stdout.split(separator: "\n").compactMap { UInt32($0) }
        XCTAssertEqual(children.count, 30)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_forkstress"))
        let site = try symbols.function("stress_child_site")
        for child in children {
            let files = dir.files().filter { $0.contains("/track_forkstress.\(child).") && !$0.hasSuffix(".peak.heapsnap") }
            let snapshots = try files.map { try RawSnapshot(contentsOf: $0) }
            let exit = try XCTUnwrap(snapshots.first { $0.header.trigger == .exit }, "child \(child): \(files)")
            XCTAssertEqual(exit.header.pid, child)
            XCTAssertEqual(SiteTotals(exit.stacks(allocatedIn: site)),
                           SiteTotals(liveBytes: 1000, liveBlocks: 10, totalAllocations: 10, totalBytes: 1000))
        }
        for file in dir.files(endingWith: ".heapsnap") { XCTAssertNoThrow(try RawSnapshot(contentsOf: file)) }
    }

    func testExecedChildIsTracked() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_exec", directory: dir)
        let childPID = try XCTUnwrap(UInt32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let program = try TestPaths.program("track_exec")
        let child = try RawSnapshot(contentsOf: dir.path + "/track_exec.\(childPID).0001.heapsnap")
        XCTAssertEqual(child.header.arguments, ["track_exec", "child"])
        XCTAssertEqual(child.header.executable, program)
        let symbols = try ProgramSymbols(program: program)
        XCTAssertEqual(try site(child, symbols, "exec_child_site"), SiteTotals(liveBytes: 777, liveBlocks: 1, totalAllocations: 1, totalBytes: 777))
        XCTAssertEqual(dir.files().count, 2)

        // exec in place: the new image finds 0001 taken by the old one and writes 0002
        let same = try TemporaryDirectory()
        try runTracked("track_exec", ["self"], directory: same)
        let snapshots = try same.files().map { try RawSnapshot(contentsOf: $0) }
        XCTAssertEqual(snapshots.map(\.header.sequence), [1, 2])
        XCTAssertEqual(snapshots.map(\.header.trigger), [.api, .exit])
        XCTAssertEqual(Set(snapshots.map(\.header.pid)).count, 1)
        XCTAssertEqual(snapshots.map(\.header.arguments), [[program, "self"], ["track_exec", "child"]])
    }

    func testSignalTriggersASnapshot() throws {
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_signal"))
        // (glibc's SIGRTMIN is 34: it keeps 32 and 33 for itself)
        for (setting, signal) in [("USR2", SIGUSR2), ("USR1", SIGUSR1), ("SIGUSR1", SIGUSR1), ("\(SIGHUP)", SIGHUP),
                                  ("sigrtmin+3", 37)] as [(String, Int32)] {
            let dir = try TemporaryDirectory()
            let env = ["HEAPSNAP_SIGNAL": setting]
            try runTracked("track_signal", [dir.path, "\(signal)"], environment: env, directory: dir)
            let files = dir.files()
            XCTAssertEqual(files.count, 2, "HEAPSNAP_SIGNAL=\(setting): \(files)")
            let first = try RawSnapshot(contentsOf: files[0])
            let last = try RawSnapshot(contentsOf: files[1])
            XCTAssertEqual(first.header.trigger, .signal)
            XCTAssertEqual(last.header.trigger, .exit)
            XCTAssertEqual(try site(first, symbols, "signal_site"), SiteTotals(liveBytes: 4321, liveBlocks: 1, totalAllocations: 1, totalBytes: 4321))
        }
        // unset (the default) or switched off, the signal keeps its default action: the program dies of it
        for environment in [["HEAPSNAP_SIGNAL": "none"], [:]] {
            let dir = try TemporaryDirectory()
            let result = try runProcess(try TestPaths.program("track_signal"), [dir.path, "\(SIGUSR2)"],
                                        environment: environment.merging(["HEAPSNAP_DIR": dir.path]) { a, _ in a }, preload: true)
            XCTAssertTrue(result.terminatedBySignal, "\(environment)")
            XCTAssertEqual(result.status, SIGUSR2)
        }
    }

    func testProgramThatClosesTheTrackersDescriptorsSurvives() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_closefds", environment: ["HEAPSNAP_SIGNAL": "USR2"], directory: dir)
        XCTAssertEqual(result.stdout, "alive\n")
        // the tracker holds no descriptor in the program's table: closing them all changes nothing
        let snapshots = try dir.files().map { try RawSnapshot(contentsOf: $0) }
        XCTAssertEqual(snapshots.map(\.header.trigger), [.signal, .exit])
    }

    func testIntervalSnapshots() throws {
        let dir = try TemporaryDirectory()
        try runTracked("track_signal", ["sleep", "1100"], environment: ["HEAPSNAP_INTERVAL": "0.25"], directory: dir)
        let snapshots = try dir.files().map { try RawSnapshot(contentsOf: $0) }
        XCTAssertGreaterThanOrEqual(snapshots.count, 4, "three or more interval snapshots and the exit one")
        XCTAssertEqual(snapshots.map(\.header.sequence), Array(1...UInt32(snapshots.count)))
        XCTAssertTrue(snapshots.dropLast().allSatisfy { $0.header.trigger == .interval })
        XCTAssertEqual(snapshots.last?.header.trigger, .exit)
        let times = snapshots.map(\.header.timeNanoseconds)
        XCTAssertEqual(times, times.sorted())

        let quiet = try TemporaryDirectory()
        try runTracked("track_signal", ["sleep", "300"], environment: ["HEAPSNAP_INTERVAL": "0"], directory: quiet)
        XCTAssertEqual(quiet.files().count, 1)
    }

    func testPeakSnapshotHoldsWhatWasLiveAtThePeak() throws {
        let dir = try TemporaryDirectory()
        try runTracked("track_peak", environment: ["HEAPSNAP_PEAK_STEP": "1M"], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_peak"))
        let peakPath = try XCTUnwrap(dir.files(endingWith: ".peak.heapsnap").first)
        let peak = try RawSnapshot(contentsOf: peakPath)
        XCTAssertEqual(peak.header.trigger, .peak)
        XCTAssertEqual(peak.header.sequence, 0)
        assertConsistent(peak)
        XCTAssertEqual(try site(peak, symbols, "peak_site"), SiteTotals(liveBytes: 10 << 20, liveBlocks: 10, totalAllocations: 10, totalBytes: 10 << 20))
        XCTAssertEqual(try site(peak, symbols, "after_peak_site").totalAllocations, 0)
        XCTAssertEqual(peak.header.peakBytes, peak.header.currentBytes)

        let exitPath = try XCTUnwrap(dir.files().first { !$0.hasSuffix(".peak.heapsnap") })
        let exit = try RawSnapshot(contentsOf: exitPath)
        XCTAssertEqual(exit.header.trigger, .exit)
        XCTAssertEqual(try site(exit, symbols, "peak_site").liveBytes, 0)
        XCTAssertEqual(try site(exit, symbols, "after_peak_site").liveBytes, 1 << 19)
        XCTAssertEqual(exit.header.peakBytes, peak.header.peakBytes)
        XCTAssertEqual(dir.files(includingPeak: true).count, 2)

        // Without --peak-step the peak file is still written, once, at exit.
        let off = try TemporaryDirectory()
        try runTracked("track_peak", directory: off)
        let exitPeak = try RawSnapshot(contentsOf: try XCTUnwrap(off.files(endingWith: ".peak.heapsnap").first))
        XCTAssertEqual(try site(exitPeak, symbols, "peak_site"), SiteTotals(liveBytes: 10 << 20, liveBlocks: 10, totalAllocations: 10, totalBytes: 10 << 20))
        XCTAssertEqual(off.files(includingPeak: true).count, 2)
    }

    /// The peak's composition is known by construction (track_exact_peak.c) and differs from every other
    /// moment: the peak file holds exactly it, per site, whether written at exit, on request, or rolled
    /// with --peak-step; the exit snapshot holds the end; a reset peak starts a new high-water mark.
    func testThePeakFileIsTheExactHighWaterMark() throws {
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_exact_peak"))
        let KiB: UInt64 = 1024, MiB: UInt64 = 1 << 20
        func assertPeak(_ peak: RawSnapshot, file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertEqual(peak.header.trigger, .peak, file: file, line: line)
            assertConsistent(peak, file: file, line: line)
            XCTAssertEqual(peak.header.currentBytes, peak.header.peakBytes, file: file, line: line)
            XCTAssertEqual(try site(peak, symbols, "site_a"), SiteTotals(liveBytes: 1 * MiB, liveBlocks: 1, totalAllocations: 4, totalBytes: 4 * MiB), file: file, line: line)
            XCTAssertEqual(try site(peak, symbols, "site_b"), SiteTotals(liveBytes: 512 * KiB, liveBlocks: 2, totalAllocations: 2, totalBytes: 512 * KiB), file: file, line: line)
            XCTAssertEqual(try site(peak, symbols, "site_c"), SiteTotals(liveBytes: 9 * MiB / 2, liveBlocks: 3, totalAllocations: 3, totalBytes: 9 * MiB / 2), file: file, line: line)
            // the three sites are the peak, but for what libc itself may hold (nothing, or a few KiB)
            XCTAssertLessThan(peak.header.peakBytes - 6 * MiB, 64 * KiB, file: file, line: line)
            XCTAssertGreaterThanOrEqual(peak.header.timeNanoseconds, peak.header.startNanoseconds, file: file, line: line)
        }
        for environment in [[:], ["HEAPSNAP_PEAK_STEP": "1M"], ["HEAPSNAP_PEAK_STEP": "1"]] {
            let dir = try TemporaryDirectory()
            let asked = dir.path + "/asked.heapsnap"
            try runTracked("track_exact_peak", [asked], environment: environment, directory: dir)
            try assertPeak(try RawSnapshot(contentsOf: asked))
            let peakFiles = dir.files(endingWith: ".peak.heapsnap")
            XCTAssertEqual(peakFiles.count, 1, "\(environment)")
            let atExit = try RawSnapshot(contentsOf: try XCTUnwrap(peakFiles.first))
            try assertPeak(atExit)
            XCTAssertEqual(atExit.header.sequence, 0)

            let exitPath = try XCTUnwrap(dir.files().first { $0.hasSuffix(".0001.heapsnap") })
            let exit = try RawSnapshot(contentsOf: exitPath)
            XCTAssertEqual(exit.header.trigger, .exit)
            assertConsistent(exit)
            XCTAssertEqual(exit.header.peakBytes, atExit.header.peakBytes)
            XCTAssertEqual(try site(exit, symbols, "site_a"), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 5, totalBytes: 5 * MiB))
            XCTAssertEqual(try site(exit, symbols, "site_b"), SiteTotals(liveBytes: 256 * KiB, liveBlocks: 1, totalAllocations: 3, totalBytes: 768 * KiB))
            XCTAssertEqual(try site(exit, symbols, "site_c"), SiteTotals(liveBytes: 3 * MiB / 2, liveBlocks: 1, totalAllocations: 3, totalBytes: 9 * MiB / 2))
            XCTAssertLessThanOrEqual(atExit.header.timeNanoseconds, exit.header.timeNanoseconds)
        }

        // After heapsnap_reset_peak at 1.75 MiB and one more MiB from site_a, that is the peak.
        let reset = try TemporaryDirectory()
        try runTracked("track_exact_peak", [reset.path + "/asked.heapsnap", "reset"], directory: reset)
        let peak = try RawSnapshot(contentsOf: try XCTUnwrap(reset.files(endingWith: ".peak.heapsnap").first))
        assertConsistent(peak)
        XCTAssertEqual(try site(peak, symbols, "site_a"), SiteTotals(liveBytes: 1 * MiB, liveBlocks: 1, totalAllocations: 6, totalBytes: 6 * MiB))
        XCTAssertEqual(try site(peak, symbols, "site_b"), SiteTotals(liveBytes: 256 * KiB, liveBlocks: 1, totalAllocations: 3, totalBytes: 768 * KiB))
        XCTAssertEqual(try site(peak, symbols, "site_c"), SiteTotals(liveBytes: 3 * MiB / 2, liveBlocks: 1, totalAllocations: 3, totalBytes: 9 * MiB / 2))
    }

    func testProgramThatNeverFrees() throws {
        let dir = try TemporaryDirectory()
        try runTracked("track_leak", directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_leak"))
        let files = dir.files()
        XCTAssertEqual(files.count, 1)
        let exit = try RawSnapshot(contentsOf: files[0])
        XCTAssertEqual(exit.header.trigger, .exit)
        assertConsistent(exit)
        XCTAssertEqual(try site(exit, symbols, "leak_site"), SiteTotals(liveBytes: 64_000, liveBlocks: 1000, totalAllocations: 1000, totalBytes: 64_000))
    }

    func testFreesOfUnknownBlocksAreCountedApart() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/untracked.heapsnap"
        try runTracked("track_untracked", [path], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_untracked"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        XCTAssertEqual(snapshot.header.untrackedFrees, 2, "one free, one realloc of blocks from before tracking")
        XCTAssertEqual(try site(snapshot, symbols, "untracked_realloc_site"),
                       SiteTotals(liveBytes: 200, liveBlocks: 1, totalAllocations: 1, totalBytes: 200))
    }

    func testDomainsFromThePoolAPI() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/domains.heapsnap"
        try runTracked("track_domains", [path], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_domains"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        XCTAssertEqual(try site(snapshot, symbols, "pool_alloc", domain: 7), SiteTotals(liveBytes: 300, liveBlocks: 3, totalAllocations: 5, totalBytes: 500))
        XCTAssertEqual(snapshot.stacks.filter { $0.domain != 0 }.allSatisfy { $0.domain == 7 }, true)
    }

    func testDlclosedModuleIsStillListed() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/dlopen.heapsnap"
        try runTracked("track_dlopen", [path], directory: dir)
        let snapshot = try RawSnapshot(contentsOf: path)
        let zlib = try XCTUnwrap(snapshot.modules.first { $0.path.contains("libz.so") })
        XCTAssertTrue(zlib.wasUnloaded)
        XCTAssertFalse(zlib.buildID.isEmpty)
        let inZlib = snapshot.stacks.filter { $0.frames.first.map(zlib.contains) ?? false }
        XCTAssertGreaterThanOrEqual(SiteTotals(inZlib).liveBlocks, 1, "zlib's deflate state, allocated from inside zlib")
        XCTAssertTrue(snapshot.modules.contains { $0.path.hasSuffix("libc.so.6") && !$0.wasUnloaded })
    }

    func testCppNewAndDeleteReachTheTracker() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/cpp.heapsnap"
        try runTracked("track_cpp", [path], directory: dir)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_cpp"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        // Frame 0 is operator new (or new[]) in libstdc++, kept like every frame past the tracker's own;
        // frame 1 returns into the function that called it. Which frame is the site is the analysis's call.
        let libstdcxx = try XCTUnwrap(snapshot.modules.first { $0.path.contains("libstdc++") })
        func newCalls(from name: String) throws -> [StackRecord] {
            let caller = try symbols.function(name)
            return snapshot.stacks.filter { stack in
                stack.frames.count >= 2 && libstdcxx.contains(stack.frames[0])
                    && (snapshot.elfAddress(ofReturnAddress: stack.frames[1]).map(caller.contains(elfAddress:)) ?? false)
            }
        }
        XCTAssertEqual(snapshot.stacks(allocatedIn: try symbols.function("_Z12make_widgetsv")), [])
        let widgets = try newCalls(from: "_Z12make_widgetsv")
        XCTAssertEqual(widgets.map(\.liveBlocks), [100])
        XCTAssertEqual(widgets.map(\.liveBytes), [4800])
        XCTAssertEqual(SiteTotals(try newCalls(from: "_Z10make_arrayv")), SiteTotals(liveBytes: 1000, liveBlocks: 1, totalAllocations: 1, totalBytes: 1000))
        XCTAssertEqual(SiteTotals(try newCalls(from: "_Z12churn_deletev")), SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 50, totalBytes: 2400))
        // libstdc++ allocates its exception emergency pool in its own constructor, which runs before the
        // tracker's: that block is still tracked, with the direct caller as its (truncated) stack.
        let early = snapshot.stacks.filter { $0.frames.count == 1 && $0.isTruncated && libstdcxx.contains($0.frames[0]) }
        XCTAssertEqual(early.map(\.liveBlocks), [1])
    }

    func testSwiftObjectsReachTheTracker() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/swift.heapsnap"
        let result = try runTracked("track_swift", [path], directory: dir)
        XCTAssertEqual(result.stdout, "1000\n")
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_swift"))
        let snapshot = try RawSnapshot(contentsOf: path)
        assertConsistent(snapshot)
        // 1000 Node objects of 16 bytes of header and one Int, all from one stack through makeNodes()
        // (under swift_slowAlloc, swift_allocObject and the allocating initializer)
        let makeNodes = try symbols.function("9makeNodes")
        let stacks = snapshot.stacks(passingThrough: makeNodes, depth: 5)
        XCTAssertTrue(stacks.contains { $0.liveBlocks == 1000 && $0.liveBytes == 24_000 && $0.totalAllocations == 1000 },
                      stacks.map { SiteTotals([$0]).description }.joined(separator: "; "))
    }

    func testSystemProgramsBehaveTheSame() throws {
        let dir = try TemporaryDirectory()
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? "/usr/bin/env"
        let pythonArgs = python == "/usr/bin/env" ? ["python3"] : []
        let cases: [(String, [String], String?)] = [
            ("/bin/ls", ["-la", TestPaths.packageRoot.appendingPathComponent("Sources/Track").path], nil),
            ("/bin/ls", ["/nonexistent-heapsnap-path"], nil),
            (python, pythonArgs + ["-c", "import json, sys; print(json.dumps({'a': list(range(50))})); sys.exit(3)"], nil),
            ("/usr/bin/sort", ["-r"], (0..<2000).map { "line \($0 * 7919 % 2000)" }.joined(separator: "\n") + "\n"),
        ]
        for (program, arguments, input) in cases {
            let plain = try runProcess(program, arguments, directory: dir.path, stdin: input)
            let traced = try runProcess(program, arguments, environment: ["HEAPSNAP_DIR": dir.path],
                                        preload: true, directory: dir.path, stdin: input)
            XCTAssertEqual(traced.status, plain.status, "\(program) \(arguments)")
            XCTAssertEqual(traced.stdout, plain.stdout, "\(program) \(arguments)")
            XCTAssertEqual(traced.stderr, plain.stderr, "\(program) \(arguments)")
        }
        let names = dir.files().map { URL(fileURLWithPath: $0).lastPathComponent }
        XCTAssertTrue(names.contains { $0.hasPrefix("ls.") })
        XCTAssertTrue(names.contains { $0.hasPrefix("sort.") })
        XCTAssertTrue(names.contains { $0.hasPrefix("python3") })
        for file in dir.files() { XCTAssertNoThrow(try RawSnapshot(contentsOf: file)) }
    }

    func testLibraryNeedsOnlyLibc() throws {
        let result = try runProcess("/usr/bin/readelf", ["-d", TestPaths.library])
        XCTAssertEqual(result.status, 0)
        let needed = result.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line -> String? in
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        XCTAssertFalse(needed.isEmpty)
        for library in needed {
            XCTAssertTrue(["libc.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"].contains(library), "unexpected NEEDED \(library)")
        }
        let symbols = try runProcess("/usr/bin/nm", ["-D", "--defined-only", TestPaths.library]).stdout
        let exported = Set(symbols.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        XCTAssertEqual(exported, [
            "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
            "valloc", "pvalloc", "dlclose", "heapsnap_snapshot", "heapsnap_get_traced_memory", "heapsnap_reset_peak",
            "heapsnap_snapshot_peak", "heapsnap_tracker_memory", "heapsnap_track", "heapsnap_untrack",
        ])
    }

    func testFilesArePrivateAndSymlinksAreNeverFollowed() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_symlink", [dir.path], directory: dir)
        XCTAssertEqual(result.stdout, "ok\n")
        XCTAssertEqual(try String(contentsOfFile: dir.path + "/victim", encoding: .utf8), "precious")
        XCTAssertEqual(try String(contentsOfFile: dir.path + "/existing.heapsnap", encoding: .utf8), "not a snapshot")
        let written = dir.files().filter { !$0.hasSuffix("/existing.heapsnap") && !$0.hasSuffix("/linked.heapsnap") }
        XCTAssertEqual(written.map { URL(fileURLWithPath: $0).lastPathComponent }.filter { !$0.hasPrefix("track_symlink.") }, ["fresh.heapsnap"])
        for file in written {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, file)
            XCTAssertNoThrow(try RawSnapshot(contentsOf: file))
        }
    }
}

final class TrackerConfigurationTests: XCTestCase {
    override func setUpWithError() throws { try requireLibrary() }

    func testCountersDefaultNamesAndFrameLimit() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_api", [dir.path], environment: ["HEAPSNAP_FRAMES": "8"], directory: dir)
        XCTAssertEqual(result.stdout, "ok\n")
        XCTAssertEqual(result.stderr, "")
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_api"))
        let files = dir.files()
        XCTAssertEqual(files.map { URL(fileURLWithPath: $0).lastPathComponent.hasSuffix(".0001.heapsnap") }, [true, false])
        let snapshot = try RawSnapshot(contentsOf: files[0])
        XCTAssertEqual(snapshot.header.maxFrames, 8)
        XCTAssertEqual(snapshot.header.peakBytes, snapshot.header.currentBytes, "reset_peak")
        XCTAssertTrue(snapshot.stacks.allSatisfy { $0.frames.count <= 8 })
        let deep = snapshot.stacks(allocatedIn: try symbols.function("deep"))
        XCTAssertEqual(deep.count, 1)
        XCTAssertEqual(deep.first?.frames.count, 8)
        XCTAssertEqual(deep.first?.isTruncated, true)
        XCTAssertEqual(SiteTotals(deep), SiteTotals(liveBytes: 48, liveBlocks: 1, totalAllocations: 1, totalBytes: 48))
        XCTAssertEqual(SiteTotals(snapshot.stacks(allocatedIn: try symbols.function("api_site"))),
                       SiteTotals(liveBytes: 0, liveBlocks: 0, totalAllocations: 1, totalBytes: 5000))
    }

    func testBadSettingsWarnOnceAndFallBack() throws {
        let dir = try TemporaryDirectory()
        let result = try runTracked("track_api", [dir.path], environment: [
            "HEAPSNAP_FRAMES": "lots", "HEAPSNAP_SIGNAL": "SIGNOPE", "HEAPSNAP_INTERVAL": "soon", "HEAPSNAP_PEAK_STEP": "12Q",
        ], directory: dir)
        XCTAssertEqual(result.stdout, "ok\n")
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, result.stderr)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("heapsnap: HEAPSNAP_") }, result.stderr)
        let snapshot = try RawSnapshot(contentsOf: dir.files()[0])
        XCTAssertEqual(snapshot.header.maxFrames, 64)
    }

    func testSnapshotsGoWhereTheProgramStarted() throws {
        let dir = try TemporaryDirectory()
        let elsewhere = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: false)
        // no HEAPSNAP_DIR: the starting working directory
        var result = try runProcess(try TestPaths.program("track_chdir"), [elsewhere.path], preload: true, directory: dir.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(dir.files().count, 1)
        // a relative HEAPSNAP_DIR: relative to the starting working directory
        result = try runProcess(try TestPaths.program("track_chdir"), [elsewhere.path], environment: ["HEAPSNAP_DIR": "out"],
                                preload: true, directory: dir.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out").filter { $0.hasSuffix(".heapsnap") && !$0.hasSuffix(".peak.heapsnap") }.count, 1)
        XCTAssertEqual(elsewhere.files(), [])
    }

    func testOnlyListedProgramsAreTracked() throws {
        let dir = try TemporaryDirectory()
        let leak = try TestPaths.program("track_leak")
        let script = "ls / > /dev/null; \(leak); echo done"
        var result = try runProcess("/bin/sh", ["-c", script], environment: ["HEAPSNAP_ONLY": "nothing,track_leak", "HEAPSNAP_DIR": dir.path],
                                    preload: true, directory: dir.path)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "done\n")
        XCTAssertEqual(dir.files().map { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix("track_leak.") }, [true])
        // argv[0]'s name counts too
        let other = try TemporaryDirectory()
        result = try runProcess("/bin/bash", ["-c", "exec -a renamed \(leak)"],
                                environment: ["HEAPSNAP_ONLY": "renamed", "HEAPSNAP_DIR": other.path], preload: true, directory: other.path)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(other.files().map { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix("track_leak.") }, [true])
        // a dormant program that asks for a snapshot is told so
        let dormant = try TemporaryDirectory()
        result = try runProcess(try TestPaths.program("track_basic"), [dormant.path + "/x.heapsnap"],
                                environment: ["HEAPSNAP_ONLY": "track_leak", "HEAPSNAP_DIR": dormant.path], preload: true)
        XCTAssertEqual(result.status, 5)
        XCTAssertTrue(result.stderr.contains("Operation not supported"), result.stderr)
        XCTAssertEqual(dormant.files(), [])
    }

    func testUnwritableFolderIsReportedNotFatal() throws {
        let dir = try TemporaryDirectory()
        // a missing folder is created now (SnapshotFolderTests); one under a regular file cannot be
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.path + "/file", contents: Data()))
        let missing = dir.path + "/file/does/not/exist"
        let result = try runProcess(try TestPaths.program("track_leak"), environment: ["HEAPSNAP_DIR": missing], preload: true)
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stderr.hasPrefix("heapsnap: cannot create HEAPSNAP_DIR \(missing), so no snapshot is written"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
    }
}
