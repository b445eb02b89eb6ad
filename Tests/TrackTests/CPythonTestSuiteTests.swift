// CPython's own test modules pass under the tracker with Python frames on, test for test, exactly as
// they do untraced: Debian's python3.11 (libpython3.11-testsuite, installed by the Makefile) and the
// pyenv 3.13.0 build where present (the newest frame layout). Every run is a real child process, all
// of them at once, each with a timeout.
import Foundation
import HeapSnap
import TestSupport
import XCTest

final class CPythonTestSuiteTests: XCTestCase {
    static let modules = ["test_gc", "test_tracemalloc", "test_json", "test_re"]

    /// "test_x (test.test_json.Class.test_x) ... ok" -> ("test.test_json.Class.test_x", "ok")
    static func outcomes(_ log: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in log.split(separator: "\n") {
            guard let open = line.firstIndex(of: "("), let close = line.firstIndex(of: ")"), open < close,
                  let dots = line.range(of: ") ... ") else { continue }
            let name = String(line[line.index(after: open)..<close])
            let verdict = line[dots.upperBound...]
            let word = ["ok", "skipped", "FAIL", "ERROR", "expected failure", "unexpected success"]
                .first { verdict.hasPrefix($0) }
            if let word { result[name] = word }
        }
        return result
    }

    static func summary(_ log: String) -> [String] {
        log.split(separator: "\n").filter { $0.hasPrefix("Ran ") || $0.hasPrefix("OK") || $0.hasPrefix("FAILED") }
            .map { line in line.hasPrefix("Ran ") ? line.components(separatedBy: " in ")[0] : String(line) }
    }

    func testCPythonTestModulesPassUnderTheTracker() throws {
        try requireLibrary()
        var interpreters: [(name: String, executable: String)] = []
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3.11") {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "/usr/lib/python3.11/test/test_json"),
                          "libpython3.11-testsuite is missing: run `make test`, which installs it")
            interpreters.append(("3.11 (Debian)", "/usr/bin/python3.11"))
        } else {
            print("CPythonTestSuiteTests: skipping Debian's python3.11: not installed")
        }
        if let pyenv = CPythonUnderTest.all.first(where: { $0.minor == 13 }),
           FileManager.default.fileExists(atPath: URL(fileURLWithPath: pyenv.executable).deletingLastPathComponent()
               .deletingLastPathComponent().appendingPathComponent("lib/python3.13/test/test_json").path) {
            interpreters.append((pyenv.name, pyenv.executable))
        } else {
            print("CPythonTestSuiteTests: skipping CPython 3.13: no pyenv 3.13.0 with its test package")
        }
        guard !interpreters.isEmpty else { return }

        struct Job { var interpreter: String; var executable: String; var module: String; var traced: Bool }
        let jobs = interpreters.flatMap { i in Self.modules.flatMap { m in [false, true].map { Job(interpreter: i.name, executable: i.executable, module: m, traced: $0) } } }
        let directories = try jobs.map { _ in try TemporaryDirectory() }
        let results = Results(count: jobs.count)
        let group = DispatchGroup()
        for (index, job) in jobs.enumerated() {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                var env = ["PYTHONMALLOC": "malloc", "PYTHONDONTWRITEBYTECODE": "1"]
                if job.traced { env["HEAPSNAP_DIR"] = directories[index].path }
                results.set(index, Result {
                    try runProcess(job.executable, ["-m", "test", "-v", job.module], environment: env, preload: job.traced,
                                   directory: directories[index].path, timeout: 1200)
                })
            }
        }
        group.wait()

        for (index, job) in jobs.enumerated() where job.traced {
            let label = "\(job.module) on \(job.interpreter)"
            guard case .success(let traced)? = results.get(index), case .success(let plain)? = results.get(index - 1) else {
                XCTFail("\(label): \(String(describing: results.get(index))) / \(String(describing: results.get(index - 1)))")
                continue
            }
            XCTAssertFalse(traced.terminatedBySignal, "\(label) was killed by a signal under the tracker")
            XCTAssertEqual(traced.status, plain.status, "\(label): exit status \(traced.status) traced, \(plain.status) untraced\n\(traced.stdout.suffix(3000))")
            let tracedOutcomes = Self.outcomes(traced.stdout + traced.stderr)
            let plainOutcomes = Self.outcomes(plain.stdout + plain.stderr)
            XCTAssertGreaterThan(plainOutcomes.count, 20, "\(label): too few test results read from the untraced log")
            XCTAssertEqual(tracedOutcomes, plainOutcomes, "\(label): results differ under the tracker")
            XCTAssertEqual(Self.summary(traced.stdout + traced.stderr), Self.summary(plain.stdout + plain.stderr), label)
            XCTAssertTrue((traced.stdout + traced.stderr).contains("Tests result: SUCCESS"), label)

            // and the tracker really recorded Python frames of the test module
            let files = directories[index].files()
            XCTAssertFalse(files.isEmpty, "\(label): no snapshot written")
            var sawModuleFrame = false
            for file in files {
                let snapshot = try RawSnapshot(contentsOf: file)
                guard let python = snapshot.python else { continue }
                XCTAssertEqual(python.status, 0, "\(label): \(file): \(python.detail)")
                if python.codes.contains(where: { $0.filename.contains("/test/\(job.module)") }) { sawModuleFrame = true }
            }
            XCTAssertTrue(sawModuleFrame, "\(label): no snapshot names a frame of \(job.module)")
        }
    }
}

/// The jobs' results, written from the worker threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<ProcessResult, Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<ProcessResult, Error>) { lock.lock(); values[index] = value; lock.unlock() }
    func get(_ index: Int) -> Result<ProcessResult, Error>? { lock.lock(); defer { lock.unlock() }; return values[index] }
}
