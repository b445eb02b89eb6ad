// The tracker's own unwinder (Sources/Track/unwind.c, eh_frame.c): exact stacks of known shapes at -O0 and
// -O2, signal frames, C++ exceptions, Swift and Rust, a library dlopened and dlclosed while threads
// allocate — every capture compared with libunwind (HEAPSNAP_VERIFY_UNWIND, set for every child by the
// test support), none may differ, and the own unwinder must really have made them.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class UnwindTests: XCTestCase {
    /// The snapshot's UNWIND section says the own unwinder ran, verified `atLeast` captures and found no difference.
    private func assertOwnUnwinderVerified(
        _ snapshot: RawSnapshot, atLeast captures: UInt64, fallbacks: ClosedRange<UInt64>? = 0...0,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let unwind = try XCTUnwrap(snapshot.header.unwind, "no UNWIND section", file: file, line: line)
        XCTAssertTrue(unwind.usedOwnUnwinder, unwind.description, file: file, line: line)
        XCTAssertTrue(unwind.verifying, unwind.description, file: file, line: line)
        XCTAssertEqual(unwind.mismatches, 0, unwind.description, file: file, line: line)
        XCTAssertNil(unwind.firstMismatch, unwind.description, file: file, line: line)
        XCTAssertGreaterThanOrEqual(unwind.verifiedCaptures, captures, unwind.description, file: file, line: line)
        if let fallbacks {
            XCTAssertTrue(fallbacks.contains(unwind.fallbacks), unwind.description, file: file, line: line)
        }
    }

    /// Stacks whose frames 0, 1, ... return into these functions of the main executable, in this order.
    private func stacks(_ snapshot: RawSnapshot, chain: [FunctionSymbol]) -> [StackRecord] {
        snapshot.stacks.filter { stack in
            guard stack.frames.count >= chain.count else { return false }
            return zip(stack.frames, chain).allSatisfy { frame, function in
                snapshot.elfAddress(ofReturnAddress: frame).map(function.contains(elfAddress:)) ?? false
            }
        }
    }

    func testFramesOfEveryShapeAtO0AndO2() throws {
        try requireLibrary()
        for program in ["unwind_shapes", "unwind_shapes-O2"] {
            let dir = try TemporaryDirectory()
            let path = dir.path + "/shapes.heapsnap"
            try runTracked(program, [path], directory: dir)
            let snapshot = try RawSnapshot(contentsOf: path)
            // 50 + 40 + 30 + 20 + 1 allocations of the program, and libc's own before main
            try assertOwnUnwinderVerified(snapshot, atLeast: 141)
            let symbols = try ProgramSymbols(program: try TestPaths.program(program))
            func f(_ name: String) throws -> FunctionSymbol { try symbols.function(name) }
            let main = try f("main"), leaf = try f("leaf_alloc"), vla = try f("vla_frame")

            let viaBig = stacks(snapshot, chain: [leaf, vla, try f("big_frame"), main])
            XCTAssertEqual(viaBig.map(\.totalAllocations).reduce(0, +), 50, "\(program): leaf <- vla <- big <- main")
            let viaPointer = stacks(snapshot, chain: [leaf, vla, try f("pointer_frame"), main])
            XCTAssertEqual(viaPointer.map(\.totalAllocations).reduce(0, +), 40, "\(program): leaf <- vla <- pointer <- main")
            XCTAssertEqual(SiteTotals(stacks(snapshot, chain: [try f("calloc_site"), main])),
                           SiteTotals(liveBytes: 720, liveBlocks: 30, totalAllocations: 30, totalBytes: 720), program)
            let grown = SiteTotals(stacks(snapshot, chain: [try f("realloc_site"), main]))
            XCTAssertEqual(grown.liveBlocks, 1, program)
            XCTAssertEqual(grown.liveBytes, 1280, program)
            XCTAssertEqual(grown.totalAllocations, 20, program)

            // 300 calls deep: the stack is cut at the frame limit, every frame under leaf_alloc is recurse
            let recurse = try f("recurse")
            let deep = stacks(snapshot, chain: [leaf] + Array(repeating: recurse, count: Int(snapshot.header.maxFrames) - 1))
            XCTAssertEqual(deep.count, 1, program)
            XCTAssertEqual(deep.first?.frames.count, Int(snapshot.header.maxFrames), program)
            XCTAssertEqual(deep.first?.isTruncated, true, program)
            XCTAssertEqual(deep.first?.liveBytes, 4321, program)
        }
    }

    /// The own unwinder and libunwind give the same stacks: the run with HEAPSNAP_UNWINDER=libunwind is the peer.
    func testSameStacksAsLibunwind() throws {
        try requireLibrary()
        func stackSet(_ environment: [String: String]) throws -> (RawSnapshot, [String: UInt64]) {
            let dir = try TemporaryDirectory()
            let path = dir.path + "/shapes.heapsnap"
            try runTracked("unwind_shapes-O2", [path], environment: environment, directory: dir)
            let snapshot = try RawSnapshot(contentsOf: path)
            // frames as module + offset, which ASLR leaves alone
            var set: [String: UInt64] = [:]
            for stack in snapshot.stacks {
                let key = stack.frames.map { frame -> String in
                    guard let module = snapshot.modules.first(where: { $0.contains(frame) }) else { return "?" }
                    return module.path + "+" + String(frame - module.loadBias, radix: 16)
                }.joined(separator: " ")
                set[key, default: 0] += stack.totalAllocations
            }
            return (snapshot, set)
        }
        let (own, ownStacks) = try stackSet([:])
        let (reference, libunwindStacks) = try stackSet(["HEAPSNAP_UNWINDER": "libunwind"])
        try assertOwnUnwinderVerified(own, atLeast: 141)
        let unwind = try XCTUnwrap(reference.header.unwind)
        XCTAssertTrue(unwind.libunwindBySetting, unwind.description)
        XCTAssertEqual(unwind.verifiedCaptures, 0, "nothing to verify against when libunwind is the unwinder")
        XCTAssertTrue(unwind.description.hasPrefix("libunwind (HEAPSNAP_UNWINDER=libunwind)"), unwind.description)
        XCTAssertEqual(ownStacks, libunwindStacks)
    }

    func testBadUnwinderSettingWarnsAndKeepsTheOwn() throws {
        try requireLibrary()
        let dir = try TemporaryDirectory()
        let path = dir.path + "/shapes.heapsnap"
        let result = try runTracked("unwind_shapes", [path], environment: ["HEAPSNAP_UNWINDER": "gdb"], directory: dir)
        XCTAssertEqual(result.stderr, "heapsnap: HEAPSNAP_UNWINDER=gdb is not own or libunwind; using own\n")
        try assertOwnUnwinderVerified(try RawSnapshot(contentsOf: path), atLeast: 141)
    }

    /// Handlers on the thread's stack and on an alternate stack, raised and from a timer: captures through a
    /// signal frame go to libunwind (counted), the rest stay with the own unwinder.
    func testSignalHandlersThatAllocate() throws {
        try requireLibrary()
        for program in ["unwind_signal", "unwind_signal-O2"] {
            let dir = try TemporaryDirectory()
            let path = dir.path + "/signal.heapsnap"
            try runTracked(program, [path], directory: dir)
            let snapshot = try RawSnapshot(contentsOf: path)
            try assertOwnUnwinderVerified(snapshot, atLeast: 1000, fallbacks: 20...1_000_000)
            let symbols = try ProgramSymbols(program: try TestPaths.program(program))
            let handler = try symbols.function("handler_site"), raising = try symbols.function("raising_frame")
            let main = try symbols.function("main")
            let inHandler = snapshot.stacks(allocatedIn: handler)
            // 10 raised on the thread's stack, 10 on the alternate stack: the stack goes on past the signal frame
            let raised = inHandler.filter { stack in
                let functions = stack.frames.compactMap(snapshot.elfAddress(ofReturnAddress:))
                return functions.contains(where: raising.contains(elfAddress:)) && functions.contains(where: main.contains(elfAddress:))
            }
            XCTAssertEqual(raised.map(\.totalAllocations).reduce(0, +), 20, program)
            XCTAssertEqual(raised.map(\.totalBytes).reduce(0, +), 20 * 7777, program)
            let busy = snapshot.stacks(allocatedIn: try symbols.function("busy_site"))
            XCTAssertGreaterThan(busy.map(\.totalAllocations).reduce(0, +), 0, program)
            XCTAssertEqual(busy.map(\.liveBlocks).reduce(0, +), 0, program)
        }
    }

    /// Two libraries dlopened and dlclosed in turn, 300 times, while two threads allocate.
    func testDlopenAndDlcloseWhileThreadsAllocate() throws {
        try requireLibrary()
        for program in ["unwind_dlcycle", "unwind_dlcycle-O2"] {
            let dir = try TemporaryDirectory()
            let path = dir.path + "/dlcycle.heapsnap"
            try runTracked(program, [path, TestPaths.programs], directory: dir)
            let snapshot = try RawSnapshot(contentsOf: path)
            try assertOwnUnwinderVerified(snapshot, atLeast: 600)
            let libraries = snapshot.modules.filter { $0.path.contains("libdlcycle_") }
            XCTAssertEqual(Set(libraries.map { ($0.path as NSString).lastPathComponent }), ["libdlcycle_a.so", "libdlcycle_b.so"])
            XCTAssertTrue(libraries.allSatisfy(\.wasUnloaded), program)
            // 600 allocations inside the libraries (frame 0 in one of them); the last round's block stays live
            let inside = snapshot.stacks.filter { stack in stack.frames.first.map { f in libraries.contains { $0.contains(f) } } ?? false }
            XCTAssertEqual(inside.map(\.totalAllocations).reduce(0, +), 600, program)
            XCTAssertEqual(inside.map(\.liveBlocks).reduce(0, +), 1, program)
            XCTAssertEqual(inside.map(\.liveBytes).reduce(0, +), 301, program) // round 299: libdlcycle_b's 300 + 1
            // each of those stacks goes on through the library into main
            let main = try ProgramSymbols(program: try TestPaths.program(program)).function("main")
            XCTAssertTrue(inside.allSatisfy { stack in
                stack.frames.contains { snapshot.elfAddress(ofReturnAddress: $0).map(main.contains(elfAddress:)) ?? false }
            }, program)
            let symbols = try ProgramSymbols(program: try TestPaths.program(program))
            let threads = stacks(snapshot, chain: [try symbols.function("thread_site"), try symbols.function("thread_step")])
            XCTAssertGreaterThan(threads.map(\.totalAllocations).reduce(0, +), 0, program)
            XCTAssertEqual(threads.map(\.liveBlocks).reduce(0, +), 0, program)
        }
    }

    /// Exceptions thrown through frames that allocate; the throw allocates and unwinds (libgcc) itself.
    func testCppExceptionsThroughAllocatingFrames() throws {
        try requireLibrary()
        let dir = try TemporaryDirectory()
        let path = dir.path + "/exceptions.heapsnap"
        let result = try runTracked("unwind_exceptions", [path], directory: dir)
        XCTAssertEqual(result.stdout, "500\n")
        let snapshot = try RawSnapshot(contentsOf: path)
        // per catcher(i): 9-12 vectors, the exception, its message, the caught copy
        try assertOwnUnwinderVerified(snapshot, atLeast: 500 * 12)
        let symbols = try ProgramSymbols(program: try TestPaths.program("unwind_exceptions"))
        let catcher = try symbols.function("_Z7catcheri"), thrower = try symbols.function("_Z7throweri")
        let libstdcxx = try XCTUnwrap(snapshot.modules.first { $0.path.contains("libstdc++") })
        // `new std::string` in the catch block: operator new called from catcher itself
        let caught = snapshot.stacks.filter { stack in
            stack.frames.count >= 2 && libstdcxx.contains(stack.frames[0])
                && (snapshot.elfAddress(ofReturnAddress: stack.frames[1]).map(catcher.contains(elfAddress:)) ?? false)
        }
        XCTAssertEqual(SiteTotals(caught), SiteTotals(liveBytes: 16_000, liveBlocks: 500, totalAllocations: 500, totalBytes: 16_000))
        // the vectors of the frames the exceptions went through: 125 × (9 + 10 + 11 + 12) calls of thrower
        // (with the exceptions and their messages, all freed again)
        let vectors = snapshot.stacks.filter { stack in
            stack.frames.prefix(8).contains { snapshot.elfAddress(ofReturnAddress: $0).map(thrower.contains(elfAddress:)) ?? false }
        }
        XCTAssertGreaterThanOrEqual(vectors.map(\.totalAllocations).reduce(0, +), 5250)
        XCTAssertEqual(vectors.map(\.liveBlocks).reduce(0, +), 0)
    }

    func testSwiftProgramUsesTheOwnUnwinder() throws {
        try requireLibrary()
        let dir = try TemporaryDirectory()
        let path = dir.path + "/swift.heapsnap"
        try runTracked("track_swift", [path], directory: dir)
        let snapshot = try RawSnapshot(contentsOf: path)
        // libswiftCore has a few functions without CFI: captures through them go to libunwind
        try assertOwnUnwinderVerified(snapshot, atLeast: 1000, fallbacks: nil)
        let unwind = try XCTUnwrap(snapshot.header.unwind)
        XCTAssertLessThan(unwind.fallbacks, unwind.verifiedCaptures, unwind.description)
        let makeNodes = try ProgramSymbols(program: try TestPaths.program("track_swift")).function("9makeNodes")
        XCTAssertTrue(snapshot.stacks(passingThrough: makeNodes, depth: 5).contains { $0.liveBlocks == 1000 })
    }

    func testRustProgramUsesTheOwnUnwinder() throws {
        try requireLibrary()
        let program = TestPaths.programs + "/analysis_rust_sites"
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw XCTSkip("no Rust toolchain: analysis_rust_sites was not built")
        }
        let dir = try TemporaryDirectory()
        try runTracked("analysis_rust_sites", directory: dir)
        let file = try XCTUnwrap(dir.files().first)
        let snapshot = try RawSnapshot(contentsOf: file)
        try assertOwnUnwinderVerified(snapshot, atLeast: 20)
        let boxes = try ProgramSymbols(program: program).function("make_boxes")
        let viaBoxes = snapshot.stacks(passingThrough: boxes, depth: 12)
        XCTAssertEqual(viaBoxes.filter { $0.liveBytes == 480 }.map(\.liveBlocks), [10])
    }
}
