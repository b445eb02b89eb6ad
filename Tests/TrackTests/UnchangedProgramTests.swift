// Issue 9: a program behaves exactly as it does without the tracker. Each mode of track_unchanged runs
// both ways and must give the same stdout, stderr and exit status (and the known values); a hang fails
// through runProcess's timeout, which kills the child.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class UnchangedProgramTests: XCTestCase {
    override func setUpWithError() throws { try requireLibrary() }

    private func compare(_ mode: String, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let program = try TestPaths.program("track_unchanged")
        let dir = try TemporaryDirectory()
        let plain = try runProcess(program, [mode], directory: dir.path, timeout: 20)
        let traced = try runProcess(program, [mode], environment: ["HEAPSNAP_DIR": dir.path], preload: true,
                                    directory: dir.path, timeout: 20)
        XCTAssertEqual(traced.stdout, plain.stdout, "\(mode): stdout", file: file, line: line)
        XCTAssertEqual(traced.stderr, plain.stderr, "\(mode): stderr", file: file, line: line)
        XCTAssertEqual(traced.status, plain.status, "\(mode): status", file: file, line: line)
        XCTAssertEqual(traced.terminatedBySignal, plain.terminatedBySignal, "\(mode): killed by a signal", file: file, line: line)
        return traced
    }

    func testPthreadExitFromMainEndsTheProcess() throws {
        let result = try compare("pthread_exit")
        XCTAssertEqual(result.stdout, "main calls pthread_exit\nworker after main's pthread_exit done\natexit handler ran\n")
        XCTAssertEqual(result.status, 0)
    }

    func testChildForkedFromAThreadEndsWhenThatThreadReturns() throws {
        let result = try compare("fork_from_thread")
        XCTAssertEqual(result.stdout, "child of a thread returns\nchild ended: status 0\n")
    }

    func testSigtermEndsAProcessWhoseMainThreadHasExited() throws {
        let result = try compare("term_after_pthread_exit")
        XCTAssertTrue(result.terminatedBySignal)
        XCTAssertEqual(result.status, SIGTERM)
    }

    func testCloseEveryDescriptorThenWriteAndOpen() throws {
        // write(1) fails with EBADF, and the next two open() calls get 0 and 1
        XCTAssertEqual(try compare("closefrom").status, 7)
    }

    func testSignalDispositionsAreTheProgramsOwn() throws {
        XCTAssertEqual(try compare("dispositions").stdout, "SIGUSR2 is SIG_DFL\n")
    }

    func testSigusr2KeepsItsDefaultAction() throws {
        let result = try compare("usr2_default")
        XCTAssertTrue(result.terminatedBySignal)
        XCTAssertEqual(result.status, SIGUSR2)
    }

    func testNoDescriptorOfTheTrackerIsVisible() throws {
        // the listing (numbers, kinds, close-on-exec) and what an exec'd child lists are the same
        let result = try compare("descriptors")
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("0 "), result.stdout)
    }
}

final class UnwinderValidationTests: XCTestCase {
    override func setUpWithError() throws { try requireLibrary() }

    /// libunwind validates addresses past a signal frame; without its pipe the walk still reaches main.
    func testAStackThroughASignalFrameReachesMain() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/signal.heapsnap"
        try runTracked("track_signal_frame", [path], directory: dir)
        let snapshot = try RawSnapshot(contentsOf: path)
        let symbols = try ProgramSymbols(program: try TestPaths.program("track_signal_frame"))
        let stacks = snapshot.stacks(allocatedIn: try symbols.function("handler_site"))
        XCTAssertEqual(stacks.map(\.liveBytes), [7777])
        XCTAssertFalse(snapshot.stacks(passingThrough: try symbols.function("raising_frame"), depth: 20).isEmpty,
                       "the walk crosses the signal frame")
        XCTAssertFalse(snapshot.stacks(passingThrough: try symbols.function("main"), depth: 20).filter { $0.liveBytes == 7777 }.isEmpty)
    }
}
