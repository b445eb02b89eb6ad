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
        let text = try String(contentsOfFile: TestPaths.programSource(file), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.contains("// @site:\(name)") }) else {
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
