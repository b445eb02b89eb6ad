// The CPython interpreters the Python tests run against: Debian's python3.11 and the pyenv builds of
// this kind of machine. Those missing are reported once, so a skipped interpreter is visible in the log.
import Foundation

public struct PythonInterpreter: Sendable, CustomStringConvertible {
    /// "3.11.2 (Debian)", "3.12.1 (pyenv)".
    public var name: String
    public var path: String
    /// Folder holding Python.h, when the interpreter's headers are installed.
    public var includeDirectory: String?
    public var description: String { name }
}

public enum PythonInterpreters {
    /// Where pyenv keeps its versions: PYENV_ROOT, `pyenv root`, else ~/.pyenv.
    static var pyenvRoot: String {
        if let root = ProcessInfo.processInfo.environment["PYENV_ROOT"], !root.isEmpty { return root }
        return NSHomeDirectory() + "/.pyenv"
    }

    /// The candidates, whether present or not: (name, executable, include folder).
    static var candidates: [(String, String, String)] {
        let root = pyenvRoot + "/versions"
        return [
            ("3.11 (Debian)", "/usr/bin/python3.11", "/usr/include/python3.11"),
            ("3.11.7 (pyenv)", root + "/3.11.7/bin/python3.11", root + "/3.11.7/include/python3.11"),
            ("3.12.1 (pyenv)", root + "/3.12.1/bin/python3.12", root + "/3.12.1/include/python3.12"),
            ("3.13.0 (pyenv)", root + "/3.13.0/bin/python3.13", root + "/3.13.0/include/python3.13"),
        ]
    }

    /// The interpreters present on this machine; prints one line for each one that is not.
    public static let available: [PythonInterpreter] = {
        var found: [PythonInterpreter] = []
        for (name, path, include) in candidates {
            if FileManager.default.isExecutableFile(atPath: path) {
                let hasHeaders = FileManager.default.fileExists(atPath: include + "/Python.h")
                found.append(PythonInterpreter(name: name, path: path, includeDirectory: hasHeaders ? include : nil))
            } else {
                print("heapsnap tests: skipping Python \(name): \(path) is not installed")
            }
        }
        return found
    }()

    /// A Python test script of Tests/Programs/python/.
    public static func script(_ name: String) -> String {
        TestPaths.packageRoot.appendingPathComponent("Tests/Programs/python/\(name)").path
    }
}
