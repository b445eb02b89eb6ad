// CPython's own test modules (Debian's python3.11 and libpython3.11-testsuite, installed by
// `make test`) under the tracker: the same counts of tests run, failed, erred and skipped as without
// it. Every module runs both ways at once, a few at a time, each under a timeout (regrtest's own,
// which dumps a hung test's stacks, and the helper's outer one). The runner is
// Tests/CPython/regrtest_counts.py; add modules to `modules` (or another suite that calls the helper).
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class CPythonSuiteTests: XCTestCase {
    static let python = "/usr/bin/python3.11"
    /// The modules of issue 9: threads and fork, child processes and descriptors, signals, os, gc.
    static let modules = ["test_threading", "test_subprocess", "test_signal", "test_os", "test_gc"]
    static let timeoutSeconds = 600

    struct Outcome: Decodable, Equatable {
        var module: String
        var run: Int
        var failures: Int
        var errors: Int
        var skipped: Int
        var expected_failures: Int
        var unexpected_successes: Int
        var not_ok: [String]
        var seconds: Double

        /// What must match with and without the tracker.
        var counts: [Int] { [run, failures, errors, skipped, expected_failures, unexpected_successes] }
    }

    override func setUpWithError() throws {
        try requireLibrary()
        guard FileManager.default.isExecutableFile(atPath: Self.python),
              FileManager.default.fileExists(atPath: "/usr/lib/python3.11/test/test_threading.py") else {
            throw XCTSkip("python3.11 and libpython3.11-testsuite are needed (make test installs them)")
        }
    }

    private func runModule(_ module: String, traced: Bool, folder: TemporaryDirectory) throws -> Outcome {
        let helper = TestPaths.packageRoot.appendingPathComponent("Tests/CPython/regrtest_counts.py").path
        let log = folder.path + "/\(module).\(traced ? "traced" : "plain").log"
        var environment = ["HEAPSNAP_DIR": folder.path + "/snapshots"]
        // regrtest's temporary folders and its own output stay out of the way of each other
        environment["TMPDIR"] = folder.path
        let result = try runProcess("/usr/bin/python3", [helper, Self.python, module, String(Self.timeoutSeconds), log],
                                    environment: environment, preload: traced, directory: folder.path,
                                    timeout: TimeInterval(Self.timeoutSeconds + 120))
        guard result.status == 0, let outcome = try? JSONDecoder().decode(Outcome.self, from: Data(result.stdout.utf8)) else {
            throw SnapshotFileError(path: log, problem: "the runner failed: \(result.stderr)")
        }
        return outcome
    }

    func testModulesGiveTheSameCountsUnderTheTracker() throws {
        let folder = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder.path + "/snapshots", withIntermediateDirectories: true)
        let jobs = Self.modules.flatMap { [($0, false), ($0, true)] }
        let results = Results()
        // four at a time on a small machine: enough to finish in a few minutes, few enough that timing
        // tests are not starved
        let slots = DispatchSemaphore(value: 4)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
            slots.wait()
            defer { slots.signal() }
            let (module, traced) = jobs[index]
            let outcome = Result { try runModule(module, traced: traced, folder: folder) }
            results.set(index, outcome)
        }
        for (index, (module, traced)) in jobs.enumerated() where traced {
            var plain = try results.get(index - 1).get()
            var withTracker = try results.get(index).get()
            if withTracker.counts != plain.counts || withTracker.not_ok != plain.not_ok {
                // A timing test can lose a race on a loaded machine either way: both runs again, one
                // after the other, before calling it a difference.
                print("CPythonSuiteTests: \(module) differed (traced \(withTracker.not_ok), plain \(plain.not_ok)); running both again")
                plain = try runModule(module, traced: false, folder: folder)
                withTracker = try runModule(module, traced: true, folder: folder)
            }
            XCTAssertGreaterThan(plain.run, 0, "\(module) ran no test")
            XCTAssertEqual(withTracker.counts, plain.counts,
                           "\(module) [run, failures, errors, skipped, xfail, xpass]: traced \(withTracker.not_ok) vs plain \(plain.not_ok); logs in \(folder.path)")
            XCTAssertEqual(withTracker.not_ok, plain.not_ok, module)
            print("CPythonSuiteTests: \(module): \(plain.run) tests, \(plain.skipped) skipped, \(plain.failures + plain.errors) not ok; \(plain.seconds) s plain, \(withTracker.seconds) s traced")
        }
    }
}

/// Results written by the concurrent jobs, each to its own slot.
private final class Results: @unchecked Sendable {
    private var values: [Int: Result<CPythonSuiteTests.Outcome, Error>] = [:]
    private let lock = NSLock()

    func set(_ index: Int, _ value: Result<CPythonSuiteTests.Outcome, Error>) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }

    func get(_ index: Int) -> Result<CPythonSuiteTests.Outcome, Error> {
        lock.lock()
        defer { lock.unlock() }
        return values[index] ?? .failure(SnapshotFileError(path: "job \(index)", problem: "did not run"))
    }
}
