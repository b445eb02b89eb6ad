// `heapsnap info` says which unwinder captured the stacks and what verification found; `heapsnap run
// --verify-unwind` switches verification on for the program.
import Foundation
import CHeapSnapContract
import HeapSnap
import TestSupport
import XCTest

final class UnwinderInfoTests: XCTestCase {
    private func unwinderLine(_ text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("Unwinder") }.map { String($0) }
    }

    func testRunVerifyUnwindAndInfo() throws {
        let folder = try TemporaryDirectory()
        let program = try TestPaths.program("unwind_shapes")
        let path = folder.path + "/shapes.heapsnap"
        // verification off in the environment: --verify-unwind alone must switch it on
        let run = try CLI.run(["run", "--dir", folder.path, "-q", "--verify-unwind", "--", program, path],
                              environment: [UnwindVerification.variable: "0"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let snapshot = try RawSnapshot(contentsOf: path)
        let unwind = try XCTUnwrap(snapshot.header.unwind)
        XCTAssertTrue(unwind.verifying)
        let info = try CLI.run(["info", path])
        XCTAssertEqual(info.status, 0, info.stderr)
        let line = try XCTUnwrap(unwinderLine(info.stdout), info.stdout)
        XCTAssertTrue(line.hasSuffix("  own, verified \(groupedDigits(unwind.verifiedCaptures)) captures, 0 mismatches"), line)
        XCTAssertGreaterThanOrEqual(unwind.verifiedCaptures, 141)

        let plain = folder.path + "/plain.heapsnap"
        XCTAssertEqual(try CLI.run(["run", "--dir", folder.path, "-q", "--", program, plain],
                                   environment: [UnwindVerification.variable: "0"]).status, 0)
        let plainLine = try XCTUnwrap(unwinderLine(try CLI.run(["info", plain]).stdout))
        XCTAssertTrue(plainLine.hasSuffix("  own"), plainLine)

        let forced = folder.path + "/libunwind.heapsnap"
        XCTAssertEqual(try CLI.run(["run", "--dir", folder.path, "-q", "--", program, forced],
                                   environment: ["HEAPSNAP_UNWINDER": "libunwind"]).status, 0)
        let forcedLine = try XCTUnwrap(unwinderLine(try CLI.run(["info", forced]).stdout))
        XCTAssertTrue(forcedLine.hasSuffix("  libunwind (HEAPSNAP_UNWINDER=libunwind)"), forcedLine)
    }

    /// What info says after a mismatch (a tracker that found one switched to libunwind): the first
    /// differing frame of each side as module + offset.
    func testMismatchIsDescribedByModuleAndOffset() {
        let unwind = SnapshotHeader.Unwind(
            status: HEAPSNAP_UNWINDER_LIBUNWIND_AFTER_MISMATCH, verifying: true, verifiedCaptures: 1234, mismatches: 1,
            fallbacks: 2,
            firstMismatch: .init(frame: 3, ownDepth: 3, libunwindDepth: 9, ownAddress: 0, libunwindAddress: 0x7f00_0000_1234,
                                 ownModule: "", ownOffset: 0, libunwindModule: "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
                                 libunwindOffset: 0x1234))
        XCTAssertTrue(unwind.foundMismatch)
        XCTAssertEqual(unwind.description,
                       "libunwind since the own unwinder's first mismatch, verified 1,234 captures, 1 mismatch, 2 captures by libunwind; "
                       + "first mismatch at frame 3: own (no frame), libunwind libfoo.so.1+0x1234 (3 vs 9 frames)")
    }
}

private func groupedDigits(_ n: UInt64) -> String {
    let digits = Array(String(n))
    return digits.enumerated().map { i, d in (i > 0 && (digits.count - i) % 3 == 0 ? "," : "") + String(d) }.joined()
}
