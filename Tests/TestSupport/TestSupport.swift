// Shared by the test targets: where the built pieces are, and running real child processes.
import Foundation
import HeapSnap
import XCTest

public enum TestPaths {
    /// The package root, found from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// libheapsnap.so as built by `make lib` (HEAPSNAP_LIB overrides).
    public static var library: String {
        ProcessInfo.processInfo.environment["HEAPSNAP_LIB"]
            ?? packageRoot.appendingPathComponent(".build/lib/libheapsnap.so").path
    }

    /// The folder of test programs built by `make programs` (HEAPSNAP_TEST_PROGRAMS overrides).
    public static var programs: String {
        ProcessInfo.processInfo.environment["HEAPSNAP_TEST_PROGRAMS"]
            ?? packageRoot.appendingPathComponent(".build/test-programs").path
    }

    /// The path of a test program built from Tests/Programs/<name>.{c,cpp,swift}; fails the test when missing.
    public static func program(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = programs + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("test program \(path) is missing: run `make test`", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    /// The source file of a test program, as the symbolizer should name it.
    public static func programSource(_ fileName: String) -> String {
        packageRoot.appendingPathComponent("Tests/Programs/\(fileName)").path
    }

    /// The `heapsnap` executable of the current build (next to the test bundle).
    public static var cli: String {
        if let path = ProcessInfo.processInfo.environment["HEAPSNAP_CLI"] { return path }
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("heapsnap")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir.deleteLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/heapsnap").path
    }
}

/// The outcome of a finished child process.
public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var terminatedBySignal: Bool
}

/// A fresh temporary folder, removed when the object goes away.
public final class TemporaryDirectory {
    public let path: String
    public init() throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("heapsnap-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }
    deinit {
        UnwindVerification.check(files(includingPeak: true))
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The files in the folder whose names end with `suffix`, sorted.
    /// Snapshot files, sorted. The peak file every tracked process writes at exit
    /// (`<prog>.<pid>.peak.heapsnap`) is left out unless asked for, by `includingPeak` or a suffix
    /// that names it.
    public func files(endingWith suffix: String = ".heapsnap", includingPeak: Bool = false) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let peak = includingPeak || suffix.hasSuffix(".peak.heapsnap")
        return names.filter { $0.hasSuffix(suffix) && (peak || !$0.hasSuffix(".peak.heapsnap")) }
            .sorted().map { path + "/" + $0 }
    }
}

/// Runs `executable` with `arguments`, the current environment plus `environment`, and waits.
/// With `preload`, libheapsnap.so is preloaded. `stdin` is written to the child's standard input.
@discardableResult
public func runProcess(
    _ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
    preload: Bool = false, directory: String? = nil, stdin: String? = nil, timeout: TimeInterval = 120
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("HEAPSNAP_") && key != "HEAPSNAP_LIB" { env[key] = nil }
    env["LD_PRELOAD"] = nil
    if preload { env["LD_PRELOAD"] = TestPaths.library }
    // Every traced child checks the own unwinder against libunwind on every capture (HEAPSNAP_VERIFY_UNWIND);
    // TemporaryDirectory fails the test if a snapshot it held counted a mismatch. A test may switch it off.
    env[UnwindVerification.variable] = "1"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = inPipe
    try process.run()
    if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? inPipe.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    let output = PipeOutput()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { output.stdout = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { output.stderr = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        kill(process.processIdentifier, SIGKILL) // a hung child may block SIGTERM
        throw NSError(domain: "heapsnap-tests", code: 1,
                      userInfo: [NSLocalizedDescriptionKey: "\(executable) did not finish in \(timeout) s"])
    }
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: output.stdout, as: UTF8.self),
        stderr: String(decoding: output.stderr, as: UTF8.self),
        terminatedBySignal: process.terminationReason == .uncaughtSignal)
}

/// What the two reader threads collect; each writes only its own field, and the group's wait orders
/// those writes before the reads.
private final class PipeOutput: @unchecked Sendable {
    var stdout = Data()
    var stderr = Data()
}

/// The suite's central unwinding check: every snapshot a test's folder held when it went away must show
/// no difference between the own unwinder and libunwind (files that are not readable snapshots, such as
/// the corrupt ones reader tests write, are left to their tests).
public enum UnwindVerification {
    public static let variable = "HEAPSNAP_VERIFY_UNWIND"

    public static func problems(in paths: [String]) -> [String] {
        var problems: [String] = []
        for path in paths {
            guard let snapshot = try? RawSnapshot(contentsOf: path), let unwind = snapshot.header.unwind else { continue }
            if unwind.foundMismatch {
                problems.append("\(path): unwinder \(unwind.description)")
            }
        }
        return problems
    }

    public static func check(_ paths: [String]) {
        for problem in problems(in: paths) { XCTFail("own unwinder differs from libunwind: \(problem)") }
    }
}
