// The reader's regression corpus (Tests/Corpus/reader: every input the fuzzer ever crashed on, and
// hand-made overflows from Tests/Corpus/make_overflow_inputs.py). Each goes through the built
// heapsnap as a user would run it, and through the fuzz harness's replayer: a one-line error or a
// result, never a trap.
import Foundation
import TestSupport
import XCTest

final class ReaderCorpusTests: XCTestCase {
    private var corpus: String { TestPaths.packageRoot.appendingPathComponent("Tests/Corpus/reader").path }

    private func inputs() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: corpus).sorted().map { corpus + "/" + $0 }
    }

    func testEveryInputGivesAResultOrOneLine() throws {
        let files = try inputs()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for file in files {
            for arguments in [["top", file], ["info", file], ["diff", file, file], ["top", file, "--by", "traceback"]] {
                let result = try CLI.run(arguments, timeout: 60)
                XCTAssertFalse(result.terminatedBySignal, "\(arguments) trapped: \(result.stderr)")
                XCTAssertTrue([0, 1].contains(result.status), "\(arguments): status \(result.status) \(result.stderr)")
                if result.status == 1 {
                    XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(result.stderr)")
                    XCTAssertTrue(result.stderr.hasPrefix("heapsnap: \(file): "), result.stderr)
                }
            }
        }
    }

    func testOverflowingCountsAreCorruptInOneLine() throws {
        let expected = [
            "live-bytes-2p63-on-two-stacks": "corrupt: the sum of live bytes over the stacks (at stack 0) overflows",
            "live-blocks-near-2p64": "corrupt: the sum of live blocks over the stacks (at stack 0) overflows",
            "total-allocations-2p63-each": "corrupt: the sum of allocations over the stacks (at stack 0) overflows",
            "total-bytes-max-plus-one": "corrupt: the sum of allocated bytes over the stacks (at stack 0) overflows",
            "header-peak-2p63": "corrupt: the HEADER's peak bytes overflows",
        ]
        for (name, problem) in expected.map({ ("\($0.key).heapsnap", $0.value) })
            + [("json-sizes-past-2p63.json", "corrupt: the sum of the traces' size overflows (at trace 1)")] {
            let file = "\(corpus)/\(name)"
            for command in ["top", "info"] {
                let result = try CLI.run([command, file])
                XCTAssertEqual(result.status, 1, "\(command) \(name)")
                XCTAssertEqual(result.stderr, "heapsnap: \(file): \(problem)\n")
            }
        }
    }

    func testTheFuzzHarnessReplaysTheCorpus() throws {
        let replayer = URL(fileURLWithPath: TestPaths.cli).deletingLastPathComponent().appendingPathComponent("heapsnap-fuzz").path
        guard FileManager.default.isExecutableFile(atPath: replayer) else { throw XCTSkip("\(replayer) not built") }
        let result = try runProcess(replayer, [corpus], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.terminatedBySignal)
        XCTAssertEqual(result.stdout, "heapsnap-fuzz: \(try inputs().count) inputs replayed\n")
    }
}
