// Running the built `heapsnap` as a user would, and finding the marked lines of test programs.
import Foundation
import TestSupport
import XCTest

enum CLI {
    /// Runs `heapsnap ARGS` in `directory` with the tracker library from the build.
    @discardableResult
    static func run(
        _ arguments: [String], directory: String? = nil, environment: [String: String] = [:], stdin: String? = nil,
        timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        var env = environment
        env["HEAPSNAP_LIB"] = env["HEAPSNAP_LIB"] ?? TestPaths.library
        return try runProcess(TestPaths.cli, arguments, environment: env, directory: directory, stdin: stdin, timeout: timeout)
    }

    /// Parses a --format json document.
    static func json(_ result: ProcessResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            XCTFail("not a JSON object: \(result.stdout)", file: file, line: line)
            throw CocoaError(.coderInvalidValue)
        }
        return object
    }
}

enum ProgramSource {
    /// The line of `Tests/Programs/<file>` that carries the marker comment "// @site:<name>".
    static func line(_ name: String, in file: String) throws -> Int {
        try line(containing: "// @site:\(name)", in: file)
    }

    /// The first line of `Tests/Programs/<file>` that contains `text`.
    static func line(containing text: String, in file: String) throws -> Int {
        let source = try String(contentsOfFile: TestPaths.programSource(file), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.contains(text) }) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return index + 1
    }
}

extension Dictionary where Key == String, Value == Any {
    subscript(int key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    subscript(string key: String) -> String? { self[key] as? String }
    subscript(object key: String) -> [String: Any]? { self[key] as? [String: Any] }
    subscript(objects key: String) -> [[String: Any]]? { self[key] as? [[String: Any]] }
}

/// A child process that keeps running while a test talks to it: started with its standard output piped,
/// it is waited for until it printed its first line; it ends when `finish` closes its standard input,
/// or on its own. The environment is the test's, without HEAPSNAP_* settings but HEAPSNAP_LIB, plus
/// `environment`; with `preload` the tracker is preloaded.
final class LiveProgram {
    let process = Process()
    let input = Pipe(), output = Pipe()
    /// What the program printed first, newline included.
    private(set) var firstLine = ""
    private var pending = Data()
    var pid: Int32 { process.processIdentifier }

    init(_ arguments: [String], environment extra: [String: String] = [:], preload: Bool = true,
         directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("HEAPSNAP_") && key != "HEAPSNAP_LIB" { environment[key] = nil }
        environment["LD_PRELOAD"] = preload ? TestPaths.library : nil
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        while !pending.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
        }
        let end = pending.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? pending.endIndex
        firstLine = String(decoding: pending[..<end], as: UTF8.self)
        pending = Data(pending[end...])
    }

    /// Fails the test unless the program's first line is "PID ready", as the waiting test programs say.
    func assertReady(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(firstLine, "\(pid) ready\n", file: file, line: line)
    }

    /// Everything the program prints after its first line, up to its end (nil when it has not ended
    /// within `timeout` seconds: then it is killed).
    func remainingOutput(timeout: TimeInterval = 60) -> String? {
        let collected = RemainingOutput()
        let done = DispatchSemaphore(value: 0)
        let handle = output.fileHandleForReading
        DispatchQueue.global().async { collected.data = handle.readDataToEndOfFile(); done.signal() }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(pid, SIGKILL)
            return nil
        }
        process.waitUntilExit()
        return String(decoding: pending + collected.data, as: UTF8.self)
    }

    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// Written by the one reader thread before the semaphore is signalled, read after.
private final class RemainingOutput: @unchecked Sendable {
    var data = Data()
}
