// Issue 9: bounded output by default. Child processes stay tracked, but only the program itself and
// children whose traced peak reached --min-peak write an exit snapshot, and --max-disk bounds the run.
import Foundation
import TestSupport
import XCTest

final class BoundedOutputTests: XCTestCase {
    var folder: TemporaryDirectory!

    override func setUpWithError() throws { folder = try TemporaryDirectory() }

    private var names: [String] { folder.files().map { URL(fileURLWithPath: $0).lastPathComponent } }

    func testShellLoopOf200IterationsWritesOneFile() throws {
        let script = "for i in $(seq 200); do echo $i | sed s/1/x/ | cat >/dev/null; done; echo done"
        let result = try CLI.run(["run", "--dir", folder.path, "--", "/bin/bash", "-c", script], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "done\n")
        // 600 small children (seq, sed, cat, subshells) write nothing; bash, the program run started, does
        XCTAssertEqual(names.count, 1, "\(names)")
        XCTAssertTrue(names[0].hasPrefix("bash."), "\(names)")
        XCTAssertFalse(names.contains { $0.hasPrefix(".heapsnap-budget") }, "the run's ledger is removed")
        // and everything, on request
        let all = try TemporaryDirectory()
        let small = try CLI.run(["run", "--dir", all.path, "--min-peak", "0", "-q", "--", "/bin/bash", "-c",
                                 "for i in 1 2 3; do /bin/true; done"])
        XCTAssertEqual(small.status, 0, small.stderr)
        XCTAssertEqual(all.files().filter { $0.contains("/true.") }.count, 3)
    }

    func testMultiprocessingSpawnWritesTheBigChildAndNamesIt() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let script = folder.path + "/pool.py"
        try """
            import multiprocessing as m
            def work(n):
                data = [bytes(1000) for _ in range(n)]
                return len(data)
            if __name__ == "__main__":
                m.set_start_method("spawn")
                pool = m.Pool(4)
                print(sum(pool.map(work, [10, 20, 30, 10000, 40], chunksize=1)))
                pool.close()
                pool.join()
            """.write(toFile: script, atomically: true, encoding: .utf8)
        // pymalloc, as the idle workers' start-up stays under --min-peak then (heapsnap run's default
        // PYTHONMALLOC=malloc puts every start-up object in malloc); the 1000-byte blocks use malloc anyway.
        let result = try CLI.run(["run", "--dir", folder.path, "-n", "1", "--", python, script],
                                 environment: ["PYTHONMALLOC": "pymalloc"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "10100\n")
        // the program, and the one worker that held 10 MB: not the three idle workers nor the resource tracker
        XCTAssertEqual(names.count, 2, "\(names)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        let heading = try XCTUnwrap(lines.firstIndex(of: "child processes by peak traced memory:"), result.stderr)
        let child = lines[heading + 1]
        XCTAssertTrue(child.hasPrefix("  python3.11  peak "), child)
        XCTAssertTrue(child.contains(" MiB  1 snapshot, biggest python3.11."), child)
        let peak = try XCTUnwrap(Double(child.split(separator: " ")[2]))
        XCTAssertGreaterThan(peak, 9.5, "the worker's 10,000 blocks of 1000 bytes: \(child)")
    }

    func testMaxDiskStopsTheRunAndSaysSoOnce() throws {
        let script = "for i in 1 2 3 4; do /bin/echo hi; done"
        let result = try CLI.run(["run", "--dir", folder.path, "--max-disk", "1", "--min-peak", "0", "--", "/bin/bash", "-c", script])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, String(repeating: "hi\n", count: 4))
        // the first file fills the 1-byte budget; nothing after it
        XCTAssertEqual(names.count, 1, "\(names)")
        let told = result.stderr.components(separatedBy: "reached HEAPSNAP_MAX_DISK (1 bytes) in \(folder.path); no more are written").count - 1
        XCTAssertEqual(told, 1, result.stderr)
        let bad = try CLI.run(["run", "--max-disk", "lots", "--", "/bin/true"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--max-disk takes a byte count like 1048576, 512K, 64M or 1GiB (0 = off); 'lots' is not accepted."), bad.stderr)
    }
}
